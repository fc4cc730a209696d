//! Pushing one blob, sans IO: what to ask the registry next and what its answers mean
//! (distribution spec, "Pushing blobs"). The driver sends what [`BlobUpload::poll_request`]
//! says, with the bytes it names, and hands the answer to [`BlobUpload::handle_response`].
//!
//! 1. `HEAD /v2/<name>/blobs/<digest>`: already there → done, nothing sent.
//! 2. With a sibling repository that has it: `POST …/uploads/?mount=<digest>&from=<repo>`;
//!    `201` → done (mounted); `202` → the registry opened an ordinary session instead.
//! 3. `POST …/uploads/` → `202` with a `Location`.
//! 4. The bytes, in one of three [`Dialect`]s: small blobs in one `PUT <location>?digest=`;
//!    big ones in `PATCH` chunks with `Content-Range`, then an empty `PUT …?digest=`. A registry
//!    that refuses either (or miscounts the chunks it got) gets what docker and skopeo send: one
//!    `PATCH` with the whole blob, then the empty `PUT`, in a new session.
//! 5. A broken connection: `GET <location>` tells how much arrived (`Range: 0-<last>`); the
//!    upload continues from there. A registry that cannot say starts the blob over.

use crate::Digest;

/// Blobs up to this size go in one `PUT`; bigger ones in chunks.
pub const MONOLITHIC_MAX: u64 = 8 << 20;
/// The chunk size for `PATCH` uploads.
pub const CHUNK: u64 = 16 << 20;
/// Status checks after broken connections that brought no new bytes, before giving up.
const MAX_STALLED_RESUMES: u32 = 3;

/// How the bytes go up: registries differ in which they take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// One `PUT <location>?digest=` with the whole body (blobs up to [`MONOLITHIC_MAX`]).
    Whole,
    /// `PATCH` chunks with `Content-Range`, then an empty `PUT ?digest=`: resumable in pieces.
    Chunked,
    /// One `PATCH` with the whole body and no `Content-Range`, then an empty `PUT ?digest=`:
    /// what docker and skopeo send, and all some registries take.
    Streamed,
}

/// What to send next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadRequest {
    /// `HEAD /v2/<name>/blobs/<digest>`.
    Check,
    /// `POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<from>`.
    Mount { from: String },
    /// `POST /v2/<name>/blobs/uploads/`.
    Start,
    /// `PUT <url>` with the whole blob (`url` carries `digest=`).
    PutWhole { url: String },
    /// `PATCH <url>` with bytes `first..=last` and `Content-Range: first-last`.
    Patch { url: String, first: u64, last: u64 },
    /// `PATCH <url>` with the whole blob and no `Content-Range`.
    PatchWhole { url: String },
    /// `GET <url>`: how much of the upload the registry holds.
    Status { url: String },
    /// `PUT <url>` with no body (`url` carries `digest=`): the upload is complete.
    Finish { url: String },
}

/// How the blob reached the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Uploaded {
    /// It was there already: nothing sent.
    Present,
    /// Mounted from another repository of the registry: nothing sent.
    Mounted,
    /// Sent, this many bytes in all (resent bytes included).
    Sent(u64),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("the registry answered {status} to {what}")]
    Status { what: &'static str, status: u16 },
    #[error(
        "the registry's answer to {what} has no Location header; it cannot take uploads this way"
    )]
    NoLocation { what: &'static str },
    #[error("the registry says it holds {held} bytes of the upload, more than the blob's {size}")]
    BadRange { held: u64, size: u64 },
    #[error("the upload kept breaking off without progress ({tries} tries); check the connection and push again")]
    Stalled { tries: u32 },
}

/// The answer's parts the upload needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer<'a> {
    pub status: u16,
    pub location: Option<&'a str>,
    /// `Range: 0-<last>`, the bytes the registry holds.
    pub range: Option<&'a str>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    Checking,
    Mounting,
    Starting,
    Sending,
    Asking,
    Finishing,
    Done(Uploaded),
}

/// One blob's push.
#[derive(Clone, Debug)]
pub struct BlobUpload {
    digest: Digest,
    size: u64,
    /// The registry's base (`https://registry.example`), to resolve relative `Location`s.
    base: String,
    mount_from: Option<String>,
    phase: Phase,
    location: Option<String>,
    /// Bytes the registry holds.
    offset: u64,
    sent: u64,
    stalled: u32,
    dialect: Dialect,
    /// The dialect was changed after a refusal (once only).
    fell_back: bool,
    /// Chunks refused with 416 (the registry and the upload disagreed on what arrived).
    refused_chunks: u32,
}

impl BlobUpload {
    /// `mount_from`: another repository of the same registry that may have the blob.
    pub fn new(digest: Digest, size: u64, base: &str, mount_from: Option<String>) -> Self {
        Self {
            digest,
            size,
            base: base.trim_end_matches('/').to_owned(),
            mount_from,
            phase: Phase::Checking,
            location: None,
            offset: 0,
            sent: 0,
            stalled: 0,
            dialect: if size <= MONOLITHIC_MAX {
                Dialect::Whole
            } else {
                Dialect::Chunked
            },
            fell_back: false,
            refused_chunks: 0,
        }
    }

    /// How the bytes go up now.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// What to send now; `None` once the blob is in the registry.
    pub fn poll_request(&self) -> Option<UploadRequest> {
        let location = || self.location.clone().unwrap_or_default();
        Some(match &self.phase {
            Phase::Checking => UploadRequest::Check,
            Phase::Mounting => UploadRequest::Mount {
                from: self.mount_from.clone().unwrap_or_default(),
            },
            Phase::Starting => UploadRequest::Start,
            Phase::Sending if self.dialect == Dialect::Whole => UploadRequest::PutWhole {
                url: with_digest(&location(), &self.digest),
            },
            Phase::Sending if self.dialect == Dialect::Streamed => {
                UploadRequest::PatchWhole { url: location() }
            }
            Phase::Sending => UploadRequest::Patch {
                url: location(),
                first: self.offset,
                last: (self.offset + CHUNK).min(self.size) - 1,
            },
            Phase::Asking => UploadRequest::Status { url: location() },
            Phase::Finishing => UploadRequest::Finish {
                url: with_digest(&location(), &self.digest),
            },
            Phase::Done(_) => return None,
        })
    }

    /// How it ended, once it has.
    pub fn outcome(&self) -> Option<Uploaded> {
        match self.phase {
            Phase::Done(how) => Some(how),
            _ => None,
        }
    }

    /// The answer to the request [`Self::poll_request`] gave.
    pub fn handle_response(&mut self, answer: &Answer<'_>) -> Result<(), UploadError> {
        let status = answer.status;
        match self.phase.clone() {
            Phase::Checking => {
                self.phase = match status {
                    200 => Phase::Done(Uploaded::Present),
                    404 if self.mount_from.is_some() => Phase::Mounting,
                    404 => Phase::Starting,
                    _ => {
                        return Err(UploadError::Status {
                            what: "the blob check",
                            status,
                        })
                    }
                }
            }
            Phase::Mounting => match status {
                201 => self.phase = Phase::Done(Uploaded::Mounted),
                202 => self.open(answer, "the mount")?,
                _ => {
                    return Err(UploadError::Status {
                        what: "the mount",
                        status,
                    })
                }
            },
            Phase::Starting => match status {
                202 => self.open(answer, "starting the upload")?,
                _ => {
                    return Err(UploadError::Status {
                        what: "starting the upload",
                        status,
                    })
                }
            },
            Phase::Sending => {
                let last = (self.offset + CHUNK).min(self.size) - 1;
                match (self.dialect, status) {
                    (Dialect::Whole, 201) => {
                        self.sent += self.size;
                        self.phase = Phase::Done(Uploaded::Sent(self.sent));
                    }
                    (Dialect::Chunked, 202) => {
                        self.sent += last + 1 - self.offset;
                        self.follow(answer);
                        let held = held(answer.range).unwrap_or(last + 1);
                        if held > last + 1 || held <= self.offset {
                            // It counts chunks some other way: the session's bytes are unknown.
                            return self.fall_back("a chunk", status);
                        }
                        self.advance_to(held)?;
                    }
                    (Dialect::Streamed, 202) => {
                        self.sent += self.size;
                        self.follow(answer);
                        self.advance_to(self.size)?;
                    }
                    // The upstream failed under the upload (the proxy says so with a 502 or
                    // 504): ask how much arrived.
                    (_, 502..=504) => self.handle_break(),
                    // The registry holds another amount than the chunk assumed: a new session.
                    (Dialect::Chunked, 416) if self.refused_chunks == 0 => {
                        self.refused_chunks += 1;
                        self.start_over();
                    }
                    (_, 401 | 403 | 404 | 429) => {
                        return Err(UploadError::Status {
                            what: self.sending(),
                            status,
                        })
                    }
                    (_, _) => return self.fall_back(self.sending(), status),
                }
            }
            Phase::Asking => match status {
                204 => {
                    self.follow(answer);
                    let held = held(answer.range).unwrap_or(0);
                    self.count_progress(held > self.offset)?;
                    // A monolithic PUT that broke continues in chunks from what arrived.
                    if self.dialect == Dialect::Whole && held > 0 {
                        self.dialect = Dialect::Chunked;
                    }
                    if self.dialect == Dialect::Streamed && held < self.size {
                        // One PATCH of everything: it goes again, whole, in a new session.
                        self.start_over();
                        return Ok(());
                    }
                    self.offset = held;
                    self.advance_to(held)?;
                }
                401 | 403 => {
                    return Err(UploadError::Status {
                        what: "the upload's status",
                        status,
                    })
                }
                // The session is gone (expired, or the registry restarted), or the registry
                // cannot say how much it holds: start again.
                _ => {
                    self.count_progress(false)?;
                    self.start_over();
                }
            },
            Phase::Finishing => match status {
                201 => self.phase = Phase::Done(Uploaded::Sent(self.sent)),
                502..=504 => self.handle_break(),
                // The bytes did not add up to the digest: the chunks were miscounted.
                400 if self.dialect == Dialect::Chunked => {
                    return self.fall_back("completing the upload", status)
                }
                _ => {
                    return Err(UploadError::Status {
                        what: "completing the upload",
                        status,
                    })
                }
            },
            Phase::Done(_) => {}
        }
        Ok(())
    }

    /// The connection broke before an answer came (to a send): ask how much arrived.
    pub fn handle_break(&mut self) {
        match self.phase {
            Phase::Sending | Phase::Finishing if self.location.is_some() => {
                self.phase = Phase::Asking
            }
            // Nothing to resume yet: the same request again.
            _ => {}
        }
    }

    /// What the sending request is, for errors.
    fn sending(&self) -> &'static str {
        match self.dialect {
            Dialect::Whole => "the upload",
            Dialect::Chunked => "a chunk",
            Dialect::Streamed => "the upload (one PATCH)",
        }
    }

    /// The registry refused how the bytes went up: once, they go again as docker sends them
    /// (one `PATCH`, then an empty `PUT`), in a new session.
    fn fall_back(&mut self, what: &'static str, status: u16) -> Result<(), UploadError> {
        if self.fell_back || self.dialect == Dialect::Streamed {
            return Err(UploadError::Status { what, status });
        }
        self.fell_back = true;
        self.dialect = Dialect::Streamed;
        self.start_over();
        Ok(())
    }

    /// A status check after a break: progress, or one more try without any.
    fn count_progress(&mut self, progressed: bool) -> Result<(), UploadError> {
        if progressed {
            self.stalled = 0;
            return Ok(());
        }
        self.stalled += 1;
        if self.stalled > MAX_STALLED_RESUMES {
            return Err(UploadError::Stalled {
                tries: self.stalled,
            });
        }
        Ok(())
    }

    /// Leaves the session and starts a new one from the blob's first byte (the bytes sent
    /// turned out wrong, or the registry and the upload disagree on what arrived).
    pub fn start_over(&mut self) {
        self.location = None;
        self.offset = 0;
        self.phase = Phase::Starting;
    }

    fn open(&mut self, answer: &Answer<'_>, what: &'static str) -> Result<(), UploadError> {
        let location = answer.location.ok_or(UploadError::NoLocation { what })?;
        self.location = Some(self.absolute(location));
        self.offset = 0;
        self.phase = if self.size == 0 {
            Phase::Finishing
        } else {
            Phase::Sending
        };
        Ok(())
    }

    /// A later answer may move the session (`Location` changes with each chunk on some
    /// registries).
    fn follow(&mut self, answer: &Answer<'_>) {
        if let Some(location) = answer.location {
            self.location = Some(self.absolute(location));
        }
    }

    fn advance_to(&mut self, held: u64) -> Result<(), UploadError> {
        if held > self.size {
            return Err(UploadError::BadRange {
                held,
                size: self.size,
            });
        }
        self.offset = held;
        self.phase = if held == self.size {
            Phase::Finishing
        } else {
            Phase::Sending
        };
        Ok(())
    }

    fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else {
            format!("{}/{}", self.base, location.trim_start_matches('/'))
        }
    }
}

/// `0-1023` → 1024 bytes held.
fn held(range: Option<&str>) -> Option<u64> {
    let (first, last) = range?.trim().trim_start_matches("bytes=").split_once('-')?;
    let (first, last): (u64, u64) = (first.parse().ok()?, last.parse().ok()?);
    // Distribution says `0-0` for an empty upload as well as for one byte: take it as empty
    // (if one byte is there, the registry refuses the chunk from 0 and the upload starts over).
    (first == 0).then_some(if last == 0 { 0 } else { last + 1 })
}

/// The upload URL with `digest=` added to its query.
fn with_digest(location: &str, digest: &Digest) -> String {
    let separator = if location.contains('?') { '&' } else { '?' };
    format!(
        "{location}{separator}digest={}",
        digest.to_string().replace(':', "%3A")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://reg.example";

    fn answer(
        status: u16,
        location: Option<&'static str>,
        range: Option<&'static str>,
    ) -> Answer<'static> {
        Answer {
            status,
            location,
            range,
        }
    }

    #[test]
    fn a_blob_already_there_is_not_sent() {
        let mut upload = BlobUpload::new(Digest::of(b"x"), 1, BASE, None);
        assert_eq!(upload.poll_request(), Some(UploadRequest::Check));
        upload.handle_response(&answer(200, None, None)).unwrap();
        assert_eq!(upload.poll_request(), None);
        assert_eq!(upload.outcome(), Some(Uploaded::Present));
    }

    #[test]
    fn a_blob_in_a_sibling_repository_is_mounted_or_uploaded() {
        let mut upload = BlobUpload::new(Digest::of(b"x"), 1, BASE, Some("team/base".into()));
        upload.handle_response(&answer(404, None, None)).unwrap();
        assert_eq!(
            upload.poll_request(),
            Some(UploadRequest::Mount {
                from: "team/base".into()
            })
        );
        upload.handle_response(&answer(201, None, None)).unwrap();
        assert_eq!(upload.outcome(), Some(Uploaded::Mounted));

        let mut refused = BlobUpload::new(Digest::of(b"x"), 1, BASE, Some("team/base".into()));
        refused.handle_response(&answer(404, None, None)).unwrap();
        refused
            .handle_response(&answer(
                202,
                Some("/v2/app/blobs/uploads/u1?_state=s"),
                None,
            ))
            .unwrap();
        assert_eq!(
            refused.poll_request(),
            Some(UploadRequest::PutWhole {
                url: format!(
                    "{BASE}/v2/app/blobs/uploads/u1?_state=s&digest={}",
                    Digest::of(b"x").to_string().replace(':', "%3A")
                )
            })
        );
        refused.handle_response(&answer(201, None, None)).unwrap();
        assert_eq!(refused.outcome(), Some(Uploaded::Sent(1)));
    }

    #[test]
    fn big_blobs_go_in_chunks_and_resume_after_a_break() {
        let size = CHUNK * 3;
        let url = |n| format!("https://reg.example/up/{n}");
        let held = |last: u64| format!("0-{last}");
        let mut upload = BlobUpload::new(Digest::of(b"big"), size, BASE, None);
        upload.handle_response(&answer(404, None, None)).unwrap();
        assert_eq!(upload.poll_request(), Some(UploadRequest::Start));
        upload
            .handle_response(&answer(202, Some("https://reg.example/up/1"), None))
            .unwrap();
        assert_eq!(
            upload.poll_request(),
            Some(UploadRequest::Patch {
                url: url(1),
                first: 0,
                last: CHUNK - 1
            })
        );
        let first = held(CHUNK - 1);
        upload
            .handle_response(&Answer {
                status: 202,
                location: Some("/up/2"),
                range: Some(&first),
            })
            .unwrap();
        assert_eq!(
            upload.poll_request(),
            Some(UploadRequest::Patch {
                url: url(2),
                first: CHUNK,
                last: 2 * CHUNK - 1
            })
        );
        // The connection breaks mid-chunk: ask, and continue from what arrived.
        upload.handle_break();
        assert_eq!(
            upload.poll_request(),
            Some(UploadRequest::Status { url: url(2) })
        );
        let arrived = held(CHUNK + 99);
        upload
            .handle_response(&Answer {
                status: 204,
                location: None,
                range: Some(&arrived),
            })
            .unwrap();
        assert_eq!(
            upload.poll_request(),
            Some(UploadRequest::Patch {
                url: url(2),
                first: CHUNK + 100,
                last: 2 * CHUNK + 99
            })
        );
        let second = held(2 * CHUNK + 99);
        upload
            .handle_response(&Answer {
                status: 202,
                location: None,
                range: Some(&second),
            })
            .unwrap();
        assert_eq!(
            upload.poll_request(),
            Some(UploadRequest::Patch {
                url: url(2),
                first: 2 * CHUNK + 100,
                last: size - 1
            })
        );
        let all = held(size - 1);
        upload
            .handle_response(&Answer {
                status: 202,
                location: None,
                range: Some(&all),
            })
            .unwrap();
        let digest = Digest::of(b"big").to_string().replace(':', "%3A");
        assert_eq!(
            upload.poll_request(),
            Some(UploadRequest::Finish {
                url: format!("{}?digest={digest}", url(2))
            })
        );
        upload.handle_response(&answer(201, None, None)).unwrap();
        // The broken chunk's bytes are not counted: what was sent and answered for.
        assert_eq!(upload.outcome(), Some(Uploaded::Sent(3 * CHUNK - 100)));
        // A registry claiming more than the blob is refused.
        let mut liar = BlobUpload::new(Digest::of(b"x"), 10, BASE, None);
        liar.handle_response(&answer(404, None, None)).unwrap();
        liar.handle_response(&answer(202, Some("/up"), None))
            .unwrap();
        liar.handle_break();
        assert_eq!(
            liar.handle_response(&answer(204, None, Some("0-99"))),
            Err(UploadError::BadRange {
                held: 100,
                size: 10
            })
        );
    }

    /// A blob of more than one chunk, missing from the registry, its session opened at /up/1.
    fn chunked_session_opened() -> BlobUpload {
        let mut upload = BlobUpload::new(Digest::of(b"big"), CHUNK + 5, BASE, None);
        upload.handle_response(&answer(404, None, None)).unwrap();
        upload
            .handle_response(&answer(202, Some("/up/1"), None))
            .unwrap();
        upload
    }

    #[test]
    fn an_empty_session_said_as_0_0_is_sent_from_the_start() {
        let mut upload = chunked_session_opened();
        upload.handle_break();
        upload
            .handle_response(&answer(204, Some("/up/1"), Some("0-0")))
            .unwrap();
        assert!(matches!(
            upload.poll_request(),
            Some(UploadRequest::Patch { first: 0, .. })
        ));
    }

    #[test]
    fn a_refused_chunk_and_start_over_open_a_new_session() {
        let mut upload = chunked_session_opened();
        upload.handle_response(&answer(416, None, None)).unwrap();
        assert_eq!(upload.poll_request(), Some(UploadRequest::Start));
        upload
            .handle_response(&answer(202, Some("/up/2"), None))
            .unwrap();
        upload
            .handle_response(&answer(202, Some("/up/3"), Some("0-16777215")))
            .unwrap();
        // The copy found the source's bytes wrong: everything again, in a new session.
        upload.start_over();
        assert_eq!(upload.poll_request(), Some(UploadRequest::Start));
    }

    #[test]
    fn breaks_without_progress_end_the_upload() {
        let mut upload = BlobUpload::new(Digest::of(b"x"), 100, BASE, None);
        upload.handle_response(&answer(404, None, None)).unwrap();
        upload
            .handle_response(&answer(202, Some("/up"), None))
            .unwrap();
        let mut result = Ok(());
        for _ in 0..=MAX_STALLED_RESUMES {
            upload.handle_break();
            result = upload.handle_response(&answer(204, None, None));
        }
        assert_eq!(
            result,
            Err(UploadError::Stalled {
                tries: MAX_STALLED_RESUMES + 1
            })
        );
        // A session the registry forgot starts over.
        let mut lost = BlobUpload::new(Digest::of(b"x"), 100, BASE, None);
        lost.handle_response(&answer(404, None, None)).unwrap();
        lost.handle_response(&answer(202, Some("/up"), None))
            .unwrap();
        lost.handle_break();
        lost.handle_response(&answer(404, None, None)).unwrap();
        assert_eq!(lost.poll_request(), Some(UploadRequest::Start));
    }

    #[test]
    fn refusals_are_typed() {
        let mut upload = BlobUpload::new(Digest::of(b"x"), 1, BASE, None);
        assert_eq!(
            upload.handle_response(&answer(403, None, None)),
            Err(UploadError::Status {
                what: "the blob check",
                status: 403
            })
        );
        let mut upload = BlobUpload::new(Digest::of(b"x"), 1, BASE, None);
        upload.handle_response(&answer(404, None, None)).unwrap();
        assert_eq!(
            upload.handle_response(&answer(202, None, None)),
            Err(UploadError::NoLocation {
                what: "starting the upload"
            })
        );
        assert_eq!(held(Some("0-9")), Some(10));
        assert_eq!(held(Some("5-9")), None);
        assert_eq!(held(Some("junk")), None);
    }

    /// Drives an upload with `answers`, one per request; returns the requests' kinds.
    fn drive(upload: &mut BlobUpload, answers: &[Answer<'_>]) -> Vec<&'static str> {
        let mut asked = Vec::new();
        for answer in answers {
            let Some(request) = upload.poll_request() else {
                break;
            };
            asked.push(match request {
                UploadRequest::Check => "HEAD",
                UploadRequest::Mount { .. } => "POST mount",
                UploadRequest::Start => "POST",
                UploadRequest::PutWhole { .. } => "PUT body",
                UploadRequest::Patch { .. } => "PATCH range",
                UploadRequest::PatchWhole { .. } => "PATCH whole",
                UploadRequest::Status { .. } => "GET status",
                UploadRequest::Finish { .. } => "PUT empty",
            });
            upload.handle_response(answer).unwrap();
        }
        asked
    }

    #[test]
    fn dialects_fall_back_to_one_patch_and_an_empty_put() {
        let opened = answer(202, Some("/up/1"), None);
        let (missing, created) = (answer(404, None, None), answer(201, None, None));
        // A registry that refuses a PUT with a body (container-registry answers 500).
        let mut small = BlobUpload::new(Digest::of(b"x"), 10, BASE, None);
        let asked = drive(
            &mut small,
            &[
                missing.clone(),
                opened.clone(),
                answer(500, None, None),
                opened.clone(),
                answer(202, None, Some("0-10")),
                created.clone(),
            ],
        );
        assert_eq!(
            asked,
            [
                "HEAD",
                "POST",
                "PUT body",
                "POST",
                "PATCH whole",
                "PUT empty"
            ]
        );
        assert_eq!(small.outcome(), Some(Uploaded::Sent(10)));
        assert_eq!(small.dialect(), Dialect::Streamed);

        // A registry whose Range after a chunk is not the bytes it holds (it counts the
        // chunk, off by one): the session's bytes are unknown, so everything again, whole.
        let mut big = BlobUpload::new(Digest::of(b"x"), CHUNK + 5, BASE, None);
        let miscounted = format!("0-{CHUNK}");
        let asked = drive(
            &mut big,
            &[
                missing.clone(),
                opened.clone(),
                Answer {
                    status: 202,
                    location: None,
                    range: Some(&miscounted),
                },
                opened.clone(),
                answer(202, None, None),
                created.clone(),
            ],
        );
        assert_eq!(
            asked,
            [
                "HEAD",
                "POST",
                "PATCH range",
                "POST",
                "PATCH whole",
                "PUT empty"
            ]
        );
        assert_eq!(big.outcome(), Some(Uploaded::Sent(2 * CHUNK + 5)));

        // Chunks whose sum did not match the digest: the finishing PUT is refused.
        let mut summed = BlobUpload::new(Digest::of(b"x"), CHUNK + 5, BASE, None);
        let whole = format!("0-{}", CHUNK - 1);
        let rest = format!("0-{}", CHUNK + 4);
        let asked = drive(
            &mut summed,
            &[
                missing.clone(),
                opened.clone(),
                Answer {
                    status: 202,
                    location: None,
                    range: Some(&whole),
                },
                Answer {
                    status: 202,
                    location: None,
                    range: Some(&rest),
                },
                answer(400, None, None),
                opened.clone(),
            ],
        );
        assert_eq!(
            asked,
            [
                "HEAD",
                "POST",
                "PATCH range",
                "PATCH range",
                "PUT empty",
                "POST"
            ]
        );
        assert_eq!(summed.dialect(), Dialect::Streamed);
    }

    #[test]
    fn what_stands_and_what_is_asked_again() {
        let opened = answer(202, Some("/up/1"), None);
        let missing = answer(404, None, None);
        // Streamed refused too: the refusal stands (no second fallback).
        let mut upload = BlobUpload::new(Digest::of(b"x"), 10, BASE, None);
        drive(&mut upload, &[missing.clone(), opened.clone()]);
        upload.handle_response(&answer(500, None, None)).unwrap();
        drive(&mut upload, std::slice::from_ref(&opened));
        assert_eq!(
            upload.handle_response(&answer(500, None, None)),
            Err(UploadError::Status {
                what: "the upload (one PATCH)",
                status: 500
            })
        );
        // Refusals for lack of rights never fall back.
        let mut upload = BlobUpload::new(Digest::of(b"x"), 10, BASE, None);
        drive(&mut upload, &[missing.clone(), opened.clone()]);
        assert!(upload.handle_response(&answer(403, None, None)).is_err());
        // The upstream failed under a send (502 from the proxy): ask what arrived.
        let mut upload = BlobUpload::new(Digest::of(b"x"), 10, BASE, None);
        drive(&mut upload, &[missing.clone(), opened.clone()]);
        upload.handle_response(&answer(502, None, None)).unwrap();
        assert!(matches!(
            upload.poll_request(),
            Some(UploadRequest::Status { .. })
        ));
        // A registry with no status endpoint (405): a new session, from the first byte.
        upload.handle_response(&answer(405, None, None)).unwrap();
        assert_eq!(upload.poll_request(), Some(UploadRequest::Start));
    }
}
