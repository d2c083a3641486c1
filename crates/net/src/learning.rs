//! The `learning` of a projection and the description's neuromodulators.

use neurite_learning::{
    LearningError, LearningProfile, PostNeuronTrace, RewardStdp, RuleSpec, Stdp, TraceSpec,
};
use serde::Deserialize;

use crate::raw::PerNeuron;

/// `[projections.learning]` as written: a rule in Lava's language (`dw`,
/// `dd`, `dt` and trace parameters) or a named rule with its parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLearning {
    pub(crate) rule: Option<String>,
    pub(crate) dw: Option<String>,
    pub(crate) dd: Option<String>,
    pub(crate) dt: Option<String>,
    pub(crate) t_epoch: Option<i64>,
    pub(crate) rng_seed: Option<u64>,
    pub(crate) three_factor: Option<bool>,
    pub(crate) neuromodulator: Option<String>,
    pub(crate) x1_impulse: Option<f64>,
    pub(crate) x1_tau: Option<f64>,
    pub(crate) x2_impulse: Option<f64>,
    pub(crate) x2_tau: Option<f64>,
    pub(crate) y1_impulse: Option<f64>,
    pub(crate) y1_tau: Option<f64>,
    pub(crate) y2_impulse: Option<f64>,
    pub(crate) y2_tau: Option<f64>,
    pub(crate) y3_impulse: Option<f64>,
    pub(crate) y3_tau: Option<f64>,
    pub(crate) learning_rate: Option<f64>,
    #[serde(rename = "A_plus")]
    pub(crate) a_plus: Option<f64>,
    #[serde(rename = "A_minus")]
    pub(crate) a_minus: Option<f64>,
    pub(crate) tau_plus: Option<f64>,
    pub(crate) tau_minus: Option<f64>,
    pub(crate) pre_trace_decay_tau: Option<f64>,
    pub(crate) post_trace_decay_tau: Option<f64>,
    pub(crate) pre_trace_kernel_magnitude: Option<f64>,
    pub(crate) post_trace_kernel_magnitude: Option<f64>,
    pub(crate) eligibility_trace_decay_tau: Option<f64>,
}

/// `[[neuromodulators]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNeuromodulator {
    pub(crate) name: String,
    pub(crate) population: Option<String>,
    pub(crate) weight: Option<PerNeuron>,
}

/// Which rule a projection learns by.
#[derive(Debug, Clone, PartialEq)]
pub enum LearningRuleKind {
    /// Rule strings in Lava's language.
    Custom,
    /// Lava's `STDPLoihi`.
    Stdp(Stdp),
    /// Lava's `RewardModulatedSTDP`.
    RewardStdp(RewardStdp),
}

/// The learning of a projection.
#[derive(Debug, Clone, PartialEq)]
pub struct Learning {
    /// The rule as named or written.
    pub kind: LearningRuleKind,
    /// The rule strings and parameters it stands for.
    pub spec: RuleSpec,
    /// The compiled rule (checked).
    pub profile: LearningProfile,
    /// For three-factor rules, the trace each post neuron keeps and supplies
    /// as y1 (`post_trace_kernel_magnitude`, `post_trace_decay_tau`); `None`
    /// leaves y1 at 0.
    pub post_trace: Option<PostNeuronTrace>,
    /// The neuromodulator supplying y2 of the post neurons, by index into
    /// [`Network::neuromodulators`](crate::Network::neuromodulators).
    pub neuromodulator: Option<usize>,
}

/// A third factor of learning (a reward, dopamine): its value each step is
/// what the host streams, plus the weighted spikes of a population in the
/// previous step. It supplies y2 of the post neurons of every projection
/// that names it.
#[derive(Debug, Clone, PartialEq)]
pub struct Neuromodulator {
    /// Unique name; the host streams values under it.
    pub name: String,
    /// The population whose spikes add to the value, if any.
    pub population: Option<usize>,
    /// The value each neuron's spike adds (one per neuron of the population).
    pub weights: Vec<i16>,
}

/// Why a learning section is refused: a reason, or the engine's own error.
pub(crate) enum Refusal {
    Reason(String),
    Engine(LearningError),
}

impl From<LearningError> for Refusal {
    fn from(e: LearningError) -> Self {
        Refusal::Engine(e)
    }
}

/// Reads a learning section; `modulator` looks a neuromodulator up by name.
pub(crate) fn learning(
    raw: RawLearning,
    modulator: impl Fn(&str) -> Option<usize>,
) -> Result<Learning, Refusal> {
    let t_epoch = match raw.t_epoch {
        None => 1,
        Some(t) if (1..=i64::from(neurite_learning::MAX_T_EPOCH)).contains(&t) => t as u32,
        Some(t) => {
            return Err(Refusal::Reason(format!(
                "t_epoch {t} out of range 1..={}",
                neurite_learning::MAX_T_EPOCH
            )));
        }
    };
    let rng_seed = raw.rng_seed.unwrap_or(0);
    let neuromodulator = match &raw.neuromodulator {
        None => None,
        Some(name) => Some(
            modulator(name)
                .ok_or_else(|| Refusal::Reason(format!("unknown neuromodulator '{name}'")))?,
        ),
    };
    let given = |names: &[(&'static str, bool)]| -> Vec<&'static str> {
        names.iter().filter(|(_, g)| *g).map(|(n, _)| *n).collect()
    };
    let stdp_params = [
        ("learning_rate", raw.learning_rate.is_some()),
        ("A_plus", raw.a_plus.is_some()),
        ("A_minus", raw.a_minus.is_some()),
    ];
    let stdp_only = [
        ("tau_plus", raw.tau_plus.is_some()),
        ("tau_minus", raw.tau_minus.is_some()),
    ];
    let reward_only = [
        ("pre_trace_decay_tau", raw.pre_trace_decay_tau.is_some()),
        (
            "pre_trace_kernel_magnitude",
            raw.pre_trace_kernel_magnitude.is_some(),
        ),
        (
            "eligibility_trace_decay_tau",
            raw.eligibility_trace_decay_tau.is_some(),
        ),
    ];
    let post_trace_params = [
        ("post_trace_decay_tau", raw.post_trace_decay_tau.is_some()),
        (
            "post_trace_kernel_magnitude",
            raw.post_trace_kernel_magnitude.is_some(),
        ),
    ];
    let y_params = [
        ("y1_impulse", raw.y1_impulse.is_some()),
        ("y1_tau", raw.y1_tau.is_some()),
        ("y2_impulse", raw.y2_impulse.is_some()),
        ("y2_tau", raw.y2_tau.is_some()),
        ("y3_impulse", raw.y3_impulse.is_some()),
        ("y3_tau", raw.y3_tau.is_some()),
    ];
    let refuse = |names: Vec<&str>, why: &str| -> Result<(), Refusal> {
        if names.is_empty() {
            Ok(())
        } else {
            Err(Refusal::Reason(format!("{} {why}", names.join(", "))))
        }
    };
    let trace = |impulse: Option<f64>, tau: Option<f64>| {
        TraceSpec::new(impulse.unwrap_or(0.0), tau.unwrap_or(0.0))
    };
    let post_trace = |default: bool| -> Result<Option<PostNeuronTrace>, Refusal> {
        match (raw.post_trace_kernel_magnitude, raw.post_trace_decay_tau) {
            (None, None) if !default => Ok(None),
            (impulse, tau) => Ok(Some(PostNeuronTrace::new(
                impulse.unwrap_or(16.0),
                tau.unwrap_or(10.0),
            )?)),
        }
    };
    let (kind, spec, post) = match raw.rule.as_deref() {
        None => {
            let mut named = given(&stdp_params);
            named.extend(given(&stdp_only));
            named.extend(given(&reward_only));
            refuse(
                named,
                "belong to named rules (rule = \"stdp\" or \"reward_stdp\")",
            )?;
            let three_factor = raw.three_factor.unwrap_or(false);
            let base = if three_factor {
                refuse(
                    given(&y_params),
                    "cannot be given to a three-factor rule: y1, y2 and y3 are supplied each step",
                )?;
                RuleSpec::three_factor()
            } else {
                refuse(
                    given(&post_trace_params),
                    "belong to three-factor rules (three_factor = true)",
                )?;
                RuleSpec {
                    y1: trace(raw.y1_impulse, raw.y1_tau),
                    y2: trace(raw.y2_impulse, raw.y2_tau),
                    y3: trace(raw.y3_impulse, raw.y3_tau),
                    ..RuleSpec::default()
                }
            };
            let spec = RuleSpec {
                dw: raw.dw.clone(),
                dd: raw.dd.clone(),
                dt: raw.dt.clone(),
                x1: trace(raw.x1_impulse, raw.x1_tau),
                x2: trace(raw.x2_impulse, raw.x2_tau),
                t_epoch,
                rng_seed,
                ..base
            };
            (LearningRuleKind::Custom, spec, post_trace(false)?)
        }
        Some("stdp") => {
            let mut other = given(&[
                ("dw", raw.dw.is_some()),
                ("three_factor", raw.three_factor.is_some()),
            ]);
            other.extend(given(&reward_only));
            other.extend(given(&post_trace_params));
            refuse(other, "cannot be given to rule \"stdp\"")?;
            let stdp = Stdp {
                learning_rate: raw.learning_rate.unwrap_or(1.0),
                a_plus: raw.a_plus.unwrap_or(1.0),
                a_minus: raw.a_minus.unwrap_or(-1.0),
                tau_plus: raw.tau_plus.unwrap_or(10.0),
                tau_minus: raw.tau_minus.unwrap_or(10.0),
                x1_impulse: raw.x1_impulse.unwrap_or(16.0),
                y1_impulse: raw.y1_impulse.unwrap_or(16.0),
                x2: trace(raw.x2_impulse, raw.x2_tau),
                y2: trace(raw.y2_impulse, raw.y2_tau),
                y3: trace(raw.y3_impulse, raw.y3_tau),
                dd: raw.dd.clone(),
                dt: raw.dt.clone(),
                t_epoch,
                rng_seed,
            };
            refuse(
                given(&[
                    ("x1_tau", raw.x1_tau.is_some()),
                    ("y1_tau", raw.y1_tau.is_some()),
                ]),
                "are tau_plus and tau_minus in rule \"stdp\"",
            )?;
            let spec = stdp.spec()?;
            (LearningRuleKind::Stdp(stdp), spec, None)
        }
        Some("reward_stdp") => {
            let mut other = given(&[
                ("dw", raw.dw.is_some()),
                ("dt", raw.dt.is_some()),
                ("three_factor", raw.three_factor.is_some()),
                ("x1_impulse", raw.x1_impulse.is_some()),
                ("x1_tau", raw.x1_tau.is_some()),
            ]);
            other.extend(given(&stdp_only));
            other.extend(given(&y_params));
            refuse(other, "cannot be given to rule \"reward_stdp\"")?;
            let rule = RewardStdp {
                learning_rate: raw.learning_rate.unwrap_or(1.0),
                a_plus: raw.a_plus.unwrap_or(1.0),
                a_minus: raw.a_minus.unwrap_or(-1.0),
                pre_trace_decay_tau: raw.pre_trace_decay_tau.unwrap_or(10.0),
                post_trace_decay_tau: raw.post_trace_decay_tau.unwrap_or(10.0),
                pre_trace_kernel_magnitude: raw.pre_trace_kernel_magnitude.unwrap_or(16.0),
                post_trace_kernel_magnitude: raw.post_trace_kernel_magnitude.unwrap_or(16.0),
                eligibility_trace_decay_tau: raw.eligibility_trace_decay_tau.unwrap_or(0.5),
                x2: trace(raw.x2_impulse, raw.x2_tau),
                dd: raw.dd.clone(),
                t_epoch,
                rng_seed,
            };
            let spec = rule.spec()?;
            let post = Some(rule.post_trace()?);
            (LearningRuleKind::RewardStdp(rule), spec, post)
        }
        Some(other) => {
            return Err(Refusal::Reason(format!(
                "unknown learning rule '{other}' (expected stdp or reward_stdp, or give dw, dd or dt)"
            )));
        }
    };
    let profile = LearningProfile::compile(&spec)?;
    let three_factor = spec.post_sources[1] == neurite_learning::PostTraceSource::Supplied;
    if neuromodulator.is_some() && !three_factor {
        return Err(Refusal::Reason(
            "a neuromodulator supplies y2 of a three-factor rule; this rule keeps y2 from post spikes (set three_factor = true, or use rule \"reward_stdp\")"
                .to_string(),
        ));
    }
    Ok(Learning {
        kind,
        spec,
        profile,
        post_trace: post,
        neuromodulator,
    })
}
