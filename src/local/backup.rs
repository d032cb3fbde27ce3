//! `annuaire local backup` / `restore`: the local store (lists, subscriptions, the notifier's
//! queue and watermark: every tree of `data/local`) as one file, and back.
//!
//! The file is NDJSON (docs/store-format.md, "Local store"): a header line
//! `{"format":"annuaire-local-backup","version":1,"created":…,"trees":T,"records":N,"sha256":…}`
//! then one line per record `{"tree":…,"key":…,"value":…}` (each base64), tree by tree in key
//! order. `sha256` is the hex SHA-256 of every byte after the header line: a truncated or edited
//! file is refused before anything is written.
//!
//! sled lets one process open a database: both commands run while no server serves the data
//! directory (they hold `serve.lock` meanwhile, so none starts), which also makes the backup a
//! consistent snapshot.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::store::{LocalError, LocalStore};
use crate::clock::Clock;

pub const FORMAT: &str = "annuaire-local-backup";
pub const VERSION: u64 = 1;

/// What a backup or a restore copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    pub trees: usize,
    pub records: usize,
}

/// Why a backup or a restore did not happen, for people.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Damaged(String),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Local(#[from] LocalError),
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BackupError {
    let path = path.to_path_buf();
    move |source| BackupError::Io {
        action,
        path,
        source,
    }
}

/// Writes every record of the store in `local_dir` to `file` (through a temporary file renamed
/// at the end: `file` is never half-written).
pub fn backup(local_dir: &Path, file: &Path, clock: Clock) -> Result<Copied, BackupError> {
    if !local_dir.exists() {
        return Err(BackupError::Refused(format!(
            "{} holds no local store (no list or subscription was ever written)",
            local_dir.display()
        )));
    }
    let store = LocalStore::open(local_dir, clock.clone())?;
    let db = store.db();
    let mut body = Vec::new();
    let (mut trees, mut records) = (0, 0);
    for name in db.tree_names() {
        let tree = db
            .open_tree(&name)
            .map_err(|e| LocalError::Store(e.to_string()))?;
        trees += 1;
        for entry in tree.iter() {
            let (key, value) = entry.map_err(|e| LocalError::Store(e.to_string()))?;
            let line = json!({
                "tree": STANDARD.encode(&name),
                "key": STANDARD.encode(&key),
                "value": STANDARD.encode(&value),
            });
            body.extend_from_slice(line.to_string().as_bytes());
            body.push(b'\n');
            records += 1;
        }
    }
    let header = json!({
        "format": FORMAT,
        "version": VERSION,
        "created": crate::generation::record::Millis::from_datetime(clock.now_utc()).to_rfc3339(),
        "trees": trees,
        "records": records,
        "sha256": hex(&Sha256::digest(&body)),
    });
    let temporary = file.with_extension("partial");
    let mut out = std::fs::File::create(&temporary).map_err(io("cannot create", &temporary))?;
    out.write_all(format!("{header}\n").as_bytes())
        .and_then(|()| out.write_all(&body))
        .and_then(|()| out.sync_all())
        .map_err(io("cannot write", &temporary))?;
    std::fs::rename(&temporary, file).map_err(io("cannot rename into", file))?;
    Ok(Copied { trees, records })
}

/// Restores `file` into `local_dir`: refused when the store there holds anything, unless
/// `replace` (the store replaced is kept beside, renamed, and named in the answer).
pub fn restore(
    local_dir: &Path,
    file: &Path,
    replace: bool,
    clock: Clock,
) -> Result<(Copied, Option<PathBuf>), BackupError> {
    let lines = read_checked(file)?;
    if local_dir.exists() {
        let store = LocalStore::open(local_dir, clock.clone())?;
        if !store.is_empty()? && !replace {
            return Err(BackupError::Refused(format!(
                "{} already holds lists or subscriptions: give --replace to replace them (they are kept beside, renamed)",
                local_dir.display()
            )));
        }
    }
    let building = local_dir.with_extension("restoring");
    if building.exists() {
        std::fs::remove_dir_all(&building).map_err(io("cannot remove", &building))?;
    }
    let copied = {
        let store = LocalStore::open(&building, clock.clone())?;
        let copied = write_records(&store, &lines)?;
        store.flush()?;
        copied
    };
    let kept = if local_dir.exists() {
        let stamp = clock.now_utc().unix_timestamp();
        let aside = local_dir.with_extension(format!("before-restore-{stamp}"));
        std::fs::rename(local_dir, &aside).map_err(io("cannot rename", local_dir))?;
        Some(aside)
    } else {
        None
    };
    std::fs::rename(&building, local_dir).map_err(io("cannot rename into", local_dir))?;
    Ok((copied, kept))
}

/// The records of a backup file whose header and checksum are right.
fn read_checked(file: &Path) -> Result<Vec<Value>, BackupError> {
    let opened = std::fs::File::open(file).map_err(io("cannot open", file))?;
    let mut reader = BufReader::new(opened);
    let mut header = String::new();
    reader
        .read_line(&mut header)
        .map_err(io("cannot read", file))?;
    let header: Value = serde_json::from_str(&header).map_err(|_| not_a_backup(file))?;
    if header["format"] != FORMAT {
        return Err(not_a_backup(file));
    }
    if header["version"] != VERSION {
        return Err(BackupError::Damaged(format!(
            "{} is a backup of version {}; this annuaire reads version {VERSION}",
            file.display(),
            header["version"]
        )));
    }
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut body).map_err(io("cannot read", file))?;
    if header["sha256"].as_str() != Some(hex(&Sha256::digest(&body)).as_str()) {
        return Err(BackupError::Damaged(format!(
            "{} is damaged or incomplete (its checksum does not match): nothing was restored",
            file.display()
        )));
    }
    let records = body
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).map_err(|_| not_a_backup(file)))
        .collect::<Result<Vec<Value>, _>>()?;
    if header["records"].as_u64() != Some(records.len() as u64) {
        return Err(BackupError::Damaged(format!(
            "{} announces {} records and holds {}",
            file.display(),
            header["records"],
            records.len()
        )));
    }
    Ok(records)
}

fn write_records(store: &LocalStore, records: &[Value]) -> Result<Copied, BackupError> {
    let db = store.db();
    let mut trees = std::collections::BTreeSet::new();
    for record in records {
        let field = |name: &str| {
            record[name]
                .as_str()
                .and_then(|text| STANDARD.decode(text).ok())
                .ok_or_else(|| BackupError::Damaged(format!("a record has no valid `{name}`")))
        };
        let (name, key, value) = (field("tree")?, field("key")?, field("value")?);
        let tree = db
            .open_tree(&name)
            .map_err(|e| LocalError::Store(e.to_string()))?;
        tree.insert(key, value)
            .map_err(|e| LocalError::Store(e.to_string()))?;
        trees.insert(name);
    }
    Ok(Copied {
        trees: trees.len(),
        records: records.len(),
    })
}

fn not_a_backup(file: &Path) -> BackupError {
    BackupError::Damaged(format!(
        "{} is not a backup of annuaire's local store (written by `annuaire local backup`)",
        file.display()
    ))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
