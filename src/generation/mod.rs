//! Generations: what one import wrote, complete and never modified, and how they are written,
//! switched to, served and retired. The only module that knows the data directory's layout.
//!
//! - [`format`]: the layout in one place (version, file names, the table of trees), written
//!   for people in `docs/store-format.md`.
//! - [`builder`]: the write path — resources in, versions decided against the generation
//!   before ([`reconcile`], [`history`]), the search index written, then commit and switch.
//! - [`reader`]: a complete generation opened for serving — resources by id and by document
//!   number, their history, and the raw tables of the search index.
//! - [`datadir`], [`live`], [`copy`]: the data directory's generations and locks, the ones a
//!   server holds open, and copies between directories (replicas).
//! - Underneath: [`record`] (what is kept per resource), [`content`] (resources' bytes,
//!   compressed), [`block`] (sorted tables in blocks of the index file), [`tables`] (the sled
//!   database), [`mapped`] (files mapped into memory).
//!
//! Every import writes a brand-new generation, syncs it, and only then switches the data
//! directory's `CURRENT` pointer to it (an atomic rename). A crash or a kill can only damage
//! the generation being written, which nothing serves yet; the previous one stays served and
//! intact.

pub mod block;
pub mod builder;
pub mod content;
pub mod copy;
pub mod datadir;
pub mod error;
pub mod format;
pub mod history;
pub mod info;
pub mod live;
pub mod mapped;
pub mod reader;
pub mod reconcile;
pub mod record;
pub mod tables;

pub use builder::{Description, GenerationBuilder, IndexTarget, Versioned};
pub use datadir::{DataDir, ImportReport};
pub use error::StoreError;
pub use history::HistoryEntry;
pub use info::{GenerationInfo, ResourceCounts};
pub use live::{Generations, open_current};
pub use reader::Generation;
pub use record::{Location, Millis, Record, State, StoredResource, Version};
