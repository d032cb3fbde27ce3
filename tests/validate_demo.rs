//! Every resource the demo generation serves validates against the profiles it claims, with
//! no error: the directory's own output is the first thing `$validate` must accept (issue #26).
//! The generation is the shared demo dataset of the integration tests (tests/common), read from
//! its store as the server reads it; each current resource of each type is validated with
//! `Target::Claimed`, as `$validate` does without a `profile` parameter.

mod common;

use std::collections::BTreeMap;

use annuaire::fhir::ResourceType;
use annuaire::generation::DataDir;
use annuaire::profiles::{Rule, Severity, Target, validate};
use serde_json::Value;

/// Every current resource of every type: no error finding. Findings are grouped by type, rule
/// and profile element so that a failure names each distinct cause once, with an example.
#[test]
fn every_demo_resource_validates_without_error() {
    let demo = common::demo();
    let dir = DataDir::create(&demo.data).unwrap();
    let (_, generation) = annuaire::generation::open_current(&dir, common::CACHE_BYTES).unwrap();
    let mut causes: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut validated: BTreeMap<ResourceType, usize> = BTreeMap::new();
    let mut unchecked = 0;
    for rtype in ResourceType::ALL {
        for doc in 0..generation.document_count(rtype) {
            let (id, stored) = generation.document(rtype, doc).unwrap().unwrap();
            let resource: Value = serde_json::from_slice(&stored.to_json()).unwrap();
            let validation = validate(rtype, &resource, Target::Claimed, &|| false).unwrap();
            *validated.entry(rtype).or_default() += 1;
            for f in &validation.findings {
                if f.rule == Rule::Unchecked {
                    unchecked += 1;
                }
                if f.severity > Severity::Error {
                    continue;
                }
                let cause = format!("{rtype} {} {}", f.rule.as_str(), f.element);
                let example = format!("{rtype}/{id} {}: {}", f.expression, f.message);
                let entry = causes.entry(cause).or_insert((0, example));
                entry.0 += 1;
            }
        }
    }
    for rtype in ResourceType::ALL {
        assert!(
            validated.get(&rtype).copied().unwrap_or(0) > 0,
            "no {rtype} in the demo"
        );
    }
    // The demo's ADELI practitioners and generic claims (no snapshot here) are said to be
    // unchecked, never passed silently.
    assert!(
        unchecked > 0,
        "no claim reported unchecked in {validated:?}"
    );
    let report: Vec<String> = causes
        .iter()
        .map(|(cause, (count, example))| format!("{count:>6} × {cause}\n         e.g. {example}"))
        .collect();
    assert!(
        report.is_empty(),
        "errors on the demo's own resources ({validated:?} validated, {unchecked} unchecked):\n{}",
        report.join("\n")
    );
}
