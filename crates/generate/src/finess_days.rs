//! The days of the four other FINESS extractions: which record changes on which day.
//!
//! Each of those files is a list of *owners* (a legal entity, or an establishment with its
//! activities or equipment), each owning a few records drawn on day 1 from a stream keyed by the
//! owner. Day N is day 1 plus the events of days 2..=N, applied day by day to every owner:
//!
//! - a **random** event: a hash of (seed, file, owner, day) against the file's rates (parts per
//!   million per owner and per day), its details from a stream keyed the same way;
//! - a **forced** event of each kind of the file, every day from 2 on, so that even the smallest
//!   file shows every kind every day: it lands on the first owner, from a start drawn per (file,
//!   day, kind), that it can apply to (and that carries no other forced event that day). The
//!   carriers of day d depend only on the state at day d − 1, so they are the same whatever the day
//!   generated.
//!
//! None of this draws from the day-1 streams of the other files (new domains only), so the five
//! files of the person side stay byte-identical, and these files evolve independently of the
//! person events.

use super::random::{GenRng, derived_rng, domain, mix, splitmix64};

/// One million: rates are parts per million.
const PPM: u64 = 1_000_000;

/// One of the four files, seen by the day engine.
pub(crate) trait Records {
    /// One line of the file (beyond its `structureet` lines).
    type Item;
    /// Distinguishes the files in the event domains (any distinct small number).
    const FILE: u64;
    /// Rate, per owner and per day, of each event kind (parts per million); the kinds are the
    /// indices.
    fn rates(&self) -> &[u32];
    /// Whether an event of `kind` can happen to the owner's records as they are.
    fn can_apply(&self, kind: usize, owner: usize, items: &[Self::Item]) -> bool;
    /// Applies an event of `kind` on `day`, drawing its details from `rng`.
    fn apply(
        &self,
        kind: usize,
        owner: usize,
        day: u32,
        rng: &mut GenRng,
        items: &mut Vec<Self::Item>,
    );
}

/// The records of every owner on the day generated, and the events of that day per kind.
pub(crate) struct Evolved<T> {
    pub items: Vec<Vec<T>>,
    pub events: Vec<u64>,
}

/// Applies the events of days 2..=`day` to the owners' day-1 records.
pub(crate) fn evolve<R: Records>(
    records: &R,
    seed: u64,
    day: u32,
    mut items: Vec<Vec<R::Item>>,
) -> Evolved<R::Item> {
    let kinds = records.rates().len();
    let mut events = vec![0; kinds];
    for d in 2..=day {
        let carriers = forced_carriers(records, seed, d, &items);
        for (owner, owned) in items.iter_mut().enumerate() {
            let kind = carriers
                .iter()
                .position(|&c| c == Some(owner))
                .map(|k| (k, true))
                .or_else(|| random_kind(records, seed, d, owner, owned).map(|k| (k, false)));
            let Some((kind, forced)) = kind else {
                continue;
            };
            let mut rng = detail_rng(R::FILE, seed, owner, d, forced);
            records.apply(kind, owner, d, &mut rng, owned);
            if d == day {
                events[kind] += 1;
            }
        }
    }
    Evolved { items, events }
}

/// The owner carrying each kind's forced event on day `d`, from the state at day `d − 1`.
fn forced_carriers<R: Records>(
    records: &R,
    seed: u64,
    d: u32,
    items: &[Vec<R::Item>],
) -> Vec<Option<usize>> {
    let owners = items.len();
    let mut carriers: Vec<Option<usize>> = Vec::with_capacity(records.rates().len());
    for kind in 0..records.rates().len() {
        if owners == 0 {
            carriers.push(None);
            continue;
        }
        let key = (R::FILE << 56) ^ (u64::from(d) << 8) ^ kind as u64;
        let start = (mix(seed, domain::FINESS_FORCED_EVENT, key) % owners as u64) as usize;
        let carrier = (0..owners)
            .map(|step| (start + step) % owners)
            .find(|&owner| {
                !carriers.contains(&Some(owner)) && records.can_apply(kind, owner, &items[owner])
            });
        carriers.push(carrier);
    }
    carriers
}

/// The kind of the owner's random event on day `d`, if any: each applicable kind owns a band of
/// its rate in a uniform draw.
fn random_kind<R: Records>(
    records: &R,
    seed: u64,
    d: u32,
    owner: usize,
    items: &[R::Item],
) -> Option<usize> {
    let draw = mix(seed, domain::FINESS_DAY_EVENT, event_key(R::FILE, owner, d)) % PPM;
    let mut bound = 0u64;
    for (kind, &rate) in records.rates().iter().enumerate() {
        if rate == 0 || !records.can_apply(kind, owner, items) {
            continue;
        }
        bound += u64::from(rate);
        if draw < bound {
            return Some(kind);
        }
    }
    None
}

/// The key of (file, owner, day) in the event domains.
fn event_key(file: u64, owner: usize, day: u32) -> u64 {
    splitmix64(file << 56 ^ owner as u64) ^ u64::from(day).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The stream of the details of one event.
fn detail_rng(file: u64, seed: u64, owner: usize, day: u32, forced: bool) -> GenRng {
    derived_rng(
        seed,
        domain::FINESS_DAY_DETAIL,
        event_key(file, owner, day) ^ u64::from(forced),
    )
}
