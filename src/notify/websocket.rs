//! The websocket channel (Backport IG, channels.md): binding tokens, and what one socket is
//! sent.
//!
//! A client asks `Subscription/<id>/$get-ws-binding-token` for a token ([`issue`]: the
//! subscription must be its own and a websocket one), connects to the socket and sends
//! `bind-with-token: <token>`. A token is random, good for [`TOKEN_LIFETIME`] and for one
//! binding only (redeeming removes it: [`Feed::bind`]); tokens are kept in the local store so
//! that any worker of the server redeems what another issued. Once bound, the socket is sent
//! the handshake Bundle, then the subscription's events after the acknowledged number (an
//! event is acknowledged as soon as it is written to the socket: a client that missed some
//! asks `$events`), then new events as they are queued, and heartbeats. A socket may bind
//! several subscriptions, one token each. The socket is closed when its last subscription is
//! deleted or switched off. See docs/subscriptions.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::RngCore;
use serde_json::Value;
use time::OffsetDateTime;

use super::delivery::encode;
use super::notifier::{Event, NotificationType, Notifier, NotifyError, State};
use super::subscription::Channel;
use crate::generation::Generations;
use crate::local::{LocalType, Read};
use crate::metrics::Metrics;

/// How long a binding token may be redeemed.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// The local store's tree of unredeemed tokens: token -> `<subscription id> <expiry, unix s>`.
const TOKENS: &str = "subscription-ws-tokens";
/// How often a socket looks at its subscriptions' queues without being woken.
const POLL: Duration = Duration::from_secs(1);
/// The channel name in metrics.
const CHANNEL: &str = "websocket";
/// What a client sends to bind a token (`bind-with-token: <token>`; the IG's diagram also
/// shows it without the colon, which is accepted).
const BIND: &str = "bind-with-token";

/// A token issued: the `$get-ws-binding-token` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub token: String,
    pub expiration: OffsetDateTime,
    pub subscription: String,
}

/// Issues a binding token for `id` to `owner`. `Ok(None)`: no such subscription for this
/// owner (another's subscription is not revealed). Refused: not a websocket subscription, or
/// not `active`.
pub fn issue(notifier: &Notifier, id: &str, owner: &str) -> Result<Option<Binding>, NotifyError> {
    let store = notifier.store();
    let Read::Found(resource) = store.read(LocalType::Subscription, id)? else {
        return Ok(None);
    };
    if resource.owner != owner {
        return Ok(None);
    }
    let Some(view) = notifier.subscription(id)? else {
        return Ok(None);
    };
    if view.channel != Channel::Websocket {
        return Err(NotifyError::Refused(format!(
            "Subscription/{id} has the channel `{}`: binding tokens are for websocket subscriptions",
            view.channel.as_str()
        )));
    }
    if view.state != State::Active {
        return Err(NotifyError::Refused(format!(
            "Subscription/{id} is `{}`: set its status to `active` to bind a websocket to it",
            view.state.as_str()
        )));
    }
    let now = store.clock().now_utc();
    let expiration = now + TOKEN_LIFETIME;
    let token = random_token();
    let tokens = store.tree(TOKENS)?;
    forget_expired(&tokens, now);
    tokens
        .insert(
            token.as_bytes(),
            format!("{id} {}", expiration.unix_timestamp()).as_bytes(),
        )
        .map_err(store_error)?;
    Ok(Some(Binding {
        token,
        expiration,
        subscription: id.to_string(),
    }))
}

/// 32 random bytes, base64url: unguessable, and safe in a text message.
fn random_token() -> String {
    use base64::Engine as _;
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Drops the tokens past their expiry (never redeemed): the tree stays small.
fn forget_expired(tokens: &sled::Tree, now: OffsetDateTime) {
    for entry in tokens.iter().flatten() {
        let (key, value) = entry;
        if parse_token_value(&value).is_none_or(|(_, expiry)| expiry <= now.unix_timestamp()) {
            let _ = tokens.remove(key);
        }
    }
}

fn parse_token_value(value: &[u8]) -> Option<(String, i64)> {
    let text = std::str::from_utf8(value).ok()?;
    let (id, expiry) = text.rsplit_once(' ')?;
    Some((id.to_string(), expiry.parse().ok()?))
}

fn store_error(e: sled::Error) -> NotifyError {
    NotifyError::Local(crate::local::LocalError::Store(e.to_string()))
}

/// Takes a token out of the store (whatever happens next, it cannot be used again) and says
/// which subscription it binds, or why not, in words for the client.
fn redeem(notifier: &Notifier, token: &str) -> Result<String, String> {
    let store = notifier.store();
    let tokens = store.tree(TOKENS).map_err(|e| e.to_string())?;
    let removed = tokens.remove(token.as_bytes()).map_err(|e| e.to_string())?;
    let Some((id, expiry)) = removed.as_deref().and_then(parse_token_value) else {
        return Err(
            "unknown binding token (or already used: a token binds once); get one with Subscription/<id>/$get-ws-binding-token".into(),
        );
    };
    if expiry <= store.clock().now_utc().unix_timestamp() {
        return Err(format!(
            "this binding token has expired (a token is good for {} s); get a new one with Subscription/{id}/$get-ws-binding-token",
            TOKEN_LIFETIME.as_secs()
        ));
    }
    Ok(id)
}

/// A message for a socket, and what to record once it is written.
#[derive(Debug)]
pub struct Outgoing {
    pub text: String,
    subscription: String,
    /// The last event number it carries, acknowledged once written.
    acknowledge: Option<u64>,
    events: u64,
}

/// One subscription bound to a socket.
struct Bound {
    id: String,
    heartbeat: Option<Duration>,
    payload: String,
    max_count: usize,
    last_sent: Instant,
}

/// What one socket is sent: its bound subscriptions, their queues and heartbeats.
pub struct Feed {
    notifier: Arc<Notifier>,
    generations: Arc<Generations>,
    base: String,
    metrics: Arc<Metrics>,
    bound: Vec<Bound>,
}

impl Feed {
    /// A socket's feed; `base` is the FHIR base notifications name resources with.
    pub fn new(
        notifier: Arc<Notifier>,
        generations: Arc<Generations>,
        base: String,
        metrics: Arc<Metrics>,
    ) -> Feed {
        Feed {
            notifier,
            generations,
            base,
            metrics,
            bound: Vec::new(),
        }
    }

    /// Reads a client's message: `bind-with-token: <token>` binds the token's subscription
    /// and returns its handshake; anything else, or a token refused, is `Err` with the reason.
    pub async fn bind(&mut self, message: &str) -> Result<Outgoing, String> {
        let token = message
            .trim()
            .strip_prefix(BIND)
            .map(|rest| rest.trim_start_matches(':').trim())
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                format!("expected `{BIND}: <token>` (a token from Subscription/<id>/$get-ws-binding-token)")
            })?
            .to_string();
        let notifier = self.notifier.clone();
        let (id, view) = blocking(move || {
            let id = redeem(&notifier, &token)?;
            let view = notifier
                .subscription(&id)
                .map_err(|e| e.to_string())?
                .filter(|v| v.channel == Channel::Websocket && v.state == State::Active)
                .ok_or_else(|| {
                    format!("Subscription/{id} was deleted, switched off or changed channel since the token was issued")
                })?;
            Ok((id, view))
        })
        .await?;
        let handshake = self
            .message(&id, &view.payload, NotificationType::Handshake, Vec::new())
            .await?;
        self.bound.retain(|b| b.id != id);
        self.bound.push(Bound {
            id,
            heartbeat: view.heartbeat,
            payload: view.payload,
            max_count: view.max_count.max(1),
            last_sent: Instant::now(),
        });
        Ok(handshake)
    }

    /// Waits until there may be something to send: events queued (the notifier's wake), a
    /// heartbeat due, or [`POLL`].
    pub async fn wait(&self) {
        let heartbeat = self
            .bound
            .iter()
            .filter_map(|b| b.heartbeat.map(|period| b.last_sent + period))
            .min();
        let until = heartbeat.map_or(Instant::now() + POLL, |due| due.min(Instant::now() + POLL));
        tokio::select! {
            () = self.notifier.wake().notified() => {}
            () = tokio::time::sleep_until(until.into()) => {}
        }
    }

    /// What is due now on this socket: each bound subscription's next events (at most
    /// `max-count` per Bundle), or its heartbeat. `Err`: no subscription left to serve (the
    /// reason, to close the socket with).
    pub async fn due(&mut self) -> Result<Vec<Outgoing>, String> {
        let mut out = Vec::new();
        let mut gone = Vec::new();
        for index in 0..self.bound.len() {
            let (id, payload, max_count) = {
                let b = &self.bound[index];
                (b.id.clone(), b.payload.clone(), b.max_count)
            };
            let notifier = self.notifier.clone();
            let lookup = id.clone();
            let pending = blocking(move || {
                let live = notifier
                    .subscription(&lookup)
                    .map_err(|e| e.to_string())?
                    .is_some_and(|v| v.state == State::Active && v.channel == Channel::Websocket);
                if !live {
                    return Ok(None);
                }
                let Some((total, acknowledged)) =
                    notifier.counters(&lookup).map_err(|e| e.to_string())?
                else {
                    return Ok(None);
                };
                if total <= acknowledged {
                    return Ok(Some(Vec::new()));
                }
                notifier
                    .events(&lookup, acknowledged + 1, None, max_count)
                    .map(Some)
                    .map_err(|e| e.to_string())
            })
            .await?;
            let Some(events) = pending else {
                gone.push(id);
                continue;
            };
            if !events.is_empty() {
                out.push(
                    self.message(&id, &payload, NotificationType::EventNotification, events)
                        .await?,
                );
                self.bound[index].last_sent = Instant::now();
                continue;
            }
            let b = &self.bound[index];
            if b.heartbeat
                .is_some_and(|period| b.last_sent.elapsed() >= period)
            {
                out.push(
                    self.message(&id, &payload, NotificationType::Heartbeat, Vec::new())
                        .await?,
                );
                self.bound[index].last_sent = Instant::now();
            }
        }
        self.bound.retain(|b| !gone.contains(&b.id));
        if self.bound.is_empty() && !gone.is_empty() {
            return Err(format!(
                "Subscription/{} was deleted or is no longer active",
                gone.join(", Subscription/")
            ));
        }
        Ok(out)
    }

    /// Records that `message` was written to the socket: its events are delivered.
    pub async fn sent(&self, message: &Outgoing) -> Result<(), String> {
        self.metrics.notification(CHANNEL, true);
        let Some(number) = message.acknowledge else {
            return Ok(());
        };
        let notifier = self.notifier.clone();
        let id = message.subscription.clone();
        blocking(move || notifier.acknowledge(&id, number).map_err(|e| e.to_string())).await?;
        self.metrics.events_delivered(CHANNEL, message.events);
        Ok(())
    }

    /// Counts a message that could not be written (the socket closed under it).
    pub fn unsent(&self) {
        self.metrics.notification(CHANNEL, false);
    }

    /// The notification Bundle, as text in the subscription's payload type.
    async fn message(
        &self,
        id: &str,
        payload: &str,
        kind: NotificationType,
        events: Vec<Event>,
    ) -> Result<Outgoing, String> {
        let notifier = self.notifier.clone();
        let generations = self.generations.clone();
        let base = self.base.clone();
        let owned = id.to_string();
        let acknowledge = events.last().map(|e| e.number);
        let count = events.len() as u64;
        let bundle: Value = blocking(move || {
            notifier
                .notification(&owned, kind, &events, &base, &generations)
                .map_err(|e| e.to_string())
        })
        .await?;
        let (_, body) = encode(payload, &bundle)?;
        let text =
            String::from_utf8(body).map_err(|_| "a notification is not UTF-8".to_string())?;
        Ok(Outgoing {
            text,
            subscription: id.to_string(),
            acknowledge,
            events: count,
        })
    }
}

/// Runs store work off the async workers.
async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|_| "the server is stopping".to_string())?
}
