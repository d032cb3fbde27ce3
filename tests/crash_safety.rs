//! Crash safety and operations with the real binary: an import killed mid-way leaves the served
//! generation intact, a second server is refused, an import into a served directory is picked up
//! live, and bad input files fail (or are skipped line by line) with messages for people.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use annuaire::fhir::ResourceType;
use annuaire::generation::DataDir;
use annuaire_generate::GeneratedFiles;
use serde_json::Value;

use common::{CACHE_BYTES, ChildGuard, Row, annuaire, generate_files, poll, scratch_dir};

/// Dataset A: small, imported first. Dataset B: larger, imported (or killed) over it.
const A_PERSONS: u64 = 500;
const A_SEED: u64 = 1;
/// Large enough that mapping takes a few seconds in a debug build (≈1 s per 1 500 persons).
const B_PERSONS: u64 = 5000;
const B_SEED: u64 = 2;

struct Dataset {
    _dir: tempfile::TempDir,
    files: GeneratedFiles,
    rows: Vec<Row>,
}

fn dataset(persons: u64, seed: u64) -> Dataset {
    let dir = scratch_dir("annuaire-it-files-");
    let files = generate_files(dir.path(), persons, seed);
    let rows = common::read_rpps_rows(&files.rpps);
    Dataset {
        _dir: dir,
        files,
        rows,
    }
}

fn dataset_a() -> &'static Dataset {
    static A: OnceLock<Dataset> = OnceLock::new();
    A.get_or_init(|| dataset(A_PERSONS, A_SEED))
}

fn dataset_b() -> &'static Dataset {
    static B: OnceLock<Dataset> = OnceLock::new();
    B.get_or_init(|| dataset(B_PERSONS, B_SEED))
}

/// A Practitioner of `b` whose person does not exist in `a` at all.
fn practitioner_only_in(b: &[Row], a: &[Row]) -> String {
    let in_a: std::collections::HashSet<&str> = a.iter().map(|r| r.idnat.as_str()).collect();
    b.iter()
        .find(|r| !in_a.contains(r.idnat.as_str()))
        .expect("B has persons A lacks")
        .practitioner_id()
}

fn import_command(rpps: &Path, finess: &Path, data: &Path) -> std::process::Command {
    let mut command = annuaire();
    command
        .arg("import")
        .arg("--rpps")
        .arg(rpps)
        .arg("--finess")
        .arg(finess)
        .arg("--data")
        .arg(data)
        // A and B are different directories altogether: importing one over the other
        // deactivates most resources, on purpose.
        .args(["--cache-mb", "16", "--workers", "2", "--allow-shrink"]);
    command
}

/// Runs `annuaire import` to completion.
fn import_binary(rpps: &Path, finess: &Path, data: &Path) -> Output {
    import_command(rpps, finess, data)
        .stdin(Stdio::null())
        .output()
        .expect("run annuaire import")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn current(data: &Path) -> Option<String> {
    DataDir::create(data)
        .expect("data dir")
        .current()
        .expect("CURRENT readable")
}

/// Reads resources from the current generation of `data`, then closes it (sled allows one
/// handle per database per process).
fn read_current(data: &Path, wanted: &[(ResourceType, &str)]) -> Vec<Option<Vec<u8>>> {
    let dir = DataDir::create(data).expect("data dir");
    let (_, generation) =
        annuaire::generation::open_current(&dir, CACHE_BYTES).expect("open the current generation");
    wanted
        .iter()
        .map(|(rtype, id)| {
            generation
                .read(*rtype, id)
                .expect("read")
                .map(|r| r.to_json())
        })
        .collect()
}

fn assert_no_panic(stderr: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
        "the binary panicked:\n{stderr}"
    );
}

/// Outcome of one attempt at killing an import mid-way.
enum KillAttempt {
    Killed,
    /// The import got past the point of no return before the kill: retry bigger.
    TooLate(String),
}

/// Starts `annuaire import` of `b` into `data`, waits until it is demonstrably writing the new
/// generation (its log says it is mapping, and the generation's sled database exists), lets it
/// write a little, and SIGKILLs it.
fn kill_import_midway(b: &GeneratedFiles, data: &Path) -> KillAttempt {
    let generation = data.join("generations").join("gen-000002");
    let mut command = import_command(&b.rpps, &b.finess, data);
    command.stdout(Stdio::null());
    let mut child = ChildGuard::spawn(command);
    if child
        .wait_for_line("Mapping to FHIR resources", Duration::from_secs(60))
        .is_none()
    {
        let status = child.child.try_wait().expect("try_wait");
        return KillAttempt::TooLate(format!(
            "the import never logged its mapping phase while running (exit: {status:?}); stderr:\n{}",
            child.stderr()
        ));
    }
    let writing = poll(Duration::from_secs(10), || {
        generation.join("db").exists().then_some(())
    });
    assert!(
        writing.is_some(),
        "the import is mapping but {} has no sled database",
        generation.display()
    );
    // Until the workers' inserts reach the disk: the database is being written when the kill
    // lands (or the import has already finished: too late, see below).
    let db = generation.join("db");
    let empty = bytes_under(&db);
    poll(Duration::from_secs(10), || {
        let exited = child.child.try_wait().expect("try_wait").is_some();
        (exited || bytes_under(&db) > empty).then_some(())
    });
    if let Some(status) = child.child.try_wait().expect("try_wait") {
        return KillAttempt::TooLate(format!("the import finished ({status}) before the kill"));
    }
    child.child.kill().expect("SIGKILL the import");
    let status = child.child.wait().expect("wait for the killed import");
    assert!(
        !status.success(),
        "a killed import does not exit successfully"
    );
    if generation.join("generation.json").exists() {
        return KillAttempt::TooLate(
            "the import had already completed its generation when killed".into(),
        );
    }
    KillAttempt::Killed
}

/// The bytes of the files under `dir`, 0 for what cannot be read (sled may be renaming them).
fn bytes_under(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => bytes_under(&entry.path()),
            _ => entry.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

#[test]
fn killed_import_leaves_the_served_generation_intact() {
    let a = dataset_a();
    let person = common::ordinary_person(&a.rows);
    let activity = person
        .iter()
        .find(|r| r.has_activity())
        .expect("an activity");
    let a_ids = [
        (ResourceType::Practitioner, activity.practitioner_id()),
        (ResourceType::PractitionerRole, activity.role_id()),
        (
            ResourceType::Organization,
            activity.organization_id().expect("a structure"),
        ),
    ];
    let a_wanted: Vec<(ResourceType, &str)> =
        a_ids.iter().map(|(t, id)| (*t, id.as_str())).collect();

    // Import A, read what generation 1 serves, then kill an import of B mid-way; retried with
    // bigger files should the import outrun the kill.
    let mut b = dataset_b();
    let mut bigger: Vec<Dataset> = Vec::new();
    let mut reasons = Vec::new();
    let (_scratch, data, before) = loop {
        let scratch = scratch_dir("annuaire-it-kill-");
        let data = scratch.path().join("data");
        let summary = common::import_files(&a.files, &data, None);
        assert_eq!(summary.generation, 1);
        let before = read_current(&data, &a_wanted);
        assert!(before.iter().all(Option::is_some), "A's resources exist");
        match kill_import_midway(&b.files, &data) {
            KillAttempt::Killed => break (scratch, data, before),
            KillAttempt::TooLate(reason) => {
                eprintln!("the kill came too late, retrying with bigger files: {reason}");
                reasons.push(reason);
                assert!(
                    reasons.len() < 3,
                    "could not kill the import mid-way even with {} persons:\n{}",
                    b.files.stats.persons,
                    reasons.join("\n")
                );
                bigger.push(dataset(b.files.stats.persons * 4, B_SEED));
                b = bigger.last().expect("just pushed");
            }
        }
    };
    let b_only = practitioner_only_in(&b.rows, &a.rows);

    // After the kill: CURRENT still names generation 1, which serves the same bytes; nothing of
    // B is visible.
    assert_eq!(current(&data).as_deref(), Some("gen-000001"));
    assert!(
        data.join("generations/gen-000002").is_dir(),
        "the partial generation is left for the next import to collect"
    );
    let mut wanted = a_wanted.clone();
    wanted.push((ResourceType::Practitioner, &b_only));
    let after = read_current(&data, &wanted);
    for ((rtype, id), (before, after)) in a_wanted.iter().zip(before.iter().zip(&after)) {
        assert!(
            before == after,
            "{rtype}/{id} changed after a killed import:\nbefore: {}\nafter:  {}",
            text(before.as_deref().unwrap_or_default()),
            text(after.as_deref().unwrap_or_default()),
        );
    }
    assert!(
        after[3].is_none(),
        "B's Practitioner/{b_only} is not served"
    );

    // A complete import of B now succeeds: it first removes what the killed import left
    // (generation 2, never completed), writes generation 2 anew, and collects generation 1.
    let output = import_binary(&b.files.rpps, &b.files.finess, &data);
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(
        output.status.success(),
        "import failed:\n{stdout}\n{stderr}"
    );
    assert_no_panic(&stderr);
    assert!(
        stdout.contains("unfinished generations removed: gen-000002"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Import complete: generation 2 (id "),
        "{stdout}"
    );
    assert!(
        stdout.contains("old generations removed: gen-000001"),
        "the previously served generation is removed, no server holds it: {stdout}"
    );
    assert_eq!(current(&data).as_deref(), Some("gen-000002"));
    assert!(!data.join("generations/gen-000001").exists());
    let after_b = read_current(&data, &[(ResourceType::Practitioner, &b_only)]);
    let practitioner: Value =
        serde_json::from_slice(after_b[0].as_deref().expect("B's Practitioner is served"))
            .expect("JSON");
    assert_eq!(practitioner["id"], b_only.as_str());
    assert_eq!(practitioner["meta"]["versionId"], "1", "a new resource");
}

#[test]
fn a_second_server_on_the_same_directory_is_refused() {
    let a = dataset_a();
    let scratch = scratch_dir("annuaire-it-two-");
    let data = scratch.path().join("data");
    common::import_files(&a.files, &data, None);
    let (mut first, address) = common::spawn_binary_server(&data);

    let mut command = annuaire();
    command
        .arg("serve")
        .arg("--data")
        .arg(&data)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::null());
    let mut second = ChildGuard::spawn(command);
    let status = second.wait_with_timeout(Duration::from_secs(30));
    let stderr = second.stderr();
    assert!(!status.success(), "the second server must fail:\n{stderr}");
    assert!(stderr.contains("already serving"), "{stderr}");
    assert_no_panic(&stderr);

    // The first one is unaffected.
    let id = common::ordinary_person(&a.rows)[0].practitioner_id();
    let (status, _) =
        common::http_get(address, &format!("/fhir/Practitioner/{id}")).expect("first answers");
    assert_eq!(status, 200);
    assert!(
        first.child.try_wait().expect("try_wait").is_none(),
        "the first server still runs"
    );
}

#[test]
fn an_import_into_a_served_directory_is_served_without_restart() {
    let a = dataset_a();
    let b = dataset_b();
    let scratch = scratch_dir("annuaire-it-live-");
    let data = scratch.path().join("data");
    common::import_files(&a.files, &data, None);
    let (_server, address) = common::spawn_binary_server(&data);
    let b_only = practitioner_only_in(&b.rows, &a.rows);
    let path = format!("/fhir/Practitioner/{b_only}");
    let a_id = common::ordinary_person(&a.rows)[0].practitioner_id();
    assert_eq!(
        common::http_get(address, &format!("/fhir/Practitioner/{a_id}")).map(|r| r.0),
        Some(200)
    );
    assert_eq!(common::http_get(address, &path).map(|r| r.0), Some(404));

    let output = import_binary(&b.files.rpps, &b.files.finess, &data);
    let done = Instant::now();
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "import into a served directory failed:\n{stdout}\n{}",
        text(&output.stderr)
    );
    assert!(
        stdout.contains("Import complete: generation 2 (id "),
        "{stdout}"
    );
    assert_eq!(current(&data).as_deref(), Some("gen-000002"));

    let body = poll(Duration::from_secs(6), || {
        common::http_get(address, &path)
            .filter(|(status, _)| *status == 200)
            .map(|(_, body)| body)
    })
    .unwrap_or_else(|| {
        panic!(
            "the server did not serve B's {path} within 6 s of the import ({:?} so far)",
            done.elapsed()
        )
    });
    let practitioner: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(practitioner["id"], b_only.as_str());
    assert_eq!(practitioner["meta"]["versionId"], "1", "a new resource");
}

#[test]
fn unusable_input_files_fail_with_a_message() {
    let a = dataset_a();
    let scratch = scratch_dir("annuaire-it-bad-");
    let data = scratch.path().join("data");

    // The FINESS file given as the RPPS file.
    let output = import_binary(&a.files.finess, &a.files.finess, &data);
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("is not an RPPS PS_LibreAcces_Personne_activite extraction"),
        "{stderr}"
    );
    assert!(stderr.contains("Identification nationale PP"), "{stderr}");
    assert!(
        stderr.contains(&a.files.finess.display().to_string()),
        "{stderr}"
    );
    assert_no_panic(&stderr);
    assert_eq!(current(&data), None, "nothing was made current");

    // A missing RPPS file.
    let missing: PathBuf = scratch
        .path()
        .join("PS_LibreAcces_Personne_activite_missing.txt");
    let output = import_binary(&missing, &a.files.finess, &data);
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot read {}", missing.display())),
        "{stderr}"
    );
    assert_no_panic(&stderr);

    // A missing FINESS file.
    let missing = scratch.path().join("etalab-missing.csv");
    let output = import_binary(&a.files.rpps, &missing, &data);
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot read {}", missing.display())),
        "{stderr}"
    );
    assert_no_panic(&stderr);
    assert_eq!(current(&data), None, "nothing was made current");
    let generations: Vec<_> = std::fs::read_dir(data.join("generations"))
        .expect("the data directory exists")
        .collect();
    assert!(
        generations.is_empty(),
        "a failed import leaves no generation behind: {generations:?}"
    );

    // The first import that succeeds is generation 1.
    let output = import_binary(&a.files.rpps, &a.files.finess, &data);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(current(&data).as_deref(), Some("gen-000001"));
}

#[test]
fn malformed_rpps_lines_are_skipped_and_reported() {
    let scratch = scratch_dir("annuaire-it-malformed-");
    let files = generate_files(&scratch.path().join("files"), 300, 5);
    let mut bytes = std::fs::read(&files.rpps).expect("read RPPS");
    assert_eq!(
        bytes.last(),
        Some(&b'\n'),
        "the generated file ends with a newline"
    );
    let lines = bytes.iter().filter(|b| **b == b'\n').count() as u64;
    let template = std::str::from_utf8(&bytes)
        .expect("generated files are UTF-8")
        .lines()
        .nth(1)
        .expect("a data row")
        .to_owned();
    let fields: Vec<&str> = template.split('|').collect();
    assert_eq!(fields.len(), 57, "56 fields and a trailing `|`");

    // 1. Wrong field count.
    bytes.extend_from_slice(b"8|19990000099|819990000099\n");
    // 2. Neither UTF-8 nor Windows-1252: 0x81 in the middle of the family name.
    let mut undecodable = fields.clone();
    undecodable[7] = "DUPONT";
    let mut line: Vec<u8> = undecodable.join("|").into_bytes();
    let offset = undecodable[..7].iter().map(|f| f.len() + 1).sum::<usize>() + 3;
    line.insert(offset, 0x81);
    let undefined = [0x81u8, 0x8D, 0x8F, 0x90, 0x9D];
    assert_eq!(
        line.iter().position(|b| undefined.contains(b)),
        Some(offset),
        "0x81 is the first byte Windows-1252 leaves undefined"
    );
    line.push(b'\n');
    bytes.extend_from_slice(&line);
    // 3. Empty `Identification nationale PP`.
    let mut no_key = fields.clone();
    no_key[2] = "";
    bytes.extend_from_slice(no_key.join("|").as_bytes());
    bytes.push(b'\n');
    // 4. Not malformed: a Windows-1252 line (a new person named HÉLOÏSE) is decoded and imported.
    let mut cp1252 = fields.clone();
    cp1252[1] = "19999999990";
    cp1252[2] = "819999999990";
    cp1252[7] = "HÉLOÏSE";
    let cp1252 = cp1252.join("|");
    let (line, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&cp1252);
    assert!(!unmappable, "the row is representable in Windows-1252");
    assert!(std::str::from_utf8(&line).is_err(), "the line is not UTF-8");
    bytes.extend_from_slice(&line);
    bytes.push(b'\n');
    let rpps = scratch
        .path()
        .join("PS_LibreAcces_Personne_activite_malformed.txt");
    std::fs::write(&rpps, &bytes).expect("write RPPS");

    let data = scratch.path().join("data");
    let output = import_binary(&rpps, &files.finess, &data);
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_no_panic(&stderr);
    let path = rpps.display();
    for expected in [
        format!(
            "{path}:{}: expected 56 fields (or 57 with a trailing `|`), found 3",
            lines + 1
        ),
        format!(
            "{path}:{}: bytes that are neither UTF-8 nor Windows-1252 (byte 0x81 at offset {offset})",
            lines + 2
        ),
        format!(
            "{path}:{}: missing key `Identification nationale PP`",
            lines + 3
        ),
    ] {
        assert!(
            stderr.lines().any(|l| l.ends_with(&expected)),
            "stderr lacks `{expected}`:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains(&format!("{path}:{}:", lines + 4)),
        "the Windows-1252 line is not malformed:\n{stderr}"
    );
    let skipped = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("malformed lines skipped"))
        .map(|n| n.trim().parse::<u64>().expect("a count"))
        .unwrap_or_else(|| panic!("no `malformed lines skipped` in the summary:\n{stdout}"));
    assert_eq!(skipped, 3, "{stdout}");
    assert!(
        stdout.contains("lines decoded as Windows-1252: 1"),
        "{stdout}"
    );
    let read = read_current(
        &data,
        &[(
            ResourceType::Practitioner,
            &format!("pp-819999999990-{}", fields[9]),
        )],
    );
    let practitioner: Value = serde_json::from_slice(
        read[0]
            .as_deref()
            .expect("the Windows-1252 person is imported"),
    )
    .expect("JSON");
    assert_eq!(practitioner["name"][0]["family"], "HÉLOÏSE");
}

#[test]
fn a_server_started_after_a_killed_import_removes_what_it_left() {
    let a = dataset_a();
    let b = dataset_b();
    let scratch = scratch_dir("annuaire-it-kill-serve-");
    let data = scratch.path().join("data");
    common::import_files(&a.files, &data, None);
    match kill_import_midway(&b.files, &data) {
        KillAttempt::Killed => {}
        // The machine outran the kill: nothing half-written to clean (the other kill test
        // retries with bigger files).
        KillAttempt::TooLate(reason) => {
            eprintln!("skipped, the import completed before the kill: {reason}");
            return;
        }
    }
    assert!(
        data.join("generations/gen-000002").is_dir(),
        "the killed import left its generation"
    );
    let (server, address) = common::spawn_binary_server(&data);
    assert!(
        !data.join("generations/gen-000002").exists(),
        "the server removed the unfinished generation at start-up:\n{}",
        server.stderr()
    );
    assert!(
        !data.join("history/seg-000002.bin").exists(),
        "and its history segment"
    );
    assert!(
        server.stderr().contains("removed gen-000002"),
        "{}",
        server.stderr()
    );
    let id = common::ordinary_person(&a.rows)[0].practitioner_id();
    let (status, _) =
        common::http_get(address, &format!("/fhir/Practitioner/{id}")).expect("it serves A");
    assert_eq!(status, 200);
}
