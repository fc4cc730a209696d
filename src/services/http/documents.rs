//! Documents read whole (manifests, indexes, configs, tag lists), size-capped while they are
//! read, and checked before anyone uses them: one way for the pull, the copy and the explorer. A document that fails its check is fetched once
//! more ([`DOCUMENT_FETCHES`]): corruption on the way seldom repeats.

use skiff_core::explorer::exchange::Purpose;
use skiff_core::image::manifest::{check_document_size, MANIFEST_ACCEPT};
use skiff_core::image::manifest_check::{check_manifest, Expected, DOCUMENT_FETCHES};
use skiff_core::protocol::registry::{blob_url, manifest_url};
use skiff_core::{BlobVerifier, Digest, Reference};

use gloo_net::http::Response;
use skiff_core::protocol::retry::{Decision, Outcome, RetryPolicy};

use super::errors::{error_for, proxy_error_kind};
use super::{now_ms, sleep_ms, RegistrySession};
use crate::error::{js_error_text, AppError};

/// A manifest or index that matched what it was asked for by, and the registry's word for it.
pub struct CheckedManifest {
    pub body: Vec<u8>,
    pub digest: Digest,
    pub content_type: Option<String>,
    /// `Docker-Content-Digest`, as the registry sent it.
    pub header_digest: Option<String>,
}

impl RegistrySession {
    /// GET of a JSON document (manifest, config, tag list page), read whole. A body that
    /// breaks off is fetched again, with the core's backoff, like any failed request.
    pub async fn get_document(
        &self,
        url: &str,
        accept: Option<&str>,
        purpose: Purpose,
        expected_size: Option<u64>,
    ) -> Result<Document, AppError> {
        let what = purpose.label();
        let policy = RetryPolicy::default();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let response = expect_ok(self.get(url, accept, purpose).await?, what).await?;
            let headers = response.headers();
            let (content_type, digest) = (
                headers.get("content-type"),
                headers.get("docker-content-digest"),
            );
            let link = headers.get("link");
            let read = read_document(response, what)
                .await
                .and_then(|body| match expected_size {
                    // Shorter than its descriptor says: the connection broke (a chunked body that
                    // ended early looks complete).
                    Some(size) if (body.len() as u64) < size => Err(AppError::Browser(format!(
                        "reading the {what} failed: the connection broke after {} of {size} bytes",
                        body.len()
                    ))),
                    _ => Ok(body),
                });
            if let Ok(body) = &read {
                self.finish_exchange(body.len() as u64);
            }
            match read {
                Ok(body) => {
                    return Ok(Document {
                        content_type,
                        digest,
                        link,
                        body,
                    })
                }
                Err(AppError::Browser(_)) if self.signal.aborted() => {
                    return Err(AppError::Cancelled)
                }
                Err(error @ AppError::Browser(_)) => {
                    match policy.decide(attempt, Outcome::ConnectionError, now_ms()) {
                        Decision::Retry { after_ms } => {
                            sleep_ms(after_ms.min(u32::MAX as u64) as u32).await
                        }
                        _ => return Err(error),
                    }
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// A document that may not exist: `None` for a 404 (a tag nobody pushed, an API the
    /// registry does not offer), an error for any other failure.
    pub async fn get_if_found(
        &self,
        url: &str,
        accept: Option<&str>,
        purpose: Purpose,
    ) -> Result<Option<Document>, AppError> {
        let response = self.get(url, accept, purpose).await?;
        if response.status() == 404 && proxy_error_kind(&response).is_none() {
            return Ok(None);
        }
        let response = expect_ok(response, purpose.label()).await?;
        let headers = response.headers();
        let (content_type, digest, link) = (
            headers.get("content-type"),
            headers.get("docker-content-digest"),
            headers.get("link"),
        );
        let body = read_document(response, purpose.label()).await?;
        self.finish_exchange(body.len() as u64);
        Ok(Some(Document {
            content_type,
            digest,
            link,
            body,
        }))
    }

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

/// Fails unless the status is 2xx.
pub async fn expect_ok(response: Response, what: &str) -> Result<Response, AppError> {
    if response.ok() {
        Ok(response)
    } else {
        Err(error_for(&response, what).await)
    }
}

/// A JSON document and the headers that say what it is.
pub struct Document {
    pub content_type: Option<String>,
    /// `Docker-Content-Digest`.
    pub digest: Option<String>,
    /// `Link`, for paged lists.
    pub link: Option<String>,
    pub body: Vec<u8>,
}

/// Reads a JSON document (manifest, config, token, tag list) whole, refusing one larger than
/// [`skiff_core::image::manifest::MAX_DOCUMENT_BYTES`] before it fills memory: by its `Content-Length`
/// first, then while reading.
pub async fn read_document(response: Response, what: &'static str) -> Result<Vec<u8>, AppError> {
    let announced = response
        .headers()
        .get("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(length) = announced {
        check_document_size(what, length)?;
    }
    let Some(body) = response.body() else {
        return Ok(Vec::new());
    };
    let mut reader = crate::services::stream::ChunkReader::new(&body);
    let mut document = Vec::new();
    while let Some(chunk) = reader.next().await.map_err(|e| {
        AppError::Browser(format!("reading the {what} failed: {}", js_error_text(&e)))
    })? {
        let size = document.len() as u64 + u64::from(chunk.length());
        if let Err(error) = check_document_size(what, size) {
            reader.cancel();
            return Err(error.into());
        }
        let start = document.len();
        document.resize(start + chunk.length() as usize, 0);
        chunk.copy_to(&mut document[start..]);
    }
    match announced {
        // A body that ends early is a connection that broke (a browser may report it as a
        // clean end).
        Some(length) if (document.len() as u64) < length => Err(AppError::Browser(format!(
            "reading the {what} failed: the connection broke after {} of {length} bytes",
            document.len()
        ))),
        _ => Ok(document),
    }
}
