//! Finding the image: its manifest (through an index, for the wanted platform) and its config,
//! each checked against the digest it was referred to by.

use skiff_core::manifest::{
    check_document_size, Descriptor, ImageManifest, Manifest, MANIFEST_ACCEPT,
};
use skiff_core::manifest_check::{check_manifest, Expected};
use skiff_core::platform::{self, Platform};
use skiff_core::registry::{blob_url, manifest_url};
use skiff_core::{BlobVerifier, Digest, Reference};

use super::Emit;
use crate::error::AppError;
use crate::services::http::{Document, RegistrySession};
use crate::state::{PlatformOffer, PullEvent};

pub struct Resolver<'a> {
    pub session: &'a RegistrySession,
    pub emit: &'a Emit,
}

impl Resolver<'_> {
    /// The image manifest to pull: fetched by tag or digest and, when that is an index, the
    /// entry for `wanted`.
    pub async fn resolve_image(
        &self,
        reference: &Reference,
        wanted: &Platform,
    ) -> Result<(Vec<u8>, String, ImageManifest), AppError> {
        let pinned = reference
            .digest()
            .map(|d| (d.clone(), None, "the reference"));
        let (body, manifest, media_type) = self
            .fetch_manifest(reference, &reference.manifest_reference(), pinned)
            .await?;
        let index = match manifest {
            Manifest::Image(image) => {
                (self.emit)(PullEvent::ManifestFetched {
                    json: pretty_json(&body),
                });
                return Ok((body, media_type, *image));
            }
            Manifest::Index(index) => index,
        };
        let offers: Vec<PlatformOffer> = platform::offered(&index)
            .into_iter()
            .map(|(label, descriptor)| PlatformOffer {
                platform: descriptor
                    .platform
                    .as_ref()
                    .map(|p| Platform::from(p).to_string())
                    .unwrap_or_default(),
                label,
                digest: descriptor.digest.to_string(),
            })
            .collect();
        (self.emit)(PullEvent::IndexFetched {
            json: pretty_json(&body),
            offers: offers.clone(),
        });
        let Some(entry) = platform::choose(&index, wanted) else {
            return Err(AppError::PlatformNotOffered {
                reference: reference.to_string(),
                wanted: wanted.to_string(),
                offered: offers
                    .iter()
                    .map(|o| o.label.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let chosen = entry
            .platform
            .as_ref()
            .map(|p| Platform::from(p).to_string())
            .unwrap_or_default();
        (self.emit)(PullEvent::PlatformChosen {
            platform: chosen.clone(),
        });
        (self.emit)(PullEvent::Stage(format!(
            "Fetching the manifest for {chosen}"
        )));
        check_document_size("manifest", entry.size)?;
        let expected = Some((entry.digest.clone(), Some(entry.size), "the index entry"));
        let (body, manifest, media_type) = self
            .fetch_manifest(reference, &entry.digest.to_string(), expected)
            .await?;
        match manifest {
            Manifest::Image(image) => {
                (self.emit)(PullEvent::ManifestFetched {
                    json: pretty_json(&body),
                });
                Ok((body, media_type, *image))
            }
            Manifest::Index(_) => Err(AppError::NestedIndex { platform: chosen }),
        }
    }

    /// Fetches one manifest document and checks it against the digest (and size) it was
    /// referred to by, and against the registry's `Docker-Content-Digest`.
    pub async fn fetch_manifest(
        &self,
        reference: &Reference,
        manifest_reference: &str,
        expected: Option<(Digest, Option<u64>, &'static str)>,
    ) -> Result<(Vec<u8>, Manifest, String), AppError> {
        let url = manifest_url(reference, manifest_reference);
        let Document {
            content_type,
            digest: header_digest,
            body,
            ..
        } = self
            .session
            .get_document(
                &url,
                Some(MANIFEST_ACCEPT),
                "manifest",
                expected.as_ref().and_then(|(_, size, _)| *size),
            )
            .await?;
        let pin = expected.as_ref().map(|(digest, size, source)| Expected {
            digest,
            size: *size,
            source,
        });
        check_manifest(&body, pin, header_digest.as_deref())?;
        let (manifest, media_type) = Manifest::parse(content_type.as_deref(), &body)?;
        Ok((body, manifest, media_type))
    }

    pub async fn fetch_config(
        &self,
        reference: &Reference,
        descriptor: &Descriptor,
    ) -> Result<Vec<u8>, AppError> {
        check_document_size("image config", descriptor.size)?;
        let body = self
            .session
            .get_document(
                &blob_url(reference, &descriptor.digest),
                None,
                "image config",
                Some(descriptor.size),
            )
            .await?
            .body;
        let mut verifier = BlobVerifier::new(descriptor.digest.clone(), descriptor.size);
        verifier.update(&body)?;
        verifier.finish()?;
        (self.emit)(PullEvent::ConfigFetched {
            json: pretty_json(&body),
        });
        Ok(body)
    }
}

/// Pretty-printed JSON for the manifest and config views (the raw text if it is not JSON).
pub fn pretty_json(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned())
}
