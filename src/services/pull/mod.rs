//! One pull, start to finish, as a short orchestration: references checked, then per image
//! ([`image`]) the version check and auth, manifest and config ([`resolve`]), the layers from
//! the cache or the worker pool ([`layers`]); then the archive assembled from cached files
//! ([`assemble`]). Whoever starts it keeps its [`PullHandle`] ([`handle`]); the layer cache as
//! the app sees it is in [`storage`]. Everything it reports is a [`PullEvent`]; the reducer maps
//! those to state.

mod assemble;
mod handle;
mod image;
pub(crate) mod layers;
mod referrers;
mod resolve;
mod storage;
pub mod target;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use skiff_core::archive::layout::{
    archive_with_referrers, uncompressed_manifest, ArchiveImage, AttachedManifest,
};
use skiff_core::archive::tar_parts::Part;
use skiff_core::image::artifact::{save_as, ArtifactKind};
use skiff_core::image::platform::Platform;
use skiff_core::image::reference::PullInput;
use skiff_core::protocol::registry::{ping_url, Route};
use skiff_core::transfer::layer::UnpackedLayer;
use skiff_core::{Digest, Reference};
use web_sys::AbortController;
use yew::Callback;

use crate::engine::cache::Cache;
use crate::engine::pool::Pool;
use crate::engine::protocol::JobSettings;
use crate::error::AppError;
use crate::services::http::{js_error, now_ms, RegistrySession};
use crate::state::{
    CacheInfo, Credentials, ErrorReport, ImageContents, LayerRow, PinnedTag, PullEvent,
    SavedArchive,
};

pub use handle::PullHandle;
use layers::{Layers, ProgressGate};
use resolve::Resolver;
use skiff_core::transfer::hashing::HashSettings;
use storage::open_cache;
pub use storage::{cache_info, clear_cache, storage_problem};
use target::Target;

/// How a pull reports.
pub type Emit = Rc<dyn Fn(PullEvent)>;

/// How the engine works; settings, not constants (the benchmark varies them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PullSettings {
    /// Layer workers running at once.
    pub parallel_layers: usize,
    pub job: JobSettings,
    /// The layer cache's size limit, bytes.
    pub cache_cap_bytes: u64,
    /// The layer rows are redrawn at most this often: painting progress on the page thread
    /// cost a tenth of the pull's time when every worker's report was drawn.
    pub render_interval_ms: u32,
    /// Which SHA-256 hashes what: the browser's native memory budget, lanes per worker.
    pub hashing: HashSettings,
    /// A pull into a chosen file also keeps its layers in the cache (else they are written
    /// once, into the file).
    pub cache_chosen_file: bool,
}

impl Default for PullSettings {
    fn default() -> Self {
        Self {
            parallel_layers: 4,
            job: JobSettings::default(),
            cache_cap_bytes: 20_000_000_000,
            render_interval_ms: 250,
            hashing: HashSettings::default(),
            cache_chosen_file: false,
        }
    }
}

/// What the user asked for.
pub struct PullRequest {
    /// One or more references (or pasted pull lines), all saved into one archive.
    pub images: Vec<String>,
    pub proxy: String,
    /// Used when the reference is a multi-platform index.
    pub platform: String,
    /// Store layers uncompressed (checked against the config's diff IDs).
    pub uncompressed: bool,
    pub credentials: Option<Credentials>,
    pub settings: PullSettings,
    /// Pulled again after a reload interrupted it.
    pub resumed: bool,
    /// Write the archive into this file (chosen by the user) instead of offering a download.
    pub save_to: Option<web_sys::FileSystemFileHandle>,
    /// Only the manifests and configs: look inside, download no layer.
    pub inspect_only: bool,
    /// A bundle: the archive also lists what it holds (`images.txt`).
    pub bundle: bool,
    /// Also carry each image's signatures, SBOMs and attestations in the archive.
    pub with_referrers: bool,
    /// Save only if every image is signed by this key or identity.
    pub require: Option<crate::state::trust::SignerFields>,
}

/// Starts a pull in the background; it reports its [`PullEvent`]s, and, once it ended, what the
/// layer cache holds. The caller keeps the handle (and has released the previous pull's).
pub fn start(
    request: PullRequest,
    events: Callback<PullEvent>,
    cache: Callback<CacheInfo>,
) -> PullHandle {
    let emit: Emit = Rc::new(move |event| events.emit(event));
    let handle = PullHandle::default();
    let held = handle.clone();
    wasm_bindgen_futures::spawn_local(async move {
        emit(PullEvent::Started {
            reference: request.images.join(", "),
        });
        let controller = match AbortController::new() {
            Ok(controller) => controller,
            Err(e) => return fail(&emit, &js_error("starting the pull", &e)),
        };
        held.0.borrow_mut().controller = Some(controller.clone());
        let target = match &request.save_to {
            Some(handle) => match Target::open(handle).await {
                Ok(target) => Some(Rc::new(target)),
                Err(error) => return fail(&emit, &error),
            },
            None => None,
        };
        let pull = Pull {
            emit: emit.clone(),
            controller,
            request,
            target,
            handle: held,
        };
        let result = pull.run().await;
        // Finished, failed or cancelled: nothing to resume after a reload.
        crate::services::prefs::clear_pull_in_progress();
        if let Err(error) = result {
            pull.controller.abort();
            fail(&emit, &error);
        }
        if let Some(info) = cache_info(pull.request.settings.cache_cap_bytes).await {
            cache.emit(info);
        }
    });
    handle
}

/// Names the image an error belongs to when the archive holds several.
fn in_image(position: usize, total: usize, reference: &str, error: AppError) -> AppError {
    if total == 1 {
        error
    } else {
        AppError::Image {
            position: position + 1,
            total,
            reference: reference.to_owned(),
            source: Box::new(error),
        }
    }
}

fn fail(emit: &Emit, error: &AppError) {
    emit(PullEvent::Failed(ErrorReport {
        title: error.title().to_owned(),
        message: error.to_string(),
        wants_credentials: error.wants_credentials(),
    }));
}

/// What the archive's images brought so far.
#[derive(Default)]
struct Brought {
    /// Compressed digests, in the order of the layer rows shown.
    rows: Vec<Digest>,
    /// Layers stored uncompressed, by compressed digest.
    unpacked: BTreeMap<Digest, UnpackedLayer>,
    transferred: u64,
    from_cache: usize,
    worker_memory: u64,
}

struct Pull {
    emit: Emit,
    controller: AbortController,
    request: PullRequest,
    /// The file the user chose to save into, if any.
    target: Option<Rc<Target>>,
    /// Where its workers and its offered archive are kept, for whoever cancels or releases it.
    handle: PullHandle,
}

/// One image, found: its registry session, manifest and config.
struct Resolved {
    reference: Reference,
    session: Rc<RegistrySession>,
    manifest: Vec<u8>,
    media_type: skiff_core::image::media_type::MediaType,
    image: skiff_core::image::manifest::ImageManifest,
    config: Vec<u8>,
    diff_ids: Vec<Digest>,
    kind: ArtifactKind,
    /// The index the reference named, if any.
    index: Option<Digest>,
}

impl Resolved {
    /// The image in the archive with its layers as downloaded.
    fn as_downloaded(&self) -> ArchiveImage {
        ArchiveImage {
            reference: self.reference.clone(),
            manifest: self.manifest.clone(),
            manifest_media_type: self.media_type.clone(),
            config: self.config.clone(),
            layers: self.image.layers.clone(),
        }
    }
}

/// `busybox_latest.tar`, or `busybox_latest_and_2_more.tar` for several images.
pub fn archive_file_name(first: &Reference, images: usize) -> String {
    match images {
        1 => first.archive_file_name(),
        n => first
            .archive_file_name()
            .replace(".tar", &format!("_and_{}_more.tar", n - 1)),
    }
}

impl Pull {
    /// The docker-load archive of `images` (with its list of contents for a bundle, and the
    /// manifests that refer to them in its OCI layout).
    fn image_archive(
        &self,
        images: &[ArchiveImage],
        attached: &[AttachedManifest],
    ) -> Result<Vec<Part>, AppError> {
        let mtime = now_ms() / 1000;
        Ok(archive_with_referrers(
            images,
            attached,
            mtime,
            self.request.bundle,
        )?)
    }

    fn stage(&self, stage: impl Into<String>) {
        (self.emit)(PullEvent::Stage(stage.into()));
    }

    async fn run(&self) -> Result<(), AppError> {
        let result = self.run_to_target().await;
        if let (Err(_), Some(target)) = (&result, &self.target) {
            // Nothing of a failed pull reaches the chosen file.
            target.abort().await;
        }
        result
    }

    async fn run_to_target(&self) -> Result<(), AppError> {
        let inputs = self.parse_inputs()?;
        let shown: Vec<String> = inputs.iter().map(|(r, _)| r.to_string()).collect();
        (self.emit)(PullEvent::Resolved {
            reference: shown.join(", "),
        });
        if self.request.resumed {
            self.stage("Resuming the pull a reload interrupted: finished layers come from the cache, a partial one continues where it stopped");
        }

        // First every image's manifest and config: then the whole archive's layout is known.
        let mut resolved = Vec::new();
        for (position, (reference, wanted)) in inputs.iter().enumerate() {
            let image = self
                .resolve(reference, wanted)
                .await
                .map_err(|e| in_image(position, inputs.len(), &reference.to_string(), e))?;
            (self.emit)(PullEvent::Kind(image.kind.clone()));
            resolved.push(image);
        }
        let artifact = resolved.iter().find(|r| !r.kind.is_image());
        if let (Some(artifact), true) = (artifact, resolved.len() > 1) {
            return Err(AppError::ArtifactAmongImages {
                reference: artifact.reference.to_string(),
                kind: artifact.kind.describe(),
            });
        }
        if self.request.inspect_only {
            if let Some(last) = resolved.last() {
                self.stage("Reading the layers' unpacked sizes");
                let cache = open_cache().await.ok();
                self.report_unpacked(last, cache.as_ref()).await;
            }
            (self.emit)(PullEvent::Inspected);
            return Ok(());
        }
        if let Some(signer) = &self.request.require {
            self.require_signatures(&resolved, signer).await?;
        }
        let cache = open_cache().await?;
        let images_only = artifact.is_none();
        let mut referrers = Vec::new();
        let mut attached = Vec::new();
        if self.request.with_referrers && images_only {
            for image in &resolved {
                attached.extend(self.attached(image, &mut referrers).await?);
            }
        }
        if let (Some(target), false, true) = (&self.target, self.request.uncompressed, images_only)
        {
            let images: Vec<ArchiveImage> = resolved.iter().map(Resolved::as_downloaded).collect();
            target
                .lay_out(&self.image_archive(&images, &attached)?)
                .await?;
        }

        let settings = &self.request.settings;
        let pool = Rc::new(Pool::new(settings.parallel_layers, settings.hashing));
        self.handle.remember_pool(pool.clone());
        let mut brought = Brought::default();
        let mut images = Vec::new();
        for (position, image) in resolved.iter().enumerate() {
            let archived = self
                .fetch_layers(image, &cache, &pool, &mut brought)
                .await
                .map_err(|e| in_image(position, inputs.len(), &image.reference.to_string(), e))?;
            images.push(archived);
        }
        let _ = cache.save().await;
        if let Some(last) = resolved.last() {
            // From the cached layers: no request.
            self.report_unpacked(last, Some(&cache)).await;
        }

        self.stage("Assembling the archive");
        let (parts, file_name) = match resolved.as_slice() {
            [artifact] if !artifact.kind.is_image() => {
                let base = artifact.reference.archive_file_name();
                let base = base.strip_suffix(".tar").unwrap_or(&base);
                let save = save_as(&artifact.kind, &artifact.image, &artifact.config, base)?;
                let parts = save.parts(&artifact.as_downloaded(), now_ms() / 1000)?;
                (parts, save.file_name().to_owned())
            }
            _ => (
                self.image_archive(&images, &attached)?,
                archive_file_name(&inputs[0].0, inputs.len()),
            ),
        };
        let offered = parts
            .iter()
            .filter_map(|part| match part {
                Part::Blob { digest, .. } => Some(digest.clone()),
                Part::Bytes(_) => None,
            })
            .collect();
        let (object_url, saved_to, size) = match &self.target {
            // Every layer is in place already (streamed, or copied from the cache).
            Some(target) if target.is_laid_out() => {
                target.take_failure()?;
                target.commit().await?;
                let size = skiff_core::archive::tar_parts::total_len(&parts)?;
                (String::new(), Some(target.name.clone()), size)
            }
            Some(target) => {
                let tar = assemble::assemble(&parts, &cache).await?;
                target.write_all(&tar).await?;
                target.commit().await?;
                (String::new(), Some(target.name.clone()), tar.size() as u64)
            }
            None => {
                let tar = assemble::assemble(&parts, &cache).await?;
                let url = web_sys::Url::create_object_url_with_blob(&tar)
                    .map_err(|e| js_error("offering the download", &e))?;
                (url, None, tar.size() as u64)
            }
        };
        self.handle.remember_offer(object_url.clone(), offered);
        (self.emit)(PullEvent::Finished(SavedArchive {
            object_url,
            file_name,
            size,
            repo_tags: inputs.iter().filter_map(|(r, _)| r.repo_tag()).collect(),
            images: inputs.len(),
            layers: brought.rows.len(),
            layers_from_cache: brought.from_cache,
            transferred: brought.transferred,
            worker_memory: brought.worker_memory,
            saved_to,
            contents: images
                .iter()
                .filter(|_| images_only)
                .map(|image| ImageContents {
                    reference: image.reference.to_string(),
                    layers: image.layers.iter().map(|l| l.digest.clone()).collect(),
                    sizes: image.layers.iter().map(|l| l.size).collect(),
                    config: Rc::new(String::from_utf8_lossy(&image.config).into_owned()),
                })
                .collect(),
            zstd_layers: images
                .iter()
                .flat_map(|image| &image.layers)
                .filter(|layer| {
                    layer.media_type.layer_compression()
                        == Some(skiff_core::transfer::layer::Compression::Zstd)
                })
                .count(),
            uncompressed: self.request.uncompressed && images_only,
            referrers: referrers
                .iter()
                .map(|r| format!("{} ({})", r.kind.label(), r.found_by.describe()))
                .collect(),
            kind: resolved
                .last()
                .map_or(ArtifactKind::ContainerImage, |r| r.kind.clone()),
            pinned: inputs
                .iter()
                .filter_map(|(reference, _)| {
                    Some(PinnedTag {
                        repo_tag: reference.repo_tag()?,
                        digest: reference.digest()?.clone(),
                    })
                })
                .collect(),
        }));
        Ok(())
    }
}
