//! Talking to a registry from the browser. Every request goes through the [`Route`] (the CORS
//! proxy, or direct) and is reported as an [`Exchange`], which never holds a secret. What to do
//! about auth (challenges, tokens, renewal, a 401 mid-pull) is decided by the core's
//! [`AuthSession`]; retries by its [`RetryPolicy`]. This module only sends requests and
//! hands their answers to those.

mod auth;
mod documents;
mod errors;

use std::cell::{Cell, RefCell};

use gloo_net::http::{Request, Response};
use skiff_core::explorer::exchange::{self, Exchange, Method, Purpose};
use skiff_core::image::manifest::check_document_size;
use skiff_core::protocol::auth::Scope;
use skiff_core::protocol::registry::{credential_goes_to, Route};
use skiff_core::protocol::retry::{Decision, Outcome, RetryAfter, RetryPolicy};
use skiff_core::protocol::session::{AuthSession, AuthStep, TokenRequest, MAX_AUTH_RETRIES};
use skiff_core::Reference;
use web_sys::AbortSignal;
use yew::Callback;

pub use documents::CheckedManifest;
use errors::proxy_error_kind;
pub use errors::{error_for, error_from_facts};

use crate::engine::protocol::JobAuth;
use crate::error::{js_error_text, AppError};
use crate::state::Credentials;

/// One registry, one repository, one pull.
pub struct RegistrySession {
    route: Route,
    /// The registry the credential belongs to: requests elsewhere (an upload `Location` on a
    /// storage host) carry none.
    registry: String,
    auth: RefCell<AuthSession>,
    signal: AbortSignal,
    report: Callback<Exchange>,
    /// The last request's record, completed once its body is read.
    last: RefCell<Option<Exchange>>,
}

thread_local! {
    static EXCHANGES: Cell<u64> = const { Cell::new(0) };
}

/// A page-wide unique id for an exchange record.
pub fn next_exchange_id() -> String {
    EXCHANGES.with(|n| {
        n.set(n.get() + 1);
        format!("p{}", n.get())
    })
}

pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

impl RegistrySession {
    /// The one place credentials meet a registry: they are kept only if they belong to
    /// `reference`'s registry, so no request of this session can carry them anywhere else.
    pub fn new(
        route: Route,
        reference: &Reference,
        credentials: Option<Credentials>,
        signal: AbortSignal,
        report: Callback<Exchange>,
    ) -> Self {
        let login = credentials
            .filter(|c| c.belong_to(reference.registry()))
            .map(|c| auth::login(&c));
        Self {
            route,
            registry: reference.registry().to_owned(),
            auth: RefCell::new(AuthSession::new(reference.repository(), Vec::new(), login)),
            signal,
            report,
            last: RefCell::new(None),
        }
    }

    /// A session that asks for push access to `reference`'s repository as well.
    pub fn for_push(
        route: Route,
        reference: &Reference,
        credentials: Option<Credentials>,
        signal: AbortSignal,
        report: Callback<Exchange>,
    ) -> Self {
        let session = Self::new(route, reference, credentials, signal, report);
        session
            .auth
            .borrow_mut()
            .add_scope(Scope::push(reference.repository()));
        session
    }

    /// Pull access to another repository of the registry too, asked for with the next token:
    /// the source of a mount.
    pub fn also_pull(&self, repository: &str) {
        self.auth.borrow_mut().add_scope(Scope::pull(repository));
    }

    /// How this session's requests reach the registry (through the proxy, or directly).
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// The `Authorization` for a layer worker to send, renewing a token that is due first.
    pub async fn fresh_authorization(&self) -> Result<Option<JobAuth>, AppError> {
        self.renew_if_due().await?;
        Ok(self.job_auth())
    }

    fn job_auth(&self) -> Option<JobAuth> {
        let sent = self.auth.borrow().request_auth(now_ms());
        sent.header().map(|header| JobAuth {
            header: header.to_owned(),
            generation: sent.generation(),
        })
    }

    /// After a worker's 401 to the credential of `generation` (with its `WWW-Authenticate`):
    /// the credential to send now.
    pub async fn reauthorize(
        &self,
        generation: u64,
        challenge: Option<&str>,
    ) -> Result<Option<JobAuth>, AppError> {
        let step =
            self.auth
                .borrow_mut()
                .handle_response_from(generation, 401, challenge, now_ms());
        match step {
            AuthStep::FetchToken(request) => self.fetch_token(request).await?,
            AuthStep::Fail(error) => return Err(auth::app_error(error, "layer")),
            AuthStep::Proceed | AuthStep::RetryRequest => {}
        }
        Ok(self.job_auth())
    }

    /// No answer for `what`: the proxy's fault or the registry's, as the route says.
    pub fn unreachable(&self, what: &str, detail: &str) -> AppError {
        match self.route.proxy() {
            Some(proxy) => AppError::ProxyUnreachable {
                proxy: proxy.to_owned(),
                detail: detail.to_owned(),
            },
            None => AppError::RegistryUnreachable {
                what: what.to_owned(),
                detail: format!("{detail}. The registry may send no CORS headers: set a CORS proxy (e.g. the one `scripts/serve.sh` starts) in the CORS proxy field."),
            },
        }
    }

    /// `GET /v2/`: checks the registry speaks the API and settles auth before anything else.
    pub async fn ping(&self, url: &str) -> Result<(), AppError> {
        let response = self.get(url, None, Purpose::VersionCheck).await?;
        match response.status() {
            200 => Ok(()),
            _ => Err(error_for(&response, "version check (/v2/)").await),
        }
    }

    /// GET with authentication: the session's credential goes along, and a 401 is answered as
    /// the [`AuthSession`] says (a token, Basic, or a clear refusal). The response is returned
    /// whatever its status; use [`expect_ok`] for the usual check.
    pub async fn get(
        &self,
        url: &str,
        accept: Option<&str>,
        purpose: Purpose,
    ) -> Result<Response, AppError> {
        self.get_with(url, accept, purpose, &[]).await
    }

    /// A few bytes of a blob (`range` as in `bytes=0-17`); `None` when the registry will not
    /// answer with just those (the caller then does without them).
    pub async fn get_range(&self, url: &str, range: &str) -> Option<Vec<u8>> {
        let response = self
            .get_with(
                url,
                None,
                Purpose::SizeProbe,
                &[("Range", range.to_owned())],
            )
            .await
            .ok()?;
        if response.status() != 206 {
            return None;
        }
        let bytes = read_document(response, "blob range").await.ok()?;
        self.finish_exchange(bytes.len() as u64);
        Some(bytes)
    }

    /// GET of a blob's body, from a byte on when `range` (`bytes=N-`) is given.
    pub async fn get_blob(&self, url: &str, range: Option<String>) -> Result<Response, AppError> {
        let extra: Vec<(&str, String)> = range.map(|r| ("Range", r)).into_iter().collect();
        self.get_with(url, None, Purpose::Layer, &extra).await
    }

    async fn get_with(
        &self,
        url: &str,
        accept: Option<&str>,
        purpose: Purpose,
        extra: &[(&str, String)],
    ) -> Result<Response, AppError> {
        let call = Call {
            method: Method::Get,
            url,
            accept,
            purpose,
            extra,
            body: None,
        };
        self.authenticated(&call).await
    }

    /// Any request with the session's credential, a 401 answered as for a GET. A body (a
    /// `Blob` or bytes) can be sent again, so a retry after a token resends it.
    pub async fn send_call(&self, call: &Call<'_>) -> Result<Response, AppError> {
        self.authenticated(call).await
    }

    /// The last request's record gets the bytes it sent and its end time.
    pub fn finish_sent(&self, bytes: u64) {
        self.finish_exchange(bytes);
    }

    async fn authenticated(&self, call: &Call<'_>) -> Result<Response, AppError> {
        let Call {
            method,
            url,
            accept,
            purpose,
            extra,
            body,
        } = call;
        let (url, accept, purpose, extra) = (*url, *accept, *purpose, *extra);
        let what = purpose.label();
        self.renew_if_due().await?;
        let mut rounds = 0;
        loop {
            rounds += 1;
            let sent = self.auth.borrow().request_auth(now_ms());
            let authorization = sent
                .header()
                .filter(|_| credential_goes_to(&self.registry, url))
                .map(str::to_owned);
            let outgoing = Outgoing {
                method: *method,
                upstream: url,
                accept,
                purpose,
                authorization,
                extra,
                body: body.clone(),
            };
            // An upload that fails is not sent again blindly: the caller asks the registry
            // how much arrived and continues from there.
            let response = if body.is_some() {
                self.send(&outgoing).await?
            } else {
                self.send_with_retries(&outgoing).await?
            };
            let challenge = response.headers().get(self.route.challenge_header());
            let step = self.auth.borrow_mut().handle_response_to(
                &sent,
                response.status(),
                challenge.as_deref(),
                now_ms(),
            );
            match step {
                AuthStep::Proceed => return Ok(response),
                AuthStep::Fail(error) => return Err(auth::app_error(error, what)),
                _ if rounds > MAX_AUTH_RETRIES => return Ok(response),
                AuthStep::FetchToken(request) => self.fetch_token(request).await?,
                AuthStep::RetryRequest => {}
            }
        }
    }

    /// GET of a JSON document (manifest, config, tag list page), read whole. A body that
    /// breaks off is fetched again, with the core's backoff, like any failed request.
    pub async fn get_document(
        &self,
        url: &str,
        accept: Option<&str>,
        purpose: Purpose,
        expected_size: Option<u64>,
    ) -> Result<Document, AppError> {
        let what = purpose.label();
        let policy = RetryPolicy::default();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let response = expect_ok(self.get(url, accept, purpose).await?, what).await?;
            let headers = response.headers();
            let (content_type, digest) = (
                headers.get("content-type"),
                headers.get("docker-content-digest"),
            );
            let link = headers.get("link");
            let read = read_document(response, what)
                .await
                .and_then(|body| match expected_size {
                    // Shorter than its descriptor says: the connection broke (a chunked body that
                    // ended early looks complete).
                    Some(size) if (body.len() as u64) < size => Err(AppError::Browser(format!(
                        "reading the {what} failed: the connection broke after {} of {size} bytes",
                        body.len()
                    ))),
                    _ => Ok(body),
                });
            if let Ok(body) = &read {
                self.finish_exchange(body.len() as u64);
            }
            match read {
                Ok(body) => {
                    return Ok(Document {
                        content_type,
                        digest,
                        link,
                        body,
                    })
                }
                Err(AppError::Browser(_)) if self.signal.aborted() => {
                    return Err(AppError::Cancelled)
                }
                Err(error @ AppError::Browser(_)) => {
                    match policy.decide(attempt, Outcome::ConnectionError, now_ms()) {
                        Decision::Retry { after_ms } => {
                            sleep_ms(after_ms.min(u32::MAX as u64) as u32).await
                        }
                        _ => return Err(error),
                    }
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// A document that may not exist: `None` for a 404 (a tag nobody pushed, an API the
    /// registry does not offer), an error for any other failure.
    pub async fn get_if_found(
        &self,
        url: &str,
        accept: Option<&str>,
        purpose: Purpose,
    ) -> Result<Option<Document>, AppError> {
        let response = self.get(url, accept, purpose).await?;
        if response.status() == 404 && proxy_error_kind(&response).is_none() {
            return Ok(None);
        }
        let response = expect_ok(response, purpose.label()).await?;
        let headers = response.headers();
        let (content_type, digest, link) = (
            headers.get("content-type"),
            headers.get("docker-content-digest"),
            headers.get("link"),
        );
        let body = read_document(response, purpose.label()).await?;
        self.finish_exchange(body.len() as u64);
        Ok(Some(Document {
            content_type,
            digest,
            link,
            body,
        }))
    }

    /// The last request's body was read: its record gets the end time and size.
    fn finish_exchange(&self, bytes: u64) {
        if let Some(mut record) = self.last.borrow_mut().take() {
            record.finished_ms = Some(js_sys::Date::now());
            record.bytes = Some(bytes);
            self.report.emit(record);
        }
    }

    async fn renew_if_due(&self) -> Result<(), AppError> {
        let due = self.auth.borrow().poll_renewal(now_ms());
        match due {
            Some(request) => self.fetch_token(request).await,
            None => Ok(()),
        }
    }

    /// Asks the token service, as the session's request says (with the login as Basic, if any).
    async fn fetch_token(&self, request: TokenRequest) -> Result<(), AppError> {
        let sent_at = now_ms();
        let response = self
            .send_with_retries(&Outgoing {
                method: Method::Get,
                upstream: &request.url,
                accept: None,
                purpose: Purpose::Token,
                authorization: request.authorization.clone(),
                extra: &[],
                body: None,
            })
            .await?;
        if proxy_error_kind(&response).is_some() {
            return Err(error_for(&response, "token request").await);
        }
        let status = response.status();
        let body = if response.ok() {
            read_document(response, "token").await?
        } else {
            response.binary().await.unwrap_or_default()
        };
        self.finish_exchange(body.len() as u64);
        self.auth
            .borrow_mut()
            .handle_token_response(status, &body, sent_at)
            .map_err(|error| auth::app_error(error, "token request"))
    }

    /// Sends, retrying as the core's [`RetryPolicy`] decides: 5xx and 429 answers (waiting
    /// out a `Retry-After` of up to 30 s) and connection failures, with backoff. The last
    /// answer is returned as it is, for the caller to report.
    async fn send_with_retries(&self, outgoing: &Outgoing<'_>) -> Result<Response, AppError> {
        let policy = RetryPolicy::default();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self.send(outgoing).await;
            let outcome = match &sent {
                Ok(response) => Outcome::Status {
                    status: response.status(),
                    retry_after: response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| RetryAfter::parse(&v).ok()),
                    refused_by_proxy: proxy_error_kind(response)
                        .is_some_and(|kind| !kind.is_transient()),
                },
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

    async fn send(&self, outgoing: &Outgoing<'_>) -> Result<Response, AppError> {
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

/// A request a caller asks the session to send with its credential.
pub struct Call<'a> {
    pub method: Method,
    pub url: &'a str,
    pub accept: Option<&'a str>,
    pub purpose: Purpose,
    pub extra: &'a [(&'a str, String)],
    pub body: Option<wasm_bindgen::JsValue>,
}

/// One request as the session sends it.
struct Outgoing<'a> {
    method: Method,
    body: Option<wasm_bindgen::JsValue>,
    upstream: &'a str,
    accept: Option<&'a str>,
    /// What it fetches, for the request log and errors.
    purpose: Purpose,
    authorization: Option<String>,
    extra: &'a [(&'a str, String)],
}

/// Resolves after `ms` milliseconds.
pub async fn sleep_ms(ms: u32) {
    crate::engine::opfs::pause(ms.min(i32::MAX as u32) as i32).await;
}

fn upstream_host(url: &str) -> String {
    url.split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(url)
        .to_owned()
}

/// Fails unless the status is 2xx.
pub async fn expect_ok(response: Response, what: &str) -> Result<Response, AppError> {
    if response.ok() {
        Ok(response)
    } else {
        Err(error_for(&response, what).await)
    }
}

/// A JSON document and the headers that say what it is.
pub struct Document {
    pub content_type: Option<String>,
    /// `Docker-Content-Digest`.
    pub digest: Option<String>,
    /// `Link`, for paged lists.
    pub link: Option<String>,
    pub body: Vec<u8>,
}

/// Reads a JSON document (manifest, config, token, tag list) whole, refusing one larger than
/// [`skiff_core::image::manifest::MAX_DOCUMENT_BYTES`] before it fills memory: by its `Content-Length`
/// first, then while reading.
pub async fn read_document(response: Response, what: &'static str) -> Result<Vec<u8>, AppError> {
    let announced = response
        .headers()
        .get("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(length) = announced {
        check_document_size(what, length)?;
    }
    let Some(body) = response.body() else {
        return Ok(Vec::new());
    };
    let mut reader = super::stream::ChunkReader::new(&body);
    let mut document = Vec::new();
    while let Some(chunk) = reader.next().await.map_err(|e| {
        AppError::Browser(format!("reading the {what} failed: {}", js_error_text(&e)))
    })? {
        let size = document.len() as u64 + u64::from(chunk.length());
        if let Err(error) = check_document_size(what, size) {
            reader.cancel();
            return Err(error.into());
        }
        let start = document.len();
        document.resize(start + chunk.length() as usize, 0);
        chunk.copy_to(&mut document[start..]);
    }
    match announced {
        // A body that ends early is a connection that broke (a browser may report it as a
        // clean end).
        Some(length) if (document.len() as u64) < length => Err(AppError::Browser(format!(
            "reading the {what} failed: the connection broke after {} of {length} bytes",
            document.len()
        ))),
        _ => Ok(document),
    }
}

fn gloo_error_text(error: &gloo_net::Error) -> String {
    match error {
        gloo_net::Error::JsError(js) => js.message.clone(),
        other => other.to_string(),
    }
}

pub fn js_error(what: &str, value: &wasm_bindgen::JsValue) -> AppError {
    AppError::Browser(format!("{what}: {}", js_error_text(value)))
}
