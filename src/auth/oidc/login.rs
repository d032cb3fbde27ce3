//! The authorization code flow with the provider (OpenID Connect Core 1.0 §3.1, RFC 7636 PKCE,
//! RFC 9700): [`Logins::start`] makes the authorization URL (PKCE S256, `state`, `nonce`,
//! `acr_values`) and keeps the pending login on the server; [`Logins::finish`] takes it back
//! (single use, bound to the browser that started it, 10 minutes at most), exchanges the code,
//! has openidconnect verify the ID token with the provider's current keys (signature among the
//! algorithms the provider advertises, `iss`, `aud`, `azp`, `exp`, `nonce`, `at_hash`), checks
//! `acr`, reads userinfo (whose `sub` must be the ID token's), and returns the claims merged.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKeySet,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthType, AuthenticationContextClass, AuthorizationCode,
    ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    ProviderMetadataWithLogout, RedirectUrl, RequestTokenError, Scope, SignatureVerificationError,
    SubjectIdentifier, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::provider::Provider;
use super::sessions::random_token;
use crate::clock::Clock;

/// How long a person has to come back from the provider.
pub const LOGIN_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Pending logins kept at most (the oldest are dropped beyond).
const MAX_PENDING: usize = 10_000;

/// Why a sign-in did not complete. What the page says comes from [`SignInError::page_text`]
/// and never carries a token or an internal detail; [`SignInError::reason`] is the audit's.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the OpenID provider has not been reached yet")]
    Unavailable,
    #[error("the login cookie is missing")]
    NoLoginCookie,
    #[error("the state is unknown, already used, or of another browser")]
    UnknownState,
    #[error("the login started more than 10 minutes ago")]
    Expired,
    #[error("the provider answered error `{0}`")]
    Refused(String),
    #[error("the callback carries no code")]
    NoCode,
    #[error("the provider refused the authorization code (invalid_grant): replayed or expired")]
    CodeRejected,
    #[error("the authentication level `{0}` is not one of auth.oidc.acr_values")]
    Acr(String),
    #[error("the provider misbehaved: {0}")]
    Provider(String),
}

impl SignInError {
    /// The HTTP status of the page: 400 for what the browser or the person did, 403 for an
    /// authentication too weak, 502 when the provider misbehaves, 503 before it is reached.
    pub fn status(&self) -> u16 {
        match self {
            SignInError::Unavailable => 503,
            SignInError::Acr(_) => 403,
            SignInError::Provider(_) => 502,
            _ => 400,
        }
    }

    /// Short, stable, never a secret: for the audit trail (`signin-refused`).
    pub fn reason(&self) -> &'static str {
        match self {
            SignInError::Unavailable => "provider-unavailable",
            SignInError::NoLoginCookie => "no-login-cookie",
            SignInError::UnknownState => "unknown-state",
            SignInError::Expired => "login-expired",
            SignInError::Refused(e) if e == "access_denied" => "access-denied",
            SignInError::Refused(_) => "provider-error",
            SignInError::NoCode => "no-code",
            SignInError::CodeRejected => "code-rejected",
            SignInError::Acr(_) => "acr",
            SignInError::Provider(_) => "provider-misbehaved",
        }
    }

    /// What the person reads, in French.
    pub fn page_text(&self) -> &'static str {
        match self {
            SignInError::Unavailable => {
                "Pro Santé Connect ne répond pas pour le moment. Réessayez dans quelques minutes."
            }
            SignInError::NoLoginCookie | SignInError::UnknownState => {
                "Cette connexion n'a pas été commencée dans ce navigateur, ou a déjà été utilisée."
            }
            SignInError::Expired => "La connexion a pris plus de 10 minutes et a expiré.",
            SignInError::Refused(e) if e == "access_denied" => {
                "La connexion a été annulée ou refusée sur Pro Santé Connect."
            }
            SignInError::Refused(_) => "Pro Santé Connect n'a pas accepté la demande de connexion.",
            SignInError::NoCode => "La réponse de Pro Santé Connect est incomplète.",
            SignInError::CodeRejected => {
                "Cette réponse de Pro Santé Connect a déjà servi ou a expiré."
            }
            SignInError::Acr(_) => {
                "Le moyen d'authentification utilisé n'est pas d'un niveau suffisant pour cet annuaire."
            }
            SignInError::Provider(_) => {
                "Pro Santé Connect a répondu de façon inattendue ; la connexion n'a pas pu aboutir."
            }
        }
    }
}

/// A login begun: where to send the browser, and the value of its `annuaire_login` cookie.
#[derive(Debug)]
pub struct LoginStart {
    pub authorize_url: String,
    pub browser: String,
}

/// What the provider's redirect carries (`/ui/connexion/retour?code&state`, or `error`).
#[derive(Debug, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// A sign-in verified: who the person is, as the ID token and userinfo say.
#[derive(Debug)]
pub struct Verified {
    pub subject: String,
    /// ID token claims, overlaid with userinfo's.
    pub claims: Map<String, Value>,
    pub id_token: String,
    /// Where the person was going (a local path).
    pub return_to: String,
}

struct Pending {
    nonce: Nonce,
    verifier: PkceCodeVerifier,
    return_to: String,
    browser: String,
    redirect_url: String,
    started: u64,
}

/// The pending logins of one server, by `state`.
pub struct Logins {
    pending: Mutex<HashMap<String, Pending>>,
    clock: Clock,
}

impl std::fmt::Debug for Logins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.pending.lock().map(|p| p.len()).unwrap_or_default();
        write!(f, "Logins({n} pending)")
    }
}

/// Claims openidconnect does not know (Pro Santé Connect's), kept as JSON.
#[derive(Debug, Clone, Deserialize, Serialize)]
struct Extra {
    #[serde(flatten)]
    claims: Map<String, Value>,
}
impl AdditionalClaims for Extra {}

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// An openidconnect client for the discovered provider, verifying with `keys`.
fn client(
    provider: &Provider,
    metadata: &ProviderMetadataWithLogout,
    keys: &CoreJsonWebKeySet,
    secret: Option<&str>,
    redirect_url: &str,
) -> Result<Client, SignInError> {
    let redirect = RedirectUrl::new(redirect_url.to_owned())
        .map_err(|_| SignInError::Provider("the redirect URL is not a URL".into()))?;
    let basic = metadata
        .token_endpoint_auth_methods_supported()
        .is_none_or(|methods| methods.contains(&CoreClientAuthMethod::ClientSecretBasic));
    let client = CoreClient::from_provider_metadata(
        metadata.clone().set_jwks(keys.clone()),
        ClientId::new(provider.config.client_id.clone()),
        secret.map(|s| ClientSecret::new(s.to_owned())),
    )
    .set_redirect_uri(redirect);
    Ok(if basic {
        client
    } else {
        client.set_auth_type(AuthType::RequestBody)
    })
}

impl Logins {
    pub fn new(clock: Clock) -> Logins {
        Logins {
            pending: Mutex::new(HashMap::new()),
            clock,
        }
    }

    /// Begins a login that will come back to `redirect_url` and then go to `return_to`.
    pub fn start(
        &self,
        provider: &Provider,
        secret: Option<&str>,
        redirect_url: &str,
        return_to: &str,
    ) -> Result<LoginStart, SignInError> {
        let metadata = provider.metadata().ok_or(SignInError::Unavailable)?;
        let keys = provider.keys.current();
        let client = client(provider, &metadata, &keys.oidc, secret, redirect_url)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in provider.config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        for acr in &provider.config.acr_values {
            request = request.add_auth_context_value(AuthenticationContextClass::new(acr.clone()));
        }
        let (url, state, nonce) = request.url();
        let browser = random_token();
        let now = self.clock.unix_seconds();
        let mut pending = self.pending.lock().expect("logins lock");
        pending.retain(|_, p| now < p.started + LOGIN_LIFETIME.as_secs());
        if pending.len() >= MAX_PENDING
            && let Some(oldest) = pending
                .iter()
                .min_by_key(|(_, p)| p.started)
                .map(|(s, _)| s.clone())
        {
            pending.remove(&oldest);
        }
        pending.insert(
            state.secret().clone(),
            Pending {
                nonce,
                verifier,
                return_to: return_to.to_owned(),
                browser: browser.clone(),
                redirect_url: redirect_url.to_owned(),
                started: now,
            },
        );
        Ok(LoginStart {
            authorize_url: url.to_string(),
            browser,
        })
    }

    /// Takes back the pending login `state` names, if `browser` (the login cookie) started
    /// it. A state of another browser is left in place: its own browser may still finish.
    fn take(&self, state: &str, browser: Option<&str>) -> Result<Pending, SignInError> {
        let browser = browser.ok_or(SignInError::NoLoginCookie)?;
        let mut pending = self.pending.lock().expect("logins lock");
        match pending.get(state) {
            Some(p) if constant_time_eq(p.browser.as_bytes(), browser.as_bytes()) => {}
            _ => return Err(SignInError::UnknownState),
        }
        let login = pending.remove(state).expect("checked above");
        if self.clock.unix_seconds() >= login.started + LOGIN_LIFETIME.as_secs() {
            return Err(SignInError::Expired);
        }
        Ok(login)
    }

    /// Finishes the login the provider's redirect names.
    pub async fn finish(
        &self,
        provider: &Provider,
        secret: Option<&str>,
        callback: &Callback,
        browser: Option<&str>,
    ) -> Result<Verified, SignInError> {
        let state = callback.state.as_deref().ok_or(SignInError::UnknownState)?;
        let login = self.take(state, browser)?;
        if let Some(error) = &callback.error {
            return Err(SignInError::Refused(printable(error)));
        }
        let code = callback.code.clone().ok_or(SignInError::NoCode)?;
        let metadata = provider.metadata().ok_or(SignInError::Unavailable)?;
        let keys = provider.keys.current();
        let client = client(provider, &metadata, &keys.oidc, secret, &login.redirect_url)?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| SignInError::Provider(e.to_string()))?
            .set_pkce_verifier(login.verifier)
            .request_async(&provider.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r)
                    if *r.error() == CoreErrorResponseType::InvalidGrant =>
                {
                    SignInError::CodeRejected
                }
                RequestTokenError::ServerResponse(r) => {
                    SignInError::Provider(format!("token endpoint error `{}`", r.error()))
                }
                other => SignInError::Provider(format!("token endpoint: {other}")),
            })?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| SignInError::Provider("no ID token in the token response".into()))?;
        let mut verified = id_token
            .claims(&client.id_token_verifier(), &login.nonce)
            .cloned();
        let no_matching_key = matches!(
            verified,
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey
            ))
        );
        // Signed with a key published since our last fetch: once more with the new set.
        let refreshed = if no_matching_key && provider.fetch_keys_if_allowed().await {
            let keys = provider.keys.current();
            Some(self::client(
                provider,
                &metadata,
                &keys.oidc,
                secret,
                &login.redirect_url,
            )?)
        } else {
            None
        };
        let client = refreshed.as_ref().unwrap_or(&client);
        let verifier = client.id_token_verifier();
        if refreshed.is_some() {
            verified = id_token.claims(&verifier, &login.nonce).cloned();
        }
        let claims = verified.map_err(|e| SignInError::Provider(format!("ID token: {e}")))?;
        if let Some(expected) = claims.access_token_hash() {
            let algorithm = id_token
                .signing_alg()
                .map_err(|e| SignInError::Provider(format!("ID token: {e}")))?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(|e| SignInError::Provider(format!("ID token: {e}")))?;
            let actual = AccessTokenHash::from_token(tokens.access_token(), algorithm, key)
                .map_err(|e| SignInError::Provider(format!("at_hash: {e}")))?;
            if actual != *expected {
                return Err(SignInError::Provider(
                    "the ID token's at_hash does not match the access token".into(),
                ));
            }
        }
        let acr_values = &provider.config.acr_values;
        if !acr_values.is_empty() {
            let acr = claims.auth_context_ref().map(|a| a.as_str().to_owned());
            if !acr.as_ref().is_some_and(|a| acr_values.contains(a)) {
                return Err(SignInError::Acr(printable(&acr.unwrap_or_default())));
            }
        }
        let subject = claims.subject().clone();
        let id_token_text = id_token.to_string();
        let mut merged = payload(&id_token_text)?;
        if provider.config.userinfo && client.user_info_url().is_some() {
            let userinfo = read_userinfo(provider, client, tokens.access_token(), &subject).await?;
            for (name, value) in userinfo {
                merged.insert(name, value);
            }
        }
        Ok(Verified {
            subject: subject.to_string(),
            claims: merged,
            id_token: id_token_text,
            return_to: login.return_to,
        })
    }
}

/// The userinfo claims (JSON or a signed JWT, which openidconnect verifies); their `sub` must
/// be the ID token's (OpenID Connect Core §5.3.2).
async fn read_userinfo(
    provider: &Provider,
    client: &Client,
    access_token: &openidconnect::AccessToken,
    subject: &SubjectIdentifier,
) -> Result<Map<String, Value>, SignInError> {
    let request = client
        .user_info(access_token.clone(), Some(subject.clone()))
        .map_err(|e| SignInError::Provider(format!("userinfo: {e}")))?;
    let claims: UserInfoClaims<Extra, CoreGenderClaim> = request
        .request_async(&provider.http)
        .await
        .map_err(|e| SignInError::Provider(format!("userinfo: {e}")))?;
    match serde_json::to_value(&claims) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(SignInError::Provider(
            "userinfo is not a JSON object".into(),
        )),
    }
}

/// The claims of a JWT already verified, as JSON (openidconnect keeps only those it knows).
fn payload(jwt: &str) -> Result<Map<String, Value>, SignInError> {
    jwt.split('.')
        .nth(1)
        .and_then(|part| URL_SAFE_NO_PAD.decode(part).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| SignInError::Provider("the ID token's claims are not JSON".into()))
}

/// A provider's word, cut to something safe to log and show: printable ASCII, 64 at most.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect()
}

/// Compares two secrets in a time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_login_is_single_use_and_bound_to_its_browser() {
        let (clock, handle) = Clock::manual(time::macros::datetime!(2026-12-01 10:00 UTC));
        let logins = Logins::new(clock.clone());
        let insert = |state: &str, browser: &str| {
            logins.pending.lock().unwrap().insert(
                state.into(),
                Pending {
                    nonce: Nonce::new("n".into()),
                    verifier: PkceCodeVerifier::new("v".into()),
                    return_to: "/".into(),
                    browser: browser.into(),
                    redirect_url: "http://localhost/ui/connexion/retour".into(),
                    started: clock.unix_seconds(),
                },
            );
        };
        insert("s1", "b1");
        assert!(matches!(
            logins.take("s1", None),
            Err(SignInError::NoLoginCookie)
        ));
        assert!(matches!(
            logins.take("s1", Some("b2")),
            Err(SignInError::UnknownState)
        ));
        assert!(
            logins.take("s1", Some("b1")).is_ok(),
            "another browser's try left it"
        );
        assert!(matches!(
            logins.take("s1", Some("b1")),
            Err(SignInError::UnknownState)
        ));
        insert("s2", "b1");
        handle.advance(LOGIN_LIFETIME);
        assert!(matches!(
            logins.take("s2", Some("b1")),
            Err(SignInError::Expired)
        ));
    }

    #[test]
    fn what_the_provider_says_is_cut_to_printable_words() {
        assert_eq!(printable("access_denied"), "access_denied");
        assert_eq!(printable("<script>\n x"), "<script>x");
        assert_eq!(printable(&"a".repeat(100)).len(), 64);
    }
}
