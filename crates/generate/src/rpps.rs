//! Persons and their activity rows: the `PS_LibreAcces_Personne_activite` writer.
//!
//! Persons are generated one at a time and their rows handed to the [`Scatter`] queue, so memory does
//! not grow with the number of persons. A row is `person columns (1–13)` + `savoir-faire (14–17)` +
//! `activity (18–56)`; a person with two savoir-faire gets each activity row twice, once per
//! savoir-faire, exactly like the real extraction.
//!
//! Once its rows are generated, each person is also handed to the [`SideFiles`] writer (savoir-faire,
//! diplomas, MSSanté mailboxes) as a [`PersonRecord`]. Capturing what that record needs draws nothing
//! from the person stream, so the RPPS file does not depend on the side files.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use rand::Rng;

use super::finess::{Directory, department_index};
use super::mssante::{self, Site};
use super::names;
use super::random::{GenRng, Weighted, chance, derived_rng, domain, luhn_digit, percent, pick};
use super::scatter::Scatter;
use super::side::{PersonRecord, Registration, SideFiles};
use super::structure::{self, GroupCabinets, Practitioner, Structure};
use super::tables::{
    CATEGORIES, Code, DENTISTE, DENTISTE_SPECIALTIES, DEPARTMENTS, DOCTOR, DOUBLE_PROFESSIONS,
    GENRE_CARE, GENRE_MEDICO_ADMIN, GENRE_NON_CARE, GENRE_REPLACEMENT, MADAM, MEDECIN,
    MEDECIN_CAPACITIES, MEDECIN_SPECIALTIES, MISTER, MODE_BENEVOLE, MODE_LIBERAL, MODE_SALARIE,
    PHARMACIEN, PROFESSIONS, PROFESSOR, Profession, ROLE_ASSISTANT, ROLE_CABINET_OWNER,
    ROLE_COLLABORATOR, ROLE_DEPUTY, ROLE_HEAD, ROLE_OFFICINE_OWNER, ROLE_OFFICINE_SUBSTITUTE,
    ROLE_OTHER, ROLE_PARTNER, ROLE_SUBSTITUTE, RPPS_COLUMNS, RPPS_HEADER, SECTION_A, SECTION_D,
    SECTION_E, SECTION_G, SECTION_H, SECTOR_COMPANY, SECTOR_GROUP_CABINET, SECTOR_OFFICINE,
    SECTOR_SOLO_CABINET, SavoirFaire, SiteKind,
};

/// Number of activity/structure columns (18–56) — what a person without activity leaves empty.
const ACTIVITY_COLUMNS: usize = 39;

/// Share of ADELI-typed persons.
const ADELI_SHARE: f64 = 0.03;
/// Share of persons without any activity, in percent.
const NO_ACTIVITY_PCT: u32 = 5;
/// Share of persons registered with two professions.
const DOUBLE_PROFESSION_SHARE: f64 = 0.0005;
/// Share of rows written twice.
const DUPLICATE_ROW_SHARE: f64 = 0.005;
/// Share of establishment activities whose FINESS site is missing from the FINESS file.
const MISSING_FINESS_SHARE: f64 = 0.005;
/// Share of médecins with a second savoir-faire, in percent.
const SECOND_SAVOIR_FAIRE_PCT: u32 = 9;
/// Share of group-cabinet rows spelling the structure differently, in percent.
const CONFLICT_PCT: u32 = 3;
/// Weights of 1, 2, 3 and 4 activities (mean ≈ 1.44, giving ≈ 1.47 rows per person overall).
const ACTIVITY_COUNT_WEIGHTS: [u32; 4] = [69, 21, 7, 3];

/// Persons forced to show one quirk each, so every quirk exists even in a small file (the rest of the
/// file draws the same quirks at their natural rates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Showcase {
    None,
    /// ADELI person registered in this department (`2A`, `2B`).
    Adeli(&'static str),
    NoActivity,
    TwoProfessions,
    TwoSavoirFaire,
    Foreign,
    MissingFiness,
    DuplicateRow,
    Pharmacist,
    /// All rows at the very end of the file.
    AtEnd,
}

/// Person index → forced quirk (all below 100 so they exist from 100 persons on).
const SHOWCASES: &[(u64, Showcase)] = &[
    (3, Showcase::Adeli("2A")),
    (7, Showcase::NoActivity),
    (11, Showcase::TwoProfessions),
    (17, Showcase::TwoSavoirFaire),
    (23, Showcase::Foreign),
    (29, Showcase::MissingFiness),
    (31, Showcase::DuplicateRow),
    (37, Showcase::Pharmacist),
    (41, Showcase::AtEnd),
    (47, Showcase::Adeli("2B")),
    (53, Showcase::TwoSavoirFaire),
    (59, Showcase::Pharmacist),
    (61, Showcase::MissingFiness),
    (67, Showcase::TwoProfessions),
];

fn showcase(index: u64) -> Showcase {
    SHOWCASES
        .iter()
        .find(|(i, _)| *i == index)
        .map_or(Showcase::None, |(_, s)| *s)
}

/// Writes the RPPS file for `persons` persons, each person's side-file rows through `side`, and
/// returns the number of RPPS data rows.
pub(crate) fn write_file(
    seed: u64,
    persons: u64,
    directory: &Directory,
    path: &Path,
    side: &mut SideFiles,
) -> io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    out.write_all(RPPS_HEADER.as_bytes())?;
    out.write_all(b"|\n")?;
    let mut scatter = Scatter::new(out);
    let mut generator = Generator::new(seed, persons, directory);
    for index in 0..persons {
        generator.person(index, &mut scatter, side)?;
    }
    let (_, rows) = scatter.finish()?;
    Ok(rows)
}

/// Person-level values (columns 1–9 and the category), shared by all rows of the person.
struct Identity {
    /// Columns 1–9, each followed by `|`.
    columns: String,
    /// `Type d'identifiant PP` and `Identifiant PP` (columns 1–2).
    id_type: &'static str,
    id: String,
    /// Civilité d'exercice (columns 4–5).
    title: Option<&'static Code>,
    category: &'static Code,
    family: String,
    given: String,
    doctor: bool,
    adeli_id: Option<String>,
    adeli: bool,
    home: usize,
}

/// One activity of a person: columns 18–56, ready to append.
type ActivityColumns = String;

/// The kind of practice an activity takes place in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Practice {
    SoloCabinet,
    GroupCabinet,
    Establishment,
    Officine,
}

/// Samplers built once from the weight tables.
struct Samplers {
    professions: Weighted,
    adeli_professions: Weighted,
    departments: Weighted,
    categories: Weighted,
    medecin_specialties: Weighted,
    medecin_capacities: Weighted,
    dentist_specialties: Weighted,
    activity_counts: Weighted,
}

impl Samplers {
    fn new() -> Self {
        Samplers {
            professions: Weighted::new(PROFESSIONS.iter().map(|p| p.weight)),
            adeli_professions: Weighted::new(PROFESSIONS.iter().map(|p| p.adeli_weight)),
            departments: Weighted::new(DEPARTMENTS.iter().map(|d| d.weight)),
            categories: Weighted::new(CATEGORIES.iter().map(|(_, w)| *w)),
            medecin_specialties: Weighted::new(MEDECIN_SPECIALTIES.iter().map(|s| s.weight)),
            medecin_capacities: Weighted::new(MEDECIN_CAPACITIES.iter().map(|s| s.weight)),
            dentist_specialties: Weighted::new(DENTISTE_SPECIALTIES.iter().map(|s| s.weight)),
            activity_counts: Weighted::new(ACTIVITY_COUNT_WEIGHTS),
        }
    }
}

/// Sequential person generator.
struct Generator<'d> {
    seed: u64,
    rng: GenRng,
    directory: &'d Directory,
    samplers: Samplers,
    groups: GroupCabinets,
    adeli_counter: u64,
    solo_cabinet_counter: u64,
    phantom_counter: u64,
    empty_activity: String,
    rows: Vec<String>,
    /// The current person's professions and savoir-faire, for the side files.
    registrations: Vec<Registration>,
    /// The structure of the current person's first activity, for their mailbox.
    first_site: Option<Site>,
    /// The current person's cabinets that have an organisational mailbox.
    cabinet_sites: Vec<Site>,
}

impl<'d> Generator<'d> {
    fn new(seed: u64, persons: u64, directory: &'d Directory) -> Self {
        Generator {
            seed,
            rng: derived_rng(seed, domain::PERSONS, 0),
            directory,
            samplers: Samplers::new(),
            groups: GroupCabinets::new(seed, persons),
            adeli_counter: 0,
            solo_cabinet_counter: 0,
            phantom_counter: 0,
            empty_activity: "|".repeat(ACTIVITY_COLUMNS),
            rows: Vec::with_capacity(32),
            registrations: Vec::with_capacity(2),
            first_site: None,
            cabinet_sites: Vec::new(),
        }
    }

    /// Generates person `index`, hands its rows to the scatter queue and the person to the side files.
    fn person(
        &mut self,
        index: u64,
        scatter: &mut Scatter<impl Write>,
        side: &mut SideFiles,
    ) -> io::Result<()> {
        self.registrations.clear();
        self.first_site = None;
        self.cabinet_sites.clear();
        let show = showcase(index);
        let random = show == Showcase::None;
        let adeli =
            matches!(show, Showcase::Adeli(_)) || (random && chance(&mut self.rng, ADELI_SHARE));
        let double = show == Showcase::TwoProfessions
            || (random && !adeli && chance(&mut self.rng, DOUBLE_PROFESSION_SHARE));
        let pair = double.then(|| *pick(&mut self.rng, DOUBLE_PROFESSIONS));
        let profession = match (show, pair) {
            (_, Some((first, _))) => profession_by_code(first),
            (Showcase::TwoSavoirFaire, _) => profession_by_code(MEDECIN),
            (Showcase::Pharmacist, _) => profession_by_code(PHARMACIEN),
            _ if adeli => &PROFESSIONS[self.samplers.adeli_professions.sample(&mut self.rng)],
            _ => &PROFESSIONS[self.samplers.professions.sample(&mut self.rng)],
        };
        let home = match show {
            Showcase::Adeli(code) => department_index(code),
            _ => self.samplers.departments.sample(&mut self.rng),
        };
        let identity = self.identity(index, adeli, home, profession);
        let no_activity =
            show == Showcase::NoActivity || (random && percent(&mut self.rng, NO_ACTIVITY_PCT));
        self.profession_rows(&identity, profession, no_activity, show);
        if let Some((_, second)) = pair {
            self.profession_rows(&identity, profession_by_code(second), false, Showcase::None);
        }
        self.emit(scatter, show)?;
        side.person(&PersonRecord {
            index,
            id_type: identity.id_type,
            id: &identity.id,
            title: identity.title,
            family: &identity.family,
            given: &identity.given,
            category: identity.category,
            professions: &self.registrations,
            site: self.first_site.as_ref(),
            cabinets: &self.cabinet_sites,
        })
    }

    /// Identifiers, names and civilités of a person (columns 1–9).
    fn identity(
        &mut self,
        index: u64,
        adeli: bool,
        home: usize,
        profession: &Profession,
    ) -> Identity {
        let rng = &mut self.rng;
        let (id_type, id) = if adeli {
            let dept_prefix = &DEPARTMENTS[home].code[..2];
            self.adeli_counter += 1;
            (
                "0",
                format!("{dept_prefix}9{:06}", self.adeli_counter % 1_000_000),
            )
        } else {
            ("8", rpps_number(index))
        };
        let female = percent(rng, profession.female_pct);
        let doctor = percent(rng, profession.doctor_pct);
        let exercise_title = match () {
            _ if !doctor => None,
            _ if profession.code == MEDECIN && percent(rng, 2) => Some(&PROFESSOR),
            _ => Some(&DOCTOR),
        };
        let civility = (adeli || percent(rng, 12)).then_some(if female { &MADAM } else { &MISTER });
        let family = names::family_name(rng);
        let mut given = names::first_name(rng, female).to_string();
        if adeli && percent(rng, 40) {
            given = given.to_uppercase();
        }
        let category = &CATEGORIES[self.samplers.categories.sample(rng)].0;
        let mut columns = String::with_capacity(96);
        for field in [
            id_type,
            &id,
            &format!("{id_type}{id}"),
            exercise_title.map_or("", |t| t.code),
            exercise_title.map_or("", |t| t.label),
            civility.map_or("", |c| c.code),
            civility.map_or("", |c| c.label),
            &family,
            &given,
        ] {
            columns.push_str(field);
            columns.push('|');
        }
        Identity {
            columns,
            id_type,
            adeli_id: adeli.then(|| id.clone()),
            id,
            title: exercise_title,
            category,
            family,
            given,
            doctor,
            adeli,
            home,
        }
    }

    /// Appends to `self.rows` the rows of one profession of the person.
    fn profession_rows(
        &mut self,
        who: &Identity,
        profession: &'static Profession,
        no_activity: bool,
        show: Showcase,
    ) {
        let mut prefix = who.columns.clone();
        for field in [
            profession.code,
            profession.label,
            who.category.code,
            who.category.label,
        ] {
            prefix.push_str(field);
            prefix.push('|');
        }
        let drawn = self.savoir_faire(profession, show);
        let savoir_faire: Vec<String> = if drawn.is_empty() {
            vec!["||||".to_string()]
        } else {
            drawn
                .iter()
                .map(|s| format!("{}|{}|{}|{}|", s.kind.code, s.kind.label, s.code, s.label))
                .collect()
        };
        // A person without activity has a single row, carrying only the first savoir-faire: the
        // side files must know exactly the savoir-faire of the RPPS rows.
        let kept = if no_activity { 1 } else { drawn.len() };
        self.registrations.push(Registration {
            profession,
            savoir_faire: drawn.into_iter().take(kept).collect(),
        });
        if no_activity {
            self.rows.push(format!(
                "{prefix}{}{}\n",
                savoir_faire[0], self.empty_activity
            ));
            return;
        }
        let count = self.samplers.activity_counts.sample(&mut self.rng) + 1;
        let mut activities: Vec<ActivityColumns> = Vec::with_capacity(count);
        for k in 0..count {
            let forced = if k == 0 { show } else { Showcase::None };
            // Drawing the same site and role twice would create accidental duplicate rows; exact
            // duplicates are injected at a controlled rate in `emit` instead.
            let distinct = (0..3)
                .map(|_| self.activity(who, profession, forced))
                .find(|a| !activities.contains(a));
            activities.extend(distinct);
        }
        for activity in &activities {
            for sf in &savoir_faire {
                let mut row = String::with_capacity(prefix.len() + sf.len() + activity.len() + 1);
                row.push_str(&prefix);
                row.push_str(sf);
                row.push_str(activity);
                row.push('\n');
                self.rows.push(row);
            }
        }
    }

    /// The savoir-faire of a person for a profession: médecins nearly always have one (sometimes
    /// two), some dentists one, other professions none.
    fn savoir_faire(
        &mut self,
        profession: &Profession,
        show: Showcase,
    ) -> Vec<&'static SavoirFaire> {
        let rng = &mut self.rng;
        match profession.code {
            MEDECIN if show == Showcase::TwoSavoirFaire || percent(rng, 96) => {
                let first = &MEDECIN_SPECIALTIES[self.samplers.medecin_specialties.sample(rng)];
                if show != Showcase::TwoSavoirFaire && !percent(rng, SECOND_SAVOIR_FAIRE_PCT) {
                    return vec![first];
                }
                let second = if percent(rng, 60) {
                    let other = &MEDECIN_SPECIALTIES[self.samplers.medecin_specialties.sample(rng)];
                    if other.code == first.code {
                        &MEDECIN_SPECIALTIES[0]
                    } else {
                        other
                    }
                } else {
                    &MEDECIN_CAPACITIES[self.samplers.medecin_capacities.sample(rng)]
                };
                if second.code == first.code {
                    vec![first, &MEDECIN_SPECIALTIES[1]]
                } else {
                    vec![first, second]
                }
            }
            DENTISTE if percent(rng, 12) => {
                vec![&DENTISTE_SPECIALTIES[self.samplers.dentist_specialties.sample(rng)]]
            }
            _ => Vec::new(),
        }
    }

    /// One activity (columns 18–56).
    fn activity(
        &mut self,
        who: &Identity,
        profession: &'static Profession,
        show: Showcase,
    ) -> ActivityColumns {
        let practice = match show {
            Showcase::Foreign => Practice::SoloCabinet,
            Showcase::MissingFiness => Practice::Establishment,
            _ => self.practice(profession),
        };
        let authority = self.authority(who, profession);
        let mut columns = String::with_capacity(400);
        match practice {
            Practice::SoloCabinet | Practice::GroupCabinet => {
                self.cabinet_activity(who, profession, practice, show, &authority, &mut columns)
            }
            Practice::Officine => self.officine_activity(who, &authority, &mut columns),
            Practice::Establishment => {
                self.establishment_activity(who, profession, show, &authority, &mut columns)
            }
        }
        columns
    }

    /// Keeps the structure of the person's first activity (the first activity drawn is always kept:
    /// only later draws can be discarded as duplicates).
    fn note_site(&mut self, structure: &Structure<'_>) {
        if self.first_site.is_none() {
            self.first_site = Some(Site::from_structure(structure));
        }
    }

    /// Where an activity of this profession takes place.
    fn practice(&mut self, profession: &Profession) -> Practice {
        let rng = &mut self.rng;
        if profession.code == PHARMACIEN {
            return if percent(rng, 80) {
                Practice::Officine
            } else {
                Practice::Establishment
            };
        }
        if !percent(rng, profession.cabinet_pct) {
            return Practice::Establishment;
        }
        if percent(rng, 38) {
            Practice::GroupCabinet
        } else {
            Practice::SoloCabinet
        }
    }

    /// A libéral activity in a solo or group cabinet.
    fn cabinet_activity(
        &mut self,
        who: &Identity,
        profession: &'static Profession,
        practice: Practice,
        show: Showcase,
        authority: &str,
        columns: &mut String,
    ) {
        let (structure, sector, role) = if practice == Practice::GroupCabinet {
            let number = self.groups.pick(&mut self.rng, who.home);
            let shared = self.groups.structure(number);
            let structure = if percent(&mut self.rng, CONFLICT_PCT) {
                shared.conflicting_variant(&mut self.rng)
            } else {
                shared
            };
            let role = match self.rng.random_range(0..100) {
                0..=74 => &ROLE_CABINET_OWNER,
                75..=89 => &ROLE_PARTNER,
                _ => &ROLE_COLLABORATOR,
            };
            (structure, &SECTOR_GROUP_CABINET, role)
        } else {
            let dept = if percent(&mut self.rng, 90) {
                who.home
            } else {
                self.samplers.departments.sample(&mut self.rng)
            };
            self.solo_cabinet_counter += 1;
            let practitioner = Practitioner {
                family: &who.family,
                given: &who.given,
                doctor: who.doctor,
                profession_code: profession.code,
                adeli_id: who.adeli_id.as_deref(),
            };
            let number = self.solo_cabinet_counter % 8_000_000;
            let structure = structure::solo_cabinet(
                &mut self.rng,
                number,
                dept,
                show == Showcase::Foreign,
                &practitioner,
            );
            let (sector, role) = if percent(&mut self.rng, 8) {
                (&SECTOR_COMPANY, &ROLE_PARTNER)
            } else {
                (&SECTOR_SOLO_CABINET, &ROLE_CABINET_OWNER)
            };
            (structure, sector, role)
        };
        self.note_site(&structure);
        if mssante::cabinet_has_mailbox(self.seed, &structure.id) {
            self.cabinet_sites.push(Site::from_structure(&structure));
        }
        let (role, genre) = if percent(&mut self.rng, 3) {
            (&ROLE_SUBSTITUTE, &GENRE_REPLACEMENT)
        } else {
            (role, &GENRE_CARE)
        };
        push_activity(
            columns,
            &MODE_LIBERAL,
            &structure,
            authority,
            sector,
            None,
            role,
            genre,
        );
    }

    /// A pharmacist's activity in an officine of the FINESS file.
    fn officine_activity(&mut self, who: &Identity, authority: &str, columns: &mut String) {
        let directory = self.directory;
        let Some(index) = directory.pharmacies.pick(&mut self.rng, who.home) else {
            return self.establishment_activity(
                who,
                profession_by_code(PHARMACIEN),
                Showcase::None,
                authority,
                columns,
            );
        };
        let est = &directory.establishments[index as usize];
        let overseas = est.address.department().is_some_and(|d| d.code.len() == 3);
        let (mode, role, section) = match self.rng.random_range(0..100) {
            0..=39 => (&MODE_LIBERAL, &ROLE_OFFICINE_OWNER, &SECTION_A),
            40..=94 => (&MODE_SALARIE, &ROLE_DEPUTY, &SECTION_D),
            _ => (&MODE_LIBERAL, &ROLE_OFFICINE_SUBSTITUTE, &SECTION_D),
        };
        let section = if overseas { &SECTION_E } else { section };
        let structure = structure::establishment(self.seed, index, est);
        self.note_site(&structure);
        push_activity(
            columns,
            mode,
            &structure,
            authority,
            &SECTOR_OFFICINE,
            Some(section),
            role,
            &GENRE_CARE,
        );
    }

    /// A salaried activity in a hospital or another care establishment (rarely one missing from FINESS).
    fn establishment_activity(
        &mut self,
        who: &Identity,
        profession: &Profession,
        show: Showcase,
        authority: &str,
        columns: &mut String,
    ) {
        let directory = self.directory;
        let missing =
            show == Showcase::MissingFiness || chance(&mut self.rng, MISSING_FINESS_SHARE);
        let site = if percent(&mut self.rng, 75) {
            directory
                .hospitals
                .pick(&mut self.rng, who.home)
                .or_else(|| directory.care.pick(&mut self.rng, who.home))
        } else {
            directory
                .care
                .pick(&mut self.rng, who.home)
                .or_else(|| directory.hospitals.pick(&mut self.rng, who.home))
        };
        let (structure, sector, kind) = match site {
            Some(index) if !missing => {
                let est = &directory.establishments[index as usize];
                (
                    structure::establishment(self.seed, index, est),
                    est.category.sector,
                    est.category.kind,
                )
            }
            _ => {
                self.phantom_counter += 1;
                let structure =
                    structure::phantom_establishment(self.seed, self.phantom_counter, who.home);
                (
                    structure,
                    &super::tables::SECTOR_PRIVATE_HOSPITAL,
                    SiteKind::Hospital,
                )
            }
        };
        let section = (profession.code == PHARMACIEN).then(|| {
            if percent(&mut self.rng, 80) {
                &SECTION_H
            } else {
                &SECTION_G
            }
        });
        self.note_site(&structure);
        let (mode, role, genre) = self.salaried_role(kind);
        push_activity(
            columns, mode, &structure, authority, sector, section, role, genre,
        );
    }

    /// Mode, rôle and genre of an activity in an establishment.
    fn salaried_role(&mut self, kind: SiteKind) -> (&'static Code, &'static Code, &'static Code) {
        let rng = &mut self.rng;
        let mode = match rng.random_range(0..100) {
            0 => &MODE_BENEVOLE,
            1..=4 => &MODE_LIBERAL,
            _ => &MODE_SALARIE,
        };
        let (role, genre) = match rng.random_range(0..100) {
            0..=44 => (&ROLE_DEPUTY, &GENRE_CARE),
            45..=79 => (&ROLE_OTHER, &GENRE_CARE),
            80..=87 => (&ROLE_ASSISTANT, &GENRE_CARE),
            88..=94 => (&ROLE_SUBSTITUTE, &GENRE_REPLACEMENT),
            95..=96 => (&ROLE_HEAD, &GENRE_MEDICO_ADMIN),
            _ => (&ROLE_OTHER, &GENRE_NON_CARE),
        };
        let genre = if kind == SiteKind::MedicoSocial && percent(rng, 5) {
            &GENRE_MEDICO_ADMIN
        } else {
            genre
        };
        (mode, role, genre)
    }

    /// `Autorité d'enregistrement`: three registrants (person/activity/structure).
    fn authority(&mut self, who: &Identity, profession: &Profession) -> String {
        let rng = &mut self.rng;
        let ordre = profession.ordre;
        if who.adeli {
            return if percent(rng, 60) {
                "ARS/CPAM/CPAM"
            } else {
                "ARS/ARS/ARS"
            }
            .to_string();
        }
        if ordre == "ARS" || percent(rng, 85) {
            format!("{ordre}/{ordre}/{ordre}")
        } else {
            format!("ARS/{ordre}/{ordre}")
        }
    }

    /// Writes the person's rows: the first now, the others scattered (mostly thousands of rows later,
    /// a few at the very end), some of them twice.
    fn emit(&mut self, scatter: &mut Scatter<impl Write>, show: Showcase) -> io::Result<()> {
        let mut rows = std::mem::take(&mut self.rows);
        for (k, row) in rows.drain(..).enumerate() {
            let duplicate = (show == Showcase::DuplicateRow && k == 0)
                || chance(&mut self.rng, DUPLICATE_ROW_SHARE);
            let copy = duplicate.then(|| row.clone());
            if k == 0 && show != Showcase::AtEnd {
                scatter.write_now(&row)?;
            } else {
                self.place(scatter, row, show == Showcase::AtEnd);
            }
            if let Some(copy) = copy {
                if percent(&mut self.rng, 50) {
                    scatter.write_now(&copy)?;
                } else {
                    let delay = self.rng.random_range(1..20_000);
                    scatter.defer(copy, delay);
                }
            }
        }
        self.rows = rows;
        Ok(())
    }

    /// Defers a row: a few rows later, thousands of rows later, or to the end of the file.
    fn place(&mut self, scatter: &mut Scatter<impl Write>, row: String, at_end: bool) {
        let roll = self.rng.random_range(0..1000);
        if at_end || roll < 3 {
            scatter.defer_to_end(row);
            return;
        }
        let delay = match roll {
            3..=52 => self.rng.random_range(1..50),
            53..=759 => self.rng.random_range(50..5_000),
            _ => self.rng.random_range(5_000..60_000),
        };
        scatter.defer(row, delay);
    }
}

/// Appends columns 18–56 of an activity.
#[allow(clippy::too_many_arguments)]
fn push_activity(
    columns: &mut String,
    mode: &Code,
    structure: &Structure<'_>,
    authority: &str,
    sector: &Code,
    section: Option<&Code>,
    role: &Code,
    genre: &Code,
) {
    for field in [mode.code, mode.label] {
        columns.push_str(field);
        columns.push('|');
    }
    structure.push_fields(columns);
    let (section_code, section_label) = section.map_or(("", ""), |s| (s.code, s.label));
    for field in [
        authority,
        sector.code,
        sector.label,
        section_code,
        section_label,
        role.code,
        role.label,
        genre.code,
        genre.label,
    ] {
        columns.push_str(field);
        columns.push('|');
    }
}

/// The profession with this TRE_G15 code (only called with codes of `PROFESSIONS`).
fn profession_by_code(code: &str) -> &'static Profession {
    PROFESSIONS
        .iter()
        .find(|p| p.code == code)
        .unwrap_or(&PROFESSIONS[0])
}

/// The 11-digit RPPS number of person `index`: `199` + 7 digits + Luhn key, in a range that real
/// numbers (which start `100`/`101`) do not use.
pub(crate) fn rpps_number(index: u64) -> String {
    let body = format!("19{:08}", (90_000_000 + index) % 100_000_000);
    let key = luhn_digit(&body);
    format!("{body}{key}")
}

/// Sanity: columns 1–13 + 14–17 + 18–56 make the 56 header columns.
const _: () = assert!(13 + 4 + ACTIVITY_COLUMNS == RPPS_COLUMNS);
