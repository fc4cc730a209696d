//! What a manifest holds, told from its `artifactType`, its config's media type and its layers
//! (a container image, a Helm chart, titled files as `oras push` stores them, a wasm module, a
//! signature, an SBOM, an attestation, or something else), and how to save it: what that
//! artifact's own tool would give (`helm pull`'s `<name>-<version>.tgz`, `oras pull`'s files
//! under their titles, a `.wasm`), or, for a kind Skiff does not know, the manifest with its
//! config and blobs as an OCI image layout.

use std::collections::BTreeSet;

use crate::archive::layout::{oci_layout_archive, ArchiveImage};
use crate::archive::tar_parts::{Part, TarBuilder};
use crate::image::manifest::{Descriptor, ImageManifest};
use crate::image::media_type::MediaType;
use crate::image::referrers::ReferrerKind;
use crate::Error;

/// The annotation `oras push` (and the OCI spec) names a file by.
pub const TITLE: &str = "org.opencontainers.image.title";
const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
const HELM_CHART: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
const HELM_PROVENANCE: &str = "application/vnd.cncf.helm.chart.provenance.v1.prov";

/// What a manifest holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArtifactKind {
    ContainerImage,
    /// `helm push`: the chart's `.tgz`, and its provenance if signed.
    HelmChart,
    /// `oras push`: files, each layer titled by [`TITLE`].
    TitledFiles,
    WasmModule,
    /// cosign's simple signing, or a Sigstore bundle.
    Signature,
    /// SPDX or CycloneDX.
    Sbom,
    /// in-toto statements, DSSE envelopes.
    Attestation,
    /// Skiff does not know it: `artifact_type` (or the config's media type) says what it is.
    Unknown {
        artifact_type: String,
    },
}

impl ArtifactKind {
    /// Tells the kind from the manifest alone.
    pub fn of(manifest: &ImageManifest) -> Self {
        let config_type = manifest.config.media_type.as_str();
        let artifact_type = manifest.artifact_type.as_deref().unwrap_or_default();
        let types: Vec<&str> = std::iter::once(artifact_type)
            .chain(std::iter::once(config_type))
            .chain(manifest.layers.iter().map(|l| l.media_type.as_str()))
            .collect();
        let any = |test: &dyn Fn(&str) -> bool| types.iter().any(|t| test(t));
        if config_type == HELM_CONFIG {
            Self::HelmChart
        } else if any(&|t| t.starts_with("application/vnd.wasm") || t == "application/wasm") {
            Self::WasmModule
        } else if let Some(referrer) = types
            .iter()
            .map(|t| ReferrerKind::of_type(t))
            .find(|kind| *kind != ReferrerKind::Other)
        {
            match referrer {
                ReferrerKind::Signature => Self::Signature,
                ReferrerKind::Sbom => Self::Sbom,
                _ => Self::Attestation,
            }
        } else if matches!(
            manifest.config.media_type,
            MediaType::DockerConfig | MediaType::OciConfig
        ) && artifact_type.is_empty()
        {
            Self::ContainerImage
        } else if !manifest.layers.is_empty() && manifest.layers.iter().all(|l| title(l).is_some())
        {
            Self::TitledFiles
        } else {
            let named = if artifact_type.is_empty() {
                config_type
            } else {
                artifact_type
            };
            Self::Unknown {
                artifact_type: named.to_owned(),
            }
        }
    }

    /// In words, for Look inside and the explorer.
    pub fn describe(&self) -> String {
        match self {
            Self::ContainerImage => "a container image".to_owned(),
            Self::HelmChart => "a Helm chart (as helm push stores it)".to_owned(),
            Self::TitledFiles => {
                "files (an ORAS artifact: each layer a file under its title)".to_owned()
            }
            Self::WasmModule => "a WebAssembly module".to_owned(),
            Self::Signature => "a signature".to_owned(),
            Self::Sbom => "an SBOM (software bill of materials)".to_owned(),
            Self::Attestation => "an attestation".to_owned(),
            Self::Unknown { artifact_type } => {
                format!("an artifact of a kind Skiff does not know ({artifact_type})")
            }
        }
    }

    pub fn is_image(&self) -> bool {
        *self == Self::ContainerImage
    }
}

/// How an artifact is saved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaveAs {
    /// One blob, byte for byte, as the file `name`.
    File { name: String, blob: Descriptor },
    /// Several blobs, each a file at its path, in the tar `name`.
    Files {
        name: String,
        files: Vec<(String, Descriptor)>,
    },
    /// The manifest, its config and its blobs as an OCI image layout, in the tar `name`.
    OciLayout { name: String },
}

impl SaveAs {
    pub fn file_name(&self) -> &str {
        match self {
            Self::File { name, .. } | Self::Files { name, .. } | Self::OciLayout { name } => name,
        }
    }

    /// The saved file as parts: a blob alone, or a tar. `mtime` dates tar entries.
    pub fn parts(&self, image: &ArchiveImage, mtime: u64) -> Result<Vec<Part>, Error> {
        match self {
            Self::File { blob, .. } => Ok(vec![Part::Blob {
                digest: blob.digest.clone(),
                size: blob.size,
            }]),
            Self::Files { files, .. } => {
                let mut tar = TarBuilder::new(mtime);
                let mut dirs = BTreeSet::new();
                for (path, blob) in files {
                    let mut parent = String::new();
                    for part in path
                        .split('/')
                        .collect::<Vec<_>>()
                        .split_last()
                        .map_or(&[][..], |(_, d)| d)
                    {
                        parent.push_str(part);
                        parent.push('/');
                        if dirs.insert(parent.clone()) {
                            tar.append_dir(&parent)?;
                        }
                    }
                    tar.append_blob(path, &blob.digest, blob.size)?;
                }
                Ok(tar.finish())
            }
            Self::OciLayout { .. } => oci_layout_archive(std::slice::from_ref(image), mtime),
        }
    }
}

/// Why an artifact cannot be saved as its tool would.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArtifactError {
    #[error("the file title {title:?} would be written outside the folder it is saved in (an absolute path, `..`, or a backslash); nothing was saved. The artifact may be built to attack the tools that pull it")]
    UnsafeTitle { title: String },
    #[error("two files of the artifact have the same title {title:?}; nothing was saved")]
    DuplicateTitle { title: String },
    #[error("the Helm chart's config does not name the chart ({reason})")]
    HelmConfig { reason: String },
    #[error("the Helm chart has no chart layer ({HELM_CHART})")]
    NoChart,
}

/// How to save `manifest` of `kind`; `base` names files that have no name of their own
/// (`busybox_latest`, from the reference).
pub fn save_as(
    kind: &ArtifactKind,
    manifest: &ImageManifest,
    config: &[u8],
    base: &str,
) -> Result<SaveAs, ArtifactError> {
    let layers = &manifest.layers;
    let layout = || SaveAs::OciLayout {
        name: format!("{base}.oci.tar"),
    };
    Ok(match kind {
        ArtifactKind::ContainerImage => layout(),
        ArtifactKind::HelmChart => helm(manifest, config)?,
        ArtifactKind::TitledFiles => titled(layers, base)?,
        ArtifactKind::WasmModule => match layers.as_slice() {
            [module] => SaveAs::File {
                name: match title(module) {
                    Some(title) => file_name_of(checked_title(title)?).to_owned(),
                    None => format!("{base}.wasm"),
                },
                blob: module.clone(),
            },
            _ => layout(),
        },
        ArtifactKind::Signature | ArtifactKind::Sbom | ArtifactKind::Attestation => {
            match layers.as_slice() {
                [only] => SaveAs::File {
                    name: match title(only) {
                        Some(title) => file_name_of(checked_title(title)?).to_owned(),
                        None => format!("{base}.{}", extension(&only.media_type)),
                    },
                    blob: only.clone(),
                },
                _ if layers.iter().all(|l| title(l).is_some()) && !layers.is_empty() => {
                    titled(layers, base)?
                }
                _ => layout(),
            }
        }
        ArtifactKind::Unknown { .. } => layout(),
    })
}

fn helm(manifest: &ImageManifest, config: &[u8]) -> Result<SaveAs, ArtifactError> {
    #[derive(serde::Deserialize)]
    struct Chart {
        name: String,
        version: String,
    }
    let chart: Chart = serde_json::from_slice(config).map_err(|e| ArtifactError::HelmConfig {
        reason: e.to_string(),
    })?;
    let safe = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c))
            && s != "."
            && s != ".."
    };
    if !safe(&chart.name) || !safe(&chart.version) {
        return Err(ArtifactError::HelmConfig {
            reason: format!(
                "name {:?} and version {:?} must be plain words",
                chart.name, chart.version
            ),
        });
    }
    let name = format!("{}-{}.tgz", chart.name, chart.version);
    let of_type = |t: &str| manifest.layers.iter().find(|l| l.media_type.as_str() == t);
    let chart_layer = of_type(HELM_CHART).ok_or(ArtifactError::NoChart)?.clone();
    Ok(match of_type(HELM_PROVENANCE) {
        // `helm pull --prov` gives both files side by side.
        Some(provenance) => SaveAs::Files {
            name: format!("{}-{}.tar", chart.name, chart.version),
            files: vec![
                (name.clone(), chart_layer),
                (format!("{name}.prov"), provenance.clone()),
            ],
        },
        None => SaveAs::File {
            name,
            blob: chart_layer,
        },
    })
}

/// One titled file as itself; several in one tar under their titles.
fn titled(layers: &[Descriptor], base: &str) -> Result<SaveAs, ArtifactError> {
    let mut seen = BTreeSet::new();
    let mut files = Vec::new();
    for layer in layers {
        let title = checked_title(title(layer).unwrap_or_default())?;
        if !seen.insert(title.to_owned()) {
            return Err(ArtifactError::DuplicateTitle {
                title: title.to_owned(),
            });
        }
        files.push((title.to_owned(), layer.clone()));
    }
    Ok(match files.as_slice() {
        [(title, blob)] => SaveAs::File {
            name: file_name_of(title).to_owned(),
            blob: blob.clone(),
        },
        _ => SaveAs::Files {
            name: format!("{base}.tar"),
            files,
        },
    })
}

fn title(layer: &Descriptor) -> Option<&str> {
    layer
        .annotations
        .as_ref()?
        .get(TITLE)
        .map(String::as_str)
        .filter(|t| !t.is_empty())
}

/// A title that stays inside the folder it is written to.
fn checked_title(title: &str) -> Result<&str, ArtifactError> {
    let unsafe_title = title.is_empty()
        || title.starts_with('/')
        || title.contains('\\')
        || title.contains('\0')
        || title
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..");
    if unsafe_title {
        return Err(ArtifactError::UnsafeTitle {
            title: title.to_owned(),
        });
    }
    Ok(title)
}

fn file_name_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn extension(media_type: &MediaType) -> &'static str {
    let text = media_type.as_str();
    if text.ends_with("+json") || text.ends_with("/json") {
        "json"
    } else {
        "bin"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const EMPTY: &str = "application/vnd.oci.empty.v1+json";

    fn layer(media_type: &str, title: Option<&str>) -> String {
        let annotations = title
            .map(|t| format!(r#","annotations":{{"{TITLE}":"{t}"}}"#))
            .unwrap_or_default();
        format!(r#"{{"mediaType":"{media_type}","digest":"{A}","size":3{annotations}}}"#)
    }

    fn manifest(
        artifact_type: Option<&str>,
        config_type: &str,
        layers: &[String],
    ) -> ImageManifest {
        let artifact_type = artifact_type
            .map(|t| format!(r#""artifactType":"{t}","#))
            .unwrap_or_default();
        serde_json::from_str(&format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",{artifact_type}"config":{{"mediaType":"{config_type}","digest":"{A}","size":2}},"layers":[{}]}}"#,
            layers.join(",")
        ))
        .unwrap()
    }

    #[test]
    fn tells_kinds_apart() {
        let gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
        let table = [
            (
                manifest(
                    None,
                    "application/vnd.oci.image.config.v1+json",
                    &[layer(gzip, None)],
                ),
                ArtifactKind::ContainerImage,
            ),
            (
                manifest(None, "application/vnd.docker.container.image.v1+json", &[]),
                ArtifactKind::ContainerImage,
            ),
            (
                manifest(None, HELM_CONFIG, &[layer(HELM_CHART, None)]),
                ArtifactKind::HelmChart,
            ),
            (
                manifest(
                    Some("application/vnd.example.files"),
                    EMPTY,
                    &[layer("text/plain", Some("a.txt"))],
                ),
                ArtifactKind::TitledFiles,
            ),
            (
                manifest(
                    None,
                    "application/vnd.wasm.config.v0+json",
                    &[layer("application/wasm", None)],
                ),
                ArtifactKind::WasmModule,
            ),
            (
                manifest(
                    None,
                    "application/vnd.wasm.config.v1+json",
                    &[layer("application/vnd.wasm.content.layer.v1+wasm", None)],
                ),
                ArtifactKind::WasmModule,
            ),
            (
                manifest(
                    None,
                    "application/vnd.oci.image.config.v1+json",
                    &[layer(
                        "application/vnd.dev.cosign.simplesigning.v1+json",
                        None,
                    )],
                ),
                ArtifactKind::Signature,
            ),
            (
                manifest(
                    Some("application/vnd.dev.sigstore.bundle.v0.3+json"),
                    EMPTY,
                    &[layer("application/vnd.dev.sigstore.bundle.v0.3+json", None)],
                ),
                ArtifactKind::Signature,
            ),
            (
                manifest(
                    Some("application/spdx+json"),
                    EMPTY,
                    &[layer("application/spdx+json", None)],
                ),
                ArtifactKind::Sbom,
            ),
            (
                manifest(
                    Some("application/vnd.cyclonedx+json"),
                    EMPTY,
                    &[layer("application/vnd.cyclonedx+json", None)],
                ),
                ArtifactKind::Sbom,
            ),
            (
                manifest(
                    None,
                    "application/vnd.oci.image.config.v1+json",
                    &[layer("application/vnd.dsse.envelope.v1+json", None)],
                ),
                ArtifactKind::Attestation,
            ),
            (
                manifest(
                    Some("application/vnd.example.thing"),
                    EMPTY,
                    &[layer("application/octet-stream", None)],
                ),
                ArtifactKind::Unknown {
                    artifact_type: "application/vnd.example.thing".into(),
                },
            ),
            (
                manifest(None, "application/vnd.example.config", &[]),
                ArtifactKind::Unknown {
                    artifact_type: "application/vnd.example.config".into(),
                },
            ),
        ];
        for (manifest, kind) in table {
            assert_eq!(ArtifactKind::of(&manifest), kind, "{manifest:?}");
            assert!(!kind.describe().is_empty());
        }
    }

    #[test]
    fn saves_as_each_tool_would() {
        let chart = manifest(None, HELM_CONFIG, &[layer(HELM_CHART, None)]);
        let config = br#"{"name":"hello","version":"0.1.0","apiVersion":"v2"}"#;
        let saved = save_as(&ArtifactKind::HelmChart, &chart, config, "x").unwrap();
        assert!(matches!(&saved, SaveAs::File { name, .. } if name == "hello-0.1.0.tgz"));
        let signed = manifest(
            None,
            HELM_CONFIG,
            &[layer(HELM_CHART, None), layer(HELM_PROVENANCE, None)],
        );
        let saved = save_as(&ArtifactKind::HelmChart, &signed, config, "x").unwrap();
        let SaveAs::Files { name, files } = saved else {
            panic!("{saved:?}")
        };
        assert_eq!(name, "hello-0.1.0.tar");
        assert_eq!(
            files.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
            ["hello-0.1.0.tgz", "hello-0.1.0.tgz.prov"]
        );
        for bad in [
            &br#"{"name":"../x","version":"1"}"#[..],
            br#"{"version":"1"}"#,
            b"[]",
        ] {
            assert!(matches!(
                save_as(&ArtifactKind::HelmChart, &chart, bad, "x"),
                Err(ArtifactError::HelmConfig { .. })
            ));
        }

        let one = manifest(
            Some("t"),
            EMPTY,
            &[layer("text/plain", Some("docs/readme.md"))],
        );
        let saved = save_as(&ArtifactKind::TitledFiles, &one, b"{}", "app_1").unwrap();
        assert!(matches!(&saved, SaveAs::File { name, .. } if name == "readme.md"));
        let two = manifest(
            Some("t"),
            EMPTY,
            &[
                layer("text/plain", Some("a.txt")),
                layer("text/plain", Some("dir/b.txt")),
            ],
        );
        let saved = save_as(&ArtifactKind::TitledFiles, &two, b"{}", "app_1").unwrap();
        assert_eq!(saved.file_name(), "app_1.tar");

        let wasm = manifest(
            None,
            "application/vnd.wasm.config.v0+json",
            &[layer("application/wasm", None)],
        );
        let saved = save_as(&ArtifactKind::WasmModule, &wasm, b"{}", "hello_1.0").unwrap();
        assert_eq!(saved.file_name(), "hello_1.0.wasm");

        let unknown = ArtifactKind::Unknown {
            artifact_type: "x".into(),
        };
        let saved = save_as(&unknown, &one, b"{}", "thing_1").unwrap();
        assert_eq!(
            saved,
            SaveAs::OciLayout {
                name: "thing_1.oci.tar".into()
            }
        );
    }

    #[test]
    fn refuses_titles_that_leave_the_folder_and_twins() {
        for bad in ["/etc/passwd", "../up", "a/../../b", "a\\\\b", "a//b", "./a"] {
            let files = manifest(
                Some("t"),
                EMPTY,
                &[
                    layer("text/plain", Some(bad)),
                    layer("text/plain", Some("ok")),
                ],
            );
            assert!(
                matches!(
                    save_as(&ArtifactKind::TitledFiles, &files, b"{}", "x"),
                    Err(ArtifactError::UnsafeTitle { .. })
                ),
                "{bad}"
            );
        }
        let twins = manifest(
            Some("t"),
            EMPTY,
            &[
                layer("text/plain", Some("a")),
                layer("text/plain", Some("a")),
            ],
        );
        assert!(matches!(
            save_as(&ArtifactKind::TitledFiles, &twins, b"{}", "x"),
            Err(ArtifactError::DuplicateTitle { .. })
        ));
    }

    #[test]
    fn a_tar_of_files_holds_each_under_its_title_with_its_folders() {
        let two = manifest(
            Some("t"),
            EMPTY,
            &[
                layer("text/plain", Some("a.txt")),
                layer("text/plain", Some("dir/sub/b.txt")),
            ],
        );
        let saved = save_as(&ArtifactKind::TitledFiles, &two, b"{}", "x").unwrap();
        let image = ArchiveImage {
            reference: "r.io/x:1".parse().unwrap(),
            manifest: b"{}".to_vec(),
            manifest_media_type: MediaType::OciManifest,
            config: b"{}".to_vec(),
            layers: two.layers.clone(),
        };
        let parts = saved.parts(&image, 0).unwrap();
        // The archive with each blob's bytes in place, read back by a tar reader.
        let mut bytes = Vec::new();
        for part in &parts {
            match part {
                Part::Bytes(run) => bytes.extend_from_slice(run),
                Part::Blob { size, .. } => bytes.extend(std::iter::repeat_n(b'x', *size as usize)),
            }
        }
        let mut archive = tar::Archive::new(bytes.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.txt", "dir/", "dir/sub/", "dir/sub/b.txt"]);
    }
}
