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
    /// Network description (.toml or .json) or compiled Program (.nprog).
    #[arg(value_name = "NET")]
    pub(crate) net: PathBuf,
    /// Chip profile: loihi2 (default for descriptions), loihi1, or a profile
    /// file (.toml). A Program defaults to the built-in profile it names.
    #[arg(long)]
    pub(crate) chip: Option<String>,
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
        let network = neurite::net::load(&self.net)?;
        Ok(Loaded::Description(network, chip))
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
