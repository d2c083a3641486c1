//! A two-armed bandit learned on the emulator with reward-modulated STDP and
//! a dopamine-like reward-prediction error.
//!
//! A cue population fires at random; its synapses onto two action neurons
//! learn by `reward_stdp` (Lava's `RewardModulatedSTDP`): pre-before-post
//! pairs raise each synapse's eligibility tag, and the weight moves by the
//! tag times the neuromodulator `dopamine`. Each trial has a decision window,
//! in which the action neuron that fires more wins (the two inhibit each
//! other; now and then the host explores instead), and a feedback window, in
//! which the chosen action fires and the host streams the reward-prediction
//! error — reward minus the value it expects — as dopamine. Arm A pays with
//! probability 0.8, arm B with 0.2.
//!
//! ```text
//! cargo run --release --example bandit [trials] [plot.svg]
//! ```
//!
//! It prints the learning curve (how often the better arm was chosen, the
//! reward rate and the mean weights, per block of trials) and writes a plot.

use std::fmt::Write as _;

use neurite::chip::ChipProfile;
use neurite::compiler::compile;
use neurite::emulator::Emulator;

const NETWORK: &str = r#"
name = "bandit"

[[populations]]
name = "cue"
size = 8
model = "input"

# Efference copy: makes the chosen action fire during feedback, or an
# exploratory one during the decision.
[[populations]]
name = "force"
size = 2
model = "input"

[[populations]]
name = "action"
size = 2
model = "lif"
du = 4095
dv = 256
vth = 400

[[neuromodulators]]
name = "dopamine"

[[projections]]
name = "value"
from = "cue"
to = "action"
dense = [[40, 40, 40, 40, 40, 40, 40, 40], [40, 40, 40, 40, 40, 40, 40, 40]]
sign_mode = "excitatory"
[projections.learning]
rule = "reward_stdp"
neuromodulator = "dopamine"
learning_rate = 1
A_plus = 2
A_minus = -1
pre_trace_kernel_magnitude = 16
pre_trace_decay_tau = 4
post_trace_kernel_magnitude = 16
post_trace_decay_tau = 4
eligibility_trace_decay_tau = 0.5
rng_seed = 11

[[projections]]
from = "force"
to = "action"
one_to_one = { weight = 255 }
weight_exp = 4

[[projections]]
from = "action"
to = "action"
dense = [[0, -120], [-120, 0]]
weight_exp = 2

[[probes]]
population = "action"
vars = ["spikes"]
"#;

/// A small deterministic generator for the host's coin flips (xorshift64*).
struct Coins(u64);

impl Coins {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

const DECISION_STEPS: usize = 12;
const FEEDBACK_STEPS: usize = 4;
const PAYOFF: [f64; 2] = [0.8, 0.2];
const EXPLORE: f64 = 0.1;
/// Dopamine per unit of reward-prediction error.
const DOPAMINE_SCALE: f64 = 2.0;

/// One trial: the arm chosen, the reward, and the mean weight onto each
/// action neuron after it.
pub(crate) struct Trial {
    pub(crate) choice: usize,
    pub(crate) reward: f64,
    pub(crate) weights: [f64; 2],
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let trials: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(300);
    let plot = args.next().unwrap_or_else(|| "bandit.svg".to_string());

    let (history, counts) = play(trials)?;
    println!("trials   chose A   reward   weight A   weight B");
    let block = (trials / 10).max(1);
    for (b, chunk) in history.chunks(block).enumerate() {
        let n = chunk.len() as f64;
        let chose_a = chunk.iter().filter(|t| t.choice == 0).count() as f64 / n;
        let reward = chunk.iter().map(|t| t.reward).sum::<f64>() / n;
        let last = &chunk[chunk.len() - 1];
        println!(
            "{:>4}-{:<4} {:>6.0}%  {:>6.2}   {:>8.1}   {:>8.1}",
            b * block + 1,
            b * block + chunk.len(),
            100.0 * chose_a,
            reward,
            last.weights[0],
            last.weights[1]
        );
    }
    println!(
        "{} epochs, {} synaptic updates, {} trace updates",
        counts.epochs, counts.synaptic_updates, counts.trace_updates
    );
    std::fs::write(&plot, svg(&history, block))?;
    println!("wrote {plot}");
    Ok(())
}

/// Plays `trials` trials on a fresh emulator; returns every trial and what
/// learning did. The host's coins are seeded: the same trials every time.
pub(crate) fn play(
    trials: usize,
) -> Result<(Vec<Trial>, neurite::emulator::LearningCounts), Box<dyn std::error::Error>> {
    let network = neurite::net::from_toml_str(NETWORK, "bandit.toml", None)?;
    let chip = ChipProfile::loihi2();
    let program = compile(&network, &chip)?.program;
    let mut emulator = Emulator::new(&program, &chip)?;
    let cue = program.input_port("cue").ok_or("no cue port")?;
    let force = program.input_port("force").ok_or("no force port")?;
    let action = program.population("action").ok_or("no action population")?;
    let dopamine = emulator.neuromodulator("dopamine").ok_or("no dopamine")?;

    let mut coins = Coins(0x9e37_79b9_7f4a_7c15);
    let mut expected = 0.5;
    let mut history = Vec::with_capacity(trials);
    for _ in 0..trials {
        // Decision: the cue fires at random; each action neuron's spikes
        // are counted. Sometimes the host explores instead.
        let explore = (coins.next() < EXPLORE).then(|| usize::from(coins.next() < 0.5));
        let mut counts = [0u32; 2];
        for step in 0..DECISION_STEPS {
            let fired: Vec<u32> = (0..8).filter(|_| coins.next() < 0.5).collect();
            emulator.inject(cue, &fired)?;
            if let Some(a) = explore
                && step % 2 == 0
            {
                emulator.inject(force, &[a as u32])?;
            }
            emulator.step();
            for i in emulator.spiked(action)? {
                counts[i as usize] += 1;
            }
        }
        let choice = match explore {
            Some(a) => a,
            None if counts[0] == counts[1] => usize::from(coins.next() < 0.5),
            None => usize::from(counts[1] > counts[0]),
        };
        let reward = if coins.next() < PAYOFF[choice] {
            1.0
        } else {
            0.0
        };
        // The critic: reward-prediction error against a running average.
        let error = reward - expected;
        expected += 0.1 * error;
        // Feedback: the chosen action fires with the cue, and dopamine
        // reports the error.
        for _ in 0..FEEDBACK_STEPS {
            let fired: Vec<u32> = (0..8).filter(|_| coins.next() < 0.5).collect();
            emulator.inject(cue, &fired)?;
            emulator.inject(force, &[choice as u32])?;
            emulator.set_neuromodulator(dopamine, (error * DOPAMINE_SCALE).round() as i32)?;
            emulator.step();
        }
        let learned = emulator.learned("value")?;
        let mut weights = [0.0; 2];
        for &(_, post, w, _, _) in &learned.synapses {
            weights[post as usize] += f64::from(w) / 8.0;
        }
        history.push(Trial {
            choice,
            reward,
            weights,
        });
    }
    Ok((history, emulator.learning_counts()))
}

/// Reward rate (moving average) and mean weights onto each action.
fn svg(history: &[Trial], window: usize) -> String {
    let (width, height, margin) = (640.0, 360.0, 40.0);
    let n = history.len().max(2) as f64;
    let x = |i: usize| margin + (width - 2.0 * margin) * i as f64 / (n - 1.0);
    let y = |v: f64, max: f64| height - margin - (height - 2.0 * margin) * v / max;
    let line = |values: &[f64], max: f64, colour: &str| {
        let mut points = String::new();
        for (i, v) in values.iter().enumerate() {
            let _ = write!(points, "{:.1},{:.1} ", x(i), y(*v, max));
        }
        format!(r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>"#)
    };
    let rate: Vec<f64> = (0..history.len())
        .map(|i| {
            let from = i.saturating_sub(window - 1);
            let slice = &history[from..=i];
            slice.iter().map(|t| t.reward).sum::<f64>() / slice.len() as f64
        })
        .collect();
    let wa: Vec<f64> = history.iter().map(|t| t.weights[0]).collect();
    let wb: Vec<f64> = history.iter().map(|t| t.weights[1]).collect();
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{margin}" y="20">Two-armed bandit: reward rate (black, 0–1) and mean weight onto A (blue) and B (red), 0–255</text>
<line x1="{margin}" y1="{b}" x2="{r}" y2="{b}" stroke="grey"/>
<line x1="{margin}" y1="{margin}" x2="{margin}" y2="{b}" stroke="grey"/>
<text x="{r}" y="{t}" text-anchor="end">trials</text>
{}
{}
{}
</svg>
"##,
        line(&rate, 1.0, "black"),
        line(&wa, 255.0, "#1f77b4"),
        line(&wb, 255.0, "#d62728"),
        b = height - margin,
        r = width - margin,
        t = height - margin + 16.0,
    )
}
