//! The archive the user picked, read from its `File` by slices: the tar index (the core's
//! [`TarIndex`] says which bytes), its images, and a check of every blob against its digest
//! (while the uploads go: no upload's last request is sent before it passed).

use std::collections::BTreeMap;

use futures::{StreamExt as _, TryStreamExt as _};
use skiff_core::archive::push_archive::{
    ArchiveError, ArchivedImage, BlobSource, MAX_DOCUMENT_MEMBER,
};
use skiff_core::archive::read_images::archive_images;
use skiff_core::archive::tar_index::{Member, TarIndex};
use skiff_core::transfer::hashing::{HashBackend, HashBudget, HashSettings};
use skiff_core::BlobVerifier;
use wasm_bindgen_futures::JsFuture;

use crate::engine::check::Check;
use crate::engine::hashers::{LaneCheck, NativeCheck};
use crate::error::{js_error_text, AppError};
use crate::services::stream::ChunkReader;

/// Bytes hashed per read while checking blobs: read through one reused buffer (a BYOB reader
/// on the file's stream), so checking a big archive leaves no garbage behind.
const CHECK_READ: u32 = 1 << 20;

/// Bytes `offset..offset + length` of the file.
pub async fn read(file: &web_sys::Blob, offset: u64, length: u64) -> Result<Vec<u8>, AppError> {
    let part = file
        .slice_with_f64_and_f64(offset as f64, (offset + length) as f64)
        .map_err(|e| AppError::Browser(format!("reading the archive: {}", js_error_text(&e))))?;
    let buffer = JsFuture::from(part.array_buffer())
        .await
        .map_err(|e| AppError::Browser(format!("reading the archive: {}", js_error_text(&e))))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// A member's bytes as a `Blob` (a slice of the file: nothing is copied).
pub fn slice(file: &web_sys::Blob, first: u64, last: u64) -> Result<web_sys::Blob, AppError> {
    file.slice_with_f64_and_f64(first as f64, (last + 1) as f64)
        .map_err(|e| AppError::Browser(format!("reading the archive: {}", js_error_text(&e))))
}

/// The images the archive holds. Only the members its index, manifests and configs name are
/// read (each at most [`MAX_DOCUMENT_MEMBER`] bytes), found pass by pass: the core's readers
/// take bytes synchronously, so a pass that meets a member not read yet says which, and the
/// next pass has it.
pub async fn images(file: &web_sys::File) -> Result<Vec<ArchivedImage>, AppError> {
    let mut index = TarIndex::new(file.size() as u64);
    while let Some((offset, length)) = index.poll_read() {
        let bytes = read(file, offset, length).await?;
        index.handle_bytes(&bytes).map_err(archive_error)?;
    }
    let members = index.members();
    let mut read_so_far: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    loop {
        let mut wanted = Vec::new();
        let images = archive_images(&members, |m: &Member| match read_so_far.get(&m.offset) {
            Some(bytes) => bytes.clone(),
            None => {
                wanted.push(m.clone());
                Vec::new()
            }
        });
        if wanted.is_empty() {
            return images.map_err(archive_error);
        }
        for member in wanted {
            if member.size > MAX_DOCUMENT_MEMBER {
                let file = members
                    .iter()
                    .find(|(_, m)| **m == member)
                    .map_or_else(String::new, |(path, _)| path.clone());
                return Err(archive_error(ArchiveError::MemberTooBig {
                    file,
                    size: member.size,
                    limit: MAX_DOCUMENT_MEMBER,
                }));
            }
            let bytes = read(file, member.offset, member.size).await?;
            read_so_far.insert(member.offset, bytes);
        }
    }
}

/// Blobs hashed at once while checking an archive: four fill the lanes of one four-stream
/// SHA-256.
const CHECKED_AT_ONCE: usize = 4;

/// Every blob of every image hashed against its digest (each once), `CHECKED_AT_ONCE` at a
/// time: by the browser's SHA-256 when the memory budget holds the blob, else in a lane of the
/// page's four-stream SHA-256 (`sha2` when none is free). The first that does not match is
/// named. Runs while the uploads go; their last requests wait for it.
pub async fn check(
    file: &web_sys::File,
    images: &[ArchivedImage],
    hashing: HashSettings,
    checked: impl Fn(&skiff_core::Digest),
) -> Result<(), AppError> {
    let mut seen = std::collections::BTreeSet::new();
    let blobs: Vec<_> = images
        .iter()
        .flat_map(|i| &i.blobs)
        .filter(|blob| seen.insert(blob.digest.clone()))
        .collect();
    // The page is one thread whatever happens: four blobs in step there cost less than four
    // `sha2` streams taking turns.
    let hashing = HashSettings {
        lanes: 4,
        ..hashing
    };
    let budget = std::cell::RefCell::new(HashBudget::new(hashing));
    let checked = &checked;
    futures::stream::iter(blobs)
        .map(|blob| {
            let budget = &budget;
            async move {
                let grant = budget.borrow_mut().grant(blob.member.size, false);
                let result = check_blob(file, blob, grant.backend).await;
                budget.borrow_mut().release(grant);
                result.map_err(|error| match error {
                    Checked::Corrupt(error) => corrupt(&blob.path, error),
                    Checked::Unreadable(error) => error,
                })?;
                checked(&blob.digest);
                Ok(())
            }
        })
        .buffer_unordered(CHECKED_AT_ONCE)
        .try_collect()
        .await
}

enum Checked {
    Corrupt(skiff_core::Error),
    Unreadable(AppError),
}

impl From<skiff_core::Error> for Checked {
    fn from(error: skiff_core::Error) -> Self {
        Self::Corrupt(error)
    }
}

async fn check_blob(
    file: &web_sys::File,
    blob: &BlobSource,
    backend: HashBackend,
) -> Result<(), Checked> {
    let (digest, size) = (&blob.digest, blob.member.size);
    let member = slice(
        file,
        blob.member.offset,
        (blob.member.offset + size).saturating_sub(1),
    )
    .map_err(Checked::Unreadable)?;
    if backend == HashBackend::Native {
        let buffer = JsFuture::from(member.array_buffer())
            .await
            .map_err(|e| Checked::Unreadable(unreadable(&e)))?;
        let whole = NativeCheck::holding(digest, size, js_sys::Uint8Array::new(&buffer))?;
        whole.finish().await?;
        return Ok(());
    }
    let mut check = match LaneCheck::take(digest, size).filter(|_| backend == HashBackend::Lanes) {
        Some(lane) => Check::Lanes(lane),
        None => Check::Verify(BlobVerifier::new(digest.clone(), size)),
    };
    let mut buffer = vec![0; CHECK_READ as usize];
    let mut reader = ChunkReader::reusing(&member.stream(), CHECK_READ);
    while let Some(chunk) = reader
        .next()
        .await
        .map_err(|e| Checked::Unreadable(unreadable(&e)))?
    {
        let length = chunk.length() as usize;
        if length > buffer.len() {
            // The default reader (no BYOB here) chooses its own chunk sizes.
            buffer.resize(length, 0);
        }
        let bytes = &mut buffer[..length];
        chunk.copy_to(bytes);
        check.update(bytes, &mut |_: &[u8]| Ok::<(), skiff_core::Error>(()))?;
    }
    check
        .finish(&mut |_: &[u8]| Ok::<(), skiff_core::Error>(()))
        .await?;
    Ok(())
}

fn unreadable(error: &wasm_bindgen::JsValue) -> AppError {
    AppError::Browser(format!("reading the archive: {}", js_error_text(error)))
}

/// A member of the picked file that does not match its digest: the file is damaged (no
/// registry is involved yet).
fn corrupt(path: &str, error: skiff_core::Error) -> AppError {
    let detail = match error {
        skiff_core::Error::DigestMismatch { expected, actual } => {
            format!("its bytes hash to {actual}, not {expected}")
        }
        skiff_core::Error::SizeMismatch {
            expected, actual, ..
        } => format!("it holds {actual} bytes where {expected} were expected"),
        other => other.to_string(),
    };
    AppError::CorruptArchive {
        path: path.to_owned(),
        detail,
    }
}

fn archive_error(error: skiff_core::archive::push_archive::ArchiveError) -> AppError {
    AppError::Archive(error.to_string())
}
