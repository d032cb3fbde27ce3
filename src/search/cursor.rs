//! Paging cursors: where a page ended, carried opaquely in the `next`/`previous` links.
//!
//! Paging is keyset-based and stateless: a cursor holds the last id of the page before (and,
//! when `_sort` is used, the ranks of its sort values among their terms: never the values,
//! which could be restricted elements). An id-ordered cursor stays valid across server
//! restarts and imports: in a newer generation the search resumes after the same id, so a page
//! never repeats or skips a resource that both generations hold; a sorted one is read on the
//! generation it started on. A cursor is decoded once, when the request is parsed
//! ([`Cursor::decode`], [`HistoryCursor::decode`]); everything after works on the typed value.
//! Whatever is wrong with one, search and history say it alike: a [`BadCursor`].

use aws_lc_rs::{constant_time, hmac};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The key cursors are signed with (HMAC-SHA-256), so that a client can neither forge one nor
/// alter one (to pin a search to another generation, or to another position). One per data
/// directory (`DataDir::cursor_secret`), or one file shared by every replica (the
/// `cursor_key_file` setting): cursors survive restarts, and replicas sharing the key accept
/// each other's.
#[derive(Clone)]
pub struct CursorKey(hmac::Key);

/// Bytes of the signature a cursor carries.
const TAG_LEN: usize = 16;

impl CursorKey {
    pub fn new(secret: &[u8]) -> CursorKey {
        CursorKey(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// `payload` signed: `base64(payload).base64(tag)`.
    fn seal(&self, payload: &impl Serialize) -> String {
        let json = serde_json::to_vec(payload).expect("a cursor serializes");
        let tag = hmac::sign(&self.0, &json);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&json),
            URL_SAFE_NO_PAD.encode(&tag.as_ref()[..TAG_LEN])
        )
    }

    /// The payload of a cursor this key sealed; anything else is refused. The one parser of
    /// every `_cursor` value, search's and history's.
    fn open<T: DeserializeOwned>(&self, text: &str) -> Result<T, BadCursor> {
        self.verified_payload(text)
            .ok_or_else(|| BadCursor::NotIssued(text.to_owned()))
    }

    fn verified_payload<T: DeserializeOwned>(&self, text: &str) -> Option<T> {
        let (payload, tag) = text.split_once('.')?;
        let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let expected = hmac::sign(&self.0, &json);
        constant_time::verify_slices_are_equal(&expected.as_ref()[..TAG_LEN], &tag).ok()?;
        serde_json::from_slice(&json).ok()
    }
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

/// The ranks of a row's sort values, one per sort key (`None`: the resource has no value); see
/// `engine::SortColumn`.
pub type SortValues = Vec<Option<u32>>;

/// The generation a page was read from: its id, the same on every replica that imported the
/// same files (see `GenerationInfo::content_id`), and its stamp, which orders generations (a
/// replica that does not hold the id can tell whether it is behind, or the cursor too old).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageGeneration {
    pub id: String,
    pub stamp: crate::generation::Millis,
}

impl PageGeneration {
    pub fn of(info: &crate::generation::GenerationInfo) -> PageGeneration {
        PageGeneration {
            id: info.id().into_owned(),
            stamp: info.import_time(),
        }
    }
}

/// Where a page ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Generation the page was read from.
    pub generation: PageGeneration,
    /// Last id of the page before.
    pub after: String,
    /// Its sort values, when the search is sorted (empty otherwise).
    pub keys: SortValues,
}

/// The cursor as it travels: JSON, then URL-safe base64.
#[derive(Serialize, Deserialize)]
struct Wire {
    g: String,
    t: i64,
    after: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    k: Vec<Option<u32>>,
}

/// Why a `_cursor` cannot be resumed from: told to the client as 400 `invalid`, in the same
/// words whether the cursor came from a search or a history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadCursor {
    /// Not a cursor this server issued, or one altered since (its signature or its shape
    /// says so): told back with its value, as any invalid value is.
    #[error("invalid value `{0}` for parameter `_cursor`: not a cursor this server issued")]
    NotIssued(String),
    /// A sorted search's cursor sent with another `_sort`.
    #[error("invalid `_cursor`: it was issued for another sort order")]
    OtherSortOrder,
    /// A sorted search's cursor after an import replaced the generation its ranks belong to.
    #[error(
        "invalid `_cursor`: this sorted search started on data an import has since replaced; start the search again"
    )]
    Replaced,
    /// A signed cursor whose position comes before every resource: none this server issues.
    #[error("invalid `_cursor`: not a cursor this server issued")]
    NoPosition,
}

impl Cursor {
    pub fn encode(&self, key: &CursorKey) -> String {
        key.seal(&Wire {
            g: self.generation.id.clone(),
            t: self.generation.stamp.0,
            after: self.after.clone(),
            k: self.keys.clone(),
        })
    }

    pub fn decode(text: &str, key: &CursorKey) -> Result<Cursor, BadCursor> {
        let wire: Wire = key.open(text)?;
        Ok(Cursor {
            generation: PageGeneration {
                id: wire.g,
                stamp: crate::generation::Millis(wire.t),
            },
            after: wire.after,
            keys: wire.k,
        })
    }

    /// The generation the rest of the search must be read from, if it is pinned to one:
    /// sorted results, whose sort values can change between imports. Id order needs no
    /// pinning: a newer generation resumes after the same id.
    pub fn pinned_generation(&self) -> Option<&PageGeneration> {
        (!self.keys.is_empty()).then_some(&self.generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let generation = PageGeneration {
            id: "0123abcd".into(),
            stamp: crate::generation::Millis(1_793_491_200_000),
        };
        let cursor = Cursor {
            generation: generation.clone(),
            after: "pp-1-10".into(),
            keys: vec![Some(12), None],
        };
        let key = CursorKey::new(b"secret");
        let text = cursor.encode(&key);
        assert_eq!(Cursor::decode(&text, &key).unwrap(), cursor);
        assert_eq!(cursor.pinned_generation(), Some(&generation));
        assert!(Cursor::decode("not a cursor", &key).is_err());
        // Altered, or signed with another key: refused.
        let (payload, tag) = text.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD
            .encode(br#"{"g":"0123abce","t":1793491200000,"after":"pp-1-10","k":[12,null]}"#);
        assert!(Cursor::decode(&format!("{forged}.{tag}"), &key).is_err());
        assert!(Cursor::decode(payload, &key).is_err(), "unsigned");
        assert!(Cursor::decode(&text, &CursorKey::new(b"other")).is_err());
    }
}

/// Where a history page ended: its last entry. History is ordered newest first, then by type,
/// id and version (newest first); the next page starts strictly after this entry, in whichever
/// generation is current (entries older than it do not change between imports, but for those
/// the history retention drops).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryCursor {
    pub time: crate::generation::Millis,
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
    pub fn encode(&self, key: &CursorKey) -> String {
        key.seal(&HistoryWire {
            t: self.time.0,
            r: self.type_byte,
            id: self.id.clone(),
            v: self.version,
        })
    }

    pub fn decode(text: &str, key: &CursorKey) -> Result<HistoryCursor, BadCursor> {
        let wire: HistoryWire = key.open(text)?;
        Ok(HistoryCursor {
            time: crate::generation::Millis(wire.t),
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
            time: crate::generation::Millis(1_793_491_200_000),
            type_byte: 2,
            id: "eg-1".into(),
            version: 3,
        };
        let key = CursorKey::new(b"secret");
        assert_eq!(
            HistoryCursor::decode(&cursor.encode(&key), &key).unwrap(),
            cursor
        );
        assert_eq!(
            HistoryCursor::decode("x", &key),
            Err(BadCursor::NotIssued("x".into()))
        );
    }
}
