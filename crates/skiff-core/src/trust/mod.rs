//! Trusting what is carried (issue #22), the decisions only: what a cosign simple-signing
//! payload promises and whether it is about this image, a public key read from PEM with its
//! fingerprint, and an ECDSA signature turned into the form WebCrypto verifies. The signature
//! arithmetic itself is the browser's (WebCrypto verifies ECDSA P-256 and RSA natively).

/// Public keys from PEM: what kind, their fingerprint.
pub mod keys;
/// The packages an image's dpkg or apk database lists, exported as SPDX or CycloneDX.
pub mod packages;
/// The packages an SPDX or CycloneDX SBOM lists, and two lists compared.
pub mod sbom;
/// One signature manifest (key, keyless cosign, Sigstore bundle) checked against an image.
pub mod signatures;
/// Sigstore bundles (keyless certificates, transparency logs) verified offline.
pub mod sigstore;
/// cosign's simple-signing payload, checked against the image it should be about.
pub mod simple_signing;

/// Why something cannot be trusted, in words that say what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    #[error("the key is not a PEM public key ({reason}); paste the contents of cosign.pub (-----BEGIN PUBLIC KEY----- …)")]
    NotAPublicKey { reason: String },
    #[error("the key is {algorithm}; Skiff verifies ECDSA P-256 keys (cosign generate-key-pair) and RSA keys")]
    UnsupportedKey { algorithm: String },
    #[error("the signature is not a DER-encoded ECDSA signature ({reason})")]
    MalformedSignature { reason: String },
    #[error("the signed payload is not cosign's simple signing ({reason})")]
    MalformedPayload { reason: String },
    #[error("the signature is for {signed}, not for this image ({image}): it was made for another image or the payload was altered")]
    OtherImage { signed: String, image: String },
    #[error("the signature names the repository {signed}, not {repository}")]
    OtherRepository { signed: String, repository: String },
    #[error("the SBOM cannot be read ({reason})")]
    MalformedSbom { reason: String },
    #[error("the signature does not verify with this key: it was made with another key, or the payload was altered after signing")]
    BadSignature,
    #[error("it was signed with a key: paste the public key (cosign.pub) to verify it")]
    KeyNeeded,
    #[error("an identity is only as good as who vouched for it: name its OIDC issuer too (for GitHub Actions, https://token.actions.githubusercontent.com)")]
    IssuerNeeded,
    #[error("it is an attestation ({predicate}), not a signature")]
    NotASignature { predicate: String },
    #[error(transparent)]
    Sigstore(#[from] sigstore::SigstoreError),
}

/// Lowercase hex, as Rekor writes digests and UUIDs are spelled.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Standard base64 (with or without padding, whitespace ignored), as PEM and cosign's
/// signature annotation carry it.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut padding = false;
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding = true;
                continue;
            }
            _ => return None,
        };
        if padding {
            return None;
        }
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64_as_pem_and_annotations_write_it() {
        let table: &[(&str, Option<&[u8]>)] = &[
            ("", Some(b"")),
            ("TWFu", Some(b"Man")),
            ("TWE=", Some(b"Ma")),
            ("TQ==", Some(b"M")),
            ("TQ", Some(b"M")),
            ("TW\nFu\r\n", Some(b"Man")),
            ("+/+/", Some(&[0xfb, 0xff, 0xbf])),
            ("TQ==TQ==", None),
            ("T*Q=", None),
        ];
        for (text, expected) in table {
            assert_eq!(base64_decode(text).as_deref(), *expected, "{text:?}");
        }
    }
}
