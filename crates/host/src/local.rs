//! [`LocalBoard`]: the emulator in this process, behind the [`Board`] trait.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use neurite_chip::ChipProfile;
use neurite_program::Program;
use tokio::sync::{mpsc, oneshot};

use crate::engine::{self, Command, Reply, StepRecords, StreamShared};
use crate::{
    Board, BoardError, BoardInfo, EnergyReport, FullPolicy, LoadedProgram, ProbeSpec, ProbeStream,
    RunHandle, RunLength, SpikeStream, StateTarget, Status, StreamConfig, StreamMode,
};

/// Output frames a stream buffers towards a slow host before the board waits.
const OUTPUT_BUFFER: usize = 256;
/// Probe records buffered towards a slow reader before the board waits.
const PROBE_BUFFER: usize = 1024;
/// Largest input buffer a stream may ask for.
pub const MAX_BUFFER_FRAMES: u32 = 1 << 16;

/// The emulator in this process, as a board. Clones share the same board.
///
/// The emulator runs on a thread of its own, so a host's async tasks are
/// never blocked by a step, and the board answers info, energy, pause and
/// stop between steps while it runs.
#[derive(Debug, Clone)]
pub struct LocalBoard {
    commands: mpsc::UnboundedSender<Command>,
}

impl LocalBoard {
    /// A board emulating `chip`, with no Program, keeping the energy
    /// model's records of the most recent [`DEFAULT_STEP_RECORDS`] steps.
    pub fn new(chip: ChipProfile) -> Self {
        Self::with_step_records(chip, Some(DEFAULT_STEP_RECORDS))
    }

    /// A board keeping at least `limit` of the most recent step records of
    /// the energy model (at most twice as many; `None`: every step). The
    /// report's totals cover every step either way; only per-step records
    /// and windows reach no further back than the records kept.
    pub fn with_step_records(chip: ChipProfile, limit: Option<usize>) -> Self {
        Self {
            commands: engine::spawn(chip, env!("CARGO_PKG_VERSION").to_string(), limit),
        }
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, BoardError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(make(reply))
            .map_err(|_| BoardError::Unavailable("the board engine has stopped".to_string()))?;
        answer
            .await
            .map_err(|_| BoardError::Internal("the board engine dropped a request".to_string()))?
    }

    /// Loads a Program under a given identifier (a board daemon names
    /// Programs by the checksum of the bytes it received).
    pub async fn load_as(&self, program: Program, id: String) -> Result<LoadedProgram, BoardError> {
        self.call(|reply| Command::Load {
            program: Box::new(program),
            id,
            reply,
        })
        .await
    }

    /// The energy report with the step records from `first` on, at most
    /// `max` of them (for reports sent in pages).
    pub async fn energy_page(&self, first: u64, max: usize) -> Result<EnergyReport, BoardError> {
        self.call(|reply| Command::Energy(StepRecords::From { first, max }, reply))
            .await
    }
}

/// Step records a board keeps by default: about 16 MB, the last 100 s of a
/// board stepping at 1 kHz.
pub const DEFAULT_STEP_RECORDS: usize = 100_000;

/// A Program's identifier: the CRC-32 of its encoding.
pub fn program_id(bytes: &[u8]) -> String {
    format!("{:08x}", neurite_program::crc32(bytes))
}

impl Board for LocalBoard {
    async fn info(&self) -> Result<BoardInfo, BoardError> {
        self.call(Command::Info).await
    }

    async fn load(&self, program: &Program) -> Result<LoadedProgram, BoardError> {
        let id = program_id(&program.encode());
        self.load_as(program.clone(), id).await
    }

    async fn run(&self, length: RunLength, progress_every: u64) -> Result<RunHandle, BoardError> {
        let (statuses, receiver) = mpsc::unbounded_channel();
        self.call(|reply| Command::Run {
            length,
            progress_every,
            statuses,
            reply,
        })
        .await?;
        Ok(RunHandle { statuses: receiver })
    }

    async fn pause(&self) -> Result<Status, BoardError> {
        self.call(Command::Pause).await
    }

    async fn stop(&self) -> Result<Status, BoardError> {
        self.call(Command::Stop).await
    }

    async fn reset(&self) -> Result<Status, BoardError> {
        self.call(Command::Reset).await
    }

    async fn get_state(&self, target: &StateTarget) -> Result<Vec<i32>, BoardError> {
        let target = target.clone();
        self.call(|reply| Command::GetState(target, reply)).await
    }

    async fn learned(&self, projection: &str) -> Result<crate::LearnedState, BoardError> {
        let projection = projection.to_string();
        self.call(|reply| Command::Learned(projection, reply)).await
    }

    async fn set_state(&self, target: &StateTarget, values: &[i32]) -> Result<(), BoardError> {
        let target = target.clone();
        let values = values.to_vec();
        self.call(|reply| Command::SetState(target, values, reply))
            .await
    }

    async fn set_learned(
        &self,
        projection: &str,
        var: crate::SynapseVar,
        start: u32,
        values: &[i32],
    ) -> Result<(), BoardError> {
        let write = crate::engine::LearnedWrite {
            projection: projection.to_string(),
            var,
            start,
            values: values.to_vec(),
        };
        self.call(|reply| Command::SetLearned(write, reply)).await
    }

    async fn stream(&self, config: StreamConfig) -> Result<SpikeStream, BoardError> {
        if config.buffer_frames > MAX_BUFFER_FRAMES {
            return Err(BoardError::InvalidArgument(format!(
                "a buffer of {} frames is over the board's limit of {MAX_BUFFER_FRAMES}",
                config.buffer_frames
            )));
        }
        let buffer = config.buffer_frames.max(1) as usize;
        let (inputs, frames) = mpsc::channel(buffer);
        let (outputs, received) = mpsc::channel(OUTPUT_BUFFER);
        let shared = Arc::new(StreamShared::default());
        let full = match config.mode {
            // A step-locked board cannot run ahead: the host always waits.
            StreamMode::StepLocked => FullPolicy::Block,
            StreamMode::FreeRunning => config.full,
        };
        let config_shared = shared.clone();
        self.call(|reply| Command::Stream {
            config,
            frames,
            shared: config_shared,
            outputs,
            reply,
        })
        .await?;
        Ok(SpikeStream::new(inputs, received, full, shared))
    }

    async fn probes(&self, specs: &[ProbeSpec]) -> Result<ProbeStream, BoardError> {
        let (data, received) = mpsc::channel(PROBE_BUFFER);
        let specs = specs.to_vec();
        self.call(|reply| Command::Probes(specs, data, reply))
            .await?;
        Ok(ProbeStream::new(received))
    }

    async fn energy(&self, include_steps: bool) -> Result<EnergyReport, BoardError> {
        let records = if include_steps {
            StepRecords::From {
                first: 0,
                max: usize::MAX,
            }
        } else {
            StepRecords::None
        };
        self.call(|reply| Command::Energy(records, reply)).await
    }

    async fn release(&self) -> Result<Status, BoardError> {
        let info = self.info().await?;
        Ok(Status {
            state: info.state,
            step: info.step,
        })
    }
}

impl StreamShared {
    /// Counts a frame dropped for a full buffer.
    pub(crate) fn dropped(&self) {
        self.full_dropped.fetch_add(1, Ordering::Relaxed);
    }
}
