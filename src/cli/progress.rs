//! The compiler's progress as a bar on the terminal.

use indicatif::{ProgressBar, ProgressStyle};
use neurite::compiler::Progress;

/// Draws one bar per compiler pass on stderr (nothing when stderr is not a
/// terminal). With `NEURITE_TIMINGS` set, also prints how long each pass took.
#[derive(Debug, Default)]
pub(crate) struct Bar {
    bar: Option<ProgressBar>,
    started: Option<(String, std::time::Instant)>,
}

/// Prints how long a step took when `NEURITE_TIMINGS` is set.
pub(crate) fn timing(what: &str, since: std::time::Instant) {
    if std::env::var_os("NEURITE_TIMINGS").is_some() {
        eprintln!("{what:>18}: {:.2} s", since.elapsed().as_secs_f64());
    }
}

impl Progress for Bar {
    fn begin(&mut self, pass: &str, total: u64) {
        let bar = ProgressBar::new(total);
        if let Ok(style) =
            ProgressStyle::with_template("{msg:>18} [{bar:40}] {percent:>3}% {elapsed_precise}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(pass.to_string());
        self.bar = Some(bar);
        self.started = Some((pass.to_string(), std::time::Instant::now()));
    }

    fn advance(&mut self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if let Some((pass, since)) = self.started.take() {
            timing(&pass, since);
        }
    }
}
