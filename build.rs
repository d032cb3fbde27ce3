//! Writes the demo dataset that the server binary embeds (`annuaire serve --demo`): the nine
//! extraction files of `annuaire_generate::DEMO` (RPPS, the five FINESS extractions, MSSanté,
//! savoir-faire, diplomas), generated here at build time so that the
//! generator's code stays out of the server binary while its output ships inside it.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let demo_dir = out_dir.join("demo");
    let files =
        annuaire_generate::generate(&annuaire_generate::DEMO, &demo_dir).unwrap_or_else(|e| {
            panic!(
                "cannot write the demo files into {}: {e}",
                demo_dir.display()
            )
        });
    let mut source = String::from(
        "/// The demo extraction files: file name, bytes.\npub const FILES: &[(&str, &[u8])] = &[\n",
    );
    for path in &files.all() {
        let name = path.file_name().expect("a file name").to_string_lossy();
        writeln!(
            source,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    source.push_str("];\n");
    writeln!(
        source,
        "/// The extraction date of the demo files (`YYYY-MM-DD`).\npub const EXTRACTION_DATE: &str = {:?};",
        annuaire_generate::EXTRACTION_DATE
    )
    .expect("writing to a String");
    writeln!(
        source,
        "/// Persons in the demo dataset.\npub const PERSONS: u64 = {};",
        annuaire_generate::DEMO.persons
    )
    .expect("writing to a String");
    std::fs::write(out_dir.join("demo_files.rs"), source).expect("write demo_files.rs");
}
