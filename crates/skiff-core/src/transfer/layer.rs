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

/// Caps on what one layer may unpack to. A decompression bomb (a few MB of gzip that unpack to
/// gigabytes) is refused, with the sizes, before it fills memory or disk; real layers rarely
/// pass 20:1, and those that do (sparse files) can raise the cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UnpackLimits {
    /// Largest unpacked layer, bytes.
    pub max_unpacked_bytes: u64,
    /// Most unpacked bytes per compressed byte, once past [`RATIO_GRACE_BYTES`].
    pub max_ratio: u32,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        Self {
            max_unpacked_bytes: 64 << 30,
            max_ratio: 250,
        }
    }
}

/// Below this many unpacked bytes the ratio is not checked: a small file of zeros is no bomb.
pub const RATIO_GRACE_BYTES: u64 = 64 << 20;

/// Compressed bytes given to the gzip decoder at once: what it produces from them (at most
/// ~1032 times as much) is handed on before the next piece, so memory stays bounded.
const GZIP_INPUT_STEP: usize = 4 * 1024;

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
    limits: UnpackLimits,
}

fn decompress_error(reason: impl std::fmt::Display) -> Error {
    Error::Decompress {
        reason: reason.to_string(),
    }
}

impl LayerUnpacker {
    /// `digest` and `size` from the manifest, `diff_id` from the config.
    pub fn new(digest: Digest, size: u64, diff_id: Digest, limits: UnpackLimits) -> Self {
        Self {
            compressed: BlobVerifier::new(digest, size),
            expected_diff_id: diff_id,
            decoder: Decoder::Undecided(Vec::new()),
            diff: Sha256::new(),
            size: 0,
            limits,
        }
    }

    /// Compressed bytes seen so far.
    pub fn received(&self) -> u64 {
        self.compressed.received()
    }

    /// Feeds compressed bytes; what they decompress to goes to `sink`, in pieces of bounded
    /// size, each checked against the limits before it is handed on.
    pub fn update<E: From<Error>>(
        &mut self,
        chunk: &[u8],
        sink: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.compressed.update(chunk)?;
        self.decode(chunk, sink, false)
    }

    /// Ends the layer: flushes the decoder into `sink`, then checks the compressed digest and
    /// size, and the uncompressed digest against the config's diff ID.
    pub fn finish<E: From<Error>>(
        mut self,
        sink: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<UnpackedLayer, E> {
        self.decode(&[], sink, true)?;
        self.compressed.finish()?;
        let diff_id = Digest::from_sha256(self.diff.finalize().as_slice());
        if diff_id != self.expected_diff_id {
            return Err(Error::DiffIdMismatch {
                expected: self.expected_diff_id,
                actual: diff_id,
            }
            .into());
        }
        Ok(UnpackedLayer {
            diff_id,
            size: self.size,
        })
    }

    /// Counts and hashes a decompressed piece, refusing it past the limits.
    fn account(&mut self, produced: &[u8]) -> Result<(), Error> {
        self.size += produced.len() as u64;
        let compressed = self.compressed.received().max(1);
        let too_big = self.size > self.limits.max_unpacked_bytes;
        let ratio_limit = u64::from(self.limits.max_ratio).saturating_mul(compressed);
        if too_big || (self.size > RATIO_GRACE_BYTES && self.size > ratio_limit) {
            return Err(Error::UnpackLimit {
                unpacked: self.size,
                compressed,
                limits: self.limits,
            });
        }
        self.diff.update(produced);
        Ok(())
    }

    fn emit<E: From<Error>>(
        &mut self,
        produced: &[u8],
        sink: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        if produced.is_empty() {
            return Ok(());
        }
        self.account(produced)?;
        sink(produced)
    }

    fn decode<E: From<Error>>(
        &mut self,
        chunk: &[u8],
        sink: &mut impl FnMut(&[u8]) -> Result<(), E>,
        at_end: bool,
    ) -> Result<(), E> {
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
            return self.decode(&pending, sink, at_end);
        }
        match &mut self.decoder {
            Decoder::Undecided(_) => unreachable!("decided above"),
            Decoder::Plain => self.emit(chunk, sink),
            Decoder::Gzip(_) => self.decode_gzip(chunk, sink, at_end),
            Decoder::Zstd(_) => {
                let Decoder::Zstd(mut stream) =
                    std::mem::replace(&mut self.decoder, Decoder::Plain)
                else {
                    unreachable!("matched above")
                };
                let result = stream.feed(chunk, at_end, &mut |piece: &[u8]| self.emit(piece, sink));
                self.decoder = Decoder::Zstd(stream);
                result
            }
        }
    }

    fn decode_gzip<E: From<Error>>(
        &mut self,
        chunk: &[u8],
        sink: &mut impl FnMut(&[u8]) -> Result<(), E>,
        at_end: bool,
    ) -> Result<(), E> {
        let mut out = Vec::new();
        for piece in chunk.chunks(GZIP_INPUT_STEP) {
            if let Decoder::Gzip(decoder) = &mut self.decoder {
                decoder.write_all(piece).map_err(decompress_error)?;
                std::mem::swap(decoder.get_mut(), &mut out);
            }
            self.emit(&out, sink)?;
            out.clear();
        }
        if at_end {
            if let Decoder::Gzip(decoder) = &mut self.decoder {
                decoder.try_finish().map_err(decompress_error)?;
                std::mem::swap(decoder.get_mut(), &mut out);
            }
            self.emit(&out, sink)?;
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
    fn feed<E: From<Error>>(
        &mut self,
        chunk: &[u8],
        at_end: bool,
        sink: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
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
            sink(&self.scratch[..written])?;
            self.pending.drain(..read);
            if read == 0 && written == 0 {
                if at_end && !(self.decoder.is_finished() && self.pending.is_empty()) {
                    return Err(
                        decompress_error("the zstd stream ends in the middle of a frame").into(),
                    );
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
            UnpackLimits::default(),
        );
        let mut out = Vec::new();
        let mut sink = collect(&mut out);
        for piece in compressed.chunks(chunk) {
            unpacker.update(piece, &mut sink)?;
        }
        let layer = unpacker.finish(&mut sink)?;
        drop(sink);
        Ok((out, layer))
    }

    fn collect(out: &mut Vec<u8>) -> impl FnMut(&[u8]) -> Result<(), Error> + '_ {
        |piece: &[u8]| {
            out.extend_from_slice(piece);
            Ok(())
        }
    }

    fn discard(_: &[u8]) -> Result<(), Error> {
        Ok(())
    }

    #[test]
    fn bombs_are_refused_in_bounded_pieces() {
        // 160 MiB of zeros: ~160 KB of gzip, ~1000:1.
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..160 {
            encoder.write_all(&zeros).unwrap();
        }
        let bomb = encoder.finish().unwrap();
        let table = [
            (UnpackLimits::default(), "times its compressed size"),
            (
                UnpackLimits {
                    max_unpacked_bytes: 100 << 20,
                    max_ratio: 10_000,
                },
                "more than 0.1 GiB",
            ),
        ];
        for (limits, said) in table {
            let mut unpacker = LayerUnpacker::new(
                Digest::of(&bomb),
                bomb.len() as u64,
                Digest::of(b"unknown"),
                limits,
            );
            let mut largest = 0;
            let mut sink = |piece: &[u8]| {
                largest = largest.max(piece.len());
                Ok::<(), Error>(())
            };
            let error = unpacker.update(&bomb, &mut sink).unwrap_err();
            assert!(matches!(error, Error::UnpackLimit { .. }), "{error}");
            assert!(error.to_string().contains(said), "{error}");
            assert!(largest <= 8 << 20, "a piece of {largest} bytes");
        }
        // Raised limits let it through (it is only zeros), still in bounded pieces.
        let raw_digest = {
            let mut hasher = Sha256::new();
            for _ in 0..160 {
                hasher.update(&zeros);
            }
            Digest::from_sha256(hasher.finalize().as_slice())
        };
        let mut unpacker = LayerUnpacker::new(
            Digest::of(&bomb),
            bomb.len() as u64,
            raw_digest,
            UnpackLimits {
                max_unpacked_bytes: 1 << 30,
                max_ratio: 2000,
            },
        );
        let mut largest = 0;
        let mut sink = |piece: &[u8]| {
            largest = largest.max(piece.len());
            Ok::<(), Error>(())
        };
        unpacker.update(&bomb, &mut sink).unwrap();
        assert_eq!(unpacker.finish(&mut sink).unwrap().size, 160 << 20);
        assert!(largest <= 8 << 20, "a piece of {largest} bytes");
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
        let limits = UnpackLimits::default();
        let mut unpacker = LayerUnpacker::new(
            Digest::of(&compressed),
            compressed.len() as u64,
            Digest::of(b"other"),
            limits,
        );
        unpacker.update(&compressed, &mut discard).unwrap();
        assert!(matches!(
            unpacker.finish(&mut discard),
            Err(Error::DiffIdMismatch { .. })
        ));

        let mut unpacker = LayerUnpacker::new(
            Digest::of(b"x"),
            compressed.len() as u64,
            Digest::of(&raw),
            limits,
        );
        unpacker.update(&compressed, &mut discard).unwrap();
        assert!(matches!(
            unpacker.finish(&mut discard),
            Err(Error::DigestMismatch { .. })
        ));

        for compressed in [gzip(&raw), zstd(&raw)] {
            let cut = &compressed[..compressed.len() / 2];
            let mut unpacker =
                LayerUnpacker::new(Digest::of(cut), cut.len() as u64, Digest::of(&raw), limits);
            unpacker.update(cut, &mut discard).unwrap();
            assert!(unpacker.finish(&mut discard).is_err());
        }

        let mut garbage = gzip(&raw);
        garbage[100] ^= 0xff;
        garbage[101] ^= 0xff;
        assert!(unpack(&garbage, &raw, 4096).is_err());
    }
}
