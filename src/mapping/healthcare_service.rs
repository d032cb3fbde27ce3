//! FINESS authorised healthcare activities and social equipment -> HealthcareService
//! (docs/mapping.md §5b and decisions A27, A29, A30, A31).
//!
//! Healthcare activities claim the generic `as-healthcareservice-healthcare-activity`: the
//! open file gives no ARHGOS number, which the as-dp profile requires (A27); otherwise they are
//! shaped as the as-dp profile wants them (no name, no specialty). Social equipment claims
//! `as-dp-healthcareservice-social-equipment` (A29) and carries the file's legacy discipline and
//! clientèle codes, never a guessed translation to the FINESS+ lists. Both are provided by their
//! FINESS establishment (`Organization/eg-<nofinesset>`). An empty field gives no element.

use fhir_json::types::{CodeableConcept, Extension, ExtensionValue, Period, Quantity, Range};
use fhir_json::{HealthcareService, HealthcareServiceEligibility};

use super::elements::{
    DataTrace, SourceSystem, claimed_as, complex_extension, extension, full_date, meta,
    nos_concept, reference,
};
use super::ids;
use super::nos;
use crate::extract::finess::{CareActivity, SocialEquipment};
use crate::fhir::{FhirId, ResourceType};

/// The claim of every healthcare activity (A27).
pub const ACTIVITY_CLAIM: &str = "as-healthcareservice-healthcare-activity";
/// The claim of every social equipment (A29).
pub const SOCIAL_EQUIPMENT_CLAIM: &str = "as-dp-healthcareservice-social-equipment";

/// An authorised healthcare activity of an establishment: activity in `type` (the
/// `type:activity` slice), modality in `category`, form in `characteristic`, the authorisation
/// date in `as-ext-authorization`. The authorisation number (`noautor`, probable in meaning, with
/// no identifier system) is left out (A27).
pub fn from_care_activity(activity: &CareActivity) -> (FhirId, HealthcareService) {
    let id = ids::care_activity(
        &activity.nofinesset,
        &activity.activite,
        &activity.modalite,
        &activity.forme,
    );
    let authorization = Authorization {
        date: &activity.dateautor,
        ..Authorization::default()
    };
    let service = Service {
        claim: ACTIVITY_CLAIM,
        nofinesset: &activity.nofinesset,
        updated: None,
        extensions: authorization.extension().into_iter().collect(),
        active: true,
        category: nos_codes(nos::MODALITE_ACTIVITE, &activity.modalite),
        types: nos_codes(nos::ACTIVITE_SANITAIRE, &activity.activite),
        eligibility: Vec::new(),
        characteristic: nos_codes(nos::FORME_ACTIVITE, &activity.forme),
    };
    let resource = service.build(&id);
    (id, resource)
}

/// A social or medico-social equipment of an establishment: discipline in `type`, clientèle in
/// `eligibility.code`, type of activity in `characteristic`, and the authorisation,
/// installation, age ranges and capacities in the profile's four extensions, each only when the
/// file gives one of its values. `active` is false when the installation is deleted (A31).
pub fn from_social_equipment(equipment: &SocialEquipment) -> (FhirId, HealthcareService) {
    let id = ids::social_equipment(
        &equipment.nofinesset,
        &equipment.de,
        &equipment.ta,
        &equipment.client,
    );
    let authorization = Authorization {
        date: &equipment.dateautor,
        updated: &equipment.datemajaut,
        deleted: &equipment.indsupaut,
        ..Authorization::default()
    };
    let extensions = [
        authorization.extension(),
        installation(equipment),
        patient_type(equipment),
        supported_capacity(equipment),
    ];
    let eligibility = nos_codes(nos::CLIENTELE, &equipment.client)
        .into_iter()
        .map(|code| {
            HealthcareServiceEligibility::builder()
                .code(code)
                .build()
                .expect("HealthcareServiceEligibility has no required field")
        })
        .collect();
    let service = Service {
        claim: SOCIAL_EQUIPMENT_CLAIM,
        nofinesset: &equipment.nofinesset,
        updated: later_date(&equipment.datemajinst, &equipment.datemajaut),
        extensions: extensions.into_iter().flatten().collect(),
        active: flag(&equipment.indsupinst) != Some(true),
        category: Vec::new(),
        types: nos_codes(nos::DISCIPLINE_SOCIALE, &equipment.de),
        eligibility,
        characteristic: nos_codes(nos::TYPE_ACTIVITE_SOCIALE, &equipment.ta),
    };
    let resource = service.build(&id);
    (id, resource)
}

/// What a FINESS HealthcareService is made of, before it is built.
struct Service<'a> {
    /// The name of the profile claimed ([`ACTIVITY_CLAIM`], [`SOCIAL_EQUIPMENT_CLAIM`]).
    claim: &'static str,
    nofinesset: &'a str,
    /// The data-trace `date-maj-ae`.
    updated: Option<&'a str>,
    extensions: Vec<Extension>,
    active: bool,
    category: Vec<CodeableConcept>,
    types: Vec<CodeableConcept>,
    eligibility: Vec<HealthcareServiceEligibility>,
    characteristic: Vec<CodeableConcept>,
}

impl Service<'_> {
    fn build(self, id: &FhirId) -> HealthcareService {
        let trace = DataTrace {
            authority: None,
            system: SourceSystem::Finess,
            updated: self.updated,
        };
        let some = |concepts: Vec<CodeableConcept>| concepts.into_iter().map(Some).collect();
        HealthcareService::builder()
            .id(id.to_string())
            .meta(meta(
                &claimed_as(ResourceType::HealthcareService, self.claim),
                &trace,
            ))
            .language(nos::LANGUAGE.to_owned())
            .extension(self.extensions)
            .active(self.active)
            .provided_by(reference(format!(
                "Organization/{}",
                ids::establishment(self.nofinesset)
            )))
            .category(some(self.category))
            .r#type(some(self.types))
            .eligibility(self.eligibility.into_iter().map(Some).collect())
            .characteristic(some(self.characteristic))
            .build()
            .expect("HealthcareService has no required field")
    }
}

/// One CodeableConcept with `code` in a NOS terminology, or none when the code is empty.
fn nos_codes(terminology: &str, code: &str) -> Vec<CodeableConcept> {
    if code.is_empty() {
        Vec::new()
    } else {
        vec![nos_concept(terminology, code)]
    }
}

/// A FINESS `O`/`N` flag (oui / non); `None` for anything else.
fn flag(value: &str) -> Option<bool> {
    match value {
        "O" => Some(true),
        "N" => Some(false),
        _ => None,
    }
}

/// The later of two dates, each used only when it is a full ISO date.
fn later_date<'a>(a: &'a str, b: &'a str) -> Option<&'a str> {
    let valid = |d: &'a str| full_date(d).is_some().then_some(d);
    // ISO dates sort as text.
    valid(a).into_iter().chain(valid(b)).max()
}

/// A sub-extension named `url` holding `value`.
fn part(url: &str, value: ExtensionValue) -> Extension {
    extension(url, value)
}

/// A complex extension of its parts, or none when no part has a value.
fn parts_extension(url: &str, parts: Vec<Option<Extension>>) -> Option<Extension> {
    let parts: Vec<Extension> = parts.into_iter().flatten().collect();
    (!parts.is_empty()).then(|| complex_extension(url, parts))
}

fn date_part(url: &str, date: &str) -> Option<Extension> {
    full_date(date).map(|d| part(url, ExtensionValue::Date(d)))
}

fn flag_part(url: &str, value: &str) -> Option<Extension> {
    flag(value).map(|b| part(url, ExtensionValue::Boolean(b)))
}

/// A capacity: an unsigned integer that fits FHIR's `integer`; anything else is left out.
fn integer_part(url: &str, value: &str) -> Option<Extension> {
    let number: u32 = value.parse().ok()?;
    let number = i32::try_from(number).ok()?;
    Some(part(url, ExtensionValue::Integer(number)))
}

/// The `as-ext-authorization` values a FINESS line gives (sub-extensions in the profile's
/// order).
#[derive(Default)]
pub(super) struct Authorization<'a> {
    /// `dateAuthorization` (`dateautor`).
    pub date: &'a str,
    /// `periodAuthorization.start`: first put into service (`datemeo`).
    pub in_service: &'a str,
    /// `dateUpdateAuthorization` (`datemajaut`).
    pub updated: &'a str,
    /// `deletedAuthorization`, an `O`/`N` flag (`indsupaut`).
    pub deleted: &'a str,
}

impl Authorization<'_> {
    /// The extension, or none when the line gives none of its values.
    pub fn extension(&self) -> Option<Extension> {
        let period = full_date(self.in_service).map(|start| {
            let period = Period::builder()
                .start(fhir_json::DateTime::Date(start))
                .build()
                .expect("Period has no required field");
            part("periodAuthorization", ExtensionValue::Period(period))
        });
        parts_extension(
            nos::EXT_AUTHORIZATION,
            vec![
                date_part("dateAuthorization", self.date),
                period,
                date_part("dateUpdateAuthorization", self.updated),
                flag_part("deletedAuthorization", self.deleted),
            ],
        )
    }
}

/// `as-ext-installation`: the last installation date and the deleted flag. The file's
/// `datepremautor` is a first *authorisation* date, not a first installation: left out.
fn installation(equipment: &SocialEquipment) -> Option<Extension> {
    parts_extension(
        nos::EXT_INSTALLATION,
        vec![
            date_part("dateLastInstallation", &equipment.datederinst),
            flag_part("deletedInstallation", &equipment.indsupinst),
        ],
    )
}

/// An age in years (UCUM `a`), the bound of an age range.
fn age(value: &str) -> Option<Quantity> {
    let years: u32 = value.parse().ok()?;
    Some(
        Quantity::builder()
            .value(f64::from(years))
            .unit("a".to_owned())
            .system(nos::UCUM.to_owned())
            .code("a".to_owned())
            .build()
            .expect("Quantity has no required field"),
    )
}

/// An age range sub-extension, or none when neither bound is a number.
fn age_range(url: &str, low: &str, high: &str) -> Option<Extension> {
    let (low, high) = (age(low), age(high));
    if low.is_none() && high.is_none() {
        return None;
    }
    let mut range = Range::builder();
    if let Some(low) = low {
        range = range.low(low);
    }
    if let Some(high) = high {
        range = range.high(high);
    }
    let range = range.build().expect("Range has no required field");
    Some(part(url, ExtensionValue::Range(range)))
}

/// `as-ext-patient-type`: the authorised and installed age ranges.
fn patient_type(equipment: &SocialEquipment) -> Option<Extension> {
    parts_extension(
        nos::EXT_PATIENT_TYPE,
        vec![
            age_range(
                "authorizedAgeRange",
                &equipment.ageminiaut,
                &equipment.agemaxiaut,
            ),
            age_range(
                "installedAgeRange",
                &equipment.ageminiinst,
                &equipment.agemaxiinst,
            ),
        ],
    )
}

/// `as-ext-supported-capacity`: authorised capacities (`capaut*`), then installed ones
/// (`capinst*`): total, women, men, places habilitated for social assistance (`hab`).
fn supported_capacity(equipment: &SocialEquipment) -> Option<Extension> {
    let e = equipment;
    parts_extension(
        nos::EXT_SUPPORTED_CAPACITY,
        vec![
            integer_part("capacityAvailable", &e.capautot),
            integer_part("femaleCapacityAvailable", &e.capautf),
            integer_part("maleCapacityAvailable", &e.capautm),
            integer_part("socialAssistanceCapacityAvailable", &e.capauthab),
            integer_part("installedCapacity", &e.capinstot),
            integer_part("femaleInstalledCapacity", &e.capinstf),
            integer_part("maleInstalledCapacity", &e.capinstm),
            integer_part("socialAssistanceInstalledCapacity", &e.capinsthab),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn activity() -> CareActivity {
        CareActivity {
            nofinessej: "690000000".into(),
            activite: "01".into(),
            libactivite: "Médecine".into(),
            modalite: "02".into(),
            forme: "07".into(),
            dateautor: "2019-05-06".into(),
            nofinesset: "690000001".into(),
            ..Default::default()
        }
    }

    fn equipment() -> SocialEquipment {
        SocialEquipment {
            nofinesset: "690000002".into(),
            de: "924".into(),
            ta: "21".into(),
            client: "436".into(),
            capinstot: "12".into(),
            indsupinst: "N".into(),
            ..Default::default()
        }
    }

    fn json_of(resource: &HealthcareService) -> Value {
        serde_json::to_value(resource).unwrap()
    }

    #[test]
    fn activities_claim_the_generic_profile_and_carry_their_three_codes() {
        let (id, resource) = from_care_activity(&activity());
        assert_eq!(id.as_str(), "asr-690000001-01-02-07");
        let json = json_of(&resource);
        assert_eq!(
            json["meta"]["profile"],
            json!([
                "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-healthcareservice-healthcare-activity|1.2.0-snapshot-2"
            ])
        );
        assert_eq!(json["active"], true);
        assert_eq!(json["providedBy"]["reference"], "Organization/eg-690000001");
        let system = |v: &Value| v["coding"][0]["system"].as_str().unwrap().to_owned();
        assert!(system(&json["type"][0]).ends_with("/TRE-R274-ActiviteSanitaireRegulee"));
        assert!(system(&json["category"][0]).ends_with("/TRE-R275-ModaliteActivite"));
        assert!(system(&json["characteristic"][0]).ends_with("/TRE-R276-FormeActivite"));
        assert_eq!(json["extension"][0]["url"], nos::EXT_AUTHORIZATION);
        assert_eq!(
            json["extension"][0]["extension"],
            json!([{"url": "dateAuthorization", "valueDate": "2019-05-06"}])
        );
        for absent in ["identifier", "specialty", "name", "eligibility"] {
            assert!(json.get(absent).is_none(), "{absent}");
        }
    }

    #[test]
    fn an_empty_form_gives_no_characteristic_and_no_date_no_extension() {
        let mut activity = activity();
        activity.forme.clear();
        activity.dateautor = "06/05/2019".into(); // not ISO: the reader converts, or it is not a date
        let json = json_of(&from_care_activity(&activity).1);
        assert!(json.get("characteristic").is_none(), "{json}");
        assert!(json.get("extension").is_none(), "{json}");
        assert!(json.get("type").is_some() && json.get("category").is_some());
    }

    #[test]
    fn social_equipment_has_no_identifier_and_carries_the_legacy_codes() {
        let (id, resource) = from_social_equipment(&equipment());
        assert_eq!(id.as_str(), "ess-690000002-924-21-436");
        let json = json_of(&resource);
        assert!(
            json["meta"]["profile"][0]
                .as_str()
                .unwrap()
                .ends_with("/as-dp-healthcareservice-social-equipment|1.2.0-snapshot-2")
        );
        assert!(json.get("identifier").is_none(), "max 0 in the DP profile");
        assert!(json.get("category").is_none(), "max 0 in the DP profile");
        assert_eq!(
            json["type"][0]["coding"][0]["system"],
            nos::nos(nos::DISCIPLINE_SOCIALE)
        );
        assert_eq!(
            json["eligibility"][0]["code"]["coding"][0],
            json!({"system": nos::nos(nos::CLIENTELE), "code": "436"})
        );
        assert_eq!(
            json["characteristic"][0]["coding"][0]["system"],
            nos::nos(nos::TYPE_ACTIVITE_SOCIALE)
        );
        assert_eq!(json["active"], true);
        // Only the confirmed columns: the installed capacity and the deleted flag.
        assert_eq!(
            json["extension"],
            json!([
                {"url": nos::EXT_INSTALLATION,
                 "extension": [{"url": "deletedInstallation", "valueBoolean": false}]},
                {"url": nos::EXT_SUPPORTED_CAPACITY,
                 "extension": [{"url": "installedCapacity", "valueInteger": 12}]},
            ])
        );
    }

    #[test]
    fn a_deleted_installation_is_inactive() {
        let mut equipment = equipment();
        equipment.indsupinst = "O".into();
        assert_eq!(
            json_of(&from_social_equipment(&equipment).1)["active"],
            false
        );
        equipment.indsupinst.clear();
        assert_eq!(
            json_of(&from_social_equipment(&equipment).1)["active"],
            true
        );
    }

    #[test]
    fn age_ranges_are_in_ucum_years_and_bounds_are_optional() {
        let mut equipment = equipment();
        equipment.ageminiaut = "60".into();
        equipment.agemaxiaut = "".into();
        equipment.ageminiinst = "0".into();
        equipment.agemaxiinst = "17".into();
        let json = json_of(&from_social_equipment(&equipment).1);
        let patient_type = json["extension"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["url"] == nos::EXT_PATIENT_TYPE)
            .expect("patient type");
        let year = |n: f64| json!({"value": n, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"});
        assert_eq!(
            patient_type["extension"],
            json!([
                {"url": "authorizedAgeRange", "valueRange": {"low": year(60.0)}},
                {"url": "installedAgeRange", "valueRange": {"low": year(0.0), "high": year(17.0)}},
            ])
        );
    }

    #[test]
    fn the_trace_date_is_the_later_update() {
        assert_eq!(later_date("2024-01-02", "2023-12-31"), Some("2024-01-02"));
        assert_eq!(later_date("", "2023-12-31"), Some("2023-12-31"));
        assert_eq!(later_date("x", ""), None);
        assert_eq!(integer_part("installedCapacity", "-3"), None);
        assert_eq!(integer_part("installedCapacity", "3000000000"), None);
    }
}
