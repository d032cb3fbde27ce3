//! Case and accent folding of the oracle: the server's own function. FHIR R4 only says string
//! search is "case- and accent-insensitive"; which characters fold to which is a choice, made
//! once in `annuaire::search::fold` and unit-tested there. Sharing it keeps the oracle's
//! judgement on *which resources match* independent of the engine's indexes, without a second
//! folding that could disagree with the first.

pub use annuaire::search::fold::fold;
