//! `neurite check`: validate a description and check that it fits the chip.

use std::io::Write;

use anyhow::Context;
use clap::Args;

use super::NetworkArgs;

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    network: NetworkArgs,
}

impl CheckArgs {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let (network, chip) = self.network.load()?;
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
