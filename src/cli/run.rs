//! `neurite run`: compile a description and run it on the in-process emulator.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use neurite::session::Recording;

use super::{InvalidArgument, Loaded, NetworkArgs, with_path};

/// Steps run when neither `--steps` nor the description says how many.
const DEFAULT_STEPS: u64 = 100;
/// Lines of the spike listing printed before it is cut short.
const LISTING_LINES: usize = 30;

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    network: NetworkArgs,
    /// Steps to run (default: the description's `steps`, else 100).
    #[arg(long)]
    steps: Option<u64>,
    /// Write spikes.csv and <population>_u.npy / _v.npy ([steps × neurons]) here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print one JSON document with every probed population on stdout, and nothing else.
    #[arg(long)]
    json: bool,
}

impl RunArgs {
    fn steps(&self, described: Option<u64>) -> anyhow::Result<u64> {
        let steps = self.steps.or(described).unwrap_or(DEFAULT_STEPS);
        if steps == 0 {
            return Err(InvalidArgument("--steps must be at least 1".to_string()).into());
        }
        Ok(steps)
    }

    pub(crate) fn run(self) -> anyhow::Result<()> {
        let (recording, header, dt_ms) = match self.network.load()? {
            Loaded::Description(network, chip) => {
                let steps = self.steps(network.steps)?;
                let compiled = neurite::compiler::compile(&network, &chip)?;
                for warning in compiled.report.warnings() {
                    eprintln!("warning: {warning}");
                }
                let recording = neurite::session::run_compiled(&network, &compiled, &chip, steps)
                    .context("emulation failed")?;
                let header = format!(
                    "network '{}' on {}: {}",
                    network.name, chip.name, compiled.report
                );
                (recording, header, network.dt_ms)
            }
            Loaded::Program(program, chip) => {
                let steps = self.steps(None)?;
                let recording = neurite::session::run_program_alone(&program, &chip, steps)
                    .context("emulation failed")?;
                let header = format!(
                    "program of network '{}' on {} ({} cores), without host input",
                    program.notes.network,
                    chip.name,
                    program.cores.len()
                );
                (recording, header, 1.0)
            }
        };

        let stdout = std::io::stdout();
        let mut out = BufWriter::new(stdout.lock());
        if let Some(dir) = &self.out {
            let files = with_path(
                neurite::output::write_dir(&recording, dir),
                "write results to",
                dir,
            )?;
            if !self.json {
                writeln!(out, "wrote {} files to {}", files.len(), dir.display())?;
            }
        }
        if self.json {
            neurite::output::write_json(&recording, &mut out).context("cannot write JSON")?;
        } else {
            writeln!(out, "{header}")?;
            print_spikes(&recording, &mut out)?;
            print_summary(&recording, dt_ms, &mut out)?;
        }
        out.flush().context("cannot write to stdout")?;
        Ok(())
    }
}

fn print_spikes(recording: &Recording, out: &mut impl Write) -> anyhow::Result<()> {
    let probed: Vec<_> = recording
        .populations
        .iter()
        .filter_map(|p| p.spikes.as_ref().map(|s| (p.name.as_str(), s)))
        .collect();
    if probed.is_empty() {
        writeln!(
            out,
            "spikes: no population probes spikes (add vars = [\"spikes\"] to a [[probes]] entry)"
        )?;
        return Ok(());
    }
    writeln!(out, "spikes (step: population[indices]):")?;
    let mut lines = 0usize;
    let mut hidden = 0usize;
    for step in 0..recording.steps as usize {
        let parts: Vec<String> = probed
            .iter()
            .filter(|(_, spikes)| !spikes[step].is_empty())
            .map(|(name, spikes)| {
                let indices: Vec<String> = spikes[step].iter().map(u32::to_string).collect();
                format!("{name}[{}]", indices.join(" "))
            })
            .collect();
        if parts.is_empty() {
            continue;
        }
        if lines < LISTING_LINES {
            writeln!(out, "  {:>6}: {}", step + 1, parts.join("  "))?;
            lines += 1;
        } else {
            hidden += 1;
        }
    }
    if lines == 0 {
        writeln!(out, "  (none)")?;
    }
    if hidden > 0 {
        writeln!(
            out,
            "  … {hidden} more steps with spikes (use --out DIR or --json for all)"
        )?;
    }
    Ok(())
}

fn print_summary(recording: &Recording, dt_ms: f64, out: &mut impl Write) -> anyhow::Result<()> {
    let wall_ms = recording.wall.as_secs_f64() * 1e3;
    writeln!(
        out,
        "ran {} steps in {wall_ms:.3} ms ({:.0} steps/s)",
        recording.steps,
        recording.steps_per_second()
    )?;
    let width = recording
        .populations
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0)
        .max("population".len());
    writeln!(
        out,
        "  {:<width$}  {:>6}  {:>8}  {:>10}",
        "population", "size", "spikes", "rate (Hz)"
    )?;
    let seconds = recording.steps as f64 * dt_ms / 1000.0;
    for p in &recording.populations {
        let rate = p.spike_total as f64 / (f64::from(p.size) * seconds);
        writeln!(
            out,
            "  {:<width$}  {:>6}  {:>8}  {:>10.2}{}",
            p.name,
            p.size,
            p.spike_total,
            rate,
            if p.is_input { "  (input)" } else { "" }
        )?;
    }
    writeln!(out, "  (rates assume {dt_ms} ms per step)")?;
    Ok(())
}
