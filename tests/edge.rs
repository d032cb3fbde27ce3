//! The HTTP edge under attack: clients that never read, many connections from one address,
//! request heads too long for the HTTP parser, a client's `Host` in the links others are served,
//! the XML rewrite's work, headers browsers act on, public paths flooded, and `/metrics` read
//! with any credential. Each server here is started for its test, over a copy of the demo data.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use annuaire::auth::config::RateLimitConfig;
use annuaire::settings::Settings;
use common::{Served, api_key_sha256, client};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A server over a copy of the demo data, with its settings changed by `configure`.
/// Held by the tests that load the machine (thirty stalled clients, megabyte heads) and by the
/// one that compares timings, so that the comparison never runs beside the load: tests of one
/// binary run in parallel.
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn server_configured(configure: impl FnOnce(&mut Settings)) -> Served {
    let dir = common::demo_copy("annuaire-edge-").keep();
    let mut settings = common::settings_for(&dir.join("data"));
    configure(&mut settings);
    common::spawn_server(settings, None)
}

/// A client whose requests leave from `address` (any of 127.0.0.0/8 reaches the server).
fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        .local_address(address.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// The status of a response whose first bytes are in `head`.
fn status_of(head: &[u8]) -> u16 {
    String::from_utf8_lossy(head)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_are_cut_off_and_bounded_per_address() {
    let _alone = ALONE.lock().await;
    const CLIENTS: usize = 30;
    const PER_ADDRESS: usize = 6;
    let served = server_configured(|settings| {
        settings.limits.write_timeout_ms = 1500;
        settings.limits.max_connections_per_address = PER_ADDRESS;
    });
    let address = served.address;
    // Four pages asked at once on each connection (pipelined): 8 MB, more than the kernel's
    // socket buffers hold, so that the server must wait for the client to read.
    const PAGES: usize = 4;
    let request = format!("GET /fhir/Practitioner?_count=1000 HTTP/1.1\r\nHost: {address}\r\n\r\n")
        .repeat(PAGES);
    // How large the answer is, read whole by a client that reads (from another address: its
    // kept-alive connection must not count against the one under test).
    let whole = client_from("127.0.0.3")
        .get(served.url("/fhir/Practitioner?_count=1000"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .len();
    // Thirty clients ask for it, with a small receive window, and never read.
    let started = Instant::now();
    let mut sockets = Vec::new();
    for _ in 0..CLIENTS {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket.connect(address).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        sockets.push(stream);
    }
    // Each has its status line (peeked: nothing is taken off the window).
    let mut statuses = Vec::new();
    for stream in &sockets {
        let mut head = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(20), stream.peek(&mut head))
            .await
            .expect("every client is answered")
            .unwrap();
        statuses.push(status_of(&head[..n]));
    }
    let held = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    // The memory they hold is bounded by construction: the limit's worth of answers, each
    // for the write timeout at most (the test process's resident memory is shared with the
    // other tests, too noisy to measure it by).
    assert_eq!(
        (held, refused),
        (PER_ADDRESS, CLIENTS - PER_ADDRESS),
        "{statuses:?}"
    );
    // Meanwhile the server answers everyone else.
    let other = client_from("127.0.0.2")
        .get(served.url("/fhir/metadata"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);
    // The held connections are closed at the write timeout, which gives their address its
    // connections back: it can hold as many again.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut again = Vec::new();
    while again.len() < PER_ADDRESS {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream
            .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut head = [0u8; 64];
        let n = stream.read(&mut head).await.unwrap();
        match status_of(&head[..n]) {
            200 => again.push(stream),
            429 => tokio::time::sleep(Duration::from_millis(50)).await,
            other => panic!("{other}"),
        }
        assert!(
            Instant::now() < deadline,
            "the held connections were never closed"
        );
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "closed after {took:?}");
    // ...and reading them now gives a truncated answer, then the end.
    for (stream, status) in sockets.iter_mut().zip(&statuses) {
        let mut received = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut received))
            .await
            .expect("the connection is closed");
        let text = String::from_utf8_lossy(&received);
        if *status == 429 {
            assert!(text.contains("OperationOutcome"), "{text}");
            assert!(text.contains("max_connections_per_address"), "{text}");
        } else {
            assert!(
                received.len() < PAGES * whole,
                "the held answers arrived whole ({} of {PAGES} × {whole} bytes): the connection was not cut",
                received.len()
            );
        }
    }
}

/// Sends `request` over a fresh connection (from a thread, the answer read meanwhile) and
/// returns the status and the whole answer; the server must close the connection.
fn exchange(address: SocketAddr, request: Vec<u8>) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sending = std::thread::spawn(move || {
        // The server stops reading at some point: a failed write is expected.
        let _ = writer.write_all(&request);
    });
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    sending.join().unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    (status_of(text.as_bytes()), text)
}

/// The body of an answer as JSON.
fn body_of(text: &str) -> Value {
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    serde_json::from_str(body).unwrap_or(Value::Null)
}

#[test]
fn heads_too_long_for_the_parser_get_outcomes_and_the_connection_closes() {
    let _alone = ALONE.blocking_lock();
    let served = server_configured(|_| {});
    let address = served.address;
    for (what, request, status) in [
        (
            "a 1 MB URL",
            format!(
                "GET /fhir/Practitioner?family={} HTTP/1.1\r\nHost: {address}\r\n\r\n",
                "a".repeat(1 << 20)
            ),
            414,
        ),
        (
            "a 70 KB URL",
            format!(
                "GET /fhir/Practitioner?family={} HTTP/1.1\r\nHost: {address}\r\n\r\n",
                "a".repeat(70_000)
            ),
            414,
        ),
        (
            "1 MB of headers",
            format!(
                "GET /fhir/metadata HTTP/1.1\r\nHost: {address}\r\n{}\r\n",
                format!("X-Padding: {}\r\n", "b".repeat(1000)).repeat(1000)
            ),
            431,
        ),
        (
            "200 headers",
            format!(
                "GET /fhir/metadata HTTP/1.1\r\nHost: {address}\r\n{}\r\n",
                (0..200)
                    .map(|i| format!("X-H{i}: v\r\n"))
                    .collect::<String>()
            ),
            431,
        ),
    ] {
        let started = Instant::now();
        let (got, text) = exchange(address, request.into_bytes());
        assert_eq!(got, status, "{what}: {}", &text[..text.len().min(300)]);
        let outcome = body_of(&text);
        assert_eq!(
            outcome["resourceType"], "OperationOutcome",
            "{what}: {text}"
        );
        assert!(
            text.to_ascii_lowercase()
                .contains("x-content-type-options: nosniff"),
            "{what}: {text}"
        );
        assert!(started.elapsed() < Duration::from_secs(20), "{what}");
    }
    // Bodies are skipped, not read as heads: a POST with a long body, then a GET, on one
    // connection, both answered.
    let body = format!("family={}", "a".repeat(30_000));
    let pipelined = format!(
        "POST /fhir/Practitioner/_search HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}GET /fhir/metadata HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let (status, text) = exchange(address, pipelined.into_bytes());
    assert_eq!(status, 200, "{}", &text[..text.len().min(300)]);
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
}

/// Every absolute link of a search page and of an export kick-off.
async fn links_of(base: &str, host: &str) -> Vec<String> {
    let client = client();
    let bundle: Value = client
        .get(format!("{base}/fhir/Practitioner?_count=2"))
        .header("Host", host)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut links: Vec<String> = bundle["link"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["url"].as_str().unwrap().to_owned())
        .collect();
    links.extend(
        bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["fullUrl"].as_str().unwrap().to_owned()),
    );
    let kick_off = client
        .get(format!("{base}/fhir/$export?_type=Organization"))
        .header("Host", host)
        .header("Prefer", "respond-async")
        .send()
        .await
        .unwrap();
    assert_eq!(kick_off.status(), StatusCode::ACCEPTED);
    links.push(
        kick_off.headers()["content-location"]
            .to_str()
            .unwrap()
            .to_owned(),
    );
    links
}

#[tokio::test]
async fn links_never_name_a_host_the_client_chose() {
    let public = server_configured(|settings| {
        settings.public_base_url = Some("https://annuaire.example".into());
        settings.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    });
    for link in links_of(&public.base, "evil.example").await {
        assert!(link.starts_with("https://annuaire.example/fhir/"), "{link}");
    }
    // Not even a trusted proxy's forwarded host moves them.
    let response = client()
        .get(public.url("/fhir/Organization?_count=1"))
        .header("X-Forwarded-Host", "evil.example")
        .send()
        .await
        .unwrap();
    let bundle: Value = response.json().await.unwrap();
    let link = bundle["link"][0]["url"].as_str().unwrap();
    assert!(link.starts_with("https://annuaire.example/fhir/"), "{link}");

    let allow_listed = server_configured(|settings| {
        settings.allowed_hosts = vec!["directory.example".into()];
    });
    let listen = format!("http://{}/fhir/", allow_listed.address);
    for link in links_of(&allow_listed.base, "evil.example").await {
        assert!(link.starts_with(&listen), "{link}");
    }
    for link in links_of(&allow_listed.base, "directory.example").await {
        assert!(link.starts_with("http://directory.example/fhir/"), "{link}");
    }
}

/// Milliseconds a request takes, the best of three.
async fn quickest(url: &str) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let response = client().get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.bytes().await.unwrap();
        best = best.min(started.elapsed());
    }
    best
}

#[tokio::test]
async fn the_xml_rewrite_is_charged_as_work() {
    let _alone = ALONE.lock().await;
    // The comparison is of timings, which a loaded machine can blur: a few attempts, each on
    // fresh servers. Without the charge, every attempt fails at its last step (the XML page
    // would cost one token like any request).
    let mut failures = Vec::new();
    for _ in 0..4 {
        match xml_charge_attempt().await {
            Ok(()) => return,
            Err(failure) => failures.push(failure),
        }
    }
    panic!("every attempt failed: {failures:#?}");
}

/// One attempt of [`the_xml_rewrite_is_charged_as_work`]: what went wrong, if anything.
async fn xml_charge_attempt() -> Result<(), String> {
    // How long the page takes as JSON and as XML, on a server without limits.
    let measured = server_configured(|_| {});
    let page = "/fhir/PractitionerRole?_count=1000";
    let json = quickest(&measured.url(page)).await;
    let xml = quickest(&measured.url(&format!("{page}&_format=xml"))).await;
    if xml <= json * 3 {
        return Err(format!(
            "the XML ({xml:?}) does not take much longer than the JSON ({json:?}): nothing to show"
        ));
    }
    // One token per request, and one more per half a `json` of work: the JSON page costs about
    // 3 tokens (4 if the machine is a little slower then), the XML page, charged for its
    // rewrite (more than three times the JSON's work), more than the 5 a bucket holds. (The
    // unit was a whole `json` while the XML took more than five times the JSON; on this
    // machine it now takes about four and a half.)
    let unit = u64::try_from(json.as_millis() / 2).unwrap().max(1);
    let base = server_configured(|settings| {
        settings.limits.work_unit_ms = unit;
        settings.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        settings.open_rate_limit = Some(RateLimitConfig {
            per_second: 1,
            burst: Some(5),
        });
    })
    .base;
    let from = |address: &'static str, path: String| {
        let url = format!("{base}{path}");
        async move {
            client()
                .get(url)
                .header("X-Forwarded-For", address)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let expect = |what: &str, got: StatusCode, expected: StatusCode| {
        if got == expected {
            Ok(())
        } else {
            Err(format!(
                "{what}: {got}, expected {expected} (JSON {json:?}, XML {xml:?}, units of {unit} ms)"
            ))
        }
    };
    expect(
        "the JSON page",
        from("203.0.113.1", page.into()).await,
        StatusCode::OK,
    )?;
    expect(
        "after the JSON page, the bucket still has tokens",
        from("203.0.113.1", "/fhir/Organization?_count=1".into()).await,
        StatusCode::OK,
    )?;
    expect(
        "the XML page",
        from("203.0.113.2", format!("{page}&_format=xml")).await,
        StatusCode::OK,
    )?;
    expect(
        "after the XML page, the bucket is empty",
        from("203.0.113.2", "/fhir/Organization?_count=1".into()).await,
        StatusCode::TOO_MANY_REQUESTS,
    )
}

#[tokio::test]
async fn api_answers_tell_browsers_not_to_sniff_or_frame_them() {
    let served = server_configured(|_| {});
    for path in [
        "/fhir/metadata",
        "/fhir/Practitioner?_count=1",
        "/fhir/Practitioner/no-such-id",
        "/fhir/Practitioner?_format=xml&_count=1",
        "/nowhere",
    ] {
        let response = client().get(served.url(path)).send().await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(policy.contains("default-src 'none'"), "{path}: {policy}");
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
    }
    // The lookup page keeps its own policy, which lets it run its script.
    let page = client().get(served.url("/")).send().await.unwrap();
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'"), "{policy}");
}

#[tokio::test]
async fn refusals_written_as_outcomes_keep_their_cache_headers() {
    let served = server_configured(|_| {});
    // Refused before any handler (URL and headers over `limits`): their OperationOutcomes say
    // how caches may keep them, as every other answer does.
    let long_url = served.url(&format!("/fhir/Practitioner?family={}", "a".repeat(9000)));
    let long_headers = client()
        .get(served.url("/fhir/metadata"))
        // Over `limits.max_header_bytes` (16 KiB), within what `hygiene` reads.
        .header("X-Padding", "b".repeat(16_600));
    for (what, request, status) in [
        (
            "a long URL",
            client().get(long_url),
            StatusCode::URI_TOO_LONG,
        ),
        (
            "long headers",
            long_headers,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        ),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{what}");
        let headers = response.headers().clone();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["resourceType"], "OperationOutcome", "{what}: {body}");
        assert_eq!(headers["cache-control"], "no-cache", "{what}: {headers:?}");
        assert!(headers.contains_key("vary"), "{what}: {headers:?}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    }
}

#[tokio::test]
async fn public_paths_are_rate_limited_by_address() {
    let served = server_configured(|settings| {
        settings.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        settings.public_rate_limit = Some(RateLimitConfig {
            per_second: 1,
            burst: Some(3),
        });
    });
    let from = |address: &str, path: &str| {
        client()
            .get(served.url(path))
            .header("X-Forwarded-For", address.to_owned())
            .send()
    };
    for path in ["/fhir/metadata", "/", "/healthz"] {
        assert_eq!(
            from("203.0.113.1", path).await.unwrap().status(),
            StatusCode::OK
        );
    }
    let refused = from("203.0.113.1", "/fhir/metadata").await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["resourceType"], "OperationOutcome");
    // Another address has its own bucket.
    assert_eq!(
        from("203.0.113.2", "/fhir/metadata")
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn metrics_on_the_main_address_need_the_metrics_scope() {
    const READER: &str = "directory-reader-key-0123456789ab";
    const OPERATOR: &str = "operator-metrics-key-0123456789ab";
    let dir = common::demo_copy("annuaire-edge-metrics-");
    let config = dir.path().join("annuaire.toml");
    std::fs::write(
        &config,
        format!(
            "[auth]\n[[auth.api_keys]]\nname = \"reader\"\nsha256 = \"{}\"\nscopes = [\"system/*.rs\"]\n\n[[auth.api_keys]]\nname = \"operator\"\nsha256 = \"{}\"\nscopes = [\"annuaire/metrics\"]\n",
            api_key_sha256(READER),
            api_key_sha256(OPERATOR)
        ),
    )
    .unwrap();
    let settings = Settings::load(Settings {
        config: Some(config),
        ..common::settings_for(&dir.path().join("data"))
    })
    .expect("valid settings");
    let served = common::spawn_server(settings, None);
    let metrics = |key: &str| {
        client()
            .get(served.url("/metrics"))
            .header("ESANTE-API-KEY", key.to_owned())
            .send()
    };
    let refused = metrics(READER).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("annuaire/metrics"),
        "{body}"
    );
    let allowed = metrics(OPERATOR).await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert!(allowed.text().await.unwrap().contains("annuaire_ready"));
    // The operator's key reads no directory data.
    let data = client()
        .get(served.url("/fhir/Practitioner?_count=1"))
        .header("ESANTE-API-KEY", OPERATOR)
        .send()
        .await
        .unwrap();
    assert_eq!(data.status(), StatusCode::FORBIDDEN);
}
