//! How the search index is encoded in a generation's tables: the keys of the dictionary,
//! trigram and sort tables, and the postings (the documents of a term).
//!
//! Postings of up to [`SHORT_POSTINGS`] documents are a count and the document numbers as
//! varint deltas; larger ones a serialized roaring bitmap after a [`ROARING`] byte. Most terms
//! (identifiers, ids, references) name one document, which a roaring bitmap takes 18 bytes to
//! say and a list 2 to 5.

use std::path::Path;

use roaring::{MultiOps, RoaringBitmap};

use crate::generation::StoreError;
use crate::generation::block::{get_varint, put_varint};

/// Postings of up to this many documents are stored as a list of numbers.
const SHORT_POSTINGS: u64 = 4;
/// First byte of a serialized roaring bitmap (lists start with their length).
const ROARING: u8 = 0xff;

/// The rank of a document without a value in a sort column (it sorts last, ascending or
/// descending).
pub const NO_VALUE: u32 = u32::MAX;

/// `param 0x00 rest`: the keys of the dictionary, trigram and sort tables.
pub fn param_key(param: &str, rest: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(param.len() + 1 + rest.len());
    key.extend_from_slice(param.as_bytes());
    key.push(0);
    key.extend_from_slice(rest);
    key
}

/// The key of a parameter's sort column: `a` for ascending sorts, `d` for descending ones.
pub fn sort_key(param: &str, descending: bool) -> Vec<u8> {
    param_key(param, if descending { b"d" } else { b"a" })
}

/// The stored form of a set of documents (or of term numbers).
pub fn encode_bitmap(bitmap: &RoaringBitmap) -> Vec<u8> {
    if bitmap.len() <= SHORT_POSTINGS {
        let mut bytes = vec![bitmap.len() as u8];
        let mut previous = 0u64;
        for document in bitmap {
            put_varint(&mut bytes, u64::from(document) - previous);
            previous = u64::from(document);
        }
        return bytes;
    }
    let mut bytes = Vec::with_capacity(1 + bitmap.serialized_size());
    bytes.push(ROARING);
    bitmap
        .serialize_into(&mut bytes)
        .expect("writing to a Vec cannot fail");
    bytes
}

/// Decodes stored postings; `path` names the generation in errors.
pub fn decode_bitmap(path: &Path, bytes: &[u8]) -> Result<RoaringBitmap, StoreError> {
    let mut short = Vec::new();
    match decode_postings(path, bytes, &mut short)? {
        Some(bitmap) => Ok(bitmap),
        None => RoaringBitmap::from_sorted_iter(short).map_err(|_| StoreError::Damaged {
            path: path.to_path_buf(),
            detail: "unreadable index entry: a short posting list does not ascend".into(),
        }),
    }
}

/// Decodes stored postings: a short list is appended to `short` (None), a roaring bitmap
/// returned.
fn decode_postings(
    path: &Path,
    bytes: &[u8],
    short: &mut Vec<u32>,
) -> Result<Option<RoaringBitmap>, StoreError> {
    let damaged = |detail: String| StoreError::Damaged {
        path: path.to_path_buf(),
        detail: format!("unreadable index entry: {detail}"),
    };
    match bytes.first() {
        Some(&ROARING) => RoaringBitmap::deserialize_from(&bytes[1..])
            .map(Some)
            .map_err(|e| damaged(e.to_string())),
        Some(&count) if u64::from(count) <= SHORT_POSTINGS => {
            let mut at = 1;
            let mut previous = 0u64;
            for _ in 0..count {
                let delta = get_varint(bytes, &mut at)
                    .ok_or_else(|| damaged("a short posting list is cut".into()))?;
                previous += delta;
                short.push(
                    u32::try_from(previous).map_err(|_| damaged("a document number".into()))?,
                );
            }
            Ok(None)
        }
        _ => Err(damaged("unknown posting encoding".into())),
    }
}

/// The union of many postings, as a `:contains` needle gathers them: short lists are collected
/// as numbers and become one bitmap at the end, instead of a bitmap each (building and merging
/// those was two fifths of a `:contains` search).
#[derive(Default)]
pub struct PostingsUnion {
    documents: Vec<u32>,
    bitmaps: Vec<RoaringBitmap>,
}

impl PostingsUnion {
    /// Adds stored postings; `path` names the generation in errors.
    pub fn add(&mut self, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        if let Some(bitmap) = decode_postings(path, bytes, &mut self.documents)? {
            self.bitmaps.push(bitmap);
        }
        Ok(())
    }

    pub fn finish(mut self) -> RoaringBitmap {
        self.documents.sort_unstable();
        self.documents.dedup();
        self.bitmaps.push(
            RoaringBitmap::from_sorted_iter(self.documents).expect("sorted and deduplicated"),
        );
        self.bitmaps.union()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postings_round_trip_short_and_long() {
        let path = Path::new("test");
        for documents in [
            vec![],
            vec![0],
            vec![7],
            vec![3, 1_000_000, u32::MAX],
            vec![1, 2, 3, 4],
            (0..5).collect(),
            (0..100_000).step_by(3).collect::<Vec<u32>>(),
        ] {
            let bitmap: RoaringBitmap = documents.iter().copied().collect();
            let bytes = encode_bitmap(&bitmap);
            if bitmap.len() == 1 {
                assert!(bytes.len() <= 6, "one document in {} bytes", bytes.len());
            }
            assert_eq!(
                decode_bitmap(path, &bytes).unwrap(),
                bitmap,
                "{documents:?}"
            );
        }
        assert!(decode_bitmap(path, &[2, 0x80]).is_err(), "cut short");
        assert!(decode_bitmap(path, &[9]).is_err(), "unknown encoding");
    }

    #[test]
    fn a_union_mixes_short_lists_and_bitmaps() {
        let path = Path::new("test");
        let mut union = PostingsUnion::default();
        let long: RoaringBitmap = (100..200).collect();
        for set in [vec![5u32, 150], vec![1], vec![]] {
            let bitmap: RoaringBitmap = set.into_iter().collect();
            union.add(path, &encode_bitmap(&bitmap)).unwrap();
        }
        union.add(path, &encode_bitmap(&long)).unwrap();
        let expected: RoaringBitmap = [1, 5].into_iter().chain(100..200).collect();
        assert_eq!(union.finish(), expected);
    }
}
