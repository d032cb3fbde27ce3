//! The one support module of the integration tests: datasets generated and imported, servers
//! started in-process through `Application::build_with` (the path `annuaire serve` takes, on a
//! clock the test may move) or as the real binary, facts read back from the generated
//! extraction files, guards for child processes, and the HTTP client and small helpers every
//! test binary would otherwise declare again. [`synthetic`] holds the hand-written extraction
//! rows of docs/formats.md and the import of small files made from them.
//!
//! sled allows one open handle per database per process, so a test binary shares ONE server
//! (its own thread, its own actix `System`) over the demo data for its whole life.

#![allow(dead_code)] // each test binary uses its own subset of these helpers

pub mod synthetic;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use annuaire::app::Application;
use annuaire::clock::Clock;
use annuaire::extract::decode::{decode_line, strip_bom, trim_line_end};
use annuaire::extract::rpps::{Col, Layout};
use annuaire::import::{self, ExtraFiles, ImportOptions, ImportSummary};
use annuaire::settings::{Settings, StoreSettings};
use annuaire_generate::{self as generate, GenerateOptions, GeneratedFiles};
use sha2::{Digest, Sha256};

/// Persons of the shared demo dataset: enough for every generator quirk, fast in debug builds.
pub const DEMO_PERSONS: u64 = 1500;
/// Seed of the shared demo dataset.
pub const DEMO_SEED: u64 = 2026;
/// sled page cache of test stores.
pub const CACHE_BYTES: u64 = 16 << 20;
/// `meta.lastUpdated` the demo import fixes (the files' extraction date).
pub const DEMO_LAST_UPDATED: &str = "2026-11-01T00:00:00Z";
/// The same instant as an HTTP date (IMF-fixdate), as `Last-Modified` must render it.
pub const DEMO_LAST_MODIFIED: &str = "Sun, 01 Nov 2026 00:00:00 GMT";

// ---------------------------------------------------------------------------------------------
// Scratch directories
// ---------------------------------------------------------------------------------------------

/// A fresh directory under Cargo's per-target scratch space (`target/tmp`), removed on drop.
/// Directories of earlier runs that were never dropped (the per-process datasets live in statics,
/// which Rust never drops) are swept when more than ten minutes old: a run of these tests takes
/// well under a minute.
pub fn scratch_dir(prefix: &str) -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(root).expect("create CARGO_TARGET_TMPDIR");
    sweep_stale(root, prefix);
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(root)
        .expect("create a scratch directory")
}

fn sweep_stale(root: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    let max_age = Duration::from_secs(600);
    for entry in entries.flatten() {
        let stale = entry.file_name().to_string_lossy().starts_with(prefix)
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > max_age);
        if stale {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The demo dataset and the shared server
// ---------------------------------------------------------------------------------------------

/// The demo dataset of this test binary: generated and imported once, kept for the process.
pub struct Demo {
    _dir: tempfile::TempDir,
    /// Data directory (generation 1 is current).
    pub data: PathBuf,
    pub rpps: PathBuf,
    pub finess: PathBuf,
    pub rows: Vec<Row>,
}

pub fn demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| {
        let dir = scratch_dir("annuaire-it-demo-");
        let files = generate_files(&dir.path().join("extractions"), DEMO_PERSONS, DEMO_SEED);
        let data = dir.path().join("data");
        import_files(&files, &data, Some(demo_last_updated()));
        let rows = read_rpps_rows(&files.rpps);
        Demo {
            _dir: dir,
            data,
            rpps: files.rpps,
            finess: files.finess,
            rows,
        }
    })
}

/// The URL of a Bundle's link with this relation (`next`, `self`...).
pub fn link<'a>(bundle: &'a serde_json::Value, relation: &str) -> Option<&'a str> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == relation)
        .and_then(|l| l["url"].as_str())
}

/// A running server, shared by every test of the binary.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub address: String,
    pub demo: &'static Demo,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}

/// Starts (once) the server every test of the binary shares, over the demo data.
pub fn spawn_app() -> TestApp {
    static BASE: OnceLock<String> = OnceLock::new();
    let demo = demo();
    let base = BASE.get_or_init(|| spawn_server(settings_for(&demo.data), None).base);
    TestApp {
        address: base.clone(),
        demo,
    }
}

/// A fresh data directory holding a byte-for-byte copy of the demo generation: a server of its
/// own (other settings, another clock) needs a directory of its own, sled allowing one handle
/// per database and process.
pub fn demo_copy(prefix: &str) -> tempfile::TempDir {
    use annuaire::generation::copy::{Copied, copy_current};
    let dir = scratch_dir(prefix);
    let copied = copy_current(&demo().data, &dir.path().join("data")).expect("copy the demo");
    assert!(matches!(copied, Copied::Switched { .. }), "{copied:?}");
    dir
}

/// Settings of a test server over `data`: any free port, a small cache, two workers.
pub fn settings_for(data: &Path) -> Settings {
    Settings {
        store: StoreSettings {
            data: Some(data.to_path_buf()),
            cache_mb: Some(CACHE_BYTES >> 20),
            workers: Some(2),
        },
        listen: Some("127.0.0.1:0".into()),
        ..Settings::default()
    }
}

/// Every address an in-process server bound, as its `Application` told them: no port is ever
/// guessed.
#[derive(Debug, Clone)]
pub struct Served {
    /// `http://127.0.0.1:<port>`: the API's base, without `/fhir`.
    pub base: String,
    pub address: SocketAddr,
    /// The operators' listener (`/metrics`, `/healthz`, `/readyz`), when the settings asked
    /// for one (`metrics_listen`, port 0 allowed).
    pub metrics: Option<SocketAddr>,
}

impl Served {
    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `http://<metrics address>`; panics when the server has no metrics listener.
    pub fn metrics_base(&self) -> String {
        let address = self.metrics.expect("the server has a metrics listener");
        format!("http://{address}")
    }
}

/// Builds a server with `Application::build` (as `annuaire serve` does) and runs it on its own
/// thread with its own actix `System` for the rest of the process; `watch_every` overrides how
/// often it looks for new generations and JWKS changes.
pub fn spawn_server(settings: Settings, watch_every: Option<Duration>) -> Served {
    spawn_server_on(settings, watch_every, Clock::system())
}

/// `spawn_server` on `clock` (a manual one the test moves: tokens expire, exports go, without
/// waiting).
pub fn spawn_server_on(settings: Settings, watch_every: Option<Duration>, clock: Clock) -> Served {
    let (ready, started) = mpsc::channel::<Result<Served, String>>();
    std::thread::Builder::new()
        .name("annuaire-test-server".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let application = match Application::build_with(settings, clock) {
                    Ok(application) => application,
                    Err(e) => {
                        let _ = ready.send(Err(format!("cannot start the server: {e}")));
                        return;
                    }
                };
                let application = match watch_every {
                    Some(every) => application.watching_every(every),
                    None => application,
                };
                let address = application.address();
                let _ = ready.send(Ok(Served {
                    base: format!("http://{address}"),
                    address,
                    metrics: application.metrics_address(),
                }));
                if let Err(e) = application.run_until_stopped().await {
                    eprintln!("test server stopped with an error: {e}");
                }
            })
        })
        .expect("spawn the server thread");
    started
        .recv()
        .expect("the server thread died before starting")
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `annuaire serve --data <data> --listen 127.0.0.1:0` as a child process; waits for the log
/// line saying where it listens and for `/fhir/metadata` to answer.
pub fn spawn_binary_server(data: &Path) -> (ChildGuard, SocketAddr) {
    spawn_binary_server_with(data, &[])
}

/// `spawn_binary_server` with more flags for `annuaire serve`.
pub fn spawn_binary_server_with(data: &Path, flags: &[&str]) -> (ChildGuard, SocketAddr) {
    let mut args: Vec<&OsStr> = vec![OsStr::new("--data"), data.as_os_str()];
    args.extend(flags.iter().map(OsStr::new));
    let server = spawn_serve(&args);
    (server.child, server.address)
}

/// A child `annuaire serve` and every address it said it listens on.
pub struct BinaryServer {
    pub child: ChildGuard,
    pub address: SocketAddr,
    /// The operators' listener, when `--metrics-listen` was given.
    pub metrics: Option<SocketAddr>,
}

/// `annuaire serve --listen 127.0.0.1:0 <args>` (a small cache, two workers): waits for the log
/// lines saying where it listens (and where its metrics are, with `--metrics-listen`) and for
/// `/fhir/metadata` to answer. Ports are the ones the server took, read from its log.
pub fn spawn_serve(args: &[&OsStr]) -> BinaryServer {
    spawn_serve_command(serve_command(args))
}

/// The command `spawn_serve` runs, for a test to change (its environment, say) before
/// [`spawn_serve_command`].
pub fn serve_command(args: &[&OsStr]) -> Command {
    let mut command = annuaire();
    command
        .arg("serve")
        .args([
            "--listen",
            "127.0.0.1:0",
            "--cache-mb",
            "16",
            "--workers",
            "2",
        ])
        .args(args)
        .stdout(Stdio::null());
    command
}

/// Runs a [`serve_command`] as `spawn_serve` does.
pub fn spawn_serve_command(command: Command) -> BinaryServer {
    let with_metrics = command.get_args().any(|a| a == "--metrics-listen");
    let child = ChildGuard::spawn(command);
    let address = logged_address(&child, " at http://", "/fhir");
    let metrics = with_metrics.then(|| logged_address(&child, "metrics at http://", "/metrics"));
    let answered = poll(Duration::from_secs(30), || {
        http_get(address, "/fhir/metadata").filter(|(status, _)| *status == 200)
    });
    assert!(
        answered.is_some(),
        "the server does not answer:\n{}",
        child.stderr()
    );
    BinaryServer {
        child,
        address,
        metrics,
    }
}

/// The address in the first log line containing `needle`, between `http://` and `path`.
fn logged_address(child: &ChildGuard, needle: &str, path: &str) -> SocketAddr {
    let Some(line) = child.wait_for_line(needle, Duration::from_secs(60)) else {
        panic!("the server did not log `{needle}`:\n{}", child.stderr());
    };
    line.split("http://")
        .nth(1)
        .and_then(|rest| rest.split(path).next())
        .and_then(|address| address.parse().ok())
        .unwrap_or_else(|| panic!("no address in the log line `{line}`"))
}

// ---------------------------------------------------------------------------------------------
// Facts from the generated RPPS file
// ---------------------------------------------------------------------------------------------

/// The columns of one RPPS data row the tests check resources against (values trimmed, as the
/// importer reads them).
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    pub type_id: String,
    pub id_pp: String,
    pub idnat: String,
    pub family: String,
    pub given: String,
    pub profession: String,
    pub structure_id: String,
    pub finess_site: String,
    pub finess_ej: String,
    pub role: String,
    pub mode: String,
    pub genre: String,
    pub section: String,
}

impl Row {
    pub fn has_activity(&self) -> bool {
        [
            &self.structure_id,
            &self.finess_site,
            &self.mode,
            &self.role,
            &self.genre,
            &self.section,
        ]
        .iter()
        .any(|v| !v.is_empty())
    }

    /// `pp-<Identification nationale PP>-<Code profession>`.
    pub fn practitioner_id(&self) -> String {
        format!("pp-{}-{}", self.idnat, self.profession)
    }

    /// The PractitionerRole of this row's activity (see [`role_id`]).
    pub fn role_id(&self) -> String {
        role_id(&format!(
            "SE/{}/{}/{}/{}/{}/{}",
            self.idnat, self.structure_id, self.role, self.mode, self.genre, self.section
        ))
    }

    /// The Organization of the activity: its FINESS site, else its RPPS structure.
    pub fn organization_id(&self) -> Option<String> {
        if !self.finess_site.is_empty() {
            Some(format!("eg-{}", self.finess_site))
        } else if !self.structure_id.is_empty() {
            Some(format!("st-{}", self.structure_id))
        } else {
            None
        }
    }
}

/// The id of the PractitionerRole whose `idSituationExercice` is `identifier_value`: `se-` +
/// hex of the first 16 bytes of its SHA-256.
pub fn role_id(identifier_value: &str) -> String {
    let digest = Sha256::digest(identifier_value.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("se-{hex}")
}

/// Every valid data row of an RPPS file, in file order.
pub fn read_rpps_rows(path: &Path) -> Vec<Row> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut lines = bytes.split(|b| *b == b'\n');
    let header = lines.next().expect("a header line");
    let header = decode_line(strip_bom(trim_line_end(header)))
        .expect("a decodable header")
        .0
        .into_owned();
    let layout = Layout::from_header(&header).expect("an RPPS header");
    let mut rows = Vec::new();
    for (index, raw) in lines.enumerate() {
        let raw = trim_line_end(raw);
        if raw.is_empty() {
            continue;
        }
        let Ok((text, _)) = decode_line(raw) else {
            continue;
        };
        let Ok(row) = layout.split(&text) else {
            continue;
        };
        let get = |col| row.get(col).to_owned();
        rows.push(Row {
            line: index as u64 + 2,
            type_id: get(Col::TypeIdPp),
            id_pp: get(Col::IdPp),
            idnat: get(Col::IdNatPp),
            family: get(Col::NomExercice),
            given: get(Col::PrenomExercice),
            profession: get(Col::ProfessionCode),
            structure_id: get(Col::StructureId),
            finess_site: get(Col::FinessSite),
            finess_ej: get(Col::FinessEj),
            role: get(Col::RoleCode),
            mode: get(Col::ModeExerciceCode),
            genre: get(Col::GenreActiviteCode),
            section: get(Col::SectionPharmacienCode),
        });
    }
    assert!(!rows.is_empty(), "{} has no data row", path.display());
    rows
}

/// Rows grouped by person (`Identification nationale PP`), each group in file order; the
/// groups in order of their first row.
pub fn persons(rows: &[Row]) -> Vec<Vec<&Row>> {
    let mut order: Vec<&str> = Vec::new();
    let mut by_person: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for row in rows {
        let group = by_person.entry(&row.idnat).or_default();
        if group.is_empty() {
            order.push(&row.idnat);
        }
        group.push(row);
    }
    order
        .into_iter()
        .map(|id| by_person.remove(id).expect("grouped"))
        .collect()
}

/// An RPPS-typed person with one profession, a name, and at least one activity: the rows of
/// the first such person of the file.
pub fn ordinary_person(rows: &[Row]) -> Vec<&Row> {
    persons(rows)
        .into_iter()
        .find(|person| {
            let first = person[0];
            first.type_id == "8"
                && person.iter().all(|r| r.profession == first.profession)
                && !first.family.is_empty()
                && !first.given.is_empty()
                && person.iter().any(|r| r.has_activity())
        })
        .expect("the dataset has an ordinary RPPS person")
}

/// The rows of the first ADELI-typed person (`Type d'identifiant PP` = 0) with one profession.
pub fn adeli_person(rows: &[Row]) -> Vec<&Row> {
    persons(rows)
        .into_iter()
        .find(|person| {
            person[0].type_id == "0" && person.iter().all(|r| r.profession == person[0].profession)
        })
        .expect("the dataset has an ADELI person")
}

/// Generates a dataset into `dir`.
pub fn generate_files(dir: &Path, persons: u64, seed: u64) -> GeneratedFiles {
    generate::generate(&GenerateOptions::new(persons, seed), dir)
        .unwrap_or_else(|e| panic!("generate {persons} persons into {}: {e}", dir.display()))
}

/// `meta.lastUpdated` of the demo import: midnight of the generated files' extraction date.
pub fn demo_last_updated() -> time::OffsetDateTime {
    time::OffsetDateTime::parse(
        DEMO_LAST_UPDATED,
        &time::format_description::well_known::Rfc3339,
    )
    .expect("an RFC 3339 instant")
}

/// Imports the five generated files into `data` in-process (as `annuaire import` does);
/// `last_updated` fixes `meta.lastUpdated` (the import's start time when `None`).
pub fn import_files(
    files: &GeneratedFiles,
    data: &Path,
    last_updated: Option<time::OffsetDateTime>,
) -> ImportSummary {
    import::run(&import_options(files, data, last_updated))
        .unwrap_or_else(|e| panic!("import into {}: {e}", data.display()))
}

/// The options `import_files` imports with: the five files.
pub fn import_options(
    files: &GeneratedFiles,
    data: &Path,
    last_updated: Option<time::OffsetDateTime>,
) -> ImportOptions {
    ImportOptions {
        extra: ExtraFiles {
            mssante: Some(files.mssante.clone()),
            savoir_faire: Some(files.savoir_faire.clone()),
            diplomes: Some(files.diplomas.clone()),
        },
        finess: files.finess_files(),
        ..import_options_of(&files.rpps, &files.finess, data, last_updated)
    }
}

/// The options the tests import with: `rpps` and `finess` (no optional file) into `data`, a
/// small cache, two workers, the default retentions, on the system clock; `last_updated`
/// fixes `meta.lastUpdated` (taken from the files when `None`).
pub fn import_options_of(
    rpps: &Path,
    finess: &Path,
    data: &Path,
    last_updated: Option<time::OffsetDateTime>,
) -> ImportOptions {
    ImportOptions {
        rpps: rpps.to_path_buf(),
        finess: vec![finess.to_path_buf()],
        extra: ExtraFiles::default(),
        data: data.to_path_buf(),
        cache_bytes: CACHE_BYTES,
        last_updated,
        clock: Clock::system(),
        workers: Some(2),
        safety: Default::default(),
    }
}

// ---------------------------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------------------------

/// The `annuaire` binary built for these tests.
pub fn annuaire() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_annuaire"));
    command
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .env_remove("RUST_BACKTRACE")
        .env_remove("ANNUAIRE_DATA")
        .env_remove("ANNUAIRE_LISTEN")
        .env_remove("ANNUAIRE_RPPS")
        .env_remove("ANNUAIRE_FINESS")
        .env_remove("ANNUAIRE_CACHE_MB")
        .env_remove("ANNUAIRE_WORKERS");
    command
}

/// A child process killed (and reaped) when dropped, even when the test fails; its stderr is
/// drained continuously by a thread (a full pipe would block it) and kept for assertions.
pub struct ChildGuard {
    pub child: Child,
    stderr: Arc<Mutex<String>>,
    lines: mpsc::Receiver<String>,
    drainer: Option<std::thread::JoinHandle<()>>,
}

impl ChildGuard {
    /// Spawns `command` with stderr piped (stdout inherited unless the caller set it).
    pub fn spawn(mut command: Command) -> ChildGuard {
        let mut child = command
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the annuaire binary");
        let pipe = child.stderr.take().expect("piped stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::channel();
        let drainer = Some(drain(pipe, stderr.clone(), tx));
        ChildGuard {
            child,
            stderr,
            lines,
            drainer,
        }
    }

    /// Everything the child wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr buffer").clone()
    }

    /// Forgets the stderr lines not waited for yet: the next [`ChildGuard::wait_for_line`]
    /// sees only lines written from now on (give or take those in the pipe).
    pub fn forget_lines(&self) {
        while self.lines.try_recv().is_ok() {}
    }

    /// Waits for a stderr line containing `needle`; `None` if the child closed stderr (exited)
    /// or `timeout` passed first.
    pub fn wait_for_line(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Some(line),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// Waits for the child to exit, at most `timeout`; kills it past that and panics.
    pub fn wait_with_timeout(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // The pipe is closed: the draining thread reads what is left and ends.
                if let Some(drainer) = self.drainer.take() {
                    let _ = drainer.join();
                }
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "the child did not exit within {timeout:?}; stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn drain(
    pipe: ChildStderr,
    buffer: Arc<Mutex<String>>,
    lines: mpsc::Sender<String>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line).into_owned();
                    buffer.lock().expect("stderr buffer").push_str(&text);
                    let _ = lines.send(text);
                }
            }
        }
    })
}

/// The HTTP client of the tests: no proxy, and no automatic decompression (it sends no
/// `Accept-Encoding`: on a kept-alive connection, gzip-chunked answers stall ~40 ms each, Nagle
/// on the server's small final chunk against the client's delayed ACK).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        // Idle connections are dropped well before the server's keep-alive (5 s) closes them:
        // a request sent on a connection the server is closing at that instant fails to send,
        // which a loaded machine made happen.
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .build()
        .expect("a reqwest client")
}

/// The SHA-256 of an API key in hex, as `[[auth.api_keys]] sha256` holds it.
pub fn api_key_sha256(key: &str) -> String {
    annuaire::auth::hash_api_key(key)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `annuaire import` of the five generated files into `data`, stamped `last_updated` (RFC
/// 3339): importing the same files again is then a new generation on purpose (without
/// `--last-updated` it would be "nothing to do"). Panics, with the output, when it fails.
pub fn import_binary(files: &GeneratedFiles, data: &Path, last_updated: &str) {
    let output = import_command(files, data)
        .args(["--last-updated", last_updated])
        .output()
        .expect("run annuaire import");
    assert!(
        output.status.success(),
        "import failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The `annuaire import` command of the generated files (every FINESS extraction among them,
/// as `import_files` imports them) into `data`, with a small cache and two workers; callers add
/// their options and run it.
pub fn import_command(files: &GeneratedFiles, data: &Path) -> std::process::Command {
    let mut command = annuaire();
    command.arg("import").arg("--rpps").arg(&files.rpps);
    for finess in files.finess_files() {
        command.arg("--finess").arg(finess);
    }
    command
        .arg("--mssante")
        .arg(&files.mssante)
        .arg("--savoir-faire")
        .arg(&files.savoir_faire)
        .arg("--diplomes")
        .arg(&files.diplomas)
        .arg("--data")
        .arg(data)
        .args(["--cache-mb", "16", "--workers", "2"]);
    command
}

/// An instant as RFC 3339 (`2026-11-01T00:00:00Z`).
pub fn rfc3339(instant: time::OffsetDateTime) -> String {
    instant
        .format(&time::format_description::well_known::Rfc3339)
        .expect("an RFC 3339 instant")
}

/// A minimal blocking `GET` (HTTP/1.1, `Connection: close`): status and body, or `None` when
/// nothing answers. Enough for polling child servers without an async runtime.
pub fn http_get(address: SocketAddr, path: &str) -> Option<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: application/fhir+json\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let split = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&response[..split]).ok()?;
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = response[split + 4..].to_vec();
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.contains("chunked"));
    Some((status, if chunked { dechunk(&body) } else { body }))
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&body[start..(start + size).min(body.len())]);
        body = &body[(start + size + 2).min(body.len())..];
    }
    out
}

/// Polls `check` every 50 ms until it returns `Some`, at most `timeout`.
pub fn poll<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
