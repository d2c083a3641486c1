//! `neurite run`: compile a description and run it on the in-process emulator.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use neurite::chip::ChipProfile;
use neurite::energy::ReportFiles;
use neurite::session::{Feed, Recording};
use neurite_host::{LocalBoard, RemoteBoard};

use super::{InvalidArgument, Loaded, NetworkArgs, with_path};

/// Steps run when neither `--steps` nor the description says how many.
const DEFAULT_STEPS: u64 = 100;
/// Lines of the spike listing printed before it is cut short.
const LISTING_LINES: usize = 30;

/// Options shared by `run` and `energy`: what to run, for how long, and how
/// to price it.
#[derive(Debug, Args)]
pub(crate) struct ExecuteArgs {
    #[command(flatten)]
    network: NetworkArgs,
    /// Steps to run (default: the description's `steps`, else 100).
    #[arg(long)]
    steps: Option<u64>,
    /// Price operations with this profile's cost table (a built-in name or a
    /// file) instead of the chip's own, e.g. loihi1-sanafe for a loihi1 run.
    #[arg(long, value_name = "PROFILE")]
    profile: Option<String>,
    /// Report the energy of one inference: the steps FIRST:LAST (inclusive).
    #[arg(long, value_name = "FIRST:LAST", value_parser = parse_window)]
    window: Option<(u64, u64)>,
    /// Write the time and energy report here: steps.csv, cores.csv,
    /// summary.json and SVG plots (energy per step, per-core energy on the
    /// mesh, spike raster).
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Run on the board daemon at this address (e.g. http://127.0.0.1:50051)
    /// instead of the emulator in this process; a description is compiled
    /// for the board's chip unless --chip says otherwise.
    #[arg(long, value_name = "URL")]
    board: Option<String>,
    /// Record the weights of this learning projection after every step
    /// (repeatable): --out writes <PROJ>_weights.csv, --report plots them
    /// in <PROJ>_weights.svg. With --board, through a weights probe of the
    /// board.
    #[arg(long, value_name = "PROJ")]
    probe_weights: Vec<String>,
    /// Stream values the host adds to the neuromodulator NAME (a reward):
    /// FILE holds one integer per line, the first for step 1 (blank lines
    /// and # comments skipped); steps after the last value add 0. Repeatable,
    /// one per neuromodulator; on the emulator here or on --board.
    #[arg(long, value_name = "NAME=FILE", value_parser = parse_neuromodulator)]
    neuromodulator: Vec<(String, PathBuf)>,
    /// Bearer token for the board (also read from NEURITE_BOARD_TOKEN).
    #[arg(
        long,
        env = "NEURITE_BOARD_TOKEN",
        hide_env_values = true,
        requires = "board"
    )]
    token: Option<String>,
}

fn parse_window(text: &str) -> Result<(u64, u64), String> {
    let (first, last) = text
        .split_once(':')
        .ok_or_else(|| format!("'{text}' is not FIRST:LAST"))?;
    let parse = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|_| format!("'{s}' is not a step number"))
    };
    let (first, last) = (parse(first)?, parse(last)?);
    if first == 0 || last < first {
        return Err(format!(
            "window {first}:{last} must have 1 <= FIRST <= LAST"
        ));
    }
    Ok((first, last))
}

fn parse_neuromodulator(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((name, file)) if !name.is_empty() && !file.is_empty() => {
            Ok((name.to_string(), PathBuf::from(file)))
        }
        _ => Err(format!("'{text}' is not NAME=FILE")),
    }
}

/// Reads a neuromodulator's values: one integer per line, blank lines and
/// `#` comments skipped.
fn read_values(path: &std::path::Path) -> anyhow::Result<Vec<i32>> {
    let text = with_path(std::fs::read_to_string(path), "read", path)?;
    let mut values = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let value = line.parse::<i32>().map_err(|_| {
            InvalidArgument(format!(
                "{}, line {}: '{line}' is not an integer neuromodulator value",
                path.display(),
                n + 1
            ))
        })?;
        values.push(value);
    }
    Ok(values)
}

/// What a run produced, with what the CLI prints about it.
pub(crate) struct Executed {
    pub(crate) recording: Recording,
    pub(crate) header: String,
    pub(crate) dt_ms: f64,
    pub(crate) chip: ChipProfile,
}

impl ExecuteArgs {
    fn steps(&self, described: Option<u64>) -> anyhow::Result<u64> {
        let steps = self.steps.or(described).unwrap_or(DEFAULT_STEPS);
        if steps == 0 {
            return Err(InvalidArgument("--steps must be at least 1".to_string()).into());
        }
        if let Some((_, last)) = self.window
            && last > steps
        {
            return Err(InvalidArgument(format!(
                "--window ends at step {last}, after the run's last step {steps}"
            ))
            .into());
        }
        Ok(steps)
    }

    /// What to stream and record beside the description's inputs and
    /// probes: neuromodulator values and learning projections' weights,
    /// checked against the Program.
    fn run_options(
        &self,
        program: &neurite::program::Program,
    ) -> anyhow::Result<neurite::session::RunOptions> {
        let mut neuromodulators = Vec::with_capacity(self.neuromodulator.len());
        for (name, path) in &self.neuromodulator {
            if !program.neuromodulators.iter().any(|m| &m.name == name) {
                let known: Vec<&str> = program
                    .neuromodulators
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect();
                return Err(InvalidArgument(format!(
                    "--neuromodulator {name}: the network has no neuromodulator '{name}' (it has: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ))
                .into());
            }
            if neuromodulators.iter().any(|(n, _)| n == name) {
                return Err(
                    InvalidArgument(format!("--neuromodulator {name} is given twice")).into(),
                );
            }
            neuromodulators.push((name.clone(), read_values(path)?));
        }
        Ok(neurite::session::RunOptions {
            probe_weights: self.probe_weights.clone(),
            neuromodulators,
            ..Default::default()
        })
    }

    /// Runs a Program on the board: the emulator in this process, or the
    /// daemon named by `--board`.
    fn on_board(
        &self,
        program: &neurite::program::Program,
        chip: &ChipProfile,
        feed: Feed<'_>,
        steps: u64,
    ) -> anyhow::Result<Recording> {
        let options = self.run_options(program)?;
        let runtime = runtime()?;
        runtime.block_on(async {
            match &self.board {
                None => {
                    let mut chip = chip.clone();
                    if let Some(name) = &self.profile {
                        chip.costs = ChipProfile::from_name_or_file(name)?.costs;
                    }
                    // A run has an end: every step's record is kept, for
                    // the per-step report and any window.
                    let board = LocalBoard::with_step_records(chip, None);
                    Ok(
                        neurite::session::run_on_board_with(
                            &board, program, feed, steps, &options,
                        )
                        .await
                        .context("emulation failed")?,
                    )
                }
                Some(url) => {
                    if self.profile.is_some() {
                        return Err(InvalidArgument(
                            "--profile prices the local emulator; a board prices with its own chip profile"
                                .to_string(),
                        )
                        .into());
                    }
                    let board = RemoteBoard::connect_with(url, None, self.token.as_deref())
                        .await
                        .with_context(|| format!("cannot connect to the board at {url}"))?;
                    let recording = neurite::session::run_on_board_with(
                        &board, program, feed, steps, &options,
                    )
                    .await
                    .with_context(|| format!("run on the board at {url} failed"))?;
                    neurite_host::Board::release(&board)
                        .await
                        .context("cannot release the board")?;
                    Ok(recording)
                }
            }
        })
    }

    /// The chip of the board named by `--board`, when the description is to
    /// be compiled for it (no `--chip`).
    fn board_chip(&self) -> anyhow::Result<Option<ChipProfile>> {
        let (Some(url), None) = (&self.board, &self.network.chip) else {
            return Ok(None);
        };
        let runtime = runtime()?;
        let info = runtime.block_on(async {
            let board = RemoteBoard::connect_with(url, None, self.token.as_deref())
                .await
                .with_context(|| format!("cannot connect to the board at {url}"))?;
            neurite_host::Board::info(&board)
                .await
                .with_context(|| format!("cannot read the board's info at {url}"))
        })?;
        let chip = ChipProfile::from_toml(&info.chip_profile_toml)
            .with_context(|| format!("the board at {url} sent an unreadable chip profile"))?;
        Ok(Some(chip))
    }

    /// Compiles (when given a description) and runs with the model on.
    pub(crate) fn execute(&self) -> anyhow::Result<Executed> {
        match self.network.load_for(self.board_chip()?)? {
            Loaded::Description(network, chip) => {
                let steps = self.steps(network.steps)?;
                let compiled = neurite::compiler::compile(&network, &chip)?;
                for warning in compiled.report.warnings() {
                    eprintln!("warning: {warning}");
                }
                let recording =
                    self.on_board(&compiled.program, &chip, Feed::Description(&network), steps)?;
                let header = format!(
                    "network '{}' on {}: {}",
                    network.name, chip.name, compiled.report
                );
                Ok(Executed {
                    recording,
                    header,
                    dt_ms: network.dt_ms,
                    chip,
                })
            }
            Loaded::Program(program, chip) => {
                let steps = self.steps(None)?;
                let recording = self.on_board(&program, &chip, Feed::ProgramAlone, steps)?;
                let header = format!(
                    "program of network '{}' on {} ({} cores), without host input",
                    program.notes.network,
                    chip.name,
                    program.cores.len()
                );
                Ok(Executed {
                    recording,
                    header,
                    dt_ms: 1.0,
                    chip,
                })
            }
        }
    }

    /// Writes the report directory when asked; returns the files written.
    pub(crate) fn write_report(&self, executed: &Executed) -> anyhow::Result<Option<usize>> {
        let (Some(dir), Some(energy)) = (&self.report, &executed.recording.energy) else {
            return Ok(None);
        };
        let files = with_path(
            energy.write_dir(&executed.chip, &executed.recording, self.window, dir),
            "write the report to",
            dir,
        )?;
        for record in &executed.recording.weights {
            let path = dir.join(format!("{}_weights.svg", file_stem(&record.projection)));
            with_path(
                std::fs::write(&path, weights_svg(record)),
                "write the weight plot to",
                &path,
            )?;
        }
        Ok(Some(files.len() + executed.recording.weights.len()))
    }

    pub(crate) fn window(&self) -> Option<(u64, u64)> {
        self.window
    }

    pub(crate) fn report_dir(&self) -> Option<&PathBuf> {
        self.report.as_ref()
    }
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    execute: ExecuteArgs,
    /// Write spikes.csv and <population>_u.npy / _v.npy ([steps × neurons]) here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print one JSON document with every probed population on stdout, and nothing else.
    #[arg(long)]
    json: bool,
}

impl RunArgs {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let executed = self.execute.execute()?;
        let recording = &executed.recording;
        let stdout = std::io::stdout();
        let mut out = BufWriter::new(stdout.lock());
        if let Some(dir) = &self.out {
            let files = with_path(
                neurite::output::write_dir(recording, dir),
                "write results to",
                dir,
            )?;
            for record in &recording.weights {
                let path = dir.join(format!("{}_weights.csv", file_stem(&record.projection)));
                with_path(
                    std::fs::write(&path, weights_csv(record)),
                    "write the weights to",
                    &path,
                )?;
            }
            if !self.json {
                writeln!(
                    out,
                    "wrote {} files to {}",
                    files.len() + recording.weights.len(),
                    dir.display()
                )?;
            }
        }
        let reported = self.execute.write_report(&executed)?;
        if self.json {
            neurite::output::write_json(recording, &mut out).context("cannot write JSON")?;
        } else {
            writeln!(out, "{}", executed.header)?;
            print_spikes(recording, &mut out)?;
            print_summary(recording, executed.dt_ms, &mut out)?;
            for record in &recording.weights {
                let (first, last) = (
                    record.steps.first().map_or(0.0, |w| mean_weight(w)),
                    record.steps.last().map_or(0.0, |w| mean_weight(w)),
                );
                writeln!(
                    out,
                    "weights of {}: {} synapses, mean {first:.2} after step 1, {last:.2} after step {}",
                    record.projection,
                    record.synapses.len(),
                    record.steps.len()
                )?;
            }
            if let Some(energy) = &recording.energy {
                write!(out, "{}", energy.summary(self.execute.window()))?;
            }
            if let (Some(n), Some(dir)) = (reported, self.execute.report_dir()) {
                writeln!(out, "wrote {n} report files to {}", dir.display())?;
            }
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

/// A projection name made safe for a file name.
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// One row per step: the step, then each synapse's weight.
fn weights_csv(record: &neurite::session::WeightRecord) -> String {
    let mut text = String::from("step");
    for (pre, post) in &record.synapses {
        text.push_str(&format!(",{pre}->{post}"));
    }
    text.push('\n');
    for (t, weights) in record.steps.iter().enumerate() {
        text.push_str(&(t + 1).to_string());
        for w in weights {
            text.push_str(&format!(",{w}"));
        }
        text.push('\n');
    }
    text
}

/// Every synapse's weight over the run (at most 64 lines drawn), and their
/// mean in black.
fn weights_svg(record: &neurite::session::WeightRecord) -> String {
    let (width, height, margin) = (640.0, 360.0, 40.0);
    let steps = record.steps.len().max(2);
    let x = |t: usize| margin + (width - 2.0 * margin) * t as f64 / (steps - 1) as f64;
    // Weights span -256..=255.
    let y = |w: f64| height - margin - (height - 2.0 * margin) * (w + 256.0) / 511.0;
    let line = |values: Vec<f64>, colour: &str, stroke: f64| {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(t, &w)| format!("{:.1},{:.1}", x(t), y(w)))
            .collect();
        format!(
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"{stroke}\" points=\"{}\"/>\n",
            points.join(" ")
        )
    };
    let mut body = String::new();
    for k in 0..record.synapses.len().min(64) {
        body.push_str(&line(
            record.steps.iter().map(|w| f64::from(w[k])).collect(),
            "#9ecae1",
            1.0,
        ));
    }
    let mean: Vec<f64> = record.steps.iter().map(|w| mean_weight(w)).collect();
    body.push_str(&line(mean, "black", 2.0));
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{margin}\" y=\"20\">weights of {} over {} steps (-256..255; mean in black)</text>\n\
         <line x1=\"{margin}\" y1=\"{zero:.1}\" x2=\"{right}\" y2=\"{zero:.1}\" stroke=\"grey\"/>\n{body}</svg>\n",
        xml_escape(&record.projection),
        record.steps.len(),
        zero = y(0.0),
        right = width - margin,
    )
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The async runtime a run or a query of a board needs: one thread.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The mean of a projection's weights at one step.
fn mean_weight(weights: &[i16]) -> f64 {
    weights.iter().map(|&w| f64::from(w)).sum::<f64>() / weights.len().max(1) as f64
}
