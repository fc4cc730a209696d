//! Continuing a blob download whose connection broke, sans IO. The driver reports how many
//! bytes it has kept ([`ResumeState::handle_progress`]) and that the body broke
//! ([`ResumeState::handle_break`]); the state answers with the next request's `Range`, checks the
//! answer's status and `Content-Range` ([`ResumeState::handle_response`]), and keeps the budget:
//! a resume that moved bytes forward costs nothing, a run of resumes that did not ends it.

/// Breaks in a row without a new byte before giving up.
pub const DEFAULT_MAX_STALLED: u32 = 3;

/// One blob download's resume bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResumeState {
    expected_size: u64,
    /// Bytes kept so far (written to staging and hashed).
    written: u64,
    /// The most bytes ever kept; only passing it counts as progress.
    high_water: u64,
    /// Breaks in a row that did not pass `high_water`.
    stalled: u32,
    max_stalled: u32,
    whole_restart_used: bool,
}

/// What to ask for next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResumeRequest {
    /// The whole blob: no `Range` header.
    Whole,
    /// The rest of it: `Range: bytes={offset}-`.
    From { offset: u64 },
    /// Every byte is already kept: finish and verify instead of requesting.
    Complete,
}

impl ResumeRequest {
    /// The `Range` header value to send, if any.
    pub fn range_header(&self) -> Option<String> {
        match self {
            Self::From { offset } => Some(format!("bytes={offset}-")),
            Self::Whole | Self::Complete => None,
        }
    }
}

/// How to use an accepted answer's body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResumeAccepted {
    /// Append the body after the `offset` bytes already kept.
    Continue { offset: u64 },
    /// The server ignored `Range` and sent the whole blob: discard what was kept and hash again
    /// from byte 0.
    Restart,
    /// The server refused the `Range` (416): it no longer agrees about what was kept. Discard
    /// it and ask for the whole blob again, without a `Range` (once per blob).
    StartOver,
}

/// A parsed `Content-Range` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentRange {
    /// `bytes first-last/complete_length` (`*` for an unknown length).
    Bytes {
        first: u64,
        last: u64,
        complete_length: Option<u64>,
    },
    /// `bytes */complete_length`, the form of a `416` answer.
    Unsatisfied { complete_length: u64 },
}

/// Why a download cannot continue.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResumeError {
    #[error("the server answered 206 Partial Content without a Content-Range header, so Skiff cannot tell which bytes came; if a CORS proxy is in between, it must expose Content-Range")]
    MissingContentRange,
    #[error(
        "unreadable Content-Range header {value:?}: {reason}; expected `bytes first-last/length`"
    )]
    InvalidContentRange { value: String, reason: &'static str },
    #[error("asked for bytes {asked_from}- of a {size}-byte blob but got {got}; the server (or a cache before it) sent another part or another blob, so the download stops rather than splice the wrong bytes")]
    WrongRange {
        asked_from: u64,
        size: u64,
        got: String,
    },
    #[error("the answer announces {actual} bytes where {expected} were expected; the server is sending something else than the blob the manifest names")]
    LengthMismatch { expected: u64, actual: u64 },
    #[error("the server refused to resume at byte {from} of {size} (416 Range Not Satisfiable); the blob it holds may differ from the manifest's, try the pull again")]
    RangeNotSatisfiable { from: u64, size: u64 },
    #[error("resuming at byte {from} got status {status} instead of 200 or 206; the download stops here")]
    UnexpectedStatus { status: u16, from: u64 },
    #[error("the connection broke {breaks} times in a row without a new byte ({received} of {size} bytes kept); check the network or the proxy and try again")]
    NoProgress {
        breaks: u32,
        received: u64,
        size: u64,
    },
    #[error("the blob grew past its {size} bytes (at least {received} arrived); the server is sending more than the manifest describes")]
    TooManyBytes { size: u64, received: u64 },
    #[error("progress went back from {from} to {to} bytes without a restart; this is a bug in the download driver")]
    WentBackwards { from: u64, to: u64 },
    #[error("the blob failed verification again after a full second download; the registry serves corrupt data for it, so the pull cannot complete")]
    CorruptTwice,
}

impl ResumeState {
    /// A fresh download of `expected_size` bytes.
    pub fn new(expected_size: u64) -> Self {
        Self {
            expected_size,
            written: 0,
            high_water: 0,
            stalled: 0,
            max_stalled: DEFAULT_MAX_STALLED,
            whole_restart_used: false,
        }
    }

    /// Gives up after `max_stalled` breaks in a row without a new byte (at least 1).
    pub fn with_max_stalled(mut self, max_stalled: u32) -> Self {
        self.max_stalled = max_stalled.max(1);
        self
    }

    pub fn expected_size(&self) -> u64 {
        self.expected_size
    }

    /// Bytes kept so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn is_complete(&self) -> bool {
        self.written == self.expected_size
    }

    /// Records that `bytes_written_total` bytes are now kept.
    pub fn handle_progress(&mut self, bytes_written_total: u64) -> Result<(), ResumeError> {
        if bytes_written_total > self.expected_size {
            return Err(ResumeError::TooManyBytes {
                size: self.expected_size,
                received: bytes_written_total,
            });
        }
        if bytes_written_total < self.written {
            return Err(ResumeError::WentBackwards {
                from: self.written,
                to: bytes_written_total,
            });
        }
        self.written = bytes_written_total;
        Ok(())
    }

    /// The body broke off: spends budget unless bytes moved past the best so far, and says
    /// what to request next.
    pub fn handle_break(&mut self) -> Result<ResumeRequest, ResumeError> {
        if self.is_complete() {
            return Ok(ResumeRequest::Complete);
        }
        if self.written > self.high_water {
            self.high_water = self.written;
            self.stalled = 0;
        } else {
            self.stalled += 1;
            if self.stalled >= self.max_stalled {
                return Err(ResumeError::NoProgress {
                    breaks: self.stalled,
                    received: self.written,
                    size: self.expected_size,
                });
            }
        }
        Ok(self.next_request())
    }

    /// The request that continues from what is kept.
    pub fn next_request(&self) -> ResumeRequest {
        match self.written {
            0 => ResumeRequest::Whole,
            n if n >= self.expected_size => ResumeRequest::Complete,
            offset => ResumeRequest::From { offset },
        }
    }

    /// Judges the answer to [`ResumeState::next_request`] without changing anything.
    pub fn check_response(
        &self,
        status: u16,
        content_range: Option<&str>,
        content_length: Option<u64>,
    ) -> Result<ResumeAccepted, ResumeError> {
        let (from, size) = (self.written, self.expected_size);
        let length_must_be = |expected: u64| match content_length {
            Some(actual) if actual != expected => {
                Err(ResumeError::LengthMismatch { expected, actual })
            }
            _ => Ok(()),
        };
        match status {
            200 => {
                length_must_be(size)?;
                Ok(if from == 0 {
                    ResumeAccepted::Continue { offset: 0 }
                } else {
                    ResumeAccepted::Restart
                })
            }
            206 => {
                let value = content_range.ok_or(ResumeError::MissingContentRange)?;
                let ContentRange::Bytes {
                    first,
                    last,
                    complete_length,
                } = ContentRange::parse(value)?
                else {
                    return Err(invalid(
                        value,
                        "`bytes */…` belongs in a 416 answer, not a 206",
                    ));
                };
                let wanted_last = size.checked_sub(1);
                if first != from
                    || Some(last) != wanted_last
                    || complete_length.is_some_and(|total| total != size)
                {
                    return Err(ResumeError::WrongRange {
                        asked_from: from,
                        size,
                        got: shorten(value),
                    });
                }
                length_must_be(last - first + 1)?;
                Ok(ResumeAccepted::Continue { offset: from })
            }
            416 => Err(ResumeError::RangeNotSatisfiable { from, size }),
            status => Err(ResumeError::UnexpectedStatus { status, from }),
        }
    }

    /// [`ResumeState::check_response`], then applies it: a restart forgets the kept bytes; a
    /// `416` to a `Range` starts the blob over, once (a second time, the refusal stands).
    pub fn handle_response(
        &mut self,
        status: u16,
        content_range: Option<&str>,
        content_length: Option<u64>,
    ) -> Result<ResumeAccepted, ResumeError> {
        let refused_range = status == 416 && self.written > 0;
        if refused_range && !self.whole_restart_used {
            self.restart_whole_once()?;
            return Ok(ResumeAccepted::StartOver);
        }
        let accepted = self.check_response(status, content_range, content_length)?;
        if accepted == ResumeAccepted::Restart {
            self.written = 0;
        }
        Ok(accepted)
    }

    /// Reads the blob again from its first byte (its consumer needs bytes it let go of); the
    /// one full download a corrupt blob is allowed stays used if it was.
    pub fn rewind(&mut self) {
        self.written = 0;
        self.high_water = 0;
        self.stalled = 0;
    }

    /// The whole blob arrived but its digest is wrong: one full download again is allowed
    /// (a corrupting cache or connection may not repeat), a second failure is final.
    pub fn restart_whole_once(&mut self) -> Result<ResumeRequest, ResumeError> {
        if self.whole_restart_used {
            return Err(ResumeError::CorruptTwice);
        }
        *self = Self {
            whole_restart_used: true,
            ..Self::new(self.expected_size).with_max_stalled(self.max_stalled)
        };
        Ok(ResumeRequest::Whole)
    }
}

impl ContentRange {
    /// Strictly `bytes first-last/length`, `bytes first-last/*` or `bytes */length`.
    pub fn parse(value: &str) -> Result<Self, ResumeError> {
        let rest = value
            .get(..6)
            .filter(|unit| unit.eq_ignore_ascii_case("bytes "))
            .map(|_| &value[6..])
            .ok_or_else(|| invalid(value, "it does not start with `bytes `"))?;
        let (range, total) = rest
            .split_once('/')
            .ok_or_else(|| invalid(value, "no `/` before the complete length"))?;
        let number = |text: &str| parse_u64(text).map_err(|reason| invalid(value, reason));
        let complete_length = match total {
            "*" => None,
            total => Some(number(total)?),
        };
        if range == "*" {
            return complete_length
                .map(|complete_length| Self::Unsatisfied { complete_length })
                .ok_or_else(|| invalid(value, "`bytes */*` gives neither a range nor a length"));
        }
        let (first, last) = range
            .split_once('-')
            .ok_or_else(|| invalid(value, "no `-` between the first and last byte"))?;
        let (first, last) = (number(first)?, number(last)?);
        if first > last {
            return Err(invalid(value, "the first byte comes after the last"));
        }
        if complete_length.is_some_and(|total| last >= total) {
            return Err(invalid(
                value,
                "the last byte is beyond the complete length",
            ));
        }
        Ok(Self::Bytes {
            first,
            last,
            complete_length,
        })
    }
}

/// Decimal digits only, no sign or spaces, refusing values past `u64::MAX`.
fn parse_u64(text: &str) -> Result<u64, &'static str> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a number is missing or has characters other than digits");
    }
    text.bytes().try_fold(0u64, |n, b| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or("a number is too large")
    })
}

fn invalid(value: &str, reason: &'static str) -> ResumeError {
    ResumeError::InvalidContentRange {
        value: shorten(value),
        reason,
    }
}

/// At most 80 characters of a hostile header in an error message.
fn shorten(value: &str) -> String {
    value.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_range_starts_the_blob_over_once() {
        let mut state = ResumeState::new(100);
        state.handle_progress(40).unwrap();
        assert_eq!(
            state.handle_response(416, Some("bytes */100"), None),
            Ok(ResumeAccepted::StartOver)
        );
        assert_eq!(state.written(), 0);
        assert_eq!(state.next_request().range_header(), None);
        state.handle_progress(30).unwrap();
        assert_eq!(
            state.handle_response(416, Some("bytes */100"), None),
            Err(ResumeError::RangeNotSatisfiable {
                from: 30,
                size: 100
            })
        );
    }

    #[test]
    fn parses_content_range_strictly() {
        let ok: &[(&str, ContentRange)] = &[
            (
                "bytes 0-99/100",
                ContentRange::Bytes {
                    first: 0,
                    last: 99,
                    complete_length: Some(100),
                },
            ),
            (
                "Bytes 5-5/6",
                ContentRange::Bytes {
                    first: 5,
                    last: 5,
                    complete_length: Some(6),
                },
            ),
            (
                "bytes 10-19/*",
                ContentRange::Bytes {
                    first: 10,
                    last: 19,
                    complete_length: None,
                },
            ),
            (
                "bytes */100",
                ContentRange::Unsatisfied {
                    complete_length: 100,
                },
            ),
            (
                "bytes 0-18446744073709551614/18446744073709551615",
                ContentRange::Bytes {
                    first: 0,
                    last: u64::MAX - 1,
                    complete_length: Some(u64::MAX),
                },
            ),
        ];
        for (input, expected) in ok {
            assert_eq!(ContentRange::parse(input).as_ref(), Ok(expected), "{input}");
        }
        let long = format!("bytes 0-{}/1", "9".repeat(10_000));
        let bad: &[(&str, &str)] = &[
            ("", "start with `bytes `"),
            ("bytes", "start with `bytes `"),
            ("items 0-1/2", "start with `bytes `"),
            ("bytes=0-1/2", "start with `bytes `"),
            ("bytes  0-1/2", "digits"),
            ("bytes 0-1", "no `/`"),
            ("bytes 0 1/2", "no `-`"),
            ("bytes -1/2", "digits"),
            ("bytes 0-/2", "digits"),
            ("bytes +0-1/2", "digits"),
            ("bytes 0-1/ 2", "digits"),
            ("bytes 0-1/2 ", "digits"),
            ("bytes 0x0-1/2", "digits"),
            ("bytes 0-1/-2", "digits"),
            ("bytes 0-1/2/3", "digits"),
            ("bytes ٣-4/5", "digits"),
            ("bytes 0-18446744073709551616/*", "too large"),
            ("bytes 0-1/99999999999999999999999", "too large"),
            (&long, "too large"),
            ("bytes 5-4/10", "first byte comes after"),
            ("bytes 0-10/10", "beyond the complete length"),
            ("bytes */*", "neither"),
            ("bytes ü", "no `/`"),
            ("bytesü0-1/2", "start with `bytes `"),
        ];
        for (input, reason) in bad {
            match ContentRange::parse(input) {
                Err(e @ ResumeError::InvalidContentRange { .. }) => {
                    let message = e.to_string();
                    assert!(message.contains(reason), "{input}: {message}");
                    assert!(message.len() < 400);
                }
                other => panic!("{input:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn checks_answers_to_a_resume_at_40_of_100() {
        let mut state = ResumeState::new(100);
        state.handle_progress(40).unwrap();
        assert_eq!(
            state.next_request().range_header().as_deref(),
            Some("bytes=40-")
        );
        use ResumeAccepted::{Continue, Restart};
        let wrong = |got: &str| ResumeError::WrongRange {
            asked_from: 40,
            size: 100,
            got: got.into(),
        };
        type Row<'a> = (
            u16,
            Option<&'a str>,
            Option<u64>,
            Result<ResumeAccepted, ResumeError>,
        );
        let table: Vec<Row> = vec![
            (
                206,
                Some("bytes 40-99/100"),
                Some(60),
                Ok(Continue { offset: 40 }),
            ),
            (
                206,
                Some("bytes 40-99/100"),
                None,
                Ok(Continue { offset: 40 }),
            ),
            (
                206,
                Some("bytes 40-99/*"),
                None,
                Ok(Continue { offset: 40 }),
            ),
            (
                206,
                Some("bytes 40-99/100"),
                Some(100),
                Err(ResumeError::LengthMismatch {
                    expected: 60,
                    actual: 100,
                }),
            ),
            (
                206,
                Some("bytes 0-99/100"),
                None,
                Err(wrong("bytes 0-99/100")),
            ),
            (
                206,
                Some("bytes 41-99/100"),
                None,
                Err(wrong("bytes 41-99/100")),
            ),
            (
                206,
                Some("bytes 40-89/100"),
                None,
                Err(wrong("bytes 40-89/100")),
            ),
            (
                206,
                Some("bytes 40-99/200"),
                None,
                Err(wrong("bytes 40-99/200")),
            ),
            (
                206,
                Some("bytes 40-199/200"),
                None,
                Err(wrong("bytes 40-199/200")),
            ),
            (206, None, Some(60), Err(ResumeError::MissingContentRange)),
            (
                206,
                Some("bytes */100"),
                None,
                Err(invalid(
                    "bytes */100",
                    "`bytes */…` belongs in a 416 answer, not a 206",
                )),
            ),
            (
                206,
                Some("garbage"),
                None,
                Err(invalid("garbage", "it does not start with `bytes `")),
            ),
            (200, None, Some(100), Ok(Restart)),
            (200, None, None, Ok(Restart)),
            (200, Some("bytes 0-99/100"), None, Ok(Restart)),
            (
                200,
                None,
                Some(60),
                Err(ResumeError::LengthMismatch {
                    expected: 100,
                    actual: 60,
                }),
            ),
            (
                416,
                Some("bytes */100"),
                None,
                Err(ResumeError::RangeNotSatisfiable {
                    from: 40,
                    size: 100,
                }),
            ),
            (
                404,
                None,
                None,
                Err(ResumeError::UnexpectedStatus {
                    status: 404,
                    from: 40,
                }),
            ),
            (
                204,
                None,
                None,
                Err(ResumeError::UnexpectedStatus {
                    status: 204,
                    from: 40,
                }),
            ),
            (
                500,
                None,
                None,
                Err(ResumeError::UnexpectedStatus {
                    status: 500,
                    from: 40,
                }),
            ),
        ];
        for (status, range, length, expected) in table {
            assert_eq!(
                state.check_response(status, range, length),
                expected,
                "{status} {range:?} {length:?}"
            );
        }
    }

    #[test]
    fn checks_answers_to_a_first_request() {
        let state = ResumeState::new(10);
        assert_eq!(state.next_request(), ResumeRequest::Whole);
        assert_eq!(state.next_request().range_header(), None);
        let table: Vec<(u16, Option<&str>, Result<ResumeAccepted, ResumeError>)> = vec![
            (200, None, Ok(ResumeAccepted::Continue { offset: 0 })),
            (
                206,
                Some("bytes 0-9/10"),
                Ok(ResumeAccepted::Continue { offset: 0 }),
            ),
            (
                206,
                Some("bytes 0-4/10"),
                Err(ResumeError::WrongRange {
                    asked_from: 0,
                    size: 10,
                    got: "bytes 0-4/10".into(),
                }),
            ),
        ];
        for (status, range, expected) in table {
            assert_eq!(state.check_response(status, range, None), expected);
        }
        // An empty blob has no byte range a 206 could name.
        assert!(matches!(
            ResumeState::new(0).check_response(206, Some("bytes 0-0/1"), None),
            Err(ResumeError::WrongRange { .. })
        ));
    }

    #[test]
    fn a_restart_forgets_the_kept_bytes() {
        let mut state = ResumeState::new(100);
        state.handle_progress(40).unwrap();
        assert_eq!(state.handle_break(), Ok(ResumeRequest::From { offset: 40 }));
        assert_eq!(
            state.handle_response(200, None, Some(100)),
            Ok(ResumeAccepted::Restart)
        );
        assert_eq!(state.written(), 0);
        assert_eq!(state.next_request(), ResumeRequest::Whole);
        // A failed check changes nothing.
        state.handle_progress(30).unwrap();
        assert!(state
            .handle_response(206, Some("bytes 0-99/100"), None)
            .is_err());
        assert_eq!(state.written(), 30);
    }

    #[test]
    fn only_breaks_without_new_bytes_spend_the_budget() {
        // (bytes kept when the body broke, expected answer)
        let stalled = |breaks, received| {
            Err(ResumeError::NoProgress {
                breaks,
                received,
                size: 100,
            })
        };
        let from = |offset| Ok(ResumeRequest::From { offset });
        let table: Vec<(u64, Result<ResumeRequest, ResumeError>)> = vec![
            (0, Ok(ResumeRequest::Whole)), // stalled 1
            (10, from(10)),                // progress: reset
            (10, from(10)),                // stalled 1
            (10, from(10)),                // stalled 2
            (11, from(11)),                // progress: reset
            (12, from(12)),
            (13, from(13)),
            (13, from(13)), // stalled 1
            (13, from(13)), // stalled 2
            (13, stalled(3, 13)),
        ];
        let mut state = ResumeState::new(100);
        for (step, (received, expected)) in table.into_iter().enumerate() {
            state.handle_progress(received).unwrap();
            assert_eq!(state.handle_break(), expected, "step {step}");
        }
    }

    #[test]
    fn restarts_that_only_regain_old_ground_are_not_progress() {
        // A server that ignores Range and a connection that breaks at 50: every attempt ends
        // where the last one did, so the budget runs out instead of looping forever.
        let mut state = ResumeState::new(100).with_max_stalled(2);
        state.handle_progress(50).unwrap();
        assert_eq!(state.handle_break(), Ok(ResumeRequest::From { offset: 50 }));
        assert_eq!(
            state.handle_response(200, None, None),
            Ok(ResumeAccepted::Restart)
        );
        state.handle_progress(50).unwrap();
        assert_eq!(state.handle_break(), Ok(ResumeRequest::From { offset: 50 }));
        assert_eq!(
            state.handle_response(200, None, None),
            Ok(ResumeAccepted::Restart)
        );
        state.handle_progress(50).unwrap();
        assert_eq!(
            state.handle_break(),
            Err(ResumeError::NoProgress {
                breaks: 2,
                received: 50,
                size: 100
            })
        );
    }

    #[test]
    fn a_break_after_the_last_byte_needs_no_request() {
        let mut state = ResumeState::new(100).with_max_stalled(1);
        state.handle_progress(100).unwrap();
        assert!(state.is_complete());
        for _ in 0..5 {
            assert_eq!(state.handle_break(), Ok(ResumeRequest::Complete));
        }
        assert_eq!(state.next_request().range_header(), None);
    }

    #[test]
    fn progress_is_bounded_and_monotonic() {
        let mut state = ResumeState::new(100);
        assert_eq!(
            state.handle_progress(u64::MAX),
            Err(ResumeError::TooManyBytes {
                size: 100,
                received: u64::MAX
            })
        );
        state.handle_progress(60).unwrap();
        assert_eq!(
            state.handle_progress(59),
            Err(ResumeError::WentBackwards { from: 60, to: 59 })
        );
        assert_eq!(state.written(), 60);
    }

    #[test]
    fn a_digest_mismatch_restarts_once() {
        let mut state = ResumeState::new(100).with_max_stalled(2);
        state.handle_progress(100).unwrap();
        assert_eq!(state.restart_whole_once(), Ok(ResumeRequest::Whole));
        assert_eq!(state.written(), 0);
        // The budget is fresh for the second download.
        state.handle_progress(10).unwrap();
        assert_eq!(state.handle_break(), Ok(ResumeRequest::From { offset: 10 }));
        state.handle_progress(100).unwrap();
        assert_eq!(state.restart_whole_once(), Err(ResumeError::CorruptTwice));
    }

    #[test]
    fn errors_say_what_to_do() {
        for error in [
            ResumeError::MissingContentRange,
            ResumeError::RangeNotSatisfiable { from: 1, size: 2 },
            ResumeError::NoProgress {
                breaks: 3,
                received: 1,
                size: 2,
            },
            ResumeError::CorruptTwice,
        ] {
            let message = error.to_string();
            assert!(message.contains(';'), "{message}");
        }
    }
}
