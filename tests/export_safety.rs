//! Bulk Data exports under attack: a job reached only with the rights it was started with,
//! bounded in number and disk, charged to the caller's rate limit, never started by `HEAD`,
//! written `0600` in `0700` directories the server marks as its own (and is the only one to
//! delete), opaque ETags, and each download in the audit trail with its type and count.
//!
//! Every server here has a copy of the demo data of its own: the tests count jobs and
//! directories, which another test's exports on the same server would change.

mod auth_support;
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use annuaire::app::Application;
use annuaire::clock::Clock;
use annuaire::export::{JOB_MARKER, ROOT_MARKER};
use annuaire::settings::Settings;
use auth_support::{AUDIENCE, ISSUER, SigningKey, claims, jwks};
use common::{api_key_sha256, client};
use jsonwebtoken::Algorithm;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;

const RESTRICTED_SCOPE: &str = "annuaire/restricted.read";
const FULL_KEY: &str = "export-full-key-0123456789abcdef";
const LIMITED_KEY: &str = "export-limited-key-0123456789abcd";

/// A server of this binary: its base URL and its directories.
struct Server {
    base: String,
    /// Kept alive with the server (the copy of the demo data, the configuration).
    _dir: tempfile::TempDir,
    data: PathBuf,
    audit: PathBuf,
}

impl Server {
    fn exports(&self) -> PathBuf {
        self.data.join("exports")
    }

    /// The job directories on disk.
    fn job_dirs(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.exports())
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A server on a copy of the demo data, with `configure` applied to its settings, on `clock`.
fn start(
    prefix: &str,
    config: Option<&str>,
    configure: impl FnOnce(&mut Settings),
    clock: Clock,
) -> Server {
    let dir = common::demo_copy(prefix);
    let data = dir.path().join("data");
    let audit = dir.path().join("audit.log");
    let mut settings = common::settings_for(&data);
    if let Some(config) = config {
        let path = dir.path().join("annuaire.toml");
        std::fs::write(
            &path,
            config.replace("{AUDIT}", &audit.display().to_string()),
        )
        .expect("write the configuration");
        settings = Settings::load(Settings {
            config: Some(path),
            ..settings
        })
        .expect("the test configuration is valid");
    }
    configure(&mut settings);
    let base = common::spawn_server_on(settings, Some(Duration::from_millis(50)), clock).base;
    Server {
        base,
        _dir: dir,
        data,
        audit,
    }
}

fn signing_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::rsa("export-rsa", Algorithm::RS256))
}

/// The access-controlled server: JWT bearer tokens, two API keys (one rate-limited), the
/// mailboxes restricted, an audit trail.
fn guarded() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let keys_dir = common::scratch_dir("annuaire-export-keys-").keep();
        let jwks_path = keys_dir.join("jwks.json");
        std::fs::write(&jwks_path, jwks(&[signing_key()])).expect("write the JWKS");
        let config = format!(
            r#"
[auth]
realm = "annuaire-export"

[[auth.api_keys]]
name = "full"
sha256 = "{full}"
scopes = ["system/*.rs", "{RESTRICTED_SCOPE}"]

[[auth.api_keys]]
name = "limited"
sha256 = "{limited}"
scopes = ["system/*.read"]
rate_limit = {{ per_second = 1, burst = 5 }}

[auth.jwt]
jwks = "{jwks}"
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
algorithms = ["RS256"]

[auth.restricted]
elements = ["Practitioner.telecom", "PractitionerRole.telecom"]
scope = "{RESTRICTED_SCOPE}"

[audit]
destination = "{{AUDIT}}"
"#,
            full = api_key_sha256(FULL_KEY),
            limited = api_key_sha256(LIMITED_KEY),
            jwks = jwks_path.display(),
        );
        // The tests on this server run at once: room for all their jobs to run together.
        let room = |s: &mut Settings| s.export_max_running = Some(10);
        start(
            "annuaire-export-guarded-",
            Some(&config),
            room,
            Clock::system(),
        )
    })
}

fn bearer(subject: &str, scope: &str) -> String {
    signing_key().sign(&claims(subject, scope))
}

/// How a test calls.
#[derive(Clone, Copy)]
enum As<'a> {
    Open,
    Key(&'a str),
    Token(&'a str),
}

impl As<'_> {
    fn on(self, request: RequestBuilder) -> RequestBuilder {
        match self {
            As::Open => request,
            As::Key(key) => request.header("ESANTE-API-KEY", key),
            As::Token(token) => request.bearer_auth(token),
        }
    }
}

/// `GET $export?query`: the response.
async fn kick_off(base: &str, query: &str, who: As<'_>) -> reqwest::Response {
    who.on(client().get(format!("{base}/fhir/$export?{query}")))
        .header("Prefer", "respond-async")
        .send()
        .await
        .expect("kick-off")
}

/// Kicks off an export and polls it to completion: the status URL and the manifest.
async fn completed_export(base: &str, query: &str, who: As<'_>) -> (String, Value) {
    let response = kick_off(base, query, who).await;
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "{:?}",
        response.text().await
    );
    let status_url = response.headers()["content-location"]
        .to_str()
        .unwrap()
        .to_owned();
    (status_url.clone(), manifest(&status_url, who).await)
}

/// Polls a job until its manifest.
async fn manifest(status_url: &str, who: As<'_>) -> Value {
    for _ in 0..600 {
        let status = who.on(client().get(status_url)).send().await.unwrap();
        match status.status() {
            StatusCode::OK => return status.json().await.unwrap(),
            StatusCode::ACCEPTED => tokio::time::sleep(Duration::from_millis(50)).await,
            other => panic!("status {other}: {:?}", status.text().await),
        }
    }
    panic!("the export did not complete in 30 s")
}

/// The URL of the manifest's file of `rtype`.
fn file_url(manifest: &Value, rtype: &str) -> String {
    manifest["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["type"] == rtype)
        .unwrap_or_else(|| panic!("no {rtype} file in {manifest}"))["url"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Status and body of `method url` as `who`.
async fn call(method: reqwest::Method, url: &str, who: As<'_>) -> (StatusCode, String) {
    let response = who.on(client().request(method, url)).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// The OperationOutcome's issue code and diagnostics.
fn outcome(body: &str) -> (String, String) {
    let value: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(value["resourceType"], "OperationOutcome", "{body}");
    (
        value["issue"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        value["issue"][0]["diagnostics"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// A message a client reads names no file path.
fn assert_no_path(message: &str, server: &Server) {
    for path in [&server.data, &server.exports()] {
        assert!(
            !message.contains(&path.display().to_string()),
            "a path in a client's message: {message}"
        );
    }
    assert!(!message.contains(".ndjson:"), "{message}");
}

#[tokio::test]
async fn a_token_of_the_same_subject_with_fewer_scopes_cannot_reach_the_export() {
    let server = guarded();
    let full = bearer("client-x", &format!("system/*.rs {RESTRICTED_SCOPE}"));
    let (status_url, manifest) = completed_export(
        &server.base,
        "_type=Practitioner,Organization",
        As::Token(&full),
    )
    .await;
    let practitioners = file_url(&manifest, "Practitioner");

    // The same subject, Organization only: neither the Practitioner file, nor the status,
    // nor the deletion.
    let fewer = bearer("client-x", "system/Organization.read");
    for (method, url) in [
        (reqwest::Method::GET, &practitioners),
        (reqwest::Method::GET, &status_url),
        (reqwest::Method::DELETE, &status_url),
    ] {
        let (status, body) = call(method.clone(), url, As::Token(&fewer)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {url}: {body}");
        let (code, message) = outcome(&body);
        assert_eq!(code, "forbidden");
        assert!(message.contains("Practitioner"), "{message}");
    }
    // Every type, but not the scope of the restricted elements the file holds.
    let unrestricted = bearer("client-x", "system/*.rs");
    let (status, body) = call(
        reqwest::Method::GET,
        &practitioners,
        As::Token(&unrestricted),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(outcome(&body).1.contains(RESTRICTED_SCOPE), "{body}");
    // Another subject: the job does not exist for it.
    let other = bearer("client-y", &format!("system/*.rs {RESTRICTED_SCOPE}"));
    let (status, _) = call(reqwest::Method::GET, &status_url, As::Token(&other)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The full rights still reach everything, and the deletion is theirs.
    let again = bearer("client-x", &format!("system/*.rs {RESTRICTED_SCOPE}"));
    let (status, body) = call(reqwest::Method::GET, &practitioners, As::Token(&again)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("mssante"),
        "the restricted mailboxes are in the file"
    );
    let (status, _) = call(reqwest::Method::DELETE, &status_url, As::Token(&again)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn a_kick_off_is_charged_to_the_rate_limit_by_its_size() {
    let server = guarded();
    // Five tokens in the bucket, one a second: the whole directory's export (thousands of
    // resources) takes them all, so the next request waits.
    let response = kick_off(&server.base, "", As::Key(LIMITED_KEY)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let (status, body) = call(
        reqwest::Method::GET,
        &format!("{}/fhir/Organization?_count=1", server.base),
        As::Key(LIMITED_KEY),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
}

#[tokio::test]
async fn each_file_download_is_audited_with_its_type_and_count() {
    let server = guarded();
    let (_, manifest) =
        completed_export(&server.base, "_type=Organization", As::Key(FULL_KEY)).await;
    let url = file_url(&manifest, "Organization");
    let count = manifest["output"][0]["count"].as_u64().unwrap();
    assert!(count > 0);
    let (status, _) = call(reqwest::Method::GET, &url, As::Key(FULL_KEY)).await;
    assert_eq!(status, StatusCode::OK);
    let path = url.split_once("/fhir/").unwrap().1;
    let line = common::poll(Duration::from_secs(10), || {
        let log = std::fs::read_to_string(&server.audit).ok()?;
        log.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|l| l["path"] == format!("/fhir/{path}") && l["method"] == "GET")
    })
    .expect("the download is in the audit trail");
    assert_eq!(line["resource_type"], "Organization", "{line}");
    assert_eq!(line["returned"], count, "{line}");
}

#[tokio::test]
async fn exports_are_bounded_per_caller_head_starts_nothing_and_expired_files_go() {
    let (clock, hands) = Clock::manual(time::OffsetDateTime::now_utc());
    let server = start(
        "annuaire-export-bounded-",
        None,
        |s| {
            s.export_max_per_caller = Some(3);
            s.export_max_running = Some(20);
        },
        clock,
    );
    // HEAD answers without starting anything.
    let head = client()
        .head(format!("{}/fhir/$export", server.base))
        .header("Prefer", "respond-async")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(head.headers()["allow"], "GET");
    assert!(server.job_dirs().is_empty(), "{:?}", server.job_dirs());

    // Twenty kick-offs by one caller: three jobs, then 429 with Retry-After.
    let mut accepted = Vec::new();
    for _ in 0..20 {
        let response = kick_off(&server.base, "_type=Organization", As::Open).await;
        match response.status() {
            StatusCode::ACCEPTED => accepted.push(
                response.headers()["content-location"]
                    .to_str()
                    .unwrap()
                    .to_owned(),
            ),
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(response.headers().contains_key("retry-after"));
                let (code, message) = outcome(&response.text().await.unwrap());
                assert_eq!(code, "throttled");
                assert!(message.contains("export_max_per_caller"), "{message}");
                assert_no_path(&message, &server);
            }
            other => panic!("{other}: {:?}", response.text().await),
        }
    }
    assert_eq!(accepted.len(), 3);
    assert_eq!(server.job_dirs().len(), 3, "{:?}", server.job_dirs());

    // The files: 0600 in 0700 directories, marked; opaque ETags that conditions honour.
    let first = manifest(&accepted[0], As::Open).await;
    let url = file_url(&first, "Organization");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&server.exports()), 0o700);
    assert!(server.exports().join(ROOT_MARKER).is_file());
    for dir in server.job_dirs() {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        assert!(dir.join(JOB_MARKER).is_file());
    }
    let job = accepted[0].rsplit('/').next().unwrap();
    let file = server.exports().join(job).join("Organization.ndjson");
    assert_eq!(mode(&file), 0o600);
    let response = client().get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let inode = {
        use std::os::unix::fs::MetadataExt;
        format!("{:x}", std::fs::metadata(&file).unwrap().ino())
    };
    assert!(
        !etag.contains(':') && !etag.contains(&format!("\"{inode}")),
        "an opaque ETag: {etag}"
    );
    let conditional = |name: &'static str, value: String| {
        let url = url.clone();
        async move {
            let response = client().get(&url).header(name, value).send().await.unwrap();
            response.status()
        }
    };
    assert_eq!(
        conditional("if-none-match", etag.clone()).await,
        StatusCode::NOT_MODIFIED
    );
    assert_eq!(conditional("if-match", etag.clone()).await, StatusCode::OK);
    assert_eq!(
        conditional("if-match", "\"another\"".into()).await,
        StatusCode::PRECONDITION_FAILED
    );
    let range = client()
        .get(&url)
        .header("range", "bytes=0-9")
        .header("if-range", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(range.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(range.headers()["etag"].to_str().unwrap(), etag);

    // Past the expiry, the jobs go with their directories; the caller may export again.
    for status_url in &accepted {
        manifest(status_url, As::Open).await;
    }
    hands.advance(Duration::from_secs(121 * 60));
    let emptied = common::poll(Duration::from_secs(10), || {
        server.job_dirs().is_empty().then_some(())
    });
    assert!(emptied.is_some(), "{:?}", server.job_dirs());
    assert!(server.exports().join(ROOT_MARKER).is_file());
    let response = kick_off(&server.base, "_type=Organization", As::Open).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn the_server_wide_limit_and_the_free_disk_space_refuse_with_503() {
    let server = start(
        "annuaire-export-server-wide-",
        None,
        |s| {
            s.export_max_per_caller = Some(10);
            s.export_max_jobs = Some(2);
            s.export_max_running = Some(10);
        },
        Clock::system(),
    );
    for _ in 0..2 {
        let response = kick_off(&server.base, "_type=Organization", As::Open).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let refused = kick_off(&server.base, "_type=Organization", As::Open).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    let (code, message) = outcome(&refused.text().await.unwrap());
    assert_eq!(code, "transient");
    assert!(message.contains("export_max_jobs"), "{message}");

    // A disk with less free space than the minimum: nothing starts.
    let short = start(
        "annuaire-export-disk-",
        None,
        |s| s.export_min_free_mb = Some(u64::MAX >> 21),
        Clock::system(),
    );
    let refused = kick_off(&short.base, "_type=Organization", As::Open).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    let (_, message) = outcome(&refused.text().await.unwrap());
    assert!(message.contains("disk space"), "{message}");
    assert_no_path(&message, &short);
    assert!(short.job_dirs().is_empty());
}

/// Settings of a server over `data` whose exports go to `exports`.
fn with_exports(data: &Path, exports: &Path) -> Settings {
    Settings {
        export_dir: Some(exports.to_path_buf()),
        ..common::settings_for(data)
    }
}

/// The start-up error of a server over `data` whose exports go to `exports`.
fn refused_at_start_up(data: &Path, exports: &Path) -> String {
    match Application::build(with_exports(data, exports)) {
        Ok(_) => panic!("a server started with its exports in {}", exports.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_data_directory_and_what_contains_it_are_refused_as_export_directory() {
    let dir = common::demo_copy("annuaire-export-places-");
    let data = dir.path().join("data");
    for exports in [
        data.clone(),
        dir.path().to_path_buf(),
        data.join("generations"),
    ] {
        let error = refused_at_start_up(&data, &exports);
        assert!(error.contains("invalid export directory"), "{error}");
        assert!(data.join("CURRENT").is_file(), "the data is still there");
    }
}

#[test]
fn the_root_is_refused_by_the_binary_with_a_non_zero_exit() {
    let dir = common::demo_copy("annuaire-export-root-");
    let output = common::annuaire()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--cache-mb",
            "16",
            "--data",
        ])
        .arg(dir.path().join("data"))
        .args(["--export-dir", "/"])
        .output()
        .expect("run annuaire serve");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid export directory /"), "{stderr}");
}

#[test]
fn a_directory_with_a_strangers_file_survives_start_up() {
    let dir = common::demo_copy("annuaire-export-stranger-");
    let data = dir.path().join("data");
    // Not created by the server, not empty: refused, untouched.
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::write(shared.join("notes.txt"), "mine").unwrap();
    let error = refused_at_start_up(&data, &shared);
    assert!(error.contains(ROOT_MARKER), "{error}");
    assert_eq!(
        std::fs::read_to_string(shared.join("notes.txt")).unwrap(),
        "mine"
    );

    // The server's own directory: the jobs an earlier run left are removed at start-up, the
    // files it did not write stay.
    let exports = dir.path().join("exports");
    let left = exports.join("0123abcd");
    std::fs::create_dir_all(&left).unwrap();
    std::fs::write(exports.join(ROOT_MARKER), "").unwrap();
    std::fs::write(left.join(JOB_MARKER), "").unwrap();
    std::fs::write(left.join("Practitioner.ndjson"), "{}\n").unwrap();
    let done = exports.join("4567ef01");
    std::fs::create_dir_all(&done).unwrap();
    std::fs::write(done.join(JOB_MARKER), "").unwrap();
    std::fs::write(done.join("Organization.ndjson"), "{}\n").unwrap();
    std::fs::write(left.join("stranger.txt"), "mine").unwrap();
    let unmarked = exports.join("photos");
    std::fs::create_dir_all(&unmarked).unwrap();
    std::fs::write(unmarked.join("a.ndjson"), "mine").unwrap();
    let application = Application::build(with_exports(&data, &exports)).expect("starts");
    drop(application);
    assert!(!done.exists(), "a job of an earlier run is removed");
    assert!(!left.join("Practitioner.ndjson").exists());
    assert_eq!(
        std::fs::read_to_string(left.join("stranger.txt")).unwrap(),
        "mine"
    );
    assert_eq!(
        std::fs::read_to_string(unmarked.join("a.ndjson")).unwrap(),
        "mine"
    );

    // An empty directory is adopted: marked, 0700.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    drop(Application::build(with_exports(&data, &empty)).expect("starts"));
    assert!(empty.join(ROOT_MARKER).is_file());
    assert_eq!(
        std::fs::metadata(&empty).unwrap().permissions().mode() & 0o777,
        0o700
    );

    // `<data>/exports` as a build before the markers left it: adopted, its old job kept (the
    // server did not mark it, so does not delete it), and the server starts.
    let old_default = data.join("exports");
    let old_job = old_default.join("89abcdef");
    std::fs::create_dir_all(&old_job).unwrap();
    std::fs::write(old_job.join("Practitioner.ndjson"), "{}\n").unwrap();
    drop(Application::build(with_exports(&data, &old_default)).expect("starts"));
    assert!(old_default.join(ROOT_MARKER).is_file());
    assert!(old_job.join("Practitioner.ndjson").is_file());
}

/// `$export?_type=HealthcareService,Device`: one NDJSON file per type, each holding exactly the
/// resources a search of that type counts, and its count in the manifest.
#[tokio::test]
async fn the_finess_services_export_by_type() {
    let server = guarded();
    let (_, manifest) = completed_export(
        &server.base,
        "_type=HealthcareService,Device",
        As::Key(FULL_KEY),
    )
    .await;
    let types: Vec<&str> = manifest["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["HealthcareService", "Device"], "{manifest}");
    for rtype in types {
        let (status, body) = call(
            reqwest::Method::GET,
            &format!("{}/fhir/{rtype}?_summary=count", server.base),
            As::Key(FULL_KEY),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let total = serde_json::from_str::<Value>(&body).unwrap()["total"]
            .as_u64()
            .unwrap();
        let file = manifest["output"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["type"] == rtype)
            .unwrap();
        assert_eq!(file["count"].as_u64(), Some(total), "{rtype}: {file}");
        let (status, ndjson) = call(
            reqwest::Method::GET,
            &file_url(&manifest, rtype),
            As::Key(FULL_KEY),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let lines: Vec<Value> = ndjson
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len() as u64, total, "{rtype}");
        assert!(lines.iter().all(|r| r["resourceType"] == rtype), "{rtype}");
    }
}
