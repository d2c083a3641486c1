//! The board protocol's speed: spikes streamed host → board → host, the
//! round trip of one step-locked step, and Program upload. The daemon runs
//! in this process on threads and a runtime of its own, as `neurite-board`
//! would, and is reached over loopback TCP from a client on one thread, as
//! a host process on the same machine would reach it; the in-process board
//! is measured beside it for comparison.
//!
//! Besides Criterion's estimates, the binary prints the percentiles of the
//! step-locked round trip over 20,000 steps (Criterion reports means and
//! medians, a closed loop cares about the tail).

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use neurite::chip::ChipProfile;
use neurite::program::Program;
use neurite_firmware_sim::DaemonConfig;
use neurite_host::{Board, InputFrame, LocalBoard, RemoteBoard, StreamConfig};

/// Input channels of the streaming network; each relays to one neuron.
const CHANNELS: u32 = 4096;
/// Steps per streaming iteration.
const STREAM_STEPS: u64 = 200;

/// The host's side: one thread, as in a client process of its own.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A daemon on threads of its own, with the runtime `neurite-board` has
/// (a worker per core), as in a separate process.
struct Daemon {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Daemon {
    fn start(chip: ChipProfile) -> Self {
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let running = neurite_firmware_sim::spawn(
                    DaemonConfig::new(chip),
                    "127.0.0.1:0".parse().expect("address"),
                )
                .await
                .expect("daemon");
                url_tx.send(running.url()).expect("url");
                let _ = stopped.await;
                running.shutdown().await.expect("shutdown");
            });
        });
        let url = url_rx.recv().expect("daemon started");
        Self {
            url,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

/// Drops a client and lets its connection close (the daemon's graceful
/// shutdown waits for it; the connection's task runs on the client's
/// runtime).
fn close(rt: &tokio::runtime::Runtime, board: RemoteBoard) {
    rt.block_on(async {
        drop(board);
        tokio::time::sleep(Duration::from_millis(50)).await;
    });
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn compile(text: &str, chip: &ChipProfile) -> Program {
    let network = neurite::net::from_toml_str(text, "bench.toml", None).expect("valid");
    neurite::compiler::compile(&network, chip)
        .expect("compiles")
        .program
}

/// Every input spike makes its relay neuron spike one step later.
fn relay() -> Program {
    compile(
        &format!(
            r#"
            name = "relay"
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
            [[projections]]
            from = "in"
            to = "relay"
            one_to_one = {{ weight = 127 }}
            weight_exp = 4
            [[probes]]
            population = "relay"
            vars = ["spikes"]
            "#
        ),
        &ChipProfile::loihi2(),
    )
}

/// 1,000 recurrent LIF neurons driven by 100 input channels.
fn thousand() -> Program {
    compile(
        r#"
        name = "closed-loop"
        [[populations]]
        name = "sensors"
        size = 100
        model = "input"
        [[populations]]
        name = "net"
        size = 1000
        model = "lif"
        du = 1024
        dv = 256
        vth = 200
        [[projections]]
        from = "sensors"
        to = "net"
        fixed_probability = { p = 0.1, weight = 80, seed = 1 }
        [[projections]]
        from = "net"
        to = "net"
        fixed_probability = { p = 0.02, weight = -20, seed = 2 }
        [[probes]]
        population = "net"
        vars = ["spikes"]
        "#,
        &ChipProfile::loihi2(),
    )
}

/// Half the channels, a different half every step.
fn dense_frame(step: u64) -> Vec<u32> {
    (0..CHANNELS)
        .filter(|c| (u64::from(*c) + step).is_multiple_of(2))
        .collect()
}

/// Streams `steps` step-locked steps after `first - 1`, frames sent ahead of
/// the board; returns the output spikes received.
async fn stream<B: Board>(board: &B, first: u64, steps: u64, port: &str) -> u64 {
    let (mut sender, mut receiver) = board
        .stream(StreamConfig {
            buffer_frames: 256,
            ..StreamConfig::step_locked(steps)
        })
        .await
        .expect("stream")
        .split();
    let port = port.to_string();
    let send = async move {
        for step in first..first + steps {
            let frame = InputFrame {
                step,
                sequence: step,
                inputs: vec![(port.clone(), dense_frame(step))],
                neuromodulators: Vec::new(),
            };
            sender.send(frame).await.expect("sent");
        }
    };
    let receive = async {
        let mut spikes = 0u64;
        while let Some(frame) = receiver.recv().await {
            let frame = frame.expect("frame");
            spikes += frame
                .populations
                .iter()
                .map(|(_, s)| s.len() as u64)
                .sum::<u64>();
        }
        spikes
    };
    let ((), spikes) = tokio::join!(send, receive);
    spikes
}

fn streaming(c: &mut Criterion, rt: &tokio::runtime::Runtime, remote: &RemoteBoard) {
    let program = relay();
    let local = LocalBoard::new(ChipProfile::loihi2());
    let mut group = c.benchmark_group("stream");
    // Output spikes of one iteration: the relay answers every input spike
    // but those of the last step.
    let spikes_out = u64::from(CHANNELS / 2) * (STREAM_STEPS - 1);
    group.throughput(Throughput::Elements(spikes_out));
    group.sample_size(20);
    for (name, on_remote) in [("remote", true), ("local", false)] {
        rt.block_on(async {
            if on_remote {
                remote.load(&program).await.expect("loads");
            } else {
                local.load(&program).await.expect("loads");
            }
        });
        let mut next = 1u64;
        group.bench_function(
            format!("{name}: {CHANNELS} channels, half spiking, {STREAM_STEPS} steps"),
            |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            let started = Instant::now();
                            let spikes = if on_remote {
                                stream(remote, next, STREAM_STEPS, "in").await
                            } else {
                                stream(&local, next, STREAM_STEPS, "in").await
                            };
                            total += started.elapsed();
                            assert!(spikes >= spikes_out, "the relay answered");
                            next += STREAM_STEPS;
                        }
                        total
                    })
                });
            },
        );
    }
    // The floor: the same steps on the emulator driven directly, model on,
    // inputs injected and output spikes collected, no board in between.
    let chip = ChipProfile::loihi2();
    let mut emulator = neurite::emulator::Emulator::new(&program, &chip).expect("loads");
    emulator.enable_model(chip.costs.clone());
    let port = program.input_port("in").expect("port");
    let relay = program.population("relay").expect("relay");
    let mut step = 0u64;
    group.bench_function(
        format!("emulator alone: {CHANNELS} channels, half spiking, {STREAM_STEPS} steps"),
        |b| {
            b.iter(|| {
                let mut spikes = 0u64;
                for _ in 0..STREAM_STEPS {
                    step += 1;
                    emulator.inject(port, &dense_frame(step)).expect("inject");
                    emulator.step();
                    spikes += emulator.spiked(relay).expect("reported").count() as u64;
                }
                spikes
            });
        },
    );
    group.finish();
}

/// Times `count` step-locked round trips: a frame for step t out, the
/// output of step t back.
async fn round_trips<B: Board>(board: &B, first: u64, count: u64) -> Vec<Duration> {
    let mut stream = board
        .stream(StreamConfig::step_locked(count))
        .await
        .expect("stream");
    let mut times = Vec::with_capacity(count as usize);
    for step in first..first + count {
        let channels: Vec<u32> = (0..100)
            .filter(|c| (c + step) % 10 == 0)
            .map(|c| c as u32)
            .collect();
        let frame = InputFrame {
            step,
            sequence: step,
            inputs: vec![("sensors".to_string(), channels)],
            neuromodulators: Vec::new(),
        };
        let started = Instant::now();
        stream.send(frame).await.expect("sent");
        stream.recv().await.expect("frame").expect("ok");
        times.push(started.elapsed());
    }
    // Let the stream end (the board pauses after its last step).
    assert!(stream.recv().await.is_none());
    times
}

fn round_trip(c: &mut Criterion, rt: &tokio::runtime::Runtime, remote: &RemoteBoard) {
    let program = thousand();
    let local = LocalBoard::new(ChipProfile::loihi2());
    let mut group = c.benchmark_group("round trip");
    // The floor of any call: a unary GetInfo over the same connection.
    group.bench_function("remote: GetInfo (unary call)", |b| {
        b.iter(|| rt.block_on(remote.info()).expect("info"));
    });
    for (name, on_remote) in [("remote", true), ("local", false)] {
        rt.block_on(async {
            if on_remote {
                remote.load(&program).await.expect("loads");
            } else {
                local.load(&program).await.expect("loads");
            }
        });
        let mut next = 1u64;
        group.bench_function(format!("{name}: 1000 neurons, one step"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let times = if on_remote {
                        round_trips(remote, next, iters).await
                    } else {
                        round_trips(&local, next, iters).await
                    };
                    next += iters;
                    times.iter().sum()
                })
            });
        });
    }
    group.finish();
}

fn upload(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    // The compiler benchmark's ring: 100,000 neurons, 10 M synapses.
    let chip_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/chips/loihi2-32.toml");
    let chip = ChipProfile::load(&chip_path).expect("chip profile");
    let mut text = String::from("name = \"ring\"\n");
    let count = 100;
    for i in 0..count {
        text.push_str(&format!(
            "[[populations]]\nname = \"p{i}\"\nsize = 1000\nmodel = \"lif\"\ndu = 410\ndv = 205\nvth = 120\n"
        ));
    }
    for i in 0..count {
        for (target, seed) in [(i, 2 * i), ((i + 1) % count, 2 * i + 1)] {
            text.push_str(&format!(
                "[[projections]]\nfrom = \"p{i}\"\nto = \"p{target}\"\nfixed_probability = {{ p = 0.05, weight = 30, seed = {seed} }}\n"
            ));
        }
    }
    let program = compile(&text, &chip);
    let bytes = program.encode();
    let synapses = program.synapse_count();
    let daemon = Daemon::start(chip.clone());
    let board = rt
        .block_on(RemoteBoard::connect(&daemon.url))
        .expect("connects");
    let mut group = c.benchmark_group("upload");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function(
        format!(
            "{:.1} M synapses, {:.1} MB",
            synapses as f64 / 1e6,
            bytes.len() as f64 / 1e6
        ),
        |b| {
            b.iter(|| {
                rt.block_on(board.load_encoded(&bytes, neurite_proto::CHUNK_BYTES))
                    .expect("loads")
            });
        },
    );
    group.finish();
    close(rt, board);
    drop(daemon);
}

/// Percentiles of the step-locked round trip, printed.
fn percentiles(rt: &tokio::runtime::Runtime, remote: &RemoteBoard) {
    let program = thousand();
    let local = LocalBoard::new(ChipProfile::loihi2());
    let print = |name: &str, mut times: Vec<Duration>| {
        times.sort();
        let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
        println!(
            "{name}: p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs",
            at(0.5),
            at(0.9),
            at(0.99),
            at(0.999),
            at(1.0)
        );
    };
    let infos = rt.block_on(async {
        let mut times = Vec::with_capacity(20_000);
        for _ in 0..20_000 {
            let started = Instant::now();
            remote.info().await.expect("info");
            times.push(started.elapsed());
        }
        times
    });
    print("GetInfo percentiles, remote, 20000 calls", infos);
    for (name, on_remote) in [("remote", true), ("local", false)] {
        let times = rt.block_on(async {
            if on_remote {
                remote.load(&program).await.expect("loads");
                round_trips(remote, 1, 20_000).await
            } else {
                local.load(&program).await.expect("loads");
                round_trips(&local, 1, 20_000).await
            }
        });
        print(
            &format!("round trip percentiles, {name}, 1000 neurons, 20000 steps"),
            times,
        );
    }
}

/// Whether a group runs: Criterion's filter arguments (words that are not
/// options or their numbers) skip the setup of the groups they exclude.
fn wanted(group: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-') && a.parse::<f64>().is_err())
        .collect();
    filters.is_empty()
        || filters
            .iter()
            .any(|f| group.contains(f.as_str()) || f.contains(group))
}

fn main() {
    let rt = runtime();
    let daemon = Daemon::start(ChipProfile::loihi2());
    let remote = rt
        .block_on(RemoteBoard::connect(&daemon.url))
        .expect("connects");
    let mut c = Criterion::default().configure_from_args();
    if wanted("stream") {
        streaming(&mut c, &rt, &remote);
    }
    if wanted("round trip") {
        round_trip(&mut c, &rt, &remote);
    }
    if wanted("upload") {
        upload(&mut c, &rt);
    }
    c.final_summary();
    if wanted("round trip") && std::env::args().all(|a| a != "--list") {
        percentiles(&rt, &remote);
    }
    close(&rt, remote);
    drop(daemon);
}
