//! Rest-hook delivery over real sockets: a receiver in the test (a small HTTP server on a port
//! of its own, which records what it is sent, can answer an error or a redirect, and can be
//! stopped and started again on the same port) and the server, in process or as the real
//! binary, allowed to notify 127.0.0.1. Events come from writes to Lists (a local write is
//! queued at once), which a subscription filters with `List?_id=…`.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{ChildGuard, Served, client, demo_copy, poll, settings_for, spawn_server};

const TOPIC: &str = "urn:annuaire:SubscriptionTopic/resource-change";
const BACKPORT: &str = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition";

// ---------------------------------------------------------------------------------------------
// The receiver
// ---------------------------------------------------------------------------------------------

/// One request the receiver was sent.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    /// Header names in lower case.
    headers: HashMap<String, String>,
    body: Value,
}

impl Received {
    /// `SubscriptionStatus.type` of the notification.
    fn kind(&self) -> String {
        parameter(status_of(&self.body), "type")["valueCode"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The event numbers the notification carries.
    fn events(&self) -> Vec<u64> {
        status_of(&self.body)["parameter"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["name"] == "notification-event")
            .map(|p| {
                p["part"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|part| part["name"] == "event-number")
                    .and_then(|part| {
                        part["valueString"]
                            .as_str()
                            .map(str::to_owned)
                            .or_else(|| part["valueInteger64"].as_str().map(str::to_owned))
                            .or_else(|| part["valueInteger"].as_u64().map(|n| n.to_string()))
                    })
                    .expect("an event number")
                    .parse()
                    .unwrap()
            })
            .collect()
    }
}

fn status_of(bundle: &Value) -> &Value {
    &bundle["entry"][0]["resource"]
}

fn parameter<'a>(parameters: &'a Value, name: &str) -> &'a Value {
    parameters["parameter"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or(&Value::Null)
}

/// What the receiver answers, and what it got.
#[derive(Default)]
struct Log {
    received: Vec<Received>,
    /// The status it answers (200 unless told otherwise).
    status: Option<u16>,
    /// Where a 3xx answer points.
    location: Option<String>,
}

/// A minimal HTTP/1.1 receiver (one request per connection) on its own thread.
struct Receiver {
    address: SocketAddr,
    log: Arc<Mutex<Log>>,
    running: Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        let address = listener.local_addr().unwrap();
        let mut receiver = Receiver {
            address,
            log: Arc::new(Mutex::new(Log::default())),
            running: None,
        };
        receiver.serve(listener);
        receiver
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }

    fn serve(&mut self, listener: TcpListener) {
        let stop = Arc::new(AtomicBool::new(false));
        let log = self.log.clone();
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::Acquire) {
                    return;
                }
                if let Ok(stream) = stream {
                    answer(stream, &log);
                }
            }
        });
        self.running = Some((stop, thread));
    }

    /// Stops listening: connections are refused until [`Receiver::restart`].
    fn stop(&mut self) {
        if let Some((stop, thread)) = self.running.take() {
            stop.store(true, Ordering::Release);
            let _ = TcpStream::connect(self.address); // wakes the accept loop
            thread.join().unwrap();
        }
    }

    /// Listens again on the same port.
    fn restart(&mut self) {
        let listener = poll(Duration::from_secs(10), || {
            TcpListener::bind(self.address).ok()
        })
        .expect("bind the receiver's port again");
        self.serve(listener);
    }

    fn answer_with(&self, status: u16, location: Option<String>) {
        let mut log = self.log.lock().unwrap();
        log.status = Some(status);
        log.location = location;
    }

    fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().received.clone()
    }

    /// The event numbers of the event notifications it answered 2xx to... and the others
    /// (every notification it was sent, in order).
    fn event_numbers(&self) -> Vec<u64> {
        self.received()
            .iter()
            .filter(|r| r.kind() == "event-notification")
            .flat_map(Received::events)
            .collect()
    }

    /// Waits until `check` holds for what was received.
    fn wait_for(&self, what: &str, timeout: Duration, check: impl Fn(&[Received]) -> bool) {
        let done = poll(timeout, || check(&self.received()).then_some(()));
        assert!(
            done.is_some(),
            "the receiver did not get {what} within {timeout:?}; it got:\n{:#?}",
            self.received()
                .iter()
                .map(|r| (r.kind(), r.events()))
                .collect::<Vec<_>>()
        );
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads one request, records it, answers with the receiver's status.
fn answer(mut stream: TcpStream, log: &Mutex<Log>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let (status, location) = {
        let mut log = log.lock().unwrap();
        log.received.push(Received {
            path,
            headers,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        });
        (log.status.unwrap_or(200), log.location.clone())
    };
    let location = location
        .map(|l| format!("Location: {l}\r\n"))
        .unwrap_or_default();
    let _ = write!(
        stream,
        "HTTP/1.1 {status} Status\r\n{location}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
}

// ---------------------------------------------------------------------------------------------
// The servers and requests
// ---------------------------------------------------------------------------------------------

/// The in-process server of most tests: may notify 127.0.0.1, retries for the default 24 h.
fn server() -> &'static Served {
    static SERVER: OnceLock<(tempfile::TempDir, Served)> = OnceLock::new();
    &SERVER
        .get_or_init(|| {
            let dir = demo_copy("annuaire-it-delivery-");
            let mut settings = settings_for(&dir.path().join("data"));
            settings.subscription_allow = vec!["127.0.0.1".into()];
            let served = spawn_server(settings, None);
            (dir, served)
        })
        .1
}

/// A Subscription to the changes of `List/<list>`, delivered to `endpoint`.
fn subscription(list: &str, endpoint: &str, channel_extensions: Value, headers: &[&str]) -> Value {
    json!({
        "resourceType": "Subscription",
        "meta": {"profile": [format!("{BACKPORT}/backport-subscription")]},
        "status": "requested",
        "reason": "tell me when my list changes",
        "criteria": TOPIC,
        "_criteria": {"extension": [{
            "url": format!("{BACKPORT}/backport-filter-criteria"),
            "valueString": format!("List?_id={list}")
        }]},
        "channel": {
            "extension": channel_extensions,
            "type": "rest-hook",
            "endpoint": endpoint,
            "payload": "application/fhir+json",
            "_payload": {"extension": [{
                "url": format!("{BACKPORT}/backport-payload-content"),
                "valueCode": "id-only"
            }]},
            "header": headers,
        }
    })
}

fn max_count(n: u64) -> Value {
    json!({"url": format!("{BACKPORT}/backport-max-count"), "valuePositiveInt": n})
}

fn heartbeat(seconds: u64) -> Value {
    json!({"url": format!("{BACKPORT}/backport-heartbeat-period"), "valueUnsignedInt": seconds})
}

fn timeout(seconds: u64) -> Value {
    json!({"url": format!("{BACKPORT}/backport-timeout"), "valueUnsignedInt": seconds})
}

/// A List of one practitioner-less entry set, `working`.
fn list_body(id: &str, title: &str) -> Value {
    json!({
        "resourceType": "List",
        "id": id,
        "status": "current",
        "mode": "working",
        "title": title,
    })
}

async fn create_subscription(base: &str, body: &Value) -> String {
    let response = client()
        .post(format!("{base}/fhir/Subscription"))
        .header("Content-Type", "application/fhir+json")
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{answer:#}");
    answer["id"].as_str().expect("an id").to_string()
}

async fn refused_subscription(base: &str, body: &Value) -> String {
    let response = client()
        .post(format!("{base}/fhir/Subscription"))
        .header("Content-Type", "application/fhir+json")
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer:#}");
    assert_eq!(answer["resourceType"], "OperationOutcome");
    answer["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn get(base: &str, path: &str) -> Value {
    client()
        .get(format!("{base}/fhir/{path}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Writes `List/<id>` (creating it, or a new version of it): each write is one event for a
/// subscriber to that list.
async fn write_list(base: &str, id: &str, title: &str) {
    let url = format!("{base}/fhir/List/{id}");
    let current = client().get(&url).send().await.unwrap();
    let mut request = client()
        .put(&url)
        .header("Content-Type", "application/fhir+json")
        .json(&list_body(id, title));
    if current.status() == StatusCode::OK {
        let etag = current.headers()["etag"].to_str().unwrap().to_string();
        request = request.header("If-Match", etag);
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{}: {}",
        response.status(),
        response.text().await.unwrap()
    );
}

/// Polls the subscription until its status is `status`.
async fn wait_for_status(base: &str, id: &str, status: &str, timeout: Duration) -> Value {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let subscription = get(base, &format!("Subscription/{id}")).await;
        if subscription["status"] == status {
            return subscription;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Subscription/{id} is not `{status}` after {timeout:?}: {subscription:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `1..=n` in order, each once.
fn one_to(n: u64) -> Vec<u64> {
    (1..=n).collect()
}

/// The numbers received, each once (duplicates are allowed by at-least-once delivery), after
/// checking they never go back.
fn without_repeats(numbers: &[u64]) -> Vec<u64> {
    let mut seen = Vec::new();
    for &n in numbers {
        if seen.last().is_some_and(|&last| n <= last) {
            assert!(
                seen.contains(&n),
                "event {n} came after {seen:?} without having been sent before: out of order"
            );
            continue;
        }
        seen.push(n);
    }
    seen
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn handshake_first_then_events_in_order_with_the_subscription_headers() {
    let base = &server().base;
    let receiver = Receiver::start();
    write_list(base, "delivery-order", "v1").await;
    let id = create_subscription(
        base,
        &subscription(
            "delivery-order",
            &receiver.url(),
            json!([]),
            &[
                "Authorization: Bearer hospital-secret",
                "X-Hospital: CHU Nord",
            ],
        ),
    )
    .await;
    receiver.wait_for("the handshake", Duration::from_secs(10), |r| !r.is_empty());
    wait_for_status(base, &id, "active", Duration::from_secs(10)).await;
    for version in 2..=5 {
        write_list(base, "delivery-order", &format!("v{version}")).await;
    }
    receiver.wait_for("events 1..=4", Duration::from_secs(15), |r| {
        r.iter().flat_map(Received::events).max() == Some(4)
    });
    let received = receiver.received();
    assert_eq!(received[0].kind(), "handshake");
    assert!(received[0].events().is_empty());
    assert_eq!(
        without_repeats(&receiver.event_numbers()),
        one_to(4),
        "every event, in order, numbered without gap"
    );
    for notification in &received {
        assert_eq!(notification.path, "/hook");
        assert_eq!(
            notification.headers.get("content-type").map(String::as_str),
            Some("application/fhir+json")
        );
        assert_eq!(
            notification
                .headers
                .get("authorization")
                .map(String::as_str),
            Some("Bearer hospital-secret")
        );
        assert_eq!(
            notification.headers.get("x-hospital").map(String::as_str),
            Some("CHU Nord")
        );
        assert_eq!(notification.body["type"], "history");
        assert_eq!(
            parameter(status_of(&notification.body), "subscription")["valueReference"]["reference"]
                .as_str()
                .map(|r| r.ends_with(&format!("Subscription/{id}"))),
            Some(true),
            "{:#}",
            notification.body
        );
    }
    // Everything was acknowledged: `$status` counts 4 events.
    let status = get(base, &format!("Subscription/{id}/$status")).await;
    let status = if status["resourceType"] == "Bundle" {
        status["entry"][0]["resource"].clone()
    } else {
        status
    };
    assert_eq!(
        parameter(&status, "events-since-subscription-start")["valueString"],
        "4",
        "{status:#}"
    );
    // Counted for the operators.
    let metrics = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let sent = metrics
        .lines()
        .find(|l| {
            l.starts_with(
                "annuaire_subscription_notifications_total{channel=\"rest-hook\",outcome=\"sent\"}",
            )
        })
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no count of notifications sent:\n{metrics}"));
    assert!(
        sent >= 5.0,
        "a handshake and at least 4 events' notifications: {sent}"
    );
    assert!(
        metrics.contains("annuaire_subscription_events_delivered_total{channel=\"rest-hook\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn at_most_max_count_events_per_notification() {
    let base = &server().base;
    let mut receiver = Receiver::start();
    write_list(base, "delivery-batches", "v1").await;
    let id = create_subscription(
        base,
        &subscription(
            "delivery-batches",
            &receiver.url(),
            json!([max_count(2)]),
            &[],
        ),
    )
    .await;
    wait_for_status(base, &id, "active", Duration::from_secs(10)).await;
    receiver.stop();
    for version in 2..=6 {
        write_list(base, "delivery-batches", &format!("v{version}")).await;
    }
    receiver.restart();
    receiver.wait_for("events 1..=5", Duration::from_secs(20), |r| {
        r.iter().flat_map(Received::events).max() == Some(5)
    });
    let batches: Vec<Vec<u64>> = receiver
        .received()
        .iter()
        .filter(|r| r.kind() == "event-notification")
        .map(Received::events)
        .collect();
    assert!(
        batches.iter().all(|b| !b.is_empty() && b.len() <= 2),
        "{batches:?}"
    );
    assert!(batches.iter().any(|b| b.len() == 2), "{batches:?}");
    assert_eq!(without_repeats(&receiver.event_numbers()), one_to(5));
}

#[tokio::test]
async fn a_receiver_down_for_a_while_then_up_gets_everything() {
    let base = &server().base;
    let mut receiver = Receiver::start();
    write_list(base, "delivery-outage", "v1").await;
    let id = create_subscription(
        base,
        &subscription("delivery-outage", &receiver.url(), json!([]), &[]),
    )
    .await;
    wait_for_status(base, &id, "active", Duration::from_secs(10)).await;
    receiver.stop();
    for version in 2..=4 {
        write_list(base, "delivery-outage", &format!("v{version}")).await;
    }
    // Several attempts fail meanwhile (1 s, 2 s, ... apart).
    tokio::time::sleep(Duration::from_secs(4)).await;
    for version in 5..=6 {
        write_list(base, "delivery-outage", &format!("v{version}")).await;
    }
    receiver.restart();
    receiver.wait_for("events 1..=5", Duration::from_secs(30), |r| {
        r.iter().flat_map(Received::events).max() == Some(5)
    });
    assert_eq!(without_repeats(&receiver.event_numbers()), one_to(5));
    let subscription = get(base, &format!("Subscription/{id}")).await;
    assert_eq!(subscription["status"], "active", "{subscription:#}");
}

#[tokio::test]
async fn an_endpoint_answering_500_is_retried_until_it_accepts() {
    let base = &server().base;
    let receiver = Receiver::start();
    write_list(base, "delivery-500", "v1").await;
    let id = create_subscription(
        base,
        &subscription("delivery-500", &receiver.url(), json!([]), &[]),
    )
    .await;
    wait_for_status(base, &id, "active", Duration::from_secs(10)).await;
    receiver.answer_with(500, None);
    write_list(base, "delivery-500", "v2").await;
    receiver.wait_for("event 1 twice", Duration::from_secs(15), |r| {
        r.iter()
            .flat_map(Received::events)
            .filter(|&n| n == 1)
            .count()
            >= 2
    });
    receiver.answer_with(200, None);
    write_list(base, "delivery-500", "v3").await;
    receiver.wait_for("event 2", Duration::from_secs(20), |r| {
        r.iter().flat_map(Received::events).any(|n| n == 2)
    });
    assert_eq!(without_repeats(&receiver.event_numbers()), one_to(2));
}

#[tokio::test]
async fn heartbeats_are_sent_when_nothing_happens() {
    let base = &server().base;
    let receiver = Receiver::start();
    write_list(base, "delivery-heartbeat", "v1").await;
    create_subscription(
        base,
        &subscription(
            "delivery-heartbeat",
            &receiver.url(),
            json!([heartbeat(1)]),
            &[],
        ),
    )
    .await;
    receiver.wait_for("two heartbeats", Duration::from_secs(10), |r| {
        r.iter().filter(|n| n.kind() == "heartbeat").count() >= 2
    });
    let received = receiver.received();
    assert_eq!(received[0].kind(), "handshake");
    assert!(received.iter().all(|r| r.events().is_empty()));
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let base = &server().base;
    let receiver = Receiver::start();
    let elsewhere = Receiver::start();
    receiver.answer_with(302, Some(elsewhere.url()));
    write_list(base, "delivery-redirect", "v1").await;
    let id = create_subscription(
        base,
        &subscription("delivery-redirect", &receiver.url(), json!([]), &[]),
    )
    .await;
    receiver.wait_for("two handshake attempts", Duration::from_secs(10), |r| {
        r.len() >= 2
    });
    assert!(elsewhere.received().is_empty(), "the redirect was followed");
    let subscription = get(base, &format!("Subscription/{id}")).await;
    assert_eq!(
        subscription["status"], "requested",
        "a 302 is not an accepted handshake: {subscription:#}"
    );
}

#[tokio::test]
async fn endpoints_outside_the_policy_are_refused_at_creation() {
    let base = &server().base;
    write_list(base, "delivery-refused", "v1").await;
    for (endpoint, reason) in [
        ("http://93.184.215.14/hook", "https"),
        ("https://10.0.0.1/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://[::ffff:10.1.2.3]/hook", "private"),
        ("https://user:pw@93.184.215.14/hook", "password"),
        ("https://127.0.0.1.nip.invalid/hook", "resolve"),
    ] {
        let why = refused_subscription(
            base,
            &subscription("delivery-refused", endpoint, json!([]), &[]),
        )
        .await;
        assert!(why.contains(reason), "{endpoint}: {why}");
    }
    // 127.0.0.1 is allowed on this server (plain http included); ::1 is not.
    let why = refused_subscription(
        base,
        &subscription("delivery-refused", "http://[::1]:9/hook", json!([]), &[]),
    )
    .await;
    assert!(why.contains("loopback"), "{why}");
}

#[tokio::test]
async fn a_subscription_goes_to_error_when_the_retry_period_is_over() {
    let dir = demo_copy("annuaire-it-delivery-retry-");
    let mut settings = settings_for(&dir.path().join("data"));
    settings.subscription_allow = vec!["127.0.0.1".into()];
    settings.subscription_retry_seconds = Some(3);
    let served = spawn_server(settings, None);
    let base = &served.base;
    let receiver = Receiver::start();
    write_list(base, "delivery-exhausted", "v1").await;
    let id = create_subscription(
        base,
        &subscription(
            "delivery-exhausted",
            &receiver.url(),
            json!([timeout(2)]),
            &[],
        ),
    )
    .await;
    wait_for_status(base, &id, "active", Duration::from_secs(10)).await;
    receiver.answer_with(503, None);
    write_list(base, "delivery-exhausted", "v2").await;
    let errored = wait_for_status(base, &id, "error", Duration::from_secs(20)).await;
    let reason = errored["error"]
        .as_str()
        .or_else(|| errored["error"][0]["text"].as_str())
        .unwrap_or_else(|| panic!("no error reason: {errored:#}"));
    assert!(reason.contains("503"), "{reason}");
    assert!(reason.contains("retried for 3 s"), "{reason}");
    // Between 2 and 4 attempts (at 0, 1 and 3 s) in 3 s: backoff, not a busy loop.
    let attempts = receiver
        .received()
        .iter()
        .filter(|r| r.kind() == "event-notification")
        .count();
    assert!((2..=4).contains(&attempts), "{attempts} attempts");
    // An endpoint that never listened at all: the handshake fails the same way.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    write_list(base, "delivery-nowhere", "v1").await;
    let id = create_subscription(
        base,
        &subscription("delivery-nowhere", &nowhere, json!([]), &[]),
    )
    .await;
    let errored = wait_for_status(base, &id, "error", Duration::from_secs(20)).await;
    let reason = errored["error"]
        .as_str()
        .or_else(|| errored["error"][0]["text"].as_str())
        .unwrap_or_default();
    assert!(reason.contains("unreachable"), "{errored:#}");
}

#[tokio::test]
async fn the_server_killed_during_delivery_loses_nothing() {
    let dir = demo_copy("annuaire-it-delivery-kill-");
    let data = dir.path().join("data");
    let flags = ["--subscription-allow", "127.0.0.1"];
    let (mut child, address) = common::spawn_binary_server_with(&data, &flags);
    let base = format!("http://{address}");
    let receiver = Receiver::start();
    write_list(&base, "delivery-kill", "v1").await;
    let id = create_subscription(
        &base,
        &subscription("delivery-kill", &receiver.url(), json!([max_count(1)]), &[]),
    )
    .await;
    wait_for_status(&base, &id, "active", Duration::from_secs(10)).await;
    // The receiver fails every notification: events wait, unacknowledged, while being retried.
    receiver.answer_with(500, None);
    for version in 2..=5 {
        write_list(&base, "delivery-kill", &format!("v{version}")).await;
    }
    receiver.wait_for("a first attempt", Duration::from_secs(10), |r| {
        r.iter().any(|n| n.kind() == "event-notification")
    });
    kill(&mut child);
    receiver.answer_with(200, None);
    let (_child, address) = common::spawn_binary_server_with(&data, &flags);
    let base = format!("http://{address}");
    receiver.wait_for("events 1..=4", Duration::from_secs(30), |r| {
        r.iter().flat_map(Received::events).max() == Some(4)
    });
    assert_eq!(without_repeats(&receiver.event_numbers()), one_to(4));
    // And what is written after the restart follows, numbered on.
    write_list(&base, "delivery-kill", "v6").await;
    receiver.wait_for("event 5", Duration::from_secs(15), |r| {
        r.iter().flat_map(Received::events).any(|n| n == 5)
    });
    assert_eq!(without_repeats(&receiver.event_numbers()), one_to(5));
}

/// SIGKILL: no drain, no flush beyond what each write already did.
fn kill(child: &mut ChildGuard) {
    child.child.kill().expect("kill the server");
    child.child.wait().expect("reap the server");
}
