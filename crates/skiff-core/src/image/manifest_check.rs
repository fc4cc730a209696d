//! Whether a fetched manifest is the one that was asked for: its bytes against the digest (and
//! size) that referred to it — the reference's pin or the index entry — and against the
//! registry's own `Docker-Content-Digest`.

use crate::Digest;

/// What a manifest must match, and who said so (for the error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected<'a> {
    pub digest: &'a Digest,
    pub size: Option<u64>,
    pub source: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManifestMismatch {
    #[error("the manifest's digest is {actual}, but {source_of_expected} says {expected}; the registry served another manifest")]
    Digest {
        expected: Digest,
        actual: Digest,
        source_of_expected: &'static str,
    },
    #[error("the manifest is {actual} bytes, but {source_of_expected} says {expected}; the registry served another manifest")]
    Size {
        expected: u64,
        actual: u64,
        source_of_expected: &'static str,
    },
}

/// The manifest's digest, if it is the one asked for. A `Docker-Content-Digest` in another
/// algorithm than sha256 cannot be compared and is ignored rather than refused.
pub fn check_manifest(
    body: &[u8],
    expected: Option<Expected<'_>>,
    header_digest: Option<&str>,
) -> Result<Digest, ManifestMismatch> {
    let actual = Digest::of(body);
    if let Some(expected) = expected {
        if *expected.digest != actual {
            return Err(ManifestMismatch::Digest {
                expected: expected.digest.clone(),
                actual,
                source_of_expected: expected.source,
            });
        }
        if let Some(size) = expected.size.filter(|s| *s != body.len() as u64) {
            return Err(ManifestMismatch::Size {
                expected: size,
                actual: body.len() as u64,
                source_of_expected: expected.source,
            });
        }
    }
    if let Some(header) = header_digest.and_then(|h| h.trim().parse::<Digest>().ok()) {
        if header != actual {
            return Err(ManifestMismatch::Digest {
                expected: header,
                actual,
                source_of_expected: "the registry's Docker-Content-Digest header",
            });
        }
    }
    Ok(actual)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_against_the_referrer_and_the_registry() {
        let body = br#"{"schemaVersion":2}"#;
        let right = Digest::of(body);
        let wrong = Digest::of(b"other");
        let pin = |digest, size| {
            Some(Expected {
                digest,
                size,
                source: "the reference",
            })
        };
        let right_text = right.to_string();
        let wrong_text = wrong.to_string();
        type Case<'a> = (Option<Expected<'a>>, Option<&'a str>, Result<(), &'a str>);
        let table: Vec<Case> = vec![
            (None, None, Ok(())),
            (pin(&right, None), None, Ok(())),
            (
                pin(&right, Some(body.len() as u64)),
                Some(&right_text),
                Ok(()),
            ),
            (pin(&wrong, None), None, Err("the reference says")),
            (
                pin(&right, Some(3)),
                None,
                Err("is 19 bytes, but the reference says 3"),
            ),
            (None, Some(&wrong_text), Err("Docker-Content-Digest")),
            // Not comparable: ignored.
            (None, Some("sha512:abcd"), Ok(())),
            (None, Some("garbage"), Ok(())),
        ];
        for (expected, header, outcome) in table {
            match (check_manifest(body, expected, header), outcome) {
                (Ok(digest), Ok(())) => assert_eq!(digest, right),
                (Err(error), Err(part)) => assert!(error.to_string().contains(part), "{error}"),
                (got, want) => panic!("{header:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}
