//! Documents read whole (manifests, indexes, configs), each checked before anyone uses it: one
//! way for the pull, the copy and the explorer. A document that fails its check is fetched once
//! more ([`DOCUMENT_FETCHES`]): corruption on the way seldom repeats.

use skiff_core::explorer::exchange::Purpose;
use skiff_core::image::manifest::{check_document_size, MANIFEST_ACCEPT};
use skiff_core::image::manifest_check::{check_manifest, Expected, DOCUMENT_FETCHES};
use skiff_core::protocol::registry::{blob_url, manifest_url};
use skiff_core::{BlobVerifier, Digest, Reference};

use super::RegistrySession;
use crate::error::AppError;

/// A manifest or index that matched what it was asked for by, and the registry's word for it.
pub struct CheckedManifest {
    pub body: Vec<u8>,
    pub digest: Digest,
    pub content_type: Option<String>,
    /// `Docker-Content-Digest`, as the registry sent it.
    pub header_digest: Option<String>,
}

impl RegistrySession {
    /// GET of a manifest or index by tag or digest, checked against `expected` (the pin or the
    /// index entry that named it) and the registry's `Docker-Content-Digest`.
    pub async fn fetch_manifest(
        &self,
        reference: &Reference,
        manifest_reference: &str,
        expected: Option<Expected<'_>>,
    ) -> Result<CheckedManifest, AppError> {
        if let Some(size) = expected.and_then(|e| e.size) {
            check_document_size("manifest", size)?;
        }
        let url = manifest_url(reference, manifest_reference);
        let mut attempt = 1;
        loop {
            let size = expected.and_then(|e| e.size);
            let document = self
                .get_document(&url, Some(MANIFEST_ACCEPT), Purpose::Manifest, size)
                .await?;
            match check_manifest(&document.body, expected, document.digest.as_deref()) {
                Ok(digest) => {
                    return Ok(CheckedManifest {
                        body: document.body,
                        digest,
                        content_type: document.content_type,
                        header_digest: document.digest,
                    })
                }
                Err(_) if attempt < DOCUMENT_FETCHES => attempt += 1,
                Err(mismatch) => return Err(mismatch.into()),
            }
        }
    }

    /// A blob read whole (a config, a small artifact), checked against its digest and, when
    /// known, its size.
    pub async fn fetch_blob_document(
        &self,
        reference: &Reference,
        digest: &Digest,
        size: Option<u64>,
        purpose: Purpose,
    ) -> Result<Vec<u8>, AppError> {
        if let Some(size) = size {
            check_document_size(purpose.label(), size)?;
        }
        let url = blob_url(reference, digest);
        let mut attempt = 1;
        loop {
            let body = self.get_document(&url, None, purpose, size).await?.body;
            let mut verifier = BlobVerifier::new(digest.clone(), size.unwrap_or(body.len() as u64));
            let checked = verifier.update(&body).and_then(|()| verifier.finish());
            match checked {
                Ok(_) => return Ok(body),
                Err(_) if attempt < DOCUMENT_FETCHES => attempt += 1,
                Err(error) => return Err(error.into()),
            }
        }
    }
}
