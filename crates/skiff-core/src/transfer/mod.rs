//! Moving blobs: every byte checked before it counts.

/// Fetching one blob whole: attempts, backoff, credential renewal, resume, start-overs.
pub mod blob_fetch;
/// The layer cache's index and its least-recently-used evictions.
pub mod cache;
/// Choosing an index's platforms to copy.
pub mod copy_plan;
/// Copying one blob from registry to registry without holding it whole.
pub mod copy_window;
/// Fetching one document whole (manifest, config, tag list): re-fetches and their limits.
pub mod document_fetch;
/// Foreign (non-distributable) layers made ordinary for a push.
pub mod foreign_layers;
/// Which SHA-256 hashes a blob: the browser's, four streams in step, or `sha2`.
pub mod hashing;
/// Decompressing layers while verifying them, in bounded pieces, under limits.
pub mod layer;
/// Finding an image: reference, index, platform, manifest, config, each checked.
pub mod resolve;
/// Pushing one blob: check, mount, monolithic or chunked upload, resume after a break.
pub mod upload;
