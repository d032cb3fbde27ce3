//! Canonical URLs: identifier systems, code systems and extensions used by the ANS
//! `as-dp-*` profiles (IG ans.fhir.fr.annuaire 1.2.0-snapshot-2). One place, so a typo cannot
//! hide in one resource type and not the others.

/// `meta.source` (the profile's patternUri, mapping decision A8).
pub const META_SOURCE: &str = "https://annuaire.esante.gouv.fr";
pub const LANGUAGE: &str = "fr";

// The profiles claimed in `meta.profile` come from `profiles/*.json`: see `crate::profiles`.

/// Identifier type codes (`fr-core-cs-v2-0203`).
pub const IDENTIFIER_TYPE: &str = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203";
/// Organization type codes (`fr-core-cs-v2-3307`): GEOGRAPHICAL-ENTITY / LEGAL-ENTITY.
pub const ORGANIZATION_KIND: &str = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-3307";

pub const SYSTEM_IDNPS: &str = "urn:oid:1.2.250.1.71.4.2.1";
pub const SYSTEM_RPPS: &str = "https://rpps.esante.gouv.fr";
pub const SYSTEM_ADELI: &str = "https://adeli.esante.gouv.fr";
pub const SYSTEM_IDNST: &str = "urn:oid:1.2.250.1.71.4.2.2";
pub const SYSTEM_FINESS: &str = "https://finess.esante.gouv.fr";
pub const SYSTEM_RPPS_RANG: &str = "https://rppsrang.esante.gouv.fr";
pub const SYSTEM_SIRENE: &str = "https://sirene.fr";
/// ARHGOS authorisation numbers (Device, healthcare activity): no trailing slash, as the
/// as-dp profiles' `numAutorisationArhgos` slices fix it.
pub const SYSTEM_ARHGOS: &str = "https://arhgos.ars.sante.fr";

pub const EXT_DATA_TRACE: &str =
    "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-data-trace";
pub const EXT_ORGANIZATION_TYPES: &str =
    "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-organization-types";
pub const EXT_PRICING_MODEL: &str = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-organization-pricing-model";
pub const EXT_LIEU_DIT: &str =
    "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-lieu-dit";
pub const EXT_ORGANIZATION_PERIOD: &str =
    "http://hl7.org/fhir/StructureDefinition/organization-period";
pub const EXT_INSEE_CODE: &str =
    "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code";
pub const EXT_EMAIL_TYPE: &str =
    "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-contact-point-email-type";
pub const EXT_MAILBOX_MSS_METADATA: &str = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-mailbox-mss-metadata";
pub const EXT_PRACTITIONER_AUTHORIZATION: &str = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-practitioner-authorization";
/// Authorisation of a healthcare activity, a social equipment or a heavy equipment unit
/// (`dateAuthorization`, `periodAuthorization`, `dateUpdateAuthorization`,
/// `deletedAuthorization`).
pub const EXT_AUTHORIZATION: &str =
    "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-authorization";
/// Installation of a social equipment (`dateFirstInstallation`, `dateLastInstallation`,
/// `deletedInstallation`).
pub const EXT_INSTALLATION: &str =
    "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-installation";
/// Age ranges of the people a social equipment takes in (`authorizedAgeRange`,
/// `installedAgeRange`).
pub const EXT_PATIENT_TYPE: &str =
    "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-patient-type";
/// Authorised and installed capacities of a social equipment.
pub const EXT_SUPPORTED_CAPACITY: &str =
    "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-supported-capacity";
/// UCUM, the system of the age ranges' unit (`a`, years).
pub const UCUM: &str = "http://unitsofmeasure.org";
/// ISO 21090 address-part extension: `ADXP_PREFIX` + `houseNumber`, `streetNameType`...
pub const ADXP_PREFIX: &str = "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-";

/// The NOS terminologies that both the mapping (the system of a coding) and the labels (the
/// system a label is found by) name: written once, so that the two cannot drift apart.
pub const SECTEUR_ACTIVITE: &str = "TRE_R02-SecteurActivite";
pub const TYPE_SAVOIR_FAIRE: &str = "TRE_R04-TypeSavoirFaire";
pub const SECTION_TABLEAU_CNOP: &str = "TRE_R06-SectionTableauCNOP";
pub const CATEGORIE_PROFESSIONNELLE: &str = "TRE_R09-CategorieProfessionnelle";
pub const TYPE_DIPLOME: &str = "TRE_R14-TypeDiplome";
pub const TYPE_AUTORISATION: &str = "TRE_R17-TypeAutorisation";
pub const DISCIPLINE_AUTORISATION: &str = "TRE_R18-DisciplineAutorisation";
pub const FONCTION: &str = "TRE_R21-Fonction";
pub const GENRE_ACTIVITE: &str = "TRE_R22-GenreActivite";
pub const MODE_EXERCICE: &str = "TRE_R23-ModeExercice";
pub const CATEGORIE_ETABLISSEMENT: &str = "TRE_R66-CategorieEtablissement";
pub const TYPE_BAL: &str = "TRE_R257-TypeBAL";
/// EJ legal status (`statutjuridique`), the `statutJuridiqueINSEE` type slice (JDV_J100).
pub const STATUT_JURIDIQUE: &str = "TRE_R72-FinessStatutJuridique";
/// Authorised healthcare activity (`activite`), `type:activity` (JDV_J133).
pub const ACTIVITE_SANITAIRE: &str = "TRE_R274-ActiviteSanitaireRegulee";
/// Modality of a healthcare activity (`modalite`), `category` (JDV_J132).
pub const MODALITE_ACTIVITE: &str = "TRE_R275-ModaliteActivite";
/// Form of a healthcare activity (`forme`), `characteristic` (JDV_J134).
pub const FORME_ACTIVITE: &str = "TRE_R276-FormeActivite";
/// Heavy equipment (`eml`), `Device.type` (JDV_J135).
pub const EQUIPEMENT_LOURD: &str = "TRE_R272-EquipementMaterielLourd";
/// Type of activity of a social equipment (`ta`), `characteristic` (JDV_J138).
pub const TYPE_ACTIVITE_SOCIALE: &str = "TRE_R209-TypeActivite";
/// Legacy FINESS discipline of a social equipment (`de`, OID 1.2.250.1.213.1.6.1.133): the file's
/// code, not the FINESS+ TRE_R401 the profile's `type:category` slice takes (mapping.md A29).
pub const DISCIPLINE_SOCIALE: &str = "TRE_R280-DisciplineEquipementSocial";
/// Legacy FINESS clientèle of a social equipment (`client`, OID 1.2.250.1.213.1.6.1.132): the
/// file's code, in `eligibility.code`, whose binding to the FINESS+ TRE_R403 is extensible (A29).
pub const CLIENTELE: &str = "TRE_R279-Clientele";

/// URL of a NOS terminology: `TRE_R22-GenreActivite` becomes
/// `https://mos.esante.gouv.fr/NOS/TRE_R22-GenreActivite/FHIR/TRE-R22-GenreActivite`.
pub fn nos(name: &str) -> String {
    format!(
        "https://mos.esante.gouv.fr/NOS/{name}/FHIR/{}",
        name.replacen('_', "-", 1)
    )
}

/// Registration authorities allowed by JDV_J83 (the required binding of
/// `autorite-enregistrement`); tokens outside it (`ARS`, `CPAM`, `Variable`) are omitted (A6).
pub fn is_registration_authority(code: &str) -> bool {
    const NATIONAL: [&str; 9] = [
        "AT-975", "CNOM", "CNOMK", "CNOP", "CNOPP", "CNOSF", "ONCD", "ONI", "ENREG",
    ];
    if NATIONAL.contains(&code) || code == "SSA" {
        return true;
    }
    code.strip_prefix("ARS-")
        .is_some_and(|region| region.len() == 2 && region.bytes().all(|b| b.is_ascii_digit()))
}

/// The NOS terminology holding a profession code (A15): TRE_G15 for health professions
/// (its deprecated codes included), TRE_R95 for psychologists; G15 by default.
pub fn profession_system(code: &str) -> &'static str {
    match code {
        "93" => "TRE_R95-UsagerTitre",
        _ => "TRE_G15-ProfessionSante",
    }
}

/// TRE_G15-ProfessionSante: each health profession's code and label, its deprecated codes
/// included (35-39 left G15 in 2024-12; 93, psychologists, now lives in TRE_R95), since
/// professionals still carry them. What `[[auth.rules]]` professions are checked against.
pub const PROFESSIONS: [(&str, &str); 30] = [
    ("10", "Médecin"),
    ("21", "Pharmacien"),
    ("26", "Audioprothésiste"),
    ("28", "Opticien-Lunetier"),
    ("31", "Assistant dentaire"),
    ("32", "Physicien médical"),
    ("35", "Aide-soignant"),
    ("36", "Ambulancier"),
    ("37", "Auxiliaire de puériculture"),
    ("38", "Préparateur en pharmacie hospitalière"),
    ("39", "Préparateur en pharmacie"),
    ("40", "Chirurgien-Dentiste"),
    ("50", "Sage-Femme"),
    ("60", "Infirmier"),
    ("69", "Infirmier psychiatrique"),
    ("70", "Masseur-Kinésithérapeute"),
    ("80", "Pédicure-Podologue"),
    ("81", "Orthoprothésiste"),
    ("82", "Podo-Orthésiste"),
    ("83", "Orthopédiste-Orthésiste"),
    ("84", "Oculariste"),
    ("85", "Epithésiste"),
    ("86", "Technicien de laboratoire médical"),
    ("91", "Orthophoniste"),
    ("92", "Orthoptiste"),
    ("93", "Psychologue"),
    ("94", "Ergothérapeute"),
    ("95", "Diététicien"),
    ("96", "Psychomotricien"),
    ("98", "Manipulateur ERM"),
];

/// The label of a TRE_G15 profession code, if it is one.
pub fn profession_label(code: &str) -> Option<&'static str> {
    PROFESSIONS
        .iter()
        .find(|(known, _)| *known == code)
        .map(|(_, label)| *label)
}

/// The savoir-faire types (TRE_R04) whose codes have a terminology (see
/// [`savoir_faire_system`]).
pub const SAVOIR_FAIRE_TYPES: [&str; 11] = [
    "S", "C", "CEX", "DNQ", "CAPA", "PAC", "OP", "FQ", "DEC", "SST", "CM",
];

/// The NOS terminology of a savoir-faire code, by its type (TRE_R04); `None` for types without
/// a terminology in JDV_J107 (such as `SH`), which then carry the type coding only (A22).
pub fn savoir_faire_system(type_code: &str) -> Option<String> {
    let name = match type_code {
        "S" => "TRE_R38-SpecialiteOrdinale",
        "C" => "TRE_R39-Competence",
        "CEX" => "TRE_R40-CompetenceExclusive",
        "DNQ" => "TRE_R42-DESCnonQualifiant",
        "CAPA" => "TRE_R43-CapaciteSavoirFaire",
        "PAC" => "TRE_R44-QualificationPAC",
        "OP" => "TRE_G13-OrientationParticuliere",
        "FQ" => "TRE_R45-FonctionQualifiee",
        "DEC" => "TRE_R97-DroitExerciceCompl",
        "SST" => "TRE_R359-SurspecialiteTransversale",
        "CM" => {
            return Some(
                "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r394-competence-metier".into(),
            );
        }
        _ => return None,
    };
    Some(nos(name))
}

/// The NOS terminology of a diploma code, by its TRE_R14-TypeDiplome type: the member of
/// JDV_J105-EnsembleDiplome holding that kind of diploma. `None` for a type without a known
/// terminology: the diploma then carries its type coding only (as A22 does for savoir-faire).
pub fn degree_system(type_code: &str) -> Option<String> {
    let name = match type_code {
        "DE" => "TRE_R48-DiplomeEtatFrancais",
        "DES" => "TRE_R49-DiplomeEtudeSpecialisee",
        "CAPA" => "TRE_R52-CapaciteDiplome",
        "EEE" => "TRE_R53-DiplomePaysEEE",
        "DU" | "DIU" => "TRE_R54-DiplomeUniversiteInterUniversitaire",
        "CES" => "TRE_R55-CertificatEtudeSpeciale",
        "DEES" => "TRE_R57-DiplomeEuropeenEtudeSpecialisee",
        "AUTRE" => "TRE_R36-AutreDiplomeObtenu",
        _ => return None,
    };
    Some(nos(name))
}

/// Street-type codes of TRE_R35-TypeVoie (JDV_J103-TypeVoie-RASS): only these may go in the
/// `streetNameType` extension, whose binding is required; others stay in the line text (A18).
pub fn is_street_type(code: &str) -> bool {
    STREET_TYPES.binary_search(&code).is_ok()
}

/// TRE_R35 codes, sorted for binary search.
const STREET_TYPES: [&str; 184] = [
    "ABE", "ACH", "AERD", "AERG", "AERP", "AGL", "AIRE", "ALL", "ANGL", "ANSE", "ARC", "ART",
    "AUT", "AV", "BAST", "BCH", "BCLE", "BD", "BEGI", "BER", "BOIS", "BRE", "BRG", "BSTD", "BUT",
    "CALE", "CAMP", "CAR", "CARE", "CARR", "CAU", "CAV", "CCAL", "CGNE", "CHE", "CHEM", "CHEZ",
    "CHI", "CHL", "CHP", "CHS", "CHT", "CHV", "CITE", "CLOI", "CLOS", "COL", "COLI", "COR", "COTE",
    "COTT", "COUR", "CPG", "CRS", "CST", "CTR", "CTRE", "DARS", "DEG", "DIG", "DOM", "DSC", "ECL",
    "EGL", "EN", "ENC", "ENV", "ESC", "ESP", "ESPA", "ETNG", "FG", "FON", "FORM", "FORT", "FOS",
    "FOYR", "FRM", "GAL", "GARE", "GARN", "GBD", "GDEN", "GPE", "GPT", "GR", "GRI", "GRIM", "HAM",
    "HCH", "HIP", "HLE", "HLM", "ILE", "IMM", "IMP", "JARD", "JTE", "LD", "LEVE", "LOT", "MAIL",
    "MAN", "MAR", "MAS", "MET", "MF", "MLN", "MTE", "MUS", "NTE", "PAE", "PAL", "PARC", "PAS",
    "PASS", "PAT", "PAV", "PCH", "PCHE", "PERI", "PIM", "PKG", "PL", "PLAG", "PLAN", "PLCI", "PLE",
    "PLN", "PLT", "PN", "PNT", "PONT", "PORQ", "PORT", "POT", "POUR", "PRE", "PROM", "PRQ", "PRT",
    "PRV", "PSTY", "PTA", "PTE", "QU", "QUA", "R", "RAC", "RAID", "REM", "RES", "RLE", "ROC",
    "ROQT", "RPE", "RPT", "RTD", "RTE", "SEN", "SQ", "STA", "STDE", "TOUR", "TPL", "TRA", "TRN",
    "TRT", "TSSE", "VAL", "VCHE", "VEN", "VGE", "VIA", "VLA", "VLGE", "VOI", "VTE", "ZA", "ZAC",
    "ZAD", "ZI", "ZONE", "ZUP",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nos_urls() {
        assert_eq!(
            nos("TRE_R02-SecteurActivite"),
            "https://mos.esante.gouv.fr/NOS/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite"
        );
    }

    #[test]
    fn street_types_are_sorted_and_known() {
        assert!(STREET_TYPES.windows(2).all(|w| w[0] < w[1]));
        for code in ["R", "AV", "BD", "PL", "CHE", "RTE", "ALL", "ZI"] {
            assert!(is_street_type(code), "{code}");
        }
        assert!(!is_street_type("RUE"));
    }

    #[test]
    fn registration_authorities() {
        for code in ["CNOM", "ONCD", "ARS-11", "CNOP"] {
            assert!(is_registration_authority(code), "{code}");
        }
        for code in ["ARS", "CPAM", "Variable", "", "ARS-1A"] {
            assert!(!is_registration_authority(code), "{code}");
        }
    }
}
