//! The optional files of the import (issue 4): MSSanté mailboxes, savoir-faire, diplomas and
//! exercise authorisations, through the real import of small synthetic files
//! (tests/fixtures/extract/*_synthetic.txt, built on the docs/formats.md §3.5 and §5 examples).

mod common;

use std::path::{Path, PathBuf};

use annuaire::clock::Clock;
use annuaire::fhir::ResourceType;
use annuaire::generation::{DataDir, Generation};
use annuaire::import::{ExtraFiles, ImportOptions, ImportSummary};
use serde_json::{Value, json};
use tempfile::TempDir;

use common::synthetic::{
    self, ANS_PRACTITIONER, CLAIRE, DIPLOMES_FILE as DIPLOMES, FINESS_FILE as FINESS,
    MSSANTE_FILE as MSSANTE, RPPS_FILE as RPPS, SAVOIR_FAIRE_FILE as SAVOIR_FAIRE,
};

const NOS: &str = "https://mos.esante.gouv.fr/NOS/";
const METADATA: &str = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-mailbox-mss-metadata";
const AUTHORIZATION: &str = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-practitioner-authorization";
const HOSPITAL_MAILBOX: &str = "claire.martinot@ch-imaginaire.mssante.fr";
const CABINET_MAILBOX: &str = "claire.martinot@exemple-fictif.mssante.fr";

fn nos(name: &str) -> String {
    format!("{NOS}{name}/FHIR/{}", name.replacen('_', "-", 1))
}

struct Imported {
    _tmp: TempDir,
    data: PathBuf,
    summary: ImportSummary,
}

/// Writes the fixtures (with `mssante`, `savoir_faire`, `diplomes` replacing the defaults when
/// given) and imports them.
fn import_with(extra: &[(&str, &str)]) -> Imported {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let file = |key: &str| {
        extra
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(k, text)| synthetic::write(dir, &format!("{k}.txt"), text))
    };
    let extra = ExtraFiles {
        mssante: file("mssante"),
        savoir_faire: file("savoir_faire"),
        diplomes: file("diplomes"),
    };
    let options = synthetic::import_options(dir, RPPS.as_bytes(), FINESS.as_bytes(), extra);
    let summary = annuaire::import::run(&options).expect("import succeeds");
    Imported {
        _tmp: tmp,
        data: options.data,
        summary,
    }
}

fn import_all() -> Imported {
    import_with(&[
        ("mssante", MSSANTE),
        ("savoir_faire", SAVOIR_FAIRE),
        ("diplomes", DIPLOMES),
    ])
}

fn open(data: &Path) -> Generation {
    synthetic::open_generation(data).1
}

fn get(store: &Generation, rtype: ResourceType, id: &str) -> Value {
    synthetic::read_json(store, rtype, id).unwrap_or_else(|| panic!("{rtype}/{id} is stored"))
}

fn role(store: &Generation, identifier: &str) -> Value {
    get(
        store,
        ResourceType::PractitionerRole,
        &common::role_id(identifier),
    )
}

fn telecom_values(resource: &Value) -> Vec<&str> {
    resource["telecom"]
        .as_array()
        .map(|t| t.iter().filter_map(|p| p["value"].as_str()).collect())
        .unwrap_or_default()
}

fn mailbox<'v>(resource: &'v Value, address: &str) -> &'v Value {
    resource["telecom"]
        .as_array()
        .and_then(|t| t.iter().find(|p| p["value"] == address))
        .unwrap_or_else(|| panic!("{address} in {}", resource["telecom"]))
}

/// `(url, value)` of the metadata extension's sub-extensions.
fn metadata(point: &Value) -> Vec<(String, Value)> {
    let meta = point["extension"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["url"] == METADATA)
        .expect("metadata extension");
    meta["extension"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let (key, value) = e
                .as_object()
                .unwrap()
                .iter()
                .find(|(k, _)| k.starts_with("value"))
                .unwrap();
            let value = match key.as_str() {
                "valueCodeableConcept" => value["coding"][0]["code"].clone(),
                _ => value.clone(),
            };
            (e["url"].as_str().unwrap().to_owned(), value)
        })
        .collect()
}

fn qualification_codings(practitioner: &Value) -> Vec<Vec<(String, String)>> {
    practitioner["qualification"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            q["code"]["coding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["system"].as_str().unwrap().to_owned(),
                        c["code"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .collect()
}

#[test]
fn personal_mailbox_has_the_ans_shape_and_its_metadata() {
    let imported = import_all();
    let store = open(&imported.data);
    let claire = get(&store, ResourceType::Practitioner, CLAIRE);
    // Both personal mailboxes, once each (the file holds the first one twice), in file order.
    assert_eq!(telecom_values(&claire), [HOSPITAL_MAILBOX, CABINET_MAILBOX]);
    // Golden: the ANS example's telecom shape (system email + MSSANTE email type first).
    let example: Value = serde_json::from_str(ANS_PRACTITIONER).unwrap();
    let expected = &example["telecom"][0];
    let point = mailbox(&claire, HOSPITAL_MAILBOX);
    assert_eq!(point["system"], expected["system"]);
    assert_eq!(point["extension"][0], expected["extension"][0]);
    assert_eq!(
        metadata(point),
        [
            ("type".to_owned(), json!("PER")),
            ("dematerialisation".to_owned(), json!(true)),
        ]
    );
    let coding = &point["extension"][1]["extension"][0]["valueCodeableConcept"]["coding"][0];
    assert_eq!(coding["system"], nos("TRE_R257-TypeBAL"));
    assert_eq!(
        metadata(mailbox(&claire, CABINET_MAILBOX))[1],
        ("dematerialisation".to_owned(), json!(false))
    );
}

#[test]
fn personal_mailbox_goes_on_the_role_at_its_structure_only() {
    let imported = import_all();
    let store = open(&imported.data);
    let hospital = role(&store, "SE/819990000017/F219990001/FON-05/S/GENR01/");
    assert_eq!(telecom_values(&hospital), [HOSPITAL_MAILBOX]);
    let cabinet = role(&store, "SE/819990000017/C19990000017001/FON-01/L/GENR01/");
    assert!(cabinet.get("telecom").is_none(), "{cabinet}");
    assert_eq!(
        imported.summary.extras.mailboxes_on_roles, 2,
        "line 2 and its duplicate"
    );
}

#[test]
fn organisational_mailboxes_by_finess_and_by_siret() {
    let imported = import_all();
    let store = open(&imported.data);
    let hospital = get(&store, ResourceType::Organization, "eg-219990001");
    let point = mailbox(&hospital, "secretariat.cardio@ch-imaginaire.mssante.fr");
    assert_eq!(
        metadata(point),
        [
            ("type".to_owned(), json!("ORG")),
            ("service".to_owned(), json!("Service de cardiologie")),
            ("dematerialisation".to_owned(), json!(false)),
        ]
    );
    // The FINESS phones stay first; the mailbox is added after them.
    assert_eq!(hospital["telecom"][0]["system"], "phone");
    let pharmacy = get(&store, ResourceType::Organization, "eg-139990001");
    assert!(
        telecom_values(&pharmacy).contains(&"officine@pharmacie-du-pont.mssante.fr"),
        "{}",
        pharmacy["telecom"]
    );
    assert_eq!(imported.summary.extras.mailboxes_on_organizations, 2);
}

#[test]
fn unknown_persons_and_structures_are_reported_not_dropped_silently() {
    let imported = import_all();
    let s = &imported.summary;
    // MSSanté: one person, one structure unknown; savoir-faire: the same unknown person.
    assert_eq!(s.extras.unplaced_lines, 3);
    assert_eq!(s.extras.mailbox_lines, 8);
    assert_eq!(s.extras.savoir_faire_lines, 3);
    assert_eq!(s.extras.diploma_lines, 5);
    // The truncated mailbox line and the diploma line with neither diploma nor authorisation.
    assert_eq!(s.rows_skipped, 2);
    assert_eq!(s.extras.mailboxes_on_practitioners, 3);
}

#[test]
fn savoir_faire_and_diplomas_become_qualifications() {
    let imported = import_all();
    let store = open(&imported.data);
    let claire = get(&store, ResourceType::Practitioner, CLAIRE);
    let pair =
        |a: &str, b: &str, c: &str, d: &str| vec![(nos(a), b.to_owned()), (nos(c), d.to_owned())];
    let r14 = "TRE_R14-TypeDiplome";
    assert_eq!(
        qualification_codings(&claire),
        [
            pair("TRE_R48-DiplomeEtatFrancais", "DE09", r14, "DE"),
            pair("TRE_R49-DiplomeEtudeSpecialisee", "DES27", r14, "DES"),
            // A type without a known terminology keeps its type coding only.
            vec![(nos(r14), "XYZ".to_owned())],
            pair(
                "TRE_G15-ProfessionSante",
                "10",
                "TRE_R09-CategorieProfessionnelle",
                "C"
            ),
            // SM54 is in both files: once.
            pair(
                "TRE_R38-SpecialiteOrdinale",
                "SM54",
                "TRE_R04-TypeSavoirFaire",
                "S"
            ),
            pair(
                "TRE_R43-CapaciteSavoirFaire",
                "CAP13",
                "TRE_R04-TypeSavoirFaire",
                "CAPA"
            ),
        ]
    );
    let pharmacist = get(&store, ResourceType::Practitioner, "pp-819990000033-21");
    let authorization = &pharmacist["extension"][0];
    assert_eq!(authorization["url"], AUTHORIZATION);
    let parts: Vec<(&str, &str, &str)> = authorization["extension"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let coding = &e["valueCodeableConcept"]["coding"][0];
            (
                e["url"].as_str().unwrap(),
                coding["system"].as_str().unwrap(),
                coding["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        parts,
        [
            ("type", nos("TRE_R17-TypeAutorisation").as_str(), "AEX"),
            (
                "field",
                nos("TRE_R18-DisciplineAutorisation").as_str(),
                "D10"
            ),
            ("profession", nos("TRE_G15-ProfessionSante").as_str(), "21"),
        ]
    );
}

#[test]
fn without_the_optional_files_nothing_changes() {
    let imported = import_with(&[]);
    let store = open(&imported.data);
    let claire = get(&store, ResourceType::Practitioner, CLAIRE);
    assert!(claire.get("telecom").is_none());
    assert_eq!(qualification_codings(&claire).len(), 2);
    assert_eq!(imported.summary.extras, Default::default());
}

/// Every resource of every type, as stored.
fn all_resources(data: &Path) -> Vec<(String, Vec<u8>)> {
    let store = open(data);
    let mut out = Vec::new();
    for rtype in [
        ResourceType::Practitioner,
        ResourceType::PractitionerRole,
        ResourceType::Organization,
    ] {
        for doc in 0..store.document_count(rtype) {
            let (id, resource) = store.document(rtype, doc).unwrap().unwrap();
            out.push((format!("{rtype}/{id}"), resource.to_json()));
        }
    }
    out
}

#[test]
fn importing_the_same_files_twice_gives_byte_identical_resources() {
    let first = import_all();
    let second = import_all();
    let a = all_resources(&first.data);
    let b = all_resources(&second.data);
    assert!(a.len() > 10);
    assert_eq!(a, b);
}

#[test]
fn a_file_of_the_wrong_kind_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let path = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let data = tmp.path().join("data");
    let err = annuaire::import::run(&ImportOptions {
        rpps: path("rpps.txt", RPPS),
        finess: vec![path("finess.csv", FINESS)],
        extra: ExtraFiles {
            // The savoir-faire file given as the MSSanté one.
            mssante: Some(path("sf.txt", SAVOIR_FAIRE)),
            ..Default::default()
        },
        data: data.clone(),
        cache_bytes: 16 << 20,
        last_updated: None,
        clock: Clock::system(),
        workers: Some(1),
        safety: Default::default(),
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("Extraction_Correspondance_MSSante"), "{err}");
    assert!(err.contains("Type de BAL"), "{err}");
    let current = DataDir::create(&data).unwrap().current().unwrap();
    assert!(current.is_none(), "no generation was made current");
}

/// The generator's quirks (docs/formats.md §5.1): the same mailbox twice, a mailbox for an unknown
/// person and one for an unknown structure, a capacité only in the savoir-faire file.
#[test]
fn generated_files_with_their_quirks() {
    let tmp = tempfile::tempdir().unwrap();
    let files = common::generate_files(&tmp.path().join("files"), 300, 11);
    let data = tmp.path().join("data");
    let summary = common::import_files(&files, &data, None);
    let e = &summary.extras;
    assert_eq!(e.mailbox_lines, files.stats.mailboxes);
    assert_eq!(e.savoir_faire_lines, files.stats.savoir_faire_rows);
    assert_eq!(e.diploma_lines, files.stats.diploma_rows);
    assert_eq!(summary.rows_skipped, 0);
    // The orphan person's lines (in any of the three files) and the orphan structure's mailbox:
    // nothing else is unplaced.
    let text = std::fs::read_to_string(&files.mssante).unwrap();
    let orphan_lines = |path: &Path| {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|l| l.contains("|819999999999|"))
            .count() as u64
    };
    let unknown_person = orphan_lines(&files.mssante)
        + orphan_lines(&files.savoir_faire)
        + orphan_lines(&files.diplomas);
    assert!(unknown_person >= 1);
    assert_eq!(
        e.unplaced_lines,
        unknown_person + 1,
        "+ the unknown structure"
    );
    assert_eq!(
        e.mailboxes_on_practitioners + e.mailboxes_on_organizations,
        e.mailbox_lines - orphan_lines(&files.mssante) - 1,
        "every mailbox line is placed or reported"
    );
    // Every address of the file is served exactly once per resource, duplicates collapsed.
    let store = open(&data);
    let mut served = std::collections::BTreeSet::new();
    for rtype in [ResourceType::Practitioner, ResourceType::Organization] {
        for doc in 0..store.document_count(rtype) {
            let (_, stored) = store.document(rtype, doc).unwrap().unwrap();
            let resource: Value = serde_json::from_slice(&stored.to_json()).unwrap();
            let values: Vec<&str> = resource["telecom"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["system"] == "email")
                .filter_map(|p| p["value"].as_str())
                .collect();
            let unique: std::collections::BTreeSet<_> = values.iter().collect();
            assert_eq!(unique.len(), values.len(), "{resource}");
            served.extend(values.into_iter().map(str::to_owned));
        }
    }
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split('|').collect();
        let placed_elsewhere = fields[4] == "819999999999" || fields[6] == "219500001";
        assert_eq!(
            served.contains(fields[1]),
            !placed_elsewhere,
            "mailbox {} ({line})",
            fields[1]
        );
    }
}
