//! The time and energy model: what each step would cost on silicon.
//!
//! Counts come from the emulator, exactly, per core and per step: neuron
//! updates (active and inactive), spikes, synaptic operations, spike
//! messages sent and received, tile hops east–west and north–south under XY
//! routing, chip-to-chip link crossings, and one barrier per step. The
//! profile's [`Costs`] price them.
//!
//! Time follows each step through the chip:
//!
//! 1. every core updates its neurons: `n × update + active × active extra +
//!    spikes × spike extra`;
//! 2. each spike message leaves its core when the update is done, one after
//!    another (`message_out` apart), and crosses the mesh hop by hop under XY
//!    routing; a directed link between two tiles passes one message at a time
//!    (a hop's latency), so messages that share a link queue, first come by
//!    departure; a hop across a chip border adds the chip link's latency;
//! 3. a core takes arriving messages in arrival order, after its own update:
//!    `message_in + synaptic ops of the axon's run × synaptic op` each; host
//!    spikes are waiting at their cores when the step starts;
//! 4. the step ends when the last core is done, plus the barrier over the
//!    tiles in use.
//!
//! Energy is the counts times their energies, plus static power times the
//! modelled time for each chip in use.

use neurite_chip::{ChipProfile, Cost, Costs};

/// Operations counted by the emulator, for one core or summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Neuron updates (every neuron, every step).
    pub neuron_updates: u64,
    /// Updates of neurons with input, bias or a state away from rest.
    pub active_updates: u64,
    /// Spikes generated.
    pub spikes: u64,
    /// Synapse entries read and accumulated, all kinds.
    pub synaptic_ops: u64,
    /// Of those, entries of sparse groups (lists of synapses).
    pub sparse_synaptic_ops: u64,
    /// Of those, entries of convolutional groups.
    pub convolutional_synaptic_ops: u64,
    /// Spike messages sent (one per neuron and destination core).
    pub messages_out: u64,
    /// Spike messages received, host spikes included.
    pub messages_in: u64,
    /// Tile hops east–west.
    pub hops_east_west: u64,
    /// Tile hops north–south.
    pub hops_north_south: u64,
    /// Chip-to-chip links crossed.
    pub chip_links: u64,
    /// Synaptic variables updated by learning (weights, delay variables and
    /// tags; one per synapse and rule, per epoch).
    pub synaptic_updates: u64,
    /// Trace values worked out at learning epochs' ends.
    pub trace_updates: u64,
}

impl std::ops::AddAssign for Counters {
    fn add_assign(&mut self, o: Self) {
        self.neuron_updates += o.neuron_updates;
        self.active_updates += o.active_updates;
        self.spikes += o.spikes;
        self.synaptic_ops += o.synaptic_ops;
        self.sparse_synaptic_ops += o.sparse_synaptic_ops;
        self.convolutional_synaptic_ops += o.convolutional_synaptic_ops;
        self.messages_out += o.messages_out;
        self.messages_in += o.messages_in;
        self.hops_east_west += o.hops_east_west;
        self.hops_north_south += o.hops_north_south;
        self.chip_links += o.chip_links;
        self.synaptic_updates += o.synaptic_updates;
        self.trace_updates += o.trace_updates;
    }
}

/// Energy by class of operation, in picojoules.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Energy {
    /// Neuron updates, active extras and spikes.
    pub neurons: f64,
    /// Synaptic operations, and learning's updates of synapses and traces.
    pub synapses: f64,
    /// Messages sent and received.
    pub messages: f64,
    /// Tile hops.
    pub mesh: f64,
    /// Chip-to-chip links.
    pub links: f64,
    /// Barriers.
    pub barrier: f64,
    /// Static power over the modelled time.
    pub static_power: f64,
}

impl Energy {
    /// Names of the classes, in [`Energy::values`] order.
    pub const CLASSES: [&'static str; 7] = [
        "neurons", "synapses", "messages", "mesh", "links", "barrier", "static",
    ];

    /// The classes' energies, in [`Energy::CLASSES`] order.
    pub fn values(&self) -> [f64; 7] {
        [
            self.neurons,
            self.synapses,
            self.messages,
            self.mesh,
            self.links,
            self.barrier,
            self.static_power,
        ]
    }

    /// Sum of all classes.
    pub fn total(&self) -> f64 {
        self.values().iter().sum()
    }

    /// Dynamic energy of a core's counts (no barrier, no static power).
    pub fn of(counts: &Counters, costs: &Costs) -> Self {
        let e = |c: Cost, n: u64| c.energy_pj * n as f64;
        Self {
            neurons: e(costs.neuron_update, counts.neuron_updates)
                + e(costs.neuron_active, counts.active_updates)
                + e(costs.neuron_spike, counts.spikes),
            synapses: {
                let [dense, sparse, convolutional] = costs.synaptic_ops();
                let other = counts.sparse_synaptic_ops + counts.convolutional_synaptic_ops;
                e(dense, counts.synaptic_ops - other)
                    + e(sparse, counts.sparse_synaptic_ops)
                    + e(convolutional, counts.convolutional_synaptic_ops)
                    + e(costs.synaptic_update, counts.synaptic_updates)
                    + e(costs.trace_update, counts.trace_updates)
            },
            messages: e(costs.message_out, counts.messages_out)
                + e(costs.message_in, counts.messages_in),
            mesh: e(costs.hop_east_west, counts.hops_east_west)
                + e(costs.hop_north_south, counts.hops_north_south),
            links: e(costs.chip_link, counts.chip_links),
            barrier: 0.0,
            static_power: 0.0,
        }
    }
}

impl std::ops::AddAssign for Energy {
    fn add_assign(&mut self, o: Self) {
        self.neurons += o.neurons;
        self.synapses += o.synapses;
        self.messages += o.messages;
        self.mesh += o.mesh;
        self.links += o.links;
        self.barrier += o.barrier;
        self.static_power += o.static_power;
    }
}

/// One modelled step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepRecord {
    /// Step number.
    pub step: u64,
    /// Modelled chip time of the step, barrier included, in nanoseconds.
    pub time_ns: f64,
    /// Energy of the step by class.
    pub energy: Energy,
    /// Counts of the step, all cores.
    pub counts: Counters,
}

/// Sums over modelled steps: every step since the model was enabled
/// ([`Model::totals`]), or a window of them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ModelTotals {
    /// Steps summed.
    pub steps: u64,
    /// Modelled chip time, in nanoseconds.
    pub time_ns: f64,
    /// Energy by class.
    pub energy: Energy,
    /// Counts, all cores.
    pub counts: Counters,
}

impl ModelTotals {
    /// Modelled steps per second on the chip.
    pub fn steps_per_second(&self) -> f64 {
        if self.time_ns > 0.0 {
            self.steps as f64 / (self.time_ns * 1e-9)
        } else {
            f64::INFINITY
        }
    }

    /// How many times faster than real time, at 1 ms per step.
    pub fn real_time_factor(&self) -> f64 {
        if self.time_ns > 0.0 {
            self.steps as f64 * 1e6 / self.time_ns
        } else {
            f64::INFINITY
        }
    }

    /// Energy per spike in picojoules (all energy over all spikes).
    pub fn per_spike(&self) -> Option<f64> {
        (self.counts.spikes > 0).then(|| self.energy.total() / self.counts.spikes as f64)
    }

    /// Energy per synaptic operation in picojoules (all energy over all operations).
    pub fn per_synaptic_op(&self) -> Option<f64> {
        (self.counts.synaptic_ops > 0)
            .then(|| self.energy.total() / self.counts.synaptic_ops as f64)
    }
}

/// What the host's spikes of one step bring a core.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HostLoad {
    /// Host messages received.
    pub messages: u64,
    /// Synapse entries they read, by kind (dense, sparse, convolutional).
    pub entries: [u64; 3],
}

/// A core's totals over the modelled steps.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CoreTotals {
    /// Physical location of the core.
    pub location: u32,
    /// Counts.
    pub counts: Counters,
    /// Dynamic energy charged to the core (its updates, its synaptic
    /// operations, the messages it sends and receives, the hops and links of
    /// the messages it sends).
    pub energy: Energy,
    /// Time the core was busy, summed over steps, in nanoseconds.
    pub busy_ns: f64,
}

/// A core sending its messages of a step: its running state, apart from
/// the model's tables.
#[derive(Debug)]
pub(crate) struct Sender {
    src: u32,
    place: Place,
    /// When its update is done.
    ready: f64,
    /// Messages sent so far.
    sent: u32,
    /// Hops east–west, north–south and chip links of its messages.
    pub(crate) hops: [u64; 3],
}

/// Where a core sits, for routes.
#[derive(Debug, Clone, Copy)]
struct Place {
    tile_x: u32,
    tile_y: u32,
    chip_x: u32,
    chip_y: u32,
}

/// The model's state: the cost table, the chip's geometry, and the record.
#[derive(Debug)]
pub struct Model {
    costs: Costs,
    places: Vec<Place>,
    tiles_x: u32,
    tiles_per_chip: (u32, u32),
    tiles_in_use: u32,
    chips_in_use: u32,
    /// The barrier over the tiles in use, the same every step.
    barrier: Cost,
    /// Per directed link (tile × 4 directions): the step it was last used
    /// in, and when it is free again.
    links: Vec<(u64, f64)>,
    /// The most recent steps' counts and times: between `kept` and
    /// `2 × kept` of them, so that a board running for days holds bounded
    /// memory while the totals still cover every step. Their energies follow
    /// from these when read.
    steps: Vec<Recorded>,
    kept: Option<usize>,
    totals: ModelTotals,
    cores: Vec<CoreTotals>,
    // Scratch, reused every step.
    ready: Vec<f64>,
    /// (destination core, arrival time, synapse entries of its axon by kind).
    arrivals: Vec<(u32, f64, [u32; 3])>,
}

/// What is kept of a step: its energy follows from its counts and time.
#[derive(Debug, Clone, Copy)]
struct Recorded {
    step: u64,
    time_ns: f64,
    counts: Counters,
}

/// Directions of a link out of a tile.
const EAST: usize = 0;
const WEST: usize = 1;
const NORTH: usize = 2;
const SOUTH: usize = 3;

impl Model {
    pub(crate) fn new(chip: &ChipProfile, locations: &[u32], costs: Costs) -> Self {
        let places: Vec<Place> = locations
            .iter()
            .map(|&l| {
                let at = chip.location(l);
                let (tile_x, tile_y) = chip.global_tile(at);
                Place {
                    tile_x,
                    tile_y,
                    chip_x: at.chip % chip.chips.x.max(1),
                    chip_y: at.chip / chip.chips.x.max(1),
                }
            })
            .collect();
        let mut tiles: Vec<(u32, u32)> = places.iter().map(|p| (p.tile_x, p.tile_y)).collect();
        tiles.sort_unstable();
        tiles.dedup();
        let mut chips: Vec<(u32, u32)> = places.iter().map(|p| (p.chip_x, p.chip_y)).collect();
        chips.sort_unstable();
        chips.dedup();
        let tiles_x = chip.chips.x * chip.mesh.tiles_x;
        let all_tiles = (tiles_x * chip.chips.y * chip.mesh.tiles_y) as usize;
        Self {
            barrier: costs.barrier_cost(tiles.len() as u32),
            costs,
            tiles_x,
            tiles_per_chip: (chip.mesh.tiles_x.max(1), chip.mesh.tiles_y.max(1)),
            tiles_in_use: tiles.len() as u32,
            chips_in_use: chips.len() as u32,
            links: vec![(0, 0.0); all_tiles * 4],
            // A second of steps at 1 ms without growing (about 120 KB).
            steps: Vec::with_capacity(1024),
            kept: None,
            totals: ModelTotals::default(),
            cores: locations
                .iter()
                .map(|&location| CoreTotals {
                    location,
                    ..CoreTotals::default()
                })
                .collect(),
            ready: vec![0.0; places.len()],
            arrivals: Vec::with_capacity(1024),
            places,
        }
    }

    /// The cost table in use.
    pub fn costs(&self) -> &Costs {
        &self.costs
    }

    /// The step records kept, in order: every modelled step unless
    /// [`Model::keep_steps`] bounds them, then at least the most recent
    /// `limit` steps.
    pub fn steps(&self) -> Vec<StepRecord> {
        self.steps.iter().map(|r| self.step_record(r)).collect()
    }

    /// A step's record, energy priced exactly as when it was summed into
    /// the totals.
    fn step_record(&self, r: &Recorded) -> StepRecord {
        StepRecord {
            step: r.step,
            time_ns: r.time_ns,
            energy: self.step_energy(&r.counts, r.time_ns),
            counts: r.counts,
        }
    }

    /// The energy of a step with all cores' `counts`, lasting `time_ns`.
    fn step_energy(&self, counts: &Counters, time_ns: f64) -> Energy {
        let mut energy = Energy::of(counts, &self.costs);
        energy.barrier = self.barrier.energy_pj;
        // mW × ns = pJ.
        energy.static_power = self.costs.static_power_mw * f64::from(self.chips_in_use) * time_ns;
        energy
    }

    /// Keeps at least the most recent `limit` step records and at most
    /// twice as many (`None`: all). Totals cover every step either way.
    pub fn keep_steps(&mut self, limit: Option<usize>) {
        self.kept = limit;
        self.trim();
    }

    /// Sums over every modelled step, including those whose records are no
    /// longer kept.
    pub fn totals(&self) -> ModelTotals {
        self.totals
    }

    fn trim(&mut self) {
        if let Some(kept) = self.kept
            && self.steps.len() > kept.saturating_mul(2).max(1)
        {
            // Dropping half at a time keeps the cost per step constant.
            self.steps.drain(..self.steps.len() - kept);
        }
    }

    /// Each core's totals, in Program order.
    pub fn cores(&self) -> Vec<CoreTotals> {
        self.cores
            .iter()
            .map(|core| CoreTotals {
                energy: Energy::of(&core.counts, &self.costs),
                ..*core
            })
            .collect()
    }

    /// Tiles holding at least one core of the Program.
    pub fn tiles_in_use(&self) -> u32 {
        self.tiles_in_use
    }

    /// Chips holding at least one core of the Program.
    pub fn chips_in_use(&self) -> u32 {
        self.chips_in_use
    }

    /// Hops east–west, north–south and chip links from core `a` to core `b`.
    pub(crate) fn route(&self, a: u32, b: u32) -> (u32, u32, u32) {
        let (p, q) = (self.places[a as usize], self.places[b as usize]);
        (
            p.tile_x.abs_diff(q.tile_x),
            p.tile_y.abs_diff(q.tile_y),
            p.chip_x.abs_diff(q.chip_x) + p.chip_y.abs_diff(q.chip_y),
        )
    }

    /// Starts modelling a step: `counts` holds each core's neuron updates,
    /// active updates and spikes of the step, which set when its update is
    /// done. The step's messages follow through [`Model::send`], then
    /// [`Model::finish_step`].
    pub(crate) fn begin_step(&mut self, counts: &[Counters]) {
        let c = &self.costs;
        let t = |cost: Cost, n: u64| cost.time_ns * n as f64;
        for (k, counts) in counts.iter().enumerate() {
            self.ready[k] = t(c.neuron_update, counts.neuron_updates)
                + t(c.neuron_active, counts.active_updates)
                + t(c.neuron_spike, counts.spikes);
        }
        self.arrivals.clear();
    }

    /// Starts core `src` sending its messages of the step.
    pub(crate) fn sender(&self, src: u32) -> Sender {
        Sender {
            src,
            place: self.places[src as usize],
            ready: self.ready[src as usize],
            sent: 0,
            hops: [0; 3],
        }
    }

    /// The next spike message of `sender`, to core `dst`, whose axon reads
    /// `entries` synapse entries by kind (dense, sparse, convolutional).
    #[inline]
    pub(crate) fn send(&mut self, sender: &mut Sender, step: u64, dst: u32, entries: [u32; 3]) {
        sender.sent += 1;
        let mut time = sender.ready + f64::from(sender.sent) * self.costs.message_out.time_ns;
        let (p, q) = (sender.place, self.places[dst as usize]);
        // Within a tile a message takes no link.
        if (p.tile_x, p.tile_y) != (q.tile_x, q.tile_y) {
            let (east_west, north_south, chip_links) = self.route(sender.src, dst);
            sender.hops[0] += u64::from(east_west);
            sender.hops[1] += u64::from(north_south);
            sender.hops[2] += u64::from(chip_links);
            time = self.travel(step, sender.src, dst, time);
        }
        self.arrivals.push((dst, time, entries));
    }

    /// Ends the step begun by [`Model::begin_step`]: `counts` holds each
    /// core's counts of the step but those of the messages it received from
    /// other cores, which are added here; `host` holds each core's load from
    /// host spikes.
    pub(crate) fn finish_step(&mut self, step: u64, counts: &mut [Counters], host: &[HostLoad]) {
        let [dense, sparse, convolutional] = self.costs.synaptic_ops();
        let host_message_in = self.costs.message_in.time_ns;
        let host_time = |load: &HostLoad| {
            load.messages as f64 * host_message_in
                + load.entries[0] as f64 * dense.time_ns
                + load.entries[1] as f64 * sparse.time_ns
                + load.entries[2] as f64 * convolutional.time_ns
        };
        // Host messages are there when the step starts, before any message
        // of the mesh: each core takes them all right after its update.
        for (free, load) in self.ready.iter_mut().zip(host) {
            if load.messages > 0 {
                *free += host_time(load);
            }
        }
        // Each core takes its messages in arrival order, after its update
        // (equal arrivals may go in any order: the sums are the same).
        // Arrival times are positive and finite, so their bits order as the
        // times do: one integer key sorts by core, then time.
        let key = |&(dst, arrival, _): &(u32, f64, [u32; 3])| {
            (u128::from(dst) << 64) | u128::from(arrival.to_bits())
        };
        // Messages of one source to one core arrive in sending order, so
        // the list is often sorted already.
        if !self.arrivals.is_sorted_by_key(key) {
            self.arrivals.sort_unstable_by_key(key);
        }
        let message_in = self.costs.message_in.time_ns;
        // One core's arrivals at a time, its running sums kept local.
        for run in self.arrivals.chunk_by(|a, b| a.0 == b.0) {
            let dst = run[0].0 as usize;
            let mut free = self.ready[dst];
            let mut read = [0u64; 3];
            for &(_, arrival, entries) in run {
                let synaptic = f64::from(entries[0]) * dense.time_ns
                    + f64::from(entries[1]) * sparse.time_ns
                    + f64::from(entries[2]) * convolutional.time_ns;
                free = free.max(arrival) + message_in + synaptic;
                for (total, e) in read.iter_mut().zip(entries) {
                    *total += u64::from(e);
                }
            }
            self.ready[dst] = free;
            let c = &mut counts[dst];
            c.messages_in += run.len() as u64;
            c.synaptic_ops += read[0] + read[1] + read[2];
            c.sparse_synaptic_ops += read[1];
            c.convolutional_synaptic_ops += read[2];
        }
        let c = &self.costs;
        let t = |cost: Cost, n: u64| cost.time_ns * n as f64;
        let mut total = Counters::default();
        let mut slowest = 0.0f64;
        for (k, counts) in counts.iter().enumerate() {
            // Learning runs at the epoch's end, after the step's deliveries.
            let busy = self.ready[k]
                + t(c.synaptic_update, counts.synaptic_updates)
                + t(c.trace_update, counts.trace_updates);
            let core = &mut self.cores[k];
            core.counts += *counts;
            core.busy_ns += busy;
            total += *counts;
            slowest = slowest.max(busy);
        }
        // Dynamic energy is linear in the counts: priced once per step for
        // all cores, and per core when the totals are read.
        let time_ns = slowest + self.barrier.time_ns;
        let energy = self.step_energy(&total, time_ns);
        self.totals.steps += 1;
        self.totals.time_ns += time_ns;
        self.totals.energy += energy;
        self.totals.counts += total;
        self.steps.push(Recorded {
            step,
            time_ns,
            counts: total,
        });
        self.trim();
    }

    /// Sends a message leaving `src` at `time` to `dst`, east–west first,
    /// taking each directed link when it is free; returns the arrival time.
    fn travel(&mut self, step: u64, src: u32, dst: u32, mut time: f64) -> f64 {
        let (p, q) = (self.places[src as usize], self.places[dst as usize]);
        let (mut x, mut y) = (p.tile_x, p.tile_y);
        let c = &self.costs;
        let (chip_w, chip_h) = self.tiles_per_chip;
        while (x, y) != (q.tile_x, q.tile_y) {
            let (direction, next, hop, crosses) = if x != q.tile_x {
                let next_x = if q.tile_x > x { x + 1 } else { x - 1 };
                let direction = if q.tile_x > x { EAST } else { WEST };
                (
                    direction,
                    (next_x, y),
                    c.hop_east_west,
                    x / chip_w != next_x / chip_w,
                )
            } else {
                let next_y = if q.tile_y > y { y + 1 } else { y - 1 };
                let direction = if q.tile_y > y { SOUTH } else { NORTH };
                (
                    direction,
                    (x, next_y),
                    c.hop_north_south,
                    y / chip_h != next_y / chip_h,
                )
            };
            let link = &mut self.links[(y * self.tiles_x + x) as usize * 4 + direction];
            let free_at = if link.0 == step { link.1 } else { 0.0 };
            time =
                time.max(free_at) + hop.time_ns + if crosses { c.chip_link.time_ns } else { 0.0 };
            *link = (step, time);
            (x, y) = next;
        }
        time
    }
}
