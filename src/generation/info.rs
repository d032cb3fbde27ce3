//! The description of a complete generation (`generation.json`, see [`super::format::INFO_FILE`]):
//! what identifies it, when it was stamped, how many resources it holds, where its history is.

use serde::{Deserialize, Serialize};

use super::error::StoreError;
use super::format::INFO_FILE;
use super::record::Millis;
use crate::fhir::ResourceType;

/// What an import recorded about the generation it wrote, shown to operators.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GenerationInfo {
    /// Layout version ([`super::format::FORMAT`]); absent in generations written before versions.
    #[serde(default)]
    pub format: u32,
    /// Sequence number of the import in this data directory (local: names its directory).
    pub number: u64,
    /// What identifies the generation everywhere: a digest of what determines its content
    /// (the input files, the previous generation's id, the stamp, the retention, the layout
    /// and the program version), so that replicas that import the same files in the same order
    /// name it alike, and cursors, Bundle ids and ETags issued by one are understood by all.
    /// Absent in generations written before it existed: [`GenerationInfo::read`] then names
    /// them `local-<number>-<digest of their description>`.
    #[serde(default, rename = "id", skip_serializing_if = "String::is_empty")]
    pub content_id: String,
    /// A digest of the input files the import read (see `import::identity::inputs_digest`):
    /// the same files imported again are recognised and not written again.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub inputs: String,
    /// The instant stamped on what the import changed (RFC 3339): the extraction's time as the
    /// files state it, not the import's clock (see `import::stamp`).
    pub last_updated: String,
    /// Current resources, deactivated records included.
    pub resources: ResourceCounts,
    pub sources: Vec<String>,
    /// The history segments this generation's history refers to.
    #[serde(default)]
    pub history_segments: Vec<u64>,
    /// From when the history is complete (every deletion since then is known); absent: since
    /// the first import. Older past versions passed the history retention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_complete_since: Option<String>,
}

/// The watermark of a generation stamped `stamp`: the last millisecond of the stamp's second
/// (`2026-11-01T09:30:00.999Z` for `2026-11-01T09:30:00Z`).
///
/// A client that keeps it and asks later for what changed since (`_lastUpdated=gtW`,
/// `_history?_since=W`, `$export?_since=W`) must get none of this generation's versions and
/// all of every later generation's. The stamp itself does not do: history's `_since` is "at or
/// after" (FHIR R4), so `_since=stamp` returns every version the generation stamped. Nor does
/// `stamp + 1 ms`: a `lastUpdated` served as `09:30:00Z` stands, in a search, for the whole
/// second it names (R4 §3.1.1.4.2), and `gt09:30:00.001Z` matches it ("the range above the
/// search value overlaps the target's"). The last millisecond of that second is after the stamp
/// read either way, as an instant or as its second, and before any later stamp, which is at
/// least [`earliest_next_stamp`]: so inclusive (`_since` of history), exclusive (`$export`'s
/// `_since`, Bulk Data's "after") and `gt` comparisons all split the generations at it.
pub fn watermark(stamp: Millis) -> Millis {
    Millis(whole_second(stamp).0 + 999)
}

/// The earliest stamp an import may give after a generation stamped `previous`: the start of
/// the next second. Stamps are whole seconds (the files name minutes, `--last-updated` and the
/// clock are truncated), so this is one second after `previous`, and later than its
/// [`watermark`].
pub fn earliest_next_stamp(previous: Millis) -> Millis {
    Millis(whole_second(previous).0 + 1000)
}

/// The start of the second holding `instant`.
fn whole_second(instant: Millis) -> Millis {
    Millis(instant.0 - instant.0.rem_euclid(1000))
}

impl GenerationInfo {
    /// The generation's identity (see [`GenerationInfo::content_id`]).
    pub fn id(&self) -> std::borrow::Cow<'_, str> {
        self.content_id.as_str().into()
    }

    /// The instant the import stamped on what it changed (see `import::stamp`).
    pub fn import_time(&self) -> Millis {
        Millis::parse_rfc3339(&self.last_updated).unwrap_or(Millis(0))
    }

    /// What the server hands out as "data as of" this generation (every Bundle's
    /// `meta.lastUpdated`, an export's `transactionTime`, `/readyz`): see [`watermark`].
    pub fn watermark(&self) -> Millis {
        watermark(self.import_time())
    }

    pub fn history_horizon(&self) -> Option<Millis> {
        self.history_complete_since
            .as_deref()
            .and_then(Millis::parse_rfc3339)
    }

    /// Reads a generation's description.
    pub fn read(generation: &std::path::Path) -> Result<GenerationInfo, StoreError> {
        let path = generation.join(INFO_FILE);
        let text = std::fs::read_to_string(&path).map_err(StoreError::io("cannot read", &path))?;
        let mut info: GenerationInfo =
            serde_json::from_str(&text).map_err(|e| StoreError::Damaged {
                path: generation.to_path_buf(),
                detail: format!("{INFO_FILE} is unreadable: {e}"),
            })?;
        if info.content_id.is_empty() {
            // Written before ids: named by its number and a digest of its description (which
            // holds its import time), so that two such generations never share a name.
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
            let short: String = digest.as_ref()[..6]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            info.content_id = format!("local-{}-{short}", info.number);
        }
        Ok(info)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ResourceCounts {
    pub practitioner: u64,
    pub practitioner_role: u64,
    pub organization: u64,
    /// Absent from generations written before the type was served.
    #[serde(default)]
    pub healthcare_service: u64,
    /// Absent from generations written before the type was served.
    #[serde(default)]
    pub device: u64,
}

impl ResourceCounts {
    pub fn get(&self, rtype: ResourceType) -> u64 {
        match rtype {
            ResourceType::Practitioner => self.practitioner,
            ResourceType::PractitionerRole => self.practitioner_role,
            ResourceType::Organization => self.organization,
            ResourceType::HealthcareService => self.healthcare_service,
            ResourceType::Device => self.device,
        }
    }
}
