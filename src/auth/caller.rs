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
        /// `iss`: the configured issuer the token was checked against.
        issuer: String,
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
    /// The access rules (`[[auth.rules]]`) that granted part of `permissions`, by name, for
    /// the audit trail and the page. Empty for API keys and open servers.
    pub rules: Vec<String>,
    /// How the credential came.
    pub channel: Channel,
}

/// How a caller's credential reached the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Channel {
    /// An `Authorization` or `ESANTE-API-KEY` header (or none, on an open server).
    #[default]
    Header,
    /// The lookup page's session cookie, after a sign-in with the OpenID provider.
    Session,
}

impl Caller {
    pub fn open() -> Caller {
        Caller {
            identity: Identity::Anonymous,
            permissions: Permissions::all(),
            rules: Vec::new(),
            channel: Channel::Header,
        }
    }

    /// How the caller is named in messages: never a secret.
    pub(super) fn describe(&self) -> String {
        match &self.identity {
            Identity::Anonymous => "this caller".into(),
            Identity::Key { name } => format!("the API key `{name}`"),
            Identity::Token { .. } if self.channel == Channel::Session => "this session".into(),
            Identity::Token { .. } => "this token".into(),
        }
    }

    /// Who owns what this caller writes (a subscription is served to its owner only): the
    /// API key's name, the token's issuer and subject, or `anonymous` on an open server.
    /// Stable across a caller's requests and new tokens, and never a secret.
    pub fn owner(&self) -> String {
        match &self.identity {
            Identity::Anonymous => "anonymous".into(),
            Identity::Key { name } => format!("key:{name}"),
            Identity::Token {
                issuer, subject, ..
            } => format!("token:{issuer} {subject}"),
        }
    }

    /// The caller as written in the audit trail: for a token or a page session, who issued
    /// it, whom it names, and the access rules that granted part of what it may do (plan D10).
    pub fn audit_json(&self) -> Value {
        match &self.identity {
            Identity::Anonymous => json!({"kind": "anonymous"}),
            Identity::Key { name } => json!({"kind": "api-key", "name": name}),
            Identity::Token {
                issuer,
                subject,
                national_id,
                roles,
            } => {
                let kind = match self.channel {
                    Channel::Header => "token",
                    Channel::Session => "session",
                };
                json!({
                    "kind": kind,
                    "issuer": issuer,
                    "subject": subject,
                    "national_id": national_id,
                    "roles": roles,
                    "rules": self.rules,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(identity: Identity) -> Caller {
        Caller {
            identity,
            permissions: Permissions::default(),
            rules: Vec::new(),
            channel: Channel::Header,
        }
    }

    /// Owners never collide between kinds: a key named like a token's subject is another owner.
    #[test]
    fn owners_name_the_kind_of_credential() {
        assert_eq!(caller(Identity::Anonymous).owner(), "anonymous");
        assert_eq!(
            caller(Identity::Key {
                name: "chu-nantes".into()
            })
            .owner(),
            "key:chu-nantes"
        );
        let token = caller(Identity::Token {
            issuer: "https://auth.example".into(),
            subject: "chu-nantes".into(),
            national_id: None,
            roles: vec![],
        });
        assert_eq!(token.owner(), "token:https://auth.example chu-nantes");
    }

    /// A token's and a session's audit objects say which they are and name the rules.
    #[test]
    fn audit_objects_name_the_kind_and_the_rules() {
        let mut token = caller(Identity::Token {
            issuer: "https://auth.example".into(),
            subject: "f:1:810000000001".into(),
            national_id: Some("810000000001".into()),
            roles: vec!["10^1.2.250.1.213.1.1.5.5".into()],
        });
        token.rules = vec!["medecins".into()];
        assert_eq!(
            token.audit_json(),
            json!({
                "kind": "token",
                "issuer": "https://auth.example",
                "subject": "f:1:810000000001",
                "national_id": "810000000001",
                "roles": ["10^1.2.250.1.213.1.1.5.5"],
                "rules": ["medecins"],
            })
        );
        token.channel = Channel::Session;
        token.rules.clear();
        let session = token.audit_json();
        assert_eq!(session["kind"], "session");
        assert_eq!(session["rules"], json!([]));
        assert_eq!(token.describe(), "this session");
    }
}
