//! Pushing an archive the user picked to a registry: every blob checked against its digest
//! first (nothing is uploaded from a corrupt archive), then per image each blob and the
//! manifest (`send`); and copying between registries (`copy`).

mod archive_file;
mod chunk_file;
mod copy;
mod send;
mod streamed;

pub use copy::{read_platforms, start_copy, CopyRequest};
use send::{push_blob, put_manifest, Source};

use skiff_core::archive::push_archive::ArchivedImage;
use skiff_core::archive::push_targets::push_targets;
use skiff_core::protocol::registry::Route;
use skiff_core::Reference;

use super::http::{js_error, RegistrySession};
use crate::error::AppError;
use crate::services::Report;
use crate::state::push::{BlobState, MadeOrdinary, PushEvent, PushSummary, PushedBlob};
use crate::state::Credentials;

pub struct PushRequest {
    pub file: web_sys::File,
    /// Where to: a reference (one image), or a registry and namespace for several.
    pub target: String,
    pub proxy: String,
    pub credentials: Option<Credentials>,
}

pub fn start(request: PushRequest, report: Report<PushEvent>) {
    report.emit(PushEvent::Started { copy: false });
    wasm_bindgen_futures::spawn_local(async move {
        let pusher = Pusher {
            request: &request,
            report: report.clone(),
        };
        let event = match pusher.run().await {
            Ok(summary) => PushEvent::Done(summary),
            Err(error) => PushEvent::Failed(error.to_string()),
        };
        report.emit(event);
    });
}

struct Pusher<'a> {
    request: &'a PushRequest,
    report: Report<PushEvent>,
}

impl Pusher<'_> {
    fn emit(&self, event: PushEvent) {
        self.report.emit(event);
    }

    fn stage(&self, stage: impl Into<String>) {
        self.emit(PushEvent::Stage(stage.into()));
    }

    async fn run(&self) -> Result<PushSummary, AppError> {
        let file = &self.request.file;
        self.stage(format!("Reading {}", file.name()));
        let images = archive_file::images(file).await?;
        let targets = targets(&self.request.target, &images)?;
        let mut blobs: Vec<PushedBlob> = Vec::new();
        for blob in images.iter().flat_map(|i| &i.blobs) {
            if !blobs.iter().any(|b| b.digest == blob.digest) {
                blobs.push(PushedBlob {
                    digest: blob.digest.clone(),
                    size: blob.member.size,
                    state: BlobState::Waiting,
                });
            }
        }
        self.emit(PushEvent::Blobs(blobs));
        self.stage("Checking every blob against its digest before uploading anything");
        archive_file::check(file, &images, |digest| {
            self.emit(PushEvent::Blob {
                digest: digest.clone(),
                state: BlobState::Verified,
            })
        })
        .await?;
        let mut summary = PushSummary::default();
        let total = images.len();
        for (position, (image, target)) in images.iter().zip(&targets).enumerate() {
            let pushed = self.push_image(image, target, &mut summary).await;
            pushed.map_err(|error| match (total, error) {
                (_, AppError::Cancelled) => AppError::Cancelled,
                (1, error) => error,
                (_, error) => AppError::Image {
                    position: position + 1,
                    total,
                    reference: target.to_string(),
                    source: Box::new(error),
                },
            })?;
        }
        Ok(summary)
    }

    /// One image to `target`; a refusal the credentials given could not lift says so.
    async fn push_image(
        &self,
        image: &ArchivedImage,
        target: &Reference,
        summary: &mut PushSummary,
    ) -> Result<(), AppError> {
        let logged_in = self
            .request
            .credentials
            .as_ref()
            .is_some_and(|c| c.belong_to(target.registry()));
        self.push_image_as(image, target, summary)
            .await
            .map_err(|error| match error {
                AppError::Denied { what, status, code } if logged_in => AppError::PushDenied {
                    what,
                    status,
                    code,
                    registry: target.registry().to_owned(),
                },
                other => other,
            })
    }

    async fn push_image_as(
        &self,
        image: &ArchivedImage,
        target: &Reference,
        summary: &mut PushSummary,
    ) -> Result<(), AppError> {
        self.stage(format!("Pushing to {target}"));
        let controller =
            web_sys::AbortController::new().map_err(|e| js_error("starting the push", &e))?;
        let session = RegistrySession::for_push(
            Route::new(&self.request.proxy),
            target,
            self.request.credentials.clone(),
            controller.signal(),
            self.report.exchanges(),
        );
        // Saved from another repository of this registry: its blobs are mounted from there.
        let mount_from = image
            .name
            .as_deref()
            .and_then(|name| name.parse::<Reference>().ok())
            .filter(|saved| {
                saved.registry() == target.registry() && saved.repository() != target.repository()
            })
            .map(|saved| saved.repository().to_owned());
        if let Some(repository) = &mount_from {
            session.also_pull(repository);
        }
        session
            .ping(&skiff_core::protocol::registry::ping_url(target.registry()))
            .await?;
        for blob in &image.blobs {
            let source = Source::Archive {
                file: &self.request.file,
                offset: blob.member.offset,
            };
            let pushed = push_blob(
                &session,
                target,
                (&blob.digest, blob.member.size),
                &source,
                mount_from.clone(),
                &self.report,
            );
            summary.count(pushed.await?);
        }
        // Foreign layers went up with the rest: the manifest names them as ordinary layers.
        let made = skiff_core::transfer::foreign_layers::made_distributable(&image.manifest)
            .map_err(|e| AppError::Archive(e.to_string()))?;
        let image = match made {
            Some((manifest, layers)) => {
                summary.made_ordinary.push(MadeOrdinary {
                    image: target.to_string(),
                    layers,
                    was: skiff_core::Digest::of(&image.manifest),
                });
                ArchivedImage {
                    manifest,
                    ..image.clone()
                }
            }
            None => image.clone(),
        };
        let digest = put_manifest(&session, target, &target.manifest_reference(), &image).await?;
        summary.pushed.push(format!("{target}@{digest}"));
        Ok(())
    }
}

/// Where each image goes, as the core's [`push_targets`] decides.
fn targets(typed: &str, images: &[ArchivedImage]) -> Result<Vec<Reference>, AppError> {
    let names: Vec<Option<&str>> = images.iter().map(|i| i.name.as_deref()).collect();
    push_targets(typed, &names).map_err(|error| AppError::Archive(error.to_string()))
}
