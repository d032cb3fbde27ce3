//! The local store's durability and its backup: a list acknowledged survives a SIGKILL of the
//! server right after the answer; `annuaire local backup` then `restore` into a fresh data
//! directory gives the same lists; restore is refused while a server holds the directory, over
//! a store that holds lists (without `--replace`), and from a damaged file.

mod common;

use std::path::Path;

use reqwest::StatusCode;
use serde_json::{Value, json};

fn list(title: &str) -> Value {
    json!({"resourceType": "List", "status": "current", "mode": "working", "title": title})
}

async fn create(base: &str, body: &Value) -> Value {
    let response = common::client()
        .post(format!("{base}/fhir/List"))
        .header("content-type", "application/fhir+json")
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn lists(base: &str) -> Vec<Value> {
    let bundle: Value = common::client()
        .get(format!("{base}/fhir/List?_sort=_id"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"].clone())
        .collect()
}

fn local(data: &Path, args: &[&str]) -> std::process::Output {
    common::annuaire()
        .arg("local")
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .expect("run annuaire local")
}

#[actix_web::test]
async fn an_acknowledged_write_survives_a_sigkill() {
    let dir = common::demo_copy("annuaire-local-kill-");
    let data = dir.path().join("data");
    let (server, address) = common::spawn_binary_server(&data);
    let base = format!("http://{address}");
    let created = create(&base, &list("written just before the crash")).await;
    drop(server); // SIGKILL, right after the answer.
    let (_server, address) = common::spawn_binary_server(&data);
    let read: Value = common::client()
        .get(format!(
            "http://{address}/fhir/List/{}",
            created["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read, created);
}

#[actix_web::test]
async fn a_backup_restored_into_a_fresh_directory_gives_the_same_lists() {
    let source = common::demo_copy("annuaire-local-backup-");
    let data = source.path().join("data");
    let backup_file = source.path().join("local.backup");
    let before = {
        let (_server, address) = common::spawn_binary_server(&data);
        let base = format!("http://{address}");
        let first = create(&base, &list("one")).await;
        create(&base, &list("two")).await;
        // A second version and a deletion: history goes along.
        let updated = common::client()
            .put(format!(
                "{base}/fhir/List/{}",
                first["id"].as_str().unwrap()
            ))
            .header("if-match", "W/\"1\"")
            .header("content-type", "application/fhir+json")
            .json(&list("one, renamed"))
            .send()
            .await
            .unwrap();
        assert_eq!(updated.status(), StatusCode::OK);
        create(&base, &list("three")).await;

        // Refused while the server holds the directory.
        let refused = local(&data, &["backup", "--to", backup_file.to_str().unwrap()]);
        assert!(!refused.status.success());
        let said = String::from_utf8_lossy(&refused.stderr);
        assert!(said.contains("serving"), "{said}");
        lists(&base).await
    };
    let done = local(&data, &["backup", "--to", backup_file.to_str().unwrap()]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );

    let target = common::demo_copy("annuaire-local-restore-");
    let target_data = target.path().join("data");
    let restored = local(
        &target_data,
        &["restore", "--from", backup_file.to_str().unwrap()],
    );
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    // Again: the store is not empty any more.
    let again = local(
        &target_data,
        &["restore", "--from", backup_file.to_str().unwrap()],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--replace"));

    let (_server, address) = common::spawn_binary_server(&target_data);
    let base = format!("http://{address}");
    assert_eq!(lists(&base).await, before);
    let history: Value = common::client()
        .get(format!(
            "{base}/fhir/List/{}/_history",
            before
                .iter()
                .find(|l| l["title"] == "one, renamed")
                .unwrap()["id"]
                .as_str()
                .unwrap()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history["entry"].as_array().unwrap().len(), 2);
    // The numbering goes on from the restored store.
    let next = create(&base, &list("four")).await;
    assert_eq!(next["meta"]["versionId"], "1");

    // Refused while served, with --replace too.
    let served = local(
        &target_data,
        &[
            "restore",
            "--replace",
            "--from",
            backup_file.to_str().unwrap(),
        ],
    );
    assert!(!served.status.success());
}

#[test]
fn a_damaged_backup_is_refused_before_anything_is_written() {
    let dir = common::demo_copy("annuaire-local-damaged-");
    let data = dir.path().join("data");
    {
        let store = annuaire::local::LocalStore::open(
            &data.join("local"),
            annuaire::clock::Clock::system(),
        )
        .unwrap();
        store
            .create(annuaire::local::LocalType::List, list("kept"), "anonymous")
            .unwrap();
    }
    let file = dir.path().join("backup");
    assert!(
        local(&data, &["backup", "--to", file.to_str().unwrap()])
            .status
            .success()
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let edited = text.replacen("\"value\":\"", "\"value\":\"A", 1);
    assert_ne!(edited, text);
    std::fs::write(&file, edited).unwrap();
    let target = common::scratch_dir("annuaire-local-damaged-target-");
    let refused = local(
        target.path(),
        &["restore", "--from", file.to_str().unwrap()],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("checksum"));
    assert!(!target.path().join("local").exists());
}
