//! The audit trail: one JSON line per request, written off the request path.
//!
//! Lines go through tracing-appender's non-blocking writer (a channel and a writer thread), so
//! a slow disk does not slow answers until 128 000 lines are pending. A line holds who called (key name, token subject and
//! national id), what they asked and what they got; never a key, a token, or the value of a
//! search on a restricted element.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};

use super::config::AuditConfig;
use crate::search::redact::Redaction;

/// Where the audit lines go.
pub struct AuditLog {
    writer: NonBlocking,
    /// Flushes pending lines when the server stops.
    _guard: WorkerGuard,
}

/// One request, as the audit trail records it.
pub struct AuditRecord<'a> {
    /// When the request was answered, by the server's clock.
    pub time: OffsetDateTime,
    pub caller: Value,
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub resource_type: Option<&'a str>,
    pub returned: u64,
    pub status: u16,
    pub latency: std::time::Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid setting `audit.destination`: cannot open {path} for appending: {source}")]
pub struct AuditOpenError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

impl AuditLog {
    pub fn open(config: &AuditConfig) -> Result<AuditLog, AuditOpenError> {
        // Not lossy: when the writer thread falls 128 000 lines behind, requests wait for it
        // rather than leave holes in the trail.
        let builder = || NonBlockingBuilder::default().lossy(false);
        let (writer, guard) = if config.destination == "stdout" {
            builder().finish(std::io::stdout())
        } else {
            let path = PathBuf::from(&config.destination);
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|source| AuditOpenError { path, source })?;
            builder().finish(file)
        };
        Ok(AuditLog {
            writer,
            _guard: guard,
        })
    }

    pub fn record(&self, record: &AuditRecord<'_>, redaction: &Redaction) {
        let mut line = serde_json::to_vec(&record.to_json(redaction)).expect("JSON serializes");
        line.push(b'\n');
        // One `write` call, one channel message: lines from two workers never interleave, and
        // the writer thread alone touches the file.
        let _ = self.writer.clone().write_all(&line);
    }
}

impl AuditRecord<'_> {
    fn to_json(&self, redaction: &Redaction) -> Value {
        let time = self.time.format(&Rfc3339).unwrap_or_default();
        json!({
            "time": time,
            "caller": self.caller,
            "method": self.method,
            "path": self.path,
            "query": redact_query(self.query, redaction),
            "resource_type": self.resource_type,
            "returned": self.returned,
            "status": self.status,
            "latency_ms": (self.latency.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
        })
    }
}

/// The query string with the values of parameters over restricted elements replaced by
/// `REDACTED`, and any `access_token` or API key a client put in the URL hidden.
pub fn redact_query(query: &str, redaction: &Redaction) -> String {
    if query.is_empty() {
        return String::new();
    }
    query
        .split('&')
        .map(|pair| {
            let (raw_key, _) = pair.split_once('=').unwrap_or((pair, ""));
            let key = form_urlencoded::parse(raw_key.as_bytes())
                .next()
                .map(|(key, _)| key.into_owned())
                .unwrap_or_default();
            let secret = key.eq_ignore_ascii_case("access_token")
                || key.eq_ignore_ascii_case("esante-api-key")
                || key.eq_ignore_ascii_case("api_key");
            if secret || redaction.touches_restricted(&key) {
                format!("{raw_key}=REDACTED")
            } else {
                pair.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::ResourceType;

    #[test]
    fn restricted_and_secret_values_are_hidden() {
        let redaction = Redaction::new([(ResourceType::Practitioner, "telecom")]);
        assert_eq!(
            redact_query(
                "mailbox-mss%3Acontains=jean%40x.mssante.fr&family=DUPONT&access_token=abc",
                &redaction
            ),
            "mailbox-mss%3Acontains=REDACTED&family=DUPONT&access_token=REDACTED"
        );
        assert_eq!(
            redact_query("practitioner.mailbox-mss=a@b", &redaction),
            "practitioner.mailbox-mss=REDACTED"
        );
        assert_eq!(
            redact_query("mailbox-mss=a@b", &Redaction::none()),
            "mailbox-mss=a@b"
        );
    }
}
