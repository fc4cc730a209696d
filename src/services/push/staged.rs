//! A copy's blob brought in by a layer worker (the pull's job: fetched with retries and
//! resume, hashed off the page, written to the cache's partial file) while the upload sends
//! what is already on disk: each part goes up as a slice of that file, which the browser reads
//! itself (the cheapest body an upload can have). The job starts only when the upload first
//! asks for bytes (a blob the target has, or mounts, is never fetched). The request that
//! commits the blob is held until the job verified it ([`StagedBlob::verified`]); the bytes of
//! a blob that had to be fetched again (corrupt, or from another source) are sent once more,
//! from the verified file.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::channel::oneshot;
use skiff_core::explorer::exchange::Exchange;
use skiff_core::transfer::hashing::HashBackend;
use skiff_core::Digest;
use wasm_bindgen::JsCast;
use web_sys::File;
use yew::Callback;

use super::streamed::Part;
use crate::engine::opfs::{self, CacheDirs};
use crate::engine::pool::{JobEvent, Pool};
use crate::engine::protocol::{
    staging_name, Destination, JobSettings, LayerFailure, LayerJob, Source, STAGING_CHUNK,
};
use crate::error::AppError;
use crate::services::http::RegistrySession;
use crate::services::pull::layers::{layer_error, renew_for_job};

/// What runs a copy's jobs: the pool, the source registry's session (its credential, renewed
/// on a worker's 401) and where the workers' requests are reported.
pub struct Fetcher {
    pub pool: Rc<Pool>,
    pub session: Rc<RegistrySession>,
    pub exchanges: Callback<Exchange>,
    pub settings: JobSettings,
}

impl Fetcher {
    /// Runs `blob`'s job once the upload asks for bytes; nothing if it never does.
    pub async fn fetch(&self, blob: &StagedBlob, upstream_url: String) {
        let Some(started) = blob.started.borrow_mut().take() else {
            return;
        };
        if started.await.is_err() {
            return;
        }
        let outcome = match self.job(blob, upstream_url).await {
            Ok(job) => {
                let outcome = self.pool.run(job, self.on_event(blob)).await;
                outcome
                    .map(drop)
                    .map_err(|failure| self.error(failure, &blob.digest))
            }
            Err(error) => Err(error),
        };
        let mut known = blob.known.borrow_mut();
        known.outcome = Some(outcome);
        known.wake();
    }

    /// A worker's failure, worded as a pull's; a corrupt blob says nothing of it reached the
    /// target.
    fn error(&self, failure: LayerFailure, digest: &Digest) -> AppError {
        let corrupt = matches!(failure, LayerFailure::Verify(_));
        let error = layer_error(&self.session, failure, digest, 0);
        match corrupt {
            true => AppError::Upload(format!(
                "blob {digest} from the source: {error}. Nothing of it was committed to the target"
            )),
            false => error,
        }
    }

    async fn job(&self, blob: &StagedBlob, upstream_url: String) -> Result<LayerJob, AppError> {
        let route = self.session.route();
        Ok(LayerJob {
            job: 0,
            route: route.clone(),
            digest: blob.digest.clone(),
            size: blob.size,
            diff_id: None,
            sources: vec![Source {
                fetch_url: route.url(&upstream_url),
                shown_url: upstream_url,
                registry: true,
                authorization: self.session.fresh_authorization().await?,
                local: false,
            }],
            settings: self.settings,
            // The pool grants it when the job starts.
            hashing: HashBackend::Wasm,
            destination: Destination::Staging,
        })
    }

    fn on_event(&self, blob: &StagedBlob) -> Rc<dyn Fn(JobEvent)> {
        let known = blob.known.clone();
        let pool = Rc::downgrade(&self.pool);
        let session = self.session.clone();
        let exchanges = self.exchanges.clone();
        Rc::new(move |event| match event {
            JobEvent::Progress {
                stored, restarts, ..
            } => {
                let mut known = known.borrow_mut();
                known.restarted |= restarts > 0;
                known.stored = stored;
                known.wake();
            }
            JobEvent::Exchange(exchange) => exchanges.emit(*exchange),
            JobEvent::NeedsAuthorization {
                job,
                challenge,
                generation,
            } => renew_for_job(&pool, &session, job, challenge, generation),
            JobEvent::Bytes(_) => {}
        })
    }
}

/// What the upload side knows of the job.
#[derive(Default)]
struct Known {
    /// Bytes of the blob on disk in the partial file.
    stored: u64,
    /// The job went back to the start at least once (a corrupt body, another source).
    restarted: bool,
    outcome: Option<Result<(), AppError>>,
    /// Parts waiting for more bytes or the outcome.
    waiting: Vec<oneshot::Sender<()>>,
}

impl Known {
    fn wake(&mut self) {
        for waiting in self.waiting.drain(..) {
            let _ = waiting.send(());
        }
    }

    /// Resolves at the next progress report or the outcome.
    fn next_change(&mut self) -> oneshot::Receiver<()> {
        let (sender, receiver) = oneshot::channel();
        self.waiting.push(sender);
        receiver
    }
}

pub struct StagedBlob {
    digest: Digest,
    size: u64,
    known: Rc<RefCell<Known>>,
    start: RefCell<Option<oneshot::Sender<()>>>,
    started: RefCell<Option<oneshot::Receiver<()>>>,
    /// Whether any part went up before the job verified the blob.
    sent_early: Cell<bool>,
}

impl StagedBlob {
    pub fn new(digest: &Digest, size: u64) -> Self {
        let (start, started) = oneshot::channel();
        Self {
            digest: digest.clone(),
            size,
            known: Rc::default(),
            start: RefCell::new(Some(start)),
            started: RefCell::new(Some(started)),
            sent_early: Cell::new(false),
        }
    }

    /// Lets the job start (the upload wants bytes, or the commit is due).
    fn begin(&self) {
        if let Some(start) = self.start.borrow_mut().take() {
            let _ = start.send(());
        }
    }

    /// No part will be asked for any more: a job not started never starts.
    pub fn close(&self) {
        self.start.borrow_mut().take();
    }

    /// Deletes the staging files (once the blob is uploaded, or the copy failed).
    pub async fn remove(&self) {
        if let Ok(dirs) = CacheDirs::open().await {
            for index in 0..self.size.div_ceil(STAGING_CHUNK).max(1) {
                let name = staging_name(&self.digest, index);
                let _ =
                    wasm_bindgen_futures::JsFuture::from(dirs.partial.remove_entry(&name)).await;
            }
        }
    }

    /// Bytes `first..=last`: a slice of the staging file once they are on disk (after a
    /// restart, once the blob is verified).
    pub async fn part(&self, first: u64, last: u64) -> Result<Part, AppError> {
        self.begin();
        loop {
            let waiting = {
                let mut known = self.known.borrow_mut();
                match &known.outcome {
                    Some(Err(error)) => return Err(error.clone()),
                    Some(Ok(())) => None,
                    None if known.stored >= self.complete_through(last) && !known.restarted => {
                        self.sent_early.set(true);
                        None
                    }
                    None => Some(known.next_change()),
                }
            };
            match waiting {
                Some(receiver) => {
                    let _ = receiver.await;
                }
                None => return self.slice(first, last).await,
            }
        }
    }

    /// How many bytes must be stored before bytes up to `last` can be read: all of the
    /// staging file holding `last`, which is then never written again.
    fn complete_through(&self, last: u64) -> u64 {
        ((last / STAGING_CHUNK + 1) * STAGING_CHUNK).min(self.size)
    }

    /// Bytes `first..=last` as a `Blob` of slices of the staging files (read from disk by the
    /// browser as it sends them).
    async fn slice(&self, first: u64, last: u64) -> Result<Part, AppError> {
        let storage = |e: opfs::StorageError| AppError::Storage(e.to_string());
        let dirs = CacheDirs::open().await.map_err(storage)?;
        let parts = js_sys::Array::new();
        for index in first / STAGING_CHUNK..=last / STAGING_CHUNK {
            let start = index * STAGING_CHUNK;
            let handle = opfs::file(&dirs.partial, &staging_name(&self.digest, index), false)
                .await
                .map_err(storage)?;
            let file: File = opfs::wait(handle.get_file(), "reading a staged blob")
                .await
                .map_err(storage)?
                .unchecked_into();
            let from = first.max(start) - start;
            let to = (last + 1).min(start + STAGING_CHUNK) - start;
            let slice = file
                .slice_with_f64_and_f64(from as f64, to as f64)
                .map_err(|e| crate::services::http::js_error("reading a staged blob", &e))?;
            parts.push(&slice);
        }
        let blob = web_sys::Blob::new_with_blob_sequence(&parts)
            .map_err(|e| crate::services::http::js_error("reading a staged blob", &e))?;
        let length = blob.size() as u64;
        if length != last - first + 1 {
            return Err(AppError::Storage(format!(
                "the staged blob {} holds {length} bytes at {first}, not {}",
                self.digest.short(),
                last - first + 1
            )));
        }
        Ok(Part::Send(blob.into(), length))
    }

    /// Whether the job had to start over (parts already sent may hold other bytes).
    pub fn restarted(&self) -> bool {
        self.known.borrow().restarted
    }

    /// Waits for the job; `Ok(true)` when parts sent before the blob was verified may hold
    /// other bytes than the verified ones (the job had to start over): send them again.
    pub async fn verified(&self) -> Result<bool, AppError> {
        // A blob sent in one request is held before any part was asked for.
        self.begin();
        loop {
            let receiver = {
                let mut known = self.known.borrow_mut();
                match &known.outcome {
                    Some(Ok(())) => return Ok(known.restarted && self.sent_early.get()),
                    Some(Err(error)) => return Err(error.clone()),
                    None => known.next_change(),
                }
            };
            let _ = receiver.await;
        }
    }
}
