//! Artifacts that refer to an image: signatures, SBOMs, attestations. Registries list them
//! three ways, asked in this order:
//! 1. the OCI referrers API, `GET /v2/<name>/referrers/<digest>` (an index);
//! 2. the OCI referrers tag schema, for registries without the API: an index under the tag
//!    `sha256-<hex>`;
//! 3. cosign's tags, `sha256-<hex>.sig`, `.att` and `.sbom`: one manifest each.

use serde::Deserialize;

use crate::image::media_type::MediaType;
use crate::Digest;

/// What a referrer is, as far as its types tell (what any manifest holds is
/// [`crate::image::artifact::ArtifactKind`], which asks this for these three).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReferrerKind {
    Signature,
    Sbom,
    Attestation,
    Other,
}

impl ReferrerKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Signature => "signature",
            Self::Sbom => "SBOM",
            Self::Attestation => "attestation",
            Self::Other => "artifact",
        }
    }

    pub fn explain(self) -> &'static str {
        match self {
            Self::Signature => "A signature: proof that a key holder vouched for this exact image digest.",
            Self::Sbom => "A software bill of materials: the packages and versions inside the image.",
            Self::Attestation => "An attestation: a signed statement about the image (how it was built, what scanned it).",
            Self::Other => "An artifact attached to the image; its type says what it holds.",
        }
    }

    /// A Sigstore bundle's, from the predicate type of the statement it signs: cosign v3's
    /// image signature, an SBOM (SPDX, CycloneDX), or another attestation.
    pub fn of_bundle_predicate(predicate: &str) -> Self {
        let p = predicate.to_ascii_lowercase();
        if p == "https://sigstore.dev/cosign/sign/v1" {
            Self::Signature
        } else if p.contains("spdx") || p.contains("cyclonedx") {
            Self::Sbom
        } else {
            Self::Attestation
        }
    }

    /// From an `artifactType` (or a layer's media type when there is none).
    pub fn of_type(artifact_type: &str) -> Self {
        let t = artifact_type.to_ascii_lowercase();
        if t.contains("signature")
            || t.contains("cosign.simplesigning")
            || t.contains("notary")
            || t.contains("sigstore.bundle")
        {
            Self::Signature
        } else if t.contains("spdx")
            || t.contains("cyclonedx")
            || t.contains("syft")
            || t.contains("sbom")
        {
            Self::Sbom
        } else if t.contains("in-toto")
            || t.contains("dsse")
            || t.contains("attestation")
            || t.contains("provenance")
        {
            Self::Attestation
        } else {
            Self::Other
        }
    }
}

/// Where a referrer was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FoundBy {
    ReferrersApi,
    /// Listed in the index under this tag (the OCI tag schema).
    TagSchema(String),
    /// This cosign tag points to it.
    CosignTag(String),
}

impl FoundBy {
    pub fn describe(&self) -> String {
        match self {
            Self::ReferrersApi => "the OCI referrers API".to_owned(),
            Self::TagSchema(tag) => format!("the OCI referrers tag schema (tag {tag})"),
            Self::CosignTag(tag) => format!("cosign's tag {tag}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Referrer {
    pub digest: Digest,
    /// The manifest's media type.
    pub media_type: MediaType,
    pub artifact_type: Option<String>,
    pub kind: ReferrerKind,
    pub size: u64,
    pub found_by: FoundBy,
}

/// The referrers tag schema's tag for `subject`: `sha256-<hex>`.
pub fn schema_tag(subject: &Digest) -> String {
    // Digests are sha256 (the only algorithm `Digest` accepts).
    format!("sha256-{}", subject.hex())
}

/// cosign's tags for `subject`, with what each holds.
pub fn cosign_tags(subject: &Digest) -> [(String, ReferrerKind); 3] {
    let base = schema_tag(subject);
    [
        (format!("{base}.sig"), ReferrerKind::Signature),
        (format!("{base}.att"), ReferrerKind::Attestation),
        (format!("{base}.sbom"), ReferrerKind::Sbom),
    ]
}

/// The OCI referrers tag schema's index for a subject with `manifest` added (or `existing`'s
/// entry for it kept): what a registry without the referrers API holds under
/// [`schema_tag`], so a verifier finds the referrer there. `existing` is the index the tag held,
/// if any.
pub fn schema_index_with(
    existing: Option<&[u8]>,
    manifest: &[u8],
    media_type: &MediaType,
) -> Result<Vec<u8>, crate::Error> {
    let malformed = |what: &'static str| {
        move |e: serde_json::Error| crate::Error::MalformedJson {
            what,
            reason: e.to_string(),
        }
    };
    let mut index: serde_json::Value = match existing {
        Some(bytes) => serde_json::from_slice(bytes).map_err(malformed("referrers index"))?,
        None => serde_json::json!({
            "schemaVersion": 2,
            "mediaType": MediaType::OciIndex.as_str(),
            "manifests": [],
        }),
    };
    let parsed: serde_json::Value =
        serde_json::from_slice(manifest).map_err(malformed("manifest"))?;
    let digest = Digest::of(manifest);
    let mut entry = serde_json::json!({
        "mediaType": media_type.as_str(),
        "digest": digest.to_string(),
        "size": manifest.len(),
    });
    let artifact_type = parsed
        .get("artifactType")
        .or_else(|| parsed.pointer("/config/mediaType"))
        .cloned();
    if let Some(artifact_type) = artifact_type {
        entry["artifactType"] = artifact_type;
    }
    if let Some(annotations) = parsed.get("annotations") {
        entry["annotations"] = annotations.clone();
    }
    let Some(manifests) = index.get_mut("manifests").and_then(|m| m.as_array_mut()) else {
        return Err(crate::Error::MalformedJson {
            what: "referrers index",
            reason: "it has no manifests list".to_owned(),
        });
    };
    if !manifests
        .iter()
        .any(|m| m.get("digest").and_then(|d| d.as_str()) == Some(&digest.to_string()))
    {
        manifests.push(entry);
    }
    Ok(serde_json::to_vec(&index).expect("JSON values serialize"))
}

/// A descriptor as referrers lists carry it (with `artifactType`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    #[serde(default, deserialize_with = "MediaType::deserialize_lenient")]
    media_type: MediaType,
    digest: Digest,
    size: u64,
    artifact_type: Option<String>,
    /// The manifest's annotations, which a referrers index repeats.
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

/// What a Sigstore bundle holds, as cosign annotates its manifest.
pub const BUNDLE_PREDICATE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";

#[derive(Deserialize)]
struct ListedIndex {
    #[serde(default)]
    manifests: Vec<Listed>,
}

/// The entries of a referrers index (the API's answer or the schema tag's index).
pub fn from_index(body: &[u8], found_by: &FoundBy) -> Result<Vec<Referrer>, crate::Error> {
    let index: ListedIndex =
        serde_json::from_slice(body).map_err(|e| crate::Error::MalformedJson {
            what: "referrers index",
            reason: e.to_string(),
        })?;
    Ok(index
        .manifests
        .into_iter()
        .map(|d| {
            let declared = d.artifact_type.as_deref().unwrap_or(d.media_type.as_str());
            let kind = match d.annotations.get(BUNDLE_PREDICATE_ANNOTATION) {
                Some(predicate) if declared.contains("sigstore.bundle") => {
                    ReferrerKind::of_bundle_predicate(predicate)
                }
                _ => ReferrerKind::of_type(declared),
            };
            Referrer {
                digest: d.digest,
                media_type: d.media_type,
                artifact_type: d.artifact_type,
                kind,
                size: d.size,
                found_by: found_by.clone(),
            }
        })
        .collect())
}

#[derive(Deserialize)]
struct TaggedManifest {
    #[serde(rename = "artifactType")]
    artifact_type: Option<String>,
    #[serde(default)]
    layers: Vec<Listed>,
}

/// A manifest found under a cosign tag: what it is, from its artifact type or its first layer,
/// or else from the tag's suffix.
pub fn from_cosign_manifest(
    body: &[u8],
    media_type: MediaType,
    tag: &str,
    suffix_kind: ReferrerKind,
) -> Result<Referrer, crate::Error> {
    let manifest: TaggedManifest =
        serde_json::from_slice(body).map_err(|e| crate::Error::MalformedJson {
            what: "cosign manifest",
            reason: e.to_string(),
        })?;
    let declared = manifest
        .artifact_type
        .clone()
        .or_else(|| manifest.layers.first().map(|l| l.media_type.to_string()));
    let kind = match declared.as_deref().map(ReferrerKind::of_type) {
        Some(ReferrerKind::Other) | None => suffix_kind,
        Some(kind) => kind,
    };
    Ok(Referrer {
        digest: Digest::of(body),
        media_type,
        artifact_type: declared,
        kind,
        size: body.len() as u64,
        found_by: FoundBy::CosignTag(tag.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_schema_index_gains_each_referrer_once() {
        let sbom = br#"{"schemaVersion":2,"artifactType":"application/spdx+json","config":{"mediaType":"application/vnd.oci.empty.v1+json"},"annotations":{"a":"b"}}"#;
        let first = schema_index_with(None, sbom, &MediaType::OciManifest).unwrap();
        let listed = from_index(&first, &FoundBy::TagSchema("t".into())).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].digest, Digest::of(sbom));
        assert_eq!(listed[0].kind, ReferrerKind::Sbom);
        assert_eq!(listed[0].size, sbom.len() as u64);
        let again = schema_index_with(Some(&first), sbom, &MediaType::OciManifest).unwrap();
        assert_eq!(from_index(&again, &FoundBy::ReferrersApi).unwrap().len(), 1);
        let signature = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.dev.cosign.artifact.sig.v1+json"}}"#;
        let both = schema_index_with(Some(&again), signature, &MediaType::OciManifest).unwrap();
        assert_eq!(from_index(&both, &FoundBy::ReferrersApi).unwrap().len(), 2);
        assert!(schema_index_with(Some(b"[]"), sbom, &MediaType::OciManifest).is_err());
        assert!(schema_index_with(None, b"nope", &MediaType::OciManifest).is_err());
    }

    fn subject() -> Digest {
        Digest::of(b"image")
    }

    #[test]
    fn names_the_fallback_tags() {
        let hex = subject().hex().to_owned();
        assert_eq!(schema_tag(&subject()), format!("sha256-{hex}"));
        let tags = cosign_tags(&subject());
        assert_eq!(
            tags[0],
            (format!("sha256-{hex}.sig"), ReferrerKind::Signature)
        );
        assert_eq!(tags[2], (format!("sha256-{hex}.sbom"), ReferrerKind::Sbom));
    }

    #[test]
    fn tells_kinds_by_type() {
        let table = [
            (
                "application/vnd.dev.cosign.simplesigning.v1+json",
                ReferrerKind::Signature,
            ),
            (
                "application/vnd.cncf.notary.signature",
                ReferrerKind::Signature,
            ),
            ("text/spdx+json", ReferrerKind::Sbom),
            ("application/vnd.cyclonedx+json", ReferrerKind::Sbom),
            ("application/vnd.in-toto+json", ReferrerKind::Attestation),
            (
                "application/vnd.dsse.envelope.v1+json",
                ReferrerKind::Attestation,
            ),
            ("application/vnd.example.thing", ReferrerKind::Other),
        ];
        for (t, kind) in table {
            assert_eq!(ReferrerKind::of_type(t), kind, "{t}");
        }
    }

    #[test]
    fn sigstore_bundles_are_told_apart_by_their_predicate() {
        let bundle = "application/vnd.dev.sigstore.bundle.v0.3+json";
        let entry = |predicate: Option<&str>| {
            let annotations = predicate
                .map(|p| format!(r#","annotations":{{"{BUNDLE_PREDICATE_ANNOTATION}":"{p}"}}"#))
                .unwrap_or_default();
            format!(
                r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":1,"artifactType":"{bundle}"{annotations}}}"#,
                Digest::of(predicate.unwrap_or("none").as_bytes())
            )
        };
        let table = [
            (
                Some("https://sigstore.dev/cosign/sign/v1"),
                ReferrerKind::Signature,
            ),
            (Some("https://cyclonedx.org/bom"), ReferrerKind::Sbom),
            (Some("https://spdx.dev/Document"), ReferrerKind::Sbom),
            (
                Some("https://slsa.dev/provenance/v1"),
                ReferrerKind::Attestation,
            ),
            (None, ReferrerKind::Signature),
        ];
        for (predicate, kind) in table {
            let body = format!(r#"{{"manifests":[{}]}}"#, entry(predicate));
            let found = from_index(body.as_bytes(), &FoundBy::ReferrersApi).unwrap();
            assert_eq!(found[0].kind, kind, "{predicate:?}");
        }
    }

    #[test]
    fn reads_a_referrers_index() {
        let d = Digest::of(b"sbom manifest");
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
            {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{d}","size":512,"artifactType":"text/spdx+json"}}]}}"#
        );
        let found = from_index(body.as_bytes(), &FoundBy::ReferrersApi).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].digest, d);
        assert_eq!(found[0].kind, ReferrerKind::Sbom);
        assert_eq!(found[0].media_type, MediaType::OciManifest);
        assert!(from_index(b"{}", &FoundBy::ReferrersApi)
            .unwrap()
            .is_empty());
        assert!(from_index(b"not json", &FoundBy::ReferrersApi).is_err());
    }

    #[test]
    fn reads_a_cosign_manifest() {
        let layer = Digest::of(b"payload");
        let body = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{layer}","size":7}},
            "layers":[{{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":"{layer}","size":7}}]}}"#
        );
        let found = from_cosign_manifest(
            body.as_bytes(),
            MediaType::OciManifest,
            "sha256-x.sig",
            ReferrerKind::Other,
        )
        .unwrap();
        assert_eq!(found.kind, ReferrerKind::Signature);
        assert_eq!(found.digest, Digest::of(body.as_bytes()));
        let unknown = r#"{"layers":[{"mediaType":"application/octet-stream","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":1}]}"#;
        let found = from_cosign_manifest(
            unknown.as_bytes(),
            MediaType::OciManifest,
            "sha256-x.sbom",
            ReferrerKind::Sbom,
        )
        .unwrap();
        assert_eq!(found.kind, ReferrerKind::Sbom);
        assert_eq!(found.found_by, FoundBy::CosignTag("sha256-x.sbom".into()));
    }
}
