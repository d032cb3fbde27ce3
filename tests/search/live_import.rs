//! Paging across a live import: child servers (the real binary) over data directories of their
//! own, an import into the directory while a client pages, and the pages checked to be the
//! full result list without a gap or a duplicate.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::common;
use crate::search_support::*;

/// Few enough persons that establishments_for() gives its minimum (20) for both sizes: the
/// FINESS file is then the same, and the first persons of the larger file are those of the
/// smaller one (checked below).
const LIVE_SMALL: u64 = 200;
const LIVE_LARGE: u64 = 300;
const LIVE_SEED: u64 = 7;

/// The stamp of the second import of the live-import tests (`--last-updated`): later than the
/// first import's (the files' extraction date), so that the server switches to a generation
/// of its own, whatever the time it is.
const REIMPORTED_AT: &str = "2026-12-01T00:00:00Z";

fn page_ids(bundle: &Value) -> Vec<String> {
    match_ids(bundle)
}

/// Every page of `path` (which has no `_count`), unpaged: `_count=1000`, one page.
fn unpaged(address: std::net::SocketAddr, path: &str) -> Vec<String> {
    let separator = if path.contains('?') { '&' } else { '?' };
    let bundle = child_page(address, &format!("{path}{separator}_count=1000"));
    assert!(link(&bundle, "next").is_none(), "{path}: one page");
    let ids = page_ids(&bundle);
    assert_eq!(bundle["total"].as_u64(), Some(ids.len() as u64));
    ids
}

/// Follows `next` from `bundle` to the end; returns the ids of the pages fetched and their
/// versionIds.
fn follow(
    address: std::net::SocketAddr,
    mut bundle: Value,
) -> (Vec<Vec<String>>, BTreeSet<String>) {
    let mut pages = Vec::new();
    let mut versions = BTreeSet::new();
    while let Some(next) = link(&bundle, "next").map(str::to_owned) {
        bundle = child_page(address, &next);
        for r in resources_with_mode(&bundle, "match") {
            versions.insert(r["meta"]["versionId"].as_str().unwrap().to_owned());
        }
        pages.push(page_ids(&bundle));
        assert!(pages.len() < 500, "next loops");
    }
    (pages, versions)
}

/// When the generation being served was imported (a Bundle's `meta.lastUpdated`).
fn served_import_time(address: std::net::SocketAddr) -> Value {
    let (_, bundle) = child_json(address, "/fhir/Organization?_count=0");
    bundle["meta"]["lastUpdated"].clone()
}

/// Waits until the server serves a generation imported after `before`.
fn wait_for_new_generation(address: std::net::SocketAddr, before: &Value) {
    let switched = common::poll(Duration::from_secs(15), || {
        (served_import_time(address) != *before).then_some(())
    });
    assert!(
        switched.is_some(),
        "the server never switched to the new import"
    );
}

fn assert_no_duplicates(ids: &[String], what: &str) {
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{what}: duplicates");
}

#[test]
fn paging_across_a_reimport_of_the_same_data_has_no_gap_and_no_duplicate() {
    check_paging_across_a_reimport(&[
        "/fhir/Practitioner",
        "/fhir/Practitioner?_sort=family",
        "/fhir/PractitionerRole?active=true",
        "/fhir/Organization?_sort=-name",
    ]);
}

#[test]
fn paging_sorted_by_last_updated_across_a_reimport_has_no_gap() {
    // The import gives every resource a new lastUpdated: a cursor's sort key (the old
    // lastUpdated) would not order against the new values, so sorted searches are pinned to the
    // generation they started on.
    check_paging_across_a_reimport(&[
        "/fhir/Organization?_sort=-_lastUpdated,name",
        "/fhir/Practitioner?_sort=_lastUpdated",
    ]);
}

/// Page 1 and 2 of each query (`_count=5`) on generation 1, the same files imported again
/// (generation 2, switched live), then `next` to the end: the pages must be the full result
/// list, in order, without duplicates; `previous` leads back through the same pages.
fn check_paging_across_a_reimport(queries: &[&str]) {
    let scratch = common::scratch_dir("annuaire-it-search-same-");
    let files = common::generate_files(&scratch.path().join("files"), LIVE_SMALL, LIVE_SEED);
    let data = scratch.path().join("data");
    common::import_files(&files, &data, None);
    let (_server, address) = common::spawn_binary_server(&data);

    let mut before = Vec::new();
    for &query in queries {
        let full = unpaged(address, query);
        assert!(full.len() > 20, "{query}: {} results", full.len());
        let separator = if query.contains('?') { '&' } else { '?' };
        let first = child_page(address, &format!("{query}{separator}_count=5"));
        let second = child_page(address, link(&first, "next").unwrap());
        before.push((query, full, first, second));
    }
    let probe_type = before[0]
        .0
        .trim_start_matches("/fhir/")
        .split('?')
        .next()
        .unwrap();
    let probe = format!("/fhir/{probe_type}/{}", before[0].1[0]);
    let (_, probed) = child_json(address, &probe);
    assert_eq!(probed["meta"]["versionId"], "1");
    let first_import = probed["meta"]["lastUpdated"].clone();
    let generation_1 = served_import_time(address);

    // A' = the same files, imported again (stamped later): generation 2, served within a few
    // seconds. Nothing changed, so no resource gets a new version or time.
    common::import_binary(&files, &data, REIMPORTED_AT);
    wait_for_new_generation(address, &generation_1);
    let (_, probed) = child_json(address, &probe);
    assert_eq!(
        probed["meta"]["versionId"], "1",
        "same content, same version"
    );
    assert_eq!(
        probed["meta"]["lastUpdated"], first_import,
        "same content, same lastUpdated"
    );

    for (query, full, first, second) in before {
        let (rest, versions) = follow(address, second.clone());
        let mut union = page_ids(&first);
        union.extend(page_ids(&second));
        union.extend(rest.concat());
        assert_no_duplicates(&union, query);
        assert_eq!(
            union.len(),
            full.len(),
            "{query}: the pages across the import hold {} results, the unpaged search {}",
            union.len(),
            full.len()
        );
        assert_eq!(
            union, full,
            "{query}: the pages across the import are the full result list"
        );
        // An identical re-import changes no version, on either generation.
        assert_eq!(
            versions,
            BTreeSet::from(["1".to_owned()]),
            "{query}: every resource keeps its version"
        );
        assert_eq!(
            unpaged(address, query),
            full,
            "{query}: same data after the import"
        );
        // And back with `previous`: the same pages.
        let mut forward = vec![page_ids(&first), page_ids(&second)];
        forward.extend(rest);
        let mut last = child_page(
            address,
            &format!(
                "{query}{}_count=5",
                if query.contains('?') { '&' } else { '?' }
            ),
        );
        while let Some(next) = link(&last, "next").map(str::to_owned) {
            last = child_page(address, &next);
        }
        let mut backward = vec![page_ids(&last)];
        while let Some(previous) = link(&last, "previous").map(str::to_owned) {
            last = child_page(address, &previous);
            backward.push(page_ids(&last));
            assert!(backward.len() <= forward.len(), "{query}: previous loops");
        }
        backward.reverse();
        assert_eq!(backward, forward, "{query}: previous pages");
    }
}

#[test]
fn paging_across_an_import_of_a_superset_has_no_gap_and_no_duplicate() {
    let scratch = common::scratch_dir("annuaire-it-search-superset-");
    let small = common::generate_files(&scratch.path().join("small"), LIVE_SMALL, LIVE_SEED);
    let large = common::generate_files(&scratch.path().join("large"), LIVE_LARGE, LIVE_SEED);
    // The larger file holds every row of the smaller one.
    let small_rows = common::read_rpps_rows(&small.rpps);
    let large_rows = common::read_rpps_rows(&large.rpps);
    let key = |r: &common::Row| {
        [
            &r.type_id,
            &r.id_pp,
            &r.idnat,
            &r.family,
            &r.given,
            &r.profession,
            &r.structure_id,
            &r.finess_site,
            &r.finess_ej,
            &r.role,
            &r.mode,
            &r.genre,
            &r.section,
        ]
        .map(|s| s.as_str())
        .join("|")
    };
    let large_keys: BTreeSet<String> = large_rows.iter().map(key).collect();
    assert!(
        small_rows.iter().all(|r| large_keys.contains(&key(r))),
        "setup: the {LIVE_LARGE}-person file extends the {LIVE_SMALL}-person one"
    );
    assert_eq!(
        std::fs::read(&small.finess).unwrap(),
        std::fs::read(&large.finess).unwrap(),
        "setup: same FINESS file"
    );
    let only_large = large_rows
        .iter()
        .find(|r| !small_rows.iter().any(|s| s.idnat == r.idnat))
        .expect("persons only in the larger file")
        .practitioner_id();

    let data = scratch.path().join("data");
    common::import_files(&small, &data, None);
    let (_server, address) = common::spawn_binary_server(&data);
    let queries = ["/fhir/Practitioner", "/fhir/PractitionerRole?active=true"];
    let mut before = Vec::new();
    for query in queries {
        let full = unpaged(address, query);
        let separator = if query.contains('?') { '&' } else { '?' };
        let first = child_page(address, &format!("{query}{separator}_count=5"));
        let second = child_page(address, link(&first, "next").unwrap());
        before.push((query, full, first, second));
    }
    assert_eq!(
        child_json(address, &format!("/fhir/Practitioner/{only_large}")).0,
        404
    );

    let generation_1 = served_import_time(address);
    common::import_binary(&large, &data, REIMPORTED_AT);
    wait_for_new_generation(address, &generation_1);
    let (status, _) = child_json(address, &format!("/fhir/Practitioner/{only_large}"));
    assert_eq!(status, 200, "the larger dataset is served");

    for (query, small_full, first, second) in before {
        let (rest, versions) = follow(address, second.clone());
        // The persons of the smaller file are unchanged in the larger one: so are their
        // resources' versions; the new ones start at 1.
        assert_eq!(versions, BTreeSet::from(["1".to_owned()]), "{query}");
        let large_full = unpaged(address, query);
        let small_set: BTreeSet<&String> = small_full.iter().collect();
        let large_set: BTreeSet<&String> = large_full.iter().collect();
        assert!(small_set.is_subset(&large_set), "{query}: superset");
        assert!(
            large_set.len() > small_set.len(),
            "{query}: strictly larger"
        );
        let mut sorted = small_full.clone();
        sorted.sort();
        assert_eq!(sorted, small_full, "{query}: results in id order");

        let mut union = page_ids(&first);
        union.extend(page_ids(&second));
        let cursor = union.last().unwrap().clone();
        union.extend(rest.concat());
        assert_no_duplicates(&union, query);
        // Keyset paging: what generation 1 had up to the cursor, then what generation 2 has
        // after it.
        let mut expected: Vec<String> = small_full
            .iter()
            .filter(|i| **i <= cursor)
            .cloned()
            .collect();
        expected.extend(large_full.iter().filter(|i| **i > cursor).cloned());
        assert_eq!(
            union, expected,
            "{query}: no gap, no duplicate across the import"
        );
        assert!(
            small_set.iter().all(|i| union.contains(i)),
            "{query}: nothing of A lost"
        );
    }
}
