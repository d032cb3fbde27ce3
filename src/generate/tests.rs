//! Tests of the generator: determinism, exact formats, and presence of every quirk at 2000 persons.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use super::tables::{RPPS_COLUMNS, RPPS_HEADER};
use super::{FINESS_FILE_NAME, GenerateOptions, GeneratedFiles, RPPS_FILE_NAME, generate};

/// The verbatim 56-column header of rpps.md §2, kept here independently of `tables.rs`.
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

/// Contents of the two files of one generation.
struct Output {
    files: GeneratedFiles,
    rpps: String,
    finess: String,
}

fn run(persons: u64, seed: u64) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = generate(&GenerateOptions { persons, seed }, dir.path()).expect("generation");
    let rpps = std::fs::read_to_string(&files.rpps).expect("rpps file is UTF-8");
    let finess = std::fs::read_to_string(&files.finess).expect("finess file is UTF-8");
    Output {
        files,
        rpps,
        finess,
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
    let opts = GenerateOptions {
        persons: 500,
        seed: 7,
    };
    let a = generate(&opts, dir_a.path()).unwrap();
    let b = generate(&opts, dir_b.path()).unwrap();
    let c = generate(
        &GenerateOptions {
            persons: 500,
            seed: 8,
        },
        dir_c.path(),
    )
    .unwrap();
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
    let files = generate(
        &GenerateOptions {
            persons: 100,
            seed: 1,
        },
        &nested,
    )
    .unwrap();
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
    let out = sample();
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
    let rows = rpps_rows(sample());
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
    let out = sample();
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
    let rows = rpps_rows(sample());
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
    // finess.md §3 gives this point as "≈ (lon 5.25, lat 46.21)", i.e. only to two decimals of a degree.
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
