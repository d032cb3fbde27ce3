//! The optional files that complete the RPPS persons: savoir-faire, diplomas and MSSanté
//! mailboxes.
//!
//! Their lines are keyed by person (`Identification nationale PP`) like the RPPS rows, so pass 1
//! spills them into "extras" buckets numbered like the person buckets: bucket `i` of both holds
//! the same persons, and the mapping of a person bucket reads its extras bucket beside it. Each
//! spilled line starts with a tag (`S`, `D`, `M`) naming its file. Organisational mailboxes
//! (no person) are few (~85 000 nationally) and stay in memory, indexed by structure reference,
//! until the Organizations are built.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use fhir_json::Organization;

use super::error::ImportError;
use super::input::{LineStats, PipeInput};
use super::options::ExtraFiles;
use super::report::RejectReport;
use super::spill;
use crate::extract::mssante::{Mailbox, MailboxFile};
use crate::extract::qualifications::{DiplomaFile, SavoirFaireFile};
use crate::mapping::labels::Labels;
use crate::mapping::mailbox;
use crate::mapping::practitioner::PersonExtras;

/// Which optional file a spilled line comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    SavoirFaire,
    Diploma,
    Mailbox,
}

impl Tag {
    fn letter(self) -> char {
        match self {
            Tag::SavoirFaire => 'S',
            Tag::Diploma => 'D',
            Tag::Mailbox => 'M',
        }
    }

    fn from_letter(letter: &str) -> Option<Tag> {
        match letter {
            "S" => Some(Tag::SavoirFaire),
            "D" => Some(Tag::Diploma),
            "M" => Some(Tag::Mailbox),
            _ => None,
        }
    }

    /// What a line of this file is, for messages.
    fn noun(self) -> &'static str {
        match self {
            Tag::SavoirFaire => "savoir-faire",
            Tag::Diploma => "diploma or authorisation",
            Tag::Mailbox => "MSSanté mailbox",
        }
    }
}

/// The header layouts of the optional files given, and their paths: what the mapping workers
/// need to read spilled lines back.
#[derive(Debug, Clone, Default)]
pub(crate) struct ExtraLayouts {
    savoir_faire: Option<(PathBuf, SavoirFaireFile)>,
    diplomas: Option<(PathBuf, DiplomaFile)>,
    mailboxes: Option<(PathBuf, MailboxFile)>,
}

/// The optional files, opened and with their headers checked.
pub(crate) struct ExtraInputs {
    savoir_faire: Option<PipeInput>,
    diplomas: Option<PipeInput>,
    mailboxes: Option<PipeInput>,
    pub layouts: ExtraLayouts,
}

impl ExtraInputs {
    /// Opens every optional file given and checks it is the file it claims to be, before any
    /// generation is created.
    pub fn open(files: &ExtraFiles) -> Result<ExtraInputs, ImportError> {
        let open = |path: &Option<PathBuf>, expected| {
            path.as_deref()
                .map(|p| PipeInput::open(p, expected))
                .transpose()
        };
        let savoir_faire = open(
            &files.savoir_faire,
            "an RPPS PS_LibreAcces_SavoirFaire extraction",
        )?;
        let diplomas = open(
            &files.diplomes,
            "an RPPS PS_LibreAcces_Dipl_AutExerc extraction",
        )?;
        let mailboxes = open(
            &files.mssante,
            "an Extraction_Correspondance_MSSante extraction",
        )?;
        let layouts = ExtraLayouts {
            savoir_faire: layout(&savoir_faire, SavoirFaireFile::from_header)?,
            diplomas: layout(&diplomas, DiplomaFile::from_header)?,
            mailboxes: layout(&mailboxes, MailboxFile::from_header)?,
        };
        Ok(ExtraInputs {
            savoir_faire,
            diplomas,
            mailboxes,
            layouts,
        })
    }

    /// Paths of the files given.
    pub fn paths(&self) -> Vec<&Path> {
        [&self.savoir_faire, &self.diplomas, &self.mailboxes]
            .into_iter()
            .flatten()
            .map(|input| input.path.as_path())
            .collect()
    }
}

fn layout<L, E: std::fmt::Display>(
    input: &Option<PipeInput>,
    from_header: impl Fn(&str) -> Result<L, E>,
) -> Result<Option<(PathBuf, L)>, ImportError> {
    let Some(input) = input else { return Ok(None) };
    let layout = from_header(&input.header).map_err(|e| input.not_expected(e.to_string()))?;
    Ok(Some((input.path.clone(), layout)))
}

/// What pass 1 made of the optional files.
pub(crate) struct ExtrasPartition {
    pub buckets: Vec<PathBuf>,
    pub organization_mailboxes: OrganizationMailboxes,
    pub savoir_faire: LineStats,
    pub diplomas: LineStats,
    pub mailboxes: LineStats,
    /// The labels of the savoir-faire and diploma codes met.
    pub labels: Labels,
}

/// Pass 1 over the optional files: each valid line is spilled into the extras bucket of its
/// person, or kept in memory when it is an organisational mailbox.
pub(crate) fn partition(
    inputs: ExtraInputs,
    spill_dir: &Path,
    bucket_count: usize,
    rejects: &RejectReport,
) -> Result<ExtrasPartition, ImportError> {
    let spill_error = |source| ImportError::Spill {
        path: spill_dir.to_path_buf(),
        source,
    };
    let mut buckets =
        spill::Buckets::create(spill_dir, "extras", bucket_count).map_err(spill_error)?;
    let mut push = |person: &str, tag: Tag, line: u64, text: &str| {
        let tagged = format!("{}|{text}", tag.letter());
        buckets.push(person, line, &tagged).map_err(spill_error)
    };
    let ExtraInputs {
        savoir_faire,
        diplomas,
        mailboxes,
        layouts,
    } = inputs;
    let mut stats = [LineStats::default(); 3];
    let mut labels = Labels::default();
    if let (Some(input), Some((_, file))) = (savoir_faire, &layouts.savoir_faire) {
        stats[0] = input.for_each_line("Reading savoir-faire", rejects, |line, text| {
            Ok(match file.parse(text) {
                Ok(row) => {
                    labels.savoir_faire(&row);
                    Ok(push(row.person, Tag::SavoirFaire, line, text)?)
                }
                Err(e) => Err(e),
            })
        })?;
    }
    if let (Some(input), Some((_, file))) = (diplomas, &layouts.diplomas) {
        stats[1] = input.for_each_line("Reading diplomas", rejects, |line, text| {
            Ok(match file.parse(text) {
                Ok(row) => {
                    labels.diploma(&row);
                    Ok(push(row.person, Tag::Diploma, line, text)?)
                }
                Err(e) => Err(e),
            })
        })?;
    }
    let mut organization_mailboxes = OrganizationMailboxes::default();
    if let (Some(input), Some((path, file))) = (mailboxes, &layouts.mailboxes) {
        organization_mailboxes.file = Some((path.clone(), file.clone()));
        stats[2] = input.for_each_line("Reading MSSanté mailboxes", rejects, |line, text| {
            Ok(match file.parse(text) {
                Ok(m) if !m.person.is_empty() => Ok(push(m.person, Tag::Mailbox, line, text)?),
                Ok(m) => {
                    organization_mailboxes.add(&m, line, text);
                    Ok(())
                }
                Err(e) => Err(e),
            })
        })?;
    }
    Ok(ExtrasPartition {
        buckets: buckets.finish().map_err(spill_error)?,
        organization_mailboxes,
        savoir_faire: stats[0],
        diplomas: stats[1],
        mailboxes: stats[2],
        labels,
    })
}

/// The optional-file lines of the persons of one bucket, with where each came from.
pub(crate) struct BucketExtras<'t> {
    pub by_person: HashMap<&'t str, PersonExtras<'t>>,
    /// Per person, the file and line number of each of its lines, to report those of persons
    /// the RPPS file does not have.
    origins: HashMap<&'t str, Vec<(Tag, u64)>>,
}

impl ExtraLayouts {
    /// Reads an extras bucket back, grouped by person, in file order.
    pub fn read_bucket<'t>(&self, contents: &'t str) -> BucketExtras<'t> {
        let mut out = BucketExtras {
            by_person: HashMap::new(),
            origins: HashMap::new(),
        };
        for (line, tagged) in spill::read_bucket(contents) {
            let Some((tag, text)) = tagged
                .split_once('|')
                .and_then(|(t, text)| Some((Tag::from_letter(t)?, text)))
            else {
                continue;
            };
            // Lines were validated in pass 1: a parse failure here cannot happen.
            let person = match tag {
                Tag::SavoirFaire => self.savoir_faire.as_ref().and_then(|(_, f)| {
                    let row = f.parse(text).ok()?;
                    out.entry(row.person).savoir_faire.push(row);
                    Some(row.person)
                }),
                Tag::Diploma => self.diplomas.as_ref().and_then(|(_, f)| {
                    let row = f.parse(text).ok()?;
                    out.entry(row.person).diplomas.push(row);
                    Some(row.person)
                }),
                Tag::Mailbox => self.mailboxes.as_ref().and_then(|(_, f)| {
                    let row = f.parse(text).ok()?;
                    let person = row.person;
                    out.entry(person).mailboxes.push(row);
                    Some(person)
                }),
            };
            if let Some(person) = person {
                out.origins.entry(person).or_default().push((tag, line));
            }
        }
        out
    }

    fn path(&self, tag: Tag) -> Option<&Path> {
        match tag {
            Tag::SavoirFaire => self.savoir_faire.as_ref().map(|(p, _)| p.as_path()),
            Tag::Diploma => self.diplomas.as_ref().map(|(p, _)| p.as_path()),
            Tag::Mailbox => self.mailboxes.as_ref().map(|(p, _)| p.as_path()),
        }
    }

    /// `FILE:LINE: ...` for each line of the persons left in `extras` (those the RPPS file
    /// does not have), sorted by person then line.
    pub fn unplaced(&self, extras: &BucketExtras<'_>) -> Vec<String> {
        let mut persons: Vec<&&str> = extras.by_person.keys().collect();
        persons.sort();
        let mut out = Vec::new();
        for person in persons {
            for (tag, line) in extras.origins.get(*person).into_iter().flatten() {
                let file = self
                    .path(*tag)
                    .map_or_else(String::new, |p| p.display().to_string());
                out.push(format!(
                    "{file}:{line}: not imported: this {} names person {person}, who is not in the RPPS file",
                    tag.noun()
                ));
            }
        }
        out
    }
}

impl<'t> BucketExtras<'t> {
    fn entry(&mut self, person: &'t str) -> &mut PersonExtras<'t> {
        self.by_person.entry(person).or_default()
    }

    /// Takes the lines of `person` out (those left at the end name unknown persons).
    pub fn take(&mut self, person: &str) -> PersonExtras<'t> {
        self.origins.remove(person);
        self.by_person.remove(person).unwrap_or_default()
    }
}

/// Organisational mailboxes (no person), indexed by the structure reference they name.
#[derive(Default)]
pub(crate) struct OrganizationMailboxes {
    file: Option<(PathBuf, MailboxFile)>,
    /// `(line number, text)` in file order.
    lines: Vec<(u64, String)>,
    by_structure: HashMap<String, Vec<usize>>,
    placed: Vec<AtomicBool>,
}

impl OrganizationMailboxes {
    fn add(&mut self, mailbox: &Mailbox<'_>, line: u64, text: &str) {
        let Some(structure) = mailbox.structure else {
            return; // a mailbox with neither person nor structure is rejected by the parser
        };
        self.by_structure
            .entry(structure.national_id())
            .or_default()
            .push(self.lines.len());
        self.lines.push((line, text.to_owned()));
        self.placed.push(AtomicBool::new(false));
    }

    /// Adds to `organization.telecom` the mailboxes naming one of its identifiers, in file
    /// order; returns how many lines were placed.
    pub fn attach_to(&self, organization: &mut Organization) -> u64 {
        let Some((_, file)) = &self.file else {
            return 0;
        };
        let mut indices: Vec<usize> = mailbox::organization_keys(organization)
            .iter()
            .filter_map(|key| self.by_structure.get(key))
            .flatten()
            .copied()
            .collect();
        if indices.is_empty() {
            return 0;
        }
        indices.sort_unstable();
        indices.dedup();
        let parsed: Vec<Mailbox<'_>> = indices
            .iter()
            .filter_map(|&i| file.parse(&self.lines[i].1).ok())
            .collect();
        let refs: Vec<&Mailbox<'_>> = parsed.iter().collect();
        mailbox::attach(&mut organization.telecom, &refs);
        for &i in &indices {
            self.placed[i].store(true, Ordering::Relaxed);
        }
        indices.len() as u64
    }

    /// `FILE:LINE: ...` for each mailbox no Organization claimed, in file order.
    pub fn unplaced(&self) -> Vec<String> {
        let Some((path, file)) = &self.file else {
            return Vec::new();
        };
        self.lines
            .iter()
            .zip(&self.placed)
            .filter(|(_, placed)| !placed.load(Ordering::Relaxed))
            .map(|((line, text), _)| {
                let structure = file
                    .parse(text)
                    .ok()
                    .and_then(|m| m.structure)
                    .map_or_else(String::new, |s| s.national_id());
                format!(
                    "{}:{line}: not imported: this MSSanté mailbox names structure {structure}, which is in neither the RPPS nor the FINESS file",
                    path.display()
                )
            })
            .collect()
    }
}
