//! How a blob's bytes are checked on their way to storage: as downloaded (digest and size, the
//! digest computed by the backend the page granted), or decompressed (digest and size of the
//! compressed bytes, and the diff ID of the result).

use skiff_core::transfer::hashing::HashBackend;
use skiff_core::transfer::layer::{LayerUnpacker, UnpackLimits};
use skiff_core::{BlobVerifier, Digest};

use super::hashers::{LaneCheck, NativeCheck};

/// Proof that a blob's bytes passed every check. Only [`Check::finish`] makes one, and
/// committing a blob to the cache takes one: unverified bytes cannot be committed.
#[derive(Debug)]
pub struct Verified {
    _made_by_finish: (),
}

pub enum Check {
    /// `sha2`, one stream.
    Verify(BlobVerifier),
    /// A lane of the worker's four-stream SHA-256.
    Lanes(LaneCheck),
    /// The whole blob in memory, hashed by the browser at the end.
    Native(NativeCheck),
    Unpack(LayerUnpacker),
}

impl Check {
    pub fn new(digest: &Digest, size: u64, diff_id: Option<&Digest>, limits: UnpackLimits) -> Self {
        match diff_id {
            None => Self::Verify(BlobVerifier::new(digest.clone(), size)),
            Some(diff_id) => Self::Unpack(LayerUnpacker::new(
                digest.clone(),
                size,
                diff_id.clone(),
                limits,
            )),
        }
    }

    /// The check a layer job's bytes go through: as downloaded, hashed by the backend the job
    /// was granted (`sha2` when that one cannot be had here), or unpacked under its limits.
    pub fn for_job(job: &super::protocol::LayerJob) -> Self {
        let as_downloaded = job.diff_id.is_none();
        let granted = match job.hashing {
            HashBackend::Native if as_downloaded => {
                NativeCheck::new(&job.digest, job.size).map(Self::Native)
            }
            HashBackend::Lanes if as_downloaded => {
                LaneCheck::take(&job.digest, job.size).map(Self::Lanes)
            }
            _ => None,
        };
        granted.unwrap_or_else(|| {
            Self::new(
                &job.digest,
                job.size,
                job.diff_id.as_ref(),
                job.settings.unpack_limits,
            )
        })
    }

    /// The same check from the first byte again, keeping what it holds (a lane, a buffer).
    pub fn restart(&mut self, job: &super::protocol::LayerJob) {
        match self {
            Self::Lanes(lanes) => lanes.restart(),
            Self::Native(native) => native.restart(),
            Self::Verify(_) | Self::Unpack(_) => *self = Self::for_job(job),
        }
    }

    /// Which backend computes the digest.
    pub fn backend(&self) -> HashBackend {
        match self {
            Self::Lanes(_) => HashBackend::Lanes,
            Self::Native(_) => HashBackend::Native,
            Self::Verify(_) | Self::Unpack(_) => HashBackend::Wasm,
        }
    }

    /// Compressed bytes checked so far.
    pub fn received(&self) -> u64 {
        match self {
            Self::Verify(verifier) => verifier.received(),
            Self::Lanes(lanes) => lanes.received(),
            Self::Native(native) => native.received(),
            Self::Unpack(unpacker) => unpacker.received(),
        }
    }

    /// Checks `input`. What is to be stored is `input` itself (`false`), or what it
    /// decompressed to (`true`), handed to `sink` in pieces of bounded size.
    pub fn update<E: From<skiff_core::Error>>(
        &mut self,
        input: &[u8],
        sink: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<bool, E> {
        match self {
            Self::Verify(verifier) => {
                verifier.update(input)?;
                Ok(false)
            }
            Self::Lanes(lanes) => {
                lanes.update(input)?;
                Ok(false)
            }
            Self::Native(native) => {
                native.update(input)?;
                Ok(false)
            }
            Self::Unpack(unpacker) => unpacker.update(input, sink).map(|()| true),
        }
    }

    /// The final checks (digest and size; the diff ID when decompressing); the decompressor's
    /// last bytes go to `sink`.
    pub async fn finish<E: From<skiff_core::Error>>(
        self,
        sink: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<Verified, E> {
        match self {
            Self::Verify(verifier) => drop(verifier.finish()?),
            Self::Lanes(lanes) => drop(lanes.finish()?),
            Self::Native(native) => drop(native.finish().await?),
            Self::Unpack(unpacker) => drop(unpacker.finish(sink)?),
        }
        Ok(Verified {
            _made_by_finish: (),
        })
    }
}
