//! Where the distribution API lives for a reference, and how a URL goes through a CORS proxy.

use crate::reference::DOCKER_HUB;
use crate::{Digest, Reference};

/// The API base of a registry host: Docker Hub's real endpoint for `docker.io`, plain HTTP for
/// loopback registries (as Docker treats them), HTTPS for everything else.
pub fn api_base(registry: &str) -> String {
    if registry == DOCKER_HUB {
        return "https://registry-1.docker.io".to_owned();
    }
    let host = registry
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']').map(|(h, _)| h))
        .unwrap_or_else(|| registry.split(':').next().unwrap_or(registry));
    let loopback = host == "localhost" || host.starts_with("127.") || host == "::1";
    let scheme = if loopback { "http" } else { "https" };
    format!("{scheme}://{registry}")
}

/// `GET /v2/`: the version check that also yields the auth challenge.
pub fn ping_url(registry: &str) -> String {
    format!("{}/v2/", api_base(registry))
}

pub fn manifest_url(reference: &Reference, manifest_reference: &str) -> String {
    format!(
        "{}/v2/{}/manifests/{manifest_reference}",
        api_base(reference.registry()),
        reference.repository()
    )
}

pub fn blob_url(reference: &Reference, digest: &Digest) -> String {
    format!(
        "{}/v2/{}/blobs/{digest}",
        api_base(reference.registry()),
        reference.repository()
    )
}

/// How requests reach upstream: through a cors-anywhere style proxy (`<proxy>/<absolute URL>`),
/// or directly for registries that send CORS headers themselves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    proxy: Option<String>,
}

impl Route {
    /// An empty `proxy` means direct.
    pub fn new(proxy: &str) -> Self {
        let proxy = proxy.trim();
        Self {
            proxy: (!proxy.is_empty()).then(|| {
                if proxy.ends_with('/') {
                    proxy.to_owned()
                } else {
                    format!("{proxy}/")
                }
            }),
        }
    }

    pub fn is_direct(&self) -> bool {
        self.proxy.is_none()
    }

    /// The proxy's base URL, if any.
    pub fn proxy(&self) -> Option<&str> {
        self.proxy.as_deref()
    }

    /// The URL the browser fetches for `upstream`.
    pub fn url(&self, upstream: &str) -> String {
        match &self.proxy {
            Some(proxy) => format!("{proxy}{upstream}"),
            None => upstream.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_api_urls() {
        let hub: Reference = "busybox".parse().unwrap();
        assert_eq!(
            manifest_url(&hub, &hub.manifest_reference()),
            "https://registry-1.docker.io/v2/library/busybox/manifests/latest"
        );
        let local: Reference = "127.0.0.1:5000/skiff/app:v1".parse().unwrap();
        assert_eq!(ping_url(local.registry()), "http://127.0.0.1:5000/v2/");
        let digest = Digest::of(b"");
        assert_eq!(
            blob_url(&local, &digest),
            format!("http://127.0.0.1:5000/v2/skiff/app/blobs/{digest}")
        );
        assert_eq!(api_base("localhost:5000"), "http://localhost:5000");
        assert_eq!(api_base("[::1]:5000"), "http://[::1]:5000");
        assert_eq!(api_base("ghcr.io"), "https://ghcr.io");
        assert_eq!(
            api_base("registry.example.com:443"),
            "https://registry.example.com:443"
        );
    }

    #[test]
    fn routes_through_a_proxy_or_directly() {
        let route = Route::new("http://127.0.0.1:8787");
        assert_eq!(
            route.url("https://ghcr.io/v2/"),
            "http://127.0.0.1:8787/https://ghcr.io/v2/"
        );
        assert_eq!(
            Route::new("http://p/").url("https://x/"),
            "http://p/https://x/"
        );
        let direct = Route::new("  ");
        assert!(direct.is_direct());
        assert_eq!(direct.url("https://x/v2/"), "https://x/v2/");
    }
}
