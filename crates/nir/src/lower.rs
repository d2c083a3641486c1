//! Lowering a [`Graph`] to a network description in physical units, then to
//! hardware units with the compiler's rules.
//!
//! Neuron nodes become populations; the linear nodes between them (Affine,
//! Linear, Scale, Delay, Flatten, Conv1d, Conv2d, SumPool2d, AvgPool2d and
//! the pass-through nodes of nested graphs) are composed into one weight and
//! one delay per (source neuron, target neuron), because the chip carries
//! only spikes from neuron to neuron. See the crate documentation for the
//! equations.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use neurite_net::{
    ConnectivityKind, FloatWeights, Lif, Model, Network, PhysicalLif, Population, Probe,
    Projection, Reset, Synapse,
};

use crate::read::{Array, Graph, IDENTITY, Node, Param};
use crate::{Imported, NirError, Options, PopulationInfo, Role};

/// Largest synaptic delay the chip offers; longer ones go through relays.
const MAX_DELAY: u32 = 62;

/// Largest number of neurons one node may lower to.
const MAX_NODE_SIZE: usize = 1 << 24;

/// Longest delay, in steps: 1024 relays of 63 steps each.
const MAX_DELAY_STEPS: f64 = 1024.0 * 63.0;

/// Steps of the largest drive an integrator without leak (I) is scaled
/// for when it only reads out (its v saturates beyond).
const INTEGRATOR_STEPS: f64 = 1000.0;

/// Every primitive the lowering knows.
const SUPPORTED: &[&str] = &[
    "Input",
    "Output",
    IDENTITY,
    "Affine",
    "Linear",
    "Scale",
    "LIF",
    "CubaLIF",
    "IF",
    "LI",
    "CubaLI",
    "I",
    "Threshold",
    "Delay",
    "Flatten",
    "Conv1d",
    "Conv2d",
    "SumPool2d",
    "AvgPool2d",
];

/// One input of a neuron: a source neuron (its population), its index, the
/// delay in steps beyond the chip's one step, and the weight.
#[derive(Debug, Clone, Copy)]
struct Term {
    source: usize,
    index: u32,
    delay: u32,
    weight: f64,
}

/// A value of the graph at one element: a weighted sum of source spikes plus
/// a constant.
#[derive(Debug, Clone, Default)]
struct Expr {
    terms: Vec<Term>,
    bias: f64,
}

impl Expr {
    fn unit(source: usize, index: u32) -> Self {
        Expr {
            terms: vec![Term {
                source,
                index,
                delay: 0,
                weight: 1.0,
            }],
            bias: 0.0,
        }
    }

    fn add_scaled(&mut self, other: &Expr, factor: f64) {
        if factor == 0.0 {
            return;
        }
        self.terms.extend(other.terms.iter().map(|t| Term {
            weight: t.weight * factor,
            ..*t
        }));
        self.bias += other.bias * factor;
    }

    /// Merges terms with the same source, index and delay; drops zeros.
    fn normalize(&mut self) {
        self.terms.sort_by_key(|t| (t.source, t.index, t.delay));
        let mut merged: Vec<Term> = Vec::with_capacity(self.terms.len());
        for t in self.terms.drain(..) {
            match merged.last_mut() {
                Some(last)
                    if (last.source, last.index, last.delay) == (t.source, t.index, t.delay) =>
                {
                    last.weight += t.weight;
                }
                _ => merged.push(t),
            }
        }
        merged.retain(|t| t.weight != 0.0);
        self.terms = merged;
    }
}

type Signal = Rc<Vec<Expr>>;

/// What a neuron node becomes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Spiking {
    /// Spikes with its own threshold (LIF, CubaLIF, IF).
    Own,
    /// Spikes with the threshold of the Threshold node that follows it.
    Fused(usize),
    /// Never spikes: its voltage is read out.
    Readout,
}

struct Lowering<'g> {
    graph: &'g Graph,
    options: &'g Options,
    dt_s: f64,
    preds: Vec<Vec<usize>>,
    succs: Vec<Vec<usize>>,
    shapes: Vec<Option<Vec<usize>>>,
    shape_visiting: Vec<bool>,
    /// Population of each spiking node (Input, neurons, fused Threshold).
    population_of: HashMap<usize, usize>,
    signals: HashMap<usize, Signal>,
    signal_visiting: Vec<bool>,
}

/// The graph as a description in physical units (relays in hardware
/// units), before the compiler's lowering.
pub(crate) struct Physical {
    pub(crate) network: Network,
    pub(crate) populations: Vec<PopulationInfo>,
    pub(crate) readouts: Vec<usize>,
}

pub(crate) fn lower(graph: &Graph, name: &str, options: &Options) -> Result<Imported, NirError> {
    let Physical {
        network,
        populations,
        readouts,
    } = physical(graph, name, options)?;
    let (mut network, quantization) =
        neurite_compiler::physical::lower_owned(network).map_err(NirError::Lowering)?;
    // A readout's threshold only set its scale; it must never spike.
    for &p in &readouts {
        if let Model::Lif(lif) = &mut network.populations[p].model {
            lif.vth.iter_mut().for_each(|v| *v = 131_071);
        }
    }
    let inputs: Vec<usize> = populations
        .iter()
        .filter(|x| x.role == Role::Input)
        .map(|x| x.population)
        .collect();
    Ok(Imported {
        network,
        quantization,
        populations,
        input: match inputs.as_slice() {
            [one] => Some(*one),
            _ => None,
        },
        dt_ms: options.dt_ms,
    })
}

pub(crate) fn physical(graph: &Graph, name: &str, options: &Options) -> Result<Physical, NirError> {
    if !(options.dt_ms.is_finite() && options.dt_ms > 0.0) {
        return Err(NirError::Dt(format!(
            "dt {} ms is not a positive number",
            options.dt_ms
        )));
    }
    for node in &graph.nodes {
        if !SUPPORTED.contains(&node.kind.as_str()) {
            return Err(NirError::Unsupported {
                node: node.name.clone(),
                kind: node.kind.clone(),
                what: format!("the primitive {} has no lowering to the chip", node.kind),
            });
        }
    }
    let n = graph.nodes.len();
    let mut lowering = Lowering {
        graph,
        options,
        dt_s: options.dt_ms / 1000.0,
        preds: (0..n).map(|i| graph.predecessors(i)).collect(),
        succs: (0..n).map(|i| graph.successors(i)).collect(),
        shapes: vec![None; n],
        shape_visiting: vec![false; n],
        population_of: HashMap::new(),
        signals: HashMap::new(),
        signal_visiting: vec![false; n],
    };
    lowering.build(name)
}

fn is_neuron(kind: &str) -> bool {
    matches!(kind, "LIF" | "CubaLIF" | "IF" | "LI" | "CubaLI" | "I")
}

impl Lowering<'_> {
    fn node(&self, i: usize) -> &Node {
        &self.graph.nodes[i]
    }

    fn spiking(&self, i: usize) -> Result<Spiking, NirError> {
        let node = self.node(i);
        match node.kind.as_str() {
            "LIF" | "CubaLIF" | "IF" => Ok(Spiking::Own),
            "LI" | "CubaLI" | "I" => match self.succs[i].as_slice() {
                [t] if self.node(*t).kind == "Threshold" => {
                    if self.preds[*t] != [i] {
                        return Err(NirError::Unsupported {
                            node: self.node(*t).name.clone(),
                            kind: "Threshold".to_string(),
                            what: "a Threshold with more than one input".to_string(),
                        });
                    }
                    Ok(Spiking::Fused(*t))
                }
                _ => Ok(Spiking::Readout),
            },
            _ => Ok(Spiking::Readout),
        }
    }

    fn build(&mut self, name: &str) -> Result<Physical, NirError> {
        let graph = self.graph;
        let mut network = Network {
            name: name.to_string(),
            steps: None,
            dt_ms: self.options.dt_ms,
            populations: Vec::new(),
            projections: Vec::new(),
            inputs: Vec::new(),
            probes: Vec::new(),
            neuromodulators: Vec::new(),
        };
        let mut infos = Vec::new();
        // Populations, in node order: top-level inputs and neurons.
        let mut neurons = Vec::new();
        for (i, node) in graph.nodes.iter().enumerate() {
            let role = match node.kind.as_str() {
                "Input" => Role::Input,
                kind if is_neuron(kind) => match self.spiking(i)? {
                    Spiking::Readout => Role::Readout,
                    _ => Role::Spiking,
                },
                "Threshold" => {
                    let fused = self.preds[i].len() == 1
                        && is_neuron(&self.node(self.preds[i][0]).kind)
                        && self.spiking(self.preds[i][0])? == Spiking::Fused(i);
                    if !fused {
                        return Err(NirError::Unsupported {
                            node: node.name.clone(),
                            kind: node.kind.clone(),
                            what: "a Threshold must follow an I, LI or CubaLI node alone: \
                                   the chip thresholds only a neuron's voltage"
                                .to_string(),
                        });
                    }
                    continue;
                }
                _ => continue,
            };
            let size = self.size(i)?;
            let p = network.populations.len();
            self.population_of.insert(i, p);
            if let Spiking::Fused(t) = self.spiking(i)? {
                self.population_of.insert(t, p);
            }
            network.populations.push(Population {
                name: node.name.clone(),
                size: size as u32,
                model: match role {
                    Role::Input => Model::Input,
                    _ => Model::Lif(Lif::default()),
                },
                physical: None,
            });
            network.probes.push(Probe {
                population: p,
                spikes: role != Role::Readout,
                u: false,
                v: role == Role::Readout,
            });
            infos.push(PopulationInfo {
                node: node.name.clone(),
                kind: node.kind.clone(),
                population: p,
                role,
                output: false,
            });
            if role != Role::Input {
                neurons.push(i);
            }
        }
        if !network
            .populations
            .iter()
            .any(|p| matches!(p.model, Model::Input))
        {
            return Err(NirError::Graph("the graph has no Input node".to_string()));
        }
        // Outputs: which populations they read.
        for (i, node) in graph.nodes.iter().enumerate() {
            if node.kind != "Output" {
                continue;
            }
            for &p in &self.preds[i] {
                let source = self.through_identities(p);
                match self.population_of.get(&source) {
                    Some(&pop) => {
                        if let Some(info) = infos.iter_mut().find(|x| x.population == pop) {
                            info.output = true;
                        }
                    }
                    None => {
                        return Err(NirError::Unsupported {
                            node: node.name.clone(),
                            kind: node.kind.clone(),
                            what: format!(
                                "an Output fed by '{}' ({}): the chip reads out only neurons",
                                self.node(source).name,
                                self.node(source).kind
                            ),
                        });
                    }
                }
            }
        }
        let mut readouts = Vec::new();
        let mut relays: HashMap<usize, Vec<usize>> = HashMap::new();
        for &i in &neurons {
            let pop = self.population_of[&i];
            let size = network.populations[pop].size as usize;
            let input = self.input_of(i, size)?;
            let (physical, scale) = self.parameters(i, size, &input)?;
            let readout = self.spiking(i)? == Spiking::Readout;
            network.populations[pop].physical = Some(physical);
            if readout {
                readouts.push(pop);
            }
            // Projections, one per source population.
            let mut by_source: BTreeMap<usize, Vec<(u32, u32, u32, f64)>> = BTreeMap::new();
            for (post, expr) in input.iter().enumerate() {
                for t in &expr.terms {
                    by_source.entry(t.source).or_default().push((
                        t.index,
                        post as u32,
                        t.delay,
                        t.weight * scale[post],
                    ));
                }
            }
            let kind = self.connectivity_kind(i);
            for (source, synapses) in by_source {
                // Delays beyond the chip's go through chains of relays.
                let mut by_depth: BTreeMap<usize, Vec<(u32, u32, u8, f64)>> = BTreeMap::new();
                for (pre, post, delay, w) in synapses {
                    if f64::from(delay) > MAX_DELAY_STEPS {
                        return Err(NirError::Graph(format!(
                            "delays into '{}' add up to {delay} steps, beyond the \
                             {MAX_DELAY_STEPS} that relays are built for",
                            network.populations[pop].name
                        )));
                    }
                    let depth = if delay > MAX_DELAY {
                        (delay - MAX_DELAY).div_ceil(MAX_DELAY + 1) as usize
                    } else {
                        0
                    };
                    let left = delay - depth as u32 * (MAX_DELAY + 1);
                    by_depth
                        .entry(depth)
                        .or_default()
                        .push((pre, post, left as u8, w));
                }
                for (depth, synapses) in by_depth {
                    let from = if depth == 0 {
                        source
                    } else {
                        relay(&mut network, &mut relays, source, depth)
                    };
                    let mut list: Vec<(Synapse, f64)> = synapses
                        .into_iter()
                        .map(|(pre, post, delay, w)| {
                            (
                                Synapse {
                                    pre,
                                    post,
                                    weight: 0,
                                    delay,
                                },
                                w,
                            )
                        })
                        .collect();
                    list.sort_by_key(|(s, _)| (s.pre, s.post, s.delay));
                    network.projections.push(Projection {
                        name: format!(
                            "{}->{}",
                            network.populations[from].name, network.populations[pop].name
                        ),
                        from,
                        to: pop,
                        float_weights: Some(FloatWeights::PerSynapse(
                            list.iter().map(|(_, w)| *w).collect(),
                        )),
                        synapses: list.into_iter().map(|(s, _)| s).collect(),
                        weight_exp: 0,
                        num_weight_bits: 8,
                        sign_mode: None,
                        kind,
                        learning: None,
                    });
                }
            }
        }
        Ok(Physical {
            network,
            populations: infos,
            readouts,
        })
    }

    /// The node an Output reads, past pass-through nodes.
    fn through_identities(&self, mut i: usize) -> usize {
        for _ in 0..self.graph.nodes.len() {
            let node = self.node(i);
            if (node.kind == IDENTITY || node.kind == "Output") && self.preds[i].len() == 1 {
                i = self.preds[i][0];
            } else {
                break;
            }
        }
        i
    }

    /// How the chip should price the synapses into neuron `i`: by the
    /// primitive right before it.
    fn connectivity_kind(&self, i: usize) -> ConnectivityKind {
        let mut kind = ConnectivityKind::Sparse;
        for &p in &self.preds[i] {
            match self.node(p).kind.as_str() {
                "Conv1d" | "Conv2d" => kind = ConnectivityKind::Convolutional,
                "Affine" | "Linear" if kind == ConnectivityKind::Sparse => {
                    kind = ConnectivityKind::Dense;
                }
                _ => {}
            }
        }
        kind
    }

    fn size(&mut self, i: usize) -> Result<usize, NirError> {
        Ok(self.shape(i)?.iter().product())
    }

    /// The output shape of node `i`, inferred from its parameters or, for
    /// shape-preserving and convolutional nodes without one, from its input.
    fn shape(&mut self, i: usize) -> Result<Vec<usize>, NirError> {
        if let Some(s) = &self.shapes[i] {
            return Ok(s.clone());
        }
        if std::mem::replace(&mut self.shape_visiting[i], true) {
            return Err(NirError::Graph(format!(
                "node '{}' lies on a loop without a neuron",
                self.node(i).name
            )));
        }
        let shape = self.infer_shape(i)?;
        let size = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .unwrap_or(usize::MAX);
        if size == 0 || size > MAX_NODE_SIZE {
            return Err(self
                .node(i)
                .bad("shape", format!("{shape:?} has {size} elements")));
        }
        self.shape_visiting[i] = false;
        self.shapes[i] = Some(shape.clone());
        Ok(shape)
    }

    /// The shape of the input of node `i`: that of its predecessors, which
    /// must agree in size.
    fn input_shape(&mut self, i: usize) -> Result<Option<Vec<usize>>, NirError> {
        let mut found: Option<Vec<usize>> = None;
        for p in self.preds[i].clone() {
            let s = self.shape(p)?;
            match &found {
                None => found = Some(s),
                Some(f) if f.iter().product::<usize>() != s.iter().product::<usize>() => {
                    return Err(NirError::Graph(format!(
                        "the inputs of '{}' differ in size: {f:?} and {s:?}",
                        self.node(i).name
                    )));
                }
                Some(_) => {}
            }
        }
        Ok(found)
    }

    fn infer_shape(&mut self, i: usize) -> Result<Vec<usize>, NirError> {
        let node = self.node(i).clone();
        let dims = |a: &Array, field: &str| -> Result<Vec<usize>, NirError> {
            a.data
                .iter()
                .map(|&d| {
                    if d.fract() == 0.0 && d >= 1.0 && d <= MAX_NODE_SIZE as f64 {
                        Ok(d as usize)
                    } else {
                        Err(node.bad(field, format!("{d} is not a dimension")))
                    }
                })
                .collect()
        };
        let param_shape = |field: &str| -> Result<Vec<usize>, NirError> {
            let a = node.array(field)?;
            Ok(if a.shape.is_empty() {
                vec![1]
            } else {
                a.shape.clone()
            })
        };
        match node.kind.as_str() {
            "Input" => {
                let field = io_shape_field(&node, "input_type/input");
                dims(node.array(field)?, field)
            }
            "Output" | IDENTITY => match self.input_shape(i)? {
                Some(s) => Ok(s),
                None => {
                    let field = io_shape_field(&node, "output_type/output");
                    dims(node.array(field)?, field)
                }
            },
            "Affine" | "Linear" => {
                let w = node.array("weight")?;
                match w.shape.as_slice() {
                    [out, _] => Ok(vec![*out]),
                    _ => Err(node.bad("weight", format!("shape {:?} is not 2-D", w.shape))),
                }
            }
            "Scale" => param_shape("scale"),
            "Delay" => param_shape("delay"),
            "Threshold" => param_shape("threshold"),
            "LIF" | "CubaLIF" | "IF" | "LI" | "CubaLI" | "I" => param_shape("r"),
            "Flatten" => {
                let input = match self.input_shape(i)? {
                    Some(s) => s,
                    None => dims(node.array("input_type")?, "input_type")?,
                };
                let rank = input.len() as i64;
                let index = |field: &str, default: i64| -> Result<usize, NirError> {
                    let v = match node.optional_array(field)? {
                        Some(a) => a.data.first().copied().unwrap_or(default as f64) as i64,
                        None => default,
                    };
                    let v = if v < 0 { v + rank } else { v };
                    if (0..rank.max(1)).contains(&v) {
                        Ok(v as usize)
                    } else {
                        Err(node.bad(field, format!("{v} is outside the {rank} dimensions")))
                    }
                };
                if input.is_empty() {
                    return Ok(vec![1]);
                }
                let (start, end) = (index("start_dim", 0)?, index("end_dim", -1)?);
                if start > end {
                    return Err(node.bad("start_dim", "is after end_dim"));
                }
                let mut out = input[..start].to_vec();
                out.push(input[start..=end].iter().product());
                out.extend_from_slice(&input[end + 1..]);
                Ok(out)
            }
            "Conv1d" | "Conv2d" | "SumPool2d" | "AvgPool2d" => {
                let geometry = self.geometry(i)?;
                Ok(geometry.output_shape())
            }
            other => Err(NirError::Unsupported {
                node: node.name.clone(),
                kind: other.to_string(),
                what: "no shape".to_string(),
            }),
        }
    }

    /// The value of node `i`'s output, element by element.
    fn signal(&mut self, i: usize) -> Result<Signal, NirError> {
        if let Some(s) = self.signals.get(&i) {
            return Ok(s.clone());
        }
        let node = self.node(i).clone();
        let readout = is_neuron(&node.kind) && self.spiking(i)? == Spiking::Readout;
        if let Some(&pop) = self.population_of.get(&i).filter(|_| !readout) {
            // A spiking node (or Input): its own spikes.
            let size = self.size(i)?;
            let s: Signal = Rc::new((0..size).map(|k| Expr::unit(pop, k as u32)).collect());
            self.signals.insert(i, s.clone());
            return Ok(s);
        }
        if is_neuron(&node.kind) {
            return Err(NirError::Unsupported {
                node: node.name.clone(),
                kind: node.kind.clone(),
                what: format!(
                    "its output is a voltage, not spikes, and feeds '{}': \
                     the chip carries only spikes between neurons",
                    self.succs[i]
                        .iter()
                        .map(|&s| self.node(s).name.clone())
                        .collect::<Vec<_>>()
                        .join("', '")
                ),
            });
        }
        if std::mem::replace(&mut self.signal_visiting[i], true) {
            return Err(NirError::Graph(format!(
                "node '{}' lies on a loop without a neuron",
                node.name
            )));
        }
        let size = self.size(i)?;
        let input = self.sum_of_inputs(i)?;
        let out = match node.kind.as_str() {
            "Output" | IDENTITY | "Flatten" => input,
            "Affine" | "Linear" => {
                let w = finite(&node, "weight")?;
                let inputs = w.shape.get(1).copied().unwrap_or(0);
                if inputs != input.len() {
                    return Err(node.bad(
                        "weight",
                        format!(
                            "has {inputs} columns but its input has {} elements",
                            input.len()
                        ),
                    ));
                }
                let bias = if node.kind == "Affine" {
                    per_element(&node, "bias", size)?
                } else {
                    vec![0.0; size]
                };
                (0..size)
                    .map(|j| {
                        let mut e = Expr {
                            terms: Vec::new(),
                            bias: bias[j],
                        };
                        for (k, x) in input.iter().enumerate() {
                            e.add_scaled(x, w.data[j * inputs + k]);
                        }
                        e.normalize();
                        e
                    })
                    .collect()
            }
            "Scale" => {
                let s = per_element(&node, "scale", size)?;
                self.same_size(&node, &input, size)?;
                input
                    .iter()
                    .zip(&s)
                    .map(|(x, &f)| {
                        let mut e = Expr::default();
                        e.add_scaled(x, f);
                        e
                    })
                    .collect()
            }
            "Delay" => {
                let d = per_element(&node, "delay", size)?;
                self.same_size(&node, &input, size)?;
                let mut out = Vec::with_capacity(size);
                for (x, &seconds) in input.iter().zip(&d) {
                    let steps = seconds / self.dt_s;
                    if !(steps.is_finite() && steps >= 0.0) {
                        return Err(node.bad("delay", format!("{seconds} s is not a delay")));
                    }
                    if steps.round() > MAX_DELAY_STEPS {
                        return Err(NirError::Unsupported {
                            node: node.name.clone(),
                            kind: node.kind.clone(),
                            what: format!(
                                "a delay of {} steps, beyond the {MAX_DELAY_STEPS} that relays \
                                 are built for",
                                steps.round()
                            ),
                        });
                    }
                    let steps = steps.round() as u32;
                    let mut e = x.clone();
                    e.terms
                        .iter_mut()
                        .for_each(|t| t.delay = t.delay.saturating_add(steps));
                    out.push(e);
                }
                out
            }
            "Conv1d" | "Conv2d" | "SumPool2d" | "AvgPool2d" => {
                let g = self.geometry(i)?;
                self.same_size(&node, &input, g.input_size())?;
                g.apply(&input)
            }
            other => {
                return Err(NirError::Unsupported {
                    node: node.name.clone(),
                    kind: other.to_string(),
                    what: "not a linear operation".to_string(),
                });
            }
        };
        if out.len() != size {
            return Err(node.bad(
                "shape",
                format!("gives {} elements where {size} were expected", out.len()),
            ));
        }
        self.signal_visiting[i] = false;
        let out: Signal = Rc::new(out);
        self.signals.insert(i, out.clone());
        Ok(out)
    }

    fn same_size(&self, node: &Node, input: &[Expr], size: usize) -> Result<(), NirError> {
        if input.len() == size {
            Ok(())
        } else {
            Err(NirError::Graph(format!(
                "'{}' ({}) takes {size} elements but its input has {}",
                node.name,
                node.kind,
                input.len()
            )))
        }
    }

    /// The sum of the signals of node `i`'s predecessors.
    fn sum_of_inputs(&mut self, i: usize) -> Result<Vec<Expr>, NirError> {
        let mut sum: Option<Vec<Expr>> = None;
        for p in self.preds[i].clone() {
            let s = self.signal(p)?;
            match &mut sum {
                None => sum = Some(s.as_ref().clone()),
                Some(acc) => {
                    if acc.len() != s.len() {
                        return Err(NirError::Graph(format!(
                            "the inputs of '{}' differ in size: {} and {}",
                            self.node(i).name,
                            acc.len(),
                            s.len()
                        )));
                    }
                    for (a, b) in acc.iter_mut().zip(s.iter()) {
                        a.add_scaled(b, 1.0);
                        a.normalize();
                    }
                }
            }
        }
        sum.ok_or_else(|| NirError::Graph(format!("node '{}' has no input", self.node(i).name)))
    }

    /// The input of neuron `i`, checked against its size.
    fn input_of(&mut self, i: usize, size: usize) -> Result<Vec<Expr>, NirError> {
        if self.preds[i].is_empty() {
            return Ok(vec![Expr::default(); size]);
        }
        let input = self.sum_of_inputs(i)?;
        let node = self.node(i).clone();
        self.same_size(&node, &input, size)?;
        Ok(input)
    }

    /// The physical parameters of neuron `i` and the factor each element's
    /// input weights take. See the crate documentation.
    fn parameters(
        &self,
        i: usize,
        size: usize,
        input: &[Expr],
    ) -> Result<(PhysicalLif, Vec<f64>), NirError> {
        let node = self.node(i);
        let dt = self.dt_s;
        let get = |field: &str| per_element(node, field, size);
        let r = get("r")?;
        let unsupported = |what: String| NirError::Unsupported {
            node: node.name.clone(),
            kind: node.kind.clone(),
            what,
        };
        // Forward Euler keeps 1 − dt/τ per step; the description's decays
        // are exponential, so give it the τ whose exponential keeps the same.
        let euler_tau_ms = |field: &str, tau: f64| -> Result<(f64, f64), NirError> {
            if !(tau.is_finite() && tau > 0.0) {
                return Err(node.bad(field, format!("{tau} is not a positive time constant")));
            }
            let a = dt / tau;
            if a >= 1.0 {
                return Err(unsupported(format!(
                    "{field} {tau} s is not longer than dt {dt} s: forward Euler at this dt \
                     would not decay (choose a smaller --dt-ms)"
                )));
            }
            Ok((a, -self.options.dt_ms / (-a).ln_1p()))
        };
        let input_bias: Vec<f64> = input.iter().map(|e| e.bias).collect();
        let leak = |field: &str| -> Result<Vec<f64>, NirError> {
            match node.optional_array(field)? {
                Some(_) => get(field),
                None => Ok(vec![0.0; size]),
            }
        };
        let (mut tau_syn_ms, mut tau_mem_ms) = (vec![0.0; size], vec![f64::INFINITY; size]);
        let mut scale = vec![0.0; size];
        let mut bias = vec![0.0; size];
        let mut keep_u = vec![0.0; size];
        let mut dv = vec![0.0; size];
        match node.kind.as_str() {
            "LIF" | "LI" => {
                let tau = get("tau")?;
                let v_leak = leak("v_leak")?;
                for k in 0..size {
                    let (a, tau_ms) = euler_tau_ms("tau", tau[k])?;
                    tau_mem_ms[k] = tau_ms;
                    dv[k] = a;
                    scale[k] = a * r[k];
                    bias[k] = a * v_leak[k] + scale[k] * input_bias[k];
                }
            }
            "IF" | "I" => {
                for k in 0..size {
                    scale[k] = dt * r[k];
                    bias[k] = scale[k] * input_bias[k];
                }
            }
            "CubaLIF" | "CubaLI" => {
                let (ts, tm) = (get("tau_syn")?, get("tau_mem")?);
                let v_leak = leak("v_leak")?;
                let w_in = match node.optional_array("w_in")? {
                    Some(_) => get("w_in")?,
                    None => vec![1.0; size],
                };
                if let Some(k) = input_bias.iter().position(|&b| b != 0.0) {
                    return Err(unsupported(format!(
                        "a bias ({}) into the synaptic current of neuron {k}: Loihi adds a \
                         bias to the voltage only",
                        input_bias[k]
                    )));
                }
                for k in 0..size {
                    let (a_s, syn_ms) = euler_tau_ms("tau_syn", ts[k])?;
                    let (a_m, mem_ms) = euler_tau_ms("tau_mem", tm[k])?;
                    tau_syn_ms[k] = syn_ms;
                    tau_mem_ms[k] = mem_ms;
                    keep_u[k] = 1.0 - a_s;
                    dv[k] = a_m;
                    scale[k] = a_m * r[k] * a_s * w_in[k];
                    bias[k] = a_m * v_leak[k];
                }
            }
            other => return Err(unsupported(format!("{other} is not a neuron"))),
        }
        let threshold = match self.spiking(i)? {
            Spiking::Own => {
                if let Some(v_reset) = node.optional_array("v_reset")?
                    && let Some(v) = v_reset.data.iter().find(|&&v| v != 0.0)
                {
                    return Err(unsupported(format!(
                        "v_reset {v}: the chip resets v to 0 or subtracts the threshold"
                    )));
                }
                get("v_threshold")?
            }
            Spiking::Fused(t) => per_element(self.node(t), "threshold", size)?,
            Spiking::Readout => {
                // Twice the largest |v| the drive can reach, so that v keeps
                // clear of saturation; the threshold itself is then raised
                // out of reach.
                (0..size)
                    .map(|k| {
                        let drive: f64 = input[k]
                            .terms
                            .iter()
                            .map(|t| (t.weight * scale[k]).abs())
                            .sum();
                        let u_max = drive / (1.0 - keep_u[k]);
                        let v_max = if dv[k] > 0.0 {
                            (bias[k].abs() + u_max) / dv[k]
                        } else {
                            (bias[k].abs() + u_max) * INTEGRATOR_STEPS
                        };
                        if v_max > 0.0 && v_max.is_finite() {
                            2.0 * v_max
                        } else {
                            1.0
                        }
                    })
                    .collect()
            }
        };
        if let Some((k, t)) = threshold
            .iter()
            .enumerate()
            .find(|(_, t)| !(t.is_finite() && **t > 0.0))
        {
            return Err(unsupported(format!(
                "threshold {t} of neuron {k}: the chip's threshold is positive"
            )));
        }
        Ok((
            PhysicalLif {
                tau_syn_ms,
                tau_mem_ms,
                threshold,
                bias,
                refractory: vec![0; size],
                u_init: vec![0.0; size],
                v_init: vec![0.0; size],
                reset: self.options.reset,
            },
            scale,
        ))
    }

    /// The geometry of a convolution or pooling node.
    fn geometry(&mut self, i: usize) -> Result<Geometry, NirError> {
        let node = self.node(i).clone();
        let two_d = node.kind != "Conv1d";
        let pool = node.kind.ends_with("Pool2d");
        let spatial = if two_d { 2 } else { 1 };
        // Per spatial dimension, as (height, width); 1-D is width alone.
        let pair = |field: &str, default: usize| -> Result<[usize; 2], NirError> {
            let Some(a) = node.optional_array(field)? else {
                return Ok(if two_d { [default; 2] } else { [1, default] });
            };
            let v: Vec<usize> = a
                .data
                .iter()
                .map(|&d| {
                    if d.fract() == 0.0 && (0.0..=65536.0).contains(&d) {
                        Ok(d as usize)
                    } else {
                        Err(node.bad(field, format!("{d} is not a size")))
                    }
                })
                .collect::<Result<_, _>>()?;
            match (v.as_slice(), two_d) {
                ([x], true) => Ok([*x, *x]),
                ([h, w], true) => Ok([*h, *w]),
                ([x], false) => Ok([if field == "padding" { 0 } else { 1 }, *x]),
                _ => Err(node.bad(field, format!("{v:?} does not fit {spatial} dimensions"))),
            }
        };
        let (weight, channels_in, channels_out, groups, kernel) = if pool {
            let kernel = pair("kernel_size", 1)?;
            (None, 0, 0, 1, kernel)
        } else {
            let w = finite(&node, "weight")?;
            if w.is_empty() {
                return Err(node.bad("weight", "is empty"));
            }
            let (co, ci, kh, kw) = match (w.shape.as_slice(), two_d) {
                ([co, ci, kh, kw], true) => (*co, *ci, *kh, *kw),
                ([co, ci, k], false) => (*co, *ci, 1, *k),
                _ => {
                    return Err(node.bad(
                        "weight",
                        format!("shape {:?} is not that of a {}", w.shape, node.kind),
                    ));
                }
            };
            let groups = match node.optional_array("groups")? {
                Some(a) => a.data.first().copied().unwrap_or(1.0),
                None => 1.0,
            };
            if !(groups.fract() == 0.0 && groups >= 1.0 && co % (groups as usize) == 0) {
                return Err(node.bad("groups", format!("{groups} does not divide {co} outputs")));
            }
            (
                Some(w.clone()),
                ci * groups as usize,
                co,
                groups as usize,
                [kh, kw],
            )
        };
        let stride = if pool {
            match node.optional_array("stride")? {
                Some(_) => pair("stride", 1)?,
                None => kernel,
            }
        } else {
            pair("stride", 1)?
        };
        let dilation = if pool { [1, 1] } else { pair("dilation", 1)? };
        if stride.contains(&0) || dilation.contains(&0) || kernel.contains(&0) {
            return Err(node.bad("stride", "a stride, dilation or kernel size is 0"));
        }
        // The input: from the graph, else from the node's input_shape.
        let input = match self.input_shape(i)? {
            Some(s) => s,
            None => {
                let given = node
                    .array("input_shape")?
                    .data
                    .iter()
                    .map(|&d| {
                        if d.fract() == 0.0 && (1.0..=MAX_NODE_SIZE as f64).contains(&d) {
                            Ok(d as usize)
                        } else {
                            Err(node.bad("input_shape", format!("{d} is not a dimension")))
                        }
                    })
                    .collect::<Result<Vec<usize>, _>>()?;
                if pool {
                    given
                } else {
                    let mut s = vec![channels_in];
                    s.extend(given);
                    s
                }
            }
        };
        let (c, h, w) = match (input.as_slice(), two_d) {
            ([c, h, w], true) => (*c, *h, *w),
            ([c, l], false) => (*c, 1, *l),
            _ => {
                return Err(NirError::Graph(format!(
                    "'{}' ({}) cannot take an input of shape {input:?}",
                    node.name, node.kind
                )));
            }
        };
        if !pool && c != channels_in {
            return Err(node.bad(
                "weight",
                format!("expects {channels_in} input channels, the input has {c}"),
            ));
        }
        let padding = match node.params.get("padding") {
            Some(Param::Text(mode)) => match mode.as_str() {
                "valid" => [0, 0],
                "same" => {
                    if stride != [1, 1] {
                        return Err(node.bad("padding", "'same' needs stride 1"));
                    }
                    // The total padding of each dimension; the lower side
                    // takes the smaller half, as PyTorch does.
                    [dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)]
                }
                other => return Err(node.bad("padding", format!("unknown mode '{other}'"))),
            },
            _ => {
                let p = pair("padding", 0)?;
                [2 * p[0], 2 * p[1]]
            }
        };
        let g = Geometry {
            pool: if pool {
                Some(node.kind == "AvgPool2d")
            } else {
                None
            },
            weight,
            channels: c,
            channels_out: if pool { c } else { channels_out },
            groups,
            input: [h, w],
            kernel,
            stride,
            dilation,
            pad_total: padding,
            bias: if pool {
                None
            } else {
                Some(match node.optional_array("bias")? {
                    Some(_) => per_element(&node, "bias", channels_out)?,
                    None => vec![0.0; channels_out],
                })
            },
            two_d,
        };
        for d in 0..2 {
            if g.input[d] + g.pad_total[d] < g.dilation[d] * (g.kernel[d] - 1) + 1 {
                return Err(NirError::Graph(format!(
                    "'{}' ({}): the kernel is larger than the padded input",
                    node.name, node.kind
                )));
            }
        }
        Ok(g)
    }
}

/// A convolution or pooling over (channels, height, width); 1-D has height 1.
#[derive(Debug, Clone)]
struct Geometry {
    /// `Some(average)` for pooling.
    pool: Option<bool>,
    weight: Option<Array>,
    channels: usize,
    channels_out: usize,
    groups: usize,
    input: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    /// Total padding per dimension; the lower side gets half, rounded down.
    pad_total: [usize; 2],
    bias: Option<Vec<f64>>,
    two_d: bool,
}

impl Geometry {
    fn out_dim(&self, d: usize) -> usize {
        (self.input[d] + self.pad_total[d] - self.dilation[d] * (self.kernel[d] - 1) - 1)
            / self.stride[d]
            + 1
    }

    fn output_shape(&self) -> Vec<usize> {
        if self.two_d {
            vec![self.channels_out, self.out_dim(0), self.out_dim(1)]
        } else {
            vec![self.channels_out, self.out_dim(1)]
        }
    }

    fn input_size(&self) -> usize {
        self.channels * self.input[0] * self.input[1]
    }

    /// The input channels output channel `co` reads.
    fn channels_into(&self, co: usize) -> std::ops::Range<usize> {
        match self.pool {
            Some(_) => co..co + 1,
            None => {
                let per_group_in = self.channels / self.groups;
                let group = co / (self.channels_out / self.groups);
                group * per_group_in..(group + 1) * per_group_in
            }
        }
    }

    /// The weight from input channel `ci` at kernel position (ky, kx) to
    /// output channel `co`.
    fn tap(&self, co: usize, ci: usize, ky: usize, kx: usize) -> f64 {
        let [kh, kw] = self.kernel;
        match (self.pool, &self.weight) {
            (Some(true), _) => 1.0 / (kh * kw) as f64,
            (Some(false), _) => 1.0,
            (None, Some(weight)) => {
                let per_group_in = self.channels / self.groups;
                let first = self.channels_into(co).start;
                weight.data[((co * per_group_in + (ci - first)) * kh + ky) * kw + kx]
            }
            (None, None) => 0.0,
        }
    }

    fn apply(&self, input: &[Expr]) -> Vec<Expr> {
        let [h, w] = self.input;
        let (oh, ow) = (self.out_dim(0), self.out_dim(1));
        let (pad_h, pad_w) = (self.pad_total[0] / 2, self.pad_total[1] / 2);
        let [kh, kw] = self.kernel;
        let mut out = Vec::with_capacity(self.channels_out * oh * ow);
        for co in 0..self.channels_out {
            for y in 0..oh {
                for x in 0..ow {
                    let mut e = Expr::default();
                    let channels = self.channels_into(co);
                    for ci in channels.clone() {
                        for ky in 0..kh {
                            let iy = (y * self.stride[0] + ky * self.dilation[0]) as isize
                                - pad_h as isize;
                            if iy < 0 || iy >= h as isize {
                                continue;
                            }
                            for kx in 0..kw {
                                let ix = (x * self.stride[1] + kx * self.dilation[1]) as isize
                                    - pad_w as isize;
                                if ix < 0 || ix >= w as isize {
                                    continue;
                                }
                                let k = (ci * h + iy as usize) * w + ix as usize;
                                e.add_scaled(&input[k], self.tap(co, ci, ky, kx));
                            }
                        }
                    }
                    if let Some(bias) = &self.bias {
                        e.bias += bias[co];
                    }
                    e.normalize();
                    out.push(e);
                }
            }
        }
        out
    }
}

/// Where an Input or Output node keeps its shape: `shape`, or in older
/// files the type subgroup.
fn io_shape_field<'a>(node: &Node, fallback: &'a str) -> &'a str {
    if !node.params.contains_key("shape") && node.params.contains_key(fallback) {
        fallback
    } else {
        "shape"
    }
}

/// Parameter `field` of `node`, every value finite.
fn finite<'n>(node: &'n Node, field: &str) -> Result<&'n Array, NirError> {
    let a = node.array(field)?;
    match a.data.iter().find(|v| !v.is_finite()) {
        Some(v) => Err(node.bad(field, format!("holds {v}"))),
        None => Ok(a),
    }
}

/// Parameter `field` of `node` with one value per element: an array of
/// `size` values, or one value for all.
fn per_element(node: &Node, field: &str, size: usize) -> Result<Vec<f64>, NirError> {
    let a = node.array(field)?;
    let values = match a.data.len() {
        1 => vec![a.data[0]; size],
        n if n == size => a.data.clone(),
        n => {
            return Err(node.bad(field, format!("has {n} values for {size} elements")));
        }
    };
    if let Some(v) = values.iter().find(|v| !v.is_finite()) {
        return Err(node.bad(field, format!("holds {v}")));
    }
    Ok(values)
}

/// The population at `depth` of the relay chain of `source`, made on first
/// use: relays repeat their source's spikes 63 steps later each (delay 62
/// plus the chip's one step), so that delays beyond 62 steps keep exact.
fn relay(
    network: &mut Network,
    relays: &mut HashMap<usize, Vec<usize>>,
    source: usize,
    depth: usize,
) -> usize {
    let chain = relays.entry(source).or_default();
    while chain.len() < depth {
        let from = chain.last().copied().unwrap_or(source);
        let size = network.populations[source].size as usize;
        let p = network.populations.len();
        network.populations.push(Population {
            name: format!(
                "{}.relay{}",
                network.populations[source].name,
                chain.len() + 1
            ),
            size: size as u32,
            // u is the step's input alone, v never leaks; θ = 0: one spike
            // in (weight 1 → v = 64) is one spike out, then v resets to 0.
            model: Model::Lif(Lif {
                du: vec![4095; size],
                dv: vec![0; size],
                vth: vec![0; size],
                bias_mant: vec![0; size],
                bias_exp: vec![0; size],
                refractory: vec![0; size],
                u_init: vec![0; size],
                v_init: vec![0; size],
                reset: Reset::Zero,
            }),
            physical: None,
        });
        network.projections.push(Projection {
            name: format!(
                "{}->{}",
                network.populations[from].name, network.populations[p].name
            ),
            from,
            to: p,
            synapses: (0..size as u32)
                .map(|i| Synapse {
                    pre: i,
                    post: i,
                    weight: 1,
                    delay: MAX_DELAY as u8,
                })
                .collect(),
            float_weights: None,
            weight_exp: 0,
            num_weight_bits: 8,
            sign_mode: None,
            kind: ConnectivityKind::Sparse,
            learning: None,
        });
        chain.push(p);
    }
    chain[depth - 1]
}
