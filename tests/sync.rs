//! Synchronisation: versions that follow content, deactivated records then deletions, history
//! (vread, instance, type and system, `_since`, `_at`, paging across a live import), the guard
//! against an import that would empty the directory, and the cleanup of a killed import.
//!
//! Later days are made from a generated day 1 by editing its RPPS file: persons removed
//! (retired), a family name changed, persons copied under new numbers (new), so that each
//! change and its expected effect are known exactly. Expected change counts come from an
//! oracle independent of the versioning code: each day imported alone into a fresh directory,
//! and the two sets of resources compared content by content.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use annuaire::clock::Clock;
use annuaire::fhir::ResourceType;
use annuaire::generation::DataDir;
use annuaire::generation::reconcile::Retention;
use annuaire::import::{self, ImportError, ImportOptions, ImportSummary, Safety};
use annuaire_generate::GeneratedFiles;
use serde_json::Value;
use time::OffsetDateTime;

use common::rfc3339;

/// Departures found and named (tests/sync/departures.rs).
#[path = "sync/departures.rs"]
mod departures;

const PERSONS: u64 = 300;
const SEED: u64 = 12;

/// Day `n`'s import time: noon UTC, `n` days after 2026-11-01.
fn day(n: i64) -> OffsetDateTime {
    time::macros::datetime!(2026-11-01 12:00:00 UTC) + time::Duration::days(n - 1)
}

/// The extraction files of one day.
struct Day {
    rpps: PathBuf,
    finess: PathBuf,
}

impl Day {
    fn from_generated(files: &GeneratedFiles) -> Day {
        Day {
            rpps: files.rpps.clone(),
            finess: files.finess.clone(),
        }
    }
}

/// The RPPS file's header and data lines.
fn rpps_lines(path: &Path) -> (String, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines().map(str::to_owned);
    let header = lines.next().unwrap();
    (header, lines.filter(|l| !l.is_empty()).collect())
}

fn column(header: &str, label: &str) -> usize {
    header
        .trim_end_matches('|')
        .split('|')
        .position(|h| h == label)
        .unwrap_or_else(|| panic!("no column {label}"))
}

/// Edits of day 1 that make a later day.
#[derive(Default, Clone)]
struct Edits {
    /// Persons (Identification nationale PP) whose rows are removed.
    retire: Vec<String>,
    /// Persons whose family name gets a suffix.
    rename: Vec<String>,
    /// Persons whose rows are copied under a new number (the same digits, last ones changed).
    copy: Vec<String>,
}

impl Edits {
    fn retiring(mut self, persons: &[String]) -> Edits {
        self.retire.extend_from_slice(persons);
        self
    }

    fn renaming(mut self, persons: &[String]) -> Edits {
        self.rename.extend_from_slice(persons);
        self
    }

    fn copying(mut self, persons: &[String]) -> Edits {
        self.copy.extend_from_slice(persons);
        self
    }
}

fn write_day(day1: &GeneratedFiles, dir: &Path, edits: &Edits) -> Day {
    std::fs::create_dir_all(dir).unwrap();
    let (header, lines) = rpps_lines(&day1.rpps);
    let national = column(&header, "Identification nationale PP");
    let id_pp = column(&header, "Identifiant PP");
    let family = column(&header, "Nom d'exercice");
    let mut out = vec![header.clone()];
    for line in &lines {
        let fields: Vec<&str> = line.split('|').collect();
        let person = fields[national].to_owned();
        if edits.retire.contains(&person) {
            continue;
        }
        let mut fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        if edits.rename.contains(&person) {
            fields[family].push_str("-RENOMME");
        }
        out.push(fields.join("|"));
        if edits.copy.contains(&person) {
            let mut copy = fields.clone();
            copy[national] = format!("{}9", &person[..person.len() - 1]);
            copy[id_pp] = format!("{}9", &fields[id_pp][..fields[id_pp].len() - 1]);
            out.push(copy.join("|"));
        }
    }
    let rpps = dir.join(day1.rpps.file_name().unwrap());
    std::fs::write(&rpps, out.join("\n") + "\n").unwrap();
    let finess = dir.join(day1.finess.file_name().unwrap());
    std::fs::copy(&day1.finess, &finess).unwrap();
    Day { rpps, finess }
}

/// The RPPS-typed persons of a file (`8` + RPPS number), in file order, distinct.
fn rpps_persons(path: &Path) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for row in common::read_rpps_rows(path) {
        if row.type_id == "8" && !out.contains(&row.idnat) {
            out.push(row.idnat.clone());
        }
    }
    out
}

/// Every current resource of a data directory: content without version, the version, and
/// `lastUpdated`.
type Snapshot = BTreeMap<(ResourceType, String), (Value, String, String)>;

fn snapshot(data: &Path) -> Snapshot {
    let dir = DataDir::create(data).unwrap();
    let (_, generation) = annuaire::generation::open_current(&dir, common::CACHE_BYTES).unwrap();
    let mut out = BTreeMap::new();
    for rtype in ResourceType::ALL {
        for doc in 0..generation.document_count(rtype) {
            let (id, stored) = generation.document(rtype, doc).unwrap().unwrap();
            let mut json: Value = serde_json::from_slice(&stored.to_json()).unwrap();
            let meta = json["meta"].as_object_mut().unwrap();
            let version = meta
                .remove("versionId")
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned();
            let updated = meta
                .remove("lastUpdated")
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned();
            out.insert((rtype, id), (json, version, updated));
        }
    }
    out
}

/// What should change from one day to the next, per type, from two independent full imports:
/// (added, changed, removed, unchanged).
fn expected_changes(
    before: &Snapshot,
    after: &Snapshot,
    rtype: ResourceType,
) -> (u64, u64, u64, u64) {
    let (mut added, mut changed, mut removed, mut unchanged) = (0, 0, 0, 0);
    for (key, (content, _, _)) in after.iter().filter(|((t, _), _)| *t == rtype) {
        match before.get(key) {
            None => added += 1,
            Some((old, _, _)) if old == content => unchanged += 1,
            Some(_) => changed += 1,
        }
    }
    for key in before.keys().filter(|(t, _)| *t == rtype) {
        if !after.contains_key(key) {
            removed += 1;
        }
    }
    (added, changed, removed, unchanged)
}

/// A synchronisation scenario: day 1 generated, later days made from it by [`Edits`], and
/// the days imported in order, each at its day's time, into the scenario's data directory.
///
/// ```text
/// let mut s = Scenario::new("gone");
/// let day2 = s.day(Edits::default().retiring(&s.persons[50..51]));
/// s.import(&s.first_day(), 1).import(&day2, 2).import(&day2, 40);
/// ```
struct Scenario {
    _dir: tempfile::TempDir,
    root: PathBuf,
    day1: GeneratedFiles,
    /// The RPPS-typed persons of day 1, in file order: what edits name.
    persons: Vec<String>,
    /// Where the days are imported.
    data: PathBuf,
    /// Retentions and the shrink guard of the imports.
    safety: Safety,
    /// Days written so far (their directories are numbered from 2).
    written: usize,
    /// The summary of the last import.
    last: Option<ImportSummary>,
}

impl Scenario {
    /// Generates day 1 in a scratch directory of its own.
    fn new(name: &str) -> Scenario {
        let dir = common::scratch_dir(&format!("annuaire-sync-{name}-"));
        let root = dir.path().to_path_buf();
        let day1 = common::generate_files(&root.join("day1"), PERSONS, SEED);
        let persons = rpps_persons(&day1.rpps);
        Scenario {
            _dir: dir,
            data: root.join("data"),
            root,
            day1,
            persons,
            safety: Safety::default(),
            written: 1,
            last: None,
        }
    }

    /// Imports with `safety` (retentions, the shrink guard) from now on.
    fn keeping(mut self, safety: Safety) -> Scenario {
        self.safety = safety;
        self
    }

    /// The files of day 1.
    fn first_day(&self) -> Day {
        Day::from_generated(&self.day1)
    }

    /// The files of a later day: day 1 with `edits`.
    fn day(&mut self, edits: Edits) -> Day {
        self.written += 1;
        write_day(
            &self.day1,
            &self.root.join(format!("day{}", self.written)),
            &edits,
        )
    }

    /// Imports `files` into the scenario's directory at day `n`; panics if it fails.
    fn import(&mut self, files: &Day, n: i64) -> &mut Scenario {
        let summary = self
            .try_import(files, n, self.safety)
            .unwrap_or_else(|e| panic!("import of day {n} into {}: {e}", self.data.display()));
        self.last = Some(summary);
        self
    }

    /// The summary of the last import.
    fn summary(&self) -> &ImportSummary {
        self.last.as_ref().expect("an import ran")
    }

    /// Imports `files` at day `n` with `safety`, whatever comes of it.
    fn try_import(
        &self,
        files: &Day,
        n: i64,
        safety: Safety,
    ) -> Result<ImportSummary, ImportError> {
        import_into(files, &self.data, day(n), safety)
    }

    /// The oracle: `files` imported alone into a fresh directory (named `name`) at day `n`,
    /// resource by resource.
    fn alone(&self, name: &str, files: &Day, n: i64) -> Snapshot {
        let data = self.root.join(name);
        import_into(files, &data, day(n), self.safety)
            .unwrap_or_else(|e| panic!("import into {}: {e}", data.display()));
        snapshot(&data)
    }

    /// The Practitioner of one of day 1's persons (its first profession's).
    fn practitioner_of(&self, person: &str) -> String {
        common::read_rpps_rows(&self.day1.rpps)
            .into_iter()
            .find(|r| r.idnat == person)
            .unwrap_or_else(|| panic!("{person} is a person of day 1"))
            .practitioner_id()
    }
}

/// Imports the RPPS and FINESS files of a day (no optional file) into `data`, stamped `at`.
fn import_into(
    files: &Day,
    data: &Path,
    at: OffsetDateTime,
    safety: Safety,
) -> Result<ImportSummary, ImportError> {
    import::run(&ImportOptions {
        safety,
        ..common::import_options_of(&files.rpps, &files.finess, data, Some(at))
    })
}

#[test]
fn an_identical_reimport_changes_no_version() {
    let mut s = Scenario::new("same");
    let files = s.first_day();
    let before = snapshot(&s.import(&files, 1).data);
    let after = snapshot(&s.import(&files, 2).data);
    let summary = s.summary();
    assert_eq!(
        before, after,
        "every resource keeps its content, version and lastUpdated"
    );
    for (rtype, c) in &summary.changes {
        assert_eq!(
            (c.added, c.changed, c.deactivated, c.deleted),
            (0, 0, 0, 0),
            "{rtype}: {c:?}"
        );
        // The generated day 1 has no FINESS activity or equipment file (yet): only the
        // types it fills are expected unchanged rather than absent.
        if before.keys().any(|(t, _)| t == rtype) {
            assert!(c.unchanged > 0, "{rtype}");
        }
    }
    assert!(
        after
            .values()
            .all(|(_, v, t)| v == "1" && *t == rfc3339(day(1)))
    );
}

/// A generation written before HealthcareService and Device were served (layout 5, no
/// counts for them in `generation.json`): a server refuses to open it, and an import over it
/// reads it as the previous generation, keeping every version it had.
#[test]
fn an_import_over_a_generation_of_three_types_keeps_every_version() {
    let mut s = Scenario::new("three-types");
    let files = s.first_day();
    let before = snapshot(&s.import(&files, 1).data);
    let dir = DataDir::create(&s.data).unwrap();
    let name = dir.current().unwrap().unwrap();
    let info_path = dir.generation_path(&name).join("generation.json");
    let mut info: Value = serde_json::from_slice(&std::fs::read(&info_path).unwrap()).unwrap();
    info["format"] = Value::from(5);
    let counts = info["resources"].as_object_mut().unwrap();
    assert_eq!(counts.remove("healthcare_service"), Some(Value::from(0)));
    assert_eq!(counts.remove("device"), Some(Value::from(0)));
    std::fs::write(&info_path, serde_json::to_vec_pretty(&info).unwrap()).unwrap();
    let refused = annuaire::generation::open_current(&dir, common::CACHE_BYTES);
    assert!(
        matches!(refused, Err(annuaire::generation::StoreError::OldFormat(_))),
        "a layout-5 generation is refused, not misread"
    );
    drop(dir);

    let after = snapshot(&s.import(&files, 2).data);
    assert_eq!(
        before, after,
        "every resource keeps its content, version and lastUpdated"
    );
    for (rtype, c) in &s.summary().changes {
        assert_eq!((c.added, c.changed, c.deactivated), (0, 0, 0), "{rtype}");
    }
}

#[test]
fn a_later_day_is_counted_as_the_files_say() {
    let mut s = Scenario::new("counts");
    let edits = Edits::default()
        .retiring(&s.persons[10..13])
        .renaming(&s.persons[20..24])
        .copying(&s.persons[30..32]);
    let day2 = s.day(edits.clone());
    let day1 = s.first_day();
    // The oracle: each day alone, compared resource by resource.
    let (before, after) = (s.alone("alone1", &day1, 1), s.alone("alone2", &day2, 2));

    s.import(&day1, 1).import(&day2, 2);
    let summary = s.summary();
    let served = snapshot(&s.data);
    for rtype in ResourceType::ALL {
        let (added, changed, removed, unchanged) = expected_changes(&before, &after, rtype);
        let c = import::changes_of(&summary.changes, rtype);
        assert_eq!(
            (c.added, c.changed, c.deactivated, c.unchanged),
            (added, changed, removed, unchanged),
            "{rtype}: the summary against the two files"
        );
        if rtype == ResourceType::Practitioner {
            // A person may have two professions, hence two Practitioners.
            assert!(added >= 2, "two copied persons");
            assert!(removed >= 3, "three retired persons");
            assert!(changed >= 4, "four renamed persons");
        }
    }
    // Versions: unchanged keep 1 and day 1; changed and deactivated are 2 at day 2; added 1 at
    // day 2.
    for (key, (content, version, updated)) in &served {
        let expected = match (before.get(key), after.get(key)) {
            (Some((old, _, _)), Some((new, _, _))) if old == new => ("1", day(1)),
            (Some(_), Some(_)) => ("2", day(2)),
            (None, Some(_)) => ("1", day(2)),
            (Some(_), None) => {
                assert_eq!(content["active"], false, "{key:?} is deactivated");
                ("2", day(2))
            }
            (None, None) => panic!("{key:?} comes from nowhere"),
        };
        assert_eq!(
            (version.as_str(), updated.clone()),
            (expected.0, rfc3339(expected.1)),
            "{key:?}"
        );
    }
    // A deactivated record keeps its identifiers and its name, nothing else personal.
    let retired = format!("pp-{}-", edits.retire[0]);
    let (key, (record, _, _)) = served
        .iter()
        .find(|((t, id), _)| *t == ResourceType::Practitioner && id.starts_with(&retired))
        .expect("the retired practitioner is still served, deactivated");
    assert_eq!(record["active"], false, "{key:?}");
    assert_eq!(record["name"], before[key].0["name"], "{key:?}");
    assert!(record.get("qualification").is_none() && record.get("telecom").is_none());
    assert!(
        record["identifier"]
            .as_array()
            .is_some_and(|i| !i.is_empty())
    );
}

/// One server over `data`, its base URL; the server lives as long as the test process.
fn serve(data: &Path) -> String {
    common::spawn_server(common::settings_for(data), Some(Duration::from_millis(100))).base
}

/// A blocking GET of an absolute URL on a test server: status and JSON body.
fn get(url: &str) -> (u16, Value) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (address, path) = rest.split_at(rest.find('/').expect("a path"));
    let (status, body) = common::http_get(address.parse().expect("an address"), path)
        .unwrap_or_else(|| panic!("GET {url}: no answer"));
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Percent-encodes a query value.
fn enc(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn entries(bundle: &Value) -> Vec<&Value> {
    bundle["entry"]
        .as_array()
        .map(|e| e.iter().collect())
        .unwrap_or_default()
}

/// `(versionId or "-", request.method)` of each entry.
fn versions(bundle: &Value) -> Vec<(String, String)> {
    entries(bundle)
        .iter()
        .map(|e| {
            let version = e["response"]["etag"]
                .as_str()
                .unwrap()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_owned();
            (version, e["request"]["method"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[test]
fn deactivated_then_deleted_then_back_with_its_history() {
    // Deactivated records are kept 30 days (the default); past versions 90 here, so that the
    // whole story stays in the history.
    let mut s = Scenario::new("lifecycle").keeping(Safety {
        retention: Retention {
            deactivated_days: 30,
            history_days: 90,
        },
        ..Safety::default()
    });
    let retired = s.persons[40..41].to_vec();
    let renamed = s.persons[41..42].to_vec();
    let day1 = s.first_day();
    let day2 = s.day(Edits::default().retiring(&retired).renaming(&renamed));
    let day3 = s.day(Edits::default().retiring(&retired));
    s.import(&day1, 1).import(&day2, 2);
    // Day 3 comes 31 days after day 2: the retired practitioner's deactivated record has
    // outlived the 30-day retention and is deleted; the renamed one is back to its old name.
    let p = import::changes_of(
        &s.import(&day3, 33).summary().changes,
        ResourceType::Practitioner,
    );
    assert!(p.deleted >= 1, "{p:?}");
    // Day 4: the retired person is back.
    let back = s.import(&day1, 34).summary();
    assert!(import::changes_of(&back.changes, ResourceType::Practitioner).added >= 1);

    let base = serve(&s.data);
    let gone = s.practitioner_of(&retired[0]);
    // Back after its deletion: a new version, one past the deletion.
    let (status, current) = get(&format!("{base}/fhir/Practitioner/{gone}"));
    assert_eq!(status, 200);
    assert_eq!(current["meta"]["versionId"], "4");
    assert_eq!(current["active"], true);
    let (status, history) = get(&format!("{base}/fhir/Practitioner/{gone}/_history"));
    assert_eq!(status, 200, "{history}");
    assert_eq!(history["type"], "history");
    assert_eq!(
        versions(&history),
        [
            ("4".to_owned(), "PUT".to_owned()),
            ("3".to_owned(), "DELETE".to_owned()),
            ("2".to_owned(), "PUT".to_owned()),
            ("1".to_owned(), "POST".to_owned()),
        ],
        "{history}"
    );
    let deletion = entries(&history)[1];
    assert!(
        deletion.get("resource").is_none(),
        "a deletion carries no resource"
    );
    assert_eq!(entries(&history)[2]["resource"]["active"], false);
    // vread: each version; the deletion's is 410.
    let (status, v1) = get(&format!("{base}/fhir/Practitioner/{gone}/_history/1"));
    assert_eq!((status, v1["active"].clone()), (200, Value::Bool(true)));
    assert_eq!(v1["meta"]["lastUpdated"], rfc3339(day(1)));
    let (status, v2) = get(&format!("{base}/fhir/Practitioner/{gone}/_history/2"));
    assert_eq!((status, v2["active"].clone()), (200, Value::Bool(false)));
    let (status, outcome) = get(&format!("{base}/fhir/Practitioner/{gone}/_history/3"));
    assert_eq!(status, 410, "{outcome}");
    assert_eq!(outcome["issue"][0]["code"], "deleted");
    assert_eq!(
        get(&format!("{base}/fhir/Practitioner/{gone}/_history/9")).0,
        404
    );

    // The renamed practitioner: 1 (day 1), 2 (renamed, day 2), 3 (name back, day 33).
    let renamed_id = s.practitioner_of(&renamed[0]);
    let (_, history) = get(&format!("{base}/fhir/Practitioner/{renamed_id}/_history"));
    let shown: Vec<String> = versions(&history).into_iter().map(|(v, _)| v).collect();
    assert_eq!(shown, ["3", "2", "1"]);
    let family = |e: &Value| {
        e["resource"]["name"][0]["family"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let listed: Vec<String> = entries(&history).into_iter().map(family).collect();
    assert!(
        listed[1].ends_with("-RENOMME") && !listed[0].ends_with("-RENOMME"),
        "{listed:?}"
    );
    // _since and _at on the instance.
    let since = rfc3339(day(2));
    let (_, recent) = get(&format!(
        "{base}/fhir/Practitioner/{renamed_id}/_history?_since={}",
        enc(&since)
    ));
    assert_eq!(versions(&recent).len(), 2, "versions 3 and 2: {recent}");
    let at = rfc3339(day(10));
    let (_, then) = get(&format!(
        "{base}/fhir/Practitioner/{renamed_id}/_history?_at={}",
        enc(&at)
    ));
    let shown: Vec<String> = versions(&then).into_iter().map(|(v, _)| v).collect();
    assert_eq!(shown, ["2"], "current on day 10: {then}");

    // Type and system history with _since: what changed since day 33 only.
    let since = rfc3339(day(33));
    let (_, recent) = get(&format!(
        "{base}/fhir/Practitioner/_history?_since={}&_count=1000",
        enc(&since)
    ));
    let ids: Vec<&str> = entries(&recent)
        .iter()
        .map(|e| e["fullUrl"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert!(
        ids.contains(&gone.as_str()) && ids.contains(&renamed_id.as_str()),
        "{ids:?}"
    );
    assert!(
        entries(&recent)
            .iter()
            .all(|e| e["response"]["lastModified"]
                .as_str()
                .is_some_and(|t| t >= since.as_str())),
        "only versions since day 33"
    );
    let (status, system) = get(&format!("{base}/fhir/_history?_count=5"));
    assert_eq!(status, 200);
    assert_eq!(entries(&system).len(), 5);
    // Unknown resources have no history; bad parameters are 400.
    assert_eq!(
        get(&format!("{base}/fhir/Practitioner/pp-0-0/_history")).0,
        404
    );
    assert_eq!(
        get(&format!(
            "{base}/fhir/Practitioner/_history?_since=yesterday"
        ))
        .0,
        400
    );
    assert_eq!(
        get(&format!("{base}/fhir/Practitioner/_history?family=x")).0,
        400
    );
}

#[test]
fn a_deleted_resource_reads_410_and_leaves_searches() {
    let mut s = Scenario::new("gone");
    let retired = s.persons[50..51].to_vec();
    let day2 = s.day(Edits::default().retiring(&retired));
    s.import(&s.first_day(), 1)
        .import(&day2, 2)
        .import(&day2, 40);
    let base = serve(&s.data);
    let id = s.practitioner_of(&retired[0]);
    let (status, outcome) = get(&format!("{base}/fhir/Practitioner/{id}"));
    assert_eq!(status, 410, "{outcome}");
    assert!(
        outcome["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("deleted")
    );
    let (_, found) = get(&format!("{base}/fhir/Practitioner?_id={id}"));
    assert_eq!(found["total"], 0, "a deleted resource is in no search");
    let (_, found) = get(&format!("{base}/fhir/Practitioner?active=false"));
    assert_eq!(
        found["total"], 0,
        "deactivated records past the retention are gone"
    );
}

#[test]
fn deltas_by_last_updated_and_deactivated_records_in_searches() {
    let mut s = Scenario::new("delta");
    let day2 = s.day(
        Edits::default()
            .retiring(&s.persons[60..62])
            .renaming(&s.persons[62..65])
            .copying(&s.persons[65..66]),
    );
    s.import(&s.first_day(), 1).import(&day2, 2);
    let summary = s.summary();
    let base = serve(&s.data);
    let p = import::changes_of(&summary.changes, ResourceType::Practitioner);
    let since = enc(&format!("gt{}", rfc3339(day(1))));
    let (_, delta) = get(&format!(
        "{base}/fhir/Practitioner?_lastUpdated={since}&_count=1000"
    ));
    assert_eq!(
        delta["total"].as_u64(),
        Some(p.added + p.changed + p.deactivated),
        "exactly what was added, changed or deactivated: {p:?}"
    );
    let (_, deactivated) = get(&format!("{base}/fhir/Practitioner?active=false"));
    assert_eq!(deactivated["total"].as_u64(), Some(p.deactivated));
    let (_, all) = get(&format!("{base}/fhir/Practitioner?_summary=count"));
    assert_eq!(all["total"].as_u64(), Some(p.total()));
}

#[test]
fn an_import_that_would_empty_a_type_is_refused_and_nothing_changes() {
    let mut s = Scenario::new("shrink");
    let data = s.data.clone();
    let before = snapshot(&s.import(&s.first_day(), 1).data);
    let truncated = s.root.join("truncated");
    std::fs::create_dir_all(&truncated).unwrap();
    let (header, rows) = rpps_lines(&s.day1.rpps);
    let rpps = truncated.join(s.day1.rpps.file_name().unwrap());
    // A file holding its header only is not an extraction at all.
    std::fs::write(&rpps, format!("{header}\n")).unwrap();
    let files = Day {
        rpps,
        finess: s.day1.finess.clone(),
    };
    let error = s.try_import(&files, 2, Safety::default()).unwrap_err();
    assert!(
        error.to_string().contains("holds no valid data row"),
        "{error}"
    );
    assert_eq!(snapshot(&data), before, "the served data is as it was");
    // A download cut after its first rows: it would deactivate almost every practitioner.
    const KEPT_ROWS: usize = 10;
    std::fs::write(
        &files.rpps,
        format!("{header}\n{}\n", rows[..KEPT_ROWS].join("\n")),
    )
    .unwrap();
    let error = s.try_import(&files, 2, Safety::default()).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, ImportError::Shrink { .. }), "{message}");
    assert!(
        message.contains("Practitioner") && message.contains("--allow-shrink"),
        "{message}"
    );
    assert_eq!(snapshot(&data), before, "the served data is as it was");
    let generations: Vec<_> = std::fs::read_dir(data.join("generations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        generations,
        ["gen-000001"],
        "the refused generation was removed"
    );
    // On purpose, it goes through: everything deactivated.
    let summary = s
        .try_import(
            &files,
            2,
            Safety {
                allow_shrink: true,
                ..Safety::default()
            },
        )
        .unwrap();
    let p = import::changes_of(&summary.changes, ResourceType::Practitioner);
    assert_eq!(p.added, 0, "{p:?}");
    assert_eq!(
        p.deactivated + p.changed + p.unchanged,
        p.previously_active,
        "{p:?}"
    );
    assert!(
        p.deactivated >= p.previously_active - KEPT_ROWS as u64,
        "all but the kept rows' persons deactivated: {p:?}"
    );
    // The binary says it in words and exits non-zero.
    let output = common::annuaire()
        .args(["import", "--rpps"])
        .arg(&files.rpps)
        .arg("--finess")
        .arg(&files.finess)
        .arg("--data")
        .arg(s.root.join("data-binary"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "a first import has nothing to shrink"
    );
    let output = common::annuaire()
        .args(["import", "--rpps"])
        .arg(&s.day1.rpps)
        .arg("--finess")
        .arg(&s.day1.finess)
        .arg("--data")
        .arg(s.root.join("data-binary"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let output = common::annuaire()
        .args(["import", "--rpps"])
        .arg(&files.rpps)
        .arg("--finess")
        .arg(&files.finess)
        .arg("--data")
        .arg(s.root.join("data-binary"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("import refused"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn history_pages_across_a_live_import_lose_and_repeat_nothing() {
    let mut s = Scenario::new("history-paging");
    let edits = Edits::default()
        .retiring(&s.persons[70..72])
        .renaming(&s.persons[72..80]);
    let day2 = s.day(edits.clone());
    let day3 = s.day(Edits {
        rename: s.persons[80..90].to_vec(),
        ..edits
    });
    s.import(&s.first_day(), 1).import(&day2, 2);
    let base = serve(&s.data);
    let all = |base: &str| -> Vec<String> {
        let mut keys = Vec::new();
        let mut url = format!("{base}/fhir/Practitioner/_history?_count=1000");
        loop {
            let (_, page) = get(&url);
            keys.extend(
                entries(&page)
                    .iter()
                    .map(|e| format!("{}@{}", e["fullUrl"], e["response"]["etag"])),
            );
            match common::link(&page, "next") {
                Some(next) => url = next.to_owned(),
                None => return keys,
            }
        }
    };
    let before = all(&base);
    // Two pages on generation 2, then day 3 is imported and served, then the rest.
    let (_, first) = get(&format!("{base}/fhir/Practitioner/_history?_count=7"));
    let next = common::link(&first, "next").unwrap().to_owned();
    let (_, second) = get(&next);
    let mut paged: Vec<String> = [&first, &second]
        .iter()
        .flat_map(|p| {
            entries(p)
                .into_iter()
                .map(|e| format!("{}@{}", e["fullUrl"], e["response"]["etag"]))
                .collect::<Vec<_>>()
        })
        .collect();
    let switched_from = second["meta"]["lastUpdated"].clone();
    s.import(&day3, 3);
    let switched = common::poll(Duration::from_secs(15), || {
        let (_, probe) = get(&format!("{base}/fhir/Practitioner?_count=0"));
        (probe["meta"]["lastUpdated"] != switched_from).then_some(())
    });
    assert!(switched.is_some(), "the server switched to day 3");
    let mut url = common::link(&second, "next").unwrap().to_owned();
    loop {
        let (_, page) = get(&url);
        paged.extend(
            entries(&page)
                .iter()
                .map(|e| format!("{}@{}", e["fullUrl"], e["response"]["etag"])),
        );
        match common::link(&page, "next") {
            Some(next) => url = next.to_owned(),
            None => break,
        }
        assert!(paged.len() < 100_000, "next loops");
    }
    let mut unique = paged.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), paged.len(), "no entry twice");
    // Everything the first generation listed is there, in the same order (day 3 only adds
    // newer entries, which come before the cursor and are not on later pages).
    assert_eq!(
        paged, before,
        "the history read across the import is the one it started on"
    );
}

#[test]
fn a_killed_import_is_cleaned_up_when_the_server_starts() {
    let mut s = Scenario::new("leftover");
    let data = s.import(&s.first_day(), 1).data.clone();
    // What a killed import leaves: a generation directory without its description, and a
    // history segment.
    std::fs::create_dir_all(data.join("generations/gen-000002/db")).unwrap();
    std::fs::write(data.join("generations/gen-000002/resources.zst"), b"{").unwrap();
    std::fs::create_dir_all(data.join("history")).unwrap();
    std::fs::write(data.join("history/seg-000002.bin"), b"{").unwrap();
    let (mut server, address) = common::spawn_binary_server(&data);
    assert!(!data.join("generations/gen-000002").exists());
    assert!(!data.join("history/seg-000002.bin").exists());
    assert!(
        server.stderr().contains("removed gen-000002"),
        "the server says what it removed:\n{}",
        server.stderr()
    );
    let (status, _) = common::http_get(address, "/fhir/Practitioner?_count=1").unwrap();
    assert_eq!(status, 200);
    let _ = server.child.kill();
}

#[test]
fn past_versions_leave_the_history_after_its_retention_and_their_segment_goes() {
    let mut s = Scenario::new("expiry");
    let renamed = s.persons[5..6].to_vec();
    let day2 = s.day(Edits::default().renaming(&renamed));
    let data = s.import(&s.first_day(), 1).import(&day2, 2).data.clone();
    // Generation 2 superseded version 1 of the renamed practitioner: segment 2 holds it.
    let segment = data.join("history/seg-000002.bin");
    assert!(segment.is_file());
    let size = std::fs::metadata(&segment).unwrap().len();
    let served = std::fs::metadata(data.join("generations/gen-000002/resources.zst"))
        .unwrap()
        .len();
    assert!(
        size * 20 < served,
        "the history holds what changed ({size} bytes), not the directory ({served} bytes)"
    );
    // Day 40: nothing changes, but version 1 was superseded 38 days ago, past the 30-day
    // history retention.
    s.import(&day2, 40);
    assert!(
        !segment.exists(),
        "no generation refers to segment 2 any more"
    );
    let base = serve(&data);
    let id = s.practitioner_of(&renamed[0]);
    assert_eq!(
        get(&format!("{base}/fhir/Practitioner/{id}/_history/2")).0,
        200
    );
    assert_eq!(
        get(&format!("{base}/fhir/Practitioner/{id}/_history/1")).0,
        404
    );
    let (_, history) = get(&format!("{base}/fhir/Practitioner/{id}/_history"));
    assert_eq!(versions(&history), [("2".to_owned(), "PUT".to_owned())]);
}

/// Kicks off an export (`query` after `$export?`), polls it to completion, returns the
/// manifest, the status URL and what each file holds (type or `deleted` → NDJSON lines).
async fn export(
    client: &reqwest::Client,
    base: &str,
    query: &str,
) -> (Value, String, BTreeMap<String, Vec<Value>>) {
    let kick_off = client
        .get(format!("{base}/fhir/$export?{query}"))
        .header("Prefer", "respond-async")
        .header("Accept", "application/fhir+json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        kick_off.status().as_u16(),
        202,
        "{:?}",
        kick_off.text().await
    );
    let status_url = kick_off.headers()["content-location"]
        .to_str()
        .unwrap()
        .to_owned();
    let manifest = loop {
        let status = client.get(&status_url).send().await.unwrap();
        match status.status().as_u16() {
            202 => {
                assert!(status.headers().contains_key("x-progress"));
                assert!(status.headers().contains_key("retry-after"));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            200 => {
                assert!(status.headers().contains_key("expires"));
                break status.json::<Value>().await.unwrap();
            }
            other => panic!("status {other}: {:?}", status.text().await),
        }
    };
    let mut files = BTreeMap::new();
    for (kind, list) in [
        ("output", &manifest["output"]),
        ("deleted", &manifest["deleted"]),
    ] {
        for file in list.as_array().unwrap() {
            let response = client
                .get(file["url"].as_str().unwrap())
                .header("Accept", "application/fhir+ndjson")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
            assert_eq!(
                response.headers()["content-type"],
                "application/fhir+ndjson"
            );
            let text = response.text().await.unwrap();
            let lines: Vec<Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(
                lines.len() as u64,
                file["count"].as_u64().unwrap(),
                "{file}"
            );
            let key = if kind == "deleted" {
                "deleted".to_owned()
            } else {
                file["type"].as_str().unwrap().to_owned()
            };
            files.insert(key, lines);
        }
    }
    (manifest, status_url, files)
}

#[tokio::test]
async fn bulk_export_full_and_since_with_deletions() {
    let mut s = Scenario::new("export");
    let retired = s.persons[90..91].to_vec();
    let renamed = s.persons[91..92].to_vec();
    let day2 = s.day(Edits::default().retiring(&retired));
    let day3 = s.day(Edits::default().retiring(&retired).renaming(&renamed));
    s.import(&s.first_day(), 1)
        .import(&day2, 2)
        .import(&day3, 20)
        // Day 40: the retired practitioner's deactivated record (day 2) is deleted.
        .import(&day3, 40);
    let served = snapshot(&s.data);
    let base = serve(&s.data);
    let client = common::client();

    // Full export: every current resource, as served.
    let (manifest, status_url, files) = export(&client, &base, "").await;
    // The watermark: the last millisecond of the generation's stamp's second.
    assert_eq!(
        manifest["transactionTime"],
        rfc3339(day(40) + time::Duration::milliseconds(999))
    );
    assert_eq!(manifest["requiresAccessToken"], false);
    assert!(manifest["deleted"].as_array().unwrap().is_empty());
    for rtype in ResourceType::ALL {
        if !served.keys().any(|(t, _)| *t == rtype) {
            // A type the files do not fill (no FINESS activity or equipment file here) is
            // exported as an empty file.
            assert!(files[rtype.as_str()].is_empty(), "{rtype}");
            continue;
        }
        let exported: BTreeMap<String, Value> = files[rtype.as_str()]
            .iter()
            .map(|r| (r["id"].as_str().unwrap().to_owned(), r.clone()))
            .collect();
        let expected: Vec<&String> = served
            .keys()
            .filter(|(t, _)| *t == rtype)
            .map(|(_, id)| id)
            .collect();
        assert_eq!(exported.len(), expected.len(), "{rtype}");
        let (_, one) = get(&format!("{base}/fhir/{rtype}/{}", expected[0]));
        assert_eq!(
            exported[expected[0]], one,
            "{rtype}: the exported bytes are the read's"
        );
    }
    // DELETE removes the job and its files.
    let deleted = client.delete(&status_url).send().await.unwrap();
    assert_eq!(deleted.status().as_u16(), 202);
    assert_eq!(
        client
            .get(&status_url)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    let file_url = manifest["output"][0]["url"].as_str().unwrap();
    assert_eq!(
        client.get(file_url).send().await.unwrap().status().as_u16(),
        404
    );

    // Since day 15: the practitioner renamed on day 20 in output, the one deleted on day 40 in
    // deleted.
    let since = enc(&rfc3339(day(15)));
    let (manifest, _, files) = export(&client, &base, &format!("_since={since}")).await;
    let renamed_id = s.practitioner_of(&renamed[0]);
    let gone_id = s.practitioner_of(&retired[0]);
    let practitioners: Vec<&str> = files["Practitioner"]
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        practitioners.contains(&renamed_id.as_str()),
        "{practitioners:?}"
    );
    assert!(
        files["Practitioner"]
            .iter()
            .all(|r| r["meta"]["lastUpdated"].as_str().unwrap() > rfc3339(day(15)).as_str()),
        "only what changed since"
    );
    let deletions: Vec<&str> = files["deleted"]
        .iter()
        .flat_map(|bundle| {
            assert_eq!(bundle["type"], "transaction");
            bundle["entry"].as_array().unwrap().iter().map(|e| {
                assert_eq!(e["request"]["method"], "DELETE");
                e["request"]["url"].as_str().unwrap()
            })
        })
        .collect();
    assert!(
        deletions.contains(&format!("Practitioner/{gone_id}").as_str()),
        "{deletions:?} {manifest}"
    );

    // _type, and what cannot be asked.
    let (_, _, files) = export(
        &client,
        &base,
        "_type=Organization&_outputFormat=application%2Ffhir%2Bndjson",
    )
    .await;
    assert_eq!(files.keys().collect::<Vec<_>>(), ["Organization"]);
    for (query, status) in [
        ("_type=Patient", 400),
        ("_outputFormat=text/csv", 400),
        ("_typeFilter=Practitioner%3Factive%3Dtrue", 400),
        (&format!("_since={}", enc(&rfc3339(day(3)))) as &str, 400),
    ] {
        let response = client
            .get(format!("{base}/fhir/$export?{query}"))
            .header("Prefer", "respond-async")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{query}");
        let outcome: Value = response.json().await.unwrap();
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{query}");
    }
    let synchronous = client
        .get(format!("{base}/fhir/$export"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        synchronous.status().as_u16(),
        400,
        "Prefer: respond-async is required"
    );
}

/// An export's files are kept for the expiry the settings give (120 minutes by default) after
/// it completes, measured on the server's clock: the manifest says until when, and once the
/// clock has passed it the job and its files are gone.
#[tokio::test]
async fn a_completed_export_expires_on_the_servers_clock() {
    let mut s = Scenario::new("export-expiry");
    s.import(&s.first_day(), 1);
    let start = time::macros::datetime!(2026-12-01 09:00:00 UTC);
    let (clock, hands) = Clock::manual(start);
    let base = common::spawn_server_on(
        common::settings_for(&s.data),
        Some(Duration::from_millis(50)),
        clock,
    )
    .base;
    let client = common::client();
    let (manifest, status_url, _) = export(&client, &base, "_type=Organization").await;
    let file_url = manifest["output"][0]["url"].as_str().unwrap().to_owned();
    let status = client.get(&status_url).send().await.unwrap();
    assert_eq!(status.status().as_u16(), 200);
    // Completed at 09:00 on the server's clock, which has not moved: kept until 11:00.
    assert_eq!(status.headers()["expires"], "Tue, 01 Dec 2026 11:00:00 GMT");
    hands.advance(Duration::from_secs(119 * 60));
    let still = client.get(&file_url).send().await.unwrap();
    assert_eq!(still.status().as_u16(), 200, "a minute before the expiry");
    hands.advance(Duration::from_secs(60));
    let gone = common::poll(Duration::from_secs(10), || {
        (get(&status_url).0 == 404).then_some(())
    });
    assert!(gone.is_some(), "the expired export is removed");
    let file = client.get(&file_url).send().await.unwrap();
    assert_eq!(file.status().as_u16(), 404, "and its files");
}

/// The generator's day 2 (retirements, new persons, activity, address, profession and mailbox
/// changes), all five files: the summary counts against two independent full imports.
#[test]
fn generated_day_two_is_counted_as_the_files_say() {
    let dir = common::scratch_dir("annuaire-sync-generated-");
    let root = dir.path();
    let generate = |day: u32| {
        annuaire_generate::generate(
            &annuaire_generate::GenerateOptions::new(PERSONS, SEED).with_day(day),
            &root.join(format!("day{day}")),
        )
        .unwrap()
    };
    let (day1, day2) = (generate(1), generate(2));
    assert!(day2.stats.events.total() > 0, "day 2 has events");
    let at =
        |files: &GeneratedFiles, data: &Path, when| common::import_files(files, data, Some(when));
    at(&day1, &root.join("alone1"), day(1));
    at(&day2, &root.join("alone2"), day(2));
    let (before, after) = (
        snapshot(&root.join("alone1")),
        snapshot(&root.join("alone2")),
    );
    let data = root.join("data");
    at(&day1, &data, day(1));
    let summary = at(&day2, &data, day(2));
    let mut total_changes = 0;
    for rtype in ResourceType::ALL {
        let (added, changed, removed, unchanged) = expected_changes(&before, &after, rtype);
        let c = import::changes_of(&summary.changes, rtype);
        assert_eq!(
            (c.added, c.changed, c.deactivated, c.unchanged),
            (added, changed, removed, unchanged),
            "{rtype}"
        );
        total_changes += added + changed + removed;
    }
    assert!(total_changes > 0);
    let p = import::changes_of(&summary.changes, ResourceType::Practitioner);
    assert!(
        p.deactivated >= day2.stats.events.retirements,
        "every retired person's practitioners are deactivated: {p:?} {:?}",
        day2.stats.events
    );
    assert!(p.added >= day2.stats.events.new_persons, "{p:?}");
}

/// The requests of the README's "Daily import and synchronisation" section, as written: every
/// indented line starting with `GET `, its path and query (what follows, up to a comment).
fn readme_sync_requests() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let section = readme
        .split("\n### ")
        .find(|s| s.starts_with("Daily import and synchronisation"))
        .expect("the README has a \"Daily import and synchronisation\" section");
    section
        .lines()
        .filter(|line| line.starts_with("    "))
        .filter_map(|line| line.trim().strip_prefix("GET "))
        .map(|rest| rest.split_whitespace().next().unwrap().to_owned())
        .collect()
}

/// `request` with the watermark `t` put for `T` in its query values (`_since=T`,
/// `_lastUpdated=gtT`), and whether it named `T` at all.
fn with_watermark(request: &str, t: &str) -> (String, bool) {
    let Some((path, query)) = request.split_once('?') else {
        return (request.to_owned(), false);
    };
    let mut named = false;
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let prefix = value
                .strip_suffix('T')
                .filter(|p| p.is_empty() || p.len() == 2);
            match prefix {
                Some(prefix) => {
                    named = true;
                    format!("{name}={prefix}{}", enc(t))
                }
                None => pair.to_owned(),
            }
        })
        .collect();
    (format!("{path}?{}", pairs.join("&")), named)
}

/// A client's copy of the directory: each resource as served, by type and id.
type Mirror = BTreeMap<(String, String), Value>;

/// Runs a search as written, following `next`: every matched resource, and the first Bundle's
/// `meta.lastUpdated`.
fn read_searchset(base: &str, request: &str) -> (Vec<Value>, String) {
    let mut url = format!("{base}{request}");
    let mut resources = Vec::new();
    let mut first_watermark = None;
    loop {
        let (status, bundle) = get(&url);
        assert_eq!(status, 200, "{url}: {bundle}");
        first_watermark
            .get_or_insert_with(|| bundle["meta"]["lastUpdated"].as_str().unwrap().to_owned());
        for entry in entries(&bundle) {
            if entry["search"]["mode"] == "match" {
                resources.push(entry["resource"].clone());
            }
        }
        match next_link(&bundle) {
            Some(next) => url = next,
            None => break,
        }
    }
    (resources, first_watermark.expect("a page"))
}

fn next_link(bundle: &Value) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == "next")
        .map(|l| l["url"].as_str().unwrap().to_owned())
}

fn key_of(resource: &Value) -> (String, String) {
    (
        resource["resourceType"].as_str().unwrap().to_owned(),
        resource["id"].as_str().unwrap().to_owned(),
    )
}

/// The README's full read (its requests without `T`): the mirror and the watermark to keep.
fn full_read(base: &str, requests: &[String]) -> (Mirror, String) {
    let mut mirror = Mirror::new();
    let mut watermark = None;
    for request in requests {
        let (resources, first) = read_searchset(base, request);
        watermark.get_or_insert(first);
        mirror.extend(resources.into_iter().map(|r| (key_of(&r), r)));
    }
    (mirror, watermark.expect("a full read"))
}

/// Per resource (type, id), its newest history entry: the resource, or `None` for a deletion.
type Newest = BTreeMap<(String, String), Option<Value>>;

/// A `_history` request as written, following `next`: per resource its newest entry, and every
/// entry's `lastModified`.
fn read_history(base: &str, request: &str) -> (Newest, Vec<String>) {
    let mut url = format!("{base}{request}");
    let mut newest = BTreeMap::new();
    let mut times = Vec::new();
    loop {
        let (status, bundle) = get(&url);
        assert_eq!(status, 200, "{url}: {bundle}");
        assert_eq!(bundle["type"], "history");
        for entry in entries(&bundle) {
            // `request.url` is the type alone for a creation (POST): the full URL names both.
            let mut path = entry["fullUrl"].as_str().unwrap().rsplit('/');
            let (id, rtype) = (path.next().unwrap(), path.next().unwrap());
            let resource =
                (entry["request"]["method"] != "DELETE").then(|| entry["resource"].clone());
            newest
                .entry((rtype.to_owned(), id.to_owned()))
                .or_insert(resource);
            times.push(
                entry["response"]["lastModified"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        match next_link(&bundle) {
            Some(next) => url = next,
            None => break,
        }
    }
    (newest, times)
}

/// The README's synchronisation section, run literally: day 1 and day 2 of the generator
/// imported (day 2 retires some persons), the section's full read, day 3 imported into the
/// running server (changes, deactivations, and the deletion of day 2's deactivated records,
/// kept one day here), then each recipe of the section, with the kept watermark put for `T`,
/// applied to its own copy of the first read: each copy ends equal to a fresh full read, and
/// the history holds only day 3's changes, not the generation the client had already read.
#[tokio::test]
async fn the_readme_synchronisation_recipes_work_as_written() {
    let requests = readme_sync_requests();
    let (full, recipes): (Vec<&String>, Vec<&String>) =
        requests.iter().partition(|r| !with_watermark(r, "").1);
    assert_eq!(full.len(), 5, "a full read per type: {requests:?}");
    let full: Vec<String> = full.into_iter().cloned().collect();

    let dir = common::scratch_dir("annuaire-sync-readme-");
    let root = dir.path();
    let data = root.join("data");
    let kept_one_day = Safety {
        retention: Retention {
            deactivated_days: 1,
            history_days: 30,
        },
        ..Safety::default()
    };
    // As a daily mirror runs it: no --last-updated, the stamp comes from the file names.
    let import_day = |n: u32| {
        let files = annuaire_generate::generate(
            &annuaire_generate::GenerateOptions::new(PERSONS, SEED).with_day(n),
            &root.join(format!("day{n}")),
        )
        .unwrap();
        import::run(&ImportOptions {
            safety: kept_one_day,
            ..common::import_options(&files, &data, None)
        })
        .unwrap_or_else(|e| panic!("import of day {n}: {e}"))
    };
    import_day(1);
    import_day(2);
    let base = serve(&data);
    let (mirror, t) = full_read(&base, &full);
    assert!(t.ends_with(".999Z"), "the watermark, not the stamp: {t}");
    let (_, ready) = get(&format!("{base}/readyz"));
    assert_eq!(
        ready["generation"]["lastUpdated"],
        t.as_str(),
        "/readyz says the same"
    );

    let summary = import_day(3);
    let switched = common::poll(Duration::from_secs(20), || {
        (full_read(&base, &full[..1]).1 != t).then_some(())
    });
    assert!(switched.is_some(), "the server serves day 3");
    let changes: u64 = summary
        .changes
        .iter()
        .map(|(_, c)| c.added + c.changed + c.deactivated + c.deleted)
        .sum();
    let deleted: u64 = summary.changes.iter().map(|(_, c)| c.deleted).sum();
    assert!(
        deleted > 0,
        "day 2's retirements are deleted on day 3: {:?}",
        summary.changes
    );
    let (fresh, _) = full_read(&base, &full);

    let client = common::client();
    let mut searched = mirror.clone();
    let mut searched_types = Vec::new();
    let mut deletions = None;
    let mut ran = 0;
    for recipe in recipes {
        let (request, named) = with_watermark(recipe, &t);
        assert!(named);
        ran += 1;
        if request.starts_with("/fhir/_history") {
            let (newest, times) = read_history(&base, &request);
            assert_eq!(
                times.len() as u64,
                changes,
                "{request}: only day 3's changes, not the generation already read"
            );
            let stamp = rfc3339(annuaire_generate::extraction_instant(3));
            assert!(
                times.iter().all(|time| *time == stamp),
                "{request}: {times:?}"
            );
            let mut copy = mirror.clone();
            for (key, resource) in &newest {
                match resource {
                    Some(resource) => copy.insert(key.clone(), resource.clone()),
                    None => copy.remove(key),
                };
            }
            assert!(
                copy == fresh,
                "{request}: the copy differs from a fresh read"
            );
            deletions = Some(
                newest
                    .into_iter()
                    .filter(|(_, r)| r.is_none())
                    .map(|(key, _)| key)
                    .collect::<Vec<_>>(),
            );
        } else if let Some(query) = request.strip_prefix("/fhir/$export?") {
            let (manifest, _, files) = export(&client, &base, query).await;
            let mut copy = mirror.clone();
            for (kind, lines) in &files {
                for line in lines {
                    if kind == "deleted" {
                        for entry in line["entry"].as_array().unwrap() {
                            let (rtype, id) = entry["request"]["url"]
                                .as_str()
                                .unwrap()
                                .split_once('/')
                                .unwrap();
                            copy.remove(&(rtype.to_owned(), id.to_owned()));
                        }
                    } else {
                        copy.insert(key_of(line), line.clone());
                    }
                }
            }
            assert!(
                copy == fresh,
                "{request}: the copy differs from a fresh read"
            );
            let day3 = annuaire_generate::extraction_instant(3);
            assert_eq!(
                manifest["transactionTime"],
                rfc3339(day3 + time::Duration::milliseconds(999)),
                "day 3's watermark"
            );
        } else {
            let (resources, _) = read_searchset(&base, &request);
            assert!(
                resources
                    .iter()
                    .all(|r| !mirror.contains_key(&key_of(r)) || mirror[&key_of(r)] != *r),
                "{request}: only what changed"
            );
            searched_types.push(request.split(['/', '?']).nth(2).unwrap().to_owned());
            searched.extend(resources.into_iter().map(|r| (key_of(&r), r)));
        }
    }
    assert_eq!(ran, 7, "two recipes and five searches: {requests:?}");
    searched_types.sort();
    assert_eq!(
        searched_types,
        [
            "Device",
            "HealthcareService",
            "Organization",
            "Practitioner",
            "PractitionerRole"
        ]
    );
    // The searches see no deletion: the README takes them from the history's DELETE entries.
    for key in deletions.expect("the history recipe ran") {
        searched.remove(&key);
    }
    assert!(
        searched == fresh,
        "the searches and the history's deletions: the copy differs"
    );
}

/// `annuaire import` of a generated day's five files, without `--last-updated`, as a daily
/// mirror runs it: whether it succeeded, and what it wrote (stdout and stderr).
fn import_logged(files: &GeneratedFiles, data: &Path) -> (bool, String) {
    let output = common::import_command(files, data)
        .output()
        .expect("run annuaire import");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

/// The generator's day 2 carries day 2's time in its file names, so its import stamps day 2's
/// time, and the log says truthfully where the stamp came from.
#[test]
fn generated_days_are_stamped_from_their_file_names_and_the_log_says_so() {
    let dir = common::scratch_dir("annuaire-sync-day-names-");
    let data = dir.path().join("data");
    for (n, stamp) in [(1, "2026-11-01T00:00:00Z"), (2, "2026-11-02T00:00:00Z")] {
        let files = annuaire_generate::generate(
            &annuaire_generate::GenerateOptions::new(PERSONS, SEED).with_day(n),
            &dir.path().join(format!("day{n}")),
        )
        .unwrap();
        let (ok, log) = import_logged(&files, &data);
        assert!(ok, "day {n}:\n{log}");
        let line = format!("stamp {stamp}, from the RPPS file name");
        assert!(log.contains(&line), "day {n}: no `{line}` in\n{log}");
        let served = annuaire::generation::GenerationInfo::read(
            &DataDir::at(&data).generation_path(&format!("gen-00000{n}")),
        )
        .unwrap();
        assert_eq!(served.last_updated, stamp, "day {n}");
    }
}

/// A first import that fails removes the data directory it created (and the parents it
/// created for it), never a directory that existed before it.
#[test]
fn a_failed_first_import_removes_the_directories_it_created() {
    let dir = common::scratch_dir("annuaire-sync-failed-first-");
    let root = dir.path();
    let files = common::generate_files(&root.join("day1"), 30, SEED);
    let not_finess = root.join("not-finess.csv");
    std::fs::write(&not_finess, "this is not a FINESS extraction\n").unwrap();
    let failing = |data: &Path| {
        import::run(&common::import_options_of(
            &files.rpps,
            &not_finess,
            data,
            None,
        ))
        .expect_err("a FINESS file that is not one")
    };

    let created = root.join("new").join("data");
    failing(&created);
    assert!(
        !root.join("new").exists(),
        "the directories the import created are gone"
    );

    let existing = root.join("existing");
    std::fs::create_dir(&existing).unwrap();
    std::fs::write(existing.join("keep.txt"), "mine").unwrap();
    failing(&existing.join("data"));
    assert!(!existing.join("data").exists());
    assert_eq!(
        std::fs::read_to_string(existing.join("keep.txt")).unwrap(),
        "mine"
    );

    // A data directory that existed is left as it was found (an import's locks and report
    // aside), even empty.
    let empty = root.join("empty");
    std::fs::create_dir(&empty).unwrap();
    failing(&empty);
    assert!(empty.is_dir());
}
