//! Spike delivery: the routing tables and synapse runs of a Program,
//! flattened at load time into one contiguous run of synapse entries per
//! source and partition, and the delay rings they add into.
//!
//! A source is a neuron (numbered across cores, in core order) or a host
//! input channel (numbered after the neurons, port after port). On a chip, a
//! spike becomes one message per destination axon, and each axon's run is
//! read on its core; the sums that reach each neuron are the same whatever
//! the order of the additions (integers modulo 2^32, and per-target sums for
//! groups with a negative weight exponent), so the emulator reads, for each
//! spiking source, the entries of all its axons at once: a spike costs a
//! lookup and a stream of entries, however many cores it reaches.
//!
//! The cores are split into partitions of consecutive cores, one per thread.
//! A partition owns the delay rings of its cores, and every source has one
//! run of spans per partition, so partitions deliver in parallel without
//! sharing anything they write. Results do not depend on the partitioning.
//!
//! Entries live in two forms. Sparse spans hold packed entries: the target's
//! offset from the span's base in the low 16 bits, the weight in the high 16.
//! Contiguous spans (targets `base..base + len`, such as the rows of a dense
//! projection, with gaps filled by zero weights) hold only weights, and their
//! addition is a vector loop.
//!
//! Where an entry adds depends on its key: a ring key (a ring and a delay)
//! adds the weight, already shifted by its group's non-negative exponent,
//! into the ring slot of the step it arrives; a sum key (a core, a synapse
//! group with a negative exponent, and a delay) adds it into a per-target
//! sum, which is shifted (rounding toward −∞) and added into the ring when
//! the step's deliveries are done, as Lava sums a projection's input before
//! its shift.
//!
//! An axon that several sources reach (or one source twice) keeps a single
//! copy of its entries, which each of those sources' span lists points to,
//! so the flattened entries never outnumber the Program's synapses.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use neurite_program::{AxonAddress, AxonId, CoreId, Program};
use rayon::ThreadPool;

use crate::core::{CoreState, lanes};

/// Offsets in sparse and uniform spans fit 16 bits.
const WINDOW: u32 = 1 << 16;
/// No sum: the entry adds into a ring.
const NO_SUM: u32 = u32::MAX;

/// How a span stores its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
enum Form {
    /// In `packed`: offset from the base in the low 16 bits, weight in the
    /// high 16.
    Sparse,
    /// In `weights`: the weight of each target `base..base + len` (0 where
    /// there is no synapse).
    Contiguous,
    /// In `offsets`: each entry's offset from the base; every entry has the
    /// span's weight (the rows of a projection with one weight).
    Uniform,
}

/// A run of entries adding into one key: 16 bytes, four to a cache line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Span {
    /// Index in the partition's keys, and the form in the top two bits.
    key_form: u32,
    /// First target (ring offset or sum index) the span's entries address.
    base: u32,
    /// First entry in the table of its form.
    start: u32,
    len: u16,
    /// The weight of a uniform span's entries; the largest magnitude of a
    /// contiguous span's weights.
    weight: i16,
}

/// Entries of one span at most.
const SPAN_MAX: usize = u16::MAX as usize;

impl Span {
    fn new(key: u32, form: Form, weight: i16, base: u32, start: usize, len: usize) -> Self {
        debug_assert!(key < 1 << 30 && len <= SPAN_MAX);
        Self {
            key_form: key | (form as u32) << 30,
            base,
            start: start as u32,
            len: len as u16,
            weight,
        }
    }

    fn key(self) -> u32 {
        self.key_form & ((1 << 30) - 1)
    }

    fn form(self) -> Form {
        match self.key_form >> 30 {
            0 => Form::Sparse,
            1 => Form::Contiguous,
            _ => Form::Uniform,
        }
    }

    fn range(self) -> Range<usize> {
        self.start as usize..self.start as usize + usize::from(self.len)
    }
}

/// What a key's entries add into.
#[derive(Debug, Clone, Copy)]
enum Key {
    /// Ring `ring`, the slot `delay + 1` steps after the spike.
    Ring { ring: u32, delay: u8 },
    /// Sum `index` of the partition.
    Sum { index: u32 },
}

/// Synaptic input by arrival step for some cores: slot `t & mask` holds step
/// t's input for each of `n` neurons, modulo 2^32.
#[derive(Debug)]
struct Ring {
    mask: u64,
    n: usize,
    data: Vec<i32>,
}

impl Ring {
    fn slot(&self, step: u64) -> usize {
        (step & self.mask) as usize * self.n
    }
}

/// The per-target sums of one core, synapse group with a negative weight
/// exponent, and delay, independent of the partitioning.
#[derive(Debug)]
struct SumSpec {
    core: u32,
    /// The group's place among the core's groups with a negative exponent:
    /// sums of groups of different cores with the same place, delay and
    /// shift share one [`Sum`] (their targets differ).
    rank: u16,
    delay: u8,
    /// Right shift: minus the weight exponent.
    shift: u32,
    /// Neuron (in the core) of each sum: `first + index` when `list` is empty.
    first: u32,
    list: Vec<u32>,
    len: usize,
    /// No sum can leave 32 bits.
    narrow: bool,
}

/// Per-target sums of one step, 32-bit when no sum can overflow.
#[derive(Debug)]
enum Sums {
    Narrow(Vec<i32>),
    Wide(Vec<i64>),
}

/// The sums of some [`SumSpec`]s of a partition's cores (at most one per
/// core), one after the other, or spread over the ring offsets from
/// `first` when they are dense enough.
#[derive(Debug)]
struct Sum {
    /// The first index of each spec's sums, and the spec, by index.
    members: Vec<(u32, u32)>,
    ring: u32,
    delay: u8,
    shift: u32,
    /// Ring offset of each sum: `first + index` when `list` is empty.
    first: u32,
    list: Vec<u32>,
    sums: Sums,
    /// Entries added this step, and the spans they came in.
    added: usize,
    pending: Vec<u32>,
}

impl Sum {
    fn len(&self) -> usize {
        match &self.sums {
            Sums::Narrow(s) => s.len(),
            Sums::Wide(s) => s.len(),
        }
    }
}

/// The cores of one partition and what they write.
#[derive(Debug)]
struct Partition {
    cores: Range<usize>,
    rings: Vec<Ring>,
    /// Per core of the partition: its ring and its first neuron's offset.
    places: Vec<(u32, u32)>,
    keys: Vec<Key>,
    sums: Vec<Sum>,
    /// Sums that received entries this step.
    touched: Vec<u32>,
    /// The span ranges of a batch of sources, and a group of contiguous
    /// spans of one shape; reused every step.
    batch: Vec<(u32, u32)>,
    rows: Vec<u32>,
    /// The 16-bit sum of such a group.
    row_sum: Vec<i16>,
}

/// The read-only tables every partition reads.
#[derive(Debug)]
struct Tables {
    parts: usize,
    /// First global neuron of each core, and the total at the end.
    core_base: Vec<u32>,
    /// Ring slots of each core, minus one.
    core_mask: Vec<u64>,
    /// Work of each core, to balance partitions: neurons count four,
    /// synapses one.
    core_work: Vec<u64>,
    /// First source of each port's channels, and the total at the end.
    port_base: Vec<u32>,
    specs: Vec<SumSpec>,
    /// Spans of source s in partition p: `span_index[s * parts + p]..[.. + 1]`.
    span_index: Vec<u32>,
    spans: Vec<Span>,
    packed: Vec<u32>,
    weights: Vec<i16>,
    offsets: Vec<u16>,
}

/// Delivery state of an emulator: tables, partitions, and the last step's
/// spikes.
///
/// A step's spikes are delivered at the start of the next step, just before
/// the neurons take their input: the partitions then need no barrier
/// between the update and the delivery (each delivers everyone's spikes of
/// the last step, then updates its own neurons). The spikes waiting are part
/// of the input in flight, like the rings' contents.
#[derive(Debug)]
pub(crate) struct Fabric {
    tables: Tables,
    parts: Vec<Partition>,
    /// Per partition, the neurons (global numbers) that spiked in the last
    /// step, waiting for delivery; and the lists being filled.
    spikes: Vec<Vec<u32>>,
    next: Vec<Vec<u32>>,
    /// Host channels (source numbers) that spiked in the last step, waiting
    /// for delivery; and those queued for the coming step.
    host: Vec<u32>,
    queued: Vec<u32>,
}

/// A synapse entry independent of the partitioning: its core, its delay,
/// its sum (or [`NO_SUM`]), its target (the neuron in the core, or the
/// index in the sum) and its weight (shifted by a non-negative exponent).
#[derive(Debug, Clone, Copy)]
struct Global {
    core: u32,
    delay: u8,
    sum: u32,
    target: u32,
    weight: i16,
}

/// One entry placed in a partitioning: partition, key, target, weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Raw {
    part: u32,
    key: u32,
    target: u32,
    weight: i16,
}

/// What a source reaches: entries of its own (axons no other source
/// reaches), and shared groups of entries, built once.
trait Sources {
    type Shared: Copy + Eq + std::hash::Hash;
    /// Appends source `s`'s own entries to `own` and its shared groups to `shared`.
    fn source(&self, s: usize, own: &mut Vec<Global>, shared: &mut Vec<Self::Shared>);
    /// The entries of a shared group.
    fn shared(&self, id: Self::Shared, out: &mut Vec<Global>);
}

/// The smallest sparse span worth turning contiguous, and how sparse a
/// contiguous span may be (targets over entries).
const CONTIGUOUS_MIN: usize = 8;
const CONTIGUOUS_SPREAD: usize = 2;

/// A Program as [`Sources`].
struct FromProgram<'a> {
    program: &'a Program,
    /// First source of each core's neurons and each port's channels.
    core_base: Vec<u32>,
    port_base: Vec<u32>,
    /// Route entries reaching each axon of each core.
    refs: Vec<Vec<u32>>,
    /// Per core, per group, per delay: the sum spec (negative groups only).
    spec_of: Vec<Vec<[u32; 64]>>,
    specs: &'a [SumSpec],
}

impl FromProgram<'_> {
    fn axon(&self, d: &AxonAddress, out: &mut Vec<Global>) {
        let c = d.core.0 as usize;
        let core = &self.program.cores[c];
        for s in &core.synapses[core.axons[d.axon.0 as usize].range()] {
            let g = &core.groups[usize::from(s.group.0)];
            // Learning groups deliver their changing weights themselves.
            if g.learning.is_some() {
                continue;
            }
            let weight = g.weight_of(s.weight);
            out.push(if g.weight_exp >= 0 {
                Global {
                    core: c as u32,
                    delay: s.delay,
                    sum: NO_SUM,
                    target: s.target.0,
                    weight: (weight << g.weight_exp) as i16,
                }
            } else {
                let sum = self.spec_of[c][usize::from(s.group.0)][usize::from(s.delay)];
                let spec = &self.specs[sum as usize];
                let target = if spec.list.is_empty() {
                    s.target.0 - spec.first
                } else {
                    spec.list.binary_search(&s.target.0).expect("target listed") as u32
                };
                Global {
                    core: c as u32,
                    delay: s.delay,
                    sum,
                    target,
                    weight: weight as i16,
                }
            });
        }
    }

    fn destinations(&self, s: usize) -> &[AxonAddress] {
        let s = s as u32;
        let cores = self.core_base.len() - 1;
        if s < self.core_base[cores] {
            let c = self.core_base.partition_point(|&b| b <= s) - 1;
            let core = &self.program.cores[c];
            return &core.destinations[core.routes[(s - self.core_base[c]) as usize].range()];
        }
        let p = self.port_base.partition_point(|&b| b <= s) - 1;
        self.program.inputs[p].channel((s - self.port_base[p]) as usize)
    }
}

impl Sources for FromProgram<'_> {
    type Shared = (u32, u32);

    fn source(&self, s: usize, own: &mut Vec<Global>, shared: &mut Vec<(u32, u32)>) {
        for d in self.destinations(s) {
            if self.refs[d.core.0 as usize][d.axon.0 as usize] == 1 {
                self.axon(d, own);
            } else {
                shared.push((d.core.0, d.axon.0));
            }
        }
    }

    fn shared(&self, (core, axon): (u32, u32), out: &mut Vec<Global>) {
        let d = AxonAddress {
            core: CoreId(core),
            axon: AxonId(axon),
        };
        self.axon(&d, out);
    }
}

/// A built fabric as [`Sources`], for a new partitioning.
struct FromFabric<'a> {
    fabric: &'a Fabric,
    /// Span lists that point to each span's entries.
    refs: HashMap<(Form, u32), u32>,
    /// Per partition and ring, the (offset, core in the partition) of its
    /// cores, by offset.
    offsets: Vec<Vec<Vec<(u32, usize)>>>,
}

impl FromFabric<'_> {
    fn decode(&self, p: usize, span: Span, out: &mut Vec<Global>) {
        let tables = &self.fabric.tables;
        let part = &self.fabric.parts[p];
        let key = part.keys[span.key() as usize];
        let mut push = |target: u32, weight: i16| {
            if weight == 0 {
                // Padding of a contiguous span (or a synapse that adds nothing).
                return;
            }
            out.push(match key {
                Key::Ring { ring, delay } => {
                    // The core whose neurons hold this ring offset.
                    let offsets = &self.offsets[p][ring as usize];
                    let (_, k) = offsets[offsets.partition_point(|&(o, _)| o <= target) - 1];
                    Global {
                        core: (part.cores.start + k) as u32,
                        delay,
                        sum: NO_SUM,
                        target: target - part.places[k].1,
                        weight,
                    }
                }
                Key::Sum { index } => {
                    let sum = &part.sums[index as usize];
                    let (first, spec) =
                        sum.members[sum.members.partition_point(|&(f, _)| f <= target) - 1];
                    let spec_ref = &tables.specs[spec as usize];
                    let j = if sum.list.is_empty() {
                        // Dense: the index is a ring offset minus the sum's first.
                        let (_, offset) = place_in(part, spec_ref.core as usize);
                        let neuron = sum.first + target - offset;
                        if spec_ref.list.is_empty() {
                            neuron - spec_ref.first
                        } else {
                            spec_ref.list.binary_search(&neuron).expect("listed") as u32
                        }
                    } else {
                        target - first
                    };
                    Global {
                        core: spec_ref.core,
                        delay: spec_ref.delay,
                        sum: spec,
                        target: j,
                        weight,
                    }
                }
            });
        };
        match span.form() {
            Form::Contiguous => {
                for (k, &w) in tables.weights[span.range()].iter().enumerate() {
                    push(span.base + k as u32, w);
                }
            }
            Form::Sparse => {
                for &e in &tables.packed[span.range()] {
                    push(span.base + (e & 0xFFFF), (e >> 16) as u16 as i16);
                }
            }
            Form::Uniform => {
                for &offset in &tables.offsets[span.range()] {
                    push(span.base + u32::from(offset), span.weight);
                }
            }
        }
    }

    fn spans(&self, s: usize) -> impl Iterator<Item = (usize, Span)> + '_ {
        let tables = &self.fabric.tables;
        (0..tables.parts).flat_map(move |p| {
            let at = s * tables.parts + p;
            let range = tables.span_index[at] as usize..tables.span_index[at + 1] as usize;
            tables.spans[range].iter().map(move |&span| (p, span))
        })
    }
}

impl Sources for FromFabric<'_> {
    type Shared = (usize, Span);

    fn source(&self, s: usize, own: &mut Vec<Global>, shared: &mut Vec<(usize, Span)>) {
        for (p, span) in self.spans(s) {
            if self.refs[&(span.form(), span.start)] == 1 {
                self.decode(p, span, own);
            } else {
                shared.push((p, span));
            }
        }
    }

    fn shared(&self, (p, span): (usize, Span), out: &mut Vec<Global>) {
        self.decode(p, span, out);
    }
}

impl Fabric {
    /// Flattens a validated Program for `parts` partitions (at most one per
    /// core).
    pub(crate) fn new(program: &Program, parts: usize) -> Self {
        let cores = &program.cores;
        let mut core_base = Vec::with_capacity(cores.len() + 1);
        let mut total = 0u32;
        for core in cores {
            core_base.push(total);
            total += core.neurons.len() as u32;
        }
        core_base.push(total);
        let mut port_base = Vec::with_capacity(program.inputs.len() + 1);
        let mut sources = total;
        for port in &program.inputs {
            port_base.push(sources);
            sources += port.channels.len() as u32;
        }
        port_base.push(sources);
        let core_mask = cores
            .iter()
            .map(|core| {
                let max_delay = core.synapses.iter().map(|s| s.delay).max().unwrap_or(0);
                // Spikes of step t − 1 are delivered at the start of step t,
                // into the slots of steps t..=t + max_delay, just before the
                // neurons read slot t: max_delay + 1 slots are live.
                ((usize::from(max_delay) + 1).next_power_of_two() - 1) as u64
            })
            .collect();

        // How many route entries reach each axon, over neurons and ports.
        let mut refs: Vec<Vec<u32>> = cores.iter().map(|c| vec![0; c.axons.len()]).collect();
        let mut reach = |d: &AxonAddress| {
            let r = &mut refs[d.core.0 as usize][d.axon.0 as usize];
            *r = r.saturating_add(1);
        };
        cores
            .iter()
            .flat_map(|c| &c.destinations)
            .for_each(&mut reach);
        program
            .inputs
            .iter()
            .flat_map(|p| &p.axons)
            .for_each(&mut reach);

        // The sums of each (core, negative group, delay): their targets, and
        // whether 32 bits hold them (the weights' magnitudes, times the
        // sources reaching each axon, summed per target).
        let mut specs = Vec::new();
        let mut spec_of = Vec::with_capacity(cores.len());
        for (c, core) in cores.iter().enumerate() {
            let mut targets: HashMap<(u16, u8), Vec<(u32, u64)>> = HashMap::new();
            for (a, run) in core.axons.iter().enumerate() {
                for s in &core.synapses[run.range()] {
                    let g = &core.groups[usize::from(s.group.0)];
                    if g.weight_exp < 0 && g.learning.is_none() {
                        let w = u64::from(g.weight_of(s.weight).unsigned_abs());
                        targets
                            .entry((s.group.0, s.delay))
                            .or_default()
                            .push((s.target.0, w * u64::from(refs[c][a])));
                    }
                }
            }
            let mut of = vec![[NO_SUM; 64]; core.groups.len()];
            let mut keys: Vec<(u16, u8)> = targets.keys().copied().collect();
            keys.sort_unstable();
            let mut groups: Vec<u16> = keys.iter().map(|&(g, _)| g).collect();
            groups.dedup();
            for (g, delay) in keys {
                let mut list = targets.remove(&(g, delay)).expect("listed");
                list.sort_unstable();
                let mut distinct: Vec<(u32, u64)> = Vec::new();
                for (t, w) in list {
                    match distinct.last_mut() {
                        Some(last) if last.0 == t => last.1 = last.1.saturating_add(w),
                        _ => distinct.push((t, w)),
                    }
                }
                let (lo, hi) = (distinct[0].0, distinct[distinct.len() - 1].0);
                let spread = (hi - lo) as usize + 1;
                let contiguous = spread <= CONTIGUOUS_SPREAD * distinct.len();
                of[usize::from(g)][usize::from(delay)] = specs.len() as u32;
                specs.push(SumSpec {
                    core: c as u32,
                    rank: groups.binary_search(&g).expect("listed") as u16,
                    delay,
                    shift: u32::from(core.groups[usize::from(g)].weight_exp.unsigned_abs()),
                    first: if contiguous { lo } else { 0 },
                    list: if contiguous {
                        Vec::new()
                    } else {
                        distinct.iter().map(|&(t, _)| t).collect()
                    },
                    len: if contiguous { spread } else { distinct.len() },
                    narrow: distinct.iter().all(|&(_, b)| b <= i32::MAX as u64),
                });
            }
            spec_of.push(of);
        }

        let mut tables = Tables {
            parts: 1,
            core_base,
            core_mask,
            core_work: cores
                .iter()
                .map(|c| c.neurons.len() as u64 * 4 + c.synapses.len() as u64 + 1)
                .collect(),
            port_base,
            specs: Vec::new(),
            span_index: Vec::new(),
            spans: Vec::new(),
            packed: Vec::new(),
            weights: Vec::new(),
            offsets: Vec::new(),
        };
        let sources = FromProgram {
            program,
            core_base: tables.core_base.clone(),
            port_base: tables.port_base.clone(),
            refs,
            spec_of,
            specs: &specs,
        };
        let ranges = split(&tables.core_work, parts);
        let parts = encode(&mut tables, &specs, &ranges, &sources);
        tables.specs = specs;
        Self {
            tables,
            spikes: vec![Vec::new(); parts.len()],
            next: vec![Vec::new(); parts.len()],
            parts,
            host: Vec::new(),
            queued: Vec::new(),
        }
    }

    /// The same fabric for `parts` partitions (at most one per core), with
    /// empty rings.
    pub(crate) fn repartition(&self, parts: usize) -> Self {
        let old = &self.tables;
        let mut refs: HashMap<(Form, u32), u32> = HashMap::new();
        for span in &old.spans {
            *refs.entry((span.form(), span.start)).or_default() += 1;
        }
        let mut tables = Tables {
            parts: 1,
            core_base: old.core_base.clone(),
            core_mask: old.core_mask.clone(),
            core_work: old.core_work.clone(),
            port_base: old.port_base.clone(),
            specs: Vec::new(),
            span_index: Vec::new(),
            spans: Vec::new(),
            packed: Vec::new(),
            weights: Vec::new(),
            offsets: Vec::new(),
        };
        let ranges = split(&old.core_work, parts);
        let offsets = self
            .parts
            .iter()
            .map(|part| {
                let mut rings = vec![Vec::new(); part.rings.len()];
                for (k, &(r, offset)) in part.places.iter().enumerate() {
                    // Offsets grow core after core within a ring.
                    rings[r as usize].push((offset, k));
                }
                rings
            })
            .collect();
        let sources = FromFabric {
            fabric: self,
            refs,
            offsets,
        };
        let parts = encode(&mut tables, &old.specs, &ranges, &sources);
        tables.specs = old
            .specs
            .iter()
            .map(|s| SumSpec {
                core: s.core,
                rank: s.rank,
                delay: s.delay,
                shift: s.shift,
                first: s.first,
                list: s.list.clone(),
                len: s.len,
                narrow: s.narrow,
            })
            .collect();
        Self {
            tables,
            spikes: vec![Vec::new(); parts.len()],
            next: vec![Vec::new(); parts.len()],
            parts,
            host: Vec::new(),
            queued: Vec::new(),
        }
    }

    /// Number of partitions.
    pub(crate) fn parts(&self) -> usize {
        self.parts.len()
    }

    /// First global neuron of each core, and the total at the end.
    pub(crate) fn core_base(&self) -> &[u32] {
        &self.tables.core_base
    }

    /// The neurons that spiked in the last step, numbered across cores in
    /// core order.
    pub(crate) fn neuron_spikes(&self) -> impl Iterator<Item = u32> + '_ {
        self.spikes.iter().flatten().copied()
    }

    /// Queues a host spike on `channel` of `port` for the coming step.
    pub(crate) fn push_host(&mut self, port: usize, channel: usize) {
        self.queued
            .push(self.tables.port_base[port] + channel as u32);
    }

    /// The host spikes of the last step, as (port, channel).
    pub(crate) fn host_spikes(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.host.iter().map(|&s| {
            let port = self.tables.port_base.partition_point(|&b| b <= s) - 1;
            (port, (s - self.tables.port_base[port]) as usize)
        })
    }

    /// Adds `value` to the input of neuron `neuron` of core `core` at step
    /// `step` (modulo 2^32), which must lie within the core's ring: from the
    /// step after the last one run to its largest delay beyond.
    pub(crate) fn add_input(&mut self, core: usize, neuron: u32, step: u64, value: i32) {
        let Some(part) = self.parts.iter_mut().find(|p| p.cores.contains(&core)) else {
            return;
        };
        let (ring, offset) = place_in(part, core);
        let ring = &mut part.rings[ring as usize];
        let at = ring.slot(step) + offset as usize + neuron as usize;
        if let Some(input) = ring.data.get_mut(at) {
            *input = input.wrapping_add(value);
        }
    }

    /// This step's host spikes as channel numbers counted across all ports
    /// (port after port).
    pub(crate) fn host_channels(&self) -> impl Iterator<Item = usize> + '_ {
        let first = self.tables.port_base.first().copied().unwrap_or(0);
        self.host.iter().map(move |&s| (s - first) as usize)
    }

    /// Takes over the input in flight from `other`, a fabric of the same
    /// Program: the rings' contents (ring sizes per core do not depend on
    /// the partitioning) and the spikes waiting for delivery.
    pub(crate) fn carry_over(&mut self, other: &Fabric) {
        self.host.clone_from(&other.host);
        self.queued.clone_from(&other.queued);
        // Delivery reads every partition's list: any one may hold them.
        self.spikes[0] = other.spikes.concat();
        for part in &mut self.parts {
            for (c, &(r, offset)) in part.cores.clone().zip(&part.places) {
                let n = (self.tables.core_base[c + 1] - self.tables.core_base[c]) as usize;
                let (ring, from) = other.place(c);
                let (from_ring, from_offset) = (&other.parts[from.0].rings[ring], from.1);
                let ring = &mut part.rings[r as usize];
                debug_assert_eq!(ring.mask, from_ring.mask);
                for slot in 0..=ring.mask as usize {
                    let to = slot * ring.n + offset as usize;
                    let at = slot * from_ring.n + from_offset;
                    ring.data[to..to + n].copy_from_slice(&from_ring.data[at..at + n]);
                }
            }
        }
    }

    /// Core `c`'s ring, and its partition and offset there.
    fn place(&self, c: usize) -> (usize, (usize, usize)) {
        let p = self.parts.partition_point(|part| part.cores.end <= c);
        let part = &self.parts[p];
        let (r, offset) = part.places[c - part.cores.start];
        (r as usize, (p, offset as usize))
    }

    /// Runs step `t`: delivers the spikes of step `t − 1` (the neurons' and
    /// the host's), then updates every neuron, and keeps the step's spikes
    /// and the host spikes queued for it for delivery. Partitions run in
    /// parallel on `pool` when given, the caller's thread taking the first.
    pub(crate) fn step(&mut self, cores: &mut [CoreState], t: u64, pool: Option<&ThreadPool>) {
        let Self {
            tables,
            parts,
            spikes,
            next,
            host,
            ..
        } = self;
        let (tables, spikes, host) = (&*tables, &*spikes, &*host);
        let mut rest = &mut *cores;
        let mut work = parts
            .iter_mut()
            .zip(next.iter_mut())
            .enumerate()
            .map(|(p, (part, out))| {
                let (mine, others) = std::mem::take(&mut rest).split_at_mut(part.cores.len());
                rest = others;
                move || {
                    deliver(part, p, tables, t - 1, spikes, host);
                    update(part, mine, tables, t, out);
                }
            });
        match pool {
            Some(pool) if parts_len(tables) > 1 => {
                let mut first = work.next().expect("a partition");
                let done = AtomicUsize::new(0);
                pool.in_place_scope(|scope| {
                    let mut others = 0;
                    for mut job in work {
                        let done = &done;
                        others += 1;
                        scope.spawn(move |_| {
                            // Counted even if the job panics (the scope
                            // then passes the panic on).
                            let _signal = Signal(done);
                            job();
                        });
                    }
                    first();
                    // Wait here rather than in the scope, which would put this
                    // thread to sleep if a job is still running.
                    let mut spins = 0u32;
                    while done.load(Ordering::Acquire) < others {
                        spins += 1;
                        if spins < 1 << 14 {
                            std::hint::spin_loop();
                        } else {
                            std::thread::yield_now();
                        }
                    }
                    // The jobs have returned; give the pool the moment it
                    // takes to mark them complete.
                    for _ in 0..64 {
                        std::hint::spin_loop();
                    }
                });
            }
            _ => work.for_each(|mut job| job()),
        }
        std::mem::swap(&mut self.spikes, &mut self.next);
        std::mem::swap(&mut self.host, &mut self.queued);
        self.queued.clear();
    }
}

fn parts_len(tables: &Tables) -> usize {
    tables.parts
}

/// Adds one to a counter when dropped.
struct Signal<'a>(&'a AtomicUsize);

impl Drop for Signal<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Release);
    }
}

/// Where a spec's sums are within its [`Sum`].
#[derive(Debug, Clone, Copy)]
enum SumPlace {
    /// Sum index = the neuron's offset in the core plus `delta`.
    Dense { delta: i64 },
    /// Sum index = `first` plus the spec's index.
    List { first: u32 },
}

/// Core `c`'s ring and offset in its partition `part`.
fn place_in(part: &Partition, c: usize) -> (u32, u32) {
    part.places[c - part.cores.start]
}

/// Lays out the entries of `sources` for the partitions `ranges`: the
/// partitions' rings, keys and sums, and the tables' spans.
fn encode<S: Sources>(
    tables: &mut Tables,
    specs: &[SumSpec],
    ranges: &[Range<usize>],
    sources: &S,
) -> Vec<Partition> {
    let cores = tables.core_base.len() - 1;
    tables.parts = ranges.len();
    let mut part_of = vec![0u32; cores];
    let mut parts: Vec<Partition> = Vec::with_capacity(ranges.len());
    for (p, range) in ranges.iter().enumerate() {
        let mut part = Partition {
            cores: range.clone(),
            rings: Vec::new(),
            places: Vec::new(),
            keys: Vec::new(),
            sums: Vec::new(),
            touched: Vec::new(),
            batch: Vec::new(),
            rows: Vec::new(),
            row_sum: Vec::new(),
        };
        for c in range.clone() {
            part_of[c] = p as u32;
            let mask = tables.core_mask[c];
            let ring = match part.rings.iter().position(|r| r.mask == mask) {
                Some(r) => r,
                None => {
                    part.rings.push(Ring {
                        mask,
                        n: 0,
                        data: Vec::new(),
                    });
                    part.rings.len() - 1
                }
            };
            let offset = part.rings[ring].n as u32;
            // Room for the core's padding neurons too, which read their input.
            part.rings[ring].n += lanes((tables.core_base[c + 1] - tables.core_base[c]) as usize);
            part.places.push((ring as u32, offset));
        }
        for ring in &mut part.rings {
            ring.data = vec![0; (ring.mask as usize + 1) * ring.n];
        }
        parts.push(part);
    }
    let place = |parts: &[Partition], c: usize| {
        let part = &parts[part_of[c] as usize];
        part.places[c - part.cores.start]
    };
    // Sums and their keys: one per partition, ring, delay, shift and rank.
    // Where each spec's sums are: its sum's key, and how its index j becomes
    // an index of the sum (dense: its neuron's ring offset minus the sum's
    // first; else the spec's first index plus j).
    let mut sum_place: Vec<(u32, SumPlace)> = Vec::with_capacity(specs.len());
    let mut grouped: HashMap<(u32, u32, u8, u32, u16), Vec<u32>> = HashMap::new();
    let mut order = Vec::new();
    for (k, spec) in specs.iter().enumerate() {
        let c = spec.core as usize;
        let (ring, _) = place(&parts, c);
        let id = (part_of[c], ring, spec.delay, spec.shift, spec.rank);
        grouped
            .entry(id)
            .or_insert_with(|| {
                order.push(id);
                Vec::new()
            })
            .push(k as u32);
    }
    sum_place.resize(specs.len(), (0, SumPlace::List { first: 0 }));
    for id in order {
        let (p, ring, delay, shift, _) = id;
        let members = &grouped[&id];
        // Ring offsets of every sum, spec after spec (cores in ring order).
        let mut offsets: Vec<u32> = Vec::new();
        let mut starts = Vec::with_capacity(members.len());
        for &k in members {
            let spec = &specs[k as usize];
            let (_, offset) = place(&parts, spec.core as usize);
            starts.push(offsets.len() as u32);
            if spec.list.is_empty() {
                offsets.extend((0..spec.len as u32).map(|j| offset + spec.first + j));
            } else {
                offsets.extend(spec.list.iter().map(|&t| offset + t));
            }
        }
        let (lo, hi) = (offsets[0], offsets[offsets.len() - 1]);
        let spread = (hi - lo) as usize + 1;
        let dense = spread <= CONTIGUOUS_SPREAD * offsets.len();
        let part = &mut parts[p as usize];
        let key = part.keys.len() as u32;
        let mut member_starts = Vec::with_capacity(members.len());
        for (&k, &start) in members.iter().zip(&starts) {
            let spec = &specs[k as usize];
            let (_, offset) = place_in(part, spec.core as usize);
            let placement = if dense {
                SumPlace::Dense {
                    delta: i64::from(offset) - i64::from(lo),
                }
            } else {
                SumPlace::List { first: start }
            };
            let first_index = if dense {
                offsets[start as usize] - lo
            } else {
                start
            };
            member_starts.push((first_index, k));
            sum_place[k as usize] = (key, placement);
        }
        let len = if dense { spread } else { offsets.len() };
        let narrow = members.iter().all(|&k| specs[k as usize].narrow);
        part.sums.push(Sum {
            members: member_starts,
            ring,
            delay,
            shift,
            first: if dense { lo } else { 0 },
            list: if dense { Vec::new() } else { offsets },
            sums: if narrow {
                Sums::Narrow(vec![0; len])
            } else {
                Sums::Wide(vec![0; len])
            },
            added: 0,
            pending: Vec::new(),
        });
        part.keys.push(Key::Sum {
            index: (part.sums.len() - 1) as u32,
        });
    }
    // Ring keys, made as entries need them: per partition, ring and delay.
    let mut ring_keys: Vec<Vec<[u32; 64]>> = parts
        .iter()
        .map(|part| vec![[u32::MAX; 64]; part.rings.len()])
        .collect();
    let mut raw_of = |parts: &mut Vec<Partition>, g: &Global| -> Raw {
        let c = g.core as usize;
        let p = part_of[c];
        if g.sum != NO_SUM {
            let (key, placement) = sum_place[g.sum as usize];
            let target = match placement {
                SumPlace::Dense { delta } => {
                    let spec = &specs[g.sum as usize];
                    let neuron = if spec.list.is_empty() {
                        spec.first + g.target
                    } else {
                        spec.list[g.target as usize]
                    };
                    (i64::from(neuron) + delta) as u32
                }
                SumPlace::List { first } => first + g.target,
            };
            return Raw {
                part: p,
                key,
                target,
                weight: g.weight,
            };
        }
        let (ring, offset) = place(parts, c);
        let key = &mut ring_keys[p as usize][ring as usize][usize::from(g.delay)];
        if *key == u32::MAX {
            let part = &mut parts[p as usize];
            part.keys.push(Key::Ring {
                ring,
                delay: g.delay,
            });
            *key = (part.keys.len() - 1) as u32;
        }
        let key = *key;
        Raw {
            part: p,
            key,
            target: offset + g.target,
            weight: g.weight,
        }
    };

    let total_sources = *tables.port_base.last().expect("port bases") as usize;
    tables.span_index = Vec::with_capacity(total_sources * ranges.len() + 1);
    let mut shared_spans: HashMap<S::Shared, Vec<(u32, Span)>> = HashMap::new();
    let (mut global, mut shared, mut raw, mut own) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for s in 0..total_sources {
        global.clear();
        shared.clear();
        sources.source(s, &mut global, &mut shared);
        raw.clear();
        raw.extend(global.iter().map(|g| raw_of(&mut parts, g)));
        raw.sort_unstable();
        own.clear();
        spans_of(&raw, tables, &mut own);
        for &id in &shared {
            let spans = shared_spans.entry(id).or_insert_with(|| {
                let mut entries = Vec::new();
                sources.shared(id, &mut entries);
                let mut raw: Vec<Raw> = entries.iter().map(|g| raw_of(&mut parts, g)).collect();
                raw.sort_unstable();
                let mut spans = Vec::new();
                spans_of(&raw, tables, &mut spans);
                spans
            });
            own.extend_from_slice(spans);
        }
        // Stable: a source's own spans first, then shared ones, per partition.
        own.sort_by_key(|&(p, _)| p);
        let mut k = 0;
        for p in 0..ranges.len() as u32 {
            tables.span_index.push(tables.spans.len() as u32);
            while k < own.len() && own[k].0 == p {
                tables.spans.push(own[k].1);
                k += 1;
            }
        }
    }
    tables.span_index.push(tables.spans.len() as u32);
    tables.spans.shrink_to_fit();
    tables.packed.shrink_to_fit();
    tables.weights.shrink_to_fit();
    tables.offsets.shrink_to_fit();
    parts
}
/// Splits the cores into at most `parts` ranges of consecutive cores with
/// about the same work.
fn split(work: &[u64], parts: usize) -> Vec<Range<usize>> {
    let cores = work.len();
    if cores == 0 {
        return std::iter::once(0..0).collect();
    }
    let parts = parts.clamp(1, cores);
    let total: u64 = work.iter().sum();
    let mut ranges = Vec::with_capacity(parts);
    let (mut start, mut done) = (0, 0u64);
    for p in 1..=parts {
        let goal = total * p as u64 / parts as u64;
        // Leave at least one core for each partition after this one.
        let limit = cores - (parts - p);
        let mut end = start;
        while end < limit && (end == start || p == parts || done + work[end] / 2 <= goal) {
            done += work[end];
            end += 1;
        }
        ranges.push(start..end);
        start = end;
    }
    ranges
}

/// Turns sorted raw entries into spans (with their partition), appending
/// their entries to the tables.
fn spans_of(raw: &[Raw], tables: &mut Tables, out: &mut Vec<(u32, Span)>) {
    let mut i = 0;
    while i < raw.len() {
        let (part, key) = (raw[i].part, raw[i].key);
        let mut j = i;
        while j < raw.len() && raw[j].part == part && raw[j].key == key {
            j += 1;
        }
        let group = &raw[i..j];
        let (lo, hi) = (group[0].target, group[group.len() - 1].target);
        let distinct = group.windows(2).all(|w| w[0].target != w[1].target);
        let spread = (hi - lo) as usize + 1;
        let uniform = group.iter().all(|e| e.weight == group[0].weight);
        if distinct
            && !uniform
            && group.len() >= CONTIGUOUS_MIN
            && spread <= CONTIGUOUS_SPREAD * group.len()
        {
            let start = tables.weights.len();
            tables.weights.resize(start + spread, 0);
            for e in group {
                tables.weights[start + (e.target - lo) as usize] = e.weight;
            }
            // The largest magnitude, for summing rows in 16 bits (`add_rows`).
            let magnitude = group
                .iter()
                .map(|e| e.weight.unsigned_abs())
                .max()
                .unwrap_or(0);
            let magnitude = magnitude.min(i16::MAX as u16) as i16;
            for first in (0..spread).step_by(SPAN_MAX) {
                let len = (spread - first).min(SPAN_MAX);
                out.push((
                    part,
                    Span::new(
                        key,
                        Form::Contiguous,
                        magnitude,
                        lo + first as u32,
                        start + first,
                        len,
                    ),
                ));
            }
        } else {
            // Windows of targets whose offsets fit 16 bits.
            let mut k = 0;
            while k < group.len() {
                let base = group[k].target;
                let end = k + group[k..].partition_point(|e| e.target - base < WINDOW);
                let end = end.min(k + SPAN_MAX);
                let window = &group[k..end];
                let weight = window[0].weight;
                let (form, start) = if window.iter().all(|e| e.weight == weight) {
                    let start = tables.offsets.len();
                    tables
                        .offsets
                        .extend(window.iter().map(|e| (e.target - base) as u16));
                    (Form::Uniform, start)
                } else {
                    let start = tables.packed.len();
                    tables.packed.extend(
                        window
                            .iter()
                            .map(|e| (e.target - base) | (u32::from(e.weight as u16) << 16)),
                    );
                    (Form::Sparse, start)
                };
                out.push((
                    part,
                    Span::new(key, form, weight, base, start, window.len()),
                ));
                k = end;
            }
        }
        i = j;
    }
}

/// Step 1 for one partition: updates its cores' neurons with their input for
/// step `t` and lists the neurons that spiked.
fn update(
    part: &mut Partition,
    cores: &mut [CoreState],
    tables: &Tables,
    t: u64,
    spiked: &mut Vec<u32>,
) {
    spiked.clear();
    for ((core, c), &(r, offset)) in cores.iter_mut().zip(part.cores.clone()).zip(&part.places) {
        let ring = &mut part.rings[r as usize];
        let at = ring.slot(t) + offset as usize;
        core.update_neurons(&mut ring.data[at..at + core.lanes()]);
        core.collect_spikes(tables.core_base[c], spiked);
    }
}

/// Adds the entries of span `index` of the tables into the partition.
#[inline(always)]
fn add_span(part: &mut Partition, tables: &Tables, t: u64, span: Span, index: u32) {
    let base = span.base as usize;
    match part.keys[span.key() as usize] {
        Key::Ring { ring, delay } => {
            let ring = &mut part.rings[ring as usize];
            let slot = ring.slot(t + 1 + u64::from(delay));
            add(&mut ring.data[slot + base..slot + ring.n], tables, span);
        }
        Key::Sum { index: sum } => {
            let sum_index = sum;
            let sum = &mut part.sums[sum as usize];
            if sum.added == 0 {
                part.touched.push(sum_index);
            }
            sum.added += usize::from(span.len);
            sum.pending.push(index);
            match &mut sum.sums {
                Sums::Narrow(d) => add(&mut d[base..], tables, span),
                Sums::Wide(d) => add(&mut d[base..], tables, span),
            }
        }
    }
}

/// Adds contiguous spans of one shape (key, base and length), whose weights'
/// magnitudes sum to at most 2^15 − 1: the rows are summed in 16 bits,
/// then added once.
fn add_rows(part: &mut Partition, tables: &Tables, t: u64, rows: &[u32]) {
    let Some(&first) = rows.first() else {
        return;
    };
    let span = tables.spans[first as usize];
    let (base, len) = (span.base as usize, usize::from(span.len));
    let row_sum = &mut part.row_sum;
    if rows.len() > 1 {
        row_sum.clear();
        row_sum.extend_from_slice(&tables.weights[span.range()]);
        for &r in &rows[1..] {
            let row = &tables.weights[tables.spans[r as usize].range()];
            for (s, &w) in row_sum.iter_mut().zip(row) {
                *s = s.wrapping_add(w);
            }
        }
    }
    let sum: &[i16] = if rows.len() > 1 {
        row_sum
    } else {
        &tables.weights[span.range()]
    };
    match part.keys[span.key() as usize] {
        Key::Ring { ring, delay } => {
            let ring = &mut part.rings[ring as usize];
            let slot = ring.slot(t + 1 + u64::from(delay));
            add_weights(&mut ring.data[slot + base..][..len], sum);
        }
        Key::Sum { index } => {
            let acc = &mut part.sums[index as usize];
            if acc.added == 0 {
                part.touched.push(index);
            }
            acc.added += len * rows.len();
            acc.pending.extend_from_slice(rows);
            match &mut acc.sums {
                Sums::Narrow(d) => add_weights(&mut d[base..][..len], sum),
                Sums::Wide(d) => add_weights(&mut d[base..][..len], sum),
            }
        }
    }
}

/// Adds `weights` into `dst`, entry by entry.
#[inline(always)]
fn add_weights<A: Accumulator>(dst: &mut [A], weights: &[i16]) {
    for (d, &w) in dst.iter_mut().zip(weights) {
        d.add(i32::from(w));
    }
}

/// An accumulator entries add into: a ring's 32 bits modulo 2^32, or a
/// sum's 32 or 64 bits.
trait Accumulator: Copy {
    fn add(&mut self, weight: i32);
}

impl Accumulator for i32 {
    #[inline(always)]
    fn add(&mut self, weight: i32) {
        *self = self.wrapping_add(weight);
    }
}

impl Accumulator for i64 {
    #[inline(always)]
    fn add(&mut self, weight: i32) {
        *self += i64::from(weight);
    }
}

/// Adds a span's entries into `dst`, which starts at the span's base.
#[inline(always)]
fn add<A: Accumulator>(dst: &mut [A], tables: &Tables, span: Span) {
    match span.form() {
        Form::Sparse => {
            for &e in &tables.packed[span.range()] {
                dst[(e & 0xFFFF) as usize].add(e as i32 >> 16);
            }
        }
        Form::Contiguous => {
            let weights = &tables.weights[span.range()];
            for (d, &w) in dst[..weights.len()].iter_mut().zip(weights) {
                d.add(i32::from(w));
            }
        }
        Form::Uniform => {
            let weight = i32::from(span.weight);
            for &offset in &tables.offsets[span.range()] {
                dst[usize::from(offset)].add(weight);
            }
        }
    }
}

/// Sources whose spans are read in one batch: first every span and the
/// cache lines of its entries are touched, so that their misses overlap,
/// then the entries are added.
const BATCH: usize = 64;

/// Reads the spans of a batch and the first and last entries of each, so
/// that the memory system fetches them in parallel (the lines between follow
/// the first: the prefetchers stream them); returns a value that depends on
/// them all, for [`std::hint::black_box`].
fn touch(tables: &Tables, batch: &[(u32, u32)]) -> u32 {
    fn ends<T: Copy>(entries: &[T], value: impl Fn(T) -> u32) -> u32 {
        entries.first().map_or(0, |&e| value(e)) ^ entries.last().map_or(0, |&e| value(e))
    }
    let mut sink = 0u32;
    // The spans first: those loads do not wait for one another.
    for &(first, _) in batch {
        sink ^= tables.spans[first as usize].key_form;
    }
    for &(first, last) in batch {
        for span in &tables.spans[first as usize..last as usize] {
            sink ^= match span.form() {
                Form::Sparse => ends(&tables.packed[span.range()], |e| e),
                Form::Contiguous => ends(&tables.weights[span.range()], |w| w as u32),
                Form::Uniform => ends(&tables.offsets[span.range()], u32::from),
            };
        }
    }
    sink
}

/// Steps 2 and 3 for one partition: reads the spans of every source that
/// spiked at step `t` into the partition's rings and sums, then moves the
/// sums, shifted, into the rings.
fn deliver(
    part: &mut Partition,
    p: usize,
    tables: &Tables,
    t: u64,
    spikes: &[Vec<u32>],
    host: &[u32],
) {
    let parts = tables.parts;
    let mut sources = spikes.iter().flatten().chain(host).peekable();
    let mut batch = std::mem::take(&mut part.batch);
    while sources.peek().is_some() {
        batch.clear();
        for &s in sources.by_ref().take(BATCH) {
            let at = s as usize * parts + p;
            let (first, last) = (tables.span_index[at], tables.span_index[at + 1]);
            if first < last {
                batch.push((first, last));
            }
        }
        std::hint::black_box(touch(tables, &batch));
        // Contiguous spans of one shape (the rows of a dense projection) are
        // summed in 16 bits before they are added, as many as cannot overflow.
        let mut rows = std::mem::take(&mut part.rows);
        let mut bound = 0i32;
        for &(first, last) in &batch {
            for (k, span) in tables.spans[first as usize..last as usize]
                .iter()
                .enumerate()
            {
                let index = first + k as u32;
                if span.form() != Form::Contiguous {
                    add_span(part, tables, t, *span, index);
                    continue;
                }
                let magnitude = i32::from(span.weight);
                let same = rows.first().is_some_and(|&r| {
                    let r = tables.spans[r as usize];
                    (r.key_form, r.base, r.len) == (span.key_form, span.base, span.len)
                });
                if !same || bound + magnitude > i32::from(i16::MAX) {
                    add_rows(part, tables, t, &rows);
                    rows.clear();
                    bound = 0;
                }
                rows.push(index);
                bound += magnitude;
            }
        }
        add_rows(part, tables, t, &rows);
        rows.clear();
        part.rows = rows;
    }
    part.batch = batch;
    for &index in &part.touched {
        let sum = &mut part.sums[index as usize];
        let ring = &mut part.rings[sum.ring as usize];
        let slot = ring.slot(t + 1 + u64::from(sum.delay));
        let dst = &mut ring.data[slot..slot + ring.n];
        let shift = sum.shift;
        if sum.added * 4 >= sum.len() {
            // Many entries: flush every sum (a zero sum adds zero).
            match (&mut sum.sums, sum.list.is_empty()) {
                (Sums::Narrow(s), true) => {
                    let dst = &mut dst[sum.first as usize..][..s.len()];
                    for (d, x) in dst.iter_mut().zip(s.iter_mut()) {
                        *d = d.wrapping_add(std::mem::take(x) >> shift);
                    }
                }
                (Sums::Narrow(s), false) => {
                    for (&target, x) in sum.list.iter().zip(s.iter_mut()) {
                        let d = &mut dst[target as usize];
                        *d = d.wrapping_add(std::mem::take(x) >> shift);
                    }
                }
                (Sums::Wide(s), contiguous) => {
                    for (j, x) in s.iter_mut().enumerate() {
                        let target = if contiguous {
                            sum.first as usize + j
                        } else {
                            sum.list[j] as usize
                        };
                        dst[target] = dst[target].wrapping_add((std::mem::take(x) >> shift) as i32);
                    }
                }
            }
        } else {
            // Few entries: flush the sums the step's spans touched.
            for &k in &sum.pending {
                let span = tables.spans[k as usize];
                let base = span.base as usize;
                let mut flush = |j: usize| {
                    let target = if sum.list.is_empty() {
                        sum.first as usize + j
                    } else {
                        sum.list[j] as usize
                    };
                    let value = match &mut sum.sums {
                        Sums::Narrow(s) => i64::from(std::mem::take(&mut s[j])),
                        Sums::Wide(s) => std::mem::take(&mut s[j]),
                    };
                    if value != 0 {
                        dst[target] = dst[target].wrapping_add((value >> shift) as i32);
                    }
                };
                match span.form() {
                    Form::Contiguous => (base..base + usize::from(span.len)).for_each(&mut flush),
                    Form::Sparse => {
                        for &e in &tables.packed[span.range()] {
                            flush(base + (e & 0xFFFF) as usize);
                        }
                    }
                    Form::Uniform => {
                        for &offset in &tables.offsets[span.range()] {
                            flush(base + usize::from(offset));
                        }
                    }
                }
            }
        }
        sum.added = 0;
        sum.pending.clear();
    }
    part.touched.clear();
}
