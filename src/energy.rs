//! Files of the time and energy report: per-step and per-core CSV, the JSON
//! summary and SVG plots (energy per step, per-core energy on the mesh, spike
//! raster). The report itself is [`neurite_host::EnergyReport`].

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use neurite_chip::ChipProfile;
use neurite_emulator::model::Energy;
pub use neurite_host::energy::{EnergyReport, Totals, joules, seconds};
use plotters::prelude::*;

use crate::session::Recording;

/// Writing an [`EnergyReport`] to files.
pub trait ReportFiles {
    /// Per-step CSV: step, modelled time, energy by class.
    fn write_steps_csv(&self, out: &mut impl Write) -> io::Result<()>;
    /// Per-core CSV: place, counts, busy time, dynamic energy by class.
    fn write_cores_csv(&self, chip: &ChipProfile, out: &mut impl Write) -> io::Result<()>;
    /// Writes `steps.csv`, `cores.csv`, `summary.json` and the plots
    /// `energy-per-step.svg`, `core-energy.svg` and `raster.svg` into `dir`.
    fn write_dir(
        &self,
        chip: &ChipProfile,
        recording: &Recording,
        window: Option<(u64, u64)>,
        dir: &Path,
    ) -> io::Result<Vec<PathBuf>>;
    /// Energy of every step by class, as lines over time.
    fn plot_energy_per_step(&self, path: &Path) -> Result<(), String>;
}

impl ReportFiles for EnergyReport {
    /// Per-step CSV: step, modelled time, energy by class.
    fn write_steps_csv(&self, out: &mut impl Write) -> io::Result<()> {
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
    fn write_cores_csv(&self, chip: &ChipProfile, out: &mut impl Write) -> io::Result<()> {
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
    fn write_dir(
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
    fn plot_energy_per_step(&self, path: &Path) -> Result<(), String> {
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
