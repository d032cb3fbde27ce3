//! The profiles the server claims, read from the constraint files in `profiles/` (compiled in).
//!
//! `profiles/*.json` are extracted from the ANS StructureDefinitions by `profiles/extract.py`;
//! the profile checker of the interoperability suite reads the same files. Taking the claims
//! from them (rather than from string constants) means a new IG version is one regeneration
//! away, and the claims cannot drift from what the checks check.

use std::sync::LazyLock;

use serde::Deserialize;

use crate::fhir::ResourceType;

const PRACTITIONER: &str = include_str!("../profiles/as-dp-practitioner.json");
const PRACTITIONER_ROLE: &str = include_str!("../profiles/as-dp-practitionerrole.json");
const ORGANIZATION: &str = include_str!("../profiles/as-dp-organization.json");

/// What a resource type claims: its ANS `as-dp-*` profile and the fr-core base profile that
/// the as-dp profile requires in `meta.profile` (slice `fr-canonical`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileClaim {
    /// The as-dp profile's canonical URL, without version (CapabilityStatement `profile`).
    pub url: String,
    /// `url|version` of the as-dp profile, as claimed in `meta.profile`.
    pub canonical: String,
    /// `url|version` of the fr-core profile the as-dp profile derives from.
    pub base_canonical: String,
}

impl ProfileClaim {
    /// `supportedProfile` of the CapabilityStatement: the base profile, then the as-dp one.
    pub fn supported(&self) -> Vec<String> {
        vec![self.base_canonical.clone(), self.canonical.clone()]
    }
}

/// The part of a constraint file the claims need.
#[derive(Deserialize)]
struct ProfileFile {
    url: String,
    version: String,
    #[serde(rename = "type")]
    resource_type: String,
    elements: Vec<ElementFile>,
}

#[derive(Deserialize)]
struct ElementFile {
    id: String,
    #[serde(rename = "patternCanonical")]
    pattern_canonical: Option<String>,
}

fn parse(text: &str, expected: ResourceType) -> ProfileClaim {
    let file: ProfileFile = serde_json::from_str(text).expect("profiles/*.json is valid JSON");
    assert_eq!(file.resource_type, expected.as_str(), "profile file type");
    // The as-dp profiles slice meta.profile: `fr-canonical` fixes the fr-core claim.
    let slice_id = format!("{}.meta.profile:fr-canonical", expected.as_str());
    let base_canonical = file
        .elements
        .into_iter()
        .find(|e| e.id == slice_id)
        .and_then(|e| e.pattern_canonical)
        .unwrap_or_else(|| panic!("{slice_id} has a patternCanonical"));
    ProfileClaim {
        canonical: format!("{}|{}", file.url, file.version),
        url: file.url,
        base_canonical,
    }
}

static PRACTITIONER_CLAIM: LazyLock<ProfileClaim> =
    LazyLock::new(|| parse(PRACTITIONER, ResourceType::Practitioner));
static PRACTITIONER_ROLE_CLAIM: LazyLock<ProfileClaim> =
    LazyLock::new(|| parse(PRACTITIONER_ROLE, ResourceType::PractitionerRole));
static ORGANIZATION_CLAIM: LazyLock<ProfileClaim> =
    LazyLock::new(|| parse(ORGANIZATION, ResourceType::Organization));

/// The profiles claimed for `rtype`.
pub fn claim(rtype: ResourceType) -> &'static ProfileClaim {
    match rtype {
        ResourceType::Practitioner => &PRACTITIONER_CLAIM,
        ResourceType::PractitionerRole => &PRACTITIONER_ROLE_CLAIM,
        ResourceType::Organization => &ORGANIZATION_CLAIM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn file(rtype: ResourceType) -> Value {
        let text = match rtype {
            ResourceType::Practitioner => PRACTITIONER,
            ResourceType::PractitionerRole => PRACTITIONER_ROLE,
            ResourceType::Organization => ORGANIZATION,
        };
        serde_json::from_str(text).unwrap()
    }

    /// The claims are the files' `url|version`, and the as-dp profile's own `meta.profile`
    /// slice pattern (`as-dp-canonical`) agrees with it.
    #[test]
    fn claims_equal_the_files_url_and_version() {
        for rtype in ResourceType::ALL {
            let f = file(rtype);
            let claim = claim(rtype);
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
        }
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
            claim(ResourceType::PractitionerRole).base_canonical,
            "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-practitioner-role|2.2.0"
        );
        assert_eq!(
            claim(ResourceType::Organization).supported(),
            [
                "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-organization|2.2.0",
                "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-organization|1.2.0-snapshot-2"
            ]
        );
    }
}
