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
//! `neurite_compiler::physical::lower`; [`simulate`] panics on one that was
//! not (this crate is a test oracle and depends on nothing but the
//! description, so it cannot lower it itself).
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
//! let trace = neurite_reference::simulate(&net, 66);
//! let n = &trace.populations[0];
//! assert_eq!(n.v[63], vec![64]);          // step 64
//! assert_eq!(n.spikes[64], vec![0]);      // step 65: v = 65 > 64
//! assert_eq!(n.v[65], vec![1]);
//! ```

mod learning;

use std::collections::BTreeMap;

use neurite_net::{InputStream, Model, Network, Reset, SignMode};

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

/// Runs `network` for `steps` steps and records every population.
///
/// # Panics
///
/// If a population of `network` is in physical units, or a projection has
/// float weights: lower the network with `neurite_compiler::physical::lower`
/// first.
pub fn simulate(network: &Network, steps: u64) -> Trace {
    if let Some(population) = network.populations.iter().find(|p| p.is_physical()) {
        panic!(
            "neurite_reference::simulate: population '{}' is in physical units; lower the network with neurite_compiler::physical::lower first",
            population.name
        );
    }
    if let Some(projection) = network
        .projections
        .iter()
        .find(|p| p.float_weights.is_some())
    {
        panic!(
            "neurite_reference::simulate: projection '{}' has float weights; lower the network with neurite_compiler::physical::lower first",
            projection.name
        );
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
        // Learning after the step's spikes have left with the old weights.
        for (j, proj) in network.projections.iter().enumerate() {
            if let (Some(state), Some(rule)) = (&mut learning[j], &proj.learning) {
                state.step(rule, proj, t, &fired[proj.from], &fired[proj.to]);
            }
        }
    }
    let narrow = |v: &[i128]| v.iter().map(|&x| x as i32).collect();
    trace.learned = learning
        .iter()
        .map(|state| {
            state.as_ref().map(|s| Learned {
                weights: narrow(&s.weights),
                delays: narrow(&s.delays),
                tags: narrow(&s.tags),
            })
        })
        .collect();
    trace
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
    #[should_panic(expected = "population 'n' is in physical units; lower the network")]
    fn physical_units_must_be_lowered_first() {
        let net = neurite_net::from_toml_str(
            "dt_ms = 1.0\n[[populations]]\nname = \"n\"\nsize = 1\nmodel = \"lif\"\n\
             tau_syn_ms = 5.0\ntau_mem_ms = 20.0\nthreshold = 1.0\n",
            "n.toml",
            None,
        )
        .expect("valid description");
        simulate(&net, 1);
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
        let trace = simulate(&net, 6);
        let n = &trace.populations[0];
        let v: Vec<i32> = n.v.iter().map(|v| v[0]).collect();
        assert_eq!(v, [200, 80, 280, 160, 40, 240]);
        let spiked: Vec<bool> = n.spikes.iter().map(|s| !s.is_empty()).collect();
        assert_eq!(spiked, [false, true, false, true, true, false]);
    }

    #[test]
    fn tz_rounds_toward_zero() {
        assert_eq!(tz_div_4096(4097), 1);
        assert_eq!(tz_div_4096(-4097), -1);
        assert_eq!(tz_div_4096(-4095), 0);
    }
}
