//! Which SHA-256 computes a blob's digest while it is fetched, chosen per blob: the browser's own
//! (native speed, but one shot over the whole blob in memory), four streams in step in wasm
//! SIMD (several layers at once in one worker), or `sha2` alone. Whichever computes it, the
//! digest is checked against the descriptor with the size by the same [`crate::image::digest::SizeCheck`]
//! before anything is committed.

use serde::{Deserialize, Serialize};

/// How a blob is hashed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HashBackend {
    /// The browser's SHA-256 (WebCrypto `digest`) over the whole blob, held in memory while it
    /// downloads: about 2.7x `sha2` in wasm, but no streaming form exists.
    Native,
    /// A lane of the worker's four-stream SHA-256 (`image::sha256x4`), shared with the other
    /// blobs that worker fetches at the same time.
    Lanes,
    /// `sha2` in wasm, one stream: decompressed layers (their digest is taken as they unpack),
    /// and whatever the other two cannot take.
    #[default]
    Wasm,
}

impl HashBackend {
    /// How the layer list and the benchmark name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Native => "browser SHA-256",
            Self::Lanes => "4-lane wasm SHA-256",
            Self::Wasm => "wasm SHA-256",
        }
    }
}

/// What the browser holds for one blob hashed natively: the blob, and the copy WebCrypto makes
/// of its input while it hashes.
pub const NATIVE_COST_PER_BYTE: u64 = 2;

/// The largest blob hashed natively, whatever the budget: one buffer per blob, and browsers
/// refuse or fail on typed arrays and digests much past this.
pub const NATIVE_MAX_BLOB: u64 = 1 << 30;

/// The user's hashing settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashSettings {
    /// Memory all workers together may hold for native hashing, bytes; 0 hashes every blob as
    /// it streams.
    pub native_budget: u64,
    /// Blobs one worker hashes in step (1: each blob in a worker of its own, with `sha2`).
    /// Four in step take about two thirds of the CPU time of four `sha2` streams, but on one
    /// thread: on 2 cores shared with the network they finished later than four workers
    /// (docs/benchmarks.md), so they are a choice for saving CPU, not the default.
    pub lanes: usize,
}

impl Default for HashSettings {
    fn default() -> Self {
        Self {
            native_budget: 128 << 20,
            lanes: 1,
        }
    }
}

/// One blob's hashing, as granted: release it with [`HashBudget::release`] when the blob ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    pub backend: HashBackend,
    /// Budget bytes it holds.
    pub reserved: u64,
}

/// The memory budget for native hashing, shared by every blob of a pull, and the choice of a
/// backend for each blob.
#[derive(Clone, Debug)]
pub struct HashBudget {
    settings: HashSettings,
    reserved: u64,
}

impl HashBudget {
    pub fn new(settings: HashSettings) -> Self {
        Self {
            settings,
            reserved: 0,
        }
    }

    pub fn settings(&self) -> HashSettings {
        self.settings
    }

    /// Budget bytes held by blobs hashing now.
    pub fn reserved(&self) -> u64 {
        self.reserved
    }

    /// The backend for a blob of `size` bytes (`unpacking`: stored decompressed, so hashed by
    /// the decompressor as it goes). Native while the budget holds it, else in step with the
    /// worker's other blobs, else alone.
    pub fn grant(&mut self, size: u64, unpacking: bool) -> Grant {
        let cost = size.saturating_mul(NATIVE_COST_PER_BYTE);
        let free = self.settings.native_budget.saturating_sub(self.reserved);
        if !unpacking && size > 0 && size <= NATIVE_MAX_BLOB && cost <= free {
            self.reserved += cost;
            return Grant {
                backend: HashBackend::Native,
                reserved: cost,
            };
        }
        let backend = if !unpacking && self.settings.lanes > 1 {
            HashBackend::Lanes
        } else {
            HashBackend::Wasm
        };
        Grant {
            backend,
            reserved: 0,
        }
    }

    /// Gives a finished blob's budget back.
    pub fn release(&mut self, grant: Grant) {
        self.reserved = self.reserved.saturating_sub(grant.reserved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn budget(native_mib: u64, lanes: usize) -> HashBudget {
        HashBudget::new(HashSettings {
            native_budget: native_mib * MIB,
            lanes,
        })
    }

    #[test]
    fn chooses_per_blob() {
        use HashBackend::*;
        // (native budget MiB, lanes, blob size, unpacking) → backend
        let table: &[(u64, usize, u64, bool, HashBackend)] = &[
            (128, 4, 10 * MIB, false, Native),
            (128, 4, 64 * MIB, false, Native),
            (128, 4, 64 * MIB + 1, false, Lanes),
            (128, 1, 64 * MIB + 1, false, Wasm),
            (128, 4, 10 * MIB, true, Wasm),
            (0, 4, 1, false, Lanes),
            (0, 1, 1, false, Wasm),
            (128, 4, 0, false, Lanes),
            (u64::MAX / MIB, 4, u64::MAX, false, Lanes),
            (u64::MAX / MIB, 4, NATIVE_MAX_BLOB, false, Native),
            (u64::MAX / MIB, 4, NATIVE_MAX_BLOB + 1, false, Lanes),
        ];
        for &(native, lanes, size, unpacking, expected) in table {
            let grant = budget(native, lanes).grant(size, unpacking);
            assert_eq!(
                grant.backend, expected,
                "{native} MiB, {lanes} lanes, {size} B"
            );
            assert_eq!(grant.reserved > 0, expected == Native);
        }
    }

    #[test]
    fn the_budget_is_shared_and_given_back() {
        let mut shared = budget(100, 4);
        let first = shared.grant(30 * MIB, false);
        let second = shared.grant(20 * MIB, false);
        assert_eq!(
            (first.backend, second.backend),
            (HashBackend::Native, HashBackend::Native)
        );
        assert_eq!(shared.reserved(), 100 * MIB);
        // Nothing is left: the next blob streams, however small.
        assert_eq!(shared.grant(1, false).backend, HashBackend::Lanes);
        shared.release(first);
        assert_eq!(shared.reserved(), 40 * MIB);
        assert_eq!(shared.grant(30 * MIB, false).backend, HashBackend::Native);
        assert_eq!(shared.grant(1, false).backend, HashBackend::Lanes);
    }

    #[test]
    fn a_budget_of_zero_streams_everything() {
        let mut none = budget(0, 4);
        for size in [1, 1000, 64 * MIB] {
            let grant = none.grant(size, false);
            assert_eq!(
                grant,
                Grant {
                    backend: HashBackend::Lanes,
                    reserved: 0
                }
            );
        }
        assert_eq!(none.reserved(), 0);
    }
}
