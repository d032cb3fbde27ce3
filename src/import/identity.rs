//! What makes two imports the same: the instant they stamp on what they change, and the
//! generation's identity.
//!
//! Replicas that each import the same extraction files must serve the same answers, down to
//! `meta.lastUpdated`, ETags and paging cursors. So nothing an import writes may depend on
//! where or when it runs: the stamp comes from the files ([`stamp`]), and the generation is
//! named by a digest of everything that determines its content ([`generation_id`]).

use std::io::Read;
use std::path::Path;

use aws_lc_rs::digest;
use time::OffsetDateTime;
use time::macros::format_description;

use super::error::ImportError;
use super::options::ExtraFiles;
use crate::clock::Clock;
use crate::extract::FileError;
use crate::extract::finess::FinessKind;
use crate::generation::Millis;
use crate::generation::info::earliest_next_stamp;
use crate::generation::reconcile::Retention;

/// Where the stamp of an import came from, said in its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampSource {
    /// `--last-updated` (or a test's clock).
    Given,
    /// The timestamp in the RPPS file's name (`..._202611010000.txt`).
    RppsFileName,
    /// The date in the FINESS file's first line.
    FinessManifest,
    /// Neither file states its extraction time: the import's clock. Replicas that import
    /// separately then disagree; give `--last-updated` to all of them.
    Clock,
}

impl StampSource {
    /// Where the instant came from, for people: "the RPPS file name".
    fn said(self) -> &'static str {
        match self {
            StampSource::Given => "--last-updated",
            StampSource::RppsFileName => "the RPPS file name",
            StampSource::FinessManifest => "the FINESS file's extraction date",
            StampSource::Clock => "the clock",
        }
    }
}

/// The instant an import stamps, where it came from, and whether it had to be moved forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub instant: OffsetDateTime,
    pub source: StampSource,
    /// What the source gave, when that was less than one second after the previous
    /// generation's stamp and `instant` is one second after it instead.
    pub moved_from: Option<OffsetDateTime>,
}

impl Stamp {
    /// The import log's line: the instant and, truthfully, where it came from
    /// ("stamp 2026-11-02T09:30:00Z, from the RPPS file name", or "stamp ..., one second after
    /// the previous generation's (the RPPS file name gave ...)").
    pub fn describe(&self) -> String {
        let instant = rfc3339(self.instant);
        match self.moved_from {
            None => format!("stamp {instant}, from {}", self.source.said()),
            Some(given) => format!(
                "stamp {instant}, one second after the previous generation's ({} gave {}, not at least one second later)",
                self.source.said(),
                rfc3339(given)
            ),
        }
    }
}

fn rfc3339(instant: OffsetDateTime) -> String {
    Millis::from_datetime(instant).to_rfc3339()
}

/// The instant stamped on every resource this import creates or changes (`meta.lastUpdated`),
/// and on the generation: the extraction's time as the files state it, so that every replica
/// importing them stamps the same instant. Preference: `given`, the RPPS file name's timestamp
/// (read as UTC), the FINESS manifest date (midnight UTC), `clock`'s time; truncated to the
/// second.
///
/// Stamps only move forward, by at least a second: one less than one second after the previous
/// generation's is moved to one second after it ([`earliest_next_stamp`]). So `_since` and
/// history order stay right when the same files, or an older extraction, are imported again,
/// and every later stamp is after the previous generation's watermark (the last millisecond of
/// its second, see [`crate::generation::info::watermark`]), which clients keep to ask for what
/// changed since.
pub fn stamp(
    given: Option<OffsetDateTime>,
    rpps: &Path,
    finess_date: &str,
    previous: Option<Millis>,
    clock: &Clock,
) -> Stamp {
    let (instant, source) = if let Some(given) = given {
        (given, StampSource::Given)
    } else if let Some(named) = rpps_file_time(rpps) {
        (named, StampSource::RppsFileName)
    } else if let Some(dated) = manifest_date(finess_date) {
        (dated, StampSource::FinessManifest)
    } else {
        (clock.now_utc(), StampSource::Clock)
    };
    let instant = instant
        .replace_nanosecond(0)
        .expect("0 is a valid nanosecond");
    match previous.map(earliest_next_stamp) {
        Some(earliest) if Millis::from_datetime(instant) < earliest => Stamp {
            instant: earliest.to_datetime(),
            source,
            moved_from: Some(instant),
        },
        _ => Stamp {
            instant,
            source,
            moved_from: None,
        },
    }
}

/// `PS_LibreAcces_Personne_activite_202611010000.txt` → 2026-11-01T00:00:00Z: the last
/// `_`-separated part of the name, if it is twelve digits making a valid instant.
fn rpps_file_time(path: &Path) -> Option<OffsetDateTime> {
    let stem = path.file_stem()?.to_str()?;
    let digits = stem.rsplit(['_', '-']).next()?;
    if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let format = format_description!("[year][month][day][hour][minute]");
    time::PrimitiveDateTime::parse(digits, &format)
        .ok()
        .map(|t| t.assume_utc())
}

fn manifest_date(text: &str) -> Option<OffsetDateTime> {
    let format = format_description!("[year]-[month]-[day]");
    time::Date::parse(text.trim(), &format)
        .ok()
        .map(|d| d.midnight().assume_utc())
}

/// A digest of the input files' bytes, each under its role (hex): two imports of the same files
/// have the same, whatever the files are named, where they are, or the order the FINESS files
/// were given in. Each FINESS file's role is its kind ([`finess_role`]), taken in kind order.
pub fn inputs_digest(
    rpps: &Path,
    finess: &[(FinessKind, &Path)],
    extra: &ExtraFiles,
) -> Result<String, ImportError> {
    let mut context = digest::Context::new(&digest::SHA256);
    let mut files = vec![("rpps", Some(rpps))];
    let mut finess = finess.to_vec();
    finess.sort_by_key(|(kind, _)| *kind);
    files.extend(
        finess
            .iter()
            .map(|(kind, path)| (finess_role(*kind), Some(*path))),
    );
    files.extend([
        ("mssante", extra.mssante.as_deref()),
        ("savoir_faire", extra.savoir_faire.as_deref()),
        ("diplomes", extra.diplomes.as_deref()),
    ]);
    for (role, path) in files {
        let file_digest = match path {
            Some(path) => file_digest(path)?,
            None => Vec::new(),
        };
        context.update(role.as_bytes());
        context.update(&(file_digest.len() as u64).to_be_bytes());
        context.update(&file_digest);
    }
    Ok(hex(context.finish().as_ref()))
}

/// The role a FINESS file is digested under. The establishments file keeps `finess`, the role
/// of the only FINESS file earlier versions read, so that the same files keep their digest.
pub fn finess_role(kind: FinessKind) -> &'static str {
    match kind {
        FinessKind::Establishments => "finess",
        FinessKind::LegalEntities => "finess-ej",
        FinessKind::HeavyEquipment => "finess-eml",
        FinessKind::SocialEquipment => "finess-social",
        FinessKind::CareActivities => "finess-activities",
    }
}

/// Everything that determines a generation's content, hashed (SHA-256, 128 bits kept, hex):
/// the program version and layout, the previous generation's id, the stamp, the retentions and
/// the inputs' digest. Two data directories that import the same files in the same order get
/// the same ids; a directory that skipped a day does not (its versions differ, so it must not
/// claim the same name).
pub fn generation_id(
    inputs: &str,
    previous: Option<&str>,
    stamp: Millis,
    retention: Retention,
) -> String {
    let mut context = digest::Context::new(&digest::SHA256);
    let mut field = |name: &str, value: &[u8]| {
        context.update(name.as_bytes());
        context.update(&(value.len() as u64).to_be_bytes());
        context.update(value);
    };
    field("program", env!("CARGO_PKG_VERSION").as_bytes());
    field("format", &crate::generation::format::FORMAT.to_be_bytes());
    field("previous", previous.unwrap_or("").as_bytes());
    field("stamp", &stamp.0.to_be_bytes());
    field(
        "deactivated_days",
        &retention.deactivated_days.to_be_bytes(),
    );
    field("history_days", &retention.history_days.to_be_bytes());
    field("inputs", inputs.as_bytes());
    hex(&context.finish().as_ref()[..16])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file's bytes (about 2 GB/s here: under a second for the national files).
fn file_digest(path: &Path) -> Result<Vec<u8>, ImportError> {
    let unreadable = |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let mut context = digest::Context::new(&digest::SHA256);
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer).map_err(unreadable)?;
        if read == 0 {
            break;
        }
        context.update(&buffer[..read]);
    }
    Ok(context.finish().as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn at(text: &str) -> OffsetDateTime {
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
    }

    #[test]
    fn the_stamp_comes_from_the_files_and_only_moves_forward() {
        let rpps = Path::new("/x/PS_LibreAcces_Personne_activite_202611010930.txt");
        let (clock, _) = Clock::manual(at("2026-12-24T18:00:00.750Z"));
        let described = |s: Stamp| (s.instant, s.source, s.describe());
        assert_eq!(
            described(stamp(None, rpps, "2026-10-31", None, &clock)),
            (
                at("2026-11-01T09:30:00Z"),
                StampSource::RppsFileName,
                "stamp 2026-11-01T09:30:00Z, from the RPPS file name".into()
            )
        );
        let renamed = Path::new("/x/ps-libreacces-personne-activite.txt");
        assert_eq!(
            described(stamp(None, renamed, "2026-10-31", None, &clock)),
            (
                at("2026-10-31T00:00:00Z"),
                StampSource::FinessManifest,
                "stamp 2026-10-31T00:00:00Z, from the FINESS file's extraction date".into()
            )
        );
        // Neither file says when: the clock's time, to the second.
        assert_eq!(
            described(stamp(None, renamed, "31/10/2026", None, &clock)),
            (
                at("2026-12-24T18:00:00Z"),
                StampSource::Clock,
                "stamp 2026-12-24T18:00:00Z, from the clock".into()
            )
        );
        // The same files again: one second after the previous stamp, and the log says why.
        let previous = Millis::from_datetime(at("2026-11-01T09:30:00Z"));
        let again = stamp(None, rpps, "", Some(previous), &clock);
        assert_eq!(
            (again.instant, again.moved_from),
            (at("2026-11-01T09:30:01Z"), Some(at("2026-11-01T09:30:00Z")))
        );
        assert_eq!(
            again.describe(),
            "stamp 2026-11-01T09:30:01Z, one second after the previous generation's (the RPPS file name gave 2026-11-01T09:30:00Z, not at least one second later)"
        );
        // Exactly one second later is kept as it is; a given instant too.
        let next = Path::new("/x/PS_LibreAcces_Personne_activite_202611010931.txt");
        let one_second = Millis::from_datetime(at("2026-11-01T09:30:59Z"));
        assert_eq!(
            stamp(None, next, "", Some(one_second), &clock),
            Stamp {
                instant: at("2026-11-01T09:31:00Z"),
                source: StampSource::RppsFileName,
                moved_from: None
            }
        );
        let given = at("2026-12-01T00:00:00Z");
        let from_flag = stamp(Some(given), rpps, "", Some(previous), &clock);
        assert_eq!(
            (from_flag.instant, from_flag.describe()),
            (
                given,
                "stamp 2026-12-01T00:00:00Z, from --last-updated".into()
            )
        );
    }

    /// Every later stamp is after the previous generation's watermark, and the watermark after
    /// every instant the previous generation stamped, read to the millisecond or to its second.
    #[test]
    fn the_next_stamp_is_after_the_previous_watermark() {
        let (clock, _) = Clock::manual(at("2026-12-24T18:00:00Z"));
        let rpps = Path::new("/x/PS_LibreAcces_Personne_activite_202611010930.txt");
        for previous in [
            "2026-11-01T09:30:00Z",
            "2026-11-01T09:29:59Z",
            "2026-11-01T09:30:00.250Z",
        ] {
            let previous = Millis::from_datetime(at(previous));
            let watermark = crate::generation::info::watermark(previous);
            let next = Millis::from_datetime(stamp(None, rpps, "", Some(previous), &clock).instant);
            assert!(previous < watermark, "{previous:?}: {watermark:?}");
            assert!(watermark < next, "{previous:?}: {watermark:?} < {next:?}");
        }
    }

    #[test]
    fn the_id_follows_every_input() {
        let dir = tempfile::tempdir().unwrap();
        let rpps = dir.path().join("rpps.txt");
        let finess = dir.path().join("finess.csv");
        std::fs::write(&rpps, "a").unwrap();
        std::fs::write(&finess, "b").unwrap();
        let extra = ExtraFiles::default();
        let retention = Retention::default();
        let establishments = |path: &PathBuf| vec![(FinessKind::Establishments, path.clone())];
        let digest = |rpps: &Path, finess: &[(FinessKind, PathBuf)]| {
            let finess: Vec<(FinessKind, &Path)> =
                finess.iter().map(|(k, p)| (*k, p.as_path())).collect();
            inputs_digest(rpps, &finess, &extra).unwrap()
        };
        let inputs = digest(&rpps, &establishments(&finess));
        let id = |inputs: &str, previous, stamp| {
            generation_id(inputs, previous, Millis(stamp), retention)
        };
        let first = id(&inputs, None, 1);
        assert_eq!(first.len(), 32);
        assert_eq!(first, id(&inputs, None, 1));
        assert_ne!(first, id(&inputs, Some("x"), 1));
        assert_ne!(first, id(&inputs, None, 2));
        // The files swapped between roles are other inputs.
        let swapped = digest(&finess, &establishments(&rpps));
        assert_ne!(inputs, swapped);
        // FINESS files in any order are the same inputs; a file under another kind is not.
        let ej = dir.path().join("ej.csv");
        std::fs::write(&ej, "c").unwrap();
        let both = [
            (FinessKind::Establishments, finess.clone()),
            (FinessKind::LegalEntities, ej.clone()),
        ];
        let reversed = [both[1].clone(), both[0].clone()];
        assert_eq!(digest(&rpps, &both), digest(&rpps, &reversed));
        assert_ne!(digest(&rpps, &both), inputs);
        let as_equipment = [both[0].clone(), (FinessKind::HeavyEquipment, ej)];
        assert_ne!(digest(&rpps, &both), digest(&rpps, &as_equipment));
        std::fs::write(&rpps, "A").unwrap();
        assert_ne!(inputs, digest(&rpps, &establishments(&finess)));
    }
}
