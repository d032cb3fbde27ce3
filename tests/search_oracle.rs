//! Differential test of the search engine against a naive oracle (tests/oracle/): the oracle
//! reads every resource once (by paging through the search API itself), extracts each search
//! parameter's values with hand-written code and evaluates generated queries by scanning, from
//! the FHIR R4 search rules only. proptest generates the queries from the data (values of
//! random resources, prefixes, case and accent changes, modifiers, OR lists, ANDed parameters,
//! chains, `_has`, `:missing`, `:not`, `_lastUpdated` prefixes and precisions); every query
//! goes to the server with a random `_count`, every `next` link is followed, and the matches,
//! `total`, order, `_sort`, `_include` / `_revinclude` and `_summary=count` are compared.
//!
//! Tests: one oracle property per resource type (five types, 250 cases each), `_sort` (150), includes
//! (150), `:identifier` on references as FHIR R4 defines it (60). Every case also checks
//! `_summary=count`; some use `_total=none` / `accurate` and `POST [type]/_search`.
//!
//! Deterministic: fixed seeds, no failure persistence file. `ORACLE_SEED=<u64>` explores other
//! seeds, `ORACLE_CASES_SCALE=<factor>` scales the number of cases, `ORACLE_TRACE=1` prints
//! every query with the oracle's count (with `-- --nocapture`). A failure prints the exact
//! request that disagreed (with the `_count` actually sent: it is raised so that no search
//! takes more than 8 pages) and the shrunk input, as a replayable query string.

mod common;
mod oracle;

use std::collections::{BTreeSet, HashSet};
use std::fmt::Debug;
use std::sync::OnceLock;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use oracle::client::{Client, Page};
use oracle::data::{Dataset, RType};
use oracle::eval;
use oracle::generate::{self, Opts, Roll};
use oracle::query::{IdentifierSemantics, Query};

/// Pages a search may take at most: `_count` is raised for large results so that a case
/// stays fast (small counts keep being drawn for small results).
const MAX_PAGES: usize = 8;

struct Ctx {
    base: String,
    ds: Dataset,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The server (started once) and every resource it serves, fetched once through paging.
fn ctx() -> &'static Ctx {
    static CTX: OnceLock<Ctx> = OnceLock::new();
    CTX.get_or_init(|| {
        let app = common::spawn_app();
        let client = Client::new(&app.address);
        let all = runtime().block_on(async {
            let mut all = Vec::new();
            for rtype in RType::ALL {
                all.push((rtype, client.fetch_all(rtype).await));
            }
            all
        });
        Ctx {
            ds: Dataset::new(&app.address, all),
            base: app.address,
        }
    })
}

fn cases(default: u32) -> u32 {
    let scale: f64 = std::env::var("ORACLE_CASES_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    ((default as f64 * scale).round() as u32).max(1)
}

/// Runs a property with a deterministic seed (derived from its name and `ORACLE_SEED`),
/// without persistence; panics with the reason and the shrunk input.
fn run_property<S>(
    name: &str,
    cases: u32,
    strategy: S,
    check: impl Fn(&S::Value) -> Result<(), String>,
) where
    S: Strategy,
    S::Value: Debug,
{
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 300,
        ..Config::default()
    };
    let extra: u64 = std::env::var("ORACLE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut seed = [0u8; 32];
    for (i, b) in name.bytes().enumerate() {
        seed[i % 32] ^= b;
    }
    seed[24..].copy_from_slice(&extra.to_le_bytes());
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    match runner.run(&strategy, |value| {
        check(&value).map_err(TestCaseError::fail)
    }) {
        Ok(()) => {}
        Err(TestError::Fail(reason, value)) => {
            panic!("{name}: {reason}\nminimal failing input: {value:?}")
        }
        Err(e) => panic!("{name}: {e}"),
    }
}

fn effective_count(asked: u32, expected: usize) -> u32 {
    asked.max(expected.div_ceil(MAX_PAGES) as u32).min(1000)
}

/// `expected` vs `got` for people: sizes and the first differences both ways.
fn diff(expected: &[String], got: &[String]) -> String {
    let e: BTreeSet<&String> = expected.iter().collect();
    let g: BTreeSet<&String> = got.iter().collect();
    let missing: Vec<&&String> = e.difference(&g).take(8).collect();
    let extra: Vec<&&String> = g.difference(&e).take(8).collect();
    format!(
        "oracle {} ids, engine {} ids; expected but not returned ({}): {missing:?}; returned but not expected ({}): {extra:?}",
        expected.len(),
        got.len(),
        e.difference(&g).count(),
        g.difference(&e).count(),
    )
}

/// The pages' matches in order; checks each page (modes, types, size, totals).
fn collect_matches(
    q: &Query,
    pages: &[Page],
    count: u32,
    expected: usize,
) -> Result<Vec<String>, String> {
    let total_none = q.extra.iter().any(|(k, v)| k == "_total" && v == "none");
    let mut got = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        let matches = page.matches();
        for (mode, rtype, id) in &page.entries {
            if mode == "match" && rtype != q.rtype.name() {
                return Err(format!(
                    "{}: match {rtype}/{id} is not a {}",
                    page.url,
                    q.rtype.name()
                ));
            }
            if mode != "match" && (q.includes.is_empty() || mode != "include") {
                return Err(format!(
                    "{}: entry {rtype}/{id} has search.mode {mode}",
                    page.url
                ));
            }
        }
        if matches.len() > count as usize {
            return Err(format!(
                "{}: {} matches on a page of _count={count}",
                page.url,
                matches.len()
            ));
        }
        if matches.is_empty() && page.next.is_some() {
            return Err(format!("{}: an empty page with a next link", page.url));
        }
        if q.sort.is_empty() {
            for w in matches.windows(2) {
                if w[0] >= w[1] {
                    return Err(format!(
                        "{}: page not in ascending id order: {} then {}",
                        page.url, w[0], w[1]
                    ));
                }
            }
        }
        match (total_none, page.total, i) {
            (true, Some(t), _) => return Err(format!("{}: _total=none but total {t}", page.url)),
            (false, None, 0) => return Err(format!("{}: no total", page.url)),
            (false, Some(t), _) if t != expected as u64 => {
                return Err(format!("{}: total {t}, oracle {expected}", page.url));
            }
            _ => {}
        }
        got.extend(matches);
    }
    let mut seen = HashSet::new();
    if let Some(dup) = got.iter().find(|id| !seen.insert(*id)) {
        return Err(format!("{dup} returned twice across pages"));
    }
    Ok(got)
}

/// Runs `q` page by page and compares with the oracle: matches (set and order), totals,
/// includes per page; then `_summary=count`.
async fn check(client: &Client, ds: &Dataset, q: &Query) -> Result<(), String> {
    let expected = eval::answer(ds, q);
    let count = effective_count(q.count, expected.len());
    let mut pairs = q.pairs();
    pairs.push(("_count".into(), count.to_string()));
    let shown = q.display(count);
    if std::env::var_os("ORACLE_TRACE").is_some() {
        eprintln!("ORACLE {} {shown}", expected.len());
    }
    let pages = client
        .search(q.rtype, &pairs, q.post)
        .await
        .map_err(|e| format!("{shown}\n{e}"))?;
    let got =
        collect_matches(q, &pages, count, expected.len()).map_err(|e| format!("{shown}\n{e}"))?;
    let as_set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<String>>();
    if as_set(&got) != as_set(&expected) {
        return Err(format!(
            "{shown}\nmatches differ: {}",
            diff(&expected, &got)
        ));
    }
    if got != expected {
        let at = got
            .iter()
            .zip(&expected)
            .position(|(g, e)| g != e)
            .unwrap_or(0);
        return Err(format!(
            "{shown}\norder differs at position {at}: oracle {:?}, engine {:?}",
            &expected[at..(at + 5).min(expected.len())],
            &got[at..(at + 5).min(got.len())]
        ));
    }
    if !q.includes.is_empty() {
        for page in &pages {
            check_includes(ds, q, page).map_err(|e| format!("{shown}\n{}: {e}", page.url))?;
        }
    }
    // `_summary=count`: the count only.
    let mut pairs = q.pairs();
    pairs.retain(|(k, _)| {
        k != "_total" && !k.starts_with("_include") && !k.starts_with("_revinclude") && k != "_sort"
    });
    pairs.push(("_summary".into(), "count".into()));
    let first = format!("{}/fhir/{}", client.base, q.rtype.name());
    let (page, _) = client
        .page(&first, &pairs)
        .await
        .map_err(|e| format!("{shown}\n{e}"))?;
    if page.total != Some(expected.len() as u64) || page.has_entry_key || page.next.is_some() {
        return Err(format!(
            "{}: _summary=count gave total {:?}, {} entries{}, oracle {}",
            page.url,
            page.total,
            page.entries.len(),
            if page.next.is_some() {
                " and a next link"
            } else {
                ""
            },
            expected.len()
        ));
    }
    Ok(())
}

/// The `include` entries of a page: no duplicate, none also a match of the page, exactly what
/// the oracle derives from the page's matches.
fn check_includes(ds: &Dataset, q: &Query, page: &Page) -> Result<(), String> {
    let matches = page.matches();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for (_, rtype, id) in page.entries.iter().filter(|(m, _, _)| m == "include") {
        if !seen.insert((rtype.clone(), id.clone())) {
            return Err(format!("{rtype}/{id} included twice"));
        }
        if rtype == q.rtype.name() && matches.contains(id) {
            return Err(format!("{rtype}/{id} is both a match and included"));
        }
    }
    let oracle: BTreeSet<(String, String)> = eval::included(ds, q.rtype, &matches, &q.includes)
        .into_iter()
        .map(|(t, id)| (t.name().to_owned(), id))
        .collect();
    if oracle != seen {
        let missing: Vec<_> = oracle.difference(&seen).take(6).collect();
        let extra: Vec<_> = seen.difference(&oracle).take(6).collect();
        return Err(format!(
            "includes differ: oracle {}, engine {}; missing {missing:?}; unexpected {extra:?}",
            oracle.len(),
            seen.len()
        ));
    }
    Ok(())
}

fn dice() -> impl Strategy<Value = Vec<u32>> {
    vec(any::<u32>(), 64)
}

fn oracle_property(rtype: RType, name: &str, n: u32) {
    oracle_property_with(rtype, name, n, Opts::DEFAULT);
}

fn oracle_property_with(rtype: RType, name: &str, n: u32, opts: Opts) {
    let ctx = ctx();
    let ds: &'static Dataset = &ctx.ds;
    let rt = runtime();
    let client = Client::new(&ctx.base);
    let strategy =
        (vec(dice(), 1..=3), 1u32..=50, any::<u32>()).prop_map(move |(crits, count, extra)| {
            generate::query(ds, rtype, &crits, count, extra, opts)
        });
    run_property(name, cases(n), strategy, |q| {
        rt.block_on(check(&client, ds, q))
    });
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/// Everything the oracle knows came through paging: it is complete (cross-checked against the
/// generated RPPS file) and paging was consistent (checked while fetching).
#[test]
fn fetching_everything_by_paging_is_complete() {
    let ctx = ctx();
    let rows = &common::demo().rows;
    let practitioners: BTreeSet<String> = rows.iter().map(|r| r.practitioner_id()).collect();
    let fetched: BTreeSet<String> = ctx
        .ds
        .of(RType::Practitioner)
        .resources
        .iter()
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(fetched, practitioners, "Practitioner ids vs the RPPS file");
    let roles: BTreeSet<String> = rows
        .iter()
        .filter(|r| r.has_activity())
        .map(|r| r.role_id())
        .collect();
    let fetched: BTreeSet<String> = ctx
        .ds
        .of(RType::PractitionerRole)
        .resources
        .iter()
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(fetched, roles, "PractitionerRole ids vs the RPPS file");
    let organizations = &ctx.ds.of(RType::Organization).resources;
    for row in rows {
        if let Some(id) = row.organization_id() {
            assert!(
                ctx.ds.of(RType::Organization).by_id.contains_key(&id),
                "Organization {id} of line {}",
                row.line
            );
        }
    }
    assert!(organizations.len() > 100);
    // The FINESS services: present, and each points at an establishment that is served (an
    // activity or equipment of an establishment absent from FINESS is not imported).
    for (rtype, reference) in [
        (RType::HealthcareService, "organization"),
        (RType::Device, "organization"),
    ] {
        let data = ctx.ds.of(rtype);
        assert!(!data.resources.is_empty(), "no {} served", rtype.name());
        for resource in &data.resources {
            let oracle::data::Vals::Ref(refs) = resource.vals(reference) else {
                unreachable!()
            };
            assert!(
                refs.len() == 1 && ctx.ds.resolve(&refs[0]).is_some(),
                "{}/{}: {reference} {refs:?} is not a served Organization",
                rtype.name(),
                resource.id
            );
        }
    }
}

#[test]
fn practitioner_search_matches_the_oracle() {
    oracle_property(RType::Practitioner, "practitioner", 250);
}

#[test]
fn practitioner_role_search_matches_the_oracle() {
    oracle_property(RType::PractitionerRole, "practitioner_role", 250);
}

#[test]
fn organization_search_matches_the_oracle() {
    oracle_property(RType::Organization, "organization", 250);
}

#[test]
fn healthcare_service_search_matches_the_oracle() {
    oracle_property(RType::HealthcareService, "healthcare_service", 250);
}

#[test]
fn device_search_matches_the_oracle() {
    oracle_property(RType::Device, "device", 250);
}

/// `_sort` on strings, tokens and the date, both directions, one or two keys, across pages.
#[test]
fn sort_matches_the_oracle() {
    let ctx = ctx();
    let ds: &'static Dataset = &ctx.ds;
    let rt = runtime();
    let client = Client::new(&ctx.base);
    let strategy = (
        0usize..RType::ALL.len(),
        vec(dice(), 0..=1),
        vec(any::<u32>(), 8),
        1u32..=50,
    )
        .prop_map(move |(t, crits, sort, count)| {
            generate::sorted_query(ds, RType::ALL[t], &crits, &sort, count)
        });
    run_property("sort", cases(150), strategy, |q| {
        rt.block_on(check(&client, ds, q))
    });
}

/// `_include` / `_revinclude` (with `:iterate`, `*`, a target type): the included entries of
/// each page are what the oracle derives from that page's matches.
#[test]
fn includes_match_the_oracle() {
    let ctx = ctx();
    let ds: &'static Dataset = &ctx.ds;
    let rt = runtime();
    let client = Client::new(&ctx.base);
    let strategy = (
        0usize..RType::ALL.len(),
        vec(dice(), 1..=2),
        vec(any::<u32>(), 8),
        1u32..=50,
    )
        .prop_map(move |(t, crits, inc, count)| {
            let rtype = RType::ALL[t];
            // The last die picks the anchor (its low bits, which would pick `_total`, cleared).
            let anchor = inc.last().copied().unwrap_or(0) & !7;
            let mut q = generate::query(ds, rtype, &crits, count, anchor, Opts::DEFAULT);
            let mut roll = Roll::new(&inc);
            q.includes = generate::includes(rtype, &mut roll);
            if roll.chance(30) {
                generate::add_sort(&mut q, &mut roll);
            }
            q
        });
    run_property("includes", cases(150), strategy, |q| {
        rt.block_on(check(&client, ds, q))
    });
}

/// R4 §3.1.1.4.9: `:identifier` tests `Reference.identifier`, not the referenced resource's
/// identifiers (that is the chain `practitioner.identifier=`).
#[test]
fn reference_identifier_modifier_follows_r4() {
    let opts = Opts {
        identifier: Some(IdentifierSemantics::R4),
        identifier_percent: 70,
    };
    oracle_property_with(RType::PractitionerRole, "identifier_r4", cases(60), opts);
}

/// The oracle keeps its own list of parameters (it extracts their values by hand), so a test
/// holds it to the declarations the server is built from: the same codes per type, the same
/// types, the same reference targets and the same modifiers.
#[test]
fn the_oracle_knows_exactly_the_declared_parameters() {
    use annuaire::fhir::ResourceType;
    use annuaire::search::params::{ParamType, Registry};
    use oracle::data::{Kind, modifiers, params};
    for rtype in RType::ALL {
        let served: ResourceType = rtype.name().parse().expect("a served type");
        let mut declared: Vec<(String, String, Vec<String>)> = Registry::get()
            .for_type(served)
            .map(|p| {
                let kind = match p.param_type {
                    ParamType::String => "string".to_owned(),
                    ParamType::Token => "token".to_owned(),
                    ParamType::Date => "date".to_owned(),
                    ParamType::Uri => "uri".to_owned(),
                    ParamType::Reference { target } => format!("reference to {target}"),
                };
                let mut modifiers = p.modifiers.clone();
                modifiers.sort();
                (p.code.clone(), kind, modifiers)
            })
            .collect();
        let mut known: Vec<(String, String, Vec<String>)> = params(rtype)
            .into_iter()
            .map(|p| {
                let kind = match p.kind {
                    Kind::Str => "string".to_owned(),
                    Kind::Tok(_) => "token".to_owned(),
                    Kind::Date => "date".to_owned(),
                    Kind::Uri => "uri".to_owned(),
                    Kind::Ref(target) => format!("reference to {}", target.name()),
                };
                let mut modifiers: Vec<String> =
                    modifiers(p.kind).iter().map(|m| m.to_string()).collect();
                modifiers.sort();
                (p.name.to_owned(), kind, modifiers)
            })
            .collect();
        declared.sort();
        known.sort();
        assert_eq!(
            known,
            declared,
            "{}: the oracle's parameters differ from conformance/search-parameters.json",
            rtype.name()
        );
    }
}
