//! Chip profiles: what a Loihi-style chip offers and what each core can hold.
//!
//! A profile is the compiler's budget and the emulator's check: a Program records
//! the profile it was built for, and a board refuses one that exceeds its limits.
//!
//! ```
//! let chip = neurite_chip::ChipProfile::builtin("loihi2").unwrap();
//! assert_eq!(chip.cores_per_chip, 128);
//! assert_eq!(chip.core.neurons, 8192);
//! ```

use serde::{Deserialize, Serialize};

/// Largest synaptic delay (in timesteps) any profile may allow: the most Loihi
/// offers (Davies et al. 2018: up to 62 delay units with fewer compartments).
pub const MAX_DELAY_LIMIT: u8 = 62;

/// Names of the built-in profiles, in the order `neurite` lists them.
pub const BUILTIN_PROFILES: &[&str] = &["loihi2", "loihi1"];

/// Errors from looking up or checking a chip profile.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChipError {
    /// The name matches no built-in profile.
    #[error("unknown chip profile '{name}' (built in: {})", BUILTIN_PROFILES.join(", "))]
    UnknownProfile { name: String },
    /// A profile field holds a value Neurite cannot honour.
    #[error("chip profile '{profile}': {field} {reason}")]
    InvalidProfile {
        profile: String,
        field: &'static str,
        reason: String,
    },
}

/// A chip (or a system of identical chips) as the compiler and the boards see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipProfile {
    /// Profile name, recorded in every Program built for it.
    pub name: String,
    /// Chips in the system.
    pub chips: u32,
    /// Neuromorphic cores per chip.
    pub cores_per_chip: u32,
    /// What a single core can hold.
    pub core: CoreLimits,
}

/// Per-core capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoreLimits {
    /// Neurons (compartments) per core.
    pub neurons: u32,
    /// Largest synaptic delay in timesteps.
    pub max_delay: u8,
    /// Distinct neuron parameter profiles (du, dv, vth, refractory) per core.
    pub neuron_profiles: u32,
    /// Distinct synapse groups (weight exponent, weight bits, sign mode) per core.
    pub synapse_groups: u32,
}

impl ChipProfile {
    /// A built-in profile by name: `loihi2` or `loihi1`.
    pub fn builtin(name: &str) -> Result<Self, ChipError> {
        match name {
            "loihi2" => Ok(Self::loihi2()),
            "loihi1" => Ok(Self::loihi1()),
            _ => Err(ChipError::UnknownProfile {
                name: name.to_string(),
            }),
        }
    }

    /// Loihi 2: 128 cores of up to 8,192 neurons each, delays 0–62.
    pub fn loihi2() -> Self {
        Self {
            name: "loihi2".to_string(),
            chips: 1,
            cores_per_chip: 128,
            core: CoreLimits {
                neurons: 8192,
                max_delay: MAX_DELAY_LIMIT,
                // Loihi 2 microcode neurons keep their parameters per neuron group;
                // the figure bounds the emulator's tables rather than silicon.
                neuron_profiles: 65_536,
                synapse_groups: 65_536,
            },
        }
    }

    /// Loihi 1: 128 cores of 1,024 compartments each.
    pub fn loihi1() -> Self {
        Self {
            name: "loihi1".to_string(),
            chips: 1,
            cores_per_chip: 128,
            core: CoreLimits {
                neurons: 1024,
                max_delay: MAX_DELAY_LIMIT,
                // nengo-loihi's hardware validation allows 32 compartment profiles
                // and 16 synapse formats per core.
                neuron_profiles: 32,
                synapse_groups: 16,
            },
        }
    }

    /// Total cores in the system.
    pub fn total_cores(&self) -> u64 {
        u64::from(self.chips) * u64::from(self.cores_per_chip)
    }

    /// Checks that the profile is usable: every count positive, delays within
    /// what the Program format can carry.
    pub fn validate(&self) -> Result<(), ChipError> {
        let invalid = |field: &'static str, reason: String| ChipError::InvalidProfile {
            profile: self.name.clone(),
            field,
            reason,
        };
        if self.name.is_empty() {
            return Err(invalid("name", "is empty".to_string()));
        }
        for (field, value) in [
            ("chips", self.chips),
            ("cores_per_chip", self.cores_per_chip),
            ("core.neurons", self.core.neurons),
            ("core.neuron_profiles", self.core.neuron_profiles),
            ("core.synapse_groups", self.core.synapse_groups),
        ] {
            if value == 0 {
                return Err(invalid(field, "must be at least 1".to_string()));
            }
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_valid_and_named() {
        for name in BUILTIN_PROFILES {
            let chip = ChipProfile::builtin(name).expect("builtin exists");
            assert_eq!(chip.name, *name);
            chip.validate().expect("builtin is valid");
        }
    }

    #[test]
    fn limits_follow_the_published_figures() {
        let l1 = ChipProfile::loihi1();
        assert_eq!((l1.cores_per_chip, l1.core.neurons), (128, 1024));
        let l2 = ChipProfile::loihi2();
        assert_eq!((l2.cores_per_chip, l2.core.neurons), (128, 8192));
        assert_eq!(l2.total_cores(), 128);
    }

    #[test]
    fn unknown_name_lists_the_builtins() {
        let err = ChipProfile::builtin("loihi9").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("'loihi9'") && msg.contains("loihi1") && msg.contains("loihi2"));
    }

    #[test]
    fn validate_rejects_zero_counts_and_long_delays() {
        let mut chip = ChipProfile::loihi2();
        chip.core.neurons = 0;
        assert!(
            chip.validate()
                .unwrap_err()
                .to_string()
                .contains("core.neurons")
        );
        let mut chip = ChipProfile::loihi2();
        chip.core.max_delay = 63;
        assert!(chip.validate().unwrap_err().to_string().contains("63"));
    }
}
