//! The websocket channel over real sockets: `$get-ws-binding-token`, then a tokio-tungstenite
//! client bound with the token receives the handshake and the events of the List it watches;
//! wrong, expired and reused tokens are refused; another caller gets no token for my
//! subscription.

mod common;

use std::time::Duration;

use annuaire::clock::{Clock, ClockHandle};
use annuaire::settings::Settings;
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use common::{Served, api_key_sha256, client, demo_copy, settings_for, spawn_server_on};

const TOPIC: &str = "urn:annuaire:SubscriptionTopic/resource-change";
const BACKPORT: &str = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition";
const MINE: &str = "key-of-the-hospital";
const THEIRS: &str = "key-of-another-hospital";
const KEY_HEADER: &str = annuaire::auth::API_KEY_HEADER;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A server of its own (two API keys, so callers are told apart; a manual clock, so tokens
/// expire without waiting).
fn server() -> (tempfile::TempDir, Served, ClockHandle) {
    let dir = demo_copy("annuaire-it-websocket-");
    let config = dir.path().join("annuaire.toml");
    let scopes = r#"["system/*.read", "system/List.*", "system/Subscription.*"]"#;
    std::fs::write(
        &config,
        format!(
            "[auth]\n[[auth.api_keys]]\nname = \"hospital\"\nsha256 = \"{}\"\nscopes = {scopes}\n[[auth.api_keys]]\nname = \"other\"\nsha256 = \"{}\"\nscopes = {scopes}\n",
            api_key_sha256(MINE),
            api_key_sha256(THEIRS)
        ),
    )
    .unwrap();
    let settings = Settings::load(Settings {
        config: Some(config),
        ..settings_for(&dir.path().join("data"))
    })
    .expect("the test configuration is valid");
    let (clock, handle) = Clock::manual(time::OffsetDateTime::now_utc());
    let served = spawn_server_on(settings, None, clock);
    (dir, served, handle)
}

fn websocket_subscription(list: &str) -> Value {
    json!({
        "resourceType": "Subscription",
        "meta": {"profile": [format!("{BACKPORT}/backport-subscription")]},
        "status": "requested",
        "reason": "watch my list from a browser",
        "criteria": TOPIC,
        "_criteria": {"extension": [{
            "url": format!("{BACKPORT}/backport-filter-criteria"),
            "valueString": format!("List?_id={list}")
        }]},
        "channel": {
            "type": "websocket",
            "payload": "application/fhir+json",
            "_payload": {"extension": [{
                "url": format!("{BACKPORT}/backport-payload-content"),
                "valueCode": "id-only"
            }]}
        }
    })
}

async fn send(
    method: reqwest::Method,
    url: String,
    key: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut request = client()
        .request(method, url)
        .header(KEY_HEADER, key)
        .header("Accept", "application/fhir+json");
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/fhir+json")
            .json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn write_list(served: &Served, id: &str, title: &str) {
    let url = served.url(&format!("/fhir/List/{id}"));
    let current = client()
        .get(&url)
        .header(KEY_HEADER, MINE)
        .send()
        .await
        .unwrap();
    let mut request = client()
        .put(&url)
        .header(KEY_HEADER, MINE)
        .header("Content-Type", "application/fhir+json")
        .json(&json!({"resourceType": "List", "id": id, "status": "current", "mode": "working", "title": title}));
    if current.status() == StatusCode::OK {
        let etag = current.headers()["etag"].to_str().unwrap().to_string();
        request = request.header("If-Match", etag);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

async fn subscribe(served: &Served, list: &str) -> String {
    write_list(served, list, "v1").await;
    let (status, created) = send(
        reqwest::Method::POST,
        served.url("/fhir/Subscription"),
        MINE,
        Some(&websocket_subscription(list)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created:#}");
    created["id"].as_str().unwrap().to_string()
}

/// `$get-ws-binding-token` as `key`: the Parameters.
async fn token(served: &Served, id: &str, key: &str) -> (StatusCode, Value) {
    send(
        reqwest::Method::GET,
        served.url(&format!("/fhir/Subscription/{id}/$get-ws-binding-token")),
        key,
        None,
    )
    .await
}

fn parameter<'a>(parameters: &'a Value, name: &str) -> &'a Value {
    parameters["parameter"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no `{name}` in {parameters:#}"))
}

async fn connect(url: &str) -> Socket {
    let (socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect to the websocket");
    socket
}

/// The next text message (a notification or an error), skipping pings.
async fn next_text(socket: &mut Socket) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")?;
        match message.ok()? {
            Message::Text(text) => return Some(serde_json::from_str(text.as_str()).unwrap()),
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

fn status_type(bundle: &Value) -> String {
    let status = &bundle["entry"][0]["resource"];
    parameter(status, "type")["valueCode"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn focus_versions(bundle: &Value) -> Vec<String> {
    let status = &bundle["entry"][0]["resource"];
    status["parameter"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == "notification-event")
        .flat_map(|p| p["part"].as_array().unwrap().clone())
        .filter(|part| part["name"] == "focus")
        .map(|part| {
            part["valueReference"]["reference"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// After a refusal: an OperationOutcome saying why, then the socket closes.
async fn assert_refused(socket: &mut Socket, why: &str) {
    let outcome = next_text(socket).await.expect("an error message");
    assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome:#}");
    let diagnostics = outcome["issue"][0]["diagnostics"].as_str().unwrap();
    assert!(diagnostics.contains(why), "{diagnostics}");
    assert!(next_text(socket).await.is_none(), "the socket is closed");
}

#[tokio::test]
async fn a_client_bound_with_a_token_gets_the_handshake_then_the_events() {
    let (_dir, served, _clock) = server();
    let id = subscribe(&served, "ws-watched").await;
    let (status, parameters) = token(&served, &id, MINE).await;
    assert_eq!(status, StatusCode::OK, "{parameters:#}");
    assert_eq!(parameters["resourceType"], "Parameters");
    let first = parameter(&parameters, "token")["valueString"]
        .as_str()
        .unwrap();
    assert!(first.len() >= 32, "an unguessable token: {first}");
    assert!(parameter(&parameters, "expiration")["valueDateTime"].is_string());
    assert_eq!(
        parameter(&parameters, "subscription")["valueString"],
        format!("Subscription/{id}")
    );
    let url = parameter(&parameters, "websocket-url")["valueUrl"]
        .as_str()
        .unwrap();
    assert_eq!(
        url,
        format!("ws://{}/fhir/$subscription-websocket", served.address)
    );
    let mut socket = connect(url).await;
    socket
        .send(Message::text(format!("bind-with-token: {first}")))
        .await
        .unwrap();
    let handshake = next_text(&mut socket).await.expect("the handshake");
    assert_eq!(handshake["type"], "history");
    assert_eq!(status_type(&handshake), "handshake");
    write_list(&served, "ws-watched", "v2").await;
    write_list(&served, "ws-watched", "v3").await;
    let mut focus = Vec::new();
    while focus.len() < 2 {
        let notification = next_text(&mut socket).await.expect("an event notification");
        if status_type(&notification) == "event-notification" {
            focus.extend(focus_versions(&notification));
        }
    }
    assert_eq!(focus.len(), 2, "{focus:?}");
    assert!(
        focus[0].ends_with("List/ws-watched/_history/2"),
        "{focus:?}"
    );
    assert!(
        focus[1].ends_with("List/ws-watched/_history/3"),
        "{focus:?}"
    );
    // What was written to the socket counts as delivered: a client binding again (after its
    // connection dropped) is sent only what comes next.
    drop(socket);
    let (_, parameters) = token(&served, &id, MINE).await;
    let again = parameter(&parameters, "token")["valueString"]
        .as_str()
        .unwrap()
        .to_string();
    let mut socket = connect(url).await;
    socket
        .send(Message::text(format!("bind-with-token: {again}")))
        .await
        .unwrap();
    assert_eq!(
        status_type(&next_text(&mut socket).await.unwrap()),
        "handshake"
    );
    write_list(&served, "ws-watched", "v4").await;
    let next = next_text(&mut socket).await.expect("an event notification");
    assert_eq!(status_type(&next), "event-notification");
    let focus = focus_versions(&next);
    assert_eq!(focus.len(), 1, "{focus:?}");
    assert!(
        focus[0].ends_with("List/ws-watched/_history/4"),
        "{focus:?}"
    );
}

#[tokio::test]
async fn wrong_reused_and_expired_tokens_are_refused() {
    let (_dir, served, clock) = server();
    let id = subscribe(&served, "ws-refusals").await;
    let url = format!("ws://{}/fhir/$subscription-websocket", served.address);

    let mut socket = connect(&url).await;
    socket
        .send(Message::text("bind-with-token: not-a-token"))
        .await
        .unwrap();
    assert_refused(&mut socket, "unknown binding token").await;

    let mut socket = connect(&url).await;
    socket.send(Message::text("hello")).await.unwrap();
    assert_refused(&mut socket, "bind-with-token").await;

    // A token binds once.
    let (_, parameters) = token(&served, &id, MINE).await;
    let once = parameter(&parameters, "token")["valueString"]
        .as_str()
        .unwrap()
        .to_string();
    let mut first = connect(&url).await;
    first
        .send(Message::text(format!("bind-with-token: {once}")))
        .await
        .unwrap();
    assert_eq!(
        status_type(&next_text(&mut first).await.unwrap()),
        "handshake"
    );
    let mut second = connect(&url).await;
    second
        .send(Message::text(format!("bind-with-token: {once}")))
        .await
        .unwrap();
    assert_refused(&mut second, "already used").await;

    // A token is good for 60 s.
    let (_, parameters) = token(&served, &id, MINE).await;
    let stale = parameter(&parameters, "token")["valueString"]
        .as_str()
        .unwrap()
        .to_string();
    clock.advance(Duration::from_secs(61));
    let mut late = connect(&url).await;
    late.send(Message::text(format!("bind-with-token: {stale}")))
        .await
        .unwrap();
    assert_refused(&mut late, "expired").await;
}

#[tokio::test]
async fn another_caller_gets_no_token_for_my_subscription() {
    let (_dir, served, _clock) = server();
    let id = subscribe(&served, "ws-mine").await;
    let (status, outcome) = token(&served, &id, THEIRS).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{outcome:#}");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let (status, _) = token(&served, "no-such-subscription", MINE).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = token(&served, &id, MINE).await;
    assert_eq!(status, StatusCode::OK);
}
