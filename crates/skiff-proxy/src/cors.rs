//! The proxy's own answer headers: CORS for the page (which origin, which headers it may read
//! and send) and the headers that keep everything relayed inert. Refusals carry them too, so
//! the page can show the reason.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

use skiff_core::protocol::proxy_protocol::{
    ProxyErrorKind, CHALLENGE_HEADER, PROXY_ERROR_HEADER, REDIRECTED_TO_HEADER,
    RELAYED_RESPONSE_HEADERS,
};

/// Set on every answer, so that nothing relayed can act in the proxy's origin: a page an upstream
/// serves (an HTML file in an allowlisted bucket, say) is a sandboxed download, never a document.
const INERT_RESPONSE_HEADERS: [(HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, "sandbox"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::CONTENT_DISPOSITION, "attachment"),
    // Nothing relayed is kept by the browser's HTTP cache: a broken body must not be reused,
    // and tokens' answers are secrets.
    (header::CACHE_CONTROL, "no-store"),
];

const ALLOWED_REQUEST_HEADERS: &str =
    "X-Skiff-Authorization, Accept, Range, If-None-Match, If-Range, Content-Type, Content-Range";
#[derive(Default)]
pub(crate) struct Cors {
    pub(crate) origin: Option<String>,
}

impl Cors {
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in INERT_RESPONSE_HEADERS {
            headers.insert(name, HeaderValue::from_static(value));
        }
        let allow = self.origin.as_deref().unwrap_or("*");
        if let Ok(value) = HeaderValue::from_str(allow) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        }
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        let exposed = RELAYED_RESPONSE_HEADERS
            .iter()
            .copied()
            .chain([PROXY_ERROR_HEADER, REDIRECTED_TO_HEADER, CHALLENGE_HEADER])
            .collect::<Vec<_>>()
            .join(", ");
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_str(&exposed).expect("header names are valid values"),
        );
    }

    pub(crate) fn preflight(&self, request_headers: &HeaderMap, writes: bool) -> Response {
        let methods = if writes {
            "GET, HEAD, OPTIONS, POST, PUT, PATCH"
        } else {
            "GET, HEAD, OPTIONS"
        };
        let mut response = Response::builder()
            .status(StatusCode::NO_CONTENT)
            .header(header::ACCESS_CONTROL_ALLOW_METHODS, methods)
            // `*` never covers Authorization, so name every header explicitly.
            .header(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                ALLOWED_REQUEST_HEADERS,
            )
            .header(header::ACCESS_CONTROL_MAX_AGE, "600");
        if request_headers.contains_key("access-control-request-private-network") {
            response = response.header("access-control-allow-private-network", "true");
        }
        let mut response = response.body(Body::empty()).expect("valid preflight");
        self.apply(response.headers_mut());
        response
    }

    pub(crate) fn text(&self, status: StatusCode, message: String) -> Response {
        let mut response = Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Body::from(message))
            .expect("valid response");
        self.apply(response.headers_mut());
        response
    }

    pub(crate) fn refuse(
        &self,
        status: StatusCode,
        kind: ProxyErrorKind,
        message: String,
    ) -> Response {
        let mut response = self.text(status, format!("{message}\n"));
        response
            .headers_mut()
            .insert(PROXY_ERROR_HEADER, HeaderValue::from_static(kind.as_str()));
        response
    }
}
