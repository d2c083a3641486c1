//! The compiler's progress as a bar on the terminal.

use indicatif::{ProgressBar, ProgressStyle};
use neurite::compiler::Progress;

/// Draws one bar per compiler pass on stderr (nothing when stderr is not a
/// terminal).
#[derive(Debug, Default)]
pub(crate) struct Bar {
    bar: Option<ProgressBar>,
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
    }
}
