//! `neurite compile`: write the Program of a description to a `.nprog` file.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use neurite::compiler::{CompileOptions, compile_with};

use super::progress::{Bar, timing};
use super::{NetworkArgs, with_path};

#[derive(Debug, Args)]
pub(crate) struct CompileArgs {
    #[command(flatten)]
    network: NetworkArgs,
    /// Where to write the Program (default: NET with the extension .nprog).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Rebuild the connectivity from the Program and check it against the
    /// description and every limit (always on in debug builds).
    #[arg(long)]
    verify: bool,
}

impl CompileArgs {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let loading = std::time::Instant::now();
        let (network, chip) = self.network.load_description()?;
        timing("loading", loading);
        let options = CompileOptions {
            verify: self.verify || CompileOptions::default().verify,
            ..CompileOptions::default()
        };
        let compiled = compile_with(&network, &chip, &options, &mut Bar::default())?;
        for warning in compiled.report.warnings() {
            eprintln!("warning: {warning}");
        }
        let output = self
            .output
            .unwrap_or_else(|| self.network.net.with_extension("nprog"));
        let encoding = std::time::Instant::now();
        let bytes = compiled.program.encode();
        timing("encoding", encoding);
        let writing = std::time::Instant::now();
        with_path(std::fs::write(&output, &bytes), "write", &output)?;
        timing("writing", writing);
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "compiled network '{}' for {}: {}",
            network.name, chip.name, compiled.report
        )
        .and_then(|()| write!(out, "{}", report_lines(&compiled.report.to_text())))
        .and_then(|()| {
            if compiled.quantization.is_empty() {
                Ok(())
            } else {
                write!(out, "{}", compiled.quantization)
            }
        })
        .and_then(|()| writeln!(out, "wrote {} ({} bytes)", output.display(), bytes.len()))
        .context("cannot write to stdout")?;
        Ok(())
    }
}

/// The report below its first line, indented, with at most a dozen
/// projection lines (a large network has thousands; `inspect` shows all).
fn report_lines(report: &str) -> String {
    const SHOWN: usize = 12;
    let mut out = String::new();
    let mut projections = 0;
    for line in report.lines().skip(1) {
        if line.starts_with("projection ") {
            projections += 1;
            if projections > SHOWN {
                continue;
            }
        }
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    if projections > SHOWN {
        out.push_str(&format!(
            "  … {} more projections (neurite inspect lists them all)\n",
            projections - SHOWN
        ));
    }
    out
}
