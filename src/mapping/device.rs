//! FINESS heavy equipment -> Device (docs/mapping.md).
//!
//! A unit claims `as-dp-device` when the file gives its ARHGOS authorisation number (the
//! profile requires it as `identifier:numAutorisationArhgos`), the generic `as-device`
//! otherwise (D2). It is owned by its FINESS establishment (`Organization/eg-<nofinesset>`).
//! The file gives no manufacturer, model or serial number: they stay absent.
//!
//! The body here is the contract's minimal resource (id, profile, provenance, the ARHGOS
//! identifier, `status`, `owner`); the type, extensions and dates are mapped per
//! docs/mapping.md.

use fhir_json::Device;
use fhir_json::codes::FHIRDeviceStatus;

use super::elements::{DataTrace, SourceSystem, claimed_as, identifier, meta, reference};
use super::ids;
use super::nos;
use crate::extract::finess::HeavyEquipment;
use crate::fhir::{FhirId, ResourceType};

/// The claim of a unit whose ARHGOS number is known (D2).
pub const DP_CLAIM: &str = "as-dp-device";
/// The claim of a unit without ARHGOS number (D2).
pub const GENERIC_CLAIM: &str = "as-device";

/// A heavy equipment unit of an establishment.
pub fn from_heavy_equipment(equipment: &HeavyEquipment) -> (FhirId, Device) {
    let id = ids::heavy_equipment(
        &equipment.nofinesset,
        &equipment.eml,
        &equipment.noautor,
        &equipment.noimplarhgos,
    );
    let arhgos = (!equipment.noautorarhgos.is_empty())
        .then(|| identifier(nos::SYSTEM_ARHGOS, None, &equipment.noautorarhgos, false));
    let claim = if arhgos.is_some() {
        DP_CLAIM
    } else {
        GENERIC_CLAIM
    };
    let trace = DataTrace {
        authority: None,
        system: SourceSystem::Finess,
        updated: None,
    };
    let device = Device::builder()
        .id(id.to_string())
        .meta(meta(&claimed_as(ResourceType::Device, claim), &trace))
        .language(nos::LANGUAGE.to_owned())
        .identifier(arhgos.into_iter().map(Some).collect())
        .status(FHIRDeviceStatus::Active)
        .owner(reference(format!(
            "Organization/{}",
            ids::establishment(&equipment.nofinesset)
        )))
        .build()
        .expect("Device has no required field");
    (id, device)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(noautorarhgos: &str) -> HeavyEquipment {
        HeavyEquipment {
            nofinessej: "690000000".into(),
            eml: "05602".into(),
            noautor: "123".into(),
            noautorarhgos: noautorarhgos.into(),
            noimplarhgos: "84-82-1".into(),
            nofinesset: "690000001".into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_claim_follows_the_arhgos_number() {
        let (id, device) = from_heavy_equipment(&unit("84-82-48769"));
        assert!(id.starts_with("eml-"), "{id}");
        let json = serde_json::to_value(&device).unwrap();
        assert!(
            json["meta"]["profile"][0]
                .as_str()
                .unwrap()
                .ends_with("/as-dp-device|1.2.0-snapshot-2")
        );
        assert_eq!(
            json["identifier"],
            serde_json::json!([{"system": "https://arhgos.ars.sante.fr", "value": "84-82-48769"}])
        );
        assert_eq!(json["status"], "active");
        assert_eq!(json["owner"]["reference"], "Organization/eg-690000001");
        assert!(json.get("manufacturer").is_none() && json.get("modelNumber").is_none());

        let json = serde_json::to_value(from_heavy_equipment(&unit("")).1).unwrap();
        assert!(
            json["meta"]["profile"][0]
                .as_str()
                .unwrap()
                .ends_with("/as-device|1.2.0-snapshot-2")
        );
        assert!(json.get("identifier").is_none());
    }
}
