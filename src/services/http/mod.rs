//! Talking to a registry from the browser. Every request goes through the [`Route`] (the CORS
//! proxy, or direct) and is reported as an [`Exchange`], which never holds a secret. What to do
//! about auth (challenges, tokens, renewal, a 401 mid-pull) is decided by the core's
//! [`AuthSession`]; retries by its [`RetryPolicy`]. This module only sends requests and
//! hands their answers to those.

mod auth;
mod documents;
mod errors;
mod send;

use std::cell::{Cell, RefCell};

use gloo_net::http::Response;
use skiff_core::explorer::exchange::{Exchange, Method, Purpose};
use skiff_core::protocol::auth::Scope;
use skiff_core::protocol::registry::{credential_goes_to, Route};
use skiff_core::protocol::session::{AuthSession, AuthStep, TokenRequest, MAX_AUTH_RETRIES};
use skiff_core::Reference;
use web_sys::AbortSignal;
use yew::Callback;

pub use documents::{expect_ok, read_document, Document};
use errors::proxy_error_kind;
pub use errors::{error_for, error_from_facts};
use send::Outgoing;

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

    /// Reading `registry`'s list of repositories (`registry:catalog:*`), with credentials only
    /// if they belong to `registry`.
    pub fn for_catalog(
        route: Route,
        registry: &str,
        credentials: Option<Credentials>,
        signal: AbortSignal,
        report: Callback<Exchange>,
    ) -> Self {
        let login = credentials
            .filter(|c| c.belong_to(registry))
            .map(|c| auth::login(&c));
        Self {
            route,
            registry: registry.to_owned(),
            auth: RefCell::new(AuthSession::for_catalog(login)),
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

    /// One GET of a blob's body (from a byte on when `range`, `bytes=N-`, is given) with the
    /// credential `auth`, as a layer worker sends it: neither retried nor re-authorized here,
    /// since the caller's core state machine decides what follows the answer.
    pub async fn get_blob_once(
        &self,
        url: &str,
        range: Option<String>,
        auth: Option<&JobAuth>,
    ) -> Result<Response, AppError> {
        let extra: Vec<(&str, String)> = range.map(|r| ("Range", r)).into_iter().collect();
        let authorization = auth
            .filter(|_| credential_goes_to(&self.registry, url))
            .map(|a| a.header.clone());
        self.send(&Outgoing {
            method: Method::Get,
            upstream: url,
            accept: None,
            purpose: Purpose::Layer,
            authorization,
            extra: &extra,
            body: None,
        })
        .await
    }

    /// The header a registry's challenge arrives in through this route.
    pub fn challenge(&self, response: &Response) -> Option<String> {
        response.headers().get(self.route.challenge_header())
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

/// Resolves after `ms` milliseconds.
pub async fn sleep_ms(ms: u32) {
    crate::engine::opfs::pause(ms.min(i32::MAX as u32) as i32).await;
}

pub fn js_error(what: &str, value: &wasm_bindgen::JsValue) -> AppError {
    AppError::Browser(format!("{what}: {}", js_error_text(value)))
}
