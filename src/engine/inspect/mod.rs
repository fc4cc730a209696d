//! Inspect tasks, run in a worker: list the merged tree of an image's verified layers, export
//! it (or a directory of it) as a tar, or save one file. Layers are read from the cache with
//! `FileReaderSync` (synchronous, no lock on the blob), the result is written with a sync
//! access handle; every overlay decision is the core's (`skiff_core::overlay`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, BufWriter, Read, Write};

use sha2::{Digest as _, Sha256};
use skiff_core::overlay::diff::{compare_trees, ContentAt, PathChange, PathDifference, Undecided};
use skiff_core::overlay::entry::walk_order;
use skiff_core::overlay::export::{self, Plan};
use skiff_core::overlay::read::{for_each_entry, list, Flow};
use skiff_core::overlay::{Change, Kind, Tree};
use skiff_core::Digest;
use wasm_bindgen::JsCast;
use web_sys::{File, FileSystemSyncAccessHandle};

mod blob_io;
mod packages;

use super::opfs::{self, CacheDirs};
use super::protocol::{
    FilesComparison, InspectTask, Inspected, TreeRow, TreeSummary, MAX_DIFFERENCES_SENT,
};
use blob_io::{BlobReader, HandleWriter};
use packages::packages;

/// Where exports and saved files are written, beside the layer cache.
const EXPORTS_DIR: &str = "skiff-exports";
/// Rows per message.
const ROWS_PER_BATCH: usize = 5000;

pub async fn run(task: InspectTask, send_rows: impl Fn(Vec<TreeRow>)) -> Result<Inspected, String> {
    match task {
        InspectTask::Tree { layers } => {
            let files = open_layers(&layers).await?;
            let tree = merged(&files)?;
            send_tree(&tree, send_rows);
            Ok(Inspected::Tree(summary(&tree)))
        }
        InspectTask::Export {
            layers,
            prefix,
            file_name,
        } => {
            let files = open_layers(&layers).await?;
            let tree = merged(&files)?;
            if !prefix.is_empty() && tree.get(&prefix).is_none() {
                return Err(format!("{prefix} is not in the image"));
            }
            let plan = Plan::new(&tree, &prefix);
            let handle = output(&file_name).await?;
            let written = export::write(
                &plan,
                |layer| Ok(Box::new(BlobReader::new(files[layer].clone())?) as Box<dyn Read>),
                BufWriter::with_capacity(1 << 20, HandleWriter::new(&handle)),
            );
            let written = written.map(drop).map_err(|e| e.to_string());
            finish(handle, written, file_name)
        }
        InspectTask::Compare { a, b } => {
            let (a_files, b_files) = (open_layers(&a).await?, open_layers(&b).await?);
            let (a_tree, b_tree) = (merged(&a_files)?, merged(&b_files)?);
            let (mut differences, undecided) = compare_trees(&a_tree, &a, &b_tree, &b);
            let hashes = content_hashes(&undecided, &a_files, &b_files)?;
            for file in undecided {
                if hashes.get(&(Side::A, file.a)) != hashes.get(&(Side::B, file.b)) {
                    differences.push(PathDifference {
                        path: file.path,
                        change: PathChange::Changed,
                        kind: Kind::File,
                        size_a: Some(file.size),
                        size_b: Some(file.size),
                    });
                }
            }
            differences.sort_by(|x, y| walk_order(&x.path, &y.path));
            let count = |change| differences.iter().filter(|d| d.change == change).count();
            let comparison = FilesComparison {
                added: count(PathChange::Added),
                removed: count(PathChange::Removed),
                changed: count(PathChange::Changed),
                differences: differences.into_iter().take(MAX_DIFFERENCES_SENT).collect(),
            };
            Ok(Inspected::Compared(comparison))
        }
        InspectTask::Packages { layers } => {
            let files = open_layers(&layers).await?;
            let tree = merged(&files)?;
            Ok(Inspected::Packages(packages(&tree, &files)?))
        }
        InspectTask::Extract {
            layers,
            path,
            file_name,
        } => {
            let files = open_layers(&layers).await?;
            let tree = merged(&files)?;
            let node = tree
                .get(&path)
                .ok_or_else(|| format!("{path} is not in the image"))?;
            let ordinal = match (node.entry.kind, node.content_of) {
                (Kind::File | Kind::HardLink, Some(ordinal)) => ordinal,
                _ => return Err(format!("{path} is not a file with content")),
            };
            let layer = node.layer;
            let handle = output(&file_name).await?;
            let mut out = BufWriter::with_capacity(1 << 20, HandleWriter::new(&handle));
            let mut copied = None;
            let reader = BlobReader::new(files[layer].clone()).map_err(|e| e.to_string())?;
            let walked = for_each_entry(layer, reader, |_: Change, at, content| {
                if at != ordinal {
                    return Ok(Flow::Continue);
                }
                copied = Some(io::copy(content, &mut out));
                Ok(Flow::Stop)
            });
            let written = match (walked, copied) {
                (Err(e), _) => Err(e.to_string()),
                (Ok(()), Some(Ok(_))) => out.flush().map_err(|e| e.to_string()),
                (Ok(()), Some(Err(e))) => Err(e.to_string()),
                (Ok(()), None) => Err(format!("{path} was not found in layer {}", layer + 1)),
            };
            drop(out);
            finish(handle, written, file_name)
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Side {
    A,
    B,
}

/// SHA-256 of each file content the comparison cannot decide without, reading each layer that
/// holds some of them once.
fn content_hashes(
    undecided: &[Undecided],
    a_files: &[File],
    b_files: &[File],
) -> Result<HashMap<(Side, ContentAt), Vec<u8>>, String> {
    let mut wanted: BTreeMap<(Side, usize), HashSet<usize>> = BTreeMap::new();
    for file in undecided {
        wanted
            .entry((Side::A, file.a.layer))
            .or_default()
            .insert(file.a.ordinal);
        wanted
            .entry((Side::B, file.b.layer))
            .or_default()
            .insert(file.b.ordinal);
    }
    let mut hashes = HashMap::new();
    for ((side, layer), ordinals) in wanted {
        let file = match side {
            Side::A => &a_files[layer],
            Side::B => &b_files[layer],
        };
        let reader = BlobReader::new(file.clone()).map_err(|e| e.to_string())?;
        let mut failure = None;
        for_each_entry(layer, reader, |_: Change, ordinal, content| {
            if ordinals.contains(&ordinal) {
                match sha256_of(content) {
                    Ok(hash) => {
                        hashes.insert((side, ContentAt { layer, ordinal }), hash);
                    }
                    Err(e) => {
                        failure = Some(e.to_string());
                        return Ok(Flow::Stop);
                    }
                }
            }
            Ok(Flow::Continue)
        })
        .map_err(|e| e.to_string())?;
        if let Some(failure) = failure {
            return Err(failure);
        }
    }
    Ok(hashes)
}

fn sha256_of(content: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        match content.read(&mut buffer)? {
            0 => return Ok(hasher.finalize().to_vec()),
            read => hasher.update(&buffer[..read]),
        }
    }
}

async fn open_layers(keys: &[Digest]) -> Result<Vec<File>, String> {
    let dirs = CacheDirs::open().await.map_err(|e| e.to_string())?;
    let mut files = Vec::with_capacity(keys.len());
    for (position, key) in keys.iter().enumerate() {
        let missing = |_| {
            format!(
                "layer {} ({}) is no longer in the layer cache: pull the image again",
                position + 1,
                key.short()
            )
        };
        let handle = opfs::file(&dirs.blobs, key.hex(), false)
            .await
            .map_err(missing)?;
        let file = opfs::wait(handle.get_file(), "opening a cached layer")
            .await
            .map_err(|e| e.to_string())?;
        files.push(file.unchecked_into());
    }
    Ok(files)
}

fn merged(files: &[File]) -> Result<Tree, String> {
    let mut tree = Tree::new();
    for (index, file) in files.iter().enumerate() {
        let reader = BlobReader::new(file.clone()).map_err(|e| e.to_string())?;
        let changes = list(index, reader).map_err(|e| e.to_string())?;
        tree.apply(index, &changes);
    }
    Ok(tree)
}

fn send_tree(tree: &Tree, send_rows: impl Fn(Vec<TreeRow>)) {
    let sizes = tree.directory_sizes();
    let mut batch = Vec::with_capacity(ROWS_PER_BATCH);
    for (path, node) in tree.walk() {
        let entry = &node.entry;
        batch.push(TreeRow {
            path: path.to_owned(),
            kind: entry.kind,
            size: match entry.kind {
                Kind::Dir => sizes.get(path).copied().unwrap_or(0),
                _ => entry.size,
            },
            mode: entry.mode,
            uid: entry.uid,
            gid: entry.gid,
            mtime: entry.mtime,
            link: entry.link.clone(),
            added_by: node.added_by + 1,
            layer: node.layer + 1,
        });
        if batch.len() == ROWS_PER_BATCH {
            send_rows(std::mem::take(&mut batch));
        }
    }
    if !batch.is_empty() {
        send_rows(batch);
    }
}

fn summary(tree: &Tree) -> TreeSummary {
    let files = tree
        .nodes()
        .filter(|(_, n)| n.entry.kind != Kind::Dir)
        .count();
    TreeSummary {
        paths: tree.len(),
        files,
        bytes: tree.total_size(),
        wasted: tree.wasted(),
        removed: tree.removed().len(),
        removed_paths: tree
            .removed()
            .iter()
            .take(MAX_DIFFERENCES_SENT)
            .cloned()
            .collect(),
    }
}

/// The folder exports and saved files are written to.
pub async fn exports_dir() -> Result<web_sys::FileSystemDirectoryHandle, String> {
    let root = opfs::root().await.map_err(|e| e.to_string())?;
    opfs::subdirectory(&root, EXPORTS_DIR)
        .await
        .map_err(|e| e.to_string())
}

async fn output(file_name: &str) -> Result<FileSystemSyncAccessHandle, String> {
    let file = opfs::file(&exports_dir().await?, file_name, true)
        .await
        .map_err(|e| e.to_string())?;
    let handle = opfs::sync_handle(&file).await.map_err(|e| e.to_string())?;
    handle
        .truncate_with_f64(0.0)
        .map_err(|e| opfs::fail("emptying the export file", &e).to_string())?;
    Ok(handle)
}

fn finish(
    handle: FileSystemSyncAccessHandle,
    result: Result<(), String>,
    file_name: String,
) -> Result<Inspected, String> {
    let size = handle.get_size().unwrap_or(0.0) as u64;
    if result.is_err() {
        let _ = handle.truncate_with_f64(0.0);
    }
    handle.close();
    result.map(|()| Inspected::Saved { file_name, size })
}
