//! Writing the Program: per-core tables, routing tables and host ports.

use std::collections::HashMap;

use neurite_net::{Model, Network};
use neurite_program::{
    AxonAddress, AxonId, Core, CoreId, GroupId, InputPort, NeuronAddress, NeuronId, NeuronProfile,
    Neurons, PopulationMap, ProfileId, Program, Run, Synapse, SynapseGroup,
};
use rayon::prelude::*;

use crate::index::{Incoming, Numbering, ProjectionInfo, quantized};
use crate::partition::{Partition, source_of};
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
    let tables: Vec<CoreTables> = (0..partition.cores())
        .into_par_iter()
        .map(|k| {
            core_tables(
                network,
                numbering,
                incoming,
                info,
                partition.first[k]..partition.first[k + 1],
                location[k],
            )
        })
        .collect();
    progress.finish();

    // Where each source's spikes go: (core, axon) in core order.
    let sources = numbering.sources as usize;
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
    let mut program = Program::empty(chip);
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
) -> CoreTables {
    let n = (targets.end - targets.start) as usize;
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
    let mut group_ids: HashMap<u32, u16> = HashMap::new();
    let mut projections_here: Vec<u32> = Vec::new();
    let total: usize = targets.clone().map(|tid| incoming.of(tid).len()).sum();
    // (source, projection, target, mantissa, delay)
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
            let (j, k) = (e.projection as usize, e.index as usize);
            if let std::collections::hash_map::Entry::Vacant(slot) = group_ids.entry(e.projection) {
                slot.insert(0);
                projections_here.push(e.projection);
            }
            let q = quantized(network, info, j, k);
            entries.push((
                source_of(network, numbering, j, k),
                e.projection,
                local as u32,
                q.mantissa,
                network.projections[j].synapses[k].delay,
            ));
        }
    }
    // Groups in projection order, so that the tables do not depend on the
    // order targets were visited in.
    projections_here.sort_unstable();
    for (g, &j) in projections_here.iter().enumerate() {
        group_ids.insert(j, g as u16);
        let projection = &network.projections[j as usize];
        core.groups.push(SynapseGroup {
            weight_exp: projection.weight_exp,
            num_weight_bits: projection.num_weight_bits,
            sign_mode: program_sign_mode(info[j as usize].sign_mode),
        });
    }
    entries.sort_unstable_by_key(|&(sid, j, target, _, delay)| (sid, j, target, delay));
    let mut axon_sources = Vec::new();
    core.synapses.reserve_exact(entries.len());
    let mut start = 0;
    while start < entries.len() {
        let sid = entries[start].0;
        let mut end = start + 1;
        while end < entries.len() && entries[end].0 == sid {
            end += 1;
        }
        core.axons.push(Run {
            start: start as u32,
            len: (end - start) as u32,
        });
        axon_sources.push(sid);
        start = end;
    }
    core.synapses.extend(
        entries
            .iter()
            .map(|&(_, j, target, weight, delay)| Synapse {
                target: NeuronId(target),
                weight,
                delay,
                group: GroupId(group_ids[&j]),
            }),
    );
    CoreTables { core, axon_sources }
}
