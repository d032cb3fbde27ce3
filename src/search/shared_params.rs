//! The parameters more than one interaction takes, each parsed here and nowhere else: `_count`
//! (search and history), `_since` (history and the `$export` kick-off), `_format` and
//! `_pretty` (every interaction: the HTTP edge answers them, the others pass over them), and
//! the `Prefer` header's `handling` and `respond-async` (search and `$export`). A value is
//! thereby accepted, or refused with the same words, wherever a client sends it. Paging
//! cursors are parsed by their own types in [`super::cursor`], through one signed envelope.
//!
//! A leaf of `search`, below [`super::query`] and [`super::history`], so that both, and the
//! HTTP layer above them, can use it.

use super::cursor::BadCursor;
use super::date;
use super::limits::TooCostly;
use crate::generation::Millis;

/// The client's mistake, told back as an OperationOutcome with status 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("invalid value `{value}` for parameter `{parameter}`: {reason}")]
    InvalidValue {
        parameter: String,
        value: String,
        reason: String,
    },
    #[error("{0}")]
    Unsupported(String),
    /// A parameter this server recognizes but cannot honour: refused whatever `Prefer:
    /// handling` says, since answering without it would return more than was asked.
    #[error(
        "`{parameter}` cannot be honoured: {reason}. The search is refused rather than answered without it, which would return more than was asked"
    )]
    NotHonoured { parameter: String, reason: String },
    #[error(transparent)]
    TooCostly(#[from] TooCostly),
    /// A `_cursor` of a search or a history that cannot be resumed from.
    #[error(transparent)]
    BadCursor(#[from] BadCursor),
}

impl QueryError {
    /// `parameter` is recognized but cannot be honoured, for `reason`.
    pub fn not_honoured(parameter: &str, reason: impl Into<String>) -> QueryError {
        QueryError::NotHonoured {
            parameter: parameter.to_owned(),
            reason: reason.into(),
        }
    }

    /// `value` is not one `parameter` takes, for `reason`.
    pub fn invalid(parameter: &str, value: &str, reason: impl Into<String>) -> QueryError {
        QueryError::InvalidValue {
            parameter: parameter.to_owned(),
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

/// `_count`: how many entries a page holds, from 0 (only the total) to [`Count::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count(usize);

impl Count {
    /// The page size when the client names none.
    pub const DEFAULT: Count = Count(50);
    /// The largest page a client may ask for. R4 lets a server return fewer than `_count`;
    /// this one refuses more rather than silently shortening the page.
    pub const MAX: usize = 1000;

    pub fn parse(value: &str) -> Result<Count, QueryError> {
        let count: usize = value.parse().map_err(|_| {
            QueryError::invalid(
                "_count",
                value,
                format!("must be a whole number from 0 to {}", Count::MAX),
            )
        })?;
        if count > Count::MAX {
            return Err(QueryError::invalid(
                "_count",
                value,
                format!("at most {} per page", Count::MAX),
            ));
        }
        Ok(Count(count))
    }

    pub fn get(self) -> usize {
        self.0
    }
}

impl Default for Count {
    fn default() -> Count {
        Count::DEFAULT
    }
}

/// `_since`: what changed at or after this instant. R4 history and Bulk Data both declare an
/// instant; a plain date (`2026-11-01`) is accepted too and stands for its first moment, as
/// this server has always read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Since(Millis);

impl Since {
    pub fn parse(value: &str) -> Result<Since, QueryError> {
        let range =
            date::parse(value).map_err(|reason| QueryError::invalid("_since", value, reason))?;
        Ok(Since(Millis(range.start)))
    }

    pub fn instant(self) -> Millis {
        self.0
    }
}

/// The formats this server writes. `_format` names one (and wins over `Accept`); the HTTP edge
/// negotiates it and writes XML from the JSON every handler produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// The format of a `_format` value or of a media type of `Accept`, if this server writes it.
    pub fn from_media_type(media: &str) -> Option<Format> {
        // An unencoded `+` in a query string (`_format=application/fhir+json`) arrives as a space.
        let media = media.trim().replace(' ', "+").to_ascii_lowercase();
        match media.as_str() {
            "json"
            | "application/json"
            | "application/fhir+json"
            | "application/json+fhir"
            | "*/*"
            | "application/*" => Some(Format::Json),
            "xml"
            | "text/xml"
            | "application/xml"
            | "application/fhir+xml"
            | "application/xml+fhir" => Some(Format::Xml),
            _ => None,
        }
    }
}

/// Whether `name` is `_format` or `_pretty`: how the answer is written, not what it holds.
/// Every interaction takes them; the HTTP edge answers `_format` (and leaves `_pretty`, which
/// FHIR lets a server ignore), so the parsers of search, history and `$export` pass over them.
pub fn is_presentation(name: &str) -> bool {
    matches!(name, "_format" | "_pretty")
}

/// `Prefer: handling=`: what to do with a parameter the server does not support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Refuse the request.
    Strict,
    /// Ignore the parameter (and, in a search, say so in the Bundle).
    Lenient,
}

/// The preferences (RFC 7240) this server reads from a request's `Prefer` headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prefer {
    /// `respond-async`, which the `$export` kick-off requires.
    pub respond_async: bool,
    /// `handling=strict` or `handling=lenient`; without it, each interaction has its default
    /// (search: lenient; `$export`: strict).
    pub handling: Option<Handling>,
}

impl Prefer {
    /// The preferences of every `Prefer` header value, in order; as RFC 7240 §2 says, the first
    /// `handling` counts.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Prefer {
        let mut prefer = Prefer::default();
        for part in values.into_iter().flat_map(|v| v.split([',', ';'])) {
            let part = part.trim();
            if part.eq_ignore_ascii_case("respond-async") {
                prefer.respond_async = true;
            } else if prefer.handling.is_none() {
                if part.eq_ignore_ascii_case("handling=strict") {
                    prefer.handling = Some(Handling::Strict);
                } else if part.eq_ignore_ascii_case("handling=lenient") {
                    prefer.handling = Some(Handling::Lenient);
                }
            }
        }
        prefer
    }

    /// Whether parameters this server does not support must be refused.
    pub fn is_strict(&self) -> bool {
        self.handling == Some(Handling::Strict)
    }

    /// Whether parameters this server does not support may be ignored.
    pub fn is_lenient(&self) -> bool {
        self.handling == Some(Handling::Lenient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_from_zero_to_the_maximum() {
        assert_eq!(Count::parse("0").unwrap().get(), 0);
        assert_eq!(Count::parse("1000").unwrap().get(), Count::MAX);
        assert_eq!(Count::default(), Count::DEFAULT);
        assert_eq!(
            Count::parse("1001").unwrap_err().to_string(),
            "invalid value `1001` for parameter `_count`: at most 1000 per page"
        );
        for bad in ["-1", "ten", "", "99999999999999999999999"] {
            assert_eq!(
                Count::parse(bad).unwrap_err().to_string(),
                format!(
                    "invalid value `{bad}` for parameter `_count`: must be a whole number from 0 to 1000"
                )
            );
        }
    }

    #[test]
    fn since_is_the_first_moment_of_its_value() {
        let instant = Since::parse("2026-11-01T10:00:00+01:00").unwrap();
        assert_eq!(instant.instant(), Millis(1_793_523_600_000));
        let day = Since::parse("2026-11-01").unwrap();
        assert_eq!(day.instant(), Millis(1_793_491_200_000));
        let error = Since::parse("yesterday").unwrap_err().to_string();
        assert!(
            error.starts_with("invalid value `yesterday` for parameter `_since`: "),
            "{error}"
        );
    }

    #[test]
    fn formats_by_media_type_or_short_name() {
        assert_eq!(Format::from_media_type("json"), Some(Format::Json));
        assert_eq!(
            Format::from_media_type(" application/fhir json"),
            Some(Format::Json)
        );
        assert_eq!(Format::from_media_type("*/*"), Some(Format::Json));
        assert_eq!(Format::from_media_type("XML"), Some(Format::Xml));
        assert_eq!(Format::from_media_type("text/turtle"), None);
        assert!(is_presentation("_format") && is_presentation("_pretty"));
        assert!(!is_presentation("_summary"));
    }

    #[test]
    fn prefer_reads_every_header_and_the_first_handling() {
        let prefer = Prefer::parse(["return=minimal, handling=strict"]);
        assert!(prefer.is_strict() && !prefer.is_lenient() && !prefer.respond_async);
        let prefer = Prefer::parse(["respond-async", "handling=lenient; handling=strict"]);
        assert!(prefer.respond_async && prefer.is_lenient());
        assert_eq!(Prefer::parse([]), Prefer::default());
        assert_eq!(Prefer::parse(["handling=other"]).handling, None);
    }
}
