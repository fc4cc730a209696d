//! Pushing through the proxy (`--allow-push`): the methods and request headers uploads need.
//! (The upload session's `Location`, rewritten to reach the session through the proxy, is part
//! of the contract with the app: `skiff_core::protocol::proxy_protocol::location_through_proxy`.)

use axum::http::{header, HeaderName, Method};

/// Methods forwarded only with `--allow-push`.
pub const WRITE_METHODS: [Method; 3] = [Method::POST, Method::PUT, Method::PATCH];

/// Request headers an upload carries, forwarded with its body.
pub const UPLOAD_REQUEST_HEADERS: [HeaderName; 3] = [
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    HeaderName::from_static("content-range"),
];
