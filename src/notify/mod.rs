//! Subscriptions, topic-based, as the FHIR R4 Subscriptions Backport IG (STU 1.1) defines
//! them: which changes a subscriber is told of, how they are numbered and kept until delivered,
//! and how they are delivered.
//!
//! The path of an event: a generation switch or a local write ([`events`]: what changed, and
//! which subscriptions' filters it matches, on the generation before and after) -> the durable
//! queue of each subscription ([`queue`], in the local store, numbered from 1) -> a notification
//! Bundle ([`bundle`]) -> a channel: rest-hook ([`delivery`], to endpoints [`endpoint`]
//! allows) or websocket ([`websocket`]). [`notifier`] ties them and is what `http` and `app`
//! hold. Topics are declared in `conformance/topics.json` ([`topic`]); a `Subscription` body is
//! checked by [`subscription`].

pub mod bundle;
pub mod delivery;
pub mod endpoint;
pub mod events;
pub mod notifier;
pub mod parts;
pub mod queue;
pub mod settings;
pub mod subscription;
pub mod topic;
pub mod types;
pub mod websocket;

pub use self::notifier::{Notifier, NotifyError, Subscriber};
pub use self::settings::NotifySettings;
