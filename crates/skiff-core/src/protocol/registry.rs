//! Where the distribution API lives for a reference, and how a URL goes through a CORS proxy.

use crate::image::reference::DOCKER_HUB;
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
    // Decided on the parsed address: `127.evil.com` is a name, and gets https.
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback());
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

/// The OCI referrers API for `subject`: an index of the artifacts that name it.
pub fn referrers_url(reference: &Reference, subject: &Digest) -> String {
    format!(
        "{}/v2/{}/referrers/{subject}",
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

/// The first page of a repository's tags.
pub fn tags_url(reference: &Reference, page_size: u32) -> String {
    format!(
        "{}/v2/{}/tags/list?n={page_size}",
        api_base(reference.registry()),
        reference.repository()
    )
}

/// A registry as a user types it (`ghcr.io`, `https://ghcr.io/`, `127.0.0.1:5000`,
/// `registry-1.docker.io`) as the host the API URLs are built from; Docker Hub's names are
/// `docker.io`.
pub fn parse_registry(input: &str) -> Result<String, crate::Error> {
    let invalid = |reason: &str| crate::Error::InvalidRegistry {
        input: input.to_owned(),
        reason: reason.to_owned(),
    };
    let text = input.trim();
    let text = ["https://", "http://"]
        .iter()
        .find_map(|scheme| {
            text.get(..scheme.len())
                .filter(|s| s.eq_ignore_ascii_case(scheme))
                .map(|_| &text[scheme.len()..])
        })
        .unwrap_or(text);
    // A pasted API URL (`ghcr.io/v2/`) names its host first.
    let host = text.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(invalid("it is empty"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-.:[]_".contains(c);
    if let Some(bad) = host.chars().find(|c| !allowed(*c)) {
        return Err(invalid(&format!("{bad:?} cannot be part of a host name")));
    }
    let host = host.to_ascii_lowercase();
    Ok(match host.as_str() {
        "index.docker.io"
        | "registry-1.docker.io"
        | "registry.hub.docker.com"
        | "hub.docker.com" => DOCKER_HUB.to_owned(),
        _ => host,
    })
}

/// The first page of a registry's repositories (`/v2/_catalog`).
pub fn catalog_url(registry: &str, page_size: u32) -> String {
    format!("{}/v2/_catalog?n={page_size}", api_base(registry))
}

/// The `rel="next"` target of a `Link` header, resolved against the URL that answered:
/// `</v2/app/tags/list?n=100&last=b>; rel="next"`. A target on another origin is not followed:
/// the next request would carry the registry's credentials there.
pub fn next_page_url(current: &str, link: &str) -> Option<String> {
    link.split(',').find_map(|entry| {
        let (target, params) = entry.trim().split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().to_ascii_lowercase();
            p == "rel=\"next\"" || p == "rel=next"
        });
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        if !is_next {
            return None;
        }
        let origin = origin_of(current)?;
        if target.contains("://") || target.starts_with("//") {
            let same = origin_of(target).is_some_and(|o| o.eq_ignore_ascii_case(origin));
            return same.then(|| target.to_owned());
        }
        Some(if target.starts_with('/') {
            format!("{origin}{target}")
        } else {
            format!("{origin}/{target}")
        })
    })
}

/// Whether a request to `url` may carry `registry`'s credential: only to the registry's own
/// scheme, host and port, as docker decides it. An upload `Location` or a redirect naming
/// another host (a storage bucket, say) gets none: it carries its own signature if it needs one.
pub fn credential_goes_to(registry: &str, url: &str) -> bool {
    let base = api_base(registry);
    match (origin_of(&base), origin_of(url)) {
        (Some(own), Some(theirs)) => own.eq_ignore_ascii_case(theirs),
        _ => false,
    }
}

/// `https://host:port` of an absolute URL.
fn origin_of(url: &str) -> Option<&str> {
    let origin_end = url.find("://").map(|i| i + 3)?;
    let host_end = url[origin_end..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| origin_end + i);
    Some(&url[..host_end])
}

/// The body of `/v2/<name>/tags/list`.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct TagList {
    pub name: String,
    /// Registries answer `null` for a repository without tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

impl TagList {
    pub fn parse(body: &[u8]) -> Result<Self, crate::Error> {
        serde_json::from_slice(body).map_err(|e| crate::Error::MalformedJson {
            what: "tag list",
            reason: e.to_string(),
        })
    }
}

/// The body of `/v2/_catalog`: one page of the registry's repositories.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Catalog {
    /// Some registries answer `null` when they hold none.
    #[serde(default)]
    pub repositories: Option<Vec<String>>,
}

impl Catalog {
    pub fn parse(body: &[u8]) -> Result<Self, crate::Error> {
        serde_json::from_slice(body).map_err(|e| crate::Error::MalformedJson {
            what: "repository catalog",
            reason: e.to_string(),
        })
    }
}

/// How requests reach upstream: through a cors-anywhere style proxy (`<proxy>/<absolute URL>`),
/// or directly for registries that send CORS headers themselves.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

    /// The request header that carries a credential for the upstream: `Authorization` when
    /// direct, the proxy's own header through a proxy (which turns it into `Authorization`).
    pub fn credential_header(&self) -> &'static str {
        match self.proxy {
            Some(_) => crate::protocol::proxy_protocol::CREDENTIAL_HEADER,
            None => "Authorization",
        }
    }

    /// The response header that carries the upstream's auth challenge.
    pub fn challenge_header(&self) -> &'static str {
        match self.proxy {
            Some(_) => crate::protocol::proxy_protocol::CHALLENGE_HEADER,
            None => "www-authenticate",
        }
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
    fn reads_registries_as_users_type_them() {
        let table: &[(&str, Result<&str, &str>)] = &[
            ("ghcr.io", Ok("ghcr.io")),
            (" https://GHCR.io/ ", Ok("ghcr.io")),
            ("http://127.0.0.1:5000/v2/", Ok("127.0.0.1:5000")),
            ("[::1]:5000", Ok("[::1]:5000")),
            ("registry-1.docker.io", Ok("docker.io")),
            ("docker.io", Ok("docker.io")),
            ("", Err("empty")),
            ("https://", Err("empty")),
            ("my registry", Err("' '")),
            ("ghcr.io?x", Err("'?'")),
        ];
        for (input, expected) in table {
            match (parse_registry(input), expected) {
                (Ok(host), Ok(want)) => assert_eq!(host, *want, "{input}"),
                (Err(error), Err(part)) => {
                    assert!(error.to_string().contains(part), "{input}: {error}")
                }
                (got, _) => panic!("{input}: {got:?}"),
            }
        }
    }

    #[test]
    fn reads_catalog_pages() {
        // A body, and the repositories it lists (`Err` when it is no catalog).
        type Listed = Result<Option<Vec<&'static str>>, ()>;
        let table: &[(&str, Listed)] = &[
            (
                r#"{"repositories":["a","b/c"]}"#,
                Ok(Some(vec!["a", "b/c"])),
            ),
            (r#"{"repositories":null}"#, Ok(None)),
            (r#"{}"#, Ok(None)),
            (r#"{"repositories":"a"}"#, Err(())),
            ("<html>", Err(())),
        ];
        for (body, expected) in table {
            let got = Catalog::parse(body.as_bytes())
                .map(|c| c.repositories)
                .map_err(|_| ());
            let expected = expected
                .clone()
                .map(|r| r.map(|r| r.into_iter().map(str::to_owned).collect::<Vec<_>>()));
            assert_eq!(got, expected, "{body}");
        }
        assert_eq!(
            catalog_url("127.0.0.1:5000", 100),
            "http://127.0.0.1:5000/v2/_catalog?n=100"
        );
        assert_eq!(
            next_page_url(
                "http://127.0.0.1:5000/v2/_catalog?n=100",
                r#"</v2/_catalog?last=b%2Fc&n=100>; rel="next""#
            )
            .as_deref(),
            Some("http://127.0.0.1:5000/v2/_catalog?last=b%2Fc&n=100")
        );
    }

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
        assert_eq!(api_base("127.0.0.2:5000"), "http://127.0.0.2:5000");
        assert_eq!(api_base("127.evil.com"), "https://127.evil.com");
        assert_eq!(api_base("127.evil.com:5000"), "https://127.evil.com:5000");
        assert_eq!(api_base("localhost.evil.com"), "https://localhost.evil.com");
        assert_eq!(
            api_base("registry.example.com:443"),
            "https://registry.example.com:443"
        );
    }

    #[test]
    fn follows_link_headers() {
        let current = "https://ghcr.io/v2/o/app/tags/list?n=100";
        assert_eq!(
            next_page_url(
                current,
                r#"</v2/o/app/tags/list?n=100&last=v9>; rel="next""#
            )
            .as_deref(),
            Some("https://ghcr.io/v2/o/app/tags/list?n=100&last=v9")
        );
        assert_eq!(
            next_page_url(current, r#"<https://GHCR.io/v2/x?last=a>; rel=next"#).as_deref(),
            Some("https://GHCR.io/v2/x?last=a")
        );
        // Another origin (host, scheme or port) is not followed: credentials would go along.
        for elsewhere in [
            "https://other/x?last=a",
            "https://ghcr.io.evil.com/v2/x",
            "http://ghcr.io/v2/x",
            "https://ghcr.io:444/v2/x",
            "//evil.com/v2/x",
        ] {
            assert_eq!(
                next_page_url(current, &format!("<{elsewhere}>; rel=next")),
                None,
                "{elsewhere}"
            );
        }
        assert_eq!(
            next_page_url(current, r#"</first>; rel="prev", </v2/next>; rel="next""#).as_deref(),
            Some("https://ghcr.io/v2/next")
        );
        assert_eq!(next_page_url(current, r#"</v2/prev>; rel="prev""#), None);
        assert_eq!(next_page_url(current, "garbage"), None);
        let local: Reference = "localhost:5000/a".parse().unwrap();
        assert_eq!(
            tags_url(&local, 50),
            "http://localhost:5000/v2/a/tags/list?n=50"
        );
    }

    #[test]
    fn credentials_go_only_to_their_registry() {
        let table = [
            (
                "ghcr.io",
                "https://ghcr.io/v2/o/app/blobs/uploads/u?_state=x",
                true,
            ),
            ("ghcr.io", "https://GHCR.io/v2/", true),
            ("ghcr.io", "https://ghcr.io:444/v2/", false),
            ("ghcr.io", "http://ghcr.io/v2/", false),
            (
                "ghcr.io",
                "https://storage.example/up/u1?X-Amz-Signature=s",
                false,
            ),
            ("ghcr.io", "https://ghcr.io.evil.com/v2/", false),
            (
                "docker.io",
                "https://registry-1.docker.io/v2/library/x/manifests/1",
                true,
            ),
            ("docker.io", "https://docker.io/v2/", false),
            (
                "127.0.0.1:5000",
                "http://127.0.0.1:5000/v2/a/blobs/uploads/1",
                true,
            ),
            (
                "127.0.0.1:5000",
                "http://127.0.0.1:5001/v2/a/blobs/uploads/1",
                false,
            ),
            ("127.0.0.1:5000", "http://localhost:5000/v2/", false),
            ("127.0.0.1:5000", "not a url", false),
        ];
        for (registry, url, expected) in table {
            assert_eq!(
                credential_goes_to(registry, url),
                expected,
                "{registry} {url}"
            );
        }
    }

    #[test]
    fn reads_tag_lists() {
        let list = TagList::parse(br#"{"name":"a","tags":["1","2"]}"#).unwrap();
        assert_eq!(list.tags.unwrap(), ["1", "2"]);
        assert_eq!(
            TagList::parse(br#"{"name":"a","tags":null}"#).unwrap().tags,
            None
        );
        assert!(TagList::parse(b"[").is_err());
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
        assert_eq!(route.credential_header(), "x-skiff-authorization");
        assert_eq!(route.challenge_header(), "x-skiff-www-authenticate");
        let direct = Route::new("  ");
        assert!(direct.is_direct());
        assert_eq!(direct.url("https://x/v2/"), "https://x/v2/");
        assert_eq!(direct.credential_header(), "Authorization");
        assert_eq!(direct.challenge_header(), "www-authenticate");
    }
}
