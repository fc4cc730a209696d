//! Finding the image: the core's [`ImageResolver`] says what to fetch (the manifest, through an
//! index for the wanted platform, then the config) and checks what came; this fetches it and
//! tells the pull's view and the explorer what was found.

use skiff_core::explorer::exchange::Purpose;
use skiff_core::image::manifest::Descriptor;
use skiff_core::image::media_type::MediaType;
use skiff_core::image::platform::Platform;
use skiff_core::transfer::resolve::{ImageResolver, Learned, ResolveError, ResolvedImage, Wanted};
use skiff_core::Reference;

use super::Emit;
use crate::error::AppError;
use crate::services::http::RegistrySession;
use crate::services::objects;
use crate::state::explorer::Role;
use crate::state::{PlatformOffer, PullEvent};

pub struct Resolver<'a> {
    pub session: &'a RegistrySession,
    pub emit: &'a Emit,
}

impl Resolver<'_> {
    /// The image to pull for `wanted`: its manifest (through an index when the reference names
    /// one) and its config, each checked against what named it.
    pub async fn resolve(
        &self,
        reference: &Reference,
        wanted: &Platform,
    ) -> Result<ResolvedImage, AppError> {
        let mut resolver = ImageResolver::new(reference.clone(), wanted.clone());
        let failed = |error| self.refused(error, reference);
        loop {
            match resolver.poll() {
                Wanted::Manifest {
                    manifest_reference,
                    expected,
                    platform,
                } => {
                    let checked = self
                        .session
                        .fetch_manifest(reference, &manifest_reference, expected)
                        .await?;
                    let (_, media_type) = checked.parse()?;
                    let role = match (media_type.is_index(), platform) {
                        (true, _) => Role::Index,
                        (false, platform) => Role::Manifest { platform },
                    };
                    let doc = objects::manifest_doc(&checked, media_type, role, expected);
                    (self.emit)(PullEvent::Object(doc));
                    if let Learned::Index { offered, chosen } =
                        resolver.handle_manifest(checked).map_err(failed)?
                    {
                        self.found_index(offered, chosen);
                    }
                }
                Wanted::Config(descriptor) => {
                    (self.emit)(PullEvent::Stage("Fetching the image config".into()));
                    let body = self
                        .session
                        .fetch_blob_document(
                            reference,
                            &descriptor.digest,
                            Some(descriptor.size),
                            Purpose::Config,
                        )
                        .await?;
                    let media_type = match &descriptor.media_type {
                        MediaType::Other(none) if none.is_empty() => MediaType::DockerConfig,
                        known => known.clone(),
                    };
                    let doc = objects::blob_doc(
                        &body,
                        descriptor.digest.clone(),
                        media_type,
                        Role::Config,
                    );
                    (self.emit)(PullEvent::Object(doc));
                    resolver.handle_config(body).map_err(failed)?;
                }
                Wanted::Done => {
                    return Ok(resolver
                        .into_image()
                        .expect("the resolver is done with an image"))
                }
            }
        }
    }

    fn found_index(&self, offered: Vec<(String, Descriptor)>, chosen: String) {
        self.offered(offered);
        (self.emit)(PullEvent::PlatformChosen {
            platform: chosen.clone(),
        });
        (self.emit)(PullEvent::Stage(format!(
            "Fetching the manifest for {chosen}"
        )));
    }

    /// The index's platforms, for the platform picker.
    fn offered(&self, offered: Vec<(String, Descriptor)>) {
        let offers = offered
            .into_iter()
            .map(|(label, descriptor)| PlatformOffer {
                platform: descriptor
                    .platform
                    .as_ref()
                    .map(Platform::from)
                    .expect("offered entries have a platform"),
                label,
                digest: descriptor.digest,
            })
            .collect();
        (self.emit)(PullEvent::IndexFetched { offers });
    }

    /// The resolver's refusal, in the app's words (the platforms an index offers shown, so
    /// another can be picked).
    fn refused(&self, error: ResolveError, reference: &Reference) -> AppError {
        match error {
            ResolveError::PlatformNotOffered { wanted, offered } => {
                let labels: Vec<String> = offered.iter().map(|(l, _)| l.clone()).collect();
                self.offered(offered);
                AppError::PlatformNotOffered {
                    reference: reference.to_string(),
                    wanted,
                    offered: labels.join(", "),
                }
            }
            ResolveError::NestedIndex { platform } => AppError::NestedIndex { platform },
            ResolveError::LayerCountMismatch { diff_ids, layers } => {
                AppError::LayerCountMismatch { diff_ids, layers }
            }
            ResolveError::Document(error) => error.into(),
        }
    }
}
