//! `[[auth.rules]]`: access that follows who the caller is. Each rule grants scopes and
//! unlocks restricted elements to verified identities (tokens and page sessions), optionally
//! only to some professions. Checked at start-up; applied in one place. See plan D6 (#28).

use serde::{Deserialize, Serialize};

/// One rule as written by an operator.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Unique name, written in the audit trail.
    pub name: String,
}
