//! The push panel's state: what is being pushed where, each blob's fate, how it ended.

use skiff_core::{Digest, Platform};

/// Where one blob of the push is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobState {
    Waiting,
    /// Read from the file and hashed: it matches its digest.
    Verified,
    /// Already in the registry: nothing sent.
    Present,
    Mounted,
    Uploading {
        sent: u64,
    },
    Uploaded {
        sent: u64,
    },
    /// Its bytes are sent; the request that commits it waits for the whole archive's check.
    Held,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedBlob {
    pub digest: Digest,
    pub size: u64,
    pub state: BlobState,
    /// Read from the file and hashed: it matches its digest.
    pub checked: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushSummary {
    /// A copy between registries (else a push of an archive).
    pub copied: bool,
    /// `registry/repo:tag@sha256:…`, one per image.
    pub pushed: Vec<String>,
    pub uploaded_bytes: u64,
    pub uploaded: usize,
    pub present: usize,
    pub mounted: usize,
    /// Some platforms of an index copied: the target's index is a new one.
    pub chosen: Option<ChosenPlatforms>,
    /// Images whose foreign layers were uploaded and made ordinary.
    pub made_ordinary: Vec<MadeOrdinary>,
    /// Signatures, SBOMs and attestations written beside their images: where, and how a
    /// verifier finds them.
    pub referrers: Vec<String>,
}

/// An image whose manifest names its foreign layers as ordinary ones, so its digest changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MadeOrdinary {
    pub image: String,
    pub layers: usize,
    /// The manifest's digest in the archive.
    pub was: Digest,
}

/// The platforms a copy took of an index that offers more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChosenPlatforms {
    pub kept: Vec<Platform>,
    /// How many platforms the source's index offers.
    pub offered: usize,
    /// The source's index, whose digest the new one no longer has.
    pub source_index: Digest,
}

impl PushSummary {
    /// One more blob in the registry, counted by how it got there.
    pub fn count(&mut self, how: skiff_core::transfer::upload::Uploaded) {
        use skiff_core::transfer::upload::Uploaded;
        match how {
            Uploaded::Present => self.present += 1,
            Uploaded::Mounted => self.mounted += 1,
            Uploaded::Sent(bytes) => {
                self.uploaded += 1;
                self.uploaded_bytes += bytes;
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushEvent {
    /// A push of an archive, or a copy between registries, began.
    Started {
        copy: bool,
    },
    Stage(String),
    Blobs(Vec<PushedBlob>),
    Blob {
        digest: Digest,
        state: BlobState,
    },
    Done(PushSummary),
    Failed(String),
    /// The platforms a copy's source offers (empty: a single image), or why they could not be
    /// read.
    Offered {
        from: String,
        platforms: Result<Vec<Platform>, String>,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushView {
    pub running: bool,
    /// What runs (or ran last): a copy between registries, or a push of an archive.
    pub copying: bool,
    pub stage: String,
    pub blobs: Vec<PushedBlob>,
    pub done: Option<PushSummary>,
    pub error: Option<String>,
    /// The platforms offered by the copy source named `from` (kept across pushes).
    pub offered: Option<OfferedPlatforms>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferedPlatforms {
    pub from: String,
    pub platforms: Result<Vec<Platform>, String>,
}

impl PushView {
    pub fn apply(&mut self, event: PushEvent) {
        match event {
            PushEvent::Started { copy } => {
                *self = Self {
                    running: true,
                    copying: copy,
                    offered: self.offered.take(),
                    ..Self::default()
                }
            }
            PushEvent::Stage(stage) => self.stage = stage,
            PushEvent::Blobs(blobs) => self.blobs = blobs,
            PushEvent::Blob { digest, state } => {
                for blob in self.blobs.iter_mut().filter(|b| b.digest == digest) {
                    // The check runs beside the upload: it marks the row, the upload moves it.
                    match state {
                        BlobState::Verified => blob.checked = true,
                        _ => blob.state = state.clone(),
                    }
                }
            }
            PushEvent::Done(summary) => {
                self.running = false;
                self.done = Some(summary);
            }
            PushEvent::Failed(message) => {
                self.running = false;
                self.error = Some(message);
            }
            PushEvent::Offered { from, platforms } => {
                self.offered = Some(OfferedPlatforms { from, platforms })
            }
        }
    }
}
