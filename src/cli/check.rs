//! `neurite check`: validate a description (or Program) and check that it fits the chip.

use std::io::Write;

use anyhow::Context;
use clap::Args;

use super::{Loaded, NetworkArgs};

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    network: NetworkArgs,
}

impl CheckArgs {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let (network, chip) = match self.network.load()? {
            Loaded::Description(network, chip) => (network, chip),
            Loaded::Program(program, chip) => {
                program.validate(&chip)?;
                writeln!(
                    std::io::stdout().lock(),
                    "ok: program of network '{}' fits {} ({} cores)",
                    program.notes.network,
                    chip.name,
                    program.cores.len()
                )
                .context("cannot write to stdout")?;
                return Ok(());
            }
        };
        let compiled = neurite::compiler::compile(&network, &chip)?;
        for warning in compiled.report.warnings() {
            eprintln!("warning: {warning}");
        }
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        writeln!(
            std::io::stdout().lock(),
            "ok: network '{}' ({}, {}): {} on {}",
            network.name,
            plural(network.populations.len(), "population"),
            plural(network.projections.len(), "projection"),
            compiled.report,
            chip.name
        )
        .context("cannot write to stdout")?;
        Ok(())
    }
}
