//! The energy and time of every operation a chip performs, from published
//! figures, for the time and energy model.

use serde::{Deserialize, Serialize};

/// Energy and time of one operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    /// Energy in picojoules.
    pub energy_pj: f64,
    /// Time in nanoseconds.
    pub time_ns: f64,
}

impl Cost {
    const fn new(energy_pj: f64, time_ns: f64) -> Self {
        Self { energy_pj, time_ns }
    }
}

/// How the barrier's cost follows the number of tiles in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BarrierShape {
    /// Straight lines between the points (and flat beyond them).
    Linear,
    /// The cost of the first point whose `tiles` is at least the tiles in use.
    Steps,
}

/// One point of the barrier's cost curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BarrierPoint {
    /// Tiles in use.
    pub tiles: u32,
    /// Cost of one barrier over that many tiles.
    pub cost: Cost,
}

/// Per-operation costs of a chip. Operations the source does not publish are
/// estimates, and `estimated` says the table as a whole holds some.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Costs {
    /// Where the figures come from, for reports.
    pub source: String,
    /// Whether any figure is an estimate rather than a published value.
    pub estimated: bool,
    /// Every neuron of a core, every step (an inactive update).
    pub neuron_update: Cost,
    /// Added when the neuron is active (input, bias or a state away from rest).
    pub neuron_active: Cost,
    /// Added when the neuron fires.
    pub neuron_spike: Cost,
    /// One synapse entry read and accumulated (of a dense matrix; also
    /// of other kinds when the table gives them no cost of their own).
    pub synaptic_op: Cost,
    /// One synapse entry of a list of synapses, if priced apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synaptic_op_sparse: Option<Cost>,
    /// One synapse entry of a convolution's kernel, if priced apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synaptic_op_convolutional: Option<Cost>,
    /// One synaptic variable (weight, delay variable or tag) updated by
    /// learning.
    pub synaptic_update: Cost,
    /// One trace value (x1, x2 of a pre axon; y1, y2, y3 of a post neuron)
    /// worked out at a learning epoch's end. No chip publishes it; 0 unless
    /// a profile gives it.
    #[serde(default)]
    pub trace_update: Cost,
    /// One spike message sent (one per neuron and destination core).
    pub message_out: Cost,
    /// One spike message received.
    pub message_in: Cost,
    /// One tile hop east–west.
    pub hop_east_west: Cost,
    /// One tile hop north–south.
    pub hop_north_south: Cost,
    /// One chip-to-chip link crossed.
    pub chip_link: Cost,
    /// How the barrier's cost follows the tiles in use.
    pub barrier_shape: BarrierShape,
    /// The barrier's cost curve, by increasing tiles.
    pub barrier: Vec<BarrierPoint>,
    /// Static power per chip in milliwatts.
    pub static_power_mw: f64,
}

impl Costs {
    /// Loihi 1: Davies et al. 2018, Table 2 (pre-silicon simulation at 0.75 V,
    /// consistent with early silicon). A neuron update costs 52 pJ / 5.3 ns
    /// inactive and 81 pJ / 8.4 ns active; a synaptic operation at least
    /// 23.6 pJ and at most 3.5 ns; a spike within a tile 1.7 pJ / 2.1 ns; a
    /// tile hop 3.0 pJ / 4.1 ns east–west and 4.0 pJ / 6.5 ns north–south; a
    /// pairwise STDP update 120 pJ / 6.1 ns; a mesh-wide barrier 113–465 ns
    /// over 1–32 tiles. Static power 104 mW per chip is the average measured
    /// on Pohoiki Springs (3.34 W for 32 chips, Frady et al. 2020). Not
    /// published, hence estimates: a spike's own cost (0), barrier energy
    /// (0), receiving a message (0) and a chip-to-chip link (taken as ten
    /// north–south hops).
    pub fn loihi1() -> Self {
        Self {
            source: "Davies et al. 2018, Table 2; static power from Pohoiki Springs".to_string(),
            estimated: true,
            neuron_update: Cost::new(52.0, 5.3),
            neuron_active: Cost::new(29.0, 3.1),
            neuron_spike: Cost::default(),
            synaptic_op: Cost::new(23.6, 3.5),
            synaptic_op_sparse: None,
            synaptic_op_convolutional: None,
            synaptic_update: Cost::new(120.0, 6.1),
            trace_update: Cost::default(),
            message_out: Cost::new(1.7, 2.1),
            message_in: Cost::default(),
            hop_east_west: Cost::new(3.0, 4.1),
            hop_north_south: Cost::new(4.0, 6.5),
            chip_link: Cost::new(40.0, 65.0),
            barrier_shape: BarrierShape::Linear,
            barrier: vec![
                BarrierPoint {
                    tiles: 1,
                    cost: Cost::new(0.0, 113.0),
                },
                BarrierPoint {
                    tiles: 32,
                    cost: Cost::new(0.0, 465.0),
                },
            ],
            static_power_mw: 104.0,
        }
    }

    /// The per-operation values of SANA-FE's Loihi architecture file, so that
    /// results compare with that simulator: soma access 51.2 pJ / 6.0 ns for
    /// every neuron every step, +21.6 pJ / +3.7 ns when active, +69.3 pJ /
    /// +30 ns when it fires; an outgoing message 111 pJ / 5.1 ns, an incoming
    /// one 0 pJ / 16 ns; a (dense) synaptic operation 35.5 pJ / 3.8 ns; hops
    /// 3.0 pJ / 4.1 ns east–west and 4.2 pJ / 6.5 ns north–south; barriers of
    /// 0.6, 1.0, 1.4 and 1.8 µs for 1, 2–3, 4–28 and 29 or more tiles; no
    /// static power. Sparse synaptic operations cost 33.6 pJ / 4.7 ns and
    /// convolutional ones 24.0 pJ / 3.1 ns.
    pub fn loihi1_sanafe() -> Self {
        let step = |tiles: u32, time_ns: f64| BarrierPoint {
            tiles,
            cost: Cost::new(0.0, time_ns),
        };
        Self {
            source: "SANA-FE Loihi architecture (loihi.yaml)".to_string(),
            estimated: false,
            neuron_update: Cost::new(51.2, 6.0),
            neuron_active: Cost::new(21.6, 3.7),
            neuron_spike: Cost::new(69.3, 30.0),
            synaptic_op: Cost::new(35.5, 3.8),
            synaptic_op_sparse: Some(Cost::new(33.6, 4.7)),
            synaptic_op_convolutional: Some(Cost::new(24.0, 3.1)),
            synaptic_update: Cost::default(),
            trace_update: Cost::default(),
            message_out: Cost::new(111.0, 5.1),
            message_in: Cost::new(0.0, 16.0),
            hop_east_west: Cost::new(3.0, 4.1),
            hop_north_south: Cost::new(4.2, 6.5),
            chip_link: Cost::default(),
            barrier_shape: BarrierShape::Steps,
            barrier: vec![
                step(1, 600.0),
                step(3, 1000.0),
                step(28, 1400.0),
                step(u32::MAX, 1800.0),
            ],
            static_power_mw: 0.0,
        }
    }

    /// Loihi 2: Intel publishes no per-operation table, so every figure is an
    /// estimate. Energies are bounded from Hala Point (2,600 W at 3.8·10^14
    /// synaptic and 2.4·10^14 neuron operations per second: at most about
    /// 4.2 pJ per operation, all power included); times take Loihi 1's and
    /// apply the reported speed-ups (about 2× for neuron updates, up to 10×
    /// for spike generation and routing). No static power of a Loihi 2 chip
    /// is published: Loihi 1's measured 104 mW per chip is assumed.
    pub fn loihi2() -> Self {
        Self {
            source: "estimates from Hala Point totals and Loihi 1 (no published per-op table)"
                .to_string(),
            estimated: true,
            neuron_update: Cost::new(2.1, 2.65),
            neuron_active: Cost::new(2.1, 1.55),
            neuron_spike: Cost::default(),
            synaptic_op: Cost::new(4.2, 1.75),
            synaptic_op_sparse: None,
            synaptic_op_convolutional: None,
            synaptic_update: Cost::new(20.0, 3.05),
            trace_update: Cost::default(),
            message_out: Cost::new(0.4, 0.21),
            message_in: Cost::default(),
            hop_east_west: Cost::new(0.8, 0.41),
            hop_north_south: Cost::new(1.0, 0.65),
            chip_link: Cost::new(10.0, 6.5),
            barrier_shape: BarrierShape::Linear,
            barrier: vec![
                BarrierPoint {
                    tiles: 1,
                    cost: Cost::new(0.0, 60.0),
                },
                BarrierPoint {
                    tiles: 32,
                    cost: Cost::new(0.0, 240.0),
                },
            ],
            static_power_mw: 104.0,
        }
    }

    /// The cost of one synaptic operation of each kind: dense, sparse,
    /// convolutional.
    pub fn synaptic_ops(&self) -> [Cost; 3] {
        [
            self.synaptic_op,
            self.synaptic_op_sparse.unwrap_or(self.synaptic_op),
            self.synaptic_op_convolutional.unwrap_or(self.synaptic_op),
        ]
    }

    /// The cost of one barrier over `tiles` tiles.
    pub fn barrier_cost(&self, tiles: u32) -> Cost {
        let Some(first) = self.barrier.first() else {
            return Cost::default();
        };
        match self.barrier_shape {
            BarrierShape::Steps => self
                .barrier
                .iter()
                .find(|p| p.tiles >= tiles)
                .or(self.barrier.last())
                .map_or(Cost::default(), |p| p.cost),
            BarrierShape::Linear => {
                if tiles <= first.tiles {
                    return first.cost;
                }
                for pair in self.barrier.windows(2) {
                    let (a, b) = (pair[0], pair[1]);
                    if tiles <= b.tiles {
                        let f = f64::from(tiles - a.tiles) / f64::from((b.tiles - a.tiles).max(1));
                        return Cost::new(
                            a.cost.energy_pj + f * (b.cost.energy_pj - a.cost.energy_pj),
                            a.cost.time_ns + f * (b.cost.time_ns - a.cost.time_ns),
                        );
                    }
                }
                self.barrier.last().map_or(Cost::default(), |p| p.cost)
            }
        }
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        let all = [
            ("neuron_update", self.neuron_update),
            ("neuron_active", self.neuron_active),
            ("neuron_spike", self.neuron_spike),
            ("synaptic_op", self.synaptic_op),
            ("synaptic_op_sparse", self.synaptic_ops()[1]),
            ("synaptic_op_convolutional", self.synaptic_ops()[2]),
            ("synaptic_update", self.synaptic_update),
            ("trace_update", self.trace_update),
            ("message_out", self.message_out),
            ("message_in", self.message_in),
            ("hop_east_west", self.hop_east_west),
            ("hop_north_south", self.hop_north_south),
            ("chip_link", self.chip_link),
        ];
        let bad = |c: Cost| {
            !(c.energy_pj.is_finite()
                && c.energy_pj >= 0.0
                && c.time_ns.is_finite()
                && c.time_ns >= 0.0)
        };
        if let Some((name, _)) = all.iter().find(|(_, c)| bad(*c)) {
            return Err(format!("{name} must be finite and not negative"));
        }
        if self.barrier.iter().any(|p| bad(p.cost)) {
            return Err("barrier costs must be finite and not negative".to_string());
        }
        if self.barrier.windows(2).any(|w| w[0].tiles >= w[1].tiles) {
            return Err("barrier points must have increasing tiles".to_string());
        }
        if !(self.static_power_mw.is_finite() && self.static_power_mw >= 0.0) {
            return Err("static_power_mw must be finite and not negative".to_string());
        }
        Ok(())
    }
}
