//! The notifier's vocabulary, shared by its parts (checks, events, queue, bundles, delivery):
//! a leaf module, so that they depend on it and not on each other in circles.

use time::OffsetDateTime;

use crate::local::LocalError;

/// Who creates a subscription, as recorded with it: its owner (only they see and manage it)
/// and whether its notifications may carry restricted elements (the rights of its creator
/// when it was created; see docs/correspondents.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub owner: String,
    pub restricted: bool,
    /// The restricted elements (`Type.element`) the access rules unlocked for its creator,
    /// when `restricted` is not set: its notifications carry these.
    pub unlocked: Vec<String>,
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
