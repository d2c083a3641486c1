//! From the description as written to a [`Network`]: resolve names, check every
//! value against its range, expand per-neuron parameters and connectivity.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use crate::error::{ErrorKind, Item, NetError};
use crate::raw::{DenseSource, Num, PerNeuron, RawInput, RawNetwork, RawPopulation, RawProjection};
use crate::{
    FloatWeights, Input, InputSource, Lif, Model, Network, PhysicalLif, Population, Probe,
    Projection, Reset, SignMode, Synapse, expand, inputs, npy,
};

/// Largest population the description accepts.
pub(crate) const MAX_POPULATION_SIZE: i64 = 1 << 24;
/// Most neurons (input and lif) in one description.
pub(crate) const MAX_NEURONS: u64 = 1 << 26;
/// Most synapses in one description (each takes 16 bytes once expanded).
pub(crate) const MAX_SYNAPSES: u64 = 1 << 28;
/// Largest synaptic delay.
pub(crate) const MAX_DELAY: i64 = 62;
/// Longest refractory period, in steps.
pub(crate) const MAX_REFRACTORY: i64 = 63;

struct Ctx<'a> {
    file: &'a str,
    base: Option<&'a Path>,
}

impl Ctx<'_> {
    fn err(&self, item: &Item, reason: impl Into<String>) -> NetError {
        NetError {
            file: self.file.to_string(),
            kind: ErrorKind::Invalid {
                item: item.clone(),
                reason: reason.into(),
            },
        }
    }

    /// Resolves a path written in the description against its directory.
    fn resolve(&self, item: &Item, path: &str) -> Result<std::path::PathBuf, NetError> {
        let written = Path::new(path);
        if written.is_absolute() {
            return Ok(written.to_path_buf());
        }
        match self.base {
            Some(base) => Ok(base.join(written)),
            None => Err(self.err(
                item,
                format!(
                    "cannot resolve relative path '{path}' for a description not read from a file"
                ),
            )),
        }
    }
}

fn in_range(value: i64, lo: i64, hi: i64) -> bool {
    (lo..=hi).contains(&value)
}

pub(crate) fn validate(
    raw: RawNetwork,
    file: &str,
    default_name: &str,
    base: Option<&Path>,
) -> Result<Network, NetError> {
    let ctx = Ctx { file, base };
    let net_item = Item::Network;
    let dt_ms = match raw.dt_ms {
        None => 1.0,
        Some(dt) if dt.is_finite() && dt > 0.0 => dt,
        Some(dt) => return Err(ctx.err(&net_item, format!("dt_ms {dt} must be a positive number"))),
    };
    let steps = match raw.steps {
        None => None,
        Some(s) if s >= 1 => Some(s as u64),
        Some(s) => return Err(ctx.err(&net_item, format!("steps {s} must be at least 1"))),
    };
    if raw.populations.is_empty() {
        return Err(ctx.err(&net_item, "has no populations"));
    }

    let mut populations = Vec::with_capacity(raw.populations.len());
    let mut total_neurons = 0u64;
    let mut index_of: HashMap<String, usize> = HashMap::new();
    for raw_pop in raw.populations {
        let item = Item::Population(raw_pop.name.clone());
        if raw_pop.name.is_empty() {
            return Err(ctx.err(&item, "name is empty"));
        }
        // Names become file names (`<name>_v.npy`) and CSV fields.
        if let Some(bad) = raw_pop
            .name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        {
            return Err(ctx.err(
                &item,
                format!("name has '{bad}'; use letters, digits, '_', '-' and '.'"),
            ));
        }
        if index_of.contains_key(&raw_pop.name) {
            return Err(ctx.err(&item, "name is used twice"));
        }
        index_of.insert(raw_pop.name.clone(), populations.len());
        let population = population(&ctx, &item, raw_pop, dt_ms, raw.dt_ms.is_some())?;
        total_neurons += u64::from(population.size);
        if total_neurons > MAX_NEURONS {
            return Err(ctx.err(
                &item,
                format!("brings the description to {total_neurons} neurons; at most {MAX_NEURONS} are allowed"),
            ));
        }
        populations.push(population);
    }

    let lookup = |item: &Item, role: &str, name: &str| -> Result<usize, NetError> {
        index_of
            .get(name)
            .copied()
            .ok_or_else(|| ctx.err(item, format!("unknown {role} population '{name}'")))
    };

    let mut neuromodulators: Vec<crate::Neuromodulator> = Vec::new();
    for (index, raw_mod) in raw.neuromodulators.into_iter().enumerate() {
        let item = Item::Neuromodulator {
            index,
            name: raw_mod.name.clone(),
        };
        if raw_mod.name.is_empty() || neuromodulators.iter().any(|m| m.name == raw_mod.name) {
            return Err(ctx.err(&item, "needs a name of its own"));
        }
        let (population, weights) = match (&raw_mod.population, raw_mod.weight) {
            (None, None) => (None, Vec::new()),
            (None, Some(_)) => {
                return Err(ctx.err(
                    &item,
                    "gives a weight but no population whose spikes it weighs",
                ));
            }
            (Some(name), weight) => {
                let p = lookup(&item, "neuromodulating", name)?;
                if matches!(populations[p].model, Model::Input) {
                    return Err(ctx.err(
                        &item,
                        format!("'{name}' is an input population; stream the neuromodulator's values from the host instead"),
                    ));
                }
                let size = populations[p].size as usize;
                let values = match weight.unwrap_or(PerNeuron::Scalar(1)) {
                    PerNeuron::Scalar(w) => vec![w; size],
                    PerNeuron::Array(ws) if ws.len() == size => ws,
                    PerNeuron::Array(ws) => {
                        return Err(ctx.err(
                            &item,
                            format!(
                                "weight has {} values for {size} neurons of '{name}'",
                                ws.len()
                            ),
                        ));
                    }
                };
                let mut weights = Vec::with_capacity(size);
                for (i, w) in values.into_iter().enumerate() {
                    if !in_range(w, -32768, 32767) {
                        return Err(ctx.err(
                            &item,
                            format!("weight[{i}] = {w} out of range -32768..32767"),
                        ));
                    }
                    weights.push(w as i16);
                }
                (Some(p), weights)
            }
        };
        neuromodulators.push(crate::Neuromodulator {
            name: raw_mod.name,
            population,
            weights,
        });
    }

    let mut projections = Vec::with_capacity(raw.projections.len());
    let mut synapse_budget = MAX_SYNAPSES;
    for (index, raw_proj) in raw.projections.into_iter().enumerate() {
        let item = Item::Projection {
            index,
            from: raw_proj.from.clone(),
            to: raw_proj.to.clone(),
        };
        let from = lookup(&item, "source", &raw_proj.from)?;
        let to = lookup(&item, "target", &raw_proj.to)?;
        if matches!(populations[to].model, Model::Input) {
            return Err(ctx.err(
                &item,
                format!(
                    "target '{}' is an input population; projections must end on a lif population",
                    raw_proj.to
                ),
            ));
        }
        let projection = projection(
            &ctx,
            &item,
            raw_proj,
            &populations,
            &neuromodulators,
            from,
            to,
            synapse_budget,
        )?;
        synapse_budget -= projection.synapses.len() as u64;
        // Learning projections are addressed by name (weights, traces).
        if projection.learning.is_some()
            && projections
                .iter()
                .any(|p: &Projection| p.learning.is_some() && p.name == projection.name)
        {
            return Err(ctx.err(
                &item,
                format!(
                    "learns under the name '{}' of another learning projection; give it a name of its own",
                    projection.name
                ),
            ));
        }
        projections.push(projection);
    }

    let mut inputs_out = Vec::with_capacity(raw.inputs.len());
    for (index, raw_input) in raw.inputs.into_iter().enumerate() {
        let item = Item::Input {
            index,
            population: raw_input.population.clone(),
        };
        let population = lookup(&item, "input", &raw_input.population)?;
        if !matches!(populations[population].model, Model::Input) {
            return Err(ctx.err(
                &item,
                format!(
                    "'{}' is a lif population; inputs drive input populations",
                    raw_input.population
                ),
            ));
        }
        let size = populations[population].size;
        let source = input_source(&ctx, &item, raw_input, size, dt_ms)?;
        inputs_out.push(Input { population, source });
    }

    let mut probes: Vec<Probe> = Vec::new();
    for (index, raw_probe) in raw.probes.into_iter().enumerate() {
        let item = Item::Probe {
            index,
            population: raw_probe.population.clone(),
        };
        let population = lookup(&item, "probed", &raw_probe.population)?;
        let is_input = matches!(populations[population].model, Model::Input);
        if raw_probe.vars.is_empty() {
            return Err(ctx.err(&item, "vars is empty (expected some of spikes, u, v)"));
        }
        let mut probe = Probe {
            population,
            spikes: false,
            u: false,
            v: false,
        };
        for var in &raw_probe.vars {
            match var.as_str() {
                "spikes" => probe.spikes = true,
                "u" | "v" if is_input => {
                    return Err(ctx.err(
                        &item,
                        format!("input populations have no {var}; only spikes can be probed"),
                    ));
                }
                "u" => probe.u = true,
                "v" => probe.v = true,
                other => {
                    return Err(ctx.err(
                        &item,
                        format!("unknown variable '{other}' (expected spikes, u or v)"),
                    ));
                }
            }
        }
        match probes.iter_mut().find(|p| p.population == population) {
            Some(existing) => {
                existing.spikes |= probe.spikes;
                existing.u |= probe.u;
                existing.v |= probe.v;
            }
            None => probes.push(probe),
        }
    }

    Ok(Network {
        name: raw.name.unwrap_or_else(|| default_name.to_string()),
        steps,
        dt_ms,
        populations,
        projections,
        inputs: inputs_out,
        probes,
        neuromodulators,
    })
}

fn population(
    ctx: &Ctx<'_>,
    item: &Item,
    raw: RawPopulation,
    dt_ms: f64,
    dt_given: bool,
) -> Result<Population, NetError> {
    if !in_range(raw.size, 1, MAX_POPULATION_SIZE) {
        return Err(ctx.err(
            item,
            format!("size {} out of range 1..{MAX_POPULATION_SIZE}", raw.size),
        ));
    }
    let size = raw.size as u32;
    let given = |fields: &[(&'static str, bool)]| -> Vec<&'static str> {
        fields
            .iter()
            .filter(|(_, present)| *present)
            .map(|(name, _)| *name)
            .collect()
    };
    let hardware = given(&[
        ("du", raw.du.is_some()),
        ("dv", raw.dv.is_some()),
        ("vth", raw.vth.is_some()),
        ("bias_mant", raw.bias_mant.is_some()),
        ("bias_exp", raw.bias_exp.is_some()),
        ("refractory", raw.refractory.is_some()),
    ]);
    let initial = given(&[
        ("u_init", raw.u_init.is_some()),
        ("v_init", raw.v_init.is_some()),
    ]);
    let physical = given(&[
        ("tau_syn_ms", raw.tau_syn_ms.is_some()),
        ("tau_mem_ms", raw.tau_mem_ms.is_some()),
        ("threshold", raw.threshold.is_some()),
        ("bias", raw.bias.is_some()),
        ("refractory_ms", raw.refractory_ms.is_some()),
    ]);
    let reset_given = [("reset", raw.reset.is_some())];
    let (model, physical_lif) = match raw.model.as_str() {
        "input" => {
            if let Some(field) = hardware
                .iter()
                .chain(&initial)
                .chain(&physical)
                .chain(&given(&reset_given))
                .next()
            {
                return Err(ctx.err(item, format!("{field} is not a parameter of model input")));
            }
            (Model::Input, None)
        }
        "lif" if physical.is_empty() => (Model::Lif(hardware_lif(ctx, item, &raw, size)?), None),
        "lif" => {
            if !hardware.is_empty() {
                return Err(ctx.err(
                    item,
                    format!(
                        "mixes hardware-unit fields ({}) with physical-unit fields ({}); give one or the other",
                        hardware.join(", "),
                        physical.join(", ")
                    ),
                ));
            }
            if !dt_given {
                return Err(ctx.err(
                    item,
                    format!(
                        "is in physical units ({}) but the description gives no dt_ms; give dt_ms, the duration of a step in ms",
                        physical.join(", ")
                    ),
                ));
            }
            let lif = physical_lif(ctx, item, &raw, size, dt_ms)?;
            (Model::Lif(Lif::default()), Some(lif))
        }
        other => {
            return Err(ctx.err(
                item,
                format!("unknown model '{other}' (expected input or lif)"),
            ));
        }
    };
    Ok(Population {
        name: raw.name,
        size,
        model,
        physical: physical_lif,
    })
}

/// One value per neuron from a parameter written once or per neuron, and
/// whether it was written once; `None` when it is absent.
fn per_neuron<T: Copy>(
    ctx: &Ctx<'_>,
    item: &Item,
    size: u32,
    name: &str,
    value: &Option<PerNeuron<T>>,
) -> Result<Option<(Vec<T>, bool)>, NetError> {
    match value {
        None => Ok(None),
        Some(PerNeuron::Scalar(v)) => Ok(Some((vec![*v; size as usize], true))),
        Some(PerNeuron::Array(values)) => {
            if values.len() != size as usize {
                return Err(ctx.err(
                    item,
                    format!("{name} has {} values for {size} neurons", values.len()),
                ));
            }
            Ok(Some((values.clone(), false)))
        }
    }
}

/// How an error names value `i` of a parameter: without an index when the
/// value was written once for the whole population.
fn at(scalar: bool, i: usize) -> String {
    if scalar {
        String::new()
    } else {
        format!("[{i}]")
    }
}

/// The reset of a `lif` population: `"zero"` (the default) or `"subtract"`.
fn reset(ctx: &Ctx<'_>, item: &Item, raw: &RawPopulation) -> Result<Reset, NetError> {
    match raw.reset.as_deref() {
        None | Some("zero") => Ok(Reset::Zero),
        Some("subtract") => Ok(Reset::Subtract),
        Some(other) => Err(ctx.err(
            item,
            format!("unknown reset '{other}' (expected zero or subtract)"),
        )),
    }
}

/// The parameters of a `lif` population in hardware units.
fn hardware_lif(
    ctx: &Ctx<'_>,
    item: &Item,
    raw: &RawPopulation,
    size: u32,
) -> Result<Lif, NetError> {
    let param = |name: &str,
                 value: &Option<PerNeuron>,
                 default: Option<i64>,
                 lo: i64,
                 hi: i64,
                 range: &str|
     -> Result<Vec<i64>, NetError> {
        let (values, scalar) = match (per_neuron(ctx, item, size, name, value)?, default) {
            (Some(given), _) => given,
            (None, Some(d)) => (vec![d; size as usize], true),
            (None, None) => {
                return Err(ctx.err(item, format!("missing {name} (required for model lif)")));
            }
        };
        if let Some((i, v)) = values
            .iter()
            .enumerate()
            .find(|(_, v)| !in_range(**v, lo, hi))
        {
            let at = at(scalar, i);
            return Err(ctx.err(item, format!("{name}{at} {v} out of range {range}")));
        }
        Ok(values)
    };
    // The initial state may be written as floats (it is shared with physical
    // units); in hardware units it must be whole.
    let initial = |name: &str,
                   value: &Option<PerNeuron<Num>>,
                   lo: i64,
                   hi: i64,
                   range: &str|
     -> Result<Vec<i64>, NetError> {
        let Some((values, scalar)) = per_neuron(ctx, item, size, name, value)? else {
            return Ok(vec![0; size as usize]);
        };
        values
            .iter()
            .enumerate()
            .map(|(i, v)| match v.whole() {
                Some(w) if in_range(w, lo, hi) => Ok(w),
                Some(_) => Err(ctx.err(
                    item,
                    format!("{name}{} {v} out of range {range}", at(scalar, i)),
                )),
                None => Err(ctx.err(
                    item,
                    format!(
                        "{name}{} {v} is not a whole number (the population is in hardware units)",
                        at(scalar, i)
                    ),
                )),
            })
            .collect()
    };
    let du = param("du", &raw.du, None, 0, 4095, "0..4095")?;
    let dv = param("dv", &raw.dv, None, 0, 4095, "0..4095")?;
    let vth = param("vth", &raw.vth, None, 0, 131_071, "0..131071")?;
    let bias_mant = param(
        "bias_mant",
        &raw.bias_mant,
        Some(0),
        -4096,
        4095,
        "-4096..4095",
    )?;
    let bias_exp = param("bias_exp", &raw.bias_exp, Some(0), 0, 7, "0..7")?;
    let refractory = param(
        "refractory",
        &raw.refractory,
        Some(0),
        0,
        MAX_REFRACTORY,
        "0..63",
    )?;
    let u_init = initial(
        "u_init",
        &raw.u_init,
        -(1 << 23) + 1,
        1 << 23,
        "-8388607..8388608",
    )?;
    let v_init = initial(
        "v_init",
        &raw.v_init,
        -(1 << 23) + 1,
        (1 << 23) - 1,
        "-8388607..8388607",
    )?;
    let reset = reset(ctx, item, raw)?;
    // Every value was range-checked above, so the narrowing casts are exact.
    Ok(Lif {
        du: du.into_iter().map(|v| v as u16).collect(),
        dv: dv.into_iter().map(|v| v as u16).collect(),
        vth: vth.into_iter().map(|v| v as u32).collect(),
        bias_mant: bias_mant.into_iter().map(|v| v as i16).collect(),
        bias_exp: bias_exp.into_iter().map(|v| v as u8).collect(),
        refractory: refractory.into_iter().map(|v| v as u8).collect(),
        u_init: u_init.into_iter().map(|v| v as i32).collect(),
        v_init: v_init.into_iter().map(|v| v as i32).collect(),
        reset,
    })
}

/// The values a physical-unit parameter takes.
#[derive(Clone, Copy)]
enum Allowed {
    Positive,
    NonNegative,
    Finite,
}

/// The parameters of a `lif` population in physical units.
fn physical_lif(
    ctx: &Ctx<'_>,
    item: &Item,
    raw: &RawPopulation,
    size: u32,
    dt_ms: f64,
) -> Result<PhysicalLif, NetError> {
    let check = |name: &str, values: Vec<f64>, scalar: bool, allowed: Allowed| {
        let (ok, must): (fn(f64) -> bool, &str) = match allowed {
            Allowed::Positive => (|v| v.is_finite() && v > 0.0, "a positive number"),
            Allowed::NonNegative => (|v| v.is_finite() && v >= 0.0, "a non-negative number"),
            Allowed::Finite => (f64::is_finite, "a finite number"),
        };
        match values.iter().enumerate().find(|(_, v)| !ok(**v)) {
            Some((i, v)) => {
                Err(ctx.err(item, format!("{name}{} {v} must be {must}", at(scalar, i))))
            }
            None => Ok(values),
        }
    };
    let param = |name: &str,
                 value: &Option<PerNeuron<f64>>,
                 default: Option<f64>,
                 allowed: Allowed|
     -> Result<Vec<f64>, NetError> {
        let (values, scalar) = match (per_neuron(ctx, item, size, name, value)?, default) {
            (Some(given), _) => given,
            (None, Some(d)) => (vec![d; size as usize], true),
            (None, None) => {
                return Err(ctx.err(
                    item,
                    format!("missing {name} (required for a lif population in physical units)"),
                ));
            }
        };
        check(name, values, scalar, allowed)
    };
    let initial = |name: &str, value: &Option<PerNeuron<Num>>| -> Result<Vec<f64>, NetError> {
        match per_neuron(ctx, item, size, name, value)? {
            None => Ok(vec![0.0; size as usize]),
            Some((values, scalar)) => check(
                name,
                values.into_iter().map(Num::float).collect(),
                scalar,
                Allowed::Finite,
            ),
        }
    };
    let tau_syn_ms = param("tau_syn_ms", &raw.tau_syn_ms, None, Allowed::Positive)?;
    let tau_mem_ms = param("tau_mem_ms", &raw.tau_mem_ms, None, Allowed::Positive)?;
    let threshold = param("threshold", &raw.threshold, None, Allowed::Positive)?;
    let bias = param("bias", &raw.bias, Some(0.0), Allowed::Finite)?;
    let refractory_ms = param(
        "refractory_ms",
        &raw.refractory_ms,
        Some(0.0),
        Allowed::NonNegative,
    )?;
    let scalar = matches!(raw.refractory_ms, None | Some(PerNeuron::Scalar(_)));
    let mut refractory = Vec::with_capacity(size as usize);
    for (i, ms) in refractory_ms.iter().enumerate() {
        let steps = (ms / dt_ms).round();
        if steps > MAX_REFRACTORY as f64 {
            return Err(ctx.err(
                item,
                format!(
                    "refractory_ms{} {ms} is {steps} steps of dt_ms {dt_ms}; at most {MAX_REFRACTORY} steps",
                    at(scalar, i)
                ),
            ));
        }
        // 0 ≤ steps ≤ 63 here.
        refractory.push(steps as u8);
    }
    let u_init = initial("u_init", &raw.u_init)?;
    let v_init = initial("v_init", &raw.v_init)?;
    let reset = reset(ctx, item, raw)?;
    Ok(PhysicalLif {
        tau_syn_ms,
        tau_mem_ms,
        threshold,
        bias,
        refractory,
        u_init,
        v_init,
        reset,
    })
}

/// A weight as its target population takes it.
#[derive(Debug, Clone, Copy)]
enum Weight {
    /// Hardware units: an integer on the 8-bit scale.
    Int(i32),
    /// Physical units.
    Float(f64),
}

impl Weight {
    fn is_zero(self) -> bool {
        match self {
            Weight::Int(w) => w == 0,
            Weight::Float(w) => w == 0.0,
        }
    }

    /// The integer a synapse holds: the weight, or 0 when the weight is kept
    /// among the projection's float weights.
    fn int(self) -> i32 {
        match self {
            Weight::Int(w) => w,
            Weight::Float(_) => 0,
        }
    }
}

/// Checks a written weight against its target: a finite number for a
/// population in physical units, a whole number fitting 32 bits otherwise.
/// `at` places it in the projection (only formatted for an error).
fn weight(
    ctx: &Ctx<'_>,
    item: &Item,
    at: &dyn Fn() -> String,
    value: Num,
    target: &Population,
) -> Result<Weight, NetError> {
    if target.is_physical() {
        let w = value.float();
        if !w.is_finite() {
            return Err(ctx.err(
                item,
                format!("{}weight {value} must be a finite number", at()),
            ));
        }
        return Ok(Weight::Float(w));
    }
    let Some(w) = value.whole() else {
        return Err(ctx.err(
            item,
            format!(
                "{}weight {value} is not a whole number; '{}' is in hardware units, so its weights are integers on the 8-bit scale",
                at(),
                target.name
            ),
        ));
    };
    i32::try_from(w)
        .map(Weight::Int)
        .map_err(|_| ctx.err(item, format!("{}weight {value} does not fit 32 bits", at())))
}

/// A whole number written where an index or a delay belongs.
fn whole(ctx: &Ctx<'_>, item: &Item, at: &str, name: &str, value: Num) -> Result<i64, NetError> {
    value
        .whole()
        .ok_or_else(|| ctx.err(item, format!("{at}{name} {value} is not a whole number")))
}

fn delay(ctx: &Ctx<'_>, item: &Item, at: &str, value: Num) -> Result<u8, NetError> {
    match whole(ctx, item, at, "delay", value)? {
        d if in_range(d, 0, MAX_DELAY) => Ok(d as u8),
        _ => Err(ctx.err(
            item,
            format!("{at}delay {value} out of range 0..{MAX_DELAY}"),
        )),
    }
}

/// Dense weights as read: inline numbers, or a `.npy` matrix read as integers
/// (hardware units) or floats (physical units).
enum DenseRows {
    Inline(Vec<Vec<Num>>),
    Ints(Vec<Vec<i64>>),
    Floats(Vec<Vec<f64>>),
}

impl DenseRows {
    fn len(&self) -> usize {
        match self {
            DenseRows::Inline(rows) => rows.len(),
            DenseRows::Ints(rows) => rows.len(),
            DenseRows::Floats(rows) => rows.len(),
        }
    }

    fn row_len(&self, row: usize) -> usize {
        match self {
            DenseRows::Inline(rows) => rows[row].len(),
            DenseRows::Ints(rows) => rows[row].len(),
            DenseRows::Floats(rows) => rows[row].len(),
        }
    }

    fn get(&self, row: usize, col: usize) -> Num {
        match self {
            DenseRows::Inline(rows) => rows[row][col],
            DenseRows::Ints(rows) => Num::Int(rows[row][col]),
            DenseRows::Floats(rows) => Num::Float(rows[row][col]),
        }
    }
}

/// The synapses of a projection as they are validated, with the float
/// weights of a projection onto a physical-unit population.
#[derive(Default)]
struct Collected {
    synapses: Vec<Synapse>,
    floats: Vec<f64>,
    /// Set when every synapse has the same float weight (kept once).
    uniform: Option<f64>,
}

impl Collected {
    fn push(&mut self, pre: u32, post: u32, weight: Weight, delay: u8) {
        if let (Weight::Float(w), None) = (weight, self.uniform) {
            self.floats.push(w);
        }
        self.synapses.push(Synapse {
            pre,
            post,
            weight: weight.int(),
            delay,
        });
    }

    /// Every synapse pushed from now on has `weight`.
    fn set_uniform(&mut self, weight: Weight) {
        if let Weight::Float(w) = weight {
            self.uniform = Some(w);
        }
    }

    fn float_weights(self, physical: bool) -> (Vec<Synapse>, Option<FloatWeights>) {
        let floats = match (physical, self.uniform) {
            (false, _) => None,
            (true, Some(w)) => Some(FloatWeights::Uniform(w)),
            (true, None) => Some(FloatWeights::PerSynapse(self.floats)),
        };
        (self.synapses, floats)
    }
}

#[allow(clippy::too_many_arguments)]
fn projection(
    ctx: &Ctx<'_>,
    item: &Item,
    mut raw: RawProjection,
    populations: &[Population],
    neuromodulators: &[crate::Neuromodulator],
    from: usize,
    to: usize,
    synapse_budget: u64,
) -> Result<Projection, NetError> {
    let n_from = populations[from].size;
    let n_to = populations[to].size;
    let target = &populations[to];
    let physical = target.is_physical();
    let learning = match raw.learning.take() {
        None => None,
        Some(_) if physical => {
            return Err(ctx.err(
                item,
                format!(
                    "learns, but '{}' is in physical units: learning projections take integer weights onto a population in hardware units",
                    target.name
                ),
            ));
        }
        Some(l) => Some(
            crate::learning::learning(l, |name| {
                neuromodulators.iter().position(|m| m.name == name)
            })
            .map_err(|refusal| match refusal {
                crate::learning::Refusal::Reason(reason) => {
                    ctx.err(item, format!("learning: {reason}"))
                }
                crate::learning::Refusal::Engine(error) => NetError {
                    file: ctx.file.to_string(),
                    kind: ErrorKind::Learning {
                        item: item.clone(),
                        error: Box::new(error),
                    },
                },
            })?,
        ),
    };
    let weight_exp = match raw.weight_exp {
        Some(_) if physical => {
            return Err(ctx.err(
                item,
                format!(
                    "gives weight_exp, but '{}' is in physical units: the compiler chooses the exponent of its float weights; remove weight_exp",
                    target.name
                ),
            ));
        }
        None => 0,
        Some(e) if in_range(e, -8, 7) => e as i8,
        Some(e) => return Err(ctx.err(item, format!("weight_exp {e} out of range -8..7"))),
    };
    let num_weight_bits = match raw.num_weight_bits {
        None => 8,
        Some(b) if in_range(b, 1, 8) => b as u8,
        Some(b) => return Err(ctx.err(item, format!("num_weight_bits {b} out of range 1..8"))),
    };
    let sign_mode = match raw.sign_mode.as_deref() {
        None => None,
        Some("mixed") => Some(SignMode::Mixed),
        Some("excitatory") => Some(SignMode::Excitatory),
        Some("inhibitory") => Some(SignMode::Inhibitory),
        Some(other) => {
            return Err(ctx.err(
                item,
                format!("unknown sign_mode '{other}' (expected mixed, excitatory or inhibitory)"),
            ));
        }
    };
    let default_delay = match raw.delay {
        None => 0,
        Some(d) => delay(ctx, item, "", Num::Int(d))?,
    };

    let given: Vec<&str> = [
        ("dense", raw.dense.is_some()),
        ("sparse", raw.sparse.is_some()),
        ("one_to_one", raw.one_to_one.is_some()),
        ("fixed_probability", raw.fixed_probability.is_some()),
    ]
    .iter()
    .filter(|(_, present)| *present)
    .map(|(name, _)| *name)
    .collect();
    if given.len() != 1 {
        let reason = if given.is_empty() {
            "needs a connectivity: one of dense, sparse, one_to_one, fixed_probability".to_string()
        } else {
            format!("has {}; give exactly one connectivity", given.join(" and "))
        };
        return Err(ctx.err(item, reason));
    }

    let from_name = &populations[from].name;
    let to_name = &target.name;
    let mut collected = Collected::default();
    let kind = if raw.dense.is_some() {
        crate::ConnectivityKind::Dense
    } else {
        crate::ConnectivityKind::Sparse
    };
    if let Some(dense) = raw.dense {
        let (rows, label) = match dense {
            DenseSource::Inline(rows) => (DenseRows::Inline(rows), "dense".to_string()),
            DenseSource::File(path) => {
                let resolved = ctx.resolve(item, &path)?;
                let bad = |reason| ctx.err(item, reason);
                let rows = if physical {
                    DenseRows::Floats(npy::read_float_matrix(&resolved).map_err(bad)?)
                } else {
                    DenseRows::Ints(npy::read_matrix(&resolved).map_err(bad)?)
                };
                (rows, path)
            }
        };
        if rows.len() != n_to as usize {
            return Err(ctx.err(
                item,
                format!(
                    "{label} has {} row{}, expected {n_to} (one per neuron of '{to_name}'; weights are [to][from])",
                    rows.len(),
                    if rows.len() == 1 { "" } else { "s" }
                ),
            ));
        }
        for post in 0..rows.len() {
            if rows.row_len(post) != n_from as usize {
                return Err(ctx.err(
                    item,
                    format!(
                        "{label} row {post} has {} columns, expected {n_from} (one per neuron of '{from_name}')",
                        rows.row_len(post)
                    ),
                ));
            }
            for pre in 0..n_from as usize {
                let at = || format!("{label}[{post}][{pre}]: ");
                let w = weight(ctx, item, &at, rows.get(post, pre), target)?;
                // A zero entry of a dense matrix is the absence of a synapse,
                // unless it learns.
                if !w.is_zero() || learning.is_some() {
                    collected.push(pre as u32, post as u32, w, default_delay);
                }
            }
        }
    } else if let Some(entries) = raw.sparse {
        let mut seen = HashMap::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let at = format!("sparse entry {i}: ");
            let (pre, post, w, d) = match entry.as_slice() {
                [pre, post, w] => (*pre, *post, *w, None),
                [pre, post, w, d] => (*pre, *post, *w, Some(*d)),
                other => {
                    return Err(ctx.err(
                        item,
                        format!(
                            "sparse entry {i} has {} numbers, expected [pre, post, weight] or [pre, post, weight, delay]",
                            other.len()
                        ),
                    ));
                }
            };
            let pre_index = whole(ctx, item, &at, "pre", pre)?;
            if !in_range(pre_index, 0, i64::from(n_from) - 1) {
                return Err(ctx.err(
                    item,
                    format!(
                        "{at}pre {pre} out of range 0..{} ('{from_name}' has {n_from} neurons)",
                        n_from - 1
                    ),
                ));
            }
            let post_index = whole(ctx, item, &at, "post", post)?;
            if !in_range(post_index, 0, i64::from(n_to) - 1) {
                return Err(ctx.err(
                    item,
                    format!(
                        "{at}post {post} out of range 0..{} ('{to_name}' has {n_to} neurons)",
                        n_to - 1
                    ),
                ));
            }
            let w = weight(ctx, item, &|| at.clone(), w, target)?;
            let d = match d {
                Some(d) => delay(ctx, item, &at, d)?,
                None => default_delay,
            };
            if let Some(first) = seen.insert((pre_index, post_index), i) {
                return Err(ctx.err(
                    item,
                    format!(
                        "{at}repeats the synapse pre {pre_index} -> post {post_index} of entry {first}"
                    ),
                ));
            }
            collected.push(pre_index as u32, post_index as u32, w, d);
        }
    } else if let Some(one) = raw.one_to_one {
        if n_from != n_to {
            return Err(ctx.err(
                item,
                format!("one_to_one needs equal sizes, '{from_name}' has {n_from} and '{to_name}' has {n_to}"),
            ));
        }
        match one.weight {
            // A single weight written once is named without an index, like a lif scalar.
            PerNeuron::Scalar(w) => {
                let w = weight(ctx, item, &|| "one_to_one ".to_string(), w, target)?;
                collected.set_uniform(w);
                for i in 0..n_to {
                    collected.push(i, i, w, default_delay);
                }
            }
            PerNeuron::Array(ws) => {
                if ws.len() != n_to as usize {
                    return Err(ctx.err(
                        item,
                        format!(
                            "one_to_one weight has {} values for {n_to} neurons",
                            ws.len()
                        ),
                    ));
                }
                for (i, w) in ws.into_iter().enumerate() {
                    let w = weight(ctx, item, &|| format!("one_to_one[{i}]: "), w, target)?;
                    collected.push(i as u32, i as u32, w, default_delay);
                }
            }
        }
    } else if let Some(fp) = raw.fixed_probability {
        if !(0.0..=1.0).contains(&fp.p) {
            return Err(ctx.err(
                item,
                format!("fixed_probability p {} out of range 0..1", fp.p),
            ));
        }
        let w = weight(
            ctx,
            item,
            &|| "fixed_probability ".to_string(),
            fp.weight,
            target,
        )?;
        collected.set_uniform(w);
        let expected = f64::from(n_from) * f64::from(n_to) * fp.p;
        if expected > synapse_budget as f64 {
            return Err(too_many_synapses(ctx, item, expected as u64));
        }
        // Room for the expected count plus five standard deviations, so that
        // large expansions do not reallocate.
        let spread = 5.0 * (expected * (1.0 - fp.p)).sqrt();
        collected
            .synapses
            .reserve(((expected + spread) as u64).min(synapse_budget) as usize);
        for (pre, post) in expand::fixed_probability(n_from, n_to, fp.p, fp.seed) {
            if collected.synapses.len() as u64 == synapse_budget {
                return Err(too_many_synapses(ctx, item, expected as u64));
            }
            collected.push(pre, post, w, default_delay);
        }
    }
    if collected.synapses.len() as u64 > synapse_budget {
        return Err(too_many_synapses(
            ctx,
            item,
            collected.synapses.len() as u64,
        ));
    }
    let (synapses, float_weights) = collected.float_weights(physical);
    if learning.is_some() {
        check_learning_synapses(ctx, item, &synapses, sign_mode)?;
    }

    Ok(Projection {
        name: raw
            .name
            .unwrap_or_else(|| format!("{}->{}", populations[from].name, to_name)),
        from,
        to,
        synapses,
        float_weights,
        weight_exp,
        num_weight_bits,
        sign_mode,
        kind,
        learning,
    })
}

/// A learning projection's weights are held at full resolution in the range
/// a learned weight takes (Lava's learning `Dense` would use a weight beyond
/// it until the first update clips it; Neurite refuses it instead), and its
/// synapses have no delay (Lava's learning `Dense` has none).
fn check_learning_synapses(
    ctx: &Ctx<'_>,
    item: &Item,
    synapses: &[Synapse],
    sign_mode: Option<SignMode>,
) -> Result<(), NetError> {
    let (lo, hi) = match sign_mode.unwrap_or(SignMode::Mixed) {
        SignMode::Mixed => (-256, 255),
        SignMode::Excitatory => (0, 255),
        SignMode::Inhibitory => (-255, 0),
    };
    for s in synapses {
        if !(lo..=hi).contains(&s.weight) {
            return Err(ctx.err(
                item,
                format!(
                    "learning: weight {} of synapse pre {} -> post {} outside {lo}..={hi}, the range of a learned weight in this sign mode",
                    s.weight, s.pre, s.post
                ),
            ));
        }
        if s.delay != 0 {
            return Err(ctx.err(
                item,
                format!(
                    "learning: synapse pre {} -> post {} has delay {}; learning synapses have no delay",
                    s.pre, s.post, s.delay
                ),
            ));
        }
    }
    Ok(())
}

fn too_many_synapses(ctx: &Ctx<'_>, item: &Item, count: u64) -> NetError {
    ctx.err(
        item,
        format!(
            "makes about {count} synapses, beyond the {MAX_SYNAPSES} a description may hold in all"
        ),
    )
}

fn input_source(
    ctx: &Ctx<'_>,
    item: &Item,
    raw: RawInput,
    size: u32,
    dt_ms: f64,
) -> Result<InputSource, NetError> {
    let given: Vec<&str> = [
        ("spikes", raw.spikes.is_some()),
        ("csv", raw.csv.is_some()),
        ("poisson", raw.poisson.is_some()),
        ("periodic", raw.periodic.is_some()),
    ]
    .iter()
    .filter(|(_, present)| *present)
    .map(|(name, _)| *name)
    .collect();
    if given.len() != 1 {
        let reason = if given.is_empty() {
            "needs a source: one of spikes, csv, poisson, periodic".to_string()
        } else {
            format!("has {}; give exactly one source", given.join(" and "))
        };
        return Err(ctx.err(item, reason));
    }
    let check_spike = |at: &str, step: i64, index: i64| -> Result<(u64, u32), NetError> {
        if step < 1 {
            return Err(ctx.err(
                item,
                format!("{at}step {step} out of range (steps are numbered from 1)"),
            ));
        }
        if !in_range(index, 0, i64::from(size) - 1) {
            return Err(ctx.err(
                item,
                format!("{at}index {index} out of range 0..{}", size - 1),
            ));
        }
        Ok((step as u64, index as u32))
    };
    if let Some(entries) = raw.spikes {
        let mut spikes = BTreeSet::new();
        for (i, entry) in entries.iter().enumerate() {
            let at = format!("spikes entry {i}: ");
            match entry.as_slice() {
                [step, index] => {
                    spikes.insert(check_spike(&at, *step, *index)?);
                }
                other => {
                    return Err(ctx.err(
                        item,
                        format!(
                            "spikes entry {i} has {} numbers, expected [step, index]",
                            other.len()
                        ),
                    ));
                }
            }
        }
        return Ok(InputSource::Spikes(spikes.into_iter().collect()));
    }
    if let Some(path) = raw.csv {
        let resolved = ctx.resolve(item, &path)?;
        let text = std::fs::read_to_string(&resolved)
            .map_err(|e| ctx.err(item, format!("cannot read {path}: {e}")))?;
        let pairs = inputs::parse_csv(&text)
            .map_err(|(line, reason)| ctx.err(item, format!("{path} line {line}: {reason}")))?;
        let mut spikes = BTreeSet::new();
        for (line, step, index) in pairs {
            spikes.insert(check_spike(&format!("{path} line {line}: "), step, index)?);
        }
        return Ok(InputSource::Spikes(spikes.into_iter().collect()));
    }
    if let Some(poisson) = raw.poisson {
        let rate = poisson.rate_hz;
        if !rate.is_finite() || rate < 0.0 {
            return Err(ctx.err(
                item,
                format!("poisson rate_hz {rate} must be a non-negative number"),
            ));
        }
        let probability = rate * dt_ms / 1000.0;
        if probability > 1.0 {
            return Err(ctx.err(
                item,
                format!(
                    "poisson rate_hz {rate} at dt_ms {dt_ms} gives {probability} spikes per step; at most 1 is possible"
                ),
            ));
        }
        return Ok(InputSource::Poisson {
            probability,
            seed: poisson.seed,
        });
    }
    if let Some(periodic) = raw.periodic {
        if periodic.period < 1 {
            return Err(ctx.err(
                item,
                format!("periodic period {} must be at least 1", periodic.period),
            ));
        }
        if !in_range(periodic.phase, 0, periodic.period - 1) {
            return Err(ctx.err(
                item,
                format!(
                    "periodic phase {} out of range 0..{}",
                    periodic.phase,
                    periodic.period - 1
                ),
            ));
        }
        return Ok(InputSource::Periodic {
            period: periodic.period as u64,
            phase: periodic.phase as u64,
        });
    }
    Err(ctx.err(item, "needs a source"))
}
