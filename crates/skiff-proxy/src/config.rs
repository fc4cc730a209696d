//! Command-line configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::access_log::LogFormat;
use crate::allow::Target;
use crate::server::Limits;
use crate::{HostRule, OriginRule};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// Registries and the hosts their tokens and blob redirects really point to. Narrow on purpose:
/// a broad storage host (`*.amazonaws.com`, `storage.googleapis.com`) serves buckets anyone
/// can fill with pages and scripts, so only the registries' own buckets and CDN names are
/// listed. (Old gcr.io images whose blobs redirect to storage.googleapis.com need
/// `--allow-host storage.googleapis.com`; the refusal says so.)
pub const DEFAULT_UPSTREAM_HOSTS: &[&str] = &[
    // Docker Hub: registry, token service, blob CDNs (Cloudflare, CloudFront, R2).
    "registry-1.docker.io",
    "index.docker.io",
    "auth.docker.io",
    "production.cloudflare.docker.com",
    "production.cloudfront.docker.com",
    "docker-images-prod.*.r2.cloudflarestorage.com",
    "docker-images-prod.s3.dualstack.*.amazonaws.com",
    // GitHub: registry and blob host.
    "ghcr.io",
    "pkg-containers.githubusercontent.com",
    // Quay and its CDN and bucket.
    "quay.io",
    "cdn.quay.io",
    "cdn01.quay.io",
    "cdn02.quay.io",
    "cdn03.quay.io",
    "quayio-production-s3.s3.amazonaws.com",
    // Google: GCR, Artifact Registry (`<region>-docker.pkg.dev`) and GCR's storage.
    "gcr.io",
    "*.gcr.io",
    "*-docker.pkg.dev",
    // Microsoft.
    "mcr.microsoft.com",
    "*.data.mcr.microsoft.com",
    // AWS ECR Public and its CloudFront distribution.
    "public.ecr.aws",
    "d2glxqk2uabbnd.cloudfront.net",
    // Kubernetes: registry.k8s.io redirects to regional S3 buckets and Artifact Registry.
    "registry.k8s.io",
    "prod-registry-k8s-io-*.s3.dualstack.*.amazonaws.com",
];

#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub upstream_hosts: Vec<HostRule>,
    pub origins: Vec<OriginRule>,
    /// Names the proxy answers to besides loopback and the listen address (`--public-host`):
    /// any other `Host` is a DNS-rebinding attempt.
    pub public_hosts: Vec<String>,
    pub limits: Limits,
    /// The built app (Trunk's `dist/`) to serve from this origin (`--serve-app`).
    pub app_dir: Option<PathBuf>,
    pub log: LogFormat,
    /// Forward POST, PUT and PATCH too (to allowlisted hosts only): pushing images.
    pub allow_push: bool,
    /// `--allow-origin loopback` was given: loopback pages stay allowed even with
    /// `--allow-push` or `--serve-app`.
    pub loopback_origins_asked: bool,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{flag} needs a value")]
    MissingValue { flag: String },
    #[error("--listen {value:?} is not an address like 127.0.0.1:8787")]
    BadListen { value: String },
    #[error("--max-connections {value:?} is not a number from 1 up")]
    BadMaxConnections { value: String },
    #[error("--shutdown-grace {value:?} is not a number of seconds")]
    BadGrace { value: String },
    #[error("--log {value:?}: use json or off")]
    BadLog { value: String },
    #[error("--serve-app {dir:?}: {reason}")]
    BadAppDir { dir: String, reason: String },
    #[error("--config {file:?}: {reason}")]
    BadConfigFile { file: String, reason: String },
    #[error("unknown argument {arg:?}; see --help")]
    Unknown { arg: String },
}

pub const USAGE: &str = "\
skiff-proxy: a CORS proxy that lets the Skiff web app talk to container registries.

Usage: skiff-proxy [--listen ADDR] [--allow-host HOST]... [--allow-origin ORIGIN]... [OPTIONS]

  --listen ADDR          address to bind (default 127.0.0.1:8787; keep it on loopback)
  --allow-host HOST      also allow this upstream host: `registry.example.com` (https, port
                         443), `127.0.0.1:5000` (that port, http or https),
                         `http://registry.lan` (plain http, port 80) or `*.example.com`
  --allow-private-host HOST
                         allow HOST (exactly, no wildcards) even though its name resolves to a
                         private, loopback or link-local address: an internal registry
  --allow-origin ORIGIN  also allow pages from this origin (`https://skiff.example`, `*`, or
                         `loopback` for any page on localhost / 127.0.0.1 / [::1]). Loopback
                         pages are allowed by default, except with --allow-push or
                         --serve-app, where any local page could write through the proxy;
                         with --serve-app the proxy's own origin is always allowed
  --public-host NAME     also answer requests addressed to NAME (the proxy's name in a
                         deployment); loopback names and the listen address always work
  --max-connections N    serve at most N connections at once (default 256)
  --no-default-hosts     start from an empty host allowlist
  --allow-push           also forward POST, PUT and PATCH (to allowlisted hosts only), so the
                         app can push images; upload sessions' Location is rewritten through
                         the proxy
  --serve-app DIR        also serve the built Skiff app (Trunk's dist/) from this origin: the
                         app then uses this proxy with no CORS at all
  --shutdown-grace SECS  after SIGTERM, let requests in flight finish for this long (default 10)
  --log json|off         one JSON line per request on stdout (default json): method, upstream
                         host and path (never a query, a header or a redirect's URL), status,
                         duration, the proxy's refusal kind
  --config FILE          read options from FILE, one per line as `allow-host = ghcr.io` (flags
                         without a value alone on their line; # starts a comment)

Health: GET /healthz answers {\"status\":\"ok\",\"service\":\"skiff-proxy\",…}.

Requests: GET or HEAD /<absolute upstream URL>, e.g. /https://registry-1.docker.io/v2/
";

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            upstream_hosts: DEFAULT_UPSTREAM_HOSTS
                .iter()
                .map(|h| HostRule::new(h))
                .collect(),
            origins: vec![OriginRule::Loopback],
            loopback_origins_asked: false,
            public_hosts: Vec::new(),
            limits: Limits {
                header_read_timeout: Duration::from_secs(10),
                // Longer than the upstream read timeout, so a stalled upstream is reported first.
                idle_timeout: Duration::from_secs(90),
                max_connections: 256,
                shutdown_grace: Duration::from_secs(10),
            },
            app_dir: None,
            log: LogFormat::Json,
            allow_push: false,
        }
    }
}

impl Config {
    /// Parses arguments (without the program name). `Ok(None)` means `--help` was asked for.
    pub fn from_args<I: IntoIterator<Item = String>>(args: I) -> Result<Option<Self>, ConfigError> {
        let mut config = Self::default();
        let args = crate::config_file::expand(args)?;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => {
                    (flag.to_owned(), Some(value.to_owned()))
                }
                _ => (arg.clone(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| ConfigError::MissingValue { flag: flag.clone() })
            };
            match flag.as_str() {
                "-h" | "--help" => return Ok(None),
                "--listen" => {
                    let text = value()?;
                    config.listen = text
                        .parse()
                        .map_err(|_| ConfigError::BadListen { value: text })?;
                }
                "--allow-host" => config.upstream_hosts.push(HostRule::new(&value()?)),
                "--allow-private-host" => config
                    .upstream_hosts
                    .push(HostRule::allowing_private(&value()?)),
                "--allow-origin" => {
                    let rule = OriginRule::parse(&value()?);
                    config.loopback_origins_asked |= rule == OriginRule::Loopback;
                    config.origins.push(rule);
                }
                "--public-host" => config
                    .public_hosts
                    .push(value()?.trim().to_ascii_lowercase()),
                "--max-connections" => {
                    let text = value()?;
                    config.limits.max_connections = text
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or(ConfigError::BadMaxConnections { value: text })?;
                }
                "--no-default-hosts" => config.upstream_hosts.clear(),
                "--allow-push" => config.allow_push = true,
                "--serve-app" => config.app_dir = Some(app_dir(&value()?)?),
                "--shutdown-grace" => {
                    let text = value()?;
                    config.limits.shutdown_grace = text
                        .parse()
                        .map(Duration::from_secs)
                        .map_err(|_| ConfigError::BadGrace { value: text })?;
                }
                "--log" => {
                    let text = value()?;
                    config.log = text
                        .parse()
                        .map_err(|()| ConfigError::BadLog { value: text })?;
                }
                _ => return Err(ConfigError::Unknown { arg }),
            }
        }
        config.settle_loopback_origins();
        Ok(Some(config))
    }

    /// Any page on this machine (another app on another loopback port, say) may read through a
    /// pull-only proxy, which is harmless; through one that writes (`--allow-push`) or serves
    /// the app (whose origin holds the user's settings), only when asked for.
    fn settle_loopback_origins(&mut self) {
        let writes_or_serves = self.allow_push || self.app_dir.is_some();
        if writes_or_serves && !self.loopback_origins_asked {
            self.origins.retain(|rule| *rule != OriginRule::Loopback);
        }
    }

    pub fn host_allowed(&self, target: &Target<'_>) -> bool {
        self.upstream_hosts.iter().any(|rule| rule.matches(target))
    }

    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.origins.iter().any(|rule| rule.matches(origin))
    }

    /// Whether a request addressed to `host` (the `Host` header's name, without port) is for
    /// this proxy: a loopback name or address, the listen address, or a configured public name.
    pub fn answers_to(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let Ok(parsed) = url::Host::parse(&host) else {
            return false;
        };
        let listen_ip = self.listen.ip();
        crate::allow::is_loopback_host(&parsed)
            || (!listen_ip.is_unspecified()
                && host.trim_start_matches('[').trim_end_matches(']') == listen_ip.to_string())
            || self.public_hosts.contains(&host)
    }
}

/// A directory that holds the built app (its `index.html`), made absolute.
fn app_dir(dir: &str) -> Result<PathBuf, ConfigError> {
    let bad = |reason: &str| ConfigError::BadAppDir {
        dir: dir.to_owned(),
        reason: reason.to_owned(),
    };
    let path = std::fs::canonicalize(dir).map_err(|e| bad(&e.to_string()))?;
    if !path.join("index.html").is_file() {
        return Err(bad(
            "no index.html there; build the app with `trunk build --release` and pass its dist/",
        ));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Config {
        Config::from_args(args.iter().map(|a| a.to_string()))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn answers_only_to_its_own_names() {
        let local = config(&[]);
        for host in ["127.0.0.1", "localhost", "LOCALHOST", "[::1]", "127.0.0.2"] {
            assert!(local.answers_to(host), "{host}");
        }
        for host in [
            "evil.com",
            "127.evil.com",
            "localhost.evil.com",
            "10.0.0.1",
            "",
        ] {
            assert!(!local.answers_to(host), "{host}");
        }
        let deployed = config(&["--listen", "10.1.2.3:8787", "--public-host", "Skiff.Corp"]);
        assert!(deployed.answers_to("10.1.2.3"));
        assert!(deployed.answers_to("skiff.corp"));
        assert!(!deployed.answers_to("skiff.corp.evil.com"));
        let any = config(&["--listen", "0.0.0.0:8787"]);
        assert!(!any.answers_to("0.0.0.0"));
    }

    #[test]
    fn reads_flags() {
        let c = config(&[
            "--max-connections=3",
            "--allow-private-host",
            "reg.lan:5000",
        ]);
        assert_eq!(c.limits.max_connections, 3);
        assert!(c
            .upstream_hosts
            .last()
            .unwrap()
            .allows_private_name("reg.lan"));
        for bad in [
            &["--max-connections", "0"][..],
            &["--listen", "nope"],
            &["--what"],
        ] {
            assert!(Config::from_args(bad.iter().map(|a| a.to_string())).is_err());
        }
    }

    #[test]
    fn loopback_pages_are_opt_in_where_the_proxy_writes_or_serves_the_app() {
        let page = "http://127.0.0.1:3000";
        let app = std::env::temp_dir().join(format!("skiff-config-app-{}", std::process::id()));
        std::fs::create_dir_all(&app).unwrap();
        std::fs::write(app.join("index.html"), "<!doctype html>").unwrap();
        let app = app.to_str().unwrap();
        let table: &[(&[&str], bool)] = &[
            (&[], true),
            (&["--allow-push"], false),
            (&["--serve-app", app], false),
            (&["--allow-push", "--allow-origin", "loopback"], true),
            (&["--allow-push", "--allow-origin", page], true),
            (
                &["--allow-push", "--allow-origin", "http://127.0.0.1:3001"],
                false,
            ),
        ];
        for (args, allowed) in table {
            assert_eq!(config(args).origin_allowed(page), *allowed, "{args:?}");
        }
    }

    #[test]
    fn default_hosts_are_narrow() {
        let c = Config::default();
        let https = |host| Target {
            scheme: crate::allow::Scheme::Https,
            host,
            port: 443,
        };
        assert!(c.host_allowed(&https("registry-1.docker.io")));
        assert!(c.host_allowed(&https("europe-west1-docker.pkg.dev")));
        assert!(c.host_allowed(&https(
            "prod-registry-k8s-io-us-east-2.s3.dualstack.us-east-2.amazonaws.com"
        )));
        for refused in [
            "storage.googleapis.com",
            "evil.s3.amazonaws.com",
            "attacker.cloudfront.net",
            "x.r2.cloudflarestorage.com",
        ] {
            assert!(!c.host_allowed(&https(refused)), "{refused}");
        }
        let http = Target {
            scheme: crate::allow::Scheme::Http,
            host: "ghcr.io",
            port: 80,
        };
        assert!(
            !c.host_allowed(&http),
            "no plain http to a rule without a port"
        );
    }
}
