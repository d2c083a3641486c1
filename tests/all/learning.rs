//! Learning end to end: descriptions with learning projections, compiled
//! and run on the emulator and simulated by the reference, against runs
//! recorded from Lava's fixed-point `LearningDense`
//! (`tests/golden/learning/cases/`); and random learning networks, emulator
//! against reference.
//!
//! Lava's cases feed post spikes from a source; here a driver input makes
//! each post neuron spike exactly then: with du = dv = 4095 a LIF's v is its
//! input of the step, the driver's weight 255·2^6 crosses vth = 2000 (2000·2^6)
//! and the learning synapses (at most 4 × 255, each scaled by 2^6 like every input) never do. A driver spike at
//! step t − 1 arrives, and the post neuron spikes, at step t.

use neurite::chip::ChipProfile;
use neurite::compiler::compile;
use neurite::emulator::Emulator;
use neurite::net::Network;
use serde_json::{Value, json};

use crate::support::{root, tiny_chip};

fn case(name: &str) -> Value {
    let path = root().join(format!("tests/golden/learning/cases/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("case file")).expect("JSON")
}

/// The learning section of a description for a case's rule.
fn learning_section(rule: &Value) -> Value {
    let mut section = json!({
        "t_epoch": rule["t_epoch"],
        "rng_seed": rule["rng_seed"],
    });
    for key in ["dw", "dd", "dt"] {
        if let Some(text) = rule[key].as_str() {
            section[key] = json!(text);
        }
    }
    for trace in ["x1", "x2", "y1", "y2", "y3"] {
        for what in ["impulse", "tau"] {
            let key = format!("{trace}_{what}");
            section[key.as_str()] = rule[key.as_str()].clone();
        }
    }
    section
}

fn description(case: &Value, driven: bool) -> Network {
    let text = description_json(case, driven);
    neurite::net::from_json_str(&text.to_string(), "case.json", None).expect("valid description")
}

fn description_json(case: &Value, driven: bool) -> Value {
    let (n_pre, n_post) = (case["n_pre"].clone(), case["n_post"].clone());
    let mut learn = json!({
        "name": "learn",
        "from": "pre",
        "to": "post",
        "dense": case["weights"],
        "learning": learning_section(&case["rule"]),
    });
    if let Some(mode) = case.get("sign_mode") {
        learn["sign_mode"] = mode.clone();
    }
    if let Some(bits) = case.get("num_weight_bits") {
        learn["num_weight_bits"] = bits.clone();
    }
    let mut populations = vec![json!({"name": "pre", "size": n_pre, "model": "input"})];
    let mut projections = vec![learn];
    if driven {
        populations.push(json!({"name": "drive", "size": n_post, "model": "input"}));
        populations.push(json!({"name": "post", "size": n_post, "model": "lif", "du": 4095, "dv": 4095, "vth": 2000}));
        projections.push(
            json!({"from": "drive", "to": "post", "one_to_one": {"weight": 255}, "weight_exp": 6}),
        );
    } else {
        let lif = &case["lif"];
        populations.push(json!({
            "name": "post", "size": n_post, "model": "lif",
            "du": lif["du"], "dv": lif["dv"], "vth": lif["vth"], "bias_mant": lif["bias_mant"],
        }));
    }
    json!({
        "name": case["name"],
        "populations": populations,
        "projections": projections,
        "probes": [{"population": "post", "vars": ["spikes"]}],
    })
}

fn ints(v: &Value) -> Vec<u32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("index") as u32)
        .collect()
}

/// Runs a case and compares weights and traces after every step.
fn replay(name: &str, chip: &ChipProfile, threads: usize) {
    let case = case(name);
    let driven = case.get("lif").is_none();
    let network = description(&case, driven);
    let compiled = compile(&network, chip).expect("compiles");
    let mut emulator = Emulator::new(&compiled.program, chip).expect("loads");
    emulator.set_threads(threads);
    let pre_port = compiled.program.input_port("pre").expect("pre port");
    let drive_port = compiled.program.input_port("drive");
    let post = compiled
        .program
        .population("post")
        .expect("post population");
    let steps = case["steps"].as_u64().expect("steps") as usize;
    let (n_pre, n_post) = (
        case["n_pre"].as_u64().expect("n_pre") as usize,
        case["n_post"].as_u64().expect("n_post") as usize,
    );
    for t in 0..steps {
        emulator
            .inject(pre_port, &ints(&case["pre_spikes"][t]))
            .expect("pre");
        if let (Some(port), Some(next)) = (drive_port, case["post_spikes"].get(t + 1)) {
            emulator.inject(port, &ints(next)).expect("drive");
        }
        emulator.step();
        let spiked: Vec<u32> = emulator.spiked(post).expect("post spikes").collect();
        assert_eq!(
            spiked,
            ints(&case["post_spikes"][t]),
            "{name}: post spikes at step {}",
            t + 1
        );
        let want = &case["trace"][t];
        let learned = emulator.learned("learn").expect("learning projection");
        let mut weights = vec![vec![0i64; n_pre]; n_post];
        for &(pre, post, w, _, _) in &learned.synapses {
            weights[post as usize][pre as usize] = i64::from(w);
        }
        let want_weights: Vec<Vec<i64>> =
            serde_json::from_value(want["weights"].clone()).expect("weights");
        assert_eq!(
            weights,
            want_weights,
            "{name}: weights after step {}",
            t + 1
        );
        for (trace, key) in [
            (neurite::emulator::Trace::X1, "x1"),
            (neurite::emulator::Trace::Y1, "y1"),
        ] {
            let got: Vec<i64> = emulator
                .trace("learn", trace)
                .expect("trace")
                .into_iter()
                .map(i64::from)
                .collect();
            let want: Vec<i64> = serde_json::from_value(want[key].clone()).expect("trace");
            assert_eq!(got, want, "{name}: {key} after step {}", t + 1);
        }
    }
}

/// Cases whose post spikes a driver can reproduce (none at step 1) and
/// whose initial state a description can hold (no initial tags, weights
/// in the learned range), with two-factor rules.
const DRIVEN: &[&str] = &[
    "pairs_no_memory",
    "no_decay_epoch4",
    "clip_mixed",
    "clip_excitatory",
    "clip_inhibitory",
    "uk_decimation",
    "fractional_constants",
    "large_seed",
];

#[test]
fn learning_end_to_end_matches_lava() {
    let chip = ChipProfile::loihi2();
    for name in DRIVEN.iter().chain(&["lif_in_the_loop"]) {
        replay(name, &chip, 1);
    }
}

/// The same cases through the reference simulator, with the spikes the
/// emulator's replay injects written into the description as inputs.
#[test]
fn the_reference_simulator_matches_lava() {
    for name in DRIVEN.iter().chain(&["lif_in_the_loop"]) {
        let case = case(name);
        let driven = case.get("lif").is_none();
        let mut text = description_json(&case, driven);
        let steps = case["steps"].as_u64().expect("steps");
        let spikes = |key: &str, shift: usize| -> Vec<Value> {
            let mut out = Vec::new();
            for t in 0..steps as usize {
                if let Some(list) = case[key].get(t + shift) {
                    for i in ints(list) {
                        out.push(json!([t + 1, i]));
                    }
                }
            }
            out
        };
        let mut inputs = vec![json!({"population": "pre", "spikes": spikes("pre_spikes", 0)})];
        if driven {
            // A driver spike at step t makes the post neuron spike at t + 1.
            inputs.push(json!({"population": "drive", "spikes": spikes("post_spikes", 1)}));
        }
        inputs.retain(|i| !i["spikes"].as_array().expect("list").is_empty());
        text["inputs"] = json!(inputs);
        let network = neurite::net::from_json_str(&text.to_string(), "case.json", None)
            .expect("valid description");
        let post = network
            .populations
            .iter()
            .position(|p| p.name == "post")
            .expect("post");
        let (n_pre, n_post) = (
            case["n_pre"].as_u64().expect("n_pre") as usize,
            case["n_post"].as_u64().expect("n_post") as usize,
        );
        for t in 1..=steps {
            let trace = neurite_reference::simulate(&network, t).expect("simulates");
            let step = t as usize - 1;
            assert_eq!(
                trace.populations[post].spikes[step],
                ints(&case["post_spikes"][step]),
                "{name}: post spikes at step {t}"
            );
            let learned = trace.learned[0].as_ref().expect("learns");
            let mut weights = vec![vec![0i64; n_pre]; n_post];
            for (s, synapse) in network.projections[0].synapses.iter().enumerate() {
                weights[synapse.post as usize][synapse.pre as usize] =
                    i64::from(learned.weights[s]);
            }
            let want = &case["trace"][step];
            let want_weights: Vec<Vec<i64>> =
                serde_json::from_value(want["weights"].clone()).expect("weights");
            assert_eq!(weights, want_weights, "{name}: weights after step {t}");
            for (k, key) in [(0, "x1"), (2, "y1")] {
                let got: Vec<i64> = learned.traces[k].iter().map(|&v| i64::from(v)).collect();
                let want: Vec<i64> = serde_json::from_value(want[key].clone()).expect("trace");
                assert_eq!(got, want, "{name}: {key} after step {t}");
            }
        }
    }
}

#[test]
fn learning_split_across_cores_and_threads_matches_lava() {
    // One neuron per core: every post neuron on a core of its own, each
    // with its own copy of the group's traces and random streams.
    let chip = tiny_chip(1);
    for name in ["large_seed", "no_decay_epoch4", "lif_in_the_loop"] {
        replay(name, &chip, 1);
        replay(name, &chip, 3);
    }
}

// ---------------------------------------------------------------------------
// Differential: compiler + emulator against the reference simulator.
// ---------------------------------------------------------------------------

mod differential {
    use neurite::chip::ChipProfile;
    use neurite::compiler::compile;
    use neurite::emulator::{Emulator, Trace};
    use neurite::net::{InputStream, Network};
    use neurite_reference::HostInput;
    use proptest::prelude::*;
    use proptest::test_runner::{
        Config, FileFailurePersistence, RngAlgorithm, TestRng, TestRunner,
    };
    use serde_json::{Value, json};

    use crate::support::tiny_chip;

    /// τ so large that exp(−1/τ) is exactly 1: nothing decays, and JSON can
    /// hold it (it has no infinity).
    const NO_DECAY: f64 = 4_611_686_018_427_387_904.0;

    /// Longest run, and so the number of host values drawn per neuromodulator.
    const MAX_STEPS: u64 = 48;

    /// One product, as (negative, text). Scales from 2^−4 up leave
    /// remainders that round at random; `w*w*w` and `t*w*d*w` overflow
    /// Lava's int32 before the shift and wrap. `uk` is `u1` in two-factor
    /// rules and `u0` in three-factor ones (a rule has a single k).
    fn product(u: &'static str, three_factor: bool) -> impl Strategy<Value = (bool, String)> {
        let x0 = if three_factor { "x0*y2" } else { "x0" };
        let dependency = prop::sample::select(vec![
            x0.to_string(),
            "y0".to_string(),
            u.to_string(),
            format!("{u}*y0"),
            "x0*y0".to_string(),
        ]);
        let mut lights = vec!["x1", "x2", "y1", "y2", "y3", "(x1 + 2^-1)", "(y1 - 5)"];
        if three_factor {
            lights.extend(["y2", "(y2 + 3)", "y2*y1"]);
        }
        let light = prop::sample::select(lights);
        let heavy = prop::sample::select(vec!["w", "d", "t"]);
        let sign =
            prop::sample::select(vec!["sgn(w)", "sgn(d - 3)", "sgn(t + 7)", "sgn(w + 2^-1)"]);
        let shape = prop_oneof![
            // m·2^e alone.
            4 => (-8i32..=7, -4i32..=4).prop_map(|(m, e)| (m, e, String::new())),
            // One trace.
            6 => (-8i32..=7, -4i32..=2, light.clone()).prop_map(|(m, e, f)| (m, e, format!("*{f}"))),
            // w, d or t.
            3 => (-8i32..=7, -4i32..=1, heavy.clone()).prop_map(|(m, e, f)| (m, e, format!("*{f}"))),
            // A factor and a sign.
            3 => (-8i32..=7, -3i32..=2, prop_oneof![light.clone(), heavy], sign)
                .prop_map(|(m, e, f, g)| (m, e, format!("*{f}*{g}"))),
            // Two traces: shifted right by 3.
            2 => (-8i32..=7, -2i32..=3, light.clone(), light)
                .prop_map(|(m, e, f, g)| (m, e, format!("*{f}*{g}"))),
            // Wide products that wrap in int32.
            1 => (-8i32..=7, prop::sample::select(vec!["*w*w*w*x1", "*t*w*d*w", "*w*w*w*w*y1"]))
                .prop_map(|(m, f)| (m, 0, f.to_string())),
        ];
        (dependency, shape)
            .prop_map(|(dep, (m, e, factors))| (m < 0, format!("{}*2^{e}*{dep}{factors}", m.abs())))
    }

    /// A sum of one to three products.
    fn rule(u: &'static str, three_factor: bool) -> impl Strategy<Value = String> {
        prop::collection::vec(product(u, three_factor), 1..=3).prop_map(|products| {
            let mut text = String::new();
            for (k, (negative, p)) in products.into_iter().enumerate() {
                match (k, negative) {
                    (0, true) => text.push('-'),
                    (0, false) => {}
                    (_, true) => text.push_str(" - "),
                    (_, false) => text.push_str(" + "),
                }
                text.push_str(&p);
            }
            text
        })
    }

    /// A trace's impulse (integer, or with a fraction that rounds at random)
    /// and time constant (no memory, no decay, or a decay that rounds at
    /// random).
    fn trace() -> impl Strategy<Value = (f64, f64)> {
        let impulse = (
            0i64..=40,
            prop::sample::select(vec![0.0, 0.0, 0.25, 0.3, 0.5, 0.75, 0.1]),
        )
            .prop_map(|(whole, fraction)| whole as f64 + fraction);
        let tau = prop_oneof![
            Just(0.0),
            Just(NO_DECAY),
            (1i64..=30).prop_map(|t| t as f64),
            (1i64..=40).prop_map(|t| t as f64 / 4.0),
        ];
        (impulse, tau)
    }

    /// A seed, now and then one whose s + 1, s + 2, s + 3 pass 2^64.
    fn seed() -> impl Strategy<Value = u64> {
        prop_oneof![
            4 => any::<u32>().prop_map(u64::from),
            1 => (0u64..4).prop_map(|k| u64::MAX - k),
        ]
    }

    /// A two-factor rule in Lava's language.
    fn two_factor() -> impl Strategy<Value = Value> {
        (
            rule("u1", false),
            prop::option::of(rule("u1", false)),
            prop::option::of(rule("u1", false)),
            prop::collection::vec(trace(), 5),
            1i64..=4,
            seed(),
        )
            .prop_map(|(dw, dd, dt, traces, t_epoch, seed)| {
                let mut l = json!({"dw": dw, "t_epoch": t_epoch, "rng_seed": seed});
                if let Some(dd) = dd {
                    l["dd"] = json!(dd);
                }
                if let Some(dt) = dt {
                    l["dt"] = json!(dt);
                }
                for (name, (impulse, tau)) in ["x1", "x2", "y1", "y2", "y3"].iter().zip(traces) {
                    l[format!("{name}_impulse")] = json!(impulse);
                    l[format!("{name}_tau")] = json!(tau);
                }
                l
            })
    }

    /// A three-factor rule: y2 from a neuromodulator streamed by the host
    /// or fed by a population's spikes, y1 from the post neuron's own trace
    /// (or 0), written in Lava's language or as `reward_stdp`.
    fn three_factor() -> impl Strategy<Value = Value> {
        let modulator = prop::sample::select(vec!["host_da", "pop_da"]);
        let custom = (
            rule("u0", true),
            prop::option::of(rule("u0", true)),
            prop::collection::vec(trace(), 2),
            prop::option::of((
                0i64..=40,
                prop::sample::select(vec![0.0, 0.5, 0.25]),
                1i64..=20,
            )),
        )
            .prop_map(|(dw, dt, traces, post)| {
                let mut l = json!({"dw": dw, "three_factor": true});
                if let Some(dt) = dt {
                    l["dt"] = json!(dt);
                }
                for (name, (impulse, tau)) in ["x1", "x2"].iter().zip(traces) {
                    l[format!("{name}_impulse")] = json!(impulse);
                    l[format!("{name}_tau")] = json!(tau);
                }
                if let Some((impulse, fraction, tau)) = post {
                    l["post_trace_kernel_magnitude"] = json!(impulse as f64 + fraction);
                    l["post_trace_decay_tau"] = json!(tau);
                }
                l
            });
        let named = (
            prop::sample::select(vec![0.5, 1.0, 2.0]),
            prop::sample::select(vec![1.0, 2.0, 3.0]),
            prop::sample::select(vec![-1.0, -2.0, 0.5]),
            trace(),
            (1i64..=20, 1i64..=40),
            prop::sample::select(vec![0.5, 0.25, 0.125]),
        )
            .prop_map(
                |(lr, a_plus, a_minus, (impulse, tau), (post_tau, post_impulse), e)| {
                    json!({
                        "rule": "reward_stdp",
                        "learning_rate": lr,
                        "A_plus": a_plus,
                        "A_minus": a_minus,
                        "pre_trace_kernel_magnitude": impulse,
                        "pre_trace_decay_tau": if tau == 0.0 { 1.0 } else { tau },
                        "post_trace_decay_tau": post_tau,
                        "post_trace_kernel_magnitude": post_impulse,
                        "eligibility_trace_decay_tau": e,
                    })
                },
            );
        (prop_oneof![custom, named], modulator, 1i64..=4, seed()).prop_map(
            |(mut l, modulator, t_epoch, seed)| {
                l["neuromodulator"] = json!(modulator);
                l["t_epoch"] = json!(t_epoch);
                l["rng_seed"] = json!(seed);
                l
            },
        )
    }

    fn learning() -> impl Strategy<Value = Value> {
        prop_oneof![3 => two_factor(), 2 => three_factor()]
    }

    fn lif(name: &str, size: usize) -> impl Strategy<Value = Value> {
        let name = name.to_string();
        (
            prop::sample::select(vec![0i64, 1024, 2048, 4095]),
            prop::sample::select(vec![0i64, 256, 4095]),
            0i64..=60,
            0i64..=20,
        )
            .prop_map(move |(du, dv, vth, bias)| {
                json!({"name": name, "size": size, "model": "lif", "du": du, "dv": dv, "vth": vth, "bias_mant": bias})
            })
    }

    fn projection(
        from: &'static str,
        to: &'static str,
        n_from: usize,
        n_to: usize,
        learns: bool,
    ) -> impl Strategy<Value = Value> {
        (
            prop::sample::select(vec!["mixed", "excitatory", "inhibitory", "unset"]),
            prop::collection::vec(prop::collection::vec(-120i64..=120, n_from), n_to),
            prop::bool::ANY,
            learning(),
            (prop::sample::select(vec![8i64, 8, 7, 5, 3, 1]), -2i64..=2),
            // Delays on other projections give the target cores rings of
            // several slots, which learning synapses must add into at the
            // right one.
            0i64..=3,
        )
            .prop_map(
                move |(mode, mut rows, sparse, rule, (bits, weight_exp), delay)| {
                    for row in &mut rows {
                        for w in row.iter_mut() {
                            *w = match mode {
                                "excitatory" => w.abs(),
                                "inhibitory" => -w.abs(),
                                _ => *w,
                            };
                        }
                    }
                    let mut p = json!({
                        "name": format!("{from}->{to}"), "from": from, "to": to,
                        "num_weight_bits": bits, "weight_exp": weight_exp,
                    });
                    // Unset: a learning projection is mixed whatever its weights
                    // (as Lava's is), any other infers its mode from them.
                    if mode != "unset" {
                        p["sign_mode"] = json!(mode);
                    }
                    if sparse {
                        let mut entries = Vec::new();
                        for (post, row) in rows.iter().enumerate() {
                            for (pre, &w) in row.iter().enumerate() {
                                if (pre + post) % 2 == 0 {
                                    entries.push(json!([pre, post, w]));
                                }
                            }
                        }
                        if entries.is_empty() {
                            entries.push(json!([0, 0, 0]));
                        }
                        p["sparse"] = json!(entries);
                    } else {
                        p["dense"] = json!(rows);
                    }
                    if learns {
                        p["learning"] = rule;
                    } else {
                        p["delay"] = json!(delay);
                    }
                    p
                },
            )
    }

    /// A random network, the steps to run, neurons per core, and the values
    /// the host streams to the two neuromodulators at steps 1, 2, …
    type Case = (Value, u64, u32, [Vec<i32>; 2]);

    fn network() -> impl Strategy<Value = Case> {
        (1usize..=4, 1usize..=4, 1usize..=3).prop_flat_map(|(n_in, n_a, n_b)| {
            let host = || {
                prop_oneof![
                    prop::collection::vec(-40i32..=60, MAX_STEPS as usize),
                    prop::collection::vec(-300i32..=300, MAX_STEPS as usize),
                ]
            };
            (
                (lif("a", n_a), lif("b", n_b)),
                projection("in", "a", n_in, n_a, true),
                projection("a", "b", n_a, n_b, true),
                (
                    projection("in", "b", n_in, n_b, false),
                    // Now and then a recurrent learning projection: its
                    // neurons are pre and post at once.
                    prop::option::of(projection("b", "b", n_b, n_b, true)),
                ),
                (
                    prop::collection::vec(-30i64..=30, n_b),
                    prop::option::of(-30i64..=30),
                    prop::bool::ANY,
                    host(),
                    host(),
                ),
                100.0f64..=500.0,
                any::<u64>(),
                20u64..=MAX_STEPS,
                1u32..=3,
            )
                .prop_map(
                    move |((a, b), p1, p2, (p3, p4), (weights, on_a, streamed, host_da, pop_da), rate, seed, steps, per_core)| {
                        let projections: Vec<Value> = [p1, p2, p3].into_iter().chain(p4).collect();
                        let description = json!({
                            "name": "differential",
                            "populations": [{"name": "in", "size": n_in, "model": "input"}, a, b],
                            "neuromodulators": [
                                {"name": "host_da"},
                                match on_a {
                                    // One weight for every neuron of "a".
                                    Some(w) => json!({"name": "pop_da", "population": "a", "weight": w}),
                                    None => json!({"name": "pop_da", "population": "b", "weight": weights}),
                                },
                            ],
                            "projections": projections,
                            "inputs": [{"population": "in", "poisson": {"rate_hz": rate, "seed": seed}}],
                            "probes": [
                                {"population": "in", "vars": ["spikes"]},
                                {"population": "a", "vars": ["spikes"]},
                                {"population": "b", "vars": ["spikes"]},
                            ],
                        });
                        // pop_da also takes host values in some cases.
                        let pop_da = if streamed { pop_da } else { vec![0; MAX_STEPS as usize] };
                        (description, steps, per_core, [host_da, pop_da])
                    },
                )
        })
    }

    const MODULATORS: [&str; 2] = ["host_da", "pop_da"];

    fn compare(
        network: &Network,
        chip: &ChipProfile,
        steps: u64,
        threads: usize,
        host: &[Vec<i32>; 2],
    ) -> Result<(), String> {
        let compiled = compile(network, chip).map_err(|e| e.to_string())?;
        let mut emulator = Emulator::new(&compiled.program, chip).map_err(|e| e.to_string())?;
        emulator.set_threads(threads);
        let mut host_input = HostInput::new();
        for (name, values) in MODULATORS.iter().zip(host) {
            for (t, &value) in values.iter().enumerate().take(steps as usize) {
                host_input.set_neuromodulator(name, t as u64 + 1, value);
            }
        }
        let reference = neurite_reference::simulate_with(network, steps, &host_input)
            .map_err(|e| e.to_string())?;
        let modulators: Vec<Option<usize>> = MODULATORS
            .iter()
            .map(|name| emulator.neuromodulator(name))
            .collect();
        let mut inputs = InputStream::new(network);
        let mut spikes = Vec::new();
        let port = compiled.program.input_port("in").ok_or("no port")?;
        for t in 0..steps as usize {
            inputs.advance(&mut spikes);
            emulator
                .inject(port, &spikes[0])
                .map_err(|e| e.to_string())?;
            // Only a network that learns has neuromodulators on the chip.
            for (m, values) in modulators.iter().zip(host) {
                if let Some(m) = *m {
                    emulator
                        .set_neuromodulator(m, values[t])
                        .map_err(|e| e.to_string())?;
                }
            }
            emulator.step();
            for (p, name) in [(1, "a"), (2, "b")] {
                let index = compiled.program.population(name).ok_or("population")?;
                let got: Vec<u32> = emulator.spiked(index).map_err(|e| e.to_string())?.collect();
                if got != reference.populations[p].spikes[t] {
                    return Err(format!(
                        "{name} spikes at step {}: emulator {got:?}, reference {:?}",
                        t + 1,
                        reference.populations[p].spikes[t]
                    ));
                }
            }
        }
        for (j, projection) in network.projections.iter().enumerate() {
            let Some(want) = &reference.learned[j] else {
                continue;
            };
            let mut want_synapses: Vec<(u32, u32, i16, i16, i16)> = projection
                .synapses
                .iter()
                .enumerate()
                .map(|(s, syn)| {
                    (
                        syn.pre,
                        syn.post,
                        want.weights[s] as i16,
                        want.tags[s] as i16,
                        want.delays[s] as i16,
                    )
                })
                .collect();
            want_synapses.sort_unstable();
            let got = emulator
                .learned(&projection.name)
                .map_err(|e| e.to_string())?
                .synapses;
            if got != want_synapses {
                return Err(format!(
                    "{}: learned (pre, post, w, t, d): emulator {got:?}, reference {want_synapses:?}",
                    projection.name
                ));
            }
            // Traces of the neurons some synapse joins (the chip keeps no
            // trace of a neuron without one).
            let pre: Vec<usize> = projection.synapses.iter().map(|s| s.pre as usize).collect();
            let post: Vec<usize> = projection
                .synapses
                .iter()
                .map(|s| s.post as usize)
                .collect();
            for (k, (trace, name)) in [
                (Trace::X1, "x1"),
                (Trace::X2, "x2"),
                (Trace::Y1, "y1"),
                (Trace::Y2, "y2"),
                (Trace::Y3, "y3"),
            ]
            .into_iter()
            .enumerate()
            {
                let got = emulator
                    .trace(&projection.name, trace)
                    .map_err(|e| e.to_string())?;
                let neurons = if k < 2 { &pre } else { &post };
                for &n in neurons {
                    if got[n] != want.traces[k][n] {
                        return Err(format!(
                            "{}: {name} of neuron {n}: emulator {}, reference {}",
                            projection.name, got[n], want.traces[k][n]
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    #[test]
    fn learning_networks_match_the_reference() {
        let config = Config {
            // `NEURITE_DIFFERENTIAL_CASES` asks for more, as for the
            // networks without learning.
            cases: std::env::var("NEURITE_DIFFERENTIAL_CASES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(256),
            failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
            ..Config::default()
        };
        let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
        let mut runner = TestRunner::new_with_rng(config, rng);
        runner
            .run(&network(), |(description, steps, per_core, host)| {
                let network = neurite::net::from_json_str(&description.to_string(), "d.json", None)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let one = ChipProfile::loihi2();
                compare(&network, &one, steps, 1, &host).map_err(TestCaseError::fail)?;
                let tiny = tiny_chip(per_core);
                compare(&network, &tiny, steps, 2, &host).map_err(TestCaseError::fail)?;
                Ok(())
            })
            .expect("emulator and reference agree");
    }
}

// ---------------------------------------------------------------------------
// Programs with learning groups, neuromodulators and three-factor rules.
// ---------------------------------------------------------------------------

mod third_factor {
    use neurite::chip::ChipProfile;
    use neurite::compiler::compile;
    use neurite::emulator::{Emulator, Trace};
    use neurite::program::{Program, ValidationError};

    use crate::support::toml;

    /// Pre spikes every 4th step and post one step later (driven), with
    /// reward-modulated STDP onto the post neuron and a dopamine signal from
    /// the host and from a "da" population that spikes every step.
    pub(super) const NET: &str = r#"
[[populations]]
name = "pre"
size = 1
model = "input"

[[populations]]
name = "drive"
size = 1
model = "input"

[[populations]]
name = "post"
size = 1
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
dense = [[100]]
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
one_to_one = { weight = 255 }
weight_exp = 6
"#;

    fn run(host_reward: i32, steps: u64) -> (Emulator, Program) {
        let chip = ChipProfile::loihi2();
        let compiled = compile(&toml(NET), &chip).expect("compiles");
        let program = compiled.program;
        let mut emulator = Emulator::new(&program, &chip).expect("loads");
        let (pre, drive) = (
            program.input_port("pre").expect("pre"),
            program.input_port("drive").expect("drive"),
        );
        let dopamine = emulator.neuromodulator("dopamine").expect("dopamine");
        for t in 1..=steps {
            if t % 4 == 1 {
                emulator.inject(pre, &[0]).expect("pre");
                emulator.inject(drive, &[0]).expect("drive");
            }
            emulator
                .set_neuromodulator(dopamine, host_reward)
                .expect("host value");
            emulator.step();
        }
        (emulator, program)
    }

    #[test]
    fn neuromodulator_is_host_value_plus_weighted_spikes_of_the_last_step() {
        // da neurons (bias 1 > vth 0) spike from step 1 on, so from step 2 the
        // value is host + 3 + 4.
        let (emulator, _) = run(-20, 1);
        assert_eq!(emulator.neuromodulator_value(0), Some(-20));
        let (emulator, _) = run(-20, 2);
        assert_eq!(emulator.neuromodulator_value(0), Some(-13));
        assert_eq!(emulator.trace("plastic", Trace::Y2).expect("y2"), [-13]);
    }

    #[test]
    fn the_sign_of_the_reward_sets_the_direction_of_learning() {
        // The tag (eligibility) grows from pre-before-post pairs whatever the
        // reward; dw = u0·t·y2 moves the weight with the reward's sign.
        let weight = |reward| {
            let (emulator, _) = run(reward, 40);
            let learned = emulator.learned("plastic").expect("learns");
            let (_, _, w, tag, _) = learned.synapses[0];
            (w, tag)
        };
        let (neutral, tag) = weight(-7);
        let (up, _) = weight(40);
        let (down, _) = weight(-60);
        assert_ne!(tag, 0, "eligibility builds up");
        assert_eq!(
            neutral, 100,
            "no net reward (host −7 + spikes 7): the weight stays"
        );
        assert!(up > 100, "{up}");
        assert!(down < 100, "{down}");
    }

    #[test]
    fn the_reference_simulator_learns_as_the_emulator_does() {
        // The same run in the reference: the injected spikes as periodic
        // inputs, the host's reward as host input.
        let text = format!(
            "{NET}\n[[inputs]]\npopulation = \"pre\"\nperiodic = {{ period = 4, phase = 1 }}\n\
             [[inputs]]\npopulation = \"drive\"\nperiodic = {{ period = 4, phase = 1 }}\n"
        );
        for reward in [-60, -7, 40] {
            let steps = 40;
            let (emulator, _) = run(reward, steps);
            let mut host = neurite_reference::HostInput::new();
            for t in 1..=steps {
                host.set_neuromodulator("dopamine", t, reward);
            }
            let reference =
                neurite_reference::simulate_with(&toml(&text), steps, &host).expect("simulates");
            let want = reference.learned[0].as_ref().expect("learns");
            let (_, _, w, tag, d) = emulator.learned("plastic").expect("learns").synapses[0];
            assert_eq!(
                (i32::from(w), i32::from(tag), i32::from(d)),
                (want.weights[0], want.tags[0], want.delays[0]),
                "reward {reward}"
            );
            for (k, trace) in [Trace::X1, Trace::X2, Trace::Y1, Trace::Y2, Trace::Y3]
                .into_iter()
                .enumerate()
            {
                assert_eq!(
                    emulator.trace("plastic", trace).expect("trace"),
                    want.traces[k],
                    "reward {reward}: {trace:?}"
                );
            }
        }
    }

    #[test]
    fn learning_programs_encode_and_refuse_damage() {
        let chip = ChipProfile::loihi2();
        let program = compile(&toml(NET), &chip).expect("compiles").program;
        let decoded = Program::decode(&program.encode()).expect("decodes");
        assert_eq!(decoded, program);
        let core = program
            .cores
            .iter()
            .position(|c| !c.learning.is_empty())
            .expect("a learning core");
        let damaged = |f: &dyn Fn(&mut Program)| {
            let mut p = program.clone();
            f(&mut p);
            match p.validate(&chip) {
                Err(ValidationError::BadEntry {
                    table: "learning",
                    reason,
                    ..
                }) => reason,
                other => panic!("{other:?}"),
            }
        };
        let reason =
            damaged(&|p| p.cores[core].learning[0].rule.rules[0] = Some("x0*(-x1)".into()));
        assert!(
            reason.contains("projection 'plastic'") && reason.contains("Lava drops the minus"),
            "{reason}"
        );
        let reason = damaged(&|p| p.cores[core].learning[0].tags[0] = 300);
        assert!(
            reason.contains("tags[0] = 300 outside -257..=255"),
            "{reason}"
        );
        let reason = damaged(&|p| p.cores[core].learning[0].neuromodulator = Some(9));
        assert!(
            reason.contains("neuromodulator 9 does not exist"),
            "{reason}"
        );
        let reason = damaged(&|p| p.cores[core].learning[0].pre.clear());
        assert!(reason.contains("has no pre neuron"), "{reason}");
        let reason = damaged(&|p| p.cores[core].learning[0].rule.traces[0].decay = 2f64.to_bits());
        assert!(reason.contains("decay factor"), "{reason}");
    }
}

#[test]
fn learning_is_counted_and_priced() {
    // 2 × 2 dense synapses, dw only, an epoch every step: 4 synaptic updates
    // and 2·2 + 3·2 = 10 trace updates per step, priced at Loihi 1's 120 pJ
    // and 6.1 ns per synaptic update.
    let case = case("pairs_no_memory");
    let network = description(&case, true);
    let chip = ChipProfile::loihi1();
    let compiled = compile(&network, &chip).expect("compiles");
    let mut emulator = Emulator::new(&compiled.program, &chip).expect("loads");
    let costs = neurite::chip::Costs::loihi1();
    emulator.enable_model(costs.clone());
    for _ in 0..12 {
        emulator.step();
    }
    let totals = emulator.totals();
    assert_eq!(totals.synaptic_updates, 48);
    assert_eq!(totals.trace_updates, 120);
    let last: u64 = emulator
        .step_counts()
        .iter()
        .map(|c| c.synaptic_updates)
        .sum();
    assert_eq!(last, 4);
    let model = emulator.model().expect("model");
    let step = model.steps()[11];
    assert_eq!(step.counts.synaptic_updates, 4);
    let expected = step.counts.synaptic_ops as f64 * costs.synaptic_op.energy_pj + 4.0 * 120.0;
    assert!(
        (step.energy.synapses - expected).abs() < 1e-9,
        "{} vs {expected}",
        step.energy.synapses
    );
    // No spikes: the step's time is the neuron updates and the learning.
    let busy = 2.0 * costs.neuron_update.time_ns + 4.0 * 6.1;
    let barrier = costs.barrier_cost(1).time_ns;
    assert!(
        (step.time_ns - busy - barrier).abs() < 1e-9,
        "{} vs {}",
        step.time_ns,
        busy + barrier
    );
    assert_eq!(emulator.learning_counts().synaptic_updates, 48);
}

// ---------------------------------------------------------------------------
// Learning over the board protocol.
// ---------------------------------------------------------------------------

mod board {
    use neurite::chip::ChipProfile;
    use neurite::compiler::compile;
    use neurite::emulator::{Emulator, Trace};
    use neurite::program::Program;
    use neurite_firmware_sim::DaemonConfig;
    use neurite_host::{Board, InputFrame, LearnedState, LocalBoard, RemoteBoard, StreamConfig};

    use crate::support::toml;

    const STEPS: u64 = 40;

    /// The reward each step streams: positive, then negative.
    fn reward(step: u64) -> i32 {
        if step <= 20 { 30 } else { -50 }
    }

    fn frame(step: u64) -> InputFrame {
        let mut inputs = Vec::new();
        if step % 4 == 1 {
            inputs.push(("pre".to_string(), vec![0]));
            inputs.push(("drive".to_string(), vec![0]));
        }
        InputFrame {
            step,
            sequence: step,
            inputs,
            neuromodulators: vec![("dopamine".to_string(), reward(step))],
        }
    }

    /// The same run on the emulator directly.
    fn offline(program: &Program, chip: &ChipProfile) -> LearnedState {
        let mut emulator = Emulator::new(program, chip).expect("loads");
        let dopamine = emulator.neuromodulator("dopamine").expect("dopamine");
        for step in 1..=STEPS {
            for (port, channels) in frame(step).inputs {
                let port = program.input_port(&port).expect("port");
                emulator.inject(port, &channels).expect("inject");
            }
            emulator
                .set_neuromodulator(dopamine, reward(step))
                .expect("reward");
            emulator.step();
        }
        let trace = |t| emulator.trace("plastic", t).expect("trace");
        let learned = emulator.learned("plastic").expect("learned");
        LearnedState {
            n_pre: learned.n_pre,
            n_post: learned.n_post,
            synapses: learned.synapses,
            traces: [
                trace(Trace::X1),
                trace(Trace::X2),
                trace(Trace::Y1),
                trace(Trace::Y2),
                trace(Trace::Y3),
            ],
        }
    }

    async fn on_board<B: Board>(board: &B, program: &Program) -> LearnedState {
        board.load(program).await.expect("loads");
        let stream = board
            .stream(StreamConfig::step_locked(STEPS))
            .await
            .expect("stream opens");
        let (mut sender, mut receiver) = stream.split();
        let send = async {
            for step in 1..=STEPS {
                sender.send(frame(step)).await.expect("frame sent");
            }
        };
        let receive = async {
            while let Some(frame) = receiver.recv().await {
                frame.expect("output frame");
            }
        };
        tokio::join!(send, receive);
        let state = board.learned("plastic").await.expect("learned state");
        let missing = board.learned("nope").await.expect_err("no such projection");
        assert!(
            missing
                .to_string()
                .contains("no learning projection 'nope'"),
            "{missing}"
        );
        state
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn neuromodulators_stream_and_learned_state_reads_back_on_every_board() {
        let chip = ChipProfile::loihi2();
        let program = compile(&toml(super::third_factor::NET), &chip)
            .expect("compiles")
            .program;
        let want = offline(&program, &chip);
        assert_ne!(want.synapses[0].2, 100, "the weight learned");
        let local = on_board(&LocalBoard::new(chip.clone()), &program).await;
        assert_eq!(local, want);
        let running = neurite_firmware_sim::spawn(
            DaemonConfig::new(chip),
            "127.0.0.1:0".parse().expect("address"),
        )
        .await
        .expect("daemon starts");
        let board = RemoteBoard::connect(&running.url())
            .await
            .expect("connects");
        let remote = on_board(&board, &program).await;
        assert_eq!(remote, want);
        running.shutdown().await.expect("clean shutdown");
    }
}

#[test]
fn partitioning_counts_the_memory_of_learning_state() {
    // 100 000 learning synapses: without the tags, delay variables and
    // traces in the partitioner's accounting, a core would exceed its
    // memory and the Program would be refused on load.
    let network = crate::support::toml(
        r#"
[[populations]]
name = "pre"
size = 1000
model = "input"

[[populations]]
name = "post"
size = 1000
model = "lif"
du = 1024
dv = 256
vth = 2000

[[projections]]
name = "p"
from = "pre"
to = "post"
fixed_probability = { p = 0.1, weight = 10, seed = 1 }
sign_mode = "excitatory"
[projections.learning]
rule = "stdp"
"#,
    );
    let chip = ChipProfile::loihi2();
    let program = compile(&network, &chip).expect("compiles").program;
    program.validate(&chip).expect("every core fits its memory");
    for core in &program.cores {
        let usage = core.usage(&chip);
        assert!(usage.memory.used_bits <= usage.memory.capacity_bits);
    }
    let plain = {
        let mut network = network.clone();
        network.projections[0].learning = None;
        compile(&network, &chip).expect("compiles").program
    };
    assert!(
        program.cores.len() > plain.cores.len(),
        "learning state takes room"
    );
}

#[test]
fn program_text_shows_learning_groups_and_neuromodulators() {
    let chip = ChipProfile::loihi2();
    let program = compile(&crate::support::toml(third_factor::NET), &chip)
        .expect("compiles")
        .program;
    let text = program.to_text();
    assert!(
        text.contains(
            "learning 0: projection 'plastic' group 0 epoch 1 seed 3 dw = 1*2^0*u0*t*y2;"
        ),
        "{text}"
    );
    assert!(text.contains("x1 16/4"), "{text}");
    assert!(
        text.contains("neuromodulator 0 pre 1 of 1 post 1 of 1"),
        "{text}"
    );
    assert!(text.contains("neuromodulator 'dopamine': c"), "{text}");
}

/// A weight written between steps first meets the spikes of the step after
/// the write: the spikes of the step already run are delivered (at the start
/// of the next) with the weight they met, as after an epoch's update.
#[test]
fn a_written_weight_meets_the_spikes_of_the_steps_after_the_write() {
    use neurite::emulator::{EmulatorError, SynapseVar, Var};
    // dopamine never comes: the rule leaves the weights alone. du = 4095:
    // post's u is its input of the step.
    let net = |weight: i32| {
        crate::support::toml(&format!(
            r#"
[[populations]]
name = "pre"
size = 1
model = "input"
[[populations]]
name = "post"
size = 1
model = "lif"
du = 4095
dv = 0
vth = 100000
[[neuromodulators]]
name = "dopamine"
[[projections]]
name = "plastic"
from = "pre"
to = "post"
dense = [[{weight}]]
[projections.learning]
rule = "reward_stdp"
neuromodulator = "dopamine"
rng_seed = 1
"#
        ))
    };
    let chip = ChipProfile::loihi2();
    // u of post after each of 4 steps, pre spiking at `spike_at`; the weight
    // becomes 200 after step `write_after` (0: before the first).
    let run = |initial: i32, spike_at: u64, write_after: Option<u64>| -> Vec<i32> {
        let program = compile(&net(initial), &chip).expect("compiles").program;
        let mut emulator = Emulator::new(&program, &chip).expect("loads");
        let pre = program.input_port("pre").expect("pre");
        let post = program.population("post").expect("post");
        let mut u = Vec::new();
        for step in 0..4 {
            if write_after == Some(step) {
                emulator
                    .write_learned("plastic", SynapseVar::Weight, 0, &[200])
                    .expect("written");
            }
            if step + 1 == spike_at {
                emulator.inject(pre, &[0]).expect("spike");
            }
            emulator.step();
            let mut values = Vec::new();
            emulator.read(post, Var::U, &mut values).expect("u");
            u.push(values[0]);
        }
        u
    };
    let (old, new) = (run(100, 1, None), run(200, 1, None));
    assert_ne!(old, new);
    // The spike of step 1 arrives at step 2: written after step 1, it still
    // meets the old weight; written before step 1, the new one.
    assert_eq!(run(100, 1, Some(1)), old);
    assert_eq!(run(100, 1, Some(0)), new);
    // A spike at step 2, after a write after step 1: the new weight.
    assert_eq!(run(100, 2, Some(1)), run(200, 2, None));

    // Refusals name the projection, the synapse and the range, and write
    // nothing.
    let program = compile(&net(100), &chip).expect("compiles").program;
    let mut emulator = Emulator::new(&program, &chip).expect("loads");
    let err = emulator
        .write_learned("plastic", SynapseVar::Tag, 0, &[256])
        .expect_err("out of range");
    assert_eq!(
        err.to_string(),
        "learning projection 'plastic', synapse 0 (pre 0, post 0): tag 256 is out of range -257..=255"
    );
    assert!(matches!(
        emulator.write_learned("plastic", SynapseVar::Delay, 1, &[0]),
        Err(EmulatorError::SynapsesOutOfRange { len: 1, .. })
    ));
    assert!(matches!(
        emulator.write_learned("other", SynapseVar::Weight, 0, &[0]),
        Err(EmulatorError::UnknownProjection { .. })
    ));
    let learned = emulator.learned("plastic").expect("learned");
    assert_eq!(learned.synapses, vec![(0, 0, 100, 0, 0)]);
}
