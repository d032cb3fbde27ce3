//! Subscriptions over real HTTP: the events a generated day 1 → day 2 import queues for each
//! subscription are exactly the changes of its subscribed set, in order, numbered 1..n with no
//! gap — checked against an oracle independent of the notifier (each day imported alone into a
//! fresh directory, resources compared content by content, restricted to what the same filter
//! matches on either day's own store), and the same events received by a rest-hook receiver on
//! a real socket; `$status` and `$events` (ranges, payload levels); an interrupted import's
//! queuing resumed where it stopped; the refusals of what is not supported (422); another
//! caller's subscription is not found (404).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use annuaire::fhir::ResourceType;
use annuaire::generation::{DataDir, Generation};
use annuaire::search::engine::Engine;
use annuaire::search::index::reader::IndexReader;
use annuaire::search::limits::Budget;
use annuaire::settings::Settings;
use annuaire_generate::{GenerateOptions, GeneratedFiles};
use serde_json::{Value, json};
use time::OffsetDateTime;

const PERSONS: u64 = 300;
const SEED: u64 = 27;
const TOPIC: &str = "urn:annuaire:SubscriptionTopic/resource-change";
const FILTER: &str =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria";
const CONTENT: &str =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content";

/// Day `n`'s import time: noon UTC, `n` days after 2026-11-01.
fn day(n: i64) -> OffsetDateTime {
    time::macros::datetime!(2026-11-01 12:00:00 UTC) + time::Duration::days(n - 1)
}

fn generate(dir: &Path, day: u32) -> GeneratedFiles {
    annuaire_generate::generate(&GenerateOptions::new(PERSONS, SEED).with_day(day), dir)
        .expect("generate a day")
}

/// A `Subscription` body on the topic with these filters (websocket: nothing is delivered
/// while the test reads the queue).
fn subscription(filters: &[&str], content: &str) -> Value {
    json!({
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "the correspondents of a ward",
        "criteria": TOPIC,
        "_criteria": {"extension": filters.iter().map(|f| json!({"url": FILTER, "valueString": f})).collect::<Vec<_>>()},
        "channel": {
            "type": "websocket",
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": CONTENT, "valueCode": content}]}
        }
    })
}

/// Every current resource of a data directory imported alone, without `meta`'s version.
type Snapshot = BTreeMap<(ResourceType, String), Value>;

fn open(data: &Path) -> Generation {
    let dir = DataDir::create(data).unwrap();
    annuaire::generation::open_current(&dir, common::CACHE_BYTES)
        .unwrap()
        .1
}

fn snapshot(generation: &Generation) -> Snapshot {
    let mut out = BTreeMap::new();
    for rtype in ResourceType::ALL {
        for doc in 0..generation.document_count(rtype) {
            let (id, stored) = generation.document(rtype, doc).unwrap().unwrap();
            out.insert(
                (rtype, id),
                without_version(serde_json::from_slice(&stored.to_json()).unwrap()),
            );
        }
    }
    out
}

fn without_version(mut json: Value) -> Value {
    if let Some(meta) = json.get_mut("meta").and_then(Value::as_object_mut) {
        meta.remove("versionId");
        meta.remove("lastUpdated");
    }
    json
}

/// The ids of `rtype` a search (`name=value` pairs) matches on a day imported alone.
fn search_ids(
    generation: &Generation,
    rtype: ResourceType,
    params: &[(String, String)],
) -> BTreeSet<String> {
    let request = annuaire::search::query::parse(rtype, params, true).expect("a valid filter");
    let budget = Budget::unlimited();
    let engine = Engine::new(
        IndexReader::new(generation, &budget),
        OffsetDateTime::now_utc(),
    );
    engine
        .matches(rtype, &request.criteria)
        .unwrap()
        .iter()
        .map(|doc| generation.document_id(rtype, doc).unwrap().unwrap().0)
        .collect()
}

/// What the oracle expects of one filter: each changed resource it matches on either day, in
/// event order (type, id), with its content on day 2 (`None`: it left the extraction, so the
/// import keeps it deactivated).
type Expected = Vec<(ResourceType, String, Option<Value>)>;

struct Oracle {
    day1: Generation,
    day2: Generation,
    before: Snapshot,
    after: Snapshot,
}

impl Oracle {
    fn expected(
        &self,
        rtype: ResourceType,
        params: &[(String, String)],
        members: Option<&BTreeSet<String>>,
    ) -> Expected {
        let mut matched = search_ids(&self.day1, rtype, params);
        matched.extend(search_ids(&self.day2, rtype, params));
        let mut out = Vec::new();
        for id in matched {
            if members.is_some_and(|m| !m.contains(&id)) {
                continue;
            }
            let key = (rtype, id.clone());
            let (old, new) = (self.before.get(&key), self.after.get(&key));
            if old != new {
                out.push((rtype, id, new.cloned()));
            }
        }
        out
    }

    /// Ids of `rtype` that change between the days, and ids that do not.
    fn changed_and_unchanged(&self, rtype: ResourceType) -> (Vec<String>, Vec<String>) {
        let mut changed = Vec::new();
        let mut unchanged = Vec::new();
        for ((t, id), content) in &self.before {
            if *t != rtype {
                continue;
            }
            if self.after.get(&(*t, id.clone())) == Some(content) {
                unchanged.push(id.clone());
            } else {
                changed.push(id.clone());
            }
        }
        (changed, unchanged)
    }
}

fn pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

async fn post(client: &reqwest::Client, url: String, body: &Value) -> (u16, Value) {
    let response = client
        .post(url)
        .header("content-type", "application/fhir+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(client: &reqwest::Client, url: String) -> (u16, Value) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `events-since-subscription-start` of a subscription, from `$status`.
async fn events_since_start(client: &reqwest::Client, base: &str, id: &str) -> u64 {
    let (status, bundle) = get(client, format!("{base}/fhir/Subscription/{id}/$status")).await;
    assert_eq!(status, 200, "{bundle}");
    parameter(
        &bundle["entry"][0]["resource"],
        "events-since-subscription-start",
    )["valueString"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn parameter<'a>(parameters: &'a Value, name: &str) -> &'a Value {
    parameters["parameter"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or(&Value::Null)
}

/// The notification events of a Bundle: (number, focus reference).
fn notification_events(bundle: &Value) -> Vec<(u64, String, String)> {
    bundle["entry"][0]["resource"]["parameter"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "notification-event")
        .map(|p| {
            let part = |name: &str| {
                p["part"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|x| x["name"] == name)
                    .cloned()
                    .unwrap_or(Value::Null)
            };
            (
                part("event-number")["valueString"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap(),
                part("timestamp")["valueInstant"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                part("focus")["valueReference"]["reference"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

/// Checks the queued events of a subscription against the oracle: numbered 1..n, in order,
/// each about the expected resource, stamped with day 2, and (full-resource) its content.
async fn check_events(
    client: &reqwest::Client,
    base: &str,
    id: &str,
    expected: &Expected,
    what: &str,
) {
    let (status, bundle) = get(
        client,
        format!("{base}/fhir/Subscription/{id}/$events?content=full-resource"),
    )
    .await;
    assert_eq!(status, 200, "{bundle}");
    assert_eq!(bundle["type"], "history");
    assert_eq!(
        parameter(&bundle["entry"][0]["resource"], "type")["valueCode"],
        "query-event"
    );
    let events = notification_events(&bundle);
    let got: Vec<String> = events
        .iter()
        .map(|(_, _, focus)| {
            let path = focus
                .strip_prefix(&format!("{base}/fhir/"))
                .unwrap_or(focus);
            path.split("/_history/").next().unwrap().to_owned()
        })
        .collect();
    let want: Vec<String> = expected
        .iter()
        .map(|(t, i, _)| format!("{t}/{i}"))
        .collect();
    assert_eq!(got, want, "{what}: the events are not the oracle's changes");
    let numbers: Vec<u64> = events.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(
        numbers,
        (1..=expected.len() as u64).collect::<Vec<_>>(),
        "{what}"
    );
    for (_, timestamp, _) in &events {
        assert_eq!(timestamp, &common::rfc3339(day(2)), "{what}");
    }
    let resources = &bundle["entry"].as_array().unwrap()[1..];
    assert_eq!(resources.len(), expected.len(), "{what}");
    for (entry, (rtype, id, content)) in resources.iter().zip(expected) {
        assert_eq!(entry["request"]["url"], format!("{rtype}/{id}"), "{what}");
        match content {
            Some(content) => assert_eq!(
                &without_version(entry["resource"].clone()),
                content,
                "{what}: {rtype}/{id} is not day 2's"
            ),
            None => assert_eq!(
                entry["resource"]["active"], false,
                "{what}: {rtype}/{id} left: deactivated"
            ),
        }
    }
}

/// Creates a subscription, returns its id.
async fn create(client: &reqwest::Client, base: &str, body: &Value) -> String {
    let (status, created) = post(client, format!("{base}/fhir/Subscription"), body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["status"], "active",
        "a websocket subscription is active at once"
    );
    created["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imports_events_are_exactly_the_changes_of_each_subscribed_set() {
    let root = common::scratch_dir("annuaire-subscriptions-");
    let day1 = generate(&root.path().join("day1"), 1);
    let day2 = generate(&root.path().join("day2"), 2);
    // The oracle: each day alone.
    common::import_files(&day1, &root.path().join("alone1"), Some(day(1)));
    common::import_files(&day2, &root.path().join("alone2"), Some(day(2)));
    let (one, two) = (
        open(&root.path().join("alone1/")),
        open(&root.path().join("alone2/")),
    );
    let oracle = Oracle {
        before: snapshot(&one),
        after: snapshot(&two),
        day1: one,
        day2: two,
    };

    // The served directory: day 1, then day 2 once the subscriptions exist.
    let data = root.path().join("data");
    common::import_files(&day1, &data, Some(day(1)));
    let mut settings = common::settings_for(&data);
    settings.subscription_allow = vec!["127.0.0.1".into()];
    let served = common::spawn_server(settings, Some(Duration::from_millis(100)));
    let base = served.base.clone();
    let client = common::client();

    // A practitioner set: changed and unchanged ones.
    let (changed, unchanged) = oracle.changed_and_unchanged(ResourceType::Practitioner);
    assert!(changed.len() >= 3, "day 2 changes some practitioners");
    let set: Vec<&str> = changed
        .iter()
        .take(4)
        .chain(unchanged.iter().take(3))
        .map(String::as_str)
        .collect();
    let by_id = format!("_id={}", set.join(","));
    // The roles of a practitioner whose roles change.
    let (roles_changed, _) = oracle.changed_and_unchanged(ResourceType::PractitionerRole);
    let practitioner_of_role = roles_changed
        .iter()
        .find_map(|id| {
            let key = (ResourceType::PractitionerRole, id.clone());
            let role = oracle.before.get(&key)?;
            role["practitioner"]["reference"]
                .as_str()
                .map(str::to_owned)
        })
        .expect("a changed role with a practitioner");
    let by_practitioner = format!("practitioner={practitioner_of_role}");
    // A département: the postcode prefix of a changed organization, or of any.
    let (orgs_changed, orgs_unchanged) = oracle.changed_and_unchanged(ResourceType::Organization);
    let postcode = orgs_changed
        .iter()
        .chain(&orgs_unchanged)
        .find_map(|id| {
            let org = oracle
                .before
                .get(&(ResourceType::Organization, id.clone()))?;
            org["address"][0]["postalCode"]
                .as_str()
                .map(|p| p[..2].to_owned())
        })
        .expect("an organization with a postcode");
    let by_postcode = format!("address-postalcode={postcode}");

    let filters = [
        (
            "practitioner set",
            ResourceType::Practitioner,
            by_id.clone(),
        ),
        (
            "roles of a practitioner",
            ResourceType::PractitionerRole,
            by_practitioner.clone(),
        ),
        (
            "département",
            ResourceType::Organization,
            by_postcode.clone(),
        ),
    ];
    let mut subscriptions = Vec::new();
    for (what, rtype, query) in &filters {
        let text = format!("{rtype}?{query}");
        let id = create(&client, &base, &subscription(&[&text], "id-only")).await;
        subscriptions.push((*what, id, oracle.expected(*rtype, &pairs(query), None)));
    }
    // `_list`: a List of two changed practitioners and an unchanged one.
    let members: BTreeSet<String> = changed
        .iter()
        .skip(4)
        .take(2)
        .chain(unchanged.iter().skip(3).take(1))
        .cloned()
        .collect();
    let list = json!({
        "resourceType": "List",
        "status": "current",
        "mode": "working",
        "title": "correspondents",
        "entry": members.iter().map(|m| json!({"item": {"reference": format!("Practitioner/{m}")}})).collect::<Vec<_>>()
    });
    let (status, list) = post(&client, format!("{base}/fhir/List"), &list).await;
    assert_eq!(status, 201, "{list}");
    let list_id = list["id"].as_str().unwrap().to_owned();
    let id = create(
        &client,
        &base,
        &subscription(&[&format!("Practitioner?_list={list_id}")], "id-only"),
    )
    .await;
    subscriptions.push((
        "list",
        id,
        oracle.expected(ResourceType::Practitioner, &[], Some(&members)),
    ));
    // The practitioner set again, delivered by rest-hook to a receiver of this test.
    let receiver = Receiver::start();
    let mut hooked = subscription(&[&format!("Practitioner?{by_id}")], "id-only");
    hooked["channel"]["type"] = json!("rest-hook");
    hooked["channel"]["endpoint"] = json!(receiver.url());
    let (status, created) = post(&client, format!("{base}/fhir/Subscription"), &hooked).await;
    assert_eq!(status, 201, "{created}");
    let hooked_expected = oracle.expected(ResourceType::Practitioner, &pairs(&by_id), None);
    assert!(!hooked_expected.is_empty(), "the set changes on day 2");
    // Two filters ORed: the practitioner set or the roles.
    let both = create(
        &client,
        &base,
        &subscription(
            &[
                &format!("PractitionerRole?{by_practitioner}"),
                &format!("Practitioner?{by_id}"),
            ],
            "empty",
        ),
    )
    .await;
    let mut either = oracle.expected(ResourceType::Practitioner, &pairs(&by_id), None);
    either.extend(oracle.expected(
        ResourceType::PractitionerRole,
        &pairs(&by_practitioner),
        None,
    ));
    assert!(subscriptions.iter().any(|(_, _, e)| !e.is_empty()));

    for (_, id, _) in &subscriptions {
        assert_eq!(
            events_since_start(&client, &base, id).await,
            0,
            "nothing before the import"
        );
    }
    common::import_files(&day2, &data, Some(day(2)));
    // The switch happens within the watch period; the events of one import are queued in one
    // transaction, so once one subscription has its events, every one has.
    let (what, id, expected) = subscriptions
        .iter()
        .max_by_key(|(_, _, e)| e.len())
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let queued = events_since_start(&client, &base, id).await;
        if queued >= expected.len() as u64 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: {queued} event(s) queued, {} expected",
            expected.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (what, id, expected) in &subscriptions {
        let kinds =
            |kind: fn(&Option<Value>) -> bool| expected.iter().filter(|(_, _, c)| kind(c)).count();
        eprintln!(
            "{what}: {} event(s), {} of a resource that left the extraction",
            expected.len(),
            kinds(Option::is_none)
        );
        check_events(&client, &base, id, expected, what).await;
        assert_eq!(
            events_since_start(&client, &base, id).await,
            expected.len() as u64,
            "{what}"
        );
    }
    // The rest-hook receiver got exactly the set's changes, in order, numbered 1..n (at least
    // once: a repeat would carry a number already seen).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let received = loop {
        let mut events: Vec<(u64, String, String)> = receiver
            .bundles()
            .iter()
            .filter(|b| {
                parameter(&b["entry"][0]["resource"], "type")["valueCode"] == "event-notification"
            })
            .flat_map(notification_events)
            .collect();
        events.sort_by_key(|(n, _, _)| *n);
        events.dedup_by_key(|(n, _, _)| *n);
        if events.len() >= hooked_expected.len() {
            break events;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the receiver got {} of {} events",
            events.len(),
            hooked_expected.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let numbers: Vec<u64> = received.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(
        numbers,
        (1..=hooked_expected.len() as u64).collect::<Vec<_>>()
    );
    let foci: Vec<String> = received
        .iter()
        .map(|(_, _, focus)| {
            let path = focus
                .strip_prefix(&format!("{base}/fhir/"))
                .unwrap_or(focus);
            path.split("/_history/").next().unwrap().to_owned()
        })
        .collect();
    let want: Vec<String> = hooked_expected
        .iter()
        .map(|(t, i, _)| format!("{t}/{i}"))
        .collect();
    assert_eq!(
        foci, want,
        "rest-hook: the events are not the oracle's changes"
    );
    let first_kinds: Vec<String> = receiver
        .bundles()
        .iter()
        .map(|b| {
            parameter(&b["entry"][0]["resource"], "type")["valueCode"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(first_kinds.first().map(String::as_str), Some("handshake"));

    // The ORed subscription: the union, in (type, id) order; `empty` names no focus.
    either.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
    let (_, bundle) = get(&client, format!("{base}/fhir/Subscription/{both}/$events")).await;
    let events = notification_events(&bundle);
    assert_eq!(events.len(), either.len());
    assert!(
        events.iter().all(|(_, _, focus)| focus.is_empty()),
        "empty: no focus"
    );
    assert_eq!(
        bundle["entry"].as_array().unwrap().len(),
        1,
        "empty: no resource"
    );

    // `$events` ranges: a window, and past the end.
    let (what, id, expected) = subscriptions
        .iter()
        .find(|(_, _, e)| e.len() >= 2)
        .expect("a subscription with two events");
    let (_, window) = get(
        &client,
        format!("{base}/fhir/Subscription/{id}/$events?eventsSinceNumber=2&eventsUntilNumber=2"),
    )
    .await;
    let window = notification_events(&window);
    assert_eq!(window.len(), 1, "{what}");
    assert_eq!(window[0].0, 2);
    assert!(
        window[0]
            .2
            .contains(&format!("{}/{}", expected[1].0, expected[1].1))
    );
    let (_, past) = get(
        &client,
        format!(
            "{base}/fhir/Subscription/{id}/$events?eventsSinceNumber={}",
            expected.len() + 1
        ),
    )
    .await;
    assert!(notification_events(&past).is_empty());
    let (status, _) = get(
        &client,
        format!("{base}/fhir/Subscription/{id}/$events?eventsSinceNumber=two"),
    )
    .await;
    assert_eq!(status, 400);
}

/// A server over a copy of the demo data with `settings` changed by `adjust`.
fn demo_server(adjust: impl FnOnce(&mut Settings)) -> (tempfile::TempDir, common::Served) {
    let dir = common::demo_copy("annuaire-subscriptions-demo-");
    let mut settings = common::settings_for(&dir.path().join("data"));
    adjust(&mut settings);
    let served = common::spawn_server(settings, Some(Duration::from_millis(200)));
    (dir, served)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_supported_is_refused_by_name() {
    let (_dir, served) = demo_server(|_| {});
    let client = common::client();
    let url = served.url("/fhir/Subscription");
    let good = subscription(&["Practitioner?family=MARTIN"], "id-only");
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut b = good.clone();
                b["criteria"] = json!("http://example.org/SubscriptionTopic/x");
                b
            },
            "unknown topic",
        ),
        (subscription(&[], "id-only"), "no filter"),
        (subscription(&["Patient?name=x"], "id-only"), "`Patient`"),
        (
            subscription(&["Practitioner?colour=blue"], "id-only"),
            "colour",
        ),
        (
            subscription(&["Practitioner?family:fuzzy=x"], "id-only"),
            "fuzzy",
        ),
        (
            subscription(&["Practitioner?_list=nowhere"], "id-only"),
            "nowhere",
        ),
        (subscription(&["Practitioner"], "everything"), "everything"),
        (
            {
                let mut b = good.clone();
                b["channel"]["type"] = json!("email");
                b
            },
            "`email`",
        ),
        (
            {
                let mut b = good.clone();
                b["channel"]["payload"] = json!("text/csv");
                b
            },
            "text/csv",
        ),
        (
            {
                let mut b = good.clone();
                b["end"] = json!("2001-01-01T00:00:00Z");
                b
            },
            "past",
        ),
        (
            {
                let mut b = good.clone();
                b.as_object_mut().unwrap().remove("reason");
                b
            },
            "reason",
        ),
        (
            {
                let mut b = good.clone();
                b["channel"] = json!({"type": "rest-hook", "payload": "application/fhir+json", "_payload": good["channel"]["_payload"].clone()});
                b
            },
            "endpoint",
        ),
    ];
    for (body, says) in cases {
        let (status, outcome) = post(&client, url.clone(), &body).await;
        assert_eq!(status, 422, "{says}: {outcome}");
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        let text = outcome.to_string();
        assert!(text.contains(says), "{says} not in {text}");
    }
    let (status, _) = post(&client, url.clone(), &json!({"resourceType": "Patient"})).await;
    assert_eq!(status, 400);
    // And the good one is accepted, with the server's status and the backport profile.
    let (status, created) = post(&client, url, &good).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["meta"]["profile"][0],
        "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_is_read_updated_searched_and_deleted_by_its_owner() {
    let (_dir, served) = demo_server(|_| {});
    let client = common::client();
    let base = served.base.clone();
    let id = create(
        &client,
        &base,
        &subscription(&["Practitioner?family=MARTIN"], "id-only"),
    )
    .await;
    let url = format!("{base}/fhir/Subscription/{id}");
    let (status, read) = get(&client, url.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(read["meta"]["versionId"], "1");
    // $status: active, no event yet.
    assert_eq!(events_since_start(&client, &base, &id).await, 0);
    let (status, statuses) =
        get(&client, format!("{base}/fhir/Subscription/$status?id={id}")).await;
    assert_eq!(status, 200);
    assert_eq!(statuses["type"], "searchset");
    assert_eq!(
        parameter(&statuses["entry"][0]["resource"], "status")["valueCode"],
        "active"
    );
    assert_eq!(
        parameter(&statuses["entry"][0]["resource"], "type")["valueCode"],
        "query-status"
    );
    // PUT without If-Match: 428; stale: 412; turned off by the client: off.
    let mut off = read.clone();
    off["status"] = json!("off");
    let put = |if_match: Option<&str>| {
        let mut request = client
            .put(url.clone())
            .header("content-type", "application/fhir+json")
            .body(off.to_string());
        if let Some(tag) = if_match {
            request = request.header("if-match", tag);
        }
        request.send()
    };
    assert_eq!(put(None).await.unwrap().status().as_u16(), 428);
    assert_eq!(put(Some("W/\"7\"")).await.unwrap().status().as_u16(), 412);
    let response = put(Some("W/\"1\"")).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["status"], "off");
    // Search by status.
    let (_, found) = get(&client, format!("{base}/fhir/Subscription?status=off")).await;
    assert_eq!(found["total"], 1);
    let (_, none) = get(&client, format!("{base}/fhir/Subscription?status=active")).await;
    assert_eq!(none["total"], 0);
    let (status, _) = get(&client, format!("{base}/fhir/Subscription?colour=blue")).await;
    assert_eq!(status, 400);
    // Delete: 204, then 410.
    let deleted = client.delete(url.clone()).send().await.unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    assert_eq!(get(&client, url).await.0, 410);
}

const KEY_A: &str = "subscriber-a-key";
const KEY_B: &str = "subscriber-b-key";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_callers_subscription_is_not_found() {
    let config_dir = common::scratch_dir("annuaire-subscriptions-auth-");
    let config = config_dir.path().join("annuaire.toml");
    std::fs::write(
        &config,
        format!(
            "[auth]\n[[auth.api_keys]]\nname = \"a\"\nsha256 = \"{}\"\nscopes = [\"system/*.*\", \"system/Subscription.*\"]\n[[auth.api_keys]]\nname = \"b\"\nsha256 = \"{}\"\nscopes = [\"system/*.*\", \"system/Subscription.*\"]\n",
            common::api_key_sha256(KEY_A),
            common::api_key_sha256(KEY_B)
        ),
    )
    .unwrap();
    let (_dir, served) = demo_server(|settings| {
        *settings = Settings::load(Settings {
            config: Some(config.clone()),
            ..settings.clone()
        })
        .expect("a valid configuration");
    });
    let client = common::client();
    let base = served.base.clone();
    let created = client
        .post(format!("{base}/fhir/Subscription"))
        .header("ESANTE-API-KEY", KEY_A)
        .header("content-type", "application/fhir+json")
        .body(subscription(&["Practitioner?family=MARTIN"], "id-only").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let as_caller = |key: &'static str, path: String| {
        client
            .get(format!("{base}/fhir/{path}"))
            .header("ESANTE-API-KEY", key)
            .send()
    };
    for path in [
        format!("Subscription/{id}"),
        format!("Subscription/{id}/$status"),
        format!("Subscription/{id}/$events"),
    ] {
        assert_eq!(
            as_caller(KEY_A, path.clone())
                .await
                .unwrap()
                .status()
                .as_u16(),
            200,
            "{path}"
        );
        let other = as_caller(KEY_B, path.clone()).await.unwrap();
        assert_eq!(other.status().as_u16(), 404, "{path}");
        let outcome: Value = other.json().await.unwrap();
        assert_eq!(outcome["resourceType"], "OperationOutcome");
    }
    let search: Value = as_caller(KEY_B, "Subscription".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(search["total"], 0, "b sees none of a's");
    let search: Value = as_caller(KEY_A, "Subscription".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(search["total"], 1);
    let deleted = client
        .delete(format!("{base}/fhir/Subscription/{id}"))
        .header("ESANTE-API-KEY", KEY_B)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 404);
    let mut body = created.clone();
    body["reason"] = json!("taken over");
    let put = client
        .put(format!("{base}/fhir/Subscription/{id}"))
        .header("ESANTE-API-KEY", KEY_B)
        .header("if-match", "W/\"1\"")
        .header("content-type", "application/fhir+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_of_a_list_are_its_subscribers_events_from_their_creation_on() {
    let (_dir, served) = demo_server(|_| {});
    let client = common::client();
    let base = served.base.clone();
    let list =
        json!({"resourceType": "List", "status": "current", "mode": "working", "title": "mine"});
    let (status, created) = post(&client, format!("{base}/fhir/List"), &list).await;
    assert_eq!(status, 201, "{created}");
    let list_id = created["id"].as_str().unwrap().to_owned();
    let (_, other) = post(&client, format!("{base}/fhir/List"), &list).await;
    let other_id = other["id"].as_str().unwrap().to_owned();
    // Subscribed after the list's creation: that is not its event.
    let id = create(
        &client,
        &base,
        &subscription(&[&format!("List?_id={list_id}")], "full-resource"),
    )
    .await;
    let list_url = format!("{base}/fhir/List/{list_id}");
    let mut renamed = created.clone();
    renamed["title"] = json!("mine, renamed");
    let updated = client
        .put(list_url.clone())
        .header("content-type", "application/fhir+json")
        .header("if-match", "W/\"1\"")
        .body(renamed.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status().as_u16(), 200);
    // A write to another list is not told.
    let mut other_renamed = other.clone();
    other_renamed["title"] = json!("theirs");
    client
        .put(format!("{base}/fhir/List/{other_id}"))
        .header("content-type", "application/fhir+json")
        .header("if-match", "W/\"1\"")
        .body(other_renamed.to_string())
        .send()
        .await
        .unwrap();
    let deleted = client.delete(list_url).send().await.unwrap();
    assert!(deleted.status().is_success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while events_since_start(&client, &base, &id).await < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the list's writes were not queued"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, bundle) = get(&client, format!("{base}/fhir/Subscription/{id}/$events")).await;
    let events = notification_events(&bundle);
    let focus: Vec<&str> = events.iter().map(|(_, _, f)| f.as_str()).collect();
    assert_eq!(
        focus,
        vec![
            format!("{base}/fhir/List/{list_id}/_history/2"),
            format!("{base}/fhir/List/{list_id}/_history/3")
        ],
        "its update and its deletion, nothing else"
    );
    let entries = bundle["entry"].as_array().unwrap();
    assert_eq!(entries[1]["resource"]["title"], "mine, renamed");
    assert_eq!(entries[1]["request"]["method"], "PUT");
    assert_eq!(entries[2]["request"]["method"], "DELETE");
    assert!(entries[2].get("resource").is_none());
}

/// An import's events are queued in steps, each recording in the watermark the last
/// subscription (in id order) whose events it queued; a server stopped between two steps
/// resumes after that subscription: the ones before are not queued twice, the ones after are
/// queued. Here the stop is laid by hand (the watermark of a step that queued the first
/// subscription's events) and the notifier runs in process, without a server.
#[test]
fn an_interrupted_imports_queuing_resumes_after_the_last_subscription_queued() {
    use annuaire::clock::Clock;
    use annuaire::generation::{Generations, Millis};
    use annuaire::local::{LocalStore, LocalType};
    use annuaire::notify::queue::{Partial, Queue};
    use annuaire::notify::{Notifier, NotifySettings, Subscriber};
    use std::sync::Arc;

    let root = common::scratch_dir("annuaire-subscriptions-resume-");
    let day1 = generate(&root.path().join("day1"), 1);
    let day2 = generate(&root.path().join("day2"), 2);
    common::import_files(&day2, &root.path().join("alone2"), Some(day(2)));
    let data = root.path().join("data");
    common::import_files(&day1, &data, Some(day(1)));
    let before = snapshot(&open(&data));
    let after = snapshot(&open(&root.path().join("alone2/")));
    let changed: Vec<String> = before
        .iter()
        .filter(|((rtype, _), _)| *rtype == ResourceType::Practitioner)
        .filter(|(key, json)| after.get(key) != Some(json))
        .map(|((_, id), _)| id.clone())
        .take(5)
        .collect();
    assert!(!changed.is_empty(), "day 2 changes practitioners");
    let filter = format!("Practitioner?_id={}", changed.join(","));

    let notifier = |store: &Arc<LocalStore>| {
        Notifier::new(store.clone(), NotifySettings::default()).expect("a notifier")
    };
    let generations =
        || Generations::open(DataDir::create(&data).unwrap(), common::CACHE_BYTES).unwrap();
    let store = Arc::new(LocalStore::open(&data.join("local"), Clock::system()).unwrap());
    let subscriber = Subscriber {
        owner: "anonymous".into(),
        restricted: true,
        unlocked: Vec::new(),
    };
    let mut ids = Vec::new();
    {
        let notifier = notifier(&store);
        // The watermark at day 1, as a server serving it would leave it.
        assert_eq!(notifier.after_switch(&generations()).unwrap(), 0);
        for _ in 0..2 {
            let body = notifier
                .check_subscription(subscription(&[&filter], "id-only"), &subscriber)
                .expect("an acceptable subscription");
            let written = store
                .create(LocalType::Subscription, body, "anonymous")
                .unwrap();
            notifier
                .register(&written.resource.id, &subscriber)
                .unwrap();
            ids.push(written.resource.id);
        }
    }
    ids.sort();
    common::import_files(&day2, &data, Some(day(2)));
    let day2_id = open(&data).info().id().into_owned();

    // A step queued the first subscription's events, then the server stopped.
    let queue = Queue::open(&store).unwrap();
    let mark = queue.watermark().unwrap();
    assert_ne!(mark.generation.as_deref(), Some(day2_id.as_str()));
    let stopped = annuaire::notify::queue::Watermark {
        partial: Some(Partial {
            generation: day2_id.clone(),
            through: ids[0].clone(),
        }),
        ..mark
    };
    queue.push(&[], &stopped, Millis(0)).unwrap();

    let notifier = notifier(&store);
    let queued = notifier.after_switch(&generations()).unwrap();
    let first = notifier
        .counters(&ids[0])
        .unwrap()
        .expect("the first subscription");
    let second = notifier
        .counters(&ids[1])
        .unwrap()
        .expect("the second subscription");
    assert_eq!(
        first,
        (0, 0),
        "the first subscription's events were queued before the stop"
    );
    assert!(
        second.0 > 0,
        "the second subscription's events are queued on resuming"
    );
    assert_eq!(queued as u64, second.0);
    let done = Queue::open(&store).unwrap().watermark().unwrap();
    assert_eq!(done.generation.as_deref(), Some(day2_id.as_str()));
    assert_eq!(done.partial, None, "the import's queuing is complete");
}

/// A rest-hook receiver on a real socket: records every Bundle POSTed to it and answers 200.
struct Receiver {
    address: std::net::SocketAddr,
    bundles: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let bundles = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = bundles.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sink = sink.clone();
                std::thread::spawn(move || answer(stream, &sink));
            }
        });
        Receiver { address, bundles }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }

    fn bundles(&self) -> Vec<Value> {
        self.bundles.lock().unwrap().clone()
    }
}

/// Reads the requests of one connection (kept alive) and answers each with 200.
fn answer(stream: std::net::TcpStream, sink: &std::sync::Mutex<Vec<Value>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0;
        let mut line = String::new();
        let mut first = true;
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" && !first {
                break;
            }
            first = false;
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if let Ok(bundle) = serde_json::from_slice(&body) {
            sink.lock().unwrap().push(bundle);
        }
        if writer
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}
