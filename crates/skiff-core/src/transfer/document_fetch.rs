//! Fetching one document whole (a manifest, an index, a config, a tag list page), sans IO, the
//! way [`crate::transfer::blob_fetch::BlobFetch`] fetches a layer: the driver sends and reads,
//! and asks what to do next. Documents are small, so a body that breaks off is fetched again from
//! its start (no `Range`); one whose bytes fail their check is fetched once more
//! ([`DOCUMENT_FETCHES`]), since corruption on the way seldom repeats. Answers, credentials and
//! their retries are the session's ([`crate::protocol::session`], [`RetryPolicy`]).

use crate::image::manifest::MAX_DOCUMENT_BYTES;
use crate::protocol::retry::{Decision, Outcome, RetryPolicy};

/// How many times a document is fetched while its bytes fail their check (digest, size): once
/// more after a mismatch, as a layer is downloaded whole once more. A registry that serves
/// wrong bytes twice is reported.
pub const DOCUMENT_FETCHES: u32 = 2;

/// What the driver does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocumentStep {
    /// Send the request and read its body whole, then call [`DocumentFetch::handle_body`].
    Fetch,
    /// Wait this long, then fetch again.
    Wait { ms: u64 },
    /// The body is whole: check it; on a mismatch call [`DocumentFetch::handle_mismatch`].
    Check,
    /// Stop: report the failure with what the driver knows of it.
    Fail(DocumentFailure),
}

/// Why a document fetch stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocumentFailure {
    /// The body kept breaking off: `received` of `expected` bytes the last time.
    Broken {
        received: u64,
        expected: Option<u64>,
    },
    /// Larger than [`MAX_DOCUMENT_BYTES`] (announced or received).
    TooLarge { size: u64 },
    /// Its bytes failed their check on every fetch.
    Mismatch,
}

/// How a body read ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyEnd {
    /// Bytes read.
    pub received: u64,
    /// The answer's `Content-Length`, if it had one.
    pub announced: Option<u64>,
    /// The read failed (rather than reaching the body's end).
    pub broke: bool,
}

/// One document's fetch.
#[derive(Clone, Debug)]
pub struct DocumentFetch {
    /// The size the document's descriptor gives, when something named it by digest and size.
    expected_size: Option<u64>,
    policy: RetryPolicy,
    attempt: u32,
    fetches: u32,
}

impl DocumentFetch {
    pub fn new(expected_size: Option<u64>) -> Self {
        Self {
            expected_size,
            policy: RetryPolicy::default(),
            attempt: 0,
            fetches: 1,
        }
    }

    /// The first step: refused before any request when the descriptor's size is too large.
    pub fn start(&mut self) -> DocumentStep {
        match self.expected_size.filter(|s| *s > MAX_DOCUMENT_BYTES) {
            Some(size) => DocumentStep::Fail(DocumentFailure::TooLarge { size }),
            None => {
                self.attempt = 1;
                DocumentStep::Fetch
            }
        }
    }

    /// The most bytes worth reading of this body: past it the driver stops and reports
    /// [`DocumentFailure::TooLarge`] (a document announced or growing beyond the cap).
    pub fn allows(&self, size: u64) -> bool {
        size <= MAX_DOCUMENT_BYTES
    }

    /// A body was read (whole, or until it broke).
    pub fn handle_body(&mut self, end: BodyEnd, now_ms: u64) -> DocumentStep {
        let BodyEnd {
            received,
            announced,
            broke,
        } = end;
        if let Some(size) = announced.filter(|a| !self.allows(*a)) {
            return DocumentStep::Fail(DocumentFailure::TooLarge { size });
        }
        if !self.allows(received) {
            return DocumentStep::Fail(DocumentFailure::TooLarge { size: received });
        }
        // Shorter than its length or descriptor says: the connection broke (a body that ended
        // early may look complete to a browser).
        let expected = announced.or(self.expected_size);
        let short = expected.is_some_and(|e| received < e);
        if !broke && !short {
            return DocumentStep::Check;
        }
        match self
            .policy
            .decide(self.attempt, Outcome::ConnectionError, now_ms)
        {
            Decision::Retry { after_ms } => {
                self.attempt += 1;
                DocumentStep::Wait { ms: after_ms }
            }
            _ => DocumentStep::Fail(DocumentFailure::Broken { received, expected }),
        }
    }

    /// The whole body failed its check.
    pub fn handle_mismatch(&mut self) -> DocumentStep {
        if self.fetches < DOCUMENT_FETCHES {
            self.fetches += 1;
            self.attempt = 1;
            DocumentStep::Fetch
        } else {
            DocumentStep::Fail(DocumentFailure::Mismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(received: u64, announced: Option<u64>, broke: bool) -> BodyEnd {
        BodyEnd {
            received,
            announced,
            broke,
        }
    }

    #[test]
    fn what_follows_a_body() {
        let table: [(&str, Option<u64>, BodyEnd, DocumentStep); 7] = [
            ("whole", None, end(10, Some(10), false), DocumentStep::Check),
            (
                "no length said",
                None,
                end(10, None, false),
                DocumentStep::Check,
            ),
            (
                "shorter than announced",
                None,
                end(4, Some(10), false),
                DocumentStep::Wait { ms: 500 },
            ),
            (
                "shorter than its descriptor",
                Some(10),
                end(4, None, false),
                DocumentStep::Wait { ms: 500 },
            ),
            (
                "longer than its descriptor: the check says",
                Some(10),
                end(12, None, false),
                DocumentStep::Check,
            ),
            (
                "broke",
                None,
                end(4, None, true),
                DocumentStep::Wait { ms: 500 },
            ),
            (
                "announced too large",
                None,
                end(0, Some(MAX_DOCUMENT_BYTES + 1), true),
                DocumentStep::Fail(DocumentFailure::TooLarge {
                    size: MAX_DOCUMENT_BYTES + 1,
                }),
            ),
        ];
        for (what, size, body, expected) in table {
            let mut fetch = DocumentFetch::new(size);
            assert_eq!(fetch.start(), DocumentStep::Fetch, "{what}");
            assert_eq!(fetch.handle_body(body, 0), expected, "{what}");
        }
    }

    #[test]
    fn a_body_that_keeps_breaking_is_given_up_with_backoff() {
        let mut fetch = DocumentFetch::new(None);
        fetch.start();
        let mut waits = Vec::new();
        let last = loop {
            match fetch.handle_body(end(3, Some(9), false), 0) {
                DocumentStep::Wait { ms } => waits.push(ms),
                other => break other,
            }
        };
        assert_eq!(waits, [500, 1000, 2000, 4000]);
        assert_eq!(
            last,
            DocumentStep::Fail(DocumentFailure::Broken {
                received: 3,
                expected: Some(9)
            })
        );
    }

    #[test]
    fn a_mismatch_is_fetched_once_more() {
        let mut fetch = DocumentFetch::new(Some(10));
        fetch.start();
        assert_eq!(fetch.handle_mismatch(), DocumentStep::Fetch);
        assert_eq!(
            fetch.handle_mismatch(),
            DocumentStep::Fail(DocumentFailure::Mismatch)
        );
    }

    #[test]
    fn a_descriptor_too_large_is_refused_before_a_request() {
        let mut fetch = DocumentFetch::new(Some(MAX_DOCUMENT_BYTES + 1));
        assert_eq!(
            fetch.start(),
            DocumentStep::Fail(DocumentFailure::TooLarge {
                size: MAX_DOCUMENT_BYTES + 1
            })
        );
    }
}
