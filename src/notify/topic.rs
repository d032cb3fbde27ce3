//! (package B) See `notify` and docs/correspondents.md.
