//! The one clock the server and the importer read the time from.
//!
//! Behaviour that depends on time (an import's stamp when the files state none, Bulk Data
//! export expiry, JWT `exp` and `nbf`, the search engine's "now" for `ap`, a search's deadline,
//! the grace of the previous generation, the audit trail's times) reads a [`Clock`] handed to
//! it instead of the system clock. `annuaire serve` and `annuaire import` use
//! [`Clock::system`]; a test builds a [`Clock::manual`] and moves its time with the
//! [`ClockHandle`], so that it sees a token expire or an export go away without waiting for
//! the time to pass.
//!
//! A clock answers two questions: the wall time ([`Clock::now_utc`], what is stamped and
//! compared with dates) and a monotonic instant ([`Clock::instant`], what deadlines and
//! durations are measured with). A manual clock moves both by the same amount, so deadlines
//! taken from it move with its wall time.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

/// Where the time comes from: the system, or a test's hand. Cheap to clone (a pointer at
/// most); every clone of a manual clock sees the same time.
#[derive(Clone, Default)]
pub struct Clock {
    /// `None`: the system clock.
    manual: Option<Arc<Manual>>,
}

/// The time of a manual clock: a wall time, and how far its monotonic time has moved since
/// `base`.
struct Manual {
    base: Instant,
    state: Mutex<ManualTime>,
}

#[derive(Clone, Copy)]
struct ManualTime {
    wall: OffsetDateTime,
    elapsed: Duration,
}

impl Manual {
    fn time(&self) -> ManualTime {
        *self.state.lock().expect("clock lock")
    }

    fn update(&self, change: impl FnOnce(&mut ManualTime)) {
        change(&mut self.state.lock().expect("clock lock"));
    }
}

/// Moves the time of the manual clock it was made with ([`Clock::manual`]).
#[derive(Clone)]
pub struct ClockHandle {
    manual: Arc<Manual>,
}

impl Clock {
    /// The system clock: `OffsetDateTime::now_utc` and `Instant::now`.
    pub fn system() -> Clock {
        Clock { manual: None }
    }

    /// A clock that stands still at `start` until its handle moves it.
    pub fn manual(start: OffsetDateTime) -> (Clock, ClockHandle) {
        let manual = Arc::new(Manual {
            base: Instant::now(),
            state: Mutex::new(ManualTime {
                wall: start,
                elapsed: Duration::ZERO,
            }),
        });
        let handle = ClockHandle {
            manual: manual.clone(),
        };
        (
            Clock {
                manual: Some(manual),
            },
            handle,
        )
    }

    /// The wall time, in UTC.
    pub fn now_utc(&self) -> OffsetDateTime {
        match &self.manual {
            None => OffsetDateTime::now_utc(),
            Some(manual) => manual.time().wall,
        }
    }

    /// The wall time in whole seconds since the Unix epoch (JWT `exp` and `nbf` are in these);
    /// 0 before 1970.
    pub fn unix_seconds(&self) -> u64 {
        u64::try_from(self.now_utc().unix_timestamp()).unwrap_or(0)
    }

    /// A monotonic instant, for deadlines and durations: never goes back, whatever the wall
    /// time does.
    pub fn instant(&self) -> Instant {
        match &self.manual {
            None => Instant::now(),
            Some(manual) => manual.base + manual.time().elapsed,
        }
    }

    /// The time passed since `earlier` (an [`Clock::instant`] of this clock); zero if
    /// `earlier` is later.
    pub fn since(&self, earlier: Instant) -> Duration {
        self.instant().saturating_duration_since(earlier)
    }

    /// Whether this is the system clock.
    pub fn is_system(&self) -> bool {
        self.manual.is_none()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.manual {
            None => f.write_str("Clock::system"),
            Some(manual) => write!(f, "Clock::manual(at {})", manual.time().wall),
        }
    }
}

impl ClockHandle {
    /// Moves the clock forward by `by`: its wall time and its monotonic time alike.
    pub fn advance(&self, by: Duration) {
        self.manual.update(|time| {
            time.wall += by;
            time.elapsed += by;
        });
    }

    /// Sets the wall time. Moving it forward moves the monotonic time as much; moving it back
    /// (a system clock stepped back) leaves the monotonic time where it is.
    pub fn set(&self, wall: OffsetDateTime) {
        self.manual.update(|time| {
            if let Ok(forward) = Duration::try_from(wall - time.wall) {
                time.elapsed += forward;
            }
            time.wall = wall;
        });
    }

    /// The clock's wall time now.
    pub fn now_utc(&self) -> OffsetDateTime {
        self.manual.time().wall
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_manual_clock_stands_still_until_moved_and_its_instants_move_with_it() {
        let (clock, handle) = Clock::manual(datetime!(2026-11-01 00:00:00 UTC));
        let copy = clock.clone();
        let deadline = clock.instant() + Duration::from_secs(10);
        assert_eq!(clock.now_utc(), datetime!(2026-11-01 00:00:00 UTC));
        assert_eq!(clock.unix_seconds(), 1_793_491_200);
        handle.advance(Duration::from_secs(9));
        assert!(copy.instant() < deadline, "every clone sees the same time");
        handle.advance(Duration::from_secs(1));
        assert!(clock.instant() >= deadline);
        assert_eq!(clock.now_utc(), datetime!(2026-11-01 00:00:10 UTC));
        assert_eq!(handle.now_utc(), clock.now_utc());
    }

    #[test]
    fn setting_the_wall_time_back_leaves_the_monotonic_time_alone() {
        let (clock, handle) = Clock::manual(datetime!(2026-11-01 00:00:00 UTC));
        let start = clock.instant();
        handle.set(datetime!(2026-11-01 01:00:00 UTC));
        assert_eq!(clock.since(start), Duration::from_secs(3600));
        handle.set(datetime!(2026-10-01 00:00:00 UTC));
        assert_eq!(clock.now_utc(), datetime!(2026-10-01 00:00:00 UTC));
        assert_eq!(clock.since(start), Duration::from_secs(3600));
    }

    #[test]
    fn the_system_clock_follows_the_system() {
        let clock = Clock::default();
        assert!(clock.is_system());
        let before = OffsetDateTime::now_utc();
        let now = clock.now_utc();
        assert!(now >= before && now - before < time::Duration::seconds(5));
        let start = clock.instant();
        assert!(clock.since(start) < Duration::from_secs(5));
    }
}
