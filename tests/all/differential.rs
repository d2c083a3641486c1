//! Differential tests: compiler + emulator against the reference simulator on
//! random networks, every u, v and spike at every step.
//!
//! The networks are written as JSON descriptions and go through the same
//! loader as user files. Parameters cover their full ranges, with the
//! extremes (du/dv 0 and 4095, weight exponent 7 with many simultaneous
//! spikes, bias −4096·2^7 with dv 0) drawn often enough to provoke current
//! wrap and voltage saturation; each population resets to zero or by
//! subtraction; populations are spread over chips with 1–8 neurons per core
//! so that routing between cores is exercised.

use std::cell::Cell;

use neurite::chip::ChipProfile;
use neurite::net::Network;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

use crate::support::tiny_chip;

/// Random networks checked per run; `NEURITE_DIFFERENTIAL_CASES` asks for more.
fn cases() -> u32 {
    std::env::var("NEURITE_DIFFERENTIAL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

fn decay() -> impl Strategy<Value = i64> + Clone + 'static {
    prop_oneof![Just(0i64), Just(4095), 0i64..=4095]
}

fn per_neuron(
    size: usize,
    values: impl Strategy<Value = i64> + Clone + 'static,
) -> BoxedStrategy<Value> {
    prop_oneof![
        values.clone().prop_map(Value::from),
        proptest::collection::vec(values, size).prop_map(Value::from),
    ]
    .boxed()
}

fn lif_population(name: String, size: usize) -> BoxedStrategy<Value> {
    let vth = prop_oneof![4 => 0i64..=400, 1 => 0i64..=131_071];
    let bias_mant = prop_oneof![2 => -200i64..=200, 1 => -4096i64..=4095, 1 => Just(-4096i64)];
    let refractory = prop_oneof![3 => Just(0i64), 1 => 0i64..=6, 1 => Just(63i64)];
    let u_init = prop_oneof![3 => Just(0i64), 1 => -8_388_607i64..=8_388_608];
    let v_init = prop_oneof![3 => Just(0i64), 1 => -8_388_607i64..=8_388_607];
    (
        per_neuron(size, decay()),
        per_neuron(size, decay()),
        per_neuron(size, vth),
        per_neuron(size, bias_mant),
        per_neuron(size, 0i64..=7),
        per_neuron(size, refractory),
        per_neuron(size, u_init),
        per_neuron(size, v_init),
        prop_oneof![Just(None), Just(Some("zero")), Just(Some("subtract"))],
    )
        .prop_map(
            move |(du, dv, vth, bias_mant, bias_exp, refractory, u_init, v_init, reset)| {
                let mut population = json!({
                    "name": name, "size": size, "model": "lif",
                    "du": du, "dv": dv, "vth": vth,
                    "bias_mant": bias_mant, "bias_exp": bias_exp, "refractory": refractory,
                    "u_init": u_init, "v_init": v_init,
                });
                if let Some(reset) = reset {
                    population["reset"] = json!(reset);
                }
                population
            },
        )
        .boxed()
}

fn weight() -> impl Strategy<Value = i64> + Clone + 'static {
    prop_oneof![
        3 => -300i64..=300,
        1 => Just(255i64),
        1 => Just(-256i64),
        1 => Just(0i64),
    ]
}

fn delay() -> impl Strategy<Value = i64> + Clone + 'static {
    prop_oneof![4 => 0i64..=3, 1 => 0i64..=62, 1 => Just(62i64)]
}

fn connectivity(n_from: usize, n_to: usize) -> BoxedStrategy<(String, Value)> {
    let dense = proptest::collection::vec(proptest::collection::vec(weight(), n_from), n_to)
        .prop_map(|rows| ("dense".to_string(), Value::from(rows)));
    let sparse = proptest::collection::btree_map(
        (0..n_from as i64, 0..n_to as i64),
        (weight(), proptest::option::of(delay())),
        0..=(n_from * n_to).min(12),
    )
    .prop_map(|entries| {
        let list: Vec<Value> = entries
            .into_iter()
            .map(|((pre, post), (w, d))| match d {
                Some(d) => json!([pre, post, w, d]),
                None => json!([pre, post, w]),
            })
            .collect();
        ("sparse".to_string(), Value::from(list))
    });
    let fixed = (0.0f64..=1.0, weight(), any::<u64>()).prop_map(|(p, w, seed)| {
        (
            "fixed_probability".to_string(),
            json!({"p": p, "weight": w, "seed": seed}),
        )
    });
    if n_from == n_to {
        let one = per_neuron(n_to, weight())
            .prop_map(|w| ("one_to_one".to_string(), json!({ "weight": w })));
        prop_oneof![dense, sparse, fixed, one].boxed()
    } else {
        prop_oneof![dense, sparse, fixed].boxed()
    }
}

fn projection(names: Vec<String>, sizes: Vec<usize>, first_lif: usize) -> BoxedStrategy<Value> {
    let n = names.len();
    (0..n, first_lif..n)
        .prop_flat_map(move |(from, to)| {
            let (from_name, to_name) = (names[from].clone(), names[to].clone());
            (
                connectivity(sizes[from], sizes[to]),
                prop_oneof![2 => Just(0i64), 3 => -8i64..=7, 1 => Just(7i64), 1 => Just(-8i64)],
                1i64..=8,
                prop_oneof![
                    Just(None),
                    Just(Some("mixed")),
                    Just(Some("excitatory")),
                    Just(Some("inhibitory"))
                ],
                proptest::option::of(delay()),
            )
                .prop_map(move |((kind, conn), exp, bits, mode, delay)| {
                    let mut p = json!({
                        "from": from_name, "to": to_name,
                        "weight_exp": exp, "num_weight_bits": bits,
                    });
                    p[kind] = conn;
                    if let Some(mode) = mode {
                        p["sign_mode"] = json!(mode);
                    }
                    if let Some(delay) = delay {
                        p["delay"] = json!(delay);
                    }
                    p
                })
        })
        .boxed()
}

fn input(name: String, size: usize) -> BoxedStrategy<Value> {
    let spikes = proptest::collection::vec((1i64..=60, 0..size as i64), 0..40)
        .prop_map(|list| json!({ "spikes": list }));
    let poisson = (0.0f64..=1000.0, any::<u64>())
        .prop_map(|(rate, seed)| json!({"poisson": {"rate_hz": rate, "seed": seed}}));
    let periodic = (1i64..=10)
        .prop_flat_map(|period| (Just(period), 0..period))
        .prop_map(|(period, phase)| json!({"periodic": {"period": period, "phase": phase}}));
    prop_oneof![3 => spikes, 1 => poisson, 1 => periodic]
        .prop_map(move |mut source| {
            source["population"] = json!(name);
            source
        })
        .boxed()
}

/// A random description, the number of steps to run it and the neurons per core.
pub(crate) fn network() -> impl Strategy<Value = (Value, u64, u32)> {
    (
        proptest::collection::vec(1usize..=6, 0..=2),
        proptest::collection::vec(1usize..=8, 1..=3),
    )
        .prop_flat_map(|(input_sizes, lif_sizes)| {
            let mut names = Vec::new();
            let mut sizes = Vec::new();
            for (i, &size) in input_sizes.iter().enumerate() {
                names.push(format!("in{i}"));
                sizes.push(size);
            }
            let first_lif = names.len();
            for (i, &size) in lif_sizes.iter().enumerate() {
                names.push(format!("lif{i}"));
                sizes.push(size);
            }
            let lifs: Vec<BoxedStrategy<Value>> = (first_lif..names.len())
                .map(|i| lif_population(names[i].clone(), sizes[i]))
                .collect();
            let inputs: Vec<BoxedStrategy<Value>> = (0..first_lif)
                .map(|i| input(names[i].clone(), sizes[i]))
                .collect();
            let input_pops: Vec<Value> = (0..first_lif)
                .map(|i| json!({"name": names[i], "size": sizes[i], "model": "input"}))
                .collect();
            let probes: Vec<Value> = names
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let vars = if i < first_lif {
                        json!(["spikes"])
                    } else {
                        json!(["spikes", "u", "v"])
                    };
                    json!({"population": name, "vars": vars})
                })
                .collect();
            (
                lifs,
                proptest::collection::vec(projection(names, sizes, first_lif), 0..=6),
                inputs,
                20u64..=80,
                1u32..=8,
            )
                .prop_map(move |(lifs, projections, inputs, steps, per_core)| {
                    let mut populations = input_pops.clone();
                    populations.extend(lifs);
                    let description = json!({
                        "name": "random",
                        "populations": populations,
                        "projections": projections,
                        "inputs": inputs,
                        "probes": probes,
                    });
                    (description, steps, per_core)
                })
        })
}

/// Runs both simulators and compares every population at every step.
fn compare(network: &Network, chip: &ChipProfile, steps: u64) -> Result<(), String> {
    let recording = neurite::session::run(network, chip, steps).map_err(|e| e.to_string())?;
    let trace = neurite_reference::simulate(network, steps).map_err(|e| e.to_string())?;
    for (p, population) in network.populations.iter().enumerate() {
        let got = &recording.populations[p];
        let want = &trace.populations[p];
        let name = &population.name;
        let spikes = got.spikes.as_ref().ok_or("spikes not recorded")?;
        for t in 0..steps as usize {
            if spikes[t] != want.spikes[t] {
                return Err(format!(
                    "{name} spikes at step {}: emulator {:?}, reference {:?}",
                    t + 1,
                    spikes[t],
                    want.spikes[t]
                ));
            }
            if let (Some(u), Some(v)) = (&got.u, &got.v) {
                if u[t] != want.u[t] {
                    return Err(format!(
                        "{name}.u at step {}: emulator {:?}, reference {:?}",
                        t + 1,
                        u[t],
                        want.u[t]
                    ));
                }
                if v[t] != want.v[t] {
                    return Err(format!(
                        "{name}.v at step {}: emulator {:?}, reference {:?}",
                        t + 1,
                        v[t],
                        want.v[t]
                    ));
                }
            }
        }
    }
    Ok(())
}

#[test]
fn emulator_equals_reference_on_random_networks() {
    let cases = cases();
    let config = Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    };
    // A fixed seed: every CI run checks the same networks, and a failure
    // reproduces exactly.
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let wrapped = Cell::new(0u32);
    let saturated = Cell::new(0u32);
    let spiking = Cell::new(0u32);
    runner
        .run(&network(), |(description, steps, per_core)| {
            let text = description.to_string();
            let network = neurite::net::from_json_str(&text, "random.json", None)
                .map_err(|e| TestCaseError::fail(format!("generated description invalid: {e}")))?;
            let trace =
                neurite_reference::simulate(&network, steps).expect("the reference simulates it");
            let count = |cell: &Cell<u32>, hit: bool| cell.set(cell.get() + u32::from(hit));
            count(&wrapped, trace.wraps > 0);
            count(&saturated, trace.saturations > 0);
            count(
                &spiking,
                trace
                    .populations
                    .iter()
                    .any(|p| p.spikes.iter().any(|s| !s.is_empty())),
            );
            compare(&network, &tiny_chip(per_core), steps).map_err(|e| {
                TestCaseError::fail(format!("{e}\nper core: {per_core}\ndescription: {text}"))
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
    // The generator must reach the corners it claims to reach.
    let (wrapped, saturated, spiking) = (wrapped.get(), saturated.get(), spiking.get());
    eprintln!(
        "random networks: {wrapped} wrapped u, {saturated} saturated v, {spiking} spiking of {cases}"
    );
    assert!(wrapped > cases / 50, "only {wrapped} networks wrapped u");
    assert!(
        saturated > cases / 50,
        "only {saturated} networks saturated v"
    );
    assert!(spiking > cases / 2, "only {spiking} networks spiked");
}

/// A larger recurrent network: 300 LIF neurons with random excitatory and
/// inhibitory connectivity and Poisson drive, on loihi1-sized and tiny cores.
#[test]
fn emulator_equals_reference_on_a_larger_recurrent_network() {
    let description = json!({
        "name": "balanced",
        "populations": [
            {"name": "drive", "size": 50, "model": "input"},
            {"name": "exc", "size": 240, "model": "lif", "du": 400, "dv": 300, "vth": 60, "bias_mant": 20, "bias_exp": 2},
            {"name": "inh", "size": 60, "model": "lif", "du": 800, "dv": 300, "vth": 50, "refractory": 2}
        ],
        "projections": [
            {"from": "drive", "to": "exc", "fixed_probability": {"p": 0.1, "weight": 120, "seed": 1}, "weight_exp": 2},
            {"from": "exc", "to": "exc", "fixed_probability": {"p": 0.05, "weight": 90, "seed": 2}, "delay": 3},
            {"from": "exc", "to": "inh", "fixed_probability": {"p": 0.1, "weight": 100, "seed": 3}},
            {"from": "inh", "to": "exc", "fixed_probability": {"p": 0.2, "weight": -150, "seed": 4}, "weight_exp": -1, "delay": 1},
            {"from": "inh", "to": "inh", "fixed_probability": {"p": 0.1, "weight": -77, "seed": 5}, "weight_exp": -3}
        ],
        "inputs": [{"population": "drive", "poisson": {"rate_hz": 80.0, "seed": 9}}],
        "probes": [
            {"population": "drive", "vars": ["spikes"]},
            {"population": "exc", "vars": ["spikes", "u", "v"]},
            {"population": "inh", "vars": ["spikes", "u", "v"]}
        ]
    });
    let network = neurite::net::from_json_str(&description.to_string(), "balanced.json", None)
        .expect("valid");
    let steps = 400;
    let trace = neurite_reference::simulate(&network, steps).expect("the reference simulates it");
    let spikes: usize = trace.populations[1].spikes.iter().map(Vec::len).sum();
    assert!(
        spikes > 500,
        "the network should be active, got {spikes} spikes"
    );
    for chip in [ChipProfile::loihi1(), tiny_chip(7)] {
        compare(&network, &chip, steps).unwrap_or_else(|e| panic!("{}: {e}", chip.name));
    }
}

/// A chip with random, often tight, limits on a random mesh.
fn tight_chip() -> impl Strategy<Value = ChipProfile> {
    (
        (1u32..=4, 1u32..=3, 1u32..=3),
        1u32..=8,
        1u32..=12,
        1u32..=24,
        prop_oneof![Just(None), (256u64..=8192).prop_map(Some)],
        1u32..=4,
        1u32..=4,
    )
        .prop_map(
            |(
                (tiles_x, tiles_y, per_tile),
                neurons,
                input_axons,
                output_axons,
                bits,
                profiles,
                groups,
            )| {
                let mut chip = ChipProfile::loihi1();
                chip.name = "tight".to_string();
                chip.mesh = neurite::chip::Mesh {
                    tiles_x,
                    tiles_y,
                    cores_per_tile: per_tile,
                };
                chip.core.neurons = neurons;
                chip.core.input_axons = input_axons;
                chip.core.output_axons = output_axons;
                // Odd sizes use Loihi 1's synapse memory, even ones Loihi 2's
                // shared memory; some systems have two chips.
                if let Some(bits) = bits {
                    chip.core.memory = if bits % 2 == 1 {
                        neurite::chip::CoreMemory::Synapses {
                            bits,
                            block_synapses: 64,
                            block_overhead_bits: 10,
                            word_bits: 64,
                        }
                    } else {
                        neurite::chip::CoreMemory::Shared {
                            bytes: bits / 4,
                            neuron_state_bytes: 12,
                            word_bits: 32,
                            run_overhead_bits: 32,
                        }
                    };
                }
                if neurons % 3 == 0 {
                    chip.chips.x = 2;
                }
                chip.core.neuron_profiles = profiles;
                chip.core.synapse_groups = groups;
                chip
            },
        )
}

#[test]
fn under_random_limits_networks_fit_exactly_or_are_refused() {
    let config = Config {
        cases: cases() / 2,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let outcomes = Cell::new((0u32, 0u32));
    runner
        .run(
            &(network(), tight_chip()),
            |((description, steps, _), chip)| {
                let network =
                    neurite::net::from_json_str(&description.to_string(), "random.json", None)
                        .map_err(|e| {
                            TestCaseError::fail(format!("generated description invalid: {e}"))
                        })?;
                match neurite::compiler::compile(&network, &chip) {
                    Err(err) => {
                        prop_assert!(err.is_user_error(), "{err}");
                        prop_assert!(
                            matches!(
                                err,
                                neurite::compiler::CompileError::TooManyCores { .. }
                                    | neurite::compiler::CompileError::NeuronTooLarge { .. }
                                    | neurite::compiler::CompileError::OutputAxons { .. }
                            ),
                            "{err}"
                        );
                        let (fit, refused) = outcomes.get();
                        outcomes.set((fit, refused + 1));
                    }
                    Ok(compiled) => {
                        compiled
                            .program
                            .validate(&chip)
                            .map_err(|e| TestCaseError::fail(format!("over a limit: {e}")))?;
                        let trace = neurite_reference::simulate(&network, steps)
                            .expect("the reference simulates it");
                        let recording = neurite::session::run_program(
                            &network,
                            &compiled.program,
                            &chip,
                            steps,
                        )
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                        for (p, population) in network.populations.iter().enumerate() {
                            let got = &recording.populations[p];
                            let want = &trace.populations[p];
                            prop_assert_eq!(
                                got.spikes.as_ref(),
                                Some(&want.spikes),
                                "{} spikes",
                                population.name
                            );
                            if let (Some(u), Some(v)) = (&got.u, &got.v) {
                                prop_assert_eq!(u, &want.u, "{} u", population.name);
                                prop_assert_eq!(v, &want.v, "{} v", population.name);
                            }
                        }
                        let (fit, refused) = outcomes.get();
                        outcomes.set((fit + 1, refused));
                    }
                }
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let (fit, refused) = outcomes.get();
    eprintln!("under random limits: {fit} fit, {refused} refused");
    assert!(fit > 50 && refused > 20, "{fit} fit, {refused} refused");
}

/// A network in physical units runs on the emulator exactly as its lowered
/// (hardware-unit) form runs in the reference simulator.
#[test]
fn physical_units_lower_then_run_bit_exactly() {
    let network = neurite::net::load(&crate::support::root().join("examples/physical-units.toml"))
        .expect("example loads");
    assert!(network.has_physical_units());
    let lowered = neurite::compiler::physical::lower(&network).expect("lowers");
    let steps = 200;
    let trace =
        neurite_reference::simulate(&lowered.network, steps).expect("the reference simulates it");
    for chip in [ChipProfile::loihi2(), tiny_chip(3)] {
        let recording = neurite::session::run(&network, &chip, steps).expect("runs");
        for (p, population) in network.populations.iter().enumerate() {
            let got = &recording.populations[p];
            let want = &trace.populations[p];
            if let Some(spikes) = &got.spikes {
                assert_eq!(spikes, &want.spikes, "{}", population.name);
            }
            if let Some(v) = &got.v {
                assert_eq!(v, &want.v, "{}", population.name);
            }
        }
        assert!(recording.populations.iter().any(|p| p.spike_total > 0));
    }
}
