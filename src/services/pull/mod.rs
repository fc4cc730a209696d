//! One pull, start to finish, as a short orchestration: references checked, then per image the
//! version check and auth, manifest and config ([`resolve`]), the layers from the cache or the
//! worker pool ([`layers`]); then the archive assembled from cached files ([`assemble`]).
//! Everything it reports is a [`PullEvent`]; the reducer maps those to state.

mod assemble;
mod layers;
mod resolve;
pub mod target;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use skiff_core::archive::layout::{docker_archive, uncompressed_manifest, ArchiveImage};
use skiff_core::image::manifest::ImageConfig;
use skiff_core::image::platform::Platform;
use skiff_core::image::reference::PullInput;
use skiff_core::image::unpacked_size::SizeProbe;
use skiff_core::protocol::registry::{ping_url, Route};
use skiff_core::transfer::layer::UnpackedLayer;
use skiff_core::{Digest, Reference};
use wasm_bindgen::JsCast as _;
use web_sys::AbortController;
use yew::Callback;

use crate::engine::cache::Cache;
use crate::engine::pool::Pool;
use crate::engine::protocol::JobSettings;
use crate::error::AppError;
use crate::services::http::{js_error, now_ms, RegistrySession};
use crate::state::{
    Action, CacheInfo, Credentials, ErrorReport, ImageContents, LayerRow, PinnedTag, PullEvent,
    SavedArchive,
};

use layers::{Layers, ProgressGate};
use resolve::Resolver;
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
}

impl Default for PullSettings {
    fn default() -> Self {
        Self {
            parallel_layers: 4,
            job: JobSettings::default(),
            cache_cap_bytes: 20_000_000_000,
            render_interval_ms: 250,
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
}

/// A pull started: cancel it, or release what it holds (its requests, its workers, the download
/// link of its archive). Whoever starts pulls keeps the last one's handle, and releases it
/// before starting the next; no global holds it.
#[derive(Clone, Default)]
pub struct PullHandle(Rc<RefCell<Held>>);

#[derive(Default)]
struct Held {
    controller: Option<AbortController>,
    pool: Option<Rc<Pool>>,
    object_url: Option<String>,
    /// The cached blobs the offered archive's Blob refers to.
    offered: BTreeSet<Digest>,
}

impl PullHandle {
    /// Stops the pull: its requests are aborted and its workers terminated; it then reports
    /// itself as cancelled.
    pub fn cancel(&self) {
        let mut held = self.0.borrow_mut();
        if let Some(controller) = &held.controller {
            controller.abort();
        }
        if let Some(pool) = held.pool.take() {
            pool.terminate();
        }
    }

    /// Cancels the pull and withdraws its archive's download link.
    pub fn release(&self) {
        self.cancel();
        self.withdraw_offer();
    }

    /// The archive on offer is made of cached files: withdrawn before the cache is cleared.
    fn withdraw_offer(&self) {
        let mut held = self.0.borrow_mut();
        if let Some(url) = held.object_url.take() {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
        held.offered.clear();
    }

    fn remember_pool(&self, pool: Rc<Pool>) {
        self.0.borrow_mut().pool = Some(pool);
    }

    fn remember_offer(&self, object_url: String, offered: BTreeSet<Digest>) {
        let mut held = self.0.borrow_mut();
        held.pool = None;
        held.object_url = Some(object_url);
        held.offered = offered;
    }
}

/// Starts a pull in the background; it reports through `dispatch`. The caller keeps the handle
/// (and has released the previous pull's).
pub fn start(request: PullRequest, pull_id: u32, dispatch: Callback<Action>) -> PullHandle {
    let emit: Emit = {
        let dispatch = dispatch.clone();
        Rc::new(move |event| dispatch.emit(Action::Pull { pull_id, event }))
    };
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
                Ok(target) => Some(target),
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
            dispatch.emit(Action::CacheInfo(info));
        }
    });
    handle
}

/// What the layer cache holds now, for the settings panel.
pub async fn cache_info(cap: u64) -> Option<CacheInfo> {
    open_cache().await.ok().map(|cache| CacheInfo {
        layers: cache.len(),
        bytes: cache.total_size(),
        cap,
    })
}

/// The layer cache, or why this window has none (a private window has no OPFS).
async fn open_cache() -> Result<Cache, AppError> {
    Cache::open(now_ms()).await.map_err(|e| {
        AppError::Storage(format!("{e}. Skiff keeps layers in the browser's private file system (OPFS) while it verifies them, which this browser or window does not offer (a private window?). Pull in a normal window; \"Look inside\" works here."))
    })
}

/// At start: `Some(why)` when this window cannot keep layers, so the page says it before a
/// pull fails on it.
pub async fn storage_problem() -> Option<String> {
    open_cache().await.err().map(|error| error.to_string())
}

/// Empties the layer cache. The archive on offer (`last`'s) is made of cached files, so it is
/// withdrawn first. (The app offers this only while no pull runs.)
pub async fn clear_cache(last: &PullHandle, cap: u64) -> Option<CacheInfo> {
    last.withdraw_offer();
    if let Ok(cache) = Cache::open(now_ms()).await {
        cache.clear(&BTreeSet::new()).await;
    }
    cache_info(cap).await
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
    target: Option<Target>,
    /// Where its workers and its offered archive are kept, for whoever cancels or releases it.
    handle: PullHandle,
}

/// One image, found: its registry session, manifest and config.
struct Resolved {
    reference: Reference,
    session: Rc<RegistrySession>,
    manifest: Vec<u8>,
    media_type: String,
    image: skiff_core::image::manifest::ImageManifest,
    config: Vec<u8>,
    diff_ids: Vec<Digest>,
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
            resolved.push(image);
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
        let cache = open_cache().await?;
        if let (Some(target), false) = (&self.target, self.request.uncompressed) {
            let images: Vec<ArchiveImage> = resolved.iter().map(Resolved::as_downloaded).collect();
            target
                .lay_out(&docker_archive(&images, now_ms() / 1000)?)
                .await?;
        }

        let pool = Rc::new(Pool::new(self.request.settings.parallel_layers));
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
        let parts = docker_archive(&images, now_ms() / 1000)?;
        let offered = parts
            .iter()
            .filter_map(|part| match part {
                skiff_core::archive::tar_parts::Part::Blob { digest, .. } => Some(digest.clone()),
                skiff_core::archive::tar_parts::Part::Bytes(_) => None,
            })
            .collect();
        let tar = assemble::assemble(&parts, &cache).await?;
        let (object_url, saved_to) = match &self.target {
            Some(target) => {
                if !target.is_laid_out() {
                    target.write_all(&tar).await?;
                }
                target.commit().await?;
                (String::new(), Some(target.name.clone()))
            }
            None => (
                web_sys::Url::create_object_url_with_blob(&tar)
                    .map_err(|e| js_error("offering the download", &e))?,
                None,
            ),
        };
        self.handle.remember_offer(object_url.clone(), offered);
        let first = &inputs[0].0;
        (self.emit)(PullEvent::Finished(SavedArchive {
            object_url,
            file_name: archive_file_name(first, inputs.len()),
            size: tar.size() as u64,
            repo_tags: inputs.iter().filter_map(|(r, _)| r.repo_tag()).collect(),
            images: inputs.len(),
            layers: brought.rows.len(),
            layers_from_cache: brought.from_cache,
            transferred: brought.transferred,
            worker_memory: brought.worker_memory,
            saved_to,
            contents: images
                .iter()
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
                    layer
                        .media_type
                        .parse::<skiff_core::image::media_type::MediaType>()
                        .ok()
                        .and_then(|m| m.layer_compression())
                        == Some(skiff_core::transfer::layer::Compression::Zstd)
                })
                .count(),
            uncompressed: self.request.uncompressed,
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

    /// Every reference is checked before anything is fetched.
    fn parse_inputs(&self) -> Result<Vec<(Reference, Platform)>, AppError> {
        let total = self.request.images.len();
        let mut inputs = Vec::new();
        for (position, text) in self.request.images.iter().enumerate() {
            let input: PullInput = text
                .parse()
                .map_err(|e: skiff_core::Error| in_image(position, total, text, e.into()))?;
            // A pasted `--platform` wins over the form's field.
            let wanted = match &input.platform {
                Some(platform) => platform.clone(),
                None => self.request.platform.parse::<Platform>()?,
            };
            inputs.push((input.reference, wanted));
        }
        Ok(inputs)
    }

    /// The version check and auth, the manifest (through an index) and the config.
    async fn resolve(
        &self,
        reference: &Reference,
        wanted: &Platform,
    ) -> Result<Resolved, AppError> {
        (self.emit)(PullEvent::Exploring(reference.clone()));
        let emit = self.emit.clone();
        let session = Rc::new(RegistrySession::new(
            Route::new(&self.request.proxy),
            reference,
            self.request.credentials.clone(),
            self.controller.signal(),
            Callback::from(move |exchange| emit(PullEvent::Exchange(exchange))),
        ));
        self.stage(format!(
            "Checking {} and its authentication",
            reference.registry()
        ));
        session.ping(&ping_url(reference.registry())).await?;
        self.stage(format!("Fetching the manifest of {reference}"));
        let resolver = Resolver {
            session: &session,
            emit: &self.emit,
        };
        let (manifest, media_type, image) = resolver.resolve_image(reference, wanted).await?;
        self.stage("Fetching the image config");
        let config = resolver.fetch_config(reference, &image.config).await?;
        let diff_ids = ImageConfig::parse(&config)?.rootfs.diff_ids;
        if diff_ids.len() != image.layers.len() {
            return Err(AppError::LayerCountMismatch {
                diff_ids: diff_ids.len(),
                layers: image.layers.len(),
            });
        }
        Ok(Resolved {
            reference: reference.clone(),
            session,
            manifest,
            media_type,
            image,
            config,
            diff_ids,
        })
    }

    /// The layers of one resolved image, from the cache or the workers.
    async fn fetch_layers(
        &self,
        resolved: &Resolved,
        cache: &Cache,
        pool: &Rc<Pool>,
        brought: &mut Brought,
    ) -> Result<ArchiveImage, AppError> {
        let reference = &resolved.reference;
        let image = &resolved.image;
        let diff_ids: HashMap<&Digest, &Digest> = image
            .layers
            .iter()
            .map(|l| &l.digest)
            .zip(&resolved.diff_ids)
            .collect();
        let uncompressed = self.request.uncompressed;
        let wanted = layers::wanted(&image.layers, &diff_ids, uncompressed, &brought.rows);
        self.make_room(&wanted, cache, resolved).await?;
        (self.emit)(PullEvent::LayersAdded(
            wanted
                .iter()
                .map(|w| {
                    LayerRow::new(
                        w.layer.digest.to_string(),
                        short_media_type(&w.layer.media_type),
                        w.layer.size,
                    )
                })
                .collect(),
        ));
        self.stage(format!(
            "Downloading and verifying {} layer{} of {reference}",
            wanted.len(),
            if wanted.len() == 1 { "" } else { "s" }
        ));
        let progress = ProgressGate::new(self.request.settings.render_interval_ms);
        let layers = Layers {
            session: &resolved.session,
            reference,
            emit: &self.emit,
            pool,
            cache,
            settings: &self.request.settings,
            progress: &progress,
            target: self.target.as_ref(),
        };
        for fetched in layers.fetch(&wanted).await? {
            brought.transferred += fetched.transferred;
            brought.from_cache += usize::from(fetched.from_cache);
            brought.worker_memory = brought.worker_memory.max(fetched.worker_memory);
            if let Some(unpacked) = fetched.unpacked {
                brought.unpacked.insert(fetched.digest, unpacked);
            }
        }
        brought
            .rows
            .extend(wanted.iter().map(|w| w.layer.digest.clone()));
        if uncompressed {
            let (manifest, layers) =
                uncompressed_manifest(&resolved.manifest, &resolved.media_type, &brought.unpacked)?;
            Ok(ArchiveImage {
                manifest,
                layers,
                ..resolved.as_downloaded()
            })
        } else {
            Ok(resolved.as_downloaded())
        }
    }

    /// The image's unpacked size for the summary: each layer's gzip trailer or zstd header (from
    /// the cache if there, else a small `Range` request).
    async fn report_unpacked(&self, image: &Resolved, cache: Option<&Cache>) {
        let mut total = 0u64;
        for layer in &image.image.layers {
            total = total.saturating_add(unpacked_size(image, layer, cache).await);
        }
        (self.emit)(PullEvent::Unpacked(total));
    }

    /// Checks the browser's quota and the cache's cap for the layers still to fetch, evicting
    /// least recently used layers the pull does not use.
    async fn make_room(
        &self,
        wanted: &[layers::Wanted<'_>],
        cache: &Cache,
        resolved: &Resolved,
    ) -> Result<(), AppError> {
        // What will really be written: layers kept as downloaded take their size; uncompressed
        // ones what their gzip trailer or zstd header says they expand to.
        let mut needed = 0u64;
        for want in wanted.iter().filter(|w| w.cached_size(cache).is_none()) {
            let size = match want.diff_id {
                Some(_) => unpacked_size(resolved, want.layer, Some(cache)).await,
                None => want.layer.size,
            };
            needed = needed
                .checked_add(size)
                .ok_or(skiff_core::Error::SizeOverflow {
                    what: "layer sizes",
                })?;
        }
        let pinned: BTreeSet<Digest> = wanted.iter().map(|w| w.key().clone()).collect();
        cache
            .make_room(needed, self.request.settings.cache_cap_bytes, &pinned)
            .await
            .map_err(|e| AppError::Storage(e.to_string()))?;
        if let Some(available) = available_bytes().await {
            if needed > available {
                return Err(AppError::QuotaTooSmall {
                    needed_mb: needed.div_ceil(1 << 20),
                    available_mb: available >> 20,
                });
            }
        }
        Ok(())
    }
}

/// A layer's uncompressed size, from the few bytes of it that say so (one small `Range`
/// request); its compressed size when they say nothing.
async fn unpacked_size(
    resolved: &Resolved,
    layer: &skiff_core::image::manifest::Descriptor,
    cache: Option<&Cache>,
) -> u64 {
    let probe = layer
        .media_type
        .parse::<skiff_core::image::media_type::MediaType>()
        .ok()
        .and_then(|media_type| media_type.layer_compression())
        .and_then(SizeProbe::for_compression);
    let Some((probe, range)) = probe.and_then(|p| Some((p, p.range(layer.size)?))) else {
        return layer.size;
    };
    // The download already in the cache tells without asking the registry.
    if let (Some((first, last)), Some(cache)) = (
        probe.span(layer.size),
        cache.filter(|cache| cache.size_of(&layer.digest) == Some(layer.size)),
    ) {
        if let Some(bytes) = cached_bytes(cache, &layer.digest, first, last).await {
            return probe.read(layer.size, &bytes).unwrap_or(layer.size);
        }
    }
    let url = skiff_core::protocol::registry::blob_url(&resolved.reference, &layer.digest);
    match resolved.session.get_range(&url, &range).await {
        Some(bytes) => probe.read(layer.size, &bytes).unwrap_or(layer.size),
        None => layer.size,
    }
}

/// Bytes `first..=last` of a cached blob.
async fn cached_bytes(cache: &Cache, digest: &Digest, first: u64, last: u64) -> Option<Vec<u8>> {
    let file = cache.file(digest).await.ok()?;
    let part = file
        .slice_with_f64_and_f64(first as f64, (last + 1) as f64)
        .ok()?;
    let buffer = wasm_bindgen_futures::JsFuture::from(part.array_buffer())
        .await
        .ok()?;
    Some(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Free bytes the browser grants this origin, if it says.
async fn available_bytes() -> Option<u64> {
    let storage = web_sys::window()?.navigator().storage();
    let estimate: web_sys::StorageEstimate =
        wasm_bindgen_futures::JsFuture::from(storage.estimate().ok()?)
            .await
            .ok()?
            .unchecked_into();
    let quota = estimate.get_quota()?;
    let usage = estimate.get_usage().unwrap_or(0.0);
    Some((quota - usage).max(0.0) as u64)
}

fn short_media_type(media_type: &str) -> String {
    use skiff_core::image::manifest::media_type;
    let compression = match media_type {
        media_type::DOCKER_LAYER_GZIP | media_type::DOCKER_FOREIGN_LAYER => "tar+gzip",
        other => other.rsplit(['.', '/']).next().unwrap_or(other),
    };
    let foreign = media_type
        .parse::<skiff_core::image::media_type::MediaType>()
        .is_ok_and(|m| m.is_foreign());
    if foreign {
        format!("foreign {compression}")
    } else {
        compression.to_owned()
    }
}
