//! FINESS healthcare activities: the `etalab-cs1100503` writer (`activiteoffresoin` records,
//! UTF-8; the file number is unconfirmed, the importer recognises files by their tags).
//!
//! Every hospital holds authorisations, each a distinct (activité, modalité, forme) triple: a CHR 6
//! to 12, a CH 2 to 6, a clinic 1 to 5, a former local hospital 1 or 2 (about 4 per hospital, hence
//! about 28 000 lines for 100 000 establishments, the order of 3 000 sanitary establishments × 8
//! authorisations). Every CHR and about 10 % of the other hospitals have an emergency unit (about
//! 900 at national scale; the real count is between 471 and 668 sites, our hospitals being more
//! numerous than the real ones). Lines have the 13 confirmed fields; about 3 % (and the first)
//! carry the four unconfirmed trailing fields (ARHGOS numbers, dates), which the importer ignores.

use rand::Rng;
use rand::seq::SliceRandom;

use super::finess::{Directory, Establishment, push_record};
use super::finess_codes::{ARHGOS_REGIONS, CARE_TRIPLES, CareTriple, EMERGENCY};
use super::finess_days::Records;
use super::legal_entities::LegalEntities;
use super::random::{GenRng, date_between, derived_rng, digits, domain, percent, pick_str};

/// The record tag.
pub(crate) const TAG: &str = "activiteoffresoin";

/// One `activiteoffresoin` record.
#[derive(Debug, Clone)]
pub(crate) struct Authorisation {
    pub triple: &'static CareTriple,
    pub number: String,
    pub authorised: String,
    /// The unconfirmed fields 13–16 (ARHGOS authorisation and implementation numbers, date put
    /// into service, end date), written only when present.
    pub trailing: Option<[String; 4]>,
}

/// The day-1 authorisations of each owner (hospital) of `owners`.
pub(crate) fn initial(seed: u64, directory: &Directory, owners: &[u32]) -> Vec<Vec<Authorisation>> {
    owners
        .iter()
        .enumerate()
        .map(|(owner, &i)| {
            let est = &directory.establishments[i as usize];
            let mut rng = derived_rng(seed, domain::CARE_ACTIVITIES, u64::from(i));
            let mut triples: Vec<&'static CareTriple> = CARE_TRIPLES.iter().collect();
            triples.shuffle(&mut rng);
            let (count, emergency) = shape(&mut rng, est, owner);
            let mut chosen: Vec<&'static CareTriple> = triples.into_iter().take(count).collect();
            if emergency {
                chosen.insert(0, &EMERGENCY);
            }
            let mut list: Vec<Authorisation> = chosen
                .into_iter()
                .map(|triple| authorisation(&mut rng, triple))
                .collect();
            if owner == 0
                && let Some(first) = list.first_mut()
            {
                first.trailing = Some(trailing(&mut rng, &first.authorised));
            }
            list
        })
        .collect()
}

/// How many triples besides the emergency unit, and whether the hospital has one (the first
/// hospital, a CHR, always does).
fn shape(rng: &mut GenRng, est: &Establishment, owner: usize) -> (usize, bool) {
    match est.category.code {
        "101" => (rng.random_range(6..=12), owner == 0 || percent(rng, 60)),
        "355" => (rng.random_range(2..=6), percent(rng, 10)),
        "365" => (rng.random_range(1..=5), percent(rng, 10)),
        _ => (rng.random_range(1..=2), false),
    }
}

/// An authorisation of `triple`, with the unconfirmed trailing fields on about 3 %.
fn authorisation(rng: &mut GenRng, triple: &'static CareTriple) -> Authorisation {
    let authorised = date_between(rng, 1995, 2024);
    let trailing = percent(rng, 3).then(|| trailing(rng, &authorised));
    Authorisation {
        triple,
        number: format!("99{}", digits(rng, 7)),
        authorised,
        trailing,
    }
}

/// The four unconfirmed trailing fields: ARHGOS numbers, date put into service, empty end date.
fn trailing(rng: &mut GenRng, authorised: &str) -> [String; 4] {
    let arhgos = |rng: &mut GenRng| {
        format!(
            "{}-{}-{}",
            pick_str(rng, ARHGOS_REGIONS),
            digits(rng, 2),
            digits(rng, 5)
        )
    };
    [
        arhgos(rng),
        arhgos(rng),
        authorised.to_string(),
        String::new(),
    ]
}

/// Appends one authorisation's line: legal entity (1–2), activity, modality, form (3–8),
/// authorisation (9–10), the establishment (**11**) and its name (12), then any trailing fields.
pub(crate) fn push_line(
    out: &mut String,
    entities: &LegalEntities,
    est: &Establishment,
    a: &Authorisation,
) {
    let t = a.triple;
    let mut fields: Vec<&str> = vec![
        &est.ej,
        entities.name_of(est),
        t.activity.code,
        t.activity.label,
        t.modality.code,
        t.modality.label,
        t.form.code,
        t.form.label,
        &a.number,
        &a.authorised,
        &est.et,
        &est.short_name,
    ];
    if let Some(trailing) = &a.trailing {
        fields.extend(trailing.iter().map(String::as_str));
    }
    push_record(out, TAG, &fields);
}

/// The activities file seen by the day engine: an authorisation ends (its line disappears, its
/// HealthcareService becomes inactive). The first hospital keeps its own (the emergency showcase).
pub(crate) struct Evolution {
    pub closed_ppm: u32,
}

impl Records for Evolution {
    type Item = Authorisation;
    const FILE: u64 = 3;

    fn rates(&self) -> &[u32] {
        std::slice::from_ref(&self.closed_ppm)
    }

    fn can_apply(&self, _kind: usize, owner: usize, items: &[Authorisation]) -> bool {
        owner >= 1 && !items.is_empty()
    }

    fn apply(
        &self,
        _kind: usize,
        _owner: usize,
        _day: u32,
        rng: &mut GenRng,
        items: &mut Vec<Authorisation>,
    ) {
        let at = rng.random_range(0..items.len());
        items.remove(at);
    }
}
