//! Progress of long work: a bar on a terminal, a plain log line every 10 % otherwise (CI logs,
//! redirected output), never both.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    label: String,
    total: u64,
    done: AtomicU64,
    bar: Option<ProgressBar>,
    logged_tenths: Mutex<u64>,
}

/// What the counted units are, for display.
#[derive(Debug, Clone, Copy)]
pub enum Unit {
    Bytes,
    Items,
}

impl Progress {
    pub fn new(label: &str, total: u64, unit: Unit) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let template = match unit {
                Unit::Bytes => "{msg:<28} [{bar:40}] {bytes}/{total_bytes} ({eta} left)",
                Unit::Items => "{msg:<28} [{bar:40}] {pos}/{len} ({eta} left)",
            };
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(template)
                    .expect("template is valid")
                    .progress_chars("=> "),
            );
            bar.set_message(label.to_owned());
            bar
        });
        if bar.is_none() {
            tracing::info!("{label}...");
        }
        Progress {
            label: label.to_owned(),
            total,
            done: AtomicU64::new(0),
            bar,
            logged_tenths: Mutex::new(0),
        }
    }

    pub fn inc(&self, amount: u64) {
        let done = self.done.fetch_add(amount, Ordering::Relaxed) + amount;
        match &self.bar {
            Some(bar) => bar.inc(amount),
            None if self.total > 0 => {
                let tenths = (done * 10 / self.total).min(10);
                let mut logged = self.logged_tenths.lock().expect("progress lock");
                if tenths > *logged && tenths < 10 {
                    *logged = tenths;
                    tracing::info!("{}: {}%", self.label, tenths * 10);
                }
            }
            None => {}
        }
    }

    /// Prints a line without garbling the bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        tracing::info!("{}: done", self.label);
    }
}
