//! `neurite energy`: the time and energy report of a run, and nothing else.

use std::io::Write;

use anyhow::Context;
use clap::Args;

use super::run::ExecuteArgs;

#[derive(Debug, Args)]
pub(crate) struct EnergyArgs {
    #[command(flatten)]
    execute: ExecuteArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

impl EnergyArgs {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let executed = self.execute.execute()?;
        let reported = self.execute.write_report(&executed)?;
        let Some(energy) = &executed.recording.energy else {
            anyhow::bail!("the run was not modelled");
        };
        let mut out = std::io::stdout().lock();
        let text = if self.json {
            serde_json::to_string_pretty(&energy.to_json(self.execute.window()))? + "\n"
        } else {
            energy.summary(self.execute.window())
        };
        out.write_all(text.as_bytes())
            .context("cannot write to stdout")?;
        if let (Some(n), Some(dir)) = (reported, self.execute.report_dir())
            && !self.json
        {
            writeln!(out, "wrote {n} report files to {}", dir.display())
                .context("cannot write to stdout")?;
        }
        Ok(())
    }
}
