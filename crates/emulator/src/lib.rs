//! A bit-exact, timestep-exact emulator of Loihi-style neuromorphic cores.
//!
//! The emulator executes a [`Program`]; it never sees the network description
//! or the compiler. Its arithmetic is that of Lava's bit-accurate `LIF`,
//! `Dense` and `DelayDense` models (`PyLifModelBitAcc`, `PyDenseModelBitAcc`,
//! `PyDelayDenseModelBitAcc`), laid out in [`neuron`] (one neuron) and `core.rs` (one core).
//!
//! Steps are numbered from 1. One call to [`Emulator::step`] runs step t:
//!
//! 1. every neuron takes the synaptic input that arrives at step t, updates u
//!    and v, and spikes if v exceeds its threshold;
//! 2. the spikes of step t, and the host spikes injected for step t, travel
//!    through the routing tables to input axons;
//! 3. each axon's synapse run is read, and its contributions are summed per
//!    synapse group, target and delay, shifted by the group's weight exponent
//!    and added to the delay ring so they reach u at step t + 1 + delay.
//!
//! The emulator is synchronous and deterministic, and does no I/O. It runs on
//! the caller's thread unless [`Emulator::set_threads`] gives it a pool of
//! its own; results do not depend on the number of threads.
//!
//! ```
//! use neurite_chip::ChipProfile;
//! use neurite_emulator::{Emulator, Var};
//! use neurite_program::*;
//!
//! // One core, one neuron: bias 1, no decay, threshold 1 << 6.
//! let core = Core {
//!     profiles: vec![NeuronProfile {
//!         model: NeuronModel::Lif, du: 0, dv: 0, vth: 1, refractory: 0, reset: Reset::Zero,
//!     }],
//!     neurons: Neurons {
//!         profile: vec![ProfileId(0)],
//!         bias_mant: vec![1],
//!         bias_exp: vec![0],
//!         u: vec![0],
//!         v: vec![0],
//!     },
//!     routes: vec![Run::default()],
//!     ..Core::default()
//! };
//! let mut program = Program::empty("loihi2");
//! program.cores.push(core);
//! program.populations.push(PopulationMap {
//!     name: "n".into(),
//!     neurons: vec![NeuronAddress { core: CoreId(0), neuron: NeuronId(0) }],
//!     report_spikes: true,
//! });
//!
//! // v climbs 1, 2, … and the neuron spikes when v exceeds 64.
//! let mut emulator = Emulator::new(&program, &ChipProfile::loihi2()).unwrap();
//! for _ in 0..65 {
//!     emulator.step();
//! }
//! assert_eq!(emulator.spiked(0).unwrap().collect::<Vec<_>>(), vec![0]);
//! let mut v = Vec::new();
//! emulator.read(0, Var::V, &mut v).unwrap();
//! assert_eq!(v, vec![0]);
//! ```

mod core;
mod counts;
mod fabric;
#[cfg(test)]
mod fabric_tests;
mod learning;
pub mod model;
#[cfg(test)]
mod model_tests;
pub mod neuron;
#[cfg(test)]
mod tests;

use bitvec::vec::BitVec;
use neurite_chip::{ChipProfile, Costs};
use neurite_program::{InputPort, PopulationMap, Program, ValidationError};

use crate::core::CoreState;
use crate::counts::Counts;
use crate::fabric::Fabric;
pub use crate::learning::{LearnedSynapses, LearningCounts};
pub use crate::model::{Counters, Model, ModelTotals};
pub use neurite_learning::Trace;

/// Why the emulator refused a request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmulatorError {
    /// The Program does not fit or does not hold together.
    #[error(transparent)]
    InvalidProgram(#[from] ValidationError),
    /// No input port has this index.
    #[error("no input port {port} (the program has {ports})")]
    UnknownInputPort { port: usize, ports: usize },
    /// A channel beyond the port's width.
    #[error("input port '{port}' has {channels} channels, got channel {channel}")]
    UnknownChannel {
        port: String,
        channel: u32,
        channels: usize,
    },
    /// No population has this index.
    #[error("no population {population} (the program has {populations})")]
    UnknownPopulation {
        population: usize,
        populations: usize,
    },
    /// The Program does not route this population's spikes to the host.
    #[error("population '{population}' does not report its spikes to the host")]
    SpikesNotReported { population: String },
    /// No learning projection has this name.
    #[error("no learning projection '{projection}'")]
    UnknownProjection { projection: String },
    /// A range of synapses beyond the learning projection's.
    #[error(
        "learning projection '{projection}': synapses {start}..{end} are out of range: it has {len}"
    )]
    SynapsesOutOfRange {
        projection: String,
        start: u64,
        end: u64,
        len: usize,
    },
    /// A value outside its synaptic variable's range.
    #[error(
        "learning projection '{projection}', synapse {synapse} (pre {pre}, post {post}): {var} {value} is out of range {min}..={max}"
    )]
    BadSynapseValue {
        projection: String,
        synapse: u64,
        pre: u32,
        post: u32,
        var: SynapseVar,
        value: i32,
        min: i32,
        max: i32,
    },
    /// No neuromodulator has this index.
    #[error("no neuromodulator {index} (the program has {count})")]
    UnknownNeuromodulator { index: usize, count: usize },
    /// No core has this index.
    #[error("no core {core} (the program has {cores})")]
    UnknownCore { core: usize, cores: usize },
    /// A range of neurons beyond the target.
    #[error("neurons {start}..{end} are out of range: the target has {len}")]
    OutOfRange { start: u64, end: u64, len: usize },
    /// The variable can be read, not written.
    #[error("{var:?} is read-only")]
    ReadOnly { var: Var },
    /// A value outside its variable's range.
    #[error("value {value} for neuron {index} is out of range {min}..={max}")]
    BadValue {
        index: u64,
        value: i32,
        min: i32,
        max: i32,
    },
}

/// A variable of a neuron that can be read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    /// Synaptic current, in (−2^23, 2^23].
    U,
    /// Membrane voltage, in [−(2^23 − 1), 2^23 − 1].
    V,
    /// Bias mantissa, −4096..=4095.
    BiasMant,
    /// Bias exponent, 0..=7.
    BiasExp,
    /// Spikes since the Program was loaded (read-only; saturates at 2^31 − 1).
    SpikeCount,
}

impl Var {
    /// The values the variable may take.
    pub fn range(self) -> std::ops::RangeInclusive<i32> {
        match self {
            Var::U => -(1 << 23) + 1..=1 << 23,
            Var::V => -((1 << 23) - 1)..=(1 << 23) - 1,
            Var::BiasMant => -4096..=4095,
            Var::BiasExp => 0..=7,
            Var::SpikeCount => 0..=i32::MAX,
        }
    }
}

/// A variable of every synapse of a learning projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynapseVar {
    /// The weight, on the 8-bit scale: −256..=255, 0..=255 or −255..=0 by
    /// the group's sign mode.
    Weight,
    /// The tag t, −257..=255.
    Tag,
    /// The delay variable d, 0..=255.
    Delay,
}

impl std::fmt::Display for SynapseVar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SynapseVar::Weight => "weight",
            SynapseVar::Tag => "tag",
            SynapseVar::Delay => "delay variable",
        })
    }
}

/// The neurons a state access addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A population, in population order.
    Population(usize),
    /// A core, in core order.
    Core(usize),
}

/// An emulated chip running one Program.
#[derive(Debug)]
pub struct Emulator {
    step: u64,
    cores: Vec<CoreState>,
    inputs: Vec<InputPort>,
    /// Per input port, the channels injected for the next step.
    queued: Vec<BitVec>,
    populations: Vec<PopulationMap>,
    /// Spike delivery: the flattened synapse runs and the delay rings.
    fabric: Fabric,
    /// Threads the cores run on, and the pool of all but the caller's.
    threads: usize,
    pool: Option<rayon::ThreadPool>,
    chip: ChipProfile,
    /// The counters of the last step and since creation.
    counts: Counts,
    model: Option<Model>,
    /// Learning, and the Program whose weights it changes (kept current for
    /// reading back).
    learning: Option<(learning::Learning, Box<Program>)>,
    /// What `learn` hands the learning groups each step, reused: spiking
    /// neurons (global and as (core, neuron)) and the axons spikes reached.
    learn_scratch: LearnScratch,
}

/// Spiking neurons numbered across cores, the same as (core, neuron), and
/// the (core, axon) pairs their spikes and the host's reached.
type LearnScratch = (Vec<u32>, Vec<(u32, u32)>, Vec<(u32, u32)>);

impl Emulator {
    /// Loads a Program after checking it against the chip.
    pub fn new(program: &Program, chip: &ChipProfile) -> Result<Self, EmulatorError> {
        program.validate(chip)?;
        Ok(Self {
            step: 0,
            cores: program.cores.iter().map(CoreState::new).collect(),
            inputs: program.inputs.clone(),
            queued: program
                .inputs
                .iter()
                .map(|port| BitVec::repeat(false, port.channels.len()))
                .collect(),
            populations: program.populations.clone(),
            fabric: Fabric::new(program, 1),
            threads: 1,
            pool: None,
            chip: chip.clone(),
            counts: Counts::new(program.cores.len(), &program.inputs),
            model: None,
            learning: learning::Learning::new(program).map(|l| (l, Box::new(program.clone()))),
            learn_scratch: Default::default(),
        })
    }

    /// Runs the cores on `threads` threads from the next step; 0 means one
    /// per available CPU. The default is 1: the emulator then runs entirely
    /// on the caller's thread. With more, the cores are split into as many
    /// partitions of consecutive cores (never more than there are cores),
    /// each updated and fed by one thread, the caller's among them; results
    /// are the same for any number of threads. If threads cannot be started,
    /// the emulator stays on one.
    pub fn set_threads(&mut self, threads: usize) {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let parts = threads.clamp(1, self.cores.len().max(1));
        let pool = if parts > 1 {
            rayon::ThreadPoolBuilder::new()
                .num_threads(parts - 1)
                .thread_name(|i| format!("neurite-emulator-{i}"))
                .build()
                .ok()
        } else {
            None
        };
        let parts = if pool.is_some() { parts } else { 1 };
        if parts != self.fabric.parts() {
            let mut fabric = self.fabric.repartition(parts);
            fabric.carry_over(&self.fabric);
            self.fabric = fabric;
        }
        self.pool = pool;
        self.threads = parts;
    }

    /// The threads the cores run on (see [`Emulator::set_threads`]): at most
    /// one per core.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Starts modelling time and energy from the next step, priced with
    /// `costs` (usually the chip profile's own table).
    pub fn enable_model(&mut self, costs: Costs) {
        let locations: Vec<u32> = self.cores.iter().map(|c| c.location).collect();
        self.model = Some(Model::new(&self.chip, &locations, costs));
        self.counts.prepare_model(&self.cores, &self.inputs);
    }

    /// The time and energy model, when enabled.
    pub fn model(&self) -> Option<&Model> {
        self.model.as_ref()
    }

    /// The time and energy model, when enabled, to bound its step records
    /// ([`Model::keep_steps`]).
    pub fn model_mut(&mut self) -> Option<&mut Model> {
        self.model.as_mut()
    }

    /// Each core's counts in the last step (hops and chip links only when
    /// the model is enabled).
    pub fn step_counts(&self) -> &[Counters] {
        self.counts.last(&self.cores, &self.inputs, &self.fabric)
    }

    /// Each core's counts since creation.
    pub fn core_totals(&self) -> &[Counters] {
        self.counts.totals(&self.cores, &self.inputs)
    }

    /// All cores' counts since creation.
    pub fn totals(&self) -> Counters {
        let mut sum = Counters::default();
        for c in self.core_totals() {
            sum += *c;
        }
        sum
    }

    /// The last step run (0 before the first).
    pub fn current_step(&self) -> u64 {
        self.step
    }

    /// Number of input ports.
    pub fn input_ports(&self) -> usize {
        self.inputs.len()
    }

    /// Queues spikes on channels of an input port for the next step: they act
    /// like spikes emitted by source neurons at that step. Spikes are binary:
    /// a channel injected twice before a step spikes once.
    pub fn inject(&mut self, port: usize, channels: &[u32]) -> Result<(), EmulatorError> {
        let state = self
            .inputs
            .get(port)
            .ok_or(EmulatorError::UnknownInputPort {
                port,
                ports: self.inputs.len(),
            })?;
        if let Some(&channel) = channels
            .iter()
            .find(|&&c| c as usize >= state.channels.len())
        {
            return Err(EmulatorError::UnknownChannel {
                port: state.name.clone(),
                channel,
                channels: state.channels.len(),
            });
        }
        let queued = &mut self.queued[port];
        for &channel in channels {
            queued.set(channel as usize, true);
        }
        Ok(())
    }

    /// Runs one timestep.
    pub fn step(&mut self) {
        self.step += 1;
        let t = self.step;
        for (port, queued) in self.queued.iter_mut().enumerate() {
            for channel in queued.iter_ones() {
                self.fabric.push_host(port, channel);
                self.counts.host_spike(port, channel);
            }
            queued.fill(false);
        }
        self.fabric.step(&mut self.cores, t, self.pool.as_ref());
        self.learn();
        let learning = self
            .learning
            .as_ref()
            .map_or(&[][..], |(l, _)| l.step_counts());
        self.counts
            .after_step(t, &self.cores, &self.fabric, self.model.as_mut(), learning);
    }

    /// Delivers this step's spikes through the learning synapses, then
    /// records them in the learning groups and ends their step (which may
    /// change weights, for the spikes of later steps).
    fn learn(&mut self) {
        let Some((learning, program)) = &mut self.learning else {
            return;
        };
        let (global, neurons, axons) = &mut self.learn_scratch;
        global.clear();
        global.extend(self.fabric.neuron_spikes());
        neurons.clear();
        axons.clear();
        let core_base = self.fabric.core_base();
        for &s in global.iter() {
            let c = core_base.partition_point(|&b| b <= s) - 1;
            let n = s - core_base[c];
            neurons.push((c as u32, n));
            let core = &program.cores[c];
            for d in &core.destinations[core.routes[n as usize].range()] {
                axons.push((d.core.0, d.axon.0));
            }
        }
        for (port, channel) in self.fabric.host_spikes() {
            for d in program.inputs[port].channel(channel) {
                axons.push((d.core.0, d.axon.0));
            }
        }
        learning.deliver(&mut self.fabric, self.step, axons);
        learning.end_step(program, neurons, global, axons);
    }

    /// Names of the projections whose synapses learn.
    pub fn learning_projections(&self) -> Vec<String> {
        self.learning
            .as_ref()
            .map_or_else(Vec::new, |(l, _)| l.projections())
    }

    /// The synapses of a learning projection as they are now: weights (on
    /// the 8-bit scale), tags and delay variables.
    pub fn learned(&self, projection: &str) -> Result<LearnedSynapses, EmulatorError> {
        self.learning
            .as_ref()
            .and_then(|(l, _)| l.learned(projection))
            .ok_or_else(|| EmulatorError::UnknownProjection {
                projection: projection.to_string(),
            })
    }

    /// Writes `var` of a learning projection's synapses `start..start +
    /// values.len()`, numbered as [`Emulator::learned`] lists them (by pre,
    /// then post neuron); nothing is written unless every value is in its
    /// range. A new weight meets the spikes of the steps run from now on,
    /// except those of the last step run, which are delivered at the start
    /// of the next with the weights they met (as after an epoch's update).
    pub fn write_learned(
        &mut self,
        projection: &str,
        var: SynapseVar,
        start: usize,
        values: &[i32],
    ) -> Result<(), EmulatorError> {
        match &mut self.learning {
            Some((learning, program)) => learning.write(program, projection, var, start, values),
            None => Err(EmulatorError::UnknownProjection {
                projection: projection.to_string(),
            }),
        }
    }

    /// A trace of a learning projection: x1 and x2 per pre neuron, y1, y2
    /// and y3 per post neuron, as stored at the start of the current epoch.
    pub fn trace(&self, projection: &str, trace: Trace) -> Result<Vec<i32>, EmulatorError> {
        self.learning
            .as_ref()
            .and_then(|(l, _)| l.trace(projection, trace))
            .ok_or_else(|| EmulatorError::UnknownProjection {
                projection: projection.to_string(),
            })
    }

    /// Index of the neuromodulator named `name`.
    pub fn neuromodulator(&self, name: &str) -> Option<usize> {
        self.learning
            .as_ref()
            .and_then(|(l, _)| l.neuromodulator(name))
    }

    /// Sets the value the host adds to neuromodulator `index` in the next
    /// step (it then returns to 0 unless set again).
    pub fn set_neuromodulator(&mut self, index: usize, value: i32) -> Result<(), EmulatorError> {
        let count = self
            .learning
            .as_ref()
            .map_or(0, |(l, _)| l.neuromodulators());
        let set = match &mut self.learning {
            Some((l, _)) => l.set_host_value(index, value),
            None => false,
        };
        if set {
            Ok(())
        } else {
            Err(EmulatorError::UnknownNeuromodulator { index, count })
        }
    }

    /// The value neuromodulator `index` had in the last step.
    pub fn neuromodulator_value(&self, index: usize) -> Option<i32> {
        self.learning
            .as_ref()
            .and_then(|(l, _)| l.modulator_value(index))
    }

    /// What learning has done since creation.
    pub fn learning_counts(&self) -> LearningCounts {
        self.learning
            .as_ref()
            .map_or_else(LearningCounts::default, |(l, _)| l.counts)
    }

    /// The populations of the Program.
    pub fn populations(&self) -> &[PopulationMap] {
        &self.populations
    }

    fn population(&self, population: usize) -> Result<&PopulationMap, EmulatorError> {
        self.populations
            .get(population)
            .ok_or(EmulatorError::UnknownPopulation {
                population,
                populations: self.populations.len(),
            })
    }

    /// Indices (within the population) of the neurons that spiked in the last
    /// step, in increasing order. Only for populations that report spikes.
    pub fn spiked(
        &self,
        population: usize,
    ) -> Result<impl Iterator<Item = u32> + '_, EmulatorError> {
        let map = self.population(population)?;
        if !map.report_spikes {
            return Err(EmulatorError::SpikesNotReported {
                population: map.name.clone(),
            });
        }
        Ok(map
            .neurons
            .iter()
            .enumerate()
            .filter(|(_, a)| self.cores[a.core.0 as usize].spiked(a.neuron.0 as usize))
            .map(|(i, _)| i as u32))
    }

    /// Spikes of each neuron of a population since creation.
    pub fn spike_counts(&self, population: usize) -> Result<Vec<u64>, EmulatorError> {
        let map = self.population(population)?;
        Ok(map
            .neurons
            .iter()
            .map(|a| self.cores[a.core.0 as usize].spike_count(a.neuron.0 as usize))
            .collect())
    }

    /// Current value of a variable for every neuron of a population, in
    /// population order, written into `out` (cleared first).
    pub fn read(
        &self,
        population: usize,
        var: Var,
        out: &mut Vec<i32>,
    ) -> Result<(), EmulatorError> {
        let map = self.population(population)?;
        out.clear();
        out.extend(
            map.neurons
                .iter()
                .map(|a| self.cores[a.core.0 as usize].get(var, a.neuron.0 as usize)),
        );
        Ok(())
    }

    /// (core, neuron) of every neuron of a target, in its order.
    fn addresses(&self, target: Target) -> Result<Vec<(usize, usize)>, EmulatorError> {
        match target {
            Target::Population(p) => Ok(self
                .population(p)?
                .neurons
                .iter()
                .map(|a| (a.core.0 as usize, a.neuron.0 as usize))
                .collect()),
            Target::Core(c) => {
                let core = self.cores.get(c).ok_or(EmulatorError::UnknownCore {
                    core: c,
                    cores: self.cores.len(),
                })?;
                Ok((0..core.len()).map(|n| (c, n)).collect())
            }
        }
    }

    /// Neurons of a target.
    pub fn target_len(&self, target: Target) -> Result<usize, EmulatorError> {
        Ok(self.addresses(target)?.len())
    }

    /// Reads `var` of the target's neurons `start..start + count` (to the end
    /// when `count` is `None`) into `out` (cleared first).
    pub fn read_range(
        &self,
        target: Target,
        var: Var,
        start: usize,
        count: Option<usize>,
        out: &mut Vec<i32>,
    ) -> Result<(), EmulatorError> {
        let addresses = self.addresses(target)?;
        let range = checked_range(start, count, addresses.len())?;
        out.clear();
        out.extend(
            addresses[range]
                .iter()
                .map(|&(c, n)| self.cores[c].get(var, n)),
        );
        Ok(())
    }

    /// Writes `var` of the target's neurons `start..start + values.len()`;
    /// nothing is written unless every value is in the variable's range.
    pub fn write_range(
        &mut self,
        target: Target,
        var: Var,
        start: usize,
        values: &[i32],
    ) -> Result<(), EmulatorError> {
        if var == Var::SpikeCount {
            return Err(EmulatorError::ReadOnly { var });
        }
        let addresses = self.addresses(target)?;
        let range = checked_range(start, Some(values.len()), addresses.len())?;
        let allowed = var.range();
        if let Some((i, &value)) = values
            .iter()
            .enumerate()
            .find(|(_, v)| !allowed.contains(v))
        {
            return Err(EmulatorError::BadValue {
                index: (start + i) as u64,
                value,
                min: *allowed.start(),
                max: *allowed.end(),
            });
        }
        for (&(c, n), &value) in addresses[range].iter().zip(values) {
            self.cores[c].set(var, n, value);
        }
        Ok(())
    }
}

fn checked_range(
    start: usize,
    count: Option<usize>,
    len: usize,
) -> Result<std::ops::Range<usize>, EmulatorError> {
    let end = match count {
        Some(count) => start.checked_add(count),
        None => Some(len.max(start)),
    };
    match end {
        Some(end) if start <= len && end <= len => Ok(start..end),
        _ => Err(EmulatorError::OutOfRange {
            start: start as u64,
            end: end.map_or(u64::MAX, |e| e as u64),
            len,
        }),
    }
}
