//! The Program: what the compiler emits and a board executes.
//!
//! A Program is to Neurite what an instruction set is to a CPU: the compiler
//! writes it, boards (the emulator, real hardware) read it, and neither sees the
//! other. It holds, per core and in the chip's own fixed-point units:
//!
//! - neuron parameter profiles shared by many neurons, and per-neuron state;
//! - synapse memory: for each input axon one contiguous run of
//!   (target neuron, weight mantissa, delay, synapse group) entries;
//! - the routing table: for each neuron, the input axons its spikes go to;
//!
//! and, for the host, the input ports (which axons a host spike channel drives)
//! and the population map (which neurons make up each named population, and
//! whether their spikes are reported).
//!
//! [`Program::encode`] and [`Program::decode`] give the versioned binary form;
//! [`Program::validate`] is the check every board runs before loading.
//!
//! ```
//! use neurite_program::Program;
//! let program = Program::empty("loihi2");
//! let bytes = program.encode();
//! assert_eq!(Program::decode(&bytes).unwrap(), program);
//! ```

mod encoding;
mod learning;
#[cfg(test)]
mod tests;
mod text;
mod usage;
mod validate;

pub use encoding::{DecodeError, FORMAT_VERSION, Header, MAGIC, OLDEST_READABLE_VERSION, crc32};
pub use learning::{LearningGroup, LearningRule, Neuromodulator, TraceBits};
pub use usage::CoreUsage;
pub use validate::{CHIP_NAME_MAX, ValidationError};

use serde::{Deserialize, Serialize};

/// Largest du or dv (12-bit unsigned decay constants).
pub const DECAY_MAX: u16 = 4095;
/// Largest threshold mantissa (17-bit unsigned); the core compares against `vth << 6`.
pub const VTH_MAX: u32 = 131_071;
/// Bias mantissa range (13-bit signed).
pub const BIAS_MANT_MIN: i16 = -4096;
/// Bias mantissa range (13-bit signed).
pub const BIAS_MANT_MAX: i16 = 4095;
/// Largest bias exponent (3-bit unsigned).
pub const BIAS_EXP_MAX: u8 = 7;
/// Largest refractory period in timesteps (6-bit field).
pub const REFRACTORY_MAX: u8 = 63;
/// Current range: u wraps into (−2^23, 2^23].
pub const U_MIN_EXCLUSIVE: i32 = -(1 << 23);
/// Current range: u wraps into (−2^23, 2^23].
pub const U_MAX: i32 = 1 << 23;
/// Voltage saturates at ±(2^23 − 1).
pub const V_LIMIT: i32 = (1 << 23) - 1;
/// Largest synaptic delay the format carries (a chip may allow less).
pub const MAX_DELAY: u8 = neurite_chip::MAX_DELAY_LIMIT;
/// Smallest weight exponent.
pub const WEIGHT_EXP_MIN: i8 = -8;
/// Largest weight exponent.
pub const WEIGHT_EXP_MAX: i8 = 7;

/// Index of a core in [`Program::cores`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CoreId(pub u32);

/// Index of a neuron within its core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NeuronId(pub u32);

/// Index of an input axon within its core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AxonId(pub u32);

/// Index of a neuron parameter profile within its core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProfileId(pub u16);

/// Index of a synapse group within its core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GroupId(pub u16);

/// A compiled network for one chip profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    /// Name of the chip profile the Program was built for.
    pub chip: String,
    /// The cores in use, indexed by [`CoreId`].
    pub cores: Vec<Core>,
    /// Host spike inputs, one port per input population.
    pub inputs: Vec<InputPort>,
    /// Named neuron populations, for spike reports and state access.
    pub populations: Vec<PopulationMap>,
    /// Neuromodulators: third factors of learning rules, set by the host or
    /// from spikes each step.
    pub neuromodulators: Vec<Neuromodulator>,
    /// What produced the Program, for people: the network's name and the
    /// compiler's report. Boards ignore it.
    pub notes: Notes,
}

/// Human-readable provenance of a Program.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notes {
    /// Name of the network the Program was compiled from.
    pub network: String,
    /// The compiler's report (placement, quantization), as text.
    pub report: String,
}

/// One core's tables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Core {
    /// The physical core this one occupies, numbered as
    /// [`neurite_chip::ChipProfile::location`] numbers them.
    pub location: u32,
    /// Parameter profiles shared by the core's neurons.
    pub profiles: Vec<NeuronProfile>,
    /// Per-neuron parameters and state, as structure of arrays.
    pub neurons: Neurons,
    /// Synapse groups: the weight format and accumulation unit of synapse entries.
    pub groups: Vec<SynapseGroup>,
    /// Input axons, indexed by [`AxonId`]: each a run in [`Core::synapses`].
    pub axons: Vec<Run>,
    /// Synapse memory: the runs of all input axons, back to back.
    pub synapses: Vec<Synapse>,
    /// Per neuron, a run in [`Core::destinations`]: where its spikes go.
    pub routes: Vec<Run>,
    /// Routing table entries.
    pub destinations: Vec<AxonAddress>,
    /// Learning synapse groups.
    pub learning: Vec<LearningGroup>,
}

/// Neuron model of a profile. Only Loihi's current-based LIF for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NeuronModel {
    /// Current-based leaky integrate-and-fire, as Lava's bit-accurate `LIF`.
    Lif,
}

/// Parameters shared by a group of neurons on a core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NeuronProfile {
    /// Neuron model.
    pub model: NeuronModel,
    /// Current decay, 0..=4095 (the core adds one: 4096 − (du + 1) of u is kept).
    pub du: u16,
    /// Voltage decay, 0..=4095.
    pub dv: u16,
    /// Threshold mantissa, 0..=131071; a neuron spikes when v > vth << 6.
    pub vth: u32,
    /// Steps after a spike during which v is held at its value after the
    /// reset; 0 means none.
    pub refractory: u8,
    /// What a spike does to v.
    pub reset: Reset,
}

/// What a spike does to a neuron's voltage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reset {
    /// v ← 0, as Lava's bit-accurate LIF does.
    #[default]
    Zero,
    /// v ← v − (vth << 6): the charge above the threshold is kept.
    Subtract,
}

/// Per-neuron parameters and state of one core, one entry per neuron.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Neurons {
    /// Parameter profile of each neuron.
    pub profile: Vec<ProfileId>,
    /// Bias mantissa, −4096..=4095.
    pub bias_mant: Vec<i16>,
    /// Bias exponent, 0..=7: the bias added each step is `bias_mant << bias_exp`.
    pub bias_exp: Vec<u8>,
    /// Current u, in (−2^23, 2^23].
    pub u: Vec<i32>,
    /// Voltage v, in [−(2^23 − 1), 2^23 − 1].
    pub v: Vec<i32>,
}

impl Neurons {
    /// Number of neurons.
    pub fn len(&self) -> usize {
        self.profile.len()
    }

    /// True when the core holds no neurons.
    pub fn is_empty(&self) -> bool {
        self.profile.is_empty()
    }
}

/// Sign mode of a synapse group, as Loihi's synapse formats and Lava define it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SignMode {
    /// Weights of either sign; one bit of the mantissa is the sign.
    Mixed,
    /// Weights ≥ 0.
    Excitatory,
    /// Weights ≤ 0; the mantissa holds the magnitude, negated.
    Inhibitory,
}

impl SignMode {
    /// Low bits of the 8-bit-scale weight that a mantissa of `num_weight_bits`
    /// bits cannot hold: 8 − bits, plus one for the sign in mixed mode.
    pub fn weight_shift(self, num_weight_bits: u8) -> u32 {
        let mixed = u32::from(self == SignMode::Mixed);
        8u32.saturating_sub(u32::from(num_weight_bits)) + mixed
    }

    /// Inclusive range of the mantissa for `num_weight_bits` bits.
    pub fn mantissa_range(self, num_weight_bits: u8) -> (i32, i32) {
        let bits = u32::from(num_weight_bits);
        match self {
            SignMode::Mixed => (-(1 << (bits - 1)), (1 << (bits - 1)) - 1),
            SignMode::Excitatory => (0, (1 << bits) - 1),
            SignMode::Inhibitory => (-((1 << bits) - 1), 0),
        }
    }
}

/// How a group's connectivity is stored, which chips price differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SynapseKind {
    /// From a full weight matrix.
    Dense,
    /// From a list of synapses.
    Sparse,
    /// A convolution's shared kernel.
    Convolutional,
}

/// A synapse group: entries with one weight format, whose contributions are
/// summed per target and delay before the weight exponent is applied (the unit
/// of accumulation of Lava's `Dense`: one projection's share of a core).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SynapseGroup {
    /// Weight exponent, −8..=7: each step's sum is shifted by it (right shifts
    /// round toward −∞).
    pub weight_exp: i8,
    /// Mantissa width, 1..=8.
    pub num_weight_bits: u8,
    /// Sign mode of the mantissas.
    pub sign_mode: SignMode,
    /// How the connectivity is stored.
    pub kind: SynapseKind,
    /// Longest delay the group's delay field holds (its width in memory).
    pub max_delay: u8,
    /// The learning group (index into [`Core::learning`]) when the group's
    /// synapses learn. Their weights are then held on the 8-bit scale at
    /// full resolution (a learned weight may take any value of its sign
    /// mode's range, odd ones included), not as mantissas.
    pub learning: Option<u16>,
}

impl SynapseGroup {
    /// The 8-bit-scale weight a synapse entry stands for: `mantissa <<
    /// weight_shift`, or the weight itself in a learning group.
    pub fn weight_of(&self, mantissa: i16) -> i32 {
        match self.learning {
            Some(_) => i32::from(mantissa),
            None => i32::from(mantissa) << self.sign_mode.weight_shift(self.num_weight_bits),
        }
    }
}

/// A half-open range `start..start + len` in a table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Run {
    /// First entry.
    pub start: u32,
    /// Number of entries.
    pub len: u32,
}

impl Run {
    /// The range as `usize` indices.
    pub fn range(self) -> std::ops::Range<usize> {
        let start = self.start as usize;
        start..start + self.len as usize
    }
}

/// One entry of synapse memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Synapse {
    /// Target neuron on this core.
    pub target: NeuronId,
    /// Weight mantissa in the group's format.
    pub weight: i16,
    /// Synaptic delay: a spike at step t reaches u at step t + 1 + delay.
    pub delay: u8,
    /// Synapse group of the entry.
    pub group: GroupId,
}

/// An input axon on a given core: the destination of a spike message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AxonAddress {
    /// Destination core.
    pub core: CoreId,
    /// Input axon on that core.
    pub axon: AxonId,
}

/// A neuron on a given core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NeuronAddress {
    /// Core holding the neuron.
    pub core: CoreId,
    /// Neuron within the core.
    pub neuron: NeuronId,
}

/// A host spike input: channel `i` is the i-th neuron of the input population,
/// and a spike on it is delivered to every axon of its run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputPort {
    /// Name of the input population.
    pub name: String,
    /// Per channel, a run in [`InputPort::axons`].
    pub channels: Vec<Run>,
    /// The axons the channels drive, channel after channel.
    pub axons: Vec<AxonAddress>,
}

impl InputPort {
    /// The axons channel `channel` drives (empty for a channel out of range
    /// or a malformed run; [`Program::check_structure`] rejects the latter).
    pub fn channel(&self, channel: usize) -> &[AxonAddress] {
        self.channels
            .get(channel)
            .and_then(|run| self.axons.get(run.range()))
            .unwrap_or(&[])
    }
}

/// A named population of neurons on the chip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PopulationMap {
    /// Population name.
    pub name: String,
    /// Where each neuron of the population lives, in population order.
    pub neurons: Vec<NeuronAddress>,
    /// Whether the population's spikes are reported to the host every step.
    pub report_spikes: bool,
}

impl Program {
    /// A Program with no cores, no ports and no populations.
    pub fn empty(chip: &str) -> Self {
        Self {
            chip: chip.to_string(),
            cores: Vec::new(),
            inputs: Vec::new(),
            populations: Vec::new(),
            neuromodulators: Vec::new(),
            notes: Notes::default(),
        }
    }

    /// Total neurons over all cores.
    pub fn neuron_count(&self) -> usize {
        self.cores.iter().map(|c| c.neurons.len()).sum()
    }

    /// Total synapse entries over all cores.
    pub fn synapse_count(&self) -> usize {
        self.cores.iter().map(|c| c.synapses.len()).sum()
    }

    /// Index of the input port named `name`.
    pub fn input_port(&self, name: &str) -> Option<usize> {
        self.inputs.iter().position(|p| p.name == name)
    }

    /// Index of the population named `name`.
    pub fn population(&self, name: &str) -> Option<usize> {
        self.populations.iter().position(|p| p.name == name)
    }
}
