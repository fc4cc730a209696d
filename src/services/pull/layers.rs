//! The layers of one image: those already verified in the layer cache are used as they are;
//! the rest go to the worker pool as jobs, whose events become the rows' progress and the
//! request log, and whose 401s are answered with a renewed token.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use futures::{StreamExt as _, TryStreamExt as _};
use skiff_core::image::manifest::Descriptor;
use skiff_core::protocol::registry::blob_url;
use skiff_core::protocol::resume::DEFAULT_MAX_STALLED;
use skiff_core::transfer::hashing::HashBackend;
use skiff_core::transfer::layer::UnpackedLayer;
use skiff_core::{Digest, Reference};

use super::target::Target;
use super::{Emit, PullSettings};
use crate::engine::cache::Cache;
use crate::engine::pool::{JobEvent, Pool};
use crate::engine::protocol::{Destination, LayerFailure, LayerJob, Source, Stored};
use crate::error::AppError;
use crate::services::http::{error_from_facts, now_ms, RegistrySession};
use crate::state::{LayerOutcome, PullEvent};

/// A layer as the archive needs it.
pub struct Fetched {
    pub digest: Digest,
    /// Its uncompressed form, when stored uncompressed.
    pub unpacked: Option<UnpackedLayer>,
    /// Layer bytes that came over the network (0 from the cache).
    pub transferred: u64,
    pub from_cache: bool,
    /// The wasm memory of the worker that fetched it (0 from the cache).
    pub worker_memory: u64,
}

/// One layer to bring in, with the row that shows it.
pub struct Wanted<'a> {
    pub layer: &'a Descriptor,
    pub diff_id: Option<Digest>,
    pub row: usize,
}

impl Wanted<'_> {
    /// Its name in the cache: the digest of what is stored.
    pub fn key(&self) -> &Digest {
        self.diff_id.as_ref().unwrap_or(&self.layer.digest)
    }

    /// The stored size if the cache holds it, verified and complete.
    pub fn cached_size(&self, cache: &Cache) -> Option<u64> {
        let size = cache.size_of(self.key())?;
        (self.diff_id.is_some() || size == self.layer.size).then_some(size)
    }
}

/// Gathers the workers' progress reports into one update per interval for all rows.
pub struct ProgressGate {
    interval_ms: f64,
    last_ms: Cell<f64>,
    pending: RefCell<BTreeMap<usize, u64>>,
}

impl ProgressGate {
    pub fn new(interval_ms: u32) -> Rc<Self> {
        Rc::new(Self {
            interval_ms: f64::from(interval_ms),
            last_ms: Cell::new(f64::NEG_INFINITY),
            pending: RefCell::default(),
        })
    }

    fn offer(&self, row: usize, received: u64, now_ms: f64, emit: &Emit) {
        self.pending.borrow_mut().insert(row, received);
        if now_ms - self.last_ms.get() < self.interval_ms {
            return;
        }
        self.last_ms.set(now_ms);
        let received = std::mem::take(&mut *self.pending.borrow_mut())
            .into_iter()
            .collect();
        emit(PullEvent::LayersProgress { received, now_ms });
    }
}

pub struct Layers<'a> {
    pub session: &'a Rc<RegistrySession>,
    pub reference: &'a Reference,
    pub emit: &'a Emit,
    pub pool: &'a Rc<Pool>,
    pub cache: &'a Cache,
    pub settings: &'a PullSettings,
    pub progress: &'a Rc<ProgressGate>,
    /// The chosen file, which gets each layer's bytes as they stream (or, from the cache,
    /// once verified); committed only when every layer passed.
    pub target: Option<&'a Rc<Target>>,
}

impl Layers<'_> {
    /// Brings in every wanted layer, [`Pool::size`] at a time; the first failure ends it.
    pub async fn fetch(&self, wanted: &[Wanted<'_>]) -> Result<Vec<Fetched>, AppError> {
        let total = wanted.len();
        futures::stream::iter(wanted.iter().enumerate())
            .map(|(position, want)| async move {
                self.one(want).await.map_err(|source| AppError::Layer {
                    position: position + 1,
                    total,
                    digest: want.layer.digest.clone(),
                    source: Box::new(source),
                })
            })
            .buffer_unordered(self.pool.size())
            .try_collect()
            .await
    }

    async fn one(&self, want: &Wanted<'_>) -> Result<Fetched, AppError> {
        let unpacked = |size| {
            want.diff_id
                .clone()
                .map(|diff_id| UnpackedLayer { diff_id, size })
        };
        if let Some(size) = want.cached_size(self.cache) {
            self.cache.touch(want.key(), now_ms());
            self.to_target(want.key()).await?;
            self.done(want.row, LayerOutcome::Cached);
            return Ok(Fetched {
                digest: want.layer.digest.clone(),
                unpacked: unpacked(size),
                transferred: 0,
                from_cache: true,
                worker_memory: 0,
            });
        }
        let mut job = self.job(want).await?;
        let local = self.local_source(want).await;
        if let Some((source, _)) = &local {
            job.sources.insert(0, source.clone());
        }
        let destination = job.destination;
        let outcome = self.pool.run(job, self.on_event(want)).await;
        if let Some((_, url)) = &local {
            let _ = web_sys::Url::revoke_object_url(url);
        }
        match outcome {
            Ok(Stored {
                key,
                size,
                fetched,
                wasm_memory,
                hashed_by,
                ..
            }) => {
                if destination.to_cache() {
                    self.cache.record(&key, size, now_ms());
                }
                match (destination.to_page(), self.target) {
                    (true, Some(target)) => target.take_failure()?,
                    _ => self.to_target(&key).await?,
                }
                // Unpacked from the cached download: nothing came over the network.
                let from_cache = local.is_some() && fetched == 0;
                self.done(
                    want.row,
                    if from_cache {
                        LayerOutcome::Cached
                    } else {
                        LayerOutcome::Verified { hashed_by }
                    },
                );
                Ok(Fetched {
                    digest: want.layer.digest.clone(),
                    unpacked: unpacked(size),
                    transferred: fetched,
                    from_cache,
                    worker_memory: wasm_memory,
                })
            }
            Err(failure) => {
                self.done(want.row, LayerOutcome::Failed);
                Err(self.error(failure, want.layer))
            }
        }
    }

    /// When the layer is wanted uncompressed and the cache holds it as downloaded: the cached
    /// blob as a source (an object URL the worker reads and checks again), and the URL to
    /// revoke after.
    async fn local_source(&self, want: &Wanted<'_>) -> Option<(Source, String)> {
        want.diff_id.as_ref()?;
        let digest = &want.layer.digest;
        if self.cache.size_of(digest) != Some(want.layer.size) {
            return None;
        }
        let file = self.cache.file(digest).await.ok()?;
        let url = web_sys::Url::create_object_url_with_blob(&file).ok()?;
        let source = Source {
            fetch_url: url.clone(),
            shown_url: format!("layer cache: {}", digest.short()),
            registry: false,
            authorization: None,
            local: true,
        };
        Some((source, url))
    }

    /// Copies a verified, cached blob into the chosen file at its place.
    async fn to_target(&self, key: &Digest) -> Result<(), AppError> {
        let Some(target) = self.target.filter(|t| t.is_laid_out()) else {
            return Ok(());
        };
        let file = self
            .cache
            .file(key)
            .await
            .map_err(|e| AppError::Storage(e.to_string()))?;
        target.write_blob(key, &file).await
    }

    fn done(&self, index: usize, outcome: LayerOutcome) {
        self.progress.pending.borrow_mut().remove(&index);
        (self.emit)(PullEvent::LayerDone { index, outcome });
    }

    async fn job(&self, want: &Wanted<'_>) -> Result<LayerJob, AppError> {
        let route = self.session.route();
        // Foreign (non-distributable) layers come from their URLs; the registry is the fallback.
        let mut sources: Vec<Source> = want
            .layer
            .urls
            .iter()
            .flatten()
            .map(|url| Source {
                fetch_url: route.url(url),
                shown_url: url.clone(),
                registry: false,
                authorization: None,
                local: false,
            })
            .collect();
        let registry_url = blob_url(self.reference, &want.layer.digest);
        sources.push(Source {
            fetch_url: route.url(&registry_url),
            shown_url: registry_url,
            registry: true,
            authorization: self.session.fresh_authorization().await?,
            local: false,
        });
        Ok(LayerJob {
            job: 0,
            route: route.clone(),
            digest: want.layer.digest.clone(),
            size: want.layer.size,
            diff_id: want.diff_id.clone(),
            sources,
            settings: self.settings.job,
            // The pool grants it when the job starts.
            hashing: HashBackend::Wasm,
            destination: self.destination(),
        })
    }

    /// A chosen file laid out in advance takes the bytes as they stream: written once, unless
    /// the user also keeps layers in the cache.
    fn destination(&self) -> Destination {
        match self.target.filter(|t| t.is_laid_out()) {
            None => Destination::Cache,
            Some(_) if self.settings.cache_chosen_file => Destination::CacheAndPage,
            Some(_) => Destination::Page,
        }
    }

    /// A job's events as pull events; a 401 is answered with a renewed token, bytes for the
    /// chosen file are written there.
    fn on_event(&self, want: &Wanted<'_>) -> Rc<dyn Fn(JobEvent)> {
        let row = want.row;
        let emit = self.emit.clone();
        let session = self.session.clone();
        let pool = Rc::downgrade(self.pool);
        let progress = self.progress.clone();
        let target = self.target.cloned();
        let digest = want.layer.digest.clone();
        Rc::new(move |event| match event {
            JobEvent::Bytes(relayed) => {
                let (pool, target, digest) = (pool.clone(), target.clone(), digest.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    if let Some(target) = target {
                        target
                            .write_streamed(&digest, relayed.at, &relayed.bytes)
                            .await;
                    }
                    if let Some(pool) = pool.upgrade() {
                        pool.relayed(&relayed);
                    }
                });
            }
            JobEvent::Progress { received, .. } => {
                progress.offer(row, received, js_sys::Date::now(), &emit)
            }
            JobEvent::Exchange(exchange) => emit(PullEvent::Exchange(*exchange)),
            JobEvent::NeedsAuthorization {
                job,
                challenge,
                generation,
            } => renew_for_job(&pool, &session, job, challenge, generation),
        })
    }

    /// A worker's failure, worded as the page words its own.
    fn error(&self, failure: LayerFailure, layer: &Descriptor) -> AppError {
        let urls = layer.urls.as_ref().map_or(0, Vec::len);
        layer_error(self.session, failure, &layer.digest, urls)
    }
}

/// Answers a job's 401: the session renews its credential (as its challenge says) and the
/// pool hands the job the fresh one (or none: the job gives up).
pub fn renew_for_job(
    pool: &std::rc::Weak<Pool>,
    session: &Rc<RegistrySession>,
    job: u32,
    challenge: Option<String>,
    generation: u64,
) {
    let (pool, session) = (pool.clone(), session.clone());
    wasm_bindgen_futures::spawn_local(async move {
        let authorization = session
            .reauthorize(generation, challenge.as_deref())
            .await
            .ok()
            .flatten();
        if let Some(pool) = pool.upgrade() {
            pool.authorize(job, authorization);
        }
    });
}

/// A layer worker's failure for blob `digest` (a foreign layer's when it has `urls`), worded
/// as the page words its own.
pub fn layer_error(
    session: &RegistrySession,
    failure: LayerFailure,
    digest: &Digest,
    urls: usize,
) -> AppError {
    let what = format!("layer {}", digest.short());
    let error = match failure {
        LayerFailure::Http(facts) => error_from_facts(&facts, &what),
        LayerFailure::Unreachable { detail, attempts } => {
            session.unreachable(&what, &format!("{detail} ({attempts} attempts)"))
        }
        LayerFailure::Broken {
            received,
            size,
            detail,
        } => AppError::Browser(format!(
            "the connection kept breaking off ({detail}) at {received} of {size} bytes; Skiff resumed it while each try brought new bytes, and gave up after {DEFAULT_MAX_STALLED} tries in a row brought none"
        )),
        LayerFailure::Resume { reason } => {
            AppError::Browser(format!("resuming the download failed: {reason}"))
        }
        LayerFailure::Verify(failure) => AppError::Core(failure.into()),
        LayerFailure::Storage { detail } => AppError::Storage(detail),
        LayerFailure::WorkerDied { detail } => AppError::WorkerDied { detail },
        LayerFailure::Cancelled => AppError::Cancelled,
    };
    match urls {
        _ if error == AppError::Cancelled => error,
        0 => error,
        urls => AppError::ForeignLayer {
            urls,
            first: Box::new(error),
        },
    }
}

/// Which layers of an image the archive still needs: each once, in manifest order, skipping
/// those an earlier image of the same archive brought.
pub fn wanted<'a>(
    layers: &'a [Descriptor],
    diff_ids: &HashMap<&Digest, &Digest>,
    uncompressed: bool,
    already: &[Digest],
) -> Vec<Wanted<'a>> {
    let mut wanted: Vec<Wanted> = Vec::new();
    for layer in layers {
        let seen = already.contains(&layer.digest)
            || wanted.iter().any(|w| w.layer.digest == layer.digest);
        if !seen {
            wanted.push(Wanted {
                layer,
                diff_id: uncompressed.then(|| (*diff_ids[&layer.digest]).clone()),
                row: already.len() + wanted.len(),
            });
        }
    }
    wanted
}
