//! `annuaire-generate`: writes realistic synthetic extraction files (seeded, deterministic), for
//! tests, demos and benchmarks. Kept out of the server binary, which does not need it.

use std::path::PathBuf;
use std::process::ExitCode;

use annuaire_generate::{DayEvents, GenerateOptions, MAX_DAY, generate};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "annuaire-generate",
    version,
    about = "Write realistic synthetic RPPS and FINESS extraction files (seeded, deterministic): 9 files"
)]
struct Args {
    /// Number of persons (1 500 000 is national size).
    #[arg(long, default_value_t = 3000)]
    persons: u64,
    /// Seed of every random choice: the same seed writes the same bytes.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Day of the directory to write: day N is day 1 plus the events (retirements, new persons,
    /// activity, address, profession and mailbox changes) of days 2 to N, about 1 % of the persons
    /// per day, and the FINESS changes (activity authorisations ended, heavy equipment removed and
    /// added, social capacities and legal entity addresses changed). Its files are named with its extraction instant (day 1: 2026-11-01 00:00 UTC, each
    /// later day 24 hours later), which an import stamps. Write each day into its own directory.
    #[arg(long, default_value_t = 1, value_parser = day_parser())]
    day: u32,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = GenerateOptions::new(args.persons, args.seed).with_day(args.day);
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
        (
            &files.legal_entities,
            format!(
                "{} legal entities, {} of them without establishment; {} referenced but left out",
                stats.legal_entities,
                stats.legal_entities_without_establishment,
                stats.legal_entities_left_out
            ),
        ),
        (
            &files.heavy_equipment,
            format!("{} heavy equipment units", stats.heavy_equipment),
        ),
        (
            &files.social_equipment,
            format!(
                "{} social equipment lines, Windows-1252",
                stats.social_equipment
            ),
        ),
        (
            &files.activities,
            format!(
                "{} healthcare activity authorisations",
                stats.care_activities
            ),
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
    if args.day > 1 {
        print_events(args.day, &stats.events);
    }
    ExitCode::SUCCESS
}

/// Days from 1 to [`MAX_DAY`].
fn day_parser() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(1..=i64::from(MAX_DAY))
}

/// The events of the day written, one kind per line.
fn print_events(day: u32, events: &DayEvents) {
    println!("Day {day} events ({} persons touched):", events.total());
    for (count, what) in [
        (events.retirements, "retirements"),
        (events.new_persons, "new persons"),
        (events.activities_added, "activities added"),
        (events.activities_removed, "activities removed"),
        (events.activities_moved, "activities moved"),
        (events.addresses_changed, "cabinet addresses changed"),
        (events.professions_changed, "professions changed"),
        (events.mailboxes_added, "personal mailboxes added"),
        (events.mailboxes_removed, "personal mailboxes removed"),
        (events.mailboxes_changed, "personal mailboxes changed"),
    ] {
        println!("  {count:>8} {what}");
    }
    println!("FINESS changes ({} records):", events.finess_changes());
    for (count, what) in [
        (
            events.care_activities_closed,
            "activity authorisations ended",
        ),
        (events.devices_removed, "heavy equipment units removed"),
        (events.devices_added, "heavy equipment units added"),
        (
            events.social_capacities_changed,
            "social equipment capacities changed",
        ),
        (
            events.legal_entity_addresses_changed,
            "legal entity addresses changed",
        ),
    ] {
        println!("  {count:>8} {what}");
    }
}
