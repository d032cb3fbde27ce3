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
    fn unusable_characters_are_hashed() {
        let odd = rpps_structure("C 123/4");
        assert!(odd.starts_with("st-h") && odd.len() == 4 + 32, "{odd}");
        assert_eq!(odd, rpps_structure("C 123/4"));
    }
}
