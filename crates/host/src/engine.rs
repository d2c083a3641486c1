//! The engine behind [`crate::LocalBoard`]: one thread owns the emulator and
//! takes commands from a channel. Between steps it answers every queued
//! command, so reads of info and energy, pause and stop are served while a
//! run or a stream goes on, and state access while running is refused
//! instead of racing the step.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use neurite_chip::ChipProfile;
use neurite_emulator::{Emulator, EmulatorError, SynapseVar, Target};
use neurite_program::{Program, ValidationError};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::{
    BoardError, BoardInfo, BoardState, EnergyReport, InputFrame, LatePolicy, LearningVar,
    LoadedProgram, OutputFrame, ProbeData, ProbeSpec, Probed, RunLength, RunStatus, StateTarget,
    Status, StreamConfig, StreamMode, TargetOf,
};

/// Where a reply goes.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, BoardError>>;

/// Which step records an energy report carries.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StepRecords {
    /// None.
    None,
    /// From this step on, at most this many.
    From { first: u64, max: usize },
}

/// A request to the engine.
#[derive(Debug)]
pub(crate) enum Command {
    Info(Reply<BoardInfo>),
    Load {
        program: Box<Program>,
        id: String,
        reply: Reply<LoadedProgram>,
    },
    Run {
        length: RunLength,
        progress_every: u64,
        statuses: mpsc::UnboundedSender<RunStatus>,
        reply: Reply<()>,
    },
    Pause(Reply<Status>),
    Stop(Reply<Status>),
    Reset(Reply<Status>),
    GetState(StateTarget, Reply<Vec<i32>>),
    Learned(String, Reply<crate::LearnedState>),
    SetState(StateTarget, Vec<i32>, Reply<()>),
    SetLearned(LearnedWrite, Reply<()>),
    Stream {
        config: StreamConfig,
        frames: mpsc::Receiver<InputFrame>,
        shared: Arc<StreamShared>,
        outputs: mpsc::Sender<Result<OutputFrame, BoardError>>,
        reply: Reply<()>,
    },
    Probes(Vec<ProbeSpec>, mpsc::Sender<ProbeData>, Reply<()>),
    Energy(StepRecords, Reply<EnergyReport>),
}

/// A write of a learning projection's synaptic variable.
#[derive(Debug)]
pub(crate) struct LearnedWrite {
    pub projection: String,
    pub var: SynapseVar,
    pub start: u32,
    pub values: Vec<i32>,
}

/// What the sending side of a stream and the engine share.
#[derive(Debug, Default)]
pub(crate) struct StreamShared {
    /// Frames dropped because the buffer was full.
    pub full_dropped: AtomicU64,
    /// The buffer overflowed under the error policy.
    pub overflowed: AtomicBool,
    /// Why the sending side ended, when it ended on an error.
    pub failure: std::sync::Mutex<Option<BoardError>>,
}

impl StreamShared {
    /// The error the sending side ended with, if any.
    pub(crate) fn failure(&self) -> Option<BoardError> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Starts the engine thread; it ends when every sender is dropped.
pub(crate) fn spawn(
    chip: ChipProfile,
    version: String,
    step_records: Option<usize>,
) -> mpsc::UnboundedSender<Command> {
    let (sender, commands) = mpsc::unbounded_channel();
    let engine = Engine {
        chip,
        version,
        step_records,
        commands,
        loaded: None,
        probes: Vec::new(),
        loads: 0,
    };
    std::thread::Builder::new()
        .name("neurite-board".to_string())
        .spawn(move || {
            // The thread runs one task; a runtime only for waiting on
            // several channels at once and for pacing.
            match tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
            {
                Ok(runtime) => runtime.block_on(engine.serve()),
                Err(e) => tracing::error!("board engine could not start: {e}"),
            }
        })
        .expect("the OS refused a thread for the board engine");
    sender
}

/// A Program on the board.
struct Loaded {
    program: Program,
    id: String,
    emulator: Emulator,
    state: BoardState,
    populations: HashMap<String, usize>,
    ports: HashMap<String, usize>,
}

impl Loaded {
    /// The index of the population named `name`.
    fn population(&self, name: &str) -> Result<usize, BoardError> {
        self.populations
            .get(name)
            .copied()
            .ok_or_else(|| BoardError::InvalidArgument(format!("no population '{name}'")))
    }

    /// The index of the population named `name`, which must report its
    /// spikes to the host.
    fn reporting(&self, name: &str) -> Result<usize, BoardError> {
        let index = self.population(name)?;
        if !self.program.populations[index].report_spikes {
            return Err(BoardError::InvalidArgument(format!(
                "population '{name}' does not report its spikes to the host"
            )));
        }
        Ok(index)
    }
}

/// A probe subscription: what it reads (the population's index for spikes
/// and neuron variables), its name, and where its data goes.
struct Probe {
    population: usize,
    name: String,
    probed: Probed,
    data: mpsc::Sender<ProbeData>,
}

/// What the board is doing while running.
enum Activity {
    Run {
        remaining: Option<u64>,
        progress_every: u64,
        statuses: mpsc::UnboundedSender<RunStatus>,
    },
    Stream(Box<Stream>),
}

struct Stream {
    config: StreamConfig,
    frames: mpsc::Receiver<InputFrame>,
    shared: Arc<StreamShared>,
    outputs: mpsc::Sender<Result<OutputFrame, BoardError>>,
    /// Populations sent in output frames: name and index.
    selected: Vec<(String, usize)>,
    /// A frame for a later step, held until its step.
    pending: Option<InputFrame>,
    inputs_closed: bool,
    last_sequence: Option<u64>,
    late_dropped: u64,
    steps_run: u64,
    next_deadline: Option<Instant>,
}

/// How a step of an activity went.
enum Advance {
    /// The step ran; the activity goes on.
    Continue,
    /// A command arrived while waiting for input.
    Command(Command),
    /// The activity ended.
    End(Ending),
    /// Every command sender is gone.
    Shutdown,
}

/// How an activity ended.
enum Ending {
    /// Its steps are done, or the host ended its input.
    Done,
    /// Paused or stopped by a command.
    Paused,
    Stopped,
    /// The host went away (a stream's output receiver was dropped).
    Abandoned,
    /// An error the host must see.
    Failed(BoardError),
}

struct Engine {
    chip: ChipProfile,
    version: String,
    /// Step records the energy model keeps (`None`: all).
    step_records: Option<usize>,
    commands: mpsc::UnboundedReceiver<Command>,
    loaded: Option<Loaded>,
    probes: Vec<Probe>,
    loads: u64,
}

const RUNNING: &str = "the board is running; pause or stop it first";

/// How long a step-locked board polls for the next frame before sleeping:
/// waking a parked thread can take tens of microseconds (more on a virtual
/// machine whose other core is idle), a large part of a closed loop's
/// budget; the poll costs at most this much CPU time per step.
const SPIN: Duration = Duration::from_micros(300);

/// What polling for a frame found.
enum Spun {
    Frame(InputFrame),
    Command(Command),
    Closed,
    Nothing,
}

fn no_program() -> BoardError {
    BoardError::FailedPrecondition("no Program is loaded".to_string())
}

fn invalid(e: EmulatorError) -> BoardError {
    BoardError::InvalidArgument(e.to_string())
}

fn refused_program(e: ValidationError) -> BoardError {
    match e {
        ValidationError::TooManyCores { .. } | ValidationError::OverLimit { .. } => {
            BoardError::ResourceExhausted(e.to_string())
        }
        _ => BoardError::InvalidArgument(e.to_string()),
    }
}

impl Engine {
    async fn serve(mut self) {
        let mut activity: Option<Activity> = None;
        loop {
            let Some(current) = activity.as_mut() else {
                match self.commands.recv().await {
                    Some(command) => self.handle(command, &mut activity),
                    None => return,
                }
                continue;
            };
            let advance = match current {
                Activity::Run { .. } => match self.commands.try_recv() {
                    Ok(command) => Advance::Command(command),
                    Err(mpsc::error::TryRecvError::Disconnected) => Advance::Shutdown,
                    Err(mpsc::error::TryRecvError::Empty) => self.run_step(current).await,
                },
                Activity::Stream(stream) => match self.commands.try_recv() {
                    Ok(command) => Advance::Command(command),
                    Err(mpsc::error::TryRecvError::Disconnected) => Advance::Shutdown,
                    Err(mpsc::error::TryRecvError::Empty) => self.stream_step(stream).await,
                },
            };
            match advance {
                Advance::Continue => {}
                Advance::Command(command) => self.handle(command, &mut activity),
                Advance::End(ending) => {
                    if let Some(done) = activity.take() {
                        self.end(done, ending);
                    }
                }
                Advance::Shutdown => return,
            }
        }
    }

    fn step(&self) -> u64 {
        self.loaded
            .as_ref()
            .map_or(0, |l| l.emulator.current_step())
    }

    fn status(&self) -> Status {
        Status {
            state: self.loaded.as_ref().map_or(BoardState::Idle, |l| l.state),
            step: self.step(),
        }
    }

    fn set_state(&mut self, state: BoardState) {
        if let Some(loaded) = &mut self.loaded {
            loaded.state = state;
        }
    }

    /// Closes an activity: tells its host how it ended, and the board waits.
    fn end(&mut self, activity: Activity, ending: Ending) {
        let step = self.step();
        self.set_state(BoardState::Paused);
        match activity {
            Activity::Run { statuses, .. } => {
                let status = match ending {
                    Ending::Done | Ending::Abandoned => RunStatus::Done(step),
                    Ending::Paused => RunStatus::Paused(step),
                    Ending::Stopped => RunStatus::Stopped(step),
                    Ending::Failed(e) => RunStatus::Error(e.to_string()),
                };
                let _ = statuses.send(status);
            }
            Activity::Stream(stream) => {
                if let Ending::Failed(e) = ending {
                    tracing::warn!("spike stream ended at step {step}: {e}");
                    // Behind a full buffer, the error waits its turn
                    // without holding up the board.
                    if let Err(mpsc::error::TrySendError::Full(error)) =
                        stream.outputs.try_send(Err(e))
                    {
                        let outputs = stream.outputs.clone();
                        tokio::spawn(async move {
                            let _ = outputs.send(error).await;
                        });
                    }
                }
            }
        }
    }

    fn handle(&mut self, command: Command, activity: &mut Option<Activity>) {
        let running = activity.is_some();
        match command {
            Command::Info(reply) => {
                let _ = reply.send(Ok(self.info()));
            }
            Command::Load { reply, .. } if running => {
                let _ = reply.send(Err(BoardError::FailedPrecondition(RUNNING.to_string())));
            }
            Command::Load { program, id, reply } => {
                let _ = reply.send(self.load(*program, id));
            }
            Command::Run { reply, .. } if running => {
                let _ = reply.send(Err(BoardError::FailedPrecondition(
                    "the board is already running".to_string(),
                )));
            }
            Command::Run {
                length,
                progress_every,
                statuses,
                reply,
            } => {
                if self.loaded.is_none() {
                    let _ = reply.send(Err(no_program()));
                    return;
                }
                self.set_state(BoardState::Running);
                let _ = statuses.send(RunStatus::Started(self.step()));
                *activity = Some(Activity::Run {
                    remaining: match length {
                        RunLength::Steps(n) => Some(n),
                        RunLength::Continuous => None,
                    },
                    progress_every,
                    statuses,
                });
                let _ = reply.send(Ok(()));
            }
            Command::Pause(reply) => {
                if let Some(done) = activity.take() {
                    self.end(done, Ending::Paused);
                }
                let _ = reply.send(Ok(self.status()));
            }
            Command::Stop(reply) => {
                if let Some(done) = activity.take() {
                    self.end(done, Ending::Stopped);
                }
                // Stop ends the session's subscriptions too.
                self.probes.clear();
                let _ = reply.send(Ok(self.status()));
            }
            Command::Reset(reply) if running => {
                let _ = reply.send(Err(BoardError::FailedPrecondition(RUNNING.to_string())));
            }
            Command::Reset(reply) => {
                let _ = reply.send(self.reset());
            }
            Command::GetState(_, reply) if running => {
                let _ = reply.send(Err(BoardError::FailedPrecondition(RUNNING.to_string())));
            }
            Command::GetState(target, reply) => {
                let _ = reply.send(self.get_state(&target));
            }
            Command::Learned(_, reply) if running => {
                let _ = reply.send(Err(BoardError::FailedPrecondition(RUNNING.to_string())));
            }
            Command::Learned(projection, reply) => {
                let _ = reply.send(self.learned(&projection));
            }
            Command::SetState(_, _, reply) if running => {
                let _ = reply.send(Err(BoardError::FailedPrecondition(RUNNING.to_string())));
            }
            Command::SetState(target, values, reply) => {
                let _ = reply.send(self.write_state(&target, &values));
            }
            Command::SetLearned(_, reply) if running => {
                let _ = reply.send(Err(BoardError::FailedPrecondition(RUNNING.to_string())));
            }
            Command::SetLearned(write, reply) => {
                let _ = reply.send(self.write_learned(&write));
            }
            Command::Stream { reply, .. } if running => {
                let _ = reply.send(Err(BoardError::FailedPrecondition(
                    "the board is already running".to_string(),
                )));
            }
            Command::Stream {
                config,
                frames,
                shared,
                outputs,
                reply,
            } => match self.open_stream(config, frames, shared, outputs) {
                Ok(stream) => {
                    self.set_state(BoardState::Running);
                    *activity = Some(Activity::Stream(Box::new(stream)));
                    let _ = reply.send(Ok(()));
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            Command::Probes(specs, data, reply) => {
                let _ = reply.send(self.subscribe(specs, data));
            }
            Command::Energy(records, reply) => {
                let _ = reply.send(self.energy(records));
            }
        }
    }

    fn info(&self) -> BoardInfo {
        let status = self.status();
        BoardInfo {
            daemon_version: self.version.clone(),
            chip: self.chip.name.clone(),
            chip_profile_toml: self.chip.to_toml(),
            cores: self.chip.total_cores(),
            capabilities: crate::CAPABILITIES.iter().map(|c| c.to_string()).collect(),
            state: status.state,
            program_id: self
                .loaded
                .as_ref()
                .map(|l| l.id.clone())
                .unwrap_or_default(),
            step: status.step,
            lease_holder: String::new(),
            max_message_bytes: 0,
        }
    }

    fn load(&mut self, program: Program, id: String) -> Result<LoadedProgram, BoardError> {
        let mut emulator = Emulator::new(&program, &self.chip).map_err(|e| match e {
            EmulatorError::InvalidProgram(v) => refused_program(v),
            other => invalid(other),
        })?;
        self.enable_model(&mut emulator);
        self.loads += 1;
        let described = describe(&program, &id);
        // Subscriptions name populations of the Program they were made for.
        self.probes.clear();
        self.loaded = Some(Loaded {
            populations: program
                .populations
                .iter()
                .enumerate()
                .map(|(i, p)| (p.name.clone(), i))
                .collect(),
            ports: program
                .inputs
                .iter()
                .enumerate()
                .map(|(i, p)| (p.name.clone(), i))
                .collect(),
            program,
            id,
            emulator,
            state: BoardState::Loaded,
        });
        Ok(described)
    }

    fn enable_model(&self, emulator: &mut Emulator) {
        Self::model_on(emulator, &self.chip, self.step_records);
    }

    fn model_on(emulator: &mut Emulator, chip: &ChipProfile, step_records: Option<usize>) {
        emulator.enable_model(chip.costs.clone());
        if let Some(model) = emulator.model_mut() {
            model.keep_steps(step_records);
        }
    }

    fn reset(&mut self) -> Result<Status, BoardError> {
        let loaded = self.loaded.as_mut().ok_or_else(no_program)?;
        let mut emulator = Emulator::new(&loaded.program, &self.chip).map_err(invalid)?;
        Self::model_on(&mut emulator, &self.chip, self.step_records);
        loaded.emulator = emulator;
        loaded.state = BoardState::Loaded;
        Ok(self.status())
    }

    fn target(&self, target: &StateTarget) -> Result<(&Loaded, Target), BoardError> {
        let loaded = self.loaded.as_ref().ok_or_else(no_program)?;
        let resolved = match &target.of {
            TargetOf::Population(name) => Target::Population(loaded.population(name)?),
            TargetOf::Core(core) => Target::Core(*core as usize),
        };
        Ok((loaded, resolved))
    }

    fn get_state(&self, target: &StateTarget) -> Result<Vec<i32>, BoardError> {
        let (loaded, resolved) = self.target(target)?;
        let mut out = Vec::new();
        loaded
            .emulator
            .read_range(
                resolved,
                target.var,
                target.start as usize,
                target.count.map(|c| c as usize),
                &mut out,
            )
            .map_err(invalid)?;
        Ok(out)
    }

    fn learned(&self, projection: &str) -> Result<crate::LearnedState, BoardError> {
        let loaded = self.loaded.as_ref().ok_or_else(no_program)?;
        let emulator = &loaded.emulator;
        let learned = emulator.learned(projection).map_err(invalid)?;
        let trace = |t| emulator.trace(projection, t).map_err(invalid);
        use neurite_emulator::Trace;
        Ok(crate::LearnedState {
            n_pre: learned.n_pre,
            n_post: learned.n_post,
            synapses: learned.synapses,
            traces: [
                trace(Trace::X1)?,
                trace(Trace::X2)?,
                trace(Trace::Y1)?,
                trace(Trace::Y2)?,
                trace(Trace::Y3)?,
            ],
        })
    }

    fn write_state(&mut self, target: &StateTarget, values: &[i32]) -> Result<(), BoardError> {
        if let Some(count) = target.count
            && count as usize != values.len()
        {
            return Err(BoardError::InvalidArgument(format!(
                "{} values for a range of {count} neurons",
                values.len()
            )));
        }
        let (_, resolved) = self.target(target)?;
        let loaded = self.loaded.as_mut().ok_or_else(no_program)?;
        loaded
            .emulator
            .write_range(resolved, target.var, target.start as usize, values)
            .map_err(invalid)
    }

    fn write_learned(&mut self, write: &LearnedWrite) -> Result<(), BoardError> {
        let loaded = self.loaded.as_mut().ok_or_else(no_program)?;
        loaded
            .emulator
            .write_learned(
                &write.projection,
                write.var,
                write.start as usize,
                &write.values,
            )
            .map_err(invalid)
    }

    fn subscribe(
        &mut self,
        specs: Vec<ProbeSpec>,
        data: mpsc::Sender<ProbeData>,
    ) -> Result<(), BoardError> {
        let loaded = self.loaded.as_ref().ok_or_else(no_program)?;
        let mut probes = Vec::with_capacity(specs.len());
        for spec in specs {
            let population = match spec.probed {
                Probed::Neuron(_) => loaded.population(&spec.name)?,
                Probed::Spikes => loaded.reporting(&spec.name)?,
                Probed::Learning(_) => {
                    // Checks that the projection learns.
                    loaded.emulator.learned(&spec.name).map_err(invalid)?;
                    0
                }
            };
            probes.push(Probe {
                population,
                name: spec.name,
                probed: spec.probed,
                data: data.clone(),
            });
        }
        self.probes.extend(probes);
        Ok(())
    }

    fn energy(&self, records: StepRecords) -> Result<EnergyReport, BoardError> {
        let loaded = self.loaded.as_ref().ok_or_else(no_program)?;
        let model = loaded
            .emulator
            .model()
            .ok_or_else(|| BoardError::Internal("the energy model is off".to_string()))?;
        let mut report = EnergyReport::summary_of(&self.chip, model);
        if let StepRecords::From { first, max } = records {
            let steps = model.steps();
            let start = steps.partition_point(|s| s.step < first);
            let end = start.saturating_add(max).min(steps.len());
            report.steps = steps[start..end].to_vec();
        }
        Ok(report)
    }

    fn open_stream(
        &mut self,
        config: StreamConfig,
        frames: mpsc::Receiver<InputFrame>,
        shared: Arc<StreamShared>,
        outputs: mpsc::Sender<Result<OutputFrame, BoardError>>,
    ) -> Result<Stream, BoardError> {
        let loaded = self.loaded.as_ref().ok_or_else(no_program)?;
        let selected = if config.outputs.is_empty() {
            loaded
                .program
                .populations
                .iter()
                .enumerate()
                .filter(|(_, p)| p.report_spikes)
                .map(|(i, p)| (p.name.clone(), i))
                .collect()
        } else {
            let mut selected = Vec::with_capacity(config.outputs.len());
            for name in &config.outputs {
                selected.push((name.clone(), loaded.reporting(name)?));
            }
            selected
        };
        if !(config.steps_per_second.is_finite() && config.steps_per_second >= 0.0) {
            return Err(BoardError::InvalidArgument(format!(
                "steps per second must be a finite number ≥ 0, got {}",
                config.steps_per_second
            )));
        }
        Ok(Stream {
            config,
            frames,
            shared,
            outputs,
            selected,
            pending: None,
            inputs_closed: false,
            last_sequence: None,
            late_dropped: 0,
            steps_run: 0,
            next_deadline: None,
        })
    }

    /// Runs one step of the emulator and feeds the probe subscribers.
    async fn advance_emulator(&mut self) {
        let Some(loaded) = self.loaded.as_mut() else {
            return;
        };
        loaded.emulator.step();
        if self.probes.is_empty() {
            return;
        }
        let step = loaded.emulator.current_step();
        let mut values = Vec::new();
        let mut closed = Vec::new();
        for (k, probe) in self.probes.iter().enumerate() {
            let emulator = &loaded.emulator;
            let data = match probe.probed {
                Probed::Neuron(var) => {
                    if emulator.read(probe.population, var, &mut values).is_err() {
                        continue;
                    }
                    values.clone()
                }
                Probed::Spikes => match emulator.spiked(probe.population) {
                    Ok(spiked) => spiked.map(|i| i as i32).collect(),
                    Err(_) => continue,
                },
                Probed::Learning(LearningVar::Trace(trace)) => {
                    match emulator.trace(&probe.name, trace) {
                        Ok(values) => values,
                        Err(_) => continue,
                    }
                }
                Probed::Learning(LearningVar::Synapse(var)) => {
                    match emulator.learned(&probe.name) {
                        Ok(learned) => learned
                            .synapses
                            .iter()
                            .map(|s| i32::from(synapse_value(s, var)))
                            .collect(),
                        Err(_) => continue,
                    }
                }
            };
            let record = ProbeData {
                step,
                name: probe.name.clone(),
                probed: probe.probed,
                values: data,
            };
            // Probe data is never dropped: a slow reader slows the board.
            if probe.data.send(record).await.is_err() {
                closed.push(k);
            }
        }
        for k in closed.into_iter().rev() {
            self.probes.remove(k);
        }
    }

    async fn run_step(&mut self, activity: &mut Activity) -> Advance {
        let Activity::Run {
            remaining,
            progress_every,
            statuses,
        } = activity
        else {
            return Advance::Continue;
        };
        if *remaining == Some(0) {
            return Advance::End(Ending::Done);
        }
        self.advance_emulator().await;
        if let Some(left) = remaining {
            *left -= 1;
        }
        // The run ends with its last step, so that a host acting on the
        // last status finds the board paused.
        if *remaining == Some(0) {
            return Advance::End(Ending::Done);
        }
        let step = self.step();
        if *progress_every > 0 && step.is_multiple_of(*progress_every) {
            let _ = statuses.send(RunStatus::Progress(step));
        }
        Advance::Continue
    }

    fn check_sequence(stream: &mut Stream, frame: &InputFrame) -> Result<(), BoardError> {
        if let Some(last) = stream.last_sequence
            && frame.sequence <= last
        {
            return Err(BoardError::InvalidArgument(format!(
                "frame sequence {} after {last}: sequence numbers must increase",
                frame.sequence
            )));
        }
        stream.last_sequence = Some(frame.sequence);
        Ok(())
    }

    fn apply(&mut self, frame: &InputFrame) -> Result<(), BoardError> {
        let loaded = self.loaded.as_mut().ok_or_else(no_program)?;
        for (port, channels) in &frame.inputs {
            let index = *loaded.ports.get(port).ok_or_else(|| {
                BoardError::InvalidArgument(format!(
                    "frame {} (step {}): no input port '{port}'",
                    frame.sequence, frame.step
                ))
            })?;
            loaded.emulator.inject(index, channels).map_err(|e| {
                BoardError::InvalidArgument(format!(
                    "frame {} (step {}): {e}",
                    frame.sequence, frame.step
                ))
            })?;
        }
        for (name, value) in &frame.neuromodulators {
            let index = loaded.emulator.neuromodulator(name).ok_or_else(|| {
                BoardError::InvalidArgument(format!(
                    "frame {} (step {}): no neuromodulator '{name}'",
                    frame.sequence, frame.step
                ))
            })?;
            loaded
                .emulator
                .set_neuromodulator(index, *value)
                .map_err(invalid)?;
        }
        Ok(())
    }

    /// The host closed its input side: the stream is done, or fails with the
    /// error its sender ended with.
    fn inputs_ended(stream: &Stream) -> Advance {
        match stream.shared.failure() {
            Some(failure) => Advance::End(Ending::Failed(failure)),
            None => Advance::End(Ending::Done),
        }
    }

    /// Takes the host's input for the next step. `Err` ends the stream.
    async fn gather(&mut self, stream: &mut Stream) -> Result<Option<Advance>, BoardError> {
        let next = self.step() + 1;
        match stream.config.mode {
            StreamMode::StepLocked => {
                let frame = match stream.pending.take() {
                    Some(frame) => frame,
                    None => {
                        if stream.inputs_closed {
                            return Ok(Some(Self::inputs_ended(stream)));
                        }
                        match self.spin_for_frame(stream) {
                            Spun::Frame(frame) => frame,
                            Spun::Command(command) => return Ok(Some(Advance::Command(command))),
                            Spun::Closed => {
                                stream.inputs_closed = true;
                                return Ok(Some(Self::inputs_ended(stream)));
                            }
                            Spun::Nothing => tokio::select! {
                            biased;
                            command = self.commands.recv() => {
                                return Ok(Some(command.map_or(Advance::Shutdown, Advance::Command)));
                            }
                            frame = stream.frames.recv() => match frame {
                                Some(frame) => frame,
                                None => {
                                    stream.inputs_closed = true;
                                    return Ok(Some(Self::inputs_ended(stream)));
                                }
                            },
                            },
                        }
                    }
                };
                Self::check_sequence(stream, &frame)?;
                if frame.step != next {
                    return Err(BoardError::InvalidArgument(format!(
                        "step-locked stream: frame {} names step {}, the board's next step is {next}",
                        frame.sequence, frame.step
                    )));
                }
                self.apply(&frame)?;
            }
            StreamMode::FreeRunning => {
                if stream.shared.overflowed.load(Ordering::Relaxed) {
                    return Err(BoardError::Aborted(format!(
                        "the input buffer of {} frames was full",
                        stream.config.buffer_frames
                    )));
                }
                loop {
                    let frame = match stream.pending.take() {
                        Some(frame) => frame,
                        None => match stream.frames.try_recv() {
                            Ok(frame) => {
                                Self::check_sequence(stream, &frame)?;
                                frame
                            }
                            Err(mpsc::error::TryRecvError::Empty) => break,
                            Err(mpsc::error::TryRecvError::Disconnected) => {
                                stream.inputs_closed = true;
                                break;
                            }
                        },
                    };
                    if frame.step > next {
                        stream.pending = Some(frame);
                        break;
                    }
                    if frame.step < next {
                        match stream.config.late {
                            LatePolicy::NextStep => {}
                            LatePolicy::Drop => {
                                stream.late_dropped += 1;
                                continue;
                            }
                            LatePolicy::Error => {
                                return Err(BoardError::Aborted(format!(
                                    "frame {} for step {} arrived after the step ran (board at step {})",
                                    frame.sequence,
                                    frame.step,
                                    next - 1
                                )));
                            }
                        }
                    }
                    self.apply(&frame)?;
                }
                if stream.inputs_closed
                    && let Some(failure) = stream.shared.failure()
                {
                    return Err(failure);
                }
                if stream.inputs_closed && stream.pending.is_none() && stream.config.steps == 0 {
                    return Ok(Some(Advance::End(Ending::Done)));
                }
            }
        }
        Ok(None)
    }

    /// Polls for the host's next frame for up to [`SPIN`] before the
    /// engine goes to sleep: a closed loop answers quickly, and waking a
    /// parked thread costs more than the wait.
    fn spin_for_frame(&mut self, stream: &mut Stream) -> Spun {
        let until = std::time::Instant::now() + SPIN;
        loop {
            match stream.frames.try_recv() {
                Ok(frame) => return Spun::Frame(frame),
                Err(mpsc::error::TryRecvError::Disconnected) => return Spun::Closed,
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            if let Ok(command) = self.commands.try_recv() {
                return Spun::Command(command);
            }
            if std::time::Instant::now() >= until {
                return Spun::Nothing;
            }
            std::hint::spin_loop();
        }
    }

    async fn stream_step(&mut self, stream: &mut Stream) -> Advance {
        if stream.config.steps > 0 && stream.steps_run >= stream.config.steps {
            return Advance::End(Ending::Done);
        }
        match self.gather(stream).await {
            Ok(None) => {}
            Ok(Some(advance)) => return advance,
            Err(e) => return Advance::End(Ending::Failed(e)),
        }
        if stream.config.steps_per_second > 0.0 {
            let period = Duration::from_secs_f64(1.0 / stream.config.steps_per_second);
            let deadline = stream.next_deadline.unwrap_or_else(Instant::now);
            tokio::time::sleep_until(deadline).await;
            stream.next_deadline = Some(deadline.max(Instant::now() - period) + period);
        }
        self.advance_emulator().await;
        stream.steps_run += 1;
        let Some(loaded) = self.loaded.as_ref() else {
            return Advance::End(Ending::Failed(no_program()));
        };
        let emulator = &loaded.emulator;
        let frame = OutputFrame {
            step: emulator.current_step(),
            populations: stream
                .selected
                .iter()
                .map(|(name, index)| {
                    let spiked = emulator
                        .spiked(*index)
                        .map(|s| s.collect())
                        .unwrap_or_default();
                    (name.clone(), spiked)
                })
                .collect(),
            late_dropped: stream.late_dropped,
            full_dropped: stream.shared.full_dropped.load(Ordering::Relaxed),
            last_sequence: stream.last_sequence.unwrap_or(0),
        };
        if stream.outputs.send(Ok(frame)).await.is_err() {
            tracing::info!(
                "the host left its spike stream at step {}; the board pauses",
                self.step()
            );
            return Advance::End(Ending::Abandoned);
        }
        // The stream ends with its last step, so that a host acting on the
        // last frame finds the board paused.
        if stream.config.steps > 0 && stream.steps_run >= stream.config.steps {
            return Advance::End(Ending::Done);
        }
        Advance::Continue
    }
}

/// A synapse's variable out of (pre, post, weight, tag, delay variable).
fn synapse_value(synapse: &(u32, u32, i16, i16, i16), var: SynapseVar) -> i16 {
    match var {
        SynapseVar::Weight => synapse.2,
        SynapseVar::Tag => synapse.3,
        SynapseVar::Delay => synapse.4,
    }
}

/// What a board says about a Program it loaded.
pub(crate) fn describe(program: &Program, id: &str) -> LoadedProgram {
    LoadedProgram {
        program_id: id.to_string(),
        cores: program.cores.len() as u32,
        neurons: program.neuron_count() as u64,
        synapses: program.synapse_count() as u64,
        inputs: program
            .inputs
            .iter()
            .map(|p| (p.name.clone(), p.channels.len() as u32))
            .collect(),
        populations: program
            .populations
            .iter()
            .map(|p| (p.name.clone(), p.neurons.len() as u32, p.report_spikes))
            .collect(),
    }
}
