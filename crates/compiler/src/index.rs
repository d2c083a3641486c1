//! Numbering of sources and targets, and every target's incoming synapses.

use neurite_net::{Model, Network, SignMode};

use rayon::prelude::*;

use crate::quantize::{infer_sign_mode, quantize_weight};

/// Facts about one projection the later passes need.
#[derive(Debug, Clone)]
pub(crate) struct ProjectionInfo {
    pub(crate) sign_mode: SignMode,
    pub(crate) inferred: bool,
    /// Largest delay of the synapses that survive quantization.
    pub(crate) max_delay: u8,
    /// Quantized mantissa of every synapse (0: dropped).
    pub(crate) mantissas: Vec<i16>,
    /// Weights clipped, truncated, and quantized to zero.
    pub(crate) clipped: u64,
    pub(crate) truncated: u64,
    pub(crate) zeroed: u64,
    /// The projection learns: every synapse is kept, zero weights included,
    /// and its mantissas are weights on the 8-bit scale.
    pub(crate) learning: bool,
}

/// Global numbering: every neuron of every population is a source (`sid`,
/// description order); every LIF neuron is a target (`tid`, description order).
#[derive(Debug)]
pub(crate) struct Numbering {
    /// First source id of each population.
    pub(crate) source_base: Vec<u32>,
    /// First target id of each population (LIF populations only).
    pub(crate) target_base: Vec<u32>,
    /// Population of each target, as ranges: (first tid, population).
    pub(crate) target_population: Vec<(u32, usize)>,
    pub(crate) sources: u32,
    pub(crate) targets: u32,
}

impl Numbering {
    pub(crate) fn new(network: &Network) -> Self {
        let mut source_base = Vec::with_capacity(network.populations.len());
        let mut target_base = Vec::with_capacity(network.populations.len());
        let mut target_population = Vec::new();
        let (mut sources, mut targets) = (0u32, 0u32);
        for (p, population) in network.populations.iter().enumerate() {
            source_base.push(sources);
            target_base.push(targets);
            sources += population.size;
            if matches!(population.model, Model::Lif(_)) {
                target_population.push((targets, p));
                targets += population.size;
            }
        }
        Self {
            source_base,
            target_base,
            target_population,
            sources,
            targets,
        }
    }

    /// The population of target `tid` and the neuron's index in it.
    pub(crate) fn target(&self, tid: u32) -> (usize, u32) {
        let at = self
            .target_population
            .partition_point(|(first, _)| *first <= tid)
            .saturating_sub(1);
        let (first, population) = self.target_population[at];
        (population, tid - first)
    }
}

/// One stored synapse as the later passes need it, so that they read the
/// incoming lists in order instead of chasing the description's arrays.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SynapseRef {
    /// Source id of the presynaptic neuron.
    pub(crate) source: u32,
    pub(crate) projection: u32,
    /// Quantized weight mantissa (never 0), or for a learning projection
    /// the weight on the 8-bit scale (possibly 0).
    pub(crate) mantissa: i16,
    pub(crate) delay: u8,
}

/// For every target, the synapses that reach it and survive quantization.
#[derive(Debug)]
pub(crate) struct Incoming {
    /// `offsets[tid]..offsets[tid + 1]` indexes `entries`.
    pub(crate) offsets: Vec<u64>,
    pub(crate) entries: Vec<SynapseRef>,
}

impl Incoming {
    pub(crate) fn of(&self, tid: u32) -> &[SynapseRef] {
        let t = tid as usize;
        &self.entries[self.offsets[t] as usize..self.offsets[t + 1] as usize]
    }
}

/// Quantizes every synapse once (projections in parallel) and gathers what
/// the later passes need.
pub(crate) fn projection_info(network: &Network) -> Vec<ProjectionInfo> {
    network
        .projections
        .par_iter()
        .map(|projection| {
            let learning = projection.learning.is_some();
            let (sign_mode, inferred) = match projection.sign_mode {
                Some(mode) => (mode, false),
                // Lava's learning Dense is mixed whatever its weights.
                None if learning => (SignMode::Mixed, false),
                None => (
                    infer_sign_mode(projection.synapses.iter().map(|s| s.weight)),
                    true,
                ),
            };
            let mut info = ProjectionInfo {
                sign_mode,
                inferred,
                max_delay: 0,
                mantissas: Vec::with_capacity(projection.synapses.len()),
                clipped: 0,
                truncated: 0,
                zeroed: 0,
                learning,
            };
            if learning {
                // Full resolution from the start, after Lava's truncation at
                // step 1 (the description's range check leaves no clipping).
                let mode = crate::program_sign_mode(sign_mode);
                let mode = match mode {
                    neurite_program::SignMode::Mixed => neurite_learning::SignMode::Mixed,
                    neurite_program::SignMode::Excitatory => neurite_learning::SignMode::Excitatory,
                    neurite_program::SignMode::Inhibitory => neurite_learning::SignMode::Inhibitory,
                };
                for synapse in &projection.synapses {
                    let w = neurite_learning::truncate_initial_weight(
                        synapse.weight,
                        mode,
                        projection.num_weight_bits,
                    );
                    info.truncated += u64::from(w != synapse.weight);
                    info.max_delay = info.max_delay.max(synapse.delay);
                    // Within −256..=255 after the description's check.
                    info.mantissas.push(w as i16);
                }
                return info;
            }
            for synapse in &projection.synapses {
                let q = quantize_weight(synapse.weight, sign_mode, projection.num_weight_bits);
                info.clipped += u64::from(q.clipped);
                info.truncated += u64::from(q.truncated);
                if q.mantissa == 0 {
                    // Dropped: its delay needs no room either.
                    info.zeroed += 1;
                } else {
                    info.max_delay = info.max_delay.max(synapse.delay);
                }
                info.mantissas.push(q.mantissa);
            }
            info
        })
        .collect()
}

/// Builds the incoming lists with a counting sort over targets; synapses whose
/// weight quantizes to zero are left out (they add nothing).
pub(crate) fn incoming(
    network: &Network,
    numbering: &Numbering,
    info: &[ProjectionInfo],
) -> Incoming {
    let targets = numbering.targets as usize;
    let mut counts = vec![0u64; targets + 1];
    let live = |j: usize, k: usize| info[j].learning || info[j].mantissas[k] != 0;
    // Projections grouped by target population, so that each group's writes
    // stay within that population's stretch of the lists (cache-friendly).
    let mut order: Vec<usize> = (0..network.projections.len()).collect();
    order.sort_by_key(|&j| network.projections[j].to);
    for &j in &order {
        let projection = &network.projections[j];
        let base = numbering.target_base[projection.to] as usize;
        for (k, synapse) in projection.synapses.iter().enumerate() {
            if live(j, k) {
                counts[base + synapse.post as usize + 1] += 1;
            }
        }
    }
    for t in 0..targets {
        counts[t + 1] += counts[t];
    }
    let total = counts[targets] as usize;
    let mut cursor = counts.clone();
    let placeholder = SynapseRef {
        source: 0,
        projection: 0,
        mantissa: 0,
        delay: 0,
    };
    let mut entries = vec![placeholder; total];
    for &j in &order {
        let projection = &network.projections[j];
        let base = numbering.target_base[projection.to] as usize;
        let source_base = numbering.source_base[projection.from];
        for (k, synapse) in projection.synapses.iter().enumerate() {
            let mantissa = info[j].mantissas[k];
            if mantissa != 0 || info[j].learning {
                let slot = &mut cursor[base + synapse.post as usize];
                entries[*slot as usize] = SynapseRef {
                    source: source_base + synapse.pre,
                    projection: j as u32,
                    mantissa,
                    delay: synapse.delay,
                };
                *slot += 1;
            }
        }
    }
    Incoming {
        offsets: counts,
        entries,
    }
}
