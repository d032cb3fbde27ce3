//! One person's RPPS rows -> Practitioner(s) and PractitionerRoles (docs/mapping.md §1 and §2).

use fhir_json::PractitionerQualification;
use fhir_json::codes::NameUse;
use fhir_json::types::{CodeableConcept, HumanName, Identifier};
use fhir_json::{Practitioner, PractitionerRole};

use fhir_json::types::{Extension, ExtensionValue};

use super::elements::{
    DataTrace, SourceSystem, claimed, coding, complex_extension, concept, extension, identifier,
    meta, nos_concept, reference,
};
use super::ids;
use super::mailbox;
use super::nos;
use crate::extract::mssante::Mailbox;
use crate::extract::qualifications::{Diploma, SavoirFaire};
use crate::extract::rpps::{Col, RppsRow};
use crate::fhir::{FhirId, ResourceType};

/// What the other published files say about one person, in file order: savoir-faire
/// (`PS_LibreAcces_SavoirFaire`), diplomas and exercise authorisations
/// (`PS_LibreAcces_Dipl_AutExerc`), MSSanté mailboxes.
#[derive(Debug, Default)]
pub struct PersonExtras<'a> {
    pub savoir_faire: Vec<SavoirFaire<'a>>,
    pub diplomas: Vec<Diploma<'a>>,
    pub mailboxes: Vec<Mailbox<'a>>,
}

/// The resources made from one person (`Identification nationale PP`).
#[derive(Debug, Default)]
pub struct PersonResources {
    pub practitioners: Vec<(FhirId, Practitioner)>,
    pub roles: Vec<(FhirId, PractitionerRole)>,
    /// Personal mailboxes also placed on a PractitionerRole (their structure is one of the
    /// person's activities).
    pub mailboxes_on_roles: u64,
}

/// Maps all rows of one person, in file order with exact duplicates already removed.
///
/// A person normally has one profession; the rare person with two gets one Practitioner per
/// profession (A13). Each distinct activity becomes one PractitionerRole, attached to the
/// Practitioner of the profession of its first row.
///
/// `extras` go to the Practitioner of the profession they name; one naming no profession, or a
/// profession the RPPS file does not give this person, goes to each of the person's
/// Practitioners. A personal mailbox also goes on the PractitionerRoles at its structure.
pub fn map_person(rows: &[RppsRow<'_>], extras: &PersonExtras<'_>) -> PersonResources {
    let mut out = PersonResources::default();
    let mut professions: Vec<&str> = Vec::new();
    for row in rows {
        let code = row.get(Col::ProfessionCode);
        if !professions.contains(&code) {
            professions.push(code);
        }
    }
    let applies = |named: &str, profession: &str| {
        named.is_empty() || named == profession || !professions.contains(&named)
    };
    for profession in &professions {
        let rows_of: Vec<&RppsRow<'_>> = rows
            .iter()
            .filter(|r| r.get(Col::ProfessionCode) == *profession)
            .collect();
        let id = ids::practitioner(rows_of[0].person_key(), profession);
        let savoir_faire: Vec<&SavoirFaire<'_>> = extras
            .savoir_faire
            .iter()
            .filter(|sf| applies(sf.profession, profession))
            .collect();
        let mut resource = practitioner(&id, &rows_of, &savoir_faire, &extras.diplomas);
        let mailboxes: Vec<&Mailbox<'_>> = extras
            .mailboxes
            .iter()
            .filter(|m| applies(m.profession, profession))
            .collect();
        mailbox::attach(&mut resource.telecom, &mailboxes);
        out.practitioners.push((id, resource));
    }
    let mut activity_keys: Vec<String> = Vec::new();
    for row in rows.iter().filter(|r| r.has_activity()) {
        let key = activity_identifier(row);
        if activity_keys.contains(&key) {
            continue;
        }
        let role_id = ids::role(&key);
        let practitioner_id = ids::practitioner(row.person_key(), row.get(Col::ProfessionCode));
        let mut resource = role(&role_id, &key, &practitioner_id, row);
        let structure_keys = mailbox::activity_keys(row);
        let at_structure: Vec<&Mailbox<'_>> = extras
            .mailboxes
            .iter()
            .filter(|m| {
                m.structure
                    .is_some_and(|s| structure_keys.contains(&s.national_id()))
            })
            .collect();
        mailbox::attach(&mut resource.telecom, &at_structure);
        out.mailboxes_on_roles += at_structure.len() as u64;
        out.roles.push((role_id, resource));
        activity_keys.push(key);
    }
    out
}

/// `idSituationExercice`: `SE/` + person, structure, rôle, mode, genre, section (A4). Rows that
/// differ only in person-level columns (a second savoir-faire) share it.
pub fn activity_identifier(row: &RppsRow<'_>) -> String {
    let parts = [
        row.person_key(),
        row.get(Col::StructureId),
        row.get(Col::RoleCode),
        row.get(Col::ModeExerciceCode),
        row.get(Col::GenreActiviteCode),
        row.get(Col::SectionPharmacienCode),
    ];
    format!("SE/{}", parts.join("/"))
}

/// The `n`th `/`-separated registrant of `Autorité d'enregistrement` (1 person, 2 activity,
/// 3 structure).
pub fn registrant<'a>(row: &RppsRow<'a>, n: usize) -> Option<&'a str> {
    row.get(Col::AutoriteEnregistrement)
        .split('/')
        .nth(n - 1)
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn practitioner(
    id: &str,
    rows: &[&RppsRow<'_>],
    savoir_faire: &[&SavoirFaire<'_>],
    diplomas: &[Diploma<'_>],
) -> Practitioner {
    let first = rows[0];
    let is_adeli = first.get(Col::TypeIdPp) == "0";
    let claims = claimed(ResourceType::Practitioner);
    // A14: ADELI persons lack the `rpps` identifier as-dp-practitioner requires (1..1): they
    // claim the fr-core base profile only.
    let profiles: &[&str] = if is_adeli { &claims[..1] } else { &claims };
    let trace = DataTrace {
        authority: rows.iter().find_map(|r| registrant(r, 1)),
        system: SourceSystem::Rpps,
        updated: None,
    };
    let mut builder = Practitioner::builder()
        .id(id.to_owned())
        .meta(meta(profiles, &trace))
        .language(nos::LANGUAGE.to_owned())
        .identifier(
            practitioner_identifiers(first, is_adeli)
                .into_iter()
                .map(Some)
                .collect(),
        )
        .active(true)
        .qualification(
            qualifications(rows, savoir_faire, diplomas)
                .into_iter()
                .map(Some)
                .collect(),
        );
    let authorizations = authorizations(first.get(Col::ProfessionCode), diplomas);
    if !authorizations.is_empty() {
        builder = builder.extension(authorizations);
    }
    if let Some(name) = human_name(first) {
        builder = builder.name(vec![Some(name)]);
    }
    builder.build().expect("Practitioner has no required field")
}

fn practitioner_identifiers(row: &RppsRow<'_>, is_adeli: bool) -> Vec<Identifier> {
    let mut out = vec![identifier(
        nos::SYSTEM_IDNPS,
        Some("IDNPS"),
        row.person_key(),
        true,
    )];
    let number = row.get(Col::IdPp);
    if !number.is_empty() {
        out.push(if is_adeli {
            identifier(nos::SYSTEM_ADELI, Some("ADELI"), number, true)
        } else {
            identifier(nos::SYSTEM_RPPS, Some("RPPS"), number, true)
        });
    }
    out
}

/// `name[0]`: usual name, civilité as prefix, civilité d'exercice as suffix (codes, A23).
fn human_name(row: &RppsRow<'_>) -> Option<HumanName> {
    let family = row.get(Col::NomExercice);
    let given = row.get(Col::PrenomExercice);
    let prefix = row.get(Col::CiviliteCode);
    let suffix = row.get(Col::CiviliteExerciceCode);
    if [family, given, prefix, suffix].iter().all(|s| s.is_empty()) {
        return None;
    }
    let some = |s: &str| {
        if s.is_empty() {
            vec![]
        } else {
            vec![Some(s.to_owned())]
        }
    };
    let mut builder = HumanName::builder()
        .r#use(NameUse::Usual)
        .given(some(given))
        .prefix(some(prefix))
        .suffix(some(suffix));
    if !family.is_empty() {
        builder = builder.family(family.to_owned());
    }
    Some(builder.build().expect("HumanName has no required field"))
}

/// One `degree` per distinct diploma (first, as in the ANS example 334081DP), `exercicePro`
/// (profession + category), then one `savoirFaire` per distinct (type, code), from the main
/// file's rows and then the savoir-faire file.
fn qualifications(
    rows: &[&RppsRow<'_>],
    extra_savoir_faire: &[&SavoirFaire<'_>],
    diplomas: &[Diploma<'_>],
) -> Vec<PractitionerQualification> {
    let first = rows[0];
    let mut out = Vec::new();
    let mut degrees: Vec<(&str, &str)> = Vec::new();
    for diploma in diplomas.iter().filter(|d| d.has_degree()) {
        let pair = (diploma.degree_type, diploma.degree);
        if !degrees.contains(&pair) {
            degrees.push(pair);
            out.push(qualification(degree(pair.0, pair.1)));
        }
    }
    let profession = first.get(Col::ProfessionCode);
    let category = first.get(Col::CategorieCode);
    let mut codings = Vec::with_capacity(2);
    if !profession.is_empty() {
        codings.push(coding(
            &nos::nos(nos::profession_system(profession)),
            profession,
        ));
    }
    if !category.is_empty() {
        codings.push(coding(&nos::nos(nos::CATEGORIE_PROFESSIONNELLE), category));
    }
    if !codings.is_empty() {
        out.push(qualification(concept(codings)));
    }
    let mut seen: Vec<(&str, &str)> = Vec::new();
    let from_rows = rows.iter().map(|row| {
        (
            row.get(Col::TypeSavoirFaireCode),
            row.get(Col::SavoirFaireCode),
        )
    });
    let from_file = extra_savoir_faire.iter().map(|sf| (sf.type_code, sf.code));
    for pair in from_rows.chain(from_file) {
        if (pair.0.is_empty() && pair.1.is_empty()) || seen.contains(&pair) {
            continue;
        }
        seen.push(pair);
        out.push(qualification(savoir_faire(pair.0, pair.1)));
    }
    out
}

/// A savoir-faire: its code in the terminology of its type (when it has one), then the type.
fn savoir_faire(type_code: &str, code: &str) -> CodeableConcept {
    let mut codings = Vec::with_capacity(2);
    if let (Some(system), false) = (nos::savoir_faire_system(type_code), code.is_empty()) {
        codings.push(coding(&system, code));
    }
    if !type_code.is_empty() {
        codings.push(coding(&nos::nos(nos::TYPE_SAVOIR_FAIRE), type_code));
    }
    concept(codings)
}

/// A diploma: its code in the terminology of its type (when known), then the type (TRE_R14).
fn degree(type_code: &str, code: &str) -> CodeableConcept {
    let mut codings = Vec::with_capacity(2);
    if let (Some(system), false) = (nos::degree_system(type_code), code.is_empty()) {
        codings.push(coding(&system, code));
    }
    if !type_code.is_empty() {
        codings.push(coding(&nos::nos(nos::TYPE_DIPLOME), type_code));
    }
    concept(codings)
}

/// One `as-ext-practitioner-authorization` per distinct exercise authorisation: its type
/// (TRE_R17), its discipline (TRE_R18) and the profession it authorises.
fn authorizations(profession: &str, diplomas: &[Diploma<'_>]) -> Vec<Extension> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    let mut out = Vec::new();
    for diploma in diplomas.iter().filter(|d| d.has_authorization()) {
        let pair = (diploma.authorization_type, diploma.authorization_field);
        if seen.contains(&pair) {
            continue;
        }
        seen.push(pair);
        let mut parts = Vec::with_capacity(3);
        let mut part = |url: &str, terminology: &str, code: &str| {
            if !code.is_empty() {
                let value = ExtensionValue::CodeableConcept(nos_concept(terminology, code));
                parts.push(extension(url, value));
            }
        };
        part("type", nos::TYPE_AUTORISATION, pair.0);
        part("field", nos::DISCIPLINE_AUTORISATION, pair.1);
        part("profession", nos::profession_system(profession), profession);
        out.push(complex_extension(
            nos::EXT_PRACTITIONER_AUTHORIZATION,
            parts,
        ));
    }
    out
}

fn qualification(code: CodeableConcept) -> PractitionerQualification {
    PractitionerQualification::builder()
        .code(code)
        .build()
        .expect("qualification.code is set")
}

fn role(id: &str, key: &str, practitioner_id: &str, row: &RppsRow<'_>) -> PractitionerRole {
    let trace = DataTrace {
        authority: registrant(row, 2),
        system: SourceSystem::Rpps,
        updated: None,
    };
    let codes: Vec<Option<CodeableConcept>> = [
        (nos::GENRE_ACTIVITE, Col::GenreActiviteCode),
        (nos::MODE_EXERCICE, Col::ModeExerciceCode),
        (nos::FONCTION, Col::RoleCode),
        (nos::SECTION_TABLEAU_CNOP, Col::SectionPharmacienCode),
    ]
    .into_iter()
    .filter(|(_, col)| !row.get(*col).is_empty())
    .map(|(terminology, col)| Some(nos_concept(terminology, row.get(col))))
    .collect();
    let mut builder = PractitionerRole::builder()
        .id(id.to_owned())
        .meta(meta(&claimed(ResourceType::PractitionerRole), &trace))
        .language(nos::LANGUAGE.to_owned())
        .identifier(vec![Some(identifier(nos::SYSTEM_RPPS, None, key, false))])
        .active(true)
        .practitioner(reference(format!("Practitioner/{practitioner_id}")))
        .code(codes);
    if let Some(org) = ids::organization_of_activity(row) {
        builder = builder.organization(reference(format!("Organization/{org}")));
    }
    builder
        .build()
        .expect("PractitionerRole has no required field")
}
