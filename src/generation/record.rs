//! What the store keeps of each resource: its content bytes, and beside them its version.
//!
//! FHIR's `meta.versionId` and `meta.lastUpdated` are not written into the stored JSON: they
//! belong to the store, which decides them by comparing each import's content with the one
//! before (an unchanged resource keeps its version and time). The content bytes are the
//! resource exactly as served minus those two elements, and a [`Record`] says where they are,
//! where `meta` opens in them (the *splice point*) and which version they are. Serving puts the
//! two elements back at the splice point ([`StoredResource::write_json`]): a copy with an
//! insertion, never a parse.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Where a resource's bytes are in a data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub offset: u64,
    pub len: u32,
}

impl Location {
    pub const ENCODED_LEN: usize = 12;

    pub fn encode(self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..8].copy_from_slice(&self.offset.to_be_bytes());
        out[8..].copy_from_slice(&self.len.to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<Location> {
        Some(Location {
            offset: u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?),
            len: u32::from_be_bytes(bytes.get(8..12)?.try_into().ok()?),
        })
    }
}

/// An instant in milliseconds since the Unix epoch, UTC: `meta.lastUpdated` and import times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub i64);

impl Millis {
    pub fn from_datetime(time: OffsetDateTime) -> Millis {
        Millis((time.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    pub fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// RFC 3339 in UTC (`2026-11-01T00:00:00Z`, milliseconds only when there are some): the
    /// FHIR `instant` form.
    pub fn to_rfc3339(self) -> String {
        self.to_datetime()
            .format(&Rfc3339)
            .expect("a UTC time formats as RFC 3339")
    }

    pub fn parse_rfc3339(text: &str) -> Option<Millis> {
        OffsetDateTime::parse(text, &Rfc3339)
            .ok()
            .map(Millis::from_datetime)
    }

    pub fn plus_days(self, days: u32) -> Millis {
        Millis(self.0 + i64::from(days) * 86_400_000)
    }
}

/// A resource version: `meta.versionId` (1, 2, ...) and `meta.lastUpdated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub number: u32,
    pub last_updated: Millis,
}

impl Version {
    /// The weak ETag of this version, `W/"3"`.
    pub fn etag(self) -> String {
        format!("W/\"{}\"", self.number)
    }
}

/// A digest of a resource's content (its bytes without version): equal digests, same content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentHash(pub [u8; 8]);

impl ContentHash {
    pub fn of(content: &[u8]) -> ContentHash {
        let digest = Sha256::digest(content);
        ContentHash(digest[..8].try_into().expect("8 bytes"))
    }
}

/// Whether a resource is in the latest extraction, or only kept as a deactivated record
/// (`active=false`, a minimal body) because it disappeared from it recently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Active,
    Deactivated,
}

/// Everything the store knows of a current resource but its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub location: Location,
    /// Offset in the content bytes just after `"meta":{`.
    pub splice: u16,
    pub version: Version,
    pub content: ContentHash,
    pub state: State,
}

impl Record {
    pub const ENCODED_LEN: usize = 35;

    pub fn encode(&self) -> [u8; Record::ENCODED_LEN] {
        let mut out = [0u8; Record::ENCODED_LEN];
        out[..12].copy_from_slice(&self.location.encode());
        out[12..14].copy_from_slice(&self.splice.to_be_bytes());
        out[14..18].copy_from_slice(&self.version.number.to_be_bytes());
        out[18..26].copy_from_slice(&self.version.last_updated.0.to_be_bytes());
        out[26..34].copy_from_slice(&self.content.0);
        out[34] = match self.state {
            State::Active => b'a',
            State::Deactivated => b'd',
        };
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<Record> {
        let bytes = bytes.get(..Record::ENCODED_LEN)?;
        Some(Record {
            location: Location::decode(&bytes[..12])?,
            splice: u16::from_be_bytes(bytes[12..14].try_into().ok()?),
            version: Version {
                number: u32::from_be_bytes(bytes[14..18].try_into().ok()?),
                last_updated: Millis(i64::from_be_bytes(bytes[18..26].try_into().ok()?)),
            },
            content: ContentHash(bytes[26..34].try_into().ok()?),
            state: match bytes[34] {
                b'a' => State::Active,
                b'd' => State::Deactivated,
                _ => return None,
            },
        })
    }
}

/// The offset just after `"meta":{` in a resource's JSON, where the version goes. The first
/// occurrence is the resource's own `meta`: a JSON string cannot hold an unescaped `"`, and
/// `meta` comes before any nested object that could have one.
pub fn splice_point(json: &[u8]) -> Option<u16> {
    const META: &[u8] = b"\"meta\":{";
    let at = json.windows(META.len()).position(|w| w == META)?;
    u16::try_from(at + META.len()).ok()
}

/// Stored content and its version, ready to be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResource {
    pub content: Vec<u8>,
    pub splice: u16,
    pub version: Version,
}

impl StoredResource {
    /// Appends the resource's JSON, version elements included, to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        write_versioned(&self.content, self.splice, self.version, out);
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.content.len() + 64);
        self.write_json(&mut out);
        out
    }
}

/// Appends `content` with `"versionId":"n","lastUpdated":"t"` inserted at `splice`.
pub fn write_versioned(content: &[u8], splice: u16, version: Version, out: &mut Vec<u8>) {
    let splice = usize::from(splice).min(content.len());
    out.extend_from_slice(&content[..splice]);
    out.extend_from_slice(b"\"versionId\":\"");
    out.extend_from_slice(version.number.to_string().as_bytes());
    out.extend_from_slice(b"\",\"lastUpdated\":\"");
    out.extend_from_slice(version.last_updated.to_rfc3339().as_bytes());
    out.push(b'"');
    // An empty `meta` closes right after the splice point: no comma before its `}`.
    if content.get(splice) != Some(&b'}') {
        out.push(b',');
    }
    out.extend_from_slice(&content[splice..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(number: u32) -> Version {
        Version {
            number,
            last_updated: Millis(1_793_491_200_000),
        }
    }

    #[test]
    fn records_round_trip() {
        let record = Record {
            location: Location {
                offset: 1 << 40,
                len: 1234,
            },
            splice: 57,
            version: version(3),
            content: ContentHash::of(b"{}"),
            state: State::Deactivated,
        };
        assert_eq!(Record::decode(&record.encode()), Some(record));
        assert_eq!(Record::decode(&[0u8; 10]), None);
    }

    #[test]
    fn versions_are_spliced_into_meta() {
        let content =
            br#"{"resourceType":"Practitioner","id":"pp-1","meta":{"source":"x"},"active":true}"#;
        let splice = splice_point(content).unwrap();
        let stored = StoredResource {
            content: content.to_vec(),
            splice,
            version: version(2),
        };
        let json: serde_json::Value = serde_json::from_slice(&stored.to_json()).unwrap();
        assert_eq!(json["meta"]["versionId"], "2");
        assert_eq!(json["meta"]["lastUpdated"], "2026-11-01T00:00:00Z");
        assert_eq!(json["meta"]["source"], "x");
        let empty = br#"{"resourceType":"Organization","id":"eg-1","meta":{},"active":false}"#;
        let stored = StoredResource {
            content: empty.to_vec(),
            splice: splice_point(empty).unwrap(),
            version: version(4),
        };
        let json: serde_json::Value = serde_json::from_slice(&stored.to_json()).unwrap();
        assert_eq!(json["meta"]["versionId"], "4");
        assert_eq!(json["active"], false);
    }

    #[test]
    fn the_splice_point_is_the_resource_meta() {
        assert_eq!(splice_point(br#"{"id":"a","meta":{"x":1}}"#), Some(18));
        assert_eq!(splice_point(br#"{"id":"a"}"#), None);
        assert_eq!(
            Millis(1_793_491_200_123).to_rfc3339(),
            "2026-11-01T00:00:00.123Z"
        );
    }
}
