//! What the page and a layer worker say to each other, as JSON strings over `postMessage`.
//! Failures travel as facts (status, headers, digests), never as rendered text, so the page
//! words them exactly as it words its own.

use serde::{Deserialize, Serialize};
use skiff_core::transfer::hashing::HashBackend;
use skiff_core::Digest;

mod failure;
pub use failure::{HttpFacts, LayerFailure, VerifyFailure};

/// The registry's `Authorization` for a job, and which of the page's credentials it is: a
/// 401 to an older one than the page's current one is answered with the current one, not
/// taken as a refusal.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobAuth {
    pub header: String,
    pub generation: u64,
}

/// Never the credential itself: a message logged while debugging must not print a token.
impl std::fmt::Debug for JobAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.header.split(' ').next().unwrap_or_default();
        f.debug_struct("JobAuth")
            .field("header", &format_args!("{scheme} ‹hidden›"))
            .field("generation", &self.generation)
            .finish()
    }
}

/// Page → worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ToWorker {
    /// Fetch, verify and store one blob.
    Layer(LayerJob),
    /// The answer to [`ToPage::NeedsAuthorization`]: a fresh header (or none: give up).
    Authorization {
        job: u32,
        authorization: Option<JobAuth>,
    },
    Cancel {
        job: u32,
    },
    /// Look inside verified layers of the cache ([`super::inspect`]).
    Inspect {
        job: u32,
        task: InspectTask,
    },
}

/// What to do with an image's layers, given as their cache keys in order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum InspectTask {
    /// The merged tree, sent as [`ToPage::Rows`] in walk order.
    Tree { layers: Vec<Digest> },
    /// The merged tree under `prefix` (`""`: the whole root filesystem) as a tar, written to
    /// `skiff-exports/<file_name>` in OPFS.
    Export {
        layers: Vec<Digest>,
        prefix: String,
        file_name: String,
    },
    /// The root filesystems of two images, path by path (contents compared where only the
    /// bytes can tell).
    Compare { a: Vec<Digest>, b: Vec<Digest> },
    /// The packages its package databases list ([`skiff_core::trust::packages`]).
    Packages { layers: Vec<Digest> },
    /// One file's content, as the tree has it, written to `skiff-exports/<file_name>`.
    Extract {
        layers: Vec<Digest>,
        path: String,
        file_name: String,
    },
}

/// One path of the merged tree, as the file browser shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TreeRow {
    pub path: String,
    pub kind: skiff_core::overlay::Kind,
    /// A file's size; a directory's: all files under it.
    pub size: u64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub link: Option<String>,
    /// 1-based layer numbers: the one that added the path and the one that wrote it last.
    pub added_by: usize,
    pub layer: usize,
}

/// What the tree holds in all.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TreeSummary {
    pub paths: usize,
    pub files: usize,
    pub bytes: u64,
    /// Bytes of files that later layers overwrote or deleted.
    pub wasted: u64,
    /// Paths later layers deleted or replaced.
    pub removed: usize,
    /// The first [`MAX_DIFFERENCES_SENT`] of them, in the order the layers removed them.
    pub removed_paths: Vec<skiff_core::overlay::tree::Removed>,
}

/// One blob to bring into the cache.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LayerJob {
    pub job: u32,
    pub digest: Digest,
    pub size: u64,
    /// Store it uncompressed, checked against this diff ID; `None`: store as downloaded.
    pub diff_id: Option<Digest>,
    /// Tried in order (a foreign layer's URLs first, the registry last).
    pub sources: Vec<Source>,
    /// How the sources are reached: which header carries the credential, which the challenge.
    #[serde(default)]
    pub route: skiff_core::protocol::registry::Route,
    pub settings: JobSettings,
    /// Which SHA-256 the page granted this blob ([`skiff_core::transfer::hashing::HashBudget`]).
    #[serde(default)]
    pub hashing: HashBackend,
    #[serde(default)]
    pub destination: Destination,
}

/// Where a job's checked bytes go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Destination {
    /// The layer cache, committed there once verified.
    #[default]
    Cache,
    /// The cache, and the page as they stream (a chosen file's place for the blob).
    CacheAndPage,
    /// Only the page: the blob is written once, into the chosen file.
    Page,
    /// A copy's staging files ([`staging_name`]), read by the page as each is complete and
    /// never committed to the cache: the page deletes them once the blob is uploaded.
    Staging,
}

/// Bytes per staging file of a copy's blob: the upload's chunk, so a part the page sends is
/// a file (or two) no worker writes to any more.
pub const STAGING_CHUNK: u64 = skiff_core::transfer::upload::CHUNK;

/// The file in `partial/` holding bytes `index * STAGING_CHUNK..` of a copy's blob (apart
/// from a pull's partial file): Chromium refuses to read a file changed since the page took
/// it, so each is written once, then only read.
pub fn staging_name(digest: &Digest, index: u64) -> String {
    format!("copy-{}-{index}", digest.hex())
}

impl Destination {
    /// Whether the blob is kept in the cache once verified.
    pub fn to_cache(self) -> bool {
        matches!(self, Self::Cache | Self::CacheAndPage)
    }

    /// Whether its bytes are written to disk as they come.
    pub fn to_disk(self) -> bool {
        self != Self::Page
    }

    pub fn to_page(self) -> bool {
        matches!(self, Self::CacheAndPage | Self::Page)
    }
}

impl LayerJob {
    /// The digest the stored file is kept under: what it holds.
    pub fn key(&self) -> &Digest {
        self.diff_id.as_ref().unwrap_or(&self.digest)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Source {
    /// What the worker fetches (through the proxy, if any).
    pub fetch_url: String,
    /// The upstream URL, for the request log.
    pub shown_url: String,
    /// The registry's blob endpoint: it takes the registry's `Authorization`; a foreign URL
    /// never does.
    pub registry: bool,
    pub authorization: Option<JobAuth>,
    /// A blob already in the layer cache (an object URL of it), read again to store it
    /// another way: its bytes are not counted as fetched.
    #[serde(default)]
    pub local: bool,
}

/// How a worker paces itself; settings, not constants.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobSettings {
    /// Bytes hashed and written at once (reads from disk when re-hashing a partial file).
    pub chunk_bytes: u32,
    /// The one buffer a body is read into (reused: no garbage per chunk); 0 reads with the
    /// default reader instead.
    pub read_bytes: u32,
    /// Progress messages at most this often.
    pub progress_interval_ms: u32,
    /// A body that brings no byte for this long is treated as broken off (and resumed).
    pub stall_timeout_ms: u32,
    /// Attempts per request for 5xx answers and connection failures.
    pub max_attempts: u32,
    /// What a layer stored uncompressed may unpack to.
    #[serde(default)]
    pub unpack_limits: skiff_core::transfer::layer::UnpackLimits,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            chunk_bytes: 1 << 20,
            read_bytes: 1 << 20,
            progress_interval_ms: 100,
            stall_timeout_ms: 60_000,
            max_attempts: 5,
            unpack_limits: skiff_core::transfer::layer::UnpackLimits::default(),
        }
    }
}

/// Worker → page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ToPage {
    /// The worker listens: jobs may be posted.
    Ready,
    /// The worker's code failed (a promise rejected with nobody to catch it): it can do no more.
    Crashed {
        detail: String,
    },
    Progress {
        job: u32,
        /// Bytes of the blob verified so far (of `size`).
        received: u64,
        /// Bytes of it on disk (in the cache's partial file).
        #[serde(default)]
        stored: u64,
        /// Times the job went back to the blob's first byte (a corrupt body, another source):
        /// bytes read from the partial file before may since have changed.
        #[serde(default)]
        restarts: u32,
    },
    /// A request the worker made, for the request log.
    Exchange {
        job: u32,
        exchange: Box<skiff_core::explorer::exchange::Exchange>,
    },
    /// The registry answered 401: the page renews its token and answers with
    /// [`ToWorker::Authorization`]; the worker keeps what it has verified meanwhile.
    NeedsAuthorization {
        job: u32,
        /// The 401's `WWW-Authenticate`, for the page's auth session.
        challenge: Option<String>,
        /// The credential that was refused ([`JobAuth::generation`]).
        generation: u64,
    },
    Stored {
        job: u32,
        stored: Stored,
    },
    Failed {
        job: u32,
        failure: LayerFailure,
    },
    /// Rows of the merged tree, in batches (so no message is huge).
    Rows {
        job: u32,
        rows: Vec<TreeRow>,
    },
    /// An inspect task ended.
    Inspected {
        job: u32,
        outcome: Result<Inspected, String>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Inspected {
    Tree(TreeSummary),
    /// Written to `skiff-exports/<file_name>` in OPFS.
    Saved {
        file_name: String,
        size: u64,
    },
    Compared(FilesComparison),
    Packages(skiff_core::trust::packages::Inventory),
}

/// How two root filesystems differ.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FilesComparison {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    /// The differences in walk order, the first [`MAX_DIFFERENCES_SENT`] of them.
    pub differences: Vec<skiff_core::overlay::diff::PathDifference>,
}

pub const MAX_DIFFERENCES_SENT: usize = 5000;

/// A blob verified and committed to the cache.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stored {
    /// Its key in the cache (the diff ID when uncompressed).
    pub key: Digest,
    /// Bytes stored.
    pub size: u64,
    /// Layer bytes that came over the network for it (0 when a reload's partial file held them).
    pub fetched: u64,
    /// Bytes found on disk from an earlier, interrupted attempt and verified again.
    pub reused: u64,
    /// The worker's wasm memory when it finished (it never shrinks: its peak).
    pub wasm_memory: u64,
    /// Which SHA-256 computed the digest that was checked.
    #[serde(default)]
    pub hashed_by: HashBackend,
}

/// Encodes a message for `postMessage`.
pub fn encode<T: Serialize>(message: &T) -> String {
    serde_json::to_string(message).expect("protocol messages serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let job = ToWorker::Layer(LayerJob {
            job: 7,
            digest: Digest::of(b"layer"),
            size: 5,
            diff_id: None,
            sources: vec![Source {
                fetch_url: "http://127.0.0.1:8787/https://r/v2/a/blobs/x".into(),
                shown_url: "https://r/v2/a/blobs/x".into(),
                registry: true,
                authorization: Some(JobAuth {
                    header: "Bearer t".into(),
                    generation: 1,
                }),
                local: false,
            }],
            route: skiff_core::protocol::registry::Route::new("http://127.0.0.1:8787/"),
            settings: JobSettings::default(),
            hashing: HashBackend::Lanes,
            destination: Destination::Page,
        });
        for (destination, disk, cache, page) in [
            (Destination::Cache, true, true, false),
            (Destination::CacheAndPage, true, true, true),
            (Destination::Page, false, false, true),
            (Destination::Staging, true, false, false),
        ] {
            let got = (
                destination.to_disk(),
                destination.to_cache(),
                destination.to_page(),
            );
            assert_eq!(got, (disk, cache, page), "{destination:?}");
        }
        assert!(!format!("{job:?}").contains("Bearer t\""), "{job:?}");
        let again: ToWorker = serde_json::from_str(&encode(&job)).unwrap();
        assert!(matches!(
            again,
            ToWorker::Layer(LayerJob {
                job: 7,
                size: 5,
                hashing: HashBackend::Lanes,
                ..
            })
        ));
        let failure = ToPage::Failed {
            job: 7,
            failure: LayerFailure::Verify(VerifyFailure::Digest {
                expected: Digest::of(b"a"),
                actual: Digest::of(b"b"),
            }),
        };
        let again: ToPage = serde_json::from_str(&encode(&failure)).unwrap();
        let ToPage::Failed {
            failure: LayerFailure::Verify(verify),
            ..
        } = again
        else {
            panic!("not a failure: {again:?}");
        };
        let core: skiff_core::Error = verify.clone().into();
        assert_eq!(VerifyFailure::from_core(&core), Some(verify));
    }
}
