//! Command line: `annuaire import`, `annuaire serve`, `annuaire api-key`. Every setting can
//! also come from an `ANNUAIRE_*` environment variable (see [`crate::settings`]). Synthetic
//! extraction files come from the separate `annuaire-generate` binary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::app::Application;
use crate::extract::finess::FinessKind;
use crate::generation::reconcile::Retention;
use crate::import::{self, ExtraFiles, ImportOptions, ImportSummary, Safety};
use crate::settings::{Settings, StoreSettings};

#[derive(Debug, Parser)]
#[command(
    name = "annuaire",
    version,
    about = "FHIR R4 directory server for the French Annuaire Santé open data (RPPS, FINESS)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import the RPPS and FINESS extraction files into a new generation of the data directory.
    Import(ImportArgs),
    /// Serve a data directory (or the embedded demo dataset) over FHIR R4 at /fhir.
    Serve(Settings),
    /// Copy the generation a data directory serves into another one (a replica), which then
    /// serves it: the same answers, ids, versions and cursors as the source, without importing.
    CopyGeneration(CopyArgs),
    /// Draw a new API key and print it with the lines to paste into the configuration file
    /// (which keeps only the key's SHA-256).
    ApiKey(ApiKeyArgs),
    /// Back up or restore what hospitals wrote (lists, subscriptions: `data/local`), while no
    /// server serves the data directory.
    #[command(subcommand)]
    Local(LocalCommand),
}

#[derive(Debug, Subcommand)]
pub enum LocalCommand {
    /// Write every list, subscription and queued event to one file (NDJSON with a checksum).
    Backup {
        /// The data directory (its `local/` is backed up).
        #[arg(long, env = "ANNUAIRE_DATA")]
        data: PathBuf,
        /// The backup file to write.
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup into a data directory whose local store is empty (or `--replace`).
    Restore {
        /// The data directory (its `local/` is restored).
        #[arg(long, env = "ANNUAIRE_DATA")]
        data: PathBuf,
        /// The backup file, written by `annuaire local backup`.
        #[arg(long)]
        from: PathBuf,
        /// Replace the lists and subscriptions already there (kept beside, renamed).
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Debug, Args)]
pub struct ApiKeyArgs {
    /// Who will hold the key (written in the audit trail).
    #[arg(long)]
    pub name: String,
    /// SMART scopes granted to the key.
    #[arg(long, num_args = 1.., default_value = "system/*.rs")]
    pub scopes: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Data directory whose current generation is copied.
    #[arg(long)]
    pub from: PathBuf,
    /// Data directory to copy it into (created if missing); a server on it switches to the
    /// copy within seconds.
    #[arg(long)]
    pub to: PathBuf,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// RPPS `PS_LibreAcces_Personne_activite_YYYYMMDDHHMM.txt`.
    #[arg(long, env = "ANNUAIRE_RPPS")]
    pub rpps: PathBuf,
    /// FINESS etalab extractions, one of each kind, in any order: the establishments
    /// (`etalab-cs1100507-stock-YYYYMMDD-HHMM.csv`, required), and optionally the legal
    /// entities (cs1100501), heavy equipment (cs1100504), social equipment (cs1100505) and
    /// authorised healthcare activities. Each file's kind is read from its records, not its
    /// name. Several values after one flag, or the flag repeated; in ANNUAIRE_FINESS,
    /// separated by `:`.
    #[arg(long, env = "ANNUAIRE_FINESS", required = true, num_args = 1.., action = clap::ArgAction::Append, value_delimiter = ':')]
    pub finess: Vec<PathBuf>,
    /// MSSanté mailboxes `Extraction_Correspondance_MSSante_YYYYMMDDHHMM.txt` (optional).
    #[arg(long, env = "ANNUAIRE_MSSANTE")]
    pub mssante: Option<PathBuf>,
    /// RPPS `PS_LibreAcces_SavoirFaire_YYYYMMDDHHMM.txt` (optional).
    #[arg(long, env = "ANNUAIRE_SAVOIR_FAIRE")]
    pub savoir_faire: Option<PathBuf>,
    /// RPPS `PS_LibreAcces_Dipl_AutExerc_YYYYMMDDHHMM.txt`: diplomas and exercise authorisations (optional).
    #[arg(long, env = "ANNUAIRE_DIPLOMES")]
    pub diplomes: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreSettings,
    /// Days a resource absent from the extractions stays served as a deactivated record
    /// (`active=false`) before it is deleted (410 Gone).
    #[arg(long, env = "ANNUAIRE_DEACTIVATED_DAYS", default_value_t = Retention::default().deactivated_days)]
    pub deactivated_days: u32,
    /// Days a past version stays in the history after it was superseded.
    #[arg(long, env = "ANNUAIRE_HISTORY_DAYS", default_value_t = Retention::default().history_days)]
    pub history_days: u32,
    /// Refuse an import that would deactivate more than this share of a type's resources, in
    /// percent (a truncated or wrong file must not empty the directory).
    #[arg(long, env = "ANNUAIRE_MAX_SHRINK_PERCENT", default_value_t = Safety::default().max_shrink_percent)]
    pub max_shrink_percent: f64,
    /// Accept an import that deactivates more than --max-shrink-percent, on purpose.
    #[arg(long)]
    pub allow_shrink: bool,
    /// The instant stamped on what this import changes (`meta.lastUpdated`), RFC 3339
    /// [default: the extraction time in the RPPS file name, else the FINESS extraction date].
    /// Replicas that import the same files must be given the same value, or none. Truncated to
    /// the second; less than one second after the previous import's, it becomes one second after.
    #[arg(long, env = "ANNUAIRE_LAST_UPDATED", value_parser = parse_instant)]
    pub last_updated: Option<time::OffsetDateTime>,
}

fn parse_instant(text: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| format!("`{text}` is not an RFC 3339 instant such as 2026-11-01T00:00:00Z"))
}

/// Runs a parsed command; errors are printed for people, without stack traces.
pub fn run(cli: Cli) -> ExitCode {
    let result: Result<(), String> = match cli.command {
        Command::Import(args) => run_import(args),
        Command::Serve(settings) => run_serve(settings),
        Command::CopyGeneration(args) => run_copy(args),
        Command::ApiKey(args) => run_api_key(args),
        Command::Local(command) => run_local(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run_import(args: ImportArgs) -> Result<(), String> {
    let data = args.store.data_dir().map_err(|_| {
        "no data directory: give --data or ANNUAIRE_DATA (created if missing)".to_string()
    })?;
    let imported = import::run(&ImportOptions {
        rpps: args.rpps,
        finess: args.finess,
        extra: ExtraFiles {
            mssante: args.mssante,
            savoir_faire: args.savoir_faire,
            diplomes: args.diplomes,
        },
        data: data.to_path_buf(),
        cache_bytes: args.store.cache_bytes(),
        last_updated: args.last_updated,
        clock: crate::clock::Clock::system(),
        workers: Some(args.store.workers()),
        safety: Safety {
            retention: Retention {
                deactivated_days: args.deactivated_days,
                history_days: args.history_days,
            },
            max_shrink_percent: args.max_shrink_percent,
            allow_shrink: args.allow_shrink,
        },
    });
    let summary = match imported {
        Ok(summary) => summary,
        Err(same @ import::ImportError::SameFiles { .. }) => {
            println!("{same}");
            return Ok(());
        }
        Err(e) => return Err(e.to_string()),
    };
    println!("{}", format_summary(&summary));
    Ok(())
}

fn run_local(command: LocalCommand) -> Result<(), String> {
    use crate::local::backup;
    let data = match &command {
        LocalCommand::Backup { data, .. } | LocalCommand::Restore { data, .. } => data.clone(),
    };
    if !data.is_dir() {
        return Err(format!("{} is not a data directory", data.display()));
    }
    // Held until the end: no server starts on the directory meanwhile.
    let _serving = crate::generation::DataDir::at(&data)
        .lock_for_serving()
        .map_err(|e| e.to_string())?;
    let local = data.join("local");
    let clock = crate::clock::Clock::system();
    match command {
        LocalCommand::Backup { to, .. } => {
            eprintln!("Backing up {} ...", local.display());
            let copied = backup::backup(&local, &to, clock).map_err(|e| e.to_string())?;
            println!(
                "Backed up {} records of {} trees (lists, subscriptions, events) into {}.",
                copied.records,
                copied.trees,
                to.display()
            );
        }
        LocalCommand::Restore { from, replace, .. } => {
            eprintln!("Checking {} ...", from.display());
            let (copied, kept) =
                backup::restore(&local, &from, replace, clock).map_err(|e| e.to_string())?;
            println!(
                "Restored {} records of {} trees into {}.",
                copied.records,
                copied.trees,
                local.display()
            );
            if let Some(kept) = kept {
                println!("The local store replaced is kept in {}.", kept.display());
            }
        }
    }
    Ok(())
}

fn run_copy(args: CopyArgs) -> Result<(), String> {
    use crate::generation::copy::{Copied, copy_current};
    match copy_current(&args.from, &args.to).map_err(|e| e.to_string())? {
        Copied::Switched { name, id, bytes } => println!(
            "Copied {name} (id {id}, {:.1} MB) into {}: it is now the generation served there (a running server switches to it within 2 s).",
            bytes as f64 / 1e6,
            args.to.display()
        ),
        Copied::AlreadyServed { name, id } => println!(
            "{} already serves {name} (id {id}): nothing to copy.",
            args.to.display()
        ),
    }
    Ok(())
}

/// The end-of-import report.
pub fn format_summary(s: &ImportSummary) -> String {
    let mut lines = vec![
        format!(
            "Import complete: generation {} (id {}) is now served.",
            s.generation, s.id
        ),
        format!("  RPPS rows read            {:>10}", s.rpps_rows_read),
        format!("  FINESS records read       {:>10}", s.finess_records_read),
    ];
    lines.extend(finess_lines(s));
    lines.extend([
        format!("  malformed lines skipped   {:>10}", s.rows_skipped),
        format!(
            "  duplicate rows collapsed  {:>10}",
            s.duplicate_rows_collapsed
        ),
    ]);
    let e = &s.extras;
    if e.savoir_faire_lines + e.diploma_lines + e.mailbox_lines > 0 {
        lines.extend([
            format!("  savoir-faire lines read   {:>10}", e.savoir_faire_lines),
            format!("  diploma lines read        {:>10}", e.diploma_lines),
            format!("  mailbox lines read        {:>10}", e.mailbox_lines),
            format!(
                "    on practitioners        {:>10}",
                e.mailboxes_on_practitioners
            ),
            format!("    also on their roles     {:>10}", e.mailboxes_on_roles),
            format!(
                "    on organizations        {:>10}",
                e.mailboxes_on_organizations
            ),
            // Lines naming a person or structure absent from the RPPS and FINESS files.
            format!("  not placed (unknown ids)  {:>10}", e.unplaced_lines),
        ]);
    }
    lines.push(format!(
        "  {:<18}{:>10}{:>10}{:>10}{:>13}{:>10}{:>11}",
        "", "served", "added", "changed", "deactivated", "deleted", "unchanged"
    ));
    for (rtype, c) in &s.changes {
        lines.push(format!(
            "  {:<18}{:>10}{:>10}{:>10}{:>13}{:>10}{:>11}",
            rtype.as_str(),
            c.total(),
            c.added,
            c.changed,
            c.deactivated,
            c.deleted,
            c.unchanged + c.still_deactivated,
        ));
    }
    lines.push(format!(
        "  duration                  {:>9.1}s",
        s.duration.as_secs_f64()
    ));
    if s.windows_1252_lines > 0 {
        lines.push(format!(
            "  lines decoded as Windows-1252: {}",
            s.windows_1252_lines
        ));
    }
    if !s.leftovers_removed.is_empty() {
        lines.push(format!(
            "  unfinished generations removed: {}",
            s.leftovers_removed.join(", ")
        ));
    }
    if !s.removed_generations.is_empty() {
        lines.push(format!(
            "  old generations removed: {}",
            s.removed_generations.join(", ")
        ));
    }
    lines.join("\n")
}

/// The FINESS part of the summary: each file with its kind and records kept, where the legal
/// entities came from, and the activity and equipment lines not placed.
fn finess_lines(s: &ImportSummary) -> Vec<String> {
    let mut lines: Vec<String> = s
        .finess_files
        .iter()
        .map(|f| {
            format!(
                "    {:<24}{:>10}  {}",
                kind_label(f.kind),
                f.records,
                f.name
            )
        })
        .collect();
    lines.push(format!(
        "  legal entities: {} from the file, {} stubs (referenced, absent from it)",
        s.legal_entities_from_file, s.legal_entity_stubs
    ));
    if s.finess_unplaced > 0 {
        lines.push(format!(
            "  activity and equipment lines not imported (establishment absent from FINESS): {}",
            s.finess_unplaced
        ));
    }
    lines
}

/// A FINESS kind in a summary column: what its records are.
fn kind_label(kind: FinessKind) -> &'static str {
    match kind {
        FinessKind::Establishments => "establishments",
        FinessKind::LegalEntities => "legal entities",
        FinessKind::HeavyEquipment => "heavy equipment",
        FinessKind::SocialEquipment => "social equipment",
        FinessKind::CareActivities => "healthcare activities",
    }
}

fn run_serve(command_line: Settings) -> Result<(), String> {
    let settings = Settings::load(command_line).map_err(|e| e.to_string())?;
    actix_web::rt::System::new()
        .block_on(async { Application::build(settings)?.run_until_stopped().await })
        .map_err(|e| e.to_string())
}

fn run_api_key(args: ApiKeyArgs) -> Result<(), String> {
    use rand::RngCore;
    for scope in &args.scopes {
        if let Err(e) = crate::auth::scopes::Grant::parse(scope) {
            eprintln!(
                "note: {e}; it is kept as is (the configuration accepts it only if it is `auth.restricted.scope`)"
            );
        }
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let key: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let hash: String = crate::auth::hash_api_key(&key)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let scopes: Vec<String> = args.scopes.iter().map(|s| format!("{s:?}")).collect();
    println!(
        "API key for {} (give it to its holder; it is not stored anywhere):\n\n    {key}\n",
        args.name
    );
    println!("Add to the configuration file:\n");
    println!(
        "[[auth.api_keys]]\nname = {:?}\nsha256 = \"{hash}\"\nscopes = [{}]",
        args.name,
        scopes.join(", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finess_of(args: &[&str]) -> Vec<PathBuf> {
        let mut line = vec!["annuaire", "import", "--rpps", "rpps.txt"];
        line.extend_from_slice(args);
        match Cli::try_parse_from(line).expect("parses").command {
            Command::Import(import) => import.finess,
            other => panic!("not an import: {other:?}"),
        }
    }

    /// `--finess` takes several files after one flag (a shell glob), the flag repeated, and
    /// `:`-separated lists (the form of ANNUAIRE_FINESS).
    #[test]
    fn finess_takes_every_extraction_given() {
        let paths = |names: &[&str]| names.iter().map(PathBuf::from).collect::<Vec<_>>();
        assert_eq!(
            finess_of(&["--finess", "a.csv", "b.csv", "--finess", "c.csv"]),
            paths(&["a.csv", "b.csv", "c.csv"])
        );
        assert_eq!(
            finess_of(&["--finess", "a.csv:b.csv"]),
            paths(&["a.csv", "b.csv"])
        );
        assert!(
            Cli::try_parse_from(["annuaire", "import", "--rpps", "r", "--finess"]).is_err(),
            "--finess needs a file"
        );
    }
}
