//! One core at run time: neuron state as structure of arrays, the update of
//! all its neurons in one branch-free loop, and the routing tables the
//! counters and the time model read.
//!
//! The synaptic input a core's neurons take each step lives in the delivery
//! fabric (`fabric.rs`), which hands [`CoreState::update_neurons`] the slice
//! of its delay ring for the step.

use neurite_program::{AxonAddress, Core, Run, SynapseKind};

use crate::Var;
use crate::neuron::{LifConstants, Reset, decay32, wrap_u32};

/// Voltage saturates at ±(2^23 − 1).
const V_LIMIT: i32 = (1 << 23) - 1;

/// Position of a synapse kind in per-kind tables: dense, sparse, convolutional.
pub(crate) fn kind_index(kind: SynapseKind) -> usize {
    match kind {
        SynapseKind::Dense => 0,
        SynapseKind::Sparse => 1,
        SynapseKind::Convolutional => 2,
    }
}

/// A core's neuron arrays are padded to a multiple of this many lanes, and
/// updated in blocks of it, so that the update is vector code alone (no
/// scalar remainder per core). Padding neurons have no synapses, and their
/// state is never read.
pub(crate) const LANES: usize = 16;

/// The padded length of `n` neurons.
pub(crate) fn lanes(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

/// The constants of a core's neurons, per neuron as columns, or one set when
/// every neuron shares them (the common case: the update then reads only u,
/// v and the input). Columns are padded with constants that keep padding
/// neurons at rest: no bias, no decay, the highest threshold.
#[derive(Debug)]
enum Params {
    Uniform(LifConstants),
    Columns {
        keep_u: Vec<i32>,
        keep_v: Vec<i32>,
        bias: Vec<i32>,
        theta: Vec<i32>,
        refractory: Vec<i32>,
        residue: Vec<i32>,
    },
}

/// One neuron's constants, as the update loop reads them.
#[derive(Debug, Clone, Copy)]
struct Constants {
    keep_u: i32,
    keep_v: i32,
    bias: i32,
    theta: i32,
    refractory: i32,
    /// Mask of what a spike leaves of v − θ: 0 (reset to zero) or all ones
    /// (reset by subtraction), so that the reset needs no branch.
    residue: i32,
}

/// The [`Constants::residue`] mask of a reset.
fn residue_mask(reset: Reset) -> i32 {
    match reset {
        Reset::Zero => 0,
        Reset::Subtract => -1,
    }
}

impl From<LifConstants> for Constants {
    fn from(c: LifConstants) -> Self {
        Self {
            keep_u: c.keep_u,
            keep_v: c.keep_v,
            bias: c.bias,
            theta: c.theta,
            refractory: i32::from(c.refractory),
            residue: residue_mask(c.reset),
        }
    }
}

/// The constants of a block of [`LANES`] neurons; inlined into the update
/// loop, so that the uniform case reads no memory at all.
trait ConstantsAt: Copy {
    /// The constants of the block starting at neuron `start`.
    fn block(self, start: usize) -> Self;
    /// Neuron `i` of the block.
    fn at(&self, i: usize) -> Constants;
}

impl ConstantsAt for Constants {
    #[inline(always)]
    fn block(self, _: usize) -> Self {
        self
    }

    #[inline(always)]
    fn at(&self, _: usize) -> Constants {
        *self
    }
}

#[derive(Clone, Copy)]
struct ColumnsRef<'a> {
    keep_u: &'a [i32],
    keep_v: &'a [i32],
    bias: &'a [i32],
    theta: &'a [i32],
    refractory: &'a [i32],
    residue: &'a [i32],
}

impl ConstantsAt for ColumnsRef<'_> {
    #[inline(always)]
    fn block(self, start: usize) -> Self {
        // Slices of LANES entries: the loop needs no bounds checks.
        let range = start..start + LANES;
        Self {
            keep_u: &self.keep_u[range.clone()],
            keep_v: &self.keep_v[range.clone()],
            bias: &self.bias[range.clone()],
            theta: &self.theta[range.clone()],
            refractory: &self.refractory[range.clone()],
            residue: &self.residue[range],
        }
    }

    #[inline(always)]
    fn at(&self, i: usize) -> Constants {
        Constants {
            keep_u: self.keep_u[i],
            keep_v: self.keep_v[i],
            bias: self.bias[i],
            theta: self.theta[i],
            refractory: self.refractory[i],
            residue: self.residue[i],
        }
    }
}

/// What one pass over a core's neurons found.
#[derive(Debug, Clone, Copy, Default)]
struct Pass {
    active: u32,
    /// Non-zero if a neuron (or a padding neuron) spiked.
    spiked: u8,
    /// OR of every u, v and refractory counter after the update: 0 when the
    /// core is at rest.
    state: i32,
}

/// One timestep of every neuron of a core (the arithmetic of
/// [`crate::neuron::lif_step`], in 32-bit lanes and without branches, so
/// that the compiler vectorizes it), [`LANES`] neurons at a time; every
/// slice is padded to a multiple of it. `REFRACTORY` is false when no
/// neuron has a refractory period: `refractory_left` then stays 0 and is not
/// read. `REST` asks for [`Pass::state`]; `COUNT` for [`Pass::active`]
/// (without it, every neuron counts as active: for a bias shared by all and
/// not 0).
#[inline(always)]
fn update<const REFRACTORY: bool, const REST: bool, const COUNT: bool>(
    u: &mut [i32],
    v: &mut [i32],
    refractory_left: &mut [i32],
    input: &mut [i32],
    flags: &mut [u8],
    constants: impl ConstantsAt,
) -> Pass {
    let mut pass = Pass::default();
    let blocks = u
        .chunks_exact_mut(LANES)
        .zip(v.chunks_exact_mut(LANES))
        .zip(refractory_left.chunks_exact_mut(LANES))
        .zip(input.chunks_exact_mut(LANES))
        .zip(flags.chunks_exact_mut(LANES));
    for (b, ((((u, v), refractory_left), input), flags)) in blocks.enumerate() {
        let constants = constants.block(b * LANES);
        for i in 0..LANES {
            let c = constants.at(i);
            let a = std::mem::take(&mut input[i]);
            let (u0, v0) = (u[i], v[i]);
            if COUNT {
                pass.active += u32::from((a | c.bias | u0 | v0) != 0);
            }
            let u1 = wrap_u32(decay32(u0, c.keep_u).wrapping_add(a.wrapping_shl(6)));
            let v1 = (decay32(v0, c.keep_v) + u1 + c.bias).clamp(-V_LIMIT, V_LIMIT);
            u[i] = u1;
            // v after a spike: 0, or v − θ (in (0, 2^23 − 1] when it is
            // taken; wrapping because padding lanes compute it too).
            let reset = v1.wrapping_sub(c.theta) & c.residue;
            let spiked;
            if REFRACTORY {
                let r = refractory_left[i];
                let held = r > 0;
                spiked = !held & (v1 > c.theta);
                v[i] = if held {
                    v0
                } else if spiked {
                    reset
                } else {
                    v1
                };
                let r1 = if held {
                    r - 1
                } else if spiked {
                    c.refractory
                } else {
                    0
                };
                refractory_left[i] = r1;
                if REST {
                    pass.state |= r1;
                }
            } else {
                spiked = v1 > c.theta;
                v[i] = if spiked { reset } else { v1 };
            }
            flags[i] = u8::from(spiked);
            pass.spiked |= u8::from(spiked);
            if REST {
                pass.state |= u[i] | v[i];
            }
        }
    }
    pass
}

/// A core's neuron state as [`update`] takes it: every slice padded to a
/// multiple of [`LANES`].
struct Lanes<'a> {
    u: &'a mut [i32],
    v: &'a mut [i32],
    refractory_left: &'a mut [i32],
    input: &'a mut [i32],
    flags: &'a mut [u8],
}

/// [`update`] specialised to a core's constants: whether some neuron has a
/// refractory period, and whether no neuron is biased. Inlined into each
/// instruction set's entry in [`dispatch`].
#[inline(always)]
fn update_all(params: &Params, refractory: bool, no_bias: bool, state: Lanes<'_>) -> Pass {
    let Lanes {
        u,
        v,
        refractory_left: r,
        input,
        flags,
    } = state;
    match (params, refractory, no_bias) {
        // A shared bias: every neuron is active, or none is biased.
        (Params::Uniform(c), false, false) => {
            update::<false, false, false>(u, v, r, input, flags, Constants::from(*c))
        }
        (Params::Uniform(c), false, true) => {
            update::<false, true, true>(u, v, r, input, flags, Constants::from(*c))
        }
        (Params::Uniform(c), true, false) => {
            update::<true, false, false>(u, v, r, input, flags, Constants::from(*c))
        }
        (Params::Uniform(c), true, true) => {
            update::<true, true, true>(u, v, r, input, flags, Constants::from(*c))
        }
        (
            Params::Columns {
                keep_u,
                keep_v,
                bias,
                theta,
                refractory,
                residue,
            },
            with_refractory,
            rest,
        ) => {
            let columns = ColumnsRef {
                keep_u,
                keep_v,
                bias,
                theta,
                refractory,
                residue,
            };
            match (with_refractory, rest) {
                (false, false) => update::<false, false, true>(u, v, r, input, flags, columns),
                (false, true) => update::<false, true, true>(u, v, r, input, flags, columns),
                (true, false) => update::<true, false, true>(u, v, r, input, flags, columns),
                (true, true) => update::<true, true, true>(u, v, r, input, flags, columns),
            }
        }
    }
}

/// The instruction set the neuron update is compiled for: the portable
/// build (SSE2 on x86-64), or, on x86-64 processors that have it, AVX2.
/// The arithmetic is the same Rust code either way, so the results are too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isa {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Isa {
    /// The best instruction set of this processor (std caches the
    /// detection).
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Self::Avx2;
        }
        Self::Portable
    }
}

/// The one place the update enters code compiled for a detected
/// instruction set.
#[allow(unsafe_code)]
mod dispatch {
    use super::{Isa, Lanes, Params, Pass};

    /// [`super::update_all`] for the instruction set `isa`.
    pub(super) fn update_all(
        isa: Isa,
        params: &Params,
        refractory: bool,
        no_bias: bool,
        state: Lanes<'_>,
    ) -> Pass {
        match isa {
            Isa::Portable => super::update_all(params, refractory, no_bias, state),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx2` comes only from `Isa::detect`, which
            // found AVX2 on this processor at run time.
            Isa::Avx2 => unsafe { update_all_avx2(params, refractory, no_bias, state) },
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn update_all_avx2(params: &Params, refractory: bool, no_bias: bool, state: Lanes<'_>) -> Pass {
        super::update_all(params, refractory, no_bias, state)
    }
}

#[derive(Debug)]
pub(crate) struct CoreState {
    /// Physical core this one occupies.
    pub(crate) location: u32,
    /// Neurons, and the length of the padded arrays (`lanes(n)`).
    n: usize,
    lanes: usize,
    params: Params,
    /// The instruction set the update runs with.
    isa: Isa,
    /// Some neuron has a refractory period.
    refractory: bool,
    /// Neurons with a bias other than 0. With none, no input and all state
    /// at 0, an update changes nothing and is skipped.
    biased: usize,
    /// Bias mantissa and exponent of each neuron, as the Program gives them
    /// (`params` holds their product).
    bias_mant: Vec<i16>,
    bias_exp: Vec<u8>,
    /// Per neuron and padding neuron.
    u: Vec<i32>,
    v: Vec<i32>,
    refractory_left: Vec<i32>,
    /// Per neuron (and padding neuron), 1 if it spiked in the last step.
    spikes: Vec<u8>,
    spike_counts: Vec<u64>,
    /// u, v and the refractory counters are all 0 (known after an update of
    /// a core without bias). A cache: every write to the state clears it.
    resting: bool,
    /// Active updates and spikes of the last step, and whether any neuron
    /// or padding neuron spiked.
    last_active: u64,
    last_spikes: u64,
    spiked_any: bool,
    /// Per axon, the synapse entries of its run by kind (dense, sparse,
    /// convolutional): the synaptic operations a spike on it costs.
    axon_entries: Vec<[u32; 3]>,
    routes: Vec<Run>,
    destinations: Vec<AxonAddress>,
}

impl CoreState {
    /// Builds the run-time form of a validated core.
    pub(crate) fn new(core: &Core) -> Self {
        let n = core.neurons.len();
        let neurons = &core.neurons;
        let constants: Vec<LifConstants> = (0..n)
            .map(|i| {
                let p = core.profiles[usize::from(neurons.profile[i].0)];
                LifConstants::new(
                    p.du,
                    p.dv,
                    p.vth,
                    neurons.bias_mant[i],
                    neurons.bias_exp[i],
                    p.refractory,
                )
                .with_reset(p.reset)
            })
            .collect();
        let lanes = lanes(n);
        let params = match constants.first() {
            Some(&first) if constants.iter().any(|&c| c != first) => {
                let column = |f: &dyn Fn(&LifConstants) -> i32, pad: i32| -> Vec<i32> {
                    let mut column: Vec<i32> = constants.iter().map(f).collect();
                    column.resize(lanes, pad);
                    column
                };
                Params::Columns {
                    keep_u: column(&|c| c.keep_u, 0),
                    keep_v: column(&|c| c.keep_v, 0),
                    bias: column(&|c| c.bias, 0),
                    theta: column(&|c| c.theta, i32::MAX),
                    refractory: column(&|c| i32::from(c.refractory), 0),
                    residue: column(&|c| residue_mask(c.reset), 0),
                }
            }
            first => Params::Uniform(
                first
                    .copied()
                    .unwrap_or(LifConstants::new(0, 0, 0, 0, 0, 0)),
            ),
        };
        let padded = |values: &[i32]| {
            let mut padded = values.to_vec();
            padded.resize(lanes, 0);
            padded
        };
        Self {
            location: core.location,
            n,
            lanes,
            params,
            isa: Isa::detect(),
            refractory: constants.iter().any(|c| c.refractory > 0),
            biased: constants.iter().filter(|c| c.bias != 0).count(),
            bias_mant: neurons.bias_mant.clone(),
            bias_exp: neurons.bias_exp.clone(),
            u: padded(&neurons.u),
            v: padded(&neurons.v),
            refractory_left: vec![0; lanes],
            spikes: vec![0; lanes],
            spike_counts: vec![0; n],
            resting: false,
            last_active: 0,
            last_spikes: 0,
            spiked_any: false,
            axon_entries: core
                .axons
                .iter()
                .map(|run| {
                    let mut by_kind = [0u32; 3];
                    for s in &core.synapses[run.range()] {
                        by_kind[kind_index(core.groups[usize::from(s.group.0)].kind)] += 1;
                    }
                    by_kind
                })
                .collect(),
            routes: core.routes.clone(),
            destinations: core.destinations.clone(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.n
    }

    /// The length of the core's padded arrays.
    pub(crate) fn lanes(&self) -> usize {
        self.lanes
    }

    /// Step 1 of a timestep: every neuron consumes its input for the step,
    /// `input` (one entry per neuron and padding neuron, left at 0). A core at
    /// rest without bias and without input is skipped: its update would
    /// change nothing.
    pub(crate) fn update_neurons(&mut self, input: &mut [i32]) {
        let input = &mut input[..self.lanes];
        if self.resting && input.iter().fold(0, |acc, &a| acc | a) == 0 {
            if self.spiked_any {
                self.spikes.fill(0);
                self.spiked_any = false;
            }
            self.last_active = 0;
            self.last_spikes = 0;
            return;
        }
        let no_bias = self.biased == 0;
        let state = Lanes {
            u: &mut self.u,
            v: &mut self.v,
            refractory_left: &mut self.refractory_left,
            input,
            flags: &mut self.spikes,
        };
        let pass = dispatch::update_all(self.isa, &self.params, self.refractory, no_bias, state);
        self.resting = no_bias && pass.state == 0;
        // Without COUNT every neuron is active; padding neurons never are.
        self.last_active = if no_bias || matches!(self.params, Params::Columns { .. }) {
            u64::from(pass.active)
        } else {
            self.n as u64
        };
        self.spiked_any = pass.spiked != 0;
        self.last_spikes = 0;
    }

    /// Appends `base + i` for every neuron i that spiked in the last step,
    /// in increasing order, and counts the spikes (call after every update).
    pub(crate) fn collect_spikes(&mut self, base: u32, out: &mut Vec<u32>) {
        if !self.spiked_any {
            return;
        }
        let before = out.len();
        // The flags are padded to a multiple of 8: read them 8 at a time.
        for (w, chunk) in self.spikes.chunks_exact(8).enumerate() {
            let mut bits = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            while bits != 0 {
                let i = w * 8 + (bits.trailing_zeros() / 8) as usize;
                if i >= self.n {
                    break;
                }
                out.push(base + i as u32);
                self.spike_counts[i] += 1;
                bits &= bits - 1;
            }
        }
        self.last_spikes = (out.len() - before) as u64;
    }

    /// Neurons that spiked in the last step, in increasing order.
    pub(crate) fn spiking(&self) -> impl Iterator<Item = usize> + '_ {
        // Flags 8 at a time, as in `collect_spikes`; the scan stops at the
        // last spike of the step.
        let n = self.n;
        self.spikes
            .chunks_exact(8)
            .take(if self.spiked_any { usize::MAX } else { 0 })
            .enumerate()
            .flat_map(|(w, chunk)| {
                let mut bits = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
                std::iter::from_fn(move || {
                    if bits == 0 {
                        return None;
                    }
                    let byte = bits.trailing_zeros() / 8;
                    bits &= !(0xff << (byte * 8));
                    Some(w * 8 + byte as usize)
                })
            })
            .take_while(move |&i| i < n)
            .take(self.last_spikes as usize)
    }

    /// Active updates and spikes of the last step.
    pub(crate) fn last_counts(&self) -> (u64, u64) {
        (self.last_active, self.last_spikes)
    }

    /// Whether any neuron's spikes go to an axon.
    pub(crate) fn routes_anywhere(&self) -> bool {
        !self.destinations.is_empty()
    }

    /// Where neuron `i`'s spikes go.
    pub(crate) fn destinations_of(&self, i: usize) -> &[AxonAddress] {
        &self.destinations[self.routes[i].range()]
    }

    /// Every neuron's destinations, neuron after neuron.
    pub(crate) fn destinations(&self) -> &[AxonAddress] {
        &self.destinations
    }

    /// Where neuron `i`'s destinations lie in [`CoreState::destinations`].
    pub(crate) fn route_range(&self, i: usize) -> std::ops::Range<usize> {
        self.routes[i].range()
    }

    /// Synapse entries read, by kind, when `axon` receives a spike.
    pub(crate) fn axon_entries(&self, axon: u32) -> [u32; 3] {
        self.axon_entries[axon as usize]
    }

    pub(crate) fn spiked(&self, neuron: usize) -> bool {
        self.spikes[neuron] != 0
    }

    pub(crate) fn spike_count(&self, neuron: usize) -> u64 {
        self.spike_counts[neuron]
    }

    /// Spikes of every neuron since creation.
    pub(crate) fn spike_counts(&self) -> &[u64] {
        &self.spike_counts
    }

    pub(crate) fn get(&self, var: Var, neuron: usize) -> i32 {
        match var {
            Var::U => self.u[neuron],
            Var::V => self.v[neuron],
            Var::BiasMant => i32::from(self.bias_mant[neuron]),
            Var::BiasExp => i32::from(self.bias_exp[neuron]),
            Var::SpikeCount => i32::try_from(self.spike_counts[neuron]).unwrap_or(i32::MAX),
        }
    }

    /// Sets a variable of a neuron; the value must be in its range (the
    /// caller checks).
    pub(crate) fn set(&mut self, var: Var, neuron: usize, value: i32) {
        match var {
            Var::U => self.u[neuron] = value,
            Var::V => self.v[neuron] = value,
            Var::BiasMant => self.bias_mant[neuron] = value as i16,
            Var::BiasExp => self.bias_exp[neuron] = value as u8,
            // Read-only: `Emulator::write_range` refuses it.
            Var::SpikeCount => {}
        }
        if matches!(var, Var::BiasMant | Var::BiasExp) {
            let bias = i32::from(self.bias_mant[neuron]) << self.bias_exp[neuron];
            let old = self.bias_of(neuron);
            if bias != old {
                self.biased = self.biased + usize::from(bias != 0) - usize::from(old != 0);
                self.columns().bias[neuron] = bias;
            }
        }
        // The state may have left rest.
        self.resting = false;
    }

    fn bias_of(&self, neuron: usize) -> i32 {
        match &self.params {
            Params::Uniform(c) => c.bias,
            Params::Columns { bias, .. } => bias[neuron],
        }
    }

    /// The per-neuron columns, made from the shared constants if need be.
    fn columns(&mut self) -> ColumnsMut<'_> {
        if let Params::Uniform(c) = self.params {
            let (n, lanes) = (self.n, self.lanes);
            let column = |value: i32, pad: i32| {
                let mut column = vec![value; n];
                column.resize(lanes, pad);
                column
            };
            self.params = Params::Columns {
                keep_u: column(c.keep_u, 0),
                keep_v: column(c.keep_v, 0),
                bias: column(c.bias, 0),
                theta: column(c.theta, i32::MAX),
                refractory: column(i32::from(c.refractory), 0),
                residue: column(residue_mask(c.reset), 0),
            };
            // Padding neurons ran with the shared bias: put them at rest,
            // where their new constants keep them.
            for values in [&mut self.u, &mut self.v, &mut self.refractory_left] {
                values[n..].fill(0);
            }
        }
        match &mut self.params {
            Params::Columns { bias, .. } => ColumnsMut { bias },
            Params::Uniform(_) => unreachable!("made columns above"),
        }
    }
}

/// The writable columns of a core's constants.
struct ColumnsMut<'a> {
    bias: &'a mut Vec<i32>,
}

#[cfg(test)]
mod tests {
    use neurite_program::{Core, NeuronModel, NeuronProfile, Neurons, ProfileId, Reset, Run};

    use super::{CoreState, Isa};
    use crate::Var;

    /// xorshift64*: a small deterministic generator.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn range(&mut self, lo: i64, hi: i64) -> i64 {
            lo + (self.next() % (hi - lo + 1) as u64) as i64
        }
    }

    /// A core of `n` neurons without synapses, over `profiles` random
    /// profiles; `refractory` and `biased` say whether profiles may have a
    /// refractory period and neurons a bias.
    fn core(rng: &mut Rng, n: usize, profiles: usize, refractory: bool, biased: bool) -> Core {
        let profiles: Vec<NeuronProfile> = (0..profiles)
            .map(|_| NeuronProfile {
                model: NeuronModel::Lif,
                du: rng.range(0, 4095) as u16,
                dv: [0, 1, rng.range(0, 4095)][rng.range(0, 2) as usize] as u16,
                vth: rng.range(0, 3000) as u32,
                refractory: if refractory { rng.range(0, 4) as u8 } else { 0 },
                reset: if rng.next().is_multiple_of(2) {
                    Reset::Zero
                } else {
                    Reset::Subtract
                },
            })
            .collect();
        let count = profiles.len();
        // One shared bias, or one per neuron.
        let (mant, exp) = (rng.range(-4096, 4095) as i16, rng.range(0, 7) as u8);
        let per_neuron = rng.next().is_multiple_of(2);
        let bias = |rng: &mut Rng| match (biased, per_neuron) {
            (false, _) => (0, 0),
            (true, false) => (mant, exp),
            (true, true) => (rng.range(-4096, 4095) as i16, rng.range(0, 7) as u8),
        };
        let biases: Vec<(i16, u8)> = (0..n).map(|_| bias(rng)).collect();
        Core {
            location: 0,
            profiles,
            neurons: Neurons {
                profile: (0..n)
                    .map(|_| ProfileId(rng.range(0, count as i64 - 1) as u16))
                    .collect(),
                bias_mant: biases.iter().map(|b| b.0).collect(),
                bias_exp: biases.iter().map(|b| b.1).collect(),
                u: (0..n)
                    .map(|_| rng.range(-(1 << 20), 1 << 20) as i32)
                    .collect(),
                v: (0..n)
                    .map(|_| rng.range(-(1 << 20), 1 << 20) as i32)
                    .collect(),
            },
            groups: Vec::new(),
            axons: Vec::new(),
            synapses: Vec::new(),
            routes: vec![Run { start: 0, len: 0 }; n],
            destinations: Vec::new(),
            learning: Vec::new(),
        }
    }

    /// Everything a step leaves in a core, padding lanes included.
    fn assert_same(fast: &CoreState, portable: &CoreState, what: &str) {
        assert_eq!(fast.u, portable.u, "u, {what}");
        assert_eq!(fast.v, portable.v, "v, {what}");
        assert_eq!(
            fast.refractory_left, portable.refractory_left,
            "refractory, {what}"
        );
        assert_eq!(fast.spikes, portable.spikes, "spikes, {what}");
        assert_eq!(fast.last_counts(), portable.last_counts(), "counts, {what}");
        assert_eq!(fast.resting, portable.resting, "rest, {what}");
        assert_eq!(
            fast.spike_counts, portable.spike_counts,
            "spike counts, {what}"
        );
    }

    /// The update compiled for the processor's best instruction set (AVX2
    /// where there is one) and the portable build agree on every neuron and
    /// padding neuron, step after step: shared and per-neuron constants,
    /// with and without refractory periods and bias, both resets, input
    /// from none to wrapping.
    #[test]
    fn instruction_sets_agree() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut spikes = 0;
        for case in 0..96 {
            let n = [1, 15, 16, 37, 100, 1000][case % 6];
            let profiles = 1 + (case / 6) % 3;
            let (refractory, biased) = ((case / 18) % 2 == 0, (case / 36) % 2 == 0);
            let core = core(&mut rng, n, profiles, refractory, biased);
            let mut fast = CoreState::new(&core);
            let mut portable = CoreState::new(&core);
            portable.isa = Isa::Portable;
            let lanes = fast.lanes();
            let (mut out_fast, mut out_portable) = (Vec::new(), Vec::new());
            for step in 0..300 {
                // Quiet steps (the core may come to rest), small input,
                // input reaching the threshold, and input wrapping u.
                let scale = [0, 0, 1 << 8, 1 << 12, 1 << 16, 1 << 30][rng.range(0, 5) as usize];
                let mut input: Vec<i32> = (0..lanes)
                    .map(|i| {
                        if i < n && scale != 0 {
                            rng.range(-scale / 4, scale) as i32
                        } else {
                            0
                        }
                    })
                    .collect();
                // Per-neuron columns made from shared constants mid-run.
                if step == 150 && n > 3 {
                    let bias = rng.range(-4096, 4095) as i32;
                    fast.set(Var::BiasMant, 3, bias);
                    portable.set(Var::BiasMant, 3, bias);
                }
                let mut copy = input.clone();
                fast.update_neurons(&mut input);
                portable.update_neurons(&mut copy);
                assert!(input.iter().chain(&copy).all(|&a| a == 0));
                out_fast.clear();
                out_portable.clear();
                fast.collect_spikes(7, &mut out_fast);
                portable.collect_spikes(7, &mut out_portable);
                assert_eq!(out_fast, out_portable);
                spikes += out_fast.len();
                assert_same(&fast, &portable, &format!("case {case}, step {step}"));
            }
        }
        // The networks do spike.
        assert!(spikes > 10_000, "{spikes} spikes");
    }

    #[test]
    fn avx2_is_used_where_present() {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            assert_eq!(Isa::detect(), Isa::Avx2);
        }
    }
}
