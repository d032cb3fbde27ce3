//! Every FINESS extraction in one import (issue #25 items 1, 2 and 5, the import side): files
//! recognised by their record tags in any order, one per kind, legal entities from their file,
//! activities and equipment placed at their establishment, and the life of the new types over
//! two days (deactivation, history, `_lastUpdated`, the shrink guard per type, copy-generation).
//!
//! The files are small hand-written ones in the published layouts (docs/formats.md §4.5–§4.8),
//! beside the worked example's RPPS and establishments files (tests/common/synthetic.rs).

mod common;

use std::path::{Path, PathBuf};

use annuaire::fhir::ResourceType;
use annuaire::generation::DataDir;
use annuaire::generation::copy::copy_current;
use annuaire::import::{self, ImportError, ImportOptions, ImportSummary, Safety};
use serde_json::Value;
use time::OffsetDateTime;

use common::synthetic::{
    FINESS_FILE, FINESS_NAME, LAST_UPDATED, RPPS_FILE, RPPS_NAME, open_generation, read_json, write,
};

/// The legal entities file: the hospital's legal entity (referenced by establishment
/// 219990001) and one no establishment references.
const LEGAL_ENTITIES: &str = "finess;etalab;99;2026-01-15
structureej;219990002;CH IMAGINAIRE;CENTRE HOSPITALIER IMAGINAIRE;;2;AV;DU DOCTEUR INVENTE;;;CS 90000;231;21079 DIJON CEDEX;21;COTE D OR;0380000002;13;Etablissement Public Communal d'Hospitalisation;355;Centre Hospitalier (C.H.);999000001;8610Z;1975-01-01
structureej;010099991;\"GCS \"\"TESTVILLE\"\"; NORD\";;;12;R;DES ESSAIS;;;;451;01440 TESTVILLE;01;AIN;0400000000;47;Groupement de Coopération Sanitaire;;;999000002;8610Z;01/01/2010;extra
";

/// The healthcare activities of the hospital, after the `structureet` links the file starts
/// with; the last one names an establishment FINESS does not have.
const ACTIVITIES: [&str; 3] = [
    "activiteoffresoin;219990002;CH IMAGINAIRE;01;Médecine;03;Hospitalisation complète (24 heures consécutives ou plus);00;Pas de forme;1001;2019-03-01;219990001;CH IMAGINAIRE",
    "activiteoffresoin;219990002;CH IMAGINAIRE;02;Chirurgie;04;Hospitalisation à temps partiel de jour ou de nuit;07;Chirurgie ambulatoire;1002;2019-03-01;219990001;CH IMAGINAIRE",
    "activiteoffresoin;019999990;CH ABSENT;01;Médecine;03;Hospitalisation complète;00;Pas de forme;1003;2019-03-01;019999999;CH ABSENT",
];

/// The hospital's heavy equipment: two scanners and an MRI.
const EQUIPMENT: [&str; 3] = [
    "equipmateriellourd;219990002;CH IMAGINAIRE;05602;Scanographe à utilisation médicale;2001;84-21-00001;84-21-10001;2019-03-01;219990001;2019-09-01",
    "equipmateriellourd;219990002;CH IMAGINAIRE;05701;Caméra à scintillation;2002;;;2019-03-01;219990001;2019-09-01",
    "equipmateriellourd;219990002;CH IMAGINAIRE;05602;Scanographe à utilisation médicale;2003;84-21-00003;84-21-10003;2021-03-01;219990001;2021-09-01",
];

/// The EHPAD's social equipment (confirmed columns only).
const SOCIAL: &str = "finess;etalab;99;2026-01-15
structureet;9D9990001;9D9990002
equipementsocial;9D9990001;924;Accueil pour Personnes Âgées;11;Hébergement Complet Internat;711;Personnes Âgées Dépendantes;S;80
";

/// A day's files in a directory: the RPPS and establishments files, and each FINESS kind.
struct Day {
    rpps: PathBuf,
    establishments: PathBuf,
    legal_entities: PathBuf,
    activities: PathBuf,
    equipment: PathBuf,
    social: PathBuf,
}

impl Day {
    /// Writes the day's files into `dir`, with the activity and equipment lines given.
    fn write(dir: &Path, activities: &[&str], equipment: &[&str]) -> Day {
        std::fs::create_dir_all(dir).unwrap();
        let links = "structureet;219990001;219990002\nstructureet;019999999;019999990\n";
        let file =
            |lines: &[&str]| format!("finess;etalab;99;2026-01-15\n{links}{}\n", lines.join("\n"));
        Day {
            rpps: write(dir, RPPS_NAME, RPPS_FILE),
            establishments: write(dir, FINESS_NAME, FINESS_FILE),
            legal_entities: write(
                dir,
                "etalab-cs1100501-stock-20260115-0000.csv",
                LEGAL_ENTITIES,
            ),
            activities: write(dir, "etalab-activites.csv", file(activities)),
            equipment: write(
                dir,
                "etalab-cs1100504-stock-20260115-0000.csv",
                file(equipment),
            ),
            social: write(dir, "etalab-cs1100505-stock-20260115-0000.csv", SOCIAL),
        }
    }

    /// Day 1: every line.
    fn first(dir: &Path) -> Day {
        Day::write(dir, &ACTIVITIES, &EQUIPMENT)
    }

    /// Every FINESS file, in the order the CLI would be given them here.
    fn finess(&self) -> Vec<PathBuf> {
        vec![
            self.establishments.clone(),
            self.legal_entities.clone(),
            self.activities.clone(),
            self.equipment.clone(),
            self.social.clone(),
        ]
    }

    /// The import of `finess` with this day's RPPS file into `data`, stamped `at`.
    fn options(&self, finess: Vec<PathBuf>, data: &Path, at: OffsetDateTime) -> ImportOptions {
        ImportOptions {
            finess,
            ..common::import_options_of(&self.rpps, &self.establishments, data, Some(at))
        }
    }
}

fn import_ok(options: &ImportOptions) -> ImportSummary {
    import::run(options).unwrap_or_else(|e| panic!("import: {e}"))
}

const DAY_2: OffsetDateTime = time::macros::datetime!(2026-01-16 10:00:00 UTC);

/// The ids the day-1 lines map to.
fn activity_id(et: &str, act: &str, modalite: &str, forme: &str) -> String {
    annuaire::mapping::ids::care_activity(et, act, modalite, forme).to_string()
}

fn device_id(et: &str, eml: &str, noautor: &str, noimplarhgos: &str) -> String {
    annuaire::mapping::ids::heavy_equipment(et, eml, noautor, noimplarhgos).to_string()
}

fn current(data: &Path) -> Option<String> {
    DataDir::at(data).current().unwrap()
}

/// The entries of `data` (generations, CURRENT, reports), to see that a refused import made none.
fn entries(data: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with(".json") && !name.ends_with(".lock"))
        .collect();
    names.sort();
    names
}

#[test]
fn the_files_are_recognised_in_any_order_and_name_the_same_generation() {
    let dir = common::scratch_dir("finess-kinds-order");
    let day = Day::first(&dir.path().join("files"));
    let given = day.finess();
    let mut reversed = given.clone();
    reversed.reverse();
    let a = import_ok(&day.options(given, &dir.path().join("a"), LAST_UPDATED));
    let b = import_ok(&day.options(reversed, &dir.path().join("b"), LAST_UPDATED));
    assert_eq!(
        a.id, b.id,
        "the same files in another order are the same inputs"
    );
    let kinds: Vec<String> = a
        .finess_files
        .iter()
        .map(|f| f.kind.tag().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "structureet",
            "structureej",
            "equipmateriellourd",
            "equipementsocial",
            "activiteoffresoin"
        ]
    );
    let records: Vec<u64> = a.finess_files.iter().map(|f| f.records).collect();
    assert_eq!(records, [3, 2, 3, 1, 3]);
    // The same files again, in yet another order: nothing to do.
    let mut shuffled = day.finess();
    shuffled.swap(0, 3);
    let again = import::run(&ImportOptions {
        last_updated: None,
        ..day.options(shuffled, &dir.path().join("a"), LAST_UPDATED)
    });
    assert!(
        matches!(again, Err(ImportError::SameFiles { .. })),
        "{again:?}"
    );
}

#[test]
fn legal_entities_come_from_their_file_and_the_import_counts_the_stubs() {
    let dir = common::scratch_dir("finess-kinds-ej");
    let day = Day::first(&dir.path().join("files"));
    let data = dir.path().join("data");
    let summary = import_ok(&day.options(day.finess(), &data, LAST_UPDATED));
    // 219990002 and 010099991 from the file; 139990003 and 9D9990002 (the pharmacy's and the
    // EHPAD's) referenced by establishments, absent from it.
    assert_eq!(
        (summary.legal_entities_from_file, summary.legal_entity_stubs),
        (2, 2)
    );
    let printed = annuaire::cli::format_summary(&summary);
    assert!(
        printed.contains("legal entities: 2 from the file, 2 stubs (referenced, absent from it)"),
        "{printed}"
    );
    assert!(printed.contains("heavy equipment"), "{printed}");
    let (_, generation) = open_generation(&data);
    for ej in [
        "ej-219990002",
        "ej-010099991",
        "ej-139990003",
        "ej-9D9990002",
    ] {
        assert!(
            read_json(&generation, ResourceType::Organization, ej).is_some(),
            "{ej}"
        );
    }
    // Without the file, every referenced legal entity is a stub and the unreferenced one is
    // not there.
    let without = dir.path().join("without");
    let finess = vec![day.establishments.clone()];
    let summary = import_ok(&day.options(finess, &without, LAST_UPDATED));
    assert_eq!(
        (summary.legal_entities_from_file, summary.legal_entity_stubs),
        (0, 3)
    );
}

#[test]
fn activities_and_equipment_are_placed_at_their_establishment_or_reported() {
    let dir = common::scratch_dir("finess-kinds-placed");
    let day = Day::first(&dir.path().join("files"));
    let data = dir.path().join("data");
    let summary = import_ok(&day.options(day.finess(), &data, LAST_UPDATED));
    assert_eq!(summary.finess_unplaced, 1, "the activity of 019999999");
    assert!(annuaire::cli::format_summary(&summary).contains(
        "activity and equipment lines not imported (establishment absent from FINESS): 1"
    ));
    assert_eq!(
        summary.resources.healthcare_service, 3,
        "2 activities, 1 social"
    );
    assert_eq!(summary.resources.device, 3);
    let (_, generation) = open_generation(&data);
    let placed = activity_id("219990001", "01", "03", "00");
    let service = read_json(&generation, ResourceType::HealthcareService, &placed).unwrap();
    assert_eq!(
        service["providedBy"]["reference"],
        "Organization/eg-219990001"
    );
    let orphan = activity_id("019999999", "01", "03", "00");
    assert!(read_json(&generation, ResourceType::HealthcareService, &orphan).is_none());
    let unit = device_id("219990001", "05602", "2001", "84-21-10001");
    let device = read_json(&generation, ResourceType::Device, &unit).unwrap();
    assert_eq!(device["owner"]["reference"], "Organization/eg-219990001");
}

#[test]
fn two_files_of_one_kind_are_refused_naming_both_and_nothing_is_switched() {
    let dir = common::scratch_dir("finess-kinds-twice");
    let day = Day::first(&dir.path().join("files"));
    let data = dir.path().join("data");
    import_ok(&day.options(day.finess(), &data, LAST_UPDATED));
    let served = current(&data);
    let before = entries(&data);
    let other = write(
        dir.path(),
        "etalab-cs1100504-stock-20260116-0000.csv",
        format!("finess;etalab;99;2026-01-16\n{}\n", EQUIPMENT[0]),
    );
    let mut finess = day.finess();
    finess.push(other.clone());
    let refused = import::run(&day.options(finess, &data, DAY_2)).unwrap_err();
    let message = refused.to_string();
    assert!(matches!(refused, ImportError::FinessFiles(_)), "{message}");
    assert!(
        message.starts_with("import refused, nothing was switched"),
        "{message}"
    );
    assert!(
        message.contains(&day.equipment.display().to_string())
            && message.contains(&other.display().to_string())
            && message.contains("heavy equipment"),
        "{message}"
    );
    assert_eq!(current(&data), served);
    assert_eq!(entries(&data), before);
    // Without the establishments file: refused too.
    let refused = import::run(&day.options(vec![day.equipment.clone()], &data, DAY_2))
        .unwrap_err()
        .to_string();
    assert!(refused.contains("no FINESS establishments"), "{refused}");
    assert_eq!(current(&data), served);
}

#[test]
fn a_file_of_unknown_kind_is_refused_by_name_before_anything_is_switched() {
    let dir = common::scratch_dir("finess-kinds-unknown");
    let day = Day::first(&dir.path().join("files"));
    let data = dir.path().join("data");
    import_ok(&day.options(day.finess(), &data, LAST_UPDATED));
    let served = current(&data);
    let before = entries(&data);
    let mystery = write(
        dir.path(),
        "etalab-cs1100599-stock-20260116-0000.csv",
        "finess;etalab;99;2026-01-16\nequipementmystere;219990001;x\nautre;1\n",
    );
    let mut finess = day.finess();
    finess.insert(2, mystery.clone());
    let refused = import::run(&day.options(finess, &data, DAY_2))
        .unwrap_err()
        .to_string();
    assert!(
        refused.starts_with(&format!(
            "{} is not a FINESS etalab extraction: its records are tagged `equipementmystere`, `autre`",
            mystery.display()
        )),
        "{refused}"
    );
    assert_eq!(current(&data), served);
    assert_eq!(entries(&data), before, "no new generation directory");
}

/// A blocking GET on the test server: status and JSON body.
fn get(base: &common::Served, path: &str) -> (u16, Value) {
    let (status, body) =
        common::http_get(base.address, path).unwrap_or_else(|| panic!("GET {path}: no answer"));
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn ids_of(bundle: &Value) -> Vec<String> {
    let mut ids: Vec<String> = bundle["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[test]
fn day_two_closes_an_activity_and_a_device_with_their_history() {
    let dir = common::scratch_dir("finess-kinds-day2");
    let day1 = Day::first(&dir.path().join("day1"));
    let data = dir.path().join("data");
    let first = import_ok(&day1.options(day1.finess(), &data, LAST_UPDATED));
    let day2 = Day::write(
        &dir.path().join("day2"),
        &[ACTIVITIES[0], ACTIVITIES[2]],
        &[EQUIPMENT[0], EQUIPMENT[2]],
    );
    let accepted = Safety {
        allow_shrink: true,
        ..Safety::default()
    };
    let second = import_ok(&ImportOptions {
        safety: accepted,
        ..day2.options(day2.finess(), &data, DAY_2)
    });
    for rtype in [ResourceType::HealthcareService, ResourceType::Device] {
        let changes = import::changes_of(&second.changes, rtype);
        assert_eq!(changes.deactivated, 1, "{rtype:?}: {changes:?}");
    }
    let closed = activity_id("219990001", "02", "04", "07");
    let removed = device_id("219990001", "05701", "2002", "");
    let served = common::spawn_server(common::settings_for(&data), None);
    let (status, service) = get(&served, &format!("/fhir/HealthcareService/{closed}"));
    assert_eq!(status, 200, "{service}");
    assert_eq!(service["active"], false);
    assert_eq!(service["meta"]["versionId"], "2");
    let (status, device) = get(&served, &format!("/fhir/Device/{removed}"));
    assert_eq!(status, 200, "{device}");
    assert_eq!(device["status"], "inactive");
    assert!(device.get("active").is_none(), "Device has no `active`");
    assert_eq!(device["meta"]["versionId"], "2");
    for path in [
        format!("/fhir/HealthcareService/{closed}/_history"),
        format!("/fhir/Device/{removed}/_history"),
    ] {
        let (status, history) = get(&served, &path);
        assert_eq!(status, 200, "{history}");
        assert_eq!(history["entry"].as_array().map(Vec::len), Some(2), "{path}");
    }
    // What changed since day 1: exactly these two.
    let watermark = annuaire::generation::info::watermark(
        annuaire::generation::Millis::from_datetime(LAST_UPDATED),
    )
    .to_rfc3339();
    assert_eq!(first.id.len(), 32);
    let since = |rtype: &str| {
        let (status, bundle) = get(
            &served,
            &format!(
                "/fhir/{rtype}?_lastUpdated=gt{}",
                watermark.replace('+', "%2B")
            ),
        );
        assert_eq!(status, 200, "{bundle}");
        ids_of(&bundle)
    };
    assert_eq!(since("HealthcareService"), [closed]);
    assert_eq!(since("Device"), [removed]);
}

#[test]
fn the_shrink_guard_counts_devices_apart_and_names_a_missing_kind() {
    let dir = common::scratch_dir("finess-kinds-shrink");
    let day1 = Day::first(&dir.path().join("day1"));
    let data = dir.path().join("data");
    import_ok(&day1.options(day1.finess(), &data, LAST_UPDATED));
    let served = current(&data);
    // One unit of three gone: 33 % of the devices, nothing else changes.
    let day2 = Day::write(&dir.path().join("day2"), &ACTIVITIES, &EQUIPMENT[..2]);
    let refused = import::run(&day2.options(day2.finess(), &data, DAY_2)).unwrap_err();
    match &refused {
        ImportError::Shrink {
            rtype,
            deactivated,
            active,
            ..
        } => assert_eq!(
            (*rtype, *deactivated, *active),
            (ResourceType::Device, 1, 3)
        ),
        other => panic!("not the shrink guard: {other}"),
    }
    assert_eq!(current(&data), served);
    // Without the heavy equipment file, every device would go: the refusal says which kind is
    // missing.
    let mut finess = day2.finess();
    finess.retain(|path| *path != day2.equipment);
    let refused = import::run(&day2.options(finess, &data, DAY_2))
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("3 of the 3 active Device")
            && refused.contains("This import has no file of FINESS heavy equipment"),
        "{refused}"
    );
    // On purpose: accepted.
    let accepted = import_ok(&ImportOptions {
        safety: Safety {
            allow_shrink: true,
            ..Safety::default()
        },
        ..day2.options(day2.finess(), &data, DAY_2)
    });
    let devices = import::changes_of(&accepted.changes, ResourceType::Device);
    assert_eq!(devices.deactivated, 1, "{devices:?}");
    assert_ne!(current(&data), served);
}

#[test]
fn copy_generation_keeps_the_new_types() {
    let dir = common::scratch_dir("finess-kinds-copy");
    let day = Day::first(&dir.path().join("files"));
    let data = dir.path().join("data");
    let summary = import_ok(&day.options(day.finess(), &data, LAST_UPDATED));
    let replica = dir.path().join("replica");
    copy_current(&data, &replica).expect("copy the generation");
    let (_, generation) = open_generation(&replica);
    let counts = generation.info().resources.clone();
    assert_eq!(
        (counts.healthcare_service, counts.device),
        (
            summary.resources.healthcare_service,
            summary.resources.device
        )
    );
    assert_eq!((counts.healthcare_service, counts.device), (3, 3));
    let unit = device_id("219990001", "05602", "2003", "84-21-10003");
    assert!(read_json(&generation, ResourceType::Device, &unit).is_some());
}
