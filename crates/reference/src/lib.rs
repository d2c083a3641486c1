//! A plain reference simulator of network descriptions.
//!
//! It runs the *description* directly, with straightforward integer loops and
//! none of the compiler's or the emulator's data structures: weights are
//! quantized here from Lava's rules, synaptic input waits in a map keyed by
//! arrival step, and every quantity is computed in wide integers with the
//! rounding spelled out. It is slow and obviously correct, and it is the
//! oracle the differential tests hold compiler + emulator to.
//!
//! It simulates networks in hardware units only. A description with
//! populations in physical units (`tau_syn_ms`, `tau_mem_ms`, `threshold`, …,
//! and float weights) must first be lowered with
//! `neurite_compiler::physical::lower`; [`simulate`] refuses one that was
//! not with [`ReferenceError::PhysicalUnits`] (this crate is a test oracle
//! and depends on nothing but the description, so it cannot lower it
//! itself).
//!
//! Learning projections learn as Lava's fixed-point `LearningDense` does,
//! stochastic rounding and three-factor rules included (see the `learning`
//! module): the only thing taken from the learning engine besides the
//! parsed rule is NumPy's raw PCG64 generator. Input spikes come from the
//! description's `inputs`; the values the host streams to neuromodulators
//! are given to [`simulate_with`] in a [`HostInput`]. A neuromodulator's
//! value at step t is the host's value for step t plus the weights of its
//! population's neurons that spiked at step t − 1 (held in 32 bits); it is
//! y2 of the post neurons of every three-factor projection naming it.
//!
//! The semantics (Lava's `PyLifModelBitAcc`, `PyDenseModelBitAcc`,
//! `PyDelayDenseModelBitAcc`), for step t = 1, 2, …:
//!
//! - `a` = the synaptic input arriving at step t;
//! - u ← tz(u · (4096 − du − 1) / 4096) + a · 64, folded into (−2^23, 2^23];
//! - unless refractory: v ← tz(v · (4096 − dv) / 4096) + u + bias_mant · 2^bias_exp,
//!   clamped to ±(2^23 − 1); spike when v > vth · 64, then v ← 0, or
//!   v ← v − vth · 64 in a population that resets by subtraction (the
//!   difference lies in (0, 2^23 − 1], so it is never clamped); v is held at
//!   that value through the refractory steps;
//! - a spike at step t, through a synapse of delay d, adds to the input of
//!   step t + 1 + d; each projection's per-target, per-delay sum of the step
//!   is multiplied by 2^weight_exp, rounding toward −∞.
//!
//! ```
//! let net = neurite_net::from_toml_str(r#"
//!     [[populations]]
//!     name = "n"
//!     size = 1
//!     model = "lif"
//!     du = 0
//!     dv = 0
//!     vth = 1
//!     bias_mant = 1
//! "#, "n.toml", None).unwrap();
//! let trace = neurite_reference::simulate(&net, 66).unwrap();
//! let n = &trace.populations[0];
//! assert_eq!(n.v[63], vec![64]);          // step 64
//! assert_eq!(n.spikes[64], vec![0]);      // step 65: v = 65 > 64
//! assert_eq!(n.v[65], vec![1]);
//! ```

mod learning;

use std::collections::BTreeMap;

use neurite_net::{InputStream, Model, Network, Reset, SignMode};

/// Why the reference simulator cannot run a description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// A population in physical units.
    #[error(
        "population '{population}' is in physical units; lower the network with neurite_compiler::physical::lower first"
    )]
    PhysicalUnits {
        /// The population's name.
        population: String,
    },
    /// A projection with float weights.
    #[error(
        "projection '{projection}' has float weights; lower the network with neurite_compiler::physical::lower first"
    )]
    FloatWeights {
        /// The projection's name.
        projection: String,
    },
    /// The host streams values to a neuromodulator the description does not
    /// declare.
    #[error(
        "the host streams values to neuromodulator '{name}', which the network does not declare"
    )]
    UnknownNeuromodulator {
        /// The name given.
        name: String,
    },
    /// A host value for step 0: steps are numbered from 1.
    #[error("neuromodulator '{name}': a host value for step 0 (steps are numbered from 1)")]
    StepZero {
        /// The neuromodulator's name.
        name: String,
    },
}

/// What the host streams besides the description's own inputs: the values
/// of neuromodulators, per step (what `Emulator::set_neuromodulator` sets
/// before a step). A value not given is 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostInput {
    /// (neuromodulator name, step) → value.
    neuromodulators: BTreeMap<(String, u64), i32>,
}

impl HostInput {
    /// Nothing from the host.
    pub fn new() -> HostInput {
        HostInput::default()
    }

    /// Sets what the host adds to neuromodulator `name` at `step` (from 1).
    pub fn set_neuromodulator(&mut self, name: &str, step: u64, value: i32) -> &mut HostInput {
        self.neuromodulators.insert((name.to_string(), step), value);
        self
    }
}

/// Everything that happened in a run, per population and step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// Steps run.
    pub steps: u64,
    /// Times u left (−2^23, 2^23] before folding, over all neurons and steps.
    pub wraps: u64,
    /// Times v was clamped to ±(2^23 − 1).
    pub saturations: u64,
    /// One entry per population, in description order.
    pub populations: Vec<PopulationTrace>,
    /// One entry per projection: for a learning projection, its synapses'
    /// weights (8-bit scale), delay variables and tags after the last step,
    /// in the projection's synapse order.
    pub learned: Vec<Option<Learned>>,
}

/// The learned variables of a projection's synapses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Learned {
    /// Weights on the 8-bit scale.
    pub weights: Vec<i32>,
    /// Delay variables d (Lava's `tag_2`).
    pub delays: Vec<i32>,
    /// Tags t (Lava's `tag_1`).
    pub tags: Vec<i32>,
    /// The stored traces after the last step: x1 and x2 (one value per
    /// neuron of the projection's source), y1, y2 and y3 (per neuron of its
    /// target). A trace kept from spikes holds its value at the start of the
    /// current epoch; a supplied one (three-factor rules) its last value.
    pub traces: [Vec<i32>; 5],
}

/// One population's record. Index 0 of each list is step 1.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PopulationTrace {
    /// Indices that spiked at each step, ascending.
    pub spikes: Vec<Vec<u32>>,
    /// u of every neuron after each step (empty for input populations).
    pub u: Vec<Vec<i32>>,
    /// v of every neuron after each step (empty for input populations).
    pub v: Vec<Vec<i32>>,
}

const TWO_23: i128 = 1 << 23;
const TWO_24: i128 = 1 << 24;

/// Round toward zero of x / 4096, written as Lava writes it.
fn tz_div_4096(x: i128) -> i128 {
    x.signum() * (x.abs() >> 12)
}

/// The 8-bit-scale value a weight takes after clipping and truncation.
fn quantize(weight: i32, mode: SignMode, num_weight_bits: u8) -> i128 {
    let w = i128::from(weight);
    let bits = i128::from(num_weight_bits);
    match mode {
        SignMode::Mixed => {
            let clipped = w.clamp(-256, 255);
            let step = 1i128 << (9 - bits);
            // Truncating with an arithmetic shift is a floor division.
            clipped.div_euclid(step) * step
        }
        SignMode::Excitatory => {
            let clipped = w.clamp(0, 255);
            let step = 1i128 << (8 - bits);
            clipped / step * step
        }
        SignMode::Inhibitory => {
            let magnitude = (-w).clamp(0, 255);
            let step = 1i128 << (8 - bits);
            -(magnitude / step * step)
        }
    }
}

fn infer(weights: &[i32]) -> SignMode {
    if weights.iter().all(|&w| w >= 0) {
        SignMode::Excitatory
    } else if weights.iter().all(|&w| w <= 0) {
        SignMode::Inhibitory
    } else {
        SignMode::Mixed
    }
}

struct LifState {
    u: Vec<i128>,
    v: Vec<i128>,
    /// Last step at which v is still held after a spike.
    frozen_until: Vec<u64>,
}

/// Runs `network` for `steps` steps and records every population, with
/// nothing from the host but the description's inputs.
///
/// # Errors
///
/// If a population of `network` is in physical units, or a projection has
/// float weights: lower the network with `neurite_compiler::physical::lower`
/// first.
pub fn simulate(network: &Network, steps: u64) -> Result<Trace, ReferenceError> {
    simulate_with(network, steps, &HostInput::new())
}

/// Runs `network` for `steps` steps with the neuromodulator values `host`
/// streams, and records every population.
///
/// # Errors
///
/// As [`simulate`]; and if `host` names a neuromodulator the network does not
/// declare, or gives a value for step 0.
pub fn simulate_with(
    network: &Network,
    steps: u64,
    host: &HostInput,
) -> Result<Trace, ReferenceError> {
    if let Some(population) = network.populations.iter().find(|p| p.is_physical()) {
        return Err(ReferenceError::PhysicalUnits {
            population: population.name.clone(),
        });
    }
    if let Some(projection) = network
        .projections
        .iter()
        .find(|p| p.float_weights.is_some())
    {
        return Err(ReferenceError::FloatWeights {
            projection: projection.name.clone(),
        });
    }
    // Host values per neuromodulator (description order): step → value.
    let mut host_values: Vec<BTreeMap<u64, i128>> =
        vec![BTreeMap::new(); network.neuromodulators.len()];
    for ((name, step), &value) in &host.neuromodulators {
        let Some(m) = network.neuromodulators.iter().position(|m| &m.name == name) else {
            return Err(ReferenceError::UnknownNeuromodulator { name: name.clone() });
        };
        if *step == 0 {
            return Err(ReferenceError::StepZero { name: name.clone() });
        }
        host_values[m].insert(*step, i128::from(value));
    }
    let mut states: Vec<Option<LifState>> = network
        .populations
        .iter()
        .map(|p| match &p.model {
            Model::Input => None,
            Model::Lif(lif) => Some(LifState {
                u: lif.u_init.iter().map(|&x| i128::from(x)).collect(),
                v: lif.v_init.iter().map(|&x| i128::from(x)).collect(),
                frozen_until: vec![0; p.size as usize],
            }),
        })
        .collect();
    // Quantized weights per projection.
    let weights: Vec<Vec<i128>> = network
        .projections
        .iter()
        .map(|proj| {
            let written: Vec<i32> = proj.synapses.iter().map(|s| s.weight).collect();
            let mode = proj.sign_mode.unwrap_or_else(|| infer(&written));
            written
                .iter()
                .map(|&w| quantize(w, mode, proj.num_weight_bits))
                .collect()
        })
        .collect();
    let mut learning: Vec<Option<learning::LearningState>> = network
        .projections
        .iter()
        .map(|proj| {
            proj.learning.as_ref().map(|l| {
                let size = |p: usize| network.populations[p].size as usize;
                learning::LearningState::new(l, proj, size(proj.from), size(proj.to))
            })
        })
        .collect();
    // Per projection: arrival step → input per target neuron.
    let mut pending: Vec<BTreeMap<u64, Vec<i128>>> =
        vec![BTreeMap::new(); network.projections.len()];

    let mut trace = Trace {
        steps,
        wraps: 0,
        saturations: 0,
        populations: vec![PopulationTrace::default(); network.populations.len()],
        learned: Vec::new(),
    };
    let mut inputs = InputStream::new(network);
    let mut input_spikes = Vec::new();
    // The spikes of the previous step, per population.
    let mut fired_before: Vec<Vec<bool>> = network
        .populations
        .iter()
        .map(|p| vec![false; p.size as usize])
        .collect();
    for t in 1..=steps {
        inputs.advance(&mut input_spikes);
        let mut fired: Vec<Vec<bool>> = Vec::with_capacity(network.populations.len());
        for (p, population) in network.populations.iter().enumerate() {
            let size = population.size as usize;
            let mut spiked = vec![false; size];
            match (&population.model, &mut states[p]) {
                (Model::Lif(lif), Some(state)) => {
                    let mut a = vec![0i128; size];
                    for (j, proj) in network.projections.iter().enumerate() {
                        if proj.to == p
                            && let Some(arriving) = pending[j].remove(&t)
                        {
                            for (i, x) in arriving.into_iter().enumerate() {
                                a[i] += x;
                            }
                        }
                    }
                    for i in 0..size {
                        let keep_u = 4096 - (i128::from(lif.du[i]) + 1);
                        let unfolded = tz_div_4096(state.u[i] * keep_u) + a[i] * 64;
                        let u = (unfolded - 1 + TWO_23).rem_euclid(TWO_24) - TWO_23 + 1;
                        trace.wraps += u64::from(u != unfolded);
                        state.u[i] = u;
                        if t <= state.frozen_until[i] {
                            continue;
                        }
                        let keep_v = 4096 - i128::from(lif.dv[i]);
                        let bias = i128::from(lif.bias_mant[i]) * (1 << lif.bias_exp[i]);
                        let unclamped = tz_div_4096(state.v[i] * keep_v) + u + bias;
                        let v = unclamped.clamp(-(TWO_23 - 1), TWO_23 - 1);
                        trace.saturations += u64::from(v != unclamped);
                        let threshold = i128::from(lif.vth[i]) * 64;
                        if v > threshold {
                            spiked[i] = true;
                            state.v[i] = match lif.reset {
                                Reset::Zero => 0,
                                Reset::Subtract => v - threshold,
                            };
                            state.frozen_until[i] = t + u64::from(lif.refractory[i]);
                        } else {
                            state.v[i] = v;
                        }
                    }
                    let record = &mut trace.populations[p];
                    record.u.push(state.u.iter().map(|&x| x as i32).collect());
                    record.v.push(state.v.iter().map(|&x| x as i32).collect());
                }
                _ => {
                    for &i in &input_spikes[p] {
                        spiked[i as usize] = true;
                    }
                }
            }
            trace.populations[p].spikes.push(
                spiked
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| **s)
                    .map(|(i, _)| i as u32)
                    .collect(),
            );
            fired.push(spiked);
        }
        // Spikes of step t through every projection: sum per (delay, target),
        // then apply the weight exponent to each sum.
        for (j, proj) in network.projections.iter().enumerate() {
            let mut sums: BTreeMap<(u8, u32), i128> = BTreeMap::new();
            let weights = match &learning[j] {
                Some(state) => &state.weights,
                None => &weights[j],
            };
            for (s, synapse) in proj.synapses.iter().enumerate() {
                if fired[proj.from][synapse.pre as usize] {
                    *sums.entry((synapse.delay, synapse.post)).or_insert(0) += weights[s];
                }
            }
            let size = network.populations[proj.to].size as usize;
            for ((delay, post), sum) in sums {
                let scaled = if proj.weight_exp >= 0 {
                    sum * (1 << proj.weight_exp)
                } else {
                    sum.div_euclid(1 << (-proj.weight_exp))
                };
                let arrival = t + 1 + u64::from(delay);
                pending[j].entry(arrival).or_insert_with(|| vec![0; size])[post as usize] += scaled;
            }
        }
        // Each neuromodulator's value in this step: the host's, plus the
        // weights of its population's neurons that spiked in the previous
        // step, held in 32 bits.
        let modulators: Vec<i128> = network
            .neuromodulators
            .iter()
            .zip(&host_values)
            .map(|(m, host)| {
                let mut value = host.get(&t).copied().unwrap_or(0);
                if let Some(p) = m.population {
                    for (i, &w) in m.weights.iter().enumerate() {
                        if fired_before[p][i] {
                            value += i128::from(w);
                        }
                    }
                }
                value.clamp(i128::from(i32::MIN), i128::from(i32::MAX))
            })
            .collect();
        // Learning after the step's spikes have left with the old weights.
        for (j, proj) in network.projections.iter().enumerate() {
            if let (Some(state), Some(rule)) = (&mut learning[j], &proj.learning) {
                let modulator = rule.neuromodulator.map_or(0, |m| modulators[m]);
                state.step(rule, proj, t, &fired[proj.from], &fired[proj.to], modulator);
            }
        }
        fired_before = fired;
    }
    let narrow = |v: &[i128]| v.iter().map(|&x| x as i32).collect();
    trace.learned = learning
        .iter()
        .map(|state| {
            state.as_ref().map(|s| Learned {
                weights: narrow(&s.weights),
                delays: narrow(&s.delays),
                tags: narrow(&s.tags),
                traces: s.traces().each_ref().map(|values| narrow(values)),
            })
        })
        .collect();
    Ok(trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantization_examples() {
        assert_eq!(quantize(101, SignMode::Mixed, 8), 100);
        assert_eq!(quantize(-101, SignMode::Mixed, 8), -102);
        assert_eq!(quantize(-100, SignMode::Inhibitory, 3), -96);
        assert_eq!(quantize(300, SignMode::Excitatory, 8), 255);
        assert_eq!(quantize(-300, SignMode::Inhibitory, 8), -255);
    }

    #[test]
    fn physical_units_must_be_lowered_first() {
        let net = neurite_net::from_toml_str(
            "dt_ms = 1.0\n[[populations]]\nname = \"n\"\nsize = 1\nmodel = \"lif\"\n\
             tau_syn_ms = 5.0\ntau_mem_ms = 20.0\nthreshold = 1.0\n",
            "n.toml",
            None,
        )
        .expect("valid description");
        let error = simulate(&net, 1).expect_err("refused");
        assert_eq!(
            error,
            ReferenceError::PhysicalUnits {
                population: "n".into()
            }
        );
        assert!(
            error
                .to_string()
                .starts_with("population 'n' is in physical units; lower the network")
        );
    }

    #[test]
    fn reset_by_subtraction_keeps_the_residue() {
        // Bias 200 each step, no leak, θ = 5 · 64 = 320: v = 200, 400 > 320
        // → spike, 80; 280; 480 → spike, 160; 360 → spike, 40.
        let net = neurite_net::from_toml_str(
            "[[populations]]\nname = \"n\"\nsize = 1\nmodel = \"lif\"\n\
             du = 0\ndv = 0\nvth = 5\nbias_mant = 200\nreset = \"subtract\"\n",
            "n.toml",
            None,
        )
        .expect("valid description");
        let trace = simulate(&net, 6).expect("runs");
        let n = &trace.populations[0];
        let v: Vec<i32> = n.v.iter().map(|v| v[0]).collect();
        assert_eq!(v, [200, 80, 280, 160, 40, 240]);
        let spiked: Vec<bool> = n.spikes.iter().map(|s| !s.is_empty()).collect();
        assert_eq!(spiked, [false, true, false, true, true, false]);
    }

    fn learned(net: &str, steps: u64, host: &HostInput) -> Learned {
        let net = neurite_net::from_toml_str(net, "l.toml", None).expect("valid description");
        let trace = simulate_with(&net, steps, host).expect("runs");
        trace.learned[0].clone().expect("learns")
    }

    #[test]
    fn impulses_decays_and_weights_round_at_random() {
        // One pre spike at step 1 in an epoch of 2 steps, seed 0. The epoch's
        // end (step 2) reads draw 4 of the trace streams (one draw when
        // built, two per step): x decay (seed 0) 0.8132702392002724, x
        // impulse (seed 1) 4; and draw 1 of the synaptic stream (seed 2),
        // 0.2984911434141233 (NumPy's values,
        // tests/golden/learning/numpy_streams.json).
        //
        // Impulse 20.05: fraction round(0.05 · 256) = 13 > 4, so H[1] = 21.
        // H[2] = 21 · exp(−1/2) = 12.737…: 0.813 < 0.737 is false, so 12.
        // dw = 2^−4·x0·x1 reads H[1]: 21 · 2^3 = 168, acc = 10 · 128 + 168
        // = 1448 = 11 · 128 + 40; 0.298 < 40/128 = 0.3125, so w = 12.
        let net = r#"
[[populations]]
name = "pre"
size = 1
model = "input"
[[populations]]
name = "post"
size = 1
model = "lif"
du = 0
dv = 0
vth = 1000
[[inputs]]
population = "pre"
spikes = [[1, 0]]
[[projections]]
name = "plastic"
from = "pre"
to = "post"
dense = [[10]]
[projections.learning]
dw = "2^-4*x0*x1"
x1_impulse = 20.05
x1_tau = 2
t_epoch = 2
rng_seed = 0
"#;
        let l = learned(net, 2, &HostInput::new());
        assert_eq!(l.weights, [12]);
        assert_eq!(l.traces[0], [12]);
    }

    #[test]
    fn a_neuromodulator_supplies_y2_of_a_three_factor_rule() {
        // "d" spikes at steps 2, 4, … (v gains 40 a step, threshold 64).
        // The neuromodulator's value at step t is the host's plus 5 if d
        // spiked at t − 1: step 2: −10 (host); step 3: 0 + 5. The pre neuron
        // spikes at steps 2 and 3, and dw = x0·y2 (epoch 1) adds y2 as it
        // reads at the spike: the supplied value decayed one step with
        // τ = 65535 (factor 0.99998474…), the fraction rounded up when the
        // y-decay draw (seed 2, draw 2t) is below it.
        // Step 2: −10 · f = −9.99985: floor −10, fraction 0.00015 < 0.6001
        // (draw 4): −10, so w = 10 − 10 = 0.
        // Step 3: 5 · f = 4.99992: floor 4, 0.1879 (draw 6) < 0.99992: 5,
        // so w = 5, and y2 stays 5 as supplied; y1 and y3 are 0.
        let net = r#"
[[populations]]
name = "pre"
size = 1
model = "input"
[[populations]]
name = "post"
size = 1
model = "lif"
du = 0
dv = 0
vth = 1000
[[populations]]
name = "d"
size = 1
model = "lif"
du = 0
dv = 0
vth = 1
bias_mant = 40
[[neuromodulators]]
name = "da"
population = "d"
weight = 5
[[inputs]]
population = "pre"
spikes = [[2, 0], [3, 0]]
[[projections]]
name = "plastic"
from = "pre"
to = "post"
dense = [[10]]
[projections.learning]
dw = "x0*y2"
three_factor = true
neuromodulator = "da"
rng_seed = 0
"#;
        let mut host = HostInput::new();
        host.set_neuromodulator("da", 2, -10);
        let after_two = learned(net, 2, &host);
        assert_eq!(after_two.weights, [0]);
        assert_eq!(after_two.traces[3], [-10]);
        let after_three = learned(net, 3, &host);
        assert_eq!(after_three.weights, [5]);
        assert_eq!(after_three.traces[2..], [vec![0], vec![5], vec![0]]);

        let mut unknown = HostInput::new();
        unknown.set_neuromodulator("serotonin", 1, 1);
        let net = neurite_net::from_toml_str(net, "l.toml", None).expect("valid description");
        assert_eq!(
            simulate_with(&net, 1, &unknown),
            Err(ReferenceError::UnknownNeuromodulator {
                name: "serotonin".into()
            })
        );
    }

    #[test]
    fn tz_rounds_toward_zero() {
        assert_eq!(tz_div_4096(4097), 1);
        assert_eq!(tz_div_4096(-4097), -1);
        assert_eq!(tz_div_4096(-4095), 0);
    }
}
