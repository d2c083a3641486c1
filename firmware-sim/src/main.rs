//! `neurite-board`: serves one emulated chip (or multi-chip system) over
//! Neurite's gRPC board protocol.

use clap::Parser;

/// Neurite board daemon: the emulator behind the gRPC board protocol.
#[derive(Debug, Parser)]
#[command(name = "neurite-board", version)]
struct Cli {
    #[command(flatten)]
    serve: neurite_firmware_sim::ServeArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    neurite_firmware_sim::init_logging();
    neurite_firmware_sim::run_daemon(Cli::parse().serve).await
}
