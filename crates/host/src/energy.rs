//! The time and energy report of a run: totals, per step, per core, per
//! operation class, per spike, per synaptic operation and per inference, as
//! text and JSON.

use std::fmt::Write as _;

use neurite_chip::ChipProfile;
use neurite_emulator::model::{CoreTotals, Energy, Model, StepRecord};
use serde_json::json;

/// Everything the model recorded over a run.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyReport {
    /// Chip profile whose limits the Program was built for.
    pub chip: String,
    /// Where the cost figures come from.
    pub source: String,
    /// Whether the cost table holds estimates.
    pub estimated: bool,
    /// Tiles and chips holding the Program's cores.
    pub tiles_in_use: u32,
    /// Chips holding the Program's cores.
    pub chips_in_use: u32,
    /// Sums over every step run.
    pub total: Totals,
    /// Every step, or only some (a board's report without its step
    /// records); `total` covers every step either way.
    pub steps: Vec<StepRecord>,
    /// Every core.
    pub cores: Vec<CoreTotals>,
}

/// Sums over a window of steps (the model's totals, or a window's sum of
/// step records).
pub use neurite_emulator::model::ModelTotals as Totals;

/// Picojoules in the unit that reads best.
pub fn joules(pj: f64) -> String {
    let units = [
        (1e12, "J"),
        (1e9, "mJ"),
        (1e6, "µJ"),
        (1e3, "nJ"),
        (1.0, "pJ"),
    ];
    for (scale, unit) in units {
        if pj.abs() >= scale {
            return format!("{:.3} {unit}", pj / scale);
        }
    }
    format!("{pj:.3} pJ")
}

/// Nanoseconds in the unit that reads best.
pub fn seconds(ns: f64) -> String {
    let units = [(1e9, "s"), (1e6, "ms"), (1e3, "µs"), (1.0, "ns")];
    for (scale, unit) in units {
        if ns.abs() >= scale {
            return format!("{:.3} {unit}", ns / scale);
        }
    }
    format!("{ns:.3} ns")
}

/// Sums the records of the steps `first..=last` (all when `None`).
fn sum_steps(steps: &[StepRecord], window: Option<(u64, u64)>) -> Totals {
    let mut totals = Totals::default();
    for step in steps {
        if window.is_some_and(|(first, last)| step.step < first || step.step > last) {
            continue;
        }
        totals.steps += 1;
        totals.time_ns += step.time_ns;
        totals.energy += step.energy;
        totals.counts += step.counts;
    }
    totals
}

impl EnergyReport {
    /// Collects the model's record.
    pub fn from_model(chip: &ChipProfile, model: &Model) -> Self {
        Self {
            steps: model.steps(),
            ..Self::summary_of(chip, model)
        }
    }

    /// The model's record without step records: totals and cores.
    pub fn summary_of(chip: &ChipProfile, model: &Model) -> Self {
        Self {
            total: model.totals(),
            chip: chip.name.clone(),
            source: model.costs().source.clone(),
            estimated: model.costs().estimated,
            tiles_in_use: model.tiles_in_use(),
            chips_in_use: model.chips_in_use(),
            steps: Vec::new(),
            cores: model.cores(),
        }
    }

    /// Sums over the steps `first..=last` (all steps when `None`). A window
    /// sums the step records the report holds.
    pub fn totals(&self, window: Option<(u64, u64)>) -> Totals {
        match window {
            None => self.total,
            Some(_) => sum_steps(&self.steps, window),
        }
    }

    /// The report without its step records.
    pub fn without_steps(mut self) -> Self {
        self.steps = Vec::new();
        self
    }

    /// The summary printed at the end of `neurite run` and by `neurite energy`.
    pub fn summary(&self, window: Option<(u64, u64)>) -> String {
        let mut out = String::new();
        let all = self.totals(None);
        let _ = writeln!(
            out,
            "time and energy on {}{}:",
            self.chip,
            if self.estimated {
                format!(" (costs: {}; contains estimates)", self.source)
            } else {
                format!(" (costs: {})", self.source)
            }
        );
        let mean = if all.steps > 0 {
            all.time_ns / all.steps as f64
        } else {
            0.0
        };
        let _ = writeln!(
            out,
            "  chip time     {} in {} steps ({} per step), {:.0} steps/s, {:.1}× real time at 1 ms per step",
            seconds(all.time_ns),
            all.steps,
            seconds(mean),
            all.steps_per_second(),
            all.real_time_factor()
        );
        let per = |value: Option<f64>| value.map_or("-".to_string(), joules);
        let _ = writeln!(
            out,
            "  energy        {} in all, {} per step, {} per spike, {} per synaptic op",
            joules(all.energy.total()),
            joules(if all.steps > 0 {
                all.energy.total() / all.steps as f64
            } else {
                0.0
            }),
            per(all.per_spike()),
            per(all.per_synaptic_op())
        );
        let total = all.energy.total().max(f64::MIN_POSITIVE);
        let classes: Vec<String> = Energy::CLASSES
            .iter()
            .zip(all.energy.values())
            .filter(|(_, v)| *v > 0.0)
            .map(|(name, v)| format!("{name} {} ({:.1}%)", joules(v), 100.0 * v / total))
            .collect();
        let _ = writeln!(out, "  by class      {}", classes.join(", "));
        let c = all.counts;
        let _ = writeln!(
            out,
            "  operations    {} neuron updates ({} active), {} spikes, {} synaptic ops, {} messages, {} hops, {} chip links, {} barriers over {} tiles",
            c.neuron_updates,
            c.active_updates,
            c.spikes,
            c.synaptic_ops,
            c.messages_out,
            c.hops_east_west + c.hops_north_south,
            c.chip_links,
            all.steps,
            self.tiles_in_use
        );
        if let Some((first, last)) = window {
            let w = self.totals(window);
            let _ = writeln!(
                out,
                "  inference     steps {first}–{last}: {}, {} of chip time",
                joules(w.energy.total()),
                seconds(w.time_ns)
            );
            if let Some(kept) = self.steps.first().filter(|s| s.step > first) {
                let _ = writeln!(
                    out,
                    "                (step records kept from step {} on; earlier steps are left out)",
                    kept.step
                );
            }
        } else {
            let _ = writeln!(
                out,
                "  inference     the whole run: {}",
                joules(all.energy.total())
            );
        }
        out
    }

    /// The summary as JSON.
    pub fn to_json(&self, window: Option<(u64, u64)>) -> serde_json::Value {
        let totals = |t: Totals| {
            let classes: serde_json::Map<String, serde_json::Value> = Energy::CLASSES
                .iter()
                .zip(t.energy.values())
                .map(|(name, v)| ((*name).to_string(), json!(v)))
                .collect();
            json!({
                "steps": t.steps,
                "time_ns": t.time_ns,
                "steps_per_second": t.steps_per_second(),
                "real_time_factor": t.real_time_factor(),
                "energy_pj": t.energy.total(),
                "energy_by_class_pj": classes,
                "energy_per_spike_pj": t.per_spike(),
                "energy_per_synaptic_op_pj": t.per_synaptic_op(),
                "counts": {
                    "neuron_updates": t.counts.neuron_updates,
                    "active_updates": t.counts.active_updates,
                    "spikes": t.counts.spikes,
                    "synaptic_ops": t.counts.synaptic_ops,
                    "sparse_synaptic_ops": t.counts.sparse_synaptic_ops,
                    "convolutional_synaptic_ops": t.counts.convolutional_synaptic_ops,
                    "messages_out": t.counts.messages_out,
                    "messages_in": t.counts.messages_in,
                    "hops_east_west": t.counts.hops_east_west,
                    "hops_north_south": t.counts.hops_north_south,
                    "chip_links": t.counts.chip_links,
                    "synaptic_updates": t.counts.synaptic_updates,
                    "trace_updates": t.counts.trace_updates,
                },
            })
        };
        json!({
            "chip": self.chip,
            "costs": self.source,
            "estimated": self.estimated,
            "tiles_in_use": self.tiles_in_use,
            "chips_in_use": self.chips_in_use,
            "run": totals(self.totals(None)),
            "inference": window.map(|(first, last)| json!({
                "first_step": first,
                "last_step": last,
                "totals": totals(self.totals(window)),
            })),
        })
    }
}
