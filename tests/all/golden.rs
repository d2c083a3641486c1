//! Hand-derived golden traces. Each expected value is worked out in the
//! comments from the semantics in README.md ("Exact semantics"), not taken from
//! Neurite's output. Every case runs on one core and again spread over cores
//! of two neurons, and the reference simulator must agree as well.

use neurite::chip::ChipProfile;
use neurite::session::Recording;

use crate::support::{tiny_chip, toml};

/// Runs on loihi2, on 2-neuron cores and in the reference simulator; checks
/// all three agree, and returns the loihi2 recording.
fn run(text: &str, steps: u64) -> Recording {
    let network = toml(text);
    let one_core = neurite::session::run(&network, &ChipProfile::loihi2(), steps).expect("runs");
    let spread = neurite::session::run(&network, &tiny_chip(2), steps).expect("runs");
    let reference =
        neurite_reference::simulate(&network, steps).expect("the reference simulates it");
    for (p, record) in one_core.populations.iter().enumerate() {
        let other = &spread.populations[p];
        assert_eq!(
            record.u, other.u,
            "{}: u differs across placements",
            record.name
        );
        assert_eq!(
            record.v, other.v,
            "{}: v differs across placements",
            record.name
        );
        assert_eq!(
            record.spikes, other.spikes,
            "{}: spikes differ",
            record.name
        );
        if let Some(u) = &record.u {
            assert_eq!(
                u, &reference.populations[p].u,
                "{}: u vs reference",
                record.name
            );
        }
        if let Some(v) = &record.v {
            assert_eq!(
                v, &reference.populations[p].v,
                "{}: v vs reference",
                record.name
            );
        }
        if let Some(spikes) = &record.spikes {
            let want = &reference.populations[p].spikes;
            assert_eq!(spikes, want, "{}: spikes vs reference", record.name);
        }
    }
    one_core
}

/// `var` of every neuron of `population` after `step` (steps from 1).
fn at(recording: &Recording, population: &str, var: &str, step: usize) -> Vec<i32> {
    let p = recording.population(population).expect("population");
    let rows = match var {
        "u" => p.u.as_ref(),
        "v" => p.v.as_ref(),
        _ => None,
    };
    rows.expect("probed")[step - 1].clone()
}

/// Steps at which neuron `index` of `population` spiked.
fn spike_steps(recording: &Recording, population: &str, index: u32) -> Vec<usize> {
    let p = recording.population(population).expect("population");
    p.spikes
        .as_ref()
        .expect("spikes probed")
        .iter()
        .enumerate()
        .filter(|(_, s)| s.contains(&index))
        .map(|(t, _)| t + 1)
        .collect()
}

#[test]
fn bias_alone() {
    let r = run(
        r#"
        # a: no leak, bias 3 << 2 = 12 per step, θ = 1 << 6 = 64.
        [[populations]]
        name = "a"
        size = 1
        model = "lif"
        du = 0
        dv = 0
        vth = 1
        bias_mant = 3
        bias_exp = 2
        # b: v keeps 2048/4096 (half, toward zero), bias 100, θ = 3 << 6 = 192.
        [[populations]]
        name = "b"
        size = 1
        model = "lif"
        du = 0
        dv = 2048
        vth = 3
        bias_mant = 100
        [[probes]]
        population = "a"
        vars = ["spikes", "u", "v"]
        [[probes]]
        population = "b"
        vars = ["spikes", "v"]
        "#,
        20,
    );
    // a: v = 12, 24, 36, 48, 60, then 72 > 64 spikes at step 6 and resets to
    // 0; the cycle repeats every 6 steps. u never moves without input.
    let v_a: Vec<i32> = (1..=20).map(|t| at(&r, "a", "v", t)[0]).collect();
    assert_eq!(
        v_a,
        vec![
            12, 24, 36, 48, 60, 0, 12, 24, 36, 48, 60, 0, 12, 24, 36, 48, 60, 0, 12, 24
        ]
    );
    assert_eq!(spike_steps(&r, "a", 0), vec![6, 12, 18]);
    assert!((1..=20).all(|t| at(&r, "a", "u", t) == vec![0]));
    // b: v1 = 100; v2 = 50 + 100 = 150; v3 = 75 + 100 = 175;
    // v4 = tz(87.5) + 100 = 187; v5 = tz(93.5) + 100 = 193 > 192: spike.
    let v_b: Vec<i32> = (1..=6).map(|t| at(&r, "b", "v", t)[0]).collect();
    assert_eq!(v_b, vec![100, 150, 175, 187, 0, 100]);
    assert_eq!(spike_steps(&r, "b", 0), vec![5, 10, 15, 20]);
}

#[test]
fn refractory_holds_v_for_its_period() {
    let r = run(
        r#"
        # Bias 12 per step, θ = 64: without a refractory period the neuron
        # spikes at 6, 12, 18, 24. With 3 steps, v stays 0 at 7, 8, 9 after
        # the spike at 6, climbs from step 10 (12, 24, 36, 48, 60) and spikes
        # at 15, then at 24.
        [[populations]]
        name = "r"
        size = 1
        model = "lif"
        du = 0
        dv = 0
        vth = 1
        bias_mant = 3
        bias_exp = 2
        refractory = 3
        [[probes]]
        population = "r"
        vars = ["spikes", "v"]
        "#,
        25,
    );
    assert_eq!(spike_steps(&r, "r", 0), vec![6, 15, 24]);
    let v: Vec<i32> = (6..=15).map(|t| at(&r, "r", "v", t)[0]).collect();
    assert_eq!(v, vec![0, 0, 0, 0, 12, 24, 36, 48, 60, 0]);
}

#[test]
fn reset_by_subtraction_keeps_the_charge_above_threshold() {
    let r = run(
        r#"
        # A spike every step from "in" through weight 100 (u = 100 << 6 =
        # 6400 at steps 2, 3, …; du = 4095 clears u in between), no leak,
        # θ = 150 << 6 = 9600.
        # sub (reset by subtraction): v = 6400 at step 2, 12800 at 3 → spike,
        # 3200; 9600 at 4 (not above θ); 16000 at 5 → spike, 6400; 12800 at 6
        # → spike, 3200; 9600 at 7; 16000 at 8 → spike, 6400.
        # Spikes at 3, 5, 6, 8: 4 in 7 steps of input, 2/3 of the input rate
        # as 6400/9600 says, where zero (reset to 0) spikes every second step,
        # 3 in 7 steps, and loses the charge above θ each time.
        # The refractory neuron rests one step after each spike with its
        # residue held: 12800 at 3 → spike, 3200; 3200 held at 4; 9600 at 5;
        # 16000 at 6 → spike, 6400; held at 7; 12800 at 8 → spike, 3200.
        [[populations]]
        name = "in"
        size = 1
        model = "input"
        [[populations]]
        name = "sub"
        size = 2
        model = "lif"
        du = 4095
        dv = 0
        vth = 150
        refractory = [0, 1]
        reset = "subtract"
        [[populations]]
        name = "zero"
        size = 1
        model = "lif"
        du = 4095
        dv = 0
        vth = 150
        [[projections]]
        from = "in"
        to = "sub"
        dense = [[100], [100]]
        [[projections]]
        from = "in"
        to = "zero"
        dense = [[100]]
        [[inputs]]
        population = "in"
        periodic = { period = 1 }
        [[probes]]
        population = "sub"
        vars = ["spikes", "v"]
        [[probes]]
        population = "zero"
        vars = ["spikes", "v"]
        "#,
        8,
    );
    assert_eq!(spike_steps(&r, "sub", 0), vec![3, 5, 6, 8]);
    let v: Vec<i32> = (1..=8).map(|t| at(&r, "sub", "v", t)[0]).collect();
    assert_eq!(v, vec![0, 6400, 3200, 9600, 6400, 3200, 9600, 6400]);
    assert_eq!(spike_steps(&r, "sub", 1), vec![3, 6, 8]);
    let v: Vec<i32> = (1..=8).map(|t| at(&r, "sub", "v", t)[1]).collect();
    assert_eq!(v, vec![0, 6400, 3200, 3200, 9600, 6400, 6400, 3200]);
    assert_eq!(spike_steps(&r, "zero", 0), vec![3, 5, 7]);
    let v: Vec<i32> = (1..=8).map(|t| at(&r, "zero", "v", t)[0]).collect();
    assert_eq!(v, vec![0, 6400, 0, 6400, 0, 6400, 0, 6400]);
}

#[test]
fn decays_at_zero_and_4095() {
    // One input spike at step 1 through weight 10 (exponent 0) reaches u at
    // step 2 as 10 << 6 = 640; a second input with weight −10 gives −640.
    // Neurons (du, dv): n0 (0, 0), n1 (4095, 4095), n2 (0, 4095), n3 (4095, 0);
    // θ = 1000 << 6 = 64000, never reached.
    let r = run(
        r#"
        [[populations]]
        name = "in"
        size = 2
        model = "input"
        [[populations]]
        name = "n"
        size = 4
        model = "lif"
        du = [0, 4095, 0, 4095]
        dv = [0, 4095, 4095, 0]
        vth = 1000
        [[populations]]
        name = "neg"
        size = 1
        model = "lif"
        du = 0
        dv = 4095
        vth = 1000
        [[projections]]
        from = "in"
        to = "n"
        sparse = [[0, 0, 10], [0, 1, 10], [0, 2, 10], [0, 3, 10]]
        [[projections]]
        from = "in"
        to = "neg"
        sparse = [[1, 0, -10]]
        [[inputs]]
        population = "in"
        spikes = [[1, 0], [1, 1]]
        [[probes]]
        population = "n"
        vars = ["u", "v"]
        [[probes]]
        population = "neg"
        vars = ["u", "v"]
        "#,
        4,
    );
    // Step 1: nothing has arrived yet.
    assert_eq!(at(&r, "n", "u", 1), vec![0, 0, 0, 0]);
    // Step 2: u = 640 everywhere; v = decay(0) + 640 = 640.
    assert_eq!(at(&r, "n", "u", 2), vec![640; 4]);
    assert_eq!(at(&r, "n", "v", 2), vec![640; 4]);
    // Step 3: du = 0 keeps 4095/4096: tz(640 · 4095 / 4096) = tz(639.84) = 639;
    // du = 4095 keeps 0. v: n0 = 640 + 639 = 1279; n1 = tz(640/4096) + 0 = 0;
    // n2 = tz(640/4096) + 639 = 639; n3 = 640 + 0 = 640.
    assert_eq!(at(&r, "n", "u", 3), vec![639, 0, 639, 0]);
    assert_eq!(at(&r, "n", "v", 3), vec![1279, 0, 639, 640]);
    // Step 4: tz(639 · 4095 / 4096) = tz(638.84) = 638.
    // n0: v = 1279 + 638 = 1917; n2: v = tz(639/4096) + 638 = 638.
    assert_eq!(at(&r, "n", "u", 4), vec![638, 0, 638, 0]);
    assert_eq!(at(&r, "n", "v", 4), vec![1917, 0, 638, 640]);
    // Negative current decays toward zero: tz(−640 · 4095 / 4096) = −639, not −640.
    assert_eq!(at(&r, "neg", "u", 2), vec![-640]);
    assert_eq!(at(&r, "neg", "u", 3), vec![-639]);
    assert_eq!(at(&r, "neg", "v", 3), vec![-639]);
}

#[test]
fn current_wraps_and_voltage_saturates() {
    let r = run(
        r#"
        [[populations]]
        name = "in"
        size = 8
        model = "input"
        # du = dv = 4095: u and v show exactly this step's values.
        [[populations]]
        name = "x"
        size = 3
        model = "lif"
        du = 4095
        dv = 4095
        vth = 131071
        # Bias −4096 << 7 = −524288 per step, no leak: saturation.
        [[populations]]
        name = "sat"
        size = 1
        model = "lif"
        du = 0
        dv = 0
        vth = 0
        bias_mant = -4096
        bias_exp = 7
        # x0: 5 spikes × 255 << 7 = 163200; << 6 = 10444800 > 2^23
        #     → u = 10444800 − 2^24 = −6332416.
        [[projections]]
        from = "in"
        to = "x"
        sparse = [[0, 0, 255], [1, 0, 255], [2, 0, 255], [3, 0, 255], [4, 0, 255]]
        weight_exp = 7
        # x1: 8 × 128 << 7 = 2^17; << 6 = 2^23 exactly, which is kept.
        [[projections]]
        from = "in"
        to = "x"
        sparse = [[0, 1, 128], [1, 1, 128], [2, 1, 128], [3, 1, 128],
                  [4, 1, 128], [5, 1, 128], [6, 1, 128], [7, 1, 128]]
        weight_exp = 7
        # x2: 8 × −128 << 7 = −2^17; << 6 = −2^23, which wraps to +2^23.
        [[projections]]
        from = "in"
        to = "x"
        sparse = [[0, 2, -128], [1, 2, -128], [2, 2, -128], [3, 2, -128],
                  [4, 2, -128], [5, 2, -128], [6, 2, -128], [7, 2, -128]]
        weight_exp = 7
        [[inputs]]
        population = "in"
        periodic = { period = 100, phase = 1 }
        [[probes]]
        population = "x"
        vars = ["spikes", "u", "v"]
        [[probes]]
        population = "sat"
        vars = ["spikes", "v"]
        "#,
        18,
    );
    assert_eq!(at(&r, "x", "u", 2), vec![-6_332_416, 8_388_608, 8_388_608]);
    // v = tz(0 / 4096) + u: x0 keeps −6332416. For x1 and x2, 2^23 saturates
    // to 2^23 − 1 = 8388607 > θ = 131071 << 6 = 8388544: both spike, v ← 0.
    assert_eq!(at(&r, "x", "v", 2), vec![-6_332_416, 0, 0]);
    assert_eq!(
        r.population("x")
            .expect("x")
            .spikes
            .as_ref()
            .expect("spikes")[1],
        vec![1, 2]
    );
    // sat: v = −524288 · t until −8388608 at t = 16 clamps to −(2^23 − 1).
    assert_eq!(at(&r, "sat", "v", 15), vec![-7_864_320]);
    assert_eq!(at(&r, "sat", "v", 16), vec![-8_388_607]);
    assert_eq!(at(&r, "sat", "v", 18), vec![-8_388_607]);
    assert!(spike_steps(&r, "sat", 0).is_empty());
}

#[test]
fn negative_weight_exponents_floor_each_projection_sum() {
    // All inputs spike at step 1; du = 4095, so u at step 2 = (shifted sum) << 6.
    let r = run(
        r#"
        [[populations]]
        name = "in"
        size = 2
        model = "input"
        [[populations]]
        name = "y"
        size = 6
        model = "lif"
        du = 4095
        dv = 0
        vth = 131071
        # y0: 3 + 5 = 8, >> 1 = 4 → u = 256.
        [[projections]]
        from = "in"
        to = "y"
        sparse = [[0, 0, 3], [1, 0, 5]]
        weight_exp = -1
        # y1: 3 >> 1 = floor(1.5) = 1 → 64.   y2: 255 >> 8 = 0 → 0.
        [[projections]]
        from = "in"
        to = "y"
        sparse = [[0, 1, 3]]
        weight_exp = -1
        [[projections]]
        from = "in"
        to = "y"
        sparse = [[0, 2, 255]]
        weight_exp = -8
        # y3: −3 >> 1 = floor(−1.5) = −2 → −128.   y4: −1 >> 8 = −1 → −64.
        [[projections]]
        from = "in"
        to = "y"
        sparse = [[0, 3, -3]]
        weight_exp = -1
        [[projections]]
        from = "in"
        to = "y"
        sparse = [[0, 4, -1]]
        weight_exp = -8
        # y5: two projections of −3 each: (−3 >> 1) + (−3 >> 1) = −4 → −256;
        # within one projection (y3's neighbour below) −6 >> 1 = −3.
        [[projections]]
        from = "in"
        to = "y"
        sparse = [[0, 5, -3]]
        weight_exp = -1
        [[projections]]
        from = "in"
        to = "y"
        sparse = [[1, 5, -3]]
        weight_exp = -1
        [[inputs]]
        population = "in"
        spikes = [[1, 0], [1, 1]]
        [[probes]]
        population = "y"
        vars = ["u"]
        "#,
        2,
    );
    assert_eq!(at(&r, "y", "u", 2), vec![256, 64, 0, -128, -64, -256]);

    let one = run(
        r#"
        [[populations]]
        name = "in"
        size = 2
        model = "input"
        [[populations]]
        name = "z"
        size = 1
        model = "lif"
        du = 4095
        dv = 0
        vth = 10
        # One projection: −3 + −3 = −6, >> 1 = −3 → u = −192.
        [[projections]]
        from = "in"
        to = "z"
        dense = [[-3, -3]]
        weight_exp = -1
        [[inputs]]
        population = "in"
        spikes = [[1, 0], [1, 1]]
        [[probes]]
        population = "z"
        vars = ["u"]
        "#,
        2,
    );
    assert_eq!(at(&one, "z", "u", 2), vec![-192]);
}

#[test]
fn weight_bits_and_sign_modes() {
    // One input spikes at step 1. Population "w" has 24 neurons: 0–7 take an
    // excitatory 200, 8–15 a mixed −77, 16–23 an inhibitory −200, neuron
    // 8k + (b − 1) through a projection of b weight bits. du = 4095, so u at
    // step 2 = (quantized weight) << 6.
    let mut text = String::from(
        r#"
        [[populations]]
        name = "in"
        size = 1
        model = "input"
        [[populations]]
        name = "w"
        size = 24
        model = "lif"
        du = 4095
        dv = 0
        vth = 131071
        [[populations]]
        name = "clip"
        size = 5
        model = "lif"
        du = 4095
        dv = 0
        vth = 131071
        [[inputs]]
        population = "in"
        spikes = [[1, 0]]
        [[probes]]
        population = "w"
        vars = ["u"]
        [[probes]]
        population = "clip"
        vars = ["u"]
        "#,
    );
    for (k, (mode, weight)) in [("excitatory", 200), ("mixed", -77), ("inhibitory", -200)]
        .iter()
        .enumerate()
    {
        for bits in 1..=8 {
            let post = 8 * k + bits - 1;
            text.push_str(&format!(
                "[[projections]]\nfrom = \"in\"\nto = \"w\"\nsparse = [[0, {post}, {weight}]]\n\
                 num_weight_bits = {bits}\nsign_mode = \"{mode}\"\n"
            ));
        }
    }
    // Clipping: c0 excitatory 300 → 255; c1 mixed 300 → 255, then the sign
    // bit drops bit 0 → 254; c2 inhibitory −300 → −255; c3 excitatory −5 → 0;
    // the last projection's sign mode is inferred from its weights −5 and 5:
    // mixed, so c4 gets floor(−5/2)·2 = −6 and c3 floor(5/2)·2 = 4.
    text.push_str(
        r#"
        [[projections]]
        from = "in"
        to = "clip"
        sparse = [[0, 0, 300]]
        sign_mode = "excitatory"
        [[projections]]
        from = "in"
        to = "clip"
        sparse = [[0, 1, 300]]
        sign_mode = "mixed"
        [[projections]]
        from = "in"
        to = "clip"
        sparse = [[0, 2, -300]]
        sign_mode = "inhibitory"
        [[projections]]
        from = "in"
        to = "clip"
        sparse = [[0, 3, -5]]
        sign_mode = "excitatory"
        [[projections]]
        from = "in"
        to = "clip"
        sparse = [[0, 4, -5], [0, 3, 5]]
        "#,
    );
    let r = run(&text, 2);
    let u: Vec<i32> = at(&r, "w", "u", 2).iter().map(|u| u / 64).collect();
    // Excitatory 200 = 0b11001000 keeps its top b bits (k = 8 − b low bits
    // dropped): b = 8, 7, 6, 5 → 200; b = 4, 3, 2 → 192; b = 1 → 128.
    assert_eq!(&u[0..8], &[128, 192, 192, 192, 200, 200, 200, 200]);
    // Mixed −77 drops k = 9 − b bits with an arithmetic shift (floor):
    // b = 1: floor(−77/256)·256 = −256; b = 2: floor(−77/128)·128 = −128;
    // b = 3: −2·64 = −128; b = 4: −3·32 = −96; b = 5: −5·16 = −80;
    // b = 6: −10·8 = −80; b = 7: −20·4 = −80; b = 8: −39·2 = −78.
    assert_eq!(&u[8..16], &[-256, -128, -128, -96, -80, -80, -80, -78]);
    // Inhibitory −200 truncates the magnitude like the excitatory case.
    assert_eq!(
        &u[16..24],
        &[-128, -192, -192, -192, -200, -200, -200, -200]
    );
    let c: Vec<i32> = at(&r, "clip", "u", 2).iter().map(|u| u / 64).collect();
    assert_eq!(c, vec![255, 254, -255, 4, -6]);
}

#[test]
fn delays_zero_one_and_sixty_two() {
    // An input spike at step 1 through delay d reaches u at step 1 + 1 + d;
    // with du = 4095 it shows at exactly that step as 50 << 6 = 3200.
    // A bias-driven neuron spiking at step 6 (bias 12, θ 64) reaches its
    // target through delay 2 at step 6 + 1 + 2 = 9.
    let r = run(
        r#"
        [[populations]]
        name = "in"
        size = 1
        model = "input"
        [[populations]]
        name = "d"
        size = 3
        model = "lif"
        du = 4095
        dv = 0
        vth = 131071
        [[populations]]
        name = "src"
        size = 1
        model = "lif"
        du = 0
        dv = 0
        vth = 1
        bias_mant = 3
        bias_exp = 2
        [[populations]]
        name = "dst"
        size = 1
        model = "lif"
        du = 4095
        dv = 0
        vth = 131071
        [[projections]]
        from = "in"
        to = "d"
        sparse = [[0, 0, 50, 0], [0, 1, 50, 1], [0, 2, 50, 62]]
        [[projections]]
        from = "src"
        to = "dst"
        one_to_one = { weight = 7 }
        delay = 2
        [[inputs]]
        population = "in"
        spikes = [[1, 0]]
        [[probes]]
        population = "d"
        vars = ["u"]
        [[probes]]
        population = "src"
        vars = ["spikes"]
        [[probes]]
        population = "dst"
        vars = ["u"]
        "#,
        70,
    );
    let arrivals = |neuron: usize| -> Vec<usize> {
        (1..=70)
            .filter(|&t| at(&r, "d", "u", t)[neuron] != 0)
            .collect()
    };
    assert_eq!(arrivals(0), vec![2]);
    assert_eq!(arrivals(1), vec![3]);
    assert_eq!(arrivals(2), vec![64]);
    assert_eq!(at(&r, "d", "u", 64)[2], 3200);
    // src spikes every 6 steps; dst sees 7 << 6 = 448 at 9, 15, 21, ...
    assert_eq!(&spike_steps(&r, "src", 0)[..2], &[6, 12]);
    let dst: Vec<usize> = (1..=24)
        .filter(|&t| at(&r, "dst", "u", t)[0] != 0)
        .collect();
    assert_eq!(dst, vec![9, 15, 21]);
    assert_eq!(at(&r, "dst", "u", 9), vec![448]);
}
