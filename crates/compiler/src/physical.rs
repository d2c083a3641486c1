//! Lowering from physical units to hardware units.
//!
//! A `lif` population may be written in physical units (see
//! [`neurite_net::PhysicalLif`]): time constants, a threshold, a bias and
//! float weights on the projections onto it, in Lava's floating-point LIF
//!
//! ```text
//! u ← u·(1 − δu) + Σ w·s          δu = 1 − exp(−dt / τ_syn)
//! v ← v·(1 − δv) + u + bias        δv = 1 − exp(−dt / τ_mem)
//! spike when v > threshold, then v ← 0
//! ```
//!
//! [`lower`] turns such a network into one in hardware units, whose Loihi
//! arithmetic (see the README's "Exact semantics") tracks the float model with
//! u and v multiplied by a per-population scale S (hardware units per
//! physical unit):
//!
//! - **Decays** (nengo-loihi's `discretize.py`, loihi-reference.md §2.4):
//!   `du = clip(round(4095·δu − 1), 0, 4095)`, `dv = clip(round(4095·δv), 0, 4095)`.
//!   The chip keeps `(4096 − (du + 1))/4096` of u and `(4096 − dv)/4096` of v
//!   per step. A population built by an importer may give `τ_syn = 0` (no
//!   synaptic current: u is each step's input alone), which becomes du = 4095,
//!   and `τ_mem = ∞` (no leak), which becomes dv = 0.
//! - **Scale.** S is the largest number meeting every constraint below; the
//!   one that sets it is the *bound* the report names:
//!   - threshold: `S·max threshold ≤ 2^22` ([`THRESHOLD_LIMIT`]), so that
//!     `vth = round(S·threshold / 64) ≤ 2^16` and v can reach twice the
//!     largest threshold within its 24 bits (v saturates at 2^23 − 1);
//!   - bias: `S·max |bias| ≤ 4095·2^7` ([`BIAS_LIMIT`]), the largest bias
//!     `bias_mant << bias_exp` holds;
//!   - weights: for every projection onto the population and each sign its
//!     sign mode keeps, `S·max |w| ≤ 64·2^7·L` ([`WEIGHT_LIMIT`]` · L`),
//!     where L is the largest magnitude of that sign on the projection's
//!     weight grid (255 for 8-bit excitatory weights, 254 and 256 for mixed
//!     ones, see [`grid`]): at weight_exp 7 every weight fits.
//!
//!   Every neuron's threshold must then give `vth ≥ 1`; otherwise lowering
//!   fails with [`PhysicalError::ThresholdUnderflow`].
//! - **Threshold:** `vth = round(S·threshold / 64)`.
//! - **Bias:** `bias_exp` = the smallest e in 0..=7 with
//!   `round(|S·bias| / 2^e) ≤ 4095`, `bias_mant = round(S·bias / 2^bias_exp)`.
//! - **Weights**, per projection onto the population: the sign mode is the
//!   written one, or inferred from the float weights as Lava infers it
//!   (excitatory if none is negative, inhibitory if none is positive, mixed
//!   otherwise). With k the step of the projection's weight grid
//!   (`2^(8 − num_weight_bits + mixed)`), `weight_exp` is the smallest e in
//!   −8..=7 such that the largest weight of each kept sign, rounded to the
//!   grid, fits the sign mode's 8-bit range: the exponent that leaves the
//!   least rounding error without clipping. Each weight becomes
//!   `w8 = k·round(S·w / (64·2^e) / k)` (to the nearest grid value, not
//!   truncated, so that the compiler's Lava truncation leaves it unchanged),
//!   clipped to the sign mode's range (which only weights of the sign an
//!   explicit sign mode drops reach: they become 0). A projection without a
//!   nonzero weight of a kept sign gets weight_exp 0.
//! - **Initial state:** `u = round(S·u_init)` clipped to (−2^23, 2^23],
//!   `v = round(S·v_init)` clipped to ±(2^23 − 1). The refractory period was
//!   converted to steps by the description (`round(refractory_ms / dt_ms)`).
//!
//! All rounding is to the nearest, halves away from zero.
//!
//! The [`QuantizationReport`] gives, per population in physical units, S and
//! the largest and RMS relative error of each derived parameter, and per
//! projection onto one, the chosen exponent and the largest and RMS relative
//! error of its effective weights. These are the errors of the parameters;
//! the arithmetic of each step adds its own rounding (decays truncate toward
//! zero; with a negative weight_exp the chip shifts each step's summed input
//! right, flooring, before adding `a << 6` to u, so a lone spike through a
//! weight w8 adds `floor(w8·2^e)·64`, not `w8·2^e·64`). Beyond
//! `±2^23 / S` physical units, u wraps and v saturates.
//!
//! ```
//! let net = neurite_net::from_toml_str(r#"
//!     dt_ms = 1.0
//!     [[populations]]
//!     name = "in"
//!     size = 1
//!     model = "input"
//!     [[populations]]
//!     name = "out"
//!     size = 1
//!     model = "lif"
//!     tau_syn_ms = 5.0
//!     tau_mem_ms = 20.0
//!     threshold = 1.0
//!     [[projections]]
//!     from = "in"
//!     to = "out"
//!     dense = [[0.25]]
//! "#, "net.toml", None).unwrap();
//! let lowered = neurite_compiler::physical::lower(&net).unwrap();
//! let neurite_net::Model::Lif(lif) = &lowered.network.populations[1].model else { panic!() };
//! assert_eq!((lif.du[0], lif.dv[0], lif.vth[0]), (741, 200, 65536));
//! // S = 2^22: 0.25·2^22 / (64·2^6) = 256 > 255, so weight_exp 7 and w8 = 128.
//! assert_eq!(lowered.network.projections[0].weight_exp, 7);
//! assert_eq!(lowered.network.projections[0].synapses[0].weight, 128);
//! println!("{}", lowered.report);
//! ```

use std::borrow::Cow;
use std::fmt;

use neurite_net::{FloatWeights, Lif, Model, Network, PhysicalLif, Projection, SignMode};

use crate::quantize::{clip_range, sign_mode_name};

/// Largest `S·threshold`: 2^22, so that `vth = round(S·threshold / 64)` is at
/// most 2^16 and v can reach twice the threshold without saturating.
pub const THRESHOLD_LIMIT: f64 = 4_194_304.0;
/// Largest `S·|bias|`: 4095·2^7, the largest `bias_mant << bias_exp`.
pub const BIAS_LIMIT: f64 = 4095.0 * 128.0;
/// `S·|w|` per unit of weight-grid magnitude at the largest weight_exp:
/// 64·2^7 (u receives `w8·2^weight_exp << 6`).
pub const WEIGHT_LIMIT: f64 = 64.0 * 128.0;

/// A network in hardware units and the account of how it was quantized.
#[derive(Debug, Clone)]
pub struct Lowered<'a> {
    /// The network with every population `input` or a hardware-unit `lif`:
    /// the input network itself (borrowed) when nothing was in physical units.
    pub network: Cow<'a, Network>,
    /// What lowering did; empty when nothing was in physical units.
    pub report: QuantizationReport,
}

/// Why a network in physical units cannot be lowered to hardware units.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PhysicalError {
    /// At the largest usable scale, a threshold is below half a `vth` unit.
    #[error(
        "population '{population}': threshold {threshold} of neuron {neuron} rounds to vth 0 at scale S = {scale:e}, {bound}; the thresholds are too small next to the largest threshold, bias or weight to be represented"
    )]
    ThresholdUnderflow {
        /// Population name.
        population: String,
        /// Index of the neuron in the population.
        neuron: u32,
        /// Its threshold, in physical units.
        threshold: f64,
        /// The scale.
        scale: f64,
        /// What sets the scale.
        bound: ScaleBound,
    },
    /// The constraints allow an infinite scale: the thresholds are too small
    /// for floating point.
    #[error(
        "population '{population}': the largest threshold {threshold:e} is too small: the scale 2^22 / threshold is not a finite number"
    )]
    ScaleOverflow {
        /// Population name.
        population: String,
        /// Its largest threshold.
        threshold: f64,
    },
    /// The network breaks an invariant that a validated description keeps
    /// (a hand-made `Network`).
    #[error("{item}: {reason}")]
    Malformed {
        /// The population or projection.
        item: String,
        /// What is wrong.
        reason: String,
    },
}

// Equality is total: the floats of an error are finite thresholds and scales,
// never NaN. (So that `CompileError`, which is `Eq`, can hold a
// `PhysicalError`.)
impl Eq for PhysicalError {}

/// What lowering did, for the user.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuantizationReport {
    /// Populations in physical units, in description order.
    pub populations: Vec<PopulationQuantization>,
    /// Projections onto them, in description order.
    pub projections: Vec<ProjectionQuantization>,
}

impl QuantizationReport {
    /// Whether nothing was in physical units.
    pub fn is_empty(&self) -> bool {
        self.populations.is_empty() && self.projections.is_empty()
    }
}

/// The largest and root-mean-square relative error over some values,
/// `(hardware − ideal) / ideal`. Values whose ideal is 0 are left out.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ErrorStats {
    /// Values measured.
    pub count: u64,
    /// Largest |relative error| (0 when `count` is 0).
    pub max: f64,
    /// Root mean square of the relative errors (0 when `count` is 0).
    pub rms: f64,
}

/// Accumulates [`ErrorStats`]. The sum of squares is kept relative to the
/// largest error so far, so that huge errors do not overflow it.
#[derive(Debug, Default)]
struct Errors {
    count: u64,
    max: f64,
    /// Σ (error / max)².
    scaled_squares: f64,
}

impl Errors {
    /// Adds `n` values of relative error `rel`.
    fn add(&mut self, rel: f64, n: u64) {
        let a = rel.abs();
        self.count += n;
        if a == 0.0 || n == 0 {
            return;
        }
        if a > self.max {
            let ratio = self.max / a;
            self.scaled_squares *= ratio * ratio;
            self.max = a;
        }
        let ratio = if a.is_infinite() { 1.0 } else { a / self.max };
        self.scaled_squares += ratio * ratio * n as f64;
    }

    /// Adds the relative error of `hardware` against `ideal`, unless the
    /// ideal is 0 (a relative error is then undefined).
    fn compare(&mut self, hardware: f64, ideal: f64) {
        if ideal != 0.0 {
            self.add((hardware - ideal) / ideal, 1);
        }
    }

    fn stats(&self) -> ErrorStats {
        if self.count == 0 {
            return ErrorStats::default();
        }
        ErrorStats {
            count: self.count,
            max: self.max,
            rms: (self.max * (self.scaled_squares / self.count as f64).sqrt()).min(self.max),
        }
    }
}

/// How one population in physical units was lowered.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationQuantization {
    /// Index of the population in the network.
    pub population: usize,
    /// Its name.
    pub name: String,
    /// Number of neurons.
    pub neurons: u32,
    /// The scale S: hardware units of u and v per physical unit.
    pub scale: f64,
    /// The constraint that sets S.
    pub bound: ScaleBound,
    /// The kept fraction of u per step, hardware `(4096 − (du + 1))/4096`
    /// against `exp(−dt/τ_syn)`.
    pub decay_u: ErrorStats,
    /// The kept fraction of v per step, hardware `(4096 − dv)/4096` against
    /// `exp(−dt/τ_mem)`.
    pub decay_v: ErrorStats,
    /// `vth·64 / S` against the threshold.
    pub threshold: ErrorStats,
    /// `(bias_mant << bias_exp) / S` against the bias (zero biases left out:
    /// they are exact).
    pub bias: ErrorStats,
}

/// The constraint that sets a population's scale S (see the module
/// documentation).
#[derive(Debug, Clone, PartialEq)]
pub enum ScaleBound {
    /// `S·max threshold = 2^22`.
    Threshold,
    /// `S·max |bias| = 4095·2^7`.
    Bias,
    /// A projection's largest weight reaches the top of its grid at
    /// weight_exp 7.
    Weights {
        /// Index of the projection in the network.
        projection: usize,
        /// The projection, as messages show it: `#2 'in->out'`.
        name: String,
    },
}

impl fmt::Display for ScaleBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScaleBound::Threshold => {
                write!(f, "set by the largest threshold (S·threshold = 2^22)")
            }
            ScaleBound::Bias => write!(f, "set by the largest bias (S·|bias| = 4095·2^7)"),
            ScaleBound::Weights { name, .. } => write!(
                f,
                "set by the largest weight of projection {name} (it fills the weight range at weight_exp 7)"
            ),
        }
    }
}

/// How one projection onto a population in physical units was lowered.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectionQuantization {
    /// Index of the projection in the network.
    pub projection: usize,
    /// The projection, as messages show it: `#2 'in->out'`.
    pub name: String,
    /// The chosen weight exponent.
    pub weight_exp: i8,
    /// The sign mode (written, or inferred from the float weights).
    pub sign_mode: SignMode,
    /// Synapses of the projection.
    pub synapses: u64,
    /// Effective weights `w8·64·2^weight_exp / S` against the written
    /// nonzero weights. Written zeros are left out: they stay exactly 0.
    pub weights: ErrorStats,
    /// Synapses whose written weight is 0 (exact, left out of `weights`).
    pub zero_weights: u64,
    /// Synapses with a nonzero written weight that became 0 (a relative
    /// error of 1; the compiler drops them).
    pub zeroed: u64,
}

/// The weight grid of a projection: its step `k = 2^(8 − num_weight_bits +
/// mixed)` and the largest positive and negative magnitudes on the grid that
/// the sign mode's 8-bit range holds.
///
/// ```
/// use neurite_net::SignMode;
/// use neurite_compiler::physical::grid;
/// assert_eq!(grid(SignMode::Excitatory, 8), (1.0, 255.0, 0.0));
/// assert_eq!(grid(SignMode::Mixed, 8), (2.0, 254.0, 256.0));
/// assert_eq!(grid(SignMode::Inhibitory, 3), (32.0, 0.0, 224.0));
/// assert_eq!(grid(SignMode::Mixed, 1), (256.0, 0.0, 256.0));
/// ```
pub fn grid(mode: SignMode, num_weight_bits: u8) -> (f64, f64, f64) {
    let mixed = i32::from(mode == SignMode::Mixed);
    let shift = (8 - i32::from(num_weight_bits.clamp(1, 8)) + mixed).clamp(0, 8);
    let k = f64::from(1u32 << shift);
    let (lo, hi) = clip_range(mode);
    let positive = (f64::from(hi) / k).floor() * k;
    let negative = (f64::from(-lo) / k).floor() * k;
    (k, positive, negative)
}

/// Lowers `network` to hardware units. A network without populations in
/// physical units is returned as it is (borrowed, nothing copied) with an
/// empty report; otherwise the network is copied with every population in
/// physical units replaced by its hardware-unit `lif` and every projection
/// onto one given integer weights and a weight exponent (see the module
/// documentation for the rules).
pub fn lower(network: &Network) -> Result<Lowered<'_>, PhysicalError> {
    if !network.has_physical_units() {
        return Ok(Lowered {
            network: Cow::Borrowed(network),
            report: QuantizationReport::default(),
        });
    }
    let plan = plan(network)?;
    let mut lowered = network.clone();
    let report = plan.apply(&mut lowered);
    Ok(Lowered {
        network: Cow::Owned(lowered),
        report,
    })
}

/// [`lower`] for an owned network: lowers it in place, without copying its
/// synapses. On error the network is dropped unchanged.
pub fn lower_owned(mut network: Network) -> Result<(Network, QuantizationReport), PhysicalError> {
    if !network.has_physical_units() {
        return Ok((network, QuantizationReport::default()));
    }
    let plan = plan(&network)?;
    let report = plan.apply(&mut network);
    Ok((network, report))
}

/// The hardware values of every item in physical units, computed before the
/// network is touched.
struct Plan {
    populations: Vec<(usize, Lif)>,
    projections: Vec<(usize, LoweredProjection)>,
    report: QuantizationReport,
}

struct LoweredProjection {
    weight_exp: i8,
    sign_mode: Option<SignMode>,
    weights: LoweredWeights,
}

enum LoweredWeights {
    Uniform(i32),
    PerSynapse(Vec<i32>),
}

impl Plan {
    fn apply(self, network: &mut Network) -> QuantizationReport {
        for (index, lif) in self.populations {
            let population = &mut network.populations[index];
            population.model = Model::Lif(lif);
            population.physical = None;
        }
        for (index, lowered) in self.projections {
            let projection = &mut network.projections[index];
            projection.weight_exp = lowered.weight_exp;
            projection.sign_mode = lowered.sign_mode;
            projection.float_weights = None;
            match lowered.weights {
                LoweredWeights::Uniform(w) => {
                    for synapse in &mut projection.synapses {
                        synapse.weight = w;
                    }
                }
                LoweredWeights::PerSynapse(ws) => {
                    for (synapse, w) in projection.synapses.iter_mut().zip(ws) {
                        synapse.weight = w;
                    }
                }
            }
        }
        self.report
    }
}

fn projection_label(index: usize, projection: &Projection) -> String {
    format!("#{index} '{}'", projection.name)
}

/// A projection's float weights: the written ones, or (for a hand-made
/// network without them) its integers.
fn weight_of(projection: &Projection, i: usize) -> f64 {
    match &projection.float_weights {
        Some(weights) => weights.get(i),
        None => f64::from(projection.synapses[i].weight),
    }
}

/// What the scale and exponent rules need of a projection onto a population
/// in physical units.
struct WeightSummary {
    index: usize,
    mode: SignMode,
    inferred: bool,
    /// Grid step and the largest positive and negative grid magnitudes.
    k: f64,
    positive_limit: f64,
    negative_limit: f64,
    /// The largest positive weight and the largest |negative weight|, when
    /// there are some and the sign mode keeps them.
    max_positive: Option<f64>,
    max_negative: Option<f64>,
}

fn summarize(index: usize, projection: &Projection) -> Result<WeightSummary, PhysicalError> {
    if let Some(FloatWeights::PerSynapse(ws)) = &projection.float_weights
        && ws.len() != projection.synapses.len()
    {
        return Err(PhysicalError::Malformed {
            item: format!("projection {}", projection_label(index, projection)),
            reason: format!(
                "has {} float weights for {} synapses",
                ws.len(),
                projection.synapses.len()
            ),
        });
    }
    let (mut max_positive, mut max_negative) = (0.0f64, 0.0f64);
    for i in 0..projection.synapses.len() {
        let w = weight_of(projection, i);
        if !w.is_finite() {
            return Err(PhysicalError::Malformed {
                item: format!("projection {}", projection_label(index, projection)),
                reason: format!("weight {i} is {w}"),
            });
        }
        if w > 0.0 {
            max_positive = max_positive.max(w);
        } else if w < 0.0 {
            max_negative = max_negative.max(-w);
        }
    }
    let (mode, inferred) = match projection.sign_mode {
        Some(mode) => (mode, false),
        None if max_negative == 0.0 => (SignMode::Excitatory, true),
        None if max_positive == 0.0 => (SignMode::Inhibitory, true),
        None => (SignMode::Mixed, true),
    };
    let (k, positive_limit, negative_limit) = grid(mode, projection.num_weight_bits);
    let kept = |max: f64, limit: f64| (max > 0.0 && limit > 0.0).then_some(max);
    Ok(WeightSummary {
        index,
        mode,
        inferred,
        k,
        positive_limit,
        negative_limit,
        max_positive: kept(max_positive, positive_limit),
        max_negative: kept(max_negative, negative_limit),
    })
}

/// `x` rounded to the nearest multiple of `k`, halves away from zero.
fn to_grid(x: f64, k: f64) -> f64 {
    (x / k).round() * k
}

impl WeightSummary {
    /// (largest magnitude, its grid limit) of each kept sign with weights.
    fn sides(&self) -> impl Iterator<Item = (f64, f64)> {
        [
            self.max_positive.map(|m| (m, self.positive_limit)),
            self.max_negative.map(|m| (m, self.negative_limit)),
        ]
        .into_iter()
        .flatten()
    }

    /// The smallest exponent at which the largest weights of each kept sign,
    /// at scale `scale`, round onto the grid within range; 0 without any.
    fn exponent(&self, scale: f64) -> i8 {
        if self.sides().next().is_none() {
            return 0;
        }
        let fits = |e: i8| {
            let unit = 64.0 * 2f64.powi(i32::from(e));
            self.sides()
                .all(|(max, limit)| to_grid(scale * max / unit, self.k) <= limit)
        };
        // The scale bound makes 7 fit; it is also the fallback.
        (-8..=7).find(|&e| fits(e)).unwrap_or(7)
    }

    /// The 8-bit-scale weight of `w` at `scale` and exponent `e`: the nearest
    /// grid value, clipped to the sign mode's range.
    fn quantize(&self, w: f64, scale: f64, e: i8) -> i32 {
        let x = scale * w / (64.0 * 2f64.powi(i32::from(e)));
        // Within −256..=255 after the clamp, so exact as an integer.
        to_grid(x, self.k).clamp(-self.negative_limit, self.positive_limit) as i32
    }
}

fn plan(network: &Network) -> Result<Plan, PhysicalError> {
    let dt = network.dt_ms;
    if !(dt.is_finite() && dt > 0.0) {
        return Err(PhysicalError::Malformed {
            item: "network".to_string(),
            reason: format!("dt_ms {dt} must be a positive number"),
        });
    }
    let mut plan = Plan {
        populations: Vec::new(),
        projections: Vec::new(),
        report: QuantizationReport::default(),
    };
    // Projections onto each population in physical units, summarized once.
    let mut onto: Vec<Vec<WeightSummary>> =
        network.populations.iter().map(|_| Vec::new()).collect();
    for (index, projection) in network.projections.iter().enumerate() {
        let Some(target) = network.populations.get(projection.to) else {
            return Err(PhysicalError::Malformed {
                item: format!("projection {}", projection_label(index, projection)),
                reason: format!("targets population {}, which does not exist", projection.to),
            });
        };
        if target.is_physical() {
            onto[projection.to].push(summarize(index, projection)?);
        } else if projection.float_weights.is_some() {
            return Err(PhysicalError::Malformed {
                item: format!("projection {}", projection_label(index, projection)),
                reason: format!(
                    "has float weights, but its target '{}' is in hardware units",
                    target.name
                ),
            });
        }
    }

    for (p, population) in network.populations.iter().enumerate() {
        let Some(physical) = &population.physical else {
            continue;
        };
        check_lengths(population.size, &population.name, physical)?;
        let summaries = &onto[p];

        // The scale: the largest S every constraint allows.
        let max_threshold = physical.threshold.iter().copied().fold(0.0, f64::max);
        let mut scale = THRESHOLD_LIMIT / max_threshold;
        let mut bound = ScaleBound::Threshold;
        let max_bias = physical.bias.iter().map(|b| b.abs()).fold(0.0, f64::max);
        if max_bias > 0.0 && BIAS_LIMIT / max_bias < scale {
            scale = BIAS_LIMIT / max_bias;
            bound = ScaleBound::Bias;
        }
        for summary in summaries {
            for (max, limit) in summary.sides() {
                let candidate = WEIGHT_LIMIT * limit / max;
                if candidate < scale {
                    scale = candidate;
                    bound = ScaleBound::Weights {
                        projection: summary.index,
                        name: projection_label(summary.index, &network.projections[summary.index]),
                    };
                }
            }
        }
        if !(scale.is_finite() && scale > 0.0) {
            return Err(PhysicalError::ScaleOverflow {
                population: population.name.clone(),
                threshold: max_threshold,
            });
        }

        let n = population.size as usize;
        let mut lif = Lif {
            du: Vec::with_capacity(n),
            dv: Vec::with_capacity(n),
            vth: Vec::with_capacity(n),
            bias_mant: Vec::with_capacity(n),
            bias_exp: Vec::with_capacity(n),
            refractory: physical.refractory.iter().map(|&r| r.min(63)).collect(),
            u_init: Vec::with_capacity(n),
            v_init: Vec::with_capacity(n),
            reset: physical.reset,
        };
        let (mut decay_u, mut decay_v, mut threshold, mut bias) = (
            Errors::default(),
            Errors::default(),
            Errors::default(),
            Errors::default(),
        );
        for i in 0..n {
            // Decays: the model keeps e^(−dt/τ) and decays by δ = 1 − e^(−dt/τ).
            let (x_u, x_v) = (-dt / physical.tau_syn_ms[i], -dt / physical.tau_mem_ms[i]);
            let (keep_u, keep_v) = (x_u.exp(), x_v.exp());
            // τ_syn = 0: no synaptic current, u is the step's input alone;
            // du = 4095 clears u exactly, which the rule below cannot reach.
            let du = if physical.tau_syn_ms[i] == 0.0 {
                4095.0
            } else {
                (4095.0 * -x_u.exp_m1() - 1.0).round().clamp(0.0, 4095.0)
            };
            let dv = (4095.0 * -x_v.exp_m1()).round().clamp(0.0, 4095.0);
            decay_u.compare((4095.0 - du) / 4096.0, keep_u);
            decay_v.compare((4096.0 - dv) / 4096.0, keep_v);
            lif.du.push(du as u16);
            lif.dv.push(dv as u16);

            // Threshold.
            let theta = physical.threshold[i];
            let vth = (scale * theta / 64.0).round();
            if vth < 1.0 {
                return Err(PhysicalError::ThresholdUnderflow {
                    population: population.name.clone(),
                    neuron: i as u32,
                    threshold: theta,
                    scale,
                    bound: bound.clone(),
                });
            }
            let vth = vth.min(131_071.0);
            threshold.compare(vth * 64.0 / scale, theta);
            lif.vth.push(vth as u32);

            // Bias.
            let b = scale * physical.bias[i];
            let exp = (0..=7)
                .find(|&e| (b.abs() / f64::from(1u32 << e)).round() <= 4095.0)
                .unwrap_or(7);
            let mant = (b / f64::from(1u32 << exp)).round().clamp(-4095.0, 4095.0);
            if physical.bias[i] != 0.0 {
                bias.compare(mant * f64::from(1u32 << exp) / scale, physical.bias[i]);
            }
            lif.bias_mant.push(mant as i16);
            lif.bias_exp.push(exp as u8);

            // Initial state; `as` saturates what the clamp leaves (NaN → 0).
            const U_MAX: f64 = 8_388_608.0;
            lif.u_init.push(
                (scale * physical.u_init[i])
                    .round()
                    .clamp(-(U_MAX - 1.0), U_MAX) as i32,
            );
            lif.v_init.push(
                (scale * physical.v_init[i])
                    .round()
                    .clamp(-(U_MAX - 1.0), U_MAX - 1.0) as i32,
            );
        }
        plan.populations.push((p, lif));
        plan.report.populations.push(PopulationQuantization {
            population: p,
            name: population.name.clone(),
            neurons: population.size,
            scale,
            bound,
            decay_u: decay_u.stats(),
            decay_v: decay_v.stats(),
            threshold: threshold.stats(),
            bias: bias.stats(),
        });

        for summary in summaries {
            let projection = &network.projections[summary.index];
            let (lowered, report) = lower_weights(summary, projection, scale);
            plan.projections.push((summary.index, lowered));
            plan.report.projections.push(report);
        }
    }
    plan.projections.sort_by_key(|(index, _)| *index);
    plan.report.projections.sort_by_key(|r| r.projection);
    Ok(plan)
}

fn check_lengths(size: u32, name: &str, physical: &PhysicalLif) -> Result<(), PhysicalError> {
    let fields = [
        ("tau_syn_ms", physical.tau_syn_ms.len()),
        ("tau_mem_ms", physical.tau_mem_ms.len()),
        ("threshold", physical.threshold.len()),
        ("bias", physical.bias.len()),
        ("refractory", physical.refractory.len()),
        ("u_init", physical.u_init.len()),
        ("v_init", physical.v_init.len()),
    ];
    if let Some((field, len)) = fields.iter().find(|(_, len)| *len != size as usize) {
        return Err(PhysicalError::Malformed {
            item: format!("population '{name}'"),
            reason: format!("{field} has {len} values for {size} neurons"),
        });
    }
    // What each field accepts: τ_syn may be 0 (no synaptic current) and
    // τ_mem +∞ (no leak), as importers give them.
    #[derive(Clone, Copy)]
    enum Range {
        Positive,
        ZeroOrPositive,
        PositiveOrInfinite,
        Finite,
    }
    let checks = [
        ("tau_syn_ms", &physical.tau_syn_ms, Range::ZeroOrPositive),
        (
            "tau_mem_ms",
            &physical.tau_mem_ms,
            Range::PositiveOrInfinite,
        ),
        ("threshold", &physical.threshold, Range::Positive),
        ("bias", &physical.bias, Range::Finite),
        ("u_init", &physical.u_init, Range::Finite),
        ("v_init", &physical.v_init, Range::Finite),
    ];
    for (field, values, range) in checks {
        let ok = |v: f64| match range {
            Range::Positive => v.is_finite() && v > 0.0,
            Range::ZeroOrPositive => v.is_finite() && v >= 0.0,
            Range::PositiveOrInfinite => v > 0.0,
            Range::Finite => v.is_finite(),
        };
        if let Some(i) = values.iter().position(|&v| !ok(v)) {
            return Err(PhysicalError::Malformed {
                item: format!("population '{name}'"),
                reason: format!("{field}[{i}] {} is out of range", values[i]),
            });
        }
    }
    Ok(())
}

fn lower_weights(
    summary: &WeightSummary,
    projection: &Projection,
    scale: f64,
) -> (LoweredProjection, ProjectionQuantization) {
    let e = summary.exponent(scale);
    let unit = 64.0 * 2f64.powi(i32::from(e)) / scale;
    let mut errors = Errors::default();
    let (mut zero_weights, mut zeroed) = (0u64, 0u64);
    let count = projection.synapses.len() as u64;
    let mut account = |w: f64, w8: i32, n: u64| {
        if w == 0.0 {
            zero_weights += n;
        } else {
            zeroed += if w8 == 0 { n } else { 0 };
            errors.add((f64::from(w8) * unit - w) / w, n);
        }
    };
    let weights = match &projection.float_weights {
        Some(FloatWeights::Uniform(w)) => {
            let w8 = summary.quantize(*w, scale, e);
            account(*w, w8, count);
            LoweredWeights::Uniform(w8)
        }
        _ => LoweredWeights::PerSynapse(
            (0..projection.synapses.len())
                .map(|i| {
                    let w = weight_of(projection, i);
                    let w8 = summary.quantize(w, scale, e);
                    account(w, w8, 1);
                    w8
                })
                .collect(),
        ),
    };
    // Keep the sign mode the compiler would infer from the integers when it
    // is the one used here; else write it down.
    let sign_mode = if summary.inferred {
        let ints_mode = match &weights {
            LoweredWeights::Uniform(w) => crate::quantize::infer_sign_mode([*w]),
            LoweredWeights::PerSynapse(ws) => crate::quantize::infer_sign_mode(ws.iter().copied()),
        };
        (ints_mode != summary.mode).then_some(summary.mode)
    } else {
        Some(summary.mode)
    };
    let report = ProjectionQuantization {
        projection: summary.index,
        name: projection_label(summary.index, projection),
        weight_exp: e,
        sign_mode: summary.mode,
        synapses: count,
        weights: errors.stats(),
        zero_weights,
        zeroed,
    };
    let lowered = LoweredProjection {
        weight_exp: e,
        sign_mode,
        weights,
    };
    (lowered, report)
}

/// A relative error as a percentage with three significant digits.
fn percent(x: f64) -> String {
    let p = x * 100.0;
    if p == 0.0 {
        "0%".to_string()
    } else if !p.is_finite() || !(1e-3..1e5).contains(&p) {
        format!("{p:.2e}%")
    } else {
        let digits = (2 - p.log10().floor() as i32).clamp(0, 5) as usize;
        format!("{p:.digits$}%")
    }
}

fn stats(s: &ErrorStats) -> String {
    if s.count == 0 {
        "-".to_string()
    } else {
        format!("{} / {}", percent(s.max), percent(s.rms))
    }
}

/// Writes rows as left-aligned columns, two spaces apart, indented by two.
fn table(f: &mut fmt::Formatter<'_>, rows: &[Vec<String>]) -> fmt::Result {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::from(" ");
        for (cell, width) in row.iter().zip(&widths) {
            line.push(' ');
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', width - cell.chars().count() + 1));
        }
        writeln!(f, "{}", line.trim_end())?;
    }
    Ok(())
}

impl fmt::Display for QuantizationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "no populations in physical units");
        }
        writeln!(
            f,
            "populations in physical units (relative errors: largest / RMS):"
        )?;
        let mut rows = vec![
            [
                "population",
                "neurons",
                "scale S",
                "bound",
                "decay u",
                "decay v",
                "threshold",
                "bias",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for p in &self.populations {
            rows.push(vec![
                p.name.clone(),
                p.neurons.to_string(),
                format!("{:.4e}", p.scale),
                match &p.bound {
                    ScaleBound::Threshold => "threshold".to_string(),
                    ScaleBound::Bias => "bias".to_string(),
                    ScaleBound::Weights { name, .. } => format!("weights of {name}"),
                },
                stats(&p.decay_u),
                stats(&p.decay_v),
                stats(&p.threshold),
                stats(&p.bias),
            ]);
        }
        table(f, &rows)?;
        if self.projections.is_empty() {
            return Ok(());
        }
        writeln!(
            f,
            "projections onto them (weights: largest / RMS relative error over nonzero written weights):"
        )?;
        let mut rows = vec![
            [
                "projection",
                "weight_exp",
                "sign mode",
                "synapses",
                "weights",
                "written 0",
                "became 0",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for p in &self.projections {
            rows.push(vec![
                p.name.clone(),
                p.weight_exp.to_string(),
                sign_mode_name(p.sign_mode).to_string(),
                p.synapses.to_string(),
                stats(&p.weights),
                p.zero_weights.to_string(),
                p.zeroed.to_string(),
            ]);
        }
        table(f, &rows)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use neurite_chip::ChipProfile;
    use neurite_net::{Network, from_toml_str};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngSeed};

    use super::*;
    use crate::quantize::quantize_weight;

    fn net(toml: &str) -> Network {
        from_toml_str(toml, "test.toml", None).expect("valid description")
    }

    fn lif(network: &Network, name: &str) -> Lif {
        let index = network.population(name).expect("population");
        let population = &network.populations[index];
        assert!(population.physical.is_none(), "{name} still physical");
        match &population.model {
            Model::Lif(lif) => lif.clone(),
            Model::Input => panic!("{name} is an input population"),
        }
    }

    #[track_caller]
    fn close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() <= 1e-9 * expected.abs().max(1e-300),
            "{actual} != {expected}"
        );
    }

    /// The population of the issue: dt 1 ms, τ_syn 5 ms, τ_mem 20 ms,
    /// threshold 1.0, bias 0.1.
    const POPULATION: &str = r#"
dt_ms = 1.0
[[populations]]
name = "in"
size = 3
model = "input"
[[populations]]
name = "p"
size = 1
model = "lif"
tau_syn_ms = 5.0
tau_mem_ms = 20.0
threshold = 1.0
bias = 0.1
"#;

    #[test]
    fn hand_derived_population() {
        let network = net(POPULATION);
        let lowered = lower(&network).expect("lowers");
        let p = lif(&lowered.network, "p");
        // δu = 1 − e^(−1/5) = 0.181269247; 4095·δu − 1 = 741.2976 → du = 741.
        // δv = 1 − e^(−1/20) = 0.048770575; 4095·δv = 199.7155 → dv = 200.
        assert_eq!((p.du[0], p.dv[0]), (741, 200));
        // No projection and bias 0.1: S = min(2^22 / 1.0, 4095·2^7 / 0.1 =
        // 5,241,600) = 2^22, bound by the threshold.
        let report = &lowered.report.populations[0];
        assert_eq!(report.scale, 4_194_304.0);
        assert_eq!(report.bound, ScaleBound::Threshold);
        // vth = round(2^22 / 64) = 65536: exact.
        assert_eq!(p.vth[0], 65_536);
        assert_eq!(report.threshold.max, 0.0);
        // S·bias = 419430.4; /2^6 = 6553.6 > 4095, /2^7 = 3276.8 → exp 7,
        // mant round(3276.8) = 3277; 3277·128 / 2^22 = 0.100006103515625.
        assert_eq!((p.bias_mant[0], p.bias_exp[0]), (3277, 7));
        close(report.bias.max, 6.103515625e-5);
        close(report.bias.rms, 6.103515625e-5);
        // u keeps (4096 − 742)/4096 = 0.81884765625 against e^(−1/5) =
        // 0.818730753078: +1.42786e-4. v keeps 3896/4096 = 0.951171875
        // against e^(−1/20) = 0.951229424501: −6.05001e-5.
        close(report.decay_u.max, 0.81884765625 / (-0.2f64).exp() - 1.0);
        assert!((report.decay_u.max - 1.42786e-4).abs() < 1e-9);
        close(report.decay_v.max, 1.0 - 0.951171875 / (-0.05f64).exp());
        assert!((report.decay_v.max - 6.05001e-5).abs() < 1e-9);
        assert_eq!(report.decay_u.count, 1);
        assert!(lowered.report.projections.is_empty());
        // The input population is untouched.
        assert_eq!(lowered.network.populations[0], network.populations[0]);
    }

    #[test]
    fn hand_derived_projection() {
        let network = net(&format!(
            "{POPULATION}\n[[projections]]\nfrom = \"in\"\nto = \"p\"\n\
             sparse = [[0, 0, 0.5], [1, 0, -0.25], [2, 0, 0.01]]\n"
        ));
        let lowered = lower(&network).expect("lowers");
        // Both signs: mixed, 8 bits, so a grid of k = 2 from −256 to 254.
        // Weight bounds on S: 64·2^7·254 / 0.5 = 4,161,536 (positive side),
        // 64·2^7·256 / 0.25 = 8,388,608 (negative side); with 2^22 for the
        // threshold and 5,241,600 for the bias, S = 4,161,536, set by the
        // largest weight.
        let population = &lowered.report.populations[0];
        assert_eq!(population.scale, 4_161_536.0);
        assert_eq!(
            population.bound,
            ScaleBound::Weights {
                projection: 0,
                name: "#0 'in->p'".to_string()
            }
        );
        let p = lif(&lowered.network, "p");
        // vth = 4,161,536 / 64 = 65024 exactly.
        assert_eq!(p.vth[0], 65_024);
        // S·bias = 416153.6 → exp 7, mant round(3251.2) = 3251:
        // 3251·128 / S = 0.09999385 (−6.1516e-5).
        assert_eq!((p.bias_mant[0], p.bias_exp[0]), (3251, 7));
        close(population.bias.max, 6.151574803149606e-5);

        // At weight_exp 6, 0.5·S / (64·2^6) = 508 > 254; at 7 it is 254: e = 7.
        // x = S·w / (64·2^7) = 508·w: 254, −127, 5.08. To the grid of 2:
        // 254 → 254 (exact); −127 → −63.5·2, half away from zero → −128
        // (effective −0.2519685, +1/127 = 0.7874%); 5.08 → 2.54·2 → 6
        // (effective 0.0118110, +0.92/5.08 = 18.110%).
        let projection = &lowered.network.projections[0];
        assert_eq!(projection.weight_exp, 7);
        assert!(projection.float_weights.is_none());
        let weights: Vec<i32> = projection.synapses.iter().map(|s| s.weight).collect();
        assert_eq!(weights, vec![254, -128, 6]);
        // Inference from the integers gives mixed too: nothing to write down.
        assert_eq!(projection.sign_mode, None);
        let report = &lowered.report.projections[0];
        assert_eq!(report.weight_exp, 7);
        assert_eq!(report.sign_mode, SignMode::Mixed);
        assert_eq!(
            (report.synapses, report.zero_weights, report.zeroed),
            (3, 0, 0)
        );
        // Largest 0.18110; RMS sqrt((0 + (1/127)² + 0.18110²) / 3) = 0.104658.
        close(report.weights.max, 0.92 / 5.08);
        let rms = ((1.0f64 / 127.0).powi(2) + (0.92f64 / 5.08).powi(2)) / 3.0;
        assert!((report.weights.rms - rms.sqrt()).abs() < 1e-12);
        assert!((report.weights.rms - 0.104658).abs() < 1e-6);
    }

    #[test]
    fn weights_round_to_the_nearest_grid_value() {
        // Excitatory, 4 bits: a grid of k = 16 up to 240. Threshold 1, no
        // bias: the weight bound 64·2^7·240 / 0.3 = 6,553,600 exceeds 2^22,
        // so S = 2^22. At e = 5: 0.3·2^22 / 2^11 = 614.4 > 240; e = 6:
        // 307.2 → 304 > 240; e = 7: 153.6 → 9.6·16 → 160 (truncation would
        // give 144); 0.1 → 51.2 → 3.2·16 → 48.
        let network = net(
            "dt_ms = 1.0\n[[populations]]\nname = \"in\"\nsize = 2\nmodel = \"input\"\n\
             [[populations]]\nname = \"p\"\nsize = 1\nmodel = \"lif\"\n\
             tau_syn_ms = 5.0\ntau_mem_ms = 20.0\nthreshold = 1.0\n\
             [[projections]]\nfrom = \"in\"\nto = \"p\"\ndense = [[0.3, 0.1]]\nnum_weight_bits = 4\n",
        );
        let lowered = lower(&network).expect("lowers");
        assert_eq!(lowered.report.populations[0].scale, 4_194_304.0);
        let projection = &lowered.network.projections[0];
        assert_eq!(projection.weight_exp, 7);
        let weights: Vec<i32> = projection.synapses.iter().map(|s| s.weight).collect();
        assert_eq!(weights, vec![160, 48]);
        // The compiler's truncation to 4 bits keeps them.
        for w in weights {
            let q = quantize_weight(w, SignMode::Excitatory, 4);
            assert!(!q.truncated && !q.clipped);
        }
        // 160 / 153.6 − 1 = 4.1667%; 48 / 51.2 − 1 = −6.25%.
        let report = &lowered.report.projections[0];
        close(report.weights.max, 0.0625);
    }

    #[test]
    fn hardware_only_network_lowers_to_itself() {
        let network = net(
            "[[populations]]\nname = \"in\"\nsize = 2\nmodel = \"input\"\n\
             [[populations]]\nname = \"out\"\nsize = 1\nmodel = \"lif\"\ndu = 3\ndv = 4\nvth = 10\n\
             [[projections]]\nfrom = \"in\"\nto = \"out\"\ndense = [[100, -50]]\nweight_exp = -2\n",
        );
        let lowered = lower(&network).expect("lowers");
        assert!(matches!(lowered.network, Cow::Borrowed(n) if std::ptr::eq(n, &network)));
        assert_eq!(*lowered.network, network);
        assert!(lowered.report.is_empty());
        assert_eq!(lowered.report, QuantizationReport::default());
        let (owned, report) = lower_owned(network.clone()).expect("lowers");
        assert_eq!(owned, network);
        assert!(report.is_empty());
    }

    #[test]
    fn hardware_parts_of_a_mixed_network_are_untouched() {
        let network = net(
            "dt_ms = 0.5\n[[populations]]\nname = \"in\"\nsize = 2\nmodel = \"input\"\n\
             [[populations]]\nname = \"hw\"\nsize = 2\nmodel = \"lif\"\ndu = 3\ndv = 4\nvth = 10\n\
             [[populations]]\nname = \"ph\"\nsize = 2\nmodel = \"lif\"\n\
             tau_syn_ms = [1.0, 2.0]\ntau_mem_ms = 4.0\nthreshold = 2.0\nrefractory_ms = 1.2\n\
             u_init = 0.5\nv_init = [-1.0, 1.5]\n\
             [[projections]]\nfrom = \"in\"\nto = \"hw\"\ndense = [[100, -50], [0, 7]]\n\
             [[projections]]\nfrom = \"ph\"\nto = \"hw\"\none_to_one = { weight = 20 }\n\
             [[projections]]\nfrom = \"hw\"\nto = \"ph\"\none_to_one = { weight = 0.4 }\n",
        );
        let lowered = lower(&network).expect("lowers");
        let n = &lowered.network;
        assert!(!n.has_physical_units());
        for i in [0, 1] {
            assert_eq!(n.populations[i], network.populations[i]);
            assert_eq!(n.projections[i], network.projections[i]);
        }
        let ph = lif(n, "ph");
        // dt 0.5: refractory round(1.2 / 0.5) = 2 steps.
        assert_eq!(ph.refractory, vec![2, 2]);
        // S = 2^22 / 2 = 2^21 (0.4 allows 64·2^7·255 / 0.4 = 5,222,400):
        // u = round(0.5·2^21) = 2^20, v = ∓2^21, +1.5·2^21 (clipped? no: 3,145,728).
        let scale = lowered.report.populations[0].scale;
        assert_eq!(scale, 2_097_152.0);
        assert_eq!(ph.u_init, vec![1_048_576; 2]);
        assert_eq!(ph.v_init, vec![-2_097_152, 3_145_728]);
        assert_eq!(ph.vth, vec![65_536; 2]);
        // Uniform weight 0.4: 0.4·2^21 / 2^12 = 204.8 at e = 6 → 205 (one
        // step of the excitatory grid); at e = 5 it would be 409.6.
        let projection = &n.projections[2];
        assert_eq!(projection.weight_exp, 6);
        assert!(projection.synapses.iter().all(|s| s.weight == 205));
        let report = &lowered.report.projections[0];
        assert_eq!(report.projection, 2);
        assert_eq!(report.synapses, 2);
        assert_eq!(report.weights.count, 2);
        close(report.weights.max, 205.0 / 204.8 - 1.0);
        close(report.weights.rms, 205.0 / 204.8 - 1.0);
    }

    #[test]
    fn zero_weights_are_exact_and_counted() {
        // Excitatory 8 bits: the weight bound 64·2^7·255 / 0.5 = 4,177,920
        // is below 2^22, so 0.5 fills 255 at e = 7; 1e-9 is
        // 1e-9·4,177,920 / 2^13 = 5.1e-7 → 0 (became 0, relative error 1); 0
        // stays 0 and is left out.
        let network = net(
            "dt_ms = 1.0\n[[populations]]\nname = \"in\"\nsize = 3\nmodel = \"input\"\n\
             [[populations]]\nname = \"p\"\nsize = 1\nmodel = \"lif\"\n\
             tau_syn_ms = 5.0\ntau_mem_ms = 20.0\nthreshold = 1.0\n\
             [[projections]]\nfrom = \"in\"\nto = \"p\"\nsparse = [[0, 0, 0.5], [1, 0, 1e-9], [2, 0, 0.0]]\n",
        );
        let lowered = lower(&network).expect("lowers");
        let weights: Vec<i32> = lowered.network.projections[0]
            .synapses
            .iter()
            .map(|s| s.weight)
            .collect();
        assert_eq!(weights, vec![255, 0, 0]);
        assert_eq!(lowered.report.populations[0].scale, 4_177_920.0);
        let report = &lowered.report.projections[0];
        assert_eq!((report.zero_weights, report.zeroed), (1, 1));
        assert_eq!(report.weights.count, 2);
        assert_eq!(report.weights.max, 1.0);
        close(report.weights.rms, 0.5f64.sqrt());
    }

    #[test]
    fn explicit_sign_mode_clips_the_other_sign_to_zero() {
        let network = net(
            "dt_ms = 1.0\n[[populations]]\nname = \"in\"\nsize = 2\nmodel = \"input\"\n\
             [[populations]]\nname = \"p\"\nsize = 1\nmodel = \"lif\"\n\
             tau_syn_ms = 5.0\ntau_mem_ms = 20.0\nthreshold = 1.0\n\
             [[projections]]\nfrom = \"in\"\nto = \"p\"\ndense = [[0.25, -0.25]]\nsign_mode = \"excitatory\"\n",
        );
        let lowered = lower(&network).expect("lowers");
        let projection = &lowered.network.projections[0];
        assert_eq!(projection.sign_mode, Some(SignMode::Excitatory));
        let weights: Vec<i32> = projection.synapses.iter().map(|s| s.weight).collect();
        assert_eq!(weights, vec![128, 0]);
        assert_eq!(lowered.report.projections[0].zeroed, 1);
    }

    #[test]
    fn inferred_mode_is_written_when_the_integers_would_infer_another() {
        // Mixed floats whose only negative weight rounds to 0: the integers
        // alone would be inferred excitatory, so mixed is written down.
        let network = net(
            "dt_ms = 1.0\n[[populations]]\nname = \"in\"\nsize = 2\nmodel = \"input\"\n\
             [[populations]]\nname = \"p\"\nsize = 1\nmodel = \"lif\"\n\
             tau_syn_ms = 5.0\ntau_mem_ms = 20.0\nthreshold = 1.0\n\
             [[projections]]\nfrom = \"in\"\nto = \"p\"\ndense = [[0.25, -1e-12]]\n",
        );
        let lowered = lower(&network).expect("lowers");
        let projection = &lowered.network.projections[0];
        assert_eq!(projection.sign_mode, Some(SignMode::Mixed));
        assert_eq!(lowered.report.projections[0].sign_mode, SignMode::Mixed);
    }

    #[test]
    fn a_threshold_too_small_for_the_scale_is_a_typed_error() {
        // The bias bounds S at 4095·2^7 / 1000 = 524.16; threshold 1 gives
        // 524.16 / 64 = 8.19 → vth 8, but neuron 1's 0.01 gives 0.08 → 0.
        let network = net(
            "dt_ms = 1.0\n[[populations]]\nname = \"p\"\nsize = 2\nmodel = \"lif\"\n\
             tau_syn_ms = 5.0\ntau_mem_ms = 20.0\nthreshold = [1.0, 0.01]\nbias = 1000.0\n",
        );
        let err = lower(&network).expect_err("threshold underflow");
        assert!(matches!(
            &err,
            PhysicalError::ThresholdUnderflow { population, neuron: 1, .. } if population == "p"
        ));
        assert_eq!(
            err.to_string(),
            "population 'p': threshold 0.01 of neuron 1 rounds to vth 0 at scale S = 5.2416e2, \
             set by the largest bias (S·|bias| = 4095·2^7); the thresholds are too small next \
             to the largest threshold, bias or weight to be represented"
        );
        let err = lower_owned(network).expect_err("same error");
        assert!(matches!(err, PhysicalError::ThresholdUnderflow { .. }));
    }

    #[test]
    fn a_subnormal_threshold_is_a_typed_error() {
        let network = net(
            "dt_ms = 1.0\n[[populations]]\nname = \"p\"\nsize = 1\nmodel = \"lif\"\n\
             tau_syn_ms = 5.0\ntau_mem_ms = 20.0\nthreshold = 1e-310\n",
        );
        let err = lower(&network).expect_err("no finite scale");
        assert!(matches!(err, PhysicalError::ScaleOverflow { .. }));
        assert!(
            err.to_string()
                .starts_with("population 'p': the largest threshold")
        );
    }

    #[test]
    fn a_hand_made_inconsistent_network_is_an_error_not_a_panic() {
        let mut network = net(
            "dt_ms = 1.0\n[[populations]]\nname = \"in\"\nsize = 2\nmodel = \"input\"\n\
             [[populations]]\nname = \"p\"\nsize = 1\nmodel = \"lif\"\n\
             tau_syn_ms = 5.0\ntau_mem_ms = 20.0\nthreshold = 1.0\n\
             [[projections]]\nfrom = \"in\"\nto = \"p\"\ndense = [[0.25, 0.5]]\n",
        );
        network.projections[0].float_weights = Some(FloatWeights::PerSynapse(vec![0.25]));
        let err = lower(&network).expect_err("malformed");
        assert_eq!(
            err.to_string(),
            "projection #0 'in->p': has 1 float weights for 2 synapses"
        );
        if let Some(physical) = &mut network.populations[1].physical {
            physical.threshold.clear();
        }
        assert!(matches!(
            lower(&network),
            Err(PhysicalError::Malformed { .. })
        ));
    }

    #[test]
    fn report_is_a_readable_table() {
        let network = net(&format!(
            "{POPULATION}\n[[projections]]\nfrom = \"in\"\nto = \"p\"\n\
             sparse = [[0, 0, 0.5], [1, 0, -0.25], [2, 0, 0.01]]\n"
        ));
        let shown = lower(&network).expect("lowers").report.to_string();
        let expected = "\
populations in physical units (relative errors: largest / RMS):
  population  neurons  scale S     bound               decay u                decay v                threshold  bias
  p           1        4.1615e6    weights of #0 'in->p'  0.0143% / 0.0143%  0.00605% / 0.00605%  0% / 0%    0.00615% / 0.00615%
";
        // Column alignment aside, every figure is there.
        for part in [
            "population",
            "4.1615e6",
            "weights of #0 'in->p'",
            "0.0143% / 0.0143%",
            "0.00605% / 0.00605%",
            "0% / 0%",
            "0.00615% / 0.00615%",
            "projection",
            "#0 'in->p'",
            "mixed",
            "18.1% / 10.5%",
        ] {
            assert!(shown.contains(part), "{part} missing from\n{shown}");
        }
        let _ = expected;
        // Every row of a table has its cells at the header's columns.
        let lines: Vec<&str> = shown.lines().collect();
        let column = |line: &str, cell: &str| line.find(cell).expect("cell");
        assert_eq!(column(lines[1], "scale S"), column(lines[2], "4.1615e6"));
        assert_eq!(column(lines[4], "weights"), column(lines[5], "18.1%"));
        assert_eq!(
            QuantizationReport::default().to_string(),
            "no populations in physical units\n"
        );
    }

    fn example() -> Network {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/physical-units.toml");
        neurite_net::load(&path).expect("the example is valid")
    }

    #[test]
    fn the_example_lowers_and_compiles() {
        let network = example();
        assert!(network.has_physical_units());
        let lowered = lower(&network).expect("lowers");
        assert_eq!(lowered.report.populations.len(), 2);
        assert_eq!(lowered.report.projections.len(), 3);
        let exc = lif(&lowered.network, "exc");
        assert_eq!((exc.du[0], exc.dv[0]), (741, 200));
        assert_eq!(exc.refractory, vec![2; 6]);
        let compiled = crate::compile(&lowered.network, &ChipProfile::loihi2()).expect("compiles");
        // Only the weights the compiler drops as 0 are missing.
        let written: u64 = lowered
            .network
            .projections
            .iter()
            .flat_map(|p| &p.synapses)
            .filter(|s| s.weight != 0)
            .count() as u64;
        assert_eq!(compiled.report.synapses, written);
        assert!(
            compiled
                .report
                .projections
                .iter()
                .all(|p| p.clipped == 0 && p.truncated == 0),
            "{:?}",
            compiled.report.projections
        );
    }

    /// One neuron of the float model and of the chip's arithmetic (the README's
    /// "Exact semantics"), driven by its bias and by one input spike train
    /// through one synapse; returns the spike steps of each.
    fn spike_steps(network: &Network, lowered: &Network, steps: u64, period: u64) -> [Vec<u64>; 2] {
        let physical = network.populations[1].physical.clone().expect("physical");
        let w = network.projections[0]
            .float_weights
            .as_ref()
            .expect("float weights")
            .get(0);
        let (keep_u, keep_v) = (
            (-network.dt_ms / physical.tau_syn_ms[0]).exp(),
            (-network.dt_ms / physical.tau_mem_ms[0]).exp(),
        );
        let Model::Lif(hw) = &lowered.populations[1].model else {
            panic!("lowered")
        };
        let projection = &lowered.projections[0];
        let (w8, e) = (
            i64::from(projection.synapses[0].weight),
            projection.weight_exp,
        );
        let a = if e >= 0 { w8 << e } else { w8 >> -e };
        let tz = |x: i64| x.signum() * (x.abs() >> 12);
        let bias = i64::from(hw.bias_mant[0]) << hw.bias_exp[0];
        let (mut u, mut v, mut hu, mut hv) = (0.0, 0.0, 0i64, 0i64);
        let mut out = [Vec::new(), Vec::new()];
        for t in 1..=steps {
            // An input spike at step t − 1 arrives at step t.
            let arriving = t > 1 && (t - 1) % period == 0;
            u = u * keep_u + if arriving { w } else { 0.0 };
            v = v * keep_v + u + physical.bias[0];
            if v > physical.threshold[0] {
                out[0].push(t);
                v = 0.0;
            }
            hu = tz(hu * (4095 - i64::from(hw.du[0]))) + if arriving { a << 6 } else { 0 };
            hv = tz(hv * (4096 - i64::from(hw.dv[0]))) + hu + bias;
            if hv > i64::from(hw.vth[0]) << 6 {
                out[1].push(t);
                hv = 0;
            }
        }
        out
    }

    #[test]
    fn lowered_neuron_tracks_the_float_model() {
        let network = net(
            "dt_ms = 1.0\n[[populations]]\nname = \"in\"\nsize = 1\nmodel = \"input\"\n\
             [[populations]]\nname = \"p\"\nsize = 1\nmodel = \"lif\"\n\
             tau_syn_ms = 5.0\ntau_mem_ms = 20.0\nthreshold = 1.0\nbias = 0.03\n\
             [[projections]]\nfrom = \"in\"\nto = \"p\"\ndense = [[0.07]]\n",
        );
        let lowered = lower(&network).expect("lowers");
        let [float, chip] = spike_steps(&network, &lowered.network, 2000, 7);
        assert!(float.len() > 50, "{} spikes", float.len());
        assert_eq!(float.len(), chip.len(), "{float:?}\n{chip:?}");
        // Same spikes, give or take a step as rounding accumulates.
        for (f, c) in float.iter().zip(&chip) {
            assert!(f.abs_diff(*c) <= 1, "{f} vs {c}");
        }
    }

    // ---------------------------------------------------------------------
    // Random networks
    // ---------------------------------------------------------------------

    /// A float as TOML writes it (Debug keeps every digit and a `.` or `e`).
    fn toml_float(x: f64) -> String {
        let shown = format!("{x:?}");
        if shown.contains(['.', 'e', 'i', 'N']) {
            shown
        } else {
            format!("{shown}.0")
        }
    }

    /// A value once for the population, or one per neuron.
    fn per_neuron(values: &[f64], scalar: bool) -> String {
        if scalar {
            toml_float(values[0])
        } else {
            let shown: Vec<String> = values.iter().map(|&v| toml_float(v)).collect();
            format!("[{}]", shown.join(", "))
        }
    }

    /// Magnitude 10^exponent with a mantissa in [1, 10).
    fn magnitude(lo: f64, hi: f64) -> impl Strategy<Value = f64> {
        (lo..hi, 1.0f64..10.0).prop_map(|(e, m)| m * 10f64.powf(e.floor()))
    }

    #[derive(Debug, Clone)]
    struct RandomPopulation {
        size: usize,
        scalar: bool,
        tau_syn: Vec<f64>,
        tau_mem: Vec<f64>,
        threshold: Vec<f64>,
        bias: Vec<f64>,
        init: Vec<f64>,
    }

    #[derive(Debug, Clone)]
    struct RandomProjection {
        from: usize,
        to: usize,
        weights: Vec<(usize, usize, f64)>,
        bits: u8,
        sign_mode: Option<&'static str>,
    }

    /// Ranges where no threshold can round to vth 0 (`wide` goes beyond).
    fn population(wide: bool) -> impl Strategy<Value = RandomPopulation> {
        (1usize..5, any::<bool>()).prop_flat_map(move |(size, scalar)| {
            let n = if scalar { 1 } else { size };
            let (threshold, bias) = if wide {
                (magnitude(-8.0, 8.0).boxed(), magnitude(-8.0, 8.0).boxed())
            } else {
                ((0.1f64..10.0).boxed(), magnitude(-6.0, 2.0).boxed())
            };
            let signed_bias =
                (bias, any::<bool>(), 0u8..4).prop_map(|(b, negative, zero)| {
                    match (zero, negative) {
                        (0, _) => 0.0,
                        (_, true) => -b,
                        _ => b,
                    }
                });
            (
                Just(size),
                Just(scalar),
                proptest::collection::vec(magnitude(-2.0, 4.0), n),
                proptest::collection::vec(magnitude(-2.0, 4.0), n),
                proptest::collection::vec(threshold, n),
                proptest::collection::vec(signed_bias, n),
                proptest::collection::vec(-20.0f64..20.0, 2 * n),
            )
                .prop_map(|(size, scalar, tau_syn, tau_mem, threshold, bias, init)| {
                    RandomPopulation {
                        size,
                        scalar,
                        tau_syn,
                        tau_mem,
                        threshold,
                        bias,
                        init,
                    }
                })
        })
    }

    fn network(
        wide: bool,
    ) -> impl Strategy<Value = (f64, Vec<RandomPopulation>, Vec<RandomProjection>)> {
        let weight = if wide {
            magnitude(-12.0, 12.0).boxed()
        } else {
            magnitude(-7.0, 2.0).boxed()
        };
        (
            magnitude(-1.0, 1.0),
            proptest::collection::vec(population(wide), 1..4),
        )
            .prop_flat_map(move |(dt, populations)| {
                let sizes: Vec<usize> = populations.iter().map(|p| p.size).collect();
                let count = sizes.len();
                let signed = (weight.clone(), 0u8..5).prop_map(|(w, sign)| match sign {
                    0 => 0.0,
                    1 | 2 => w,
                    _ => -w,
                });
                let projection = (0..=count, 1..=count, 1u8..=8, 0u8..5).prop_flat_map({
                    let sizes = sizes.clone();
                    let signed = signed.clone();
                    move |(from, to, bits, mode)| {
                        // Population 0 is the input, of 3 neurons.
                        let n_from = if from == 0 { 3 } else { sizes[from - 1] };
                        let n_to = sizes[to - 1];
                        let sign_mode = match mode {
                            0 => Some("mixed"),
                            1 => Some("excitatory"),
                            2 => Some("inhibitory"),
                            _ => None,
                        };
                        proptest::collection::btree_map((0..n_from, 0..n_to), signed.clone(), 0..8)
                            .prop_map(move |entries| RandomProjection {
                                from,
                                to,
                                weights: entries.into_iter().map(|((a, b), w)| (a, b, w)).collect(),
                                bits,
                                sign_mode,
                            })
                    }
                });
                (
                    Just(dt),
                    Just(populations),
                    proptest::collection::vec(projection, 0..5),
                )
            })
    }

    fn describe(
        dt: f64,
        populations: &[RandomPopulation],
        projections: &[RandomProjection],
    ) -> String {
        let mut text = format!(
            "dt_ms = {}\n[[populations]]\nname = \"p0\"\nsize = 3\nmodel = \"input\"\n",
            toml_float(dt)
        );
        for (i, p) in populations.iter().enumerate() {
            let n = p.tau_syn.len();
            text += &format!(
                "[[populations]]\nname = \"p{}\"\nsize = {}\nmodel = \"lif\"\n\
                 tau_syn_ms = {}\ntau_mem_ms = {}\nthreshold = {}\nbias = {}\n\
                 u_init = {}\nv_init = {}\n",
                i + 1,
                p.size,
                per_neuron(&p.tau_syn, p.scalar),
                per_neuron(&p.tau_mem, p.scalar),
                per_neuron(&p.threshold, p.scalar),
                per_neuron(&p.bias, p.scalar),
                per_neuron(&p.init[..n], p.scalar),
                per_neuron(&p.init[n..], p.scalar),
            );
        }
        for p in projections {
            let entries: Vec<String> = p
                .weights
                .iter()
                .map(|(a, b, w)| format!("[{a}, {b}, {}]", toml_float(*w)))
                .collect();
            text += &format!(
                "[[projections]]\nfrom = \"p{}\"\nto = \"p{}\"\nsparse = [{}]\nnum_weight_bits = {}\n",
                p.from,
                p.to,
                entries.join(", "),
                p.bits
            );
            if let Some(mode) = p.sign_mode {
                text += &format!("sign_mode = \"{mode}\"\n");
            }
        }
        text
    }

    fn config() -> Config {
        Config {
            cases: 300,
            rng_seed: RngSeed::Fixed(0x5ca1e),
            failure_persistence: None,
            ..Config::default()
        }
    }

    /// Every value of a lowered network is in its hardware range, and every
    /// weight error is within half a step of the weight grid.
    fn check(network: &Network, lowered: &Lowered<'_>) {
        let n = &lowered.network;
        assert!(!n.has_physical_units());
        for population in &n.populations {
            let Model::Lif(lif) = &population.model else {
                continue;
            };
            let size = population.size as usize;
            for values in [
                lif.du.len(),
                lif.dv.len(),
                lif.vth.len(),
                lif.bias_mant.len(),
            ] {
                assert_eq!(values, size);
            }
            assert!(lif.du.iter().chain(&lif.dv).all(|&d| d <= 4095));
            assert!(lif.vth.iter().all(|&v| (1..=65_536).contains(&v)));
            assert!(lif.bias_mant.iter().all(|&m| (-4095..=4095).contains(&m)));
            assert!(lif.bias_exp.iter().all(|&e| e <= 7));
            assert!(lif.refractory.iter().all(|&r| r <= 63));
            assert!(
                lif.u_init
                    .iter()
                    .all(|&u| (-8_388_607..=8_388_608).contains(&u))
            );
            assert!(
                lif.v_init
                    .iter()
                    .all(|&v| (-8_388_607..=8_388_607).contains(&v))
            );
        }
        for report in &lowered.report.populations {
            assert!(report.scale.is_finite() && report.scale > 0.0);
            for stats in [
                report.decay_u,
                report.decay_v,
                report.threshold,
                report.bias,
            ] {
                assert!(stats.max >= stats.rms * (1.0 - 1e-12) && stats.rms >= 0.0);
            }
            // vth is within half a unit of S·threshold / 64 ≥ 0.5.
            assert!(report.threshold.max <= 1.0);
        }
        for report in &lowered.report.projections {
            let written = &network.projections[report.projection];
            let projection = &n.projections[report.projection];
            assert!(projection.float_weights.is_none());
            assert!((-8..=7).contains(&projection.weight_exp));
            let mode = projection.sign_mode.unwrap_or_else(|| {
                crate::quantize::infer_sign_mode(projection.synapses.iter().map(|s| s.weight))
            });
            assert_eq!(mode, report.sign_mode);
            let (k, positive, negative) = grid(mode, projection.num_weight_bits);
            let scale = lowered
                .report
                .populations
                .iter()
                .find(|p| p.population == projection.to)
                .expect("target reported")
                .scale;
            let unit = 64.0 * 2f64.powi(i32::from(projection.weight_exp));
            for (i, synapse) in projection.synapses.iter().enumerate() {
                let w8 = f64::from(synapse.weight);
                assert!(w8 >= -negative && w8 <= positive && w8 % k == 0.0, "{w8}");
                // The compiler's Lava truncation leaves it as it is.
                let q = quantize_weight(synapse.weight, mode, projection.num_weight_bits);
                assert!(
                    !q.clipped && !q.truncated,
                    "{w8} {mode:?} {}",
                    projection.num_weight_bits
                );
                let w = written
                    .float_weights
                    .as_ref()
                    .expect("float weights")
                    .get(i);
                let kept = (w > 0.0 && positive > 0.0) || (w < 0.0 && negative > 0.0);
                if w != 0.0 && kept {
                    let x = scale * w / unit;
                    let rel = (w8 * unit / scale - w) / w;
                    assert!(
                        rel.abs() <= (k / 2.0) / x.abs() * (1.0 + 1e-9),
                        "weight {w}: w8 {w8}, x {x}, k {k}, relative error {rel}"
                    );
                }
            }
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn lowering_keeps_every_value_in_range((dt, populations, projections) in network(false)) {
            let text = describe(dt, &populations, &projections);
            let network = from_toml_str(&text, "random.toml", None)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            let lowered = lower(&network)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            check(&network, &lowered);
            let (owned, report) = lower_owned(network.clone())
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(&owned, &*lowered.network);
            prop_assert_eq!(report, lowered.report);
        }

        #[test]
        fn lowering_never_panics_on_extreme_values((dt, populations, projections) in network(true)) {
            let text = describe(dt, &populations, &projections);
            let network = from_toml_str(&text, "random.toml", None)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            match lower(&network) {
                Ok(lowered) => check(&network, &lowered),
                Err(e) => prop_assert!(matches!(e, PhysicalError::ThresholdUnderflow { .. }), "{e}"),
            }
        }
    }
}
