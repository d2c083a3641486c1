//! Applying a profile's rules to a group's synapses at the end of an epoch,
//! with the fixed-point arithmetic of Lava's `LearningRuleApplierBitApprox`
//! and `LearningConnectionModelBitApproximate`.

use crate::error::{LearningError, Target};
use crate::profile::LearningProfile;
use crate::rule::{Constant, Dependency, Factor, Product, Variable};
use crate::traces::{Epoch, EpochData};

/// Sign mode of a synapse group's weights (Lava's `SignMode`). A learning
/// group's mode is what the group was given; Lava's `LearningDense`
/// defaults to mixed whatever its weights are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignMode {
    /// Weights of either sign: −256..=255 once learned.
    #[default]
    Mixed,
    /// Weights ≥ 0: 0..=255 once learned.
    Excitatory,
    /// Weights ≤ 0: −255..=0 once learned.
    Inhibitory,
}

impl SignMode {
    /// The range a learned weight is clipped to. Lava clips to 8 bits of
    /// magnitude whatever the group's weight width.
    pub fn learned_range(self) -> (i32, i32) {
        match self {
            SignMode::Mixed => (-256, 255),
            SignMode::Excitatory => (0, 255),
            SignMode::Inhibitory => (-255, 0),
        }
    }
}

/// Range of the delay variable d (Lava's `tag_2`) once learned.
pub const DELAY_RANGE: (i32, i32) = (0, 255);
/// Range of the tag t (Lava's `tag_1`) once learned. The lower end is
/// reached only rarely: stochastic rounding takes the accumulator's floor
/// −32769 to −257 with probability 1/128.
pub const TAG_RANGE: (i32, i32) = (-257, 255);

/// The weight Lava's learning `Dense` uses from step 1: the given weight (on
/// the 8-bit scale) with the low bits a `num_weight_bits` mantissa cannot
/// hold dropped, magnitude first for inhibitory weights. Unlike the plain
/// `Dense`, nothing is clipped: 301 stays 300 until the first epoch's
/// update clips it to 255.
///
/// `num_weight_bits` is clamped to 1..=8.
pub fn truncate_initial_weight(weight: i32, sign_mode: SignMode, num_weight_bits: u8) -> i32 {
    let bits = u32::from(num_weight_bits.clamp(1, 8));
    let shift = 8 - bits + u32::from(sign_mode == SignMode::Mixed);
    if sign_mode == SignMode::Inhibitory {
        -((weight.saturating_neg() >> shift) << shift)
    } else {
        (weight >> shift) << shift
    }
}

/// How a group's synapses are laid out in its flat arrays.
#[derive(Debug, Clone, Copy)]
pub enum Layout<'a> {
    /// A full matrix in Lava's order, (post, pre) row-major: synapse
    /// `post * n_pre + pre`.
    Dense,
    /// Grouped by pre neuron (an input axon's run): the synapses of pre
    /// neuron `i` are `offsets[i]..offsets[i + 1]`, and `post[k]` is the
    /// post neuron of synapse `k`.
    ByPre {
        /// `n_pre + 1` ascending offsets, the last one the synapse count.
        offsets: &'a [u32],
        /// Post neuron of each synapse.
        post: &'a [u32],
    },
    /// Any order: the pre and post neuron of each synapse.
    Pairs {
        /// Pre neuron of each synapse.
        pre: &'a [u32],
        /// Post neuron of each synapse.
        post: &'a [u32],
    },
}

/// A learning group's synapses: their layout and their three learned
/// variables, one entry per synapse, on Lava's scale (weights on the 8-bit
/// scale of [`truncate_initial_weight`], not as mantissas).
#[derive(Debug)]
pub struct Synapses<'a> {
    /// Which neurons each synapse joins.
    pub layout: Layout<'a>,
    /// The weights' sign mode.
    pub sign_mode: SignMode,
    /// Weights.
    pub weights: &'a mut [i16],
    /// Delay variables d (Lava's `tag_2`). May be empty when the profile
    /// neither reads nor learns d: it then reads as 0.
    pub delays: &'a mut [i16],
    /// Tags t (Lava's `tag_1`). May be empty when the profile neither reads
    /// nor learns t.
    pub tags: &'a mut [i16],
}

/// What one [`apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    /// Synapses visited.
    pub synapses: u64,
    /// Synaptic variables updated: synapses times the targets given.
    pub updates: u64,
}

/// Accumulator bounds: 16 bits signed, with Lava's floor one below −2^15.
const ACC_MIN: i32 = -(1 << 15) - 1;
const ACC_MAX: i32 = (1 << 15) - 1;
/// Fractional bits of the accumulator: 16 − 9, for w, d and t alike.
const ACC_FRACTION: u32 = 7;

/// Applies the profile's rules to every synapse of a group at the end of an
/// epoch: `dw`, `dd` and `dt`, each reading the values before any update,
/// in the order and with the arithmetic described in the crate docs.
///
/// Call it once per epoch, with the [`Epoch`] that
/// [`Traces::end_step`](crate::Traces::end_step) returned. Nothing is
/// allocated.
pub fn apply(
    profile: &LearningProfile,
    epoch: &Epoch<'_>,
    synapses: Synapses<'_>,
) -> Result<Applied, LearningError> {
    let n_pre = epoch.traces.n_pre();
    let n_post = epoch.traces.n_post();
    let count = check_layout(&synapses, n_pre, n_post)?;
    let reads = |var: Variable, target: Target| {
        profile.rule(target).is_some()
            || profile.rules.iter().flatten().any(|rule| {
                rule.products
                    .iter()
                    .any(|p| p.factors.iter().any(|f| f.var == var))
            })
    };
    for (name, len, var, target) in [
        ("delays", synapses.delays.len(), Variable::D, Target::Dd),
        ("tags", synapses.tags.len(), Variable::T, Target::Dt),
    ] {
        let needed = reads(var, target);
        if len != count && (needed || len != 0) {
            return Err(LearningError::Layout(format!(
                "{name} hold {len} entries for {count} synapses{}",
                if needed {
                    " and the rule uses them"
                } else {
                    ""
                }
            )));
        }
    }
    let depends = |dependency: Dependency| {
        profile
            .rules
            .iter()
            .flatten()
            .any(|rule| rule.products.iter().any(|p| p.dependency == dependency))
    };
    let context = Context {
        profile,
        epoch: epoch.data(),
        t_epoch: epoch.t_epoch(),
        n_pre,
        n_post,
        sign_mode: synapses.sign_mode,
        on_x0: depends(Dependency::X0),
        on_y0: depends(Dependency::Y0),
        on_u: depends(Dependency::U) && epoch.data().u,
    };
    let Synapses {
        layout,
        weights,
        delays,
        tags,
        ..
    } = synapses;
    let mut vars = Vars {
        weights,
        delays,
        tags,
    };
    match layout {
        Layout::Dense => {
            for j in 0..n_post {
                for i in 0..n_pre {
                    context.update(&mut vars, j * n_pre + i, i, j);
                }
            }
        }
        Layout::ByPre { offsets, post } => {
            for (i, run) in offsets.windows(2).enumerate() {
                let (start, end) = (run[0] as usize, run[1] as usize);
                for (k, &j) in post.iter().enumerate().take(end).skip(start) {
                    context.update(&mut vars, k, i, j as usize);
                }
            }
        }
        Layout::Pairs { pre, post } => {
            for (k, (&i, &j)) in pre.iter().zip(post).enumerate() {
                context.update(&mut vars, k, i as usize, j as usize);
            }
        }
    }
    let targets = profile.rules.iter().flatten().count() as u64;
    Ok(Applied {
        synapses: count as u64,
        updates: count as u64 * targets,
    })
}

/// Checks the layout against the traces; returns the synapse count.
fn check_layout(
    synapses: &Synapses<'_>,
    n_pre: usize,
    n_post: usize,
) -> Result<usize, LearningError> {
    let layout_error = |message: String| Err(LearningError::Layout(message));
    let out_of_range = |indices: &[u32], n: usize| indices.iter().position(|&x| x as usize >= n);
    let count = match synapses.layout {
        Layout::Dense => n_pre * n_post,
        Layout::ByPre { offsets, post } => {
            if offsets.len() != n_pre + 1 {
                return layout_error(format!(
                    "{} offsets for {n_pre} pre neurons (expected {})",
                    offsets.len(),
                    n_pre + 1
                ));
            }
            if let Some(i) = offsets.windows(2).position(|w| w[0] > w[1]) {
                return layout_error(format!("offsets of pre neurons {i} and {} descend", i + 1));
            }
            if offsets.first().is_some_and(|&o| o != 0)
                || offsets.last().is_some_and(|&o| o as usize != post.len())
            {
                return layout_error(format!(
                    "offsets must run from 0 to the {} post entries",
                    post.len()
                ));
            }
            if let Some(k) = out_of_range(post, n_post) {
                return layout_error(format!("synapse {k}: post neuron {} of {n_post}", post[k]));
            }
            post.len()
        }
        Layout::Pairs { pre, post } => {
            if pre.len() != post.len() {
                return layout_error(format!("{} pre and {} post indices", pre.len(), post.len()));
            }
            if let Some(k) = out_of_range(pre, n_pre) {
                return layout_error(format!("synapse {k}: pre neuron {} of {n_pre}", pre[k]));
            }
            if let Some(k) = out_of_range(post, n_post) {
                return layout_error(format!("synapse {k}: post neuron {} of {n_post}", post[k]));
            }
            pre.len()
        }
    };
    if synapses.weights.len() != count {
        return layout_error(format!(
            "weights hold {} entries for {count} synapses",
            synapses.weights.len()
        ));
    }
    Ok(count)
}

struct Vars<'a> {
    weights: &'a mut [i16],
    delays: &'a mut [i16],
    tags: &'a mut [i16],
}

struct Context<'a> {
    profile: &'a LearningProfile,
    epoch: &'a EpochData,
    t_epoch: usize,
    n_pre: usize,
    n_post: usize,
    sign_mode: SignMode,
    /// Whether some product depends on x0, on y0, and on an active u_k: a
    /// synapse whose pre and post did not spike in the epoch (and no u_k
    /// fires) has every product 0.
    on_x0: bool,
    on_y0: bool,
    on_u: bool,
}

impl Context<'_> {
    /// Updates synapse `k` from pre neuron `i` to post neuron `j`.
    fn update(&self, vars: &mut Vars<'_>, k: usize, i: usize, j: usize) {
        // Most synapses of a large group saw no spike in the epoch: every
        // product is 0, so only the clamp and the rounding are left, and a
        // value in its range (with no fraction) rounds to itself: the
        // sign-mode floor is within the range.
        let spiked = (self.on_x0 && self.epoch.tx[i] > 0) || (self.on_y0 && self.epoch.ty[j] > 0);
        let idle = !self.on_u && !spiked;
        let settled = |target: Target, value: Option<&i16>| {
            let value = value.map_or(0, |&v| i32::from(v));
            let (lo, hi) = self.range(target);
            let acc = value << ACC_FRACTION;
            (lo..=hi).contains(&value) && acc == acc.clamp(ACC_MIN, ACC_MAX)
        };
        if idle
            && Target::ALL.into_iter().all(|target| {
                self.profile.rule(target).is_none()
                    || settled(
                        target,
                        match target {
                            Target::Dw => vars.weights.get(k),
                            Target::Dd => vars.delays.get(k),
                            Target::Dt => vars.tags.get(k),
                        },
                    )
            })
        {
            return;
        }
        let (w, d, t) = (
            i32::from(vars.weights[k]),
            vars.delays.get(k).map_or(0, |&d| i32::from(d)),
            vars.tags.get(k).map_or(0, |&t| i32::from(t)),
        );
        let old = [w, d, t];
        // Built from the values, not copied from `old`: a copy reads the
        // array as it is still being stored, which stalls.
        let mut new = [w, d, t];
        for target in Target::ALL {
            if let Some(rule) = self.profile.rule(target) {
                let mut acc = old[target.index()] << ACC_FRACTION;
                if idle {
                    if !rule.products.is_empty() {
                        acc = acc.clamp(ACC_MIN, ACC_MAX);
                    }
                } else {
                    for product in &rule.products {
                        let p = self.product(product, old, i, j);
                        acc = (acc + p).clamp(ACC_MIN, ACC_MAX);
                    }
                }
                new[target.index()] = self.round(target, acc);
            }
        }
        // Every value below was clipped to at most 9 bits.
        vars.weights[k] = new[0] as i16;
        if let Some(d) = vars.delays.get_mut(k) {
            *d = new[1] as i16;
        }
        if let Some(t) = vars.tags.get_mut(k) {
            *t = new[2] as i16;
        }
    }

    /// One product in accumulator units (2^−7 of the variable).
    fn product(&self, product: &Product, old: [i32; 3], i: usize, j: usize) -> i32 {
        let epoch = self.epoch;
        let (on, h) = match product.dependency {
            Dependency::X0 => (epoch.tx[i] > 0, usize::from(epoch.tx[i])),
            Dependency::Y0 => (epoch.ty[j] > 0, usize::from(epoch.ty[j])),
            Dependency::U => (epoch.u, self.t_epoch),
        };
        if !on {
            return 0;
        }
        let mut value: i32 = 1;
        for factor in &product.factors {
            let raw = match factor.var {
                Variable::X0 => i32::from(epoch.tx[i] > 0),
                Variable::Y0 => i32::from(epoch.ty[j] > 0),
                Variable::X1 => epoch.history[0][h * self.n_pre + i],
                Variable::X2 => epoch.history[1][h * self.n_pre + i],
                Variable::Y1 => epoch.history[2][h * self.n_post + j],
                Variable::Y2 => epoch.history[3][h * self.n_post + j],
                Variable::Y3 => epoch.history[4][h * self.n_post + j],
                Variable::W => old[0],
                Variable::D => old[1],
                Variable::T => old[2],
            };
            // Lava multiplies in int32 and wraps silently.
            value = value.wrapping_mul(factor_value(factor, raw));
        }
        value = value.wrapping_mul(i32::from(product.mantissa));
        value = if product.shift < 32 {
            value >> product.shift
        } else if value < 0 {
            -1
        } else {
            0
        };
        // The exponent is −7..=8, so the left shift is 0..=15.
        let left = (i32::from(product.exponent) + ACC_FRACTION as i32) as u32;
        value.wrapping_shl(left).clamp(ACC_MIN, ACC_MAX)
    }

    /// From the accumulator to the variable: sign-mode floor, stochastic
    /// rounding of the 7 fractional bits, clipping to the variable's range.
    fn round(&self, target: Target, acc: i32) -> i32 {
        let acc = match (target, self.sign_mode) {
            (Target::Dw, SignMode::Excitatory) | (Target::Dd, _) => acc.max(0),
            (Target::Dw, SignMode::Inhibitory) => acc.min(0),
            _ => acc,
        };
        let fraction = f64::from(acc & ((1 << ACC_FRACTION) - 1)) / 128.0;
        let rounded = (acc >> ACC_FRACTION) + i32::from(self.epoch.r_synaptic < fraction);
        let (lo, hi) = self.range(target);
        rounded.clamp(lo, hi)
    }

    /// The range a target's variable is clipped to.
    fn range(&self, target: Target) -> (i32, i32) {
        match target {
            Target::Dw => self.sign_mode.learned_range(),
            Target::Dd => DELAY_RANGE,
            Target::Dt => TAG_RANGE,
        }
    }
}

/// A factor's value: its variable plus its constant, clipped to the
/// variable's width (or the sign of the sum, for `sgn()`). Fractional
/// constants are added in double precision and the sum truncated toward
/// zero, as Lava's int32 cast does.
pub(crate) fn factor_value(factor: &Factor, raw: i32) -> i32 {
    let width = factor.var.width();
    let (lo, hi) = (-(1i64 << width), (1i64 << width) - 1);
    match factor.constant.unwrap_or(Constant::Int(0)) {
        Constant::Int(c) => {
            let sum = i64::from(raw) + c;
            if factor.sgn {
                sum.signum() as i32
            } else {
                // Within ±512 after the clip.
                sum.clamp(lo, hi) as i32
            }
        }
        Constant::Float(c) => {
            let sum = f64::from(raw) + c;
            if factor.sgn {
                if sum > 0.0 {
                    1
                } else if sum < 0.0 {
                    -1
                } else {
                    0
                }
            } else {
                sum.clamp(lo as f64, hi as f64) as i32
            }
        }
    }
}
