//! The labels of the codes the resources carry: the words people read beside the codes.
//!
//! The extraction files write each code's label beside it, so the import collects them, code
//! system by code system, with the same functions that choose the systems of the codings
//! ([`nos`]): a label is found by the `system` and `code` of the coding it names. A file may
//! give several labels for one code (they vary between rows and extracts): the first met is
//! kept, reading the RPPS file, then the savoir-faire and diplomas files, then FINESS.
//!
//! One table, three uses, so they cannot disagree (mapping decision A23): the `display` of every
//! coding the import writes ([`Displays::describe`]), the CodeSystem resources and `$lookup`
//! (see [`super::codesystem`]), both read from `labels.json` in the generation (see
//! [`crate::generation::LABELS_FILE`]): `{"<system>": {"<code>": "<label>", ...}, ...}`, both
//! levels sorted.

use std::collections::{BTreeMap, HashMap};

use serde_json::json;

use crate::extract::finess::{
    CareActivity, Establishment, HeavyEquipment, LegalEntity, SocialEquipment,
};
use crate::extract::qualifications::{Diploma, SavoirFaire};
use crate::extract::rpps::{Col, RppsRow};

use super::nos;

type Codes = BTreeMap<String, String>;

/// Labels by code system, then code.
#[derive(Debug, Default, Clone)]
pub struct Labels {
    /// Codes of NOS terminologies noted by name (most of them): a short key, hashed, where the
    /// URLs would share a 35-byte prefix. Their URLs are built when the labels are read.
    nos: HashMap<&'static str, Codes>,
    /// Codes of systems noted by URL.
    by_url: BTreeMap<String, Codes>,
    /// The system of each savoir-faire type met (see [`nos::savoir_faire_system`]).
    savoir_faire_systems: HashMap<String, Option<String>>,
}

/// Adds `label` for `code` unless one is known already or either is empty. Looks up before
/// allocating: almost every row repeats known codes.
fn insert(codes: &mut Codes, code: &str, label: &str) {
    if !code.is_empty() && !label.is_empty() && !codes.contains_key(code) {
        codes.insert(code.to_owned(), label.to_owned());
    }
}

/// [`insert`] into the codes of `system`, created on first use; the system's URL is copied
/// only then.
fn note_by_url(by_url: &mut BTreeMap<String, Codes>, system: &str, code: &str, label: &str) {
    if code.is_empty() || label.is_empty() {
        return;
    }
    match by_url.get_mut(system) {
        Some(codes) => insert(codes, code, label),
        None => insert(by_url.entry(system.to_owned()).or_default(), code, label),
    }
}

/// Adds the labels of `other` that `mine` does not have.
fn add_missing(mine: &mut Codes, other: Codes) {
    for (code, label) in other {
        mine.entry(code).or_insert(label);
    }
}

/// The RPPS columns holding a code with its label, and the NOS terminology of the code (the one
/// the mapping puts it in).
const RPPS_CODES: [(Col, Col, &str); 7] = [
    (
        Col::CategorieCode,
        Col::CategorieLabel,
        nos::CATEGORIE_PROFESSIONNELLE,
    ),
    (
        Col::TypeSavoirFaireCode,
        Col::TypeSavoirFaireLabel,
        nos::TYPE_SAVOIR_FAIRE,
    ),
    (
        Col::ModeExerciceCode,
        Col::ModeExerciceLabel,
        nos::MODE_EXERCICE,
    ),
    (
        Col::SecteurActiviteCode,
        Col::SecteurActiviteLabel,
        nos::SECTEUR_ACTIVITE,
    ),
    (
        Col::SectionPharmacienCode,
        Col::SectionPharmacienLabel,
        nos::SECTION_TABLEAU_CNOP,
    ),
    (Col::RoleCode, Col::RoleLabel, nos::FONCTION),
    (
        Col::GenreActiviteCode,
        Col::GenreActiviteLabel,
        nos::GENRE_ACTIVITE,
    ),
];

impl Labels {
    /// Notes `label` for `code` of `system`, unless one is known already or either is empty.
    pub fn note(&mut self, system: &str, code: &str, label: &str) {
        note_by_url(&mut self.by_url, system, code, label);
    }

    /// [`Labels::note`] for a NOS terminology, by name.
    fn note_nos(&mut self, name: &'static str, code: &str, label: &str) {
        if !code.is_empty() && !label.is_empty() {
            insert(self.nos.entry(name).or_default(), code, label);
        }
    }

    /// [`Labels::note`] for a savoir-faire code, in the system of its type (if it has one).
    fn note_savoir_faire(&mut self, type_code: &str, code: &str, label: &str) {
        if code.is_empty() || label.is_empty() {
            return;
        }
        if !self.savoir_faire_systems.contains_key(type_code) {
            let system = nos::savoir_faire_system(type_code);
            self.savoir_faire_systems
                .insert(type_code.to_owned(), system);
        }
        if let Some(Some(system)) = self.savoir_faire_systems.get(type_code) {
            note_by_url(&mut self.by_url, system, code, label);
        }
    }

    pub fn rpps_row(&mut self, row: &RppsRow<'_>) {
        let profession = row.get(Col::ProfessionCode);
        let label = row.get(Col::ProfessionLabel);
        self.note_nos(nos::profession_system(profession), profession, label);
        for (code, label, system) in RPPS_CODES {
            self.note_nos(system, row.get(code), row.get(label));
        }
        self.note_savoir_faire(
            row.get(Col::TypeSavoirFaireCode),
            row.get(Col::SavoirFaireCode),
            row.get(Col::SavoirFaireLabel),
        );
    }

    pub fn savoir_faire(&mut self, row: &SavoirFaire<'_>) {
        self.note_nos(nos::TYPE_SAVOIR_FAIRE, row.type_code, row.type_label);
        self.note_savoir_faire(row.type_code, row.code, row.label);
    }

    pub fn diploma(&mut self, row: &Diploma<'_>) {
        self.note_nos(nos::TYPE_DIPLOME, row.degree_type, row.degree_type_label);
        if let Some(system) = nos::degree_system(row.degree_type) {
            self.note(&system, row.degree, row.degree_label);
        }
        self.note_nos(
            nos::TYPE_AUTORISATION,
            row.authorization_type,
            row.authorization_type_label,
        );
        self.note_nos(
            nos::DISCIPLINE_AUTORISATION,
            row.authorization_field,
            row.authorization_field_label,
        );
    }

    pub fn establishment(&mut self, establishment: &Establishment) {
        self.note_nos(
            nos::CATEGORIE_ETABLISSEMENT,
            &establishment.categetab,
            &establishment.libcategetab,
        );
    }

    /// The labels of a legal entity's codes: legal status (TRE_R72) and category (TRE_R66).
    pub fn legal_entity(&mut self, entity: &LegalEntity) {
        self.note_nos(
            nos::STATUT_JURIDIQUE,
            &entity.statutjuridique,
            &entity.libstatutjuridique,
        );
        self.note_nos(
            nos::CATEGORIE_ETABLISSEMENT,
            &entity.categetab,
            &entity.libcategetab,
        );
    }

    /// The labels of a healthcare activity's codes: activity (TRE_R274), modality (TRE_R275),
    /// form (TRE_R276).
    pub fn care_activity(&mut self, activity: &CareActivity) {
        self.note_nos(
            nos::ACTIVITE_SANITAIRE,
            &activity.activite,
            &activity.libactivite,
        );
        self.note_nos(
            nos::MODALITE_ACTIVITE,
            &activity.modalite,
            &activity.libmodalite,
        );
        self.note_nos(nos::FORME_ACTIVITE, &activity.forme, &activity.libforme);
    }

    /// The labels of a social equipment's codes: discipline (TRE_R280), type of activity
    /// (TRE_R209), clientèle (TRE_R279).
    pub fn social_equipment(&mut self, equipment: &SocialEquipment) {
        self.note_nos(nos::DISCIPLINE_SOCIALE, &equipment.de, &equipment.libde);
        self.note_nos(nos::TYPE_ACTIVITE_SOCIALE, &equipment.ta, &equipment.libta);
        self.note_nos(nos::CLIENTELE, &equipment.client, &equipment.libclient);
    }

    /// The label of a heavy equipment's code (TRE_R272).
    pub fn heavy_equipment(&mut self, equipment: &HeavyEquipment) {
        self.note_nos(nos::EQUIPEMENT_LOURD, &equipment.eml, &equipment.libeml);
    }

    /// Adds the labels of `other` this set does not have.
    pub fn merge(&mut self, other: Labels) {
        for (name, codes) in other.nos {
            add_missing(self.nos.entry(name).or_default(), codes);
        }
        for (system, codes) in other.by_url {
            add_missing(self.by_url.entry(system).or_default(), codes);
        }
    }

    /// Every label, by system URL then code.
    pub fn by_system(&self) -> BTreeMap<String, Codes> {
        let mut all = self.by_url.clone();
        for (name, codes) in &self.nos {
            let mine = all.entry(nos::nos(name)).or_default();
            for (code, label) in codes {
                mine.entry(code.clone()).or_insert_with(|| label.clone());
            }
        }
        all
    }

    /// The label of `code` in `system` (builds every URL: for tests).
    #[cfg(test)]
    pub fn get(&self, system: &str, code: &str) -> Option<String> {
        self.by_system().get(system)?.get(code).cloned()
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.by_system()).expect("maps of strings serialize")
    }

    /// The table the codings' `display` is taken from: these labels, once complete.
    pub fn displays(&self) -> Displays {
        Displays(self.by_system())
    }
}

/// The labels by system URL, then code, as the resources' codings name them.
#[derive(Debug, Default, Clone)]
pub struct Displays(BTreeMap<String, Codes>);

impl Displays {
    /// The label of `code` in `system`, if the files gave one.
    pub fn get(&self, system: &str, code: &str) -> Option<&str> {
        self.0.get(system)?.get(code).map(String::as_str)
    }

    /// A resource's JSON with `display` set on every coding (an object with a `system` and a
    /// `code`, wherever it is: a qualification, a type, an extension's value) whose code the
    /// files labelled, right after its `code`. Done on the resource as written rather than in
    /// each mapping function, so that no coding can be missed and the display is the table's
    /// (the label kept for the code), never the row's own.
    pub fn describe(&self, json: &[u8]) -> Vec<u8> {
        if let Some(described) = self.describe_compact(json) {
            return described;
        }
        let mut value: serde_json::Value =
            serde_json::from_slice(json).expect("the mapping writes JSON");
        if self.describe_value(&mut value) {
            serde_json::to_vec(&value).expect("a JSON value serializes")
        } else {
            json.to_vec()
        }
    }

    /// [`Displays::describe`] on the bytes, without parsing the resource: the same result for
    /// what the mapping writes (compact JSON, each coding `{"system":"…","code":"…"…}`), at a
    /// fraction of the cost — parsing and re-serializing every resource made the national
    /// import a quarter slower. A coding object always starts with `"system"` (it has no `id`
    /// nor `extension`), and `{"system":"` cannot occur inside a JSON string (its quotes would
    /// be escaped). `None` (the caller parses) for anything else: JSON that is not compact, a
    /// system or code with an escape, a coding with a `version` or a `display` already.
    fn describe_compact(&self, json: &[u8]) -> Option<Vec<u8>> {
        const CODING: &[u8] = br#"{"system":""#;
        const CODE: &[u8] = br#","code":""#;
        if !json.starts_with(br#"{"resourceType":""#) {
            return None;
        }
        let mut out = Vec::with_capacity(json.len() + 256);
        let mut copied = 0;
        let mut at = 0;
        while let Some(found) = find(&json[at..], CODING) {
            let system_start = at + found + CODING.len();
            let (system, after_system) = plain_string(json, system_start)?;
            at = after_system;
            if json[after_system..].starts_with(br#","version":"#) {
                return None;
            }
            if !json[after_system..].starts_with(CODE) {
                continue; // an identifier or a contact point: not a coding
            }
            let (code, after_code) = plain_string(json, after_system + CODE.len())?;
            at = after_code;
            if json[after_code..].starts_with(br#","display":"#) {
                return None;
            }
            if let Some(label) = self.get(system, code) {
                out.extend_from_slice(&json[copied..after_code]);
                out.extend_from_slice(br#","display":"#);
                serde_json::to_writer(&mut out, label).expect("a string serializes");
                copied = after_code;
            }
        }
        out.extend_from_slice(&json[copied..]);
        Some(out)
    }

    /// [`Displays::describe`] on a parsed value; whether any display was set.
    pub fn describe_value(&self, value: &mut serde_json::Value) -> bool {
        match value {
            serde_json::Value::Object(object) => {
                let mut changed = self.describe_coding(object);
                for member in object.values_mut() {
                    changed |= self.describe_value(member);
                }
                changed
            }
            serde_json::Value::Array(items) => items
                .iter_mut()
                .fold(false, |changed, item| self.describe_value(item) | changed),
            _ => false,
        }
    }

    /// Sets the display of `object` if it is a coding with a known label.
    fn describe_coding(&self, object: &mut serde_json::Map<String, serde_json::Value>) -> bool {
        let (Some(system), Some(code)) = (
            object.get("system").and_then(|s| s.as_str()),
            object.get("code").and_then(|c| c.as_str()),
        ) else {
            return false;
        };
        let Some(label) = self.get(system, code) else {
            return false;
        };
        let label = serde_json::Value::String(label.to_owned());
        // Coding's element order: system, version, code, display.
        let at = object
            .keys()
            .position(|k| k == "code")
            .map_or(object.len(), |i| i + 1);
        object.shift_insert(at, "display".to_owned(), label);
        true
    }
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The JSON string whose content starts at `start` (just after its opening quote) and the
/// position just after its closing quote; `None` if it holds an escape (or is not valid
/// UTF-8, or does not end).
fn plain_string(json: &[u8], start: usize) -> Option<(&str, usize)> {
    let len = json[start..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\')?;
    let end = start + len;
    if json[end] != b'"' {
        return None;
    }
    Some((std::str::from_utf8(&json[start..end]).ok()?, end + 1))
}

/// The code systems a reader of the labels needs to tell codes apart: which systems hold
/// professions, savoir-faire (by type), diplomas, activity codes, establishment categories and
/// legal statuses, healthcare activities, heavy equipment and social equipment.
/// The same functions choose them as choose the systems of the codings.
pub fn systems() -> serde_json::Value {
    let savoir_faire: Vec<serde_json::Value> = nos::SAVOIR_FAIRE_TYPES
        .iter()
        .filter_map(|t| Some(json!({"type": t, "system": nos::savoir_faire_system(t)?})))
        .collect();
    json!({
        "profession": [nos::nos(nos::profession_system("10")), nos::nos(nos::profession_system("93"))],
        "categorieProfessionnelle": nos::nos(nos::CATEGORIE_PROFESSIONNELLE),
        "typeSavoirFaire": nos::nos(nos::TYPE_SAVOIR_FAIRE),
        "savoirFaire": savoir_faire,
        "typeDiplome": nos::nos(nos::TYPE_DIPLOME),
        "typeAutorisation": nos::nos(nos::TYPE_AUTORISATION),
        "disciplineAutorisation": nos::nos(nos::DISCIPLINE_AUTORISATION),
        "genreActivite": nos::nos(nos::GENRE_ACTIVITE),
        "modeExercice": nos::nos(nos::MODE_EXERCICE),
        "fonction": nos::nos(nos::FONCTION),
        "sectionTableau": nos::nos(nos::SECTION_TABLEAU_CNOP),
        "secteurActivite": nos::nos(nos::SECTEUR_ACTIVITE),
        "categorieEtablissement": nos::nos(nos::CATEGORIE_ETABLISSEMENT),
        "typeBal": nos::nos(nos::TYPE_BAL),
        "statutJuridique": nos::nos(nos::STATUT_JURIDIQUE),
        "activiteSanitaire": nos::nos(nos::ACTIVITE_SANITAIRE),
        "modaliteActivite": nos::nos(nos::MODALITE_ACTIVITE),
        "formeActivite": nos::nos(nos::FORME_ACTIVITE),
        "equipementLourd": nos::nos(nos::EQUIPEMENT_LOURD),
        "disciplineSociale": nos::nos(nos::DISCIPLINE_SOCIALE),
        "typeActiviteSociale": nos::nos(nos::TYPE_ACTIVITE_SOCIALE),
        "clientele": nos::nos(nos::CLIENTELE),
        "autorisationExercice": nos::EXT_PRACTITIONER_AUTHORIZATION,
        "messagerie": nos::EXT_MAILBOX_MSS_METADATA,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slow path of [`Displays::describe`]: parse, set, serialize.
    fn described_by_parsing(displays: &Displays, json: &[u8]) -> Vec<u8> {
        let mut value: serde_json::Value = serde_json::from_slice(json).unwrap();
        displays.describe_value(&mut value);
        serde_json::to_vec(&value).unwrap()
    }

    fn displays() -> Displays {
        let mut table = BTreeMap::new();
        let codes = |pairs: &[(&str, &str)]| -> Codes {
            pairs
                .iter()
                .map(|(c, l)| (c.to_string(), l.to_string()))
                .collect()
        };
        table.insert(
            "https://x/TRE-G15".to_owned(),
            codes(&[("10", "Médecin"), ("21", "Pharmacien \"d'officine\"")]),
        );
        table.insert("https://x/TRE-R23".to_owned(), codes(&[("L", "Libéral")]));
        Displays(table)
    }

    #[test]
    fn the_byte_path_describes_as_parsing_does() {
        let displays = displays();
        let resource = serde_json::json!({
            "resourceType": "PractitionerRole", "id": "pr-1",
            "identifier": [{"type": {"coding": [{"system": "https://x/0203", "code": "IDNPS"}]},
                            "system": "urn:oid:1.2.250.1.71.4.2.1", "value": "810"}],
            "code": [{"coding": [{"system": "https://x/TRE-G15", "code": "10"},
                                 {"system": "https://x/TRE-G15", "code": "99"}]},
                     {"coding": [{"system": "https://x/TRE-G15", "code": "21"}]}],
            "extension": [{"url": "u", "valueCoding": {"system": "https://x/TRE-R23", "code": "L"}}],
            "telecom": [{"system": "phone", "value": "0102030405"}],
            "position": {"latitude": 45.764043, "longitude": 4.835659},
            "text": "a string with {\"system\":\"https://x/TRE-G15\",\"code\":\"10\"} inside",
        });
        let json = serde_json::to_vec(&resource).unwrap();
        let fast = displays
            .describe_compact(&json)
            .expect("compact JSON takes the byte path");
        assert_eq!(
            String::from_utf8(fast.clone()).unwrap(),
            String::from_utf8(described_by_parsing(&displays, &json)).unwrap()
        );
        let text = String::from_utf8(fast).unwrap();
        assert!(
            text.contains(r#""code":"10","display":"Médecin"}"#),
            "{text}"
        );
        assert!(
            text.contains(r#""display":"Pharmacien \"d'officine\"""#),
            "{text}"
        );
        assert!(
            text.contains(r#""code":"L","display":"Libéral"}"#),
            "{text}"
        );
        assert!(text.contains(r#""code":"99"}"#), "{text}");
        assert_eq!(displays.describe(&json), text.as_bytes());
    }

    #[test]
    fn what_the_byte_path_cannot_read_is_parsed() {
        let displays = displays();
        let pretty = br#"{ "resourceType": "Practitioner", "code": {"system":"https://x/TRE-G15","code":"10"} }"#;
        let versioned = br#"{"resourceType":"Practitioner","c":{"system":"https://x/TRE-G15","version":"1","code":"10"}}"#;
        let escaped =
            br#"{"resourceType":"Practitioner","c":{"system":"https:\/\/x\/TRE-G15","code":"10"}}"#;
        for json in [&pretty[..], &versioned[..], &escaped[..]] {
            assert_eq!(displays.describe_compact(json), None);
            let described = String::from_utf8(displays.describe(json)).unwrap();
            assert!(described.contains(r#""display":"Médecin""#), "{described}");
        }
    }
    use crate::extract::rpps::Layout;
    use crate::extract::rpps::tests::HEADER_56;

    #[test]
    fn labels_are_found_by_the_system_and_code_of_their_coding() {
        let layout = Layout::from_header(HEADER_56).unwrap();
        let mut fields = vec![""; 57];
        fields[2] = "810000000001";
        fields[9] = "10";
        fields[10] = "Médecin";
        fields[13] = "S";
        fields[14] = "Spécialité ordinale";
        fields[15] = "SM26";
        fields[16] = "Qualifié en Médecine Générale";
        fields[17] = "L";
        fields[18] = "Libéral";
        fields[54] = "GENR01";
        fields[55] = "Activité de soin et de pharmacie";
        let line = fields.join("|");
        let row = layout.split(&line).unwrap();
        let mut labels = Labels::default();
        labels.rpps_row(&row);
        // A second row with another label for the same code does not replace the first.
        let line = line.replace("Médecin", "Medecin");
        labels.rpps_row(&layout.split(&line).unwrap());

        let g15 = nos::nos("TRE_G15-ProfessionSante");
        assert_eq!(labels.get(&g15, "10").as_deref(), Some("Médecin"));
        assert_eq!(
            labels
                .get(&nos::nos("TRE_R38-SpecialiteOrdinale"), "SM26")
                .as_deref(),
            Some("Qualifié en Médecine Générale")
        );
        assert_eq!(
            labels.get(&nos::nos(nos::MODE_EXERCICE), "L").as_deref(),
            Some("Libéral")
        );
        assert_eq!(
            labels
                .get(&nos::nos(nos::GENRE_ACTIVITE), "GENR01")
                .as_deref(),
            Some("Activité de soin et de pharmacie")
        );
        // Empty codes are not noted.
        assert_eq!(labels.get(&nos::nos(nos::FONCTION), ""), None);
        let json: serde_json::Value = serde_json::from_slice(&labels.to_json()).unwrap();
        assert_eq!(json[&g15]["10"], "Médecin");
    }

    #[test]
    fn finess_records_label_their_codes_in_the_mappings_systems() {
        let mut labels = Labels::default();
        labels.legal_entity(&LegalEntity {
            statutjuridique: "13".into(),
            libstatutjuridique: "Etb.Public Communal Hospit.".into(),
            categetab: "355".into(),
            libcategetab: "Centre Hospitalier (C.H.)".into(),
            ..Default::default()
        });
        labels.care_activity(&CareActivity {
            activite: "01".into(),
            libactivite: "Médecine".into(),
            modalite: "02".into(),
            libmodalite: "Hospitalisation complète".into(),
            forme: "07".into(),
            libforme: "Chirurgie ambulatoire".into(),
            ..Default::default()
        });
        labels.social_equipment(&SocialEquipment {
            de: "924".into(),
            libde: "Accueil pour personnes âgées".into(),
            ta: "21".into(),
            libta: "Accueil de jour".into(),
            client: "436".into(),
            libclient: "Alzheimer, mal appar".into(),
            ..Default::default()
        });
        labels.heavy_equipment(&HeavyEquipment {
            eml: "05602".into(),
            libeml: "Scanographe à utilisation médicale".into(),
            ..Default::default()
        });
        let label = |name: &str, code: &str| labels.get(&nos::nos(name), code);
        let expected = [
            (nos::STATUT_JURIDIQUE, "13", "Etb.Public Communal Hospit."),
            (
                nos::CATEGORIE_ETABLISSEMENT,
                "355",
                "Centre Hospitalier (C.H.)",
            ),
            (nos::ACTIVITE_SANITAIRE, "01", "Médecine"),
            (nos::MODALITE_ACTIVITE, "02", "Hospitalisation complète"),
            (nos::FORME_ACTIVITE, "07", "Chirurgie ambulatoire"),
            (
                nos::DISCIPLINE_SOCIALE,
                "924",
                "Accueil pour personnes âgées",
            ),
            (nos::TYPE_ACTIVITE_SOCIALE, "21", "Accueil de jour"),
            (nos::CLIENTELE, "436", "Alzheimer, mal appar"),
            (
                nos::EQUIPEMENT_LOURD,
                "05602",
                "Scanographe à utilisation médicale",
            ),
        ];
        for (system, code, text) in expected {
            assert_eq!(
                label(system, code).as_deref(),
                Some(text),
                "{system} {code}"
            );
        }
        let systems = systems();
        assert_eq!(systems["equipementLourd"], nos::nos(nos::EQUIPEMENT_LOURD));
        assert_eq!(systems["clientele"], nos::nos(nos::CLIENTELE));
    }

    #[test]
    fn merging_keeps_the_labels_already_known() {
        let mut a = Labels::default();
        a.note("s", "1", "un");
        let mut b = Labels::default();
        b.note("s", "1", "one");
        b.note("s", "2", "two");
        a.merge(b);
        assert_eq!(a.get("s", "1").as_deref(), Some("un"));
        assert_eq!(a.get("s", "2").as_deref(), Some("two"));
    }
}
