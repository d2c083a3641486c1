//! From the description as written to a [`Network`]: resolve names, check every
//! value against its range, expand per-neuron parameters and connectivity.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use crate::error::{ErrorKind, Item, NetError};
use crate::raw::{DenseSource, PerNeuron, RawInput, RawNetwork, RawPopulation, RawProjection};
use crate::{
    Input, InputSource, Lif, Model, Network, Population, Probe, Projection, SignMode, Synapse,
    expand, inputs, npy,
};

/// Largest population the description accepts.
pub(crate) const MAX_POPULATION_SIZE: i64 = 1 << 24;
/// Most neurons (input and lif) in one description.
pub(crate) const MAX_NEURONS: u64 = 1 << 26;
/// Most synapses in one description (each takes 16 bytes once expanded).
pub(crate) const MAX_SYNAPSES: u64 = 1 << 28;
/// Largest synaptic delay.
pub(crate) const MAX_DELAY: i64 = 62;

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
        let population = population(&ctx, &item, raw_pop)?;
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
            from,
            to,
            synapse_budget,
        )?;
        synapse_budget -= projection.synapses.len() as u64;
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
    })
}

fn population(ctx: &Ctx<'_>, item: &Item, raw: RawPopulation) -> Result<Population, NetError> {
    if !in_range(raw.size, 1, MAX_POPULATION_SIZE) {
        return Err(ctx.err(
            item,
            format!("size {} out of range 1..{MAX_POPULATION_SIZE}", raw.size),
        ));
    }
    let size = raw.size as u32;
    let lif_fields = [
        ("du", &raw.du),
        ("dv", &raw.dv),
        ("vth", &raw.vth),
        ("bias_mant", &raw.bias_mant),
        ("bias_exp", &raw.bias_exp),
        ("refractory", &raw.refractory),
        ("u_init", &raw.u_init),
        ("v_init", &raw.v_init),
    ];
    let model = match raw.model.as_str() {
        "input" => {
            if let Some((field, _)) = lif_fields.iter().find(|(_, value)| value.is_some()) {
                return Err(ctx.err(item, format!("{field} is not a parameter of model input")));
            }
            Model::Input
        }
        "lif" => {
            let param = |name: &str,
                         value: &Option<PerNeuron>,
                         default: Option<i64>,
                         lo: i64,
                         hi: i64,
                         range: &str|
             -> Result<Vec<i64>, NetError> {
                let values = match (value, default) {
                    (Some(PerNeuron::Scalar(v)), _) => vec![*v; size as usize],
                    (Some(PerNeuron::Array(values)), _) => {
                        if values.len() != size as usize {
                            return Err(ctx.err(
                                item,
                                format!("{name} has {} values for {size} neurons", values.len()),
                            ));
                        }
                        values.clone()
                    }
                    (None, Some(d)) => vec![d; size as usize],
                    (None, None) => {
                        return Err(
                            ctx.err(item, format!("missing {name} (required for model lif)"))
                        );
                    }
                };
                let scalar = matches!(value, Some(PerNeuron::Scalar(_)));
                if let Some((i, v)) = values
                    .iter()
                    .enumerate()
                    .find(|(_, v)| !in_range(**v, lo, hi))
                {
                    let at = if scalar {
                        String::new()
                    } else {
                        format!("[{i}]")
                    };
                    return Err(ctx.err(item, format!("{name}{at} {v} out of range {range}")));
                }
                Ok(values)
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
            let refractory = param("refractory", &raw.refractory, Some(0), 0, 63, "0..63")?;
            let u_init = param(
                "u_init",
                &raw.u_init,
                Some(0),
                -(1 << 23) + 1,
                1 << 23,
                "-8388607..8388608",
            )?;
            let v_init = param(
                "v_init",
                &raw.v_init,
                Some(0),
                -(1 << 23) + 1,
                (1 << 23) - 1,
                "-8388607..8388607",
            )?;
            // Every value was range-checked above, so the narrowing casts are exact.
            Model::Lif(Lif {
                du: du.into_iter().map(|v| v as u16).collect(),
                dv: dv.into_iter().map(|v| v as u16).collect(),
                vth: vth.into_iter().map(|v| v as u32).collect(),
                bias_mant: bias_mant.into_iter().map(|v| v as i16).collect(),
                bias_exp: bias_exp.into_iter().map(|v| v as u8).collect(),
                refractory: refractory.into_iter().map(|v| v as u8).collect(),
                u_init: u_init.into_iter().map(|v| v as i32).collect(),
                v_init: v_init.into_iter().map(|v| v as i32).collect(),
            })
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
    })
}

fn weight(ctx: &Ctx<'_>, item: &Item, at: &str, value: i64) -> Result<i32, NetError> {
    i32::try_from(value)
        .map_err(|_| ctx.err(item, format!("{at}weight {value} does not fit 32 bits")))
}

fn delay(ctx: &Ctx<'_>, item: &Item, at: &str, value: i64) -> Result<u8, NetError> {
    if in_range(value, 0, MAX_DELAY) {
        Ok(value as u8)
    } else {
        Err(ctx.err(
            item,
            format!("{at}delay {value} out of range 0..{MAX_DELAY}"),
        ))
    }
}

fn projection(
    ctx: &Ctx<'_>,
    item: &Item,
    raw: RawProjection,
    populations: &[Population],
    from: usize,
    to: usize,
    synapse_budget: u64,
) -> Result<Projection, NetError> {
    let n_from = populations[from].size;
    let n_to = populations[to].size;
    let weight_exp = match raw.weight_exp {
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
        Some(d) => delay(ctx, item, "", d)?,
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
    let to_name = &populations[to].name;
    let mut synapses = Vec::new();
    if let Some(dense) = raw.dense {
        let (rows, label) = match dense {
            DenseSource::Inline(rows) => (rows, "dense".to_string()),
            DenseSource::File(path) => {
                let resolved = ctx.resolve(item, &path)?;
                let rows = npy::read_matrix(&resolved).map_err(|reason| ctx.err(item, reason))?;
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
        for (post, row) in rows.iter().enumerate() {
            if row.len() != n_from as usize {
                return Err(ctx.err(
                    item,
                    format!(
                        "{label} row {post} has {} columns, expected {n_from} (one per neuron of '{from_name}')",
                        row.len()
                    ),
                ));
            }
            for (pre, &w) in row.iter().enumerate() {
                let w = weight(ctx, item, &format!("{label}[{post}][{pre}]: "), w)?;
                // A zero entry of a dense matrix is the absence of a synapse.
                if w != 0 {
                    synapses.push(Synapse {
                        pre: pre as u32,
                        post: post as u32,
                        weight: w,
                        delay: default_delay,
                    });
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
            if !in_range(pre, 0, i64::from(n_from) - 1) {
                return Err(ctx.err(
                    item,
                    format!(
                        "{at}pre {pre} out of range 0..{} ('{from_name}' has {n_from} neurons)",
                        n_from - 1
                    ),
                ));
            }
            if !in_range(post, 0, i64::from(n_to) - 1) {
                return Err(ctx.err(
                    item,
                    format!(
                        "{at}post {post} out of range 0..{} ('{to_name}' has {n_to} neurons)",
                        n_to - 1
                    ),
                ));
            }
            let w = weight(ctx, item, &at, w)?;
            let d = match d {
                Some(d) => delay(ctx, item, &at, d)?,
                None => default_delay,
            };
            if let Some(first) = seen.insert((pre, post), i) {
                return Err(ctx.err(
                    item,
                    format!("{at}repeats the synapse pre {pre} -> post {post} of entry {first}"),
                ));
            }
            synapses.push(Synapse {
                pre: pre as u32,
                post: post as u32,
                weight: w,
                delay: d,
            });
        }
    } else if let Some(one) = raw.one_to_one {
        if n_from != n_to {
            return Err(ctx.err(
                item,
                format!("one_to_one needs equal sizes, '{from_name}' has {n_from} and '{to_name}' has {n_to}"),
            ));
        }
        // A single weight written once is named without an index, like a lif scalar.
        let scalar = matches!(one.weight, PerNeuron::Scalar(_));
        let weights = match one.weight {
            PerNeuron::Scalar(w) => vec![w; n_to as usize],
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
                ws
            }
        };
        for (i, w) in weights.into_iter().enumerate() {
            let at = if scalar {
                "one_to_one ".to_string()
            } else {
                format!("one_to_one[{i}]: ")
            };
            let w = weight(ctx, item, &at, w)?;
            synapses.push(Synapse {
                pre: i as u32,
                post: i as u32,
                weight: w,
                delay: default_delay,
            });
        }
    } else if let Some(fp) = raw.fixed_probability {
        if !(0.0..=1.0).contains(&fp.p) {
            return Err(ctx.err(
                item,
                format!("fixed_probability p {} out of range 0..1", fp.p),
            ));
        }
        let w = weight(ctx, item, "fixed_probability ", fp.weight)?;
        let expected = f64::from(n_from) * f64::from(n_to) * fp.p;
        if expected > synapse_budget as f64 {
            return Err(too_many_synapses(ctx, item, expected as u64));
        }
        for (pre, post) in expand::fixed_probability(n_from, n_to, fp.p, fp.seed) {
            if synapses.len() as u64 == synapse_budget {
                return Err(too_many_synapses(ctx, item, expected as u64));
            }
            synapses.push(Synapse {
                pre,
                post,
                weight: w,
                delay: default_delay,
            });
        }
    }
    if synapses.len() as u64 > synapse_budget {
        return Err(too_many_synapses(ctx, item, synapses.len() as u64));
    }

    Ok(Projection {
        name: raw
            .name
            .unwrap_or_else(|| format!("{}->{}", populations[from].name, populations[to].name)),
        from,
        to,
        synapses,
        weight_exp,
        num_weight_bits,
        sign_mode,
    })
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
