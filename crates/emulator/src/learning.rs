//! On-chip learning: each learning synapse group keeps its traces, records
//! the spikes of every step, and at its epoch's end updates its synapses
//! with the learning engine (`neurite-learning`).
//!
//! A group's synapses are delivered here, not by the fabric, from the
//! group's own weights, which its epochs update in place: at the end of
//! step t, the step's spikes add their weights into the input of step
//! t + 1 + delay (where the fabric would add them at the start of step
//! t + 1), before the epoch's update, so the spikes of an epoch's last step
//! still meet the old weights and new weights are first used for the spikes
//! of the step after the epoch ends, as in Lava.
//!
//! Learning runs on the caller's thread after the cores' update, in core and
//! group order; every random number is a function of the seed and the step,
//! so results do not depend on the number of threads.

use std::collections::HashMap;

use neurite_learning::{
    Layout, LearningProfile, PostNeuronTrace, SignMode, Synapses, Trace, Traces, apply,
};
use neurite_program::{GroupId, Program};

use crate::fabric::Fabric;
use crate::{EmulatorError, SynapseVar};

/// What the learning of all groups has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LearningCounts {
    /// Learning epochs ended, summed over groups.
    pub epochs: u64,
    /// Synaptic variables updated (weights, delay variables and tags: one
    /// per synapse and rule given, per epoch).
    pub synaptic_updates: u64,
    /// Trace values worked out at epoch ends: two per pre axon, three per
    /// post neuron of each group, per epoch.
    pub trace_updates: u64,
}

/// The learned state of one projection, gathered from every core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedSynapses {
    /// Pre neurons of the projection.
    pub n_pre: u32,
    /// Post neurons of the projection.
    pub n_post: u32,
    /// Every synapse as (pre, post, weight, tag, delay variable), sorted by
    /// (pre, post); weights on the 8-bit scale.
    pub synapses: Vec<(u32, u32, i16, i16, i16)>,
}

#[derive(Debug, Clone)]
struct Group {
    core: usize,
    group: GroupId,
    projection: String,
    profile: LearningProfile,
    traces: Traces,
    sign_mode: SignMode,
    /// Per synapse of the group (synapse memory order): its entry in the
    /// core's synapse memory, pre and post neuron.
    entries: Vec<u32>,
    pre: Vec<u32>,
    post: Vec<u32>,
    weights: Vec<i16>,
    tags: Vec<i16>,
    delays: Vec<i16>,
    /// Post neurons on this core (projection numbering).
    local_post: Vec<u32>,
    pre_axons: usize,
    supplied: [bool; 3],
    neuromodulator: Option<usize>,
    /// The post neuron's own trace (supplied y1) and its state per local
    /// post neuron, with whether it spiked in the previous step.
    post_trace: Option<PostNeuronTrace>,
    y1: Vec<i32>,
    spiked_before: Vec<bool>,
    /// Delivery: the synapses (indices above) of each axon, which the
    /// synapse memory keeps together; each synapse's target neuron in the
    /// core and delay; the group's weight exponent; and the per-target sums
    /// of a step for a negative exponent, by (target, delay).
    axon_synapses: HashMap<u32, (u32, u32)>,
    targets: Vec<u32>,
    arrival: Vec<u8>,
    weight_exp: i8,
    sums: HashMap<(u32, u8), i64>,
}

#[derive(Debug, Clone, Default)]
struct Modulator {
    /// What the host wrote for the coming step.
    host: i32,
    /// Weight of each source neuron (global neuron number).
    sources: HashMap<u32, i32>,
    /// Sum of the weights of the sources that spiked in the last step.
    from_spikes: i32,
    /// The value of the last step.
    value: i32,
}

/// The learning state of an emulator.
#[derive(Debug, Clone)]
pub(crate) struct Learning {
    groups: Vec<Group>,
    /// (core, axon) → (group, pre neuron).
    pre_of: HashMap<(u32, u32), Vec<(u32, u32)>>,
    /// (core, neuron) → (group, index into its `local_post`).
    post_of: HashMap<(u32, u32), Vec<(u32, u32)>>,
    modulators: Vec<Modulator>,
    names: Vec<String>,
    pub(crate) counts: LearningCounts,
    /// Per core, (synaptic updates, trace updates) of the last step.
    per_core: Vec<(u64, u64)>,
}

fn sign_mode(mode: neurite_program::SignMode) -> SignMode {
    match mode {
        neurite_program::SignMode::Mixed => SignMode::Mixed,
        neurite_program::SignMode::Excitatory => SignMode::Excitatory,
        neurite_program::SignMode::Inhibitory => SignMode::Inhibitory,
    }
}

impl Learning {
    /// The learning state of a validated Program; `None` when nothing learns.
    pub(crate) fn new(program: &Program) -> Option<Learning> {
        if program.cores.iter().all(|c| c.learning.is_empty()) {
            return None;
        }
        let mut core_base = Vec::with_capacity(program.cores.len() + 1);
        let mut total = 0u32;
        for core in &program.cores {
            core_base.push(total);
            total += core.neurons.len() as u32;
        }
        let mut learning = Learning {
            groups: Vec::new(),
            pre_of: HashMap::new(),
            post_of: HashMap::new(),
            modulators: Vec::new(),
            names: program
                .neuromodulators
                .iter()
                .map(|m| m.name.clone())
                .collect(),
            counts: LearningCounts::default(),
            per_core: vec![(0, 0); program.cores.len()],
        };
        for m in &program.neuromodulators {
            let mut sources = HashMap::new();
            for &(address, weight) in &m.sources {
                let n = core_base[address.core.0 as usize] + address.neuron.0;
                *sources.entry(n).or_insert(0) += i32::from(weight);
            }
            learning.modulators.push(Modulator {
                sources,
                ..Modulator::default()
            });
        }
        for (c, core) in program.cores.iter().enumerate() {
            for lg in &core.learning {
                // Validation compiled both already.
                let Ok(profile) = lg.rule.profile() else {
                    continue;
                };
                let Ok(post_trace) = lg.rule.post_neuron_trace() else {
                    continue;
                };
                let g = learning.groups.len() as u32;
                let pre_by_axon: HashMap<u32, u32> =
                    lg.pre.iter().map(|&(a, p)| (a.0, p)).collect();
                let post_by_neuron: HashMap<u32, u32> =
                    lg.post.iter().map(|&(n, p)| (n.0, p)).collect();
                let (mut entries, mut pre, mut post, mut weights) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                let (mut targets, mut arrival) = (Vec::new(), Vec::new());
                let mut axon_synapses = HashMap::new();
                for (a, run) in core.axons.iter().enumerate() {
                    let first = entries.len() as u32;
                    for (k, s) in core.synapses[run.range()].iter().enumerate() {
                        if s.group == lg.group {
                            entries.push((run.start as usize + k) as u32);
                            pre.push(pre_by_axon.get(&(a as u32)).copied().unwrap_or(0));
                            post.push(post_by_neuron.get(&s.target.0).copied().unwrap_or(0));
                            weights.push(s.weight);
                            targets.push(s.target.0);
                            arrival.push(s.delay);
                        }
                    }
                    if entries.len() as u32 > first {
                        axon_synapses.insert(a as u32, (first, entries.len() as u32));
                    }
                }
                for &(axon, p) in &lg.pre {
                    learning
                        .pre_of
                        .entry((c as u32, axon.0))
                        .or_default()
                        .push((g, p));
                }
                for (k, &(neuron, _)) in lg.post.iter().enumerate() {
                    learning
                        .post_of
                        .entry((c as u32, neuron.0))
                        .or_default()
                        .push((g, k as u32));
                }
                let desc = &core.groups[usize::from(lg.group.0)];
                let mode = desc.sign_mode;
                learning.groups.push(Group {
                    core: c,
                    group: lg.group,
                    projection: lg.projection.clone(),
                    traces: Traces::new(&profile, lg.n_pre as usize, lg.n_post as usize),
                    supplied: lg.rule.supplied,
                    profile,
                    sign_mode: sign_mode(mode),
                    entries,
                    pre,
                    post,
                    weights,
                    tags: lg.tags.clone(),
                    delays: lg.delays.clone(),
                    local_post: lg.post.iter().map(|&(_, p)| p).collect(),
                    pre_axons: lg.pre.len(),
                    neuromodulator: lg.neuromodulator.map(|m| m as usize),
                    post_trace,
                    y1: vec![0; lg.post.len()],
                    spiked_before: vec![false; lg.post.len()],
                    axon_synapses,
                    targets,
                    arrival,
                    weight_exp: desc.weight_exp,
                    sums: HashMap::new(),
                });
            }
        }
        Some(learning)
    }

    /// Per core, (synaptic updates, trace updates) of the last step.
    pub(crate) fn step_counts(&self) -> &[(u64, u64)] {
        &self.per_core
    }

    /// Index of the neuromodulator named `name`.
    pub(crate) fn neuromodulator(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Number of neuromodulators.
    pub(crate) fn neuromodulators(&self) -> usize {
        self.modulators.len()
    }

    /// Sets what the host adds to a neuromodulator in the coming step.
    pub(crate) fn set_host_value(&mut self, index: usize, value: i32) -> bool {
        match self.modulators.get_mut(index) {
            Some(m) => {
                m.host = value;
                true
            }
            None => false,
        }
    }

    /// The value a neuromodulator had in the last step.
    pub(crate) fn modulator_value(&self, index: usize) -> Option<i32> {
        self.modulators.get(index).map(|m| m.value)
    }

    /// Delivers step `t`'s spikes through the learning groups' synapses:
    /// `pre_axons` are the (core, axon) the step's spikes reached, as in
    /// [`Learning::end_step`], which must follow (it may change weights).
    /// Each adds its weight, shifted by a non-negative exponent, into the
    /// input of step t + 1 + delay of its target; with a negative exponent
    /// the group's weights are summed per target first and the sum shifted
    /// (rounding toward −∞), as the fabric does for other groups.
    pub(crate) fn deliver(&mut self, fabric: &mut Fabric, t: u64, pre_axons: &[(u32, u32)]) {
        for &(c, a) in pre_axons {
            let Some(list) = self.pre_of.get(&(c, a)) else {
                continue;
            };
            for &(g, _) in list {
                let group = &mut self.groups[g as usize];
                let Some(&(first, end)) = group.axon_synapses.get(&a) else {
                    continue;
                };
                for k in first as usize..end as usize {
                    // Learning weights are kept on the 8-bit scale.
                    let weight = i32::from(group.weights[k]);
                    let (target, delay) = (group.targets[k], group.arrival[k]);
                    if group.weight_exp >= 0 {
                        let arrives = t + 1 + u64::from(delay);
                        fabric.add_input(group.core, target, arrives, weight << group.weight_exp);
                    } else {
                        *group.sums.entry((target, delay)).or_default() += i64::from(weight);
                    }
                }
            }
        }
        for group in &mut self.groups {
            let shift = u32::from(group.weight_exp.unsigned_abs());
            for ((target, delay), sum) in group.sums.drain() {
                let arrives = t + 1 + u64::from(delay);
                // Modulo 2^32, as the fabric's sums.
                fabric.add_input(group.core, target, arrives, (sum >> shift) as i32);
            }
        }
    }

    /// Records step `t`'s spikes and ends the step: `neuron_spikes` are
    /// (core, neuron) of the neurons that spiked, `pre_axons` the (core,
    /// axon) their spikes and the host's reached. Applies the rules of every
    /// group whose epoch ends and writes the new weights into `program`.
    pub(crate) fn end_step(
        &mut self,
        program: &mut Program,
        neuron_spikes: &[(u32, u32)],
        global_spikes: &[u32],
        pre_axons: &[(u32, u32)],
    ) {
        self.per_core.fill((0, 0));
        // Neuromodulator values of this step: the host's, plus the spikes
        // of the previous step.
        for m in &mut self.modulators {
            m.value = m.host.saturating_add(m.from_spikes);
            m.host = 0;
            m.from_spikes = global_spikes
                .iter()
                .filter_map(|n| m.sources.get(n))
                .fold(0i32, |sum, w| sum.saturating_add(*w));
        }
        for &(c, a) in pre_axons {
            if let Some(list) = self.pre_of.get(&(c, a)) {
                for &(g, p) in list {
                    let group = &mut self.groups[g as usize];
                    group.traces.record_pre_spike(&group.profile, p as usize);
                }
            }
        }
        let mut spiked: Vec<(u32, u32)> = Vec::new();
        for &(c, n) in neuron_spikes {
            if let Some(list) = self.post_of.get(&(c, n)) {
                for &(g, k) in list {
                    let group = &mut self.groups[g as usize];
                    let post = group.local_post[k as usize] as usize;
                    group.traces.record_post_spike(&group.profile, post);
                    spiked.push((g, k));
                }
            }
        }
        for (g, group) in self.groups.iter_mut().enumerate() {
            let [y1, y2, y3] = group.supplied;
            if y1 || y2 || y3 {
                let modulator = group
                    .neuromodulator
                    .and_then(|m| self.modulators.get(m))
                    .map_or(0, |m| m.value);
                for (k, &post) in group.local_post.iter().enumerate() {
                    let post = post as usize;
                    if y1 {
                        let value = match group.post_trace {
                            Some(trace) => trace.next(group.y1[k], group.spiked_before[k]),
                            None => 0,
                        };
                        group.y1[k] = value;
                        group.traces.set(Trace::Y1, post, value);
                    }
                    if y2 {
                        group.traces.set(Trace::Y2, post, modulator);
                    }
                    if y3 {
                        group.traces.set(Trace::Y3, post, 0);
                    }
                }
            }
            group.spiked_before.fill(false);
            for &(sg, k) in &spiked {
                if sg as usize == g {
                    group.spiked_before[k as usize] = true;
                }
            }
        }
        for group in &mut self.groups {
            let Some(epoch) = group.traces.end_step(&group.profile) else {
                continue;
            };
            let applied = apply(
                &group.profile,
                &epoch,
                Synapses {
                    layout: Layout::Pairs {
                        pre: &group.pre,
                        post: &group.post,
                    },
                    sign_mode: group.sign_mode,
                    weights: &mut group.weights,
                    delays: &mut group.delays,
                    tags: &mut group.tags,
                },
            );
            // The layout was built from a validated Program.
            let Ok(applied) = applied else { continue };
            let traces = 2 * group.pre_axons as u64 + 3 * group.local_post.len() as u64;
            self.counts.epochs += 1;
            self.counts.synaptic_updates += applied.updates;
            self.counts.trace_updates += traces;
            let core_counts = &mut self.per_core[group.core];
            core_counts.0 += applied.updates;
            core_counts.1 += traces;
            let core = &mut program.cores[group.core];
            if let Some(lg) = core.learning.iter_mut().find(|lg| lg.group == group.group) {
                lg.tags.clone_from(&group.tags);
                lg.delays.clone_from(&group.delays);
            }
            for (&entry, &w) in group.entries.iter().zip(&group.weights) {
                core.synapses[entry as usize].weight = w;
            }
        }
    }

    /// The learned synapses of a projection, from every core.
    pub(crate) fn learned(&self, projection: &str) -> Option<LearnedSynapses> {
        let mut out: Option<LearnedSynapses> = None;
        for group in self.groups.iter().filter(|g| g.projection == projection) {
            let state = out.get_or_insert_with(|| LearnedSynapses {
                n_pre: group.traces.n_pre() as u32,
                n_post: group.traces.n_post() as u32,
                synapses: Vec::new(),
            });
            for k in 0..group.entries.len() {
                state.synapses.push((
                    group.pre[k],
                    group.post[k],
                    group.weights[k],
                    group.tags[k],
                    group.delays[k],
                ));
            }
        }
        if let Some(state) = &mut out {
            state.synapses.sort_unstable();
        }
        out
    }

    /// Writes `var` of a projection's synapses `start..start + values.len()`
    /// (numbered as [`Learning::learned`] lists them: by pre, then post),
    /// into the groups and into `program`; nothing is written unless every
    /// value is in its variable's range. New weights act as an epoch's do: the
    /// spikes of the step already run have met the old.
    pub(crate) fn write(
        &mut self,
        program: &mut Program,
        projection: &str,
        var: SynapseVar,
        start: usize,
        values: &[i32],
    ) -> Result<(), EmulatorError> {
        // (pre, post, group, index in the group) in the projection's order.
        let mut order: Vec<(u32, u32, usize, usize)> = Vec::new();
        for (g, group) in self.groups.iter().enumerate() {
            if group.projection == projection {
                order.extend((0..group.entries.len()).map(|k| (group.pre[k], group.post[k], g, k)));
            }
        }
        if order.is_empty() {
            return Err(EmulatorError::UnknownProjection {
                projection: projection.to_string(),
            });
        }
        order.sort_unstable();
        let end = start
            .checked_add(values.len())
            .filter(|&end| end <= order.len());
        let Some(end) = end else {
            return Err(EmulatorError::SynapsesOutOfRange {
                projection: projection.to_string(),
                start: start as u64,
                end: start.saturating_add(values.len()) as u64,
                len: order.len(),
            });
        };
        let chosen = &order[start..end];
        for (i, (&(pre, post, g, _), &value)) in chosen.iter().zip(values).enumerate() {
            let (min, max) = match var {
                SynapseVar::Weight => self.groups[g].sign_mode.learned_range(),
                SynapseVar::Tag => neurite_learning::TAG_RANGE,
                SynapseVar::Delay => neurite_learning::DELAY_RANGE,
            };
            if !(min..=max).contains(&value) {
                return Err(EmulatorError::BadSynapseValue {
                    projection: projection.to_string(),
                    synapse: (start + i) as u64,
                    pre,
                    post,
                    var,
                    value,
                    min,
                    max,
                });
            }
        }
        for (&(_, _, g, k), &value) in chosen.iter().zip(values) {
            let group = &mut self.groups[g];
            // In range, checked above.
            let value = value as i16;
            let core = &mut program.cores[group.core];
            match var {
                SynapseVar::Weight => {
                    group.weights[k] = value;
                    core.synapses[group.entries[k] as usize].weight = value;
                }
                SynapseVar::Tag => group.tags[k] = value,
                SynapseVar::Delay => group.delays[k] = value,
            }
            if let Some(lg) = core.learning.iter_mut().find(|lg| lg.group == group.group) {
                match var {
                    SynapseVar::Weight => {}
                    SynapseVar::Tag => lg.tags[k] = value,
                    SynapseVar::Delay => lg.delays[k] = value,
                }
            }
        }
        Ok(())
    }

    /// A trace of a projection: one value per pre neuron (x1, x2) or post
    /// neuron (y1..y3), as stored (the value at the start of the current
    /// epoch; supplied post traces as last supplied).
    pub(crate) fn trace(&self, projection: &str, trace: Trace) -> Option<Vec<i32>> {
        let groups: Vec<&Group> = self
            .groups
            .iter()
            .filter(|g| g.projection == projection)
            .collect();
        let first = groups.first()?;
        let pre = matches!(trace, Trace::X1 | Trace::X2);
        let n = if pre {
            first.traces.n_pre()
        } else {
            first.traces.n_post()
        };
        let mut out = vec![0; n];
        for group in &groups {
            let values = group.traces.values(trace);
            if pre {
                // Every core that a pre neuron reaches keeps the same trace.
                for &p in &group.pre {
                    out[p as usize] = values[p as usize];
                }
            } else {
                for &p in &group.local_post {
                    out[p as usize] = values[p as usize];
                }
            }
        }
        Some(out)
    }

    /// Names of the learning projections, in order of first appearance.
    pub(crate) fn projections(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for g in &self.groups {
            if !names.contains(&g.projection) {
                names.push(g.projection.clone());
            }
        }
        names
    }
}
