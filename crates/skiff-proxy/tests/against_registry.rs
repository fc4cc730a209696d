//! The proxy against a real Distribution registry (Debian's `docker-registry`), started per test
//! on a free loopback port with its own storage.

mod common;

use common::{client, start_proxy, Registry, PAGE_ORIGIN};

#[tokio::test]
async fn answers_preflight_itself_naming_authorization() {
    let registry = Registry::start().await;
    let proxy = start_proxy(&registry).await;
    let response = client()
        .request(
            reqwest::Method::OPTIONS,
            format!("{proxy}http://{}/v2/", registry.addr),
        )
        .header("origin", PAGE_ORIGIN)
        .header("access-control-request-method", "GET")
        .header(
            "access-control-request-headers",
            "authorization,range,accept",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], PAGE_ORIGIN);
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in ["authorization", "range", "accept"] {
        assert!(allowed.contains(name), "{allowed}");
    }
    let methods = headers["access-control-allow-methods"].to_str().unwrap();
    assert!(
        methods.contains("GET") && methods.contains("HEAD"),
        "{methods}"
    );
}

#[tokio::test]
async fn forwards_and_exposes_registry_headers() {
    let registry = Registry::start().await;
    let proxy = start_proxy(&registry).await;
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
    let digest = registry.push_blob("skiff/test", &data).await;

    let ping = client()
        .get(format!("{proxy}http://{}/v2/", registry.addr))
        .header("origin", PAGE_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(ping.status(), 200);
    assert_eq!(
        ping.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );
    assert_eq!(ping.headers()["access-control-allow-origin"], PAGE_ORIGIN);
    let exposed = ping.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    for name in [
        "www-authenticate",
        "docker-content-digest",
        "content-range",
        "link",
        "docker-distribution-api-version",
        "etag",
        "ratelimit-remaining",
    ] {
        assert!(exposed.contains(name), "{name} not in {exposed}");
    }

    let blob = client()
        .get(format!(
            "{proxy}http://{}/v2/skiff/test/blobs/{digest}",
            registry.addr
        ))
        .header("origin", PAGE_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(blob.status(), 200);
    assert_eq!(
        blob.headers()["docker-content-digest"].to_str().unwrap(),
        digest
    );
    assert_eq!(blob.bytes().await.unwrap().as_ref(), &data[..]);

    let head = client()
        .head(format!(
            "{proxy}http://{}/v2/skiff/test/blobs/{digest}",
            registry.addr
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], "5000");

    let missing = client()
        .get(format!(
            "{proxy}http://{}/v2/skiff/nothing/manifests/latest",
            registry.addr
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("MANIFEST_UNKNOWN"));
}

#[tokio::test]
async fn passes_range_requests() {
    let registry = Registry::start().await;
    let proxy = start_proxy(&registry).await;
    let data: Vec<u8> = (0..3000u32).map(|i| (i % 199) as u8).collect();
    let digest = registry.push_blob("skiff/range", &data).await;
    let response = client()
        .get(format!(
            "{proxy}http://{}/v2/skiff/range/blobs/{digest}",
            registry.addr
        ))
        .header("range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 206);
    assert_eq!(response.headers()["content-range"], "bytes 1000-1999/3000");
    assert_eq!(response.bytes().await.unwrap().as_ref(), &data[1000..2000]);
}

#[tokio::test]
async fn refuses_hosts_off_the_allowlist_saying_how_to_allow_them() {
    let registry = Registry::start().await;
    let proxy = start_proxy(&registry).await;
    for target in [
        "https://example.com/v2/",
        "http://127.0.0.1:1/v2/",
        "http://169.254.169.254/latest/",
    ] {
        let response = client()
            .get(format!("{proxy}{target}"))
            .header("origin", PAGE_ORIGIN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{target}");
        assert_eq!(
            response.headers()["x-skiff-proxy-error"],
            "host-not-allowed"
        );
        // The page can read why.
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            PAGE_ORIGIN
        );
        let host = url_host(target);
        let text = response.text().await.unwrap();
        assert!(text.contains(&format!("--allow-host {host}")), "{text}");
    }
}

fn url_host(target: &str) -> String {
    let rest = target.split_once("://").unwrap().1;
    rest.split('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn refuses_other_methods_and_origins() {
    let registry = Registry::start().await;
    let proxy = start_proxy(&registry).await;
    let upstream = format!("{proxy}http://{}/v2/skiff/x/blobs/uploads/", registry.addr);
    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let response = client()
            .request(method.clone(), &upstream)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{method}");
        assert_eq!(
            response.headers()["x-skiff-proxy-error"],
            "method-not-allowed"
        );
        assert!(response.text().await.unwrap().contains("only GET and HEAD"));
    }
    // Nothing reached the registry: no upload was started.
    let response = client()
        .get(format!("{proxy}http://{}/v2/_catalog", registry.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.text().await.unwrap().trim(),
        r#"{"repositories":[]}"#
    );

    let response = client()
        .get(format!("{proxy}http://{}/v2/", registry.addr))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["x-skiff-proxy-error"],
        "origin-not-allowed"
    );
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("--allow-origin https://evil.example"));
}
