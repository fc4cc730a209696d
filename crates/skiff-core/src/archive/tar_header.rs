//! One entry's tar header as bytes, the one way Skiff writes them (the archive's parts and the
//! root filesystem export alike): a ustar header, preceded by a PAX record block when the path
//! or the link target does not fit its 100 bytes.

use std::io;

/// Everything a header says about an entry.
#[derive(Clone, Copy, Debug)]
pub struct EntryHeader<'a> {
    pub path: &'a str,
    pub kind: tar::EntryType,
    pub size: u64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub link: Option<&'a str>,
    /// Major and minor numbers of a device node.
    pub device: Option<(u32, u32)>,
}

const NAME_FIELD: usize = 100;

/// The header block (and any PAX block before it) of `entry`; its data and padding follow.
pub fn encode(entry: &EntryHeader<'_>) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(512);
    let link = entry.link.unwrap_or("");
    let mut records: Vec<(&str, &[u8])> = Vec::new();
    if entry.path.len() > NAME_FIELD {
        records.push(("path", entry.path.as_bytes()));
    }
    if link.len() > NAME_FIELD {
        records.push(("linkpath", link.as_bytes()));
    }
    if !records.is_empty() {
        out.extend_from_slice(&pax_block(&records)?);
    }
    let mut header = tar::Header::new_ustar();
    let fields = header.as_ustar_mut().expect("a ustar header");
    let name = truncate(entry.path, NAME_FIELD);
    fields.name[..name.len()].copy_from_slice(name.as_bytes());
    let link = truncate(link, NAME_FIELD);
    fields.linkname[..link.len()].copy_from_slice(link.as_bytes());
    header.set_entry_type(entry.kind);
    header.set_size(entry.size);
    header.set_mode(entry.mode);
    header.set_uid(entry.uid);
    header.set_gid(entry.gid);
    header.set_mtime(entry.mtime);
    if let Some((major, minor)) = entry.device {
        header.set_device_major(major)?;
        header.set_device_minor(minor)?;
    }
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    Ok(out)
}

/// Zero bytes that pad `size` bytes of data to a whole block.
pub fn padding(size: u64) -> &'static [u8] {
    const ZEROS: [u8; 512] = [0; 512];
    &ZEROS[..((512 - size % 512) % 512) as usize]
}

/// A PAX extended header ("LEN key=value\n" records, LEN counting itself) with its body, padded.
fn pax_block(records: &[(&str, &[u8])]) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    for (key, value) in records {
        let rest = key.len() + value.len() + 3;
        let mut len = rest + rest.to_string().len();
        if len.to_string().len() != rest.to_string().len() {
            len += 1;
        }
        body.extend_from_slice(format!("{len} {key}=").as_bytes());
        body.extend_from_slice(value);
        body.push(b'\n');
    }
    let mut header = tar::Header::new_ustar();
    header.set_path("PaxHeader")?;
    header.set_entry_type(tar::EntryType::XHeader);
    header.set_size(body.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    let mut out = header.as_bytes().to_vec();
    out.extend_from_slice(&body);
    out.extend_from_slice(padding(body.len() as u64));
    Ok(out)
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn entry<'a>(path: &'a str, link: Option<&'a str>, kind: tar::EntryType) -> EntryHeader<'a> {
        EntryHeader {
            path,
            kind,
            size: 0,
            mode: 0o755,
            uid: 1,
            gid: 2,
            mtime: 3,
            link,
            device: None,
        }
    }

    #[test]
    fn short_and_long_names_read_back() {
        let long = format!("{}/é-file", "d".repeat(150));
        let target = "t".repeat(120);
        let mut archive = Vec::new();
        for header in [
            entry("a/b", None, tar::EntryType::Directory),
            entry(&long, None, tar::EntryType::Regular),
            entry("link", Some(&target), tar::EntryType::Symlink),
        ] {
            archive.extend_from_slice(&encode(&header).unwrap());
        }
        archive.extend_from_slice(&[0; 1024]);
        let mut reader = tar::Archive::new(&archive[..]);
        let read: Vec<(String, Option<String>)> = reader
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                let link = e
                    .link_name()
                    .unwrap()
                    .map(|l| l.to_string_lossy().into_owned());
                (e.path().unwrap().to_string_lossy().into_owned(), link)
            })
            .collect();
        assert_eq!(
            read,
            [
                ("a/b".to_owned(), None),
                (long.clone(), None),
                ("link".to_owned(), Some(target.clone()))
            ]
        );
        assert_eq!(padding(0).len(), 0);
        assert_eq!(padding(1).len(), 511);
        assert_eq!(padding(512).len(), 0);
    }
}
