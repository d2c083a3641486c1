//! Reading a NIR file (HDF5) into a flat [`Graph`].
//!
//! A file holds a group `node` with a dataset `type` ("NIRGraph"), a group
//! `nodes` (one group per node, each with its `type` and parameters) and a
//! dataset `edges` of (source, target) names; a node may itself be a
//! NIRGraph. NIR writes groups in alphabetical order, so the order of nodes is
//! taken from the edges.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;

use hdf5_pure::{DType, Group};

use crate::NirError;

/// Largest number of elements one parameter may hold; a larger declared
/// shape is a malformed file, refused before anything is read.
const MAX_ELEMENTS: u64 = 1 << 26;

/// Nested graphs deeper than this are refused (a malformed file could nest
/// without end).
const MAX_DEPTH: usize = 16;

/// A NIR graph with nested graphs flattened: every node named by its path
/// (`rnn.lif`), the Input and Output nodes of nested graphs turned into
/// pass-through nodes of kind [`IDENTITY`].
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// The file's NIR version, e.g. "1.0.8" or "0.1.1".
    pub version: String,
    /// Nodes, in the order the edges reach them from the inputs.
    pub nodes: Vec<Node>,
    /// Edges as (source, target) indices into `nodes`.
    pub edges: Vec<(usize, usize)>,
    /// The timestep the file's metadata gives, in seconds, if any.
    pub dt_s: Option<f64>,
}

/// The kind given to the Input and Output nodes of a nested graph.
pub const IDENTITY: &str = "Identity";

/// One node: its NIR type and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Path of the node (`lif`, or `rnn.lif` inside the nested graph `rnn`).
    pub name: String,
    /// NIR type: "LIF", "Affine", "Conv2d", …
    pub kind: String,
    /// Parameters by name.
    pub params: BTreeMap<String, Param>,
}

/// A parameter: numbers (any numeric type, read as f64) or text.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// An array of numbers in row-major order; a scalar has an empty shape.
    Array(Array),
    /// A string, such as a padding mode.
    Text(String),
}

/// Numbers with their shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Dimensions; empty for a scalar.
    pub shape: Vec<usize>,
    /// Values in row-major order.
    pub data: Vec<f64>,
}

impl Graph {
    /// Index of the node named `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// Indices of the nodes with an edge into `node`, in edge order.
    pub fn predecessors(&self, node: usize) -> Vec<usize> {
        self.edges
            .iter()
            .filter(|e| e.1 == node)
            .map(|e| e.0)
            .collect()
    }

    /// Indices of the nodes `node` has an edge to, in edge order.
    pub fn successors(&self, node: usize) -> Vec<usize> {
        self.edges
            .iter()
            .filter(|e| e.0 == node)
            .map(|e| e.1)
            .collect()
    }
}

impl Node {
    /// The numeric parameter `field`.
    pub fn array(&self, field: &str) -> Result<&Array, NirError> {
        match self.params.get(field) {
            Some(Param::Array(a)) => Ok(a),
            Some(Param::Text(_)) => Err(self.bad(field, "is text, expected numbers")),
            None => Err(NirError::MissingField {
                node: self.name.clone(),
                kind: self.kind.clone(),
                field: field.to_string(),
            }),
        }
    }

    /// The numeric parameter `field`, or `None` when absent.
    pub fn optional_array(&self, field: &str) -> Result<Option<&Array>, NirError> {
        match self.params.get(field) {
            None => Ok(None),
            Some(_) => self.array(field).map(Some),
        }
    }

    /// An error about parameter `field` of this node.
    pub fn bad(&self, field: &str, reason: impl Into<String>) -> NirError {
        NirError::BadField {
            node: self.name.clone(),
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

impl Array {
    /// Number of elements the shape describes.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the array holds no element.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Reads the NIR file at `path`.
pub fn read(path: &Path) -> Result<Graph, NirError> {
    let file_name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| NirError::Io {
        path: file_name.clone(),
        reason: e.to_string(),
    })?;
    read_bytes(bytes, &file_name)
}

/// Reads a NIR file held in memory; `file` names it in errors.
pub fn read_bytes(bytes: Vec<u8>, file: &str) -> Result<Graph, NirError> {
    let h5 = |place: &str, e: hdf5_pure::Error| NirError::Hdf5 {
        file: file.to_string(),
        place: place.to_string(),
        reason: e.to_string(),
    };
    if !hdf5_pure::is_hdf5_bytes(&bytes) {
        return Err(NirError::NotNir {
            file: file.to_string(),
            reason: "not an HDF5 file".to_string(),
        });
    }
    let h5file = hdf5_pure::File::from_bytes(bytes).map_err(|e| h5("the file", e))?;
    let root = h5file.root();
    let version = match root.dataset("version") {
        Ok(ds) => scalar_text(&ds).map_err(|e| h5("version", e))?,
        Err(_) => String::new(),
    };
    let top = root.group("node").map_err(|_| NirError::NotNir {
        file: file.to_string(),
        reason: "no group 'node' at the root".to_string(),
    })?;
    let mut flat = Flat::default();
    read_graph(&top, "", file, 0, &mut flat)?;
    let dt_s = match top.group("metadata") {
        Ok(meta) => match meta.dataset("dt") {
            Ok(ds) => ds
                .read_f64()
                .ok()
                .and_then(|v| v.first().copied())
                .filter(|dt| dt.is_finite() && *dt > 0.0),
            Err(_) => None,
        },
        Err(_) => None,
    };
    order(flat, version, dt_s)
}

/// Nodes and edges by name while reading.
#[derive(Default)]
struct Flat {
    nodes: Vec<Node>,
    edges: Vec<(String, String)>,
}

/// The interface of a nested graph: its Input and Output node paths.
struct Ports {
    inputs: Vec<String>,
    outputs: Vec<String>,
}

fn read_graph(
    group: &Group,
    prefix: &str,
    file: &str,
    depth: usize,
    flat: &mut Flat,
) -> Result<Ports, NirError> {
    let place = |what: &str| {
        if prefix.is_empty() {
            what.to_string()
        } else {
            format!("{}/{what}", prefix.trim_end_matches('.'))
        }
    };
    let h5 = |what: &str, e: hdf5_pure::Error| NirError::Hdf5 {
        file: file.to_string(),
        place: place(what),
        reason: e.to_string(),
    };
    if depth > MAX_DEPTH {
        return Err(NirError::NotNir {
            file: file.to_string(),
            reason: format!("graphs nested more than {MAX_DEPTH} deep"),
        });
    }
    let nodes = group.group("nodes").map_err(|e| h5("nodes", e))?;
    let mut names = nodes.groups().map_err(|e| h5("nodes", e))?;
    names.sort();
    let mut ports = Ports {
        inputs: Vec::new(),
        outputs: Vec::new(),
    };
    // Nested graphs: the name a parent's edges use, and its ports.
    let mut nested: HashMap<String, Ports> = HashMap::new();
    for name in &names {
        let node_group = nodes.group(name).map_err(|e| h5(name, e))?;
        let path = format!("{prefix}{name}");
        let kind = match node_group.dataset("type") {
            Ok(ds) => scalar_text(&ds).map_err(|e| h5(&format!("{name}/type"), e))?,
            Err(_) => {
                return Err(NirError::MissingField {
                    node: path,
                    kind: "?".to_string(),
                    field: "type".to_string(),
                });
            }
        };
        if kind == "NIRGraph" {
            let inner = read_graph(&node_group, &format!("{path}."), file, depth + 1, flat)?;
            nested.insert(name.clone(), inner);
            continue;
        }
        let mut params = BTreeMap::new();
        let datasets = node_group.datasets().map_err(|e| h5(name, e))?;
        for field in datasets {
            if field == "type" {
                continue;
            }
            let at = format!("{name}/{field}");
            let ds = node_group.dataset(&field).map_err(|e| h5(&at, e))?;
            let count: u64 = ds.shape().map_err(|e| h5(&at, e))?.iter().product();
            if count > MAX_ELEMENTS {
                return Err(NirError::BadField {
                    node: path,
                    field,
                    reason: format!("declares {count} elements, more than {MAX_ELEMENTS}"),
                });
            }
            let param = read_param(&ds).map_err(|e| h5(&at, e))?;
            if let Param::Array(a) = &param
                && a.data.len() != a.shape.iter().product::<usize>()
            {
                return Err(NirError::BadField {
                    node: path,
                    field,
                    reason: format!("holds {} values for shape {:?}", a.data.len(), a.shape),
                });
            }
            params.insert(field, param);
        }
        // Some writers keep types in subgroups (`input_type/input`): their
        // datasets become parameters named `group/field`.
        for sub in node_group.groups().map_err(|e| h5(name, e))? {
            let Ok(sub_group) = node_group.group(&sub) else {
                continue;
            };
            for field in sub_group.datasets().map_err(|e| h5(name, e))? {
                let at = format!("{name}/{sub}/{field}");
                let ds = sub_group.dataset(&field).map_err(|e| h5(&at, e))?;
                let count: u64 = ds.shape().map_err(|e| h5(&at, e))?.iter().product();
                if count <= MAX_ELEMENTS
                    && let Ok(param) = read_param(&ds)
                {
                    params.insert(format!("{sub}/{field}"), param);
                }
            }
        }
        // A nested graph's own Input and Output pass values through.
        let kind = if !prefix.is_empty() && (kind == "Input" || kind == "Output") {
            if kind == "Input" {
                ports.inputs.push(path.clone());
            } else {
                ports.outputs.push(path.clone());
            }
            IDENTITY.to_string()
        } else {
            kind
        };
        flat.nodes.push(Node {
            name: path,
            kind,
            params,
        });
    }
    let edges = group.dataset("edges").map_err(|e| h5("edges", e))?;
    let shape = edges.shape().map_err(|e| h5("edges", e))?;
    let texts = if shape.iter().product::<u64>() == 0 {
        Vec::new()
    } else {
        edges.read_string().map_err(|e| h5("edges", e))?
    };
    if texts.len() % 2 != 0 {
        return Err(NirError::NotNir {
            file: file.to_string(),
            reason: format!("{}: edges are not pairs", place("edges")),
        });
    }
    let port = |name: &str, inputs: bool| -> Result<String, NirError> {
        let Some(p) = nested.get(name) else {
            return Ok(format!("{prefix}{name}"));
        };
        let list = if inputs { &p.inputs } else { &p.outputs };
        match list.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(NirError::Graph(format!(
                "nested graph '{prefix}{name}' has {} {} nodes; an edge naming the graph needs exactly one",
                list.len(),
                if inputs { "Input" } else { "Output" }
            ))),
        }
    };
    for pair in texts.chunks_exact(2) {
        flat.edges
            .push((port(&pair[0], false)?, port(&pair[1], true)?));
    }
    Ok(ports)
}

/// Orders the nodes by a breadth-first walk along the edges from the
/// top-level Input nodes (then any node left, in edge order), and turns
/// edge names into indices.
fn order(flat: Flat, version: String, dt_s: Option<f64>) -> Result<Graph, NirError> {
    let by_name: HashMap<&str, usize> = flat
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    let mut seen = vec![false; flat.nodes.len()];
    let mut sequence = Vec::with_capacity(flat.nodes.len());
    let mut queue: VecDeque<usize> = flat
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.kind == "Input")
        .map(|(i, _)| i)
        .collect();
    let mut starts: Vec<usize> = flat
        .edges
        .iter()
        .flat_map(|(a, b)| [a.as_str(), b.as_str()])
        .filter_map(|n| by_name.get(n).copied())
        .collect();
    starts.extend(0..flat.nodes.len());
    let mut starts = starts.into_iter();
    loop {
        while let Some(i) = queue.pop_front() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            sequence.push(i);
            for (a, b) in &flat.edges {
                if by_name.get(a.as_str()) == Some(&i)
                    && let Some(&j) = by_name.get(b.as_str())
                    && !seen[j]
                {
                    queue.push_back(j);
                }
            }
        }
        match starts.find(|&i| !seen[i]) {
            Some(i) => queue.push_back(i),
            None => break,
        }
    }
    if let Some((a, b)) = flat
        .edges
        .iter()
        .find(|(a, b)| !by_name.contains_key(a.as_str()) || !by_name.contains_key(b.as_str()))
    {
        let missing = if by_name.contains_key(a.as_str()) {
            b
        } else {
            a
        };
        return Err(NirError::Graph(format!(
            "edge {a} -> {b} names '{missing}', which is not a node"
        )));
    }
    let mut position = vec![0; flat.nodes.len()];
    for (p, &i) in sequence.iter().enumerate() {
        position[i] = p;
    }
    let edges = flat
        .edges
        .iter()
        .filter_map(|(a, b)| {
            Some((
                position[*by_name.get(a.as_str())?],
                position[*by_name.get(b.as_str())?],
            ))
        })
        .collect();
    let mut slots: Vec<Option<Node>> = flat.nodes.into_iter().map(Some).collect();
    let nodes = sequence.iter().filter_map(|&i| slots[i].take()).collect();
    Ok(Graph {
        version,
        nodes,
        edges,
        dt_s,
    })
}

fn scalar_text(ds: &hdf5_pure::Dataset) -> Result<String, hdf5_pure::Error> {
    Ok(ds.read_string()?.into_iter().next().unwrap_or_default())
}

fn read_param(ds: &hdf5_pure::Dataset) -> Result<Param, hdf5_pure::Error> {
    let shape = ds.shape()?;
    match ds.dtype()? {
        DType::String | DType::VariableLengthString => Ok(Param::Text(scalar_text(ds)?)),
        _ => {
            let data = ds.read_f64()?;
            let shape: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
            Ok(Param::Array(Array { shape, data }))
        }
    }
}
