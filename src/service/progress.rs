//! A progress bar on stderr for long CLI work (`once` over many feeds, `test-rule --history`
//! over a big database). It is drawn only when stderr is a terminal and the command enabled it;
//! piped or under systemd it stays silent. Log lines written while a bar is shown go through
//! [`LogWriter`], which clears the bar, writes the line and draws the bar again, so the two
//! never garble each other.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Whether bars may be drawn at all (set by the CLI for commands that want them).
static ENABLED: AtomicBool = AtomicBool::new(false);

/// The bar on screen, if any.
static BAR: Mutex<Option<Bar>> = Mutex::new(None);

/// Redraw at most this often.
const REDRAW_EVERY: Duration = Duration::from_millis(100);

/// Width of the bar itself, in cells.
const WIDTH: usize = 30;

struct Bar {
    label: String,
    unit: String,
    done: u64,
    total: u64,
    drawn_at: Option<Instant>,
}

impl Bar {
    fn render(&self) -> String {
        let fraction = if self.total == 0 { 1.0 } else { (self.done as f64 / self.total as f64).min(1.0) };
        let filled = (fraction * WIDTH as f64).round() as usize;
        format!(
            "{} [{}{}] {}/{} {} {:>3}%",
            self.label,
            "#".repeat(filled),
            "-".repeat(WIDTH - filled),
            self.done,
            self.total,
            self.unit,
            (fraction * 100.0).floor() as u64
        )
    }

    fn draw(&mut self, out: &mut impl Write) {
        let _ = write!(out, "\r\x1b[2K{}", self.render());
        let _ = out.flush();
        self.drawn_at = Some(Instant::now());
    }
}

fn lock() -> std::sync::MutexGuard<'static, Option<Bar>> {
    BAR.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Allow bars for this process when stderr is a terminal.
pub fn enable() {
    set_enabled(std::io::stderr().is_terminal());
}

fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// A bar on screen until dropped; does nothing when bars are not enabled.
#[derive(Debug)]
#[must_use = "the bar disappears when this is dropped"]
pub struct Progress {
    active: bool,
}

/// Show a bar counting `total` units of work (e.g. "feeds", "items").
pub fn start(label: &str, total: u64, unit: &str) -> Progress {
    if !ENABLED.load(Ordering::Relaxed) {
        return Progress { active: false };
    }
    let mut bar = Bar { label: label.to_string(), unit: unit.to_string(), done: 0, total, drawn_at: None };
    bar.draw(&mut std::io::stderr().lock());
    *lock() = Some(bar);
    Progress { active: true }
}

impl Progress {
    /// Count `n` more units as done.
    pub fn advance(&self, n: u64) {
        if !self.active {
            return;
        }
        if let Some(bar) = lock().as_mut() {
            bar.done += n;
            let due = bar.drawn_at.is_none_or(|t| t.elapsed() >= REDRAW_EVERY) || bar.done >= bar.total;
            if due {
                bar.draw(&mut std::io::stderr().lock());
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.active && lock().take().is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

/// The writer for log lines: collects one event and, on drop, writes it above the bar.
#[derive(Debug, Default)]
pub struct LogWriter {
    buf: Vec<u8>,
}

impl Write for LogWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let mut bar = lock();
        let mut err = std::io::stderr().lock();
        match bar.as_mut() {
            Some(b) => {
                let _ = write!(err, "\r\x1b[2K");
                let _ = err.write_all(&self.buf);
                b.draw(&mut err);
            }
            None => {
                let _ = err.write_all(&self.buf);
            }
        }
    }
}

/// For `tracing_subscriber::fmt().with_writer(progress::log_writer)`.
pub fn log_writer() -> LogWriter {
    LogWriter::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_shows_counts_and_percent_and_fills_in_proportion() {
        let mut bar = Bar { label: "polling".into(), unit: "feeds".into(), done: 0, total: 4, drawn_at: None };
        assert_eq!(bar.render(), format!("polling [{}] 0/4 feeds   0%", "-".repeat(WIDTH)));
        bar.done = 1;
        let quarter = bar.render();
        assert!(quarter.contains(&format!("[{}{}]", "#".repeat(8), "-".repeat(22))), "{quarter}");
        assert!(quarter.ends_with("1/4 feeds  25%"), "{quarter}");
        bar.done = 4;
        assert!(bar.render().ends_with("4/4 feeds 100%"));
        let mut out = Vec::new();
        bar.draw(&mut out);
        assert!(out.starts_with(b"\r\x1b[2K"), "a redraw clears the line first");
    }

    #[test]
    fn an_empty_job_is_complete_not_a_division_by_zero() {
        let bar = Bar { label: "x".into(), unit: "items".into(), done: 0, total: 0, drawn_at: None };
        assert!(bar.render().ends_with("0/0 items 100%"));
    }

    #[test]
    fn without_a_terminal_nothing_is_drawn_or_kept() {
        set_enabled(false);
        let p = start("polling", 10, "feeds");
        p.advance(3);
        assert!(lock().is_none());
    }
}
