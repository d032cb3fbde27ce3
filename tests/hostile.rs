//! Hostile requests: every way one request or one caller could make the directory spend
//! unbounded memory or time, each answered quickly with an OperationOutcome that names the
//! limit; admission control under a flood; requests too long; slow and large bodies; forged
//! cursors; caches and proxies. Servers with tight limits are started for the tests that need
//! them (each over a copy of the demo data: a data directory serves one server at a time).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use annuaire::search::limits::Limits;
use common::client;
use reqwest::StatusCode;
use serde_json::Value;

/// How fast a refusal must come: it is decided before any work.
const QUICK: Duration = Duration::from_secs(2);

/// A server over a copy of the demo data with these limits; `trusted` proxies.
fn server_with(limits: Limits, trusted: &[&str]) -> String {
    server_configured(|settings| {
        settings.limits = limits;
        settings.trusted_proxies = trusted.iter().map(|a| a.parse().unwrap()).collect();
    })
}

/// A server over a copy of the demo data, with its settings changed by `configure`.
fn server_configured(configure: impl FnOnce(&mut annuaire::settings::Settings)) -> String {
    let dir = common::demo_copy("annuaire-hostile-").keep();
    let mut settings = common::settings_for(&dir.join("data"));
    configure(&mut settings);
    common::spawn_server(settings, None).base
}

/// The shared server with the default limits.
fn default_server() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| common::spawn_app().address)
}

async fn get(base: &str, path_and_query: &str) -> (StatusCode, Value, Duration) {
    let started = Instant::now();
    let response = client()
        .get(format!("{base}{path_and_query}"))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
        started.elapsed(),
    )
}

/// Asserts a quick 400 `too-costly` OperationOutcome naming `setting`.
async fn assert_too_costly(base: &str, path_and_query: &str, setting: &str) {
    let (status, body, took) = get(base, path_and_query).await;
    let what = &path_and_query[..path_and_query.len().min(120)];
    assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
    assert_eq!(body["resourceType"], "OperationOutcome", "{what}");
    assert_eq!(body["issue"][0]["code"], "too-costly", "{what}: {body}");
    let diagnostics = body["issue"][0]["diagnostics"].as_str().unwrap();
    assert!(diagnostics.contains(setting), "{what}: {diagnostics}");
    assert!(took < QUICK, "{what}: refused in {took:?}");
}

#[tokio::test]
async fn every_multiplier_has_a_ceiling_refused_before_work() {
    let base = default_server();
    let list = |n: usize, item: &dyn Fn(usize) -> String, separator: &str| {
        (0..n).map(item).collect::<Vec<_>>().join(separator)
    };
    let refused = [
        // 2 000 sort keys (an 8 KB URL): once took the national server to 24 GB.
        (
            format!(
                "/fhir/Practitioner?_count=0&_sort={}",
                list(2000, &|_| "_id".into(), ",")
            ),
            "max_sort_keys",
        ),
        (
            "/fhir/Practitioner?_sort=family,given,name,_id,_lastUpdated".into(),
            "max_sort_keys",
        ),
        // 50 one-letter :contains values: 14 s of CPU once.
        (
            format!(
                "/fhir/Practitioner?_count=1&name:contains={}",
                list(50, &|_| "e".into(), ",")
            ),
            "min_contains_chars",
        ),
        (
            "/fhir/Practitioner?name:contains=ab".into(),
            "min_contains_chars",
        ),
        (
            format!(
                "/fhir/Practitioner?family={}",
                list(51, &|i| format!("x{i}"), ",")
            ),
            "max_or_values",
        ),
        (
            format!(
                "/fhir/Practitioner?{}",
                list(41, &|i| format!("family=x{i}"), "&")
            ),
            "max_parameters",
        ),
        (
            format!(
                "/fhir/PractitionerRole?{}",
                list(9, &|_| "_include=PractitionerRole:organization".into(), "&")
            ),
            "max_include_parameters",
        ),
    ];
    for (path, setting) in &refused {
        assert_too_costly(base, path, setting).await;
    }
    // A key sorted on twice is a mistake, not a cost: 400 invalid.
    let (status, body, _) = get(base, "/fhir/Practitioner?_sort=_id,-_id").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["issue"][0]["code"], "invalid", "{body}");
}

#[tokio::test]
async fn sorted_searches_over_every_match_stay_quick_and_correct() {
    let base = default_server();
    // Every role, sorted on three keys, one small page: no materialised list of all matches.
    let (status, page, _) = get(
        base,
        "/fhir/PractitionerRole?_sort=role,-_lastUpdated,_id&_count=10",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["entry"].as_array().unwrap().len(), 10);
    let (_, all, _) = get(
        base,
        "/fhir/PractitionerRole?_sort=role,-_lastUpdated,_id&_count=1000",
    )
    .await;
    let first_ten: Vec<&Value> = all["entry"]
        .as_array()
        .unwrap()
        .iter()
        .take(10)
        .map(|e| &e["resource"]["id"])
        .collect();
    let page_ten: Vec<&Value> = page["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"]["id"])
        .collect();
    assert_eq!(
        first_ten, page_ten,
        "the small page is the start of the large one"
    );
}

#[tokio::test]
async fn includes_past_their_limits_are_capped_and_said() {
    let base = server_with(
        Limits {
            max_included: 3,
            max_iterate_depth: 0,
            ..Limits::default()
        },
        &[],
    );
    let (status, bundle, _) = get(
        &base,
        "/fhir/Organization?_count=50&_revinclude=PractitionerRole:organization",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let entries = bundle["entry"].as_array().unwrap();
    let included = entries
        .iter()
        .filter(|e| e["search"]["mode"] == "include")
        .count();
    assert!(included <= 3, "{included} included");
    let outcome = entries
        .iter()
        .find(|e| e["search"]["mode"] == "outcome")
        .expect("the page says what it left out");
    assert_eq!(outcome["resource"]["issue"][0]["code"], "too-costly");
    assert!(
        outcome["resource"]["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("max_included")
    );
    // :iterate past its depth.
    let (_, bundle, _) = get(
        &base,
        "/fhir/PractitionerRole?_count=1&_include=PractitionerRole:organization&_include:iterate=Organization:partof",
    )
    .await;
    let notes: Vec<&Value> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["search"]["mode"] == "outcome")
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n["resource"]["issue"][0]["diagnostics"]
                .as_str()
                .unwrap()
                .contains("max_iterate_depth")),
        "{bundle}"
    );
}

#[tokio::test]
async fn a_search_past_its_deadline_is_stopped() {
    let base = server_with(
        Limits {
            deadline_ms: 0,
            ..Limits::default()
        },
        &[],
    );
    assert_too_costly(
        &base,
        "/fhir/Practitioner?name:contains=ier&_sort=family",
        "deadline_ms",
    )
    .await;
    // Lookups by identifier stay under any deadline.
    let row = common::ordinary_person(&common::demo().rows)[0];
    let (status, _, _) = get(
        &base,
        &format!(
            "/fhir/Practitioner?identifier=urn:oid:1.2.250.1.71.4.2.1|{}",
            row.idnat
        ),
    )
    .await;
    assert!(status == StatusCode::OK || status == StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_flood_is_turned_away_with_503_and_retry_after() {
    let base = server_with(
        Limits {
            max_running_searches: 1,
            max_waiting_searches: 0,
            ..Limits::default()
        },
        &[],
    );
    let mut requests = Vec::new();
    for _ in 0..12 {
        let base = base.clone();
        requests.push(tokio::spawn(async move {
            let response = client()
                // Sorted, a full page and every reference included: each search holds its slot.
                // (`_revinclude=Practitioner:*` was here: no Practitioner points at a role, so it
                // was ignored then and is refused now.)
                .get(format!("{base}/fhir/PractitionerRole?_sort=-_lastUpdated,role&_count=1000&_include=PractitionerRole:*"))
                .send()
                .await
                .unwrap();
            let retry = response.headers().contains_key("retry-after");
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, retry, body)
        }));
    }
    let mut ok = 0;
    let mut busy = 0;
    for request in requests {
        let (status, retry, body) = request.await.unwrap();
        match status {
            StatusCode::OK => ok += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                busy += 1;
                assert!(retry, "503 says when to retry");
                assert_eq!(body["resourceType"], "OperationOutcome");
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert!(ok >= 1, "the running search finishes");
    assert!(
        busy >= 1,
        "the others are turned away, not queued without bound ({ok} ok)"
    );
}

#[tokio::test]
async fn requests_too_long_are_outcomes_414_and_431() {
    let base = default_server();
    let long = "a".repeat(9000);
    let (status, body, _) = get(base, &format!("/fhir/Practitioner?family={long}")).await;
    assert_eq!(status, StatusCode::URI_TOO_LONG);
    assert_eq!(body["resourceType"], "OperationOutcome");
    assert!(
        body["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("POST")
    );
    let response = client()
        .get(format!("{base}/fhir/metadata"))
        .header("X-Padding", "b".repeat(20_000))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["resourceType"], "OperationOutcome");
    // Past what actix itself buffers for a request head (32 KiB), too.
    for (what, path, padding) in [
        (
            "a 40 KB URL",
            format!("/fhir/Practitioner?family={}", "a".repeat(40_000)),
            0,
        ),
        ("40 KB of headers", "/fhir/metadata".to_owned(), 40_000),
    ] {
        let mut request = client().get(format!("{base}{path}"));
        if padding > 0 {
            request = request.header("X-Padding", "b".repeat(padding));
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        assert!(matches!(status.as_u16(), 414 | 431), "{what}: {status}");
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(body["resourceType"], "OperationOutcome", "{what}: {status}");
    }
    // The long search goes through as POST.
    let response = client()
        .post(format!("{base}/fhir/Practitioner/_search"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("family={long}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// Sends a request by hand over TCP: the head (and what body it holds), then nothing more.
fn raw_request(address: SocketAddr, head: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[test]
fn slow_and_large_requests_are_refused() {
    // The header timeout is longer than the body timeout: actix's own 408 (headers) must not
    // race ours (body) when the machine is loaded.
    let base = server_with(
        Limits {
            body_timeout_ms: 500,
            header_timeout_ms: 2000,
            max_body_bytes: 1000,
            ..Limits::default()
        },
        &[],
    );
    let address: SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    // Headers begun and never finished (slowloris): answered 408 and closed at the timeout.
    let started = Instant::now();
    let (status, text) = raw_request(
        address,
        &format!("GET /fhir/metadata HTTP/1.1\r\nHost: {address}\r\nX-Slow: "),
    );
    assert_eq!(status, 408, "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "closed after {:?}",
        started.elapsed()
    );
    // A body announced but never sent.
    let head = format!(
        "POST /fhir/Practitioner/_search HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\nConnection: close\r\n\r\nfamily="
    );
    let started = Instant::now();
    let (status, text) = raw_request(address, &head);
    assert_eq!(status, 408, "{text}");
    assert!(
        text.contains("OperationOutcome") && text.contains("body_timeout_ms"),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // A body over the limit.
    let body = format!("family={}", "a".repeat(2000));
    let head = format!(
        "POST /fhir/Practitioner/_search HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, text) = raw_request(address, &head);
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("max_body_bytes"), "{text}");
}

/// An open server limits each client address; a search is charged by its work, so one caller's
/// expensive searches cost it what the cheap requests they displace would have.
#[tokio::test]
async fn rate_limits_charge_each_address_by_the_work_it_causes() {
    let base = server_configured(|settings| {
        settings.limits.work_unit_ms = 1;
        settings.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        settings.open_rate_limit = Some(annuaire::auth::config::RateLimitConfig {
            per_second: 1,
            burst: Some(5),
        });
    });
    let known = common::ordinary_person(&common::demo().rows)[0].practitioner_id();
    let read = format!("/fhir/Practitioner/{known}");
    // The address is the last hop our proxy forwarded; the client's own claim before it is not.
    let from = |address: &str, path: &str| {
        client()
            .get(format!("{base}{path}"))
            .header("X-Forwarded-For", format!("192.0.2.99, {address}"))
            .send()
    };
    // Cheap requests cost one token each: the burst of 5 passes, the 6th waits.
    for i in 0..5 {
        let response = from("203.0.113.1", &read).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "cheap request {i}");
    }
    let refused = from("203.0.113.1", &read).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    // One expensive search (it works for more than the 4 ms its bucket has left, at 1 ms per
    // token) empties its caller's bucket...
    let expensive = "/fhir/PractitionerRole?_sort=-_lastUpdated,_id&_count=1000&_include=*&_include:iterate=Organization:partof";
    let started = Instant::now();
    let response = from("203.0.113.2", expensive).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let took = started.elapsed();
    assert!(
        took > Duration::from_millis(5),
        "the search took only {took:?}: not expensive enough to show anything"
    );
    let after = from("203.0.113.2", &read).await.unwrap();
    assert_eq!(
        after.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "after a search of {took:?}"
    );
    // ...while another address keeps its own.
    let other = from("203.0.113.3", &read).await.unwrap();
    assert_eq!(other.status(), StatusCode::OK);
}

#[tokio::test]
async fn forged_and_altered_cursors_are_refused() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let base = default_server();
    let (_, page, _) = get(base, "/fhir/Practitioner?_count=2&_sort=family").await;
    let next = common::link(&page, "next").unwrap().to_owned();
    let cursor = next.split("_cursor=").nth(1).unwrap().to_owned();
    let (payload, tag) = cursor.split_once('.').unwrap();
    let json = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert!(!json.contains("\"after\":\"\""), "{json}");
    // Pinned to another generation, or moved: the signature no longer matches.
    let forged = URL_SAFE_NO_PAD.encode(json.replacen("\"g\":", "\"g\":9", 1));
    for bad in [
        format!("{forged}.{tag}"),
        payload.to_owned(),
        format!("{payload}.{}", URL_SAFE_NO_PAD.encode([0u8; 16])),
    ] {
        let (status, body, _) = get(
            base,
            &format!("/fhir/Practitioner?_count=2&_sort=family&_cursor={bad}"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(
            body["issue"][0]["diagnostics"]
                .as_str()
                .unwrap()
                .contains("_cursor")
        );
    }
    // The cursor holds ranks, never the sorted values.
    let family = page["entry"][1]["resource"]["name"][0]["family"]
        .as_str()
        .unwrap()
        .to_lowercase();
    assert!(
        !json.to_lowercase().contains(&family),
        "{json} holds {family}"
    );
    // The genuine one works.
    let (status, _, _) = get(base, next.trim_start_matches(base)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn caches_are_told_what_they_may_keep() {
    let base = default_server();
    let response = client()
        .get(format!("{base}/fhir/Practitioner?_count=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let vary: Vec<&str> = response
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(vary.iter().any(|v| v.contains("Accept")), "{vary:?}");
}

#[tokio::test]
async fn forwarded_headers_count_only_from_trusted_proxies() {
    let untrusting = default_server();
    let response = client()
        .get(format!("{untrusting}/fhir/Practitioner?_count=1"))
        .header("X-Forwarded-Host", "evil.example")
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap();
    let bundle: Value = response.json().await.unwrap();
    let link = bundle["link"][0]["url"].as_str().unwrap();
    assert!(
        link.starts_with(untrusting),
        "{link}: a stranger's X-Forwarded-Host is ignored"
    );
    let trusting = server_with(Limits::default(), &["127.0.0.1"]);
    let response = client()
        .get(format!("{trusting}/fhir/Practitioner?_count=1"))
        .header("X-Forwarded-Host", "directory.example")
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap();
    let bundle: Value = response.json().await.unwrap();
    let link = bundle["link"][0]["url"].as_str().unwrap();
    assert!(
        link.starts_with("https://directory.example/fhir/"),
        "{link}"
    );
    let full_url = bundle["entry"][0]["fullUrl"].as_str().unwrap();
    assert!(
        full_url.starts_with("https://directory.example/fhir/Practitioner/"),
        "{full_url}"
    );
}
