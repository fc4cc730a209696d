//! Pushing through the proxy (`--allow-push`), against a real Distribution registry: refused
//! without the flag; with it, an upload session's `Location` comes back as a path on the proxy,
//! and a monolithic and a chunked upload both complete, the blob then readable.

mod common;

use common::{client, start_proxy, start_proxy_with, Registry, PAGE_ORIGIN};

/// `POST …/blobs/uploads/` through the proxy, as the page sends it.
async fn start_upload(
    client: &reqwest::Client,
    proxy: &str,
    registry: &Registry,
) -> reqwest::Response {
    client
        .post(format!(
            "{proxy}http://{}/v2/app/blobs/uploads/",
            registry.addr
        ))
        .header("origin", PAGE_ORIGIN)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn writes_are_refused_without_allow_push() {
    let registry = Registry::start().await;
    let proxy = start_proxy(&registry).await;
    let response = start_upload(&client(), &proxy, &registry).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["x-skiff-proxy-error"],
        "method-not-allowed"
    );
    assert!(response.text().await.unwrap().contains("--allow-push"));
}

#[tokio::test]
async fn uploads_go_through_with_allow_push() {
    let registry = Registry::start().await;
    let proxy = start_proxy_with(&registry, |c| c.allow_push = true).await;
    let origin = proxy.trim_end_matches('/');
    let client = client();

    let preflight = client
        .request(
            reqwest::Method::OPTIONS,
            format!("{proxy}http://{}/v2/app/blobs/uploads/", registry.addr),
        )
        .header("origin", PAGE_ORIGIN)
        .header("access-control-request-method", "PATCH")
        .header(
            "access-control-request-headers",
            "content-range,content-type,authorization",
        )
        .send()
        .await
        .unwrap();
    let methods = preflight.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        methods.contains("PATCH") && methods.contains("PUT"),
        "{methods}"
    );

    // Monolithic: POST, then PUT ?digest= with the whole body.
    let data = b"a small blob".to_vec();
    let digest = skiff_core::Digest::of(&data).to_string();
    let started = start_upload(&client, &proxy, &registry).await;
    assert_eq!(started.status(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("/http://{}/v2/app/blobs/uploads/", registry.addr)),
        "{location}"
    );
    let exposed = started.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        exposed.contains("location") && exposed.contains("range"),
        "{exposed}"
    );
    let put = client
        .put(format!("{origin}{location}&digest={digest}"))
        .header("origin", PAGE_ORIGIN)
        .header("content-type", "application/octet-stream")
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201, "{}", put.text().await.unwrap());

    // Chunked: PATCH twice with Content-Range, then an empty PUT ?digest=.
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let big_digest = skiff_core::Digest::of(&big).to_string();
    let started = start_upload(&client, &proxy, &registry).await;
    let mut location = started.headers()["location"].to_str().unwrap().to_owned();
    for (first, last) in [(0usize, 149_999usize), (150_000, 299_999)] {
        let patch = client
            .patch(format!("{origin}{location}"))
            .header("origin", PAGE_ORIGIN)
            .header("content-type", "application/octet-stream")
            .header("content-range", format!("{first}-{last}"))
            .body(big[first..=last].to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(patch.status(), 202, "{}", patch.text().await.unwrap());
        assert_eq!(patch.headers()["range"], format!("0-{last}").as_str());
        location = patch.headers()["location"].to_str().unwrap().to_owned();
    }
    let separator = if location.contains('?') { '&' } else { '?' };
    let done = client
        .put(format!("{origin}{location}{separator}digest={big_digest}"))
        .header("origin", PAGE_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 201, "{}", done.text().await.unwrap());
    let read = reqwest::get(format!(
        "http://{}/v2/app/blobs/{big_digest}",
        registry.addr
    ))
    .await
    .unwrap()
    .bytes()
    .await
    .unwrap();
    assert_eq!(read.to_vec(), big);
}
