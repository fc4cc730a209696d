//! One repository's registry authentication as a state machine, sans IO. The driver asks for
//! the `Authorization` header to send ([`AuthSession::request_auth`]), reports each answer
//! ([`AuthSession::handle_response_to`]) and each token-service answer
//! ([`AuthSession::handle_token_response`]), and polls for renewal
//! ([`AuthSession::poll_renewal`]); the session says whether to use the answer, fetch a token,
//! resend, or fail. Secrets never appear in `Debug` output or error messages.

use crate::protocol::auth::{Challenge, Scope, Token};
use crate::protocol::credential::Secret;
pub use crate::protocol::credential::{Login, SentAuth, TokenRequest};

/// How many times one request refused with `401` is sent again with a fresh credential (a new
/// token, or the login) before the refusal stands: the page's requests and the layer workers'
/// alike.
pub const MAX_AUTH_RETRIES: u32 = 2;

/// What to do with an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthStep {
    /// Not an auth problem: use the answer as it is.
    Proceed,
    /// Fetch a token with this request, hand the answer to
    /// [`AuthSession::handle_token_response`], then resend the original request.
    FetchToken(TokenRequest),
    /// The credentials changed (Basic learned, or a newer token): resend the request.
    RetryRequest,
    /// Authentication cannot succeed; report this.
    Fail(AuthError),
}

/// Why authentication failed. No variant holds a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    #[error("the registry answered 401 without a WWW-Authenticate header, so Skiff cannot tell how to log in; if a CORS proxy is in between, it must expose WWW-Authenticate")]
    MissingChallenge,
    #[error("the registry's WWW-Authenticate header cannot be used: {reason}")]
    InvalidChallenge { reason: String },
    #[error("the token realm {realm:?} is not an http(s) URL; Skiff sends no login there, so the registry's auth setup must be fixed")]
    InvalidRealm { realm: String },
    #[error("{repository} needs a login ({reason}); enter a username and a password or access token for this registry")]
    NeedsCredentials {
        repository: String,
        reason: &'static str,
    },
    #[error("{service} rejected the username or password; check them (many registries want an access token rather than the account password)")]
    BadCredentials { service: String },
    #[error("the registry refused {scope} even with your login; check that the account may pull this repository and that the name is right")]
    Denied { scope: String },
    #[error("the token service ({host}) answered {status}; try again later, or check the registry's status page")]
    TokenService { host: String, status: u16 },
    #[error("the token service's answer is unreadable ({reason}); a proxy or a login page may be answering in its place")]
    TokenMalformed { reason: String },
    #[error("the token service's answer holds no token; the registry's auth is misconfigured, or it needs a login")]
    TokenMissing,
    #[error("a token answer arrived but no Bearer challenge is known; this is a bug in the driver, which must only send token requests the session asked for")]
    UnexpectedTokenResponse,
}

#[derive(Debug)]
enum Scheme {
    /// No challenge seen yet: requests go out anonymous.
    Unknown,
    /// Tokens come from `token_url` (the realm with service and scopes).
    Bearer {
        token_url: String,
        token: Option<Token>,
    },
    /// The login as Basic on every request.
    Basic,
}

/// One registry, one repository, one pull (or push, with extra scopes).
#[derive(Debug)]
pub struct AuthSession {
    repository: String,
    scopes: Vec<Scope>,
    credentials: Option<Login>,
    scheme: Scheme,
    /// Bumped whenever the credential sent changes.
    generation: u64,
    /// The current credential was obtained to answer a 401 and no answer has accepted it yet:
    /// another 401 means it is refused, not that it is missing.
    unproven: bool,
    /// The token being fetched answers a 401 (not a renewal).
    recovering: bool,
}

impl AuthSession {
    /// Pull access to `repository`, plus `extra_scopes` (e.g. push, or a mount's source).
    pub fn new(repository: &str, extra_scopes: Vec<Scope>, credentials: Option<Login>) -> Self {
        let mut scopes = vec![Scope::pull(repository)];
        for scope in extra_scopes {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        Self {
            repository: repository.to_owned(),
            scopes,
            credentials,
            scheme: Scheme::Unknown,
            generation: 0,
            unproven: false,
            recovering: false,
        }
    }

    /// Reading the registry's list of repositories: the token asks for `registry:catalog:*`
    /// and for nothing in any repository.
    pub fn for_catalog(credentials: Option<Login>) -> Self {
        Self {
            repository: "the registry's list of repositories".to_owned(),
            scopes: vec![Scope::catalog()],
            ..Self::new("", Vec::new(), credentials)
        }
    }

    /// Also asks for `scope` in the next token (a mount's source repository, say).
    pub fn add_scope(&mut self, scope: Scope) {
        if !self.scopes.contains(&scope) {
            self.scopes.push(scope);
        }
    }

    /// The `Authorization` header value to send now, if any. A token due for renewal is still
    /// sent (it has its renewal margin left); [`AuthSession::poll_renewal`] fetches the next.
    pub fn authorization(&self, now_ms: u64) -> Option<String> {
        self.request_auth(now_ms).header.map(|h| h.0)
    }

    /// [`AuthSession::authorization`], remembered with the request so that its answer is
    /// judged against the credential it actually carried (requests run in parallel).
    pub fn request_auth(&self, _now_ms: u64) -> SentAuth {
        let header = match &self.scheme {
            Scheme::Bearer { token, .. } => token.as_ref().map(Token::authorization),
            Scheme::Basic => self.credentials.as_ref().map(Login::authorization),
            Scheme::Unknown => None,
        };
        SentAuth {
            header: header.map(Secret),
            generation: self.generation,
        }
    }

    /// An answer to a request sent with the current credential.
    pub fn handle_response(
        &mut self,
        status: u16,
        www_authenticate: Option<&str>,
        now_ms: u64,
    ) -> AuthStep {
        let sent = self.request_auth(now_ms);
        self.handle_response_to(&sent, status, www_authenticate, now_ms)
    }

    /// An answer to a request sent with `sent`.
    pub fn handle_response_to(
        &mut self,
        sent: &SentAuth,
        status: u16,
        www_authenticate: Option<&str>,
        now_ms: u64,
    ) -> AuthStep {
        self.handle_response_from(sent.generation, status, www_authenticate, now_ms)
    }

    /// An answer to a request sent with the credential of `generation` ([`SentAuth::generation`]):
    /// a 401 to an older credential than the current one asks only for a retry with the
    /// current one, never for a refusal (parallel requests see their token expire together).
    pub fn handle_response_from(
        &mut self,
        generation: u64,
        status: u16,
        www_authenticate: Option<&str>,
        now_ms: u64,
    ) -> AuthStep {
        let sent = SentAuth {
            header: None,
            generation,
        };
        if status != 401 {
            if sent.generation == self.generation {
                self.unproven = false;
            }
            return AuthStep::Proceed;
        }
        if sent.generation < self.generation {
            return AuthStep::RetryRequest;
        }
        let expired = matches!(&self.scheme, Scheme::Bearer { token: Some(t), .. } if t.needs_renewal(now_ms));
        if self.unproven && !expired {
            return AuthStep::Fail(self.refusal());
        }
        match learn(www_authenticate, &self.scopes) {
            Err(error) => AuthStep::Fail(error),
            Ok(Some(token_url)) => {
                let request = self.token_request(&token_url);
                self.scheme = Scheme::Bearer {
                    token_url,
                    token: None,
                };
                self.recovering = true;
                AuthStep::FetchToken(request)
            }
            Ok(None) if self.credentials.is_none() => {
                AuthStep::Fail(self.needs_credentials("HTTP Basic"))
            }
            Ok(None) if matches!(self.scheme, Scheme::Basic) => {
                AuthStep::Fail(AuthError::BadCredentials {
                    service: "the registry".to_owned(),
                })
            }
            Ok(None) => {
                self.scheme = Scheme::Basic;
                self.generation += 1;
                self.unproven = true;
                AuthStep::RetryRequest
            }
        }
    }

    /// The token service's answer to the last [`TokenRequest`]; `sent_at_ms` is when it was
    /// sent, which the token's lifetime counts from.
    pub fn handle_token_response(
        &mut self,
        status: u16,
        body: &[u8],
        sent_at_ms: u64,
    ) -> Result<(), AuthError> {
        let recovering = std::mem::take(&mut self.recovering);
        let Scheme::Bearer { token_url, .. } = &self.scheme else {
            return Err(AuthError::UnexpectedTokenResponse);
        };
        let host = host_of(token_url);
        match (status, &self.credentials) {
            (200..=299, _) => {}
            (401 | 403, Some(_)) => {
                return Err(AuthError::BadCredentials {
                    service: format!("the token service ({host})"),
                })
            }
            (401 | 403, None) => {
                return Err(self.needs_credentials("the token service refused an anonymous token"))
            }
            (status, _) => return Err(AuthError::TokenService { host, status }),
        }
        let new_token = Token::from_response(body, sent_at_ms).map_err(|e| match e {
            crate::Error::MalformedJson { reason, .. } => AuthError::TokenMalformed {
                reason: redact(&reason, body),
            },
            _ => AuthError::TokenMissing,
        })?;
        if let Scheme::Bearer { token, .. } = &mut self.scheme {
            *token = Some(new_token);
        }
        self.generation += 1;
        self.unproven = recovering;
        Ok(())
    }

    /// The token request to send now because the token is about to expire, if it is. Until
    /// its answer is handled, this keeps returning the request; send it once.
    pub fn poll_renewal(&self, now_ms: u64) -> Option<TokenRequest> {
        match &self.scheme {
            Scheme::Bearer {
                token_url,
                token: Some(token),
            } if token.needs_renewal(now_ms) => Some(self.token_request(token_url)),
            _ => None,
        }
    }

    fn token_request(&self, token_url: &str) -> TokenRequest {
        TokenRequest {
            url: token_url.to_owned(),
            authorization: self.credentials.as_ref().map(Login::authorization),
        }
    }

    /// A 401 right after a fresh credential.
    fn refusal(&self) -> AuthError {
        match (&self.credentials, &self.scheme) {
            (None, _) => self.needs_credentials("anonymous tokens cannot pull it"),
            (Some(_), Scheme::Basic) => AuthError::BadCredentials {
                service: "the registry".to_owned(),
            },
            (Some(_), _) => AuthError::Denied {
                scope: self
                    .scopes
                    .iter()
                    .map(Scope::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
            },
        }
    }

    fn needs_credentials(&self, reason: &'static str) -> AuthError {
        AuthError::NeedsCredentials {
            repository: self.repository.clone(),
            reason,
        }
    }
}

/// Reads a 401's `WWW-Authenticate`: `Some(token URL)` for Bearer, `None` for Basic.
fn learn(www_authenticate: Option<&str>, scopes: &[Scope]) -> Result<Option<String>, AuthError> {
    let header = www_authenticate.ok_or(AuthError::MissingChallenge)?;
    let challenge = Challenge::parse(header).map_err(|e| AuthError::InvalidChallenge {
        reason: match e {
            crate::Error::InvalidChallenge { reason, .. } => reason,
            other => other.to_string(),
        },
    })?;
    let Challenge::Bearer { realm, .. } = &challenge else {
        return Ok(None);
    };
    let lower = realm.to_ascii_lowercase();
    if !lower.starts_with("https://") && !lower.starts_with("http://") {
        return Err(AuthError::InvalidRealm {
            realm: realm.chars().take(80).collect(),
        });
    }
    let query = challenge.token_query(scopes).unwrap_or_default();
    let separator = if realm.contains('?') { '&' } else { '?' };
    Ok(Some(format!("{realm}{separator}{query}")))
}

fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    // Never repeat userinfo a realm might carry.
    authority.rsplit('@').next().unwrap_or(authority).to_owned()
}

/// A JSON error message may quote the body; any token string in it is masked.
fn redact(reason: &str, body: &[u8]) -> String {
    let mut reason: String = reason.chars().take(200).collect();
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) {
        for key in ["token", "access_token", "refresh_token"] {
            if let Some(serde_json::Value::String(secret)) = map.get(key) {
                if !secret.is_empty() {
                    reason = reason.replace(secret.as_str(), "<redacted>");
                }
            }
        }
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::auth::basic_authorization;

    const HUB: &str = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#;
    const HUB_TOKEN_URL: &str = "https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Alibrary%2Fnginx%3Apull";
    const BASIC: &str = r#"Basic realm="Registry Realm""#;
    const USER: &str = "alice-user";
    const PASSWORD: &str = "hunter2-pw";
    const SECRET: &str = "s3cr3t-token";

    fn login() -> Login {
        Login::new(USER, PASSWORD)
    }

    fn fetch(authorization: Option<String>) -> AuthStep {
        AuthStep::FetchToken(TokenRequest {
            url: HUB_TOKEN_URL.to_owned(),
            authorization,
        })
    }

    fn needs(reason: &'static str) -> AuthStep {
        AuthStep::Fail(AuthError::NeedsCredentials {
            repository: "library/nginx".to_owned(),
            reason,
        })
    }

    /// One event fed to the session and what must come out.
    enum Ev {
        /// An answer (status, WWW-Authenticate) and the step expected.
        Resp(u16, Option<&'static str>, AuthStep),
        /// A token-service answer and the variant name of the expected result (`Ok` for Ok).
        Token(u16, &'static str, &'static str),
        /// The `Authorization` header expected now.
        Header(Option<String>),
    }
    use Ev::{Header, Resp, Token as Tok};

    fn run(name: &str, credentials: Option<Login>, events: Vec<Ev>) {
        let mut session = AuthSession::new("library/nginx", Vec::new(), credentials);
        for (i, event) in events.into_iter().enumerate() {
            match event {
                Resp(status, header, expected) => {
                    let step = session.handle_response(status, header, 0);
                    assert_eq!(step, expected, "{name}, event {i}");
                }
                Tok(status, body, expected) => {
                    let result = session.handle_token_response(status, body.as_bytes(), 0);
                    let got = format!("{result:?}");
                    let got = got.trim_start_matches("Err(");
                    assert!(got.starts_with(expected), "{name}, event {i}: {got}");
                }
                Header(expected) => {
                    assert_eq!(session.authorization(0), expected, "{name}, event {i}")
                }
            }
        }
    }

    #[test]
    fn flows() {
        let bearer = |t: &str| Header(Some(format!("Bearer {t}")));
        let basic = || Some(basic_authorization(USER, PASSWORD));
        let token = |t: &'static str| Tok(200, t, "Ok");
        let t1 = r#"{"token":"t1","expires_in":300}"#;
        let t2 = r#"{"access_token":"t2","expires_in":300}"#;
        let table: Vec<(&str, Option<Login>, Vec<Ev>)> = vec![
            (
                "anonymous bearer, re-auth mid-pull, then refused",
                None,
                vec![
                    Header(None),
                    Resp(200, None, AuthStep::Proceed),
                    Resp(401, Some(HUB), fetch(None)),
                    Header(None),
                    token(t1),
                    bearer("t1"),
                    Resp(200, None, AuthStep::Proceed),
                    Resp(401, Some(HUB), fetch(None)),
                    token(t2),
                    bearer("t2"),
                    Resp(401, Some(HUB), needs("anonymous tokens cannot pull it")),
                ],
            ),
            (
                "login bearer denied",
                Some(login()),
                vec![
                    Resp(401, Some(HUB), fetch(basic())),
                    token(t1),
                    Resp(
                        401,
                        Some(HUB),
                        AuthStep::Fail(AuthError::Denied {
                            scope: "repository:library/nginx:pull".into(),
                        }),
                    ),
                ],
            ),
            (
                "login rejected by the token service",
                Some(login()),
                vec![
                    Resp(401, Some(HUB), fetch(basic())),
                    Tok(401, "", "BadCredentials"),
                    Header(None),
                ],
            ),
            (
                "anonymous refused by the token service",
                None,
                vec![
                    Resp(401, Some(HUB), fetch(None)),
                    Tok(403, "", "NeedsCredentials"),
                ],
            ),
            (
                "token service down",
                None,
                vec![
                    Resp(401, Some(HUB), fetch(None)),
                    Tok(
                        503,
                        "",
                        "TokenService { host: \"auth.docker.io\", status: 503 }",
                    ),
                ],
            ),
            (
                "token service answers html",
                None,
                vec![
                    Resp(401, Some(HUB), fetch(None)),
                    Tok(200, "<html>", "TokenMalformed"),
                ],
            ),
            (
                "token service answers no token",
                None,
                vec![
                    Resp(401, Some(HUB), fetch(None)),
                    Tok(200, r#"{"token":""}"#, "TokenMissing"),
                ],
            ),
            (
                "token before any challenge",
                None,
                vec![Tok(200, r#"{"token":"x"}"#, "UnexpectedTokenResponse")],
            ),
            (
                "basic without login",
                None,
                vec![Resp(401, Some(BASIC), needs("HTTP Basic"))],
            ),
            (
                "basic with a bad login",
                Some(login()),
                vec![
                    Header(None),
                    Resp(401, Some(BASIC), AuthStep::RetryRequest),
                    Header(basic()),
                    Resp(
                        401,
                        Some(BASIC),
                        AuthStep::Fail(AuthError::BadCredentials {
                            service: "the registry".into(),
                        }),
                    ),
                ],
            ),
            (
                "basic login revoked mid-pull",
                Some(login()),
                vec![
                    Resp(401, Some("Basic"), AuthStep::RetryRequest),
                    Resp(200, None, AuthStep::Proceed),
                    Resp(
                        401,
                        Some("Basic"),
                        AuthStep::Fail(AuthError::BadCredentials {
                            service: "the registry".into(),
                        }),
                    ),
                ],
            ),
            (
                "other statuses are not auth's business",
                None,
                vec![
                    Resp(403, None, AuthStep::Proceed),
                    Resp(404, Some(HUB), AuthStep::Proceed),
                    Resp(500, None, AuthStep::Proceed),
                    Resp(429, None, AuthStep::Proceed),
                ],
            ),
            (
                "401 without a challenge",
                None,
                vec![Resp(401, None, AuthStep::Fail(AuthError::MissingChallenge))],
            ),
        ];
        for (name, credentials, events) in table {
            run(name, credentials, events);
        }
    }

    #[test]
    fn hostile_challenges_fail_with_typed_errors() {
        let huge = format!("Bearer realm=\"{}", "a".repeat(100_000));
        let many = "Bearer ".repeat(50_000);
        let table: Vec<(&str, &str)> = vec![
            ("", "InvalidChallenge"),
            ("Negotiate abc", "InvalidChallenge"),
            ("Bearer service=\"x\"", "InvalidChallenge"),
            ("Bearer realm=", "InvalidRealm"),
            ("=== ,,, \u{0}", "InvalidChallenge"),
            ("Bearer realm=\"\u{1F600}\"", "InvalidRealm"),
            (&huge, "InvalidChallenge"),
            (&many, "InvalidChallenge"),
            (r#"Bearer realm="javascript:alert(1)""#, "InvalidRealm"),
            (r#"Bearer realm="file:///etc/passwd""#, "InvalidRealm"),
            (r#"Bearer realm="/token""#, "InvalidRealm"),
        ];
        for (header, expected) in table {
            let mut session = AuthSession::new("a/b", Vec::new(), Some(login()));
            match session.handle_response(401, Some(header), 0) {
                AuthStep::Fail(error) => {
                    assert!(format!("{error:?}").starts_with(expected), "{error:?}");
                    assert!(
                        error.to_string().len() < 600,
                        "the message repeats the header"
                    );
                }
                other => panic!("{:.80}: {other:?}", header),
            }
        }
    }

    #[test]
    fn builds_token_urls_with_all_scopes() {
        let push = Scope {
            resource_type: "repository".into(),
            name: "a/b".into(),
            actions: vec!["pull".into(), "push".into()],
        };
        let mut session = AuthSession::new("a/b", vec![push, Scope::pull("a/b")], None);
        let step = session.handle_response(
            401,
            Some(r#"Bearer realm="https://r.io/token?x=1",service="r.io""#),
            0,
        );
        assert_eq!(
            step,
            AuthStep::FetchToken(TokenRequest {
                url: "https://r.io/token?x=1&service=r.io&scope=repository%3Aa%2Fb%3Apull&scope=repository%3Aa%2Fb%3Apull%2Cpush".into(),
                authorization: None,
            })
        );
    }

    #[test]
    fn a_catalog_session_asks_for_the_catalog_only() {
        let mut session = AuthSession::for_catalog(None);
        let step = session.handle_response(
            401,
            Some(r#"Bearer realm="https://r.io/token",service="r.io",scope="registry:catalog:*""#),
            0,
        );
        assert_eq!(
            step,
            AuthStep::FetchToken(TokenRequest {
                url: "https://r.io/token?service=r.io&scope=registry%3Acatalog%3A%2A".into(),
                authorization: None,
            })
        );
    }

    #[test]
    fn renews_before_expiry_and_a_renewed_token_may_be_refreshed() {
        let mut session = AuthSession::new("library/nginx", Vec::new(), None);
        assert_eq!(session.poll_renewal(u64::MAX), None);
        session.handle_response(401, Some(HUB), 1_000);
        assert_eq!(session.poll_renewal(1_000), None, "no token yet");
        session
            .handle_token_response(200, br#"{"token":"t1","expires_in":300}"#, 1_000)
            .unwrap();
        let table = [
            (1_000, false),
            (295_999, false),
            (296_000, true),
            (u64::MAX, true),
        ];
        for (now, due) in table {
            let renewal = session.poll_renewal(now);
            assert_eq!(renewal.is_some(), due, "{now}");
            if let Some(request) = renewal {
                assert_eq!(request.url, HUB_TOKEN_URL);
            }
        }
        assert_eq!(session.handle_response(200, None, 2_000), AuthStep::Proceed);
        session
            .handle_token_response(200, br#"{"token":"t2","expires_in":300}"#, 296_000)
            .unwrap();
        assert_eq!(session.authorization(296_001).as_deref(), Some("Bearer t2"));
        // A renewal answers no 401, so a 401 after it is worth one more token.
        assert_eq!(
            session.handle_response(401, Some(HUB), 296_002),
            fetch(None)
        );
    }

    #[test]
    fn an_expired_fresh_token_is_fetched_again_not_refused() {
        let mut session = AuthSession::new("library/nginx", Vec::new(), None);
        session.handle_response(401, Some(HUB), 0);
        session
            .handle_token_response(200, br#"{"token":"t","expires_in":4}"#, 0)
            .unwrap();
        assert_eq!(session.handle_response(401, Some(HUB), 2_000), fetch(None));
    }

    #[test]
    fn workers_report_a_401_by_the_generation_they_were_given() {
        let mut session = AuthSession::new("library/nginx", Vec::new(), None);
        session.handle_response(401, Some(HUB), 0);
        session
            .handle_token_response(200, br#"{"token":"t1","expires_in":300}"#, 0)
            .unwrap();
        let given = session.request_auth(0).generation();
        assert_eq!(
            session.handle_response_from(given, 200, None, 0),
            AuthStep::Proceed
        );
        // Four workers' tokens die together: the first 401 fetches a token…
        assert!(matches!(
            session.handle_response_from(given, 401, Some(HUB), 1_000),
            AuthStep::FetchToken(_)
        ));
        session
            .handle_token_response(200, br#"{"token":"t2","expires_in":300}"#, 1_000)
            .unwrap();
        // …the others, reporting the older credential, just get the new one.
        for _ in 0..3 {
            assert_eq!(
                session.handle_response_from(given, 401, Some(HUB), 1_100),
                AuthStep::RetryRequest
            );
        }
        assert!(session.request_auth(1_100).generation() > given);
    }

    #[test]
    fn parallel_requests_with_an_old_credential_are_resent() {
        let mut session = AuthSession::new("library/nginx", Vec::new(), Some(login()));
        let a = session.request_auth(0);
        let b = session.request_auth(0);
        assert_eq!(a.header(), None);
        assert!(matches!(
            session.handle_response_to(&a, 401, Some(HUB), 0),
            AuthStep::FetchToken(_)
        ));
        session
            .handle_token_response(200, br#"{"token":"t1"}"#, 0)
            .unwrap();
        // b carried the old (no) credential: resend it, no new token and no failure.
        assert_eq!(
            session.handle_response_to(&b, 401, Some(HUB), 0),
            AuthStep::RetryRequest
        );
        let a2 = session.request_auth(0);
        assert_eq!(a2.header(), Some("Bearer t1"));
        // A stale success does not prove the new token; a current one does.
        assert_eq!(
            session.handle_response_to(&b, 200, None, 0),
            AuthStep::Proceed
        );
        assert_eq!(
            session.handle_response_to(&a2, 200, None, 0),
            AuthStep::Proceed
        );
        assert!(matches!(
            session.handle_response_to(&a2, 401, Some(HUB), 0),
            AuthStep::FetchToken(_)
        ));
    }

    #[test]
    fn secrets_stay_out_of_debug_and_errors() {
        let mut session = AuthSession::new("library/nginx", Vec::new(), Some(login()));
        let mut printed = vec![format!("{:?}", login())];
        let step = session.handle_response(401, Some(HUB), 0);
        printed.push(format!("{step:?}"));
        let body = format!(r#"{{"token":"{SECRET}","expires_in":"{SECRET}"}}"#);
        let error = session
            .handle_token_response(200, body.as_bytes(), 0)
            .unwrap_err();
        assert!(
            matches!(error, AuthError::TokenMalformed { .. }),
            "{error:?}"
        );
        printed.push(format!("{error:?} {error}"));
        let body = format!(r#"{{"token":"{SECRET}"}}"#);
        session.handle_response(401, Some(HUB), 0);
        session
            .handle_token_response(200, body.as_bytes(), 0)
            .unwrap();
        printed.push(format!("{session:?} {:?}", session.request_auth(0)));
        let step = session.handle_response(401, Some(HUB), 0);
        printed.push(format!("{step:?}"));
        if let AuthStep::Fail(error) = step {
            printed.push(error.to_string());
        }
        let step = AuthStep::FetchToken(session.poll_renewal(u64::MAX).unwrap());
        printed.push(format!("{step:?}"));
        let basic = basic_authorization(USER, PASSWORD);
        for text in printed {
            for secret in [USER, PASSWORD, SECRET, basic.as_str(), &basic[6..]] {
                assert!(!text.contains(secret), "{secret} leaked in {text}");
            }
        }
        assert_eq!(login().username(), USER);
    }
}
