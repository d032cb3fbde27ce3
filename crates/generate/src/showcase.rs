//! The persons every generated file shows one quirk each on, whatever its size (read by the RPPS
//! generator, which writes the quirks, and by the days, whose events leave them alone).

/// Persons forced to show one quirk each, so every quirk exists even in a small file (the rest of the
/// file draws the same quirks at their natural rates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Showcase {
    None,
    /// ADELI person registered in this department (`2A`, `2B`).
    Adeli(&'static str),
    NoActivity,
    TwoProfessions,
    TwoSavoirFaire,
    Foreign,
    MissingFiness,
    DuplicateRow,
    Pharmacist,
    /// All rows at the very end of the file.
    AtEnd,
}

/// Person index → forced quirk (all below 100 so they exist from 100 persons on).
const SHOWCASES: &[(u64, Showcase)] = &[
    (3, Showcase::Adeli("2A")),
    (7, Showcase::NoActivity),
    (11, Showcase::TwoProfessions),
    (17, Showcase::TwoSavoirFaire),
    (23, Showcase::Foreign),
    (29, Showcase::MissingFiness),
    (31, Showcase::DuplicateRow),
    (37, Showcase::Pharmacist),
    (41, Showcase::AtEnd),
    (47, Showcase::Adeli("2B")),
    (53, Showcase::TwoSavoirFaire),
    (59, Showcase::Pharmacist),
    (61, Showcase::MissingFiness),
    (67, Showcase::TwoProfessions),
];

pub(crate) fn showcase(index: u64) -> Showcase {
    SHOWCASES
        .iter()
        .find(|(i, _)| *i == index)
        .map_or(Showcase::None, |(_, s)| *s)
}

/// Whether person `index` is forced to show a quirk (events leave these persons alone, see
/// [`super::days::protected`]).
pub(crate) fn is_showcase(index: u64) -> bool {
    showcase(index) != Showcase::None
}
