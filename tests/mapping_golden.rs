//! Golden and structural tests of the RPPS/FINESS -> FHIR mapping.
//!
//! 1. The worked example of docs/mapping.md §10, exactly (tests/fixtures/golden/*.json, which are the
//!    §10 JSON plus the `meta.versionId`/`meta.lastUpdated` the store adds ([`with_version`]), and the second
//!    PractitionerRole that §10's last sentence describes).
//! 2. Structure of resources made from varied rows, compared with the ANS DP examples and the
//!    `as-dp-*` profile snapshots (IG ans.fhir.fr.annuaire 1.2.0-snapshot-2, copied with their
//!    narrative removed to tests/fixtures/ans-ig/).
//! 3. Determinism.
//! 4. The other FINESS extractions (legal entities, healthcare activities, social and heavy
//!    equipment): golden resources built from synthetic records (tests/fixtures/golden/).
//!
//! Inputs are the synthetic rows of docs/formats.md §3.5 and docs/formats.md §4.4, stored verbatim in
//! tests/fixtures/extract/.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use annuaire::extract::finess::{self, Establishment, FinessFile};
use annuaire::extract::rpps::{Layout, RppsRow};
use annuaire::fhir::ResourceType;
use annuaire::import::ImportSummary;
use annuaire::mapping::labels::{Displays, Labels};
use annuaire::mapping::practitioner::PersonExtras;
use annuaire::mapping::{organization, practitioner};
use serde_json::{Value, json};

use common::role_id;
use common::synthetic::{
    self, FINESS_FILE, GOLDEN_EG, GOLDEN_EJ, GOLDEN_PRACTITIONER, GOLDEN_ROLE_CABINET,
    GOLDEN_ROLE_HOSPITAL, GOLDEN_ST, RPPS_FILE,
};

// ---------------------------------------------------------------------------------------------
// Inputs and expected outputs
// ---------------------------------------------------------------------------------------------

const EX_PRACTITIONER: &str = include_str!("fixtures/ans-ig/Practitioner-334081DP.json");
const EX_ROLES: [&str; 3] = [
    include_str!("fixtures/ans-ig/PractitionerRole-1578230DP.json"),
    include_str!("fixtures/ans-ig/PractitionerRole-1738459DP.json"),
    include_str!("fixtures/ans-ig/PractitionerRole-5015602DP.json"),
];
/// 158480DP: a FINESS EG; 481677DP: a FINESS EJ; 548812DP: an RPPS cabinet.
const EX_ORG_EG: &str = include_str!("fixtures/ans-ig/Organization-158480DP.json");
const EX_ORG_EJ: &str = include_str!("fixtures/ans-ig/Organization-481677DP.json");
const EX_ORG_CABINET: &str = include_str!("fixtures/ans-ig/Organization-548812DP.json");

const SD_PRACTITIONER: &str =
    include_str!("fixtures/ans-ig/StructureDefinition-as-dp-practitioner.json");
const SD_ROLE: &str =
    include_str!("fixtures/ans-ig/StructureDefinition-as-dp-practitionerrole.json");
const SD_ORGANIZATION: &str =
    include_str!("fixtures/ans-ig/StructureDefinition-as-dp-organization.json");
const SD_ADDRESS: &str =
    include_str!("fixtures/ans-ig/StructureDefinition-as-address-extended.json");
const SD_DATA_TRACE: &str =
    include_str!("fixtures/ans-ig/StructureDefinition-as-ext-data-trace.json");

const FR_CORE_PRACTITIONER: &str =
    "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-practitioner|2.2.0";

/// The version the golden files show: what the store adds to the mapped content (version 1,
/// imported at the tests' time).
fn with_version(content: Vec<u8>) -> Value {
    use annuaire::generation::record::{splice_point, write_versioned};
    use annuaire::generation::{Millis, Version};
    let splice = splice_point(&content).expect("mapped resources have a meta");
    let version = Version {
        number: 1,
        last_updated: Millis::from_datetime(synthetic::LAST_UPDATED),
    };
    let mut json = Vec::new();
    write_versioned(&content, splice, version, &mut json);
    serde_json::from_slice(&json).unwrap()
}

fn rpps_lines() -> Vec<&'static str> {
    let lines: Vec<&str> = RPPS_FILE.lines().collect();
    assert_eq!(lines.len(), 6, "header + 5 rows of docs/formats.md §3.5");
    lines
}

fn layout() -> Layout {
    let layout = Layout::from_header(rpps_lines()[0]).expect("RPPS header");
    assert_eq!(layout.field_count(), 56);
    layout
}

/// docs/formats.md §3.5 row `n` (1-based): 1 Claire cabinet, 2 Claire hospital, 3 infirmière, 4
/// pharmacien (section A), 5 ADELI person without activity.
fn row_text(n: usize) -> &'static str {
    rpps_lines()[n]
}

fn finess_file() -> FinessFile {
    let file = finess::read_from(
        Path::new("etalab-cs1100507-stock-synthetic.csv"),
        FINESS_FILE.as_bytes(),
    )
    .expect("docs/formats.md §4.4 sample is a FINESS file");
    assert!(file.rejected.is_empty(), "{:?}", file.rejected);
    assert_eq!(file.extraction_date, "2026-01-15");
    file
}

fn establishment<'f>(file: &'f FinessFile, nofinesset: &str) -> &'f Establishment {
    file.establishments
        .iter()
        .find(|e| e.nofinesset == nofinesset)
        .unwrap_or_else(|| panic!("{nofinesset} in the FINESS sample"))
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

/// The labels of the worked example's files (§3.5 rows 1 and 2, the §4.4 FINESS sample), as
/// the import collects them before mapping; the import then gives every coding of a resource it
/// writes its display from them (A23), and so do these tests.
fn worked_example_displays() -> &'static Displays {
    static DISPLAYS: std::sync::OnceLock<Displays> = std::sync::OnceLock::new();
    DISPLAYS.get_or_init(|| {
        let layout = layout();
        let mut labels = Labels::default();
        for n in [1, 2] {
            labels.rpps_row(&layout.split(row_text(n)).unwrap());
        }
        for establishment in &finess_file().establishments {
            labels.establishment(establishment);
        }
        labels.displays()
    })
}

/// A mapped resource as the import stores it: with its displays and its version.
fn stored(content: Vec<u8>) -> Value {
    with_version(worked_example_displays().describe(&content))
}

/// A mapped resource's JSON as the mapping writes it, before the import gives its codings
/// their display (the structural tests below look at codes and systems).
fn practitioner_json(resource: &fhir_json::Practitioner) -> Value {
    with_version(fhir_json::practitioner_to_vec(resource))
}

fn role_json(resource: &fhir_json::PractitionerRole) -> Value {
    with_version(fhir_json::practitioner_role_to_vec(resource))
}

fn organization_json(resource: &fhir_json::Organization) -> Value {
    with_version(fhir_json::organization_to_vec(resource))
}

/// Lists the paths where two JSON values differ (key order ignored, array order kept).
fn diff(path: &str, actual: &Value, expected: &Value, out: &mut Vec<String>) {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            let keys: BTreeSet<&String> = a.keys().chain(e.keys()).collect();
            for key in keys {
                let child = format!("{path}.{key}");
                match (a.get(key), e.get(key)) {
                    (Some(x), Some(y)) => diff(&child, x, y, out),
                    (Some(x), None) => out.push(format!("{child}: unexpected {x}")),
                    (None, Some(y)) => out.push(format!("{child}: missing, expected {y}")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(e)) if a.len() == e.len() => {
            for (i, (x, y)) in a.iter().zip(e).enumerate() {
                diff(&format!("{path}[{i}]"), x, y, out);
            }
        }
        _ if actual != expected => out.push(format!("{path}: got {actual}, expected {expected}")),
        _ => {}
    }
}

fn assert_json_eq(actual: &Value, expected: &Value, what: &str) {
    if actual != expected {
        let mut differences = Vec::new();
        diff("", actual, expected, &mut differences);
        panic!(
            "{what} differs from the expected JSON:\n  {}\nactual:\n{}",
            differences.join("\n  "),
            serde_json::to_string_pretty(actual).unwrap()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Worked example (docs/mapping.md §10), exact
// ---------------------------------------------------------------------------------------------

#[test]
fn golden_role_ids_are_sha256_of_the_situation_identifier() {
    for golden in [
        GOLDEN_PRACTITIONER,
        GOLDEN_ROLE_CABINET,
        GOLDEN_ROLE_HOSPITAL,
        GOLDEN_ST,
        GOLDEN_EG,
        GOLDEN_EJ,
    ] {
        let golden = parse(golden);
        assert_eq!(golden["meta"]["versionId"], "1");
        assert_eq!(golden["meta"]["lastUpdated"], synthetic::LAST_UPDATED_TEXT);
        if golden["resourceType"] != "PractitionerRole" {
            continue;
        }
        let value = golden["identifier"][0]["value"].as_str().unwrap();
        assert_eq!(golden["id"], role_id(value).as_str(), "{value}");
    }
    // The formula itself, against a digest computed independently (Python hashlib).
    assert_eq!(
        role_id("SE/819990000017/C19990000017001/FON-01/L/GENR01/"),
        "se-f67bafb8b45e4fe0fb78926b3fbf2e79"
    );
}

#[test]
fn worked_example_practitioner_and_both_roles() {
    let layout = layout();
    let rows = vec![
        layout.split(row_text(1)).unwrap(),
        layout.split(row_text(2)).unwrap(),
    ];
    let out = practitioner::map_person(&rows, &PersonExtras::default());

    assert_eq!(out.practitioners.len(), 1, "one person, one profession");
    let (id, resource) = &out.practitioners[0];
    assert_eq!(id, "pp-819990000017-10");
    assert_json_eq(
        &stored(fhir_json::practitioner_to_vec(resource)),
        &parse(GOLDEN_PRACTITIONER),
        "Practitioner pp-819990000017-10",
    );

    assert_eq!(out.roles.len(), 2, "cabinet + hospital");
    let cabinet_value = "SE/819990000017/C19990000017001/FON-01/L/GENR01/";
    let hospital_value = "SE/819990000017/F219990001/FON-05/S/GENR01/";
    assert_eq!(out.roles[0].0, role_id(cabinet_value));
    assert_eq!(out.roles[1].0, role_id(hospital_value));
    assert_json_eq(
        &stored(fhir_json::practitioner_role_to_vec(&out.roles[0].1)),
        &parse(GOLDEN_ROLE_CABINET),
        "cabinet PractitionerRole",
    );
    assert_json_eq(
        &stored(fhir_json::practitioner_role_to_vec(&out.roles[1].1)),
        &parse(GOLDEN_ROLE_HOSPITAL),
        "hospital PractitionerRole (§10 last sentence)",
    );
}

#[test]
fn worked_example_second_row_adds_nothing_to_the_practitioner() {
    let layout = layout();
    let first_only = vec![layout.split(row_text(1)).unwrap()];
    let both = vec![
        layout.split(row_text(1)).unwrap(),
        layout.split(row_text(2)).unwrap(),
    ];
    let one = practitioner::map_person(&first_only, &PersonExtras::default());
    let two = practitioner::map_person(&both, &PersonExtras::default());
    assert_eq!(
        fhir_json::practitioner_to_vec(&one.practitioners[0].1),
        fhir_json::practitioner_to_vec(&two.practitioners[0].1)
    );
    assert_eq!(one.roles.len(), 1);
}

#[test]
fn worked_example_rpps_structure_organization() {
    let layout = layout();
    let rows = vec![layout.split(row_text(1)).unwrap()];
    let representative = organization::representative(&rows);
    let (id, resource) = organization::from_rpps(representative);
    assert_eq!(id, "st-C19990000017001");
    assert_json_eq(
        &stored(fhir_json::organization_to_vec(&resource)),
        &parse(GOLDEN_ST),
        "Organization st-C19990000017001",
    );
}

#[test]
fn worked_example_finess_establishment_merged_with_rpps_row_2() {
    let layout = layout();
    let rows = vec![layout.split(row_text(2)).unwrap()];
    let finess = finess_file();
    let est = establishment(&finess, "219990001");
    let (id, resource) = organization::from_finess(est, Some(organization::representative(&rows)));
    assert_eq!(id, "eg-219990001");
    assert_json_eq(
        &stored(fhir_json::organization_to_vec(&resource)),
        &parse(GOLDEN_EG),
        "Organization eg-219990001",
    );
}

#[test]
fn worked_example_legal_entity_stub() {
    let (id, resource) = organization::legal_entity_stub("219990002");
    assert_eq!(id, "ej-219990002");
    assert_json_eq(
        &stored(fhir_json::organization_to_vec(&resource)),
        &parse(GOLDEN_EJ),
        "Organization ej-219990002",
    );
}

/// The same worked example through the real import: the stored bytes are the golden JSON
/// (generation 1, so `versionId` "1"; `lastUpdated` forced to the stamp's).
#[test]
fn worked_example_through_the_import() {
    let tmp = tempfile::tempdir().unwrap();
    let rpps = format!("{}\n{}\n{}\n", row_text(0), row_text(1), row_text(2));
    let (data, summary) = import(tmp.path(), rpps.as_bytes(), FINESS_FILE.as_bytes());
    assert_eq!(summary.generation, 1);
    assert_eq!(summary.rpps_rows_read, 2);
    assert_eq!(summary.rows_skipped, 0);
    assert_eq!(summary.resources.practitioner, 1);
    assert_eq!(summary.resources.practitioner_role, 2);
    // st-C19990000017001, eg-219990001 (merged), eg-139990001, eg-9D9990001 and the stubs
    // ej-219990002, ej-139990003, ej-9D9990002.
    assert_eq!(summary.resources.organization, 7);
    let stored = read_all(
        &data,
        &[
            (ResourceType::Practitioner, "pp-819990000017-10".into()),
            (
                ResourceType::PractitionerRole,
                role_id("SE/819990000017/C19990000017001/FON-01/L/GENR01/"),
            ),
            (
                ResourceType::PractitionerRole,
                role_id("SE/819990000017/F219990001/FON-05/S/GENR01/"),
            ),
            (ResourceType::Organization, "st-C19990000017001".into()),
            (ResourceType::Organization, "eg-219990001".into()),
            (ResourceType::Organization, "ej-219990002".into()),
        ],
    );
    let expected = [
        GOLDEN_PRACTITIONER,
        GOLDEN_ROLE_CABINET,
        GOLDEN_ROLE_HOSPITAL,
        GOLDEN_ST,
        GOLDEN_EG,
        GOLDEN_EJ,
    ];
    for ((key, bytes), golden) in stored.iter().zip(expected) {
        let bytes = bytes.as_ref().unwrap_or_else(|| panic!("{key:?} stored"));
        let value: Value = serde_json::from_slice(bytes).unwrap();
        assert_json_eq(&value, &parse(golden), &format!("stored {key:?}"));
    }
}

// ---------------------------------------------------------------------------------------------
// Import helpers
// ---------------------------------------------------------------------------------------------

fn import(dir: &Path, rpps: &[u8], finess: &[u8]) -> (PathBuf, ImportSummary) {
    let options = synthetic::import_options(dir, rpps, finess, Default::default());
    let summary = annuaire::import::run(&options).expect("import succeeds");
    (options.data, summary)
}

/// Reads resources from the current generation (opened once, then closed: sled allows one
/// handle per database and process).
fn read_all(
    data: &Path,
    keys: &[(ResourceType, String)],
) -> Vec<((ResourceType, String), Option<Vec<u8>>)> {
    let (_, generation) = synthetic::open_generation(data);
    keys.iter()
        .map(|(rtype, id)| {
            (
                (*rtype, id.clone()),
                generation.read(*rtype, id).unwrap().map(|r| r.to_json()),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 2. Structure versus the ANS examples and profiles
// ---------------------------------------------------------------------------------------------

/// The parts of a profile snapshot the checks use.
struct Profile {
    name: &'static str,
    elements: Vec<Value>,
}

impl Profile {
    fn load(name: &'static str, text: &str) -> Profile {
        let sd = parse(text);
        let elements = sd["snapshot"]["element"]
            .as_array()
            .expect("snapshot kept in the fixture")
            .clone();
        Profile { name, elements }
    }

    /// Non-slice elements (id == path): path -> element.
    fn base(&self) -> BTreeMap<String, &Value> {
        self.elements
            .iter()
            .filter(|e| e["id"] == e["path"])
            .map(|e| (e["path"].as_str().unwrap().to_owned(), e))
            .collect()
    }

    fn forbidden(&self) -> BTreeSet<String> {
        self.base()
            .into_iter()
            .filter(|(_, e)| e["max"] == "0")
            .map(|(p, _)| p)
            .collect()
    }

    /// Profile URLs (without `|version`) of every Extension-typed element.
    fn extension_urls(&self) -> BTreeSet<String> {
        declared_extensions(&self.elements)
    }

    /// Identifier slices: (name, min, system pattern, type pattern coding, use pattern).
    fn identifier_slices(&self, root: &str) -> Vec<IdentifierSlice> {
        let path = format!("{root}.identifier");
        self.elements
            .iter()
            .filter(|e| e["path"] == path.as_str() && e.get("sliceName").is_some())
            .map(|e| {
                let id = e["id"].as_str().unwrap();
                let child = |name: &str| {
                    self.elements
                        .iter()
                        .find(|c| c["id"] == format!("{id}.{name}").as_str())
                        .cloned()
                        .unwrap_or(Value::Null)
                };
                let system = child("system");
                let system = system
                    .get("patternUri")
                    .or_else(|| system.get("fixedUri"))
                    .and_then(Value::as_str)
                    .expect("identifier slices are discriminated by system")
                    .to_owned();
                let type_pattern = child("type")
                    .get("patternCodeableConcept")
                    .map(|t| t["coding"][0].clone());
                let use_pattern = child("use")
                    .get("patternCode")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let required_children: Vec<String> = self
                    .elements
                    .iter()
                    .filter_map(|c| {
                        let rest = c["id"].as_str()?.strip_prefix(&format!("{id}."))?;
                        (!rest.contains('.') && c["min"].as_u64().unwrap_or(0) >= 1)
                            .then(|| rest.to_owned())
                    })
                    .collect();
                IdentifierSlice {
                    name: e["sliceName"].as_str().unwrap().to_owned(),
                    min: e["min"].as_u64().unwrap(),
                    system,
                    type_pattern,
                    use_pattern,
                    required_children,
                }
            })
            .collect()
    }
}

#[derive(Debug)]
struct IdentifierSlice {
    name: String,
    min: u64,
    system: String,
    type_pattern: Option<Value>,
    use_pattern: Option<String>,
    required_children: Vec<String>,
}

impl IdentifierSlice {
    fn matches(&self, identifier: &Value) -> bool {
        identifier["system"] == self.system.as_str()
            && self.type_pattern.as_ref().is_none_or(|pattern| {
                identifier["type"]["coding"]
                    .as_array()
                    .is_some_and(|codings| {
                        codings.iter().any(|c| {
                            c["system"] == pattern["system"] && c["code"] == pattern["code"]
                        })
                    })
            })
    }
}

fn strip_version(url: &str) -> String {
    url.split('|').next().unwrap().to_owned()
}

fn declared_extensions(elements: &[Value]) -> BTreeSet<String> {
    elements
        .iter()
        .flat_map(|e| e["type"].as_array().cloned().unwrap_or_default())
        .filter(|t| t["code"] == "Extension")
        .flat_map(|t| t["profile"].as_array().cloned().unwrap_or_default())
        .map(|p| strip_version(p.as_str().unwrap()))
        .collect()
}

/// Sub-extension names of `as-ext-data-trace` (its slices on `Extension.extension`).
const DATA_TRACE_PARTS: [&str; 3] = [
    "autorite-enregistrement",
    "systeme-information",
    "date-maj-ae",
];

/// Extensions `as-address-extended` allows on `Address` and `Address.line` (our `_line`):
/// the fr-core INSEE commune code, the ISO 21090 ADXP parts and the ANS lieu-dit.
const ADDRESS_EXTENSIONS: [&str; 9] = [
    "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code",
    "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-careOf",
    "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-additionalLocator",
    "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-houseNumber",
    "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-buildingNumberSuffix",
    "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-streetNameType",
    "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-postBox",
    "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-streetNameBase",
    "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-lieu-dit",
];

#[test]
fn allowed_extension_lists_match_the_copied_definitions() {
    let address = parse(SD_ADDRESS);
    let declared = declared_extensions(address["snapshot"]["element"].as_array().unwrap());
    let listed: BTreeSet<String> = ADDRESS_EXTENSIONS.iter().map(|s| s.to_string()).collect();
    assert_eq!(declared, listed);

    let trace = parse(SD_DATA_TRACE);
    let parts: BTreeSet<&str> = trace["snapshot"]["element"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"] == "Extension.extension" && e.get("sliceName").is_some())
        .map(|e| e["sliceName"].as_str().unwrap())
        .collect();
    assert_eq!(parts, DATA_TRACE_PARTS.into_iter().collect());
}

/// A JSON key as an element name: `_line` -> `line`, `valueCode` -> `value[x]`.
fn element_name(key: &str) -> String {
    let key = key.strip_prefix('_').unwrap_or(key);
    match key.strip_prefix("value") {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_uppercase()) => "value[x]".into(),
        _ => key.to_owned(),
    }
}

/// Every element path a resource emits, without array indexes.
fn emitted_paths(prefix: &str, value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "resourceType" {
                    continue;
                }
                let path = format!("{prefix}.{}", element_name(key));
                out.insert(path.clone());
                emitted_paths(&path, child, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                emitted_paths(prefix, item, out);
            }
        }
        _ => {}
    }
}

/// Every (path of the containing `extension` array, url) pair.
fn extension_urls(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = format!("{prefix}.{}", element_name(key));
                if key == "extension" {
                    for item in child.as_array().expect("extension is an array") {
                        let url = item["url"].as_str().expect("extension.url").to_owned();
                        out.push((path.clone(), url));
                    }
                }
                extension_urls(&path, child, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                extension_urls(prefix, item, out);
            }
        }
        _ => {}
    }
}

/// The values at a dotted path (arrays flattened).
fn instances<'v>(value: &'v Value, path: &[&str]) -> Vec<&'v Value> {
    let Some((first, rest)) = path.split_first() else {
        return match value {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
    };
    match value {
        Value::Array(items) => items.iter().flat_map(|i| instances(i, path)).collect(),
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| element_name(k) == *first)
            .flat_map(|(_, v)| instances(v, rest))
            .collect(),
        _ => Vec::new(),
    }
}

fn identifier_tuple(
    identifier: &Value,
) -> (Option<String>, String, Option<String>, Option<String>) {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    (
        text(&identifier["use"]),
        text(&identifier["system"]).expect("identifier.system"),
        text(&identifier["type"]["coding"][0]["system"]),
        text(&identifier["type"]["coding"][0]["code"]),
    )
}

type IdTuple = (Option<String>, String, Option<String>, Option<String>);

fn identifier_tuples(resource: &Value) -> BTreeSet<IdTuple> {
    resource["identifier"]
        .as_array()
        .map(|ids| ids.iter().map(identifier_tuple).collect())
        .unwrap_or_default()
}

/// Checks a resource against its profile snapshot; `claims_dp` is false for ADELI persons,
/// which only claim fr-core (A14): their identifier slices and the DP cardinalities are not
/// checked, the forbidden elements and the extensions are.
fn check_against_profile(resource: &Value, profile: &Profile, claims_dp: bool) {
    let root = resource["resourceType"].as_str().unwrap();
    let id = resource["id"].as_str().unwrap();
    let what = format!("{root}/{id} vs {}", profile.name);
    let mut paths = BTreeSet::new();
    emitted_paths(root, resource, &mut paths);

    // Nothing we emit is forbidden (max 0) by the profile.
    let base = profile.base();
    let forbidden = profile.forbidden();
    for path in &paths {
        if let Some(element) = base.get(path) {
            assert_ne!(element["max"], "0", "{what}: emits forbidden {path}");
        }
    }
    assert!(
        forbidden.is_disjoint(&paths),
        "{what}: forbidden elements {:?}",
        forbidden.intersection(&paths).collect::<Vec<_>>()
    );

    // Required elements: every non-slice element with min >= 1 is present (with at least
    // `min` repetitions) in every instance of its parent; top-level ones unconditionally.
    if claims_dp {
        for (path, element) in &base {
            let min = element["min"].as_u64().unwrap_or(0);
            if min == 0 {
                continue;
            }
            let segments: Vec<&str> = path.split('.').skip(1).collect();
            let (name, parent) = segments.split_last().unwrap();
            for parent_value in instances(resource, parent) {
                let Value::Object(map) = parent_value else {
                    continue;
                };
                let count: usize = map
                    .iter()
                    .filter(|(k, _)| element_name(k) == *name)
                    .map(|(_, v)| v.as_array().map_or(1, Vec::len))
                    .sum();
                assert!(
                    count as u64 >= min,
                    "{what}: {path} is required ({min}..), found {count}"
                );
            }
        }
    }

    // Identifier slices.
    if claims_dp {
        let slices = profile.identifier_slices(root);
        assert!(!slices.is_empty(), "{what}: identifier slices found");
        let identifiers = resource["identifier"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for slice in &slices {
            let matching: Vec<&Value> = identifiers.iter().filter(|i| slice.matches(i)).collect();
            assert!(
                matching.len() as u64 >= slice.min,
                "{what}: identifier slice {} is required ({}..), found {}",
                slice.name,
                slice.min,
                matching.len()
            );
            for identifier in matching {
                for child in &slice.required_children {
                    assert!(
                        identifier.get(child.as_str()).is_some(),
                        "{what}: identifier slice {} requires {child}: {identifier}",
                        slice.name
                    );
                }
                if let Some(use_) = &slice.use_pattern {
                    assert_eq!(identifier["use"], use_.as_str(), "{what}: {}", slice.name);
                }
            }
        }
        for identifier in &identifiers {
            assert!(
                slices.iter().any(|s| s.matches(identifier)),
                "{what}: identifier in no slice: {identifier}"
            );
        }
    }

    // Extensions: declared by the profile, by as-address-extended (address and lines), or
    // data-trace parts (inside meta.extension).
    let declared = profile.extension_urls();
    let mut urls = Vec::new();
    extension_urls(root, resource, &mut urls);
    for (path, url) in &urls {
        let ok = if path == &format!("{root}.meta.extension.extension") {
            DATA_TRACE_PARTS.contains(&url.as_str())
        } else if path.starts_with(&format!("{root}.address")) {
            ADDRESS_EXTENSIONS.contains(&url.as_str())
        } else {
            declared.contains(url)
        };
        assert!(ok, "{what}: extension {url} at {path} is not allowed there");
    }
    let trace: Vec<&(String, String)> = urls
        .iter()
        .filter(|(p, _)| p == &format!("{root}.meta.extension"))
        .collect();
    assert_eq!(trace.len(), 1, "{what}: one data-trace");
    assert!(trace[0].1.ends_with("/as-ext-data-trace"));
}

/// Checks `meta.profile`, `meta.source` and `language` against an ANS example.
fn check_meta(resource: &Value, example: &Value) {
    let id = &resource["id"];
    assert_eq!(
        resource["meta"]["profile"], example["meta"]["profile"],
        "{id}"
    );
    assert_eq!(
        resource["meta"]["source"], example["meta"]["source"],
        "{id}"
    );
    assert_eq!(resource["language"], example["language"], "{id}");
    assert!(resource.get("text").is_none(), "{id}: no narrative");
}

fn data_trace_system(resource: &Value) -> String {
    let parts = resource["meta"]["extension"][0]["extension"]
        .as_array()
        .unwrap();
    parts
        .iter()
        .find(|p| p["url"] == "systeme-information")
        .and_then(|p| p["valueCode"].as_str())
        .unwrap()
        .to_owned()
}

/// Resources of the varied rows of section 2.
struct Varied {
    practitioners: Vec<Value>,
    adeli: Value,
    roles: Vec<Value>,
    /// (what, resource)
    organizations: Vec<(&'static str, Value)>,
}

fn varied() -> Varied {
    let layout = layout();
    // Médecin with two savoir-faire rows (the second one a CAPA).
    let claire_capa = row_text(1).replace(
        "|S|Spécialité ordinale|SM54|Médecine Générale|",
        "|CAPA|Capacité|CAP13|Capacité de gérontologie|",
    );
    assert_ne!(claire_capa, row_text(1));
    let claire = vec![
        layout.split(row_text(1)).unwrap(),
        layout.split(&claire_capa).unwrap(),
    ];
    // Structure e-mails (#44): an MSSanté one (mailbox-mss slice) and a plain one.
    let nurse_text = row_text(3).replacen(
        "|0470000003||||",
        "|0470000003|||cabinet@infirmiers-fictifs.mssante.fr|",
        1,
    );
    let pharmacist_text = row_text(4).replacen(
        "|0490000004||||",
        "|0490000004|||contact@pharmacie-fictive.fr|",
        1,
    );
    assert_ne!(nurse_text, row_text(3));
    assert_ne!(pharmacist_text, row_text(4));
    let nurse = vec![layout.split(&nurse_text).unwrap()];
    let pharmacist = vec![layout.split(&pharmacist_text).unwrap()];
    let adeli = vec![layout.split(row_text(5)).unwrap()];

    let mut practitioners = Vec::new();
    let mut roles = Vec::new();
    for rows in [&claire, &nurse, &pharmacist] {
        let out = practitioner::map_person(rows, &PersonExtras::default());
        assert_eq!(out.practitioners.len(), 1);
        practitioners.push(practitioner_json(&out.practitioners[0].1));
        assert_eq!(out.roles.len(), 1, "savoir-faire rows share their activity");
        roles.extend(out.roles.iter().map(|(_, r)| role_json(r)));
    }
    let adeli_out = practitioner::map_person(&adeli, &PersonExtras::default());
    assert_eq!(adeli_out.practitioners.len(), 1);
    assert!(adeli_out.roles.is_empty(), "no activity, no role");
    let adeli = practitioner_json(&adeli_out.practitioners[0].1);

    let finess = finess_file();
    let org = |(_, o): (annuaire::fhir::FhirId, fhir_json::Organization)| organization_json(&o);
    let organizations = vec![
        (
            "RPPS cabinet (médecin)",
            org(organization::from_rpps(&claire[0])),
        ),
        (
            "RPPS cabinet (infirmière)",
            org(organization::from_rpps(&nurse[0])),
        ),
        (
            "FINESS pharmacy merged with the pharmacist's row",
            org(organization::from_finess(
                establishment(&finess, "139990001"),
                Some(organization::representative(&pharmacist)),
            )),
        ),
        (
            "FINESS site absent from FINESS, built from RPPS",
            org(organization::from_rpps(&pharmacist[0])),
        ),
        (
            "FINESS establishment without RPPS rows",
            org(organization::from_finess(
                establishment(&finess, "219990001"),
                None,
            )),
        ),
        (
            "FINESS overseas establishment (9D)",
            org(organization::from_finess(
                establishment(&finess, "9D9990001"),
                None,
            )),
        ),
        ("EJ stub", org(organization::legal_entity_stub("219990002"))),
    ];
    Varied {
        practitioners,
        adeli,
        roles,
        organizations,
    }
}

#[test]
fn profiles_forbid_what_the_checks_rely_on() {
    // The checks below are only meaningful if the fixtures carry these constraints.
    let practitioner = Profile::load("as-dp-practitioner", SD_PRACTITIONER);
    let role = Profile::load("as-dp-practitionerrole", SD_ROLE);
    let organization = Profile::load("as-dp-organization", SD_ORGANIZATION);
    for path in [
        "Practitioner.gender",
        "Practitioner.birthDate",
        "Practitioner.photo",
        "Practitioner.address",
        "Practitioner.communication",
        "Practitioner.qualification.period",
        "Practitioner.identifier.period",
    ] {
        assert!(practitioner.forbidden().contains(path), "{path}");
    }
    for path in [
        "PractitionerRole.period",
        "PractitionerRole.specialty",
        "PractitionerRole.healthcareService",
        "PractitionerRole.availableTime",
        "PractitionerRole.endpoint",
    ] {
        assert!(role.forbidden().contains(path), "{path}");
    }
    for path in [
        "Organization.contact",
        "Organization.endpoint",
        "Organization.identifier.period",
    ] {
        assert!(organization.forbidden().contains(path), "{path}");
    }
    assert_eq!(practitioner.base()["Practitioner.identifier"]["min"], 2);
    assert_eq!(role.base()["PractitionerRole.practitioner"]["min"], 1);
}

/// The checks themselves can fail: each mutation of a conforming resource is caught.
#[test]
fn profile_checks_catch_deviations() {
    let varied = varied();
    let practitioner = Profile::load("as-dp-practitioner", SD_PRACTITIONER);
    let organization = Profile::load("as-dp-organization", SD_ORGANIZATION);
    let good = varied.practitioners[0].clone();
    check_against_profile(&good, &practitioner, true);
    let fails = |resource: Value, profile: &Profile, label: &str| {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check_against_profile(&resource, profile, true)
        }));
        assert!(outcome.is_err(), "the check misses: {label}");
    };
    let mutate = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        v
    };
    fails(
        mutate(&|v| v["gender"] = json!("female")),
        &practitioner,
        "forbidden gender",
    );
    fails(
        mutate(&|v| v["qualification"][0]["period"] = json!({"start": "2020-01-01"})),
        &practitioner,
        "forbidden qualification.period",
    );
    fails(
        mutate(&|v| {
            v.as_object_mut().unwrap().remove("active");
        }),
        &practitioner,
        "missing active",
    );
    fails(
        mutate(&|v| {
            v["identifier"].as_array_mut().unwrap().pop();
        }),
        &practitioner,
        "missing rpps identifier",
    );
    fails(
        mutate(&|v| v["identifier"][1]["system"] = json!("https://example.org")),
        &practitioner,
        "identifier in no slice",
    );
    fails(
        mutate(&|v| v["extension"] = json!([{"url": "https://example.org/x", "valueString": "x"}])),
        &practitioner,
        "undeclared extension",
    );
    fails(
        mutate(&|v| v["meta"]["extension"][0]["extension"][0]["url"] = json!("autre")),
        &practitioner,
        "unknown data-trace part",
    );
    let mut org = varied.organizations[4].1.clone();
    check_against_profile(&org, &organization, true);
    org["identifier"][0]["use"] = json!("usual");
    fails(org.clone(), &organization, "idNatSt.use must be official");
    let mut org = varied.organizations[4].1.clone();
    org["address"][0]["_line"][0]["extension"][0]["url"] = json!("http://example.org/adxp");
    fails(
        org,
        &organization,
        "address line extension outside as-address-extended",
    );
    let mut org = varied.organizations[4].1.clone();
    org["contact"] = json!([{"name": {"text": "x"}}]);
    fails(org, &organization, "forbidden contact");
}

#[test]
fn practitioners_match_the_ans_example_and_profile() {
    let varied = varied();
    let profile = Profile::load("as-dp-practitioner", SD_PRACTITIONER);
    let example = parse(EX_PRACTITIONER);
    for resource in &varied.practitioners {
        check_meta(resource, &example);
        check_against_profile(resource, &profile, true);
        assert_eq!(
            identifier_tuples(resource),
            identifier_tuples(&example),
            "{}: IDNPS + RPPS, as Practitioner-334081DP",
            resource["id"]
        );
        assert_eq!(data_trace_system(resource), "RPPS");
        assert_eq!(resource["name"][0]["use"], example["name"][0]["use"]);
    }
    // The médecin's two savoir-faire rows: exercicePro + two savoirFaire qualifications.
    let claire = &varied.practitioners[0];
    let codes: Vec<Vec<&str>> = claire["qualification"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            q["code"]["coding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["code"].as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(
        codes,
        [vec!["10", "C"], vec!["SM54", "S"], vec!["CAP13", "CAPA"]]
    );
    assert_eq!(
        claire["qualification"][2]["code"]["coding"][0]["system"],
        "https://mos.esante.gouv.fr/NOS/TRE_R43-CapaciteSavoirFaire/FHIR/TRE-R43-CapaciteSavoirFaire"
    );
    // The pharmacist's profession system is G15 and his name keeps its apostrophe.
    let pharmacist = &varied.practitioners[2];
    assert_eq!(pharmacist["id"], "pp-819990000033-21");
    assert_eq!(pharmacist["name"][0]["family"], "O'NEIL");
    assert_eq!(pharmacist["name"][0]["prefix"], json!(["M"]));
}

#[test]
fn adeli_person_claims_fr_core_only() {
    let varied = varied();
    let profile = Profile::load("as-dp-practitioner", SD_PRACTITIONER);
    let example = parse(EX_PRACTITIONER);
    let adeli = &varied.adeli;
    assert_eq!(adeli["id"], "pp-0759999991-91");
    assert_eq!(adeli["meta"]["profile"], json!([FR_CORE_PRACTITIONER]));
    assert_eq!(adeli["meta"]["source"], example["meta"]["source"]);
    assert_eq!(adeli["language"], example["language"]);
    check_against_profile(adeli, &profile, false);
    let tuples = identifier_tuples(adeli);
    let idnps = identifier_tuples(&example)
        .into_iter()
        .find(|t| t.3.as_deref() == Some("IDNPS"))
        .unwrap();
    assert!(tuples.contains(&idnps), "{tuples:?}");
    assert_eq!(tuples.len(), 2);
    let adeli_id = adeli["identifier"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"]["coding"][0]["code"] == "ADELI")
        .expect("ADELI identifier");
    assert_eq!(
        adeli_id["type"]["coding"][0]["system"],
        "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
    );
    assert_eq!(adeli_id["value"], "759999991");
    assert_eq!(adeli_id["use"], "official");
    let idnps_value = adeli["identifier"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["system"] == "urn:oid:1.2.250.1.71.4.2.1")
        .unwrap();
    assert_eq!(idnps_value["value"], "0759999991");
}

#[test]
fn practitioner_roles_match_the_ans_examples_and_profile() {
    let varied = varied();
    let profile = Profile::load("as-dp-practitionerrole", SD_ROLE);
    let examples: Vec<Value> = EX_ROLES.iter().map(|e| parse(e)).collect();
    for resource in &varied.roles {
        for example in &examples {
            check_meta(resource, example);
            assert_eq!(identifier_tuples(resource), identifier_tuples(example));
        }
        check_against_profile(resource, &profile, true);
        assert_eq!(data_trace_system(resource), "RPPS");
        // code slices in the examples' order: genre, mode, fonction (then section).
        let systems: Vec<&str> = resource["code"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["coding"][0]["system"].as_str().unwrap())
            .collect();
        let example_systems: Vec<&str> = examples[0]["code"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["coding"][0]["system"].as_str().unwrap())
            .collect();
        assert_eq!(systems[..3], example_systems[..]);
    }
    let pharmacist = &varied.roles[2];
    assert_eq!(
        pharmacist["code"][3],
        json!({"coding": [{
            "system": "https://mos.esante.gouv.fr/NOS/TRE_R06-SectionTableauCNOP/FHIR/TRE-R06-SectionTableauCNOP",
            "code": "A"}]})
    );
    assert_eq!(
        pharmacist["organization"]["reference"],
        "Organization/eg-139990001"
    );
    assert_eq!(
        pharmacist["identifier"][0]["value"],
        "SE/819990000033/R19990000033/FON-03/L/GENR01/A"
    );
}

#[test]
fn organizations_match_the_ans_examples_and_profile() {
    let varied = varied();
    let profile = Profile::load("as-dp-organization", SD_ORGANIZATION);
    let eg = parse(EX_ORG_EG);
    let ej = parse(EX_ORG_EJ);
    let cabinet = parse(EX_ORG_CABINET);
    let examples_union: BTreeSet<IdTuple> = [&eg, &ej, &cabinet]
        .into_iter()
        .flat_map(identifier_tuples)
        .collect();
    // SIRET and SIREN slices of the profile, which no DP example shows (use official: A).
    let sirene = |code: &str| {
        (
            Some("official".to_owned()),
            "https://sirene.fr".to_owned(),
            Some("https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203".to_owned()),
            Some(code.to_owned()),
        )
    };
    let mut allowed = examples_union.clone();
    allowed.insert(sirene("SIRET"));
    allowed.insert(sirene("SIREN"));
    let without = |example: &Value, code: &str| -> BTreeSet<IdTuple> {
        identifier_tuples(example)
            .into_iter()
            .filter(|t| t.3.as_deref() != Some(code))
            .collect()
    };
    // Slice names the org-types extension may carry: slices of Organization.type that
    // declare it.
    let typed_slices: BTreeSet<String> = profile
        .elements
        .iter()
        .filter_map(|e| {
            let id = e["id"].as_str()?;
            let slice = id
                .strip_prefix("Organization.type:")?
                .strip_suffix(".extension:as-ext-organization-types")?;
            Some(slice.to_owned())
        })
        .collect();
    assert_eq!(
        typed_slices,
        [
            "organizationType",
            "secteurActiviteRASS",
            "statutJuridiqueINSEE",
            "sphParticipation",
            "typeEtablissement"
        ]
        .into_iter()
        .map(String::from)
        .collect()
    );

    for (what, resource) in &varied.organizations {
        check_meta(resource, &eg);
        check_against_profile(resource, &profile, true);
        let tuples = identifier_tuples(resource);
        assert!(tuples.is_subset(&allowed), "{what}: {tuples:?}");
        for t in resource["type"].as_array().unwrap() {
            if let Some(ext) = t["extension"].as_array() {
                let code = ext[0]["valueCode"].as_str().unwrap();
                assert!(typed_slices.contains(code), "{what}: {code}");
            }
        }
        let kind = &resource["type"][0];
        assert_eq!(
            kind["extension"][0]["valueCode"], "organizationType",
            "{what}"
        );
        match *what {
            "RPPS cabinet (médecin)" | "RPPS cabinet (infirmière)" => {
                assert!(
                    tuples.is_subset(&identifier_tuples(&cabinet)),
                    "{what}: {tuples:?}"
                );
                assert_eq!(kind["coding"][0]["code"], "GEOGRAPHICAL-ENTITY", "A3");
                assert_eq!(data_trace_system(resource), "RPPS");
            }
            "FINESS pharmacy merged with the pharmacist's row" => {
                assert!(
                    tuples.is_superset(&identifier_tuples(&eg)),
                    "{what}: {tuples:?}"
                );
                assert_eq!(resource["id"], "eg-139990001");
                assert_eq!(data_trace_system(resource), "FINESS");
            }
            "FINESS site absent from FINESS, built from RPPS" => {
                assert_eq!(resource["id"], "eg-139990001");
                assert!(
                    tuples.contains(&identifier_tuple(&eg["identifier"][1])),
                    "FINEG"
                );
                assert!(
                    tuples.contains(&identifier_tuple(&eg["identifier"][2])),
                    "RPPSRG"
                );
                assert_eq!(data_trace_system(resource), "RPPS");
            }
            "FINESS establishment without RPPS rows" | "FINESS overseas establishment (9D)" => {
                assert!(
                    tuples.is_superset(&without(&eg, "RPPSRG")),
                    "{what}: {tuples:?}"
                );
                assert!(!tuples.iter().any(|t| t.3.as_deref() == Some("RPPSRG")));
                assert_eq!(data_trace_system(resource), "FINESS");
            }
            "EJ stub" => {
                assert_eq!(tuples, without(&ej, "RPPSRG"));
                assert_eq!(kind["coding"], ej["type"][0]["coding"]);
                assert_eq!(data_trace_system(resource), "FINESS");
            }
            other => panic!("unexpected {other}"),
        }
    }
    // #44 e-mails: MSSanté domain -> mailbox-mss slice (fr-core email type MSSANTE); other ->
    // plain email; RPPS adds its e-mail to the FINESS establishment (A21).
    assert_eq!(
        varied.organizations[1].1["telecom"][1],
        json!({
            "extension": [{
                "url": "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-contact-point-email-type",
                "valueCoding": {
                    "system": "https://mos.esante.gouv.fr/NOS/TRE_R256-TypeMessagerie/FHIR/TRE-R256-TypeMessagerie",
                    "code": "MSSANTE"}}],
            "system": "email",
            "value": "cabinet@infirmiers-fictifs.mssante.fr"
        })
    );
    assert_eq!(
        varied.organizations[2].1["telecom"],
        json!([{"system": "phone", "value": "0490000004", "rank": 1},
               {"system": "email", "value": "contact@pharmacie-fictive.fr"}])
    );
    // The overseas establishment: COG 97411, district 974.
    let overseas = &varied.organizations[5].1;
    assert_eq!(overseas["address"][0]["district"], "974");
    assert_eq!(
        overseas["address"][0]["extension"][0]["valueCoding"]["code"],
        "97411"
    );
    assert_eq!(overseas["name"], "EHPAD \"LES FILAOS FICTIFS\"");
}

// ---------------------------------------------------------------------------------------------
// 3. Determinism
// ---------------------------------------------------------------------------------------------

fn person_bytes(rows: &[RppsRow<'_>]) -> (Vec<(String, Vec<u8>)>, BTreeMap<String, Vec<u8>>) {
    let out = practitioner::map_person(rows, &PersonExtras::default());
    let practitioners = out
        .practitioners
        .iter()
        .map(|(id, p)| (id.to_string(), fhir_json::practitioner_to_vec(p)))
        .collect();
    let roles = out
        .roles
        .iter()
        .map(|(id, r)| (id.to_string(), fhir_json::practitioner_role_to_vec(r)))
        .collect();
    (practitioners, roles)
}

#[test]
fn mapping_twice_gives_identical_bytes() {
    let layout = layout();
    let rows: Vec<RppsRow<'_>> = (1..=2)
        .map(|n| layout.split(row_text(n)).unwrap())
        .collect();
    assert_eq!(person_bytes(&rows), person_bytes(&rows));
    let finess = finess_file();
    for est in &finess.establishments {
        let once = organization::from_finess(est, Some(&rows[1]));
        let twice = organization::from_finess(est, Some(&rows[1]));
        assert_eq!(
            fhir_json::organization_to_vec(&once.1),
            fhir_json::organization_to_vec(&twice.1)
        );
    }
    let once = organization::from_rpps(&rows[0]);
    let twice = organization::from_rpps(&rows[0]);
    assert_eq!(
        fhir_json::organization_to_vec(&once.1),
        fhir_json::organization_to_vec(&twice.1)
    );
}

#[test]
fn role_ids_and_bytes_do_not_depend_on_row_order() {
    let layout = layout();
    let capa = row_text(1).replace(
        "|S|Spécialité ordinale|SM54|Médecine Générale|",
        "|CAPA|Capacité|CAP13|Capacité de gérontologie|",
    );
    let texts = [row_text(1), row_text(2), capa.as_str()];
    let forward: Vec<RppsRow<'_>> = texts.iter().map(|t| layout.split(t).unwrap()).collect();
    let backward: Vec<RppsRow<'_>> = texts
        .iter()
        .rev()
        .map(|t| layout.split(t).unwrap())
        .collect();
    let (_, roles_forward) = person_bytes(&forward);
    let (_, roles_backward) = person_bytes(&backward);
    assert_eq!(roles_forward.len(), 2);
    assert_eq!(roles_forward, roles_backward);
    let expected_ids: BTreeSet<String> = [
        role_id("SE/819990000017/C19990000017001/FON-01/L/GENR01/"),
        role_id("SE/819990000017/F219990001/FON-05/S/GENR01/"),
    ]
    .into();
    assert_eq!(
        roles_forward.keys().cloned().collect::<BTreeSet<_>>(),
        expected_ids
    );
}

/// A person's resources are the same bytes whether the file holds only that person or many
/// others around (before, between and after their rows).
#[test]
fn a_persons_resources_do_not_depend_on_unrelated_rows() {
    let alone = format!("{}\n{}\n{}\n", row_text(0), row_text(1), row_text(2));
    let mut crowded = format!("{}\n", row_text(0));
    let others = [row_text(3), row_text(4), row_text(5)];
    let filler = |n: usize| row_text(3).replace("19990000025", &format!("1999{:07}", 500 + n));
    for n in 0..20 {
        crowded.push_str(&filler(n));
        crowded.push('\n');
    }
    crowded.push_str(&format!("{}\n", row_text(1)));
    for other in others {
        crowded.push_str(&format!("{other}\n"));
    }
    for n in 20..40 {
        crowded.push_str(&filler(n));
        crowded.push('\n');
    }
    crowded.push_str(&format!("{}\n", row_text(2)));

    let keys = [
        (ResourceType::Practitioner, "pp-819990000017-10".to_owned()),
        (
            ResourceType::PractitionerRole,
            role_id("SE/819990000017/C19990000017001/FON-01/L/GENR01/"),
        ),
        (
            ResourceType::PractitionerRole,
            role_id("SE/819990000017/F219990001/FON-05/S/GENR01/"),
        ),
        (ResourceType::Organization, "st-C19990000017001".to_owned()),
        (ResourceType::Organization, "eg-219990001".to_owned()),
    ];
    let tmp_alone = tempfile::tempdir().unwrap();
    let tmp_crowded = tempfile::tempdir().unwrap();
    let (data_alone, summary_alone) =
        import(tmp_alone.path(), alone.as_bytes(), FINESS_FILE.as_bytes());
    let (data_crowded, summary_crowded) = import(
        tmp_crowded.path(),
        crowded.as_bytes(),
        FINESS_FILE.as_bytes(),
    );
    assert_eq!(summary_alone.resources.practitioner, 1);
    assert_eq!(summary_crowded.resources.practitioner, 1 + 3 + 40);
    assert_eq!(summary_crowded.rows_skipped, 0);
    let a = read_all(&data_alone, &keys);
    let c = read_all(&data_crowded, &keys);
    for ((key, bytes_alone), (_, bytes_crowded)) in a.iter().zip(&c) {
        assert!(bytes_alone.is_some(), "{key:?}");
        assert_eq!(bytes_alone, bytes_crowded, "{key:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Decisions of docs/mapping.md §8 not covered by the worked example
// ---------------------------------------------------------------------------------------------

/// Claire's cabinet row (docs/formats.md §3.5, row 1) as another person / with other structure values.
fn cabinet_row(person: &str, profession: &str, authority: &str, phone: &str) -> String {
    row_text(1)
        .replacen(
            "|19990000017|819990000017|",
            &format!("|{}|8{}|", person, person),
            1,
        )
        .replacen("|10|Médecin|", &format!("|{profession}|x|"), 1)
        .replacen("|ARS/CNOM/CNOM|", &format!("|{authority}|"), 1)
        .replacen("|0380000001|", &format!("|{phone}|"), 1)
}

fn phone_of_representative(texts: &[String]) -> String {
    let layout = layout();
    let rows: Vec<RppsRow<'_>> = texts.iter().map(|t| layout.split(t).unwrap()).collect();
    let (_, resource) = organization::from_rpps(organization::representative(&rows));
    organization_json(&resource)["telecom"][0]["value"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A21: rows of one structure disagreeing on structure data: the most frequent version wins,
/// a tie goes to the first row in file order.
#[test]
fn a21_structure_conflicts_most_frequent_then_first() {
    let a = cabinet_row("19990000017", "10", "CNOM/CNOM/CNOM", "0380000001");
    let b = cabinet_row("19990000041", "10", "CNOM/CNOM/CNOM", "0380009999");
    let c = cabinet_row("19990000058", "10", "CNOM/CNOM/CNOM", "0380009999");
    assert_eq!(
        phone_of_representative(&[a.clone(), b.clone(), c.clone()]),
        "0380009999"
    );
    assert_eq!(
        phone_of_representative(&[a.clone(), b.clone()]),
        "0380000001",
        "tie: first"
    );
    assert_eq!(
        phone_of_representative(&[b.clone(), a.clone()]),
        "0380009999",
        "tie: first"
    );
}

/// A21 with a group cabinet whose persons have different registration authorities: tokens
/// 1 and 2 of `Autorité d'enregistrement` (#48) are the person's and the activity's registrant
/// (docs/formats.md §3.3 #48, docs/mapping.md §0), not structure data, so they must not split the votes.
/// Three rows (médecin ARS, infirmier ONI, kiné CNOMK) agree on phone 0380000001; two médecins
/// registered by CNOM have 0380009999: the structure's phone is 0380000001.
#[test]
fn a21_person_registrants_do_not_split_structure_votes() {
    let rows = [
        cabinet_row("19990000017", "10", "ARS/CNOM/CNOM", "0380000001"),
        cabinet_row("19990000025", "60", "ONI/ONI/CNOM", "0380000001"),
        cabinet_row("19990000066", "70", "CNOMK/CNOMK/CNOM", "0380000001"),
        cabinet_row("19990000041", "10", "CNOM/CNOM/CNOM", "0380009999"),
        cabinet_row("19990000058", "10", "CNOM/CNOM/CNOM", "0380009999"),
    ];
    assert_eq!(phone_of_representative(&rows), "0380000001");
}

/// A22 and §1: savoir-faire systems by type; a type without terminology (`SH`) keeps only its
/// type coding; `CM` uses the SMT code system.
#[test]
fn a22_savoir_faire_systems_by_type() {
    let layout = layout();
    let cases = [
        (
            "S",
            "SM54",
            Some(
                "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale",
            ),
        ),
        (
            "C",
            "C01",
            Some("https://mos.esante.gouv.fr/NOS/TRE_R39-Competence/FHIR/TRE-R39-Competence"),
        ),
        (
            "CEX",
            "CEX1",
            Some(
                "https://mos.esante.gouv.fr/NOS/TRE_R40-CompetenceExclusive/FHIR/TRE-R40-CompetenceExclusive",
            ),
        ),
        (
            "DNQ",
            "DNQ1",
            Some(
                "https://mos.esante.gouv.fr/NOS/TRE_R42-DESCnonQualifiant/FHIR/TRE-R42-DESCnonQualifiant",
            ),
        ),
        (
            "CAPA",
            "CAP13",
            Some(
                "https://mos.esante.gouv.fr/NOS/TRE_R43-CapaciteSavoirFaire/FHIR/TRE-R43-CapaciteSavoirFaire",
            ),
        ),
        (
            "PAC",
            "PAC1",
            Some(
                "https://mos.esante.gouv.fr/NOS/TRE_R44-QualificationPAC/FHIR/TRE-R44-QualificationPAC",
            ),
        ),
        (
            "OP",
            "OP1",
            Some(
                "https://mos.esante.gouv.fr/NOS/TRE_G13-OrientationParticuliere/FHIR/TRE-G13-OrientationParticuliere",
            ),
        ),
        (
            "FQ",
            "FQ1",
            Some(
                "https://mos.esante.gouv.fr/NOS/TRE_R45-FonctionQualifiee/FHIR/TRE-R45-FonctionQualifiee",
            ),
        ),
        (
            "DEC",
            "DEC1",
            Some(
                "https://mos.esante.gouv.fr/NOS/TRE_R97-DroitExerciceCompl/FHIR/TRE-R97-DroitExerciceCompl",
            ),
        ),
        (
            "SST",
            "SST1",
            Some(
                "https://mos.esante.gouv.fr/NOS/TRE_R359-SurspecialiteTransversale/FHIR/TRE-R359-SurspecialiteTransversale",
            ),
        ),
        (
            "CM",
            "CM1",
            Some("https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r394-competence-metier"),
        ),
        ("SH", "SH1", None),
    ];
    for (kind, code, system) in cases {
        let text = row_text(1).replacen(
            "|S|Spécialité ordinale|SM54|",
            &format!("|{kind}|x|{code}|"),
            1,
        );
        let rows = vec![layout.split(&text).unwrap()];
        let out = practitioner::map_person(&rows, &PersonExtras::default());
        let p = practitioner_json(&out.practitioners[0].1);
        let coding = &p["qualification"][1]["code"]["coding"];
        let type_coding = json!({
            "system": "https://mos.esante.gouv.fr/NOS/TRE_R04-TypeSavoirFaire/FHIR/TRE-R04-TypeSavoirFaire",
            "code": kind});
        match system {
            Some(system) => assert_eq!(
                coding,
                &json!([{"system": system, "code": code}, type_coding]),
                "{kind}"
            ),
            None => assert_eq!(coding, &json!([type_coding]), "{kind}"),
        }
    }
}

/// A6: registration authorities outside JDV_J83 (`ARS`, `CPAM`, `Variable`) are omitted;
/// regional `ARS-nn` and national codes are kept, each token going to its resource.
#[test]
fn a6_registration_authorities() {
    let layout = layout();
    let authority = |resource: &Value| -> Option<String> {
        resource["meta"]["extension"][0]["extension"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["url"] == "autorite-enregistrement")
            .map(|p| {
                p["valueCodeableConcept"]["coding"][0]["code"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
    };
    for (column, expected) in [
        ("ARS/CPAM/CPAM", [None, None, None]),
        ("ARS/Variable/Variable", [None, None, None]),
        (
            "CNOM/ARS-27/ONI",
            [Some("CNOM"), Some("ARS-27"), Some("ONI")],
        ),
        ("", [None, None, None]),
    ] {
        let text = row_text(1).replacen("|ARS/CNOM/CNOM|", &format!("|{column}|"), 1);
        let rows = vec![layout.split(&text).unwrap()];
        let out = practitioner::map_person(&rows, &PersonExtras::default());
        let (_, st) = organization::from_rpps(&rows[0]);
        let got = [
            authority(&practitioner_json(&out.practitioners[0].1)),
            authority(&role_json(&out.roles[0].1)),
            authority(&organization_json(&st)),
        ];
        assert_eq!(got, expected.map(|e| e.map(str::to_owned)), "{column}");
    }
}

/// A12/A18 and the FHIR JSON format (R4 §2.6.2: "objects are never empty", a primitive
/// without extension has `null` in its `_x` array): an address line that keeps only its text
/// (a street type outside TRE_R35, nothing else) must not emit an empty `{}` in `_line`.
#[test]
fn a12_text_only_address_line_has_no_empty_object() {
    let layout = layout();
    let text = row_text(1).replacen("|12||R|Rue|DES TILLEULS FICTIFS|", "|||XYZ|Rue||", 1);
    let rows = [layout.split(&text).unwrap()];
    let (_, st) = organization::from_rpps(&rows[0]);
    let address = &organization_json(&st)["address"][0];
    assert_eq!(address["line"], json!(["XYZ"]));
    assert!(
        address.get("_line").is_none() || address["_line"] == json!([null]),
        "{address}"
    );
}

/// FHIR JSON: no resource we emit holds an empty object, array or string anywhere.
#[test]
fn no_empty_json_values_in_varied_resources() {
    fn check(path: &str, value: &Value) {
        match value {
            Value::Object(map) => {
                assert!(!map.is_empty(), "empty object at {path}");
                for (k, v) in map {
                    check(&format!("{path}.{k}"), v);
                }
            }
            Value::Array(items) => {
                assert!(!items.is_empty(), "empty array at {path}");
                for (i, v) in items.iter().enumerate() {
                    check(&format!("{path}[{i}]"), v);
                }
            }
            Value::String(s) => assert!(!s.trim().is_empty(), "blank string at {path}"),
            Value::Null => panic!("null at {path}"),
            _ => {}
        }
    }
    let varied = varied();
    for resource in varied
        .practitioners
        .iter()
        .chain([&varied.adeli])
        .chain(&varied.roles)
        .chain(varied.organizations.iter().map(|(_, o)| o))
    {
        check(resource["id"].as_str().unwrap(), resource);
    }
    for (name, _, _, resource) in finess_goldens() {
        check(name, &resource);
    }
}

/// A13: a person with two professions gets one Practitioner per profession; each role goes to
/// the Practitioner of its row's profession.
#[test]
fn a13_two_professions_two_practitioners() {
    let layout = layout();
    let as_pharmacist = row_text(4)
        .replacen(
            "|19990000033|819990000033|",
            "|19990000017|819990000017|",
            1,
        )
        .replacen("|O'NEIL|Jean-Baptiste|", "|MARTINOT|Claire|", 1);
    let rows = vec![
        layout.split(row_text(1)).unwrap(),
        layout.split(&as_pharmacist).unwrap(),
    ];
    let out = practitioner::map_person(&rows, &PersonExtras::default());
    let ids: Vec<&str> = out
        .practitioners
        .iter()
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(ids, ["pp-819990000017-10", "pp-819990000017-21"]);
    let pharmacist = practitioner_json(&out.practitioners[1].1);
    assert_eq!(
        pharmacist["qualification"],
        json!([{"code": {"coding": [
            {"system": "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante", "code": "21"},
            {"system": "https://mos.esante.gouv.fr/NOS/TRE_R09-CategorieProfessionnelle/FHIR/TRE-R09-CategorieProfessionnelle", "code": "C"}]}}])
    );
    let references: Vec<Value> = out
        .roles
        .iter()
        .map(|(_, r)| role_json(r)["practitioner"]["reference"].clone())
        .collect();
    assert_eq!(
        references,
        [
            json!("Practitioner/pp-819990000017-10"),
            json!("Practitioner/pp-819990000017-21")
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// 4. The other FINESS extractions: legal entities, healthcare activities, social and heavy
//    equipment (docs/mapping.md §5, §5b, §5c)
// ---------------------------------------------------------------------------------------------

/// The `structureej` line of docs/formats.md (the legal entities file's synthetic example).
const LINE_EJ: &str = "structureej;010099991;CH TESTVILLE;CENTRE HOSPITALIER DE TESTVILLE;;12;R;DES ESSAIS;;;;451;01440 TESTVILLE;01;AIN;0400000000;13;Etablissement Public Communal d'Hospitalisation;;;260100000;8610Z;1970-01-01";
/// An authorised healthcare activity of the worked example's hospital (`219990001`, legal
/// entity `219990002`): synthetic codes and labels.
const LINE_ACTIVITY: &str = "activiteoffresoin;219990002;CH IMAGINAIRE;04;Chirurgie;01;Hospitalisation complète;07;Chirurgie ambulatoire;21-0000123;2021-06-01;219990001;CH IMAGINAIRE";
/// A social equipment of the same hospital, all 28 fields (the unconfirmed ones as the shape
/// check of docs/formats.md lets them through): an Alzheimer day-care, 12 places installed.
const LINE_SOCIAL: &str = "equipementsocial;219990001;924;Accueil pour Personnes Âgées;21;Accueil de Jour;436;Personnes Alzheimer ou maladies apparentées;S;12;4;8;10;60;;N;2020-09-01;2008-01-01;15;;;12;60;;N;2019-12-20;2024-02-01;2024-03-15";
/// Heavy equipment of the same hospital: an MRI with its ARHGOS numbers, a scanner without.
const LINE_MRI: &str = "equipmateriellourd;219990002;CH IMAGINAIRE;05701;Appareil IRM à utilisation clinique;2109999;84-82-48769;84-82-48770;2018-03-12;219990001;2019-01-07";
const LINE_SCANNER: &str = "equipmateriellourd;219990002;CH IMAGINAIRE;05602;Scanographe à utilisation médicale;2109998;;;2012-06-01;219990001;";

const GOLDEN_EJ_FULL: &str = include_str!("fixtures/golden/organization-ej-010099991-full.json");
const GOLDEN_ACTIVITY: &str = include_str!("fixtures/golden/healthcareservice-activity.json");
const GOLDEN_SOCIAL: &str = include_str!("fixtures/golden/healthcareservice-social.json");
const GOLDEN_SOCIAL_CONFIRMED: &str =
    include_str!("fixtures/golden/healthcareservice-social-confirmed-only.json");
const GOLDEN_DEVICE_ARHGOS: &str = include_str!("fixtures/golden/device-arhgos.json");
const GOLDEN_DEVICE_NO_ARHGOS: &str = include_str!("fixtures/golden/device-no-arhgos.json");

/// The fields of a synthetic line (no quoting in these), checked against its layout's count.
fn fields(line: &str, count: usize) -> Vec<String> {
    let fields: Vec<String> = line.split(';').map(str::to_owned).collect();
    assert_eq!(fields.len(), count, "{line}");
    fields
}

/// The records as the readers type them (docs/formats.md: the index of each field).
fn legal_entity_record() -> finess::LegalEntity {
    let f = fields(LINE_EJ, 23);
    finess::LegalEntity {
        line: 2,
        nofinessej: f[1].clone(),
        rs: f[2].clone(),
        rslongue: f[3].clone(),
        complrs: f[4].clone(),
        numvoie: f[5].clone(),
        typvoie: f[6].clone(),
        voie: f[7].clone(),
        compvoie: f[8].clone(),
        compldistrib: f[9].clone(),
        lieuditbp: f[10].clone(),
        commune: f[11].clone(),
        ligneacheminement: f[12].clone(),
        departement: f[13].clone(),
        libdepartement: f[14].clone(),
        telephone: f[15].clone(),
        statutjuridique: f[16].clone(),
        libstatutjuridique: f[17].clone(),
        categetab: f[18].clone(),
        libcategetab: f[19].clone(),
        siren: f[20].clone(),
        codeape: f[21].clone(),
        datecrea: f[22].clone(),
    }
}

fn activity_record() -> finess::CareActivity {
    let f = fields(LINE_ACTIVITY, 13);
    finess::CareActivity {
        line: 3,
        nofinessej: f[1].clone(),
        rsej: f[2].clone(),
        activite: f[3].clone(),
        libactivite: f[4].clone(),
        modalite: f[5].clone(),
        libmodalite: f[6].clone(),
        forme: f[7].clone(),
        libforme: f[8].clone(),
        noautor: f[9].clone(),
        dateautor: f[10].clone(),
        nofinesset: f[11].clone(),
        rset: f[12].clone(),
    }
}

fn social_record() -> finess::SocialEquipment {
    let f = fields(LINE_SOCIAL, 28);
    finess::SocialEquipment {
        line: 3,
        nofinesset: f[1].clone(),
        de: f[2].clone(),
        libde: f[3].clone(),
        ta: f[4].clone(),
        libta: f[5].clone(),
        client: f[6].clone(),
        libclient: f[7].clone(),
        sourceinfo: f[8].clone(),
        capinstot: f[9].clone(),
        capinstm: f[10].clone(),
        capinstf: f[11].clone(),
        capinsthab: f[12].clone(),
        ageminiinst: f[13].clone(),
        agemaxiinst: f[14].clone(),
        indsupinst: f[15].clone(),
        datederinst: f[16].clone(),
        datepremautor: f[17].clone(),
        capautot: f[18].clone(),
        capautm: f[19].clone(),
        capautf: f[20].clone(),
        capauthab: f[21].clone(),
        ageminiaut: f[22].clone(),
        agemaxiaut: f[23].clone(),
        indsupaut: f[24].clone(),
        dateautor: f[25].clone(),
        datemajaut: f[26].clone(),
        datemajinst: f[27].clone(),
    }
}

/// The same social equipment when the reader's shape check failed for its file (docs/mapping.md A30): the
/// unconfirmed fields are empty.
fn social_record_confirmed_only() -> finess::SocialEquipment {
    let full = social_record();
    finess::SocialEquipment {
        line: full.line,
        nofinesset: full.nofinesset,
        de: full.de,
        libde: full.libde,
        ta: full.ta,
        libta: full.libta,
        client: full.client,
        libclient: full.libclient,
        sourceinfo: full.sourceinfo,
        capinstot: full.capinstot,
        indsupinst: full.indsupinst,
        ..Default::default()
    }
}

fn heavy_equipment_record(line: &str) -> finess::HeavyEquipment {
    let f = fields(line, 11);
    finess::HeavyEquipment {
        line: 3,
        nofinessej: f[1].clone(),
        rsej: f[2].clone(),
        eml: f[3].clone(),
        libeml: f[4].clone(),
        noautor: f[5].clone(),
        noautorarhgos: f[6].clone(),
        noimplarhgos: f[7].clone(),
        dateautor: f[8].clone(),
        nofinesset: f[9].clone(),
        datemeo: f[10].clone(),
    }
}

/// The labels the import collects from these records before mapping them (A23).
fn finess_displays() -> Displays {
    let mut labels = Labels::default();
    labels.legal_entity(&legal_entity_record());
    labels.care_activity(&activity_record());
    labels.social_equipment(&social_record());
    labels.heavy_equipment(&heavy_equipment_record(LINE_MRI));
    labels.heavy_equipment(&heavy_equipment_record(LINE_SCANNER));
    labels.displays()
}

/// A mapped FINESS resource as the import stores it: displays, then version.
fn stored_finess(content: Vec<u8>) -> Value {
    with_version(finess_displays().describe(&content))
}

/// Every golden of this section: (file name, expected JSON, id, the resource as stored).
fn finess_goldens() -> Vec<(&'static str, &'static str, String, Value)> {
    use annuaire::mapping::{device, healthcare_service};
    let service = |(id, r): (annuaire::fhir::FhirId, fhir_json::HealthcareService)| {
        (
            id.to_string(),
            stored_finess(fhir_json::healthcare_service_to_vec(&r)),
        )
    };
    let device = |line: &str| {
        let (id, r) = device::from_heavy_equipment(&heavy_equipment_record(line));
        (id.to_string(), stored_finess(fhir_json::device_to_vec(&r)))
    };
    let (ej_id, ej) = organization::from_legal_entity(&legal_entity_record());
    let rows = [
        (
            "organization-ej-010099991-full.json",
            GOLDEN_EJ_FULL,
            (
                ej_id.to_string(),
                stored_finess(fhir_json::organization_to_vec(&ej)),
            ),
        ),
        (
            "healthcareservice-activity.json",
            GOLDEN_ACTIVITY,
            service(healthcare_service::from_care_activity(&activity_record())),
        ),
        (
            "healthcareservice-social.json",
            GOLDEN_SOCIAL,
            service(healthcare_service::from_social_equipment(&social_record())),
        ),
        (
            "healthcareservice-social-confirmed-only.json",
            GOLDEN_SOCIAL_CONFIRMED,
            service(healthcare_service::from_social_equipment(
                &social_record_confirmed_only(),
            )),
        ),
        ("device-arhgos.json", GOLDEN_DEVICE_ARHGOS, device(LINE_MRI)),
        (
            "device-no-arhgos.json",
            GOLDEN_DEVICE_NO_ARHGOS,
            device(LINE_SCANNER),
        ),
    ];
    rows.into_iter()
        .map(|(name, golden, (id, value))| (name, golden, id, value))
        .collect()
}

/// Each FINESS record gives exactly its golden resource (docs/mapping.md §5, §5b, §5c).
#[test]
fn finess_records_map_to_their_golden_resources() {
    for (name, golden, id, actual) in finess_goldens() {
        assert_eq!(actual["id"], id.as_str(), "{name}");
        assert_json_eq(&actual, &parse(golden), name);
    }
}

/// The ids follow the source keys (§0): `ej-` + number, `asr-` / `ess-` + the readable key,
/// `eml-` + a hash.
#[test]
fn finess_service_ids_are_their_source_keys() {
    let ids: Vec<String> = finess_goldens()
        .into_iter()
        .map(|(_, _, id, _)| id)
        .collect();
    assert_eq!(ids[0], "ej-010099991");
    assert_eq!(ids[1], "asr-219990001-04-01-07");
    assert_eq!(ids[2], "ess-219990001-924-21-436");
    assert_eq!(
        ids[3], ids[2],
        "the unconfirmed fields are not part of the key"
    );
    assert!(ids[4].starts_with("eml-") && ids[4].len() == 4 + 32);
    assert_ne!(ids[4], ids[5]);
}

/// The profile traps of docs/mapping.md §9 for these types, on the golden resources.
#[test]
fn finess_services_keep_clear_of_the_profile_traps() {
    let goldens = finess_goldens();
    let by_name = |name: &str| {
        goldens
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|(.., v)| v.clone())
            .unwrap()
    };
    // The ARHGOS system has no trailing slash.
    let mri = by_name("device-arhgos.json");
    assert_eq!(
        mri["identifier"][0]["system"],
        "https://arhgos.ars.sante.fr"
    );
    // A Device has no `active`, and nothing the file does not carry.
    for absent in ["active", "manufacturer", "modelNumber", "serialNumber"] {
        assert!(mri.get(absent).is_none(), "Device.{absent}");
    }
    // Social equipment: no identifier (max 0), no category (max 0); ages in UCUM years.
    let social = by_name("healthcareservice-social.json");
    assert!(social.get("identifier").is_none() && social.get("category").is_none());
    let ranges = instances(&social, &["extension", "extension", "value[x]"]);
    let quantities: Vec<&Value> = ranges
        .iter()
        .flat_map(|r| [r.get("low"), r.get("high")])
        .flatten()
        .collect();
    assert!(!quantities.is_empty());
    for quantity in quantities {
        assert_eq!(quantity["system"], "http://unitsofmeasure.org");
        assert_eq!(quantity["code"], "a");
    }
    // The activity: no specialty (max 0 in the as-dp profile), no identifier (docs/mapping.md A27).
    let activity = by_name("healthcareservice-activity.json");
    assert!(activity.get("specialty").is_none() && activity.get("identifier").is_none());
}

/// The golden FINESS resources have an XML form (the new value types included: ranges,
/// integers, booleans, periods).
#[test]
fn finess_goldens_are_written_as_xml() {
    for (name, _, _, resource) in finess_goldens() {
        let json = serde_json::to_vec(&resource).unwrap();
        let xml = annuaire::fhir::xml::from_json(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
        let xml = String::from_utf8(xml).unwrap();
        if name == "healthcareservice-social.json" {
            for part in [
                r#"<extension url="installedCapacity"><valueInteger value="12"/></extension>"#,
                r#"<extension url="deletedInstallation"><valueBoolean value="false"/></extension>"#,
                r#"<valueRange><low><value value="60.0"/><unit value="a"/>"#,
            ] {
                assert!(xml.contains(part), "{name}: {part} in {xml}");
            }
        }
    }
}
