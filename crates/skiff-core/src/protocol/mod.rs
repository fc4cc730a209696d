//! Talking to a registry: every decision, none of the IO.

/// `WWW-Authenticate` challenges, token scopes, token responses and their expiry.
pub mod auth;
/// A login, a token request, a sent credential: secrets that never print.
pub mod credential;
/// The app page's Content-Security-Policy, however it is served.
pub mod page_policy;
/// The headers and error kinds shared by Skiff's proxy and the app.
pub mod proxy_protocol;
/// The distribution API's URLs, routes through a proxy, and where a credential may go.
pub mod registry;
/// Continuing a broken blob download with `Range`, and its retry budget.
pub mod resume;
/// When to retry a request, how long to wait, and reading `Retry-After`.
pub mod retry;
/// The registry auth state machine: challenges, tokens, renewal, refusals.
pub mod session;
