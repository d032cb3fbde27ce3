//! Generated hostile input for the parsers a stranger's bytes reach: the search query parser
//! (every parameter, modifier, chain, prefix and result parameter, with odd values), the
//! `_history` parameters, and the extraction line parsers and the mapping behind them (fixture
//! rows with fields replaced by empty, huge, non-Latin, separator-laden or malformed values).
//! Over 100 000 inputs in all; none may panic, every refusal of a query must be a 4xx, and the
//! line guard must stop exactly at the first line over its limit.
//!
//! `ANNUAIRE_FUZZ_SCALE` multiplies the case counts (e.g. 10 for a longer local run).

use std::io::Read;
use std::path::Path;

use actix_web::ResponseError;
use annuaire::extract::decode::{LineGuard, decode_line};
use annuaire::extract::mssante::MailboxFile;
use annuaire::extract::qualifications::{DiplomaFile, SavoirFaireFile};
use annuaire::extract::{finess, rpps};
use annuaire::fhir::ResourceType;
use annuaire::http::error::ApiError;
use annuaire::mapping::practitioner::{PersonExtras, map_person};
use annuaire::mapping::{organization, practitioner};
use annuaire::search::cursor::CursorKey;
use annuaire::search::history::{self, Scope};
use annuaire::search::limits::Limits;
use annuaire::search::params::Registry;
use annuaire::search::query::parse_within;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

const RPPS: &str = include_str!("fixtures/extract/PS_LibreAcces_Personne_activite_synthetic.txt");
const FINESS: &str = include_str!("fixtures/extract/etalab-cs1100507-stock-synthetic.csv");
const MSSANTE: &str =
    include_str!("fixtures/extract/Extraction_Correspondance_MSSante_synthetic.txt");
const SAVOIR_FAIRE: &str = include_str!("fixtures/extract/PS_LibreAcces_SavoirFaire_synthetic.txt");
const DIPLOMAS: &str = include_str!("fixtures/extract/PS_LibreAcces_Dipl_AutExerc_synthetic.txt");

/// Cases per target, times `ANNUAIRE_FUZZ_SCALE`.
fn cases(base: u32) -> u32 {
    let scale = std::env::var("ANNUAIRE_FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(1);
    base.saturating_mul(scale.max(1))
}

/// A deterministic runner (same inputs every run; a failure prints the input that broke).
fn runner(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]))
}

fn run<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    runner(cases)
        .run(&strategy, test)
        .unwrap_or_else(|e| panic!("{e}"));
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/// A value a client or a file could put anywhere.
fn odd_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[0-9]{1,14}",
        "-?[0-9]{1,25}",
        "[a-zA-Zéèêàçœ' -]{1,20}",
        "\\PC{0,24}",
        "[|;,$\\\\:.\"'\t ]{1,6}",
        "(eq|ne|gt|lt|ge|le|sa|eb|ap)?[0-9]{4}(-[0-9]{2}(-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2})?(Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?",
        "[0-9]{2}/[0-9]{2}/[0-9]{4}",
        "(https?://[a-z.]{1,12}/[a-z/]{0,12})?\\|[A-Za-z0-9]{0,10}",
        "[A-Za-z]{1,12}/[A-Za-z0-9.-]{1,20}",
        (1usize..70_000).prop_map(|n| "é".repeat(n / 2)),
    ]
}

// ---------------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------------

const RESULT_PARAMETERS: &[&str] = &[
    "_sort",
    "_count",
    "_include",
    "_revinclude",
    "_include:iterate",
    "_revinclude:iterate",
    "_elements",
    "_summary",
    "_total",
    "_cursor",
    "_format",
    "_lastUpdated",
    "_id",
    "_has:PractitionerRole:practitioner:role",
    "_has:PractitionerRole:organization:active",
    "_has:Nope:x:y",
    "_has",
];

/// Parameter names for `rtype`: declared ones with every modifier (and bad ones), chains,
/// result parameters, and strangers.
fn parameter_name(rtype: ResourceType) -> BoxedStrategy<String> {
    let mut names: Vec<String> = RESULT_PARAMETERS.iter().map(|s| s.to_string()).collect();
    for param in Registry::get().for_type(rtype) {
        names.push(param.code.clone());
        for modifier in param.modifiers.iter().map(String::as_str).chain([
            "bogus",
            "",
            "missing",
            "not",
            "exact",
            "contains",
            "text",
            "of-type",
            "identifier",
        ]) {
            names.push(format!("{}:{modifier}", param.code));
        }
        if let Some(target) = param.target() {
            for chained in Registry::get().for_type(target) {
                names.push(format!("{}.{}", param.code, chained.code));
                names.push(format!("{}:{target}.{}", param.code, chained.code));
            }
            names.push(format!("{}.{}.{}", param.code, param.code, param.code));
        }
    }
    prop_oneof![
        9 => proptest::sample::select(names),
        1 => "[a-z_:.\\-]{0,20}",
    ]
    .boxed()
}

/// Values shaped for the result parameters, or odd ones.
fn parameter_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => odd_value(),
        1 => vec("-?(_id|_lastUpdated|family|given|name|role|specialty|[a-z]{1,8})", 0..8).prop_map(|keys| keys.join(",")),
        1 => "(Practitioner|PractitionerRole|Organization|HealthcareService|Device|\\*|[A-Za-z]{1,8})(:[a-z\\-]{1,14}(:[A-Za-z]{1,12})?)?",
        1 => vec(odd_value(), 0..60).prop_map(|values| values.join(",")),
        1 => "(true|false|count|data|text|accurate|estimate|none|json|xml)",
        1 => "[A-Za-z0-9_\\-.=]{0,80}",
    ]
}

fn query() -> impl Strategy<Value = (ResourceType, Vec<(String, String)>, bool)> {
    (
        proptest::sample::select(ResourceType::ALL.to_vec()),
        any::<bool>(),
    )
        .prop_flat_map(|(rtype, strict)| {
            (
                Just(rtype),
                vec((parameter_name(rtype), parameter_value()), 0..12),
                Just(strict),
            )
        })
}

#[test]
fn the_query_parser_refuses_with_a_4xx_and_never_panics() {
    let key = CursorKey::new(b"fuzz");
    let limits = Limits::default();
    run(cases(50_000), query(), |(rtype, params, strict)| {
        match parse_within(rtype, &params, strict, &limits, &key) {
            Ok(request) => {
                prop_assert!(request.sort.len() <= limits.max_sort_keys);
            }
            Err(error) => {
                let status = ApiError::from(error).status_code();
                prop_assert!(status.is_client_error(), "{status} for {params:?}");
            }
        }
        Ok(())
    });
}

#[test]
fn the_history_parameters_are_parsed_or_refused_with_a_4xx() {
    let key = CursorKey::new(b"fuzz");
    let names = proptest::sample::select(vec![
        "_since", "_at", "_count", "_cursor", "_format", "_list", "_sort", "x",
    ]);
    run(
        cases(10_000),
        vec((names, parameter_value()), 0..6),
        |params| {
            let params: Vec<(String, String)> =
                params.into_iter().map(|(n, v)| (n.to_owned(), v)).collect();
            if let Err(error) = history::parse(Scope::System, &params, &key) {
                let status = ApiError::from(error).status_code();
                prop_assert!(status.is_client_error(), "{status} for {params:?}");
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Extraction lines
// ---------------------------------------------------------------------------------------------

fn header_and_rows(text: &'static str) -> (&'static str, Vec<&'static str>) {
    let mut lines = text.lines().filter(|l| !l.is_empty());
    (lines.next().unwrap(), lines.collect())
}

/// A fixture row with some of its `separator`-separated fields replaced by odd values, fields
/// added or dropped, or a line of anything.
fn mutated_line(rows: Vec<&'static str>, separator: char) -> impl Strategy<Value = String> {
    let mutated = (
        proptest::sample::select(rows),
        vec(proptest::option::weighted(0.25, odd_value()), 0..64),
        -2i32..3,
    )
        .prop_map(move |(row, replacements, extra)| {
            let mut fields: Vec<String> = row.split(separator).map(str::to_owned).collect();
            for (field, replacement) in fields.iter_mut().zip(replacements) {
                if let Some(value) = replacement {
                    *field = value;
                }
            }
            match extra {
                e if e < 0 => {
                    fields.truncate(fields.len().saturating_sub(e.unsigned_abs() as usize))
                }
                e => fields.extend((0..e).map(|_| String::new())),
            }
            fields.join(&separator.to_string())
        });
    prop_oneof![9 => mutated, 1 => "\\PC{0,200}"]
}

#[test]
fn rpps_rows_and_their_mapping_never_panic() {
    let (header, rows) = header_and_rows(RPPS);
    let layout = rpps::Layout::from_header(header).unwrap();
    let (sf_header, sf_rows) = header_and_rows(SAVOIR_FAIRE);
    let sf = SavoirFaireFile::from_header(sf_header).unwrap();
    let (dipl_header, dipl_rows) = header_and_rows(DIPLOMAS);
    let diplomas = DiplomaFile::from_header(dipl_header).unwrap();
    let (mss_header, mss_rows) = header_and_rows(MSSANTE);
    let mailboxes = MailboxFile::from_header(mss_header).unwrap();
    let person = (
        vec(mutated_line(rows, '|'), 1..4),
        vec(mutated_line(sf_rows, '|'), 0..3),
        vec(mutated_line(dipl_rows, '|'), 0..3),
        vec(mutated_line(mss_rows, '|'), 0..3),
    );
    run(
        cases(25_000),
        person,
        |(rpps_lines, sf_lines, dipl_lines, mss_lines)| {
            let rows: Vec<_> = rpps_lines
                .iter()
                .filter_map(|l| layout.split(l).ok())
                .collect();
            let extras = PersonExtras {
                savoir_faire: sf_lines.iter().filter_map(|l| sf.parse(l).ok()).collect(),
                diplomas: dipl_lines
                    .iter()
                    .filter_map(|l| diplomas.parse(l).ok())
                    .collect(),
                mailboxes: mss_lines
                    .iter()
                    .filter_map(|l| mailboxes.parse(l).ok())
                    .collect(),
            };
            // The import maps one person's rows together.
            let mut by_person: std::collections::BTreeMap<&str, Vec<_>> = Default::default();
            for row in &rows {
                by_person
                    .entry(row.person_key())
                    .or_default()
                    .push(row.clone());
            }
            for rows in by_person.values() {
                let resources = map_person(rows, &extras);
                for (_, practitioner) in &resources.practitioners {
                    serde_json::to_vec(practitioner).unwrap();
                }
                for (_, role) in &resources.roles {
                    serde_json::to_vec(role).unwrap();
                }
                for row in rows {
                    let _ = practitioner::activity_identifier(row);
                    if row.structure_key().is_some() {
                        let (_, org) = organization::from_rpps(row);
                        serde_json::to_vec(&org).unwrap();
                    }
                }
            }
            Ok(())
        },
    );
}

#[test]
fn finess_files_and_their_mapping_never_panic() {
    let mut lines = FINESS.lines();
    let manifest = lines.next().unwrap();
    let records: Vec<&'static str> = lines.filter(|l| !l.is_empty()).collect();
    let files = (
        prop_oneof![4 => Just(manifest.to_owned()), 1 => mutated_line(vec![manifest], ';')],
        vec(mutated_line(records, ';'), 0..6),
        proptest::sample::select(vec!["\n", "\r\n", "\r"]),
    );
    run(cases(10_000), files, |(manifest, records, newline)| {
        let text = std::iter::once(manifest)
            .chain(records)
            .collect::<Vec<_>>()
            .join(newline);
        let guarded = LineGuard::new(text.as_bytes(), annuaire::extract::decode::MAX_LINE_BYTES);
        if let Ok(file) = finess::read_from(Path::new("fuzz.csv"), guarded) {
            for establishment in &file.establishments {
                let (_, org) = organization::from_finess(establishment, None);
                serde_json::to_vec(&org).unwrap();
            }
        }
        Ok(())
    });
}

/// One record of each tag the FINESS files other than the establishments one hold
/// (docs/formats.md §4.5–§4.8, synthetic), and the `structureet` link the activity and equipment
/// files start with.
const FINESS_OTHER_RECORDS: [&str; 5] = [
    "structureet;219990001;219990002",
    "structureej;219990002;CH IMAGINAIRE;CENTRE HOSPITALIER IMAGINAIRE;;2;AV;DU DOCTEUR INVENTE;;;CS 90000;231;21079 DIJON CEDEX;21;COTE D OR;0380000002;13;Etablissement Public;355;Centre Hospitalier;999000001;8610Z;1975-01-01",
    "equipmateriellourd;219990002;CH IMAGINAIRE;05602;Scanographe;2001;84-21-00001;84-21-10001;01/03/2019;219990001;2019-09-01",
    "equipementsocial;9D9990001;924;Accueil;11;Hébergement;711;Personnes Âgées;S;80;40;40;80;60;130;N;2020-01-01;2001-05-01;80;40;40;80;60;130;N;2001-05-01;2024-01-01;2024-01-01",
    "activiteoffresoin;219990002;CH IMAGINAIRE;01;Médecine;03;Hospitalisation complète;00;Pas de forme;1001;2019-03-01;219990001;CH IMAGINAIRE",
];

/// Files mixing the tags of every FINESS kind, mutated: the reader classifies or refuses them,
/// never panics, and whatever it keeps maps to resources that serialize.
#[test]
fn finess_files_of_mixed_kinds_never_panic() {
    use annuaire::mapping::{device, healthcare_service};
    let manifest = FINESS.lines().next().unwrap();
    let records = (
        vec(mutated_line(FINESS_OTHER_RECORDS.to_vec(), ';'), 0..8),
        proptest::sample::select(vec!["\n", "\r\n"]),
    );
    run(cases(5_000), records, |(records, newline)| {
        let text = std::iter::once(manifest.to_owned())
            .chain(records)
            .collect::<Vec<_>>()
            .join(newline);
        if let Ok(file) = finess::read_from(Path::new("fuzz.csv"), text.as_bytes()) {
            for entity in &file.legal_entities {
                serde_json::to_vec(&organization::from_legal_entity(entity).1).unwrap();
            }
            for activity in &file.activities {
                serde_json::to_vec(&healthcare_service::from_care_activity(activity).1).unwrap();
            }
            for equipment in &file.social_equipment {
                serde_json::to_vec(&healthcare_service::from_social_equipment(equipment).1)
                    .unwrap();
            }
            for unit in &file.heavy_equipment {
                serde_json::to_vec(&device::from_heavy_equipment(unit).1).unwrap();
            }
            prop_assert!(file.rejected.windows(2).all(|w| w[0].line <= w[1].line));
        }
        Ok(())
    });
}

/// UTF-8 is taken as it is; anything else is read as Windows-1252 (one character per byte),
/// unless it holds a byte Windows-1252 leaves undefined.
#[test]
fn any_bytes_decode_or_are_refused() {
    use annuaire::extract::decode::Encoding;
    let bytes = prop_oneof![
        vec(any::<u8>(), 0..300),
        "\\PC{0,100}".prop_map(String::into_bytes),
    ];
    run(cases(10_000), bytes, |bytes| {
        let utf8 = std::str::from_utf8(&bytes).ok();
        match decode_line(&bytes) {
            Ok((text, Encoding::Utf8)) => prop_assert_eq!(Some(text.as_ref()), utf8),
            Ok((text, Encoding::Windows1252)) => {
                prop_assert!(utf8.is_none());
                prop_assert_eq!(text.chars().count(), bytes.len());
            }
            Err(_) => {
                prop_assert!(utf8.is_none());
                prop_assert!(
                    bytes
                        .iter()
                        .any(|b| [0x81, 0x8D, 0x8F, 0x90, 0x9D].contains(b))
                );
            }
        }
        Ok(())
    });
}

/// The line guard passes every byte of a file whose lines fit, and stops at the first line over
/// the limit, naming it.
#[test]
fn the_line_guard_stops_exactly_at_the_first_long_line() {
    const LIMIT: usize = 40;
    let lines = vec(
        prop_oneof![5 => 0usize..LIMIT + 1, 1 => LIMIT + 1..200],
        0..20,
    );
    run(cases(5_000), lines, |lengths| {
        let text: String = lengths
            .iter()
            .map(|n| format!("{}\n", "a".repeat(*n)))
            .collect();
        let mut out = Vec::new();
        let result = LineGuard::new(text.as_bytes(), LIMIT).read_to_end(&mut out);
        match lengths.iter().position(|n| *n > LIMIT) {
            None => {
                prop_assert!(result.is_ok());
                prop_assert_eq!(out, text.as_bytes());
            }
            Some(index) => {
                let error = result.expect_err("a line over the limit");
                let too_long = error
                    .get_ref()
                    .and_then(|e| e.downcast_ref::<annuaire::extract::LineTooLong>())
                    .copied()
                    .expect("a LineTooLong error");
                prop_assert_eq!(too_long.line, index as u64 + 1);
            }
        }
        Ok(())
    });
}
