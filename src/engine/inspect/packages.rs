//! The packages of an image's package databases: which paths are databases and what they
//! list is the core's (`skiff_core::trust::packages`); this finds them in the merged tree and
//! reads their bytes from the cached layers.

use std::collections::{BTreeMap, HashMap, HashSet};

use skiff_core::overlay::diff::ContentAt;
use skiff_core::overlay::read::{for_each_entry, Flow};
use skiff_core::overlay::{Change, Kind, Tree};
use skiff_core::trust::packages::{
    database_at, inventory, FoundDatabase, Inventory, PackageDatabase, OS_RELEASE_PATHS,
};
use web_sys::File;

use super::blob_io::BlobReader;

/// Package databases are read whole; one larger than this is not one.
const MAX_DATABASE_BYTES: u64 = 64 << 20;

/// The packages of the merged tree's package databases (which paths, and what they say, are
/// the core's), and its `os-release`.
pub(super) fn packages(tree: &Tree, files: &[File]) -> Result<Inventory, String> {
    let content = |path: &str| {
        let node = tree.get(path)?;
        match (node.entry.kind, node.content_of) {
            (Kind::File | Kind::HardLink, Some(ordinal))
                if node.entry.size <= MAX_DATABASE_BYTES =>
            {
                Some(ContentAt {
                    layer: node.layer,
                    ordinal,
                })
            }
            _ => None,
        }
    };
    let mut found: Vec<(String, PackageDatabase, Option<ContentAt>)> = tree
        .nodes()
        .filter_map(|(path, _)| {
            let database = database_at(path)?;
            Some((path.to_owned(), database, content(path)))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    // `etc/os-release` is often a link to `usr/lib/os-release`: the first file wins.
    let os_release = OS_RELEASE_PATHS.iter().find_map(|path| content(path));
    let wanted: Vec<ContentAt> = found
        .iter()
        .filter(|(_, database, _)| database.not_read_because().is_none())
        .filter_map(|(_, _, at)| *at)
        .chain(os_release)
        .collect();
    let contents = read_contents(files, &wanted)?;
    let databases: Vec<FoundDatabase> = found
        .into_iter()
        .map(|(path, database, at)| FoundDatabase {
            path,
            database,
            bytes: at.and_then(|at| contents.get(&at).cloned()),
        })
        .collect();
    let os = os_release
        .and_then(|at| contents.get(&at))
        .map(Vec::as_slice);
    Ok(inventory(&databases, os))
}

/// The contents of the files at `wanted`, reading each layer that holds some once.
fn read_contents(
    files: &[File],
    wanted: &[ContentAt],
) -> Result<HashMap<ContentAt, Vec<u8>>, String> {
    let mut by_layer: BTreeMap<usize, HashSet<usize>> = BTreeMap::new();
    for at in wanted {
        by_layer.entry(at.layer).or_default().insert(at.ordinal);
    }
    let mut contents = HashMap::new();
    for (layer, ordinals) in by_layer {
        let reader = BlobReader::new(files[layer].clone()).map_err(|e| e.to_string())?;
        let mut failure = None;
        for_each_entry(layer, reader, |_: Change, ordinal, content| {
            if ordinals.contains(&ordinal) {
                let mut bytes = Vec::new();
                if let Err(e) = content.read_to_end(&mut bytes) {
                    failure = Some(e.to_string());
                    return Ok(Flow::Stop);
                }
                contents.insert(ContentAt { layer, ordinal }, bytes);
            }
            Ok(Flow::Continue)
        })
        .map_err(|e| e.to_string())?;
        if let Some(failure) = failure {
            return Err(failure);
        }
    }
    Ok(contents)
}
