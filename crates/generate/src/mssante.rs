//! MSSanté mailboxes: the `Extraction_Correspondance_MSSante` writer.
//!
//! Lines come from three sources, each consistent with the other generated files:
//! - `ORG` mailboxes of about 40 % of the FINESS establishments (1 to 3 services each), written first,
//!   from the in-memory directory;
//! - `PER` mailboxes of about 30 % of the persons, and `ORG` mailboxes of about 5 % of the cabinets
//!   they work in, written while the persons are generated;
//! - two deliberate orphans at the very end: a person absent from the RPPS file and an establishment
//!   absent from both registries.
//!
//! Unlike the PS_LibreAcces files, this file has no trailing `|`. Addresses are unique except for the
//! deliberate duplicates. Uniqueness is checked against a fixed-size Bloom filter ([`SeenFilter`]) so
//! that memory does not grow with the number of persons: a false positive only appends digits to an
//! address that was in fact free, which real homonym addresses look like anyway.
//!
//! Each person is handled in two steps so that later days (see the crate documentation) keep day 1's
//! draws: [`Mailboxes::plan`] makes every draw and filter insertion of the person as on day 1, then
//! [`Mailboxes::write`] writes what the person has on the day generated (nothing for a retired
//! person). Addresses created by events are unique by construction and never enter the filter, so
//! no other address depends on them.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use rand::Rng;
use rand::seq::IndexedRandom;

use super::finess::{Directory, department_index};
use super::geo;
use super::names;
use super::person::{PersonRecord, Registration, Site};
use super::random::{
    GenRng, Weighted, chance, derived_rng, domain, hash_str, mix, percent, pick, splitmix64,
};
use super::structure;
use super::tables::{
    CABINET_SERVICES, CARE_SERVICES, CATEGORIES, Code, DOCTOR, HOSPITAL_SERVICES,
    MAILBOX_DOMAIN_GENERIC, MAILBOX_DOMAINS, MEDECIN, MEDECIN_SPECIALTIES, MSSANTE_COLUMNS,
    MSSANTE_HEADER, MailService, OFFICINE_SERVICES, PLACE_NAMES, PROFESSIONS, SiteKind,
};

/// Share of persons with a personal mailbox (≈ 456 000 of 1.5 million in the real file).
const PERSONAL_SHARE: f64 = 0.304;
/// Share of personal mailboxes attached to no structure although the person has an activity.
const NO_STRUCTURE_PCT: u32 = 20;
/// Share of personal mailboxes hosted on their structure's domain rather than an operator domain.
const STRUCTURE_DOMAIN_PCT: u32 = 15;
/// Share of personal mailboxes on the generic `pro` domain (when not on the structure's domain).
const GENERIC_DOMAIN_PCT: u32 = 25;
/// Share of personal mailboxes in a (non-officine, `F…`) establishment that name a service.
const PERSONAL_SERVICE_PCT: u32 = 5;
/// Share of mailboxes with `Dématérialisation` = `O`.
const PAPERLESS_PCT: u32 = 70;
/// Share of FINESS establishments with organisational mailboxes, in percent.
const ESTABLISHMENT_PCT: u32 = 40;
/// Weights of 1, 2 and 3 organisational mailboxes per establishment (mean 1.13). At 1.5 million
/// persons (100 000 establishments, ≈ 800 000 cabinets) this gives ≈ 45 000 establishment and
/// ≈ 40 000 cabinet mailboxes: the real file's 80 000–90 000 `ORG` lines.
const SERVICE_COUNT_WEIGHTS: [u32; 3] = [90, 7, 3];
/// Share of cabinets (RPPS `C…` structures) with an organisational mailbox, in percent.
const CABINET_PCT: u64 = 5;
/// Share of lines written twice (exactly, or with the other `Dématérialisation` value): the real
/// file has ≈ 169 addresses on more than one of its ≈ 536 000 lines.
const DUPLICATE_SHARE: f64 = 0.0003;
/// Index of `Dématérialisation` in a line's fields.
const PAPERLESS_FIELD: usize = 17;
/// Fields before the 11 postal fields (`L2…` to `Pays`).
const HEAD_FIELDS: usize = 20;

/// The orphan person: an RPPS number whose Luhn key is wrong, so no generated person ever has it.
pub(crate) const ORPHAN_PERSON_ID: &str = "19999999999";
/// The orphan establishment: FINESS marker `95`, which no generated number (site `99`, legal entity
/// `98`, phantom `97`/`96`) uses.
pub(crate) const ORPHAN_FINESS: &str = "219500001";

/// Bits of the address filter (2^24 = 2 MiB). At national scale (≈ 540 000 addresses and domains)
/// about 0.05 % of new addresses are wrongly taken as seen.
const FILTER_BITS: u64 = 1 << 24;

/// A fixed-size Bloom filter of the addresses and domains written so far.
struct SeenFilter {
    words: Vec<u64>,
}

impl SeenFilter {
    fn new() -> Self {
        SeenFilter {
            words: vec![0; (FILTER_BITS / 64) as usize],
        }
    }

    /// Records `key`; true if it may have been recorded before (always true if it was).
    fn insert(&mut self, key: &str) -> bool {
        let h1 = hash_str(key);
        let h2 = splitmix64(h1) | 1;
        let mut seen = true;
        for i in 0..3u64 {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) % FILTER_BITS;
            let (word, mask) = ((bit / 64) as usize, 1u64 << (bit % 64));
            seen &= self.words[word] & mask != 0;
            self.words[word] |= mask;
        }
        seen
    }
}

/// Whether the cabinet with this structure id has an organisational mailbox: a stable flag, so the
/// RPPS generator only keeps the structures of the few cabinets concerned.
pub(crate) fn cabinet_has_mailbox(seed: u64, structure_id: &str) -> bool {
    mix(seed, domain::MAILBOX_CABINET_FLAG, hash_str(structure_id)) % 100 < CABINET_PCT
}

/// Mailbox address form of a name: lower-case ASCII, accents stripped, apostrophes removed, any other
/// character a single `-` (none at either end).
pub(crate) fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in geo::strip_accents(text).chars() {
        match ch.to_ascii_lowercase() {
            '\'' | '’' => {}
            c @ ('a'..='z' | '0'..='9') => out.push(c),
            _ if out.is_empty() || out.ends_with('-') => {}
            _ => out.push('-'),
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("structure");
    }
    out
}

/// How a line is repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    Once,
    /// The exact same line twice.
    Exact,
    /// The same mailbox again with the other `Dématérialisation` value.
    OtherPaperless,
}

/// The MSSanté writer.
pub(crate) struct Mailboxes {
    seed: u64,
    out: BufWriter<File>,
    /// Draws of personal mailboxes, person after person.
    rng: GenRng,
    seen: SeenFilter,
    /// Structure ids of the cabinets with a mailbox met so far (about 5 % of cabinets).
    cabinets_seen: BTreeSet<String>,
    /// Mailboxes of cabinets met but not written yet: drawn when their first person is planned,
    /// written by the first person present on the day who works there (the same person on day 1;
    /// on later days a retirement or move can leave a few waiting for a later colleague, or unused).
    cabinets_pending: BTreeMap<String, CabinetMailbox>,
    /// Personal mailboxes so far: the first is written twice, the second has a variant line.
    personal: u64,
    lines: u64,
    line: String,
}

impl Mailboxes {
    /// Creates the file and writes its header.
    pub(crate) fn create(seed: u64, path: &Path) -> io::Result<Self> {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        out.write_all(MSSANTE_HEADER.as_bytes())?;
        out.write_all(b"\n")?;
        Ok(Mailboxes {
            seed,
            out,
            rng: derived_rng(seed, domain::MAILBOX_PERSONS, 0),
            seen: SeenFilter::new(),
            cabinets_seen: BTreeSet::new(),
            cabinets_pending: BTreeMap::new(),
            personal: 0,
            lines: 0,
            line: String::with_capacity(512),
        })
    }

    /// Organisational mailboxes of the FINESS establishments (type `1`, id = `nofinesset`).
    pub(crate) fn establishments(&mut self, directory: &Directory) -> io::Result<()> {
        let mut rng = derived_rng(self.seed, domain::MAILBOX_ESTABLISHMENTS, 0);
        let counts = Weighted::new(SERVICE_COUNT_WEIGHTS);
        for (index, est) in directory.establishments.iter().enumerate() {
            if !percent(&mut rng, ESTABLISHMENT_PCT) {
                continue;
            }
            let count = counts.sample(&mut rng) + 1;
            let services: Vec<&MailService> = services_of(est.category.kind)
                .choose_multiple(&mut rng, count)
                .collect();
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            let site = Site::from_structure(&structure::establishment(self.seed, index, est));
            let domain = self.unique_domain(&slug(&est.short_name), &est.et);
            for service in services {
                let repeat = random_repeat(&mut rng);
                let paperless = percent(&mut rng, PAPERLESS_PCT);
                let address = format!("{}@{domain}.mssante.fr", service.local);
                self.seen.insert(&address);
                self.organisational(
                    &address,
                    ("1", &est.et),
                    service.label,
                    paperless,
                    &site,
                    repeat,
                )?;
            }
        }
        Ok(())
    }

    /// Draws the mailboxes of one person as on day 1: the organisational mailboxes of the cabinets
    /// they work in that have one and were not met yet (kept until [`Mailboxes::write`]), then, for
    /// about 30 % of persons, a personal mailbox.
    pub(crate) fn plan(&mut self, who: &PersonRecord<'_>) -> Option<PersonalPlan> {
        for site in who.cabinets {
            self.plan_cabinet(site);
        }
        let rng = &mut self.rng;
        if !chance(rng, PERSONAL_SHARE) {
            return None;
        }
        let registration = rng.random_range(0..who.professions.len());
        let site = who.site.filter(|_| !percent(rng, NO_STRUCTURE_PCT));
        let service = match site {
            Some(s) if s.id.starts_with('F') && percent(rng, PERSONAL_SERVICE_PCT) => {
                pick(rng, HOSPITAL_SERVICES).label
            }
            _ => "",
        };
        let paperless = percent(rng, PAPERLESS_PCT);
        let code = who.professions[registration].profession.code;
        let domain = personal_domain(rng, code, site);
        let repeat = match self.personal {
            0 => Repeat::Exact,
            1 => Repeat::OtherPaperless,
            _ => random_repeat(&mut self.rng),
        };
        self.personal += 1;
        let address = self.personal_address(who.given, who.family, &who.index.to_string(), &domain);
        Some(PersonalPlan {
            registration,
            attached: site.is_some(),
            service_site: site
                .filter(|_| !service.is_empty())
                .map_or_else(String::new, |s| s.id.clone()),
            service,
            paperless,
            repeat,
            address,
        })
    }

    /// Writes the mailboxes of a person present on the day generated: the pending mailboxes of the
    /// `cabinets` they work in (each with the site to write: their own for a solo cabinet, whose
    /// address may have moved; the one drawn with the mailbox otherwise), then the personal
    /// mailbox. `who` is the person as they are on the day (professions, first structure).
    pub(crate) fn write(
        &mut self,
        who: &PersonRecord<'_>,
        cabinets: &[(&Site, bool)],
        personal: Option<&PersonalPlan>,
    ) -> io::Result<()> {
        for &(site, own) in cabinets {
            if let Some(mailbox) = self.cabinets_pending.remove(&site.id) {
                let site = if own { site } else { &mailbox.site };
                self.organisational(
                    &mailbox.address,
                    ("3", &site.siret),
                    mailbox.label,
                    mailbox.paperless,
                    site,
                    Repeat::Once,
                )?;
            }
        }
        let Some(plan) = personal else {
            return Ok(());
        };
        let last = who.professions.len().saturating_sub(1);
        let registration = &who.professions[plan.registration.min(last)];
        let site = who.site.filter(|_| plan.attached);
        let service = match site {
            Some(s) if s.id == plan.service_site => plan.service,
            _ => "",
        };
        self.personal_line(
            &plan.address,
            who,
            registration,
            site,
            service,
            plan.paperless,
            plan.repeat,
        )
    }

    /// Writes the orphans and flushes; returns the number of data lines written.
    pub(crate) fn finish(mut self) -> io::Result<u64> {
        self.orphan_person()?;
        self.orphan_establishment()?;
        self.out.flush()?;
        Ok(self.lines)
    }

    /// Draws the organisational mailbox of a cabinet (type `3`, id = SIRET) the first time the
    /// cabinet is met.
    fn plan_cabinet(&mut self, site: &Site) {
        if !self.cabinets_seen.insert(site.id.clone()) {
            return;
        }
        let mut rng = derived_rng(self.seed, domain::MAILBOX_CABINET, hash_str(&site.id));
        let service = pick(&mut rng, CABINET_SERVICES);
        let paperless = percent(&mut rng, PAPERLESS_PCT);
        let siren = site.siret.get(..9).unwrap_or(&site.siret);
        let domain = self.unique_domain(&slug(&site.name), siren);
        let address = format!("{}@{domain}.mssante.fr", service.local);
        self.seen.insert(&address);
        let label = if percent(&mut rng, 50) {
            service.label
        } else {
            ""
        };
        self.cabinets_pending.insert(
            site.id.clone(),
            CabinetMailbox {
                address,
                label,
                paperless,
                site: site.clone(),
            },
        );
    }

    /// A person absent from the RPPS file (its national id is never generated).
    fn orphan_person(&mut self) -> io::Result<()> {
        let mut rng = derived_rng(self.seed, domain::MAILBOX_ORPHANS, 0);
        let female = percent(&mut rng, 50);
        let family = names::family_name(&mut rng);
        let given = names::first_name(&mut rng, female);
        let medecin = PROFESSIONS
            .iter()
            .find(|p| p.code == MEDECIN)
            .unwrap_or(&PROFESSIONS[0]);
        let registration = Registration {
            profession: medecin,
            savoir_faire: vec![&MEDECIN_SPECIALTIES[0]],
        };
        let who = PersonRecord {
            index: u64::MAX,
            id_type: "8",
            id: ORPHAN_PERSON_ID,
            title: Some(&DOCTOR),
            family: &family,
            given,
            category: &CATEGORIES[0].0,
            professions: std::slice::from_ref(&registration),
            site: None,
            cabinets: &[],
        };
        let address = self.personal_address(given, &family, ORPHAN_PERSON_ID, "medecin");
        self.personal_line(&address, &who, &registration, None, "", true, Repeat::Once)
    }

    /// An establishment absent from the FINESS and RPPS files (a FINESS number no file uses).
    fn orphan_establishment(&mut self) -> io::Result<()> {
        let mut rng = derived_rng(self.seed, domain::MAILBOX_ORPHANS, 1);
        let name = format!("CLINIQUE {}", pick(&mut rng, PLACE_NAMES));
        let address =
            geo::french_address(&mut rng, department_index("21"), geo::ESTABLISHMENT_PROFILE);
        let site = Site::new(
            &format!("F{ORPHAN_FINESS}"),
            ORPHAN_FINESS,
            "",
            &name,
            "",
            &address,
        );
        let domain = self.unique_domain(&slug(&name), ORPHAN_FINESS);
        let mailbox = format!("secretariat@{domain}.mssante.fr");
        self.seen.insert(&mailbox);
        self.organisational(
            &mailbox,
            ("1", ORPHAN_FINESS),
            "Secrétariat",
            false,
            &site,
            Repeat::Once,
        )
    }

    /// `prenom.nom@<domain>.mssante.fr`, with the person's `suffix` digits appended to the local
    /// part when the address may already exist (names never contain digits, so this is unique).
    fn personal_address(
        &mut self,
        given: &str,
        family: &str,
        suffix: &str,
        domain: &str,
    ) -> String {
        let local = format!("{}.{}", slug(given), slug(family));
        let address = format!("{local}@{domain}.mssante.fr");
        if !self.seen.insert(&address) {
            return address;
        }
        let address = format!("{local}{suffix}@{domain}.mssante.fr");
        self.seen.insert(&address);
        address
    }

    /// The domain of an organisation: its slug, or slug + `-` + its number when already taken, so
    /// that every organisation has its own domain and its service addresses are unique.
    fn unique_domain(&mut self, base: &str, number: &str) -> String {
        if !self.seen.insert(&format!("@{base}")) {
            return base.to_string();
        }
        let domain = format!("{base}-{number}");
        self.seen.insert(&format!("@{domain}"));
        domain
    }

    /// A `PER` line: the person's identifiers, civilité, names, category, profession and first
    /// savoir-faire, then the structure (if any) and its address.
    #[allow(clippy::too_many_arguments)]
    fn personal_line(
        &mut self,
        address: &str,
        who: &PersonRecord<'_>,
        registration: &Registration,
        site: Option<&Site>,
        service: &str,
        paperless: bool,
        repeat: Repeat,
    ) -> io::Result<()> {
        let national = format!("{}{}", who.id_type, who.id);
        let (structure_type, structure_id) = site.map_or(("", ""), Site::identification);
        let profession = registration.profession;
        let savoir_faire = registration.savoir_faire.first();
        let head: [&str; HEAD_FIELDS] = [
            "PER",
            address,
            who.id_type,
            who.id,
            &national,
            structure_type,
            structure_id,
            service,
            who.title.map_or("", |t: &Code| t.code),
            who.family,
            who.given,
            who.category.code,
            who.category.label,
            profession.code,
            profession.label,
            savoir_faire.map_or("", |s| s.code),
            savoir_faire.map_or("", |s| s.label),
            paperless_flag(paperless),
            site.map_or("", |s| &s.name),
            site.map_or("", |s| &s.brand),
        ];
        self.write_repeated(head, site, repeat)
    }

    /// An `ORG` line: no person columns; the structure identification, service and address.
    fn organisational(
        &mut self,
        address: &str,
        (structure_type, structure_id): (&str, &str),
        service: &str,
        paperless: bool,
        site: &Site,
        repeat: Repeat,
    ) -> io::Result<()> {
        let head: [&str; HEAD_FIELDS] = [
            "ORG",
            address,
            "",
            "",
            "",
            structure_type,
            structure_id,
            service,
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            paperless_flag(paperless),
            &site.name,
            &site.brand,
        ];
        self.write_repeated(head, Some(site), repeat)
    }

    /// Writes a line (31 fields, no trailing `|`), then its repetition if any.
    fn write_repeated(
        &mut self,
        mut head: [&str; HEAD_FIELDS],
        site: Option<&Site>,
        repeat: Repeat,
    ) -> io::Result<()> {
        let empty_postal = "|".repeat(MSSANTE_COLUMNS - HEAD_FIELDS - 1);
        let postal = site.map_or(empty_postal.as_str(), |s| s.postal.as_str());
        self.write_line(&head, postal)?;
        match repeat {
            Repeat::Once => Ok(()),
            Repeat::Exact => self.write_line(&head, postal),
            Repeat::OtherPaperless => {
                head[PAPERLESS_FIELD] = paperless_flag(head[PAPERLESS_FIELD] != "O");
                self.write_line(&head, postal)
            }
        }
    }

    fn write_line(&mut self, head: &[&str; HEAD_FIELDS], postal: &str) -> io::Result<()> {
        self.line.clear();
        for field in head {
            self.line.push_str(field);
            self.line.push('|');
        }
        self.line.push_str(postal);
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes())?;
        self.lines += 1;
        Ok(())
    }
}

/// The organisational mailbox of a cabinet, waiting for its first present person.
#[derive(Debug)]
struct CabinetMailbox {
    address: String,
    label: &'static str,
    paperless: bool,
    /// The cabinet as the person it was drawn with spells it.
    site: Site,
}

/// The personal mailbox of a person: drawn with them (day 1 or their arrival day), then opened,
/// closed or readdressed by the events of later days.
#[derive(Debug, Clone)]
pub(crate) struct PersonalPlan {
    /// Index of the registration (profession) the mailbox names.
    registration: usize,
    /// Whether the mailbox names the person's first structure (about 80 % do).
    attached: bool,
    /// The service of rattachement, valid while the first structure is `service_site`.
    service: &'static str,
    service_site: String,
    paperless: bool,
    repeat: Repeat,
    address: String,
}

impl PersonalPlan {
    /// A mailbox an event opens for person `index`: `prenom.nom<index>@<domain>.mssante.fr`. No
    /// other person's address ends its local part with this index (names have no digits), so it is
    /// unique without the address filter.
    pub(crate) fn opened(
        rng: &mut GenRng,
        index: u64,
        names: (&str, &str),
        professions: &[Registration],
        site: Option<&Site>,
    ) -> PersonalPlan {
        let registration = rng.random_range(0..professions.len());
        let attached = site.is_some() && !percent(rng, NO_STRUCTURE_PCT);
        let paperless = percent(rng, PAPERLESS_PCT);
        let code = professions[registration].profession.code;
        let domain = personal_domain(rng, code, site.filter(|_| attached));
        let (given, family) = names;
        PersonalPlan {
            registration,
            attached,
            service: "",
            service_site: String::new(),
            paperless,
            repeat: Repeat::Once,
            address: format!(
                "{}.{}{index}@{domain}.mssante.fr",
                slug(given),
                slug(family)
            ),
        }
    }

    /// A new address on `day`: `prenom.nom<index>` on another domain when one is drawn in a few
    /// tries, with `.<day>` appended to the local part if that is still the current address.
    pub(crate) fn readdress(
        &mut self,
        rng: &mut GenRng,
        (index, day): (u64, u32),
        names: (&str, &str),
        professions: &[Registration],
        site: Option<&Site>,
    ) {
        let last = professions.len().saturating_sub(1);
        let code = professions[self.registration.min(last)].profession.code;
        let site = site.filter(|_| self.attached);
        let current = self.address.split('@').nth(1).unwrap_or("").to_string();
        let mut domain = personal_domain(rng, code, site);
        for _ in 0..3 {
            if current != format!("{domain}.mssante.fr") {
                break;
            }
            domain = personal_domain(rng, code, site);
        }
        let (given, family) = names;
        let local = format!("{}.{}{index}", slug(given), slug(family));
        let mut address = format!("{local}@{domain}.mssante.fr");
        if address == self.address {
            address = format!("{local}.{day}@{domain}.mssante.fr");
        }
        self.address = address;
        self.repeat = Repeat::Once;
    }
}

/// `Dématérialisation` value.
fn paperless_flag(paperless: bool) -> &'static str {
    if paperless { "O" } else { "N" }
}

/// Natural repetitions, at the real file's low rate.
fn random_repeat(rng: &mut GenRng) -> Repeat {
    if !chance(rng, DUPLICATE_SHARE) {
        Repeat::Once
    } else if percent(rng, 50) {
        Repeat::Exact
    } else {
        Repeat::OtherPaperless
    }
}

/// Services an establishment of this kind names in its mailboxes.
fn services_of(kind: SiteKind) -> &'static [MailService] {
    match kind {
        SiteKind::Hospital => HOSPITAL_SERVICES,
        SiteKind::Pharmacy => OFFICINE_SERVICES,
        SiteKind::Care | SiteKind::MedicoSocial | SiteKind::Social => CARE_SERVICES,
    }
}

/// The domain of a personal mailbox: sometimes the structure's, else the operator sub-domain of
/// the profession, or the generic one.
fn personal_domain(rng: &mut GenRng, profession: &str, site: Option<&Site>) -> String {
    if let Some(site) = site
        && percent(rng, STRUCTURE_DOMAIN_PCT)
    {
        return slug(&site.name);
    }
    let own = MAILBOX_DOMAINS
        .iter()
        .find(|(code, _)| *code == profession)
        .map(|(_, domain)| *domain);
    match own {
        Some(domain) if !percent(rng, GENERIC_DOMAIN_PCT) => domain.to_string(),
        _ => MAILBOX_DOMAIN_GENERIC.to_string(),
    }
}

/// Sanity: the head fields plus the 11 postal fields make the 31 header columns.
const _: () = assert!(HEAD_FIELDS + 11 == MSSANTE_COLUMNS);
