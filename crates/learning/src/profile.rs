//! Rule specifications and the compiled, immutable [`LearningProfile`].

use crate::error::{LearningError, Target};
use crate::rule::{Dependency, Rule, Variable, parse_products};

/// Longest learning epoch: Loihi's within-epoch spike times hold 6 bits.
pub const MAX_T_EPOCH: u32 = 63;

/// Largest impulse accepted: any impulse of 128 or more already fills a
/// 7-bit trace, so this only keeps the arithmetic far from overflow.
pub const MAX_IMPULSE: f64 = 2_147_483_648.0;

/// Impulse and time constant of one trace, as Lava's learning rules take them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceSpec {
    /// Added at each spike, ≥ 0; the fractional part is added by stochastic
    /// rounding.
    pub impulse: f64,
    /// Decay time constant in steps, ≥ 0: 0 keeps no memory (the trace is 0
    /// except at its spike), `f64::INFINITY` never decays.
    pub tau: f64,
}

impl TraceSpec {
    /// No impulse, no memory: Lava's default.
    pub const NONE: TraceSpec = TraceSpec {
        impulse: 0.0,
        tau: 0.0,
    };

    /// A trace with the given impulse and time constant.
    pub fn new(impulse: f64, tau: f64) -> TraceSpec {
        TraceSpec { impulse, tau }
    }
}

impl Default for TraceSpec {
    fn default() -> TraceSpec {
        TraceSpec::NONE
    }
}

/// Where a post-synaptic trace (y1, y2, y3) gets its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PostTraceSource {
    /// The engine keeps it from the post neuron's spikes, with its impulse
    /// and decay (Lava's two-factor rules).
    #[default]
    Spikes,
    /// It is supplied each step from outside: by a neuromodulator or by the
    /// post neuron itself (Lava's three-factor rules, where the post neuron
    /// sends y1, y2 and y3 every step). The engine never replaces it; within
    /// an epoch's history it still decays with its time constant.
    Supplied,
}

/// What a learning synapse group does, in the terms of Lava's
/// `Loihi2FLearningRule` / `Loihi3FLearningRule`: rule strings, trace
/// parameters, epoch and seed.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    /// Weight rule, e.g. `"2^-2*x1*y0 - 2^-2*y1*x0"`.
    pub dw: Option<String>,
    /// Delay-variable rule.
    pub dd: Option<String>,
    /// Tag rule.
    pub dt: Option<String>,
    /// First pre-synaptic trace.
    pub x1: TraceSpec,
    /// Second pre-synaptic trace.
    pub x2: TraceSpec,
    /// First post-synaptic trace.
    pub y1: TraceSpec,
    /// Second post-synaptic trace.
    pub y2: TraceSpec,
    /// Third post-synaptic trace.
    pub y3: TraceSpec,
    /// Source of y1, y2 and y3.
    pub post_sources: [PostTraceSource; 3],
    /// Learning epoch in steps, 1..=63.
    pub t_epoch: u32,
    /// Seed of the stochastic rounding of traces (Lava's `rng_seed`; Lava
    /// draws a random one when none is given, Neurite defaults to 0 so that
    /// runs repeat).
    pub rng_seed: u64,
}

/// Lava's y time constant in three-factor rules (`np.iinfo(np.uint16).max`).
pub const SUPPLIED_TAU: f64 = 65535.0;

impl Default for RuleSpec {
    fn default() -> RuleSpec {
        RuleSpec {
            dw: None,
            dd: None,
            dt: None,
            x1: TraceSpec::NONE,
            x2: TraceSpec::NONE,
            y1: TraceSpec::NONE,
            y2: TraceSpec::NONE,
            y3: TraceSpec::NONE,
            post_sources: [PostTraceSource::Spikes; 3],
            t_epoch: 1,
            rng_seed: 0,
        }
    }
}

impl RuleSpec {
    /// A two-factor rule (`Loihi2FLearningRule`) updating the weight only.
    pub fn two_factor(dw: &str) -> RuleSpec {
        RuleSpec {
            dw: Some(dw.to_string()),
            ..RuleSpec::default()
        }
    }

    /// A three-factor rule as `Loihi3FLearningRule` makes it: y1, y2 and y3
    /// are supplied each step, with no impulse and a time constant of 65535.
    pub fn three_factor() -> RuleSpec {
        let supplied = TraceSpec {
            impulse: 0.0,
            tau: SUPPLIED_TAU,
        };
        RuleSpec {
            y1: supplied,
            y2: supplied,
            y3: supplied,
            post_sources: [PostTraceSource::Supplied; 3],
            ..RuleSpec::default()
        }
    }
}

/// One of the five traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trace {
    /// First pre-synaptic trace.
    X1,
    /// Second pre-synaptic trace.
    X2,
    /// First post-synaptic trace.
    Y1,
    /// Second post-synaptic trace.
    Y2,
    /// Third post-synaptic trace.
    Y3,
}

impl Trace {
    /// The five traces, pre first.
    pub const ALL: [Trace; 5] = [Trace::X1, Trace::X2, Trace::Y1, Trace::Y2, Trace::Y3];

    pub(crate) fn index(self) -> usize {
        match self {
            Trace::X1 => 0,
            Trace::X2 => 1,
            Trace::Y1 => 2,
            Trace::Y2 => 3,
            Trace::Y3 => 4,
        }
    }
}

/// A trace's parameters as the engine uses them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceParams {
    /// Integer part of the impulse.
    pub impulse_int: i64,
    /// Fractional part in 1/256: `round_half_even(frac·256)`, 0..=256. The
    /// random number it is compared with only reaches 127, so any fraction
    /// of one half or more always rounds up.
    pub impulse_frac: u32,
    /// The time constant as given.
    pub tau: f64,
    /// `exp(−1/τ)`, or `None` for τ = 0 (no memory).
    pub decay: Option<f64>,
}

impl TraceParams {
    fn new(name: &'static str, spec: TraceSpec) -> Result<TraceParams, LearningError> {
        let impulse = spec.impulse;
        if !(0.0..MAX_IMPULSE).contains(&impulse) {
            return Err(LearningError::Parameter {
                name,
                value: impulse.to_string(),
                reason: "an impulse must be a number in [0, 2^31)",
            });
        }
        let tau = spec.tau;
        if tau.is_nan() || tau < 0.0 {
            return Err(LearningError::Parameter {
                name,
                value: tau.to_string(),
                reason: "a time constant must be 0 (no memory), positive, or infinite (no decay)",
            });
        }
        let floor = impulse.floor();
        Ok(TraceParams {
            impulse_int: floor as i64,
            impulse_frac: ((impulse - floor) * 256.0).round_ties_even() as u32,
            tau,
            decay: (tau != 0.0).then(|| (-1.0 / tau).exp()),
        })
    }
}

/// A compiled learning rule with its parameters: what one learning synapse
/// group needs, immutable and cheap to share.
#[derive(Debug, Clone, PartialEq)]
pub struct LearningProfile {
    pub(crate) rules: [Option<Rule>; 3],
    pub(crate) traces: [TraceParams; 5],
    pub(crate) post_sources: [PostTraceSource; 3],
    pub(crate) t_epoch: u32,
    pub(crate) decimation: Option<u8>,
    pub(crate) rng_seed: u64,
    /// Traces some product reads, per dependency (x0, y0, u), by
    /// [`Trace::index`].
    pub(crate) reads: [[bool; 5]; 3],
}

impl LearningProfile {
    /// Parses the rules and checks every parameter.
    pub fn compile(spec: &RuleSpec) -> Result<LearningProfile, LearningError> {
        let texts = [&spec.dw, &spec.dd, &spec.dt];
        if texts.iter().all(|t| t.is_none()) {
            return Err(LearningError::NoRule);
        }
        let mut decimation = None;
        let mut rules: [Option<Rule>; 3] = [None, None, None];
        for (target, text) in Target::ALL.into_iter().zip(texts) {
            if let Some(text) = text {
                let products = parse_products(target, text, &mut decimation)?;
                rules[target.index()] = Some(Rule {
                    target,
                    products,
                    decimation: None,
                });
            }
        }
        let decimation = decimation.map(|(k, _)| k);
        for rule in rules.iter_mut().flatten() {
            if rule.products.iter().any(|p| p.dependency == Dependency::U) {
                rule.decimation = decimation;
            }
        }
        if spec.t_epoch == 0 || spec.t_epoch > MAX_T_EPOCH {
            return Err(LearningError::Parameter {
                name: "t_epoch",
                value: spec.t_epoch.to_string(),
                reason: "the learning epoch is 1..=63 steps (Loihi's spike times within an epoch hold 6 bits)",
            });
        }
        let specs = [spec.x1, spec.x2, spec.y1, spec.y2, spec.y3];
        let mut traces = [TraceParams::new("x1", TraceSpec::NONE)?; 5];
        for (trace, spec) in Trace::ALL.into_iter().zip(specs) {
            let name = match trace {
                Trace::X1 => "x1 impulse or tau",
                Trace::X2 => "x2 impulse or tau",
                Trace::Y1 => "y1 impulse or tau",
                Trace::Y2 => "y2 impulse or tau",
                Trace::Y3 => "y3 impulse or tau",
            };
            traces[trace.index()] = TraceParams::new(name, spec)?;
        }
        let mut reads = [[false; 5]; 3];
        for rule in rules.iter().flatten() {
            for product in &rule.products {
                let dependency = match product.dependency {
                    Dependency::X0 => 0,
                    Dependency::Y0 => 1,
                    Dependency::U => 2,
                };
                for factor in &product.factors {
                    let trace = match factor.var {
                        Variable::X1 => Trace::X1,
                        Variable::X2 => Trace::X2,
                        Variable::Y1 => Trace::Y1,
                        Variable::Y2 => Trace::Y2,
                        Variable::Y3 => Trace::Y3,
                        _ => continue,
                    };
                    reads[dependency][trace.index()] = true;
                }
            }
        }
        Ok(LearningProfile {
            rules,
            traces,
            post_sources: spec.post_sources,
            t_epoch: spec.t_epoch,
            decimation,
            rng_seed: spec.rng_seed,
            reads,
        })
    }

    /// The rule of a target, if given.
    pub fn rule(&self, target: Target) -> Option<&Rule> {
        self.rules[target.index()].as_ref()
    }

    /// The parameters of a trace.
    pub fn trace(&self, trace: Trace) -> &TraceParams {
        &self.traces[trace.index()]
    }

    /// Where y1, y2 and y3 come from.
    pub fn post_sources(&self) -> [PostTraceSource; 3] {
        self.post_sources
    }

    /// The learning epoch in steps.
    pub fn t_epoch(&self) -> u32 {
        self.t_epoch
    }

    /// k of the uk terms, if any.
    pub fn decimation(&self) -> Option<u8> {
        self.decimation
    }

    /// The seed of the trace streams.
    pub fn rng_seed(&self) -> u64 {
        self.rng_seed
    }

    /// Replaces a trace's decay factor `exp(−1/τ)` by the given bits.
    ///
    /// The engine computes the factor with the platform's `exp`, and NumPy
    /// may use another implementation (its AVX-512 `exp` differs from glibc
    /// by one ulp for most τ), so Lava's own output depends on the machine it
    /// ran on. A one-ulp difference changes a decayed trace only when the
    /// product lands within ~1e−14 of a rounding boundary; to reproduce a
    /// recorded run bit for bit anyway, pass the factor it used. Does
    /// nothing for a trace with τ = 0.
    pub fn with_decay_factor(mut self, trace: Trace, factor: f64) -> LearningProfile {
        let params = &mut self.traces[trace.index()];
        if params.decay.is_some() {
            params.decay = Some(factor);
        }
        self
    }
}
