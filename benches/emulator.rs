//! Emulator throughput. Two groups of workloads (see `benches/README.md`):
//!
//! - `emulator/…/100 steps/model off|on`: the `balanced-poisson` example and
//!   the dense 1000 → 1000 layer, 100 steps, with the time and energy model
//!   off and on;
//! - `emulator/…/1000 steps/N threads`: the CUBA networks of 4,000 and
//!   40,000 neurons and the dense layer, 1000 steps (one simulated second at
//!   1 ms per step) on 1 and 2 threads, model off;
//! - `stream/…`: the memory-bound reference: one core streaming synapse
//!   entries and adding them into accumulators.
//!
//! Throughput is reported in synaptic events (synapse entries read), or
//! entries streamed for `stream`.
//!
//! With `NEURITE_PEER_NET` set, the binary serves `benches/peers/compare.py`
//! instead (see [`peer`]): it compiles a network (`cuba-4000`, `cuba-40000`,
//! `dense-1000` or a description file) into a Program and its inputs, or
//! times runs of such a Program. `NEURITE_PEER_THREADS` (default 1),
//! `NEURITE_PEER_STEPS` (default: the description's) and `NEURITE_PEER_CHIP`
//! (a chip profile file, default `examples/chips/loihi2-32.toml`) choose the
//! rest.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use criterion::{BatchSize, Criterion, Throughput};
use neurite::chip::ChipProfile;
use neurite::emulator::Emulator;
use neurite::net::{InputStream, Network};
use neurite::program::Program;

#[path = "peers/networks.rs"]
mod networks;

/// Input spikes of the first `steps` steps, per input population.
fn schedule(network: &Network, steps: usize) -> Vec<Vec<Vec<u32>>> {
    let mut stream = InputStream::new(network);
    (0..steps)
        .map(|_| {
            let mut spikes = Vec::new();
            stream.advance(&mut spikes);
            spikes
        })
        .collect()
}

/// A compiled workload with its inputs.
struct Workload {
    program: Program,
    chip: ChipProfile,
    inputs: Vec<Vec<Vec<u32>>>,
    ports: Vec<(usize, usize)>,
}

impl Workload {
    fn new(network: &Network, chip: ChipProfile, steps: usize) -> Self {
        let program = neurite::compiler::compile(network, &chip)
            .expect("compiles")
            .program;
        let ports = network
            .populations
            .iter()
            .enumerate()
            .filter_map(|(p, pop)| program.input_port(&pop.name).map(|port| (p, port)))
            .collect();
        Self {
            program,
            chip,
            inputs: schedule(network, steps),
            ports,
        }
    }

    fn emulator(&self, threads: usize, modelled: bool) -> Emulator {
        let mut emulator = Emulator::new(&self.program, &self.chip).expect("loads");
        emulator.set_threads(threads);
        if modelled {
            emulator.enable_model(self.chip.costs.clone());
        }
        emulator
    }

    fn run(&self, emulator: &mut Emulator) {
        for step in &self.inputs {
            for &(p, port) in &self.ports {
                emulator.inject(port, &step[p]).expect("valid channels");
            }
            emulator.step();
        }
    }

    /// Synaptic events of one run, measured once for the throughput figure.
    fn events(&self) -> u64 {
        let mut probe = self.emulator(1, false);
        self.run(&mut probe);
        probe.totals().synaptic_ops
    }
}

fn loihi2_32() -> ChipProfile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/chips/loihi2-32.toml");
    ChipProfile::load(&path).expect("chip profile loads")
}

fn bench_model(c: &mut Criterion, name: &str, network: &Network) {
    const STEPS: usize = 100;
    let workload = Workload::new(network, ChipProfile::loihi2(), STEPS);
    let mut group = c.benchmark_group("emulator");
    group.throughput(Throughput::Elements(workload.events()));
    for modelled in [false, true] {
        let label = if modelled { "model on" } else { "model off" };
        group.bench_function(format!("{name}/{STEPS} steps/{label}"), |b| {
            b.iter_batched_ref(
                || workload.emulator(1, modelled),
                |emulator| {
                    workload.run(emulator);
                    black_box(emulator.current_step())
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn bench_threads(c: &mut Criterion, name: &str, network: &Network, chip: ChipProfile) {
    const STEPS: usize = 1000;
    let workload = Workload::new(network, chip, STEPS);
    let mut group = c.benchmark_group("emulator");
    group.throughput(Throughput::Elements(workload.events()));
    group.sample_size(10);
    for threads in [1, 2] {
        group.bench_function(format!("{name}/{STEPS} steps/{threads} threads"), |b| {
            b.iter_batched_ref(
                || workload.emulator(threads, false),
                |emulator| {
                    workload.run(emulator);
                    black_box(emulator.current_step())
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

/// The memory-bound reference: `ENTRIES` synapse entries in the emulator's
/// packed form (target in the low 16 bits, weight in the high 16), with
/// random targets among `NEURONS`, read and added into an accumulator per
/// neuron. `sequential` reads them front to back; `rows` reads rows of 80
/// entries in a random order, as spikes do.
struct Stream {
    entries: Vec<u32>,
    rows: Vec<usize>,
    accumulators: Box<[i32; 1 << 16]>,
}

impl Stream {
    const NEURONS: u64 = 40_000;
    const ENTRIES: usize = 3_200_000;
    const ROW: usize = 80;

    fn new() -> Self {
        let entries = (0..Self::ENTRIES as u64)
            .map(|k| {
                let h = networks::splitmix(k);
                let target = ((h >> 32) * Self::NEURONS) >> 32;
                let weight = (h & 0xFF) as u32;
                target as u32 | weight << 16
            })
            .collect();
        let count = (Self::ENTRIES / Self::ROW) as u64;
        let rows = (0..count)
            .map(|k| (((networks::splitmix(k ^ 0xABCD) >> 32) * count) >> 32) as usize)
            .collect();
        Self {
            entries,
            rows,
            accumulators: Box::new([0; 1 << 16]),
        }
    }

    fn sequential(&mut self) -> i32 {
        let acc: &mut [i32; 1 << 16] = &mut self.accumulators;
        for &e in &self.entries {
            let slot = &mut acc[(e & 0xFFFF) as usize];
            *slot = slot.wrapping_add(e as i32 >> 16);
        }
        acc[0]
    }

    fn rows(&mut self) -> i32 {
        let acc: &mut [i32; 1 << 16] = &mut self.accumulators;
        for &row in &self.rows {
            for &e in &self.entries[row * Self::ROW..(row + 1) * Self::ROW] {
                let slot = &mut acc[(e & 0xFFFF) as usize];
                *slot = slot.wrapping_add(e as i32 >> 16);
            }
        }
        acc[0]
    }
}

fn bench_stream(c: &mut Criterion) {
    let mut stream = Stream::new();
    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Elements(Stream::ENTRIES as u64));
    group.bench_function("3.2M entries/sequential", |b| {
        b.iter(|| black_box(stream.sequential()))
    });
    group.bench_function("3.2M entries/rows of 80 in random order", |b| {
        b.iter(|| black_box(stream.rows()))
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/balanced-poisson.toml");
    let balanced = neurite::net::load(&example).expect("example loads");
    let dense = networks::dense().network;
    bench_model(c, "balanced-poisson", &balanced);
    bench_model(c, "dense-1000x1000-2pct", &dense);
    bench_stream(c);
    bench_threads(c, "dense-1000x1000-2pct", &dense, ChipProfile::loihi2());
    bench_threads(c, "cuba-4000", &networks::cuba(4000).network, loihi2_32());
    bench_threads(
        c,
        "cuba-40000",
        &networks::cuba(40_000).network,
        loihi2_32(),
    );
}

/// CPU time of the calling thread in seconds (Linux), or 0.
fn thread_cpu_s() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 * 1e-9)
}

/// A field of `/proc/self/status` in kB (Linux), or 0.
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| {
                l[field.len()..]
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0)
}

/// The per-step input spikes of a workload as text: one line per step,
/// `port:channel,channel,… port:…` (an empty line: no spikes).
fn inputs_text(workload: &Workload) -> String {
    let mut text = String::new();
    for step in &workload.inputs {
        let entries: Vec<String> = workload
            .ports
            .iter()
            .filter(|&&(p, _)| !step[p].is_empty())
            .map(|&(p, port)| {
                let channels: Vec<String> = step[p].iter().map(u32::to_string).collect();
                format!("{port}:{}", channels.join(","))
            })
            .collect();
        text.push_str(&entries.join(" "));
        text.push('\n');
    }
    text
}

/// Reads what [`inputs_text`] wrote: per step, (port, channels).
fn parse_inputs(text: &str) -> Vec<Vec<(usize, Vec<u32>)>> {
    text.lines()
        .map(|line| {
            line.split_whitespace()
                .map(|entry| {
                    let (port, channels) = entry.split_once(':').expect("port:channels");
                    let channels = channels.split(',').map(|c| c.parse().expect("channel"));
                    (port.parse().expect("port"), channels.collect())
                })
                .collect()
        })
        .collect()
}

/// For `benches/peers/compare.py`. With `NEURITE_PEER_PREPARE=<dir>`,
/// compiles `net` and writes `<dir>/<name>.nprog` and `<dir>/<name>.inputs`;
/// otherwise `net` is such a `.nprog` file, which is loaded with its inputs
/// and run `NEURITE_PEER_REPEATS` times (default 1) on fresh emulators,
/// printing one JSON line per run. The emulator's memory is the growth of
/// the process's resident memory from loading to the end of the run.
fn peer(net: &str) {
    let env = |key: &str| std::env::var(key).ok();
    if net == "stream" {
        // The best of ten passes of each reference loop.
        let mut stream = Stream::new();
        let best = |f: &mut dyn FnMut() -> i32| {
            (0..10)
                .map(|_| {
                    let start = Instant::now();
                    black_box(f());
                    start.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min)
        };
        let sequential = best(&mut || stream.sequential());
        let rows = best(&mut || stream.rows());
        let n = Stream::ENTRIES as f64;
        println!(
            "{{\"sequential_per_s\": {}, \"rows_per_s\": {}}}",
            n / sequential,
            n / rows
        );
        return;
    }
    if let Some(dir) = env("NEURITE_PEER_PREPARE") {
        let chip = match env("NEURITE_PEER_CHIP") {
            Some(path) => ChipProfile::load(Path::new(&path)).expect("chip profile loads"),
            None => loihi2_32(),
        };
        let (name, generated) = match net {
            "cuba-4000" => (net.to_string(), Some(networks::cuba(4000))),
            "cuba-40000" => (net.to_string(), Some(networks::cuba(40_000))),
            "dense-1000" => (net.to_string(), Some(networks::dense())),
            _ => {
                let stem = Path::new(net).file_stem().expect("a file name");
                (stem.to_string_lossy().into_owned(), None)
            }
        };
        let (network, fingerprint) = match generated {
            Some(g) => {
                let fingerprint = format!("{:016x}", g.fingerprint());
                (g.network, fingerprint)
            }
            None => (
                neurite::net::load(Path::new(net)).expect("loads"),
                String::new(),
            ),
        };
        let steps: usize = env("NEURITE_PEER_STEPS")
            .map(|s| s.parse().expect("steps"))
            .or(network.steps.map(|s| s as usize))
            .unwrap_or(1000);
        let workload = Workload::new(&network, chip, steps);
        let dir = Path::new(&dir);
        let program = dir.join(format!("{name}.nprog"));
        std::fs::write(&program, workload.program.encode()).expect("writes the program");
        std::fs::write(dir.join(format!("{name}.inputs")), inputs_text(&workload))
            .expect("writes the inputs");
        println!(
            "{{\"program\": \"{}\", \"cores\": {}, \"neurons\": {}, \"synapses\": {}, \"fingerprint\": \"{fingerprint}\"}}",
            program.display(),
            workload.program.cores.len(),
            workload.program.neuron_count(),
            workload.program.synapse_count(),
        );
        return;
    }
    let threads: usize = env("NEURITE_PEER_THREADS").map_or(1, |t| t.parse().expect("threads"));
    let repeats: usize = env("NEURITE_PEER_REPEATS").map_or(1, |t| t.parse().expect("repeats"));
    let bytes = std::fs::read(net).expect("reads the program");
    let program = Program::decode(&bytes).expect("a program");
    let inputs = parse_inputs(
        &std::fs::read_to_string(Path::new(net).with_extension("inputs"))
            .expect("reads the inputs"),
    );
    let chip = match env("NEURITE_PEER_CHIP") {
        Some(path) => ChipProfile::load(Path::new(&path)).expect("chip profile loads"),
        None => loihi2_32(),
    };
    for _ in 0..repeats {
        let before = status_kb("VmRSS:");
        let mut emulator = Emulator::new(&program, &chip).expect("loads");
        emulator.set_threads(threads);
        if env("NEURITE_PEER_MODEL").is_some() {
            emulator.enable_model(chip.costs.clone());
        }
        let start = Instant::now();
        let cpu = thread_cpu_s();
        for step in &inputs {
            for (port, channels) in step {
                emulator.inject(*port, channels).expect("valid channels");
            }
            emulator.step();
        }
        let run_s = start.elapsed().as_secs_f64();
        let cpu_s = thread_cpu_s() - cpu;
        let peak = status_kb("VmHWM:");
        let totals = emulator.totals();
        println!(
            "{{\"simulator\": \"neurite\", \"net\": \"{net}\", \"threads\": {threads}, \"steps\": {}, \
             \"run_s\": {run_s}, \"cpu_s\": {cpu_s}, \"cores\": {}, \"neuron_updates\": {}, \
             \"synaptic_ops\": {}, \"spikes\": {}, \"emulator_kb\": {}, \"peak_rss_kb\": {peak}}}",
            inputs.len(),
            program.cores.len(),
            totals.neuron_updates,
            totals.synaptic_ops,
            totals.spikes,
            peak.saturating_sub(before),
        );
        drop(emulator);
    }
}

fn main() {
    if let Ok(net) = std::env::var("NEURITE_PEER_NET") {
        peer(&net);
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
}
