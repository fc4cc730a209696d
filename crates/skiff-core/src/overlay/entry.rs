//! One layer entry as a typed value: its path normalized (no `./`, no leading or trailing `/`,
//! no `..`), and whether it adds something or is a whiteout.

use serde::{Deserialize, Serialize};

/// What an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// Another name for a file written earlier in the same layer.
    HardLink,
    CharDevice,
    BlockDevice,
    Fifo,
}

impl Kind {
    /// The letter `ls -l` shows.
    pub fn letter(self) -> char {
        match self {
            Self::File | Self::HardLink => '-',
            Self::Dir => 'd',
            Self::Symlink => 'l',
            Self::CharDevice => 'c',
            Self::BlockDevice => 'b',
            Self::Fifo => 'p',
        }
    }
}

/// One entry of a layer, as its tar header describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Normalized: `usr/bin/env`, never `./usr/bin/env` or `/usr/bin/env/`.
    pub path: String,
    pub kind: Kind,
    /// Bytes of content (0 for all but files).
    pub size: u64,
    /// Permission bits and setuid/setgid/sticky (`0o7777`).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Seconds since the epoch.
    pub mtime: u64,
    /// A symlink's target as written; a hard link's target path, normalized.
    pub link: Option<String>,
    /// Major and minor numbers of a device node.
    pub device: Option<(u32, u32)>,
}

/// What an entry does to the layers below it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Add(Entry),
    /// `dir/.wh.name`: `dir/name` (and all under it) is deleted.
    Whiteout(String),
    /// `dir/.wh..wh..opq`: everything lower layers put under `dir` is hidden.
    Opaque(String),
}

pub const WHITEOUT_PREFIX: &str = ".wh.";
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";

impl Change {
    /// Tells a whiteout from an entry that adds something.
    pub fn of(entry: Entry) -> Self {
        let (parent, name) = split(&entry.path);
        if name == OPAQUE_MARKER {
            return Self::Opaque(parent.to_owned());
        }
        match name.strip_prefix(WHITEOUT_PREFIX) {
            Some(hidden) if !hidden.is_empty() => Self::Whiteout(join(parent, hidden)),
            _ => Self::Add(entry),
        }
    }
}

/// `a/b/c` → (`a/b`, `c`); `c` → (``, `c`).
pub fn split(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(at) => (&path[..at], &path[at + 1..]),
        None => ("", path),
    }
}

pub fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}/{name}")
    }
}

/// The parent directory of a path; `None` for a top-level name.
pub fn parent(path: &str) -> Option<&str> {
    path.rfind('/').map(|at| &path[..at])
}

/// Normalizes a path as written in a layer. `Ok("")` is the root itself. A `..` component is
/// refused: a layer must not write outside the root (docker refuses these layers too).
pub fn normalize(raw: &str) -> Result<String, &'static str> {
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("a `..` component"),
            name => parts.push(name),
        }
    }
    Ok(parts.join("/"))
}

/// Orders paths as a depth-first walk of the tree does (each directory's names sorted,
/// children right after their directory): `a`, `a/b`, `a-c`, where plain string order would
/// put `a-c` before `a/b`. `docker export` writes in this order.
pub fn walk_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.split('/').cmp(b.split('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> Entry {
        Entry {
            path: path.to_owned(),
            kind: Kind::File,
            size: 1,
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 0,
            link: None,
            device: None,
        }
    }

    #[test]
    fn whiteouts_are_told_from_entries() {
        let cases = [
            ("etc/.wh.passwd", Change::Whiteout("etc/passwd".into())),
            (".wh.tmp", Change::Whiteout("tmp".into())),
            ("var/cache/.wh..wh..opq", Change::Opaque("var/cache".into())),
            (".wh..wh..opq", Change::Opaque(String::new())),
            ("etc/passwd", Change::Add(file("etc/passwd"))),
            // Not whiteouts: the prefix alone, or in the middle of a name.
            ("etc/.wh.", Change::Add(file("etc/.wh."))),
            ("etc/a.wh.b", Change::Add(file("etc/a.wh.b"))),
        ];
        for (path, expected) in cases {
            assert_eq!(Change::of(file(path)), expected, "{path}");
        }
    }

    #[test]
    fn paths_are_normalized_and_escapes_refused() {
        let cases = [
            ("./usr/bin/env", Ok("usr/bin/env")),
            ("/usr//bin/./env/", Ok("usr/bin/env")),
            ("./", Ok("")),
            (".", Ok("")),
            ("usr/../../etc/passwd", Err("a `..` component")),
            ("../x", Err("a `..` component")),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                normalize(raw).as_deref(),
                expected.map(str::to_owned).as_deref(),
                "{raw}"
            );
        }
    }

    #[test]
    fn walk_order_puts_children_right_after_their_directory() {
        let mut paths = vec!["a-c", "a/b", "a", "b", "a/b/c", "a.d"];
        paths.sort_by(|a, b| walk_order(a, b));
        assert_eq!(paths, ["a", "a/b", "a/b/c", "a-c", "a.d", "b"]);
    }
}
