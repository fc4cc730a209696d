//! How a layer job stores what passed its checks and names what went wrong: the places its
//! bytes go (the cache's partial file, a copy's staging files, the page), decompressed pieces gathered into bounded
//! writes, and the failures a job reports to the page.

use std::collections::BTreeMap;

use js_sys::Uint8Array;
use skiff_core::Digest;
use web_sys::{FileSystemFileHandle, FileSystemSyncAccessHandle, Response};

use super::staging::Staging;
use crate::engine::check::Verified;
use crate::engine::opfs::{self, CacheDirs, StorageError};
use crate::engine::protocol::{Destination, HttpFacts, LayerFailure, VerifyFailure};
use crate::engine::relay::Outbox;

/// The cache's partial file for a blob, committed into `blobs/` once verified.
struct Disk {
    dirs: CacheDirs,
    file: FileSystemFileHandle,
    handle: FileSystemSyncAccessHandle,
}

/// Where a job's checked bytes go, as its [`Destination`] says.
pub(in crate::engine) struct Store {
    disk: Option<Disk>,
    staging: Option<Staging>,
    page: Option<Outbox>,
    /// The verified file goes into the cache (else it stays where it is, for the page).
    commit: bool,
}

impl Store {
    pub(in crate::engine) async fn open(
        destination: Destination,
        key: &Digest,
        page: impl FnOnce() -> Outbox,
    ) -> Result<Self, StorageError> {
        let (disk, staging) = match destination {
            Destination::Page => (None, None),
            Destination::Staging => {
                let mut staging = Staging {
                    dirs: CacheDirs::open().await?,
                    key: key.clone(),
                    open: BTreeMap::new(),
                };
                staging.ready(0).await?;
                (None, Some(staging))
            }
            Destination::Cache | Destination::CacheAndPage => {
                let dirs = CacheDirs::open().await?;
                let file = opfs::file(&dirs.partial, key.hex(), true).await?;
                let handle = opfs::sync_handle(&file).await?;
                (Some(Disk { dirs, file, handle }), None)
            }
        };
        let page = destination.to_page().then(page);
        Ok(Self {
            disk,
            staging,
            page,
            commit: destination.to_cache(),
        })
    }

    pub(in crate::engine) fn write_at(&self, bytes: &[u8], at: u64) -> Result<(), StorageError> {
        if let Some(disk) = &self.disk {
            opfs::write_at(&disk.handle, bytes, at)?;
        }
        if let Some(staging) = &self.staging {
            staging.write_at(bytes, at)?;
        }
        self.to_page(bytes, at)
    }

    /// Hands bytes already on disk to the page too (if it takes them).
    pub(in crate::engine) fn to_page(&self, bytes: &[u8], at: u64) -> Result<(), StorageError> {
        if let Some(page) = &self.page {
            page.send(bytes, at)
                .map_err(|e| opfs::fail("handing bytes to the page", &e))?;
        }
        Ok(())
    }

    pub(in crate::engine) fn write_js_at(
        &self,
        bytes: &Uint8Array,
        at: u64,
    ) -> Result<(), StorageError> {
        if let Some(disk) = &self.disk {
            opfs::write_js_at(&disk.handle, bytes, at)?;
        }
        if let Some(staging) = &self.staging {
            staging.write_js_at(bytes, at)?;
        }
        if let Some(page) = &self.page {
            page.send_js(bytes, at)
                .map_err(|e| opfs::fail("handing bytes to the page", &e))?;
        }
        Ok(())
    }

    /// Bytes an interrupted earlier job left in the cache (none without one).
    pub(in crate::engine) fn kept(&self) -> u64 {
        self.disk
            .as_ref()
            .map_or(0, |disk| disk.handle.get_size().unwrap_or(0.0) as u64)
    }

    pub(in crate::engine) fn read_kept(
        &self,
        buffer: &mut [u8],
        at: u64,
    ) -> Result<usize, StorageError> {
        match &self.disk {
            Some(disk) => opfs::read_at(&disk.handle, buffer, at),
            None => Ok(0),
        }
    }

    /// Forgets every byte stored (the page's are overwritten as the blob comes again).
    pub(in crate::engine) async fn empty(&mut self) -> Result<(), StorageError> {
        if let Some(disk) = &self.disk {
            disk.handle
                .truncate_with_f64(0.0)
                .map_err(|e| opfs::fail("emptying a cache file", &e))?;
        }
        if let Some(staging) = &mut self.staging {
            staging.empty().await?;
        }
        Ok(())
    }

    /// Gets ready for the bytes after `stored`: waits while the page has more than `limit` of
    /// the job's bytes unwritten, opens the staging files they go to.
    pub(in crate::engine) async fn settle(
        &mut self,
        stored: u64,
        limit: u64,
    ) -> Result<(), StorageError> {
        if let Some(page) = &self.page {
            page.settle(limit).await;
        }
        if let Some(staging) = &mut self.staging {
            staging.ready(stored).await?;
        }
        Ok(())
    }

    /// Closes the partial file (whatever happened), then commits it if the blob was verified.
    pub(in crate::engine) async fn close(
        &mut self,
        verified: Option<(&str, Verified)>,
    ) -> Result<(), StorageError> {
        if let Some(staging) = &mut self.staging {
            staging.close();
        }
        let Some(disk) = &self.disk else {
            return Ok(());
        };
        disk.handle.close();
        match verified {
            Some((name, proof)) if self.commit => {
                opfs::commit(&disk.file, &disk.dirs, name, proof).await
            }
            _ => Ok(()),
        }
    }
}

/// The start of an error body kept for the message.
const MAX_ERROR_BODY: usize = 4096;

/// Why checking and storing stopped: the bytes failed a check, or the disk refused them.
pub(in crate::engine) enum Stop {
    Check(skiff_core::Error),
    Store(LayerFailure),
}

impl From<skiff_core::Error> for Stop {
    fn from(error: skiff_core::Error) -> Self {
        Self::Check(error)
    }
}

impl Stop {
    pub(in crate::engine) fn into_failure(self) -> LayerFailure {
        match self {
            Self::Check(error) => verify_failure(&error),
            Self::Store(failure) => failure,
        }
    }
}

/// Where decompressed pieces go: gathered into writes of `chunk_bytes`, so however much a
/// chunk unpacks to, no more than that waits in memory.
pub(in crate::engine) struct Spill<'a> {
    pub(in crate::engine) store: &'a Store,
    pub(in crate::engine) pending: &'a mut Vec<u8>,
    pub(in crate::engine) stored: &'a mut u64,
    pub(in crate::engine) chunk_bytes: usize,
}

impl Spill<'_> {
    pub(in crate::engine) fn take(&mut self, piece: &[u8]) -> Result<(), Stop> {
        self.pending.extend_from_slice(piece);
        if self.pending.len() >= self.chunk_bytes {
            store_pending(self.store, self.pending, self.stored)
                .map_err(|e| Stop::Store(storage(e)))?;
        }
        Ok(())
    }
}

/// Writes the checked bytes waiting in `pending` at `stored`, and moves `stored` past them.
pub(in crate::engine) fn store_pending(
    store: &Store,
    pending: &mut Vec<u8>,
    stored: &mut u64,
) -> Result<(), StorageError> {
    if !pending.is_empty() {
        store.write_at(pending, *stored)?;
        *stored += pending.len() as u64;
        pending.clear();
    }
    Ok(())
}

/// The sink of a check whose input is stored as it is.
pub(in crate::engine) fn keep_nothing(_: &[u8]) -> Result<(), Stop> {
    Ok(())
}

pub(in crate::engine) fn storage(error: StorageError) -> LayerFailure {
    LayerFailure::Storage {
        detail: error.to_string(),
    }
}

pub(in crate::engine) fn resume_failure(
    error: skiff_core::protocol::resume::ResumeError,
) -> LayerFailure {
    LayerFailure::Resume {
        reason: error.to_string(),
    }
}

pub(in crate::engine) fn verify_failure(error: &skiff_core::Error) -> LayerFailure {
    match VerifyFailure::from_core(error) {
        Some(failure) => LayerFailure::Verify(failure),
        None => LayerFailure::Storage {
            detail: error.to_string(),
        },
    }
}

/// What an error answer says: status, the proxy's reason, rate limits, the body's start.
pub async fn http_facts(response: &Response) -> HttpFacts {
    let header = |name| response.headers().get(name).ok().flatten();
    let body = match response.text() {
        Ok(promise) => wasm_bindgen_futures::JsFuture::from(promise)
            .await
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    HttpFacts {
        status: response.status(),
        proxy_error: header(skiff_core::protocol::proxy_protocol::PROXY_ERROR_HEADER),
        body: body.chars().take(MAX_ERROR_BODY).collect(),
        retry_after: header("retry-after"),
        ratelimit_limit: header("ratelimit-limit"),
        ratelimit_remaining: header("ratelimit-remaining"),
    }
}
