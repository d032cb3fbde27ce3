//! The structure (practice site) part of an RPPS row: columns 20–47.
//!
//! A structure is a libéral cabinet (solo or shared by a group practice), a FINESS establishment, an
//! officine, or a "phantom" establishment whose FINESS number is deliberately absent from the FINESS
//! file. Shared structures are re-created from their number (group cabinets) or read from the FINESS
//! directory, so every row of a structure carries the same data — except for the occasional
//! deliberately conflicting spelling produced by [`Structure::conflicting_variant`].

use std::borrow::Cow;

use rand::Rng;

use super::finess::{self, Establishment, NumberKind};
use super::geo::{self, Address, CABINET_PROFILE, Place};
use super::names;
use super::random::{GenRng, derived_rng, domain, mix, percent, pick};
use super::tables::{ACCENTED_STREETS, DEPARTMENTS, PLACE_NAMES};

/// Domain of the per-establishment display flags (distinct from the generation domains).
const ESTABLISHMENT_VIEW: u64 = 101;

/// First SIREN entity number of group cabinets (solo cabinets use `0..8_000_000`).
const GROUP_SIREN_BASE: u64 = 9_000_000;

/// Share of foreign addresses among cabinets, per ten thousand.
const FOREIGN_PER_10K: u32 = 55;

/// The data of columns 20–47 of one row.
#[derive(Debug, Clone)]
pub(crate) struct Structure<'a> {
    pub siret: String,
    pub finess_site: String,
    pub finess_ej: String,
    pub id: String,
    pub name: Cow<'a, str>,
    pub brand: Cow<'a, str>,
    pub address: Cow<'a, Address>,
    pub phone: String,
    pub phone2: String,
    pub fax: String,
    pub email: String,
    /// Whether `Code commune`/`Libellé commune` are filled (often empty in the real file).
    pub show_commune: bool,
    /// Whether `Code Département`/`Libellé Département` are filled.
    pub show_department: bool,
    pub old_id: String,
}

impl Structure<'_> {
    /// Appends the 28 fields (columns 20–47), each followed by `|`.
    pub(crate) fn push_fields(&self, row: &mut String) {
        let a = &*self.address;
        let siren = self.siret.get(..9).unwrap_or("");
        let (type_code, type_label) = a.street_type.map_or(("", ""), |t| (t.code, t.label));
        let (country_code, country_label) = match a.place {
            Place::Abroad(country) => (country.code, country.label),
            Place::France(_) => ("", ""),
        };
        let (commune_code, commune_label) = if self.show_commune {
            (a.commune_code.as_str(), a.commune_label.as_str())
        } else {
            ("", "")
        };
        let (dept_code, dept_label) = match a.department() {
            Some(d) if self.show_department => (d.code, d.label),
            _ => ("", ""),
        };
        let fields: [&str; 28] = [
            &self.siret,
            siren,
            &self.finess_site,
            &self.finess_ej,
            &self.id,
            &self.name,
            &self.brand,
            &a.recipient,
            &a.building,
            &a.number,
            a.repetition,
            type_code,
            type_label,
            &a.street,
            &a.distribution,
            &a.routing,
            &a.postcode,
            commune_code,
            commune_label,
            country_code,
            country_label,
            &self.phone,
            &self.phone2,
            &self.fax,
            &self.email,
            dept_code,
            dept_label,
            &self.old_id,
        ];
        for field in fields {
            row.push_str(field);
            row.push('|');
        }
    }

    /// The same structure as another source spelled it: one small difference (accents in the street,
    /// missing number, abbreviated name, other phone…). Real files carry such conflicts across the rows
    /// of one structure.
    pub(crate) fn conflicting_variant(&self, rng: &mut GenRng) -> Structure<'static> {
        let mut address = (*self.address).clone();
        let mut name = self.name.to_string();
        let mut phone = self.phone.clone();
        match rng.random_range(0..5) {
            0 => match ACCENTED_STREETS
                .iter()
                .find(|(plain, _)| address.street == *plain)
            {
                Some((_, accented)) => address.street = (*accented).to_string(),
                None => address.street = address.street.replace("SAINT-", "ST "),
            },
            1 => {
                address.number.clear();
                address.repetition = "";
            }
            2 => name = name.replacen("CABINET MEDICAL", "CAB MED", 1) + " SCM",
            3 => address.routing = address.routing.replace(" CEDEX", "").to_lowercase(),
            _ => {
                if let Some(dept) = address.department() {
                    phone = geo::phone(rng, dept);
                }
            }
        }
        Structure {
            siret: self.siret.clone(),
            finess_site: self.finess_site.clone(),
            finess_ej: self.finess_ej.clone(),
            id: self.id.clone(),
            name: Cow::Owned(name),
            brand: Cow::Owned(self.brand.to_string()),
            address: Cow::Owned(address),
            phone,
            phone2: self.phone2.clone(),
            fax: self.fax.clone(),
            email: self.email.clone(),
            show_commune: self.show_commune,
            show_department: self.show_department,
            old_id: self.old_id.clone(),
        }
    }
}

/// How the person behind a solo cabinet is named on its sign.
pub(crate) struct Practitioner<'p> {
    pub family: &'p str,
    pub given: &'p str,
    pub doctor: bool,
    pub profession_code: &'static str,
    pub adeli_id: Option<&'p str>,
}

/// A solo cabinet: `C` + SIRET structure id, SIRET/SIREN filled, in `dept` or abroad.
pub(crate) fn solo_cabinet(
    rng: &mut GenRng,
    number: u64,
    dept: usize,
    foreign: bool,
    who: &Practitioner<'_>,
) -> Structure<'static> {
    let foreign = foreign || rng.random_range(0..10_000) < FOREIGN_PER_10K;
    let address = if foreign {
        geo::foreign_address(rng)
    } else {
        geo::french_address(rng, dept, CABINET_PROFILE)
    };
    let siret = finess::siret(rng, number);
    let old_id = match who.adeli_id {
        Some(adeli) if percent(rng, 50) => format!("0{adeli}00"),
        _ if percent(rng, 40) => format!("3{siret}"),
        _ => String::new(),
    };
    cabinet(rng, siret, solo_name(who), address, old_id)
}

/// The sign of a solo cabinet.
fn solo_name(who: &Practitioner<'_>) -> String {
    if who.doctor {
        return format!("CABINET DU DR {} {}", who.given.to_uppercase(), who.family);
    }
    let activity = match who.profession_code {
        "60" | "69" => "CABINET INFIRMIER",
        "70" => "CABINET DE KINESITHERAPIE",
        "50" => "CABINET DE SAGE-FEMME",
        "91" => "CABINET D'ORTHOPHONIE",
        "28" => "OPTIQUE",
        "26" => "AUDITION",
        "80" => "CABINET DE PODOLOGIE",
        _ => "CABINET",
    };
    format!("{activity} {}", who.family)
}

/// Common part of solo and group cabinets.
fn cabinet(
    rng: &mut GenRng,
    siret: String,
    name: String,
    address: Address,
    old_id: String,
) -> Structure<'static> {
    let dept = address.department();
    let phone = dept.map(|d| geo::phone(rng, d)).unwrap_or_default();
    let phone = if phone.is_empty() {
        phone
    } else {
        geo::phone_display(rng, phone)
    };
    let phone2 = match dept {
        Some(d) if percent(rng, 8) => geo::phone(rng, d),
        _ => String::new(),
    };
    let fax = match dept {
        Some(d) if percent(rng, 15) => geo::phone(rng, d),
        _ => String::new(),
    };
    Structure {
        id: format!("C{siret}"),
        siret,
        finess_site: String::new(),
        finess_ej: String::new(),
        email: if percent(rng, 3) {
            email_for(&name)
        } else {
            String::new()
        },
        name: Cow::Owned(name),
        brand: Cow::Borrowed(""),
        address: Cow::Owned(address),
        phone,
        phone2,
        fax,
        show_commune: percent(rng, 60),
        show_department: percent(rng, 75),
        old_id,
    }
}

/// An e-mail in the reserved `example.org` domain, derived from the structure name.
fn email_for(name: &str) -> String {
    let slug: String = geo::strip_accents(name)
        .to_lowercase()
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '.' })
        .collect();
    let slug = slug
        .split('.')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(".");
    format!("{slug}@example.org")
}

/// Group practices: a fixed number of shared cabinets per department (proportional to population),
/// each re-created on demand from its number so that all its rows agree.
pub(crate) struct GroupCabinets {
    seed: u64,
    counts: Vec<u64>,
    offsets: Vec<u64>,
}

impl GroupCabinets {
    /// About one group cabinet per 25 persons, at least one per department.
    pub(crate) fn new(seed: u64, persons: u64) -> Self {
        let total_weight: u64 = DEPARTMENTS.iter().map(|d| u64::from(d.weight)).sum();
        let wanted = persons / 25;
        let counts: Vec<u64> = DEPARTMENTS
            .iter()
            .map(|d| (wanted * u64::from(d.weight) / total_weight).max(1))
            .collect();
        let offsets = counts
            .iter()
            .scan(0u64, |acc, &n| {
                let start = *acc;
                *acc += n;
                Some(start)
            })
            .collect();
        GroupCabinets {
            seed,
            counts,
            offsets,
        }
    }

    /// A group cabinet of the department.
    pub(crate) fn pick(&self, rng: &mut GenRng, dept: usize) -> u64 {
        self.offsets[dept] + rng.random_range(0..self.counts[dept])
    }

    /// The structure of group cabinet `number`, identical at every call.
    pub(crate) fn structure(&self, number: u64) -> Structure<'static> {
        let dept = self
            .offsets
            .partition_point(|&start| start <= number)
            .saturating_sub(1);
        let mut rng = derived_rng(self.seed, domain::GROUP_CABINET, number);
        let rng = &mut rng;
        let foreign = rng.random_range(0..10_000) < FOREIGN_PER_10K;
        let address = if foreign {
            geo::foreign_address(rng)
        } else {
            geo::french_address(rng, dept, CABINET_PROFILE)
        };
        let siret = finess::siret(rng, GROUP_SIREN_BASE + number);
        let name = group_name(rng);
        let old_id = if percent(rng, 40) {
            format!("3{siret}")
        } else {
            String::new()
        };
        cabinet(rng, siret, name, address, old_id)
    }
}

/// The name of a group practice.
fn group_name(rng: &mut GenRng) -> String {
    let place = pick(rng, PLACE_NAMES);
    match rng.random_range(0..6) {
        0 => format!("CABINET MEDICAL {place}"),
        1 => format!("MAISON MEDICALE {place}"),
        2 => format!(
            "SCM {}-{}",
            names::simple_name(rng),
            names::simple_name(rng)
        ),
        3 => format!("CABINET PARAMEDICAL {place}"),
        4 => format!("POLE SANTE {place}"),
        _ => format!("CENTRE MEDICAL {place}"),
    }
}

/// The structure of an activity in FINESS establishment `index`. Officines get an `R` structure id,
/// other establishments `F` + FINESS number. Display flags are stable per establishment.
pub(crate) fn establishment<'a>(seed: u64, index: u32, est: &'a Establishment) -> Structure<'a> {
    let flags = mix(seed, ESTABLISHMENT_VIEW, u64::from(index));
    let officine = est.category.code == "620";
    let id = if officine {
        format!("R{}", 19_990_000_000u64 + u64::from(index))
    } else {
        format!("F{}", est.et)
    };
    let (name, brand) = if est.long_name.is_empty() {
        (Cow::Borrowed(est.short_name.as_str()), Cow::Borrowed(""))
    } else if officine {
        (
            Cow::Borrowed(est.long_name.as_str()),
            Cow::Borrowed(est.short_name.as_str()),
        )
    } else {
        (Cow::Borrowed(est.long_name.as_str()), Cow::Borrowed(""))
    };
    Structure {
        siret: est.siret.clone(),
        finess_site: est.et.clone(),
        finess_ej: est.ej.clone(),
        id,
        name,
        brand,
        address: Cow::Borrowed(&est.address),
        phone: est.phone.clone(),
        phone2: String::new(),
        fax: est.fax.clone(),
        email: String::new(),
        show_commune: flags % 100 >= 40,
        show_department: (flags >> 8) % 100 >= 25,
        old_id: if (flags >> 16).is_multiple_of(2) {
            format!("1{}", est.et)
        } else {
            String::new()
        },
    }
}

/// An establishment that is NOT in the FINESS file (its FINESS numbers use a marker the directory
/// never uses), as happens when the two extractions are taken at different times.
pub(crate) fn phantom_establishment(seed: u64, number: u64, dept: usize) -> Structure<'static> {
    let mut rng = derived_rng(seed, domain::PHANTOM_SITE, number);
    let rng = &mut rng;
    let sequence = u32::try_from(number % 100_000).unwrap_or(0);
    let et = finess::finess_number(dept, NumberKind::PhantomSite, sequence);
    let ej = if percent(rng, 70) {
        finess::finess_number(dept, NumberKind::PhantomLegalEntity, sequence)
    } else {
        String::new()
    };
    let name = match rng.random_range(0..3) {
        0 => format!("CLINIQUE {}", pick(rng, PLACE_NAMES)),
        1 => format!("CENTRE DE READAPTATION {}", pick(rng, PLACE_NAMES)),
        _ => format!("CENTRE DE SANTE {}", pick(rng, PLACE_NAMES)),
    };
    let address = geo::french_address(rng, dept, geo::ESTABLISHMENT_PROFILE);
    let phone = geo::phone(rng, &DEPARTMENTS[dept]);
    Structure {
        siret: String::new(),
        id: format!("F{et}"),
        finess_site: et,
        finess_ej: ej,
        name: Cow::Owned(name),
        brand: Cow::Borrowed(""),
        address: Cow::Owned(address),
        phone,
        phone2: String::new(),
        fax: String::new(),
        email: String::new(),
        show_commune: percent(rng, 60),
        show_department: percent(rng, 75),
        old_id: String::new(),
    }
}
