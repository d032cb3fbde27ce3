//! Which changes each subscription is told of (D7, D8).
//!
//! After a generation switch: the changes of the import(s) since the notifier's watermark —
//! every current resource stamped after the watermark generation's import time (created,
//! updated, deactivated), and every deletion the history records after it — each matched
//! against every filter of every subscription **in the generation before and in the new one**
//! (R5 `queryCriteria`, `requireBoth=false`: a resource that leaves the filtered set is told).
//! A filter is a search run by the search engine on a whole generation, once per distinct
//! filter per switch; its parse is cached. When the generation before is no longer open (the
//! server was down across two imports), changes are matched against the new one only, and a
//! log line says so.
//!
//! After local writes: the store's change log after the notifier's `seq` → `List` events, for
//! the subscriptions with a `List` filter.
//!
//! Either way, the events of one step are queued, numbered, in one transaction with the new
//! watermark, then flushed, then delivery is woken.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use roaring::RoaringBitmap;

use super::parts::Parts;
use super::queue::{NewEvent, Partial, Watermark};
use super::subscription::{self, Filter, FilterType, SubscriptionView};
use super::types::{EventKind, NotifyError};
use crate::fhir::ResourceType;
use crate::generation::history::Kind;
use crate::generation::{Generation, Generations, Millis, State, StoreError};
use crate::local::members::StoredLists;
use crate::local::{ChangeKind, LocalError, LocalType};
use crate::search::engine::Engine;
use crate::search::index::reader::IndexReader;
use crate::search::limits::Budget;
use crate::search::lists::ListMembers;
use crate::search::query::{self, SearchRequest};

/// The store's clock, in milliseconds.
fn now(notifier: &Parts<'_>) -> Millis {
    Millis::from_datetime(notifier.store.clock().now_utc())
}

/// Change log entries read per transaction.
const CHANGES_PER_STEP: usize = 1000;

/// One change of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub rtype: ResourceType,
    pub id: String,
    pub version: u32,
    pub kind: EventKind,
    pub at: Millis,
    /// Its document in the new generation (none when deleted).
    pub new_doc: Option<u32>,
    /// Its document in the generation before (none when it was not there, or that generation
    /// is not open).
    pub prev_doc: Option<u32>,
}

fn store_failure(e: StoreError) -> NotifyError {
    NotifyError::Local(LocalError::Store(e.to_string()))
}

fn search_failure(what: &str, e: impl std::fmt::Display) -> NotifyError {
    NotifyError::Local(LocalError::Store(format!("{what}: {e}")))
}

/// The document of `id` in `generation` (documents are numbered in id order).
fn document_of(
    generation: &Generation,
    rtype: ResourceType,
    id: &str,
) -> Result<Option<u32>, StoreError> {
    let after = generation.first_document_after(rtype, id)?;
    let Some(candidate) = after.checked_sub(1) else {
        return Ok(None);
    };
    Ok(generation
        .document_id(rtype, candidate)?
        .filter(|(found, _)| found == id)
        .map(|_| candidate))
}

/// The changes of `current` since `since` (the import time of the last generation processed),
/// in event order: time, type, id.
pub fn import_changes(
    current: &Generation,
    previous: Option<&Generation>,
    since: Millis,
) -> Result<Vec<Change>, StoreError> {
    let mut changes = Vec::new();
    for rtype in ResourceType::ALL {
        for doc in 0..current.document_count(rtype) {
            let Some((id, record)) = current.document_id(rtype, doc)? else {
                continue;
            };
            if record.version.last_updated <= since {
                continue;
            }
            let prev_doc = match previous {
                Some(previous) => document_of(previous, rtype, &id)?,
                None => None,
            };
            let kind = if record.state == State::Deactivated {
                EventKind::Deactivated
            } else if (previous.is_some() && prev_doc.is_none())
                || (previous.is_none() && record.version.number == 1)
            {
                EventKind::Created
            } else {
                EventKind::Updated
            };
            changes.push(Change {
                rtype,
                id,
                version: record.version.number,
                kind,
                at: record.version.last_updated,
                new_doc: Some(doc),
                prev_doc,
            });
        }
    }
    let mut deleted = Vec::new();
    current.scan_history_by_time(&[], &mut |entry| {
        if entry.version.last_updated <= since {
            return false;
        }
        if entry.kind == Kind::Deleted {
            deleted.push(entry);
        }
        true
    })?;
    for entry in deleted {
        let prev_doc = match previous {
            Some(previous) => document_of(previous, entry.rtype, &entry.id)?,
            None => None,
        };
        changes.push(Change {
            rtype: entry.rtype,
            id: entry.id,
            version: entry.version.number,
            kind: EventKind::Deleted,
            at: entry.version.last_updated,
            new_doc: None,
            prev_doc,
        });
    }
    changes.sort_by(|a, b| (a.at, a.rtype.as_str(), &a.id).cmp(&(b.at, b.rtype.as_str(), &b.id)));
    Ok(changes)
}

/// Queues the events of the generations switched to since the watermark (see the module).
pub fn after_switch(notifier: &Parts<'_>, generations: &Generations) -> Result<usize, NotifyError> {
    let Some(current) = generations.current() else {
        return Ok(0);
    };
    let mark = notifier.queue.watermark()?;
    let current_id = current.info().id().into_owned();
    if mark.generation.as_deref() == Some(current_id.as_str()) {
        return Ok(0);
    }
    let to = Watermark {
        generation: Some(current_id.clone()),
        generation_time: Some(current.info().import_time().0),
        seq: mark.seq,
        partial: None,
    };
    let Some(since) = mark.generation_time else {
        // The first generation this store sees: no subscription can predate it.
        notifier.queue.push(&[], &to, now(notifier))?;
        notifier.store.flush()?;
        return Ok(0);
    };
    let previous = mark
        .generation
        .as_deref()
        .and_then(|id| generations.get(id));
    if previous.is_none() {
        tracing::info!(
            "subscriptions: the generation before {current_id} is no longer open (more than one import, or the server was down across one); its changes are matched against the new generation only, so a resource that left a filtered set is not told"
        );
    }
    let started = std::time::Instant::now();
    let changes =
        import_changes(&current, previous.as_deref(), Millis(since)).map_err(store_failure)?;
    // Resuming an import's queuing that a stop interrupted: the subscriptions after the last
    // one whose events are queued.
    let resume_after = mark
        .partial
        .as_ref()
        .filter(|partial| partial.generation == current_id)
        .map(|partial| partial.through.clone());
    let subscriptions: Vec<SubscriptionView> = subscription::active(notifier.store)?
        .into_iter()
        .filter(|s| resume_after.as_ref().is_none_or(|after| s.id > *after))
        .collect();
    let mut queued = 0;
    let mut step: Vec<(String, Vec<NewEvent>)> = Vec::new();
    let mut in_step = 0;
    match_import(
        notifier,
        &subscriptions,
        &changes,
        &current,
        previous.as_deref(),
        &mut |subscription, events| {
            in_step += events.len();
            step.push((subscription, events));
            if in_step >= EVENTS_PER_STEP {
                let through = step.last().map(|(id, _)| id.clone()).unwrap_or_default();
                let partial = Watermark {
                    partial: Some(Partial {
                        generation: current_id.clone(),
                        through,
                    }),
                    ..mark.clone()
                };
                queued += notifier.queue.push(&step, &partial, now(notifier))?;
                notifier.store.flush()?;
                notifier.wake.notify_waiters();
                step.clear();
                in_step = 0;
            }
            Ok(())
        },
    )?;
    queued += notifier.queue.push(&step, &to, now(notifier))?;
    notifier.store.flush()?;
    notifier.wake.notify_waiters();
    tracing::info!(
        "subscriptions: {} change(s) of {current_id} matched against {} subscription(s): {queued} event(s) queued in {} ms",
        changes.len(),
        subscriptions.len(),
        started.elapsed().as_millis()
    );
    Ok(queued)
}

/// What a served-type filter matches among one type's changes: their positions in `changes`.
type Matched = HashSet<usize>;

/// Events queued per transaction when an import's events are queued: a national import with
/// thousands of subscriptions makes millions of events, and one sled transaction holding them
/// all took more than 20 GB of memory (BENCHMARKS.md, "Subscriptions"). Each step also records
/// how far it got ([`Partial`]), so a stop between two steps neither loses nor repeats events.
const EVENTS_PER_STEP: usize = 20_000;

/// The events of each subscription among `changes`, given to `emit` subscription by
/// subscription, in the order of `subscriptions`.
fn match_import(
    notifier: &Parts<'_>,
    subscriptions: &[SubscriptionView],
    changes: &[Change],
    current: &Generation,
    previous: Option<&Generation>,
    emit: &mut dyn FnMut(String, Vec<NewEvent>) -> Result<(), NotifyError>,
) -> Result<(), NotifyError> {
    let mut by_type: HashMap<ResourceType, Vec<usize>> = HashMap::new();
    for (position, change) in changes.iter().enumerate() {
        by_type.entry(change.rtype).or_default().push(position);
    }
    let budget = Budget::unlimited();
    let now = notifier.store.clock().now_utc();
    let new_engine = Engine::new(IndexReader::new(current, &budget), now);
    let prev_engine = previous.map(|p| Engine::new(IndexReader::new(p, &budget), now));
    let lists = StoredLists(notifier.store);
    let mut evaluated: HashMap<String, Arc<Matched>> = HashMap::new();
    for subscription in subscriptions {
        let mut positions = HashSet::new();
        for filter in &subscription.filters {
            let FilterType::Served(rtype) = filter.rtype else {
                continue;
            };
            let Some(candidates) = by_type.get(&rtype) else {
                continue;
            };
            let matched = match evaluated.get(&filter.text) {
                Some(matched) => matched.clone(),
                None => {
                    let request = parsed(notifier, rtype, filter)?;
                    let matched = Arc::new(evaluate(
                        &new_engine,
                        prev_engine.as_ref(),
                        &lists,
                        rtype,
                        &request,
                        filter,
                        changes,
                        candidates,
                    )?);
                    evaluated.insert(filter.text.clone(), matched.clone());
                    matched
                }
            };
            positions.extend(matched.iter().copied());
        }
        if positions.is_empty() {
            continue;
        }
        let mut positions: Vec<usize> = positions.into_iter().collect();
        positions.sort_unstable();
        let events = positions
            .into_iter()
            .map(|p| {
                let change = &changes[p];
                NewEvent {
                    at: change.at,
                    resource_type: change.rtype.as_str().to_owned(),
                    id: change.id.clone(),
                    version: change.version,
                    kind: change.kind,
                }
            })
            .collect();
        emit(subscription.id.clone(), events)?;
    }
    Ok(())
}

/// A filter's parsed search, from the cache.
fn parsed(
    notifier: &Parts<'_>,
    rtype: ResourceType,
    filter: &Filter,
) -> Result<Arc<SearchRequest>, NotifyError> {
    let mut cache = notifier.parsed.lock().expect("filter cache");
    if let Some(request) = cache.get(&filter.text) {
        return Ok(request.clone());
    }
    let request = Arc::new(
        query::parse(rtype, &filter.params, true)
            .map_err(|e| search_failure(&format!("the stored filter `{}`", filter.text), e))?,
    );
    cache.insert(filter.text.clone(), request.clone());
    Ok(request)
}

/// The changes among `candidates` a filter matches: in the new generation or in the one
/// before, and (with `_list`) members of every list it names.
#[allow(clippy::too_many_arguments)]
fn evaluate(
    new_engine: &Engine<'_>,
    prev_engine: Option<&Engine<'_>>,
    lists: &StoredLists<'_>,
    rtype: ResourceType,
    request: &SearchRequest,
    filter: &Filter,
    changes: &[Change],
    candidates: &[usize],
) -> Result<Matched, NotifyError> {
    let failure = |e| search_failure(&format!("the filter `{}`", filter.text), e);
    let in_new: RoaringBitmap = new_engine
        .matches(rtype, &request.criteria)
        .map_err(failure)?;
    let in_prev: Option<RoaringBitmap> = prev_engine
        .map(|engine| engine.matches(rtype, &request.criteria))
        .transpose()
        .map_err(failure)?;
    let mut members: Vec<HashSet<String>> = Vec::new();
    for list in &filter.lists {
        let ids = lists
            .members(list, rtype)
            .map_err(failure)?
            .unwrap_or_default();
        members.push(ids.into_iter().collect());
    }
    Ok(candidates
        .iter()
        .copied()
        .filter(|p| {
            let change = &changes[*p];
            let matched_new = change.new_doc.is_some_and(|d| in_new.contains(d));
            let matched_prev = match (&in_prev, change.prev_doc) {
                (Some(bitmap), Some(doc)) => bitmap.contains(doc),
                _ => false,
            };
            (matched_new || matched_prev) && members.iter().all(|m| m.contains(&change.id))
        })
        .collect())
}

/// Whether a `List` filter selects the list `id`.
fn list_filter_selects(filter: &Filter, id: &str) -> bool {
    filter.rtype == FilterType::List
        && filter
            .params
            .iter()
            .all(|(_, ids)| ids.split(',').any(|candidate| candidate == id))
}

/// Queues the List events of the store's changes after the watermark (see the module).
pub fn after_local_writes(notifier: &Parts<'_>) -> Result<usize, NotifyError> {
    let mut subscriptions: Option<Vec<(SubscriptionView, Millis)>> = None;
    let mut queued = 0;
    loop {
        let mark = notifier.queue.watermark()?;
        let changes = notifier.store.changes_after(mark.seq, CHANGES_PER_STEP)?;
        let Some(last) = changes.last() else {
            break;
        };
        if subscriptions.is_none() {
            subscriptions = Some(with_start(notifier, subscription::active(notifier.store)?)?);
        }
        let mut batch: Vec<(String, Vec<NewEvent>)> = Vec::new();
        for (subscription, start) in subscriptions.iter().flatten() {
            let events: Vec<NewEvent> = changes
                .iter()
                .filter(|c| c.rtype == LocalType::List)
                .filter(|c| Millis::from_datetime(c.at) >= *start)
                .filter(|c| {
                    subscription
                        .filters
                        .iter()
                        .any(|f| list_filter_selects(f, &c.id))
                })
                .map(|c| NewEvent {
                    at: Millis::from_datetime(c.at),
                    resource_type: "List".to_owned(),
                    id: c.id.clone(),
                    version: c.version,
                    kind: match c.kind {
                        ChangeKind::Created => EventKind::Created,
                        ChangeKind::Updated => EventKind::Updated,
                        ChangeKind::Deleted => EventKind::Deleted,
                    },
                })
                .collect();
            if !events.is_empty() {
                batch.push((subscription.id.clone(), events));
            }
        }
        let to = Watermark {
            seq: last.seq,
            ..mark
        };
        queued += notifier.queue.push(&batch, &to, now(notifier))?;
        notifier.store.flush()?;
    }
    if queued > 0 {
        notifier.wake.notify_waiters();
    }
    Ok(queued)
}

/// The subscriptions with a List filter, each with when it was created: a write before it is
/// not its event, even when the notifier reads the log later.
fn with_start(
    notifier: &Parts<'_>,
    subscriptions: Vec<SubscriptionView>,
) -> Result<Vec<(SubscriptionView, Millis)>, NotifyError> {
    let mut out = Vec::new();
    for subscription in subscriptions {
        if !subscription
            .filters
            .iter()
            .any(|f| f.rtype == FilterType::List)
        {
            continue;
        }
        let history = notifier
            .store
            .history(LocalType::Subscription, &subscription.id)?;
        let created = history
            .iter()
            .map(|version| Millis::from_datetime(version.last_updated))
            .min()
            .unwrap_or(Millis(i64::MIN));
        out.push((subscription, created));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_filter_selects_by_id_or_every_list() {
        let every = super::super::subscription::parse_filter("List").unwrap();
        let two = super::super::subscription::parse_filter("List?_id=a,b").unwrap();
        assert!(list_filter_selects(&every, "z"));
        assert!(list_filter_selects(&two, "b"));
        assert!(!list_filter_selects(&two, "c"));
        let served = super::super::subscription::parse_filter("Practitioner?_id=a").unwrap();
        assert!(!list_filter_selects(&served, "a"));
    }
}
