//! Skiff's CORS proxy: `GET|HEAD /<absolute upstream URL>`, cors-anywhere style.
//!
//! Registries and their blob CDNs send no CORS headers, and a browser cannot see or control
//! redirects. This proxy answers preflight itself, follows redirects server-side (dropping
//! `Authorization` when the host changes, as S3-style signed URLs require), streams bodies
//! untouched, and exposes the headers a registry client needs. It is not an open proxy: GET and
//! HEAD only, an allowlist of upstream hosts and of browser origins, loopback bind by default,
//! only its own names in `Host`, no private upstream addresses, and every answer inert (a
//! sandboxed download, never a page that runs in the proxy's origin).

mod access_log;
mod allow;
mod app_files;
mod config;
mod config_file;
mod cors;
mod forward;
mod gate;
mod net;
mod server;
mod writes;

use axum::Router;
use tokio::net::TcpListener;

pub use access_log::LogFormat;
pub use allow::{HostRule, OriginRule, Scheme, Target};
pub use config::{Config, ConfigError, DEFAULT_LISTEN, DEFAULT_UPSTREAM_HOSTS, USAGE};
pub use net::is_public;
pub use server::Limits;

/// The proxy's routes: every path is an upstream URL, so one fallback handler takes all.
pub fn router(config: Config) -> Router {
    forward::router(config)
}

/// Serves until the process ends, with the configured timeouts and connection limit.
pub async fn serve(listener: TcpListener, config: Config) -> std::io::Result<()> {
    serve_until(listener, config, std::future::pending()).await
}

/// Serves until `shutdown` resolves, then lets the requests in flight finish (up to the
/// configured grace) and returns.
pub async fn serve_until(
    listener: TcpListener,
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = config.limits;
    server::serve(listener, router(config), limits, shutdown).await
}
