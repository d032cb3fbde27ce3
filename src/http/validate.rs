//! `$validate` (R4 Resource-validate, http://hl7.org/fhir/R4/resource-operation-validate.html):
//! checks a resource against the as-dp profiles (`crate::profiles::validate`) and answers 200
//! with an OperationOutcome whether the resource is valid or not. 4xx only when validation
//! cannot be performed: a body that is not a FHIR resource, a resource of another type, an
//! unknown mode or a profile this server does not validate against.
//!
//! - `POST [base]/{type}/$validate`: the body, a bare resource or a `Parameters` with
//!   `resource` (and `profile`, `mode`), in FHIR JSON or FHIR XML;
//! - `GET|HEAD|POST [base]/{type}/{id}/$validate`: without a body, the stored current version as
//!   the caller may read it (the same access check and redaction as `read`, 404/410 alike);
//!   with one, that body, whose `id` must be `{id}`.
//!
//! Access: reading the type (`authorize_read`), at both levels: a caller who may not read
//! Practitioners learns nothing about their profile through it either. The work runs in the
//! admission queue like a search, stops at the deadline, and is charged to the caller's rate
//! limit.

use std::time::Instant;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::access::Work;
use super::error::ApiError;
use super::handlers::{
    absent, authorized_read, authorized_type, check_format, read_body, resource_type,
};
use super::media::FHIR_JSON;
use super::request::query_pairs;
use super::state::AppState;
use crate::fhir::ResourceType;
use crate::fhir::xml_read::{self, JsonKind, ReadLimits, Shape};
use crate::profiles::{self, Target, ValidateError, Validation};
use crate::search::limits::Budget;
use crate::search::shared_params::Format;

/// What the caller asked the validation to be for (R4 `resource-validation-mode`, required
/// binding; absent means a plain validation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Plain,
    Create,
    Update,
    Delete,
}

impl Mode {
    fn parse(code: &str) -> Result<Mode, ApiError> {
        match code {
            "profile" => Ok(Mode::Plain),
            "create" => Ok(Mode::Create),
            "update" => Ok(Mode::Update),
            "delete" => Ok(Mode::Delete),
            other => Err(ApiError::BadRequest(format!(
                "mode `{other}` is not a validation mode: use create, update, delete or profile (or no mode)"
            ))),
        }
    }
}

/// The parameters of one `$validate`, from the query and the body together.
#[derive(Debug, Default)]
struct Asked {
    resource: Option<Value>,
    profile: Option<String>,
    mode: Option<String>,
}

impl Asked {
    /// Sets a parameter given once, in the query or the body: given twice with two values, the
    /// request is ambiguous.
    fn set(slot: &mut Option<String>, name: &str, value: String) -> Result<(), ApiError> {
        match slot {
            Some(before) if *before != value => Err(ApiError::BadRequest(format!(
                "$validate: `{name}` is given twice (`{before}` and `{value}`); give it once"
            ))),
            _ => {
                *slot = Some(value);
                Ok(())
            }
        }
    }

    fn mode(&self) -> Result<Mode, ApiError> {
        self.mode.as_deref().map_or(Ok(Mode::Plain), Mode::parse)
    }
}

/// The issue a create, update or delete would meet: this directory takes no writes.
const READ_ONLY: &str = "this directory is read-only: a create/update would be refused (405)";
const READ_ONLY_DELETE: &str = "this directory is read-only: a delete would be refused (405)";

/// `POST [base]/{type}/$validate`.
pub async fn type_post(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    let (rtype, _caller) = authorized_type(&req, &state, &path.into_inner())?;
    let body = read_body(payload, &state, "$validate").await?;
    let asked = asked(&req, &body)?;
    let mode = asked.mode()?;
    if matches!(mode, Mode::Update | Mode::Delete) {
        return Err(ApiError::BadRequest(format!(
            "mode `{}` validates an existing resource: call {rtype}/[id]/$validate",
            asked.mode.as_deref().unwrap_or_default()
        )));
    }
    let resource = asked.resource.clone().ok_or_else(|| {
        ApiError::BadRequest(format!(
            "$validate has no resource to validate: POST a {rtype} (bare, or as the `resource` parameter of a Parameters)"
        ))
    })?;
    let resource = of_type(resource, rtype)?;
    run(
        &state,
        rtype,
        resource,
        &asked,
        mode,
        Vec::new(),
        Vec::new(),
    )
    .await
}

/// Other methods on `[base]/{type}/$validate`: a GET carries no resource to validate (a
/// resource is a complex parameter, which R4 operations take only in a POST body); the rest
/// are writes, refused as everywhere on this read-only server.
pub async fn type_other(
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rtype = resource_type(&path.into_inner())?;
    if req.method() == actix_web::http::Method::GET || req.method() == actix_web::http::Method::HEAD
    {
        return Err(ApiError::BadRequest(format!(
            "{rtype}/$validate needs the resource to validate: POST it (bare, or as the `resource` parameter of a Parameters), or validate a stored one with GET {rtype}/[id]/$validate"
        )));
    }
    super::handlers::read_only(req).await
}

/// `GET|HEAD [base]/{type}/{id}/$validate`: the stored resource, with the query's parameters.
pub async fn instance_get(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    instance(req, path, None, state).await
}

/// `POST [base]/{type}/{id}/$validate`: the body's resource, or the stored one without it.
pub async fn instance_post(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    instance(req, path, Some(payload), state).await
}

async fn instance(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: Option<web::Payload>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    let (type_name, id) = path.into_inner();
    let (rtype, id, caller) = authorized_read(&req, &state, &type_name, &id)?;
    let body = match payload {
        Some(payload) => read_body(payload, &state, "$validate").await?,
        None => web::Bytes::new(),
    };
    let asked = asked(&req, &body)?;
    let mode = asked.mode()?;
    if mode == Mode::Delete {
        return Ok(answer(&[profiles::issue(
            "error",
            "not-supported",
            READ_ONLY_DELETE,
            None,
        )]));
    }
    let mut extra = Vec::new();
    let mut hidden = Vec::new();
    let resource = match asked.resource.clone() {
        Some(resource) => {
            let resource = of_type(resource, rtype)?;
            if let Some(other) = resource
                .get("id")
                .filter(|v| v.as_str() != Some(id.as_str()))
            {
                extra.push(profiles::issue(
                    "error",
                    "invalid",
                    &format!(
                        "the resource's id ({other}) is not the {rtype}/{id} this $validate names"
                    ),
                    Some(&format!("{rtype}.id")),
                ));
            }
            resource
        }
        None => {
            hidden = state
                .access
                .policy
                .redaction_for(&caller)
                .elements(rtype)
                .to_vec();
            stored(&state, &caller, rtype, &id)?
        }
    };
    run(&state, rtype, resource, &asked, mode, extra, hidden).await
}

/// The current version of `rtype/id` as `caller` may read it (redacted as `read` answers it).
fn stored(
    state: &AppState,
    caller: &crate::auth::Caller,
    rtype: ResourceType,
    id: &crate::fhir::FhirId,
) -> Result<Value, ApiError> {
    let store = state.current()?;
    let Some(resource) = store.read(rtype, id)? else {
        return Err(absent(store.as_ref(), rtype, id)?);
    };
    let json = resource.to_json();
    let redaction = state.access.policy.redaction_for(caller);
    let shown = redaction.apply(rtype, &json);
    serde_json::from_slice(&shown).map_err(|e| {
        tracing::error!("{rtype}/{id} as stored is not JSON: {e}");
        ApiError::Unavailable(format!("{rtype}/{id} could not be read for validation"))
    })
}

/// Validates in a slot of the admission queue, on the blocking pool, within the deadline; the
/// time it took is charged to the caller as a search's is.
async fn run(
    state: &AppState,
    rtype: ResourceType,
    resource: Value,
    asked: &Asked,
    mode: Mode,
    mut extra: Vec<Value>,
    hidden: Vec<String>,
) -> Result<HttpResponse, ApiError> {
    if matches!(mode, Mode::Create | Mode::Update) {
        extra.insert(
            0,
            profiles::issue("error", "not-supported", READ_ONLY, None),
        );
    }
    let profile = asked.profile.clone();
    let budget = Budget::new(&state.limits, &state.clock);
    let cancel = budget.cancel_on_drop();
    let _in_progress = crate::metrics::InProgress::enter(&state.metrics);
    let slot = state
        .admission
        .enter()
        .await
        .map_err(|full| ApiError::Overloaded(full.to_string()))?;
    let (result, work) = web::block(move || {
        let _slot = slot;
        let started = Instant::now();
        let target = profile.as_deref().map_or(Target::Claimed, Target::Named);
        // The walk calls it now and then (every few hundred steps), as a search checks its budget.
        let stop = || budget.check().is_err();
        let result = profiles::validate(rtype, &resource, target, &stop)
            .map_err(|error| refusal(error, rtype, &budget));
        (result, started.elapsed())
    })
    .await
    .map_err(|e| ApiError::Unavailable(format!("the validation could not run: {e}")))?;
    cancel.disarm();
    let mut response = match result {
        Ok(validation) => {
            let validation = without_hidden(validation, rtype, &hidden, &mut extra);
            state.metrics.validated(validation.is_valid());
            answer(&issues(&validation, extra))
        }
        Err(error) => actix_web::ResponseError::error_response(&error),
    };
    response.extensions_mut().insert(Work(work));
    Ok(response)
}

/// Why a validation could not be performed, as the error the client gets.
fn refusal(error: ValidateError, rtype: ResourceType, budget: &Budget) -> ApiError {
    match error {
        ValidateError::UnknownProfile { named, supported } => ApiError::NotHonoured(format!(
            "profile `{named}` is not one this server validates {rtype} against; it validates against {}",
            supported.join(", ")
        )),
        ValidateError::Stopped => match budget.check() {
            Err(crate::search::limits::Interrupted::Cancelled) => {
                ApiError::Unavailable("the validation was cancelled: its client went away".into())
            }
            _ => ApiError::TooCostly {
                limit: "deadline_ms",
                message:
                    "too costly: the validation ran past its deadline (limit `limits.deadline_ms`)"
                        .into(),
            },
        },
    }
}

/// The issues of the answer: this server's own (read-only, id) first, then the validation's
/// (its OperationOutcome, which says which profiles were checked when it found nothing).
fn issues(validation: &Validation, mut extra: Vec<Value>) -> Vec<Value> {
    let outcome = profiles::outcome(validation);
    if let Some(issues) = outcome["issue"].as_array() {
        extra.extend(issues.iter().cloned());
    }
    extra
}

/// `validation` without its findings about `hidden`, the top-level elements redacted from the
/// caller's view of a stored resource: their absence comes from the redaction, not from the
/// directory, and anything said about them would tell what the caller may not read. One
/// `information` issue says which elements were left out.
fn without_hidden(
    mut validation: Validation,
    rtype: ResourceType,
    hidden: &[String],
    extra: &mut Vec<Value>,
) -> Validation {
    if hidden.is_empty() {
        return validation;
    }
    let tops: Vec<String> = hidden
        .iter()
        .map(|name| format!("{rtype}.{name}"))
        .collect();
    let under = |path: &str| {
        tops.iter().any(|top| {
            path.strip_prefix(top.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', ':', '[']))
        })
    };
    validation
        .findings
        .retain(|f| !under(&f.element) && !under(&f.expression));
    extra.push(profiles::issue(
        "information",
        "informational",
        &format!(
            "not checked: {} (restricted: left out of what you may read)",
            tops.join(", ")
        ),
        None,
    ));
    validation
}

/// The 200 answer: the OperationOutcome in FHIR JSON (written as XML by
/// `format::respond_in_kind` for a client that asked for XML).
fn answer(issues: &[Value]) -> HttpResponse {
    let outcome = json!({"resourceType": "OperationOutcome", "issue": issues});
    HttpResponse::Ok()
        .content_type(FHIR_JSON)
        .body(outcome.to_string())
}

/// `resource` when it is a `{type}`, else why not.
fn of_type(resource: Value, rtype: ResourceType) -> Result<Value, ApiError> {
    match resource.get("resourceType").and_then(Value::as_str) {
        Some(name) if name == rtype.as_str() => Ok(resource),
        Some(name) => Err(ApiError::BadRequest(format!(
            "this is {rtype}/$validate, and the resource is a {name}: call {name}/$validate"
        ))),
        None => Err(ApiError::BadRequest(
            "the resource to validate has no resourceType".into(),
        )),
    }
}

/// The parameters asked: `profile` and `mode` from the query, then the body's resource and
/// parameters (a bare resource, or a `Parameters`).
fn asked(req: &HttpRequest, body: &[u8]) -> Result<Asked, ApiError> {
    let mut asked = Asked::default();
    for (name, value) in query_pairs(req.query_string()) {
        match name.as_str() {
            "profile" => Asked::set(&mut asked.profile, "profile", value)?,
            "mode" => Asked::set(&mut asked.mode, "mode", value)?,
            other if crate::search::shared_params::is_presentation(other) => {}
            other => {
                return Err(ApiError::BadRequest(format!(
                    "$validate takes the parameters profile and mode (and _format, _pretty), not `{other}`"
                )));
            }
        }
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(asked);
    }
    let posted = parse_body(req, body)?;
    if posted.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        asked.resource = Some(posted);
        return Ok(asked);
    }
    for parameter in posted["parameter"].as_array().into_iter().flatten() {
        parameter_into(&mut asked, parameter)?;
    }
    if asked.resource.is_none() && asked.mode.as_deref() != Some("delete") {
        return Err(ApiError::BadRequest(
            "the Parameters of $validate have no `resource` parameter: put the resource to validate in one (or POST it bare)".into(),
        ));
    }
    Ok(asked)
}

/// One parameter of a `Parameters` body.
fn parameter_into(asked: &mut Asked, parameter: &Value) -> Result<(), ApiError> {
    let name = parameter["name"].as_str().unwrap_or_default();
    let text = || {
        ["valueUri", "valueCanonical", "valueCode", "valueString", "valueUrl"]
            .iter()
            .find_map(|key| parameter[*key].as_str())
            .map(str::to_owned)
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "the `{name}` parameter of $validate has no value (valueUri, valueCanonical or valueCode)"
                ))
            })
    };
    match name {
        "resource" => {
            let resource = parameter
                .get("resource")
                .filter(|r| r.is_object())
                .ok_or_else(|| {
                    ApiError::BadRequest(
                        "the `resource` parameter of $validate holds no resource".into(),
                    )
                })?;
            if asked.resource.is_some() {
                return Err(ApiError::BadRequest(
                    "$validate validates one resource: the Parameters hold `resource` twice".into(),
                ));
            }
            asked.resource = Some(resource.clone());
        }
        "profile" => Asked::set(&mut asked.profile, "profile", text()?)?,
        "mode" => Asked::set(&mut asked.mode, "mode", text()?)?,
        other => {
            return Err(ApiError::BadRequest(format!(
                "$validate takes the parameters resource, profile and mode, not `{other}`"
            )));
        }
    }
    Ok(())
}

/// How a body is written, from its `Content-Type` (the FHIR media types `_format` and `Accept`
/// know, wildcards aside: they name no format for a body); without one, from its first
/// character.
fn body_format(req: &HttpRequest, body: &[u8]) -> Result<Format, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let media = content_type.split(';').next().unwrap_or("").trim();
    if media.is_empty() {
        return match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Ok(Format::Json),
            Some(b'<') => Ok(Format::Xml),
            _ => Err(not_fhir("it is neither JSON nor XML")),
        };
    }
    Some(media)
        .filter(|m| m.contains('/') && !m.contains('*'))
        .and_then(Format::from_media_type)
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "$validate takes a resource in FHIR JSON (application/fhir+json) or FHIR XML (application/fhir+xml), not `{media}`"
            ))
        })
}

fn not_fhir(why: &str) -> ApiError {
    ApiError::BadRequest(format!("the $validate body is not a FHIR resource: {why}"))
}

/// The body as a JSON resource, read from FHIR JSON or FHIR XML.
fn parse_body(req: &HttpRequest, body: &[u8]) -> Result<Value, ApiError> {
    let value = match body_format(req, body)? {
        Format::Json => strict_json(body)?,
        Format::Xml => xml_read::to_json(body, &shape, ReadLimits::default())
            .map_err(|e| not_fhir(&e.to_string()))?,
    };
    if !value.is_object() {
        return Err(not_fhir("it is not a JSON object"));
    }
    if value.get("resourceType").and_then(Value::as_str).is_none() {
        return Err(not_fhir("it has no resourceType"));
    }
    Ok(value)
}

/// JSON, refused when an object holds a property twice (R4 JSON: properties appear once; a
/// reader would silently keep one of them, and validate something else than was sent).
fn strict_json(body: &[u8]) -> Result<Value, ApiError> {
    let node = crate::fhir::node::Node::parse(body)
        .map_err(|e| not_fhir(&format!("invalid JSON: {e}")))?;
    if let Some(name) = duplicate_property(&node) {
        return Err(not_fhir(&format!(
            "the property `{name}` appears twice in one object"
        )));
    }
    serde_json::from_slice(body).map_err(|e| not_fhir(&format!("invalid JSON: {e}")))
}

/// The first property given twice in one object, anywhere in `node`.
fn duplicate_property(node: &crate::fhir::node::Node<'_>) -> Option<String> {
    use crate::fhir::node::Node;
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        match node {
            Node::Object(members) => {
                let mut names: Vec<&str> = members.keys().collect();
                names.sort_unstable();
                if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
                    return Some(pair[0].to_owned());
                }
                stack.extend(members.iter().map(|(_, value)| value));
            }
            Node::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    None
}

/// The JSON shape of an element for the XML reader: the profiles' knowledge of the served
/// types, and the few elements of `Parameters` a `$validate` body uses.
fn shape(path: &str) -> Option<Shape> {
    let parameters = |repeats, kind| Some(Shape { repeats, kind });
    match path {
        "Parameters.parameter" | "Parameters.parameter.part" => {
            return parameters(true, JsonKind::Object);
        }
        "Parameters.parameter.resource" => return parameters(false, JsonKind::Object),
        _ if path.starts_with("Parameters.parameter.") => {
            return parameters(false, JsonKind::String);
        }
        _ => {}
    }
    profiles::element_shape(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::node::Node;

    #[test]
    fn a_property_given_twice_is_found_at_any_depth() {
        let found = |json: &str| duplicate_property(&Node::parse(json.as_bytes()).unwrap());
        assert_eq!(
            found(r#"{"a":1,"b":{"c":[{"d":1,"d":2}]}}"#),
            Some("d".into())
        );
        assert_eq!(found(r#"{"a":1,"a":1}"#), Some("a".into()));
        assert_eq!(found(r#"{"a":1,"_a":{"a":2},"b":[{"a":1},{"a":2}]}"#), None);
    }

    #[test]
    fn modes_are_the_r4_codes() {
        assert_eq!(Mode::parse("profile").unwrap(), Mode::Plain);
        assert_eq!(Mode::parse("create").unwrap(), Mode::Create);
        assert_eq!(Mode::parse("update").unwrap(), Mode::Update);
        assert_eq!(Mode::parse("delete").unwrap(), Mode::Delete);
        assert!(Mode::parse("Create").is_err());
        assert!(Mode::parse("").is_err());
    }
}
