//! Notification Bundles (D9), as the Backport IG's R4 examples show them: a `history` Bundle
//! whose first entry is the `SubscriptionStatus` `Parameters` (profile
//! `backport-subscription-status-r4`), then, for `full-resource` payloads, the resources the
//! events are about, each with the `request` that made it (`PUT Type/id`, or `DELETE Type/id`
//! for a deletion, which carries no resource).
//!
//! Payload levels: `empty` — no `topic`, no `focus`, no resource; `id-only` — the focus of
//! each event (`Type/id/_history/version`); `full-resource` — the focus and the resource, with
//! the restricted elements removed unless the subscription's creator had the right to read
//! them. Handshakes and heartbeats carry no event.

use rand::RngCore;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::parts::Parts;
use super::subscription::{self, Content, SubscriptionView};
use super::types::{Event, EventKind, NotificationType, NotifyError};
use crate::fhir::ResourceType;
use crate::generation::history::Kind;
use crate::generation::{Generation, Generations, StoreError};
use crate::local::{LocalError, LocalType};
use crate::search::redact::Redaction;

/// The profile of the status `Parameters`.
pub const STATUS_PROFILE: &str = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4";
/// The profile of the notification Bundle.
pub const NOTIFICATION_PROFILE: &str = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4";

impl NotificationType {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationType::Handshake => "handshake",
            NotificationType::Heartbeat => "heartbeat",
            NotificationType::EventNotification => "event-notification",
            NotificationType::QueryStatus => "query-status",
            NotificationType::QueryEvent => "query-event",
        }
    }

    /// Whether this kind of notification carries events.
    fn has_events(self) -> bool {
        matches!(
            self,
            NotificationType::EventNotification | NotificationType::QueryEvent
        )
    }
}

/// A random `urn:uuid:` (version 4).
pub fn urn_uuid() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn instant(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).expect("a UTC instant formats")
}

/// The `SubscriptionStatus` of a subscription: its state, counters and (for events) the
/// `notification-event` of each.
pub fn status(
    view: &SubscriptionView,
    kind: NotificationType,
    events_since_start: u64,
    events: &[Event],
    base: &str,
) -> Value {
    let mut parameters = vec![json!({
        "name": "subscription",
        "valueReference": {"reference": format!("{base}/Subscription/{}", view.id)}
    })];
    if view.content != Content::Empty {
        parameters.push(json!({"name": "topic", "valueCanonical": view.topic}));
    }
    parameters.push(json!({"name": "status", "valueCode": view.state.as_str()}));
    parameters.push(json!({"name": "type", "valueCode": kind.as_str()}));
    parameters.push(json!({
        "name": "events-since-subscription-start",
        "valueString": events_since_start.to_string()
    }));
    if kind.has_events() {
        for event in events {
            let mut parts = vec![
                json!({"name": "event-number", "valueString": event.number.to_string()}),
                json!({"name": "timestamp", "valueInstant": instant(event.timestamp)}),
            ];
            if view.content != Content::Empty {
                parts.push(json!({
                    "name": "focus",
                    "valueReference": {"reference": format!(
                        "{base}/{}/{}/_history/{}", event.resource_type, event.id, event.version
                    )}
                }));
            }
            parameters.push(json!({"name": "notification-event", "part": parts}));
        }
    }
    if let Some(error) = &view.error {
        parameters.push(json!({"name": "error", "valueCodeableConcept": {"text": error}}));
    }
    json!({
        "resourceType": "Parameters",
        "id": urn_uuid().trim_start_matches("urn:uuid:"),
        "meta": {"profile": [STATUS_PROFILE]},
        "parameter": parameters
    })
}

/// The notification Bundle of `kind` for `events` of subscription `id`, with the
/// subscription's payload content or `content` (`$events`' parameter).
pub fn notification(
    notifier: &Parts<'_>,
    id: &str,
    kind: NotificationType,
    events: &[Event],
    base: &str,
    generations: &Generations,
    content: Option<Content>,
) -> Result<Value, NotifyError> {
    let mut view = subscription::stored(notifier.store, id)?.ok_or_else(|| {
        NotifyError::Local(LocalError::Store(format!(
            "Subscription/{id} does not exist"
        )))
    })?;
    if let Some(content) = content {
        view.content = content;
    }
    let counters = notifier.queue.counters(id)?.unwrap_or_default();
    let events = if kind.has_events() { events } else { &[] };
    let status_url = urn_uuid();
    let mut entries = vec![json!({
        "fullUrl": status_url,
        "resource": status(&view, kind, counters.total, events, base),
        "request": {"method": "GET", "url": format!("Subscription/{id}/$status")},
        "response": {"status": "200"}
    })];
    if view.content == Content::FullResource {
        let redaction = if counters.restricted {
            Redaction::none()
        } else {
            notifier.redaction.except(|rtype, element| {
                counters
                    .unlocked
                    .iter()
                    .any(|u| u.split_once('.') == Some((rtype.as_str(), element)))
            })
        };
        let current = generations.current();
        for event in events {
            entries.push(resource_entry(
                notifier,
                current.as_deref(),
                &redaction,
                event,
                base,
            )?);
        }
    }
    let now = notifier.store.clock().now_utc();
    Ok(json!({
        "resourceType": "Bundle",
        "id": urn_uuid().trim_start_matches("urn:uuid:"),
        "meta": {"profile": [NOTIFICATION_PROFILE]},
        "type": "history",
        "timestamp": instant(now),
        "entry": entries
    }))
}

/// The entry of an event's resource: the version it is about, or the deletion.
fn resource_entry(
    notifier: &Parts<'_>,
    current: Option<&Generation>,
    redaction: &Redaction,
    event: &Event,
    base: &str,
) -> Result<Value, NotifyError> {
    let path = format!("{}/{}", event.resource_type, event.id);
    if event.kind == EventKind::Deleted {
        return Ok(json!({
            "fullUrl": format!("{base}/{path}"),
            "request": {"method": "DELETE", "url": path},
            "response": {"status": "204"}
        }));
    }
    let resource = match event.resource_type.parse::<ResourceType>() {
        Ok(rtype) => match current {
            Some(generation) => served_version(generation, rtype, &event.id, event.version)
                .map_err(|e| NotifyError::Local(LocalError::Store(e.to_string())))?
                .map(|bytes| redaction.apply(rtype, &bytes).into_owned())
                .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok()),
            None => None,
        },
        Err(_) if event.resource_type == LocalType::List.as_str() => notifier
            .store
            .vread(LocalType::List, &event.id, event.version)?
            .filter(|r| !r.deleted)
            .map(|r| r.json),
        Err(_) => None,
    };
    let mut entry = json!({
        "fullUrl": format!("{base}/{path}"),
        "request": {"method": "PUT", "url": path},
        "response": {"status": "200", "etag": format!("W/\"{}\"", event.version)}
    });
    if let Some(resource) = resource {
        entry["resource"] = resource;
    }
    Ok(entry)
}

/// The JSON of a served resource's `version`: the current one, or a past one from history
/// (`None` when history no longer has it).
fn served_version(
    generation: &Generation,
    rtype: ResourceType,
    id: &str,
    version: u32,
) -> Result<Option<Vec<u8>>, StoreError> {
    if let Some(resource) = generation.read(rtype, id)?
        && resource.version.number == version
    {
        return Ok(Some(resource.to_json()));
    }
    for entry in generation.history(rtype, id)? {
        if entry.version.number == version && entry.kind != Kind::Deleted {
            return Ok(generation.past_version(&entry)?.map(|r| r.to_json()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::subscription::{Channel, Content};
    use crate::notify::types::State;
    use std::time::Duration;

    fn view(content: Content) -> SubscriptionView {
        SubscriptionView {
            id: "s1".into(),
            version: 1,
            state: State::Active,
            error: None,
            topic: "urn:annuaire:SubscriptionTopic/resource-change".into(),
            filters: Vec::new(),
            channel: Channel::RestHook,
            endpoint: Some("https://h.example/hook".into()),
            headers: Vec::new(),
            payload: "application/fhir+json".into(),
            content,
            heartbeat: None,
            timeout: Duration::from_secs(30),
            max_count: 20,
            end: None,
        }
    }

    fn event() -> Event {
        Event {
            number: 7,
            timestamp: OffsetDateTime::UNIX_EPOCH,
            resource_type: "Practitioner".into(),
            id: "p1".into(),
            version: 3,
            kind: EventKind::Updated,
        }
    }

    fn part<'a>(parameters: &'a Value, name: &str) -> Option<&'a Value> {
        parameters["parameter"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
    }

    #[test]
    fn the_status_names_each_event_and_its_focus_as_the_payload_allows() {
        let status_of = |content| {
            status(
                &view(content),
                NotificationType::EventNotification,
                7,
                &[event()],
                "https://x/fhir",
            )
        };
        let id_only = status_of(Content::IdOnly);
        let notification = part(&id_only, "notification-event").unwrap();
        assert_eq!(notification["part"][0]["valueString"], "7");
        assert_eq!(
            notification["part"][2]["valueReference"]["reference"],
            "https://x/fhir/Practitioner/p1/_history/3"
        );
        assert_eq!(
            part(&id_only, "events-since-subscription-start").unwrap()["valueString"],
            "7"
        );
        let empty = status_of(Content::Empty);
        assert!(part(&empty, "topic").is_none());
        assert_eq!(
            part(&empty, "notification-event").unwrap()["part"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let heartbeat = status(
            &view(Content::IdOnly),
            NotificationType::Heartbeat,
            7,
            &[event()],
            "b",
        );
        assert!(part(&heartbeat, "notification-event").is_none());
    }

    #[test]
    fn uuids_are_version_4() {
        let id = urn_uuid();
        assert_eq!(id.len(), "urn:uuid:".len() + 36);
        assert_eq!(&id[23..24], "4");
    }
}
