//! `[auth.oidc]`: the OpenID provider the lookup page signs people in with (Pro Santé Connect,
//! its sandbox, or any provider configured as PSC is).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The provider's issuer, exactly as its discovery document and its tokens say it.
    pub issuer: String,
    /// The discovery document; default `{issuer}/.well-known/openid-configuration` (Pro Santé
    /// Connect publishes `…/.well-known/wallet-openid-configuration`).
    #[serde(default)]
    pub discovery_url: Option<String>,
    pub client_id: String,
}
