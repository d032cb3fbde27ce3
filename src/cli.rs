//! Command line: `annuaire import`, `annuaire serve`, `annuaire generate`. Every flag can also
//! come from an `ANNUAIRE_*` environment variable.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{CommandLine, ServeConfig};
use crate::generate::{self, GenerateOptions};
use crate::import::{self, ExtraFiles, ImportOptions, ImportSummary};
use crate::serve::{self, ServeOptions};

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
    Serve(ServeArgs),
    /// Write realistic synthetic RPPS and FINESS extraction files (seeded, deterministic).
    Generate(GenerateArgs),
    /// Draw a new API key and print it with the lines to paste into the configuration file
    /// (which keeps only the key's SHA-256).
    ApiKey(ApiKeyArgs),
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
pub struct StorageArgs {
    /// sled page cache, in MiB.
    #[arg(long, env = "ANNUAIRE_CACHE_MB", default_value_t = 256)]
    pub cache_mb: u64,
    /// Worker threads (default: one per CPU).
    #[arg(long, env = "ANNUAIRE_WORKERS")]
    pub workers: Option<usize>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// RPPS `PS_LibreAcces_Personne_activite_YYYYMMDDHHMM.txt`.
    #[arg(long, env = "ANNUAIRE_RPPS")]
    pub rpps: PathBuf,
    /// FINESS `etalab-cs1100507-stock-YYYYMMDD-HHMM.csv`.
    #[arg(long, env = "ANNUAIRE_FINESS")]
    pub finess: PathBuf,
    /// MSSanté mailboxes `Extraction_Correspondance_MSSante_YYYYMMDDHHMM.txt` (optional).
    #[arg(long, env = "ANNUAIRE_MSSANTE")]
    pub mssante: Option<PathBuf>,
    /// RPPS `PS_LibreAcces_SavoirFaire_YYYYMMDDHHMM.txt` (optional).
    #[arg(long, env = "ANNUAIRE_SAVOIR_FAIRE")]
    pub savoir_faire: Option<PathBuf>,
    /// RPPS `PS_LibreAcces_Dipl_AutExerc_YYYYMMDDHHMM.txt`: diplomas and exercise authorisations (optional).
    #[arg(long, env = "ANNUAIRE_DIPLOMES")]
    pub diplomes: Option<PathBuf>,
    /// Data directory (created if missing).
    #[arg(long, env = "ANNUAIRE_DATA")]
    pub data: PathBuf,
    #[command(flatten)]
    pub storage: StorageArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (TOML): server settings, access control, audit trail. See
    /// annuaire.example.toml.
    #[arg(long, env = "ANNUAIRE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory written by `annuaire import` (or `data` in the configuration file).
    #[arg(long, env = "ANNUAIRE_DATA", conflicts_with = "demo")]
    pub data: Option<PathBuf>,
    /// Serve a generated demo dataset (a few thousand persons) instead of a data directory.
    #[arg(long)]
    pub demo: bool,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "ANNUAIRE_LISTEN")]
    pub listen: Option<String>,
    /// Log one line per request.
    #[arg(long, env = "ANNUAIRE_ACCESS_LOG")]
    pub access_log: bool,
    /// sled page cache, in MiB [default: 256].
    #[arg(long, env = "ANNUAIRE_CACHE_MB")]
    pub cache_mb: Option<u64>,
    /// HTTP worker threads (default: one per CPU).
    #[arg(long, env = "ANNUAIRE_WORKERS")]
    pub workers: Option<usize>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of persons (1 500 000 is national size).
    #[arg(long, default_value_t = 3000)]
    pub persons: u64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Runs a parsed command; errors are printed for people, without stack traces.
pub fn run(cli: Cli) -> ExitCode {
    let result: Result<(), String> = match cli.command {
        Command::Import(args) => run_import(args),
        Command::Serve(args) => run_serve(args),
        Command::Generate(args) => run_generate(args),
        Command::ApiKey(args) => run_api_key(args),
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
    let summary = import::run(&ImportOptions {
        rpps: args.rpps,
        finess: args.finess,
        extra: ExtraFiles {
            mssante: args.mssante,
            savoir_faire: args.savoir_faire,
            diplomes: args.diplomes,
        },
        data: args.data,
        cache_bytes: args.storage.cache_mb << 20,
        last_updated: None,
        workers: args.storage.workers,
    })
    .map_err(|e| e.to_string())?;
    println!("{}", format_summary(&summary));
    Ok(())
}

/// The end-of-import report.
pub fn format_summary(s: &ImportSummary) -> String {
    let mut lines = vec![
        format!(
            "Import complete: generation {} is now served.",
            s.generation
        ),
        format!("  RPPS rows read            {:>10}", s.rpps_rows_read),
        format!("  FINESS records read       {:>10}", s.finess_records_read),
        format!("  malformed lines skipped   {:>10}", s.rows_skipped),
        format!(
            "  duplicate rows collapsed  {:>10}",
            s.duplicate_rows_collapsed
        ),
    ];
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
    lines.extend([
        format!(
            "  Practitioner              {:>10}",
            s.resources.practitioner
        ),
        format!(
            "  PractitionerRole          {:>10}",
            s.resources.practitioner_role
        ),
        format!(
            "  Organization              {:>10}",
            s.resources.organization
        ),
        format!(
            "  duration                  {:>9.1}s",
            s.duration.as_secs_f64()
        ),
    ]);
    if s.windows_1252_lines > 0 {
        lines.push(format!(
            "  lines decoded as Windows-1252: {}",
            s.windows_1252_lines
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

fn run_serve(args: ServeArgs) -> Result<(), String> {
    let command_line = CommandLine {
        data: args.data,
        listen: args.listen,
        cache_mb: args.cache_mb,
        workers: args.workers,
        access_log: args.access_log.then_some(true),
    };
    let config =
        ServeConfig::load(args.config.as_deref(), &command_line).map_err(|e| e.to_string())?;
    let cache_bytes = config.cache_bytes();
    let access = serve::access_control(&config, args.demo).map_err(|e| e.to_string())?;
    let _demo_dir;
    let data = if args.demo {
        let dir = tempfile::Builder::new()
            .prefix("annuaire-demo-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory for the demo: {e}"))?;
        tracing::info!(
            "generating the demo dataset ({} persons)",
            serve::DEMO_PERSONS
        );
        let data = serve::prepare_demo(dir.path(), serve::DEMO_PERSONS, cache_bytes)
            .map_err(|e| e.to_string())?;
        _demo_dir = dir;
        data
    } else {
        config.data.clone().ok_or_else(|| {
            "no data directory: give --data, ANNUAIRE_DATA or `data` in the configuration file (or --demo)".to_string()
        })?
    };
    serve::run(&ServeOptions {
        data,
        listen: config.listen().to_owned(),
        cache_bytes,
        workers: config.workers.unwrap_or_else(cpus),
        access_log: config.access_log.unwrap_or(false),
        access,
    })
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

fn run_generate(args: GenerateArgs) -> Result<(), String> {
    let files = generate::generate(
        &GenerateOptions {
            persons: args.persons,
            seed: args.seed,
        },
        &args.out,
    )
    .map_err(|e| format!("cannot write into {}: {e}", args.out.display()))?;
    let stats = &files.stats;
    let written = [
        (
            &files.rpps,
            format!("{} rows, {} persons", stats.rpps_rows, stats.persons),
        ),
        (
            &files.finess,
            format!("{} establishments", stats.establishments),
        ),
        (&files.mssante, format!("{} mailboxes", stats.mailboxes)),
        (
            &files.savoir_faire,
            format!("{} rows", stats.savoir_faire_rows),
        ),
        (&files.diplomas, format!("{} rows", stats.diploma_rows)),
    ];
    for (path, what) in written {
        println!("Wrote {} ({what})", path.display());
    }
    Ok(())
}
