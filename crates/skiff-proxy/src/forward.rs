//! The one handler: preflight, refusals, and forwarding GET/HEAD to the upstream URL in the path.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Router;

use skiff_core::protocol::proxy_protocol::{
    location_through_proxy, ProxyErrorKind, CHALLENGE_HEADER, CREDENTIAL_HEADER,
    PROXY_ERROR_HEADER, REDIRECTED_TO_HEADER, RELAYED_RESPONSE_HEADERS,
};

use crate::access_log::{Entry, LogFormat};
use crate::allow::{Scheme, Target};
use crate::app_files::AppFiles;
use crate::cors::Cors;
use crate::gate::{is_own_origin, refuse_fetch_mode, refuse_foreign_host};
use crate::net::{CheckedResolver, PrivateAddress};
use crate::writes::{UPLOAD_REQUEST_HEADERS, WRITE_METHODS};
use crate::Config;

/// Request headers passed upstream; everything else (cookies, origin, referer, and an
/// `Authorization` the browser added itself) stays here. The app's credential arrives as
/// [`CREDENTIAL_HEADER`] and goes on as `Authorization`.
const FORWARDED_REQUEST_HEADERS: &[HeaderName] = &[
    header::ACCEPT,
    header::RANGE,
    header::IF_NONE_MATCH,
    header::IF_RANGE,
];

const MAX_REDIRECTS: usize = 10;

struct Shared {
    config: Config,
    client: reqwest::Client,
    app: Option<AppFiles>,
}

pub(crate) fn router(config: Config) -> Router {
    let redirect_config = config.clone();
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        match redirect_verdict(&redirect_config, attempt.previous(), attempt.url()) {
            // reqwest drops Authorization and Cookie itself when the host changes.
            Ok(()) => attempt.follow(),
            Err(reason) => attempt.error(reason),
        }
    });
    let client = reqwest::Client::builder()
        .redirect(policy)
        // The first hop's URL may be signed: it goes nowhere else.
        .referer(false)
        // Every name is resolved and checked here; a system proxy would resolve it elsewhere.
        .no_proxy()
        .dns_resolver(Arc::new(CheckedResolver::new(
            config.upstream_hosts.clone(),
        )))
        .connect_timeout(Duration::from_secs(15))
        .read_timeout(Duration::from_secs(60))
        .user_agent(concat!("skiff-proxy/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client's configuration is valid");
    let app = config.app_dir.clone().map(AppFiles::new);
    let shared = Arc::new(Shared {
        config,
        client,
        app,
    });
    Router::new().fallback(handle).with_state(shared)
}

/// Whether to follow a redirect to `next`, given the URLs requested so far (the first included).
fn redirect_verdict(config: &Config, previous: &[url::Url], next: &url::Url) -> Result<(), String> {
    if previous.len() > MAX_REDIRECTS {
        return Err(format!("more than {MAX_REDIRECTS} redirects"));
    }
    let Some(target) = Target::of(next) else {
        return Err("the upstream redirected to a URL that is not http(s)".to_owned());
    };
    let shown = shown_host(next);
    let from_https = previous.last().is_some_and(|url| url.scheme() == "https");
    if from_https && target.scheme == Scheme::Http {
        Err(format!(
            "the upstream redirected from https to plain http ({shown}); Skiff's proxy does not downgrade"
        ))
    } else if config.host_allowed(&target) {
        Ok(())
    } else {
        Err(format!(
            "the upstream redirected to {shown}, which is not on the proxy's allowlist; restart the proxy with --allow-host {shown}"
        ))
    }
}

/// Every request: answered, then logged (one line, nothing secret in it).
async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let path = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_default();
    let response = respond(&shared, request).await;
    if shared.config.log == LogFormat::Json {
        let upstream = upstream_path(&path).and_then(|t| url::Url::parse(&normalized(t)).ok());
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok());
        let entry = Entry {
            method: method.as_str(),
            upstream: upstream.as_ref(),
            local_path: upstream.is_none().then_some(path.as_str()),
            status: response.status().as_u16(),
            refusal: header(PROXY_ERROR_HEADER),
            redirected_to: header(REDIRECTED_TO_HEADER),
            elapsed: started.elapsed(),
        };
        println!("{}", entry.line());
    }
    response
}

/// The upstream URL in a proxied request's path (`/https://host/…`), `None` for other paths.
fn upstream_path(path: &str) -> Option<&str> {
    let target = path.trim_start_matches('/');
    let scheme = target.split_once(':')?.0;
    (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")).then_some(target)
}

/// Some clients collapse `//` in paths: `https:/host/…` is `https://host/…`.
fn normalized(target: &str) -> String {
    match target.split_once(":/") {
        Some((scheme, rest)) if !rest.starts_with('/') => format!("{scheme}://{rest}"),
        _ => target.to_owned(),
    }
}

/// `{"status":"ok",…}` for load balancers and orchestrators; says nothing about upstreams.
fn healthz(shared: &Shared) -> Response {
    let body = serde_json::json!({
        "status": "ok",
        "service": "skiff-proxy",
        "version": env!("CARGO_PKG_VERSION"),
        "serves_app": shared.app.is_some(),
    });
    let mut response = Response::new(Body::from(body.to_string()));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn respond(shared: &Shared, request: Request) -> Response {
    if request.uri().path() == "/healthz" {
        return healthz(shared);
    }
    let headers = request.headers();
    let origin = match headers.get(header::ORIGIN).map(HeaderValue::to_str) {
        None => None,
        Some(Ok(origin)) => Some(origin.to_owned()),
        Some(Err(_)) => {
            return Cors::default().refuse(
                StatusCode::BAD_REQUEST,
                ProxyErrorKind::OriginInvalid,
                "the request's Origin header is not a readable origin".to_owned(),
            )
        }
    };
    // Refusals still carry CORS headers so the page can show the reason.
    let cors = Cors {
        origin: origin.clone(),
    };
    if let Some(refusal) = refuse_foreign_host(&shared.config, &cors, &request) {
        return refusal;
    }
    if let Some(app) = &shared.app {
        let path = request.uri().path();
        if upstream_path(path).is_none() {
            return app.serve(request.method(), path).await;
        }
    }
    if let Some(origin) = &origin {
        let own = shared.app.is_some() && is_own_origin(origin, request.headers());
        if !own && !shared.config.origin_allowed(origin) {
            return cors.refuse(
                StatusCode::FORBIDDEN,
                ProxyErrorKind::OriginNotAllowed,
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

    let method = request.method().clone();
    let writes = shared.config.allow_push && WRITE_METHODS.contains(&method);
    match method {
        Method::OPTIONS => cors.preflight(request.headers(), shared.config.allow_push),
        Method::GET | Method::HEAD => match refuse_fetch_mode(&cors, request.headers()) {
            Some(refusal) => refusal,
            None => forward(shared, &cors, target, request, None).await,
        },
        _ if writes => match refuse_fetch_mode(&cors, request.headers()) {
            Some(refusal) => refusal,
            None => {
                let target = target.to_owned();
                let (parts, body) = request.into_parts();
                let request = Request::from_parts(parts, Body::empty());
                forward(shared, &cors, &target, request, Some(body)).await
            }
        },
        other => cors.refuse(
            StatusCode::FORBIDDEN,
            ProxyErrorKind::MethodNotAllowed,
            format!("Skiff's proxy forwards only GET and HEAD (pulling is read-only); {other} is refused; start it with --allow-push to push images"),
        ),
    }
}

/// Forwards the request to `target`; `body`: an upload's, streamed on (`--allow-push`).
async fn forward(
    shared: &Shared,
    cors: &Cors,
    target: &str,
    request: Request,
    body: Option<Body>,
) -> Response {
    let (request_headers, method) = (request.headers(), request.method());
    let target = normalized(target);
    let url =
        match url::Url::parse(&target) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => url,
            _ => return cors.refuse(
                StatusCode::BAD_REQUEST,
                ProxyErrorKind::BadTarget,
                "the path must be an absolute http(s) URL, e.g. /https://registry-1.docker.io/v2/"
                    .to_owned(),
            ),
        };
    let allowed = Target::of(&url).is_some_and(|target| shared.config.host_allowed(&target));
    let host = url.host_str().unwrap_or_default().to_owned();
    let shown = shown_host(&url);
    if !allowed {
        return cors.refuse(
            StatusCode::FORBIDDEN,
            ProxyErrorKind::HostNotAllowed,
            format!("Skiff's proxy does not forward to {shown}: it is not on the allowlist; restart the proxy with --allow-host {shown}"),
        );
    }

    let mut upstream = shared.client.request(method.clone(), url.clone());
    for name in FORWARDED_REQUEST_HEADERS {
        if let Some(value) = request_headers.get(name) {
            upstream = upstream.header(name, value);
        }
    }
    // To this host only: reqwest drops `Authorization` when a redirect leaves it.
    if let Some(credential) = request_headers.get(CREDENTIAL_HEADER) {
        upstream = upstream.header(header::AUTHORIZATION, credential);
    }
    if let Some(body) = body {
        for name in &UPLOAD_REQUEST_HEADERS {
            if let Some(value) = request_headers.get(name) {
                upstream = upstream.header(name, value);
            }
        }
        // A body leaves with its length: a request that says none (an empty PUT that ends an
        // upload) goes as an empty body of length 0, never as a chunked one, which some
        // registries cannot read.
        let framed = request_headers.contains_key(header::CONTENT_LENGTH)
            || request_headers.contains_key(header::TRANSFER_ENCODING);
        upstream = if framed {
            upstream.body(reqwest::Body::wrap_stream(body.into_data_stream()))
        } else {
            upstream.header(header::CONTENT_LENGTH, 0).body(Vec::new())
        };
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
            let private = std::iter::successors(std::error::Error::source(&error), |e| e.source())
                .any(|e| e.downcast_ref::<PrivateAddress>().is_some());
            let (status, kind) = if redirect {
                (StatusCode::FORBIDDEN, ProxyErrorKind::RedirectNotAllowed)
            } else if private {
                (StatusCode::FORBIDDEN, ProxyErrorKind::PrivateAddress)
            } else if error.is_timeout() {
                (StatusCode::GATEWAY_TIMEOUT, ProxyErrorKind::UpstreamTimeout)
            } else {
                (StatusCode::BAD_GATEWAY, ProxyErrorKind::UpstreamUnreachable)
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
    for name in RELAYED_RESPONSE_HEADERS
        .iter()
        .filter(|name| **name != "location")
    {
        for value in response.headers().get_all(*name) {
            headers.append(HeaderName::from_static(name), value.clone());
        }
    }
    // Never under its own name: the browser would answer a Basic challenge with its login
    // dialog, on this origin.
    for value in response.headers().get_all(header::WWW_AUTHENTICATE) {
        headers.append(HeaderName::from_static(CHALLENGE_HEADER), value.clone());
    }
    let location = response.headers().get(header::LOCATION);
    let location = location.and_then(|v| location_through_proxy(&url, v.to_str().ok()?));
    if let Some(value) = location.and_then(|v| HeaderValue::from_str(&v).ok()) {
        headers.insert(header::LOCATION, value);
    }
    if shown_host(response.url()) != shown {
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

/// `host` or `host:port` as the user would write it in `--allow-host`.
fn shown_host(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(list: &[&str]) -> Vec<url::Url> {
        list.iter().map(|u| u.parse().unwrap()).collect()
    }

    #[test]
    fn redirect_verdicts() {
        let mut config = Config::default();
        config
            .upstream_hosts
            .push(crate::HostRule::new("127.0.0.1:5000"));
        let hub = "https://registry-1.docker.io/v2/x/blobs/sha256:a";
        let table: &[(&[&str], &str, Result<(), &str>)] = &[
            (
                &[hub],
                "https://production.cloudflare.docker.com/x?sig=1",
                Ok(()),
            ),
            (
                &[hub],
                "http://production.cloudflare.docker.com/x",
                Err("does not downgrade"),
            ),
            (&[hub], "http://127.0.0.1:5000/x", Err("does not downgrade")),
            (
                &["http://127.0.0.1:5000/a"],
                "http://127.0.0.1:5000/b",
                Ok(()),
            ),
            (
                &[hub],
                "https://evil.example/x",
                Err("not on the proxy's allowlist"),
            ),
            (
                &[hub],
                "https://10.0.0.1/x",
                Err("not on the proxy's allowlist"),
            ),
            (&[hub], "ftp://registry-1.docker.io/x", Err("not http(s)")),
            (&[hub; 10], "https://registry-1.docker.io/v2/", Ok(())),
            (
                &[hub; 11],
                "https://registry-1.docker.io/v2/",
                Err("more than 10 redirects"),
            ),
        ];
        for (previous, next, expected) in table {
            let verdict = redirect_verdict(&config, &urls(previous), &next.parse().unwrap());
            match (verdict, expected) {
                (Ok(()), Ok(())) => {}
                (Err(reason), Err(part)) => assert!(reason.contains(part), "{next}: {reason}"),
                (got, _) => panic!("{next} after {} hops: {got:?}", previous.len()),
            }
        }
    }
}
