//! Named rules with the parameters of Lava's canned learning rules:
//! [`Stdp`] (`STDPLoihi`) and [`RewardStdp`] (`RewardModulatedSTDP`). Each
//! writes the rule strings Lava writes, so it compiles to the profile
//! Lava's class would produce.

use crate::error::LearningError;
use crate::profile::{LearningProfile, RuleSpec, TraceSpec};

/// A float learning parameter as Lava's `float_to_literal` writes it:
/// `(m)` or `(m) * 2 ^ e`, with `m = sign·max(trunc|x|, 1)` and
/// `e = round_half_even(log2(|x| / |m|))`. Lossy: 1.5 becomes 2, 3.5
/// becomes 3, 0.3 becomes 0.25.
///
/// `name` is the parameter's name, for the error of a non-finite value.
pub fn float_to_literal(name: &'static str, x: f64) -> Result<String, LearningError> {
    if !x.is_finite() {
        return Err(LearningError::Parameter {
            name,
            value: x.to_string(),
            reason: "a learning parameter must be a finite number",
        });
    }
    if x == 0.0 {
        return Ok("0".to_string());
    }
    let magnitude = x.abs();
    let integer = magnitude.trunc();
    // Lava's integer part is exact at any size; beyond 2^127 no scale
    // could hold it anyway.
    if integer >= 2f64.powi(127) {
        return Err(LearningError::Parameter {
            name,
            value: x.to_string(),
            reason: "too large for a rule's scale (mantissa -8..=7, exponent -7..=8)",
        });
    }
    let mantissa = (integer as i128).max(1);
    let signed = if x < 0.0 { -mantissa } else { mantissa };
    let remainder = magnitude / mantissa as f64;
    if remainder == 1.0 {
        return Ok(format!("({signed})"));
    }
    let exponent = remainder.log2().round_ties_even() as i64;
    Ok(format!("({signed}) * 2 ^ {exponent}"))
}

/// Lava's `STDPLoihi`: `dw = lr·A−·x0·y1 + lr·A+·y0·x1`, with x1 decaying
/// with τ+ and y1 with τ−, and impulses of 16 unless given.
#[derive(Debug, Clone, PartialEq)]
pub struct Stdp {
    /// Overall learning rate.
    pub learning_rate: f64,
    /// Scale of the change at post spikes, from the pre trace (potentiation
    /// when positive).
    pub a_plus: f64,
    /// Scale of the change at pre spikes, from the post trace (usually
    /// negative: depression).
    pub a_minus: f64,
    /// Time constant of the pre trace x1.
    pub tau_plus: f64,
    /// Time constant of the post trace y1.
    pub tau_minus: f64,
    /// Impulse of x1 (Lava's default 16).
    pub x1_impulse: f64,
    /// Impulse of y1 (Lava's default 16).
    pub y1_impulse: f64,
    /// The other traces, as `Loihi2FLearningRule` takes them (default none).
    pub x2: TraceSpec,
    /// Second post trace.
    pub y2: TraceSpec,
    /// Third post trace.
    pub y3: TraceSpec,
    /// A delay-variable rule, if any.
    pub dd: Option<String>,
    /// A tag rule, if any.
    pub dt: Option<String>,
    /// Learning epoch.
    pub t_epoch: u32,
    /// Seed of the trace streams.
    pub rng_seed: u64,
}

impl Default for Stdp {
    fn default() -> Stdp {
        Stdp {
            learning_rate: 1.0,
            a_plus: 1.0,
            a_minus: -1.0,
            tau_plus: 10.0,
            tau_minus: 10.0,
            x1_impulse: 16.0,
            y1_impulse: 16.0,
            x2: TraceSpec::NONE,
            y2: TraceSpec::NONE,
            y3: TraceSpec::NONE,
            dd: None,
            dt: None,
            t_epoch: 1,
            rng_seed: 0,
        }
    }
}

impl Stdp {
    /// The rule specification `STDPLoihi` builds.
    pub fn spec(&self) -> Result<RuleSpec, LearningError> {
        let lr = float_to_literal("learning_rate", self.learning_rate)?;
        let a_plus = float_to_literal("A_plus", self.a_plus)?;
        let a_minus = float_to_literal("A_minus", self.a_minus)?;
        Ok(RuleSpec {
            dw: Some(format!(
                "{lr} * {a_minus} * x0 * y1 +{lr} * {a_plus} * y0 * x1"
            )),
            dd: self.dd.clone(),
            dt: self.dt.clone(),
            x1: TraceSpec::new(self.x1_impulse, self.tau_plus),
            x2: self.x2,
            y1: TraceSpec::new(self.y1_impulse, self.tau_minus),
            y2: self.y2,
            y3: self.y3,
            t_epoch: self.t_epoch,
            rng_seed: self.rng_seed,
            ..RuleSpec::default()
        })
    }

    /// The compiled profile.
    pub fn compile(&self) -> Result<LearningProfile, LearningError> {
        LearningProfile::compile(&self.spec()?)
    }
}

/// Lava's `RewardModulatedSTDP`, a three-factor rule: the tag t is an
/// eligibility trace, `dt = lr·A−·x0·y1 + lr·A+·y0·x1 − E·u0·t`, and the
/// weight follows the reward in y2, `dw = u0·t·y2`.
///
/// All three post traces are supplied each step, as `Loihi3FLearningRule`
/// expects: y2 the reward (a neuromodulator's value), y1 the post neuron's
/// own trace (see [`PostNeuronTrace`]), y3 unused.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardStdp {
    /// Overall learning rate.
    pub learning_rate: f64,
    /// Scale of the eligibility change at post spikes.
    pub a_plus: f64,
    /// Scale of the eligibility change at pre spikes.
    pub a_minus: f64,
    /// Time constant of the pre trace x1.
    pub pre_trace_decay_tau: f64,
    /// Time constant of the post neuron's trace y1 (used by the neuron,
    /// not by the learning engine).
    pub post_trace_decay_tau: f64,
    /// Impulse of x1.
    pub pre_trace_kernel_magnitude: f64,
    /// Impulse of the post neuron's trace y1 (used by the neuron).
    pub post_trace_kernel_magnitude: f64,
    /// Not a time constant, whatever Lava calls it: the fraction E of the
    /// tag removed each epoch (0.5 halves it), through stochastic rounding.
    pub eligibility_trace_decay_tau: f64,
    /// Second pre trace (default none).
    pub x2: TraceSpec,
    /// A delay-variable rule, if any.
    pub dd: Option<String>,
    /// Learning epoch.
    pub t_epoch: u32,
    /// Seed of the trace streams.
    pub rng_seed: u64,
}

impl Default for RewardStdp {
    fn default() -> RewardStdp {
        RewardStdp {
            learning_rate: 1.0,
            a_plus: 1.0,
            a_minus: -1.0,
            pre_trace_decay_tau: 10.0,
            post_trace_decay_tau: 10.0,
            pre_trace_kernel_magnitude: 16.0,
            post_trace_kernel_magnitude: 16.0,
            eligibility_trace_decay_tau: 0.5,
            x2: TraceSpec::NONE,
            dd: None,
            t_epoch: 1,
            rng_seed: 0,
        }
    }
}

impl RewardStdp {
    /// The rule specification `RewardModulatedSTDP` builds.
    pub fn spec(&self) -> Result<RuleSpec, LearningError> {
        let lr = float_to_literal("learning_rate", self.learning_rate)?;
        let a_plus = float_to_literal("A_plus", self.a_plus)?;
        let a_minus = float_to_literal("A_minus", self.a_minus)?;
        let e = float_to_literal(
            "eligibility_trace_decay_tau",
            self.eligibility_trace_decay_tau,
        )?;
        Ok(RuleSpec {
            dw: Some(" u0 * t * y2 ".to_string()),
            dd: self.dd.clone(),
            dt: Some(format!(
                "{lr} * {a_minus} * x0 * y1 + {lr} * {a_plus} * y0 * x1 - u0 * t * {e}"
            )),
            x1: TraceSpec::new(self.pre_trace_kernel_magnitude, self.pre_trace_decay_tau),
            x2: self.x2,
            t_epoch: self.t_epoch,
            rng_seed: self.rng_seed,
            ..RuleSpec::three_factor()
        })
    }

    /// The compiled profile.
    pub fn compile(&self) -> Result<LearningProfile, LearningError> {
        LearningProfile::compile(&self.spec()?)
    }

    /// The trace the post neuron keeps and supplies as y1.
    pub fn post_trace(&self) -> Result<PostNeuronTrace, LearningError> {
        PostNeuronTrace::new(self.post_trace_kernel_magnitude, self.post_trace_decay_tau)
    }
}

/// The post-synaptic trace a third-factor neuron keeps itself and sends as
/// y1, as the reference three-factor neuron of Lava's tests
/// (`RSTDPLIFBitAcc`) computes it each step, before its own LIF update:
/// `y1 ← floor(y1·exp(−1/τ) + impulse·s)` in double precision, where `s` is
/// whether the neuron spiked in the *previous* step. A post spike therefore
/// reaches y1 one step late.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PostNeuronTrace {
    factor: f64,
    impulse: f64,
}

impl PostNeuronTrace {
    /// From the impulse and the time constant (> 0; infinite for none).
    pub fn new(impulse: f64, tau: f64) -> Result<PostNeuronTrace, LearningError> {
        if !impulse.is_finite() {
            return Err(LearningError::Parameter {
                name: "post_trace_kernel_magnitude",
                value: impulse.to_string(),
                reason: "the post neuron's impulse must be a finite number",
            });
        }
        if tau.is_nan() || tau <= 0.0 {
            return Err(LearningError::Parameter {
                name: "post_trace_decay_tau",
                value: tau.to_string(),
                reason: "the post neuron's time constant must be positive",
            });
        }
        Ok(PostNeuronTrace {
            factor: (-1.0 / tau).exp(),
            impulse,
        })
    }

    /// The impulse added one step after a spike.
    pub fn impulse(&self) -> f64 {
        self.impulse
    }

    /// The decay factor `exp(−1/τ)`.
    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// Replaces the decay factor `exp(−1/τ)` by the given one (see
    /// [`LearningProfile::with_decay_factor`]).
    pub fn with_decay_factor(self, factor: f64) -> PostNeuronTrace {
        PostNeuronTrace { factor, ..self }
    }

    /// The next value, from the current one and whether the neuron spiked
    /// in the previous step. Saturates at the ends of `i32`.
    pub fn next(&self, y1: i32, spiked_before: bool) -> i32 {
        let kick = if spiked_before { self.impulse } else { 0.0 };
        (f64::from(y1) * self.factor + kick).floor() as i32
    }
}
