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

use serde_json::{Value, json};

use super::store::{LocalError, LocalStore, LocalType};
use crate::fhir::{FhirId, ResourceType};
use crate::generation::history::Kind;
use crate::generation::{Generation, StoreError};

/// The CodeSystem of the flags [`reflag`] puts on list entries.
pub const FLAG_SYSTEM: &str = "urn:annuaire:CodeSystem/list-member-status";
/// The owner recorded for the versions the server writes itself.
const SERVER: &str = "annuaire";

/// What the served generation says of a list member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberStatus {
    /// Served and active: no flag.
    Active,
    /// Served, `active=false` (Device: `status=inactive`).
    Deactivated,
    /// Was in the directory, is no more.
    Deleted,
    /// Never in the directory.
    Unknown,
}

impl MemberStatus {
    /// The flag's code (`None` for an active member).
    pub fn code(self) -> Option<&'static str> {
        match self {
            MemberStatus::Active => None,
            MemberStatus::Deactivated => Some("deactivated"),
            MemberStatus::Deleted => Some("deleted"),
            MemberStatus::Unknown => Some("unknown"),
        }
    }

    fn display(self) -> &'static str {
        match self {
            MemberStatus::Active => "",
            MemberStatus::Deactivated => "Deactivated in the directory",
            MemberStatus::Deleted => "Deleted from the directory",
            MemberStatus::Unknown => "Not in the directory",
        }
    }
}

/// Checks a `List` body before it is stored; the reason says what to fix.
pub fn check(body: &Value) -> Result<(), LocalError> {
    let invalid = |reason: String| Err(LocalError::Invalid(reason));
    let Some(list) = body.as_object() else {
        return invalid("the body must be a JSON object: a FHIR List resource".into());
    };
    match list.get("resourceType").and_then(Value::as_str) {
        Some("List") => {}
        Some(other) => {
            return invalid(format!(
                "resourceType is `{other}`: this is the List endpoint"
            ));
        }
        None => return invalid("resourceType `List` is missing".into()),
    }
    if list.contains_key("contained") {
        return invalid(
            "contained resources are not accepted in a List: refer to the members by `Type/id`"
                .into(),
        );
    }
    check_code(
        list.get("status"),
        "status",
        &["current", "retired", "entered-in-error"],
    )?;
    check_code(
        list.get("mode"),
        "mode",
        &["working", "snapshot", "changes"],
    )?;
    let Some(entries) = list.get("entry") else {
        return Ok(());
    };
    let Some(entries) = entries.as_array() else {
        return invalid("entry must be an array".into());
    };
    for (n, entry) in entries.iter().enumerate() {
        check_entry(entry)
            .map_err(|reason| LocalError::Invalid(format!("entry[{n}]: {reason}")))?;
    }
    Ok(())
}

fn check_code(value: Option<&Value>, name: &str, allowed: &[&str]) -> Result<(), LocalError> {
    let allowed_text = allowed.join(", ");
    match value {
        None => Err(LocalError::Invalid(format!(
            "{name} is required: one of {allowed_text}"
        ))),
        Some(Value::String(code)) if allowed.contains(&code.as_str()) => Ok(()),
        Some(other) => Err(LocalError::Invalid(format!(
            "{name} is {other}: it must be one of {allowed_text}"
        ))),
    }
}

fn check_entry(entry: &Value) -> Result<(), String> {
    let Some(entry) = entry.as_object() else {
        return Err("must be an object".into());
    };
    let reference = entry
        .get("item")
        .and_then(|item| item.get("reference"))
        .ok_or("item.reference is required (`Practitioner/123`, `Organization/456`...)")?;
    let reference = reference
        .as_str()
        .ok_or("item.reference must be a string")?;
    member_of(reference).map(|_| ())
}

/// The type and id of a member reference `Type/id`: a served type or `List`.
pub fn member_of(reference: &str) -> Result<(Option<ResourceType>, &str), String> {
    let served = ResourceType::ALL.map(ResourceType::as_str).join(", ");
    let relative = reference
        .split_once('/')
        .filter(|(_, id)| !id.contains('/'));
    let Some((rtype, id)) = relative.filter(|_| !reference.contains(':')) else {
        return Err(format!(
            "item.reference `{reference}` must be a relative reference `Type/id` to one of {served} or List"
        ));
    };
    let rtype = match rtype {
        "List" => None,
        other => Some(other.parse::<ResourceType>().map_err(|_| {
            format!("item.reference `{reference}`: `{other}` is not served here; the members are {served} or List")
        })?),
    };
    FhirId::parse(id).map_err(|e| format!("item.reference `{reference}`: {e}"))?;
    Ok((rtype, id))
}

/// The members of a list, as `(type, id)` (`None` for a List member), in entry order.
pub fn members(list: &Value) -> Vec<(Option<ResourceType>, String)> {
    entries(list)
        .filter_map(|entry| entry.get("item")?.get("reference")?.as_str())
        .filter_map(|reference| member_of(reference).ok())
        .map(|(rtype, id)| (rtype, id.to_string()))
        .collect()
}

fn entries(list: &Value) -> impl Iterator<Item = &Value> {
    list.get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// What `generation` says of `rtype/id`.
pub fn member_status(
    generation: &Generation,
    rtype: ResourceType,
    id: &str,
) -> Result<MemberStatus, StoreError> {
    if let Some(stored) = generation.read(rtype, id)? {
        let json: Value = serde_json::from_slice(&stored.to_json())
            .map_err(|e| generation.damaged(format!("{rtype}/{id} is not JSON: {e}")))?;
        let inactive = match rtype {
            ResourceType::Device => json.get("status").and_then(Value::as_str) == Some("inactive"),
            _ => json.get("active").and_then(Value::as_bool) == Some(false),
        };
        return Ok(if inactive {
            MemberStatus::Deactivated
        } else {
            MemberStatus::Active
        });
    }
    let history = generation.history(rtype, id)?;
    // A past version without a current one: the import removed it (its history ends with the
    // deletion, or the deletion is still to come for a record kept deactivated).
    Ok(
        if history.iter().any(|e| e.kind == Kind::Deleted) || !history.is_empty() {
            MemberStatus::Deleted
        } else {
            MemberStatus::Unknown
        },
    )
}

/// Recomputes every list's entry flags against `generation`; returns how many lists got a new
/// version.
pub fn reflag(store: &LocalStore, generation: &Generation) -> Result<usize, LocalError> {
    let mut written = 0;
    for list in store.current(LocalType::List)? {
        let mut json = list.json.clone();
        if !flag_entries(&mut json, generation)? {
            continue;
        }
        // Another writer in between: its version is flagged at the next switch or start.
        match store.update(LocalType::List, &list.id, json, Some(list.version), SERVER) {
            Ok(_) => written += 1,
            Err(LocalError::VersionConflict { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

/// Sets or clears the flags of `list`'s entries; whether any changed.
pub fn flag_entries(list: &mut Value, generation: &Generation) -> Result<bool, LocalError> {
    let Some(entries) = list.get_mut("entry").and_then(Value::as_array_mut) else {
        return Ok(false);
    };
    let mut changed = false;
    for entry in entries {
        let Some(reference) = entry
            .get("item")
            .and_then(|i| i.get("reference"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        // Lists in lists are the hospital's own: nothing in the directory to say of them.
        let Ok((Some(rtype), id)) = member_of(reference) else {
            continue;
        };
        let status = member_status(generation, rtype, id)
            .map_err(|e| LocalError::Store(format!("cannot read the generation: {e}")))?;
        changed |= set_flag(entry, status);
    }
    Ok(changed)
}

/// Puts `status`'s flag on `entry` (removing it when active); whether the entry changed. A flag
/// of another system (the client's own) is left alone.
fn set_flag(entry: &mut Value, status: MemberStatus) -> bool {
    let current = flag_code(entry);
    if current.as_deref() == status.code() {
        return false;
    }
    let Some(object) = entry.as_object_mut() else {
        return false;
    };
    let ours = object
        .get("flag")
        .is_some_and(|flag| flag_code_of(flag).is_some());
    match status.code() {
        Some(code) => {
            if object.contains_key("flag") && !ours {
                // The client's own flag: ours does not replace it.
                return false;
            }
            object.insert(
                "flag".into(),
                json!({"coding": [{"system": FLAG_SYSTEM, "code": code, "display": status.display()}]}),
            );
        }
        None => {
            object.remove("flag");
        }
    }
    true
}

/// The code of this server's flag on `entry`, if it has one.
pub fn flag_code(entry: &Value) -> Option<String> {
    flag_code_of(entry.get("flag")?)
}

fn flag_code_of(flag: &Value) -> Option<String> {
    flag.get("coding")?
        .as_array()?
        .iter()
        .find(|c| c.get("system").and_then(Value::as_str) == Some(FLAG_SYSTEM))?
        .get("code")?
        .as_str()
        .map(str::to_string)
}
