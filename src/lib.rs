//! Skiff: pull container images from any OCI/Docker registry inside a browser tab and save a tar
//! that `docker load` accepts.
//!
//! Two programs share this library: the app (`src/main.rs`, the page: UI, registry session,
//! orchestration) and the layer worker (`src/bin/skiff-worker.rs`, one per concurrent layer:
//! fetches, verifies and stores bytes off the page's thread).

pub mod components;
pub mod engine;
pub mod error;
pub mod services;
pub mod state;
