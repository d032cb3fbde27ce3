//! Row scattering: a bounded delay queue in front of the RPPS writer.
//!
//! In the real extraction a person's rows are not adjacent, so an importer cannot assume grouping.
//! Rows handed to [`Scatter::defer`] come out `delay` rows later (counted in rows written), and rows
//! handed to [`Scatter::defer_to_end`] come out after everything else. Memory stays bounded: the
//! queue holds about (deferred rows per written row) × (mean delay) rows, and the end buffer is capped.

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
    line: String,
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
    written: u64,
    sequence: u64,
    pending: BinaryHeap<Reverse<Pending>>,
    tail: Vec<String>,
}

impl<W: Write> Scatter<W> {
    pub(crate) fn new(out: W) -> Self {
        Scatter {
            out,
            written: 0,
            sequence: 0,
            pending: BinaryHeap::new(),
            tail: Vec::new(),
        }
    }

    /// Writes a line (which ends with `\n`) now, then any deferred line that has become due.
    pub(crate) fn write_now(&mut self, line: &str) -> io::Result<()> {
        self.write_line(line)?;
        self.release_due()
    }

    /// Queues a line to be written after `delay` more lines.
    pub(crate) fn defer(&mut self, line: String, delay: u64) {
        let due = self.written + delay.max(1);
        self.sequence += 1;
        self.pending.push(Reverse(Pending {
            due,
            sequence: self.sequence,
            line,
        }));
    }

    /// Queues a line for the end of the file.
    pub(crate) fn defer_to_end(&mut self, line: String) {
        if self.tail.len() < TAIL_CAPACITY {
            self.tail.push(line);
        } else {
            self.defer(line, TAIL_FALLBACK_DELAY);
        }
    }

    /// Writes every queued line (in due order, then the end buffer) and returns the writer and the
    /// number of lines written.
    pub(crate) fn finish(mut self) -> io::Result<(W, u64)> {
        while let Some(Reverse(pending)) = self.pending.pop() {
            self.write_line(&pending.line)?;
        }
        for line in std::mem::take(&mut self.tail) {
            self.write_line(&line)?;
        }
        self.out.flush()?;
        Ok((self.out, self.written))
    }

    fn write_line(&mut self, line: &str) -> io::Result<()> {
        self.out.write_all(line.as_bytes())?;
        self.written += 1;
        Ok(())
    }

    fn release_due(&mut self) -> io::Result<()> {
        while self
            .pending
            .peek()
            .is_some_and(|Reverse(p)| p.due <= self.written)
        {
            if let Some(Reverse(pending)) = self.pending.pop() {
                self.write_line(&pending.line)?;
            }
        }
        Ok(())
    }
}
