//! The notifier: what `http` and `app` hold. Package B implements it (events, queue, status,
//! bundles); package C's delivery reads the queue through it.

use std::sync::Arc;

use serde_json::Value;
use time::OffsetDateTime;

use super::settings::NotifySettings;
use crate::generation::Generations;
use crate::local::{LocalError, LocalStore};

/// Who creates a subscription, as recorded with it: its owner (only they see and manage it)
/// and whether its notifications may carry restricted elements (the rights of its creator
/// when it was created; see docs/correspondents.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub owner: String,
    pub restricted: bool,
}

/// The state of a subscription, as `Subscription.status` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Requested,
    Active,
    Error,
    Off,
}

/// What an event says changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Created,
    Updated,
    Deactivated,
    Deleted,
}

/// One event of a subscription's queue (`notification-event`).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `event-number`: 1 for the subscription's first event, never reused.
    pub number: u64,
    pub timestamp: OffsetDateTime,
    /// `Practitioner`, `List`, ...
    pub resource_type: String,
    pub id: String,
    /// The version the event is about (for a deletion: the deletion's number).
    pub version: u32,
    pub kind: EventKind,
}

/// The kinds of notification Bundle (`SubscriptionStatus.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationType {
    Handshake,
    Heartbeat,
    EventNotification,
    QueryStatus,
    QueryEvent,
}

/// Why a subscription request or a notifier step failed.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The `Subscription` cannot be accepted: unsupported topic, filter, channel, payload or
    /// endpoint (the message says which and what is supported). 400 / 422.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Local(#[from] LocalError),
}

/// Subscriptions' engine.
pub struct Notifier {
    store: Arc<LocalStore>,
    settings: NotifySettings,
    /// Woken when events are queued or a subscription changes, so delivery need not poll.
    wake: tokio::sync::Notify,
}

impl Notifier {
    pub fn new(store: Arc<LocalStore>, settings: NotifySettings) -> Result<Notifier, NotifyError> {
        Ok(Notifier {
            store,
            settings,
            wake: tokio::sync::Notify::new(),
        })
    }

    pub fn store(&self) -> &Arc<LocalStore> {
        &self.store
    }

    pub fn settings(&self) -> &NotifySettings {
        &self.settings
    }

    /// Woken on every new event or subscription change.
    pub fn wake(&self) -> &tokio::sync::Notify {
        &self.wake
    }

    /// Checks a `Subscription` body and returns it as it will be stored (`status` set by the
    /// server: `requested` for rest-hook until its handshake succeeds).
    pub fn check_subscription(
        &self,
        body: Value,
        subscriber: &Subscriber,
    ) -> Result<Value, NotifyError> {
        let _ = (body, subscriber);
        todo!("package B")
    }

    /// Queues the events of the generations switched to since the last call (and at start,
    /// of the ones switched to while the server was down): blocking.
    pub fn after_switch(&self, generations: &Generations) -> Result<usize, NotifyError> {
        let _ = generations;
        Ok(0) // package B
    }

    /// Queues the events of the local writes not yet processed (the store's change log).
    pub fn after_local_writes(&self, generations: &Generations) -> Result<usize, NotifyError> {
        let _ = generations;
        Ok(0) // package B
    }

    /// Events `first..=last` of a subscription (`$events`, and what delivery sends).
    pub fn events(
        &self,
        id: &str,
        first: u64,
        last: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Event>, NotifyError> {
        let _ = (id, first, last, limit);
        todo!("package B")
    }

    /// How many events the subscription has had, and the last one delivered.
    pub fn counters(&self, id: &str) -> Result<Option<(u64, u64)>, NotifyError> {
        let _ = id;
        todo!("package B")
    }

    /// Records that events up to `number` reached the subscriber.
    pub fn acknowledge(&self, id: &str, number: u64) -> Result<(), NotifyError> {
        let _ = (id, number);
        todo!("package B")
    }

    /// Sets the subscription's status (a new version of it), with the reason for `error`.
    pub fn set_state(
        &self,
        id: &str,
        state: State,
        reason: Option<&str>,
    ) -> Result<(), NotifyError> {
        let _ = (id, state, reason);
        todo!("package B")
    }

    /// The notification Bundle of `kind` for `events` (empty for a handshake or heartbeat),
    /// with the subscription's payload content and its subscriber's redaction.
    pub fn notification(
        &self,
        id: &str,
        kind: NotificationType,
        events: &[Event],
        base: &str,
        generations: &Generations,
    ) -> Result<Value, NotifyError> {
        let _ = (id, kind, events, base, generations);
        todo!("package B")
    }
}
