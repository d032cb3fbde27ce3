//! Errors: unsupported parameters and modifiers under strict and lenient handling, malformed
//! values; and every declared parameter and modifier understood under strict handling.

use reqwest::StatusCode;
use serde_json::Value;

use crate::search_support::*;

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
