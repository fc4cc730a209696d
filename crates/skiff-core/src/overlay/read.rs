//! Reading a layer entry by entry from any `Read` (an OPFS file in a worker, a byte slice in
//! tests): its compression is told from its first bytes, long names (PAX, GNU) are followed,
//! and each entry's content can be read or skipped.

use std::io::{self, BufRead, BufReader, Read};

use super::entry::{normalize, Change, Entry, Kind};
use super::OverlayError;
use crate::archive::tar_limits::{check_path, GuardedRead, TarLimitError, TarLimits};
use crate::transfer::layer::Compression;

/// Whether to go on reading the layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// A layer's bytes, decompressed if they are gzip or zstd.
pub fn decompressed<'a>(reader: impl Read + 'a) -> io::Result<Box<dyn Read + 'a>> {
    let mut reader = BufReader::with_capacity(256 * 1024, reader);
    let start = reader.fill_buf()?;
    Ok(
        match Compression::sniff(start).unwrap_or(Compression::None) {
            Compression::None => Box::new(reader),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
            Compression::Zstd => Box::new(
                ruzstd::decoding::StreamingDecoder::new(reader)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?,
            ),
        },
    )
}

/// Calls `visit` with each entry of layer number `layer` (its position in the image, for
/// messages), the entry's ordinal in the layer, and a reader of its content.
pub fn for_each_entry(
    layer: usize,
    bytes: impl Read,
    mut visit: impl FnMut(Change, usize, &mut dyn Read) -> Result<Flow, OverlayError>,
) -> Result<(), OverlayError> {
    let damaged = |e: io::Error| match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<TarLimitError>())
    {
        Some(limit) => OverlayError::Limit {
            layer,
            source: limit.clone(),
        },
        None => OverlayError::Damaged {
            layer,
            detail: e.to_string(),
        },
    };
    let guarded = GuardedRead::new(decompressed(bytes).map_err(damaged)?, TarLimits::default());
    let mut archive = tar::Archive::new(guarded);
    for (ordinal, item) in archive.entries().map_err(damaged)?.enumerate() {
        let mut item = item.map_err(damaged)?;
        let Some(entry) = entry_of(layer, &item)? else {
            continue;
        };
        if visit(Change::of(entry), ordinal, &mut item)? == Flow::Stop {
            break;
        }
    }
    Ok(())
}

/// The entry a tar header describes; `None` for the root directory itself.
fn entry_of<R: Read>(layer: usize, item: &tar::Entry<R>) -> Result<Option<Entry>, OverlayError> {
    let raw_path = String::from_utf8_lossy(&item.path_bytes()).into_owned();
    check_path(&raw_path, &TarLimits::default())
        .map_err(|source| OverlayError::Limit { layer, source })?;
    let unsafe_path = |reason| OverlayError::UnsafePath {
        layer,
        path: raw_path.clone(),
        reason,
    };
    let path = normalize(&raw_path).map_err(unsafe_path)?;
    if path.is_empty() {
        return Ok(None);
    }
    let header = item.header();
    let type_byte = header.entry_type();
    let kind = match type_byte {
        tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
        t if t.as_byte() == 0 => Kind::File,
        tar::EntryType::Directory => Kind::Dir,
        tar::EntryType::Symlink => Kind::Symlink,
        tar::EntryType::Link => Kind::HardLink,
        tar::EntryType::Char => Kind::CharDevice,
        tar::EntryType::Block => Kind::BlockDevice,
        tar::EntryType::Fifo => Kind::Fifo,
        other => {
            return Err(OverlayError::UnknownType {
                layer,
                path,
                type_byte: other.as_byte() as char,
            })
        }
    };
    let raw_link = item
        .link_name_bytes()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    if let Some(target) = &raw_link {
        check_path(target, &TarLimits::default())
            .map_err(|source| OverlayError::Limit { layer, source })?;
    }
    let link = match (kind, raw_link) {
        (Kind::HardLink, Some(target)) => Some(normalize(&target).map_err(unsafe_path)?),
        (Kind::Symlink, Some(target)) => Some(target),
        _ => None,
    };
    let device = match kind {
        Kind::CharDevice | Kind::BlockDevice => Some((
            header.device_major().ok().flatten().unwrap_or(0),
            header.device_minor().ok().flatten().unwrap_or(0),
        )),
        _ => None,
    };
    Ok(Some(Entry {
        path,
        kind,
        size: if kind == Kind::File { item.size() } else { 0 },
        mode: header.mode().unwrap_or(0o644) & 0o7777,
        uid: header.uid().unwrap_or(0),
        gid: header.gid().unwrap_or(0),
        mtime: header.mtime().unwrap_or(0),
        link,
        device,
    }))
}

/// Every change a layer makes, in order, without reading any content.
pub fn list(layer: usize, bytes: impl Read) -> Result<Vec<(usize, Change)>, OverlayError> {
    let mut changes = Vec::new();
    for_each_entry(layer, bytes, |change, ordinal, _| {
        changes.push((ordinal, change));
        Ok(Flow::Continue)
    })?;
    Ok(changes)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A layer tar built with the `tar` crate: (path, kind, content or link target).
    pub fn layer(entries: &[(&str, Kind, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for &(path, kind, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_mode(if kind == Kind::Dir { 0o755 } else { 0o644 });
            header.set_mtime(1_700_000_000);
            let (entry_type, content): (_, &[u8]) = match kind {
                Kind::File => (tar::EntryType::Regular, data.as_bytes()),
                Kind::Dir => (tar::EntryType::Directory, b""),
                Kind::Symlink => (tar::EntryType::Symlink, b""),
                Kind::HardLink => (tar::EntryType::Link, b""),
                Kind::CharDevice => (tar::EntryType::Char, b""),
                Kind::BlockDevice => (tar::EntryType::Block, b""),
                Kind::Fifo => (tar::EntryType::Fifo, b""),
            };
            header.set_entry_type(entry_type);
            header.set_size(content.len() as u64);
            if matches!(kind, Kind::Symlink | Kind::HardLink) {
                builder.append_link(&mut header, path, data).unwrap();
            } else {
                builder.append_data(&mut header, path, content).unwrap();
            }
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn lists_plain_gzip_and_zstd_layers_alike() {
        let long = format!("deep/{}/{}", "d".repeat(120), "f".repeat(150));
        let tar = layer(&[
            ("./etc/", Kind::Dir, ""),
            ("./etc/passwd", Kind::File, "root:x:0:0"),
            ("./etc/.wh.shadow", Kind::File, ""),
            ("./bin/sh", Kind::Symlink, "busybox"),
            ("./bin/ash", Kind::HardLink, "./etc/passwd"),
            (&long, Kind::File, "x"),
        ]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let gz = gz.finish().unwrap();
        let zst = ruzstd::encoding::compress_to_vec(
            &tar[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        for bytes in [tar.clone(), gz, zst] {
            let changes = list(1, &bytes[..]).unwrap();
            let paths: Vec<String> = changes
                .iter()
                .map(|(_, c)| match c {
                    Change::Add(e) => format!("{:?} {} {:?} {}", e.kind, e.path, e.link, e.size),
                    other => format!("{other:?}"),
                })
                .collect();
            assert_eq!(
                paths,
                [
                    "Dir etc None 0".to_owned(),
                    "File etc/passwd None 10".to_owned(),
                    "Whiteout(\"etc/shadow\")".to_owned(),
                    "Symlink bin/sh Some(\"busybox\") 0".to_owned(),
                    "HardLink bin/ash Some(\"etc/passwd\") 0".to_owned(),
                    format!("File {long} None 1"),
                ]
            );
        }
    }

    #[test]
    fn escaping_paths_and_damaged_streams_are_typed_errors() {
        let tar = layer(&[("ok", Kind::File, "1")]);
        let mut escaping = tar.clone();
        // Rewrite the name in the header to climb out of the root.
        escaping[..5].copy_from_slice(b"../ok");
        let sum: u32 = escaping[..512]
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u32::from(*b)
                }
            })
            .sum();
        escaping[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        assert!(matches!(
            list(2, &escaping[..]),
            Err(OverlayError::UnsafePath { layer: 2, .. })
        ));
        let mut damaged = tar.clone();
        damaged[148] = b'9';
        assert!(matches!(
            list(3, &damaged[..]),
            Err(OverlayError::Damaged { layer: 3, .. })
        ));
    }
}
