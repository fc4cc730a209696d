//! The one handler: preflight, refusals, and forwarding GET/HEAD to the upstream URL in the path.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Router;

use crate::Config;

/// Request headers passed upstream; everything else (cookies, origin, referer) stays here.
const FORWARDED_REQUEST_HEADERS: &[HeaderName] = &[
    header::ACCEPT,
    header::AUTHORIZATION,
    header::RANGE,
    header::IF_NONE_MATCH,
    header::IF_RANGE,
];

/// Response headers passed back to the browser, and exposed to its scripts.
const PASSED_RESPONSE_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "content-range",
    "accept-ranges",
    "docker-content-digest",
    "docker-distribution-api-version",
    "www-authenticate",
    "link",
    "etag",
    "last-modified",
    "retry-after",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "docker-ratelimit-source",
];

/// Set by the proxy itself: why it refused a request, and the host a redirect ended on (never
/// the full URL: signed CDN URLs carry credentials in their query).
const PROXY_ERROR_HEADER: &str = "x-skiff-proxy-error";
const REDIRECTED_TO_HEADER: &str = "x-skiff-redirected-to";

const ALLOWED_REQUEST_HEADERS: &str = "Authorization, Accept, Range, If-None-Match, If-Range";
const MAX_REDIRECTS: usize = 10;

struct Shared {
    config: Config,
    client: reqwest::Client,
}

pub(crate) fn router(config: Config) -> Router {
    let redirect_config = config.clone();
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        let (host, port) = host_and_port(attempt.url());
        if redirect_config.host_allowed(&host, port) {
            // reqwest drops Authorization and Cookie itself when the host changes.
            attempt.follow()
        } else {
            attempt.error(format!(
                "the upstream redirected to {host}, which is not on the proxy's allowlist; restart the proxy with --allow-host {host}"
            ))
        }
    });
    let client = reqwest::Client::builder()
        .redirect(policy)
        .connect_timeout(Duration::from_secs(15))
        .read_timeout(Duration::from_secs(60))
        .user_agent(concat!("skiff-proxy/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client's configuration is valid");
    let shared = Arc::new(Shared { config, client });
    Router::new().fallback(handle).with_state(shared)
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Refusals still carry CORS headers so the page can show the reason.
    let cors = Cors {
        origin: origin.clone(),
    };
    if let Some(origin) = &origin {
        if !shared.config.origin_allowed(origin) {
            return cors.refuse(
                StatusCode::FORBIDDEN,
                "origin-not-allowed",
                format!("Skiff's proxy does not serve pages from {origin}; restart it with --allow-origin {origin}"),
            );
        }
    }

    let path = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_default();
    let target = path.trim_start_matches('/');
    if target.is_empty() && request.method() != Method::OPTIONS {
        return cors.text(
            StatusCode::OK,
            "Skiff CORS proxy is running. Request GET /<absolute upstream URL>, e.g. /https://registry-1.docker.io/v2/\n".to_owned(),
        );
    }

    match *request.method() {
        Method::OPTIONS => cors.preflight(request.headers()),
        Method::GET | Method::HEAD => forward(&shared, &cors, target, request.headers(), request.method()).await,
        ref other => cors.refuse(
            StatusCode::FORBIDDEN,
            "method-not-allowed",
            format!("Skiff's proxy forwards only GET and HEAD (pulling is read-only); {other} is refused"),
        ),
    }
}

async fn forward(
    shared: &Shared,
    cors: &Cors,
    target: &str,
    request_headers: &HeaderMap,
    method: &Method,
) -> Response {
    // Some clients collapse `//` in paths: accept `https:/host/…` too.
    let target = match target.split_once(":/") {
        Some((scheme, rest)) if !rest.starts_with('/') => format!("{scheme}://{rest}"),
        _ => target.to_owned(),
    };
    let url =
        match url::Url::parse(&target) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => url,
            _ => return cors.refuse(
                StatusCode::BAD_REQUEST,
                "bad-target",
                "the path must be an absolute http(s) URL, e.g. /https://registry-1.docker.io/v2/"
                    .to_owned(),
            ),
        };
    let (host, port) = host_and_port(&url);
    if !shared.config.host_allowed(&host, port) {
        let shown = shown_host(&url);
        return cors.refuse(
            StatusCode::FORBIDDEN,
            "host-not-allowed",
            format!("Skiff's proxy does not forward to {shown}: it is not on the allowlist; restart the proxy with --allow-host {shown}"),
        );
    }

    let mut upstream = shared.client.request(method.clone(), url);
    for name in FORWARDED_REQUEST_HEADERS {
        if let Some(value) = request_headers.get(name) {
            upstream = upstream.header(name, value);
        }
    }
    let response = match upstream.send().await {
        Ok(response) => response,
        Err(error) => {
            let redirect = error.is_redirect();
            // Never echo the URL: signed URLs carry secrets.
            let error = error.without_url();
            let detail = std::iter::successors(std::error::Error::source(&error), |e| e.source())
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(": ");
            let (status, kind) = if redirect {
                (StatusCode::FORBIDDEN, "redirect-not-allowed")
            } else if error.is_timeout() {
                (StatusCode::GATEWAY_TIMEOUT, "upstream-timeout")
            } else {
                (StatusCode::BAD_GATEWAY, "upstream-unreachable")
            };
            return cors.refuse(
                status,
                kind,
                format!(
                    "Skiff's proxy could not complete the request to {host}: {error}: {detail}"
                ),
            );
        }
    };

    let mut builder = Response::builder().status(response.status().as_u16());
    let headers = builder.headers_mut().expect("a fresh builder has headers");
    for name in PASSED_RESPONSE_HEADERS {
        for value in response.headers().get_all(*name) {
            headers.append(HeaderName::from_static(name), value.clone());
        }
    }
    if host_and_port(response.url()) != (host.clone(), port) {
        if let Ok(value) = HeaderValue::from_str(&shown_host(response.url())) {
            headers.insert(REDIRECTED_TO_HEADER, value);
        }
    }
    cors.apply(headers);
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from_stream(response.bytes_stream())
    };
    builder.body(body).expect("the response parts are valid")
}

/// The host (IPv6 without brackets) and effective port, as the allowlist matches them.
fn host_and_port(url: &url::Url) -> (String, u16) {
    let host = url.host_str().unwrap_or("").trim_matches(['[', ']']);
    (host.to_owned(), url.port_or_known_default().unwrap_or(0))
}

/// `host` or `host:port` as the user would write it in `--allow-host`.
fn shown_host(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

struct Cors {
    origin: Option<String>,
}

impl Cors {
    fn apply(&self, headers: &mut HeaderMap) {
        let allow = self.origin.as_deref().unwrap_or("*");
        if let Ok(value) = HeaderValue::from_str(allow) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        }
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        let exposed = PASSED_RESPONSE_HEADERS
            .iter()
            .copied()
            .chain([PROXY_ERROR_HEADER, REDIRECTED_TO_HEADER])
            .collect::<Vec<_>>()
            .join(", ");
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_str(&exposed).expect("header names are valid values"),
        );
    }

    fn preflight(&self, request_headers: &HeaderMap) -> Response {
        let mut response = Response::builder()
            .status(StatusCode::NO_CONTENT)
            .header(header::ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, OPTIONS")
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

    fn text(&self, status: StatusCode, message: String) -> Response {
        let mut response = Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Body::from(message))
            .expect("valid response");
        self.apply(response.headers_mut());
        response
    }

    fn refuse(&self, status: StatusCode, kind: &'static str, message: String) -> Response {
        let mut response = self.text(status, format!("{message}\n"));
        response
            .headers_mut()
            .insert(PROXY_ERROR_HEADER, HeaderValue::from_static(kind));
        response
    }
}
