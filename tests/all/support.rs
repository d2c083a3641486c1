//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};

use neurite::chip::ChipProfile;
use neurite::net::Network;
use neurite::session::Recording;

/// The repository root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Parses a TOML description that needs no files.
pub(crate) fn toml(text: &str) -> Network {
    neurite::net::from_toml_str(text, "test.toml", None).expect("valid description")
}

/// Compiles and runs on the emulator.
pub(crate) fn emulate(network: &Network, chip: &ChipProfile, steps: u64) -> Recording {
    neurite::session::run(network, chip, steps).expect("runs")
}

/// A loihi2-like chip with few neurons per core, so that small networks
/// spread over several cores and exercise routing between them.
pub(crate) fn tiny_chip(neurons_per_core: u32) -> ChipProfile {
    let mut chip = ChipProfile::loihi2();
    chip.name = format!("tiny{neurons_per_core}");
    chip.core.neurons = neurons_per_core;
    chip
}

/// Every example description in `examples/`.
pub(crate) fn examples() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .expect("examples/ exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("toml" | "json")
            )
        })
        .collect();
    paths.sort();
    paths
}

/// Relative path of `path` under the repository, for messages.
pub(crate) fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}
