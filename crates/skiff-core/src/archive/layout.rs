//! The archive `docker load` and `podman load` accept: Docker's classic `manifest.json` (+
//! `repositories`) and an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`)
//! in one tar, with `manifest.json` pointing into `blobs/` as Docker ≥ 25's `docker save` does.
//! Old and new Docker read `manifest.json`; podman and skopeo read the OCI layout.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::archive::tar_parts::{Part, TarBuilder};
use crate::image::manifest::Descriptor;
use crate::image::media_type::MediaType;
use crate::transfer::layer::UnpackedLayer;
use crate::{Digest, Error, Reference};

/// One pulled image, verified, ready to be archived.
#[derive(Clone, Debug)]
pub struct ArchiveImage {
    pub reference: Reference,
    /// The single-platform manifest, byte for byte as served.
    pub manifest: Vec<u8>,
    pub manifest_media_type: MediaType,
    /// The config blob, byte for byte.
    pub config: Vec<u8>,
    /// Layers as the manifest lists them; their bytes are staged by the driver.
    pub layers: Vec<Descriptor>,
}

/// A manifest that refers to an image (a signature, an SBOM, an attestation), carried in the
/// archive's OCI layout beside it: its bytes, its config's and layers' bytes (documents, all
/// small), and the tag it was found under, if any (cosign's `sha256-<hex>.sig`), kept as the
/// index entry's `org.opencontainers.image.ref.name` so a push can tag it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachedManifest {
    pub manifest: Vec<u8>,
    pub media_type: MediaType,
    pub blobs: Vec<Vec<u8>>,
    pub tag: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    repo_tags: Vec<String>,
    layers: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OciIndex {
    schema_version: u32,
    media_type: MediaType,
    manifests: Vec<OciIndexEntry>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OciIndexEntry {
    media_type: MediaType,
    digest: Digest,
    size: u64,
    annotations: BTreeMap<&'static str, String>,
}

/// Path of a blob inside the archive.
pub fn blob_path(digest: &Digest) -> String {
    format!("blobs/sha256/{}", digest.hex())
}

/// Lays out `images` as tar parts. Blobs shared between images (or repeated in one) are written
/// once. `mtime` dates the entries.
pub fn docker_archive(images: &[ArchiveImage], mtime: u64) -> Result<Vec<Part>, Error> {
    archive_with(images, &[], mtime, true, false)
}

/// The docker-load archive of a bundle: also `images.txt`, a plain list of what it holds, one
/// image a line with its manifest's digest (loaders ignore the file).
pub fn bundle_archive(images: &[ArchiveImage], mtime: u64) -> Result<Vec<Part>, Error> {
    archive_with(images, &[], mtime, true, true)
}

/// The docker-load archive with manifests that refer to its images in its OCI layout (loaders
/// read the images from `manifest.json` and leave the rest; `oras` and a push read them).
pub fn archive_with_referrers(
    images: &[ArchiveImage],
    attached: &[AttachedManifest],
    mtime: u64,
    list: bool,
) -> Result<Vec<Part>, Error> {
    archive_with(images, attached, mtime, true, list)
}

/// `reference  sha256:…` per image, with a header saying what the columns are.
pub fn contents_list(images: &[ArchiveImage]) -> String {
    let mut text = String::from(
        "# The images of this archive: reference, then the digest of the manifest saved for it.\n",
    );
    for image in images {
        text.push_str(&format!(
            "{}  {}\n",
            image.reference,
            Digest::of(&image.manifest)
        ));
    }
    text
}

/// The OCI image layout alone, for what `docker load` cannot load (an artifact that is no
/// image): `skopeo copy oci-archive:` and `oras` read it.
pub fn oci_layout_archive(images: &[ArchiveImage], mtime: u64) -> Result<Vec<Part>, Error> {
    archive_with(images, &[], mtime, false, false)
}

fn archive_with(
    images: &[ArchiveImage],
    attached: &[AttachedManifest],
    mtime: u64,
    docker: bool,
    list: bool,
) -> Result<Vec<Part>, Error> {
    let mut tar = TarBuilder::new(mtime);
    tar.append_dir("blobs/")?;
    tar.append_dir("blobs/sha256/")?;

    let mut written = BTreeSet::new();
    let mut docker_manifest = Vec::new();
    let mut index_entries = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();

    for image in images {
        for layer in &image.layers {
            if written.insert(layer.digest.clone()) {
                tar.append_blob(&blob_path(&layer.digest), &layer.digest, layer.size)?;
            }
        }
        let config_digest = Digest::of(&image.config);
        if written.insert(config_digest.clone()) {
            tar.append_data(&blob_path(&config_digest), &image.config)?;
        }
        let manifest_digest = Digest::of(&image.manifest);
        if written.insert(manifest_digest.clone()) {
            tar.append_data(&blob_path(&manifest_digest), &image.manifest)?;
        }

        let repo_tags: Vec<String> = image.reference.repo_tag().into_iter().collect();
        docker_manifest.push(DockerManifestEntry {
            config: blob_path(&config_digest),
            repo_tags,
            layers: image.layers.iter().map(|l| blob_path(&l.digest)).collect(),
        });

        let mut annotations = BTreeMap::new();
        annotations.insert("io.containerd.image.name", image.reference.to_string());
        if let Some(tag) = image.reference.tag() {
            annotations.insert("org.opencontainers.image.ref.name", tag.to_owned());
            if let Some(top) = image.layers.last() {
                repositories
                    .entry(image.reference.familiar_name())
                    .or_default()
                    .insert(tag.to_owned(), top.digest.hex().to_owned());
            }
        }
        index_entries.push(OciIndexEntry {
            media_type: image.manifest_media_type.clone(),
            digest: manifest_digest,
            size: image.manifest.len() as u64,
            annotations,
        });
    }

    for extra in attached {
        for blob in extra.blobs.iter().chain(std::iter::once(&extra.manifest)) {
            let digest = Digest::of(blob);
            if written.insert(digest.clone()) {
                tar.append_data(&blob_path(&digest), blob)?;
            }
        }
        let mut annotations = BTreeMap::new();
        if let Some(tag) = &extra.tag {
            annotations.insert("org.opencontainers.image.ref.name", tag.clone());
        }
        index_entries.push(OciIndexEntry {
            media_type: extra.media_type.clone(),
            digest: Digest::of(&extra.manifest),
            size: extra.manifest.len() as u64,
            annotations,
        });
    }

    let index = OciIndex {
        schema_version: 2,
        media_type: MediaType::OciIndex,
        manifests: index_entries,
    };
    tar.append_data("index.json", &to_json(&index))?;
    if docker {
        tar.append_data("manifest.json", &to_json(&docker_manifest))?;
    }
    tar.append_data("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    if docker && !repositories.is_empty() {
        tar.append_data("repositories", &to_json(&repositories))?;
    }
    if list {
        tar.append_data("images.txt", contents_list(images).as_bytes())?;
    }
    Ok(tar.finish())
}

/// The manifest rewritten for layers stored uncompressed: each layer in `unpacked` (by its
/// compressed digest) gets its diff ID, uncompressed size and the plain-tar media type of the
/// manifest's family; foreign layers become ordinary ones, since their bytes are now in the
/// archive. Returns the new manifest bytes and the new layer descriptors.
pub fn uncompressed_manifest(
    manifest: &[u8],
    manifest_media_type: &MediaType,
    unpacked: &BTreeMap<Digest, UnpackedLayer>,
) -> Result<(Vec<u8>, Vec<Descriptor>), Error> {
    let malformed = |reason: String| Error::MalformedJson {
        what: "manifest",
        reason,
    };
    let mut value: serde_json::Value =
        serde_json::from_slice(manifest).map_err(|e| malformed(e.to_string()))?;
    let plain_type = if *manifest_media_type == MediaType::DockerManifest {
        MediaType::DockerLayer
    } else {
        MediaType::OciLayer
    };
    let layers = value["layers"]
        .as_array_mut()
        .ok_or_else(|| malformed("no layers array".to_owned()))?;
    let mut descriptors = Vec::with_capacity(layers.len());
    for layer in layers.iter_mut() {
        let mut descriptor: Descriptor =
            serde_json::from_value(layer.clone()).map_err(|e| malformed(e.to_string()))?;
        if let Some(unpacked) = unpacked.get(&descriptor.digest) {
            descriptor.media_type = plain_type.clone();
            descriptor.digest = unpacked.diff_id.clone();
            descriptor.size = unpacked.size;
            descriptor.urls = None;
            let object = layer
                .as_object_mut()
                .ok_or_else(|| malformed("a layer is not an object".to_owned()))?;
            object.insert("mediaType".to_owned(), plain_type.as_str().into());
            object.insert("digest".to_owned(), unpacked.diff_id.to_string().into());
            object.insert("size".to_owned(), unpacked.size.into());
            object.remove("urls");
        }
        descriptors.push(descriptor);
    }
    let bytes = serde_json::to_vec(&value).map_err(|e| malformed(e.to_string()))?;
    Ok((bytes, descriptors))
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing these plain structs cannot fail.
    serde_json::to_vec(value).expect("archive metadata serializes")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::archive::tar_parts::tests::{assemble, read_entries};

    fn layer(bytes: &[u8]) -> (Descriptor, Vec<u8>) {
        (
            Descriptor {
                media_type: MediaType::DockerLayerGzip,
                digest: Digest::of(bytes),
                size: bytes.len() as u64,
                urls: None,
                annotations: None,
                platform: None,
            },
            bytes.to_vec(),
        )
    }

    fn image(reference: &str, layers: &[(Descriptor, Vec<u8>)], config: &[u8]) -> ArchiveImage {
        ArchiveImage {
            reference: reference.parse().unwrap(),
            manifest: format!("{{\"manifest-of\":\"{reference}\"}}").into_bytes(),
            manifest_media_type: MediaType::DockerManifest,
            config: config.to_vec(),
            layers: layers.iter().map(|(d, _)| d.clone()).collect(),
        }
    }

    #[test]
    fn a_bundle_lists_its_images_and_an_artifact_layout_has_no_docker_manifest() {
        let base = layer(&[1u8; 700]);
        let blobs: HashMap<Digest, Vec<u8>> = [(base.0.digest.clone(), base.1.clone())]
            .into_iter()
            .collect();
        let images = [
            image("busybox", std::slice::from_ref(&base), b"{}"),
            image("r.io/app:2", std::slice::from_ref(&base), b"{\"a\":1}"),
        ];
        let by_name = |parts: &[Part]| -> HashMap<String, Vec<u8>> {
            read_entries(&assemble(parts, &blobs))
                .into_iter()
                .map(|(name, _, bytes)| (name, bytes))
                .collect()
        };
        let entries = by_name(&bundle_archive(&images, 0).unwrap());
        let list = String::from_utf8(entries["images.txt"].clone()).unwrap();
        let lines: Vec<&str> = list.lines().skip(1).collect();
        assert_eq!(
            lines,
            [
                format!(
                    "docker.io/library/busybox:latest  {}",
                    Digest::of(&images[0].manifest)
                ),
                format!("r.io/app:2  {}", Digest::of(&images[1].manifest)),
            ]
        );
        assert!(entries.contains_key("manifest.json"));
        let layout = by_name(&oci_layout_archive(&images[..1], 0).unwrap());
        assert!(layout.contains_key("index.json") && layout.contains_key("oci-layout"));
        assert!(!layout.contains_key("manifest.json") && !layout.contains_key("repositories"));
        assert!(!layout.contains_key("images.txt"));

        // A signature travels in the OCI layout: its blobs, its manifest, its tag.
        let signature = AttachedManifest {
            manifest: b"{\"signature-manifest\":1}".to_vec(),
            media_type: MediaType::OciManifest,
            blobs: vec![b"{}".to_vec(), b"payload".to_vec()],
            tag: Some("sha256-abc.sig".into()),
        };
        let parts =
            archive_with_referrers(&images[..1], std::slice::from_ref(&signature), 0, false)
                .unwrap();
        let entries = by_name(&parts);
        for blob in [&signature.manifest, &b"payload".to_vec()] {
            assert_eq!(&entries[&blob_path(&Digest::of(blob))], blob);
        }
        let index: serde_json::Value = serde_json::from_slice(&entries["index.json"]).unwrap();
        let listed = &index["manifests"][1];
        assert_eq!(
            listed["digest"],
            Digest::of(&signature.manifest).to_string()
        );
        assert_eq!(
            listed["annotations"]["org.opencontainers.image.ref.name"],
            "sha256-abc.sig"
        );
        let docker: serde_json::Value = serde_json::from_slice(&entries["manifest.json"]).unwrap();
        assert_eq!(
            docker.as_array().unwrap().len(),
            1,
            "docker loads the image only"
        );
    }

    #[test]
    fn writes_docker_and_oci_layouts_with_shared_blobs_once() {
        let base = layer(&[1u8; 700]);
        let top_a = layer(b"layer a");
        let top_b = layer(b"layer b");
        let blobs: HashMap<Digest, Vec<u8>> = [&base, &top_a, &top_b]
            .into_iter()
            .map(|(d, b)| (d.digest.clone(), b.clone()))
            .collect();
        let images = [
            image(
                "busybox",
                &[base.clone(), top_a.clone(), base.clone()],
                b"{\"config\":\"a\"}",
            ),
            image(
                "localhost:5000/team/app:v2",
                &[base.clone(), top_b.clone()],
                b"{\"config\":\"b\"}",
            ),
        ];
        let parts = docker_archive(&images, 0).unwrap();
        let entries = read_entries(&assemble(&parts, &blobs));
        let names: Vec<&str> = entries.iter().map(|(n, _, _)| n.as_str()).collect();
        let blob_names: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| n.starts_with("blobs/sha256/") && n.len() > 13)
            .collect();
        // 3 layers + 2 configs + 2 manifests, each once.
        assert_eq!(blob_names.len(), 7, "{names:?}");
        let unique: BTreeSet<&str> = blob_names.iter().copied().collect();
        assert_eq!(unique.len(), 7);
        for (path, _, data) in &entries {
            if let Some(hex) = path.strip_prefix("blobs/sha256/").filter(|h| !h.is_empty()) {
                assert_eq!(Digest::of(data).hex(), hex, "{path} holds other bytes");
            }
        }
        let file = |name: &str| -> serde_json::Value {
            let (_, _, data) = entries.iter().find(|(n, _, _)| n == name).unwrap();
            serde_json::from_slice(data).unwrap()
        };

        let manifest = file("manifest.json");
        assert_eq!(
            manifest[0]["RepoTags"],
            serde_json::json!(["busybox:latest"])
        );
        assert_eq!(
            manifest[0]["Config"],
            blob_path(&Digest::of(b"{\"config\":\"a\"}"))
        );
        assert_eq!(
            manifest[0]["Layers"],
            serde_json::json!([
                blob_path(&base.0.digest),
                blob_path(&top_a.0.digest),
                blob_path(&base.0.digest)
            ])
        );
        assert_eq!(
            manifest[1]["RepoTags"],
            serde_json::json!(["localhost:5000/team/app:v2"])
        );

        let index = file("index.json");
        assert_eq!(index["schemaVersion"], 2);
        let entry = &index["manifests"][0];
        assert_eq!(entry["mediaType"], MediaType::DockerManifest.as_str());
        assert_eq!(entry["digest"], Digest::of(&images[0].manifest).to_string());
        assert_eq!(entry["size"], images[0].manifest.len());
        assert_eq!(
            entry["annotations"]["io.containerd.image.name"],
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            entry["annotations"]["org.opencontainers.image.ref.name"],
            "latest"
        );
        assert_eq!(file("oci-layout")["imageLayoutVersion"], "1.0.0");
        assert_eq!(
            file("repositories")["busybox"]["latest"],
            base.0.digest.hex()
        );
    }

    #[test]
    fn rewrites_manifests_for_uncompressed_layers() {
        let gz = Digest::of(b"gz");
        let foreign = Digest::of(b"foreign");
        let kept = Digest::of(b"kept");
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","digest":"{}","size":2}},"layers":[
            {{"mediaType":"{}","digest":"{gz}","size":10}},
            {{"mediaType":"{}","digest":"{foreign}","size":20,"urls":["https://x/y"]}},
            {{"mediaType":"{}","digest":"{kept}","size":30}}]}}"#,
            MediaType::DockerManifest.as_str(),
            MediaType::DockerConfig.as_str(),
            Digest::of(b"{}"),
            MediaType::DockerLayerGzip.as_str(),
            MediaType::DockerForeignLayerGzip.as_str(),
            MediaType::DockerLayer.as_str(),
        );
        let unpacked: BTreeMap<Digest, UnpackedLayer> = [
            (
                gz.clone(),
                UnpackedLayer {
                    diff_id: Digest::of(b"gz-raw"),
                    size: 100,
                },
            ),
            (
                foreign.clone(),
                UnpackedLayer {
                    diff_id: Digest::of(b"foreign-raw"),
                    size: 200,
                },
            ),
        ]
        .into();
        let (bytes, layers) =
            uncompressed_manifest(manifest.as_bytes(), &MediaType::DockerManifest, &unpacked)
                .unwrap();
        let (parsed, media) = crate::image::manifest::Manifest::parse(None, &bytes).unwrap();
        assert_eq!(media, MediaType::DockerManifest);
        let crate::image::manifest::Manifest::Image(image) = parsed else {
            panic!("an image")
        };
        assert_eq!(image.layers, layers);
        assert_eq!(layers[0].digest, Digest::of(b"gz-raw"));
        assert_eq!(layers[0].size, 100);
        assert_eq!(layers[0].media_type, MediaType::DockerLayer);
        assert_eq!(layers[1].urls, None);
        assert_eq!(layers[1].media_type, MediaType::DockerLayer);
        assert_eq!(layers[2].digest, kept);
        assert_eq!(layers[2].size, 30);
        let oci = manifest.replace(
            MediaType::DockerManifest.as_str(),
            MediaType::OciManifest.as_str(),
        );
        let (_, layers) =
            uncompressed_manifest(oci.as_bytes(), &MediaType::OciManifest, &unpacked).unwrap();
        assert_eq!(layers[0].media_type, MediaType::OciLayer);
    }

    #[test]
    fn untagged_images_load_without_repo_tags() {
        let only = layer(b"x");
        let blobs: HashMap<Digest, Vec<u8>> = [(only.0.digest.clone(), only.1.clone())].into();
        let reference = format!("busybox@{}", Digest::of(b"m"));
        let parts = docker_archive(&[image(&reference, &[only], b"{}")], 0).unwrap();
        let entries = read_entries(&assemble(&parts, &blobs));
        let (_, _, data) = entries
            .iter()
            .find(|(n, _, _)| n == "manifest.json")
            .unwrap();
        let manifest: serde_json::Value = serde_json::from_slice(data).unwrap();
        assert_eq!(manifest[0]["RepoTags"], serde_json::json!([]));
        assert!(!entries.iter().any(|(n, _, _)| n == "repositories"));
    }
}
