//! Checks a board runs before it loads a Program: the tables must be consistent
//! (every index in range, every value representable) and fit the chip.

use std::collections::HashSet;

use neurite_chip::ChipProfile;

use crate::{
    AxonAddress, BIAS_EXP_MAX, BIAS_MANT_MAX, BIAS_MANT_MIN, Core, CoreId, DECAY_MAX,
    NeuronAddress, Program, REFRACTORY_MAX, Run, U_MAX, U_MIN_EXCLUSIVE, V_LIMIT, VTH_MAX,
    WEIGHT_EXP_MAX, WEIGHT_EXP_MIN,
};

/// Longest chip profile name a Program may carry.
pub const CHIP_NAME_MAX: usize = 255;

/// A Program that a board must not load, and where the problem is.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValidationError {
    /// The Program targets another chip profile.
    #[error("program was built for chip '{program}', this board is '{board}'")]
    ChipMismatch { program: String, board: String },
    /// The chip profile name is empty or too long.
    #[error("chip name must be 1 to {CHIP_NAME_MAX} bytes, got {len}")]
    BadChipName { len: usize },
    /// More cores than the chip has.
    #[error("program uses {used} cores, chip '{chip}' has {available}")]
    TooManyCores {
        chip: String,
        used: usize,
        available: u64,
    },
    /// A per-core table exceeds the chip's limit.
    #[error("core {core}: {count} {table} exceed the chip's limit of {limit}")]
    OverLimit {
        core: u32,
        table: &'static str,
        count: u64,
        limit: u64,
    },
    /// A core's location is outside the chip or taken by another core.
    #[error("core {core}: location {location} {reason}")]
    BadLocation {
        core: u32,
        location: u32,
        reason: String,
    },
    /// Parallel per-neuron arrays disagree in length.
    #[error("core {core}: {table} has {found} entries for {neurons} neurons")]
    LengthMismatch {
        core: u32,
        table: &'static str,
        found: usize,
        neurons: usize,
    },
    /// An entry of a core's table is out of range.
    #[error("core {core}: {table}[{index}]: {reason}")]
    BadEntry {
        core: u32,
        table: &'static str,
        index: usize,
        reason: String,
    },
    /// A host input port is malformed.
    #[error("input port '{port}': {reason}")]
    BadInputPort { port: String, reason: String },
    /// A neuromodulator is malformed.
    #[error("neuromodulator '{name}': {reason}")]
    BadNeuromodulator { name: String, reason: String },
    /// A population map is malformed.
    #[error("population '{population}': {reason}")]
    BadPopulation { population: String, reason: String },
}

impl Program {
    /// Checks internal consistency: every index points into its table, every
    /// value fits its field. Does not need the chip profile.
    pub fn check_structure(&self) -> Result<(), ValidationError> {
        if self.chip.is_empty() || self.chip.len() > CHIP_NAME_MAX {
            return Err(ValidationError::BadChipName {
                len: self.chip.len(),
            });
        }
        for (index, core) in self.cores.iter().enumerate() {
            check_core(self, index as u32, core)?;
        }
        let mut names = HashSet::new();
        for port in &self.inputs {
            let bad = |reason: String| ValidationError::BadInputPort {
                port: port.name.clone(),
                reason,
            };
            if !names.insert(port.name.as_str()) {
                return Err(bad("name is used twice".to_string()));
            }
            for (channel, run) in port.channels.iter().enumerate() {
                check_run(*run, port.axons.len())
                    .map_err(|reason| bad(format!("channel {channel}: {reason}")))?;
            }
            for (i, address) in port.axons.iter().enumerate() {
                check_axon_address(self, *address)
                    .map_err(|reason| bad(format!("axons[{i}]: {reason}")))?;
            }
        }
        let mut names = HashSet::new();
        for modulator in &self.neuromodulators {
            let bad = |reason: String| ValidationError::BadNeuromodulator {
                name: modulator.name.clone(),
                reason,
            };
            if !names.insert(modulator.name.as_str()) {
                return Err(bad("name is used twice".to_string()));
            }
            for (i, (address, _)) in modulator.sources.iter().enumerate() {
                check_neuron_address(self, *address)
                    .map_err(|reason| bad(format!("source {i}: {reason}")))?;
            }
        }
        let mut names = HashSet::new();
        for population in &self.populations {
            let bad = |reason: String| ValidationError::BadPopulation {
                population: population.name.clone(),
                reason,
            };
            if !names.insert(population.name.as_str()) {
                return Err(bad("name is used twice".to_string()));
            }
            for (index, address) in population.neurons.iter().enumerate() {
                check_neuron_address(self, *address)
                    .map_err(|reason| bad(format!("neuron {index}: {reason}")))?;
            }
        }
        Ok(())
    }

    /// Checks the Program against a chip: structure, the profile name, the
    /// number of cores and every per-core limit.
    pub fn validate(&self, chip: &ChipProfile) -> Result<(), ValidationError> {
        if self.chip != chip.name {
            return Err(ValidationError::ChipMismatch {
                program: self.chip.clone(),
                board: chip.name.clone(),
            });
        }
        if self.cores.len() as u64 > chip.total_cores() {
            return Err(ValidationError::TooManyCores {
                chip: chip.name.clone(),
                used: self.cores.len(),
                available: chip.total_cores(),
            });
        }
        self.check_structure()?;
        let mut taken = std::collections::HashMap::with_capacity(self.cores.len());
        for (index, core) in self.cores.iter().enumerate() {
            if u64::from(core.location) >= chip.total_cores() {
                return Err(ValidationError::BadLocation {
                    core: index as u32,
                    location: core.location,
                    reason: format!("is outside the chip's {} cores", chip.total_cores()),
                });
            }
            if let Some(other) = taken.insert(core.location, index) {
                return Err(ValidationError::BadLocation {
                    core: index as u32,
                    location: core.location,
                    reason: format!("is already taken by core {other}"),
                });
            }
            let usage = core.usage(chip);
            let over = |table: &'static str, count: u64, limit: u64| {
                if count > limit {
                    Err(ValidationError::OverLimit {
                        core: index as u32,
                        table,
                        count,
                        limit,
                    })
                } else {
                    Ok(())
                }
            };
            over("neurons", usage.neurons, chip.core.neurons.into())?;
            over(
                "input axons",
                usage.input_axons,
                chip.core.input_axons.into(),
            )?;
            over(
                "output axons",
                usage.output_axons,
                chip.core.output_axons.into(),
            )?;
            over(
                "bits of memory",
                usage.memory.used_bits,
                usage.memory.capacity_bits,
            )?;
            over(
                "neuron profiles",
                usage.profiles,
                chip.core.neuron_profiles.into(),
            )?;
            over(
                "synapse groups",
                usage.groups,
                chip.core.synapse_groups.into(),
            )?;
            if let Some(slots) = chip.core.delay_slots {
                over("delay slots", usage.delay_slots, slots)?;
            }
            if let Some((i, group)) = core
                .groups
                .iter()
                .enumerate()
                .find(|(_, g)| g.num_weight_bits > chip.core.max_weight_bits)
            {
                return Err(ValidationError::BadEntry {
                    core: index as u32,
                    table: "groups",
                    index: i,
                    reason: format!(
                        "{} weight bits exceed the chip's {}",
                        group.num_weight_bits, chip.core.max_weight_bits
                    ),
                });
            }
            if let Some((i, synapse)) = core
                .synapses
                .iter()
                .enumerate()
                .find(|(_, s)| s.delay > chip.core.max_delay)
            {
                return Err(ValidationError::BadEntry {
                    core: index as u32,
                    table: "synapses",
                    index: i,
                    reason: format!(
                        "delay {} exceeds the chip's maximum of {}",
                        synapse.delay, chip.core.max_delay
                    ),
                });
            }
        }
        Ok(())
    }
}

fn check_run(run: Run, table_len: usize) -> Result<(), String> {
    let end = u64::from(run.start) + u64::from(run.len);
    if end > table_len as u64 {
        Err(format!(
            "run {}..{end} lies outside a table of {table_len} entries",
            run.start
        ))
    } else {
        Ok(())
    }
}

fn check_axon_address(program: &Program, address: AxonAddress) -> Result<(), String> {
    let core = core_of(program, address.core)?;
    if address.axon.0 as usize >= core.axons.len() {
        return Err(format!(
            "axon {} does not exist on core {} ({} axons)",
            address.axon.0,
            address.core.0,
            core.axons.len()
        ));
    }
    Ok(())
}

fn check_neuron_address(program: &Program, address: NeuronAddress) -> Result<(), String> {
    let core = core_of(program, address.core)?;
    if address.neuron.0 as usize >= core.neurons.len() {
        return Err(format!(
            "neuron {} does not exist on core {} ({} neurons)",
            address.neuron.0,
            address.core.0,
            core.neurons.len()
        ));
    }
    Ok(())
}

fn core_of(program: &Program, id: CoreId) -> Result<&Core, String> {
    program.cores.get(id.0 as usize).ok_or_else(|| {
        format!(
            "core {} does not exist ({} cores)",
            id.0,
            program.cores.len()
        )
    })
}

fn check_core(program: &Program, core_index: u32, core: &Core) -> Result<(), ValidationError> {
    let bad = |table: &'static str, index: usize, reason: String| ValidationError::BadEntry {
        core: core_index,
        table,
        index,
        reason,
    };
    let n = core.neurons.len();
    let neurons = &core.neurons;
    for (table, found) in [
        ("bias_mant", neurons.bias_mant.len()),
        ("bias_exp", neurons.bias_exp.len()),
        ("u", neurons.u.len()),
        ("v", neurons.v.len()),
        ("routes", core.routes.len()),
    ] {
        if found != n {
            return Err(ValidationError::LengthMismatch {
                core: core_index,
                table,
                found,
                neurons: n,
            });
        }
    }
    for (i, profile) in core.profiles.iter().enumerate() {
        if profile.du > DECAY_MAX || profile.dv > DECAY_MAX {
            return Err(bad(
                "profiles",
                i,
                format!(
                    "du {} / dv {} out of range 0..={DECAY_MAX}",
                    profile.du, profile.dv
                ),
            ));
        }
        if profile.vth > VTH_MAX {
            return Err(bad(
                "profiles",
                i,
                format!("vth {} out of range 0..={VTH_MAX}", profile.vth),
            ));
        }
        if profile.refractory > REFRACTORY_MAX {
            return Err(bad(
                "profiles",
                i,
                format!(
                    "refractory {} out of range 0..={REFRACTORY_MAX}",
                    profile.refractory
                ),
            ));
        }
    }
    for i in 0..n {
        let profile = neurons.profile[i];
        if usize::from(profile.0) >= core.profiles.len() {
            return Err(bad(
                "neurons",
                i,
                format!(
                    "profile {} does not exist ({} profiles)",
                    profile.0,
                    core.profiles.len()
                ),
            ));
        }
        let mant = neurons.bias_mant[i];
        if !(BIAS_MANT_MIN..=BIAS_MANT_MAX).contains(&mant) {
            return Err(bad(
                "neurons",
                i,
                format!("bias_mant {mant} out of range {BIAS_MANT_MIN}..={BIAS_MANT_MAX}"),
            ));
        }
        if neurons.bias_exp[i] > BIAS_EXP_MAX {
            return Err(bad(
                "neurons",
                i,
                format!(
                    "bias_exp {} out of range 0..={BIAS_EXP_MAX}",
                    neurons.bias_exp[i]
                ),
            ));
        }
        let u = neurons.u[i];
        if u <= U_MIN_EXCLUSIVE || u > U_MAX {
            return Err(bad("neurons", i, format!("u {u} outside (-2^23, 2^23]")));
        }
        let v = neurons.v[i];
        if !(-V_LIMIT..=V_LIMIT).contains(&v) {
            return Err(bad(
                "neurons",
                i,
                format!("v {v} outside [-(2^23-1), 2^23-1]"),
            ));
        }
    }
    for (i, group) in core.groups.iter().enumerate() {
        if !(WEIGHT_EXP_MIN..=WEIGHT_EXP_MAX).contains(&group.weight_exp) {
            return Err(bad(
                "groups",
                i,
                format!(
                    "weight_exp {} out of range {WEIGHT_EXP_MIN}..={WEIGHT_EXP_MAX}",
                    group.weight_exp
                ),
            ));
        }
        if group.max_delay > crate::MAX_DELAY {
            return Err(bad(
                "groups",
                i,
                format!("max_delay {} exceeds {}", group.max_delay, crate::MAX_DELAY),
            ));
        }
        if !(1..=8).contains(&group.num_weight_bits) {
            return Err(bad(
                "groups",
                i,
                format!(
                    "num_weight_bits {} out of range 1..=8",
                    group.num_weight_bits
                ),
            ));
        }
    }
    for (i, synapse) in core.synapses.iter().enumerate() {
        if synapse.target.0 as usize >= n {
            return Err(bad(
                "synapses",
                i,
                format!(
                    "target neuron {} does not exist ({n} neurons)",
                    synapse.target.0
                ),
            ));
        }
        let Some(group) = core.groups.get(usize::from(synapse.group.0)) else {
            return Err(bad(
                "synapses",
                i,
                format!(
                    "group {} does not exist ({} groups)",
                    synapse.group.0,
                    core.groups.len()
                ),
            ));
        };
        let (lo, hi) = match group.learning {
            Some(_) => learned_range(group.sign_mode),
            None => group.sign_mode.mantissa_range(group.num_weight_bits),
        };
        let w = i32::from(synapse.weight);
        if w < lo || w > hi {
            return Err(bad(
                "synapses",
                i,
                format!(
                    "weight mantissa {w} outside {lo}..={hi} for {:?} weights of {} bits",
                    group.sign_mode, group.num_weight_bits
                ),
            ));
        }
        if synapse.delay > group.max_delay {
            return Err(bad(
                "synapses",
                i,
                format!(
                    "delay {} exceeds its group's delay field (up to {})",
                    synapse.delay, group.max_delay
                ),
            ));
        }
        if synapse.delay > crate::MAX_DELAY {
            return Err(bad(
                "synapses",
                i,
                format!("delay {} exceeds {}", synapse.delay, crate::MAX_DELAY),
            ));
        }
    }
    for (i, run) in core.axons.iter().enumerate() {
        check_run(*run, core.synapses.len()).map_err(|r| bad("axons", i, r))?;
    }
    for (i, run) in core.routes.iter().enumerate() {
        check_run(*run, core.destinations.len()).map_err(|r| bad("routes", i, r))?;
    }
    for (i, destination) in core.destinations.iter().enumerate() {
        check_axon_address(program, *destination).map_err(|r| bad("destinations", i, r))?;
    }
    check_learning(program, core).map_err(|(i, r)| bad("learning", i, r))?;
    Ok(())
}

/// The range of a learned weight (8-bit scale, full resolution).
pub(crate) fn learned_range(mode: crate::SignMode) -> (i32, i32) {
    match mode {
        crate::SignMode::Mixed => (-256, 255),
        crate::SignMode::Excitatory => (0, 255),
        crate::SignMode::Inhibitory => (-255, 0),
    }
}

/// Checks the learning groups of a core; the error names the group.
fn check_learning(program: &Program, core: &Core) -> Result<(), (usize, String)> {
    for (g, group) in core.groups.iter().enumerate() {
        if let Some(l) = group.learning {
            let points_back = core
                .learning
                .get(usize::from(l))
                .is_some_and(|lg| usize::from(lg.group.0) == g);
            if !points_back {
                return Err((
                    usize::from(l),
                    format!(
                        "synapse group {g} names learning group {l}, which does not name it back"
                    ),
                ));
            }
        }
    }
    for (i, lg) in core.learning.iter().enumerate() {
        let fail = |reason: String| Err((i, format!("projection '{}': {reason}", lg.projection)));
        let named = core
            .groups
            .get(usize::from(lg.group.0))
            .is_some_and(|g| g.learning == Some(i as u16));
        if !named {
            return fail(format!(
                "synapse group {} does not name this learning group",
                lg.group.0
            ));
        }
        if let Err(e) = lg.rule.profile() {
            return fail(e.to_string());
        }
        if let Err(e) = lg.rule.post_neuron_trace() {
            return fail(e.to_string());
        }
        if let Some(m) = lg.neuromodulator
            && m as usize >= program.neuromodulators.len()
        {
            return fail(format!(
                "neuromodulator {m} does not exist ({} neuromodulators)",
                program.neuromodulators.len()
            ));
        }
        let mut pre_of = vec![None; core.axons.len()];
        for &(axon, pre) in &lg.pre {
            let Some(slot) = pre_of.get_mut(axon.0 as usize) else {
                return fail(format!(
                    "axon {} does not exist ({} axons)",
                    axon.0,
                    core.axons.len()
                ));
            };
            if pre >= lg.n_pre {
                return fail(format!("pre neuron {pre} of {}", lg.n_pre));
            }
            if slot.replace(pre).is_some() {
                return fail(format!("axon {} is listed twice", axon.0));
            }
        }
        let mut post_of = vec![None; core.neurons.len()];
        for &(neuron, post) in &lg.post {
            let Some(slot) = post_of.get_mut(neuron.0 as usize) else {
                return fail(format!(
                    "neuron {} does not exist ({} neurons)",
                    neuron.0,
                    core.neurons.len()
                ));
            };
            if post >= lg.n_post {
                return fail(format!("post neuron {post} of {}", lg.n_post));
            }
            if slot.replace(post).is_some() {
                return fail(format!("neuron {} is listed twice", neuron.0));
            }
        }
        let mut count = 0usize;
        for (a, run) in core.axons.iter().enumerate() {
            for s in core.synapses.get(run.range()).unwrap_or(&[]) {
                if s.group != lg.group {
                    continue;
                }
                count += 1;
                if pre_of[a].is_none() {
                    return fail(format!(
                        "axon {a} holds synapses of the group but has no pre neuron"
                    ));
                }
                if post_of
                    .get(s.target.0 as usize)
                    .copied()
                    .flatten()
                    .is_none()
                {
                    return fail(format!(
                        "neuron {} receives synapses of the group but has no post neuron",
                        s.target.0
                    ));
                }
            }
        }
        for (name, values, (lo, hi)) in [
            ("tags", &lg.tags, neurite_learning::TAG_RANGE),
            ("delays", &lg.delays, neurite_learning::DELAY_RANGE),
        ] {
            if values.len() != count {
                return fail(format!("{} {name} for {count} synapses", values.len()));
            }
            if let Some((k, v)) = values
                .iter()
                .enumerate()
                .find(|(_, v)| !(lo..=hi).contains(&i32::from(**v)))
            {
                return fail(format!("{name}[{k}] = {v} outside {lo}..={hi}"));
            }
        }
    }
    Ok(())
}
