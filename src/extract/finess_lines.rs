//! The records of the FINESS extractions other than the establishments file, one line at a
//! time: each field taken at its confirmed index (docs/formats.md §4.5–§4.8), extra trailing
//! fields accepted and ignored, too few fields or a missing key reported.
//!
//! Also the file-level shape check of the unconfirmed social-equipment columns (decision D4):
//! a position no official sheet confirms is used only when every line of the file agrees with
//! what it is supposed to hold.

use super::error::RowError;
use super::finess_records::{CareActivity, HeavyEquipment, LegalEntity, SocialEquipment};

/// Fields a `structureej` line must have (tag and 0–22); some parsers see one more.
pub const LEGAL_ENTITY_FIELDS: usize = 23;
/// Fields an `equipmateriellourd` line must have (the official sheet's 11).
pub const HEAVY_EQUIPMENT_FIELDS: usize = 11;
/// Fields an `equipementsocial` line must have: the confirmed 0–9 (15, `indsupinst`, is read
/// when present).
pub const SOCIAL_EQUIPMENT_FIELDS: usize = 10;
/// Fields an `activiteoffresoin` line must have: the confirmed 0–12.
pub const CARE_ACTIVITY_FIELDS: usize = 13;
/// Fields a `structureet` link of the activity and equipment files must have (tag, the
/// establishment, its legal entity).
pub const SITE_LINK_FIELDS: usize = 3;

/// Refuses a line with fewer than `min` fields; more are accepted (issue item 1).
fn at_least(fields: &[String], min: usize, tag: &str) -> Result<(), RowError> {
    if fields.len() < min {
        return Err(RowError::FieldCount {
            expected: format!("at least {min} fields in a `{tag}` record"),
            found: fields.len(),
        });
    }
    Ok(())
}

/// The field at `index`, taken out of the line; empty when the line is shorter.
fn take(fields: &mut [String], index: usize) -> String {
    fields
        .get_mut(index)
        .map(std::mem::take)
        .unwrap_or_default()
}

/// Fails with [`RowError::MissingKey`] when `value` is empty.
fn required(value: &str, name: &'static str) -> Result<(), RowError> {
    if value.is_empty() {
        return Err(RowError::MissingKey(name));
    }
    Ok(())
}

/// A `structureej` line: a legal entity, keyed by `nofinessej` (1).
pub fn legal_entity(line: u64, fields: &mut [String]) -> Result<LegalEntity, RowError> {
    at_least(fields, LEGAL_ENTITY_FIELDS, "structureej")?;
    let mut f = |i| take(fields, i);
    let entity = LegalEntity {
        line,
        nofinessej: f(1),
        rs: f(2),
        rslongue: f(3),
        complrs: f(4),
        numvoie: f(5),
        typvoie: f(6),
        voie: f(7),
        compvoie: f(8),
        compldistrib: f(9),
        lieuditbp: f(10),
        commune: f(11),
        ligneacheminement: f(12),
        departement: f(13),
        libdepartement: f(14),
        telephone: f(15),
        statutjuridique: f(16),
        libstatutjuridique: f(17),
        categetab: f(18),
        libcategetab: f(19),
        siren: f(20),
        codeape: f(21),
        datecrea: iso_date(f(22)),
    };
    required(&entity.nofinessej, "nofinessej")?;
    Ok(entity)
}

/// An `equipmateriellourd` line: a heavy equipment unit, installed in the establishment of
/// field 9 (field 1 is the legal entity).
pub fn heavy_equipment(line: u64, fields: &mut [String]) -> Result<HeavyEquipment, RowError> {
    at_least(fields, HEAVY_EQUIPMENT_FIELDS, "equipmateriellourd")?;
    let mut f = |i| take(fields, i);
    let unit = HeavyEquipment {
        line,
        nofinessej: f(1),
        rsej: f(2),
        eml: f(3),
        libeml: f(4),
        noautor: f(5),
        noautorarhgos: f(6),
        noimplarhgos: f(7),
        dateautor: iso_date(f(8)),
        nofinesset: f(9),
        datemeo: iso_date(f(10)),
    };
    required(&unit.nofinesset, "nofinesset")?;
    required(&unit.eml, "eml")?;
    Ok(unit)
}

/// An `equipementsocial` line: a social or medico-social equipment of the establishment of
/// field 1. Every field present is read, the unconfirmed ones too: [`UnconfirmedShape`] then
/// decides, over the whole file, whether they are kept.
pub fn social_equipment(line: u64, fields: &mut [String]) -> Result<SocialEquipment, RowError> {
    at_least(fields, SOCIAL_EQUIPMENT_FIELDS, "equipementsocial")?;
    let mut f = |i| take(fields, i);
    let equipment = SocialEquipment {
        line,
        nofinesset: f(1),
        de: f(2),
        libde: f(3),
        ta: f(4),
        libta: f(5),
        client: f(6),
        libclient: f(7),
        sourceinfo: f(8),
        capinstot: f(9),
        capinstm: f(10),
        capinstf: f(11),
        capinsthab: f(12),
        ageminiinst: f(13),
        agemaxiinst: f(14),
        indsupinst: f(15),
        datederinst: iso_date(f(16)),
        datepremautor: iso_date(f(17)),
        capautot: f(18),
        capautm: f(19),
        capautf: f(20),
        capauthab: f(21),
        ageminiaut: f(22),
        agemaxiaut: f(23),
        indsupaut: f(24),
        dateautor: iso_date(f(25)),
        datemajaut: iso_date(f(26)),
        datemajinst: iso_date(f(27)),
    };
    required(&equipment.nofinesset, "nofinesset")?;
    Ok(equipment)
}

/// An `activiteoffresoin` line: an authorised healthcare activity of the establishment of
/// field 11 (field 1 is the legal entity). Fields from 13 on are unconfirmed and not read.
pub fn care_activity(line: u64, fields: &mut [String]) -> Result<CareActivity, RowError> {
    at_least(fields, CARE_ACTIVITY_FIELDS, "activiteoffresoin")?;
    let mut f = |i| take(fields, i);
    let activity = CareActivity {
        line,
        nofinessej: f(1),
        rsej: f(2),
        activite: f(3),
        libactivite: f(4),
        modalite: f(5),
        libmodalite: f(6),
        forme: f(7),
        libforme: f(8),
        noautor: f(9),
        dateautor: iso_date(f(10)),
        nofinesset: f(11),
        rset: f(12),
    };
    required(&activity.nofinesset, "nofinesset")?;
    required(&activity.activite, "activite")?;
    Ok(activity)
}

/// A `structureet` line of an activity or equipment file: only the link from the establishment
/// (1) to its legal entity (2); it never makes an Organization.
pub fn site_link(fields: &mut [String]) -> Result<(String, String), RowError> {
    at_least(fields, SITE_LINK_FIELDS, "structureet")?;
    let et = take(fields, 1);
    required(&et, "nofinesset")?;
    Ok((et, take(fields, 2)))
}

/// Dates are ISO `YYYY-MM-DD`; older extracts wrote `DD/MM/YYYY`. Anything else is kept as is
/// (and later ignored by the mapping, which only accepts valid dates).
pub fn iso_date(value: String) -> String {
    let parts: Vec<&str> = value.split('/').collect();
    match parts.as_slice() {
        [day, month, year] if day.len() == 2 && month.len() == 2 && year.len() == 4 => {
            format!("{year}-{month}-{day}")
        }
        _ => value,
    }
}

/// The result of the shape check of the unconfirmed social-equipment columns over a file: the
/// first line that does not fit, if any (docs/mapping.md A30).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UnconfirmedShape {
    pub first_misfit: Option<u64>,
}

impl UnconfirmedShape {
    /// Checks every record: capacities are unsigned integers, ages 0–130 with min ≤ max, dates
    /// ISO (already converted from `DD/MM/YYYY`), flags `O` or `N`; empty is always fine.
    pub fn check(records: &[SocialEquipment]) -> UnconfirmedShape {
        UnconfirmedShape {
            first_misfit: records.iter().find(|r| !fits(r)).map(|r| r.line),
        }
    }

    /// Whether any record holds a value in an unconfirmed field.
    pub fn any_value(records: &mut [SocialEquipment]) -> bool {
        records
            .iter_mut()
            .any(|r| unconfirmed_mut(r).iter().any(|f| !f.is_empty()))
    }

    /// Empties every unconfirmed field of `records` (their positions are not trusted).
    pub fn blank(records: &mut [SocialEquipment]) {
        for r in records {
            for field in unconfirmed_mut(r) {
                field.clear();
            }
        }
    }
}

/// The unconfirmed fields of a record (10–14, 16–27).
fn unconfirmed_mut(r: &mut SocialEquipment) -> [&mut String; 17] {
    [
        &mut r.capinstm,
        &mut r.capinstf,
        &mut r.capinsthab,
        &mut r.ageminiinst,
        &mut r.agemaxiinst,
        &mut r.datederinst,
        &mut r.datepremautor,
        &mut r.capautot,
        &mut r.capautm,
        &mut r.capautf,
        &mut r.capauthab,
        &mut r.ageminiaut,
        &mut r.agemaxiaut,
        &mut r.indsupaut,
        &mut r.dateautor,
        &mut r.datemajaut,
        &mut r.datemajinst,
    ]
}

/// Whether one record's unconfirmed fields hold what their supposed columns would.
fn fits(r: &SocialEquipment) -> bool {
    let capacities = [
        &r.capinstm,
        &r.capinstf,
        &r.capinsthab,
        &r.capautot,
        &r.capautm,
        &r.capautf,
        &r.capauthab,
    ];
    let dates = [
        &r.datederinst,
        &r.datepremautor,
        &r.dateautor,
        &r.datemajaut,
        &r.datemajinst,
    ];
    capacities.iter().all(|v| v.is_empty() || is_count(v))
        && ages_fit(&r.ageminiinst, &r.agemaxiinst)
        && ages_fit(&r.ageminiaut, &r.agemaxiaut)
        && dates.iter().all(|v| v.is_empty() || is_iso_date(v))
        && matches!(r.indsupaut.as_str(), "" | "O" | "N")
}

fn is_count(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_digit()) && value.parse::<u32>().is_ok()
}

/// An age range in years: each end 0–130 when present, min ≤ max when both are.
fn ages_fit(min: &str, max: &str) -> bool {
    let age = |v: &str| -> Option<Option<u32>> {
        if v.is_empty() {
            return Some(None);
        }
        v.parse::<u32>()
            .ok()
            .filter(|a| *a <= 130 && is_count(v))
            .map(Some)
    };
    match (age(min), age(max)) {
        (Some(Some(a)), Some(Some(b))) => a <= b,
        (Some(_), Some(_)) => true,
        _ => false,
    }
}

fn is_iso_date(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Vec<String> {
        line.split(';').map(str::to_owned).collect()
    }

    #[test]
    fn legal_entity_fields_land_at_their_index() {
        let line = "structureej;010099991;CH TESTVILLE;CENTRE HOSPITALIER DE TESTVILLE;;12;R;DES ESSAIS;B;BAT A;BP 3;451;01440 TESTVILLE;01;AIN;0400000000;13;Etablissement Public Communal d'Hospitalisation;355;Centre Hospitalier;260100000;8610Z;01/01/1970";
        let ej = legal_entity(2, &mut fields(line)).unwrap();
        assert_eq!(ej.nofinessej, "010099991");
        assert_eq!(
            (ej.compvoie.as_str(), ej.compldistrib.as_str()),
            ("B", "BAT A")
        );
        assert_eq!(ej.ligneacheminement, "01440 TESTVILLE");
        assert_eq!(ej.statutjuridique, "13");
        assert_eq!(ej.siren, "260100000");
        assert_eq!(ej.datecrea, "1970-01-01");
        let longer = format!("{line};extra");
        assert_eq!(
            legal_entity(2, &mut fields(&longer)).unwrap().codeape,
            "8610Z"
        );
        let short = line.rsplit_once(';').unwrap().0;
        assert_eq!(
            legal_entity(2, &mut fields(short)).unwrap_err().to_string(),
            "expected at least 23 fields in a `structureej` record, found 22"
        );
    }

    #[test]
    fn equipment_and_activities_name_their_establishment_where_it_is() {
        let eml = "equipmateriellourd;010099991;CH TESTVILLE;05602;Scanographe;1234;84-82-48769;84-82-1;2019-03-01;010099992;2019-09-01";
        let unit = heavy_equipment(5, &mut fields(eml)).unwrap();
        assert_eq!(
            (unit.nofinessej.as_str(), unit.nofinesset.as_str()),
            ("010099991", "010099992")
        );
        assert_eq!(unit.noautorarhgos, "84-82-48769");
        let act = "activiteoffresoin;010099991;CH TESTVILLE;01;Médecine;03;Hospitalisation complète;00;Pas de forme;1234;2019-03-01;010099992;CH TESTVILLE SITE;x;y";
        let activity = care_activity(6, &mut fields(act)).unwrap();
        assert_eq!(activity.nofinesset, "010099992");
        assert_eq!(activity.forme, "00");
        assert_eq!(activity.rset, "CH TESTVILLE SITE");
    }

    #[test]
    fn unconfirmed_social_columns_are_kept_only_when_every_line_fits() {
        let full = "equipementsocial;010099992;924;Accueil pour personnes âgées;11;Hébergement complet;436;Alzheimer;S;40;18;22;40;60;130;N;2020-01-01;2001-05-01;45;20;25;45;60;130;N;2001-05-01;2024-01-01;2024-01-01";
        let mut records = vec![social_equipment(2, &mut fields(full)).unwrap()];
        assert_eq!(UnconfirmedShape::check(&records).first_misfit, None);
        assert_eq!(records[0].agemaxiaut, "130");
        records
            .push(social_equipment(3, &mut fields(&full.replace(";18;22;", ";ABC;22;"))).unwrap());
        assert_eq!(UnconfirmedShape::check(&records).first_misfit, Some(3));
        UnconfirmedShape::blank(&mut records);
        assert!(
            records
                .iter()
                .all(|r| r.capinstm.is_empty() && r.ageminiaut.is_empty())
        );
        assert_eq!(records[0].capinstot, "40", "confirmed fields stay");
        assert_eq!(records[0].indsupinst, "N");
        let french = full.replace(";2020-01-01;2001-05-01;", ";01/01/2020;01/05/2001;");
        let record = social_equipment(4, &mut fields(&french)).unwrap();
        assert_eq!(record.datederinst, "2020-01-01");
        assert_eq!(UnconfirmedShape::check(&[record]).first_misfit, None);
        let inverted = full.replace(";60;130;N;2020", ";90;30;N;2020");
        let record = social_equipment(4, &mut fields(&inverted)).unwrap();
        assert_eq!(UnconfirmedShape::check(&[record]).first_misfit, Some(4));
    }
}
