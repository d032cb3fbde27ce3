//! FINESS authorised healthcare activities and social equipment -> HealthcareService
//! (docs/mapping.md).
//!
//! Healthcare activities claim the generic `as-healthcareservice-healthcare-activity`: the
//! open file gives no ARHGOS number, which the as-dp profile requires (D1). Social equipment
//! claims `as-dp-healthcareservice-social-equipment` (D3). Both are provided by their FINESS
//! establishment (`Organization/eg-<nofinesset>`).
//!
//! The bodies here are the contract's minimal resources (id, profile, provenance, `active`,
//! `providedBy`); the codes, extensions and dates are mapped per docs/mapping.md.

use fhir_json::HealthcareService;

use super::elements::{DataTrace, SourceSystem, claimed_as, meta, reference};
use super::ids;
use super::nos;
use crate::extract::finess::{CareActivity, SocialEquipment};
use crate::fhir::{FhirId, ResourceType};

/// The claim of every healthcare activity (D1).
pub const ACTIVITY_CLAIM: &str = "as-healthcareservice-healthcare-activity";
/// The claim of every social equipment (D3).
pub const SOCIAL_EQUIPMENT_CLAIM: &str = "as-dp-healthcareservice-social-equipment";

/// An authorised healthcare activity of an establishment.
pub fn from_care_activity(activity: &CareActivity) -> (FhirId, HealthcareService) {
    let id = ids::care_activity(
        &activity.nofinesset,
        &activity.activite,
        &activity.modalite,
        &activity.forme,
    );
    let resource = provided_by(&id, ACTIVITY_CLAIM, &activity.nofinesset);
    (id, resource)
}

/// A social or medico-social equipment of an establishment.
pub fn from_social_equipment(equipment: &SocialEquipment) -> (FhirId, HealthcareService) {
    let id = ids::social_equipment(
        &equipment.nofinesset,
        &equipment.de,
        &equipment.ta,
        &equipment.client,
    );
    let resource = provided_by(&id, SOCIAL_EQUIPMENT_CLAIM, &equipment.nofinesset);
    (id, resource)
}

/// The elements every FINESS HealthcareService has: id, meta (the claim named `claim`, FINESS
/// provenance), language, `active` and the establishment providing it.
fn provided_by(id: &FhirId, claim: &str, nofinesset: &str) -> HealthcareService {
    let trace = DataTrace {
        authority: None,
        system: SourceSystem::Finess,
        updated: None,
    };
    HealthcareService::builder()
        .id(id.to_string())
        .meta(meta(
            &claimed_as(ResourceType::HealthcareService, claim),
            &trace,
        ))
        .language(nos::LANGUAGE.to_owned())
        .active(true)
        .provided_by(reference(format!(
            "Organization/{}",
            ids::establishment(nofinesset)
        )))
        .build()
        .expect("HealthcareService has no required field")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activities_and_social_equipment_claim_their_profiles() {
        let activity = CareActivity {
            nofinesset: "690000001".into(),
            activite: "01".into(),
            modalite: "02".into(),
            forme: "07".into(),
            ..Default::default()
        };
        let (id, resource) = from_care_activity(&activity);
        assert_eq!(id.as_str(), "asr-690000001-01-02-07");
        let json = serde_json::to_value(&resource).unwrap();
        assert_eq!(
            json["meta"]["profile"],
            serde_json::json!([
                "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-healthcareservice-healthcare-activity|1.2.0-snapshot-2"
            ])
        );
        assert_eq!(json["active"], true);
        assert_eq!(json["providedBy"]["reference"], "Organization/eg-690000001");

        let equipment = SocialEquipment {
            nofinesset: "690000002".into(),
            de: "924".into(),
            ta: "21".into(),
            client: "436".into(),
            ..Default::default()
        };
        let (id, resource) = from_social_equipment(&equipment);
        assert_eq!(id.as_str(), "ess-690000002-924-21-436");
        let json = serde_json::to_value(&resource).unwrap();
        assert!(
            json["meta"]["profile"][0]
                .as_str()
                .unwrap()
                .contains("as-dp-healthcareservice-social-equipment|")
        );
        assert!(json.get("identifier").is_none(), "max 0 in the DP profile");
    }
}
