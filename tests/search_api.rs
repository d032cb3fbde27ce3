//! FHIR R4 search (https://hl7.org/fhir/R4/search.html) over real HTTP, on the demo dataset of
//! `common::spawn_app`: every declared search parameter with each of its declared modifiers,
//! prefixes, AND/OR, escaping, POST `_search`, the searchset Bundle, paging, `_include` and
//! `_revinclude`, the result parameters, errors, and paging across a live import (child
//! servers over their own data directories).
//!
//! Expected result sets are computed from the resources themselves: the whole corpus is read
//! once (`search_support::corpus`) and filtered in the test with a predicate over each
//! resource's JSON, so every search is checked for both missing and unexpected results, and
//! every returned resource is checked to really have the searched value.

mod common;
mod search_support;

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use common::{DEMO_LAST_UPDATED, TestApp, spawn_app};
use search_support::*;

const PARAMETERS_JSON: &str = include_str!("../conformance/search-parameters.json");

// ---------------------------------------------------------------------------------------------
// Context and the central assertion
// ---------------------------------------------------------------------------------------------

struct Ctx {
    app: TestApp,
    client: reqwest::Client,
    corpus: &'static Corpus,
}

fn ctx() -> Ctx {
    let app = spawn_app();
    let corpus = corpus(&app);
    Ctx {
        app,
        client: client(),
        corpus,
    }
}

fn diff(a: &BTreeSet<String>, b: &BTreeSet<String>) -> Vec<String> {
    a.difference(b).take(5).cloned().collect()
}

impl Ctx {
    /// Searches `rtype` with `pairs` (all pages) and checks: every returned resource satisfies
    /// `pred` (its JSON really has the searched value), the result set is exactly the corpus
    /// filtered by `pred`, and it holds each of `must` (concrete ids taken from the data).
    async fn expect(
        &self,
        rtype: &str,
        pairs: &[(&str, &str)],
        pred: impl Fn(&Value) -> bool,
        must: &[&str],
    ) -> BTreeSet<String> {
        let label = format!("{rtype}?{}", query_string(pairs));
        let got = all_matches(&self.client, &self.app, rtype, pairs).await;
        for resource in &got {
            assert!(
                pred(resource),
                "{label}: returned {} which does not have the searched value: {resource}",
                id(resource)
            );
        }
        let got: BTreeSet<String> = got.iter().map(|r| id(r).to_owned()).collect();
        let want = self.corpus.ids(rtype, &pred);
        for m in must {
            assert!(
                want.contains(*m),
                "test setup: {rtype}/{m} should satisfy the expectation of {label}"
            );
            assert!(got.contains(*m), "{label}: {rtype}/{m} is missing");
        }
        assert_eq!(
            got,
            want,
            "{label}: {} results, {} expected; missing {:?}, unexpected {:?}",
            got.len(),
            want.len(),
            diff(&want, &got),
            diff(&got, &want)
        );
        got
    }

    /// A search that must match nothing: total 0, no entry.
    async fn expect_none(&self, rtype: &str, pairs: &[(&str, &str)]) {
        let bundle = search(&self.client, &self.app, rtype, pairs).await;
        assert_eq!(
            bundle["total"],
            0,
            "{rtype}?{}: {bundle}",
            query_string(pairs)
        );
        assert!(entries(&bundle).is_empty(), "{bundle}");
    }

    /// A search that must match every resource of the type.
    async fn expect_all(&self, rtype: &str, pairs: &[(&str, &str)]) {
        let n = self.corpus.of(rtype).len() as u64;
        assert!(n > 0);
        assert_eq!(
            count(&self.client, &self.app, rtype, pairs).await,
            n,
            "{rtype}?{} should match all {n}",
            query_string(pairs)
        );
    }

    fn base(&self) -> String {
        format!("{}/fhir", self.app.address)
    }
}

fn chars(text: &str, from: usize, to: usize) -> String {
    text.chars().skip(from).take(to - from).collect()
}

fn starts(values: &[String], prefix: &str) -> bool {
    let prefix = fold(prefix);
    values.iter().any(|v| fold(v).starts_with(&prefix))
}

fn contains(values: &[String], needle: &str) -> bool {
    let needle = fold(needle);
    values.iter().any(|v| fold(v).contains(&needle))
}

/// The default (starts-with), `:exact` and `:contains` forms and `:missing` of one string
/// parameter, around `value`, a value `pick` has.
async fn check_string_param(
    c: &Ctx,
    rtype: &str,
    code: &str,
    values: fn(&Value) -> Vec<String>,
    pick: &Value,
    value: &str,
) {
    let pid = id(pick);
    assert!(
        values(pick).iter().any(|v| v == value),
        "setup: {pid} has {code} {value}"
    );
    let folded = fold(value);
    let n = folded.chars().count();
    assert!(n >= 4, "setup: {code} value {value} is long enough");

    // Default: case- and accent-insensitive starts-with, whole value or a prefix.
    for query in [
        value.to_owned(),
        folded.clone(),
        chars(&folded, 0, 3),
        value.to_lowercase(),
    ] {
        let exp = |r: &Value| starts(&values(r), &query);
        c.expect(rtype, &[(code, &query)], exp, &[pid]).await;
    }
    // A strict infix is not a prefix: the default does not find `pick` by it (unless another
    // of its values starts with it).
    let infix = chars(&folded, 1, 4);
    let got = c
        .expect(
            rtype,
            &[(code, &infix)],
            |r: &Value| starts(&values(r), &infix),
            &[],
        )
        .await;
    if !starts(&values(pick), &infix) {
        assert!(!got.contains(pid), "{code}={infix} is not starts-with");
    }

    // :exact — the whole value, same case and accents.
    let exact_name = format!("{code}:exact");
    c.expect(
        rtype,
        &[(&exact_name, value)],
        |r: &Value| values(r).iter().any(|v| v == value),
        &[pid],
    )
    .await;
    let other_case = if value.to_lowercase() != value {
        value.to_lowercase()
    } else {
        value.to_uppercase()
    };
    if other_case != value {
        let got = c
            .expect(
                rtype,
                &[(&exact_name, &other_case)],
                |r: &Value| values(r).iter().any(|v| *v == other_case),
                &[],
            )
            .await;
        assert!(
            !got.contains(pid),
            "{exact_name}={other_case} must not match {value}"
        );
    }
    let prefix = chars(value, 0, value.chars().count() - 1);
    let got = c
        .expect(
            rtype,
            &[(&exact_name, &prefix)],
            |r: &Value| values(r).iter().any(|v| *v == prefix),
            &[],
        )
        .await;
    assert!(
        !got.contains(pid) || values(pick).contains(&prefix),
        "{exact_name}={prefix} is not a prefix search"
    );

    // :contains — infixes of 3+ characters, in any case; shorter ones would match most of the
    // directory and are refused as too costly.
    let contains_name = format!("{code}:contains");
    for needle in [chars(&folded, 2, 4), chars(&folded, 1, 2)] {
        let url = search_url(&c.app, rtype, &[(&contains_name, &needle)]);
        let (status, outcome) = get_json(&c.client, &url).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}");
        assert_eq!(
            outcome["issue"][0]["code"], "too-costly",
            "{url}: {outcome}"
        );
    }
    for needle in [
        chars(&folded, 1, 4),
        chars(value, 1, n.min(6)).to_uppercase(),
        chars(&folded, n - 3, n),
    ] {
        if fold(&needle).chars().count() < 3 {
            continue;
        }
        c.expect(
            rtype,
            &[(&contains_name, &needle)],
            |r: &Value| contains(&values(r), &needle),
            &[pid],
        )
        .await;
    }

    // :missing
    let missing_name = format!("{code}:missing");
    c.expect(
        rtype,
        &[(&missing_name, "true")],
        |r: &Value| values(r).is_empty(),
        &[],
    )
    .await;
    c.expect(
        rtype,
        &[(&missing_name, "false")],
        |r: &Value| !values(r).is_empty(),
        &[pid],
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// The corpus itself
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_corpus_is_the_demo_dataset() {
    let c = ctx();
    let rows = &c.app.demo.rows;
    let practitioners: BTreeSet<String> = rows.iter().map(|r| r.practitioner_id()).collect();
    assert_eq!(c.corpus.all_ids("Practitioner"), practitioners);
    let roles: BTreeSet<String> = rows
        .iter()
        .filter(|r| r.has_activity())
        .map(|r| r.role_id())
        .collect();
    assert_eq!(c.corpus.all_ids("PractitionerRole"), roles);
    assert!(c.corpus.of("Organization").len() > 100);
    // Facts the expectations below rely on.
    for rtype in TYPES {
        for r in c.corpus.of(rtype) {
            assert_eq!(
                r["meta"]["lastUpdated"],
                DEMO_LAST_UPDATED,
                "{rtype}/{}",
                id(r)
            );
            assert_eq!(r["meta"]["versionId"], "1");
        }
        // No narrative, no Coding.display, no CodeableConcept.text: `:text` finds nothing.
        let json = serde_json::to_string(c.corpus.of(rtype)).unwrap();
        assert!(!json.contains("\"display\""), "{rtype} has a display");
        assert!(!json.contains("\"text\""), "{rtype} has a text");
    }
}

// ---------------------------------------------------------------------------------------------
// String parameters
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn string_family_is_accent_and_case_insensitive_starts_with() {
    let c = ctx();
    let ps = c.corpus.of("Practitioner");
    // A family name with an accented capital (LEFÈVRE-style): searched by its folded prefix.
    let accented = ps
        .iter()
        .find(|p| {
            families(p)
                .iter()
                .any(|f| f.chars().count() >= 6 && f.chars().take(3).any(|ch| !ch.is_ascii()))
        })
        .expect("an accented family name in the first three letters");
    let family = families(accented)[0].clone();
    let folded = fold(&family);
    assert!(
        folded.is_ascii() && folded != family.to_lowercase(),
        "{family}"
    );
    let prefix = chars(&folded, 0, 5);
    let got = c
        .expect(
            "Practitioner",
            &[("family", &prefix)],
            |p| families(p).iter().any(|f| fold(f).starts_with(&prefix)),
            &[id(accented)],
        )
        .await;
    // Same results with the stored accents, in upper case.
    let accented_prefix = chars(&family, 0, 5);
    let again = c
        .expect(
            "Practitioner",
            &[("family", &accented_prefix)],
            |p| families(p).iter().any(|f| fold(f).starts_with(&prefix)),
            &[id(accented)],
        )
        .await;
    assert_eq!(got, again);
    // Decomposed (NFD) input: letters followed by combining accents.
    let decomposed: String = {
        use unicode_normalization::UnicodeNormalization;
        accented_prefix.nfd().collect()
    };
    assert_ne!(decomposed, accented_prefix);
    let nfd = c
        .expect(
            "Practitioner",
            &[("family", &decomposed)],
            |p| families(p).iter().any(|f| fold(f).starts_with(&prefix)),
            &[id(accented)],
        )
        .await;
    assert_eq!(got, nfd);

    // A family name with an apostrophe (D'ÉVIN-style): plain and typographic apostrophes.
    let apostrophe = ps
        .iter()
        .find(|p| {
            families(p)
                .iter()
                .any(|f| f.contains('\'') && f.chars().any(|ch| !ch.is_ascii()))
        })
        .expect("a family name with an apostrophe and an accent");
    let family = families(apostrophe)[0].clone();
    let folded = fold(&family);
    let cut = folded.find('\'').unwrap() + 3;
    let prefix = folded[..cut].to_owned();
    assert!(prefix.is_ascii());
    let plain = c
        .expect(
            "Practitioner",
            &[("family", &prefix)],
            |p| families(p).iter().any(|f| fold(f).starts_with(&prefix)),
            &[id(apostrophe)],
        )
        .await;
    let typographic = prefix.replace('\'', "\u{2019}");
    let curly = c
        .expect(
            "Practitioner",
            &[("family", &typographic)],
            |p| families(p).iter().any(|f| fold(f).starts_with(&prefix)),
            &[id(apostrophe)],
        )
        .await;
    assert_eq!(plain, curly);
    // Upper-case query with the accent, whole name.
    c.expect(
        "Practitioner",
        &[("family", &family)],
        |p| families(p).iter().any(|f| fold(f).starts_with(&folded)),
        &[id(apostrophe)],
    )
    .await;
}

#[tokio::test]
async fn string_family_modifiers() {
    let c = ctx();
    let pick = c
        .corpus
        .of("Practitioner")
        .iter()
        .find(|p| {
            families(p)
                .iter()
                .any(|f| f.chars().count() >= 7 && !f.is_ascii() && !f.contains(['\'', ' ']))
        })
        .expect("a long accented family name");
    let family = families(pick)[0].clone();
    check_string_param(&c, "Practitioner", "family", families, pick, &family).await;
}

#[tokio::test]
async fn string_given_modifiers() {
    let c = ctx();
    let pick = c
        .corpus
        .of("Practitioner")
        .iter()
        .find(|p| {
            givens(p).iter().any(|g| {
                g.chars().count() >= 6 && !g.is_ascii() && g.chars().any(char::is_lowercase)
            })
        })
        .expect("a mixed-case accented given name");
    let given = givens(pick)
        .into_iter()
        .find(|g| g.chars().count() >= 6 && !g.is_ascii())
        .unwrap();
    check_string_param(&c, "Practitioner", "given", givens, pick, &given).await;
    // Starts-with applies to the whole given name, not to each word of it.
    let compound = c
        .corpus
        .of("Practitioner")
        .iter()
        .find(|p| givens(p).iter().any(|g| g.contains('-') && g.len() > 6))
        .expect("a compound given name");
    let given = givens(compound)
        .into_iter()
        .find(|g| g.contains('-'))
        .unwrap();
    let second = fold(given.split('-').nth(1).unwrap());
    let got = c
        .expect(
            "Practitioner",
            &[("given", &second)],
            |p| givens(p).iter().any(|g| fold(g).starts_with(&second)),
            &[],
        )
        .await;
    if !givens(compound)
        .iter()
        .any(|g| fold(g).starts_with(&second))
    {
        assert!(!got.contains(id(compound)));
    }
}

#[tokio::test]
async fn string_name_covers_every_name_part() {
    let c = ctx();
    let pick = c
        .corpus
        .of("Practitioner")
        .iter()
        .find(|p| {
            !strs(&p["name"][0]["prefix"]).is_empty()
                && !strs(&p["name"][0]["suffix"]).is_empty()
                && families(p)[0].chars().count() >= 6
        })
        .expect("a practitioner with a prefix and a suffix");
    let family = families(pick)[0].clone();
    check_string_param(&c, "Practitioner", "name", name_parts, pick, &family).await;
    // The given name, the prefix and the suffix are parts of the name too.
    for part in [
        givens(pick)[0].clone(),
        strs(&pick["name"][0]["prefix"])[0].clone(),
        strs(&pick["name"][0]["suffix"])[0].clone(),
    ] {
        c.expect(
            "Practitioner",
            &[("name", &part.to_lowercase())],
            |p| starts(&name_parts(p), &part),
            &[id(pick)],
        )
        .await;
    }
}

#[tokio::test]
async fn string_mailbox_mss() {
    let c = ctx();
    for rtype in ["Practitioner", "PractitionerRole", "Organization"] {
        let pick = c
            .corpus
            .of(rtype)
            .iter()
            .find(|r| !mailboxes(r).is_empty())
            .unwrap_or_else(|| panic!("a {rtype} with an MSSanté mailbox"));
        let address = mailboxes(pick)[0].clone();
        check_string_param(&c, rtype, "mailbox-mss", mailboxes, pick, &address).await;
    }
    // Plain e-mail addresses and phone numbers are not mailboxes.
    let org = c
        .corpus
        .of("Organization")
        .iter()
        .find(|o| !plain_emails(o).is_empty())
        .expect("an organization with a plain e-mail");
    let plain = plain_emails(org)[0].clone();
    c.expect(
        "Organization",
        &[("mailbox-mss:exact", &plain)],
        |o| mailboxes(o).contains(&plain),
        &[],
    )
    .await;
    let phone = org["telecom"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["system"] == "phone")
        .and_then(|t| t["value"].as_str())
        .map(str::to_owned);
    if let Some(phone) = phone {
        c.expect(
            "Organization",
            &[("mailbox-mss", &phone)],
            |o| starts(&mailboxes(o), &phone),
            &[],
        )
        .await;
    }
}

fn mailbox_types_of(r: &Value) -> Vec<Code> {
    mailbox_types(r)
}

#[tokio::test]
async fn token_mailbox_mss_type() {
    let c = ctx();
    let system = "https://mos.esante.gouv.fr/NOS/TRE_R257-TypeBAL/FHIR/TRE-R257-TypeBAL";
    for (rtype, kind) in [
        ("Practitioner", "PER"),
        ("PractitionerRole", "PER"),
        ("Organization", "ORG"),
    ] {
        let pick = c
            .corpus
            .of(rtype)
            .iter()
            .find(|r| has_code(&mailbox_types(r), kind))
            .unwrap_or_else(|| panic!("a {rtype} with a {kind} mailbox"));
        check_token_param(
            &c,
            rtype,
            "mailbox-mss-type",
            mailbox_types_of,
            pick,
            Some(system),
            kind,
        )
        .await;
    }
    // Personal mailboxes are never on an Organization.
    c.expect_none("Organization", &[("mailbox-mss-type", "PER")])
        .await;
}

#[tokio::test]
async fn string_organization_name_and_alias() {
    let c = ctx();
    let orgs = c.corpus.of("Organization");
    let pick = orgs
        .iter()
        .find(|o| {
            let name = o["name"].as_str().unwrap_or("");
            let alias = strs(&o["alias"]);
            name.len() >= 8 && !alias.is_empty() && fold(&alias[0])[..4] != fold(name)[..4]
        })
        .expect("an organization whose alias starts differently from its name");
    let name = pick["name"].as_str().unwrap().to_owned();
    check_string_param(&c, "Organization", "name", org_names, pick, &name).await;
    // The alias is searched too: by prefix and exactly.
    let alias = strs(&pick["alias"])[0].clone();
    let prefix = chars(&fold(&alias), 0, 6);
    c.expect(
        "Organization",
        &[("name", &prefix)],
        |o| starts(&org_names(o), &prefix),
        &[id(pick)],
    )
    .await;
    c.expect(
        "Organization",
        &[("name:exact", &alias)],
        |o| org_names(o).contains(&alias),
        &[id(pick)],
    )
    .await;
}

#[tokio::test]
async fn string_address_parameters() {
    let c = ctx();
    let orgs = c.corpus.of("Organization");
    let pick = orgs
        .iter()
        .find(|o| {
            address_field(o, "line").iter().any(|l| l.len() >= 10)
                && address_field(o, "city")
                    .iter()
                    .any(|l| l.len() >= 6 && l.contains(' '))
                && !insee_codes(o).is_empty()
        })
        .expect("an organization with a full address");
    let line = address_field(pick, "line")[0].clone();
    let city = address_field(pick, "city")[0].clone();
    let postal = address_field(pick, "postalCode")[0].clone();
    let insee = insee_codes(pick)[0].clone();

    check_string_param(&c, "Organization", "address", address_parts, pick, &line).await;
    // `address` covers the city and the postal code as well.
    c.expect(
        "Organization",
        &[("address", &city.to_lowercase())],
        |o| starts(&address_parts(o), &city),
        &[id(pick)],
    )
    .await;
    c.expect(
        "Organization",
        &[("address", &postal)],
        |o| starts(&address_parts(o), &postal),
        &[id(pick)],
    )
    .await;

    check_string_param(
        &c,
        "Organization",
        "address-city",
        |o| address_field(o, "city"),
        pick,
        &city,
    )
    .await;
    check_string_param(
        &c,
        "Organization",
        "address-postalcode",
        |o| address_field(o, "postalCode"),
        pick,
        &postal,
    )
    .await;
    check_string_param(
        &c,
        "Organization",
        "address-line",
        |o| address_field(o, "line"),
        pick,
        &line,
    )
    .await;
    check_string_param(
        &c,
        "Organization",
        "address-insee",
        insee_codes,
        pick,
        &insee,
    )
    .await;
    // The postal code is not a line.
    c.expect(
        "Organization",
        &[("address-line:exact", &postal)],
        |o| address_field(o, "line").contains(&postal),
        &[],
    )
    .await;
}

#[tokio::test]
async fn string_pharmacy_licence_is_always_missing() {
    let c = ctx();
    assert!(
        c.corpus
            .of("Organization")
            .iter()
            .all(|o| pharmacy_licences(o).is_empty())
    );
    c.expect(
        "Organization",
        &[("pharmacy-licence:missing", "true")],
        |_| true,
        &[id(&c.corpus.of("Organization")[0])],
    )
    .await;
    c.expect_none("Organization", &[("pharmacy-licence:missing", "false")])
        .await;
    for (name, value) in [
        ("pharmacy-licence", "1"),
        ("pharmacy-licence", "a"),
        ("pharmacy-licence:exact", "1234"),
        ("pharmacy-licence:contains", "123"),
    ] {
        c.expect_none("Organization", &[(name, value)]).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Token parameters
// ---------------------------------------------------------------------------------------------

/// `code`, `system|code` (and a wrong system), `|code`, `system|`, `:not`, `:text` (no text in
/// this data: nothing) and `:missing` of one token parameter, around a `(system, code)` that
/// `pick` has.
async fn check_token_param(
    c: &Ctx,
    rtype: &str,
    param: &str,
    values: fn(&Value) -> Vec<Code>,
    pick: &Value,
    system: Option<&str>,
    code: &str,
) {
    let pid = id(pick);
    let mine = values(pick);
    assert!(
        mine.iter()
            .any(|(s, c)| s.as_deref() == system && c == code),
        "setup: {pid} has {param} {system:?}|{code}"
    );
    c.expect(
        rtype,
        &[(param, code)],
        |r| has_code(&values(r), code),
        &[pid],
    )
    .await;
    match system {
        Some(system) => {
            let full = format!("{system}|{code}");
            c.expect(
                rtype,
                &[(param, &full)],
                |r| has_system_code(&values(r), system, code),
                &[pid],
            )
            .await;
            let wrong = format!("urn:example:other|{code}");
            c.expect_none(rtype, &[(param, &wrong)]).await;
            let any_code = format!("{system}|");
            c.expect(
                rtype,
                &[(param, &any_code)],
                |r| has_system(&values(r), system),
                &[pid],
            )
            .await;
            // `|code`: the code with no system, which this one is not.
            let no_system = format!("|{code}");
            let got = c
                .expect(
                    rtype,
                    &[(param, &no_system)],
                    |r| has_systemless(&values(r), code),
                    &[],
                )
                .await;
            assert!(!got.contains(pid) || has_systemless(&mine, code));
        }
        None => {
            let no_system = format!("|{code}");
            c.expect(
                rtype,
                &[(param, &no_system)],
                |r| has_systemless(&values(r), code),
                &[pid],
            )
            .await;
            let wrong = format!("urn:example:other|{code}");
            c.expect_none(rtype, &[(param, &wrong)]).await;
        }
    }
    // Case matters for codes.
    if code.to_lowercase() != code {
        let lower = code.to_lowercase();
        c.expect(
            rtype,
            &[(param, &lower)],
            |r| has_code(&values(r), &lower),
            &[],
        )
        .await;
    }
    let not = format!("{param}:not");
    let got = c
        .expect(rtype, &[(&not, code)], |r| !has_code(&values(r), code), &[])
        .await;
    assert!(!got.contains(pid));
    let declared = declared_modifiers(rtype, param);
    if declared.contains(&"text".to_owned()) {
        c.expect_none(rtype, &[(&format!("{param}:text"), code)])
            .await;
        c.expect_none(rtype, &[(&format!("{param}:text"), "a")])
            .await;
    }
    let missing = format!("{param}:missing");
    c.expect(rtype, &[(&missing, "true")], |r| values(r).is_empty(), &[])
        .await;
    c.expect(
        rtype,
        &[(&missing, "false")],
        |r| !values(r).is_empty(),
        &[pid],
    )
    .await;
}

/// The modifiers `conformance/search-parameters.json` declares for `rtype.code`.
fn declared_modifiers(rtype: &str, code: &str) -> Vec<String> {
    let declarations: Vec<Value> = serde_json::from_str(PARAMETERS_JSON).unwrap();
    declarations
        .iter()
        .find(|d| d["code"] == code && strs(&d["base"]).iter().any(|b| b == rtype))
        .map(|d| strs(&d["modifiers"]))
        .unwrap_or_else(|| panic!("{rtype}.{code} is not declared"))
}

fn own_id(r: &Value) -> Vec<Code> {
    vec![(None, id(r).to_owned())]
}

fn active(r: &Value) -> Vec<Code> {
    match r["active"].as_bool() {
        Some(b) => vec![(None, b.to_string())],
        None => Vec::new(),
    }
}

#[tokio::test]
async fn token_id() {
    let c = ctx();
    for rtype in TYPES {
        let resources = c.corpus.of(rtype);
        let pick = &resources[resources.len() / 2];
        check_token_param(&c, rtype, "_id", own_id, pick, None, id(pick)).await;
        // OR of ids, one unknown.
        let (a, b) = (id(&resources[1]), id(&resources[resources.len() - 1]));
        let list = format!("{a},{b},nope-0");
        c.expect(
            rtype,
            &[("_id", &list)],
            |r| id(r) == a || id(r) == b,
            &[a, b],
        )
        .await;
    }
}

#[tokio::test]
async fn token_active_booleans() {
    let c = ctx();
    for rtype in TYPES {
        let pick = &c.corpus.of(rtype)[0];
        assert_eq!(pick["active"], true);
        check_token_param(&c, rtype, "active", active, pick, None, "true").await;
        c.expect(rtype, &[("active", "false")], |r| r["active"] == false, &[])
            .await;
        c.expect(
            rtype,
            &[("active", "|false")],
            |r| r["active"] == false,
            &[],
        )
        .await;
        c.expect(
            rtype,
            &[("active:not", "false")],
            |r| r["active"] != false,
            &[id(pick)],
        )
        .await;
        c.expect(
            rtype,
            &[("active", "true,false")],
            |r| r["active"].is_boolean(),
            &[id(pick)],
        )
        .await;
    }
}

#[tokio::test]
async fn token_identifier() {
    let c = ctx();
    let person = common::ordinary_person(&c.app.demo.rows);
    let row = person[0];
    let practitioner = c.corpus.get("Practitioner", &row.practitioner_id());

    check_token_param(
        &c,
        "Practitioner",
        "identifier",
        ident_codes,
        practitioner,
        Some(RPPS_SYSTEM),
        &row.id_pp,
    )
    .await;
    check_token_param(
        &c,
        "Practitioner",
        "identifier",
        ident_codes,
        practitioner,
        Some(IDNPS_SYSTEM),
        &row.idnat,
    )
    .await;
    // :of-type — type system|type code|value.
    for (kind, value) in [("RPPS", &row.id_pp), ("IDNPS", &row.idnat)] {
        let of_type = format!("{V2_0203}|{kind}|{value}");
        c.expect(
            "Practitioner",
            &[("identifier:of-type", &of_type)],
            |p| {
                identifiers(p).iter().any(|i| {
                    i.value == *value && i.types.iter().any(|(s, k)| s == V2_0203 && k == kind)
                })
            },
            &[id(practitioner)],
        )
        .await;
    }
    // The right value under the wrong type, or a wrong type system: nothing.
    c.expect_none(
        "Practitioner",
        &[(
            "identifier:of-type",
            &format!("{V2_0203}|ADELI|{}", row.id_pp),
        )],
    )
    .await;
    c.expect_none(
        "Practitioner",
        &[(
            "identifier:of-type",
            &format!("urn:example:types|RPPS|{}", row.id_pp),
        )],
    )
    .await;

    // PractitionerRole identifiers (no type).
    let role = c.corpus.of("PractitionerRole").iter().nth(7).unwrap();
    let ident = identifiers(role)[0].clone();
    check_token_param(
        &c,
        "PractitionerRole",
        "identifier",
        ident_codes,
        role,
        ident.system.as_deref(),
        &ident.value,
    )
    .await;
    c.expect_none(
        "PractitionerRole",
        &[(
            "identifier:of-type",
            &format!("{V2_0203}|RPPS|{}", ident.value),
        )],
    )
    .await;

    // Organization: FINESS establishment number, typed FINEG.
    let establishment = c
        .corpus
        .of("Organization")
        .iter()
        .find(|o| {
            identifiers(o)
                .iter()
                .any(|i| i.types.iter().any(|t| t.1 == "FINEG"))
        })
        .expect("an establishment");
    let fineg = identifiers(establishment)
        .into_iter()
        .find(|i| i.types.iter().any(|t| t.1 == "FINEG"))
        .unwrap();
    check_token_param(
        &c,
        "Organization",
        "identifier",
        ident_codes,
        establishment,
        fineg.system.as_deref(),
        &fineg.value,
    )
    .await;
    let of_type = format!("{V2_0203}|FINEG|{}", fineg.value);
    c.expect(
        "Organization",
        &[("identifier:of-type", &of_type)],
        |o| {
            identifiers(o)
                .iter()
                .any(|i| i.value == fineg.value && i.types.iter().any(|t| t.1 == "FINEG"))
        },
        &[id(establishment)],
    )
    .await;
    c.expect_none(
        "Organization",
        &[(
            "identifier:of-type",
            &format!("{V2_0203}|FINEJ|{}", fineg.value),
        )],
    )
    .await;
}

#[tokio::test]
async fn token_identifier_type() {
    let c = ctx();
    let adeli = c
        .corpus
        .of("Practitioner")
        .iter()
        .find(|p| has_code(&identifier_type_codes(p), "ADELI"))
        .expect("an ADELI practitioner");
    check_token_param(
        &c,
        "Practitioner",
        "identifier-type",
        identifier_type_codes,
        adeli,
        Some(V2_0203),
        "ADELI",
    )
    .await;
    let rpps = c.corpus.get(
        "Practitioner",
        &common::ordinary_person(&c.app.demo.rows)[0].practitioner_id(),
    );
    check_token_param(
        &c,
        "Practitioner",
        "identifier-type",
        identifier_type_codes,
        rpps,
        Some(V2_0203),
        "RPPS",
    )
    .await;
    let legal = c
        .corpus
        .of("Organization")
        .iter()
        .find(|o| has_code(&identifier_type_codes(o), "FINEJ"))
        .expect("a legal entity");
    check_token_param(
        &c,
        "Organization",
        "identifier-type",
        identifier_type_codes,
        legal,
        Some(V2_0203),
        "FINEJ",
    )
    .await;
}

#[tokio::test]
async fn token_qualification_code() {
    let c = ctx();
    let specialist = c
        .corpus
        .of("Practitioner")
        .iter()
        .find(|p| {
            qualification_codes(p)
                .iter()
                .any(|(s, _)| s.as_deref().is_some_and(|s| s.contains("TRE_R38")))
        })
        .expect("a practitioner with a specialty");
    let (system, code) = qualification_codes(specialist)
        .into_iter()
        .find(|(s, _)| s.as_deref().is_some_and(|s| s.contains("TRE_R38")))
        .unwrap();
    check_token_param(
        &c,
        "Practitioner",
        "qualification-code",
        qualification_codes,
        specialist,
        system.as_deref(),
        &code,
    )
    .await;
    // The profession code (TRE_G15).
    let (system, code) = qualification_codes(specialist)
        .into_iter()
        .find(|(s, _)| s.as_deref().is_some_and(|s| s.contains("TRE_G15")))
        .unwrap();
    c.expect(
        "Practitioner",
        &[(
            "qualification-code",
            &format!("{}|{code}", system.as_deref().unwrap()),
        )],
        |p| has_system_code(&qualification_codes(p), system.as_deref().unwrap(), &code),
        &[id(specialist)],
    )
    .await;
    // Diplomas (TRE_R48 diplôme d'État, TRE_R49 DES) from the diplomas file.
    for terminology in ["TRE_R48", "TRE_R49"] {
        let graduate = c
            .corpus
            .of("Practitioner")
            .iter()
            .find(|p| {
                qualification_codes(p)
                    .iter()
                    .any(|(s, _)| s.as_deref().is_some_and(|s| s.contains(terminology)))
            })
            .unwrap_or_else(|| panic!("a practitioner with a {terminology} diploma"));
        let (system, code) = qualification_codes(graduate)
            .into_iter()
            .find(|(s, _)| s.as_deref().is_some_and(|s| s.contains(terminology)))
            .unwrap();
        check_token_param(
            &c,
            "Practitioner",
            "qualification-code",
            qualification_codes,
            graduate,
            system.as_deref(),
            &code,
        )
        .await;
    }
}

fn information_system(r: &Value) -> Vec<Code> {
    trace_tokens(r, "systeme-information")
}

fn registration_authority(r: &Value) -> Vec<Code> {
    trace_tokens(r, "autorite-enregistrement")
}

#[tokio::test]
async fn token_data_information_system() {
    let c = ctx();
    let finess = c
        .corpus
        .of("Organization")
        .iter()
        .find(|o| has_code(&information_system(o), "FINESS"))
        .expect("an organization from FINESS");
    check_token_param(
        &c,
        "Organization",
        "data-information-system",
        information_system,
        finess,
        None,
        "FINESS",
    )
    .await;
    for rtype in ["Practitioner", "PractitionerRole"] {
        let pick = &c.corpus.of(rtype)[3];
        check_token_param(
            &c,
            rtype,
            "data-information-system",
            information_system,
            pick,
            None,
            "RPPS",
        )
        .await;
    }
}

#[tokio::test]
async fn token_data_registration_authority() {
    let c = ctx();
    for rtype in TYPES {
        let pick = c
            .corpus
            .of(rtype)
            .iter()
            .find(|r| !registration_authority(r).is_empty())
            .unwrap_or_else(|| panic!("a {rtype} with a registration authority"));
        let (system, code) = registration_authority(pick)[0].clone();
        check_token_param(
            &c,
            rtype,
            "data-registration-authority",
            registration_authority,
            pick,
            system.as_deref(),
            &code,
        )
        .await;
    }
}

fn role_codes(r: &Value) -> Vec<Code> {
    codings(&r["code"])
}

#[tokio::test]
async fn token_role() {
    let c = ctx();
    let roles = c.corpus.of("PractitionerRole");
    let pick = roles
        .iter()
        .find(|r| has_code(&role_codes(r), "FON-05") && role_codes(r).len() >= 3)
        .expect("a role with fonction FON-05");
    let (system, _) = role_codes(pick)
        .into_iter()
        .find(|(_, c)| c == "FON-05")
        .unwrap();
    check_token_param(
        &c,
        "PractitionerRole",
        "role",
        role_codes,
        pick,
        system.as_deref(),
        "FON-05",
    )
    .await;
    // Another kind of code of the same role: its mode d'exercice / genre d'activité.
    let (system, code) = role_codes(pick)
        .into_iter()
        .find(|(_, c)| c != "FON-05")
        .unwrap();
    check_token_param(
        &c,
        "PractitionerRole",
        "role",
        role_codes,
        pick,
        system.as_deref(),
        &code,
    )
    .await;
}

fn org_types(o: &Value) -> Vec<Code> {
    codings(&o["type"])
}

#[tokio::test]
async fn token_organization_type() {
    let c = ctx();
    let legal = c
        .corpus
        .of("Organization")
        .iter()
        .find(|o| has_code(&org_types(o), "LEGAL-ENTITY"))
        .expect("a legal entity");
    check_token_param(
        &c,
        "Organization",
        "type",
        org_types,
        legal,
        Some("https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-3307"),
        "LEGAL-ENTITY",
    )
    .await;
    let categorized = c
        .corpus
        .of("Organization")
        .iter()
        .find(|o| {
            org_types(o)
                .iter()
                .any(|(s, _)| s.as_deref().is_some_and(|s| s.contains("TRE_R66")))
        })
        .expect("an establishment with a category");
    let (system, code) = org_types(categorized)
        .into_iter()
        .find(|(s, _)| s.as_deref().is_some_and(|s| s.contains("TRE_R66")))
        .unwrap();
    check_token_param(
        &c,
        "Organization",
        "type",
        org_types,
        categorized,
        system.as_deref(),
        &code,
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Reference parameters, chains and _has
// ---------------------------------------------------------------------------------------------

/// The forms of a reference search to `target_type/target` on `rtype.param`: `Type/id`, bare
/// id, absolute URL on this server, `:Type`, `:identifier` (`system|value` of the target's
/// identifier), and `:missing`.
async fn check_reference_param(
    c: &Ctx,
    rtype: &str,
    param: &str,
    field: &str,
    target_type: &str,
    target: &str,
    pick: &str,
) {
    let reference = format!("{target_type}/{target}");
    let points = |r: &Value| reference_of(r, field).as_deref() == Some(reference.as_str());
    let absolute = format!("{}/{reference}", c.base());
    let typed = format!("{param}:{target_type}");
    let want = c
        .expect(rtype, &[(param, &reference)], points, &[pick])
        .await;
    for (name, value) in [
        (param, target),
        (param, absolute.as_str()),
        (typed.as_str(), target),
        (typed.as_str(), reference.as_str()),
    ] {
        let got = c.expect(rtype, &[(name, value)], points, &[pick]).await;
        assert_eq!(got, want, "{name}={value}");
    }
    // R4 `:identifier` tests `Reference.identifier`, which no reference of this data carries:
    // nothing matches; the chain `param.identifier` finds by the target's identifiers.
    let target_resource = c.corpus.get(target_type, target);
    for ident in identifiers(target_resource) {
        let Some(system) = ident.system.clone() else {
            continue;
        };
        let value = format!("{system}|{}", ident.value);
        let holders: BTreeSet<String> = c
            .corpus
            .ids(target_type, |t| {
                identifiers(t)
                    .iter()
                    .any(|i| i.system.as_deref() == Some(system.as_str()) && i.value == ident.value)
            })
            .iter()
            .map(|t| format!("{target_type}/{t}"))
            .collect();
        c.expect(
            rtype,
            &[(&format!("{param}.identifier"), &value)],
            |r| reference_of(r, field).is_some_and(|x| holders.contains(&x)),
            &[pick],
        )
        .await;
        c.expect_none(rtype, &[(&format!("{param}:identifier"), &value)])
            .await;
        c.expect_none(rtype, &[(&format!("{param}:identifier"), &ident.value)])
            .await;
    }
    // An unknown target: nothing.
    c.expect_none(rtype, &[(param, &format!("{target_type}/nope-0"))])
        .await;
    c.expect_none(
        rtype,
        &[(&format!("{param}:identifier"), "urn:example:nowhere|42")],
    )
    .await;
    let missing = format!("{param}:missing");
    c.expect(
        rtype,
        &[(&missing, "true")],
        |r| reference_of(r, field).is_none(),
        &[],
    )
    .await;
    c.expect(
        rtype,
        &[(&missing, "false")],
        |r| reference_of(r, field).is_some(),
        &[pick],
    )
    .await;
}

fn reference_of(r: &Value, field: &str) -> Option<String> {
    reference(r, field)
}

/// A role at a FINESS establishment that belongs to a legal entity.
fn role_at_establishment(c: &Ctx) -> (&'static Value, &'static Value, String) {
    let corpus = c.corpus;
    for role in corpus.of("PractitionerRole") {
        let Some(org_ref) = reference(role, "organization") else {
            continue;
        };
        let org_id = org_ref.strip_prefix("Organization/").unwrap();
        let org = corpus.get("Organization", org_id);
        if let Some(parent) = reference(org, "partOf") {
            return (
                role,
                org,
                parent.strip_prefix("Organization/").unwrap().to_owned(),
            );
        }
    }
    panic!("no role at an establishment with a legal entity");
}

#[tokio::test]
async fn reference_practitioner() {
    let c = ctx();
    let person = common::ordinary_person(&c.app.demo.rows);
    let row = person.iter().find(|r| r.has_activity()).unwrap();
    check_reference_param(
        &c,
        "PractitionerRole",
        "practitioner",
        "practitioner",
        "Practitioner",
        &row.practitioner_id(),
        &row.role_id(),
    )
    .await;
    // Two practitioners, OR-ed.
    let roles = c.corpus.of("PractitionerRole");
    let (a, b) = (
        reference(&roles[0], "practitioner").unwrap(),
        reference(&roles[roles.len() - 1], "practitioner").unwrap(),
    );
    c.expect(
        "PractitionerRole",
        &[("practitioner", &format!("{a},{b}"))],
        |r| reference(r, "practitioner").is_some_and(|x| x == a || x == b),
        &[id(&roles[0]), id(&roles[roles.len() - 1])],
    )
    .await;
}

#[tokio::test]
async fn reference_organization() {
    let c = ctx();
    let (role, org, _) = role_at_establishment(&c);
    check_reference_param(
        &c,
        "PractitionerRole",
        "organization",
        "organization",
        "Organization",
        id(org),
        id(role),
    )
    .await;
    // An RPPS structure (st-) as well.
    let role = c
        .corpus
        .of("PractitionerRole")
        .iter()
        .find(|r| reference(r, "organization").is_some_and(|o| o.starts_with("Organization/st-")))
        .expect("a role at an RPPS structure");
    let org = reference(role, "organization").unwrap();
    check_reference_param(
        &c,
        "PractitionerRole",
        "organization",
        "organization",
        "Organization",
        org.strip_prefix("Organization/").unwrap(),
        id(role),
    )
    .await;
}

#[tokio::test]
async fn reference_partof() {
    let c = ctx();
    let (_, establishment, parent) = role_at_establishment(&c);
    check_reference_param(
        &c,
        "Organization",
        "partof",
        "partOf",
        "Organization",
        &parent,
        id(establishment),
    )
    .await;
}

#[tokio::test]
async fn reference_absolute_url_on_another_server_does_not_match() {
    // R4 §3.1.1.4.6: an absolute URL names a resource on the server at that base; it matches a
    // local relative reference only when it resolves to the same URL.
    let c = ctx();
    let role = &c.corpus.of("PractitionerRole")[0];
    let target = reference(role, "practitioner").unwrap();
    c.expect_none(
        "PractitionerRole",
        &[(
            "practitioner",
            &format!("http://elsewhere.example/fhir/{target}"),
        )],
    )
    .await;
}

#[tokio::test]
async fn chains() {
    let c = ctx();
    let corpus = c.corpus;
    let (role, org, parent) = role_at_establishment(&c);
    let practitioner_id = reference(role, "practitioner").unwrap();
    let practitioner = corpus.get(
        "Practitioner",
        practitioner_id.strip_prefix("Practitioner/").unwrap(),
    );
    let target_of = |r: &Value, field: &str, rtype: &str| -> Option<&'static Value> {
        let reference = reference(r, field)?;
        let (_, id) = reference.split_once('/')?;
        corpus.of(rtype).iter().find(|t| t["id"] == id)
    };

    // practitioner.identifier (system|value), and a string through the chain.
    let idnps = identifiers(practitioner)
        .into_iter()
        .find(|i| i.system.as_deref() == Some(IDNPS_SYSTEM))
        .unwrap();
    let value = format!("{IDNPS_SYSTEM}|{}", idnps.value);
    c.expect(
        "PractitionerRole",
        &[("practitioner.identifier", &value)],
        |r| {
            target_of(r, "practitioner", "Practitioner").is_some_and(|p| {
                identifiers(p)
                    .iter()
                    .any(|i| i.system.as_deref() == Some(IDNPS_SYSTEM) && i.value == idnps.value)
            })
        },
        &[id(role)],
    )
    .await;
    let family = chars(&fold(&families(practitioner)[0]), 0, 4);
    c.expect(
        "PractitionerRole",
        &[("practitioner.family", &family)],
        |r| {
            target_of(r, "practitioner", "Practitioner")
                .is_some_and(|p| starts(&families(p), &family))
        },
        &[id(role)],
    )
    .await;

    // organization.address-city, organization.name, with and without the :Organization type.
    let city = address_field(org, "city")[0].clone();
    for name in [
        "organization.address-city",
        "organization:Organization.address-city",
    ] {
        c.expect(
            "PractitionerRole",
            &[(name, &city.to_lowercase())],
            |r| {
                target_of(r, "organization", "Organization")
                    .is_some_and(|o| starts(&address_field(o, "city"), &city))
            },
            &[id(role)],
        )
        .await;
    }
    let org_name = org["name"].as_str().unwrap().to_owned();
    let prefix = chars(&fold(&org_name), 0, 6);
    c.expect(
        "PractitionerRole",
        &[("organization.name", &prefix)],
        |r| {
            target_of(r, "organization", "Organization")
                .is_some_and(|o| starts(&org_names(o), &prefix))
        },
        &[id(role)],
    )
    .await;
    c.expect(
        "PractitionerRole",
        &[("organization.name:exact", &org_name)],
        |r| {
            target_of(r, "organization", "Organization")
                .is_some_and(|o| org_names(o).contains(&org_name))
        },
        &[id(role)],
    )
    .await;

    // Organization?partof.identifier: establishments of a legal entity by its FINESS number.
    let legal = corpus.get("Organization", &parent);
    let finej = identifiers(legal)
        .into_iter()
        .find(|i| i.types.iter().any(|t| t.1 == "FINEJ"))
        .expect("a FINEJ identifier");
    let value = format!("{}|{}", finej.system.as_deref().unwrap(), finej.value);
    c.expect(
        "Organization",
        &[("partof.identifier", &value)],
        |o| reference(o, "partOf").as_deref() == Some(format!("Organization/{parent}").as_str()),
        &[id(org)],
    )
    .await;
    // Chained _id and chained reference.
    c.expect(
        "PractitionerRole",
        &[(
            "practitioner._id",
            practitioner_id.strip_prefix("Practitioner/").unwrap(),
        )],
        |r| reference(r, "practitioner").as_deref() == Some(practitioner_id.as_str()),
        &[id(role)],
    )
    .await;
    let legal_ref = format!("Organization/{parent}");
    c.expect(
        "PractitionerRole",
        &[("organization.partof", &legal_ref)],
        |r| {
            target_of(r, "organization", "Organization")
                .is_some_and(|o| reference(o, "partOf").as_deref() == Some(legal_ref.as_str()))
        },
        &[id(role)],
    )
    .await;
    // A chain that finds nothing.
    c.expect_none(
        "PractitionerRole",
        &[("organization.name:exact", "NO SUCH ORGANIZATION")],
    )
    .await;
}

#[tokio::test]
async fn reverse_chains_has() {
    let c = ctx();
    let corpus = c.corpus;
    let roles = corpus.of("PractitionerRole");
    for fonction in ["FON-05", "FON-03"] {
        let with_role: Vec<&Value> = roles
            .iter()
            .filter(|r| has_code(&role_codes(r), fonction))
            .collect();
        assert!(!with_role.is_empty(), "setup: roles with {fonction}");
        let practitioners: BTreeSet<String> = with_role
            .iter()
            .filter_map(|r| reference(r, "practitioner"))
            .collect();
        let organizations: BTreeSet<String> = with_role
            .iter()
            .filter_map(|r| reference(r, "organization"))
            .collect();
        let one_p = practitioners
            .iter()
            .next()
            .unwrap()
            .split_once('/')
            .unwrap()
            .1
            .to_owned();
        let one_o = organizations
            .iter()
            .next()
            .unwrap()
            .split_once('/')
            .unwrap()
            .1
            .to_owned();
        c.expect(
            "Practitioner",
            &[("_has:PractitionerRole:practitioner:role", fonction)],
            |p| practitioners.contains(&format!("Practitioner/{}", id(p))),
            &[&one_p],
        )
        .await;
        c.expect(
            "Organization",
            &[("_has:PractitionerRole:organization:role", fonction)],
            |o| organizations.contains(&format!("Organization/{}", id(o))),
            &[&one_o],
        )
        .await;
    }
    // _has on Organization.partof: the legal entity of an establishment found by its id.
    let (_, establishment, parent) = role_at_establishment(&c);
    c.expect(
        "Organization",
        &[("_has:Organization:partof:_id", id(establishment))],
        |o| id(o) == parent,
        &[&parent],
    )
    .await;
    // _has with a reference parameter inside: the practitioners working at one organization.
    let (_, establishment_org, _) = role_at_establishment(&c);
    let at = format!("Organization/{}", id(establishment_org));
    let working_there: BTreeSet<String> = roles
        .iter()
        .filter(|r| reference(r, "organization").as_deref() == Some(at.as_str()))
        .filter_map(|r| reference(r, "practitioner"))
        .collect();
    let one = working_there
        .iter()
        .next()
        .unwrap()
        .split_once('/')
        .unwrap()
        .1
        .to_owned();
    c.expect(
        "Practitioner",
        &[("_has:PractitionerRole:practitioner:organization", &at)],
        |p| working_there.contains(&format!("Practitioner/{}", id(p))),
        &[&one],
    )
    .await;
    // Nothing points from a role with an unknown code.
    c.expect_none(
        "Practitioner",
        &[("_has:PractitionerRole:practitioner:role", "FON-XX")],
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Date: _lastUpdated (every resource: 2026-11-01T00:00:00Z, an instant to the second)
// ---------------------------------------------------------------------------------------------

/// `(value, matches)`: whether the demo's `lastUpdated` instant [2026-11-01T00:00:00Z, +1 s)
/// matches, per the R4 range semantics: eq = the search range contains the target; ne = not
/// eq; gt/lt = the target extends above/below the search range; ge/le = gt/lt or eq; sa/eb =
/// the target starts at or after the search range's end / ends at or before its start;
/// ap = overlaps the search range widened by (at least) a day.
const LAST_UPDATED_CASES: &[(&str, bool)] = &[
    // eq (and no prefix), every precision
    ("2026", true),
    ("eq2026", true),
    ("2025", false),
    ("2026-11", true),
    ("eq2026-11", true),
    ("2026-10", false),
    ("2026-12", false),
    ("2026-11-01", true),
    ("2026-10-31", false),
    ("2026-11-02", false),
    ("2026-11-01T00:00Z", true),
    ("2026-11-01T00:01Z", false),
    ("2026-10-31T23:59Z", false),
    ("2026-11-01T00:00:00Z", true),
    ("eq2026-11-01T00:00:00Z", true),
    ("2026-11-01T00:00:01Z", false),
    ("2026-10-31T23:59:59Z", false),
    // time zones: the same instant written in other offsets
    ("2026-11-01T01:00:00+01:00", true),
    ("2026-11-01T05:30:00+05:30", true),
    ("2026-11-01T14:00:00+14:00", true),
    ("2026-10-31T19:00:00-05:00", true),
    ("2026-10-31T23:30:00-00:30", true),
    ("2026-11-01T00:00:00+00:00", true),
    ("2026-11-01T00:00:00-00:00", true),
    ("2026-11-01T00:00:00+01:00", false),
    ("2026-11-01T00:00:00-01:00", false),
    ("2026-11-01T01:00+01:00", true),
    ("2026-11-01T00:59+01:00", false),
    // ne
    ("ne2026", false),
    ("ne2025", true),
    ("ne2026-11", false),
    ("ne2026-11-01", false),
    ("ne2026-11-02", true),
    ("ne2026-11-01T00:00:00Z", false),
    ("ne2026-11-01T00:00:01Z", true),
    ("ne2026-11-01T01:00:00+01:00", false),
    // gt
    ("gt2025", true),
    ("gt2026", false),
    ("gt2026-10", true),
    ("gt2026-11", false),
    ("gt2026-10-31", true),
    ("gt2026-11-01", false),
    ("gt2026-10-31T23:59Z", true),
    ("gt2026-11-01T00:00Z", false),
    ("gt2026-10-31T23:59:59Z", true),
    ("gt2026-11-01T00:00:00Z", false),
    ("gt2026-11-01T00:00:00+01:00", true),
    ("gt2026-10-31T23:30:00-00:30", false),
    // lt
    ("lt2027", true),
    ("lt2026", false),
    ("lt2026-12", true),
    ("lt2026-11", false),
    ("lt2026-11-02", true),
    ("lt2026-11-01", false),
    ("lt2026-11-01T00:01Z", true),
    ("lt2026-11-01T00:00Z", false),
    ("lt2026-11-01T00:00:01Z", true),
    ("lt2026-11-01T00:00:00Z", false),
    ("lt2026-11-01T01:00:00+01:00", false),
    ("lt2026-11-01T01:00:01+01:00", true),
    ("lt2026-10-31T23:30:01-00:30", true),
    // ge
    ("ge2026", true),
    ("ge2027", false),
    ("ge2026-11", true),
    ("ge2026-12", false),
    ("ge2026-11-01", true),
    ("ge2026-11-02", false),
    ("ge2026-10-31", true),
    ("ge2026-11-01T00:00:00Z", true),
    ("ge2026-11-01T00:00:01Z", false),
    ("ge2026-10-31T23:59:59Z", true),
    ("ge2026-11-01T01:00:00+01:00", true),
    ("ge2026-11-01T01:00:01+01:00", false),
    // le
    ("le2026", true),
    ("le2025", false),
    ("le2026-11", true),
    ("le2026-10", false),
    ("le2026-11-01", true),
    ("le2026-10-31", false),
    ("le2026-11-02", true),
    ("le2026-11-01T00:00:00Z", true),
    ("le2026-10-31T23:59:59Z", false),
    ("le2026-10-31T23:30:00-00:30", true),
    ("le2026-10-31T23:29:59-00:30", false),
    // sa
    ("sa2025", true),
    ("sa2026", false),
    ("sa2026-10", true),
    ("sa2026-11", false),
    ("sa2026-10-31", true),
    ("sa2026-11-01", false),
    ("sa2026-10-31T23:59Z", true),
    ("sa2026-10-31T23:59:59Z", true),
    ("sa2026-11-01T00:00:00Z", false),
    ("sa2026-11-01T00:00:00+01:00", true),
    ("sa2026-11-01T01:00:00+01:00", false),
    // eb
    ("eb2027", true),
    ("eb2026", false),
    ("eb2026-12", true),
    ("eb2026-11", false),
    ("eb2026-11-02", true),
    ("eb2026-11-01", false),
    ("eb2026-11-01T00:01Z", true),
    ("eb2026-11-01T00:00Z", false),
    ("eb2026-11-01T00:00:01Z", true),
    ("eb2026-11-01T00:00:00Z", false),
    ("eb2026-11-01T01:00:01+01:00", true),
    ("eb2026-10-31T23:30:01-00:30", true),
    ("eb2026-10-31T23:30:00-00:30", false),
    // ap
    ("ap2026", true),
    ("ap2026-11", true),
    ("ap2026-11-01", true),
    ("ap2026-10-31", true),
    ("ap2026-11-01T00:00:00Z", true),
    ("ap2026-11-01T01:00:00+01:00", true),
    ("ap2000", false),
    ("ap2100", false),
];

#[tokio::test]
async fn date_last_updated_prefixes_precisions_and_time_zones() {
    let c = ctx();
    let all = c.corpus.of("Practitioner").len() as u64;
    let mut failures = Vec::new();
    for (value, matches) in LAST_UPDATED_CASES {
        let expected = if *matches { all } else { 0 };
        let got = count(
            &c.client,
            &c.app,
            "Practitioner",
            &[("_lastUpdated", value)],
        )
        .await;
        if got != expected {
            failures.push(format!(
                "_lastUpdated={value}: {got} results, expected {expected}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The other types, and the entries themselves.
    for rtype in TYPES {
        c.expect(
            rtype,
            &[("_lastUpdated", "ge2026-11-01T00:00:00Z")],
            |r| r["meta"]["lastUpdated"] == DEMO_LAST_UPDATED,
            &[id(&c.corpus.of(rtype)[0])],
        )
        .await;
        c.expect_none(rtype, &[("_lastUpdated", "sa2026-11-01T00:00:00Z")])
            .await;
        c.expect_all(rtype, &[("_lastUpdated:missing", "false")])
            .await;
        c.expect_none(rtype, &[("_lastUpdated:missing", "true")])
            .await;
    }
    // AND: a closed range; OR: two years.
    c.expect_all(
        "Practitioner",
        &[
            ("_lastUpdated", "ge2026-11-01"),
            ("_lastUpdated", "lt2026-11-02"),
        ],
    )
    .await;
    c.expect_none(
        "Practitioner",
        &[
            ("_lastUpdated", "gt2026-11-01T00:00:00Z"),
            ("_lastUpdated", "lt2027"),
        ],
    )
    .await;
    c.expect_all("Practitioner", &[("_lastUpdated", "2025,2026")])
        .await;
    c.expect_none("Practitioner", &[("_lastUpdated", "2025,2027-01")])
        .await;
}

// ---------------------------------------------------------------------------------------------
// AND, OR, escaping, POST
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn and_or() {
    let c = ctx();
    let ps = c.corpus.of("Practitioner");
    let (p1, p2) = (&ps[10], &ps[ps.len() - 10]);
    let f1 = families(p1)[0].clone();
    let f2 = families(p2)[0].clone();
    assert_ne!(fold(&f1), fold(&f2));
    // OR: a comma-separated list.
    let or = format!("{},{}", fold(&f1), fold(&f2));
    c.expect(
        "Practitioner",
        &[("family", &or)],
        |p| starts(&families(p), &f1) || starts(&families(p), &f2),
        &[id(p1), id(p2)],
    )
    .await;
    // AND: the parameter repeated (name = family of the person AND its given name).
    let given = givens(p1)[0].clone();
    c.expect(
        "Practitioner",
        &[("name", &fold(&f1)), ("name", &fold(&given))],
        |p| starts(&name_parts(p), &f1) && starts(&name_parts(p), &given),
        &[id(p1)],
    )
    .await;
    // AND of different parameters.
    c.expect(
        "Practitioner",
        &[("family", &f1), ("given", &given)],
        |p| starts(&families(p), &f1) && starts(&givens(p), &given),
        &[id(p1)],
    )
    .await;
    // AND of OR lists: {a,b} ∩ {b,c} = {b}.
    let (a, b, cc) = (id(&ps[1]), id(&ps[2]), id(&ps[3]));
    c.expect(
        "Practitioner",
        &[("_id", &format!("{a},{b}")), ("_id", &format!("{b},{cc}"))],
        |p| id(p) == b,
        &[b],
    )
    .await;
    // AND on a multi-valued token: roles having two given codes at once.
    let role = c
        .corpus
        .of("PractitionerRole")
        .iter()
        .find(|r| role_codes(r).len() >= 3)
        .unwrap();
    let codes = role_codes(role);
    let (x, y) = (codes[0].1.clone(), codes[1].1.clone());
    c.expect(
        "PractitionerRole",
        &[("role", &x), ("role", &y)],
        |r| has_code(&role_codes(r), &x) && has_code(&role_codes(r), &y),
        &[id(role)],
    )
    .await;
    // OR of system|code tokens.
    let (s0, c0) = (codes[0].0.clone().unwrap(), codes[0].1.clone());
    let list = format!("{s0}|{c0},urn:example:none|{y}");
    c.expect(
        "PractitionerRole",
        &[("role", &list)],
        |r| has_system_code(&role_codes(r), &s0, &c0),
        &[id(role)],
    )
    .await;
}

#[tokio::test]
async fn escaping_commas_pipes_and_dollars() {
    let c = ctx();
    let ps = c.corpus.of("Practitioner");
    let (p1, p2) = (&ps[20], &ps[40]);
    let f1 = fold(&families(p1)[0]);
    let f2 = fold(&families(p2)[0]);
    // Unescaped: an OR of two names, both found.
    c.expect(
        "Practitioner",
        &[("family", &format!("{f1},{f2}"))],
        |p| starts(&families(p), &f1) || starts(&families(p), &f2),
        &[id(p1), id(p2)],
    )
    .await;
    // Escaped: ONE value containing a comma, which no family name starts with.
    for (name, value) in [
        ("family", format!("{f1}\\,{f2}")),
        (
            "family:exact",
            format!("{}\\,{}", families(p1)[0], families(p2)[0]),
        ),
        (
            "family:contains",
            format!("{}\\,", chars(&f1, 1, f1.chars().count())),
        ),
        ("name", format!("{f1}\\,{f2}")),
    ] {
        c.expect_none("Practitioner", &[(name, &value)]).await;
    }
    // `\,` and a real comma together: two values, the first with a comma (nothing), the second
    // a plain name (found).
    c.expect(
        "Practitioner",
        &[("family", &format!("{f1}\\,x,{f2}"))],
        |p| starts(&families(p), &f2),
        &[id(p2)],
    )
    .await;
    // `\|`: a token code containing a pipe, not a system|code.
    let row = common::ordinary_person(&c.app.demo.rows)[0];
    c.expect(
        "Practitioner",
        &[("identifier", &format!("{RPPS_SYSTEM}|{}", row.id_pp))],
        |p| has_system_code(&ident_codes(p), RPPS_SYSTEM, &row.id_pp),
        &[&row.practitioner_id()],
    )
    .await;
    c.expect_none(
        "Practitioner",
        &[("identifier", &format!("{RPPS_SYSTEM}\\|{}", row.id_pp))],
    )
    .await;
    // `\$`: a literal dollar.
    c.expect_none("Practitioner", &[("family", &format!("{f1}\\$"))])
        .await;
    c.expect_none("Practitioner", &[("family:contains", "ab\\$")])
        .await;
    c.expect_none("Organization", &[("name:contains", "a\\$b")])
        .await;
}

#[tokio::test]
async fn post_search_equals_get() {
    let c = ctx();
    let ps = c.corpus.of("Practitioner");
    let family = chars(&fold(&families(&ps[5])[0]), 0, 2);
    let queries: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "Practitioner",
            vec![("family", family.clone()), ("_count", "5".into())],
        ),
        (
            "Practitioner",
            vec![
                ("name:contains", "ier".into()),
                ("_sort", "family".into()),
                ("_count", "7".into()),
            ],
        ),
        (
            "PractitionerRole",
            vec![
                ("role", "FON-05".into()),
                ("_include", "PractitionerRole:organization".into()),
            ],
        ),
        (
            "Organization",
            vec![
                ("name", "cabinet".into()),
                ("_lastUpdated", "ge2026-11-01T01:00:00+01:00".into()),
            ],
        ),
        (
            "Practitioner",
            vec![("family", format!("{family}\\,x,{family}"))],
        ),
    ];
    for (rtype, pairs) in queries {
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let get = search(&c.client, &c.app, rtype, &pairs).await;
        let response = c
            .client
            .post(c.app.url(&format!("/fhir/{rtype}/_search")))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(query_string(&pairs))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "POST {rtype} {pairs:?}");
        let post: Value = response.json().await.unwrap();
        assert_searchset(&post, "POST _search");
        assert!(get["total"].as_u64().unwrap() > 0, "{rtype} {pairs:?}");
        assert_eq!(post["total"], get["total"], "{rtype} {pairs:?}");
        assert_eq!(post["entry"], get["entry"], "{rtype} {pairs:?}");
        assert_eq!(link(&post, "next"), link(&get, "next"));
        // Split between the URL and the body: the same.
        let (head, tail) = pairs.split_at(1);
        let response = c
            .client
            .post(format!(
                "{}/fhir/{rtype}/_search?{}",
                c.app.address,
                query_string(head)
            ))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(query_string(tail))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let split: Value = response.json().await.unwrap();
        assert_eq!(split["entry"], get["entry"], "{rtype} {pairs:?} split");
    }
    // A body that is not a form is refused.
    let response = c
        .client
        .post(c.app.url("/fhir/Practitioner/_search"))
        .header("Content-Type", "application/json")
        .body("{\"family\":\"x\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

// ---------------------------------------------------------------------------------------------
// The searchset Bundle, paging and links
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn bundle_shape() {
    let c = ctx();
    let base = c.base();
    for rtype in TYPES {
        let bundle = search(&c.client, &c.app, rtype, &[("_count", "3")]).await;
        assert_eq!(
            bundle["total"].as_u64(),
            Some(c.corpus.of(rtype).len() as u64)
        );
        let entries = entries(&bundle);
        assert_eq!(entries.len(), 3);
        for entry in entries {
            let resource = &entry["resource"];
            assert_eq!(resource["resourceType"], rtype);
            assert_eq!(
                entry["fullUrl"].as_str().unwrap(),
                format!("{base}/{rtype}/{}", id(resource)),
                "fullUrl"
            );
            assert_eq!(entry["search"]["mode"], "match");
            // The entry is the resource as read.
            let (status, read) =
                get_json(&c.client, &format!("{base}/{rtype}/{}", id(resource))).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(&read, resource);
        }
        assert_eq!(
            link(&bundle, "self").unwrap(),
            format!("{base}/{rtype}?_count=3")
        );
        let next = link(&bundle, "next").expect("a next link");
        assert!(next.starts_with(&format!("{base}/{rtype}?")), "{next}");
        assert!(
            url_pairs(next).contains(&("_count".into(), "3".into())),
            "{next}"
        );
        assert!(link(&bundle, "previous").is_none(), "no previous on page 1");
        // The self link reproduces the page.
        let again = bundle_at(&c.client, link(&bundle, "self").unwrap()).await;
        assert_eq!(match_ids(&again), match_ids(&bundle));
    }
    // An empty result: total 0, no entry, still a self link.
    let empty = search(&c.client, &c.app, "Practitioner", &[("family", "zzzzzz")]).await;
    assert_eq!(empty["total"], 0);
    assert!(entries(&empty).is_empty());
    assert!(link(&empty, "next").is_none());
}

/// Follows `next` from `first` to the end, then `previous` back to the start: the pages must be
/// the same both ways, carry `_count` and the criteria in every link, and together be the
/// unpaged result list, in order, without duplicates.
async fn check_paging(c: &Ctx, rtype: &str, pairs: &[(&str, &str)], count: usize) {
    let label = format!("{rtype}?{}", query_string(pairs));
    let count_text = count.to_string();
    let mut paged = pairs.to_vec();
    paged.push(("_count", &count_text));
    let full: Vec<String> = all_matches(&c.client, &c.app, rtype, pairs)
        .await
        .iter()
        .map(|r| id(r).to_owned())
        .collect();
    assert!(full.len() > 3 * count, "{label}: enough results to page");

    let expected_pairs: Vec<(String, String)> = paged
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let check_links = |bundle: &Value, index: usize, last: bool| {
        for relation in ["self", "next", "previous", "first"] {
            if let Some(url) = link(bundle, relation) {
                assert!(
                    url.starts_with(&format!("{}/{rtype}?", c.base())),
                    "{label}: {relation} {url}"
                );
                let pairs = url_pairs(url);
                for expected in &expected_pairs {
                    assert!(
                        pairs.contains(expected),
                        "{label} page {index}: {relation} link {url} lacks {expected:?}"
                    );
                }
            }
        }
        assert_eq!(
            link(bundle, "next").is_some(),
            !last,
            "{label} page {index}: next"
        );
        assert_eq!(
            link(bundle, "previous").is_some(),
            index > 0,
            "{label} page {index}: previous"
        );
        assert_eq!(bundle["total"].as_u64(), Some(full.len() as u64));
    };

    let mut forward: Vec<Vec<String>> = Vec::new();
    let mut bundle = search(&c.client, &c.app, rtype, &paged).await;
    let pages = full.len().div_ceil(count);
    loop {
        let index = forward.len();
        assert!(index < pages, "{label}: more pages than {pages}");
        let ids = match_ids(&bundle);
        check_links(&bundle, index, index + 1 == pages);
        if index + 1 < pages {
            assert_eq!(ids.len(), count, "{label} page {index}");
        }
        forward.push(ids);
        match link(&bundle, "next") {
            Some(next) => bundle = bundle_at(&c.client, next).await,
            None => break,
        }
    }
    assert_eq!(forward.len(), pages, "{label}: pages");
    let flat: Vec<String> = forward.concat();
    assert_eq!(flat, full, "{label}: the pages are the result list");

    // Back to the start with `previous`.
    let mut backward: Vec<Vec<String>> = vec![match_ids(&bundle)];
    let mut middle_first = None;
    while let Some(previous) = link(&bundle, "previous") {
        if backward.len() == pages / 2 {
            middle_first = link(&bundle, "first").map(str::to_owned);
        }
        bundle = bundle_at(&c.client, previous).await;
        backward.push(match_ids(&bundle));
        assert!(backward.len() <= pages, "{label}: previous loops");
    }
    backward.reverse();
    assert_eq!(backward, forward, "{label}: previous pages = next pages");
    if let Some(first) = middle_first {
        let first = bundle_at(&c.client, &first).await;
        assert_eq!(match_ids(&first), forward[0], "{label}: first link");
    }
}

#[tokio::test]
async fn paging_next_and_previous() {
    let c = ctx();
    check_paging(&c, "Practitioner", &[("name:contains", "ier")], 7).await;
    check_paging(
        &c,
        "Practitioner",
        &[("name:contains", "ier"), ("_sort", "family")],
        7,
    )
    .await;
    check_paging(&c, "PractitionerRole", &[("role", "FON-05")], 25).await;
    check_paging(&c, "Organization", &[("_sort", "-name")], 100).await;
}

#[tokio::test]
async fn count_parameter() {
    let c = ctx();
    let all = c.corpus.of("Practitioner").len() as u64;
    assert!(all > 1000);
    // _count=0: the total only.
    let bundle = search(&c.client, &c.app, "Practitioner", &[("_count", "0")]).await;
    assert_eq!(bundle["total"].as_u64(), Some(all));
    assert!(entries(&bundle).is_empty());
    // _count=1000: the maximum page.
    let bundle = search(&c.client, &c.app, "Practitioner", &[("_count", "1000")]).await;
    assert_eq!(entries(&bundle).len(), 1000);
    let next = link(&bundle, "next").expect("next");
    assert!(url_pairs(next).contains(&("_count".into(), "1000".into())));
    let rest = bundle_at(&c.client, next).await;
    assert_eq!(entries(&rest).len() as u64, all - 1000);
    // _count=1.
    let bundle = search(&c.client, &c.app, "Organization", &[("_count", "1")]).await;
    assert_eq!(entries(&bundle).len(), 1);
    // _count=1001: refused, naming the parameter and the value.
    for strict in [false, true] {
        let (status, outcome) = search_raw(
            &c.client,
            &c.app,
            "Practitioner",
            &[("_count", "1001")],
            strict,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let diagnostics = outcome["issue"][0]["diagnostics"].as_str().unwrap();
        assert!(
            diagnostics.contains("_count") && diagnostics.contains("1001"),
            "{diagnostics}"
        );
    }
}

#[tokio::test]
async fn links_use_the_host_the_request_came_through() {
    let c = ctx();
    let own = c.app.url("/fhir");
    for (headers, base) in [
        (
            vec![("Host", "annuaire.example:8443")],
            "http://annuaire.example:8443/fhir",
        ),
        // Forwarded headers count only from a configured proxy (tests/hostile.rs); this server
        // trusts none, so links keep the address the request reached.
        (
            vec![
                ("X-Forwarded-Host", "proxy.example"),
                ("X-Forwarded-Proto", "https"),
            ],
            own.as_str(),
        ),
    ] {
        let mut request = c.client.get(search_url(
            &c.app,
            "PractitionerRole",
            &[("_count", "2"), ("_include", "*")],
        ));
        for (name, value) in &headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let bundle: Value = response.json().await.unwrap();
        for relation in ["self", "next"] {
            let url = link(&bundle, relation).unwrap();
            assert!(
                url.starts_with(&format!("{base}/PractitionerRole?")),
                "{headers:?}: {url}"
            );
        }
        assert!(entries(&bundle).len() > 2);
        for entry in entries(&bundle) {
            let resource = &entry["resource"];
            assert_eq!(
                entry["fullUrl"].as_str().unwrap(),
                format!(
                    "{base}/{}/{}",
                    resource["resourceType"].as_str().unwrap(),
                    id(resource)
                ),
                "{headers:?}"
            );
        }
        // The next link works once taken back to the real address.
        let next = link(&bundle, "next").unwrap().replacen(base, &c.base(), 1);
        let page = bundle_at(&c.client, &next).await;
        assert_eq!(match_ids(&page).len(), 2);
    }
}

// ---------------------------------------------------------------------------------------------
// _include, _revinclude
// ---------------------------------------------------------------------------------------------

/// `(type/id)` of the entries of a mode, checking their fullUrl.
fn entries_of_mode(c: &Ctx, bundle: &Value, mode: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in entries(bundle)
        .iter()
        .filter(|e| e["search"]["mode"] == mode)
    {
        let resource = &entry["resource"];
        let key = format!(
            "{}/{}",
            resource["resourceType"].as_str().unwrap(),
            id(resource)
        );
        assert_eq!(
            entry["fullUrl"].as_str().unwrap(),
            format!("{}/{key}", c.base()),
            "fullUrl of {mode} {key}"
        );
        assert!(out.insert(key.clone()), "{key} comes twice");
    }
    out
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn include_and_revinclude() {
    let c = ctx();
    let corpus = c.corpus;
    let (role, org, parent) = role_at_establishment(&c);
    let practitioner = reference(role, "practitioner").unwrap();
    let organization = format!("Organization/{}", id(org));
    let legal = format!("Organization/{parent}");
    let rid = id(role);

    for (includes, expected) in [
        (
            vec![("_include", "PractitionerRole:practitioner")],
            vec![practitioner.as_str()],
        ),
        (
            vec![("_include", "PractitionerRole:organization:Organization")],
            vec![organization.as_str()],
        ),
        (
            vec![("_include", "*")],
            vec![practitioner.as_str(), organization.as_str()],
        ),
        // R4 3.1.1.5.5: `*` for the parameter name, every reference parameter of the type.
        (
            vec![("_include", "PractitionerRole:*")],
            vec![practitioner.as_str(), organization.as_str()],
        ),
        (
            vec![("_include", "PractitionerRole:*:Organization")],
            vec![organization.as_str()],
        ),
        (
            vec![
                ("_include", "PractitionerRole:organization"),
                ("_include:iterate", "Organization:partof"),
            ],
            vec![organization.as_str(), legal.as_str()],
        ),
    ] {
        let mut pairs = vec![("_id", rid)];
        pairs.extend(includes.iter().copied());
        let bundle = search(&c.client, &c.app, "PractitionerRole", &pairs).await;
        assert_eq!(bundle["total"], 1, "{pairs:?}: includes are not counted");
        assert_eq!(
            entries_of_mode(&c, &bundle, "match"),
            set(&[&format!("PractitionerRole/{rid}")])
        );
        assert_eq!(
            entries_of_mode(&c, &bundle, "include"),
            set(&expected),
            "{pairs:?}"
        );
        // Matches come first.
        assert_eq!(entries(&bundle)[0]["search"]["mode"], "match");
    }

    // _revinclude: a practitioner's roles.
    let pid = practitioner.strip_prefix("Practitioner/").unwrap();
    let roles: Vec<String> = corpus
        .ids("PractitionerRole", |r| {
            reference(r, "practitioner").as_deref() == Some(practitioner.as_str())
        })
        .iter()
        .map(|r| format!("PractitionerRole/{r}"))
        .collect();
    assert!(roles.contains(&format!("PractitionerRole/{rid}")));
    let bundle = search(
        &c.client,
        &c.app,
        "Practitioner",
        &[
            ("_id", pid),
            ("_revinclude", "PractitionerRole:practitioner"),
        ],
    )
    .await;
    assert_eq!(bundle["total"], 1);
    assert_eq!(
        entries_of_mode(&c, &bundle, "include"),
        roles.iter().cloned().collect::<BTreeSet<_>>()
    );
    let bundle = search(
        &c.client,
        &c.app,
        "Practitioner",
        &[("_id", pid), ("_revinclude", "PractitionerRole:*")],
    )
    .await;
    assert_eq!(
        entries_of_mode(&c, &bundle, "include"),
        roles.iter().cloned().collect::<BTreeSet<_>>(),
        "_revinclude=PractitionerRole:*"
    );
    assert!(
        entries(&bundle)
            .iter()
            .all(|e| e["search"]["mode"] != "outcome"),
        "{bundle}"
    );

    // _revinclude with :iterate: a legal entity, its establishments, the roles there (and at
    // the legal entity itself).
    let children: BTreeSet<String> = corpus.ids("Organization", |o| {
        reference(o, "partOf").as_deref() == Some(legal.as_str())
    });
    let holders: BTreeSet<String> = children
        .iter()
        .map(|c| format!("Organization/{c}"))
        .chain([legal.clone()])
        .collect();
    let mut expected: BTreeSet<String> = children
        .iter()
        .map(|c| format!("Organization/{c}"))
        .collect();
    expected.extend(
        corpus
            .ids("PractitionerRole", |r| {
                reference(r, "organization").is_some_and(|o| holders.contains(&o))
            })
            .iter()
            .map(|r| format!("PractitionerRole/{r}")),
    );
    assert!(expected.contains(&format!("PractitionerRole/{rid}")));
    let bundle = search(
        &c.client,
        &c.app,
        "Organization",
        &[
            ("_id", &parent),
            ("_revinclude", "Organization:partof"),
            ("_revinclude:iterate", "PractitionerRole:organization"),
        ],
    )
    .await;
    assert_eq!(entries_of_mode(&c, &bundle, "include"), expected);

    // Many matches pointing at one organization: it is included once.
    let bundle = search(
        &c.client,
        &c.app,
        "PractitionerRole",
        &[
            ("organization", &organization),
            ("_include", "PractitionerRole:organization"),
        ],
    )
    .await;
    assert!(bundle["total"].as_u64().unwrap() >= 1);
    assert_eq!(
        entries_of_mode(&c, &bundle, "include"),
        set(&[organization.as_str()])
    );
    // Includes are per page: only the page's targets.
    let bundle = search(
        &c.client,
        &c.app,
        "PractitionerRole",
        &[
            ("_count", "3"),
            ("_include", "PractitionerRole:practitioner"),
        ],
    )
    .await;
    let targets: BTreeSet<String> = resources_with_mode(&bundle, "match")
        .iter()
        .filter_map(|r| reference(r, "practitioner"))
        .collect();
    assert_eq!(entries_of_mode(&c, &bundle, "include"), targets);
}

#[tokio::test]
async fn include_iterate_wildcard_follows_included_resources() {
    // R4 §3.1.1.5.4: `*` is every reference search parameter; with :iterate, the inclusion
    // repeats over what was included. From a role: its practitioner and organization, then the
    // organization's legal entity (Organization.partof).
    let c = ctx();
    let (role, org, parent) = role_at_establishment(&c);
    let practitioner = reference(role, "practitioner").unwrap();
    let bundle = search(
        &c.client,
        &c.app,
        "PractitionerRole",
        &[
            ("_id", id(role)),
            ("_include", "*"),
            ("_include:iterate", "*"),
        ],
    )
    .await;
    assert_eq!(
        entries_of_mode(&c, &bundle, "include"),
        set(&[
            practitioner.as_str(),
            &format!("Organization/{}", id(org)),
            &format!("Organization/{parent}"),
        ])
    );
}

// ---------------------------------------------------------------------------------------------
// Result parameters: _summary, _elements, _total, _sort
// ---------------------------------------------------------------------------------------------

fn keys(resource: &Value) -> BTreeSet<String> {
    resource.as_object().unwrap().keys().cloned().collect()
}

fn is_subsetted(resource: &Value) -> bool {
    resource["meta"]["tag"].as_array().is_some_and(|tags| {
        tags.iter()
            .any(|t| t["system"] == SUBSETTED_SYSTEM && t["code"] == "SUBSETTED")
    })
}

#[tokio::test]
async fn summary_and_elements() {
    let c = ctx();
    let pid = id(&c.corpus.of("Practitioner")[0]).to_owned();
    let full = c.corpus.get("Practitioner", &pid);
    let one = |extra: (&'static str, &'static str)| {
        let pid = pid.clone();
        let c = &c;
        async move {
            let bundle = search(
                &c.client,
                &c.app,
                "Practitioner",
                &[("_id", pid.as_str()), extra],
            )
            .await;
            assert_eq!(bundle["total"], 1, "{extra:?}");
            bundle
        }
    };

    // count: the total, no entries.
    let bundle = search(
        &c.client,
        &c.app,
        "Practitioner",
        &[("_summary", "count"), ("name", "a")],
    )
    .await;
    let expected = c
        .corpus
        .ids("Practitioner", |p| starts(&name_parts(p), "a"))
        .len() as u64;
    assert_eq!(bundle["total"].as_u64(), Some(expected));
    assert!(entries(&bundle).is_empty());

    // true: the summary elements of Practitioner only, marked SUBSETTED.
    let bundle = one(("_summary", "true")).await;
    let resource = &entries(&bundle)[0]["resource"];
    let allowed = set(&[
        "resourceType",
        "id",
        "meta",
        "implicitRules",
        "identifier",
        "active",
        "name",
        "telecom",
        "address",
        "gender",
        "birthDate",
    ]);
    assert!(keys(resource).is_subset(&allowed), "{:?}", keys(resource));
    assert!(keys(resource).contains("identifier") && keys(resource).contains("name"));
    assert!(!keys(resource).contains("qualification"));
    assert_eq!(resource["identifier"], full["identifier"]);
    assert_eq!(resource["name"], full["name"]);
    assert!(is_subsetted(resource), "{resource}");

    // text: text, id, meta (and mandatory elements: none here).
    let bundle = one(("_summary", "text")).await;
    let resource = &entries(&bundle)[0]["resource"];
    assert!(
        keys(resource).is_subset(&set(&["resourceType", "id", "meta", "text"])),
        "{resource}"
    );
    assert!(is_subsetted(resource));

    // data and false: everything (there is no narrative to remove).
    for summary in ["data", "false"] {
        let bundle = one(("_summary", summary)).await;
        let resource = &entries(&bundle)[0]["resource"];
        assert_eq!(resource, full, "_summary={summary}");
    }

    // _elements=identifier: only id, meta, resourceType and identifier, SUBSETTED.
    let bundle = one(("_elements", "identifier")).await;
    let resource = &entries(&bundle)[0]["resource"];
    assert_eq!(
        keys(resource),
        set(&["resourceType", "id", "meta", "identifier"])
    );
    assert_eq!(resource["identifier"], full["identifier"]);
    assert_eq!(resource["meta"]["versionId"], full["meta"]["versionId"]);
    assert!(is_subsetted(resource), "{resource}");
    let bundle = one(("_elements", "identifier,name")).await;
    let resource = &entries(&bundle)[0]["resource"];
    assert_eq!(
        keys(resource),
        set(&["resourceType", "id", "meta", "identifier", "name"])
    );

    // Organization summary: no telecom, address, alias.
    let org = c
        .corpus
        .of("Organization")
        .iter()
        .find(|o| o.get("alias").is_some())
        .unwrap();
    let bundle = search(
        &c.client,
        &c.app,
        "Organization",
        &[("_id", id(org)), ("_summary", "true")],
    )
    .await;
    let resource = &entries(&bundle)[0]["resource"];
    assert!(
        keys(resource).is_subset(&set(&[
            "resourceType",
            "id",
            "meta",
            "implicitRules",
            "identifier",
            "active",
            "type",
            "name",
            "partOf"
        ])),
        "{:?}",
        keys(resource)
    );
    assert_eq!(resource["name"], org["name"]);
}

#[tokio::test]
async fn total_parameter() {
    let c = ctx();
    let expected = c
        .corpus
        .ids("Practitioner", |p| starts(&families(p), "b"))
        .len() as u64;
    assert!(expected > 0);
    let none = search(
        &c.client,
        &c.app,
        "Practitioner",
        &[("family", "b"), ("_total", "none"), ("_count", "2")],
    )
    .await;
    assert!(
        none.get("total").is_none(),
        "_total=none: {}",
        none["total"]
    );
    assert_eq!(entries(&none).len(), 2);
    let estimate = search(
        &c.client,
        &c.app,
        "Practitioner",
        &[("family", "b"), ("_total", "estimate"), ("_count", "2")],
    )
    .await;
    assert!(
        estimate["total"].as_u64().is_some_and(|t| t > 0),
        "_total=estimate gives a total"
    );
    let accurate = search(
        &c.client,
        &c.app,
        "Practitioner",
        &[("family", "b"), ("_total", "accurate"), ("_count", "2")],
    )
    .await;
    assert_eq!(accurate["total"].as_u64(), Some(expected));
}

#[tokio::test]
async fn sort_parameter() {
    let c = ctx();
    let criteria = [("name:contains", "mar")];
    let subset: Vec<&Value> = c
        .corpus
        .of("Practitioner")
        .iter()
        .filter(|p| contains(&name_parts(p), "mar"))
        .collect();
    assert!(subset.len() > 20);
    let sort_key = |p: &Value| {
        families(p)
            .iter()
            .map(|f| fold(f))
            .min()
            .unwrap_or_default()
    };
    let mut expected: Vec<(String, String)> = subset
        .iter()
        .map(|p| (sort_key(p), id(p).to_owned()))
        .collect();
    expected.sort();

    let ascending: Vec<Value> = all_matches(
        &c.client,
        &c.app,
        "Practitioner",
        &[criteria[0], ("_sort", "family")],
    )
    .await;
    let got: Vec<(String, String)> = ascending
        .iter()
        .map(|p| (sort_key(p), id(p).to_owned()))
        .collect();
    assert_eq!(got, expected, "_sort=family: by family, then id");

    let descending: Vec<Value> = all_matches(
        &c.client,
        &c.app,
        "Practitioner",
        &[criteria[0], ("_sort", "-family")],
    )
    .await;
    let keys: Vec<String> = descending.iter().map(|p| sort_key(p)).collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(keys, sorted, "_sort=-family");
    assert_eq!(descending.len(), expected.len());

    // Every lastUpdated is the same: the second key decides.
    let mixed: Vec<Value> = all_matches(
        &c.client,
        &c.app,
        "Practitioner",
        &[criteria[0], ("_sort", "-_lastUpdated,family")],
    )
    .await;
    let got: Vec<(String, String)> = mixed
        .iter()
        .map(|p| (sort_key(p), id(p).to_owned()))
        .collect();
    assert_eq!(got, expected, "_sort=-_lastUpdated,family");

    // Sorted, unfiltered, over two pages of 1000.
    let all = all_matches(&c.client, &c.app, "Practitioner", &[("_sort", "family")]).await;
    let keys: Vec<String> = all.iter().map(|p| sort_key(p)).collect();
    assert!(
        keys.windows(2).all(|w| w[0] <= w[1]),
        "_sort=family across pages"
    );
    assert_eq!(all.len(), c.corpus.of("Practitioner").len());
}

// ---------------------------------------------------------------------------------------------
// Errors: strict and lenient handling, malformed values
// ---------------------------------------------------------------------------------------------

fn diagnostics(outcome: &Value) -> String {
    outcome["issue"]
        .as_array()
        .map(|issues| {
            issues
                .iter()
                .filter_map(|i| i["diagnostics"].as_str())
                .collect::<Vec<_>>()
                .join(" / ")
        })
        .unwrap_or_default()
}

/// An unsupported parameter or modifier: 400 naming it under `Prefer: handling=strict`;
/// otherwise ignored, with a warning naming it in an `outcome` entry, and left out of the self
/// link. `expected` is the result of the search without it.
async fn check_unsupported(
    c: &Ctx,
    rtype: &str,
    pairs: &[(&str, &str)],
    unsupported: &str,
    names: &[&str],
    expected: u64,
) {
    let label = format!("{rtype}?{}", query_string(pairs));
    let (status, outcome) = search_raw(&c.client, &c.app, rtype, pairs, true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "strict {label}: {outcome}");
    assert_eq!(
        outcome["resourceType"], "OperationOutcome",
        "strict {label}"
    );
    assert_eq!(outcome["issue"][0]["severity"], "error");
    let text = diagnostics(&outcome);
    for name in names {
        assert!(
            text.contains(name),
            "strict {label}: `{text}` should name {name}"
        );
    }

    let (status, bundle) = search_raw(&c.client, &c.app, rtype, pairs, false).await;
    assert_eq!(status, StatusCode::OK, "lenient {label}: {bundle}");
    assert_searchset(&bundle, &label);
    assert_eq!(bundle["total"].as_u64(), Some(expected), "lenient {label}");
    let outcomes: Vec<&Value> = entries(&bundle)
        .iter()
        .filter(|e| e["search"]["mode"] == "outcome")
        .collect();
    assert_eq!(outcomes.len(), 1, "lenient {label}: one outcome entry");
    let outcome = &outcomes[0]["resource"];
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let warnings: Vec<&Value> = outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["severity"] == "warning")
        .collect();
    assert!(
        !warnings.is_empty(),
        "lenient {label}: a warning: {outcome}"
    );
    let text = diagnostics(outcome);
    for name in names {
        assert!(
            text.contains(name),
            "lenient {label}: `{text}` should name {name}"
        );
    }
    let self_link = link(&bundle, "self").unwrap();
    assert!(
        !url_pairs(self_link).iter().any(|(k, _)| k == unsupported),
        "lenient {label}: the self link {self_link} still has {unsupported}"
    );
    for (k, v) in pairs.iter().filter(|(k, _)| *k != unsupported) {
        assert!(
            url_pairs(self_link).contains(&((*k).to_owned(), (*v).to_owned())),
            "lenient {label}: the self link {self_link} lost {k}"
        );
    }
}

#[tokio::test]
async fn unsupported_parameters_and_modifiers() {
    let c = ctx();
    let all = c.corpus.of("Practitioner").len() as u64;
    let b = c
        .corpus
        .ids("Practitioner", |p| starts(&families(p), "b"))
        .len() as u64;
    let roles = c.corpus.of("PractitionerRole").len() as u64;
    check_unsupported(
        &c,
        "Practitioner",
        &[("colour", "blue")],
        "colour",
        &["colour"],
        all,
    )
    .await;
    check_unsupported(
        &c,
        "Practitioner",
        &[("family", "b"), ("colour", "blue")],
        "colour",
        &["colour"],
        b,
    )
    .await;
    check_unsupported(
        &c,
        "Practitioner",
        &[("family:fuzzy", "x"), ("family", "b")],
        "family:fuzzy",
        &["fuzzy", "family"],
        b,
    )
    .await;
    // Modifiers that exist in FHIR but are not declared for the parameter.
    for (name, value) in [
        ("family:not", "b"),
        ("family:text", "b"),
        ("active:exact", "true"),
        ("_lastUpdated:exact", "2026"),
        ("identifier:contains", "1"),
    ] {
        let modifier = name.split_once(':').unwrap().1;
        check_unsupported(&c, "Practitioner", &[(name, value)], name, &[modifier], all).await;
    }
    // A parameter of another type.
    check_unsupported(
        &c,
        "Practitioner",
        &[("role", "FON-05")],
        "role",
        &["role"],
        all,
    )
    .await;
    // Chains two levels deep.
    check_unsupported(
        &c,
        "PractitionerRole",
        &[("organization.partof.identifier", "urn:x|1")],
        "organization.partof.identifier",
        &["partof.identifier"],
        roles,
    )
    .await;
    check_unsupported(
        &c,
        "PractitionerRole",
        &[("practitioner.colour", "x")],
        "practitioner.colour",
        &["colour"],
        roles,
    )
    .await;
    // A nested _has.
    check_unsupported(
        &c,
        "Practitioner",
        &[(
            "_has:PractitionerRole:practitioner:_has:PractitionerRole:practitioner:role",
            "FON-05",
        )],
        "_has:PractitionerRole:practitioner:_has:PractitionerRole:practitioner:role",
        &["_has"],
        all,
    )
    .await;
    // `Prefer: handling=lenient` is the default behaviour.
    let response = c
        .client
        .get(search_url(&c.app, "Practitioner", &[("colour", "blue")]))
        .header("Prefer", "handling=lenient")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// Malformed values: 400 whatever the handling, naming the parameter and the value.
const MALFORMED: &[(&str, &str, &str)] = &[
    ("Practitioner", "_count", "abc"),
    ("Practitioner", "_count", "-1"),
    ("Practitioner", "_count", "1001"),
    ("Practitioner", "_lastUpdated", "2026-13"),
    ("Practitioner", "_lastUpdated", "xx2026"),
    ("Practitioner", "_lastUpdated", "2026-11-01T10:00"),
    ("Practitioner", "_lastUpdated", "2026-11-01T10:00:00"),
    ("Practitioner", "_lastUpdated", "2026-02-30"),
    ("Practitioner", "_lastUpdated", "gt2026-11-01T25:00:00Z"),
    ("Practitioner", "identifier:of-type", "a|b"),
    ("Organization", "identifier:of-type", "a"),
    ("Practitioner", "family:missing", "maybe"),
    ("Practitioner", "active:missing", "yes"),
    ("PractitionerRole", "practitioner", "Organization/x"),
    ("PractitionerRole", "organization", "Practitioner/x"),
    ("Organization", "partof", "a b"),
    ("Practitioner", "_cursor", "garbage"),
    ("Practitioner", "_summary", "maybe"),
    ("Practitioner", "_total", "some"),
    ("Practitioner", "identifier", "a|b|c"),
];

#[tokio::test]
async fn malformed_values_are_400_naming_parameter_and_value() {
    let c = ctx();
    let mut failures = Vec::new();
    for (rtype, name, value) in MALFORMED {
        for strict in [false, true] {
            let (status, outcome) =
                search_raw(&c.client, &c.app, rtype, &[(name, value)], strict).await;
            let text = diagnostics(&outcome);
            if status != StatusCode::BAD_REQUEST
                || outcome["resourceType"] != "OperationOutcome"
                || !text.contains(name)
                || !text.contains(value)
            {
                failures.push(format!(
                    "{rtype}?{name}={value} (strict: {strict}): {status} {}",
                    if outcome.is_null() {
                        "(no JSON)".into()
                    } else {
                        outcome.to_string()
                    }
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn time_zone_offsets_beyond_14_hours_are_malformed() {
    // FHIR dateTime/instant: the offset is (+|-)hh:mm with at most 14:00.
    let c = ctx();
    for value in [
        "2026-11-01T10:00:00+25:00",
        "2026-11-01T10:00:00-15:00",
        "2026-11-01T10:00:00+14:30",
    ] {
        for strict in [false, true] {
            let (status, outcome) = search_raw(
                &c.client,
                &c.app,
                "Practitioner",
                &[("_lastUpdated", value)],
                strict,
            )
            .await;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "_lastUpdated={value}: {outcome}"
            );
            let text = diagnostics(&outcome);
            assert!(
                text.contains("_lastUpdated") && text.contains(value),
                "{text}"
            );
        }
    }
    // ±14:00 itself is valid.
    assert_eq!(
        count(
            &c.client,
            &c.app,
            "Practitioner",
            &[("_lastUpdated", "2026-11-01T14:00:00+14:00")]
        )
        .await,
        c.corpus.of("Practitioner").len() as u64
    );
}

#[tokio::test]
async fn no_query_makes_the_server_fail() {
    let c = ctx();
    // A cursor of another sort order, and cursors that decode to odd contents.
    let bundle = search(&c.client, &c.app, "Practitioner", &[("_count", "2")]).await;
    let unsorted_cursor = url_pairs(link(&bundle, "next").unwrap())
        .into_iter()
        .find(|(k, _)| k == "_cursor")
        .unwrap()
        .1;
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let odd_cursors = [
        b64(r#"{"after":"zzzz"}"#),
        b64(r#"{"after":""}"#),
        b64(r#"{"after":"pp-1","keys":["!!!",null]}"#),
        b64(r#"{"after":"pp-1","keys":["AAAA"]}"#),
        b64(r#"{"after":5}"#),
        b64("[]"),
        "%%%".into(),
    ];
    let mut queries: Vec<(&str, Vec<(String, String)>)> = vec![];
    let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    queries.push((
        "Practitioner",
        q(&[("_sort", "family"), ("_cursor", &unsorted_cursor)]),
    ));
    for cursor in &odd_cursors {
        queries.push(("Practitioner", q(&[("_cursor", cursor)])));
        queries.push((
            "Practitioner",
            q(&[("_sort", "family"), ("_cursor", cursor)]),
        ));
        queries.push((
            "Organization",
            q(&[("_sort", "-name,_id"), ("_cursor", cursor)]),
        ));
    }
    for (rtype, name, value) in MALFORMED {
        queries.push((rtype, q(&[(name, value)])));
    }
    for (name, value) in [
        ("", "x"),
        ("=", "="),
        (":", "x"),
        ("family:", "x"),
        (":exact", "x"),
        ("family", ""),
        ("family", ","),
        ("family", "\\"),
        ("family:exact", "\\\\,"),
        ("family:contains", "\u{0}"),
        ("family", "\u{1f}"),
        ("name:contains", "\u{301}"),
        ("identifier", "|"),
        ("identifier", "||"),
        ("identifier", "\\|"),
        ("identifier:of-type", "||"),
        ("identifier:of-type", "a|b|c|d"),
        ("_id", ""),
        ("_id", "a,,b"),
        ("_count", ""),
        ("_count", "99999999999999999999999"),
        ("_lastUpdated", ""),
        ("_lastUpdated", "ge"),
        ("_lastUpdated", "0000"),
        ("_lastUpdated", "9999"),
        ("_lastUpdated", "9999-12-31T23:59:59-14:00"),
        ("_lastUpdated", "2026-11-01T00:00:00.9999999999999Z"),
        ("_lastUpdated", "2026-11-01T00:00:00+1:00"),
        ("_lastUpdated", "2026-11-01T00:00:00+01"),
        ("_lastUpdated", "2026-11-01T00:00:00+-1:00"),
        ("_lastUpdated", "-2026"),
        ("_lastUpdated", "2026-11-01T00:00:00 01:00"),
        ("_lastUpdated", "é026"),
        ("_sort", ""),
        ("_sort", "-"),
        ("_sort", ","),
        ("_sort", "colour"),
        ("_sort", "_has"),
        ("_elements", "a.b"),
        ("_elements", ""),
        ("_include", ""),
        ("_include", "Practitioner"),
        ("_include", "Practitioner:a:b:c"),
        ("_include", "Patient:link"),
        ("_include:colour", "*"),
        ("_revinclude", "PractitionerRole:organization"),
        ("_has", "x"),
        ("_has:", "x"),
        ("_has:PractitionerRole", "x"),
        ("_has:PractitionerRole:practitioner", "x"),
        ("_has:Patient:link:name", "x"),
        ("_has:PractitionerRole:organization:role", "FON-05"),
        ("practitioner.identifier", "x"),
        ("partof.", "x"),
        (".", "x"),
        ("organization:Practitioner.name", "x"),
        // A format the server does not speak (XML is spoken: tests/http_api.rs).
        ("_format", "turtle"),
        ("_summary", ""),
    ] {
        for rtype in TYPES {
            queries.push((rtype, q(&[(name, value)])));
        }
    }
    for (rtype, name, value) in [
        ("PractitionerRole", "practitioner", "http://"),
        ("PractitionerRole", "practitioner", "/"),
        ("PractitionerRole", "practitioner", "Practitioner/"),
        (
            "PractitionerRole",
            "practitioner",
            "http://x/fhir/Practitioner/a/_history/1",
        ),
        ("PractitionerRole", "practitioner:identifier", "|"),
        ("PractitionerRole", "practitioner:Organization", "x"),
        ("PractitionerRole", "organization.partof:identifier", "a|b"),
        ("Organization", "partof:identifier", "x"),
        ("Organization", "partof.partof", "x"),
    ] {
        queries.push((rtype, q(&[(name, value)])));
    }
    let mut failures = Vec::new();
    for (rtype, pairs) in &queries {
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        for strict in [false, true] {
            let (status, body) = search_raw(&c.client, &c.app, rtype, &pairs, strict).await;
            let typed = matches!(
                body["resourceType"].as_str(),
                Some("Bundle") | Some("OperationOutcome")
            );
            if status.as_u16() >= 500 || !typed {
                failures.push(format!(
                    "{rtype}?{} (strict: {strict}): {status} {body}",
                    query_string(&pairs)
                ));
            }
        }
    }
    assert!(queries.len() > 200);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Still serving.
    search(&c.client, &c.app, "Practitioner", &[("_count", "1")]).await;
}

// ---------------------------------------------------------------------------------------------
// Every declared parameter and modifier is understood (strict handling accepts it)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_declared_parameter_and_modifier_is_supported() {
    let c = ctx();
    let declarations: Vec<Value> = serde_json::from_str(PARAMETERS_JSON).unwrap();
    let all_modifiers = [
        "exact",
        "contains",
        "missing",
        "not",
        "text",
        "of-type",
        "identifier",
    ];
    let mut failures = Vec::new();
    let mut checked = 0;
    for declaration in &declarations {
        let code = declaration["code"].as_str().unwrap();
        let kind = declaration["type"].as_str().unwrap();
        let declared = strs(&declaration["modifiers"]);
        for rtype in strs(&declaration["base"]) {
            let value_for = |modifier: &str| -> String {
                match (kind, modifier) {
                    (_, "missing") => "false".into(),
                    (_, "of-type") => format!("{V2_0203}|RPPS|1"),
                    (_, "identifier") => "urn:x|1".into(),
                    ("date", _) => "2026".into(),
                    ("reference", _) => "x-1".into(),
                    // `:contains` takes three characters at least.
                    _ => "xyz".into(),
                }
            };
            let mut forms = vec![(code.to_owned(), value_for(""), true)];
            for modifier in all_modifiers {
                forms.push((
                    format!("{code}:{modifier}"),
                    value_for(modifier),
                    declared.iter().any(|d| d == modifier),
                ));
            }
            for (name, value, supported) in forms {
                checked += 1;
                let (status, body) =
                    search_raw(&c.client, &c.app, &rtype, &[(&name, &value)], true).await;
                let ok = if supported {
                    status == StatusCode::OK
                        && entries(&body)
                            .iter()
                            .all(|e| e["search"]["mode"] != "outcome")
                } else {
                    status == StatusCode::BAD_REQUEST
                };
                if !ok {
                    failures.push(format!(
                        "{rtype}?{name}={value} (declared: {supported}): {status} {}",
                        diagnostics(&body)
                    ));
                }
            }
        }
    }
    assert!(checked > 200, "{checked}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Paging across a live import (child servers over their own data directories)
// ---------------------------------------------------------------------------------------------

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
