//! The counters of [`crate::Counters`], kept off the step's path.
//!
//! A step counts, per core, its neuron updates, active updates and spikes
//! (the update loop finds them anyway). Messages and synaptic operations
//! follow from the spikes through the routing tables: they are derived when
//! asked, for the last step from its spikes, and since creation from each
//! source's spike count (a source that spiked k times sent k times the
//! messages of one spike). With the time and energy model on, every step's
//! counts are derived at once, since the model prices them.

use std::sync::OnceLock;

use neurite_program::InputPort;

use crate::core::CoreState;
use crate::fabric::Fabric;
use crate::model::{Counters, HostLoad, Model};

#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Per core, the last step's counts, once derived.
    last: OnceLock<Vec<Counters>>,
    /// Per core, the counts since creation, once derived.
    totals: OnceLock<Vec<Counters>>,
    /// Per core, what each step adds up: neuron updates, active updates,
    /// spikes, and the model's hops and chip links.
    counted: Vec<Counters>,
    /// Per port and channel, host spikes since creation.
    channels: Vec<Vec<u64>>,
    /// The step's messages (source core, destination core, axon) and host
    /// spikes (destination core, axon), for the model; reused every step.
    messages: Vec<(u32, u32, [u32; 3])>,
    host_messages: Vec<HostLoad>,
    /// Built at the first modelled step.
    host_table: HostTable,
    spare: Vec<Counters>,
    /// Learning's (synaptic updates, trace updates) of the last step, per core.
    learning: Vec<(u64, u64)>,
}

/// Adds `times` spikes on `axon` of core `core` to `counts`; returns the
/// axon's synapse entries by kind.
fn reach(
    counts: &mut [Counters],
    cores: &[CoreState],
    core: u32,
    axon: u32,
    times: u64,
) -> [u32; 3] {
    let entries = cores[core as usize].axon_entries(axon);
    add_entries(&mut counts[core as usize], entries, times);
    entries
}

/// Adds `times` messages reading `entries` synapse entries to `c`.
fn add_entries(c: &mut Counters, [dense, sparse, convolutional]: [u32; 3], times: u64) {
    c.messages_in += times;
    c.synaptic_ops += times * u64::from(dense + sparse + convolutional);
    c.sparse_synaptic_ops += times * u64::from(sparse);
    c.convolutional_synaptic_ops += times * u64::from(convolutional);
}

/// Per input port, parallel to its axons: each axon's core and synapse
/// entries by kind, so that counting a host spike reads one contiguous run
/// instead of a table of each core it reaches.
type HostTable = Vec<Vec<(u32, [u32; 3])>>;

fn host_table(cores: &[CoreState], inputs: &[InputPort]) -> HostTable {
    inputs
        .iter()
        .map(|port| {
            port.axons
                .iter()
                .map(|a| (a.core.0, cores[a.core.0 as usize].axon_entries(a.axon.0)))
                .collect()
        })
        .collect()
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

    /// Counts step `t`, which has just run (the model, when on, prices it).
    /// Builds what the model's counting needs, ahead of the first step.
    pub(crate) fn prepare_model(&mut self, cores: &[CoreState], inputs: &[InputPort]) {
        self.host_table = host_table(cores, inputs);
        self.host_messages = vec![HostLoad::default(); cores.len()];
        // Room for a typical step's messages and counts, so the first steps
        // do not grow them.
        self.messages.reserve(1024);
        self.spare.reserve(cores.len());
    }

    pub(crate) fn after_step(
        &mut self,
        t: u64,
        cores: &[CoreState],
        inputs: &[InputPort],
        fabric: &Fabric,
        model: Option<&mut Model>,
        learning: &[(u64, u64)],
    ) {
        let _ = self.totals.take();
        self.learning.clear();
        self.learning.extend_from_slice(learning);
        if let Some(last) = self.last.take() {
            self.spare = last;
        }
        if let Some(model) = model {
            let mut counts = std::mem::take(&mut self.spare);
            self.host_messages.clear();
            self.host_messages.resize(cores.len(), HostLoad::default());
            self.messages.clear();

            step_counts(
                &mut counts,
                cores,
                inputs,
                fabric,
                &self.learning,
                Some((
                    &mut self.messages,
                    &mut self.host_messages[..],
                    &self.host_table,
                )),
            );
            model.record(t, &mut counts, &self.messages, &self.host_messages);
            for (total, c) in self.counted.iter_mut().zip(&counts) {
                total.hops_east_west += c.hops_east_west;
                total.hops_north_south += c.hops_north_south;
                total.chip_links += c.chip_links;
            }
            let _ = self.last.set(counts);
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
        self.last.get_or_init(|| {
            let mut counts = Vec::new();
            step_counts(&mut counts, cores, inputs, fabric, &self.learning, None);
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

/// The counts of the step that has just run, into `counts` (hops and chip
/// links left at 0).
/// The step's spike messages (source core, destination core, synapse
/// entries) and each core's load from the host.
type MessageLists<'a> = (
    &'a mut Vec<(u32, u32, [u32; 3])>,
    &'a mut [HostLoad],
    &'a HostTable,
);

/// Each core's counts of the last step (`learning`: each core's synaptic
/// and trace updates); with `messages`, also the spike
/// messages in sending order, (source core, destination core, synapse
/// entries by kind), and each core's load from host spikes (zeroed by the
/// caller), for the time model.
fn step_counts(
    counts: &mut Vec<Counters>,
    cores: &[CoreState],
    inputs: &[InputPort],
    fabric: &Fabric,
    learning: &[(u64, u64)],
    mut messages: Option<MessageLists<'_>>,
) {
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
    for (k, core) in cores.iter().enumerate() {
        // No spikes, or none that leaves the core's neurons for an axon.
        if core.last_counts().1 == 0 || !core.routes_anywhere() {
            continue;
        }
        for i in core.spiking() {
            let destinations = core.destinations_of(i);
            counts[k].messages_out += destinations.len() as u64;
            for d in destinations {
                let entries = reach(counts, cores, d.core.0, d.axon.0, 1);
                if let Some((mesh, _, _)) = messages.as_mut() {
                    mesh.push((k as u32, d.core.0, entries));
                }
            }
        }
    }
    match messages {
        Some((_, host, table)) => {
            for (port, channel) in fabric.host_spikes() {
                let Some(run) = inputs[port].channels.get(channel) else {
                    continue;
                };
                for &(core, entries) in table[port].get(run.range()).unwrap_or(&[]) {
                    let load = &mut host[core as usize];
                    load.messages += 1;
                    for (total, e) in load.entries.iter_mut().zip(entries) {
                        *total += u64::from(e);
                    }
                }
            }
            // Each core's host load goes into its counts once.
            for (c, load) in counts.iter_mut().zip(host.iter()) {
                let [dense, sparse, convolutional] = load.entries;
                c.messages_in += load.messages;
                c.synaptic_ops += dense + sparse + convolutional;
                c.sparse_synaptic_ops += sparse;
                c.convolutional_synaptic_ops += convolutional;
            }
        }
        None => {
            for (port, channel) in fabric.host_spikes() {
                for a in inputs[port].channel(channel) {
                    reach(counts, cores, a.core.0, a.axon.0, 1);
                }
            }
        }
    }
}
