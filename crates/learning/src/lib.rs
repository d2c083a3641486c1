//! The fixed-point on-chip learning engine of Loihi-style cores, as Lava's
//! `PyLearningDenseModelBitApproximate` defines it.
//!
//! A learning synapse group has a [`LearningProfile`]: rules for the weight
//! (`dw`), the delay variable (`dd`, Lava's `tag_2`, learned but delaying
//! nothing) and the tag (`dt`, Lava's `tag_1`), written in Lava's rule
//! language as sums of products, e.g. `"2^-2*x1*y0 - 2^-2*y1*x0"`; the
//! impulse and time constant of the 7-bit traces x1, x2 (per pre neuron) and
//! y1, y2, y3 (per post neuron); the learning epoch; and the seed of the
//! stochastic rounding. [`Traces`] keeps the traces of one group and
//! records spikes step by step; at the end of each epoch [`apply`] updates
//! every synapse in Lava's fixed-point order. [`Stdp`] and [`RewardStdp`]
//! write the rules of Lava's `STDPLoihi` and `RewardModulatedSTDP`.
//!
//! The random numbers of stochastic rounding are NumPy's PCG64 streams,
//! seeded and drawn exactly as Lava draws them, so a run reproduces Lava's
//! weights bit for bit given the same seed (and, for decaying traces,
//! NumPy's `exp(−1/τ)`: see [`LearningProfile::with_decay_factor`]). Every
//! random number is a pure function of the seed and the step, so results do
//! not depend on how a caller splits work across threads.
//!
//! # Lava's parser quirks
//!
//! Lava accepts some strings and silently reads something else. For each,
//! Neurite either matches Lava or refuses the rule with a
//! [`RuleErrorKind`] that says why:
//!
//! | Lava's reading | Neurite |
//! |---|---|
//! | spaces are deleted before reading: `1 6` is 16, `u 1` is u1 whose k is lost | refused: [`RuleErrorKind::SpaceInsideToken`] |
//! | `u10` is u1 times the literal 0 | refused: [`RuleErrorKind::MultiDigitUk`] |
//! | `(-x1)` and `sgn(-w)` drop the minus | refused: [`RuleErrorKind::NegatedBracketVariable`] |
//! | `(x0)`, `(y0)`, `(uk)`, `((x1))` are left out | refused: [`RuleErrorKind::IgnoredBracket`] |
//! | only the first four symbols of a bracket count: `(x1+3+x2)` is `(x1+3)` | refused: [`RuleErrorKind::ExtraBracketSymbols`] |
//! | any joining symbol but `-` is `+`: `(x1*3)` is `(x1+3)` | refused: [`RuleErrorKind::BracketOperator`] |
//! | literals fold into the scale, never a factor: `x0*(2)` scales by 2 | matched |
//! | a later x0 or y0 becomes a 1-bit factor: `y0*x0` | matched |
//! | `u1 0`, with a space, is u1 times 0 (as Lava reads it) | matched |
//! | a fractional constant `(x1 + 2^-1)` is added in double precision and the sum truncated toward zero | matched |
//! | `sgn(w)` counts 9 bits in the product's shift | matched |
//! | four or more wide factors overflow int32 before the shift and wrap | matched |
//!
//! # Example
//!
//! ```
//! use neurite_learning::{
//!     LearningProfile, Layout, RuleSpec, SignMode, Synapses, TraceSpec, Traces, apply,
//! };
//!
//! // Pair-based STDP with integer impulses and no decay: no rounding enters.
//! let spec = RuleSpec {
//!     x1: TraceSpec::new(16.0, f64::INFINITY),
//!     y1: TraceSpec::new(16.0, f64::INFINITY),
//!     ..RuleSpec::two_factor("2^-2*x1*y0 - 2^-2*y1*x0")
//! };
//! let profile = LearningProfile::compile(&spec)?;
//! let mut traces = Traces::new(&profile, 1, 1);
//! let mut weights = [10i16];
//! traces.record_pre_spike(&profile, 0); // step 1: pre spikes, x1 = 16
//! traces.end_step(&profile);
//! traces.record_post_spike(&profile, 0); // step 2: post spikes, y0 = 1
//! let epoch = traces.end_step(&profile).expect("every step ends an epoch");
//! apply(&profile, &epoch, Synapses {
//!     layout: Layout::Dense,
//!     sign_mode: SignMode::Mixed,
//!     weights: &mut weights,
//!     delays: &mut [],
//!     tags: &mut [],
//! })?;
//! assert_eq!(weights, [14]); // 10 + x1/4
//! # Ok::<(), neurite_learning::LearningError>(())
//! ```

mod apply;
mod error;
mod named;
mod profile;
mod rng;
mod rule;
mod traces;

#[cfg(test)]
mod tests;

pub use apply::{
    Applied, DELAY_RANGE, Layout, SignMode, Synapses, TAG_RANGE, apply, truncate_initial_weight,
};
pub use error::{LearningError, RuleErrorKind, Target};
pub use named::{PostNeuronTrace, RewardStdp, Stdp, float_to_literal};
pub use profile::{
    LearningProfile, MAX_IMPULSE, MAX_T_EPOCH, PostTraceSource, RuleSpec, SUPPLIED_TAU, Trace,
    TraceParams, TraceSpec,
};
pub use rng::Pcg64;
pub use rule::{Constant, Dependency, Factor, Product, Rule, Variable};
pub use traces::{Epoch, Traces};
