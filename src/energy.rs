//! The time and energy report of a run: totals, per step, per core, per
//! operation class, per spike, per synaptic operation and per inference, as
//! text, CSV, JSON and SVG plots.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use neurite_chip::ChipProfile;
use neurite_emulator::model::{CoreTotals, Counters, Energy, Model, StepRecord};
use plotters::prelude::*;
use serde_json::json;

use crate::session::Recording;

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
    /// Every step.
    pub steps: Vec<StepRecord>,
    /// Every core.
    pub cores: Vec<CoreTotals>,
}

/// Sums over a window of steps.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// Steps in the window.
    pub steps: u64,
    /// Modelled chip time in nanoseconds.
    pub time_ns: f64,
    /// Energy by class.
    pub energy: Energy,
    /// Counts.
    pub counts: Counters,
}

impl Totals {
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

impl EnergyReport {
    /// Collects the model's record.
    pub fn from_model(chip: &ChipProfile, model: &Model) -> Self {
        Self {
            chip: chip.name.clone(),
            source: model.costs().source.clone(),
            estimated: model.costs().estimated,
            tiles_in_use: model.tiles_in_use(),
            chips_in_use: model.chips_in_use(),
            steps: model.steps().to_vec(),
            cores: model.cores().to_vec(),
        }
    }

    /// Sums over the steps `first..=last` (all steps when `None`).
    pub fn totals(&self, window: Option<(u64, u64)>) -> Totals {
        let mut totals = Totals::default();
        for step in &self.steps {
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

    /// Per-step CSV: step, modelled time, energy by class.
    pub fn write_steps_csv(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            "step,time_ns,{},total_pj",
            Energy::CLASSES.map(|c| format!("{c}_pj")).join(",")
        )?;
        for s in &self.steps {
            let values: Vec<String> = s
                .energy
                .values()
                .iter()
                .map(|v| format!("{v:.3}"))
                .collect();
            writeln!(
                out,
                "{},{:.3},{},{:.3}",
                s.step,
                s.time_ns,
                values.join(","),
                s.energy.total()
            )?;
        }
        Ok(())
    }

    /// Per-core CSV: place, counts, busy time, dynamic energy by class.
    pub fn write_cores_csv(&self, chip: &ChipProfile, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            "core,chip,tile_x,tile_y,slot,neuron_updates,active_updates,spikes,synaptic_ops,messages_out,messages_in,hops_east_west,hops_north_south,chip_links,busy_ns,{},total_pj",
            Energy::CLASSES[..5]
                .iter()
                .map(|c| format!("{c}_pj"))
                .collect::<Vec<_>>()
                .join(",")
        )?;
        for (k, core) in self.cores.iter().enumerate() {
            let at = chip.location(core.location);
            let c = core.counts;
            let e = core.energy.values();
            writeln!(
                out,
                "{k},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3}",
                at.chip,
                at.tile_x,
                at.tile_y,
                at.slot,
                c.neuron_updates,
                c.active_updates,
                c.spikes,
                c.synaptic_ops,
                c.messages_out,
                c.messages_in,
                c.hops_east_west,
                c.hops_north_south,
                c.chip_links,
                core.busy_ns,
                e[0],
                e[1],
                e[2],
                e[3],
                e[4],
                core.energy.total()
            )?;
        }
        Ok(())
    }

    /// Writes `steps.csv`, `cores.csv`, `summary.json` and the plots
    /// `energy-per-step.svg`, `core-energy.svg` and `raster.svg` into `dir`.
    pub fn write_dir(
        &self,
        chip: &ChipProfile,
        recording: &Recording,
        window: Option<(u64, u64)>,
        dir: &Path,
    ) -> io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let mut written = Vec::new();
        let path = dir.join("steps.csv");
        let mut out = BufWriter::new(File::create(&path)?);
        self.write_steps_csv(&mut out)?;
        out.flush()?;
        written.push(path);
        let path = dir.join("cores.csv");
        let mut out = BufWriter::new(File::create(&path)?);
        self.write_cores_csv(chip, &mut out)?;
        out.flush()?;
        written.push(path);
        let path = dir.join("summary.json");
        let text = serde_json::to_string_pretty(&self.to_json(window)).map_err(io::Error::other)?;
        std::fs::write(&path, text + "\n")?;
        written.push(path);
        let path = dir.join("energy-per-step.svg");
        self.plot_energy_per_step(&path).map_err(io::Error::other)?;
        written.push(path);
        let path = dir.join("core-energy.svg");
        let mut per_core = vec![0.0; chip.total_cores() as usize];
        for core in &self.cores {
            if let Some(slot) = per_core.get_mut(core.location as usize) {
                *slot = core.energy.total();
            }
        }
        let full = per_core.iter().copied().fold(0.0, f64::max);
        let title = format!(
            "dynamic energy per core on '{}' (max {})",
            chip.name,
            joules(full)
        );
        crate::inspect::heatmap_svg(chip, &per_core, full, &title, &path)
            .map_err(io::Error::other)?;
        written.push(path);
        let path = dir.join("raster.svg");
        plot_raster(recording, &path).map_err(io::Error::other)?;
        written.push(path);
        Ok(written)
    }

    /// Energy of every step by class, as lines over time.
    pub fn plot_energy_per_step(&self, path: &Path) -> Result<(), String> {
        let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error>> {
            root.fill(&WHITE)?;
            let last = self.steps.last().map_or(1, |s| s.step);
            let peak = self
                .steps
                .iter()
                .map(|s| s.energy.total())
                .fold(0.0, f64::max)
                .max(1e-9)
                / 1e3;
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    format!(
                        "energy per step on '{}'{}",
                        self.chip,
                        if self.estimated { " (estimates)" } else { "" }
                    ),
                    ("sans-serif", 16),
                )
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(60)
                .build_cartesian_2d(1u64..last.max(2), 0.0..peak * 1.05)?;
            chart
                .configure_mesh()
                .x_desc("step")
                .y_desc("energy (nJ)")
                .draw()?;
            let colors = [&BLUE, &RED, &GREEN, &MAGENTA, &CYAN, &BLACK, &YELLOW];
            for (class, (name, color)) in Energy::CLASSES.iter().zip(colors).enumerate() {
                if self.steps.iter().all(|s| s.energy.values()[class] == 0.0) {
                    continue;
                }
                chart
                    .draw_series(LineSeries::new(
                        self.steps
                            .iter()
                            .map(|s| (s.step, s.energy.values()[class] / 1e3)),
                        color,
                    ))?
                    .label(*name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], color));
            }
            chart
                .draw_series(LineSeries::new(
                    self.steps.iter().map(|s| (s.step, s.energy.total() / 1e3)),
                    BLACK.stroke_width(2),
                ))?
                .label("total")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 15, y)], BLACK.stroke_width(2))
                });
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
            root.present()?;
            Ok(())
        };
        draw().map_err(|e| e.to_string())
    }
}

/// The spikes of every population whose spikes were recorded, one row per
/// neuron, populations stacked.
pub fn plot_raster(recording: &Recording, path: &Path) -> Result<(), String> {
    let probed: Vec<_> = recording
        .populations
        .iter()
        .filter_map(|p| p.spikes.as_ref().map(|s| (p, s)))
        .collect();
    let rows: u32 = probed.iter().map(|(p, _)| p.size).sum::<u32>().max(1);
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    let draw = || -> Result<(), Box<dyn std::error::Error>> {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("spike raster", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(50)
            .build_cartesian_2d(0u64..recording.steps.max(1) + 1, 0u32..rows)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("step")
            .y_desc("neuron (populations stacked)")
            .draw()?;
        let colors = [&BLUE, &RED, &GREEN, &MAGENTA, &CYAN, &BLACK];
        let mut offset = 0u32;
        for (k, (population, spikes)) in probed.iter().enumerate() {
            let color = colors[k % colors.len()];
            chart
                .draw_series(spikes.iter().enumerate().flat_map(|(t, indices)| {
                    indices
                        .iter()
                        .map(move |&i| Circle::new((t as u64 + 1, offset + i), 1, color.filled()))
                }))?
                .label(population.name.clone())
                .legend(move |(x, y)| Circle::new((x + 7, y), 3, color.filled()));
            offset += population.size;
        }
        if !probed.is_empty() {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
        }
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| e.to_string())
}
