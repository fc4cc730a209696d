//! Writing the merged tree as one tar, as `docker export` of a container made from the image
//! would list it: directories first (parents before children), then every file's content read
//! once from the layer that wrote it last, in layer order. Names of one hard-linked file are
//! written as docker writes them: the first name in walk order carries the content, the others
//! link to it; a link whose first name a later layer deleted becomes the file.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use super::entry::{Entry, Kind};
use super::read::{for_each_entry, Flow};
use super::tree::Tree;
use super::{Change, OverlayError};
use crate::archive::tar_header::{self, EntryHeader};

/// What to write, worked out from the merged tree before any layer is read again.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Directories, symlinks, devices and fifos: written from the tree, no content needed.
    pub without_content: Vec<Entry>,
    /// Per layer: the ordinal of a file entry → the names its content is written under (the
    /// first carries it, the rest are hard links to the first), in walk order.
    pub contents: Vec<BTreeMap<usize, Vec<Entry>>>,
    /// Hard links to a file of a lower layer: written last, if their target is in the tree.
    pub late_links: Vec<Entry>,
}

impl Plan {
    /// The plan for everything under `prefix` (`""` for the whole root filesystem).
    pub fn new(tree: &Tree, prefix: &str) -> Self {
        let mut plan = Plan {
            contents: vec![BTreeMap::new(); tree.layers()],
            ..Plan::default()
        };
        let inside = |path: &str| {
            prefix.is_empty()
                || path == prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        };
        for (path, node) in tree.walk() {
            if !inside(path) {
                continue;
            }
            match (node.entry.kind, node.content_of) {
                (Kind::File | Kind::HardLink, Some(ordinal)) => {
                    let mut entry = node.entry.clone();
                    entry.kind = Kind::File;
                    entry.link = None;
                    plan.contents[node.layer]
                        .entry(ordinal)
                        .or_default()
                        .push(entry);
                }
                (Kind::HardLink, None) => plan.late_links.push(node.entry.clone()),
                _ => plan.without_content.push(node.entry.clone()),
            }
        }
        // `walk` is in walk order already, so every list is too.
        plan
    }

    /// Layers that must be read again for content.
    pub fn layers_to_read(&self) -> Vec<usize> {
        (0..self.contents.len())
            .filter(|&l| !self.contents[l].is_empty())
            .collect()
    }
}

/// Writes the export: `open_layer(l)` gives layer `l`'s stored bytes, `out` gets the tar.
pub fn write<W: Write>(
    plan: &Plan,
    mut open_layer: impl FnMut(usize) -> io::Result<Box<dyn Read>>,
    out: W,
) -> Result<W, ExportError> {
    let mut tar = TarWriter::new(out);
    for entry in &plan.without_content {
        tar.header_only(entry)?;
    }
    for layer in plan.layers_to_read() {
        let wanted = &plan.contents[layer];
        let mut written = 0;
        let bytes = open_layer(layer).map_err(ExportError::Read)?;
        let mut failure = None;
        for_each_entry(layer, bytes, |change: Change, ordinal, content| {
            let (Some(names), Change::Add(file)) = (wanted.get(&ordinal), change) else {
                return Ok(Flow::Continue);
            };
            if let Err(error) = tar.file_and_links(&file, names, content) {
                failure = Some(error);
                return Ok(Flow::Stop);
            }
            written += 1;
            Ok(if written == wanted.len() {
                Flow::Stop
            } else {
                Flow::Continue
            })
        })?;
        if let Some(error) = failure {
            return Err(error);
        }
        if written != wanted.len() {
            return Err(ExportError::Overlay(OverlayError::Damaged {
                layer,
                detail: "the layer changed since it was listed".to_owned(),
            }));
        }
    }
    for link in &plan.late_links {
        tar.header_only(link)?;
    }
    tar.finish()
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Overlay(#[from] OverlayError),
    #[error("reading a layer failed: {0}")]
    Read(io::Error),
    #[error("writing the export failed: {0}")]
    Write(io::Error),
}

/// Writes the export's entries ([`tar_header`] makes their headers, PAX records included).
struct TarWriter<W: Write> {
    out: W,
}

impl<W: Write> TarWriter<W> {
    fn new(out: W) -> Self {
        Self { out }
    }

    fn header_only(&mut self, entry: &Entry) -> Result<(), ExportError> {
        self.header(entry, 0)
    }

    /// The first name gets the content; the others become hard links to it. All share the
    /// file's metadata, as names of one inode do.
    fn file_and_links(
        &mut self,
        file: &Entry,
        names: &[Entry],
        content: &mut dyn Read,
    ) -> Result<(), ExportError> {
        let Some(first) = names.first() else {
            return Ok(());
        };
        let named = |name: &Entry| Entry {
            path: name.path.clone(),
            ..file.clone()
        };
        let first = &named(first);
        self.header(first, first.size)?;
        let copied =
            io::copy(&mut content.take(first.size), &mut self.out).map_err(ExportError::Write)?;
        if copied != first.size {
            return Err(ExportError::Read(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{} ended after {copied} of {} bytes",
                    first.path, first.size
                ),
            )));
        }
        self.pad(first.size)?;
        for name in &names[1..] {
            let mut link = named(name);
            link.kind = Kind::HardLink;
            link.link = Some(first.path.clone());
            self.header(&link, 0)?;
        }
        Ok(())
    }

    fn header(&mut self, entry: &Entry, size: u64) -> Result<(), ExportError> {
        let mut path = entry.path.clone();
        if entry.kind == Kind::Dir {
            path.push('/');
        }
        let header = EntryHeader {
            path: &path,
            kind: match entry.kind {
                Kind::File => tar::EntryType::Regular,
                Kind::Dir => tar::EntryType::Directory,
                Kind::Symlink => tar::EntryType::Symlink,
                Kind::HardLink => tar::EntryType::Link,
                Kind::CharDevice => tar::EntryType::Char,
                Kind::BlockDevice => tar::EntryType::Block,
                Kind::Fifo => tar::EntryType::Fifo,
            },
            size,
            mode: entry.mode,
            uid: entry.uid,
            gid: entry.gid,
            mtime: entry.mtime,
            link: entry.link.as_deref(),
            device: entry.device,
        };
        let bytes = tar_header::encode(&header).map_err(ExportError::Write)?;
        self.out.write_all(&bytes).map_err(ExportError::Write)
    }

    fn pad(&mut self, size: u64) -> Result<(), ExportError> {
        self.out
            .write_all(tar_header::padding(size))
            .map_err(ExportError::Write)
    }

    fn finish(mut self) -> Result<W, ExportError> {
        self.out.write_all(&[0; 1024]).map_err(ExportError::Write)?;
        self.out.flush().map_err(ExportError::Write)?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overlay::read::{list, tests::layer};
    use std::collections::HashMap;
    use Kind::*;

    /// Which names of the plan carry content.
    fn content_names(plan: &Plan) -> HashMap<String, usize> {
        let mut names = HashMap::new();
        for (layer, files) in plan.contents.iter().enumerate() {
            for group in files.values() {
                for entry in group {
                    names.insert(entry.path.clone(), layer);
                }
            }
        }
        names
    }

    fn export(layers: &[Vec<u8>]) -> Vec<(String, char, u64, String, String)> {
        let mut tree = Tree::new();
        for (index, bytes) in layers.iter().enumerate() {
            tree.apply(index, &list(index, &bytes[..]).unwrap());
        }
        let plan = Plan::new(&tree, "");
        let owned: Vec<Vec<u8>> = layers.to_vec();
        let out = write(
            &plan,
            |l| Ok(Box::new(io::Cursor::new(owned[l].clone())) as Box<dyn Read>),
            Vec::new(),
        )
        .unwrap();
        let mut archive = tar::Archive::new(&out[..]);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let path = String::from_utf8(e.path_bytes().into_owned()).unwrap();
                let kind = e.header().entry_type().as_byte() as char;
                let link = e
                    .link_name_bytes()
                    .map(|l| String::from_utf8(l.into_owned()).unwrap())
                    .unwrap_or_default();
                let mut content = String::new();
                e.read_to_string(&mut content).unwrap();
                (path, kind, e.size(), link, content)
            })
            .collect()
    }

    #[test]
    fn exports_the_merged_tree_with_links_and_long_names() {
        let long_dir = format!("long/{}", "d".repeat(150));
        let long_file = format!("{long_dir}/{}", "f".repeat(120));
        let first = layer(&[
            ("bin/", Dir, ""),
            ("bin/busybox", File, "BB"),
            ("bin/sh", Symlink, "busybox"),
            ("h/", Dir, ""),
            ("h/orig", File, "shared"),
            ("h/b-link", HardLink, "h/orig"),
            ("h/a-link", HardLink, "h/orig"),
            ("gone", File, "bye"),
            (&long_file, File, "deep"),
            ("sym-long", Symlink, &long_file),
        ]);
        let second = layer(&[
            ("h/.wh.orig", File, ""),
            (".wh.gone", File, ""),
            ("bin/busybox", File, "BB2"),
        ]);
        let got = export(&[first, second]);
        let expected = [
            ("bin/", '5', 0, "", ""),
            ("bin/sh", '2', 0, "busybox", ""),
            ("h/", '5', 0, "", ""),
            ("long/", '5', 0, "", ""),
            (&format!("{long_dir}/") as &str, '5', 0, "", ""),
            ("sym-long", '2', 0, &long_file as &str, ""),
            // Layer 0's content: the link group, first name in walk order carries it.
            ("h/a-link", '0', 6, "", "shared"),
            ("h/b-link", '1', 0, "h/a-link", ""),
            (&long_file as &str, '0', 4, "", "deep"),
            // Layer 1's content.
            ("bin/busybox", '0', 3, "", "BB2"),
        ];
        let expected: Vec<(String, char, u64, String, String)> = expected
            .iter()
            .map(|(p, k, s, l, c)| (p.to_string(), *k, *s, l.to_string(), c.to_string()))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn a_prefix_exports_one_directory() {
        let only = layer(&[
            ("a/", Dir, ""),
            ("a/x", File, "1"),
            ("ab", File, "2"),
            ("b/y", File, "3"),
        ]);
        let mut tree = Tree::new();
        tree.apply(0, &list(0, &only[..]).unwrap());
        let plan = Plan::new(&tree, "a");
        assert_eq!(plan.without_content.len(), 1);
        assert_eq!(content_names(&plan).keys().collect::<Vec<_>>(), ["a/x"]);
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn entry(path: String, kind: Kind, size: u64, link: Option<String>) -> Entry {
            Entry {
                path,
                kind,
                size,
                mode: 0o644,
                uid: 0,
                gid: 0,
                mtime: 1_700_000_000,
                link,
                device: None,
            }
        }

        /// Paths of up to five components of up to 60 characters (non-ASCII too), so some
        /// need PAX records.
        fn path() -> impl Strategy<Value = String> {
            prop::collection::vec("[a-zA-Z0-9 ._ü-]{1,60}", 1..5)
                .prop_map(|parts| parts.join("/"))
                .prop_filter("plain components", |p| {
                    p.split('/').all(|c| c != "." && c != "..")
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

            #[test]
            fn exports_read_back_with_the_tar_crate(
                files in prop::collection::btree_map(path(), (prop::collection::vec(any::<u8>(), 0..1500), prop::collection::vec(path(), 0..3)), 1..6),
                // Any target but NUL and newline: the `tar` crate splits PAX records at newlines
                // (POSIX length-prefixes them), so it cannot read a target with one back.
                symlinks in prop::collection::btree_map(path(), "[^\\x00\\n]{1,200}", 0..4),
            ) {
                let mut out = TarWriter::new(Vec::new());
                let mut expected = Vec::new();
                let mut taken = std::collections::BTreeSet::new();
                for (name, (data, links)) in &files {
                    if !taken.insert(name.clone()) { continue; }
                    let file = entry(name.clone(), Kind::File, data.len() as u64, None);
                    let mut names = vec![file.clone()];
                    expected.push((name.clone(), 'F', data.clone(), None));
                    for link in links {
                        if taken.insert(link.clone()) {
                            names.push(entry(link.clone(), Kind::HardLink, 0, None));
                            expected.push((link.clone(), 'H', Vec::new(), Some(name.clone())));
                        }
                    }
                    out.file_and_links(&file, &names, &mut &data[..]).unwrap();
                }
                for (name, target) in &symlinks {
                    if !taken.insert(name.clone()) { continue; }
                    out.header_only(&entry(name.clone(), Kind::Symlink, 0, Some(target.clone()))).unwrap();
                    expected.push((name.clone(), 'L', Vec::new(), Some(target.clone())));
                }
                let bytes = out.finish().unwrap();
                let mut read = Vec::new();
                let mut archive = tar::Archive::new(&bytes[..]);
                for e in archive.entries().unwrap() {
                    let mut e = e.unwrap();
                    let path = String::from_utf8(e.path_bytes().into_owned()).unwrap();
                    let kind = match e.header().entry_type() {
                        tar::EntryType::Regular => 'F',
                        tar::EntryType::Link => 'H',
                        tar::EntryType::Symlink => 'L',
                        other => panic!("unexpected {other:?}"),
                    };
                    let link = e.link_name_bytes().map(|l| String::from_utf8(l.into_owned()).unwrap());
                    let mut data = Vec::new();
                    e.read_to_end(&mut data).unwrap();
                    read.push((path, kind, data, link));
                }
                prop_assert_eq!(read, expected);
            }
        }
    }
}
