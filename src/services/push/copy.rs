//! Registry to registry without saving, like `skopeo copy --all`: the source's manifest (and,
//! for an index, every platform's manifest), each blob the target lacks fetched from the source
//! and checked against its digest before it is uploaded (mounted instead when both are
//! repositories of one registry), then the manifests as their exact bytes, children by digest
//! and the top one by tag, so the index keeps its digest.

use skiff_core::exchange::Purpose;
use skiff_core::manifest::{Manifest, MANIFEST_ACCEPT};
use skiff_core::manifest_check::{check_manifest, Expected};
use skiff_core::push_archive::ArchivedImage;
use skiff_core::registry::{blob_url, manifest_url, ping_url, Route};
use skiff_core::{BlobVerifier, Digest, Reference};
use wasm_bindgen::JsCast as _;
use wasm_bindgen_futures::JsFuture;
use yew::Callback;

use super::{archive_file, push_blob, put_manifest, Source};
use crate::error::{js_error_text, AppError};
use crate::services::http::{expect_ok, js_error, RegistrySession};
use crate::state::push::{BlobState, PushEvent, PushSummary, PushedBlob};
use crate::state::{Action, Credentials};

pub struct CopyRequest {
    pub from: String,
    pub to: String,
    pub proxy: String,
    /// Each registry's own credentials (the form binds credentials to one registry).
    pub from_credentials: Option<Credentials>,
    pub to_credentials: Option<Credentials>,
}

pub fn start_copy(request: CopyRequest, dispatch: Callback<Action>) {
    dispatch.emit(Action::Push(PushEvent::Started));
    wasm_bindgen_futures::spawn_local(async move {
        let event = match copy(&request, &dispatch).await {
            Ok(summary) => PushEvent::Done(summary),
            Err(error) => PushEvent::Failed(error.to_string()),
        };
        dispatch.emit(Action::Push(event));
    });
}

/// A manifest to write to the target, as its exact bytes.
struct Written {
    document: ArchivedImage,
    /// Written under its digest (a platform's manifest) or the target's tag (the top one).
    by_digest: bool,
}

async fn copy(request: &CopyRequest, dispatch: &Callback<Action>) -> Result<PushSummary, AppError> {
    let from: Reference = request.from.trim().parse()?;
    let to: Reference = request.to.trim().parse()?;
    let stage = |text: String| dispatch.emit(Action::Push(PushEvent::Stage(text)));
    let controller =
        web_sys::AbortController::new().map_err(|e| js_error("starting the copy", &e))?;
    let report = {
        let dispatch = dispatch.clone();
        Callback::from(move |exchange| dispatch.emit(Action::Exchange(exchange)))
    };
    let route = Route::new(&request.proxy);
    let source = RegistrySession::new(
        route.clone(),
        &from,
        request.from_credentials.clone(),
        controller.signal(),
        report.clone(),
    );
    stage(format!("Reading {from}"));
    source.ping(&ping_url(from.registry())).await?;
    let pin = from.digest().cloned();
    let top = fetch_manifest(&source, &from, &from.manifest_reference(), pin.as_ref()).await?;
    let mut written = Vec::new();
    let mut blobs: Vec<(Digest, u64)> = Vec::new();
    let mut add_blobs = |manifest: &Manifest| {
        if let Manifest::Image(image) = manifest {
            for d in std::iter::once(&image.config).chain(&image.layers) {
                if !blobs.iter().any(|(digest, _)| *digest == d.digest) {
                    blobs.push((d.digest.clone(), d.size));
                }
            }
        }
    };
    match &top.1 {
        Manifest::Image(_) => add_blobs(&top.1),
        Manifest::Index(index) => {
            for entry in &index.manifests {
                let child = fetch_manifest(
                    &source,
                    &from,
                    &entry.digest.to_string(),
                    Some(&entry.digest),
                )
                .await?;
                if matches!(child.1, Manifest::Index(_)) {
                    return Err(AppError::Upload(format!(
                        "{} is an index inside an index; Skiff copies one level",
                        entry.digest
                    )));
                }
                add_blobs(&child.1);
                written.push(Written {
                    document: child.0,
                    by_digest: true,
                });
            }
        }
    }
    written.push(Written {
        document: top.0,
        by_digest: false,
    });
    dispatch.emit(Action::Push(PushEvent::Blobs(
        blobs
            .iter()
            .map(|(digest, size)| PushedBlob {
                digest: digest.clone(),
                size: *size,
                state: BlobState::Waiting,
            })
            .collect(),
    )));

    let target = RegistrySession::for_push(
        route,
        &to,
        request.to_credentials.clone(),
        controller.signal(),
        report,
    );
    // One registry: the target mounts the blob from the source repository, no bytes move.
    let mount_from = (from.registry() == to.registry() && from.repository() != to.repository())
        .then(|| from.repository().to_owned());
    if let Some(repository) = &mount_from {
        target.also_pull(repository);
    }
    stage(format!("Copying to {to}"));
    target.ping(&ping_url(to.registry())).await?;
    let mut summary = PushSummary::default();
    for (digest, size) in &blobs {
        let bytes = Source::Registry {
            session: &source,
            url: blob_url(&from, digest),
            fetched: std::cell::RefCell::new(None),
        };
        let pushed = push_blob(
            &target,
            &to,
            (digest, *size),
            &bytes,
            mount_from.clone(),
            dispatch,
        );
        summary.count(pushed.await?);
    }
    for manifest in &written {
        let reference = if manifest.by_digest {
            Digest::of(&manifest.document.manifest).to_string()
        } else {
            to.manifest_reference()
        };
        let digest = put_manifest(&target, &to, &reference, &manifest.document).await?;
        if !manifest.by_digest {
            summary.pushed.push(format!("{to}@{digest}"));
        }
    }
    Ok(summary)
}

/// A manifest of the source, checked against the digest it was named by (if any) and the
/// registry's `Docker-Content-Digest`.
async fn fetch_manifest(
    session: &RegistrySession,
    from: &Reference,
    reference: &str,
    pin: Option<&Digest>,
) -> Result<(ArchivedImage, Manifest), AppError> {
    let url = manifest_url(from, reference);
    let document = session
        .get_document(&url, Some(MANIFEST_ACCEPT), Purpose::Manifest, None)
        .await?;
    let expected = pin.map(|digest| Expected {
        digest,
        size: None,
        source: "the reference",
    });
    check_manifest(&document.body, expected, document.digest.as_deref())?;
    let (manifest, media_type) = Manifest::parse(document.content_type.as_deref(), &document.body)?;
    Ok((
        ArchivedImage {
            name: None,
            manifest: document.body,
            media_type,
            blobs: Vec::new(),
        },
        manifest,
    ))
}

/// A blob of the source, whole, as a `Blob` the browser keeps (on disk when it is big),
/// checked against its digest and size before anything of it is uploaded.
pub async fn fetch_blob(
    session: &RegistrySession,
    url: &str,
    digest: &Digest,
    size: u64,
) -> Result<web_sys::Blob, AppError> {
    let what = format!("blob {}", digest.short());
    let response = expect_ok(session.get(url, None, Purpose::Layer).await?, &what).await?;
    let raw: web_sys::Response = response.into();
    let promise = raw
        .blob()
        .map_err(|e| AppError::Browser(format!("reading {what}: {}", js_error_text(&e))))?;
    let blob: web_sys::Blob = JsFuture::from(promise)
        .await
        .map_err(|e| AppError::Browser(format!("reading {what}: {}", js_error_text(&e))))?
        .unchecked_into();
    let mut verifier = BlobVerifier::new(digest.clone(), size);
    let mut at = 0;
    let total = blob.size() as u64;
    while at < total {
        let length = (8u64 << 20).min(total - at);
        verifier.update(&archive_file::read(&blob, at, length).await?)?;
        at += length;
    }
    verifier.finish()?;
    Ok(blob)
}
