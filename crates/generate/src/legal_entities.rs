//! FINESS legal entities: the `etalab-cs1100501` writer (`structureej` records, UTF-8).
//!
//! One record per distinct legal entity (`nofinessej`) of the establishments directory, in order of
//! first appearance, except about 1 % left out (so the importer still builds a few stubs from the
//! establishments' references, and says how many), plus about 1 % legal entities that own no
//! establishment (holdings, associations managing only services elsewhere). Each is drawn from a
//! stream keyed by its rank, so adding legal entities never shifts another file.

use std::collections::HashMap;

use rand::Rng;

use super::finess::{Directory, Establishment, NumberKind, finess_number, push_record};
use super::finess_codes::{ASSOCIATION_STATUSES, COMPANY_STATUSES, PUBLIC_HOSPITAL_STATUSES};
use super::finess_days::Records;
use super::geo::{self, Address, ESTABLISHMENT_PROFILE};
use super::random::{
    GenRng, Weighted, date_between, derived_rng, domain, hash_str, mix, percent, pick,
};
use super::tables::{Category, Code, DEPARTMENTS, PLACE_NAMES, SiteKind};

/// The record tag.
pub(crate) const TAG: &str = "structureej";

/// Longest `rs` and `rslongue` FINESS uses.
const NAME_MAX: usize = 38;
const LONG_NAME_MAX: usize = 60;

/// First SIREN entity number of legal entities: establishments use 8 000 000 and up, group
/// cabinets 9 000 000 and up (one per 25 persons, so below 9 100 000 at national size).
const SIREN_BASE: u64 = 9_500_000;

/// Index of the establishment whose legal entity is always left out of the file, so that even
/// the smallest file has a stub to report (roster entry 13, the CMPP of the Nord without
/// geolocation).
const LEFT_OUT_SHOWCASE: usize = 13;

/// Establishments of the fixed roster (see `finess.rs`): their legal entities stay in the file.
const ROSTER_LEN: usize = 20;

/// One `structureej` record.
#[derive(Debug, Clone)]
pub(crate) struct LegalEntity {
    pub ej: String,
    pub name: String,
    pub long_name: String,
    pub address: Address,
    pub phone: String,
    pub status: &'static Code,
    pub category: Option<&'static Category>,
    pub siren: String,
    pub ape: &'static str,
    pub created: String,
    /// Written with one extra empty trailing field (some parsers of the real file see 23 fields).
    pub extra_field: bool,
}

/// The legal entities of the file, and the name of every legal entity of the directory (written or
/// left out) for the `rsej` columns of the other files.
pub(crate) struct LegalEntities {
    pub entities: Vec<LegalEntity>,
    names: HashMap<String, String>,
    /// Legal entities of the directory left out of the file.
    pub left_out: u64,
    /// Legal entities of the file that own no establishment.
    pub without_establishment: u64,
}

impl LegalEntities {
    /// The `rs` of a legal entity (the establishment's short name if it was left out).
    pub(crate) fn name_of<'a>(&'a self, est: &'a Establishment) -> &'a str {
        self.names
            .get(&est.ej)
            .map_or(&est.short_name, String::as_str)
    }
}

/// Draws the legal entities of the directory, deterministically from the seed.
pub(crate) fn build(seed: u64, directory: &Directory) -> LegalEntities {
    let mut first_site: HashMap<&str, usize> = HashMap::new();
    let mut order: Vec<usize> = Vec::new();
    for (i, est) in directory.establishments.iter().enumerate() {
        first_site.entry(&est.ej).or_insert_with(|| {
            order.push(i);
            i
        });
    }
    let mut entities = Vec::with_capacity(order.len() + order.len() / 100 + 1);
    let mut names = HashMap::with_capacity(order.len());
    let mut left_out = 0;
    for (rank, &site) in order.iter().enumerate() {
        let est = &directory.establishments[site];
        let mut rng = derived_rng(seed, domain::LEGAL_ENTITIES, rank as u64);
        let entity = of_establishment(&mut rng, rank as u64, est);
        names.insert(est.ej.clone(), entity.name.clone());
        if left_out_of_file(seed, site, &est.ej) {
            left_out += 1;
        } else {
            entities.push(entity);
        }
    }
    if let Some(first) = entities.first_mut() {
        first.extra_field = true;
    }
    let without_establishment = (order.len() as u64 / 100).max(1);
    for k in 0..without_establishment {
        let rank = order.len() as u64 + k;
        let mut rng = derived_rng(seed, domain::LEGAL_ENTITIES, rank);
        entities.push(without_site(&mut rng, rank, k));
    }
    LegalEntities {
        entities,
        names,
        left_out,
        without_establishment,
    }
}

/// Whether the legal entity first referenced by establishment `site` is left out of the file:
/// about 1 % of them, never one of the fixed first establishments' but always the showcase's.
fn left_out_of_file(seed: u64, site: usize, ej: &str) -> bool {
    site == LEFT_OUT_SHOWCASE
        || (site >= ROSTER_LEN
            && mix(seed, domain::LEGAL_ENTITIES, hash_str(ej)).is_multiple_of(100))
}

/// The legal entity of an establishment (its first one in the directory).
fn of_establishment(rng: &mut GenRng, rank: u64, est: &Establishment) -> LegalEntity {
    let category = est.category;
    let dept = est.address.department().map_or(0, |d| {
        DEPARTMENTS
            .iter()
            .position(|x| x.code == d.code)
            .unwrap_or(0)
    });
    let public_hospital = matches!(category.code, "101" | "355" | "106");
    let association_pct = match category.kind {
        SiteKind::Hospital | SiteKind::Pharmacy => 0,
        SiteKind::Care => 60,
        SiteKind::MedicoSocial | SiteKind::Social => 80,
    };
    let (status, name, long_name) = if public_hospital {
        let status = weighted(rng, PUBLIC_HOSPITAL_STATUSES);
        (status, est.short_name.clone(), est.long_name.clone())
    } else if est.short_name.contains('"') {
        // The legal entity of an establishment with quotes in its name has some too.
        let status = weighted(rng, ASSOCIATION_STATUSES);
        let subject = est.short_name.split('"').nth(1).unwrap_or_default();
        (status, format!("ASSOCIATION \"{subject}\""), String::new())
    } else if category.code != "365" && percent(rng, association_pct) {
        let status = weighted(rng, ASSOCIATION_STATUSES);
        let (name, long_name) = association_names(rng, &est.address.town);
        (status, name, long_name)
    } else {
        let status = weighted(rng, COMPANY_STATUSES);
        let name = truncate(
            &format!("{} {}", company_form(status), est.short_name),
            NAME_MAX,
        );
        (status, name, String::new())
    };
    LegalEntity {
        ej: est.ej.clone(),
        name,
        long_name,
        address: geo::french_address(rng, dept, ESTABLISHMENT_PROFILE),
        phone: optional_phone(rng, dept),
        status,
        category: percent(rng, 60).then_some(category),
        siren: siren(rng, rank),
        ape: if public_hospital {
            "8610Z"
        } else {
            pick_ape(rng, category)
        },
        created: date_between(rng, 1950, 2020),
        extra_field: false,
    }
}

/// A legal entity with no establishment in the directory: a holding company or an association.
fn without_site(rng: &mut GenRng, rank: u64, k: u64) -> LegalEntity {
    let dept = rng.random_range(0..DEPARTMENTS.len());
    let ej = finess_number(dept, NumberKind::LegalEntity, 99_999 - k as u32);
    let address = geo::french_address(rng, dept, ESTABLISHMENT_PROFILE);
    let (status, name, long_name, ape) = if percent(rng, 50) {
        let status = weighted(rng, ASSOCIATION_STATUSES);
        let (name, long_name) = association_names(rng, &address.town);
        (status, name, long_name, "9499Z")
    } else {
        let status = weighted(rng, COMPANY_STATUSES);
        let name = format!("{} GROUPE {}", company_form(status), pick(rng, PLACE_NAMES));
        (status, truncate(&name, NAME_MAX), String::new(), "7010Z")
    };
    LegalEntity {
        ej,
        name,
        long_name,
        phone: optional_phone(rng, dept),
        address,
        status,
        category: None,
        siren: siren(rng, rank),
        ape,
        created: date_between(rng, 1980, 2024),
        extra_field: false,
    }
}

/// Short and long names of an association; about 5 % carry quotes (written quoted, doubled).
fn association_names(rng: &mut GenRng, town: &str) -> (String, String) {
    let place = pick(rng, PLACE_NAMES);
    let name = if percent(rng, 5) {
        format!("ASSOCIATION \"{place}\"")
    } else {
        format!("ASSOCIATION {place}")
    };
    let long_name = if percent(rng, 40) {
        truncate(
            &format!("ASSOCIATION GESTIONNAIRE {place} DE {town}"),
            LONG_NAME_MAX,
        )
    } else {
        String::new()
    };
    (truncate(&name, NAME_MAX), long_name)
}

/// The usual abbreviation of a company's legal form, by statut juridique.
fn company_form(status: &Code) -> &'static str {
    match status.code {
        "72" => "SARL",
        "73" => "SA",
        _ => "SAS",
    }
}

/// A phone number for 85 % of legal entities.
fn optional_phone(rng: &mut GenRng, dept: usize) -> String {
    if percent(rng, 85) {
        geo::phone(rng, &DEPARTMENTS[dept])
    } else {
        String::new()
    }
}

/// A SIREN in the invented `99…` range for 90 % of legal entities, distinct per rank.
fn siren(rng: &mut GenRng, rank: u64) -> String {
    if percent(rng, 90) {
        format!("99{:07}", (SIREN_BASE + rank) % 10_000_000)
    } else {
        String::new()
    }
}

/// The establishment category's NAF code, or a general one when the category has none.
fn pick_ape(rng: &mut GenRng, category: &Category) -> &'static str {
    let ape = category.ape[rng.random_range(0..category.ape.len())];
    if ape.is_empty() { "8899B" } else { ape }
}

/// A code of a weighted table.
fn weighted(rng: &mut GenRng, table: &'static [(Code, u32)]) -> &'static Code {
    let sampler = Weighted::new(table.iter().map(|(_, w)| *w));
    &table[sampler.sample(rng)].0
}

/// The first `max` characters of `text`.
fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The legal entities file seen by the day engine: one owner per legal entity, one record each;
/// the event is an address change (the seat moves within its department).
pub(crate) struct Evolution {
    pub address_ppm: u32,
}

impl Records for Evolution {
    type Item = LegalEntity;
    const FILE: u64 = 1;

    fn rates(&self) -> &[u32] {
        std::slice::from_ref(&self.address_ppm)
    }

    fn can_apply(&self, _kind: usize, _owner: usize, items: &[LegalEntity]) -> bool {
        !items.is_empty()
    }

    fn apply(
        &self,
        _kind: usize,
        _owner: usize,
        _day: u32,
        rng: &mut GenRng,
        items: &mut Vec<LegalEntity>,
    ) {
        for entity in items.iter_mut() {
            let dept = match entity.address.place {
                geo::Place::France(dept) => dept,
                geo::Place::Abroad(_) => 0,
            };
            entity.address = geo::french_address(rng, dept, ESTABLISHMENT_PROFILE);
        }
    }
}

/// The file's text: manifest (dated `date`), then one `structureej` line per legal entity.
pub(crate) fn text(entities: &[Vec<LegalEntity>], date: &str) -> String {
    let mut out = format!("{}{date}\n", super::tables::FINESS_MANIFEST);
    for entity in entities.iter().flatten() {
        push_line(&mut out, entity);
    }
    out
}

/// The 22 fields after the tag (23 with the showcase's extra empty field). Note the order of
/// `compvoie` (8) before `compldistrib` (9), the reverse of `structureet`.
fn push_line(out: &mut String, e: &LegalEntity) {
    let a = &e.address;
    let dept = a.department();
    let dept_label = dept.map(|d| geo::upper_plain(d.label)).unwrap_or_default();
    let (category_code, category_label) = e.category.map_or(("", ""), |c| (c.code, c.label));
    let mut fields: Vec<&str> = vec![
        &e.ej,
        &e.name,
        &e.long_name,
        &a.recipient,
        &a.number,
        a.street_type.map_or("", |t| t.code),
        &a.street,
        a.repetition,
        &a.building,
        &a.distribution,
        a.finess_commune(),
        &a.routing,
        dept.map_or("", |d| d.finess_code),
        &dept_label,
        &e.phone,
        e.status.code,
        e.status.label,
        category_code,
        category_label,
        &e.siren,
        e.ape,
        &e.created,
    ];
    if e.extra_field {
        fields.push("");
    }
    push_record(out, TAG, &fields);
}
