//! Network descriptions: what a user writes to say which spiking network to run.
//!
//! A description lists populations (host-driven `input` sources and Loihi
//! `lif` neurons, in hardware units or in physical units), projections between
//! them, input spikes and probes. It is written in TOML or JSON, one schema for both; unknown
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
//! In physical units (lowered to hardware units by the compiler):
//!
//! ```
//! let net = neurite_net::from_toml_str(r#"
//!     dt_ms = 1.0
//!     [[populations]]
//!     name = "in"
//!     size = 2
//!     model = "input"
//!     [[populations]]
//!     name = "out"
//!     size = 1
//!     model = "lif"
//!     tau_syn_ms = 5.0
//!     tau_mem_ms = 20.0
//!     threshold = 1.0
//!     [[projections]]
//!     from = "in"
//!     to = "out"
//!     dense = [[0.5, -0.25]]
//! "#, "example.toml", None).unwrap();
//! assert!(net.has_physical_units());
//! assert_eq!(net.populations[1].physical.as_ref().unwrap().threshold, vec![1.0]);
//! assert_eq!(
//!     net.projections[0].float_weights,
//!     Some(neurite_net::FloatWeights::PerSynapse(vec![0.5, -0.25]))
//! );
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
mod learning;
mod npy;
mod raw;
mod validate;

use std::path::Path;

pub use error::{ErrorKind, Item, NetError};
pub use inputs::InputStream;
pub use learning::{Learning, LearningRuleKind, Neuromodulator};
pub use neurite_learning;

/// A validated network description. Every value is in range and every
/// reference resolved; per-neuron parameters are expanded to one per neuron.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Name of the network (the file stem when not given).
    pub name: String,
    /// Run length the description suggests, if any.
    pub steps: Option<u64>,
    /// Duration of one timestep in milliseconds; used to turn Poisson rates
    /// into per-step probabilities and time constants into decays. 1 ms when
    /// not given, which only a description without populations in physical
    /// units may do.
    pub dt_ms: f64,
    /// Populations in the order written.
    pub populations: Vec<Population>,
    /// Projections in the order written.
    pub projections: Vec<Projection>,
    /// Input spike sources.
    pub inputs: Vec<Input>,
    /// Recorded variables, at most one entry per population.
    pub probes: Vec<Probe>,
    /// Third factors of learning rules.
    pub neuromodulators: Vec<Neuromodulator>,
}

/// A population of identical-model neurons.
#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    /// Unique name.
    pub name: String,
    /// Number of neurons, at least 1.
    pub size: u32,
    /// Neuron model and its parameters. A population in physical units
    /// ([`physical`](Self::physical) is `Some`) is a [`Model::Lif`] whose
    /// hardware parameters are all empty until lowered.
    pub model: Model,
    /// Parameters of a `lif` population written in physical units; `None` for
    /// input populations and `lif` populations in hardware units. Such a
    /// population must be lowered to hardware units
    /// (`neurite_compiler::physical::lower`) before it can be compiled or
    /// simulated.
    pub physical: Option<PhysicalLif>,
}

/// Neuron model of a population.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    /// Host-driven spike source.
    Input,
    /// Loihi's current-based leaky integrate-and-fire neuron. Empty vectors
    /// when the population is in physical units (see
    /// [`Population::physical`]).
    Lif(Lif),
}

/// LIF parameters in physical units, one entry per neuron: Lava's
/// floating-point LIF with decays from time constants. Each step,
///
/// ```text
/// u ← u·(1 − δu) + Σ w·s          δu = 1 − exp(−dt_ms / tau_syn_ms)
/// v ← v·(1 − δv) + u + bias        δv = 1 − exp(−dt_ms / tau_mem_ms)
/// spike when v > threshold, then v ← 0 (or v ← v − threshold, see `reset`),
/// and v is held for `refractory` steps
/// ```
///
/// with the weights `w` of the projections onto the population in the same
/// units as `u`, `v`, `threshold` and `bias` (whatever unit the user chose).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PhysicalLif {
    /// Synaptic (current) time constant in ms, positive and finite in a
    /// description; an importer may give 0: no synaptic current, u is each
    /// step's input alone (δu = 1).
    pub tau_syn_ms: Vec<f64>,
    /// Membrane (voltage) time constant in ms, positive and finite in a
    /// description; an importer may give +∞: no leak (δv = 0).
    pub tau_mem_ms: Vec<f64>,
    /// Spike threshold, positive and finite.
    pub threshold: Vec<f64>,
    /// Constant input added to v each step, finite.
    pub bias: Vec<f64>,
    /// Refractory period in steps, `round(refractory_ms / dt_ms)`, 0..=63.
    pub refractory: Vec<u8>,
    /// Initial current, finite.
    pub u_init: Vec<f64>,
    /// Initial voltage, finite.
    pub v_init: Vec<f64>,
    /// What a spike does to v, for the whole population.
    pub reset: Reset,
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
    /// What a spike does to v, for the whole population.
    pub reset: Reset,
}

/// What a spike does to a neuron's voltage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Reset {
    /// v ← 0, as Lava's LIF does.
    #[default]
    Zero,
    /// v ← v − threshold: the charge above the threshold is kept.
    Subtract,
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
    /// The synapses, with weights as written (before clipping). Their
    /// `weight` is 0 when the projection has [`float_weights`](Self::float_weights).
    pub synapses: Vec<Synapse>,
    /// The weights of a projection onto a population in physical units, as
    /// written; `None` for a projection onto a hardware-unit population, whose
    /// weights are the synapses' integers.
    pub float_weights: Option<FloatWeights>,
    /// Weight exponent, −8..=7 (0 for a projection with float weights, whose
    /// exponent the compiler chooses).
    pub weight_exp: i8,
    /// Weight mantissa bits, 1..=8.
    pub num_weight_bits: u8,
    /// Sign mode as written; `None` means inferred from the weights.
    pub sign_mode: Option<SignMode>,
    /// How the connectivity was written: a full matrix or a list of synapses.
    pub kind: ConnectivityKind,
    /// The learning rule, when the projection's synapses learn. A learning
    /// projection keeps every synapse written, zero weights of a dense
    /// matrix included (they may grow).
    pub learning: Option<Learning>,
}

/// How a projection's connectivity was written; chips and their energy
/// tables may store and price the kinds differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectivityKind {
    /// A full weight matrix (`dense`).
    Dense,
    /// A list of synapses (`sparse`, `one_to_one`, `fixed_probability`).
    Sparse,
    /// A convolution's shared kernel.
    Convolutional,
}

/// Float weights of a projection onto a population in physical units.
#[derive(Debug, Clone, PartialEq)]
pub enum FloatWeights {
    /// The same weight for every synapse (`fixed_probability`, or `one_to_one`
    /// with a single weight).
    Uniform(f64),
    /// One weight per synapse, in the order of [`Projection::synapses`].
    PerSynapse(Vec<f64>),
}

impl FloatWeights {
    /// The weight of synapse `index` (of [`Projection::synapses`]).
    ///
    /// # Panics
    ///
    /// If `index` is out of bounds of a per-synapse list.
    pub fn get(&self, index: usize) -> f64 {
        match self {
            FloatWeights::Uniform(w) => *w,
            FloatWeights::PerSynapse(ws) => ws[index],
        }
    }
}

/// One synapse of a projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Synapse {
    /// Index of the source neuron in its population.
    pub pre: u32,
    /// Index of the target neuron in its population.
    pub post: u32,
    /// Weight on the 8-bit scale, as written (0 for a synapse whose weight is
    /// in the projection's [`float_weights`](Projection::float_weights)).
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

    /// Whether any population is in physical units (and so the network must
    /// be lowered to hardware units before it is compiled or simulated).
    pub fn has_physical_units(&self) -> bool {
        self.populations.iter().any(Population::is_physical)
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

impl Population {
    /// Whether this is a `lif` population written in physical units.
    pub fn is_physical(&self) -> bool {
        self.physical.is_some()
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

/// Reads input spikes for a population of `size` neurons from a file: CSV
/// lines `step,index` (a header line, blank lines and `#` comments allowed),
/// or a `.npy` array of shape `[steps × size]` whose nonzero entries are
/// spikes (row 0 is step 1). Returns `(step, index)` pairs, sorted, without
/// repeats; steps start at 1.
pub fn spikes_from_file(path: &Path, size: u32) -> Result<Vec<(u64, u32)>, NetError> {
    let file = path.display().to_string();
    let err = |reason: String| NetError {
        file: file.clone(),
        kind: ErrorKind::Syntax(reason),
    };
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let mut spikes = Vec::new();
    if extension == "npy" {
        let rows = npy::read_spike_matrix(path).map_err(err)?;
        for (r, row) in rows.iter().enumerate() {
            if row.len() != size as usize {
                return Err(err(format!(
                    "has {} columns; the input has {size} neurons",
                    row.len()
                )));
            }
            for (i, &v) in row.iter().enumerate() {
                if v != 0.0 {
                    spikes.push((r as u64 + 1, i as u32));
                }
            }
        }
    } else {
        let text = std::fs::read_to_string(path).map_err(|e| NetError {
            file: file.clone(),
            kind: ErrorKind::Io {
                path: file.clone(),
                reason: e.to_string(),
            },
        })?;
        let pairs = inputs::parse_csv(&text)
            .map_err(|(line, reason)| err(format!("line {line}: {reason}")))?;
        for (line, step, index) in pairs {
            if step < 1 {
                return Err(err(format!("line {line}: step {step} (steps start at 1)")));
            }
            if !(0..i64::from(size)).contains(&index) {
                return Err(err(format!(
                    "line {line}: index {index} outside the input's {size} neurons"
                )));
            }
            spikes.push((step as u64, index as u32));
        }
    }
    spikes.sort_unstable();
    spikes.dedup();
    Ok(spikes)
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
