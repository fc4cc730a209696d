//! The built Skiff app (Trunk's `dist/`), served from the proxy's own origin: a deployment is
//! one process, and the app's requests to the proxy are same-origin, so no CORS is involved.
//! Only files under the directory are served, read whole (the app is a few MB), never listed.

use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use skiff_core::protocol::page_policy::app_page_policy;

/// Longest path accepted: the app's file names are short.
const MAX_PATH: usize = 256;

#[derive(Clone, Debug)]
pub struct AppFiles {
    root: PathBuf,
}

impl AppFiles {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// `GET|HEAD /…`: the file, `index.html` for `/`; 404 for anything else.
    pub async fn serve(&self, method: &Method, path: &str) -> Response {
        if method != Method::GET && method != Method::HEAD {
            return plain(
                StatusCode::METHOD_NOT_ALLOWED,
                "the app's files are read-only\n",
            );
        }
        let Some(file) = self.resolve(path) else {
            return plain(StatusCode::NOT_FOUND, "no such file in the Skiff app\n");
        };
        let is_page = file.file_name() == Some("index.html".as_ref());
        let body = match tokio::fs::read(&file).await {
            Ok(body) if is_page => same_origin_page(body),
            Ok(body) => body,
            Err(_) => return plain(StatusCode::NOT_FOUND, "no such file in the Skiff app\n"),
        };
        let policy = is_page.then(|| app_page_policy(&String::from_utf8_lossy(&body)));
        let length = body.len();
        let mut response = Response::new(if method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(body)
        });
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime(&file)));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        // A new build replaces the files under the same names (index.html): ask every time.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
        if let Some(value) = policy.and_then(|p| HeaderValue::from_str(&p).ok()) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
        response
    }

    /// The file a request path names, if it is one under the root: no `..`, no hidden files,
    /// nothing but normal components.
    fn resolve(&self, path: &str) -> Option<PathBuf> {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        if path.len() > MAX_PATH || path.contains('\\') || path.contains('%') {
            return None;
        }
        let relative = match path.trim_start_matches('/') {
            "" => "index.html",
            other => other,
        };
        let relative = Path::new(relative);
        let plain = relative.components().all(|c| match c {
            Component::Normal(name) => !name.to_string_lossy().starts_with('.'),
            _ => false,
        });
        plain.then(|| self.root.join(relative))
    }
}

/// The page, told that its proxy is its own origin: the app reads this `<meta>` before anything
/// else, so its first request already goes here (no CORS, no proxy to configure).
fn same_origin_page(page: Vec<u8>) -> Vec<u8> {
    const MARK: &str = r#"<meta name="skiff-proxy" content="same-origin">"#;
    let text = String::from_utf8_lossy(&page);
    match text.find("<head>") {
        Some(at) => {
            let at = at + "<head>".len();
            format!("{}{MARK}{}", &text[..at], &text[at..]).into_bytes()
        }
        None => page,
    }
}

fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_only_plain_paths_under_the_root() {
        let files = AppFiles::new(PathBuf::from("/srv/app"));
        let table = [
            ("/", Some("/srv/app/index.html")),
            ("/index.html?x=1", Some("/srv/app/index.html")),
            ("/skiff-1a2b.wasm", Some("/srv/app/skiff-1a2b.wasm")),
            (
                "/snippets/x/inline0.js",
                Some("/srv/app/snippets/x/inline0.js"),
            ),
            ("/../etc/passwd", None),
            ("/a/../../etc/passwd", None),
            ("/.git/config", None),
            ("/%2e%2e/etc/passwd", None),
            ("/..\\etc", None),
            ("//etc/passwd", Some("/srv/app/etc/passwd")),
        ];
        for (path, expected) in table {
            assert_eq!(files.resolve(path), expected.map(PathBuf::from), "{path}");
        }
        assert!(files.resolve(&format!("/{}", "a".repeat(300))).is_none());
    }

    #[test]
    fn tells_the_page_its_proxy_is_here() {
        let page = same_origin_page(b"<html><head><title>Skiff</title></head></html>".to_vec());
        assert_eq!(
            String::from_utf8(page).unwrap(),
            r#"<html><head><meta name="skiff-proxy" content="same-origin"><title>Skiff</title></head></html>"#
        );
        assert_eq!(same_origin_page(b"no head".to_vec()), b"no head");
    }

    #[test]
    fn names_types() {
        assert_eq!(mime(Path::new("a.wasm")), "application/wasm");
        assert_eq!(mime(Path::new("a.html")), "text/html; charset=utf-8");
        assert_eq!(mime(Path::new("a")), "application/octet-stream");
    }
}
