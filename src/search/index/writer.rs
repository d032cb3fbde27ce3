//! Writes one type's index into the tables of a generation being built (see
//! [`crate::generation::IndexTarget`]), encoded as [`super::encoding`] says.

use roaring::RoaringBitmap;

use super::encoding::{encode_bitmap, param_key, sort_key};
use super::forward::Forward;
use crate::fhir::ResourceType;
use crate::generation::block::BlockWriter;
use crate::generation::format::{IndexTable, IndexValues};
use crate::generation::{IndexTarget, StoreError};

/// The index tables of one type; each table's entries are pushed in ascending key order.
pub struct IndexWriters<'t> {
    target: &'t IndexTarget<'t>,
    rtype: ResourceType,
    postings: BlockWriter<'t>,
    terms: BlockWriter<'t>,
    trigrams: BlockWriter<'t>,
}

impl<'t> IndexWriters<'t> {
    pub fn new(target: &'t IndexTarget<'t>, rtype: ResourceType) -> IndexWriters<'t> {
        IndexWriters {
            target,
            rtype,
            postings: target.table_writer(rtype, IndexTable::Postings),
            terms: target.table_writer(rtype, IndexTable::Terms),
            trigrams: target.table_writer(rtype, IndexTable::Trigrams),
        }
    }

    /// The documents having the term of `key` (see `search::terms`).
    pub fn postings(&mut self, key: &[u8], documents: &RoaringBitmap) -> Result<(), StoreError> {
        self.postings.push(key, &encode_bitmap(documents))
    }

    /// The `:contains` dictionary of a parameter: `terms` sorted, numbered by position.
    pub fn terms(&mut self, param: &str, terms: &[&str]) -> Result<(), StoreError> {
        for (number, term) in terms.iter().enumerate() {
            let key = param_key(param, &(number as u32).to_be_bytes());
            self.terms.push(&key, term.as_bytes())?;
        }
        Ok(())
    }

    /// The numbers of the dictionary terms containing `trigram`.
    pub fn trigram(
        &mut self,
        param: &str,
        trigram: &str,
        terms: &RoaringBitmap,
    ) -> Result<(), StoreError> {
        let key = param_key(param, trigram.as_bytes());
        self.trigrams.push(&key, &encode_bitmap(terms))
    }

    /// The forward references of a reference parameter.
    pub fn forward(&mut self, param: &str, forward: &Forward) -> Result<(), StoreError> {
        let location = self.target.append_value(&forward.encode())?;
        self.target
            .name_value(self.rtype, IndexValues::Forward, param.as_bytes(), location)
    }

    /// The sort columns of a parameter (see `IndexReader::sort_ranks`): `lowest` for
    /// ascending sorts, `highest` for descending ones, stored once when they are the same
    /// (every document has at most one value).
    pub fn sort_columns(
        &mut self,
        param: &str,
        lowest: &[u32],
        highest: &[u32],
    ) -> Result<(), StoreError> {
        let write = |ranks: &[u32]| {
            let bytes: Vec<u8> = ranks.iter().flat_map(|r| r.to_le_bytes()).collect();
            self.target.append_value(&bytes)
        };
        let ascending = write(lowest)?;
        let descending = if highest == lowest {
            ascending
        } else {
            write(highest)?
        };
        for (is_descending, location) in [(false, ascending), (true, descending)] {
            self.target.name_value(
                self.rtype,
                IndexValues::Sort,
                &sort_key(param, is_descending),
                location,
            )?;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<(), StoreError> {
        self.postings.finish()?;
        self.terms.finish()?;
        self.trigrams.finish()
    }
}
