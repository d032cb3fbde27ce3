//! What the three files of records per establishment (heavy equipment, healthcare activities,
//! social equipment) share: their owners, their head of `structureet` lines, their encodings.

use std::io;
use std::path::Path;

use super::finess::{
    Directory, Establishment, NumberKind, department_index, finess_number, structureet_line,
};
use super::tables::{FINESS_MANIFEST, SiteKind};

/// Directory indexes of the establishments in France whose category satisfies `keep`, in file
/// order: the owners of one file's records.
pub(crate) fn owners(directory: &Directory, keep: impl Fn(&Establishment) -> bool) -> Vec<u32> {
    directory
        .establishments
        .iter()
        .enumerate()
        .filter(|(_, est)| est.address.department().is_some() && keep(est))
        .map(|(i, _)| u32::try_from(i).unwrap_or(u32::MAX))
        .collect()
}

/// Whether the establishment is a hospital (the owners of heavy equipment and activities).
pub(crate) fn is_hospital(est: &Establishment) -> bool {
    est.category.kind == SiteKind::Hospital
}

/// The file's text: manifest (dated `date`), then the full 32-field `structureet` line of every
/// owner with at least one record that day (the establishments the file concerns, as the real
/// files carry them first), then the records, written by `push` owner by owner.
pub(crate) fn text<T>(
    directory: &Directory,
    owners: &[u32],
    items: &[Vec<T>],
    date: &str,
    mut push: impl FnMut(&mut String, &Establishment, &T),
) -> String {
    let mut out = format!("{FINESS_MANIFEST}{date}\n");
    let present = || {
        owners
            .iter()
            .zip(items)
            .filter(|(_, owned)| !owned.is_empty())
            .map(|(&i, owned)| (&directory.establishments[i as usize], owned))
    };
    for (est, _) in present() {
        structureet_line(est, &mut out);
    }
    for (est, owned) in present() {
        for item in owned {
            push(&mut out, est, item);
        }
    }
    out
}

/// One deliberately orphan line, appended after the records: the first owner's day-1 first record
/// written for an establishment that is in no file (the importer reports it and imports nothing
/// of it, docs/mapping.md A32). The same line every day. Returns the lines written (0 or 1).
pub(crate) fn push_orphan<T>(
    out: &mut String,
    directory: &Directory,
    owners: &[u32],
    first: Option<&T>,
    mut push: impl FnMut(&mut String, &Establishment, &T),
) -> u64 {
    let (Some(&owner), Some(item)) = (owners.first(), first) else {
        return 0;
    };
    let mut orphan = directory.establishments[owner as usize].clone();
    let dept = orphan
        .address
        .department()
        .map_or(0, |d| department_index(d.code));
    orphan.et = finess_number(dept, NumberKind::OrphanSite, 0);
    push(out, &orphan, item);
    1
}

/// Writes `text` as UTF-8.
pub(crate) fn write_utf8(path: &Path, text: &str) -> io::Result<()> {
    std::fs::write(path, text)
}

/// Writes `text` in Windows-1252, as older FINESS extractions are; refuses a character the
/// encoding cannot carry rather than writing a numeric character reference into the file.
pub(crate) fn write_windows_1252(path: &Path, text: &str) -> io::Result<()> {
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
    if unmappable {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} has a character Windows-1252 cannot write",
                path.display()
            ),
        ));
    }
    std::fs::write(path, bytes)
}

/// An ISO date (`YYYY-MM-DD`) as older extractions write it (`DD/MM/YYYY`).
pub(crate) fn day_month_year(iso: &str) -> String {
    match (iso.get(0..4), iso.get(5..7), iso.get(8..10)) {
        (Some(y), Some(m), Some(d)) => format!("{d}/{m}/{y}"),
        _ => iso.to_string(),
    }
}
