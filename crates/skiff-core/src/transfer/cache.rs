//! The layer cache's bookkeeping: which verified blobs are kept (by digest, with their size and
//! when they were last used) and which to evict, least recently used first, to make room under
//! the size cap the user set. Blobs the running pull or the offered archive use are pinned.
//! Pure: the driver stores the index and deletes the files it is told to.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::Digest;

/// One kept blob.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheEntry {
    pub size: u64,
    /// Milliseconds since the epoch, as the driver's clock said.
    pub last_used_ms: u64,
}

/// Every verified blob in the cache. Serialized as the driver's index file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheIndex {
    entries: BTreeMap<Digest, CacheEntry>,
}

/// Room cannot be made: what is pinned (or a single blob) is already larger than the cap.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the layer cache is limited to {cap} bytes, but this pull needs {needed} bytes beside {pinned} bytes in use; raise the limit under Layer cache")]
pub struct CacheTooSmall {
    pub cap: u64,
    pub needed: u64,
    pub pinned: u64,
}

impl CacheIndex {
    pub fn parse(json: &[u8]) -> Self {
        // A damaged index forgets what it held: those files are then swept as unknown.
        serde_json::from_slice(json).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("the index serializes")
    }

    pub fn get(&self, digest: &Digest) -> Option<&CacheEntry> {
        self.entries.get(digest)
    }

    pub fn contains(&self, digest: &Digest) -> bool {
        self.entries.contains_key(digest)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn digests(&self) -> impl Iterator<Item = &Digest> {
        self.entries.keys()
    }

    /// Bytes held, saturating (sizes come from files on disk).
    pub fn total_size(&self) -> u64 {
        self.entries
            .values()
            .fold(0u64, |sum, e| sum.saturating_add(e.size))
    }

    /// A blob was verified and committed.
    pub fn insert(&mut self, digest: Digest, size: u64, now_ms: u64) {
        self.entries.insert(
            digest,
            CacheEntry {
                size,
                last_used_ms: now_ms,
            },
        );
    }

    /// A blob was used again (a later pull found it here).
    pub fn touch(&mut self, digest: &Digest, now_ms: u64) {
        if let Some(entry) = self.entries.get_mut(digest) {
            entry.last_used_ms = entry.last_used_ms.max(now_ms);
        }
    }

    pub fn remove(&mut self, digest: &Digest) -> Option<CacheEntry> {
        self.entries.remove(digest)
    }

    /// The blobs to delete, least recently used first, so that `needed` more bytes fit under
    /// `cap`; pinned blobs are never chosen. Ties go to the larger blob, then the digest, so
    /// the plan is the same on every run.
    pub fn plan_evictions(
        &self,
        needed: u64,
        cap: u64,
        pinned: &BTreeSet<Digest>,
    ) -> Result<Vec<Digest>, CacheTooSmall> {
        let pinned_size = self
            .entries
            .iter()
            .filter(|(digest, _)| pinned.contains(*digest))
            .fold(0u64, |sum, (_, e)| sum.saturating_add(e.size));
        if pinned_size
            .checked_add(needed)
            .is_none_or(|total| total > cap)
        {
            return Err(CacheTooSmall {
                cap,
                needed,
                pinned: pinned_size,
            });
        }
        let mut candidates: Vec<(&Digest, &CacheEntry)> = self
            .entries
            .iter()
            .filter(|(digest, _)| !pinned.contains(*digest))
            .collect();
        candidates.sort_by(|(da, a), (db, b)| {
            a.last_used_ms
                .cmp(&b.last_used_ms)
                .then(b.size.cmp(&a.size))
                .then(da.cmp(db))
        });
        let mut held = self.total_size();
        let mut evict = Vec::new();
        for (digest, entry) in candidates {
            if held.saturating_add(needed) <= cap {
                break;
            }
            held = held.saturating_sub(entry.size);
            evict.push(digest.clone());
        }
        Ok(evict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u8) -> Digest {
        Digest::of(&[n])
    }

    /// Blobs 1..=4 of 100 bytes each, used at times 40, 10, 30, 20.
    fn index() -> CacheIndex {
        let mut index = CacheIndex::default();
        for (n, used) in [(1, 40), (2, 10), (3, 30), (4, 20)] {
            index.insert(digest(n), 100, used);
        }
        index
    }

    #[test]
    fn evicts_least_recently_used_first_and_only_as_needed() {
        let none = BTreeSet::new();
        let table: &[(u64, u64, &[u8])] = &[
            // (needed, cap, evicted in order)
            (0, 400, &[]),
            (100, 500, &[]),
            (100, 400, &[2]),
            (150, 400, &[2, 4]),
            (300, 400, &[2, 4, 3]),
            (400, 400, &[2, 4, 3, 1]),
            (0, 150, &[2, 4, 3]),
        ];
        for (needed, cap, expected) in table {
            let plan = index().plan_evictions(*needed, *cap, &none).unwrap();
            let expected: Vec<Digest> = expected.iter().map(|n| digest(*n)).collect();
            assert_eq!(plan, expected, "needed {needed}, cap {cap}");
        }
    }

    #[test]
    fn never_evicts_pinned_blobs_and_says_when_room_cannot_be_made() {
        let pinned: BTreeSet<Digest> = [digest(2), digest(4)].into();
        assert_eq!(
            index().plan_evictions(150, 400, &pinned).unwrap(),
            [digest(3), digest(1)]
        );
        assert_eq!(
            index().plan_evictions(250, 400, &pinned),
            Err(CacheTooSmall {
                cap: 400,
                needed: 250,
                pinned: 200
            })
        );
        assert!(index().plan_evictions(u64::MAX, u64::MAX, &pinned).is_err());
    }

    #[test]
    fn touching_makes_a_blob_recent_and_the_index_round_trips() {
        let mut index = index();
        index.touch(&digest(2), 50);
        index.touch(&digest(9), 60);
        assert_eq!(
            index.plan_evictions(100, 400, &BTreeSet::new()).unwrap(),
            [digest(4)]
        );
        let again = CacheIndex::parse(index.to_json().as_bytes());
        assert_eq!(again, index);
        assert_eq!(again.total_size(), 400);
        assert!(CacheIndex::parse(b"{garbage").is_empty());
        assert_eq!(index.remove(&digest(1)).map(|e| e.size), Some(100));
        assert_eq!(index.len(), 3);
    }
}
