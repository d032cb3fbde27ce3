//! Tests of the day model (see the crate documentation): day 1 is pinned to the output of the
//! generator before days existed, later days are deterministic and cumulative, every event kind
//! happens every day even at 100 persons, the five files stay consistent with each other, and the
//! events the statistics report are exactly what a diff of two consecutive days shows.

use std::collections::{BTreeMap, BTreeSet};
use std::io::ErrorKind;
use std::sync::OnceLock;

use super::super::days::protected;
use super::super::rpps::rpps_number;
use super::super::{
    DEMO, DIPLOMAS_FILE_NAME, DailyRates, DayEvents, FINESS_FILE_NAME, GenerateOptions, MAX_DAY,
    MSSANTE_FILE_NAME, RPPS_FILE_NAME, SAVOIR_FAIRE_FILE_NAME, generate,
};
use super::{
    BAL_NATIONAL_ID, BAL_TYPE, MODE, NATIONAL_ID, Output, PROFESSION, STRUCTURE_ID,
    check_diplomas_cover_every_profession_of_every_person,
    check_every_rpps_line_has_57_fields_lf_and_counts_match_stats,
    check_finess_site_numbers_match_the_finess_file_except_a_few,
    check_identifiers_have_rpps_and_adeli_shapes,
    check_mailbox_addresses_are_unique_except_the_deliberate_duplicates,
    check_mailbox_structures_match_the_rpps_and_finess_files,
    check_personal_mailboxes_belong_to_rpps_persons_except_the_orphan,
    check_pharmacists_work_in_officines_with_sections,
    check_savoir_faire_file_matches_the_rpps_file,
    check_side_file_lines_have_their_field_counts_and_match_stats, mailboxes, run_options, sample,
};

/// FNV-1a hashes of the five files (RPPS, FINESS, savoir-faire, diplomas, MSSanté) for (persons,
/// seed), computed with the generator as it was before days existed: day 1 must stay byte-identical
/// (the determinism tests, the embedded demo and recorded benchmarks rely on it).
const PINNED_DAY_ONE: &[(u64, u64, [u64; 5])] = &[
    (
        100,
        99,
        [
            0x4c72_95d0_4c55_0b84,
            0x144b_f792_8d50_3caf,
            0x120a_35be_6e82_2790,
            0x467e_e6a2_2433_ac9e,
            0xb51d_736e_a172_83b8,
        ],
    ),
    (
        500,
        7,
        [
            0x04d5_646d_5e06_c5f7,
            0x3c09_e179_3a4e_4f0a,
            0x238f_29f9_0cf2_4118,
            0x7ab4_ad9f_3a8c_0a7c,
            0x26a7_78e9_9087_5201,
        ],
    ),
    // The demo dataset (`DEMO`).
    (
        3000,
        2026,
        [
            0x4297_b744_97e2_de16,
            0xc47c_e421_dfba_ad0e,
            0x8958_c265_3039_1e53,
            0x1208_6d54_689d_19ef,
            0xdb89_a64f_9a4c_15b1,
        ],
    ),
];

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn hashes(out: &Output) -> [u64; 5] {
    [
        &out.rpps,
        &out.finess,
        &out.savoir_faire,
        &out.diplomas,
        &out.mssante,
    ]
    .map(|text| fnv1a(text.as_bytes()))
}

fn day(persons: u64, seed: u64, day: u32) -> Output {
    run_options(&GenerateOptions::new(persons, seed).with_day(day))
}

/// Days 1 to 3 of 100 persons, default rates (nearly only the forced events).
fn small() -> &'static [Output; 3] {
    static SMALL: OnceLock<[Output; 3]> = OnceLock::new();
    SMALL.get_or_init(|| [1, 2, 3].map(|d| day(100, 99, d)))
}

/// Days 2 and 3 of the 2000-person sample (day 1 is [`sample`]): forced and random events.
fn medium(d: u32) -> &'static Output {
    static MEDIUM: OnceLock<[Output; 2]> = OnceLock::new();
    match d {
        1 => sample(),
        _ => &MEDIUM.get_or_init(|| [2, 3].map(|d| day(2000, 20261101, d)))[d as usize - 2],
    }
}

/// RPPS rows per person (`Identification nationale PP`), sorted.
fn persons(out: &Output) -> BTreeMap<&str, Vec<&str>> {
    let mut persons: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for line in out.rpps.lines().skip(1) {
        let id = line.split('|').nth(NATIONAL_ID).unwrap();
        persons.entry(id).or_default().push(line);
    }
    for rows in persons.values_mut() {
        rows.sort_unstable();
    }
    persons
}

/// Personal mailbox lines per person, sorted.
fn personal_mailboxes(out: &Output) -> BTreeMap<&str, Vec<&str>> {
    let mut persons: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for line in out.mssante.lines().skip(1) {
        let fields: Vec<&str> = line.split('|').collect();
        if fields[BAL_TYPE] == "PER" {
            persons
                .entry(fields[BAL_NATIONAL_ID])
                .or_default()
                .push(line);
        }
    }
    for lines in persons.values_mut() {
        lines.sort_unstable();
    }
    persons
}

/// The events a diff of two consecutive days shows, and the persons whose RPPS rows changed
/// (including those who appeared or disappeared).
fn diff(before: &Output, after: &Output) -> (DayEvents, BTreeSet<String>) {
    let (b, a) = (persons(before), persons(after));
    let mut events = DayEvents::default();
    let mut touched = BTreeSet::new();
    for id in b.keys().filter(|id| !a.contains_key(*id)) {
        events.retirements += 1;
        touched.insert(id.to_string());
    }
    for id in a.keys().filter(|id| !b.contains_key(*id)) {
        events.new_persons += 1;
        touched.insert(id.to_string());
    }
    let field = |row: &str, i: usize| row.split('|').nth(i).unwrap().to_string();
    for (id, old) in b.iter().filter(|(id, _)| a.contains_key(*id)) {
        let new = &a[id];
        if old == new {
            continue;
        }
        touched.insert(id.to_string());
        let professions = |rows: &[&str]| -> BTreeSet<String> {
            rows.iter().map(|r| field(r, PROFESSION)).collect()
        };
        // Structure ids of the rows with an activity, with repetitions.
        let structures = |rows: &[&str]| -> Vec<String> {
            let mut ids: Vec<String> = rows
                .iter()
                .filter(|r| !field(r, MODE).is_empty())
                .map(|r| field(r, STRUCTURE_ID))
                .collect();
            ids.sort();
            ids
        };
        if professions(old) != professions(new) {
            events.professions_changed += 1;
        } else if structures(old) == structures(new) {
            events.addresses_changed += 1;
        } else {
            match structures(new).len().cmp(&structures(old).len()) {
                std::cmp::Ordering::Greater => events.activities_added += 1,
                std::cmp::Ordering::Less => events.activities_removed += 1,
                std::cmp::Ordering::Equal => events.activities_moved += 1,
            }
        }
    }
    // A mailbox event is a person's only event of the day: their RPPS rows do not change.
    let (mb, ma) = (personal_mailboxes(before), personal_mailboxes(after));
    let ids: BTreeSet<&str> = mb.keys().chain(ma.keys()).copied().collect();
    for id in ids.into_iter().filter(|id| !touched.contains(*id)) {
        match (mb.get(id), ma.get(id)) {
            (None, Some(_)) => events.mailboxes_added += 1,
            (Some(_), None) => events.mailboxes_removed += 1,
            (Some(old), Some(new)) if old != new => events.mailboxes_changed += 1,
            _ => {}
        }
    }
    super::more_finess::diff_finess(before, after, &mut events);
    (events, touched)
}

/// Every field of the events at least one.
fn every_kind(events: &DayEvents) -> bool {
    let DayEvents {
        retirements,
        new_persons,
        activities_added,
        activities_removed,
        activities_moved,
        addresses_changed,
        professions_changed,
        mailboxes_added,
        mailboxes_removed,
        mailboxes_changed,
        care_activities_closed,
        devices_removed,
        devices_added,
        social_capacities_changed,
        legal_entity_addresses_changed,
    } = *events;
    [
        retirements,
        new_persons,
        activities_added,
        activities_removed,
        activities_moved,
        addresses_changed,
        professions_changed,
        mailboxes_added,
        mailboxes_removed,
        mailboxes_changed,
        care_activities_closed,
        devices_removed,
        devices_added,
        social_capacities_changed,
        legal_entity_addresses_changed,
    ]
    .iter()
    .all(|&n| n >= 1)
}

// ---------------------------------------------------------------------------------------------

#[test]
fn day_one_is_byte_identical_to_the_generator_before_days() {
    for &(persons, seed, expected) in PINNED_DAY_ONE {
        let out = run_options(&GenerateOptions::new(persons, seed));
        assert_eq!(hashes(&out), expected, "{persons} persons, seed {seed}");
        assert_eq!(out.files.stats.events, DayEvents::default());
    }
}

#[test]
fn options_default_to_day_one_and_later_days_are_bounded() {
    assert_eq!(DEMO, GenerateOptions::new(3000, 2026));
    assert_eq!((DEMO.day, DEMO.rates), (1, DailyRates::default()));
    assert_eq!(DailyRates::default(), DailyRates::DEFAULT);
    let later = DEMO.with_day(4).with_rates(DailyRates::NONE);
    assert_eq!(
        (later.persons, later.seed, later.day, later.rates),
        (3000, 2026, 4, DailyRates::NONE)
    );
    let dir = tempfile::tempdir().unwrap();
    for bad in [0, MAX_DAY + 1] {
        let target = dir.path().join(format!("day-{bad}"));
        let error = generate(&GenerateOptions::new(10, 1).with_day(bad), &target).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(!target.exists());
    }
}

#[test]
fn later_days_are_deterministic() {
    for d in [2, 3] {
        let a = day(500, 7, d);
        let b = day(500, 7, d);
        assert_eq!(hashes(&a), hashes(&b), "day {d}");
        assert_eq!(a.files.stats, b.files.stats);
        let previous = day(500, 7, d - 1);
        assert_ne!(a.rpps, previous.rpps, "day {d} equals day {}", d - 1);
        let establishments = |out: &Output| out.finess.split_once('\n').unwrap().1.to_owned();
        assert_eq!(
            establishments(&a),
            establishments(&previous),
            "FINESS does not change but for its manifest's date"
        );
    }
}

#[test]
fn stats_equal_what_a_diff_of_two_days_shows() {
    let small = small();
    for (before, after) in [
        (&small[0], &small[1]),
        (&small[1], &small[2]),
        (medium(1), medium(2)),
        (medium(2), medium(3)),
    ] {
        let (events, touched) = diff(before, after);
        assert_eq!(events, after.files.stats.events);
        assert_eq!(
            events.total() - events.mailbox_changes(),
            touched.len() as u64
        );
        let stats = &after.files.stats;
        assert_eq!(
            stats.persons,
            before.files.stats.persons + events.new_persons - events.retirements
        );
    }
}

#[test]
fn every_event_kind_happens_every_day_even_at_100_persons() {
    let small = small();
    for (d, out) in [(2, &small[1]), (3, &small[2])] {
        assert!(
            every_kind(&out.files.stats.events),
            "day {d}: {:?}",
            out.files.stats.events
        );
    }
    for d in 2..=6 {
        let out = day(100, 1, d);
        assert!(
            every_kind(&out.files.stats.events),
            "seed 1 day {d}: {:?}",
            out.files.stats.events
        );
    }
}

#[test]
fn forced_events_alone_give_one_event_of_each_kind_on_distinct_persons() {
    let options = GenerateOptions::new(2000, 5).with_rates(DailyRates::NONE);
    let outputs = [1, 2, 3].map(|d| run_options(&options.clone().with_day(d)));
    let one_each = DayEvents {
        retirements: 1,
        new_persons: 1,
        activities_added: 1,
        activities_removed: 1,
        activities_moved: 1,
        addresses_changed: 1,
        professions_changed: 1,
        mailboxes_added: 1,
        mailboxes_removed: 1,
        mailboxes_changed: 1,
        care_activities_closed: 1,
        devices_removed: 1,
        devices_added: 1,
        social_capacities_changed: 1,
        legal_entity_addresses_changed: 1,
    };
    for pair in outputs.windows(2) {
        let (events, touched) = diff(&pair[0], &pair[1]);
        assert_eq!(pair[1].files.stats.events, one_each);
        assert_eq!(events, one_each);
        assert_eq!(touched.len(), 7, "one person per RPPS-visible kind");
    }
    // The carriers depend on the day.
    let (_, day2) = diff(&outputs[0], &outputs[1]);
    let (_, day3) = diff(&outputs[1], &outputs[2]);
    assert_ne!(day2, day3);
}

#[test]
fn days_are_cumulative() {
    let small = small();
    for [d1, d2, d3] in [
        [&small[0], &small[1], &small[2]],
        [medium(1), medium(2), medium(3)],
    ] {
        let (p1, p2, p3) = (persons(d1), persons(d2), persons(d3));
        // Retired on day 2: absent from every file of days 2 and 3.
        let retired: Vec<&str> = p1
            .keys()
            .filter(|id| !p2.contains_key(*id))
            .copied()
            .collect();
        assert!(!retired.is_empty());
        for id in &retired {
            assert!(!p3.contains_key(id), "{id} back on day 3");
            let needle = format!("|{id}|");
            for out in [d2, d3] {
                for text in [&out.savoir_faire, &out.diplomas, &out.mssante] {
                    assert!(!text.contains(&needle), "{id} still in a side file");
                }
            }
        }
        // New on day 2: still there on day 3 unless they retired on day 3.
        let retired_on_3: BTreeSet<&str> = p2
            .keys()
            .filter(|id| !p3.contains_key(*id))
            .copied()
            .collect();
        let new: Vec<&str> = p2
            .keys()
            .filter(|id| !p1.contains_key(*id))
            .copied()
            .collect();
        assert!(!new.is_empty());
        for id in &new {
            assert!(p3.contains_key(id) || retired_on_3.contains(id));
        }
        // Day 3's new persons are others.
        assert!(
            p3.keys()
                .filter(|id| !p2.contains_key(*id))
                .all(|id| !p1.contains_key(id))
        );
        // A solo cabinet that moved on day 2 does not move back on day 3. Cabinets are keyed by
        // structure id; only those with a single person and a single spelling are compared.
        let addresses = |persons: &BTreeMap<&str, Vec<&str>>| -> BTreeMap<String, String> {
            let mut seen: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
            for (id, rows) in persons {
                for r in rows.iter().map(|row| row.split('|').collect::<Vec<_>>()) {
                    if r[STRUCTURE_ID].starts_with('C') {
                        seen.entry(r[STRUCTURE_ID].to_string())
                            .or_default()
                            .insert((id.to_string(), r[26..40].join("|")));
                    }
                }
            }
            seen.into_iter()
                .filter(|(_, uses)| uses.len() == 1)
                .filter_map(|(cabinet, uses)| Some((cabinet, uses.into_iter().next()?.1)))
                .collect()
        };
        let (a1, a2, a3) = (addresses(&p1), addresses(&p2), addresses(&p3));
        let moved: Vec<&String> = a1
            .iter()
            .filter(|(id, address)| a2.get(*id).is_some_and(|a| a != *address))
            .map(|(id, _)| id)
            .collect();
        assert!(!moved.is_empty(), "no cabinet moved on day 2");
        for id in moved {
            if let Some(address) = a3.get(id) {
                assert_ne!(address, &a1[id], "cabinet {id} moved back on day 3");
            }
        }
        // A profession changed on day 2 is still the new one on day 3.
        let professions = |rows: &[&str]| -> BTreeSet<String> {
            rows.iter()
                .map(|r| r.split('|').nth(PROFESSION).unwrap().to_string())
                .collect()
        };
        for (id, rows) in p1.iter().filter(|(id, _)| p2.contains_key(*id)) {
            let (old, changed) = (professions(rows), professions(&p2[id]));
            if old != changed
                && let Some(later) = p3.get(id)
            {
                assert_ne!(professions(later), old, "{id} back to its day-1 profession");
            }
        }
    }
}

#[test]
fn later_days_keep_the_files_consistent() {
    for d in [2, 3] {
        let out = medium(d);
        check_every_rpps_line_has_57_fields_lf_and_counts_match_stats(out);
        check_identifiers_have_rpps_and_adeli_shapes(out);
        check_finess_site_numbers_match_the_finess_file_except_a_few(out);
        check_pharmacists_work_in_officines_with_sections(out);
        check_side_file_lines_have_their_field_counts_and_match_stats(out);
        check_savoir_faire_file_matches_the_rpps_file(out);
        check_diplomas_cover_every_profession_of_every_person(out);
        check_personal_mailboxes_belong_to_rpps_persons_except_the_orphan(out);
        check_mailbox_structures_match_the_rpps_and_finess_files(out);
        check_mailbox_addresses_are_unique_except_the_deliberate_duplicates(out);
    }
    // The same person-level consistency at 100 persons, where forced events dominate.
    for out in &small()[1..] {
        let persons = persons(out);
        let national = |text: &str| -> BTreeSet<String> {
            text.lines()
                .skip(1)
                .map(|l| l.split('|').nth(NATIONAL_ID).unwrap().to_string())
                .collect()
        };
        assert!(
            national(&out.savoir_faire)
                .iter()
                .all(|id| persons.contains_key(id.as_str()))
        );
        let with_diplomas = national(&out.diplomas);
        assert!(persons.keys().all(|id| with_diplomas.contains(*id)));
        assert!(
            with_diplomas
                .iter()
                .all(|id| persons.contains_key(id.as_str()))
        );
        for row in mailboxes(out).iter().filter(|r| r[BAL_TYPE] == "PER") {
            let id = row[BAL_NATIONAL_ID];
            assert!(
                persons.contains_key(id) || id == super::ORPHAN_NATIONAL_ID,
                "{id}"
            );
        }
    }
}

#[test]
fn untouched_rows_keep_their_place() {
    for (before, after) in [(medium(1), medium(2)), (medium(2), medium(3))] {
        let (_, touched) = diff(before, after);
        let untouched = |out: &'static Output| -> Vec<&'static str> {
            out.rpps
                .lines()
                .skip(1)
                .filter(|l| !touched.contains(l.split('|').nth(NATIONAL_ID).unwrap()))
                .collect()
        };
        assert_eq!(untouched(before), untouched(after));
    }
}

#[test]
fn showcase_persons_never_change() {
    let small = small();
    let showcases: Vec<String> = (0..100)
        .filter(|&i| protected(i))
        .map(|i| format!("8{}", rpps_number(i)))
        .collect();
    let day1 = persons(&small[0]);
    let checked = showcases
        .iter()
        .filter(|id| day1.contains_key(id.as_str()))
        .count();
    assert!(checked >= 10, "{checked} RPPS-typed protected persons");
    for out in &small[1..] {
        let later = persons(out);
        for id in showcases.iter().filter(|id| day1.contains_key(id.as_str())) {
            assert_eq!(day1.get(id.as_str()), later.get(id.as_str()), "{id}");
        }
    }
}

#[test]
fn new_persons_continue_the_person_stream() {
    let small = small();
    let (p1, p2, p3) = (persons(&small[0]), persons(&small[1]), persons(&small[2]));
    // One new person per day at 100 persons: indices 100 (day 2) and 101 (day 3), RPPS or ADELI.
    let new2: Vec<&&str> = p2.keys().filter(|id| !p1.contains_key(**id)).collect();
    let new3: Vec<&&str> = p3.keys().filter(|id| !p2.contains_key(**id)).collect();
    assert_eq!((new2.len(), new3.len()), (1, 1));
    let rpps = |index: u64| format!("8{}", rpps_number(index));
    assert!(**new2[0] == rpps(100) || new2[0].starts_with('0'));
    assert!(**new3[0] == rpps(101) || new3[0].starts_with('0'));
}

/// Day N's five files carry day N's extraction instant in their names, and the FINESS manifest
/// its date, so that an import of day N stamps day N's time from the RPPS file name.
#[test]
fn day_n_files_are_named_with_day_n_s_instant() {
    let dir = tempfile::tempdir().unwrap();
    let names = |d: u32| {
        let files = generate(
            &GenerateOptions::new(30, 5).with_day(d),
            &dir.path().join(format!("day{d}")),
        )
        .unwrap();
        let finess = std::fs::read_to_string(&files.finess).unwrap();
        let manifest = finess.lines().next().unwrap().to_owned();
        let name = |path: &std::path::Path| path.file_name().unwrap().to_str().unwrap().to_owned();
        (
            [
                name(&files.rpps),
                name(&files.finess),
                name(&files.savoir_faire),
                name(&files.diplomas),
                name(&files.mssante),
            ],
            manifest,
        )
    };
    assert_eq!(
        names(1),
        (
            [
                RPPS_FILE_NAME,
                FINESS_FILE_NAME,
                SAVOIR_FAIRE_FILE_NAME,
                DIPLOMAS_FILE_NAME,
                MSSANTE_FILE_NAME
            ]
            .map(str::to_owned),
            "finess;etalab;99;2026-11-01".to_owned()
        )
    );
    assert_eq!(
        names(2),
        (
            [
                "PS_LibreAcces_Personne_activite_202611020000.txt",
                "etalab-cs1100507-stock-20261102-0000.csv",
                "PS_LibreAcces_SavoirFaire_202611020000.txt",
                "PS_LibreAcces_Dipl_AutExerc_202611020000.txt",
                "Extraction_Correspondance_MSSante_202611020000.txt",
            ]
            .map(str::to_owned),
            "finess;etalab;99;2026-11-02".to_owned()
        )
    );
    // Across a month's end.
    assert_eq!(
        names(31).0[0],
        "PS_LibreAcces_Personne_activite_202612010000.txt"
    );
}
