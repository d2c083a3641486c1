//! The fixed-point arithmetic of one LIF neuron for one timestep, as Lava's
//! `PyLifModelBitAcc` computes it.
//!
//! ```text
//! u ← wrap24( tz(u · (4096 − (du + 1)), 12) + (a << 6) )
//! v ← sat24 ( tz(v · (4096 − dv), 12) + u + (bias_mant << bias_exp) )
//! spike ← v > vth << 6;   on a spike v ← 0, or v ← v − (vth << 6) when the
//!                           profile resets by subtraction (u keeps its value)
//! ```
//!
//! `tz(x, 12)` divides by 4096 rounding toward zero; `wrap24` folds u into
//! (−2^23, 2^23] modulo 2^24; `sat24` clamps v to ±(2^23 − 1); `a` is the
//! summed synaptic input that arrives this step.
//!
//! Lava wraps u by adding or subtracting 2^24 once; the two agree whenever
//! the unwrapped value lies within (−3·2^23, 3·2^23], which holds unless the
//! synaptic input of one step exceeds 2^24 in magnitude — beyond that Lava
//! leaves u outside 24 bits, which no 24-bit register can hold, and Neurite
//! keeps wrapping modulo 2^24.

pub use neurite_program::Reset;

/// Decay constants are 12-bit fractions of this unity.
pub const DECAY_UNITY: i32 = 4096;

/// Multiplies by `keep / 4096`, rounding toward zero.
#[inline(always)]
pub fn decay(x: i32, keep: i32) -> i32 {
    // |x| ≤ 2^23 and keep ≤ 4096: the product fits 36 bits, the quotient 24.
    ((i64::from(x) * i64::from(keep)) / i64::from(DECAY_UNITY)) as i32
}

/// [`decay`] in 32-bit arithmetic, without branches, for the vectorized
/// update: |x| is split into 12-bit halves so that no product exceeds 2^24,
/// and the sign is put back afterwards (which is rounding toward zero).
/// Exact for |x| < 2^24 (every u and v a core holds) and 0 ≤ keep ≤ 4096;
/// beyond that the result is wrong but nothing panics.
#[inline(always)]
pub fn decay32(x: i32, keep: i32) -> i32 {
    let sign = x >> 31; // 0 or −1
    let a = (x ^ sign).wrapping_sub(sign); // |x|
    // The masks change no value in range, and tell the compiler that every
    // factor fits 16 bits (x86: one `pmaddwd` per product).
    let keep = keep & 0x1FFF;
    let q = ((a >> 12) & 0xFFF)
        .wrapping_mul(keep)
        .wrapping_add(((a & 0xFFF).wrapping_mul(keep)) >> 12);
    (q ^ sign).wrapping_sub(sign)
}

/// [`wrap_u`] on a value already reduced modulo 2^32 (the fold depends on
/// the value modulo 2^24 only).
#[inline(always)]
pub fn wrap_u32(x: i32) -> i32 {
    const OFFSET: i32 = (1 << 23) - 1;
    (x.wrapping_add(OFFSET) & ((1 << 24) - 1)) - OFFSET
}

/// Folds a current into (−2^23, 2^23] modulo 2^24.
#[inline(always)]
pub fn wrap_u(x: i64) -> i32 {
    const OFFSET: i64 = (1 << 23) - 1;
    (((x + OFFSET) & ((1 << 24) - 1)) - OFFSET) as i32
}

/// Clamps a voltage to ±(2^23 − 1).
#[inline(always)]
pub fn saturate_v(x: i64) -> i32 {
    const LIMIT: i64 = (1 << 23) - 1;
    x.clamp(-LIMIT, LIMIT) as i32
}

/// Applies a weight exponent to a sum of weights: a left shift for positive
/// exponents, an arithmetic right shift (rounding toward −∞) for negative ones.
#[inline(always)]
pub fn apply_weight_exp(sum: i64, weight_exp: i8) -> i64 {
    if weight_exp >= 0 {
        sum << weight_exp
    } else {
        sum >> (-weight_exp)
    }
}

/// Per-neuron constants derived once from the Program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifConstants {
    /// 4096 − (du + 1): the part of u kept each step.
    pub keep_u: i32,
    /// 4096 − dv: the part of v kept each step.
    pub keep_v: i32,
    /// bias_mant << bias_exp.
    pub bias: i32,
    /// vth << 6.
    pub theta: i32,
    /// Steps v is held after a spike.
    pub refractory: u8,
    /// What a spike does to v.
    pub reset: Reset,
}

impl LifConstants {
    /// Derives the constants from hardware parameters.
    pub fn new(du: u16, dv: u16, vth: u32, bias_mant: i16, bias_exp: u8, refractory: u8) -> Self {
        Self {
            keep_u: DECAY_UNITY - (i32::from(du) + 1),
            keep_v: DECAY_UNITY - i32::from(dv),
            bias: i32::from(bias_mant) << bias_exp,
            theta: (vth << 6) as i32,
            refractory,
            reset: Reset::Zero,
        }
    }

    /// The same constants with another reset.
    pub fn with_reset(self, reset: Reset) -> Self {
        Self { reset, ..self }
    }
}

/// v after a spike at voltage `v` (so `v > c.theta`): 0, or `v − θ`. The
/// difference needs no saturation: v ≤ 2^23 − 1 and θ ≥ 0 put it in
/// [1, 2^23 − 1], and it stays above 0 (the residue above the threshold).
#[inline(always)]
pub fn reset_v(v: i32, c: &LifConstants) -> i32 {
    match c.reset {
        Reset::Zero => 0,
        Reset::Subtract => v - c.theta,
    }
}

/// One timestep of one neuron. `input` is the synaptic input arriving this
/// step, modulo 2^32 (only its low 18 bits can reach u). Returns whether the
/// neuron spiked.
///
/// During a refractory period v is held (at its value after the reset: 0,
/// or the residue above the threshold) and the neuron cannot spike, while u
/// keeps integrating.
#[inline(always)]
pub fn lif_step(
    u: &mut i32,
    v: &mut i32,
    refractory_left: &mut u8,
    input: i32,
    c: &LifConstants,
) -> bool {
    let new_u = wrap_u(i64::from(decay(*u, c.keep_u)) + (i64::from(input) << 6));
    *u = new_u;
    if *refractory_left > 0 {
        *refractory_left -= 1;
        return false;
    }
    let new_v = saturate_v(i64::from(decay(*v, c.keep_v)) + i64::from(new_u) + i64::from(c.bias));
    let spiked = new_v > c.theta;
    *v = if spiked { reset_v(new_v, c) } else { new_v };
    if spiked {
        *refractory_left = c.refractory;
    }
    spiked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decay_rounds_toward_zero() {
        // 1000 · 4095 / 4096 = 999.76 → 999; −1000 → −999 (not −1000).
        assert_eq!(decay(1000, 4095), 999);
        assert_eq!(decay(-1000, 4095), -999);
        assert_eq!(decay(1, 4095), 0);
        assert_eq!(decay(-1, 4095), 0);
        assert_eq!(decay(8_388_608, 4096), 8_388_608);
        assert_eq!(decay(-8_388_607, 1), -2047);
    }

    #[test]
    fn the_32_bit_decay_equals_the_64_bit_one() {
        let keeps = [0, 1, 2, 3071, 3072, 3354, 3896, 4095, 4096];
        let mut xs = vec![
            0, 1, -1, 4095, -4095, 4096, -4096, 8_388_607, -8_388_607, 8_388_608,
        ];
        let mut h = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            h ^= h << 13;
            h ^= h >> 7;
            h ^= h << 17;
            xs.push((h % (1 << 24)) as i32 - (1 << 23) + 1);
        }
        for &x in &xs {
            for &k in &keeps {
                assert_eq!(decay32(x, k), decay(x, k), "x = {x}, keep = {k}");
            }
            let k = (h % 4097) as i32;
            assert_eq!(decay32(x, k), decay(x, k), "x = {x}, keep = {k}");
        }
    }

    #[test]
    fn the_32_bit_wrap_equals_the_64_bit_one() {
        for x in [
            0i64,
            8_388_608,
            8_388_609,
            -8_388_607,
            -8_388_608,
            1 << 30,
            -(1 << 31),
            (1 << 31) - 1,
            123_456_789,
        ] {
            assert_eq!(wrap_u32(x as i32), wrap_u(x), "x = {x}");
        }
    }

    #[test]
    fn u_wraps_into_the_half_open_window() {
        assert_eq!(wrap_u(8_388_608), 8_388_608); // +2^23 is kept
        assert_eq!(wrap_u(8_388_609), -8_388_607);
        assert_eq!(wrap_u(-8_388_608), 8_388_608); // −2^23 becomes +2^23
        assert_eq!(wrap_u(-8_388_607), -8_388_607);
        assert_eq!(wrap_u(16_777_216 + 5), 5);
        assert_eq!(wrap_u(-16_777_216 - 5), -5);
        assert_eq!(wrap_u(0), 0);
    }

    #[test]
    fn v_saturates() {
        assert_eq!(saturate_v(9_000_000), 8_388_607);
        assert_eq!(saturate_v(-9_000_000), -8_388_607);
        assert_eq!(saturate_v(-8_388_607), -8_388_607);
    }

    #[test]
    fn weight_exponent_floors_negative_sums() {
        assert_eq!(apply_weight_exp(-3, -1), -2);
        assert_eq!(apply_weight_exp(3, -1), 1);
        assert_eq!(apply_weight_exp(-1, -8), -1);
        assert_eq!(apply_weight_exp(255, -8), 0);
        assert_eq!(apply_weight_exp(-5, 7), -640);
    }

    #[test]
    fn constants_include_the_current_decay_offset() {
        let c = LifConstants::new(0, 0, 131_071, 4095, 7, 3);
        assert_eq!((c.keep_u, c.keep_v), (4095, 4096));
        assert_eq!(c.bias, 524_160);
        assert_eq!(c.theta, 8_388_544);
        let c = LifConstants::new(4095, 4095, 0, -4096, 0, 0);
        assert_eq!((c.keep_u, c.keep_v, c.bias, c.theta), (0, 1, -4096, 0));
    }

    #[test]
    fn a_step_by_hand() {
        // du = 1023: keep 3072/4096 of u. dv = 2048: keep half of v.
        // u = tz(400 · 3072 / 4096) + (2 << 6) = 300 + 128 = 428
        // v = tz(−101 · 2048 / 4096) + 428 + (3 << 2) = −50 + 428 + 12 = 390
        // θ = 6 << 6 = 384 < 390: spike, v ← 0, refractory 2.
        let c = LifConstants::new(1023, 2048, 6, 3, 2, 2);
        let (mut u, mut v, mut r) = (400, -101, 0);
        assert!(lif_step(&mut u, &mut v, &mut r, 2, &c));
        assert_eq!((u, v, r), (428, 0, 2));
        // Refractory: u integrates (321 + 0), v stays 0, no spike.
        assert!(!lif_step(&mut u, &mut v, &mut r, 0, &c));
        assert_eq!((u, v, r), (321, 0, 1));
        assert!(!lif_step(&mut u, &mut v, &mut r, 0, &c));
        assert_eq!((u, v, r), (240, 0, 0));
        // Free again: v = 0 + 180 + 12 = 192 ≤ 384.
        assert!(!lif_step(&mut u, &mut v, &mut r, 0, &c));
        assert_eq!((u, v, r), (180, 192, 0));
    }

    #[test]
    fn reset_by_subtraction_by_hand() {
        // du = 4095 clears u (keeps 0), dv = 0 keeps v, vth = 10: θ = 640.
        // Input 3 each step: u = 3 << 6 = 192, and v grows by 192.
        let c = LifConstants::new(4095, 0, 10, 0, 0, 0).with_reset(Reset::Subtract);
        let (mut u, mut v, mut r) = (0, 0, 0);
        let mut trace = Vec::new();
        for _ in 0..8 {
            let spiked = lif_step(&mut u, &mut v, &mut r, 3, &c);
            trace.push((v, spiked));
        }
        // v: 192, 384, 576, 768 > 640 → spike, v = 768 − 640 = 128;
        // 320, 512, 704 > 640 → spike, v = 64; 256.
        assert_eq!(
            trace,
            [
                (192, false),
                (384, false),
                (576, false),
                (128, true),
                (320, false),
                (512, false),
                (64, true),
                (256, false)
            ]
        );
        // Resetting to zero instead: spikes at steps 4 and 8, v back to 0 each time.
        let c = c.with_reset(Reset::Zero);
        let (mut u, mut v, mut r) = (0, 0, 0);
        let spikes: Vec<bool> = (0..8)
            .map(|_| lif_step(&mut u, &mut v, &mut r, 3, &c))
            .collect();
        assert_eq!(
            spikes,
            [false, false, false, true, false, false, false, true]
        );
    }

    #[test]
    fn reset_by_subtraction_keeps_the_residue_through_the_refractory_period() {
        // v = 0 + 0 + (100 << 3) = 800 > θ = 5 << 6 = 320: v = 480, still above θ.
        // The refractory step holds v at 480; the next one adds 800: 1280 > 320,
        // v = 960, and so on — a residue above θ spikes again as soon as it may.
        let c = LifConstants::new(0, 0, 5, 100, 3, 1).with_reset(Reset::Subtract);
        let (mut u, mut v, mut r) = (0, 0, 0);
        assert!(lif_step(&mut u, &mut v, &mut r, 0, &c));
        assert_eq!((v, r), (480, 1));
        assert!(!lif_step(&mut u, &mut v, &mut r, 0, &c));
        assert_eq!((v, r), (480, 0));
        assert!(lif_step(&mut u, &mut v, &mut r, 0, &c));
        assert_eq!(v, 960);
    }

    #[test]
    fn reset_by_subtraction_at_the_top_of_the_range() {
        // v saturates at 2^23 − 1 = 8388607; θ = 131071 << 6 = 8388544: the
        // residue is 63. With θ = 0 the whole of v is kept and it spikes again.
        let c = LifConstants::new(4095, 0, 131_071, 4095, 7, 0).with_reset(Reset::Subtract);
        let (mut u, mut v, mut r) = (0, 8_388_000, 0);
        assert!(lif_step(&mut u, &mut v, &mut r, 0, &c));
        assert_eq!(v, 63);
        let c = LifConstants::new(4095, 0, 0, 1, 0, 0).with_reset(Reset::Subtract);
        let (mut u, mut v, mut r) = (0, 0, 0);
        assert!(lif_step(&mut u, &mut v, &mut r, 0, &c));
        assert_eq!(v, 1);
        assert!(lif_step(&mut u, &mut v, &mut r, 0, &c));
        assert_eq!(v, 2);
    }

    #[test]
    fn input_is_taken_modulo_two_to_the_eighteen() {
        let c = LifConstants::new(4095, 0, 0, 0, 0, 0);
        let (mut u1, mut v1, mut r1) = (0, 0, 0);
        let (mut u2, mut v2, mut r2) = (0, 0, 0);
        lif_step(&mut u1, &mut v1, &mut r1, 5, &c);
        lif_step(&mut u2, &mut v2, &mut r2, 5 + (1 << 18), &c);
        assert_eq!(u1, u2);
    }
}
