//! Search interactions: `GET /fhir/{type}?...` and `POST /fhir/{type}/_search`, answered with
//! a `searchset` Bundle.
//!
//! Paging is keyset-based and stateless: the `next` link carries, opaquely, where the page
//! ended (its last resource id, and sort values when `_sort` is used). It stays valid across
//! server restarts and imports: in a newer generation the search resumes after the same id,
//! so a page never repeats or skips a resource that both generations hold.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::error::{ApiError, operation_outcome};
use crate::auth::Redaction;
use crate::resource_type::ResourceType;
use crate::search::engine::{Engine, compare_rows};
use crate::search::query::{SearchRequest, Summary, Total};
use crate::store::ResourceStore;

/// Where a page ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Cursor {
    /// Generation the page was read from.
    #[serde(default)]
    g: u64,
    /// Last id of the previous page.
    after: String,
    /// Its sort values (index bytes, base64), when the search is sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    keys: Vec<Option<String>>,
}

impl Cursor {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("cursor serializes"))
    }

    /// Whether the rest of the search must be read from the generation it started on: sorted
    /// results, whose sort values can change between imports. Id order needs no pinning: a
    /// newer generation resumes after the same id.
    fn pinned_generation(&self) -> Option<u64> {
        (!self.keys.is_empty()).then_some(self.g)
    }

    fn decode(text: &str) -> Result<Cursor, ApiError> {
        URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| ApiError::BadRequest(format!("invalid value `{text}` for parameter `_cursor`: not a cursor this server issued")))
    }
}

/// One Bundle entry to write.
struct Entry {
    rtype: ResourceType,
    id: String,
    json: Vec<u8>,
    mode: &'static str,
}

/// The generation a paging cursor must be continued on, if any (see `Cursor`).
pub fn pinned_generation(cursor: Option<&str>) -> Option<u64> {
    cursor
        .and_then(|c| Cursor::decode(c).ok())
        .and_then(|c| c.pinned_generation())
}

/// A searchset Bundle's JSON, and how many resources it holds (matches and includes).
pub struct SearchOutput {
    pub bundle: Vec<u8>,
    pub returned: u64,
}

/// Runs a parsed search and returns the Bundle's JSON. `base` is the FHIR base URL the request
/// came through; `redaction` removes the elements the caller may not see.
pub fn run(
    store: &dyn ResourceStore,
    request: &SearchRequest,
    base: &str,
    redaction: &Redaction,
) -> Result<SearchOutput, ApiError> {
    let engine = Engine::new(store);
    let rtype = request.rtype;
    let matches = engine.matches(rtype, &request.criteria)?;
    let cursor = request.cursor.as_deref().map(Cursor::decode).transpose()?;
    let want_entries = request.summary != Summary::Count && request.count > 0;

    // The page, its position in the whole result list, and the cursors around it.
    let (page, after_page, before_page) = if request.sort.is_empty() {
        page_by_id(store, rtype, &matches, cursor.as_ref(), request.count)?
    } else {
        page_sorted(&engine, store, request, &matches, cursor.as_ref())?
    };

    let mut entries = Vec::new();
    if want_entries {
        let mut page_set = RoaringBitmap::new();
        for doc in &page {
            page_set.insert(*doc);
            let (id, json) = document(store, rtype, *doc)?;
            entries.push(Entry {
                rtype,
                id,
                json,
                mode: "match",
            });
        }
        for (included_type, doc) in
            engine.includes(rtype, &page_set, &request.includes, &request.revincludes)?
        {
            let (id, json) = document(store, included_type, doc)?;
            entries.push(Entry {
                rtype: included_type,
                id,
                json,
                mode: "include",
            });
        }
    }

    let mut links = vec![(
        "self",
        link(base, request, cursor.as_ref().map(Cursor::encode)),
    )];
    if want_entries {
        if request.cursor.is_some() {
            links.push(("first", link(base, request, None)));
        }
        if let Some(previous) = before_page {
            links.push((
                "previous",
                link(base, request, previous.map(|c| c.encode())),
            ));
        }
        if let Some(next) = after_page {
            links.push(("next", link(base, request, Some(next.encode()))));
        }
    }
    let total = match request.total {
        Total::None if request.summary != Summary::Count => None,
        _ => Some(matches.len()),
    };
    let bundle_id = bundle_id(store, request);
    let bundle = write_bundle(
        store, base, &bundle_id, total, &links, &entries, request, redaction,
    )?;
    Ok(SearchOutput {
        bundle,
        returned: entries.len() as u64,
    })
}

fn document(
    store: &dyn ResourceStore,
    rtype: ResourceType,
    doc: u32,
) -> Result<(String, Vec<u8>), ApiError> {
    store.document(rtype, doc)?.ok_or_else(|| {
        ApiError::Store(crate::store::StoreError::Damaged {
            path: std::path::PathBuf::from("(generation)"),
            detail: format!("document {rtype} #{doc} is indexed but missing"),
        })
    })
}

/// The page's documents, the cursor after it (if more follow) and the cursor before it
/// (`Some(None)`: the previous page is the first).
type Page = (Vec<u32>, Option<Cursor>, Option<Option<Cursor>>);

/// Unsorted results: id order, which is document order.
fn page_by_id(
    store: &dyn ResourceStore,
    rtype: ResourceType,
    matches: &RoaringBitmap,
    cursor: Option<&Cursor>,
    count: usize,
) -> Result<Page, ApiError> {
    let start_doc = match cursor {
        Some(cursor) => store.first_document_after(rtype, &cursor.after)?,
        None => 0,
    };
    // Position of the page's first match in the whole list.
    let start = if start_doc == 0 {
        0
    } else {
        matches.rank(start_doc - 1)
    };
    let page: Vec<u32> = matches.range(start_doc..).take(count).collect();
    let id_of = |doc: u32| -> Result<String, ApiError> {
        Ok(store
            .document_id(rtype, doc)?
            .map(|(id, _)| id)
            .unwrap_or_default())
    };
    let next = match page.last() {
        Some(last) if matches.range(last + 1..).next().is_some() => Some(Cursor {
            g: store.info().number,
            after: id_of(*last)?,
            keys: Vec::new(),
        }),
        _ => None,
    };
    let previous = if start == 0 || count == 0 {
        None
    } else if start <= count as u64 {
        Some(None)
    } else {
        let before = matches
            .select((start - count as u64 - 1) as u32)
            .expect("rank within bounds");
        Some(Some(Cursor {
            g: store.info().number,
            after: id_of(before)?,
            keys: Vec::new(),
        }))
    };
    Ok((page, next, previous))
}

/// Sorted results: every match's sort values, ordered, then the page after the cursor.
fn page_sorted(
    engine: &Engine<'_>,
    store: &dyn ResourceStore,
    request: &SearchRequest,
    matches: &RoaringBitmap,
    cursor: Option<&Cursor>,
) -> Result<Page, ApiError> {
    let rtype = request.rtype;
    let rows = engine.sorted(rtype, matches, &request.sort)?;
    let start = match cursor {
        None => 0,
        Some(cursor) => {
            let keys: Vec<Option<Vec<u8>>> = cursor
                .keys
                .iter()
                .map(|k| k.as_ref().and_then(|k| URL_SAFE_NO_PAD.decode(k).ok()))
                .collect();
            if keys.len() != request.sort.len() {
                return Err(ApiError::BadRequest(
                    "invalid value for parameter `_cursor`: it was issued for another sort order"
                        .into(),
                ));
            }
            let after_doc = store.first_document_after(rtype, &cursor.after)?;
            // Rows strictly after (keys, id): same keys and a document at or after the first
            // document whose id follows the cursor's id.
            rows.partition_point(|row| {
                let probe = (keys.clone(), after_doc);
                compare_rows(&request.sort, row, &probe) == std::cmp::Ordering::Less
            })
        }
    };
    let count = request.count;
    let page: Vec<u32> = rows
        .iter()
        .skip(start)
        .take(count)
        .map(|(_, d)| *d)
        .collect();
    let cursor_at = |index: usize| -> Result<Cursor, ApiError> {
        let (keys, doc) = &rows[index];
        Ok(Cursor {
            g: store.info().number,
            after: store
                .document_id(rtype, *doc)?
                .map(|(id, _)| id)
                .unwrap_or_default(),
            keys: keys
                .iter()
                .map(|k| k.as_ref().map(|k| URL_SAFE_NO_PAD.encode(k)))
                .collect(),
        })
    };
    let end = start + page.len();
    let next = if !page.is_empty() && end < rows.len() {
        Some(cursor_at(end - 1)?)
    } else {
        None
    };
    let previous = if start == 0 || count == 0 {
        None
    } else if start <= count {
        Some(None)
    } else {
        Some(Some(cursor_at(start - count - 1)?))
    };
    Ok((page, next, previous))
}

/// A link with the applied parameters, plus a cursor.
fn link(base: &str, request: &SearchRequest, cursor: Option<String>) -> String {
    let mut pairs: Vec<(String, String)> = request.applied.clone();
    if let Some(cursor) = cursor {
        pairs.push(("_cursor".into(), cursor));
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

/// Same request on the same generation, same id (useful to test harnesses).
fn bundle_id(store: &dyn ResourceStore, request: &SearchRequest) -> String {
    let mut hasher = Sha256::new();
    hasher.update(store.info().number.to_be_bytes());
    hasher.update(request.rtype.as_str());
    for (k, v) in &request.applied {
        hasher.update(k);
        hasher.update([0]);
        hasher.update(v);
        hasher.update([0]);
    }
    hasher.update(request.cursor.as_deref().unwrap_or(""));
    let digest = hasher.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

fn write_bundle(
    store: &dyn ResourceStore,
    base: &str,
    id: &str,
    total: Option<u64>,
    links: &[(&str, String)],
    entries: &[Entry],
    request: &SearchRequest,
    redaction: &Redaction,
) -> Result<Vec<u8>, ApiError> {
    let mut out =
        Vec::with_capacity(256 + entries.iter().map(|e| e.json.len() + 128).sum::<usize>());
    out.extend_from_slice(br#"{"resourceType":"Bundle","id":"#);
    write_json_string(&mut out, id);
    out.extend_from_slice(br#","meta":{"lastUpdated":"#);
    write_json_string(&mut out, &store.info().last_updated);
    out.extend_from_slice(br#"},"type":"searchset""#);
    if let Some(total) = total {
        out.extend_from_slice(format!(r#","total":{total}"#).as_bytes());
    }
    out.extend_from_slice(br#","link":["#);
    for (i, (relation, url)) in links.iter().enumerate() {
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
    let outcome = outcome(request);
    if !entries.is_empty() || outcome.is_some() {
        out.extend_from_slice(br#","entry":["#);
        for (i, entry) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(br#"{"fullUrl":"#);
            write_json_string(&mut out, &format!("{base}/{}/{}", entry.rtype, entry.id));
            out.extend_from_slice(br#","resource":"#);
            let shaped = shape(&entry.json, entry.rtype, request)?;
            out.extend_from_slice(&redaction.apply(entry.rtype, &shaped));
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
    Ok(out)
}

fn write_json_string(out: &mut Vec<u8>, text: &str) {
    serde_json::to_writer(&mut *out, text).expect("writing to a Vec cannot fail");
}

/// Warnings about what was ignored (lenient handling).
fn outcome(request: &SearchRequest) -> Option<Value> {
    if request.ignored.is_empty() {
        return None;
    }
    let issues: Vec<Value> = request
        .ignored
        .iter()
        .map(|reason| json!({"severity": "warning", "code": "not-supported", "diagnostics": format!("ignored: {reason}")}))
        .collect();
    let mut outcome = operation_outcome("warning", "not-supported", "");
    outcome["issue"] = Value::Array(issues);
    Some(outcome)
}

/// Elements kept by `_summary=true` (the elements R4 marks as summary), besides `id` and
/// `meta`.
fn summary_elements(rtype: ResourceType) -> &'static [&'static str] {
    match rtype {
        ResourceType::Practitioner => &[
            "identifier",
            "active",
            "name",
            "telecom",
            "address",
            "gender",
            "birthDate",
        ],
        ResourceType::PractitionerRole => &[
            "identifier",
            "active",
            "period",
            "practitioner",
            "organization",
            "code",
            "specialty",
            "location",
            "healthcareService",
            "telecom",
            "endpoint",
        ],
        ResourceType::Organization => &["identifier", "active", "type", "name", "partOf"],
    }
}

/// Applies `_summary` and `_elements` to a stored resource; untouched bytes otherwise.
fn shape(json: &[u8], rtype: ResourceType, request: &SearchRequest) -> Result<Vec<u8>, ApiError> {
    let keep: Option<Vec<&str>> = match (request.summary, &request.elements) {
        (Summary::True, _) => Some(summary_elements(rtype).to_vec()),
        (Summary::Text, _) => Some(vec!["text"]),
        (_, Some(elements)) => Some(elements.iter().map(String::as_str).collect()),
        (Summary::Data, None) => {
            // Everything but the narrative (our resources carry none): unchanged.
            return Ok(json.to_vec());
        }
        _ => None,
    };
    let Some(keep) = keep else {
        return Ok(json.to_vec());
    };
    let Ok(Value::Object(mut resource)) = serde_json::from_slice::<Value>(json) else {
        return Ok(json.to_vec());
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
    Ok(serde_json::to_vec(&Value::Object(resource)).expect("a JSON value serializes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let cursor = Cursor {
            g: 3,
            after: "pp-1-10".into(),
            keys: vec![Some("bGVm".into()), None],
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        assert!(Cursor::decode("not a cursor").is_err());
    }

    #[test]
    fn link_encoding() {
        assert_eq!(encode("urn:oid:1.2|8199"), "urn:oid:1.2|8199");
        assert_eq!(encode("a b&c=d"), "a%20b%26c%3Dd");
        assert_eq!(encode("LEFÈVRE"), "LEF%C3%88VRE");
    }
}
