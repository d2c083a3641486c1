//! The emulator on several threads gives exactly what it gives on one: the
//! differential suite's random networks, spread over cores of 1 to 8 neurons,
//! run side by side on 1 thread, on 2, and on 1 then 3 (repartitioned in the
//! middle of the run, with input in flight), compared at every step: u, v,
//! spikes, and every counter.

use neurite::emulator::{Emulator, Target, Var};
use neurite::net::{InputStream, Model, Network};
use neurite::program::Program;
use proptest::test_runner::{Config, FileFailurePersistence, RngAlgorithm, TestRng, TestRunner};

use crate::differential::network;
use crate::support::tiny_chip;

/// Everything observable after a step, per core and per population.
fn observe(emulator: &Emulator, program: &Program) -> Vec<Vec<i32>> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for core in 0..program.cores.len() {
        for var in [Var::U, Var::V, Var::SpikeCount] {
            emulator
                .read_range(Target::Core(core), var, 0, None, &mut out)
                .expect("core");
            seen.push(out.clone());
        }
    }
    for (p, population) in program.populations.iter().enumerate() {
        if population.report_spikes {
            seen.push(
                emulator
                    .spiked(p)
                    .expect("reported")
                    .map(|i| i as i32)
                    .collect(),
            );
        }
    }
    seen
}

fn run_side_by_side(network: &Network, program: &Program, chip_neurons: u32, steps: u64) {
    let chip = tiny_chip(chip_neurons);
    let mut emulators: Vec<Emulator> = (0..3)
        .map(|_| Emulator::new(program, &chip).expect("loads"))
        .collect();
    emulators[1].set_threads(2);
    let ports: Vec<(usize, usize)> = network
        .populations
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p.model, Model::Input))
        .map(|(i, p)| (i, program.input_port(&p.name).expect("port")))
        .collect();
    let mut inputs = InputStream::new(network);
    let mut spikes = Vec::new();
    for t in 1..=steps {
        if t == steps / 2 {
            emulators[2].set_threads(3);
        }
        inputs.advance(&mut spikes);
        for emulator in &mut emulators {
            for &(population, port) in &ports {
                emulator
                    .inject(port, &spikes[population])
                    .expect("channels");
            }
            emulator.step();
        }
        let want = observe(&emulators[0], program);
        for (k, emulator) in emulators.iter().enumerate().skip(1) {
            assert_eq!(
                observe(emulator, program),
                want,
                "emulator {k} ({} threads) differs at step {t}",
                emulator.threads()
            );
            assert_eq!(
                emulator.step_counts(),
                emulators[0].step_counts(),
                "counts of step {t}"
            );
        }
    }
    for emulator in &emulators[1..] {
        assert_eq!(emulator.core_totals(), emulators[0].core_totals());
    }
}

#[test]
fn threads_change_nothing_on_random_networks() {
    let config = Config {
        cases: 150,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let multi_core = std::cell::Cell::new(0);
    runner
        .run(&network(), |(description, steps, per_core)| {
            let text = description.to_string();
            let network = neurite::net::from_json_str(&text, "random.json", None)
                .expect("generated descriptions are valid");
            let program = neurite::compiler::compile(&network, &tiny_chip(per_core))
                .expect("compiles")
                .program;
            if program.cores.len() > 2 {
                multi_core.set(multi_core.get() + 1);
            }
            run_side_by_side(&network, &program, per_core, steps);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let multi_core = multi_core.get();
    assert!(
        multi_core > 50,
        "only {multi_core} networks on more than 2 cores"
    );
}

/// The `balanced-poisson` example (recurrent, with delays) on cores of 7
/// neurons.
#[test]
fn threads_change_nothing_on_a_recurrent_network() {
    let network =
        neurite::net::load(&crate::support::root().join("examples/balanced-poisson.toml"))
            .expect("example loads");
    let program = neurite::compiler::compile(&network, &tiny_chip(7))
        .expect("compiles")
        .program;
    assert!(program.cores.len() > 20);
    run_side_by_side(&network, &program, 7, 200);
}
