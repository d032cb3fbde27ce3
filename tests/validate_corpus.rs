//! The shared validation corpus (`tests/fixtures/validation/`, README there) against the
//! server's validator: every good file validates with no error under its claims, and every bad
//! file gives exactly the set of `(rule, expression)` error findings its `faults.json` entry
//! names (the contract of `profiles/README.md`, "Validation"). The profile checker is held to
//! the same manifest by `tests/interop/test_validate_corpus.py`, so the two engines agree. The
//! XML twins (`xml/`) read back through `fhir::xml_read` are the JSON they twin.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use annuaire::fhir::ResourceType;
use annuaire::fhir::xml_read::{self, ReadLimits};
use annuaire::profiles::{Severity, Target, Validation, element_shape, validate};
use serde_json::Value;

type Pairs = BTreeSet<(String, String)>;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/validation")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn manifest() -> Vec<Value> {
    match read_json(&corpus().join("faults.json")) {
        Value::Array(entries) => entries,
        other => panic!("faults.json is not an array: {other}"),
    }
}

/// Validates a corpus resource against its claims (no deadline).
fn run(resource: &Value) -> Validation {
    let rtype: ResourceType = resource["resourceType"]
        .as_str()
        .expect("resourceType")
        .parse()
        .expect("a served type");
    validate(rtype, resource, Target::Claimed, &|| false).expect("validation performed")
}

/// The `(rule, expression)` pairs of the findings at `severity` or worse.
fn pairs(validation: &Validation, worst: Severity) -> Pairs {
    validation
        .findings
        .iter()
        .filter(|f| f.severity <= worst)
        .map(|f| (f.rule.as_str().to_owned(), f.expression.clone()))
        .collect()
}

fn expected(entry: &Value, key: &str) -> Pairs {
    entry[key]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|e| {
                    let text = |k: &str| e[k].as_str().expect(k).to_owned();
                    (text("rule"), text("expression"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn show(set: &Pairs) -> String {
    if set.is_empty() {
        return "(none)".into();
    }
    set.iter()
        .map(|(r, e)| format!("{r} @ {e}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Fails with one table row per file whose findings differ.
fn assert_rows(what: &str, rows: Vec<(String, Pairs, Pairs)>, checked: usize) {
    let mut table = String::new();
    for (file, want, got) in &rows {
        let _ = writeln!(
            table,
            "{file}\n    expected: {}\n    got:      {}",
            show(want),
            show(got)
        );
    }
    assert!(
        rows.is_empty(),
        "{} of {checked} {what} differ from the manifest:\n{table}",
        rows.len()
    );
}

#[test]
fn the_manifest_names_every_bad_file_once_and_covers_the_rules() {
    let entries = manifest();
    let files: BTreeSet<String> = entries
        .iter()
        .map(|e| e["file"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(files.len(), entries.len(), "a bad file listed twice");
    let on_disk: BTreeSet<String> = std::fs::read_dir(corpus().join("bad"))
        .unwrap()
        .map(|e| format!("bad/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    assert_eq!(files, on_disk, "faults.json and bad/ list different files");
    assert!(
        entries.len() >= 45,
        "at least 45 crafted faults, found {}",
        entries.len()
    );
    let rules: BTreeSet<String> = entries
        .iter()
        .flat_map(|e| expected(e, "expect").into_iter().chain(expected(e, "info")))
        .map(|(rule, _)| rule)
        .collect();
    for rule in [
        "min",
        "max",
        "unknown",
        "type",
        "format",
        "invariant",
        "pattern",
        "closed",
        "binding",
        "reference",
        "extension-context",
        "profile-claim",
        "unchecked",
    ] {
        assert!(rules.contains(rule), "no fault of rule {rule}");
    }
}

#[test]
fn every_good_file_validates_with_no_error() {
    let mut rows = Vec::new();
    let mut count = 0;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus().join("good"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for path in paths {
        count += 1;
        let got = pairs(&run(&read_json(&path)), Severity::Error);
        if !got.is_empty() {
            rows.push((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                Pairs::new(),
                got,
            ));
        }
    }
    assert!(count >= 21, "the good corpus is incomplete ({count} files)");
    assert_rows("good files", rows, count);
}

#[test]
fn every_bad_file_gives_exactly_its_manifest_findings() {
    let entries = manifest();
    let mut rows = Vec::new();
    for entry in &entries {
        let file = entry["file"].as_str().unwrap();
        let validation = run(&read_json(&corpus().join(file)));
        let got = pairs(&validation, Severity::Error);
        let want = expected(entry, "expect");
        // Advisory findings the manifest names (`info`) must be there too; others may be.
        let info = expected(entry, "info");
        let all = pairs(&validation, Severity::Information);
        if got != want || !info.is_subset(&all) {
            let mut want = want;
            want.extend(info.iter().cloned());
            let mut got = got;
            got.extend(all.intersection(&info).cloned());
            rows.push((file.to_owned(), want, got));
        }
    }
    assert_rows("bad files", rows, entries.len());
}

/// Every XML twin: the JSON file it twins, and the twin's path.
fn twins() -> Vec<(String, PathBuf)> {
    let mut twins = Vec::new();
    for entry in std::fs::read_dir(corpus().join("xml")).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let json = ["good", "bad"]
            .iter()
            .map(|dir| format!("{dir}/{stem}.json"))
            .find(|name| corpus().join(name).exists())
            .unwrap_or_else(|| panic!("{} twins no JSON file", path.display()));
        twins.push((json, path));
    }
    twins.sort();
    twins
}

#[test]
fn every_xml_twin_reads_back_as_its_json_and_gives_the_same_findings() {
    let twins = twins();
    assert!(twins.len() >= 15, "{} XML twins", twins.len());
    let mut rows = Vec::new();
    let mut different = Vec::new();
    for (json, xml) in &twins {
        let from_json = read_json(&corpus().join(json));
        let bytes = std::fs::read(xml).unwrap();
        let from_xml = match xml_read::to_json(&bytes, &element_shape, ReadLimits::default()) {
            Ok(value) => value,
            Err(e) => panic!("{}: {e}", xml.display()),
        };
        if from_xml != from_json {
            different.push(json.clone());
        }
        let want = pairs(&run(&from_json), Severity::Error);
        let got = pairs(&run(&from_xml), Severity::Error);
        if got != want {
            rows.push((format!("{json} (XML)"), want, got));
        }
    }
    assert!(
        different.is_empty(),
        "XML twins that do not read back as their JSON: {different:?}"
    );
    assert_rows("XML twins", rows, twins.len());
}

/// Whitespace between elements and the XML declaration left out.
fn normalized_xml(text: &str) -> String {
    let body = text.trim_start();
    let body = match body.strip_prefix("<?xml") {
        Some(rest) => &rest[rest.find("?>").map_or(0, |i| i + 2)..],
        None => body,
    };
    body.split('>')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(">")
        .trim()
        .to_owned()
}

#[test]
fn the_xml_twins_of_good_files_are_what_the_servers_writer_writes() {
    let mut different = Vec::new();
    for (json, xml) in twins().iter().filter(|(json, _)| json.starts_with("good/")) {
        let written = annuaire::fhir::xml::from_json(&std::fs::read(corpus().join(json)).unwrap())
            .unwrap_or_else(|e| panic!("{json}: {e}"));
        let written = normalized_xml(&String::from_utf8(written).unwrap());
        let twin = normalized_xml(&std::fs::read_to_string(xml).unwrap());
        if written != twin {
            let at = written
                .bytes()
                .zip(twin.bytes())
                .take_while(|(a, b)| a == b)
                .count();
            let around = |s: &str| s[at.saturating_sub(80)..(at + 80).min(s.len())].to_owned();
            different.push(format!(
                "{json}:\n  writer: …{}…\n  twin:   …{}…",
                around(&written),
                around(&twin)
            ));
        }
    }
    assert!(different.is_empty(), "{}", different.join("\n"));
}
