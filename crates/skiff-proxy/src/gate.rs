//! Who may use the proxy, decided before anything is forwarded: only its own names in `Host`
//! (DNS rebinding), only `fetch` in CORS or same-origin mode for data (`Sec-Fetch-Dest:
//! empty`), and the origin a page's request comes from.

use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;

use skiff_core::protocol::proxy_protocol::ProxyErrorKind;

use crate::cors::Cors;
use crate::Config;

/// DNS rebinding: a page on `evil.example` whose name now points at 127.0.0.1 reaches the proxy
/// with `Host: evil.example`. Only the proxy's own names are served.
pub(crate) fn refuse_foreign_host(
    config: &Config,
    cors: &Cors,
    request: &Request,
) -> Option<Response> {
    let from_header = request
        .headers()
        .get(header::HOST)
        .map(|value| value.to_str().ok().map(str::to_owned));
    let from_uri = request.uri().authority().map(|a| Some(a.host().to_owned()));
    let names: Vec<Option<String>> = from_header.into_iter().chain(from_uri).collect();
    let answers = !names.is_empty()
        && names.iter().all(|name| {
            name.as_deref()
                .map(strip_port)
                .is_some_and(|host| config.answers_to(host))
        });
    (!answers).then(|| {
        cors.refuse(
            StatusCode::MISDIRECTED_REQUEST,
            ProxyErrorKind::HostHeaderNotAllowed,
            "this request was addressed to a name that is not Skiff's proxy; a deployment names its public host with --public-host".to_owned(),
        )
    })
}

/// Whether `origin` is the proxy's own, as the browser addressed it (`Host`, already checked to
/// be one of the proxy's names): the app it serves, pushing from its own page. Compared by
/// authority only, since a TLS terminator in front makes the scheme differ.
pub(crate) fn is_own_origin(origin: &str, headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let authority = origin.split_once("://").map(|(_, rest)| rest);
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

/// `host:port`, `[v6]:port` → the host part.
fn strip_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .split_once(']')
            .map_or(authority, |(host, _)| &authority[..host.len() + 1]);
    }
    authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host)
}

/// Only `fetch` in CORS mode is served: a navigation would render what an upstream sent, and a
/// no-cors load (`<img>`, `<script>`) from any page would reach the upstream and leak its status.
/// And only as data (`Sec-Fetch-Dest: empty`): a service worker or worker script registered
/// from a relayed URL would run with the proxy's origin (same-origin mode, but dest
/// `serviceworker`), and with `--serve-app` that origin is the app's.
pub(crate) fn refuse_fetch_mode(cors: &Cors, headers: &HeaderMap) -> Option<Response> {
    let text = |name| headers.get(name).map(|v| v.to_str().unwrap_or("such"));
    let mode_refused =
        text("sec-fetch-mode").filter(|mode| !matches!(*mode, "cors" | "same-origin"));
    let dest_refused = text("sec-fetch-dest").filter(|dest| *dest != "empty");
    let (what, detail) = match (mode_refused, dest_refused) {
        (Some(mode), _) => ("mode", mode),
        (None, Some(dest)) => ("destination", dest),
        (None, None) => return None,
    };
    Some(cors.refuse(
        StatusCode::FORBIDDEN,
        ProxyErrorKind::FetchModeNotAllowed,
        format!(
            "Skiff's proxy serves the Skiff app's fetch requests only, not requests of {what} {detail}; open the Skiff app instead"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_ports_from_authorities() {
        for (authority, host) in [
            ("127.0.0.1:8787", "127.0.0.1"),
            ("localhost", "localhost"),
            ("[::1]:8787", "[::1]"),
            ("[::1]", "[::1]"),
        ] {
            assert_eq!(strip_port(authority), host);
        }
    }
}
