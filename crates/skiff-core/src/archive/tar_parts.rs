//! A tar writer shaped like tar-rs's `Builder`, except that it writes no blob bytes: it returns
//! the archive as a list of [`Part`]s, small byte runs (headers, padding, JSON files) and
//! references to blobs the driver has staged elsewhere (OPFS files in the browser). The driver
//! then assembles the archive without copying a layer into one big buffer.

use crate::archive::tar_header::{encode, padding, EntryHeader};
use crate::{Digest, Error};

const BLOCK: u64 = 512;

/// One piece of the archive, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    Bytes(Vec<u8>),
    /// The whole content of a verified blob, exactly `size` bytes.
    Blob {
        digest: Digest,
        size: u64,
    },
}

impl Part {
    pub fn len(&self) -> u64 {
        match self {
            Self::Bytes(bytes) => bytes.len() as u64,
            Self::Blob { size, .. } => *size,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Builds a ustar archive as [`Part`]s. Entries are owned by root, dated `mtime`.
pub struct TarBuilder {
    parts: Vec<Part>,
    mtime: u64,
}

impl TarBuilder {
    /// `mtime` is passed in (seconds since the epoch) because the core has no clock.
    pub fn new(mtime: u64) -> Self {
        Self {
            parts: Vec::new(),
            mtime,
        }
    }

    pub fn append_dir(&mut self, path: &str) -> Result<(), Error> {
        let header = self.header(path, 0, tar::EntryType::Directory, 0o755)?;
        self.push_bytes(header);
        Ok(())
    }

    pub fn append_data(&mut self, path: &str, data: &[u8]) -> Result<(), Error> {
        let header = self.header(path, data.len() as u64, tar::EntryType::Regular, 0o644)?;
        self.push_bytes(header);
        self.push_bytes(data.to_vec());
        self.push_padding(data.len() as u64);
        Ok(())
    }

    /// A file whose content is the blob `digest` of `size` bytes, supplied later by the driver.
    pub fn append_blob(&mut self, path: &str, digest: &Digest, size: u64) -> Result<(), Error> {
        // The whole archive's length must stay countable: a hostile manifest can claim any size.
        size.checked_next_multiple_of(BLOCK)
            .and_then(|padded| padded.checked_add(BLOCK * 3))
            .and_then(|entry| entry.checked_add(total_len(&self.parts).ok()?))
            .ok_or(Error::SizeOverflow {
                what: "archive length",
            })?;
        let header = self.header(path, size, tar::EntryType::Regular, 0o644)?;
        self.push_bytes(header);
        if size > 0 {
            self.parts.push(Part::Blob {
                digest: digest.clone(),
                size,
            });
        }
        self.push_padding(size);
        Ok(())
    }

    /// Ends the archive with its two zero blocks and returns the parts.
    pub fn finish(mut self) -> Vec<Part> {
        self.push_bytes(vec![0; 2 * BLOCK as usize]);
        self.parts
    }

    fn header(
        &self,
        path: &str,
        size: u64,
        kind: tar::EntryType,
        mode: u32,
    ) -> Result<Vec<u8>, Error> {
        // Every name is one the archive layout chose: plain relative components only, so a
        // reader never has to resolve `.` or `..` (tar-rs, for one, drops a trailing `.`).
        let plain = path
            .trim_end_matches('/')
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..");
        if !plain {
            return Err(Error::InvalidArchivePath {
                path: path.to_owned(),
                reason: "an empty, `.` or `..` component".to_owned(),
            });
        }
        // The layout's own names are short; one that is not is a bug, not a name to extend.
        if path.len() > 100 {
            return Err(Error::InvalidArchivePath {
                path: path.to_owned(),
                reason: "longer than the 100 bytes a tar header's name holds".to_owned(),
            });
        }
        let header = EntryHeader {
            path,
            kind,
            size,
            mode,
            uid: 0,
            gid: 0,
            mtime: self.mtime,
            link: None,
            device: None,
        };
        encode(&header).map_err(|e| Error::InvalidArchivePath {
            path: path.to_owned(),
            reason: e.to_string(),
        })
    }

    fn push_padding(&mut self, size: u64) {
        let padding = padding(size);
        if !padding.is_empty() {
            self.push_bytes(padding.to_vec());
        }
    }

    /// Adjacent byte runs are merged so the driver handles few, larger parts.
    fn push_bytes(&mut self, bytes: Vec<u8>) {
        if let Some(Part::Bytes(last)) = self.parts.last_mut() {
            last.extend_from_slice(&bytes);
        } else {
            self.parts.push(Part::Bytes(bytes));
        }
    }
}

/// Total archive size; an error if it does not fit in 64 bits.
pub fn total_len(parts: &[Part]) -> Result<u64, Error> {
    parts
        .iter()
        .try_fold(0u64, |sum, part| sum.checked_add(part.len()))
        .ok_or(Error::SizeOverflow {
            what: "archive length",
        })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;
    use std::io::Read;

    use super::*;

    /// Concatenates parts the way a driver does, taking blob bytes from `blobs`.
    pub(crate) fn assemble(parts: &[Part], blobs: &HashMap<Digest, Vec<u8>>) -> Vec<u8> {
        let mut out = Vec::new();
        for part in parts {
            match part {
                Part::Bytes(bytes) => out.extend_from_slice(bytes),
                Part::Blob { digest, size } => {
                    let blob = &blobs[digest];
                    assert_eq!(blob.len() as u64, *size);
                    out.extend_from_slice(blob);
                }
            }
        }
        out
    }

    pub(crate) fn read_entries(archive: &[u8]) -> Vec<(String, tar::EntryType, Vec<u8>)> {
        let mut reader = tar::Archive::new(archive);
        reader
            .entries()
            .unwrap()
            .map(|entry| {
                let mut entry = entry.unwrap();
                let path = entry.path().unwrap().to_string_lossy().into_owned();
                let kind = entry.header().entry_type();
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                (path, kind, data)
            })
            .collect()
    }

    #[test]
    fn parts_concatenate_to_a_valid_tar() {
        let blob_a: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let blob_b = vec![7u8; 512];
        let blobs: HashMap<Digest, Vec<u8>> = [blob_a.clone(), blob_b.clone()]
            .into_iter()
            .map(|b| (Digest::of(&b), b))
            .collect();

        let mut builder = TarBuilder::new(1_700_000_000);
        builder.append_dir("blobs/").unwrap();
        builder
            .append_blob("blobs/a", &Digest::of(&blob_a), 1000)
            .unwrap();
        builder
            .append_blob("blobs/b", &Digest::of(&blob_b), 512)
            .unwrap();
        builder.append_blob("empty", &Digest::of(b""), 0).unwrap();
        builder.append_data("manifest.json", b"[]").unwrap();
        let parts = builder.finish();

        // Blobs stay out of the byte parts: headers and padding only around them.
        assert_eq!(
            parts
                .iter()
                .filter(|p| matches!(p, Part::Blob { .. }))
                .count(),
            2
        );
        let byte_total: u64 = parts
            .iter()
            .filter(|p| matches!(p, Part::Bytes(_)))
            .map(Part::len)
            .sum();
        // 5 headers, 24 bytes padding after `a`, one block for `[]`, two end blocks.
        assert_eq!(byte_total, 5 * 512 + 24 + 512 + 2 * 512);

        let archive = assemble(&parts, &blobs);
        assert_eq!(archive.len() as u64, total_len(&parts).unwrap());
        assert_eq!(archive.len() % 512, 0);
        let entries = read_entries(&archive);
        let names: Vec<&str> = entries.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["blobs/", "blobs/a", "blobs/b", "empty", "manifest.json"]
        );
        assert_eq!(entries[0].1, tar::EntryType::Directory);
        assert_eq!(entries[1].2, blob_a);
        assert_eq!(entries[2].2, blob_b);
        assert!(entries[3].2.is_empty());
        assert_eq!(entries[4].2, b"[]");
    }

    #[test]
    fn refuses_paths_tar_cannot_hold() {
        let mut builder = TarBuilder::new(0);
        let long = "x".repeat(300);
        assert!(matches!(
            builder.append_data(&long, b""),
            Err(Error::InvalidArchivePath { .. })
        ));
    }

    #[test]
    fn refuses_sizes_that_overflow_the_archive_length() {
        let digest = Digest::of(b"x");
        let mut builder = TarBuilder::new(0);
        builder.append_blob("a", &digest, u64::MAX / 2).unwrap();
        assert!(matches!(
            builder.append_blob("b", &digest, u64::MAX / 2),
            Err(Error::SizeOverflow { .. })
        ));
        let mut alone = TarBuilder::new(0);
        assert!(matches!(
            alone.append_blob("c", &digest, u64::MAX - 100),
            Err(Error::SizeOverflow { .. })
        ));
        let parts = vec![
            Part::Blob {
                digest: digest.clone(),
                size: u64::MAX,
            },
            Part::Blob { digest, size: 1 },
        ];
        assert!(total_len(&parts).is_err());
    }
}
