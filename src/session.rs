//! Runs a description end to end on the in-process emulator: compile, feed
//! the description's inputs step by step, record what its probes ask for.

use std::time::{Duration, Instant};

use neurite_chip::{ChipProfile, Costs};
use neurite_compiler::{CompileError, Compiled, compile};
use neurite_emulator::{Emulator, EmulatorError, Var};
use neurite_host::{
    Board, BoardError, InputFrame, LearningVar, ProbeSpec, StateTarget, StreamConfig, SynapseVar,
    TargetOf,
};
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
    /// The board refused or failed a request.
    #[error(transparent)]
    Board(#[from] BoardError),
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
    /// The weights of the learning projections asked for
    /// ([`RunOptions::probe_weights`]), after every step.
    pub weights: Vec<WeightRecord>,
}

/// A learning projection's weights over a run.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightRecord {
    /// The projection.
    pub projection: String,
    /// Each synapse as (pre, post), sorted.
    pub synapses: Vec<(u32, u32)>,
    /// The weights (8-bit scale) after each step, one per synapse.
    pub steps: Vec<Vec<i16>>,
}

/// What [`run_on_board`] feeds and records: the description's populations
/// (inputs from its sources, probes as it asks), or, for a Program on its
/// own, no input and the spikes of every population that reports them.
#[derive(Debug, Clone, Copy)]
pub enum Feed<'a> {
    /// The description the Program was compiled from.
    Description(&'a Network),
    /// The Program alone.
    ProgramAlone,
}

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Model time and energy.
    pub model: bool,
    /// Price operations with these costs instead of the chip profile's.
    pub costs: Option<Costs>,
    /// Learning projections whose weights are recorded after every step.
    pub probe_weights: Vec<String>,
    /// Values the host adds to neuromodulators, by name: the k-th value at
    /// step k + 1, 0 after the last.
    pub neuromodulators: Vec<(String, Vec<i32>)>,
}

impl RunOptions {
    /// Modelling on, with the chip profile's own costs.
    pub fn modelled() -> Self {
        Self {
            model: true,
            ..Self::default()
        }
    }

    /// The host's neuromodulator values at `step` (from 1), by name.
    fn neuromodulators_at(&self, step: u64) -> Vec<(String, i32)> {
        let k = (step - 1) as usize;
        self.neuromodulators
            .iter()
            .filter_map(|(name, values)| values.get(k).map(|&v| (name.clone(), v)))
            .collect()
    }

    /// Checks that the Program has the neuromodulators named.
    fn check_neuromodulators(&self, program: &Program) -> Result<(), SessionError> {
        for (name, _) in &self.neuromodulators {
            if !program.neuromodulators.iter().any(|m| &m.name == name) {
                return Err(SessionError::Missing {
                    kind: "neuromodulator",
                    name: name.clone(),
                });
            }
        }
        Ok(())
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

impl PopulationRecord {
    /// An empty record with room for `capacity` steps of what `probe` asks.
    fn new(
        name: &str,
        size: u32,
        is_input: bool,
        probe: Option<&neurite_net::Probe>,
        capacity: usize,
    ) -> Self {
        let wants = |what: fn(&neurite_net::Probe) -> bool| probe.is_some_and(what);
        Self {
            name: name.to_string(),
            size,
            is_input,
            spike_total: 0,
            spikes: wants(|p| p.spikes).then(|| Vec::with_capacity(capacity)),
            u: wants(|p| p.u).then(|| Vec::with_capacity(capacity)),
            v: wants(|p| p.v).then(|| Vec::with_capacity(capacity)),
        }
    }
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
    options.check_neuromodulators(program)?;
    let mut emulator = Emulator::new(program, chip)?;
    options.start(&mut emulator, chip);
    let mut modulators = Vec::with_capacity(options.neuromodulators.len());
    for (name, _) in &options.neuromodulators {
        modulators.push(
            emulator
                .neuromodulator(name)
                .ok_or_else(|| SessionError::Missing {
                    kind: "neuromodulator",
                    name: name.clone(),
                })?,
        );
    }
    let mut records: Vec<PopulationRecord> = network
        .populations
        .iter()
        .enumerate()
        .map(|(i, p)| {
            PopulationRecord::new(
                &p.name,
                p.size,
                matches!(p.model, Model::Input),
                network.probe_of(i),
                steps.min(1 << 20) as usize,
            )
        })
        .collect();

    let mut weights: Vec<WeightRecord> = Vec::with_capacity(options.probe_weights.len());
    for projection in &options.probe_weights {
        let learned = emulator.learned(projection)?;
        weights.push(WeightRecord {
            projection: projection.clone(),
            synapses: learned.synapses.iter().map(|s| (s.0, s.1)).collect(),
            steps: Vec::with_capacity(steps.min(1 << 20) as usize),
        });
    }
    let mut inputs = InputStream::new(network);
    let mut input_spikes: Vec<Vec<u32>> = Vec::new();
    let mut buffer = Vec::new();
    let started = Instant::now();
    for step in 0..steps as usize {
        inputs.advance(&mut input_spikes);
        for (p, binding) in bindings.iter().enumerate() {
            if let Binding::Input(port) = binding {
                emulator.inject(*port, &input_spikes[p])?;
            }
        }
        for (&index, (_, values)) in modulators.iter().zip(&options.neuromodulators) {
            if let Some(&value) = values.get(step) {
                emulator.set_neuromodulator(index, value)?;
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
        for record in &mut weights {
            let learned = emulator.learned(&record.projection)?;
            record
                .steps
                .push(learned.synapses.iter().map(|s| s.2).collect());
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
        weights,
    })
}

/// One population as [`run_on_board`] sees it, at the same index as the
/// description's input spikes.
struct Slot {
    /// Input port, or a population of the Program.
    port: Option<String>,
    population: Option<String>,
}

/// Runs `program` on a board — the emulator in this process or one over
/// gRPC — and records what `feed` asks for, step-locked so that the inputs
/// reach exactly the steps they name. The board ends loaded with the
/// Program after `steps` steps; its energy report comes back with every
/// step's record.
pub async fn run_on_board<B: Board>(
    board: &B,
    program: &Program,
    feed: Feed<'_>,
    steps: u64,
) -> Result<Recording, SessionError> {
    run_on_board_with(board, program, feed, steps, &RunOptions::default()).await
}

/// [`run_on_board`], also streaming the host's neuromodulator values and
/// recording learning projections' weights (through a probe of the board)
/// as `options` ask; its `model` and `costs` are the board's to decide.
pub async fn run_on_board_with<B: Board>(
    board: &B,
    program: &Program,
    feed: Feed<'_>,
    steps: u64,
    options: &RunOptions,
) -> Result<Recording, SessionError> {
    options.check_neuromodulators(program)?;
    let capacity = steps.min(1 << 20) as usize;
    let (mut records, slots): (Vec<PopulationRecord>, Vec<Slot>) = match feed {
        Feed::Description(network) => {
            let bindings = bind(network, program)?;
            network
                .populations
                .iter()
                .enumerate()
                .zip(&bindings)
                .map(|((i, p), binding)| {
                    let record = PopulationRecord::new(
                        &p.name,
                        p.size,
                        matches!(binding, Binding::Input(_)),
                        network.probe_of(i),
                        capacity,
                    );
                    let slot = match binding {
                        Binding::Input(_) => Slot {
                            port: Some(p.name.clone()),
                            population: None,
                        },
                        Binding::Lif(_) => Slot {
                            port: None,
                            population: Some(p.name.clone()),
                        },
                    };
                    (record, slot)
                })
                .unzip()
        }
        Feed::ProgramAlone => program
            .populations
            .iter()
            .map(|p| {
                let record = PopulationRecord {
                    name: p.name.clone(),
                    size: p.neurons.len() as u32,
                    is_input: false,
                    spike_total: 0,
                    spikes: p.report_spikes.then(|| Vec::with_capacity(capacity)),
                    u: None,
                    v: None,
                };
                let slot = Slot {
                    port: None,
                    population: Some(p.name.clone()),
                };
                (record, slot)
            })
            .unzip(),
    };

    board.load(program).await?;
    // u and v come from a probe subscription, spikes from the stream.
    let mut probe_specs = Vec::new();
    let mut probe_targets = Vec::new();
    let mut outputs = Vec::new();
    for (k, (record, slot)) in records.iter().zip(&slots).enumerate() {
        let Some(name) = &slot.population else {
            continue;
        };
        for (wanted, var) in [(record.u.is_some(), Var::U), (record.v.is_some(), Var::V)] {
            if wanted {
                probe_specs.push(ProbeSpec::neuron(name, var));
                probe_targets.push((k, var));
            }
        }
        if record.spikes.is_some() {
            outputs.push(name.clone());
        }
    }
    let mut weights: Vec<WeightRecord> = Vec::with_capacity(options.probe_weights.len());
    for projection in &options.probe_weights {
        let learned = board.learned(projection).await?;
        weights.push(WeightRecord {
            projection: projection.clone(),
            synapses: learned.synapses.iter().map(|s| (s.0, s.1)).collect(),
            steps: Vec::with_capacity(capacity),
        });
        probe_specs.push(ProbeSpec::learning(
            projection,
            LearningVar::Synapse(SynapseVar::Weight),
        ));
    }
    let mut probes = if probe_specs.is_empty() {
        None
    } else {
        Some(board.probes(&probe_specs).await?)
    };
    let config = StreamConfig {
        outputs: outputs.clone(),
        ..StreamConfig::step_locked(steps)
    };
    let started = Instant::now();
    let (mut sender, mut receiver) = board.stream(config).await?.split();

    // Host → board: every step's input frame, sent ahead up to the board's
    // buffer.
    let mut inputs = match feed {
        Feed::Description(network) => Some(InputStream::new(network)),
        Feed::ProgramAlone => None,
    };
    let ports: Vec<(usize, String)> = slots
        .iter()
        .enumerate()
        .filter_map(|(k, s)| s.port.clone().map(|name| (k, name)))
        .collect();
    let produce = async {
        let mut spikes: Vec<Vec<u32>> = Vec::new();
        let mut input_totals = vec![0u64; slots.len()];
        let mut input_log: Vec<(usize, Vec<u32>)> = Vec::new();
        for step in 1..=steps {
            let mut frame = InputFrame {
                step,
                sequence: step,
                inputs: Vec::with_capacity(ports.len()),
                neuromodulators: options.neuromodulators_at(step),
            };
            if let Some(stream) = &mut inputs {
                stream.advance(&mut spikes);
                for (k, name) in &ports {
                    let fired = &spikes[*k];
                    input_totals[*k] += fired.len() as u64;
                    if records[*k].spikes.is_some() {
                        input_log.push((*k, fired.clone()));
                    }
                    if !fired.is_empty() {
                        frame.inputs.push((name.clone(), fired.clone()));
                    }
                }
            }
            sender.send(frame).await?;
        }
        sender.close();
        Ok::<_, BoardError>((input_totals, input_log))
    };

    // Board → host: outputs and probe records until every step is in.
    let positions: Vec<(String, usize)> = outputs
        .iter()
        .filter_map(|name| {
            records
                .iter()
                .position(|r| !r.is_input && &r.name == name)
                .map(|k| (name.clone(), k))
        })
        .collect();
    let mut spike_log: Vec<Vec<Vec<u32>>> = vec![Vec::new(); records.len()];
    let mut probe_log: Vec<Vec<Vec<i32>>> = vec![Vec::new(); probe_specs.len()];
    let consume = async {
        let mut frames = 0u64;
        let mut probe_records = 0u64;
        let probe_wanted = steps * probe_specs.len() as u64;
        while frames < steps || probe_records < probe_wanted {
            tokio::select! {
                frame = receiver.recv(), if frames < steps => {
                    let frame = match frame {
                        Some(frame) => frame?,
                        None => return Err(BoardError::Aborted(format!(
                            "the board ended the stream after {frames} of {steps} steps"
                        ))),
                    };
                    frames += 1;
                    for (name, spiked) in frame.populations {
                        if let Some((_, k)) = positions.iter().find(|(n, _)| *n == name) {
                            spike_log[*k].push(spiked);
                        }
                    }
                }
                data = async { match &mut probes { Some(p) => p.recv().await, None => None } }, if probe_records < probe_wanted => {
                    let Some(data) = data else {
                        return Err(BoardError::Aborted("the board ended the probe stream".to_string()));
                    };
                    probe_records += 1;
                    if let Some(slot) = probe_specs.iter().position(|s| {
                        s.name == data.name && s.probed == data.probed
                    }) {
                        probe_log[slot].push(data.values);
                    }
                }
            }
        }
        Ok(())
    };
    let (produced, consumed) = tokio::join!(produce, consume);
    let wall = started.elapsed();
    let (input_totals, input_log) = produced?;
    consumed?;
    drop(probes);

    for (k, fired) in input_log {
        if let Some(spikes) = &mut records[k].spikes {
            spikes.push(fired);
        }
    }
    for (k, log) in spike_log.into_iter().enumerate() {
        let record = &mut records[k];
        if !record.is_input
            && let Some(spikes) = &mut record.spikes
        {
            *spikes = log;
        }
    }
    let mut logs = probe_log.into_iter();
    for ((k, var), log) in probe_targets.into_iter().zip(logs.by_ref()) {
        match var {
            Var::U => records[k].u = Some(log),
            _ => records[k].v = Some(log),
        }
    }
    for (record, log) in weights.iter_mut().zip(logs) {
        record.steps = log
            .into_iter()
            .map(|step| {
                // Weights are on the 8-bit scale: i16 holds them.
                step.into_iter()
                    .map(|w| w.clamp(i16::MIN.into(), i16::MAX.into()) as i16)
                    .collect()
            })
            .collect();
    }
    for (k, slot) in slots.iter().enumerate() {
        records[k].spike_total = match &slot.population {
            None => input_totals[k],
            Some(name) => {
                let counts = board
                    .get_state(&StateTarget {
                        of: TargetOf::Population(name.clone()),
                        var: Var::SpikeCount,
                        start: 0,
                        count: None,
                    })
                    .await?;
                counts.iter().map(|&c| c as u64).sum()
            }
        };
    }
    let energy = board.energy(true).await?;
    Ok(Recording {
        steps,
        wall,
        populations: records,
        energy: Some(energy),
        weights,
    })
}
