//! Fetching one blob whole, sans IO (the shape of quinn-proto's `Connection`: the driver feeds
//! in what happened with `handle_*` and asks what to do next with [`BlobFetch::poll`]). Every
//! decision of a blob download lives here: the attempt count and backoff, a fresh credential
//! after a `401`, resuming a broken body with `Range`, a `416` that starts the blob over once,
//! a whole blob whose digest is wrong fetched once more. The driver only moves bytes: it sends,
//! reads bodies, stores what its checker passed, and runs the final check.

use crate::protocol::resume::{ResumeAccepted, ResumeError, ResumeState};
use crate::protocol::retry::{Decision, GiveUp, Outcome, RetryPolicy};
use crate::protocol::session::MAX_AUTH_RETRIES;

/// The wait before continuing a body that broke off (the connection, not the server, failed).
pub const BREAK_PAUSE_MS: u64 = 200;

/// What the driver does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchStep {
    /// Send the request (with `Range: range` if given, and the current credential), then call
    /// [`BlobFetch::handle_answer`] or [`BlobFetch::handle_no_answer`].
    Send { range: Option<String> },
    /// Wait this long, then poll again.
    Wait { ms: u64 },
    /// Get a fresh credential (the answer's challenge says how), then poll again.
    Reauthorize,
    /// Read the body, storing what passes the checks (after discarding what was kept, if
    /// `discard`); report progress, then call [`BlobFetch::handle_body_end`].
    ReadBody { discard: bool },
    /// Discard what was kept, then poll again: the whole blob is asked for.
    StartOver,
    /// Every byte is here: run the final checks; on a wrong digest call
    /// [`BlobFetch::handle_corrupt`].
    Finish,
    /// Stop.
    Fail(FetchFailure),
}

/// Why a fetch stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchFailure {
    /// No answer on every attempt.
    #[error("no answer after {attempts} attempts")]
    Unreachable { attempts: u32 },
    /// An answer that stands (the driver reports it with what the answer said).
    #[error("the answer was {status}")]
    Status { status: u16 },
    /// The body kept breaking off without bringing new bytes.
    #[error("the body kept breaking off without bringing new bytes")]
    Broken,
    /// The answer to a `Range` did not fit, or the bytes did not add up.
    #[error(transparent)]
    Resume(ResumeError),
    /// The blob arrived whole twice, and its digest was wrong both times.
    #[error("the blob arrived whole twice and did not match its digest either time")]
    CorruptTwice,
}

/// An answer's status and the headers that decide what follows, as received.
#[derive(Clone, Copy, Debug, Default)]
pub struct Answer<'a> {
    pub status: u16,
    pub content_range: Option<&'a str>,
    pub content_length: Option<u64>,
    pub retry_after: Option<&'a str>,
    /// The proxy's `x-skiff-proxy-error`, when it answered itself.
    pub proxy_error: Option<&'a str>,
}

/// One blob's download, from one source at a time.
#[derive(Clone, Debug)]
pub struct BlobFetch {
    resume: ResumeState,
    policy: RetryPolicy,
    attempt: u32,
    reauths: u32,
    /// The source takes the registry's credential (a foreign URL never does).
    credentialed: bool,
    /// The last request asked for a `Range`.
    ranged: bool,
}

impl BlobFetch {
    /// A download of `size` bytes, retried as `policy` says.
    pub fn new(size: u64, policy: RetryPolicy) -> Self {
        Self {
            resume: ResumeState::new(size),
            policy,
            attempt: 0,
            reauths: 0,
            credentialed: false,
            ranged: false,
        }
    }

    /// Starts on a source (the registry, or a foreign layer's URL): its own attempts and
    /// credential renewals. What is kept stays kept.
    pub fn begin_source(&mut self, credentialed: bool) {
        self.attempt = 0;
        self.reauths = 0;
        self.credentialed = credentialed;
    }

    /// Reads the blob again from its first byte (its consumer needs bytes it let go of); the
    /// one whole re-download a corrupt blob is allowed stays used if it was.
    pub fn rewind(&mut self) {
        self.resume.rewind();
    }

    /// Forgets every byte kept (another source starts from nothing).
    pub fn forget_kept(&mut self) {
        self.resume = ResumeState::new(self.resume.expected_size());
    }

    /// Bytes kept so far.
    pub fn written(&self) -> u64 {
        self.resume.written()
    }

    pub fn is_complete(&self) -> bool {
        self.resume.is_complete()
    }

    /// `total` bytes are now kept (read from the body, or verified again from a partial file).
    pub fn handle_progress(&mut self, total: u64) -> Result<(), ResumeError> {
        self.resume.handle_progress(total)
    }

    /// What to do now: run the final checks when every byte is here, else send.
    pub fn poll(&mut self) -> FetchStep {
        if self.resume.is_complete() {
            return FetchStep::Finish;
        }
        self.attempt += 1;
        let range = self.resume.next_request().range_header();
        self.ranged = range.is_some();
        FetchStep::Send { range }
    }

    /// The request got no answer (the connection failed).
    pub fn handle_no_answer(&mut self, now_ms: u64) -> FetchStep {
        match self
            .policy
            .decide(self.attempt, Outcome::ConnectionError, now_ms)
        {
            Decision::Retry { after_ms } => FetchStep::Wait { ms: after_ms },
            Decision::GiveUp {
                reason: GiveUp::ConnectionFailed { attempts },
            } => FetchStep::Fail(FetchFailure::Unreachable { attempts }),
            _ => FetchStep::Fail(FetchFailure::Unreachable {
                attempts: self.attempt,
            }),
        }
    }

    /// The request was answered.
    pub fn handle_answer(&mut self, answer: Answer<'_>, now_ms: u64) -> FetchStep {
        let status = answer.status;
        if status == 416 && self.ranged {
            // The server no longer agrees about what was kept: start over, once.
            return match self
                .resume
                .handle_response(status, answer.content_range, None)
            {
                Ok(ResumeAccepted::StartOver) => FetchStep::StartOver,
                _ => FetchStep::Fail(FetchFailure::Status { status }),
            };
        }
        if status == 401 && self.credentialed && self.reauths < MAX_AUTH_RETRIES {
            // A renewal is not an attempt: the same request goes again with a new credential.
            self.reauths += 1;
            self.attempt -= 1;
            return FetchStep::Reauthorize;
        }
        if !(200..300).contains(&status) {
            let outcome = Outcome::of_answer(status, answer.retry_after, answer.proxy_error);
            return match self.policy.decide(self.attempt, outcome, now_ms) {
                Decision::Retry { after_ms } => FetchStep::Wait { ms: after_ms },
                Decision::Done | Decision::GiveUp { .. } => {
                    FetchStep::Fail(FetchFailure::Status { status })
                }
            };
        }
        let accepted =
            self.resume
                .handle_response(status, answer.content_range, answer.content_length);
        match accepted {
            Err(error) => FetchStep::Fail(FetchFailure::Resume(error)),
            Ok(ResumeAccepted::StartOver) => FetchStep::StartOver,
            Ok(accepted) => {
                self.attempt = 0;
                FetchStep::ReadBody {
                    discard: accepted == ResumeAccepted::Restart,
                }
            }
        }
    }

    /// The body ended (cleanly or not): complete, or continued after a pause unless breaks keep
    /// coming without progress.
    pub fn handle_body_end(&mut self) -> FetchStep {
        if self.resume.is_complete() {
            return FetchStep::Finish;
        }
        match self.resume.handle_break() {
            Ok(_) => FetchStep::Wait { ms: BREAK_PAUSE_MS },
            Err(_) => FetchStep::Fail(FetchFailure::Broken),
        }
    }

    /// The whole blob's digest was wrong: a corrupting connection or cache may not repeat, so
    /// it is fetched whole once more; a second time, the registry serves corrupt data.
    pub fn handle_corrupt(&mut self) -> FetchStep {
        match self.resume.restart_whole_once() {
            Ok(_) => FetchStep::StartOver,
            Err(_) => FetchStep::Fail(FetchFailure::CorruptTwice),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetch(size: u64) -> BlobFetch {
        let mut fetch = BlobFetch::new(size, RetryPolicy::default());
        fetch.begin_source(true);
        fetch
    }

    fn ok(status: u16) -> Answer<'static> {
        Answer {
            status,
            ..Answer::default()
        }
    }

    #[test]
    fn a_whole_blob_in_one_answer() {
        let mut f = fetch(100);
        assert_eq!(f.poll(), FetchStep::Send { range: None });
        let answer = Answer {
            content_length: Some(100),
            ..ok(200)
        };
        assert_eq!(
            f.handle_answer(answer, 0),
            FetchStep::ReadBody { discard: false }
        );
        f.handle_progress(100).unwrap();
        assert_eq!(f.handle_body_end(), FetchStep::Finish);
        assert_eq!(f.poll(), FetchStep::Finish);
    }

    #[test]
    fn a_broken_body_continues_with_range_and_a_server_that_ignores_it_restarts() {
        let mut f = fetch(100);
        f.poll();
        f.handle_answer(ok(200), 0);
        f.handle_progress(40).unwrap();
        assert_eq!(f.handle_body_end(), FetchStep::Wait { ms: BREAK_PAUSE_MS });
        assert_eq!(
            f.poll(),
            FetchStep::Send {
                range: Some("bytes=40-".into())
            }
        );
        let resumed = Answer {
            content_range: Some("bytes 40-99/100"),
            content_length: Some(60),
            ..ok(206)
        };
        assert_eq!(
            f.handle_answer(resumed, 0),
            FetchStep::ReadBody { discard: false }
        );
        f.handle_progress(70).unwrap();
        f.handle_body_end();
        f.poll();
        // A server that ignores Range sends it all: what was kept is discarded.
        assert_eq!(
            f.handle_answer(ok(200), 0),
            FetchStep::ReadBody { discard: true }
        );
        assert_eq!(f.written(), 0);
    }

    #[test]
    fn breaks_without_progress_give_up() {
        let mut f = fetch(100);
        let mut last = FetchStep::Finish;
        for _ in 0..10 {
            f.poll();
            f.handle_answer(ok(200), 0);
            last = f.handle_body_end();
            if last == FetchStep::Fail(FetchFailure::Broken) {
                break;
            }
        }
        assert_eq!(last, FetchStep::Fail(FetchFailure::Broken));
    }

    #[test]
    fn failures_are_retried_with_backoff_then_given_up() {
        let table: [(&str, Vec<Answer<'static>>, FetchStep); 4] = [
            (
                "5xx persists",
                vec![ok(503); 5],
                FetchStep::Fail(FetchFailure::Status { status: 503 }),
            ),
            (
                "404 stands",
                vec![ok(404)],
                FetchStep::Fail(FetchFailure::Status { status: 404 }),
            ),
            (
                "the proxy refused",
                vec![Answer {
                    proxy_error: Some("host-not-allowed"),
                    ..ok(403)
                }],
                FetchStep::Fail(FetchFailure::Status { status: 403 }),
            ),
            (
                "a 503 then success",
                vec![ok(503), ok(200)],
                FetchStep::ReadBody { discard: false },
            ),
        ];
        for (what, answers, expected) in table {
            let mut f = fetch(10);
            let mut last = FetchStep::Finish;
            for answer in answers {
                f.poll();
                last = f.handle_answer(answer, 0);
            }
            assert_eq!(last, expected, "{what}");
        }
        let mut f = fetch(10);
        let mut waits = Vec::new();
        for _ in 0..5 {
            f.poll();
            match f.handle_no_answer(0) {
                FetchStep::Wait { ms } => waits.push(ms),
                other => {
                    assert_eq!(
                        other,
                        FetchStep::Fail(FetchFailure::Unreachable { attempts: 5 })
                    );
                    break;
                }
            }
        }
        assert_eq!(waits, [500, 1000, 2000, 4000]);
    }

    #[test]
    fn a_401_gets_a_fresh_credential_twice_and_does_not_count_as_an_attempt() {
        let mut f = fetch(10);
        for _ in 0..MAX_AUTH_RETRIES {
            f.poll();
            assert_eq!(f.handle_answer(ok(401), 0), FetchStep::Reauthorize);
        }
        f.poll();
        assert_eq!(
            f.handle_answer(ok(401), 0),
            FetchStep::Fail(FetchFailure::Status { status: 401 })
        );
        // A foreign URL never takes the registry's credential.
        let mut foreign = BlobFetch::new(10, RetryPolicy::default());
        foreign.begin_source(false);
        foreign.poll();
        assert_eq!(
            foreign.handle_answer(ok(401), 0),
            FetchStep::Fail(FetchFailure::Status { status: 401 })
        );
    }

    #[test]
    fn a_refused_range_and_a_corrupt_blob_start_over_once() {
        let mut f = fetch(100);
        f.poll();
        f.handle_answer(ok(200), 0);
        f.handle_progress(40).unwrap();
        f.handle_body_end();
        f.poll();
        assert_eq!(f.handle_answer(ok(416), 0), FetchStep::StartOver);
        assert_eq!(f.poll(), FetchStep::Send { range: None });
        f.handle_answer(ok(200), 0);
        f.handle_progress(100).unwrap();
        assert_eq!(f.handle_body_end(), FetchStep::Finish);
        // The whole-blob restart was used by the 416: a wrong digest now is final.
        assert_eq!(
            f.handle_corrupt(),
            FetchStep::Fail(FetchFailure::CorruptTwice)
        );

        let mut f = fetch(10);
        f.poll();
        f.handle_answer(ok(200), 0);
        f.handle_progress(10).unwrap();
        assert_eq!(f.handle_corrupt(), FetchStep::StartOver);
        assert_eq!(f.poll(), FetchStep::Send { range: None });
    }
}
