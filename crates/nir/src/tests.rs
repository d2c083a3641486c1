//! Lowering of small graphs built in memory, each expected value derived in
//! the comments.

use std::collections::BTreeMap;

use neurite_net::{FloatWeights, Model, Reset};

use crate::lower::physical;
use crate::{Array, Graph, NirError, Node, Options, Param, Role};

fn array(shape: &[usize], data: &[f64]) -> Param {
    Param::Array(Array {
        shape: shape.to_vec(),
        data: data.to_vec(),
    })
}

fn vector(data: &[f64]) -> Param {
    array(&[data.len()], data)
}

fn node(name: &str, kind: &str, params: Vec<(&str, Param)>) -> Node {
    Node {
        name: name.to_string(),
        kind: kind.to_string(),
        params: params
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// A chain of nodes, each feeding the next.
fn chain(nodes: Vec<Node>) -> Graph {
    let edges = (1..nodes.len()).map(|i| (i - 1, i)).collect();
    Graph {
        version: "1.0.8".to_string(),
        nodes,
        edges,
        dt_s: None,
    }
}

fn input(n: usize) -> Node {
    node("input", "Input", vec![("shape", vector(&[n as f64]))])
}

fn output(n: usize) -> Node {
    node("output", "Output", vec![("shape", vector(&[n as f64]))])
}

fn lif(name: &str, n: usize, tau: f64, r: f64, v_leak: f64, v_th: f64) -> Node {
    node(
        name,
        "LIF",
        vec![
            ("tau", vector(&vec![tau; n])),
            ("r", vector(&vec![r; n])),
            ("v_leak", vector(&vec![v_leak; n])),
            ("v_threshold", vector(&vec![v_th; n])),
        ],
    )
}

const MS1: Options = Options {
    dt_ms: 1.0,
    reset: Reset::Zero,
};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

/// (pre, post, delay, weight) of a projection.
fn synapses(network: &neurite_net::Network, name: &str) -> Vec<(u32, u32, u8, f64)> {
    let p = network
        .projections
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("projection {name}"));
    p.synapses
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let w = match &p.float_weights {
                Some(FloatWeights::PerSynapse(w)) => w[i],
                Some(FloatWeights::Uniform(w)) => *w,
                None => f64::from(s.weight),
            };
            (s.pre, s.post, s.delay, w)
        })
        .collect()
}

#[test]
fn affine_into_lif_is_forward_euler() {
    // dt = 1 ms, τ = 10 ms: a = 0.1. R = 2: input weights × a·R = 0.2, so
    // W = [1, −0.5] → [0.2, −0.1]. Bias a·v_leak + a·R·b = 0.1·0.1 + 0.2·0.2
    // = 0.05. No synaptic current (τ_syn 0); the exponential decay that keeps
    // 1 − a = 0.9 has τ = −1 / ln 0.9 = 9.491221 ms.
    let graph = chain(vec![
        input(2),
        node(
            "fc",
            "Affine",
            vec![
                ("weight", array(&[1, 2], &[1.0, -0.5])),
                ("bias", vector(&[0.2])),
            ],
        ),
        lif("lif", 1, 0.01, 2.0, 0.1, 1.0),
        output(1),
    ]);
    let lowered = physical(&graph, "t", &MS1).expect("lowers");
    let net = &lowered.network;
    assert_eq!(net.populations.len(), 2);
    let p = net.populations[1].physical.as_ref().expect("physical");
    assert_eq!(p.tau_syn_ms, [0.0]);
    assert!(
        close(p.tau_mem_ms[0], -1.0 / 0.9f64.ln()),
        "{}",
        p.tau_mem_ms[0]
    );
    assert!(close(p.bias[0], 0.05), "{}", p.bias[0]);
    assert_eq!(p.threshold, [1.0]);
    let s = synapses(net, "input->lif");
    assert_eq!(s.len(), 2);
    assert_eq!((s[0].0, s[0].1, s[0].2), (0, 0, 0));
    assert!(close(s[0].3, 0.2) && close(s[1].3, -0.1), "{s:?}");
    assert_eq!(lowered.populations[1].role, Role::Spiking);
    assert!(lowered.populations[1].output);
    // The compiler's lowering then runs on it: du 4095 clears u each step.
    let imported = crate::lower(&graph, "t", &MS1).expect("lowers");
    match &imported.network.populations[1].model {
        Model::Lif(l) => {
            assert_eq!(l.du, [4095]);
            // dv = round(4095 · 0.1) = 410 (409.5 rounds away from zero).
            assert_eq!(l.dv, [410]);
        }
        Model::Input => panic!("a LIF population"),
    }
    assert_eq!(imported.input, Some(0));
}

#[test]
fn if_and_cuba_scale_their_inputs() {
    // IF: v += dt·R·I = 0.001 · 3 · w. CubaLIF (τ_syn 5 ms, τ_mem 20 ms at
    // dt 1 ms): a_s = 0.2, a_m = 0.05, weight × a_m·R·a_s·w_in = 0.05·1·0.2·2
    // = 0.02, bias a_m·v_leak = 0.05·0.4 = 0.02.
    let graph = chain(vec![
        input(1),
        node("w1", "Linear", vec![("weight", array(&[1, 1], &[2.0]))]),
        node(
            "if",
            "IF",
            vec![("r", vector(&[3.0])), ("v_threshold", vector(&[1.0]))],
        ),
        node("w2", "Linear", vec![("weight", array(&[1, 1], &[5.0]))]),
        node(
            "cuba",
            "CubaLIF",
            vec![
                ("tau_syn", vector(&[0.005])),
                ("tau_mem", vector(&[0.02])),
                ("r", vector(&[1.0])),
                ("v_leak", vector(&[0.4])),
                ("v_threshold", vector(&[1.0])),
                ("w_in", vector(&[2.0])),
            ],
        ),
        output(1),
    ]);
    let net = physical(&graph, "t", &MS1).expect("lowers").network;
    assert!(close(synapses(&net, "input->if")[0].3, 0.006));
    let ifp = net.populations[1].physical.as_ref().expect("physical");
    assert_eq!(ifp.tau_mem_ms, [f64::INFINITY]);
    assert!(close(synapses(&net, "if->cuba")[0].3, 5.0 * 0.02));
    let cuba = net.populations[2].physical.as_ref().expect("physical");
    assert!(close(cuba.bias[0], 0.02));
    assert!(close(cuba.tau_syn_ms[0], -1.0 / 0.8f64.ln()));
    assert!(close(cuba.tau_mem_ms[0], -1.0 / 0.95f64.ln()));
}

#[test]
fn conv2d_pool_and_flatten_compose() {
    // Input 1×3×3 (indices 0..9, row-major), Conv2d 1→1 with a 2×2 kernel
    // [[1, 2], [3, 4]], stride 1, no padding: a 1×2×2 output, element 0 =
    // 1·in0 + 2·in1 + 3·in3 + 4·in4. Then SumPool2d 2×2 (stride 2): one
    // element, the sum of the four: in0·1 + in1·(2+1) + in2·2 + in3·(3+1) +
    // in4·(4+3+2+1) + in5·(4+2) + in6·3 + in7·(4+3) + in8·4.
    let graph = chain(vec![
        node("input", "Input", vec![("shape", vector(&[1.0, 3.0, 3.0]))]),
        node(
            "conv",
            "Conv2d",
            vec![
                ("weight", array(&[1, 1, 2, 2], &[1.0, 2.0, 3.0, 4.0])),
                ("bias", vector(&[0.0])),
                ("stride", vector(&[1.0, 1.0])),
                ("padding", vector(&[0.0, 0.0])),
                ("dilation", vector(&[1.0, 1.0])),
                ("groups", array(&[], &[1.0])),
            ],
        ),
        node(
            "pool",
            "SumPool2d",
            vec![
                ("kernel_size", vector(&[2.0, 2.0])),
                ("stride", vector(&[2.0, 2.0])),
                ("padding", vector(&[0.0, 0.0])),
            ],
        ),
        node(
            "flat",
            "Flatten",
            vec![
                ("start_dim", array(&[], &[0.0])),
                ("end_dim", array(&[], &[-1.0])),
            ],
        ),
        node(
            "if",
            "IF",
            vec![("r", vector(&[1000.0])), ("v_threshold", vector(&[1.0]))],
        ),
        output(1),
    ]);
    let net = physical(&graph, "t", &MS1).expect("lowers").network;
    // dt·R = 1: the weights are the composed ones.
    let weights: Vec<f64> = synapses(&net, "input->if").iter().map(|s| s.3).collect();
    let expected = [1.0, 3.0, 2.0, 4.0, 10.0, 6.0, 3.0, 7.0, 4.0];
    assert_eq!(weights.len(), 9);
    for (w, e) in weights.iter().zip(expected) {
        assert!(close(*w, e), "{weights:?}");
    }
}

#[test]
fn conv1d_same_padding_with_groups() {
    // Input 2×4, Conv1d 2→2, kernel 3 all ones, groups 2, padding "same":
    // total padding 2, one each side; output channel c reads input channel c
    // only. Output (c, x) = in(c, x−1) + in(c, x) + in(c, x+1) where inside.
    let graph = chain(vec![
        node("input", "Input", vec![("shape", vector(&[2.0, 4.0]))]),
        node(
            "conv",
            "Conv1d",
            vec![
                ("weight", array(&[2, 1, 3], &[1.0; 6])),
                ("bias", vector(&[0.0, 0.0])),
                ("stride", array(&[], &[1.0])),
                ("padding", Param::Text("same".to_string())),
                ("dilation", array(&[], &[1.0])),
                ("groups", array(&[], &[2.0])),
            ],
        ),
        node(
            "if",
            "IF",
            vec![
                ("r", vector(&[1000.0; 8])),
                ("v_threshold", vector(&[1.0; 8])),
            ],
        ),
    ]);
    let net = physical(&graph, "t", &MS1).expect("lowers").network;
    let mut pairs: Vec<(u32, u32)> = synapses(&net, "input->if")
        .iter()
        .map(|s| (s.1, s.0))
        .collect();
    pairs.sort();
    let mut expected = Vec::new();
    for c in 0..2u32 {
        for x in 0..4i32 {
            for dx in -1..=1 {
                if (0..4).contains(&(x + dx)) {
                    expected.push((c * 4 + x as u32, c * 4 + (x + dx) as u32));
                }
            }
        }
    }
    expected.sort();
    assert_eq!(pairs, expected);
}

#[test]
fn long_delays_go_through_relays() {
    // Delay 0.1 s at dt 1 ms = 100 steps > 62: one relay (63 steps: delay 62
    // plus the chip's step), then a synapse of delay 100 − 63 = 37.
    let graph = chain(vec![
        input(1),
        node("d", "Delay", vec![("delay", vector(&[0.1]))]),
        node(
            "if",
            "IF",
            vec![("r", vector(&[1000.0])), ("v_threshold", vector(&[0.5]))],
        ),
    ]);
    let net = physical(&graph, "t", &MS1).expect("lowers").network;
    assert_eq!(net.populations[2].name, "input.relay1");
    assert_eq!(synapses(&net, "input->input.relay1"), [(0, 0, 62, 1.0)]);
    assert_eq!(synapses(&net, "input.relay1->if"), [(0, 0, 37, 1.0)]);
}

#[test]
fn li_reads_out_and_a_threshold_after_i_spikes() {
    let graph = chain(vec![
        input(1),
        node("i", "I", vec![("r", vector(&[1000.0]))]),
        node("thr", "Threshold", vec![("threshold", vector(&[2.0]))]),
        node(
            "li",
            "LI",
            vec![
                ("tau", vector(&[0.01])),
                ("r", vector(&[1.0])),
                ("v_leak", vector(&[0.0])),
            ],
        ),
        output(1),
    ]);
    let lowered = physical(&graph, "t", &MS1).expect("lowers");
    let roles: Vec<Role> = lowered.populations.iter().map(|p| p.role).collect();
    assert_eq!(roles, [Role::Input, Role::Spiking, Role::Readout]);
    let i = lowered.network.populations[1]
        .physical
        .as_ref()
        .expect("physical");
    assert_eq!(i.threshold, [2.0]);
    // LI: drive 0.1 per spike (a·R), no leak term: |v| ≤ 0.1 / 0.1 = 1; the
    // scale is set by twice that.
    let li = lowered.network.populations[2]
        .physical
        .as_ref()
        .expect("physical");
    assert!(close(li.threshold[0], 2.0), "{}", li.threshold[0]);
    let imported = crate::lower(&graph, "t", &MS1).expect("lowers");
    match &imported.network.populations[2].model {
        Model::Lif(l) => assert_eq!(l.vth, [131_071]),
        Model::Input => panic!("a LIF population"),
    }
    assert!(imported.network.probes[2].v);
}

fn unsupported_what(err: NirError) -> (String, String) {
    match err {
        NirError::Unsupported { node, what, .. } => (node, what),
        other => panic!("expected Unsupported, got {other}"),
    }
}

#[test]
fn unsupported_primitives_and_parameters_name_the_node() {
    let graph = chain(vec![
        input(1),
        node("c3", "Conv3d", vec![]),
        lif("lif", 1, 0.01, 1.0, 0.0, 1.0),
    ]);
    let err = physical(&graph, "t", &MS1).err().expect("refused");
    assert_eq!(
        err.to_string(),
        "node 'c3' (Conv3d) is not supported: the primitive Conv3d has no lowering to the chip"
    );

    let mut reset = lif("lif", 1, 0.01, 1.0, 0.0, 1.0);
    reset.params.insert("v_reset".to_string(), vector(&[0.5]));
    let graph = chain(vec![input(1), reset]);
    let (named, what) = unsupported_what(physical(&graph, "t", &MS1).err().expect("refused"));
    assert_eq!(named, "lif");
    assert!(what.contains("v_reset 0.5"), "{what}");

    // τ = 1 ms at dt = 1 ms: forward Euler would not decay.
    let graph = chain(vec![input(1), lif("lif", 1, 0.001, 1.0, 0.0, 1.0)]);
    let (named, what) = unsupported_what(physical(&graph, "t", &MS1).err().expect("refused"));
    assert_eq!(named, "lif");
    assert!(what.contains("not longer than dt"), "{what}");

    // A Threshold on a linear node, not a neuron.
    let graph = chain(vec![
        input(1),
        node("s", "Scale", vec![("scale", vector(&[1.0]))]),
        node("thr", "Threshold", vec![("threshold", vector(&[1.0]))]),
    ]);
    let (named, _) = unsupported_what(physical(&graph, "t", &MS1).err().expect("refused"));
    assert_eq!(named, "thr");

    // A leaky integrator's voltage feeding another neuron.
    let graph = chain(vec![
        input(1),
        node(
            "li",
            "LI",
            vec![
                ("tau", vector(&[0.01])),
                ("r", vector(&[1.0])),
                ("v_leak", vector(&[0.0])),
            ],
        ),
        lif("lif", 1, 0.01, 1.0, 0.0, 1.0),
    ]);
    let (named, what) = unsupported_what(physical(&graph, "t", &MS1).err().expect("refused"));
    assert_eq!(named, "li");
    assert!(what.contains("feeds 'lif'"), "{what}");

    // A bias into a synaptic current.
    let graph = chain(vec![
        input(1),
        node(
            "fc",
            "Affine",
            vec![("weight", array(&[1, 1], &[1.0])), ("bias", vector(&[0.3]))],
        ),
        node(
            "cuba",
            "CubaLIF",
            vec![
                ("tau_syn", vector(&[0.005])),
                ("tau_mem", vector(&[0.02])),
                ("r", vector(&[1.0])),
                ("v_leak", vector(&[0.0])),
                ("v_threshold", vector(&[1.0])),
            ],
        ),
    ]);
    let (named, what) = unsupported_what(physical(&graph, "t", &MS1).err().expect("refused"));
    assert_eq!(named, "cuba");
    assert!(what.contains("bias"), "{what}");
}

#[test]
fn malformed_graphs_are_typed_errors() {
    // A missing parameter.
    let graph = chain(vec![
        input(1),
        node("lif", "LIF", vec![("r", vector(&[1.0]))]),
    ]);
    let err = physical(&graph, "t", &MS1).err().expect("refused");
    assert_eq!(err.to_string(), "node 'lif' (LIF): missing parameter 'tau'");
    // Sizes that disagree: a 2×3 weight on an input of 2.
    let graph = chain(vec![
        input(2),
        node("fc", "Linear", vec![("weight", array(&[2, 3], &[1.0; 6]))]),
        lif("lif", 2, 0.01, 1.0, 0.0, 1.0),
    ]);
    let err = physical(&graph, "t", &MS1).err().expect("refused");
    assert!(
        err.to_string()
            .contains("has 3 columns but its input has 2"),
        "{err}"
    );
    // A loop of linear nodes.
    let mut graph = chain(vec![
        input(1),
        node("a", "Scale", vec![("scale", vector(&[1.0]))]),
        node("b", "Scale", vec![("scale", vector(&[1.0]))]),
        lif("lif", 1, 0.01, 1.0, 0.0, 1.0),
    ]);
    graph.edges.push((2, 1));
    let err = physical(&graph, "t", &MS1).err().expect("refused");
    assert!(err.to_string().contains("loop without a neuron"), "{err}");
    // No timestep.
    let err = crate::choose_dt(None, &graph).expect_err("refused");
    assert!(err.to_string().contains("--dt-ms"), "{err}");
    let bad = Options {
        dt_ms: 0.0,
        reset: Reset::Zero,
    };
    assert!(physical(&graph, "t", &bad).is_err());
}

#[test]
fn malformed_bytes_are_typed_errors() {
    let err = crate::read_bytes(b"not hdf5 at all".to_vec(), "x.nir").expect_err("refused");
    assert_eq!(
        err.to_string(),
        "x.nir is not a NIR graph: not an HDF5 file"
    );
    // A real file cut short, or with bytes flipped, never panics.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/nir/ff_affine_lif.nir");
    let bytes = std::fs::read(path).expect("fixture");
    for cut in [8, 100] {
        assert!(crate::read_bytes(bytes[..cut].to_vec(), "cut.nir").is_err());
    }
    for cut in (0..bytes.len()).step_by(501) {
        let _ = crate::read_bytes(bytes[..cut].to_vec(), "cut.nir");
    }
    for i in (0..bytes.len()).step_by(97) {
        let mut damaged = bytes.clone();
        damaged[i] ^= 0xA5;
        // Either an error or a graph; lowering it must not panic either.
        if let Ok(graph) = crate::read_bytes(damaged, "damaged.nir") {
            let _ = crate::lower(&graph, "d", &MS1);
        }
    }
}

#[test]
fn avgpool_divides_by_the_window_and_pads_with_zeros() {
    // Input 1×2×2, AvgPool2d 2×2, stride 1, padding 1: a 1×3×3 output; the
    // centre element averages all four inputs (0.25 each), a corner sees
    // one input and three padding zeros (still divided by 4).
    let graph = chain(vec![
        node("input", "Input", vec![("shape", vector(&[1.0, 2.0, 2.0]))]),
        node(
            "pool",
            "AvgPool2d",
            vec![
                ("kernel_size", vector(&[2.0, 2.0])),
                ("stride", vector(&[1.0, 1.0])),
                ("padding", vector(&[1.0, 1.0])),
            ],
        ),
        node(
            "if",
            "IF",
            vec![
                ("r", vector(&[1000.0; 9])),
                ("v_threshold", vector(&[1.0; 9])),
            ],
        ),
    ]);
    let net = physical(&graph, "t", &MS1).expect("lowers").network;
    let s = synapses(&net, "input->if");
    // Output 0 (corner) reads input 0 only; output 4 (centre) all four.
    let into = |post: u32| -> Vec<(u32, f64)> {
        s.iter()
            .filter(|x| x.1 == post)
            .map(|x| (x.0, x.3))
            .collect()
    };
    assert_eq!(into(0), [(0, 0.25)]);
    assert_eq!(into(4), [(0, 0.25), (1, 0.25), (2, 0.25), (3, 0.25)]);
    assert_eq!(into(8), [(3, 0.25)]);
    assert_eq!(s.len(), 16);
}

#[test]
fn an_input_may_keep_its_shape_in_its_type_group() {
    // Older writers store `input_type/input` instead of `shape`.
    let graph = chain(vec![
        node("input", "Input", vec![("input_type/input", vector(&[3.0]))]),
        lif("lif", 3, 0.01, 1.0, 0.0, 1.0),
    ]);
    let net = physical(&graph, "t", &MS1).expect("lowers").network;
    assert_eq!(net.populations[0].size, 3);
}

/// xorshift64*: a small deterministic generator for the mutation test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn mutated_fixture_graphs_lower_or_fail_without_panicking() {
    // What a malformed file can hand the lowering: any parameter value,
    // shape, kind or edge. Each mutation must give a network or an error.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/nir");
    let graphs: Vec<Graph> = [
        "lif_norse",
        "two_lif_neurons",
        "ff_affine_lif",
        "rnn_cubalif",
        "conv_if_sumpool",
        "misc_primitives",
    ]
    .iter()
    .map(|f| crate::read(&dir.join(format!("{f}.nir"))).expect("fixture"))
    .collect();
    let kinds = [
        "LIF",
        "IF",
        "LI",
        "I",
        "CubaLIF",
        "CubaLI",
        "Affine",
        "Linear",
        "Scale",
        "Delay",
        "Flatten",
        "Conv1d",
        "Conv2d",
        "SumPool2d",
        "AvgPool2d",
        "Threshold",
        "Output",
        "Input",
        "Identity",
    ];
    let odd = [
        0.0,
        -1.0,
        1e30,
        -1e30,
        f64::NAN,
        f64::INFINITY,
        0.5,
        3.0,
        1e-12,
        65537.0,
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..3000 {
        let mut graph = graphs[round % graphs.len()].clone();
        for _ in 0..1 + rng.below(3) {
            let n = rng.below(graph.nodes.len());
            match rng.below(6) {
                0 => graph.nodes[n].kind = kinds[rng.below(kinds.len())].to_string(),
                1 => {
                    // A value anywhere becomes an odd one.
                    let keys: Vec<String> = graph.nodes[n].params.keys().cloned().collect();
                    if let Some(k) = keys.get(rng.below(keys.len()))
                        && let Some(Param::Array(a)) = graph.nodes[n].params.get_mut(k)
                        && !a.data.is_empty()
                    {
                        let i = rng.below(a.data.len());
                        a.data[i] = odd[rng.below(odd.len())];
                    }
                }
                2 => {
                    // A shape that still matches its data, or not.
                    let keys: Vec<String> = graph.nodes[n].params.keys().cloned().collect();
                    if let Some(k) = keys.get(rng.below(keys.len()))
                        && let Some(Param::Array(a)) = graph.nodes[n].params.get_mut(k)
                    {
                        let len = a.data.len();
                        a.shape = match rng.below(3) {
                            0 => vec![len],
                            1 => vec![1, len],
                            _ => vec![],
                        };
                    }
                }
                3 => {
                    let keys: Vec<String> = graph.nodes[n].params.keys().cloned().collect();
                    if let Some(k) = keys.get(rng.below(keys.len())) {
                        graph.nodes[n].params.remove(k);
                    }
                }
                4 => {
                    let m = rng.below(graph.nodes.len());
                    graph.edges.push((n, m));
                }
                _ => {
                    if !graph.edges.is_empty() {
                        let e = rng.below(graph.edges.len());
                        graph.edges.remove(e);
                    }
                }
            }
        }
        let options = Options {
            dt_ms: [0.1, 1.0, 50.0][rng.below(3)],
            reset: Reset::Subtract,
        };
        let _ = crate::lower(&graph, "m", &options);
    }
}
