//! Invented person names.
//!
//! Family names are assembled from syllables (tens of thousands of combinations) so that the file has
//! many distinct, plausible-looking but invented names, with the shapes importers must survive:
//! accents, apostrophes (`D'ARVOT`, `O'BERANNAGH`), hyphens and multi-word particles (`DE LA …`).

use rand::Rng;

use super::random::{GenRng, percent, pick_str};
use super::tables::{
    FAMILY_ENDS, FAMILY_MIDDLES, FAMILY_STARTS, FEMALE_FIRST_NAMES, IRISH_ENDS, MALE_FIRST_NAMES,
    PARTICLES, VOWEL_STARTS,
};

/// An upper-case family name.
pub(crate) fn family_name(rng: &mut GenRng) -> String {
    match rng.random_range(0..1000) {
        0..=24 => format!("D'{}", vowel_name(rng)),
        25..=39 => format!(
            "O'{}{}",
            pick_str(rng, FAMILY_STARTS),
            pick_str(rng, IRISH_ENDS)
        ),
        40..=99 => format!("{}-{}", simple_name(rng), simple_name(rng)),
        100..=139 => format!("{}{}", pick_str(rng, PARTICLES), simple_name(rng)),
        _ => simple_name(rng),
    }
}

/// A first name in mixed case.
pub(crate) fn first_name(rng: &mut GenRng, female: bool) -> &'static str {
    if female {
        pick_str(rng, FEMALE_FIRST_NAMES)
    } else {
        pick_str(rng, MALE_FIRST_NAMES)
    }
}

/// A one-word name: opening + optional middle + ending.
pub(crate) fn simple_name(rng: &mut GenRng) -> String {
    let mut name = String::with_capacity(16);
    name.push_str(pick_str(rng, FAMILY_STARTS));
    if percent(rng, 35) {
        name.push_str(pick_str(rng, FAMILY_MIDDLES));
    }
    name.push_str(pick_str(rng, FAMILY_ENDS));
    name
}

/// A one-word name starting with a vowel, for elided particles.
fn vowel_name(rng: &mut GenRng) -> String {
    format!(
        "{}{}",
        pick_str(rng, VOWEL_STARTS),
        pick_str(rng, FAMILY_ENDS)
    )
}
