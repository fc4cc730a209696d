//! A keyless signature's certificate (Fulcio's): the chain to an authority of the trusted
//! root, valid when the signature was made; the identity it binds (subject and OIDC issuer);
//! and the certificate transparency logs' promises (SCTs) embedded in it.

use der::asn1::{ObjectIdentifier, OctetString, Utf8StringRef};
use der::{Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, SubjectAltName};
use x509_cert::Certificate;

use super::crypto::{sha256, Hash, VerifyingKey};
use super::root::{Authority, LogKey, Millis, TrustedRoot};
use super::SigstoreError;

const SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
const EMBEDDED_SCTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// Fulcio's OIDC issuer: the first form is the raw string, the second a DER UTF8String.
const ISSUER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
const ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
/// Fulcio's SAN for identities that are neither a URI nor an email (a username).
const OTHER_NAME_USERNAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");

/// Who a keyless certificate says signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The subject alternative name: a workflow URI, an email, a username.
    pub subject: String,
    /// The OIDC issuer that vouched for it.
    pub issuer: Option<String>,
}

#[derive(Clone, Debug)]
pub struct SigningCertificate {
    pub der: Vec<u8>,
    certificate: Certificate,
    pub key: VerifyingKey,
    pub not_before: Millis,
    pub not_after: Millis,
    pub identity: Identity,
}

impl SigningCertificate {
    pub fn parse(der: &[u8]) -> Result<Self, SigstoreError> {
        let certificate = parse_certificate(der)?;
        let tbs = &certificate.tbs_certificate;
        let spki = tbs
            .subject_public_key_info
            .to_der()
            .map_err(|e| bad_certificate(e.to_string()))?;
        let key = VerifyingKey::from_spki(&spki)?;
        let (not_before, not_after) = validity(&certificate);
        if extension::<BasicConstraints>(&certificate, BASIC_CONSTRAINTS)?.is_some_and(|b| b.ca) {
            return Err(bad_certificate(
                "the signing certificate is a certificate authority's".to_owned(),
            ));
        }
        let code_signing = extension::<ExtendedKeyUsage>(&certificate, EXTENDED_KEY_USAGE)?
            .is_some_and(|usage| usage.0.contains(&CODE_SIGNING));
        if !code_signing {
            return Err(bad_certificate(
                "the certificate is not for code signing (no codeSigning extended key usage)"
                    .to_owned(),
            ));
        }
        let identity = identity(&certificate)?;
        Ok(Self {
            der: der.to_vec(),
            certificate,
            key,
            not_before,
            not_after,
            identity,
        })
    }

    pub fn valid_at(&self, time: Millis) -> bool {
        (self.not_before..=self.not_after).contains(&time)
    }

    /// The authority of `root` that issued this certificate, its chain checked at each of
    /// `times` (when the signature was made, as the logs and timestamp authorities say).
    pub fn issuing_authority<'r>(
        &self,
        root: &'r TrustedRoot,
        times: &[Millis],
    ) -> Result<&'r Authority, SigstoreError> {
        root.certificate_authorities
            .iter()
            .filter(|authority| times.iter().all(|t| authority.validity.contains(*t)))
            .find(|authority| verify_chain(&self.certificate, &authority.chain, times).is_ok())
            .ok_or(SigstoreError::UntrustedCertificate)
    }

    /// How many of the embedded SCTs verify with a CT log of the trusted root; `issuer` is
    /// the certificate that issued this one (its key is part of what the logs signed).
    pub fn verified_scts(&self, issuer: &[u8], ct_logs: &[LogKey]) -> Result<usize, SigstoreError> {
        let issuer = parse_certificate(issuer)?;
        let issuer_key_hash = sha256(
            &issuer
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .map_err(|e| bad_certificate(e.to_string()))?,
        );
        let Some(list) = extension::<OctetString>(&self.certificate, EMBEDDED_SCTS)? else {
            return Ok(0);
        };
        let mut precertificate = self.certificate.tbs_certificate.clone();
        if let Some(extensions) = precertificate.extensions.as_mut() {
            extensions.retain(|e| e.extn_id != EMBEDDED_SCTS);
        }
        let tbs = precertificate
            .to_der()
            .map_err(|e| bad_certificate(e.to_string()))?;
        let scts = parse_sct_list(list.as_bytes())
            .ok_or_else(|| bad_certificate("its embedded SCT list cannot be read".to_owned()))?;
        Ok(scts
            .iter()
            .filter(|sct| {
                let Some(log) = ct_logs.iter().find(|l| l.log_id == sct.log_id) else {
                    return false;
                };
                let timestamp = i64::try_from(sct.timestamp).unwrap_or(i64::MAX);
                log.validity.contains(timestamp)
                    && log
                        .key
                        .verifies(&sct.signed_data(&issuer_key_hash, &tbs), &sct.signature)
            })
            .count())
    }
}

/// Whether `chain` (issuing certificate first) issued `leaf`, every link valid at `times`.
fn verify_chain(
    leaf: &Certificate,
    chain: &[Vec<u8>],
    times: &[Millis],
) -> Result<(), SigstoreError> {
    let chain = chain
        .iter()
        .map(|der| parse_certificate(der))
        .collect::<Result<Vec<_>, _>>()?;
    let mut child = leaf;
    for parent in &chain {
        let (not_before, not_after) = validity(parent);
        let is_ca = extension::<BasicConstraints>(parent, BASIC_CONSTRAINTS)?.is_some_and(|b| b.ca);
        let valid = times.iter().all(|t| (not_before..=not_after).contains(t));
        if !is_ca || !valid || child.tbs_certificate.issuer != parent.tbs_certificate.subject {
            return Err(SigstoreError::UntrustedCertificate);
        }
        if !signed_by(child, parent)? {
            return Err(SigstoreError::UntrustedCertificate);
        }
        child = parent;
    }
    Ok(())
}

/// Whether `parent`'s key signed `child`.
fn signed_by(child: &Certificate, parent: &Certificate) -> Result<bool, SigstoreError> {
    let spki = parent
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| bad_certificate(e.to_string()))?;
    let key = VerifyingKey::from_spki(&spki)?;
    let tbs = child
        .tbs_certificate
        .to_der()
        .map_err(|e| bad_certificate(e.to_string()))?;
    let signature = child.signature.raw_bytes();
    let algorithm = child.signature_algorithm.oid.to_string();
    Ok(match (&key, Hash::of_signature_algorithm(&algorithm)) {
        (VerifyingKey::Ed25519(_), _) if algorithm == "1.3.101.112" => {
            key.verifies(&tbs, signature)
        }
        (VerifyingKey::P256(_) | VerifyingKey::P384(_), Some(hash))
            if algorithm.starts_with("1.2.840.10045.4.3.") =>
        {
            key.verifies_with(hash, &tbs, signature)
        }
        (VerifyingKey::Rsa(_), Some(hash)) if algorithm.starts_with("1.2.840.113549.1.1.") => {
            key.verifies_with(hash, &tbs, signature)
        }
        _ => false,
    })
}

/// The key of an authority's own certificate (`chain[0]`, e.g. a timestamp authority's),
/// that certificate and the rest of its chain valid at `time`.
pub fn authority_signing_key(
    chain: &[Vec<u8>],
    time: Millis,
) -> Result<VerifyingKey, SigstoreError> {
    let first = chain.first().ok_or(SigstoreError::UntrustedCertificate)?;
    let certificate = parse_certificate(first)?;
    let (not_before, not_after) = validity(&certificate);
    if !(not_before..=not_after).contains(&time) {
        return Err(SigstoreError::UntrustedCertificate);
    }
    verify_chain(&certificate, &chain[1..], &[time])?;
    let spki = certificate
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| bad_certificate(e.to_string()))?;
    VerifyingKey::from_spki(&spki)
}

pub fn is_self_signed(der: &[u8]) -> bool {
    parse_certificate(der).is_ok_and(|c| {
        c.tbs_certificate.issuer == c.tbs_certificate.subject && signed_by(&c, &c).unwrap_or(false)
    })
}

fn parse_certificate(der: &[u8]) -> Result<Certificate, SigstoreError> {
    Certificate::from_der(der)
        .map_err(|e| bad_certificate(format!("not an X.509 certificate ({e})")))
}

fn validity(certificate: &Certificate) -> (Millis, Millis) {
    let millis = |time: &x509_cert::time::Time| {
        i64::try_from(time.to_unix_duration().as_millis()).unwrap_or(i64::MAX)
    };
    let validity = &certificate.tbs_certificate.validity;
    (millis(&validity.not_before), millis(&validity.not_after))
}

fn extension<'a, T: Decode<'a>>(
    certificate: &'a Certificate,
    oid: ObjectIdentifier,
) -> Result<Option<T>, SigstoreError> {
    let Some(extension) = certificate
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == oid)
    else {
        return Ok(None);
    };
    T::from_der(extension.extn_value.as_bytes())
        .map(Some)
        .map_err(|e| bad_certificate(format!("its extension {oid} cannot be read ({e})")))
}

fn identity(certificate: &Certificate) -> Result<Identity, SigstoreError> {
    let names = extension::<SubjectAltName>(certificate, SUBJECT_ALT_NAME)?
        .map(|san| san.0)
        .unwrap_or_default();
    let subject = names
        .iter()
        .find_map(|name| match name {
            GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
            GeneralName::Rfc822Name(email) => Some(email.to_string()),
            GeneralName::OtherName(other) if other.type_id == OTHER_NAME_USERNAME => other
                .value
                .decode_as::<Utf8StringRef<'_>>()
                .ok()
                .map(|s| s.as_str().to_owned()),
            _ => None,
        })
        .ok_or_else(|| {
            bad_certificate("it names no identity (subject alternative name)".to_owned())
        })?;
    let extensions = certificate.tbs_certificate.extensions.iter().flatten();
    let mut issuer = None;
    for extension in extensions {
        let value = extension.extn_value.as_bytes();
        if extension.extn_id == ISSUER_V2 {
            issuer = Utf8StringRef::from_der(value)
                .ok()
                .map(|s| s.as_str().to_owned());
            break;
        }
        if extension.extn_id == ISSUER_V1 {
            issuer = std::str::from_utf8(value).ok().map(str::to_owned);
        }
    }
    Ok(Identity { subject, issuer })
}

fn bad_certificate(reason: String) -> SigstoreError {
    SigstoreError::BadCertificate { reason }
}

/// One signed certificate timestamp (RFC 6962 §3.2), as embedded in a certificate.
struct Sct {
    log_id: Vec<u8>,
    timestamp: u64,
    extensions: Vec<u8>,
    signature: Vec<u8>,
}

impl Sct {
    /// What the log signed: the precertificate's TBS (without the SCT list) and its issuer.
    fn signed_data(&self, issuer_key_hash: &[u8; 32], tbs: &[u8]) -> Vec<u8> {
        let mut data = vec![0, 0]; // v1, certificate_timestamp
        data.extend_from_slice(&self.timestamp.to_be_bytes());
        data.extend_from_slice(&[0, 1]); // precert_entry
        data.extend_from_slice(issuer_key_hash);
        data.extend_from_slice(&(tbs.len() as u32).to_be_bytes()[1..]);
        data.extend_from_slice(tbs);
        data.extend_from_slice(&(self.extensions.len() as u16).to_be_bytes());
        data.extend_from_slice(&self.extensions);
        data
    }
}

/// The TLS-encoded `SignedCertificateTimestampList`.
fn parse_sct_list(bytes: &[u8]) -> Option<Vec<Sct>> {
    let mut reader = Reader(bytes);
    let mut list = Reader(reader.vector(2)?);
    if !reader.0.is_empty() {
        return None;
    }
    let mut scts = Vec::new();
    while !list.0.is_empty() {
        let mut sct = Reader(list.vector(2)?);
        if sct.take(1)? != [0] {
            continue; // a version this reader does not know: not counted
        }
        let log_id = sct.take(32)?.to_vec();
        let timestamp = u64::from_be_bytes(sct.take(8)?.try_into().ok()?);
        let extensions = sct.vector(2)?.to_vec();
        let _algorithms = sct.take(2)?;
        let signature = sct.vector(2)?.to_vec();
        scts.push(Sct {
            log_id,
            timestamp,
            extensions,
            signature,
        });
    }
    Some(scts)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, count: usize) -> Option<&'a [u8]> {
        if self.0.len() < count {
            return None;
        }
        let (head, rest) = self.0.split_at(count);
        self.0 = rest;
        Some(head)
    }

    /// A vector with a big-endian length of `width` bytes in front.
    fn vector(&mut self, width: usize) -> Option<&'a [u8]> {
        let length = self
            .take(width)?
            .iter()
            .fold(0usize, |n, b| (n << 8) | usize::from(*b));
        self.take(length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sct_lists_are_read() {
        let mut sct = vec![0u8];
        sct.extend_from_slice(&[7; 32]);
        sct.extend_from_slice(&5u64.to_be_bytes());
        sct.extend_from_slice(&[0, 2, 9, 9]); // extensions
        sct.extend_from_slice(&[4, 3]);
        sct.extend_from_slice(&[0, 3, 1, 2, 3]);
        let mut list = (sct.len() as u16).to_be_bytes().to_vec();
        list.extend_from_slice(&sct);
        let mut encoded = (list.len() as u16).to_be_bytes().to_vec();
        encoded.extend_from_slice(&list);
        let scts = parse_sct_list(&encoded).unwrap();
        assert_eq!(scts.len(), 1);
        assert_eq!(
            (scts[0].timestamp, scts[0].extensions.as_slice()),
            (5, &[9, 9][..])
        );
        assert_eq!(scts[0].signature, vec![1, 2, 3]);
        assert!(parse_sct_list(&encoded[..encoded.len() - 1]).is_none());
        let data = scts[0].signed_data(&[1; 32], b"tbs");
        assert_eq!(&data[..2], &[0, 0]);
        assert_eq!(&data[data.len() - 4..], &[0, 2, 9, 9]);
    }
}
