//! Comparing two images: the layers they share (the bytes a copy across an air gap can skip),
//! their configs field by field, and their root filesystems path by path.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::entry::{walk_order, Kind};
use super::tree::{Node, Tree};
use crate::Digest;

/// Layers of `a` and `b`, by digest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerComparison {
    pub shared: usize,
    pub shared_bytes: u64,
    /// Layers only `b` has: what carrying `b` to where `a` already is costs.
    pub only_b: usize,
    pub only_b_bytes: u64,
    pub only_a: usize,
    pub only_a_bytes: u64,
}

/// Layers as (digest, size), bottom first.
pub fn compare_layers(a: &[(Digest, u64)], b: &[(Digest, u64)]) -> LayerComparison {
    let unique =
        |layers: &[(Digest, u64)]| -> BTreeMap<Digest, u64> { layers.iter().cloned().collect() };
    let (a, b) = (unique(a), unique(b));
    let mut result = LayerComparison::default();
    for (digest, size) in &b {
        if a.contains_key(digest) {
            result.shared += 1;
            result.shared_bytes += size;
        } else {
            result.only_b += 1;
            result.only_b_bytes += size;
        }
    }
    for (digest, size) in &a {
        if !b.contains_key(digest) {
            result.only_a += 1;
            result.only_a_bytes += size;
        }
    }
    result
}

/// One config field that differs (`None`: absent on that side).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigChange {
    pub field: String,
    pub a: Option<String>,
    pub b: Option<String>,
}

/// The fields of two image configs that a user runs by: env (per variable), entrypoint, cmd,
/// labels (per label), user, working directory, exposed ports, platform.
pub fn compare_configs(a: &Value, b: &Value) -> Vec<ConfigChange> {
    let mut changes = Vec::new();
    let fields = |config: &Value| -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let run = &config["config"];
        for variable in run["Env"].as_array().into_iter().flatten() {
            if let Some((name, value)) = variable.as_str().and_then(|v| v.split_once('=')) {
                out.insert(format!("env {name}"), value.to_owned());
            }
        }
        for (name, value) in run["Labels"].as_object().into_iter().flatten() {
            out.insert(
                format!("label {name}"),
                value.as_str().unwrap_or_default().to_owned(),
            );
        }
        for key in ["Entrypoint", "Cmd"] {
            if !run[key].is_null() {
                out.insert(key.to_lowercase(), run[key].to_string());
            }
        }
        for (key, name) in [("User", "user"), ("WorkingDir", "workdir")] {
            if let Some(value) = run[key].as_str().filter(|v| !v.is_empty()) {
                out.insert(name.to_owned(), value.to_owned());
            }
        }
        if let Some(ports) = run["ExposedPorts"].as_object() {
            let ports: Vec<&str> = ports.keys().map(String::as_str).collect();
            out.insert("exposed ports".to_owned(), ports.join(" "));
        }
        for key in ["os", "architecture", "variant"] {
            if let Some(value) = config[key].as_str() {
                out.insert(key.to_owned(), value.to_owned());
            }
        }
        out
    };
    let (a, b) = (fields(a), fields(b));
    let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for name in names {
        let (before, after) = (a.get(name), b.get(name));
        if before != after {
            changes.push(ConfigChange {
                field: name.clone(),
                a: before.cloned(),
                b: after.cloned(),
            });
        }
    }
    changes
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PathChange {
    Added,
    Removed,
    Changed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathDifference {
    pub path: String,
    pub change: PathChange,
    pub kind: Kind,
    /// A file's size in `a` and in `b`.
    pub size_a: Option<u64>,
    pub size_b: Option<u64>,
}

/// Where a file's content is: a layer (0-based) of one side and the entry's ordinal there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ContentAt {
    pub layer: usize,
    pub ordinal: usize,
}

/// Files that look alike but come from different layer entries: only their bytes can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undecided {
    pub path: String,
    pub size: u64,
    pub a: ContentAt,
    pub b: ContentAt,
}

/// The paths that differ between two trees, and the files whose contents must be compared
/// (`undecided`) before they can be called changed or the same.
pub fn compare_trees(
    a: &Tree,
    a_layers: &[Digest],
    b: &Tree,
    b_layers: &[Digest],
) -> (Vec<PathDifference>, Vec<Undecided>) {
    let mut differences = Vec::new();
    let mut undecided = Vec::new();
    let size = |node: &Node| (node.entry.kind == Kind::File).then_some(node.entry.size);
    let paths: BTreeSet<&str> = a.nodes().chain(b.nodes()).map(|(p, _)| p).collect();
    let mut paths: Vec<&str> = paths.into_iter().collect();
    paths.sort_by(|x, y| walk_order(x, y));
    for path in paths {
        let difference = |change, node: &Node, other: Option<&Node>| PathDifference {
            path: path.to_owned(),
            change,
            kind: node.entry.kind,
            size_a: if change == PathChange::Added {
                None
            } else {
                size(other.unwrap_or(node))
            },
            size_b: if change == PathChange::Removed {
                None
            } else {
                size(node)
            },
        };
        match (a.get(path), b.get(path)) {
            (None, Some(new)) => differences.push(difference(PathChange::Added, new, None)),
            (Some(old), None) => differences.push(PathDifference {
                size_a: size(old),
                size_b: None,
                ..difference(PathChange::Removed, old, None)
            }),
            (Some(old), Some(new)) => {
                let (x, y) = (&old.entry, &new.entry);
                let same_shape = x.kind == y.kind
                    && x.mode == y.mode
                    && x.uid == y.uid
                    && x.gid == y.gid
                    && x.link == y.link
                    && x.device == y.device
                    && x.size == y.size;
                if !same_shape {
                    differences.push(difference(PathChange::Changed, new, Some(old)));
                    continue;
                }
                if x.kind != Kind::File {
                    continue;
                }
                let (Some(from_a), Some(from_b)) = (old.content_of, new.content_of) else {
                    continue;
                };
                let same_entry =
                    a_layers.get(old.layer) == b_layers.get(new.layer) && from_a == from_b;
                if !same_entry {
                    undecided.push(Undecided {
                        path: path.to_owned(),
                        size: x.size,
                        a: ContentAt {
                            layer: old.layer,
                            ordinal: from_a,
                        },
                        b: ContentAt {
                            layer: new.layer,
                            ordinal: from_b,
                        },
                    });
                }
            }
            (None, None) => {}
        }
    }
    (differences, undecided)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overlay::read::{list, tests::layer};
    use Kind::*;

    fn digest(n: u8) -> Digest {
        Digest::from_sha256(&[n; 32])
    }

    fn descriptor(n: u8, size: u64) -> (Digest, u64) {
        (digest(n), size)
    }

    #[test]
    fn shared_layers_and_the_bytes_to_carry() {
        let a = [descriptor(1, 100), descriptor(2, 20)];
        let b = [descriptor(1, 100), descriptor(3, 7), descriptor(4, 5)];
        assert_eq!(
            compare_layers(&a, &b),
            LayerComparison {
                shared: 1,
                shared_bytes: 100,
                only_b: 2,
                only_b_bytes: 12,
                only_a: 1,
                only_a_bytes: 20
            }
        );
    }

    #[test]
    fn config_fields_that_differ() {
        let a = serde_json::json!({"os": "linux", "architecture": "amd64", "config": {
            "Env": ["PATH=/bin", "MODE=a"], "Cmd": ["sh"], "Labels": {"v": "1", "same": "x"}, "User": ""}});
        let b = serde_json::json!({"os": "linux", "architecture": "amd64", "config": {
            "Env": ["PATH=/bin", "NEW=1"], "Entrypoint": ["/run"], "Cmd": ["sh"], "Labels": {"v": "2", "same": "x"},
            "User": "app", "ExposedPorts": {"80/tcp": {}}}});
        let changes: Vec<(String, Option<String>, Option<String>)> = compare_configs(&a, &b)
            .into_iter()
            .map(|c| (c.field, c.a, c.b))
            .collect();
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            changes,
            [
                ("entrypoint".to_owned(), None, s("[\"/run\"]")),
                ("env MODE".to_owned(), s("a"), None),
                ("env NEW".to_owned(), None, s("1")),
                ("exposed ports".to_owned(), None, s("80/tcp")),
                ("label v".to_owned(), s("1"), s("2")),
                ("user".to_owned(), None, s("app")),
            ]
        );
    }

    #[test]
    fn paths_added_removed_changed_and_undecided() {
        let base = layer(&[
            ("etc/", Dir, ""),
            ("etc/os", File, "debian"),
            ("etc/old", File, "x"),
        ]);
        let a_top = layer(&[("app", File, "v1"), ("same-size", File, "aa")]);
        let b_top = layer(&[
            ("app", File, "v2!"),
            ("etc/.wh.old", File, ""),
            ("new", File, "n"),
            ("same-size", File, "bb"),
        ]);
        let tree = |layers: &[&Vec<u8>]| {
            let mut tree = Tree::new();
            for (i, bytes) in layers.iter().enumerate() {
                tree.apply(i, &list(i, &bytes[..]).unwrap());
            }
            tree
        };
        let (a, b) = (tree(&[&base, &a_top]), tree(&[&base, &b_top]));
        let (differences, undecided) =
            compare_trees(&a, &[digest(1), digest(2)], &b, &[digest(1), digest(3)]);
        let shown: Vec<String> = differences
            .iter()
            .map(|d| format!("{:?} {} {:?}->{:?}", d.change, d.path, d.size_a, d.size_b))
            .collect();
        assert_eq!(
            shown,
            [
                "Changed app Some(2)->Some(3)",
                "Removed etc/old Some(1)->None",
                "Added new None->Some(1)",
            ]
        );
        // Same size, different layers: the bytes must be compared. `etc/os` comes from the
        // shared base layer's same entry: the same file, no reading needed.
        assert_eq!(undecided.len(), 1);
        assert_eq!(undecided[0].path, "same-size");
        assert_eq!((undecided[0].a.layer, undecided[0].b.layer), (1, 1));
    }
}
