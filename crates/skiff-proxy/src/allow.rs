//! Allowlists of upstream hosts and browser origins.

use std::fmt;
use std::net::IpAddr;

/// One allowed upstream: `registry.example.com` (https on 443 only), `127.0.0.1:5000` (that
/// port, http or https), `http://registry.lan` (that scheme on its default port),
/// `*.data.mcr.microsoft.com` (any subdomain) or `prod-*.s3.*.amazonaws.com` (`*` inside a label
/// matches within that one label). Wildcards match names only, never IP addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRule {
    text: String,
    scheme: Option<Scheme>,
    host: String,
    port: Option<u16>,
    /// The name may resolve to private, loopback or link-local addresses (`--allow-private-host`).
    private_ok: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "http" => Some(Self::Http),
            "https" => Some(Self::Https),
            _ => None,
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }
}

/// What a rule is matched against: a parsed upstream URL's scheme, host (lowercase, IPv6
/// without brackets) and effective port.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    pub scheme: Scheme,
    pub host: &'a str,
    pub port: u16,
}

impl<'a> Target<'a> {
    /// `None` for anything but an http(s) URL with a host.
    pub fn of(url: &'a url::Url) -> Option<Self> {
        let scheme = Scheme::parse(url.scheme())?;
        let host = url
            .host_str()?
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = url.port_or_known_default()?;
        Some(Self { scheme, host, port })
    }
}

impl HostRule {
    pub fn new(pattern: &str) -> Self {
        let text = pattern.trim().to_ascii_lowercase();
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => (Scheme::parse(scheme), rest),
            None => (None, text.as_str()),
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = split_host_port(rest);
        Self {
            host: host.to_owned(),
            port,
            scheme,
            private_ok: false,
            text,
        }
    }

    /// A rule whose name may resolve to private addresses: an internal registry, deliberately.
    pub fn allowing_private(pattern: &str) -> Self {
        Self {
            private_ok: true,
            ..Self::new(pattern)
        }
    }

    pub fn matches(&self, target: &Target<'_>) -> bool {
        let scheme_ok = match (self.scheme, self.port) {
            (Some(scheme), _) => scheme == target.scheme,
            // A port names a service that may be plain http (`127.0.0.1:5000`, as docker's
            // insecure registries); without one, the registry's own scheme: https.
            (None, Some(_)) => true,
            (None, None) => target.scheme == Scheme::Https,
        };
        let port = self
            .port
            .unwrap_or_else(|| self.scheme.unwrap_or(Scheme::Https).default_port());
        scheme_ok && port == target.port && self.host_matches(target.host)
    }

    fn host_matches(&self, host: &str) -> bool {
        if let Ok(address) = host.parse::<IpAddr>() {
            // Only a rule naming this very address allows it.
            return self
                .host
                .parse::<IpAddr>()
                .is_ok_and(|rule| rule == address);
        }
        match self.host.strip_prefix("*.") {
            Some(suffix) => {
                // One or more labels, then the suffix label by label.
                let wanted = suffix.split('.').count();
                let labels: Vec<&str> = host.split('.').collect();
                labels.len() > wanted
                    && labels_match(suffix, &labels[labels.len() - wanted..].join("."))
            }
            None => labels_match(&self.host, host),
        }
    }

    /// Whether `host` may resolve to non-public addresses: it is named by a rule made with
    /// [`HostRule::allowing_private`], exactly (no wildcards).
    pub fn allows_private_name(&self, host: &str) -> bool {
        self.private_ok && self.host == host
    }
}

/// Label by label; a label of the pattern may hold one `*`, which matches one or more characters
/// within that label only.
fn labels_match(pattern: &str, host: &str) -> bool {
    let pattern_labels: Vec<&str> = pattern.split('.').collect();
    let host_labels: Vec<&str> = host.split('.').collect();
    pattern_labels.len() == host_labels.len()
        && pattern_labels
            .iter()
            .zip(&host_labels)
            .all(|(p, h)| label_matches(p, h))
}

fn label_matches(pattern: &str, label: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == label,
        Some((before, after)) => {
            !label.is_empty()
                && label.len() > before.len() + after.len()
                && label.starts_with(before)
                && label.ends_with(after)
                && !after.contains('*')
        }
    }
}

impl fmt::Display for HostRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn split_host_port(pattern: &str) -> (&str, Option<u16>) {
    if let Some(rest) = pattern.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            return (host, after.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    match pattern.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (pattern, None),
        },
        _ => (pattern, None),
    }
}

/// A browser origin allowed to use the proxy: exact (`https://skiff.example`), `*`, or the
/// built-in "any loopback origin" rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OriginRule {
    Exact(String),
    Any,
    Loopback,
}

impl OriginRule {
    pub fn parse(text: &str) -> Self {
        match text.trim() {
            "*" => Self::Any,
            "loopback" => Self::Loopback,
            other => Self::Exact(other.trim_end_matches('/').to_ascii_lowercase()),
        }
    }

    pub fn matches(&self, origin: &str) -> bool {
        let origin = origin.to_ascii_lowercase();
        match self {
            Self::Any => true,
            Self::Exact(exact) => *exact == origin,
            Self::Loopback => {
                let Ok(url) = url::Url::parse(&origin) else {
                    return false;
                };
                matches!(url.scheme(), "http" | "https")
                    && url.host().is_some_and(|host| is_loopback_host(&host))
            }
        }
    }
}

/// `localhost`, `127.0.0.0/8` or `::1`, decided on the parsed host.
pub fn is_loopback_host<S: AsRef<str>>(host: &url::Host<S>) -> bool {
    match host {
        url::Host::Domain(name) => name.as_ref().eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(address) => address.is_loopback(),
        url::Host::Ipv6(address) => address.is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(scheme: Scheme, host: &str, port: u16) -> Target<'_> {
        Target { scheme, host, port }
    }

    #[test]
    fn host_rules() {
        use Scheme::{Http, Https};
        let table: &[(&str, Scheme, &str, u16, bool)] = &[
            ("ghcr.io", Https, "ghcr.io", 443, true),
            ("ghcr.io", Https, "evil-ghcr.io", 443, false),
            // Without a port: the registry's scheme and port only.
            ("ghcr.io", Http, "ghcr.io", 80, false),
            ("ghcr.io", Https, "ghcr.io", 8443, false),
            ("https://ghcr.io:8443", Https, "ghcr.io", 8443, true),
            ("http://registry.lan", Http, "registry.lan", 80, true),
            ("http://registry.lan", Https, "registry.lan", 443, false),
            ("*.pkg.dev", Https, "europe-docker.pkg.dev", 443, true),
            ("*.pkg.dev", Https, "a.b.pkg.dev", 443, true),
            ("*.pkg.dev", Https, "pkg.dev", 443, false),
            ("*.pkg.dev", Https, "pkg.dev.evil.com", 443, false),
            ("*.pkg.dev", Https, "evilpkg.dev", 443, false),
            ("*-docker.pkg.dev", Https, "us-docker.pkg.dev", 443, true),
            ("*-docker.pkg.dev", Https, "a.us-docker.pkg.dev", 443, false),
            ("*-docker.pkg.dev", Https, "-docker.pkg.dev", 443, false),
            (
                "p-*.s3.*.amazonaws.com",
                Https,
                "p-eu.s3.us-east-2.amazonaws.com",
                443,
                true,
            ),
            (
                "p-*.s3.*.amazonaws.com",
                Https,
                "x.s3.us-east-2.amazonaws.com",
                443,
                false,
            ),
            (
                "p-*.s3.*.amazonaws.com",
                Https,
                "p-a.s3.amazonaws.com",
                443,
                false,
            ),
            ("127.0.0.1:5000", Http, "127.0.0.1", 5000, true),
            ("127.0.0.1:5000", Https, "127.0.0.1", 5000, true),
            ("127.0.0.1:5000", Http, "127.0.0.1", 5001, false),
            ("[::1]:5000", Http, "::1", 5000, true),
            ("Quay.IO", Https, "quay.io", 443, true),
            // Wildcards never match addresses, whatever their digits.
            ("*.0.1", Https, "127.0.0.1", 443, false),
            ("*.1", Https, "10.0.0.1", 443, false),
            // An address rule matches the parsed address, in any spelling.
            ("[0:0:0:0:0:0:0:1]:5000", Http, "::1", 5000, true),
        ];
        for (rule, scheme, host, port, expected) in table {
            assert_eq!(
                HostRule::new(rule).matches(&target(*scheme, host, *port)),
                *expected,
                "{rule} vs {scheme:?}://{host}:{port}"
            );
        }
    }

    #[test]
    fn private_names_are_allowed_only_exactly() {
        let rule = HostRule::allowing_private("registry.corp:5000");
        assert!(rule.allows_private_name("registry.corp"));
        assert!(!rule.allows_private_name("other.corp"));
        assert!(!HostRule::new("registry.corp").allows_private_name("registry.corp"));
    }

    #[test]
    fn origin_rules() {
        assert!(OriginRule::Loopback.matches("http://127.0.0.1:8080"));
        assert!(OriginRule::Loopback.matches("http://127.1.2.3:8080"));
        assert!(OriginRule::Loopback.matches("http://localhost:8080"));
        assert!(OriginRule::Loopback.matches("http://[::1]:3000"));
        assert!(!OriginRule::Loopback.matches("http://localhost.evil.com"));
        assert!(!OriginRule::Loopback.matches("http://127.evil.com"));
        assert!(!OriginRule::Loopback.matches("null"));
        assert!(OriginRule::parse("https://skiff.example/").matches("https://skiff.example"));
        assert!(!OriginRule::parse("https://skiff.example").matches("https://other.example"));
        assert!(OriginRule::parse("*").matches("https://anything"));
    }
}
