//! Who is calling, and what they may do.

use serde_json::{Value, json};

use super::scopes::Permissions;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Open server: nobody is asked who they are.
    Anonymous,
    Key {
        name: String,
    },
    Token {
        subject: String,
        national_id: Option<String>,
        roles: Vec<String>,
    },
}

/// An authenticated caller and what they may do.
#[derive(Debug, Clone)]
pub struct Caller {
    pub identity: Identity,
    pub permissions: Permissions,
}

impl Caller {
    pub fn open() -> Caller {
        Caller {
            identity: Identity::Anonymous,
            permissions: Permissions::all(),
        }
    }

    /// How the caller is named in messages: never a secret.
    pub(super) fn describe(&self) -> String {
        match &self.identity {
            Identity::Anonymous => "this caller".into(),
            Identity::Key { name } => format!("the API key `{name}`"),
            Identity::Token { .. } => "this token".into(),
        }
    }

    /// The caller as written in the audit trail.
    pub fn audit_json(&self) -> Value {
        match &self.identity {
            Identity::Anonymous => json!({"kind": "anonymous"}),
            Identity::Key { name } => json!({"kind": "api-key", "name": name}),
            Identity::Token {
                subject,
                national_id,
                roles,
            } => {
                json!({"kind": "token", "subject": subject, "national_id": national_id, "roles": roles})
            }
        }
    }
}
