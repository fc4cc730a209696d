//! The root filesystem the layers make together, as overlay filesystems make it: each layer's
//! whiteouts first hide what lower layers put there, then its entries are laid on top.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::entry::{parent, walk_order, Change, Entry, Kind};

/// One path of the merged tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub entry: Entry,
    /// The layer (0-based) and entry ordinal that wrote this path last.
    pub layer: usize,
    pub ordinal: usize,
    /// The layer that first put this path there (it may have been changed since).
    pub added_by: usize,
    /// For a file or a hard link: the ordinal, in `layer`, of the file entry whose content it
    /// has. `None` for a hard link to a file of a lower layer.
    pub content_of: Option<usize>,
    /// A directory no entry wrote, implied by a path below it.
    pub implicit: bool,
}

impl Node {
    /// Changed after it was added (by a later layer).
    pub fn changed(&self) -> bool {
        self.layer != self.added_by
    }
}

/// A path that a later layer deleted, hid or replaced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    pub path: String,
    pub kind: Kind,
    pub size: u64,
    pub added_by: usize,
    pub removed_by: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tree {
    nodes: BTreeMap<String, Node>,
    removed: Vec<Removed>,
    /// Bytes of files that later layers overwrote or deleted: carried in the image, never seen.
    wasted: u64,
    layers: usize,
}

impl Tree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Lays layer number `layer` (0-based, in order) on top: `changes` as the layer lists them,
    /// with their ordinals.
    pub fn apply(&mut self, layer: usize, changes: &[(usize, Change)]) {
        self.layers = self.layers.max(layer + 1);
        // Whiteouts hide lower layers only, wherever they sit in this layer's tar.
        for (_, change) in changes {
            match change {
                Change::Whiteout(path) => self.remove_subtree(path, true, layer),
                Change::Opaque(dir) => self.remove_subtree(dir, false, layer),
                Change::Add(_) => {}
            }
        }
        let mut files_here: HashMap<&str, usize> = HashMap::new();
        for (ordinal, change) in changes {
            let Change::Add(entry) = change else {
                continue;
            };
            let content_of = match entry.kind {
                Kind::File => {
                    files_here.insert(&entry.path, *ordinal);
                    Some(*ordinal)
                }
                Kind::HardLink => entry
                    .link
                    .as_deref()
                    .and_then(|target| files_here.get(target).copied()),
                _ => None,
            };
            if entry.kind == Kind::HardLink && content_of.is_some() {
                if let Some(target) = entry.link.as_deref() {
                    files_here.insert(&entry.path, files_here[target]);
                }
            }
            self.add(layer, *ordinal, entry.clone(), content_of);
        }
    }

    fn add(&mut self, layer: usize, ordinal: usize, entry: Entry, content_of: Option<usize>) {
        self.make_parents(&entry.path, layer);
        let added_by = match self.nodes.get(&entry.path) {
            Some(old) if old.entry.kind == Kind::Dir && entry.kind == Kind::Dir => old.added_by,
            Some(old) => {
                let added_by = old.added_by;
                // A file replacing a directory hides everything in it.
                self.remove_subtree(&entry.path.clone(), true, layer);
                added_by
            }
            None => layer,
        };
        let path = entry.path.clone();
        self.nodes.insert(
            path,
            Node {
                entry,
                layer,
                ordinal,
                added_by,
                content_of,
                implicit: false,
            },
        );
    }

    /// Every parent of `path` becomes a directory, implied if no entry wrote it.
    fn make_parents(&mut self, path: &str, layer: usize) {
        let mut ancestors = Vec::new();
        let mut at = parent(path);
        while let Some(dir) = at {
            ancestors.push(dir.to_owned());
            at = parent(dir);
        }
        for dir in ancestors.into_iter().rev() {
            match self.nodes.get(&dir) {
                Some(node) if node.entry.kind == Kind::Dir => continue,
                Some(_) => self.remove_subtree(&dir, true, layer),
                None => {}
            }
            self.nodes.insert(dir.clone(), implicit_dir(dir, layer));
        }
    }

    /// Removes `path` (if `itself`) and everything under it, as layer `by` does.
    fn remove_subtree(&mut self, path: &str, itself: bool, by: usize) {
        let below = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        let mut doomed: Vec<String> = self
            .nodes
            .range(below.clone()..)
            .take_while(|(key, _)| key.starts_with(&below))
            .map(|(key, _)| key.clone())
            .collect();
        if itself && self.nodes.contains_key(path) {
            doomed.push(path.to_owned());
        }
        for key in doomed {
            if let Some(node) = self.nodes.remove(&key) {
                if node.entry.kind == Kind::File {
                    self.wasted += node.entry.size;
                }
                self.removed.push(Removed {
                    path: key,
                    kind: node.entry.kind,
                    size: node.entry.size,
                    added_by: node.added_by,
                    removed_by: by,
                });
            }
        }
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn layers(&self) -> usize {
        self.layers
    }

    pub fn wasted(&self) -> u64 {
        self.wasted
    }

    pub fn removed(&self) -> &[Removed] {
        &self.removed
    }

    /// Every path with its node, in no useful order (cheaper than [`Tree::walk`]).
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Every path with its node, in the order a walk of the tree visits them.
    pub fn walk(&self) -> Vec<(&str, &Node)> {
        let mut all: Vec<(&str, &Node)> = self.nodes().collect();
        all.sort_by(|a, b| walk_order(a.0, b.0));
        all
    }

    /// Bytes of file content at or under each directory (files only; a hard link's content
    /// counts once, under its file).
    pub fn directory_sizes(&self) -> HashMap<&str, u64> {
        let mut sizes: HashMap<&str, u64> = HashMap::new();
        for (path, node) in &self.nodes {
            if node.entry.kind == Kind::Dir {
                sizes.entry(path.as_str()).or_default();
            }
            if node.entry.kind != Kind::File {
                continue;
            }
            let mut at = parent(path);
            *sizes.entry("").or_default() += node.entry.size;
            while let Some(dir) = at {
                *sizes.entry(dir).or_default() += node.entry.size;
                at = parent(dir);
            }
        }
        sizes
    }

    /// Files' bytes in the final tree.
    pub fn total_size(&self) -> u64 {
        self.nodes
            .values()
            .filter(|n| n.entry.kind == Kind::File)
            .map(|n| n.entry.size)
            .sum()
    }
}

fn implicit_dir(path: String, layer: usize) -> Node {
    Node {
        entry: Entry {
            path,
            kind: Kind::Dir,
            size: 0,
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: 0,
            link: None,
            device: None,
        },
        layer,
        ordinal: usize::MAX,
        added_by: layer,
        content_of: None,
        implicit: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overlay::read::{list, tests::layer};
    use Kind::*;

    fn tree(layers: &[Vec<u8>]) -> Tree {
        let mut tree = Tree::new();
        for (index, bytes) in layers.iter().enumerate() {
            tree.apply(index, &list(index, &bytes[..]).unwrap());
        }
        tree
    }

    /// `path kind size layer added_by` for every path, in walk order.
    fn shape(tree: &Tree) -> Vec<String> {
        tree.walk()
            .iter()
            .map(|(path, n)| {
                let link = n
                    .entry
                    .link
                    .as_deref()
                    .map(|l| format!(" -> {l}"))
                    .unwrap_or_default();
                format!(
                    "{path} {:?} {} L{} A{}{link}",
                    n.entry.kind, n.entry.size, n.layer, n.added_by
                )
            })
            .collect()
    }

    struct Case {
        name: &'static str,
        layers: Vec<Vec<(&'static str, Kind, &'static str)>>,
        expected: Vec<&'static str>,
        wasted: u64,
    }

    #[test]
    fn overlay_rules() {
        let cases = [
            Case {
                name: "a whiteout deletes a file of a lower layer",
                layers: vec![
                    vec![
                        ("etc/", Dir, ""),
                        ("etc/a", File, "aaa"),
                        ("etc/b", File, "b"),
                    ],
                    vec![("etc/.wh.a", File, "")],
                ],
                expected: vec!["etc Dir 0 L0 A0", "etc/b File 1 L0 A0"],
                wasted: 3,
            },
            Case {
                name: "a whiteout of a directory deletes all under it",
                layers: vec![
                    vec![
                        ("d/", Dir, ""),
                        ("d/e/", Dir, ""),
                        ("d/e/f", File, "ff"),
                        ("x", File, ""),
                    ],
                    vec![(".wh.d", File, "")],
                ],
                expected: vec!["x File 0 L0 A0"],
                wasted: 2,
            },
            Case {
                name: "an opaque directory hides lower layers only, wherever the marker sits",
                layers: vec![
                    vec![
                        ("o/", Dir, ""),
                        ("o/old", File, "1234"),
                        ("o/sub/", Dir, ""),
                        ("o/sub/x", File, ""),
                    ],
                    vec![
                        ("o/", Dir, ""),
                        ("o/new", File, "n"),
                        ("o/.wh..wh..opq", File, ""),
                    ],
                ],
                expected: vec!["o Dir 0 L1 A0", "o/new File 1 L1 A1"],
                wasted: 4,
            },
            Case {
                name: "a file replaced by a directory, and a directory by a file",
                layers: vec![
                    vec![("f", File, "12"), ("d/", Dir, ""), ("d/in", File, "123")],
                    vec![
                        ("f/", Dir, ""),
                        ("f/child", File, "c"),
                        ("d", File, "now a file"),
                    ],
                ],
                expected: vec!["d File 10 L1 A0", "f Dir 0 L1 A0", "f/child File 1 L1 A1"],
                wasted: 5,
            },
            Case {
                name: "and back again: a directory that became a file becomes a directory",
                layers: vec![
                    vec![("p/", Dir, ""), ("p/q", File, "q")],
                    vec![("p", File, "file")],
                    vec![("p/", Dir, ""), ("p/r", File, "r")],
                ],
                expected: vec!["p Dir 0 L2 A0", "p/r File 1 L2 A2"],
                wasted: 5,
            },
            Case {
                name: "a path below a file makes it an implied directory",
                layers: vec![vec![("a", File, "xx")], vec![("a/b/c", File, "c")]],
                expected: vec!["a Dir 0 L1 A1", "a/b Dir 0 L1 A1", "a/b/c File 1 L1 A1"],
                wasted: 2,
            },
            Case {
                name: "a file rewritten by a later layer wastes the old bytes",
                layers: vec![vec![("f", File, "old!")], vec![("f", File, "new")]],
                expected: vec!["f File 3 L1 A0"],
                wasted: 4,
            },
            Case {
                name: "hard links keep working when their first name is deleted",
                layers: vec![
                    vec![
                        ("h/", Dir, ""),
                        ("h/orig", File, "data"),
                        ("h/link", HardLink, "h/orig"),
                    ],
                    vec![("h/.wh.orig", File, "")],
                ],
                expected: vec!["h Dir 0 L0 A0", "h/link HardLink 0 L0 A0 -> h/orig"],
                wasted: 4,
            },
            Case {
                name: "a whiteout and a new entry of the same name in one layer",
                layers: vec![
                    vec![("s/", Dir, ""), ("s/x", File, "1")],
                    vec![("s/x/", Dir, ""), ("s/.wh.x", File, "")],
                ],
                expected: vec!["s Dir 0 L0 A0", "s/x Dir 0 L1 A1"],
                wasted: 1,
            },
        ];
        for case in cases {
            let layers: Vec<Vec<u8>> = case.layers.iter().map(|l| layer(l)).collect();
            let tree = tree(&layers);
            assert_eq!(shape(&tree), case.expected, "{}", case.name);
            assert_eq!(tree.wasted(), case.wasted, "{}", case.name);
        }
    }

    #[test]
    fn hard_links_know_whose_content_they_have() {
        let tree = tree(&[layer(&[
            ("a", File, "data"),
            ("b", HardLink, "a"),
            ("c", HardLink, "b"),
            ("lower", HardLink, "elsewhere"),
        ])]);
        assert_eq!(tree.get("a").unwrap().content_of, Some(0));
        assert_eq!(tree.get("b").unwrap().content_of, Some(0));
        assert_eq!(tree.get("c").unwrap().content_of, Some(0));
        assert_eq!(tree.get("lower").unwrap().content_of, None);
    }

    #[test]
    fn directory_sizes_and_what_was_removed() {
        let tree = tree(&[
            layer(&[
                ("a/", Dir, ""),
                ("a/x", File, "12345"),
                ("a/b/y", File, "123"),
                ("z", File, "1"),
            ]),
            layer(&[("a/.wh.x", File, "")]),
        ]);
        let sizes = tree.directory_sizes();
        assert_eq!((sizes[""], sizes["a"], sizes["a/b"]), (4, 3, 3));
        assert_eq!(tree.total_size(), 4);
        assert_eq!(
            tree.removed(),
            [Removed {
                path: "a/x".into(),
                kind: File,
                size: 5,
                added_by: 0,
                removed_by: 1
            }]
        );
    }
}
