//! Registry and proxy answers as errors the user understands: one mapping for the page's own
//! requests and the layer workers' (which send their answers' facts).

use gloo_net::http::Response;
use skiff_core::protocol::proxy_protocol::{ProxyErrorKind, PROXY_ERROR_HEADER};

use crate::engine::protocol::HttpFacts;
use crate::error::AppError;

/// Turns a non-2xx answer into an error, reading the registry's error JSON or the proxy's text.
pub async fn error_for(response: &Response, what: &str) -> AppError {
    let headers = response.headers();
    let facts = HttpFacts {
        status: response.status(),
        proxy_error: headers.get(PROXY_ERROR_HEADER),
        body: response.text().await.unwrap_or_default(),
        retry_after: headers.get("retry-after"),
        ratelimit_limit: headers.get("ratelimit-limit"),
        ratelimit_remaining: headers.get("ratelimit-remaining"),
    };
    error_from_facts(&facts, what)
}

/// The error an HTTP answer means, from its facts (the page's own answers and the layer
/// workers' alike).
pub fn error_from_facts(facts: &HttpFacts, what: &str) -> AppError {
    let status = facts.status;
    let body = facts.body.as_str();
    if let Some(kind) = &facts.proxy_error {
        let message = body.trim().to_owned();
        let upstream_failure = kind
            .parse::<ProxyErrorKind>()
            .is_ok_and(ProxyErrorKind::is_upstream_failure);
        return if upstream_failure {
            AppError::RegistryUnreachable {
                what: what.to_owned(),
                detail: format!(
                    "{message} Check the registry's name, and that the machine running the proxy can reach it."
                ),
            }
        } else {
            AppError::ProxyRefused { message }
        };
    }
    let code = registry_error_code(body);
    let what = what.to_owned();
    match status {
        404 => AppError::NotFound { what, code },
        401 | 403 => AppError::Denied { what, status, code },
        429 => {
            let mut details = String::new();
            for (name, value) in [
                ("retry-after", &facts.retry_after),
                ("ratelimit-limit", &facts.ratelimit_limit),
                ("ratelimit-remaining", &facts.ratelimit_remaining),
            ] {
                if let Some(value) = value {
                    details.push_str(&format!(", {name}: {value}"));
                }
            }
            AppError::RateLimited { what, details }
        }
        500..=599 => AppError::Http {
            what,
            status,
            code,
            hint: "The registry (or a gateway before it) kept failing through retries with backoff; try again later.".to_owned(),
        },
        _ => AppError::Http {
            what,
            status,
            code,
            hint: "Skiff did not expect this answer.".to_owned(),
        },
    }
}

/// Why the proxy answered itself, if it did (an unknown kind counts as a refusal).
pub(super) fn proxy_error_kind(response: &Response) -> Option<ProxyErrorKind> {
    let header = response.headers().get(PROXY_ERROR_HEADER)?;
    Some(header.parse().unwrap_or(ProxyErrorKind::HostNotAllowed))
}

/// `: MANIFEST_UNKNOWN (manifest unknown)` from `{"errors":[{"code":…,"message":…}]}`.
fn registry_error_code(body: &str) -> String {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
        return String::new();
    };
    let Some(first) = json["errors"].get(0) else {
        return String::new();
    };
    match (first["code"].as_str(), first["message"].as_str()) {
        (Some(code), Some(message)) => format!(", {code}: {message}"),
        (Some(code), None) => format!(", {code}"),
        _ => String::new(),
    }
}
