//! Weight quantization exactly as Lava's fixed-point `Dense` performs it
//! (`lava/utils/weightutils.py`: `determine_sign_mode`, `clip_weights`,
//! `truncate_weights`).

use neurite_net::SignMode;

/// The 8-bit range of a sign mode: mixed −256..=255, excitatory 0..=255,
/// inhibitory −255..=0.
pub fn clip_range(mode: SignMode) -> (i32, i32) {
    match mode {
        SignMode::Mixed => (-256, 255),
        SignMode::Excitatory => (0, 255),
        SignMode::Inhibitory => (-255, 0),
    }
}

/// The sign mode as a description writes it.
pub fn sign_mode_name(mode: SignMode) -> &'static str {
    match mode {
        SignMode::Mixed => "mixed",
        SignMode::Excitatory => "excitatory",
        SignMode::Inhibitory => "inhibitory",
    }
}

/// Lava's inference: excitatory when no weight is negative (including when
/// there are none), inhibitory when none is positive, mixed otherwise.
pub fn infer_sign_mode(weights: impl IntoIterator<Item = i32>) -> SignMode {
    let (mut min, mut max) = (0i32, 0i32);
    for w in weights {
        min = min.min(w);
        max = max.max(w);
    }
    if min >= 0 {
        SignMode::Excitatory
    } else if max <= 0 {
        SignMode::Inhibitory
    } else {
        SignMode::Mixed
    }
}

/// One weight after quantization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuantizedWeight {
    /// The mantissa the chip stores; the weight it stands for is
    /// `mantissa << (8 − num_weight_bits + mixed)`.
    pub mantissa: i16,
    /// The written weight lay outside the sign mode's 8-bit range.
    pub clipped: bool,
    /// Low bits were dropped.
    pub truncated: bool,
}

/// Clips `weight` to the 8-bit range of `mode`, then keeps the top
/// `num_weight_bits` bits (one fewer plus a sign bit when mixed). Mixed
/// weights truncate toward −∞ (an arithmetic shift); inhibitory weights are
/// truncated in magnitude, as Lava negates them around the shift.
pub fn quantize_weight(weight: i32, mode: SignMode, num_weight_bits: u8) -> QuantizedWeight {
    let (lo, hi) = clip_range(mode);
    let clipped_weight = weight.clamp(lo, hi);
    let shift = crate::program_sign_mode(mode).weight_shift(num_weight_bits);
    let mantissa = match mode {
        SignMode::Inhibitory => -((-clipped_weight) >> shift),
        SignMode::Mixed | SignMode::Excitatory => clipped_weight >> shift,
    };
    QuantizedWeight {
        // |mantissa| ≤ 256, always representable.
        mantissa: mantissa as i16,
        clipped: clipped_weight != weight,
        truncated: (mantissa << shift) != clipped_weight,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(weight: i32, mode: SignMode, bits: u8) -> i32 {
        let q = quantize_weight(weight, mode, bits);
        let mixed = u32::from(mode == SignMode::Mixed);
        i32::from(q.mantissa) << (8 - u32::from(bits) + mixed)
    }

    #[test]
    fn mixed_drops_one_bit_for_the_sign_even_at_eight_bits() {
        // 101 = 0b1100101: the mixed 8-bit mantissa holds 7 magnitude bits.
        assert_eq!(value(101, SignMode::Mixed, 8), 100);
        assert_eq!(quantize_weight(101, SignMode::Mixed, 8).mantissa, 50);
        // Arithmetic shift: −101 → floor(−101 / 2) · 2 = −102.
        assert_eq!(value(-101, SignMode::Mixed, 8), -102);
        assert_eq!(value(-256, SignMode::Mixed, 8), -256);
        assert_eq!(value(255, SignMode::Mixed, 8), 254);
    }

    #[test]
    fn clipping_follows_the_sign_mode() {
        let q = quantize_weight(300, SignMode::Mixed, 8);
        assert!(q.clipped);
        assert_eq!(value(300, SignMode::Mixed, 8), 254);
        assert_eq!(value(-300, SignMode::Mixed, 8), -256);
        assert_eq!(value(300, SignMode::Excitatory, 8), 255);
        assert_eq!(value(-5, SignMode::Excitatory, 8), 0);
        assert_eq!(value(-300, SignMode::Inhibitory, 8), -255);
        assert_eq!(value(5, SignMode::Inhibitory, 8), 0);
    }

    #[test]
    fn inhibitory_truncates_the_magnitude() {
        // 3 bits keep magnitudes in steps of 32: 100 → 96, so −100 → −96
        // (a floor on the signed value would give −128).
        assert_eq!(value(-100, SignMode::Inhibitory, 3), -96);
        assert_eq!(quantize_weight(-100, SignMode::Inhibitory, 3).mantissa, -3);
        assert_eq!(value(100, SignMode::Excitatory, 3), 96);
        // Mixed with 3 bits: steps of 64, floor: −100 → −128, 100 → 64.
        assert_eq!(value(-100, SignMode::Mixed, 3), -128);
        assert_eq!(value(100, SignMode::Mixed, 3), 64);
    }

    #[test]
    fn one_bit_weights() {
        assert_eq!(value(255, SignMode::Excitatory, 1), 128);
        assert_eq!(value(127, SignMode::Excitatory, 1), 0);
        assert_eq!(value(255, SignMode::Mixed, 1), 0);
        assert_eq!(value(-1, SignMode::Mixed, 1), -256);
        assert_eq!(value(-255, SignMode::Inhibitory, 1), -128);
    }

    #[test]
    fn every_width_and_mode_matches_the_shift_formula() {
        for bits in 1..=8u8 {
            for w in -400..=400 {
                for mode in [SignMode::Mixed, SignMode::Excitatory, SignMode::Inhibitory] {
                    let (lo, hi) = clip_range(mode);
                    let c = w.clamp(lo, hi);
                    let k = 8 - u32::from(bits) + u32::from(mode == SignMode::Mixed);
                    let expected = if mode == SignMode::Inhibitory {
                        -(((-c) >> k) << k)
                    } else {
                        (c >> k) << k
                    };
                    assert_eq!(value(w, mode, bits), expected, "w {w} {mode:?} {bits} bits");
                    let q = quantize_weight(w, mode, bits);
                    assert_eq!(q.truncated, expected != c);
                }
            }
        }
    }

    #[test]
    fn sign_mode_inference_matches_lava() {
        assert_eq!(infer_sign_mode([0, 5, 7]), SignMode::Excitatory);
        assert_eq!(infer_sign_mode([0, -5]), SignMode::Inhibitory);
        assert_eq!(infer_sign_mode([-1, 1]), SignMode::Mixed);
        assert_eq!(infer_sign_mode([0, 0]), SignMode::Excitatory);
        assert_eq!(infer_sign_mode(std::iter::empty()), SignMode::Excitatory);
    }
}
