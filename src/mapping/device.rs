//! FINESS heavy equipment -> Device (docs/mapping.md §5c, decision A28).
//!
//! A unit claims `as-dp-device` when the file gives its ARHGOS authorisation number (the
//! profile requires it as `identifier:numAutorisationArhgos`), the generic `as-device`
//! otherwise (A28). It is owned by its FINESS establishment (`Organization/eg-<nofinesset>`),
//! typed with its TRE_R272 code, and carries its authorisation date and first putting into
//! service in `as-ext-authorization`. The file gives no manufacturer, model or serial number:
//! they stay absent.

use fhir_json::Device;
use fhir_json::codes::FHIRDeviceStatus;

use super::elements::{
    DataTrace, SourceSystem, claimed_as, identifier, meta, nos_concept, reference,
};
use super::healthcare_service::Authorization;
use super::ids;
use super::nos;
use crate::extract::finess::HeavyEquipment;
use crate::fhir::{FhirId, ResourceType};

/// The claim of a unit whose ARHGOS number is known (A28).
pub const DP_CLAIM: &str = "as-dp-device";
/// The claim of a unit without ARHGOS number (A28).
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
    let authorization = Authorization {
        date: &equipment.dateautor,
        in_service: &equipment.datemeo,
        ..Authorization::default()
    };
    let mut builder = Device::builder()
        .id(id.to_string())
        .meta(meta(&claimed_as(ResourceType::Device, claim), &trace))
        .language(nos::LANGUAGE.to_owned())
        .extension(authorization.extension().into_iter().collect())
        .identifier(arhgos.into_iter().map(Some).collect())
        .status(FHIRDeviceStatus::Active);
    if !equipment.eml.is_empty() {
        builder = builder.r#type(nos_concept(nos::EQUIPEMENT_LOURD, &equipment.eml));
    }
    let device = builder
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
            dateautor: "2015-03-02".into(),
            nofinesset: "690000001".into(),
            datemeo: "2016-01-04".into(),
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
        for absent in ["manufacturer", "modelNumber", "serialNumber", "active"] {
            assert!(json.get(absent).is_none(), "{absent}");
        }
        assert_eq!(
            json["type"]["coding"][0],
            serde_json::json!({"system": nos::nos(nos::EQUIPEMENT_LOURD), "code": "05602"})
        );
        assert_eq!(
            json["extension"],
            serde_json::json!([{
                "url": nos::EXT_AUTHORIZATION,
                "extension": [
                    {"url": "dateAuthorization", "valueDate": "2015-03-02"},
                    {"url": "periodAuthorization", "valuePeriod": {"start": "2016-01-04"}},
                ],
            }])
        );

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
