//! A job's body: each chunk checked and stored in bounded writes, progress reported, and the
//! final checks that make the commit proof.

use web_sys::Response;

use super::store::{keep_nothing, resume_failure, storage, store_pending, Spill, Stop};
use super::{Job, Pumped};
use crate::engine::check::{Check, Verified};
use crate::engine::protocol::LayerFailure;
use crate::engine::relay::MAX_IN_FLIGHT;
use crate::services::stream::{ChunkReader, Stalled};

impl Job {
    /// Reads the body: each chunk is copied once into wasm memory, where it is checked and
    /// gathered into writes of `chunk_bytes` (a browser hands out small chunks, and every write
    /// to the file is a call into the browser). What was checked is on disk before the body
    /// ends or a resume continues after it.
    pub(super) async fn pump(&mut self, response: &Response) -> Result<Pumped, LayerFailure> {
        let Some(body) = response.body() else {
            return Ok(Pumped::Ended);
        };
        (self.store)
            .settle(self.stored, MAX_IN_FLIGHT)
            .await
            .map_err(storage)?;
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
            let checked = match &mut self.check {
                // Straight into the blob's buffer; written to disk from there.
                Check::Native(native) => native
                    .take_chunk(&chunk)
                    .map(|()| false)
                    .map_err(Stop::from),
                Check::Verify(_) | Check::Lanes(_) => {
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
                        store: &self.store,
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
            if self.unwritten() >= self.spec.settings.chunk_bytes as u64
                || waited >= f64::from(self.spec.settings.progress_interval_ms)
            {
                self.flush()?;
                // The page writes as fast as the disk lets it; the body waits meanwhile.
                (self.store)
                    .settle(self.stored, MAX_IN_FLIGHT)
                    .await
                    .map_err(storage)?;
            }
            if self.remote {
                self.fetched += u64::from(chunk.length());
            }
            self.fetch
                .handle_progress(self.check.received())
                .map_err(resume_failure)?;
            self.report_progress(false);
            if self.fetch.is_complete() {
                // Every byte is here: the end of the body is not worth waiting for.
                reader.cancel();
                self.flush()?;
                return Ok(Pumped::Ended);
            }
        }
    }

    /// Checked bytes not yet on disk.
    fn unwritten(&self) -> u64 {
        match &self.check {
            Check::Native(native) => native.received().saturating_sub(self.stored),
            _ => self.pending.len() as u64,
        }
    }

    /// Writes what was checked and not yet stored.
    pub(super) fn flush(&mut self) -> Result<(), LayerFailure> {
        self.last_flush_ms = js_sys::Date::now();
        if let Check::Native(native) = &self.check {
            let received = native.received();
            if received > self.stored {
                let bytes = native.bytes(self.stored, received);
                self.store
                    .write_js_at(&bytes, self.stored)
                    .map_err(storage)?;
                self.stored = received;
            }
            return Ok(());
        }
        store_pending(&self.store, &mut self.pending, &mut self.stored).map_err(storage)
    }

    /// The final checks, and the decompressor's last bytes.
    pub(super) async fn finish(&mut self) -> Result<Verified, LayerFailure> {
        // Every byte checked so far goes to disk first (a whole blob's rest, when native).
        self.flush()?;
        // A placeholder that holds nothing (no lane, no buffer) until a restart replaces it.
        let placeholder = Check::new(
            &self.spec.digest,
            self.spec.size,
            None,
            self.spec.settings.unpack_limits,
        );
        let check = std::mem::replace(&mut self.check, placeholder);
        self.hashed_by = check.backend();
        let mut spill = Spill {
            store: &self.store,
            pending: &mut self.pending,
            stored: &mut self.stored,
            chunk_bytes: self.spec.settings.chunk_bytes as usize,
        };
        let proof = check
            .finish(&mut |piece: &[u8]| spill.take(piece))
            .await
            .map_err(Stop::into_failure)?;
        self.flush()?;
        self.report_progress(true);
        Ok(proof)
    }

    pub(super) fn report_progress(&mut self, always: bool) {
        let now = js_sys::Date::now();
        if always
            || now - self.last_progress_ms >= f64::from(self.spec.settings.progress_interval_ms)
        {
            self.last_progress_ms = now;
            (self.link).progress(self.fetch.written(), self.stored, self.restarts);
        }
    }
}
