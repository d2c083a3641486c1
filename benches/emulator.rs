//! Emulator throughput on two workloads: the `balanced-poisson` example
//! (200 recurrent LIF neurons) and a dense 1000 → 1000 feed-forward layer
//! driven at 2 % input spike probability per step. Each iteration runs 100
//! steps, with the time and energy model off and on; throughput is reported
//! in synaptic events (synapse entries read).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use neurite::chip::ChipProfile;
use neurite::emulator::Emulator;
use neurite::net::{InputStream, Network};

const STEPS: usize = 100;

/// Input spikes of the first `STEPS` steps, per input population.
fn schedule(network: &Network) -> Vec<Vec<Vec<u32>>> {
    let mut stream = InputStream::new(network);
    (0..STEPS)
        .map(|_| {
            let mut spikes = Vec::new();
            stream.advance(&mut spikes);
            spikes
        })
        .collect()
}

fn bench_network(c: &mut Criterion, name: &str, network: &Network) {
    let chip = ChipProfile::loihi2();
    let program = neurite::compiler::compile(network, &chip)
        .expect("compiles")
        .program;
    let inputs = schedule(network);
    let ports: Vec<(usize, usize)> = network
        .populations
        .iter()
        .enumerate()
        .filter_map(|(p, pop)| program.input_port(&pop.name).map(|port| (p, port)))
        .collect();
    let run = |emulator: &mut Emulator| {
        for step in &inputs {
            for &(p, port) in &ports {
                emulator.inject(port, &step[p]).expect("valid channels");
            }
            emulator.step();
        }
    };
    // Events per iteration, measured once for the throughput figure.
    let mut probe = Emulator::new(&program, &chip).expect("loads");
    run(&mut probe);
    let events = probe.totals().synaptic_ops;

    let mut group = c.benchmark_group("emulator");
    group.throughput(Throughput::Elements(events));
    for modelled in [false, true] {
        let label = if modelled { "model on" } else { "model off" };
        group.bench_function(format!("{name}/{STEPS} steps/{label}"), |b| {
            b.iter_batched_ref(
                || {
                    let mut emulator = Emulator::new(&program, &chip).expect("loads");
                    if modelled {
                        emulator.enable_model(chip.costs.clone());
                    }
                    emulator
                },
                |emulator| {
                    run(emulator);
                    black_box(emulator.current_step())
                },
                criterion::BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn dense_feed_forward() -> Network {
    let n = 1000usize;
    // Deterministic pseudo-random weights in −128..128 (a multiplicative hash).
    let rows: Vec<String> = (0..n)
        .map(|to| {
            let row: Vec<String> = (0..n)
                .map(|from| {
                    let h = ((to * n + from) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56;
                    (h as i64 - 128).to_string()
                })
                .collect();
            format!("[{}]", row.join(","))
        })
        .collect();
    let text = format!(
        r#"{{
        "name": "dense-ff",
        "populations": [
            {{"name": "in", "size": {n}, "model": "input"}},
            {{"name": "out", "size": {n}, "model": "lif", "du": 1000, "dv": 500, "vth": 300}}
        ],
        "projections": [{{"from": "in", "to": "out", "dense": [{}], "weight_exp": -1}}],
        "inputs": [{{"population": "in", "poisson": {{"rate_hz": 20.0, "seed": 3}}}}]
        }}"#,
        rows.join(",")
    );
    neurite::net::from_json_str(&text, "dense-ff.json", None).expect("valid")
}

fn benches(c: &mut Criterion) {
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/balanced-poisson.toml");
    let balanced = neurite::net::load(&example).expect("example loads");
    bench_network(c, "balanced-poisson", &balanced);
    bench_network(c, "dense-1000x1000-2pct", &dense_feed_forward());
}

criterion_group!(emulator, benches);
criterion_main!(emulator);
