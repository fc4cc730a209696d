//! Each exchange of a pull in a sentence a newcomer understands, and the auth dance
//! (401 challenge → token → retry) picked out as numbered steps.

use crate::explorer::exchange::{Exchange, Method, Purpose, RateLimit};
use crate::image::media_type::MediaType;
use crate::protocol::auth::Challenge;
use crate::protocol::proxy_protocol::{PROXY_ERROR_HEADER, REDIRECTED_TO_HEADER};

/// A step of the auth dance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DanceStep {
    /// The registry answered 401 and said how to authenticate.
    Challenge,
    /// The token service was asked for a token.
    Token,
    /// The first request again, now with the credential.
    Retry,
}

impl DanceStep {
    pub fn number(self) -> u8 {
        match self {
            Self::Challenge => 1,
            Self::Token => 2,
            Self::Retry => 3,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Challenge => "challenge",
            Self::Token => "token",
            Self::Retry => "retry with it",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explained {
    pub step: Option<DanceStep>,
    pub text: String,
}

/// One explanation per exchange, in order. The dance steps need the order: a retry is the
/// first authenticated request to a URL that was challenged.
pub fn explain_all(exchanges: &[Exchange]) -> Vec<Explained> {
    let mut challenged: Option<&str> = None;
    exchanges
        .iter()
        .map(|exchange| {
            let step = if exchange.status == Some(401) && exchange.purpose != Purpose::Token {
                challenged = Some(&exchange.url);
                Some(DanceStep::Challenge)
            } else if exchange.purpose == Purpose::Token {
                Some(DanceStep::Token)
            } else if challenged == Some(exchange.url.as_str()) && exchange.authenticated() {
                challenged = None;
                Some(DanceStep::Retry)
            } else {
                None
            };
            Explained {
                step,
                text: explain(exchange, step),
            }
        })
        .collect()
}

fn explain(exchange: &Exchange, step: Option<DanceStep>) -> String {
    let mut text = match exchange.status {
        None => "No answer: the connection failed. Skiff retries with a pause.".to_owned(),
        Some(_) if exchange.response_header(PROXY_ERROR_HEADER).is_some() => format!(
            "The Skiff proxy answered itself ({}), not the registry.",
            exchange
                .response_header(PROXY_ERROR_HEADER)
                .unwrap_or_default()
        ),
        Some(401) if exchange.purpose != Purpose::Token => challenge(exchange),
        Some(status) => match exchange.purpose {
            Purpose::Token => token(exchange, status),
            _ => answer(exchange, status, step),
        },
    };
    if let Some(host) = exchange.response_header(REDIRECTED_TO_HEADER) {
        text.push_str(&format!(
            " The registry redirected to {host} (a storage or CDN host); the proxy followed and relayed the bytes."
        ));
    }
    if let Some(limit) = RateLimit::of(exchange) {
        text.push_str(&format!(" Rate limit: {}.", limit.describe()));
    }
    text
}

fn challenge(exchange: &Exchange) -> String {
    let header = exchange.response_header("www-authenticate");
    match header.map(Challenge::parse) {
        Some(Ok(Challenge::Bearer {
            realm,
            service,
            scope,
            error,
        })) => {
            let mut text = format!("Challenge: the registry wants a token from the token service {realm}");
            if let Some(service) = service {
                text.push_str(&format!(" (service “{service}”)"));
            }
            match scope {
                Some(scope) => text.push_str(&format!(", for the scope “{scope}”.")),
                None => text.push_str(". No scope yet: the next request names the repository."),
            }
            if let Some(error) = error {
                text.push_str(&format!(" The credential sent was refused ({error})."));
            }
            text
        }
        Some(Ok(Challenge::Basic { .. })) => {
            "Challenge: the registry wants a username and password on every request (HTTP Basic).".to_owned()
        }
        Some(Err(_)) | None => {
            "Refused (401) without a challenge Skiff can read: the registry does not say how to log in."
                .to_owned()
        }
    }
}

fn token(exchange: &Exchange, status: u16) -> String {
    let login = if exchange.authenticated() {
        " for your login"
    } else {
        " for anonymous pulls"
    };
    match status {
        200..=299 => format!("The token service issued a token{login}. It is not shown: from now on requests carry it as “Authorization: Bearer …”."),
        401 | 403 => format!("The token service refused{login} ({status}): check the username and the password or access token."),
        _ => format!("The token service failed ({status})."),
    }
}

fn answer(exchange: &Exchange, status: u16, step: Option<DanceStep>) -> String {
    let mut text = match (exchange.purpose, status) {
        (Purpose::Upload, _) => upload(exchange, status),
        (Purpose::ManifestPush, _) => manifest_push(exchange, status),
        (_, 429) => "Too many requests: the registry's rate limit was hit. Wait, log in, or pull through a registry mirror (a pull-through cache).".to_owned(),
        (_, 500..=599) => format!("The registry failed ({status}); Skiff retries with a growing pause."),
        (Purpose::Referrers, 404) => "Nothing here (404): no referrers API, or no such tag. Skiff tries the other ways referrers are stored.".to_owned(),
        (Purpose::Catalog, 404) => "Not found (404): this registry does not list its repositories (Docker Hub, for one, does not offer /v2/_catalog).".to_owned(),
        (_, 404) => "Not found (404): no such repository, tag or blob, or no permission to see it.".to_owned(),
        (_, 403) => "Forbidden (403): the credential is valid but may not read this.".to_owned(),
        (Purpose::VersionCheck, 200..=299) => "The registry speaks the Distribution API (v2) and lets this request in.".to_owned(),
        (Purpose::Manifest, 200..=299) => manifest(exchange),
        (Purpose::Config, 200..=299) => "The image config, fetched as a blob by its digest and checked against it.".to_owned(),
        (Purpose::Layer | Purpose::ForeignLayer, 206) => format!(
            "The rest of the layer ({}): a download that broke, resumed where it stopped.",
            exchange.response_header("content-range").unwrap_or("a byte range")
        ),
        (Purpose::Layer | Purpose::ForeignLayer, 200..=299) => "The layer's bytes, checked against its sha256 digest while they streamed.".to_owned(),
        (Purpose::SizeProbe, _) => "A few bytes of a compressed layer (gzip's trailer or zstd's frame header) that tell its unpacked size without downloading it.".to_owned(),
        (Purpose::TagList, 200..=299) => match exchange.response_header("link") {
            Some(_) => "A page of the repository's tags; its Link header points to the next page.".to_owned(),
            None => "The repository's tags (the last page).".to_owned(),
        },
        (Purpose::Catalog, 200..=299) => match exchange.response_header("link") {
            Some(_) => "A page of the registry's repositories; its Link header points to the next page.".to_owned(),
            None => "The registry's repositories (the last page).".to_owned(),
        },
        (Purpose::Referrers, 200..=299) => "An index of artifacts (signatures, SBOMs, attestations) that refer to the image.".to_owned(),
        (_, status) => format!("Answered {status}."),
    };
    if step == Some(DanceStep::Retry) && (200..300).contains(&status) {
        text = format!("Retried with the credential: accepted. {text}");
    }
    text
}

/// The steps of a blob upload (the core's `upload` module decides them).
fn upload(exchange: &Exchange, status: u16) -> String {
    let mounting = exchange.url.contains("mount=");
    let finishing = exchange.url.contains("digest=");
    let sent = exchange.bytes.unwrap_or(0) > 0;
    let held = || exchange.response_header("range").unwrap_or("nothing said");
    match (exchange.method, status) {
        (Method::Head, 200..=299) => "The target already has this blob: nothing is sent.".to_owned(),
        (Method::Head, 404) => "The target lacks this blob (in this repository): it is mounted or uploaded next.".to_owned(),
        (Method::Post, 201) if mounting => "Mounted: the registry linked the blob from the other repository. No bytes moved.".to_owned(),
        (Method::Post, 202) if mounting => "The registry could not mount it (the other repository lacks it, or the token may not read it) and opened an upload session instead.".to_owned(),
        (Method::Post, 202) => "An upload session opened; its Location (not shown: it can be a capability) says where the bytes go.".to_owned(),
        (Method::Put, 201) if finishing && sent => "The blob's bytes in one request; the registry checked them against the digest in the URL and stored the blob.".to_owned(),
        (Method::Put, 201) => "The upload completed: the registry checked the whole blob against the digest in the URL and stored it.".to_owned(),
        (Method::Patch, 202) => format!(
            "A chunk of the blob (Content-Range {}); the registry now holds {}.",
            exchange.request_header("content-range").unwrap_or("?"),
            held()
        ),
        (Method::Patch, 416) => "The registry holds another amount than this chunk assumed: the upload starts over in a new session.".to_owned(),
        (Method::Get, 204) => format!(
            "After a break, the registry was asked what the session holds ({}); the upload continues from there.",
            held()
        ),
        (Method::Get, 404) => "The registry forgot the upload session (Distribution does after a chunk that arrived in part): the blob starts over in a new one.".to_owned(),
        (_, 500..=599) => format!("The registry failed ({status}). Uploads are not resent blindly: Skiff asks the registry what arrived and goes on from there."),
        (_, 401 | 403) => format!("Refused ({status}): the login may not push to this repository."),
        (_, status) => format!("Answered {status}."),
    }
}

fn manifest_push(exchange: &Exchange, status: u16) -> String {
    match status {
        201 => match exchange.response_header("docker-content-digest") {
            Some(digest) => format!("The manifest, stored as its exact bytes; the registry names it {digest} (Docker-Content-Digest), which Skiff compares with the bytes' own."),
            None => "The manifest, stored as its exact bytes.".to_owned(),
        },
        400 => "The registry refused the manifest: it names a blob the repository lacks, or it is not valid for this registry.".to_owned(),
        401 | 403 => format!("Refused ({status}): the login may not push to this repository."),
        500..=599 => format!("The registry failed ({status}) while storing the manifest; Skiff sent it once. Distribution answers 500 to some manifests it refuses, such as ones naming foreign URLs."),
        status => format!("Answered {status}."),
    }
}

fn manifest(exchange: &Exchange) -> String {
    let kind = exchange
        .response_header("content-type")
        .and_then(|t| t.parse::<MediaType>().ok())
        .map(|m| m.explain())
        .unwrap_or("A manifest.");
    match exchange.response_header("docker-content-digest") {
        Some(digest) => format!("{kind} The registry gives its digest as {digest} (Docker-Content-Digest); Skiff computes it from the bytes and compares."),
        None => format!("{kind} The registry sent no Docker-Content-Digest; Skiff computes the digest from the bytes."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explorer::exchange::tests::{exchange, with_headers};
    use crate::explorer::exchange::{request_header, Purpose::*};

    fn authed(mut e: Exchange) -> Exchange {
        e.request_headers = vec![request_header("Authorization", "Bearer t0k3n").unwrap()];
        e
    }

    const PING: &str = "https://r/v2/";
    const TOKEN: &str = "https://auth/token?scope=repository:a:pull";
    const MANIFEST: &str = "https://r/v2/a/manifests/1";

    #[test]
    fn upload_steps_are_explained() {
        const UP: &str = "https://r/v2/a/blobs/uploads/";
        const SESSION: &str = "https://r/v2/a/blobs/uploads/u1?_state=s";
        // (method, url, status, bytes sent, response range, the sentence begins with)
        type Row = (
            Method,
            &'static str,
            u16,
            u64,
            Option<&'static str>,
            &'static str,
        );
        let table: &[Row] = &[
            (
                Method::Head,
                "https://r/v2/a/blobs/sha256:1",
                200,
                0,
                None,
                "The target already has this blob",
            ),
            (
                Method::Head,
                "https://r/v2/a/blobs/sha256:1",
                404,
                0,
                None,
                "The target lacks this blob",
            ),
            (
                Method::Post,
                "https://r/v2/a/blobs/uploads/?mount=sha256:1&from=b",
                201,
                0,
                None,
                "Mounted",
            ),
            (
                Method::Post,
                "https://r/v2/a/blobs/uploads/?mount=sha256:1&from=b",
                202,
                0,
                None,
                "The registry could not mount it",
            ),
            (Method::Post, UP, 202, 0, None, "An upload session opened"),
            (
                Method::Put,
                "https://r/v2/a/blobs/uploads/u1?digest=sha256%3A1",
                201,
                99,
                None,
                "The blob's bytes in one request",
            ),
            (
                Method::Put,
                "https://r/v2/a/blobs/uploads/u1?digest=sha256%3A1",
                201,
                0,
                None,
                "The upload completed",
            ),
            (
                Method::Patch,
                SESSION,
                202,
                16,
                Some("0-15"),
                "A chunk of the blob (Content-Range 0-15); the registry now holds 0-15.",
            ),
            (
                Method::Patch,
                SESSION,
                416,
                16,
                None,
                "The registry holds another amount",
            ),
            (
                Method::Get,
                SESSION,
                204,
                0,
                Some("0-15"),
                "After a break, the registry was asked what the session holds (0-15)",
            ),
            (
                Method::Get,
                SESSION,
                404,
                0,
                None,
                "The registry forgot the upload session",
            ),
            (
                Method::Put,
                SESSION,
                502,
                0,
                None,
                "The registry failed (502). Uploads are not resent blindly",
            ),
        ];
        for (method, url, status, bytes, range, begins) in table {
            let mut e = exchange(Upload, url, Some(*status));
            e.method = *method;
            e.bytes = Some(*bytes);
            if let Some(range) = range {
                e = with_headers(e, &[("range", range)]);
            }
            if *method == Method::Patch {
                e.request_headers = vec![request_header("Content-Range", "0-15").unwrap()];
            }
            let text = &explain_all(&[e])[0].text;
            assert!(text.starts_with(begins), "{method:?} {status}: {text}");
        }
        let mut pushed = with_headers(
            exchange(ManifestPush, "https://r/v2/a/manifests/1", Some(201)),
            &[("docker-content-digest", "sha256:abc")],
        );
        pushed.method = Method::Put;
        assert!(explain_all(&[pushed])[0]
            .text
            .contains("names it sha256:abc"));
    }

    #[test]
    fn picks_out_the_auth_dance() {
        let log = [
            with_headers(
                exchange(VersionCheck, PING, Some(401)),
                &[(
                    "www-authenticate",
                    r#"Bearer realm="https://auth/token",service="reg""#,
                )],
            ),
            exchange(Token, TOKEN, Some(200)),
            authed(exchange(VersionCheck, PING, Some(200))),
            with_headers(
                authed(exchange(Manifest, MANIFEST, Some(200))),
                &[
                    ("content-type", "application/vnd.oci.image.index.v1+json"),
                    ("docker-content-digest", "sha256:abc"),
                ],
            ),
        ];
        let explained = explain_all(&log);
        let steps: Vec<_> = explained.iter().map(|e| e.step).collect();
        assert_eq!(
            steps,
            [
                Some(DanceStep::Challenge),
                Some(DanceStep::Token),
                Some(DanceStep::Retry),
                None
            ]
        );
        assert!(explained[0]
            .text
            .contains("token service https://auth/token (service “reg”)"));
        assert!(explained[0].text.contains("No scope yet"));
        assert!(explained[1].text.contains("anonymous"));
        assert!(explained[2]
            .text
            .starts_with("Retried with the credential: accepted."));
        assert!(explained[3].text.contains("OCI image index"));
        assert!(explained[3]
            .text
            .contains("sha256:abc (Docker-Content-Digest)"));
    }

    #[test]
    fn an_unauthenticated_repeat_is_no_retry() {
        let log = [
            exchange(Manifest, MANIFEST, Some(401)),
            exchange(Manifest, MANIFEST, Some(401)),
        ];
        let steps: Vec<_> = explain_all(&log).iter().map(|e| e.step).collect();
        assert_eq!(
            steps,
            [Some(DanceStep::Challenge), Some(DanceStep::Challenge)]
        );
    }

    #[test]
    fn explains_each_kind_of_answer() {
        let table: [(Exchange, &str); 12] = [
            (exchange(Manifest, MANIFEST, None), "No answer"),
            (
                with_headers(
                    exchange(Manifest, MANIFEST, Some(401)),
                    &[("www-authenticate", r#"Basic realm="r""#)],
                ),
                "HTTP Basic",
            ),
            (
                exchange(Manifest, MANIFEST, Some(401)),
                "without a challenge",
            ),
            (
                with_headers(
                    exchange(Manifest, MANIFEST, Some(401)),
                    &[(
                        "www-authenticate",
                        r#"Bearer realm="x",scope="repository:a:pull",error="insufficient_scope""#,
                    )],
                ),
                "refused (insufficient_scope)",
            ),
            (
                authed(exchange(Token, TOKEN, Some(401))),
                "refused for your login (401)",
            ),
            (
                with_headers(
                    exchange(Layer, "b", Some(429)),
                    &[
                        ("ratelimit-limit", "100;w=21600"),
                        ("ratelimit-remaining", "0;w=21600"),
                    ],
                ),
                "pull-through cache). Rate limit: 0 of 100 pulls left in a 6-hour window.",
            ),
            (exchange(Layer, "b", Some(503)), "failed (503)"),
            (
                with_headers(
                    exchange(Layer, "b", Some(200)),
                    &[("x-skiff-redirected-to", "cdn.example")],
                ),
                "redirected to cdn.example",
            ),
            (
                with_headers(
                    exchange(Layer, "b", Some(206)),
                    &[("content-range", "bytes 10-99/100")],
                ),
                "(bytes 10-99/100): a download that broke",
            ),
            (
                with_headers(
                    exchange(TagList, "t", Some(200)),
                    &[("link", "</v2/a/tags/list?n=1&last=b>; rel=\"next\"")],
                ),
                "points to the next page",
            ),
            (
                exchange(Referrers, "t", Some(404)),
                "Skiff tries the other ways",
            ),
            (
                with_headers(
                    exchange(Manifest, MANIFEST, Some(403)),
                    &[("x-skiff-proxy-error", "host-not-allowed")],
                ),
                "proxy answered itself (host-not-allowed)",
            ),
        ];
        for (exchange, expected) in table {
            let text = &explain_all(std::slice::from_ref(&exchange))[0].text;
            assert!(text.contains(expected), "{text:?} lacks {expected:?}");
        }
    }
}
