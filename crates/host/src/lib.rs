//! The [`Board`] trait hosts program against, whatever the board is:
//! [`LocalBoard`], the emulator in this process, or [`RemoteBoard`], a board
//! daemon over gRPC (`neurite-board`, or real hardware speaking Neurite's
//! protocol). Code written against `Board` runs unchanged on either.
//!
//! A board holds at most one Program and is [`BoardState::Idle`] (none),
//! `Loaded` (at step 0), `Running` or `Paused`. State can be read and written
//! only while it is not running; spikes stream in and out while it runs.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use neurite_chip::ChipProfile;
//! use neurite_host::{Board, LocalBoard, RunLength, StateTarget};
//! use neurite_emulator::Var;
//!
//! let board = LocalBoard::new(ChipProfile::loihi2());
//! let info = board.info().await.unwrap();
//! assert_eq!(info.chip, "loihi2");
//! # let mut program = neurite_program::Program::empty("loihi2");
//! board.load(&program).await.unwrap();
//! board.run(RunLength::Steps(10), 0).await.unwrap().finish().await.unwrap();
//! assert_eq!(board.info().await.unwrap().step, 10);
//! # });
//! ```

pub mod convert;
pub mod energy;
mod engine;
mod local;
mod remote;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub use energy::EnergyReport;
pub use local::{DEFAULT_STEP_RECORDS, LocalBoard, MAX_BUFFER_FRAMES, program_id};
pub use neurite_emulator::{SynapseVar, Trace, Var};
pub use neurite_proto as proto;
pub use remote::RemoteBoard;
use tokio::sync::mpsc;
use tokio_stream::Stream as _;

use crate::engine::StreamShared;

/// What a board built on the emulator offers, as [`BoardInfo::capabilities`].
pub const CAPABILITIES: [&str; 6] = [
    "step-locked",
    "free-running",
    "probes",
    "energy",
    "state",
    "learning",
];

/// Why a board refused or failed a request. The variants follow the
/// protocol's status codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoardError {
    /// The request is malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The request does not fit the board's state, or another client holds
    /// the control lease.
    #[error("failed precondition: {0}")]
    FailedPrecondition(String),
    /// A message or Program over the board's limits.
    #[error("resource exhausted: {0}")]
    ResourceExhausted(String),
    /// Missing or wrong credentials.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The board ended a stream (its error policy).
    #[error("aborted: {0}")]
    Aborted(String),
    /// The board cannot be reached.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The board failed.
    #[error("internal: {0}")]
    Internal(String),
}

/// A board's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardState {
    /// No Program.
    Idle,
    /// A Program at step 0.
    Loaded,
    /// Running steps.
    Running,
    /// A Program after some steps, not running.
    Paused,
}

impl fmt::Display for BoardState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BoardState::Idle => "idle",
            BoardState::Loaded => "loaded",
            BoardState::Running => "running",
            BoardState::Paused => "paused",
        })
    }
}

/// What a board is and what it is doing.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardInfo {
    /// Version of the software serving the board.
    pub daemon_version: String,
    /// Chip profile name.
    pub chip: String,
    /// The chip profile as TOML.
    pub chip_profile_toml: String,
    /// Cores in the system.
    pub cores: u64,
    /// Features the board offers.
    pub capabilities: Vec<String>,
    /// State.
    pub state: BoardState,
    /// Identifier of the loaded Program (empty when idle).
    pub program_id: String,
    /// Last step run.
    pub step: u64,
    /// Client holding the control lease (empty when free or local).
    pub lease_holder: String,
    /// Largest message the board accepts, in bytes (0: no limit).
    pub max_message_bytes: u64,
}

/// What a board says about a Program it loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedProgram {
    /// Identifier of the Program.
    pub program_id: String,
    /// Cores used.
    pub cores: u32,
    /// Neurons.
    pub neurons: u64,
    /// Synapses.
    pub synapses: u64,
    /// Input ports: name and channels.
    pub inputs: Vec<(String, u32)>,
    /// Populations: name, neurons, whether it reports spikes.
    pub populations: Vec<(String, u32, bool)>,
}

/// How long to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunLength {
    /// This many steps, then pause.
    Steps(u64),
    /// Until paused or stopped.
    Continuous,
}

/// A status of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    /// The run began after this step.
    Started(u64),
    /// This step is done.
    Progress(u64),
    /// Paused after this step.
    Paused(u64),
    /// The requested steps are done.
    Done(u64),
    /// Stopped after this step.
    Stopped(u64),
    /// The run failed.
    Error(String),
}

/// The status of a run as it goes.
#[derive(Debug)]
pub struct RunHandle {
    statuses: mpsc::UnboundedReceiver<RunStatus>,
}

impl RunHandle {
    /// The next status, `None` once the run ended.
    pub async fn next(&mut self) -> Option<RunStatus> {
        self.statuses.recv().await
    }

    /// Waits for the run to end; returns its last status (`Done`, `Paused`
    /// or `Stopped`), or the error it ended with.
    pub async fn finish(mut self) -> Result<RunStatus, BoardError> {
        let mut last = None;
        while let Some(status) = self.statuses.recv().await {
            if let RunStatus::Error(cause) = &status {
                return Err(BoardError::Aborted(cause.clone()));
            }
            last = Some(status);
        }
        last.ok_or_else(|| BoardError::Internal("the run ended without a status".to_string()))
    }
}

/// A board's state and the step it is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// State.
    pub state: BoardState,
    /// Last step run.
    pub step: u64,
}

/// Which neurons a state access addresses: `start .. start + count` of a
/// population (population order) or of a core (core order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateTarget {
    /// The population or core.
    pub of: TargetOf,
    /// The variable.
    pub var: Var,
    /// First neuron.
    pub start: u32,
    /// Neurons (`None`: to the end; for writes, the number of values).
    pub count: Option<u32>,
}

/// A population by name, or a core by index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetOf {
    /// A population.
    Population(String),
    /// A core.
    Core(u32),
}

impl StateTarget {
    /// All neurons of a population.
    pub fn population(name: &str, var: Var) -> Self {
        Self {
            of: TargetOf::Population(name.to_string()),
            var,
            start: 0,
            count: None,
        }
    }
}

/// How a spike stream runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamMode {
    /// Step t runs once the host's frame for step t arrived.
    StepLocked,
    /// The board runs freely; frames apply at the step they name.
    FreeRunning,
}

/// What a free-running board does with a frame for a step already run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatePolicy {
    /// Apply it at the next step.
    NextStep,
    /// Drop it and count it.
    Drop,
    /// End the stream.
    Error,
}

/// What a free-running board does when its frame buffer is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullPolicy {
    /// Wait for room (the host's sends wait).
    Block,
    /// Drop the frame and count it.
    Drop,
    /// End the stream.
    Error,
}

/// Settings of a spike stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamConfig {
    /// Step-locked or free-running.
    pub mode: StreamMode,
    /// Late frames (free-running).
    pub late: LatePolicy,
    /// Full buffer (free-running).
    pub full: FullPolicy,
    /// Frames buffered (free-running).
    pub buffer_frames: u32,
    /// Steps to run (0: until the host ends its stream).
    pub steps: u64,
    /// Populations whose spikes to send (empty: all that report them).
    pub outputs: Vec<String>,
    /// Free-running pace, steps per second (0: as fast as it can).
    pub steps_per_second: f64,
}

impl StreamConfig {
    /// Frames a stream buffers unless told otherwise.
    pub const DEFAULT_BUFFER_FRAMES: u32 = 64;

    /// A step-locked stream of `steps` steps sending every reported population.
    pub fn step_locked(steps: u64) -> Self {
        Self {
            mode: StreamMode::StepLocked,
            late: LatePolicy::NextStep,
            full: FullPolicy::Block,
            buffer_frames: Self::DEFAULT_BUFFER_FRAMES,
            steps,
            outputs: Vec::new(),
            steps_per_second: 0.0,
        }
    }

    /// A free-running stream with the given policies.
    pub fn free_running(steps: u64, late: LatePolicy, full: FullPolicy) -> Self {
        Self {
            mode: StreamMode::FreeRunning,
            late,
            full,
            ..Self::step_locked(steps)
        }
    }
}

/// Input spikes for one step.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InputFrame {
    /// Step the spikes apply at (from 1).
    pub step: u64,
    /// Increases with every frame (the board refuses one that does not).
    pub sequence: u64,
    /// Per input port, the channels that spike.
    pub inputs: Vec<(String, Vec<u32>)>,
    /// Values the host adds to neuromodulators at this step, by name.
    pub neuromodulators: Vec<(String, i32)>,
}

/// A learning projection's synapses and traces, gathered from every core.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LearnedState {
    /// Pre neurons of the projection.
    pub n_pre: u32,
    /// Post neurons of the projection.
    pub n_post: u32,
    /// Every synapse as (pre, post, weight, tag, delay variable), sorted by
    /// (pre, post); weights on the 8-bit scale.
    pub synapses: Vec<(u32, u32, i16, i16, i16)>,
    /// x1, x2 (per pre neuron), y1, y2, y3 (per post neuron), as stored at
    /// the start of the current epoch.
    pub traces: [Vec<i32>; 5],
}

impl LearnedState {
    /// The values of a learning variable: one per synapse (in `synapses`'
    /// order), pre neuron (x1, x2) or post neuron (y1, y2, y3).
    pub fn values(&self, var: LearningVar) -> Vec<i32> {
        let column = |pick: fn(&(u32, u32, i16, i16, i16)) -> i16| {
            self.synapses.iter().map(|s| i32::from(pick(s))).collect()
        };
        match var {
            LearningVar::Synapse(SynapseVar::Weight) => column(|s| s.2),
            LearningVar::Synapse(SynapseVar::Tag) => column(|s| s.3),
            LearningVar::Synapse(SynapseVar::Delay) => column(|s| s.4),
            LearningVar::Trace(trace) => Trace::ALL
                .iter()
                .position(|&t| t == trace)
                .map_or_else(Vec::new, |k| self.traces[k].clone()),
        }
    }
}

/// A variable of a learning projection: of every synapse (in the order of
/// [`LearnedState::synapses`]: by pre, then post neuron), or a trace (x1,
/// x2 per pre neuron; y1, y2, y3 per post neuron, as stored at the start of
/// the current epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LearningVar {
    /// Weight, tag or delay variable.
    Synapse(SynapseVar),
    /// A trace.
    Trace(Trace),
}

impl fmt::Display for LearningVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LearningVar::Synapse(var) => var.fmt(f),
            LearningVar::Trace(trace) => write!(f, "trace {}", trace_name(*trace)),
        }
    }
}

/// The name of a trace as rules write it.
pub fn trace_name(trace: Trace) -> &'static str {
    match trace {
        Trace::X1 => "x1",
        Trace::X2 => "x2",
        Trace::Y1 => "y1",
        Trace::Y2 => "y2",
        Trace::Y3 => "y3",
    }
}

/// Output spikes of one step.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutputFrame {
    /// The step.
    pub step: u64,
    /// Per population, the neurons that spiked.
    pub populations: Vec<(String, Vec<u32>)>,
    /// Frames dropped so far for coming late.
    pub late_dropped: u64,
    /// Frames dropped so far for a full buffer.
    pub full_dropped: u64,
    /// Sequence number of the last input frame applied.
    pub last_sequence: u64,
}

/// A live spike stream: send input frames, receive output frames. Split it
/// to send from one task and receive in another.
#[derive(Debug)]
pub struct SpikeStream {
    sender: SpikeSender,
    receiver: SpikeReceiver,
}

/// The sending half of a [`SpikeStream`].
#[derive(Debug)]
pub struct SpikeSender {
    inputs: Option<mpsc::Sender<InputFrame>>,
    full: FullPolicy,
    shared: Arc<StreamShared>,
}

/// The receiving half of a [`SpikeStream`].
#[derive(Debug)]
pub struct SpikeReceiver {
    outputs: Outputs,
}

/// Where output frames come from.
#[derive(Debug)]
enum Outputs {
    /// The engine of a [`LocalBoard`].
    Local(mpsc::Receiver<Result<OutputFrame, BoardError>>),
    /// A daemon's reply stream, read directly (no task in between).
    Remote {
        frames: Box<tonic::Streaming<neurite_proto::v1::OutputFrame>>,
        ended: bool,
    },
}

impl SpikeStream {
    pub(crate) fn new(
        inputs: mpsc::Sender<InputFrame>,
        outputs: mpsc::Receiver<Result<OutputFrame, BoardError>>,
        full: FullPolicy,
        shared: Arc<StreamShared>,
    ) -> Self {
        Self {
            sender: SpikeSender {
                inputs: Some(inputs),
                full,
                shared,
            },
            receiver: SpikeReceiver {
                outputs: Outputs::Local(outputs),
            },
        }
    }

    pub(crate) fn remote(
        inputs: mpsc::Sender<InputFrame>,
        frames: tonic::Streaming<neurite_proto::v1::OutputFrame>,
    ) -> Self {
        Self {
            sender: SpikeSender {
                inputs: Some(inputs),
                full: FullPolicy::Block,
                shared: Arc::new(StreamShared::default()),
            },
            receiver: SpikeReceiver {
                outputs: Outputs::Remote {
                    frames: Box::new(frames),
                    ended: false,
                },
            },
        }
    }

    /// See [`SpikeSender::send`].
    pub async fn send(&mut self, frame: InputFrame) -> Result<(), BoardError> {
        self.sender.send(frame).await
    }

    /// See [`SpikeSender::close`].
    pub fn close_inputs(&mut self) {
        self.sender.close();
    }

    /// See [`SpikeReceiver::recv`].
    pub async fn recv(&mut self) -> Option<Result<OutputFrame, BoardError>> {
        self.receiver.recv().await
    }

    /// The two halves.
    pub fn split(self) -> (SpikeSender, SpikeReceiver) {
        (self.sender, self.receiver)
    }
}

impl SpikeSender {
    /// Sends a frame. With a full buffer it waits (block policy), drops the
    /// frame and counts it (drop policy), or fails and ends the stream
    /// (error policy).
    pub async fn send(&mut self, frame: InputFrame) -> Result<(), BoardError> {
        let ended = || BoardError::Aborted("the board ended the stream".to_string());
        let Some(inputs) = &self.inputs else {
            return Err(BoardError::InvalidArgument(
                "the input side of the stream is closed".to_string(),
            ));
        };
        match self.full {
            FullPolicy::Block => inputs.send(frame).await.map_err(|_| ended()),
            FullPolicy::Drop | FullPolicy::Error => match inputs.try_send(frame) {
                Ok(()) => Ok(()),
                Err(mpsc::error::TrySendError::Closed(_)) => Err(ended()),
                Err(mpsc::error::TrySendError::Full(_)) if self.full == FullPolicy::Drop => {
                    self.shared.dropped();
                    Ok(())
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.shared.overflowed.store(true, Ordering::Relaxed);
                    self.inputs = None;
                    Err(BoardError::Aborted(
                        "the board's input buffer is full".to_string(),
                    ))
                }
            },
        }
    }

    /// Ends the input side: no more frames. A stream without a step count
    /// ends once the board has applied the frames it holds.
    pub fn close(&mut self) {
        self.inputs = None;
    }

    /// Ends the input side with an error (a frame that could not be read):
    /// the board applies the frames sent before, then ends the stream with
    /// this error.
    pub fn fail(&mut self, error: BoardError) {
        *self
            .shared
            .failure
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(error);
        self.inputs = None;
    }
}

impl SpikeReceiver {
    /// The next output frame, `None` once the stream ended (after an error,
    /// which comes once).
    pub async fn recv(&mut self) -> Option<Result<OutputFrame, BoardError>> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next output frame (for hand-written streams).
    pub fn poll_recv(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<OutputFrame, BoardError>>> {
        use std::task::Poll;
        match &mut self.outputs {
            Outputs::Local(outputs) => outputs.poll_recv(cx),
            Outputs::Remote { frames, ended } => {
                if *ended {
                    return Poll::Ready(None);
                }
                let polled = match std::pin::Pin::new(frames.as_mut()).poll_next(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(polled) => polled,
                };
                let frame = match polled {
                    None => None,
                    Some(Ok(frame)) => Some(convert::output_from_proto(frame)),
                    Some(Err(status)) => Some(Err(BoardError::from(status))),
                };
                if !matches!(frame, Some(Ok(_))) {
                    *ended = true;
                }
                Poll::Ready(frame)
            }
        }
    }
}

/// What a probe streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probed {
    /// The spikes of a population (which must report them).
    Spikes,
    /// A variable of every neuron of a population.
    Neuron(Var),
    /// A variable of a learning projection.
    Learning(LearningVar),
}

/// A variable to stream while the board runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSpec {
    /// Population name, or learning projection name for
    /// [`Probed::Learning`].
    pub name: String,
    /// What to stream.
    pub probed: Probed,
}

impl ProbeSpec {
    /// The spikes of a population.
    pub fn spikes(population: &str) -> Self {
        Self {
            name: population.to_string(),
            probed: Probed::Spikes,
        }
    }

    /// A variable of every neuron of a population.
    pub fn neuron(population: &str, var: Var) -> Self {
        Self {
            name: population.to_string(),
            probed: Probed::Neuron(var),
        }
    }

    /// A variable of a learning projection.
    pub fn learning(projection: &str, var: LearningVar) -> Self {
        Self {
            name: projection.to_string(),
            probed: Probed::Learning(var),
        }
    }
}

/// One step of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeData {
    /// The step.
    pub step: u64,
    /// Population or learning projection name.
    pub name: String,
    /// What was probed.
    pub probed: Probed,
    /// Values of every neuron, synapse or trace, or the indices that
    /// spiked.
    pub values: Vec<i32>,
}

/// Probe data as the board runs.
#[derive(Debug)]
pub struct ProbeStream {
    data: mpsc::Receiver<ProbeData>,
}

impl ProbeStream {
    pub(crate) fn new(data: mpsc::Receiver<ProbeData>) -> Self {
        Self { data }
    }

    /// The next record, `None` once the subscription ended.
    pub async fn recv(&mut self) -> Option<ProbeData> {
        self.data.recv().await
    }

    /// Whatever has arrived, without waiting.
    pub fn try_recv(&mut self) -> Option<ProbeData> {
        self.data.try_recv().ok()
    }
}

/// A neuromorphic board: the emulator here, a daemon over gRPC, or hardware.
#[allow(async_fn_in_trait)]
pub trait Board {
    /// What the board is and what it is doing.
    async fn info(&self) -> Result<BoardInfo, BoardError>;
    /// Loads a Program, replacing any other; the board is then `Loaded`.
    async fn load(&self, program: &neurite_program::Program) -> Result<LoadedProgram, BoardError>;
    /// Starts a run; its statuses come through the handle.
    async fn run(&self, length: RunLength, progress_every: u64) -> Result<RunHandle, BoardError>;
    /// Pauses a run after the current step.
    async fn pause(&self) -> Result<Status, BoardError>;
    /// Stops a run after the current step.
    async fn stop(&self) -> Result<Status, BoardError>;
    /// Restores the Program's initial state at step 0.
    async fn reset(&self) -> Result<Status, BoardError>;
    /// Reads a variable (not while running).
    async fn get_state(&self, target: &StateTarget) -> Result<Vec<i32>, BoardError>;
    /// The synapses and traces of a learning projection (refused while
    /// running, like state access).
    async fn learned(&self, projection: &str) -> Result<LearnedState, BoardError>;
    /// Writes a variable (not while running).
    async fn set_state(&self, target: &StateTarget, values: &[i32]) -> Result<(), BoardError>;
    /// Writes weights, tags or delay variables of a learning projection's
    /// synapses `start .. start + values.len()` (numbered as
    /// [`LearnedState::synapses`] lists them), all or none (not while
    /// running). The spikes of the last step run still meet the old weights.
    async fn set_learned(
        &self,
        projection: &str,
        var: SynapseVar,
        start: u32,
        values: &[i32],
    ) -> Result<(), BoardError>;
    /// Runs with live spikes.
    async fn stream(&self, config: StreamConfig) -> Result<SpikeStream, BoardError>;
    /// Streams probed variables for every step run from now on.
    async fn probes(&self, specs: &[ProbeSpec]) -> Result<ProbeStream, BoardError>;
    /// The time and energy report since the last load or reset.
    async fn energy(&self, include_steps: bool) -> Result<EnergyReport, BoardError>;
    /// Gives up the control lease (a no-op where there is none).
    async fn release(&self) -> Result<Status, BoardError>;
}
