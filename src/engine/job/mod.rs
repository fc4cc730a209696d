//! One layer job, run inside a worker: bring the blob into `partial/`, verifying every byte,
//! and commit it to `blobs/` only through a verified finish. Bytes an interrupted earlier job
//! left in `partial/` are verified again and continued with `Range`. Every decision (retry,
//! backoff, resume, restart after a corrupt download) is the core's `BlobFetch`; this drives it
//! and only moves bytes.

use skiff_core::protocol::retry::RetryPolicy;
use skiff_core::transfer::blob_fetch::{Answer, BlobFetch, FetchFailure, FetchStep};
use skiff_core::transfer::hashing::HashBackend;
use web_sys::Response;

use super::check::{Check, Verified};
pub use store::http_facts;
mod body;
mod staging;
mod store;

use super::protocol::{HttpFacts, LayerFailure, LayerJob, Source, Stored, VerifyFailure};
use super::worker::{JobLink, Sent};
use store::{keep_nothing, resume_failure, storage, Store};

pub struct Job {
    spec: LayerJob,
    link: JobLink,
    store: Store,
    check: Check,
    fetch: BlobFetch,
    /// Why the last body broke off, for the message if breaks keep coming.
    last_break: String,
    /// Where the next stored byte goes (differs from `received` when decompressing).
    stored: u64,
    fetched: u64,
    reused: u64,
    /// Whether the body being read comes over the network (not from the layer cache).
    remote: bool,
    buffer: Vec<u8>,
    /// Checked bytes waiting to be written together.
    pending: Vec<u8>,
    last_flush_ms: f64,
    last_progress_ms: f64,
    /// The backend whose digest the last finish checked.
    hashed_by: HashBackend,
    /// Times the bytes were forgotten after some were stored.
    restarts: u32,
}

/// Why the last request did not bring the blob: no answer, or an answer that was not a success.
enum Refusal {
    NoAnswer(String),
    Answer(Box<HttpFacts>),
}

/// The page's clock, for the core's decisions.
fn now() -> u64 {
    js_sys::Date::now() as u64
}

enum Pumped {
    /// The body ended (maybe early: the resume state tells).
    Ended,
    Broke(String),
}

impl Job {
    pub async fn open(spec: LayerJob, link: JobLink) -> Result<Self, LayerFailure> {
        let store = Store::open(spec.destination, spec.key(), || link.outbox())
            .await
            .map_err(storage)?;
        let check = Check::for_job(&spec);
        let policy = RetryPolicy {
            max_attempts: spec.settings.max_attempts,
            ..RetryPolicy::default()
        };
        let fetch = BlobFetch::new(spec.size, policy);
        let chunk = spec.settings.chunk_bytes.max(64 * 1024) as usize;
        Ok(Self {
            spec,
            link,
            store,
            check,
            fetch,
            last_break: String::new(),
            stored: 0,
            fetched: 0,
            reused: 0,
            remote: true,
            buffer: vec![0; chunk],
            pending: Vec::with_capacity(chunk * 2),
            last_flush_ms: 0.0,
            last_progress_ms: 0.0,
            hashed_by: HashBackend::Wasm,
            restarts: 0,
        })
    }

    /// Runs the job to its end; the partial file's handle is closed whatever happens, and
    /// the blob is stored only once the page has written every byte it was handed.
    pub async fn run(mut self) -> Result<Stored, LayerFailure> {
        let result = self.run_inner().await;
        let Ok((stored, proof)) = result else {
            let _ = self.store.close(None).await;
            return result.map(|(stored, _)| stored);
        };
        let settled = self.store.settle(self.stored, 0).await;
        if let Err(error) = settled {
            let _ = self.store.close(None).await;
            return Err(storage(error));
        }
        self.store
            .close(Some((self.spec.key().hex(), proof)))
            .await
            .map_err(storage)?;
        Ok(stored)
    }

    async fn run_inner(&mut self) -> Result<(Stored, Verified), LayerFailure> {
        self.reuse_partial().await?;
        let sources = self.spec.sources.clone();
        let mut first_failure = None;
        for (position, source) in sources.iter().enumerate() {
            if position > 0 {
                self.restart().await?;
            }
            match self.fetch_from(source).await {
                Ok(proof) => {
                    let stored = Stored {
                        key: self.spec.key().clone(),
                        size: self.stored,
                        fetched: self.fetched,
                        reused: self.reused,
                        wasm_memory: wasm_memory_bytes(),
                        hashed_by: self.hashed_by,
                    };
                    return Ok((stored, proof));
                }
                Err(LayerFailure::Cancelled) => return Err(LayerFailure::Cancelled),
                Err(failure) => {
                    first_failure.get_or_insert(failure);
                }
            }
        }
        Err(first_failure.unwrap_or(LayerFailure::Storage {
            detail: "the layer has no source to fetch it from".to_owned(),
        }))
    }

    /// Verifies what an interrupted job left on disk, so only the rest is fetched. Only blobs
    /// kept as downloaded: a decompressor's state cannot be rebuilt from its output. The page,
    /// if it takes the bytes, gets these too.
    async fn reuse_partial(&mut self) -> Result<(), LayerFailure> {
        let on_disk = self.store.kept();
        if on_disk == 0 || self.spec.diff_id.is_some() || on_disk > self.spec.size {
            return self.restart().await;
        }
        let mut at = 0;
        while at < on_disk {
            let want = self.buffer.len().min((on_disk - at) as usize);
            let read = (self.store)
                .read_kept(&mut self.buffer[..want], at)
                .map_err(storage)?;
            if read == 0 {
                break;
            }
            if self
                .check
                .update(&self.buffer[..read], &mut keep_nothing)
                .is_err()
            {
                return self.restart().await;
            }
            self.store
                .to_page(&self.buffer[..read], at)
                .map_err(storage)?;
            (self.store)
                .settle(at, super::relay::MAX_IN_FLIGHT)
                .await
                .map_err(storage)?;
            at += read as u64;
        }
        self.stored = at;
        self.reused = at;
        self.fetch.handle_progress(at).map_err(resume_failure)?;
        self.report_progress(true);
        Ok(())
    }

    /// Forgets every byte and the resume budget: a fresh start (another source, say).
    async fn restart(&mut self) -> Result<(), LayerFailure> {
        self.fetch.forget_kept();
        self.reset_bytes().await
    }

    /// Empties the file and starts checking over; the resume state is the caller's to set.
    async fn reset_bytes(&mut self) -> Result<(), LayerFailure> {
        self.store.empty().await.map_err(storage)?;
        let restarted = self.stored > 0;
        self.check.restart(&self.spec);
        self.stored = 0;
        self.pending.clear();
        if restarted {
            // Said at once: whoever reads the partial file must know its bytes changed.
            self.restarts += 1;
            self.report_progress(true);
        }
        Ok(())
    }

    /// Drives the core's [`BlobFetch`] for one source: it decides, this sends, reads and stores.
    async fn fetch_from(&mut self, source: &Source) -> Result<Verified, LayerFailure> {
        self.remote = !source.local;
        self.fetch.begin_source(source.registry);
        let mut authorization = source.authorization.clone();
        // The last answer that was not a success, for the message if it stands.
        let mut refusal = None;
        let mut challenge = None;
        let mut step = self.fetch.poll();
        loop {
            step = match step {
                FetchStep::Finish => match self.finish().await {
                    Ok(proof) => return Ok(proof),
                    Err(failure @ LayerFailure::Verify(VerifyFailure::Digest { .. })) => {
                        match self.fetch.handle_corrupt() {
                            FetchStep::Fail(_) => return Err(failure),
                            next => next,
                        }
                    }
                    Err(failure) => return Err(failure),
                },
                FetchStep::Send { range } => {
                    let sent = Sent {
                        source,
                        route: &self.spec.route,
                        authorization: authorization.as_ref().map(|a| a.header.as_str()),
                        range: range.as_deref(),
                    };
                    match self.link.send(&sent).await {
                        Err(detail) => {
                            self.link.check_cancelled()?;
                            refusal = Some(Refusal::NoAnswer(detail));
                            self.fetch.handle_no_answer(now())
                        }
                        Ok(response) => {
                            let step = self.answered(&response, &mut refusal, &mut challenge).await;
                            if let FetchStep::ReadBody { discard } = step {
                                if discard {
                                    self.reset_bytes().await?;
                                }
                                self.read_body(&response).await?;
                                self.fetch.handle_body_end()
                            } else {
                                step
                            }
                        }
                    }
                }
                FetchStep::Wait { ms } => {
                    self.link.sleep(ms).await?;
                    self.fetch.poll()
                }
                FetchStep::Reauthorize => {
                    let refused = authorization.as_ref().map_or(0, |a| a.generation);
                    let fresh = self
                        .link
                        .ask_authorization(challenge.take(), refused)
                        .await?;
                    authorization = Some(fresh);
                    self.fetch.poll()
                }
                FetchStep::StartOver => {
                    self.reset_bytes().await?;
                    self.fetch.poll()
                }
                FetchStep::ReadBody { .. } => self.fetch.poll(),
                FetchStep::Fail(failure) => return Err(self.failure(failure, refusal)),
            };
        }
    }

    /// Hands an answer to the core; an error answer's facts are kept for the message.
    async fn answered(
        &mut self,
        response: &Response,
        refusal: &mut Option<Refusal>,
        challenge: &mut Option<String>,
    ) -> FetchStep {
        let header = |name| response.headers().get(name).ok().flatten();
        let status = response.status();
        if status == 401 {
            *challenge = header(self.spec.route.challenge_header());
        }
        let (content_range, retry_after) = (header("content-range"), header("retry-after"));
        let proxy_error = header(skiff_core::protocol::proxy_protocol::PROXY_ERROR_HEADER);
        if !response.ok() {
            *refusal = Some(Refusal::Answer(Box::new(http_facts(response).await)));
        }
        let answer = Answer {
            status,
            content_range: content_range.as_deref(),
            content_length: header("content-length").and_then(|v| v.trim().parse().ok()),
            retry_after: retry_after.as_deref(),
            proxy_error: proxy_error.as_deref(),
        };
        self.fetch.handle_answer(answer, now())
    }

    /// Reads one answer's body into storage, reporting its bytes to the request's record.
    async fn read_body(&mut self, response: &Response) -> Result<(), LayerFailure> {
        let before = self.fetched;
        let pumped = self.pump(response).await;
        self.link.finish_exchange(self.fetched - before);
        match pumped? {
            Pumped::Ended if self.fetch.is_complete() => {}
            Pumped::Ended => self.last_break = "the body ended early".to_owned(),
            Pumped::Broke(detail) => self.last_break = detail,
        }
        Ok(())
    }

    /// What the page is told when the core says stop.
    fn failure(&self, failure: FetchFailure, refusal: Option<Refusal>) -> LayerFailure {
        match (failure, refusal) {
            (FetchFailure::Unreachable { attempts }, refusal) => LayerFailure::Unreachable {
                detail: match refusal {
                    Some(Refusal::NoAnswer(detail)) => detail,
                    _ => String::new(),
                },
                attempts,
            },
            (FetchFailure::Status { .. }, Some(Refusal::Answer(facts))) => {
                LayerFailure::Http(facts)
            }
            (FetchFailure::Status { status }, _) => LayerFailure::Http(Box::new(HttpFacts {
                status,
                ..Default::default()
            })),
            (FetchFailure::Broken, _) => LayerFailure::Broken {
                received: self.check.received(),
                size: self.spec.size,
                detail: self.last_break.clone(),
            },
            (FetchFailure::Resume(error), _) => resume_failure(error),
            (FetchFailure::CorruptTwice, _) => LayerFailure::Resume {
                reason: skiff_core::protocol::resume::ResumeError::CorruptTwice.to_string(),
            },
        }
    }
}

/// This worker's wasm memory, bytes.
fn wasm_memory_bytes() -> u64 {
    use wasm_bindgen::JsCast as _;
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .map(|memory| {
            memory
                .buffer()
                .unchecked_into::<js_sys::ArrayBuffer>()
                .byte_length() as u64
        })
        .unwrap_or(0)
}
