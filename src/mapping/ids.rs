//! Resource ids: deterministic, derived from business identifiers only, so the same
//! professional or establishment keeps its id across imports (the ANS API's ids change; ours
//! must not).
//!
//! | resource | id |
//! |---|---|
//! | Practitioner | `pp-` + Identification nationale PP + `-` + Code profession |
//! | PractitionerRole | `se-` + 32 hex digits of SHA-256 of the `idSituationExercice` value |
//! | Organization, FINESS establishment | `eg-` + FINESS site number |
//! | Organization, FINESS legal entity | `ej-` + FINESS legal entity number |
//! | Organization, RPPS structure without FINESS site | `st-` + Identifiant technique de la structure |
//! | HealthcareService, healthcare activity | `asr-` + `<nofinesset>-<activite>-<modalite>-<forme>` (no `noautor`: a renewed authorisation keeps its id) |
//! | HealthcareService, social equipment | `ess-` + `<nofinesset>-<de>-<ta>-<client>` (the FINESS equipment key) |
//! | Device, heavy equipment | `eml-` + 32 hex digits of SHA-256 of `EML/<nofinesset>/<eml>/<noautor>/<noimplarhgos>` |
//!
//! A business identifier holding a character a FHIR id cannot (`[A-Za-z0-9.-]`, 64 at most) is
//! replaced by `h` + 32 hex digits of its SHA-256, which is just as stable.

use crate::extract::rpps::{RppsRow, StructureKey};
use crate::fhir::FhirId;

pub fn practitioner(national_id: &str, profession: &str) -> FhirId {
    FhirId::from_business_identifier("pp-", &format!("{national_id}-{profession}"))
}

pub fn role(activity_identifier: &str) -> FhirId {
    FhirId::hashed("se-", activity_identifier)
}

pub fn establishment(nofinesset: &str) -> FhirId {
    FhirId::from_business_identifier("eg-", nofinesset)
}

pub fn legal_entity(nofinessej: &str) -> FhirId {
    FhirId::from_business_identifier("ej-", nofinessej)
}

pub fn rpps_structure(structure_id: &str) -> FhirId {
    FhirId::from_business_identifier("st-", structure_id)
}

/// A FINESS authorised healthcare activity, keyed by its establishment and (activity,
/// modality, form): its authorisation number is left out so that a renewal keeps the id.
pub fn care_activity(nofinesset: &str, activite: &str, modalite: &str, forme: &str) -> FhirId {
    FhirId::from_business_identifier(
        "asr-",
        &format!("{nofinesset}-{activite}-{modalite}-{forme}"),
    )
}

/// A FINESS social equipment, keyed as FINESS keys it: establishment, discipline, type of
/// activity, clientèle.
pub fn social_equipment(nofinesset: &str, de: &str, ta: &str, client: &str) -> FhirId {
    FhirId::from_business_identifier("ess-", &format!("{nofinesset}-{de}-{ta}-{client}"))
}

/// A FINESS heavy equipment unit: establishment, equipment code and both authorisation
/// numbers, hashed (the ARHGOS numbers hold characters and lengths ids need not carry).
pub fn heavy_equipment(nofinesset: &str, eml: &str, noautor: &str, noimplarhgos: &str) -> FhirId {
    FhirId::hashed(
        "eml-",
        &format!("EML/{nofinesset}/{eml}/{noautor}/{noimplarhgos}"),
    )
}

/// The Organization an activity takes place in: its FINESS site if any, else its RPPS
/// structure.
pub fn organization_of_activity(row: &RppsRow<'_>) -> Option<FhirId> {
    row.structure_key().map(|key| organization(&key))
}

pub fn organization(key: &StructureKey<'_>) -> FhirId {
    match key {
        StructureKey::FinessSite(finess) => establishment(finess),
        StructureKey::Rpps(structure) => rpps_structure(structure),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_rule() {
        assert_eq!(
            practitioner("819990000017", "10").as_str(),
            "pp-819990000017-10"
        );
        assert_eq!(establishment("219990001").as_str(), "eg-219990001");
        assert_eq!(legal_entity("2A0000123").as_str(), "ej-2A0000123");
        assert_eq!(
            rpps_structure("C19990000017001").as_str(),
            "st-C19990000017001"
        );
        let role_id = role("SE/819990000017/C19990000017001/FON-01/L/GENR01/");
        assert_eq!(role_id.len(), 3 + 32);
        assert_eq!(
            role_id,
            role("SE/819990000017/C19990000017001/FON-01/L/GENR01/")
        );
    }

    #[test]
    fn finess_service_ids_follow_their_keys() {
        assert_eq!(
            care_activity("690000001", "01", "02", "07").as_str(),
            "asr-690000001-01-02-07"
        );
        assert_eq!(
            social_equipment("690000001", "924", "21", "436").as_str(),
            "ess-690000001-924-21-436"
        );
        // An empty form still gives a valid id, distinct from any other form.
        assert_eq!(
            care_activity("690000001", "01", "02", "").as_str(),
            "asr-690000001-01-02-"
        );
        let device = heavy_equipment("690000001", "05602", "123", "84-82-48769");
        assert!(
            device.starts_with("eml-") && device.len() == 4 + 32,
            "{device}"
        );
        assert_eq!(
            device,
            heavy_equipment("690000001", "05602", "123", "84-82-48769")
        );
        assert_ne!(
            device,
            heavy_equipment("690000001", "05701", "123", "84-82-48769")
        );
    }

    #[test]
    fn unusable_characters_are_hashed() {
        let odd = rpps_structure("C 123/4");
        assert!(odd.starts_with("st-h") && odd.len() == 4 + 32, "{odd}");
        assert_eq!(odd, rpps_structure("C 123/4"));
    }
}
