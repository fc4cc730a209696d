//! Writing layers uncompressed, as `docker_pull.py` does: the compressed bytes are verified
//! against the manifest's digest and size while they are decompressed, and the result against
//! the config's `diff_ids`. Then any loader reads the layer, zstd-blind docker 20.10 included.

use std::io::Write;

use sha2::{Digest as _, Sha256};

use crate::{BlobVerifier, Digest, Error};

/// How a layer's bytes are compressed, told from their first bytes (media types lie).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// `None` until enough bytes are there to tell.
    pub fn sniff(start: &[u8]) -> Option<Self> {
        const GZIP: [u8; 2] = [0x1f, 0x8b];
        const ZSTD: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
        if start.len() >= 2 && start[..2] == GZIP {
            Some(Self::Gzip)
        } else if start.len() >= 4 && start[..4] == ZSTD {
            Some(Self::Zstd)
        } else if start.len() >= 4
            || (start.len() >= 2 && start[..2] != GZIP[..2] && start[0] != ZSTD[0])
        {
            Some(Self::None)
        } else {
            None
        }
    }
}

/// The uncompressed layer's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnpackedLayer {
    pub diff_id: Digest,
    pub size: u64,
}

enum Decoder {
    /// Waiting for enough bytes to sniff.
    Undecided(Vec<u8>),
    Plain,
    Gzip(Box<flate2::write::MultiGzDecoder<Vec<u8>>>),
    Zstd(Box<ZstdStream>),
}

/// Verifies a compressed layer and decompresses it, chunk by chunk.
pub struct LayerUnpacker {
    compressed: BlobVerifier,
    expected_diff_id: Digest,
    decoder: Decoder,
    diff: Sha256,
    size: u64,
}

fn decompress_error(reason: impl std::fmt::Display) -> Error {
    Error::Decompress {
        reason: reason.to_string(),
    }
}

impl LayerUnpacker {
    /// `digest` and `size` from the manifest, `diff_id` from the config.
    pub fn new(digest: Digest, size: u64, diff_id: Digest) -> Self {
        Self {
            compressed: BlobVerifier::new(digest, size),
            expected_diff_id: diff_id,
            decoder: Decoder::Undecided(Vec::new()),
            diff: Sha256::new(),
            size: 0,
        }
    }

    /// Compressed bytes seen so far.
    pub fn received(&self) -> u64 {
        self.compressed.received()
    }

    /// Feeds compressed bytes; appends what they decompress to `out`.
    pub fn update(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        self.compressed.update(chunk)?;
        let start = out.len();
        self.decode(chunk, out, false)?;
        self.account(&out[start..]);
        Ok(())
    }

    /// Ends the layer: flushes the decoder into `out`, then checks the compressed digest and
    /// size, and the uncompressed digest against the config's diff ID.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<UnpackedLayer, Error> {
        let start = out.len();
        self.decode(&[], out, true)?;
        self.account(&out[start..]);
        self.compressed.finish()?;
        let diff_id = Digest::from_sha256(self.diff.finalize().as_slice());
        if diff_id != self.expected_diff_id {
            return Err(Error::DiffIdMismatch {
                expected: self.expected_diff_id,
                actual: diff_id,
            });
        }
        Ok(UnpackedLayer {
            diff_id,
            size: self.size,
        })
    }

    fn account(&mut self, produced: &[u8]) {
        self.diff.update(produced);
        self.size += produced.len() as u64;
    }

    fn decode(&mut self, chunk: &[u8], out: &mut Vec<u8>, at_end: bool) -> Result<(), Error> {
        if let Decoder::Undecided(pending) = &mut self.decoder {
            pending.extend_from_slice(chunk);
            let kind = match Compression::sniff(pending) {
                Some(kind) => kind,
                // Too short to tell even at the end: whatever it is, it is not compressed.
                None if at_end => Compression::None,
                None => return Ok(()),
            };
            let pending = std::mem::take(pending);
            self.decoder = match kind {
                Compression::None => Decoder::Plain,
                Compression::Gzip => {
                    Decoder::Gzip(Box::new(flate2::write::MultiGzDecoder::new(Vec::new())))
                }
                Compression::Zstd => Decoder::Zstd(Box::default()),
            };
            return self.decode(&pending, out, at_end);
        }
        match &mut self.decoder {
            Decoder::Undecided(_) => unreachable!("decided above"),
            Decoder::Plain => out.extend_from_slice(chunk),
            Decoder::Gzip(decoder) => {
                decoder.write_all(chunk).map_err(decompress_error)?;
                if at_end {
                    decoder.try_finish().map_err(decompress_error)?;
                }
                out.append(decoder.get_mut());
            }
            Decoder::Zstd(stream) => stream.feed(chunk, out, at_end)?,
        }
        Ok(())
    }
}

/// ruzstd's frame decoder fed from pushed chunks: it decodes whole blocks only, so compressed
/// bytes wait in `pending` until a block (at most 128 KiB) is surely complete, or the end.
struct ZstdStream {
    decoder: ruzstd::decoding::FrameDecoder,
    frame_started: bool,
    pending: Vec<u8>,
    scratch: Vec<u8>,
}

impl Default for ZstdStream {
    fn default() -> Self {
        Self {
            decoder: ruzstd::decoding::FrameDecoder::new(),
            frame_started: false,
            pending: Vec::new(),
            scratch: vec![0; 256 * 1024],
        }
    }
}

/// A block plus headers always fits in this many bytes.
const ZSTD_SAFE_INPUT: usize = 128 * 1024 + 3 + 18 + 4;

impl ZstdStream {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>, at_end: bool) -> Result<(), Error> {
        self.pending.extend_from_slice(chunk);
        loop {
            if !at_end && self.pending.len() < ZSTD_SAFE_INPUT {
                return Ok(());
            }
            if self.frame_started && self.decoder.is_finished() && self.decoder.can_collect() == 0 {
                // One frame done; streams of several frames (pzstd) go on with a fresh one.
                if self.pending.is_empty() {
                    return Ok(());
                }
                self.decoder = ruzstd::decoding::FrameDecoder::new();
                self.frame_started = false;
            }
            let (read, written) = self
                .decoder
                .decode_from_to(&self.pending, &mut self.scratch)
                .map_err(decompress_error)?;
            self.frame_started = true;
            out.extend_from_slice(&self.scratch[..written]);
            self.pending.drain(..read);
            if read == 0 && written == 0 {
                if at_end && !(self.decoder.is_finished() && self.pending.is_empty()) {
                    return Err(decompress_error(
                        "the zstd stream ends in the middle of a frame",
                    ));
                }
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn tar_bytes() -> Vec<u8> {
        // Compressible and long enough for several zstd blocks.
        (0..700_000u32)
            .map(|i| (i % 97) as u8 ^ (i / 5000) as u8)
            .collect()
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn zstd(data: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
    }

    fn unpack(
        compressed: &[u8],
        raw: &[u8],
        chunk: usize,
    ) -> Result<(Vec<u8>, UnpackedLayer), Error> {
        let mut unpacker = LayerUnpacker::new(
            Digest::of(compressed),
            compressed.len() as u64,
            Digest::of(raw),
        );
        let mut out = Vec::new();
        for piece in compressed.chunks(chunk) {
            unpacker.update(piece, &mut out)?;
        }
        let layer = unpacker.finish(&mut out)?;
        Ok((out, layer))
    }

    #[test]
    fn sniffs_compression() {
        assert_eq!(
            Compression::sniff(&[0x1f, 0x8b, 8]),
            Some(Compression::Gzip)
        );
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd]),
            Some(Compression::Zstd)
        );
        assert_eq!(Compression::sniff(b"bin/"), Some(Compression::None));
        assert_eq!(Compression::sniff(&[0x28]), None);
        assert_eq!(Compression::sniff(&[0x1f]), None);
    }

    #[test]
    fn unpacks_gzip_zstd_and_plain_in_any_chunking() {
        let raw = tar_bytes();
        let multi_member = [gzip(&raw[..300_000]), gzip(&raw[300_000..])].concat();
        let two_frames = [zstd(&raw[..400_000]), zstd(&raw[400_000..])].concat();
        for compressed in [
            gzip(&raw),
            multi_member,
            zstd(&raw),
            two_frames,
            raw.clone(),
        ] {
            for chunk in [1, 3, 4096, 65_536, 1 << 20] {
                if chunk == 1 && compressed.len() > 200_000 {
                    continue; // byte-at-a-time over the whole layer is slow and adds nothing
                }
                let (out, layer) = unpack(&compressed, &raw, chunk).unwrap();
                assert_eq!(out.len(), raw.len());
                assert!(out == raw);
                assert_eq!(
                    layer,
                    UnpackedLayer {
                        diff_id: Digest::of(&raw),
                        size: raw.len() as u64
                    }
                );
            }
        }
    }

    #[test]
    fn byte_at_a_time_small_layers() {
        let raw = b"a tiny layer".repeat(100);
        for compressed in [gzip(&raw), zstd(&raw), raw.clone()] {
            let (out, _) = unpack(&compressed, &raw, 1).unwrap();
            assert_eq!(out, raw);
        }
    }

    #[test]
    fn rejects_wrong_diff_ids_digests_and_truncation() {
        let raw = tar_bytes();
        let compressed = gzip(&raw);
        let mut unpacker = LayerUnpacker::new(
            Digest::of(&compressed),
            compressed.len() as u64,
            Digest::of(b"other"),
        );
        let mut out = Vec::new();
        unpacker.update(&compressed, &mut out).unwrap();
        assert!(matches!(
            unpacker.finish(&mut out),
            Err(Error::DiffIdMismatch { .. })
        ));

        let mut unpacker =
            LayerUnpacker::new(Digest::of(b"x"), compressed.len() as u64, Digest::of(&raw));
        unpacker.update(&compressed, &mut Vec::new()).unwrap();
        assert!(matches!(
            unpacker.finish(&mut Vec::new()),
            Err(Error::DigestMismatch { .. })
        ));

        for compressed in [gzip(&raw), zstd(&raw)] {
            let cut = &compressed[..compressed.len() / 2];
            let mut unpacker =
                LayerUnpacker::new(Digest::of(cut), cut.len() as u64, Digest::of(&raw));
            let mut out = Vec::new();
            unpacker.update(cut, &mut out).unwrap();
            assert!(unpacker.finish(&mut out).is_err());
        }

        let mut garbage = gzip(&raw);
        garbage[100] ^= 0xff;
        garbage[101] ^= 0xff;
        assert!(unpack(&garbage, &raw, 4096).is_err());
    }
}
