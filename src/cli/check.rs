//! `neurite check`: validate a description and check that it fits the chip.

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
        println!(
            "ok: network '{}' ({} populations, {} projections): {} on {}",
            network.name,
            network.populations.len(),
            network.projections.len(),
            compiled.report,
            chip.name
        );
        Ok(())
    }
}
