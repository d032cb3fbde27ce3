//! The subscriptions' durable queue: sled trees of the local store's database, written in
//! transactions with the notifier's watermark, so that an event is queued exactly once across
//! crashes (D2, D8).
//!
//! Trees (layout in docs/subscriptions.md, "Events and numbering"):
//! - `notify.state`: the watermark, what the notifier has processed: the last generation (its
//!   id and import time) and the last `seq` of the store's change log;
//! - `notify.counters`: per subscription id, its events since it started, the last event its
//!   subscriber acknowledged, and whether it may receive restricted elements;
//! - `notify.events`: per subscription id and event number (big-endian, so in order), the
//!   event. Acknowledged events are kept for `$events` for the retention, then dropped.

use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use time::OffsetDateTime;

use super::types::{Event, EventKind};
use crate::generation::Millis;
use crate::local::{LocalError, LocalStore};

const STATE_TREE: &str = "notify.state";
const COUNTERS_TREE: &str = "notify.counters";
const EVENTS_TREE: &str = "notify.events";
const WATERMARK_KEY: &[u8] = b"watermark";

/// What the notifier has processed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermark {
    /// The id of the last generation whose changes are queued (`None` before the first).
    pub generation: Option<String>,
    /// Its import time (every change after it belongs to a later import).
    pub generation_time: Option<i64>,
    /// The last change log number processed.
    pub seq: u64,
    /// An import's events being queued in steps: the generation they are of, and the last
    /// subscription (in id order) whose events are queued. A restart resumes after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<Partial>,
}

/// How far the queuing of one import's events got (see [`Watermark::partial`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partial {
    pub generation: String,
    pub through: String,
}

/// A subscription's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// `events-since-subscription-start`: the number of its last event.
    pub total: u64,
    /// The last event number its subscriber is known to have received.
    pub acknowledged: u64,
    /// Its notifications may carry restricted elements (its creator's rights).
    pub restricted: bool,
    /// The restricted elements (`Type.element`) its notifications may carry when not all may
    /// be: those the access rules unlocked for its creator. Absent in what older servers
    /// wrote (none unlocked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unlocked: Vec<String>,
}

/// An event not yet numbered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub at: Millis,
    pub resource_type: String,
    pub id: String,
    pub version: u32,
    pub kind: EventKind,
}

#[derive(Serialize, Deserialize)]
struct StoredEvent {
    at: i64,
    /// When it was queued, by the store's clock: the retention counts from it (an import's
    /// time is the extraction's, which may be days before).
    #[serde(default)]
    queued: i64,
    #[serde(rename = "type")]
    resource_type: String,
    id: String,
    version: u32,
    kind: String,
}

fn kind_code(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Created => "created",
        EventKind::Updated => "updated",
        EventKind::Deactivated => "deactivated",
        EventKind::Deleted => "deleted",
    }
}

fn kind_of(code: &str) -> EventKind {
    match code {
        "created" => EventKind::Created,
        "deactivated" => EventKind::Deactivated,
        "deleted" => EventKind::Deleted,
        _ => EventKind::Updated,
    }
}

fn store_error(e: impl std::fmt::Display) -> LocalError {
    LocalError::Store(format!("subscription queue: {e}"))
}

fn event_key(subscription: &str, number: u64) -> Vec<u8> {
    let mut key = subscription_prefix(subscription);
    key.extend_from_slice(&number.to_be_bytes());
    key
}

fn subscription_prefix(subscription: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(subscription.len() + 9);
    key.extend_from_slice(subscription.as_bytes());
    key.push(0);
    key
}

fn decode_counters(bytes: Option<&[u8]>) -> Counters {
    bytes
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or_default()
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("plain data serializes")
}

/// The queue's trees.
pub struct Queue {
    state: sled::Tree,
    counters: sled::Tree,
    events: sled::Tree,
}

impl Queue {
    pub fn open(store: &LocalStore) -> Result<Queue, LocalError> {
        Ok(Queue {
            state: store.tree(STATE_TREE)?,
            counters: store.tree(COUNTERS_TREE)?,
            events: store.tree(EVENTS_TREE)?,
        })
    }

    /// What has been processed.
    pub fn watermark(&self) -> Result<Watermark, LocalError> {
        Ok(self
            .state
            .get(WATERMARK_KEY)
            .map_err(store_error)?
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default())
    }

    /// Queues `batch` (events per subscription, in order) and moves the watermark to `to`, in
    /// one transaction: both or neither. Returns how many events were queued. The caller
    /// flushes.
    pub fn push(
        &self,
        batch: &[(String, Vec<NewEvent>)],
        to: &Watermark,
        now: Millis,
    ) -> Result<usize, LocalError> {
        let result: Result<usize, TransactionError<LocalError>> =
            (&self.state, &self.counters, &self.events).transaction(|(state, counters, events)| {
                let mut queued = 0;
                for (subscription, new) in batch {
                    if new.is_empty() {
                        continue;
                    }
                    let mut counts =
                        decode_counters(counters.get(subscription.as_bytes())?.as_deref());
                    for event in new {
                        counts.total += 1;
                        let stored = StoredEvent {
                            at: event.at.0,
                            queued: now.0,
                            resource_type: event.resource_type.clone(),
                            id: event.id.clone(),
                            version: event.version,
                            kind: kind_code(event.kind).to_owned(),
                        };
                        events.insert(event_key(subscription, counts.total), encode(&stored))?;
                        queued += 1;
                    }
                    counters.insert(subscription.as_bytes(), encode(&counts))?;
                }
                state.insert(WATERMARK_KEY, encode(to))?;
                Ok::<_, ConflictableTransactionError<LocalError>>(queued)
            });
        result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => store_error(e),
        })
    }

    /// Events `first..=last` of a subscription, at most `limit`, in order.
    pub fn events(
        &self,
        subscription: &str,
        first: u64,
        last: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Event>, LocalError> {
        let start = event_key(subscription, first.max(1));
        let end = event_key(subscription, last.unwrap_or(u64::MAX));
        let mut out = Vec::new();
        for item in self.events.range(start..=end) {
            if out.len() >= limit {
                break;
            }
            let (key, value) = item.map_err(store_error)?;
            let number = u64::from_be_bytes(key[key.len() - 8..].try_into().expect("8 bytes"));
            let stored: StoredEvent = serde_json::from_slice(&value).map_err(store_error)?;
            out.push(Event {
                number,
                timestamp: Millis(stored.at).to_datetime(),
                resource_type: stored.resource_type,
                id: stored.id,
                version: stored.version,
                kind: kind_of(&stored.kind),
            });
        }
        Ok(out)
    }

    /// A subscription's counters (`None` for one never registered).
    pub fn counters(&self, subscription: &str) -> Result<Option<Counters>, LocalError> {
        Ok(self
            .counters
            .get(subscription.as_bytes())
            .map_err(store_error)?
            .map(|b| decode_counters(Some(&b))))
    }

    /// The subscriptions with events not yet acknowledged: one pass over the counters, so that
    /// delivery wakes only the workers that have something to send.
    pub fn pending(&self) -> Result<Vec<String>, LocalError> {
        let mut pending = Vec::new();
        for entry in self.counters.iter() {
            let (key, value) = entry.map_err(store_error)?;
            let counts = decode_counters(Some(&value));
            if counts.total > counts.acknowledged {
                pending.push(String::from_utf8_lossy(&key).into_owned());
            }
        }
        Ok(pending)
    }

    /// Records who may read what a subscription is sent (kept with its counters).
    pub fn register(
        &self,
        subscription: &str,
        restricted: bool,
        unlocked: &[String],
    ) -> Result<(), LocalError> {
        self.counters
            .update_and_fetch(subscription.as_bytes(), |old| {
                let mut counts = decode_counters(old);
                counts.restricted = restricted;
                counts.unlocked = unlocked.to_vec();
                Some(encode(&counts))
            })
            .map_err(store_error)?;
        Ok(())
    }

    /// Records that events up to `number` (never past the last one) were received.
    pub fn acknowledge(&self, subscription: &str, number: u64) -> Result<(), LocalError> {
        self.counters
            .update_and_fetch(subscription.as_bytes(), |old| {
                let mut counts = decode_counters(old);
                counts.acknowledged = counts.acknowledged.max(number.min(counts.total));
                Some(encode(&counts))
            })
            .map_err(store_error)?;
        Ok(())
    }

    /// Drops the acknowledged events of `subscription` queued before `before` (the
    /// retention): the numbering goes on.
    pub fn prune(&self, subscription: &str, before: OffsetDateTime) -> Result<usize, LocalError> {
        let Some(counts) = self.counters(subscription)? else {
            return Ok(0);
        };
        let before = Millis::from_datetime(before).0;
        let start = event_key(subscription, 1);
        let end = event_key(subscription, counts.acknowledged);
        let mut dropped = 0;
        for item in self.events.range(start..=end) {
            let (key, value) = item.map_err(store_error)?;
            let stored: StoredEvent = serde_json::from_slice(&value).map_err(store_error)?;
            if stored.queued >= before {
                break;
            }
            self.events.remove(key).map_err(store_error)?;
            dropped += 1;
        }
        Ok(dropped)
    }

    /// Forgets a deleted subscription's events and counters.
    pub fn forget(&self, subscription: &str) -> Result<(), LocalError> {
        for key in self
            .events
            .scan_prefix(subscription_prefix(subscription))
            .keys()
        {
            self.events
                .remove(key.map_err(store_error)?)
                .map_err(store_error)?;
        }
        self.counters
            .remove(subscription.as_bytes())
            .map_err(store_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    fn event(id: &str) -> NewEvent {
        NewEvent {
            at: Millis(1_000),
            resource_type: "Practitioner".into(),
            id: id.into(),
            version: 2,
            kind: EventKind::Updated,
        }
    }

    #[test]
    fn events_are_numbered_per_subscription_and_kept_with_the_watermark() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path(), Clock::system()).unwrap();
        let queue = Queue::open(&store).unwrap();
        let to = Watermark {
            generation: Some("g2".into()),
            generation_time: Some(1_000),
            seq: 0,
            partial: None,
        };
        let batch = vec![
            ("a".to_owned(), vec![event("p1"), event("p2")]),
            ("ab".to_owned(), vec![event("p3")]),
        ];
        assert_eq!(queue.push(&batch, &to, Millis(5_000)).unwrap(), 3);
        assert_eq!(queue.watermark().unwrap(), to);
        queue
            .push(&[("a".to_owned(), vec![event("p4")])], &to, Millis(6_000))
            .unwrap();
        let numbers: Vec<u64> = queue
            .events("a", 1, None, 10)
            .unwrap()
            .iter()
            .map(|e| e.number)
            .collect();
        assert_eq!(numbers, vec![1, 2, 3]);
        assert_eq!(queue.events("ab", 1, None, 10).unwrap()[0].id, "p3");
        assert_eq!(queue.events("a", 2, Some(2), 10).unwrap()[0].id, "p2");
        queue.acknowledge("a", 9).unwrap();
        assert_eq!(queue.counters("a").unwrap().unwrap().acknowledged, 3);
        // Kept for the retention from when they were queued, not from the import's time.
        assert_eq!(queue.prune("a", Millis(5_000).to_datetime()).unwrap(), 0);
        assert_eq!(queue.prune("a", Millis(5_001).to_datetime()).unwrap(), 2);
        assert_eq!(queue.events("a", 1, None, 10).unwrap()[0].number, 3);
        assert_eq!(queue.prune("a", Millis(7_000).to_datetime()).unwrap(), 1);
        assert!(queue.events("a", 1, None, 10).unwrap().is_empty());
        queue
            .push(&[("a".to_owned(), vec![event("p5")])], &to, Millis(8_000))
            .unwrap();
        assert_eq!(queue.events("a", 1, None, 10).unwrap()[0].number, 4);
    }
}
