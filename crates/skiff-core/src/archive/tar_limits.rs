//! Bounds on a tar stream from someone else: a hostile layer or archive can hold a "long name"
//! of gigabytes (a PAX or GNU `L` record, which a tar reader keeps in memory whole), a path
//! thousands of directories deep (whose implied parents grow quadratically), or millions of
//! entries. [`TarGuard`] watches the bytes as they stream past a tar reader, header by header
//! (sans IO), and refuses what is too big before the reader buffers it. [`check_path`] bounds
//! one entry's path.

use std::io::{self, Read};

/// The caps: generous for any real image, far below what hurts a browser tab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TarLimits {
    /// A PAX record set or GNU long name/link body, bytes.
    pub max_meta_bytes: u64,
    /// Entries in one tar stream.
    pub max_entries: u64,
    /// One path, bytes (Linux's `PATH_MAX`).
    pub max_path_bytes: usize,
    /// Components in one path.
    pub max_path_depth: usize,
}

impl Default for TarLimits {
    fn default() -> Self {
        Self {
            max_meta_bytes: 1 << 20,
            max_entries: 1_000_000,
            max_path_bytes: 4096,
            max_path_depth: 256,
        }
    }
}

/// What was too big, said so that the user knows what the archive holds.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TarLimitError {
    #[error("an entry's long name or PAX record is {size} bytes, more than the {limit} any real archive needs; the archive is built to exhaust its readers and Skiff will not read it")]
    MetaTooBig { size: u64, limit: u64 },
    #[error("the archive has more than {limit} entries; Skiff reads at most that many from one layer or archive")]
    TooManyEntries { limit: u64 },
    #[error(
        "a path is {length} bytes long, more than the {limit} a Linux path may have: {start:?}…"
    )]
    PathTooLong {
        length: usize,
        limit: usize,
        start: String,
    },
    #[error("a path is {depth} directories deep, more than the {limit} Skiff reads: {start:?}…")]
    PathTooDeep {
        depth: usize,
        limit: usize,
        start: String,
    },
}

/// An entry's path within the limits.
pub fn check_path(path: &str, limits: &TarLimits) -> Result<(), TarLimitError> {
    let start = || path.chars().take(60).collect::<String>();
    if path.len() > limits.max_path_bytes {
        return Err(TarLimitError::PathTooLong {
            length: path.len(),
            limit: limits.max_path_bytes,
            start: start(),
        });
    }
    let depth = path.split('/').filter(|part| !part.is_empty()).count();
    if depth > limits.max_path_depth {
        return Err(TarLimitError::PathTooDeep {
            depth,
            limit: limits.max_path_depth,
            start: start(),
        });
    }
    Ok(())
}

const BLOCK: usize = 512;

#[derive(Debug)]
enum State {
    /// Gathering a 512-byte header.
    Header(Vec<u8>),
    /// Passing an entry's data (and its padding) by.
    Data { remaining: u64 },
    /// Reading a PAX body (kept: its `size` record says how long the next entry's data is).
    Pax { remaining: u64, body: Vec<u8> },
}

/// Follows a tar stream's structure as its bytes pass, refusing oversized metadata and too many
/// entries. It reads what a tar reader reads, in the same order, so its refusal comes before
/// the reader buffers the oversized record.
#[derive(Debug)]
pub struct TarGuard {
    limits: TarLimits,
    state: State,
    entries: u64,
    /// The size a PAX record gave the next entry.
    pax_size: Option<u64>,
}

impl TarGuard {
    pub fn new(limits: TarLimits) -> Self {
        Self {
            limits,
            state: State::Header(Vec::with_capacity(BLOCK)),
            entries: 0,
            pax_size: None,
        }
    }

    /// The next bytes of the stream.
    pub fn handle_bytes(&mut self, mut bytes: &[u8]) -> Result<(), TarLimitError> {
        while !bytes.is_empty() {
            match &mut self.state {
                State::Header(header) => {
                    let take = (BLOCK - header.len()).min(bytes.len());
                    header.extend_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    if header.len() == BLOCK {
                        let header = std::mem::take(header);
                        self.header(&header)?;
                    }
                }
                State::Data { remaining } => {
                    let take = (*remaining).min(bytes.len() as u64);
                    *remaining -= take;
                    bytes = &bytes[take as usize..];
                    if *remaining == 0 {
                        self.state = State::Header(Vec::with_capacity(BLOCK));
                    }
                }
                State::Pax { remaining, body } => {
                    let take = (*remaining).min(bytes.len() as u64) as usize;
                    body.extend_from_slice(&bytes[..take]);
                    *remaining -= take as u64;
                    bytes = &bytes[take..];
                    if *remaining == 0 {
                        self.pax_size = pax_size(body);
                        self.state = State::Header(Vec::with_capacity(BLOCK));
                    }
                }
            }
        }
        Ok(())
    }

    fn header(&mut self, block: &[u8]) -> Result<(), TarLimitError> {
        if block.iter().all(|&b| b == 0) {
            // An end block (the second one ends the archive; a reader stops at either).
            self.state = State::Header(Vec::with_capacity(BLOCK));
            return Ok(());
        }
        let kind = block[156];
        let header_size = numeric(&block[124..136]).unwrap_or(0);
        let meta = matches!(kind, b'x' | b'g' | b'L' | b'K');
        let size = if meta {
            header_size
        } else {
            self.pax_size.take().unwrap_or(header_size)
        };
        if meta && size > self.limits.max_meta_bytes {
            return Err(TarLimitError::MetaTooBig {
                size,
                limit: self.limits.max_meta_bytes,
            });
        }
        if !meta {
            self.entries += 1;
            if self.entries > self.limits.max_entries {
                return Err(TarLimitError::TooManyEntries {
                    limit: self.limits.max_entries,
                });
            }
        }
        let padded = size.div_ceil(BLOCK as u64) * BLOCK as u64;
        // Every entry's data is skipped by its size, whatever its type, as tar readers do.
        self.state = match (kind, padded > 0) {
            (b'x', true) => State::Pax {
                remaining: padded,
                body: Vec::new(),
            },
            (_, true) => State::Data { remaining: padded },
            (_, false) => State::Header(Vec::with_capacity(BLOCK)),
        };
        Ok(())
    }
}

/// A numeric header field: octal, or GNU's base-256 for large values.
fn numeric(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        return Some(
            field[1..]
                .iter()
                .fold(u64::from(field[0] & 0x7f), |n, &b| (n << 8) | u64::from(b)),
        );
    }
    let text = std::str::from_utf8(field).ok()?;
    let digits = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(digits, 8).ok()
}

/// The `size` record of a PAX body ("LEN size=N\n" records).
fn pax_size(mut body: &[u8]) -> Option<u64> {
    let mut size = None;
    while !body.is_empty() && body[0] != 0 {
        let space = body.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&body[..space]).ok()?.parse().ok()?;
        let record = body.get(space + 1..len)?;
        if let Some(value) = record.strip_prefix(b"size=") {
            size = std::str::from_utf8(value.strip_suffix(b"\n")?)
                .ok()?
                .parse()
                .ok();
        }
        body = &body[len..];
    }
    size
}

/// A reader whose bytes pass a [`TarGuard`] on their way out.
pub struct GuardedRead<R> {
    inner: R,
    guard: TarGuard,
}

impl<R: Read> GuardedRead<R> {
    pub fn new(inner: R, limits: TarLimits) -> Self {
        Self {
            inner,
            guard: TarGuard::new(limits),
        }
    }
}

impl<R: Read> Read for GuardedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.guard
            .handle_bytes(&buf[..read])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        build(&mut builder);
        builder.into_inner().unwrap()
    }

    fn file(builder: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, data).unwrap();
    }

    fn guard(bytes: &[u8], limits: TarLimits, step: usize) -> Result<(), TarLimitError> {
        let mut guard = TarGuard::new(limits);
        for piece in bytes.chunks(step) {
            guard.handle_bytes(piece)?;
        }
        Ok(())
    }

    #[test]
    fn passes_real_archives_in_any_chunking() {
        let long = format!("{}/file", "d".repeat(300));
        let bytes = tar_of(|b| {
            file(b, "a", b"hello");
            file(b, &long, &[7; 1500]);
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
            b.append_data(&mut header, "dir/", &[][..]).unwrap();
        });
        for step in [1, 7, 512, 4096, bytes.len()] {
            guard(&bytes, TarLimits::default(), step).unwrap();
        }
        // The guard follows the structure: three entries counted, not blocks.
        let limits = TarLimits {
            max_entries: 2,
            ..TarLimits::default()
        };
        assert_eq!(
            guard(&bytes, limits, 4096),
            Err(TarLimitError::TooManyEntries { limit: 2 })
        );
    }

    #[test]
    fn refuses_oversized_long_names_before_reading_them() {
        let limits = TarLimits {
            max_meta_bytes: 1000,
            ..TarLimits::default()
        };
        let long = "n".repeat(5000);
        let bytes = tar_of(|b| file(b, &long, b"x"));
        // Refused on the long name's header alone, before its body arrived.
        let refused = guard(&bytes[..512], limits, 512);
        assert!(
            matches!(refused, Err(TarLimitError::MetaTooBig { size, .. }) if size > 5000),
            "{refused:?}"
        );
        guard(&tar_of(|b| file(b, &"n".repeat(900), b"x")), limits, 100).unwrap();
    }

    #[test]
    fn follows_pax_sizes_and_base256_sizes() {
        // A PAX `size` record overrides the header's size field for the next entry.
        let mut bytes = Vec::new();
        let record = "13 size=1025\n";
        let mut pax = tar::Header::new_ustar();
        pax.set_entry_type(tar::EntryType::XHeader);
        pax.set_size(record.len() as u64);
        pax.set_path("pax").unwrap();
        pax.set_cksum();
        bytes.extend_from_slice(pax.as_bytes());
        bytes.extend_from_slice(record.as_bytes());
        bytes.resize(1024, 0);
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(0);
        header.set_path("big").unwrap();
        header.set_cksum();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&[0xff; 1025]);
        bytes.resize(bytes.len().div_ceil(512) * 512, 0);
        // Data that looked like a header would count as entries; it must not.
        let limits = TarLimits {
            max_entries: 1,
            ..TarLimits::default()
        };
        guard(&bytes, limits, 333).unwrap();
        let mut field = [0u8; 12];
        field[0] = 0x80;
        field[11] = 3;
        field[10] = 1;
        assert_eq!(numeric(&field), Some(259));
    }

    #[test]
    fn bounds_paths() {
        let limits = TarLimits::default();
        check_path("usr/bin/busybox", &limits).unwrap();
        let deep = "d/".repeat(300);
        assert!(matches!(
            check_path(&deep, &limits),
            Err(TarLimitError::PathTooDeep { depth: 300, .. })
        ));
        let long = "x".repeat(5000);
        assert!(matches!(
            check_path(&long, &limits),
            Err(TarLimitError::PathTooLong { length: 5000, .. })
        ));
    }

    #[test]
    fn a_guarded_reader_fails_the_read_that_crosses_the_limit() {
        let bytes = tar_of(|b| file(b, &"n".repeat(3000), b"x"));
        let limits = TarLimits {
            max_meta_bytes: 1000,
            ..TarLimits::default()
        };
        let mut archive = tar::Archive::new(GuardedRead::new(&bytes[..], limits));
        let error = archive
            .entries()
            .unwrap()
            .find_map(Result::err)
            .expect("refused");
        assert!(error.to_string().contains("long name"), "{error}");
    }
}
