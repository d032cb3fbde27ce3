//! Extraction files -> typed rows.
//!
//! Reads the files exactly as the ANS (RPPS `PS_LibreAcces_Personne_activite`, `_SavoirFaire`,
//! `_Dipl_AutExerc`, the MSSanté mailbox extraction) and the ministry
//! (the FINESS etalab extractions: establishments `cs1100507`, and the record types of
//! `finess_records` for the other kinds) publish them. Nothing here knows about FHIR: a row is a set of
//! named, borrowed fields, validated only as far as the file format goes (field count, encoding,
//! keys). Mapping to resources happens in `crate::mapping`.

pub mod decode;
pub mod error;
pub mod finess;
pub mod finess_lines;
pub mod finess_records;
pub mod mssante;
pub mod pipe;
pub mod qualifications;
pub mod rpps;

pub use self::error::{FileError, LineTooLong, Rejected, RowError};
