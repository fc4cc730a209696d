//! The images of an archive the user picked, whoever wrote it: an OCI image layout (Docker 25's
//! `docker save`, podman's and skopeo's `oci-archive`, umoci, Skiff's own), Docker's older
//! `docker save` (and podman's and skopeo's `docker-archive`), or a `dir:` layout (podman's
//! `docker-dir`) tarred up, with or without one folder around it.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::archive::push_archive::{
    docker_save_images, oci_images, ArchiveError, ArchivedImage, BlobSource, Layout,
};
use crate::archive::tar_index::Member;
use crate::image::media_type::MediaType;
use crate::Digest;

/// The images of an archive, as its layout holds them: an OCI layout's `index.json`, or
/// `manifest.json` where the index lists none (Docker 25's save of an untagged image) or there
/// is no index. `read` gives a member's bytes.
pub fn archive_images(
    members: &BTreeMap<String, Member>,
    mut read: impl FnMut(&Member) -> Vec<u8>,
) -> Result<Vec<ArchivedImage>, ArchiveError> {
    let rooted = rooted(members);
    let members = &rooted;
    let images = match Layout::of(members)? {
        Layout::Oci => {
            let index = read(&members["index.json"]);
            oci_images(members, &index, &mut read)?
        }
        Layout::DockerSave => Vec::new(),
    };
    if !images.is_empty() {
        return Ok(images);
    }
    match members.get("manifest.json") {
        Some(member) => {
            let manifest_json = read(member);
            // A `dir:` layout's manifest.json is a registry manifest (an object), not a list.
            let images = if manifest_json.trim_ascii_start().starts_with(b"{") {
                dir_images(members, &manifest_json)?
            } else {
                docker_save_images(members, &manifest_json, read)?
            };
            if images.is_empty() {
                return Err(ArchiveError::Malformed {
                    file: "manifest.json".to_owned(),
                    reason: "it lists no images".to_owned(),
                });
            }
            Ok(images)
        }
        None => Err(ArchiveError::Malformed {
            file: "index.json".to_owned(),
            reason: "it lists no images, and there is no manifest.json beside it".to_owned(),
        }),
    }
}

/// The members as seen from the layout's root: a layout tarred with its folder around it
/// (`tar -cf image.tar image/`) reads as if tarred from inside.
fn rooted(members: &BTreeMap<String, Member>) -> BTreeMap<String, Member> {
    let at_root = |name: &str| members.contains_key(name);
    if at_root("index.json") || at_root("manifest.json") {
        return members.clone();
    }
    let folder = members.keys().find_map(|path| {
        let (folder, file) = path.split_once('/')?;
        (matches!(file, "index.json" | "manifest.json")).then(|| format!("{folder}/"))
    });
    match folder {
        Some(folder) => members
            .iter()
            .filter_map(|(path, m)| Some((path.strip_prefix(&folder)?.to_owned(), m.clone())))
            .collect(),
        None => members.clone(),
    }
}

#[derive(Deserialize)]
struct DirManifest {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    config: DirBlob,
    #[serde(default)]
    layers: Vec<DirBlob>,
}

#[derive(Deserialize)]
struct DirBlob {
    digest: Digest,
}

/// A `dir:` layout (`podman save --format docker-dir`, `skopeo copy … dir:`): the manifest as
/// `manifest.json`, each blob as a file named by its digest's hex.
fn dir_images(
    members: &BTreeMap<String, Member>,
    manifest_json: &[u8],
) -> Result<Vec<ArchivedImage>, ArchiveError> {
    let manifest: DirManifest =
        serde_json::from_slice(manifest_json).map_err(|e| ArchiveError::Malformed {
            file: "manifest.json".to_owned(),
            reason: e.to_string(),
        })?;
    let blobs = std::iter::once(&manifest.config)
        .chain(&manifest.layers)
        .map(|blob| {
            let path = blob.digest.hex().to_owned();
            let member = members.get(&path).cloned().ok_or(ArchiveError::Missing {
                file: "manifest.json".to_owned(),
                missing: path.clone(),
            })?;
            Ok(BlobSource {
                digest: blob.digest.clone(),
                path,
                member,
            })
        })
        .collect::<Result<Vec<_>, ArchiveError>>()?;
    Ok(vec![ArchivedImage {
        name: None,
        manifest: manifest_json.to_vec(),
        media_type: manifest
            .media_type
            .as_deref()
            .map_or(MediaType::OciManifest, MediaType::lenient),
        blobs,
        refers_to: None,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::push_archive::tests::tar_of;
    use crate::archive::tar_index::TarIndex;

    fn images_of(bytes: &[u8]) -> Result<Vec<ArchivedImage>, ArchiveError> {
        let mut index = TarIndex::new(bytes.len() as u64);
        while let Some((offset, length)) = index.poll_read() {
            let end = (offset + length).min(bytes.len() as u64);
            index.handle_bytes(&bytes[offset as usize..end as usize])?;
        }
        archive_images(&index.members(), |m: &Member| {
            bytes[m.offset as usize..(m.offset + m.size) as usize].to_vec()
        })
    }

    #[test]
    fn a_dir_layout_in_a_folder_is_read() {
        let (config, layer) = (br#"{"rootfs":{"type":"layers","diff_ids":[]}}"#, b"layer");
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar","digest":"{}","size":5}}]}}"#,
            Digest::of(config),
            config.len(),
            Digest::of(layer)
        );
        let (config_path, layer_path) = (
            format!("saved/{}", Digest::of(config).hex()),
            format!("saved/{}", Digest::of(layer).hex()),
        );
        let bytes = tar_of(&[
            ("saved/manifest.json", manifest.as_bytes()),
            ("saved/version", b"Directory Transport Version: 1.1\n"),
            (&config_path, config),
            (&layer_path, layer),
        ]);
        let images = images_of(&bytes).unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].manifest, manifest.as_bytes());
        assert_eq!(images[0].media_type, MediaType::DockerManifest);
        assert_eq!(images[0].blobs[1].digest, Digest::of(layer));

        let missing_layer = tar_of(&[
            ("saved/manifest.json", manifest.as_bytes()),
            (&config_path, config),
        ]);
        assert!(matches!(
            images_of(&missing_layer),
            Err(ArchiveError::Missing { .. })
        ));
        assert_eq!(
            images_of(&tar_of(&[("notes/readme.txt", b"hi")])),
            Err(ArchiveError::NoImages)
        );
    }
}
