//! The page's view of the layer cache: which verified blobs are on disk, their files for the
//! archive, and keeping the total under the user's cap (least recently used first, by the
//! core's [`CacheIndex`]). Only workers write blobs; the page reads, indexes and deletes them.

use std::cell::RefCell;
use std::collections::BTreeSet;

use js_sys::IteratorNext;
use skiff_core::transfer::cache::{CacheIndex, CacheTooSmall};
use skiff_core::Digest;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    File, FileSystemDirectoryHandle, FileSystemRemoveOptions, FileSystemWritableFileStream,
};

use super::opfs::{self, wait, CacheDirs, StorageError};

/// Partial files untouched this long belong to pulls nobody will resume.
const STALE_PARTIAL_MS: f64 = 7.0 * 24.0 * 3600.0 * 1000.0;

pub struct Cache {
    dirs: CacheDirs,
    index: RefCell<CacheIndex>,
}

impl Cache {
    /// Opens the cache, trusting the disk over the index: a blob file is in `blobs/` only if a
    /// job verified it, so files the index lacks (a reload before it was saved) are added, and
    /// entries whose file is gone are dropped.
    pub async fn open(now_ms: u64) -> Result<Self, StorageError> {
        let dirs = CacheDirs::open().await?;
        let saved = match opfs::file(&dirs.root, opfs::INDEX, false).await {
            Ok(handle) => read_text(&handle).await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let mut index = CacheIndex::parse(saved.as_bytes());
        let on_disk = list(&dirs.blobs).await;
        let known: Vec<Digest> = index.digests().cloned().collect();
        for digest in known {
            if !on_disk.iter().any(|(name, _)| name == digest.hex()) {
                index.remove(&digest);
            }
        }
        for (name, size) in &on_disk {
            match format!("sha256:{name}").parse::<Digest>() {
                Ok(digest) if !index.contains(&digest) => index.insert(digest, *size, now_ms),
                Ok(_) => {}
                Err(_) => {
                    let _ = JsFuture::from(dirs.blobs.remove_entry(name)).await;
                }
            }
        }
        sweep_stale_partials(&dirs.partial, now_ms as f64).await;
        Ok(Self {
            dirs,
            index: RefCell::new(index),
        })
    }

    /// The stored size of a cached blob.
    pub fn size_of(&self, key: &Digest) -> Option<u64> {
        self.index.borrow().get(key).map(|e| e.size)
    }

    pub fn total_size(&self) -> u64 {
        self.index.borrow().total_size()
    }

    pub fn len(&self) -> usize {
        self.index.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.borrow().is_empty()
    }

    /// A verified blob a worker committed.
    pub fn record(&self, key: &Digest, size: u64, now_ms: u64) {
        self.index.borrow_mut().insert(key.clone(), size, now_ms);
    }

    /// Blobs a pull found here and used again.
    pub fn touch(&self, key: &Digest, now_ms: u64) {
        self.index.borrow_mut().touch(key, now_ms);
    }

    /// The file of a cached blob, for the archive (no copy: the archive's Blob refers to it).
    pub async fn file(&self, key: &Digest) -> Result<File, StorageError> {
        let handle = opfs::file(&self.dirs.blobs, key.hex(), false).await?;
        Ok(wait(handle.get_file(), "reading a cached layer")
            .await?
            .unchecked_into())
    }

    /// Deletes least recently used blobs (never `pinned` ones) until `needed` more bytes fit
    /// under `cap`.
    pub async fn make_room(
        &self,
        needed: u64,
        cap: u64,
        pinned: &BTreeSet<Digest>,
    ) -> Result<Vec<Digest>, CacheTooSmall> {
        let evict = self.index.borrow().plan_evictions(needed, cap, pinned)?;
        for digest in &evict {
            let _ = JsFuture::from(self.dirs.blobs.remove_entry(digest.hex())).await;
            self.index.borrow_mut().remove(digest);
        }
        Ok(evict)
    }

    /// Deletes every cached and partial blob except `pinned` ones (the archive on offer).
    pub async fn clear(&self, pinned: &BTreeSet<Digest>) {
        let keys: Vec<Digest> = self.index.borrow().digests().cloned().collect();
        for digest in keys.iter().filter(|d| !pinned.contains(*d)) {
            let _ = JsFuture::from(self.dirs.blobs.remove_entry(digest.hex())).await;
            self.index.borrow_mut().remove(digest);
        }
        for (name, _) in list(&self.dirs.partial).await {
            let _ = JsFuture::from(self.dirs.partial.remove_entry(&name)).await;
        }
        let _ = self.save().await;
    }

    /// Writes the index (sizes and last use) next to the blobs.
    pub async fn save(&self) -> Result<(), StorageError> {
        let json = self.index.borrow().to_json();
        let handle = opfs::file(&self.dirs.root, opfs::INDEX, true).await?;
        let writable: FileSystemWritableFileStream =
            wait(handle.create_writable(), "saving the cache index")
                .await?
                .unchecked_into();
        let promise = writable
            .write_with_str(&json)
            .map_err(|e| opfs::fail("saving the cache index", &e))?;
        wait(promise, "saving the cache index").await?;
        wait(writable.close(), "saving the cache index").await?;
        Ok(())
    }
}

async fn read_text(handle: &web_sys::FileSystemFileHandle) -> Option<String> {
    let file: File = JsFuture::from(handle.get_file())
        .await
        .ok()?
        .unchecked_into();
    JsFuture::from(file.text()).await.ok()?.as_string()
}

/// The file handles in `dir` (folders skipped).
async fn files(dir: &FileSystemDirectoryHandle) -> Vec<web_sys::FileSystemFileHandle> {
    let mut files = Vec::new();
    let entries = dir.values();
    loop {
        let Ok(promise) = entries.next() else { break };
        let Ok(next) = JsFuture::from(promise).await else {
            break;
        };
        let next: IteratorNext = next.unchecked_into();
        if next.done() {
            break;
        }
        if let Ok(handle) = next.value().dyn_into::<web_sys::FileSystemFileHandle>() {
            files.push(handle);
        }
    }
    files
}

/// `(name, size)` of every file in `dir`.
async fn list(dir: &FileSystemDirectoryHandle) -> Vec<(String, u64)> {
    let mut listed = Vec::new();
    for handle in files(dir).await {
        let size = match JsFuture::from(handle.get_file()).await {
            Ok(file) => file.unchecked_into::<File>().size() as u64,
            Err(_) => 0,
        };
        listed.push((handle.name(), size));
    }
    listed
}

/// Removes partial files of pulls nobody resumed within [`STALE_PARTIAL_MS`].
async fn sweep_stale_partials(dir: &FileSystemDirectoryHandle, now_ms: f64) {
    for handle in files(dir).await {
        let Ok(file) = JsFuture::from(handle.get_file()).await else {
            continue;
        };
        let file: File = file.unchecked_into();
        if now_ms - file.last_modified() > STALE_PARTIAL_MS {
            let options = FileSystemRemoveOptions::new();
            options.set_recursive(false);
            let _ = JsFuture::from(dir.remove_entry_with_options(&handle.name(), &options)).await;
        }
    }
}
