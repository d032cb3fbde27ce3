//! The searchset Bundle, paging and links.

use reqwest::StatusCode;
use serde_json::Value;

use crate::search_support::*;

#[tokio::test]
async fn bundle_shape() {
    let c = ctx();
    let base = c.base();
    for rtype in TYPES {
        let bundle = search(&c.client, &c.app, rtype, &[("_count", "3")]).await;
        assert_eq!(
            bundle["total"].as_u64(),
            Some(c.corpus.of(rtype).len() as u64)
        );
        let entries = entries(&bundle);
        assert_eq!(entries.len(), 3);
        for entry in entries {
            let resource = &entry["resource"];
            assert_eq!(resource["resourceType"], rtype);
            assert_eq!(
                entry["fullUrl"].as_str().unwrap(),
                format!("{base}/{rtype}/{}", id(resource)),
                "fullUrl"
            );
            assert_eq!(entry["search"]["mode"], "match");
            // The entry is the resource as read.
            let (status, read) =
                get_json(&c.client, &format!("{base}/{rtype}/{}", id(resource))).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(&read, resource);
        }
        assert_eq!(
            link(&bundle, "self").unwrap(),
            format!("{base}/{rtype}?_count=3")
        );
        let next = link(&bundle, "next").expect("a next link");
        assert!(next.starts_with(&format!("{base}/{rtype}?")), "{next}");
        assert!(
            url_pairs(next).contains(&("_count".into(), "3".into())),
            "{next}"
        );
        assert!(link(&bundle, "previous").is_none(), "no previous on page 1");
        // The self link reproduces the page.
        let again = bundle_at(&c.client, link(&bundle, "self").unwrap()).await;
        assert_eq!(match_ids(&again), match_ids(&bundle));
    }
    // An empty result: total 0, no entry, still a self link.
    let empty = search(&c.client, &c.app, "Practitioner", &[("family", "zzzzzz")]).await;
    assert_eq!(empty["total"], 0);
    assert!(entries(&empty).is_empty());
    assert!(link(&empty, "next").is_none());
}

/// Follows `next` from `first` to the end, then `previous` back to the start: the pages must be
/// the same both ways, carry `_count` and the criteria in every link, and together be the
/// unpaged result list, in order, without duplicates.
async fn check_paging(c: &Ctx, rtype: &str, pairs: &[(&str, &str)], count: usize) {
    let label = format!("{rtype}?{}", query_string(pairs));
    let count_text = count.to_string();
    let mut paged = pairs.to_vec();
    paged.push(("_count", &count_text));
    let full: Vec<String> = all_matches(&c.client, &c.app, rtype, pairs)
        .await
        .iter()
        .map(|r| id(r).to_owned())
        .collect();
    assert!(full.len() > 3 * count, "{label}: enough results to page");

    let expected_pairs: Vec<(String, String)> = paged
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let check_links = |bundle: &Value, index: usize, last: bool| {
        for relation in ["self", "next", "previous", "first"] {
            if let Some(url) = link(bundle, relation) {
                assert!(
                    url.starts_with(&format!("{}/{rtype}?", c.base())),
                    "{label}: {relation} {url}"
                );
                let pairs = url_pairs(url);
                for expected in &expected_pairs {
                    assert!(
                        pairs.contains(expected),
                        "{label} page {index}: {relation} link {url} lacks {expected:?}"
                    );
                }
            }
        }
        assert_eq!(
            link(bundle, "next").is_some(),
            !last,
            "{label} page {index}: next"
        );
        assert_eq!(
            link(bundle, "previous").is_some(),
            index > 0,
            "{label} page {index}: previous"
        );
        assert_eq!(bundle["total"].as_u64(), Some(full.len() as u64));
    };

    let mut forward: Vec<Vec<String>> = Vec::new();
    let mut bundle = search(&c.client, &c.app, rtype, &paged).await;
    let pages = full.len().div_ceil(count);
    loop {
        let index = forward.len();
        assert!(index < pages, "{label}: more pages than {pages}");
        let ids = match_ids(&bundle);
        check_links(&bundle, index, index + 1 == pages);
        if index + 1 < pages {
            assert_eq!(ids.len(), count, "{label} page {index}");
        }
        forward.push(ids);
        match link(&bundle, "next") {
            Some(next) => bundle = bundle_at(&c.client, next).await,
            None => break,
        }
    }
    assert_eq!(forward.len(), pages, "{label}: pages");
    let flat: Vec<String> = forward.concat();
    assert_eq!(flat, full, "{label}: the pages are the result list");

    // Back to the start with `previous`.
    let mut backward: Vec<Vec<String>> = vec![match_ids(&bundle)];
    let mut middle_first = None;
    while let Some(previous) = link(&bundle, "previous") {
        if backward.len() == pages / 2 {
            middle_first = link(&bundle, "first").map(str::to_owned);
        }
        bundle = bundle_at(&c.client, previous).await;
        backward.push(match_ids(&bundle));
        assert!(backward.len() <= pages, "{label}: previous loops");
    }
    backward.reverse();
    assert_eq!(backward, forward, "{label}: previous pages = next pages");
    if let Some(first) = middle_first {
        let first = bundle_at(&c.client, &first).await;
        assert_eq!(match_ids(&first), forward[0], "{label}: first link");
    }
}

#[tokio::test]
async fn paging_next_and_previous() {
    let c = ctx();
    check_paging(&c, "Practitioner", &[("name:contains", "ier")], 7).await;
    check_paging(
        &c,
        "Practitioner",
        &[("name:contains", "ier"), ("_sort", "family")],
        7,
    )
    .await;
    check_paging(&c, "PractitionerRole", &[("role", "FON-05")], 25).await;
    check_paging(&c, "Organization", &[("_sort", "-name")], 100).await;
}

#[tokio::test]
async fn count_parameter() {
    let c = ctx();
    let all = c.corpus.of("Practitioner").len() as u64;
    assert!(all > 1000);
    // _count=0: the total only.
    let bundle = search(&c.client, &c.app, "Practitioner", &[("_count", "0")]).await;
    assert_eq!(bundle["total"].as_u64(), Some(all));
    assert!(entries(&bundle).is_empty());
    // _count=1000: the maximum page.
    let bundle = search(&c.client, &c.app, "Practitioner", &[("_count", "1000")]).await;
    assert_eq!(entries(&bundle).len(), 1000);
    let next = link(&bundle, "next").expect("next");
    assert!(url_pairs(next).contains(&("_count".into(), "1000".into())));
    let rest = bundle_at(&c.client, next).await;
    assert_eq!(entries(&rest).len() as u64, all - 1000);
    // _count=1.
    let bundle = search(&c.client, &c.app, "Organization", &[("_count", "1")]).await;
    assert_eq!(entries(&bundle).len(), 1);
    // _count=1001: refused, naming the parameter and the value.
    for strict in [false, true] {
        let (status, outcome) = search_raw(
            &c.client,
            &c.app,
            "Practitioner",
            &[("_count", "1001")],
            strict,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let diagnostics = outcome["issue"][0]["diagnostics"].as_str().unwrap();
        assert!(
            diagnostics.contains("_count") && diagnostics.contains("1001"),
            "{diagnostics}"
        );
    }
}

#[tokio::test]
async fn links_use_the_servers_address_not_a_host_the_client_chose() {
    let c = ctx();
    let own = c.app.url("/fhir");
    for (headers, base) in [
        // A `Host` is used only when the allow-list names it (tests/edge.rs); this server has
        // none, so links keep the address it listens on.
        (vec![("Host", "annuaire.example:8443")], own.as_str()),
        // Forwarded headers count only from a configured proxy (tests/hostile.rs); this server
        // trusts none, so links keep the address the request reached.
        (
            vec![
                ("X-Forwarded-Host", "proxy.example"),
                ("X-Forwarded-Proto", "https"),
            ],
            own.as_str(),
        ),
    ] {
        let mut request = c.client.get(search_url(
            &c.app,
            "PractitionerRole",
            &[("_count", "2"), ("_include", "*")],
        ));
        for (name, value) in &headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let bundle: Value = response.json().await.unwrap();
        for relation in ["self", "next"] {
            let url = link(&bundle, relation).unwrap();
            assert!(
                url.starts_with(&format!("{base}/PractitionerRole?")),
                "{headers:?}: {url}"
            );
        }
        assert!(entries(&bundle).len() > 2);
        for entry in entries(&bundle) {
            let resource = &entry["resource"];
            assert_eq!(
                entry["fullUrl"].as_str().unwrap(),
                format!(
                    "{base}/{}/{}",
                    resource["resourceType"].as_str().unwrap(),
                    id(resource)
                ),
                "{headers:?}"
            );
        }
        // The next link works once taken back to the real address.
        let next = link(&bundle, "next").unwrap().replacen(base, &c.base(), 1);
        let page = bundle_at(&c.client, &next).await;
        assert_eq!(match_ids(&page).len(), 2);
    }
}
