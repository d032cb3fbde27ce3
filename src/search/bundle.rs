//! The `searchset` Bundle: links, entries and the outcome of what was ignored, written
//! straight from the stored JSON bytes (never re-parsed unless `_summary` or `_elements` asks
//! for a subset).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::cursor::{Cursor, CursorKey};
use super::query::{SearchRequest, Summary};
use super::redact::Redaction;
use crate::fhir::ResourceType;
use crate::generation::{GenerationInfo, StoredResource};

/// One Bundle entry to write.
pub struct Entry {
    pub rtype: ResourceType,
    pub id: String,
    pub resource: StoredResource,
    pub mode: &'static str,
}

/// Everything a Bundle holds besides its entries.
pub struct Frame<'a> {
    pub base: &'a str,
    pub generation: &'a GenerationInfo,
    pub total: Option<u64>,
    pub links: Vec<(&'static str, String)>,
}

/// The `self`, `first`, `previous` and `next` links of a page.
pub fn links(
    base: &str,
    request: &SearchRequest,
    next: Option<&Cursor>,
    previous: Option<Option<&Cursor>>,
    with_paging: bool,
    key: &CursorKey,
) -> Vec<(&'static str, String)> {
    let mut links = vec![("self", link(base, request, request.cursor.as_ref(), key))];
    if with_paging {
        if request.cursor.is_some() {
            links.push(("first", link(base, request, None, key)));
        }
        if let Some(previous) = previous {
            links.push(("previous", link(base, request, previous, key)));
        }
        if let Some(next) = next {
            links.push(("next", link(base, request, Some(next), key)));
        }
    }
    links
}

/// A link with the applied parameters, plus a cursor.
fn link(base: &str, request: &SearchRequest, cursor: Option<&Cursor>, key: &CursorKey) -> String {
    let mut pairs: Vec<(String, String)> = request.applied.clone();
    if let Some(cursor) = cursor {
        pairs.push(("_cursor".into(), cursor.encode(key)));
    }
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    if query.is_empty() {
        format!("{base}/{}", request.rtype)
    } else {
        format!("{base}/{}?{}", request.rtype, query.join("&"))
    }
}

/// Percent-encodes what a query component cannot hold as is.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'~'
            | b':'
            | b'/'
            | b','
            | b'|' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Same request on the same generation, same id, on every replica (useful to test harnesses).
fn bundle_id(generation: &GenerationInfo, request: &SearchRequest, key: &CursorKey) -> String {
    let mut hasher = Sha256::new();
    hasher.update(generation.id().as_bytes());
    hasher.update(request.rtype.as_str());
    for (k, v) in &request.applied {
        hasher.update(k);
        hasher.update([0]);
        hasher.update(v);
        hasher.update([0]);
    }
    hasher.update(
        request
            .cursor
            .as_ref()
            .map(|c| c.encode(key))
            .unwrap_or_default(),
    );
    let digest = hasher.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The Bundle's JSON. `redaction` removes the elements the caller may not see.
pub fn write(
    frame: &Frame<'_>,
    entries: &[Entry],
    request: &SearchRequest,
    capped: &[String],
    redaction: &Redaction,
    key: &CursorKey,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        256 + entries
            .iter()
            .map(|e| e.resource.content.len() + 192)
            .sum::<usize>(),
    );
    out.extend_from_slice(br#"{"resourceType":"Bundle","id":"#);
    write_json_string(&mut out, &bundle_id(frame.generation, request, key));
    // The generation's watermark, not its stamp: what a client keeps to ask for what changed
    // since (see `GenerationInfo::watermark`).
    out.extend_from_slice(br#","meta":{"lastUpdated":"#);
    write_json_string(&mut out, &frame.generation.watermark().to_rfc3339());
    out.extend_from_slice(br#"},"type":"searchset""#);
    if let Some(total) = frame.total {
        out.extend_from_slice(format!(r#","total":{total}"#).as_bytes());
    }
    out.extend_from_slice(br#","link":["#);
    for (i, (relation, url)) in frame.links.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(br#"{"relation":"#);
        write_json_string(&mut out, relation);
        out.extend_from_slice(br#","url":"#);
        write_json_string(&mut out, url);
        out.push(b'}');
    }
    out.push(b']');
    let outcome = outcome(request, capped);
    if !entries.is_empty() || outcome.is_some() {
        out.extend_from_slice(br#","entry":["#);
        for (i, entry) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(br#"{"fullUrl":"#);
            write_json_string(
                &mut out,
                &format!("{}/{}/{}", frame.base, entry.rtype, entry.id),
            );
            out.extend_from_slice(br#","resource":"#);
            write_resource(&mut out, entry, request, redaction);
            out.extend_from_slice(br#","search":{"mode":"#);
            write_json_string(&mut out, entry.mode);
            out.extend_from_slice(b"}}");
        }
        if let Some(outcome) = outcome {
            if !entries.is_empty() {
                out.push(b',');
            }
            out.extend_from_slice(br#"{"resource":"#);
            out.extend_from_slice(outcome.to_string().as_bytes());
            out.extend_from_slice(br#","search":{"mode":"outcome"}}"#);
        }
        out.push(b']');
    }
    out.push(b'}');
    out
}

fn write_json_string(out: &mut Vec<u8>, text: &str) {
    serde_json::to_writer(&mut *out, text).expect("writing to a Vec cannot fail");
}

/// Warnings about what was ignored (lenient handling) and what a limit left out of the page
/// (`capped`), as an OperationOutcome.
fn outcome(request: &SearchRequest, capped: &[String]) -> Option<Value> {
    if request.ignored.is_empty() && capped.is_empty() {
        return None;
    }
    let issues: Vec<Value> = request
        .ignored
        .iter()
        .map(|reason| json!({"severity": "warning", "code": "not-supported", "diagnostics": format!("ignored: {reason}")}))
        .chain(capped.iter().map(|reason| {
            json!({"severity": "warning", "code": "too-costly", "diagnostics": reason})
        }))
        .collect();
    Some(json!({"resourceType": "OperationOutcome", "issue": issues}))
}

/// Writes an entry's resource as the caller may see it, shaped by `_summary` and `_elements`;
/// without either, and with nothing to redact, the stored bytes go straight to `out`.
fn write_resource(
    out: &mut Vec<u8>,
    entry: &Entry,
    request: &SearchRequest,
    redaction: &Redaction,
) {
    let plain = request.summary != Summary::True
        && request.summary != Summary::Text
        && request.elements.is_none();
    if plain && redaction.elements(entry.rtype).is_empty() {
        entry.resource.write_json(out);
        return;
    }
    let json = entry.resource.to_json();
    let shaped = if plain {
        json
    } else {
        shape(&json, entry.rtype, request)
    };
    out.extend_from_slice(&redaction.apply(entry.rtype, &shaped));
}

/// Applies `_summary` and `_elements` to a resource's JSON; untouched bytes otherwise.
fn shape(json: &[u8], rtype: ResourceType, request: &SearchRequest) -> Vec<u8> {
    let keep: Vec<&str> = match (request.summary, &request.elements) {
        (Summary::True, _) => rtype.summary_elements().collect(),
        (Summary::Text, _) => vec!["text"],
        (_, Some(elements)) => elements.iter().map(String::as_str).collect(),
        // `data` is everything but the narrative, and our resources carry none.
        _ => return json.to_vec(),
    };
    let Ok(Value::Object(mut resource)) = serde_json::from_slice::<Value>(json) else {
        return json.to_vec();
    };
    resource.retain(|key, _| {
        matches!(key.as_str(), "resourceType" | "id" | "meta") || keep.contains(&key.as_str())
    });
    let meta = resource.entry("meta").or_insert_with(|| json!({}));
    let tags = meta
        .as_object_mut()
        .expect("meta is an object")
        .entry("tag")
        .or_insert_with(|| json!([]));
    if let Value::Array(tags) = tags {
        tags.push(json!({"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}));
    }
    serde_json::to_vec(&Value::Object(resource)).expect("a JSON value serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_encoding() {
        assert_eq!(encode("urn:oid:1.2|8199"), "urn:oid:1.2|8199");
        assert_eq!(encode("a b&c=d"), "a%20b%26c%3Dd");
        assert_eq!(encode("LEFÈVRE"), "LEF%C3%88VRE");
    }
}
