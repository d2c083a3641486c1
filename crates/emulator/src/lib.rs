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
//! The emulator is synchronous and deterministic: no I/O, no threads of its own.
//!
//! ```
//! use neurite_chip::ChipProfile;
//! use neurite_emulator::{Emulator, Var};
//! use neurite_program::*;
//!
//! // One core, one neuron: bias 1, no decay, threshold 1 << 6.
//! let core = Core {
//!     profiles: vec![NeuronProfile { model: NeuronModel::Lif, du: 0, dv: 0, vth: 1, refractory: 0 }],
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
pub mod neuron;
#[cfg(test)]
mod tests;

use bitvec::vec::BitVec;
use neurite_chip::ChipProfile;
use neurite_program::{InputPort, PopulationMap, Program, ValidationError};

use crate::core::CoreState;

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
}

/// A neuron state variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    /// Synaptic current.
    U,
    /// Membrane voltage.
    V,
}

/// Totals since the emulator was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Neuron spikes.
    pub spikes: u64,
    /// Synapse entries read while delivering spikes.
    pub synaptic_events: u64,
    /// Neuron updates (neurons × steps).
    pub neuron_updates: u64,
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
    /// Per destination core, the input axons hit during the current step.
    inbox: Vec<Vec<u32>>,
    stats: Stats,
}

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
            inbox: vec![Vec::new(); program.cores.len()],
            stats: Stats::default(),
        })
    }

    /// The last step run (0 before the first).
    pub fn current_step(&self) -> u64 {
        self.step
    }

    /// Totals since creation.
    pub fn stats(&self) -> Stats {
        self.stats
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
        for core in &mut self.cores {
            core.update_neurons(t);
        }
        for (port, queued) in self.inputs.iter().zip(&mut self.queued) {
            for channel in queued.iter_ones() {
                for address in port.channel(channel) {
                    self.inbox[address.core.0 as usize].push(address.axon.0);
                }
            }
            queued.fill(false);
        }
        for core in &self.cores {
            core.route_spikes(&mut self.inbox);
        }
        let mut stats = Stats::default();
        for (core, inbox) in self.cores.iter_mut().zip(&mut self.inbox) {
            stats.synaptic_events += core.deliver(t, inbox);
            inbox.clear();
            stats.spikes += core.spikes_last_step();
            stats.neuron_updates += core.len() as u64;
        }
        self.stats.spikes += stats.spikes;
        self.stats.synaptic_events += stats.synaptic_events;
        self.stats.neuron_updates += stats.neuron_updates;
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
}
