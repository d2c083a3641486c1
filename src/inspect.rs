//! What a Program takes of a chip: per-core use of every limit, where each
//! population landed, and the mesh occupancy as a text grid and an SVG heatmap.

use std::fmt::Write as _;
use std::path::Path;

use neurite_chip::ChipProfile;
use neurite_program::{CoreUsage, Program};
use plotters::prelude::*;

/// Each core's usage, in Program order.
pub fn usages(program: &Program, chip: &ChipProfile) -> Vec<CoreUsage> {
    program.cores.iter().map(|c| c.usage(chip)).collect()
}

fn percent(used: u64, limit: u64) -> f64 {
    if limit == 0 {
        0.0
    } else {
        100.0 * used as f64 / limit as f64
    }
}

/// The per-core table: neurons, input and output axons and memory against
/// their limits, with each core's place on the mesh.
pub fn core_table(program: &Program, chip: &ChipProfile) -> String {
    let mut out = String::new();
    let limits = &chip.core;
    let _ = writeln!(
        out,
        "{:>5}  {:>5} {:>7} {:>5}  {:>15}  {:>15}  {:>15}  {:>19}",
        "core", "chip", "tile", "slot", "neurons", "input axons", "output axons", "memory (bits)"
    );
    let cell = |used: u64, limit: u64| format!("{used} ({:.0}%)", percent(used, limit));
    for (k, (core, usage)) in program.cores.iter().zip(usages(program, chip)).enumerate() {
        let at = chip.location(core.location);
        let _ = writeln!(
            out,
            "{k:>5}  {:>5} {:>7} {:>5}  {:>15}  {:>15}  {:>15}  {:>19}",
            at.chip,
            format!("({},{})", at.tile_x, at.tile_y),
            at.slot,
            cell(usage.neurons, limits.neurons.into()),
            cell(usage.input_axons, limits.input_axons.into()),
            cell(usage.output_axons, limits.output_axons.into()),
            cell(usage.memory.used_bits, usage.memory.capacity_bits),
        );
    }
    out
}

/// Where each population landed: its cores, as ranges, and neurons per core.
pub fn population_table(program: &Program) -> String {
    let mut out = String::new();
    for population in &program.populations {
        let mut cores: Vec<(u32, u32)> = Vec::new();
        for address in &population.neurons {
            match cores.last_mut() {
                Some((core, n)) if *core == address.core.0 => *n += 1,
                _ => cores.push((address.core.0, 1)),
            }
        }
        let shown: Vec<String> = cores
            .iter()
            .take(12)
            .map(|(core, n)| format!("core {core} ({n})"))
            .collect();
        let more = if cores.len() > 12 {
            format!(", … {} more cores", cores.len() - 12)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "population '{}': {} neurons on {} cores: {}{more}",
            population.name,
            population.neurons.len(),
            cores.len(),
            shown.join(", ")
        );
    }
    out
}

/// Neurons on each physical core (0 for free cores).
fn occupancy(program: &Program, chip: &ChipProfile) -> Vec<u64> {
    let mut neurons = vec![0u64; chip.total_cores() as usize];
    for core in &program.cores {
        if let Some(slot) = neurons.get_mut(core.location as usize) {
            *slot = core.neurons.len() as u64;
        }
    }
    neurons
}

/// The mesh of every chip in use as a grid of tiles; each cell shows how
/// many of the tile's cores hold neurons (`.` for none).
pub fn mesh_grid(program: &Program, chip: &ChipProfile) -> String {
    let neurons = occupancy(program, chip);
    let mut out = String::new();
    let per_chip = chip.cores_per_chip() as usize;
    for c in 0..chip.chip_count() as usize {
        let cores = &neurons[c * per_chip..(c + 1) * per_chip];
        if cores.iter().all(|&n| n == 0) {
            continue;
        }
        let _ = writeln!(
            out,
            "chip {c}: cores in use per tile ({} cores per tile)",
            chip.mesh.cores_per_tile
        );
        for y in 0..chip.mesh.tiles_y {
            let mut row = String::from("  ");
            for x in 0..chip.mesh.tiles_x {
                let tile = (y * chip.mesh.tiles_x + x) as usize;
                let per_tile = chip.mesh.cores_per_tile as usize;
                let used = cores[tile * per_tile..(tile + 1) * per_tile]
                    .iter()
                    .filter(|&&n| n > 0)
                    .count();
                row.push_str(&if used == 0 {
                    " .".to_string()
                } else {
                    format!("{used:>2}")
                });
            }
            let _ = writeln!(out, "{row}");
        }
    }
    if out.is_empty() {
        out.push_str("no core in use\n");
    }
    out
}

/// Draws the neurons on every core of the system as an SVG heatmap: chips
/// side by side as on the board, each core a cell within its tile.
pub fn mesh_heatmap_svg(program: &Program, chip: &ChipProfile, path: &Path) -> Result<(), String> {
    let neurons: Vec<f64> = occupancy(program, chip).iter().map(|&n| n as f64).collect();
    let title = format!(
        "neurons per core on '{}' (limit {})",
        chip.name, chip.core.neurons
    );
    heatmap_svg(chip, &neurons, f64::from(chip.core.neurons), &title, path)
}

/// Draws one value per physical core of `chip` as an SVG heatmap (cores
/// with 0 in grey), colours scaled to `full`.
pub fn heatmap_svg(
    chip: &ChipProfile,
    values: &[f64],
    full: f64,
    title: &str,
    path: &Path,
) -> Result<(), String> {
    let per_tile = chip.mesh.cores_per_tile;
    // Cores of a tile side by side, in a column per tile: a grid of cells.
    let cols = (f64::from(per_tile)).sqrt().ceil() as u32;
    let rows = per_tile.div_ceil(cols);
    let width = chip.chips.x * chip.mesh.tiles_x * cols;
    let height = chip.chips.y * chip.mesh.tiles_y * rows;
    let cell = (900 / width.max(1)).clamp(2, 40);
    let size = (width * cell + 80, height * cell + 90);
    let root = SVGBackend::new(path, size).into_drawing_area();
    let draw = || -> Result<(), Box<dyn std::error::Error>> {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(30)
            .build_cartesian_2d(0..width, 0..height)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("tile x")
            .y_desc("tile y")
            .x_label_formatter(&|x| format!("{}", x / cols))
            .y_label_formatter(&|y| format!("{}", y / rows))
            .draw()?;
        let full = if full > 0.0 { full } else { 1.0 };
        chart.draw_series(values.iter().enumerate().map(|(index, &value)| {
            let at = chip.location(index as u32);
            let (tx, ty) = chip.global_tile(at);
            let x = tx * cols + at.slot % cols;
            let y = ty * rows + at.slot / cols;
            let color = if value <= 0.0 {
                RGBColor(235, 235, 235).filled()
            } else {
                ViridisRGB::get_color((value / full).min(1.0)).filled()
            };
            Rectangle::new([(x, y), (x + 1, y + 1)], color)
        }))?;
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| e.to_string())
}
