//! The verifier: a second reading of the Program against the description.
//!
//! It rebuilds the network from the Program alone — every neuron's
//! parameters and initial state, every source's routing entries, every axon's
//! synapse run, every group's format — and checks it against the description:
//! every neuron mapped once with the right profile, bias and state; every
//! synapse present exactly once with the right weight (on the 8-bit scale),
//! weight exponent and delay; no axon that nothing reaches; spike reports as
//! probed; and every limit of the chip. The expected weights are quantized
//! here from Lava's rules, apart from the compiler's own quantizer, so a
//! mistake in one shows against the other. Only the lowering of physical
//! units is shared with the compiler.

use neurite_chip::ChipProfile;
use neurite_net::{Model, Network, SignMode};
use neurite_program::Program;

use crate::index::Numbering;

/// A synapse as both sides see it: source, target, weight, exponent, delay.
type Connection = (u32, u32, i32, i8, u8);

/// Checks `program` against `network` and `chip` (a network in physical
/// units is lowered to hardware units first, as the compiler does).
pub fn verify(network: &Network, program: &Program, chip: &ChipProfile) -> Result<(), String> {
    program.validate(chip).map_err(|e| e.to_string())?;
    let lowered = crate::physical::lower(network).map_err(|e| e.to_string())?;
    let network = &*lowered.network;
    let numbering = Numbering::new(network);
    let expected = from_description(network, &numbering);
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

/// Lava's sign-mode inference and clip-then-truncate, written out afresh:
/// the 8-bit-scale weight the chip applies, 0 when the synapse is dropped.
fn expected_weight(weight: i32, mode: SignMode, bits: u8) -> i32 {
    let step = |k: u32| 1i32 << k;
    match mode {
        SignMode::Mixed => {
            let w = weight.clamp(-256, 255);
            let k = step(9 - u32::from(bits));
            w.div_euclid(k) * k
        }
        SignMode::Excitatory => {
            let w = weight.clamp(0, 255);
            let k = step(8 - u32::from(bits));
            w / k * k
        }
        SignMode::Inhibitory => {
            let magnitude = (-weight.max(-255)).max(0);
            let k = step(8 - u32::from(bits));
            -(magnitude / k * k)
        }
    }
}

fn from_description(network: &Network, numbering: &Numbering) -> Vec<Connection> {
    let mut out = Vec::new();
    for projection in &network.projections {
        let learns = projection.learning.is_some();
        // A learning projection is mixed unless told (as Lava's learning
        // Dense is, whatever its weights).
        let default = learns.then_some(SignMode::Mixed);
        let mode = projection.sign_mode.or(default).unwrap_or_else(|| {
            let (negative, positive) = projection
                .synapses
                .iter()
                .fold((false, false), |(n, p), s| {
                    (n || s.weight < 0, p || s.weight > 0)
                });
            match (negative, positive) {
                (false, _) => SignMode::Excitatory,
                (true, false) => SignMode::Inhibitory,
                (true, true) => SignMode::Mixed,
            }
        });
        let (sbase, tbase) = (
            numbering.source_base[projection.from],
            numbering.target_base[projection.to],
        );
        for synapse in &projection.synapses {
            let w = expected_weight(synapse.weight, mode, projection.num_weight_bits);
            if w != 0 || learns {
                out.push((
                    sbase + synapse.pre,
                    tbase + synapse.post,
                    w,
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
    let lif_populations = network
        .populations
        .iter()
        .filter(|p| matches!(p.model, Model::Lif(_)))
        .count();
    let input_populations = network.populations.len() - lif_populations;
    if program.populations.len() != lif_populations || program.inputs.len() != input_populations {
        return Err(format!(
            "the program maps {} populations and {} input ports, the description has {} and {}",
            program.populations.len(),
            program.inputs.len(),
            lif_populations,
            input_populations
        ));
    }
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
        match &population.model {
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
            Model::Lif(params) => {
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
                let probed = network.probe_of(p).is_some_and(|probe| probe.spikes);
                if map.report_spikes != probed {
                    return Err(format!(
                        "population '{}' {} its spikes, but the description {} them",
                        population.name,
                        if map.report_spikes {
                            "reports"
                        } else {
                            "does not report"
                        },
                        if probed { "probes" } else { "does not probe" }
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
                    let n = address.neuron.0 as usize;
                    let profile = core.profiles[usize::from(core.neurons.profile[n].0)];
                    let want = crate::lif_profile(params, i);
                    let state = (
                        core.neurons.bias_mant[n],
                        core.neurons.bias_exp[n],
                        core.neurons.u[n],
                        core.neurons.v[n],
                    );
                    let want_state = (
                        params.bias_mant[i],
                        params.bias_exp[i],
                        params.u_init[i],
                        params.v_init[i],
                    );
                    if profile != want || state != want_state {
                        return Err(format!(
                            "neuron '{}'[{i}] has {profile:?} and (bias_mant, bias_exp, u, v) {state:?}, expected {want:?} and {want_state:?}",
                            population.name
                        ));
                    }
                    let run = core.routes[n];
                    sources.push((sbase + i as u32, core.destinations[run.range()].to_vec()));
                }
            }
        }
    }
    for (c, core) in target_of.iter().enumerate() {
        if let Some(n) = core.iter().position(|&t| t == u32::MAX) {
            return Err(format!("core {c} neuron {n} belongs to no population"));
        }
    }
    let mut reached: Vec<Vec<bool>> = program
        .cores
        .iter()
        .map(|c| vec![false; c.axons.len()])
        .collect();
    let mut out = Vec::new();
    for (sid, axons) in sources {
        for address in axons {
            reached[address.core.0 as usize][address.axon.0 as usize] = true;
            let core = &program.cores[address.core.0 as usize];
            let run = core.axons[address.axon.0 as usize];
            for s in &core.synapses[run.range()] {
                let group = core.groups[usize::from(s.group.0)];
                let tid = target_of[address.core.0 as usize][s.target.0 as usize];
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
    for (c, axons) in reached.iter().enumerate() {
        if let Some(a) = axons.iter().position(|r| !r) {
            return Err(format!("core {c} axon {a} is reached by no source"));
        }
    }
    out.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantize::quantize_weight;

    #[test]
    fn the_independent_quantizer_agrees_with_the_compilers() {
        for bits in 1..=8u8 {
            for w in -400..=400 {
                for mode in [SignMode::Mixed, SignMode::Excitatory, SignMode::Inhibitory] {
                    let q = quantize_weight(w, mode, bits);
                    let shift = crate::program_sign_mode(mode).weight_shift(bits);
                    assert_eq!(
                        expected_weight(w, mode, bits),
                        i32::from(q.mantissa) << shift,
                        "{w} {mode:?} {bits}"
                    );
                }
            }
        }
    }
}
