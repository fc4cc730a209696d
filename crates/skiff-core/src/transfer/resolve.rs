//! Finding an image, sans IO: reference → manifest, or index → the wanted platform's entry →
//! its manifest → config, every document checked against what named it (the reference's pin,
//! the index entry, the registry's `Docker-Content-Digest`). The driver fetches what
//! [`ImageResolver::poll`] names and hands the documents back; pull, copy and the explorer read
//! manifests through [`CheckedManifest`].

use crate::image::artifact::ArtifactKind;
use crate::image::manifest::{Descriptor, ImageConfig, ImageManifest, Manifest};
use crate::image::manifest_check::{check_manifest, Expected, ManifestMismatch};
use crate::image::media_type::MediaType;
use crate::image::platform::{self, Platform};
use crate::{Digest, Error, Reference};

/// A manifest or index whose bytes matched what it was asked for by.
#[derive(Clone, Debug)]
pub struct CheckedManifest {
    pub body: Vec<u8>,
    pub digest: Digest,
    /// The answer's `Content-Type`, as sent.
    pub content_type: Option<String>,
    /// `Docker-Content-Digest`, as the registry sent it.
    pub header_digest: Option<String>,
}

impl CheckedManifest {
    /// Checks fetched bytes against `expected` and the registry's digest header.
    pub fn check(
        body: Vec<u8>,
        content_type: Option<String>,
        header_digest: Option<String>,
        expected: Option<Expected<'_>>,
    ) -> Result<Self, ManifestMismatch> {
        let digest = check_manifest(&body, expected, header_digest.as_deref())?;
        Ok(Self {
            body,
            digest,
            content_type,
            header_digest,
        })
    }

    /// Read as an image manifest or index (the `Content-Type` wins over the body's own
    /// `mediaType`).
    pub fn parse(&self) -> Result<(Manifest, MediaType), Error> {
        Manifest::parse(self.content_type.as_deref(), &self.body)
    }
}

/// Why an image could not be found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "the index offers no image for {wanted} (it offers: {})",
        labels(offered)
    )]
    PlatformNotOffered {
        wanted: String,
        /// Every platform the index offers: its label and entry.
        offered: Vec<(String, Descriptor)>,
    },
    #[error("the entry for {platform} is itself an index; Skiff reads one level")]
    NestedIndex { platform: String },
    #[error("the image config lists {diff_ids} layer diff IDs but the manifest has {layers} layers; the image is inconsistent")]
    LayerCountMismatch { diff_ids: usize, layers: usize },
    #[error(transparent)]
    Document(#[from] Error),
}

fn labels(offered: &[(String, Descriptor)]) -> String {
    let labels: Vec<&str> = offered.iter().map(|(label, _)| label.as_str()).collect();
    labels.join(", ")
}

/// What to fetch next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wanted<'a> {
    /// A manifest by tag or digest (`manifest_reference`), checked against `expected`;
    /// `platform`: the index entry it was chosen as.
    Manifest {
        manifest_reference: String,
        expected: Option<Expected<'a>>,
        platform: Option<String>,
    },
    /// The image's config, checked against its descriptor.
    Config(&'a Descriptor),
    /// Found: [`ImageResolver::into_image`].
    Done,
}

/// What a fetched manifest turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Learned {
    /// An index: every platform it offers (label, entry) and the one chosen.
    Index {
        offered: Vec<(String, Descriptor)>,
        chosen: String,
    },
    /// The image manifest.
    Image,
}

/// The image found: its manifest as served, and its config.
#[derive(Clone, Debug)]
pub struct ResolvedImage {
    pub manifest: CheckedManifest,
    pub media_type: MediaType,
    pub image: ImageManifest,
    pub config: Vec<u8>,
    /// The config's digests of the unpacked layers, one per layer (none for an artifact that
    /// is no container image).
    pub diff_ids: Vec<Digest>,
    /// What the manifest holds.
    pub kind: ArtifactKind,
    /// The index the reference named, when it named one (signatures are often on it).
    pub index: Option<Digest>,
}

#[derive(Clone, Debug)]
enum State {
    Top,
    Entry {
        entry: Descriptor,
        platform: String,
        index: Digest,
    },
    Config {
        manifest: CheckedManifest,
        media_type: MediaType,
        image: Box<ImageManifest>,
        index: Option<Digest>,
    },
    Done(Box<ResolvedImage>),
}

/// One image's resolution for one wanted platform.
#[derive(Clone, Debug)]
pub struct ImageResolver {
    reference: Reference,
    wanted: Platform,
    state: State,
}

impl ImageResolver {
    pub fn new(reference: Reference, wanted: Platform) -> Self {
        Self {
            reference,
            wanted,
            state: State::Top,
        }
    }

    /// What to fetch now.
    pub fn poll(&self) -> Wanted<'_> {
        match &self.state {
            State::Top => Wanted::Manifest {
                manifest_reference: self.reference.manifest_reference(),
                expected: self.reference.digest().map(|digest| Expected {
                    digest,
                    size: None,
                    source: "the reference",
                }),
                platform: None,
            },
            State::Entry {
                entry, platform, ..
            } => Wanted::Manifest {
                manifest_reference: entry.digest.to_string(),
                expected: Some(Expected {
                    digest: &entry.digest,
                    size: Some(entry.size),
                    source: "the index entry",
                }),
                platform: Some(platform.clone()),
            },
            State::Config { image, .. } => Wanted::Config(&image.config),
            State::Done(_) => Wanted::Done,
        }
    }

    /// The manifest [`Wanted::Manifest`] named, checked.
    pub fn handle_manifest(&mut self, manifest: CheckedManifest) -> Result<Learned, ResolveError> {
        let (parsed, media_type) = manifest.parse()?;
        let (entry_platform, index) = match &self.state {
            State::Entry {
                platform, index, ..
            } => (Some(platform.clone()), Some(index.clone())),
            _ => (None, None),
        };
        match (parsed, entry_platform) {
            (Manifest::Image(image), _) => {
                self.state = State::Config {
                    manifest,
                    media_type,
                    image,
                    index,
                };
                Ok(Learned::Image)
            }
            (Manifest::Index(_), Some(platform)) => Err(ResolveError::NestedIndex { platform }),
            (Manifest::Index(index), None) => {
                let offered: Vec<(String, Descriptor)> = platform::offered(&index)
                    .into_iter()
                    .map(|(label, d)| (label, d.clone()))
                    .collect();
                let Some(entry) = platform::choose(&index, &self.wanted) else {
                    return Err(ResolveError::PlatformNotOffered {
                        wanted: self.wanted.to_string(),
                        offered,
                    });
                };
                let chosen = entry
                    .platform
                    .as_ref()
                    .map(|p| Platform::from(p).to_string())
                    .unwrap_or_default();
                self.state = State::Entry {
                    entry: entry.clone(),
                    platform: chosen.clone(),
                    index: Digest::of(&manifest.body),
                };
                Ok(Learned::Index { offered, chosen })
            }
        }
    }

    /// The config [`Wanted::Config`] named, checked against its descriptor by the driver: it
    /// must give one diff ID per layer.
    pub fn handle_config(&mut self, config: Vec<u8>) -> Result<(), ResolveError> {
        let State::Config { image, .. } = &self.state else {
            return Ok(());
        };
        // Only a container image's config has layers to match; an artifact's config is
        // whatever its tool wrote (or `{}`).
        let kind = ArtifactKind::of(image);
        let diff_ids = match kind {
            ArtifactKind::ContainerImage => ImageConfig::parse(&config)?.rootfs.diff_ids,
            _ => Vec::new(),
        };
        if kind.is_image() && diff_ids.len() != image.layers.len() {
            return Err(ResolveError::LayerCountMismatch {
                diff_ids: diff_ids.len(),
                layers: image.layers.len(),
            });
        }
        if let State::Config {
            manifest,
            media_type,
            image,
            index,
        } = std::mem::replace(&mut self.state, State::Top)
        {
            self.state = State::Done(Box::new(ResolvedImage {
                manifest,
                media_type,
                image: *image,
                config,
                diff_ids,
                kind,
                index,
            }));
        }
        Ok(())
    }

    /// The image, once [`Wanted::Done`].
    pub fn into_image(self) -> Option<ResolvedImage> {
        match self.state {
            State::Done(image) => Some(*image),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AMD64: &str = r#"{"architecture":"amd64","os":"linux"}"#;
    const ARM64: &str = r#"{"architecture":"arm64","os":"linux","variant":"v8"}"#;

    const CONFIG: &[u8] = br#"{"rootfs":{"type":"layers","diff_ids":[]}}"#;

    fn image_manifest() -> Vec<u8> {
        let config = Digest::of(CONFIG);
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":{}}},"layers":[]}}"#,
            CONFIG.len()
        )
        .into_bytes()
    }

    fn index(entries: &[(&[u8], &str, &str)]) -> Vec<u8> {
        let manifests: Vec<String> = entries
            .iter()
            .map(|(body, media_type, platform)| {
                format!(
                    r#"{{"mediaType":"{media_type}","digest":"{}","size":{},"platform":{platform}}}"#,
                    Digest::of(body),
                    body.len()
                )
            })
            .collect();
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}}"#,
            manifests.join(",")
        )
        .into_bytes()
    }

    fn checked(body: Vec<u8>) -> CheckedManifest {
        CheckedManifest::check(body, None, None, None).unwrap()
    }

    fn resolver(reference: &str, wanted: &str) -> ImageResolver {
        ImageResolver::new(reference.parse().unwrap(), wanted.parse().unwrap())
    }

    #[test]
    fn a_tag_naming_an_image_goes_straight_to_its_config() {
        let mut r = resolver("busybox:1.36", "linux/amd64");
        assert!(matches!(
            r.poll(),
            Wanted::Manifest { manifest_reference, expected: None, platform: None }
                if manifest_reference == "1.36"
        ));
        assert_eq!(
            r.handle_manifest(checked(image_manifest())),
            Ok(Learned::Image)
        );
        let Wanted::Config(config) = r.poll() else {
            panic!("the config is next")
        };
        assert_eq!(config.digest, Digest::of(CONFIG));
        r.handle_config(CONFIG.to_vec()).unwrap();
        assert_eq!(r.poll(), Wanted::Done);
        let image = r.into_image().unwrap();
        assert_eq!(image.media_type, MediaType::OciManifest);
        assert_eq!(image.config, CONFIG);
        assert_eq!(image.index, None);
    }

    #[test]
    fn an_artifact_resolves_with_its_own_config_and_kind() {
        // A Helm chart's config has no rootfs: it is the chart's, not an image's.
        let config = br#"{"name":"hello","version":"0.1.0"}"#;
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"{}","size":3}}]}}"#,
            Digest::of(config),
            config.len(),
            Digest::of(b"tgz")
        );
        let mut r = resolver("r.io/charts/hello:0.1.0", "linux/amd64");
        r.handle_manifest(checked(manifest.into_bytes())).unwrap();
        r.handle_config(config.to_vec()).unwrap();
        let image = r.into_image().unwrap();
        assert_eq!(image.kind, ArtifactKind::HelmChart);
        assert!(image.diff_ids.is_empty());
        // An image's config still must have its rootfs.
        let mut r = resolver("busybox:1.36", "linux/amd64");
        r.handle_manifest(checked(image_manifest())).unwrap();
        assert!(r.handle_config(config.to_vec()).is_err());
    }

    #[test]
    fn an_index_leads_to_the_wanted_platform_pinned_by_its_entry() {
        let child = image_manifest();
        let top = index(&[
            (
                b"other",
                "application/vnd.oci.image.manifest.v1+json",
                ARM64,
            ),
            (&child, "application/vnd.oci.image.manifest.v1+json", AMD64),
        ]);
        let mut r = resolver("busybox", "linux/amd64");
        let Ok(Learned::Index { offered, chosen }) = r.handle_manifest(checked(top.clone())) else {
            panic!("an index")
        };
        assert_eq!(chosen, "linux/amd64");
        assert_eq!(
            offered.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(),
            ["linux/arm64/v8", "linux/amd64"]
        );
        let Wanted::Manifest {
            manifest_reference,
            expected: Some(expected),
            platform,
        } = r.poll()
        else {
            panic!("the entry's manifest is next")
        };
        assert_eq!(manifest_reference, Digest::of(&child).to_string());
        assert_eq!(expected.size, Some(child.len() as u64));
        assert_eq!(expected.source, "the index entry");
        assert_eq!(platform.as_deref(), Some("linux/amd64"));
        assert_eq!(r.handle_manifest(checked(child)), Ok(Learned::Image));
        r.handle_config(CONFIG.to_vec()).unwrap();
        // The index is remembered: signatures are often on it rather than on the platform's.
        assert_eq!(r.into_image().unwrap().index, Some(Digest::of(&top)));
    }

    #[test]
    fn refusals() {
        let child = image_manifest();
        let arm_only = index(&[(&child, "application/vnd.oci.image.manifest.v1+json", ARM64)]);
        let mut r = resolver("busybox", "linux/amd64");
        let Err(ResolveError::PlatformNotOffered { wanted, offered }) =
            r.handle_manifest(checked(arm_only))
        else {
            panic!("not offered")
        };
        assert_eq!(wanted, "linux/amd64");
        assert_eq!(offered.len(), 1);
        assert_eq!(offered[0].0, "linux/arm64/v8");

        let nested = index(&[(b"x", "application/vnd.oci.image.manifest.v1+json", AMD64)]);
        let top = index(&[(&nested, "application/vnd.oci.image.index.v1+json", AMD64)]);
        let mut r = resolver("busybox", "linux/amd64");
        r.handle_manifest(checked(top)).unwrap();
        assert_eq!(
            r.handle_manifest(checked(nested)),
            Err(ResolveError::NestedIndex {
                platform: "linux/amd64".into()
            })
        );

        let mut r = resolver("busybox", "linux/amd64");
        assert!(matches!(
            r.handle_manifest(checked(b"{\"schemaVersion\":1}".to_vec())),
            Err(ResolveError::Document(Error::DeprecatedSchema1))
        ));

        let mut r = resolver("busybox", "linux/amd64");
        r.handle_manifest(checked(image_manifest())).unwrap();
        let one_diff_id = format!(
            r#"{{"rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
            Digest::of(b"layer")
        );
        assert_eq!(
            r.handle_config(one_diff_id.into_bytes()),
            Err(ResolveError::LayerCountMismatch {
                diff_ids: 1,
                layers: 0
            })
        );
    }

    #[test]
    fn a_pinned_reference_is_checked_against_its_digest() {
        let body = image_manifest();
        let pinned = format!("busybox@{}", Digest::of(&body));
        let r = resolver(&pinned, "linux/amd64");
        let Wanted::Manifest {
            expected: Some(expected),
            ..
        } = r.poll()
        else {
            panic!("pinned")
        };
        assert!(CheckedManifest::check(body.clone(), None, None, Some(expected)).is_ok());
        let mut other = body;
        other.push(b' ');
        assert!(matches!(
            CheckedManifest::check(other, None, None, Some(expected)),
            Err(ManifestMismatch::Digest { .. })
        ));
    }
}
