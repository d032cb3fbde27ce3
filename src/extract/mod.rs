//! Extraction files -> typed rows.
//!
//! Reads the files exactly as the ANS (RPPS `PS_LibreAcces_Personne_activite`, `_SavoirFaire`,
//! `_Dipl_AutExerc`, the MSSanté mailbox extraction) and the ministry
//! (FINESS `etalab-cs1100507`) publish them. Nothing here knows about FHIR: a row is a set of
//! named, borrowed fields, validated only as far as the file format goes (field count, encoding,
//! keys). Mapping to resources happens in `crate::mapping`.

pub mod decode;
pub mod error;
pub mod finess;
pub mod mssante;
pub mod pipe;
pub mod qualifications;
pub mod rpps;

pub use self::error::{FileError, LineTooLong, Rejected, RowError};
