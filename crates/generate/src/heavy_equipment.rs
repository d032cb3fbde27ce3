//! FINESS heavy equipment: the `etalab-cs1100504` writer (`equipmateriellourd` records, UTF-8).
//!
//! Hospitals hold the units: a CHR 2 to 4, a CH 0 to 2 (0.6 on average), a clinic 0 to 2 (0.4), a
//! former local hospital rarely one; about 0.8 per hospital, hence about 5 500 units for 100 000
//! establishments, the order of the French fleet (some 1 300 scanners, 1 100 MRI, the nuclear
//! medicine cameras). The first hospital, a CHR, holds 18 more (at least 20 units in any file:
//! see [`FIRST_HOSPITAL_UNITS`]). About 90 % carry an ARHGOS authorisation number, so both the as-dp-device
//! and the generic as-device claims occur; a few lines write their dates `DD/MM/YYYY`. The file has
//! no brand, model or serial number, like the real one.

use rand::Rng;

use super::finess::{Directory, Establishment, push_record};
use super::finess_codes::{ARHGOS_REGIONS, HEAVY_EQUIPMENT, MRI, SCANNER};
use super::finess_days::Records;
use super::legal_entities::LegalEntities;
use super::random::{
    GenRng, Weighted, date_between, date_until_extraction, derived_rng, digits, domain, percent,
    pick_str,
};
use super::site_files::day_month_year;
use super::tables::Code;

/// The record tag.
pub(crate) const TAG: &str = "equipmateriellourd";

/// One `equipmateriellourd` record.
#[derive(Debug, Clone)]
pub(crate) struct Unit {
    pub kind: &'static Code,
    pub authorisation: String,
    /// ARHGOS authorisation and implementation numbers (both empty for about 10 %).
    pub arhgos: String,
    pub implementation: String,
    pub authorised: String,
    pub in_service: String,
    /// Dates written `DD/MM/YYYY`.
    pub day_first: bool,
}

/// The day-1 units of each owner (hospital) of `owners`.
pub(crate) fn initial(seed: u64, directory: &Directory, owners: &[u32]) -> Vec<Vec<Unit>> {
    let kinds = Weighted::new(HEAVY_EQUIPMENT.iter().map(|(_, w)| *w));
    owners
        .iter()
        .enumerate()
        .map(|(owner, &i)| {
            let est = &directory.establishments[i as usize];
            let mut rng = derived_rng(seed, domain::HEAVY_EQUIPMENT, u64::from(i));
            let mut units: Vec<Unit> = (0..unit_count(&mut rng, est))
                .map(|_| {
                    let kind = &HEAVY_EQUIPMENT[kinds.sample(&mut rng)].0;
                    unit(&mut rng, kind, false)
                })
                .collect();
            showcase(&mut rng, owner, &mut units);
            units
        })
        .collect()
}

/// Units of the first hospital (a CHR, a university hospital's imaging department) besides its
/// random ones: with them every file holds at least 20 units, so that a day's removal (one unit
/// at least, forced) deactivates at most 5 % of the Devices, which the import's shrink guard
/// accepts, even in a 100-person file.
const FIRST_HOSPITAL_UNITS: usize = 18;

/// The first hospital (a CHR) always has a scanner and an MRI with their ARHGOS numbers, and
/// [`FIRST_HOSPITAL_UNITS`] in all besides its random ones; the second (a CH) a scanner without
/// ARHGOS number (claims the generic profile) with `DD/MM/YYYY` dates, so that the smallest file
/// has each.
fn showcase(rng: &mut GenRng, owner: usize, units: &mut Vec<Unit>) {
    match owner {
        0 => {
            let kinds = Weighted::new(HEAVY_EQUIPMENT.iter().map(|(_, w)| *w));
            for _ in 2..FIRST_HOSPITAL_UNITS {
                let kind = &HEAVY_EQUIPMENT[kinds.sample(rng)].0;
                units.insert(0, unit(rng, kind, false));
            }
            units.insert(0, unit(rng, &MRI, false));
            units.insert(0, unit(rng, &SCANNER, false));
            units[0].arhgos = arhgos(rng);
            units[1].arhgos = arhgos(rng);
            units[0].implementation = arhgos(rng);
            units[1].implementation = arhgos(rng);
        }
        1 => {
            let mut scanner = unit(rng, &SCANNER, false);
            scanner.arhgos.clear();
            scanner.implementation.clear();
            scanner.day_first = true;
            units.insert(0, scanner);
        }
        _ => {}
    }
}

/// How many units a hospital holds, by category.
fn unit_count(rng: &mut GenRng, est: &Establishment) -> usize {
    let draw = rng.random_range(0..100);
    match est.category.code {
        "101" => rng.random_range(2..=4),
        "355" => usize::from(draw >= 55) + usize::from(draw >= 85),
        "365" => usize::from(draw >= 70) + usize::from(draw >= 90),
        _ => usize::from(draw >= 95),
    }
}

/// A unit of `kind`, authorised between 2000 and 2024 (`recent`: in 2025–2026, for the units a day
/// adds), put into service within two years for 95 % of them.
fn unit(rng: &mut GenRng, kind: &'static Code, recent: bool) -> Unit {
    let authorised = if recent {
        date_until_extraction(rng, 2025)
    } else {
        date_between(rng, 2000, 2024)
    };
    let year: u32 = authorised[..4].parse().unwrap_or(2020);
    let in_service = if recent || percent(rng, 5) {
        String::new()
    } else {
        date_between(rng, year, (year + 1).min(2025))
    };
    let with_arhgos = percent(rng, 90);
    Unit {
        kind,
        authorisation: format!("99{}", digits(rng, 7)),
        arhgos: if with_arhgos {
            arhgos(rng)
        } else {
            String::new()
        },
        implementation: if with_arhgos {
            arhgos(rng)
        } else {
            String::new()
        },
        authorised,
        in_service,
        day_first: percent(rng, 3),
    }
}

/// An ARHGOS number, `RR-YY-NNNNN` (region, year, sequence).
fn arhgos(rng: &mut GenRng) -> String {
    format!(
        "{}-{}-{}",
        pick_str(rng, ARHGOS_REGIONS),
        digits(rng, 2),
        digits(rng, 5)
    )
}

/// Appends one unit's 11-field line: legal entity (1), equipment (3–4), authorisations (5–8), the
/// establishment (**9**, not 1), date put into service (10).
pub(crate) fn push_line(
    out: &mut String,
    entities: &LegalEntities,
    est: &Establishment,
    unit: &Unit,
) {
    let date = |iso: &str| {
        if unit.day_first {
            day_month_year(iso)
        } else {
            iso.to_string()
        }
    };
    let (authorised, in_service) = (date(&unit.authorised), date(&unit.in_service));
    push_record(
        out,
        TAG,
        &[
            &est.ej,
            entities.name_of(est),
            unit.kind.code,
            unit.kind.label,
            &unit.authorisation,
            &unit.arhgos,
            &unit.implementation,
            &authorised,
            &est.et,
            &in_service,
        ],
    );
}

/// Event kinds of the heavy equipment file.
pub(crate) const REMOVED: usize = 0;
pub(crate) const ADDED: usize = 1;

/// The heavy equipment file seen by the day engine: a unit is removed (its Device becomes
/// inactive) or one is added. The first two hospitals never lose a unit (their showcases stay).
pub(crate) struct Evolution {
    /// Removed, added (parts per million per hospital and day).
    pub rates: [u32; 2],
}

impl Records for Evolution {
    type Item = Unit;
    const FILE: u64 = 2;

    fn rates(&self) -> &[u32] {
        &self.rates
    }

    fn can_apply(&self, kind: usize, owner: usize, items: &[Unit]) -> bool {
        kind == ADDED || (owner >= 2 && !items.is_empty())
    }

    fn apply(
        &self,
        kind: usize,
        _owner: usize,
        _day: u32,
        rng: &mut GenRng,
        items: &mut Vec<Unit>,
    ) {
        if kind == REMOVED {
            let at = rng.random_range(0..items.len());
            items.remove(at);
        } else {
            let kinds = Weighted::new(HEAVY_EQUIPMENT.iter().map(|(_, w)| *w));
            let kind = &HEAVY_EQUIPMENT[kinds.sample(rng)].0;
            items.push(unit(rng, kind, true));
        }
    }
}
