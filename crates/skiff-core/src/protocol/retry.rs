//! When to try a request again, sans IO: the driver reports how an attempt ended and the time,
//! and [`RetryPolicy::decide`] answers "use it", "wait this long and retry" or "give up, because".
//! `Retry-After` is read both as seconds and as an HTTP date, without a date library.

/// Bounds on retrying one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles with each further one…
    pub base_delay_ms: u64,
    /// …up to this.
    pub max_delay_ms: u64,
    /// A server's `Retry-After` up to this long is waited out; a longer one ends the request,
    /// since a browser tab should not sit silent for minutes.
    pub max_retry_after_ms: u64,
    /// `Some(seed)` spreads backoff waits over their upper half, the same way for the same seed
    /// and attempt, so parallel downloads do not retry in lockstep. `None`: exact waits.
    pub jitter_seed: Option<u64>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay_ms: 500,
            max_delay_ms: 8_000,
            max_retry_after_ms: 30_000,
            jitter_seed: None,
        }
    }
}

/// How one attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An answer came back.
    Status {
        status: u16,
        /// The parsed `Retry-After` header, if any (see [`RetryAfter::parse`]).
        retry_after: Option<RetryAfter>,
        /// The CORS proxy refused the request itself (it names the reason in a header).
        refused_by_proxy: bool,
    },
    /// No answer: the fetch failed, or the body broke off while being read.
    ConnectionError,
}

impl Outcome {
    /// An answer as the policy sees it, from its status and two headers: `Retry-After`, and
    /// the proxy's `x-skiff-proxy-error` (its own refusals stand; "the upstream failed" does
    /// not; a kind this build does not know counts as a refusal).
    pub fn of_answer(status: u16, retry_after: Option<&str>, proxy_error: Option<&str>) -> Self {
        use crate::protocol::proxy_protocol::ProxyErrorKind;
        Self::Status {
            status,
            retry_after: retry_after.and_then(|value| RetryAfter::parse(value).ok()),
            refused_by_proxy: proxy_error.is_some_and(|kind| {
                kind.parse::<ProxyErrorKind>()
                    .map_or(true, |kind| !kind.is_transient())
            }),
        }
    }
}

/// What the driver does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The answer stands (success, or an error retrying cannot fix): hand it to the caller.
    Done,
    /// Wait `after_ms`, then send the same request again.
    Retry { after_ms: u64 },
    /// Stop and report `reason`.
    GiveUp { reason: GiveUp },
}

/// Why retrying stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GiveUp {
    #[error("the CORS proxy refused the request (status {status}); retrying would get the same answer, so check the proxy's message and its allowed registries")]
    RefusedByProxy { status: u16 },
    #[error("the registry is rate-limiting and asks to wait {wait_s} s (longer than the {limit_s} s Skiff waits); try again later, or log in for a higher limit")]
    RetryAfterTooLong { wait_s: u64, limit_s: u64 },
    #[error("the registry answered {status} on all {attempts} attempts; it (or a gateway before it) is failing, try again later")]
    StatusPersisted { status: u16, attempts: u32 },
    #[error("no answer on all {attempts} attempts (the connection failed or broke off); check the network, the proxy, and that the registry is up")]
    ConnectionFailed { attempts: u32 },
}

/// A `Retry-After` header's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    /// Delta-seconds (saturated: an absurd number is just a very long wait).
    Seconds(u64),
    /// An HTTP date, as milliseconds since the Unix epoch (0 for dates before it).
    At { unix_ms: u64 },
}

/// Why a `Retry-After` value cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unreadable Retry-After header {value:?}: {reason}; expected seconds (`120`) or an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`), the header is ignored and normal backoff applies")]
pub struct RetryAfterError {
    pub value: String,
    pub reason: &'static str,
}

impl RetryAfter {
    /// Reads `120` or `Sun, 06 Nov 1994 08:49:37 GMT` (IMF-fixdate).
    pub fn parse(value: &str) -> Result<Self, RetryAfterError> {
        let trimmed = value.trim();
        let error = |reason| RetryAfterError {
            value: value.chars().take(80).collect(),
            reason,
        };
        if trimmed.is_empty() {
            return Err(error("it is empty"));
        }
        if trimmed.bytes().all(|b| b.is_ascii_digit()) {
            let seconds = trimmed.bytes().fold(0u64, |n, b| {
                n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
            });
            return Ok(Self::Seconds(seconds));
        }
        parse_imf_fixdate(trimmed)
            .map(|unix_ms| Self::At { unix_ms })
            .map_err(error)
    }

    /// How long to wait from `now_ms` (0 for a date already past).
    pub fn wait_ms(&self, now_ms: u64) -> u64 {
        match *self {
            Self::Seconds(seconds) => seconds.saturating_mul(1000),
            Self::At { unix_ms } => unix_ms.saturating_sub(now_ms),
        }
    }
}

impl RetryPolicy {
    /// Decides after attempt number `attempt` (1 for the first) ended with `outcome`.
    pub fn decide(&self, attempt: u32, outcome: Outcome, now_ms: u64) -> Decision {
        let (status, retry_after) = match outcome {
            Outcome::ConnectionError => (None, None),
            Outcome::Status {
                status,
                refused_by_proxy: true,
                ..
            } => {
                return Decision::GiveUp {
                    reason: GiveUp::RefusedByProxy { status },
                }
            }
            Outcome::Status {
                status,
                retry_after,
                ..
            } if is_transient(status) => (Some(status), retry_after),
            Outcome::Status { .. } => return Decision::Done,
        };
        let server_wait = retry_after.map(|r| r.wait_ms(now_ms));
        if let Some(wait) = server_wait.filter(|w| *w > self.max_retry_after_ms) {
            return Decision::GiveUp {
                reason: GiveUp::RetryAfterTooLong {
                    wait_s: wait.div_ceil(1000),
                    limit_s: self.max_retry_after_ms / 1000,
                },
            };
        }
        if attempt >= self.max_attempts {
            let attempts = attempt.max(1);
            let reason = match status {
                Some(status) => GiveUp::StatusPersisted { status, attempts },
                None => GiveUp::ConnectionFailed { attempts },
            };
            return Decision::GiveUp { reason };
        }
        let after_ms = self.backoff_ms(attempt).max(server_wait.unwrap_or(0));
        Decision::Retry { after_ms }
    }

    /// The wait after attempt `attempt`: `base · 2^(attempt-1)`, capped, with optional jitter.
    pub fn backoff_ms(&self, attempt: u32) -> u64 {
        let doublings = attempt.saturating_sub(1).min(63);
        let delay = self
            .base_delay_ms
            .saturating_mul(1u64 << doublings)
            .min(self.max_delay_ms);
        match self.jitter_seed {
            None => delay,
            Some(seed) => {
                let half = delay / 2;
                let spread = splitmix64(seed ^ u64::from(attempt)) % (delay - half + 1);
                half + spread
            }
        }
    }
}

/// Worth another try: a timeout, rate limiting, or a server error that may pass. 501 and 505
/// say the server cannot do this at all, so they are final.
fn is_transient(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502..=504 | 506..=599)
}

fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` → milliseconds since the epoch (0 before it).
fn parse_imf_fixdate(value: &str) -> Result<u64, &'static str> {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let fields: Vec<&str> = value.splitn(7, ' ').collect();
    let [day_name, day, month, year, time, zone] = fields[..] else {
        return Err("not a number, and not an HTTP date of six space-separated fields");
    };
    if !DAYS.iter().any(|d| day_name.strip_suffix(',') == Some(*d)) {
        return Err("the date does not start with a day name and a comma");
    }
    if zone != "GMT" {
        return Err("HTTP dates end in `GMT`");
    }
    let month = MONTHS
        .iter()
        .position(|m| *m == month)
        .ok_or("unknown month name")? as i64
        + 1;
    let day = digits(day, 2).ok_or("the day is not two digits")?;
    let year = digits(year, 4).ok_or("the year is not four digits")?;
    let [hour, minute, second] = match time.split(':').collect::<Vec<_>>()[..] {
        [h, m, s] => [digits(h, 2), digits(m, 2), digits(s, 2)],
        _ => [None; 3],
    };
    let (Some(hour), Some(minute), Some(second)) = (hour, minute, second) else {
        return Err("the time is not `hh:mm:ss`");
    };
    if day == 0 || day > days_in_month(year, month) {
        return Err("the day does not exist in that month");
    }
    // 60 allows a leap second.
    if hour > 23 || minute > 59 || second > 60 {
        return Err("the time of day is out of range");
    }
    let seconds = crate::time::days_from_civil(year, month, day) * 86_400
        + hour * 3_600
        + minute * 60
        + second;
    Ok(u64::try_from(seconds).unwrap_or(0) * 1000)
}

/// Exactly `len` ASCII digits.
fn digits(text: &str, len: usize) -> Option<i64> {
    (text.len() == len && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.bytes().fold(0, |n, b| n * 10 + i64::from(b - b'0')))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_answer_for_the_policy() {
        let table = [
            (503, Some("2"), None, Some(RetryAfter::Seconds(2)), false),
            (403, None, Some("host-not-allowed"), None, true),
            (502, None, Some("upstream-unreachable"), None, false),
            (403, Some("soon"), Some("from-a-newer-proxy"), None, true),
        ];
        for (status, retry_after, proxy_error, parsed, refused) in table {
            assert_eq!(
                Outcome::of_answer(status, retry_after, proxy_error),
                Outcome::Status {
                    status,
                    retry_after: parsed,
                    refused_by_proxy: refused
                },
                "{status} {proxy_error:?}"
            );
        }
    }

    fn status(status: u16, retry_after: Option<RetryAfter>) -> Outcome {
        Outcome::Status {
            status,
            retry_after,
            refused_by_proxy: false,
        }
    }

    fn retry(after_ms: u64) -> Decision {
        Decision::Retry { after_ms }
    }

    fn give_up(reason: GiveUp) -> Decision {
        Decision::GiveUp { reason }
    }

    #[test]
    fn decides_by_status_attempt_and_retry_after() {
        let policy = RetryPolicy::default();
        let now = 1_000_000;
        let secs = |s| Some(RetryAfter::Seconds(s));
        let at = |unix_ms| Some(RetryAfter::At { unix_ms });
        let table: Vec<(u32, Outcome, Decision)> = vec![
            (1, status(200, None), Decision::Done),
            (1, status(206, None), Decision::Done),
            (1, status(304, None), Decision::Done),
            (1, status(401, None), Decision::Done),
            (1, status(404, secs(1)), Decision::Done),
            (5, status(404, None), Decision::Done),
            (1, status(501, None), Decision::Done),
            (1, status(505, None), Decision::Done),
            (1, status(500, None), retry(500)),
            (2, status(502, None), retry(1_000)),
            (3, status(503, None), retry(2_000)),
            (4, status(504, None), retry(4_000)),
            (
                5,
                status(503, None),
                give_up(GiveUp::StatusPersisted {
                    status: 503,
                    attempts: 5,
                }),
            ),
            (
                9,
                status(500, None),
                give_up(GiveUp::StatusPersisted {
                    status: 500,
                    attempts: 9,
                }),
            ),
            (1, status(408, None), retry(500)),
            (1, status(429, None), retry(500)),
            (1, status(429, secs(3)), retry(3_000)),
            (1, status(429, secs(30)), retry(30_000)),
            (3, status(429, secs(0)), retry(2_000)),
            (1, status(503, secs(2)), retry(2_000)),
            (
                1,
                status(429, secs(31)),
                give_up(GiveUp::RetryAfterTooLong {
                    wait_s: 31,
                    limit_s: 30,
                }),
            ),
            (
                1,
                status(429, secs(u64::MAX)),
                give_up(GiveUp::RetryAfterTooLong {
                    wait_s: u64::MAX / 1000 + 1,
                    limit_s: 30,
                }),
            ),
            (1, status(429, at(now + 10_000)), retry(10_000)),
            (1, status(429, at(now - 10_000)), retry(500)),
            (
                1,
                status(429, at(now + 3_600_000)),
                give_up(GiveUp::RetryAfterTooLong {
                    wait_s: 3_600,
                    limit_s: 30,
                }),
            ),
            (1, Outcome::ConnectionError, retry(500)),
            (4, Outcome::ConnectionError, retry(4_000)),
            (
                5,
                Outcome::ConnectionError,
                give_up(GiveUp::ConnectionFailed { attempts: 5 }),
            ),
            (0, Outcome::ConnectionError, retry(500)),
        ];
        for (attempt, outcome, expected) in table {
            assert_eq!(
                policy.decide(attempt, outcome, now),
                expected,
                "attempt {attempt}, {outcome:?}"
            );
        }
    }

    #[test]
    fn a_proxy_refusal_never_retries() {
        let policy = RetryPolicy::default();
        for code in [200, 403, 429, 502, 503] {
            let outcome = Outcome::Status {
                status: code,
                retry_after: Some(RetryAfter::Seconds(1)),
                refused_by_proxy: true,
            };
            assert_eq!(
                policy.decide(1, outcome, 0),
                give_up(GiveUp::RefusedByProxy { status: code })
            );
        }
    }

    #[test]
    fn backoff_is_capped_and_never_overflows() {
        let policy = RetryPolicy::default();
        let table = [
            (0, 500),
            (1, 500),
            (2, 1_000),
            (5, 8_000),
            (6, 8_000),
            (64, 8_000),
            (u32::MAX, 8_000),
        ];
        for (attempt, expected) in table {
            assert_eq!(policy.backoff_ms(attempt), expected, "attempt {attempt}");
        }
        let huge = RetryPolicy {
            base_delay_ms: u64::MAX,
            max_delay_ms: u64::MAX,
            ..policy
        };
        assert_eq!(huge.backoff_ms(40), u64::MAX);
    }

    #[test]
    fn jitter_is_deterministic_and_bounded() {
        let policy = RetryPolicy {
            jitter_seed: Some(42),
            ..RetryPolicy::default()
        };
        for attempt in 1..10 {
            let full = RetryPolicy::default().backoff_ms(attempt);
            let jittered = policy.backoff_ms(attempt);
            assert_eq!(jittered, policy.backoff_ms(attempt));
            assert!(
                (full / 2..=full).contains(&jittered),
                "{attempt}: {jittered} of {full}"
            );
        }
        let other = RetryPolicy {
            jitter_seed: Some(43),
            ..policy
        };
        assert!((1..10).any(|a| other.backoff_ms(a) != policy.backoff_ms(a)));
        let zero = RetryPolicy {
            base_delay_ms: 0,
            ..policy
        };
        assert_eq!(zero.backoff_ms(3), 0);
    }

    #[test]
    fn parses_retry_after() {
        let table: &[(&str, RetryAfter)] = &[
            ("0", RetryAfter::Seconds(0)),
            (" 120 ", RetryAfter::Seconds(120)),
            ("007", RetryAfter::Seconds(7)),
            ("99999999999999999999999999", RetryAfter::Seconds(u64::MAX)),
            (
                "Thu, 01 Jan 1970 00:00:00 GMT",
                RetryAfter::At { unix_ms: 0 },
            ),
            (
                "Sun, 06 Nov 1994 08:49:37 GMT",
                RetryAfter::At {
                    unix_ms: 784_111_777_000,
                },
            ),
            (
                "Tue, 29 Feb 2000 12:00:00 GMT",
                RetryAfter::At {
                    unix_ms: 951_825_600_000,
                },
            ),
            (
                "Fri, 31 Dec 9999 23:59:59 GMT",
                RetryAfter::At {
                    unix_ms: 253_402_300_799_000,
                },
            ),
            (
                "Mon, 01 Jan 1900 00:00:00 GMT",
                RetryAfter::At { unix_ms: 0 },
            ),
            (
                "Sat, 01 Jan 0000 00:00:00 GMT",
                RetryAfter::At { unix_ms: 0 },
            ),
            // The day name is not checked against the date.
            (
                "Mon, 06 Nov 1994 08:49:37 GMT",
                RetryAfter::At {
                    unix_ms: 784_111_777_000,
                },
            ),
        ];
        for (input, expected) in table {
            assert_eq!(RetryAfter::parse(input).as_ref(), Ok(expected), "{input}");
        }
        assert_eq!(RetryAfter::Seconds(u64::MAX).wait_ms(0), u64::MAX);
        assert_eq!(RetryAfter::At { unix_ms: 5_000 }.wait_ms(2_000), 3_000);
        assert_eq!(RetryAfter::At { unix_ms: 5_000 }.wait_ms(9_000), 0);
    }

    #[test]
    fn rejects_garbage_retry_after() {
        let long = "9".repeat(5_000) + "x";
        let table: &[(&str, &str)] = &[
            ("", "empty"),
            ("   ", "empty"),
            ("-1", "six space-separated"),
            ("+5", "six space-separated"),
            ("1.5", "six space-separated"),
            ("0x10", "six space-separated"),
            (&long, "six space-separated"),
            ("Sunday, 06-Nov-94 08:49:37 GMT", "six space-separated"),
            ("Sun Nov  6 08:49:37 1994", "day name"),
            ("Sun, 06 Nov 1994 08:49:37 UTC", "GMT"),
            ("Xyz, 06 Nov 1994 08:49:37 GMT", "day name"),
            ("Sun 06 Nov 1994 08:49:37 GMT", "day name"),
            ("Sun, 06 Noc 1994 08:49:37 GMT", "month"),
            ("Sun, 6 Nov 1994 08:49:37 GMT", "two digits"),
            ("Sun, 06 Nov 94 08:49:37 GMT", "four digits"),
            ("Sun, 06 Nov +994 08:49:37 GMT", "four digits"),
            ("Sun, 06 Nov 1994 8:49:37 GMT", "hh:mm:ss"),
            ("Sun, 06 Nov 1994 08:49 GMT", "hh:mm:ss"),
            ("Sun, 06 Nov 1994 08:49:37:00 GMT", "hh:mm:ss"),
            ("Sun, 31 Nov 1994 08:49:37 GMT", "does not exist"),
            ("Sun, 29 Feb 1900 08:49:37 GMT", "does not exist"),
            ("Sun, 00 Nov 1994 08:49:37 GMT", "does not exist"),
            ("Sun, 06 Nov 1994 24:00:00 GMT", "out of range"),
            ("Sun, 06 Nov 1994 23:60:00 GMT", "out of range"),
            ("Sun, 06 Nov 1994 23:00:61 GMT", "out of range"),
            ("Sun,  06 Nov 1994 08:49:37 GMT", "six space-separated"),
        ];
        for (input, reason) in table {
            let error = RetryAfter::parse(input).expect_err(input);
            let message = error.to_string();
            assert!(message.contains(reason), "{input}: {message}");
            assert!(message.len() < 500);
        }
    }
}
