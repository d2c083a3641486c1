//! Learning synapse groups: the compiled rule of each, where its pre and
//! post neurons sit on the core, and its per-synapse tags.

use neurite_learning::{
    LearningError, LearningProfile, PostNeuronTrace, PostTraceSource, RuleSpec, Trace, TraceSpec,
};
use serde::{Deserialize, Serialize};

use crate::{AxonId, GroupId, NeuronId};

/// A trace's parameters, as the bits of their doubles so that a Program
/// compares and hashes exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TraceBits {
    /// Impulse added at each spike.
    pub impulse: u64,
    /// Time constant in steps (0: no memory; infinite: no decay).
    pub tau: u64,
    /// The decay factor `exp(−1/τ)` the engine multiplies by (0 for τ = 0).
    pub decay: u64,
}

impl TraceBits {
    /// The parameters as numbers: impulse, τ and decay factor.
    pub fn values(self) -> (f64, f64, f64) {
        (
            f64::from_bits(self.impulse),
            f64::from_bits(self.tau),
            f64::from_bits(self.decay),
        )
    }
}

/// A learning rule as the Program carries it: the rules as sums of
/// products in canonical form (one product per term, each with its scale,
/// dependency and factors), the trace parameters, the epoch and the seed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LearningRule {
    /// `dw`, `dd` and `dt`, in canonical form (see `neurite_learning::Rule`).
    pub rules: [Option<String>; 3],
    /// x1, x2, y1, y2, y3.
    pub traces: [TraceBits; 5],
    /// Whether y1, y2, y3 are supplied each step (by a neuromodulator or the
    /// post neuron) rather than kept from post spikes.
    pub supplied: [bool; 3],
    /// Learning epoch in steps.
    pub t_epoch: u32,
    /// Seed of the stochastic rounding of traces.
    pub rng_seed: u64,
    /// For three-factor rules, the trace each post neuron keeps and supplies
    /// as y1: the bits of its impulse and of its decay factor (see
    /// `neurite_learning::PostNeuronTrace`). `None` leaves y1 at 0.
    pub post_trace: Option<[u64; 2]>,
}

impl LearningRule {
    /// The rule of a compiled profile.
    pub fn of(profile: &LearningProfile) -> LearningRule {
        let rules = neurite_learning::Target::ALL.map(|t| profile.rule(t).map(|r| r.to_string()));
        let traces = Trace::ALL.map(|t| {
            let p = profile.trace(t);
            let impulse = p.impulse_int as f64 + f64::from(p.impulse_frac) / 256.0;
            TraceBits {
                impulse: impulse.to_bits(),
                tau: p.tau.to_bits(),
                decay: p.decay.unwrap_or(0.0).to_bits(),
            }
        });
        LearningRule {
            rules,
            traces,
            supplied: profile
                .post_sources()
                .map(|s| s == PostTraceSource::Supplied),
            t_epoch: profile.t_epoch(),
            rng_seed: profile.rng_seed(),
            post_trace: None,
        }
    }

    /// The post neuron's own trace, if the rule has one.
    pub fn post_neuron_trace(&self) -> Result<Option<PostNeuronTrace>, LearningError> {
        let Some([impulse, factor]) = self.post_trace else {
            return Ok(None);
        };
        let (impulse, factor) = (f64::from_bits(impulse), f64::from_bits(factor));
        if !(0.0..=1.0).contains(&factor) {
            return Err(LearningError::Parameter {
                name: "post_trace_decay_tau",
                value: factor.to_string(),
                reason: "a decay factor lies in [0, 1]",
            });
        }
        // Any positive tau; the factor is then replaced by the one carried.
        Ok(Some(
            PostNeuronTrace::new(impulse, 1.0)?.with_decay_factor(factor),
        ))
    }

    /// Compiles the rule, with every check of the learning engine.
    pub fn profile(&self) -> Result<LearningProfile, LearningError> {
        let [dw, dd, dt] = self.rules.clone();
        let trace = |k: usize| {
            let (impulse, tau, _) = self.traces[k].values();
            TraceSpec::new(impulse, tau)
        };
        let spec = RuleSpec {
            dw,
            dd,
            dt,
            x1: trace(0),
            x2: trace(1),
            y1: trace(2),
            y2: trace(3),
            y3: trace(4),
            post_sources: self.supplied.map(|s| {
                if s {
                    PostTraceSource::Supplied
                } else {
                    PostTraceSource::Spikes
                }
            }),
            t_epoch: self.t_epoch,
            rng_seed: self.rng_seed,
        };
        let mut profile = LearningProfile::compile(&spec)?;
        for (k, trace) in Trace::ALL.into_iter().enumerate() {
            let (_, tau, decay) = self.traces[k].values();
            if tau != 0.0 {
                if !(0.0..=1.0).contains(&decay) {
                    return Err(LearningError::Parameter {
                        name: "decay factor",
                        value: decay.to_string(),
                        reason: "a decay factor lies in [0, 1]",
                    });
                }
                profile = profile.with_decay_factor(trace, decay);
            }
        }
        Ok(profile)
    }
}

/// One learning synapse group on a core: the synapse entries of
/// [`group`](Self::group) learn by [`rule`](Self::rule).
///
/// Pre and post neurons are numbered as in the projection (0..`n_pre`,
/// 0..`n_post`), so that every core holding part of a projection keeps the
/// same traces and draws the same random numbers: split across cores, a
/// projection learns exactly as it would on one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LearningGroup {
    /// The projection the group belongs to, for state access.
    pub projection: String,
    /// The synapse group whose entries learn.
    pub group: GroupId,
    /// The rule.
    pub rule: LearningRule,
    /// Neuromodulator (index into [`crate::Program::neuromodulators`]) that
    /// supplies y2, if any.
    pub neuromodulator: Option<u32>,
    /// Pre neurons in the projection.
    pub n_pre: u32,
    /// Post neurons in the projection.
    pub n_post: u32,
    /// Each input axon of the group and its pre neuron.
    pub pre: Vec<(AxonId, u32)>,
    /// Each neuron of the core the group reaches and its post neuron.
    pub post: Vec<(NeuronId, u32)>,
    /// Tags t (Lava's `tag_1`), one per entry of the group in synapse memory
    /// order.
    pub tags: Vec<i16>,
    /// Delay variables d (Lava's `tag_2`; learned, delaying nothing), one
    /// per entry of the group in synapse memory order.
    pub delays: Vec<i16>,
}

/// A host-streamed third factor (reward, dopamine): its value each step is
/// written by the host or summed from a population's spikes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Neuromodulator {
    /// Name, as the host addresses it.
    pub name: String,
    /// Spiking neurons whose spikes set the value, each with its weight:
    /// the value of a step is the weighted sum of the previous step's
    /// spikes (plus what the host writes).
    pub sources: Vec<(crate::NeuronAddress, i16)>,
}
