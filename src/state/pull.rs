//! A pull as the app shows it: where it is, its layer rows, the archive it offers, and the
//! events the pull service reports (mapped to state in [`super::State`]'s reducer only).

use std::rc::Rc;

use super::{Exchange, ObjectDoc};
use skiff_core::image::media_type::MediaType;
use skiff_core::{Digest, Platform};

/// Where a pull is.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Phase {
    #[default]
    Idle,
    Running {
        stage: String,
    },
    /// Looked inside without downloading the layers.
    Inspected,
    Done(SavedArchive),
    Failed(ErrorReport),
}

/// The finished archive, ready to download.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedArchive {
    pub object_url: String,
    pub file_name: String,
    pub size: u64,
    /// The tags `docker load` will give, one per tagged image.
    pub repo_tags: Vec<String>,
    pub images: usize,
    /// Layers in the archive, and how many of them the layer cache already held.
    pub layers: usize,
    pub layers_from_cache: usize,
    /// Layer bytes that came over the network for this archive.
    pub transferred: u64,
    /// The most wasm memory a layer worker used (0 when none ran).
    pub worker_memory: u64,
    /// Written into this file the user chose (then `object_url` is empty).
    pub saved_to: Option<String>,
    /// Each image's layers as the cache keeps them, for the file browser.
    pub contents: Vec<ImageContents>,
    /// Layers kept zstd-compressed (docker before 23 cannot load those).
    pub zstd_layers: usize,
    /// References given as `name:tag@digest`: pulled by the digest, tagged with the tag.
    pub pinned: Vec<PinnedTag>,
    pub uncompressed: bool,
    /// The signatures, SBOMs and attestations carried along: what each is and where it was
    /// found.
    pub referrers: Vec<String>,
    /// What was saved: a container image's archive, or an artifact as its tool saves it.
    pub kind: skiff_core::image::artifact::ArtifactKind,
}

/// A `name:tag@digest` reference: what `docker load` will call it, and the digest that chose it.
#[derive(Clone, Debug, PartialEq)]
pub struct PinnedTag {
    pub repo_tag: String,
    pub digest: skiff_core::Digest,
}

/// An image of the archive and its layers' keys in the layer cache, bottom first.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageContents {
    pub reference: String,
    pub layers: Vec<skiff_core::Digest>,
    /// Each layer's size as stored, in the same order.
    pub sizes: Vec<u64>,
    /// The image config, as served.
    pub config: Rc<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ErrorReport {
    pub title: String,
    pub message: String,
    /// Credentials would fix it: the panel opens.
    pub wants_credentials: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayerStatus {
    Queued,
    Downloading,
    /// Fetched and verified, its digest computed by this backend.
    Verified(skiff_core::transfer::hashing::HashBackend),
    /// Found verified in the layer cache.
    Cached,
    Failed,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LayerRow {
    pub digest: Digest,
    pub media_type: MediaType,
    pub size: u64,
    pub received: u64,
    pub status: LayerStatus,
    pub started_ms: Option<f64>,
    pub updated_ms: f64,
}

impl LayerRow {
    pub fn new(digest: Digest, media_type: MediaType, size: u64) -> Self {
        Self {
            digest,
            media_type,
            size,
            received: 0,
            status: LayerStatus::Queued,
            started_ms: None,
            updated_ms: 0.0,
        }
    }

    /// Average speed since the download started, bytes per second.
    pub fn bytes_per_second(&self) -> Option<f64> {
        let elapsed = (self.updated_ms - self.started_ms?) / 1000.0;
        (elapsed > 0.2 && self.received > 0).then(|| self.received as f64 / elapsed)
    }
}

/// One platform an index offers.
#[derive(Clone, Debug, PartialEq)]
pub struct PlatformOffer {
    /// `linux/arm64/v8`, with `os.version` appended for Windows.
    pub label: String,
    /// What to put in the platform field to pick it: `linux/arm64/v8`.
    pub platform: Platform,
    pub digest: Digest,
}

/// What a pull reports, in order: the engine's own events, which the reducer maps to state here
/// and nowhere else.
#[derive(Clone, Debug, PartialEq)]
pub enum PullEvent {
    Started {
        reference: String,
    },
    Resolved {
        reference: String,
    },
    Stage(String),
    /// The last image's layers, unpacked, bytes (about: a zstd layer may not say).
    Unpacked(u64),
    /// What the image's manifest holds (an image, a chart, files, …).
    Kind(skiff_core::image::artifact::ArtifactKind),
    /// This image's documents come next (the explorer's links resolve against it).
    Exploring(skiff_core::Reference),
    Exchange(Exchange),
    IndexFetched {
        offers: Vec<PlatformOffer>,
    },
    /// A document fetched and checked (index, manifest, config).
    Object(ObjectDoc),
    PlatformChosen {
        platform: String,
    },
    LayersAdded(Vec<LayerRow>),
    /// Bytes verified so far, for the rows that moved since the last update.
    LayersProgress {
        received: Vec<(usize, u64)>,
        now_ms: f64,
    },
    LayerDone {
        index: usize,
        outcome: LayerOutcome,
    },
    Finished(SavedArchive),
    /// An inspection (no layers) found the image.
    Inspected,
    Failed(ErrorReport),
}

/// How a layer row ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerOutcome {
    /// Fetched (all or the rest of it) and verified.
    Verified {
        hashed_by: skiff_core::transfer::hashing::HashBackend,
    },
    /// Already in the layer cache: nothing transferred.
    Cached,
    Failed,
}
