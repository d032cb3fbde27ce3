//! What a hospital writes: its lists of correspondents (`List`) and its subscriptions
//! (`Subscription`), kept in a store of their own beside the generations, never inside them.
//! An import never touches it; a generation switch never loses it.
//!
//! [`store`]: the sled database `data/local/` (versions, history, deletions, the numbered log of
//! changes the subscriptions read), synced to disk before a write is acknowledged.
//! [`list`]: what a `List` must be to be stored, and the flags that say which members an import
//! deactivated or deleted. [`members`]: `_list` resolution for searches.
//!
//! The HTTP routes are in `http::lists` and `http::subscriptions`; the subscriptions' rules in
//! `notify`.

pub mod backup;
pub mod list;
pub mod members;
pub mod search;
pub mod store;

pub use self::store::{
    Change, ChangeKind, LocalError, LocalResource, LocalStore, LocalType, Read, Written,
};
