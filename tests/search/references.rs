//! Reference parameters (every form of a reference), chains and `_has`.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common;
use crate::search_support::*;

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
