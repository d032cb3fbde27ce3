//! The typed records of the FINESS etalab extractions other than the establishments file
//! (legal entities, heavy equipment, social equipment, authorised healthcare activities), and
//! the kinds of FINESS files.
//!
//! A record holds every field of its line as text, named as the FINESS specification names it;
//! an empty string is an absent value. Each field's doc gives its 0-based index in the line
//! (the tag is index 0), as `docs/formats.md` lists them; "unconfirmed" marks positions no
//! official sheet confirms. The mapping (`mapping::organization`,
//! `mapping::healthcare_service`, `mapping::device`) reads these records; the reader of each
//! kind fills them.

use std::fmt;

/// The kind of a FINESS etalab extraction, recognized from its record tags, never from its
/// file name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FinessKind {
    /// `etalab-cs1100507`: establishments (`structureet`) with their `geolocalisation`.
    #[default]
    Establishments,
    /// `etalab-cs1100501`: legal entities (`structureej`).
    LegalEntities,
    /// `etalab-cs1100504`: heavy equipment (`equipmateriellourd`).
    HeavyEquipment,
    /// `etalab-cs1100505`: social and medico-social equipment (`equipementsocial`).
    SocialEquipment,
    /// Authorised healthcare activities (`activiteoffresoin`; file number probably
    /// `cs1100503`, unconfirmed).
    CareActivities,
}

impl FinessKind {
    pub const ALL: [FinessKind; 5] = [
        FinessKind::Establishments,
        FinessKind::LegalEntities,
        FinessKind::HeavyEquipment,
        FinessKind::SocialEquipment,
        FinessKind::CareActivities,
    ];

    /// The record tag that marks a file of this kind (field 0 of its own records).
    pub fn tag(self) -> &'static str {
        match self {
            FinessKind::Establishments => "structureet",
            FinessKind::LegalEntities => "structureej",
            FinessKind::HeavyEquipment => "equipmateriellourd",
            FinessKind::SocialEquipment => "equipementsocial",
            FinessKind::CareActivities => "activiteoffresoin",
        }
    }

    /// What the file holds, for people (reports, errors, logs).
    pub fn describe(self) -> &'static str {
        match self {
            FinessKind::Establishments => "FINESS establishments (etalab-cs1100507)",
            FinessKind::LegalEntities => "FINESS legal entities (etalab-cs1100501)",
            FinessKind::HeavyEquipment => "FINESS heavy equipment (etalab-cs1100504)",
            FinessKind::SocialEquipment => {
                "FINESS social and medico-social equipment (etalab-cs1100505)"
            }
            FinessKind::CareActivities => "FINESS authorised healthcare activities",
        }
    }

    /// The kind whose own records carry `tag`.
    pub fn of_tag(tag: &str) -> Option<FinessKind> {
        FinessKind::ALL.into_iter().find(|k| k.tag() == tag)
    }
}

impl fmt::Display for FinessKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// One `structureej` record (`etalab-cs1100501`): a FINESS legal entity (entité juridique).
/// Note that `compvoie` (8) comes before `compldistrib` (9), the reverse of `structureet`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegalEntity {
    /// 1-based line of the record, for reports and the "first wins" rule.
    pub line: u64,
    /// 1: the key, `[0-9][0-9AB][0-9]{7}`.
    pub nofinessej: String,
    /// 2
    pub rs: String,
    /// 3
    pub rslongue: String,
    /// 4
    pub complrs: String,
    /// 5
    pub numvoie: String,
    /// 6
    pub typvoie: String,
    /// 7
    pub voie: String,
    /// 8
    pub compvoie: String,
    /// 9
    pub compldistrib: String,
    /// 10
    pub lieuditbp: String,
    /// 11: INSEE commune code (without the département).
    pub commune: String,
    /// 12: postcode and routing locality.
    pub ligneacheminement: String,
    /// 13
    pub departement: String,
    /// 14
    pub libdepartement: String,
    /// 15
    pub telephone: String,
    /// 16: legal status (TRE_R72).
    pub statutjuridique: String,
    /// 17
    pub libstatutjuridique: String,
    /// 18: optional.
    pub categetab: String,
    /// 19
    pub libcategetab: String,
    /// 20
    pub siren: String,
    /// 21: NAF/APE code.
    pub codeape: String,
    /// 22: creation date (ISO once read).
    pub datecrea: String,
}

/// One `equipmateriellourd` record (`etalab-cs1100504`): an authorised heavy equipment unit.
/// The EJ is field 1, the establishment field 9. The file gives no brand, model or serial
/// number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeavyEquipment {
    /// 1-based line of the record.
    pub line: u64,
    /// 1
    pub nofinessej: String,
    /// 2
    pub rsej: String,
    /// 3: equipment code, 5 digits (TRE_R272: `05602` scanner, `05701` MRI).
    pub eml: String,
    /// 4
    pub libeml: String,
    /// 5
    pub noautor: String,
    /// 6: ARHGOS authorisation number (`84-82-48769`), when known.
    pub noautorarhgos: String,
    /// 7: ARHGOS implementation number.
    pub noimplarhgos: String,
    /// 8
    pub dateautor: String,
    /// 9: the establishment.
    pub nofinesset: String,
    /// 10: date put into service.
    pub datemeo: String,
}

/// One `equipementsocial` record (`etalab-cs1100505`): a social or medico-social equipment of
/// an establishment (field 1). Fields 10–14 and 16–27 are unconfirmed: they stay empty unless
/// the whole file passed the reader's shape check (docs/formats.md).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SocialEquipment {
    /// 1-based line of the record.
    pub line: u64,
    /// 1: the establishment.
    pub nofinesset: String,
    /// 2: discipline (legacy FINESS code, TRE_R280).
    pub de: String,
    /// 3
    pub libde: String,
    /// 4: type of activity (TRE_R209: `11` hébergement complet, `21` accueil de jour).
    pub ta: String,
    /// 5
    pub libta: String,
    /// 6: clientèle (legacy FINESS code, TRE_R279).
    pub client: String,
    /// 7
    pub libclient: String,
    /// 8
    pub sourceinfo: String,
    /// 9: installed capacity, total.
    pub capinstot: String,
    /// 10 (unconfirmed)
    pub capinstm: String,
    /// 11 (unconfirmed)
    pub capinstf: String,
    /// 12 (unconfirmed)
    pub capinsthab: String,
    /// 13 (unconfirmed)
    pub ageminiinst: String,
    /// 14 (unconfirmed)
    pub agemaxiinst: String,
    /// 15: `O` when the installation is deleted, `N` otherwise; read only when present.
    pub indsupinst: String,
    /// 16 (unconfirmed)
    pub datederinst: String,
    /// 17 (unconfirmed)
    pub datepremautor: String,
    /// 18 (unconfirmed)
    pub capautot: String,
    /// 19 (unconfirmed)
    pub capautm: String,
    /// 20 (unconfirmed)
    pub capautf: String,
    /// 21 (unconfirmed)
    pub capauthab: String,
    /// 22 (unconfirmed)
    pub ageminiaut: String,
    /// 23 (unconfirmed)
    pub agemaxiaut: String,
    /// 24 (unconfirmed)
    pub indsupaut: String,
    /// 25 (unconfirmed)
    pub dateautor: String,
    /// 26 (unconfirmed)
    pub datemajaut: String,
    /// 27 (unconfirmed)
    pub datemajinst: String,
}

/// One `activiteoffresoin` record: an authorised healthcare activity of an establishment
/// (field 11; the EJ is field 1). Fields 9 and 10 are probable in meaning; fields from 13 on
/// are unconfirmed and not read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CareActivity {
    /// 1-based line of the record.
    pub line: u64,
    /// 1
    pub nofinessej: String,
    /// 2
    pub rsej: String,
    /// 3: activity (TRE_R274).
    pub activite: String,
    /// 4
    pub libactivite: String,
    /// 5: modality (TRE_R275).
    pub modalite: String,
    /// 6
    pub libmodalite: String,
    /// 7: form (TRE_R276, `07` chirurgie ambulatoire).
    pub forme: String,
    /// 8
    pub libforme: String,
    /// 9 (probable)
    pub noautor: String,
    /// 10 (probable)
    pub dateautor: String,
    /// 11: the establishment.
    pub nofinesset: String,
    /// 12
    pub rset: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_named_by_their_tags() {
        for kind in FinessKind::ALL {
            assert_eq!(FinessKind::of_tag(kind.tag()), Some(kind));
        }
        assert_eq!(
            FinessKind::of_tag("equipmateriellourd"),
            Some(FinessKind::HeavyEquipment)
        );
        assert_eq!(FinessKind::of_tag("geolocalisation"), None);
        assert!(
            FinessKind::SocialEquipment
                .to_string()
                .contains("cs1100505")
        );
    }
}
