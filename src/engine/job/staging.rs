//! A copy's staging files: the blob in files of one upload chunk each, so a file the page is
//! uploading from is never written again (Chromium refuses to read a file changed since the
//! page took it).

use std::collections::BTreeMap;

use js_sys::Uint8Array;
use skiff_core::Digest;
use wasm_bindgen_futures::JsFuture;
use web_sys::FileSystemSyncAccessHandle;

use crate::engine::opfs::{self, CacheDirs, StorageError};
use crate::engine::protocol::{staging_name, STAGING_CHUNK};

/// A copy's staging files, [`STAGING_CHUNK`] bytes each: the handles of those that may still
/// be written (a file is closed once bytes past its end are stored).
pub(in crate::engine) struct Staging {
    pub(super) dirs: CacheDirs,
    pub(super) key: Digest,
    pub(super) open: BTreeMap<u64, FileSystemSyncAccessHandle>,
}

/// How far past the stored bytes staging files are opened: more than one flush writes.
const STAGING_AHEAD: u64 = 8 << 20;

impl Staging {
    pub(super) fn write_at(&self, bytes: &[u8], at: u64) -> Result<(), StorageError> {
        self.write_pieces(bytes.len() as u64, at, |handle, from, to, offset| {
            opfs::write_at(handle, &bytes[from as usize..to as usize], offset)
        })
    }

    /// Bytes held in a JS buffer (a blob kept whole for the browser's SHA-256), written from
    /// there without a pass through wasm memory.
    pub(super) fn write_js_at(&self, bytes: &Uint8Array, at: u64) -> Result<(), StorageError> {
        self.write_pieces(u64::from(bytes.length()), at, |handle, from, to, offset| {
            opfs::write_js_at(handle, &bytes.subarray(from as u32, to as u32), offset)
        })
    }

    /// Writes `length` bytes meant for `at` file by file: `write(handle, from, to, offset)`
    /// puts bytes `from..to` of them at `offset` in the file `handle` is open on.
    fn write_pieces(
        &self,
        length: u64,
        at: u64,
        write: impl Fn(&FileSystemSyncAccessHandle, u64, u64, u64) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let mut done = 0;
        while done < length {
            let offset = at + done;
            let index = offset / STAGING_CHUNK;
            let end = (done + STAGING_CHUNK - offset % STAGING_CHUNK).min(length);
            let handle = self.open.get(&index).ok_or_else(|| StorageError {
                what: "staging a blob",
                detail: format!("staging file {index} is not open"),
            })?;
            write(handle, done, end, offset % STAGING_CHUNK)?;
            done = end;
        }
        Ok(())
    }

    /// Opens the files bytes `stored..stored + STAGING_AHEAD` go to; closes those before.
    pub(super) async fn ready(&mut self, stored: u64) -> Result<(), StorageError> {
        let first = stored / STAGING_CHUNK;
        let last = (stored + STAGING_AHEAD) / STAGING_CHUNK;
        let done: Vec<u64> = self.open.range(..first).map(|(k, _)| *k).collect();
        for index in done {
            if let Some(handle) = self.open.remove(&index) {
                handle.close();
            }
        }
        for index in first..=last {
            if !self.open.contains_key(&index) {
                let name = staging_name(&self.key, index);
                let file = opfs::file(&self.dirs.partial, &name, true).await?;
                let handle = opfs::sync_handle(&file).await?;
                handle
                    .truncate_with_f64(0.0)
                    .map_err(|e| opfs::fail("emptying a staging file", &e))?;
                self.open.insert(index, handle);
            }
        }
        Ok(())
    }

    /// Empties every file written so far (a restart), so each is written afresh.
    pub(super) async fn empty(&mut self) -> Result<(), StorageError> {
        for (_, handle) in std::mem::take(&mut self.open) {
            handle.close();
        }
        let mut index = 0;
        while JsFuture::from(
            self.dirs
                .partial
                .remove_entry(&staging_name(&self.key, index)),
        )
        .await
        .is_ok()
        {
            index += 1;
        }
        self.ready(0).await
    }

    pub(super) fn close(&mut self) {
        for (_, handle) in std::mem::take(&mut self.open) {
            handle.close();
        }
    }
}
