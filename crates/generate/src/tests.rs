//! Tests of the generator: determinism, exact formats, consistency of the side files with the RPPS
//! and FINESS files, and presence of every quirk at 2000 persons (the forced ones at 100).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

mod days;
mod more_finess;

use super::tables::{RPPS_COLUMNS, RPPS_HEADER};
use super::{
    DIPLOMAS_FILE_NAME, FINESS_FILE_NAME, GenerateOptions, GeneratedFiles, MSSANTE_FILE_NAME,
    RPPS_FILE_NAME, SAVOIR_FAIRE_FILE_NAME, generate,
};

/// The verbatim 56-column header of docs/formats.md §3.3, kept here independently of `tables.rs`.
const EXPECTED_HEADER: &str = "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Code civilité d'exercice|Libellé civilité d'exercice|Code civilité|Libellé civilité|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code catégorie professionnelle|Libellé catégorie professionnelle|Code type savoir-faire|Libellé type savoir-faire|Code savoir-faire|Libellé savoir-faire|Code mode exercice|Libellé mode exercice|Numéro SIRET site|Numéro SIREN site|Numéro FINESS site|Numéro FINESS établissement juridique|Identifiant technique de la structure|Raison sociale site|Enseigne commerciale site|Complément destinataire (coord. structure)|Complément point géographique (coord. structure)|Numéro Voie (coord. structure)|Indice répétition voie (coord. structure)|Code type de voie (coord. structure)|Libellé type de voie (coord. structure)|Libellé Voie (coord. structure)|Mention distribution (coord. structure)|Bureau cedex (coord. structure)|Code postal (coord. structure)|Code commune (coord. structure)|Libellé commune (coord. structure)|Code pays (coord. structure)|Libellé pays (coord. structure)|Téléphone (coord. structure)|Téléphone 2 (coord. structure)|Télécopie (coord. structure)|Adresse e-mail (coord. structure)|Code Département (structure)|Libellé Département (structure)|Ancien identifiant de la structure|Autorité d'enregistrement|Code secteur d'activité|Libellé secteur d'activité|Code section tableau pharmaciens|Libellé section tableau pharmaciens|Code rôle|Libellé rôle|Code genre activité|Libellé genre activité";

// 0-based RPPS column indexes used below.
const TYPE: usize = 0;
const ID: usize = 1;
const NATIONAL_ID: usize = 2;
const FAMILY: usize = 7;
const GIVEN: usize = 8;
const PROFESSION: usize = 9;
const SAVOIR_FAIRE: usize = 15;
const MODE: usize = 17;
const SIRET_SITE: usize = 19;
const SIREN_SITE: usize = 20;
const FINESS_SITE: usize = 21;
const FINESS_EJ: usize = 22;
const STRUCTURE_ID: usize = 23;
const BUREAU_CEDEX: usize = 34;
const POSTCODE: usize = 35;
const COMMUNE: usize = 36;
const COUNTRY: usize = 38;
const PHONE: usize = 40;
const DEPARTMENT: usize = 44;
const AUTHORITY: usize = 47;
const SECTOR: usize = 48;
const SECTION: usize = 50;

/// Contents of the files of one generation.
struct Output {
    files: GeneratedFiles,
    rpps: String,
    finess: String,
    savoir_faire: String,
    diplomas: String,
    mssante: String,
    legal_entities: String,
    heavy_equipment: String,
    /// Decoded from Windows-1252.
    social_equipment: String,
    social_equipment_bytes: Vec<u8>,
    activities: String,
}

fn run(persons: u64, seed: u64) -> Output {
    run_options(&GenerateOptions::new(persons, seed))
}

/// Generates with any options (any day) and reads the five files.
fn run_options(options: &GenerateOptions) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = generate(options, dir.path()).expect("generation");
    let rpps = std::fs::read_to_string(&files.rpps).expect("rpps file is UTF-8");
    let finess = std::fs::read_to_string(&files.finess).expect("finess file is UTF-8");
    let read = |path| std::fs::read_to_string(path).expect("side file is UTF-8");
    let savoir_faire = read(&files.savoir_faire);
    let diplomas = read(&files.diplomas);
    let mssante = read(&files.mssante);
    let legal_entities = read(&files.legal_entities);
    let heavy_equipment = read(&files.heavy_equipment);
    let activities = read(&files.activities);
    let social_bytes = std::fs::read(&files.social_equipment).expect("social equipment file");
    let (social_equipment, _, malformed) = encoding_rs::WINDOWS_1252.decode(&social_bytes);
    assert!(!malformed, "the social equipment file is Windows-1252");
    let social_equipment = social_equipment.into_owned();
    Output {
        social_equipment_bytes: social_bytes,
        legal_entities,
        heavy_equipment,
        social_equipment,
        activities,
        files,
        rpps,
        finess,
        savoir_faire,
        diplomas,
        mssante,
    }
}

/// The 2000-person generation shared by the quirk tests.
fn sample() -> &'static Output {
    static SAMPLE: OnceLock<Output> = OnceLock::new();
    SAMPLE.get_or_init(|| run(2000, 20261101))
}

/// RPPS data rows split on `|` (no quoting in this format).
fn rpps_rows(out: &Output) -> Vec<Vec<&str>> {
    out.rpps
        .lines()
        .skip(1)
        .map(|line| line.split('|').collect())
        .collect()
}

/// Minimal RFC-4180 splitter for one `;`-separated line (test-only).
fn split_quoted(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') => quoted = true,
            (false, ';') => fields.push(String::new()),
            (_, other) => fields.last_mut().unwrap().push(other),
        }
    }
    assert!(!quoted, "unterminated quote in {line}");
    fields
}

fn structureet(out: &Output) -> Vec<Vec<String>> {
    out.finess
        .lines()
        .filter(|l| l.starts_with("structureet;"))
        .map(split_quoted)
        .collect()
}

fn geolocalisations(out: &Output) -> Vec<Vec<String>> {
    out.finess
        .lines()
        .filter(|l| l.starts_with("geolocalisation;"))
        .map(split_quoted)
        .collect()
}

/// FINESS ET → EJ.
fn finess_sites(out: &Output) -> BTreeMap<String, String> {
    structureet(out)
        .into_iter()
        .map(|f| (f[1].clone(), f[2].clone()))
        .collect()
}

fn has_activity(row: &[&str]) -> bool {
    !row[MODE].is_empty()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn same_seed_gives_identical_bytes_and_other_seed_differs() {
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let dir_c = tempfile::tempdir().unwrap();
    let opts = GenerateOptions::new(500, 7);
    let a = generate(&opts, dir_a.path()).unwrap();
    let b = generate(&opts, dir_b.path()).unwrap();
    let c = generate(&GenerateOptions::new(500, 8), dir_c.path()).unwrap();
    assert_eq!(
        std::fs::read(&a.rpps).unwrap(),
        std::fs::read(&b.rpps).unwrap()
    );
    assert_eq!(
        std::fs::read(&a.finess).unwrap(),
        std::fs::read(&b.finess).unwrap()
    );
    assert_eq!(a.stats, b.stats);
    assert_ne!(
        std::fs::read(&a.rpps).unwrap(),
        std::fs::read(&c.rpps).unwrap()
    );
    assert_ne!(
        std::fs::read(&a.finess).unwrap(),
        std::fs::read(&c.finess).unwrap()
    );
}

#[test]
fn file_names_and_output_directory_creation() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a").join("b");
    let files = generate(&GenerateOptions::new(100, 1), &nested).unwrap();
    assert_eq!(
        files.rpps,
        nested.join("PS_LibreAcces_Personne_activite_202611010000.txt")
    );
    assert_eq!(
        files.finess,
        nested.join("etalab-cs1100507-stock-20261101-0000.csv")
    );
    assert_eq!(
        RPPS_FILE_NAME,
        "PS_LibreAcces_Personne_activite_202611010000.txt"
    );
    assert_eq!(FINESS_FILE_NAME, "etalab-cs1100507-stock-20261101-0000.csv");
    assert_eq!(
        files.savoir_faire,
        nested.join("PS_LibreAcces_SavoirFaire_202611010000.txt")
    );
    assert_eq!(
        files.diplomas,
        nested.join("PS_LibreAcces_Dipl_AutExerc_202611010000.txt")
    );
    assert_eq!(
        files.mssante,
        nested.join("Extraction_Correspondance_MSSante_202611010000.txt")
    );
    assert_eq!(
        SAVOIR_FAIRE_FILE_NAME,
        "PS_LibreAcces_SavoirFaire_202611010000.txt"
    );
    assert_eq!(
        DIPLOMAS_FILE_NAME,
        "PS_LibreAcces_Dipl_AutExerc_202611010000.txt"
    );
    assert_eq!(
        MSSANTE_FILE_NAME,
        "Extraction_Correspondance_MSSante_202611010000.txt"
    );
}

#[test]
fn zero_persons_still_writes_valid_files() {
    let out = run(0, 3);
    assert_eq!(out.rpps, format!("{EXPECTED_HEADER}|\n"));
    assert_eq!(out.files.stats.rpps_rows, 0);
    assert_eq!(out.files.stats.establishments, 20);
    assert_eq!(structureet(&out).len(), 20);
}

#[test]
fn header_is_verbatim_with_trailing_separator() {
    let out = sample();
    let first_line = out.rpps.split('\n').next().unwrap();
    assert_eq!(first_line, format!("{EXPECTED_HEADER}|"));
    assert_eq!(RPPS_HEADER, EXPECTED_HEADER);
    assert_eq!(EXPECTED_HEADER.split('|').count(), RPPS_COLUMNS);
}

#[test]
fn every_rpps_line_has_57_fields_lf_and_counts_match_stats() {
    check_every_rpps_line_has_57_fields_lf_and_counts_match_stats(sample());
}

/// See [`every_rpps_line_has_57_fields_lf_and_counts_match_stats`]; also run on later days.
fn check_every_rpps_line_has_57_fields_lf_and_counts_match_stats(out: &Output) {
    assert!(out.rpps.ends_with('\n'));
    assert!(!out.rpps.contains('\r'));
    let rows = rpps_rows(out);
    for row in &rows {
        assert_eq!(row.len(), RPPS_COLUMNS + 1, "bad row {row:?}");
        assert_eq!(row[RPPS_COLUMNS], "");
    }
    assert_eq!(rows.len() as u64, out.files.stats.rpps_rows);
    let persons: BTreeSet<&str> = rows.iter().map(|r| r[NATIONAL_ID]).collect();
    assert_eq!(persons.len() as u64, out.files.stats.persons);
    let per_person = rows.len() as f64 / persons.len() as f64;
    assert!(
        (1.3..1.65).contains(&per_person),
        "rows per person {per_person}"
    );
}

#[test]
fn identifiers_have_rpps_and_adeli_shapes() {
    check_identifiers_have_rpps_and_adeli_shapes(sample());
}

/// See [`identifiers_have_rpps_and_adeli_shapes`]; also run on later days.
fn check_identifiers_have_rpps_and_adeli_shapes(out: &Output) {
    let rows = rpps_rows(out);
    let mut adeli = 0;
    for row in &rows {
        assert_eq!(row[NATIONAL_ID], format!("{}{}", row[TYPE], row[ID]));
        match row[TYPE] {
            "8" => {
                assert_eq!(row[ID].len(), 11);
                assert!(row[ID].starts_with('1') && row[ID].bytes().all(|b| b.is_ascii_digit()));
                assert_eq!(
                    super::random::luhn_digit(&row[ID][..10]),
                    row[ID].chars().last().unwrap()
                );
            }
            "0" => {
                adeli += 1;
                assert_eq!(row[ID].len(), 9);
            }
            other => panic!("unexpected identifier type {other}"),
        }
    }
    let share = adeli as f64 / rows.len() as f64;
    assert!((0.01..0.06).contains(&share), "ADELI share {share}");
    for dept in ["2A", "2B"] {
        assert!(
            rows.iter()
                .any(|r| r[TYPE] == "0" && r[ID].starts_with(dept)),
            "no ADELI id in {dept}"
        );
    }
}

#[test]
fn names_have_accents_apostrophes_hyphens_and_particles() {
    let rows = rpps_rows(sample());
    let families: BTreeSet<&str> = rows.iter().map(|r| r[FAMILY]).collect();
    assert!(
        families.len() > 1000,
        "only {} distinct family names",
        families.len()
    );
    assert!(
        families
            .iter()
            .any(|n| n.chars().any(|c| "ÉÈÇËÏ".contains(c)))
    );
    assert!(families.iter().any(|n| n.contains('\'')));
    assert!(families.iter().any(|n| n.contains('-')));
    assert!(families.iter().any(|n| n.contains(' ')));
    assert!(families.iter().all(|n| *n == n.to_uppercase()));
    assert!(
        rows.iter()
            .any(|r| r[GIVEN] == "Aïcha" || r[GIVEN].contains('ï') || r[GIVEN].contains('ö'))
    );
    assert!(rows.iter().any(|r| r[GIVEN].contains('-')));
}

#[test]
fn persons_without_activity_have_empty_activity_columns() {
    let rows = rpps_rows(sample());
    let idle: Vec<_> = rows.iter().filter(|r| !has_activity(r)).collect();
    assert!(!idle.is_empty());
    for row in &idle {
        assert!(row[MODE..RPPS_COLUMNS].iter().all(|f| f.is_empty()));
    }
    let share = idle.len() as f64 / rows.len() as f64;
    assert!(share < 0.1, "idle share {share}");
}

#[test]
fn exact_duplicate_rows_exist() {
    let out = sample();
    let mut seen = BTreeSet::new();
    let duplicates = out
        .rpps
        .lines()
        .skip(1)
        .filter(|l| !seen.insert(*l))
        .count();
    assert!(duplicates >= 1);
    assert!(duplicates < out.files.stats.rpps_rows as usize / 50);
}

#[test]
fn rare_person_with_two_professions() {
    let rows = rpps_rows(sample());
    let mut professions: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for row in &rows {
        professions
            .entry(row[NATIONAL_ID])
            .or_default()
            .insert(row[PROFESSION]);
    }
    assert!(professions.values().any(|p| p.len() == 2));
}

#[test]
fn two_savoir_faire_duplicate_activity_rows() {
    let rows = rpps_rows(sample());
    let mut by_activity: BTreeMap<(&str, String), BTreeSet<&str>> = BTreeMap::new();
    for row in rows
        .iter()
        .filter(|r| has_activity(r) && !r[SAVOIR_FAIRE].is_empty())
    {
        by_activity
            .entry((row[NATIONAL_ID], row[MODE..].join("|")))
            .or_default()
            .insert(row[SAVOIR_FAIRE]);
    }
    assert!(by_activity.values().any(|sf| sf.len() == 2));
}

#[test]
fn rows_of_a_person_are_scattered() {
    let rows = rpps_rows(sample());
    let mut positions: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        positions.entry(row[NATIONAL_ID]).or_default().push(i);
    }
    let far_apart = positions
        .values()
        .filter(|p| p.len() > 1 && p[p.len() - 1] - p[0] > 100)
        .count();
    assert!(
        far_apart > 50,
        "only {far_apart} persons with rows >100 lines apart"
    );
    let adjacent_only = positions
        .values()
        .filter(|p| p.len() > 1 && p.windows(2).all(|w| w[1] == w[0] + 1))
        .count();
    let multi = positions.values().filter(|p| p.len() > 1).count();
    assert!(
        adjacent_only * 5 < multi,
        "{adjacent_only} of {multi} multi-row persons are contiguous"
    );
}

#[test]
fn finess_site_numbers_match_the_finess_file_except_a_few() {
    check_finess_site_numbers_match_the_finess_file_except_a_few(sample());
}

/// See [`finess_site_numbers_match_the_finess_file_except_a_few`]; also run on later days.
fn check_finess_site_numbers_match_the_finess_file_except_a_few(out: &Output) {
    let sites = finess_sites(out);
    let rows = rpps_rows(out);
    let with_site: Vec<_> = rows.iter().filter(|r| !r[FINESS_SITE].is_empty()).collect();
    let missing = with_site
        .iter()
        .filter(|r| !sites.contains_key(r[FINESS_SITE]))
        .count();
    assert!(missing >= 1, "no deliberately missing FINESS site");
    assert!(
        missing * 50 < with_site.len(),
        "{missing} missing of {}",
        with_site.len()
    );
    for row in with_site
        .iter()
        .filter(|r| sites.contains_key(r[FINESS_SITE]))
    {
        assert_eq!(sites[row[FINESS_SITE]], row[FINESS_EJ]);
        assert!(row[STRUCTURE_ID].starts_with('F') || row[STRUCTURE_ID].starts_with('R'));
    }
}

#[test]
fn pharmacists_work_in_officines_with_sections() {
    check_pharmacists_work_in_officines_with_sections(sample());
}

/// See [`pharmacists_work_in_officines_with_sections`]; also run on later days.
fn check_pharmacists_work_in_officines_with_sections(out: &Output) {
    let rows = rpps_rows(out);
    let officine: Vec<_> = rows.iter().filter(|r| r[SECTOR] == "SA33").collect();
    assert!(!officine.is_empty());
    for row in &officine {
        assert_eq!(row[PROFESSION], "21");
        assert!(row[STRUCTURE_ID].starts_with('R'));
        assert!(!row[FINESS_SITE].is_empty());
    }
    let sections: BTreeSet<&str> = rows
        .iter()
        .map(|r| r[SECTION])
        .filter(|s| !s.is_empty())
        .collect();
    assert!(sections.is_subset(&["A", "D", "E", "G", "H"].into_iter().collect()));
    assert!(sections.len() >= 3, "sections {sections:?}");
}

#[test]
fn cabinets_are_shared_and_sometimes_spelled_differently() {
    let rows = rpps_rows(sample());
    let mut cabinets: BTreeMap<&str, (BTreeSet<&str>, BTreeSet<String>)> = BTreeMap::new();
    for row in rows.iter().filter(|r| r[STRUCTURE_ID].starts_with('C')) {
        assert_eq!(row[STRUCTURE_ID].len(), 15);
        assert_eq!(row[19].len(), 14);
        assert_eq!(&row[19][..9], row[20]);
        let entry = cabinets.entry(row[STRUCTURE_ID]).or_default();
        entry.0.insert(row[NATIONAL_ID]);
        entry.1.insert(row[19..47].join("|"));
    }
    assert!(
        cabinets.values().any(|(persons, _)| persons.len() >= 3),
        "no group practice"
    );
    assert!(
        cabinets.values().any(|(_, spellings)| spellings.len() >= 2),
        "no conflicting structure data"
    );
    assert!(rows.iter().any(|r| r[SECTOR] == "SA07") && rows.iter().any(|r| r[SECTOR] == "SA08"));
}

#[test]
fn addresses_have_the_real_quirks() {
    let rows = rpps_rows(sample());
    let active: Vec<_> = rows.iter().filter(|r| has_activity(r)).collect();
    assert!(
        active
            .iter()
            .any(|r| r[COMMUNE].is_empty() && !r[BUREAU_CEDEX].is_empty())
    );
    assert!(
        active
            .iter()
            .any(|r| r[DEPARTMENT].is_empty() && r[COUNTRY].is_empty())
    );
    assert!(active.iter().any(|r| r[BUREAU_CEDEX].contains(" CEDEX")));
    assert!(active.iter().any(|r| r[COMMUNE].starts_with("2A")
        || r[COMMUNE].starts_with("2B")
        || r[DEPARTMENT] == "2A"
        || r[DEPARTMENT] == "2B"));
    assert!(
        active
            .iter()
            .any(|r| ["971", "972", "973", "974", "976"].contains(&r[DEPARTMENT]))
    );
    let foreign: Vec<_> = active
        .iter()
        .filter(|r| r[COUNTRY].starts_with("99"))
        .collect();
    assert!(!foreign.is_empty());
    assert!(foreign.iter().all(|r| r[DEPARTMENT].is_empty()));
    assert!(
        foreign
            .iter()
            .any(|r| r[POSTCODE].len() != 5 || !r[POSTCODE].bytes().all(|b| b.is_ascii_digit()))
    );
    assert!(
        active
            .iter()
            .any(|r| r[PHONE].contains(' ') || r[PHONE].starts_with("+33"))
    );
    assert!(
        active
            .iter()
            .any(|r| r[PHONE].len() == 10 && r[PHONE].starts_with('0'))
    );
    let authorities: BTreeSet<&str> = active.iter().map(|r| r[AUTHORITY]).collect();
    for expected in [
        "CNOM/CNOM/CNOM",
        "ARS/CPAM/CPAM",
        "ARS/ARS/ARS",
        "CNOP/CNOP/CNOP",
    ] {
        assert!(authorities.contains(expected), "no {expected}");
    }
    assert!(authorities.iter().all(|a| a.split('/').count() == 3));
}

#[test]
fn finess_file_has_manifest_32_field_records_then_geolocations() {
    let out = sample();
    let lines: Vec<&str> = out.finess.lines().collect();
    assert_eq!(lines[0], "finess;etalab;99;2026-11-01");
    assert!(out.finess.ends_with('\n') && !out.finess.contains('\r'));
    let first_geo = lines
        .iter()
        .position(|l| l.starts_with("geolocalisation;"))
        .unwrap();
    assert!(
        lines[1..first_geo]
            .iter()
            .all(|l| l.starts_with("structureet;") && l.ends_with(';'))
    );
    assert!(
        lines[first_geo..]
            .iter()
            .all(|l| l.starts_with("geolocalisation;"))
    );
    let records = structureet(out);
    assert_eq!(records.len() as u64, out.files.stats.establishments);
    for record in &records {
        assert_eq!(record.len(), 32, "bad record {record:?}");
        assert_eq!(record[31], "");
        assert_eq!(record[1].len(), 9);
        assert_eq!(record[2].len(), 9);
    }
    let ids: BTreeSet<&str> = records.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(ids.len(), records.len(), "duplicate nofinesset");
    let geos = geolocalisations(out);
    assert!(geos.len() < records.len() && geos.len() * 10 > records.len() * 8);
    for geo in &geos {
        assert_eq!(geo.len(), 6);
        assert!(ids.contains(geo[1].as_str()));
        assert!(geo[2].parse::<f64>().is_ok() && geo[3].parse::<f64>().is_ok());
    }
}

#[test]
fn finess_values_needing_quotes_are_quoted() {
    let out = sample();
    assert!(
        out.finess.lines().any(|l| l.contains("\"\"")),
        "no doubled quote"
    );
    let records = structureet(out);
    assert!(records.iter().any(|r| r.iter().any(|f| f.contains('"'))));
    assert!(records.iter().any(|r| r.iter().any(|f| f.contains(';'))));
}

#[test]
fn finess_covers_categories_departments_and_legal_entities() {
    let records = structureet(sample());
    let categories: BTreeSet<&str> = records.iter().map(|r| r[18].as_str()).collect();
    for expected in ["101", "355", "500", "620", "124", "603"] {
        assert!(categories.contains(expected), "no category {expected}");
    }
    let departments: BTreeSet<&str> = records.iter().map(|r| r[13].as_str()).collect();
    for expected in ["2A", "2B", "9A", "9B", "9C", "9D", "9F"] {
        assert!(departments.contains(expected), "no departement {expected}");
    }
    let overseas = |code: &str| {
        code.starts_with('9') && code.as_bytes().get(1).is_some_and(u8::is_ascii_uppercase)
    };
    for record in records.iter().filter(|r| overseas(&r[13])) {
        assert!(record[1].starts_with("97"), "overseas FINESS {}", record[1]);
    }
    let mut per_entity: BTreeMap<&str, usize> = BTreeMap::new();
    for record in &records {
        *per_entity.entry(record[2].as_str()).or_default() += 1;
    }
    assert!(
        per_entity.values().any(|&n| n >= 2),
        "no legal entity with several establishments"
    );
}

#[test]
fn geolocations_use_lambert93_and_utm() {
    let geos = geolocalisations(sample());
    let sources: BTreeSet<&str> = geos.iter().map(|g| g[4].as_str()).collect();
    for zone in ["UTM_N20", "UTM_N22", "UTM_S40", "UTM_S38"] {
        assert!(sources.iter().any(|s| s.ends_with(zone)), "no {zone}");
    }
    assert!(sources.contains("1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93"));
    assert!(sources.iter().any(|s| s.ends_with(",BAN,L93_METROPOLE")));
    for geo in geos
        .iter()
        .filter(|g| g[4].contains("L93") || g[4].contains("LAMBERT"))
    {
        let x: f64 = geo[2].parse().unwrap();
        let y: f64 = geo[3].parse().unwrap();
        assert!(
            (50_000.0..1_300_000.0).contains(&x) && (6_000_000.0..7_150_000.0).contains(&y),
            "{geo:?}"
        );
    }
}

#[test]
fn lambert93_matches_the_reference_point() {
    // docs/formats.md §4.3 gives this point as "≈ (lon 5.25, lat 46.21)", i.e. only to two decimals of a degree.
    let (x, y) = super::geo::lambert93(5.25, 46.21);
    assert!(
        (x - 870_215.7).abs() < 5_000.0 && (y - 6_571_590.5).abs() < 5_000.0,
        "({x}, {y})"
    );
    // Île de la Cité, Paris.
    let (x, y) = super::geo::lambert93(2.3488, 48.8534);
    assert!(
        (x - 652_300.0).abs() < 1_000.0 && (y - 6_861_900.0).abs() < 1_000.0,
        "({x}, {y})"
    );
    let (x0, y0) = super::geo::lambert93(3.0, 46.5);
    assert!((x0 - 700_000.0).abs() < 0.01 && (y0 - 6_600_000.0).abs() < 0.01);
}

#[test]
fn quirks_exist_even_at_100_persons() {
    let out = run(100, 99);
    let rows = rpps_rows(&out);
    assert!(rows.iter().any(|r| r[TYPE] == "0"));
    assert!(rows.iter().any(|r| !has_activity(r)));
    let sites = finess_sites(&out);
    assert!(
        rows.iter()
            .any(|r| !r[FINESS_SITE].is_empty() && !sites.contains_key(r[FINESS_SITE]))
    );
    assert!(rows.iter().any(|r| r[COUNTRY].starts_with("99")));
    let mut seen = BTreeSet::new();
    assert!(out.rpps.lines().any(|l| !seen.insert(l)));
}

// ---------------------------------------------------------------------------------------------
// Side files: savoir-faire, diplomas, MSSanté mailboxes
// ---------------------------------------------------------------------------------------------

/// Verbatim headers of docs/formats.md §5.2, §4 and §5.1, kept here independently of `tables.rs`.
const EXPECTED_SAVOIR_FAIRE_HEADER: &str = "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code catégorie professionnelle|Libellé catégorie professionnelle|Code type savoir-faire|Libellé type savoir-faire|Code savoir-faire|Libellé savoir-faire";
const EXPECTED_DIPLOMA_HEADER: &str = "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Nom d'exercice|Prénom d'exercice|Code type diplôme obtenu|Libellé type diplôme obtenu|Code diplôme obtenu|Libellé diplôme obtenu|Code type autorisation|Libellé type autorisation|Code discipline autorisation|Libellé discipline autorisation";
const EXPECTED_MSSANTE_HEADER: &str = "Type de BAL|Adresse BAL|Type Identifiant PP|Identifiant PP|Identification nationale PP|Type identifiant structure|Identification Structure|Service de rattachement|Civilité d'exercice|Nom d'exercice|Prénom d'exercice|Catégorie profession|Libellé de catégorie profession|Code Profession|Libellé Profession|Code savoir-faire|Libellé savoir-faire|Dématérialisation|Raison Sociale structure BAL|Enseigne commerciale structure BAL|L2COMPLEMENTLOCALISATION|L3COMPLEMENTDISTRIBUTION|L4NUMEROVOIE|L4COMPLEMENTNUMEROVOIE|NL4TYPEVOIE|L4LIBELLEVOIE|L5LIEUDITMENTION|L6LIGNEACHEMINEMENT|Code postal|Département|Pays";

// 0-based savoir-faire / diploma file column indexes (columns 1–5 are the person's).
const SF_FAMILY: usize = 3;
const SF_GIVEN: usize = 4;
const SF_PROFESSION: usize = 5;
const SF_CATEGORY: usize = 7;
const SF_TYPE: usize = 9;
const SF_CODE: usize = 11;
const DIPLOMA_TYPE: usize = 5;
const DIPLOMA_CODE: usize = 7;
const AUTHORISATION_TYPE: usize = 9;
const DISCIPLINE: usize = 11;

// 0-based MSSanté column indexes.
const BAL_TYPE: usize = 0;
const BAL_ADDRESS: usize = 1;
const BAL_ID_TYPE: usize = 2;
const BAL_ID: usize = 3;
const BAL_NATIONAL_ID: usize = 4;
const BAL_STRUCTURE_TYPE: usize = 5;
const BAL_STRUCTURE_ID: usize = 6;
const BAL_SERVICE: usize = 7;
const BAL_FAMILY: usize = 9;
const BAL_PROFESSION: usize = 13;
const BAL_SAVOIR_FAIRE: usize = 15;
const BAL_PAPERLESS: usize = 17;
const BAL_NAME: usize = 18;
const BAL_L4_STREET: usize = 25;
const BAL_L6_ROUTING: usize = 27;
const BAL_COUNTRY: usize = 30;

/// The orphan person's `Identification nationale PP`.
const ORPHAN_NATIONAL_ID: &str = "819999999999";

/// Data lines of a `|`-separated file split on `|`.
fn pipe_rows(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .skip(1)
        .map(|line| line.split('|').collect())
        .collect()
}

fn mailboxes(out: &Output) -> Vec<Vec<&str>> {
    pipe_rows(&out.mssante)
}

/// RPPS (national id, profession) → (family, given, category) of the person.
fn rpps_registrations(out: &Output) -> BTreeMap<(&str, &str), (&str, &str, &str)> {
    rpps_rows(out)
        .into_iter()
        .map(|r| {
            (
                (r[NATIONAL_ID], r[PROFESSION]),
                (r[FAMILY], r[GIVEN], r[11]),
            )
        })
        .collect()
}

/// Lines of a file occurring more than once.
fn repeated_lines(text: &str) -> usize {
    let mut seen = BTreeSet::new();
    text.lines().skip(1).filter(|l| !seen.insert(*l)).count()
}

#[test]
fn side_file_headers_are_verbatim() {
    let out = sample();
    let first = |text: &str| text.split('\n').next().unwrap().to_string();
    assert_eq!(
        first(&out.savoir_faire),
        format!("{EXPECTED_SAVOIR_FAIRE_HEADER}|")
    );
    assert_eq!(first(&out.diplomas), format!("{EXPECTED_DIPLOMA_HEADER}|"));
    assert_eq!(first(&out.mssante), EXPECTED_MSSANTE_HEADER);
    assert_eq!(EXPECTED_SAVOIR_FAIRE_HEADER.split('|').count(), 13);
    assert_eq!(EXPECTED_DIPLOMA_HEADER.split('|').count(), 13);
    assert_eq!(EXPECTED_MSSANTE_HEADER.split('|').count(), 31);
}

#[test]
fn side_file_lines_have_their_field_counts_and_match_stats() {
    check_side_file_lines_have_their_field_counts_and_match_stats(sample());
}

/// See [`side_file_lines_have_their_field_counts_and_match_stats`]; also run on later days.
fn check_side_file_lines_have_their_field_counts_and_match_stats(out: &Output) {
    for text in [&out.savoir_faire, &out.diplomas, &out.mssante] {
        assert!(text.ends_with('\n') && !text.contains('\r'));
    }
    let savoir_faire = pipe_rows(&out.savoir_faire);
    let diplomas = pipe_rows(&out.diplomas);
    for row in savoir_faire.iter().chain(&diplomas) {
        assert_eq!(row.len(), 14, "bad row {row:?}");
        assert_eq!(row[13], "");
    }
    let mailboxes = mailboxes(out);
    for row in &mailboxes {
        assert_eq!(row.len(), 31, "bad mailbox {row:?}");
        assert!(["PER", "ORG"].contains(&row[BAL_TYPE]));
        assert!(["O", "N"].contains(&row[BAL_PAPERLESS]));
    }
    let stats = &out.files.stats;
    assert_eq!(savoir_faire.len() as u64, stats.savoir_faire_rows);
    assert_eq!(diplomas.len() as u64, stats.diploma_rows);
    assert_eq!(mailboxes.len() as u64, stats.mailboxes);
}

#[test]
fn savoir_faire_file_matches_the_rpps_file() {
    check_savoir_faire_file_matches_the_rpps_file(sample());
}

/// See [`savoir_faire_file_matches_the_rpps_file`]; also run on later days.
fn check_savoir_faire_file_matches_the_rpps_file(out: &Output) {
    let registrations = rpps_registrations(out);
    let rows = pipe_rows(&out.savoir_faire);
    for row in &rows {
        let person = registrations
            .get(&(row[NATIONAL_ID], row[SF_PROFESSION]))
            .unwrap_or_else(|| panic!("no RPPS person/profession for {row:?}"));
        assert_eq!(
            (person.0, person.1, person.2),
            (row[SF_FAMILY], row[SF_GIVEN], row[SF_CATEGORY])
        );
        assert_eq!(row[NATIONAL_ID], format!("{}{}", row[TYPE], row[ID]));
    }
    let in_file: BTreeSet<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r[NATIONAL_ID], r[SF_PROFESSION], r[SF_CODE]))
        .collect();
    let in_rpps: BTreeSet<(&str, &str, &str)> = rpps_rows(out)
        .into_iter()
        .filter(|r| !r[SAVOIR_FAIRE].is_empty())
        .map(|r| (r[NATIONAL_ID], r[PROFESSION], r[SAVOIR_FAIRE]))
        .collect();
    assert!(in_rpps.is_subset(&in_file), "RPPS savoir-faire missing");
    let only_here: Vec<_> = rows
        .iter()
        .filter(|r| !in_rpps.contains(&(r[NATIONAL_ID], r[SF_PROFESSION], r[SF_CODE])))
        .collect();
    assert!(!only_here.is_empty(), "no capacité found only in this file");
    for row in &only_here {
        assert_eq!((row[SF_PROFESSION], row[SF_TYPE]), ("10", "CAPA"));
        assert!(row[SF_CODE].starts_with("CAP"));
    }
    let medecins = registrations.keys().filter(|(_, p)| *p == "10").count();
    let share = only_here.len() as f64 / medecins as f64;
    assert!((0.01..0.06).contains(&share), "extra capacités {share}");
    let duplicates = repeated_lines(&out.savoir_faire);
    assert!(
        duplicates >= 1 && duplicates * 100 < rows.len(),
        "{duplicates}"
    );
}

#[test]
fn diplomas_cover_every_profession_of_every_person() {
    check_diplomas_cover_every_profession_of_every_person(sample());
}

/// See [`diplomas_cover_every_profession_of_every_person`]; also run on later days.
fn check_diplomas_cover_every_profession_of_every_person(out: &Output) {
    let rows = pipe_rows(&out.diplomas);
    let mut de: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for row in rows.iter().filter(|r| r[DIPLOMA_TYPE] == "DE") {
        assert!(row[DIPLOMA_CODE].starts_with("DE") && row[DIPLOMA_CODE].len() == 4);
        assert!(row[AUTHORISATION_TYPE..13].iter().all(|f| f.is_empty()));
        de.entry(row[NATIONAL_ID])
            .or_default()
            .insert(row[DIPLOMA_CODE]);
    }
    let mut professions: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for row in rpps_rows(out) {
        professions
            .entry(row[NATIONAL_ID])
            .or_default()
            .insert(row[PROFESSION]);
    }
    assert_eq!(de.len(), professions.len(), "persons without DE");
    for (person, codes) in &professions {
        assert_eq!(de[person].len(), codes.len(), "{person}: {codes:?}");
        if codes.contains("10") {
            assert!(de[person].contains("DE09"));
        }
    }
    let des: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r[DIPLOMA_TYPE] == "DES")
        .map(|r| r[NATIONAL_ID])
        .collect();
    let specialists: BTreeSet<&str> = rpps_rows(out)
        .into_iter()
        .filter(|r| r[SAVOIR_FAIRE].starts_with("SM"))
        .map(|r| r[NATIONAL_ID])
        .collect();
    assert_eq!(des, specialists);
    let ces = rows.iter().filter(|r| r[DIPLOMA_TYPE] == "CES").count();
    let aex: Vec<_> = rows
        .iter()
        .filter(|r| r[AUTHORISATION_TYPE] == "AEX")
        .collect();
    let persons = professions.len() as f64;
    assert!(
        (0.003..0.025).contains(&(ces as f64 / persons)),
        "CES {ces}"
    );
    assert!(
        (0.01..0.035).contains(&(aex.len() as f64 / persons)),
        "AEX {}",
        aex.len()
    );
    for row in &aex {
        assert!(
            row[DIPLOMA_TYPE..AUTHORISATION_TYPE]
                .iter()
                .all(|f| f.is_empty())
        );
        assert!(row[DISCIPLINE].starts_with('D') && row[DISCIPLINE].len() == 3);
    }
}

#[test]
fn every_profession_has_its_own_state_diploma() {
    use super::tables::{PROFESSIONS, STATE_DIPLOMAS};
    let codes: BTreeSet<&str> = STATE_DIPLOMAS.iter().map(|(_, d)| d.code).collect();
    assert_eq!(codes.len(), STATE_DIPLOMAS.len(), "shared DE code");
    for profession in PROFESSIONS {
        assert!(
            super::side::state_diploma(profession.code).is_some(),
            "no DE for {}",
            profession.code
        );
    }
}

#[test]
fn personal_mailboxes_belong_to_rpps_persons_except_the_orphan() {
    check_personal_mailboxes_belong_to_rpps_persons_except_the_orphan(sample());
}

/// See [`personal_mailboxes_belong_to_rpps_persons_except_the_orphan`]; also run on later days.
fn check_personal_mailboxes_belong_to_rpps_persons_except_the_orphan(out: &Output) {
    let registrations = rpps_registrations(out);
    let persons: BTreeMap<&str, (&str, &str)> = rpps_rows(out)
        .into_iter()
        .map(|r| (r[NATIONAL_ID], (r[TYPE], r[ID])))
        .collect();
    let personal: Vec<_> = mailboxes(out)
        .into_iter()
        .filter(|r| r[BAL_TYPE] == "PER")
        .collect();
    let orphans: BTreeSet<&str> = personal
        .iter()
        .map(|r| r[BAL_NATIONAL_ID])
        .filter(|id| !persons.contains_key(id))
        .collect();
    assert_eq!(orphans, [ORPHAN_NATIONAL_ID].into_iter().collect());
    for row in personal
        .iter()
        .filter(|r| r[BAL_NATIONAL_ID] != ORPHAN_NATIONAL_ID)
    {
        let id = persons[row[BAL_NATIONAL_ID]];
        assert_eq!((row[BAL_ID_TYPE], row[BAL_ID]), id);
        let person = registrations[&(row[BAL_NATIONAL_ID], row[BAL_PROFESSION])];
        assert_eq!(person.0, row[BAL_FAMILY]);
        assert!(
            row[BAL_ADDRESS].ends_with(".mssante.fr") && row[BAL_ADDRESS].contains('@'),
            "{}",
            row[BAL_ADDRESS]
        );
        assert!(
            row[BAL_ADDRESS]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"@.-".contains(&b))
        );
    }
    assert!(personal.iter().any(|r| !r[BAL_SAVOIR_FAIRE].is_empty()));
    assert!(personal.iter().any(|r| r[BAL_SAVOIR_FAIRE].is_empty()));
}

#[test]
fn mailbox_structures_match_the_rpps_and_finess_files() {
    check_mailbox_structures_match_the_rpps_and_finess_files(sample());
}

/// See [`mailbox_structures_match_the_rpps_and_finess_files`]; also run on later days.
fn check_mailbox_structures_match_the_rpps_and_finess_files(out: &Output) {
    let rows = rpps_rows(out);
    let sites = finess_sites(out);
    // (person, FINESS site or SIRET) pairs of the RPPS activities.
    let activities: BTreeSet<(&str, &str)> = rows
        .iter()
        .flat_map(|r| [(r[NATIONAL_ID], r[FINESS_SITE]), (r[NATIONAL_ID], r[19])])
        .filter(|(_, id)| !id.is_empty())
        .collect();
    let cabinet_sirets: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r[STRUCTURE_ID].starts_with('C'))
        .map(|r| r[19])
        .collect();
    let mut types = BTreeSet::new();
    let (mut personal, mut without_structure, mut organisational) = (0, 0, 0);
    for row in mailboxes(out) {
        types.insert(row[BAL_STRUCTURE_TYPE]);
        let structure = (row[BAL_STRUCTURE_TYPE], row[BAL_STRUCTURE_ID]);
        if structure.1.is_empty() {
            assert_eq!(structure.0, "");
            assert!(row[BAL_NAME..].iter().all(|f| f.is_empty()), "{row:?}");
        } else {
            assert!(!row[BAL_NAME].is_empty() && !row[BAL_L6_ROUTING].is_empty());
            assert!(!row[BAL_L4_STREET].is_empty() && !row[BAL_COUNTRY].is_empty());
        }
        match (row[BAL_TYPE], structure) {
            ("PER", _) if row[BAL_NATIONAL_ID] == ORPHAN_NATIONAL_ID => {}
            ("PER", ("", "")) => {
                personal += 1;
                without_structure += 1;
            }
            ("PER", (kind, id)) => {
                personal += 1;
                assert!(kind == "1" || kind == "3");
                assert!(activities.contains(&(row[BAL_NATIONAL_ID], id)), "{row:?}");
            }
            ("ORG", ("1", id)) => {
                organisational += 1;
                assert!(row[BAL_NATIONAL_ID].is_empty() && row[BAL_FAMILY].is_empty());
                assert!(sites.contains_key(id) || id == "219500001", "{id}");
            }
            ("ORG", ("3", siret)) => {
                organisational += 1;
                assert!(cabinet_sirets.contains(siret), "{siret}");
            }
            _ => panic!("unexpected mailbox {row:?}"),
        }
    }
    assert_eq!(types, ["", "1", "3"].into_iter().collect());
    let share = without_structure as f64 / personal as f64;
    assert!(
        (0.15..0.35).contains(&share),
        "PER without structure {share}"
    );
    assert!(
        personal > 4 * organisational,
        "{personal} PER, {organisational} ORG"
    );
    assert!(
        mailboxes(out)
            .iter()
            .any(|r| r[BAL_TYPE] == "PER" && !r[BAL_SERVICE].is_empty())
    );
}

#[test]
fn mailbox_addresses_are_unique_except_the_deliberate_duplicates() {
    check_mailbox_addresses_are_unique_except_the_deliberate_duplicates(sample());
}

/// See [`mailbox_addresses_are_unique_except_the_deliberate_duplicates`]; also run on later days.
fn check_mailbox_addresses_are_unique_except_the_deliberate_duplicates(out: &Output) {
    let mut lines_per_address: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for row in mailboxes(out) {
        lines_per_address
            .entry(row[BAL_ADDRESS])
            .or_default()
            .insert(row.join("|"));
    }
    let repeated = repeated_lines(&out.mssante);
    let variants = lines_per_address.values().filter(|l| l.len() > 1).count();
    assert!(repeated >= 1 && variants >= 1);
    assert!(repeated + variants < 10, "{repeated} + {variants}");
    for (address, lines) in lines_per_address.iter().filter(|(_, l)| l.len() > 1) {
        assert_eq!(lines.len(), 2, "{address}");
        let fields: Vec<Vec<&str>> = lines.iter().map(|l| l.split('|').collect()).collect();
        let differing: Vec<usize> = (0..31).filter(|&i| fields[0][i] != fields[1][i]).collect();
        assert!(
            differing == [BAL_PAPERLESS] || differing == [BAL_SERVICE],
            "{address}"
        );
    }
}

#[test]
fn personal_mailboxes_are_about_30_percent_of_persons() {
    let out = run(3000, 11);
    let rows = mailboxes(&out);
    let personal: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r[BAL_TYPE] == "PER" && r[BAL_NATIONAL_ID] != ORPHAN_NATIONAL_ID)
        .map(|r| r[BAL_NATIONAL_ID])
        .collect();
    let share = personal.len() as f64 / 3000.0;
    assert!((0.25..0.35).contains(&share), "PER share {share}");
    let organisational = rows.iter().filter(|r| r[BAL_TYPE] == "ORG").count() as f64;
    // 80 000–90 000 ORG per 1.5 million persons.
    let per_person = organisational / 3000.0;
    assert!(
        (0.045..0.07).contains(&per_person),
        "ORG per person {per_person}"
    );
}

#[test]
fn same_seed_gives_identical_side_files() {
    let a = run(300, 5);
    let b = run(300, 5);
    let c = run(300, 6);
    assert_eq!(a.savoir_faire, b.savoir_faire);
    assert_eq!(a.diplomas, b.diplomas);
    assert_eq!(a.mssante, b.mssante);
    assert_eq!(a.files.stats, b.files.stats);
    assert_ne!(a.mssante, c.mssante);
    assert_ne!(a.diplomas, c.diplomas);
}

#[test]
fn side_file_quirks_exist_even_at_100_persons() {
    let out = run(100, 99);
    assert!(
        repeated_lines(&out.savoir_faire) >= 1,
        "no duplicate savoir-faire row"
    );
    let sf = pipe_rows(&out.savoir_faire);
    assert!(sf.iter().any(|r| r[SF_TYPE] == "CAPA"));
    let diplomas = pipe_rows(&out.diplomas);
    for kind in ["DE", "DES", "CES"] {
        assert!(
            diplomas.iter().any(|r| r[DIPLOMA_TYPE] == kind),
            "no {kind}"
        );
    }
    assert!(diplomas.iter().any(|r| r[AUTHORISATION_TYPE] == "AEX"));
    let rows = mailboxes(&out);
    assert!(
        repeated_lines(&out.mssante) >= 1,
        "no exact duplicate mailbox"
    );
    let mut addresses: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for row in &rows {
        addresses
            .entry(row[BAL_ADDRESS])
            .or_default()
            .insert(row[BAL_PAPERLESS]);
    }
    assert!(addresses.values().any(|v| v.len() == 2), "no variant line");
    assert!(
        rows.iter()
            .any(|r| r[BAL_NATIONAL_ID] == ORPHAN_NATIONAL_ID)
    );
    let persons: BTreeSet<&str> = rpps_rows(&out)
        .into_iter()
        .map(|r| r[NATIONAL_ID])
        .collect();
    assert!(!persons.contains(ORPHAN_NATIONAL_ID));
    let finess = finess_sites(&out);
    let rpps_sites: BTreeSet<&str> = rpps_rows(&out)
        .into_iter()
        .map(|r| r[FINESS_SITE])
        .collect();
    assert!(rows.iter().any(|r| r[BAL_TYPE] == "ORG"
        && r[BAL_STRUCTURE_TYPE] == "1"
        && !finess.contains_key(r[BAL_STRUCTURE_ID])
        && !rpps_sites.contains(r[BAL_STRUCTURE_ID])));
    let personal = rows.iter().filter(|r| r[BAL_TYPE] == "PER").count();
    assert!(
        (15..50).contains(&personal),
        "{personal} PER at 100 persons"
    );
}
