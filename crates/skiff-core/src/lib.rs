//! Skiff's sans-IO core: everything about pulling an image that does not need a network, a clock
//! or a browser. Drivers (the wasm app, the proxy, tests) feed bytes in and act on what comes out.
//!
//! - [`reference`]: image references with Docker's normalization (`nginx` →
//!   `docker.io/library/nginx:latest`), including pasted `docker pull …` lines.
//! - [`auth`]: `WWW-Authenticate` challenges, token scopes, token responses and their expiry.
//! - [`manifest`]: Docker v2s2 / OCI manifests and indexes, media types, the `Accept` header.
//! - [`manifest_check`]: a fetched manifest against its pin, index entry and
//!   `Docker-Content-Digest`.
//! - [`platform`]: `linux/arm64/v8` and choosing an index entry.
//! - [`layer`]: decompressing layers while verifying them, for uncompressed archives.
//! - [`exchange`] and [`explain`]: a request and its answer as the explorer shows them (secrets
//!   hidden, rate limits read) and in plain words, with the auth dance picked out.
//! - [`digest`]: the `Digest` type and a streaming [`digest::BlobVerifier`].
//! - [`proxy_protocol`]: the headers and error kinds shared by Skiff's proxy and the app.
//! - [`referrers`]: signatures, SBOMs and attestations of an image: the referrers API, the tag
//!   schema and cosign's tags.
//! - [`registry`]: the URLs of the distribution API for a reference.
//! - [`media_type`]: media types as an enum, with what each one is and how a layer is packed.
//! - [`retry`]: when to retry a request, how long to wait, and reading `Retry-After`.
//! - [`resume`]: continuing a broken blob download with `Range`, and its retry budget.
//! - [`session`]: the registry auth state machine (challenges, tokens, renewal, refusals).
//! - [`cache`]: the layer cache's index and its least-recently-used evictions.
//! - [`overlay`]: what is inside an image: layer entries, the merged tree under the whiteout
//!   rules, and the root filesystem export.
//! - [`summary`]: an image at a glance from its config: how it runs, its build history.
//! - [`unpacked_size`]: a compressed layer's uncompressed size from its gzip trailer or zstd
//!   frame header, for quota checks.
//! - [`push_archive`]: an image archive picked to push: its tar index, its layout (OCI or
//!   `docker save`) and the blobs of each image.
//! - [`upload`]: pushing one blob: check, mount, monolithic or chunked upload, resume after a
//!   broken connection.
//! - [`tar_parts`] and [`archive`]: the docker-load / OCI-layout tar, described as parts so a
//!   driver can assemble it from staged blobs without copying them.

pub mod archive;
pub mod auth;
pub mod cache;
pub mod copy_plan;
pub mod copy_window;
pub mod digest;
mod error;
pub mod exchange;
pub mod explain;
pub mod foreign_layers;
pub mod layer;
pub mod manifest;
pub mod manifest_check;
pub mod media_type;
pub mod overlay;
pub mod page_policy;
pub mod platform;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties;
pub mod proxy_protocol;
pub mod push_archive;
pub mod reference;
pub mod referrers;
pub mod registry;
pub mod resume;
pub mod retry;
pub mod session;
pub mod summary;
pub mod tar_limits;
pub mod tar_parts;
pub mod unpacked_size;
pub mod upload;

pub use digest::{BlobVerifier, Digest};
pub use error::Error;
pub use platform::Platform;
pub use reference::Reference;
