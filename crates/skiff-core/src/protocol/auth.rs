//! Registry authentication, sans IO: parse the `WWW-Authenticate` challenge of a `401`, build the
//! token request's query, read the token service's answer, and tell when a token needs renewing.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::Error;

/// One challenge from a `WWW-Authenticate` header.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Challenge {
    /// Token auth (Docker Hub, GHCR, Quay, …): fetch a token from `realm`.
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
        /// `insufficient_scope`, `invalid_token`, … when a token was refused.
        error: Option<String>,
    },
    /// Plain HTTP Basic on every request (htpasswd registries).
    Basic { realm: Option<String> },
}

impl Challenge {
    /// Parses a whole `WWW-Authenticate` value, which may hold several challenges, and returns
    /// the one Skiff prefers (Bearer over Basic).
    pub fn parse(header: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidChallenge {
            header: header.to_owned(),
            reason: reason.to_owned(),
        };
        let challenges = parse_challenges(header).map_err(|reason| invalid(&reason))?;
        let mut basic = None;
        for (scheme, mut params) in challenges {
            match scheme.to_ascii_lowercase().as_str() {
                "bearer" => {
                    let realm = params
                        .remove("realm")
                        .ok_or_else(|| invalid("the Bearer challenge has no realm"))?;
                    return Ok(Self::Bearer {
                        realm,
                        service: params.remove("service"),
                        scope: params.remove("scope"),
                        error: params.remove("error"),
                    });
                }
                "basic" => {
                    basic = Some(Self::Basic {
                        realm: params.remove("realm"),
                    })
                }
                _ => {}
            }
        }
        basic.ok_or_else(|| {
            invalid("no Bearer or Basic challenge; Skiff cannot authenticate to this registry")
        })
    }

    /// The token request's query string for a Bearer challenge: `service=…&scope=…`. Scopes the
    /// challenge named come first, then `extra_scopes` not already present.
    pub fn token_query(&self, extra_scopes: &[Scope]) -> Option<String> {
        let Self::Bearer { service, scope, .. } = self else {
            return None;
        };
        let mut pairs = Vec::new();
        if let Some(service) = service {
            pairs.push(format!("service={}", percent_encode(service)));
        }
        let mut scopes: Vec<String> = scope
            .iter()
            .flat_map(|s| s.split(' '))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        for extra in extra_scopes {
            let extra = extra.to_string();
            if !scopes.contains(&extra) {
                scopes.push(extra);
            }
        }
        for scope in scopes {
            pairs.push(format!("scope={}", percent_encode(&scope)));
        }
        Some(pairs.join("&"))
    }
}

type Params = BTreeMap<String, String>;

/// RFC 7235 challenges: `scheme param=value, param="quoted", Other x=y`.
fn parse_challenges(header: &str) -> Result<Vec<(String, Params)>, String> {
    let bytes = header.as_bytes();
    let mut i = 0;
    let mut challenges: Vec<(String, Params)> = Vec::new();
    let is_token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/".contains(&b);
    let skip_ws = |i: &mut usize| {
        while *i < bytes.len() && (bytes[*i] == b' ' || bytes[*i] == b'\t' || bytes[*i] == b',') {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i >= bytes.len() {
            break;
        }
        let start = i;
        while i < bytes.len() && is_token(bytes[i]) {
            i += 1;
        }
        if i == start {
            return Err(format!("unexpected character at position {i}"));
        }
        let word = &header[start..i];
        let mut j = i;
        while j < bytes.len() && bytes[j] == b' ' {
            j += 1;
        }
        if j < bytes.len() && bytes[j] == b'=' && !challenges.is_empty() {
            // A parameter of the current challenge.
            i = j + 1;
            while i < bytes.len() && bytes[i] == b' ' {
                i += 1;
            }
            let value = if i < bytes.len() && bytes[i] == b'"' {
                i += 1;
                let mut value = String::new();
                loop {
                    match bytes.get(i) {
                        None => return Err("a quoted value is not closed".to_owned()),
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') if i + 1 < bytes.len() => {
                            // Escapes are ASCII; push the next whole char.
                            let c = header[i + 1..].chars().next().unwrap_or('\\');
                            value.push(c);
                            i += 1 + c.len_utf8();
                        }
                        Some(_) => {
                            let c = header[i..].chars().next().unwrap_or('?');
                            value.push(c);
                            i += c.len_utf8();
                        }
                    }
                }
                value
            } else {
                let value_start = i;
                while i < bytes.len() && is_token(bytes[i]) || (i < bytes.len() && bytes[i] == b'=')
                {
                    i += 1;
                }
                header[value_start..i].to_owned()
            };
            let params = &mut challenges.last_mut().expect("checked non-empty").1;
            params.insert(word.to_ascii_lowercase(), value);
        } else {
            challenges.push((word.to_owned(), Params::new()));
        }
    }
    if challenges.is_empty() {
        return Err("the header is empty".to_owned());
    }
    Ok(challenges)
}

fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A token scope: `repository:library/nginx:pull`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub resource_type: String,
    pub name: String,
    pub actions: Vec<String>,
}

impl Scope {
    /// Pull access to one repository.
    pub fn pull(repository: &str) -> Self {
        Self {
            resource_type: "repository".to_owned(),
            name: repository.to_owned(),
            actions: vec!["pull".to_owned()],
        }
    }
}

impl Scope {
    /// Reading the registry's list of repositories (`/v2/_catalog`).
    pub fn catalog() -> Self {
        Self {
            resource_type: "registry".to_owned(),
            name: "catalog".to_owned(),
            actions: vec!["*".to_owned()],
        }
    }

    /// Push (and pull) access to one repository.
    pub fn push(repository: &str) -> Self {
        Self {
            actions: vec!["pull".to_owned(), "push".to_owned()],
            ..Self::pull(repository)
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.resource_type,
            self.name,
            self.actions.join(",")
        )
    }
}

/// The token service's JSON answer.
#[derive(Clone, Debug, Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

/// A bearer token and when to stop using it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    value: String,
    /// Milliseconds since the Unix epoch after which the token is treated as expired.
    renew_after_ms: u64,
}

/// Per the distribution token spec, a missing `expires_in` means 60 seconds.
const DEFAULT_TOKEN_LIFETIME_S: u64 = 60;
/// Renew this long before the stated expiry so a request does not race it.
const RENEW_MARGIN_MS: u64 = 5_000;

impl Token {
    /// Reads the token service's body. `now_ms` is the time the request was sent.
    pub fn from_response(body: &[u8], now_ms: u64) -> Result<Self, Error> {
        let response: TokenResponse =
            serde_json::from_slice(body).map_err(|e| Error::MalformedJson {
                what: "token response",
                reason: e.to_string(),
            })?;
        let value = response
            .token
            .filter(|t| !t.is_empty())
            .or(response.access_token.filter(|t| !t.is_empty()))
            .ok_or(Error::TokenMissing)?;
        let lifetime_ms = response.expires_in.unwrap_or(DEFAULT_TOKEN_LIFETIME_S) * 1000;
        Ok(Self {
            value,
            renew_after_ms: now_ms
                + lifetime_ms.saturating_sub(RENEW_MARGIN_MS.min(lifetime_ms / 2)),
        })
    }

    /// The `Authorization` header value.
    pub fn authorization(&self) -> String {
        format!("Bearer {}", self.value)
    }

    pub fn needs_renewal(&self, now_ms: u64) -> bool {
        now_ms >= self.renew_after_ms
    }
}

impl std::fmt::Debug for Token {
    // Never print the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("value", &"<redacted>")
            .field("renew_after_ms", &self.renew_after_ms)
            .finish()
    }
}

/// `Basic <base64(user:password)>`.
pub fn basic_authorization(username: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64(format!("{username}:{password}").as_bytes())
    )
}

pub(crate) fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_hub_bearer() {
        let header = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#;
        assert_eq!(
            Challenge::parse(header).unwrap(),
            Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/nginx:pull".into()),
                error: None,
            }
        );
    }

    #[test]
    fn parses_bearer_with_spaces_escapes_and_error() {
        let header = r#"bearer realm = "https://r.io/t\"x\"" , service=r.io, error="insufficient_scope", scope="repository:a:pull repository:b:pull""#;
        let challenge = Challenge::parse(header).unwrap();
        assert_eq!(
            challenge,
            Challenge::Bearer {
                realm: r#"https://r.io/t"x""#.into(),
                service: Some("r.io".into()),
                scope: Some("repository:a:pull repository:b:pull".into()),
                error: Some("insufficient_scope".into()),
            }
        );
        assert_eq!(
            challenge.token_query(&[Scope::pull("b"), Scope::pull("c/d")]).unwrap(),
            "service=r.io&scope=repository%3Aa%3Apull&scope=repository%3Ab%3Apull&scope=repository%3Ac%2Fd%3Apull"
        );
    }

    #[test]
    fn parses_basic_and_prefers_bearer() {
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#).unwrap(),
            Challenge::Basic {
                realm: Some("Registry Realm".into())
            }
        );
        assert_eq!(
            Challenge::parse("Basic").unwrap(),
            Challenge::Basic { realm: None }
        );
        let both = r#"Basic realm="x", Bearer realm="https://a/token",service="s""#;
        assert!(matches!(
            Challenge::parse(both).unwrap(),
            Challenge::Bearer { .. }
        ));
    }

    #[test]
    fn rejects_useless_challenges() {
        for header in [
            "",
            "Negotiate abc",
            "Bearer service=\"x\"",
            "Bearer realm=\"unterminated",
        ] {
            assert!(
                matches!(
                    Challenge::parse(header),
                    Err(Error::InvalidChallenge { .. })
                ),
                "{header}"
            );
        }
    }

    #[test]
    fn token_query_without_challenge_scope() {
        let challenge = Challenge::Bearer {
            realm: "https://auth/token".into(),
            service: None,
            scope: None,
            error: None,
        };
        assert_eq!(
            challenge
                .token_query(&[Scope::pull("library/busybox")])
                .unwrap(),
            "scope=repository%3Alibrary%2Fbusybox%3Apull"
        );
        assert_eq!(Challenge::Basic { realm: None }.token_query(&[]), None);
    }

    #[test]
    fn reads_token_responses() {
        let token = Token::from_response(br#"{"token":"abc","expires_in":300}"#, 1_000).unwrap();
        assert_eq!(token.authorization(), "Bearer abc");
        assert!(!token.needs_renewal(1_000 + 294_000));
        assert!(token.needs_renewal(1_000 + 295_000));
        let token = Token::from_response(br#"{"access_token":"xyz"}"#, 0).unwrap();
        assert_eq!(token.authorization(), "Bearer xyz");
        assert!(!token.needs_renewal(54_999));
        assert!(token.needs_renewal(55_000));
        // Short-lived tokens are renewed at half their life, not immediately.
        let token = Token::from_response(br#"{"token":"t","expires_in":4}"#, 0).unwrap();
        assert!(!token.needs_renewal(1_999));
        assert!(token.needs_renewal(2_000));
        assert_eq!(
            Token::from_response(br#"{"token":""}"#, 0),
            Err(Error::TokenMissing)
        );
        assert!(matches!(
            Token::from_response(b"<html>", 0),
            Err(Error::MalformedJson { .. })
        ));
        assert!(format!("{token:?}").contains("<redacted>"));
    }

    #[test]
    fn builds_basic_authorization() {
        assert_eq!(
            basic_authorization("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(basic_authorization("a", ""), "Basic YTo=");
        assert_eq!(basic_authorization("ab", "c"), "Basic YWI6Yw==");
    }
}
