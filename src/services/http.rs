//! Talking to a registry from the browser: every request goes through the [`Route`] (the CORS
//! proxy, or direct), answers auth challenges (Bearer tokens, anonymous or with credentials, and
//! plain Basic), renews tokens before they expire, and turns registry error answers into
//! [`AppError`]s. Each request is reported as an [`Exchange`], which never holds a secret.

use std::cell::RefCell;

use gloo_net::http::{Request, Response};
use skiff_core::auth::{basic_authorization, Challenge, Scope, Token};
use skiff_core::manifest::check_document_size;
use skiff_core::proxy_protocol::{ProxyErrorKind, PROXY_ERROR_HEADER, REDIRECTED_TO_HEADER};
use skiff_core::registry::Route;
use skiff_core::retry::{Decision, Outcome, RetryAfter, RetryPolicy};
use skiff_core::Reference;

use crate::engine::protocol::HttpFacts;
use web_sys::AbortSignal;
use yew::Callback;

use crate::error::{js_error_text, AppError};
use crate::state::{Credentials, Exchange};

enum Auth {
    /// No challenge seen yet.
    None,
    Bearer {
        challenge: Challenge,
        token: Option<Token>,
    },
    /// `Basic …` sent with every request.
    Basic(String),
}

/// One registry, one repository, one pull.
pub struct RegistrySession {
    route: Route,
    repository: String,
    credentials: Option<Credentials>,
    auth: RefCell<Auth>,
    signal: AbortSignal,
    report: Callback<Exchange>,
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
        Self {
            route,
            repository: reference.repository().to_owned(),
            credentials: credentials.filter(|c| c.belong_to(reference.registry())),
            auth: RefCell::new(Auth::None),
            signal,
            report,
        }
    }

    /// How this session's requests reach the registry (through the proxy, or directly).
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// The `Authorization` to send the registry now, renewing a token that is due first.
    pub async fn fresh_authorization(&self) -> Result<Option<String>, AppError> {
        self.renew_token_if_due().await?;
        Ok(self.authorization())
    }

    /// After a 401 elsewhere (a layer worker's): a new token, and the header to send.
    pub async fn reauthorize(&self) -> Result<Option<String>, AppError> {
        if matches!(&*self.auth.borrow(), Auth::Bearer { .. }) {
            self.fetch_token().await?;
        }
        Ok(self.authorization())
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

    /// `GET /v2/`: checks the registry speaks the API and learns its auth challenge early.
    pub async fn ping(&self, url: &str) -> Result<(), AppError> {
        let response = self
            .send_with_retries(url, None, "version check", self.authorization(), &[])
            .await?;
        match response.status() {
            200 => Ok(()),
            401 => self.learn_challenge(&response, "version check"),
            _ => Err(error_for(&response, "version check (/v2/)").await),
        }
    }

    /// GET with authentication; a `401` triggers one (re-)authentication and one retry. The
    /// response is returned whatever its status; use [`expect_ok`] for the usual check.
    pub async fn get(
        &self,
        url: &str,
        accept: Option<&str>,
        what: &str,
    ) -> Result<Response, AppError> {
        self.get_with(url, accept, what, &[]).await
    }

    /// [`RegistrySession::get`] with extra request headers (e.g. `Range`).
    pub async fn get_with(
        &self,
        url: &str,
        accept: Option<&str>,
        what: &str,
        extra: &[(&str, String)],
    ) -> Result<Response, AppError> {
        self.renew_token_if_due().await?;
        let response = self
            .send_with_retries(url, accept, what, self.authorization(), extra)
            .await?;
        if response.status() != 401 {
            return Ok(response);
        }
        self.learn_challenge(&response, what)?;
        self.fetch_token().await?;
        let response = self
            .send_with_retries(url, accept, what, self.authorization(), extra)
            .await?;
        if response.status() != 401 {
            return Ok(response);
        }
        Err(match (&self.credentials, &*self.auth.borrow()) {
            (None, _) => AppError::NeedsCredentials {
                what: what.to_owned(),
                scheme: "anonymous tokens cannot pull this repository".to_owned(),
            },
            (Some(_), Auth::Basic(_)) => AppError::BadCredentials {
                service: "the registry".to_owned(),
            },
            (Some(_), _) => AppError::Denied {
                what: format!("{what} (with your credentials)"),
                status: 401,
                code: String::new(),
            },
        })
    }

    /// GET of a JSON document (manifest, config, tag list page), read whole. A body that
    /// breaks off is fetched again, with the core's backoff, like any failed request.
    pub async fn get_document(
        &self,
        url: &str,
        accept: Option<&str>,
        what: &'static str,
        expected_size: Option<u64>,
    ) -> Result<Document, AppError> {
        let policy = RetryPolicy::default();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let response = expect_ok(self.get(url, accept, what).await?, what).await?;
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

    /// GET of a URL outside the registry (a foreign layer's): no registry credentials go along.
    pub async fn get_foreign(
        &self,
        url: &str,
        what: &str,
        extra: &[(&str, String)],
    ) -> Result<Response, AppError> {
        self.send_with_retries(url, None, &format!("{what} from its URL"), None, extra)
            .await
    }

    async fn renew_token_if_due(&self) -> Result<(), AppError> {
        let due = matches!(
            &*self.auth.borrow(),
            Auth::Bearer { token: Some(token), .. } if token.needs_renewal(now_ms())
        );
        if due {
            self.fetch_token().await?;
        }
        Ok(())
    }

    fn learn_challenge(&self, response: &Response, what: &str) -> Result<(), AppError> {
        let header = response
            .headers()
            .get("www-authenticate")
            .ok_or_else(|| AppError::Http {
                what: what.to_owned(),
                status: 401,
                code: String::new(),
                hint: "The registry refused without saying how to authenticate (no WWW-Authenticate header; a proxy that does not expose it?).".to_owned(),
            })?;
        let auth = match Challenge::parse(&header)? {
            challenge @ Challenge::Bearer { .. } => Auth::Bearer {
                challenge,
                token: None,
            },
            Challenge::Basic { .. } => match &self.credentials {
                Some(c) => Auth::Basic(basic_authorization(&c.username, &c.password)),
                None => {
                    return Err(AppError::NeedsCredentials {
                        what: what.to_owned(),
                        scheme: "HTTP Basic".to_owned(),
                    })
                }
            },
            _ => {
                return Err(AppError::NeedsCredentials {
                    what: what.to_owned(),
                    scheme: header,
                })
            }
        };
        *self.auth.borrow_mut() = auth;
        Ok(())
    }

    /// Asks the challenge's realm for a token, with the user's credentials as Basic if given.
    async fn fetch_token(&self) -> Result<(), AppError> {
        // Copy what is needed out of the RefCell: no borrow may live across an await.
        let url = {
            let auth = self.auth.borrow();
            let Auth::Bearer { challenge, .. } = &*auth else {
                return Ok(());
            };
            let Challenge::Bearer { realm, .. } = challenge else {
                return Ok(());
            };
            let query = challenge
                .token_query(&[Scope::pull(&self.repository)])
                .unwrap_or_default();
            let separator = if realm.contains('?') { '&' } else { '?' };
            format!("{realm}{separator}{query}")
        };
        let login = self
            .credentials
            .as_ref()
            .map(|c| basic_authorization(&c.username, &c.password));
        let sent_at = now_ms();
        let response = self
            .send_with_retries(&url, None, "token", login, &[])
            .await?;
        if !response.ok() {
            return Err(match (response.status(), &self.credentials) {
                (401 | 403, Some(_)) => AppError::BadCredentials {
                    service: format!("the token service ({})", upstream_host(&url)),
                },
                _ => error_for(&response, "token request").await,
            });
        }
        let body = read_document(response, "token").await?;
        let token = Token::from_response(&body, sent_at)?;
        if let Auth::Bearer { token: slot, .. } = &mut *self.auth.borrow_mut() {
            *slot = Some(token);
        }
        Ok(())
    }

    fn authorization(&self) -> Option<String> {
        match &*self.auth.borrow() {
            Auth::Bearer {
                token: Some(token), ..
            } => Some(token.authorization()),
            Auth::Basic(header) => Some(header.clone()),
            _ => None,
        }
    }

    /// Sends, retrying as the core's [`RetryPolicy`] decides: 5xx and 429 answers (waiting
    /// out a `Retry-After` of up to 30 s) and connection failures, with backoff. The last
    /// answer is returned as it is, for the caller to report.
    async fn send_with_retries(
        &self,
        upstream: &str,
        accept: Option<&str>,
        what: &str,
        authorization: Option<String>,
        extra: &[(&str, String)],
    ) -> Result<Response, AppError> {
        let policy = RetryPolicy::default();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self
                .send(upstream, accept, what, authorization.clone(), extra)
                .await;
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

    async fn send(
        &self,
        upstream: &str,
        accept: Option<&str>,
        what: &str,
        authorization: Option<String>,
        extra: &[(&str, String)],
    ) -> Result<Response, AppError> {
        // Never the browser's HTTP cache: a body that ended early would be kept as complete,
        // and a tag's manifest goes stale. (`no-store` also keeps secrets off the disk.)
        let mut request = Request::get(&self.route.url(upstream))
            .abort_signal(Some(&self.signal))
            .cache(web_sys::RequestCache::NoStore);
        for (name, value) in extra {
            request = request.header(name, value);
        }
        if let Some(accept) = accept {
            request = request.header("Accept", accept);
        }
        if let Some(authorization) = &authorization {
            request = request.header("Authorization", authorization);
        }
        let result = request.send().await;
        let (status, mut note) = match &result {
            Ok(response) => {
                let mut note = what.to_owned();
                if let Some(host) = response.headers().get(REDIRECTED_TO_HEADER) {
                    note.push_str(&format!(", served by {host} after a redirect"));
                }
                (Some(response.status()), note)
            }
            Err(_) => (None, format!("{what}: no answer")),
        };
        if authorization.is_some() {
            // Say that credentials went along, never what they were.
            let kind = if what == "token" {
                "with your login"
            } else {
                "authenticated"
            };
            note.push_str(&format!(" ({kind})"));
        }
        self.report.emit(Exchange {
            method: "GET",
            url: upstream.to_owned(),
            status,
            note,
        });
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

/// A JSON document and the headers that say what it is.
pub struct Document {
    pub content_type: Option<String>,
    /// `Docker-Content-Digest`.
    pub digest: Option<String>,
    /// `Link`, for paged lists.
    pub link: Option<String>,
    pub body: Vec<u8>,
}

/// Resolves after `ms` milliseconds.
pub async fn sleep_ms(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ =
                window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
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
fn proxy_error_kind(response: &Response) -> Option<ProxyErrorKind> {
    let header = response.headers().get(PROXY_ERROR_HEADER)?;
    Some(header.parse().unwrap_or(ProxyErrorKind::HostNotAllowed))
}

/// Reads a JSON document (manifest, config, token, tag list) whole, refusing one larger than
/// [`skiff_core::manifest::MAX_DOCUMENT_BYTES`] before it fills memory: by its `Content-Length`
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

fn gloo_error_text(error: &gloo_net::Error) -> String {
    match error {
        gloo_net::Error::JsError(js) => js.message.clone(),
        other => other.to_string(),
    }
}

pub fn js_error(what: &str, value: &wasm_bindgen::JsValue) -> AppError {
    AppError::Browser(format!("{what}: {}", js_error_text(value)))
}
