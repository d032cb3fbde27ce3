//! The search index of a generation: built once at import from the search parameter
//! declarations ([`build`]), kept in the generation's raw tables as [`encoding`] says
//! ([`writer`]), and read by searches ([`reader`]). [`forward`] holds the references between
//! documents that `_include`, chains and `_has` follow.

pub mod build;
pub mod encoding;
pub mod forward;
pub mod reader;
pub mod writer;
