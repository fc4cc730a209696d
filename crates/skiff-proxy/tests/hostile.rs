//! The proxy against a hostile upstream and hostile clients, all real HTTP on loopback: an
//! allowlisted host serving an HTML page, redirects to private addresses and downgrades, long
//! redirect chains, a rebinding `Host`, a stalled client, a client that never reads.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use skiff_proxy::{Config, HostRule, OriginRule};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PAGE_ORIGIN: &str = "http://127.0.0.1:9";
const PAGE: &str = "<html><script>document.title = 'pwned'; fetch('/steal')</script></html>";

/// What the hostile upstream saw.
#[derive(Default)]
struct Seen {
    hits: Vec<String>,
    referers: Vec<String>,
    /// The `Authorization` of each request, by path (`-` for none).
    authorizations: Vec<(String, String)>,
    /// How each request's body was framed: `Content-Length` and `Transfer-Encoding`.
    framing: Vec<(Option<String>, Option<String>)>,
}

#[derive(Clone)]
struct Upstream {
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
}

impl Upstream {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let upstream = Self {
            addr,
            seen: Arc::default(),
        };
        let app = Router::new()
            .route(
                "/page.html",
                get(|| async { ([(header::CONTENT_TYPE, "text/html")], PAGE) }),
            )
            .route("/bare", get(|| async { PAGE.into_response() }))
            .route("/hop/{n}", get(hop))
            .route("/redirect", get(redirect_to_query))
            .route("/big", get(big))
            .route(
                "/challenge",
                get(|| async {
                    (
                        StatusCode::UNAUTHORIZED,
                        [(header::WWW_AUTHENTICATE, r#"Basic realm="shared""#)],
                        "log in",
                    )
                }),
            )
            .fallback(|| async { "ok" })
            .layer(axum::middleware::from_fn_with_state(
                upstream.clone(),
                record,
            ))
            .with_state(upstream.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        upstream
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self) -> Vec<String> {
        self.seen.lock().unwrap().hits.clone()
    }
}

async fn record(
    State(upstream): State<Upstream>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    {
        let mut seen = upstream.seen.lock().unwrap();
        seen.hits.push(request.uri().path().to_owned());
        let authorization = request
            .headers()
            .get(header::AUTHORIZATION)
            .map_or("-", |v| v.to_str().unwrap_or("?"));
        seen.authorizations
            .push((request.uri().path().to_owned(), authorization.to_owned()));
        let header = |name| {
            request
                .headers()
                .get(name)
                .map(|v: &axum::http::HeaderValue| v.to_str().unwrap_or("?").to_owned())
        };
        seen.framing.push((
            header(header::CONTENT_LENGTH),
            header(header::TRANSFER_ENCODING),
        ));
        if let Some(referer) = request.headers().get(header::REFERER) {
            seen.referers
                .push(referer.to_str().unwrap_or("?").to_owned());
        }
    }
    next.run(request).await
}

/// `/hop/N` redirects to `/hop/N-1`; `/hop/0` answers.
async fn hop(Path(n): Path<u32>) -> Response {
    if n == 0 {
        return "arrived".into_response();
    }
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("/hop/{}?sig=s3cret", n - 1))],
    )
        .into_response()
}

/// `/redirect?to=URL`.
async fn redirect_to_query(uri: axum::http::Uri) -> Response {
    let to = uri
        .query()
        .and_then(|q| q.strip_prefix("to="))
        .unwrap_or("/");
    (StatusCode::FOUND, [(header::LOCATION, to.to_owned())]).into_response()
}

/// 256 MiB of zeros, produced as read: for a client that never reads.
async fn big() -> Response {
    let chunk = bytes_of(1 << 20);
    let stream =
        futures_util::stream::iter((0..256).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    axum::body::Body::from_stream(stream).into_response()
}

fn bytes_of(len: usize) -> axum::body::Bytes {
    axum::body::Bytes::from(vec![0u8; len])
}

fn config_for(upstream: &Upstream) -> Config {
    let mut config = Config::default();
    config
        .upstream_hosts
        .push(HostRule::new(&upstream.addr.to_string()));
    config.origins = vec![OriginRule::parse(PAGE_ORIGIN)];
    config
}

async fn start_proxy(config: Config) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(skiff_proxy::serve(listener, config));
    addr
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn get_through(
    proxy: SocketAddr,
    upstream_url: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = client()
        .get(format!("http://{proxy}/{upstream_url}"))
        .header("origin", PAGE_ORIGIN);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn proxy_error(response: &reqwest::Response) -> &str {
    response
        .headers()
        .get("x-skiff-proxy-error")
        .map_or("", |v| v.to_str().unwrap())
}

/// Writes `request` as is and reads the answer until the proxy closes (or 5 s pass).
async fn raw(proxy: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(proxy).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

fn assert_inert(headers: &HeaderMap) {
    assert_eq!(headers["content-security-policy"], "sandbox");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-disposition"], "attachment");
    assert_eq!(headers["cache-control"], "no-store");
}

#[tokio::test]
async fn relayed_pages_are_inert_downloads() {
    let upstream = Upstream::start().await;
    let proxy = start_proxy(config_for(&upstream)).await;
    for path in ["/page.html", "/bare"] {
        let response = get_through(proxy, &upstream.url(path), &[("sec-fetch-mode", "cors")]).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_inert(response.headers());
        assert_eq!(
            response.text().await.unwrap(),
            PAGE,
            "the body is relayed untouched"
        );
    }
    // The proxy's own answers too.
    let refusal = get_through(proxy, "https://evil.example/x.html", &[]).await;
    assert_eq!(refusal.status(), 403);
    assert_inert(refusal.headers());
}

#[tokio::test]
async fn navigations_and_no_cors_loads_never_reach_the_upstream() {
    let upstream = Upstream::start().await;
    let proxy = start_proxy(config_for(&upstream)).await;
    for mode in ["navigate", "no-cors", "websocket", "nested-navigate"] {
        let response = get_through(
            proxy,
            &upstream.url("/page.html"),
            &[("sec-fetch-mode", mode)],
        )
        .await;
        assert_eq!(response.status(), 403, "{mode}");
        assert_eq!(proxy_error(&response), "fetch-mode-not-allowed", "{mode}");
    }
    assert!(upstream.hits().is_empty(), "reached: {:?}", upstream.hits());
    for mode in ["cors", "same-origin"] {
        let response = get_through(
            proxy,
            &upstream.url("/page.html"),
            &[("sec-fetch-mode", mode)],
        )
        .await;
        assert_eq!(response.status(), 200, "{mode}");
    }
}

#[tokio::test]
async fn answers_only_requests_addressed_to_its_own_names() {
    let upstream = Upstream::start().await;
    let mut config = config_for(&upstream);
    config.public_hosts.push("skiff.corp.example".to_owned());
    let proxy = start_proxy(config).await;
    let target = upstream.url("/x");
    let request = |host: &str| {
        format!("GET /{target} HTTP/1.1\r\nHost: {host}\r\nOrigin: {PAGE_ORIGIN}\r\nConnection: close\r\n\r\n")
    };
    for host in [
        "evil.example",
        "evil.example:8787",
        "127.evil.example",
        "10.0.0.1",
    ] {
        let answer = raw(proxy, request(host).as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 421"), "{host}: {answer}");
        assert!(answer.contains("host-header-not-allowed"), "{host}");
    }
    assert!(
        upstream.hits().is_empty(),
        "a rebinding page reached the upstream"
    );
    let port = proxy.port();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "[::1]".to_owned(),
        "skiff.corp.example".to_owned(),
    ] {
        let answer = raw(proxy, request(&host).as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{host}: {answer}");
    }
    // An absolute-form request naming another host is refused too, whatever Host says.
    let absolute = format!(
        "GET http://evil.example/{target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    );
    assert!(raw(proxy, absolute.as_bytes())
        .await
        .starts_with("HTTP/1.1 421"));
}

#[tokio::test]
async fn an_origin_that_is_not_text_is_refused_not_ignored() {
    let upstream = Upstream::start().await;
    let proxy = start_proxy(config_for(&upstream)).await;
    let mut request = format!(
        "GET /{} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://",
        upstream.url("/x")
    )
    .into_bytes();
    request.extend_from_slice(b"\xff\xfe.example\r\nConnection: close\r\n\r\n");
    let answer = raw(proxy, &request).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("origin-invalid"));
    assert!(upstream.hits().is_empty());
}

#[tokio::test]
async fn names_resolving_to_private_addresses_are_refused_unless_allowed_by_name() {
    let upstream = Upstream::start().await;
    let secret = Upstream::start().await;
    let secret_by_name = format!("http://localhost:{}/secret", secret.addr.port());
    let mut config = config_for(&upstream);
    // A name rule (as a wildcard would be): the name is allowed, where it points is not.
    config
        .upstream_hosts
        .push(HostRule::new(&format!("localhost:{}", secret.addr.port())));
    let proxy = start_proxy(config).await;

    let direct = get_through(proxy, &secret_by_name, &[]).await;
    assert_eq!(direct.status(), 403);
    assert_eq!(proxy_error(&direct), "private-address");
    let text = direct.text().await.unwrap();
    assert!(text.contains("--allow-private-host localhost"), "{text}");

    let redirected = get_through(
        proxy,
        &upstream.url(&format!("/redirect?to={secret_by_name}")),
        &[],
    )
    .await;
    assert_eq!(proxy_error(&redirected), "private-address");
    // An address no rule names, reached by a redirect.
    let unlisted = format!("http://127.0.0.2:{}/secret", secret.addr.port());
    let redirected = get_through(
        proxy,
        &upstream.url(&format!("/redirect?to={unlisted}")),
        &[],
    )
    .await;
    assert_eq!(proxy_error(&redirected), "redirect-not-allowed");
    assert!(
        secret.hits().is_empty(),
        "the private service was reached: {:?}",
        secret.hits()
    );

    // Allowed by name, deliberately.
    let mut config = config_for(&upstream);
    config
        .upstream_hosts
        .push(HostRule::allowing_private(&format!(
            "localhost:{}",
            secret.addr.port()
        )));
    let proxy = start_proxy(config).await;
    let allowed = get_through(proxy, &secret_by_name, &[]).await;
    assert_eq!(allowed.status(), 200);
    assert_eq!(secret.hits(), ["/secret"]);
}

#[tokio::test]
async fn follows_ten_redirects_not_eleven_and_sends_no_referer() {
    let upstream = Upstream::start().await;
    let proxy = start_proxy(config_for(&upstream)).await;
    let ten = get_through(proxy, &upstream.url("/hop/10?sig=first"), &[]).await;
    assert_eq!(ten.status(), 200);
    assert_eq!(ten.text().await.unwrap(), "arrived");
    let referers = upstream.seen.lock().unwrap().referers.clone();
    assert!(referers.is_empty(), "Referer sent: {referers:?}");

    let eleven = get_through(proxy, &upstream.url("/hop/11"), &[]).await;
    assert_eq!(proxy_error(&eleven), "redirect-not-allowed");
    assert!(eleven
        .text()
        .await
        .unwrap()
        .contains("more than 10 redirects"));
}

fn fast_limits(config: &mut Config) {
    config.limits.header_read_timeout = Duration::from_secs(1);
    config.limits.idle_timeout = Duration::from_secs(1);
}

#[tokio::test]
async fn a_stalled_client_is_dropped_and_blocks_no_one() {
    let upstream = Upstream::start().await;
    let mut config = config_for(&upstream);
    fast_limits(&mut config);
    let proxy = start_proxy(config).await;

    let mut stalled = TcpStream::connect(proxy).await.unwrap();
    stalled
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    let started = Instant::now();
    let meanwhile = get_through(proxy, &upstream.url("/x"), &[]).await;
    assert_eq!(meanwhile.status(), 200);
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "another client waited"
    );

    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), stalled.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the half-sent request was held for 5 s");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn idle_connections_and_clients_that_never_read_are_closed() {
    let upstream = Upstream::start().await;
    let mut config = config_for(&upstream);
    fast_limits(&mut config);
    config.limits.header_read_timeout = Duration::from_secs(30);
    let proxy = start_proxy(config).await;

    // Keep-alive with nothing more to say.
    let mut idle = TcpStream::connect(proxy).await.unwrap();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = vec![0u8; 4096];
    assert!(idle.read(&mut buffer).await.unwrap() > 0);
    let started = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while idle.read(&mut buffer).await.unwrap_or(0) > 0 {}
    })
    .await;
    assert!(closed.is_ok(), "an idle keep-alive connection was kept 5 s");
    assert!(started.elapsed() >= Duration::from_millis(800));

    // 256 MiB asked for, nothing read.
    let mut sink = TcpStream::connect(proxy).await.unwrap();
    let request = format!(
        "GET /{} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        upstream.url("/big")
    );
    sink.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut received = 0usize;
    let drained = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(n @ 1..) = sink.read(&mut buffer).await {
            received += n;
        }
    })
    .await;
    assert!(drained.is_ok());
    assert!(
        received < 256 << 20,
        "the whole body was held for a client that did not read"
    );
}

#[tokio::test]
async fn at_most_the_configured_connections_are_served() {
    let upstream = Upstream::start().await;
    let mut config = config_for(&upstream);
    config.limits.max_connections = 2;
    let proxy = start_proxy(config).await;
    let first = TcpStream::connect(proxy).await.unwrap();
    let _second = TcpStream::connect(proxy).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let busy = raw(proxy, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    assert!(busy.starts_with("HTTP/1.1 503"), "{busy}");
    assert!(busy.contains("too-many-connections"));
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let served = raw(
        proxy,
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");
}

#[tokio::test]
async fn the_browser_never_sees_a_challenge_and_its_own_authorization_goes_nowhere() {
    let upstream = Upstream::start().await;
    let other = Upstream::start().await;
    let mut config = config_for(&upstream);
    config
        .upstream_hosts
        .push(HostRule::new(&other.addr.to_string()));
    let proxy = start_proxy(config).await;

    // A Basic challenge comes back under Skiff's name only: no login dialog, no cached login.
    let challenged = get_through(proxy, &upstream.url("/challenge"), &[]).await;
    assert_eq!(challenged.status(), 401);
    assert!(challenged.headers().get("www-authenticate").is_none());
    assert_eq!(
        challenged.headers()["x-skiff-www-authenticate"],
        r#"Basic realm="shared""#
    );
    let exposed = challenged.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.contains("x-skiff-www-authenticate"), "{exposed}");

    // What the browser adds itself (a login it cached) is dropped; the app's credential goes
    // on as Authorization, to the host in the path only (not along a redirect elsewhere).
    get_through(
        proxy,
        &upstream.url("/mine"),
        &[("authorization", "Basic YnJvd3NlcjpjYWNoZWQ=")],
    )
    .await;
    get_through(
        proxy,
        &upstream.url("/theirs"),
        &[("x-skiff-authorization", "Bearer app-token")],
    )
    .await;
    let elsewhere = other.url("/landed");
    let redirected = get_through(
        proxy,
        &upstream.url(&format!("/redirect?to={elsewhere}")),
        &[("x-skiff-authorization", "Bearer app-token")],
    )
    .await;
    assert_eq!(redirected.status(), 200);
    let seen = upstream.seen.lock().unwrap().authorizations.clone();
    let by_path = |path: &str| {
        seen.iter()
            .find(|(p, _)| p == path)
            .map(|(_, a)| a.clone())
            .unwrap()
    };
    assert_eq!(
        by_path("/mine"),
        "-",
        "the browser's own Authorization went on"
    );
    assert_eq!(by_path("/theirs"), "Bearer app-token");
    assert_eq!(by_path("/redirect"), "Bearer app-token");
    let other_seen = other.seen.lock().unwrap().authorizations.clone();
    assert_eq!(other_seen, [("/landed".to_owned(), "-".to_owned())]);

    // The preflight names the app's header, not Authorization.
    let preflight = client()
        .request(
            reqwest::Method::OPTIONS,
            format!("http://{proxy}/{}", upstream.url("/x")),
        )
        .header("origin", PAGE_ORIGIN)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("x-skiff-authorization"), "{allowed}");
    assert!(
        !allowed.split(", ").any(|h| h == "authorization"),
        "{allowed}"
    );
}

#[tokio::test]
async fn only_data_fetches_are_served_never_scripts_or_workers() {
    let upstream = Upstream::start().await;
    let proxy = start_proxy(config_for(&upstream)).await;
    for dest in [
        "serviceworker",
        "worker",
        "sharedworker",
        "script",
        "document",
        "iframe",
    ] {
        let response = get_through(
            proxy,
            &upstream.url("/sw.js"),
            &[("sec-fetch-mode", "same-origin"), ("sec-fetch-dest", dest)],
        )
        .await;
        assert_eq!(response.status(), 403, "{dest}");
        assert_eq!(proxy_error(&response), "fetch-mode-not-allowed", "{dest}");
    }
    assert!(upstream.hits().is_empty(), "reached: {:?}", upstream.hits());
    let fetched = get_through(
        proxy,
        &upstream.url("/sw.js"),
        &[("sec-fetch-mode", "cors"), ("sec-fetch-dest", "empty")],
    )
    .await;
    assert_eq!(fetched.status(), 200);
}

#[tokio::test]
async fn a_proxy_serving_the_app_takes_writes_from_its_own_origin_only() {
    let upstream = Upstream::start().await;
    let app = std::env::temp_dir().join(format!("skiff-own-origin-{}", std::process::id()));
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("index.html"), "<html><head></head></html>").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = listener.local_addr().unwrap();
    let config = Config::from_args(
        [
            "--serve-app",
            app.to_str().unwrap(),
            "--allow-push",
            "--public-host",
            "skiff.corp.example",
            "--allow-host",
            &upstream.addr.to_string(),
        ]
        .map(str::to_owned),
    )
    .unwrap()
    .unwrap();
    tokio::spawn(skiff_proxy::serve(listener, config));
    let post = |origin: &'static str, host: &'static str| {
        let url = format!("http://{proxy}/{}", upstream.url("/v2/a/blobs/uploads/"));
        async move {
            let response = client()
                .post(url)
                .header("origin", origin)
                .header("host", host)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                proxy_error(&response).to_owned(),
            )
        }
    };
    // Its own public origin, without --allow-origin.
    assert_eq!(
        post("https://skiff.corp.example", "skiff.corp.example")
            .await
            .0,
        200
    );
    // Another page on this machine: not without --allow-origin loopback.
    let (status, kind) = post("http://127.0.0.1:3000", "skiff.corp.example").await;
    assert_eq!((status, kind.as_str()), (403, "origin-not-allowed"));
    let (status, kind) = post("https://evil.example", "skiff.corp.example").await;
    assert_eq!((status, kind.as_str()), (403, "origin-not-allowed"));
    assert_eq!(
        upstream.hits(),
        ["/v2/a/blobs/uploads/"],
        "only the app's own write went through"
    );
}

#[tokio::test]
async fn upload_bodies_leave_with_their_length_never_chunked() {
    let upstream = Upstream::start().await;
    let mut config = config_for(&upstream);
    config.allow_push = true;
    let proxy = start_proxy(config).await;
    let path = format!("/http://{}/v2/app/blobs/uploads/u1", upstream.addr);
    for request in [
        // An empty PUT that ends an upload, sent with no length at all.
        format!("PUT {path} HTTP/1.1\r\nHost: {proxy}\r\nOrigin: {PAGE_ORIGIN}\r\nConnection: close\r\n\r\n"),
        format!("PUT {path} HTTP/1.1\r\nHost: {proxy}\r\nOrigin: {PAGE_ORIGIN}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
        format!("PATCH {path} HTTP/1.1\r\nHost: {proxy}\r\nOrigin: {PAGE_ORIGIN}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"),
    ] {
        let answer = raw(proxy, request.as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    let framing = upstream.seen.lock().unwrap().framing.clone();
    assert_eq!(
        framing,
        [
            (Some("0".to_owned()), None),
            (Some("0".to_owned()), None),
            (Some("5".to_owned()), None),
        ]
    );
}
