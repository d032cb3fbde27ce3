//! The demo dataset embedded in the binary (`annuaire serve --demo`): extraction files
//! generated at build time by `annuaire-generate` (see `build.rs`), written out and imported
//! at start-up like any real extraction.

use std::path::{Path, PathBuf};

use crate::import::{ExtraFiles, ImportOptions};

include!(concat!(env!("OUT_DIR"), "/demo_files.rs"));

/// The embedded file whose name starts with `prefix`.
fn file(prefix: &str) -> (&'static str, &'static [u8]) {
    *FILES
        .iter()
        .find(|(name, _)| name.starts_with(prefix))
        .unwrap_or_else(|| panic!("the demo dataset has a {prefix} file (build.rs)"))
}

/// The FINESS extractions the demo imports: every embedded file named so.
const FINESS_PREFIX: &str = "etalab-";

/// Writes the demo files into `dir/extractions` and returns the import of them into
/// `dir/data`, with `lastUpdated` fixed to their extraction date so that the demo serves the
/// same bytes every time.
pub fn write_files(dir: &Path, cache_bytes: u64) -> std::io::Result<ImportOptions> {
    let extractions = dir.join("extractions");
    std::fs::create_dir_all(&extractions)?;
    let write = |prefix: &str| -> std::io::Result<PathBuf> {
        let (name, bytes) = file(prefix);
        let path = extractions.join(name);
        std::fs::write(&path, bytes)?;
        Ok(path)
    };
    Ok(ImportOptions {
        rpps: write("PS_LibreAcces_Personne_activite")?,
        finess: FILES
            .iter()
            .filter(|(name, _)| name.starts_with(FINESS_PREFIX))
            .map(|(name, _)| write(name))
            .collect::<std::io::Result<_>>()?,
        extra: ExtraFiles {
            mssante: Some(write("Extraction_Correspondance_MSSante")?),
            savoir_faire: Some(write("PS_LibreAcces_SavoirFaire")?),
            diplomes: Some(write("PS_LibreAcces_Dipl_AutExerc")?),
        },
        data: dir.join("data"),
        cache_bytes,
        last_updated: Some(extraction_instant()),
        clock: crate::clock::Clock::system(),
        workers: None,
        safety: Default::default(),
    })
}

/// Midnight UTC of the demo files' extraction date.
pub fn extraction_instant() -> time::OffsetDateTime {
    time::Date::parse(
        EXTRACTION_DATE,
        &time::format_description::well_known::Iso8601::DATE,
    )
    .expect("the generator's extraction date is an ISO date")
    .midnight()
    .assume_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nine_files_are_embedded() {
        assert_eq!(FILES.len(), 9);
        let finess = FILES
            .iter()
            .filter(|(name, _)| name.starts_with(FINESS_PREFIX));
        assert_eq!(finess.count(), 5, "every FINESS extraction");
        assert!(FILES.iter().all(|(_, bytes)| bytes.len() > 1000));
        assert!(PERSONS >= 1000);
        assert_eq!(extraction_instant().year(), 2026);
    }
}
