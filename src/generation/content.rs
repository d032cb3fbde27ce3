//! The content file of a generation: every resource's bytes, each compressed on its own (one
//! zstd frame per resource, so any one is read without its neighbours) with a dictionary
//! trained on the generation's own first resources.
//!
//! FHIR resources of one directory repeat the same keys, profile and extension URLs, code
//! systems and codes; a dictionary holds them once, so each frame carries little more than the
//! values that make the resource itself. Measured at national size: 8.0 GB of JSON became
//! 0.82 GB (BENCHMARKS.md, issue #14). Bytes served are exactly the JSON that was compressed.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use zstd::zstd_safe::{self, CCtx, CDict, DCtx, DDict};

use super::error::StoreError;
use super::format::{CONTENT_FILE, DICTIONARY_FILE};
use super::mapped::MappedFile;
use super::record::{ContentHash, Location, splice_point};
use crate::fhir::ResourceType;

/// Resources the dictionary is trained on: the first ones an import writes.
pub const TRAINING_SAMPLES: usize = 8_000;
/// Bytes of the dictionary (zstd's own default size).
const DICTIONARY_BYTES: usize = 112 * 1024;
/// zstd level: 3 is zstd's default; higher levels gain little on small frames with a
/// dictionary and cost import time.
const LEVEL: i32 = 3;

/// Compresses and decompresses the resources of one generation.
pub struct Codec {
    /// The dictionary's bytes (saved beside the content file), and its prepared forms.
    dictionary: Option<(Vec<u8>, CDict<'static>, DDict<'static>)>,
}

thread_local! {
    /// zstd contexts are costly to create (hundreds of KiB): one per thread, reused.
    static CONTEXTS: RefCell<(CCtx<'static>, DCtx<'static>)> =
        RefCell::new((CCtx::create(), DCtx::create()));
}

impl Codec {
    /// Trains a dictionary on `samples`. With too few or too small samples (a tiny import)
    /// zstd cannot train one, and frames are compressed without.
    pub fn train(samples: &[Vec<u8>]) -> Codec {
        match zstd::dict::from_samples(samples, DICTIONARY_BYTES) {
            Ok(dictionary) if !samples.is_empty() => Codec::with_dictionary(dictionary),
            _ => Codec { dictionary: None },
        }
    }

    fn with_dictionary(dictionary: Vec<u8>) -> Codec {
        let compress = CDict::create(&dictionary, LEVEL);
        let decompress = DDict::create(&dictionary);
        Codec {
            dictionary: Some((dictionary, compress, decompress)),
        }
    }

    /// The codec of the generation in `dir`.
    pub fn load(dir: &Path) -> Result<Codec, StoreError> {
        let path = dir.join(DICTIONARY_FILE);
        match std::fs::read(&path) {
            Ok(dictionary) => Ok(Codec::with_dictionary(dictionary)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Codec { dictionary: None }),
            Err(e) => Err(StoreError::io("cannot read", &path)(e)),
        }
    }

    /// Saves the dictionary into `dir` (synced: the generation is described only after).
    pub fn save(&self, dir: &Path) -> Result<(), StoreError> {
        let Some((dictionary, _, _)) = &self.dictionary else {
            return Ok(());
        };
        let path = dir.join(DICTIONARY_FILE);
        let file = File::create(&path).map_err(StoreError::io("cannot create", &path))?;
        file.write_all_at(dictionary, 0)
            .and_then(|()| file.sync_all())
            .map_err(StoreError::io("cannot write", &path))
    }

    pub fn compress(&self, content: &[u8]) -> Vec<u8> {
        let mut frame = Vec::with_capacity(zstd_safe::compress_bound(content.len()));
        CONTEXTS.with_borrow_mut(|(compressor, _)| {
            let written = match &self.dictionary {
                Some((_, dictionary, _)) => {
                    compressor.compress_using_cdict(&mut frame, content, dictionary)
                }
                None => compressor.compress(&mut frame, content, LEVEL),
            };
            written.expect("zstd compresses into a buffer of compress_bound bytes");
        });
        frame
    }

    /// The content of one frame; `None` if the frame is damaged.
    pub fn decompress(&self, frame: &[u8]) -> Option<Vec<u8>> {
        let size = zstd_safe::get_frame_content_size(frame).ok()??;
        let mut content = Vec::with_capacity(usize::try_from(size).ok()?);
        CONTEXTS.with_borrow_mut(|(_, decompressor)| {
            let read = match &self.dictionary {
                Some((_, _, dictionary)) => {
                    decompressor.decompress_using_ddict(&mut content, frame, dictionary)
                }
                None => decompressor.decompress(&mut content, frame),
            };
            read.ok().filter(|n| *n as u64 == size).map(|_| content)
        })
    }
}

/// Reads resources from a content file.
pub struct ContentReader {
    path: PathBuf,
    frames: Frames,
    codec: Arc<Codec>,
}

/// Where the frames are read from.
enum Frames {
    /// A complete generation's file, mapped (see [`super::mapped`]).
    Mapped(MappedFile),
    /// The file an import is still appending to: positioned reads.
    Growing(File),
}

impl ContentReader {
    /// Opens the content file of the complete generation in `dir`.
    pub fn open(dir: &Path) -> Result<ContentReader, StoreError> {
        let path = dir.join(CONTENT_FILE);
        Ok(ContentReader {
            codec: Arc::new(Codec::load(dir)?),
            frames: Frames::Mapped(MappedFile::open(&path)?),
            path,
        })
    }

    /// A reader of a content file being written, with its codec.
    pub fn over(path: PathBuf, file: File, codec: Arc<Codec>) -> ContentReader {
        ContentReader {
            path,
            frames: Frames::Growing(file),
            codec,
        }
    }

    pub fn read(&self, location: Location) -> Result<Vec<u8>, StoreError> {
        let read;
        let frame = match &self.frames {
            Frames::Mapped(map) => map.slice(location)?,
            Frames::Growing(file) => {
                let mut frame = vec![0u8; location.len as usize];
                file.read_exact_at(&mut frame, location.offset)
                    .map_err(StoreError::io("cannot read", &self.path))?;
                read = frame;
                &read
            }
        };
        self.codec
            .decompress(frame)
            .ok_or_else(|| StoreError::Damaged {
                path: self.path.clone(),
                detail: format!(
                    "the resource at byte {} of {CONTENT_FILE} cannot be decompressed",
                    location.offset
                ),
            })
    }
}

/// A resource written by the mapping, before its version is decided.
#[derive(Debug, Clone)]
pub struct Written {
    pub id: String,
    pub location: Location,
    pub splice: u16,
    pub content: ContentHash,
}

/// The content file of a generation being written, and what was written into it per type.
/// Writes may come from several threads.
///
/// The dictionary is trained on the first [`TRAINING_SAMPLES`] resources, which wait whole in
/// memory until then; every later resource is compressed as it comes.
pub struct ContentWriter {
    path: PathBuf,
    /// The content file and the offset its next append lands at.
    data: Mutex<(BufWriter<File>, u64)>,
    /// Set once the dictionary is trained; until then resources wait in `pending`.
    codec: OnceLock<Arc<Codec>>,
    pending: Mutex<Vec<Pending>>,
    /// A reader of the file, for reconciling and indexing once every resource is written.
    reader: OnceLock<ContentReader>,
    /// The resources written, per type (in [`ResourceType::ALL`] order), until
    /// [`ContentWriter::documents`] sorts them.
    written: Vec<Mutex<Vec<Written>>>,
}

/// A resource written before the dictionary was trained: kept whole until it is.
struct Pending {
    rtype: ResourceType,
    id: String,
    splice: u16,
    hash: ContentHash,
    content: Vec<u8>,
}

impl ContentWriter {
    /// Creates the content file of the generation in `dir`.
    pub fn create(dir: &Path) -> Result<ContentWriter, StoreError> {
        let path = dir.join(CONTENT_FILE);
        let file = File::create(&path).map_err(StoreError::io("cannot create", &path))?;
        Ok(ContentWriter {
            path,
            data: Mutex::new((BufWriter::with_capacity(1 << 20, file), 0)),
            codec: OnceLock::new(),
            pending: Mutex::new(Vec::new()),
            reader: OnceLock::new(),
            written: ResourceType::ALL
                .iter()
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
        })
    }

    /// Writes a resource's content (its JSON with an empty or versionless `meta`: the record
    /// says where the version goes).
    pub fn write(&self, rtype: ResourceType, id: &str, content: &[u8]) -> Result<(), StoreError> {
        let splice = splice_point(content).ok_or_else(|| StoreError::Damaged {
            path: self.path.clone(),
            detail: format!("{rtype}/{id} was mapped without `meta`"),
        })?;
        let hash = ContentHash::of(content);
        if let Some(codec) = self.codec.get() {
            let location = self.append_frame(&codec.compress(content))?;
            self.register(rtype, id.to_owned(), location, splice, hash);
            return Ok(());
        }
        let mut pending = self.pending.lock().expect("pending resources");
        if self.codec.get().is_some() {
            // Trained while this thread waited for the lock.
            drop(pending);
            return self.write(rtype, id, content);
        }
        pending.push(Pending {
            rtype,
            id: id.to_owned(),
            splice,
            hash,
            content: content.to_vec(),
        });
        if pending.len() >= TRAINING_SAMPLES {
            self.train(&mut pending)?;
        }
        Ok(())
    }

    fn written(&self, rtype: ResourceType) -> &Mutex<Vec<Written>> {
        let index = ResourceType::ALL
            .iter()
            .position(|t| *t == rtype)
            .expect("a served type");
        &self.written[index]
    }

    /// Every resource written for a type, in id order; when an id was written twice, the last
    /// write wins. Called once the mapping is done: resources still waiting for the dictionary
    /// are written first.
    pub fn documents(&self, rtype: ResourceType) -> Result<Vec<Written>, StoreError> {
        self.codec()?;
        let mut written = std::mem::take(&mut *self.written(rtype).lock().expect("written ids"));
        // Stable sort keeps write order among equal ids; keep the last of each run.
        written.sort_by(|a, b| a.id.cmp(&b.id));
        let mut out: Vec<Written> = Vec::with_capacity(written.len());
        for entry in written {
            match out.last_mut() {
                Some(last) if last.id == entry.id => *last = entry,
                _ => out.push(entry),
            }
        }
        Ok(out)
    }

    /// The codec, trained now on whatever was written if the mapping wrote fewer resources
    /// than the training sample.
    fn codec(&self) -> Result<&Arc<Codec>, StoreError> {
        if let Some(codec) = self.codec.get() {
            return Ok(codec);
        }
        let mut pending = self.pending.lock().expect("pending resources");
        self.train(&mut pending)?;
        Ok(self.codec.get().expect("trained"))
    }

    /// Trains the dictionary on the pending resources, then writes them.
    fn train(&self, pending: &mut Vec<Pending>) -> Result<(), StoreError> {
        if self.codec.get().is_some() {
            return Ok(());
        }
        let samples: Vec<Vec<u8>> = pending.iter().map(|p| p.content.clone()).collect();
        let codec = self.codec.get_or_init(|| Arc::new(Codec::train(&samples)));
        for p in pending.drain(..) {
            let location = self.append_frame(&codec.compress(&p.content))?;
            self.register(p.rtype, p.id, location, p.splice, p.hash);
        }
        Ok(())
    }

    fn register(
        &self,
        rtype: ResourceType,
        id: String,
        location: Location,
        splice: u16,
        content: ContentHash,
    ) {
        self.written(rtype)
            .lock()
            .expect("written ids")
            .push(Written {
                id,
                location,
                splice,
                content,
            });
    }

    /// Appends content bytes without registering a resource (records the generation writes
    /// itself: deactivated ones, and those carried over from the generation before).
    pub fn append(&self, content: &[u8]) -> Result<Location, StoreError> {
        let frame = self.codec()?.compress(content);
        self.append_frame(&frame)
    }

    fn append_frame(&self, frame: &[u8]) -> Result<Location, StoreError> {
        let len = u32::try_from(frame.len()).expect("a resource is smaller than 4 GB");
        let mut data = self.data.lock().expect("data file lock");
        let offset = data.1;
        data.0
            .write_all(frame)
            .map_err(StoreError::io("cannot write", &self.path))?;
        data.1 += u64::from(len);
        Ok(Location { offset, len })
    }

    /// Reads back a written resource (flushing the content file first if needed).
    pub fn read_back(&self, location: Location) -> Result<Vec<u8>, StoreError> {
        let reader = match self.reader.get() {
            Some(reader) => reader,
            None => {
                let codec = self.codec()?.clone();
                self.data
                    .lock()
                    .expect("data file lock")
                    .0
                    .flush()
                    .map_err(StoreError::io("cannot write", &self.path))?;
                let file =
                    File::open(&self.path).map_err(StoreError::io("cannot open", &self.path))?;
                self.reader
                    .get_or_init(|| ContentReader::over(self.path.clone(), file, codec))
            }
        };
        reader.read(location)
    }

    /// Saves the dictionary into `dir` and syncs the content file.
    pub fn finish(self, dir: &Path) -> Result<(), StoreError> {
        self.codec()?.save(dir)?;
        let (mut data, _) = self.data.into_inner().expect("data file lock");
        data.flush()
            .map_err(StoreError::io("cannot write", &self.path))?;
        data.get_ref()
            .sync_all()
            .map_err(StoreError::io("cannot sync", &self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(i: usize) -> Vec<u8> {
        format!(
            r#"{{"resourceType":"Practitioner","id":"pp-{i:011}-10","meta":{{"profile":["https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-practitioner"]}},"identifier":[{{"system":"urn:oid:1.2.250.1.71.4.2.1","value":"8{i:011}"}}],"name":[{{"family":"NOM{}","given":["PRENOM{}"]}}]}}"#,
            i % 97,
            i % 89
        )
        .into_bytes()
    }

    #[test]
    fn frames_round_trip_with_and_without_a_dictionary() {
        let samples: Vec<Vec<u8>> = (0..2000).map(resource).collect();
        let trained = Codec::train(&samples);
        assert!(
            trained.dictionary.is_some(),
            "2 000 samples train a dictionary"
        );
        let untrained = Codec::train(&samples[..1]);
        assert!(untrained.dictionary.is_none(), "one sample does not");
        for codec in [&trained, &untrained] {
            for i in [0, 7, 5000] {
                let content = resource(i);
                let frame = codec.compress(&content);
                assert_eq!(
                    codec.decompress(&frame).as_deref(),
                    Some(content.as_slice())
                );
            }
            assert_eq!(codec.decompress(b"not a frame"), None);
        }
        let content = resource(4242);
        assert!(
            trained.compress(&content).len() * 3 < untrained.compress(&content).len(),
            "the dictionary holds what resources share"
        );
    }

    #[test]
    fn the_dictionary_is_saved_and_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let samples: Vec<Vec<u8>> = (0..2000).map(resource).collect();
        let codec = Codec::train(&samples);
        codec.save(dir.path()).unwrap();
        let frame = codec.compress(&resource(1));
        let loaded = Codec::load(dir.path()).unwrap();
        assert_eq!(loaded.decompress(&frame), Some(resource(1)));
    }
}
