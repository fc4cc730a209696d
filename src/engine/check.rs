//! How a blob's bytes are checked on their way to storage: as downloaded (digest and size), or
//! decompressed (digest and size of the compressed bytes, and the diff ID of the result).

use skiff_core::transfer::layer::{LayerUnpacker, UnpackLimits};
use skiff_core::{BlobVerifier, Digest};

/// Proof that a blob's bytes passed every check. Only [`Check::finish`] makes one, and
/// committing a blob to the cache takes one: unverified bytes cannot be committed.
#[derive(Debug)]
pub struct Verified {
    _made_by_finish: (),
}

pub enum Check {
    Verify(BlobVerifier),
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

    /// The check a layer job's bytes go through: as downloaded, or unpacked under its limits.
    pub fn for_job(job: &super::protocol::LayerJob) -> Self {
        Self::new(
            &job.digest,
            job.size,
            job.diff_id.as_ref(),
            job.settings.unpack_limits,
        )
    }

    /// Compressed bytes checked so far.
    pub fn received(&self) -> u64 {
        match self {
            Self::Verify(verifier) => verifier.received(),
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
            Self::Unpack(unpacker) => unpacker.update(input, sink).map(|()| true),
        }
    }

    /// The final checks (digest and size; the diff ID when decompressing); the decompressor's
    /// last bytes go to `sink`.
    pub fn finish<E: From<skiff_core::Error>>(
        self,
        sink: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<Verified, E> {
        match self {
            Self::Verify(verifier) => drop(verifier.finish()?),
            Self::Unpack(unpacker) => drop(unpacker.finish(sink)?),
        }
        Ok(Verified {
            _made_by_finish: (),
        })
    }
}
