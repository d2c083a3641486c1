//! Placing cores on the mesh to keep spike traffic short.
//!
//! Traffic between two cores is the number of output axons from one to the
//! other: each carries one message per spike of its neuron, so with equal
//! firing rates it is proportional to the messages exchanged. A message
//! between cores costs its tile hops under XY routing, and crossing a chip
//! border costs [`CHIP_LINK_COST`] hops more. Placement starts from the cores
//! in compile order laid along a serpentine over the tiles (neighbours in the
//! description land on neighbouring tiles), then improves it by simulated
//! annealing: swap two cores (or a core and a free slot), keep the swap if it
//! lowers the cost, or with Boltzmann probability if not, cooling
//! geometrically. Only cores that exchange spikes move, and only within the
//! chips the cores need, so a Program spreads over no more chips than it
//! must. The generator is seeded, so placement is deterministic.

use neurite_chip::ChipProfile;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use rustc_hash::FxHashMap;

use crate::Progress;

/// Extra cost, in tile hops, of crossing from one chip to the next.
pub const CHIP_LINK_COST: u64 = 8;

/// Quality of a placement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlacementCost {
    /// Σ traffic × tile hops.
    pub hop_traffic: u64,
    /// Σ traffic × chip links crossed.
    pub chip_link_traffic: u64,
    /// Most tile hops between two cores that exchange spikes.
    pub worst_hops: u32,
    /// Σ traffic (output axons between distinct cores).
    pub traffic: u64,
}

/// Physical position of each logical core, and its cost.
#[derive(Debug, Clone)]
pub(crate) struct Placement {
    pub(crate) location: Vec<u32>,
    pub(crate) cost: PlacementCost,
}

/// Tile and chip coordinates of every physical core, for fast distances.
struct Grid {
    tile: Vec<(u32, u32)>,
    chip: Vec<(u32, u32)>,
}

impl Grid {
    fn new(chip: &ChipProfile) -> Self {
        let total = chip.total_cores() as u32;
        let mut tile = Vec::with_capacity(total as usize);
        let mut chips = Vec::with_capacity(total as usize);
        for core in 0..total {
            let at = chip.location(core);
            tile.push(chip.global_tile(at));
            chips.push((at.chip % chip.chips.x, at.chip / chip.chips.x));
        }
        Self { tile, chip: chips }
    }

    fn cost(&self, a: u32, b: u32) -> u64 {
        let ((ax, ay), (bx, by)) = (self.tile[a as usize], self.tile[b as usize]);
        let ((cx, cy), (dx, dy)) = (self.chip[a as usize], self.chip[b as usize]);
        u64::from(ax.abs_diff(bx) + ay.abs_diff(by))
            + CHIP_LINK_COST * u64::from(cx.abs_diff(dx) + cy.abs_diff(dy))
    }
}

/// Physical cores in serpentine order: chip by chip, tile rows alternating
/// direction, slots within a tile.
fn serpentine(chip: &ChipProfile) -> Vec<u32> {
    let per_tile = chip.mesh.cores_per_tile;
    let per_chip = chip.cores_per_chip();
    let mut order = Vec::with_capacity(chip.total_cores() as usize);
    for c in 0..chip.chip_count() {
        for y in 0..chip.mesh.tiles_y {
            for i in 0..chip.mesh.tiles_x {
                let x = if y % 2 == 0 {
                    i
                } else {
                    chip.mesh.tiles_x - 1 - i
                };
                let tile = y * chip.mesh.tiles_x + x;
                for slot in 0..per_tile {
                    order.push(c * per_chip + tile * per_tile + slot);
                }
            }
        }
    }
    order
}

pub(crate) fn place(
    cores: usize,
    traffic: &FxHashMap<(u32, u32), u64>,
    chip: &ChipProfile,
    seed: u64,
    progress: &mut dyn Progress,
) -> Placement {
    let grid = Grid::new(chip);
    let order = serpentine(chip);
    let mut location: Vec<u32> = order[..cores].to_vec();

    // Undirected adjacency, merged per pair, in a stable order.
    let mut edges: Vec<(u32, u32, u64)> = traffic
        .iter()
        .filter(|((a, b), _)| a != b)
        .map(|(&(a, b), &w)| (a.min(b), a.max(b), w))
        .collect();
    edges.sort_unstable();
    edges.dedup_by(|next, kept| {
        if next.0 == kept.0 && next.1 == kept.1 {
            kept.2 += next.2;
            true
        } else {
            false
        }
    });
    let mut adjacency: Vec<Vec<(u32, u64)>> = vec![Vec::new(); cores];
    for &(a, b, w) in &edges {
        adjacency[a as usize].push((b, w));
        adjacency[b as usize].push((a, w));
    }

    // Cores stay on as few chips as they need: moves only land on those
    // chips (the serpentine fills them first), and only cores that exchange
    // spikes move.
    let per_chip = chip.cores_per_chip() as usize;
    let total = (cores.div_ceil(per_chip.max(1)) * per_chip).min(chip.total_cores() as usize);
    let movable: Vec<u32> = (0..cores as u32)
        .filter(|&k| !adjacency[k as usize].is_empty())
        .collect();
    if cores >= 2 && !movable.is_empty() {
        let mut occupant = vec![u32::MAX; chip.total_cores() as usize];
        for (logical, &physical) in location.iter().enumerate() {
            occupant[physical as usize] = logical as u32;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let cost_of = |location: &[u32], core: u32, at: u32, skip: u32| -> u64 {
            adjacency[core as usize]
                .iter()
                .filter(|(n, _)| *n != skip)
                .map(|&(n, w)| w * grid.cost(at, location[n as usize]))
                .sum()
        };
        let delta = |location: &[u32], occupant: &[u32], a: u32, q: u32| -> i64 {
            let (pa, b) = (location[a as usize], occupant[q as usize]);
            let mut change = cost_of(location, a, q, b) as i64 - cost_of(location, a, pa, b) as i64;
            if b != u32::MAX {
                change += cost_of(location, b, pa, a) as i64 - cost_of(location, b, q, a) as i64;
            }
            change
        };
        let iterations = (cores as u64 * 4000).clamp(20_000, 20_000_000);
        // Starting temperature, from the size of worsening moves.
        let mut sample = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
        let mut worse = (0u64, 0u64);
        for _ in 0..200 {
            let a = movable[(sample.next_u64() % movable.len() as u64) as usize];
            let q = (sample.next_u64() % total as u64) as u32;
            let d = delta(&location, &occupant, a, q);
            if d > 0 {
                worse = (worse.0 + d as u64, worse.1 + 1);
            }
        }
        let start = if worse.1 > 0 {
            worse.0 as f64 / worse.1 as f64
        } else {
            1.0
        };
        let end = start * 1e-3;
        let cooling = (end / start).powf(1.0 / iterations as f64);
        let mut temperature = start;
        // The walk may wander off; keep the best placement seen.
        let (mut current, mut best) = (0i64, 0i64);
        let mut best_location = location.clone();
        let snapshot_every = (cores as u64).max(1024);
        progress.begin("placing", iterations);
        for i in 0..iterations {
            let a = movable[(rng.next_u64() % movable.len() as u64) as usize];
            // Half the moves go anywhere; half land next to one of a's partners,
            // where a good position most likely is.
            let draw = rng.next_u64();
            let q = match adjacency[a as usize].as_slice() {
                partners if draw & 1 == 0 && !partners.is_empty() => {
                    let (n, _) = partners[(draw >> 1) as usize % partners.len()];
                    let offset = ((draw >> 32) % 17) as i64 - 8;
                    (i64::from(location[n as usize]) + offset).clamp(0, total as i64 - 1) as u32
                }
                _ => (rng.next_u64() % total as u64) as u32,
            };
            if location[a as usize] != q {
                let d = delta(&location, &occupant, a, q);
                let uniform = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                if d <= 0 || uniform < (-(d as f64) / temperature).exp() {
                    let pa = location[a as usize];
                    let b = occupant[q as usize];
                    location[a as usize] = q;
                    occupant[q as usize] = a;
                    occupant[pa as usize] = b;
                    if b != u32::MAX {
                        location[b as usize] = pa;
                    }
                    current += d;
                }
            }
            temperature *= cooling;
            if i % snapshot_every == 0 && current < best {
                best = current;
                best_location.copy_from_slice(&location);
            }
            if i % 65_536 == 0 {
                progress.advance(i);
            }
        }
        if current < best {
            best_location.copy_from_slice(&location);
        }
        location = best_location;
        progress.finish();
    }

    let mut cost = PlacementCost::default();
    for &(a, b, w) in &edges {
        let route = chip.route(location[a as usize], location[b as usize]);
        cost.traffic += w;
        cost.hop_traffic += w * u64::from(route.hops());
        cost.chip_link_traffic += w * u64::from(route.chip_links);
        cost.worst_hops = cost.worst_hops.max(route.hops());
    }
    Placement { location, cost }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoProgress;

    fn chain(cores: usize) -> FxHashMap<(u32, u32), u64> {
        (0..cores as u32 - 1).map(|i| ((i, i + 1), 10)).collect()
    }

    #[test]
    fn serpentine_visits_every_core_once() {
        let mut chip = ChipProfile::loihi1();
        chip.chips.x = 2;
        let mut order = serpentine(&chip);
        assert_eq!(order.len(), 256);
        // Row 1 of chip 0 runs backwards: after tile (7,0) comes tile (7,1).
        assert_eq!(chip.location(order[8 * 4]).tile_x, 7);
        assert_eq!(chip.location(order[8 * 4]).tile_y, 1);
        order.sort_unstable();
        order.dedup();
        assert_eq!(order.len(), 256);
    }

    #[test]
    fn placement_is_deterministic_and_distinct() {
        let chip = ChipProfile::loihi1();
        let mut traffic = chain(40);
        traffic.insert((0, 39), 50);
        let a = place(40, &traffic, &chip, 7, &mut NoProgress);
        let b = place(40, &traffic, &chip, 7, &mut NoProgress);
        assert_eq!(a.location, b.location);
        let mut sorted = a.location.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 40);
    }

    #[test]
    fn annealing_pulls_heavy_pairs_together() {
        // Core 0 and core 99 exchange most of the traffic; in compile order
        // they start far apart.
        let chip = ChipProfile::loihi1();
        let mut traffic = chain(100);
        traffic.insert((0, 99), 10_000);
        let placed = place(100, &traffic, &chip, 1, &mut NoProgress);
        let route = chip.route(placed.location[0], placed.location[99]);
        assert!(route.hops() <= 1, "{route:?}");
        let start: Vec<u32> = serpentine(&chip)[..100].to_vec();
        let start_cost = chip.route(start[0], start[99]).hops() as u64 * 10_000;
        assert!(placed.cost.hop_traffic < start_cost);
    }

    #[test]
    fn cores_stay_on_the_chips_they_need() {
        let mut chip = ChipProfile::loihi1();
        chip.chips.x = 4;
        // 60 cores in a ring, and 40 silent ones: all fit one chip of 128.
        let mut traffic = chain(60);
        traffic.insert((59, 0), 10);
        let placed = place(100, &traffic, &chip, 3, &mut NoProgress);
        assert_eq!(placed.cost.chip_link_traffic, 0);
        assert!(
            placed.location.iter().all(|&l| l < 128),
            "{:?}",
            placed.location
        );
        // 200 cores need two chips, and get no more.
        let traffic = chain(200);
        let placed = place(200, &traffic, &chip, 3, &mut NoProgress);
        assert!(placed.location.iter().all(|&l| l < 256));
    }
}
