//! Writing the Program: per-core tables, routing tables and host ports.

use std::collections::HashMap;

use neurite_net::{ConnectivityKind, Model, Network};
use neurite_program::{
    AxonAddress, AxonId, Core, CoreId, GroupId, InputPort, LearningGroup, LearningRule,
    Neuromodulator, NeuronAddress, NeuronId, NeuronProfile, Neurons, PopulationMap, ProfileId,
    Program, Run, Synapse, SynapseGroup, SynapseKind,
};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::index::{Incoming, Numbering, ProjectionInfo};
use crate::partition::Partition;
use crate::{Progress, lif_profile, program_sign_mode};

/// One core's tables before routing, and the source of each of its axons.
struct CoreTables {
    core: Core,
    axon_sources: Vec<u32>,
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn emit(
    network: &Network,
    numbering: &Numbering,
    incoming: &Incoming,
    info: &[ProjectionInfo],
    partition: &Partition,
    location: &[u32],
    chip: &str,
    progress: &mut dyn Progress,
) -> Program {
    progress.begin("writing cores", partition.cores() as u64);
    let sources = numbering.sources as usize;
    let tables: Vec<CoreTables> = (0..partition.cores())
        .into_par_iter()
        .map_init(
            || vec![u32::MAX; sources],
            |slot_of, k| {
                core_tables(
                    network,
                    numbering,
                    incoming,
                    info,
                    partition.first[k]..partition.first[k + 1],
                    location[k],
                    slot_of,
                )
            },
        )
        .collect();
    progress.finish();

    // Where each source's spikes go: (core, axon) in core order.
    let mut offsets = vec![0u64; sources + 1];
    for t in &tables {
        for &sid in &t.axon_sources {
            offsets[sid as usize + 1] += 1;
        }
    }
    for s in 0..sources {
        offsets[s + 1] += offsets[s];
    }
    let mut cursor = offsets.clone();
    let mut destinations = vec![
        AxonAddress {
            core: CoreId(0),
            axon: AxonId(0)
        };
        offsets[sources] as usize
    ];
    for (k, t) in tables.iter().enumerate() {
        for (a, &sid) in t.axon_sources.iter().enumerate() {
            let slot = &mut cursor[sid as usize];
            destinations[*slot as usize] = AxonAddress {
                core: CoreId(k as u32),
                axon: AxonId(a as u32),
            };
            *slot += 1;
        }
    }
    let destinations_of = |sid: u32| {
        &destinations[offsets[sid as usize] as usize..offsets[sid as usize + 1] as usize]
    };

    let mut cores: Vec<Core> = tables.into_iter().map(|t| t.core).collect();
    let mut inputs = Vec::new();
    let mut populations = Vec::new();
    for (p, population) in network.populations.iter().enumerate() {
        let base = numbering.source_base[p];
        match population.model {
            Model::Input => {
                let mut port = InputPort {
                    name: population.name.clone(),
                    channels: Vec::with_capacity(population.size as usize),
                    axons: Vec::new(),
                };
                for i in 0..population.size {
                    let targets = destinations_of(base + i);
                    port.channels.push(Run {
                        start: port.axons.len() as u32,
                        len: targets.len() as u32,
                    });
                    port.axons.extend_from_slice(targets);
                }
                inputs.push(port);
            }
            Model::Lif(_) => {
                let tbase = numbering.target_base[p];
                let mut addresses = Vec::with_capacity(population.size as usize);
                for i in 0..population.size {
                    let tid = tbase + i;
                    let k = partition.first.partition_point(|f| *f <= tid) - 1;
                    let local = tid - partition.first[k];
                    let core = &mut cores[k];
                    debug_assert_eq!(core.routes.len(), local as usize);
                    let targets = destinations_of(base + i);
                    core.routes.push(Run {
                        start: core.destinations.len() as u32,
                        len: targets.len() as u32,
                    });
                    core.destinations.extend_from_slice(targets);
                    addresses.push(NeuronAddress {
                        core: CoreId(k as u32),
                        neuron: NeuronId(local),
                    });
                }
                populations.push(PopulationMap {
                    name: population.name.clone(),
                    neurons: addresses,
                    report_spikes: network.probe_of(p).is_some_and(|probe| probe.spikes),
                });
            }
        }
    }
    let neuromodulators = network
        .neuromodulators
        .iter()
        .map(|m| {
            // A neuromodulating population is a lif population (checked in
            // the description), mapped in description order.
            let sources = m
                .population
                .and_then(|p| {
                    populations
                        .iter()
                        .find(|map: &&PopulationMap| map.name == network.populations[p].name)
                })
                .map(|map| {
                    map.neurons
                        .iter()
                        .copied()
                        .zip(m.weights.iter().copied())
                        .collect()
                })
                .unwrap_or_default();
            Neuromodulator {
                name: m.name.clone(),
                sources,
            }
        })
        .collect();
    let mut program = Program::empty(chip);
    program.neuromodulators = neuromodulators;
    program.cores = cores;
    program.inputs = inputs;
    program.populations = populations;
    program.notes.network = network.name.clone();
    program
}

fn core_tables(
    network: &Network,
    numbering: &Numbering,
    incoming: &Incoming,
    info: &[ProjectionInfo],
    targets: std::ops::Range<u32>,
    location: u32,
    slot_of: &mut [u32],
) -> CoreTables {
    let n = (targets.end - targets.start) as usize;
    let first_target = targets.start;
    let mut core = Core {
        location,
        neurons: Neurons {
            profile: Vec::with_capacity(n),
            bias_mant: Vec::with_capacity(n),
            bias_exp: Vec::with_capacity(n),
            u: Vec::with_capacity(n),
            v: Vec::with_capacity(n),
        },
        ..Core::default()
    };
    let mut profile_ids: HashMap<NeuronProfile, ProfileId> = HashMap::new();
    let mut group_ids: FxHashMap<u32, u16> = FxHashMap::default();
    let mut projections_here: Vec<u32> = Vec::new();
    let total: usize = targets.clone().map(|tid| incoming.of(tid).len()).sum();
    // Each source gets a slot when first seen (`slot_of`, indexed by source
    // and all u32::MAX between cores); entries are kept in visiting order
    // (target, then projection) and bucketed by slot below.
    let mut slot_sources: Vec<u32> = Vec::new();
    let mut slot_counts: Vec<u32> = Vec::new();
    // (slot, projection, target, mantissa, delay)
    let mut entries: Vec<(u32, u32, u32, i16, u8)> = Vec::with_capacity(total);
    for (local, tid) in targets.enumerate() {
        let (p, i) = numbering.target(tid);
        let Model::Lif(lif) = &network.populations[p].model else {
            continue;
        };
        let i = i as usize;
        let profile = lif_profile(lif, i);
        let next = ProfileId(profile_ids.len() as u16);
        let id = *profile_ids.entry(profile).or_insert_with(|| {
            core.profiles.push(profile);
            next
        });
        core.neurons.profile.push(id);
        core.neurons.bias_mant.push(lif.bias_mant[i]);
        core.neurons.bias_exp.push(lif.bias_exp[i]);
        core.neurons.u.push(lif.u_init[i]);
        core.neurons.v.push(lif.v_init[i]);
        for e in incoming.of(tid) {
            if let std::collections::hash_map::Entry::Vacant(slot) = group_ids.entry(e.projection) {
                slot.insert(0);
                projections_here.push(e.projection);
            }
            let slot = &mut slot_of[e.source as usize];
            if *slot == u32::MAX {
                *slot = slot_sources.len() as u32;
                slot_sources.push(e.source);
                slot_counts.push(0);
            }
            let slot = *slot;
            slot_counts[slot as usize] += 1;
            entries.push((slot, e.projection, local as u32, e.mantissa, e.delay));
        }
    }
    // Groups in projection order, so that the tables do not depend on the
    // order targets were visited in.
    projections_here.sort_unstable();
    // The projection of each learning group, in group order.
    let mut learning_projections: Vec<usize> = Vec::new();
    for (g, &j) in projections_here.iter().enumerate() {
        group_ids.insert(j, g as u16);
        let projection = &network.projections[j as usize];
        core.groups.push(SynapseGroup {
            weight_exp: projection.weight_exp,
            num_weight_bits: projection.num_weight_bits,
            sign_mode: program_sign_mode(info[j as usize].sign_mode),
            kind: match projection.kind {
                ConnectivityKind::Dense => SynapseKind::Dense,
                ConnectivityKind::Sparse => SynapseKind::Sparse,
                ConnectivityKind::Convolutional => SynapseKind::Convolutional,
            },
            max_delay: info[j as usize].max_delay,
            learning: learning_group(network, j as usize, GroupId(g as u16)).map(|group| {
                let l = core.learning.len() as u16;
                core.learning.push(group);
                learning_projections.push(j as usize);
                l
            }),
        });
    }
    for &sid in &slot_sources {
        slot_of[sid as usize] = u32::MAX;
    }
    // Axons in source order; each run laid out by a counting sort.
    let mut order: Vec<u32> = (0..slot_sources.len() as u32).collect();
    order.sort_unstable_by_key(|&slot| slot_sources[slot as usize]);
    let mut start_of_slot = vec![0u32; slot_sources.len()];
    let mut start = 0u32;
    for &slot in &order {
        start_of_slot[slot as usize] = start;
        let len = slot_counts[slot as usize];
        core.axons.push(Run { start, len });
        start += len;
    }
    let axon_sources: Vec<u32> = order
        .iter()
        .map(|&slot| slot_sources[slot as usize])
        .collect();
    let placeholder = Synapse {
        target: NeuronId(0),
        weight: 0,
        delay: 0,
        group: GroupId(0),
    };
    core.synapses = vec![placeholder; entries.len()];
    let mut cursor = start_of_slot;
    for &(slot, j, target, weight, delay) in &entries {
        let at = &mut cursor[slot as usize];
        core.synapses[*at as usize] = Synapse {
            target: NeuronId(target),
            weight,
            delay,
            group: GroupId(group_ids[&j]),
        };
        *at += 1;
    }
    // Runs are in target order; a run mixing projections is put in group
    // order (one entry per target and group, so no ties).
    for run in &core.axons {
        let entries = &mut core.synapses[run.range()];
        if entries.windows(2).any(|w| w[0].group > w[1].group) {
            entries.sort_by_key(|s| s.group);
        }
    }
    place_learning(
        &mut core,
        network,
        numbering,
        &axon_sources,
        first_target,
        &learning_projections,
    );
    CoreTables { core, axon_sources }
}

/// A learning group with its rule, before its neurons are placed; `None`
/// for a projection that does not learn.
fn learning_group(network: &Network, j: usize, group: GroupId) -> Option<LearningGroup> {
    let projection = &network.projections[j];
    let learning = projection.learning.as_ref()?;
    let mut rule = LearningRule::of(&learning.profile);
    rule.post_trace = learning
        .post_trace
        .map(|t| [t.impulse().to_bits(), t.factor().to_bits()]);
    Some(LearningGroup {
        projection: projection.name.clone(),
        group,
        rule,
        neuromodulator: learning.neuromodulator.map(|m| m as u32),
        n_pre: network.populations[projection.from].size,
        n_post: network.populations[projection.to].size,
        pre: Vec::new(),
        post: Vec::new(),
        tags: Vec::new(),
        delays: Vec::new(),
    })
}

/// Fills in each learning group's pre axons, post neurons and zero tags.
fn place_learning(
    core: &mut Core,
    network: &Network,
    numbering: &Numbering,
    axon_sources: &[u32],
    first_target: u32,
    learning_projections: &[usize],
) {
    for (l, &j) in learning_projections.iter().enumerate() {
        let group = core.learning[l].group;
        let projection = &network.projections[j];
        let source_base = numbering.source_base[projection.from];
        let mut count = 0;
        let mut pre = Vec::new();
        for (a, run) in core.axons.iter().enumerate() {
            let n = core.synapses[run.range()]
                .iter()
                .filter(|s| s.group == group)
                .count();
            if n > 0 {
                pre.push((AxonId(a as u32), axon_sources[a] - source_base));
                count += n;
            }
        }
        // The neurons that receive synapses of the group.
        let mut receives = vec![false; core.neurons.len()];
        for s in core.synapses.iter().filter(|s| s.group == group) {
            receives[s.target.0 as usize] = true;
        }
        let mut post = Vec::new();
        for local in 0..core.neurons.len() as u32 {
            if receives[local as usize] {
                let (_, i) = numbering.target(first_target + local);
                post.push((NeuronId(local), i));
            }
        }
        let lg = &mut core.learning[l];
        lg.pre = pre;
        lg.post = post;
        lg.tags = vec![0; count];
        lg.delays = vec![0; count];
    }
}
