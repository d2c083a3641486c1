//! Traces and rule evaluations derived by hand: each test says in comments
//! what the engine must compute and why.
//!
//! Decays use a factor of exactly 0.5 (set with `with_decay_factor`), so
//! halving an even value leaves no fraction and nothing is rounded at random.

use crate::apply::{Layout, SignMode, Synapses, apply};
use crate::error::Target;
use crate::profile::{LearningProfile, RuleSpec, Trace, TraceSpec};
use crate::traces::Traces;

fn profile(spec: RuleSpec) -> LearningProfile {
    LearningProfile::compile(&spec).expect("rule compiles")
}

/// One pre and one post neuron, one synapse; runs `steps` of
/// `(pre spiked, post spiked)` and applies the rule at each epoch's end.
/// Returns (w, d, t) after every epoch.
fn run(
    profile: &LearningProfile,
    mode: SignMode,
    start: (i16, i16, i16),
    steps: &[(bool, bool)],
) -> Vec<(i16, i16, i16)> {
    let mut traces = Traces::new(profile, 1, 1);
    let (mut w, mut d, mut t) = ([start.0], [start.1], [start.2]);
    let mut out = Vec::new();
    for &(pre, post) in steps {
        if pre {
            traces.record_pre_spike(profile, 0);
        }
        if post {
            traces.record_post_spike(profile, 0);
        }
        if let Some(epoch) = traces.end_step(profile) {
            apply(
                profile,
                &epoch,
                Synapses {
                    layout: Layout::Dense,
                    sign_mode: mode,
                    weights: &mut w,
                    delays: &mut d,
                    tags: &mut t,
                },
            )
            .expect("one synapse");
            out.push((w[0], d[0], t[0]));
        }
    }
    out
}

fn weights(out: &[(i16, i16, i16)]) -> Vec<i16> {
    out.iter().map(|s| s.0).collect()
}

#[test]
fn integer_impulse_without_memory_lives_one_step() {
    // tau = 0: H[h] = 0 for every h, plus the impulse at the spike's step.
    // Epoch 3, pre spike at step 2: H = [0, 0, 20, 0]; stored value 0.
    let p = profile(RuleSpec {
        x1: TraceSpec::new(20.0, 0.0),
        t_epoch: 3,
        ..RuleSpec::two_factor("x0*x1")
    });
    let mut traces = Traces::new(&p, 1, 1);
    assert!(traces.end_step(&p).is_none());
    traces.record_pre_spike(&p, 0);
    assert_eq!(traces.pre_spike_step(0), Some(2));
    assert!(traces.end_step(&p).is_none());
    let epoch = traces.end_step(&p).expect("step 3 ends the epoch");
    let history: Vec<i32> = (0..=3)
        .map(|h| epoch.history(Trace::X1, h, 0).expect("in range"))
        .collect();
    assert_eq!(history, [0, 0, 20, 0]);
    assert_eq!(traces.values(Trace::X1), [0]);
    // The epoch is over: spike steps start again.
    assert_eq!(traces.pre_spike_step(0), Some(0));
}

#[test]
fn fraction_of_one_half_or_more_always_rounds_up() {
    // impulse 20.5: frac = 128/256, compared with r in 0..=127: always +1.
    // impulse 20.25: frac = 64, so +1 only when r < 64 (half the draws).
    for seed in 0..64 {
        for (impulse, want) in [(20.5, [21].as_slice()), (20.75, &[21]), (20.25, &[20, 21])] {
            let p = profile(RuleSpec {
                x1: TraceSpec::new(impulse, 0.0),
                rng_seed: seed,
                ..RuleSpec::two_factor("x0*x1")
            });
            let mut traces = Traces::new(&p, 1, 1);
            traces.record_pre_spike(&p, 0);
            let epoch = traces.end_step(&p).expect("epoch 1");
            let x1 = epoch.history(Trace::X1, 1, 0).expect("in range");
            assert!(want.contains(&x1), "impulse {impulse}, seed {seed}: {x1}");
        }
    }
}

#[test]
fn exact_decay_and_impulses_clip_at_127() {
    // Factor 0.5, impulse 64, epoch 1. Pre spikes at steps 1 and 2:
    // step 1: 0·0.5 = 0, + 64 = 64.  step 2: 32 + 64 = 96.  step 3: 48.
    // step 4: 24.  step 5 (spike): 12 + 64 = 76.
    let p = profile(RuleSpec {
        x1: TraceSpec::new(64.0, 1.0),
        ..RuleSpec::two_factor("x0*x1")
    })
    .with_decay_factor(Trace::X1, 0.5);
    let mut traces = Traces::new(&p, 1, 1);
    let mut seen = Vec::new();
    for spike in [true, true, false, false, true] {
        if spike {
            traces.record_pre_spike(&p, 0);
        }
        traces.end_step(&p);
        seen.push(traces.values(Trace::X1)[0]);
    }
    assert_eq!(seen, [64, 96, 48, 24, 76]);

    // Epoch 4, no decay (factor 1), impulse 100, spikes at steps 1, 2, 3:
    // the 2nd and 3rd spikes add to the stored value at once (100, then
    // 200 → 127), and the last spike is placed at step 3: 127 + 100 → 127.
    let p = profile(RuleSpec {
        x1: TraceSpec::new(100.0, f64::INFINITY),
        t_epoch: 4,
        ..RuleSpec::two_factor("x0*x1")
    });
    let mut traces = Traces::new(&p, 1, 1);
    traces.record_pre_spike(&p, 0);
    traces.end_step(&p);
    traces.record_pre_spike(&p, 0);
    assert_eq!(traces.values(Trace::X1), [100]);
    traces.end_step(&p);
    traces.record_pre_spike(&p, 0);
    assert_eq!(traces.values(Trace::X1), [127]);
    traces.end_step(&p);
    let epoch = traces.end_step(&p).expect("step 4 ends the epoch");
    let history: Vec<i32> = (0..=4)
        .map(|h| epoch.history(Trace::X1, h, 0).expect("in range"))
        .collect();
    assert_eq!(history, [127, 127, 127, 127, 127]);
}

#[test]
fn each_dependency_reads_the_trace_at_its_own_step() {
    // Epoch 3, x1 with factor 0.5 and impulse 64; pre spikes at step 1,
    // post at step 3. H_x = [0, 64, 32, 16].
    //   x0*x1 reads H_x[tx = 1] = 64        → dw +64
    //   y0*x1 reads H_x[ty = 3] = 16        → dw +16
    //   u0*x1 reads H_x[t_epoch = 3] = 16   → dw +16
    // Each rule alone, starting from w = 0; the accumulator holds
    // value·2^7 exactly, so no rounding enters.
    for (rule, want) in [("x0*x1", 64), ("y0*x1", 16), ("u0*x1", 16)] {
        let p = profile(RuleSpec {
            x1: TraceSpec::new(64.0, 1.0),
            t_epoch: 3,
            ..RuleSpec::two_factor(rule)
        })
        .with_decay_factor(Trace::X1, 0.5);
        let out = run(
            &p,
            SignMode::Mixed,
            (0, 0, 0),
            &[(true, false), (false, false), (false, true)],
        );
        assert_eq!(weights(&out), [want], "{rule}");
    }
    // Without the dependency's spike the product is 0: the same rules
    // with no post spike leave y0*x1 at 0 and the others unchanged.
    for (rule, want) in [("x0*x1", 64), ("y0*x1", 0), ("u0*x1", 16)] {
        let p = profile(RuleSpec {
            x1: TraceSpec::new(64.0, 1.0),
            t_epoch: 3,
            ..RuleSpec::two_factor(rule)
        })
        .with_decay_factor(Trace::X1, 0.5);
        let out = run(
            &p,
            SignMode::Mixed,
            (0, 0, 0),
            &[(true, false), (false, false), (false, false)],
        );
        assert_eq!(weights(&out), [want], "{rule}");
    }
}

#[test]
fn same_step_pre_and_post_see_each_others_fresh_impulse() {
    // tau 0, impulses 10: a pre and a post spike in one step see x1 = y1 =
    // 10, so y0*x1 - x0*y1 cancels; x0*y1 alone gives +10.
    for (rule, want) in [("y0*x1 - x0*y1", 0), ("x0*y1", 10)] {
        let p = profile(RuleSpec {
            x1: TraceSpec::new(10.0, 0.0),
            y1: TraceSpec::new(10.0, 0.0),
            ..RuleSpec::two_factor(rule)
        });
        let out = run(&p, SignMode::Mixed, (5, 0, 0), &[(true, true)]);
        assert_eq!(weights(&out), [5 + want], "{rule}");
    }
}

#[test]
fn uk_fires_every_2_to_the_k_epochs() {
    // u1 with epoch 2: epochs end at steps 2, 4, 6, 8 (numbers 1..4); u1 is
    // 1 where the number is even, so the weight steps up at epochs 2 and 4.
    // A product with no factor is 1·m = 1, i.e. +1 per firing.
    let p = profile(RuleSpec {
        t_epoch: 2,
        ..RuleSpec::two_factor("u1")
    });
    let out = run(&p, SignMode::Mixed, (0, 0, 0), &[(false, false); 8]);
    assert_eq!(weights(&out), [0, 1, 1, 2]);
    // u2: every 4th epoch.
    let p = profile(RuleSpec::two_factor("u2*2^2"));
    let out = run(&p, SignMode::Mixed, (0, 0, 0), &[(false, false); 8]);
    assert_eq!(weights(&out), [0, 0, 0, 4, 4, 4, 4, 8]);
}

#[test]
fn wide_products_shift_right_before_scaling() {
    // x0*x1*y1*2^-7: widths 7 + 7 + 4 (mantissa) = 18, so the raw product is
    // shifted right by 18 − 15 = 3 before the scale 2^-7 (a left shift of
    // 7 − 7 = 0 into the accumulator). x1 = y1 = 64 at a same-step pair:
    // 64·64 = 4096 >> 3 = 512 in the accumulator = 4 weight units
    // (the float model would give 64·64/128 = 32).
    let p = profile(RuleSpec {
        x1: TraceSpec::new(64.0, 0.0),
        y1: TraceSpec::new(64.0, 0.0),
        ..RuleSpec::two_factor("x0*x1*y1*2^-7")
    });
    assert_eq!(p.rule(Target::Dw).expect("dw").products()[0].shift(), 3);
    let out = run(&p, SignMode::Mixed, (0, 0, 0), &[(true, true)]);
    assert_eq!(weights(&out), [4]);
}

#[test]
fn weights_clip_to_the_range_of_their_sign_mode() {
    // ±2^8 per pre spike. 100 + 256: the accumulator 356·2^7 clips to
    // 32767 = 255 + 127/128, which rounds to 255 or 256 and clips to 255.
    // 100 − 256 = −156: excitatory floors the accumulator at 0; mixed
    // clips at −32769 = −257 + 127/128 → −257 or −256 → −256.
    let cases = [
        (SignMode::Mixed, 100, "2^8*x0", 255),
        (SignMode::Mixed, -200, "-2^8*x0", -256),
        (SignMode::Excitatory, 100, "2^8*x0", 255),
        (SignMode::Excitatory, 100, "-2^8*x0", 0),
        (SignMode::Inhibitory, -100, "2^8*x0", 0),
        (SignMode::Inhibitory, -100, "-2^8*x0", -255),
    ];
    for (mode, start, rule, want) in cases {
        let p = profile(RuleSpec::two_factor(rule));
        for seed_steps in 1..20 {
            let steps = vec![(true, false); seed_steps];
            let out = run(&p, mode, (start, 0, 0), &steps);
            // Once at the bound, every further epoch stays there.
            assert_eq!(weights(&out).last(), Some(&want), "{mode:?} {start} {rule}");
        }
    }
}

#[test]
fn tags_and_delays_clip_to_their_ranges() {
    // d: the accumulator is floored at 0 and the result clipped to 0..=255.
    // t: −257..=255; from −200 − 256 the accumulator clips at −32769, which
    // rounds to −256 unless the epoch's random number is ≥ 127/128.
    let spec = RuleSpec {
        dd: Some("2^8*x0 - 2^8*y0".into()),
        dt: Some("2^8*x0 - 2^8*y0".into()),
        ..RuleSpec::default()
    };
    let p = profile(spec);
    let up = run(&p, SignMode::Mixed, (0, 200, 200), &[(true, false)]);
    assert_eq!(up, [(0, 255, 255)]);
    let down = run(&p, SignMode::Mixed, (0, 10, -200), &[(false, true)]);
    assert_eq!(down[0].1, 0);
    assert!([-256, -257].contains(&down[0].2), "{down:?}");
    // Over many epochs at the floor, −257 appears about 1 time in 128.
    let steps = vec![(false, true); 4096];
    let out = run(&p, SignMode::Mixed, (0, 0, -256), &steps);
    let low = out.iter().filter(|s| s.2 == -257).count();
    assert!(out.iter().all(|s| s.2 == -256 || s.2 == -257));
    assert!((8..=64).contains(&low), "{low} of 4096 at -257");
}

#[test]
fn all_targets_read_the_values_before_the_update() {
    // dw = x0*t, dt = x0*w, from w = 3, t = 5: both read the old values,
    // so w = 3 + 5 = 8 and t = 5 + 3 = 8 (not 5 + 8).
    let spec = RuleSpec {
        dw: Some("x0*t".into()),
        dt: Some("x0*w".into()),
        ..RuleSpec::default()
    };
    let out = run(&profile(spec), SignMode::Mixed, (3, 0, 5), &[(true, false)]);
    assert_eq!(out, [(8, 0, 8)]);
}
