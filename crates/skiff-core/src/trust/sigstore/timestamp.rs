//! RFC 3161 timestamps: a timestamp authority's signed statement that a signature existed at
//! a time (Rekor v2 records no time of its own, so these are how its bundles prove one).
//! Read from DER by hand (the few fields verification needs), checked against the trusted
//! root's timestamp authorities.

use der::asn1::ObjectIdentifier;

use super::certificate::authority_signing_key;
use super::crypto::Hash;
use super::root::{Millis, TrustedRoot};
use super::SigstoreError;
use crate::time::days_from_civil;
use crate::trust::keys::{der_any, der_element as element};

const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";
const CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";

/// The time at which the authority says it saw `signature`, once everything checked out.
pub fn verify_timestamp(
    response: &[u8],
    signature: &[u8],
    root: &TrustedRoot,
) -> Result<Millis, SigstoreError> {
    let token = Token::parse(response).ok_or_else(|| bad("it cannot be read"))?;
    let imprint_hash = hash_of(token.info.imprint_algorithm)
        .ok_or_else(|| bad("its message imprint uses an unknown hash"))?;
    if imprint_hash.digest(signature) != token.info.imprint {
        return Err(bad(
            "it is not about this signature (its message imprint differs)",
        ));
    }
    let digest_hash = hash_of(token.digest_algorithm)
        .ok_or_else(|| bad("its signer uses an unknown digest algorithm"))?;
    if token.content_type != Some(TST_INFO)
        || token.message_digest.as_deref() != Some(digest_hash.digest(token.info_der).as_slice())
    {
        return Err(bad("its signed attributes are not about its content"));
    }
    let time = token.info.time;
    let signing_hash =
        Hash::of_signature_algorithm(&token.signature_algorithm).unwrap_or(digest_hash);
    let trusted = root
        .timestamp_authorities
        .iter()
        .filter(|authority| authority.validity.contains(time))
        .filter_map(|authority| authority_signing_key(&authority.chain, time).ok())
        .any(|key| key.verifies_with(signing_hash, &token.signed_attributes, token.signature));
    if !trusted {
        return Err(bad(
            "no timestamp authority of the trusted root, valid at its time, signed it",
        ));
    }
    Ok(time)
}

fn bad(reason: &str) -> SigstoreError {
    SigstoreError::BadTimestamp {
        reason: reason.to_owned(),
    }
}

fn hash_of(oid: &str) -> Option<Hash> {
    match oid {
        "2.16.840.1.101.3.4.2.1" => Some(Hash::Sha256),
        "2.16.840.1.101.3.4.2.2" => Some(Hash::Sha384),
        "2.16.840.1.101.3.4.2.3" => Some(Hash::Sha512),
        _ => None,
    }
}

struct Info {
    imprint_algorithm: &'static str,
    imprint: Vec<u8>,
    time: Millis,
}

struct Token<'a> {
    info: Info,
    /// The TSTInfo's DER, which the signer's message digest attribute hashes.
    info_der: &'a [u8],
    digest_algorithm: &'static str,
    content_type: Option<&'static str>,
    message_digest: Option<Vec<u8>>,
    /// The signed attributes as signed: DER, tagged as a SET.
    signed_attributes: Vec<u8>,
    signature_algorithm: String,
    signature: &'a [u8],
}

impl<'a> Token<'a> {
    fn parse(der: &'a [u8]) -> Option<Self> {
        let (response, _) = element(der, 0x30)?;
        // A TimeStampResp (status, then the token) or the token (a ContentInfo) alone.
        let content_info = match element(response, 0x30) {
            Some((status, rest)) if element(status, 0x02).is_some() => {
                let (code, _) = element(status, 0x02)?;
                if !matches!(code, [0] | [1]) {
                    return None; // granted, or granted with modifications
                }
                element(rest, 0x30)?.0
            }
            _ => response,
        };
        let (content_type, rest) = element(content_info, 0x06)?;
        if oid(content_type)? != SIGNED_DATA {
            return None;
        }
        let (explicit, _) = element(rest, 0xa0)?;
        let (signed_data, _) = element(explicit, 0x30)?;
        let (_version, rest) = element(signed_data, 0x02)?;
        let (_digest_algorithms, rest) = element(rest, 0x31)?;
        let (encapsulated, mut rest) = element(rest, 0x30)?;
        let (econtent_type, econtent) = element(encapsulated, 0x06)?;
        if oid(econtent_type)? != TST_INFO {
            return None;
        }
        let (econtent, _) = element(econtent, 0xa0)?;
        let (info_der, _) = element(econtent, 0x04)?;
        for optional in [0xa0, 0xa1] {
            if let Some((_, after)) = element(rest, optional) {
                rest = after; // certificates, CRLs: the trusted root's certificates are used
            }
        }
        let (signer_infos, _) = element(rest, 0x31)?;
        let (signer, _) = element(signer_infos, 0x30)?;
        let (_version, rest) = element(signer, 0x02)?;
        let rest = skip_any(rest)?; // sid
        let (digest_algorithm, rest) = element(rest, 0x30)?;
        let (attributes, rest) = element(rest, 0xa0)?;
        let (signature_algorithm, rest) = element(rest, 0x30)?;
        let (signature, _) = element(rest, 0x04)?;
        let mut signed_attributes = vec![0x31];
        signed_attributes.extend_from_slice(&der_length(attributes.len()));
        signed_attributes.extend_from_slice(attributes);
        let (mut content_type, mut message_digest) = (None, None);
        let mut attrs = attributes;
        while !attrs.is_empty() {
            let (attribute, after) = element(attrs, 0x30)?;
            attrs = after;
            let (kind, values) = element(attribute, 0x06)?;
            let (values, _) = element(values, 0x31)?;
            match oid(kind)?.as_str() {
                CONTENT_TYPE => content_type = known(&oid(element(values, 0x06)?.0)?),
                MESSAGE_DIGEST => message_digest = Some(element(values, 0x04)?.0.to_vec()),
                _ => {}
            }
        }
        Some(Self {
            info: parse_info(info_der)?,
            info_der,
            digest_algorithm: known(&algorithm(digest_algorithm)?)?,
            content_type,
            message_digest,
            signed_attributes,
            signature_algorithm: algorithm(signature_algorithm)?,
            signature,
        })
    }
}

fn parse_info(der: &[u8]) -> Option<Info> {
    let (info, _) = element(der, 0x30)?;
    let (_version, rest) = element(info, 0x02)?;
    let (_policy, rest) = element(rest, 0x06)?;
    let (imprint, rest) = element(rest, 0x30)?;
    let (imprint_algorithm, imprint_rest) = element(imprint, 0x30)?;
    let (hashed, _) = element(imprint_rest, 0x04)?;
    let (_serial, rest) = element(rest, 0x02)?;
    let (time, _) = element(rest, 0x18)?;
    Some(Info {
        imprint_algorithm: known(&algorithm(imprint_algorithm)?)?,
        imprint: hashed.to_vec(),
        time: generalized_time(std::str::from_utf8(time).ok()?)?,
    })
}

/// The OIDs this module compares against, as `'static` strings.
fn known(oid: &str) -> Option<&'static str> {
    [
        TST_INFO,
        SIGNED_DATA,
        "2.16.840.1.101.3.4.2.1",
        "2.16.840.1.101.3.4.2.2",
        "2.16.840.1.101.3.4.2.3",
    ]
    .into_iter()
    .find(|k| *k == oid)
}

/// The OID of an AlgorithmIdentifier's contents.
fn algorithm(identifier: &[u8]) -> Option<String> {
    oid(element(identifier, 0x06)?.0)
}

fn oid(content: &[u8]) -> Option<String> {
    ObjectIdentifier::from_bytes(content)
        .ok()
        .map(|o| o.to_string())
}

/// `YYYYMMDDHHMMSS[.fff…]Z` as milliseconds since the epoch.
fn generalized_time(text: &str) -> Option<Millis> {
    let text = text.strip_suffix('Z')?;
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |range: std::ops::Range<usize>| whole[range].parse::<i64>().ok();
    let days = days_from_civil(n(0..4)?, n(4..6)?, n(6..8)?);
    let seconds = days * 86_400 + n(8..10)? * 3600 + n(10..12)? * 60 + n(12..14)?;
    let millis = if fraction.is_empty() {
        0
    } else {
        format!("{:0<3}", &fraction[..fraction.len().min(3)])
            .parse()
            .ok()?
    };
    Some(seconds * 1000 + millis)
}

fn skip_any(bytes: &[u8]) -> Option<&[u8]> {
    der_any(bytes).map(|(_, _, rest)| rest)
}

fn der_length(length: usize) -> Vec<u8> {
    if length < 0x80 {
        return vec![length as u8];
    }
    let bytes: Vec<u8> = length
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    let mut encoded = vec![0x80 | bytes.len() as u8];
    encoded.extend_from_slice(&bytes);
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generalized_times_are_read() {
        assert_eq!(generalized_time("19700101000000Z"), Some(0));
        assert_eq!(
            generalized_time("20250410123456.5Z"),
            Some(1_744_288_496_500)
        );
        assert_eq!(generalized_time("20250410123456"), None);
        assert_eq!(generalized_time("2025041012345Z"), None);
    }

    #[test]
    fn lengths_are_encoded() {
        assert_eq!(der_length(5), vec![5]);
        assert_eq!(der_length(200), vec![0x81, 200]);
        assert_eq!(der_length(0x1234), vec![0x82, 0x12, 0x34]);
    }

    #[test]
    fn garbage_is_not_a_token() {
        assert!(Token::parse(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_none());
        assert!(Token::parse(b"").is_none());
    }
}
