//! Result parameters: `_summary`, `_elements`, `_total`, `_sort`.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::search_support::*;

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
    let keys: Vec<String> = descending.iter().map(&sort_key).collect();
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
    let keys: Vec<String> = all.iter().map(sort_key).collect();
    assert!(
        keys.windows(2).all(|w| w[0] <= w[1]),
        "_sort=family across pages"
    );
    assert_eq!(all.len(), c.corpus.of("Practitioner").len());
}
