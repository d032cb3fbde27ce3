//! The engine, as a black box: searches over HTTP, following every `next` link.

use serde_json::Value;

use super::data::RType;

/// One searchset page.
#[derive(Debug)]
pub struct Page {
    pub url: String,
    pub total: Option<u64>,
    /// `(search.mode, resourceType, id)` of each entry.
    pub entries: Vec<(String, String, String)>,
    pub next: Option<String>,
    pub has_entry_key: bool,
}

impl Page {
    pub fn matches(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter(|(m, _, _)| m == "match")
            .map(|(_, _, id)| id.clone())
            .collect()
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

/// Pages followed at most per search (a guard against `next` loops).
pub const PAGE_LIMIT: usize = 400;

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            // Without gzip (see `common::client`).
            http: crate::common::client(),
            base: base.to_owned(),
        }
    }

    /// GET `url` (with `pairs` appended as a query), parsed as a searchset Bundle.
    pub async fn page(
        &self,
        url: &str,
        pairs: &[(String, String)],
    ) -> Result<(Page, Value), String> {
        self.request(url, pairs, false).await
    }

    /// GET `url?pairs`, or POST `url` with `pairs` as a form body.
    pub async fn request(
        &self,
        url: &str,
        pairs: &[(String, String)],
        post: bool,
    ) -> Result<(Page, Value), String> {
        let request = if post {
            self.http.post(url).form(pairs)
        } else {
            self.http.get(url).query(pairs)
        };
        let request = request.header("Accept", "application/fhir+json");
        let response = request
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        let status = response.status();
        let final_url = response.url().to_string();
        let body = response
            .text()
            .await
            .map_err(|e| format!("GET {final_url}: body: {e}"))?;
        if !status.is_success() {
            return Err(format!("GET {final_url}: status {status}: {body}"));
        }
        let bundle: Value = serde_json::from_str(&body)
            .map_err(|e| format!("GET {final_url}: not JSON ({e}): {body}"))?;
        if bundle["resourceType"] != "Bundle" || bundle["type"] != "searchset" {
            return Err(format!("GET {final_url}: not a searchset Bundle: {body}"));
        }
        let mut entries = Vec::new();
        for e in bundle["entry"].as_array().into_iter().flatten() {
            let mode = e["search"]["mode"].as_str().unwrap_or("<none>").to_owned();
            let rtype = e["resource"]["resourceType"]
                .as_str()
                .unwrap_or("<none>")
                .to_owned();
            let id = e["resource"]["id"].as_str().unwrap_or("<none>").to_owned();
            if mode == "outcome" || rtype == "OperationOutcome" {
                return Err(format!(
                    "GET {final_url}: the server reported an issue: {}",
                    e["resource"]
                ));
            }
            if mode == "match" || mode == "include" {
                let full = e["fullUrl"].as_str().unwrap_or_default();
                if !full.ends_with(&format!("/{rtype}/{id}")) {
                    return Err(format!(
                        "GET {final_url}: fullUrl {full} is not the resource {rtype}/{id}"
                    ));
                }
            }
            entries.push((mode, rtype, id));
        }
        let next = bundle["link"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["relation"] == "next")
            .and_then(|l| l["url"].as_str())
            .map(str::to_owned);
        let page = Page {
            url: final_url,
            total: bundle["total"].as_u64(),
            has_entry_key: bundle.get("entry").is_some(),
            entries,
            next,
        };
        Ok((page, bundle))
    }

    /// Every page of a search on `rtype`, following `next` links.
    pub async fn search(
        &self,
        rtype: RType,
        pairs: &[(String, String)],
        post: bool,
    ) -> Result<Vec<Page>, String> {
        let first = if post {
            format!("{}/fhir/{}/_search", self.base, rtype.name())
        } else {
            format!("{}/fhir/{}", self.base, rtype.name())
        };
        let (mut page, _) = self.request(&first, pairs, post).await?;
        let mut pages = Vec::new();
        loop {
            let next = page.next.take();
            pages.push(page);
            let Some(next) = next else { break };
            if pages.len() >= PAGE_LIMIT {
                return Err(format!(
                    "more than {PAGE_LIMIT} pages, last {}",
                    pages.last().unwrap().url
                ));
            }
            page = self.page(&next, &[]).await?.0;
        }
        Ok(pages)
    }

    /// Every resource of a type, through paging with `_count=1000`, checking along the way:
    /// `total` equals what was fetched, ids are unique and ascending, every entry a match.
    pub async fn fetch_all(&self, rtype: RType) -> Vec<Value> {
        let first = format!("{}/fhir/{}", self.base, rtype.name());
        let pairs = vec![("_count".to_owned(), "1000".to_owned())];
        let (mut page, mut bundle) = self
            .page(&first, &pairs)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let total = page
            .total
            .unwrap_or_else(|| panic!("{}: no total", page.url));
        let mut out: Vec<Value> = Vec::new();
        loop {
            for (mode, t, _) in &page.entries {
                assert_eq!(mode, "match", "{}: entry mode", page.url);
                assert_eq!(t, rtype.name(), "{}: entry type", page.url);
            }
            assert_eq!(
                page.total,
                Some(total),
                "{}: total changes across pages",
                page.url
            );
            out.extend(
                bundle["entry"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| e["resource"].clone()),
            );
            let Some(next) = page.next.take() else { break };
            assert!(
                !page.entries.is_empty(),
                "{}: an empty page with a next link",
                page.url
            );
            (page, bundle) = self
                .page(&next, &[])
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(
            out.len() as u64,
            total,
            "{}: total vs resources fetched",
            rtype.name()
        );
        let ids: Vec<&str> = out
            .iter()
            .map(|r| r["id"].as_str().expect("an id"))
            .collect();
        for pair in ids.windows(2) {
            assert!(
                pair[0] < pair[1],
                "{}: ids not unique and ascending: {} then {}",
                rtype.name(),
                pair[0],
                pair[1]
            );
        }
        out
    }
}
