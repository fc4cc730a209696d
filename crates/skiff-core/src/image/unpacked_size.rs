//! How much a compressed layer takes once decompressed, from the few bytes that say so: a gzip
//! member's trailer (ISIZE, the size modulo 2³²) or a zstd frame's header (Frame_Content_Size,
//! when the encoder wrote it). Used to check the browser's quota before an uncompressed pull;
//! the driver fetches those bytes with a `Range` request ([`SizeProbe::range`]).

use crate::transfer::layer::Compression;

/// Which bytes of a blob tell its uncompressed size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeProbe {
    /// The last 4 bytes (gzip's ISIZE).
    GzipTrailer,
    /// The first 18 bytes (zstd's magic, frame header descriptor and the fields after it).
    ZstdHeader,
}

impl SizeProbe {
    /// For a layer of `compression` (`None`: a plain tar, whose size is its own).
    pub fn for_compression(compression: Compression) -> Option<Self> {
        match compression {
            Compression::Gzip => Some(Self::GzipTrailer),
            Compression::Zstd => Some(Self::ZstdHeader),
            Compression::None => None,
        }
    }

    /// The telling bytes of a blob of `size` bytes: first and last offset, inclusive.
    pub fn span(self, size: u64) -> Option<(u64, u64)> {
        match self {
            Self::GzipTrailer if size >= 18 => Some((size - 4, size - 1)),
            Self::ZstdHeader if size >= 6 => Some((0, size.min(18) - 1)),
            _ => None,
        }
    }

    /// The `Range` header value that fetches the telling bytes of a blob of `size` bytes.
    pub fn range(self, size: u64) -> Option<String> {
        self.span(size)
            .map(|(first, last)| format!("bytes={first}-{last}"))
    }

    /// The uncompressed size the probed bytes tell, at least. `None` when they tell nothing
    /// (a zstd frame without its content size, bytes that are not what was asked for); the
    /// caller then counts the compressed size.
    pub fn read(self, compressed_size: u64, bytes: &[u8]) -> Option<u64> {
        match self {
            Self::GzipTrailer => {
                let trailer: [u8; 4] = bytes.try_into().ok()?;
                Some(gzip_size(compressed_size, u32::from_le_bytes(trailer)))
            }
            Self::ZstdHeader => zstd_content_size(bytes),
        }
    }
}

/// The smallest size that has `isize` as its remainder modulo 2³² and that deflate could have
/// produced `compressed_size` bytes from: deflate adds at most 5 bytes per 16 KiB block
/// (stored blocks), plus gzip's header and trailer. Exact for layers under 4 GiB.
fn gzip_size(compressed_size: u64, isize: u32) -> u64 {
    const WRAP: u64 = 1 << 32;
    let overhead = compressed_size / 16_384 * 5 + 64;
    let least = compressed_size.saturating_sub(overhead);
    let isize = u64::from(isize);
    if isize >= least {
        return isize;
    }
    let wraps = (least - isize).div_ceil(WRAP);
    isize.saturating_add(wraps.saturating_mul(WRAP))
}

/// Frame_Content_Size of the first zstd frame, if its header carries one (RFC 8878 §3.1.1.1).
fn zstd_content_size(bytes: &[u8]) -> Option<u64> {
    let (magic, rest) = bytes.split_first_chunk::<4>()?;
    if *magic != [0x28, 0xb5, 0x2f, 0xfd] {
        return None;
    }
    let (&descriptor, mut rest) = rest.split_first()?;
    let fcs_flag = descriptor >> 6;
    let single_segment = descriptor & 0x20 != 0;
    let dictionary_id_size = [0, 1, 2, 4][usize::from(descriptor & 0x03)];
    if !single_segment {
        rest = rest.get(1..)?; // Window_Descriptor
    }
    rest = rest.get(dictionary_id_size..)?;
    let fcs_size = match (fcs_flag, single_segment) {
        (0, false) => return None,
        (0, true) => 1,
        (1, _) => 2,
        (2, _) => 4,
        _ => 8,
    };
    let field = rest.get(..fcs_size)?;
    let mut value = [0u8; 8];
    value[..fcs_size].copy_from_slice(field);
    let value = u64::from_le_bytes(value);
    Some(if fcs_size == 2 { value + 256 } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn reads_gzip_trailers_of_real_streams() {
        let cases: Vec<Vec<u8>> = vec![
            vec![0; 1_000_000],
            (0..200_000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
            b"tiny".to_vec(),
        ];
        for data in cases {
            let compressed = gzip(&data);
            let size = compressed.len() as u64;
            let probe = SizeProbe::GzipTrailer;
            let range = probe.range(size).unwrap();
            assert_eq!(range, format!("bytes={}-{}", size - 4, size - 1));
            let tail = &compressed[compressed.len() - 4..];
            assert_eq!(probe.read(size, tail), Some(data.len() as u64));
        }
    }

    #[test]
    fn gzip_sizes_past_4_gib_wrap_to_the_least_consistent_size() {
        let table: &[(u64, u32, u64)] = &[
            // (compressed size, ISIZE, uncompressed at least)
            (1_000, 5_000, 5_000),
            // 5 GiB of incompressible data: ISIZE wrapped once.
            (
                5 << 30,
                (1u32 << 30) + 100,
                (5 << 30) + 100 - (4 << 30) + (4 << 30),
            ),
            // A huge compressed size with a small ISIZE can only have wrapped.
            (8 << 30, 7, (2u64 << 32) + 7),
        ];
        for (compressed, isize, expected) in table {
            assert_eq!(
                gzip_size(*compressed, *isize),
                *expected,
                "{compressed} {isize}"
            );
        }
        assert_eq!(SizeProbe::GzipTrailer.read(100, &[1, 2, 3]), None);
        assert_eq!(SizeProbe::GzipTrailer.range(10), None);
    }

    #[test]
    fn reads_zstd_frame_content_sizes() {
        // A streaming encoder does not know the size: ruzstd (like `zstd` reading a pipe)
        // writes none, and the caller counts the compressed size instead.
        let streamed = ruzstd::encoding::compress_to_vec(
            [7u8; 100].as_slice(),
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let head = &streamed[..streamed.len().min(18)];
        assert_eq!(
            SizeProbe::ZstdHeader.read(streamed.len() as u64, head),
            None
        );
        let table: &[(&[u8], Option<u64>)] = &[
            // `zstd FILE` of 70 000 and of 300 zero bytes (4-byte and 2-byte sizes).
            (
                &[0x28, 0xb5, 0x2f, 0xfd, 0xa4, 0x70, 0x11, 0x01, 0x00, 0x55],
                Some(70_000),
            ),
            (
                &[0x28, 0xb5, 0x2f, 0xfd, 0x64, 0x2c, 0x00, 0x4d, 0x00],
                Some(300),
            ),
            // Single segment, 1-byte size.
            (&[0x28, 0xb5, 0x2f, 0xfd, 0x20, 42], Some(42)),
            // 2-byte size, with a window descriptor: value + 256.
            (
                &[0x28, 0xb5, 0x2f, 0xfd, 0x40, 0x58, 0x10, 0x00],
                Some(256 + 16),
            ),
            // No content size in the header.
            (&[0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58], None),
            // Not zstd, or cut short.
            (b"\x1f\x8b\x08\x00\x00\x00", None),
            (&[0x28, 0xb5, 0x2f, 0xfd, 0xc0, 0x58, 1, 2], None),
        ];
        for (bytes, expected) in table {
            assert_eq!(
                SizeProbe::ZstdHeader.read(1000, bytes),
                *expected,
                "{bytes:02x?}"
            );
        }
    }
}
