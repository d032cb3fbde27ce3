//! FINESS social and medico-social equipment: the `etalab-cs1100505` writer (`equipementsocial`
//! records, **Windows-1252**, as the file's data sheet describes it).
//!
//! Each medico-social or social establishment whose category offers equipment (EHPAD, résidences
//! autonomie, IME, CMPP, lieux de vie, ESAT, CHRS, placement, MJPM services) has 1 to 4 lines, one
//! per (discipline, type d'activité, clientèle): about 2.7 lines per such establishment, hence
//! about 75 000 lines for 100 000 establishments (the real file: some 40 000 ESSMS × 2.5 ≈
//! 100 000; ours have fewer ESSMS). Every line has all 28 fields in the probable order of the
//! restricted file (fields 10–14 and 16–27 are unconfirmed): the values always pass the importer's
//! shape check (unsigned capacities, ages 0–130 with min ≤ max, ISO dates, `O`/`N` flags), so the
//! importer keeps those columns. About 3 % of installations are deleted (`indsupinst = O`).

use rand::Rng;
use rand::seq::SliceRandom;

use super::finess::{Directory, Establishment, push_record};
use super::finess_codes::{SOCIAL_OFFERS, SOCIAL_SOURCES, SocialOffer};
use super::finess_days::Records;
use super::random::{
    GenRng, date_between, date_until_extraction, derived_rng, domain, percent, pick_str,
};

/// The record tag.
pub(crate) const TAG: &str = "equipementsocial";

/// Fields of a line after the tag (the tag is field 0; a line has 28 fields).
pub(crate) const FIELDS: usize = 27;

/// One `equipementsocial` record.
#[derive(Debug, Clone)]
pub(crate) struct Equipment {
    pub offer: &'static SocialOffer,
    pub source: &'static str,
    /// Installed capacity: total, men, women, habilitated for social assistance (empty = absent).
    pub installed: Capacity,
    pub ages: Option<(u32, u32)>,
    pub deleted: bool,
    pub last_installed: String,
    pub first_authorised: String,
    /// Authorised capacity.
    pub authorised: Capacity,
    pub authorisation_deleted: bool,
    pub authorisation_date: String,
    pub authorisation_updated: String,
    pub installation_updated: String,
}

/// A capacity: total, and optionally its split by sex and its part habilitated for social
/// assistance.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Capacity {
    pub total: u32,
    pub split: Option<(u32, u32)>,
    pub habilitated: Option<u32>,
}

/// The ESSMS offers of an establishment's category (none for the other categories).
pub(crate) fn offers_of(est: &Establishment) -> &'static [SocialOffer] {
    SOCIAL_OFFERS
        .iter()
        .find(|(code, _)| *code == est.category.code)
        .map_or(&[], |(_, offers)| offers)
}

/// The day-1 equipment of each owner of `owners`.
pub(crate) fn initial(seed: u64, directory: &Directory, owners: &[u32]) -> Vec<Vec<Equipment>> {
    owners
        .iter()
        .enumerate()
        .map(|(owner, &i)| {
            let est = &directory.establishments[i as usize];
            let mut rng = derived_rng(seed, domain::SOCIAL_EQUIPMENT, u64::from(i));
            let offers = offers_of(est);
            let mut rest: Vec<&'static SocialOffer> = offers.iter().skip(1).collect();
            rest.shuffle(&mut rng);
            let count = rng.random_range(1..=offers.len().min(4));
            let chosen = offers
                .iter()
                .take(1)
                .chain(rest.into_iter().take(count - 1));
            let mut lines: Vec<Equipment> = chosen.map(|o| equipment(&mut rng, o)).collect();
            if owner == 0 {
                showcase(&mut rng, offers, &mut lines);
            }
            lines
        })
        .collect()
}

/// The first owner (an EHPAD with a quoted name) has its three first offers, the Alzheimer day
/// care among them, and a deleted installation.
fn showcase(rng: &mut GenRng, offers: &'static [SocialOffer], lines: &mut Vec<Equipment>) {
    *lines = offers.iter().take(3).map(|o| equipment(rng, o)).collect();
    if let Some(line) = lines.get_mut(1) {
        line.deleted = true;
        line.authorisation_deleted = true;
    }
}

/// One equipment line of `offer`, consistent in itself (installed ≤ authorised, min age ≤ max).
fn equipment(rng: &mut GenRng, offer: &'static SocialOffer) -> Equipment {
    let total = rng.random_range(offer.capacity.0..=offer.capacity.1);
    let installed = capacity(rng, total);
    let extra = rng.random_range(0..=total / 10);
    let authorised = Capacity {
        total: total + extra,
        split: installed.split.map(|(m, f)| (m + extra, f)),
        habilitated: installed.habilitated.map(|h| h + extra),
    };
    let deleted = percent(rng, 3);
    let first_authorised = date_between(rng, 1975, 2020);
    let last_installed = date_between(rng, 2000, 2024);
    let authorisation_date = date_between(rng, 2005, 2024);
    Equipment {
        offer,
        source: pick_str(rng, SOCIAL_SOURCES),
        installed,
        ages: percent(rng, 80).then_some(offer.ages),
        deleted,
        authorisation_deleted: deleted && percent(rng, 50),
        // Updates come after what they update.
        authorisation_updated: date_until_extraction(rng, year(&authorisation_date)),
        installation_updated: date_until_extraction(rng, year(&last_installed)),
        last_installed,
        authorisation_date,
        first_authorised,
        authorised,
    }
}

/// The year of an ISO date.
fn year(iso: &str) -> u32 {
    iso[..4].parse().unwrap_or(2020)
}

/// A capacity of `total`, split by sex on 20 % of lines, habilitated in part on half of them.
fn capacity(rng: &mut GenRng, total: u32) -> Capacity {
    Capacity {
        total,
        split: percent(rng, 20).then(|| {
            let men = rng.random_range(0..=total);
            (men, total - men)
        }),
        habilitated: percent(rng, 50).then(|| rng.random_range(0..=total)),
    }
}

/// Appends one line: the establishment is field **1**; then discipline, activity type,
/// clientèle with their labels (2–7), source (8), installed capacity (9–12), installed ages
/// (13–14), installation deleted (15), dates (16–17), authorised capacity (18–21) and ages
/// (22–23), authorisation deleted (24), dates (25–27).
pub(crate) fn push_line(out: &mut String, est: &Establishment, e: &Equipment) {
    let o = e.offer;
    let number = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
    let flag = |deleted: bool| if deleted { "O" } else { "N" };
    let [inst, inst_m, inst_f, inst_hab] = capacity_fields(&e.installed);
    let [aut, aut_m, aut_f, aut_hab] = capacity_fields(&e.authorised);
    let (age_min, age_max) = (number(e.ages.map(|a| a.0)), number(e.ages.map(|a| a.1)));
    let fields: [&str; FIELDS] = [
        &est.et,
        o.discipline.code,
        o.discipline.label,
        o.activity.code,
        o.activity.label,
        o.clientele.code,
        o.clientele.label,
        e.source,
        &inst,
        &inst_m,
        &inst_f,
        &inst_hab,
        &age_min,
        &age_max,
        flag(e.deleted),
        &e.last_installed,
        &e.first_authorised,
        &aut,
        &aut_m,
        &aut_f,
        &aut_hab,
        &age_min,
        &age_max,
        flag(e.authorisation_deleted),
        &e.authorisation_date,
        &e.authorisation_updated,
        &e.installation_updated,
    ];
    push_record(out, TAG, &fields);
}

/// Total, men, women, habilitated, as the file writes them.
fn capacity_fields(c: &Capacity) -> [String; 4] {
    let (men, women) = c.split.map_or((String::new(), String::new()), |(m, f)| {
        (m.to_string(), f.to_string())
    });
    [
        c.total.to_string(),
        men,
        women,
        c.habilitated.map(|h| h.to_string()).unwrap_or_default(),
    ]
}

/// The social equipment file seen by the day engine: the installed capacity of a line still
/// installed changes (by up to 10 %, at least one place), dated the day's extraction date.
pub(crate) struct Evolution {
    pub capacity_ppm: u32,
}

impl Records for Evolution {
    type Item = Equipment;
    const FILE: u64 = 4;

    fn rates(&self) -> &[u32] {
        std::slice::from_ref(&self.capacity_ppm)
    }

    fn can_apply(&self, _kind: usize, _owner: usize, items: &[Equipment]) -> bool {
        items.iter().any(|e| !e.deleted)
    }

    fn apply(
        &self,
        _kind: usize,
        _owner: usize,
        day: u32,
        rng: &mut GenRng,
        items: &mut Vec<Equipment>,
    ) {
        let installed: Vec<usize> = (0..items.len()).filter(|&i| !items[i].deleted).collect();
        let line = &mut items[installed[rng.random_range(0..installed.len())]];
        let old = line.installed.total;
        let step = rng.random_range(1..=(old / 10).max(1));
        let total = if old > step && percent(rng, 50) {
            old - step
        } else {
            old + step
        };
        line.installed = Capacity {
            total,
            split: line
                .installed
                .split
                .map(|(m, _)| (m.min(total), total - m.min(total))),
            habilitated: line.installed.habilitated.map(|h| h.min(total)),
        };
        line.installation_updated = crate::extraction_date(day);
    }
}
