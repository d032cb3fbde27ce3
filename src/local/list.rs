//! What a `List` of correspondents must be to be stored, and the flags on its entries.
//!
//! Contract (package A): `check` accepts an R4 `List` whose `status` and `mode` are given
//! (`mode` `working`, `snapshot` or `changes`), whose `entry.item` are relative references to a
//! served type (`Practitioner/…`, `PractitionerRole/…`, `Organization/…`,
//! `HealthcareService/…`, `Device/…`) or another `List`. Flags: after each generation switch,
//! [`reflag`] sets `entry.flag` on the entries whose item the served generation holds as
//! deactivated (`active=false` / Device `status=inactive`) or no longer holds (deleted, or never
//! existed), clears it when the item is back, and writes a new version of each list whose
//! flags changed (so it enters the change log like any write). The codes are this server's own
//! CodeSystem, written in `docs/correspondents.md`.

use serde_json::Value;

use super::store::{LocalError, LocalStore};
use crate::generation::Generation;

/// Checks a `List` body before it is stored; the reason says what to fix.
pub fn check(body: &Value) -> Result<(), LocalError> {
    let _ = body;
    todo!("package A")
}

/// Recomputes every list's entry flags against `generation`; returns how many lists got a new
/// version.
pub fn reflag(store: &LocalStore, generation: &Generation) -> Result<usize, LocalError> {
    let _ = (store, generation);
    Ok(0) // package A
}
