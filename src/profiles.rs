//! The profiles the server claims, read from the constraint files in `profiles/` (compiled in).
//!
//! `profiles/*.json` are extracted from the ANS StructureDefinitions by `profiles/extract.py`;
//! the profile checker of the interoperability suite reads the same files. Taking the claims
//! from them (rather than from string constants) means a new IG version is one regeneration
//! away, and the claims cannot drift from what the checks check.

use std::sync::LazyLock;

use serde::Deserialize;

use crate::fhir::ResourceType;

mod constraints;
mod findings;
mod primitives;
mod validation;
mod walk;

pub use findings::{Finding, Kind, Rule, Severity, Shape};
pub use validation::{Target, ValidateError, Validation, element_shape, issue, outcome, validate};

const PRACTITIONER: &str = include_str!("../profiles/as-dp-practitioner.json");
const PRACTITIONER_ROLE: &str = include_str!("../profiles/as-dp-practitionerrole.json");
const ORGANIZATION: &str = include_str!("../profiles/as-dp-organization.json");
const HEALTHCARE_ACTIVITY: &str =
    include_str!("../profiles/as-dp-healthcareservice-healthcare-activity.json");
const SOCIAL_EQUIPMENT: &str =
    include_str!("../profiles/as-dp-healthcareservice-social-equipment.json");
const DEVICE: &str = include_str!("../profiles/as-dp-device.json");

/// The constraint files of `rtype`'s as-dp profiles (HealthcareService has two: healthcare
/// activities and social equipment).
fn files(rtype: ResourceType) -> &'static [&'static str] {
    match rtype {
        ResourceType::Practitioner => &[PRACTITIONER],
        ResourceType::PractitionerRole => &[PRACTITIONER_ROLE],
        ResourceType::Organization => &[ORGANIZATION],
        ResourceType::HealthcareService => &[HEALTHCARE_ACTIVITY, SOCIAL_EQUIPMENT],
        ResourceType::Device => &[DEVICE],
    }
}

/// What a resource can claim in `meta.profile`: an ANS profile and, when that profile requires
/// one (slice `fr-canonical` of the as-dp profiles of the first three types), the fr-core base
/// profile beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileClaim {
    /// The ANS profile's canonical URL, without version (CapabilityStatement `profile`).
    pub url: String,
    /// `url|version` of the ANS profile, as claimed in `meta.profile`.
    pub canonical: String,
    /// `url|version` of the fr-core profile claimed beside it; `None` for the types fr-core
    /// does not profile (HealthcareService, Device) and for the generic ANS profiles.
    pub base_canonical: Option<String>,
}

impl ProfileClaim {
    /// The last segment of the URL (`as-dp-device`): how mapping code names a claim.
    pub fn name(&self) -> &str {
        self.url.rsplit('/').next().unwrap_or(&self.url)
    }

    /// `meta.profile` of a resource making this claim: the base profile first when there is
    /// one, then the ANS profile.
    pub fn claimed(&self) -> Vec<&str> {
        self.base_canonical
            .iter()
            .chain(std::iter::once(&self.canonical))
            .map(String::as_str)
            .collect()
    }
}

/// The part of a constraint file the claims need.
#[derive(Deserialize)]
struct ProfileFile {
    url: String,
    version: String,
    #[serde(rename = "type")]
    resource_type: String,
    /// The generic ANS profile (`as-device|…`) or the ANS base of an as-dp profile.
    #[serde(rename = "baseDefinition")]
    base_definition: String,
    elements: Vec<ElementFile>,
}

#[derive(Deserialize)]
struct ElementFile {
    id: String,
    #[serde(rename = "patternCanonical")]
    pattern_canonical: Option<String>,
}

/// One as-dp profile read from its file: its own claim, and the generic ANS profile it
/// derives from (what a resource lacking a DP-required element claims instead).
struct DpProfile {
    claim: ProfileClaim,
    generic: ProfileClaim,
}

fn parse(text: &str, expected: ResourceType) -> DpProfile {
    let file: ProfileFile = serde_json::from_str(text).expect("profiles/*.json is valid JSON");
    assert_eq!(file.resource_type, expected.as_str(), "profile file type");
    // The as-dp profiles of types fr-core profiles slice meta.profile: `fr-canonical` fixes
    // the fr-core claim. HealthcareService and Device have no such slice.
    let slice_id = format!("{}.meta.profile:fr-canonical", expected.as_str());
    let base_canonical = file
        .elements
        .into_iter()
        .find(|e| e.id == slice_id)
        .map(|e| {
            e.pattern_canonical
                .unwrap_or_else(|| panic!("{slice_id} has a patternCanonical"))
        });
    let generic_url = file
        .base_definition
        .split('|')
        .next()
        .unwrap_or_default()
        .to_owned();
    DpProfile {
        claim: ProfileClaim {
            canonical: format!("{}|{}", file.url, file.version),
            url: file.url,
            base_canonical,
        },
        generic: ProfileClaim {
            url: generic_url,
            canonical: file.base_definition,
            base_canonical: None,
        },
    }
}

/// Per type (in [`ResourceType::ALL`] order), its as-dp profiles in [`files`] order.
static DP_PROFILES: LazyLock<Vec<Vec<DpProfile>>> = LazyLock::new(|| {
    ResourceType::ALL
        .iter()
        .map(|rtype| files(*rtype).iter().map(|f| parse(f, *rtype)).collect())
        .collect()
});

/// Per type, every claim its resources may make.
static CLAIMS: LazyLock<Vec<Vec<ProfileClaim>>> = LazyLock::new(|| {
    ResourceType::ALL
        .iter()
        .map(|rtype| {
            let dp = dp_profiles(*rtype);
            let mut claims: Vec<ProfileClaim> = dp.iter().map(|p| p.claim.clone()).collect();
            claims.extend(
                dp.iter()
                    .filter(|p| generic_claimed(&p.generic))
                    .map(|p| p.generic.clone()),
            );
            claims
        })
        .collect()
});

/// The generic profiles some resources claim instead of the as-dp one (docs/mapping.md):
/// healthcare activities (no ARHGOS number in the open file, D1) and heavy equipment without
/// an ARHGOS number (docs/mapping.md A28). The first three types always claim their as-dp profile, or (ADELI
/// persons) its fr-core base alone; social equipment always claims its as-dp profile (docs/mapping.md A29).
fn generic_claimed(generic: &ProfileClaim) -> bool {
    ["as-healthcareservice-healthcare-activity", "as-device"].contains(&generic.name())
}

fn dp_profiles(rtype: ResourceType) -> &'static [DpProfile] {
    let index = ResourceType::ALL
        .iter()
        .position(|t| *t == rtype)
        .expect("every type is in ALL");
    &DP_PROFILES[index]
}

/// Every claim a resource of `rtype` may make: its as-dp profiles first, then the generic
/// ones some of its resources fall back to.
pub fn claims(rtype: ResourceType) -> &'static [ProfileClaim] {
    let index = ResourceType::ALL
        .iter()
        .position(|t| *t == rtype)
        .expect("every type is in ALL");
    &CLAIMS[index]
}

/// The as-dp claim of `rtype`, for the types that have one as-dp profile (every type but
/// HealthcareService, which names its claim with [`claim_named`]).
pub fn claim(rtype: ResourceType) -> &'static ProfileClaim {
    match dp_profiles(rtype) {
        [one] => &one.claim,
        _ => panic!("{rtype} has several as-dp profiles: name the claim"),
    }
}

/// The claim of `rtype` whose URL ends with `/name` (`as-dp-device`, `as-device`). A name
/// that is not among [`claims`] is a programming error, caught by the tests of its caller.
pub fn claim_named(rtype: ResourceType, name: &str) -> &'static ProfileClaim {
    claims(rtype)
        .iter()
        .find(|c| c.name() == name)
        .unwrap_or_else(|| panic!("{rtype} makes no claim named {name}"))
}

/// `supportedProfile` of the CapabilityStatement: for each as-dp profile, the profile it is
/// built on (the fr-core base when it requires one, else the generic ANS profile), then itself.
pub fn supported(rtype: ResourceType) -> Vec<String> {
    dp_profiles(rtype)
        .iter()
        .flat_map(|p| {
            let base = p
                .claim
                .base_canonical
                .clone()
                .unwrap_or_else(|| p.generic.canonical.clone());
            [base, p.claim.canonical.clone()]
        })
        .collect()
}

/// `profile` of the CapabilityStatement: the one as-dp profile of `rtype` (URL without
/// version); `None` when it has several (HealthcareService: activities and social
/// equipment), which `supportedProfile` lists.
pub fn profile(rtype: ResourceType) -> Option<&'static str> {
    match dp_profiles(rtype) {
        [one] => Some(one.claim.url.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The claims are the files' `url|version`, and the as-dp profile's own `meta.profile`
    /// slice pattern (`as-dp-canonical`) agrees with it.
    #[test]
    fn claims_equal_the_files_url_and_version() {
        for rtype in ResourceType::ALL {
            for (text, dp) in files(rtype).iter().zip(dp_profiles(rtype)) {
                check_claim_against_file(rtype, serde_json::from_str(text).unwrap(), &dp.claim);
            }
        }
    }

    fn check_claim_against_file(rtype: ResourceType, f: Value, claim: &ProfileClaim) {
        let expected = format!(
            "{}|{}",
            f["url"].as_str().unwrap(),
            f["version"].as_str().unwrap()
        );
        assert_eq!(claim.canonical, expected, "{rtype}");
        assert_eq!(claim.url, f["url"].as_str().unwrap(), "{rtype}");
        let slice = format!("{rtype}.meta.profile:as-dp-canonical");
        let own = f["elements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == slice.as_str())
            .unwrap();
        assert_eq!(own["patternCanonical"], expected.as_str(), "{rtype}");
        assert_eq!(
            claims(rtype).iter().find(|c| c.canonical == expected),
            Some(claim),
            "{rtype}: every as-dp profile is a claim"
        );
    }

    /// Pins today's IG (1.2.0-snapshot-2 on fr-core 2.2.0): regenerating the files for a new
    /// IG version must be a deliberate change, seen in this test.
    #[test]
    fn claims_are_the_ig_1_2_0_snapshot_2_profiles() {
        assert_eq!(
            claim(ResourceType::Practitioner).canonical,
            "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-practitioner|1.2.0-snapshot-2"
        );
        assert_eq!(
            claim(ResourceType::PractitionerRole)
                .base_canonical
                .as_deref(),
            Some("https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-practitioner-role|2.2.0")
        );
        assert_eq!(
            supported(ResourceType::Organization),
            [
                "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-organization|2.2.0",
                "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-organization|1.2.0-snapshot-2"
            ]
        );
    }

    const AS: &str = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/";

    fn versioned(names: &[&str]) -> Vec<String> {
        names
            .iter()
            .map(|n| format!("{AS}{n}|1.2.0-snapshot-2"))
            .collect()
    }

    /// HealthcareService and Device have no fr-core profile: one claim each, no base. The
    /// generic profiles are claimable where docs/mapping.md says so (D1, D2), and supported.
    #[test]
    fn the_finess_service_types_claim_ans_profiles_alone() {
        assert_eq!(
            supported(ResourceType::HealthcareService),
            versioned(&[
                "as-healthcareservice-healthcare-activity",
                "as-dp-healthcareservice-healthcare-activity",
                "as-healthcareservice-social-equipment",
                "as-dp-healthcareservice-social-equipment",
            ])
        );
        assert_eq!(
            supported(ResourceType::Device),
            versioned(&["as-device", "as-dp-device"])
        );
        assert_eq!(profile(ResourceType::HealthcareService), None);
        assert_eq!(
            profile(ResourceType::Device),
            Some(format!("{AS}as-dp-device").as_str())
        );
        assert_eq!(
            profile(ResourceType::Organization),
            Some(format!("{AS}as-dp-organization").as_str())
        );
        let names: Vec<&str> = claims(ResourceType::HealthcareService)
            .iter()
            .map(ProfileClaim::name)
            .collect();
        assert_eq!(
            names,
            [
                "as-dp-healthcareservice-healthcare-activity",
                "as-dp-healthcareservice-social-equipment",
                "as-healthcareservice-healthcare-activity"
            ]
        );
        assert_eq!(
            claim_named(ResourceType::Device, "as-dp-device").claimed(),
            versioned(&["as-dp-device"])
        );
        assert_eq!(
            claim_named(ResourceType::Device, "as-device").claimed(),
            versioned(&["as-device"])
        );
        assert_eq!(
            claim(ResourceType::Practitioner).claimed().len(),
            2,
            "fr-core base, then as-dp"
        );
    }
}
