//! From a network description to a Program.
//!
//! The compiler works in passes:
//!
//! 1. **Quantize** every projection's weights as Lava's fixed-point `Dense`
//!    does: clip to 8 bits by sign mode, then drop the low bits a mantissa of
//!    `num_weight_bits` cannot hold (see [`quantize`]). Synapses whose weight
//!    becomes 0 are dropped.
//! 2. **Partition** LIF neurons onto cores within every per-core limit of the
//!    chip — neurons, input axons, output axons, memory, parameter profiles,
//!    synapse groups — splitting populations where needed (see `partition.rs`).
//! 3. **Place** the cores on the mesh, across chips if the profile has
//!    several, to keep hop-weighted traffic low (see [`place`]).
//! 4. **Emit** the tables: one input axon per (source neuron, destination
//!    core), its synapses in one contiguous run; one synapse group per
//!    (projection, core); the routing table of every neuron; host ports.
//! 5. **Verify** (always in debug builds, on request in release): rebuild the
//!    connectivity from the Program and compare it with the description's,
//!    and check every limit (see [`verify`]).
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

mod emit;
mod index;
mod partition;
pub mod physical;
pub mod place;
pub mod quantize;
pub mod verify;

use std::fmt;

use neurite_chip::ChipProfile;
use neurite_net::Network;
use neurite_program::{NeuronModel, NeuronProfile, Program};

pub use place::PlacementCost;
pub use quantize::{QuantizedWeight, infer_sign_mode, quantize_weight};

/// A per-core resource a network can exhaust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Neurons per core.
    Neurons,
    /// Input axons per core (distinct source neurons reaching it).
    InputAxons,
    /// Output axons per core (neuron × destination core pairs).
    OutputAxons,
    /// Memory for synapses (and neuron state, when shared).
    Memory,
    /// Neuron parameter profiles per core.
    Profiles,
    /// Synapse groups (projections) per core.
    Groups,
    /// Delay slots per core: neurons × (longest delay + 1).
    DelaySlots,
}

impl Limit {
    /// What to try when this limit is the one that does not fit.
    pub fn hint(self) -> &'static str {
        match self {
            Limit::Neurons => "use a chip profile with more cores or chips",
            Limit::InputAxons => {
                "fewer distinct sources per target population (local connectivity), or a profile with more input axons per core"
            }
            Limit::OutputAxons => {
                "fewer destination cores per neuron (local connectivity), or a profile with more output axons per core"
            }
            Limit::Memory => {
                "fewer weight bits (num_weight_bits), shorter delays, fewer synapses, or a profile with more memory or cores"
            }
            Limit::Profiles => "share du, dv, vth and refractory values between neurons",
            Limit::Groups => "merge projections that target the same population",
            Limit::DelaySlots => "shorter delays, or a profile with more delay slots per core",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::Neurons => "neurons",
            Limit::InputAxons => "input axons",
            Limit::OutputAxons => "output axons",
            Limit::Memory => "bits of memory",
            Limit::Profiles => "parameter profiles",
            Limit::Groups => "synapse groups",
            Limit::DelaySlots => "delay slots",
        })
    }
}

/// Why a network cannot be compiled for a chip.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CompileError {
    /// The chip profile itself is unusable.
    #[error(transparent)]
    Chip(#[from] neurite_chip::ChipError),
    /// Physical-unit parameters cannot be expressed in hardware units.
    #[error(transparent)]
    Physical(#[from] physical::PhysicalError),
    /// The chip runs out of cores.
    #[error(
        "network does not fit chip '{chip}': its {available} cores fill up after {placed} of {neurons} neurons, in population '{population}'; most cores were closed by their limit on {limit} (hint: {})",
        limit.hint()
    )]
    TooManyCores {
        chip: String,
        available: u64,
        placed: u64,
        neurons: u64,
        population: String,
        limit: Limit,
    },
    /// A single neuron needs more of a resource than a whole core has.
    #[error(
        "population '{population}' neuron {index} alone needs {needed} {limit}, a core has {available} (hint: {})",
        limit.hint()
    )]
    NeuronTooLarge {
        population: String,
        index: u32,
        limit: Limit,
        needed: u64,
        available: u64,
    },
    /// Output axons stay over the limit however the populations are split.
    #[error(
        "a core of population(s) '{populations}' still needs {count} output axons after splitting, chip '{chip}' allows {limit} per core (hint: {})",
        Limit::OutputAxons.hint()
    )]
    OutputAxons {
        chip: String,
        populations: String,
        count: u64,
        limit: u32,
    },
    /// A projection asks for wider weights than the chip stores.
    #[error("projection {projection}: {bits} weight bits exceed chip '{chip}' maximum of {max}")]
    WeightBits {
        chip: String,
        projection: String,
        bits: u8,
        max: u8,
    },
    /// A synaptic delay exceeds what the chip supports.
    #[error("projection {projection}: delay {delay} exceeds chip '{chip}' maximum of {max}")]
    DelayTooLong {
        chip: String,
        projection: String,
        delay: u8,
        max: u8,
    },
    /// The compiler produced a Program that does not match the description:
    /// a bug in Neurite, caught by the verifier.
    #[error("internal compiler error, the program failed verification: {0}")]
    Verification(String),
}

impl CompileError {
    /// Whether the error is about the user's network or chip (as opposed to a
    /// fault of the compiler).
    pub fn is_user_error(&self) -> bool {
        !matches!(self, CompileError::Verification(_))
    }
}

/// Reports the progress of long passes (the CLI draws a progress bar).
pub trait Progress {
    /// A pass begins, with `total` units of work.
    fn begin(&mut self, pass: &str, total: u64);
    /// `done` units of the current pass are done.
    fn advance(&mut self, done: u64);
    /// The current pass ended.
    fn finish(&mut self);
}

/// Progress reporting that reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&mut self, _pass: &str, _total: u64) {}
    fn advance(&mut self, _done: u64) {}
    fn finish(&mut self) {}
}

/// Compiler settings.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// Run the verifier on the result.
    pub verify: bool,
    /// Seed of the placement's annealing.
    pub seed: u64,
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self {
            verify: cfg!(debug_assertions),
            seed: 0x006e_6575_7269_7465,
        }
    }
}

/// A Program and the account of how it was made.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The Program.
    pub program: Program,
    /// What the compiler did.
    pub report: CompileReport,
    /// How physical units were turned into hardware units (empty for a
    /// description in hardware units).
    pub quantization: physical::QuantizationReport,
}

/// What the compiler did, for the user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompileReport {
    /// Cores in use.
    pub cores: usize,
    /// Chips with at least one core in use.
    pub chips: usize,
    /// LIF neurons placed.
    pub neurons: u64,
    /// Synapses stored (entries whose weight quantized to 0 are dropped).
    pub synapses: u64,
    /// Input axons over all cores.
    pub axons: u64,
    /// Per projection, in description order.
    pub projections: Vec<ProjectionReport>,
    /// How good the placement is.
    pub placement: PlacementCost,
    /// Times the partition was redone to bring output axons within limits.
    pub repartitions: u32,
    /// How many cores each limit closed (the last core is not counted).
    pub closed_by: Vec<(Limit, usize)>,
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
        )?;
        if self.chips > 1 {
            write!(f, " over {} chips", self.chips)?;
        }
        Ok(())
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

    /// The report as the lines stored in the Program's notes.
    pub fn to_text(&self) -> String {
        let mut out = format!("{self}\n");
        let c = &self.placement;
        out.push_str(&format!(
            "placement: {} output axons between cores, {} hop-weighted, {} over chip links, worst {} hops\n",
            c.traffic, c.hop_traffic, c.chip_link_traffic, c.worst_hops
        ));
        if !self.closed_by.is_empty() {
            let parts: Vec<String> = self
                .closed_by
                .iter()
                .map(|(limit, n)| format!("{limit} {n}"))
                .collect();
            out.push_str(&format!("cores filled up by: {}\n", parts.join(", ")));
        }
        for p in &self.projections {
            out.push_str(&format!(
                "projection {}: {} sign mode{}, {} synapses, {} clipped, {} truncated, {} zeroed\n",
                p.name,
                quantize::sign_mode_name(p.sign_mode),
                if p.inferred { " (inferred)" } else { "" },
                p.synapses,
                p.clipped,
                p.truncated,
                p.zeroed
            ));
        }
        out
    }
}

pub(crate) fn lif_profile(lif: &neurite_net::Lif, i: usize) -> NeuronProfile {
    NeuronProfile {
        model: NeuronModel::Lif,
        du: lif.du[i],
        dv: lif.dv[i],
        vth: lif.vth[i],
        refractory: lif.refractory[i],
        reset: match lif.reset {
            neurite_net::Reset::Zero => neurite_program::Reset::Zero,
            neurite_net::Reset::Subtract => neurite_program::Reset::Subtract,
        },
    }
}

pub(crate) fn program_sign_mode(mode: neurite_net::SignMode) -> neurite_program::SignMode {
    match mode {
        neurite_net::SignMode::Mixed => neurite_program::SignMode::Mixed,
        neurite_net::SignMode::Excitatory => neurite_program::SignMode::Excitatory,
        neurite_net::SignMode::Inhibitory => neurite_program::SignMode::Inhibitory,
    }
}

/// Compiles `network` for `chip` with default options and no progress report.
pub fn compile(network: &Network, chip: &ChipProfile) -> Result<Compiled, CompileError> {
    compile_with(network, chip, &CompileOptions::default(), &mut NoProgress)
}

/// Most partitions tried while bringing output axons within limits.
const MAX_PARTITIONS: u32 = 12;

/// Compiles `network` for `chip`.
pub fn compile_with(
    network: &Network,
    chip: &ChipProfile,
    options: &CompileOptions,
    progress: &mut dyn Progress,
) -> Result<Compiled, CompileError> {
    chip.validate()?;
    let lowered = physical::lower(network)?;
    let network = &*lowered.network;
    let numbering = index::Numbering::new(network);
    let info = index::projection_info(network);
    let mut reports = Vec::with_capacity(network.projections.len());
    for (j, projection) in network.projections.iter().enumerate() {
        let label = format!("#{j} '{}'", projection.name);
        if projection.num_weight_bits > chip.core.max_weight_bits {
            return Err(CompileError::WeightBits {
                chip: chip.name.clone(),
                projection: label,
                bits: projection.num_weight_bits,
                max: chip.core.max_weight_bits,
            });
        }
        if info[j].max_delay > chip.core.max_delay {
            return Err(CompileError::DelayTooLong {
                chip: chip.name.clone(),
                projection: label,
                delay: info[j].max_delay,
                max: chip.core.max_delay,
            });
        }
        reports.push(ProjectionReport {
            name: label,
            sign_mode: info[j].sign_mode,
            inferred: info[j].inferred,
            synapses: projection.synapses.len() as u64,
            clipped: info[j].clipped,
            truncated: info[j].truncated,
            zeroed: info[j].zeroed,
        });
    }

    progress.begin("indexing synapses", 1);
    let incoming = index::incoming(network, &numbering, &info);
    progress.finish();

    // Partition, then lower the neurons per core of populations on cores with
    // too many output axons, until they fit.
    let mut caps: Vec<u32> = vec![chip.core.neurons; network.populations.len()];
    let mut repartitions = 0;
    let (partition, core_of_target, outputs) = loop {
        let partition =
            partition::partition(network, &numbering, &incoming, &info, chip, &caps, progress)?;
        let core_of_target = partition.core_of_targets();
        let outputs = partition::output_axons(
            network,
            &numbering,
            &incoming,
            &partition,
            &core_of_target,
            chip,
        )?;
        let limit = u64::from(chip.core.output_axons);
        let over: Vec<usize> = (0..partition.cores())
            .filter(|&k| outputs.per_core[k] > limit)
            .collect();
        if over.is_empty() {
            break (partition, core_of_target, outputs);
        }
        repartitions += 1;
        if repartitions >= MAX_PARTITIONS {
            let k = over[0];
            let mut names: Vec<String> = (partition.first[k]..partition.first[k + 1])
                .map(|tid| network.populations[numbering.target(tid).0].name.clone())
                .collect();
            names.dedup();
            return Err(CompileError::OutputAxons {
                chip: chip.name.clone(),
                populations: names.join("', '"),
                count: outputs.per_core[k],
                limit: chip.core.output_axons,
            });
        }
        // On each overfull core, every population with output axons there
        // gets at most its share of the limit: count × limit / output axons.
        for &k in &over {
            let mut by_population: Vec<(usize, u32, u64)> = Vec::new();
            for tid in partition.first[k]..partition.first[k + 1] {
                let (p, i) = numbering.target(tid);
                let axons = u64::from(outputs.per_source[(numbering.source_base[p] + i) as usize]);
                match by_population.last_mut() {
                    Some((q, count, out)) if *q == p => {
                        *count += 1;
                        *out += axons;
                    }
                    _ => by_population.push((p, 1, axons)),
                }
            }
            let scale = limit as f64 / outputs.per_core[k] as f64;
            for (p, count, out) in by_population {
                if out > 0 {
                    let share = ((f64::from(count) * scale * 0.95) as u32).max(1);
                    caps[p] = caps[p].min(share);
                }
            }
        }
    };
    drop(core_of_target);

    let placement = place::place(
        partition.cores(),
        &outputs.traffic,
        chip,
        options.seed,
        progress,
    );
    let mut program = emit::emit(
        network,
        &numbering,
        &incoming,
        &info,
        &partition,
        &placement.location,
        &chip.name,
        progress,
    );
    drop(incoming);

    let mut chips: Vec<u32> = program
        .cores
        .iter()
        .map(|c| chip.location(c.location).chip)
        .collect();
    chips.sort_unstable();
    chips.dedup();
    let report = CompileReport {
        cores: program.cores.len(),
        chips: chips.len(),
        neurons: program.neuron_count() as u64,
        synapses: program.synapse_count() as u64,
        axons: program.cores.iter().map(|c| c.axons.len() as u64).sum(),
        projections: reports,
        placement: placement.cost,
        repartitions,
        closed_by: partition.closed_by_counts(),
    };
    program.notes.report = report.to_text();
    if !lowered.report.is_empty() {
        program.notes.report.push_str(&lowered.report.to_string());
    }
    if options.verify {
        progress.begin("verifying", 1);
        verify::verify(network, &program, chip).map_err(CompileError::Verification)?;
        progress.finish();
    }
    Ok(Compiled {
        program,
        report,
        quantization: lowered.report,
    })
}

#[cfg(test)]
mod tests;
