//! NIR import: reads NIR graphs (the Neuromorphic Intermediate
//! Representation, HDF5 files written by snnTorch, Norse, Sinabs, Rockpool…)
//! and lowers them to a network description in hardware units, ready for the
//! compiler.
//!
//! ```no_run
//! use neurite_nir::{Options, import};
//! use neurite_net::Reset;
//!
//! let imported = import(
//!     std::path::Path::new("model.nir"),
//!     &Options { dt_ms: 0.1, reset: Reset::Zero },
//! )?;
//! println!("{} populations", imported.network.populations.len());
//! # Ok::<(), neurite_nir::NirError>(())
//! ```
//!
//! # What a graph becomes
//!
//! NIR carries continuous-time equations and neither a timestep nor a reset
//! mode: both are [`Options`]. With `a = dt/τ` (dt in seconds, as NIR's time
//! constants), each neuron node is integrated by forward Euler, its input `I`
//! being the value of the linear nodes before it at the step:
//!
//! | node | per step | on the chip |
//! |---|---|---|
//! | LIF, LI | v ← v + a·(v_leak − v + R·I) | u = a·R·I (du = 4095), δv = a, bias a·v_leak |
//! | IF, I | v ← v + dt·R·I | u = dt·R·I (du = 4095), no leak (dv = 0) |
//! | CubaLIF, CubaLI | I_s ← I_s + a_s·(w_in·I − I_s); v ← v + a_m·(v_leak − v + R·I_s) | u = a_m·R·I_s, δu = a_s, δv = a_m, bias a_m·v_leak |
//!
//! The current is updated before the voltage, which then uses the new
//! current, as the chip does. LIF, CubaLIF and IF spike when v > v_threshold,
//! then reset as [`Options::reset`] says (v_reset must be 0); an I, LI or
//! CubaLI followed by a Threshold spikes at that threshold and resets the
//! same way (NIR's Threshold has no reset; the chip must reset); otherwise it
//! never spikes and its v is read out (its threshold is raised out of reach,
//! after a threshold of twice the largest |v| its drive can reach has set
//! its scale).
//!
//! Affine, Linear, Scale, Delay, Flatten, Conv1d, Conv2d, SumPool2d and
//! AvgPool2d between neurons are composed into one weight and one delay per
//! (source, target) pair: weights become the float weights of projections
//! (times the factor of the target, `a·R`, `dt·R` or `a_m·R·a_s·w_in`), an
//! Affine's bias becomes the neuron's bias (CubaLIF and CubaLI refuse one:
//! the chip adds biases to v only), a Delay of d seconds adds
//! `round(d/dt)` steps (delays beyond the chip's 62 go through chains of
//! relay neurons, exact for spikes). Every projection adds the chip's one
//! step of latency, so a neuron `k` synaptic hops from the input sees it
//! `k` steps later than NIR's same-step composition would.
//!
//! The description is then lowered to hardware units by the compiler's
//! [`neurite_compiler::physical`] rules, whose report comes back in
//! [`Imported::quantization`].

mod lower;
mod read;

use std::path::Path;

use neurite_compiler::physical::{PhysicalError, QuantizationReport};
use neurite_net::{Network, Reset};

pub use read::{Array, Graph, IDENTITY, Node, Param, read, read_bytes};

/// Why a NIR file could not be read or lowered. Each message names the
/// file, node or field, and the reason.
#[derive(Debug, thiserror::Error)]
pub enum NirError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    Io { path: String, reason: String },
    /// The HDF5 layer failed at the named place.
    #[error("{file}: {place}: {reason}")]
    Hdf5 {
        file: String,
        place: String,
        reason: String,
    },
    /// The file is HDF5 but not a NIR graph.
    #[error("{file} is not a NIR graph: {reason}")]
    NotNir { file: String, reason: String },
    /// A node lacks a parameter its type needs.
    #[error("node '{node}' ({kind}): missing parameter '{field}'")]
    MissingField {
        node: String,
        kind: String,
        field: String,
    },
    /// A parameter has the wrong shape or value.
    #[error("node '{node}': parameter '{field}' {reason}")]
    BadField {
        node: String,
        field: String,
        reason: String,
    },
    /// A primitive or parameter the chip cannot run.
    #[error("node '{node}' ({kind}) is not supported: {what}")]
    Unsupported {
        node: String,
        kind: String,
        what: String,
    },
    /// The graph's structure is wrong (sizes that disagree, a loop without
    /// a neuron, an edge naming no node).
    #[error("graph: {0}")]
    Graph(String),
    /// The timestep is missing or wrong.
    #[error("{0}")]
    Dt(String),
    /// The compiler's lowering to hardware units failed.
    #[error("lowering to hardware units: {0}")]
    Lowering(PhysicalError),
}

/// What NIR leaves to the compiler.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// The timestep in milliseconds.
    pub dt_ms: f64,
    /// What a spike does to v in every spiking population.
    pub reset: Reset,
}

/// What a population of the imported network stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The graph's Input: spikes from the host.
    Input,
    /// A neuron node that spikes.
    Spiking,
    /// A neuron node that never spikes; its v is read out.
    Readout,
}

/// One population made from a node.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationInfo {
    /// The node's path.
    pub node: String,
    /// The node's NIR type.
    pub kind: String,
    /// Index of the population in [`Imported::network`].
    pub population: usize,
    /// What it stands for.
    pub role: Role,
    /// Whether an Output node reads it.
    pub output: bool,
}

/// A lowered graph.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The network in hardware units, with probes on every population
    /// (spikes, or v for readouts) and no input spikes.
    pub network: Network,
    /// How much lowering to hardware units rounded.
    pub quantization: QuantizationReport,
    /// The populations made from nodes (relay populations are not listed).
    pub populations: Vec<PopulationInfo>,
    /// The input population, when the graph has exactly one.
    pub input: Option<usize>,
    /// The timestep used.
    pub dt_ms: f64,
}

/// Where the timestep came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DtSource {
    /// Given by the user.
    Given,
    /// Taken from the file's metadata.
    Metadata,
}

/// The timestep in ms: the one given, else the file's metadata `dt`, else
/// an error (NIR has no timestep of its own).
pub fn choose_dt(given_ms: Option<f64>, graph: &Graph) -> Result<(f64, DtSource), NirError> {
    match (given_ms, graph.dt_s) {
        (Some(dt), _) => Ok((dt, DtSource::Given)),
        (None, Some(dt_s)) => Ok((dt_s * 1000.0, DtSource::Metadata)),
        (None, None) => Err(NirError::Dt(
            "a NIR graph has no timestep: give one with --dt-ms".to_string(),
        )),
    }
}

/// Lowers a graph read with [`read`]; `name` names the network.
pub fn lower(graph: &Graph, name: &str, options: &Options) -> Result<Imported, NirError> {
    lower::lower(graph, name, options)
}

/// Reads and lowers the NIR file at `path`; the network is named after the
/// file.
pub fn import(path: &Path, options: &Options) -> Result<Imported, NirError> {
    let graph = read(path)?;
    lower(&graph, &network_name(path), options)
}

/// The network name of a file: its stem.
pub fn network_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "nir".to_string())
}

#[cfg(test)]
mod tests;
