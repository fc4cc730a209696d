//! Manifests and indexes, Docker v2 schema 2 and OCI, told apart by media type.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::image::media_type::MediaType;
use crate::{Digest, Error};

/// The most Skiff reads of a manifest, index, config, token answer or tag list: real ones are
/// kilobytes; anything near this is not what it claims to be (and must not fill the page's memory).
pub const MAX_DOCUMENT_BYTES: u64 = 4 << 20;

/// Refuses a JSON document (by its announced or received size) above [`MAX_DOCUMENT_BYTES`].
pub fn check_document_size(what: &'static str, size: u64) -> Result<(), Error> {
    if size > MAX_DOCUMENT_BYTES {
        return Err(Error::DocumentTooLarge {
            what,
            size,
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    Ok(())
}

/// The sum of descriptor sizes, refusing sums that do not fit (a hostile manifest's sizes).
pub fn total_size<'a>(descriptors: impl IntoIterator<Item = &'a Descriptor>) -> Result<u64, Error> {
    descriptors
        .into_iter()
        .try_fold(0u64, |sum, d| sum.checked_add(d.size))
        .ok_or(Error::SizeOverflow {
            what: "layer sizes",
        })
}

/// The `Accept` header for manifest requests: every manifest type Skiff reads.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// A content descriptor: what a manifest says about a blob or another manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default, deserialize_with = "MediaType::deserialize_lenient")]
    pub media_type: MediaType,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformSpec>,
}

/// The `platform` object of an index entry, as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformSpec {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(
        default,
        rename = "os.version",
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
}

/// A single-platform image manifest (Docker v2s2 or OCI).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<MediaType>,
    /// What an artifact is (OCI 1.1); images have none. Kept as written: a malformed one
    /// must not make the manifest unreadable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (a signature's image, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// A multi-platform index (Docker manifest list or OCI index).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<MediaType>,
    pub manifests: Vec<Descriptor>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Manifest {
    Image(Box<ImageManifest>),
    Index(ImageIndex),
}

/// The fields that tell manifest kinds apart, read before committing to one shape.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    schema_version: Option<u32>,
    media_type: Option<String>,
    manifests: Option<serde_json::Value>,
    layers: Option<serde_json::Value>,
}

impl Manifest {
    /// Parses a manifest body. `content_type` is the response's `Content-Type`, which wins over
    /// the body's `mediaType` when present (some registries omit the latter).
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<(Self, MediaType), Error> {
        let malformed = |e: serde_json::Error| Error::MalformedJson {
            what: "manifest",
            reason: e.to_string(),
        };
        let probe: Probe = serde_json::from_slice(body).map_err(malformed)?;
        let said = |text: &str| {
            text.parse::<MediaType>()
                .map_err(|_| Error::UnsupportedMediaType {
                    what: "manifest",
                    media_type: text.to_owned(),
                })
        };
        let header_type = content_type
            .map(|ct| ct.split(';').next().unwrap_or("").trim())
            .filter(|ct| !ct.is_empty() && *ct != "application/json" && *ct != "text/plain");
        let media_type = match (header_type, probe.media_type.as_deref()) {
            (Some(header), _) => said(header)?,
            (None, Some(body)) => said(body)?,
            (None, None) if probe.schema_version == Some(1) => MediaType::DockerSchema1,
            // OCI allows omitting mediaType; fall back on the shape.
            (None, None) if probe.manifests.is_some() => MediaType::OciIndex,
            (None, None) if probe.layers.is_some() => MediaType::OciManifest,
            (None, None) => {
                return Err(Error::UnsupportedMediaType {
                    what: "manifest",
                    media_type: "(none given)".to_owned(),
                })
            }
        };
        let manifest = match &media_type {
            kind if kind.is_image_manifest() => {
                Self::Image(Box::new(serde_json::from_slice(body).map_err(malformed)?))
            }
            kind if kind.is_index() => {
                Self::Index(serde_json::from_slice(body).map_err(malformed)?)
            }
            kind if kind.is_schema1() => return Err(Error::DeprecatedSchema1),
            other => {
                return Err(Error::UnsupportedMediaType {
                    what: "manifest",
                    media_type: other.to_string(),
                })
            }
        };
        if probe.schema_version != Some(2) {
            return Err(Error::MalformedJson {
                what: "manifest",
                reason: format!("schemaVersion is {:?}, expected 2", probe.schema_version),
            });
        }
        Ok((manifest, media_type))
    }
}

/// The parts of an image config Skiff reads; the config itself is kept byte for byte.
#[derive(Clone, Debug, Deserialize)]
pub struct ImageConfig {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    pub rootfs: RootFs,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    pub diff_ids: Vec<Digest>,
}

impl ImageConfig {
    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        serde_json::from_slice(body).map_err(|e| Error::MalformedJson {
            what: "image config",
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn docker_manifest() -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","size":12,"digest":"{A}"}},"layers":[{{"mediaType":"{}","size":34,"digest":"{B}"}}]}}"#,
            MediaType::DockerManifest.as_str(),
            MediaType::DockerConfig.as_str(),
            MediaType::DockerLayerGzip.as_str()
        )
    }

    #[test]
    fn decodes_docker_v2s2() {
        let (manifest, media_type) = Manifest::parse(None, docker_manifest().as_bytes()).unwrap();
        assert_eq!(media_type, MediaType::DockerManifest);
        let Manifest::Image(image) = manifest else {
            panic!("not an image")
        };
        assert_eq!(image.config.size, 12);
        assert_eq!(image.config.digest.to_string(), A);
        assert_eq!(image.layers.len(), 1);
        assert_eq!(image.layers[0].media_type, MediaType::DockerLayerGzip);
    }

    #[test]
    fn decodes_oci_manifest_without_media_type_field() {
        let body = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"{}","size":1,"digest":"{A}"}},"layers":[],"annotations":{{"x":"y"}}}}"#,
            MediaType::OciConfig.as_str()
        );
        let (manifest, media_type) = Manifest::parse(
            Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
            body.as_bytes(),
        )
        .unwrap();
        assert_eq!(media_type, MediaType::OciManifest);
        assert!(matches!(manifest, Manifest::Image(m) if m.layers.is_empty()));
        let (_, media_type) = Manifest::parse(None, body.as_bytes()).unwrap();
        assert_eq!(media_type, MediaType::OciManifest);
    }

    #[test]
    fn decodes_indexes() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{{"mediaType":"{}","size":5,"digest":"{A}","platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}},{{"mediaType":"{}","size":6,"digest":"{B}","platform":{{"architecture":"unknown","os":"unknown"}},"annotations":{{"vnd.docker.reference.type":"attestation-manifest"}}}}]}}"#,
            MediaType::OciIndex.as_str(),
            MediaType::OciManifest.as_str(),
            MediaType::OciManifest.as_str()
        );
        let (manifest, media_type) = Manifest::parse(None, body.as_bytes()).unwrap();
        assert_eq!(media_type, MediaType::OciIndex);
        let Manifest::Index(index) = manifest else {
            panic!("not an index")
        };
        assert_eq!(index.manifests.len(), 2);
        let platform = index.manifests[0].platform.as_ref().unwrap();
        assert_eq!(
            (platform.os.as_str(), platform.architecture.as_str()),
            ("linux", "arm64")
        );
        assert_eq!(platform.variant.as_deref(), Some("v8"));
    }

    #[test]
    fn rejects_schema1_unknown_types_and_garbage() {
        let schema1 = br#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#;
        assert_eq!(
            Manifest::parse(None, schema1),
            Err(Error::DeprecatedSchema1)
        );
        assert_eq!(
            Manifest::parse(Some(MediaType::DockerSchema1Signed.as_str()), schema1),
            Err(Error::DeprecatedSchema1)
        );
        assert!(matches!(
            Manifest::parse(
                Some("application/vnd.example+json"),
                docker_manifest().as_bytes()
            ),
            Err(Error::UnsupportedMediaType { .. })
        ));
        assert!(matches!(
            Manifest::parse(None, b"{not json"),
            Err(Error::MalformedJson { .. })
        ));
        let missing_layers = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}"}}"#,
            MediaType::DockerManifest.as_str()
        );
        assert!(matches!(
            Manifest::parse(None, missing_layers.as_bytes()),
            Err(Error::MalformedJson { .. })
        ));
        let bad_digest = docker_manifest().replace(A, "sha256:1234");
        assert!(matches!(
            Manifest::parse(None, bad_digest.as_bytes()),
            Err(Error::MalformedJson { .. })
        ));
    }

    #[test]
    fn accept_header_offers_every_manifest_type_parse_reads() {
        for media_type in [
            MediaType::DockerManifest.as_str(),
            MediaType::DockerManifestList.as_str(),
            MediaType::OciManifest.as_str(),
            MediaType::OciIndex.as_str(),
        ] {
            assert!(
                MANIFEST_ACCEPT
                    .split(", ")
                    .any(|offered| offered == media_type),
                "{media_type} missing from {MANIFEST_ACCEPT}"
            );
        }
    }

    #[test]
    fn reads_config_diff_ids() {
        let body = format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{A}","{B}"]}},"config":{{}}}}"#
        );
        let config = ImageConfig::parse(body.as_bytes()).unwrap();
        assert_eq!(config.rootfs.diff_ids.len(), 2);
        assert_eq!(config.os, "linux");
    }

    #[test]
    fn caps_documents_and_checks_size_sums() {
        assert!(check_document_size("manifest", 1_000).is_ok());
        assert!(check_document_size("manifest", MAX_DOCUMENT_BYTES).is_ok());
        let error = check_document_size("image config", MAX_DOCUMENT_BYTES + 1).unwrap_err();
        assert!(matches!(
            error,
            Error::DocumentTooLarge {
                what: "image config",
                ..
            }
        ));
        assert!(error.to_string().contains("image config"));

        let layer = |size| Descriptor {
            size,
            ..serde_json::from_str(&format!(r#"{{"mediaType":"x","size":0,"digest":"{A}"}}"#))
                .unwrap()
        };
        assert_eq!(total_size(&[layer(1), layer(2)]).unwrap(), 3);
        assert!(matches!(
            total_size(&[layer(u64::MAX), layer(1)]),
            Err(Error::SizeOverflow { .. })
        ));
    }
}
