//! Runs a description end to end on the in-process emulator: compile, feed
//! the description's inputs step by step, record what its probes ask for.

use std::time::{Duration, Instant};

use neurite_chip::{ChipProfile, Costs};
use neurite_compiler::{CompileError, Compiled, compile};
use neurite_emulator::{Emulator, EmulatorError, Var};
use neurite_net::{InputStream, Model, Network};
use neurite_program::Program;

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The network does not compile for the chip.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// The emulator refused the Program or an input.
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    /// The Program lacks a port or population the description names.
    #[error("program has no {kind} '{name}'")]
    Missing { kind: &'static str, name: String },
}

/// What a run produced, per population in description order.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// Steps run.
    pub steps: u64,
    /// Wall-clock time of the emulation (not of compilation).
    pub wall: Duration,
    /// One entry per population.
    pub populations: Vec<PopulationRecord>,
    /// The time and energy the run would take on the chip, when modelled.
    pub energy: Option<crate::energy::EnergyReport>,
}

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Model time and energy.
    pub model: bool,
    /// Price operations with these costs instead of the chip profile's.
    pub costs: Option<Costs>,
}

impl RunOptions {
    /// Modelling on, with the chip profile's own costs.
    pub fn modelled() -> Self {
        Self {
            model: true,
            costs: None,
        }
    }

    fn start(&self, emulator: &mut Emulator, chip: &ChipProfile) {
        if self.model {
            emulator.enable_model(self.costs.clone().unwrap_or_else(|| chip.costs.clone()));
        }
    }
}

fn energy_of(emulator: &Emulator, chip: &ChipProfile) -> Option<crate::energy::EnergyReport> {
    emulator
        .model()
        .map(|model| crate::energy::EnergyReport::from_model(chip, model))
}

/// One population's record. In each list, index 0 is step 1.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationRecord {
    /// Population name.
    pub name: String,
    /// Number of neurons.
    pub size: u32,
    /// Whether the population is a host input.
    pub is_input: bool,
    /// Total spikes over the run (recorded whether probed or not).
    pub spike_total: u64,
    /// Indices that spiked at each step, when spikes are probed.
    pub spikes: Option<Vec<Vec<u32>>>,
    /// u after each step, when probed.
    pub u: Option<Vec<Vec<i32>>>,
    /// v after each step, when probed.
    pub v: Option<Vec<Vec<i32>>>,
}

impl Recording {
    /// The record of the population named `name`.
    pub fn population(&self, name: &str) -> Option<&PopulationRecord> {
        self.populations.iter().find(|p| p.name == name)
    }

    /// Emulated steps per second of wall time.
    pub fn steps_per_second(&self) -> f64 {
        let secs = self.wall.as_secs_f64();
        if secs > 0.0 {
            self.steps as f64 / secs
        } else {
            f64::INFINITY
        }
    }
}

/// Compiles `network` for `chip` and runs it for `steps` steps.
pub fn run(network: &Network, chip: &ChipProfile, steps: u64) -> Result<Recording, SessionError> {
    let compiled = compile(network, chip)?;
    run_compiled(network, &compiled, chip, steps)
}

/// Runs an already compiled network.
pub fn run_compiled(
    network: &Network,
    compiled: &Compiled,
    chip: &ChipProfile,
    steps: u64,
) -> Result<Recording, SessionError> {
    run_program(network, &compiled.program, chip, steps)
}

/// Where a description's population lives in the Program.
enum Binding {
    Input(usize),
    Lif(usize),
}

fn bind(network: &Network, program: &Program) -> Result<Vec<Binding>, SessionError> {
    network
        .populations
        .iter()
        .map(|p| {
            let found = match p.model {
                Model::Input => program.input_port(&p.name).map(Binding::Input),
                Model::Lif(_) => program.population(&p.name).map(Binding::Lif),
            };
            found.ok_or_else(|| SessionError::Missing {
                kind: match p.model {
                    Model::Input => "input port",
                    Model::Lif(_) => "population",
                },
                name: p.name.clone(),
            })
        })
        .collect()
}

/// Runs `program` (compiled from `network`) on a fresh emulator.
pub fn run_program(
    network: &Network,
    program: &Program,
    chip: &ChipProfile,
    steps: u64,
) -> Result<Recording, SessionError> {
    run_program_with(network, program, chip, steps, &RunOptions::default())
}

/// Runs `program` (compiled from `network`) on a fresh emulator, with options.
pub fn run_program_with(
    network: &Network,
    program: &Program,
    chip: &ChipProfile,
    steps: u64,
    options: &RunOptions,
) -> Result<Recording, SessionError> {
    let bindings = bind(network, program)?;
    let mut emulator = Emulator::new(program, chip)?;
    options.start(&mut emulator, chip);
    let mut records: Vec<PopulationRecord> = network
        .populations
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let probe = network.probe_of(i);
            let capacity = steps.min(1 << 20) as usize;
            PopulationRecord {
                name: p.name.clone(),
                size: p.size,
                is_input: matches!(p.model, Model::Input),
                spike_total: 0,
                spikes: probe
                    .is_some_and(|p| p.spikes)
                    .then(|| Vec::with_capacity(capacity)),
                u: probe
                    .is_some_and(|p| p.u)
                    .then(|| Vec::with_capacity(capacity)),
                v: probe
                    .is_some_and(|p| p.v)
                    .then(|| Vec::with_capacity(capacity)),
            }
        })
        .collect();

    let mut inputs = InputStream::new(network);
    let mut input_spikes: Vec<Vec<u32>> = Vec::new();
    let mut buffer = Vec::new();
    let started = Instant::now();
    for _ in 0..steps {
        inputs.advance(&mut input_spikes);
        for (p, binding) in bindings.iter().enumerate() {
            if let Binding::Input(port) = binding {
                emulator.inject(*port, &input_spikes[p])?;
            }
        }
        emulator.step();
        for (p, binding) in bindings.iter().enumerate() {
            let record = &mut records[p];
            match binding {
                Binding::Input(_) => {
                    record.spike_total += input_spikes[p].len() as u64;
                    if let Some(spikes) = &mut record.spikes {
                        spikes.push(input_spikes[p].clone());
                    }
                }
                Binding::Lif(index) => {
                    if let Some(spikes) = &mut record.spikes {
                        spikes.push(emulator.spiked(*index)?.collect());
                    }
                    if let Some(u) = &mut record.u {
                        emulator.read(*index, Var::U, &mut buffer)?;
                        u.push(buffer.clone());
                    }
                    if let Some(v) = &mut record.v {
                        emulator.read(*index, Var::V, &mut buffer)?;
                        v.push(buffer.clone());
                    }
                }
            }
        }
    }
    let wall = started.elapsed();
    for (p, binding) in bindings.iter().enumerate() {
        if let Binding::Lif(index) = binding {
            records[p].spike_total = emulator.spike_counts(*index)?.iter().sum();
        }
    }
    Ok(Recording {
        steps,
        wall,
        populations: records,
        energy: energy_of(&emulator, chip),
    })
}

/// Runs a Program on its own, without the description it came from: no host
/// input (neurons run on their biases and initial state), and the spikes of
/// every population that reports them are recorded.
pub fn run_program_alone(
    program: &Program,
    chip: &ChipProfile,
    steps: u64,
    options: &RunOptions,
) -> Result<Recording, SessionError> {
    let mut emulator = Emulator::new(program, chip)?;
    options.start(&mut emulator, chip);
    let capacity = steps.min(1 << 20) as usize;
    let mut records: Vec<PopulationRecord> = program
        .populations
        .iter()
        .map(|p| PopulationRecord {
            name: p.name.clone(),
            size: p.neurons.len() as u32,
            is_input: false,
            spike_total: 0,
            spikes: p.report_spikes.then(|| Vec::with_capacity(capacity)),
            u: None,
            v: None,
        })
        .collect();
    let started = Instant::now();
    for _ in 0..steps {
        emulator.step();
        for (index, record) in records.iter_mut().enumerate() {
            if let Some(spikes) = &mut record.spikes {
                spikes.push(emulator.spiked(index)?.collect());
            }
        }
    }
    let wall = started.elapsed();
    for (index, record) in records.iter_mut().enumerate() {
        record.spike_total = emulator.spike_counts(index)?.iter().sum();
    }
    Ok(Recording {
        steps,
        wall,
        populations: records,
        energy: energy_of(&emulator, chip),
    })
}
