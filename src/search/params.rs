//! The search parameters, compiled once from their declarations in `conformance/`.

use std::sync::OnceLock;

use super::expr::Expression;
use crate::conformance::{self, SearchParamDeclaration};
use crate::fhir::ResourceType;

/// The type of a search parameter; a reference parameter carries the one type it points at
/// (the declarations give every reference parameter of the directory exactly one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    Token,
    Reference {
        target: ResourceType,
    },
    Date,
    /// A canonical or other URI, matched whole (`_profile`): its value may hold a `|`
    /// (`url|version`), which a token would split.
    Uri,
}

#[derive(Debug, Clone)]
pub struct SearchParam {
    pub code: String,
    pub param_type: ParamType,
    pub base: Vec<ResourceType>,
    pub expression: Expression,
    pub modifiers: Vec<String>,
    pub declaration: SearchParamDeclaration,
}

impl SearchParam {
    /// The type a reference parameter points at; `None` for other parameters.
    pub fn target(&self) -> Option<ResourceType> {
        match self.param_type {
            ParamType::Reference { target } => Some(target),
            _ => None,
        }
    }

    pub fn is_reference(&self) -> bool {
        self.target().is_some()
    }

    pub fn supports(&self, modifier: &str) -> bool {
        self.modifiers.iter().any(|m| m == modifier)
    }

    /// Whether `:contains` is available, hence whether a term dictionary is kept.
    pub fn has_term_dictionary(&self) -> bool {
        self.param_type == ParamType::String && self.supports("contains")
    }
}

/// Every declared parameter.
pub struct Registry {
    params: Vec<SearchParam>,
}

fn resource_type(name: &str) -> ResourceType {
    name.parse()
        .unwrap_or_else(|_| panic!("search-parameters.json names an unknown type `{name}`"))
}

impl Registry {
    pub fn get() -> &'static Registry {
        static REGISTRY: OnceLock<Registry> = OnceLock::new();
        REGISTRY.get_or_init(|| Registry::from_declarations(conformance::search_parameters()))
    }

    fn from_declarations(declarations: Vec<SearchParamDeclaration>) -> Registry {
        let params = declarations
            .into_iter()
            .map(|d| {
                let param_type = match (d.param_type.as_str(), d.target.as_slice()) {
                    ("string", _) => ParamType::String,
                    ("token", _) => ParamType::Token,
                    ("reference", [target]) => ParamType::Reference {
                        target: resource_type(target),
                    },
                    ("reference", _) => panic!(
                        "reference parameter {} must have exactly one target type",
                        d.code
                    ),
                    ("date", _) => ParamType::Date,
                    ("uri", _) => ParamType::Uri,
                    (other, _) => {
                        panic!("search parameter {} has unsupported type {other}", d.code)
                    }
                };
                let expression = Expression::parse(&d.expression)
                    .unwrap_or_else(|e| panic!("search parameter {}: {e}", d.code));
                SearchParam {
                    code: d.code.clone(),
                    param_type,
                    base: d.base.iter().map(|b| resource_type(b)).collect(),
                    expression,
                    modifiers: d.modifiers.clone(),
                    declaration: d,
                }
            })
            .collect();
        Registry { params }
    }

    /// Parameters of a type, in declaration order.
    pub fn for_type(&self, rtype: ResourceType) -> impl Iterator<Item = &SearchParam> {
        self.params.iter().filter(move |p| p.base.contains(&rtype))
    }

    pub fn find(&self, rtype: ResourceType, code: &str) -> Option<&SearchParam> {
        self.for_type(rtype).find(|p| p.code == code)
    }

    pub fn all(&self) -> &[SearchParam] {
        &self.params
    }

    /// The reference parameters of `rtype`.
    pub fn references_of(&self, rtype: ResourceType) -> impl Iterator<Item = &SearchParam> {
        self.for_type(rtype).filter(|p| p.is_reference())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_compile_and_are_unique_per_type() {
        let registry = Registry::get();
        for rtype in ResourceType::ALL {
            let codes: Vec<&str> = registry.for_type(rtype).map(|p| p.code.as_str()).collect();
            let mut unique = codes.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(codes.len(), unique.len(), "{rtype}: {codes:?}");
        }
        assert_eq!(
            registry
                .find(ResourceType::PractitionerRole, "practitioner")
                .unwrap()
                .param_type,
            ParamType::Reference {
                target: ResourceType::Practitioner
            }
        );
    }

    #[test]
    fn every_parameter_the_issue_lists_is_declared() {
        let expected = [
            (
                ResourceType::Practitioner,
                "_id _lastUpdated active identifier identifier-type family given name qualification-code mailbox-mss mailbox-mss-type data-information-system data-registration-authority",
            ),
            (
                ResourceType::PractitionerRole,
                "_id _lastUpdated active identifier practitioner organization role mailbox-mss mailbox-mss-type data-information-system data-registration-authority",
            ),
            (
                ResourceType::Organization,
                "_id _lastUpdated active identifier identifier-type name address address-city address-postalcode address-line address-insee type partof mailbox-mss mailbox-mss-type pharmacy-licence data-information-system data-registration-authority",
            ),
        ];
        for (rtype, codes) in expected {
            for code in codes.split(' ') {
                assert!(
                    Registry::get().find(rtype, code).is_some(),
                    "{rtype}.{code}"
                );
            }
        }
    }
}
