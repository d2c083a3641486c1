//! The engine against Lava's `LearningDense` (`cases/*.json`, written by
//! `generate.py cases`): the same spikes in, the same weights, tags and
//! traces out after every step.

use serde_json::Value;

use crate::apply::{Layout, SignMode, Synapses, apply, truncate_initial_weight};
use crate::profile::{LearningProfile, PostTraceSource, RuleSpec, SUPPLIED_TAU, Trace, TraceSpec};
use crate::traces::Traces;

use super::golden;

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_i64().expect("integer"))
        .collect()
}

/// A (post, pre) matrix, flattened row by row.
fn matrix(v: &Value) -> Vec<i16> {
    v.as_array()
        .expect("matrix")
        .iter()
        .flat_map(ints)
        .map(|x| i16::try_from(x).expect("fits i16"))
        .collect()
}

fn spec_of(rule: &Value) -> RuleSpec {
    let text = |k: &str| rule[k].as_str().map(str::to_string);
    let trace = |name: &str| {
        TraceSpec::new(
            rule[format!("{name}_impulse")].as_f64().expect("impulse"),
            rule[format!("{name}_tau")].as_f64().expect("tau"),
        )
    };
    let three_factor = rule["three_factor"].as_bool().expect("three_factor");
    let base = if three_factor {
        RuleSpec::three_factor()
    } else {
        RuleSpec::default()
    };
    let spec = RuleSpec {
        dw: text("dw"),
        dd: text("dd"),
        dt: text("dt"),
        x1: trace("x1"),
        x2: trace("x2"),
        y1: trace("y1"),
        y2: trace("y2"),
        y3: trace("y3"),
        t_epoch: rule["t_epoch"].as_u64().expect("t_epoch") as u32,
        rng_seed: rule["rng_seed"].as_u64().expect("rng_seed"),
        ..base
    };
    if three_factor {
        assert_eq!(spec.y2.tau, SUPPLIED_TAU);
        assert_eq!(spec.post_sources, [PostTraceSource::Supplied; 3]);
    }
    spec
}

/// Replays one case and compares every recorded step.
fn replay(name: &str) {
    let case = golden(&format!("cases/{name}.json"));
    let rule = &case["rule"];
    let mut profile = LearningProfile::compile(&spec_of(rule)).expect("rule compiles");
    // NumPy's exp(-1/tau), which may differ from the platform's by an ulp.
    for (trace, key) in Trace::ALL.into_iter().zip(["x1", "x2", "y1", "y2", "y3"]) {
        if let Some(bits) = rule["decay_factor_bits"][key].as_u64() {
            profile = profile.with_decay_factor(trace, f64::from_bits(bits));
        }
    }
    let n_pre = case["n_pre"].as_u64().expect("n_pre") as usize;
    let n_post = case["n_post"].as_u64().expect("n_post") as usize;
    let sign_mode = match case["sign_mode"].as_str() {
        None | Some("mixed") => SignMode::Mixed,
        Some("excitatory") => SignMode::Excitatory,
        Some("inhibitory") => SignMode::Inhibitory,
        Some(other) => panic!("sign mode {other}"),
    };
    let bits = case["num_weight_bits"].as_u64().unwrap_or(8) as u8;
    let mut weights: Vec<i16> = matrix(&case["weights"])
        .into_iter()
        .map(|w| truncate_initial_weight(i32::from(w), sign_mode, bits) as i16)
        .collect();
    let zeros = Value::Array(vec![Value::Array(vec![0.into(); n_pre]); n_post]);
    let mut tags = matrix(case.get("tag_1").unwrap_or(&zeros));
    let mut delays = matrix(case.get("tag_2").unwrap_or(&zeros));
    let mut traces = Traces::new(&profile, n_pre, n_post);
    let steps = case["steps"].as_u64().expect("steps") as usize;
    let mut epochs = 0;
    for t in 0..steps {
        for i in ints(&case["pre_spikes"][t]) {
            traces.record_pre_spike(&profile, i as usize);
        }
        for j in ints(&case["post_spikes"][t]) {
            traces.record_post_spike(&profile, j as usize);
        }
        if let Some(supplied) = case.get("y_supplied") {
            for (k, trace) in [Trace::Y1, Trace::Y2, Trace::Y3].into_iter().enumerate() {
                for (j, v) in ints(&supplied[t][k]).into_iter().enumerate() {
                    traces.set(trace, j, v as i32);
                }
            }
        }
        if let Some(epoch) = traces.end_step(&profile) {
            epochs += 1;
            let applied = apply(
                &profile,
                &epoch,
                Synapses {
                    layout: Layout::Dense,
                    sign_mode,
                    weights: &mut weights,
                    delays: &mut delays,
                    tags: &mut tags,
                },
            )
            .expect("layout fits");
            assert_eq!(applied.synapses, (n_pre * n_post) as u64);
        }
        let want = &case["trace"][t];
        let step = t + 1;
        assert_eq!(
            weights,
            matrix(&want["weights"]),
            "{name}: weights after step {step}"
        );
        assert_eq!(
            tags,
            matrix(&want["tag_1"]),
            "{name}: tags after step {step}"
        );
        assert_eq!(
            delays,
            matrix(&want["tag_2"]),
            "{name}: delays after step {step}"
        );
        for (trace, key) in Trace::ALL.into_iter().zip(["x1", "x2", "y1", "y2", "y3"]) {
            let got: Vec<i64> = traces.values(trace).iter().map(|&v| i64::from(v)).collect();
            assert_eq!(got, ints(&want[key]), "{name}: {key} after step {step}");
        }
        let tx: Vec<i64> = (0..n_pre)
            .map(|i| i64::from(traces.pre_spike_step(i).expect("pre")))
            .collect();
        let ty: Vec<i64> = (0..n_post)
            .map(|j| i64::from(traces.post_spike_step(j).expect("post")))
            .collect();
        assert_eq!(tx, ints(&want["tx"]), "{name}: tx after step {step}");
        assert_eq!(ty, ints(&want["ty"]), "{name}: ty after step {step}");
    }
    assert_eq!(
        epochs,
        steps / rule["t_epoch"].as_u64().expect("t_epoch") as usize
    );
}

macro_rules! lava_cases {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                replay(stringify!($name));
            }
        )*
    };
}

mod lava {
    use super::replay;

    lava_cases!(
        pairs_no_memory,
        no_decay_epoch4,
        tags_delays_sgn,
        clip_mixed,
        clip_excitatory,
        clip_inhibitory,
        initial_truncation,
        uk_decimation,
        wide_products,
        fractional_constants,
        stdp_stochastic,
        stochastic_epoch4,
        large_seed,
        three_factor,
        three_factor_epoch2,
        lif_in_the_loop,
    );
}

#[test]
fn every_case_file_is_replayed() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/golden/learning/cases");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".json")
                .to_string()
        })
        .collect();
    names.sort();
    let source = include_str!("engine.rs");
    for name in names {
        assert!(
            source.contains(&format!("        {name},\n")),
            "case {name} is not replayed"
        );
    }
}
