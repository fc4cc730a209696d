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
