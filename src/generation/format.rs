//! The on-disk format of a data directory, in one place: the layout version and its history,
//! every file name, and the table of trees of a generation's sled database. Written for
//! people in `docs/store-format.md`; a change here is a change of that document, and of
//! [`FORMAT`] when a server of the previous layout could not read the result.
//!
//! ```text
//! data/
//!   CURRENT                  name of the generation served ("gen-000002")
//!   serve.lock, import.lock  held by the one server, the one import of this directory
//!   cursor.key               the secret paging cursors are signed with
//!   last-import.json         how the last import ended (for /metrics)
//!   generations/gen-NNNNNN/  one complete generation (files below); newer ones than CURRENT
//!                            belong to an import in progress, or one that died
//!   history/seg-NNNNNN.bin   the versions import NNNNNN superseded
//! ```

use std::path::{Path, PathBuf};

use crate::fhir::ResourceType;

/// Layout version of a generation; a server opens only generations of its own layout.
///
/// 1: one sled entry per resource and per index term. 2: versions beside the content
/// (records, history). 3: block keys of any length. 4: content compressed (see
/// [`super::content`]), index blocks front-coded in the index file (see [`super::block`]).
/// 5: documents by number in a directory of offsets (see [`TypeTree::Documents`]).
/// 6: HealthcareService and Device: type bytes 3 and 4 (positions in `ResourceType::ALL`) in
/// versions and history keys, and their trees; a server of layout 5 would skip such history
/// entries, so it must refuse the generation instead. An import still carries the versions of
/// a layout-5 generation over (`Previous` reads its `versions.bin` and `history.bin`, whose
/// type bytes 0 to 2 are unchanged).
pub const FORMAT: u32 = 6;

// ---------------------------------------------------------------------------------------------
// The data directory
// ---------------------------------------------------------------------------------------------

/// The name of the generation served.
pub const CURRENT_FILE: &str = "CURRENT";
/// Held (exclusively) by the one `annuaire serve` of a directory.
pub const SERVE_LOCK: &str = "serve.lock";
/// Held (exclusively) by the one running import or copy.
pub const IMPORT_LOCK: &str = "import.lock";
/// 32 random bytes signing paging cursors, shared by replicas.
pub const CURSOR_KEY_FILE: &str = "cursor.key";
/// How the last import ended.
pub const IMPORT_REPORT_FILE: &str = "last-import.json";
/// The directory of the generations.
pub const GENERATIONS_DIR: &str = "generations";
/// The directory of the history segments, shared by the generations.
pub const HISTORY_DIR: &str = "history";
/// A generation's directory name is this prefix and its number on six digits.
const GENERATION_PREFIX: &str = "gen-";

/// A file written under a temporary name and renamed over `name` (atomic replacement).
pub fn temporary(name: &str) -> String {
    format!("{name}.tmp")
}

/// The directory name of generation `number`.
pub fn generation_name(number: u64) -> String {
    format!("{GENERATION_PREFIX}{number:06}")
}

/// The number of a generation's directory name, if it is one.
pub fn generation_number(name: &str) -> Option<u64> {
    name.strip_prefix(GENERATION_PREFIX)?.parse().ok()
}

/// The file of history segment `number` (written by the import of generation `number`).
pub fn segment_path(history_dir: &Path, number: u64) -> PathBuf {
    history_dir.join(format!("seg-{number:06}.bin"))
}

/// The segment number of a file name, if it is one.
pub fn segment_number(file_name: &str) -> Option<u64> {
    file_name
        .strip_prefix("seg-")?
        .strip_suffix(".bin")?
        .parse()
        .ok()
}

// ---------------------------------------------------------------------------------------------
// A generation
// ---------------------------------------------------------------------------------------------

/// The description of a complete generation (see [`super::info::GenerationInfo`]); written
/// last, so a generation without it was never completed and is never opened.
pub const INFO_FILE: &str = "generation.json";
/// The labels of the codes, for people (see `crate::mapping::labels`).
pub const LABELS_FILE: &str = "labels.json";
/// Every current resource's content, one zstd frame each (see [`super::content`]).
pub const CONTENT_FILE: &str = "resources.zst";
/// The dictionary those frames were compressed with (absent: none).
pub const DICTIONARY_FILE: &str = "resources.dict";
/// Blocks of the sorted tables and the other index values (see [`super::block`]).
pub const INDEX_FILE: &str = "index.bin";
/// Every current resource's record in type and id order, read by the next import (see
/// [`super::reconcile`]).
pub const VERSIONS_FILE: &str = "versions.bin";
/// The whole history index in type, id and version order, read by the next import (see
/// [`super::history`]).
pub const HISTORY_FILE: &str = "history.bin";
/// Shared lock held by every server reading the generation.
pub const IN_USE_LOCK: &str = "in-use.lock";
/// The sled database: where the blocks of the tables are, and small values.
pub const DATABASE_DIR: &str = "db";
/// The scratch directory of an import inside the generation it writes (removed before the
/// generation is complete).
pub const SPILL_DIR: &str = "spill";

/// The trees of one resource type, named `<Type>` plus [`TypeTree::suffix`]. Every one is
/// written once, in key order, and packed into blocks of the index file (sled keeps each
/// block's first key and location, see [`super::block`]), but for [`TypeTree::Documents`],
/// [`TypeTree::Forward`] and [`TypeTree::Sort`], which map a few keys to values stored whole
/// in the index file.
///
/// | tree | key | value |
/// |---|---|---|
/// | `<Type>` | id | [`super::record::Record`] |
/// | `<Type>/docs` | `entries`, `offsets` | location of the document directory: each document's record and id, by number |
/// | `<Type>/postings` | index key (`search::terms`) | documents having that term (`search::index::postings`) |
/// | `<Type>/terms` | param 0x00 term number (u32 BE) | folded term (the `:contains` dictionary) |
/// | `<Type>/trigrams` | param 0x00 trigram | term numbers containing it |
/// | `<Type>/forward` | reference param | location of its forward references (`search::index::forward`) |
/// | `<Type>/sort` | param 0x00 `a` or `d` | location of its sort column (u32 LE per document) |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeTree {
    Ids,
    Documents,
    Postings,
    Terms,
    Trigrams,
    Forward,
    Sort,
}

impl TypeTree {
    pub const ALL: [TypeTree; 7] = [
        TypeTree::Ids,
        TypeTree::Documents,
        TypeTree::Postings,
        TypeTree::Terms,
        TypeTree::Trigrams,
        TypeTree::Forward,
        TypeTree::Sort,
    ];

    pub fn suffix(self) -> &'static str {
        match self {
            TypeTree::Ids => "",
            TypeTree::Documents => "/docs",
            TypeTree::Postings => "/postings",
            TypeTree::Terms => "/terms",
            TypeTree::Trigrams => "/trigrams",
            TypeTree::Forward => "/forward",
            TypeTree::Sort => "/sort",
        }
    }

    pub fn name(self, rtype: ResourceType) -> String {
        format!("{rtype}{}", self.suffix())
    }
}

/// The sorted tables a search index keeps per type, in blocks (their keys and values are
/// encoded by `search::index`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexTable {
    Postings,
    Terms,
    Trigrams,
}

/// The values a search index keeps whole in the index file, found by key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexValues {
    Forward,
    Sort,
}

impl IndexTable {
    pub fn tree(self) -> TypeTree {
        match self {
            IndexTable::Postings => TypeTree::Postings,
            IndexTable::Terms => TypeTree::Terms,
            IndexTable::Trigrams => TypeTree::Trigrams,
        }
    }
}

impl IndexValues {
    pub fn tree(self) -> TypeTree {
        match self {
            IndexValues::Forward => TypeTree::Forward,
            IndexValues::Sort => TypeTree::Sort,
        }
    }
}

/// The keys of the document directory tree ([`TypeTree::Documents`]): the entries (record
/// then id, per document) and the `count + 1` little-endian u32 offsets into them.
pub const DIRECTORY_ENTRIES: &[u8] = b"entries";
pub const DIRECTORY_OFFSETS: &[u8] = b"offsets";

/// The trees of the whole generation.
///
/// | tree | key | value |
/// |---|---|---|
/// | `geolocation` | Organization id | FINESS coordinates (JSON), a plain sled entry |
/// | `history` | type, id, 0, version | times, segment and location (see [`super::history`]) |
/// | `history/time` | time (newest first), type, id, 0, version (newest first) | the same |
pub const GEOLOCATION_TREE: &str = "geolocation";
pub const HISTORY_TREE: &str = "history";
pub const HISTORY_TIME_TREE: &str = "history/time";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_names_round_trip() {
        assert_eq!(generation_name(7), "gen-000007");
        assert_eq!(generation_number("gen-000007"), Some(7));
        assert_eq!(generation_number("gen-1234567"), Some(1_234_567));
        assert_eq!(generation_number("gen-00000x"), None);
        assert_eq!(generation_number("seg-000007"), None);
        assert_eq!(segment_number("seg-000012.bin"), Some(12));
        assert_eq!(
            segment_path(Path::new("h"), 12),
            Path::new("h/seg-000012.bin")
        );
    }

    #[test]
    fn tree_names_follow_the_table() {
        let names: Vec<String> = TypeTree::ALL
            .iter()
            .map(|t| t.name(ResourceType::Organization))
            .collect();
        assert_eq!(
            names,
            [
                "Organization",
                "Organization/docs",
                "Organization/postings",
                "Organization/terms",
                "Organization/trigrams",
                "Organization/forward",
                "Organization/sort"
            ]
        );
    }
}
