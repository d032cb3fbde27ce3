//! The server's declared capabilities, from the declarations in `conformance/` (compiled in).
//!
//! Only what works is declared: the CapabilityStatement is assembled from these declarations,
//! and the HTTP layer routes by the same declarations, so the two cannot drift apart.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::resource_type::ResourceType;

const CAPABILITY_BASE: &str = include_str!("../conformance/capability-statement.json");
const RESOURCES: &str = include_str!("../conformance/resources.json");
const SEARCH_PARAMETERS: &str = include_str!("../conformance/search-parameters.json");

/// One search parameter as declared in `conformance/search-parameters.json`: the single source
/// for indexing, query parsing, the CapabilityStatement and the served SearchParameter.
#[derive(Debug, Clone, Deserialize)]
pub struct SearchParamDeclaration {
    pub code: String,
    #[serde(rename = "type")]
    pub param_type: String,
    pub base: Vec<String>,
    pub expression: String,
    pub url: String,
    pub description: String,
    #[serde(default)]
    pub modifiers: Vec<String>,
    #[serde(default)]
    pub target: Vec<String>,
    #[serde(default)]
    pub comparators: Vec<String>,
}

pub fn search_parameters() -> Vec<SearchParamDeclaration> {
    serde_json::from_str(SEARCH_PARAMETERS)
        .expect("conformance/search-parameters.json is valid (checked by tests)")
}

/// One served resource type as declared in `conformance/resources.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDeclaration {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub profile: String,
    pub supported_profile: Vec<String>,
    pub documentation: String,
    pub interactions: Vec<String>,
}

pub fn resources() -> Vec<ResourceDeclaration> {
    let declarations: Vec<ResourceDeclaration> = serde_json::from_str(RESOURCES)
        .expect("conformance/resources.json is valid (checked by tests)");
    declarations
}

/// Whether `interaction` is declared for `rtype`.
pub fn supports(rtype: ResourceType, interaction: &str) -> bool {
    resources().iter().any(|d| {
        d.resource_type == rtype.as_str() && d.interactions.iter().any(|i| i == interaction)
    })
}

/// The CapabilityStatement served at `/metadata`.
pub fn capability_statement(software_version: &str) -> Value {
    let mut statement: Value = serde_json::from_str(CAPABILITY_BASE)
        .expect("conformance/capability-statement.json is valid");
    statement["software"]["version"] = json!(software_version);
    let resources: Vec<Value> = resources()
        .into_iter()
        .map(|d| {
            json!({
                "type": d.resource_type,
                "profile": d.profile,
                "supportedProfile": d.supported_profile,
                "documentation": d.documentation,
                "interaction": d.interactions.iter().map(|code| json!({"code": code})).collect::<Vec<_>>(),
                "versioning": "versioned",
                "readHistory": false,
                "updateCreate": false,
                "conditionalCreate": false,
                "conditionalRead": "not-supported",
                "conditionalUpdate": false,
                "conditionalDelete": "not-supported",
            })
        })
        .collect();
    statement["rest"][0]["resource"] = Value::Array(resources);
    statement
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_cover_exactly_the_served_types() {
        let declared: Vec<String> = resources().into_iter().map(|d| d.resource_type).collect();
        let served: Vec<String> = ResourceType::ALL.iter().map(|t| t.to_string()).collect();
        assert_eq!(declared, served);
    }

    #[test]
    fn capability_statement_is_r4_and_read_only() {
        let cs = capability_statement("0.0.0");
        assert_eq!(cs["fhirVersion"], "4.0.1");
        assert_eq!(cs["kind"], "instance");
        for resource in cs["rest"][0]["resource"].as_array().unwrap() {
            let interactions: Vec<&str> = resource["interaction"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["code"].as_str().unwrap())
                .collect();
            assert_eq!(interactions, ["read"]);
        }
        assert!(supports(ResourceType::Organization, "read"));
        assert!(!supports(ResourceType::Organization, "search-type"));
    }
}
