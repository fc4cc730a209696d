//! Where verified blobs wait until the archive is assembled.
//!
//! Chromium cancels downloads of large in-memory Blobs, and wasm memory ends at 4 GiB, so layers
//! are staged in the Origin Private File System: each pull gets a directory, each blob a file.
//! The final archive is a `Blob` whose parts reference those files, which costs no copy. Where
//! OPFS is missing, blobs are kept as in-memory Blobs (fine for small images).

use std::cell::RefCell;
use std::collections::HashMap;

use js_sys::{Array, Uint8Array};
use skiff_core::Digest;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetDirectoryOptions,
    FileSystemGetFileOptions, FileSystemRemoveOptions, FileSystemWritableFileStream,
};

use crate::error::{js_error_text, AppError};

const ROOT_DIR: &str = "skiff-staging";
/// Staging directories older than this are left-overs of closed tabs.
const STALE_AFTER_MS: f64 = 24.0 * 3600.0 * 1000.0;

pub enum Staging {
    Opfs {
        pulls: FileSystemDirectoryHandle,
        dir_name: String,
        dir: FileSystemDirectoryHandle,
    },
    Memory {
        blobs: RefCell<HashMap<Digest, Blob>>,
    },
}

/// A blob being written.
pub enum BlobSink {
    Opfs {
        name: String,
        writable: FileSystemWritableFileStream,
    },
    Memory {
        chunks: Array,
    },
}

fn storage_error(what: &str, value: &JsValue) -> AppError {
    AppError::Storage(format!("{what}: {}", js_error_text(value)))
}

async fn wait(promise: js_sys::Promise, what: &str) -> Result<JsValue, AppError> {
    JsFuture::from(promise)
        .await
        .map_err(|e| storage_error(what, &e))
}

impl Staging {
    /// Opens a fresh staging directory for one pull, or falls back to memory.
    pub async fn open(now_ms: f64) -> Self {
        match Self::open_opfs(now_ms).await {
            Ok(staging) => staging,
            Err(_) => Self::Memory {
                blobs: RefCell::new(HashMap::new()),
            },
        }
    }

    async fn open_opfs(now_ms: f64) -> Result<Self, AppError> {
        let navigator = web_sys::window()
            .ok_or_else(|| AppError::Storage("no window".into()))?
            .navigator();
        let root: FileSystemDirectoryHandle =
            wait(navigator.storage().get_directory(), "opening OPFS")
                .await?
                .unchecked_into();
        let create = FileSystemGetDirectoryOptions::new();
        create.set_create(true);
        let pulls: FileSystemDirectoryHandle = wait(
            root.get_directory_handle_with_options(ROOT_DIR, &create),
            "opening the staging folder",
        )
        .await?
        .unchecked_into();
        remove_stale(&pulls, now_ms).await;
        let random = (js_sys::Math::random() * 1e9) as u64;
        let dir_name = format!("{}-{random}", now_ms as u64);
        let dir: FileSystemDirectoryHandle = wait(
            pulls.get_directory_handle_with_options(&dir_name, &create),
            "creating a staging folder",
        )
        .await?
        .unchecked_into();
        Ok(Self::Opfs {
            pulls,
            dir_name,
            dir,
        })
    }

    pub fn is_in_memory(&self) -> bool {
        matches!(self, Self::Memory { .. })
    }

    pub async fn create(&self, digest: &Digest) -> Result<BlobSink, AppError> {
        match self {
            Self::Opfs { dir, .. } => {
                let create = FileSystemGetFileOptions::new();
                create.set_create(true);
                let name = digest.hex().to_owned();
                let handle: FileSystemFileHandle = wait(
                    dir.get_file_handle_with_options(&name, &create),
                    "creating a staging file",
                )
                .await?
                .unchecked_into();
                let writable: FileSystemWritableFileStream =
                    wait(handle.create_writable(), "opening a staging file")
                        .await?
                        .unchecked_into();
                Ok(BlobSink::Opfs { name, writable })
            }
            Self::Memory { .. } => Ok(BlobSink::Memory {
                chunks: Array::new(),
            }),
        }
    }

    /// Makes a fully written, verified blob available to [`Staging::blob`].
    pub async fn commit(&self, digest: &Digest, sink: BlobSink) -> Result<(), AppError> {
        match (self, sink) {
            (_, BlobSink::Opfs { writable, .. }) => {
                wait(writable.close(), "closing a staging file").await?;
            }
            (Self::Memory { blobs }, BlobSink::Memory { chunks }) => {
                let blob = Blob::new_with_u8_array_sequence(&chunks)
                    .map_err(|e| storage_error("keeping a layer in memory", &e))?;
                blobs.borrow_mut().insert(digest.clone(), blob);
            }
            (Self::Opfs { .. }, BlobSink::Memory { .. }) => {
                unreachable!("sinks come from their staging")
            }
        }
        Ok(())
    }

    /// Throws away a blob that failed verification, so it can never reach an archive.
    pub async fn discard(&self, sink: BlobSink) {
        if let (Self::Opfs { dir, .. }, BlobSink::Opfs { name, writable }) = (self, sink) {
            let _ = JsFuture::from(writable.abort()).await;
            let _ = JsFuture::from(dir.remove_entry(&name)).await;
        }
    }

    /// The staged bytes of a committed blob.
    pub async fn blob(&self, digest: &Digest) -> Result<Blob, AppError> {
        match self {
            Self::Opfs { dir, .. } => {
                let handle: FileSystemFileHandle =
                    wait(dir.get_file_handle(digest.hex()), "finding a staged layer")
                        .await?
                        .unchecked_into();
                Ok(wait(handle.get_file(), "reading a staged layer")
                    .await?
                    .unchecked_into())
            }
            Self::Memory { blobs } => blobs
                .borrow()
                .get(digest)
                .cloned()
                .ok_or_else(|| AppError::Storage(format!("{digest} was never staged"))),
        }
    }

    /// Deletes this pull's files (the archive made from them stops working).
    pub async fn remove(&self) {
        if let Self::Opfs {
            pulls, dir_name, ..
        } = self
        {
            let recursive = FileSystemRemoveOptions::new();
            recursive.set_recursive(true);
            let _ = JsFuture::from(pulls.remove_entry_with_options(dir_name, &recursive)).await;
        }
    }

    /// Free bytes the browser grants this origin, if it says.
    pub async fn available_bytes() -> Option<u64> {
        let storage = web_sys::window()?.navigator().storage();
        let estimate: web_sys::StorageEstimate = JsFuture::from(storage.estimate().ok()?)
            .await
            .ok()?
            .unchecked_into();
        let quota = estimate.get_quota()?;
        let usage = estimate.get_usage().unwrap_or(0.0);
        Some((quota - usage).max(0.0) as u64)
    }
}

impl BlobSink {
    /// Empties the blob to write it again from the start.
    pub async fn restart(&self) -> Result<(), AppError> {
        match self {
            Self::Opfs { writable, .. } => {
                // Truncating also moves the write position back to 0.
                let promise = writable
                    .truncate_with_f64(0.0)
                    .map_err(|e| storage_error("emptying a staging file", &e))?;
                wait(promise, "emptying a staging file").await?;
            }
            Self::Memory { chunks } => chunks.set_length(0),
        }
        Ok(())
    }

    pub async fn write(&self, chunk: &Uint8Array) -> Result<(), AppError> {
        match self {
            Self::Opfs { writable, .. } => {
                let promise = writable
                    .write_with_js_u8_array(chunk)
                    .map_err(|e| storage_error("writing a staging file", &e))?;
                wait(promise, "writing a staging file").await?;
            }
            Self::Memory { chunks } => {
                chunks.push(chunk);
            }
        }
        Ok(())
    }
}

/// Removes staging folders of earlier tabs that were closed before cleaning up.
async fn remove_stale(pulls: &FileSystemDirectoryHandle, now_ms: f64) {
    let names = pulls.keys();
    let mut stale: Vec<String> = Vec::new();
    loop {
        let Ok(promise) = names.next() else { break };
        let Ok(next) = JsFuture::from(promise).await else {
            break;
        };
        let next: js_sys::IteratorNext = next.unchecked_into();
        if next.done() {
            break;
        }
        if let Some(name) = next.value().as_string() {
            let started: f64 = name
                .split('-')
                .next()
                .and_then(|t| t.parse().ok())
                .unwrap_or(0.0);
            if now_ms - started > STALE_AFTER_MS {
                stale.push(name);
            }
        }
    }
    let recursive = FileSystemRemoveOptions::new();
    recursive.set_recursive(true);
    for name in stale {
        let _ = JsFuture::from(pulls.remove_entry_with_options(&name, &recursive)).await;
    }
}
