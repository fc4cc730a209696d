//! One request and its answer as the explorer shows it: what it was for, the headers that
//! matter (secrets replaced by what they are), timings and bytes. Drivers fill an [`Exchange`]
//! from the wire through [`request_header`] and [`response_headers`], so nothing secret can
//! reach the log: the filter is here, once.

use serde::{Deserialize, Serialize};

/// What a request was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Purpose {
    /// `GET /v2/`: does the registry speak the API, and how does it want auth?
    VersionCheck,
    Token,
    Manifest,
    Config,
    Layer,
    /// A layer from the URLs of its descriptor rather than the registry.
    ForeignLayer,
    /// A few bytes of a compressed layer, for its uncompressed size.
    SizeProbe,
    TagList,
    /// A page of the registry's repositories.
    Catalog,
    Referrers,
    /// Pushing: checking, mounting or uploading a blob.
    Upload,
    /// Pushing a manifest.
    ManifestPush,
}

impl Purpose {
    /// As the log and errors name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::VersionCheck => "version check",
            Self::Token => "token",
            Self::Manifest => "manifest",
            Self::Config => "image config",
            Self::Layer => "layer",
            Self::ForeignLayer => "foreign layer from its URL",
            Self::SizeProbe => "layer size probe",
            Self::TagList => "tag list",
            Self::Catalog => "repository catalog",
            Self::Referrers => "referrers",
            Self::Upload => "blob upload",
            Self::ManifestPush => "manifest push",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// One request and its answer. Times are milliseconds of the page's clock (`Date.now()`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// Unique in the page; a later report with the same id completes this one.
    pub id: String,
    pub purpose: Purpose,
    pub method: Method,
    /// The registry's URL (never a CDN's signed URL: the proxy follows those and names only
    /// the host, in `x-skiff-redirected-to`).
    pub url: String,
    pub request_headers: Vec<Header>,
    /// `None`: no answer (the connection failed).
    pub status: Option<u16>,
    pub response_headers: Vec<Header>,
    pub started_ms: f64,
    /// When the status and headers arrived.
    pub first_byte_ms: Option<f64>,
    /// When the body was read to its end (or given up).
    pub finished_ms: Option<f64>,
    /// Body bytes received.
    pub bytes: Option<u64>,
    /// Anything else worth a word: "resumed at byte 1048576", "from the layer cache".
    pub note: Option<String>,
}

/// A request as it was sent, for [`Exchange::sent`]: the filters that keep secrets out of the
/// record apply to it there, once.
pub struct Sent<'a> {
    pub id: String,
    pub purpose: Purpose,
    pub method: Method,
    /// The upstream URL as requested (shown without its query).
    pub url: &'a str,
    /// The request headers as sent (only those worth showing are kept, credentials hidden).
    pub headers: &'a [(&'a str, &'a str)],
    pub started_ms: f64,
}

impl Exchange {
    /// The record of a request, and of its answer (`None`: no answer came) with the answer's
    /// headers as received, at `answered_ms`. The one way drivers make a record.
    pub fn sent(
        request: Sent<'_>,
        answer: Option<(u16, Vec<(String, String)>)>,
        answered_ms: f64,
    ) -> Self {
        let (status, headers) = match answer {
            Some((status, headers)) => (Some(status), headers),
            None => (None, Vec::new()),
        };
        Self {
            id: request.id,
            purpose: request.purpose,
            method: request.method,
            url: shown_url_for(request.purpose, request.url),
            request_headers: request
                .headers
                .iter()
                .filter_map(|(name, value)| request_header(name, value))
                .collect(),
            status,
            response_headers: response_headers(
                headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            ),
            started_ms: request.started_ms,
            first_byte_ms: status.map(|_| answered_ms),
            finished_ms: None,
            bytes: None,
            note: None,
        }
    }

    pub fn response_header(&self, name: &str) -> Option<&str> {
        find(&self.response_headers, name)
    }

    pub fn request_header(&self, name: &str) -> Option<&str> {
        find(&self.request_headers, name)
    }

    /// Whether a credential went along (never which).
    pub fn authenticated(&self) -> bool {
        self.request_header("authorization").is_some()
    }

    /// Milliseconds to the first byte and in all, once known.
    pub fn time_to_first_byte(&self) -> Option<f64> {
        self.first_byte_ms.map(|t| t - self.started_ms)
    }

    pub fn duration(&self) -> Option<f64> {
        self.finished_ms
            .or(self.first_byte_ms)
            .map(|t| t - self.started_ms)
    }
}

fn find<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// The headers of an answer worth showing, lower-cased names, in the order given. The
/// challenge the proxy relays under its own name is shown as the registry sent it.
pub fn response_headers<'a>(all: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<Header> {
    all.into_iter()
        .map(|(name, value)| {
            let name = name.to_ascii_lowercase();
            let name = if name == crate::protocol::proxy_protocol::CHALLENGE_HEADER {
                "www-authenticate".to_owned()
            } else {
                name
            };
            (name, value)
        })
        .filter(|(name, _)| crate::protocol::proxy_protocol::shown_response_header(name))
        .map(|(name, value)| Header {
            name,
            value: value.to_owned(),
        })
        .collect()
}

/// A URL as the explorer shows it: without its query or fragment, which can be a capability
/// (an upload session's `_state`, a signed `X-Amz-Signature`); `?…` says one was there.
pub fn shown_url(url: &str) -> String {
    match url.find(['?', '#']) {
        Some(cut) => format!("{}?…", &url[..cut]),
        None => url.to_owned(),
    }
}

/// As [`shown_url`], except that a token request keeps the two parameters Skiff itself puts
/// there from the challenge, `service` and `scope` (what is asked for, never a secret), and
/// only those.
pub fn shown_url_for(purpose: Purpose, url: &str) -> String {
    let Some((base, query)) = url.split_once('?').filter(|_| purpose == Purpose::Token) else {
        return shown_url(url);
    };
    let query = query.split('#').next().unwrap_or_default();
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| pair.starts_with("service=") || pair.starts_with("scope="))
        .collect();
    let dropped = query.split('&').count() > kept.len();
    match (kept.is_empty(), dropped) {
        (true, _) => shown_url(url),
        (false, false) => format!("{base}?{}", kept.join("&")),
        (false, true) => format!("{base}?{}&…", kept.join("&")),
    }
}

/// A request header as the log shows it: `Authorization` by its scheme and length only, a few
/// others as they are, the rest not at all.
pub fn request_header(name: &str, value: &str) -> Option<Header> {
    let mut name = name.to_ascii_lowercase();
    if name == crate::protocol::proxy_protocol::CREDENTIAL_HEADER {
        // What the proxy sends on as `Authorization`.
        name = "authorization".to_owned();
    }
    let shown = match name.as_str() {
        "authorization" => {
            let (scheme, secret) = value.split_once(' ').unwrap_or((value, ""));
            let what = if scheme.eq_ignore_ascii_case("basic") {
                "your username and password"
            } else {
                "a token"
            };
            format!("{scheme} ‹{what}, {} characters, hidden›", secret.len())
        }
        "accept" | "range" | "content-range" | "content-type" => value.to_owned(),
        _ => return None,
    };
    Some(Header { name, value: shown })
}

/// Docker Hub's pull allowance, from `ratelimit-limit: 100;w=21600` and
/// `ratelimit-remaining: 76;w=21600`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u64,
    pub remaining: Option<u64>,
    /// The window, seconds.
    pub window_s: Option<u64>,
    /// `docker-ratelimit-source`: the address or account counted.
    pub counted_as: Option<String>,
}

impl RateLimit {
    /// From an answer's headers; `None` when it has no (readable) limit.
    pub fn of(exchange: &Exchange) -> Option<Self> {
        let (limit, window_s) = quota(exchange.response_header("ratelimit-limit")?)?;
        let remaining = exchange
            .response_header("ratelimit-remaining")
            .and_then(quota);
        Some(Self {
            limit,
            remaining: remaining.map(|(n, _)| n),
            window_s: window_s.or(remaining.and_then(|(_, w)| w)),
            counted_as: exchange
                .response_header("docker-ratelimit-source")
                .map(str::to_owned),
        })
    }

    /// "76 of 100 pulls left in a 6-hour window".
    pub fn describe(&self) -> String {
        let window = match self.window_s {
            Some(s) if s % 3600 == 0 => format!(" in a {}-hour window", s / 3600),
            Some(s) => format!(" in a {s}-second window"),
            None => String::new(),
        };
        match self.remaining {
            Some(left) => format!("{left} of {} pulls left{window}", self.limit),
            None => format!("{} pulls allowed{window}", self.limit),
        }
    }
}

/// `100;w=21600` → (100, Some(21600)).
fn quota(value: &str) -> Option<(u64, Option<u64>)> {
    let mut parts = value.split(';').map(str::trim);
    let count = parts.next()?.parse().ok()?;
    let window = parts
        .filter_map(|p| p.strip_prefix("w="))
        .find_map(|w| w.parse().ok());
    Some((count, window))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn exchange(purpose: Purpose, url: &str, status: Option<u16>) -> Exchange {
        Exchange {
            id: url.to_owned(),
            purpose,
            method: Method::Get,
            url: url.to_owned(),
            request_headers: Vec::new(),
            status,
            response_headers: Vec::new(),
            started_ms: 1000.0,
            first_byte_ms: Some(1040.0),
            finished_ms: Some(1100.0),
            bytes: Some(10),
            note: None,
        }
    }

    pub fn with_headers(mut e: Exchange, headers: &[(&str, &str)]) -> Exchange {
        e.response_headers = response_headers(headers.iter().copied());
        e
    }

    #[test]
    fn keeps_only_headers_that_matter() {
        let kept = response_headers([
            ("Date", "today"),
            ("WWW-Authenticate", "Bearer realm=\"x\""),
            ("Docker-Content-Digest", "sha256:ab"),
            ("Set-Cookie", "session=secret"),
            ("X-Skiff-Redirected-To", "cdn.example"),
            ("X-Skiff-WWW-Authenticate", "Basic realm=\"r\""),
            ("Location", "/v2/a/blobs/uploads/u?_state=secret"),
        ]);
        let names: Vec<&str> = kept.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "www-authenticate",
                "docker-content-digest",
                "x-skiff-redirected-to",
                "www-authenticate"
            ]
        );
    }

    #[test]
    fn a_record_keeps_no_secret() {
        let record = Exchange::sent(
            Sent {
                id: "p1".into(),
                purpose: Purpose::Upload,
                method: Method::Put,
                url: "https://s3.example/up?X-Amz-Signature=sig",
                headers: &[
                    ("X-Skiff-Authorization", "Bearer tok.en"),
                    ("Cookie", "c=1"),
                ],
                started_ms: 1.0,
            },
            Some((
                201,
                vec![("Location".into(), "https://s3.example/up?sig=2".into())],
            )),
            2.0,
        );
        let printed = format!("{record:?}");
        for secret in ["sig", "tok.en", "c=1"] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert_eq!(record.status, Some(201));
        assert_eq!(record.first_byte_ms, Some(2.0));
        assert!(record.authenticated());
    }

    #[test]
    fn shows_no_query_of_any_url() {
        let table = [
            ("https://r/v2/", "https://r/v2/"),
            (
                "https://s3.example/up/1?X-Amz-Signature=abc&X-Amz-Credential=k",
                "https://s3.example/up/1?…",
            ),
            (
                "http://r/v2/a/blobs/uploads/u?_state=x",
                "http://r/v2/a/blobs/uploads/u?…",
            ),
            ("https://r/v2/a#frag", "https://r/v2/a?…"),
        ];
        for (url, shown) in table {
            assert_eq!(shown_url(url), shown);
            assert_eq!(shown_url_for(Purpose::Upload, url), shown);
        }
        let token = "https://auth.example/token?scope=repository%3Aa%3Apull&service=reg&sig=x";
        assert_eq!(
            shown_url_for(Purpose::Token, token),
            "https://auth.example/token?scope=repository%3Aa%3Apull&service=reg&…"
        );
        assert_eq!(
            shown_url_for(Purpose::Token, "https://auth.example/token?service=reg"),
            "https://auth.example/token?service=reg"
        );
        assert_eq!(
            shown_url_for(Purpose::Token, "https://auth.example/t?k=secret"),
            "https://auth.example/t?…"
        );
    }

    #[test]
    fn hides_credentials_but_says_what_they_are() {
        let table = [
            (
                "Authorization",
                "Bearer abc.def.ghi",
                Some("Bearer ‹a token, 11 characters, hidden›"),
            ),
            (
                "authorization",
                "Basic dXNlcjpwYXNz",
                Some("Basic ‹your username and password, 12 characters, hidden›"),
            ),
            ("Accept", "application/json", Some("application/json")),
            ("Range", "bytes=5-", Some("bytes=5-")),
            ("Cookie", "a=b", None),
            (
                "X-Skiff-Authorization",
                "Bearer abc.def",
                Some("Bearer ‹a token, 7 characters, hidden›"),
            ),
        ];
        for (name, value, shown) in table {
            let header = request_header(name, value);
            assert_eq!(header.as_ref().map(|h| h.value.as_str()), shown, "{name}");
            if let Some(header) = header {
                assert!(!header.value.contains("abc.def") && !header.value.contains("dXNl"));
            }
        }
    }

    #[test]
    fn reads_docker_hub_rate_limits() {
        type Headers<'a> = &'a [(&'a str, &'a str)];
        let table: [(Headers, Option<&str>); 5] = [
            (
                &[
                    ("ratelimit-limit", "100;w=21600"),
                    ("ratelimit-remaining", "76;w=21600"),
                    ("docker-ratelimit-source", "203.0.113.9"),
                ],
                Some("76 of 100 pulls left in a 6-hour window"),
            ),
            (&[("ratelimit-limit", "200")], Some("200 pulls allowed")),
            (
                &[("ratelimit-limit", "10;w=90"), ("ratelimit-remaining", "0")],
                Some("0 of 10 pulls left in a 90-second window"),
            ),
            (&[("ratelimit-limit", "lots")], None),
            (&[("content-type", "x")], None),
        ];
        for (headers, described) in table {
            let e = with_headers(exchange(Purpose::Manifest, "u", Some(200)), headers);
            assert_eq!(
                RateLimit::of(&e).map(|r| r.describe()).as_deref(),
                described
            );
        }
        let e = with_headers(
            exchange(Purpose::Manifest, "u", Some(200)),
            &[
                ("ratelimit-limit", "100;w=21600"),
                ("docker-ratelimit-source", "203.0.113.9"),
            ],
        );
        assert_eq!(
            RateLimit::of(&e).unwrap().counted_as.as_deref(),
            Some("203.0.113.9")
        );
    }

    #[test]
    fn times_from_start() {
        let e = exchange(Purpose::Layer, "u", Some(200));
        assert_eq!(e.time_to_first_byte(), Some(40.0));
        assert_eq!(e.duration(), Some(100.0));
        let open = Exchange {
            finished_ms: None,
            ..e
        };
        assert_eq!(open.duration(), Some(40.0));
    }
}
