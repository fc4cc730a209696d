//! One pull, start to finish: version check and auth, manifest, config, layers streamed and
//! verified into staging, then the archive assembled as a Blob ready to save.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use futures::{StreamExt as _, TryStreamExt as _};
use js_sys::{Array, Uint8Array};
use skiff_core::archive::{docker_archive, uncompressed_manifest, ArchiveImage};
use skiff_core::layer::{LayerUnpacker, UnpackedLayer};
use skiff_core::manifest::{
    check_document_size, media_type, total_size, Descriptor, ImageConfig, ImageManifest, Manifest,
    MANIFEST_ACCEPT,
};
use skiff_core::platform::{self, Platform};
use skiff_core::reference::PullInput;
use skiff_core::registry::{blob_url, manifest_url, ping_url, Route};
use skiff_core::tar_parts::{total_len, Part};
use skiff_core::{BlobVerifier, Digest, Reference};
use web_sys::{AbortController, Blob, BlobPropertyBag};
use yew::Callback;

use super::http::{expect_ok, js_error, now_ms, read_document, sleep_ms, RegistrySession};
use super::staging::{BlobSink, Staging};
use super::stream::ChunkReader;
use crate::error::AppError;
use crate::state::{
    Action, Credentials, ErrorReport, Exchange, LayerRow, PlatformOffer, SavedArchive,
};

/// Layers downloaded at once: enough to hide latency, few enough for 2-core machines.
const PARALLEL_LAYERS: usize = 3;
/// A layer whose connection breaks off is resumed this many times…
const MAX_RESUMES: u32 = 3;
/// …after waiting this long times the attempt number.
const RESUME_DELAY_MS: u32 = 300;
/// Bytes gathered per write to staging.
const STAGING_WRITE_BYTES: usize = 4 << 20;
/// Progress is reported at most this often per layer, so rendering never slows the download.
const PROGRESS_INTERVAL_MS: f64 = 100.0;

/// What the user asked for.
pub struct PullRequest {
    /// One or more references (or pasted pull lines), all saved into one archive.
    pub images: Vec<String>,
    pub proxy: String,
    /// Used when the reference is a multi-platform index.
    pub platform: String,
    /// Store layers uncompressed (checked against the config's diff IDs) instead of as
    /// downloaded.
    pub uncompressed: bool,
    pub credentials: Option<Credentials>,
}

/// The last pull's resources, released when the next pull starts.
struct Previous {
    controller: AbortController,
    staging: Option<Rc<Staging>>,
    object_url: Option<String>,
}

thread_local! {
    static PREVIOUS: RefCell<Option<Previous>> = const { RefCell::new(None) };
}

/// Starts a pull in the background; it reports through `dispatch`.
pub fn start(request: PullRequest, pull_id: u32, dispatch: Callback<Action>) {
    wasm_bindgen_futures::spawn_local(async move {
        dispatch.emit(Action::PullStarted {
            pull_id,
            reference: request.images.join(", "),
        });
        let controller = match AbortController::new() {
            Ok(controller) => controller,
            Err(e) => {
                fail(&dispatch, pull_id, &js_error("starting the pull", &e));
                return;
            }
        };
        release_previous(Previous {
            controller: controller.clone(),
            staging: None,
            object_url: None,
        })
        .await;
        let pull = Pull {
            pull_id,
            dispatch: dispatch.clone(),
            controller,
        };
        if let Err(error) = pull.run(&request).await {
            pull.controller.abort();
            fail(&dispatch, pull_id, &error);
        }
    });
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

fn fail(dispatch: &Callback<Action>, pull_id: u32, error: &AppError) {
    dispatch.emit(Action::Failed {
        pull_id,
        report: ErrorReport {
            title: error.title().to_owned(),
            message: error.to_string(),
            wants_credentials: error.wants_credentials(),
        },
    });
}

/// Stops the running pull; it then reports itself as cancelled.
pub fn cancel() {
    PREVIOUS.with(|slot| {
        if let Some(previous) = slot.borrow().as_ref() {
            previous.controller.abort();
        }
    });
}

/// Cancels the previous pull and frees its staged files and download link.
async fn release_previous(next: Previous) {
    let previous = PREVIOUS.with(|slot| slot.borrow_mut().replace(next));
    if let Some(previous) = previous {
        previous.controller.abort();
        if let Some(url) = previous.object_url {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
        if let Some(staging) = previous.staging {
            staging.remove().await;
        }
    }
}

fn remember(staging: Rc<Staging>, object_url: Option<String>) {
    PREVIOUS.with(|slot| {
        if let Some(previous) = slot.borrow_mut().as_mut() {
            previous.staging = Some(staging);
            previous.object_url = object_url;
        }
    });
}

struct Pull {
    pull_id: u32,
    dispatch: Callback<Action>,
    controller: AbortController,
}

impl Pull {
    fn stage(&self, stage: impl Into<String>) {
        self.dispatch.emit(Action::Stage {
            pull_id: self.pull_id,
            stage: stage.into(),
        });
    }

    async fn run(&self, request: &PullRequest) -> Result<(), AppError> {
        // Every reference is checked before anything is fetched.
        let mut inputs = Vec::new();
        for (position, text) in request.images.iter().enumerate() {
            let input: PullInput = text.parse().map_err(|e: skiff_core::Error| {
                in_image(position, request.images.len(), text, e.into())
            })?;
            // A pasted `--platform` wins over the form's field.
            let wanted = match &input.platform {
                Some(platform) => platform.clone(),
                None => request.platform.parse::<Platform>()?,
            };
            inputs.push((input.reference, wanted));
        }
        let shown: Vec<String> = inputs.iter().map(|(r, _)| r.to_string()).collect();
        self.dispatch.emit(Action::Resolved {
            pull_id: self.pull_id,
            reference: shown.join(", "),
        });

        let staging = Rc::new(Staging::open(js_sys::Date::now()).await);
        remember(staging.clone(), None);
        let mut staged = Staged::default();
        let mut images = Vec::new();
        for (position, (reference, wanted)) in inputs.iter().enumerate() {
            let image = self
                .pull_image(request, reference, wanted, &staging, &mut staged)
                .await
                .map_err(|e| in_image(position, inputs.len(), &reference.to_string(), e))?;
            images.push(image);
        }

        self.stage("Assembling the archive");
        let parts = docker_archive(&images, now_ms() / 1000)?;
        let tar = assemble(&parts, &staging).await?;
        let object_url = web_sys::Url::create_object_url_with_blob(&tar)
            .map_err(|e| js_error("offering the download", &e))?;
        remember(staging, Some(object_url.clone()));
        let first = &inputs[0].0;
        let file_name = match inputs.len() {
            1 => first.archive_file_name(),
            n => first
                .archive_file_name()
                .replace(".tar", &format!("_and_{}_more.tar", n - 1)),
        };
        self.dispatch.emit(Action::Finished {
            pull_id: self.pull_id,
            archive: SavedArchive {
                object_url,
                file_name,
                size: tar.size() as u64,
                repo_tags: inputs.iter().filter_map(|(r, _)| r.repo_tag()).collect(),
                images: inputs.len(),
            },
        });
        Ok(())
    }

    /// Pulls one image into `staging`; blobs already staged by an earlier image of the same
    /// archive (their digests are in `rows`) are not fetched again.
    async fn pull_image(
        &self,
        request: &PullRequest,
        reference: &Reference,
        wanted: &Platform,
        staging: &Staging,
        staged: &mut Staged,
    ) -> Result<ArchiveImage, AppError> {
        let pull_id = self.pull_id;
        let dispatch = self.dispatch.clone();
        let report = Callback::from(move |exchange: Exchange| {
            dispatch.emit(Action::Exchange { pull_id, exchange })
        });
        let session = RegistrySession::new(
            Route::new(&request.proxy),
            reference,
            request.credentials.clone(),
            self.controller.signal(),
            report,
        );

        self.stage(format!(
            "Checking {} and its authentication",
            reference.registry()
        ));
        session.ping(&ping_url(reference.registry())).await?;

        self.stage(format!("Fetching the manifest of {reference}"));
        let (manifest, manifest_media_type, image) =
            self.resolve_image(&session, reference, wanted).await?;

        self.stage("Fetching the image config");
        let config = self
            .fetch_config(&session, reference, &image.config)
            .await?;
        let parsed = ImageConfig::parse(&config)?;
        if parsed.rootfs.diff_ids.len() != image.layers.len() {
            return Err(AppError::LayerCountMismatch {
                diff_ids: parsed.rootfs.diff_ids.len(),
                layers: image.layers.len(),
            });
        }

        // A layer listed twice, or already staged for another image, is downloaded once.
        let mut new_layers: Vec<&Descriptor> = Vec::new();
        for layer in &image.layers {
            if !staged.rows.contains(&layer.digest)
                && !new_layers.iter().any(|l| l.digest == layer.digest)
            {
                new_layers.push(layer);
            }
        }
        let needed = total_size(new_layers.iter().copied())?;
        if !staging.is_in_memory() {
            if let Some(available) = Staging::available_bytes().await {
                if needed > available {
                    return Err(AppError::QuotaTooSmall {
                        needed_mb: needed.div_ceil(1 << 20),
                        available_mb: available >> 20,
                    });
                }
            }
        }
        self.dispatch.emit(Action::LayersAdded {
            pull_id: self.pull_id,
            layers: new_layers
                .iter()
                .map(|l| {
                    LayerRow::new(
                        l.digest.to_string(),
                        short_media_type(&l.media_type),
                        l.size,
                    )
                })
                .collect(),
        });
        self.stage(format!(
            "Downloading and verifying {} layer{} of {reference}",
            new_layers.len(),
            if new_layers.len() == 1 { "" } else { "s" }
        ));
        let total = new_layers.len();
        // Each layer's diff ID, for storing it uncompressed.
        let diff_ids: HashMap<&Digest, &Digest> = image
            .layers
            .iter()
            .map(|l| &l.digest)
            .zip(&parsed.rootfs.diff_ids)
            .collect();
        let first_row = staged.rows.len();
        let results = futures::stream::iter(new_layers.iter().enumerate())
            .map(|(position, layer)| {
                let session = &session;
                let diff_id = request.uncompressed.then(|| diff_ids[&layer.digest]);
                async move {
                    self.download_layer(
                        session,
                        staging,
                        reference,
                        layer,
                        diff_id,
                        first_row + position,
                    )
                    .await
                    .map(|unpacked| (layer.digest.clone(), unpacked))
                    .map_err(|source| AppError::Layer {
                        position: position + 1,
                        total,
                        digest: layer.digest.clone(),
                        source: Box::new(source),
                    })
                }
            })
            .buffer_unordered(PARALLEL_LAYERS)
            .try_collect::<Vec<_>>()
            .await?;
        staged
            .rows
            .extend(new_layers.iter().map(|l| l.digest.clone()));
        for (digest, unpacked) in results {
            if let Some(unpacked) = unpacked {
                staged.unpacked.insert(digest, unpacked);
            }
        }

        let (manifest, layers) = if request.uncompressed {
            uncompressed_manifest(&manifest, &manifest_media_type, &staged.unpacked)?
        } else {
            (manifest, image.layers.clone())
        };
        Ok(ArchiveImage {
            reference: reference.clone(),
            manifest,
            manifest_media_type,
            config,
            layers,
        })
    }

    /// The image manifest to pull: fetched by tag or digest and, when that is an index, the
    /// entry for `wanted`.
    async fn resolve_image(
        &self,
        session: &RegistrySession,
        reference: &Reference,
        wanted: &Platform,
    ) -> Result<(Vec<u8>, String, ImageManifest), AppError> {
        let pinned = reference
            .digest()
            .map(|d| (d.clone(), None, "the reference"));
        let (body, manifest, media_type) = self
            .fetch_manifest(session, reference, &reference.manifest_reference(), pinned)
            .await?;
        let index = match manifest {
            Manifest::Image(image) => {
                self.dispatch.emit(Action::ManifestFetched {
                    pull_id: self.pull_id,
                    json: pretty_json(&body),
                });
                return Ok((body, media_type, *image));
            }
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
        self.dispatch.emit(Action::IndexFetched {
            pull_id: self.pull_id,
            json: pretty_json(&body),
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
        self.dispatch.emit(Action::PlatformChosen {
            pull_id: self.pull_id,
            platform: chosen.clone(),
        });
        self.stage(format!("Fetching the manifest for {chosen}"));
        check_document_size("manifest", entry.size)?;
        let expected = Some((entry.digest.clone(), Some(entry.size), "the index entry"));
        let (body, manifest, media_type) = self
            .fetch_manifest(session, reference, &entry.digest.to_string(), expected)
            .await?;
        match manifest {
            Manifest::Image(image) => {
                self.dispatch.emit(Action::ManifestFetched {
                    pull_id: self.pull_id,
                    json: pretty_json(&body),
                });
                Ok((body, media_type, *image))
            }
            Manifest::Index(_) => Err(AppError::NestedIndex { platform: chosen }),
        }
    }

    /// Fetches one manifest document and checks it against the digest (and size) it was
    /// referred to by, and against the registry's `Docker-Content-Digest`.
    async fn fetch_manifest(
        &self,
        session: &RegistrySession,
        reference: &Reference,
        manifest_reference: &str,
        expected: Option<(Digest, Option<u64>, &'static str)>,
    ) -> Result<(Vec<u8>, Manifest, String), AppError> {
        let url = manifest_url(reference, manifest_reference);
        let response = expect_ok(
            session.get(&url, Some(MANIFEST_ACCEPT), "manifest").await?,
            "manifest",
        )
        .await?;
        let content_type = response.headers().get("content-type");
        let header_digest = response.headers().get("docker-content-digest");
        let body = read_document(response, "manifest").await?;
        let actual = Digest::of(&body);
        if let Some((expected, size, source_of_expected)) = expected {
            if expected != actual {
                return Err(AppError::ManifestDigestMismatch {
                    expected,
                    actual,
                    source_of_expected,
                });
            }
            if let Some(size) = size.filter(|s| *s != body.len() as u64) {
                return Err(skiff_core::Error::SizeMismatch {
                    digest: expected,
                    expected: size,
                    actual: body.len() as u64,
                }
                .into());
            }
        }
        if let Some(header) = header_digest {
            // Only sha256 is comparable; other algorithms are ignored rather than refused.
            if let Ok(expected) = header.parse::<Digest>() {
                if expected != actual {
                    return Err(AppError::ManifestDigestMismatch {
                        expected,
                        actual,
                        source_of_expected: "the registry's Docker-Content-Digest header",
                    });
                }
            }
        }
        let (manifest, media_type) = Manifest::parse(content_type.as_deref(), &body)?;
        Ok((body, manifest, media_type))
    }

    async fn fetch_config(
        &self,
        session: &RegistrySession,
        reference: &Reference,
        descriptor: &Descriptor,
    ) -> Result<Vec<u8>, AppError> {
        check_document_size("image config", descriptor.size)?;
        let response = expect_ok(
            session
                .get(
                    &blob_url(reference, &descriptor.digest),
                    None,
                    "image config",
                )
                .await?,
            "image config",
        )
        .await?;
        let body = read_document(response, "image config").await?;
        let mut verifier = BlobVerifier::new(descriptor.digest.clone(), descriptor.size);
        verifier.update(&body)?;
        verifier.finish()?;
        self.dispatch.emit(Action::ConfigFetched {
            pull_id: self.pull_id,
            json: pretty_json(&body),
        });
        Ok(body)
    }

    /// Streams one layer into staging, verifying as it goes (and decompressing it when
    /// `diff_id` is given: the uncompressed archive). A connection that breaks off is resumed
    /// with `Range` from the last byte received (or restarted, if the server ignores `Range`),
    /// a bounded number of times.
    #[allow(clippy::too_many_arguments)]
    async fn download_layer(
        &self,
        session: &RegistrySession,
        staging: &Staging,
        reference: &Reference,
        layer: &Descriptor,
        diff_id: Option<&Digest>,
        index: usize,
    ) -> Result<Option<UnpackedLayer>, AppError> {
        let what = format!("layer {}", layer.digest.short());
        // Foreign (non-distributable) layers come from their URLs; the registry is the fallback.
        let mut sources: Vec<Source> = layer
            .urls
            .iter()
            .flatten()
            .map(|url| Source::Foreign(url.clone()))
            .collect();
        sources.push(Source::Registry(blob_url(reference, &layer.digest)));
        // Staged under the digest of what is stored: the diff ID when uncompressed.
        let key = diff_id.unwrap_or(&layer.digest);
        let sink = staging.create(key).await?;
        let mut outcome = Err(AppError::Browser("no source for the layer".to_owned()));
        let mut first_error = None;
        for (attempt, source) in sources.iter().enumerate() {
            if attempt > 0 {
                sink.restart().await?;
            }
            outcome = self
                .download_from(session, source, &what, &sink, layer, diff_id, index)
                .await;
            match &outcome {
                Ok(_) => break,
                Err(error) => {
                    first_error.get_or_insert_with(|| error.clone());
                }
            }
        }
        if let (Err(_), Some(first), true) = (&outcome, first_error, sources.len() > 1) {
            // The URL's failure says more than the registry's 404 for a blob it never held.
            outcome = Err(AppError::ForeignLayer {
                urls: sources.len() - 1,
                first: Box::new(first),
            });
        }
        let verified = outcome.is_ok();
        match outcome {
            Ok(_) => staging.commit(key, sink).await?,
            Err(_) => staging.discard(sink).await,
        }
        self.dispatch.emit(Action::LayerDone {
            pull_id: self.pull_id,
            index,
            verified,
        });
        outcome
    }

    /// Downloads from one source, resuming when the connection breaks off.
    #[allow(clippy::too_many_arguments)]
    async fn download_from(
        &self,
        session: &RegistrySession,
        source: &Source,
        what: &str,
        sink: &BlobSink,
        layer: &Descriptor,
        diff_id: Option<&Digest>,
        index: usize,
    ) -> Result<Option<UnpackedLayer>, AppError> {
        let mut check = Check::new(layer, diff_id);
        let mut resumes = 0;
        loop {
            match self
                .stream_attempt(
                    session, source, what, sink, &mut check, layer, diff_id, index,
                )
                .await
            {
                Ok(()) => {
                    let mut tail = Vec::new();
                    let unpacked = check.finish(&mut tail)?;
                    if !tail.is_empty() {
                        sink.write(&Uint8Array::from(tail.as_slice())).await?;
                    }
                    return Ok(unpacked);
                }
                Err(Interrupted::Broken(_)) if resumes < MAX_RESUMES => {
                    resumes += 1;
                    sleep_ms(RESUME_DELAY_MS * resumes).await;
                }
                Err(Interrupted::Broken(error) | Interrupted::Failed(error)) => return Err(error),
            }
        }
    }

    /// One GET of the layer (from where the last one broke off), checking each chunk as it
    /// arrives and writing it (or what it decompresses to) to staging.
    #[allow(clippy::too_many_arguments)]
    async fn stream_attempt(
        &self,
        session: &RegistrySession,
        source: &Source,
        what: &str,
        sink: &BlobSink,
        check: &mut Check,
        layer: &Descriptor,
        diff_id: Option<&Digest>,
        index: usize,
    ) -> Result<(), Interrupted> {
        let resume_from = check.received();
        let range = (resume_from > 0).then(|| ("Range", format!("bytes={resume_from}-")));
        let response = match source {
            Source::Registry(url) => session.get_with(url, None, what, range.as_slice()).await,
            Source::Foreign(url) => session.get_foreign(url, what, range.as_slice()).await,
        }
        .map_err(Interrupted::Failed)?;
        let response = expect_ok(response, what)
            .await
            .map_err(Interrupted::Failed)?;
        if resume_from > 0 {
            let resumed = response.status() == 206
                && response
                    .headers()
                    .get("content-range")
                    .is_some_and(|r| r.starts_with(&format!("bytes {resume_from}-")));
            if !resumed {
                // The server sent the whole blob again: start over.
                *check = Check::new(layer, diff_id);
                sink.restart().await.map_err(Interrupted::Failed)?;
            }
        }
        let body = response.body().ok_or_else(|| {
            Interrupted::Failed(AppError::Browser(
                "the layer response has no body".to_owned(),
            ))
        })?;
        let mut reader = ChunkReader::new(&body);
        let result = self.pump(&mut reader, sink, check, layer, index).await;
        if result.is_err() {
            reader.cancel();
        }
        result
    }

    /// Reads the body to its end: each chunk is checked at once; what goes to staging is
    /// gathered into writes of [`STAGING_WRITE_BYTES`], since every OPFS write is a round trip
    /// to the browser process.
    async fn pump(
        &self,
        reader: &mut ChunkReader,
        sink: &BlobSink,
        check: &mut Check,
        layer: &Descriptor,
        index: usize,
    ) -> Result<(), Interrupted> {
        let mut buffer = Vec::new();
        let mut pending = Vec::with_capacity(STAGING_WRITE_BYTES + (1 << 20));
        let mut last_report = 0.0;
        let progress = |received: u64| {
            self.dispatch.emit(Action::LayerProgress {
                pull_id: self.pull_id,
                index,
                received,
                now_ms: js_sys::Date::now(),
            })
        };
        progress(check.received());
        loop {
            let chunk = match reader.next().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    if self.controller.signal().aborted() {
                        return Err(Interrupted::Failed(AppError::Cancelled));
                    }
                    // What was checked must reach staging before a resume continues after it.
                    flush(sink, &mut pending)
                        .await
                        .map_err(Interrupted::Failed)?;
                    return Err(Interrupted::Broken(AppError::Browser(format!(
                        "the connection broke after {} of {} bytes ({}); retried {MAX_RESUMES} times",
                        check.received(),
                        layer.size,
                        crate::error::js_error_text(&e)
                    ))));
                }
            };
            let length = chunk.length() as usize;
            match check {
                Check::Verify(verifier) => {
                    // Copied once, straight into what goes to staging, and hashed there.
                    let start = pending.len();
                    pending.resize(start + length, 0);
                    chunk.copy_to(&mut pending[start..]);
                    verifier
                        .update(&pending[start..])
                        .map_err(|e| Interrupted::Failed(e.into()))?;
                }
                Check::Unpack(unpacker) => {
                    buffer.resize(length, 0);
                    chunk.copy_to(&mut buffer);
                    unpacker
                        .update(&buffer, &mut pending)
                        .map_err(|e| Interrupted::Failed(e.into()))?;
                }
            }
            if pending.len() >= STAGING_WRITE_BYTES {
                flush(sink, &mut pending)
                    .await
                    .map_err(Interrupted::Failed)?;
            }
            let now = js_sys::Date::now();
            if now - last_report >= PROGRESS_INTERVAL_MS {
                last_report = now;
                progress(check.received());
            }
        }
        flush(sink, &mut pending)
            .await
            .map_err(Interrupted::Failed)?;
        progress(check.received());
        if check.received() < layer.size {
            // A body that ends early is a connection that broke (a browser may report it as a
            // clean end): resume it.
            return Err(Interrupted::Broken(AppError::Browser(format!(
                "the connection broke after {} of {} bytes; retried {MAX_RESUMES} times",
                check.received(),
                layer.size
            ))));
        }
        Ok(())
    }
}

/// Writes `pending` to staging and empties it. The bytes are copied into a JS array first: a
/// view into wasm memory could be detached by another layer's allocation before the browser
/// reads it.
async fn flush(sink: &BlobSink, pending: &mut Vec<u8>) -> Result<(), AppError> {
    if !pending.is_empty() {
        sink.write(&Uint8Array::from(pending.as_slice())).await?;
        pending.clear();
    }
    Ok(())
}

/// How a layer's bytes are checked on their way to staging.
enum Check {
    /// Kept as downloaded: digest and size.
    Verify(BlobVerifier),
    /// Stored uncompressed: digest and size of the compressed bytes, diff ID of the result.
    Unpack(LayerUnpacker),
}

impl Check {
    fn new(layer: &Descriptor, diff_id: Option<&Digest>) -> Self {
        match diff_id {
            None => Self::Verify(BlobVerifier::new(layer.digest.clone(), layer.size)),
            Some(diff_id) => Self::Unpack(LayerUnpacker::new(
                layer.digest.clone(),
                layer.size,
                diff_id.clone(),
            )),
        }
    }

    fn received(&self) -> u64 {
        match self {
            Self::Verify(verifier) => verifier.received(),
            Self::Unpack(unpacker) => unpacker.received(),
        }
    }

    /// Final checks; the decompressor's last bytes go to `tail`.
    fn finish(&mut self, tail: &mut Vec<u8>) -> Result<Option<UnpackedLayer>, AppError> {
        // A finished check is replaced by an empty one that is never used again.
        let placeholder = Self::Verify(BlobVerifier::new(Digest::of(b""), 0));
        match std::mem::replace(self, placeholder) {
            Self::Verify(verifier) => {
                verifier.finish()?;
                Ok(None)
            }
            Self::Unpack(unpacker) => Ok(Some(unpacker.finish(tail)?)),
        }
    }
}

/// What the archive's earlier images already staged.
#[derive(Default)]
struct Staged {
    /// Compressed digests, in the order of the layer rows shown.
    rows: Vec<Digest>,
    /// Layers stored uncompressed, by compressed digest.
    unpacked: BTreeMap<Digest, UnpackedLayer>,
}

/// Where a layer's bytes come from.
enum Source {
    /// The registry's blob endpoint.
    Registry(String),
    /// A URL listed in a foreign layer's descriptor: fetched without registry credentials.
    Foreign(String),
}

/// Why a layer download stopped early.
enum Interrupted {
    /// The connection broke off: worth resuming.
    Broken(AppError),
    /// Anything else: final.
    Failed(AppError),
}

/// The archive as one Blob whose parts are small byte arrays and the staged files themselves.
async fn assemble(parts: &[Part], staging: &Staging) -> Result<Blob, AppError> {
    let sequence = Array::new();
    for part in parts {
        match part {
            Part::Bytes(bytes) => {
                sequence.push(&Uint8Array::from(bytes.as_slice()));
            }
            Part::Blob { digest, .. } => {
                let blob = staging.blob(digest).await?;
                sequence.push(&blob);
            }
        }
    }
    let options = BlobPropertyBag::new();
    options.set_type("application/x-tar");
    let tar = Blob::new_with_blob_sequence_and_options(&sequence, &options)
        .map_err(|e| js_error("assembling the archive", &e))?;
    let expected = total_len(parts)?;
    if tar.size() as u64 != expected {
        return Err(AppError::Storage(format!(
            "the assembled archive has {} bytes instead of {expected}; a staged layer changed on disk",
            tar.size() as u64
        )));
    }
    Ok(tar)
}

fn pretty_json(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned())
}

fn short_media_type(media_type: &str) -> String {
    let compression = match media_type {
        media_type::DOCKER_LAYER_GZIP | media_type::DOCKER_FOREIGN_LAYER => "tar+gzip",
        other => other.rsplit(['.', '/']).next().unwrap_or(other),
    };
    if media_type.contains("foreign") || media_type.contains("nondistributable") {
        format!("foreign {compression}")
    } else {
        compression.to_owned()
    }
}
