//! The notifier: what `http` and `app` hold. Package B implements it (events, queue, status,
//! bundles); package C's delivery reads the queue through it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

pub use super::types::{Event, EventKind, NotificationType, NotifyError, State, Subscriber};

use super::parts::Parts;
use super::queue::Queue;
use super::settings::NotifySettings;
use super::subscription::{self, SubscriptionView};
use crate::generation::Generations;
use crate::local::{LocalError, LocalStore, LocalType, Read};
use crate::search::query::SearchRequest;
use crate::search::redact::Redaction;

/// Subscriptions written since a point of the change log, each with its view when still served
/// (`None`: deleted, `off`, `error` or ended).
pub type ChangedSubscriptions = Vec<(String, Option<SubscriptionView>)>;

/// Subscriptions' engine.
pub struct Notifier {
    store: Arc<LocalStore>,
    settings: NotifySettings,
    /// Woken when events are queued or a subscription changes, so delivery need not poll.
    wake: tokio::sync::Notify,
    queue: Queue,
    /// The restricted elements, removed from full-resource notifications of subscribers
    /// without the right to read them.
    redaction: Redaction,
    /// Filters parsed once, by their text (10 000 subscriptions share few distinct filters).
    parsed: Mutex<HashMap<String, Arc<SearchRequest>>>,
    /// One queuing at a time (the switch watcher, a List write): each reads the watermark and
    /// moves it in its transaction.
    queuing: Mutex<()>,
}

impl Notifier {
    pub fn new(store: Arc<LocalStore>, settings: NotifySettings) -> Result<Notifier, NotifyError> {
        Ok(Notifier {
            queue: Queue::open(&store)?,
            store,
            settings,
            wake: tokio::sync::Notify::new(),
            redaction: Redaction::none(),
            parsed: Mutex::new(HashMap::new()),
            queuing: Mutex::new(()),
        })
    }

    /// Removes `redaction`'s elements from the full-resource notifications of subscribers who
    /// may not read them (the app passes the access policy's `redaction()`).
    pub fn with_redaction(mut self, redaction: Redaction) -> Notifier {
        self.redaction = redaction;
        self
    }

    /// What events and bundles are made with.
    pub fn parts(&self) -> Parts<'_> {
        Parts {
            store: &self.store,
            queue: &self.queue,
            redaction: &self.redaction,
            parsed: &self.parsed,
            wake: &self.wake,
        }
    }

    /// The subscription `id` as the notifier reads it (`None`: no such subscription, or
    /// deleted). Its owner is the store's (`LocalResource::owner`).
    pub fn subscription(&self, id: &str) -> Result<Option<SubscriptionView>, NotifyError> {
        subscription::stored(&self.store, id)
    }

    /// Every subscription whose events are queued and delivered (`requested` — waiting for
    /// its handshake — and `active`), not past its `end`, in id order: what delivery serves.
    pub fn active_subscriptions(&self) -> Result<Vec<SubscriptionView>, NotifyError> {
        subscription::active(&self.store)
    }

    /// The subscriptions with events not yet acknowledged.
    pub fn pending_subscriptions(&self) -> Result<Vec<String>, NotifyError> {
        Ok(self.queue.pending()?)
    }

    /// The subscriptions written (created, updated, deleted, their status changed) after the
    /// change log's `seq`, each with its view when it is still served (`None`: deleted,
    /// `off`, `error` or ended), and the log's last number read.
    pub fn subscriptions_changed_after(
        &self,
        seq: u64,
    ) -> Result<(ChangedSubscriptions, u64), NotifyError> {
        let mut last = seq;
        let mut ids = std::collections::BTreeSet::new();
        loop {
            let changes = self.store.changes_after(last, 10_000)?;
            let Some(end) = changes.last().map(|c| c.seq) else {
                break;
            };
            last = end;
            ids.extend(
                changes
                    .into_iter()
                    .filter(|c| c.rtype == LocalType::Subscription)
                    .map(|c| c.id),
            );
        }
        let now = self.store.clock().now_utc();
        let mut changed = Vec::with_capacity(ids.len());
        for id in ids {
            let view = self
                .subscription(&id)?
                .filter(|view| subscription::is_served(view, now));
            changed.push((id, view));
        }
        Ok((changed, last))
    }

    /// Records the rights of the subscription's writer (called after each create or update
    /// by its owner): whether its notifications may carry restricted elements.
    pub fn register(&self, id: &str, subscriber: &Subscriber) -> Result<(), NotifyError> {
        self.queue
            .register(id, subscriber.restricted, &subscriber.unlocked)?;
        self.store.flush()?;
        self.wake.notify_waiters();
        Ok(())
    }

    /// Forgets a deleted subscription's queue.
    pub fn forget(&self, id: &str) -> Result<(), NotifyError> {
        self.queue.forget(id)?;
        self.store.flush()?;
        self.wake.notify_waiters();
        Ok(())
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
    /// server: `requested` for rest-hook until its handshake succeeds). For an update, call
    /// [`Notifier::check_update`], which knows the stored state.
    pub fn check_subscription(
        &self,
        body: Value,
        subscriber: &Subscriber,
    ) -> Result<Value, NotifyError> {
        self.check_update(body, subscriber, None)
    }

    /// [`Notifier::check_subscription`] for an update of `previous` (`None`: a create): a
    /// subscription whose channel is unchanged keeps `active`; a client may turn it `off`,
    /// or on again.
    pub fn check_update(
        &self,
        body: Value,
        subscriber: &Subscriber,
        previous: Option<&SubscriptionView>,
    ) -> Result<Value, NotifyError> {
        let _ = subscriber; // its rights are recorded by `register` once the id is known
        let allow = &self.settings.allow;
        let policy = |url: &str| endpoint_policy(url, allow);
        let body = subscription::check(body, previous, self.store.clock().now_utc(), &policy)?;
        for filter in subscription::read("", 0, &body)?.filters {
            for list in &filter.lists {
                if !matches!(self.store.read(LocalType::List, list)?, Read::Found(_)) {
                    return Err(NotifyError::Refused(format!(
                        "the filter `{}` names the List `{list}`, which does not exist: create it first",
                        filter.text
                    )));
                }
            }
        }
        Ok(body)
    }

    /// Queues the events of the generations switched to since the last call (and at start,
    /// of the ones switched to while the server was down): blocking.
    pub fn after_switch(&self, generations: &Generations) -> Result<usize, NotifyError> {
        let _one_at_a_time = self.queuing.lock().expect("queuing lock");
        super::events::after_switch(&self.parts(), generations)
    }

    /// Queues the events of the local writes not yet processed (the store's change log).
    pub fn after_local_writes(&self, generations: &Generations) -> Result<usize, NotifyError> {
        let _ = generations;
        let _one_at_a_time = self.queuing.lock().expect("queuing lock");
        super::events::after_local_writes(&self.parts())
    }

    /// Events `first..=last` of a subscription (`$events`, and what delivery sends).
    pub fn events(
        &self,
        id: &str,
        first: u64,
        last: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Event>, NotifyError> {
        Ok(self.queue.events(id, first, last, limit)?)
    }

    /// How many events the subscription has had, and the last one delivered (`None`: no such
    /// subscription).
    pub fn counters(&self, id: &str) -> Result<Option<(u64, u64)>, NotifyError> {
        if self.subscription(id)?.is_none() {
            return Ok(None);
        }
        let counts = self.queue.counters(id)?.unwrap_or_default();
        Ok(Some((counts.total, counts.acknowledged)))
    }

    /// Records that events up to `number` reached the subscriber, and drops the acknowledged
    /// events older than the retention (`settings.retry_for`).
    pub fn acknowledge(&self, id: &str, number: u64) -> Result<(), NotifyError> {
        self.queue.acknowledge(id, number)?;
        let keep_since = self.store.clock().now_utc() - self.settings.retry_for;
        self.queue.prune(id, keep_since)?;
        self.store.flush()?;
        Ok(())
    }

    /// Sets the subscription's status (a new version of it), with the reason for `error`
    /// (`Subscription.error`). Nothing is written when it is already in that state with that
    /// reason; nothing either when it was deleted meanwhile.
    pub fn set_state(
        &self,
        id: &str,
        state: State,
        reason: Option<&str>,
    ) -> Result<(), NotifyError> {
        // A client's update may land between the read and the write: read again then.
        for _ in 0..3 {
            let Read::Found(resource) = self.store.read(LocalType::Subscription, id)? else {
                return Ok(());
            };
            let mut json = resource.json.clone();
            let object = json.as_object_mut().ok_or_else(|| {
                NotifyError::Local(LocalError::Store(format!(
                    "Subscription/{id} is not an object"
                )))
            })?;
            let same_state = object.get("status").and_then(Value::as_str) == Some(state.as_str());
            let same_reason = object.get("error").and_then(Value::as_str) == reason;
            if same_state && (state != State::Error || same_reason) {
                return Ok(());
            }
            object.insert("status".into(), Value::from(state.as_str()));
            match (state, reason) {
                (State::Error, Some(reason)) => {
                    object.insert("error".into(), Value::from(reason));
                }
                _ => {
                    object.remove("error");
                }
            }
            match self.store.update(
                LocalType::Subscription,
                id,
                json,
                Some(resource.version),
                &resource.owner,
            ) {
                Ok(_) => {
                    self.wake.notify_waiters();
                    return Ok(());
                }
                Err(LocalError::VersionConflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(NotifyError::Local(LocalError::Store(format!(
            "Subscription/{id} kept changing while its status was being set"
        ))))
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
        super::bundle::notification(&self.parts(), id, kind, events, base, generations, None)
    }
}

/// The endpoint policy (package C's `notify::endpoint::check`).
fn endpoint_policy(url: &str, allow: &[String]) -> Result<(), String> {
    super::endpoint::check(url, allow)
}
