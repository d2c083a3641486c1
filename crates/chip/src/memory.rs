//! How a core's memory is spent on synapses and neuron state.

use serde::{Deserialize, Serialize};

/// A core's memory and its accounting.
///
/// Synapses are stored per input axon and synapse format: the entries an
/// axon holds in one format form a run, and each run pays an overhead on top
/// of its entries. Runs and blocks are rounded up to whole memory words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CoreMemory {
    /// A synapse memory of its own (Loihi 1), counted as nengo-loihi counts
    /// it (`SynapseConfig.bits_per_axon`): a run is cut into blocks of at most
    /// `block_synapses` entries, and a block of n entries costs
    /// `n × entry bits + block_overhead_bits` (4 bits of format index, 6 of
    /// count), rounded up to a `word_bits` word.
    Synapses {
        /// Synapse memory per core in bits (Loihi 1: 16,384 words of 64 bits).
        bits: u64,
        /// Most entries in one block (the 6-bit count holds n − 1).
        block_synapses: u32,
        /// Header bits of a block.
        block_overhead_bits: u32,
        /// Memory word in bits.
        word_bits: u32,
    },
    /// One memory for neuron state and synapses (Loihi 2, "flexibly
    /// partitioned"). Intel publishes no breakdown; Neurite's estimates:
    /// a LIF neuron keeps u and v (24 bits each), its bias (16 bits) and a
    /// refractory count, `neuron_state_bytes` = 12 with padding; a run costs
    /// `n × entry bits + run_overhead_bits` rounded up to a `word_bits` word.
    Shared {
        /// Memory per core in bytes (Loihi 2: 192 KB).
        bytes: u64,
        /// Bytes of state per neuron.
        neuron_state_bytes: u32,
        /// Memory word in bits.
        word_bits: u32,
        /// Header bits of a synapse run.
        run_overhead_bits: u32,
    },
}

/// The stored layout of one synapse entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SynapseFormat {
    /// Bits of the weight mantissa as stored (Loihi's widths are 1–6 and 8:
    /// a 7-bit mantissa takes 8).
    pub weight_bits: u32,
    /// Bits of the delay field (0 when every delay of the format is 0).
    pub delay_bits: u32,
    /// Bits of the target neuron index (at least 6).
    pub index_bits: u32,
}

impl SynapseFormat {
    /// The format of entries with `num_weight_bits` mantissas and delays up to
    /// `max_delay`, on a core of at most `neurons` neurons.
    pub fn new(num_weight_bits: u8, max_delay: u8, neurons: u32) -> Self {
        let bits_for = |n: u64| 64 - n.leading_zeros();
        Self {
            weight_bits: match num_weight_bits {
                7 => 8,
                b => u32::from(b),
            },
            delay_bits: bits_for(u64::from(max_delay)),
            index_bits: bits_for(u64::from(neurons.saturating_sub(1))).max(6),
        }
    }

    /// Bits of one entry.
    pub fn entry_bits(&self) -> u64 {
        u64::from(self.weight_bits + self.delay_bits + self.index_bits)
    }
}

/// Memory a core uses against what it has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryUse {
    /// Bits used.
    pub used_bits: u64,
    /// Bits available.
    pub capacity_bits: u64,
}

impl MemoryUse {
    /// Use as a percentage of capacity.
    pub fn percent(&self) -> f64 {
        if self.capacity_bits == 0 {
            0.0
        } else {
            100.0 * self.used_bits as f64 / self.capacity_bits as f64
        }
    }
}

fn round_up(bits: u64, word: u32) -> u64 {
    bits.div_ceil(u64::from(word.max(1))) * u64::from(word.max(1))
}

impl CoreMemory {
    /// Bits available for synapses and neuron state together.
    pub fn capacity_bits(&self) -> u64 {
        match *self {
            CoreMemory::Synapses { bits, .. } => bits,
            CoreMemory::Shared { bytes, .. } => bytes.saturating_mul(8),
        }
    }

    /// Bits taken by the state of `neurons` neurons (none when neuron state
    /// has a memory of its own).
    pub fn neuron_bits(&self, neurons: u64) -> u64 {
        match *self {
            CoreMemory::Synapses { .. } => 0,
            CoreMemory::Shared {
                neuron_state_bytes, ..
            } => neurons.saturating_mul(u64::from(neuron_state_bytes) * 8),
        }
    }

    /// Bits taken by one run of `entries` synapses of `format`.
    pub fn run_bits(&self, format: &SynapseFormat, entries: u64) -> u64 {
        if entries == 0 {
            return 0;
        }
        let entry = format.entry_bits();
        match *self {
            CoreMemory::Synapses {
                block_synapses,
                block_overhead_bits,
                word_bits,
                ..
            } => {
                let per_block = u64::from(block_synapses.max(1));
                let full = entries / per_block;
                let rest = entries % per_block;
                let block =
                    |n: u64| round_up(n * entry + u64::from(block_overhead_bits), word_bits);
                full * block(per_block) + if rest > 0 { block(rest) } else { 0 }
            }
            CoreMemory::Shared {
                word_bits,
                run_overhead_bits,
                ..
            } => round_up(entries * entry + u64::from(run_overhead_bits), word_bits),
        }
    }

    /// Bits taken by learning state, rounded up to words: per learning
    /// synapse its tag and delay variable (9 bits each); per pre axon of a
    /// learning group its traces x1, x2 (7 bits each) and the step of its
    /// last spike in the epoch (6 bits); per post neuron y1, y2, y3 and its
    /// spike step; per product of a rule 32 bits (scale, dependency and up
    /// to four factors). Neurite's estimates: Intel does not publish the
    /// layout of the learning engine.
    pub fn learning_bits(&self, synapses: u64, pre: u64, post: u64, products: u64) -> u64 {
        let word = match *self {
            CoreMemory::Synapses { word_bits, .. } | CoreMemory::Shared { word_bits, .. } => {
                word_bits
            }
        };
        let bits = synapses
            .saturating_mul(18)
            .saturating_add(pre.saturating_mul(20))
            .saturating_add(post.saturating_mul(27))
            .saturating_add(products.saturating_mul(32));
        if bits == 0 { 0 } else { round_up(bits, word) }
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        let (capacity, word) = match *self {
            CoreMemory::Synapses {
                bits,
                block_synapses,
                word_bits,
                ..
            } => {
                if block_synapses == 0 {
                    return Err("block_synapses must be at least 1".to_string());
                }
                (bits, word_bits)
            }
            CoreMemory::Shared {
                bytes, word_bits, ..
            } => (bytes.saturating_mul(8), word_bits),
        };
        if capacity == 0 {
            return Err("has no capacity".to_string());
        }
        if word == 0 || word > 4096 {
            return Err(format!("word_bits {word} must be 1..4096"));
        }
        Ok(())
    }
}
