//! Named rules against the rule strings and profiles Lava's `STDPLoihi`
//! and `RewardModulatedSTDP` build (`named.json`, `generate.py named`).

use serde_json::Value;

use crate::error::Target;
use crate::named::{RewardStdp, Stdp, float_to_literal};
use crate::profile::{LearningProfile, PostTraceSource, RuleSpec, Trace};

use super::golden;

fn param(p: &Value, key: &str, default: f64) -> f64 {
    p.get(key).and_then(Value::as_f64).unwrap_or(default)
}

/// The profile must equal the one compiled from Lava's own strings and
/// trace parameters.
fn check(spec: &RuleSpec, rule: &Value) {
    for (target, key) in Target::ALL.into_iter().zip(["dw", "dd", "dt"]) {
        let ours = match target {
            Target::Dw => &spec.dw,
            Target::Dd => &spec.dd,
            Target::Dt => &spec.dt,
        };
        assert_eq!(ours.as_deref(), rule[key].as_str(), "{key}");
    }
    let ours = LearningProfile::compile(spec).unwrap();
    for (trace, key) in Trace::ALL.into_iter().zip(["x1", "x2", "y1", "y2", "y3"]) {
        let want_impulse = rule[format!("{key}_impulse")].as_f64().unwrap();
        let want_tau = rule[format!("{key}_tau")].as_f64().unwrap();
        let got = [spec.x1, spec.x2, spec.y1, spec.y2, spec.y3][trace.index()];
        assert_eq!((got.impulse, got.tau), (want_impulse, want_tau), "{key}");
    }
    assert_eq!(u64::from(ours.t_epoch()), rule["t_epoch"].as_u64().unwrap());
    assert_eq!(
        ours.decimation().map(u64::from),
        rule["decimation"].as_u64(),
        "decimation"
    );
    let three_factor = rule["three_factor"].as_bool().unwrap();
    let want_sources = if three_factor {
        [PostTraceSource::Supplied; 3]
    } else {
        [PostTraceSource::Spikes; 3]
    };
    assert_eq!(ours.post_sources(), want_sources);
}

#[test]
fn float_to_literal_matches_lava() {
    let data = golden("named.json");
    for entry in data["float_to_literal"].as_array().unwrap() {
        let x = entry["x"].as_f64().unwrap();
        assert_eq!(
            float_to_literal("x", x).unwrap(),
            entry["literal"].as_str().unwrap(),
            "{x}"
        );
    }
    assert!(float_to_literal("A_plus", f64::NAN).is_err());
    assert!(float_to_literal("A_plus", f64::INFINITY).is_err());
}

#[test]
fn stdp_builds_lava_rule() {
    let data = golden("named.json");
    for entry in data["stdp"].as_array().unwrap() {
        let p = &entry["params"];
        let stdp = Stdp {
            learning_rate: param(p, "learning_rate", 1.0),
            a_plus: param(p, "A_plus", 1.0),
            a_minus: param(p, "A_minus", -1.0),
            tau_plus: param(p, "tau_plus", 10.0),
            tau_minus: param(p, "tau_minus", 10.0),
            x1_impulse: param(p, "x1_impulse", 16.0),
            y1_impulse: param(p, "y1_impulse", 16.0),
            x2: crate::TraceSpec::new(param(p, "x2_impulse", 0.0), param(p, "x2_tau", 0.0)),
            y2: crate::TraceSpec::new(param(p, "y2_impulse", 0.0), param(p, "y2_tau", 0.0)),
            t_epoch: param(p, "t_epoch", 1.0) as u32,
            ..Stdp::default()
        };
        check(&stdp.spec().unwrap(), &entry["rule"]);
    }
}

#[test]
fn reward_stdp_builds_lava_rule() {
    let data = golden("named.json");
    for entry in data["reward_stdp"].as_array().unwrap() {
        let p = &entry["params"];
        let rstdp = RewardStdp {
            learning_rate: param(p, "learning_rate", 1.0),
            a_plus: param(p, "A_plus", 1.0),
            a_minus: param(p, "A_minus", -1.0),
            pre_trace_decay_tau: param(p, "pre_trace_decay_tau", 10.0),
            post_trace_decay_tau: param(p, "post_trace_decay_tau", 10.0),
            pre_trace_kernel_magnitude: param(p, "pre_trace_kernel_magnitude", 16.0),
            post_trace_kernel_magnitude: param(p, "post_trace_kernel_magnitude", 16.0),
            eligibility_trace_decay_tau: param(p, "eligibility_trace_decay_tau", 0.5),
            t_epoch: param(p, "t_epoch", 1.0) as u32,
            ..RewardStdp::default()
        };
        check(&rstdp.spec().unwrap(), &entry["rule"]);
    }
}
