//! Paging cursors: where a page ended, carried opaquely in the `next`/`previous` links.
//!
//! Paging is keyset-based and stateless: a cursor holds the last id of the page before (and
//! its sort values when `_sort` is used). It stays valid across server restarts and imports:
//! in a newer generation the search resumes after the same id, so a page never repeats or
//! skips a resource that both generations hold. A cursor is decoded once, when the request is
//! parsed ([`Cursor::decode`]); everything after works on the typed value.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// Sort values as index bytes, one per sort key (`None`: the resource has no value).
pub type SortValues = Vec<Option<Vec<u8>>>;

/// Where a page ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Generation the page was read from.
    pub generation: u64,
    /// Last id of the page before.
    pub after: String,
    /// Its sort values, when the search is sorted (empty otherwise).
    pub keys: SortValues,
}

/// The cursor as it travels: JSON, then URL-safe base64.
#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(default)]
    g: u64,
    after: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    keys: Vec<Option<String>>,
}

/// The `_cursor` value is not one this server issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a cursor this server issued")]
pub struct InvalidCursor;

impl Cursor {
    pub fn encode(&self) -> String {
        let wire = Wire {
            g: self.generation,
            after: self.after.clone(),
            keys: self
                .keys
                .iter()
                .map(|k| k.as_ref().map(|k| URL_SAFE_NO_PAD.encode(k)))
                .collect(),
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).expect("a cursor serializes"))
    }

    pub fn decode(text: &str) -> Result<Cursor, InvalidCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| InvalidCursor)?;
        let wire: Wire = serde_json::from_slice(&bytes).map_err(|_| InvalidCursor)?;
        let keys = wire
            .keys
            .into_iter()
            .map(|k| k.map(|k| URL_SAFE_NO_PAD.decode(k)).transpose())
            .collect::<Result<SortValues, _>>()
            .map_err(|_| InvalidCursor)?;
        Ok(Cursor {
            generation: wire.g,
            after: wire.after,
            keys,
        })
    }

    /// The generation the rest of the search must be read from, if it is pinned to one:
    /// sorted results, whose sort values can change between imports. Id order needs no
    /// pinning: a newer generation resumes after the same id.
    pub fn pinned_generation(&self) -> Option<u64> {
        (!self.keys.is_empty()).then_some(self.generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let cursor = Cursor {
            generation: 3,
            after: "pp-1-10".into(),
            keys: vec![Some(b"lef".to_vec()), None],
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        assert_eq!(cursor.pinned_generation(), Some(3));
        assert!(Cursor::decode("not a cursor").is_err());
        assert!(
            Cursor::decode(&URL_SAFE_NO_PAD.encode(br#"{"after":"x","keys":["%%"]}"#)).is_err()
        );
    }
}

/// Where a history page ended: its last entry. History is ordered newest first, then by type,
/// id and version (newest first); the next page starts strictly after this entry, in whichever
/// generation is current (entries older than it do not change between imports, but for those
/// the history retention drops).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryCursor {
    pub time: crate::store::Millis,
    pub type_byte: u8,
    pub id: String,
    pub version: u32,
}

#[derive(Serialize, Deserialize)]
struct HistoryWire {
    t: i64,
    r: u8,
    id: String,
    v: u32,
}

impl HistoryCursor {
    pub fn encode(&self) -> String {
        let wire = HistoryWire {
            t: self.time.0,
            r: self.type_byte,
            id: self.id.clone(),
            v: self.version,
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).expect("a cursor serializes"))
    }

    pub fn decode(text: &str) -> Result<HistoryCursor, InvalidCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| InvalidCursor)?;
        let wire: HistoryWire = serde_json::from_slice(&bytes).map_err(|_| InvalidCursor)?;
        Ok(HistoryCursor {
            time: crate::store::Millis(wire.t),
            type_byte: wire.r,
            id: wire.id,
            version: wire.v,
        })
    }
}

#[cfg(test)]
mod history_tests {
    use super::*;

    #[test]
    fn history_cursors_round_trip() {
        let cursor = HistoryCursor {
            time: crate::store::Millis(1_793_491_200_000),
            type_byte: 2,
            id: "eg-1".into(),
            version: 3,
        };
        assert_eq!(HistoryCursor::decode(&cursor.encode()).unwrap(), cursor);
        assert!(HistoryCursor::decode("x").is_err());
    }
}
