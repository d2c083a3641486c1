//! Between the protocol's messages and the host's types, both ways: the
//! board daemon and [`crate::RemoteBoard`] speak through these, so a field
//! is carried the same way in either direction.

use neurite_emulator::model::{CoreTotals, Counters, Energy, StepRecord};
use neurite_proto::{decode_spikes, encode_spikes, v1};
use tonic::{Code, Status};

use crate::energy::Totals;
use crate::{
    BoardError, BoardInfo, BoardState, EnergyReport, FullPolicy, InputFrame, LatePolicy,
    LearningVar, LoadedProgram, OutputFrame, ProbeData, ProbeSpec, Probed, RunStatus, StateTarget,
    StreamConfig, StreamMode, SynapseVar, TargetOf, Trace, Var,
};

fn bad(what: impl Into<String>) -> BoardError {
    BoardError::InvalidArgument(what.into())
}

impl From<BoardError> for Status {
    fn from(e: BoardError) -> Self {
        match e {
            BoardError::InvalidArgument(m) => Status::invalid_argument(m),
            BoardError::FailedPrecondition(m) => Status::failed_precondition(m),
            BoardError::ResourceExhausted(m) => Status::resource_exhausted(m),
            BoardError::Unauthenticated(m) => Status::unauthenticated(m),
            BoardError::Aborted(m) => Status::aborted(m),
            BoardError::Unavailable(m) => Status::unavailable(m),
            BoardError::Internal(m) => Status::internal(m),
        }
    }
}

impl From<Status> for BoardError {
    fn from(s: Status) -> Self {
        let m = s.message().to_string();
        match s.code() {
            Code::InvalidArgument | Code::OutOfRange | Code::NotFound => {
                BoardError::InvalidArgument(m)
            }
            Code::FailedPrecondition => BoardError::FailedPrecondition(m),
            Code::ResourceExhausted => BoardError::ResourceExhausted(m),
            Code::Unauthenticated | Code::PermissionDenied => BoardError::Unauthenticated(m),
            Code::Aborted | Code::Cancelled => BoardError::Aborted(m),
            Code::Unavailable | Code::DeadlineExceeded => BoardError::Unavailable(m),
            _ => BoardError::Internal(format!("{:?}: {m}", s.code())),
        }
    }
}

/// A board state to the wire.
pub fn state_to_proto(state: BoardState) -> v1::BoardState {
    match state {
        BoardState::Idle => v1::BoardState::Idle,
        BoardState::Loaded => v1::BoardState::Loaded,
        BoardState::Running => v1::BoardState::Running,
        BoardState::Paused => v1::BoardState::Paused,
    }
}

/// A board state from the wire.
pub fn state_from_proto(state: i32) -> Result<BoardState, BoardError> {
    match v1::BoardState::try_from(state) {
        Ok(v1::BoardState::Idle) => Ok(BoardState::Idle),
        Ok(v1::BoardState::Loaded) => Ok(BoardState::Loaded),
        Ok(v1::BoardState::Running) => Ok(BoardState::Running),
        Ok(v1::BoardState::Paused) => Ok(BoardState::Paused),
        _ => Err(bad(format!("unknown board state {state}"))),
    }
}

/// A variable from the wire: spikes (`VARIABLE_UNSPECIFIED`, in probes), a
/// neuron's or a learning projection's.
pub fn probed_from_proto(var: i32) -> Result<Probed, BoardError> {
    let learning = |v| Ok(Probed::Learning(v));
    match v1::Variable::try_from(var) {
        Ok(v1::Variable::Unspecified) => Ok(Probed::Spikes),
        Ok(v1::Variable::U) => Ok(Probed::Neuron(Var::U)),
        Ok(v1::Variable::V) => Ok(Probed::Neuron(Var::V)),
        Ok(v1::Variable::BiasMant) => Ok(Probed::Neuron(Var::BiasMant)),
        Ok(v1::Variable::BiasExp) => Ok(Probed::Neuron(Var::BiasExp)),
        Ok(v1::Variable::SpikeCount) => Ok(Probed::Neuron(Var::SpikeCount)),
        Ok(v1::Variable::Weight) => learning(LearningVar::Synapse(SynapseVar::Weight)),
        Ok(v1::Variable::Tag) => learning(LearningVar::Synapse(SynapseVar::Tag)),
        Ok(v1::Variable::Delay) => learning(LearningVar::Synapse(SynapseVar::Delay)),
        Ok(v1::Variable::X1) => learning(LearningVar::Trace(Trace::X1)),
        Ok(v1::Variable::X2) => learning(LearningVar::Trace(Trace::X2)),
        Ok(v1::Variable::Y1) => learning(LearningVar::Trace(Trace::Y1)),
        Ok(v1::Variable::Y2) => learning(LearningVar::Trace(Trace::Y2)),
        Ok(v1::Variable::Y3) => learning(LearningVar::Trace(Trace::Y3)),
        Err(_) => Err(bad(format!("unknown variable {var}"))),
    }
}

/// A variable to the wire (spikes: `VARIABLE_UNSPECIFIED`).
pub fn probed_to_proto(probed: Probed) -> v1::Variable {
    match probed {
        Probed::Spikes => v1::Variable::Unspecified,
        Probed::Neuron(Var::U) => v1::Variable::U,
        Probed::Neuron(Var::V) => v1::Variable::V,
        Probed::Neuron(Var::BiasMant) => v1::Variable::BiasMant,
        Probed::Neuron(Var::BiasExp) => v1::Variable::BiasExp,
        Probed::Neuron(Var::SpikeCount) => v1::Variable::SpikeCount,
        Probed::Learning(LearningVar::Synapse(SynapseVar::Weight)) => v1::Variable::Weight,
        Probed::Learning(LearningVar::Synapse(SynapseVar::Tag)) => v1::Variable::Tag,
        Probed::Learning(LearningVar::Synapse(SynapseVar::Delay)) => v1::Variable::Delay,
        Probed::Learning(LearningVar::Trace(Trace::X1)) => v1::Variable::X1,
        Probed::Learning(LearningVar::Trace(Trace::X2)) => v1::Variable::X2,
        Probed::Learning(LearningVar::Trace(Trace::Y1)) => v1::Variable::Y1,
        Probed::Learning(LearningVar::Trace(Trace::Y2)) => v1::Variable::Y2,
        Probed::Learning(LearningVar::Trace(Trace::Y3)) => v1::Variable::Y3,
    }
}

/// Board info to the wire; the daemon fills in its own limits.
pub fn info_to_proto(info: &BoardInfo, limits: Option<v1::CoreLimits>) -> v1::BoardInfo {
    v1::BoardInfo {
        daemon_version: info.daemon_version.clone(),
        chip: info.chip.clone(),
        chip_profile_toml: info.chip_profile_toml.clone(),
        cores: info.cores,
        limits,
        capabilities: info.capabilities.clone(),
        state: state_to_proto(info.state) as i32,
        program_id: info.program_id.clone(),
        step: info.step,
        lease_holder: info.lease_holder.clone(),
        max_message_bytes: info.max_message_bytes,
    }
}

/// Board info from the wire.
pub fn info_from_proto(info: v1::BoardInfo) -> Result<BoardInfo, BoardError> {
    Ok(BoardInfo {
        state: state_from_proto(info.state)?,
        daemon_version: info.daemon_version,
        chip: info.chip,
        chip_profile_toml: info.chip_profile_toml,
        cores: info.cores,
        capabilities: info.capabilities,
        program_id: info.program_id,
        step: info.step,
        lease_holder: info.lease_holder,
        max_message_bytes: info.max_message_bytes,
    })
}

/// A loaded Program's description to the wire.
pub fn loaded_to_proto(loaded: &LoadedProgram) -> v1::LoadProgramResponse {
    v1::LoadProgramResponse {
        program_id: loaded.program_id.clone(),
        cores: loaded.cores,
        neurons: loaded.neurons,
        synapses: loaded.synapses,
        inputs: loaded
            .inputs
            .iter()
            .map(|(name, channels)| v1::PortInfo {
                name: name.clone(),
                channels: *channels,
            })
            .collect(),
        populations: loaded
            .populations
            .iter()
            .map(|(name, neurons, reports)| v1::PopulationInfo {
                name: name.clone(),
                neurons: *neurons,
                reports_spikes: *reports,
            })
            .collect(),
    }
}

/// A loaded Program's description from the wire.
pub fn loaded_from_proto(loaded: v1::LoadProgramResponse) -> LoadedProgram {
    LoadedProgram {
        program_id: loaded.program_id,
        cores: loaded.cores,
        neurons: loaded.neurons,
        synapses: loaded.synapses,
        inputs: loaded
            .inputs
            .into_iter()
            .map(|p| (p.name, p.channels))
            .collect(),
        populations: loaded
            .populations
            .into_iter()
            .map(|p| (p.name, p.neurons, p.reports_spikes))
            .collect(),
    }
}

/// A run status to the wire.
pub fn run_status_to_proto(status: &RunStatus) -> v1::RunStatus {
    use v1::run_status::Kind;
    let (kind, step, error) = match status {
        RunStatus::Started(s) => (Kind::Started, *s, String::new()),
        RunStatus::Progress(s) => (Kind::Progress, *s, String::new()),
        RunStatus::Paused(s) => (Kind::Paused, *s, String::new()),
        RunStatus::Done(s) => (Kind::Done, *s, String::new()),
        RunStatus::Stopped(s) => (Kind::Stopped, *s, String::new()),
        RunStatus::Error(e) => (Kind::Error, 0, e.clone()),
    };
    v1::RunStatus {
        kind: kind as i32,
        step,
        error,
    }
}

/// A run status from the wire.
pub fn run_status_from_proto(status: v1::RunStatus) -> Result<RunStatus, BoardError> {
    use v1::run_status::Kind;
    let s = status.step;
    Ok(match Kind::try_from(status.kind) {
        Ok(Kind::Started) => RunStatus::Started(s),
        Ok(Kind::Progress) => RunStatus::Progress(s),
        Ok(Kind::Paused) => RunStatus::Paused(s),
        Ok(Kind::Done) => RunStatus::Done(s),
        Ok(Kind::Stopped) => RunStatus::Stopped(s),
        Ok(Kind::Error) => RunStatus::Error(status.error),
        _ => return Err(bad(format!("unknown run status {}", status.kind))),
    })
}

/// What a state access addresses: neurons, or a learning projection's
/// synapses or traces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addressed {
    /// Neurons of a population or a core.
    Neurons(StateTarget),
    /// Entries `start .. start + count` (`None`: to the end) of a learning
    /// variable.
    Learning {
        projection: String,
        var: LearningVar,
        start: u32,
        count: Option<u32>,
    },
}

/// A state access from the wire.
pub fn target_from_proto(target: Option<v1::StateTarget>) -> Result<Addressed, BoardError> {
    let target = target.ok_or_else(|| bad("the request names no target"))?;
    let probed = probed_from_proto(target.variable)?;
    let count = (target.count > 0).then_some(target.count);
    let of = match target.of {
        Some(v1::state_target::Of::Population(name)) => TargetOf::Population(name),
        Some(v1::state_target::Of::Core(core)) => TargetOf::Core(core),
        Some(v1::state_target::Of::Projection(projection)) => {
            let Probed::Learning(var) = probed else {
                return Err(bad(format!(
                    "learning projection '{projection}': the target names no learning variable (weight, tag, delay, x1 .. y3)"
                )));
            };
            return Ok(Addressed::Learning {
                projection,
                var,
                start: target.start,
                count,
            });
        }
        None => {
            return Err(bad(
                "the target names neither a population, a core nor a learning projection",
            ));
        }
    };
    let var = match probed {
        Probed::Neuron(var) => var,
        Probed::Spikes => return Err(bad("the target names no variable")),
        Probed::Learning(var) => {
            return Err(bad(format!(
                "{var} is a learning projection's variable: the target must name a projection"
            )));
        }
    };
    Ok(Addressed::Neurons(StateTarget {
        of,
        var,
        start: target.start,
        count,
    }))
}

/// A state access to the wire.
pub fn target_to_proto(target: &StateTarget) -> v1::StateTarget {
    v1::StateTarget {
        of: Some(match &target.of {
            TargetOf::Population(name) => v1::state_target::Of::Population(name.clone()),
            TargetOf::Core(core) => v1::state_target::Of::Core(*core),
        }),
        variable: probed_to_proto(Probed::Neuron(target.var)) as i32,
        start: target.start,
        count: target.count.unwrap_or(0),
    }
}

/// A learning projection's variable as a state target on the wire.
pub fn learning_target_to_proto(
    projection: &str,
    var: LearningVar,
    start: u32,
    count: Option<u32>,
) -> v1::StateTarget {
    v1::StateTarget {
        of: Some(v1::state_target::Of::Projection(projection.to_string())),
        variable: probed_to_proto(Probed::Learning(var)) as i32,
        start,
        count: count.unwrap_or(0),
    }
}

/// A stream's settings from the wire.
pub fn config_from_proto(config: v1::StreamConfig) -> Result<StreamConfig, BoardError> {
    let mode = match v1::StreamMode::try_from(config.mode) {
        Ok(v1::StreamMode::StepLocked) => StreamMode::StepLocked,
        Ok(v1::StreamMode::FreeRunning) => StreamMode::FreeRunning,
        _ => return Err(bad("the stream's mode must be step-locked or free-running")),
    };
    let late = match v1::LatePolicy::try_from(config.late) {
        Ok(v1::LatePolicy::Unspecified | v1::LatePolicy::NextStep) => LatePolicy::NextStep,
        Ok(v1::LatePolicy::Drop) => LatePolicy::Drop,
        Ok(v1::LatePolicy::Error) => LatePolicy::Error,
        Err(_) => return Err(bad(format!("unknown late-frame policy {}", config.late))),
    };
    let full = match v1::FullPolicy::try_from(config.full) {
        Ok(v1::FullPolicy::Unspecified | v1::FullPolicy::Block) => FullPolicy::Block,
        Ok(v1::FullPolicy::Drop) => FullPolicy::Drop,
        Ok(v1::FullPolicy::Error) => FullPolicy::Error,
        Err(_) => return Err(bad(format!("unknown full-buffer policy {}", config.full))),
    };
    Ok(StreamConfig {
        mode,
        late,
        full,
        buffer_frames: if config.buffer_frames == 0 {
            StreamConfig::DEFAULT_BUFFER_FRAMES
        } else {
            config.buffer_frames
        },
        steps: config.steps,
        outputs: config.outputs,
        steps_per_second: config.steps_per_second,
    })
}

/// A stream's settings to the wire.
pub fn config_to_proto(config: &StreamConfig) -> v1::StreamConfig {
    v1::StreamConfig {
        mode: match config.mode {
            StreamMode::StepLocked => v1::StreamMode::StepLocked,
            StreamMode::FreeRunning => v1::StreamMode::FreeRunning,
        } as i32,
        late: match config.late {
            LatePolicy::NextStep => v1::LatePolicy::NextStep,
            LatePolicy::Drop => v1::LatePolicy::Drop,
            LatePolicy::Error => v1::LatePolicy::Error,
        } as i32,
        full: match config.full {
            FullPolicy::Block => v1::FullPolicy::Block,
            FullPolicy::Drop => v1::FullPolicy::Drop,
            FullPolicy::Error => v1::FullPolicy::Error,
        } as i32,
        buffer_frames: config.buffer_frames,
        steps: config.steps,
        outputs: config.outputs.clone(),
        steps_per_second: config.steps_per_second,
    }
}

/// Spike indices to the wire; `size` bounds them (a port's or population's
/// width, or anything above the largest index).
fn spikes_to_proto(indices: &[u32], size: Option<u32>) -> v1::SpikeSet {
    let size = size.unwrap_or_else(|| indices.last().map_or(0, |&i| i.saturating_add(1)));
    encode_spikes(indices, size)
}

/// Decodes a spike set; `whose` names it in the error, built only then.
fn spikes_from_proto(
    set: Option<v1::SpikeSet>,
    whose: impl FnOnce() -> String,
) -> Result<Vec<u32>, BoardError> {
    match set {
        None => Ok(Vec::new()),
        Some(set) => decode_spikes(&set).map_err(|e| bad(format!("{}: {e}", whose()))),
    }
}

/// An input frame to the wire, ports' widths unknown.
pub fn input_to_proto(frame: &InputFrame) -> v1::InputFrame {
    v1::InputFrame {
        config: None,
        step: frame.step,
        sequence: frame.sequence,
        inputs: frame
            .inputs
            .iter()
            .map(|(port, channels)| {
                let mut sorted = channels.clone();
                sorted.sort_unstable();
                sorted.dedup();
                v1::PortSpikes {
                    port: port.clone(),
                    spikes: Some(spikes_to_proto(&sorted, None)),
                }
            })
            .collect(),
        neuromodulators: frame
            .neuromodulators
            .iter()
            .map(|(name, value)| v1::Neuromodulation {
                name: name.clone(),
                value: *value,
            })
            .collect(),
    }
}

/// An input frame from the wire.
pub fn input_from_proto(frame: v1::InputFrame) -> Result<InputFrame, BoardError> {
    let inputs = frame
        .inputs
        .into_iter()
        .map(|p| {
            let spikes = spikes_from_proto(p.spikes, || {
                format!("frame {}, port '{}'", frame.sequence, p.port)
            })?;
            Ok((p.port, spikes))
        })
        .collect::<Result<_, BoardError>>()?;
    Ok(InputFrame {
        step: frame.step,
        sequence: frame.sequence,
        inputs,
        neuromodulators: frame
            .neuromodulators
            .into_iter()
            .map(|m| (m.name, m.value))
            .collect(),
    })
}

/// A learning projection's state to the wire.
pub fn learned_to_proto(state: &crate::LearnedState) -> v1::LearnedState {
    let column = |k: usize| -> Vec<i32> {
        state
            .synapses
            .iter()
            .map(|s| i32::from([s.2, s.3, s.4][k]))
            .collect()
    };
    let [x1, x2, y1, y2, y3] = state.traces.clone();
    v1::LearnedState {
        n_pre: state.n_pre,
        n_post: state.n_post,
        pre: state.synapses.iter().map(|s| s.0).collect(),
        post: state.synapses.iter().map(|s| s.1).collect(),
        weights: column(0),
        tags: column(1),
        delays: column(2),
        x1,
        x2,
        y1,
        y2,
        y3,
    }
}

/// A learning projection's state from the wire, every length and value checked.
pub fn learned_from_proto(state: v1::LearnedState) -> Result<crate::LearnedState, BoardError> {
    let n = state.pre.len();
    if [
        state.post.len(),
        state.weights.len(),
        state.tags.len(),
        state.delays.len(),
    ]
    .iter()
    .any(|&len| len != n)
    {
        return Err(bad("learned state: synapse columns of different lengths"));
    }
    let narrow = |v: i32| {
        i16::try_from(v).map_err(|_| bad(format!("learned state: value {v} out of range")))
    };
    let mut synapses = Vec::with_capacity(n);
    for k in 0..n {
        synapses.push((
            state.pre[k],
            state.post[k],
            narrow(state.weights[k])?,
            narrow(state.tags[k])?,
            narrow(state.delays[k])?,
        ));
    }
    Ok(crate::LearnedState {
        n_pre: state.n_pre,
        n_post: state.n_post,
        synapses,
        traces: [state.x1, state.x2, state.y1, state.y2, state.y3],
    })
}

/// An output frame to the wire; `sizes` gives each population's width.
pub fn output_to_proto(
    frame: &OutputFrame,
    sizes: impl Fn(&str) -> Option<u32>,
) -> v1::OutputFrame {
    v1::OutputFrame {
        step: frame.step,
        populations: frame
            .populations
            .iter()
            .map(|(name, spikes)| v1::PopulationSpikes {
                population: name.clone(),
                spikes: Some(spikes_to_proto(spikes, sizes(name))),
            })
            .collect(),
        late_dropped: frame.late_dropped,
        full_dropped: frame.full_dropped,
        last_sequence: frame.last_sequence,
    }
}

/// An output frame from the wire.
pub fn output_from_proto(frame: v1::OutputFrame) -> Result<OutputFrame, BoardError> {
    let populations = frame
        .populations
        .into_iter()
        .map(|p| {
            let spikes = spikes_from_proto(p.spikes, || format!("population '{}'", p.population))?;
            Ok((p.population, spikes))
        })
        .collect::<Result<_, BoardError>>()?;
    Ok(OutputFrame {
        step: frame.step,
        populations,
        late_dropped: frame.late_dropped,
        full_dropped: frame.full_dropped,
        last_sequence: frame.last_sequence,
    })
}

/// Where a probe's name goes on the wire: (population, projection).
fn probe_names(name: &str, probed: Probed) -> (String, String) {
    match probed {
        Probed::Learning(_) => (String::new(), name.to_string()),
        Probed::Spikes | Probed::Neuron(_) => (name.to_string(), String::new()),
    }
}

/// A probe's name from the wire: the projection for a learning variable,
/// the population otherwise.
fn probe_name(
    population: String,
    projection: String,
    probed: Probed,
) -> Result<String, BoardError> {
    match probed {
        Probed::Learning(var) if projection.is_empty() => Err(bad(format!(
            "a probe of {var} must name a learning projection (population '{population}' given)"
        ))),
        Probed::Learning(_) => Ok(projection),
        Probed::Spikes | Probed::Neuron(_) if !projection.is_empty() => Err(bad(format!(
            "a probe of learning projection '{projection}' must name a learning variable"
        ))),
        Probed::Spikes | Probed::Neuron(_) => Ok(population),
    }
}

/// Probe specifications from the wire.
pub fn probe_specs_from_proto(specs: Vec<v1::ProbeSpec>) -> Result<Vec<ProbeSpec>, BoardError> {
    specs
        .into_iter()
        .map(|s| {
            let probed = probed_from_proto(s.variable)?;
            Ok(ProbeSpec {
                name: probe_name(s.population, s.projection, probed)?,
                probed,
            })
        })
        .collect()
}

/// Probe specifications to the wire.
pub fn probe_specs_to_proto(specs: &[ProbeSpec]) -> Vec<v1::ProbeSpec> {
    specs
        .iter()
        .map(|s| {
            let (population, projection) = probe_names(&s.name, s.probed);
            v1::ProbeSpec {
                population,
                variable: probed_to_proto(s.probed) as i32,
                projection,
            }
        })
        .collect()
}

/// A probe record to the wire.
pub fn probe_to_proto(data: &ProbeData) -> v1::ProbeData {
    let (values, spikes) = match data.probed {
        Probed::Neuron(_) | Probed::Learning(_) => (data.values.clone(), None),
        Probed::Spikes => {
            let indices: Vec<u32> = data.values.iter().map(|&i| i as u32).collect();
            (Vec::new(), Some(spikes_to_proto(&indices, None)))
        }
    };
    let (population, projection) = probe_names(&data.name, data.probed);
    v1::ProbeData {
        step: data.step,
        population,
        variable: probed_to_proto(data.probed) as i32,
        values,
        spikes,
        projection,
    }
}

/// A probe record from the wire.
pub fn probe_from_proto(data: v1::ProbeData) -> Result<ProbeData, BoardError> {
    let probed = probed_from_proto(data.variable)?;
    let name = probe_name(data.population, data.projection, probed)?;
    let values = match probed {
        Probed::Neuron(_) | Probed::Learning(_) => data.values,
        Probed::Spikes => spikes_from_proto(data.spikes, || format!("probe of '{name}'"))?
            .into_iter()
            .map(|i| i as i32)
            .collect(),
    };
    Ok(ProbeData {
        step: data.step,
        name,
        probed,
        values,
    })
}

fn counts_to_proto(c: &Counters) -> v1::Counts {
    v1::Counts {
        neuron_updates: c.neuron_updates,
        active_updates: c.active_updates,
        spikes: c.spikes,
        synaptic_ops: c.synaptic_ops,
        sparse_synaptic_ops: c.sparse_synaptic_ops,
        convolutional_synaptic_ops: c.convolutional_synaptic_ops,
        messages_out: c.messages_out,
        messages_in: c.messages_in,
        hops_east_west: c.hops_east_west,
        hops_north_south: c.hops_north_south,
        chip_links: c.chip_links,
        synaptic_updates: c.synaptic_updates,
        trace_updates: c.trace_updates,
    }
}

fn counts_from_proto(c: Option<v1::Counts>) -> Counters {
    let c = c.unwrap_or_default();
    Counters {
        neuron_updates: c.neuron_updates,
        active_updates: c.active_updates,
        spikes: c.spikes,
        synaptic_ops: c.synaptic_ops,
        sparse_synaptic_ops: c.sparse_synaptic_ops,
        convolutional_synaptic_ops: c.convolutional_synaptic_ops,
        messages_out: c.messages_out,
        messages_in: c.messages_in,
        hops_east_west: c.hops_east_west,
        hops_north_south: c.hops_north_south,
        chip_links: c.chip_links,
        synaptic_updates: c.synaptic_updates,
        trace_updates: c.trace_updates,
    }
}

fn energy_to_proto(e: &Energy) -> v1::Energy {
    v1::Energy {
        neurons: e.neurons,
        synapses: e.synapses,
        messages: e.messages,
        mesh: e.mesh,
        links: e.links,
        barrier: e.barrier,
        static_power: e.static_power,
    }
}

fn energy_from_proto(e: Option<v1::Energy>) -> Energy {
    let e = e.unwrap_or_default();
    Energy {
        neurons: e.neurons,
        synapses: e.synapses,
        messages: e.messages,
        mesh: e.mesh,
        links: e.links,
        barrier: e.barrier,
        static_power: e.static_power,
    }
}

/// An energy report to the wire.
pub fn energy_to_wire(report: &EnergyReport) -> v1::EnergyReport {
    let t = report.total;
    v1::EnergyReport {
        chip: report.chip.clone(),
        costs: report.source.clone(),
        estimated: report.estimated,
        tiles_in_use: report.tiles_in_use,
        chips_in_use: report.chips_in_use,
        totals: Some(v1::Totals {
            steps: t.steps,
            time_ns: t.time_ns,
            energy: Some(energy_to_proto(&t.energy)),
            counts: Some(counts_to_proto(&t.counts)),
        }),
        step_records: report
            .steps
            .iter()
            .map(|s| v1::StepRecord {
                step: s.step,
                time_ns: s.time_ns,
                energy: Some(energy_to_proto(&s.energy)),
                counts: Some(counts_to_proto(&s.counts)),
            })
            .collect(),
        cores: report
            .cores
            .iter()
            .map(|c| v1::CoreRecord {
                location: c.location,
                counts: Some(counts_to_proto(&c.counts)),
                energy: Some(energy_to_proto(&c.energy)),
                busy_ns: c.busy_ns,
            })
            .collect(),
    }
}

/// An energy report from the wire.
pub fn energy_from_wire(report: v1::EnergyReport) -> EnergyReport {
    let t = report.totals.unwrap_or_default();
    EnergyReport {
        chip: report.chip,
        source: report.costs,
        estimated: report.estimated,
        tiles_in_use: report.tiles_in_use,
        chips_in_use: report.chips_in_use,
        total: Totals {
            steps: t.steps,
            time_ns: t.time_ns,
            energy: energy_from_proto(t.energy),
            counts: counts_from_proto(t.counts),
        },
        steps: report
            .step_records
            .into_iter()
            .map(|s| StepRecord {
                step: s.step,
                time_ns: s.time_ns,
                energy: energy_from_proto(s.energy),
                counts: counts_from_proto(s.counts),
            })
            .collect(),
        cores: report
            .cores
            .into_iter()
            .map(|c| CoreTotals {
                location: c.location,
                counts: counts_from_proto(c.counts),
                energy: energy_from_proto(c.energy),
                busy_ns: c.busy_ns,
            })
            .collect(),
    }
}
