//! Where each file of a tar archive is, read header by header (sans IO: the driver reads the
//! blocks [`TarIndex::poll_read`] asks for, from a `File` in the browser). PAX and GNU long
//! names are followed; the bounds of [`crate::archive::tar_limits`] hold at every header.
//! Links are members too: older `docker save` stores a layer two images share once, and the
//! second image's `layer.tar` as a symlink to it (`../<id>/layer.tar`), as docker itself reads.

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
    /// A PAX (`x`) or GNU long-name (`L`) or long-link (`K`) body, naming the next entry or
    /// its link target.
    LongName {
        size: u64,
        kind: u8,
    },
    Done,
}

/// The archive's members by path, read header by header.
#[derive(Clone, Debug)]
pub struct TarIndex {
    offset: u64,
    next: Next,
    long_name: Option<String>,
    long_link: Option<String>,
    total: u64,
    members: BTreeMap<String, Member>,
    /// Symlinks and hard links: path → the path they name, from the archive's root.
    links: BTreeMap<String, String>,
}

/// Links followed one after another before a chain counts as a loop.
const MAX_LINK_HOPS: usize = 8;

impl TarIndex {
    /// `total`: the file's size.
    pub fn new(total: u64) -> Self {
        Self {
            offset: 0,
            next: Next::Header,
            long_name: None,
            long_link: None,
            total,
            members: BTreeMap::new(),
            links: BTreeMap::new(),
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
            Next::LongName { size, kind } => {
                let plain = || {
                    Some(
                        String::from_utf8_lossy(bytes)
                            .trim_end_matches('\0')
                            .to_owned(),
                    )
                };
                let (name, link) = match kind {
                    b'x' => (pax_record(bytes, "path"), pax_record(bytes, "linkpath")),
                    b'K' => (None, plain()),
                    _ => (plain(), None),
                };
                if name.is_some() {
                    self.long_name = name;
                }
                if link.is_some() {
                    self.long_link = link;
                }
                self.offset += padded(size);
                self.next = Next::Header;
                Ok(())
            }
            Next::Done => Ok(()),
        }
    }

    /// Every file by path, links included as the file they lead to (a link to nothing in the
    /// archive, or a loop, is left out: whoever names it hears it is missing).
    pub fn members(&self) -> BTreeMap<String, Member> {
        let mut members = self.members.clone();
        for link in self.links.keys() {
            let mut target = link;
            for _ in 0..MAX_LINK_HOPS {
                if let Some(member) = self.members.get(target) {
                    members.insert(link.clone(), member.clone());
                    break;
                }
                match self.links.get(target) {
                    Some(next) => target = next,
                    None => break,
                }
            }
        }
        members
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
            b'x' | b'L' | b'K' => {
                self.offset = data;
                self.next = Next::LongName { size, kind };
                return Ok(());
            }
            b'0' | 0 | b'1' | b'2' => {
                let name = self.long_name.take().unwrap_or_else(|| ustar_name(block));
                let path = name.trim_start_matches("./").to_owned();
                check_path(&path, &limits)?;
                if (self.members.len() + self.links.len()) as u64 >= limits.max_entries {
                    return Err(TarLimitError::TooManyEntries {
                        limit: limits.max_entries,
                    }
                    .into());
                }
                let link_name = self
                    .long_link
                    .take()
                    .unwrap_or_else(|| field(block, 157..257));
                match kind {
                    b'1' => {
                        self.links.insert(path, normalize("", &link_name));
                    }
                    b'2' => {
                        let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
                        let target = normalize(dir, &link_name);
                        self.links.insert(path, target);
                    }
                    _ => {
                        self.members.insert(path, Member { offset: data, size });
                    }
                }
            }
            _ => {
                self.long_name = None;
                self.long_link = None;
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

/// A NUL-ended text field of a header.
fn field(block: &[u8], range: std::ops::Range<usize>) -> String {
    let bytes = &block[range];
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// `target` as a path from the archive's root, read from the folder `dir` (a symlink's own
/// folder; the root for a hard link): `.` and `..` resolved, never above the root.
fn normalize(dir: &str, target: &str) -> String {
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        dir.split('/').filter(|p| !p.is_empty()).collect()
    };
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

fn ustar_name(block: &[u8]) -> String {
    let (name, prefix) = (field(block, 0..100), field(block, 345..500));
    if &block[257..262] == b"ustar" && !prefix.is_empty() {
        format!("{prefix}/{name}")
    } else {
        name
    }
}

/// The `key` record of a PAX body ("LEN key=VALUE\n" records, length-prefixed).
fn pax_record(mut body: &[u8], key: &str) -> Option<String> {
    let prefix = format!("{key}=");
    while !body.is_empty() {
        let space = body.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&body[..space]).ok()?.parse().ok()?;
        let record = body.get(space + 1..len)?;
        if let Some(value) = record.strip_prefix(prefix.as_bytes()) {
            return Some(String::from_utf8_lossy(value.strip_suffix(b"\n")?).into_owned());
        }
        body = &body[len..];
    }
    None
}
