//! What one search may cost. A public directory must survive any single request: every knob a
//! client turns that multiplies work (parameters, OR values, sort keys, includes, `:iterate`,
//! short `:contains` needles) has a ceiling, checked when the request is parsed, before any
//! work is done, and every search has a deadline, checked inside the loops that do the work.
//! A request over a limit is refused with a 400 OperationOutcome whose issue code is
//! `too-costly` (FHIR's code for it) and which names the setting.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::clock::Clock;

/// The limits, `[limits]` in the configuration file. Defaults are generous for every search a
/// directory client makes (the interoperability suite's and the ANS client's all fit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Parameters in one request, search and result parameters together.
    pub max_parameters: usize,
    /// Values in one OR list (`family=a,b,c` has three).
    pub max_or_values: usize,
    /// Keys of `_sort`.
    pub max_sort_keys: usize,
    /// `_include` and `_revinclude` parameters together.
    pub max_include_parameters: usize,
    /// Resources a page may include; past it the page says so in an outcome entry.
    pub max_included: usize,
    /// Rounds of `:iterate`; past them the page says so in an outcome entry.
    pub max_iterate_depth: usize,
    /// Characters a `:contains` value must have, after folding (shorter ones match most of the
    /// dictionary).
    pub min_contains_chars: usize,
    /// Milliseconds a search may run before it is stopped (time waiting for a slot included).
    pub deadline_ms: u64,
    /// Searches doing their work at once (lookups by id or identifier do not take a slot).
    pub max_running_searches: usize,
    /// Searches that may wait for a slot; past them a search is turned away with 503.
    pub max_waiting_searches: usize,
    /// Bytes of a request URL (longer: 414; long searches go as `POST _search`).
    pub max_url_bytes: usize,
    /// Bytes of a request's headers together (more: 431).
    pub max_header_bytes: usize,
    /// Bytes of a `POST _search` form body (more: 413).
    pub max_body_bytes: usize,
    /// Milliseconds a client has to send a `POST _search` body (slower: 408).
    pub body_timeout_ms: u64,
    /// Milliseconds a client has to send a request's line and headers (slower: 408, closed).
    pub header_timeout_ms: u64,
    /// Milliseconds a response may stay blocked because its client does not read it (or reads
    /// less than 64 KiB of it in that time) before the connection is closed.
    pub write_timeout_ms: u64,
    /// Connections one client address may hold at once (trusted proxies are not counted);
    /// the next one is answered 429 and closed.
    pub max_connections_per_address: usize,
    /// Rate limits charge by work: a request takes one token from its caller's bucket, plus one
    /// for each whole `work_unit_ms` its search or history page ran, so an expensive search
    /// costs what the cheap requests it displaced would have.
    pub work_unit_ms: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_parameters: 40,
            max_or_values: 50,
            max_sort_keys: 4,
            max_include_parameters: 8,
            max_included: 2000,
            max_iterate_depth: 3,
            min_contains_chars: 3,
            deadline_ms: 10_000,
            max_running_searches: 8,
            max_waiting_searches: 64,
            max_url_bytes: 8 * 1024,
            max_header_bytes: 16 * 1024,
            max_body_bytes: 64 * 1024,
            body_timeout_ms: 10_000,
            header_timeout_ms: 5_000,
            work_unit_ms: 20,
            write_timeout_ms: 15_000,
            max_connections_per_address: 256,
        }
    }
}

impl Limits {
    pub fn deadline(&self) -> Duration {
        Duration::from_millis(self.deadline_ms)
    }

    /// Tokens a request whose search worked for `work` is charged beyond the one every request
    /// takes.
    pub fn extra_tokens_for(&self, work: Duration) -> u32 {
        let units = work.as_millis() / u128::from(self.work_unit_ms.max(1));
        u32::try_from(units).unwrap_or(u32::MAX)
    }
}

/// Why a search is refused or stopped for its cost.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("too costly: {reason} (limit `limits.{setting}` = {value})")]
pub struct TooCostly {
    /// The setting's name in `[limits]`.
    pub setting: &'static str,
    pub value: u64,
    pub reason: String,
}

impl TooCostly {
    pub fn new(setting: &'static str, value: impl TryInto<u64>, reason: impl Into<String>) -> Self {
        TooCostly {
            setting,
            value: value.try_into().unwrap_or(u64::MAX),
            reason: reason.into(),
        }
    }
}

/// Steps of a loop between two budget checks (a check reads the clock).
pub const CHECK_EVERY: usize = 256;

/// Why a running search stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Interrupted {
    #[error("the search ran past its deadline of {0} ms")]
    Deadline(u64),
    #[error("the client went away")]
    Cancelled,
}

/// The time a search has left, and whether its client is still waiting. Cheap to check: the
/// loops that do a search's work call [`Budget::check`] every few hundred steps.
#[derive(Debug, Clone)]
pub struct Budget {
    deadline: Instant,
    deadline_ms: u64,
    cancelled: Arc<AtomicBool>,
    /// What the deadline is measured with: the server's clock.
    clock: Clock,
}

impl Budget {
    /// The budget of a search starting now by `clock`.
    pub fn new(limits: &Limits, clock: &Clock) -> Budget {
        Budget {
            deadline: clock.instant() + limits.deadline(),
            deadline_ms: limits.deadline_ms,
            cancelled: Arc::new(AtomicBool::new(false)),
            clock: clock.clone(),
        }
    }

    /// No deadline (the import, tests).
    pub fn unlimited() -> Budget {
        let clock = Clock::system();
        Budget {
            deadline: clock.instant() + Duration::from_secs(365 * 86_400),
            deadline_ms: u64::MAX,
            cancelled: Arc::new(AtomicBool::new(false)),
            clock,
        }
    }

    /// Stops the work at its next check (the client disconnected).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// A guard that cancels the search when dropped: held by the request handler, whose future
    /// actix drops when the client goes away.
    pub fn cancel_on_drop(&self) -> CancelOnDrop {
        CancelOnDrop {
            cancelled: self.cancelled.clone(),
            armed: true,
        }
    }

    pub fn check(&self) -> Result<(), Interrupted> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(Interrupted::Cancelled);
        }
        if self.clock.instant() >= self.deadline {
            return Err(Interrupted::Deadline(self.deadline_ms));
        }
        Ok(())
    }
}

/// Cancels its search when dropped, unless disarmed first (the search finished).
pub struct CancelOnDrop {
    cancelled: Arc<AtomicBool>,
    armed: bool,
}

impl CancelOnDrop {
    pub fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.cancelled.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_stop_on_deadline_and_on_cancel() {
        let limits = Limits {
            deadline_ms: 0,
            ..Limits::default()
        };
        assert_eq!(
            Budget::new(&limits, &Clock::system()).check(),
            Err(Interrupted::Deadline(0))
        );
        let budget = Budget::unlimited();
        assert_eq!(budget.check(), Ok(()));
        let guard = budget.cancel_on_drop();
        drop(guard);
        assert_eq!(budget.check(), Err(Interrupted::Cancelled));
        let budget = Budget::unlimited();
        budget.cancel_on_drop().disarm();
        assert_eq!(budget.check(), Ok(()));
    }

    #[test]
    fn work_is_charged_in_whole_units() {
        let limits = Limits {
            work_unit_ms: 20,
            ..Limits::default()
        };
        assert_eq!(limits.extra_tokens_for(Duration::from_millis(19)), 0);
        assert_eq!(limits.extra_tokens_for(Duration::from_millis(20)), 1);
        assert_eq!(limits.extra_tokens_for(Duration::from_millis(1_000)), 50);
        let zero = Limits {
            work_unit_ms: 0,
            ..Limits::default()
        };
        assert_eq!(
            zero.extra_tokens_for(Duration::from_millis(3)),
            3,
            "0 reads as 1 ms"
        );
    }

    #[test]
    fn refusals_name_the_setting() {
        let e = TooCostly::new("max_sort_keys", 4usize, "`_sort` has 9 keys");
        assert_eq!(
            e.to_string(),
            "too costly: `_sort` has 9 keys (limit `limits.max_sort_keys` = 4)"
        );
    }
}
