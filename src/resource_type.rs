//! The resource types annuaire serves.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceType {
    Practitioner,
    PractitionerRole,
    Organization,
}

impl ResourceType {
    pub const ALL: [ResourceType; 3] = [
        ResourceType::Practitioner,
        ResourceType::PractitionerRole,
        ResourceType::Organization,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Practitioner => "Practitioner",
            ResourceType::PractitionerRole => "PractitionerRole",
            ResourceType::Organization => "Organization",
        }
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Not one of the types this server serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedType(pub String);

impl FromStr for ResourceType {
    type Err = UnsupportedType;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        ResourceType::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
            .ok_or_else(|| UnsupportedType(name.to_owned()))
    }
}
