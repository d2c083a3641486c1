//! The counters of [`crate::Counters`], kept off the step's path.
//!
//! A step counts, per core, its neuron updates, active updates and spikes
//! (the update loop finds them anyway). Messages and synaptic operations
//! follow from the spikes through the routing tables: they are derived when
//! asked, for the last step from its spikes, and since creation from each
//! source's spike count (a source that spiked k times sent k times the
//! messages of one spike). With the time and energy model on, every step's
//! counts are derived at once, in the pass that hands the model each
//! message, from a table of every destination's core and synapse entries.

use std::sync::OnceLock;

use neurite_program::InputPort;

use crate::core::CoreState;
use crate::fabric::Fabric;
use crate::model::{Counters, HostLoad, Model};

#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Per core, the last step's counts, once derived.
    last: OnceLock<Vec<Counters>>,
    /// With the model on: per core, the last step's counts, derived every
    /// step (and `last` is not used).
    modelled: Option<Vec<Counters>>,
    /// Per core, the counts since creation, once derived.
    totals: OnceLock<Vec<Counters>>,
    /// Per core, what each step adds up: neuron updates, active updates,
    /// spikes, and the model's hops and chip links.
    counted: Vec<Counters>,
    /// Per port and channel, host spikes since creation.
    channels: Vec<Vec<u64>>,
    /// Each core's load from the step's host spikes, for the model; reused
    /// every step.
    host_messages: Vec<HostLoad>,
    /// Built when the model is enabled.
    reach: ReachTable,
    /// Learning's (synaptic updates, trace updates) of the last step, per core.
    learning: Vec<(u64, u64)>,
}

/// Adds `times` spikes on `axon` of core `core` to `counts`.
fn reach(counts: &mut [Counters], cores: &[CoreState], core: u32, axon: u32, times: u64) {
    let entries = cores[core as usize].axon_entries(axon);
    add_entries(&mut counts[core as usize], entries, times);
}

/// Adds `times` messages reading `entries` synapse entries to `c`.
fn add_entries(c: &mut Counters, [dense, sparse, convolutional]: [u32; 3], times: u64) {
    c.messages_in += times;
    c.synaptic_ops += times * u64::from(dense + sparse + convolutional);
    c.sparse_synaptic_ops += times * u64::from(sparse);
    c.convolutional_synaptic_ops += times * u64::from(convolutional);
}

/// Where spikes go, with what they cost, so that counting a step for the
/// model reads one contiguous run per spike: each destination's core and
/// the synapse entries of its axon by kind.
#[derive(Debug, Default)]
struct ReachTable {
    /// Per core, parallel to its neurons' destinations.
    neurons: Vec<Vec<(u32, [u32; 3])>>,
    /// Per host channel (port after port), where its run starts in `host`;
    /// one more entry at the end.
    host_starts: Vec<usize>,
    host: Vec<(u32, [u32; 3])>,
}

impl ReachTable {
    fn new(cores: &[CoreState], inputs: &[InputPort]) -> Self {
        let entries = |core: u32, axon: u32| (core, cores[core as usize].axon_entries(axon));
        let neurons = cores
            .iter()
            .map(|core| {
                core.destinations()
                    .iter()
                    .map(|d| entries(d.core.0, d.axon.0))
                    .collect()
            })
            .collect();
        let mut host_starts = vec![0];
        let mut host = Vec::new();
        for port in inputs {
            for channel in 0..port.channels.len() {
                host.extend(
                    port.channel(channel)
                        .iter()
                        .map(|a| entries(a.core.0, a.axon.0)),
                );
                host_starts.push(host.len());
            }
        }
        Self {
            neurons,
            host_starts,
            host,
        }
    }
}

impl Counts {
    pub(crate) fn new(cores: usize, inputs: &[InputPort]) -> Self {
        Self {
            counted: vec![Counters::default(); cores],
            channels: inputs.iter().map(|p| vec![0; p.channels.len()]).collect(),
            ..Self::default()
        }
    }

    /// Records a host spike of the coming step.
    pub(crate) fn host_spike(&mut self, port: usize, channel: usize) {
        self.channels[port][channel] += 1;
    }

    /// Builds what the model's counting needs, ahead of its first step.
    pub(crate) fn prepare_model(&mut self, cores: &[CoreState], inputs: &[InputPort]) {
        self.reach = ReachTable::new(cores, inputs);
        self.host_messages = vec![HostLoad::default(); cores.len()];
        self.modelled = Some(Vec::with_capacity(cores.len()));
    }

    /// Counts step `t`, which has just run (the model, when on, prices it).
    pub(crate) fn after_step(
        &mut self,
        t: u64,
        cores: &[CoreState],
        fabric: &Fabric,
        model: Option<&mut Model>,
        learning: &[(u64, u64)],
    ) {
        let _ = self.totals.take();
        self.learning.clear();
        self.learning.extend_from_slice(learning);
        let _ = self.last.take();
        if let (Some(model), Some(counts)) = (model, self.modelled.as_mut()) {
            init_counts(counts, cores, &self.learning);
            model_step(
                t,
                model,
                counts,
                cores,
                fabric,
                &mut self.host_messages,
                &self.reach,
            );
            for (total, c) in self.counted.iter_mut().zip(counts.iter()) {
                total.hops_east_west += c.hops_east_west;
                total.hops_north_south += c.hops_north_south;
                total.chip_links += c.chip_links;
            }
        }
        for (total, &(synapses, traces)) in self.counted.iter_mut().zip(learning) {
            total.synaptic_updates += synapses;
            total.trace_updates += traces;
        }
        for (total, core) in self.counted.iter_mut().zip(cores) {
            let (active, spikes) = core.last_counts();
            total.neuron_updates += core.len() as u64;
            total.active_updates += active;
            total.spikes += spikes;
        }
    }

    /// Each core's counts in the last step.
    pub(crate) fn last(
        &self,
        cores: &[CoreState],
        inputs: &[InputPort],
        fabric: &Fabric,
    ) -> &[Counters] {
        if let Some(counts) = &self.modelled {
            return counts;
        }
        self.last.get_or_init(|| {
            let mut counts = Vec::new();
            init_counts(&mut counts, cores, &self.learning);
            step_counts(&mut counts, cores, inputs, fabric);
            counts
        })
    }

    /// Each core's counts since creation.
    pub(crate) fn totals(&self, cores: &[CoreState], inputs: &[InputPort]) -> &[Counters] {
        self.totals.get_or_init(|| {
            let mut counts = self.counted.clone();
            for (k, core) in cores.iter().enumerate() {
                for (i, &times) in core.spike_counts().iter().enumerate() {
                    if times == 0 {
                        continue;
                    }
                    let destinations = core.destinations_of(i);
                    counts[k].messages_out += times * destinations.len() as u64;
                    for d in destinations {
                        reach(&mut counts, cores, d.core.0, d.axon.0, times);
                    }
                }
            }
            for (port, channels) in inputs.iter().zip(&self.channels) {
                for (channel, &times) in channels.iter().enumerate() {
                    if times > 0 {
                        for a in port.channel(channel) {
                            reach(&mut counts, cores, a.core.0, a.axon.0, times);
                        }
                    }
                }
            }
            counts
        })
    }
}

/// Each core's counts of the updates of the step that has just run
/// (`learning`: each core's synaptic and trace updates), the rest at 0.
fn init_counts(counts: &mut Vec<Counters>, cores: &[CoreState], learning: &[(u64, u64)]) {
    counts.clear();
    counts.extend(cores.iter().enumerate().map(|(k, core)| {
        let (active, spikes) = core.last_counts();
        let (synaptic_updates, trace_updates) = learning.get(k).copied().unwrap_or_default();
        Counters {
            neuron_updates: core.len() as u64,
            active_updates: active,
            spikes,
            synaptic_updates,
            trace_updates,
            ..Counters::default()
        }
    }));
}

/// Adds the messages and synaptic operations of the step that has just run
/// to `counts` (hops and chip links left at 0).
fn step_counts(
    counts: &mut [Counters],
    cores: &[CoreState],
    inputs: &[InputPort],
    fabric: &Fabric,
) {
    for (k, core) in cores.iter().enumerate() {
        // No spikes, or none that leaves the core's neurons for an axon.
        if core.last_counts().1 == 0 || !core.routes_anywhere() {
            continue;
        }
        for i in core.spiking() {
            let destinations = core.destinations_of(i);
            counts[k].messages_out += destinations.len() as u64;
            for d in destinations {
                reach(counts, cores, d.core.0, d.axon.0, 1);
            }
        }
    }
    for (port, channel) in fabric.host_spikes() {
        for a in inputs[port].channel(channel) {
            reach(counts, cores, a.core.0, a.axon.0, 1);
        }
    }
}

/// Adds the messages and synaptic operations of the step that has just run
/// to `counts`, as [`step_counts`] does, and models the step: each message
/// goes to the model in sending order (which counts what its destination
/// receives), each core's load from the host (`host`, scratch) once.
fn model_step(
    t: u64,
    model: &mut Model,
    counts: &mut [Counters],
    cores: &[CoreState],
    fabric: &Fabric,
    host: &mut [HostLoad],
    table: &ReachTable,
) {
    model.begin_step(counts);
    for (k, core) in cores.iter().enumerate() {
        if core.last_counts().1 == 0 || !core.routes_anywhere() {
            continue;
        }
        let reached = &table.neurons[k];
        let mut sender = model.sender(k as u32);
        let mut messages = 0;
        for i in core.spiking() {
            let range = core.route_range(i);
            messages += range.len() as u64;
            for &(dst, entries) in &reached[range] {
                model.send(&mut sender, t, dst, entries);
            }
        }
        let c = &mut counts[k];
        c.messages_out += messages;
        c.hops_east_west += sender.hops[0];
        c.hops_north_south += sender.hops[1];
        c.chip_links += sender.hops[2];
    }
    host.fill(HostLoad::default());
    // A channel's axons often sit on one core: their sums stay local until
    // the core changes.
    let mut load = (u32::MAX, HostLoad::default());
    let flush = |(core, sum): (u32, HostLoad), host: &mut [HostLoad]| {
        if let Some(h) = host.get_mut(core as usize) {
            h.messages += sum.messages;
            for (total, e) in h.entries.iter_mut().zip(sum.entries) {
                *total += e;
            }
        }
    };
    for channel in fabric.host_channels() {
        let (Some(&start), Some(&end)) = (
            table.host_starts.get(channel),
            table.host_starts.get(channel + 1),
        ) else {
            continue;
        };
        for &(core, entries) in &table.host[start..end] {
            if core != load.0 {
                flush(
                    std::mem::replace(&mut load, (core, HostLoad::default())),
                    host,
                );
            }
            load.1.messages += 1;
            for (total, e) in load.1.entries.iter_mut().zip(entries) {
                *total += u64::from(e);
            }
        }
    }
    flush(load, host);
    // Each core's host load goes into its counts once.
    for (c, load) in counts.iter_mut().zip(host.iter()) {
        let [dense, sparse, convolutional] = load.entries;
        c.messages_in += load.messages;
        c.synaptic_ops += dense + sparse + convolutional;
        c.sparse_synaptic_ops += sparse;
        c.convolutional_synaptic_ops += convolutional;
    }
    model.finish_step(t, counts, host);
}
