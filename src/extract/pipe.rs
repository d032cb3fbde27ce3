//! Columns of a `|`-separated ANS extraction found by header name.
//!
//! The ANS files (`PS_LibreAcces_*`, `Extraction_Correspondance_MSSante`) share one lexical format:
//! one header line of French labels, `|` between fields, no quoting, and in most generations an
//! extra empty field after a trailing `|`. Columns move and appear between file generations, so
//! they are located by their label, never by position; labels are compared trimmed, because
//! some published headers put spaces around the separators.

use std::collections::HashMap;

use super::error::RowError;

/// Where each wanted column sits in one particular file, learnt from its header line.
#[derive(Debug, Clone)]
pub struct PipeLayout {
    /// Position of each wanted label (in the order they were asked for), `None` when absent.
    positions: Vec<Option<usize>>,
    /// Number of named columns (without the trailing empty one).
    field_count: usize,
}

/// Why a header line is not the expected file's header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("its header has no `{missing}` column (found: {found})")]
pub struct MissingColumn {
    pub missing: &'static str,
    pub found: String,
}

impl PipeLayout {
    /// Locates `labels` in `header`. Every label in `required` must be present.
    pub fn from_header(
        header: &str,
        labels: &[&'static str],
        required: &[&'static str],
    ) -> Result<PipeLayout, MissingColumn> {
        let mut names: Vec<&str> = header.split('|').map(str::trim).collect();
        if names.len() > 1 && names.last() == Some(&"") {
            names.pop();
        }
        let by_name: HashMap<&str, usize> =
            names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        if let Some(missing) = required.iter().find(|r| !by_name.contains_key(*r)) {
            let mut found = names.iter().take(5).copied().collect::<Vec<_>>().join(", ");
            if names.len() > 5 {
                found.push_str(", ...");
            }
            return Err(MissingColumn { missing, found });
        }
        Ok(PipeLayout {
            positions: labels.iter().map(|l| by_name.get(l).copied()).collect(),
            field_count: names.len(),
        })
    }

    /// Splits a decoded data line. Accepts exactly the header's field count, or one more when
    /// that extra trailing field is empty (the trailing `|`).
    pub fn split<'a>(&self, line: &'a str) -> Result<Vec<&'a str>, RowError> {
        let mut fields: Vec<&'a str> = line.split('|').collect();
        if fields.len() == self.field_count + 1 && fields.last() == Some(&"") {
            fields.pop();
        }
        if fields.len() != self.field_count {
            return Err(RowError::FieldCount {
                expected: format!(
                    "{} fields (or {} with a trailing `|`)",
                    self.field_count,
                    self.field_count + 1
                ),
                found: fields.len(),
            });
        }
        Ok(fields)
    }

    /// Number of named columns in this file generation.
    pub fn field_count(&self) -> usize {
        self.field_count
    }

    /// Whether this file generation has wanted column number `index`.
    pub fn has(&self, index: usize) -> bool {
        self.positions[index].is_some()
    }

    /// The trimmed value of wanted column number `index` (its position in `labels`); empty when
    /// this file generation lacks the column.
    pub fn get<'a>(&self, fields: &[&'a str], index: usize) -> &'a str {
        match self.positions[index] {
            Some(i) => fields[i].trim(),
            None => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: &[&str] = &["A", "B", "C"];

    #[test]
    fn columns_by_name_with_trailing_separator_and_spaces() {
        let layout = PipeLayout::from_header("B | A|X|", LABELS, &["A"]).unwrap();
        let fields = layout.split("b|a|x|").unwrap();
        assert_eq!(layout.get(&fields, 0), "a");
        assert_eq!(layout.get(&fields, 1), "b");
        assert_eq!(layout.get(&fields, 2), "", "absent column reads empty");
        assert!(layout.split("b|a|x").is_ok(), "trailing `|` is optional");
        assert!(matches!(
            layout.split("b|a"),
            Err(RowError::FieldCount { found: 2, .. })
        ));
        assert!(layout.split("b|a|x|y").is_err(), "non-empty extra field");
    }

    #[test]
    fn a_required_column_must_exist() {
        let err = PipeLayout::from_header("B|C", LABELS, &["A"]).unwrap_err();
        assert_eq!(err.missing, "A");
        assert_eq!(err.found, "B, C");
    }
}
