//! The files written beside the RPPS file, person by person: `PS_LibreAcces_SavoirFaire`,
//! `PS_LibreAcces_Dipl_AutExerc` and (through [`Mailboxes`]) `Extraction_Correspondance_MSSante`.
//!
//! The RPPS generator hands each person over as a [`PersonRecord`] once its rows are generated; the
//! rows of these files are written at once through `BufWriter`s, so memory does not grow with the
//! number of persons. Every draw comes from streams of their own domains (see [`domain`]): the RPPS
//! and FINESS files are byte-identical to what the generator writes without these files.
//!
//! A person goes through two steps so that later days (see the crate documentation) keep day 1's
//! draws: [`SideFiles::plan`] makes all the person's draws as on day 1 (whether or not the person is
//! still there on the day generated) into a [`SidePlan`], which the events of later days may change;
//! [`SideFiles::write`] then writes the person as they are on the day generated.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use rand::seq::IndexedRandom;

use super::finess::Directory;
use super::mssante::{Mailboxes, PersonalPlan};
use super::person::{PersonRecord, Registration, Site};
use super::random::{GenRng, chance, derived_rng, domain, percent, pick};
use super::tables::{
    AUTHORISATION_AEX, Code, DENTISTE, DENTISTE_CES, DIPLOMA_CES, DIPLOMA_DE, DIPLOMA_DES,
    DIPLOMA_HEADER, MEDECIN, MEDECIN_CAPACITIES, MEDECIN_CES, MEDECIN_DES, MEDECIN_DISCIPLINES,
    PROFESSION_DISCIPLINES, SAVOIR_FAIRE_HEADER, STATE_DIPLOMAS, SavoirFaire,
};

/// Share of médecins with one more savoir-faire (a capacité) found only in the savoir-faire file.
const EXTRA_CAPACITY_SHARE: f64 = 0.03;
/// Share of savoir-faire rows written twice.
const DUPLICATE_SAVOIR_FAIRE_SHARE: f64 = 0.002;
/// Share of médecins and dentists with a CES, in percent (≈ 1 % of all persons).
const CES_PCT: u32 = 3;
/// Share of persons with an exercise authorisation.
const AUTHORISATION_SHARE: f64 = 0.02;
/// The person given an exercise authorisation whatever the draw, so a small file has one.
const AUTHORISATION_PERSON: u64 = 1;

/// The side-file draws of one profession of a person.
#[derive(Debug, Clone)]
pub(crate) struct RegistrationPlan {
    /// A capacité found only in the savoir-faire file.
    extra: Option<&'static SavoirFaire>,
    /// Codes of the savoir-faire whose row is written twice.
    duplicated: Vec<&'static str>,
    /// A CES.
    ces: Option<&'static Code>,
}

impl RegistrationPlan {
    /// The draws for a profession a person takes on a later day (no duplicate row).
    pub(crate) fn for_new_profession(
        rng: &mut GenRng,
        registration: &Registration,
    ) -> RegistrationPlan {
        let code = registration.profession.code;
        let extra = (code == MEDECIN && chance(rng, EXTRA_CAPACITY_SHARE))
            .then(|| extra_capacity(rng, &registration.savoir_faire));
        let ces = ces_table(code)
            .filter(|_| percent(rng, CES_PCT))
            .map(|table| pick(rng, table));
        RegistrationPlan {
            extra,
            duplicated: Vec::new(),
            ces,
        }
    }
}

/// Everything drawn for a person's side-file lines, as changed by the events of later days.
#[derive(Debug, Clone)]
pub(crate) struct SidePlan {
    /// One per registration of the person, in the same order.
    pub registrations: Vec<RegistrationPlan>,
    /// An exercise authorisation: discipline code and label.
    pub authorisation: Option<(String, &'static str)>,
    /// The personal MSSanté mailbox.
    pub mailbox: Option<PersonalPlan>,
}

/// Data rows written in each side file (duplicates included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SideCounts {
    pub savoir_faire_rows: u64,
    pub diploma_rows: u64,
    pub mailboxes: u64,
}

/// The three side-file writers.
pub(crate) struct SideFiles {
    savoir_faire: BufWriter<File>,
    diplomas: BufWriter<File>,
    mailboxes: Mailboxes,
    savoir_faire_rng: GenRng,
    diploma_rng: GenRng,
    /// Médecins seen so far: the first one gets the extra capacité and a CES whatever the draws.
    medecins: u64,
    /// Savoir-faire rows drawn so far (written or not): the first is written twice.
    savoir_faire_drawn: u64,
    counts: SideCounts,
    line: String,
}

impl SideFiles {
    /// Creates the three files and writes their headers.
    pub(crate) fn create(
        seed: u64,
        savoir_faire: &Path,
        diplomas: &Path,
        mailboxes: &Path,
    ) -> io::Result<Self> {
        Ok(SideFiles {
            savoir_faire: with_header(savoir_faire, SAVOIR_FAIRE_HEADER)?,
            diplomas: with_header(diplomas, DIPLOMA_HEADER)?,
            mailboxes: Mailboxes::create(seed, mailboxes)?,
            savoir_faire_rng: derived_rng(seed, domain::SAVOIR_FAIRE_FILE, 0),
            diploma_rng: derived_rng(seed, domain::DIPLOMA_FILE, 0),
            medecins: 0,
            savoir_faire_drawn: 0,
            counts: SideCounts {
                savoir_faire_rows: 0,
                diploma_rows: 0,
                mailboxes: 0,
            },
            line: String::with_capacity(256),
        })
    }

    /// Organisational mailboxes of the FINESS establishments.
    pub(crate) fn establishments(&mut self, directory: &Directory) -> io::Result<()> {
        self.mailboxes.establishments(directory)
    }

    /// Makes all the draws of one person (as generated on day 1 or their arrival day), in the
    /// order day 1 makes them.
    pub(crate) fn plan(&mut self, who: &PersonRecord<'_>) -> SidePlan {
        let medecin = who.professions.iter().any(|r| r.profession.code == MEDECIN);
        if medecin {
            self.medecins += 1;
        }
        let first_medecin = medecin && self.medecins == 1;
        let registrations = who
            .professions
            .iter()
            .map(|registration| self.plan_registration(registration, first_medecin))
            .collect();
        let authorisation = self.plan_authorisation(who);
        let mailbox = self.mailboxes.plan(who);
        SidePlan {
            registrations,
            authorisation,
            mailbox,
        }
    }

    /// Writes the rows of one person present on the day generated in the three files. `who` is the
    /// person as they are that day; `cabinets` are the cabinets with a mailbox they still work in
    /// (see [`Mailboxes::write`]).
    pub(crate) fn write(
        &mut self,
        who: &PersonRecord<'_>,
        plan: &SidePlan,
        cabinets: &[(&Site, bool)],
    ) -> io::Result<()> {
        let prefix = format!(
            "{t}|{id}|{t}{id}|{}|{}|",
            who.family,
            who.given,
            t = who.id_type,
            id = who.id
        );
        for (registration, drawn) in who.professions.iter().zip(&plan.registrations) {
            self.savoir_faire_rows(&prefix, who.category, registration, drawn)?;
            self.diploma_rows(&prefix, registration, drawn)?;
        }
        if let Some((discipline, label)) = &plan.authorisation {
            self.write_diploma_line(
                &prefix,
                &[
                    "",
                    "",
                    "",
                    "",
                    AUTHORISATION_AEX.code,
                    AUTHORISATION_AEX.label,
                    discipline,
                    label,
                ],
            )?;
        }
        self.mailboxes.write(who, cabinets, plan.mailbox.as_ref())
    }

    /// Flushes the files (after the mailbox orphans) and returns the row counts.
    pub(crate) fn finish(mut self) -> io::Result<SideCounts> {
        self.savoir_faire.flush()?;
        self.diplomas.flush()?;
        self.counts.mailboxes = self.mailboxes.finish()?;
        Ok(self.counts)
    }

    /// The draws of one profession: sometimes a capacité of a médecin that only the savoir-faire
    /// file knows (the two extractions are not fully consistent in the real data either), rows
    /// written twice, sometimes a CES.
    fn plan_registration(
        &mut self,
        registration: &Registration,
        first_medecin: bool,
    ) -> RegistrationPlan {
        let rng = &mut self.savoir_faire_rng;
        let code = registration.profession.code;
        let extra = (code == MEDECIN && (chance(rng, EXTRA_CAPACITY_SHARE) || first_medecin))
            .then(|| extra_capacity(rng, &registration.savoir_faire));
        let mut duplicated = Vec::new();
        for sf in registration.savoir_faire.iter().copied().chain(extra) {
            // The very first row of the file is written twice whatever the draw.
            if chance(&mut self.savoir_faire_rng, DUPLICATE_SAVOIR_FAIRE_SHARE)
                || self.savoir_faire_drawn == 0
            {
                duplicated.push(sf.code);
            }
            self.savoir_faire_drawn += 1;
        }
        let ces = ces_table(code).and_then(|table| {
            let rng = &mut self.diploma_rng;
            (percent(rng, CES_PCT) || (first_medecin && code == MEDECIN)).then(|| pick(rng, table))
        });
        RegistrationPlan {
            extra,
            duplicated,
            ces,
        }
    }

    /// About 2 % of persons also hold an exercise authorisation (diploma columns empty), in a
    /// discipline of their first profession.
    fn plan_authorisation(&mut self, who: &PersonRecord<'_>) -> Option<(String, &'static str)> {
        let rng = &mut self.diploma_rng;
        if !chance(rng, AUTHORISATION_SHARE) && who.index != AUTHORISATION_PERSON {
            return None;
        }
        Some(authorisation_discipline(
            rng,
            who.professions[0].profession.code,
        ))
    }

    /// One row per savoir-faire of the RPPS rows, plus the capacité found only here.
    fn savoir_faire_rows(
        &mut self,
        prefix: &str,
        category: &Code,
        registration: &Registration,
        drawn: &RegistrationPlan,
    ) -> io::Result<()> {
        let profession = registration.profession;
        for sf in registration.savoir_faire.iter().copied().chain(drawn.extra) {
            let fields = [
                profession.code,
                profession.label,
                category.code,
                category.label,
                sf.kind.code,
                sf.kind.label,
                sf.code,
                sf.label,
            ];
            fill_row(&mut self.line, prefix, &fields);
            let times = if drawn.duplicated.contains(&sf.code) {
                2
            } else {
                1
            };
            for _ in 0..times {
                self.savoir_faire.write_all(self.line.as_bytes())?;
                self.counts.savoir_faire_rows += 1;
            }
        }
        Ok(())
    }

    /// The state diploma of the profession; for médecins a DES per specialty; sometimes a CES.
    fn diploma_rows(
        &mut self,
        prefix: &str,
        registration: &Registration,
        drawn: &RegistrationPlan,
    ) -> io::Result<()> {
        let code = registration.profession.code;
        if let Some(de) = state_diploma(code) {
            self.diploma_row(prefix, &DIPLOMA_DE, de)?;
        }
        if code == MEDECIN {
            let mut written: Vec<&str> = Vec::with_capacity(2);
            for des in registration
                .savoir_faire
                .iter()
                .filter_map(|sf| specialty_diploma(sf.code))
            {
                // SM54/SM53/SM26 share one DES: write it once.
                if !written.contains(&des.code) {
                    written.push(des.code);
                    self.diploma_row(prefix, &DIPLOMA_DES, des)?;
                }
            }
        }
        if let Some(ces) = drawn.ces {
            self.diploma_row(prefix, &DIPLOMA_CES, ces)?;
        }
        Ok(())
    }

    /// A diploma row: type and diploma filled, authorisation columns empty.
    fn diploma_row(&mut self, prefix: &str, kind: &Code, diploma: &Code) -> io::Result<()> {
        let fields = [
            kind.code,
            kind.label,
            diploma.code,
            diploma.label,
            "",
            "",
            "",
            "",
        ];
        self.write_diploma_line(prefix, &fields)
    }

    fn write_diploma_line(&mut self, prefix: &str, fields: &[&str]) -> io::Result<()> {
        fill_row(&mut self.line, prefix, fields);
        self.diplomas.write_all(self.line.as_bytes())?;
        self.counts.diploma_rows += 1;
        Ok(())
    }
}

/// `line` becomes `prefix`, then each field followed by `|` (the PS_LibreAcces trailing
/// separator included), then the line end.
fn fill_row(line: &mut String, prefix: &str, fields: &[&str]) {
    line.clear();
    line.push_str(prefix);
    for field in fields {
        line.push_str(field);
        line.push('|');
    }
    line.push('\n');
}

/// Creates a file and writes its header line with the trailing `|` of the PS_LibreAcces files.
fn with_header(path: &Path, header: &str) -> io::Result<BufWriter<File>> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    out.write_all(header.as_bytes())?;
    out.write_all(b"|\n")?;
    Ok(out)
}

/// A capacité the médecin does not already have (they have at most two savoir-faire, and there are
/// more capacités than that).
fn extra_capacity(rng: &mut GenRng, existing: &[&SavoirFaire]) -> &'static SavoirFaire {
    let candidates: Vec<&'static SavoirFaire> = MEDECIN_CAPACITIES
        .iter()
        .filter(|c| !existing.iter().any(|e| e.code == c.code))
        .collect();
    candidates
        .choose(rng)
        .copied()
        .unwrap_or(&MEDECIN_CAPACITIES[0])
}

/// The CES table of a profession, if it has one.
fn ces_table(profession: &str) -> Option<&'static [Code]> {
    match profession {
        MEDECIN => Some(MEDECIN_CES),
        DENTISTE => Some(DENTISTE_CES),
        _ => None,
    }
}

/// The discipline of an exercise authorisation in a profession: drawn for médecins, the
/// profession's own otherwise.
pub(crate) fn authorisation_discipline(rng: &mut GenRng, code: &str) -> (String, &'static str) {
    if code == MEDECIN {
        let d = pick(rng, MEDECIN_DISCIPLINES);
        (d.code.to_string(), d.label)
    } else {
        let label = PROFESSION_DISCIPLINES
            .iter()
            .find(|(c, _)| *c == code)
            .map_or("Autre discipline", |(_, l)| *l);
        (format!("D{code}"), label)
    }
}

/// The `DEnn` diploma of a profession.
pub(crate) fn state_diploma(profession: &str) -> Option<&'static Code> {
    STATE_DIPLOMAS
        .iter()
        .find(|(code, _)| *code == profession)
        .map(|(_, de)| de)
}

/// The DES of a médecin specialty savoir-faire (`None` for capacités).
fn specialty_diploma(savoir_faire: &str) -> Option<&'static Code> {
    MEDECIN_DES
        .iter()
        .find(|(code, _)| *code == savoir_faire)
        .map(|(_, des)| des)
}
