//! The hand-written extraction rows of docs/formats.md (§3.5 RPPS, §4.4 FINESS, §5 the
//! optional files), stored verbatim in tests/fixtures/extract/, the expected resources of
//! docs/mapping.md §10 (tests/fixtures/golden/), and the import of small files made from them:
//! written under the names the real extractions have, stamped with their extraction day, read
//! back from the generation the import made current.

use std::path::{Path, PathBuf};

use annuaire::fhir::ResourceType;
use annuaire::generation::{DataDir, Generation};
use annuaire::import::{ExtraFiles, ImportOptions};
use serde_json::Value;
use time::OffsetDateTime;

/// docs/formats.md §3.5: the 56-column header (with its trailing `|`) and five rows: 1 Claire
/// cabinet, 2 Claire hospital (FINESS 219990001), 3 infirmière, 4 pharmacien section A (FINESS
/// 139990001), 5 ADELI orthophoniste without activity.
pub const RPPS_FILE: &str =
    include_str!("../fixtures/extract/PS_LibreAcces_Personne_activite_synthetic.txt");
/// docs/formats.md §4.4, verbatim: manifest, three `structureet`, three `geolocalisation`.
pub const FINESS_FILE: &str =
    include_str!("../fixtures/extract/etalab-cs1100507-stock-synthetic.csv");
pub const MSSANTE_FILE: &str =
    include_str!("../fixtures/extract/Extraction_Correspondance_MSSante_synthetic.txt");
pub const SAVOIR_FAIRE_FILE: &str =
    include_str!("../fixtures/extract/PS_LibreAcces_SavoirFaire_synthetic.txt");
pub const DIPLOMES_FILE: &str =
    include_str!("../fixtures/extract/PS_LibreAcces_Dipl_AutExerc_synthetic.txt");

pub const GOLDEN_PRACTITIONER: &str =
    include_str!("../fixtures/golden/practitioner-819990000017-10.json");
pub const GOLDEN_ROLE_CABINET: &str =
    include_str!("../fixtures/golden/practitionerrole-cabinet.json");
pub const GOLDEN_ROLE_HOSPITAL: &str =
    include_str!("../fixtures/golden/practitionerrole-hospital.json");
pub const GOLDEN_ST: &str = include_str!("../fixtures/golden/organization-st-C19990000017001.json");
pub const GOLDEN_EG: &str = include_str!("../fixtures/golden/organization-eg-219990001.json");
pub const GOLDEN_EJ: &str = include_str!("../fixtures/golden/organization-ej-219990002.json");
/// The ANS IG's example Practitioner (narrative removed).
pub const ANS_PRACTITIONER: &str = include_str!("../fixtures/ans-ig/Practitioner-334081DP.json");

/// Claire Martinot, the person of rows 1 and 2.
pub const CLAIRE: &str = "pp-819990000017-10";

/// The import time of the small imports: the files' extraction day, 10:00 UTC.
pub const LAST_UPDATED: OffsetDateTime = time::macros::datetime!(2026-01-15 10:00:00 UTC);
/// The same, as `meta.lastUpdated` shows it.
pub const LAST_UPDATED_TEXT: &str = "2026-01-15T10:00:00Z";
/// The names the real extractions of that day have.
pub const RPPS_NAME: &str = "PS_LibreAcces_Personne_activite_202601150000.txt";
pub const FINESS_NAME: &str = "etalab-cs1100507-stock-20260115-0000.csv";

/// The import of `rpps` and `finess` (and `extra`, already written) written into `dir` under
/// the extractions' names, into `dir/data`, stamped [`LAST_UPDATED`].
pub fn import_options(dir: &Path, rpps: &[u8], finess: &[u8], extra: ExtraFiles) -> ImportOptions {
    let rpps = write(dir, RPPS_NAME, rpps);
    let finess = write(dir, FINESS_NAME, finess);
    ImportOptions {
        extra,
        ..super::import_options_of(&rpps, &finess, &dir.join("data"), Some(LAST_UPDATED))
    }
}

/// Writes `bytes` to `dir/name`.
pub fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

/// The current generation of `data`, and its name. Drop it before opening another handle on
/// the same directory (sled allows one per database and process).
pub fn open_generation(data: &Path) -> (String, Generation) {
    let dir = DataDir::create(data).expect("a data directory");
    annuaire::generation::open_current(&dir, super::CACHE_BYTES)
        .expect("open the current generation")
}

/// A stored resource as JSON, if the generation holds it.
pub fn read_json(generation: &Generation, rtype: ResourceType, id: &str) -> Option<Value> {
    generation
        .read(rtype, id)
        .unwrap_or_else(|e| panic!("read {rtype}/{id}: {e}"))
        .map(|stored| serde_json::from_slice(&stored.to_json()).expect("stored JSON"))
}
