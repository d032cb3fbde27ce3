//! One test (or a few) per item of the importer quirks checklists: docs/formats.md §3.6 items 1–9
//! (`rpps_NN_…`) and docs/formats.md §4.9 items 1–14 (`finess_NN_…`), through the real import: small
//! files written to a temporary directory, `annuaire::import::run`, then the resources read back
//! from the generation it made current.
//!
//! Inputs start from the synthetic rows of docs/formats.md §3.5 and docs/formats.md §4.4
//! (tests/fixtures/extract/), changed column by column by header name.

mod common;

use std::path::PathBuf;

use annuaire::fhir::ResourceType;
use annuaire::generation::{DataDir, Generation};
use annuaire::import::{ImportError, ImportSummary};
use serde_json::{Value, json};
use tempfile::TempDir;

use common::role_id;
use common::synthetic::{
    self, CLAIRE, FINESS_FILE, GOLDEN_EG, GOLDEN_PRACTITIONER, GOLDEN_ROLE_CABINET,
    GOLDEN_ROLE_HOSPITAL, GOLDEN_ST, RPPS_FILE,
};

const FR_CORE_PRACTITIONER: &str =
    "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-practitioner|2.2.0";
const AS_DP_PRACTITIONER: &str = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-practitioner|1.2.0-snapshot-2";
const IDENTIFIER_TYPES: &str = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203";
const ADXP: &str = "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-";
const INSEE_EXT: &str =
    "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code";
const ORGANIZATION_PERIOD: &str = "http://hl7.org/fhir/StructureDefinition/organization-period";

const CABINET_SE: &str = "SE/819990000017/C19990000017001/FON-01/L/GENR01/";
const HOSPITAL_SE: &str = "SE/819990000017/F219990001/FON-05/S/GENR01/";

// ---------------------------------------------------------------------------------------------
// RPPS lines
// ---------------------------------------------------------------------------------------------

/// The 56-column header, with its trailing `|`.
fn header() -> &'static str {
    RPPS_FILE.lines().next().unwrap()
}

fn column_names() -> Vec<&'static str> {
    let names: Vec<&str> = header().strip_suffix('|').unwrap().split('|').collect();
    assert_eq!(names.len(), 56);
    names
}

/// docs/formats.md §3.5 row `n`: 1 Claire cabinet, 2 Claire hospital (FINESS 219990001), 3 infirmière,
/// 4 pharmacien section A (FINESS 139990001), 5 ADELI orthophoniste without activity.
fn row(n: usize) -> String {
    RPPS_FILE.lines().nth(n).unwrap().to_owned()
}

/// `line` with the column named `column` set to `value`.
fn set(line: &str, column: &str, value: &str) -> String {
    let index = column_names()
        .iter()
        .position(|c| *c == column)
        .unwrap_or_else(|| panic!("no column {column}"));
    let mut fields: Vec<&str> = line.split('|').collect();
    assert_eq!(fields.len(), 57, "56 fields + trailing");
    fields[index] = value;
    fields.join("|")
}

fn set_all(line: &str, changes: &[(&str, &str)]) -> String {
    changes
        .iter()
        .fold(line.to_owned(), |line, (column, value)| {
            set(&line, column, value)
        })
}

fn rpps_file(rows: &[String]) -> String {
    let mut text = format!("{}\n", header());
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

/// An RPPS file whose only person has no activity (for FINESS-centred tests).
fn rpps_without_structures() -> String {
    rpps_file(&[row(5)])
}

// ---------------------------------------------------------------------------------------------
// FINESS lines
// ---------------------------------------------------------------------------------------------

fn finess_lines() -> Vec<&'static str> {
    FINESS_FILE.lines().collect()
}

const MANIFEST: &str = "finess;etalab;99;2026-01-15";

/// docs/formats.md §4.4 `structureet` of CH IMAGINAIRE (219990001): no quoted field.
fn ch_line() -> String {
    finess_lines()[1].to_owned()
}

/// `line` (unquoted: split on every `;`) with fields `index` (0-based, docs/formats.md §4.2) set to
/// `value` (which may be quoted).
fn set_fields(line: &str, changes: &[(usize, &str)]) -> String {
    let mut fields: Vec<&str> = line.split(';').collect();
    assert_eq!(fields.len(), 32);
    for (index, value) in changes {
        fields[*index] = value;
    }
    fields.join(";")
}

/// A FINESS file holding only the CH (two organizations: the establishment and its legal-entity
/// stub), for tests about RPPS rows: an import refuses a FINESS file without establishments.
fn finess_with_the_ch_only() -> String {
    finess_file(&[ch_line()])
}

fn finess_file(lines: &[String]) -> String {
    let mut text = format!("{MANIFEST}\n");
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Import and read back
// ---------------------------------------------------------------------------------------------

struct Imported {
    _tmp: TempDir,
    data: PathBuf,
    summary: ImportSummary,
}

fn try_import(
    rpps: &[u8],
    finess: &[u8],
) -> (TempDir, PathBuf, Result<ImportSummary, ImportError>) {
    let tmp = tempfile::tempdir().unwrap();
    let options = synthetic::import_options(tmp.path(), rpps, finess, Default::default());
    let result = annuaire::import::run(&options);
    (tmp, options.data, result)
}

fn import(rpps: impl AsRef<[u8]>, finess: impl AsRef<[u8]>) -> Imported {
    let (tmp, data, result) = try_import(rpps.as_ref(), finess.as_ref());
    Imported {
        _tmp: tmp,
        data,
        summary: result.expect("import succeeds"),
    }
}

/// The current generation, opened read-only. Drop it before opening another handle on the same
/// data directory (sled allows one per process).
struct Store {
    generation: Generation,
}

impl Imported {
    fn open(&self) -> Store {
        let (name, generation) = synthetic::open_generation(&self.data);
        assert_eq!(name, "gen-000001");
        Store { generation }
    }
}

impl Store {
    fn get(&self, rtype: ResourceType, id: &str) -> Option<Value> {
        synthetic::read_json(&self.generation, rtype, id)
    }

    fn must(&self, rtype: ResourceType, id: &str) -> Value {
        self.get(rtype, id)
            .unwrap_or_else(|| panic!("{rtype}/{id} is stored"))
    }

    fn raw(&self, rtype: ResourceType, id: &str) -> String {
        String::from_utf8(
            self.generation
                .read(rtype, id)
                .unwrap()
                .expect("stored")
                .to_json(),
        )
        .unwrap()
    }

    fn practitioner(&self, id: &str) -> Value {
        self.must(ResourceType::Practitioner, id)
    }

    fn role(&self, identifier_value: &str) -> Value {
        self.must(ResourceType::PractitionerRole, &role_id(identifier_value))
    }

    fn organization(&self, id: &str) -> Value {
        self.must(ResourceType::Organization, id)
    }

    fn has_organization(&self, id: &str) -> bool {
        self.get(ResourceType::Organization, id).is_some()
    }

    fn geolocation(&self, organization_id: &str) -> Option<Value> {
        Generation::geolocation(&self.generation, organization_id)
            .unwrap()
            .map(|bytes| serde_json::from_slice(&bytes).unwrap())
    }
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// `{type code: value}` of a resource's identifiers, in order.
fn identifiers(resource: &Value) -> Vec<(String, String)> {
    resource["identifier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["type"]["coding"][0]["code"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
                i["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

fn data_trace(resource: &Value, part: &str) -> Value {
    resource["meta"]["extension"][0]["extension"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["url"] == part)
        .cloned()
        .unwrap_or(Value::Null)
}

fn qualification_codes(practitioner: &Value) -> Vec<Vec<String>> {
    practitioner["qualification"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            q["code"]["coding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["code"].as_str().unwrap().to_owned())
                .collect()
        })
        .collect()
}

fn adxp(part: &str, value: &str) -> Value {
    json!({"url": format!("{ADXP}{part}"), "valueString": value})
}

fn insee(code: &str) -> Value {
    json!([{"url": INSEE_EXT, "valueCoding": {
        "system": "https://mos.esante.gouv.fr/NOS/TRE_R13-Commune/FHIR/TRE-R13-Commune",
        "code": code}}])
}

// =============================================================================================
// docs/formats.md §3.6
// =============================================================================================

/// §7.1: columns located by header name; the 48- (~2018) and 52-column (~2021) generations
/// import, with or without the trailing empty field.
#[test]
fn rpps_01_older_48_and_52_column_headers_import() {
    let names = column_names();
    for (count, trailing) in [(48, false), (52, true)] {
        let end = if trailing { "|" } else { "" };
        let head = format!("{}{end}", names[..count].join("|"));
        let truncate = |line: String| {
            let fields: Vec<&str> = line.split('|').take(count).collect();
            format!("{}{end}", fields.join("|"))
        };
        let text = format!("{head}\n{}\n{}\n", truncate(row(1)), truncate(row(2)));
        let imported = import(text, FINESS_FILE);
        let summary = &imported.summary;
        assert_eq!(summary.rpps_rows_read, 2, "{count} columns");
        assert_eq!(summary.rows_skipped, 0, "{count} columns");
        assert_eq!(summary.resources.practitioner, 1);
        assert_eq!(summary.resources.practitioner_role, 2);
        let store = imported.open();
        // Person columns are all within the first 48: same Practitioner as §10.
        assert_eq!(
            store.practitioner(CLAIRE),
            parse(GOLDEN_PRACTITIONER),
            "{count}"
        );
        // No rôle / genre columns yet: the situation key has them empty.
        let cabinet = store.role("SE/819990000017/C19990000017001//L//");
        assert_eq!(
            cabinet["code"],
            json!([{"coding": [{
                "system": "https://mos.esante.gouv.fr/NOS/TRE_R23-ModeExercice/FHIR/TRE-R23-ModeExercice",
                "code": "L", "display": "Libéral"}]}])
        );
        assert_eq!(
            cabinet["organization"]["reference"],
            "Organization/st-C19990000017001"
        );
        let hospital = store.role("SE/819990000017/F219990001//S//");
        assert_eq!(
            hospital["organization"]["reference"],
            "Organization/eg-219990001"
        );
        let st = store.organization("st-C19990000017001");
        let types: Vec<&str> = st["type"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["coding"][0]["code"].as_str().unwrap())
            .collect();
        if count == 48 {
            assert_eq!(types, ["GEOGRAPHICAL-ENTITY"], "no secteur column in 2018");
        } else {
            assert_eq!(types, ["GEOGRAPHICAL-ENTITY", "SA07"]);
        }
    }
}

/// §7.1: the same file with its columns in reverse order gives the same resources.
#[test]
fn rpps_01_columns_are_found_by_name_in_any_order() {
    let reverse = |line: &str| {
        let mut fields: Vec<&str> = line.strip_suffix('|').unwrap().split('|').collect();
        fields.reverse();
        format!("{}|", fields.join("|"))
    };
    let text = format!(
        "{}\n{}\n{}\n",
        reverse(header()),
        reverse(&row(1)),
        reverse(&row(2))
    );
    let imported = import(text, FINESS_FILE);
    assert_eq!(imported.summary.rows_skipped, 0);
    let store = imported.open();
    assert_eq!(store.practitioner(CLAIRE), parse(GOLDEN_PRACTITIONER));
    assert_eq!(store.role(CABINET_SE), parse(GOLDEN_ROLE_CABINET));
    assert_eq!(store.role(HOSPITAL_SE), parse(GOLDEN_ROLE_HOSPITAL));
    assert_eq!(store.organization("st-C19990000017001"), parse(GOLDEN_ST));
    assert_eq!(store.organization("eg-219990001"), parse(GOLDEN_EG));
}

/// §7.1 and docs/formats.md §2: CRLF line ends and a UTF-8 byte-order mark (re-published copies) are
/// accepted; blank lines are ignored.
#[test]
fn rpps_01_crlf_line_ends_and_byte_order_mark() {
    let text = format!("\u{feff}{}\r\n{}\r\n\r\n{}\r\n", header(), row(1), row(2));
    let imported = import(text, FINESS_FILE);
    assert_eq!(imported.summary.rpps_rows_read, 2);
    assert_eq!(imported.summary.rows_skipped, 0);
    let store = imported.open();
    assert_eq!(store.practitioner(CLAIRE), parse(GOLDEN_PRACTITIONER));
    assert_eq!(store.role(CABINET_SE), parse(GOLDEN_ROLE_CABINET));
    assert_eq!(store.role(HOSPITAL_SE), parse(GOLDEN_ROLE_HOSPITAL));
}

/// §7.2: no quoting; `"` and `'` are literal, even unbalanced.
#[test]
fn rpps_02_quotes_and_apostrophes_are_literal() {
    let line = set_all(
        &row(1),
        &[
            ("Nom d'exercice", "\"O'NEIL"),
            ("Prénom d'exercice", "Jean \"Jo\""),
            ("Raison sociale site", "CABINET \"L'ESPOIR"),
            ("Enseigne commerciale site", "L'ENSEIGNE\""),
        ],
    );
    let imported = import(rpps_file(&[line, row(4)]), FINESS_FILE);
    assert_eq!(imported.summary.rows_skipped, 0);
    assert_eq!(imported.summary.resources.practitioner, 2);
    let store = imported.open();
    let name = &store.practitioner(CLAIRE)["name"][0];
    assert_eq!(name["family"], "\"O'NEIL");
    assert_eq!(name["given"], json!(["Jean \"Jo\""]));
    let st = store.organization("st-C19990000017001");
    assert_eq!(st["name"], "CABINET \"L'ESPOIR");
    assert_eq!(st["alias"], json!(["L'ENSEIGNE\""]));
    // The fields after the quotes are where they belong.
    assert_eq!(
        st["telecom"],
        json!([{"system": "phone", "value": "0380000001", "rank": 1}])
    );
    assert_eq!(
        store.practitioner("pp-819990000033-21")["name"][0]["family"],
        "O'NEIL"
    );
}

/// §7.3: empty fields; `Code civilité` empty; `Code commune`, `Libellé commune`, `Code postal`
/// and `Code Département` empty while `Bureau cedex` holds `CP VILLE`.
#[test]
fn rpps_03_empty_fields_and_routing_line_only() {
    let nurse = set_all(
        &row(3),
        &[
            ("Bureau cedex (coord. structure)", "75015 PARIS"),
            ("Code postal (coord. structure)", ""),
            ("Code commune (coord. structure)", ""),
            ("Libellé commune (coord. structure)", ""),
            ("Code Département (structure)", ""),
        ],
    );
    let imported = import(rpps_file(&[nurse, row(1), row(5)]), FINESS_FILE);
    let summary = &imported.summary;
    assert_eq!(summary.rows_skipped, 0);
    assert_eq!(summary.resources.practitioner, 3);
    assert_eq!(
        summary.resources.practitioner_role, 2,
        "row 5 has no activity"
    );
    let store = imported.open();
    assert_eq!(
        store.organization("st-C19990000025001")["address"],
        json!([{
            "line": ["7 BD D'EXEMPLE"],
            "_line": [{"extension": [
                adxp("houseNumber", "7"),
                adxp("streetNameType", "BD"),
                adxp("streetNameBase", "D'EXEMPLE")]}],
            "city": "PARIS",
            "postalCode": "75015"
        }])
    );
    // Empty Code civilité d'exercice -> no suffix; empty Code civilité -> no prefix.
    assert_eq!(
        store.practitioner("pp-819990000025-60")["name"],
        json!([{"use": "usual", "family": "LEFOUR-DUVAL", "given": ["Aïcha"], "prefix": ["MME"]}])
    );
    assert_eq!(
        store.practitioner(CLAIRE)["name"],
        json!([{"use": "usual", "family": "MARTINOT", "given": ["Claire"], "suffix": ["DR"]}])
    );
    // The person without activity: a Practitioner, no role, no structure.
    let vernier = store.practitioner("pp-0759999991-91");
    assert_eq!(vernier["name"][0]["family"], "VERNIER");
}

/// §7.4: a person's rows scattered through the file (lines 2 and 50) make one Practitioner
/// with both roles; an exact duplicate collapses (and is counted); a row differing only by
/// savoir-faire adds a qualification, not a role.
#[test]
fn rpps_04_same_person_on_many_rows_and_duplicates() {
    let mut rows = vec![row(1)]; // line 2
    for n in 0..47 {
        // lines 3..=49: other persons, each with their own cabinet
        rows.push(row(3).replace("19990000025", &format!("1999{:07}", 100 + n)));
    }
    rows.push(row(2)); // line 50
    rows.push(row(1)); // line 51: exact duplicate of line 2
    rows.push(set_all(
        &row(1),
        &[
            ("Code type savoir-faire", "CAPA"),
            ("Libellé type savoir-faire", "Capacité"),
            ("Code savoir-faire", "CAP13"),
            ("Libellé savoir-faire", "Capacité de gérontologie"),
        ],
    )); // line 52
    let finess = finess_file(&[ch_line()]);
    let imported = import(rpps_file(&rows), finess);
    let summary = &imported.summary;
    assert_eq!(summary.rpps_rows_read, 51);
    assert_eq!(summary.rows_skipped, 0);
    assert_eq!(summary.duplicate_rows_collapsed, 1);
    assert_eq!(summary.resources.practitioner, 1 + 47);
    assert_eq!(summary.resources.practitioner_role, 2 + 47);
    // 47 cabinets + Claire's cabinet + eg-219990001 + ej-219990002.
    assert_eq!(summary.resources.organization, 47 + 3);
    let store = imported.open();
    let claire = store.practitioner(CLAIRE);
    assert_eq!(
        qualification_codes(&claire),
        [vec!["10", "C"], vec!["SM54", "S"], vec!["CAP13", "CAPA"]]
    );
    for se in [CABINET_SE, HOSPITAL_SE] {
        let role = store.role(se);
        assert_eq!(
            role["practitioner"]["reference"],
            format!("Practitioner/{CLAIRE}")
        );
        assert_eq!(role["identifier"][0]["value"], se);
    }
    assert_eq!(store.role(HOSPITAL_SE), parse(GOLDEN_ROLE_HOSPITAL));
    let other = store.practitioner("pp-819990000146-60");
    assert_eq!(other["identifier"][1]["value"], "19990000146");
}

/// §7.5: identifiers are strings with their leading zeros; ADELI numbers may hold `2A`/`2B`.
#[test]
fn rpps_05_identifiers_keep_leading_zeros_and_corsica() {
    let adeli = set_all(
        &row(5),
        &[
            ("Identifiant PP", "012600631"),
            ("Identification nationale PP", "0012600631"),
        ],
    );
    let corsica = set_all(
        &row(3),
        &[
            ("Type d'identifiant PP", "0"),
            ("Identifiant PP", "2A1234567"),
            ("Identification nationale PP", "02A1234567"),
            ("Identifiant technique de la structure", "C0012345678901"),
            ("Numéro SIRET site", "01234567800012"),
            ("Numéro SIREN site", "012345678"),
            ("Ancien identifiant de la structure", "075912415900"),
            ("Bureau cedex (coord. structure)", "20000 AJACCIO"),
            ("Code postal (coord. structure)", "20000"),
            ("Code commune (coord. structure)", "2A004"),
            ("Libellé commune (coord. structure)", "Ajaccio"),
        ],
    );
    let imported = import(rpps_file(&[adeli, corsica]), FINESS_FILE);
    assert_eq!(imported.summary.rows_skipped, 0);
    let store = imported.open();
    assert_eq!(
        identifiers(&store.practitioner("pp-0012600631-91")),
        pairs(&[("IDNPS", "0012600631"), ("ADELI", "012600631")])
    );
    assert_eq!(
        identifiers(&store.practitioner("pp-02A1234567-60")),
        pairs(&[("IDNPS", "02A1234567"), ("ADELI", "2A1234567")])
    );
    let se = "SE/02A1234567/C0012345678901/FON-01/L/GENR01/";
    let role = store.role(se);
    assert_eq!(
        role["practitioner"]["reference"],
        "Practitioner/pp-02A1234567-60"
    );
    assert_eq!(
        role["organization"]["reference"],
        "Organization/st-C0012345678901"
    );
    let st = store.organization("st-C0012345678901");
    let mut ids = identifiers(&st);
    ids.sort();
    assert_eq!(
        ids,
        pairs(&[
            ("IDNST", "075912415900"),
            ("RPPSRG", "C0012345678901"),
            ("SIREN", "012345678"),
            ("SIRET", "01234567800012"),
        ])
    );
    let address = &st["address"][0];
    assert_eq!(address["extension"], insee("2A004"));
    assert_eq!(
        address["district"], "2A",
        "A19: from the COG when #45 is empty"
    );
    assert_eq!(address["postalCode"], "20000");
    assert_eq!(address["city"], "AJACCIO");
}

/// §7.6: labels change between rows and files; a coding's display is the first label the files
/// give its code (A23), never its own row's, so rows of one person that differ only by labels
/// make exactly the resources of one row.
#[test]
fn rpps_06_labels_differing_between_rows_create_nothing() {
    let relabelled = set_all(
        &row(1),
        &[
            ("Libellé civilité d'exercice", "Dr"),
            ("Libellé profession", "Médecin généraliste"),
            ("Libellé catégorie professionnelle", "Civil(e)"),
            (
                "Libellé type savoir-faire",
                "Spécialité ordinale (médecins)",
            ),
            ("Libellé savoir-faire", "Spécialiste en Médecine Générale"),
            (
                "Libellé mode exercice",
                "Libéral, indépendant, artisan, commerçant",
            ),
            ("Libellé type de voie (coord. structure)", "RUE"),
            ("Libellé commune (coord. structure)", "DIJON"),
            (
                "Libellé secteur d'activité",
                "Cabinet individuel de médecin",
            ),
            ("Libellé rôle", "Titulaire"),
            ("Libellé genre activité", "Soins"),
        ],
    );
    let imported = import(rpps_file(&[row(1), relabelled]), finess_with_the_ch_only());
    let summary = &imported.summary;
    assert_eq!(summary.rows_skipped, 0);
    assert_eq!(summary.duplicate_rows_collapsed, 0, "the rows differ");
    assert_eq!(summary.resources.practitioner, 1);
    assert_eq!(summary.resources.practitioner_role, 1);
    assert_eq!(
        summary.resources.organization,
        1 + 2,
        "one cabinet, the CH and its stub"
    );
    let store = imported.open();
    assert_eq!(store.practitioner(CLAIRE), parse(GOLDEN_PRACTITIONER));
    assert_eq!(store.role(CABINET_SE), parse(GOLDEN_ROLE_CABINET));
    assert_eq!(store.organization("st-C19990000017001"), parse(GOLDEN_ST));
    for (rtype, id) in [
        (ResourceType::Practitioner, CLAIRE.to_owned()),
        (ResourceType::PractitionerRole, role_id(CABINET_SE)),
        (ResourceType::Organization, "st-C19990000017001".to_owned()),
    ] {
        let raw = store.raw(rtype, &id);
        // The second row's labels, as whole JSON strings: none is a display.
        for label in [
            "Médecin généraliste",
            "Civil(e)",
            "Spécialiste en Médecine Générale",
            "Libéral, indépendant, artisan, commerçant",
            "Cabinet individuel de médecin",
            "Titulaire",
            "Soins",
        ] {
            let quoted = format!("\"{label}\"");
            assert!(
                !raw.contains(&quoted),
                "{rtype}/{id} holds the second row's label {label}"
            );
        }
    }
}

/// §7.7: foreign address: `Code pays` 99xxx, non-numeric `Code postal`.
#[test]
fn rpps_07_foreign_address() {
    let line = set_all(
        &row(1),
        &[
            ("Bureau cedex (coord. structure)", ""),
            ("Code postal (coord. structure)", "GL"),
            ("Code commune (coord. structure)", ""),
            ("Libellé commune (coord. structure)", "GLOUCESTER"),
            ("Code pays (coord. structure)", "99132"),
            ("Libellé pays (coord. structure)", "Royaume-Uni"),
        ],
    );
    let imported = import(rpps_file(&[line]), FINESS_FILE);
    assert_eq!(imported.summary.rows_skipped, 0);
    let store = imported.open();
    assert_eq!(
        store.organization("st-C19990000017001")["address"],
        json!([{
            "line": ["12 R DES TILLEULS FICTIFS"],
            "_line": [{"extension": [
                adxp("houseNumber", "12"),
                adxp("streetNameType", "R"),
                adxp("streetNameBase", "DES TILLEULS FICTIFS")]}],
            "city": "GLOUCESTER",
            "postalCode": "GL",
            "country": "99132"
        }])
    );
}

/// §7.8: ADELI -> RPPS: the same human under an ADELI and an RPPS national id stays two
/// Practitioners (no mapping column); the ADELI one claims fr-core only (A14).
#[test]
fn rpps_08_adeli_and_rpps_ids_of_one_human_stay_apart() {
    let as_adeli = set_all(
        &row(3),
        &[
            ("Type d'identifiant PP", "0"),
            ("Identifiant PP", "690001234"),
            ("Identification nationale PP", "0690001234"),
        ],
    );
    let imported = import(rpps_file(&[as_adeli, row(3)]), finess_with_the_ch_only());
    let summary = &imported.summary;
    assert_eq!(summary.resources.practitioner, 2);
    assert_eq!(summary.resources.practitioner_role, 2);
    assert_eq!(
        summary.resources.organization,
        1 + 2,
        "one shared cabinet, the CH and its stub"
    );
    let store = imported.open();
    let adeli = store.practitioner("pp-0690001234-60");
    let rpps = store.practitioner("pp-819990000025-60");
    assert_eq!(adeli["meta"]["profile"], json!([FR_CORE_PRACTITIONER]));
    assert_eq!(
        rpps["meta"]["profile"],
        json!([FR_CORE_PRACTITIONER, AS_DP_PRACTITIONER])
    );
    assert_eq!(
        identifiers(&adeli),
        pairs(&[("IDNPS", "0690001234"), ("ADELI", "690001234")])
    );
    assert_eq!(
        identifiers(&rpps),
        pairs(&[("IDNPS", "819990000025"), ("RPPS", "19990000025")])
    );
    for p in [&adeli, &rpps] {
        for identifier in p["identifier"].as_array().unwrap() {
            assert_eq!(identifier["type"]["coding"][0]["system"], IDENTIFIER_TYPES);
            assert_eq!(identifier["use"], "official");
        }
    }
    assert_eq!(adeli["name"], rpps["name"]);
    let adeli_role = store.role("SE/0690001234/C19990000025001/FON-01/L/GENR01/");
    let rpps_role = store.role("SE/819990000025/C19990000025001/FON-01/L/GENR01/");
    assert_eq!(
        adeli_role["practitioner"]["reference"],
        "Practitioner/pp-0690001234-60"
    );
    assert_eq!(
        rpps_role["practitioner"]["reference"],
        "Practitioner/pp-819990000025-60"
    );
}

/// §7.9: a Windows-1252 file imports with its accents; a line that is neither UTF-8 nor
/// Windows-1252 (byte 0x81) is skipped and counted.
#[test]
fn rpps_09_windows_1252_file_and_undecodable_line() {
    let text = rpps_file(&[row(3), row(1)]);
    let (encoded, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!unmappable);
    let mut bytes = encoded.into_owned();
    let pharmacist = row(4).replace("O'NEIL", "O#NEIL");
    let mut bad = encoding_rs::WINDOWS_1252.encode(&pharmacist).0.into_owned();
    let hash = bad.iter().position(|b| *b == b'#').unwrap();
    bad[hash] = 0x81;
    bytes.extend_from_slice(&bad);
    bytes.push(b'\n');
    assert!(std::str::from_utf8(&bytes).is_err());

    let imported = import(bytes, FINESS_FILE);
    let summary = &imported.summary;
    assert_eq!(summary.rpps_rows_read, 3);
    assert_eq!(summary.rows_skipped, 1, "the 0x81 line");
    assert_eq!(summary.windows_1252_lines, 2, "rows 3 and 1 have accents");
    assert_eq!(summary.resources.practitioner, 2);
    let store = imported.open();
    assert_eq!(
        store.practitioner("pp-819990000025-60")["name"][0]["given"],
        json!(["Aïcha"])
    );
    // The header's accented names were decoded too: `Code civilité d'exercice` -> suffix.
    assert_eq!(store.practitioner(CLAIRE), parse(GOLDEN_PRACTITIONER));
    assert!(
        store
            .get(ResourceType::Practitioner, "pp-819990000033-21")
            .is_none()
    );
}

// =============================================================================================
// docs/formats.md §4.9 items 1–9
// =============================================================================================

/// §8.1: line 1 is a manifest; a file without it is not a FINESS extraction and the import
/// fails before making anything current.
#[test]
fn finess_01_manifest_missing_is_not_a_finess_file() {
    let without_manifest: String = FINESS_FILE
        .lines()
        .skip(1)
        .map(|l| format!("{l}\n"))
        .collect();
    let rpps = rpps_file(&[row(1)]);
    for finess in [without_manifest.as_str(), RPPS_FILE] {
        let (_tmp, data, result) = try_import(rpps.as_bytes(), finess.as_bytes());
        let error = result.expect_err("not a FINESS file").to_string();
        assert!(error.contains("is not a FINESS"), "{error}");
        assert!(error.contains("manifest"), "{error}");
        let dir = DataDir::create(&data).unwrap();
        assert_eq!(dir.current().unwrap(), None, "nothing made current");
    }
}

/// A FINESS file holding its manifest and no establishment is a cut download: refused, nothing
/// made current.
#[test]
fn finess_01_a_file_without_establishments_is_refused() {
    let rpps = rpps_file(&[row(1)]);
    let (_tmp, data, result) = try_import(rpps.as_bytes(), finess_file(&[]).as_bytes());
    let error = result.expect_err("an empty FINESS file").to_string();
    assert!(error.contains("holds no establishment"), "{error}");
    let dir = DataDir::create(&data).unwrap();
    assert_eq!(dir.current().unwrap(), None, "nothing made current");
}

/// §8.1: the manifest is read as such (whatever its count), never as a header or a record.
#[test]
fn finess_01_manifest_line_is_not_a_record() {
    let text = FINESS_FILE.replacen(MANIFEST, "finess;etalab;111;2026-05-12", 1);
    let imported = import(rpps_without_structures(), text);
    let summary = &imported.summary;
    assert_eq!(summary.finess_records_read, 6);
    assert_eq!(summary.rows_skipped, 0);
    // eg-219990001, eg-139990001, eg-9D9990001 and their three legal-entity stubs.
    assert_eq!(summary.resources.organization, 6);
    let store = imported.open();
    assert!(store.has_organization("eg-219990001"));
}

/// §8.2: two record types of different arities in one file, joined on nofinesset whatever
/// their order; a malformed record is skipped and counted.
#[test]
fn finess_02_two_record_types_joined_on_nofinesset() {
    let lines = finess_lines();
    let mut records: Vec<String> = lines[4..].iter().map(|l| l.to_string()).collect(); // geo first
    records
        .push("geolocalisation;219999999;1.0;2.0;1,ATLASANTE,100,BAN,LAMBERT_93;2025-11-04".into());
    records.extend(lines[1..4].iter().map(|l| l.to_string()));
    records.push("structureet;1;2;3".into());
    let imported = import(rpps_without_structures(), finess_file(&records));
    let summary = &imported.summary;
    assert_eq!(summary.finess_records_read, 8);
    assert_eq!(summary.rows_skipped, 1, "the 4-field structureet");
    assert_eq!(summary.resources.organization, 6);
    let store = imported.open();
    assert_eq!(
        store.geolocation("eg-219990001"),
        Some(json!({
            "x": 854000.5, "y": 6692000.2, "crs": "LAMBERT_93",
            "source": "1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93", "date": "2025-11-04"
        }))
    );
    assert_eq!(
        store.geolocation("eg-139990001").unwrap()["crs"],
        "L93_METROPOLE"
    );
    assert_eq!(
        store.geolocation("eg-219999999"),
        None,
        "no such establishment"
    );
    assert!(!store.has_organization("eg-219999999"));
    // Coordinates are kept beside the Organization, not in it (no Location in the DP profiles).
    assert!(
        !store
            .raw(ResourceType::Organization, "eg-219990001")
            .contains("854000")
    );
}

/// §8.3: quote-aware parsing: `;` and doubled `""` inside quoted values.
#[test]
fn finess_03_quoted_values() {
    let ch = set_fields(
        &ch_line(),
        &[
            (3, "\"CLINIQUE \"\"LA SOURCE\"\"; SITE NORD\""),
            (4, "\"CENTRE \"\"A;B\"\"\""),
        ],
    );
    let overseas = finess_lines()[3].to_owned();
    let imported = import(rpps_without_structures(), finess_file(&[ch, overseas]));
    assert_eq!(imported.summary.rows_skipped, 0);
    let store = imported.open();
    let eg = store.organization("eg-219990001");
    assert_eq!(eg["name"], "CLINIQUE \"LA SOURCE\"; SITE NORD");
    assert_eq!(eg["alias"], json!(["CENTRE \"A;B\""]));
    // The fields after them did not move.
    assert_eq!(eg["address"][0]["postalCode"], "21079");
    assert_eq!(eg["type"][1]["coding"][0]["code"], "355");
    assert_eq!(eg["partOf"]["reference"], "Organization/ej-219990002");
    assert_eq!(
        store.organization("eg-9D9990001")["name"],
        "EHPAD \"LES FILAOS FICTIFS\""
    );
}

/// §8.4: an older Windows-1252 FINESS file imports with its accents.
#[test]
fn finess_04_windows_1252_file() {
    let text = FINESS_FILE.replace("CH IMAGINAIRE;", "CLINIQUE DES ÉRABLES;");
    let (encoded, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&encoded).is_err());
    let imported = import(rpps_without_structures(), encoded.as_ref());
    let summary = &imported.summary;
    assert_eq!(summary.rows_skipped, 0);
    // Records with non-ASCII text: CH (É, établissements) and the EHPAD (hébergement).
    assert_eq!(summary.windows_1252_lines, 2);
    let store = imported.open();
    assert_eq!(
        store.organization("eg-219990001")["name"],
        "CLINIQUE DES ÉRABLES"
    );
    assert_eq!(
        store.organization("eg-219990001")["alias"],
        json!(["CENTRE HOSPITALIER IMAGINAIRE DE DIJON"])
    );
}

/// §8.5: department codes `2A`/`2B` and overseas `9A…9J`; the commune is relative to it.
#[test]
fn finess_05_corsican_and_overseas_departments() {
    let corsica = |id: &str, commune: &str, dept: &str, routing: &str| {
        set_fields(
            &ch_line(),
            &[(1, id), (12, commune), (13, dept), (15, routing)],
        )
    };
    let lines = vec![
        corsica("2A0000123", "004", "2A", "20000 AJACCIO"),
        corsica("2B0000125", "033", "2B", "20200 BASTIA"),
        corsica("9J0000126", "613", "9J", "98600 MATA UTU"),
        finess_lines()[3].to_owned(), // 9D + 411
    ];
    let imported = import(rpps_without_structures(), finess_file(&lines));
    assert_eq!(imported.summary.rows_skipped, 0);
    let store = imported.open();
    for (id, cog, district, postal, city) in [
        ("eg-2A0000123", "2A004", "2A", "20000", "AJACCIO"),
        ("eg-2B0000125", "2B033", "2B", "20200", "BASTIA"),
        ("eg-9J0000126", "98613", "986", "98600", "MATA UTU"),
        ("eg-9D9990001", "97411", "974", "97400", "ST DENIS"),
    ] {
        let address = &store.organization(id)["address"][0];
        assert_eq!(address["extension"], insee(cog), "{id}");
        assert_eq!(address["district"], district, "{id}");
        assert_eq!(address["postalCode"], postal, "{id}");
        assert_eq!(address["city"], city, "{id}");
    }
}

/// §8.6: overseas coordinates are UTM, kept as given with their zone (not Lambert 93).
#[test]
fn finess_06_overseas_utm_coordinates_are_stored_with_their_zone() {
    let guyane = set_fields(
        &ch_line(),
        &[
            (1, "9C9990003"),
            (12, "302"),
            (13, "9C"),
            (15, "97300 CAYENNE"),
        ],
    );
    let mut lines: Vec<String> = finess_lines()[1..].iter().map(|l| l.to_string()).collect();
    lines.push(guyane);
    lines.push(
        "geolocalisation;9C9990003;353000.4;546000.6;1,ATLASANTE,95,BAN,UTM_N22;2025-11-05".into(),
    );
    let imported = import(rpps_without_structures(), finess_file(&lines));
    assert_eq!(imported.summary.rows_skipped, 0);
    let store = imported.open();
    assert_eq!(
        store.geolocation("eg-9D9990001"),
        Some(json!({
            "x": 338500.0, "y": 7690500.0, "crs": "UTM_S40",
            "source": "1,ATLASANTE,90,BAN,UTM_S40", "date": "2025-11-04"
        }))
    );
    assert_eq!(
        store.geolocation("eg-9C9990003"),
        Some(json!({
            "x": 353000.4, "y": 546000.6, "crs": "UTM_N22",
            "source": "1,ATLASANTE,95,BAN,UTM_N22", "date": "2025-11-05"
        }))
    );
    assert_eq!(
        store.geolocation("eg-219990001").unwrap()["crs"],
        "LAMBERT_93"
    );
}

/// §8.7: old extracts: 31 fields (no numuai), phone numbers without their leading 0, SIRET in
/// scientific notation, dd/mm/yyyy dates.
#[test]
fn finess_07_old_extracts() {
    let old = set_fields(
        &ch_line(),
        &[
            (16, "380000002"),
            (17, "380000009"),
            (22, "2,601E+13"),
            (28, "01/01/1975"),
            (29, "01/01/1975"),
            (30, "03/11/2025"),
        ],
    );
    let old = old.strip_suffix(';').unwrap().to_owned(); // 31 fields
    assert_eq!(old.split(';').count(), 31);
    let imported = import(rpps_without_structures(), finess_file(&[old]));
    let summary = &imported.summary;
    assert_eq!(summary.rows_skipped, 0);
    assert_eq!(summary.resources.organization, 2, "eg + ej stub");
    let store = imported.open();
    let eg = store.organization("eg-219990001");
    assert_eq!(
        eg["telecom"],
        json!([{"system": "phone", "value": "0380000002", "rank": 1},
               {"system": "fax", "value": "0380000009"}])
    );
    assert_eq!(
        identifiers(&eg),
        pairs(&[("IDNST", "1219990001"), ("FINEG", "219990001")]),
        "no SIRET from 2,601E+13"
    );
    assert_eq!(
        eg["extension"][0],
        json!({"url": ORGANIZATION_PERIOD, "valuePeriod": {"start": "1975-01-01"}})
    );
    assert_eq!(
        data_trace(&eg, "date-maj-ae"),
        json!({"url": "date-maj-ae", "valueDate": "2025-11-03"})
    );
    // Everything else is the §10 establishment without its RPPS and SIRET parts.
    let mut expected = parse(GOLDEN_EG);
    expected["identifier"].as_array_mut().unwrap().retain(|i| {
        !matches!(
            i["type"]["coding"][0]["code"].as_str(),
            Some("SIRET" | "RPPSRG")
        )
    });
    expected["type"]
        .as_array_mut()
        .unwrap()
        .retain(|t| t["extension"][0]["valueCode"] != "secteurActiviteRASS");
    assert_eq!(eg, expected);
}

/// §8.8: FINESS ids are strings: `2A…` and leading zeros are kept in ids and identifiers.
#[test]
fn finess_08_ids_are_strings() {
    let lines = vec![
        set_fields(
            &ch_line(),
            &[(1, "2A0000123"), (2, "2A0000124"), (13, "2A"), (12, "004")],
        ),
        set_fields(
            &ch_line(),
            &[(1, "010000123"), (2, "010000124"), (13, "01"), (12, "451")],
        ),
    ];
    let imported = import(rpps_without_structures(), finess_file(&lines));
    assert_eq!(imported.summary.resources.organization, 4);
    let store = imported.open();
    for (eg, ej) in [("2A0000123", "2A0000124"), ("010000123", "010000124")] {
        let site = store.organization(&format!("eg-{eg}"));
        assert_eq!(
            identifiers(&site)[..2],
            pairs(&[("IDNST", &format!("1{eg}")), ("FINEG", eg)])[..]
        );
        assert_eq!(site["partOf"]["reference"], format!("Organization/ej-{ej}"));
        let stub = store.organization(&format!("ej-{ej}"));
        assert_eq!(
            identifiers(&stub),
            pairs(&[("IDNST", &format!("1{ej}")), ("FINEJ", ej)])
        );
    }
}

/// §8.9: RPPS `Numéro FINESS site` = `nofinesset`: one Organization `eg-…` with the FINESS
/// and RPPS identifiers, no `st-…` twin; a FINESS site missing from FINESS is built from the
/// RPPS columns, with `partOf` its legal entity, which gets a stub.
#[test]
fn finess_09_rpps_finess_join() {
    let absent = set_all(
        &row(2),
        &[
            ("Numéro FINESS site", "219990077"),
            ("Numéro FINESS établissement juridique", "219990078"),
            ("Identifiant technique de la structure", "F219990077"),
            ("Raison sociale site", "CLINIQUE ABSENTE"),
            ("Numéro SIRET site", "99900000000034"),
            ("Ancien identifiant de la structure", "1219990077"),
        ],
    );
    let imported = import(
        rpps_file(&[row(1), row(2), absent]),
        finess_file(&[ch_line()]),
    );
    let summary = &imported.summary;
    assert_eq!(summary.rows_skipped, 0);
    assert_eq!(summary.resources.practitioner_role, 3);
    // st-C19990000017001, eg-219990001, eg-219990077, ej-219990002, ej-219990078.
    assert_eq!(summary.resources.organization, 5);
    let store = imported.open();

    let merged = store.organization("eg-219990001");
    let ids = identifiers(&merged);
    assert!(
        ids.contains(&("FINEG".into(), "219990001".into())),
        "{ids:?}"
    );
    assert!(
        ids.contains(&("RPPSRG".into(), "F219990001".into())),
        "{ids:?}"
    );
    assert_eq!(
        data_trace(&merged, "systeme-information")["valueCode"],
        "FINESS"
    );
    assert_eq!(merged, parse(GOLDEN_EG));
    assert!(!store.has_organization("st-F219990001"), "no st- twin");
    assert_eq!(
        store.role(HOSPITAL_SE)["organization"]["reference"],
        "Organization/eg-219990001"
    );

    let built = store.organization("eg-219990077");
    assert_eq!(
        identifiers(&built),
        pairs(&[
            ("IDNST", "1219990077"),
            ("FINEG", "219990077"),
            ("SIRET", "99900000000034"),
            ("RPPSRG", "F219990077"),
        ])
    );
    assert_eq!(built["name"], "CLINIQUE ABSENTE");
    assert_eq!(built["partOf"]["reference"], "Organization/ej-219990078");
    assert_eq!(
        data_trace(&built, "systeme-information")["valueCode"],
        "RPPS"
    );
    assert_eq!(
        data_trace(&built, "autorite-enregistrement")["valueCodeableConcept"]["coding"][0]["code"],
        "CNOM"
    );
    assert!(!store.has_organization("st-F219990077"), "no st- twin");
    let role = store.role("SE/819990000017/F219990077/FON-05/S/GENR01/");
    assert_eq!(
        role["organization"]["reference"],
        "Organization/eg-219990077"
    );

    let stub = store.organization("ej-219990078");
    assert_eq!(
        identifiers(&stub),
        pairs(&[("IDNST", "1219990078"), ("FINEJ", "219990078")])
    );
    assert_eq!(
        data_trace(&stub, "systeme-information")["valueCode"],
        "FINESS"
    );
    assert!(store.has_organization("ej-219990002"));
}

// ---------------------------------------------------------------------------------------------
// docs/formats.md §4.9 items 10–14: the other FINESS files
// ---------------------------------------------------------------------------------------------

/// The `structureet` link an activity or equipment file gives for CH IMAGINAIRE.
const CH_LINK: &str = "structureet;219990001;219990002";
/// A scanner of CH IMAGINAIRE (EJ in field 1, establishment in field 9).
const CH_SCANNER: &str = "equipmateriellourd;219990002;CH IMAGINAIRE;05602;Scanographe;2001;84-21-00001;84-21-10001;2019-03-01;219990001;2019-09-01";
/// An activity of CH IMAGINAIRE (EJ in field 1, establishment in field 11).
const CH_ACTIVITY: &str = "activiteoffresoin;219990002;CH IMAGINAIRE;01;Médecine;03;Hospitalisation complète;00;Pas de forme;1001;2019-03-01;219990001;CH IMAGINAIRE";
/// A social equipment of the EHPAD (establishment in field 1).
const EHPAD_SOCIAL: &str = "equipementsocial;9D9990001;924;Accueil pour Personnes Âgées;11;Hébergement Complet;711;Personnes Âgées Dépendantes;S;80";

/// The §4.4 establishments file and `others` (name, lines after the manifest) imported together.
fn import_with(others: &[(&str, Vec<String>)]) -> Imported {
    let tmp = tempfile::tempdir().unwrap();
    let mut options = synthetic::import_options(
        tmp.path(),
        rpps_without_structures().as_bytes(),
        FINESS_FILE.as_bytes(),
        Default::default(),
    );
    for (name, lines) in others {
        options
            .finess
            .push(synthetic::write(tmp.path(), name, finess_file(lines)));
    }
    let summary = annuaire::import::run(&options).expect("import succeeds");
    Imported {
        _tmp: tmp,
        data: options.data,
        summary,
    }
}

fn owned(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| l.to_string()).collect()
}

/// §4.9 item 10: a heavy equipment file named like the establishments file, whose first 50
/// records are `structureet` links, is a heavy equipment file; its links make no establishment.
#[test]
fn finess_10_the_kind_is_in_the_tags_not_the_name_nor_the_first_tag() {
    let mut lines: Vec<String> = (0..50)
        .map(|n| format!("structureet;2199{n:05};219990002"))
        .collect();
    lines.push(CH_LINK.into());
    lines.push(CH_SCANNER.into());
    let imported = import_with(&[("etalab-cs1100507-stock-copie.csv", lines)]);
    let summary = &imported.summary;
    let kinds: Vec<&str> = summary.finess_files.iter().map(|f| f.kind.tag()).collect();
    assert_eq!(kinds, ["structureet", "equipmateriellourd"]);
    assert_eq!(summary.resources.organization, 6, "as the §4.4 file alone");
    assert_eq!(summary.resources.device, 1);
    assert_eq!(
        summary.rows_skipped, 0,
        "links are not 32-field establishments"
    );
}

/// §4.9 item 11: the establishment is field 9 of heavy equipment, 11 of activities, 1 of social
/// equipment; each resource points at it, never at the legal entity of field 1.
#[test]
fn finess_11_each_file_names_the_establishment_in_its_own_place() {
    let imported = import_with(&[
        ("eml.csv", owned(&[CH_LINK, CH_SCANNER])),
        ("activites.csv", owned(&[CH_LINK, CH_ACTIVITY])),
        (
            "social.csv",
            owned(&["structureet;9D9990001;9D9990002", EHPAD_SOCIAL]),
        ),
    ]);
    let store = imported.open();
    let unit = annuaire::mapping::ids::heavy_equipment("219990001", "05602", "2001", "84-21-10001");
    assert_eq!(
        store.must(ResourceType::Device, unit.as_str())["owner"]["reference"],
        "Organization/eg-219990001"
    );
    let activity = annuaire::mapping::ids::care_activity("219990001", "01", "03", "00");
    assert_eq!(
        store.must(ResourceType::HealthcareService, activity.as_str())["providedBy"]["reference"],
        "Organization/eg-219990001"
    );
    let social = annuaire::mapping::ids::social_equipment("9D9990001", "924", "11", "711");
    assert_eq!(
        store.must(ResourceType::HealthcareService, social.as_str())["providedBy"]["reference"],
        "Organization/eg-9D9990001"
    );
}

/// §4.9 item 12: an extra trailing field is accepted; a short line is skipped and counted.
#[test]
fn finess_12_extra_trailing_fields_are_accepted_and_short_lines_reported() {
    let longer = format!("{CH_ACTIVITY};a field of a newer layout");
    let short = "activiteoffresoin;219990002;CH IMAGINAIRE;02;Chirurgie";
    let imported = import_with(&[("activites.csv", vec![longer, short.into()])]);
    assert_eq!(imported.summary.resources.healthcare_service, 1);
    assert_eq!(imported.summary.rows_skipped, 1);
}

/// §4.9 item 13: one line whose unconfirmed social columns do not fit leaves them empty for the
/// whole file, and every line is still imported with its confirmed fields.
#[test]
fn finess_13_unconfirmed_social_columns_that_do_not_fit_do_not_stop_the_file() {
    let full = format!("{EHPAD_SOCIAL};40;40;80;60;130;N;2020-01-01");
    let misfit = full
        .replace(";924;", ";925;")
        .replace(";40;40;80;", ";ABC;40;80;");
    let imported = import_with(&[("social.csv", vec![full, misfit])]);
    assert_eq!(imported.summary.resources.healthcare_service, 2);
    assert_eq!(imported.summary.rows_skipped, 0);
}

/// §4.9 item 14: in a CRLF file, a bad line is reported with its own number.
#[test]
fn finess_14_crlf_files_report_the_right_line() {
    let text = format!("{MANIFEST}\r\n{CH_LINK}\r\n{CH_SCANNER}\r\n{CH_SCANNER}\r\n");
    let file =
        annuaire::extract::finess::read_from(std::path::Path::new("eml.csv"), text.as_bytes())
            .unwrap();
    let reported: Vec<String> = file.rejected.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        reported,
        [
            "eml.csv:4: duplicate heavy equipment 219990001/05602/2001/84-21-10001: first defined on line 3"
        ]
    );
}
