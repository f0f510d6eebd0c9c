//! Progress bars on standard error, drawn only on a terminal and never with `--quiet` or
//! `--output json`: a count bar (Blueprints, images) and a bytes bar (blob transfers). The
//! library reports [`Event`]s through [`crate::oci::copy::Progress`]; this renders them.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Printer;
use crate::oci::copy::{Event, Progress};

/// The bars on screen, so that status lines printed meanwhile go above them.
static ACTIVE: Mutex<Option<Active>> = Mutex::new(None);

enum Active {
    Multi(MultiProgress),
    Bar(ProgressBar),
}

/// Runs `f` (which writes to stderr) with the bars on screen hidden, then draws them again.
pub fn suspend<R>(f: impl FnOnce() -> R) -> R {
    let active = ACTIVE.lock().ok().and_then(|g| match g.as_ref() {
        Some(Active::Multi(m)) => Some(Active::Multi(m.clone())),
        Some(Active::Bar(b)) => Some(Active::Bar(b.clone())),
        None => None,
    });
    match active {
        Some(Active::Multi(m)) => m.suspend(f),
        Some(Active::Bar(b)) => b.suspend(f),
        None => f(),
    }
}

fn set_active(a: Option<Active>) {
    if let Ok(mut g) = ACTIVE.lock() {
        *g = a;
    }
}

/// Whether bars may be drawn: stderr is a terminal, not quiet, not JSON.
pub fn enabled(p: &Printer) -> bool {
    !p.quiet && !p.json_mode() && std::io::stderr().is_terminal()
}

/// A count bar and a bytes bar, or nothing when bars are off.
pub struct Bars {
    multi: Option<MultiProgress>,
    count: Option<ProgressBar>,
    bytes: Option<ProgressBar>,
}

impl Bars {
    /// Bars for `what` (`Blueprints`, `images`), drawn only when [`enabled`].
    pub fn new(p: &Printer, what: &str) -> Bars {
        if !enabled(p) {
            return Bars::hidden();
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let count = multi.add(ProgressBar::new(0));
        if let Ok(s) = ProgressStyle::with_template(&format!(
            "{{spinner}} [{{bar:30}}] {{pos}}/{{len}} {what} {{wide_msg}}"
        )) {
            count.set_style(s.progress_chars("=> "));
        }
        count.enable_steady_tick(Duration::from_millis(120));
        let bytes = multi.add(ProgressBar::new(0));
        if let Ok(s) =
            ProgressStyle::with_template("  [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
        {
            bytes.set_style(s.progress_chars("=> "));
        }
        set_active(Some(Active::Multi(multi.clone())));
        Bars {
            multi: Some(multi),
            count: Some(count),
            bytes: Some(bytes),
        }
    }

    /// Bars that draw nothing.
    pub fn hidden() -> Bars {
        Bars {
            multi: None,
            count: None,
            bytes: None,
        }
    }

    /// A bytes-only bar for one transfer of `total` bytes (push, pull), or nothing.
    pub fn transfer(p: &Printer, what: &str, total: u64) -> Bars {
        if !enabled(p) {
            return Bars::hidden();
        }
        let bytes = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(s) = ProgressStyle::with_template(&format!(
            "{{spinner}} {what} [{{bar:30}}] {{bytes}}/{{total_bytes}} {{wide_msg}}"
        )) {
            bytes.set_style(s.progress_chars("=> "));
        }
        bytes.enable_steady_tick(Duration::from_millis(120));
        set_active(Some(Active::Bar(bytes.clone())));
        Bars {
            multi: None,
            count: None,
            bytes: Some(bytes),
        }
    }

    /// Prints a line on stderr, above the bars when they are drawn (the caller decides
    /// whether the line is wanted: `--verbose`, not `--quiet`).
    pub fn line(&self, text: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(text);
            }
            None => {
                use std::io::Write;
                let _ = writeln!(std::io::stderr().lock(), "{text}");
            }
        }
    }

    /// Marks the whole transfer of `total` bytes done.
    pub fn complete(&self, total: u64) {
        if let Some(b) = &self.bytes {
            b.set_length(total);
            b.set_position(total);
        }
    }

    /// Clears the bars.
    pub fn finish(&self) {
        if self.bytes.is_none() {
            return;
        }
        set_active(None);
        for b in [&self.count, &self.bytes].into_iter().flatten() {
            b.finish_and_clear();
        }
    }
}

impl Progress for Bars {
    fn event(&self, e: Event<'_>) {
        match e {
            Event::Planned { count } => {
                if let Some(b) = &self.count {
                    b.inc_length(count);
                }
            }
            Event::Finished { .. } => {
                if let Some(b) = &self.count {
                    b.inc(1);
                }
            }
            Event::BytesPlanned { bytes } => {
                if let Some(b) = &self.bytes {
                    b.inc_length(bytes);
                }
            }
            Event::Bytes { bytes } => {
                if let Some(b) = &self.bytes {
                    b.inc(bytes);
                }
            }
            Event::Message { text } => {
                if let Some(b) = &self.count {
                    b.set_message(text.to_string());
                }
            }
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        self.finish();
    }
}
