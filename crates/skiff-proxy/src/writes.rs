//! Pushing through the proxy (`--allow-push`): the methods and headers uploads need, and the
//! upload session's `Location`, which the registry names on its own origin and the browser must
//! reach through the proxy.

use axum::http::{header, HeaderName, Method};

/// Methods forwarded only with `--allow-push`.
pub const WRITE_METHODS: [Method; 3] = [Method::POST, Method::PUT, Method::PATCH];

/// Request headers an upload carries, forwarded with its body.
pub const UPLOAD_REQUEST_HEADERS: [HeaderName; 3] = [
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    HeaderName::from_static("content-range"),
];

/// Response headers of upload answers, passed back and exposed.
pub const UPLOAD_RESPONSE_HEADERS: [&str; 4] = [
    "location",
    "range",
    "docker-upload-uuid",
    "oci-chunk-min-length",
];

/// The upstream's `Location` (relative or absolute) as a path on the proxy: `/` followed by the
/// absolute upstream URL, so the page's next request reaches the session through the proxy.
/// `None` for what is not an http(s) URL.
pub fn location_through_proxy(upstream: &url::Url, location: &str) -> Option<String> {
    let absolute = upstream.join(location).ok()?;
    matches!(absolute.scheme(), "http" | "https").then(|| format!("/{absolute}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_sessions_are_reached_through_the_proxy() {
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
            assert_eq!(
                location_through_proxy(&upstream, location).as_deref(),
                expected,
                "{location}"
            );
        }
    }
}
