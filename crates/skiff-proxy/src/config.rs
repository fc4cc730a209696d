//! Command-line configuration.

use std::net::SocketAddr;

use crate::{HostRule, OriginRule};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// Registries and the hosts their tokens and blob redirects point to.
pub const DEFAULT_UPSTREAM_HOSTS: &[&str] = &[
    // Docker Hub: registry, token service, blob CDNs (Cloudflare, CloudFront, R2).
    "registry-1.docker.io",
    "index.docker.io",
    "auth.docker.io",
    "production.cloudflare.docker.com",
    "production.cloudfront.docker.com",
    "*.r2.cloudflarestorage.com",
    // GitHub: registry and blob host.
    "ghcr.io",
    "pkg-containers.githubusercontent.com",
    // Quay and its CDN.
    "quay.io",
    "*.quay.io",
    // Google: GCR, Artifact Registry and their storage.
    "gcr.io",
    "*.gcr.io",
    "*.pkg.dev",
    "storage.googleapis.com",
    // Microsoft.
    "mcr.microsoft.com",
    "*.data.mcr.microsoft.com",
    // AWS ECR Public and the S3/CloudFront hosts it and registry.k8s.io redirect to.
    "public.ecr.aws",
    "*.cloudfront.net",
    "*.amazonaws.com",
    // Kubernetes.
    "registry.k8s.io",
];

#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub upstream_hosts: Vec<HostRule>,
    pub origins: Vec<OriginRule>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{flag} needs a value")]
    MissingValue { flag: String },
    #[error("--listen {value:?} is not an address like 127.0.0.1:8787")]
    BadListen { value: String },
    #[error("unknown argument {arg:?}; see --help")]
    Unknown { arg: String },
}

pub const USAGE: &str = "\
skiff-proxy: a CORS proxy that lets the Skiff web app talk to container registries.

Usage: skiff-proxy [--listen ADDR] [--allow-host HOST]... [--allow-origin ORIGIN]...

  --listen ADDR          address to bind (default 127.0.0.1:8787; keep it on loopback)
  --allow-host HOST      also allow this upstream host: `registry.example.com`,
                         `127.0.0.1:5000` (that port only) or `*.example.com`
  --allow-origin ORIGIN  also allow pages from this origin (`https://skiff.example`, or `*`);
                         pages on localhost / 127.0.0.1 / [::1] are always allowed
  --no-default-hosts     start from an empty host allowlist

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
        }
    }
}

impl Config {
    /// Parses arguments (without the program name). `Ok(None)` means `--help` was asked for.
    pub fn from_args<I: IntoIterator<Item = String>>(args: I) -> Result<Option<Self>, ConfigError> {
        let mut config = Self::default();
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
                "--allow-origin" => config.origins.push(OriginRule::parse(&value()?)),
                "--no-default-hosts" => config.upstream_hosts.clear(),
                _ => return Err(ConfigError::Unknown { arg }),
            }
        }
        Ok(Some(config))
    }

    pub fn host_allowed(&self, host: &str, port: u16) -> bool {
        self.upstream_hosts
            .iter()
            .any(|rule| rule.matches(host, port))
    }

    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.origins.iter().any(|rule| rule.matches(origin))
    }
}
