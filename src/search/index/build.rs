//! Builds a generation's search indexes once every resource is written, driven by the
//! search parameter declarations (the same ones that parse queries).
//!
//! 1. Documents of each type are numbered in id order, so a bitmap of document numbers is also
//!    a result set sorted by id: keyset paging needs nothing else.
//! 2. Each resource is read back, its terms extracted for every parameter of its type, and
//!    `(term, document)` pairs spilled to one file per parameter and worker; references are
//!    resolved to target document numbers (forward index).
//! 3. Each parameter's pairs are sorted and grouped into one bitmap per term, written in key
//!    order into blocks of the index file (parameters in parallel), with the `:contains`
//!    dictionary of its string parameters (terms and their trigrams) and the sort columns of
//!    its sortable ones.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use roaring::RoaringBitmap;

use super::encoding::NO_VALUE;
use super::forward::Forward;
use super::writer::IndexWriters;
use crate::fhir::ResourceType;
use crate::fhir::node::Node;
use crate::generation::record::write_versioned;
use crate::generation::{IndexTarget, Record, StoreError};
use crate::parallel::run_parallel;
use crate::progress::{Progress, Unit};
use crate::search::params::{ParamType, Registry, SearchParam};
use crate::search::terms::{self, FOLDED, index_terms};

/// Documents indexed per unit of parallel work.
const CHUNK: usize = 4096;

fn spill_error(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        action: "cannot write temporary index files in",
        path: path.to_path_buf(),
        source,
    }
}

/// Indexes the current documents of a generation being written (per type in id order:
/// document `n` is the `n`th), with `workers` threads.
pub fn build(target: &IndexTarget<'_>, workers: usize) -> Result<(), StoreError> {
    let documents = target.documents();
    let spill_dir = target.spill_dir();
    let registry = Registry::get();
    // Reference targets are resolved by binary search in their type's id-ordered documents.
    let numbers: HashMap<ResourceType, &[(String, Record)]> = documents
        .iter()
        .map(|(rtype, ids)| (*rtype, ids.as_slice()))
        .collect();
    let total: u64 = documents.iter().map(|(_, ids)| ids.len() as u64).sum();
    let progress = Progress::new("Indexing", total, Unit::Items);
    for (rtype, ids) in documents {
        // Index tables are written in key order, and keys start with the parameter code.
        let mut params: Vec<&SearchParam> = registry.for_type(*rtype).collect();
        params.sort_by(|a, b| a.code.cmp(&b.code));
        let dir = spill_dir.join(format!("index-{rtype}"));
        std::fs::create_dir_all(&dir).map_err(spill_error(&dir))?;
        let started = std::time::Instant::now();
        let extracted = extract(
            target, *rtype, ids, &params, &numbers, &dir, workers, &progress,
        )?;
        tracing::debug!("{rtype}: terms extracted in {:.1?}", started.elapsed());
        let started = std::time::Instant::now();
        // Parameters in parallel: each writes its own blocks, whose keys all start with the
        // parameter's code, so the tables stay sorted however the blocks interleave.
        let indexes: Vec<usize> = (0..params.len()).collect();
        run_parallel(&indexes, workers, |&index| {
            let param = params[index];
            let mut tables = IndexWriters::new(target, *rtype);
            let files: Vec<&PathBuf> = extracted
                .files
                .iter()
                .map(|worker| &worker[index])
                .collect();
            let present = extracted
                .present
                .iter()
                .fold(RoaringBitmap::new(), |all, worker| all | &worker[index]);
            write_param(&mut tables, param, ids.len() as u32, &present, &files)?;
            if param.is_reference() {
                let pairs: Vec<(u32, u32)> = extracted
                    .references
                    .iter()
                    .flat_map(|worker| worker[index].iter().copied())
                    .collect();
                tables.forward(&param.code, &Forward::from_pairs(ids.len() as u32, pairs))?;
            }
            tables.finish()
        })?;
        tracing::debug!("{rtype}: index tables written in {:.1?}", started.elapsed());
        std::fs::remove_dir_all(&dir).map_err(spill_error(&dir))?;
    }
    progress.finish();
    Ok(())
}

/// What the extraction workers produced: per worker, one spill file per parameter, and the
/// resolved `(source, target)` pairs of each reference parameter.
struct Extracted {
    files: Vec<Vec<PathBuf>>,
    references: Vec<Vec<Vec<(u32, u32)>>>,
    /// Per worker and parameter, the documents having a value (`:missing`).
    present: Vec<Vec<RoaringBitmap>>,
}

struct WorkerOutput {
    writers: Vec<BufWriter<File>>,
    paths: Vec<PathBuf>,
    references: Vec<Vec<(u32, u32)>>,
    present: Vec<RoaringBitmap>,
}

#[allow(clippy::too_many_arguments)]
fn extract(
    target: &IndexTarget<'_>,
    rtype: ResourceType,
    ids: &[(String, Record)],
    params: &[&SearchParam],
    numbers: &HashMap<ResourceType, &[(String, Record)]>,
    dir: &Path,
    workers: usize,
    progress: &Progress,
) -> Result<Extracted, StoreError> {
    let workers = workers.max(1);
    let mut outputs = Vec::with_capacity(workers);
    for worker in 0..workers {
        let mut writers = Vec::new();
        let mut paths = Vec::new();
        for param in params {
            let path = dir.join(format!("{}-{worker}", param.code.trim_start_matches('_')));
            writers.push(BufWriter::with_capacity(
                256 * 1024,
                File::create(&path).map_err(spill_error(&path))?,
            ));
            paths.push(path);
        }
        outputs.push(Mutex::new(WorkerOutput {
            writers,
            paths,
            references: vec![Vec::new(); params.len()],
            present: vec![RoaringBitmap::new(); params.len()],
        }));
    }
    let chunks: Vec<(usize, &[(String, Record)])> = ids
        .chunks(CHUNK)
        .enumerate()
        .map(|(i, chunk)| (i * CHUNK, chunk))
        .collect();
    let next_slot = std::sync::atomic::AtomicUsize::new(0);
    run_parallel(&chunks, workers, |(first, chunk)| {
        // Each call takes a free output slot; with `workers` threads there is always one.
        let slot = next_slot.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % workers;
        let mut output = outputs[slot].lock().expect("worker output");
        let output = &mut *output;
        let mut terms_buffer = Vec::new();
        let mut json = Vec::new();
        for (offset, (_, record)) in chunk.iter().enumerate() {
            let doc = (first + offset) as u32;
            // Indexed as served: with its version (`_lastUpdated` reads it).
            let content = target.content(record.location)?;
            json.clear();
            write_versioned(&content, record.splice, record.version, &mut json);
            let resource = Node::parse(&json).map_err(|e| StoreError::Damaged {
                path: dir.to_path_buf(),
                detail: format!("stored {rtype} #{doc} is not JSON: {e}"),
            })?;
            for (index, param) in params.iter().enumerate() {
                terms_buffer.clear();
                if index_terms(param, rtype, &resource, &mut terms_buffer) {
                    output.present[index].insert(doc);
                }
                let out = &mut output.writers[index];
                for term in &terms_buffer {
                    write_entry(out, term, doc).map_err(spill_error(dir))?;
                    if term.first() == Some(&terms::REFERENCE)
                        && let Some(target) = resolve(param, &term[1..], numbers)
                    {
                        output.references[index].push((doc, target));
                    }
                }
            }
        }
        progress.inc(chunk.len() as u64);
        Ok::<(), StoreError>(())
    })?;
    let mut files = Vec::new();
    let mut references = Vec::new();
    let mut present = Vec::new();
    for output in outputs {
        let output = output.into_inner().expect("worker output");
        for mut writer in output.writers {
            writer.flush().map_err(spill_error(dir))?;
        }
        files.push(output.paths);
        references.push(output.references);
        present.push(output.present);
    }
    Ok(Extracted {
        files,
        references,
        present,
    })
}

/// The target document of a `Type/id` reference.
fn resolve(
    param: &SearchParam,
    reference: &[u8],
    numbers: &HashMap<ResourceType, &[(String, Record)]>,
) -> Option<u32> {
    let target = param.target()?;
    let reference = std::str::from_utf8(reference).ok()?;
    let id = reference.strip_prefix(target.as_str())?.strip_prefix('/')?;
    let documents = numbers.get(&target)?;
    documents
        .binary_search_by(|(candidate, _)| candidate.as_str().cmp(id))
        .ok()
        .map(|n| n as u32)
}

/// `[u32 length][term][u32 document]`, little-endian (a term is never cut, however long).
fn write_entry(out: &mut impl Write, term: &[u8], doc: u32) -> std::io::Result<()> {
    let len = u32::try_from(term.len()).expect("a term is smaller than 4 GB");
    out.write_all(&len.to_le_bytes())?;
    out.write_all(term)?;
    out.write_all(&doc.to_le_bytes())
}

/// Reads the next [`write_entry`] record into `term`; `None` at the end of the file.
fn read_entry(input: &mut impl Read, term: &mut Vec<u8>) -> std::io::Result<Option<u32>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    term.resize(u32::from_le_bytes(len) as usize, 0);
    input.read_exact(term)?;
    let mut doc = [0u8; 4];
    input.read_exact(&mut doc)?;
    Ok(Some(u32::from_le_bytes(doc)))
}

/// Reads a parameter's spill files, groups by term, writes bitmaps (and the dictionary).
fn write_param(
    tables: &mut IndexWriters<'_>,
    param: &SearchParam,
    documents: u32,
    present: &RoaringBitmap,
    files: &[&PathBuf],
) -> Result<(), StoreError> {
    // The presence entry's kind sorts before every other kind of the parameter.
    tables.postings(&terms::key(&param.code, terms::PRESENT, ""), present)?;
    // Intern the terms while streaming the spill files (many entries share one term: a
    // system, a code), so memory holds each distinct term once plus 8 bytes per entry; then
    // order the distinct terms and sort (term rank, document) pairs as integers: each term is
    // hashed once and only distinct terms are compared.
    let mut number_of: foldhash::HashMap<Box<[u8]>, u32> = foldhash::HashMap::default();
    let mut pairs: Vec<u64> = Vec::new();
    let mut term = Vec::with_capacity(256);
    for path in files {
        let mut reader =
            BufReader::with_capacity(1 << 20, File::open(path).map_err(spill_error(path))?);
        while let Some(doc) = read_entry(&mut reader, &mut term).map_err(spill_error(path))? {
            let next = number_of.len() as u32;
            let number = match number_of.get(term.as_slice()) {
                Some(number) => *number,
                None => {
                    number_of.insert(term.as_slice().into(), next);
                    next
                }
            };
            pairs.push((u64::from(number) << 32) | u64::from(doc));
        }
    }
    let mut owned_terms: Vec<Box<[u8]>> = vec![Box::default(); number_of.len()];
    for (term, number) in number_of.drain() {
        owned_terms[number as usize] = term;
    }
    drop(number_of);
    let distinct: Vec<&[u8]> = owned_terms.iter().map(|t| &t[..]).collect();
    let mut order: Vec<u32> = (0..distinct.len() as u32).collect();
    order.sort_unstable_by(|a, b| distinct[*a as usize].cmp(distinct[*b as usize]));
    let mut rank = vec![0u32; distinct.len()];
    for (position, number) in order.iter().enumerate() {
        rank[*number as usize] = position as u32;
    }
    for pair in &mut pairs {
        *pair = (u64::from(rank[(*pair >> 32) as usize]) << 32) | (*pair & 0xFFFF_FFFF);
    }
    pairs.sort_unstable();

    let mut dictionary: Vec<&str> = Vec::new();
    let mut prefixes = PrefixUnions::default();
    let mut sort =
        terms::sort_kind(&param.param_type).map(|kind| SortColumns::new(kind, documents));
    let mut key = Vec::new();
    let mut group = 0usize;
    while group < pairs.len() {
        let current_rank = pairs[group] >> 32;
        let current = distinct[order[current_rank as usize] as usize];
        // Prefix entries sort between the folded terms and the exact ones.
        if current.first().is_some_and(|k| *k > terms::PREFIX) {
            prefixes.write(tables, &param.code)?;
        }
        let mut end = group;
        while end < pairs.len() && pairs[end] >> 32 == current_rank {
            end += 1;
        }
        // Pairs sort by (term, document): a term's documents come in order, deduplicated.
        let mut group_documents: Vec<u32> = pairs[group..end]
            .iter()
            .map(|pair| (pair & 0xFFFF_FFFF) as u32)
            .collect();
        group_documents.dedup();
        let documents = RoaringBitmap::from_sorted_iter(group_documents)
            .expect("documents of a term come sorted");
        key.clear();
        key.extend_from_slice(param.code.as_bytes());
        key.push(0);
        key.extend_from_slice(current);
        tables.postings(&key, &documents)?;
        if let Some(sort) = &mut sort {
            sort.add(current, &documents);
        }
        if current.first() == Some(&FOLDED) && param.param_type == ParamType::String {
            let term = std::str::from_utf8(&current[1..]).unwrap_or_default();
            prefixes.add(term, &documents);
            if param.has_term_dictionary() {
                dictionary.push(term);
            }
        }
        group = end;
    }
    prefixes.write(tables, &param.code)?;
    if param.has_term_dictionary() {
        write_dictionary(tables, &param.code, &dictionary)?;
    }
    if let Some(sort) = sort {
        tables.sort_columns(&param.code, &sort.lowest, &sort.highest)?;
    }
    Ok(())
}

/// The sort columns of a parameter, built while its terms go by in key order (which is value
/// order): per document, the rank of its first term of the sort kind (ascending sorts) and of
/// its last (descending sorts). A sorted search then reads one array instead of every posting
/// list of the parameter.
struct SortColumns {
    kind: u8,
    rank: u32,
    lowest: Vec<u32>,
    highest: Vec<u32>,
}

impl SortColumns {
    fn new(kind: u8, documents: u32) -> SortColumns {
        SortColumns {
            kind,
            rank: 0,
            lowest: vec![NO_VALUE; documents as usize],
            highest: vec![NO_VALUE; documents as usize],
        }
    }

    fn add(&mut self, term: &[u8], documents: &RoaringBitmap) {
        if term.first() != Some(&self.kind) {
            return;
        }
        for doc in documents {
            let doc = doc as usize;
            if self.lowest[doc] == NO_VALUE {
                self.lowest[doc] = self.rank;
            }
            self.highest[doc] = self.rank;
        }
        self.rank += 1;
    }
}

/// Precomputed unions of the documents of all folded terms sharing a short prefix. Terms come
/// sorted, so each prefix's terms are contiguous: a prefix is complete when the next term
/// does not start with it.
#[derive(Default)]
struct PrefixUnions {
    /// Per prefix length, the prefix being accumulated and its terms' documents.
    open: Vec<(String, Vec<RoaringBitmap>)>,
    done: BTreeMap<String, RoaringBitmap>,
}

impl PrefixUnions {
    fn add(&mut self, term: &str, documents: &RoaringBitmap) {
        use roaring::MultiOps;
        for (length, prefix) in terms::short_prefixes(term).enumerate() {
            if self.open.len() <= length {
                self.open.push((String::new(), Vec::new()));
            }
            let (current, parts) = &mut self.open[length];
            if current != prefix {
                if !parts.is_empty() {
                    self.done
                        .insert(std::mem::take(current), std::mem::take(parts).union());
                }
                *current = prefix.to_owned();
            }
            parts.push(documents.clone());
        }
    }

    /// Writes every prefix accumulated so far (in key order) and starts afresh.
    fn write(&mut self, tables: &mut IndexWriters<'_>, param: &str) -> Result<(), StoreError> {
        use roaring::MultiOps;
        for (current, parts) in self.open.drain(..) {
            if !parts.is_empty() {
                self.done.insert(current, parts.union());
            }
        }
        for (prefix, documents) in std::mem::take(&mut self.done) {
            tables.postings(&terms::key(param, terms::PREFIX, &prefix), &documents)?;
        }
        Ok(())
    }
}

/// Terms are already sorted (they come from sorted keys): number them, and index their
/// trigrams.
fn write_dictionary(
    tables: &mut IndexWriters<'_>,
    param: &str,
    dictionary: &[&str],
) -> Result<(), StoreError> {
    tables.terms(param, dictionary)?;
    // Term numbers go up, so each trigram's list comes sorted.
    let mut trigrams: foldhash::HashMap<&str, Vec<u32>> = foldhash::HashMap::default();
    for (number, term) in dictionary.iter().enumerate() {
        for trigram in terms::trigrams(term) {
            trigrams.entry(trigram).or_default().push(number as u32);
        }
    }
    let mut trigrams: Vec<(&str, Vec<u32>)> = trigrams.into_iter().collect();
    trigrams.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (trigram, numbers) in trigrams {
        let numbers = RoaringBitmap::from_sorted_iter(numbers).expect("term numbers ascend");
        tables.trigram(param, trigram, &numbers)?;
    }
    Ok(())
}
