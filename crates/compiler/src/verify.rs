//! The verifier: an independent reading of the Program against the description.
//!
//! It rebuilds the connectivity from the Program alone — every source's
//! routing entries, every axon's synapse run, every group's format — and
//! checks it equals the description's, synapse for synapse: each appears
//! exactly once, with the right weight (on the 8-bit scale), weight exponent
//! and delay. It also checks every table against the chip's limits.

use neurite_chip::ChipProfile;
use neurite_net::{Model, Network};
use neurite_program::Program;

use crate::index::{Numbering, ProjectionInfo, quantized};

/// A synapse as both sides see it: source, target, weight, exponent, delay.
type Connection = (u32, u32, i32, i8, u8);

/// Checks `program` against `network` and `chip` (a network in physical
/// units is lowered to hardware units first, as the compiler does).
pub fn verify(network: &Network, program: &Program, chip: &ChipProfile) -> Result<(), String> {
    program.validate(chip).map_err(|e| e.to_string())?;
    let lowered = crate::physical::lower(network).map_err(|e| e.to_string())?;
    let network = &*lowered.network;
    let numbering = Numbering::new(network);
    let info = crate::index::projection_info(network);
    let expected = from_description(network, &numbering, &info);
    let found = from_program(network, &numbering, program)?;
    if expected == found {
        return Ok(());
    }
    let describe = |c: &Connection| {
        format!(
            "{} -> {} (weight {}, weight_exp {}, delay {})",
            source_name(network, &numbering, c.0),
            target_name(network, &numbering, c.1),
            c.2,
            c.3,
            c.4
        )
    };
    let (mut i, mut j) = (0, 0);
    while i < expected.len() && j < found.len() {
        match expected[i].cmp(&found[j]) {
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => {
                return Err(format!(
                    "synapse {} is missing from the program",
                    describe(&expected[i])
                ));
            }
            std::cmp::Ordering::Greater => {
                return Err(format!(
                    "the program holds synapse {}, which the description does not",
                    describe(&found[j])
                ));
            }
        }
    }
    match (expected.get(i), found.get(j)) {
        (Some(c), _) => Err(format!(
            "synapse {} is missing from the program",
            describe(c)
        )),
        (_, Some(c)) => Err(format!(
            "the program holds synapse {}, which the description does not",
            describe(c)
        )),
        _ => Ok(()),
    }
}

fn source_name(network: &Network, numbering: &Numbering, sid: u32) -> String {
    let p = numbering.source_base.partition_point(|b| *b <= sid) - 1;
    format!(
        "'{}'[{}]",
        network.populations[p].name,
        sid - numbering.source_base[p]
    )
}

fn target_name(network: &Network, numbering: &Numbering, tid: u32) -> String {
    let (p, i) = numbering.target(tid);
    format!("'{}'[{i}]", network.populations[p].name)
}

fn from_description(
    network: &Network,
    numbering: &Numbering,
    info: &[ProjectionInfo],
) -> Vec<Connection> {
    let mut out = Vec::new();
    for (j, projection) in network.projections.iter().enumerate() {
        let shift =
            crate::program_sign_mode(info[j].sign_mode).weight_shift(projection.num_weight_bits);
        let (sbase, tbase) = (
            numbering.source_base[projection.from],
            numbering.target_base[projection.to],
        );
        for (k, synapse) in projection.synapses.iter().enumerate() {
            let q = quantized(network, info, j, k);
            if q.mantissa != 0 {
                out.push((
                    sbase + synapse.pre,
                    tbase + synapse.post,
                    i32::from(q.mantissa) << shift,
                    projection.weight_exp,
                    synapse.delay,
                ));
            }
        }
    }
    out.sort_unstable();
    out
}

fn from_program(
    network: &Network,
    numbering: &Numbering,
    program: &Program,
) -> Result<Vec<Connection>, String> {
    // Target id of every (core, neuron), from the population map.
    let mut target_of: Vec<Vec<u32>> = program
        .cores
        .iter()
        .map(|c| vec![u32::MAX; c.neurons.len()])
        .collect();
    let mut sources: Vec<(u32, Vec<neurite_program::AxonAddress>)> = Vec::new();
    let mut lif = 0usize;
    for (p, population) in network.populations.iter().enumerate() {
        let sbase = numbering.source_base[p];
        match population.model {
            Model::Input => {
                let port = program
                    .inputs
                    .iter()
                    .find(|port| port.name == population.name)
                    .ok_or_else(|| format!("no input port for population '{}'", population.name))?;
                if port.channels.len() != population.size as usize {
                    return Err(format!(
                        "input port '{}' has {} channels for {} neurons",
                        port.name,
                        port.channels.len(),
                        population.size
                    ));
                }
                for i in 0..population.size {
                    sources.push((sbase + i, port.channel(i as usize).to_vec()));
                }
            }
            Model::Lif(_) => {
                let map = program
                    .populations
                    .get(lif)
                    .filter(|m| m.name == population.name)
                    .ok_or_else(|| format!("population '{}' is not mapped", population.name))?;
                lif += 1;
                if map.neurons.len() != population.size as usize {
                    return Err(format!(
                        "population '{}' maps {} neurons of {}",
                        population.name,
                        map.neurons.len(),
                        population.size
                    ));
                }
                let tbase = numbering.target_base[p];
                for (i, address) in map.neurons.iter().enumerate() {
                    let slot = &mut target_of[address.core.0 as usize][address.neuron.0 as usize];
                    if *slot != u32::MAX {
                        return Err(format!(
                            "core {} neuron {} is mapped twice",
                            address.core.0, address.neuron.0
                        ));
                    }
                    *slot = tbase + i as u32;
                    let core = &program.cores[address.core.0 as usize];
                    let run = core.routes[address.neuron.0 as usize];
                    sources.push((sbase + i as u32, core.destinations[run.range()].to_vec()));
                }
            }
        }
    }
    let mut out = Vec::new();
    for (sid, axons) in sources {
        for address in axons {
            let core = &program.cores[address.core.0 as usize];
            let run = core.axons[address.axon.0 as usize];
            for s in &core.synapses[run.range()] {
                let group = core.groups[usize::from(s.group.0)];
                let tid = target_of[address.core.0 as usize][s.target.0 as usize];
                if tid == u32::MAX {
                    return Err(format!(
                        "core {} neuron {} receives synapses but belongs to no population",
                        address.core.0, s.target.0
                    ));
                }
                out.push((
                    sid,
                    tid,
                    group.weight_of(s.weight),
                    group.weight_exp,
                    s.delay,
                ));
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}
