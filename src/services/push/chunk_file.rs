//! A copy's chunks staged on disk (OPFS) before they go up: an upload body that is a `File` is
//! read by the browser from disk, while a body of bytes is slow (Chromium sends an
//! `ArrayBuffer` body at ~16 MB/s on loopback, a disk-backed `Blob` at ~100 MB/s) or, as an
//! in-memory `Blob`, stays in the browser process until garbage collection gets to it (hundreds
//! of MB over a 1 GB copy). One file per blob, rewritten for each chunk, removed when done;
//! files a closed tab left behind are removed by the next copy.

use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use web_sys::{FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemWritableFileStream};

use skiff_core::transfer::copy_window::stale_chunk_file;

use crate::engine::opfs::{self, fail, wait, StorageError};

/// The OPFS folder for staged chunks (next to the layer cache's).
const FOLDER: &str = "skiff-copy-chunks";

pub struct ChunkFile {
    dir: FileSystemDirectoryHandle,
    name: String,
    handle: FileSystemFileHandle,
}

impl ChunkFile {
    pub async fn create() -> Result<Self, StorageError> {
        let dir = opfs::subdirectory(&opfs::root().await?, FOLDER).await?;
        remove_stale(&dir).await;
        let name = format!(
            "{}-{}",
            js_sys::Date::now() as u64,
            (js_sys::Math::random() * 1e9) as u64
        );
        let handle = opfs::file(&dir, &name, true).await?;
        Ok(Self { dir, name, handle })
    }

    /// The file holding exactly `bytes` (what it held before is gone), to send as a body.
    pub async fn stage(&self, bytes: &Uint8Array) -> Result<web_sys::File, StorageError> {
        const WHAT: &str = "staging a chunk on disk";
        let writable: FileSystemWritableFileStream = wait(self.handle.create_writable(), WHAT)
            .await?
            .unchecked_into();
        let written = writable
            .write_with_buffer_source(bytes)
            .map_err(|e| fail(WHAT, &e))?;
        wait(written, WHAT).await?;
        wait(writable.close(), WHAT).await?;
        Ok(wait(self.handle.get_file(), WHAT).await?.unchecked_into())
    }

    /// A writer that fills the file from its start, piece by piece (what it held before is
    /// gone).
    pub async fn writer(&self) -> Result<ChunkWriter<'_>, StorageError> {
        let stream: FileSystemWritableFileStream = wait(self.handle.create_writable(), WRITING)
            .await?
            .unchecked_into();
        Ok(ChunkWriter { file: self, stream })
    }

    /// Removes the file (in the background: nothing waits for it).
    pub fn remove(&self) {
        let (dir, name) = (self.dir.clone(), self.name.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let _ = wait(dir.remove_entry(&name), "removing a staged chunk").await;
        });
    }
}

const WRITING: &str = "staging a blob on disk";

/// A [`ChunkFile`] being written.
pub struct ChunkWriter<'a> {
    file: &'a ChunkFile,
    stream: FileSystemWritableFileStream,
}

impl ChunkWriter<'_> {
    pub async fn write(&mut self, bytes: &Uint8Array) -> Result<(), StorageError> {
        let written = self
            .stream
            .write_with_buffer_source(bytes)
            .map_err(|e| fail(WRITING, &e))?;
        wait(written, WRITING).await.map(|_| ())
    }

    /// The file as written, to send as a body.
    pub async fn finish(self) -> Result<web_sys::File, StorageError> {
        wait(self.stream.close(), WRITING).await?;
        Ok(wait(self.file.handle.get_file(), WRITING)
            .await?
            .unchecked_into())
    }
}

/// Removes the chunk files copies in closed tabs left behind.
async fn remove_stale(dir: &FileSystemDirectoryHandle) {
    let now_ms = js_sys::Date::now() as u64;
    let names = dir.keys();
    let mut stale = Vec::new();
    while let Ok(next) = names.next() {
        let Ok(step) = wasm_bindgen_futures::JsFuture::from(next).await else {
            break;
        };
        let step: js_sys::IteratorNext = step.unchecked_into();
        if step.done() {
            break;
        }
        if let Some(name) = step.value().as_string() {
            if stale_chunk_file(&name, now_ms) {
                stale.push(name);
            }
        }
    }
    for name in stale {
        let _ = wait(dir.remove_entry(&name), "removing a stale chunk").await;
    }
}
