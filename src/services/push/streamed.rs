//! A source registry's blob, streamed into the target's upload: the core's [`CopyWindow`]
//! decides what to read, when to open the source again (with `Range` after a break), and holds
//! only the bytes the upload may still ask for; this file moves the bytes. While a chunk is on
//! its way to the target, the next one is read from the source ([`StreamedBlob::read_ahead`]),
//! so downloading and uploading overlap; at most two chunks are held in memory, and each goes up
//! from a file on disk ([`ChunkFile`]).

use std::cell::{Cell, RefCell};

use skiff_core::protocol::proxy_protocol::PROXY_ERROR_HEADER;
use skiff_core::transfer::blob_fetch::Answer;
use skiff_core::transfer::copy_window::{CopyWindow, Need, Opened, Progress};
use skiff_core::Digest;

use super::chunk_file::ChunkFile;
use crate::error::AppError;
use crate::services::http::{error_for, js_error, now_ms, sleep_ms, RegistrySession};
use crate::services::stream::ChunkReader;
use skiff_core::transfer::upload::CHUNK;

/// Bytes per read of the source body (one buffer, reused).
const READ_BUFFER: u32 = 1 << 20;
/// A source body that sends nothing for this long is treated as broken.
const STALL_MS: i32 = 30_000;

/// What the upload gets for bytes it asked for.
pub enum Part {
    /// A body to send (bytes or a `Blob`) and its length.
    Send(wasm_bindgen::JsValue, u64),
    /// The blob did not match its digest: the source is read again and the upload must start
    /// over in a new session.
    StartOver,
}

pub struct StreamedBlob<'a> {
    session: &'a RegistrySession,
    url: String,
    size: u64,
    window: RefCell<CopyWindow>,
    body: RefCell<Option<ChunkReader>>,
    /// Bytes read from the current body, for its exchange record.
    body_bytes: Cell<u64>,
    /// Reading ahead found the blob corrupt: the upload must start over.
    start_over: Cell<bool>,
    /// Reading ahead failed for good: said at the next [`StreamedBlob::part`].
    failed: RefCell<Option<AppError>>,
    /// The one buffer chunks are staged from.
    outgoing: RefCell<Option<js_sys::Uint8Array>>,
    /// The file chunks go up from ([`ChunkFile`]); `Err` when the browser has no OPFS here (a
    /// private window), and chunks then go up as in-memory `Blob`s.
    staging: RefCell<Option<Result<std::rc::Rc<ChunkFile>, ()>>>,
    /// The file a whole blob is staged in, for a registry that takes it only in one request.
    whole: RefCell<Option<ChunkFile>>,
}

impl<'a> StreamedBlob<'a> {
    pub fn new(session: &'a RegistrySession, url: String, digest: &Digest, size: u64) -> Self {
        Self {
            session,
            url,
            size,
            window: RefCell::new(CopyWindow::new(digest.clone(), size)),
            body: RefCell::new(None),
            body_bytes: Cell::new(0),
            start_over: Cell::new(false),
            failed: RefCell::new(None),
            outgoing: RefCell::new(None),
            staging: RefCell::new(None),
            whole: RefCell::new(None),
        }
    }

    /// Bytes `first..=last`, read from the source as far as needed.
    pub async fn part(&self, first: u64, last: u64) -> Result<Part, AppError> {
        if let Some(error) = self.failed.take() {
            return Err(error);
        }
        if self.start_over.replace(false) {
            return Ok(Part::StartOver);
        }
        if last - first + 1 > CHUNK {
            return self.staged(first, last).await;
        }
        if !self.ready(first, last).await? {
            return Ok(Part::StartOver);
        }
        self.outgoing(first, last).await
    }

    /// Reads the source until bytes `first..=last` are held; `false` when the blob turned out
    /// corrupt and the upload must start over.
    async fn ready(&self, first: u64, last: u64) -> Result<bool, AppError> {
        loop {
            let need = self.window.borrow_mut().poll_need(first, last);
            match need {
                Need::Ready => return Ok(true),
                Need::Send { range } => self.open(range).await?,
                Need::Read => {
                    if self.read_next().await? == Progress::StartOver {
                        self.close();
                        return Ok(false);
                    }
                }
            }
        }
    }

    /// More than a chunk in one body (a registry that takes a blob only in one `PATCH`): it is
    /// written to the staging file a chunk at a time, so memory holds one chunk, and sent from
    /// disk.
    async fn staged(&self, first: u64, last: u64) -> Result<Part, AppError> {
        let file = ChunkFile::create().await.map_err(|error| {
            AppError::Upload(format!("the target registry takes a blob only whole, in one request, and this browser cannot hold it on disk for that ({error}); copy it through an archive instead"))
        })?;
        let mut writer = file.writer().await.map_err(storage)?;
        let mut at = first;
        while at <= last {
            let end = (at + CHUNK - 1).min(last);
            if !self.ready(at, end).await? {
                file.remove();
                return Ok(Part::StartOver);
            }
            let bytes = js_sys::Uint8Array::from(self.window.borrow_mut().take(at, end));
            writer.write(&bytes).await.map_err(storage)?;
            at = end + 1;
        }
        let staged = writer.finish().await.map_err(storage)?;
        // Kept until the blob is done (the upload reads it); one at a time.
        if let Some(earlier) = self.whole.replace(Some(file)) {
            earlier.remove();
        }
        Ok(Part::Send(staged.into(), last - first + 1))
    }

    /// Reads on from the open source body up to byte `until` (exclusive) while a chunk is being
    /// uploaded. A break is left for the next [`StreamedBlob::part`] to mend.
    pub async fn read_ahead(&self, until: u64) {
        let until = until.min(self.size);
        while self.window.borrow().read() < until
            && self.body.borrow().is_some()
            && self.failed.borrow().is_none()
            && !self.start_over.get()
        {
            match self.read_next().await {
                Ok(Progress::StartOver) => {
                    self.close();
                    self.start_over.set(true);
                }
                Ok(_) => {}
                Err(error) => *self.failed.borrow_mut() = Some(error),
            }
        }
    }

    /// The window's bytes `first..=last` as a body: staged on disk, or an in-memory `Blob`.
    async fn outgoing(&self, first: u64, last: u64) -> Result<Part, AppError> {
        let view = {
            let mut window = self.window.borrow_mut();
            let bytes = window.take(first, last);
            let mut outgoing = self.outgoing.borrow_mut();
            let buffer = outgoing.get_or_insert_with(|| {
                js_sys::Uint8Array::new_with_length(
                    skiff_core::transfer::upload::CHUNK.min(self.size).max(1) as u32,
                )
            });
            if (buffer.length() as usize) < bytes.len() {
                *buffer = js_sys::Uint8Array::new_with_length(bytes.len() as u32);
            }
            let view = buffer.subarray(0, bytes.len() as u32);
            view.copy_from(bytes);
            view
        };
        let length = u64::from(view.length());
        if self.staging.borrow().is_none() {
            let file = ChunkFile::create()
                .await
                .map(std::rc::Rc::new)
                .map_err(|_| ());
            *self.staging.borrow_mut() = Some(file);
        }
        let staging = self.staging.borrow().clone().expect("set above");
        if let Ok(file) = staging {
            if let Ok(staged) = file.stage(&view).await {
                return Ok(Part::Send(staged.into(), length));
            }
        }
        let parts = js_sys::Array::of1(&view);
        let blob = web_sys::Blob::new_with_u8_array_sequence(&parts)
            .map_err(|e| js_error("holding a chunk", &e))?;
        Ok(Part::Send(blob.into(), length))
    }

    /// Sends the `GET` [`Need::Send`] asked for and does what the window says of the answer:
    /// read, wait, renew the credential, or report it.
    async fn open(&self, range: Option<String>) -> Result<(), AppError> {
        self.close();
        let auth = self.session.fresh_authorization().await?;
        let sent = self
            .session
            .get_blob_once(&self.url, range, auth.as_ref())
            .await;
        let opened = match &sent {
            Ok(response) => {
                let headers = response.headers();
                let (content_range, retry_after, proxy_error) = (
                    headers.get("content-range"),
                    headers.get("retry-after"),
                    headers.get(PROXY_ERROR_HEADER),
                );
                let answer = Answer {
                    status: response.status(),
                    content_range: content_range.as_deref(),
                    content_length: headers.get("content-length").and_then(|l| l.parse().ok()),
                    retry_after: retry_after.as_deref(),
                    proxy_error: proxy_error.as_deref(),
                };
                self.window
                    .borrow_mut()
                    .handle_answer(answer, now_ms())
                    .map_err(|e| AppError::Upload(e.to_string()))?
            }
            Err(AppError::Cancelled) => return Err(AppError::Cancelled),
            Err(_) => self.window.borrow_mut().handle_no_answer(now_ms()),
        };
        let response = match (opened, sent) {
            (Opened::Reading, Ok(response)) => response,
            (Opened::Wait { ms }, _) => {
                sleep_ms(ms.min(u32::MAX as u64) as u32).await;
                return Ok(());
            }
            (Opened::Reauthorize, Ok(response)) => {
                let challenge = self.session.challenge(&response);
                let refused = auth.as_ref().map_or(0, |a| a.generation);
                self.session
                    .reauthorize(refused, challenge.as_deref())
                    .await?;
                return Ok(());
            }
            (Opened::Refused { .. } | Opened::GiveUp, Ok(response)) => {
                return Err(error_for(&response, "the source blob").await)
            }
            (_, Err(error)) => return Err(error),
        };
        let body = response
            .body()
            .ok_or_else(|| AppError::Upload("the source blob came without a body".into()))?;
        *self.body.borrow_mut() = Some(ChunkReader::reusing(&body, READ_BUFFER));
        self.body_bytes.set(0);
        Ok(())
    }

    async fn read_next(&self) -> Result<Progress, AppError> {
        let mut reader = self
            .body
            .borrow_mut()
            .take()
            .expect("the window reads only from an open body");
        let chunk = reader.next_within(STALL_MS).await;
        if let Ok(Ok(Some(chunk))) = chunk {
            self.body_bytes
                .set(self.body_bytes.get() + chunk.length() as u64);
            let progress = self.window.borrow_mut().handle_bytes(&chunk.to_vec());
            *self.body.borrow_mut() = Some(reader);
            let progress = progress.map_err(|e| AppError::Upload(e.to_string()))?;
            if progress != Progress::More {
                self.session.finish_sent(self.body_bytes.get());
            }
            return Ok(progress);
        }
        // The body ended early, stalled or broke: it is opened again from where it stopped.
        reader.cancel();
        self.session.finish_sent(self.body_bytes.get());
        let pause = self
            .window
            .borrow_mut()
            .handle_break()
            .map_err(|e| AppError::Upload(e.to_string()))?;
        sleep_ms(pause.min(u32::MAX as u64) as u32).await;
        Ok(Progress::More)
    }

    fn close(&self) {
        if let Some(reader) = self.body.borrow_mut().take() {
            reader.cancel();
        }
    }
}

impl Drop for StreamedBlob<'_> {
    fn drop(&mut self) {
        self.close();
        if let Some(Ok(file)) = self.staging.borrow().as_ref() {
            file.remove();
        }
        if let Some(file) = self.whole.borrow_mut().take() {
            file.remove();
        }
    }
}

fn storage(error: crate::engine::opfs::StorageError) -> AppError {
    AppError::Upload(format!("staging the blob on disk: {error}"))
}
