//! The board conformance suite: one set of checks, generic over `Board`, run
//! against the emulator in-process (`LocalBoard`) and against the board
//! daemon over loopback gRPC (`RemoteBoard` → `neurite-board`). A hardware
//! daemon passes when these pass against it. Then what only a daemon has:
//! leases, clients that vanish, broken uploads, size limits, many readers,
//! authentication, health and reflection.

use std::future::Future;
use std::time::Duration;

use neurite::chip::ChipProfile;
use neurite::emulator::{Emulator, Target, Var};
use neurite::program::Program;
use neurite_firmware_sim::{DaemonConfig, Running};
use neurite_host::{
    Board, BoardError, BoardState, FullPolicy, InputFrame, LatePolicy, LearningVar, LocalBoard,
    OutputFrame, ProbeSpec, Probed, RemoteBoard, RunLength, RunStatus, StateTarget, StreamConfig,
    SynapseVar, TargetOf, Trace,
};

use crate::support::{tiny_chip, toml};

/// Channels of the input port, and relay neurons (one per channel).
const CHANNELS: u32 = 16;

/// The suite's network, spread over several cores of a chip with 16 neurons
/// per core: input channel c makes relay neuron c spike one step after the
/// step it is applied at; a recurrent hidden population adds activity of
/// its own.
fn program() -> (Program, ChipProfile) {
    let identity: Vec<String> = (0..CHANNELS)
        .map(|i| {
            let row: Vec<&str> = (0..CHANNELS)
                .map(|j| if i == j { "127" } else { "0" })
                .collect();
            format!("[{}]", row.join(", "))
        })
        .collect();
    let text = format!(
        r#"
        name = "conformance"
        [[populations]]
        name = "in"
        size = {CHANNELS}
        model = "input"
        [[populations]]
        name = "relay"
        size = {CHANNELS}
        model = "lif"
        du = 4095
        dv = 4095
        vth = 1
        [[populations]]
        name = "hidden"
        size = 40
        model = "lif"
        du = 1024
        dv = 256
        vth = 300
        bias_mant = 20
        bias_exp = 2
        [[projections]]
        from = "in"
        to = "relay"
        dense = [{}]
        weight_exp = 4
        [[projections]]
        from = "relay"
        to = "hidden"
        fixed_probability = {{ p = 0.4, weight = 90, seed = 11 }}
        [[projections]]
        from = "hidden"
        to = "hidden"
        fixed_probability = {{ p = 0.2, weight = -60, seed = 12 }}
        delay = 3
        [[probes]]
        population = "relay"
        vars = ["spikes"]
        [[probes]]
        population = "hidden"
        vars = ["spikes", "u", "v"]
        "#,
        identity.join(", ")
    );
    let chip = tiny_chip(16);
    let compiled = neurite::compiler::compile(&toml(&text), &chip).expect("compiles");
    assert!(compiled.program.cores.len() >= 4, "spread over cores");
    (compiled.program, chip)
}

/// Deterministic input channels for a step.
fn channels_at(step: u64) -> Vec<u32> {
    (0..CHANNELS)
        .filter(|&c| (step * 7 + u64::from(c) * 13).is_multiple_of(5))
        .collect()
}

fn frame(step: u64, sequence: u64, channels: Vec<u32>) -> InputFrame {
    InputFrame {
        step,
        sequence,
        inputs: if channels.is_empty() {
            Vec::new()
        } else {
            vec![("in".to_string(), channels)]
        },
        neuromodulators: Vec::new(),
    }
}

/// The emulator driven directly, as a host without a board would: the
/// offline run every stream is compared with. `inputs[t]` applies at step
/// t + 1. Returns each step's spikes of relay and hidden.
fn offline(program: &Program, chip: &ChipProfile, inputs: &[Vec<u32>]) -> Vec<OutputFrame> {
    let mut emulator = Emulator::new(program, chip).expect("loads");
    let port = program.input_port("in").expect("port");
    let relay = program.population("relay").expect("relay");
    let hidden = program.population("hidden").expect("hidden");
    inputs
        .iter()
        .map(|channels| {
            emulator.inject(port, channels).expect("channels in range");
            emulator.step();
            OutputFrame {
                step: emulator.current_step(),
                populations: vec![
                    (
                        "relay".to_string(),
                        emulator.spiked(relay).expect("reported").collect(),
                    ),
                    (
                        "hidden".to_string(),
                        emulator.spiked(hidden).expect("reported").collect(),
                    ),
                ],
                ..OutputFrame::default()
            }
        })
        .collect()
}

/// Each step's spikes by population.
type Spikes = Vec<(u64, Vec<(String, Vec<u32>)>)>;

/// Spikes only, for comparing with [`offline`].
fn spikes_of(frames: &[OutputFrame]) -> Spikes {
    frames
        .iter()
        .map(|f| (f.step, f.populations.clone()))
        .collect()
}

fn v_of(name: &str) -> StateTarget {
    StateTarget::population(name, Var::V)
}

/// Runs a future with a deadline, so that a hung board fails the test
/// instead of hanging CI.
async fn within<T>(seconds: u64, what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(seconds), f).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: no answer within {seconds} s"),
    }
}

/// Streams `steps` step-locked steps with [`channels_at`] inputs starting
/// after the board's current step; returns the output frames.
async fn stream_steps<B: Board>(board: &B, first: u64, steps: u64) -> Vec<OutputFrame> {
    let stream = board
        .stream(StreamConfig::step_locked(steps))
        .await
        .expect("stream opens");
    let (mut sender, mut receiver) = stream.split();
    let send = async {
        for k in 0..steps {
            let step = first + k;
            sender
                .send(frame(step, step, channels_at(step)))
                .await
                .expect("frame sent");
        }
    };
    let receive = async {
        let mut frames = Vec::new();
        while let Some(frame) = receiver.recv().await {
            frames.push(frame.expect("output frame"));
        }
        frames
    };
    let ((), frames) = tokio::join!(send, receive);
    frames
}

/// What a board did in a fixed scenario; equal across boards.
#[derive(Debug, PartialEq)]
struct Transcript {
    frames: Vec<OutputFrame>,
    v: Vec<i32>,
    u: Vec<i32>,
    spike_counts: Vec<i32>,
    energy: neurite_host::EnergyReport,
}

async fn transcript<B: Board>(board: &B, program: &Program) -> Transcript {
    board.load(program).await.expect("loads");
    let frames = stream_steps(board, 1, 60).await;
    Transcript {
        frames,
        v: board.get_state(&v_of("hidden")).await.expect("v"),
        u: board
            .get_state(&StateTarget::population("hidden", Var::U))
            .await
            .expect("u"),
        spike_counts: board
            .get_state(&StateTarget::population("hidden", Var::SpikeCount))
            .await
            .expect("counts"),
        energy: board.energy(true).await.expect("energy"),
    }
}

// --- The suite: every check takes any board. ---

/// Load, run, pause, get, set, resume, stop, reset.
async fn lifecycle<B: Board>(board: &B, program: &Program, chip: &ChipProfile) {
    let info = board.info().await.expect("info");
    assert_eq!(info.chip, chip.name);
    assert!(info.capabilities.iter().any(|c| c == "step-locked"));
    assert!(info.capabilities.iter().any(|c| c == "learning"));
    assert_eq!((info.state, info.step), (BoardState::Idle, 0));
    let err = board
        .run(RunLength::Steps(1), 0)
        .await
        .expect_err("refused");
    assert!(
        matches!(err, BoardError::FailedPrecondition(_)),
        "run without a Program: {err}"
    );

    let loaded = board.load(program).await.expect("loads");
    assert_eq!(loaded.cores as usize, program.cores.len());
    assert_eq!(loaded.inputs, vec![("in".to_string(), CHANNELS)]);
    let info = board.info().await.expect("info");
    assert_eq!((info.state, info.step), (BoardState::Loaded, 0));
    assert_eq!(info.program_id, loaded.program_id);
    let initial_v = board.get_state(&v_of("hidden")).await.expect("v");

    // A continuous run reports progress; state access while it runs is
    // refused, never silently ignored.
    let mut run = board.run(RunLength::Continuous, 5).await.expect("runs");
    assert!(matches!(run.next().await, Some(RunStatus::Started(0))));
    assert!(matches!(run.next().await, Some(RunStatus::Progress(5))));
    assert_eq!(board.info().await.expect("info").state, BoardState::Running);
    for refused in [
        board.get_state(&v_of("hidden")).await.map(|_| ()),
        board.set_state(&v_of("hidden"), &[0; 40]).await,
        board.reset().await.map(|_| ()),
        board.load(program).await.map(|_| ()),
        board.run(RunLength::Steps(1), 0).await.map(|_| ()),
    ] {
        assert!(
            matches!(refused, Err(BoardError::FailedPrecondition(_))),
            "while running: {refused:?}"
        );
    }
    let paused = board.pause().await.expect("pauses");
    assert_eq!(paused.state, BoardState::Paused);
    let last = run.finish().await.expect("run ends");
    assert_eq!(last, RunStatus::Paused(paused.step));
    assert!(paused.step >= 5);

    // Get and set while paused; the written state drives the next steps
    // exactly as on an emulator driven directly.
    let v = board.get_state(&v_of("hidden")).await.expect("v");
    assert_eq!(v.len(), 40);
    let written: Vec<i32> = (0..40).map(|i| i * 300 - 2000).collect();
    board
        .set_state(&v_of("hidden"), &written)
        .await
        .expect("writes");
    assert_eq!(board.get_state(&v_of("hidden")).await.expect("v"), written);
    let part = StateTarget {
        of: TargetOf::Population("hidden".to_string()),
        var: Var::V,
        start: 38,
        count: Some(2),
    };
    assert_eq!(board.get_state(&part).await.expect("v"), written[38..]);
    let bad = [
        board.set_state(&v_of("hidden"), &[1 << 24; 40]).await,
        board.set_state(&v_of("nowhere"), &[0]).await,
        board.set_state(&part, &[0, 0, 0]).await,
        board
            .set_state(
                &StateTarget::population("hidden", Var::SpikeCount),
                &[0; 40],
            )
            .await,
    ];
    for refused in bad {
        assert!(
            matches!(refused, Err(BoardError::InvalidArgument(_))),
            "{refused:?}"
        );
    }
    assert_eq!(board.get_state(&v_of("hidden")).await.expect("v"), written);

    let resumed = board
        .run(RunLength::Steps(10), 0)
        .await
        .expect("resumes")
        .finish()
        .await
        .expect("done");
    assert_eq!(resumed, RunStatus::Done(paused.step + 10));
    let mut emulator = Emulator::new(program, chip).expect("loads");
    for _ in 0..paused.step {
        emulator.step();
    }
    let hidden = Target::Population(program.population("hidden").expect("hidden"));
    emulator
        .write_range(hidden, Var::V, 0, &written)
        .expect("writes");
    for _ in 0..10 {
        emulator.step();
    }
    let mut expected = Vec::new();
    emulator
        .read_range(hidden, Var::V, 0, None, &mut expected)
        .expect("reads");
    assert_eq!(board.get_state(&v_of("hidden")).await.expect("v"), expected);

    // Stop ends a run for good; the board keeps its state.
    let mut run = board.run(RunLength::Continuous, 0).await.expect("runs");
    assert!(matches!(run.next().await, Some(RunStatus::Started(_))));
    let stopped = board.stop().await.expect("stops");
    assert_eq!(
        run.finish().await.expect("ends"),
        RunStatus::Stopped(stopped.step)
    );
    assert_eq!(board.info().await.expect("info").step, stopped.step);

    // Reset: step 0 and the Program's initial state; the energy record
    // starts over.
    let reset = board.reset().await.expect("resets");
    assert_eq!((reset.state, reset.step), (BoardState::Loaded, 0));
    assert_eq!(
        board.get_state(&v_of("hidden")).await.expect("v"),
        initial_v
    );
    assert_eq!(board.energy(false).await.expect("energy").total.steps, 0);
}

/// Step-locked streaming equals the offline run bit for bit, across two
/// streams and with state and probes consistent.
async fn step_locked<B: Board>(board: &B, program: &Program, chip: &ChipProfile) {
    board.load(program).await.expect("loads");
    let mut probes = board
        .probes(&[ProbeSpec::neuron("hidden", Var::V)])
        .await
        .expect("probes");
    let mut frames = stream_steps(board, 1, 40).await;
    frames.extend(stream_steps(board, 41, 40).await);
    let inputs: Vec<Vec<u32>> = (1..=80).map(channels_at).collect();
    assert_eq!(
        spikes_of(&frames),
        spikes_of(&offline(program, chip, &inputs))
    );
    assert!(
        frames.iter().any(|f| !f.populations[1].1.is_empty()),
        "hidden neurons spike"
    );
    assert_eq!(frames.last().map(|f| f.last_sequence), Some(80));
    // Relay c spikes exactly one step after channel c's input.
    for f in &frames[1..] {
        assert_eq!(
            f.populations[0].1,
            channels_at(f.step - 1),
            "step {}",
            f.step
        );
    }
    let mut records = Vec::new();
    while records.len() < 80 {
        records.push(
            within(10, "probe data", probes.recv())
                .await
                .expect("record"),
        );
    }
    assert_eq!(
        records.iter().map(|r| r.step).collect::<Vec<_>>(),
        (1..=80).collect::<Vec<_>>()
    );
    let v = board.get_state(&v_of("hidden")).await.expect("v");
    assert_eq!(records[79].values, v, "the last probe record is the state");

    // Frames that break the step-locked contract end the stream.
    let mut stream = board
        .stream(StreamConfig::step_locked(10))
        .await
        .expect("opens");
    stream.send(frame(90, 81, vec![])).await.expect("sent");
    let ended = within(10, "error", stream.recv()).await;
    assert!(
        matches!(ended, Some(Err(BoardError::InvalidArgument(ref m))) if m.contains("next step is 81")),
        "{ended:?}"
    );
    let mut stream = board
        .stream(StreamConfig::step_locked(10))
        .await
        .expect("opens");
    stream
        .send(frame(81, 82, vec![CHANNELS]))
        .await
        .expect("sent");
    let ended = within(10, "error", stream.recv()).await;
    assert!(
        matches!(ended, Some(Err(BoardError::InvalidArgument(_)))),
        "channel out of range: {ended:?}"
    );
    assert_eq!(board.info().await.expect("info").step, 80, "nothing ran");
}

/// Opens a paced free-running stream, waits until the board is past step
/// 20, sends one frame for step 5 (late) and returns the outcome.
async fn late_frame<B: Board>(board: &B, late: LatePolicy) -> Vec<Result<OutputFrame, BoardError>> {
    board.reset().await.expect("resets");
    let config = StreamConfig {
        steps_per_second: 1000.0,
        ..StreamConfig::free_running(60, late, FullPolicy::Block)
    };
    let mut stream = board.stream(config).await.expect("opens");
    let mut out = Vec::new();
    loop {
        let frame = within(10, "output", stream.recv()).await.expect("frame");
        let step = frame.as_ref().expect("no error yet").step;
        out.push(frame);
        if step == 20 {
            break;
        }
    }
    stream.send(frame(5, 1, vec![3])).await.expect("sent");
    stream.close_inputs();
    while let Some(frame) = within(10, "output", stream.recv()).await {
        out.push(frame);
    }
    out
}

/// Free-running: each late-frame policy and each full-buffer policy.
async fn free_running<B: Board>(board: &B, program: &Program) {
    board.load(program).await.expect("loads");

    // On time: frames apply at the step they name.
    let config = StreamConfig {
        steps_per_second: 500.0,
        ..StreamConfig::free_running(40, LatePolicy::Error, FullPolicy::Block)
    };
    let mut stream = board.stream(config).await.expect("opens");
    stream.send(frame(30, 1, vec![2])).await.expect("sent");
    stream.send(frame(35, 2, vec![4, 5])).await.expect("sent");
    let mut frames = Vec::new();
    while let Some(frame) = within(10, "output", stream.recv()).await {
        frames.push(frame.expect("frame"));
    }
    assert_eq!(frames.len(), 40);
    let relay_at = |frames: &[OutputFrame], step: u64| {
        frames
            .iter()
            .find(|f| f.step == step)
            .map(|f| f.populations[0].1.clone())
            .unwrap_or_default()
    };
    assert_eq!(relay_at(&frames, 31), vec![2]);
    assert_eq!(relay_at(&frames, 36), vec![4, 5]);
    let relay_total: usize = frames.iter().map(|f| f.populations[0].1.len()).sum();
    assert_eq!(relay_total, 3);

    // Late, next-step policy: applied at the first step run after it came.
    let out = late_frame(board, LatePolicy::NextStep).await;
    let frames: Vec<OutputFrame> = out.into_iter().map(|f| f.expect("frame")).collect();
    let applied = frames
        .iter()
        .find(|f| f.last_sequence == 1)
        .expect("the late frame was applied")
        .step;
    assert!(applied > 20);
    assert_eq!(relay_at(&frames, applied + 1), vec![3]);
    assert_eq!(frames.last().map(|f| f.late_dropped), Some(0));

    // Late, drop policy: counted, never applied.
    let out = late_frame(board, LatePolicy::Drop).await;
    let frames: Vec<OutputFrame> = out.into_iter().map(|f| f.expect("frame")).collect();
    assert_eq!(frames.len(), 60);
    assert_eq!(frames.last().map(|f| f.late_dropped), Some(1));
    assert!(frames.iter().all(|f| f.populations[0].1.is_empty()));

    // Late, error policy: the stream ends with an error.
    let out = late_frame(board, LatePolicy::Error).await;
    assert!(
        matches!(out.last(), Some(Err(BoardError::Aborted(m))) if m.contains("step 5")),
        "{:?}",
        out.last()
    );
    assert!(out.len() < 60);
    assert_eq!(board.info().await.expect("info").state, BoardState::Paused);

    // Full buffer: a slow board (50 steps/s) with room for 2 frames, and a
    // host sending 12 frames for future steps at once.
    for full in [FullPolicy::Block, FullPolicy::Drop, FullPolicy::Error] {
        board.reset().await.expect("resets");
        let config = StreamConfig {
            steps_per_second: 50.0,
            buffer_frames: 2,
            ..StreamConfig::free_running(30, LatePolicy::NextStep, full)
        };
        let (mut sender, mut receiver) = board.stream(config).await.expect("opens").split();
        let send = async {
            let mut results = Vec::new();
            for k in 0..12u64 {
                results.push(
                    sender
                        .send(frame(10 + k, k + 1, vec![(k % 16) as u32]))
                        .await,
                );
            }
            sender.close();
            results
        };
        let receive = async {
            let mut out = Vec::new();
            while let Some(frame) = receiver.recv().await {
                out.push(frame);
            }
            out
        };
        let (sent, out) = within(30, "full-buffer stream", async {
            tokio::join!(send, receive)
        })
        .await;
        match full {
            FullPolicy::Block => {
                assert!(sent.iter().all(Result::is_ok));
                let frames: Vec<OutputFrame> = out.into_iter().map(|f| f.expect("frame")).collect();
                assert_eq!(
                    frames.last().map(|f| (f.full_dropped, f.last_sequence)),
                    Some((0, 12))
                );
                let relayed: usize = frames.iter().map(|f| f.populations[0].1.len()).sum();
                assert_eq!(relayed, 12, "every frame applied");
            }
            FullPolicy::Drop => {
                assert!(sent.iter().all(Result::is_ok));
                let frames: Vec<OutputFrame> = out.into_iter().map(|f| f.expect("frame")).collect();
                let dropped = frames.last().map_or(0, |f| f.full_dropped);
                let relayed: usize = frames.iter().map(|f| f.populations[0].1.len()).sum();
                assert!(dropped > 0, "a 2-frame buffer overflows");
                assert_eq!(
                    relayed as u64 + dropped,
                    12,
                    "each frame applied or counted"
                );
            }
            FullPolicy::Error => {
                let ended_with_error = out.iter().any(|f| matches!(f, Err(BoardError::Aborted(_))))
                    || sent
                        .iter()
                        .any(|r| matches!(r, Err(BoardError::Aborted(_))));
                assert!(ended_with_error, "sent {sent:?}, out {}", out.len());
                assert!(out.len() < 30, "the stream ended early");
            }
        }
    }
}

/// Probes of spikes and of state; refused probes.
async fn probes<B: Board>(board: &B, program: &Program) {
    board.load(program).await.expect("loads");
    assert!(matches!(
        board.probes(&[ProbeSpec::spikes("nowhere")]).await,
        Err(BoardError::InvalidArgument(_))
    ));
    let mut data = board
        .probes(&[
            ProbeSpec::spikes("relay"),
            ProbeSpec::neuron("hidden", Var::U),
        ])
        .await
        .expect("probes");
    let frames = stream_steps(board, 1, 10).await;
    let mut records = Vec::new();
    while records.len() < 20 {
        records.push(within(10, "probe", data.recv()).await.expect("record"));
    }
    for (k, f) in frames.iter().enumerate() {
        let spikes = &records[2 * k];
        assert_eq!((spikes.step, spikes.probed), (f.step, Probed::Spikes));
        let as_indices: Vec<u32> = spikes.values.iter().map(|&i| i as u32).collect();
        assert_eq!(as_indices, f.populations[0].1);
        assert_eq!(records[2 * k + 1].values.len(), 40);
    }
    // Stop ends subscriptions.
    board.stop().await.expect("stops");
    assert!(within(10, "probe end", data.recv()).await.is_none());
}

/// Everything above, against one board.
async fn conformance<B: Board>(board: &B) {
    let (program, chip) = program();
    within(60, "lifecycle", lifecycle(board, &program, &chip)).await;
    within(60, "step-locked", step_locked(board, &program, &chip)).await;
    within(60, "free-running", free_running(board, &program)).await;
    within(60, "probes", probes(board, &program)).await;
}

async fn daemon(config: DaemonConfig) -> Running {
    neurite_firmware_sim::spawn(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("daemon starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_board_conforms() {
    let (_, chip) = program();
    conformance(&LocalBoard::new(chip)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_board_conforms() {
    let (_, chip) = program();
    let running = daemon(DaemonConfig::new(chip)).await;
    let board = RemoteBoard::connect(&running.url())
        .await
        .expect("connects");
    conformance(&board).await;
    running.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_and_remote_boards_agree_on_spikes_state_and_energy() {
    let (program, chip) = program();
    let local = within(
        30,
        "local",
        transcript(&LocalBoard::new(chip.clone()), &program),
    )
    .await;
    let running = daemon(DaemonConfig::new(chip.clone())).await;
    let board = RemoteBoard::connect(&running.url())
        .await
        .expect("connects");
    let remote = within(30, "remote", transcript(&board, &program)).await;
    assert_eq!(local.energy.steps.len(), 60);
    assert!(local.energy.total.energy.total() > 0.0);
    assert!(local.spike_counts.iter().any(|&c| c > 0));
    assert_eq!(local, remote);
    // Energy over the wire in pages: a run longer than a page comes back whole.
    board
        .run(RunLength::Steps(20_000), 0)
        .await
        .expect("runs")
        .finish()
        .await
        .expect("done");
    let report = within(30, "energy", board.energy(true))
        .await
        .expect("energy");
    assert_eq!(report.steps.len(), 20_060);
    assert_eq!(report.totals(Some((1, 60))), local.energy.totals(None));
    running.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_left_running_keeps_bounded_step_records_and_whole_totals() {
    let (program, chip) = program();
    let mut config = DaemonConfig::new(chip.clone());
    config.step_records = Some(1000);
    let running = daemon(config).await;
    let board = RemoteBoard::connect(&running.url())
        .await
        .expect("connects");
    // The same steps on a board that keeps every record, for the totals.
    let whole = LocalBoard::with_step_records(chip, None);
    async fn run<B: Board>(board: &B, program: &Program) {
        board.load(program).await.expect("loads");
        board
            .run(RunLength::Steps(10_000), 0)
            .await
            .expect("runs")
            .finish()
            .await
            .expect("done");
    }
    run(&board, &program).await;
    run(&whole, &program).await;
    let bounded = within(30, "energy", board.energy(true))
        .await
        .expect("energy");
    let all = whole.energy(true).await.expect("energy");
    assert_eq!(all.steps.len(), 10_000);
    assert!((1000..=2000).contains(&bounded.steps.len()));
    assert_eq!(bounded.steps.last().map(|s| s.step), Some(10_000));
    assert_eq!(bounded.steps[..], all.steps[10_000 - bounded.steps.len()..]);
    assert_eq!(bounded.total, all.total);
    assert_eq!(bounded.total.steps, 10_000);
    running.shutdown().await.expect("clean shutdown");
}

// --- Learning: traces and weights probed live, weights and tags written. ---

/// Steps of the learning scenario.
const LEARN_STEPS: u64 = 30;

/// Post neurons of the learning network: more than a core of the tiny chip
/// holds, so that the projection's synapses and traces are gathered from
/// several cores.
const POST: u32 = 20;

/// Reward-modulated STDP from 4 host inputs onto 20 post neurons, which a
/// drive input makes spike; dopamine from the host and from a population
/// that spikes every step.
fn learning_program() -> (Program, ChipProfile) {
    let text = format!(
        r#"
        name = "learning-conformance"
        [[populations]]
        name = "pre"
        size = 4
        model = "input"
        [[populations]]
        name = "drive"
        size = {POST}
        model = "input"
        [[populations]]
        name = "post"
        size = {POST}
        model = "lif"
        du = 4095
        dv = 4095
        vth = 2000
        [[populations]]
        name = "da"
        size = 2
        model = "lif"
        du = 0
        dv = 0
        vth = 0
        bias_mant = 1
        [[neuromodulators]]
        name = "dopamine"
        population = "da"
        weight = [3, 4]
        [[projections]]
        name = "plastic"
        from = "pre"
        to = "post"
        fixed_probability = {{ p = 0.6, weight = 100, seed = 5 }}
        [projections.learning]
        rule = "reward_stdp"
        neuromodulator = "dopamine"
        A_plus = 2
        A_minus = -1
        pre_trace_kernel_magnitude = 16
        pre_trace_decay_tau = 4
        eligibility_trace_decay_tau = 0.5
        rng_seed = 3
        [[projections]]
        from = "drive"
        to = "post"
        one_to_one = {{ weight = 255 }}
        weight_exp = 6
        "#
    );
    let chip = tiny_chip(16);
    let compiled = neurite::compiler::compile(&toml(&text), &chip).expect("compiles");
    let cores = compiled
        .program
        .cores
        .iter()
        .filter(|c| !c.learning.is_empty())
        .count();
    assert!(cores >= 2, "the learning projection spans cores");
    (compiled.program, chip)
}

/// The host's input at a step: pre spikes, drive spikes a step later, and
/// a reward that turns negative halfway.
fn learning_frame(step: u64) -> InputFrame {
    let pre: Vec<u32> = (0..4).filter(|&p| (step + u64::from(p)) % 5 == 1).collect();
    let drive: Vec<u32> = (0..POST)
        .filter(|&n| (step + u64::from(n)) % 5 == 2)
        .collect();
    InputFrame {
        step,
        sequence: step,
        inputs: vec![("pre".to_string(), pre), ("drive".to_string(), drive)],
        neuromodulators: vec![(
            "dopamine".to_string(),
            if step <= LEARN_STEPS / 2 { 40 } else { -60 },
        )],
    }
}

/// Every learning variable a probe can stream, in the order subscribed.
const LEARNING_VARS: [LearningVar; 8] = [
    LearningVar::Synapse(SynapseVar::Weight),
    LearningVar::Synapse(SynapseVar::Tag),
    LearningVar::Synapse(SynapseVar::Delay),
    LearningVar::Trace(Trace::X1),
    LearningVar::Trace(Trace::X2),
    LearningVar::Trace(Trace::Y1),
    LearningVar::Trace(Trace::Y2),
    LearningVar::Trace(Trace::Y3),
];

/// The emulator driven directly: after every step, the values of
/// [`LEARNING_VARS`].
fn learning_offline(program: &Program, chip: &ChipProfile) -> Vec<Vec<Vec<i32>>> {
    let mut emulator = Emulator::new(program, chip).expect("loads");
    let dopamine = emulator.neuromodulator("dopamine").expect("dopamine");
    (1..=LEARN_STEPS)
        .map(|step| {
            let frame = learning_frame(step);
            for (port, channels) in &frame.inputs {
                let port = program.input_port(port).expect("port");
                emulator.inject(port, channels).expect("inject");
            }
            emulator
                .set_neuromodulator(dopamine, frame.neuromodulators[0].1)
                .expect("reward");
            emulator.step();
            let learned = emulator.learned("plastic").expect("learns");
            LEARNING_VARS
                .iter()
                .map(|var| match var {
                    LearningVar::Synapse(var) => learned
                        .synapses
                        .iter()
                        .map(|s| {
                            i32::from(match var {
                                SynapseVar::Weight => s.2,
                                SynapseVar::Tag => s.3,
                                SynapseVar::Delay => s.4,
                            })
                        })
                        .collect(),
                    LearningVar::Trace(t) => emulator.trace("plastic", *t).expect("trace"),
                })
                .collect()
        })
        .collect()
}

/// What a board did in the learning scenario; equal across boards.
#[derive(Debug, PartialEq)]
struct LearningTranscript {
    /// Per step, the probed values of [`LEARNING_VARS`].
    probed: Vec<Vec<Vec<i32>>>,
    /// The state after the run, after writing weights and tags, and after
    /// running on from the written state.
    learned: Vec<neurite_host::LearnedState>,
    /// The errors of refused writes and probes.
    errors: Vec<BoardError>,
}

async fn learning_scenario<B: Board>(board: &B, program: &Program) -> LearningTranscript {
    board.load(program).await.expect("loads");
    let specs: Vec<ProbeSpec> = LEARNING_VARS
        .iter()
        .map(|&var| ProbeSpec::learning("plastic", var))
        .collect();
    let mut errors = Vec::new();
    // A learning variable of something that does not learn.
    errors.push(
        board
            .probes(&[ProbeSpec::learning("nope", LearningVar::Trace(Trace::X1))])
            .await
            .expect_err("no such projection"),
    );
    let mut probes = board.probes(&specs).await.expect("probes");
    let stream = board
        .stream(StreamConfig::step_locked(LEARN_STEPS))
        .await
        .expect("stream opens");
    let (mut sender, mut receiver) = stream.split();
    let send = async {
        for step in 1..=LEARN_STEPS {
            sender.send(learning_frame(step)).await.expect("frame sent");
        }
    };
    let receive = async {
        while let Some(frame) = receiver.recv().await {
            frame.expect("output frame");
        }
    };
    let read_probes = async {
        let mut probed = vec![Vec::new(); LEARN_STEPS as usize];
        for _ in 0..LEARN_STEPS * LEARNING_VARS.len() as u64 {
            let data = within(10, "learning probe", probes.recv())
                .await
                .expect("a record per variable and step");
            assert_eq!(data.name, "plastic");
            let k = LEARNING_VARS
                .iter()
                .position(|&v| data.probed == Probed::Learning(v))
                .expect("a probed variable");
            let step = &mut probed[data.step as usize - 1];
            assert_eq!(step.len(), k, "records in the order subscribed");
            step.push(data.values);
        }
        probed
    };
    let ((), (), probed) = tokio::join!(send, receive, read_probes);
    drop(probes);

    let mut learned = vec![board.learned("plastic").await.expect("learned")];
    let n = learned[0].synapses.len();
    // Write back a state: every weight and tag, then part of the weights.
    let weights: Vec<i32> = (0..n as i32).map(|k| 7 * k - 100).collect();
    let tags: Vec<i32> = (0..n as i32).map(|k| 50 - 3 * k).collect();
    board
        .set_learned("plastic", SynapseVar::Weight, 0, &weights)
        .await
        .expect("weights written");
    board
        .set_learned("plastic", SynapseVar::Tag, 0, &tags)
        .await
        .expect("tags written");
    board
        .set_learned("plastic", SynapseVar::Weight, 2, &[255, -256])
        .await
        .expect("weights written");
    let written = board.learned("plastic").await.expect("learned");
    let mut want = weights.clone();
    want[2..4].copy_from_slice(&[255, -256]);
    assert_eq!(
        written.values(LearningVar::Synapse(SynapseVar::Weight)),
        want
    );
    assert_eq!(written.values(LearningVar::Synapse(SynapseVar::Tag)), tags);
    learned.push(written);
    // Refused writes change nothing.
    for (var, start, values) in [
        (SynapseVar::Weight, 3, vec![0, 256]),
        (SynapseVar::Tag, 0, vec![-258]),
        (SynapseVar::Delay, 1, vec![-1]),
        (SynapseVar::Weight, n as u32 - 1, vec![0, 0]),
    ] {
        errors.push(
            board
                .set_learned("plastic", var, start, &values)
                .await
                .expect_err("refused"),
        );
    }
    errors.push(
        board
            .set_learned("nope", SynapseVar::Weight, 0, &[0])
            .await
            .expect_err("no such projection"),
    );
    assert_eq!(
        &board.learned("plastic").await.expect("learned"),
        &learned[1]
    );
    // The written state learns on.
    let stream = board
        .stream(StreamConfig::step_locked(10))
        .await
        .expect("stream opens");
    let (mut sender, mut receiver) = stream.split();
    let send = async {
        for step in LEARN_STEPS + 1..=LEARN_STEPS + 10 {
            sender.send(learning_frame(step)).await.expect("frame sent");
        }
    };
    let receive = async {
        while let Some(frame) = receiver.recv().await {
            frame.expect("output frame");
        }
    };
    tokio::join!(send, receive);
    learned.push(board.learned("plastic").await.expect("learned"));
    // Reset restores the Program's weights.
    board.reset().await.expect("resets");
    let initial = board.learned("plastic").await.expect("learned");
    assert!(
        initial
            .values(LearningVar::Synapse(SynapseVar::Weight))
            .iter()
            .all(|&w| w == 100)
    );
    LearningTranscript {
        probed,
        learned,
        errors,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learning_probes_and_writes_agree_on_local_and_remote_boards() {
    let (program, chip) = learning_program();
    let want = learning_offline(&program, &chip);
    // Learning happened, and each trace moved.
    assert_ne!(want[0][0], want[LEARN_STEPS as usize - 1][0]);
    for k in [3, 5, 6] {
        assert!(
            want.iter().any(|step| step[k].iter().any(|&v| v != 0)),
            "{:?} never moved",
            LEARNING_VARS[k]
        );
    }
    let local = within(
        60,
        "local",
        learning_scenario(&LocalBoard::new(chip.clone()), &program),
    )
    .await;
    assert_eq!(local.probed, want, "probes stream what the emulator holds");
    let n = local.learned[0].synapses.len();
    assert_eq!(local.learned[0].traces[0].len(), 4);
    assert_eq!(local.learned[0].traces[2].len(), POST as usize);
    assert_ne!(
        local.learned[1], local.learned[2],
        "the written state learns"
    );
    let messages: Vec<String> = local.errors.iter().map(|e| e.to_string()).collect();
    assert!(
        matches!(local.errors[0], BoardError::InvalidArgument(_))
            && messages[0].contains("no learning projection 'nope'"),
        "{messages:?}"
    );
    for (k, expected) in [
        (1, "learning projection 'plastic', synapse 4 (pre "),
        (1, "weight 256 is out of range -256..=255"),
        (2, "synapse 0 (pre 0, post "),
        (2, "tag -258 is out of range -257..=255"),
        (3, "delay variable -1 is out of range 0..=255"),
        (
            4,
            &format!(
                "learning projection 'plastic': synapses {}..{} are out of range: it has {n}",
                n - 1,
                n + 1
            ),
        ),
        (5, "no learning projection 'nope'"),
    ] {
        assert!(
            matches!(local.errors[k], BoardError::InvalidArgument(_))
                && messages[k].contains(expected),
            "{k}: {} lacks {expected}",
            messages[k]
        );
    }
    let running = daemon(DaemonConfig::new(chip)).await;
    let board = RemoteBoard::connect(&running.url())
        .await
        .expect("connects");
    let remote = within(60, "remote", learning_scenario(&board, &program)).await;
    assert_eq!(local, remote);
    running.shutdown().await.expect("clean shutdown");
}

/// Over the wire, GetState and SetState address a learning projection's
/// variables too; traces are read-only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_calls_address_learning_projections_on_the_wire() {
    use neurite_proto::v1;
    let (program, chip) = learning_program();
    let running = daemon(DaemonConfig::new(chip)).await;
    let board = RemoteBoard::connect(&running.url())
        .await
        .expect("connects");
    board.load(&program).await.expect("loads");
    board.release().await.expect("releases");
    let mut client = v1::board_client::BoardClient::connect(running.url())
        .await
        .expect("connects");
    let target = |variable: v1::Variable, start: u32, count: u32| v1::StateTarget {
        of: Some(v1::state_target::Of::Projection("plastic".to_string())),
        variable: variable as i32,
        start,
        count,
    };
    client
        .set_state(v1::SetStateRequest {
            target: Some(target(v1::Variable::Weight, 1, 0)),
            values: vec![-5, 6],
        })
        .await
        .expect("weights written");
    let reader = client.clone();
    let read = move |t: v1::StateTarget| {
        let mut client = reader.clone();
        async move {
            client
                .get_state(v1::GetStateRequest { target: Some(t) })
                .await
        }
    };
    let weights = read(target(v1::Variable::Weight, 0, 4))
        .await
        .expect("weights")
        .into_inner()
        .values;
    assert_eq!(weights, vec![100, -5, 6, 100]);
    let x1 = read(target(v1::Variable::X1, 0, 0))
        .await
        .expect("x1")
        .into_inner()
        .values;
    assert_eq!(x1, vec![0; 4]);
    let beyond = read(target(v1::Variable::Y1, POST, 1))
        .await
        .expect_err("beyond the traces");
    assert_eq!(beyond.code(), tonic::Code::InvalidArgument);
    assert!(
        beyond.message().contains("'plastic'"),
        "{}",
        beyond.message()
    );
    let read_only = client
        .set_state(v1::SetStateRequest {
            target: Some(target(v1::Variable::X2, 0, 0)),
            values: vec![1],
        })
        .await
        .expect_err("traces are read-only");
    assert_eq!(read_only.code(), tonic::Code::InvalidArgument);
    assert!(
        read_only.message().contains("trace x2 is read-only"),
        "{}",
        read_only.message()
    );
    let no_variable = read(target(v1::Variable::U, 0, 0))
        .await
        .expect_err("u is no learning variable");
    assert_eq!(no_variable.code(), tonic::Code::InvalidArgument);
    let wrong_target = read(v1::StateTarget {
        of: Some(v1::state_target::Of::Population("post".to_string())),
        variable: v1::Variable::Weight as i32,
        start: 0,
        count: 0,
    })
    .await
    .expect_err("weights belong to projections");
    assert_eq!(wrong_target.code(), tonic::Code::InvalidArgument);
    running.shutdown().await.expect("clean shutdown");
}

// --- What only a daemon has. ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_spike_sets_end_the_stream_with_invalid_argument() {
    use neurite_proto::v1;
    let (program, chip) = program();
    let running = daemon(DaemonConfig::new(chip)).await;
    let board = RemoteBoard::connect(&running.url())
        .await
        .expect("connects");
    board.load(&program).await.expect("loads");
    board.release().await.expect("releases");
    let mut client = v1::board_client::BoardClient::connect(running.url())
        .await
        .expect("connects");
    let config = v1::StreamConfig {
        mode: v1::StreamMode::StepLocked as i32,
        steps: 5,
        ..Default::default()
    };
    let bad_sets = [
        // A bitmap one byte long for 64 channels.
        v1::SpikeSet {
            size: 64,
            encoding: Some(v1::spike_set::Encoding::Bitmap(vec![1])),
        },
        // An index beyond the set's size.
        v1::SpikeSet {
            size: 16,
            encoding: Some(v1::spike_set::Encoding::Gaps(v1::IndexGaps {
                gaps: vec![70],
            })),
        },
    ];
    for (attempt, set) in bad_sets.iter().cycle().take(20).enumerate() {
        let good_frames = (attempt % 3) as u64;
        let mut frames = vec![v1::InputFrame {
            config: Some(config.clone()),
            ..Default::default()
        }];
        let first = board.info().await.expect("info").step + 1;
        for k in 0..good_frames {
            frames.push(v1::InputFrame {
                step: first + k,
                sequence: k + 1,
                ..Default::default()
            });
        }
        frames.push(v1::InputFrame {
            step: first + good_frames,
            sequence: good_frames + 1,
            inputs: vec![v1::PortSpikes {
                port: "in".to_string(),
                spikes: Some(set.clone()),
            }],
            ..Default::default()
        });
        let mut replies = client
            .stream_spikes(tokio_stream::iter(frames))
            .await
            .expect("stream opens")
            .into_inner();
        let mut outputs = 0;
        let status = loop {
            match within(10, "reply", replies.message()).await {
                Ok(Some(_)) => outputs += 1,
                Ok(None) => {
                    panic!("attempt {attempt}: ended without an error after {outputs} frames")
                }
                Err(status) => break status,
            }
        };
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        assert_eq!(outputs, good_frames, "the frames before the bad one ran");
    }
    running.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_controls_the_board_others_read() {
    let (program, chip) = program();
    let running = daemon(DaemonConfig::new(chip)).await;
    let url = running.url();
    let owner = RemoteBoard::connect_with(&url, Some("owner"), None)
        .await
        .expect("connects");
    let other = RemoteBoard::connect_with(&url, Some("other"), None)
        .await
        .expect("connects");
    owner.load(&program).await.expect("loads");
    let refused = other
        .run(RunLength::Steps(1), 0)
        .await
        .expect_err("refused");
    assert!(
        matches!(&refused, BoardError::FailedPrecondition(m) if m.contains("'owner'")),
        "{refused}"
    );
    for refused in [
        other.load(&program).await.map(|_| ()),
        other.set_state(&v_of("hidden"), &[0; 40]).await,
        other.pause().await.map(|_| ()),
        other.reset().await.map(|_| ()),
    ] {
        assert!(
            matches!(refused, Err(BoardError::FailedPrecondition(_))),
            "{refused:?}"
        );
    }
    let info = other.info().await.expect("reads info");
    assert_eq!(info.lease_holder, "owner");
    other.get_state(&v_of("hidden")).await.expect("reads state");
    other.energy(false).await.expect("reads energy");
    assert!(other.release().await.is_err(), "only the holder releases");
    owner.release().await.expect("releases");
    other
        .run(RunLength::Steps(3), 0)
        .await
        .expect("now it may")
        .finish()
        .await
        .expect("done");
    running.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_vanishing_mid_stream_leaves_the_board_paused_for_the_next() {
    let (program, chip) = program();
    let running = daemon(DaemonConfig::new(chip.clone())).await;
    let url = running.url();
    {
        let first = RemoteBoard::connect_with(&url, Some("first"), None)
            .await
            .expect("connects");
        first.load(&program).await.expect("loads");
        let mut stream = first
            .stream(StreamConfig::step_locked(0))
            .await
            .expect("opens");
        for step in 1..=10 {
            stream
                .send(frame(step, step, channels_at(step)))
                .await
                .expect("sent");
            within(10, "output", stream.recv())
                .await
                .expect("frame")
                .expect("ok");
        }
        // Dropped here without closing: the connection goes away mid-stream.
    }
    let second = RemoteBoard::connect_with(&url, Some("second"), None)
        .await
        .expect("connects");
    let mut info = second.info().await.expect("info");
    for _ in 0..200 {
        if info.state == BoardState::Paused && info.lease_holder.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        info = second.info().await.expect("info");
    }
    assert_eq!((info.state, info.step), (BoardState::Paused, 10));
    assert!(
        info.lease_holder.is_empty(),
        "the lease ended with the stream"
    );
    // The second client takes over and continues where the first stopped.
    let frames = within(30, "stream", stream_steps(&second, 11, 10)).await;
    let inputs: Vec<Vec<u32>> = (1..=20).map(channels_at).collect();
    assert_eq!(
        spikes_of(&frames),
        spikes_of(&offline(&program, &chip, &inputs)[10..])
    );
    running.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_client_process_releases_the_board() {
    let running = daemon(DaemonConfig::new(ChipProfile::loihi2())).await;
    let url = running.url();
    let example = crate::support::root().join("examples/two-layer.toml");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_neurite"))
        .args(["run", "--board", &url, "--steps", "100000000"])
        .arg(&example)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("neurite starts");
    let watcher = RemoteBoard::connect(&url).await.expect("connects");
    let mut info = watcher.info().await.expect("info");
    for _ in 0..1000 {
        if info.state == BoardState::Running && info.step > 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        info = watcher.info().await.expect("info");
    }
    assert_eq!(info.state, BoardState::Running, "the client's run started");
    assert!(!info.lease_holder.is_empty());
    child.kill().expect("kills");
    child.wait().expect("reaped");
    for _ in 0..500 {
        info = watcher.info().await.expect("info");
        if info.state == BoardState::Paused && info.lease_holder.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(info.state, BoardState::Paused);
    assert!(info.lease_holder.is_empty());
    let paused_at = info.step;
    let status = watcher
        .run(RunLength::Steps(5), 0)
        .await
        .expect("a new client controls the board")
        .finish()
        .await
        .expect("done");
    assert_eq!(status, RunStatus::Done(paused_at + 5));
    running.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_uploads_are_refused_and_leave_the_board_unchanged() {
    let (program, chip) = program();
    let running = daemon(DaemonConfig::new(chip)).await;
    let board = RemoteBoard::connect(&running.url())
        .await
        .expect("connects");
    let loaded = board.load(&program).await.expect("loads");
    board
        .run(RunLength::Steps(7), 0)
        .await
        .expect("runs")
        .finish()
        .await
        .expect("done");
    let before = board.info().await.expect("info");
    let v_before = board.get_state(&v_of("hidden")).await.expect("v");

    let bytes = program.encode();
    let chunks = neurite_proto::program_chunks(&bytes, 1024);
    assert!(chunks.len() > 3);
    let mut truncated = chunks.clone();
    truncated.pop();
    let mut corrupt = chunks.clone();
    corrupt[1].data[100] ^= 0x40;
    let mut reordered = chunks.clone();
    reordered.swap(1, 2);
    let mut no_header = chunks.clone();
    no_header[0].total_size = 0;
    let garbage = neurite_proto::program_chunks(b"these bytes are not a Program", 8);
    for (what, chunks) in [
        ("truncated", truncated),
        ("corrupt", corrupt),
        ("reordered", reordered),
        ("without a total size", no_header),
        ("not a Program", garbage),
        ("empty", Vec::new()),
    ] {
        let err = board.load_chunks(chunks).await.expect_err("refused");
        assert!(
            matches!(err, BoardError::InvalidArgument(_)),
            "{what}: {err}"
        );
    }
    // A Program for another chip, well formed.
    let mut foreign = program.clone();
    foreign.chip = "loihi1".to_string();
    let err = board.load(&foreign).await.expect_err("refused");
    assert!(matches!(err, BoardError::InvalidArgument(_)), "{err}");
    let after = board.info().await.expect("info");
    assert_eq!(
        (after.state, after.step, &after.program_id),
        (before.state, before.step, &before.program_id)
    );
    assert_eq!(after.program_id, loaded.program_id);
    assert_eq!(board.get_state(&v_of("hidden")).await.expect("v"), v_before);
    board
        .run(RunLength::Steps(1), 0)
        .await
        .expect("still runs")
        .finish()
        .await
        .expect("done");
    running.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_get_a_clean_error() {
    let (program, chip) = program();
    let mut config = DaemonConfig::new(chip);
    config.max_message_bytes = 64 << 10;
    config.max_program_bytes = 1 << 20;
    let running = daemon(config).await;
    let board = RemoteBoard::connect(&running.url())
        .await
        .expect("connects");
    board
        .load_encoded(&program.encode(), 16 << 10)
        .await
        .expect("loads in small chunks");
    // One message over the limit: a state write of 100 000 values.
    let huge = vec![0; 100_000];
    let err = board
        .set_state(&v_of("hidden"), &huge)
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("too large"), "{err}");
    // A chunk over the limit.
    let chunk = neurite_proto::v1::ProgramChunk {
        total_size: 100 << 10,
        crc32: 0,
        offset: 0,
        data: vec![7; 100 << 10],
    };
    let err = board.load_chunks(vec![chunk]).await.expect_err("refused");
    assert!(err.to_string().contains("too large"), "{err}");
    // A Program announced over the board's Program limit.
    let mut chunks = neurite_proto::program_chunks(&program.encode(), 4096);
    chunks[0].total_size = 2 << 20;
    let err = board.load_chunks(chunks).await.expect_err("refused");
    assert!(matches!(err, BoardError::ResourceExhausted(_)), "{err}");
    // The board is still there, unchanged.
    let info = board.info().await.expect("info");
    assert_eq!((info.state, info.step), (BoardState::Loaded, 0));
    assert_eq!(info.max_message_bytes, 64 << 10);
    running.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_readers_while_one_client_streams() {
    let (program, chip) = program();
    let running = daemon(DaemonConfig::new(chip.clone())).await;
    let url = running.url();
    let streamer = RemoteBoard::connect(&url).await.expect("connects");
    streamer.load(&program).await.expect("loads");
    let readers: Vec<_> = (0..20)
        .map(|k| {
            let url = url.clone();
            tokio::spawn(async move {
                let reader = RemoteBoard::connect_with(&url, Some(&format!("reader-{k}")), None)
                    .await
                    .expect("connects");
                let mut seen = Vec::new();
                for _ in 0..15 {
                    let info = reader.info().await.expect("info");
                    let energy = reader.energy(false).await.expect("energy");
                    assert!(energy.total.steps >= info.step, "read after the info");
                    seen.push(info.step);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                seen
            })
        })
        .collect();
    let frames = within(60, "stream", stream_steps(&streamer, 1, 400)).await;
    for reader in readers {
        let seen = reader.await.expect("reader finished");
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "steps only advance");
    }
    let inputs: Vec<Vec<u32>> = (1..=400).map(channels_at).collect();
    assert_eq!(
        spikes_of(&frames),
        spikes_of(&offline(&program, &chip, &inputs))
    );
    running.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_with_a_token_refuses_clients_without_it() {
    let mut config = DaemonConfig::new(ChipProfile::loihi2());
    config.token = Some("s3cret-token".to_string());
    let running = daemon(config).await;
    let url = running.url();
    for token in [
        None,
        Some("wrong"),
        Some("s3cret-toke"),
        Some("s3cret-token-"),
    ] {
        let board = RemoteBoard::connect_with(&url, None, token)
            .await
            .expect("connects");
        let err = board.info().await.expect_err("refused");
        assert!(
            matches!(err, BoardError::Unauthenticated(_)),
            "{token:?}: {err}"
        );
    }
    let board = RemoteBoard::connect_with(&url, None, Some("s3cret-token"))
        .await
        .expect("connects");
    let info = board.info().await.expect("the right token opens the board");
    assert!(info.capabilities.iter().any(|c| c == "auth"));
    running.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_are_served() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let mut config = DaemonConfig::new(ChipProfile::loihi2());
    config.token = Some("t".to_string());
    let running = daemon(config).await;
    let channel = tonic::transport::Endpoint::from_shared(running.url())
        .expect("url")
        .connect()
        .await
        .expect("connects");
    // Health needs no token: orchestrators probe it.
    let status = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: "neurite.v1.Board".to_string(),
        })
        .await
        .expect("health answers")
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::once(request))
        .await
        .expect("reflection answers")
        .into_inner();
    let response = responses.message().await.expect("message").expect("one");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("not a service list");
    };
    assert!(list.service.iter().any(|s| s.name == "neurite.v1.Board"));
    running.shutdown().await.expect("clean shutdown");
}

/// `neurite run NET --json --steps 200 ARGS…`, parsed.
fn neurite_json(net: std::path::PathBuf, args: Vec<String>) -> serde_json::Value {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_neurite"))
        .arg("run")
        .arg(&net)
        .args(["--json", "--steps", "200"])
        .args(args)
        .output()
        .expect("neurite runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neurite_run_on_a_daemon_compiles_for_its_chip_and_matches_the_local_run() {
    let running = daemon(DaemonConfig::new(ChipProfile::loihi1())).await;
    let example = crate::support::root().join("examples/balanced-poisson.toml");
    let args = vec!["--board".to_string(), running.url()];
    let net = example.clone();
    let remote = tokio::task::spawn_blocking(move || neurite_json(net, args))
        .await
        .expect("ran");
    let args = vec!["--chip".to_string(), "loihi1".to_string()];
    let local = tokio::task::spawn_blocking(move || neurite_json(example, args))
        .await
        .expect("ran");
    assert_eq!(remote["populations"], local["populations"]);
    let steps = remote["populations"]["exc"]["spikes"]
        .as_array()
        .map(Vec::len);
    assert_eq!(steps, Some(200));
    running.shutdown().await.expect("clean shutdown");
}

/// Runs `neurite run` on the host-rewarded learning network, recording the
/// weights; returns the weights CSV.
fn reward_weights(args: Vec<String>) -> String {
    let root = crate::support::root();
    let out = tempfile::tempdir().expect("temp dir");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_neurite"))
        .current_dir(&root)
        .args([
            "run",
            "tests/python/reward.toml",
            "--probe-weights",
            "plastic",
        ])
        .arg("--out")
        .arg(out.path())
        .args(args)
        .output()
        .expect("neurite runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read_to_string(out.path().join("plastic_weights.csv")).expect("weights CSV")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neurite_run_streams_neuromodulators_and_probes_weights_on_a_daemon_as_locally() {
    let running = daemon(DaemonConfig::new(ChipProfile::loihi2())).await;
    let reward = vec![
        "--neuromodulator".to_string(),
        "dopamine=tests/python/reward.csv".to_string(),
    ];
    let mut on_board = reward.clone();
    on_board.extend(["--board".to_string(), running.url()]);
    let remote = tokio::task::spawn_blocking(move || reward_weights(on_board))
        .await
        .expect("ran");
    let local = tokio::task::spawn_blocking(move || reward_weights(reward))
        .await
        .expect("ran");
    let unrewarded = tokio::task::spawn_blocking(move || reward_weights(Vec::new()))
        .await
        .expect("ran");
    assert_eq!(remote, local);
    let last = |csv: &str| -> Vec<i32> {
        let line = csv.lines().last().expect("a row");
        line.split(',')
            .skip(1)
            .map(|w| w.parse().expect("a weight"))
            .collect()
    };
    let row = |csv: &str, step: usize| -> Vec<i32> {
        let line = csv.lines().nth(step).expect("a row");
        line.split(',')
            .skip(1)
            .map(|w| w.parse().expect("a weight"))
            .collect()
    };
    assert_eq!(local.lines().count(), 61, "a header and 60 steps");
    // Without dopamine the weights stay; with it they rise while it is
    // positive (steps 1..30) and fall once it turns negative.
    assert!(last(&unrewarded).iter().all(|&w| w == 100), "{unrewarded}");
    let (mid, end) = (row(&local, 30), last(&local));
    assert!(mid.iter().sum::<i32>() > 800, "{mid:?}");
    assert!(end.iter().sum::<i32>() < mid.iter().sum::<i32>(), "{end:?}");
    running.shutdown().await.expect("clean shutdown");
}
