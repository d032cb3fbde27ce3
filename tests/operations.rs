//! What a site-reliability engineer relies on: health and readiness, metrics that count what
//! was sent, a SIGTERM that drains, and replicas that answer byte for byte alike.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use annuaire::clock::Clock;
use annuaire::generation::copy::copy_current;
use annuaire::import::{self, ImportSummary};
use annuaire::settings::Settings;
use annuaire_generate::{GenerateOptions, GeneratedFiles};
use reqwest::StatusCode;
use serde_json::Value;

use common::{api_key_sha256, client, demo_copy};

async fn get(
    client: &reqwest::Client,
    url: &str,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = client.get(url).send().await.expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("body"))
}

/// The value of one sample of the Prometheus text format (`name{labels} value`), 0 if absent.
fn sample(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            (key == name_and_labels).then(|| value.parse::<f64>().expect("a number"))
        })
        .unwrap_or(0.0)
}

#[tokio::test]
async fn a_server_without_data_is_alive_but_not_ready_until_a_generation_arrives() {
    let dir = common::scratch_dir("annuaire-ops-empty-");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let base = common::spawn_server(
        common::settings_for(&data),
        Some(Duration::from_millis(100)),
    )
    .base;
    let client = client();

    let (status, _, body) = get(&client, &format!("{base}/healthz")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = get(&client, &format!("{base}/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["status"],
        "no-data"
    );
    let (status, headers, body) = get(&client, &format!("{base}/fhir/Practitioner")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(headers["retry-after"], "1");
    let outcome: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["code"], "transient");
    let (_, _, metrics) = get(&client, &format!("{base}/metrics")).await;
    assert_eq!(sample(&metrics, "annuaire_ready"), 0.0, "{metrics}");

    // A copied generation arrives: the server switches to it and says it is ready. The copy runs
    // off the test's single-threaded runtime, and a fresh client follows it: a connection left
    // idle past the server's keep-alive during a long copy would be closed under its request.
    let source = common::demo().data.clone();
    let target = data.clone();
    tokio::task::spawn_blocking(move || copy_current(&source, &target).expect("copy"))
        .await
        .expect("the copy's thread");
    let client = common::client();
    let demo_id = annuaire::generation::GenerationInfo::read(
        &annuaire::generation::DataDir::at(&data).generation_path("gen-000001"),
    )
    .unwrap()
    .id()
    .into_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    let ready = loop {
        let (status, _, body) = get(&client, &format!("{base}/readyz")).await;
        if status == StatusCode::OK {
            break serde_json::from_str::<Value>(&body).unwrap();
        }
        assert!(Instant::now() < deadline, "never ready: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(ready["generation"]["id"], demo_id.as_str());
    let (status, _, _) = get(&client, &format!("{base}/fhir/Practitioner?_count=1")).await;
    assert_eq!(status, StatusCode::OK);
}

const OPS_KEY: &str = "ops-test-key-0123456789";
const LIMITED_KEY: &str = "ops-limited-key-0123456789";

#[tokio::test]
async fn metrics_count_exactly_the_requests_sent() {
    let dir = demo_copy("annuaire-ops-metrics-");
    let config = dir.path().join("annuaire.toml");
    std::fs::write(
        &config,
        format!(
            "[auth]\n[[auth.api_keys]]\nname = \"ops\"\nsha256 = \"{}\"\nscopes = [\"system/*.rs\"]\n\n[[auth.api_keys]]\nname = \"limited\"\nsha256 = \"{}\"\nscopes = [\"system/*.rs\"]\nrate_limit = {{ per_second = 1, burst = 2 }}\n",
            api_key_sha256(OPS_KEY),
            api_key_sha256(LIMITED_KEY)
        ),
    )
    .unwrap();
    let settings = Settings::load(Settings {
        config: Some(config),
        metrics_listen: Some("127.0.0.1:0".into()),
        ..common::settings_for(&dir.path().join("data"))
    })
    .expect("valid settings");
    let served = common::spawn_server(settings, None);
    let (base, metrics_base) = (served.base.clone(), served.metrics_base());
    let client = client();
    let send = |path: &str, key: Option<&str>| {
        let mut request = client.get(format!("{base}{path}"));
        if let Some(key) = key {
            request = request.header("ESANTE-API-KEY", key);
        }
        request.send()
    };

    for i in 0..5 {
        let response = send(
            &format!("/fhir/Practitioner?_count={}", i + 1),
            Some(OPS_KEY),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let bundle: Value = send("/fhir/Organization?_count=3", Some(OPS_KEY))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let organizations: Vec<String> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
        .collect();
    for id in &organizations {
        let response = send(&format!("/fhir/Organization/{id}"), Some(OPS_KEY))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    // The FINESS services are counted under their own type.
    for path in [
        "/fhir/HealthcareService?_count=1",
        "/fhir/HealthcareService?service-type=x",
        "/fhir/Device/eml-0",
    ] {
        send(path, Some(OPS_KEY)).await.unwrap();
    }
    for id in ["no-such-1", "no-such-2"] {
        let response = send(&format!("/fhir/Practitioner/{id}"), Some(OPS_KEY))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let sorts = "family,given,birthdate,_id,_lastUpdated,name,identifier,active,gender";
    let response = send(&format!("/fhir/Practitioner?_sort={sorts}"), Some(OPS_KEY))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    for _ in 0..2 {
        let response = send("/fhir/Practitioner", None).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = send("/fhir/Practitioner", Some("not-a-key")).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let mut limited = BTreeMap::<u16, u32>::new();
    for _ in 0..6 {
        let status = send("/fhir/Practitioner?_count=1", Some(LIMITED_KEY))
            .await
            .unwrap()
            .status();
        *limited.entry(status.as_u16()).or_default() += 1;
    }
    let refused = limited.get(&429).copied().unwrap_or(0);
    assert!(
        refused >= 1,
        "the limited key was never refused: {limited:?}"
    );

    // Not on the main address when a metrics address is configured.
    let response = send("/metrics", Some(OPS_KEY)).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (status, headers, text) = get(&client, &format!("{metrics_base}/metrics")).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let count = |labels: &str| sample(&text, &format!("annuaire_http_requests_total{{{labels}}}"));
    // 5 searches, and the limited key's answered ones.
    let limited_ok = f64::from(limited.get(&200).copied().unwrap_or(0));
    assert_eq!(
        count(r#"interaction="search-type",resource_type="Practitioner",status="200""#),
        5.0 + limited_ok,
        "{text}"
    );
    assert_eq!(
        count(r#"interaction="search-type",resource_type="Organization",status="200""#),
        1.0
    );
    assert_eq!(
        count(r#"interaction="read",resource_type="Organization",status="200""#),
        organizations.len() as f64
    );
    assert_eq!(
        count(r#"interaction="read",resource_type="Practitioner",status="404""#),
        2.0
    );
    assert_eq!(
        count(r#"interaction="search-type",resource_type="Practitioner",status="400""#),
        1.0
    );
    assert_eq!(
        count(r#"interaction="search-type",resource_type="Practitioner",status="401""#),
        3.0
    );
    assert_eq!(
        count(r#"interaction="search-type",resource_type="Practitioner",status="429""#),
        f64::from(refused)
    );
    assert_eq!(
        sample(
            &text,
            r#"annuaire_search_refusals_total{reason="max_sort_keys"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            r#"annuaire_auth_failures_total{reason="no_credentials"}"#
        ),
        2.0
    );
    assert_eq!(
        sample(
            &text,
            r#"annuaire_auth_failures_total{reason="unknown_api_key"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(&text, r#"annuaire_rate_limited_total{bucket="api_key"}"#),
        f64::from(refused)
    );
    // Every request has its latency observed.
    let total_practitioner_searches = 5.0 + limited_ok + 1.0 + 3.0 + f64::from(refused);
    assert_eq!(
        sample(
            &text,
            r#"annuaire_http_request_duration_seconds_count{interaction="search-type",resource_type="Practitioner"}"#
        ),
        total_practitioner_searches
    );
    // The data: the generation served and its size.
    let info = annuaire::generation::GenerationInfo::read(
        &annuaire::generation::DataDir::at(&dir.path().join("data")).generation_path("gen-000001"),
    )
    .unwrap();
    assert_eq!(
        sample(
            &text,
            &format!(
                r#"annuaire_generation_info{{id="{}",name="gen-000001"}}"#,
                info.id()
            )
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            r#"annuaire_generation_resources{resource_type="Practitioner"}"#
        ),
        info.resources.practitioner as f64
    );
    assert_eq!(
        count(r#"interaction="search-type",resource_type="HealthcareService",status="200""#),
        2.0,
        "{text}"
    );
    assert_eq!(
        count(r#"interaction="read",resource_type="Device",status="404""#),
        1.0
    );
    for (rtype, resources) in [
        ("HealthcareService", info.resources.healthcare_service),
        ("Device", info.resources.device),
    ] {
        let gauge = format!(r#"annuaire_generation_resources{{resource_type="{rtype}"}}"#);
        assert!(text.contains(&format!("{gauge} ")), "{gauge} is exported");
        assert_eq!(sample(&text, &gauge), resources as f64, "{text}");
    }
    assert!(sample(&text, r#"annuaire_store_bytes{file="resources.zst"}"#) > 0.0);
    assert_eq!(sample(&text, "annuaire_ready"), 1.0);
    assert!(
        sample(&text, "process_resident_memory_bytes") > 0.0,
        "{text}"
    );
    // Health paths answer without credentials on both listeners, and are not counted.
    for address in [base.clone(), metrics_base.clone()] {
        let (status, _, body) = get(&client, &format!("{address}/readyz")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert!(!text.contains(r#"interaction="other""#), "{text}");
}

/// How one raw request ended.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Nothing listened: the server had closed its listener.
    Refused,
    /// A complete response with this status.
    Answered(u16),
    /// The connection was accepted, then broke before a complete response.
    Broken(String),
}

/// One `GET` on a new connection, telling a refused connection from a broken response.
fn raw_get(address: SocketAddr, path: &str) -> Outcome {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(2)) else {
        return Outcome::Refused;
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    if let Err(e) = stream.write_all(request.as_bytes()) {
        return Outcome::Broken(format!("write: {e}"));
    }
    let mut response = Vec::new();
    if let Err(e) = stream.read_to_end(&mut response) {
        return Outcome::Broken(format!("read: {e}"));
    }
    let Some(split) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Outcome::Broken(format!("no complete head in {} bytes", response.len()));
    };
    let head = String::from_utf8_lossy(&response[..split]);
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let length: Option<usize> = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    });
    let body = response.len() - split - 4;
    match length {
        Some(length) if length != body => Outcome::Broken(format!("{body} of {length} body bytes")),
        _ => Outcome::Answered(status),
    }
}

#[test]
fn sigterm_finishes_the_requests_in_flight_and_exits_0() {
    let dir = demo_copy("annuaire-ops-drain-");
    let (mut child, address) = common::spawn_binary_server_with(
        &dir.path().join("data"),
        &[
            "--drain-notice-seconds",
            "1",
            "--drain-timeout-seconds",
            "20",
        ],
    );
    assert!(
        common::poll(Duration::from_secs(30), || {
            (raw_get(address, "/readyz") == Outcome::Answered(200)).then_some(())
        })
        .is_some()
    );

    // Eight clients send heavy searches without pause, each on a new connection.
    let stop = Arc::new(AtomicBool::new(false));
    let signalled: Arc<std::sync::Mutex<Option<Instant>>> = Default::default();
    let sent = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..8)
        .map(|i| {
            let stop = stop.clone();
            let signalled = signalled.clone();
            let sent = sent.clone();
            std::thread::spawn(move || {
                let path = format!(
                    "/fhir/PractitionerRole?_count={}&_include=PractitionerRole:organization&_include=PractitionerRole:practitioner",
                    200 + i
                );
                let mut outcomes = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let outcome = raw_get(address, &path);
                    // When the request started, relative to SIGTERM (negative: before).
                    let since_signal = signalled.lock().unwrap().map_or(-1.0, |at| {
                        if started >= at {
                            (started - at).as_secs_f64()
                        } else {
                            -((at - started).as_secs_f64())
                        }
                    });
                    let refused = outcome == Outcome::Refused;
                    outcomes.push((outcome, since_signal));
                    sent.fetch_add(1, Ordering::Relaxed);
                    if refused {
                        break;
                    }
                }
                outcomes
            })
        })
        .collect();
    // SIGTERM once eight requests have been answered: the server is busy.
    let busy = common::poll(Duration::from_secs(30), || {
        (sent.load(Ordering::Relaxed) >= 8).then_some(())
    });
    assert!(
        busy.is_some(),
        "the clients got no answers:\n{}",
        child.stderr()
    );
    *signalled.lock().unwrap() = Some(Instant::now());
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // During the notice (from the moment the server says it received the signal), /readyz
    // says draining while searches are still answered.
    assert!(
        child
            .wait_for_line("SIGTERM received", Duration::from_secs(10))
            .is_some(),
        "the server did not say it received SIGTERM:\n{}",
        child.stderr()
    );
    assert_eq!(raw_get(address, "/readyz"), Outcome::Answered(503));
    let status = child.wait_with_timeout(Duration::from_secs(30));
    stop.store(true, Ordering::Relaxed);
    let outcomes: Vec<(Outcome, f64)> = clients
        .into_iter()
        .flat_map(|c| c.join().expect("client thread"))
        .collect();
    assert!(
        status.success(),
        "exit status {status:?}:\n{}",
        child.stderr()
    );
    // Every request sent before SIGTERM or during the notice (1 s, less a margin for the
    // clients' own scheduling and a slow request's accept) was answered 200: the ones in
    // flight when the listener closed were finished. Later ones may find the listener closed
    // (refused, or reset while waiting in the kernel's accept queue): a load balancer sends
    // them elsewhere.
    let failed: Vec<_> = outcomes
        .iter()
        .filter(|(o, at)| *at < 0.7 && *o != Outcome::Answered(200))
        .collect();
    assert!(
        failed.is_empty(),
        "requests sent before the listener closed that failed: {failed:?}"
    );
    let not_ok: Vec<_> = outcomes
        .iter()
        .filter(|(o, _)| matches!(o, Outcome::Answered(s) if *s != 200))
        .collect();
    assert!(
        not_ok.is_empty(),
        "requests answered with an error: {not_ok:?}"
    );
    let in_notice = outcomes
        .iter()
        .filter(|(o, at)| (0.0..0.7).contains(at) && *o == Outcome::Answered(200))
        .count();
    assert!(
        in_notice >= 2,
        "only {in_notice} requests sent during the drain notice were answered"
    );
    let before = outcomes.iter().filter(|(_, at)| *at < 0.0).count();
    assert!(before >= 8, "only {before} requests before SIGTERM");
    assert!(
        child.stderr().contains("SIGTERM received"),
        "{}",
        child.stderr()
    );
}

// ---------------------------------------------------------------------------------------------
// Replicas
// ---------------------------------------------------------------------------------------------

const REPLICA_PERSONS: u64 = 400;
const REPLICA_SEED: u64 = 77;

/// An import stamped from the files, as `annuaire import` does.
fn import(files: &GeneratedFiles, data: &Path) -> ImportSummary {
    common::import_files(files, data, None)
}

/// `import`, run when `clock` says: only its report's time may depend on it.
fn import_at(files: &GeneratedFiles, data: &Path, clock: &Clock) -> ImportSummary {
    let options = import::ImportOptions {
        clock: clock.clone(),
        ..common::import_options(files, data, None)
    };
    import::run(&options).unwrap_or_else(|e| panic!("import into {}: {e}", data.display()))
}

/// What a replica answered to one request: everything a client may compare.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    etag: Option<String>,
    last_modified: Option<String>,
    body: String,
}

async fn answer(client: &reqwest::Client, base: &str, path: &str) -> Answer {
    let response = client
        .get(format!("{base}{path}"))
        .header("Host", "directory.example")
        .send()
        .await
        .expect("request");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    Answer {
        status: response.status().as_u16(),
        etag: header("etag"),
        last_modified: header("last-modified"),
        body: response.text().await.expect("body"),
    }
}

/// `http://directory.example/fhir/...` → `/fhir/...`
fn path_of(link: &str) -> String {
    link.strip_prefix("http://directory.example")
        .unwrap_or_else(|| panic!("a link built from the request's host: {link}"))
        .to_owned()
}

#[tokio::test]
async fn replicas_that_import_the_same_files_answer_byte_for_byte_alike() {
    let dir = common::scratch_dir("annuaire-ops-replicas-");
    let root = dir.path();
    let day = |n: u32| {
        annuaire_generate::generate(
            &GenerateOptions::new(REPLICA_PERSONS, REPLICA_SEED).with_day(n),
            &root.join(format!("day{n}")),
        )
        .expect("generate")
    };
    let (day1, day2) = (day(1), day(2));
    // A and B import both days on their own, at different times (B's clock is a day and a
    // second later); C is a copy of A; D has only day 1.
    let (early, _) = Clock::manual(time::macros::datetime!(2026-12-01 08:00:00 UTC));
    let (late, _) = Clock::manual(time::macros::datetime!(2026-12-02 08:00:01 UTC));
    let a1 = import_at(&day1, &root.join("a"), &early);
    let a2 = import_at(&day2, &root.join("a"), &early);
    let b1 = import_at(&day1, &root.join("b"), &late);
    let b2 = import_at(&day2, &root.join("b"), &late);
    assert_eq!(a1.id, b1.id);
    assert_eq!(a2.id, b2.id);
    assert_ne!(a1.id, a2.id);
    // The same files again (a retried cron job): nothing is written, B stays A's twin.
    let again = import::run(&common::import_options(&day2, &root.join("b"), None));
    assert!(
        matches!(&again, Err(import::ImportError::SameFiles { id }) if *id == b2.id),
        "{again:?}"
    );
    copy_current(&root.join("a"), &root.join("c")).expect("copy");
    let d1 = import(&day1, &root.join("d"));
    assert_eq!(d1.id, a1.id);

    let key = root.join("cursor.key");
    std::fs::write(&key, [7u8; 32]).unwrap();
    let serve = |name: &str| {
        common::spawn_server(
            Settings {
                cursor_key_file: Some(key.clone()),
                // Links name the host the requests are sent to (`answer`) only when allowed.
                allowed_hosts: vec!["directory.example".into()],
                ..common::settings_for(&root.join(name))
            },
            None,
        )
        .base
    };
    let replicas: Vec<String> = ["a", "b", "c"].iter().map(|n| serve(n)).collect();
    let behind = serve("d");
    let client = client();

    // Ids the requests name, read from A.
    let first = |body: &str| -> String {
        let bundle: Value = serde_json::from_str(body).unwrap();
        bundle["entry"][0]["resource"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let a = &replicas[0];
    let practitioner = first(&answer(&client, a, "/fhir/Practitioner?_count=1").await.body);
    let organization = first(&answer(&client, a, "/fhir/Organization?_count=1").await.body);
    let since = "2026-10-01T00:00:00Z";
    let paths = [
        "/fhir/Practitioner?_count=20".to_owned(),
        "/fhir/Practitioner?_sort=family,-given&_count=15".to_owned(),
        "/fhir/PractitionerRole?_include=PractitionerRole:organization&_include=PractitionerRole:practitioner&_count=10".to_owned(),
        "/fhir/Organization?_revinclude=PractitionerRole:organization&_count=5&_total=accurate".to_owned(),
        "/fhir/Practitioner?name=ma&_count=10".to_owned(),
        "/fhir/Organization?_summary=count".to_owned(),
        format!("/fhir/Practitioner/{practitioner}"),
        format!("/fhir/Practitioner/{practitioner}/_history"),
        format!("/fhir/Practitioner/{practitioner}/_history/1"),
        format!("/fhir/Organization/{organization}"),
        format!("/fhir/Practitioner/_history?_since={since}&_count=10"),
        format!("/fhir/_history?_since={since}&_count=25"),
        "/fhir/Practitioner?active=false&_count=10".to_owned(),
        "/fhir/PractitionerRole?_lastUpdated=gt2026-01-01&_sort=-_lastUpdated&_count=10".to_owned(),
    ];
    for path in &paths {
        let expected = answer(&client, a, path).await;
        assert_eq!(expected.status, 200, "{path}: {}", expected.body);
        for replica in &replicas[1..] {
            let got = answer(&client, replica, path).await;
            assert_eq!(got, expected, "{path} differs between {a} and {replica}");
        }
    }

    // Paging through a sorted search, each page from the next replica, gives the pages one
    // server gives.
    let start = "/fhir/Practitioner?_sort=family,given&_count=37";
    let walk = |rotate: bool| {
        let client = client.clone();
        let replicas = replicas.clone();
        async move {
            let mut pages = Vec::new();
            let mut next = Some(start.to_owned());
            let mut turn = 0;
            while let Some(path) = next {
                let base = if rotate {
                    &replicas[turn % replicas.len()]
                } else {
                    &replicas[0]
                };
                turn += 1;
                let got = answer(&client, base, &path).await;
                assert_eq!(got.status, 200, "{path} on {base}: {}", got.body);
                let bundle: Value = serde_json::from_str(&got.body).unwrap();
                next = common::link(&bundle, "next").map(path_of);
                pages.push(got.body);
            }
            pages
        }
    };
    let single = walk(false).await;
    let rotated = walk(true).await;
    assert!(single.len() > 3, "{} pages", single.len());
    assert_eq!(rotated, single);

    // A replica still on day 1 does not know day 2's sorted pages yet: 503, try another.
    let bundle: Value = serde_json::from_str(&single[0]).unwrap();
    let next = path_of(common::link(&bundle, "next").unwrap());
    let got = answer(&client, &behind, &next).await;
    assert_eq!(got.status, 503, "{}", got.body);
    assert!(
        got.body.contains("newer than this server has loaded"),
        "{}",
        got.body
    );
}
