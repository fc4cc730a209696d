//! The archive the user picked, read from its `File` by slices: the tar index (the core's
//! [`TarIndex`] says which bytes), its images, and a check of every blob against its digest
//! before anything is uploaded.

use std::collections::BTreeMap;

use skiff_core::archive::push_archive::{ArchiveError, ArchivedImage, MAX_DOCUMENT_MEMBER};
use skiff_core::archive::read_images::archive_images;
use skiff_core::archive::tar_index::{Member, TarIndex};
use skiff_core::BlobVerifier;
use wasm_bindgen_futures::JsFuture;

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

/// Every blob of every image hashed against its digest; the first that does not match is
/// named, and nothing has been uploaded yet.
pub async fn check(
    file: &web_sys::File,
    images: &[ArchivedImage],
    mut checked: impl FnMut(&skiff_core::Digest),
) -> Result<(), AppError> {
    let mut seen = std::collections::BTreeSet::new();
    let mut buffer = vec![0; CHECK_READ as usize];
    for blob in images.iter().flat_map(|i| &i.blobs) {
        if !seen.insert(blob.digest.clone()) {
            continue;
        }
        let mut verifier = BlobVerifier::new(blob.digest.clone(), blob.member.size);
        let member = slice(
            file,
            blob.member.offset,
            (blob.member.offset + blob.member.size).saturating_sub(1),
        )?;
        let mut reader = ChunkReader::reusing(&member.stream(), CHECK_READ);
        while let Some(chunk) = reader
            .next()
            .await
            .map_err(|e| AppError::Browser(format!("reading the archive: {}", js_error_text(&e))))?
        {
            let length = chunk.length() as usize;
            if length > buffer.len() {
                // The default reader (no BYOB here) chooses its own chunk sizes.
                buffer.resize(length, 0);
            }
            let bytes = &mut buffer[..length];
            chunk.copy_to(bytes);
            verifier
                .update(bytes)
                .map_err(|error| corrupt(&blob.path, error))?;
        }
        verifier
            .finish()
            .map_err(|error| corrupt(&blob.path, error))?;
        checked(&blob.digest);
    }
    Ok(())
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
