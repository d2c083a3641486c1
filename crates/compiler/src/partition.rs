//! Assigning neurons to cores within every per-core limit.
//!
//! Targets are taken in description order and packed onto the current core
//! until the next one would break a limit: neurons, input axons (one per
//! source neuron reaching the core), memory (neuron state and synapse runs,
//! as the chip counts them), parameter profiles, synapse groups, or the
//! per-population cap that the output-axon pass may impose. Packing in order
//! keeps each population on as few cores as possible, and populations that
//! talk to each other are usually written next to each other, so traffic
//! stays local. Each core holds a contiguous range of targets.
//!
//! Output axons (one per source neuron and destination core) depend on where
//! the targets land, so they are counted afterwards ([`output_axons`]); when a
//! core has too many, the caller lowers the number of neurons per core for the
//! populations on it and partitions again.

use std::collections::HashSet;

use neurite_chip::{ChipProfile, SynapseFormat};
use neurite_net::{Model, Network};
use neurite_program::NeuronProfile;
use rustc_hash::FxHashMap;

use crate::index::{Incoming, Numbering, ProjectionInfo};
use crate::{CompileError, Limit, Progress};

/// Which cores hold which targets.
#[derive(Debug, Clone)]
pub(crate) struct Partition {
    /// Core k holds targets `first[k]..first[k + 1]`.
    pub(crate) first: Vec<u32>,
    /// The limit that closed each core but the last.
    pub(crate) closed_by: Vec<Limit>,
}

impl Partition {
    /// How many cores each limit closed, most first.
    pub(crate) fn closed_by_counts(&self) -> Vec<(Limit, usize)> {
        count_limits(&self.closed_by)
    }

    pub(crate) fn cores(&self) -> usize {
        self.first.len() - 1
    }

    /// Core of every target.
    pub(crate) fn core_of_targets(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(*self.first.last().unwrap_or(&0) as usize);
        for k in 0..self.cores() {
            let n = self.first[k + 1] - self.first[k];
            out.extend(std::iter::repeat_n(k as u32, n as usize));
        }
        out
    }
}

#[derive(Default)]
struct CoreState {
    neurons: u32,
    axons: u32,
    memory: u64,
    groups: u32,
    /// Longest delay of the synapses onto the core.
    max_delay: u8,
    /// The population of the last neuron placed, and its neurons here.
    population: Option<usize>,
    population_neurons: u32,
    profiles: HashSet<NeuronProfile>,
    /// Per learning projection on the core: (synapses, pre axons, post
    /// neurons), for the memory of its learning state.
    learning: FxHashMap<u32, (u64, u64, u64)>,
}

pub(crate) fn partition(
    network: &Network,
    numbering: &Numbering,
    incoming: &Incoming,
    info: &[ProjectionInfo],
    chip: &ChipProfile,
    caps: &[u32],
    progress: &mut dyn Progress,
) -> Result<Partition, CompileError> {
    let limits = &chip.core;
    let memory = &limits.memory;
    let formats: Vec<SynapseFormat> = network
        .projections
        .iter()
        .zip(info)
        .map(|(p, i)| SynapseFormat::new(p.num_weight_bits, i.max_delay, limits.neurons))
        .collect();
    // Products of each learning projection's rules (0: does not learn).
    let products: Vec<u64> = network
        .projections
        .iter()
        .map(|p| {
            p.learning.as_ref().map_or(0, |l| {
                neurite_learning::Target::ALL
                    .iter()
                    .filter_map(|&t| l.profile.rule(t))
                    .map(|r| r.products().len() as u64)
                    .sum()
            })
        })
        .collect();
    let learning_bits = |j: u32, (synapses, pre, post): (u64, u64, u64)| {
        memory.learning_bits(synapses, pre, post, products[j as usize])
    };
    let neuron_bits = memory.neuron_bits(1);
    let capacity = memory.capacity_bits();
    let available = chip.total_cores();

    // `marker` is the current core + 1: a source or group whose mark equals it
    // is already on the core. Closing a core moves the marker on, so nothing
    // needs undoing when a neuron does not fit.
    let mut source_seen = vec![0u32; numbering.sources as usize];
    let mut group_seen = vec![0u32; network.projections.len()];
    let mut runs: FxHashMap<u64, u32> = FxHashMap::default();
    let mut first = vec![0u32];
    let mut closed_by = Vec::new();
    let mut core = CoreState::default();
    let mut marker = 1u32;

    progress.begin("partitioning", u64::from(numbering.targets));
    for tid in 0..numbering.targets {
        let (population, index) = numbering.target(tid);
        let Model::Lif(lif) = &network.populations[population].model else {
            continue;
        };
        let profile = crate::lif_profile(lif, index as usize);
        let entries = incoming.of(tid);
        let delay = entries.iter().map(|e| e.delay).max().unwrap_or(0);
        loop {
            // Add the target tentatively, counting what it costs.
            let (mut new_axons, mut new_groups, mut bits) = (0u32, 0u32, neuron_bits);
            let mut learning_added: FxHashMap<u32, (u64, u64, u64)> = FxHashMap::default();
            for e in entries {
                let (j, sid) = (e.projection as usize, e.source);
                if source_seen[sid as usize] != marker {
                    source_seen[sid as usize] = marker;
                    new_axons += 1;
                }
                if group_seen[j] != marker {
                    group_seen[j] = marker;
                    new_groups += 1;
                }
                let count = runs
                    .entry(u64::from(sid) << 32 | u64::from(e.projection))
                    .or_insert(0);
                let format = &formats[j];
                bits += memory.run_bits(format, u64::from(*count) + 1)
                    - memory.run_bits(format, u64::from(*count));
                if info[j].learning {
                    let added = learning_added.entry(e.projection).or_insert((0, 0, 1));
                    added.0 += 1;
                    added.1 += u64::from(*count == 0);
                }
                *count += 1;
            }
            let mut learning_after = Vec::with_capacity(learning_added.len());
            for (&j, &(synapses, pre, post)) in &learning_added {
                let before = core.learning.get(&j).copied().unwrap_or((0, 0, 0));
                let after = (before.0 + synapses, before.1 + pre, before.2 + post);
                bits += learning_bits(j, after) - learning_bits(j, before);
                learning_after.push((j, after));
            }
            let new_profile = !core.profiles.contains(&profile);
            let population_neurons = if core.population == Some(population) {
                core.population_neurons
            } else {
                0
            };
            let max_delay = core.max_delay.max(delay);
            let slots = u64::from(core.neurons + 1) * (u64::from(max_delay) + 1);
            let broken = if core.neurons + 1 > limits.neurons {
                Some(Limit::Neurons)
            } else if u64::from(core.axons) + u64::from(new_axons) > u64::from(limits.input_axons) {
                Some(Limit::InputAxons)
            } else if core.memory + bits > capacity {
                Some(Limit::Memory)
            } else if core.profiles.len() + usize::from(new_profile)
                > limits.neuron_profiles as usize
            {
                Some(Limit::Profiles)
            } else if core.groups + new_groups > limits.synapse_groups {
                Some(Limit::Groups)
            } else if limits.delay_slots.is_some_and(|limit| slots > limit) {
                Some(Limit::DelaySlots)
            } else if population_neurons + 1 > caps[population] {
                Some(Limit::OutputAxons)
            } else {
                None
            };
            let Some(limit) = broken else {
                core.neurons += 1;
                core.axons += new_axons;
                core.groups += new_groups;
                core.memory += bits;
                core.max_delay = max_delay;
                core.profiles.insert(profile);
                core.population = Some(population);
                core.population_neurons = population_neurons + 1;
                core.learning.extend(learning_after);
                break;
            };
            if core.neurons == 0 {
                let name = &network.populations[population].name;
                let (needed, limit_value) = match limit {
                    Limit::Neurons => (1, u64::from(limits.neurons)),
                    Limit::InputAxons => (u64::from(new_axons), u64::from(limits.input_axons)),
                    Limit::Memory => (bits, capacity),
                    Limit::Profiles => (1, u64::from(limits.neuron_profiles)),
                    Limit::Groups => (u64::from(new_groups), u64::from(limits.synapse_groups)),
                    Limit::DelaySlots => (slots, limits.delay_slots.unwrap_or(0)),
                    Limit::OutputAxons => (1, u64::from(caps[population])),
                };
                return Err(CompileError::NeuronTooLarge {
                    population: name.clone(),
                    index,
                    limit,
                    needed,
                    available: limit_value,
                });
            }
            // Close the core and try again on a fresh one.
            first.push(tid);
            closed_by.push(limit);
            if first.len() as u64 > available {
                return Err(CompileError::TooManyCores {
                    chip: chip.name.clone(),
                    available,
                    placed: u64::from(tid),
                    neurons: u64::from(numbering.targets),
                    population: network.populations[population].name.clone(),
                    limit: count_limits(&closed_by).first().map_or(limit, |(l, _)| *l),
                });
            }
            marker += 1;
            runs.clear();
            core = CoreState::default();
        }
        if tid % 4096 == 0 {
            progress.advance(u64::from(tid));
        }
    }
    if core.neurons > 0 {
        first.push(numbering.targets);
    }
    progress.finish();
    Ok(Partition { first, closed_by })
}

/// How often each limit occurs, most frequent first (ties in first-seen order).
fn count_limits(limits: &[Limit]) -> Vec<(Limit, usize)> {
    let mut counts: Vec<(Limit, usize)> = Vec::new();
    for &limit in limits {
        match counts.iter_mut().find(|(l, _)| *l == limit) {
            Some((_, n)) => *n += 1,
            None => counts.push((limit, 1)),
        }
    }
    counts.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    counts
}

/// Output axons and traffic once targets have cores.
#[derive(Debug)]
pub(crate) struct Outputs {
    /// Output axons of each core.
    pub(crate) per_core: Vec<u64>,
    /// Output axons of each source neuron (destination cores it reaches).
    pub(crate) per_source: Vec<u32>,
    /// (source core, destination core) → output axons between them.
    pub(crate) traffic: FxHashMap<(u32, u32), u64>,
}

/// Counts one output axon per (source neuron, destination core), charged to
/// the source's core; input channels come from the host and use none.
pub(crate) fn output_axons(
    network: &Network,
    numbering: &Numbering,
    incoming: &Incoming,
    partition: &Partition,
    core_of_target: &[u32],
    chip: &ChipProfile,
) -> Result<Outputs, CompileError> {
    // Target id of each source that is a LIF neuron.
    let mut target_of_source = vec![u32::MAX; numbering.sources as usize];
    for (p, population) in network.populations.iter().enumerate() {
        if matches!(population.model, Model::Lif(_)) {
            let (s, t) = (numbering.source_base[p], numbering.target_base[p]);
            for i in 0..population.size {
                target_of_source[(s + i) as usize] = t + i;
            }
        }
    }
    let mut last_destination = vec![0u32; numbering.sources as usize];
    let mut destinations = vec![0u32; numbering.sources as usize];
    let mut per_core = vec![0u64; partition.cores()];
    let mut traffic: FxHashMap<(u32, u32), u64> = FxHashMap::default();
    for tid in 0..numbering.targets {
        let core = core_of_target[tid as usize];
        for e in incoming.of(tid) {
            let sid = e.source;
            let source_target = target_of_source[sid as usize];
            // Targets come in core order, so a repeat is always the last seen.
            if source_target == u32::MAX || last_destination[sid as usize] == core + 1 {
                continue;
            }
            last_destination[sid as usize] = core + 1;
            destinations[sid as usize] += 1;
            let from = core_of_target[source_target as usize];
            per_core[from as usize] += 1;
            *traffic.entry((from, core)).or_insert(0) += 1;
        }
    }
    let limit = chip.core.output_axons;
    if let Some((sid, &count)) = destinations.iter().enumerate().find(|(_, n)| **n > limit) {
        let p = numbering
            .source_base
            .partition_point(|base| *base <= sid as u32)
            - 1;
        return Err(CompileError::NeuronTooLarge {
            population: network.populations[p].name.clone(),
            index: sid as u32 - numbering.source_base[p],
            limit: Limit::OutputAxons,
            needed: u64::from(count),
            available: u64::from(limit),
        });
    }
    Ok(Outputs {
        per_core,
        per_source: destinations,
        traffic,
    })
}
