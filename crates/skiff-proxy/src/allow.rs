//! Allowlists of upstream hosts and browser origins.

use std::fmt;

/// `registry-1.docker.io`, `127.0.0.1:5000` (that port only) or `*.pkg.dev` (any subdomain).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRule {
    pattern: String,
}

impl HostRule {
    pub fn new(pattern: &str) -> Self {
        Self {
            pattern: pattern.trim().to_ascii_lowercase(),
        }
    }

    /// `host` is lowercase, without brackets for IPv6; `port` is the effective port.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        let (rule_host, rule_port) = split_host_port(&self.pattern);
        if let Some(rule_port) = rule_port {
            if rule_port != port {
                return false;
            }
        }
        match rule_host.strip_prefix("*.") {
            Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
            None => rule_host == host,
        }
    }
}

impl fmt::Display for HostRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
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
                    && matches!(
                        url.host(),
                        Some(url::Host::Domain("localhost"))
                            | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
                            | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
                    )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_rules() {
        assert!(HostRule::new("ghcr.io").matches("ghcr.io", 443));
        assert!(!HostRule::new("ghcr.io").matches("evil-ghcr.io", 443));
        assert!(HostRule::new("*.pkg.dev").matches("europe-docker.pkg.dev", 443));
        assert!(!HostRule::new("*.pkg.dev").matches("pkg.dev", 443));
        assert!(!HostRule::new("*.pkg.dev").matches("pkg.dev.evil.com", 443));
        assert!(HostRule::new("127.0.0.1:5000").matches("127.0.0.1", 5000));
        assert!(!HostRule::new("127.0.0.1:5000").matches("127.0.0.1", 5001));
        assert!(HostRule::new("[::1]:5000").matches("::1", 5000));
        assert!(HostRule::new("Quay.IO").matches("quay.io", 443));
    }

    #[test]
    fn origin_rules() {
        assert!(OriginRule::Loopback.matches("http://127.0.0.1:8080"));
        assert!(OriginRule::Loopback.matches("http://localhost:8080"));
        assert!(OriginRule::Loopback.matches("http://[::1]:3000"));
        assert!(!OriginRule::Loopback.matches("http://localhost.evil.com"));
        assert!(!OriginRule::Loopback.matches("null"));
        assert!(OriginRule::parse("https://skiff.example/").matches("https://skiff.example"));
        assert!(!OriginRule::parse("https://skiff.example").matches("https://other.example"));
        assert!(OriginRule::parse("*").matches("https://anything"));
    }
}
