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
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zstd::zstd_safe::{self, CCtx, CDict, DCtx, DDict};

use super::StoreError;
use super::mapped::MappedFile;
use super::record::Location;

/// The content bytes of a generation's resources, one zstd frame each.
pub const CONTENT_FILE: &str = "resources.zst";
/// The dictionary those frames were compressed with (absent: none).
pub const DICTIONARY_FILE: &str = "resources.dict";

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
