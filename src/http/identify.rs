//! "Who is this professional": `Practitioner/$identify` for services, and the signed-in
//! professional's own record for the lookup page. Package C of issue #28 (plan D7, D8).
//!
//! `$identify` is two searches the directory already answers, run one after the other on the
//! same generation with the caller's redaction: `Practitioner?identifier=…`, then
//! `PractitionerRole?practitioner=…&active=true&_include=PractitionerRole:organization` for
//! the practitioners found. Their Bundles are joined into one: the practitioners as matches,
//! the roles and organizations as includes.

use std::time::Instant;

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::access::caller;
use super::error::ApiError;
use super::handlers::{Lane, check_format, read_body, run_search};
use super::media::FHIR_JSON;
use super::paths;
use super::request::{fhir_base, get_or_head, query_pairs};
use super::signin::session_of;
use super::state::AppState;
use crate::auth::Caller;
use crate::auth::psc::{self, PscClaims};
use crate::fhir::ResourceType;
use crate::fhir::xml_read::{self, JsonKind, ReadLimits, Shape};
use crate::generation::Generation;
use crate::local::members::StoredLists;
use crate::search::limits::{Budget, Limits};
use crate::search::lists::ListMembers;
use crate::search::query::{self, SearchRequest};
use crate::search::shared_params::Count;
use crate::search::{Context, SearchError, SearchOutput};

/// `$identify` and its OperationDefinition, registered among the FHIR routes (before the
/// generic `/{type}/{id}`).
pub fn operation_routes(config: &mut web::ServiceConfig) {
    config
        .route("/Practitioner/$identify", get_or_head().to(identify_get))
        .route("/Practitioner/$identify", web::post().to(identify_post))
        .route(
            "/OperationDefinition/annuaire-identify",
            get_or_head().to(operation_definition),
        );
}

/// The page's "my record" route.
pub fn page_routes(config: &mut web::ServiceConfig) {
    config.route(paths::MY_RECORD, get_or_head().to(my_record));
}

// ---------------------------------------------------------------------------------------------
// The identifier asked for
// ---------------------------------------------------------------------------------------------

/// What the identifier names, as a token search value (`system|value`, escaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// As the client wrote it (for the self link and the messages).
    pub written: String,
    pub token: String,
}

/// Reads the `identifier` of `$identify`: a PSC `SubjectNameID` (`8` + RPPS, `0` + ADELI),
/// a bare RPPS number (11 digits), or `system|value`. Anything else is the client's mistake.
pub fn parse_identifier(written: &str) -> Result<Asked, ApiError> {
    let text = written.trim();
    let token = if let Some(national) = psc::directory_identifier(text) {
        national.token()
    } else if text.len() == 11 && text.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}|{text}", crate::mapping::nos::SYSTEM_RPPS)
    } else if let Some((system, value)) = text.split_once('|') {
        let (system, value) = (system.trim(), value.trim());
        if system.is_empty() || value.is_empty() || system.contains(char::is_whitespace) {
            return Err(bad_identifier(written));
        }
        format!("{}|{}", escaped(system), escaped(value))
    } else {
        return Err(bad_identifier(written));
    };
    if text.chars().any(char::is_control) {
        return Err(bad_identifier(written));
    }
    Ok(Asked {
        written: text.to_string(),
        token,
    })
}

fn bad_identifier(written: &str) -> ApiError {
    let shown: String = written
        .chars()
        .filter(|c| !c.is_control())
        .take(80)
        .collect();
    ApiError::BadRequest(format!(
        "identifier `{shown}` is not one $identify reads: give a national id (8 + the 11 digits of the RPPS number, or 0 + the ADELI number), an RPPS number (11 digits), or system|value"
    ))
}

/// A token part as a search value: `\`, `,`, `$` and `|` are escaped (FHIR search §2.1.1.7),
/// so that a value holding them is taken whole.
fn escaped(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for c in part.chars() {
        if matches!(c, '\\' | ',' | '$' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The `identifier` among a request's parameters: exactly one.
fn identifier_of(params: &[(String, String)]) -> Result<Asked, ApiError> {
    let mut values = params.iter().filter(|(name, _)| name == "identifier");
    let Some((_, value)) = values.next() else {
        return Err(ApiError::BadRequest(
            "$identify needs an identifier (identifier=…): a national id, an RPPS number or system|value".into(),
        ));
    };
    if values.next().is_some() {
        return Err(ApiError::BadRequest(
            "$identify takes one identifier, not several".into(),
        ));
    }
    parse_identifier(value)
}

// ---------------------------------------------------------------------------------------------
// The searches
// ---------------------------------------------------------------------------------------------

/// The two searches of `$identify`, parsed (so refused before any work when the caller may not
/// run them).
struct Plan {
    asked: Asked,
    practitioners: SearchRequest,
    limits: Limits,
    cursor_key: crate::search::cursor::CursorKey,
}

impl Plan {
    fn new(asked: Asked, state: &AppState, caller: &Caller) -> Result<Plan, ApiError> {
        let practitioners = parse(
            ResourceType::Practitioner,
            &[("identifier", asked.token.as_str())],
            state,
        )?;
        // The roles' search as it will run, with a placeholder for the practitioners found:
        // what the caller may do depends on the types and parameters, not on the values.
        let roles = roles_request(&["x".to_string()], &state.limits, &state.cursor_key)?;
        let policy = &state.access.policy;
        for request in [&practitioners, &roles] {
            policy
                .authorize_search(caller, request)
                .map_err(|error| ApiError::refused(policy, error))?;
        }
        Ok(Plan {
            asked,
            practitioners,
            limits: state.limits,
            cursor_key: state.cursor_key.clone(),
        })
    }

    /// Runs both searches on `store` and joins their Bundles.
    fn run(&self, store: &Generation, context: &Context<'_>) -> Result<SearchOutput, SearchError> {
        let found = json_of(crate::search::run(store, &self.practitioners, context)?);
        let ids: Vec<String> = resources(&found)
            .filter_map(|r| r["id"].as_str().map(String::from))
            .collect();
        let roles = if ids.is_empty() {
            Value::Null
        } else {
            let request = roles_request(&ids, &self.limits, &self.cursor_key)?;
            json_of(crate::search::run(store, &request, context)?)
        };
        let bundle = joined(&found, &roles, context.base, &self.asked);
        let returned = bundle["entry"].as_array().map_or(0, Vec::len) as u64;
        Ok(SearchOutput {
            bundle: serde_json::to_vec(&bundle).expect("a JSON value serializes"),
            returned,
        })
    }
}

fn parse(
    rtype: ResourceType,
    params: &[(&str, &str)],
    state: &AppState,
) -> Result<SearchRequest, ApiError> {
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .chain([("_count".to_string(), Count::MAX.to_string())])
        .collect();
    Ok(query::parse_within(
        rtype,
        &owned,
        true,
        &state.limits,
        &state.cursor_key,
    )?)
}

/// The active roles of these practitioners, with their organizations.
fn roles_request(
    practitioner_ids: &[String],
    limits: &Limits,
    key: &crate::search::cursor::CursorKey,
) -> Result<SearchRequest, crate::search::query::QueryError> {
    let references: Vec<String> = practitioner_ids
        .iter()
        .map(|id| format!("Practitioner/{id}"))
        .collect();
    let params = [
        ("practitioner", references.join(",")),
        ("active", "true".to_string()),
        ("_include", "PractitionerRole:organization".to_string()),
        ("_count", Count::MAX.to_string()),
    ]
    .map(|(n, v)| (n.to_string(), v));
    query::parse_within(ResourceType::PractitionerRole, &params, true, limits, key)
}

fn json_of(output: SearchOutput) -> Value {
    serde_json::from_slice(&output.bundle).expect("a search writes JSON")
}

fn entries(bundle: &Value) -> impl Iterator<Item = &Value> {
    bundle["entry"].as_array().into_iter().flatten()
}

/// The resources of a Bundle's entries, outcomes left out.
fn resources(bundle: &Value) -> impl Iterator<Item = &Value> {
    entries(bundle)
        .filter(|e| e["search"]["mode"] != "outcome")
        .map(|e| &e["resource"])
}

/// One searchset Bundle: the practitioners (match), then the roles and organizations
/// (include), each resource once; an OperationOutcome entry when nobody was found or when a
/// search left something out.
fn joined(found: &Value, roles: &Value, base: &str, asked: &Asked) -> Value {
    let mut out: Vec<Value> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (bundle, mode) in [(found, "match"), (roles, "include")] {
        for entry in entries(bundle).filter(|e| e["search"]["mode"] != "outcome") {
            let key = entry["fullUrl"].as_str().unwrap_or_default().to_string();
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            let mut entry = entry.clone();
            entry["search"] = json!({"mode": mode});
            out.push(entry);
        }
    }
    let total = resources(found).count();
    let mut issues: Vec<Value> = [found, roles]
        .into_iter()
        .flat_map(entries)
        .filter(|e| e["search"]["mode"] == "outcome")
        .flat_map(|e| {
            e["resource"]["issue"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    if roles.get("link").is_some_and(|links| {
        links
            .as_array()
            .into_iter()
            .flatten()
            .any(|l| l["relation"] == "next")
    }) {
        issues.push(json!({"severity": "warning", "code": "too-costly",
            "diagnostics": format!("only the first {} active roles are listed", Count::MAX)}));
    }
    if total == 0 {
        issues.push(json!({
            "severity": "information",
            "code": "not-found",
            "diagnostics": format!(
                "L'annuaire ne connaît pas le professionnel {0}. / No professional with identifier {0} is known to the directory.",
                asked.written
            )
        }));
    }
    if !issues.is_empty() {
        out.push(json!({
            "resource": {"resourceType": "OperationOutcome", "issue": issues},
            "search": {"mode": "outcome"}
        }));
    }
    let self_link = format!(
        "{base}/Practitioner/$identify?identifier={}",
        form_urlencoded::byte_serialize(asked.written.as_bytes()).collect::<String>()
    );
    let mut bundle = Map::new();
    bundle.insert("resourceType".into(), json!("Bundle"));
    if let Some(id) = found.get("id") {
        bundle.insert("id".into(), id.clone());
    }
    if let Some(meta) = found.get("meta") {
        bundle.insert("meta".into(), meta.clone());
    }
    bundle.insert("type".into(), json!("searchset"));
    bundle.insert("total".into(), json!(total));
    bundle.insert(
        "link".into(),
        json!([{"relation": "self", "url": self_link}]),
    );
    bundle.insert("entry".into(), Value::Array(out));
    Value::Object(bundle)
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

/// `GET [base]/Practitioner/$identify?identifier=…`.
async fn identify_get(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    let asked = identifier_of(&query_pairs(req.query_string()))?;
    operation(&req, &state, asked).await
}

/// `POST [base]/Practitioner/$identify` with a Parameters resource (FHIR JSON or XML), or a
/// form body (`identifier=…`) as `_search` takes.
async fn identify_post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    let body = read_body(payload, &state, "$identify").await?;
    let params = if req.content_type() == "application/x-www-form-urlencoded" {
        query_pairs(&String::from_utf8_lossy(&body))
    } else {
        parameters_of(&req, &body)?
    };
    let asked = identifier_of(&params)?;
    operation(&req, &state, asked).await
}

async fn operation(
    req: &HttpRequest,
    state: &AppState,
    asked: Asked,
) -> Result<HttpResponse, ApiError> {
    let caller = caller(req);
    let plan = Plan::new(asked, state, &caller)?;
    let store = state.current()?;
    run_search(req, state, &caller, Lane::Queued, move |context| {
        plan.run(store.as_ref(), context)
    })
    .await
}

/// The `identifier` of a Parameters body, as `name=value` pairs.
fn parameters_of(req: &HttpRequest, body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let media = req.content_type().to_ascii_lowercase();
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let resource: Value = if media.contains("xml") || (media.is_empty() && first == Some(&b'<')) {
        xml_read::to_json(body, &parameters_shape, ReadLimits::default())
            .map_err(|e| not_parameters(&e.to_string()))?
    } else {
        serde_json::from_slice(body).map_err(|e| not_parameters(&format!("invalid JSON: {e}")))?
    };
    if resource["resourceType"] != "Parameters" {
        return Err(not_parameters("it is not a Parameters resource"));
    }
    let mut out = Vec::new();
    for parameter in resource["parameter"].as_array().into_iter().flatten() {
        if parameter["name"] != "identifier" {
            continue;
        }
        let value = if let Some(text) = parameter
            .get("valueString")
            .or_else(|| parameter.get("valueCode"))
            .and_then(Value::as_str)
        {
            text.to_string()
        } else if let Some(identifier) = parameter.get("valueIdentifier") {
            match (identifier["system"].as_str(), identifier["value"].as_str()) {
                (Some(system), Some(value)) => format!("{system}|{value}"),
                (None, Some(value)) => value.to_string(),
                _ => return Err(not_parameters("valueIdentifier has no value")),
            }
        } else {
            return Err(not_parameters(
                "identifier takes a valueString, a valueCode or a valueIdentifier",
            ));
        };
        out.push(("identifier".to_string(), value));
    }
    Ok(out)
}

fn not_parameters(why: &str) -> ApiError {
    ApiError::BadRequest(format!(
        "the $identify body is not a Parameters resource this operation reads: {why}"
    ))
}

/// The JSON shape of a Parameters body's elements, for the XML reader.
fn parameters_shape(path: &str) -> Option<Shape> {
    let shape = |repeats, kind| Some(Shape { repeats, kind });
    match path {
        "Parameters.parameter" => shape(true, JsonKind::Object),
        "Parameters.parameter.valueIdentifier" => shape(false, JsonKind::Object),
        _ if path.starts_with("Parameters.parameter.") => shape(false, JsonKind::String),
        _ => None,
    }
}

/// `GET [base]/OperationDefinition/annuaire-identify`.
async fn operation_definition(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    Ok(HttpResponse::Ok()
        .content_type(FHIR_JSON)
        .body(crate::conformance::identify_operation_definition().to_string()))
}

// ---------------------------------------------------------------------------------------------
// The signed-in professional's record (D8)
// ---------------------------------------------------------------------------------------------

/// The `$identify` Bundle of a national id, as `caller` may see it: what `/ui/moi` shows, and
/// what any other page code may ask. Runs like a search (admission, deadline).
pub async fn identify(
    state: &AppState,
    caller: &Caller,
    base: &str,
    national_id: &str,
) -> Result<Value, ApiError> {
    let plan = Plan::new(parse_identifier(national_id)?, state, caller)?;
    let store = state.current()?;
    let redaction = state.access.policy.redaction_for(caller);
    let limits = state.limits;
    let budget = Budget::new(&limits, &state.clock);
    let cancel = budget.cancel_on_drop();
    let (now, cursor_key, local, base) = (
        state.clock.now_utc(),
        state.cursor_key.clone(),
        state.local.clone(),
        base.to_string(),
    );
    let slot = state
        .admission
        .enter()
        .await
        .map_err(|full| ApiError::Overloaded(full.to_string()))?;
    let output = web::block(move || {
        let _slot = slot;
        let stored_lists = local.as_deref().map(StoredLists);
        let context = Context {
            base: &base,
            redaction: &redaction,
            limits: &limits,
            budget: &budget,
            now,
            cursor_key: &cursor_key,
            lists: stored_lists.as_ref().map(|l| l as &dyn ListMembers),
        };
        plan.run(store.as_ref(), &context)
    })
    .await
    .map_err(|e| ApiError::Unavailable(format!("the search could not run: {e}")))??;
    cancel.disarm();
    Ok(json_of(output))
}

/// `GET /ui/moi`: the signed-in professional's `$identify` Bundle and what differs from what
/// Pro Santé Connect says. 401 (JSON) without a live session.
async fn my_record(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let started = Instant::now();
    let session = session_of(&req, &state);
    let Some(session) = session else {
        return page_json(
            actix_web::http::StatusCode::UNAUTHORIZED,
            json!({"error": "not-signed-in", "message": "Connectez-vous avec Pro Santé Connect pour voir votre dossier."}),
        );
    };
    let claims = &session.claims;
    let Some(national_id) = claims.national_id.clone() else {
        return page_json(
            actix_web::http::StatusCode::OK,
            record(claims, None, Vec::new()),
        );
    };
    let base = fhir_base(&req);
    let answer = identify(&state, &session.caller, &base, &national_id).await;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "my record"
    );
    match answer {
        Ok(bundle) => {
            let differences = psc::compare(claims, &bundle);
            page_json(
                actix_web::http::StatusCode::OK,
                record(claims, Some(bundle), differences),
            )
        }
        // A national id the directory cannot read is "unknown", not the person's mistake.
        Err(ApiError::BadRequest(_)) => page_json(
            actix_web::http::StatusCode::OK,
            record(claims, None, Vec::new()),
        ),
        Err(error) => actix_web::ResponseError::error_response(&error),
    }
}

/// `{identity, bundle, differences, known}`: `bundle` is `null` when there is no national id to
/// look for; `known` says whether the directory has the person.
fn record(claims: &PscClaims, bundle: Option<Value>, differences: Vec<psc::Difference>) -> Value {
    let known = bundle
        .as_ref()
        .and_then(|b| b["total"].as_u64())
        .is_some_and(|t| t > 0);
    json!({
        "identity": claims,
        "known": known,
        "bundle": bundle,
        "differences": differences,
    })
}

fn page_json(status: actix_web::http::StatusCode, body: Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("application/json")
        .body(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_read_in_their_three_forms() {
        let token = |text: &str| parse_identifier(text).map(|a| a.token).ok();
        assert_eq!(
            token("810001234567").as_deref(),
            Some("urn:oid:1.2.250.1.71.4.2.1|810001234567")
        );
        assert_eq!(
            token(" 10001234567 ").as_deref(),
            Some("https://rpps.esante.gouv.fr|10001234567")
        );
        assert_eq!(
            token("https://rpps.esante.gouv.fr|10001234567").as_deref(),
            Some("https://rpps.esante.gouv.fr|10001234567")
        );
        assert_eq!(token("urn:x|a,b$c").as_deref(), Some("urn:x|a\\,b\\$c"));
        for bad in [
            "",
            "abc",
            "123",
            "|123",
            "urn:x|",
            "8100012345678",
            "a b|c",
            "x|\u{1}",
        ] {
            assert!(parse_identifier(bad).is_err(), "{bad:?}");
        }
    }
}
