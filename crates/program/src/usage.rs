//! What each core of a Program takes of the chip's resources.

use neurite_chip::{ChipProfile, MemoryUse, SynapseFormat};

use crate::Core;

/// One core's use of its limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreUsage {
    /// Neurons.
    pub neurons: u64,
    /// Input axons (one per source neuron reaching the core).
    pub input_axons: u64,
    /// Output axons (one per neuron and destination core).
    pub output_axons: u64,
    /// Memory: neuron state (when shared) and synapse runs.
    pub memory: MemoryUse,
    /// Neuron parameter profiles.
    pub profiles: u64,
    /// Synapse groups.
    pub groups: u64,
    /// Delay slots: neurons × (longest delay of the core's synapses + 1).
    pub delay_slots: u64,
}

impl Core {
    /// The core's use of `chip`'s per-core limits. Memory follows the chip's
    /// accounting: each stretch of an axon's run in one synapse group is a run
    /// of that group's format, whose delay field holds the group's `max_delay`. Assumes indices in range
    /// ([`crate::Program::check_structure`]); entries that are not are ignored.
    pub fn usage(&self, chip: &ChipProfile) -> CoreUsage {
        let memory = &chip.core.memory;
        let formats: Vec<SynapseFormat> = self
            .groups
            .iter()
            .map(|g| SynapseFormat::new(g.num_weight_bits, g.max_delay, chip.core.neurons))
            .collect();
        let longest_delay = self.synapses.iter().map(|s| s.delay).max().unwrap_or(0);
        let mut bits = memory.neuron_bits(self.neurons.len() as u64);
        for run in &self.axons {
            let Some(entries) = self.synapses.get(run.range()) else {
                continue;
            };
            let mut start = 0;
            while start < entries.len() {
                let group = entries[start].group;
                let mut end = start + 1;
                while end < entries.len() && entries[end].group == group {
                    end += 1;
                }
                if let Some(format) = formats.get(usize::from(group.0)) {
                    bits = bits.saturating_add(memory.run_bits(format, (end - start) as u64));
                }
                start = end;
            }
        }
        for lg in &self.learning {
            let synapses = lg.tags.len() as u64;
            let products = lg.rule.profile().map_or(0, |p| {
                neurite_learning::Target::ALL
                    .iter()
                    .filter_map(|&t| p.rule(t))
                    .map(|r| r.products().len() as u64)
                    .sum()
            });
            bits = bits.saturating_add(memory.learning_bits(
                synapses,
                lg.pre.len() as u64,
                lg.post.len() as u64,
                products,
            ));
        }
        CoreUsage {
            neurons: self.neurons.len() as u64,
            input_axons: self.axons.len() as u64,
            output_axons: self.destinations.len() as u64,
            memory: MemoryUse {
                used_bits: bits,
                capacity_bits: memory.capacity_bits(),
            },
            profiles: self.profiles.len() as u64,
            groups: self.groups.len() as u64,
            delay_slots: self.neurons.len() as u64 * (u64::from(longest_delay) + 1),
        }
    }
}
