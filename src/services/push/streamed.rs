//! A source registry's blob, streamed into the target's upload: the core's [`CopyWindow`]
//! decides what to read, when to open the source again (with `Range` after a break), and holds
//! only the bytes the upload may still ask for; this file moves the bytes.

use std::cell::RefCell;

use skiff_core::copy_window::{CopyWindow, Need, Progress};
use skiff_core::Digest;

use crate::error::AppError;
use crate::services::http::{error_for, RegistrySession};
use crate::services::stream::ChunkReader;

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
    window: RefCell<CopyWindow>,
    body: RefCell<Option<ChunkReader>>,
    /// Bytes read from the current body, for its exchange record.
    body_bytes: std::cell::Cell<u64>,
}

impl<'a> StreamedBlob<'a> {
    pub fn new(session: &'a RegistrySession, url: String, digest: &Digest, size: u64) -> Self {
        Self {
            session,
            url,
            window: RefCell::new(CopyWindow::new(digest.clone(), size)),
            body: RefCell::new(None),
            body_bytes: std::cell::Cell::new(0),
        }
    }

    /// Bytes `first..=last`, read from the source as far as needed.
    pub async fn part(&self, first: u64, last: u64) -> Result<Part, AppError> {
        loop {
            let need = self.window.borrow_mut().poll_need(first, last);
            match need {
                Need::Ready => {
                    let mut window = self.window.borrow_mut();
                    let bytes = window.take(first, last);
                    let size = bytes.len() as u64;
                    return Ok(Part::Send(js_sys::Uint8Array::from(bytes).into(), size));
                }
                Need::Open(request) => self.open(request.range_header()).await?,
                Need::Read => {
                    if self.read_next().await? == Progress::StartOver {
                        self.close();
                        return Ok(Part::StartOver);
                    }
                }
            }
        }
    }

    async fn open(&self, range: Option<String>) -> Result<(), AppError> {
        self.close();
        let response = self.session.get_blob(&self.url, range).await?;
        let status = response.status();
        if !matches!(status, 200 | 206) {
            return Err(error_for(&response, "the source blob").await);
        }
        let headers = response.headers();
        let length = headers.get("content-length").and_then(|l| l.parse().ok());
        self.window
            .borrow_mut()
            .handle_opened(status, headers.get("content-range").as_deref(), length)
            .map_err(|e| AppError::Upload(e.to_string()))?;
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
        self.window
            .borrow_mut()
            .handle_break()
            .map_err(|e| AppError::Upload(e.to_string()))?;
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
    }
}
