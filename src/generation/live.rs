//! The generations a running server reads, and the switch to a newly imported one.
//!
//! An import into a served directory writes a new generation and renames `CURRENT`; the
//! server notices ([`Generations::switch_if_changed`], polled by the application) and serves
//! the new one without a restart. It keeps the generation before open until the next switch,
//! so that sorted searches already paging finish on the data they started on.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::datadir::DataDir;
use super::error::StoreError;
use super::reader::Generation;
use crate::clock::Clock;

/// Opens the generation `CURRENT` names, marking it in use (so that imports never delete it
/// while it is open).
pub fn open_current(data: &DataDir, cache_bytes: u64) -> Result<(String, Generation), StoreError> {
    let name = data
        .current()?
        .ok_or_else(|| StoreError::NoData(data.root().to_path_buf()))?;
    let in_use = data.hold_generation(&name)?;
    let generation = Generation::open(
        &data.generation_path(&name),
        &data.history_dir(),
        cache_bytes,
        Some(in_use),
    )?;
    Ok((name, generation))
}

/// The current generation and the one before it. Before the first import (or copy) into
/// the data directory there is none: the server runs, says it is not ready, and serves the
/// first generation as soon as it appears.
pub struct Generations {
    data: DataDir,
    cache_bytes: u64,
    /// Name of the current generation's directory.
    serving: Mutex<Option<String>>,
    current: RwLock<Option<Arc<Generation>>>,
    /// The generation before, and when it stopped being current (by `clock`).
    previous: RwLock<Option<(Arc<Generation>, Instant)>>,
    /// What the previous generation's grace is measured with.
    clock: Clock,
}

impl Generations {
    /// Opens the current generation of `data`, if there is one.
    pub fn open(data: DataDir, cache_bytes: u64) -> Result<Generations, StoreError> {
        let (serving, current) = match data.current()? {
            None => (None, None),
            Some(_) => {
                let (name, generation) = open_current(&data, cache_bytes)?;
                let generation = Arc::new(generation);
                (Some(name), Some(generation))
            }
        };
        Ok(Generations {
            data,
            cache_bytes,
            serving: Mutex::new(serving),
            current: RwLock::new(current),
            previous: RwLock::new(None),
            clock: Clock::system(),
        })
    }

    /// Measures the previous generation's grace with `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Clock) -> Generations {
        self.clock = clock;
        self
    }

    /// The data directory the generations are read from.
    pub fn data(&self) -> &DataDir {
        &self.data
    }

    /// The name of the generation served now (`gen-000003`), if any.
    pub fn serving(&self) -> Option<String> {
        self.serving.lock().expect("serving name").clone()
    }

    /// The generation served now; `None` until the first one is in place.
    pub fn current(&self) -> Option<Arc<Generation>> {
        self.current.read().expect("generation lock").clone()
    }

    /// The open generation with this id (see `GenerationInfo::id`), if it is the current or
    /// the previous one.
    pub fn get(&self, id: &str) -> Option<Arc<Generation>> {
        if let Some(current) = self.current()
            && current.info().id() == id
        {
            return Some(current);
        }
        let previous = self.previous.read().expect("generation lock").clone();
        previous.map(|(p, _)| p).filter(|p| p.info().id() == id)
    }

    /// Closes the previous generation once it has been replaced for `grace` (long enough for
    /// the sorted searches paging on it to finish), then deletes the generations and history
    /// segments nobody needs any more. Returns the generations deleted. Blocking.
    pub fn release_previous(&self, grace: Duration) -> Result<Vec<String>, StoreError> {
        {
            let mut previous = self.previous.write().expect("generation lock");
            match &*previous {
                Some((_, since)) if self.clock.since(*since) >= grace => *previous = None,
                _ => return Ok(Vec::new()),
            }
        }
        self.data.collect_garbage()
    }

    /// Switches to the generation `CURRENT` names if it is a new one; returns its name when it
    /// did. Blocking (opens a sled database).
    pub fn switch_if_changed(&self) -> Result<Option<String>, StoreError> {
        let Some(current) = self.data.current()? else {
            return Ok(None);
        };
        if Some(&current) == self.serving().as_ref() {
            return Ok(None);
        }
        let (name, generation) = open_current(&self.data, self.cache_bytes)?;
        let replaced =
            (*self.current.write().expect("generation lock")).replace(Arc::new(generation));
        if let Some(replaced) = replaced {
            *self.previous.write().expect("generation lock") =
                Some((replaced, self.clock.instant()));
        }
        *self.serving.lock().expect("serving name") = Some(name.clone());
        Ok(Some(name))
    }
}
