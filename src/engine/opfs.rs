//! The layer cache's folders in the Origin Private File System, for the page and the workers:
//!
//! - `skiff-cache/blobs/<hex>`: verified blobs, named by the digest of what they hold. A file
//!   gets here only by [`commit`], after its job verified it.
//! - `skiff-cache/partial/<hex>`: blobs being written. A reload leaves them behind; the next
//!   job for that blob verifies their bytes again and continues after them.
//! - `skiff-cache/index.json`: sizes and last use, kept by the page (see `engine::cache`).

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetDirectoryOptions,
    FileSystemGetFileOptions, FileSystemReadWriteOptions, FileSystemSyncAccessHandle,
    StorageManager,
};

use crate::error::js_error_text;

pub const ROOT: &str = "skiff-cache";
pub const BLOBS: &str = "blobs";
pub const PARTIAL: &str = "partial";
pub const INDEX: &str = "index.json";

/// A browser storage call that failed, said plainly.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{what}: {detail}")]
pub struct StorageError {
    pub what: &'static str,
    pub detail: String,
}

pub async fn wait(promise: Promise, what: &'static str) -> Result<JsValue, StorageError> {
    JsFuture::from(promise).await.map_err(|e| fail(what, &e))
}

pub fn fail(what: &'static str, value: &JsValue) -> StorageError {
    StorageError {
        what,
        detail: js_error_text(value),
    }
}

/// The page's or the worker's storage manager.
pub fn storage_manager() -> Option<StorageManager> {
    let global = js_sys::global();
    if let Some(window) = global.dyn_ref::<web_sys::Window>() {
        return Some(window.navigator().storage());
    }
    global
        .dyn_ref::<web_sys::WorkerGlobalScope>()
        .map(|scope| scope.navigator().storage())
}

pub struct CacheDirs {
    pub root: FileSystemDirectoryHandle,
    pub blobs: FileSystemDirectoryHandle,
    pub partial: FileSystemDirectoryHandle,
}

impl CacheDirs {
    pub async fn open() -> Result<Self, StorageError> {
        let root = subdirectory(&root().await?, ROOT).await?;
        let blobs = subdirectory(&root, BLOBS).await?;
        let partial = subdirectory(&root, PARTIAL).await?;
        Ok(Self {
            root,
            blobs,
            partial,
        })
    }
}

/// The origin's private file system (OPFS).
pub async fn root() -> Result<FileSystemDirectoryHandle, StorageError> {
    let storage = storage_manager().ok_or(StorageError {
        what: "opening browser storage",
        detail: "this context has no storage manager".to_owned(),
    })?;
    Ok(wait(
        storage.get_directory(),
        "opening the browser's private file system (OPFS)",
    )
    .await?
    .unchecked_into())
}

pub async fn subdirectory(
    parent: &FileSystemDirectoryHandle,
    name: &str,
) -> Result<FileSystemDirectoryHandle, StorageError> {
    let create = FileSystemGetDirectoryOptions::new();
    create.set_create(true);
    Ok(wait(
        parent.get_directory_handle_with_options(name, &create),
        "opening a cache folder",
    )
    .await?
    .unchecked_into())
}

pub async fn file(
    dir: &FileSystemDirectoryHandle,
    name: &str,
    create: bool,
) -> Result<FileSystemFileHandle, StorageError> {
    let options = FileSystemGetFileOptions::new();
    options.set_create(create);
    Ok(wait(
        dir.get_file_handle_with_options(name, &options),
        "opening a cache file",
    )
    .await?
    .unchecked_into())
}

/// Opens `file` for synchronous reads and writes (workers only). A worker terminated by a
/// reload or a cancel releases its lock a little later, so a locked file is tried again for a
/// few seconds; then it is another tab's download of the same layer.
pub async fn sync_handle(
    file: &FileSystemFileHandle,
) -> Result<FileSystemSyncAccessHandle, StorageError> {
    const TRIES: u32 = 60;
    let mut tried = 0;
    loop {
        match JsFuture::from(file.create_sync_access_handle()).await {
            Ok(handle) => return Ok(handle.unchecked_into()),
            Err(error) if tried + 1 < TRIES => {
                let _ = error;
                tried += 1;
                pause(50).await;
            }
            Err(error) => return Err(fail(
                "opening a cache file for writing (is the same layer downloading in another tab?)",
                &error,
            )),
        }
    }
}

/// Waits `ms` on the page or in a worker.
pub async fn pause(ms: i32) {
    let global = js_sys::global();
    let promise = Promise::new(&mut |resolve, _| {
        if let Ok(set_timeout) = Reflect::get(&global, &JsValue::from_str("setTimeout")) {
            if let Ok(set_timeout) = set_timeout.dyn_into::<Function>() {
                let _ = set_timeout.call2(&global, &resolve, &JsValue::from(ms));
            }
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Writes all of `bytes` at `at`.
pub fn write_at(
    handle: &FileSystemSyncAccessHandle,
    bytes: &[u8],
    at: u64,
) -> Result<(), StorageError> {
    write_all(bytes.len() as f64, at, |options| {
        handle.write_with_u8_array_and_options(bytes, options)
    })
}

/// Writes bytes held in a JS buffer (a blob kept whole for the browser's SHA-256) at `at`.
pub fn write_js_at(
    handle: &FileSystemSyncAccessHandle,
    bytes: &js_sys::Uint8Array,
    at: u64,
) -> Result<(), StorageError> {
    write_all(f64::from(bytes.length()), at, |options| {
        handle.write_with_js_u8_array_and_options(bytes, options)
    })
}

/// One positioned write of `length` bytes; a write the browser cut short means the quota is full.
fn write_all(
    length: f64,
    at: u64,
    write: impl FnOnce(&FileSystemReadWriteOptions) -> Result<f64, JsValue>,
) -> Result<(), StorageError> {
    let options = FileSystemReadWriteOptions::new();
    options.set_at(at as f64);
    let written = write(&options).map_err(|e| fail("writing a cache file", &e))?;
    if written != length {
        return Err(quota_full());
    }
    Ok(())
}

/// Reads up to `buffer.len()` bytes at `at`; returns how many.
pub fn read_at(
    handle: &FileSystemSyncAccessHandle,
    buffer: &mut [u8],
    at: u64,
) -> Result<usize, StorageError> {
    let options = FileSystemReadWriteOptions::new();
    options.set_at(at as f64);
    handle
        .read_with_u8_array_and_options(buffer, &options)
        .map(|n| n as usize)
        .map_err(|e| fail("reading a cache file", &e))
}

/// Moves a verified file from `partial/` into `blobs/` under `name`: the one way into `blobs/`,
/// and it takes the proof that the bytes passed their checks.
pub async fn commit(
    file: &FileSystemFileHandle,
    dirs: &CacheDirs,
    name: &str,
    _proof: super::check::Verified,
) -> Result<(), StorageError> {
    // `FileSystemHandle.move()` renames in place; web-sys has no binding for it yet.
    let moved = match Reflect::get(file, &JsValue::from_str("move")) {
        Ok(function) if function.is_function() => {
            let function: Function = function.unchecked_into();
            match function.call2(file, &dirs.blobs, &JsValue::from_str(name)) {
                Ok(promise) => wait(promise.unchecked_into(), "committing a verified blob")
                    .await
                    .is_ok(),
                Err(_) => false,
            }
        }
        _ => false,
    };
    if moved {
        return Ok(());
    }
    // Browsers without `move()`: copy, then drop the partial file.
    let source = wait(file.get_file(), "reading a verified blob").await?;
    let source: web_sys::Blob = source.unchecked_into();
    let target = self::file(&dirs.blobs, name, true).await?;
    let writable: web_sys::FileSystemWritableFileStream =
        wait(target.create_writable(), "committing a verified blob")
            .await?
            .unchecked_into();
    let promise = writable
        .write_with_blob(&source)
        .map_err(|e| fail("committing a verified blob", &e))?;
    wait(promise, "committing a verified blob").await?;
    wait(writable.close(), "committing a verified blob").await?;
    let _ = JsFuture::from(dirs.partial.remove_entry(name)).await;
    Ok(())
}

/// A write the browser cut short.
fn quota_full() -> StorageError {
    StorageError {
        what: "writing a cache file",
        detail: "the browser would not store more: this site's storage quota (or the disk) is full. Clear the layer cache, or free space in the browser's site data".to_owned(),
    }
}
