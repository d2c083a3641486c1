//! Learning, written out plainly from Lava's fixed-point model (see
//! `learning-reference.md`): traces stored at each epoch's start, spikes
//! remembered by their step in the epoch, histories worked out at the
//! epoch's end, and the rules evaluated product by product in wide
//! integers.
//!
//! The reference simulates only learning in which no random number
//! matters: integer impulses, time constants of 0 (no memory) or so large
//! that nothing decays, and accumulators that end on a whole value (as every
//! product with an exponent ≥ 0 does). It panics where Lava's model would
//! round at random, so a differential test can never pass by luck.

use neurite_net::neurite_learning::{Constant, Dependency, Product, Target, Trace, Variable};
use neurite_net::{Learning, Projection, SignMode};

/// One learning projection's state.
pub(crate) struct LearningState {
    t_epoch: u64,
    /// Stored trace values at the epoch's start: x1, x2 per pre neuron;
    /// y1, y2, y3 per post neuron.
    stored: [Vec<i128>; 5],
    /// Step within the epoch of the last spike, 0 for none.
    pre_step: Vec<u64>,
    post_step: Vec<u64>,
    impulse: [i128; 5],
    /// τ = 0: the trace remembers nothing between steps.
    forgets: [bool; 5],
    mode: SignMode,
    /// Per synapse: weight (8-bit scale), delay variable d and tag t.
    pub(crate) weights: Vec<i128>,
    pub(crate) delays: Vec<i128>,
    pub(crate) tags: Vec<i128>,
}

const TRACES: [Trace; 5] = [Trace::X1, Trace::X2, Trace::Y1, Trace::Y2, Trace::Y3];

impl LearningState {
    pub(crate) fn new(
        learning: &Learning,
        projection: &Projection,
        n_pre: usize,
        n_post: usize,
    ) -> Self {
        let profile = &learning.profile;
        let mut impulse = [0; 5];
        let mut forgets = [false; 5];
        for (k, trace) in TRACES.into_iter().enumerate() {
            let p = profile.trace(trace);
            assert!(
                p.impulse_frac == 0,
                "neurite_reference: projection '{}': fractional impulses round at random",
                projection.name
            );
            // exp(−1/τ) rounds to exactly 1 for infinite or huge τ.
            assert!(
                p.decay.is_none_or(|f| f == 1.0),
                "neurite_reference: projection '{}': decaying traces round at random (tau must be 0 or so large that nothing decays)",
                projection.name
            );
            assert!(
                learning
                    .spec
                    .post_sources
                    .iter()
                    .all(|s| *s == neurite_net::neurite_learning::PostTraceSource::Spikes),
                "neurite_reference: projection '{}': three-factor rules are not simulated",
                projection.name
            );
            impulse[k] = i128::from(p.impulse_int);
            forgets[k] = p.tau == 0.0;
        }
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
        let sizes = [n_pre, n_pre, n_post, n_post, n_post];
        LearningState {
            t_epoch: u64::from(learning.spec.t_epoch),
            stored: sizes.map(|n| vec![0; n]),
            pre_step: vec![0; n_pre],
            post_step: vec![0; n_post],
            impulse,
            forgets,
            mode,
            weights,
            delays: vec![0; projection.synapses.len()],
            tags: vec![0; projection.synapses.len()],
        }
    }

    /// Records the spikes of step `t` and, at an epoch's end, learns.
    pub(crate) fn step(
        &mut self,
        learning: &Learning,
        projection: &Projection,
        t: u64,
        pre_fired: &[bool],
        post_fired: &[bool],
    ) {
        let h = (t - 1) % self.t_epoch + 1;
        for (i, &fired) in pre_fired.iter().enumerate() {
            if fired {
                if self.pre_step[i] > 0 {
                    // An earlier spike of the epoch: its impulse goes to the
                    // stored value at once.
                    for k in 0..2 {
                        self.stored[k][i] = (self.stored[k][i] + self.impulse[k]).min(127);
                    }
                }
                self.pre_step[i] = h;
            }
        }
        for (j, &fired) in post_fired.iter().enumerate() {
            if fired {
                if self.post_step[j] > 0 {
                    for k in 2..5 {
                        self.stored[k][j] = (self.stored[k][j] + self.impulse[k]).min(127);
                    }
                }
                self.post_step[j] = h;
            }
        }
        if h != self.t_epoch {
            return;
        }
        // The history of every trace over the epoch: H[0] stored; each step
        // keeps the value (no decay) or forgets it (τ = 0); the last spike
        // adds its impulse at its own step.
        let epoch = t / self.t_epoch;
        let history = |k: usize, n: usize, spike: u64, at: u64| -> i128 {
            let mut value = self.stored[k][n];
            for s in 1..=at {
                if self.forgets[k] {
                    value = 0;
                }
                if s == spike {
                    value = (value + self.impulse[k]).min(127);
                }
            }
            value
        };
        let decimation = learning.profile.decimation();
        let u = decimation.is_some_and(|k| epoch.is_multiple_of(1u64 << k));
        let old = (self.weights.clone(), self.delays.clone(), self.tags.clone());
        for (s, synapse) in projection.synapses.iter().enumerate() {
            let (i, j) = (synapse.pre as usize, synapse.post as usize);
            let (tx, ty) = (self.pre_step[i], self.post_step[j]);
            let vars = [old.0[s], old.1[s], old.2[s]];
            for target in [Target::Dw, Target::Dd, Target::Dt] {
                let Some(rule) = learning.profile.rule(target) else {
                    continue;
                };
                let index = match target {
                    Target::Dw => 0,
                    Target::Dd => 1,
                    Target::Dt => 2,
                };
                let mut acc = vars[index] * 128;
                for product in rule.products() {
                    let at = match product.dependency() {
                        Dependency::X0 if tx > 0 => tx,
                        Dependency::Y0 if ty > 0 => ty,
                        Dependency::U if u => self.t_epoch,
                        _ => continue,
                    };
                    let trace = |k: usize| {
                        let (n, spike) = if k < 2 { (i, tx) } else { (j, ty) };
                        history(k, n, spike, at)
                    };
                    let p = product_value(product, &trace, tx > 0, ty > 0, vars);
                    acc = (acc + p).clamp(-32769, 32767);
                }
                let acc = match (target, self.mode) {
                    (Target::Dw, SignMode::Excitatory) | (Target::Dd, _) => acc.max(0),
                    (Target::Dw, SignMode::Inhibitory) => acc.min(0),
                    _ => acc,
                };
                let whole = acc.div_euclid(128);
                let rest = acc.rem_euclid(128);
                let (lo, hi) = match (target, self.mode) {
                    (Target::Dw, SignMode::Mixed) => (-256, 255),
                    (Target::Dw, SignMode::Excitatory) => (0, 255),
                    (Target::Dw, SignMode::Inhibitory) => (-255, 0),
                    (Target::Dd, _) => (0, 255),
                    (Target::Dt, _) => (-257, 255),
                };
                // A remainder rounds at random unless both ways clip alike.
                let value = if rest == 0 {
                    whole.clamp(lo, hi)
                } else {
                    let (down, up) = (whole.clamp(lo, hi), (whole + 1).clamp(lo, hi));
                    assert!(
                        down == up,
                        "neurite_reference: projection '{}': {target} of synapse {s} rounds at random (accumulator {acc})",
                        projection.name
                    );
                    down
                };
                match target {
                    Target::Dw => self.weights[s] = value,
                    Target::Dd => self.delays[s] = value,
                    Target::Dt => self.tags[s] = value,
                }
            }
        }
        let mut next: [Vec<i128>; 5] = Default::default();
        for (k, values) in next.iter_mut().enumerate() {
            let steps = if k < 2 {
                &self.pre_step
            } else {
                &self.post_step
            };
            *values = (0..steps.len())
                .map(|x| history(k, x, steps[x], self.t_epoch))
                .collect();
        }
        self.stored = next;
        self.pre_step.fill(0);
        self.post_step.fill(0);
    }
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
        let sum = match factor.constant() {
            None => raw,
            Some(Constant::Int(c)) => raw + i128::from(c),
            // Added in double precision, truncated toward zero.
            Some(Constant::Float(c)) => (raw as f64 + c).trunc() as i128,
        };
        let width = var.width();
        let f = if factor.is_sgn() {
            sum.signum()
        } else {
            sum.clamp(-(1 << width), (1 << width) - 1)
        };
        value *= f;
    }
    value *= i128::from(product.mantissa());
    assert!(
        i32::try_from(value).is_ok(),
        "neurite_reference: a product overflows Lava's int32 ({value})"
    );
    // Floor division by 2^shift, then the exponent's shift into the
    // accumulator's 7 fractional bits (exponents are −7..=8).
    let shifted = value.div_euclid(1i128 << product.shift());
    let exponent = u32::try_from(i32::from(product.exponent()) + 7).unwrap_or(0);
    let scaled = shifted * (1i128 << exponent);
    assert!(
        i32::try_from(scaled).is_ok(),
        "neurite_reference: a scaled product overflows Lava's int32 ({scaled})"
    );
    scaled.clamp(-32769, 32767)
}
