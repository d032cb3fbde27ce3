//! The server's declared capabilities, from the declarations in `conformance/` (compiled in).
//!
//! Only what works is declared: the CapabilityStatement is assembled from these declarations,
//! and the HTTP layer routes by the same declarations, so the two cannot drift apart.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::fhir::ResourceType;

const CAPABILITY_BASE: &str = include_str!("../conformance/capability-statement.json");
const RESOURCES: &str = include_str!("../conformance/resources.json");
const SEARCH_PARAMETERS: &str = include_str!("../conformance/search-parameters.json");
const LOCAL_SEARCH_PARAMETERS: &str = include_str!("../conformance/local-search-parameters.json");
const REFUSED_PARAMETERS: &str = include_str!("../conformance/refused-parameters.json");
const TERMINOLOGY: &str = include_str!("../conformance/terminology.json");
const VALIDATE: &str = include_str!("../conformance/validate.json");
const TOPICS: &str = include_str!("../conformance/topics.json");
const IDENTIFY: &str = include_str!("../conformance/identify.json");

/// CodeSystem as served (`conformance/terminology.json`): its interactions, search
/// parameters and operations. Apart from the indexed types' declarations because CodeSystem is
/// not stored nor indexed (it is built from the codes' labels: see
/// `crate::mapping::codesystem`); the same file drives its search parsing
/// (`crate::search::terminology`) and its place in the CapabilityStatement.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TerminologyDeclaration {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub documentation: String,
    pub interactions: Vec<String>,
    pub search_params: Vec<TerminologyParam>,
    pub operations: Vec<Value>,
}

/// A CodeSystem search parameter: its code, type and R4 canonical.
#[derive(Debug, Clone, Deserialize)]
pub struct TerminologyParam {
    pub code: String,
    #[serde(rename = "type")]
    pub param_type: String,
    pub url: String,
    pub description: String,
}

pub fn terminology() -> TerminologyDeclaration {
    serde_json::from_str(TERMINOLOGY)
        .expect("conformance/terminology.json is valid (checked by tests)")
}

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

/// The search parameters of what hospitals write (`List`), and `_list` on every served type:
/// `conformance/local-search-parameters.json`, in the shape of `search-parameters.json`.
/// Evaluated in memory over the local store (`http::lists`), not indexed in generations.
pub fn local_search_parameters() -> &'static [SearchParamDeclaration] {
    static PARSED: std::sync::OnceLock<Vec<SearchParamDeclaration>> = std::sync::OnceLock::new();
    PARSED.get_or_init(|| {
        serde_json::from_str(LOCAL_SEARCH_PARAMETERS)
            .expect("conformance/local-search-parameters.json is valid (checked by tests)")
    })
}

/// Every search parameter served as a SearchParameter resource: the directory's, then List's
/// and `_list` from the local declarations. A local parameter with the canonical URL of a
/// directory one (`_id`, `_lastUpdated`) is the same SearchParameter: its bases are added to it.
pub fn served_search_parameters() -> Vec<SearchParamDeclaration> {
    let mut served = search_parameters();
    for local in local_search_parameters() {
        match served.iter_mut().find(|p| p.url == local.url) {
            Some(same) => {
                for base in &local.base {
                    if !same.base.contains(base) {
                        same.base.push(base.clone());
                    }
                }
            }
            None => served.push(local.clone()),
        }
    }
    served
}

/// A FHIR R4 search parameter this server recognizes but does not implement, as declared in
/// `conformance/refused-parameters.json`: a search naming it is refused with 400 whatever
/// `Prefer: handling` says, because answering without it would return more than was asked.
/// Parameters no one declared (neither there nor in `search-parameters.json`) are unknown and
/// follow `Prefer: handling`.
#[derive(Debug, Clone, Deserialize)]
pub struct RefusedParamDeclaration {
    pub code: String,
    /// The types it is refused on; `Resource` stands for every type (R4's parameters for all
    /// resources).
    pub base: Vec<String>,
    /// Why it cannot be honoured, and what to ask instead: told to the client.
    pub reason: String,
}

impl RefusedParamDeclaration {
    /// Whether it is refused on `rtype`.
    pub fn applies_to(&self, rtype: &str) -> bool {
        self.base.iter().any(|b| b == "Resource" || b == rtype)
    }
}

/// Every refused parameter, parsed once.
pub fn refused_parameters() -> &'static [RefusedParamDeclaration] {
    static REFUSED: std::sync::OnceLock<Vec<RefusedParamDeclaration>> = std::sync::OnceLock::new();
    REFUSED.get_or_init(|| {
        serde_json::from_str(REFUSED_PARAMETERS)
            .expect("conformance/refused-parameters.json is valid (checked by tests)")
    })
}

/// The declaration refusing `code` on `rtype`, if one does.
pub fn refused_parameter(rtype: &str, code: &str) -> Option<&'static RefusedParamDeclaration> {
    refused_parameters()
        .iter()
        .find(|p| p.code == code && p.applies_to(rtype))
}

/// One served resource type as declared in `conformance/resources.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDeclaration {
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Not in resources.json: filled from `profiles/*.json` (see [`crate::profiles`]); `None`
    /// for a type with several as-dp profiles (HealthcareService), which `supported_profile`
    /// lists.
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub supported_profile: Vec<String>,
    pub documentation: String,
    pub interactions: Vec<String>,
}

pub fn resources() -> Vec<ResourceDeclaration> {
    let mut declarations: Vec<ResourceDeclaration> = serde_json::from_str(RESOURCES)
        .expect("conformance/resources.json is valid (checked by tests)");
    for d in &mut declarations {
        let rtype: ResourceType = d.resource_type.parse().expect("declared types are served");
        d.profile = crate::profiles::profile(rtype).map(str::to_owned);
        d.supported_profile = crate::profiles::supported(rtype);
    }
    declarations
}

/// Whether `interaction` is declared for `rtype`.
pub fn supports(rtype: ResourceType, interaction: &str) -> bool {
    resources().iter().any(|d| {
        d.resource_type == rtype.as_str() && d.interactions.iter().any(|i| i == interaction)
    })
}

/// The CapabilityStatement served at `/metadata`, with `security` (from the access policy) in
/// its `rest`. Every element is written in the order of its definition, as FHIR XML requires
/// (JSON does not): `tests/definition_order.rs` checks it against fhir-sdk's types.
pub fn capability_statement(software_version: &str, security: Value) -> Value {
    let mut statement: Value = serde_json::from_str(CAPABILITY_BASE)
        .expect("conformance/capability-statement.json is valid");
    statement["software"]["version"] = json!(software_version);
    // The directory's parameters, and `_list` (declared with the local ones) on every served type.
    let mut parameters = search_parameters();
    parameters.extend(
        local_search_parameters()
            .iter()
            .filter(|p| p.base.iter().any(|b| b != "List"))
            .cloned(),
    );
    let mut resources: Vec<Value> = resources()
        .into_iter()
        .map(|d| {
            json!({
                "type": d.resource_type,
                "profile": d.profile,
                "supportedProfile": d.supported_profile,
                "documentation": with_refused_note(&d.documentation, &d.resource_type),
                "interaction": d.interactions.iter().map(|code| json!({"code": code})).collect::<Vec<_>>(),
                "versioning": "versioned",
                "readHistory": d.interactions.iter().any(|i| i == "vread"),
                "updateCreate": false,
                "conditionalCreate": false,
                "conditionalRead": "not-supported",
                "conditionalUpdate": false,
                "conditionalDelete": "not-supported",
                "searchInclude": includes(&d.resource_type, &parameters),
                "searchRevInclude": revincludes(&d.resource_type, &parameters),
                "searchParam": search_params(&d.resource_type, &parameters),
                "operation": operations(&d.resource_type),
            })
        })
        .map(without_empty_arrays)
        .map(without_nulls)
        .collect();
    resources.push(terminology_resource());
    resources.push(list_resource());
    resources.push(subscription_resource());
    resources.push(json!({
        "type": "SearchParameter",
        "documentation": "The search parameters this server implements, as declared in its conformance/ directory.",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
    }));
    let base = &statement["rest"][0];
    let rest = json!({
        "mode": base["mode"],
        "documentation": format!(
            "{} {SEARCH_HANDLING}",
            base["documentation"].as_str().unwrap_or_default()
        ),
        "security": security,
        "resource": resources,
        "interaction": base["interaction"],
        "operation": base["operation"],
    });
    statement["rest"] = json!([rest]);
    statement
}

/// The Subscriptions Backport IG's canonical base.
const BACKPORT: &str = "http://hl7.org/fhir/uv/subscriptions-backport";

/// The interactions of what hospitals write (`List`, `Subscription`), and how they version.
fn local_resource(rtype: &str, documentation: &str) -> Value {
    let interactions = [
        "read",
        "vread",
        "update",
        "delete",
        "history-instance",
        "history-type",
        "create",
        "search-type",
    ];
    json!({
        "type": rtype,
        "documentation": documentation,
        "interaction": interactions.iter().map(|code| json!({"code": code})).collect::<Vec<_>>(),
        "versioning": "versioned-update",
        "readHistory": true,
        "updateCreate": true,
        "conditionalCreate": false,
        "conditionalRead": "not-supported",
        "conditionalUpdate": false,
        "conditionalDelete": "not-supported",
    })
}

/// `List`'s entry of `rest.resource`: the lists of correspondents, their parameters from
/// `conformance/local-search-parameters.json`.
fn list_resource() -> Value {
    let mut list = local_resource(
        "List",
        "Lists of correspondents kept by this server beside the national data (never touched by an import). status and mode are required; entry.item references a served resource (Practitioner/…, Organization/…) or another List. PUT needs If-Match when the list exists (428 without it, 412 when stale); a client may choose the id of a new list with PUT. After each import the server flags the entries whose member it deactivated, deleted or never had (entry.flag, system urn:annuaire:CodeSystem/list-member-status), which writes a new version. Every served type takes _list=<id> to search a list's members. Read and search need the scope system/List.read (v2 .rs), writes system/List.write (v2 .cud); `*` scopes do not cover lists. A read-only replica answers 421: lists are served by the writer.",
    );
    let parameters: Vec<SearchParamDeclaration> = local_search_parameters()
        .iter()
        .filter(|p| p.base.iter().any(|b| b == "List"))
        .cloned()
        .collect();
    list["searchParam"] = json!(search_params("List", &parameters));
    list
}

/// `Subscription`'s entry of `rest.resource`: topic-based subscriptions as the Backport IG
/// (STU 1.1, R4) defines them, with the topics of `conformance/topics.json`.
fn subscription_resource() -> Value {
    let topics: Value = serde_json::from_str(TOPICS).expect("conformance/topics.json is valid");
    let extensions: Vec<Value> = topics["topics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|topic| {
            json!({
                "url": format!("{BACKPORT}/StructureDefinition/capabilitystatement-subscriptiontopic-canonical"),
                "valueCanonical": topic["url"],
            })
        })
        .collect();
    let described = local_resource(
        "Subscription",
        "Topic-based subscriptions (Subscriptions R5 Backport IG STU 1.1, R4 representation): Subscription.criteria is a topic's canonical URL, the filters are backport-filter-criteria extensions of _criteria (each a search of a served type or List, `_list` included; several are ORed). Channels rest-hook (https, or an address the operator allows; handshake, heartbeats, channel.header) and websocket ($get-ws-binding-token, then the socket at $subscription-websocket); payloads empty, id-only and full-resource (with the subscriber's redaction). Delivery is at least once, in order, numbered (events-since-subscription-start), retried with backoff for the configured period, then status error. A caller sees and manages only its own subscriptions (another's is a 404). Scopes system/Subscription.read and .write (v2 .rs, .cud); `*` scopes do not cover subscriptions. A read-only replica answers 421.",
    );
    let mut resource = serde_json::Map::new();
    resource.insert("extension".into(), json!(extensions));
    for (name, value) in described.as_object().expect("an object") {
        resource.insert(name.clone(), value.clone());
        if name == "type" {
            resource.insert(
                "supportedProfile".into(),
                json!([format!(
                    "{BACKPORT}/StructureDefinition/backport-subscription"
                )]),
            );
        }
    }
    resource.insert(
        "searchParam".into(),
        json!([
            {"name": "_id", "definition": "http://hl7.org/fhir/SearchParameter/Resource-id", "type": "token", "documentation": "Logical id of the subscription (the caller's own only)."},
            {"name": "status", "definition": "http://hl7.org/fhir/SearchParameter/Subscription-status", "type": "token", "documentation": "requested, active, error or off."},
            {"name": "url", "definition": "http://hl7.org/fhir/SearchParameter/Subscription-url", "type": "uri", "documentation": "The rest-hook endpoint."},
            {"name": "criteria", "definition": "http://hl7.org/fhir/SearchParameter/Subscription-criteria", "type": "string", "documentation": "The topic's canonical URL."},
        ]),
    );
    resource.insert(
        "operation".into(),
        json!([
            {"name": "status", "definition": format!("{BACKPORT}/OperationDefinition/backport-subscription-status"), "documentation": "GET Subscription/<id>/$status or Subscription/$status?id=…: the SubscriptionStatus (events since start, status, error)."},
            {"name": "events", "definition": format!("{BACKPORT}/OperationDefinition/backport-subscription-events"), "documentation": "GET Subscription/<id>/$events?eventsSinceNumber=&eventsUntilNumber=&content=: the events still kept, to recover missed notifications (kept at least for the retry period)."},
            {"name": "get-ws-binding-token", "definition": format!("{BACKPORT}/OperationDefinition/backport-subscription-get-ws-binding-token"), "documentation": "GET or POST Subscription/<id>/$get-ws-binding-token: a single-use token (valid 60 s) to bind a websocket (websocket-url) to the caller's websocket subscription."},
        ]),
    );
    Value::Object(resource)
}

/// How searches treat parameters (R4 3.1.1.3.4, `Prefer: handling`), said in `rest.documentation`.
const SEARCH_HANDLING: &str = "Search parameters: handling=lenient is the default. An unknown parameter (one this server does not recognize) is ignored, left out of the self link and reported in an OperationOutcome entry (search.mode=outcome); with Prefer: handling=strict it is refused with 400. A parameter this server recognizes but cannot honour (a chain deeper than one level, a nested _has, a modifier the parameter does not take, an _include or _revinclude it cannot follow, a FHIR R4 parameter it does not implement such as _text, _content, _filter, _tag: each type's documentation lists them) is refused with 400 and an OperationOutcome naming it in every mode, never ignored: a search or a _summary=count never answers more than was asked.";

/// A type's documentation followed by the parameters refused on it: a client reading the
/// CapabilityStatement learns which standard parameters get a 400 rather than being ignored.
fn with_refused_note(documentation: &str, rtype: &str) -> String {
    let refused: Vec<&str> = refused_parameters()
        .iter()
        .filter(|p| p.applies_to(rtype))
        .map(|p| p.code.as_str())
        .collect();
    if refused.is_empty() {
        return documentation.to_owned();
    }
    format!(
        "{documentation} Search: these FHIR R4 parameters are recognized but not implemented, and refused with 400 whatever Prefer: handling says: {}.",
        refused.join(", ")
    )
}

/// The operations of a served type: `$validate` on each, `$identify` on Practitioner.
fn operations(rtype: &str) -> Vec<Value> {
    let mut operations = vec![validate_operation(rtype)];
    if rtype == "Practitioner" {
        let definition = identify_operation_definition();
        operations.push(json!({
            "name": definition["code"],
            "definition": definition["url"],
            "documentation": definition["description"],
        }));
    }
    operations
}

/// The OperationDefinition of `Practitioner/$identify` (`conformance/identify.json`), served
/// at `/fhir/OperationDefinition/annuaire-identify` and named in the CapabilityStatement.
pub fn identify_operation_definition() -> Value {
    serde_json::from_str(IDENTIFY).expect("conformance/identify.json is valid")
}

/// `$validate` as declared for `rtype` (`conformance/validate.json`), its documentation
/// followed by the profiles it validates that type against.
fn validate_operation(rtype: &str) -> Value {
    let mut operation: Value =
        serde_json::from_str(VALIDATE).expect("conformance/validate.json is valid");
    // The as-dp profiles among those supported (the others are what they are built on).
    let profiles: Vec<String> = rtype
        .parse::<ResourceType>()
        .map(crate::profiles::supported)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.contains("/as-dp-"))
        .collect();
    if !profiles.is_empty() {
        let documentation = format!(
            "{} Profiles of {rtype} validated: {}.",
            operation["documentation"].as_str().unwrap_or_default(),
            profiles.join(", ")
        );
        operation["documentation"] = json!(documentation);
    }
    operation
}

/// CodeSystem's entry of the CapabilityStatement's `rest.resource`.
fn terminology_resource() -> Value {
    let declared = terminology();
    json!({
        "type": declared.resource_type,
        "documentation": declared.documentation,
        "interaction": declared.interactions.iter().map(|code| json!({"code": code})).collect::<Vec<_>>(),
        "searchParam": declared.search_params.iter().map(|p| json!({
            "name": p.code, "definition": p.url, "type": p.param_type, "documentation": p.description,
        })).collect::<Vec<_>>(),
        "operation": declared.operations,
    })
}

/// FHIR JSON forbids empty arrays (R4 JSON §2.6.2): an element with no values is absent.
fn without_empty_arrays(mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        map.retain(|_, v| !matches!(v, Value::Array(items) if items.is_empty()));
    }
    value
}

/// FHIR JSON has no null: an element without a value (`profile` of a type with several
/// as-dp profiles) is absent.
fn without_nulls(mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        map.retain(|_, v| !v.is_null());
    }
    value
}

fn declared_for<'p>(
    rtype: &'p str,
    parameters: &'p [SearchParamDeclaration],
) -> impl Iterator<Item = &'p SearchParamDeclaration> {
    parameters
        .iter()
        .filter(move |p| p.base.iter().any(|b| b == rtype))
}

fn search_params(rtype: &str, parameters: &[SearchParamDeclaration]) -> Vec<Value> {
    declared_for(rtype, parameters)
        .map(|p| {
            let mut documentation = p.description.clone();
            if !p.modifiers.is_empty() {
                documentation.push_str(&format!(" Modifiers: {}.", p.modifiers.iter().map(|m| format!(":{m}")).collect::<Vec<_>>().join(", ")));
            }
            json!({"name": p.code, "definition": p.url, "type": p.param_type, "documentation": documentation})
        })
        .collect()
}

fn includes(rtype: &str, parameters: &[SearchParamDeclaration]) -> Vec<String> {
    let mut out = vec!["*".to_owned()];
    out.extend(
        declared_for(rtype, parameters)
            .filter(|p| p.param_type == "reference")
            .map(|p| format!("{rtype}:{}", p.code)),
    );
    out
}

fn revincludes(rtype: &str, parameters: &[SearchParamDeclaration]) -> Vec<String> {
    let mut out = Vec::new();
    for p in parameters
        .iter()
        .filter(|p| p.param_type == "reference" && p.target.iter().any(|t| t == rtype))
    {
        for base in &p.base {
            out.push(format!("{base}:{}", p.code));
        }
    }
    out
}

/// The id a declared search parameter is served under: the last segment of its canonical URL.
pub fn search_parameter_id(declaration: &SearchParamDeclaration) -> &str {
    declaration
        .url
        .rsplit(['/', ':'])
        .next()
        .unwrap_or(&declaration.code)
}

/// The SearchModifierCode (http://hl7.org/fhir/search-modifier-code) of a modifier as written
/// in a query: R4 names `:of-type` `ofType` (R5 renamed the code `of-type`).
fn modifier_code(modifier: &str) -> &str {
    match modifier {
        "of-type" => "ofType",
        other => other,
    }
}

/// A declared search parameter as a FHIR SearchParameter resource.
pub fn search_parameter_resource(declaration: &SearchParamDeclaration) -> Value {
    let id = search_parameter_id(declaration);
    // Elements in the order of the definition of SearchParameter, as FHIR XML requires.
    let mut resource = serde_json::Map::new();
    let mut put = |name: &str, value: Value| {
        resource.insert(name.to_owned(), value);
    };
    put("resourceType", json!("SearchParameter"));
    put("id", json!(id));
    put("url", json!(declaration.url));
    put("name", json!(declaration.code.trim_start_matches('_')));
    put("status", json!("active"));
    put("description", json!(declaration.description));
    put("code", json!(declaration.code));
    put("base", json!(declaration.base));
    put("type", json!(declaration.param_type));
    if !declaration.expression.is_empty() {
        put("expression", json!(declaration.expression));
    }
    if !declaration.target.is_empty() {
        put("target", json!(declaration.target));
    }
    put("multipleOr", json!(true));
    put("multipleAnd", json!(true));
    if !declaration.comparators.is_empty() {
        put("comparator", json!(declaration.comparators));
    }
    if !declaration.modifiers.is_empty() {
        let codes: Vec<&str> = declaration
            .modifiers
            .iter()
            .map(|m| modifier_code(m))
            .collect();
        put("modifier", json!(codes));
    }
    if !declaration.target.is_empty() {
        put("chain", json!(["*"]));
    }
    Value::Object(resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// List, Subscription and `_list` are declared with the backport's topic and operations.
    #[test]
    fn lists_subscriptions_and_list_searches_are_declared() {
        let cs = capability_statement("0.0.0", json!({"cors": false}));
        assert!(
            cs["instantiates"]
                .as_array()
                .unwrap()
                .contains(&json!(format!(
                    "{BACKPORT}/CapabilityStatement/backport-subscription-server-r4"
                )))
        );
        let resources = cs["rest"][0]["resource"].as_array().unwrap();
        let of = |t: &str| resources.iter().find(|r| r["type"] == t).unwrap().clone();
        for rtype in ResourceType::ALL {
            let names: Vec<Value> = of(rtype.as_str())["searchParam"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].clone())
                .collect();
            assert!(names.contains(&json!("_list")), "{rtype}: {names:?}");
        }
        let list = of("List");
        assert_eq!(list["versioning"], "versioned-update");
        assert_eq!(list["updateCreate"], true);
        assert_eq!(list["conditionalUpdate"], false);
        let names: Vec<&str> = list["searchParam"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for name in [
            "code",
            "title",
            "subject",
            "item",
            "_lastUpdated",
            "member-status",
        ] {
            assert!(names.contains(&name), "{names:?}");
        }
        let subscription = of("Subscription");
        assert_eq!(
            subscription["extension"][0]["valueCanonical"],
            "urn:annuaire:SubscriptionTopic/resource-change"
        );
        let operations: Vec<&str> = subscription["operation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert_eq!(operations, ["status", "events", "get-ws-binding-token"]);
        // Served as SearchParameter resources, under unique ids.
        let served = served_search_parameters();
        let ids: std::collections::BTreeSet<&str> =
            served.iter().map(search_parameter_id).collect();
        assert_eq!(ids.len(), served.len());
        for id in ["Resource-list", "List-item", "List-member-status"] {
            assert!(ids.contains(id), "{ids:?}");
        }
        let list_param = served.iter().find(|p| p.code == "_list").unwrap();
        assert!(
            search_parameter_resource(list_param)
                .get("expression")
                .is_none()
        );
    }

    #[test]
    fn declarations_cover_exactly_the_served_types() {
        let declared: Vec<String> = resources().into_iter().map(|d| d.resource_type).collect();
        let served: Vec<String> = ResourceType::ALL.iter().map(|t| t.to_string()).collect();
        assert_eq!(declared, served);
    }

    #[test]
    fn search_parameters_are_declared_and_served_under_unique_ids() {
        let cs = capability_statement("0.0.0", json!({"cors": false}));
        let role = &cs["rest"][0]["resource"][1];
        assert_eq!(role["type"], "PractitionerRole");
        let names: Vec<&str> = role["searchParam"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"practitioner") && names.contains(&"role"),
            "{names:?}"
        );
        assert_eq!(
            role["searchInclude"],
            serde_json::json!([
                "*",
                "PractitionerRole:practitioner",
                "PractitionerRole:organization"
            ])
        );
        assert_eq!(
            cs["rest"][0]["resource"][0]["searchRevInclude"],
            serde_json::json!(["PractitionerRole:practitioner"])
        );
        let mut ids: Vec<&str> = Vec::new();
        let declarations = search_parameters();
        for d in &declarations {
            ids.push(search_parameter_id(d));
            let resource = search_parameter_resource(d);
            assert_eq!(resource["url"], d.url.as_str());
        }
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count, "ids are unique");
    }

    /// HealthcareService and Device are declared like the first three: their includes, the
    /// Organization revincludes that reach them, and their profiles (HealthcareService has two
    /// as-dp profiles, so no single `profile`).
    #[test]
    fn the_finess_service_types_are_declared_with_their_links_and_profiles() {
        let cs = capability_statement("0.0.0", json!({"cors": false}));
        let resources = cs["rest"][0]["resource"].as_array().unwrap();
        let of = |name: &str| {
            resources
                .iter()
                .find(|r| r["type"] == name)
                .unwrap_or_else(|| panic!("{name} is declared"))
        };
        let service = of("HealthcareService");
        assert_eq!(
            service["searchInclude"],
            json!(["*", "HealthcareService:organization"])
        );
        assert!(service.get("profile").is_none(), "{service}");
        assert_eq!(service["supportedProfile"].as_array().unwrap().len(), 4);
        let device = of("Device");
        assert_eq!(device["searchInclude"], json!(["*", "Device:organization"]));
        assert_eq!(
            device["profile"],
            "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-device"
        );
        let revincludes = of("Organization")["searchRevInclude"].as_array().unwrap();
        for expected in ["HealthcareService:organization", "Device:organization"] {
            assert!(revincludes.contains(&json!(expected)), "{revincludes:?}");
        }
        let names = |r: &Value| -> Vec<String> {
            r["searchParam"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect()
        };
        assert!(names(device).contains(&"model".to_owned()));
        assert!(
            !names(device).contains(&"active".to_owned()),
            "Device has no active"
        );
        assert!(names(service).contains(&"service-type".to_owned()));
    }

    /// A refused parameter is never one the server implements (declared ones win, but a
    /// declaration in both files would be a contradiction), and names served types only.
    #[test]
    fn refused_parameters_are_not_declared_and_name_served_types() {
        let declared = search_parameters();
        for refused in refused_parameters() {
            for base in &refused.base {
                assert!(
                    base == "Resource" || base.parse::<ResourceType>().is_ok(),
                    "{}: unknown base {base}",
                    refused.code
                );
            }
            for d in &declared {
                for base in &d.base {
                    assert!(
                        !(d.code == refused.code && refused.applies_to(base)),
                        "{base}.{} is both declared and refused",
                        d.code
                    );
                }
            }
        }
        let cs = capability_statement("0.0.0", json!({"cors": false}));
        let rest = &cs["rest"][0];
        assert!(
            rest["documentation"]
                .as_str()
                .unwrap()
                .contains("handling=lenient is the default")
        );
        let practitioner = rest["resource"][0]["documentation"].as_str().unwrap();
        assert!(
            practitioner.contains("_filter") && practitioner.contains("gender"),
            "{practitioner}"
        );
    }

    /// The README's parameter table is written by hand for people: it must name every
    /// declared parameter of each type, and nothing else.
    #[test]
    fn the_readme_names_every_declared_parameter() {
        let readme = include_str!("../README.md");
        let row = |first_cell: &str| -> Vec<String> {
            let prefix = format!("| {first_cell} |");
            let line = readme
                .lines()
                .find(|l| l.starts_with(&prefix))
                .unwrap_or_else(|| panic!("the README has a `{prefix}` row"));
            line.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect()
        };
        let common = row("every type");
        let first_three = row("Practitioner, PractitionerRole, Organization");
        let declarations = search_parameters();
        for rtype in ResourceType::ALL {
            let shared: &[String] = match rtype {
                ResourceType::HealthcareService | ResourceType::Device => &[],
                _ => &first_three,
            };
            let mut listed: Vec<String> = common
                .iter()
                .chain(shared)
                .cloned()
                .chain(row(rtype.as_str()))
                .collect();
            listed.sort();
            let mut declared: Vec<String> = declarations
                .iter()
                .filter(|d| d.base.iter().any(|b| b == rtype.as_str()))
                .map(|d| d.code.clone())
                .collect();
            declared.sort();
            assert_eq!(listed, declared, "README parameters of {rtype}");
        }
    }

    #[test]
    fn local_search_parameters_parse_and_name_list_or_served_types() {
        let declared = local_search_parameters();
        for code in [
            "_id",
            "_lastUpdated",
            "code",
            "title",
            "subject",
            "item",
            "member-status",
        ] {
            assert!(
                declared
                    .iter()
                    .any(|d| d.code == code && d.base == ["List"]),
                "List.{code} is not declared"
            );
        }
        let list = declared.iter().find(|d| d.code == "_list").unwrap();
        let served: Vec<&str> = ResourceType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(list.base, served);
    }

    #[test]
    fn capability_statement_is_r4_read_only_and_versioned() {
        let cs = capability_statement("0.0.0", json!({"cors": false}));
        assert_eq!(cs["fhirVersion"], "4.0.1");
        assert_eq!(cs["kind"], "instance");
        for resource in cs["rest"][0]["resource"].as_array().unwrap().iter().take(3) {
            let interactions: Vec<&str> = resource["interaction"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["code"].as_str().unwrap())
                .collect();
            assert_eq!(
                interactions,
                [
                    "read",
                    "vread",
                    "search-type",
                    "history-instance",
                    "history-type"
                ]
            );
            assert_eq!(resource["readHistory"], true);
        }
        for resource in cs["rest"][0]["resource"].as_array().unwrap().iter().take(5) {
            let operation = &resource["operation"][0];
            assert_eq!(operation["name"], "validate", "{resource}");
            assert_eq!(
                operation["definition"],
                "http://hl7.org/fhir/OperationDefinition/Resource-validate"
            );
            let documentation = operation["documentation"].as_str().unwrap();
            assert!(
                documentation.contains("by code system only")
                    && documentation.contains("Profiles of"),
                "{documentation}"
            );
            let keys: Vec<&String> = resource.as_object().unwrap().keys().collect();
            assert_eq!(
                keys.last().map(|k| k.as_str()),
                Some("operation"),
                "{keys:?}"
            );
        }
        assert!(supports(ResourceType::Organization, "read"));
        assert!(supports(ResourceType::Organization, "search-type"));
        assert!(!supports(ResourceType::Organization, "update"));
    }
}
