//! The credentials a session holds and hands out: a login, a token request, the credential a
//! request went out with. None of them prints a secret in `Debug`.

use std::fmt;

use crate::protocol::auth::basic_authorization;

/// A string `Debug` never prints.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A username and password (or access token). `Debug` shows neither.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    username: Secret,
    password: Secret,
}

impl Login {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: Secret(username.into()),
            password: Secret(password.into()),
        }
    }

    pub fn username(&self) -> &str {
        &self.username.0
    }

    pub(crate) fn authorization(&self) -> String {
        basic_authorization(&self.username.0, &self.password.0)
    }
}

/// A request to the token service: GET `url`, with `authorization` (the login, as Basic) if set.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub url: String,
    pub authorization: Option<String>,
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("url", &self.url)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The credential a request went out with, to hand back with its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentAuth {
    pub(crate) header: Option<Secret>,
    pub(crate) generation: u64,
}

impl SentAuth {
    /// The `Authorization` header value to send, if any.
    pub fn header(&self) -> Option<&str> {
        self.header.as_ref().map(|h| h.0.as_str())
    }

    /// Which credential this was: a later one has a higher number. A driver that hands the
    /// header to someone else (a worker) keeps this to report a 401 with
    /// [`crate::protocol::session::AuthSession::handle_response_from`].
    pub fn generation(&self) -> u64 {
        self.generation
    }
}
