//! Content digests (`sha256:<64 hex>`) and a verifier that checks a blob while it streams.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::Error;

/// A `sha256:` content digest. Other algorithms are refused when parsing, so a `Digest` can
/// always be verified.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    hex: String,
}

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self::from_sha256(Sha256::digest(bytes).as_slice())
    }

    pub(crate) fn from_sha256(raw: &[u8]) -> Self {
        let mut hex = String::with_capacity(64);
        for byte in raw {
            hex.push_str(&format!("{byte:02x}"));
        }
        Self { hex }
    }

    /// The 64 lowercase hex characters after `sha256:`.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// `sha256:0123456789ab`, for headings where the full digest is noise.
    pub fn short(&self) -> String {
        format!("sha256:{}", &self.hex[..12])
    }
}

impl FromStr for Digest {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidDigest {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let (algorithm, hex) = input
            .split_once(':')
            .ok_or_else(|| invalid("expected `sha256:` followed by 64 hex characters"))?;
        if algorithm != "sha256" {
            return Err(invalid("only sha256 digests are supported"));
        }
        if hex.len() != 64 {
            return Err(invalid("a sha256 digest has exactly 64 hex characters"));
        }
        if !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(invalid(
                "a sha256 digest uses lowercase hex characters only",
            ));
        }
        Ok(Self {
            hex: hex.to_owned(),
        })
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest(sha256:{})", self.hex)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The size half of a blob's check, for a digest computed elsewhere (four streams in step,
/// the browser's own SHA-256): counts the bytes, refuses the first byte past the expected size,
/// and at the end checks the size, then the digest it is handed. Every backend's digest is
/// checked here, so no blob is committed on a digest nobody compared.
#[derive(Clone, Debug)]
pub struct SizeCheck {
    expected: Digest,
    expected_size: u64,
    received: u64,
}

impl SizeCheck {
    pub fn new(expected: Digest, expected_size: u64) -> Self {
        Self {
            expected,
            expected_size,
            received: 0,
        }
    }

    /// Counts `length` more bytes. Fails at once when the blob grows past its expected size.
    pub fn update(&mut self, length: usize) -> Result<(), Error> {
        self.received += length as u64;
        if self.received > self.expected_size {
            return Err(Error::SizeMismatch {
                digest: self.expected.clone(),
                expected: self.expected_size,
                actual: self.received,
            });
        }
        Ok(())
    }

    /// Bytes seen so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    pub fn expected(&self) -> &Digest {
        &self.expected
    }

    pub fn expected_size(&self) -> u64 {
        self.expected_size
    }

    /// Checks the size, then `sha256` (the digest of every byte counted) against the expected.
    pub fn finish(self, sha256: &[u8; 32]) -> Result<Digest, Error> {
        if self.received != self.expected_size {
            return Err(Error::SizeMismatch {
                digest: self.expected,
                expected: self.expected_size,
                actual: self.received,
            });
        }
        let actual = Digest::from_sha256(sha256);
        if actual != self.expected {
            return Err(Error::DigestMismatch {
                expected: self.expected,
                actual,
            });
        }
        Ok(actual)
    }
}

/// Hashes a blob as its bytes pass and, at the end, checks both size and digest against the
/// descriptor. Too many bytes are refused as soon as they arrive, so a lying server cannot make
/// the caller stage more than the descriptor promised.
#[derive(Clone)]
pub struct BlobVerifier {
    size: SizeCheck,
    hasher: Sha256,
}

impl BlobVerifier {
    pub fn new(expected: Digest, expected_size: u64) -> Self {
        Self {
            size: SizeCheck::new(expected, expected_size),
            hasher: Sha256::new(),
        }
    }

    /// Feeds the next chunk. Fails at once when the blob grows past its expected size.
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), Error> {
        self.size.update(chunk.len())?;
        self.hasher.update(chunk);
        Ok(())
    }

    /// Bytes seen so far.
    pub fn received(&self) -> u64 {
        self.size.received()
    }

    pub fn expected(&self) -> &Digest {
        self.size.expected()
    }

    /// Checks the size, then the digest.
    pub fn finish(self) -> Result<Digest, Error> {
        let sha256: [u8; 32] = self.hasher.finalize().into();
        self.size.finish(&sha256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_displays() {
        let digest: Digest = EMPTY.parse().unwrap();
        assert_eq!(digest.to_string(), EMPTY);
        assert_eq!(digest, Digest::of(b""));
        assert_eq!(digest.short(), "sha256:e3b0c44298fc");
    }

    #[test]
    fn rejects_bad_digests() {
        for bad in [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256:e3b0",
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ] {
            assert!(
                matches!(bad.parse::<Digest>(), Err(Error::InvalidDigest { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn verifier_accepts_the_right_bytes_in_any_chunking() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let expected = Digest::of(&data);
        for chunk in [1, 7, 4096, 10_000] {
            let mut verifier = BlobVerifier::new(expected.clone(), data.len() as u64);
            for piece in data.chunks(chunk) {
                verifier.update(piece).unwrap();
            }
            assert_eq!(verifier.received(), data.len() as u64);
            assert_eq!(verifier.finish().unwrap(), expected);
        }
    }

    #[test]
    fn verifier_rejects_a_wrong_digest() {
        let expected = Digest::of(b"hello");
        let mut verifier = BlobVerifier::new(expected.clone(), 5);
        verifier.update(b"jello").unwrap();
        match verifier.finish() {
            Err(Error::DigestMismatch {
                expected: e,
                actual,
            }) => {
                assert_eq!(e, expected);
                assert_eq!(actual, Digest::of(b"jello"));
            }
            other => panic!("expected a digest mismatch, got {other:?}"),
        }
    }

    #[test]
    fn verifier_rejects_a_short_body() {
        let mut verifier = BlobVerifier::new(Digest::of(b"hello"), 5);
        verifier.update(b"hell").unwrap();
        assert_eq!(
            verifier.finish(),
            Err(Error::SizeMismatch {
                digest: Digest::of(b"hello"),
                expected: 5,
                actual: 4
            })
        );
    }

    #[test]
    fn verifier_rejects_a_long_body_as_soon_as_it_grows() {
        let mut verifier = BlobVerifier::new(Digest::of(b"hello"), 5);
        verifier.update(b"hel").unwrap();
        assert!(matches!(
            verifier.update(b"lo!"),
            Err(Error::SizeMismatch { actual: 6, .. })
        ));
    }

    #[test]
    fn a_digest_computed_elsewhere_is_checked_with_the_size() {
        use sha2::Digest as _;
        let blob = b"layer bytes";
        let sha256: [u8; 32] = Sha256::digest(blob).into();
        let wrong: [u8; 32] = Sha256::digest(b"other bytes").into();
        let check = |pieces: &[usize], sha256: &[u8; 32]| {
            let mut size = SizeCheck::new(Digest::of(blob), blob.len() as u64);
            for &piece in pieces {
                size.update(piece)?;
            }
            size.finish(sha256)
        };
        assert_eq!(check(&[4, 7], &sha256).unwrap(), Digest::of(blob));
        assert!(matches!(
            check(&[11], &wrong),
            Err(Error::DigestMismatch { .. })
        ));
        // The size is checked first: a short blob fails as short, whatever digest is handed in.
        assert!(matches!(
            check(&[10], &sha256),
            Err(Error::SizeMismatch { actual: 10, .. })
        ));
        assert!(matches!(
            check(&[11, 1], &sha256),
            Err(Error::SizeMismatch { actual: 12, .. })
        ));
    }
}
