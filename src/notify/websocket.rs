//! (package C) See `notify` and docs/correspondents.md.
