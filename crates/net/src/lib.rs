//! Network descriptions: what a user writes to say which spiking network to run.
//!
//! A description lists populations (host-driven `input` sources and Loihi
//! `lif` neurons in hardware units), projections between them, input spikes
//! and probes. It is written in TOML or JSON, one schema for both; unknown
//! fields are rejected, and every value is checked with an error that names
//! the file, the item and the reason.
//!
//! ```
//! let net = neurite_net::from_toml_str(r#"
//!     [[populations]]
//!     name = "in"
//!     size = 2
//!     model = "input"
//!     [[populations]]
//!     name = "out"
//!     size = 1
//!     model = "lif"
//!     du = 0
//!     dv = 0
//!     vth = 10
//!     [[projections]]
//!     from = "in"
//!     to = "out"
//!     dense = [[100, 50]]
//! "#, "example.toml", None).unwrap();
//! assert_eq!(net.populations.len(), 2);
//! assert_eq!(net.projections[0].synapses.len(), 2);
//! ```
//!
//! With an invalid value:
//!
//! ```
//! let err = neurite_net::from_toml_str(r#"
//!     [[populations]]
//!     name = "hidden"
//!     size = 1
//!     model = "lif"
//!     du = 5000
//!     dv = 0
//!     vth = 10
//! "#, "bad.toml", None).unwrap_err();
//! assert_eq!(err.to_string(), "bad.toml: population 'hidden': du 5000 out of range 0..4095");
//! ```

mod error;
mod expand;
mod inputs;
mod npy;
mod raw;
mod validate;

use std::path::Path;

pub use error::{ErrorKind, Item, NetError};
pub use inputs::InputStream;

/// A validated network description. Every value is in range and every
/// reference resolved; per-neuron parameters are expanded to one per neuron.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Name of the network (the file stem when not given).
    pub name: String,
    /// Run length the description suggests, if any.
    pub steps: Option<u64>,
    /// Duration of one timestep in milliseconds (1 ms unless given); used to
    /// turn Poisson rates into per-step probabilities.
    pub dt_ms: f64,
    /// Populations in the order written.
    pub populations: Vec<Population>,
    /// Projections in the order written.
    pub projections: Vec<Projection>,
    /// Input spike sources.
    pub inputs: Vec<Input>,
    /// Recorded variables, at most one entry per population.
    pub probes: Vec<Probe>,
}

/// A population of identical-model neurons.
#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    /// Unique name.
    pub name: String,
    /// Number of neurons, at least 1.
    pub size: u32,
    /// Neuron model and its parameters.
    pub model: Model,
}

/// Neuron model of a population.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    /// Host-driven spike source.
    Input,
    /// Loihi's current-based leaky integrate-and-fire neuron.
    Lif(Lif),
}

/// LIF parameters in hardware units, one entry per neuron.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lif {
    /// Current decay, 0..=4095.
    pub du: Vec<u16>,
    /// Voltage decay, 0..=4095.
    pub dv: Vec<u16>,
    /// Threshold mantissa, 0..=131071 (compared against `vth << 6`).
    pub vth: Vec<u32>,
    /// Bias mantissa, −4096..=4095.
    pub bias_mant: Vec<i16>,
    /// Bias exponent, 0..=7.
    pub bias_exp: Vec<u8>,
    /// Refractory period in steps, 0..=63 (0: none).
    pub refractory: Vec<u8>,
    /// Initial current, in (−2^23, 2^23].
    pub u_init: Vec<i32>,
    /// Initial voltage, in [−(2^23 − 1), 2^23 − 1].
    pub v_init: Vec<i32>,
}

/// Sign mode of a projection's weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignMode {
    /// Weights of either sign, clipped to −256..=255.
    Mixed,
    /// Weights clipped to 0..=255.
    Excitatory,
    /// Weights clipped to −255..=0.
    Inhibitory,
}

/// A projection from one population onto a LIF population.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// Name (given, or `from->to`).
    pub name: String,
    /// Index of the source population.
    pub from: usize,
    /// Index of the target population (always a LIF population).
    pub to: usize,
    /// The synapses, with weights as written (before clipping).
    pub synapses: Vec<Synapse>,
    /// Weight exponent, −8..=7.
    pub weight_exp: i8,
    /// Weight mantissa bits, 1..=8.
    pub num_weight_bits: u8,
    /// Sign mode as written; `None` means inferred from the weights.
    pub sign_mode: Option<SignMode>,
}

/// One synapse of a projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Synapse {
    /// Index of the source neuron in its population.
    pub pre: u32,
    /// Index of the target neuron in its population.
    pub post: u32,
    /// Weight on the 8-bit scale, as written.
    pub weight: i32,
    /// Delay in steps, 0..=62: a spike at step t reaches u at t + 1 + delay.
    pub delay: u8,
}

/// An input spike source bound to an input population.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    /// Index of the input population.
    pub population: usize,
    /// Where the spikes come from.
    pub source: InputSource,
}

/// How an input produces spikes.
#[derive(Debug, Clone, PartialEq)]
pub enum InputSource {
    /// Explicit `(step, index)` pairs, sorted, without repeats.
    Spikes(Vec<(u64, u32)>),
    /// Each neuron spikes independently with `probability` per step, drawn
    /// from a ChaCha8 stream seeded with `seed`.
    Poisson {
        /// Per-step spike probability (rate × dt).
        probability: f64,
        /// Generator seed.
        seed: u64,
    },
    /// Every neuron spikes at the steps t ≥ 1 with t ≡ phase (mod period).
    Periodic {
        /// Period in steps, at least 1.
        period: u64,
        /// Phase in steps, 0..period.
        phase: u64,
    },
}

/// Variables recorded from one population.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// Index of the population.
    pub population: usize,
    /// Record spikes.
    pub spikes: bool,
    /// Record the current u (LIF only).
    pub u: bool,
    /// Record the voltage v (LIF only).
    pub v: bool,
}

impl Network {
    /// Index of the population named `name`.
    pub fn population(&self, name: &str) -> Option<usize> {
        self.populations.iter().position(|p| p.name == name)
    }

    /// The probe of population `index`, if it has one.
    pub fn probe_of(&self, index: usize) -> Option<&Probe> {
        self.probes.iter().find(|p| p.population == index)
    }

    /// Total number of neurons in LIF populations.
    pub fn lif_neuron_count(&self) -> u64 {
        self.populations
            .iter()
            .filter(|p| matches!(p.model, Model::Lif(_)))
            .map(|p| u64::from(p.size))
            .sum()
    }
}

/// Loads a description from a `.toml` or `.json` file. Relative paths inside
/// it (`.npy` weights, `.csv` spikes) are resolved against its directory.
pub fn load(path: &Path) -> Result<Network, NetError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| NetError {
        file: file.clone(),
        kind: ErrorKind::Io {
            path: file.clone(),
            reason: e.to_string(),
        },
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "network".to_string());
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let raw = match extension.as_str() {
        "toml" => parse_toml(&text, &file)?,
        "json" => parse_json(&text, &file)?,
        _ => {
            return Err(NetError {
                file,
                kind: ErrorKind::UnknownFormat { extension },
            });
        }
    };
    validate::validate(raw, &file, &stem, Some(base))
}

/// Parses and validates a TOML description held in memory. `file` names it in
/// errors; `base` resolves relative paths (none allowed when `None`).
pub fn from_toml_str(text: &str, file: &str, base: Option<&Path>) -> Result<Network, NetError> {
    let raw = parse_toml(text, file)?;
    validate::validate(raw, file, "network", base)
}

/// Parses and validates a JSON description held in memory.
pub fn from_json_str(text: &str, file: &str, base: Option<&Path>) -> Result<Network, NetError> {
    let raw = parse_json(text, file)?;
    validate::validate(raw, file, "network", base)
}

fn parse_toml(text: &str, file: &str) -> Result<raw::RawNetwork, NetError> {
    let syntax = |message: String| NetError {
        file: file.to_string(),
        kind: ErrorKind::Syntax(message.trim_end().to_string()),
    };
    let deserializer = toml::Deserializer::parse(text).map_err(|e| syntax(e.to_string()))?;
    serde_path_to_error::deserialize(deserializer)
        .map_err(|e| syntax(with_path(e.path(), &e.inner().to_string())))
}

fn parse_json(text: &str, file: &str) -> Result<raw::RawNetwork, NetError> {
    let syntax = |message: String| NetError {
        file: file.to_string(),
        kind: ErrorKind::Syntax(message),
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let raw = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|e| syntax(with_path(e.path(), &e.inner().to_string())))?;
    // Anything after the document is an error too.
    deserializer.end().map_err(|e| syntax(e.to_string()))?;
    Ok(raw)
}

/// Prefixes a schema error with where in the tree it happened
/// (`populations[1].du: …`), the item the parser could not read.
fn with_path(path: &serde_path_to_error::Path, message: &str) -> String {
    let path = path.to_string();
    if path == "." || path.is_empty() {
        message.to_string()
    } else {
        format!("{path}: {message}")
    }
}
