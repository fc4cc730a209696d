//! cosign's simple-signing payload (what a cosign signature signs):
//! `{"critical":{"identity":{"docker-reference":…},"image":{"docker-manifest-digest":…},
//! "type":"cosign container image signature"},"optional":…}`. A valid signature over a payload
//! about another image proves nothing about this one: the payload is checked first.

use serde::Deserialize;

use super::TrustError;
use crate::Digest;

const COSIGN_TYPE: &str = "cosign container image signature";

/// What a payload promises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimpleSigning {
    /// The repository it names (`registry/name`), as cosign wrote it.
    pub reference: String,
    pub digest: Digest,
}

#[derive(Deserialize)]
struct Payload {
    critical: Critical,
}

#[derive(Deserialize)]
struct Critical {
    identity: Identity,
    image: Image,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

impl SimpleSigning {
    pub fn parse(payload: &[u8]) -> Result<Self, TrustError> {
        let malformed = |reason: String| TrustError::MalformedPayload { reason };
        let payload: Payload =
            serde_json::from_slice(payload).map_err(|e| malformed(e.to_string()))?;
        let critical = payload.critical;
        // cosign v3 writes its statement's predicate type here.
        let known = critical.kind.eq_ignore_ascii_case(COSIGN_TYPE)
            || critical.kind == super::signatures::SIGN_PREDICATE;
        if !known {
            return Err(malformed(format!("its type is {:?}", critical.kind)));
        }
        let digest = critical
            .image
            .docker_manifest_digest
            .parse()
            .map_err(|e: crate::Error| malformed(e.to_string()))?;
        Ok(Self {
            reference: critical.identity.docker_reference,
            digest,
        })
    }

    /// Whether the payload is about `image` (its manifest's digest) in `repository`
    /// (`registry/name`, as the reference normalizes it). cosign signs the repository without
    /// tag or digest; a tag or digest written after it is allowed.
    pub fn check(&self, image: &Digest, repository: &str) -> Result<(), TrustError> {
        if self.digest != *image {
            return Err(TrustError::OtherImage {
                signed: self.digest.to_string(),
                image: image.to_string(),
            });
        }
        let signed = self.reference.split('@').next().unwrap_or_default();
        let last_part = signed.rsplit('/').next().unwrap_or_default();
        let signed = match last_part.split_once(':') {
            Some((name, _tag)) => &signed[..signed.len() - last_part.len() + name.len()],
            None => signed,
        };
        let familiar = |name: &str| name.strip_prefix("docker.io/").map(str::to_owned);
        let same = signed == repository
            || familiar(repository).as_deref() == Some(signed)
            || familiar(repository)
                .and_then(|r| r.strip_prefix("library/").map(str::to_owned))
                .as_deref()
                == Some(signed);
        if !same {
            return Err(TrustError::OtherRepository {
                signed: self.reference.clone(),
                repository: repository.to_owned(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(reference: &str, digest: &str, kind: &str) -> Vec<u8> {
        format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"{reference}"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"{kind}"}},"optional":null}}"#
        )
        .into_bytes()
    }

    #[test]
    fn a_payload_must_be_about_this_image_in_this_repository() {
        let image = Digest::of(b"manifest");
        let other = Digest::of(b"another");
        let table: &[(&str, &Digest, &str, Result<(), &str>)] = &[
            ("r.io/team/app", &image, "r.io/team/app", Ok(())),
            ("r.io/team/app:1.0", &image, "r.io/team/app", Ok(())),
            ("127.0.0.1:5000/app", &image, "127.0.0.1:5000/app", Ok(())),
            ("nginx", &image, "docker.io/library/nginx", Ok(())),
            (
                "docker.io/library/nginx",
                &image,
                "docker.io/library/nginx",
                Ok(()),
            ),
            (
                "r.io/team/app",
                &other,
                "r.io/team/app",
                Err("not for this image"),
            ),
            (
                "r.io/team/other",
                &image,
                "r.io/team/app",
                Err("names the repository"),
            ),
            (
                "127.0.0.1:5000",
                &image,
                "127.0.0.1:5000/app",
                Err("names the repository"),
            ),
        ];
        for (reference, signed, repository, expected) in table {
            let parsed =
                SimpleSigning::parse(&payload(reference, &signed.to_string(), COSIGN_TYPE))
                    .unwrap();
            match (parsed.check(&image, repository), expected) {
                (Ok(()), Ok(())) => {}
                (Err(error), Err(part)) => assert!(error.to_string().contains(part), "{error}"),
                (got, _) => panic!("{reference} in {repository}: {got:?}"),
            }
        }
    }

    #[test]
    fn refuses_what_is_not_a_cosign_payload() {
        let digest = Digest::of(b"x").to_string();
        for bad in [
            b"not json".to_vec(),
            b"{}".to_vec(),
            payload("r.io/a", &digest, "something else"),
            payload("r.io/a", "sha256:short", COSIGN_TYPE),
        ] {
            assert!(matches!(
                SimpleSigning::parse(&bad),
                Err(TrustError::MalformedPayload { .. })
            ));
        }
    }
}
