//! Chip profiles: what a Loihi-style chip offers and what each core can hold.
//!
//! A profile is the compiler's budget and the board's check: a Program records
//! the profile it was built for, and a board refuses one that exceeds its
//! limits. It describes
//!
//! - the system: chips arranged in a grid, joined by links to their four
//!   neighbours;
//! - each chip's mesh: tiles in a grid, a few cores per tile;
//! - each core's limits: neurons, input and output axons, memory (with the
//!   accounting of synapse memory), weight bits, delays, parameter tables.
//!
//! Built in: `loihi2` (the default) and `loihi1`. Any other chip can be
//! described in a TOML file with the same fields (see [`ChipProfile::from_toml`]).
//!
//! ```
//! let chip = neurite_chip::ChipProfile::builtin("loihi2").unwrap();
//! assert_eq!(chip.cores_per_chip(), 128);
//! assert_eq!(chip.core.neurons, 8192);
//! ```

mod costs;
mod memory;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use costs::{BarrierPoint, BarrierShape, Cost, Costs};
pub use memory::{CoreMemory, MemoryUse, SynapseFormat};

/// Largest synaptic delay (in timesteps) any profile may allow: the most Loihi
/// offers (Davies et al. 2018: up to 62 delay units with fewer compartments).
pub const MAX_DELAY_LIMIT: u8 = 62;

/// Most cores a system may have (Hala Point, the largest Loihi system, has
/// about 140,000).
pub const MAX_CORES: u64 = 1 << 22;

fn eight() -> u8 {
    8
}

/// Names of the built-in profiles, in the order `neurite` lists them.
pub const BUILTIN_PROFILES: &[&str] = &["loihi2", "loihi1", "loihi1-sanafe"];

/// Errors from looking up, loading or checking a chip profile.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChipError {
    /// The name matches no built-in profile.
    #[error("unknown chip profile '{name}' (built in: {}; or give a .toml file)", BUILTIN_PROFILES.join(", "))]
    UnknownProfile { name: String },
    /// A profile file cannot be read or parsed.
    #[error("chip profile {path}: {reason}")]
    File { path: String, reason: String },
    /// A profile field holds a value Neurite cannot honour.
    #[error("chip profile '{profile}': {field} {reason}")]
    InvalidProfile {
        profile: String,
        field: &'static str,
        reason: String,
    },
}

/// A chip, or a system of identical chips, as the compiler and boards see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipProfile {
    /// Profile name, recorded in every Program built for it.
    pub name: String,
    /// How the chips of the system are arranged.
    #[serde(default)]
    pub chips: ChipGrid,
    /// The mesh of cores on one chip.
    pub mesh: Mesh,
    /// What a single core can hold.
    pub core: CoreLimits,
    /// Energy and time of each operation, for the time and energy model.
    pub costs: Costs,
}

/// Chips in a grid; each chip links to its east, west, north and south
/// neighbours, and spikes cross chips over those links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipGrid {
    /// Chips along x.
    pub x: u32,
    /// Chips along y.
    pub y: u32,
}

impl Default for ChipGrid {
    fn default() -> Self {
        Self { x: 1, y: 1 }
    }
}

/// The network-on-chip: a grid of tiles, each with a few cores sharing a router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mesh {
    /// Tiles along x (east–west).
    pub tiles_x: u32,
    /// Tiles along y (north–south).
    pub tiles_y: u32,
    /// Cores per tile.
    pub cores_per_tile: u32,
}

/// Per-core capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoreLimits {
    /// Neurons (compartments) per core.
    pub neurons: u32,
    /// Input axons per core: one per (source neuron, this core).
    pub input_axons: u32,
    /// Output axons per core: one per (neuron of this core, destination core).
    pub output_axons: u32,
    /// Memory and how synapses and neuron state use it.
    pub memory: CoreMemory,
    /// Largest synaptic delay in timesteps.
    pub max_delay: u8,
    /// Dendritic accumulator slots per core, when delays share them with
    /// neurons: a core of n neurons whose longest delay is d uses n × (d + 1).
    /// Loihi 1 has 8 delay units at its full 1,024 compartments and up to 62
    /// with fewer; `None` when delays do not limit neurons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_slots: Option<u64>,
    /// Widest weight mantissa, in bits (1..=8).
    #[serde(default = "eight")]
    pub max_weight_bits: u8,
    /// Distinct neuron parameter profiles (du, dv, vth, refractory) per core.
    pub neuron_profiles: u32,
    /// Distinct synapse groups (weight exponent, weight bits, sign mode) per core.
    pub synapse_groups: u32,
}

/// Where a core sits: its chip, its tile on the chip's mesh and its slot in the tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CoreLocation {
    /// Chip index, row-major in the chip grid.
    pub chip: u32,
    /// Tile column on the chip.
    pub tile_x: u32,
    /// Tile row on the chip.
    pub tile_y: u32,
    /// Core within the tile.
    pub slot: u32,
}

/// The route between two cores under dimension-order (XY) routing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Route {
    /// Tile hops east–west, chip borders included.
    pub east_west: u32,
    /// Tile hops north–south, chip borders included.
    pub north_south: u32,
    /// Chip-to-chip links crossed.
    pub chip_links: u32,
}

impl Route {
    /// All tile hops.
    pub fn hops(&self) -> u32 {
        self.east_west + self.north_south
    }
}

impl ChipProfile {
    /// A built-in profile by name: `loihi2`, `loihi1` or `loihi1-sanafe`.
    pub fn builtin(name: &str) -> Result<Self, ChipError> {
        match name {
            "loihi2" => Ok(Self::loihi2()),
            "loihi1" => Ok(Self::loihi1()),
            "loihi1-sanafe" => Ok(Self::loihi1_sanafe()),
            _ => Err(ChipError::UnknownProfile {
                name: name.to_string(),
            }),
        }
    }

    /// A built-in name, or else a path to a TOML profile file.
    pub fn from_name_or_file(spec: &str) -> Result<Self, ChipError> {
        if BUILTIN_PROFILES.contains(&spec) {
            return Self::builtin(spec);
        }
        let path = Path::new(spec);
        if path.extension().is_some_and(|e| e == "toml") || path.exists() {
            return Self::load(path);
        }
        Self::builtin(spec)
    }

    /// Reads and checks a profile file.
    pub fn load(path: &Path) -> Result<Self, ChipError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ChipError::File {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            ChipError::File { reason, .. } => ChipError::File {
                path: shown,
                reason,
            },
            other => other,
        })
    }

    /// Parses and checks a profile written in TOML.
    pub fn from_toml(text: &str) -> Result<Self, ChipError> {
        let profile: ChipProfile = toml::from_str(text).map_err(|e| ChipError::File {
            path: "(text)".to_string(),
            reason: e.to_string().trim_end().to_string(),
        })?;
        profile.validate()?;
        Ok(profile)
    }

    /// The profile as TOML, the format [`ChipProfile::from_toml`] reads.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Loihi 2 (Intel 4, 2021): 128 cores of up to 8,192 neurons, 192 KB of
    /// memory per core shared by neuron state and synapses, delays 0–62.
    ///
    /// Intel publishes neither the mesh layout nor per-core axon limits of
    /// Loihi 2; Neurite assumes Loihi 1's arrangement (8 × 4 tiles of 4 cores)
    /// and 8,192 input and output axons per core, and sizes neuron state and
    /// synapse entries as documented on [`CoreMemory::Shared`].
    pub fn loihi2() -> Self {
        Self {
            name: "loihi2".to_string(),
            chips: ChipGrid::default(),
            mesh: Mesh {
                tiles_x: 8,
                tiles_y: 4,
                cores_per_tile: 4,
            },
            core: CoreLimits {
                neurons: 8192,
                input_axons: 8192,
                output_axons: 8192,
                memory: CoreMemory::Shared {
                    bytes: 192 * 1024,
                    neuron_state_bytes: 12,
                    word_bits: 32,
                    run_overhead_bits: 32,
                },
                max_delay: MAX_DELAY_LIMIT,
                delay_slots: None,
                max_weight_bits: 8,
                neuron_profiles: 256,
                synapse_groups: 256,
            },
            costs: Costs::loihi2(),
        }
    }

    /// Loihi 1 (Intel 14 nm, 2018): 128 cores of 1,024 compartments, 4,096
    /// input and 4,096 output axons, 128 KiB of synapse memory counted as
    /// nengo-loihi counts it, 32 compartment profiles and 16 synapse formats
    /// per core (Davies et al. 2018; nengo-loihi's hardware validation).
    pub fn loihi1() -> Self {
        Self {
            name: "loihi1".to_string(),
            chips: ChipGrid::default(),
            mesh: Mesh {
                tiles_x: 8,
                tiles_y: 4,
                cores_per_tile: 4,
            },
            core: CoreLimits {
                neurons: 1024,
                input_axons: 4096,
                output_axons: 4096,
                memory: CoreMemory::Synapses {
                    bits: 16_384 * 64,
                    block_synapses: 64,
                    block_overhead_bits: 10,
                    word_bits: 64,
                },
                max_delay: MAX_DELAY_LIMIT,
                delay_slots: Some(1024 * 8),
                max_weight_bits: 8,
                neuron_profiles: 32,
                synapse_groups: 16,
            },
            costs: Costs::loihi1(),
        }
    }

    /// Loihi 1's limits with the per-operation costs of SANA-FE's Loihi
    /// architecture, so that energy and time compare with that simulator.
    pub fn loihi1_sanafe() -> Self {
        Self {
            name: "loihi1-sanafe".to_string(),
            costs: Costs::loihi1_sanafe(),
            ..Self::loihi1()
        }
    }

    /// Chips in the system.
    pub fn chip_count(&self) -> u32 {
        self.chips.x.saturating_mul(self.chips.y)
    }

    /// Cores on one chip.
    pub fn cores_per_chip(&self) -> u32 {
        self.mesh
            .tiles_x
            .saturating_mul(self.mesh.tiles_y)
            .saturating_mul(self.mesh.cores_per_tile)
    }

    /// Cores in the system.
    pub fn total_cores(&self) -> u64 {
        u64::from(self.chip_count()) * u64::from(self.cores_per_chip())
    }

    /// Where physical core `index` sits. Cores are numbered chip by chip
    /// (chips row-major), then tile by tile (row-major), then slot.
    pub fn location(&self, index: u32) -> CoreLocation {
        let per_chip = self.cores_per_chip().max(1);
        let per_tile = self.mesh.cores_per_tile.max(1);
        let chip = index / per_chip;
        let within = index % per_chip;
        let tile = within / per_tile;
        CoreLocation {
            chip,
            tile_x: tile % self.mesh.tiles_x.max(1),
            tile_y: tile / self.mesh.tiles_x.max(1),
            slot: within % per_tile,
        }
    }

    /// Tile coordinates of a location in the system-wide grid of tiles.
    pub fn global_tile(&self, at: CoreLocation) -> (u32, u32) {
        let chip_x = at.chip % self.chips.x.max(1);
        let chip_y = at.chip / self.chips.x.max(1);
        (
            chip_x * self.mesh.tiles_x + at.tile_x,
            chip_y * self.mesh.tiles_y + at.tile_y,
        )
    }

    /// The XY route between two physical cores: east–west first, then
    /// north–south, counting tile hops and the chip borders crossed. Cores
    /// of one tile share its router: zero hops.
    pub fn route(&self, from: u32, to: u32) -> Route {
        let (a, b) = (self.location(from), self.location(to));
        let ((ax, ay), (bx, by)) = (self.global_tile(a), self.global_tile(b));
        let chip_x = |x: u32| x / self.mesh.tiles_x.max(1);
        let chip_y = |y: u32| y / self.mesh.tiles_y.max(1);
        Route {
            east_west: ax.abs_diff(bx),
            north_south: ay.abs_diff(by),
            chip_links: chip_x(ax).abs_diff(chip_x(bx)) + chip_y(ay).abs_diff(chip_y(by)),
        }
    }

    /// Checks that the profile is usable: every count positive, sizes that
    /// the Program format and the emulator can carry.
    pub fn validate(&self) -> Result<(), ChipError> {
        let invalid = |field: &'static str, reason: String| ChipError::InvalidProfile {
            profile: self.name.clone(),
            field,
            reason,
        };
        if self.name.is_empty() || self.name.len() > 255 {
            return Err(invalid("name", "must be 1 to 255 bytes".to_string()));
        }
        for (field, value) in [
            ("chips.x", self.chips.x),
            ("chips.y", self.chips.y),
            ("mesh.tiles_x", self.mesh.tiles_x),
            ("mesh.tiles_y", self.mesh.tiles_y),
            ("mesh.cores_per_tile", self.mesh.cores_per_tile),
            ("core.neurons", self.core.neurons),
            ("core.input_axons", self.core.input_axons),
            ("core.output_axons", self.core.output_axons),
            ("core.neuron_profiles", self.core.neuron_profiles),
            ("core.synapse_groups", self.core.synapse_groups),
        ] {
            if value == 0 {
                return Err(invalid(field, "must be at least 1".to_string()));
            }
        }
        let total = [
            self.mesh.tiles_x,
            self.mesh.tiles_y,
            self.mesh.cores_per_tile,
            self.chips.x,
            self.chips.y,
        ]
        .iter()
        .fold(1u128, |n, &d| n.saturating_mul(u128::from(d)));
        if total > u128::from(MAX_CORES) {
            return Err(invalid(
                "chips",
                format!("and mesh make {total} cores; at most {MAX_CORES} are supported"),
            ));
        }
        if !(1..=8).contains(&self.core.max_weight_bits) {
            return Err(invalid(
                "core.max_weight_bits",
                format!("{} out of range 1..8", self.core.max_weight_bits),
            ));
        }
        if self.core.neurons > 1 << 24 {
            return Err(invalid(
                "core.neurons",
                format!("{} exceeds 2^24", self.core.neurons),
            ));
        }
        if self.core.max_delay > MAX_DELAY_LIMIT {
            return Err(invalid(
                "core.max_delay",
                format!("{} exceeds {MAX_DELAY_LIMIT}", self.core.max_delay),
            ));
        }
        if self.core.neuron_profiles > 65_536 || self.core.synapse_groups > 65_536 {
            return Err(invalid(
                "core",
                "profile and group tables hold at most 65536 entries".to_string(),
            ));
        }
        self.core
            .memory
            .validate()
            .map_err(|reason| invalid("core.memory", reason))?;
        self.costs
            .validate()
            .map_err(|reason| invalid("costs", reason))
    }
}

#[cfg(test)]
mod tests;
