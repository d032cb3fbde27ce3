//! Errors: unsupported parameters and modifiers under strict and lenient handling, malformed
//! values; and every declared parameter and modifier understood under strict handling.

use reqwest::StatusCode;
use serde_json::Value;

use crate::search_support::*;

/// An unknown parameter (one the server does not recognize at all): 400 naming it under
/// `Prefer: handling=strict`; otherwise ignored, with a warning naming it in an `outcome`
/// entry, and left out of the self link. `expected` is the result of the search without it.
async fn check_unknown(c: &Ctx, rtype: &str, pairs: &[(&str, &str)], unknown: &str, expected: u64) {
    let label = format!("{rtype}?{}", query_string(pairs));
    // The parameter, without the modifier or chain it was sent with.
    let code = unknown.split([':', '.']).next().unwrap();
    let (status, outcome) = search_raw(&c.client, &c.app, rtype, pairs, true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "strict {label}: {outcome}");
    assert_eq!(
        outcome["resourceType"], "OperationOutcome",
        "strict {label}"
    );
    assert_eq!(outcome["issue"][0]["severity"], "error");
    let text = diagnostics(&outcome);
    assert!(
        text.contains(code),
        "strict {label}: `{text}` should name {code}"
    );

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
    assert!(
        text.contains(code),
        "lenient {label}: `{text}` should name {code}"
    );
    let self_link = link(&bundle, "self").unwrap();
    assert!(
        !url_pairs(self_link).iter().any(|(k, _)| k == unknown),
        "lenient {label}: the self link {self_link} still has {unknown}"
    );
    for (k, v) in pairs.iter().filter(|(k, _)| *k != unknown) {
        assert!(
            url_pairs(self_link).contains(&((*k).to_owned(), (*v).to_owned())),
            "lenient {label}: the self link {self_link} lost {k}"
        );
    }
}

#[tokio::test]
async fn unknown_parameters_follow_prefer_handling_lenient_by_default() {
    let c = ctx();
    let all = c.corpus.of("Practitioner").len() as u64;
    let b = c
        .corpus
        .ids("Practitioner", |p| starts(&families(p), "b"))
        .len() as u64;
    check_unknown(&c, "Practitioner", &[("colour", "blue")], "colour", all).await;
    check_unknown(
        &c,
        "Practitioner",
        &[("family", "b"), ("colour", "blue")],
        "colour",
        b,
    )
    .await;
    // A parameter of another type, and an unknown one with a modifier.
    check_unknown(&c, "Practitioner", &[("role", "FON-05")], "role", all).await;
    check_unknown(
        &c,
        "Practitioner",
        &[("colour:exact", "x")],
        "colour:exact",
        all,
    )
    .await;
    // A chain from a parameter the type does not have is unknown as a whole.
    check_unknown(
        &c,
        "Practitioner",
        &[("colour.name", "x")],
        "colour.name",
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

/// The three ways a client may ask: no `Prefer` (lenient by default), lenient, strict.
const HANDLINGS: [Option<&str>; 3] = [None, Some("handling=lenient"), Some("handling=strict")];

/// A parameter the server recognizes but cannot honour: 400 with an OperationOutcome naming
/// it, whatever the handling, with and without `_summary=count`; never a Bundle that would
/// count or list more than was asked. Returns the failures.
async fn refusals(c: &Ctx, rtype: &str, name: &str, value: &str, code: &str) -> Vec<String> {
    let mut failures = Vec::new();
    for summary in [None, Some(("_summary", "count"))] {
        let mut pairs = vec![(name, value)];
        pairs.extend(summary);
        let url = search_url(&c.app, rtype, &pairs);
        for handling in HANDLINGS {
            let mut request = c.client.get(&url);
            if let Some(handling) = handling {
                request = request.header("Prefer", handling);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let outcome: Value = response.json().await.unwrap_or(Value::Null);
            let text = diagnostics(&outcome);
            if status != StatusCode::BAD_REQUEST
                || outcome["resourceType"] != "OperationOutcome"
                || outcome["issue"][0]["code"] != code
                || !text.contains(name)
            {
                failures.push(format!(
                    "{rtype}?{} (Prefer: {handling:?}): {status} {outcome}",
                    query_string(&pairs)
                ));
            }
        }
    }
    failures
}

/// Parameters the server recognizes (declared ones, chains, `_has`, result parameters) used in
/// a way it cannot honour; each was ignored with a warning before, widening the search.
const NOT_HONOURED: &[(&str, &str, &str)] = &[
    // A chain inside `_has` deeper than one level, a nested `_has`, `_has` with an unknown
    // inner parameter, towards a type not served, or through a reference that does not point
    // at the searched type.
    (
        "Practitioner",
        "_has:PractitionerRole:practitioner:organization.partof.name",
        "x",
    ),
    (
        "Practitioner",
        "_has:PractitionerRole:practitioner:_has:PractitionerRole:practitioner:role",
        "FON-05",
    ),
    (
        "Practitioner",
        "_has:PractitionerRole:practitioner:colour",
        "x",
    ),
    (
        "Practitioner",
        "_has:PractitionerRole:practitioner:family",
        "x",
    ),
    ("Practitioner", "_has:Patient:link:name", "x"),
    (
        "Practitioner",
        "_has:PractitionerRole:organization:role",
        "FON-05",
    ),
    // Chains deeper than one level, through a parameter that is no reference, towards a
    // type the reference never points at, or to an unknown parameter.
    (
        "PractitionerRole",
        "organization.partof.identifier",
        "urn:x|1",
    ),
    ("PractitionerRole", "practitioner.colour", "x"),
    ("Practitioner", "family.name", "x"),
    ("PractitionerRole", "organization:Practitioner.name", "x"),
    (
        "PractitionerRole",
        "organization._has:PractitionerRole:organization:role",
        "x",
    ),
    // Modifiers that are no FHIR modifier, or that the parameter does not take.
    ("Practitioner", "family:fuzzy", "x"),
    ("Practitioner", "family:not", "b"),
    ("Practitioner", "family:text", "b"),
    ("Practitioner", "active:exact", "true"),
    ("Practitioner", "_lastUpdated:exact", "2026"),
    ("Practitioner", "identifier:contains", "123"),
    ("PractitionerRole", "practitioner:Organization", "x"),
    ("PractitionerRole", "role:below", "FON"),
    // Includes it cannot follow, and `:iterate` misuse.
    ("Practitioner", "_include", "Patient:link"),
    ("Practitioner", "_include", "Practitioner:family"),
    ("Practitioner", "_include", "PractitionerRole:organization"),
    (
        "Practitioner",
        "_revinclude",
        "PractitionerRole:organization",
    ),
    (
        "PractitionerRole",
        "_include",
        "PractitionerRole:organization:Practitioner",
    ),
    ("PractitionerRole", "_include:colour", "*"),
    (
        "PractitionerRole",
        "_revinclude:deep",
        "PractitionerRole:practitioner",
    ),
    // Result parameters beyond what the server writes.
    ("Practitioner", "_contained", "true"),
    ("Practitioner", "_containedType", "contained"),
];

#[tokio::test]
async fn recognized_parameters_it_cannot_honour_are_refused_in_every_mode() {
    let c = ctx();
    let mut failures = Vec::new();
    for (rtype, name, value) in NOT_HONOURED {
        failures.extend(refusals(&c, rtype, name, value, "not-supported").await);
    }
    // `_sort` on a parameter it cannot sort by, and `_elements` naming no element of the
    // type: malformed, refused the same way (issue code `invalid`).
    for (rtype, name, value) in [
        ("Practitioner", "_sort", "gender"),
        ("PractitionerRole", "_sort", "practitioner"),
        ("Practitioner", "_elements", "name,colour"),
        ("Organization", "_elements", "qualification"),
    ] {
        failures.extend(refusals(&c, rtype, name, value, "invalid").await);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every FHIR R4 parameter declared as refused in `conformance/refused-parameters.json`, on
/// every type it applies to.
#[tokio::test]
async fn r4_parameters_it_does_not_implement_are_refused_in_every_mode() {
    let c = ctx();
    let refused: Vec<Value> =
        serde_json::from_str(include_str!("../../conformance/refused-parameters.json")).unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for declaration in &refused {
        let code = declaration["code"].as_str().unwrap();
        let base = strs(&declaration["base"]);
        for rtype in TYPES
            .into_iter()
            .filter(|t| base.iter().any(|b| b == "Resource" || b == t))
        {
            checked += 1;
            failures.extend(refusals(&c, rtype, code, "x", "not-supported").await);
        }
    }
    assert!(checked > 40, "{checked}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The issue's example: practitioners who work in a structure of département 69, through a
/// chain inside `_has`, counted and listed exactly (it answered everyone, with a warning).
#[tokio::test]
async fn a_chain_inside_has_narrows_the_search() {
    let c = ctx();
    let in_69: std::collections::BTreeSet<String> = c
        .corpus
        .of("Organization")
        .iter()
        .filter(|o| starts(&insee_codes(o), "69"))
        .map(|o| format!("Organization/{}", o["id"].as_str().unwrap()))
        .collect();
    let expected: std::collections::BTreeSet<String> = c
        .corpus
        .of("PractitionerRole")
        .iter()
        .filter(|r| {
            r["organization"]["reference"]
                .as_str()
                .is_some_and(|o| in_69.contains(o))
        })
        .filter_map(|r| r["practitioner"]["reference"].as_str())
        .map(|p| p.trim_start_matches("Practitioner/").to_owned())
        .collect();
    assert!(
        !expected.is_empty(),
        "the demo data has practitioners in 69"
    );
    assert!((expected.len() as u64) < c.corpus.of("Practitioner").len() as u64);
    let name = "_has:PractitionerRole:practitioner:organization.address-insee";
    for handling in [false, true] {
        let (status, bundle) = search_raw(
            &c.client,
            &c.app,
            "Practitioner",
            &[(name, "69"), ("_summary", "count")],
            handling,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{bundle}");
        assert_eq!(bundle["total"].as_u64(), Some(expected.len() as u64));
        assert!(entries(&bundle).is_empty(), "no warning: {bundle}");
    }
    let found: std::collections::BTreeSet<String> =
        all_matches(&c.client, &c.app, "Practitioner", &[(name, "69")])
            .await
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect();
    assert_eq!(found, expected);
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
    ("Practitioner", "_has", "x"),
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
