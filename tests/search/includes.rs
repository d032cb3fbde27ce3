//! `_include` and `_revinclude`.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::search_support::*;

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
