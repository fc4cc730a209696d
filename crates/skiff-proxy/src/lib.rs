//! Skiff's CORS proxy: `GET|HEAD /<absolute upstream URL>`, cors-anywhere style.
//!
//! Registries and their blob CDNs send no CORS headers, and a browser cannot see or control
//! redirects. This proxy answers preflight itself, follows redirects server-side (dropping
//! `Authorization` when the host changes, as S3-style signed URLs require), streams bodies
//! untouched, and exposes the headers a registry client needs. It is not an open proxy: GET and
//! HEAD only, an allowlist of upstream hosts and of browser origins, loopback bind by default.

mod allow;
mod config;
mod forward;

use axum::Router;
use tokio::net::TcpListener;

pub use allow::{HostRule, OriginRule};
pub use config::{Config, ConfigError, DEFAULT_LISTEN, DEFAULT_UPSTREAM_HOSTS, USAGE};

/// The proxy's routes: every path is an upstream URL, so one fallback handler takes all.
pub fn router(config: Config) -> Router {
    forward::router(config)
}

/// Serves until the process ends.
pub async fn serve(listener: TcpListener, config: Config) -> std::io::Result<()> {
    axum::serve(listener, router(config)).await
}
