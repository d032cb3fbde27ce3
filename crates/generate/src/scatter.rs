//! Row scattering: a bounded delay queue in front of the RPPS writer.
//!
//! In the real extraction a person's rows are not adjacent, so an importer cannot assume grouping.
//! Rows handed to [`Scatter::place_later`] come out `delay` rows later (counted in rows written), and
//! rows handed to [`Scatter::place_at_end`] come out after everything else. Memory stays bounded: the
//! queue holds about (deferred rows per written row) × (mean delay) rows, and the end buffer is capped.
//!
//! Later days (see the crate documentation) replay day 1's placements: a row an event removed is
//! still placed, as a *ghost* that advances the row count without writing anything, and a row an
//! event added is placed *uncounted* (written, but not advancing the count). So every row's position
//! relative to the other rows of day 1 is the same on every day.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::io::{self, Write};

/// Most rows kept for the very end of the file; later requests fall back to a long delay.
const TAIL_CAPACITY: usize = 5_000;

/// Delay used when the end buffer is full.
const TAIL_FALLBACK_DELAY: u64 = 200_000;

/// A row waiting for its turn. Ordered by due position, then by insertion order (unique), so the
/// output never depends on anything but the call sequence.
struct Pending {
    due: u64,
    sequence: u64,
    /// `None`: a ghost.
    line: Option<String>,
    /// Whether writing it advances the row count.
    counted: bool,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.due, self.sequence).cmp(&(other.due, other.sequence))
    }
}

/// The delay-queue writer.
pub(crate) struct Scatter<W: Write> {
    out: W,
    /// Rows placed so far (ghosts included, uncounted rows excluded): the clock delays count in.
    written: u64,
    /// Lines actually written.
    lines: u64,
    sequence: u64,
    pending: BinaryHeap<Reverse<Pending>>,
    tail: Vec<Option<String>>,
}

impl<W: Write> Scatter<W> {
    pub(crate) fn new(out: W) -> Self {
        Scatter {
            out,
            written: 0,
            lines: 0,
            sequence: 0,
            pending: BinaryHeap::new(),
            tail: Vec::new(),
        }
    }

    /// Writes `line` (which ends with `\n`) now, or a ghost if `None` (see module doc), then any
    /// deferred line that has become due.
    pub(crate) fn place_now(&mut self, line: Option<&str>) -> io::Result<()> {
        self.write_line(line, true)?;
        self.release_due()
    }

    /// Queues a line, or a ghost if `None`, to be placed after `delay` more rows.
    pub(crate) fn place_later(&mut self, line: Option<String>, delay: u64) {
        self.push(line, delay, true);
    }

    /// Queues a line written after `delay` more rows without counting as a row itself.
    pub(crate) fn defer_uncounted(&mut self, line: String, delay: u64) {
        self.push(Some(line), delay, false);
    }

    /// Queues a line, or a ghost if `None`, for the end of the file (ghosts use end-buffer room, so
    /// that the other rows go where they went on day 1).
    pub(crate) fn place_at_end(&mut self, line: Option<String>) {
        if self.tail.len() < TAIL_CAPACITY {
            self.tail.push(line);
        } else {
            self.place_later(line, TAIL_FALLBACK_DELAY);
        }
    }

    /// Writes every queued line (in due order, then the end buffer) and returns the writer and the
    /// number of lines written.
    pub(crate) fn finish(mut self) -> io::Result<(W, u64)> {
        while let Some(Reverse(pending)) = self.pending.pop() {
            self.write_line(pending.line.as_deref(), pending.counted)?;
        }
        for line in std::mem::take(&mut self.tail) {
            self.write_line(line.as_deref(), true)?;
        }
        self.out.flush()?;
        Ok((self.out, self.lines))
    }

    fn push(&mut self, line: Option<String>, delay: u64, counted: bool) {
        let due = self.written + delay.max(1);
        self.sequence += 1;
        self.pending.push(Reverse(Pending {
            due,
            sequence: self.sequence,
            line,
            counted,
        }));
    }

    fn write_line(&mut self, line: Option<&str>, counted: bool) -> io::Result<()> {
        if let Some(line) = line {
            self.out.write_all(line.as_bytes())?;
            self.lines += 1;
        }
        if counted {
            self.written += 1;
        }
        Ok(())
    }

    fn release_due(&mut self) -> io::Result<()> {
        while self
            .pending
            .peek()
            .is_some_and(|Reverse(p)| p.due <= self.written)
        {
            if let Some(Reverse(pending)) = self.pending.pop() {
                self.write_line(pending.line.as_deref(), pending.counted)?;
            }
        }
        Ok(())
    }
}
