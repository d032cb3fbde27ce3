//! Deterministic generator of realistic synthetic extraction files.
//!
//! Produces, in the exact real formats described in annuaire's `docs/formats.md`:
//! - `PS_LibreAcces_Personne_activite_202611010000.txt` (RPPS persons × activities, `|`-separated,
//!   56-column header, trailing `|`),
//! - `etalab-cs1100507-stock-20261101-0000.csv` (FINESS establishments with geolocation,
//!   `;`-separated, manifest line, `structureet` then `geolocalisation` records),
//! - `PS_LibreAcces_SavoirFaire_202611010000.txt` (13 columns, trailing `|`): one row per person ×
//!   profession × savoir-faire of the RPPS file, plus capacités of some médecins found only there,
//! - `PS_LibreAcces_Dipl_AutExerc_202611010000.txt` (13 columns, trailing `|`): the state diploma of
//!   every person's professions, DES of specialist médecins, a few CES and exercise authorisations,
//! - `Extraction_Correspondance_MSSante_202611010000.txt` (31 columns, NO trailing `|`): personal
//!   mailboxes of about 30 % of the persons, organisational mailboxes of FINESS establishments and
//!   cabinets, with deliberate duplicates and orphans (see [`mssante`]).
//!
//! The files exist to exercise the importer at any scale (100 persons to national size) with the
//! quirks of the real data: accented/apostrophe/hyphenated names, ADELI ids with `2A`/`2B`, persons
//! without activity, rows duplicated per savoir-faire, exact duplicate rows, rows of a person far apart,
//! shared structures with conflicting spellings, foreign addresses, FINESS numbers missing from the
//! FINESS file, RFC-4180 quoting, Lambert 93 and UTM coordinates… Every name and identifier is invented
//! (RPPS `199…`, SIRET `99…`, FINESS numbers with a `99`/`98` marker, phones in the ARCEP fiction ranges).
//!
//! Determinism: all randomness comes from ChaCha8 streams seeded from [`GenerateOptions::seed`]; no
//! clock, no hash-map iteration. Same options ⇒ byte-identical files.
//!
//! Memory: the FINESS directory (one entry per establishment) is the only table held; RPPS rows are
//! streamed through a bounded delay queue (see [`scatter`]); side-file rows are written as each person
//! is generated (see [`side`]), with only a fixed-size address filter and the few cabinets with a
//! mailbox kept.

mod finess;
mod geo;
mod mssante;
mod names;
mod random;
mod rpps;
mod scatter;
mod side;
mod structure;
mod tables;

#[cfg(test)]
mod tests;

use std::io;
use std::path::{Path, PathBuf};

/// The fixed extraction instant the file names and FINESS manifest use (2026-11-01T00:00:00Z), so output is deterministic.
pub const EXTRACTION_DATE: &str = "2026-11-01";

/// Name of the generated RPPS file.
pub const RPPS_FILE_NAME: &str = "PS_LibreAcces_Personne_activite_202611010000.txt";

/// Name of the generated FINESS file.
pub const FINESS_FILE_NAME: &str = "etalab-cs1100507-stock-20261101-0000.csv";

/// Name of the generated savoir-faire file.
pub const SAVOIR_FAIRE_FILE_NAME: &str = "PS_LibreAcces_SavoirFaire_202611010000.txt";

/// Name of the generated diplomas and exercise authorisations file.
pub const DIPLOMAS_FILE_NAME: &str = "PS_LibreAcces_Dipl_AutExerc_202611010000.txt";

/// Name of the generated MSSanté mailboxes file.
pub const MSSANTE_FILE_NAME: &str = "Extraction_Correspondance_MSSante_202611010000.txt";

/// The demo dataset `annuaire serve --demo` embeds: enough persons for every quirk to occur,
/// few enough to import in about a second.
pub const DEMO: GenerateOptions = GenerateOptions {
    persons: 3000,
    seed: 2026,
};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Number of distinct persons (`Identification nationale PP`) in the RPPS file.
    pub persons: u64,
    /// Seed of every random choice.
    pub seed: u64,
}

/// What was generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateStats {
    /// Distinct persons written.
    pub persons: u64,
    /// RPPS data rows written (header excluded, duplicate rows included).
    pub rpps_rows: u64,
    /// FINESS `structureet` records written.
    pub establishments: u64,
    /// Savoir-faire data rows written (duplicate rows included).
    pub savoir_faire_rows: u64,
    /// Diploma and authorisation data rows written.
    pub diploma_rows: u64,
    /// MSSanté data lines written (`PER` and `ORG`, duplicate lines included).
    pub mailboxes: u64,
}

/// Paths of the generated files and their statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFiles {
    pub rpps: PathBuf,
    pub finess: PathBuf,
    pub savoir_faire: PathBuf,
    pub diplomas: PathBuf,
    pub mssante: PathBuf,
    pub stats: GenerateStats,
}

/// Number of FINESS establishments generated for a number of persons (about one per 15 persons, at
/// least 20 so that every category and overseas department the quirks need exists).
pub fn establishments_for(persons: u64) -> u64 {
    (persons / 15).max(20)
}

/// Writes the five files into out_dir (created if missing).
pub fn generate(opts: &GenerateOptions, out_dir: &Path) -> io::Result<GeneratedFiles> {
    std::fs::create_dir_all(out_dir)?;
    let establishments = establishments_for(opts.persons);
    let directory = finess::build_directory(opts.seed, establishments);
    let finess_path = out_dir.join(FINESS_FILE_NAME);
    finess::write_file(&directory, &finess_path)?;
    let savoir_faire_path = out_dir.join(SAVOIR_FAIRE_FILE_NAME);
    let diplomas_path = out_dir.join(DIPLOMAS_FILE_NAME);
    let mssante_path = out_dir.join(MSSANTE_FILE_NAME);
    let mut side =
        side::SideFiles::create(opts.seed, &savoir_faire_path, &diplomas_path, &mssante_path)?;
    side.establishments(&directory)?;
    let rpps_path = out_dir.join(RPPS_FILE_NAME);
    let rpps_rows = rpps::write_file(opts.seed, opts.persons, &directory, &rpps_path, &mut side)?;
    let side_counts = side.finish()?;
    Ok(GeneratedFiles {
        rpps: rpps_path,
        finess: finess_path,
        savoir_faire: savoir_faire_path,
        diplomas: diplomas_path,
        mssante: mssante_path,
        stats: GenerateStats {
            persons: opts.persons,
            rpps_rows,
            establishments,
            savoir_faire_rows: side_counts.savoir_faire_rows,
            diploma_rows: side_counts.diploma_rows,
            mailboxes: side_counts.mailboxes,
        },
    })
}
