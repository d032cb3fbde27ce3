//! What Pro Santé Connect says of a professional (`SubjectNameID`, `SubjectRole`,
//! `SubjectRefPro`), read from an ID token's and userinfo's claims, and how that compares with
//! what the directory serves. See plan D7–D8 (#28).
//!
//! PSC's claims are not ours to trust in shape: sandbox and production accounts differ, some
//! clients receive `SubjectRefPro` as a JSON string holding the object, values may be empty
//! strings. Reading is lenient: what is missing or malformed is skipped, never a panic.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::mapping::nos;
use crate::search::fold::fold;

/// The claims of a signed-in professional, typed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PscClaims {
    /// `SubjectNameID` (else `preferred_username` when it has a national id's shape): the
    /// national identifier, `8` + RPPS or `0` + ADELI.
    pub national_id: Option<String>,
    /// `given_name` (état civil).
    pub given_name: Option<String>,
    /// `family_name` (état civil).
    pub family_name: Option<String>,
    /// Profession codes (TRE_G15) from `SubjectRole` (`10^1.2.250.1.213.1.1.5.5` → `10`).
    pub professions: Vec<String>,
    /// `SubjectRefPro.exercices[]`: one per profession the person practises.
    pub practices: Vec<Practice>,
}

/// One `exercice professionnel` of `SubjectRefPro` (the RPPS extraction's columns).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Practice {
    /// `codeProfession` (TRE_G15).
    pub profession: Option<String>,
    /// `codeCategorieProfessionnelle` (TRE_R09).
    pub category: Option<String>,
    /// `codeCiviliteDexercice`.
    pub civility: Option<String>,
    /// `nomDexercice`: the name the directory shows.
    pub family_name: Option<String>,
    /// `prenomDexercice`.
    pub given_name: Option<String>,
    /// `codeTypeSavoirFaire` (TRE_R04).
    pub skill_type: Option<String>,
    /// `codeSavoirFaire`.
    pub skill: Option<String>,
    pub activities: Vec<Activity>,
}

/// One `situation d'exercice` (`activities[]`): where and how the profession is practised.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    /// `codeModeExercice` (TRE_R23: L, S, B).
    pub mode: Option<String>,
    /// `codeSecteurDactivite` (TRE_R02).
    pub sector: Option<String>,
    /// `codeSectionPharmacien`.
    pub pharmacist_section: Option<String>,
    /// `codeRole` (TRE_R21).
    pub role: Option<String>,
    /// `codeGenreActivite` (TRE_R22).
    pub genre: Option<String>,
    /// `identifiantTechniqueDeLaStructure`: the RPPS structure id (Organization `rppsRang`).
    pub structure_id: Option<String>,
    /// `numeroFinessSite`.
    pub finess_site: Option<String>,
    /// `numeroFinessetablissementJuridique`.
    pub finess_legal: Option<String>,
    /// `numeroSiretSite`.
    pub siret: Option<String>,
    /// `numeroSirenSite`.
    pub siren: Option<String>,
    /// `raisonSocialeSite`.
    pub name: Option<String>,
    /// `enseigneCommercialeSite`.
    pub commercial_sign: Option<String>,
    pub address: Address,
    /// `codeDepartement`.
    pub department: Option<String>,
}

/// The structure's address parts, as PSC gives them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// `numeroVoie`.
    pub number: Option<String>,
    /// `indiceRepetitionVoie`.
    pub repetition: Option<String>,
    /// `codeTypeDeVoie`.
    pub street_type: Option<String>,
    /// `libelleVoie`.
    pub street: Option<String>,
    /// `mentionDistribution`.
    pub distribution: Option<String>,
    /// `bureauCedex`.
    pub cedex: Option<String>,
    /// `codePostal`.
    pub postal_code: Option<String>,
    /// `codeCommune`.
    pub city_code: Option<String>,
    /// `codePays`.
    pub country_code: Option<String>,
}

impl PscClaims {
    /// Reads the claims of an ID token merged with userinfo. Never fails: a claim that is
    /// absent or not of the expected shape is left out.
    pub fn from_claims(claims: &Map<String, Value>) -> PscClaims {
        let national_id = text(claims, "SubjectNameID")
            .or_else(|| text(claims, "preferred_username").filter(|name| is_national_id(name)));
        PscClaims {
            national_id,
            given_name: text(claims, "given_name"),
            family_name: text(claims, "family_name"),
            professions: professions(claims.get("SubjectRole")),
            practices: practices(claims.get("SubjectRefPro")),
        }
    }

    /// Every activity of every practice.
    pub fn activities(&self) -> impl Iterator<Item = &Activity> {
        self.practices.iter().flat_map(|p| p.activities.iter())
    }
}

impl Activity {
    /// How the page names the structure: its name, else its sign, else an identifier.
    pub fn label(&self) -> String {
        [
            &self.name,
            &self.commercial_sign,
            &self.structure_id,
            &self.finess_site,
            &self.siret,
        ]
        .into_iter()
        .flatten()
        .next()
        .cloned()
        .unwrap_or_else(|| "une structure sans nom".into())
    }
}

/// The directory identifier a national id (`SubjectNameID`) names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryIdentifier {
    pub system: &'static str,
    pub value: String,
}

impl DirectoryIdentifier {
    /// As a token search value: `system|value`.
    pub fn token(&self) -> String {
        format!("{}|{}", self.system, self.value)
    }
}

/// The Practitioner identifier a `SubjectNameID` is: the directory writes the whole national
/// id (`8` + RPPS, `0` + ADELI) as `identifier:idNatPs` (see `mapping::practitioner`).
pub fn directory_identifier(national_id: &str) -> Option<DirectoryIdentifier> {
    is_national_id(national_id).then(|| DirectoryIdentifier {
        system: nos::SYSTEM_IDNPS,
        value: national_id.to_string(),
    })
}

/// `8` + 11 digits (RPPS) or `0` + 9 digits (ADELI): the two kinds of national id a
/// professional signs in with (ANS `PsIdType`: RPPS "8", ADELI "0").
pub fn is_national_id(value: &str) -> bool {
    let digits = value.bytes().all(|b| b.is_ascii_digit());
    digits
        && match value.as_bytes().first() {
            Some(b'8') => value.len() == 12,
            Some(b'0') => value.len() == 10,
            _ => false,
        }
}

/// A claim's text, trimmed; numbers are taken as their digits; empty is absent.
fn text(claims: &Map<String, Value>, key: &str) -> Option<String> {
    let value = match claims.get(key)? {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!value.is_empty()).then_some(value)
}

/// `SubjectRole`: a list (or one string) of `code^OID`; the codes, once each, in order.
fn professions(role: Option<&Value>) -> Vec<String> {
    let values: Vec<&Value> = match role {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(single @ Value::String(_)) => vec![single],
        _ => Vec::new(),
    };
    let mut codes: Vec<String> = Vec::new();
    for value in values {
        let Some(text) = value.as_str() else { continue };
        let code = text.split('^').next().unwrap_or("").trim();
        if !code.is_empty() && !codes.iter().any(|c| c == code) {
            codes.push(code.to_string());
        }
    }
    codes
}

/// `SubjectRefPro`, an object or a JSON string holding one: its `exercices`.
fn practices(reference: Option<&Value>) -> Vec<Practice> {
    let parsed;
    let object = match reference {
        Some(Value::Object(object)) => object,
        Some(Value::String(encoded)) => match serde_json::from_str::<Value>(encoded) {
            Ok(Value::Object(object)) => {
                parsed = object;
                &parsed
            }
            _ => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    objects(object.get("exercices")).map(practice).collect()
}

/// The objects of an array claim; anything else in it is skipped.
fn objects(value: Option<&Value>) -> impl Iterator<Item = &Map<String, Value>> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

fn practice(object: &Map<String, Value>) -> Practice {
    Practice {
        profession: text(object, "codeProfession"),
        category: text(object, "codeCategorieProfessionnelle"),
        civility: text(object, "codeCiviliteDexercice"),
        family_name: text(object, "nomDexercice"),
        given_name: text(object, "prenomDexercice"),
        skill_type: text(object, "codeTypeSavoirFaire"),
        skill: text(object, "codeSavoirFaire"),
        activities: objects(object.get("activities")).map(activity).collect(),
    }
}

fn activity(object: &Map<String, Value>) -> Activity {
    Activity {
        mode: text(object, "codeModeExercice"),
        sector: text(object, "codeSecteurDactivite"),
        pharmacist_section: text(object, "codeSectionPharmacien"),
        role: text(object, "codeRole"),
        genre: text(object, "codeGenreActivite"),
        structure_id: text(object, "identifiantTechniqueDeLaStructure"),
        finess_site: text(object, "numeroFinessSite"),
        finess_legal: text(object, "numeroFinessetablissementJuridique"),
        siret: text(object, "numeroSiretSite"),
        siren: text(object, "numeroSirenSite"),
        name: text(object, "raisonSocialeSite"),
        commercial_sign: text(object, "enseigneCommercialeSite"),
        address: Address {
            number: text(object, "numeroVoie"),
            repetition: text(object, "indiceRepetitionVoie"),
            street_type: text(object, "codeTypeDeVoie"),
            street: text(object, "libelleVoie"),
            distribution: text(object, "mentionDistribution"),
            cedex: text(object, "bureauCedex"),
            postal_code: text(object, "codePostal"),
            city_code: text(object, "codeCommune"),
            country_code: text(object, "codePays"),
        },
        department: text(object, "codeDepartement"),
    }
}

// ---------------------------------------------------------------------------------------------
// What PSC says against what the directory serves (D8)
// ---------------------------------------------------------------------------------------------

/// What differs between PSC and the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DifferenceKind {
    /// An activity in `SubjectRefPro` with no active role at that structure.
    PracticeOnlyInPsc,
    /// An active role whose structure no PSC activity names.
    PracticeOnlyInDirectory,
    ProfessionDiffers,
    NameDiffers,
}

/// One difference, with both sides and a sentence in plain French for the page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    pub kind: DifferenceKind,
    pub psc: Option<String>,
    pub directory: Option<String>,
    pub text: String,
}

const G15_SYSTEM: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante";

/// Compares PSC's claims with the `$identify` Bundle of the same person (its Practitioners,
/// their active roles and the roles' Organizations). An empty Bundle (unknown professional)
/// gives no differences: the page says the directory does not know the number instead.
pub fn compare(claims: &PscClaims, bundle: &Value) -> Vec<Difference> {
    let directory = Directory::of(bundle);
    if directory.practitioners.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    out.extend(name_difference(claims, &directory));
    out.extend(profession_difference(claims, &directory));
    out.extend(practice_differences(claims, &directory));
    out
}

/// The resources of an `$identify` Bundle, by type.
struct Directory<'b> {
    practitioners: Vec<&'b Value>,
    roles: Vec<&'b Value>,
    organizations: Vec<&'b Value>,
}

impl<'b> Directory<'b> {
    fn of(bundle: &'b Value) -> Directory<'b> {
        let resources: Vec<&Value> = bundle["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| &entry["resource"])
            .collect();
        let of_type = |name: &str| {
            resources
                .iter()
                .copied()
                .filter(|r| r["resourceType"] == name)
                .collect::<Vec<_>>()
        };
        Directory {
            practitioners: of_type("Practitioner"),
            roles: of_type("PractitionerRole"),
            organizations: of_type("Organization"),
        }
    }

    fn organization(&self, reference: &str) -> Option<&'b Value> {
        let id = reference.rsplit('/').next()?;
        self.organizations.iter().copied().find(|o| o["id"] == id)
    }
}

/// `family given` of the usual name PSC gives (the practice's, else the état civil's).
fn psc_name(claims: &PscClaims) -> Option<(String, Option<String>)> {
    let practice = claims.practices.iter().find(|p| p.family_name.is_some());
    match practice {
        Some(p) => Some((p.family_name.clone()?, p.given_name.clone())),
        None => Some((claims.family_name.clone()?, claims.given_name.clone())),
    }
}

fn directory_names(directory: &Directory<'_>) -> Vec<(String, Option<String>)> {
    directory
        .practitioners
        .iter()
        .filter_map(|p| {
            let name = p["name"].get(0)?;
            let family = name["family"].as_str()?.to_string();
            let given = name["given"]
                .get(0)
                .and_then(Value::as_str)
                .map(String::from);
            Some((family, given))
        })
        .collect()
}

fn full_name((family, given): &(String, Option<String>)) -> String {
    match given {
        Some(given) => format!("{given} {family}"),
        None => family.clone(),
    }
}

/// Names are compared folded (case and accents), as a person would read them.
fn name_difference(claims: &PscClaims, directory: &Directory<'_>) -> Option<Difference> {
    let psc = psc_name(claims)?;
    let names = directory_names(directory);
    let same = |(family, given): &(String, Option<String>)| {
        fold(family) == fold(&psc.0)
            && match (given, &psc.1) {
                (Some(a), Some(b)) => fold(a) == fold(b),
                _ => true,
            }
    };
    if names.is_empty() || names.iter().any(same) {
        return None;
    }
    let (psc, directory) = (full_name(&psc), full_name(&names[0]));
    Some(Difference {
        kind: DifferenceKind::NameDiffers,
        text: format!(
            "Votre nom selon Pro Santé Connect : {psc} ; selon l'annuaire : {directory}."
        ),
        psc: Some(psc),
        directory: Some(directory),
    })
}

fn directory_professions(directory: &Directory<'_>) -> Vec<String> {
    let mut codes: Vec<String> = Vec::new();
    for practitioner in &directory.practitioners {
        for qualification in practitioner["qualification"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for coding in qualification["code"]["coding"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if coding["system"] == G15_SYSTEM
                    && let Some(code) = coding["code"].as_str()
                    && !codes.iter().any(|c| c == code)
                {
                    codes.push(code.to_string());
                }
            }
        }
    }
    codes.sort();
    codes
}

/// The professions PSC names: `SubjectRole`'s, and the practices' when it has none.
fn psc_professions(claims: &PscClaims) -> Vec<String> {
    let mut codes = claims.professions.clone();
    if codes.is_empty() {
        codes.extend(claims.practices.iter().filter_map(|p| p.profession.clone()));
    }
    codes.sort();
    codes.dedup();
    codes
}

fn profession_difference(claims: &PscClaims, directory: &Directory<'_>) -> Option<Difference> {
    let psc = psc_professions(claims);
    let ours = directory_professions(directory);
    if psc.is_empty() || ours.is_empty() || psc == ours {
        return None;
    }
    let (psc, ours) = (psc.join(", "), ours.join(", "));
    Some(Difference {
        kind: DifferenceKind::ProfessionDiffers,
        text: format!(
            "Profession (code) selon Pro Santé Connect : {psc} ; selon l'annuaire : {ours}."
        ),
        psc: Some(psc),
        directory: Some(ours),
    })
}

/// Whether an Organization carries this identifier (system and value).
fn has_identifier(organization: &Value, system: &str, value: &str) -> bool {
    organization["identifier"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|i| i["system"] == system && i["value"] == value)
}

/// An activity is at an Organization when the structure's RPPS id is its `rppsRang`, else its
/// FINESS site is the Organization's FINESS, else its SIRET is the Organization's (D8).
fn activity_at(activity: &Activity, organization: &Value) -> bool {
    let keys = [
        (nos::SYSTEM_RPPS_RANG, &activity.structure_id),
        (nos::SYSTEM_FINESS, &activity.finess_site),
        (nos::SYSTEM_SIRENE, &activity.siret),
    ];
    keys.iter().any(|(system, value)| {
        value
            .as_deref()
            .is_some_and(|v| has_identifier(organization, system, v))
    })
}

fn practice_differences(claims: &PscClaims, directory: &Directory<'_>) -> Vec<Difference> {
    let activities: Vec<&Activity> = claims.activities().collect();
    // Without any activity from PSC, every practice would be "only in the directory": that
    // says nothing about the person, only about the claims this provider sends.
    if activities.is_empty() {
        return Vec::new();
    }
    let practised: Vec<&Value> = directory
        .roles
        .iter()
        .filter(|role| role["active"] != false)
        .filter_map(|role| directory.organization(role["organization"]["reference"].as_str()?))
        .collect();
    let mut out = Vec::new();
    for activity in &activities {
        if !practised.iter().any(|o| activity_at(activity, o)) {
            let label = activity.label();
            out.push(Difference {
                kind: DifferenceKind::PracticeOnlyInPsc,
                text: format!(
                    "Pro Santé Connect indique une activité à « {label} » que l'annuaire ne montre pas."
                ),
                psc: Some(label),
                directory: None,
            });
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for organization in practised {
        let id = organization["id"].as_str().unwrap_or_default();
        if seen.contains(&id) || activities.iter().any(|a| activity_at(a, organization)) {
            continue;
        }
        seen.push(id);
        let name = organization["name"].as_str().unwrap_or(id).to_string();
        out.push(Difference {
            kind: DifferenceKind::PracticeOnlyInDirectory,
            text: format!(
                "L'annuaire indique une activité à « {name} » que Pro Santé Connect ne mentionne pas."
            ),
            psc: None,
            directory: Some(name),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The shape of a PSC sandbox userinfo (claims as the ANS `UserInfos` model names them),
    /// for the directory's golden practitioner 819990000017 (MARTINOT Claire, médecin).
    fn sandbox_userinfo() -> Value {
        serde_json::from_str(SANDBOX_USERINFO).expect("sample JSON")
    }

    const SANDBOX_USERINFO: &str = r#"{
    "sub": "f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:819990000017",
    "SubjectNameID": "819990000017",
    "preferred_username": "819990000017",
    "given_name": "CLAIRE",
    "family_name": "MARTINOT",
    "codeCivilite": "MME",
    "SubjectRole": ["10^1.2.250.1.213.1.1.5.5"],
    "Secteur_Activite": "SA07^1.2.250.1.71.4.2.4",
    "SubjectOrganization": "CABINET DU DR CLAIRE MARTINOT",
    "SubjectOrganizationID": "C19990000017001",
    "Palier_Authentification": "APPPRIP3^1.2.250.1.213.1.5.1.1.1",
    "otherIds": [{"identifiant": "819990000017", "origine": "EDIT", "qualite": 1}],
    "SubjectRefPro": {
        "codeCivilite": "MME",
        "exercices": [{
            "codeProfession": "10",
            "codeCategorieProfessionnelle": "C",
            "codeCiviliteDexercice": "DR",
            "nomDexercice": "MARTINOT",
            "prenomDexercice": "Claire",
            "codeTypeSavoirFaire": "S",
            "codeSavoirFaire": "SM54",
            "activities": [{
                "codeModeExercice": "L",
                "codeSecteurDactivite": "SA07",
                "codeSectionPharmacien": "",
                "codeRole": "FON-01",
                "codeGenreActivite": "GENR01",
                "numeroSiretSite": "",
                "numeroSirenSite": "",
                "numeroFinessSite": "",
                "numeroFinessetablissementJuridique": "",
                "identifiantTechniqueDeLaStructure": "C19990000017001",
                "raisonSocialeSite": "CABINET DU DR CLAIRE MARTINOT",
                "enseigneCommercialeSite": "",
                "numeroVoie": "12",
                "codeTypeDeVoie": "R",
                "libelleVoie": "DES LILAS",
                "codePostal": "75011",
                "codeCommune": "75111",
                "codePays": "99000",
                "telephone": "",
                "adresseEMail": "",
                "codeDepartement": "75"
            }]
        }]
    }
}"#;

    fn claims_of(value: Value) -> PscClaims {
        PscClaims::from_claims(value.as_object().expect("an object"))
    }

    fn golden(name: &str) -> Value {
        let path = format!(
            "{}/tests/fixtures/golden/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(&path).expect("a golden file"))
            .expect("golden JSON")
    }

    /// An `$identify` Bundle built from the mapping's golden resources: the practitioner,
    /// its cabinet role, and the cabinet.
    fn identify_bundle(extra: &[Value]) -> Value {
        let mut entries = vec![
            json!({"resource": golden("practitioner-819990000017-10.json"), "search": {"mode": "match"}}),
            json!({"resource": golden("practitionerrole-cabinet.json"), "search": {"mode": "include"}}),
            json!({"resource": golden("organization-st-C19990000017001.json"), "search": {"mode": "include"}}),
        ];
        entries.extend(extra.iter().cloned());
        json!({"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": entries})
    }

    #[test]
    fn the_sandbox_shape_is_read_whole() {
        let claims = claims_of(sandbox_userinfo());
        assert_eq!(claims.national_id.as_deref(), Some("819990000017"));
        assert_eq!(claims.given_name.as_deref(), Some("CLAIRE"));
        assert_eq!(claims.family_name.as_deref(), Some("MARTINOT"));
        assert_eq!(claims.professions, ["10"]);
        let practice = &claims.practices[0];
        assert_eq!(practice.profession.as_deref(), Some("10"));
        assert_eq!(practice.category.as_deref(), Some("C"));
        assert_eq!(practice.skill.as_deref(), Some("SM54"));
        let activity = &practice.activities[0];
        assert_eq!(activity.structure_id.as_deref(), Some("C19990000017001"));
        assert_eq!(activity.mode.as_deref(), Some("L"));
        assert_eq!(activity.genre.as_deref(), Some("GENR01"));
        assert_eq!(activity.address.postal_code.as_deref(), Some("75011"));
        assert_eq!(activity.department.as_deref(), Some("75"));
        // Empty strings are absent, not "".
        assert_eq!(activity.finess_site, None);
        assert_eq!(activity.pharmacist_section, None);
    }

    #[test]
    fn a_string_encoded_subject_ref_pro_is_read_like_an_object() {
        let mut userinfo = sandbox_userinfo();
        let encoded = userinfo["SubjectRefPro"].to_string();
        userinfo["SubjectRefPro"] = Value::String(encoded);
        assert_eq!(claims_of(userinfo), claims_of(sandbox_userinfo()));
    }

    #[test]
    fn garbage_is_skipped_never_a_panic() {
        let claims = claims_of(json!({
            "SubjectNameID": 42,
            "given_name": "   ",
            "family_name": ["not", "a", "string"],
            "SubjectRole": [7, null, "^1.2.3", "21^1.2.250.1.213.1.1.5.5", "21", {"x": 1}],
            "SubjectRefPro": {"exercices": [3, "x", {"codeProfession": {"bad": 1},
                "activities": "none"}, {"activities": [null, {"codeDepartement": 13}]}]}
        }));
        assert_eq!(claims.national_id.as_deref(), Some("42"));
        assert_eq!(claims.given_name, None);
        assert_eq!(claims.family_name, None);
        assert_eq!(claims.professions, ["21"]);
        assert_eq!(claims.practices.len(), 2);
        assert_eq!(claims.practices[0].profession, None);
        assert!(claims.practices[0].activities.is_empty());
        assert_eq!(
            claims.practices[1].activities[0].department.as_deref(),
            Some("13")
        );
        for garbage in [
            json!({"SubjectRefPro": "{not json"}),
            json!({"SubjectRefPro": "[1, 2]"}),
            json!({"SubjectRefPro": 12, "SubjectRole": "10^x"}),
        ] {
            let claims = claims_of(garbage);
            assert!(claims.practices.is_empty(), "{claims:?}");
        }
        assert_eq!(
            claims_of(json!({"SubjectRole": "10^x"})).professions,
            ["10"]
        );
        assert_eq!(claims_of(json!({})), PscClaims::default());
    }

    #[test]
    fn preferred_username_is_the_national_id_only_when_shaped_like_one() {
        let claims = claims_of(json!({"preferred_username": "899700218896"}));
        assert_eq!(claims.national_id.as_deref(), Some("899700218896"));
        let claims = claims_of(json!({"preferred_username": "ANS20231122132732"}));
        assert_eq!(claims.national_id, None);
    }

    #[test]
    fn a_national_id_names_the_directory_identifier() {
        let rpps = directory_identifier("810001234567").expect("RPPS national id");
        assert_eq!(rpps.token(), "urn:oid:1.2.250.1.71.4.2.1|810001234567");
        let adeli = directory_identifier("0751234567").expect("ADELI national id");
        assert_eq!(adeli.value, "0751234567");
        for bad in [
            "10001234567",
            "81000123456",
            "8100012345678",
            "8100012345a7",
            "",
            "3123",
        ] {
            assert_eq!(directory_identifier(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_same_person_in_psc_and_the_directory_has_no_difference() {
        let claims = claims_of(sandbox_userinfo());
        assert_eq!(compare(&claims, &identify_bundle(&[])), []);
    }

    #[test]
    fn an_unknown_professional_has_no_difference_to_list() {
        let claims = claims_of(sandbox_userinfo());
        let empty = json!({"resourceType": "Bundle", "type": "searchset", "total": 0});
        assert_eq!(compare(&claims, &empty), []);
    }

    #[test]
    fn a_psc_activity_without_an_active_role_there_is_listed() {
        let mut userinfo = sandbox_userinfo();
        let activities = &mut userinfo["SubjectRefPro"]["exercices"][0]["activities"];
        activities.as_array_mut().unwrap().push(json!({
            "numeroFinessSite": "219990001", "raisonSocialeSite": "CH IMAGINAIRE"
        }));
        let claims = claims_of(userinfo);
        let differences = compare(&claims, &identify_bundle(&[]));
        assert_eq!(differences.len(), 1, "{differences:?}");
        assert_eq!(differences[0].kind, DifferenceKind::PracticeOnlyInPsc);
        assert_eq!(differences[0].psc.as_deref(), Some("CH IMAGINAIRE"));
        assert!(differences[0].text.contains("CH IMAGINAIRE"));

        // The same activity matches once the hospital role is in the directory's answer,
        // through the FINESS site.
        let mut role = golden("practitionerrole-hospital.json");
        role["organization"]["reference"] = json!("Organization/eg-219990001");
        let extra = [
            json!({"resource": role, "search": {"mode": "include"}}),
            json!({"resource": golden("organization-eg-219990001.json"), "search": {"mode": "include"}}),
        ];
        assert_eq!(compare(&claims, &identify_bundle(&extra)), []);
    }

    #[test]
    fn a_directory_role_psc_does_not_name_is_listed() {
        let mut userinfo = sandbox_userinfo();
        userinfo["SubjectRefPro"]["exercices"][0]["activities"][0]["identifiantTechniqueDeLaStructure"] =
            json!("C00000000000000");
        let differences = compare(&claims_of(userinfo), &identify_bundle(&[]));
        let kinds: Vec<_> = differences.iter().map(|d| d.kind).collect();
        assert_eq!(
            kinds,
            [
                DifferenceKind::PracticeOnlyInPsc,
                DifferenceKind::PracticeOnlyInDirectory
            ]
        );
        assert_eq!(
            differences[1].directory.as_deref(),
            Some("CABINET DU DR CLAIRE MARTINOT")
        );
    }

    #[test]
    fn without_psc_activities_no_practice_is_called_missing() {
        let mut userinfo = sandbox_userinfo();
        userinfo.as_object_mut().unwrap().remove("SubjectRefPro");
        assert_eq!(compare(&claims_of(userinfo), &identify_bundle(&[])), []);
    }

    #[test]
    fn another_profession_or_name_is_listed() {
        let mut userinfo = sandbox_userinfo();
        userinfo["SubjectRole"] = json!(["21^1.2.250.1.213.1.1.5.5"]);
        userinfo["SubjectRefPro"]["exercices"][0]["nomDexercice"] = json!("MARTINEAU");
        let differences = compare(&claims_of(userinfo), &identify_bundle(&[]));
        let kinds: Vec<_> = differences.iter().map(|d| d.kind).collect();
        assert_eq!(
            kinds,
            [
                DifferenceKind::NameDiffers,
                DifferenceKind::ProfessionDiffers
            ]
        );
        assert_eq!(differences[0].psc.as_deref(), Some("Claire MARTINEAU"));
        assert_eq!(differences[0].directory.as_deref(), Some("Claire MARTINOT"));
        assert_eq!(differences[1].psc.as_deref(), Some("21"));
        assert_eq!(differences[1].directory.as_deref(), Some("10"));
    }

    #[test]
    fn names_differing_only_in_case_and_accents_are_the_same() {
        let mut userinfo = sandbox_userinfo();
        userinfo["SubjectRefPro"]["exercices"][0]["nomDexercice"] = json!("Martinót");
        userinfo["SubjectRefPro"]["exercices"][0]["prenomDexercice"] = json!("CLAIRE");
        assert_eq!(compare(&claims_of(userinfo), &identify_bundle(&[])), []);
    }
}
