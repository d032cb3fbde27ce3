//! What a `Subscription` must be to be accepted, and what the notifier reads of a stored one.
//!
//! The representation is the Subscriptions Backport IG's for R4 (STU 1.1): `criteria` names a
//! topic (`conformance/topics.json`), the filters are `backport-filter-criteria` extensions on
//! `_criteria` (each a whole search, `Type?params`; several are ORed, see
//! docs/subscriptions.md), the payload content is the `backport-payload-content` extension on
//! `channel._payload`, and the channel's heartbeat, timeout and max-count are extensions on
//! `channel`. The IG says a server "SHALL reject" what it cannot honour: every refusal here
//! names what is unsupported and what is.

use std::time::Duration;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::topic;
use super::types::{NotifyError, State};
use crate::fhir::ResourceType;
use crate::local::{LocalError, LocalResource, LocalStore, LocalType, Read};
use crate::search::query;

/// The profile every stored subscription claims.
pub const PROFILE: &str =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription";
pub const FILTER_CRITERIA: &str =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria";
pub const PAYLOAD_CONTENT: &str =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content";
pub const HEARTBEAT_PERIOD: &str =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period";
pub const TIMEOUT: &str =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-timeout";
pub const MAX_COUNT: &str =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-max-count";

/// `backport-timeout` when the subscription gives none, in seconds.
pub const DEFAULT_TIMEOUT: u64 = 30;
/// `backport-max-count` when the subscription gives none.
pub const DEFAULT_MAX_COUNT: usize = 20;

/// Search result parameters: they shape an answer, they select nothing, so a filter has no
/// use for them.
const RESULT_PARAMETERS: &[&str] = &[
    "_count",
    "_sort",
    "_include",
    "_revinclude",
    "_summary",
    "_elements",
    "_total",
    "_cursor",
    "_format",
    "_pretty",
    "_contained",
    "_containedType",
];

/// How notifications reach the subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    RestHook,
    Websocket,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::RestHook => "rest-hook",
            Channel::Websocket => "websocket",
        }
    }

    fn parse(code: &str) -> Option<Channel> {
        match code {
            "rest-hook" => Some(Channel::RestHook),
            "websocket" => Some(Channel::Websocket),
            _ => None,
        }
    }

    /// The status a subscription starts in: a rest-hook one waits for its handshake, a
    /// websocket one is active as soon as a client may bind to it.
    fn initial_state(self) -> State {
        match self {
            Channel::RestHook => State::Requested,
            Channel::Websocket => State::Active,
        }
    }
}

/// How much of a changed resource a notification carries (`backport-payload-content`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Empty,
    IdOnly,
    FullResource,
}

impl Content {
    pub fn as_str(self) -> &'static str {
        match self {
            Content::Empty => "empty",
            Content::IdOnly => "id-only",
            Content::FullResource => "full-resource",
        }
    }

    pub fn parse(code: &str) -> Option<Content> {
        match code {
            "empty" => Some(Content::Empty),
            "id-only" => Some(Content::IdOnly),
            "full-resource" => Some(Content::FullResource),
            _ => None,
        }
    }
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Requested => "requested",
            State::Active => "active",
            State::Error => "error",
            State::Off => "off",
        }
    }

    pub fn parse(code: &str) -> Option<State> {
        match code {
            "requested" => Some(State::Requested),
            "active" => Some(State::Active),
            "error" => Some(State::Error),
            "off" => Some(State::Off),
            _ => None,
        }
    }
}

/// The type a filter selects: a served type (searched in the generations) or `List` (the
/// local store's lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterType {
    Served(ResourceType),
    List,
}

impl FilterType {
    pub fn as_str(self) -> &'static str {
        match self {
            FilterType::Served(rtype) => rtype.as_str(),
            FilterType::List => "List",
        }
    }
}

/// One filter, split: its type, its search parameters (without `_list`), and the lists its
/// `_list` parameters name (ANDed, as every parameter of a search).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filter {
    pub rtype: FilterType,
    pub params: Vec<(String, String)>,
    pub lists: Vec<String>,
    /// As the subscriber wrote it.
    pub text: String,
}

/// Everything delivery and the notifier need of a stored subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionView {
    pub id: String,
    /// Its `meta.versionId`.
    pub version: u32,
    pub state: State,
    /// `Subscription.error`, when in `error`.
    pub error: Option<String>,
    pub topic: String,
    pub filters: Vec<Filter>,
    pub channel: Channel,
    /// The rest-hook URL (`None` for websocket).
    pub endpoint: Option<String>,
    /// `channel.header`, each `Name: value`, sent with every rest-hook POST.
    pub headers: Vec<String>,
    /// `application/fhir+json` or `application/fhir+xml`.
    pub payload: String,
    pub content: Content,
    pub heartbeat: Option<Duration>,
    pub timeout: Duration,
    pub max_count: usize,
    /// `end`: no notification after it.
    pub end: Option<OffsetDateTime>,
}

fn refused(message: impl Into<String>) -> NotifyError {
    NotifyError::Refused(message.into())
}

/// The extensions of `element` with this `url`.
fn extensions<'a>(element: Option<&'a Value>, url: &'a str) -> impl Iterator<Item = &'a Value> {
    element
        .and_then(|e| e.get("extension"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(move |e| e.get("url").and_then(Value::as_str) == Some(url))
}

/// The only extension of `element` with this `url`, refusing two.
fn single_extension<'a>(
    element: Option<&'a Value>,
    url: &'a str,
    what: &str,
) -> Result<Option<&'a Value>, NotifyError> {
    let mut found = extensions(element, url);
    let first = found.next();
    if found.next().is_some() {
        return Err(refused(format!("{what} is given twice: give it once")));
    }
    Ok(first)
}

/// A non-negative whole number of an extension's `value[x]` among `keys`.
fn extension_number(extension: &Value, keys: &[&str], what: &str) -> Result<u64, NotifyError> {
    keys.iter()
        .find_map(|key| extension.get(*key))
        .and_then(Value::as_u64)
        .ok_or_else(|| {
            refused(format!(
                "{what} must be a whole number of seconds or events ({})",
                keys.join(" or ")
            ))
        })
}

/// Splits a filter (`Practitioner?family=MARTIN&_list=l1`) into its type, its parameters and
/// its lists; refuses an unserved type, a result parameter, a parameter the type lacks.
pub fn parse_filter(text: &str) -> Result<Filter, NotifyError> {
    let text = text.trim();
    let (type_name, query) = text.split_once('?').unwrap_or((text, ""));
    let rtype = if type_name == "List" {
        FilterType::List
    } else {
        FilterType::Served(type_name.parse::<ResourceType>().map_err(|_| {
            refused(format!(
                "the filter `{text}` names `{type_name}`, which this topic does not cover: a filter is `Type?parameters` with a type among {}, List",
                ResourceType::names()
            ))
        })?)
    };
    let mut params = Vec::new();
    let mut lists = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let (name, value) = (name.into_owned(), value.into_owned());
        if RESULT_PARAMETERS.contains(&name.as_str()) {
            return Err(refused(format!(
                "the filter `{text}` has `{name}`, which shapes a search's answer and selects nothing: leave it out of a filter"
            )));
        }
        if name == "_list" {
            if value.is_empty() || value.contains(',') {
                return Err(refused(format!(
                    "the filter `{text}` has `_list={value}`: `_list` names one List (repeat the parameter to require several)"
                )));
            }
            lists.push(value);
        } else {
            params.push((name, value));
        }
    }
    let filter = Filter {
        rtype,
        params,
        lists,
        text: text.to_owned(),
    };
    check_parameters(&filter)?;
    Ok(filter)
}

/// The filter's parameters are a search of its type this server runs.
fn check_parameters(filter: &Filter) -> Result<(), NotifyError> {
    match filter.rtype {
        FilterType::List => {
            if let Some((name, _)) = filter.params.iter().find(|(name, _)| name != "_id") {
                return Err(refused(format!(
                    "the filter `{}` has `{name}`: a List filter takes `_id` only (`List?_id=my-list`)",
                    filter.text
                )));
            }
            if !filter.lists.is_empty() {
                return Err(refused(format!(
                    "the filter `{}` has `_list`: a List filter takes `_id` only",
                    filter.text
                )));
            }
            Ok(())
        }
        FilterType::Served(rtype) => query::parse(rtype, &filter.params, true)
            .map(|_| ())
            .map_err(|e| {
                refused(format!(
                    "the filter `{}` is not a search this server runs: {e}",
                    filter.text
                ))
            }),
    }
}

/// The filters of a `Subscription` (at least one).
fn filters(body: &Value) -> Result<Vec<Filter>, NotifyError> {
    let found = extensions(body.get("_criteria"), FILTER_CRITERIA)
        .map(|e| {
            e.get("valueString").and_then(Value::as_str).ok_or_else(|| {
                refused("a backport-filter-criteria extension must have a valueString (`Type?parameters`)")
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if found.is_empty() {
        return Err(refused(format!(
            "the subscription has no filter: add at least one extension `{FILTER_CRITERIA}` on `_criteria`, with a valueString such as `Practitioner?_id=810000000001` (every change of the whole directory is not offered)"
        )));
    }
    found.into_iter().map(parse_filter).collect()
}

fn channel_of(body: &Value) -> Result<&Map<String, Value>, NotifyError> {
    body.get("channel")
        .and_then(Value::as_object)
        .ok_or_else(|| refused("the subscription has no `channel`: give its `type` (rest-hook or websocket), `payload` and, for rest-hook, `endpoint`"))
}

fn string<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

/// Reads the parts of a `Subscription` the notifier acts on, refusing what it cannot honour.
/// `id`, `version` and `state` are the caller's to fill in for a body not yet stored.
pub fn read(id: &str, version: u32, body: &Value) -> Result<SubscriptionView, NotifyError> {
    if body.get("resourceType").and_then(Value::as_str) != Some("Subscription") {
        return Err(refused("the body is not a Subscription"));
    }
    let topic = body
        .get("criteria")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            refused(format!(
                "the subscription has no `criteria`: give the topic, `{}`",
                topic::RESOURCE_CHANGE
            ))
        })?;
    if topic::find(topic).is_none() {
        return Err(refused(format!(
            "unknown topic `{topic}` in `criteria`: this server offers {}",
            topic::all()
                .iter()
                .map(|t| format!("`{}`", t.url))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let filters = filters(body)?;
    let channel = channel_of(body)?;
    let channel_type = string(channel, "type").unwrap_or_default();
    let channel_kind = Channel::parse(channel_type).ok_or_else(|| {
        refused(format!(
            "channel type `{channel_type}` is not supported: use `rest-hook` or `websocket`"
        ))
    })?;
    let endpoint = string(channel, "endpoint").map(str::to_owned);
    if channel_kind == Channel::RestHook && endpoint.as_deref().is_none_or(str::is_empty) {
        return Err(refused(
            "a rest-hook subscription needs `channel.endpoint`, the https URL notifications are POSTed to",
        ));
    }
    let payload = string(channel, "payload").ok_or_else(|| {
        refused("the subscription has no `channel.payload`: give `application/fhir+json` (or `application/fhir+xml`)")
    })?;
    if !matches!(payload, "application/fhir+json" | "application/fhir+xml") {
        return Err(refused(format!(
            "payload type `{payload}` is not supported: use `application/fhir+json` or `application/fhir+xml`"
        )));
    }
    let content = content_of(channel)?;
    let channel_value = body.get("channel");
    let heartbeat = single_extension(channel_value, HEARTBEAT_PERIOD, "backport-heartbeat-period")?
        .map(|e| {
            extension_number(
                e,
                &["valueUnsignedInt", "valueInteger"],
                "backport-heartbeat-period",
            )
        })
        .transpose()?
        .filter(|seconds| *seconds > 0)
        .map(Duration::from_secs);
    let timeout = single_extension(channel_value, TIMEOUT, "backport-timeout")?
        .map(|e| extension_number(e, &["valueUnsignedInt", "valueInteger"], "backport-timeout"))
        .transpose()?
        .unwrap_or(DEFAULT_TIMEOUT);
    if timeout == 0 {
        return Err(refused("backport-timeout must be at least 1 second"));
    }
    let max_count = single_extension(channel_value, MAX_COUNT, "backport-max-count")?
        .map(|e| {
            extension_number(
                e,
                &["valuePositiveInt", "valueInteger"],
                "backport-max-count",
            )
        })
        .transpose()?
        .unwrap_or(DEFAULT_MAX_COUNT as u64);
    if max_count == 0 {
        return Err(refused("backport-max-count must be at least 1"));
    }
    let headers = match channel.get("header") {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(header).collect::<Result<Vec<_>, _>>()?,
        Some(_) => {
            return Err(refused(
                "`channel.header` must be a list of `Name: value` strings",
            ));
        }
    };
    let end = match body.get("end") {
        None => None,
        Some(value) => Some(
            value
                .as_str()
                .and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok())
                .ok_or_else(|| refused("`end` must be an instant with its time zone, such as `2027-01-01T00:00:00Z`"))?,
        ),
    };
    let state = body
        .get("status")
        .and_then(Value::as_str)
        .and_then(State::parse)
        .unwrap_or(channel_kind.initial_state());
    Ok(SubscriptionView {
        id: id.to_owned(),
        version,
        state,
        error: body.get("error").and_then(Value::as_str).map(str::to_owned),
        topic: topic.to_owned(),
        filters,
        channel: channel_kind,
        endpoint,
        headers,
        payload: payload.to_owned(),
        content,
        heartbeat,
        timeout: Duration::from_secs(timeout),
        max_count: usize::try_from(max_count).unwrap_or(usize::MAX),
        end,
    })
}

fn content_of(channel: &Map<String, Value>) -> Result<Content, NotifyError> {
    let extension = single_extension(channel.get("_payload"), PAYLOAD_CONTENT, "backport-payload-content")?
        .ok_or_else(|| {
            refused(format!(
                "the subscription has no payload content: add the extension `{PAYLOAD_CONTENT}` on `channel._payload` with valueCode `empty`, `id-only` or `full-resource`"
            ))
        })?;
    let code = extension
        .get("valueCode")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Content::parse(code).ok_or_else(|| {
        refused(format!(
            "payload content `{code}` is not supported: use `empty`, `id-only` or `full-resource`"
        ))
    })
}

/// A `channel.header` item: `Name: value`, a name HTTP accepts, no line break.
fn header(item: &Value) -> Result<String, NotifyError> {
    let text = item.as_str().unwrap_or_default();
    let valid = text.split_once(':').is_some_and(|(name, value)| {
        !name.trim().is_empty()
            && name
                .trim()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
            && !value.contains(['\r', '\n'])
    });
    if !valid {
        return Err(refused(format!(
            "`channel.header` `{text}` is not an HTTP header: write `Name: value`"
        )));
    }
    Ok(text.to_owned())
}

/// Checks a `Subscription` body and returns it as it will be stored: `status` the server's
/// (`previous` is the stored version's state on an update; a client may only turn a
/// subscription `off`, or back on from `off` or `error`), `error` dropped unless in error,
/// the backport profile in `meta.profile`. `endpoint_check` is the endpoint policy
/// (`notify::endpoint::check` with the operator's allow list).
pub fn check(
    mut body: Value,
    previous: Option<&SubscriptionView>,
    now: OffsetDateTime,
    endpoint_check: &dyn Fn(&str) -> Result<(), String>,
) -> Result<Value, NotifyError> {
    if !body.is_object() {
        return Err(refused("the body is not a JSON object"));
    }
    if body
        .get("reason")
        .and_then(Value::as_str)
        .is_none_or(|r| r.trim().is_empty())
    {
        return Err(refused(
            "the subscription has no `reason`: R4 requires one (say why it is kept, e.g. `correspondents of the cardiology ward`)",
        ));
    }
    let asked = body
        .get("status")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(object) = body.as_object_mut() {
        object.remove("status");
    }
    let view = read("", 0, &body)?;
    if let Some(end) = view.end
        && end <= now
    {
        return Err(refused(
            "`end` is in the past: give a later instant, or none",
        ));
    }
    if let Some(endpoint) = &view.endpoint
        && view.channel == Channel::RestHook
    {
        endpoint_check(endpoint)
            .map_err(|reason| refused(format!("the endpoint `{endpoint}` is refused: {reason}")))?;
    }
    let state = next_state(&view, previous, asked.as_deref());
    let object = body.as_object_mut().expect("an object");
    object.insert("status".into(), json!(state.as_str()));
    if state != State::Error {
        object.remove("error");
    }
    set_profile(object);
    Ok(body)
}

/// The status the server gives a checked subscription.
fn next_state(
    view: &SubscriptionView,
    previous: Option<&SubscriptionView>,
    asked: Option<&str>,
) -> State {
    if asked == Some("off") {
        return State::Off;
    }
    match previous {
        // Unchanged where notifications go: it keeps its state.
        Some(previous)
            if previous.state == State::Active
                && previous.channel == view.channel
                && previous.endpoint == view.endpoint =>
        {
            State::Active
        }
        // New, re-activated (from off or error), or pointed elsewhere: starts again.
        _ => view.channel.initial_state(),
    }
}

/// Puts the backport profile in `meta.profile` (once).
fn set_profile(object: &mut Map<String, Value>) {
    let meta = object.entry("meta").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    let profiles = meta
        .as_object_mut()
        .expect("an object")
        .entry("profile")
        .or_insert_with(|| json!([]));
    if !profiles.is_array() {
        *profiles = json!([]);
    }
    let list = profiles.as_array_mut().expect("an array");
    if !list.iter().any(|p| p.as_str() == Some(PROFILE)) {
        list.push(json!(PROFILE));
    }
}

/// A stored subscription, read.
fn view(resource: &LocalResource) -> Result<SubscriptionView, NotifyError> {
    read(&resource.id, resource.version, &resource.json).map_err(|e| {
        NotifyError::Local(LocalError::Store(format!(
            "stored Subscription/{} is unreadable: {e}",
            resource.id
        )))
    })
}

/// The subscription `id` of the store (`None`: none, or deleted).
pub fn stored(store: &LocalStore, id: &str) -> Result<Option<SubscriptionView>, NotifyError> {
    match store.read(LocalType::Subscription, id)? {
        Read::Found(resource) => Ok(Some(view(&resource)?)),
        Read::Gone(_) | Read::Missing => Ok(None),
    }
}

/// Every subscription whose events are queued and delivered (`requested` — waiting for its
/// handshake — and `active`), not past its `end`, in id order.
pub fn active(store: &LocalStore) -> Result<Vec<SubscriptionView>, NotifyError> {
    let now = store.clock().now_utc();
    let mut out = Vec::new();
    for resource in store.current(LocalType::Subscription)? {
        let view = view(&resource)?;
        if is_served(&view, now) {
            out.push(view);
        }
    }
    Ok(out)
}

/// Whether a subscription's events are queued and delivered at `now`: `requested` or
/// `active`, and not past its `end`.
pub fn is_served(view: &SubscriptionView, now: time::OffsetDateTime) -> bool {
    matches!(view.state, State::Requested | State::Active) && view.end.is_none_or(|end| end > now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept_all(_: &str) -> Result<(), String> {
        Ok(())
    }

    fn body(filters: &[&str], channel: Value) -> Value {
        json!({
            "resourceType": "Subscription",
            "status": "active",
            "reason": "correspondents",
            "criteria": topic::RESOURCE_CHANGE,
            "_criteria": {"extension": filters.iter().map(|f| json!({"url": FILTER_CRITERIA, "valueString": f})).collect::<Vec<_>>()},
            "channel": channel,
        })
    }

    fn rest_hook() -> Value {
        json!({
            "type": "rest-hook",
            "endpoint": "https://hospital.example/hook",
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": PAYLOAD_CONTENT, "valueCode": "id-only"}]},
            "header": ["Authorization: Bearer x"],
            "extension": [{"url": MAX_COUNT, "valuePositiveInt": 5}]
        })
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::parse("2026-12-01T00:00:00Z", &Rfc3339).unwrap()
    }

    fn refusal(body: Value) -> String {
        match check(body, None, now(), &accept_all) {
            Err(NotifyError::Refused(message)) => message,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_rest_hook_subscription_starts_requested_with_the_profile() {
        let stored = check(
            body(&["Practitioner?family=MARTIN"], rest_hook()),
            None,
            now(),
            &accept_all,
        )
        .unwrap();
        assert_eq!(stored["status"], "requested");
        assert_eq!(stored["meta"]["profile"][0], PROFILE);
        let view = read("s", 1, &stored).unwrap();
        assert_eq!(view.content, Content::IdOnly);
        assert_eq!(view.max_count, 5);
        assert_eq!(view.timeout, Duration::from_secs(DEFAULT_TIMEOUT));
        assert_eq!(view.headers, vec!["Authorization: Bearer x".to_owned()]);
    }

    #[test]
    fn a_client_may_turn_it_off_but_not_on() {
        let mut b = body(&["Practitioner?family=MARTIN"], rest_hook());
        b["status"] = json!("off");
        assert_eq!(check(b, None, now(), &accept_all).unwrap()["status"], "off");
        let mut stored = check(
            body(&["Practitioner"], rest_hook()),
            None,
            now(),
            &accept_all,
        )
        .unwrap();
        stored["status"] = json!("active");
        let active = read("s", 1, &stored).unwrap();
        let again = check(
            body(&["Practitioner"], rest_hook()),
            Some(&active),
            now(),
            &accept_all,
        )
        .unwrap();
        assert_eq!(again["status"], "active");
        let mut moved = rest_hook();
        moved["endpoint"] = json!("https://elsewhere.example/hook");
        let moved = check(
            body(&["Practitioner"], moved),
            Some(&active),
            now(),
            &accept_all,
        )
        .unwrap();
        assert_eq!(moved["status"], "requested");
    }

    #[test]
    fn unsupported_choices_are_refused_by_name() {
        let mut b = body(&["Practitioner?family=X"], rest_hook());
        b["criteria"] = json!("http://example.org/topic");
        assert!(refusal(b).contains("unknown topic"));
        assert!(refusal(body(&[], rest_hook())).contains("no filter"));
        assert!(refusal(body(&["Patient?name=x"], rest_hook())).contains("`Patient`"));
        assert!(refusal(body(&["Practitioner?colour=blue"], rest_hook())).contains("colour"));
        assert!(refusal(body(&["Practitioner?_count=3"], rest_hook())).contains("_count"));
        assert!(refusal(body(&["List?title=x"], rest_hook())).contains("takes `_id` only"));
        let mut email = rest_hook();
        email["type"] = json!("email");
        assert!(refusal(body(&["Practitioner"], email)).contains("`email`"));
        let mut csv = rest_hook();
        csv["payload"] = json!("text/csv");
        assert!(refusal(body(&["Practitioner"], csv)).contains("text/csv"));
        let mut level = rest_hook();
        level["_payload"]["extension"][0]["valueCode"] = json!("everything");
        assert!(refusal(body(&["Practitioner"], level)).contains("everything"));
        let mut past = body(&["Practitioner"], rest_hook());
        past["end"] = json!("2020-01-01T00:00:00Z");
        assert!(refusal(past).contains("past"));
        let mut no_reason = body(&["Practitioner"], rest_hook());
        no_reason.as_object_mut().unwrap().remove("reason");
        assert!(refusal(no_reason).contains("reason"));
        let mut bad_header = rest_hook();
        bad_header["header"] = json!(["no colon here"]);
        assert!(refusal(body(&["Practitioner"], bad_header)).contains("header"));
    }

    #[test]
    fn the_endpoint_policy_is_asked_for_rest_hooks() {
        let refuse = |_: &str| Err("it is not https".to_owned());
        match check(body(&["Practitioner"], rest_hook()), None, now(), &refuse) {
            Err(NotifyError::Refused(message)) => assert!(message.contains("not https")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn list_parameters_are_split_from_the_search() {
        let filter = parse_filter("PractitionerRole?_list=mine&role=10").unwrap();
        assert_eq!(filter.lists, vec!["mine".to_owned()]);
        assert_eq!(filter.params, vec![("role".to_owned(), "10".to_owned())]);
        assert!(parse_filter("Practitioner?_list=a,b").is_err());
    }
}
