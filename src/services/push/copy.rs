//! Registry to registry without saving, like `skopeo copy --all`: the source's manifest (and,
//! for an index, every chosen platform's manifest), each blob the target lacks streamed from
//! the source into the target's upload and committed only once it matched its digest (mounted
//! instead when both are repositories of one registry), then the manifests as their exact
//! bytes, children by digest and the top one by tag. All platforms keep the index's digest; a
//! choice of them writes a new index (the core's [`choose_platforms`]).

use skiff_core::archive::push_archive::ArchivedImage;
use skiff_core::image::manifest::Manifest;
use skiff_core::image::manifest_check::Expected;
use skiff_core::protocol::registry::{ping_url, Route};
use skiff_core::transfer::copy_plan::choose_platforms;
use skiff_core::{Digest, Platform, Reference};

use std::rc::Rc;

use futures::{StreamExt as _, TryStreamExt as _};
use skiff_core::transfer::upload::Uploaded;

use super::copier::{Copier, Staging};
use super::referrers::{copy_referrer, Ends};
use super::send::put_manifest;
use crate::error::AppError;
use crate::services::http::{js_error, RegistrySession};
use crate::services::objects::lookup_referrers;
use crate::services::Report;
use crate::state::push::{BlobState, ChosenPlatforms, PushEvent, PushSummary, PushedBlob};
use crate::state::Credentials;

pub struct CopyRequest {
    pub from: String,
    pub to: String,
    /// The index's platforms to copy; empty: all of them.
    pub platforms: Vec<Platform>,
    pub proxy: String,
    /// Each registry's own credentials.
    pub from_credentials: Option<Credentials>,
    pub to_credentials: Option<Credentials>,
    /// Also copy the signatures, SBOMs and attestations that refer to what is copied.
    pub with_referrers: bool,
}

pub fn start_copy(request: CopyRequest, report: Report<PushEvent>) {
    report.emit(PushEvent::Started { copy: true });
    wasm_bindgen_futures::spawn_local(async move {
        let event = match copy(&request, &report).await {
            Ok(summary) => PushEvent::Done(summary),
            Err(error) => PushEvent::Failed(error.to_string()),
        };
        report.emit(event);
    });
}

/// Reads the source's top manifest and says which platforms it offers (none: one image).
pub fn read_platforms(request: CopyRequest, report: Report<PushEvent>) {
    wasm_bindgen_futures::spawn_local(async move {
        let offered = offered_platforms(&request, &report)
            .await
            .map_err(|error| error.to_string());
        report.emit(PushEvent::Offered {
            from: request.from.trim().to_owned(),
            platforms: offered,
        });
    });
}

async fn offered_platforms(
    request: &CopyRequest,
    report: &Report<PushEvent>,
) -> Result<Vec<Platform>, AppError> {
    let from: Reference = request.from.trim().parse()?;
    let (source, _controller) = source_session(request, &from, report)?;
    source.ping(&ping_url(from.registry())).await?;
    let pin = from.digest().cloned();
    let (_, manifest) =
        fetch_manifest(&source, &from, &from.manifest_reference(), pin.as_ref()).await?;
    Ok(match manifest {
        Manifest::Image(_) => Vec::new(),
        Manifest::Index(index) => skiff_core::image::platform::offered(&index)
            .into_iter()
            .filter_map(|(_, d)| d.platform.as_ref().map(Platform::from))
            .collect(),
    })
}

fn source_session(
    request: &CopyRequest,
    from: &Reference,
    report: &Report<PushEvent>,
) -> Result<(RegistrySession, web_sys::AbortController), AppError> {
    let controller =
        web_sys::AbortController::new().map_err(|e| js_error("starting the copy", &e))?;
    let session = RegistrySession::new(
        Route::new(&request.proxy),
        from,
        request.from_credentials.clone(),
        controller.signal(),
        report.exchanges(),
    );
    Ok((session, controller))
}

/// A manifest to write to the target, as its exact bytes.
struct Written {
    document: ArchivedImage,
    /// Written under its digest (a platform's manifest) or the target's tag (the top one).
    by_digest: bool,
}

async fn copy(request: &CopyRequest, report: &Report<PushEvent>) -> Result<PushSummary, AppError> {
    let from: Reference = request.from.trim().parse()?;
    let to: Reference = request.to.trim().parse()?;
    let stage = |text: String| report.emit(PushEvent::Stage(text));
    let (source, controller) = source_session(request, &from, report)?;
    let source = Rc::new(source);
    stage(format!("Reading {from}"));
    source.ping(&ping_url(from.registry())).await?;
    let pin = from.digest().cloned();
    let (mut top, manifest) =
        fetch_manifest(&source, &from, &from.manifest_reference(), pin.as_ref()).await?;
    let mut summary = PushSummary {
        copied: true,
        ..PushSummary::default()
    };
    let mut written = Vec::new();
    let mut blobs: Vec<(Digest, u64)> = Vec::new();
    let mut add_blobs = |manifest: &Manifest| {
        if let Manifest::Image(image) = manifest {
            for d in std::iter::once(&image.config).chain(&image.layers) {
                // Like skopeo: a foreign layer stays at its URLs, the manifest naming them.
                let foreign = d.media_type.is_foreign();
                if !foreign && !blobs.iter().any(|(digest, _)| *digest == d.digest) {
                    blobs.push((d.digest.clone(), d.size));
                }
            }
        }
    };
    match &manifest {
        Manifest::Image(_) => add_blobs(&manifest),
        Manifest::Index(index) => {
            let chosen = choose_platforms(&top.manifest, index, &request.platforms)
                .map_err(|e| AppError::Upload(format!("{from}: {e}")))?;
            if !chosen.unchanged {
                summary.chosen = Some(ChosenPlatforms {
                    kept: request.platforms.clone(),
                    offered: skiff_core::image::platform::offered(index).len(),
                    source_index: Digest::of(&top.manifest),
                });
                top.manifest = chosen.bytes;
            }
            for entry in &chosen.entries {
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
        document: top,
        by_digest: false,
    });
    report.emit(PushEvent::Blobs(
        blobs
            .iter()
            .map(|(digest, size)| PushedBlob {
                digest: digest.clone(),
                size: *size,
                state: BlobState::Waiting,
                checked: false,
            })
            .collect(),
    ));

    let target = RegistrySession::for_push(
        Route::new(&request.proxy),
        &to,
        request.to_credentials.clone(),
        controller.signal(),
        report.exchanges(),
    );
    // One registry: the target mounts the blob from the source repository, no bytes move.
    let mount_from = (from.registry() == to.registry() && from.repository() != to.repository())
        .then(|| from.repository().to_owned());
    if let Some(repository) = &mount_from {
        target.also_pull(repository);
    }
    stage(format!("Copying to {to}"));
    target.ping(&ping_url(to.registry())).await?;
    let copier = Copier {
        from: &from,
        to: &to,
        target: &target,
        mount_from,
        report,
        staging: Staging::open(&source, report).await,
        source: &source,
    };
    // Blobs streamed through the page go one at a time (each holds two chunks in memory).
    let parallel = copier.staging.as_ref().map_or(1, |s| s.fetcher.pool.size());
    let uploaded: Vec<Option<Uploaded>> = futures::stream::iter(&blobs)
        .map(|(digest, size)| copier.blob(digest, *size))
        .buffer_unordered(parallel)
        .try_collect()
        .await?;
    for uploaded in uploaded.into_iter().flatten() {
        summary.count(uploaded);
    }
    for manifest in &written {
        let reference = if manifest.by_digest {
            Digest::of(&manifest.document.manifest).to_string()
        } else {
            to.manifest_reference()
        };
        let digest = put_manifest(&target, &to, &reference, &manifest.document)
            .await
            .map_err(|error| with_foreign_hint(error, &manifest.document.manifest))?;
        if !manifest.by_digest {
            summary.pushed.push(format!("{to}@{digest}"));
        }
    }
    if request.with_referrers {
        stage(format!("Copying the signatures and SBOMs of {from}"));
        let subjects: Vec<Digest> = written
            .iter()
            .map(|w| Digest::of(&w.document.manifest))
            .collect();
        let (found, _) = lookup_referrers(&source, &from, &subjects).await?;
        let ends = Ends {
            source: &source,
            from: &from,
            target: &target,
            to: &to,
        };
        for referrer in &found {
            copy_referrer(&ends, referrer, report, &mut summary).await?;
        }
    }
    Ok(summary)
}

/// A refused manifest that names foreign layers: most likely refused for their URLs.
fn with_foreign_hint(error: AppError, manifest: &[u8]) -> AppError {
    match skiff_core::transfer::foreign_layers::made_distributable(manifest) {
        Ok(Some((_, layers))) => AppError::Upload(format!(
            "{}. The manifest names {layers} foreign layer{} by URL, as the source has them, and registries such as Distribution refuse such manifests unless configured to allow the URLs (validation.manifests.urls.allow). Pull the image into an archive and push that instead: Skiff then uploads foreign layers as ordinary ones.",
            error.to_string().trim_end_matches('.'),
            if layers == 1 { "" } else { "s" }
        )),
        _ => error,
    }
}

/// A manifest of the source, checked against the digest it was named by (if any) and the
/// registry's `Docker-Content-Digest`.
async fn fetch_manifest(
    session: &RegistrySession,
    from: &Reference,
    reference: &str,
    pin: Option<&Digest>,
) -> Result<(ArchivedImage, Manifest), AppError> {
    let expected = pin.map(|digest| Expected {
        digest,
        size: None,
        source: "the reference",
    });
    let checked = session.fetch_manifest(from, reference, expected).await?;
    let (manifest, media_type) = checked.parse()?;
    Ok((
        ArchivedImage {
            name: None,
            manifest: checked.body,
            media_type,
            blobs: Vec::new(),
            refers_to: None,
        },
        manifest,
    ))
}
