//! From a network description to a Program.
//!
//! This first version does what a Loihi toolchain must do at minimum, exactly:
//!
//! 1. **Quantize** every projection's weights as Lava's fixed-point `Dense`
//!    does: clip to 8 bits by sign mode, then drop the low bits a mantissa of
//!    `num_weight_bits` cannot hold (see [`quantize`]).
//! 2. **Place** LIF neurons on cores in description order, filling each core up
//!    to the chip's neuron limit (and its limit on parameter profiles).
//! 3. **Emit** per-core synapse memory (one input axon per source neuron and
//!    destination core, its synapses in one contiguous run), the routing table
//!    of every neuron, and the host ports.
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
//! "#, "net.toml", None).unwrap();
//! let chip = neurite_chip::ChipProfile::loihi2();
//! let compiled = neurite_compiler::compile(&net, &chip).unwrap();
//! assert_eq!(compiled.program.cores.len(), 1);
//! assert_eq!(compiled.report.synapses, 2);
//! ```

pub mod quantize;

use std::collections::{HashMap, HashSet};
use std::fmt;

use neurite_chip::ChipProfile;
use neurite_net::{Model, Network};
use neurite_program::{
    AxonAddress, AxonId, Core, CoreId, GroupId, InputPort, NeuronAddress, NeuronId, NeuronModel,
    NeuronProfile, PopulationMap, ProfileId, Program, Run, Synapse, SynapseGroup,
};

pub use quantize::{QuantizedWeight, infer_sign_mode, quantize_weight};

/// Why a network cannot be compiled for a chip.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CompileError {
    /// The chip profile itself is unusable.
    #[error(transparent)]
    Chip(#[from] neurite_chip::ChipError),
    /// More cores are needed than the chip has.
    #[error(
        "network does not fit chip '{chip}': its {neurons} neurons need {needed} cores of {per_core} neurons, the chip has {available}"
    )]
    TooManyCores {
        chip: String,
        neurons: u64,
        per_core: u32,
        needed: u64,
        available: u64,
    },
    /// Parameter profiles, not neurons, exhaust the cores.
    #[error(
        "network does not fit chip '{chip}': a core holds at most {limit} distinct neuron parameter profiles (du, dv, vth, refractory), and with so many distinct values the neurons need more than the chip's {available} cores; share parameter values between neurons or use a profile with more cores"
    )]
    TooManyProfiles {
        chip: String,
        limit: u32,
        available: u64,
    },
    /// A core would need more synapse groups than the chip allows.
    #[error(
        "core {core} receives {count} projections (synapse groups), chip '{chip}' allows {limit} per core; first over the limit: projection {projection}"
    )]
    TooManyGroups {
        chip: String,
        core: u32,
        count: usize,
        limit: u32,
        projection: String,
    },
    /// A synaptic delay exceeds what the chip supports.
    #[error("projection {projection}: delay {delay} exceeds chip '{chip}' maximum of {max}")]
    DelayTooLong {
        chip: String,
        projection: String,
        delay: u8,
        max: u8,
    },
    /// A table would exceed what the Program format can index.
    #[error("core {core}: more than {limit} {table}")]
    TableOverflow {
        core: u32,
        table: &'static str,
        limit: u64,
    },
}

/// A Program and the account of how it was made.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The Program.
    pub program: Program,
    /// What the compiler did.
    pub report: CompileReport,
}

/// What the compiler did, for the user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompileReport {
    /// Cores in use.
    pub cores: usize,
    /// LIF neurons placed.
    pub neurons: u64,
    /// Synapses stored (entries whose weight quantized to 0 are dropped).
    pub synapses: u64,
    /// Input axons over all cores.
    pub axons: u64,
    /// Per projection, in description order.
    pub projections: Vec<ProjectionReport>,
}

/// How one projection was quantized.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectionReport {
    /// Projection position and name, as messages show it: `#2 'in->out'`.
    pub name: String,
    /// Sign mode used (written or inferred).
    pub sign_mode: neurite_net::SignMode,
    /// Whether the sign mode was inferred from the weights.
    pub inferred: bool,
    /// Synapses written in the description.
    pub synapses: u64,
    /// Weights outside the sign mode's 8-bit range, clipped.
    pub clipped: u64,
    /// Weights whose low bits were dropped by the mantissa width.
    pub truncated: u64,
    /// Synapses dropped because their weight quantized to zero.
    pub zeroed: u64,
}

impl fmt::Display for CompileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        write!(
            f,
            "{} and {} on {} ({})",
            plural(self.neurons, "neuron"),
            plural(self.synapses, "synapse"),
            plural(self.cores as u64, "core"),
            plural(self.axons, "input axon")
        )
    }
}

impl CompileReport {
    /// Human-readable warnings: clipped weights, silently zeroed synapses.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for p in &self.projections {
            if p.clipped > 0 {
                let (lo, hi) = quantize::clip_range(p.sign_mode);
                out.push(format!(
                    "projection {}: {} of {} weights clipped to {lo}..{hi} ({} sign mode{})",
                    p.name,
                    p.clipped,
                    p.synapses,
                    quantize::sign_mode_name(p.sign_mode),
                    if p.inferred { ", inferred" } else { "" }
                ));
            }
            if p.zeroed > 0 {
                out.push(format!(
                    "projection {}: {} of {} weights quantized to 0 and dropped",
                    p.name, p.zeroed, p.synapses
                ));
            }
        }
        out
    }
}

/// Where the compiler put one LIF neuron.
#[derive(Debug, Clone, Copy)]
struct Slot {
    core: u32,
    neuron: u32,
}

/// A spike source: a LIF neuron or an input channel, by (population, index).
type Source = (u32, u32);

/// Compiles `network` for `chip`.
pub fn compile(network: &Network, chip: &ChipProfile) -> Result<Compiled, CompileError> {
    chip.validate()?;
    let slots = place(network, chip)?;
    let n_cores = slots
        .iter()
        .flatten()
        .map(|s| s.core as usize + 1)
        .max()
        .unwrap_or(0);
    let mut cores: Vec<Core> = (0..n_cores).map(|_| Core::default()).collect();

    // Neurons, their profiles and initial state.
    let mut profile_ids: Vec<HashMap<NeuronProfile, ProfileId>> = vec![HashMap::new(); n_cores];
    for (pop_index, population) in network.populations.iter().enumerate() {
        let Model::Lif(lif) = &population.model else {
            continue;
        };
        for (i, slot) in slots[pop_index].iter().enumerate() {
            let core = &mut cores[slot.core as usize];
            let profile = lif_profile(lif, i);
            let ids = &mut profile_ids[slot.core as usize];
            let next = ProfileId(ids.len() as u16);
            let id = *ids.entry(profile).or_insert_with(|| {
                core.profiles.push(profile);
                next
            });
            let neurons = &mut core.neurons;
            debug_assert_eq!(neurons.len(), slot.neuron as usize);
            neurons.profile.push(id);
            neurons.bias_mant.push(lif.bias_mant[i]);
            neurons.bias_exp.push(lif.bias_exp[i]);
            neurons.u.push(lif.u_init[i]);
            neurons.v.push(lif.v_init[i]);
        }
    }

    // Quantize every synapse and bin it by destination core.
    struct Entry {
        core: u32,
        source: Source,
        group: u16,
        target: u32,
        weight: i16,
        delay: u8,
    }
    let mut entries: Vec<Entry> = Vec::new();
    let mut group_ids: Vec<HashMap<usize, u16>> = vec![HashMap::new(); n_cores];
    let mut reports = Vec::with_capacity(network.projections.len());
    for (p_index, projection) in network.projections.iter().enumerate() {
        let label = format!("#{p_index} '{}'", projection.name);
        let (sign_mode, inferred) = match projection.sign_mode {
            Some(mode) => (mode, false),
            None => (
                infer_sign_mode(projection.synapses.iter().map(|s| s.weight)),
                true,
            ),
        };
        let mut report = ProjectionReport {
            name: label.clone(),
            sign_mode,
            inferred,
            synapses: projection.synapses.len() as u64,
            clipped: 0,
            truncated: 0,
            zeroed: 0,
        };
        let group = SynapseGroup {
            weight_exp: projection.weight_exp,
            num_weight_bits: projection.num_weight_bits,
            sign_mode: program_sign_mode(sign_mode),
        };
        for synapse in &projection.synapses {
            if synapse.delay > chip.core.max_delay {
                return Err(CompileError::DelayTooLong {
                    chip: chip.name.clone(),
                    projection: label.clone(),
                    delay: synapse.delay,
                    max: chip.core.max_delay,
                });
            }
            let q = quantize_weight(synapse.weight, sign_mode, projection.num_weight_bits);
            report.clipped += u64::from(q.clipped);
            report.truncated += u64::from(q.truncated);
            if q.mantissa == 0 {
                report.zeroed += 1;
                continue;
            }
            let slot = slots[projection.to][synapse.post as usize];
            let core = slot.core as usize;
            let groups = &mut group_ids[core];
            let next = groups.len();
            let group_id = match groups.get(&p_index) {
                Some(id) => *id,
                None => {
                    if next >= chip.core.synapse_groups as usize {
                        return Err(CompileError::TooManyGroups {
                            chip: chip.name.clone(),
                            core: slot.core,
                            count: next + 1,
                            limit: chip.core.synapse_groups,
                            projection: label.clone(),
                        });
                    }
                    groups.insert(p_index, next as u16);
                    cores[core].groups.push(group);
                    next as u16
                }
            };
            entries.push(Entry {
                core: slot.core,
                source: (projection.from as u32, synapse.pre),
                group: group_id,
                target: slot.neuron,
                weight: q.mantissa,
                delay: synapse.delay,
            });
        }
        reports.push(report);
    }

    // One input axon per (source, destination core); its run sorted by group,
    // target and delay so that delivery walks memory forward.
    entries.sort_unstable_by_key(|e| (e.core, e.source, e.group, e.target, e.delay));
    let mut axon_of: HashMap<Source, Vec<AxonAddress>> = HashMap::new();
    let mut start = 0;
    while start < entries.len() {
        let first = &entries[start];
        let mut end = start + 1;
        while end < entries.len()
            && entries[end].core == first.core
            && entries[end].source == first.source
        {
            end += 1;
        }
        let core = &mut cores[first.core as usize];
        let axon = AxonId(core.axons.len() as u32);
        let run_start =
            u32::try_from(core.synapses.len()).map_err(|_| CompileError::TableOverflow {
                core: first.core,
                table: "synapses",
                limit: u64::from(u32::MAX),
            })?;
        core.axons.push(Run {
            start: run_start,
            len: (end - start) as u32,
        });
        core.synapses
            .extend(entries[start..end].iter().map(|e| Synapse {
                target: NeuronId(e.target),
                weight: e.weight,
                delay: e.delay,
                group: GroupId(e.group),
            }));
        axon_of.entry(first.source).or_default().push(AxonAddress {
            core: CoreId(first.core),
            axon,
        });
        start = end;
    }
    drop(entries);

    // Routing tables, host input ports and the population map.
    let mut inputs = Vec::new();
    let mut populations = Vec::new();
    for (pop_index, population) in network.populations.iter().enumerate() {
        let destinations_of = |i: u32| axon_of.get(&(pop_index as u32, i));
        match population.model {
            Model::Input => {
                let mut port = InputPort {
                    name: population.name.clone(),
                    channels: Vec::with_capacity(population.size as usize),
                    axons: Vec::new(),
                };
                for i in 0..population.size {
                    let targets = destinations_of(i).map(Vec::as_slice).unwrap_or(&[]);
                    port.channels.push(Run {
                        start: port.axons.len() as u32,
                        len: targets.len() as u32,
                    });
                    port.axons.extend_from_slice(targets);
                }
                inputs.push(port);
            }
            Model::Lif(_) => {
                let mut addresses = Vec::with_capacity(population.size as usize);
                for (i, slot) in slots[pop_index].iter().enumerate() {
                    let core = &mut cores[slot.core as usize];
                    let targets = destinations_of(i as u32).map(Vec::as_slice).unwrap_or(&[]);
                    core.routes.push(Run {
                        start: core.destinations.len() as u32,
                        len: targets.len() as u32,
                    });
                    core.destinations.extend_from_slice(targets);
                    addresses.push(NeuronAddress {
                        core: CoreId(slot.core),
                        neuron: NeuronId(slot.neuron),
                    });
                }
                populations.push(PopulationMap {
                    name: population.name.clone(),
                    neurons: addresses,
                    report_spikes: network.probe_of(pop_index).is_some_and(|p| p.spikes),
                });
            }
        }
    }

    let program = Program {
        chip: chip.name.clone(),
        cores,
        inputs,
        populations,
    };
    let report = CompileReport {
        cores: program.cores.len(),
        neurons: program.neuron_count() as u64,
        synapses: program.synapse_count() as u64,
        axons: program.cores.iter().map(|c| c.axons.len() as u64).sum(),
        projections: reports,
    };
    Ok(Compiled { program, report })
}

fn lif_profile(lif: &neurite_net::Lif, i: usize) -> NeuronProfile {
    NeuronProfile {
        model: NeuronModel::Lif,
        du: lif.du[i],
        dv: lif.dv[i],
        vth: lif.vth[i],
        refractory: lif.refractory[i],
    }
}

pub(crate) fn program_sign_mode(mode: neurite_net::SignMode) -> neurite_program::SignMode {
    match mode {
        neurite_net::SignMode::Mixed => neurite_program::SignMode::Mixed,
        neurite_net::SignMode::Excitatory => neurite_program::SignMode::Excitatory,
        neurite_net::SignMode::Inhibitory => neurite_program::SignMode::Inhibitory,
    }
}

/// Places LIF neurons on cores in description order. A core is closed when it
/// holds the chip's neuron limit, or when the next neuron would need one
/// parameter profile more than the core can hold. Returns, per population, the
/// slot of each neuron (empty for input populations); stops as soon as the
/// chip runs out of cores.
fn place(network: &Network, chip: &ChipProfile) -> Result<Vec<Vec<Slot>>, CompileError> {
    let per_core = chip.core.neurons;
    let profile_limit = chip.core.neuron_profiles as usize;
    let available = chip.total_cores();
    let mut slots = Vec::with_capacity(network.populations.len());
    let mut core: u32 = 0;
    let mut used: u32 = 0;
    let mut closed_for_profiles = false;
    let mut profiles: HashSet<NeuronProfile> = HashSet::new();
    for population in &network.populations {
        let Model::Lif(lif) = &population.model else {
            slots.push(Vec::new());
            continue;
        };
        let mut pop_slots = Vec::with_capacity(population.size as usize);
        for i in 0..population.size as usize {
            let profile = lif_profile(lif, i);
            let new_profile = !profiles.contains(&profile);
            if used == per_core || (new_profile && profiles.len() == profile_limit) {
                closed_for_profiles |= used < per_core;
                core += 1;
                used = 0;
                profiles.clear();
                if u64::from(core) >= available {
                    return Err(does_not_fit(network, chip, closed_for_profiles));
                }
            }
            profiles.insert(profile);
            pop_slots.push(Slot { core, neuron: used });
            used += 1;
        }
        slots.push(pop_slots);
    }
    Ok(slots)
}

fn does_not_fit(network: &Network, chip: &ChipProfile, for_profiles: bool) -> CompileError {
    let neurons = network.lif_neuron_count();
    if for_profiles {
        CompileError::TooManyProfiles {
            chip: chip.name.clone(),
            limit: chip.core.neuron_profiles,
            available: chip.total_cores(),
        }
    } else {
        CompileError::TooManyCores {
            chip: chip.name.clone(),
            neurons,
            per_core: chip.core.neurons,
            needed: neurons.div_ceil(u64::from(chip.core.neurons)),
            available: chip.total_cores(),
        }
    }
}

#[cfg(test)]
mod tests;
