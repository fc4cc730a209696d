//! Reading an image archive the user picked, to push it: given where each file is in the tar
//! ([`crate::archive::tar_index`]), which images it holds and the blobs each needs, in either
//! layout:
//!
//! - an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`): `docker save` of
//!   Docker 25 and later, `skopeo copy … oci-archive:`, and Skiff's own archives. Manifests are
//!   pushed as their exact bytes.
//! - Docker's older `docker save` (`manifest.json` naming `<id>.json` configs and
//!   `<id>/layer.tar` layers): no registry manifest is inside, so one is made (Docker v2 schema
//!   2, uncompressed layers). Each layer's digest is its config's diff ID, so every blob is
//!   still checked against a digest while it is read.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::archive::tar_index::Member;
use crate::image::media_type::MediaType;
use crate::Digest;

/// Largest index, manifest or config read from an archive: as large as a registry accepts.
pub const MAX_DOCUMENT_MEMBER: u64 = 4 << 20;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    #[error("the file is not a tar archive (bad header at byte {offset}); pick a tar made by `docker save`, skopeo or Skiff")]
    NotTar { offset: u64 },
    #[error("the archive ends inside an entry at byte {offset}; the file is truncated")]
    Truncated { offset: u64 },
    #[error("the archive holds neither `index.json` (an OCI image layout) nor `manifest.json` (docker save); it is not an image archive")]
    NoImages,
    #[error("{file} is not valid: {reason}")]
    Malformed { file: String, reason: String },
    #[error("{file} names {missing}, which is not in the archive; the archive is incomplete")]
    Missing { file: String, missing: String },
    #[error("{0}")]
    Limit(#[from] crate::archive::tar_limits::TarLimitError),
    #[error("{file} is {size} bytes, more than the {limit} a manifest, index or config may have; the archive is not one Skiff can push")]
    MemberTooBig { file: String, size: u64, limit: u64 },
}

/// One blob to push: where it is in the archive and what it must hash to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobSource {
    pub digest: Digest,
    /// Its path in the archive, to name it in errors.
    pub path: String,
    pub member: Member,
}

/// One image of the archive, ready to push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchivedImage {
    /// The name it was saved as (`docker.io/library/busybox:1.36`), if any.
    pub name: Option<String>,
    /// The manifest's exact bytes and media type.
    pub manifest: Vec<u8>,
    pub media_type: MediaType,
    /// Config first, then the layers, in the manifest's order.
    pub blobs: Vec<BlobSource>,
    /// A manifest that refers to an image of the archive (a signature, an SBOM): pushed into
    /// that image's repository, after it.
    pub refers_to: Option<Referring>,
}

/// What a referrer refers to, and the tag it was saved under (cosign's `sha256-<hex>.sig`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Referring {
    pub subject: Digest,
    pub tag: Option<String>,
}

impl Referring {
    /// A manifest refers to an image by its `subject` (OCI 1.1), or by the cosign tag its
    /// index entry names (`sha256-<hex>.sig`, `.att`, `.sbom`).
    fn of(subject: Option<&Listed>, ref_name: Option<&str>) -> Option<Self> {
        let tag = ref_name
            .filter(|name| {
                let Some(rest) = name.strip_prefix("sha256-") else {
                    return false;
                };
                let (hex, suffix) = rest.split_at(rest.len().min(64));
                hex.len() == 64
                    && hex.bytes().all(|b| b.is_ascii_hexdigit())
                    && matches!(suffix, ".sig" | ".att" | ".sbom")
            })
            .map(str::to_owned);
        let subject = match (subject, &tag) {
            (Some(subject), _) => subject.digest.clone(),
            (None, Some(tag)) => format!("sha256:{}", &tag[7..71]).parse().ok()?,
            (None, None) => return None,
        };
        Some(Self { subject, tag })
    }
}

/// Which layout the archive has, and the small files the driver must read to see its images.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    Oci,
    DockerSave,
}

impl Layout {
    /// `index.json` wins over `manifest.json` (Skiff's and new docker's archives have both).
    pub fn of(members: &BTreeMap<String, Member>) -> Result<Self, ArchiveError> {
        if members.contains_key("index.json") {
            Ok(Self::Oci)
        } else if members.contains_key("manifest.json") {
            Ok(Self::DockerSave)
        } else {
            Err(ArchiveError::NoImages)
        }
    }
}

/// Where a `blobs/sha256/<hex>` file is.
pub fn blob_member<'a>(
    members: &'a BTreeMap<String, Member>,
    digest: &Digest,
) -> Option<&'a Member> {
    members.get(&format!("blobs/sha256/{}", digest.hex()))
}

#[derive(Deserialize)]
struct SavedImage {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

#[derive(Deserialize)]
struct DiffIds {
    rootfs: RootFs,
}

#[derive(Deserialize)]
struct RootFs {
    diff_ids: Vec<Digest>,
}

/// Docker's older `docker save`: the images of its `manifest.json`, each with a v2s2 manifest
/// made from the config (`read` gives a member's bytes: the configs are small).
pub fn docker_save_images(
    members: &BTreeMap<String, Member>,
    manifest_json: &[u8],
    mut read: impl FnMut(&Member) -> Vec<u8>,
) -> Result<Vec<ArchivedImage>, ArchiveError> {
    let malformed = |file: &str, reason: String| ArchiveError::Malformed {
        file: file.to_owned(),
        reason,
    };
    let saved: Vec<SavedImage> = serde_json::from_slice(manifest_json)
        .map_err(|e| malformed("manifest.json", e.to_string()))?;
    let member = |path: &str| {
        members.get(path).cloned().ok_or(ArchiveError::Missing {
            file: "manifest.json".to_owned(),
            missing: path.to_owned(),
        })
    };
    let mut images = Vec::new();
    for image in saved {
        let config_member = member(&image.config)?;
        let config = read(&config_member);
        let diff_ids: DiffIds =
            serde_json::from_slice(&config).map_err(|e| malformed(&image.config, e.to_string()))?;
        let diff_ids = diff_ids.rootfs.diff_ids;
        if diff_ids.len() != image.layers.len() {
            return Err(malformed(
                &image.config,
                format!(
                    "it lists {} layers, manifest.json {}",
                    diff_ids.len(),
                    image.layers.len()
                ),
            ));
        }
        let config_digest = Digest::of(&config);
        let mut blobs = vec![BlobSource {
            digest: config_digest.clone(),
            path: image.config.clone(),
            member: config_member.clone(),
        }];
        let mut layers = Vec::new();
        for (path, diff_id) in image.layers.iter().zip(diff_ids) {
            let layer = member(path)?;
            layers.push(serde_json::json!({
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar",
                "size": layer.size,
                "digest": diff_id.to_string(),
            }));
            blobs.push(BlobSource {
                digest: diff_id,
                path: path.clone(),
                member: layer,
            });
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": config_member.size,
                "digest": config_digest.to_string(),
            },
            "layers": layers,
        });
        images.push(ArchivedImage {
            name: image.repo_tags.and_then(|tags| tags.into_iter().next()),
            manifest: serde_json::to_vec(&manifest).expect("JSON values serialize"),
            media_type: MediaType::DockerManifest,
            blobs,
            refers_to: None,
        });
    }
    Ok(images)
}

#[derive(Deserialize)]
struct Listed {
    #[serde(
        rename = "mediaType",
        default,
        deserialize_with = "MediaType::deserialize_lenient"
    )]
    media_type: MediaType,
    digest: Digest,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct ListedIndex {
    /// Docker 25 writes `null` for an untagged image's save (its `manifest.json` has it).
    #[serde(default, deserialize_with = "null_as_empty")]
    manifests: Vec<Listed>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// What a manifest says it is, read before committing to a shape: its own `mediaType`, and
/// whether it lists manifests (an index) or a config (an image).
#[derive(Deserialize)]
struct Shape {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    manifests: Option<serde::de::IgnoredAny>,
    config: Option<serde::de::IgnoredAny>,
    subject: Option<Listed>,
}

#[derive(Deserialize)]
struct BlobList {
    config: Listed,
    #[serde(default)]
    layers: Vec<Listed>,
}

/// An OCI image layout's images: each image manifest `index.json` lists (through nested
/// indexes too), pushed as its exact bytes with its config and layers.
pub fn oci_images(
    members: &BTreeMap<String, Member>,
    index_json: &[u8],
    mut read: impl FnMut(&Member) -> Vec<u8>,
) -> Result<Vec<ArchivedImage>, ArchiveError> {
    let malformed = |file: &str, reason: String| ArchiveError::Malformed {
        file: file.to_owned(),
        reason,
    };
    let blob = |file: &str, digest: &Digest| {
        blob_member(members, digest)
            .cloned()
            .ok_or(ArchiveError::Missing {
                file: file.to_owned(),
                missing: format!("blobs/sha256/{}", digest.hex()),
            })
    };
    let top: ListedIndex =
        serde_json::from_slice(index_json).map_err(|e| malformed("index.json", e.to_string()))?;
    let mut pending: Vec<(Listed, Option<String>)> = top
        .manifests
        .into_iter()
        .map(|d| {
            let name = image_name(&d.annotations);
            (d, name)
        })
        .collect();
    let mut images = Vec::new();
    while let Some((descriptor, name)) = pending.pop() {
        let file = format!("blobs/sha256/{}", descriptor.digest.hex());
        let bytes = read(&blob("index.json", &descriptor.digest)?);
        if Digest::of(&bytes) != descriptor.digest {
            return Err(malformed(
                &file,
                "its bytes do not hash to its name".to_owned(),
            ));
        }
        let shape: Shape =
            serde_json::from_slice(&bytes).map_err(|e| malformed(&file, e.to_string()))?;
        let own = shape.media_type.as_deref().map(MediaType::lenient);
        let is_index = match &own {
            Some(own) => own.is_index(),
            None => {
                shape.manifests.is_some()
                    || (shape.config.is_none() && descriptor.media_type.is_index())
            }
        };
        if is_index {
            let nested: ListedIndex =
                serde_json::from_slice(&bytes).map_err(|e| malformed(&file, e.to_string()))?;
            pending.extend(nested.manifests.into_iter().map(|d| (d, name.clone())));
            continue;
        }
        let listed: BlobList =
            serde_json::from_slice(&bytes).map_err(|e| malformed(&file, e.to_string()))?;
        let mut blobs = Vec::new();
        for d in std::iter::once(&listed.config).chain(&listed.layers) {
            blobs.push(BlobSource {
                digest: d.digest.clone(),
                path: format!("blobs/sha256/{}", d.digest.hex()),
                member: blob(&file, &d.digest)?,
            });
        }
        let ref_name = descriptor
            .annotations
            .get("org.opencontainers.image.ref.name")
            .map(String::as_str);
        let refers_to = Referring::of(shape.subject.as_ref(), ref_name);
        images.push(ArchivedImage {
            // A referrer is named by what it refers to, not by a name of its own.
            name: name.filter(|_| refers_to.is_none()),
            refers_to,
            // The manifest's own type, as a registry checks it against the body: an index
            // entry may say otherwise (and is wrong then).
            media_type: match (own, descriptor.media_type) {
                (Some(own), _) => own,
                (None, listed) if listed.is_image_manifest() => listed,
                (None, _) => MediaType::OciManifest,
            },
            manifest: bytes,
            blobs,
        });
    }
    images.reverse();
    Ok(images)
}

/// The name an OCI layout gives an image: containerd's full name, else the ref name when it is
/// a full name. A ref name is often a tag alone (`1`, `latest`: skopeo and podman write what
/// they were given), which names no repository.
fn image_name(annotations: &BTreeMap<String, String>) -> Option<String> {
    annotations
        .get("io.containerd.image.name")
        .or_else(|| {
            annotations
                .get("org.opencontainers.image.ref.name")
                .filter(|name| name.contains('/') || name.contains(':') || name.contains('@'))
        })
        .cloned()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::archive::read_images::archive_images;
    use crate::archive::tar_index::TarIndex;

    #[test]
    fn a_referrer_is_told_by_its_subject_or_its_cosign_tag() {
        let hex = "a".repeat(64);
        let subject: Listed = serde_json::from_str(&format!(
            r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{}","size":1}}"#,
            "b".repeat(64)
        ))
        .unwrap();
        let (sig, att) = (format!("sha256-{hex}.sig"), format!("sha256-{hex}.att"));
        let from_tag = |tag: &str| Some((format!("sha256:{hex}"), Some(tag.to_owned())));
        let by_subject = Some((format!("sha256:{}", "b".repeat(64)), None));
        let bad_suffix = format!("sha256-{hex}.txt");
        let table = [
            (None, None, None),
            (None, Some("latest"), None),
            (None, Some(sig.as_str()), from_tag(&sig)),
            (None, Some(att.as_str()), from_tag(&att)),
            (None, Some(bad_suffix.as_str()), None),
            (None, Some("sha256-abc.sig"), None),
            (Some(&subject), None, by_subject),
        ];
        for (subject, ref_name, expected) in table {
            let got = Referring::of(subject, ref_name).map(|r| (r.subject.to_string(), r.tag));
            assert_eq!(got, expected, "{ref_name:?}");
        }
    }

    /// A tar of regular files.
    pub(crate) fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        tar_with_links(files, &[])
    }

    fn index(bytes: &[u8]) -> Result<TarIndex, ArchiveError> {
        let mut index = TarIndex::new(bytes.len() as u64);
        while let Some((offset, length)) = index.poll_read() {
            let end = (offset + length).min(bytes.len() as u64);
            index.handle_bytes(&bytes[offset as usize..end as usize])?;
        }
        Ok(index)
    }

    #[test]
    fn indexes_members_long_names_included() {
        let long = format!("blobs/sha256/{}", "a".repeat(120));
        let bytes = tar_of(&[
            ("index.json", b"{}"),
            (&long, b"data"),
            ("./oci-layout", b"x"),
        ]);
        let index = index(&bytes).unwrap();
        let member = &index.members()[&long];
        assert_eq!(&bytes[member.offset as usize..][..4], b"data");
        assert_eq!(index.members()["oci-layout"].size, 1);
        assert_eq!(Layout::of(&index.members()), Ok(Layout::Oci));
    }

    #[test]
    fn refuses_what_is_not_a_whole_tar() {
        assert_eq!(
            index(&[7u8; 1024]).unwrap_err(),
            ArchiveError::NotTar { offset: 0 }
        );
        let bytes = tar_of(&[("manifest.json", &[1u8; 2000])]);
        assert!(matches!(
            index(&bytes[..1024]),
            Err(ArchiveError::Truncated { .. })
        ));
        assert_eq!(Layout::of(&BTreeMap::new()), Err(ArchiveError::NoImages));
    }

    #[test]
    fn makes_manifests_for_old_docker_save_archives() {
        let layer = b"layer tar bytes";
        let diff_id = Digest::of(layer);
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#
        );
        let manifest_json =
            br#"[{"Config":"c0ffee.json","RepoTags":["busybox:1.36"],"Layers":["abc/layer.tar"]}]"#;
        let bytes = tar_of(&[
            ("manifest.json", manifest_json),
            ("c0ffee.json", config.as_bytes()),
            ("abc/layer.tar", layer),
        ]);
        let index = index(&bytes).unwrap();
        assert_eq!(Layout::of(&index.members()), Ok(Layout::DockerSave));
        let read = |m: &Member| bytes[m.offset as usize..(m.offset + m.size) as usize].to_vec();
        let images = docker_save_images(&index.members(), manifest_json, read).unwrap();
        assert_eq!(images.len(), 1);
        let image = &images[0];
        assert_eq!(image.name.as_deref(), Some("busybox:1.36"));
        assert_eq!(image.blobs[0].digest, Digest::of(config.as_bytes()));
        assert_eq!(image.blobs[1].digest, diff_id);
        let manifest: serde_json::Value = serde_json::from_slice(&image.manifest).unwrap();
        assert_eq!(manifest["layers"][0]["size"], layer.len());
        assert_eq!(
            manifest["config"]["digest"],
            Digest::of(config.as_bytes()).to_string()
        );

        let missing = br#"[{"Config":"c0ffee.json","Layers":["gone/layer.tar"]}]"#;
        let read = |m: &Member| bytes[m.offset as usize..(m.offset + m.size) as usize].to_vec();
        assert_eq!(
            docker_save_images(&index.members(), missing, read),
            Err(ArchiveError::Missing {
                file: "manifest.json".into(),
                missing: "gone/layer.tar".into()
            })
        );
    }

    #[test]
    fn reads_oci_layouts_through_nested_indexes() {
        let config = br#"{"rootfs":{"type":"layers","diff_ids":[]}}"#;
        let layer = b"gzip bytes";
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":{}}}]}}"#,
            Digest::of(config),
            config.len(),
            Digest::of(layer),
            layer.len()
        );
        let nested = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{}}}]}}"#,
            Digest::of(manifest.as_bytes()),
            manifest.len()
        );
        let index_json = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"{}","size":{},"annotations":{{"io.containerd.image.name":"docker.io/library/app:1"}}}}]}}"#,
            Digest::of(nested.as_bytes()),
            nested.len()
        );
        let path = |bytes: &[u8]| format!("blobs/sha256/{}", Digest::of(bytes).hex());
        let (p1, p2, p3, p4) = (
            path(config),
            path(layer),
            path(manifest.as_bytes()),
            path(nested.as_bytes()),
        );
        let bytes = tar_of(&[
            ("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#),
            ("index.json", index_json.as_bytes()),
            (&p1, config),
            (&p2, layer),
            (&p3, manifest.as_bytes()),
            (&p4, nested.as_bytes()),
        ]);
        let index = index(&bytes).unwrap();
        let read = |m: &Member| bytes[m.offset as usize..(m.offset + m.size) as usize].to_vec();
        let images = oci_images(&index.members(), index_json.as_bytes(), read).unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].name.as_deref(), Some("docker.io/library/app:1"));
        assert_eq!(images[0].manifest, manifest.as_bytes());
        assert_eq!(
            images[0]
                .blobs
                .iter()
                .map(|b| b.digest.clone())
                .collect::<Vec<_>>(),
            [Digest::of(config), Digest::of(layer)]
        );
        // A blob missing from the layout is named.
        let without_layer = tar_of(&[
            ("index.json", index_json.as_bytes()),
            (&p1, config),
            (&p3, manifest.as_bytes()),
            (&p4, nested.as_bytes()),
        ]);
        let index = super::tests::index(&without_layer).unwrap();
        let read =
            |m: &Member| without_layer[m.offset as usize..(m.offset + m.size) as usize].to_vec();
        assert!(matches!(
            oci_images(&index.members(), index_json.as_bytes(), read),
            Err(ArchiveError::Missing { missing, .. }) if missing == p2
        ));
    }

    /// A tar with regular files and links (`(path, kind, target)`: `b'1'` a hard link, else a
    /// symlink).
    fn tar_with_links(files: &[(&str, &[u8])], links: &[(&str, u8, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            builder.append_data(&mut header, path, *data).unwrap();
        }
        for (path, kind, target) in links {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(if *kind == b'1' {
                tar::EntryType::Link
            } else {
                tar::EntryType::Symlink
            });
            header.set_size(0);
            builder.append_link(&mut header, path, target).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn read_from(bytes: &[u8]) -> impl FnMut(&Member) -> Vec<u8> + '_ {
        |m: &Member| bytes[m.offset as usize..(m.offset + m.size) as usize].to_vec()
    }

    #[test]
    fn a_layer_two_images_share_may_be_a_link() {
        let layer = b"shared layer tar";
        let diff_id = Digest::of(layer);
        let config = |arch: &str| {
            format!(
                r#"{{"architecture":"{arch}","rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#
            )
        };
        let (one, two) = (config("amd64"), config("arm64"));
        let manifest_json = br#"[{"Config":"one.json","RepoTags":["a:1"],"Layers":["aaa/layer.tar"]},{"Config":"two.json","RepoTags":["b:1"],"Layers":["bbb/layer.tar"]},{"Config":"two.json","RepoTags":["c:1"],"Layers":["ccc/layer.tar"]}]"#;
        let bytes = tar_with_links(
            &[
                ("manifest.json", manifest_json),
                ("one.json", one.as_bytes()),
                ("two.json", two.as_bytes()),
                ("aaa/layer.tar", layer),
            ],
            // Older docker: a symlink from the second image's folder; a hard link too.
            &[
                ("bbb/layer.tar", b'2', "../aaa/layer.tar"),
                ("ccc/layer.tar", b'1', "aaa/layer.tar"),
                ("loop/a", b'2', "b"),
                ("loop/b", b'2', "a"),
            ],
        );
        let index = index(&bytes).unwrap();
        let members = index.members();
        assert_eq!(members["bbb/layer.tar"], members["aaa/layer.tar"]);
        assert_eq!(members["ccc/layer.tar"], members["aaa/layer.tar"]);
        assert!(!members.contains_key("loop/a"));
        let images = archive_images(&members, read_from(&bytes)).unwrap();
        assert_eq!(images.len(), 3);
        assert!(images.iter().all(|i| i.blobs[1].digest == diff_id));
    }

    #[test]
    fn an_untagged_docker_25_save_is_read_from_its_manifest_json() {
        let layer = b"layer";
        let config = format!(
            r#"{{"rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
            Digest::of(layer)
        );
        let path = |bytes: &[u8]| format!("blobs/sha256/{}", Digest::of(bytes).hex());
        let (config_path, layer_path) = (path(config.as_bytes()), path(layer));
        let manifest_json =
            format!(r#"[{{"Config":"{config_path}","RepoTags":null,"Layers":["{layer_path}"]}}]"#);
        let bytes = tar_of(&[
            ("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#),
            ("index.json", br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":null}"#),
            ("manifest.json", manifest_json.as_bytes()),
            (&config_path, config.as_bytes()),
            (&layer_path, layer),
        ]);
        let members = index(&bytes).unwrap().members();
        let images = archive_images(&members, read_from(&bytes)).unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].name, None);
        assert_eq!(images[0].blobs[0].digest, Digest::of(config.as_bytes()));

        let empty = tar_of(&[("index.json", br#"{"schemaVersion":2,"manifests":null}"#)]);
        let members = index(&empty).unwrap().members();
        assert!(matches!(
            archive_images(&members, read_from(&empty)),
            Err(ArchiveError::Malformed { file, .. }) if file == "index.json"
        ));
    }

    #[test]
    fn a_manifest_is_pushed_with_its_own_media_type_and_a_bare_ref_name_names_no_repository() {
        let config = br#"{"rootfs":{"type":"layers","diff_ids":[]}}"#;
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{}","size":{}}},"layers":[]}}"#,
            Digest::of(config),
            config.len()
        );
        let entry = |ref_name: &str| {
            format!(
                r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"{ref_name}"}}}}"#,
                Digest::of(manifest.as_bytes()),
                manifest.len()
            )
        };
        let index_json = format!(
            r#"{{"schemaVersion":2,"manifests":[{},{}]}}"#,
            entry("1"),
            entry("registry.example/team/app:2")
        );
        let path = |bytes: &[u8]| format!("blobs/sha256/{}", Digest::of(bytes).hex());
        let bytes = tar_of(&[
            ("index.json", index_json.as_bytes()),
            (&path(config), config),
            (&path(manifest.as_bytes()), manifest.as_bytes()),
        ]);
        let members = index(&bytes).unwrap().members();
        let images = archive_images(&members, read_from(&bytes)).unwrap();
        assert_eq!(images.len(), 2);
        assert!(images
            .iter()
            .all(|i| i.media_type == MediaType::DockerManifest));
        assert_eq!(images[0].name, None);
        assert_eq!(
            images[1].name.as_deref(),
            Some("registry.example/team/app:2")
        );
    }
}
