//! Sign-in with an OpenID Connect provider configured as Pro Santé Connect is: discovery and
//! the provider's keys (refreshed on rotation), the authorization code flow with PKCE, `state`
//! and `nonce`, and the lookup page's server-side sessions. See plan D1–D3 (issue #28).

pub mod config;

pub use self::config::OidcConfig;

use std::sync::Arc;

use super::caller::Caller;
use super::psc::PscClaims;

/// A signed-in person's session, kept on the server; the browser holds only its id.
#[derive(Debug)]
pub struct Session {
    pub caller: Arc<Caller>,
    pub claims: PscClaims,
    /// What an unsafe request made with the session cookie must carry in `X-CSRF-Token`.
    pub csrf: String,
}

/// The sign-in machinery of one server (package A fills it in).
#[derive(Debug, Default)]
pub struct SignIn {}

impl SignIn {
    /// The session a cookie value names, if it is live.
    pub fn session(&self, _cookie: &str) -> Option<Arc<Session>> {
        None
    }
}
