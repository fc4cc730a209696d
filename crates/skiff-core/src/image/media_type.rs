//! Media types as a type: every manifest, config and layer type Skiff knows by name, anything
//! else kept as [`MediaType::Other`]. Parsing drops parameters (`; charset=utf-8`) and ignores
//! case, so a `Content-Type` header and a descriptor's `mediaType` compare equal.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::transfer::layer::Compression;

/// Longest media type accepted (RFC 6838 allows 127 characters on each side of the slash).
const MAX_LEN: usize = 255;

/// A media type, without parameters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaType {
    DockerManifest,
    DockerManifestList,
    DockerSchema1,
    DockerSchema1Signed,
    DockerConfig,
    DockerLayerGzip,
    DockerLayer,
    DockerForeignLayerGzip,
    OciManifest,
    OciIndex,
    OciConfig,
    OciLayer,
    OciLayerGzip,
    OciLayerZstd,
    OciNondistributableLayer,
    OciNondistributableLayerGzip,
    OciNondistributableLayerZstd,
    /// `application/vnd.oci.empty.v1+json`: the `{}` config of artifacts.
    OciEmpty,
    /// An in-toto statement (BuildKit's SBOM and provenance attestations).
    InToto,
    /// A DSSE envelope around an attestation.
    DsseEnvelope,
    /// A Sigstore bundle (cosign ≥ 2.x signatures and attestations).
    SigstoreBundle,
    /// Cosign's simple-signing payload (a classic `sha256-….sig` signature layer).
    CosignSimpleSigning,
    /// Any other type, lowercased, parameters removed.
    Other(String),
}

/// The named variants and their canonical strings, in one table for parsing and printing.
const KNOWN: &[(MediaType, &str)] = &[
    (
        MediaType::DockerManifest,
        "application/vnd.docker.distribution.manifest.v2+json",
    ),
    (
        MediaType::DockerManifestList,
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ),
    (
        MediaType::DockerSchema1,
        "application/vnd.docker.distribution.manifest.v1+json",
    ),
    (
        MediaType::DockerSchema1Signed,
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    ),
    (
        MediaType::DockerConfig,
        "application/vnd.docker.container.image.v1+json",
    ),
    (
        MediaType::DockerLayerGzip,
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
    ),
    (
        MediaType::DockerLayer,
        "application/vnd.docker.image.rootfs.diff.tar",
    ),
    (
        MediaType::DockerForeignLayerGzip,
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    ),
    (
        MediaType::OciManifest,
        "application/vnd.oci.image.manifest.v1+json",
    ),
    (
        MediaType::OciIndex,
        "application/vnd.oci.image.index.v1+json",
    ),
    (
        MediaType::OciConfig,
        "application/vnd.oci.image.config.v1+json",
    ),
    (
        MediaType::OciLayer,
        "application/vnd.oci.image.layer.v1.tar",
    ),
    (
        MediaType::OciLayerGzip,
        "application/vnd.oci.image.layer.v1.tar+gzip",
    ),
    (
        MediaType::OciLayerZstd,
        "application/vnd.oci.image.layer.v1.tar+zstd",
    ),
    (
        MediaType::OciNondistributableLayer,
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
    ),
    (
        MediaType::OciNondistributableLayerGzip,
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    ),
    (
        MediaType::OciNondistributableLayerZstd,
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    ),
    (MediaType::OciEmpty, "application/vnd.oci.empty.v1+json"),
    (MediaType::InToto, "application/vnd.in-toto+json"),
    (
        MediaType::DsseEnvelope,
        "application/vnd.dsse.envelope.v1+json",
    ),
    (
        MediaType::SigstoreBundle,
        "application/vnd.dev.sigstore.bundle.v0.3+json",
    ),
    (
        MediaType::CosignSimpleSigning,
        "application/vnd.dev.cosign.simplesigning.v1+json",
    ),
];

/// Why a string is not a media type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MediaTypeError {
    #[error("the media type is empty; the registry or manifest did not say what the content is, so Skiff cannot tell how to read it")]
    Empty,
    #[error("{input:?} is not a media type ({reason}); expected `type/subtype`, e.g. `application/vnd.oci.image.manifest.v1+json`")]
    Malformed { input: String, reason: &'static str },
}

impl MediaType {
    /// The canonical string (lowercase, no parameters).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(other) => other,
            known => KNOWN
                .iter()
                .find(|(kind, _)| kind == known)
                .map_or("", |(_, name)| name),
        }
    }

    /// A multi-platform list: Docker manifest list or OCI index.
    pub fn is_index(&self) -> bool {
        matches!(self, Self::DockerManifestList | Self::OciIndex)
    }

    /// A single-platform image manifest Skiff can pull (Docker v2 schema 2 or OCI).
    pub fn is_image_manifest(&self) -> bool {
        matches!(self, Self::DockerManifest | Self::OciManifest)
    }

    /// The retired Docker schema 1 manifest, signed or not.
    pub fn is_schema1(&self) -> bool {
        matches!(self, Self::DockerSchema1 | Self::DockerSchema1Signed)
    }

    /// An image config (the JSON with the diff IDs and the run settings).
    pub fn is_config(&self) -> bool {
        matches!(self, Self::DockerConfig | Self::OciConfig)
    }

    /// A filesystem layer of an image, in any compression.
    pub fn is_layer(&self) -> bool {
        self.layer_compression().is_some()
    }

    /// How a layer is compressed; `None` when this is not a layer type.
    pub fn layer_compression(&self) -> Option<Compression> {
        match self {
            Self::DockerLayer | Self::OciLayer | Self::OciNondistributableLayer => {
                Some(Compression::None)
            }
            Self::DockerLayerGzip
            | Self::DockerForeignLayerGzip
            | Self::OciLayerGzip
            | Self::OciNondistributableLayerGzip => Some(Compression::Gzip),
            Self::OciLayerZstd | Self::OciNondistributableLayerZstd => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// A layer that may be served from the URLs in its descriptor rather than the registry
    /// (Docker "foreign" layers, OCI "non-distributable" ones, e.g. Windows base layers).
    pub fn is_foreign(&self) -> bool {
        matches!(
            self,
            Self::DockerForeignLayerGzip
                | Self::OciNondistributableLayer
                | Self::OciNondistributableLayerGzip
                | Self::OciNondistributableLayerZstd
        )
    }

    /// The ordinary layer type of a foreign one (same compression); `None` for any other.
    pub fn distributable(&self) -> Option<Self> {
        match self {
            Self::DockerForeignLayerGzip => Some(Self::DockerLayerGzip),
            Self::OciNondistributableLayer => Some(Self::OciLayer),
            Self::OciNondistributableLayerGzip => Some(Self::OciLayerGzip),
            Self::OciNondistributableLayerZstd => Some(Self::OciLayerZstd),
            _ => None,
        }
    }

    /// A signature or attestation (SBOM, provenance), not part of the image's filesystem.
    pub fn is_attestation(&self) -> bool {
        matches!(
            self,
            Self::InToto | Self::DsseEnvelope | Self::SigstoreBundle | Self::CosignSimpleSigning
        )
    }

    /// A few words for a table cell: the compression of a layer (`tar+gzip`, `foreign
    /// tar+zstd`), else the type's last part.
    pub fn short_name(&self) -> String {
        let text = self.as_str();
        let name = match self.layer_compression() {
            Some(Compression::Gzip) => "tar+gzip",
            Some(Compression::Zstd) => "tar+zstd",
            Some(Compression::None) => "tar",
            None => text.rsplit(['.', '/']).next().unwrap_or(text),
        };
        if self.is_foreign() {
            format!("foreign {name}")
        } else {
            name.to_owned()
        }
    }

    /// One sentence for someone meeting this media type for the first time.
    pub fn explain(&self) -> &'static str {
        match self {
            Self::DockerManifest => "A Docker image manifest (v2 schema 2): it lists one image's config and layers.",
            Self::DockerManifestList => "A Docker manifest list: it points to one image manifest per platform (amd64, arm64, …).",
            Self::DockerSchema1 | Self::DockerSchema1Signed => "A Docker schema 1 manifest: a format retired in 2019 that current tools no longer pull.",
            Self::DockerConfig | Self::OciConfig => "An image config: the JSON with the command, environment and the digests of the unpacked layers.",
            Self::DockerLayerGzip | Self::OciLayerGzip => "A filesystem layer: a tar archive compressed with gzip.",
            Self::DockerLayer | Self::OciLayer => "A filesystem layer: an uncompressed tar archive.",
            Self::OciLayerZstd => "A filesystem layer: a tar archive compressed with zstd.",
            Self::DockerForeignLayerGzip | Self::OciNondistributableLayer | Self::OciNondistributableLayerGzip | Self::OciNondistributableLayerZstd => "A foreign layer: a tar archive the registry may not hold, downloaded from the URLs its descriptor lists (often Windows base layers).",
            Self::OciManifest => "An OCI image manifest: it lists one image's config and layers.",
            Self::OciIndex => "An OCI image index: it points to one manifest per platform, and sometimes to attestations.",
            Self::OciEmpty => "The empty JSON object `{}`, used where a config is required but an artifact has none.",
            Self::InToto => "An in-toto attestation: a signed-off statement (SBOM, provenance) about the image, not part of its filesystem.",
            Self::DsseEnvelope => "A DSSE envelope: a signature wrapped around an attestation.",
            Self::SigstoreBundle => "A Sigstore bundle: a signature or attestation with the material to verify it.",
            Self::CosignSimpleSigning => "A cosign signature payload: it names the image digest that was signed.",
            Self::Other(_) => "A media type Skiff does not know; it is carried along but not interpreted.",
        }
    }
}

impl FromStr for MediaType {
    type Err = MediaTypeError;

    fn from_str(input: &str) -> Result<Self, MediaTypeError> {
        let essence = input.split(';').next().unwrap_or("").trim();
        if essence.is_empty() {
            return Err(MediaTypeError::Empty);
        }
        let malformed = |reason| MediaTypeError::Malformed {
            input: shorten(input),
            reason,
        };
        if essence.len() > MAX_LEN {
            return Err(malformed("longer than 255 characters"));
        }
        let Some((kind, subtype)) = essence.split_once('/') else {
            return Err(malformed("no `/` between type and subtype"));
        };
        let is_token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        };
        if !is_token(kind) || !is_token(subtype) {
            return Err(malformed(
                "type and subtype must be non-empty and use only letters, digits and !#$%&'*+-.^_`|~",
            ));
        }
        let essence = essence.to_ascii_lowercase();
        Ok(KNOWN
            .iter()
            .find(|(_, name)| *name == essence)
            .map_or(Self::Other(essence), |(kind, _)| kind.clone()))
    }
}

/// Compared with the string a document carries.
impl PartialEq<&str> for MediaType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for MediaType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A descriptor that names no media type (a few tools' `index.json` entries): it is carried as
/// none given, and written back the same way.
impl Default for MediaType {
    fn default() -> Self {
        Self::Other(String::new())
    }
}

impl MediaType {
    /// A value that is not a media type at all is kept as written (`Other`): what a registry
    /// or a descriptor said, shown and carried, not a reason to refuse the whole document.
    pub fn lenient(text: &str) -> Self {
        text.parse()
            .unwrap_or_else(|_| Self::Other(text.to_owned()))
    }

    /// [`MediaType::lenient`], as a descriptor field.
    pub fn deserialize_lenient<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(Self::lenient(&text))
    }
}

impl<'de> Deserialize<'de> for MediaType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// At most 80 characters of hostile input in an error message.
fn shorten(input: &str) -> String {
    match input.char_indices().nth(80) {
        Some((end, _)) => format!("{}…", &input[..end]),
        None => input.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_type_round_trips() {
        for (kind, name) in KNOWN {
            assert_eq!(name.parse::<MediaType>().as_ref(), Ok(kind), "{name}");
            assert_eq!(kind.to_string(), *name);
            assert_eq!(kind.as_str().parse::<MediaType>().as_ref(), Ok(kind));
            assert!(!kind.explain().is_empty());
        }
    }

    #[test]
    fn short_names() {
        let table = [
            (MediaType::DockerLayerGzip, "tar+gzip"),
            (MediaType::OciLayer, "tar"),
            (MediaType::OciLayerZstd, "tar+zstd"),
            (MediaType::DockerForeignLayerGzip, "foreign tar+gzip"),
            (MediaType::OciNondistributableLayerZstd, "foreign tar+zstd"),
            (MediaType::OciManifest, "v1+json"),
            (MediaType::Other("text/plain".into()), "plain"),
        ];
        for (kind, name) in table {
            assert_eq!(kind.short_name(), name, "{kind}");
        }
    }

    #[test]
    fn parsing_normalizes() {
        let table: &[(&str, MediaType)] = &[
            (
                "application/vnd.oci.image.manifest.v1+json; charset=utf-8",
                MediaType::OciManifest,
            ),
            (
                "  Application/VND.Docker.Distribution.Manifest.V2+JSON ",
                MediaType::DockerManifest,
            ),
            (
                "application/vnd.oci.image.index.v1+json;",
                MediaType::OciIndex,
            ),
            (
                "Application/JSON; charset=UTF-8",
                MediaType::Other("application/json".into()),
            ),
            (
                "application/vnd.example.thing+cbor",
                MediaType::Other("application/vnd.example.thing+cbor".into()),
            ),
        ];
        for (input, expected) in table {
            let parsed: MediaType = input.parse().unwrap();
            assert_eq!(&parsed, expected, "{input}");
            assert_eq!(parsed.to_string().parse::<MediaType>().unwrap(), parsed);
        }
    }

    #[test]
    fn rejects_garbage_with_typed_errors() {
        let long = format!("application/{}", "x".repeat(10_000));
        let table: &[(&str, Option<&str>)] = &[
            ("", None),
            ("   ", None),
            ("; charset=utf-8", None),
            ("json", Some("no `/`")),
            ("application/", Some("non-empty")),
            ("/json", Some("non-empty")),
            ("application/json/extra", Some("non-empty")),
            ("appli cation/json", Some("non-empty")),
            ("application/jsön", Some("non-empty")),
            ("text/\"html\"", Some("non-empty")),
            (&long, Some("longer than 255")),
        ];
        for (input, reason) in table {
            match (input.parse::<MediaType>(), reason) {
                (Err(MediaTypeError::Empty), None) => {}
                (Err(e @ MediaTypeError::Malformed { .. }), Some(reason)) => {
                    let message = e.to_string();
                    assert!(message.contains(reason), "{input}: {message}");
                    assert!(message.len() < 400, "error message echoes too much");
                }
                (other, _) => panic!("{input:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn classifies() {
        use Compression::{Gzip, None as Plain, Zstd};
        // (type, index, image manifest, config, compression, foreign, attestation)
        type Row = (MediaType, bool, bool, bool, Option<Compression>, bool, bool);
        let table: Vec<Row> = vec![
            (
                MediaType::DockerManifest,
                false,
                true,
                false,
                None,
                false,
                false,
            ),
            (
                MediaType::DockerManifestList,
                true,
                false,
                false,
                None,
                false,
                false,
            ),
            (
                MediaType::DockerSchema1,
                false,
                false,
                false,
                None,
                false,
                false,
            ),
            (
                MediaType::DockerSchema1Signed,
                false,
                false,
                false,
                None,
                false,
                false,
            ),
            (
                MediaType::DockerConfig,
                false,
                false,
                true,
                None,
                false,
                false,
            ),
            (
                MediaType::DockerLayerGzip,
                false,
                false,
                false,
                Some(Gzip),
                false,
                false,
            ),
            (
                MediaType::DockerLayer,
                false,
                false,
                false,
                Some(Plain),
                false,
                false,
            ),
            (
                MediaType::DockerForeignLayerGzip,
                false,
                false,
                false,
                Some(Gzip),
                true,
                false,
            ),
            (
                MediaType::OciManifest,
                false,
                true,
                false,
                None,
                false,
                false,
            ),
            (MediaType::OciIndex, true, false, false, None, false, false),
            (MediaType::OciConfig, false, false, true, None, false, false),
            (
                MediaType::OciLayer,
                false,
                false,
                false,
                Some(Plain),
                false,
                false,
            ),
            (
                MediaType::OciLayerGzip,
                false,
                false,
                false,
                Some(Gzip),
                false,
                false,
            ),
            (
                MediaType::OciLayerZstd,
                false,
                false,
                false,
                Some(Zstd),
                false,
                false,
            ),
            (
                MediaType::OciNondistributableLayer,
                false,
                false,
                false,
                Some(Plain),
                true,
                false,
            ),
            (
                MediaType::OciNondistributableLayerGzip,
                false,
                false,
                false,
                Some(Gzip),
                true,
                false,
            ),
            (
                MediaType::OciNondistributableLayerZstd,
                false,
                false,
                false,
                Some(Zstd),
                true,
                false,
            ),
            (MediaType::OciEmpty, false, false, false, None, false, false),
            (MediaType::InToto, false, false, false, None, false, true),
            (
                MediaType::DsseEnvelope,
                false,
                false,
                false,
                None,
                false,
                true,
            ),
            (
                MediaType::SigstoreBundle,
                false,
                false,
                false,
                None,
                false,
                true,
            ),
            (
                MediaType::CosignSimpleSigning,
                false,
                false,
                false,
                None,
                false,
                true,
            ),
            (
                MediaType::Other("text/plain".into()),
                false,
                false,
                false,
                None,
                false,
                false,
            ),
        ];
        assert_eq!(
            table.len(),
            KNOWN.len() + 1,
            "a variant is missing from the table"
        );
        for (kind, index, image, config, compression, foreign, attestation) in table {
            assert_eq!(kind.is_index(), index, "{kind}");
            assert_eq!(kind.is_image_manifest(), image, "{kind}");
            assert_eq!(kind.is_config(), config, "{kind}");
            assert_eq!(kind.layer_compression(), compression, "{kind}");
            assert_eq!(kind.is_layer(), compression.is_some(), "{kind}");
            assert_eq!(kind.is_foreign(), foreign, "{kind}");
            assert_eq!(kind.is_attestation(), attestation, "{kind}");
            assert_eq!(
                kind.is_schema1(),
                kind.as_str().contains("distribution.manifest.v1"),
                "{kind}"
            );
        }
    }

    #[test]
    fn serde_uses_the_string() {
        let json = serde_json::to_string(&MediaType::OciLayerZstd).unwrap();
        assert_eq!(json, "\"application/vnd.oci.image.layer.v1.tar+zstd\"");
        let back: MediaType = serde_json::from_str(&json).unwrap();
        assert_eq!(back, MediaType::OciLayerZstd);
        let other: MediaType = serde_json::from_str("\"Text/Plain; x=y\"").unwrap();
        assert_eq!(other, MediaType::Other("text/plain".into()));
        assert_eq!(serde_json::to_string(&other).unwrap(), "\"text/plain\"");
        for bad in ["\"\"", "\"nope\"", "42", "null"] {
            assert!(serde_json::from_str::<MediaType>(bad).is_err(), "{bad}");
        }
    }
}
