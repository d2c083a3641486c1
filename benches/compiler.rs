//! Compiler throughput: a ring of populations of 1,000 LIF neurons, each
//! neuron with about 100 local synapses (the network of
//! `benches/scale/generate.py`), compiled for a 32-chip Loihi 2 system.
//! The description is parsed and expanded once, outside the measurement.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use neurite::chip::ChipProfile;
use neurite::compiler::{CompileOptions, NoProgress, compile_with};

/// The ring network with `neurons` neurons, as a TOML description.
fn ring(neurons: u32) -> String {
    let size = 1000;
    let count = neurons / size;
    let p = 100.0 / (2.0 * f64::from(size));
    let mut text = format!("name = \"ring-{neurons}\"\n");
    for i in 0..count {
        text.push_str(&format!(
            "[[populations]]\nname = \"p{i}\"\nsize = {size}\nmodel = \"lif\"\ndu = 410\ndv = 205\nvth = 120\nbias_mant = {}\n",
            60 + i % 7
        ));
    }
    for i in 0..count {
        let next = (i + 1) % count;
        for (target, seed, weight) in [(i, 2 * i, 40), (next, 2 * i + 1, -25)] {
            text.push_str(&format!(
                "[[projections]]\nfrom = \"p{i}\"\nto = \"p{target}\"\nfixed_probability = {{ p = {p}, weight = {weight}, seed = {seed} }}\n"
            ));
        }
    }
    text
}

fn benches(c: &mut Criterion) {
    let chip_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/chips/loihi2-32.toml");
    let chip = ChipProfile::load(&chip_path).expect("chip profile");
    let options = CompileOptions {
        verify: false,
        ..CompileOptions::default()
    };
    let mut group = c.benchmark_group("compiler");
    group.sample_size(10);
    for neurons in [10_000u32, 100_000] {
        let network =
            neurite::net::from_toml_str(&ring(neurons), "ring.toml", None).expect("valid ring");
        let synapses: u64 = network
            .projections
            .iter()
            .map(|p| p.synapses.len() as u64)
            .sum();
        group.throughput(Throughput::Elements(synapses));
        group.bench_function(
            format!("ring {neurons} neurons, {synapses} synapses"),
            |b| {
                b.iter(|| {
                    let compiled =
                        compile_with(&network, &chip, &options, &mut NoProgress).expect("compiles");
                    black_box(compiled.program.cores.len())
                })
            },
        );
    }
    group.finish();
}

criterion_group!(compiler, benches);
criterion_main!(compiler);
