//! How a layer job stores what passed its checks and names what went wrong: decompressed
//! pieces gathered into bounded writes, and the failures a job reports to the page.

use web_sys::{FileSystemSyncAccessHandle, Response};

use crate::engine::opfs::{self, StorageError};
use crate::engine::protocol::{HttpFacts, LayerFailure, VerifyFailure};

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
    pub(in crate::engine) handle: &'a FileSystemSyncAccessHandle,
    pub(in crate::engine) pending: &'a mut Vec<u8>,
    pub(in crate::engine) stored: &'a mut u64,
    pub(in crate::engine) chunk_bytes: usize,
}

impl Spill<'_> {
    pub(in crate::engine) fn take(&mut self, piece: &[u8]) -> Result<(), Stop> {
        self.pending.extend_from_slice(piece);
        if self.pending.len() >= self.chunk_bytes {
            store_pending(self.handle, self.pending, self.stored)
                .map_err(|e| Stop::Store(storage(e)))?;
        }
        Ok(())
    }
}

/// Writes the checked bytes waiting in `pending` at `stored`, and moves `stored` past them.
pub(in crate::engine) fn store_pending(
    handle: &FileSystemSyncAccessHandle,
    pending: &mut Vec<u8>,
    stored: &mut u64,
) -> Result<(), StorageError> {
    if !pending.is_empty() {
        opfs::write_at(handle, pending, *stored)?;
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
