//! The FINESS extractions of one import, each read whole and classified by its record tags
//! before anything is written: one file per kind (docs/formats.md §4.5), the establishments file required.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::ImportError;
use crate::extract::finess::{self, FinessFile, FinessKind};

/// Every FINESS file given, by kind.
pub(super) struct FinessSet {
    files: BTreeMap<FinessKind, (PathBuf, FinessFile)>,
}

impl FinessSet {
    /// Reads every file (refusing one that is not FINESS, or whose tags are unknown, by name),
    /// then refuses two files of one kind (naming both) and a set without establishments file.
    pub(super) fn read(paths: &[PathBuf]) -> Result<FinessSet, ImportError> {
        let mut files: BTreeMap<FinessKind, (PathBuf, FinessFile)> = BTreeMap::new();
        for path in paths {
            let file = finess::read(path)?;
            if let Some((first, _)) = files.get(&file.kind) {
                return Err(ImportError::FinessFiles(format!(
                    "{} and {} are both {}; give one file of each kind",
                    first.display(),
                    path.display(),
                    file.kind
                )));
            }
            files.insert(file.kind, (path.clone(), file));
        }
        if !files.contains_key(&FinessKind::Establishments) {
            let given: Vec<String> = files
                .iter()
                .map(|(kind, (path, _))| format!("{} ({kind})", path.display()))
                .collect();
            let given = if given.is_empty() {
                "none".to_owned()
            } else {
                given.join(", ")
            };
            return Err(ImportError::FinessFiles(format!(
                "no {} among the FINESS files given (given: {given}); it is required",
                FinessKind::Establishments
            )));
        }
        Ok(FinessSet { files })
    }

    /// The establishments file (always there).
    pub(super) fn establishments(&self) -> &FinessFile {
        &self.files[&FinessKind::Establishments].1
    }

    /// The file of `kind`, when one was given.
    pub(super) fn get(&self, kind: FinessKind) -> Option<&FinessFile> {
        self.files.get(&kind).map(|(_, file)| file)
    }

    /// Each file with its path, in kind order (whatever the order given).
    pub(super) fn iter(&self) -> impl Iterator<Item = (&Path, &FinessFile)> {
        self.files
            .values()
            .map(|(path, file)| (path.as_path(), file))
    }

    /// The kinds given, in kind order.
    pub(super) fn kinds(&self) -> Vec<FinessKind> {
        self.files.keys().copied().collect()
    }
}
