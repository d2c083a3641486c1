//! One module per subcommand, each a clap struct with a `run` method.

mod check;
mod run;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use neurite::chip::ChipProfile;
use neurite::net::Network;

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
    /// Validate a network description and check that it fits the chip.
    Check(check::CheckArgs),
}

impl Command {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        match self {
            Command::Run(args) => args.run(),
            Command::Check(args) => args.run(),
        }
    }
}

/// Options shared by commands that read a description for a chip.
#[derive(Debug, Args)]
pub(crate) struct NetworkArgs {
    /// Network description (.toml or .json).
    #[arg(value_name = "NET")]
    pub(crate) net: PathBuf,
    /// Chip profile: loihi2 or loihi1.
    #[arg(long, default_value = "loihi2")]
    pub(crate) chip: String,
}

impl NetworkArgs {
    pub(crate) fn load(&self) -> anyhow::Result<(Network, ChipProfile)> {
        let chip = ChipProfile::builtin(&self.chip)?;
        let network = load_network(&self.net)?;
        Ok((network, chip))
    }
}

fn load_network(path: &Path) -> anyhow::Result<Network> {
    Ok(neurite::net::load(path)?)
}

/// Whether an error is the user's input (exit code 2) rather than a failure of
/// Neurite or the system (exit code 1).
pub(crate) fn is_invalid_input(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.is::<neurite::net::NetError>()
            || cause.is::<neurite::compiler::CompileError>()
            || cause.is::<neurite::chip::ChipError>()
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
