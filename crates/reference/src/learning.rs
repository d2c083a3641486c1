//! Learning, written out plainly from Lava's fixed-point model
//! (`PyLearningDenseModelBitApproximate`; `learning-reference.md` in the
//! project notes): traces stored at each epoch's start, spikes remembered by
//! their step in the epoch, histories worked out at the epoch's end, and the
//! rules evaluated product by product in wide integers, with Lava's int32
//! wrapping, shifts, clips and stochastic rounding spelled out.
//!
//! # Random numbers
//!
//! Lava rounds at random with five NumPy generators per learning projection
//! (`numpy.random.default_rng`, i.e. PCG64 seeded through `SeedSequence`):
//! pre-trace decay and impulse (seeds s and s + 1), post-trace decay and
//! impulse (s + 2, s + 3) and the synaptic variables (seed 2, whatever s
//! is). This module takes only the raw generator from the learning engine
//! ([`Pcg64`], checked there against NumPy's outputs); everything on top of
//! it is its own: NumPy's `random()` and buffered `integers(0, 128)`, and
//! Lava's schedule, replayed call by call in the order Lava makes them —
//! every generator draws once when built, the trace generators draw again
//! before and after the post bookkeeping of every step, and the synaptic
//! generator once at every epoch's end.
//!
//! # Three-factor rules
//!
//! In a three-factor rule the post traces y1, y2, y3 are supplied every step
//! after the post bookkeeping, as Lava's `Loihi3FLearningRule` receives
//! them from the post neuron: y1 is the neuron's own trace
//! `floor(y1·exp(−1/τ) + impulse·s)`, where s is whether it spiked in the
//! previous step (0 throughout when the description gives no post trace);
//! y2 is the value of the projection's neuromodulator in this step (0 without
//! one); y3 is 0. Within an epoch's history they decay like any trace; at
//! the epoch's end the stored value stays as supplied.

use neurite_net::neurite_learning::{
    Constant, Dependency, Pcg64, PostTraceSource, Product, Target, Variable,
};
use neurite_net::{Learning, Projection, SignMode};

/// `numpy.random.Generator` over PCG64, as far as Lava uses it.
struct NumpyGenerator {
    bits: Pcg64,
    /// NumPy's PCG64 hands out 32-bit numbers from halves of one 64-bit
    /// output, the low half first; the high half waits here.
    spare_u32: Option<u32>,
}

impl NumpyGenerator {
    fn new(seed: u128) -> NumpyGenerator {
        NumpyGenerator {
            bits: Pcg64::numpy(seed),
            spare_u32: None,
        }
    }

    /// `random()`: the top 53 bits of one output, as a double in [0, 1).
    fn random(&mut self) -> f64 {
        let bits = self.bits.next_u64() >> 11;
        bits as f64 / 9_007_199_254_740_992.0
    }

    fn next_u32(&mut self) -> u32 {
        match self.spare_u32.take() {
            Some(high) => high,
            None => {
                let output = self.bits.next_u64();
                self.spare_u32 = Some((output >> 32) as u32);
                (output & 0xffff_ffff) as u32
            }
        }
    }

    /// `integers(0, 128)`: Lemire's method on a 32-bit number, which for a
    /// range of 128 never rejects: ⌊u32 · 128 / 2^32⌋.
    fn integers_below_128(&mut self) -> i128 {
        (i128::from(self.next_u32()) * 128) >> 32
    }
}

/// Lava's `TraceRandom`: the decay and impulse numbers of a trace family
/// (pre or post), current until the next `advance`.
struct TraceRandom {
    decay_rng: NumpyGenerator,
    impulse_rng: NumpyGenerator,
    /// Compared with the fractional part of a decayed value.
    decay: f64,
    /// 0..=127, compared with an impulse's fraction in 1/256.
    impulse: i128,
}

impl TraceRandom {
    /// Built, with one draw from each generator.
    fn new(decay_seed: u128, impulse_seed: u128) -> TraceRandom {
        let mut decay_rng = NumpyGenerator::new(decay_seed);
        let mut impulse_rng = NumpyGenerator::new(impulse_seed);
        let decay = decay_rng.random();
        let impulse = impulse_rng.integers_below_128();
        TraceRandom {
            decay_rng,
            impulse_rng,
            decay,
            impulse,
        }
    }

    fn advance(&mut self) {
        self.decay = self.decay_rng.random();
        self.impulse = self.impulse_rng.integers_below_128();
    }
}

/// Lava seeds the synaptic variables' generator with 2, ignoring `rng_seed`.
const SYNAPTIC_SEED: u128 = 2;

/// x1, x2 (pre), y1, y2, y3 (post).
const TRACES: usize = 5;

/// One learning projection's state.
pub(crate) struct LearningState {
    t_epoch: u64,
    /// Stored trace values at the epoch's start (supplied y: as last
    /// supplied): x1, x2 per pre neuron; y1, y2, y3 per post neuron.
    stored: [Vec<i128>; TRACES],
    /// Step within the epoch of the last spike, 0 for none.
    pre_step: Vec<u64>,
    post_step: Vec<u64>,
    /// Per trace, the impulse's integer part and its fraction in 1/256.
    impulse: [(i128, i128); TRACES],
    /// Per trace, exp(−1/τ), or `None` for τ = 0 (no memory).
    decay: [Option<f64>; TRACES],
    /// Which of y1, y2, y3 are supplied every step (three-factor rules).
    supplied: [bool; 3],
    /// The post neuron's own trace in a three-factor rule (decay factor,
    /// impulse), its value per post neuron and whether the neuron spiked
    /// in the previous step.
    neuron_trace: Option<(f64, f64)>,
    neuron_y1: Vec<i128>,
    spiked_before: Vec<bool>,
    pre_random: TraceRandom,
    post_random: TraceRandom,
    synaptic_rng: NumpyGenerator,
    mode: SignMode,
    /// Per synapse: weight (8-bit scale), delay variable d and tag t.
    pub(crate) weights: Vec<i128>,
    pub(crate) delays: Vec<i128>,
    pub(crate) tags: Vec<i128>,
}

impl LearningState {
    pub(crate) fn new(
        learning: &Learning,
        projection: &Projection,
        n_pre: usize,
        n_post: usize,
    ) -> Self {
        let spec = &learning.spec;
        let specs = [spec.x1, spec.x2, spec.y1, spec.y2, spec.y3];
        let impulse = specs.map(|s| {
            let whole = s.impulse.floor();
            let fraction = ((s.impulse - whole) * 256.0).round_ties_even();
            (whole as i128, fraction as i128)
        });
        let decay = specs.map(|s| (s.tau != 0.0).then(|| (-1.0 / s.tau).exp()));
        let supplied = spec.post_sources.map(|s| s == PostTraceSource::Supplied);
        let mode = projection.sign_mode.unwrap_or(SignMode::Mixed);
        // Lava truncates the weights at step 1 to the mantissa's resolution.
        let drop = 8 - i128::from(projection.num_weight_bits) + i128::from(mode == SignMode::Mixed);
        let step = 1i128 << drop;
        let weights = projection
            .synapses
            .iter()
            .map(|s| {
                let w = i128::from(s.weight);
                match mode {
                    SignMode::Inhibitory => -((-w).div_euclid(step) * step),
                    _ => w.div_euclid(step) * step,
                }
            })
            .collect();
        // Seeds s to s + 3, with no wrap at 2^64 (NumPy's seeds are unbounded).
        let seed = u128::from(spec.rng_seed);
        let sizes = [n_pre, n_pre, n_post, n_post, n_post];
        LearningState {
            t_epoch: u64::from(spec.t_epoch),
            stored: sizes.map(|n| vec![0; n]),
            pre_step: vec![0; n_pre],
            post_step: vec![0; n_post],
            impulse,
            decay,
            supplied,
            neuron_trace: learning.post_trace.map(|p| (p.factor(), p.impulse())),
            neuron_y1: vec![0; n_post],
            spiked_before: vec![false; n_post],
            pre_random: TraceRandom::new(seed, seed + 1),
            post_random: TraceRandom::new(seed + 2, seed + 3),
            synaptic_rng: {
                let mut rng = NumpyGenerator::new(SYNAPTIC_SEED);
                rng.random();
                rng
            },
            mode,
            weights,
            delays: vec![0; projection.synapses.len()],
            tags: vec![0; projection.synapses.len()],
        }
    }

    /// The stored traces: x1, x2 per pre neuron, y1, y2, y3 per post neuron.
    pub(crate) fn traces(&self) -> &[Vec<i128>; TRACES] {
        &self.stored
    }

    /// Adds trace k's impulse to `value` with the random integer `r`:
    /// `clip(value + int + (r < frac), 0, 127)`.
    fn add_impulse(&self, k: usize, value: i128, r: i128) -> i128 {
        let (whole, fraction) = self.impulse[k];
        (value + whole + i128::from(r < fraction)).clamp(0, 127)
    }

    /// Records the spikes of step `t` and, at an epoch's end, learns.
    /// `modulator` is the value of the projection's neuromodulator in this
    /// step (0 without one).
    pub(crate) fn step(
        &mut self,
        learning: &Learning,
        projection: &Projection,
        t: u64,
        pre_fired: &[bool],
        post_fired: &[bool],
        modulator: i128,
    ) {
        let h = (t - 1) % self.t_epoch + 1;
        // Pre bookkeeping. An earlier spike of the epoch puts its impulse on
        // the stored value at once, rounding up any fraction (r = 0).
        for (i, &fired) in pre_fired.iter().enumerate() {
            if fired {
                if self.pre_step[i] > 0 {
                    for k in 0..2 {
                        self.stored[k][i] = self.add_impulse(k, self.stored[k][i], 0);
                    }
                }
                self.pre_step[i] = h;
            }
        }
        self.pre_random.advance();
        self.post_random.advance();
        // Post bookkeeping, with the post impulse number just drawn.
        for (j, &fired) in post_fired.iter().enumerate() {
            if fired {
                if self.post_step[j] > 0 {
                    for k in 2..5 {
                        let r = self.post_random.impulse;
                        self.stored[k][j] = self.add_impulse(k, self.stored[k][j], r);
                    }
                }
                self.post_step[j] = h;
            }
        }
        // Three-factor rules: the post neuron sends y1, y2 and y3.
        for (j, &fired) in post_fired.iter().enumerate() {
            if self.supplied[0] {
                let y1 = match self.neuron_trace {
                    Some((factor, impulse)) => {
                        let kick = if self.spiked_before[j] { impulse } else { 0.0 };
                        let y = (self.neuron_y1[j] as f64 * factor + kick).floor();
                        // Held in 32 bits: saturate.
                        y.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i128
                    }
                    None => 0,
                };
                self.neuron_y1[j] = y1;
                self.stored[2][j] = y1;
            }
            if self.supplied[1] {
                self.stored[3][j] = modulator;
            }
            if self.supplied[2] {
                self.stored[4][j] = 0;
            }
            self.spiked_before[j] = fired;
        }
        self.pre_random.advance();
        self.post_random.advance();
        if h != self.t_epoch {
            return;
        }

        // The learning phase.
        let r_synaptic = self.synaptic_rng.random();
        // Every trace's history over the epoch, per neuron: H[0] stored,
        // H[h] = decay(H[h − 1]) (0 for τ = 0), plus the impulse at the step
        // of the neuron's last spike. One decay and one impulse number for
        // the whole epoch, per family.
        let mut history: [Vec<Vec<i128>>; TRACES] = Default::default();
        for (k, per_neuron) in history.iter_mut().enumerate() {
            let (steps, random) = if k < 2 {
                (&self.pre_step, &self.pre_random)
            } else {
                (&self.post_step, &self.post_random)
            };
            for (n, &spike) in steps.iter().enumerate() {
                let mut values = vec![self.stored[k][n]];
                for s in 1..=self.t_epoch {
                    let previous = values[values.len() - 1];
                    let mut value = match self.decay[k] {
                        Some(factor) => decay(previous, factor, random.decay),
                        None => 0,
                    };
                    if s == spike {
                        value = self.add_impulse(k, value, random.impulse);
                    }
                    values.push(value);
                }
                per_neuron.push(values);
            }
        }
        let epoch = t / self.t_epoch;
        let u = learning
            .profile
            .decimation()
            .is_some_and(|k| epoch.is_multiple_of(1u64 << k));
        let old = (self.weights.clone(), self.delays.clone(), self.tags.clone());
        for (s, synapse) in projection.synapses.iter().enumerate() {
            let (i, j) = (synapse.pre as usize, synapse.post as usize);
            let (tx, ty) = (self.pre_step[i], self.post_step[j]);
            let vars = [old.0[s], old.1[s], old.2[s]];
            for (index, target) in [Target::Dw, Target::Dd, Target::Dt].into_iter().enumerate() {
                let Some(rule) = learning.profile.rule(target) else {
                    continue;
                };
                let mut acc = vars[index] * 128;
                for product in rule.products() {
                    // The step whose trace values the product reads.
                    let at = match product.dependency() {
                        Dependency::X0 if tx > 0 => tx,
                        Dependency::Y0 if ty > 0 => ty,
                        Dependency::U if u => self.t_epoch,
                        _ => continue,
                    };
                    let trace = |k: usize| {
                        let n = if k < 2 { i } else { j };
                        history[k][n][at as usize]
                    };
                    let p = product_value(product, &trace, tx > 0, ty > 0, vars);
                    acc = (acc + p).clamp(-32769, 32767);
                }
                let acc = match (target, self.mode) {
                    (Target::Dw, SignMode::Excitatory) | (Target::Dd, _) => acc.max(0),
                    (Target::Dw, SignMode::Inhibitory) => acc.min(0),
                    _ => acc,
                };
                // Stochastic rounding of the 7 fractional bits.
                let whole = acc.div_euclid(128);
                let fraction = acc.rem_euclid(128) as f64 / 128.0;
                let rounded = whole + i128::from(r_synaptic < fraction);
                let (lo, hi) = match (target, self.mode) {
                    (Target::Dw, SignMode::Mixed) => (-256, 255),
                    (Target::Dw, SignMode::Excitatory) => (0, 255),
                    (Target::Dw, SignMode::Inhibitory) => (-255, 0),
                    (Target::Dd, _) => (0, 255),
                    (Target::Dt, _) => (-257, 255),
                };
                let value = rounded.clamp(lo, hi);
                match target {
                    Target::Dw => self.weights[s] = value,
                    Target::Dd => self.delays[s] = value,
                    Target::Dt => self.tags[s] = value,
                }
            }
        }
        // The epoch's end becomes the next epoch's start, except for the
        // supplied y, which stay as supplied.
        for (k, per_neuron) in history.iter().enumerate() {
            if k >= 2 && self.supplied[k - 2] {
                continue;
            }
            for (n, values) in per_neuron.iter().enumerate() {
                self.stored[k][n] = values[self.t_epoch as usize];
            }
        }
        self.pre_step.fill(0);
        self.post_step.fill(0);
    }
}

/// One step of decay in double precision: `f = v·factor`, then
/// `floor(f) + (r < f − floor(f))`.
fn decay(value: i128, factor: f64, r: f64) -> i128 {
    let f = value as f64 * factor;
    let floor = f.floor();
    floor as i128 + i128::from(r < f - floor)
}

/// What Lava's int32 arithmetic keeps of `x`: its low 32 bits, signed.
fn wrap_i32(x: i128) -> i128 {
    (x + (1 << 31)).rem_euclid(1 << 32) - (1 << 31)
}

/// A product's contribution to the accumulator (units of 2^−7).
fn product_value(
    product: &Product,
    trace: &dyn Fn(usize) -> i128,
    x0: bool,
    y0: bool,
    vars: [i128; 3],
) -> i128 {
    let mut value: i128 = 1;
    for factor in product.factors() {
        let var = factor.variable();
        let raw = match var {
            Variable::X0 => i128::from(x0),
            Variable::Y0 => i128::from(y0),
            Variable::X1 => trace(0),
            Variable::X2 => trace(1),
            Variable::Y1 => trace(2),
            Variable::Y2 => trace(3),
            Variable::Y3 => trace(4),
            Variable::W => vars[0],
            Variable::D => vars[1],
            Variable::T => vars[2],
        };
        let width = var.width();
        let (lo, hi) = (-(1i128 << width), (1i128 << width) - 1);
        let f = match factor.constant() {
            None | Some(Constant::Int(_)) => {
                let c = match factor.constant() {
                    Some(Constant::Int(c)) => i128::from(c),
                    _ => 0,
                };
                let sum = raw + c;
                if factor.is_sgn() {
                    sum.signum()
                } else {
                    sum.clamp(lo, hi)
                }
            }
            // Added in double precision; sgn() takes the sum's sign, a
            // plain factor truncates it toward zero.
            Some(Constant::Float(c)) => {
                let sum = raw as f64 + c;
                if factor.is_sgn() {
                    if sum > 0.0 {
                        1
                    } else if sum < 0.0 {
                        -1
                    } else {
                        0
                    }
                } else {
                    (sum.trunc() as i128).clamp(lo, hi)
                }
            }
        };
        value = wrap_i32(value * f);
    }
    value = wrap_i32(value * i128::from(product.mantissa()));
    // An arithmetic right shift is a floor division by 2^shift; beyond 32
    // bits only the sign is left.
    let shift = product.shift();
    value = if shift >= 32 {
        if value < 0 { -1 } else { 0 }
    } else {
        value.div_euclid(1i128 << shift)
    };
    // Into the accumulator's 7 fractional bits: exponents are −7..=8, so a
    // left shift of 0..=15, in int32.
    let left = i32::from(product.exponent()) + 7;
    value = wrap_i32(value * (1i128 << left.clamp(0, 15)));
    value.clamp(-32769, 32767)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_random_and_integers_of_seed_0() {
        // NumPy 1.26.4 (tests/golden/learning/numpy_streams.json):
        // default_rng(0).random() → 0.6369616873214543, and successive
        // integers(0, 128) → 108, 81, 65 (the low and high halves of the
        // first output, then the low half of the second).
        let mut g = NumpyGenerator::new(0);
        assert_eq!(g.random(), 0.6369616873214543);
        let mut g = NumpyGenerator::new(0);
        let drawn: Vec<i128> = (0..3).map(|_| g.integers_below_128()).collect();
        assert_eq!(drawn, [108, 81, 65]);
    }

    #[test]
    fn int32_wraps() {
        assert_eq!(wrap_i32(1 << 31), -(1 << 31));
        assert_eq!(wrap_i32(-(1 << 31) - 1), (1 << 31) - 1);
        assert_eq!(wrap_i32(-5), -5);
    }

    #[test]
    fn decay_rounds_the_fraction_up_below_r() {
        // 10 · 0.5 = 5 exactly: never rounded.
        assert_eq!(decay(10, 0.5, 0.0), 5);
        // 11 · 0.5 = 5.5: up when r < 0.5.
        assert_eq!(decay(11, 0.5, 0.49), 6);
        assert_eq!(decay(11, 0.5, 0.5), 5);
        // Negative (supplied) values: −5.5 → −6 + (r < 0.5).
        assert_eq!(decay(-11, 0.5, 0.2), -5);
        assert_eq!(decay(-11, 0.5, 0.7), -6);
    }
}
