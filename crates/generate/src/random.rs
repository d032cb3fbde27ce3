//! Deterministic randomness helpers.
//!
//! Everything random comes from ChaCha8 streams seeded from the user seed, so that the same options
//! always give byte-identical files. Entities referenced from many rows (group cabinets, per-structure
//! display flags) use a *derived* stream keyed by their number instead of being stored: they can be
//! re-created identically wherever they appear, which keeps memory bounded at national scale.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The generator's random stream type.
pub(crate) type GenRng = ChaCha8Rng;

/// Independent stream domains, so adding draws in one part never shifts another part's output.
pub(crate) mod domain {
    pub const FINESS: u64 = 1;
    pub const PERSONS: u64 = 2;
    pub const GROUP_CABINET: u64 = 3;
    pub const PHANTOM_SITE: u64 = 4;
    /// Extra savoir-faire and duplicate rows of the savoir-faire file.
    pub const SAVOIR_FAIRE_FILE: u64 = 5;
    /// CES and exercise authorisations of the diploma file.
    pub const DIPLOMA_FILE: u64 = 6;
    /// Personal (`PER`) MSSanté mailboxes, drawn person by person.
    pub const MAILBOX_PERSONS: u64 = 7;
    /// Organisational (`ORG`) mailboxes of FINESS establishments, drawn establishment by establishment.
    pub const MAILBOX_ESTABLISHMENTS: u64 = 8;
    /// Which cabinets have an organisational mailbox (a flag per structure id, see [`super::mix`]).
    pub const MAILBOX_CABINET_FLAG: u64 = 9;
    /// The content of a cabinet's organisational mailbox, keyed by its structure id.
    pub const MAILBOX_CABINET: u64 = 10;
    /// The deliberately orphan mailboxes (person and structure absent from the other files).
    pub const MAILBOX_ORPHANS: u64 = 11;
    /// Whether a person has a random event on a day, keyed by (person, day) (see [`crate::days`]).
    pub const DAY_EVENT: u64 = 12;
    /// The details of one event of a person on a day.
    pub const DAY_EVENT_DETAIL: u64 = 13;
    /// The rounding of the number of new persons of a day, keyed by the day.
    pub const NEW_PERSONS: u64 = 14;
    /// Where the scan for the carrier of a forced event starts, keyed by (day, kind).
    pub const FORCED_EVENT: u64 = 15;
    /// Where the rows an event added to a person go in the RPPS file, keyed by the person.
    pub const ADDED_ROWS: u64 = 16;
    /// The legal entities file (`structureej`), keyed by legal entity.
    pub const LEGAL_ENTITIES: u64 = 17;
    /// The heavy equipment file (`equipmateriellourd`), keyed by establishment.
    pub const HEAVY_EQUIPMENT: u64 = 18;
    /// The healthcare activities file (`activiteoffresoin`), keyed by establishment.
    pub const CARE_ACTIVITIES: u64 = 19;
    /// The social equipment file (`equipementsocial`), keyed by establishment.
    pub const SOCIAL_EQUIPMENT: u64 = 20;
    /// Whether a record owner of those four files has an event on a day (see [`crate::finess_days`]).
    pub const FINESS_DAY_EVENT: u64 = 21;
    /// The details of one event of those four files.
    pub const FINESS_DAY_DETAIL: u64 = 22;
    /// Where the scan for the carrier of a forced event of those four files starts.
    pub const FINESS_FORCED_EVENT: u64 = 23;
}

/// SplitMix64 finaliser: a cheap, well-mixing bijection on u64.
pub(crate) fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Hash of (seed, domain, key), used as a seed or as a source of stable per-entity flags.
pub(crate) fn mix(seed: u64, domain: u64, key: u64) -> u64 {
    splitmix64(seed ^ splitmix64(domain.wrapping_mul(0x100_0000_01B3) ^ splitmix64(key)))
}

/// FNV-1a hash of a string, finalised by [`splitmix64`]: a stable key for entities named by a string
/// (structure ids, mailbox addresses), identical on every platform and run.
pub(crate) fn hash_str(text: &str) -> u64 {
    let fnv = text.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    });
    splitmix64(fnv)
}

/// A stream dedicated to one entity (see module doc).
pub(crate) fn derived_rng(seed: u64, domain: u64, key: u64) -> GenRng {
    ChaCha8Rng::seed_from_u64(mix(seed, domain, key))
}

/// True with probability `p` (0.0..=1.0).
pub(crate) fn chance(rng: &mut GenRng, p: f64) -> bool {
    rng.random_bool(p)
}

/// True for `percent` % of draws.
pub(crate) fn percent(rng: &mut GenRng, percent: u32) -> bool {
    rng.random_range(0..100) < percent
}

/// A uniformly chosen element of a non-empty slice.
pub(crate) fn pick<'a, T>(rng: &mut GenRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// A uniformly chosen string of a non-empty table (avoids `&&str` at call sites).
pub(crate) fn pick_str(rng: &mut GenRng, items: &[&'static str]) -> &'static str {
    items[rng.random_range(0..items.len())]
}

/// `n` random decimal digits.
pub(crate) fn digits(rng: &mut GenRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// A date `YYYY-MM-DD` between the two years inclusive (day ≤ 28, so always valid).
pub(crate) fn date_between(rng: &mut GenRng, from_year: u32, to_year: u32) -> String {
    let year = rng.random_range(from_year..=to_year);
    let month = rng.random_range(1..=12u32);
    let day = rng.random_range(1..=28u32);
    format!("{year:04}-{month:02}-{day:02}")
}

/// A date `YYYY-MM-DD` from `from_year` up to the extraction month (October 2026 at the latest), for
/// update dates that must not lie after the extraction instant.
pub(crate) fn date_until_extraction(rng: &mut GenRng, from_year: u32) -> String {
    let year = rng.random_range(from_year..=2026);
    let last_month = if year == 2026 { 10 } else { 12 };
    let month = rng.random_range(1..=last_month);
    let day = rng.random_range(1..=28u32);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Luhn check digit of a decimal payload, as RPPS numbers carry one.
pub(crate) fn luhn_digit(payload: &str) -> char {
    let sum: u32 = payload
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// A sampler over indices with fixed integer weights (cumulative table + binary search), built once
/// per table because tables are sampled millions of times.
pub(crate) struct Weighted {
    cumulative: Vec<u64>,
}

impl Weighted {
    /// Builds the sampler; the total weight must be positive.
    pub(crate) fn new(weights: impl IntoIterator<Item = u32>) -> Self {
        let mut total = 0u64;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += u64::from(w);
                total
            })
            .collect::<Vec<_>>();
        assert!(total > 0, "weighted table without weight");
        Weighted { cumulative }
    }

    /// An index drawn proportionally to its weight (zero-weight indices are never drawn).
    pub(crate) fn sample(&self, rng: &mut GenRng) -> usize {
        let total = *self.cumulative.last().unwrap_or(&1);
        let x = rng.random_range(0..total);
        self.cumulative.partition_point(|&c| c <= x)
    }
}
