//! One layer job, run inside a worker: bring the blob into `partial/`, verifying every byte,
//! and commit it to `blobs/` only through a verified finish. Bytes an interrupted earlier job
//! left in `partial/` are verified again and continued with `Range`. Every decision (retry,
//! backoff, resume, restart after a corrupt download) is the core's; this only moves bytes.

use skiff_core::protocol::proxy_protocol::ProxyErrorKind;
use skiff_core::protocol::resume::{ResumeAccepted, ResumeState};
use skiff_core::protocol::retry::{Decision, GiveUp, Outcome, RetryAfter, RetryPolicy};
use skiff_core::protocol::session::MAX_AUTH_RETRIES;
use web_sys::{FileSystemFileHandle, FileSystemSyncAccessHandle, Response};

use super::check::{Check, Verified};
pub use super::job_store::http_facts;
use super::job_store::{keep_nothing, resume_failure, storage, Spill, Stop};
use super::opfs::{self, CacheDirs};
use super::protocol::{HttpFacts, LayerFailure, LayerJob, Source, Stored, VerifyFailure};
use super::worker::{JobLink, Sent};
use crate::services::stream::{ChunkReader, Stalled};

pub struct Job {
    spec: LayerJob,
    link: JobLink,
    dirs: CacheDirs,
    file: FileSystemFileHandle,
    handle: FileSystemSyncAccessHandle,
    check: Check,
    resume: ResumeState,
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
}

enum Pumped {
    /// The body ended (maybe early: the resume state tells).
    Ended,
    Broke(String),
}

impl Job {
    pub async fn open(spec: LayerJob, link: JobLink) -> Result<Self, LayerFailure> {
        let dirs = CacheDirs::open().await.map_err(storage)?;
        let name = spec.key().hex().to_owned();
        let file = opfs::file(&dirs.partial, &name, true)
            .await
            .map_err(storage)?;
        let handle = opfs::sync_handle(&file).await.map_err(storage)?;
        let check = Check::new(
            &spec.digest,
            spec.size,
            spec.diff_id.as_ref(),
            spec.settings.unpack_limits,
        );
        let resume = ResumeState::new(spec.size);
        let chunk = spec.settings.chunk_bytes.max(64 * 1024) as usize;
        Ok(Self {
            spec,
            link,
            dirs,
            file,
            handle,
            check,
            resume,
            stored: 0,
            fetched: 0,
            reused: 0,
            remote: true,
            buffer: vec![0; chunk],
            pending: Vec::with_capacity(chunk * 2),
            last_flush_ms: 0.0,
            last_progress_ms: 0.0,
        })
    }

    /// Runs the job to its end; the partial file's handle is closed whatever happens.
    pub async fn run(mut self) -> Result<Stored, LayerFailure> {
        let result = self.run_inner().await;
        self.handle.close();
        let (stored, proof) = result?;
        opfs::commit(&self.file, &self.dirs, self.spec.key().hex(), proof)
            .await
            .map_err(storage)?;
        Ok(stored)
    }

    async fn run_inner(&mut self) -> Result<(Stored, Verified), LayerFailure> {
        self.reuse_partial()?;
        let sources = self.spec.sources.clone();
        let mut first_failure = None;
        for (position, source) in sources.iter().enumerate() {
            if position > 0 {
                self.restart()?;
            }
            match self.fetch_from(source).await {
                Ok(proof) => {
                    let stored = Stored {
                        key: self.spec.key().clone(),
                        size: self.stored,
                        fetched: self.fetched,
                        reused: self.reused,
                        wasm_memory: wasm_memory_bytes(),
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
    /// kept as downloaded: a decompressor's state cannot be rebuilt from its output.
    fn reuse_partial(&mut self) -> Result<(), LayerFailure> {
        let on_disk = self.handle.get_size().unwrap_or(0.0) as u64;
        if on_disk == 0 || self.spec.diff_id.is_some() || on_disk > self.spec.size {
            return self.restart();
        }
        let mut at = 0;
        while at < on_disk {
            let want = self.buffer.len().min((on_disk - at) as usize);
            let read =
                opfs::read_at(&self.handle, &mut self.buffer[..want], at).map_err(storage)?;
            if read == 0 {
                break;
            }
            if self
                .check
                .update(&self.buffer[..read], &mut keep_nothing)
                .is_err()
            {
                return self.restart();
            }
            at += read as u64;
        }
        self.stored = at;
        self.reused = at;
        self.resume.handle_progress(at).map_err(resume_failure)?;
        self.report_progress(true);
        Ok(())
    }

    /// Forgets every byte and the resume budget: a fresh start (another source, say).
    fn restart(&mut self) -> Result<(), LayerFailure> {
        self.resume = ResumeState::new(self.spec.size);
        self.reset_bytes()
    }

    /// Empties the file and starts checking over; the resume state is the caller's to set.
    fn reset_bytes(&mut self) -> Result<(), LayerFailure> {
        self.handle
            .truncate_with_f64(0.0)
            .map_err(|e| storage(opfs::fail("emptying a cache file", &e)))?;
        self.check = Check::new(
            &self.spec.digest,
            self.spec.size,
            self.spec.diff_id.as_ref(),
            self.spec.settings.unpack_limits,
        );
        self.stored = 0;
        self.pending.clear();
        Ok(())
    }

    async fn fetch_from(&mut self, source: &Source) -> Result<Verified, LayerFailure> {
        self.remote = !source.local;
        let policy = RetryPolicy {
            max_attempts: self.spec.settings.max_attempts,
            ..RetryPolicy::default()
        };
        let mut authorization = source.authorization.clone();
        let (mut attempt, mut reauths) = (0, 0);
        loop {
            if self.resume.is_complete() {
                match self.finish() {
                    Ok(proof) => return Ok(proof),
                    Err(failure @ LayerFailure::Verify(VerifyFailure::Digest { .. })) => {
                        // A corrupt download may not repeat: once more from the start.
                        self.resume
                            .restart_whole_once()
                            .map_err(|_| failure.clone())?;
                        self.reset_bytes()?;
                        continue;
                    }
                    Err(failure) => return Err(failure),
                }
            }
            attempt += 1;
            let range = self.resume.next_request().range_header();
            let sent = Sent {
                source,
                route: &self.spec.route,
                authorization: authorization.as_ref().map(|a| a.header.as_str()),
                range: range.as_deref(),
            };
            let response = match self.link.send(&sent).await {
                Err(detail) => {
                    self.link.check_cancelled()?;
                    self.wait_or_give_up(&policy, attempt, Outcome::ConnectionError, &detail)
                        .await?;
                    continue;
                }
                Ok(response) => response,
            };
            let status = response.status();
            let header = |name| response.headers().get(name).ok().flatten();
            if status == 416 && range.is_some() {
                // The resume state decides: start over once, or the refusal stands.
                let decided =
                    self.resume
                        .handle_response(status, header("content-range").as_deref(), None);
                if decided != Ok(ResumeAccepted::StartOver) {
                    let facts = HttpFacts {
                        status,
                        ..Default::default()
                    };
                    return Err(LayerFailure::Http(Box::new(facts)));
                }
                self.reset_bytes()?;
                continue;
            }
            if status == 401 && source.registry && reauths < MAX_AUTH_RETRIES {
                reauths += 1;
                attempt -= 1;
                let challenge = response
                    .headers()
                    .get(self.spec.route.challenge_header())
                    .ok()
                    .flatten();
                let refused = authorization.as_ref().map_or(0, |a| a.generation);
                authorization = Some(self.link.ask_authorization(challenge, refused).await?);
                continue;
            }
            if !response.ok() {
                let facts = http_facts(&response).await;
                let outcome = Outcome::Status {
                    status,
                    retry_after: facts
                        .retry_after
                        .as_deref()
                        .and_then(|v| RetryAfter::parse(v).ok()),
                    // The proxy's own refusals are final; its "upstream failed" answers are not.
                    refused_by_proxy: facts.proxy_error.as_deref().is_some_and(|kind| {
                        kind.parse::<ProxyErrorKind>()
                            .map_or(true, |kind| !kind.is_transient())
                    }),
                };
                match policy.decide(attempt, outcome, js_sys::Date::now() as u64) {
                    Decision::Retry { after_ms } => self.link.sleep(after_ms).await?,
                    Decision::Done | Decision::GiveUp { .. } => {
                        return Err(LayerFailure::Http(Box::new(facts)))
                    }
                }
                continue;
            }
            let length = header("content-length").and_then(|v| v.trim().parse().ok());
            match self
                .resume
                .handle_response(status, header("content-range").as_deref(), length)
                .map_err(resume_failure)?
            {
                // The server ignored `Range` and sent it all: keep that, drop what was kept.
                ResumeAccepted::Restart => self.reset_bytes()?,
                ResumeAccepted::Continue { .. } => {}
                ResumeAccepted::StartOver => {
                    self.reset_bytes()?;
                    continue;
                }
            }
            attempt = 0;
            let before = self.fetched;
            let pumped = self.pump(&response).await;
            self.link.finish_exchange(self.fetched - before);
            match pumped? {
                Pumped::Ended if self.resume.is_complete() => continue,
                Pumped::Ended => self.broke("the body ended early")?,
                Pumped::Broke(detail) => self.broke(&detail)?,
            }
            self.link.sleep(200).await?;
        }
    }

    /// A body that broke off: resumed unless breaks keep coming without progress.
    fn broke(&mut self, detail: &str) -> Result<(), LayerFailure> {
        self.resume
            .handle_break()
            .map(drop)
            .map_err(|_| LayerFailure::Broken {
                received: self.check.received(),
                size: self.spec.size,
                detail: detail.to_owned(),
            })
    }

    async fn wait_or_give_up(
        &self,
        policy: &RetryPolicy,
        attempt: u32,
        outcome: Outcome,
        detail: &str,
    ) -> Result<(), LayerFailure> {
        match policy.decide(attempt, outcome, js_sys::Date::now() as u64) {
            Decision::Retry { after_ms } => self.link.sleep(after_ms).await,
            Decision::GiveUp {
                reason: GiveUp::ConnectionFailed { attempts },
            } => Err(LayerFailure::Unreachable {
                detail: detail.to_owned(),
                attempts,
            }),
            _ => Err(LayerFailure::Unreachable {
                detail: detail.to_owned(),
                attempts: attempt,
            }),
        }
    }

    /// Reads the body: each chunk is copied once into wasm memory, where it is checked and
    /// gathered into writes of `chunk_bytes` (a browser hands out small chunks, and every write
    /// to the file is a call into the browser). What was checked is on disk before the body
    /// ends or a resume continues after it.
    async fn pump(&mut self, response: &Response) -> Result<Pumped, LayerFailure> {
        let Some(body) = response.body() else {
            return Ok(Pumped::Ended);
        };
        let mut reader = ChunkReader::reusing(&body, self.spec.settings.read_bytes);
        let stall_ms = self.spec.settings.stall_timeout_ms.min(i32::MAX as u32) as i32;
        loop {
            let chunk = match reader.next_within(stall_ms).await {
                Ok(Ok(Some(chunk))) => chunk,
                Ok(Ok(None)) => {
                    self.flush()?;
                    return Ok(Pumped::Ended);
                }
                Ok(Err(Stalled)) => {
                    reader.cancel();
                    self.flush()?;
                    return Ok(Pumped::Broke(format!(
                        "no bytes arrived for {} s",
                        stall_ms / 1000
                    )));
                }
                Err(error) => {
                    self.flush()?;
                    self.link.check_cancelled()?;
                    return Ok(Pumped::Broke(crate::error::js_error_text(&error)));
                }
            };
            let length = chunk.length() as usize;
            let checked = match &self.check {
                Check::Verify(_) => {
                    // Straight into the pending write, and hashed there.
                    let start = self.pending.len();
                    self.pending.resize(start + length, 0);
                    chunk.copy_to(&mut self.pending[start..]);
                    self.check.update(&self.pending[start..], &mut keep_nothing)
                }
                Check::Unpack(_) => {
                    self.buffer.resize(length, 0);
                    chunk.copy_to(&mut self.buffer);
                    let mut spill = Spill {
                        handle: &self.handle,
                        pending: &mut self.pending,
                        stored: &mut self.stored,
                        chunk_bytes: self.spec.settings.chunk_bytes as usize,
                    };
                    self.check
                        .update(&self.buffer, &mut |piece: &[u8]| spill.take(piece))
                }
            };
            if let Err(stop) = checked {
                reader.cancel();
                return Err(stop.into_failure());
            }
            // Full, or waiting long enough that a reload should not lose it.
            let waited = js_sys::Date::now() - self.last_flush_ms;
            if self.pending.len() >= self.spec.settings.chunk_bytes as usize
                || waited >= f64::from(self.spec.settings.progress_interval_ms)
            {
                self.flush()?;
            }
            if self.remote {
                self.fetched += u64::from(chunk.length());
            }
            self.resume
                .handle_progress(self.check.received())
                .map_err(resume_failure)?;
            self.report_progress(false);
            if self.resume.is_complete() {
                // Every byte is here: the end of the body is not worth waiting for.
                reader.cancel();
                self.flush()?;
                return Ok(Pumped::Ended);
            }
        }
    }

    /// Writes what was checked and not yet stored.
    fn flush(&mut self) -> Result<(), LayerFailure> {
        self.last_flush_ms = js_sys::Date::now();
        if !self.pending.is_empty() {
            opfs::write_at(&self.handle, &self.pending, self.stored).map_err(storage)?;
            self.stored += self.pending.len() as u64;
            self.pending.clear();
        }
        Ok(())
    }

    /// The final checks, and the decompressor's last bytes.
    fn finish(&mut self) -> Result<Verified, LayerFailure> {
        let check = std::mem::replace(
            &mut self.check,
            Check::new(
                &self.spec.digest,
                self.spec.size,
                self.spec.diff_id.as_ref(),
                self.spec.settings.unpack_limits,
            ),
        );
        let mut spill = Spill {
            handle: &self.handle,
            pending: &mut self.pending,
            stored: &mut self.stored,
            chunk_bytes: self.spec.settings.chunk_bytes as usize,
        };
        let proof = check
            .finish(&mut |piece: &[u8]| spill.take(piece))
            .map_err(Stop::into_failure)?;
        self.flush()?;
        self.report_progress(true);
        Ok(proof)
    }

    fn report_progress(&mut self, always: bool) {
        let now = js_sys::Date::now();
        if always
            || now - self.last_progress_ms >= f64::from(self.spec.settings.progress_interval_ms)
        {
            self.last_progress_ms = now;
            self.link.progress(self.resume.written());
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
