//! Sending one request: through the route, with the credential where it may go, recorded for
//! the explorer (nothing secret in the record), retried as the core's [`RetryPolicy`] decides.

use gloo_net::http::{Request, Response};
use skiff_core::explorer::exchange::{self, Exchange, Method, Purpose};
use skiff_core::protocol::proxy_protocol::PROXY_ERROR_HEADER;
use skiff_core::protocol::retry::{Decision, Outcome, RetryPolicy};

use super::{next_exchange_id, now_ms, sleep_ms, RegistrySession};
use crate::error::AppError;

impl RegistrySession {
    /// Sends, retrying as the core's [`RetryPolicy`] decides: 5xx and 429 answers (waiting
    /// out a `Retry-After` of up to 30 s) and connection failures, with backoff. The last
    /// answer is returned as it is, for the caller to report.
    pub(super) async fn send_with_retries(
        &self,
        outgoing: &Outgoing<'_>,
    ) -> Result<Response, AppError> {
        let policy = RetryPolicy::default();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self.send(outgoing).await;
            let outcome = match &sent {
                Ok(response) => {
                    let header = |name| response.headers().get(name);
                    Outcome::of_answer(
                        response.status(),
                        header("retry-after").as_deref(),
                        header(PROXY_ERROR_HEADER).as_deref(),
                    )
                }
                Err(AppError::Cancelled) => return sent,
                Err(_) => Outcome::ConnectionError,
            };
            match policy.decide(attempt, outcome, now_ms()) {
                Decision::Retry { after_ms } => {
                    sleep_ms(after_ms.min(u32::MAX as u64) as u32).await
                }
                Decision::Done | Decision::GiveUp { .. } => return sent,
            }
        }
    }

    pub(super) async fn send(&self, outgoing: &Outgoing<'_>) -> Result<Response, AppError> {
        let Outgoing {
            method,
            upstream,
            accept,
            purpose,
            authorization,
            extra,
            body,
        } = outgoing;
        let (upstream, what) = (*upstream, purpose.label());
        let url = self.route.url(upstream);
        let builder = match method {
            Method::Get => Request::get(&url),
            Method::Head => {
                gloo_net::http::RequestBuilder::new(&url).method(gloo_net::http::Method::HEAD)
            }
            Method::Post => Request::post(&url),
            Method::Put => Request::put(&url),
            Method::Patch => Request::patch(&url),
        };
        // Never the browser's HTTP cache: a body that ended early would be kept as complete,
        // and a tag's manifest goes stale. (`no-store` also keeps secrets off the disk.)
        let mut request = builder
            .abort_signal(Some(&self.signal))
            .cache(web_sys::RequestCache::NoStore);
        let mut sent_headers: Vec<(&str, String)> = extra.to_vec();
        sent_headers.extend(accept.map(|a| ("Accept", a.to_owned())));
        sent_headers.extend(
            authorization
                .clone()
                .map(|a| (self.route.credential_header(), a)),
        );
        for (name, value) in &sent_headers {
            request = request.header(name, value);
        }
        let started_ms = js_sys::Date::now();
        let result = match body {
            Some(body) => match request.body(body.clone()) {
                Ok(request) => request.send().await,
                Err(error) => Err(error),
            },
            None => request.send().await,
        };
        let response = result.as_ref().ok();
        let headers: Vec<(&str, &str)> =
            sent_headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let record = Exchange::sent(
            exchange::Sent {
                id: next_exchange_id(),
                purpose: *purpose,
                method: *method,
                url: upstream,
                headers: &headers,
                started_ms,
            },
            response.map(|r| (r.status(), r.headers().entries().collect())),
            js_sys::Date::now(),
        );
        self.report.emit(record.clone());
        *self.last.borrow_mut() = Some(record);
        result.map_err(|error| {
            if self.signal.aborted() {
                return AppError::Cancelled;
            }
            let detail = gloo_error_text(&error);
            match self.route.proxy() {
                Some(proxy) => AppError::ProxyUnreachable {
                    proxy: proxy.to_owned(),
                    detail,
                },
                None => AppError::RegistryUnreachable {
                    what: format!("{what} ({})", upstream_host(upstream)),
                    detail: format!("{detail}. The registry may send no CORS headers: set a CORS proxy (e.g. the one `scripts/serve.sh` starts) in the CORS proxy field."),
                },
            }
        })
    }
}

/// One request as the session sends it.
pub(super) struct Outgoing<'a> {
    pub(super) method: Method,
    pub(super) body: Option<wasm_bindgen::JsValue>,
    pub(super) upstream: &'a str,
    pub(super) accept: Option<&'a str>,
    /// What it fetches, for the request log and errors.
    pub(super) purpose: Purpose,
    pub(super) authorization: Option<String>,
    pub(super) extra: &'a [(&'a str, String)],
}

fn upstream_host(url: &str) -> String {
    url.split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(url)
        .to_owned()
}

fn gloo_error_text(error: &gloo_net::Error) -> String {
    match error {
        gloo_net::Error::JsError(js) => js.message.clone(),
        other => other.to_string(),
    }
}
