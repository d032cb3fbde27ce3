//! What the server tells Prometheus: one registry per server (tests run several in one
//! process), rendered in the Prometheus text format at `/metrics`.
//!
//! Counters and histograms are updated as requests pass (`http::ops::record`); the gauges that
//! describe the data (generation, last import, file sizes) are read from the store when the
//! registry is scraped, so they can never be stale.

use std::path::Path;

use prometheus::core::Collector;
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use crate::fhir::ResourceType;
use crate::generation::{GenerationInfo, ImportReport};

/// Latency buckets, in seconds: from a read (a fraction of a millisecond) to the search
/// deadline.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0,
];

const NAMESPACE: &str = "annuaire";

/// Why a request was turned away, counted apart from its status (see `http::error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A search over a limit (`too-costly`); the name of the limit's kind.
    Limit(&'static str),
    /// The search queue was full (503).
    Overloaded,
    /// The caller's rate limit (429); the kind of bucket (`address`, `api_key`,
    /// `token_subject`).
    RateLimited(&'static str),
    /// Authentication or authorization failed; why.
    Auth(&'static str),
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    limit_refusals: IntCounterVec,
    rate_limited: IntCounterVec,
    auth_failures: IntCounterVec,
    validations: IntCounterVec,
    searches_running: IntGauge,
    ready: IntGauge,
    generation_info: IntGaugeVec,
    generation_stamp: Gauge,
    generation_resources: IntGaugeVec,
    store_bytes: IntGaugeVec,
    last_import: GaugeVec,
    notifications: IntCounterVec,
    events_delivered: IntCounterVec,
    queue_depth: IntGauge,
    /// One scrape at a time: the data gauges are reset and set again for each.
    scraping: std::sync::Mutex<()>,
}

impl Metrics {
    pub fn new() -> Metrics {
        // The process collector's metrics keep their standard names (`process_*`); ours are
        // named `annuaire_*`.
        let registry = Registry::new();
        let counter = |name, help, labels: &[&str]| {
            register(&registry, IntCounterVec::new(opts(name, help), labels))
        };
        let gauge = |name, help| register(&registry, IntGauge::with_opts(opts(name, help)));
        let int_family = |name, help, labels: &[&str]| {
            register(&registry, IntGaugeVec::new(opts(name, help), labels))
        };
        let requests = counter(
            "http_requests_total",
            "Requests answered, by FHIR interaction, resource type and HTTP status.",
            &["interaction", "resource_type", "status"],
        );
        let limit_refusals = counter(
            "search_refusals_total",
            "Searches refused before or while running: over a limit (too-costly) or queue full (overloaded).",
            &["reason"],
        );
        let rate_limited = counter(
            "rate_limited_total",
            "Requests refused by a caller's rate limit (429), by kind of bucket (address, api_key, token_subject).",
            &["bucket"],
        );
        let auth_failures = counter(
            "auth_failures_total",
            "Requests refused by authentication or authorization, by reason.",
            &["reason"],
        );
        let validations = counter(
            "validations_total",
            "$validate runs that ended with a verdict, by verdict (valid: no error or fatal issue; invalid).",
            &["verdict"],
        );
        let latency = register(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "http_request_duration_seconds",
                    "Time from request to response headers, by FHIR interaction and resource type.",
                )
                .namespace(NAMESPACE)
                .buckets(LATENCY_BUCKETS.to_vec()),
                &["interaction", "resource_type"],
            ),
        );
        let searches_running = gauge(
            "searches_in_progress",
            "Searches and history pages running or waiting for a slot.",
        );
        let ready = gauge(
            "ready",
            "1 when /readyz answers 200 (a generation is served and the server is not draining).",
        );
        let generation_info = int_family(
            "generation_info",
            "The generation served (1), with its id (the same on every replica) and local directory name.",
            &["id", "name"],
        );
        let generation_resources = int_family(
            "generation_resources",
            "Resources in the generation served, by type (deactivated records included).",
            &["resource_type"],
        );
        let store_bytes = int_family(
            "store_bytes",
            "Bytes on disk: the files of the generation served, and the whole data directory (file=\"total\").",
            &["file"],
        );
        let generation_stamp = register(
            &registry,
            Gauge::with_opts(opts(
                "generation_last_updated_timestamp_seconds",
                "The instant the generation served stamps on what its import changed (its extraction time).",
            )),
        );
        let last_import = register(
            &registry,
            GaugeVec::new(
                opts(
                    "last_import",
                    "The last import into the data directory: its finish time (field=\"finished_timestamp_seconds\"), duration (field=\"duration_seconds\") and outcome (field=\"success\": 1 completed, 0 failed or refused).",
                ),
                &["field"],
            ),
        );
        let notifications = counter(
            "subscription_notifications_total",
            "Subscription notifications (handshake, heartbeat, event-notification) by channel and outcome (sent: a 2xx or written to the socket; failed: refused, unreachable, timed out or not 2xx).",
            &["channel", "outcome"],
        );
        let events_delivered = counter(
            "subscription_events_delivered_total",
            "Subscription events delivered (acknowledged by a 2xx, or written to a bound websocket), by channel.",
            &["channel"],
        );
        let queue_depth = gauge(
            "subscription_queue_depth",
            "Events queued for the rest-hook subscriptions being delivered and not yet acknowledged.",
        );
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("registered once");
        Metrics {
            registry,
            requests,
            latency,
            limit_refusals,
            rate_limited,
            auth_failures,
            validations,
            searches_running,
            ready,
            generation_info,
            generation_stamp,
            generation_resources,
            store_bytes,
            last_import,
            notifications,
            events_delivered,
            queue_depth,
            scraping: std::sync::Mutex::new(()),
        }
    }

    /// Counts one answered request.
    pub fn observe(
        &self,
        interaction: &str,
        resource_type: &str,
        status: u16,
        seconds: f64,
        refusal: Option<Refusal>,
    ) {
        self.requests
            .with_label_values(&[interaction, resource_type, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[interaction, resource_type])
            .observe(seconds);
        match refusal {
            Some(Refusal::Limit(kind)) => self.limit_refusals.with_label_values(&[kind]).inc(),
            Some(Refusal::Overloaded) => {
                self.limit_refusals.with_label_values(&["overloaded"]).inc()
            }
            Some(Refusal::RateLimited(bucket)) => {
                self.rate_limited.with_label_values(&[bucket]).inc();
            }
            Some(Refusal::Auth(reason)) => self.auth_failures.with_label_values(&[reason]).inc(),
            None => {}
        }
    }

    /// Counts one `$validate` that gave a verdict on the resource.
    pub fn validated(&self, valid: bool) {
        let verdict = if valid { "valid" } else { "invalid" };
        self.validations.with_label_values(&[verdict]).inc();
    }

    /// Counts one subscription notification sent on `channel` (`rest-hook`, `websocket`), or
    /// one that failed.
    pub fn notification(&self, channel: &str, sent: bool) {
        let outcome = if sent { "sent" } else { "failed" };
        self.notifications
            .with_label_values(&[channel, outcome])
            .inc();
    }

    /// Counts `count` subscription events delivered on `channel`.
    pub fn events_delivered(&self, channel: &str, count: u64) {
        self.events_delivered
            .with_label_values(&[channel])
            .inc_by(count);
    }

    /// The gauge of events waiting for delivery: each rest-hook worker adds what it waits with
    /// and takes it back as it delivers or stops ([`QueueShare`]).
    pub fn queue_share(&self) -> QueueShare {
        QueueShare {
            gauge: self.queue_depth.clone(),
            counted: 0,
        }
    }

    /// The registry in the Prometheus text format, with the data gauges read now.
    pub fn render(&self, scrape: &Scrape<'_>) -> String {
        let _one_at_a_time = self.scraping.lock().unwrap_or_else(|e| e.into_inner());
        self.ready.set(i64::from(scrape.ready));
        self.generation_info.reset();
        self.generation_resources.reset();
        self.store_bytes.reset();
        if let Some((name, info, directory)) = scrape.generation {
            self.generation_info
                .with_label_values(&[&info.id(), name])
                .set(1);
            self.generation_stamp
                .set(info.import_time().0 as f64 / 1000.0);
            for rtype in ResourceType::ALL {
                self.generation_resources
                    .with_label_values(&[rtype.as_str()])
                    .set(info.resources.get(rtype) as i64);
            }
            for (file, bytes) in file_sizes(directory) {
                self.store_bytes
                    .with_label_values(&[&file])
                    .set(bytes as i64);
            }
        }
        if let Some(total) = scrape.data_directory.map(directory_size) {
            self.store_bytes
                .with_label_values(&["total"])
                .set(total as i64);
        }
        if let Some(report) = scrape.last_import {
            self.last_import
                .with_label_values(&["finished_timestamp_seconds"])
                .set(report.finished().0 as f64 / 1000.0);
            self.last_import
                .with_label_values(&["duration_seconds"])
                .set(report.duration_seconds);
            self.last_import
                .with_label_values(&["success"])
                .set(if report.succeeded() { 1.0 } else { 0.0 });
        }
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("the text encoder writes to memory");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

/// Options of one of our metrics: `annuaire_<name>`.
fn opts(name: &str, help: &str) -> Opts {
    Opts::new(name, help).namespace(NAMESPACE)
}

/// A metric, registered: every one is valid and registered once, by construction here.
fn register<C: Collector + Clone + 'static>(
    registry: &Registry,
    metric: prometheus::Result<C>,
) -> C {
    let metric = metric.expect("a valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("registered once");
    metric
}

/// Counts a search in `searches_in_progress` while it waits for a slot and runs.
pub struct InProgress(IntGauge);

impl InProgress {
    pub fn enter(metrics: &Metrics) -> InProgress {
        metrics.searches_running.inc();
        InProgress(metrics.searches_running.clone())
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// One subscription's part of `subscription_queue_depth`: set to what it has waiting, taken
/// back when dropped (a subscription deleted or in error no longer counts).
pub struct QueueShare {
    gauge: IntGauge,
    counted: i64,
}

impl QueueShare {
    /// Sets this subscription's waiting events to `depth`.
    pub fn set(&mut self, depth: u64) {
        let depth = i64::try_from(depth).unwrap_or(i64::MAX);
        self.gauge.add(depth - self.counted);
        self.counted = depth;
    }
}

impl Drop for QueueShare {
    fn drop(&mut self) {
        self.gauge.sub(self.counted);
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// What a scrape reads from the data.
pub struct Scrape<'a> {
    pub ready: bool,
    /// The generation served: its directory name, description and path.
    pub generation: Option<(&'a str, &'a GenerationInfo, &'a Path)>,
    pub data_directory: Option<&'a Path>,
    pub last_import: Option<&'a ImportReport>,
}

/// The regular files of a generation directory and their sizes (the sled database counted as
/// one, `db`).
fn file_sizes(directory: &Path) -> Vec<(String, u64)> {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return Vec::new();
    };
    let mut sizes: Vec<(String, u64)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let bytes = if path.is_dir() {
                directory_size(&path)
            } else {
                entry.metadata().ok()?.len()
            };
            Some((name, bytes))
        })
        .collect();
    sizes.sort();
    sizes
}

/// Bytes of the regular files under `path` (a few dozen files: cheap at scrape time).
fn directory_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => directory_size(&entry.path()),
            Ok(kind) if kind.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}
