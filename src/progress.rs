//! Progress on long runs: a bar on a terminal, nothing in a batch job or with `--quiet`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar over a known amount of work (bytes, rows, days).
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar over `total` bytes, drawn on stderr only when it is a terminal and not
    /// `quiet`.
    pub fn bytes(total: u64, message: &str, quiet: bool) -> Progress {
        Progress::new(
            total,
            message,
            quiet,
            "{msg:>10} [{bar:32}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
    }

    /// A bar over `total` items.
    pub fn items(total: u64, message: &str, quiet: bool) -> Progress {
        Progress::new(
            total,
            message,
            quiet,
            "{msg:>10} [{bar:32}] {pos}/{len} eta {eta}",
        )
    }

    fn new(total: u64, message: &str, quiet: bool, template: &str) -> Progress {
        let visible = !quiet && std::io::stderr().is_terminal();
        let bar = if visible {
            ProgressBar::new(total)
        } else {
            ProgressBar::hidden()
        };
        if visible {
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(8));
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.enable_steady_tick(Duration::from_millis(250));
        }
        bar.set_message(message.to_owned());
        Progress { bar }
    }

    pub fn set(&self, position: u64) {
        self.bar.set_position(position);
    }

    pub fn inc(&self, delta: u64) {
        self.bar.inc(delta);
    }

    pub fn set_message(&self, message: &str) {
        self.bar.set_message(message.to_owned());
    }

    /// Prints a line above the bar (or plainly to stderr when there is no bar).
    pub fn println(&self, line: &str) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
