//! Organizations (docs/mapping.md §3–§6): FINESS establishments (EG), FINESS legal entities (EJ),
//! and RPPS structures without FINESS site. An RPPS structure whose FINESS site is in the
//! FINESS file is that establishment, enriched with its RPPS identifiers — never a duplicate.

use std::collections::HashMap;

use fhir_json::Organization;
use fhir_json::types::{CodeableConcept, ExtensionValue, Identifier, Period};

use super::address::{self, PostalAddress};
use super::elements::{
    DataTrace, SourceSystem, claimed, coding, concept, extension, full_date, identifier, meta,
    nos_concept, reference,
};
use super::ids;
use super::nos;
use super::practitioner::registrant;
use super::telecom::{self, Contacts};
use crate::extract::finess::{Establishment, LegalEntity};
use crate::extract::rpps::{Col, RppsRow};
use crate::fhir::{FhirId, ResourceType};

/// The columns that describe a structure (as opposed to the person or the activity), with the
/// third token of `Autorité d'enregistrement`.
const STRUCTURE_COLUMNS: [Col; 26] = [
    Col::Siret,
    Col::Siren,
    Col::FinessSite,
    Col::FinessEj,
    Col::StructureId,
    Col::RaisonSociale,
    Col::Enseigne,
    Col::ComplementDestinataire,
    Col::ComplementPointGeo,
    Col::NumeroVoie,
    Col::IndiceRepetition,
    Col::TypeVoieCode,
    Col::LibelleVoie,
    Col::MentionDistribution,
    Col::BureauCedex,
    Col::CodePostal,
    Col::CodeCommune,
    Col::LibelleCommune,
    Col::CodePays,
    Col::Telephone,
    Col::Telephone2,
    Col::Telecopie,
    Col::Email,
    Col::CodeDepartement,
    Col::AncienIdStructure,
    Col::SecteurActiviteCode,
];

/// The row whose structure columns the structure's Organization is built from: rows of one
/// structure can disagree (a typo on one activity); the most frequent version wins, ties go to
/// the first in the file (A21). `rows` must be in file order.
pub fn representative<'r, 'a>(rows: &'r [RppsRow<'a>]) -> &'r RppsRow<'a> {
    let mut counts: HashMap<Vec<&str>, (usize, usize)> = HashMap::new();
    for (index, row) in rows.iter().enumerate() {
        // Of `Autorité d'enregistrement`, only the structure's registrant (token 3) describes the
        // structure; tokens 1 and 2 are the person's and the activity's.
        let mut variant: Vec<&str> = STRUCTURE_COLUMNS.iter().map(|c| row.get(*c)).collect();
        variant.push(registrant(row, 3).unwrap_or_default());
        counts.entry(variant).or_insert((0, index)).0 += 1;
    }
    let (_, best) = counts
        .into_values()
        .max_by(|(count_a, first_a), (count_b, first_b)| {
            count_a.cmp(count_b).then(first_b.cmp(first_a))
        })
        .expect("a structure has at least one row");
    &rows[best]
}

/// An `as-ext-organization-types`-tagged type slice.
fn type_slice(slice: &str, system: &str, code: &str) -> CodeableConcept {
    let mut concept = concept(vec![coding(system, code)]);
    concept.extension = vec![extension(
        nos::EXT_ORGANIZATION_TYPES,
        ExtensionValue::Code(slice.to_owned()),
    )];
    concept
}

fn organization_kind(code: &str) -> CodeableConcept {
    type_slice("organizationType", nos::ORGANIZATION_KIND, code)
}

fn secteur(code: &str) -> Option<CodeableConcept> {
    (!code.is_empty()).then(|| {
        type_slice(
            "secteurActiviteRASS",
            &nos::nos(nos::SECTEUR_ACTIVITE),
            code,
        )
    })
}

/// NAF rev. 2 code in the dotted form of TRE_R75 (`8610Z` -> `86.10Z`).
fn naf(code: &str) -> Option<CodeableConcept> {
    if code.is_empty() {
        return None;
    }
    let dotted = if code.len() == 5 && code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        format!("{}.{}", &code[..2], &code[2..])
    } else {
        code.to_owned()
    };
    Some(nos_concept("TRE_R75-InseeNAFrev2Niveau5", &dotted))
}

fn official(system: &str, type_code: &str, value: &str) -> Option<Identifier> {
    (!value.is_empty()).then(|| identifier(system, Some(type_code), value, true))
}

fn digits(value: &str, len: usize) -> &str {
    if value.len() == len && value.bytes().all(|b| b.is_ascii_digit()) {
        value
    } else {
        ""
    }
}

/// The parts every Organization shares, assembled once.
struct Parts<'a> {
    id: FhirId,
    trace: DataTrace<'a>,
    extensions: Vec<fhir_json::types::Extension>,
    identifiers: Vec<Option<Identifier>>,
    types: Vec<Option<CodeableConcept>>,
    name: &'a str,
    aliases: Vec<&'a str>,
    telecom: Vec<fhir_json::types::ContactPoint>,
    address: Option<fhir_json::types::Address>,
    part_of: Option<FhirId>,
}

fn build(parts: Parts<'_>) -> (FhirId, Organization) {
    let mut aliases: Vec<Option<String>> = Vec::new();
    for alias in parts.aliases {
        if !alias.is_empty()
            && alias != parts.name
            && !aliases.iter().any(|a| a.as_deref() == Some(alias))
        {
            aliases.push(Some(alias.to_owned()));
        }
    }
    let mut builder = Organization::builder()
        .id(parts.id.to_string())
        .meta(meta(&claimed(ResourceType::Organization), &parts.trace))
        .language(nos::LANGUAGE.to_owned())
        .extension(parts.extensions)
        .identifier(
            parts
                .identifiers
                .into_iter()
                .filter(Option::is_some)
                .collect(),
        )
        .active(true)
        .r#type(parts.types.into_iter().filter(Option::is_some).collect())
        .alias(aliases)
        .telecom(parts.telecom.into_iter().map(Some).collect())
        .address(parts.address.into_iter().map(Some).collect());
    if !parts.name.is_empty() {
        builder = builder.name(parts.name.to_owned());
    }
    if let Some(target) = parts.part_of {
        builder = builder.part_of(reference(format!("Organization/{target}")));
    }
    (
        parts.id,
        builder.build().expect("Organization has no required field"),
    )
}

/// The address columns of an RPPS structure (§3, RPPS column).
fn rpps_address<'a>(row: &RppsRow<'a>) -> PostalAddress<'a> {
    let (routing_code, routing_city) = PostalAddress::split_routing_line(row.get(Col::BureauCedex));
    let postal_code = match row.get(Col::CodePostal) {
        "" => routing_code,
        code => code,
    };
    let city = match routing_city {
        "" => row.get(Col::LibelleCommune),
        city => city,
    };
    let insee = row.get(Col::CodeCommune).to_owned();
    let district = match row.get(Col::CodeDepartement) {
        "" => address::district_of_commune(&insee),
        code => code.to_owned(),
    };
    PostalAddress {
        care_of: row.get(Col::ComplementDestinataire),
        additional_locator: row.get(Col::ComplementPointGeo),
        house_number: row.get(Col::NumeroVoie),
        number_suffix: row.get(Col::IndiceRepetition),
        street_type: row.get(Col::TypeVoieCode),
        street_name: row.get(Col::LibelleVoie),
        distribution: row.get(Col::MentionDistribution),
        postal_code,
        city,
        insee,
        district,
        country: row.get(Col::CodePays),
    }
}

fn rpps_contacts<'a>(row: &RppsRow<'a>) -> Contacts<'a> {
    Contacts {
        phone: row.get(Col::Telephone),
        phone2: row.get(Col::Telephone2),
        fax: row.get(Col::Telecopie),
        email: row.get(Col::Email),
        restore_leading_zero: false,
    }
}

/// An Organization built from RPPS columns alone (§6): a structure without FINESS site
/// (`st-`), or a FINESS site the FINESS file lacks (`eg-`, with its FINEG number).
pub fn from_rpps(row: &RppsRow<'_>) -> (FhirId, Organization) {
    let finess_site = row.get(Col::FinessSite);
    let structure_id = row.get(Col::StructureId);
    let id = match row.structure_key() {
        Some(key) => ids::organization(&key),
        None => ids::rpps_structure(structure_id),
    };
    let finess_ej = row.get(Col::FinessEj);
    let parts = Parts {
        id,
        trace: DataTrace {
            authority: registrant(row, 3),
            system: SourceSystem::Rpps,
            updated: None,
        },
        extensions: Vec::new(),
        identifiers: vec![
            official(nos::SYSTEM_IDNST, "IDNST", row.get(Col::AncienIdStructure)),
            official(nos::SYSTEM_FINESS, "FINEG", finess_site),
            official(nos::SYSTEM_SIRENE, "SIRET", digits(row.get(Col::Siret), 14)),
            official(nos::SYSTEM_SIRENE, "SIREN", digits(row.get(Col::Siren), 9)),
            official(nos::SYSTEM_RPPS_RANG, "RPPSRG", structure_id),
        ],
        types: vec![
            Some(organization_kind("GEOGRAPHICAL-ENTITY")),
            secteur(row.get(Col::SecteurActiviteCode)),
        ],
        name: row.get(Col::RaisonSociale),
        aliases: vec![row.get(Col::Enseigne)],
        telecom: telecom::to_fhir(&rpps_contacts(row)),
        address: address::to_fhir(&rpps_address(row)),
        part_of: (!finess_ej.is_empty()).then(|| ids::legal_entity(finess_ej)),
    };
    build(parts)
}

/// The address fields FINESS establishments (`structureet`) and legal entities
/// (`structureej`) share, under the same names (their order in the lines differs: the readers'
/// concern).
struct FinessAddressFields<'a> {
    compldistrib: &'a str,
    numvoie: &'a str,
    compvoie: &'a str,
    typvoie: &'a str,
    voie: &'a str,
    lieuditbp: &'a str,
    commune: &'a str,
    departement: &'a str,
    ligneacheminement: &'a str,
}

impl<'a> From<&'a Establishment> for FinessAddressFields<'a> {
    fn from(est: &'a Establishment) -> Self {
        FinessAddressFields {
            compldistrib: &est.compldistrib,
            numvoie: &est.numvoie,
            compvoie: &est.compvoie,
            typvoie: &est.typvoie,
            voie: &est.voie,
            lieuditbp: &est.lieuditbp,
            commune: &est.commune,
            departement: &est.departement,
            ligneacheminement: &est.ligneacheminement,
        }
    }
}

impl<'a> From<&'a LegalEntity> for FinessAddressFields<'a> {
    fn from(entity: &'a LegalEntity) -> Self {
        FinessAddressFields {
            compldistrib: &entity.compldistrib,
            numvoie: &entity.numvoie,
            compvoie: &entity.compvoie,
            typvoie: &entity.typvoie,
            voie: &entity.voie,
            lieuditbp: &entity.lieuditbp,
            commune: &entity.commune,
            departement: &entity.departement,
            ligneacheminement: &entity.ligneacheminement,
        }
    }
}

/// The FINESS address (§3, FINESS column): COG = department + commune, overseas `9A`–`9F` ->
/// `97` + commune, `9J` -> `98` + commune.
fn finess_address(fields: FinessAddressFields<'_>) -> PostalAddress<'_> {
    let (postal_code, city) = PostalAddress::split_routing_line(fields.ligneacheminement);
    let insee = finess_commune(fields.departement, fields.commune);
    PostalAddress {
        additional_locator: fields.compldistrib,
        house_number: fields.numvoie,
        number_suffix: fields.compvoie,
        street_type: fields.typvoie,
        street_name: fields.voie,
        distribution: fields.lieuditbp,
        postal_code,
        city,
        district: address::district_of_commune(&insee),
        insee,
        ..PostalAddress::default()
    }
}

/// The `organization-period` extension (the `usePeriod` slice) starting on `date`, when it is a
/// full date: an establishment's opening (`dateouv`), a legal entity's creation (`datecrea`).
fn opening_period(date: &str) -> Option<fhir_json::types::Extension> {
    let start = full_date(date)?;
    let period = Period::builder()
        .start(fhir_json::DateTime::Date(start))
        .build()
        .expect("Period has no required field");
    Some(extension(
        nos::EXT_ORGANIZATION_PERIOD,
        ExtensionValue::Period(period),
    ))
}

/// The `categorieEtablissementRASS` type: TRE_R66, without the organization-types extension
/// (A1).
fn category(categetab: &str) -> Option<CodeableConcept> {
    (!categetab.is_empty()).then(|| nos_concept(nos::CATEGORIE_ETABLISSEMENT, categetab))
}

/// The name of a FINESS organization: the short name, else the long one.
fn finess_name<'a>(rs: &'a str, rslongue: &'a str) -> &'a str {
    if rs.is_empty() { rslongue } else { rs }
}

/// INSEE COG of a FINESS (department, commune) pair.
pub fn finess_commune(departement: &str, commune: &str) -> String {
    if commune.len() != 3 {
        return String::new();
    }
    let prefix = match departement {
        "9A" | "9B" | "9C" | "9D" | "9E" | "9F" => "97",
        "9J" => "98",
        d if d.len() == 2 => d,
        _ => return String::new(),
    };
    format!("{prefix}{commune}")
}

/// A FINESS establishment (§4), merged with the RPPS structure rows pointing at it when there
/// are any (`rpps`: their representative row): FINESS wins, RPPS adds its structure id, sector
/// and e-mail (A21).
pub fn from_finess(est: &Establishment, rpps: Option<&RppsRow<'_>>) -> (FhirId, Organization) {
    let rpps_get = |col: Col| rpps.map_or("", |row| row.get(col));
    let mut extensions: Vec<_> = opening_period(&est.dateouv).into_iter().collect();
    if !est.codemft.is_empty() {
        let pricing = nos_concept("TRE_R74-ModeFixationTarifaire", &est.codemft);
        extensions.push(extension(
            nos::EXT_PRICING_MODEL,
            ExtensionValue::CodeableConcept(pricing),
        ));
    }
    let sph = (!est.codesph.is_empty())
        .then(|| type_slice("sphParticipation", &nos::nos("TRE_R73-ESPIC"), &est.codesph));
    let parts = Parts {
        id: ids::establishment(&est.nofinesset),
        trace: DataTrace {
            authority: None,
            system: SourceSystem::Finess,
            updated: Some(&est.datemaj),
        },
        extensions,
        identifiers: vec![
            official(nos::SYSTEM_IDNST, "IDNST", &format!("1{}", est.nofinesset)),
            official(nos::SYSTEM_FINESS, "FINEG", &est.nofinesset),
            official(nos::SYSTEM_SIRENE, "SIRET", digits(&est.siret, 14)),
            official(nos::SYSTEM_RPPS_RANG, "RPPSRG", rpps_get(Col::StructureId)),
        ],
        types: vec![
            Some(organization_kind("GEOGRAPHICAL-ENTITY")),
            secteur(rpps_get(Col::SecteurActiviteCode)),
            category(&est.categetab),
            sph,
            naf(&est.codeape),
        ],
        name: finess_name(&est.rs, &est.rslongue),
        aliases: vec![&est.rslongue, &est.complrs],
        telecom: telecom::to_fhir(&Contacts {
            phone: &est.telephone,
            fax: &est.telecopie,
            email: rpps_get(Col::Email),
            restore_leading_zero: true,
            ..Contacts::default()
        }),
        address: address::to_fhir(&finess_address(est.into())),
        part_of: (!est.nofinessej.is_empty()).then(|| ids::legal_entity(&est.nofinessej)),
    };
    build(parts)
}

/// A FINESS legal entity from the legal entities file (`etalab-cs1100501`, mapping.md §5):
/// the stub's identifiers and kind, plus SIREN, names, address, phone, legal status, category,
/// NAF code and creation date. Like the stub, it has no `partOf` and no registration authority;
/// the file has no update date, so no `date-maj-ae`.
pub fn from_legal_entity(entity: &LegalEntity) -> (FhirId, Organization) {
    let mut parts = legal_entity_parts(&entity.nofinessej);
    parts.extensions = opening_period(&entity.datecrea).into_iter().collect();
    parts.identifiers.push(official(
        nos::SYSTEM_SIRENE,
        "SIREN",
        digits(&entity.siren, 9),
    ));
    parts.types.extend([
        statut_juridique(&entity.statutjuridique),
        category(&entity.categetab),
        naf(&entity.codeape),
    ]);
    parts.name = finess_name(&entity.rs, &entity.rslongue);
    parts.aliases = vec![&entity.rslongue, &entity.complrs];
    parts.telecom = telecom::to_fhir(&Contacts {
        phone: &entity.telephone,
        restore_leading_zero: true,
        ..Contacts::default()
    });
    parts.address = address::to_fhir(&finess_address(entity.into()));
    build(parts)
}

/// The `statutJuridiqueINSEE` type slice (TRE_R72 through JDV_J100), tagged like every slice
/// whose snapshot requires the organization-types extension.
fn statut_juridique(code: &str) -> Option<CodeableConcept> {
    (!code.is_empty()).then(|| {
        type_slice(
            "statutJuridiqueINSEE",
            &nos::nos(nos::STATUT_JURIDIQUE),
            code,
        )
    })
}

/// A FINESS legal entity known only by its number (no EJ file imported): identifiers, kind and
/// provenance, so that `partOf` never dangles (A24).
pub fn legal_entity_stub(nofinessej: &str) -> (FhirId, Organization) {
    build(legal_entity_parts(nofinessej))
}

/// What a legal entity has whether or not its file was imported: id, FINESS provenance (no
/// update date), the IDNST and FINEJ identifiers and the `LEGAL-ENTITY` kind.
fn legal_entity_parts(nofinessej: &str) -> Parts<'_> {
    Parts {
        id: ids::legal_entity(nofinessej),
        trace: DataTrace {
            authority: None,
            system: SourceSystem::Finess,
            updated: None,
        },
        extensions: Vec::new(),
        identifiers: vec![
            official(nos::SYSTEM_IDNST, "IDNST", &format!("1{nofinessej}")),
            official(nos::SYSTEM_FINESS, "FINEJ", nofinessej),
        ],
        types: vec![Some(organization_kind("LEGAL-ENTITY"))],
        name: "",
        aliases: Vec::new(),
        telecom: Vec::new(),
        address: None,
        part_of: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finess_communes() {
        assert_eq!(finess_commune("01", "451"), "01451");
        assert_eq!(finess_commune("2A", "004"), "2A004");
        assert_eq!(finess_commune("9D", "411"), "97411");
        assert_eq!(finess_commune("9J", "613"), "98613");
        assert_eq!(finess_commune("21", ""), "");
    }

    /// The synthetic `structureej` line of docs/formats.md, as the reader types it.
    fn legal_entity() -> LegalEntity {
        LegalEntity {
            line: 2,
            nofinessej: "010099991".into(),
            rs: "CH TESTVILLE".into(),
            rslongue: "CENTRE HOSPITALIER DE TESTVILLE".into(),
            numvoie: "12".into(),
            typvoie: "R".into(),
            voie: "DES ESSAIS".into(),
            commune: "451".into(),
            ligneacheminement: "01440 TESTVILLE".into(),
            departement: "01".into(),
            libdepartement: "AIN".into(),
            telephone: "400000000".into(),
            statutjuridique: "13".into(),
            libstatutjuridique: "Etablissement Public Communal d'Hospitalisation".into(),
            siren: "260100000".into(),
            codeape: "8610Z".into(),
            datecrea: "1970-01-01".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_legal_entity_from_the_file_is_complete() {
        let (id, organization) = from_legal_entity(&legal_entity());
        assert_eq!(id.as_str(), "ej-010099991");
        let json = serde_json::to_value(&organization).unwrap();
        assert_eq!(json["name"], "CH TESTVILLE");
        assert_eq!(
            json["alias"],
            serde_json::json!(["CENTRE HOSPITALIER DE TESTVILLE"])
        );
        // A 9-digit FINESS phone number gets back its leading zero.
        assert_eq!(json["telecom"][0]["value"], "0400000000");
        let siren = &json["identifier"][2];
        assert_eq!(siren["type"]["coding"][0]["code"], "SIREN");
        assert_eq!(siren["value"], "260100000");
        // The legal status is the tagged statutJuridiqueINSEE slice.
        let status = &json["type"][1];
        assert_eq!(
            status["extension"][0],
            serde_json::json!({"url": nos::EXT_ORGANIZATION_TYPES, "valueCode": "statutJuridiqueINSEE"})
        );
        assert_eq!(
            status["coding"][0],
            serde_json::json!({"system": nos::nos(nos::STATUT_JURIDIQUE), "code": "13"})
        );
        assert_eq!(json["type"][2]["coding"][0]["code"], "86.10Z");
        assert_eq!(json["address"][0]["postalCode"], "01440");
        assert_eq!(
            json["address"][0]["extension"][0]["valueCoding"]["code"],
            "01451"
        );
        assert_eq!(
            json["extension"][0]["valuePeriod"]["start"], "1970-01-01",
            "datecrea"
        );
        assert!(json.get("partOf").is_none());
    }

    #[test]
    fn a_legal_entity_without_short_name_is_named_by_its_long_name() {
        let mut entity = legal_entity();
        entity.rs.clear();
        entity.siren = "2601".into();
        let json = serde_json::to_value(from_legal_entity(&entity).1).unwrap();
        assert_eq!(json["name"], "CENTRE HOSPITALIER DE TESTVILLE");
        assert!(json.get("alias").is_none(), "the name is not repeated");
        assert_eq!(json["identifier"].as_array().unwrap().len(), 2, "no SIREN");
    }

    #[test]
    fn a_legal_entity_category_is_the_untagged_category_type() {
        let mut entity = legal_entity();
        entity.categetab = "355".into();
        let json = serde_json::to_value(from_legal_entity(&entity).1).unwrap();
        let category = &json["type"][2];
        assert_eq!(
            category,
            &serde_json::json!({"coding": [{"system": nos::nos(nos::CATEGORIE_ETABLISSEMENT), "code": "355"}]}),
            "A33: TRE_R66 without the organization-types extension (A1)"
        );
        assert_eq!(json["type"][3]["coding"][0]["code"], "86.10Z");
    }

    #[test]
    fn naf_is_dotted() {
        let value = serde_json::to_value(naf("8610Z").unwrap()).unwrap();
        assert_eq!(value["coding"][0]["code"], "86.10Z");
    }
}
