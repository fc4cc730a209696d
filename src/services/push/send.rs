//! Sending to the target registry: one blob as the core's [`BlobUpload`] decides (skipped when
//! present, mounted from a sibling repository, one `PUT` or chunks, resumed after a break),
//! from an archive or streamed from a copy's source; and a manifest as its exact bytes.

use skiff_core::archive::push_archive::ArchivedImage;
use skiff_core::explorer::exchange::{Method, Purpose};
use skiff_core::protocol::proxy_protocol::upstream_location;
use skiff_core::protocol::registry::{api_base, blob_url, manifest_url};
use skiff_core::transfer::upload::{Answer, BlobUpload, UploadRequest, Uploaded};
use skiff_core::{Digest, Reference};

use super::archive_file;
use super::staged::StagedBlob;
use super::streamed::{Part, StreamedBlob};
use crate::error::AppError;
use crate::services::http::{error_for, Call, RegistrySession};
use crate::services::Report;
use crate::state::push::{BlobState, PushEvent};

/// Where a blob's bytes come from: the picked archive (checked while it uploads; the request
/// that commits a blob waits for the whole archive's check), or
/// the source registry of a copy (streamed; its last byte goes only after the whole blob
/// matched its digest, so no unverified blob is committed).
pub enum Source<'a> {
    Archive {
        file: &'a web_sys::File,
        offset: u64,
    },
    Registry(Box<StreamedBlob<'a>>),
    /// Brought in by a layer worker while it uploads ([`StagedBlob`]).
    Staged(&'a StagedBlob),
    /// A small document already fetched and checked (a signature's payload, an SBOM).
    Bytes(&'a [u8]),
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
            Self::Staged(blob) => blob.part(first, last).await,
            Self::Bytes(bytes) => {
                let run = bytes
                    .get(first as usize..=last as usize)
                    .unwrap_or_default();
                let body = js_sys::Uint8Array::from(run);
                Ok(Part::Send(body.into(), run.len() as u64))
            }
        }
    }
}

/// One blob to send: where to, which, and where its bytes come from.
pub struct BlobPush<'a> {
    pub target: &'a Reference,
    pub digest: &'a Digest,
    pub size: u64,
    pub source: &'a Source<'a>,
    pub report: &'a Report<PushEvent>,
}

/// What to do with the request that commits the blob (the `PUT` with its digest).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Last {
    Send,
    /// Stop before it: the caller checks the bytes first, then calls [`finish_held`].
    Hold,
}

/// How far a blob got.
pub enum Pushed {
    Done(Uploaded),
    /// Its bytes are with the registry (or, for a blob sent in one `PUT`, none yet), and the
    /// request that commits it is not sent.
    Held(Held),
}

pub struct Held {
    upload: BlobUpload,
}

/// One blob into `target`, as the core's [`BlobUpload`] decides, up to its last request when
/// `last` is [`Last::Hold`].
pub async fn push_blob(
    session: &RegistrySession,
    blob: &BlobPush<'_>,
    mount_from: Option<String>,
    last: Last,
) -> Result<Pushed, AppError> {
    let base = api_base(blob.target.registry());
    let upload = BlobUpload::new(blob.digest.clone(), blob.size, &base, mount_from);
    drive(session, blob, upload, last).await
}

/// Sends a held blob's last request (and, for a blob sent in one `PUT`, its bytes).
pub async fn finish_held(
    session: &RegistrySession,
    blob: &BlobPush<'_>,
    held: Held,
) -> Result<Uploaded, AppError> {
    match drive(session, blob, held.upload, Last::Send).await? {
        Pushed::Done(uploaded) => Ok(uploaded),
        Pushed::Held(_) => unreachable!("a blob sent with Last::Send is never held"),
    }
}

async fn drive(
    session: &RegistrySession,
    blob: &BlobPush<'_>,
    mut upload: BlobUpload,
    last: Last,
) -> Result<Pushed, AppError> {
    let BlobPush {
        target,
        digest,
        size,
        source,
        report,
    } = *blob;
    let emit = |state| {
        report.emit(PushEvent::Blob {
            digest: digest.clone(),
            state,
        })
    };
    let base = api_base(target.registry());
    let uploads = format!("{base}/v2/{}/blobs/uploads/", target.repository());
    let what = format!("blob {}", digest.short());
    while let Some(request) = upload.poll_request() {
        let commits = matches!(
            request,
            UploadRequest::PutWhole { .. } | UploadRequest::Finish { .. }
        );
        if commits && last == Last::Hold {
            emit(BlobState::Held);
            return Ok(Pushed::Held(Held { upload }));
        }
        let octets = ("Content-Type", "application/octet-stream".to_owned());
        let part = match &request {
            UploadRequest::PutWhole { .. } | UploadRequest::PatchWhole { .. } => {
                Some(source.part(0, size.saturating_sub(1)).await?)
            }
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
            UploadRequest::PatchWhole { url } => (Method::Patch, url.clone(), vec![octets]),
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
                blob.read_ahead(last + 1 + skiff_core::transfer::upload::CHUNK)
                    .await;
            }
        };
        let (sent, ()) = futures::future::join(session.send_call(&call), read_ahead).await;
        match sent {
            Ok(response) => {
                if let Some(bytes) = sending {
                    session.finish_sent(bytes);
                }
                let status = response.status();
                let headers = response.headers();
                let location = headers
                    .get("location")
                    .map(|l| upstream_location(&l).to_owned());
                let range = headers.get("range");
                let answer = Answer {
                    status,
                    location: location.as_deref(),
                    range: range.as_deref(),
                };
                if let Err(refusal) = upload.handle_response(&answer) {
                    // The registry's own words from the answer that failed, when it sent any.
                    return Err(if status >= 400 {
                        write_refused(error_for(&response, &what).await)
                    } else {
                        AppError::Upload(format!("{what}: {refusal}"))
                    });
                }
                let patched = match &request {
                    UploadRequest::Patch { last, .. } => Some(last + 1),
                    UploadRequest::PatchWhole { .. } => Some(size),
                    _ => None,
                };
                if let (Some(sent), true) = (patched, status == 202) {
                    emit(BlobState::Uploading { sent });
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
    Ok(Pushed::Done(outcome))
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
    let extra = [("Content-Type", image.media_type.to_string())];
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
        return Err(write_refused(error_for(&response, "the manifest").await));
    }
    match response.headers().get("docker-content-digest") {
        Some(said) if said != digest.to_string() => Err(AppError::Upload(format!(
            "the registry stored the manifest as {said}, but its bytes are {digest}"
        ))),
        _ => Ok(digest),
    }
}

/// A write the registry refused with a 5xx: writes are not sent again blindly, so the
/// read-side hint about retries is wrong.
fn write_refused(error: AppError) -> AppError {
    match error {
        AppError::Http {
            what, status, code, ..
        } if status >= 500 => AppError::Http {
            what,
            status,
            code,
            hint: "The registry failed while storing it (Skiff sent it once). Some registries answer 500 to what they refuse; the registry's own words are above, and its log says more. Try again, or ask the registry's operators.".to_owned(),
        },
        other => other,
    }
}
