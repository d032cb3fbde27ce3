//! What combines criteria: AND, OR, escaping, POST `_search`.

use reqwest::StatusCode;
use serde_json::Value;

use crate::common;
use crate::search_support::*;

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
