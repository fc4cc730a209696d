//! What is inside an image: each layer's entries, and the root filesystem they make together
//! under the OCI overlay rules (whiteouts `.wh.<name>`, opaque directories `.wh..wh..opq`, a
//! file replacing a directory and back, hard links whose first name was deleted).
//!
//! - [`entry`]: one tar entry as a typed value, with its path normalized and checked;
//! - [`read`]: reading a layer (plain, gzip or zstd) entry by entry from any `Read`;
//! - [`tree`]: the merged tree, which layer added, changed or deleted each path, wasted bytes;
//! - [`export`]: the plan for writing the merged tree as one tar, as `docker export` does.

pub mod diff;
pub mod entry;
pub mod export;
pub mod read;
pub mod tree;

pub use entry::{Change, Entry, Kind};
pub use tree::{Node, Tree};

/// Why a layer's contents could not be read or merged.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum OverlayError {
    #[error("layer {layer}: entry {path:?} climbs out of the root filesystem ({reason}); the layer is unsafe and Skiff will not unpack it")]
    UnsafePath {
        layer: usize,
        path: String,
        reason: &'static str,
    },
    #[error("layer {layer}: the tar stream is damaged ({detail}); pull the image again to fetch a verified copy")]
    Damaged { layer: usize, detail: String },
    #[error("layer {layer}: {source}")]
    Limit {
        layer: usize,
        source: crate::archive::tar_limits::TarLimitError,
    },
    #[error("layer {layer}: entry {path:?} has a type Skiff does not know ({type_byte:?})")]
    UnknownType {
        layer: usize,
        path: String,
        type_byte: char,
    },
    #[error("layer {layer}: hard link {path:?} points to {target:?}, which is in no earlier entry of this layer")]
    DanglingHardLink {
        layer: usize,
        path: String,
        target: String,
    },
}
