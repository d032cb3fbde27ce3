//! Noisy neighbour: while 8 connections keep sending the hostile set (every request that once
//! hurt the server, and a few more), another caller looks practitioners up by identifier. Its
//! lookups must all succeed, the hostile ones must each get a deliberate answer (never a 5xx
//! other than 503), and the server's memory must stay under 1 GiB. Latencies are reported, not
//! asserted (performance is shown in BENCHMARKS.md, by `benches/noisy.sh` at national size,
//! which runs this same test against a release server).
//!
//! Environment, for runs against a server already started:
//! - `ANNUAIRE_NOISY_BASE`: its address (`http://127.0.0.1:8080`); default: a server of the
//!   debug binary over the test's demo data;
//! - `ANNUAIRE_NOISY_PID`: its process id, to follow its memory;
//! - `ANNUAIRE_NOISY_SECONDS`: how long the load lasts (default 8).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The ceiling the server's resident memory must stay under.
const RSS_CEILING: u64 = 1 << 30;
const HOSTILE_CONNECTIONS: usize = 8;

/// One hostile request.
struct Hostile {
    what: &'static str,
    method: Method,
    path: String,
    header: Option<(&'static str, String)>,
    body: Option<String>,
}

fn get(what: &'static str, path: impl Into<String>) -> Hostile {
    Hostile {
        what,
        method: Method::GET,
        path: path.into(),
        header: None,
        body: None,
    }
}

/// Every request issue 13 lists under "Why", and pathological combinations.
fn hostile_set() -> Vec<Hostile> {
    let sort_keys = vec!["_id"; 2000].join(",");
    let needles = vec!["e"; 50].join(",");
    let many = (0..200)
        .map(|i| format!("x{i}"))
        .collect::<Vec<_>>()
        .join(",");
    vec![
        get(
            "2 000 _sort keys",
            format!("/fhir/Practitioner?_count=0&_sort={sort_keys}"),
        ),
        get(
            "50 one-letter :contains",
            format!("/fhir/Practitioner?_count=1&name:contains={needles}"),
        ),
        get(
            "sorted roles, 3 keys",
            "/fhir/PractitionerRole?_sort=role,-_lastUpdated,_id&_count=10",
        ),
        get(
            "sorted practitioners",
            "/fhir/Practitioner?_sort=family&_count=10",
        ),
        get(
            "sorted practitioners, last keys",
            "/fhir/Practitioner?_sort=-given,family&_count=1000",
        ),
        get(
            ":contains, sort and iterate",
            "/fhir/Practitioner?name:contains=mar&_sort=-family&_count=100&_revinclude=PractitionerRole:practitioner&_include:iterate=PractitionerRole:organization",
        ),
        get(
            "every include of 1 000 organizations",
            "/fhir/Organization?_count=1000&_include=*&_revinclude=*&_include:iterate=*",
        ),
        get(
            "count of a broad :contains",
            "/fhir/Practitioner?_summary=count&name:contains=ari",
        ),
        get(
            "_has with a chain",
            "/fhir/Organization?_has:PractitionerRole:organization:practitioner.name:contains=mar&_count=50",
        ),
        get("200 OR values", format!("/fhir/Practitioner?family={many}")),
        get(
            "a forged cursor",
            "/fhir/Practitioner?_sort=family&_cursor=eyJnIjo5fQ.AAAAAAAAAAAAAAAAAAAAAA",
        ),
        get(
            "a 20 KB URL",
            format!("/fhir/Practitioner?family={}", "a".repeat(20_000)),
        ),
        Hostile {
            header: Some(("x-padding", "b".repeat(20_000))),
            ..get("20 KB of headers", "/fhir/Practitioner?_count=1")
        },
        Hostile {
            method: Method::POST,
            header: Some(("content-type", "application/x-www-form-urlencoded".into())),
            body: Some(format!("family={}", "c".repeat(1 << 20))),
            ..get("a 1 MB _search body", "/fhir/Practitioner/_search")
        },
        get("history of everything", "/fhir/_history?_count=1000"),
    ]
}

/// Answers a hostile request may get: a result, or a deliberate refusal.
fn deliberate(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        200 | 400 | 403 | 408 | 413 | 414 | 429 | 431 | 503
    )
}

/// The server's own resident memory (`RssAnon`): what its requests allocate. The pages of the
/// generation files it maps (`RssFile`) are the kernel's page cache, given back under pressure.
fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find(|l| l.starts_with("RssAnon:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// `system|value` of some practitioners' identifiers, read from the server itself.
async fn identifiers(client: &reqwest::Client, base: &str) -> Vec<String> {
    let bundle: Value = client
        .get(format!(
            "{base}/fhir/Practitioner?_count=200&_elements=identifier"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let found: Vec<String> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let identifier = e["resource"]["identifier"].as_array()?.first()?;
            Some(format!(
                "{}|{}",
                identifier["system"].as_str()?,
                identifier["value"].as_str()?
            ))
        })
        .collect();
    assert!(
        found.len() >= 10,
        "too few practitioners to look up: {bundle}"
    );
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hostile_neighbour_does_not_hurt_identifier_lookups() {
    let seconds: u64 = std::env::var("ANNUAIRE_NOISY_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let mut _server = None;
    let (base, pid) = match std::env::var("ANNUAIRE_NOISY_BASE") {
        Ok(base) => (
            base,
            std::env::var("ANNUAIRE_NOISY_PID")
                .ok()
                .and_then(|p| p.parse::<u32>().ok()),
        ),
        Err(_) => {
            let (child, address) = common::spawn_binary_server(&common::demo().data);
            let pid = child.child.id();
            _server = Some(child);
            (format!("http://{address}"), Some(pid))
        }
    };
    let client = common::client();
    let identifiers = identifiers(&client, &base).await;
    let stop = Arc::new(AtomicBool::new(false));
    let hostile = Arc::new(hostile_set());

    // Each hostile request alone first: how long it takes with nobody else around.
    println!("each hostile request alone:");
    for request in hostile.iter() {
        let started = Instant::now();
        let status = send(&client, &base, request).await;
        println!(
            "  {:<40} {:>4} in {:>8.1} ms",
            request.what,
            status.as_u16(),
            started.elapsed().as_secs_f64() * 1e3
        );
        assert!(deliberate(status), "{}: {status}", request.what);
    }

    // Memory, sampled every 50 ms.
    let peak_rss = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = pid.map(|pid| {
        let (stop, peak) = (stop.clone(), peak_rss.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Some(rss) = rss_bytes(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    });

    // 8 hostile connections, each cycling through the set from a different start.
    let mut attackers = Vec::new();
    for connection in 0..HOSTILE_CONNECTIONS {
        let (stop, hostile, base) = (stop.clone(), hostile.clone(), base.clone());
        attackers.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .no_gzip()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut statuses: std::collections::BTreeMap<u16, u64> = Default::default();
            let mut undeliberate = Vec::new();
            let mut i = connection;
            while !stop.load(Ordering::Relaxed) {
                let request = &hostile[i % hostile.len()];
                let status = send(&client, &base, request).await;
                *statuses.entry(status.as_u16()).or_default() += 1;
                if !deliberate(status) {
                    undeliberate.push(format!("{}: {status}", request.what));
                }
                i += 1;
            }
            (statuses, undeliberate)
        }));
    }

    // The neighbour: identifier lookups one after another, for the whole run.
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut latencies = Vec::new();
    let mut errors = Vec::new();
    let mut n = 0;
    while Instant::now() < deadline {
        let identifier = &identifiers[n % identifiers.len()];
        n += 1;
        let started = Instant::now();
        let response = client
            .get(format!("{base}/fhir/Practitioner"))
            .query(&[("identifier", identifier.as_str())])
            .send()
            .await;
        let outcome = match response {
            Ok(r) if r.status() == StatusCode::OK => match r.json::<Value>().await {
                Ok(bundle) if bundle["entry"].as_array().is_some_and(|e| !e.is_empty()) => Ok(()),
                Ok(bundle) => Err(format!("{identifier}: no entry in {bundle}")),
                Err(e) => Err(format!("{identifier}: {e}")),
            },
            Ok(r) => Err(format!("{identifier}: {}", r.status())),
            Err(e) => Err(format!("{identifier}: {e}")),
        };
        latencies.push(started.elapsed());
        if let Err(e) = outcome {
            errors.push(e);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut statuses: std::collections::BTreeMap<u16, u64> = Default::default();
    let mut undeliberate = Vec::new();
    for attacker in attackers {
        let (s, u) = attacker.await.unwrap();
        for (status, count) in s {
            *statuses.entry(status).or_default() += count;
        }
        undeliberate.extend(u);
    }
    if let Some(sampler) = sampler {
        sampler.await.unwrap();
    }
    latencies.sort();
    let peak = peak_rss.load(Ordering::Relaxed);
    println!(
        "under load ({seconds} s, {HOSTILE_CONNECTIONS} hostile connections): hostile answers by status {statuses:?}"
    );
    println!(
        "identifier lookups: {} ({} errors), p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; server peak own memory (RssAnon) {} MiB",
        latencies.len(),
        errors.len(),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        peak >> 20
    );
    assert!(
        errors.is_empty(),
        "the neighbour's lookups failed: {:?}",
        &errors[..errors.len().min(5)]
    );
    assert!(
        latencies.len() >= 10,
        "only {} lookups in {seconds} s",
        latencies.len()
    );
    assert!(
        undeliberate.is_empty(),
        "{:?}",
        &undeliberate[..undeliberate.len().min(5)]
    );
    if pid.is_some() {
        assert!(peak > 0, "the server's memory could not be read");
        assert!(peak < RSS_CEILING, "the server grew to {} MiB", peak >> 20);
    }
}

/// Sends `request`; a connection the server closed on purpose (an oversized request) counts as
/// the status it sent, or 400.
async fn send(client: &reqwest::Client, base: &str, request: &Hostile) -> StatusCode {
    let mut builder = client.request(request.method.clone(), format!("{base}{}", request.path));
    if let Some((name, value)) = &request.header {
        builder = builder.header(*name, value);
    }
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    match builder.send().await {
        Ok(response) => {
            let status = response.status();
            let _ = response.bytes().await;
            status
        }
        Err(e) => e.status().unwrap_or(StatusCode::BAD_GATEWAY),
    }
}
