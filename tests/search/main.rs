//! FHIR R4 search (https://hl7.org/fhir/R4/search.html) over real HTTP, on the demo dataset of
//! `common::spawn_app`: every declared search parameter with each of its declared modifiers,
//! prefixes, AND/OR, escaping, POST `_search`, the searchset Bundle, paging, `_include` and
//! `_revinclude`, the result parameters, errors, and paging across a live import (child
//! servers over their own data directories). One module per area; one test binary for them
//! all, so that the demo dataset is imported, and the corpus read, once.
//!
//! Expected result sets are computed from the resources themselves: the whole corpus is read
//! once (`search_support::corpus`) and filtered in the test with a predicate over each
//! resource's JSON, so every search is checked for both missing and unexpected results, and
//! every returned resource is checked to really have the searched value.

#[path = "../common/mod.rs"]
mod common;
#[path = "../search_support/mod.rs"]
mod search_support;

mod bundle;
mod combining;
mod corpus;
mod dates;
mod errors;
mod finess_types;
mod includes;
mod live_import;
mod references;
mod result_params;
mod strings;
mod tokens;
