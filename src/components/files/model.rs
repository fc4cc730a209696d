//! The file browser's state: the merged tree's rows (in walk order, as the worker sends them),
//! which directories are open, the search, and what the last save did. Pure, so it is tested
//! natively.

use std::collections::HashSet;
use std::rc::Rc;

use skiff_core::overlay::Kind;
use yew::Reducible;

use crate::engine::protocol::{TreeRow, TreeSummary};

#[derive(Clone, Debug, Default, PartialEq)]
pub enum Listing {
    #[default]
    NotRead,
    Reading,
    Read {
        rows: Rc<Vec<TreeRow>>,
        summary: TreeSummary,
        /// Positions in `rows` to show: worked out when the rows, open directories or search
        /// change, not on every scroll.
        shown: Rc<Vec<usize>>,
    },
    Failed(String),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct FilesState {
    /// Which image of the archive (by position).
    pub image: usize,
    pub listing: Listing,
    pub open: Rc<HashSet<String>>,
    pub query: String,
    /// Only what this layer (1-based) wrote last, or every path.
    pub layer: Option<usize>,
    /// What the last save is doing or did, for the status line.
    pub status: Option<Status>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Working(String),
    Done(String),
    Failed(String),
}

pub enum FilesAction {
    ChooseImage(usize),
    Reading,
    Read {
        rows: Vec<TreeRow>,
        summary: TreeSummary,
    },
    ReadFailed(String),
    Toggle(String),
    Search(String),
    ShowLayer(Option<usize>),
    Status(Status),
}

impl Reducible for FilesState {
    type Action = FilesAction;

    fn reduce(self: Rc<Self>, action: FilesAction) -> Rc<Self> {
        let mut state = (*self).clone();
        match action {
            FilesAction::ChooseImage(image) => {
                state = FilesState {
                    image,
                    ..FilesState::default()
                }
            }
            FilesAction::Reading => state.listing = Listing::Reading,
            FilesAction::Read { rows, summary } => {
                state.listing = Listing::Read {
                    rows: Rc::new(rows),
                    summary,
                    shown: Rc::default(),
                }
            }
            FilesAction::ReadFailed(message) => state.listing = Listing::Failed(message),
            FilesAction::Toggle(path) => {
                let open = Rc::make_mut(&mut state.open);
                if !open.remove(&path) {
                    open.insert(path);
                }
            }
            FilesAction::Search(query) => state.query = query,
            FilesAction::ShowLayer(layer) => state.layer = layer,
            FilesAction::Status(status) => state.status = Some(status),
        }
        if let Listing::Read { rows, shown, .. } = &mut state.listing {
            let changed = |old: &FilesState| match &old.listing {
                Listing::Read { rows: before, .. } => {
                    !Rc::ptr_eq(before, rows)
                        || old.open != state.open
                        || old.query != state.query
                        || old.layer != state.layer
                }
                _ => true,
            };
            if changed(&self) {
                *shown = Rc::new(visible(rows, &state.open, &state.query, state.layer));
            }
        }
        Rc::new(state)
    }
}

/// Positions of the rows to show: while searching or showing one layer, every row whose path
/// contains the query and that the layer wrote last; otherwise the rows whose directories are
/// all open.
pub fn visible(
    rows: &[TreeRow],
    open: &HashSet<String>,
    query: &str,
    layer: Option<usize>,
) -> Vec<usize> {
    let query = query.trim();
    if !query.is_empty() || layer.is_some() {
        return (0..rows.len())
            .filter(|&i| rows[i].path.contains(query) && layer.is_none_or(|l| rows[i].layer == l))
            .collect();
    }
    let mut shown = Vec::new();
    // Rows are in walk order: a closed directory's rows follow it until its prefix ends.
    let mut closed: Option<String> = None;
    for (position, row) in rows.iter().enumerate() {
        if let Some(prefix) = &closed {
            if row.path.starts_with(prefix.as_str()) {
                continue;
            }
            closed = None;
        }
        shown.push(position);
        if row.kind == Kind::Dir && !open.contains(&row.path) {
            closed = Some(format!("{}/", row.path));
        }
    }
    shown
}

/// `drwxr-xr-x`, as `ls -l` shows a mode.
pub fn mode_text(kind: Kind, mode: u32) -> String {
    let mut text = String::with_capacity(10);
    text.push(kind.letter());
    for (shift, special, special_letter) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let bits = (mode >> shift) & 7;
        text.push(if bits & 4 != 0 { 'r' } else { '-' });
        text.push(if bits & 2 != 0 { 'w' } else { '-' });
        let execute = bits & 1 != 0;
        text.push(match (mode & special != 0, execute) {
            (true, true) => special_letter,
            (true, false) => special_letter.to_ascii_uppercase(),
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    text
}

/// `2023-11-14 22:13` (UTC) for seconds since the epoch.
pub fn utc_minute(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let minute_of_day = (seconds % 86_400) / 60;
    let (year, month, day) = skiff_core::time::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        minute_of_day / 60,
        minute_of_day % 60
    )
}

/// How deep a path is: `a` 0, `a/b` 1.
pub fn depth(path: &str) -> usize {
    path.matches('/').count()
}

/// The last component of a path.
pub fn name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(path: &str, kind: Kind) -> TreeRow {
        TreeRow {
            path: path.to_owned(),
            kind,
            size: 0,
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: 0,
            link: None,
            added_by: 1,
            layer: 1,
        }
    }

    #[test]
    fn closed_directories_hide_what_is_in_them() {
        let rows = vec![
            row("bin", Kind::Dir),
            row("bin/sh", Kind::File),
            row("etc", Kind::Dir),
            row("etc/ssl", Kind::Dir),
            row("etc/ssl/cert", Kind::File),
            row("etc-old", Kind::File),
        ];
        let paths = |open: &[&str], query: &str| -> Vec<&str> {
            let open = open.iter().map(|s| s.to_string()).collect();
            visible(&rows, &open, query, None)
                .into_iter()
                .map(|i| rows[i].path.as_str())
                .collect()
        };
        assert_eq!(paths(&[], ""), ["bin", "etc", "etc-old"]);
        assert_eq!(paths(&["etc"], ""), ["bin", "etc", "etc/ssl", "etc-old"]);
        assert_eq!(
            paths(&["etc", "etc/ssl"], ""),
            ["bin", "etc", "etc/ssl", "etc/ssl/cert", "etc-old"]
        );
        // A closed parent hides an open child.
        assert_eq!(paths(&["etc/ssl"], ""), ["bin", "etc", "etc-old"]);
        assert_eq!(paths(&[], "cert"), ["etc/ssl/cert"]);
        // One layer's rows: what it wrote last.
        let mut rows = rows.clone();
        rows[4].layer = 2;
        rows[5].layer = 2;
        let two: Vec<&str> = visible(&rows, &HashSet::new(), "", Some(2))
            .into_iter()
            .map(|i| rows[i].path.as_str())
            .collect();
        assert_eq!(two, ["etc/ssl/cert", "etc-old"]);
    }

    #[test]
    fn times_read_as_utc() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00");
        assert_eq!(utc_minute(1_700_000_000), "2023-11-14 22:13");
        assert_eq!(utc_minute(951_782_400), "2000-02-29 00:00");
        assert_eq!(utc_minute(4_107_542_399), "2100-02-28 23:59");
    }

    #[test]
    fn modes_read_as_ls_shows_them() {
        assert_eq!(mode_text(Kind::Dir, 0o755), "drwxr-xr-x");
        assert_eq!(mode_text(Kind::File, 0o4755), "-rwsr-xr-x");
        assert_eq!(mode_text(Kind::Dir, 0o1777), "drwxrwxrwt");
        assert_eq!(mode_text(Kind::File, 0o2640), "-rw-r-S---");
        assert_eq!(mode_text(Kind::Symlink, 0o777), "lrwxrwxrwx");
    }
}
