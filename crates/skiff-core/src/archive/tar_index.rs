//! Where each file of a tar archive is, read header by header (sans IO: the driver reads the
//! blocks [`TarIndex::poll_read`] asks for, from a `File` in the browser). PAX and GNU long
//! names are followed; the bounds of [`crate::archive::tar_limits`] hold at every header.

use std::collections::BTreeMap;

use crate::archive::push_archive::ArchiveError;
use crate::archive::tar_limits::{check_path, TarLimitError, TarLimits};

const BLOCK: u64 = 512;

/// One file in the archive: where its bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub offset: u64,
    pub size: u64,
}

/// Where the walk is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Next {
    Header,
    /// A PAX (`x`) or GNU long-name (`L`) body, naming the next entry.
    LongName {
        size: u64,
        pax: bool,
    },
    Done,
}

/// The archive's members by path, read header by header.
#[derive(Clone, Debug)]
pub struct TarIndex {
    offset: u64,
    next: Next,
    long_name: Option<String>,
    total: u64,
    members: BTreeMap<String, Member>,
}

impl TarIndex {
    /// `total`: the file's size.
    pub fn new(total: u64) -> Self {
        Self {
            offset: 0,
            next: Next::Header,
            long_name: None,
            total,
            members: BTreeMap::new(),
        }
    }

    /// The bytes to read next, `(offset, length)`; `None` when the index is complete.
    pub fn poll_read(&self) -> Option<(u64, u64)> {
        match self.next {
            Next::Header if self.offset + BLOCK <= self.total => Some((self.offset, BLOCK)),
            // No end-of-archive blocks: the last entry ended the file.
            Next::Header => None,
            Next::LongName { size, .. } => Some((self.offset, size)),
            Next::Done => None,
        }
    }

    /// The bytes asked for.
    pub fn handle_bytes(&mut self, bytes: &[u8]) -> Result<(), ArchiveError> {
        match self.next.clone() {
            Next::Header => self.header(bytes),
            Next::LongName { size, pax } => {
                let name = if pax {
                    pax_path(bytes)
                } else {
                    Some(
                        String::from_utf8_lossy(bytes)
                            .trim_end_matches('\0')
                            .to_owned(),
                    )
                };
                if name.is_some() {
                    self.long_name = name;
                }
                self.offset += padded(size);
                self.next = Next::Header;
                Ok(())
            }
            Next::Done => Ok(()),
        }
    }

    pub fn members(&self) -> &BTreeMap<String, Member> {
        &self.members
    }

    fn header(&mut self, block: &[u8]) -> Result<(), ArchiveError> {
        if block.len() != BLOCK as usize {
            return Err(ArchiveError::Truncated {
                offset: self.offset,
            });
        }
        if block.iter().all(|&b| b == 0) {
            self.next = Next::Done;
            return Ok(());
        }
        let not_tar = ArchiveError::NotTar {
            offset: self.offset,
        };
        let stored: u32 = octal(&block[148..156]).ok_or(not_tar.clone())? as u32;
        let sum: u32 = block
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    b' ' as u32
                } else {
                    b as u32
                }
            })
            .sum();
        if stored != sum {
            return Err(not_tar);
        }
        let size = octal(&block[124..136]).ok_or(not_tar)?;
        let kind = block[156];
        let data = self.offset + BLOCK;
        if data + size > self.total {
            return Err(ArchiveError::Truncated { offset: data });
        }
        let limits = TarLimits::default();
        match kind {
            b'x' | b'L' | b'g' | b'K' if size > limits.max_meta_bytes => {
                return Err(TarLimitError::MetaTooBig {
                    size,
                    limit: limits.max_meta_bytes,
                }
                .into());
            }
            b'x' | b'L' => {
                self.offset = data;
                self.next = Next::LongName {
                    size,
                    pax: kind == b'x',
                };
                return Ok(());
            }
            b'0' | 0 => {
                let name = self.long_name.take().unwrap_or_else(|| ustar_name(block));
                let path = name.trim_start_matches("./").to_owned();
                check_path(&path, &limits)?;
                if self.members.len() as u64 >= limits.max_entries {
                    return Err(TarLimitError::TooManyEntries {
                        limit: limits.max_entries,
                    }
                    .into());
                }
                self.members.insert(path, Member { offset: data, size });
            }
            _ => {
                self.long_name = None;
            }
        }
        self.offset = data + padded(size);
        Ok(())
    }
}

fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK) * BLOCK
}

/// A numeric header field: octal digits, NUL or space ended.
fn octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?;
    let digits = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(digits, 8).ok()
}

fn ustar_name(block: &[u8]) -> String {
    let field = |range: std::ops::Range<usize>| {
        let bytes = &block[range];
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        String::from_utf8_lossy(&bytes[..end]).into_owned()
    };
    let (name, prefix) = (field(0..100), field(345..500));
    if &block[257..262] == b"ustar" && !prefix.is_empty() {
        format!("{prefix}/{name}")
    } else {
        name
    }
}

/// The `path` record of a PAX body ("LEN path=VALUE\n" records, length-prefixed).
fn pax_path(mut body: &[u8]) -> Option<String> {
    while !body.is_empty() {
        let space = body.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&body[..space]).ok()?.parse().ok()?;
        let record = body.get(space + 1..len)?;
        if let Some(value) = record.strip_prefix(b"path=") {
            return Some(String::from_utf8_lossy(value.strip_suffix(b"\n")?).into_owned());
        }
        body = &body[len..];
    }
    None
}
