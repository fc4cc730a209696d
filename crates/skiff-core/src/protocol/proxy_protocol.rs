//! The contract between Skiff's CORS proxy and the app: the headers the proxy sets and why it
//! refused a request. Both sides use these types, so neither matches on strings of its own.

use std::fmt;
use std::str::FromStr;

/// Set by the proxy on an answer it made itself (never on an upstream's answer): why.
pub const PROXY_ERROR_HEADER: &str = "x-skiff-proxy-error";
/// The host (never the URL: signed CDN URLs carry credentials) a followed redirect ended on.
pub const REDIRECTED_TO_HEADER: &str = "x-skiff-redirected-to";
/// The app's credential for the upstream named in the path. The proxy sends it on as
/// `Authorization` to that host only, and drops any `Authorization` the browser added itself
/// (a password it cached from a login dialog would otherwise reach every upstream).
pub const CREDENTIAL_HEADER: &str = "x-skiff-authorization";
/// The upstream's `WWW-Authenticate`, relayed under Skiff's own name: a browser shown a Basic
/// challenge on the app's origin opens its own login dialog and replays what was typed there.
pub const CHALLENGE_HEADER: &str = "x-skiff-www-authenticate";

/// Response headers the proxy relays from the upstream and exposes to the page's scripts (the
/// challenge goes under [`CHALLENGE_HEADER`] instead). The explorer shows those that teach
/// something: [`shown_response_header`].
pub const RELAYED_RESPONSE_HEADERS: [&str; 18] = [
    "content-type",
    "content-length",
    "content-range",
    "accept-ranges",
    "docker-content-digest",
    "docker-distribution-api-version",
    "link",
    "etag",
    "last-modified",
    "retry-after",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "docker-ratelimit-source",
    // Upload answers (with `--allow-push`).
    "location",
    "range",
    "docker-upload-uuid",
    "oci-chunk-min-length",
];

/// Whether the explorer shows a response header (lower-case name): the relayed ones that teach
/// something, the challenge, and the proxy's own. Never `location`: an upload session's URL
/// can be a capability (a signed storage URL); dates and validators are noise.
pub fn shown_response_header(name: &str) -> bool {
    let relayed = RELAYED_RESPONSE_HEADERS.contains(&name)
        && !matches!(
            name,
            "location" | "etag" | "last-modified" | "oci-chunk-min-length"
        );
    relayed
        || matches!(name, "www-authenticate")
        || [PROXY_ERROR_HEADER, REDIRECTED_TO_HEADER].contains(&name)
}

/// An upload session's `Location` (relative or absolute, as the upstream at `upstream` sent it)
/// as the proxy hands it to the page: `/` followed by the absolute upstream URL, so the page's
/// next request reaches the session through the proxy. `None` for what is not http(s).
pub fn location_through_proxy(upstream: &url::Url, location: &str) -> Option<String> {
    let absolute = upstream.join(location).ok()?;
    matches!(absolute.scheme(), "http" | "https").then(|| format!("/{absolute}"))
}

/// The upstream URL of an upload session's `Location` as the page received it: through Skiff's
/// proxy, `/` followed by the absolute upstream URL ([`location_through_proxy`]); directly, the
/// registry's own (perhaps relative) URL, unchanged.
pub fn upstream_location(location: &str) -> &str {
    match location.strip_prefix('/') {
        Some(rest) if rest.starts_with("http://") || rest.starts_with("https://") => rest,
        _ => location,
    }
}

/// Why the proxy answered a request itself instead of relaying the upstream's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProxyErrorKind {
    /// The page's origin is not on the proxy's list.
    OriginNotAllowed,
    /// The `Origin` header is not a readable origin (not ASCII, say).
    OriginInvalid,
    /// The `Host` the browser used is not the proxy's own name (DNS rebinding).
    HostHeaderNotAllowed,
    /// A navigation or a no-cors load (`<img>`, `<script>`): only `fetch` in CORS mode is served.
    FetchModeNotAllowed,
    /// Not GET/HEAD/OPTIONS.
    MethodNotAllowed,
    /// The path is not an absolute http(s) URL.
    BadTarget,
    /// The upstream host (or its scheme/port) is not on the allowlist.
    HostNotAllowed,
    /// The upstream redirected somewhere not allowed (another host, a downgrade to http, a loop).
    RedirectNotAllowed,
    /// The upstream name resolves to a private, loopback or link-local address.
    PrivateAddress,
    /// The proxy is serving as many connections as it may.
    TooManyConnections,
    /// The upstream did not answer in time.
    UpstreamTimeout,
    /// The upstream could not be reached (DNS, connection refused, TLS).
    UpstreamUnreachable,
}

const ALL: [(ProxyErrorKind, &str); 12] = [
    (ProxyErrorKind::OriginNotAllowed, "origin-not-allowed"),
    (ProxyErrorKind::OriginInvalid, "origin-invalid"),
    (
        ProxyErrorKind::HostHeaderNotAllowed,
        "host-header-not-allowed",
    ),
    (
        ProxyErrorKind::FetchModeNotAllowed,
        "fetch-mode-not-allowed",
    ),
    (ProxyErrorKind::MethodNotAllowed, "method-not-allowed"),
    (ProxyErrorKind::BadTarget, "bad-target"),
    (ProxyErrorKind::HostNotAllowed, "host-not-allowed"),
    (ProxyErrorKind::RedirectNotAllowed, "redirect-not-allowed"),
    (ProxyErrorKind::PrivateAddress, "private-address"),
    (ProxyErrorKind::TooManyConnections, "too-many-connections"),
    (ProxyErrorKind::UpstreamTimeout, "upstream-timeout"),
    (ProxyErrorKind::UpstreamUnreachable, "upstream-unreachable"),
];

impl ProxyErrorKind {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        ALL.iter()
            .find(|(kind, _)| *kind == self)
            .map(|(_, name)| *name)
            .expect("every kind has a name")
    }

    /// The proxy could not reach the upstream: a network problem, worth retrying, and reported
    /// as "registry unreachable" rather than as a refusal.
    pub fn is_upstream_failure(self) -> bool {
        matches!(self, Self::UpstreamTimeout | Self::UpstreamUnreachable)
    }

    /// Worth trying again after a pause (the proxy was busy or the upstream failed).
    pub fn is_transient(self) -> bool {
        self.is_upstream_failure() || self == Self::TooManyConnections
    }
}

impl fmt::Display for ProxyErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A header value the app does not know (a newer proxy?).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown proxy error kind {0:?}")]
pub struct UnknownProxyErrorKind(pub String);

impl FromStr for ProxyErrorKind {
    type Err = UnknownProxyErrorKind;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        ALL.iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(text))
            .map(|(kind, _)| *kind)
            .ok_or_else(|| UnknownProxyErrorKind(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        let mut names = std::collections::HashSet::new();
        for (kind, name) in ALL {
            assert_eq!(kind.as_str(), name);
            assert_eq!(name.parse::<ProxyErrorKind>(), Ok(kind));
            assert!(names.insert(name), "{name} twice");
        }
        assert_eq!(
            " Host-Not-Allowed ".parse::<ProxyErrorKind>(),
            Ok(ProxyErrorKind::HostNotAllowed)
        );
        assert!("nonsense".parse::<ProxyErrorKind>().is_err());
    }

    #[test]
    fn upload_locations_go_through_the_proxy_and_back() {
        let upstream: url::Url = "https://reg.example/v2/app/blobs/uploads/".parse().unwrap();
        let table = [
            (
                "/v2/app/blobs/uploads/u1?_state=abc",
                Some("/https://reg.example/v2/app/blobs/uploads/u1?_state=abc"),
            ),
            (
                "https://storage.example/up/u1",
                Some("/https://storage.example/up/u1"),
            ),
            ("u2", Some("/https://reg.example/v2/app/blobs/uploads/u2")),
            ("javascript:alert(1)", None),
        ];
        for (location, expected) in table {
            let proxied = location_through_proxy(&upstream, location);
            assert_eq!(proxied.as_deref(), expected, "{location}");
            if let Some(proxied) = proxied {
                assert_eq!(
                    upstream_location(&proxied),
                    upstream.join(location).unwrap().as_str()
                );
            }
        }
        assert_eq!(
            upstream_location("/v2/a/blobs/uploads/u"),
            "/v2/a/blobs/uploads/u"
        );
    }

    #[test]
    fn the_explorer_shows_what_teaches_and_never_a_location() {
        for shown in [
            "docker-content-digest",
            "www-authenticate",
            "range",
            PROXY_ERROR_HEADER,
        ] {
            assert!(shown_response_header(shown), "{shown}");
        }
        for hidden in ["location", "etag", "set-cookie", "date"] {
            assert!(!shown_response_header(hidden), "{hidden}");
        }
    }

    #[test]
    fn classifies_kinds() {
        let table = [
            (ProxyErrorKind::UpstreamTimeout, true, true),
            (ProxyErrorKind::UpstreamUnreachable, true, true),
            (ProxyErrorKind::TooManyConnections, false, true),
            (ProxyErrorKind::HostNotAllowed, false, false),
            (ProxyErrorKind::PrivateAddress, false, false),
            (ProxyErrorKind::FetchModeNotAllowed, false, false),
        ];
        for (kind, upstream, transient) in table {
            assert_eq!(kind.is_upstream_failure(), upstream, "{kind}");
            assert_eq!(kind.is_transient(), transient, "{kind}");
        }
    }
}
