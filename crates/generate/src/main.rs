//! `annuaire-generate`: writes realistic synthetic extraction files (seeded, deterministic), for
//! tests, demos and benchmarks. Kept out of the server binary, which does not need it.

use std::path::PathBuf;
use std::process::ExitCode;

use annuaire_generate::{GenerateOptions, generate};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "annuaire-generate",
    version,
    about = "Write realistic synthetic RPPS and FINESS extraction files (seeded, deterministic)"
)]
struct Args {
    /// Number of persons (1 500 000 is national size).
    #[arg(long, default_value_t = 3000)]
    persons: u64,
    /// Seed of every random choice: the same seed writes the same bytes.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = GenerateOptions {
        persons: args.persons,
        seed: args.seed,
    };
    let files = match generate(&options, &args.out) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: cannot write into {}: {e}", args.out.display());
            return ExitCode::FAILURE;
        }
    };
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
    ExitCode::SUCCESS
}
