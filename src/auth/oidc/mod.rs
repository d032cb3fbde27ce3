//! Sign-in with an OpenID Connect provider configured as Pro Santé Connect is: discovery and
//! the provider's keys (refreshed on rotation), the authorization code flow with PKCE, `state`
//! and `nonce`, and the lookup page's server-side sessions. See plan D1–D3 (issue #28).
//!
//! [`SignIn`] is the facade the HTTP layer holds: `provider` (discovery, [`ProviderKeys`]),
//! `login` (the code flow), `sessions` (who is signed in). It does not decide what a person
//! may do: the caller of a new session is made by the function `finish` is given (the access
//! rules, which sit above this module).

pub mod config;
pub mod login;
pub mod provider;
pub mod sessions;

pub use self::config::{ConfigError, OidcConfig};
pub use self::login::{Callback, LoginStart, SignInError};
pub use self::provider::{Availability, ProviderKeys};
pub use self::sessions::Session;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use self::login::Logins;
use self::provider::Provider;
use self::sessions::{NewSession, Sessions};
use super::caller::{Caller, Identity};
use super::psc::PscClaims;
use crate::clock::Clock;

/// How often expired sessions are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// A sign-in completed: the new session, its id (the cookie's value), where to go next.
#[derive(Debug)]
pub struct SignedIn {
    pub id: String,
    pub session: Arc<Session>,
    pub return_to: String,
}

/// The sign-in machinery of one server.
#[derive(Debug)]
pub struct SignIn {
    provider: Arc<Provider>,
    logins: Logins,
    sessions: Arc<Sessions>,
    /// The client secret (file or environment), none for a public client.
    secret: Option<String>,
}

impl SignIn {
    /// Sign-in with the provider `config` names, verifying with `keys` (shared with the
    /// bearer-token verifier). Reads the client secret; contacts nobody yet (see
    /// [`SignIn::spawn`]).
    pub fn new(
        config: OidcConfig,
        keys: Arc<ProviderKeys>,
        clock: Clock,
    ) -> Result<SignIn, ConfigError> {
        config.validate()?;
        let secret = config.client_secret()?;
        let sessions = Sessions::new(config.session_idle(), config.session_max(), clock.clone());
        Ok(SignIn {
            provider: Arc::new(Provider::new(config, keys)),
            logins: Logins::new(clock),
            sessions: Arc::new(sessions),
            secret,
        })
    }

    pub fn config(&self) -> &OidcConfig {
        &self.provider.config
    }

    /// Whether a client secret was found (else a public client, PKCE alone).
    pub fn has_secret(&self) -> bool {
        self.secret.is_some()
    }

    /// Starts the background work: discovery, the keys' refreshes, forgetting expired sessions.
    /// Call inside a tokio runtime.
    pub fn spawn(&self) {
        tokio::spawn(self.provider.clone().run());
        let sessions = self.sessions.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(SWEEP_EVERY);
            loop {
                interval.tick().await;
                sessions.forget_expired();
            }
        });
    }

    /// Whether the provider is reached (discovery and keys) and sign-in can be offered.
    pub fn availability(&self) -> Availability {
        self.provider.availability()
    }

    /// How many times the provider's keys were fetched (logs and tests).
    pub fn key_fetches(&self) -> u64 {
        self.provider.fetches()
    }

    /// Begins a login: `redirect_url` is the redirect URI registered with the provider,
    /// `return_to` the local path to go to once signed in.
    pub fn start(&self, redirect_url: &str, return_to: &str) -> Result<LoginStart, SignInError> {
        self.logins.start(
            &self.provider,
            self.secret.as_deref(),
            redirect_url,
            return_to,
        )
    }

    /// Finishes the login the provider's redirect names (`browser`: the login cookie), and
    /// opens a session for the caller `caller_for` makes of the verified identity.
    pub async fn finish(
        &self,
        callback: &Callback,
        browser: Option<&str>,
        caller_for: impl FnOnce(Identity) -> Caller,
    ) -> Result<SignedIn, SignInError> {
        let verified = self
            .logins
            .finish(&self.provider, self.secret.as_deref(), callback, browser)
            .await?;
        let claims = PscClaims::from_claims(&verified.claims);
        let identity = Identity::Token {
            issuer: self.provider.config.issuer.clone(),
            subject: verified.subject,
            national_id: claims.national_id.clone(),
            roles: match verified.claims.get("SubjectRole") {
                Some(Value::Array(items)) => items.iter().filter_map(whole_claim).collect(),
                Some(one) => whole_claim(one).into_iter().collect(),
                None => Vec::new(),
            },
        };
        let (id, session) = self.sessions.create(NewSession {
            caller: Arc::new(caller_for(identity)),
            claims,
            name: person_name(&verified.claims),
            id_token: verified.id_token,
        });
        Ok(SignedIn {
            id,
            session,
            return_to: verified.return_to,
        })
    }

    /// The session a cookie value names, if it is live.
    pub fn session(&self, cookie: &str) -> Option<Arc<Session>> {
        self.sessions.get(cookie)
    }

    /// Ends the session a cookie value names; returns it if it was live.
    pub fn end(&self, cookie: &str) -> Option<Arc<Session>> {
        self.sessions.end(cookie)
    }

    /// Where to send the browser at sign-out: the provider's `end_session_endpoint`, with
    /// `id_token_hint`, `post_logout_redirect_uri` and `client_id` (RP-Initiated Logout 1.0
    /// §2), when the provider has one. `home`: this site's `/`, where the provider sends the
    /// browser back unless `post_logout_redirect_url` says otherwise.
    pub fn logout_url(&self, session: &Session, home: &str) -> Option<String> {
        let metadata = self.provider.metadata()?;
        let endpoint = metadata
            .additional_metadata()
            .end_session_endpoint
            .as_ref()?;
        let mut url = endpoint.url().clone();
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("id_token_hint", &session.id_token);
            let back = self.provider.config.post_logout_redirect_url.as_deref();
            query.append_pair("post_logout_redirect_uri", back.unwrap_or(home));
            query.append_pair("client_id", &self.provider.config.client_id);
        }
        Some(url.to_string())
    }
}

/// `given_name family_name`, or `name`, as the provider says them.
fn person_name(claims: &Map<String, Value>) -> Option<String> {
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    match (text("given_name"), text("family_name")) {
        (Some(given), Some(family)) => Some(format!("{given} {family}")),
        (one, other) => one.or(other).or(text("name")).map(str::to_owned),
    }
}

/// A claim kept whole: a string as it is, another non-null value as its JSON text.
fn whole_claim(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_given_then_family_else_name() {
        let claims = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            person_name(&claims(
                serde_json::json!({"given_name": "Anne", "family_name": "MARTIN"})
            ))
            .as_deref(),
            Some("Anne MARTIN")
        );
        assert_eq!(
            person_name(&claims(
                serde_json::json!({"name": "A. Martin", "given_name": " "})
            ))
            .as_deref(),
            Some("A. Martin")
        );
        assert_eq!(person_name(&claims(serde_json::json!({}))), None);
    }
}
