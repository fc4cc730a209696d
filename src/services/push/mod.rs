//! Pushing an archive the user picked to a registry: every blob checked against its digest
//! first (nothing is uploaded from a corrupt archive), then per image each blob as the core's
//! [`BlobUpload`] decides (skipped when present, mounted from a sibling repository, one `PUT`
//! or chunks, resumed after a break), then the manifest's exact bytes.

mod archive_file;
mod chunk_file;
mod copy;
mod streamed;

pub use copy::{read_platforms, start_copy, CopyRequest};
use streamed::{Part, StreamedBlob};

use skiff_core::exchange::{Method, Purpose};
use skiff_core::push_archive::ArchivedImage;
use skiff_core::registry::{api_base, blob_url, manifest_url, Route};
use skiff_core::upload::{Answer, BlobUpload, UploadRequest, Uploaded};
use skiff_core::{Digest, Reference};
use yew::Callback;

use super::http::{error_for, js_error, Call, RegistrySession};
use crate::error::AppError;
use crate::state::push::{BlobState, MadeOrdinary, PushEvent, PushSummary, PushedBlob};
use crate::state::{Action, Credentials};

pub struct PushRequest {
    pub file: web_sys::File,
    /// Where to: a reference (one image), or a registry and namespace for several.
    pub target: String,
    pub proxy: String,
    pub credentials: Option<Credentials>,
}

pub fn start(request: PushRequest, dispatch: Callback<Action>) {
    dispatch.emit(Action::Push(PushEvent::Started));
    wasm_bindgen_futures::spawn_local(async move {
        let pusher = Pusher {
            request: &request,
            dispatch: dispatch.clone(),
        };
        let event = match pusher.run().await {
            Ok(summary) => PushEvent::Done(summary),
            Err(error) => PushEvent::Failed(error.to_string()),
        };
        dispatch.emit(Action::Push(event));
    });
}

struct Pusher<'a> {
    request: &'a PushRequest,
    dispatch: Callback<Action>,
}

impl Pusher<'_> {
    fn emit(&self, event: PushEvent) {
        self.dispatch.emit(Action::Push(event));
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
        for (image, target) in images.iter().zip(&targets) {
            self.push_image(image, target, &mut summary).await?;
        }
        Ok(summary)
    }

    async fn push_image(
        &self,
        image: &ArchivedImage,
        target: &Reference,
        summary: &mut PushSummary,
    ) -> Result<(), AppError> {
        self.stage(format!("Pushing to {target}"));
        let controller =
            web_sys::AbortController::new().map_err(|e| js_error("starting the push", &e))?;
        let dispatch = self.dispatch.clone();
        let session = RegistrySession::for_push(
            Route::new(&self.request.proxy),
            target,
            self.request.credentials.clone(),
            controller.signal(),
            Callback::from(move |exchange| dispatch.emit(Action::Exchange(exchange))),
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
            .ping(&skiff_core::registry::ping_url(target.registry()))
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
                &self.dispatch,
            );
            summary.count(pushed.await?);
        }
        // Foreign layers went up with the rest: the manifest names them as ordinary layers.
        let made = skiff_core::foreign_layers::made_distributable(&image.manifest)
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

/// Where a blob's bytes come from: the picked archive (checked whole before any upload), or
/// the source registry of a copy (streamed; its last byte goes only after the whole blob
/// matched its digest, so no unverified blob is committed).
pub enum Source<'a> {
    Archive {
        file: &'a web_sys::File,
        offset: u64,
    },
    Registry(Box<StreamedBlob<'a>>),
}

impl Source<'_> {
    /// Bytes `first..=last` of the blob.
    async fn part(&self, first: u64, last: u64) -> Result<Part, AppError> {
        match self {
            Self::Archive { file, offset } => {
                let slice = archive_file::slice(file, offset + first, offset + last)?;
                let size = slice.size() as u64;
                Ok(Part::Send(slice.into(), size))
            }
            Self::Registry(blob) => blob.part(first, last).await,
        }
    }
}

/// One blob into `target`, as the core's [`BlobUpload`] decides.
pub async fn push_blob(
    session: &RegistrySession,
    target: &Reference,
    (digest, size): (&Digest, u64),
    source: &Source<'_>,
    mount_from: Option<String>,
    dispatch: &Callback<Action>,
) -> Result<Uploaded, AppError> {
    let emit = |state| {
        dispatch.emit(Action::Push(PushEvent::Blob {
            digest: digest.clone(),
            state,
        }))
    };
    let base = api_base(target.registry());
    let uploads = format!("{base}/v2/{}/blobs/uploads/", target.repository());
    let mut upload = BlobUpload::new(digest.clone(), size, &base, mount_from);
    let what = format!("blob {}", digest.short());
    while let Some(request) = upload.poll_request() {
        let octets = ("Content-Type", "application/octet-stream".to_owned());
        let part = match &request {
            UploadRequest::PutWhole { .. } => Some(source.part(0, size.saturating_sub(1)).await?),
            UploadRequest::Patch { first, last, .. } => Some(source.part(*first, *last).await?),
            _ => None,
        };
        let body = match part {
            Some(Part::StartOver) => {
                upload.start_over();
                continue;
            }
            Some(Part::Send(body, length)) => Some((body, length)),
            None => None,
        };
        let (method, url, extra) = match &request {
            UploadRequest::Check => (Method::Head, blob_url(target, digest), vec![]),
            UploadRequest::Mount { from } => (
                Method::Post,
                format!("{uploads}?mount={digest}&from={from}"),
                vec![],
            ),
            UploadRequest::Start => (Method::Post, uploads.clone(), vec![]),
            UploadRequest::PutWhole { url } => (Method::Put, url.clone(), vec![octets]),
            UploadRequest::Patch { url, first, last } => {
                let range = ("Content-Range", format!("{first}-{last}"));
                (Method::Patch, url.clone(), vec![octets, range])
            }
            UploadRequest::Status { url } => (Method::Get, url.clone(), vec![]),
            UploadRequest::Finish { url } => (Method::Put, url.clone(), vec![]),
        };
        let sending = body.as_ref().map(|(_, length)| *length);
        let call = Call {
            method,
            url: &url,
            accept: None,
            purpose: Purpose::Upload,
            extra: &extra,
            body: body.map(|(body, _)| body),
        };
        // While a chunk goes up, the next one comes down from a copy's source.
        let read_ahead = async {
            if let (Source::Registry(blob), UploadRequest::Patch { last, .. }) = (source, &request)
            {
                blob.read_ahead(last + 1 + skiff_core::upload::CHUNK).await;
            }
        };
        let (sent, ()) = futures::future::join(session.send_call(&call), read_ahead).await;
        match sent {
            // The upstream failed under the upload (the proxy says so with a 502/504, a
            // registry with a 5xx): ask how much arrived.
            Ok(response) if sending.is_some() && response.status() >= 500 => upload.handle_break(),
            Ok(response) => {
                if let Some(bytes) = sending {
                    session.finish_sent(bytes);
                }
                let status = response.status();
                if status >= 400 && status != 404 {
                    return Err(error_for(&response, &what).await);
                }
                let headers = response.headers();
                let location = headers.get("location").map(|l| upstream_location(&l));
                let range = headers.get("range");
                let answer = Answer {
                    status,
                    location: location.as_deref(),
                    range: range.as_deref(),
                };
                upload
                    .handle_response(&answer)
                    .map_err(|e| AppError::Upload(format!("{what}: {e}")))?;
                if let (Some(_), UploadRequest::Patch { last, .. }) = (sending, &request) {
                    emit(BlobState::Uploading { sent: last + 1 });
                }
            }
            Err(AppError::Cancelled) => return Err(AppError::Cancelled),
            // A send that broke: the registry says how much arrived, and it goes on.
            Err(_) if sending.is_some() || matches!(request, UploadRequest::Finish { .. }) => {
                upload.handle_break()
            }
            Err(error) => return Err(error),
        }
    }
    let outcome = upload.outcome().unwrap_or(Uploaded::Present);
    emit(match outcome {
        Uploaded::Present => BlobState::Present,
        Uploaded::Mounted => BlobState::Mounted,
        Uploaded::Sent(sent) => BlobState::Uploaded { sent },
    });
    Ok(outcome)
}

/// `PUT /v2/<name>/manifests/<tag or digest>` with the manifest's exact bytes; the registry's
/// digest must be the bytes' own.
pub async fn put_manifest(
    session: &RegistrySession,
    target: &Reference,
    reference: &str,
    image: &ArchivedImage,
) -> Result<Digest, AppError> {
    let digest = Digest::of(&image.manifest);
    let url = manifest_url(target, reference);
    let body = js_sys::Uint8Array::from(image.manifest.as_slice());
    let extra = [("Content-Type", image.media_type.clone())];
    let call = Call {
        method: Method::Put,
        url: &url,
        accept: None,
        purpose: Purpose::ManifestPush,
        extra: &extra,
        body: Some(body.into()),
    };
    let response = session.send_call(&call).await?;
    session.finish_sent(image.manifest.len() as u64);
    if response.status() != 201 {
        return Err(match error_for(&response, "the manifest").await {
            // Writes are not sent again blindly, so the read-side hint about retries is wrong.
            AppError::Http {
                what, status, code, ..
            } if status >= 500 => AppError::Http {
                what,
                status,
                code,
                hint: "The registry failed while storing it (Skiff sent it once). Distribution answers 500 to some manifests it refuses; its log says why. Try again, or ask the registry's operators.".to_owned(),
            },
            other => other,
        });
    }
    match response.headers().get("docker-content-digest") {
        Some(said) if said != digest.to_string() => Err(AppError::Upload(format!(
            "the registry stored the manifest as {said}, but its bytes are {digest}"
        ))),
        _ => Ok(digest),
    }
}

/// Where each image goes: the typed reference for one image; for several, the typed registry
/// (and namespace) in front of each image's own repository and tag.
fn targets(typed: &str, images: &[ArchivedImage]) -> Result<Vec<Reference>, AppError> {
    let typed = typed.trim();
    if images.len() == 1 {
        return Ok(vec![typed.parse()?]);
    }
    let prefix = typed.trim_end_matches('/');
    images
        .iter()
        .map(|image| {
            let saved: Reference = image
                .name
                .as_deref()
                .ok_or_else(|| AppError::Archive("the archive holds several images and one has no name; push it to a reference of its own".to_owned()))?
                .parse()?;
            let tag = saved.tag().unwrap_or("latest");
            Ok(format!("{prefix}/{}:{tag}", saved.repository()).parse()?)
        })
        .collect()
}

/// The upstream URL of an upload session: through Skiff's proxy, `Location` is `/` followed by
/// the upstream's absolute URL; directly, it is the registry's own (perhaps relative) path.
fn upstream_location(location: &str) -> String {
    match location.strip_prefix('/') {
        Some(rest) if rest.starts_with("http://") || rest.starts_with("https://") => {
            rest.to_owned()
        }
        _ => location.to_owned(),
    }
}
