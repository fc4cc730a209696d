//! A public key as a user pastes it (PEM `PUBLIC KEY`, as `cosign generate-key-pair` writes
//! `cosign.pub`): its algorithm, read from the SubjectPublicKeyInfo's algorithm identifier, and
//! its fingerprint (SHA-256 of the DER), to show which key verified what.

use super::{base64_decode, TrustError};
use crate::Digest;

/// What WebCrypto is asked to import the key as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    EcdsaP256,
    Rsa,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    pub algorithm: KeyAlgorithm,
    /// The SubjectPublicKeyInfo, DER: what `crypto.subtle.importKey('spki', …)` takes.
    pub spki: Vec<u8>,
}

// DER-encoded object identifiers (tag, length, value).
const EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const PRIME256V1: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const SECP384R1: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
const RSA_ENCRYPTION: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];
const ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];

impl PublicKey {
    /// The first `PUBLIC KEY` block of `text`.
    pub fn from_pem(text: &str) -> Result<Self, TrustError> {
        let not_a_key = |reason: &str| TrustError::NotAPublicKey {
            reason: reason.to_owned(),
        };
        let begin = "-----BEGIN PUBLIC KEY-----";
        let end = "-----END PUBLIC KEY-----";
        let start = text.find(begin).ok_or_else(|| {
            if text.contains("PRIVATE KEY") {
                not_a_key("that is a private key: paste the public one, and keep the private key to yourself")
            } else {
                not_a_key("no -----BEGIN PUBLIC KEY----- line")
            }
        })? + begin.len();
        let stop = text[start..]
            .find(end)
            .ok_or_else(|| not_a_key("no -----END PUBLIC KEY----- line"))?;
        let spki = base64_decode(&text[start..start + stop])
            .ok_or_else(|| not_a_key("its body is not base64"))?;
        let algorithm_id = algorithm_identifier(&spki)
            .ok_or_else(|| not_a_key("its body is not a SubjectPublicKeyInfo"))?;
        let has = |oid: &[u8]| algorithm_id.windows(oid.len()).any(|w| w == oid);
        let algorithm = if has(EC_PUBLIC_KEY) && has(PRIME256V1) {
            KeyAlgorithm::EcdsaP256
        } else if has(RSA_ENCRYPTION) {
            KeyAlgorithm::Rsa
        } else {
            let named = if has(SECP384R1) {
                "ECDSA P-384"
            } else if has(EC_PUBLIC_KEY) {
                "ECDSA on another curve"
            } else if has(ED25519) {
                "Ed25519"
            } else {
                "of an unknown algorithm"
            };
            return Err(TrustError::UnsupportedKey {
                algorithm: named.to_owned(),
            });
        };
        Ok(Self { algorithm, spki })
    }

    /// `SHA256:…` of the DER, as the explorer shows which key verified a signature.
    pub fn fingerprint(&self) -> Digest {
        Digest::of(&self.spki)
    }
}

/// The AlgorithmIdentifier of a SubjectPublicKeyInfo: `SEQUENCE { SEQUENCE {…}, BIT STRING }`.
fn algorithm_identifier(spki: &[u8]) -> Option<&[u8]> {
    let (outer, _) = der_element(spki, 0x30)?;
    let (inner, _) = der_element(outer, 0x30)?;
    Some(inner)
}

/// The contents of the DER element of `tag` at the start of `bytes`, and what follows it.
pub(crate) fn der_element(bytes: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (found, content, rest) = der_any(bytes)?;
    (found == tag).then_some((content, rest))
}

/// The DER element at the start of `bytes`, whatever its tag: tag, contents, what follows.
pub(crate) fn der_any(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&length, rest) = rest.split_first()?;
    let (length, rest) = if length < 0x80 {
        (usize::from(length), rest)
    } else {
        let count = usize::from(length & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let value = rest[..count]
            .iter()
            .fold(0usize, |n, b| (n << 8) | usize::from(*b));
        (value, &rest[count..])
    };
    (rest.len() >= length).then(|| (tag, &rest[..length], &rest[length..]))
}

/// An ECDSA signature as cosign stores it (DER `SEQUENCE { INTEGER r, INTEGER s }`) in the
/// fixed-size `r || s` form WebCrypto verifies (`size` bytes each: 32 for P-256).
pub fn ecdsa_der_to_fixed(der: &[u8], size: usize) -> Result<Vec<u8>, TrustError> {
    let malformed = |reason: &str| TrustError::MalformedSignature {
        reason: reason.to_owned(),
    };
    let (sequence, trailing) = der_element(der, 0x30).ok_or_else(|| malformed("no SEQUENCE"))?;
    if !trailing.is_empty() {
        return Err(malformed("bytes after the SEQUENCE"));
    }
    let (r, rest) = der_element(sequence, 0x02).ok_or_else(|| malformed("no INTEGER r"))?;
    let (s, rest) = der_element(rest, 0x02).ok_or_else(|| malformed("no INTEGER s"))?;
    if !rest.is_empty() {
        return Err(malformed("more than two INTEGERs"));
    }
    let mut fixed = Vec::with_capacity(size * 2);
    for integer in [r, s] {
        // DER adds a 0x00 before a high bit; a small value is shorter than `size`.
        let trimmed = match integer {
            [0, rest @ ..] => rest,
            all => all,
        };
        if trimmed.len() > size {
            return Err(malformed("an INTEGER longer than the curve's size"));
        }
        fixed.extend(std::iter::repeat_n(0, size - trimmed.len()));
        fixed.extend_from_slice(trimmed);
    }
    Ok(fixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with `openssl ecparam -genkey -name prime256v1` and `openssl ec -pubout`.
    const P256: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE+AaNFRhix0yaJjXOKFLYXvVFEwMH
8/Z06iMsqSNnMr8obTGc82waS84TEdfICMLOLY88pnDSUMls4RtuRPc3tw==
-----END PUBLIC KEY-----
";

    #[test]
    fn reads_keys_and_says_which_it_cannot() {
        let key = PublicKey::from_pem(P256).unwrap();
        assert_eq!(key.algorithm, KeyAlgorithm::EcdsaP256);
        assert_eq!(key.spki.len(), 91);
        // `openssl pkey -pubin -outform DER | sha256sum`
        assert_eq!(
            key.fingerprint().to_string(),
            "sha256:f324aba77f1e3f2031220c9daf240a1d9579b97096d9fb7b52a0f23a39992022"
        );
        let with_text = format!("cosign.pub:\n{P256}\ntrailing words");
        assert_eq!(PublicKey::from_pem(&with_text).unwrap(), key);

        let errors = [
            ("", "no -----BEGIN"),
            ("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----", "private key"),
            ("-----BEGIN PUBLIC KEY-----\nAAAA", "no -----END"),
            ("-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----", "not base64"),
            ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "not a SubjectPublicKeyInfo"),
            // An Ed25519 key (`openssl genpkey -algorithm ed25519`).
            ("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAdstuhavq01VzsJNpkJH7hvSzKyxOSv1hzLpw9PK55KQ=\n-----END PUBLIC KEY-----", "Ed25519"),
        ];
        for (text, part) in errors {
            let error = PublicKey::from_pem(text).unwrap_err().to_string();
            assert!(error.contains(part), "{text:?}: {error}");
        }
    }

    #[test]
    fn turns_der_signatures_into_fixed_size_pairs() {
        let der = |r: &[u8], s: &[u8]| {
            let mut body = vec![0x02, r.len() as u8];
            body.extend_from_slice(r);
            body.extend([0x02, s.len() as u8]);
            body.extend_from_slice(s);
            let mut out = vec![0x30, body.len() as u8];
            out.extend(body);
            out
        };
        let high = [0x80u8; 32];
        let mut padded = vec![0u8];
        padded.extend_from_slice(&high);
        let fixed = ecdsa_der_to_fixed(&der(&padded, &[1, 2]), 32).unwrap();
        assert_eq!(&fixed[..32], &high);
        assert_eq!(&fixed[32..62], &[0u8; 30]);
        assert_eq!(&fixed[62..], &[1, 2]);
        for bad in [
            vec![],
            vec![0x31, 0x00],
            der(&[1; 33], &[1]),
            [der(&[1], &[1]), vec![0]].concat(),
            vec![0x30, 0x03, 0x02, 0x01, 0x01],
        ] {
            assert!(ecdsa_der_to_fixed(&bad, 32).is_err(), "{bad:?}");
        }
    }
}
