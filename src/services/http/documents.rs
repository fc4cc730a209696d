//! Documents read whole (manifests, indexes, configs, tag lists), size-capped while they are
//! read, and checked before anyone uses them: one way for the pull, the copy and the explorer.
//! What to do after a body that broke off, or bytes that failed their check, is the core's
//! [`DocumentFetch`]; this only sends, reads and checks.

use skiff_core::explorer::exchange::Purpose;
use skiff_core::image::manifest::{check_document_size, MANIFEST_ACCEPT};
use skiff_core::image::manifest_check::Expected;
use skiff_core::protocol::registry::{blob_url, manifest_url};
use skiff_core::transfer::document_fetch::{BodyEnd, DocumentFailure, DocumentFetch, DocumentStep};
use skiff_core::transfer::resolve::CheckedManifest;
use skiff_core::{BlobVerifier, Digest, Reference};

use gloo_net::http::Response;

use super::errors::{error_for, proxy_error_kind};
use super::{now_ms, sleep_ms, RegistrySession};
use crate::error::{js_error_text, AppError};

impl RegistrySession {
    /// GET of a document, read whole and handed to `check` (which returns what the document
    /// is, or why its bytes are wrong), as the core's [`DocumentFetch`] decides: a body that
    /// breaks off is fetched again with backoff; bytes that fail `check` once more.
    pub async fn fetch_document<T, E: Into<AppError>>(
        &self,
        url: &str,
        accept: Option<&str>,
        purpose: Purpose,
        expected_size: Option<u64>,
        mut check: impl FnMut(Document) -> Result<T, E>,
    ) -> Result<T, AppError> {
        let what = purpose.label();
        let mut fetch = DocumentFetch::new(expected_size);
        let mut step = fetch.start();
        let (mut last_break, mut mismatch) = (String::new(), None::<E>);
        loop {
            match step {
                DocumentStep::Fetch => {
                    let response = expect_ok(self.get(url, accept, purpose).await?, what).await?;
                    let (document, end, broke) = read_body(response).await;
                    if end.broke && self.signal.aborted() {
                        return Err(AppError::Cancelled);
                    }
                    if let Some(why) = broke {
                        last_break = why;
                    } else {
                        self.finish_exchange(end.received);
                    }
                    step = fetch.handle_body(end, now_ms());
                    if step == DocumentStep::Check {
                        match check(document) {
                            Ok(checked) => return Ok(checked),
                            Err(error) => mismatch = Some(error),
                        }
                        step = fetch.handle_mismatch();
                    }
                }
                DocumentStep::Wait { ms } => {
                    sleep_ms(ms.min(u32::MAX as u64) as u32).await;
                    step = DocumentStep::Fetch;
                }
                DocumentStep::Check => unreachable!("a body is checked as soon as it is read"),
                DocumentStep::Fail(failure) => {
                    return Err(match failure {
                        DocumentFailure::TooLarge { size } => {
                            check_document_size(what, size).err().map_or_else(
                                || AppError::Browser(format!("the {what} is too large")),
                                Into::into,
                            )
                        }
                        DocumentFailure::Broken { received, expected } => {
                            let of = expected.map_or(String::new(), |e| format!(" of {e}"));
                            let why = if last_break.is_empty() {
                                String::new()
                            } else {
                                format!(" ({last_break})")
                            };
                            AppError::Browser(format!(
                                "reading the {what} failed: the connection broke after {received}{of} bytes{why}"
                            ))
                        }
                        DocumentFailure::Mismatch => match mismatch.take() {
                            Some(error) => error.into(),
                            None => AppError::Browser(format!("the {what} failed its check")),
                        },
                    })
                }
            }
        }
    }

    /// A document read whole, as it came (a tag list page).
    pub async fn get_document(
        &self,
        url: &str,
        accept: Option<&str>,
        purpose: Purpose,
        expected_size: Option<u64>,
    ) -> Result<Document, AppError> {
        self.fetch_document(url, accept, purpose, expected_size, Ok::<_, AppError>)
            .await
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
        let document = read_document_whole(response, purpose.label()).await?;
        self.finish_exchange(document.body.len() as u64);
        Ok(Some(document))
    }

    /// GET of a manifest or index by tag or digest, checked against `expected` (the pin or the
    /// index entry that named it) and the registry's `Docker-Content-Digest`.
    pub async fn fetch_manifest(
        &self,
        reference: &Reference,
        manifest_reference: &str,
        expected: Option<Expected<'_>>,
    ) -> Result<CheckedManifest, AppError> {
        let url = manifest_url(reference, manifest_reference);
        let size = expected.and_then(|e| e.size);
        self.fetch_document(
            &url,
            Some(MANIFEST_ACCEPT),
            Purpose::Manifest,
            size,
            |document| {
                CheckedManifest::check(
                    document.body,
                    document.content_type,
                    document.digest,
                    expected,
                )
            },
        )
        .await
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
        let url = blob_url(reference, digest);
        self.fetch_document(&url, None, purpose, size, |document| {
            let body = document.body;
            let mut verifier = BlobVerifier::new(digest.clone(), size.unwrap_or(body.len() as u64));
            verifier
                .update(&body)
                .and_then(|()| verifier.finish())
                .map(|_| body)
        })
        .await
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

/// Reads a body whole, stopping once it passes the document cap
/// ([`skiff_core::image::manifest::MAX_DOCUMENT_BYTES`]) so it never fills memory: the
/// document with the headers that say what it is, how the read ended, and why it broke.
async fn read_body(response: Response) -> (Document, BodyEnd, Option<String>) {
    let headers = response.headers();
    let announced = headers
        .get("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut document = Document {
        content_type: headers.get("content-type"),
        digest: headers.get("docker-content-digest"),
        link: headers.get("link"),
        body: Vec::new(),
    };
    let mut end = BodyEnd {
        received: 0,
        announced,
        broke: false,
    };
    let too_large = |size: u64| check_document_size("document", size).is_err();
    if announced.is_some_and(too_large) {
        end.broke = true;
        return (document, end, None);
    }
    let Some(body) = response.body() else {
        return (document, end, None);
    };
    let mut reader = crate::services::stream::ChunkReader::new(&body);
    loop {
        match reader.next().await {
            Ok(Some(chunk)) => {
                let start = document.body.len();
                end.received = (start + chunk.length() as usize) as u64;
                if too_large(end.received) {
                    reader.cancel();
                    end.broke = true;
                    return (document, end, None);
                }
                document.body.resize(end.received as usize, 0);
                chunk.copy_to(&mut document.body[start..]);
            }
            Ok(None) => return (document, end, None),
            Err(error) => {
                end.broke = true;
                return (document, end, Some(js_error_text(&error)));
            }
        }
    }
}

/// Reads a document (a token answer, a few bytes of a blob, an optional document) whole,
/// once, refusing one larger than the cap and one that broke off.
async fn read_document_whole(response: Response, what: &'static str) -> Result<Document, AppError> {
    let (document, end, broke) = read_body(response).await;
    check_document_size(what, end.announced.unwrap_or(0).max(end.received))?;
    match (broke, end.announced) {
        (Some(why), _) => Err(AppError::Browser(format!(
            "reading the {what} failed: {why}"
        ))),
        // A body that ends early is a connection that broke (a browser may report it as a
        // clean end).
        (None, Some(length)) if end.received < length => Err(AppError::Browser(format!(
            "reading the {what} failed: the connection broke after {} of {length} bytes",
            end.received
        ))),
        _ => Ok(document),
    }
}

/// [`read_document_whole`]'s bytes.
pub async fn read_document(response: Response, what: &'static str) -> Result<Vec<u8>, AppError> {
    read_document_whole(response, what).await.map(|d| d.body)
}
