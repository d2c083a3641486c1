//! One core at run time: neuron state as structure of arrays, synapse memory
//! split into per-group segments, and the delay ring that holds synaptic input
//! until the step it arrives.

use bitvec::vec::BitVec;
use neurite_program::{AxonAddress, Core, Run, SynapseKind};

/// Position of a synapse kind in per-kind tables: dense, sparse, convolutional.
pub(crate) fn kind_index(kind: SynapseKind) -> usize {
    match kind {
        SynapseKind::Dense => 0,
        SynapseKind::Sparse => 1,
        SynapseKind::Convolutional => 2,
    }
}

use crate::Var;
use crate::neuron::{LifConstants, apply_weight_exp, lif_step};

/// A run of synapse entries of one group within an axon's run.
#[derive(Debug, Clone, Copy)]
struct Segment {
    group: u16,
    start: u32,
    end: u32,
}

/// A synapse entry ready to add: the weight is on the 8-bit scale and, for
/// groups with a non-negative exponent, already shifted by it.
#[derive(Debug, Clone, Copy)]
struct Entry {
    target: u32,
    weight: i32,
    delay: u8,
}

#[derive(Debug)]
struct Group {
    weight_exp: i8,
    /// Index of the group's kind: dense 0, sparse 1, convolutional 2.
    kind: usize,
    /// Segments of this group hit during the current step (negative exponent
    /// only: their sums must be formed before the shift rounds them).
    pending: Vec<u32>,
}

#[derive(Debug)]
pub(crate) struct CoreState {
    /// Physical core this one occupies.
    pub(crate) location: u32,
    n: usize,
    constants: Vec<LifConstants>,
    /// Bias mantissa and exponent of each neuron, as the Program gives them
    /// (`constants` holds their product).
    bias_mant: Vec<i16>,
    bias_exp: Vec<u8>,
    u: Vec<i32>,
    v: Vec<i32>,
    refractory_left: Vec<u8>,
    spikes: BitVec,
    spike_counts: Vec<u64>,
    /// Per axon, its segments.
    axons: Vec<Run>,
    /// Per axon, the synapse entries of its run by kind (dense, sparse,
    /// convolutional): the synaptic operations a spike on it costs.
    axon_entries: Vec<[u32; 3]>,
    /// Synaptic operations of the step by kind.
    ops_by_kind: [u64; 3],
    segments: Vec<Segment>,
    entries: Vec<Entry>,
    groups: Vec<Group>,
    /// Groups that have pending segments this step.
    active_groups: Vec<u16>,
    /// Synaptic input by arrival step: slot `t & ring_mask` holds step t's
    /// input for every neuron, modulo 2^32.
    ring: Vec<i32>,
    ring_mask: u64,
    /// Sums of one negative-exponent group per (target, delay), and the
    /// indices written since the last flush.
    scratch: Vec<i64>,
    scratch_dirty: Vec<u32>,
    delay_span: usize,
    routes: Vec<Run>,
    destinations: Vec<AxonAddress>,
}

impl CoreState {
    /// Builds the run-time form of a validated core.
    pub(crate) fn new(core: &Core) -> Self {
        let n = core.neurons.len();
        let neurons = &core.neurons;
        let constants = (0..n)
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
            })
            .collect();

        let max_delay = core.synapses.iter().map(|s| s.delay).max().unwrap_or(0);
        // A spike lands up to max_delay + 1 slots ahead of the slot being read.
        let slots = (usize::from(max_delay) + 2).next_power_of_two();
        let delay_span = usize::from(max_delay) + 1;

        let groups: Vec<Group> = core
            .groups
            .iter()
            .map(|g| Group {
                weight_exp: g.weight_exp,
                kind: kind_index(g.kind),
                pending: Vec::new(),
            })
            .collect();
        let entries = core
            .synapses
            .iter()
            .map(|s| {
                let group = &core.groups[usize::from(s.group.0)];
                let weight = group.weight_of(s.weight);
                Entry {
                    target: s.target.0,
                    weight: if group.weight_exp >= 0 {
                        weight << group.weight_exp
                    } else {
                        weight
                    },
                    delay: s.delay,
                }
            })
            .collect();
        let mut axons = Vec::with_capacity(core.axons.len());
        let mut segments = Vec::new();
        for run in &core.axons {
            let first = segments.len() as u32;
            let range = run.range();
            let mut start = range.start;
            while start < range.end {
                let group = core.synapses[start].group.0;
                let mut end = start + 1;
                while end < range.end && core.synapses[end].group.0 == group {
                    end += 1;
                }
                segments.push(Segment {
                    group,
                    start: start as u32,
                    end: end as u32,
                });
                start = end;
            }
            axons.push(Run {
                start: first,
                len: segments.len() as u32 - first,
            });
        }
        let needs_scratch = core.groups.iter().any(|g| g.weight_exp < 0);

        Self {
            location: core.location,
            bias_mant: neurons.bias_mant.clone(),
            bias_exp: neurons.bias_exp.clone(),
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
            ops_by_kind: [0; 3],
            n,
            constants,
            u: neurons.u.clone(),
            v: neurons.v.clone(),
            refractory_left: vec![0; n],
            spikes: BitVec::repeat(false, n),
            spike_counts: vec![0; n],
            axons,
            segments,
            entries,
            groups,
            active_groups: Vec::new(),
            ring: vec![0; slots * n],
            ring_mask: (slots - 1) as u64,
            scratch: if needs_scratch {
                vec![0; n * delay_span]
            } else {
                Vec::new()
            },
            scratch_dirty: Vec::new(),
            delay_span,
            routes: core.routes.clone(),
            destinations: core.destinations.clone(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.n
    }

    fn slot(&self, step: u64) -> usize {
        (step & self.ring_mask) as usize * self.n
    }

    /// Step 1 of a timestep: every neuron consumes its input for step `t`.
    /// Returns the active updates: neurons with input, bias or a state away
    /// from rest (an inactive update changes nothing).
    pub(crate) fn update_neurons(&mut self, t: u64) -> u64 {
        let base = self.slot(t);
        let input = &mut self.ring[base..base + self.n];
        let state = self
            .u
            .iter_mut()
            .zip(&mut self.v)
            .zip(&mut self.refractory_left)
            .zip(&self.constants);
        let mut active = 0u64;
        for (i, ((((u, v), refractory_left), constants), a)) in
            state.zip(input.iter_mut()).enumerate()
        {
            let a = std::mem::take(a);
            active += u64::from((a | constants.bias | *u | *v) != 0);
            let spiked = lif_step(u, v, refractory_left, a, constants);
            self.spikes.set(i, spiked);
            self.spike_counts[i] += u64::from(spiked);
        }
        active
    }

    /// Step 2: the axons this core's spikes of the step reach, per core.
    /// Returns the messages sent (one per routing entry of a spiking neuron).
    pub(crate) fn route_spikes(&self, inbox: &mut [Vec<u32>]) -> u64 {
        let mut sent = 0u64;
        for i in self.spikes.iter_ones() {
            let destinations = &self.destinations[self.routes[i].range()];
            sent += destinations.len() as u64;
            for d in destinations {
                inbox[d.core.0 as usize].push(d.axon.0);
            }
        }
        sent
    }

    /// The messages of this step's spikes, in sending order: (destination
    /// core, destination axon), for the time model.
    pub(crate) fn messages(&self, out: &mut Vec<(u32, u32)>) {
        for i in self.spikes.iter_ones() {
            for d in &self.destinations[self.routes[i].range()] {
                out.push((d.core.0, d.axon.0));
            }
        }
    }

    /// Synapse entries read, by kind, when `axon` receives a spike.
    pub(crate) fn axon_entries(&self, axon: u32) -> [u32; 3] {
        self.axon_entries[axon as usize]
    }

    /// Synaptic operations of the last delivery by kind (dense, sparse,
    /// convolutional).
    pub(crate) fn ops_by_kind(&self) -> [u64; 3] {
        self.ops_by_kind
    }

    /// Step 3: reads the synapse runs of the axons hit at step `t` and adds
    /// their contributions to the ring. Returns the synapse entries read.
    pub(crate) fn deliver(&mut self, t: u64, inbox: &[u32]) -> u64 {
        self.ops_by_kind = [0; 3];
        for &axon in inbox {
            let run = self.axons[axon as usize];
            for s in run.range() {
                let segment = self.segments[s];
                let group = &mut self.groups[usize::from(segment.group)];
                self.ops_by_kind[group.kind] += u64::from(segment.end - segment.start);
                if group.weight_exp < 0 {
                    if group.pending.is_empty() {
                        self.active_groups.push(segment.group);
                    }
                    group.pending.push(s as u32);
                    continue;
                }
                for e in &self.entries[segment.start as usize..segment.end as usize] {
                    let at = ((t + 1 + u64::from(e.delay)) & self.ring_mask) as usize * self.n
                        + e.target as usize;
                    self.ring[at] = self.ring[at].wrapping_add(e.weight);
                }
            }
        }
        let mut active = std::mem::take(&mut self.active_groups);
        for &g in &active {
            self.flush_group(t, usize::from(g));
        }
        // Hand the buffer back so its capacity is reused next step.
        active.clear();
        self.active_groups = active;
        self.ops_by_kind.iter().sum()
    }

    /// Sums one negative-exponent group's contributions of this step per
    /// (target, delay), then shifts each sum (rounding toward −∞) into the ring.
    fn flush_group(&mut self, t: u64, g: usize) {
        let span = self.delay_span;
        let pending = std::mem::take(&mut self.groups[g].pending);
        for &s in &pending {
            let segment = self.segments[s as usize];
            for e in &self.entries[segment.start as usize..segment.end as usize] {
                let index = e.target as usize * span + usize::from(e.delay);
                if self.scratch[index] == 0 {
                    // A sum that returns to 0 and moves again is listed twice;
                    // the second visit finds 0 and adds nothing.
                    self.scratch_dirty.push(index as u32);
                }
                self.scratch[index] += i64::from(e.weight);
            }
        }
        let weight_exp = self.groups[g].weight_exp;
        for &index in &self.scratch_dirty {
            let index = index as usize;
            let sum = std::mem::take(&mut self.scratch[index]);
            if sum == 0 {
                continue;
            }
            let (target, delay) = (index / span, (index % span) as u64);
            let at = ((t + 1 + delay) & self.ring_mask) as usize * self.n + target;
            // The ring keeps input modulo 2^32; truncating is exact for u.
            self.ring[at] = self.ring[at].wrapping_add(apply_weight_exp(sum, weight_exp) as i32);
        }
        self.scratch_dirty.clear();
        let mut pending = pending;
        pending.clear();
        self.groups[g].pending = pending;
    }

    pub(crate) fn spikes_last_step(&self) -> u64 {
        self.spikes.count_ones() as u64
    }

    pub(crate) fn spiked(&self, neuron: usize) -> bool {
        self.spikes[neuron]
    }

    pub(crate) fn spike_count(&self, neuron: usize) -> u64 {
        self.spike_counts[neuron]
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
            self.constants[neuron].bias =
                i32::from(self.bias_mant[neuron]) << self.bias_exp[neuron];
        }
    }
}
