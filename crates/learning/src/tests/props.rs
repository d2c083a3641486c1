//! Properties over random rules, spikes and synaptic states.

use proptest::prelude::*;

use crate::apply::{DELAY_RANGE, Layout, SignMode, Synapses, TAG_RANGE, apply};
use crate::error::Target;
use crate::profile::{LearningProfile, RuleSpec, Trace, TraceSpec};
use crate::rule::Rule;
use crate::traces::Traces;

fn factor() -> impl Strategy<Value = String> {
    let var = prop::sample::select(vec![
        "x1", "x2", "y1", "y2", "y3", "w", "d", "t", "x0", "y0",
    ]);
    let wdt = prop::sample::select(vec!["w", "d", "t"]);
    prop_oneof![
        var.clone().prop_map(str::to_string),
        (var, -300i32..300).prop_map(|(v, c)| if c < 0 {
            format!("({v} - {})", -c)
        } else {
            format!("({v} + {c})")
        }),
        (wdt, -20i32..20).prop_map(|(v, c)| format!("sgn({v} + {})", c.abs())),
    ]
}

fn product() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["x0", "y0", "u1"]),
        -8i32..8,
        -7i32..=8,
        prop::collection::vec(factor(), 0..4),
    )
        .prop_map(|(dep, m, e, factors)| {
            let mut s = format!("{m}*2^{e}*{dep}");
            for f in factors {
                s.push('*');
                s.push_str(&f);
            }
            s
        })
}

fn rule() -> impl Strategy<Value = String> {
    prop::collection::vec(product(), 1..4).prop_map(|ps| {
        ps.iter()
            .map(|p| {
                if let Some(rest) = p.strip_prefix('-') {
                    format!("- {rest}")
                } else {
                    format!("+ {p}")
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    })
}

proptest! {
    #[test]
    fn canonical_form_reads_back_to_the_same_rule(text in rule()) {
        let rule = Rule::parse(Target::Dw, &text).unwrap();
        let again = Rule::parse(Target::Dw, &rule.to_string()).unwrap();
        prop_assert_eq!(again.products(), rule.products());
        prop_assert_eq!(again.decimation(), rule.decimation());
    }

    #[test]
    fn no_input_string_panics(text in "[-+*()^ 0-9xyuwdtsgn]{0,24}") {
        let _ = Rule::parse(Target::Dt, &text);
    }

    #[test]
    fn learned_values_stay_in_their_ranges(
        dw in rule(),
        dt in rule(),
        dd in rule(),
        mode in prop::sample::select(vec![SignMode::Mixed, SignMode::Excitatory, SignMode::Inhibitory]),
        t_epoch in 1u32..5,
        seed in any::<u64>(),
        impulse in 0.0f64..200.0,
        tau in prop::sample::select(vec![0.0, 1.5, 10.0, f64::INFINITY]),
        spikes in prop::collection::vec((any::<bool>(), any::<bool>(), any::<bool>()), 1..20),
        init in prop::collection::vec(-300i16..300, 4),
    ) {
        let trace = TraceSpec::new(impulse, tau);
        let spec = RuleSpec {
            dw: Some(dw),
            dd: Some(dd),
            dt: Some(dt),
            x1: trace, x2: trace, y1: trace, y2: trace, y3: trace,
            t_epoch,
            rng_seed: seed,
            ..RuleSpec::default()
        };
        let profile = LearningProfile::compile(&spec).unwrap();
        let mut traces = Traces::new(&profile, 2, 2);
        let mut weights = init.clone();
        let mut delays: Vec<i16> = init.iter().map(|d| d.abs().min(255)).collect();
        let mut tags = init.clone();
        for (a, b, c) in spikes {
            if a { traces.record_pre_spike(&profile, 0); }
            if b { traces.record_pre_spike(&profile, 1); traces.record_post_spike(&profile, 0); }
            if c { traces.record_post_spike(&profile, 1); }
            if let Some(epoch) = traces.end_step(&profile) {
                let applied = apply(&profile, &epoch, Synapses {
                    layout: Layout::Dense,
                    sign_mode: mode,
                    weights: &mut weights,
                    delays: &mut delays,
                    tags: &mut tags,
                }).unwrap();
                prop_assert_eq!(applied.updates, 12);
                let (lo, hi) = mode.learned_range();
                for k in 0..4 {
                    prop_assert!((lo..=hi).contains(&i32::from(weights[k])));
                    prop_assert!((DELAY_RANGE.0..=DELAY_RANGE.1).contains(&i32::from(delays[k])));
                    prop_assert!((TAG_RANGE.0..=TAG_RANGE.1).contains(&i32::from(tags[k])));
                }
            }
            for t in Trace::ALL {
                for &v in traces.values(t) {
                    prop_assert!((0..=127).contains(&v));
                }
            }
        }
    }
}
