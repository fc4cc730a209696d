//! The layer cache as a pull and the app see it: what it holds, clearing it, and the few bytes
//! of a layer that tell its unpacked size.

use std::collections::BTreeSet;

use skiff_core::image::unpacked_size::SizeProbe;
use skiff_core::Digest;
use wasm_bindgen::JsCast as _;

use super::{PullHandle, Resolved};
use crate::engine::cache::Cache;
use crate::error::AppError;
use crate::services::http::now_ms;
use crate::state::CacheInfo;

/// What the layer cache holds now, for the settings panel.
pub async fn cache_info(cap: u64) -> Option<CacheInfo> {
    open_cache().await.ok().map(|cache| CacheInfo {
        layers: cache.len(),
        bytes: cache.total_size(),
        cap,
    })
}

/// The layer cache, or why this window has none (a private window has no OPFS).
pub(super) async fn open_cache() -> Result<Cache, AppError> {
    Cache::open(now_ms()).await.map_err(|e| {
        AppError::Storage(format!("{e}. Skiff keeps layers in the browser's private file system (OPFS) while it verifies them, which this browser or window does not offer (a private window?). Pull in a normal window; \"Look inside\" works here."))
    })
}

/// At start: `Some(why)` when this window cannot keep layers, so the page says it before a
/// pull fails on it.
pub async fn storage_problem() -> Option<String> {
    open_cache().await.err().map(|error| error.to_string())
}

/// Empties the layer cache. The archive on offer (`last`'s) is made of cached files, so it is
/// withdrawn first. (The app offers this only while no pull runs.)
pub async fn clear_cache(last: &PullHandle, cap: u64) -> Option<CacheInfo> {
    last.withdraw_offer();
    if let Ok(cache) = Cache::open(now_ms()).await {
        cache.clear(&BTreeSet::new()).await;
    }
    cache_info(cap).await
}

/// A layer's uncompressed size, from the few bytes of it that say so (one small `Range`
/// request); its compressed size when they say nothing.
pub(super) async fn unpacked_size(
    resolved: &Resolved,
    layer: &skiff_core::image::manifest::Descriptor,
    cache: Option<&Cache>,
) -> u64 {
    let probe = layer
        .media_type
        .layer_compression()
        .and_then(SizeProbe::for_compression);
    let Some((probe, range)) = probe.and_then(|p| Some((p, p.range(layer.size)?))) else {
        return layer.size;
    };
    // The download already in the cache tells without asking the registry.
    if let (Some((first, last)), Some(cache)) = (
        probe.span(layer.size),
        cache.filter(|cache| cache.size_of(&layer.digest) == Some(layer.size)),
    ) {
        if let Some(bytes) = cached_bytes(cache, &layer.digest, first, last).await {
            return probe.read(layer.size, &bytes).unwrap_or(layer.size);
        }
    }
    let url = skiff_core::protocol::registry::blob_url(&resolved.reference, &layer.digest);
    match resolved.session.get_range(&url, &range).await {
        Some(bytes) => probe.read(layer.size, &bytes).unwrap_or(layer.size),
        None => layer.size,
    }
}

/// Bytes `first..=last` of a cached blob.
async fn cached_bytes(cache: &Cache, digest: &Digest, first: u64, last: u64) -> Option<Vec<u8>> {
    let file = cache.file(digest).await.ok()?;
    let part = file
        .slice_with_f64_and_f64(first as f64, (last + 1) as f64)
        .ok()?;
    let buffer = wasm_bindgen_futures::JsFuture::from(part.array_buffer())
        .await
        .ok()?;
    Some(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Free bytes the browser grants this origin, if it says.
pub(super) async fn available_bytes() -> Option<u64> {
    let storage = web_sys::window()?.navigator().storage();
    let estimate: web_sys::StorageEstimate =
        wasm_bindgen_futures::JsFuture::from(storage.estimate().ok()?)
            .await
            .ok()?
            .unchecked_into();
    let quota = estimate.get_quota()?;
    let usage = estimate.get_usage().unwrap_or(0.0);
    Some((quota - usage).max(0.0) as u64)
}
