//! The public keys Sigstore uses (ECDSA P-256 and P-384, Ed25519) read from a
//! SubjectPublicKeyInfo, and signatures checked with them: pure Rust, so the browser and the
//! host tests run the same arithmetic.

use der::Decode;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use sha2::Digest as _;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use super::SigstoreError;
use crate::trust::keys::ecdsa_der_to_fixed;

const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const PRIME256V1: &str = "1.2.840.10045.3.1.7";
const SECP384R1: &str = "1.3.132.0.34";
const ED25519: &str = "1.3.101.112";
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    pub fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => sha2::Sha256::digest(message).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(message).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(message).to_vec(),
        }
    }

    /// The hash of an X.509 signature algorithm (`ecdsa-with-SHA256`, …), `None` for others.
    pub fn of_signature_algorithm(oid: &str) -> Option<Self> {
        match oid {
            "1.2.840.10045.4.3.2" => Some(Self::Sha256),
            "1.2.840.10045.4.3.3" => Some(Self::Sha384),
            "1.2.840.10045.4.3.4" => Some(Self::Sha512),
            "1.2.840.113549.1.1.11" => Some(Self::Sha256),
            "1.2.840.113549.1.1.12" => Some(Self::Sha384),
            "1.2.840.113549.1.1.13" => Some(Self::Sha512),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub enum VerifyingKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
    /// PKCS #1 v1.5 signatures (private Sigstore instances, old CT logs).
    Rsa(Box<rsa::RsaPublicKey>),
}

/// DER DigestInfo prefixes PKCS #1 v1.5 puts before a SHA-256, -384 or -512 digest.
fn digest_info_prefix(digest_len: usize) -> Option<&'static [u8]> {
    match digest_len {
        32 => Some(&[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ]),
        48 => Some(&[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ]),
        64 => Some(&[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ]),
        _ => None,
    }
}

impl VerifyingKey {
    /// A key from its DER SubjectPublicKeyInfo, or a bare PKCS #1 RSA key (as trusted roots
    /// give some RSA logs' keys).
    pub fn from_spki(spki: &[u8]) -> Result<Self, SigstoreError> {
        use rsa::pkcs1::DecodeRsaPublicKey;
        if let Ok(key) = rsa::RsaPublicKey::from_pkcs1_der(spki) {
            return Ok(Self::Rsa(Box::new(key)));
        }
        let info = SubjectPublicKeyInfoOwned::from_der(spki).map_err(|e| {
            SigstoreError::UnsupportedKey {
                algorithm: format!("not a SubjectPublicKeyInfo ({e})"),
            }
        })?;
        let point = info.subject_public_key.raw_bytes();
        let algorithm = info.algorithm.oid.to_string();
        let curve = info
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
            .map(|oid| oid.to_string());
        let unreadable = |what: &str| SigstoreError::UnsupportedKey {
            algorithm: format!("{what} whose point cannot be read"),
        };
        match (algorithm.as_str(), curve.as_deref()) {
            (EC_PUBLIC_KEY, Some(PRIME256V1)) => p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map(Self::P256)
                .map_err(|_| unreadable("an ECDSA P-256 key")),
            (EC_PUBLIC_KEY, Some(SECP384R1)) => p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map(Self::P384)
                .map_err(|_| unreadable("an ECDSA P-384 key")),
            (RSA_ENCRYPTION, _) => {
                use rsa::pkcs8::DecodePublicKey;
                rsa::RsaPublicKey::from_public_key_der(spki)
                    .map(|key| Self::Rsa(Box::new(key)))
                    .map_err(|_| unreadable("an RSA key"))
            }
            (ED25519, _) => <[u8; 32]>::try_from(point)
                .ok()
                .and_then(|bytes| ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok())
                .map(Self::Ed25519)
                .ok_or_else(|| unreadable("an Ed25519 key")),
            (other, curve) => Err(SigstoreError::UnsupportedKey {
                algorithm: match curve {
                    Some(curve) => format!("{other} on {curve}"),
                    None => other.to_owned(),
                },
            }),
        }
    }

    /// The hash an ECDSA key signs with unless told otherwise (as Sigstore's key details say).
    fn default_hash(&self) -> Hash {
        match self {
            Self::P384(_) => Hash::Sha384,
            _ => Hash::Sha256,
        }
    }

    /// Whether `signature` (DER for ECDSA, 64 bytes for Ed25519) signs `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verifies_with(self.default_hash(), message, signature)
    }

    /// The same, hashing an ECDSA message with `hash` (an X.509 signature's algorithm).
    pub fn verifies_with(&self, hash: Hash, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Ed25519(key) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify_strict(message, &sig).is_ok()),
            _ => self.verifies_prehashed(&hash.digest(message), signature),
        }
    }

    /// Whether an ECDSA `signature` signs the message whose hash is `digest` (a hashedrekord
    /// carries only the artifact's digest). Ed25519 signs messages, never digests: false.
    pub fn verifies_prehashed(&self, digest: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::P256(key) => ecdsa_der_to_fixed(signature, 32)
                .ok()
                .and_then(|fixed| p256::ecdsa::Signature::from_slice(&fixed).ok())
                .is_some_and(|sig| key.verify_prehash(digest, &sig).is_ok()),
            Self::P384(key) => ecdsa_der_to_fixed(signature, 48)
                .ok()
                .and_then(|fixed| p384::ecdsa::Signature::from_slice(&fixed).ok())
                .is_some_and(|sig| key.verify_prehash(digest, &sig).is_ok()),
            Self::Rsa(key) => digest_info_prefix(digest.len()).is_some_and(|prefix| {
                let scheme = rsa::Pkcs1v15Sign {
                    hash_len: Some(digest.len()),
                    prefix: prefix.into(),
                };
                key.verify(scheme, digest, signature).is_ok()
            }),
            Self::Ed25519(_) => false,
        }
    }

    /// In words, for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::P256(_) => "ECDSA P-256",
            Self::P384(_) => "ECDSA P-384",
            Self::Ed25519(_) => "Ed25519",
            Self::Rsa(_) => "RSA",
        }
    }
}

/// The DER inside the first PEM block of `text` (any label).
pub fn pem_to_der(text: &str) -> Option<Vec<u8>> {
    let start = text.find("-----BEGIN ")?;
    let body_start = start + text[start..].find('\n')? + 1;
    let end = body_start + text[body_start..].find("-----END ")?;
    crate::trust::base64_decode(&text[body_start..end])
}

pub use crate::trust::hex;

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_of_signature_algorithms() {
        assert_eq!(
            Hash::of_signature_algorithm("1.2.840.10045.4.3.3"),
            Some(Hash::Sha384)
        );
        assert_eq!(
            Hash::of_signature_algorithm("1.2.840.113549.1.1.11"),
            Some(Hash::Sha256)
        );
        assert_eq!(Hash::of_signature_algorithm("1.2.840.113549.1.1.10"), None);
        assert_eq!(Hash::Sha256.digest(b"").len(), 32);
        assert_eq!(Hash::Sha512.digest(b"").len(), 64);
    }

    #[test]
    fn pem_blocks_are_read() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n";
        assert_eq!(pem_to_der(pem), Some(vec![0, 1, 2]));
        assert_eq!(pem_to_der("no pem"), None);
    }

    #[test]
    fn keys_of_other_algorithms_are_named() {
        assert!(VerifyingKey::from_spki(b"garbage").is_err());
        // An Ed448 SubjectPublicKeyInfo (OID 1.3.101.113), 57 zero bytes of key.
        let mut ed448 = vec![
            0x30, 0x43, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x71, 0x03, 0x3a, 0x00,
        ];
        ed448.extend_from_slice(&[0; 57]);
        let error = VerifyingKey::from_spki(&ed448).unwrap_err().to_string();
        assert!(error.contains("1.3.101.113"), "{error}");
    }
}
