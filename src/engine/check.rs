//! How a blob's bytes are checked on their way to storage: as downloaded (digest and size), or
//! decompressed (digest and size of the compressed bytes, and the diff ID of the result).

use skiff_core::layer::LayerUnpacker;
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
    pub fn new(digest: &Digest, size: u64, diff_id: Option<&Digest>) -> Self {
        match diff_id {
            None => Self::Verify(BlobVerifier::new(digest.clone(), size)),
            Some(diff_id) => {
                Self::Unpack(LayerUnpacker::new(digest.clone(), size, diff_id.clone()))
            }
        }
    }

    /// Compressed bytes checked so far.
    pub fn received(&self) -> u64 {
        match self {
            Self::Verify(verifier) => verifier.received(),
            Self::Unpack(unpacker) => unpacker.received(),
        }
    }

    /// Checks `input`; what is to be stored is `input` itself (`None`) or what it decompressed
    /// to, appended to `out`.
    pub fn update(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<bool, skiff_core::Error> {
        match self {
            Self::Verify(verifier) => verifier.update(input).map(|()| false),
            Self::Unpack(unpacker) => unpacker.update(input, out).map(|()| true),
        }
    }

    /// The final checks (digest and size; the diff ID when decompressing); the decompressor's
    /// last bytes go to `tail`.
    pub fn finish(self, tail: &mut Vec<u8>) -> Result<Verified, skiff_core::Error> {
        match self {
            Self::Verify(verifier) => verifier.finish().map(drop),
            Self::Unpack(unpacker) => unpacker.finish(tail).map(drop),
        }?;
        Ok(Verified {
            _made_by_finish: (),
        })
    }
}
