//! Pushing an archive the user picked to a registry: every blob checked against its digest
//! while the blobs upload, the request that commits each held until the whole archive passed
//! (nothing is committed from a corrupt archive), then per image the blobs committed and the
//! manifest put (`send`); and copying between registries (`copy`).

mod archive_file;
mod chunk_file;
mod copier;
mod copy;
mod referrers;
mod send;
mod staged;
mod streamed;

pub use copy::{read_platforms, start_copy, CopyRequest};
use send::{finish_held, push_blob, put_manifest, BlobPush, Held, Last, Pushed, Source};

use skiff_core::archive::push_archive::{ArchivedImage, BlobSource};
use skiff_core::archive::push_targets::push_targets;
use skiff_core::protocol::registry::Route;
use skiff_core::Digest;
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
            controllers: Default::default(),
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
    /// Each image's uploads, to stop them all when the check or another upload fails.
    controllers: std::cell::RefCell<Vec<web_sys::AbortController>>,
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
                    checked: false,
                });
            }
        }
        self.emit(PushEvent::Blobs(blobs));
        self.stage("Uploading while every blob is checked against its digest: nothing is committed before the whole archive passed");
        let hashing = crate::services::prefs::pull_settings().hashing;
        let check = archive_file::check(file, &images, hashing, |digest| {
            self.emit(PushEvent::Blob {
                digest: digest.clone(),
                state: BlobState::Verified,
            })
        });
        let mut summary = PushSummary::default();
        let send = async {
            let mut sent = Vec::new();
            for (position, (image, target)) in images.iter().zip(&targets).enumerate() {
                let image_sent = self.send_image(image, target, &mut summary).await;
                sent.push(self.in_image(position, images.len(), target, image_sent)?);
            }
            Ok(sent)
        };
        // The first failure of either ends both: a corrupt blob stops the uploads at once.
        let (_, sent) = match futures::future::try_join(check, send).await {
            Ok(both) => both,
            Err(error) => {
                self.abort_uploads();
                return Err(error);
            }
        };
        self.stage("Every blob matched its digest: committing them and the manifests");
        for (position, (image, sent)) in images.iter().zip(sent).enumerate() {
            let target = sent.target;
            let committed = self.commit_image(image, sent, &mut summary).await;
            self.in_image(position, images.len(), target, committed)?;
        }
        Ok(summary)
    }

    /// An image's failure, named by its place when the archive holds several; a refusal the
    /// credentials given could not lift says so.
    fn in_image<T>(
        &self,
        position: usize,
        total: usize,
        target: &Reference,
        result: Result<T, AppError>,
    ) -> Result<T, AppError> {
        let logged_in = self
            .request
            .credentials
            .as_ref()
            .is_some_and(|c| c.belong_to(target.registry()));
        result.map_err(|error| {
            let error = match error {
                AppError::Denied { what, status, code } if logged_in => AppError::PushDenied {
                    what,
                    status,
                    code,
                    registry: target.registry().to_owned(),
                },
                other => other,
            };
            match (total, error) {
                (_, AppError::Cancelled) => AppError::Cancelled,
                (1, error) => error,
                (_, error) => AppError::Image {
                    position: position + 1,
                    total,
                    reference: target.to_string(),
                    source: Box::new(error),
                },
            }
        })
    }

    /// Stops every upload still on its way (after a failure elsewhere).
    fn abort_uploads(&self) {
        for controller in self.controllers.borrow().iter() {
            controller.abort();
        }
    }

    /// Sends an image's blobs up to the request that commits each.
    async fn send_image<'t>(
        &self,
        image: &ArchivedImage,
        target: &'t Reference,
        summary: &mut PushSummary,
    ) -> Result<SentImage<'t>, AppError> {
        self.stage(format!("Uploading to {target}"));
        let controller =
            web_sys::AbortController::new().map_err(|e| js_error("starting the push", &e))?;
        let session = RegistrySession::for_push(
            Route::new(&self.request.proxy),
            target,
            self.request.credentials.clone(),
            controller.signal(),
            self.report.exchanges(),
        );
        self.controllers.borrow_mut().push(controller);
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
        let mut held = Vec::new();
        for (index, blob) in image.blobs.iter().enumerate() {
            if image.blobs[..index].iter().any(|b| b.digest == blob.digest) {
                continue;
            }
            let source = self.source(blob);
            let push = self.blob_push(target, blob, &source);
            match push_blob(&session, &push, mount_from.clone(), Last::Hold).await? {
                Pushed::Done(uploaded) => summary.count(uploaded),
                Pushed::Held(upload) => held.push((index, upload)),
            }
        }
        Ok(SentImage {
            session,
            target,
            held,
        })
    }

    /// Commits an image's held blobs, then puts its manifest.
    async fn commit_image(
        &self,
        image: &ArchivedImage,
        sent: SentImage<'_>,
        summary: &mut PushSummary,
    ) -> Result<(), AppError> {
        let SentImage {
            session,
            target,
            held,
        } = sent;
        self.stage(format!("Committing to {target}"));
        for (index, upload) in held {
            let blob = &image.blobs[index];
            let source = self.source(blob);
            let push = self.blob_push(target, blob, &source);
            summary.count(finish_held(&session, &push, upload).await?);
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
        match &image.refers_to {
            None => summary.pushed.push(format!("{target}@{digest}")),
            Some(referring) => {
                let found_by = match &referring.tag {
                    Some(tag) => format!("under cosign's tag {tag}"),
                    None => {
                        referrers::list_referrer(&session, target, &image, &referring.subject)
                            .await?
                    }
                };
                summary.referrers.push(format!("{digest} {found_by}"));
            }
        }
        Ok(())
    }

    fn source(&self, blob: &BlobSource) -> Source<'_> {
        Source::Archive {
            file: &self.request.file,
            offset: blob.member.offset,
        }
    }

    fn blob_push<'b>(
        &'b self,
        target: &'b Reference,
        blob: &'b BlobSource,
        source: &'b Source<'b>,
    ) -> BlobPush<'b> {
        BlobPush {
            target,
            digest: &blob.digest,
            size: blob.member.size,
            source,
            report: &self.report,
        }
    }
}

/// An image whose blobs are sent, the requests that commit them held.
struct SentImage<'t> {
    session: RegistrySession,
    target: &'t Reference,
    /// Each held blob's place in the image's blobs, and its upload.
    held: Vec<(usize, Held)>,
}

/// Where each image goes, as the core's [`push_targets`] decides; a referrer goes into its
/// subject's repository, under its cosign tag or by its digest.
fn targets(typed: &str, images: &[ArchivedImage]) -> Result<Vec<Reference>, AppError> {
    let names: Vec<Option<&str>> = images
        .iter()
        .filter(|i| i.refers_to.is_none())
        .map(|i| i.name.as_deref())
        .collect();
    let mut plain = push_targets(typed, &names)
        .map_err(|error| AppError::Archive(error.to_string()))?
        .into_iter();
    let mut targets: Vec<Option<Reference>> = images
        .iter()
        .map(|i| match i.refers_to {
            None => plain.next(),
            Some(_) => None,
        })
        .collect();
    for (index, image) in images.iter().enumerate() {
        let Some(referring) = &image.refers_to else {
            continue;
        };
        let subject = images
            .iter()
            .position(|i| i.refers_to.is_none() && Digest::of(&i.manifest) == referring.subject)
            .and_then(|at| targets[at].clone())
            .ok_or_else(|| {
                AppError::Archive(format!(
                    "the archive holds a manifest that refers to {}, an image it does not hold; save the image with it",
                    referring.subject
                ))
            })?;
        let at = match &referring.tag {
            Some(tag) => format!(":{tag}"),
            None => format!("@{}", Digest::of(&image.manifest)),
        };
        let reference = format!("{}/{}{at}", subject.registry(), subject.repository())
            .parse()
            .map_err(|e: skiff_core::Error| AppError::Archive(e.to_string()))?;
        targets[index] = Some(reference);
    }
    Ok(targets.into_iter().flatten().collect())
}
