//! One module per subcommand, each a clap struct with a `run` method.

mod check;
mod compile;
mod energy;
mod inspect;
mod progress;
mod run;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use neurite::chip::ChipProfile;
use neurite::net::Network;
use neurite::program::Program;

/// Neurite: compile spiking networks for Loihi-style chips and run them
/// bit-exactly on the emulator.
#[derive(Debug, Parser)]
#[command(name = "neurite", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Compile a network description and run it on the in-process emulator.
    Run(run::RunArgs),
    /// Validate a network description (or Program) and check that it fits the chip.
    Check(check::CheckArgs),
    /// Compile a network description into a Program file (.nprog).
    Compile(compile::CompileArgs),
    /// Show what a Program (or a description, compiled) takes of the chip.
    Inspect(inspect::InspectArgs),
    /// Run a network or Program and print only its time and energy report.
    Energy(energy::EnergyArgs),
    /// Serve an emulated board over gRPC (the same daemon as `neurite-board`).
    Serve(neurite_firmware_sim::ServeArgs),
}

impl Command {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        match self {
            Command::Run(args) => args.run(),
            Command::Check(args) => args.run(),
            Command::Compile(args) => args.run(),
            Command::Inspect(args) => args.run(),
            Command::Energy(args) => args.run(),
            Command::Serve(args) => {
                neurite_firmware_sim::init_logging();
                tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                    .context("cannot start the async runtime")?
                    .block_on(neurite_firmware_sim::run_daemon(args))
            }
        }
    }
}

/// Options shared by commands that read a description or a Program for a chip.
#[derive(Debug, Args)]
pub(crate) struct NetworkArgs {
    /// Network description (.toml or .json), NIR graph (.nir) or compiled
    /// Program (.nprog).
    #[arg(value_name = "NET")]
    pub(crate) net: PathBuf,
    /// Chip profile: loihi2 (default for descriptions), loihi1, or a profile
    /// file (.toml). A Program defaults to the built-in profile it names.
    #[arg(long)]
    pub(crate) chip: Option<String>,
    /// Timestep in ms of a NIR graph (required unless the file's metadata
    /// gives one).
    #[arg(long, value_name = "MS")]
    pub(crate) dt_ms: Option<f64>,
    /// What a spike does to v in a NIR graph's neurons: set it to 0, or
    /// subtract the threshold (default zero).
    #[arg(long, value_enum)]
    pub(crate) reset: Option<ResetArg>,
    /// Input spikes for the network's one input population (or a NIR
    /// graph's Input): CSV lines `step,index`, or a .npy array [steps × input
    /// size] whose nonzero entries are spikes. Replaces the description's
    /// own inputs.
    #[arg(long, value_name = "FILE")]
    pub(crate) input: Option<PathBuf>,
}

/// The `--reset` choices.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum ResetArg {
    /// v ← 0 after a spike.
    Zero,
    /// v ← v − threshold after a spike.
    Subtract,
}

/// What a NET argument held.
pub(crate) enum Loaded {
    Description(Network, ChipProfile),
    Program(Program, ChipProfile),
}

impl NetworkArgs {
    pub(crate) fn load(&self) -> anyhow::Result<Loaded> {
        self.load_for(None)
    }

    /// Like [`NetworkArgs::load`]; without `--chip`, a description is
    /// compiled for `board_chip` when given (the chip of the board it will
    /// run on) rather than for loihi2.
    pub(crate) fn load_for(&self, board_chip: Option<ChipProfile>) -> anyhow::Result<Loaded> {
        let head = read_head(&self.net)?;
        if head.starts_with(&neurite::program::MAGIC) {
            if self.input.is_some() || self.dt_ms.is_some() || self.reset.is_some() {
                return Err(InvalidArgument(
                    "--input, --dt-ms and --reset do not apply to a compiled Program".to_string(),
                )
                .into());
            }
            let bytes = std::fs::read(&self.net)
                .with_context(|| format!("cannot read {}", self.net.display()))?;
            let program = Program::decode(&bytes)
                .with_context(|| format!("{}: cannot load the program", self.net.display()))?;
            let chip =
                ChipProfile::from_name_or_file(self.chip.as_deref().unwrap_or(&program.chip))?;
            return Ok(Loaded::Program(program, chip));
        }
        let chip = match (&self.chip, board_chip) {
            (None, Some(chip)) => chip,
            (name, _) => ChipProfile::from_name_or_file(name.as_deref().unwrap_or("loihi2"))?,
        };
        let is_nir = head.starts_with(b"\x89HDF\r\n\x1a\n")
            || self
                .net
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("nir"));
        let mut network = if is_nir {
            self.import_nir()?
        } else {
            if self.dt_ms.is_some() || self.reset.is_some() {
                return Err(InvalidArgument(
                    "--dt-ms and --reset apply to NIR graphs; a description gives dt_ms and \
                     each population's reset"
                        .to_string(),
                )
                .into());
            }
            neurite::net::load(&self.net)?
        };
        if let Some(path) = &self.input {
            set_input(&mut network, path)?;
        }
        Ok(Loaded::Description(network, chip))
    }

    /// Reads and lowers a NIR graph, saying on stderr where dt came from and
    /// how much lowering rounded.
    fn import_nir(&self) -> anyhow::Result<Network> {
        let graph = neurite::nir::read(&self.net)?;
        let (dt_ms, source) = neurite::nir::choose_dt(self.dt_ms, &graph)?;
        if source == neurite::nir::DtSource::Metadata {
            eprintln!(
                "note: using dt = {dt_ms} ms from the file's metadata (--dt-ms overrides it)"
            );
        }
        let options = neurite::nir::Options {
            dt_ms,
            reset: match self.reset {
                None | Some(ResetArg::Zero) => neurite::net::Reset::Zero,
                Some(ResetArg::Subtract) => neurite::net::Reset::Subtract,
            },
        };
        let name = neurite::nir::network_name(&self.net);
        let imported = neurite::nir::lower(&graph, &name, &options)
            .with_context(|| format!("{}: cannot import the NIR graph", self.net.display()))?;
        let version = if graph.version.is_empty() {
            "unknown".to_string()
        } else {
            graph.version.clone()
        };
        eprintln!(
            "imported NIR graph '{name}' (NIR {version}), dt {dt_ms} ms, reset {}: {}",
            match options.reset {
                neurite::net::Reset::Zero => "zero",
                neurite::net::Reset::Subtract => "subtract",
            },
            imported
                .populations
                .iter()
                .map(|p| format!(
                    "{} ({} {}{})",
                    p.node,
                    p.kind,
                    imported.network.populations[p.population].size,
                    match p.role {
                        neurite::nir::Role::Readout => ", v read out",
                        _ => "",
                    }
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !imported.quantization.is_empty() {
            eprint!("{}", imported.quantization);
        }
        Ok(imported.network)
    }

    /// Like [`NetworkArgs::load`], for commands that need the description.
    pub(crate) fn load_description(&self) -> anyhow::Result<(Network, ChipProfile)> {
        match self.load()? {
            Loaded::Description(network, chip) => Ok((network, chip)),
            Loaded::Program(..) => Err(InvalidArgument(format!(
                "{} is a compiled Program; this command needs a network description",
                self.net.display()
            ))
            .into()),
        }
    }
}

/// Replaces the inputs of the network's one input population with the
/// spikes of `path`.
fn set_input(network: &mut Network, path: &Path) -> anyhow::Result<()> {
    let inputs: Vec<usize> = network
        .populations
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p.model, neurite::net::Model::Input))
        .map(|(i, _)| i)
        .collect();
    let [population] = inputs[..] else {
        return Err(InvalidArgument(format!(
            "--input needs a network with one input population; this one has {}",
            inputs.len()
        ))
        .into());
    };
    let size = network.populations[population].size;
    let spikes = neurite::net::spikes_from_file(path, size)?;
    network.inputs.retain(|i| i.population != population);
    network.inputs.push(neurite::net::Input {
        population,
        source: neurite::net::InputSource::Spikes(spikes),
    });
    Ok(())
}

/// The first bytes of a file, to tell a Program from a description; a file
/// that cannot be opened is left for the description loader to report.
fn read_head(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(path) else {
        return Ok(Vec::new());
    };
    let mut head = Vec::with_capacity(8);
    file.take(8)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(head)
}

/// Whether an error is the user's input (exit code 2) rather than a failure of
/// Neurite or the system (exit code 1).
pub(crate) fn is_invalid_input(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.is::<neurite::net::NetError>()
            || cause.is::<neurite::nir::NirError>()
            || cause
                .downcast_ref::<neurite::compiler::CompileError>()
                .is_some_and(|e| e.is_user_error())
            || cause.is::<neurite::chip::ChipError>()
            || cause.is::<neurite::program::DecodeError>()
            || cause.is::<neurite::program::ValidationError>()
            || matches!(
                cause.downcast_ref::<neurite::session::SessionError>(),
                Some(neurite::session::SessionError::Emulator(
                    neurite::emulator::EmulatorError::InvalidProgram(_)
                ))
            )
            || cause.is::<InvalidArgument>()
    })
}

/// Whether writing to stdout failed because its reader went away.
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A command-line argument that cannot be honoured.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct InvalidArgument(pub(crate) String);

/// Shorthand for attaching context to I/O on user-named paths.
pub(crate) fn with_path<T, E>(result: Result<T, E>, what: &str, path: &Path) -> anyhow::Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    result.with_context(|| format!("cannot {what} {}", path.display()))
}
