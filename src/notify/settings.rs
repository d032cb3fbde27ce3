//! What an operator configures about subscriptions (`serve` flags, see `Settings`).

use std::time::Duration;

/// Subscription settings, from `serve`'s flags.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// How long a rest-hook notification is retried before the subscription goes to `error`
    /// (`--subscription-retry-hours`, default 24 h).
    pub retry_for: Duration,
    /// Endpoints allowed although plain `http` or internal (`--subscription-allow`: host names,
    /// IP addresses or CIDR blocks, e.g. `127.0.0.1`, `10.0.0.0/8`); everything else must be
    /// `https` to a public address.
    pub allow: Vec<String>,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            retry_for: Duration::from_secs(24 * 3600),
            allow: Vec::new(),
        }
    }
}
