//! Finding the image: its manifest (through an index, for the wanted platform) and its config,
//! each checked against the digest it was referred to by.

use skiff_core::explorer::exchange::Purpose;
use skiff_core::image::manifest::{check_document_size, Descriptor, ImageManifest, Manifest};
use skiff_core::image::manifest_check::Expected;
use skiff_core::image::platform::{self, Platform};
use skiff_core::{Digest, Reference};

use super::Emit;
use crate::error::AppError;
use crate::services::http::RegistrySession;
use crate::services::objects;
use crate::state::explorer::Role;
use crate::state::{PlatformOffer, PullEvent};
use skiff_core::image::media_type::MediaType;

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
            .fetch_manifest(reference, &reference.manifest_reference(), pinned, None)
            .await?;
        let index = match manifest {
            Manifest::Image(image) => return Ok((body, media_type, *image)),
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
            .fetch_manifest(
                reference,
                &entry.digest.to_string(),
                expected,
                Some(chosen.clone()),
            )
            .await?;
        match manifest {
            Manifest::Image(image) => Ok((body, media_type, *image)),
            Manifest::Index(_) => Err(AppError::NestedIndex { platform: chosen }),
        }
    }

    /// Fetches one manifest document, checked against the digest (and size) it was referred to
    /// by and the registry's `Docker-Content-Digest`, and shows it in the explorer.
    /// `platform`: the index entry it was chosen as.
    pub async fn fetch_manifest(
        &self,
        reference: &Reference,
        manifest_reference: &str,
        expected: Option<(Digest, Option<u64>, &'static str)>,
        platform: Option<String>,
    ) -> Result<(Vec<u8>, Manifest, String), AppError> {
        let pin = expected.as_ref().map(|(digest, size, source)| Expected {
            digest,
            size: *size,
            source,
        });
        let checked = self
            .session
            .fetch_manifest(reference, manifest_reference, pin)
            .await?;
        let (manifest, media_type) =
            Manifest::parse(checked.content_type.as_deref(), &checked.body)?;
        let role = match (&manifest, platform) {
            (Manifest::Index(_), _) => Role::Index,
            (Manifest::Image(_), platform) => Role::Manifest { platform },
        };
        (self.emit)(PullEvent::Object(objects::manifest_doc(
            &checked.body,
            checked.digest,
            &media_type,
            role,
            checked.header_digest.as_deref(),
            pin,
        )));
        Ok((checked.body, manifest, media_type))
    }

    /// The config, checked against its digest and size (fetched once more after a mismatch).
    pub async fn fetch_config(
        &self,
        reference: &Reference,
        descriptor: &Descriptor,
    ) -> Result<Vec<u8>, AppError> {
        let body = self
            .session
            .fetch_blob_document(
                reference,
                &descriptor.digest,
                Some(descriptor.size),
                Purpose::Config,
            )
            .await?;
        (self.emit)(PullEvent::Object(objects::blob_doc(
            &body,
            descriptor.digest.clone(),
            match &descriptor.media_type {
                MediaType::Other(unknown) if unknown.is_empty() => MediaType::DockerConfig,
                known => known.clone(),
            },
            Role::Config,
        )));
        Ok(body)
    }
}
