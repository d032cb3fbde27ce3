//! Deterministic generator of realistic synthetic extraction files.
//!
//! Produces, in the exact real formats described in `shared/formats/rpps.md` and
//! `shared/formats/finess.md`:
//! - `PS_LibreAcces_Personne_activite_202611010000.txt` (RPPS persons × activities, `|`-separated,
//!   56-column header, trailing `|`), and
//! - `etalab-cs1100507-stock-20261101-0000.csv` (FINESS establishments with geolocation,
//!   `;`-separated, manifest line, `structureet` then `geolocalisation` records).
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
//! streamed through a bounded delay queue (see [`scatter`]).

mod finess;
mod geo;
mod names;
mod random;
mod rpps;
mod scatter;
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
}

/// Paths of the generated files and their statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFiles {
    pub rpps: PathBuf,
    pub finess: PathBuf,
    pub stats: GenerateStats,
}

/// Number of FINESS establishments generated for a number of persons (about one per 15 persons, at
/// least 20 so that every category and overseas department the quirks need exists).
pub fn establishments_for(persons: u64) -> u64 {
    (persons / 15).max(20)
}

/// Writes the two files into out_dir (created if missing).
pub fn generate(opts: &GenerateOptions, out_dir: &Path) -> io::Result<GeneratedFiles> {
    std::fs::create_dir_all(out_dir)?;
    let establishments = establishments_for(opts.persons);
    let directory = finess::build_directory(opts.seed, establishments);
    let finess_path = out_dir.join(FINESS_FILE_NAME);
    finess::write_file(&directory, &finess_path)?;
    let rpps_path = out_dir.join(RPPS_FILE_NAME);
    let rpps_rows = rpps::write_file(opts.seed, opts.persons, &directory, &rpps_path)?;
    Ok(GeneratedFiles {
        rpps: rpps_path,
        finess: finess_path,
        stats: GenerateStats {
            persons: opts.persons,
            rpps_rows,
            establishments,
        },
    })
}
