//! The audit trail: one JSON line per request, written off the request path.
//!
//! Lines go through tracing-appender's non-blocking writer (a channel and a writer thread), so
//! a slow disk does not slow answers until 128 000 lines are pending. A line holds who called (key name, token subject and
//! national id), what they asked and what they got; never a key, a token, or the value of a
//! search on a restricted element.
//!
//! A line also holds the client's address: the peer's, or the one a trusted proxy forwarded
//! (the address the rate limits use). The caller is named whenever the server knows who it
//! is: on a 403 (a valid credential without the scope) and on a 429 (a valid credential over
//! its rate limit) too; only credentials that did not verify leave it unknown (`refused`,
//! with the reason).
//!
//! Every value a caller chose (token claims, paths, queries) is written as JSON, with control
//! characters — C0, DEL and C1 — and the Unicode characters that reorder or hide text (bidi
//! controls, line and paragraph separators, zero-width characters) escaped as `\uXXXX`: a
//! line is one line, reads as it is on a terminal, and parses back to exactly what was sent.
//!
//! A log file the server creates is readable by its owner only (0600), and so are the
//! directories it creates for it (0700); an existing file keeps its mode.

use std::fs::OpenOptions;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

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
    /// The client: the peer, or the address a trusted proxy forwarded.
    pub client_address: IpAddr,
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub resource_type: Option<&'a str>,
    pub returned: u64,
    pub status: u16,
    pub latency: std::time::Duration,
    /// What a write (a List or Subscription created, updated or deleted, a websocket binding
    /// token issued) wrote, or tried to: `None` for reads and searches.
    pub write: Option<WriteRecord>,
}

/// A write as the audit trail records it: the resource, the version it wrote, and how it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRecord {
    pub resource_type: String,
    /// `None` when the request named none and none was written (a refused create).
    pub id: Option<String>,
    /// The version written (for a deletion: the deletion's version), when one was.
    pub version: Option<u32>,
    /// `created`, `updated`, `deleted`, `token-issued`; `refused` (4xx: nothing written) or
    /// `failed` (5xx: nothing acknowledged).
    pub outcome: &'static str,
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
            let file = open_private(&path).map_err(|source| AuditOpenError { path, source })?;
            builder().finish(file)
        };
        Ok(AuditLog {
            writer,
            _guard: guard,
        })
    }

    /// An event that is not a request's line (sign-in, sign-in refused, sign-out: plan D10),
    /// written as one JSON line of the same trail. `line` names the event and never a secret.
    pub fn event(&self, line: &Value) {
        let _ = self.writer.clone().write_all(&escaped_json_line(line));
    }

    pub fn record(&self, record: &AuditRecord<'_>, redaction: &Redaction) {
        let line = escaped_json_line(&record.to_json(redaction));
        // One `write` call, one channel message: lines from two workers never interleave, and
        // the writer thread alone touches the file.
        let _ = self.writer.clone().write_all(&line);
    }
}

impl AuditRecord<'_> {
    fn to_json(&self, redaction: &Redaction) -> Value {
        let time = self.time.format(&Rfc3339).unwrap_or_default();
        let mut line = json!({
            "time": time,
            "caller": self.caller,
            "client_address": self.client_address.to_string(),
            "method": self.method,
            "path": self.path,
            "query": redact_query(self.query, redaction),
            "resource_type": self.resource_type,
            "returned": self.returned,
            "status": self.status,
            "latency_ms": (self.latency.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
        });
        if let Some(write) = &self.write {
            line["write"] = json!({
                "type": write.resource_type,
                "id": write.id,
                "version": write.version,
                "outcome": write.outcome,
            });
        }
        line
    }
}

/// Opens `path` for appending, creating it readable and writable by its owner only (0600) and
/// its missing directories for the owner only (0700).
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

/// `value` as one JSON line (newline included), with the characters [`hidden_in_a_log`]
/// names escaped as `\uXXXX` (serde_json escapes only `"`, `\` and C0 by itself).
fn escaped_json_line(value: &Value) -> Vec<u8> {
    let mut line = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::with_formatter(&mut line, LogSafe);
    serde::Serialize::serialize(value, &mut serializer).expect("JSON serializes");
    line.push(b'\n');
    line
}

/// Characters that would break a line, hide text or reorder it on a terminal or in a viewer:
/// control characters (C0, DEL, C1: `char::is_control`), and the Unicode format characters
/// of that kind (Arabic letter mark, zero-width and directional marks, line and paragraph
/// separators, bidi embeddings, overrides and isolates, invisible operators, BOM,
/// interlinear annotations).
fn hidden_in_a_log(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// serde_json's compact output, escaping what [`hidden_in_a_log`] names.
struct LogSafe;

impl serde_json::ser::Formatter for LogSafe {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (at, c) in fragment.char_indices() {
            if hidden_in_a_log(c) {
                writer.write_all(&fragment.as_bytes()[start..at])?;
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
                start = at + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
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
    fn characters_that_hide_or_break_text_are_escaped_and_parse_back() {
        let sneaky = "8100\u{9b}31m\u{202e}gnp.exe\n{\"forged\":1}\u{2028}\u{7f}\té\u{1F600}";
        let line = escaped_json_line(&json!({"national_id": sneaky}));
        let text = std::str::from_utf8(&line).unwrap();
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        assert!(text.ends_with('\n'));
        assert!(
            !text.trim_end().chars().any(hidden_in_a_log),
            "no raw control character: {text:?}"
        );
        assert!(text.contains(r"\u009b") && text.contains(r"\u202e") && text.contains('é'));
        let back: Value = serde_json::from_str(text).unwrap();
        assert_eq!(back["national_id"], sneaky);
    }

    #[test]
    fn a_new_log_file_and_its_directories_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/annuaire/audit.jsonl");
        let config = AuditConfig {
            destination: path.display().to_string(),
        };
        drop(AuditLog::open(&config).unwrap());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("logs/annuaire")), 0o700);
        assert_eq!(mode(&dir.path().join("logs")), 0o700);
    }

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
