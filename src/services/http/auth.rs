//! The core's auth decisions ([`AuthSession`]) in the app's words: what a refused login means
//! for the user, and the login the session may use.

use skiff_core::protocol::session::{AuthError, Login};

use crate::error::AppError;
use crate::state::Credentials;

/// The login for the core's session (the app's credentials, already bound to this registry).
pub fn login(credentials: &Credentials) -> Login {
    Login::new(credentials.username.clone(), credentials.password.clone())
}

/// An auth failure while fetching `what`, as the error panel shows it: the login cases open the
/// credentials panel; the rest say what is wrong with the registry's auth.
pub fn app_error(error: AuthError, what: &str) -> AppError {
    match error {
        AuthError::NeedsCredentials { reason, .. } => AppError::NeedsCredentials {
            what: what.to_owned(),
            scheme: reason.to_owned(),
        },
        AuthError::BadCredentials { service } => AppError::BadCredentials { service },
        AuthError::Denied { .. } => AppError::Denied {
            what: format!("{what} (with your credentials)"),
            status: 401,
            code: String::new(),
        },
        other => AppError::Auth {
            what: what.to_owned(),
            source: other,
        },
    }
}
