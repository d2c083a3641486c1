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

#[cfg(test)]
mod tests {
    use crate::{ErrorKind, Item, LearningRuleKind, from_toml_str};
    use neurite_learning::{LearningError, RuleErrorKind, Target};

    fn network(learning: &str) -> Result<crate::Network, crate::NetError> {
        let text = format!(
            r#"
[[populations]]
name = "pre"
size = 2
model = "input"

[[populations]]
name = "post"
size = 2
model = "lif"
du = 0
dv = 0
vth = 10

[[populations]]
name = "da"
size = 3
model = "lif"
du = 0
dv = 0
vth = 10

[[neuromodulators]]
name = "dopamine"
population = "da"
weight = [10, 20, -5]

[[projections]]
name = "plastic"
from = "pre"
to = "post"
dense = [[0, 10], [-20, 0]]
[projections.learning]
{learning}
"#
        );
        from_toml_str(&text, "t.toml", None)
    }

    fn reason(learning: &str) -> String {
        match network(learning).expect_err("refused").kind {
            ErrorKind::Invalid { item, reason } => {
                assert!(matches!(item, Item::Projection { index: 0, .. }), "{item}");
                reason
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rule_errors_name_projection_target_and_term() {
        let e = network("dw = \"x0*y1 + x0*(-x1)\"").expect_err("refused");
        assert_eq!(
            e.to_string(),
            "t.toml: projection #0 ('pre' -> 'post'): learning: dw rule, byte 11 (`(-x1)`): Lava drops the minus of a lone negated variable in brackets; put the sign in front of the product"
        );
        let ErrorKind::Learning { error, .. } = e.kind else {
            panic!("a learning error")
        };
        assert!(matches!(
            *error,
            LearningError::Rule {
                target: Target::Dw,
                offset: 11,
                reason: RuleErrorKind::NegatedBracketVariable,
                ..
            }
        ));
        let e = network("dw = \"x0*y1\"\ndt = \"x1*y1\"").expect_err("refused");
        assert!(
            e.to_string()
                .contains("dt rule, byte 0 (`x1*y1`): a product needs a dependency"),
            "{e}"
        );
    }

    #[test]
    fn custom_and_named_rules_are_read() {
        let net = network("dw = \"2^-2*x1*y0 - 2^-2*y1*x0\"\nx1_impulse = 16\nx1_tau = 10\nt_epoch = 2\nrng_seed = 7").expect("valid");
        let p = &net.projections[0];
        let l = p.learning.as_ref().expect("learns");
        assert_eq!(l.kind, LearningRuleKind::Custom);
        assert_eq!(l.profile.t_epoch(), 2);
        assert_eq!(l.profile.rng_seed(), 7);
        // The zero entries of a learning dense matrix are synapses too.
        assert_eq!(p.synapses.len(), 4);

        let net =
            network("rule = \"stdp\"\nA_plus = 2\nA_minus = -1\ntau_plus = 5").expect("valid");
        let l = net.projections[0].learning.as_ref().expect("learns");
        assert!(matches!(l.kind, LearningRuleKind::Stdp(_)));
        assert_eq!(
            l.spec.dw.as_deref(),
            Some("(1) * (-1) * x0 * y1 +(1) * (2) * y0 * x1")
        );

        let net = network("rule = \"reward_stdp\"\nneuromodulator = \"dopamine\"").expect("valid");
        let l = net.projections[0].learning.as_ref().expect("learns");
        assert!(matches!(l.kind, LearningRuleKind::RewardStdp(_)));
        assert_eq!(l.neuromodulator, Some(0));
        assert!(l.post_trace.is_some());
        assert_eq!(net.neuromodulators[0].weights, [10, 20, -5]);
    }

    #[test]
    fn misplaced_parameters_are_refused_with_their_names() {
        assert_eq!(
            reason("dw = \"x0\"\nA_plus = 1"),
            "learning: A_plus belong to named rules (rule = \"stdp\" or \"reward_stdp\")"
        );
        assert_eq!(
            reason("rule = \"stdp\"\ndw = \"x0\""),
            "learning: dw cannot be given to rule \"stdp\""
        );
        assert_eq!(
            reason("rule = \"reward_stdp\"\ny1_tau = 3"),
            "learning: y1_tau cannot be given to rule \"reward_stdp\""
        );
        assert_eq!(
            reason("rule = \"hebb\""),
            "learning: unknown learning rule 'hebb' (expected stdp or reward_stdp, or give dw, dd or dt)"
        );
        assert_eq!(
            reason("dw = \"x0\"\nt_epoch = 64"),
            "learning: t_epoch 64 out of range 1..=63"
        );
        assert_eq!(
            reason("dw = \"x0\"\nneuromodulator = \"serotonin\""),
            "learning: unknown neuromodulator 'serotonin'"
        );
        assert!(reason("dw = \"x0\"\nneuromodulator = \"dopamine\"").contains("three-factor"));
        assert!(
            reason("dw = \"u0*t*y2\"\nthree_factor = true\ny2_tau = 4")
                .contains("y2_tau cannot be given to a three-factor rule")
        );
    }

    #[test]
    fn learning_weights_must_fit_the_learned_range() {
        let text = |weights: &str, extra: &str| {
            format!(
                "[[populations]]\nname = \"a\"\nsize = 1\nmodel = \"input\"\n[[populations]]\nname = \"b\"\nsize = 1\nmodel = \"lif\"\ndu = 0\ndv = 0\nvth = 1\n\
                 [[projections]]\nfrom = \"a\"\nto = \"b\"\nsparse = [{weights}]\n{extra}[projections.learning]\ndw = \"x0\"\n"
            )
        };
        let e = from_toml_str(&text("[0, 0, 300]", ""), "t.toml", None).expect_err("refused");
        assert!(
            e.to_string()
                .contains("weight 300 of synapse pre 0 -> post 0 outside -256..=255"),
            "{e}"
        );
        let e = from_toml_str(
            &text("[0, 0, -3]", "sign_mode = \"excitatory\"\n"),
            "t.toml",
            None,
        )
        .expect_err("refused");
        assert!(e.to_string().contains("outside 0..=255"), "{e}");
        let e = from_toml_str(&text("[0, 0, 3, 2]", ""), "t.toml", None).expect_err("refused");
        assert!(
            e.to_string()
                .contains("has delay 2; learning synapses have no delay"),
            "{e}"
        );
    }

    #[test]
    fn learning_projections_need_names_of_their_own() {
        let projection = "[[projections]]\nname = \"p\"\nfrom = \"a\"\nto = \"b\"\nsparse = [[0, 0, 1]]\n[projections.learning]\ndw = \"x0\"\n";
        let text = format!(
            "[[populations]]\nname = \"a\"\nsize = 1\nmodel = \"input\"\n[[populations]]\nname = \"b\"\nsize = 1\nmodel = \"lif\"\ndu = 0\ndv = 0\nvth = 1\n{projection}{projection}"
        );
        let e = from_toml_str(&text, "t.toml", None).expect_err("refused");
        assert!(
            e.to_string().contains("projection #1 ('a' -> 'b'): learns under the name 'p' of another learning projection"),
            "{e}"
        );
    }
}
