//! `neurite inspect`: what a Program takes of its chip.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::{Loaded, NetworkArgs, with_path};

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    #[command(flatten)]
    network: NetworkArgs,
    /// Also draw the mesh occupancy as an SVG heatmap into this file.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
}

impl InspectArgs {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let (program, chip) = match self.network.load()? {
            Loaded::Description(network, chip) => {
                let compiled = neurite::compiler::compile(&network, &chip)?;
                (compiled.program, chip)
            }
            Loaded::Program(program, chip) => {
                program.validate(&chip)?;
                (program, chip)
            }
        };
        let mut out = std::io::stdout().lock();
        let text = format!(
            "program of network '{}' for chip '{}' ({} cores of {})\n\n{}\n{}\n{}\n{}",
            program.notes.network,
            program.chip,
            program.cores.len(),
            chip.total_cores(),
            program.notes.report,
            neurite::inspect::core_table(&program, &chip),
            neurite::inspect::population_table(&program),
            neurite::inspect::mesh_grid(&program, &chip),
        );
        out.write_all(text.as_bytes())
            .context("cannot write to stdout")?;
        if let Some(path) = &self.svg {
            let drawn = neurite::inspect::mesh_heatmap_svg(&program, &chip, path)
                .map_err(std::io::Error::other);
            with_path(drawn, "draw the heatmap into", path)?;
            writeln!(out, "wrote {}", path.display()).context("cannot write to stdout")?;
        }
        Ok(())
    }
}
