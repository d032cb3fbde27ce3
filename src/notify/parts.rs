//! The notifier's state as events and bundles borrow it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::queue::Queue;
use crate::local::LocalStore;
use crate::search::query::SearchRequest;
use crate::search::redact::Redaction;

/// What events and bundles are made with: the notifier's state, borrowed.
pub struct Parts<'n> {
    pub store: &'n LocalStore,
    pub queue: &'n Queue,
    /// The restricted elements, for subscribers without the right to read them.
    pub redaction: &'n Redaction,
    /// Filters parsed once, by their text.
    pub parsed: &'n Mutex<HashMap<String, Arc<SearchRequest>>>,
    /// Delivery's wake-up.
    pub wake: &'n tokio::sync::Notify,
}
