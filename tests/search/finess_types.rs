//! The FINESS services, HealthcareService (authorised healthcare activities, social and
//! medico-social equipment) and Device (heavy equipment): every parameter the ANS
//! CapabilityStatement lists for them, includes and revincludes both ways, chains, `_has`,
//! sorting, `_summary`, `_elements`, `_total`; and `_profile` (uri) on every type. Expected
//! results come from the corpus itself: the values searched are taken from the data.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::search_support::*;

/// The canonical base of the ANS profiles, and the version the resources claim.
const AS: &str = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/";
const IG_VERSION: &str = "1.2.0-snapshot-2";

/// The codings of `element` of every resource of `rtype`, each with a resource having it.
fn some_coding<'a>(c: &'a Ctx, rtype: &str, element: &str) -> (&'a Value, String, String) {
    c.corpus
        .of(rtype)
        .iter()
        .find_map(|r| {
            let (system, code) = codings(&r[element]).into_iter().next()?;
            Some((r, system?, code))
        })
        .unwrap_or_else(|| panic!("no {rtype} with a coded {element} in the demo"))
}

/// The codings a HealthcareService token parameter reads (`eligibility` reads `eligibility.code`).
fn hs_codes(r: &Value, element: &str) -> Vec<Code> {
    if element == "eligibility" {
        r["eligibility"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|e| codings(&e["code"]))
            .collect()
    } else {
        codings(&r[element])
    }
}

/// The profiles a resource claims.
fn claims(r: &Value) -> Vec<String> {
    strs(&r["meta"]["profile"])
}

fn unversioned(claim: &str) -> &str {
    claim.split('|').next().unwrap_or(claim)
}

#[tokio::test]
async fn healthcare_service_tokens() {
    let c = ctx();
    for (param, element) in [
        ("service-type", "type"),
        ("service-category", "category"),
        ("characteristic", "characteristic"),
        ("eligibility", "eligibility"),
    ] {
        let (pick, system, code) = if element == "eligibility" {
            c.corpus
                .of("HealthcareService")
                .iter()
                .find_map(|r| {
                    let (s, code) = hs_codes(r, element).into_iter().next()?;
                    Some((r, s?, code))
                })
                .expect("a social equipment with a clientèle")
        } else {
            some_coding(&c, "HealthcareService", element)
        };
        let pid = id(pick);
        let value = format!("{system}|{code}");
        c.expect(
            "HealthcareService",
            &[(param, &value)],
            |r| has_system_code(&hs_codes(r, element), &system, &code),
            &[pid],
        )
        .await;
        c.expect(
            "HealthcareService",
            &[(param, &code)],
            |r| has_code(&hs_codes(r, element), &code),
            &[pid],
        )
        .await;
        c.expect(
            "HealthcareService",
            &[(&format!("{param}:not"), &value)],
            |r| !has_system_code(&hs_codes(r, element), &system, &code),
            &[],
        )
        .await;
        c.expect(
            "HealthcareService",
            &[(&format!("{param}:missing"), "true")],
            |r| hs_codes(r, element).is_empty(),
            &[],
        )
        .await;
    }
    // R209 `21` (accueil de jour) in characteristic: only social equipment has R209 codes.
    let day_care = c.corpus.of("HealthcareService").iter().find(|r| {
        codings(&r["characteristic"])
            .iter()
            .any(|(s, code)| code == "21" && s.as_deref().is_some_and(|s| s.contains("TRE_R209")))
    });
    if let Some(day_care) = day_care {
        let system = codings(&day_care["characteristic"])
            .into_iter()
            .find_map(|(s, code)| (code == "21").then_some(s).flatten())
            .unwrap();
        c.expect(
            "HealthcareService",
            &[("characteristic", &format!("{system}|21"))],
            |r| has_system_code(&codings(&r["characteristic"]), &system, "21"),
            &[id(day_care)],
        )
        .await;
    }
    // `active`: false for a social equipment the file marks deleted (`indsupinst = O`).
    for value in ["true", "false"] {
        c.expect(
            "HealthcareService",
            &[("active", value)],
            |r| r["active"].to_string() == value,
            &[],
        )
        .await;
    }
    // `identifier`: no healthcare service carries one (D1, D3).
    c.expect_none("HealthcareService", &[("identifier:missing", "false")])
        .await;
}

#[tokio::test]
async fn device_tokens_and_strings() {
    let c = ctx();
    let (pick, system, code) = some_coding(&c, "Device", "type");
    let value = format!("{system}|{code}");
    c.expect(
        "Device",
        &[("type", &value)],
        |r| has_system_code(&codings(&r["type"]), &system, &code),
        &[id(pick)],
    )
    .await;
    // The client: `Device?type=…|05602` (scanners).
    let scanners = format!("{system}|05602");
    c.expect(
        "Device",
        &[("type", &scanners)],
        |r| has_system_code(&codings(&r["type"]), &system, "05602"),
        &[],
    )
    .await;
    // The ARHGOS authorisation number.
    let with_arhgos = c
        .corpus
        .of("Device")
        .iter()
        .find(|d| !identifiers(d).is_empty())
        .expect("a Device with an ARHGOS number");
    let number = identifiers(with_arhgos)[0].clone();
    c.expect(
        "Device",
        &[("identifier", &number.value)],
        |r| identifiers(r).iter().any(|i| i.value == number.value),
        &[id(with_arhgos)],
    )
    .await;
    c.expect(
        "Device",
        &[(
            "identifier",
            &format!("https://arhgos.ars.sante.fr|{}", number.value),
        )],
        |r| {
            identifiers(r).iter().any(|i| {
                i.value == number.value
                    && i.system.as_deref() == Some("https://arhgos.ars.sante.fr")
            })
        },
        &[id(with_arhgos)],
    )
    .await;
    // status: a code without system.
    c.expect_all("Device", &[("status", "active")]).await;
    c.expect_none("Device", &[("status", "inactive")]).await;
    c.expect_all("Device", &[("status:not", "inactive")]).await;
    // The file gives neither a manufacturer nor a model: answered, never matched.
    for (param, value) in [
        ("model", "x"),
        ("manufacturer", "x"),
        ("model:contains", "scan"),
    ] {
        c.expect_none("Device", &[(param, value)]).await;
    }
    c.expect_all("Device", &[("model:missing", "true")]).await;
}

#[tokio::test]
async fn references_chains_and_has_of_the_finess_services() {
    let c = ctx();
    for (rtype, element) in [("HealthcareService", "providedBy"), ("Device", "owner")] {
        let pick = c
            .corpus
            .of(rtype)
            .iter()
            .find(|r| reference(r, element).is_some())
            .unwrap_or_else(|| panic!("a {rtype} with its {element}"));
        let target = reference(pick, element).unwrap();
        let org = c.corpus.get(
            "Organization",
            target.strip_prefix("Organization/").unwrap(),
        );
        c.expect(
            rtype,
            &[("organization", &target)],
            |r| reference(r, element).as_deref() == Some(target.as_str()),
            &[id(pick)],
        )
        .await;
        // Chains: the establishment's city, and a département by postcode prefix.
        let orgs_where = |pred: &dyn Fn(&Value) -> bool| -> BTreeSet<String> {
            c.corpus
                .of("Organization")
                .iter()
                .filter(|o| pred(o))
                .map(|o| format!("Organization/{}", id(o)))
                .collect()
        };
        let city = address_field(org, "city")
            .into_iter()
            .next()
            .expect("an establishment with a city");
        let in_city = orgs_where(&|o| starts(&address_field(o, "city"), &city));
        c.expect(
            rtype,
            &[("organization.address-city", &city)],
            |r| reference(r, element).is_some_and(|t| in_city.contains(&t)),
            &[id(pick)],
        )
        .await;
        let postcode = address_field(org, "postalCode")
            .into_iter()
            .next()
            .expect("an establishment with a postcode");
        let departement = chars(&postcode, 0, 2);
        let in_departement = orgs_where(&|o| starts(&address_field(o, "postalCode"), &departement));
        c.expect(
            rtype,
            &[("organization.address-postalcode", &departement)],
            |r| reference(r, element).is_some_and(|t| in_departement.contains(&t)),
            &[id(pick)],
        )
        .await;
    }
    // `_has`: the establishments providing a given activity.
    let (_, system, code) = some_coding(&c, "HealthcareService", "type");
    let providers: BTreeSet<String> = c
        .corpus
        .of("HealthcareService")
        .iter()
        .filter(|r| has_system_code(&codings(&r["type"]), &system, &code))
        .filter_map(|r| reference(r, "providedBy"))
        .collect();
    let must: Vec<&str> = providers
        .iter()
        .take(1)
        .map(|t| t.strip_prefix("Organization/").unwrap())
        .collect();
    c.expect(
        "Organization",
        &[(
            "_has:HealthcareService:organization:service-type",
            &format!("{system}|{code}"),
        )],
        |o| providers.contains(&format!("Organization/{}", id(o))),
        &must,
    )
    .await;
    let (_, system, code) = some_coding(&c, "Device", "type");
    let owners: BTreeSet<String> = c
        .corpus
        .of("Device")
        .iter()
        .filter(|r| has_system_code(&codings(&r["type"]), &system, &code))
        .filter_map(|r| reference(r, "owner"))
        .collect();
    c.expect(
        "Organization",
        &[("_has:Device:organization:type", &format!("{system}|{code}"))],
        |o| owners.contains(&format!("Organization/{}", id(o))),
        &[],
    )
    .await;
}

/// `(Type/id)` of the entries of a search mode.
fn of_mode(bundle: &Value, mode: &str) -> BTreeSet<String> {
    resources_with_mode(bundle, mode)
        .iter()
        .map(|r| format!("{}/{}", r["resourceType"].as_str().unwrap(), id(r)))
        .collect()
}

#[tokio::test]
async fn includes_and_revincludes_both_ways() {
    let c = ctx();
    for (rtype, element) in [("HealthcareService", "providedBy"), ("Device", "owner")] {
        let pick = &c.corpus.of(rtype)[0];
        let target = reference(pick, element).unwrap();
        let bundle = search(
            &c.client,
            &c.app,
            rtype,
            &[
                ("_id", id(pick)),
                ("_include", &format!("{rtype}:organization")),
            ],
        )
        .await;
        assert_eq!(
            of_mode(&bundle, "include"),
            set(&[target.as_str()]),
            "{rtype}"
        );
        // And back: the establishment with everything of this type pointing at it.
        let org_id = target.strip_prefix("Organization/").unwrap();
        let expected: BTreeSet<String> = c
            .corpus
            .of(rtype)
            .iter()
            .filter(|r| reference(r, element).as_deref() == Some(target.as_str()))
            .map(|r| format!("{rtype}/{}", id(r)))
            .collect();
        let bundle = search(
            &c.client,
            &c.app,
            "Organization",
            &[
                ("_id", org_id),
                ("_revinclude", &format!("{rtype}:organization")),
                ("_count", "1"),
            ],
        )
        .await;
        assert_eq!(of_mode(&bundle, "include"), expected, "{rtype} of {target}");
    }
}

#[tokio::test]
async fn profile_is_a_uri_matched_with_or_without_its_version() {
    let c = ctx();
    for rtype in TYPES {
        let resources = c.corpus.of(rtype);
        let claimed: BTreeSet<String> = resources.iter().flat_map(claims).collect();
        assert!(!claimed.is_empty(), "{rtype} claims profiles");
        for claim in &claimed {
            assert!(
                claim.contains('|'),
                "{rtype} claims {claim} with its version"
            );
            let url = unversioned(claim).to_owned();
            // Whole, with its `|`: not split as a token's system|code.
            c.expect(
                rtype,
                &[("_profile", claim)],
                |r| claims(r).contains(claim),
                &[],
            )
            .await;
            // The bare url: every version.
            c.expect(
                rtype,
                &[("_profile", &url)],
                |r| claims(r).iter().any(|x| unversioned(x) == url),
                &[],
            )
            .await;
            // Another version: nothing.
            c.expect_none(rtype, &[("_profile", &format!("{url}|0.0.1"))])
                .await;
        }
        // `:below`: the claims starting with the value (some practitioners claim only the
        // fr-core profile, not an ANS one).
        c.expect(
            rtype,
            &[("_profile:below", AS)],
            |r| claims(r).iter().any(|x| x.starts_with(AS)),
            &[],
        )
        .await;
        c.expect_all(rtype, &[("_profile:missing", "false")]).await;
        c.expect_none(rtype, &[("_profile", "a|b")]).await;
        c.expect_none(rtype, &[("_profile", &format!("{AS}as"))])
            .await;
    }
    // The two kinds of HealthcareService, told apart by their claim.
    let social = format!("{AS}as-dp-healthcareservice-social-equipment");
    for value in [social.clone(), format!("{social}|{IG_VERSION}")] {
        c.expect(
            "HealthcareService",
            &[("_profile", &value)],
            |r| claims(r).iter().any(|x| unversioned(x) == social),
            &[],
        )
        .await;
    }
    let activity = format!("{AS}as-healthcareservice-healthcare-activity");
    let activities = c
        .expect(
            "HealthcareService",
            &[("_profile", &activity)],
            |r| claims(r).iter().any(|x| unversioned(x) == activity),
            &[],
        )
        .await;
    assert!(
        activities.iter().all(|id| id.starts_with("asr-")),
        "{activities:?}"
    );
}

#[tokio::test]
async fn sorting_summary_elements_and_total_of_the_finess_services() {
    let c = ctx();
    // `_sort=service-type`: by code, then system; resources without one last.
    let sorted = all_matches(
        &c.client,
        &c.app,
        "HealthcareService",
        &[("_sort", "service-type")],
    )
    .await;
    assert_eq!(sorted.len(), c.corpus.of("HealthcareService").len());
    let key = |r: &Value| {
        codings(&r["type"])
            .into_iter()
            .map(|(s, code)| (code, s.unwrap_or_default()))
            .min()
    };
    for pair in sorted.windows(2) {
        let (a, b) = (key(&pair[0]), key(&pair[1]));
        let ordered = match (&a, &b) {
            (Some(a), Some(b)) => a <= b,
            (Some(_), None) | (None, None) => true,
            (None, Some(_)) => false,
        };
        assert!(
            ordered,
            "{} ({a:?}) before {} ({b:?})",
            id(&pair[0]),
            id(&pair[1])
        );
    }
    let newest_first =
        all_matches(&c.client, &c.app, "Device", &[("_sort", "-_lastUpdated")]).await;
    assert_eq!(newest_first.len(), c.corpus.of("Device").len());

    // `_summary=true`: exactly the summary elements of R4 (plus id and meta).
    for (rtype, summary) in [
        (
            "HealthcareService",
            &[
                "identifier",
                "active",
                "providedBy",
                "category",
                "type",
                "specialty",
                "location",
                "name",
                "comment",
                "photo",
            ][..],
        ),
        ("Device", &["udiCarrier", "status", "safety"][..]),
    ] {
        let full = &c.corpus.of(rtype)[0];
        let bundle = search(
            &c.client,
            &c.app,
            rtype,
            &[("_id", id(full)), ("_summary", "true")],
        )
        .await;
        let resource = &entries(&bundle)[0]["resource"];
        let keys: BTreeSet<String> = resource.as_object().unwrap().keys().cloned().collect();
        let expected: BTreeSet<String> = full
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| {
                ["resourceType", "id", "meta", "implicitRules"].contains(&k.as_str())
                    || summary.contains(&k.as_str())
            })
            .cloned()
            .collect();
        assert_eq!(keys, expected, "{rtype} _summary=true");
        for k in summary {
            assert_eq!(resource[k], full[k], "{rtype}.{k}");
        }
    }
    let hs = c
        .corpus
        .of("HealthcareService")
        .iter()
        .find(|r| r.get("type").is_some())
        .unwrap();
    let bundle = search(
        &c.client,
        &c.app,
        "HealthcareService",
        &[("_id", id(hs)), ("_elements", "type,providedBy")],
    )
    .await;
    let resource = &entries(&bundle)[0]["resource"];
    let keys: BTreeSet<String> = resource.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        set(&["resourceType", "id", "meta", "type", "providedBy"])
    );
    assert_eq!(resource["type"], hs["type"]);
    // `_total=accurate` on a page smaller than the result.
    let bundle = search(
        &c.client,
        &c.app,
        "Device",
        &[("_total", "accurate"), ("_count", "1")],
    )
    .await;
    assert_eq!(
        bundle["total"].as_u64(),
        Some(c.corpus.of("Device").len() as u64)
    );
}
