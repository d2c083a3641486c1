use neurite_chip::ChipProfile;
use neurite_program::{AxonAddress, AxonId, CoreId, GroupId, NeuronId, SignMode as PSign};

use crate::{CompileError, Limit, compile};

fn net(toml: &str) -> neurite_net::Network {
    neurite_net::from_toml_str(toml, "test.toml", None).expect("valid description")
}

fn small_chip(neurons: u32, cores: u32) -> ChipProfile {
    let mut chip = ChipProfile::loihi2();
    chip.name = "small".to_string();
    chip.core.neurons = neurons;
    chip.mesh = neurite_chip::Mesh {
        tiles_x: cores,
        tiles_y: 1,
        cores_per_tile: 1,
    };
    chip
}

const TWO_LAYER: &str = r#"
[[populations]]
name = "in"
size = 3
model = "input"
[[populations]]
name = "a"
size = 3
model = "lif"
du = 10
dv = 20
vth = 100
bias_mant = [1, 2, 3]
u_init = 5
[[populations]]
name = "b"
size = 2
model = "lif"
du = 11
dv = 21
vth = 101
[[projections]]
from = "in"
to = "a"
one_to_one = { weight = 64 }
delay = 4
[[projections]]
from = "a"
to = "b"
dense = [[-100, 0, 50], [300, 0, 0]]
weight_exp = -2
[[probes]]
population = "b"
vars = ["spikes"]
"#;

#[test]
fn neurons_fill_cores_in_order() {
    let compiled = compile(&net(TWO_LAYER), &small_chip(2, 8)).expect("compiles");
    let p = &compiled.program;
    assert_eq!(p.cores.len(), 3);
    assert_eq!(
        p.cores.iter().map(|c| c.neurons.len()).collect::<Vec<_>>(),
        vec![2, 2, 1]
    );
    let a = &p.populations[p.population("a").expect("a")];
    let b = &p.populations[p.population("b").expect("b")];
    let at = |addr: &neurite_program::NeuronAddress| (addr.core.0, addr.neuron.0);
    assert_eq!(
        a.neurons.iter().map(at).collect::<Vec<_>>(),
        vec![(0, 0), (0, 1), (1, 0)]
    );
    assert_eq!(
        b.neurons.iter().map(at).collect::<Vec<_>>(),
        vec![(1, 1), (2, 0)]
    );
    assert!(!a.report_spikes);
    assert!(b.report_spikes);
    // Initial state and bias are carried per neuron.
    assert_eq!(p.cores[0].neurons.u, vec![5, 5]);
    assert_eq!(p.cores[0].neurons.bias_mant, vec![1, 2]);
    // Two profiles meet on core 1 (a's last neuron, b's first).
    assert_eq!(p.cores[1].profiles.len(), 2);
    p.validate(&small_chip(2, 8)).expect("valid program");
}

#[test]
fn input_channels_and_routes_point_at_the_right_axons() {
    let compiled = compile(&net(TWO_LAYER), &small_chip(2, 8)).expect("compiles");
    let p = &compiled.program;
    let port = &p.inputs[p.input_port("in").expect("port")];
    // Channel i drives a[i]: a[0], a[1] on core 0, a[2] on core 1.
    let axon = |core: u32, axon: u32| AxonAddress {
        core: CoreId(core),
        axon: AxonId(axon),
    };
    assert_eq!(port.channel(0), &[axon(0, 0)]);
    assert_eq!(port.channel(1), &[axon(0, 1)]);
    assert_eq!(port.channel(2), &[axon(1, 0)]);
    let s = p.cores[0].synapses[p.cores[0].axons[1].range()][0];
    assert_eq!((s.target, s.delay), (NeuronId(1), 4));
    // one_to_one weight 64, excitatory 8 bits: mantissa 64.
    assert_eq!(s.weight, 64);

    // a[0] (core 0 neuron 0) feeds b[0] (core 1) with −100 and b[1] (core 2)
    // with 300: one axon on each destination core.
    let core0 = &p.cores[0];
    let route = &core0.destinations[core0.routes[0].range()];
    assert_eq!(route.len(), 2);
    assert_eq!((route[0].core, route[1].core), (CoreId(1), CoreId(2)));
    // a[1] has no synapses (its column is zero): no route.
    assert!(core0.routes[1].len == 0);
    // Mixed mode: −100 → mantissa −50 (weight −100), 300 → clipped 255 → 127.
    let core2 = &p.cores[2];
    let run = &core2.synapses[core2.axons[route[1].axon.0 as usize].range()];
    assert_eq!(run.len(), 1);
    assert_eq!(run[0].weight, 127);
    let group = core2.groups[run[0].group.0 as usize];
    assert_eq!(group.sign_mode, PSign::Mixed);
    assert_eq!(group.weight_exp, -2);
}

#[test]
fn one_axon_per_source_and_core_with_entries_of_each_projection() {
    // Two projections from the same source onto one core: one axon, two groups.
    let compiled = compile(
        &net(r#"
[[populations]]
name = "in"
size = 1
model = "input"
[[populations]]
name = "x"
size = 2
model = "lif"
du = 0
dv = 0
vth = 1
[[projections]]
from = "in"
to = "x"
dense = [[10], [20]]
[[projections]]
from = "in"
to = "x"
dense = [[-5], [0]]
weight_exp = 3
"#),
        &ChipProfile::loihi2(),
    )
    .expect("compiles");
    let core = &compiled.program.cores[0];
    assert_eq!(core.axons.len(), 1);
    assert_eq!(core.groups.len(), 2);
    let run = &core.synapses[core.axons[0].range()];
    assert_eq!(run.len(), 3);
    assert_eq!(
        run.iter()
            .map(|s| (s.group, s.target.0, s.weight))
            .collect::<Vec<_>>(),
        vec![
            (GroupId(0), 0, 10),
            (GroupId(0), 1, 20),
            (GroupId(1), 0, -5)
        ]
    );
    assert_eq!(core.groups[1].sign_mode, PSign::Inhibitory);
}

#[test]
fn report_counts_clipped_and_zeroed_weights() {
    let compiled = compile(
        &net(r#"
[[populations]]
name = "in"
size = 3
model = "input"
[[populations]]
name = "x"
size = 1
model = "lif"
du = 0
dv = 0
vth = 1
[[projections]]
from = "in"
to = "x"
dense = [[400, 1, 7]]
num_weight_bits = 2
"#),
        &ChipProfile::loihi2(),
    )
    .expect("compiles");
    let report = &compiled.report;
    let p = &report.projections[0];
    assert_eq!((p.clipped, p.zeroed, p.synapses), (1, 2, 3));
    assert!(p.inferred);
    assert_eq!(report.synapses, 1);
    let warnings = report.warnings().join("\n");
    assert!(
        warnings.contains("projection #0 'in->x': 1 of 3 weights clipped to 0..255"),
        "{warnings}"
    );
    assert!(
        warnings.contains("2 of 3 weights quantized to 0 and dropped"),
        "{warnings}"
    );
}

#[test]
fn too_many_neurons_is_a_typed_error() {
    let err = compile(&net(TWO_LAYER), &small_chip(2, 2)).unwrap_err();
    assert_eq!(
        err,
        CompileError::TooManyCores {
            chip: "small".to_string(),
            available: 2,
            placed: 4,
            neurons: 5,
            population: "b".to_string(),
            limit: Limit::Neurons,
        }
    );
    assert_eq!(
        err.to_string(),
        "network does not fit chip 'small': its 2 cores fill up after 4 of 5 neurons, in \
         population 'b'; most cores were closed by their limit on neurons (hint: use a chip \
         profile with more cores or chips)"
    );
}

#[test]
fn profile_limit_opens_a_new_core() {
    let mut chip = small_chip(100, 8);
    chip.core.neuron_profiles = 1;
    let compiled = compile(&net(TWO_LAYER), &chip).expect("compiles");
    // a and b differ in du/dv/vth: one profile each, so two cores.
    assert_eq!(compiled.program.cores.len(), 2);
    compiled.program.validate(&chip).expect("valid");
}

#[test]
fn group_limit_opens_a_new_core_and_delay_limit_is_an_error() {
    let mut chip = small_chip(100, 8);
    chip.core.synapse_groups = 1;
    // a receives from in, b from a: one projection per core.
    let compiled = compile(&net(TWO_LAYER), &chip).expect("compiles");
    assert_eq!(compiled.program.cores.len(), 2);
    assert!(compiled.program.cores.iter().all(|c| c.groups.len() == 1));

    let mut chip = small_chip(100, 8);
    chip.core.max_delay = 3;
    let err = compile(&net(TWO_LAYER), &chip).unwrap_err();
    assert_eq!(
        err.to_string(),
        "projection #0 'in->a': delay 4 exceeds chip 'small' maximum of 3"
    );
}

/// 8 inputs, 4 targets, each target listening to a different pair of inputs.
const FAN_IN: &str = r#"
[[populations]]
name = "in"
size = 8
model = "input"
[[populations]]
name = "t"
size = 4
model = "lif"
du = 0
dv = 0
vth = 1
[[projections]]
from = "in"
to = "t"
sparse = [[0, 0, 10], [1, 0, 10], [2, 1, 10], [3, 1, 10], [4, 2, 10], [5, 2, 10], [6, 3, 10], [7, 3, 10]]
"#;

#[test]
fn input_axon_limit_splits_a_population() {
    let mut chip = small_chip(100, 8);
    chip.core.input_axons = 5;
    let compiled = compile(&net(FAN_IN), &chip).expect("compiles");
    // Two targets bring 4 distinct sources; a third would make 6.
    let sizes: Vec<usize> = compiled
        .program
        .cores
        .iter()
        .map(|c| c.neurons.len())
        .collect();
    assert_eq!(sizes, vec![2, 2]);
    assert!(compiled.program.cores.iter().all(|c| c.axons.len() == 4));

    chip.core.input_axons = 1;
    let err = compile(&net(FAN_IN), &chip).unwrap_err();
    assert_eq!(
        err,
        CompileError::NeuronTooLarge {
            population: "t".to_string(),
            index: 0,
            limit: Limit::InputAxons,
            needed: 2,
            available: 1,
        }
    );
    assert!(
        err.to_string()
            .contains("alone needs 2 input axons, a core has 1"),
        "{err}"
    );
}

#[test]
fn memory_limit_splits_a_population() {
    // loihi1 accounting: each target's two synapses come from two sources,
    // two runs of one entry, 64 bits each.
    let mut chip = ChipProfile::loihi1();
    chip.core.memory = neurite_chip::CoreMemory::Synapses {
        bits: 300,
        block_synapses: 64,
        block_overhead_bits: 10,
        word_bits: 64,
    };
    let compiled = compile(&net(FAN_IN), &chip).expect("compiles");
    let sizes: Vec<usize> = compiled
        .program
        .cores
        .iter()
        .map(|c| c.neurons.len())
        .collect();
    assert_eq!(sizes, vec![2, 2]);
    for core in &compiled.program.cores {
        assert_eq!(core.usage(&chip).memory.used_bits, 256);
    }
}

#[test]
fn output_axon_limit_repartitions() {
    // Each of 4 source neurons feeds all 8 targets; with 2 targets per core
    // (a neuron limit), each source needs 4 output axons. Allow 6 per core:
    // the 4 sources must spread over cores of at most one source each.
    let text = r#"
[[populations]]
name = "in"
size = 1
model = "input"
[[populations]]
name = "s"
size = 4
model = "lif"
du = 0
dv = 0
vth = 1
[[populations]]
name = "t"
size = 8
model = "lif"
du = 0
dv = 0
vth = 1
[[projections]]
from = "in"
to = "s"
fixed_probability = { p = 1.0, weight = 10, seed = 1 }
[[projections]]
from = "s"
to = "t"
fixed_probability = { p = 1.0, weight = 10, seed = 1 }
"#;
    let mut chip = small_chip(2, 64);
    chip.core.output_axons = 6;
    let compiled = compile(&net(text), &chip).expect("compiles");
    assert!(compiled.report.repartitions >= 1);
    compiled
        .program
        .validate(&chip)
        .expect("within every limit");
    for core in &compiled.program.cores {
        assert!(core.destinations.len() <= 6);
    }

    chip.core.output_axons = 3;
    let err = compile(&net(text), &chip).unwrap_err();
    assert!(
        matches!(
            err,
            CompileError::NeuronTooLarge {
                limit: Limit::OutputAxons,
                needed: 4,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn placement_uses_distinct_locations_on_the_chip() {
    let chip = small_chip(1, 64);
    let compiled = compile(&net(TWO_LAYER), &chip).expect("compiles");
    let mut locations: Vec<u32> = compiled.program.cores.iter().map(|c| c.location).collect();
    locations.sort_unstable();
    locations.dedup();
    assert_eq!(locations.len(), 5);
    assert!(locations.iter().all(|&l| l < 64));
}

#[test]
fn the_verifier_catches_a_damaged_program() {
    let network = net(TWO_LAYER);
    let chip = ChipProfile::loihi2();
    let compiled = compile(&network, &chip).expect("compiles");
    crate::verify::verify(&network, &compiled.program, &chip).expect("verifies");
    let mut wrong_weight = compiled.program.clone();
    wrong_weight.cores[0].synapses[0].weight += 1;
    let err = crate::verify::verify(&network, &wrong_weight, &chip).unwrap_err();
    assert!(err.contains("missing from the program"), "{err}");
    let mut wrong_delay = compiled.program.clone();
    wrong_delay.cores[0].synapses[0].delay += 1;
    assert!(crate::verify::verify(&network, &wrong_delay, &chip).is_err());
    let mut dropped = compiled.program.clone();
    // a[0] feeds b[0] and b[1] through axon 3: drop its route, and the axon
    // is reached by nothing.
    dropped.cores[0].routes[0].len = 0;
    let err = crate::verify::verify(&network, &dropped, &chip).unwrap_err();
    assert!(
        err.contains("core 0 axon 3 is reached by no source"),
        "{err}"
    );
}

#[test]
fn compiled_programs_survive_encoding() {
    let compiled = compile(&net(TWO_LAYER), &ChipProfile::loihi1()).expect("compiles");
    let bytes = compiled.program.encode();
    let decoded = neurite_program::Program::decode(&bytes).expect("decodes");
    assert_eq!(decoded, compiled.program);
    decoded
        .validate(&ChipProfile::loihi1())
        .expect("valid on loihi1");
}

#[test]
fn input_only_network_compiles_to_no_cores() {
    let compiled = compile(
        &net("[[populations]]\nname = \"in\"\nsize = 2\nmodel = \"input\"\n"),
        &ChipProfile::loihi2(),
    )
    .expect("compiles");
    assert!(compiled.program.cores.is_empty());
    let port = &compiled.program.inputs[0];
    assert_eq!(port.channels.len(), 2);
    assert!(port.channel(0).is_empty() && port.channel(1).is_empty());
}

#[test]
fn distinct_profiles_that_exhaust_the_cores_are_named_as_the_cause() {
    // 40 neurons with distinct thresholds; 4 profiles per core; 8 cores.
    let text = format!(
        "[[populations]]\nname = \"p\"\nsize = 40\nmodel = \"lif\"\ndu = 0\ndv = 0\nvth = [{}]\n",
        (0..40)
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut chip = small_chip(1000, 8);
    chip.core.neuron_profiles = 4;
    let err = compile(&net(&text), &chip).unwrap_err();
    assert!(
        matches!(
            err,
            CompileError::TooManyCores {
                limit: Limit::Profiles,
                available: 8,
                placed: 32,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("share du, dv, vth and refractory values"),
        "{err}"
    );
    // With room for 10 cores it fits, 4 neurons per core.
    chip.mesh.tiles_x = 10;
    let compiled = compile(&net(&text), &chip).expect("fits");
    assert_eq!(compiled.program.cores.len(), 10);
}

#[test]
fn output_axons_split_only_the_populations_that_send() {
    // 64 senders S, each feeding all 128 targets T; cores of 64 neurons and
    // 100 output axons. T needs at least 2 cores, so each sender needs 2 or
    // 3 output axons: S must split, and the whole fits about 4 cores of the
    // chip's 16 (splitting every population to single neurons would not).
    let text = r#"
[[populations]]
name = "in"
size = 1
model = "input"
[[populations]]
name = "s"
size = 64
model = "lif"
du = 0
dv = 0
vth = 1
[[populations]]
name = "t"
size = 128
model = "lif"
du = 0
dv = 0
vth = 1
[[projections]]
from = "in"
to = "s"
fixed_probability = { p = 1.0, weight = 10, seed = 1 }
[[projections]]
from = "s"
to = "t"
fixed_probability = { p = 1.0, weight = 10, seed = 1 }
"#;
    let mut chip = small_chip(64, 16);
    chip.core.output_axons = 100;
    let compiled = compile(&net(text), &chip).expect("fits");
    compiled
        .program
        .validate(&chip)
        .expect("within every limit");
    assert!(
        compiled.program.cores.len() <= 5,
        "{} cores",
        compiled.program.cores.len()
    );
    let s = &compiled.program.populations[0];
    let mut s_cores: Vec<u32> = s.neurons.iter().map(|a| a.core.0).collect();
    s_cores.dedup();
    assert!(s_cores.len() >= 2, "S must split");
}

#[test]
fn delay_slots_limit_neurons_per_core() {
    // loihi1: 8,192 delay slots; with delays up to 10 a core holds 8192 / 11
    // = 744 neurons, though 1,024 compartments would fit.
    let text = r#"
[[populations]]
name = "in"
size = 1000
model = "input"
[[populations]]
name = "n"
size = 1000
model = "lif"
du = 0
dv = 0
vth = 1
[[projections]]
from = "in"
to = "n"
one_to_one = { weight = 10 }
delay = 10
"#;
    let chip = ChipProfile::loihi1();
    let compiled = compile(&net(text), &chip).expect("fits");
    let sizes: Vec<usize> = compiled
        .program
        .cores
        .iter()
        .map(|c| c.neurons.len())
        .collect();
    assert_eq!(sizes, vec![744, 256]);
    assert_eq!(compiled.report.closed_by, vec![(Limit::DelaySlots, 1)]);
    // Without delays the population fits one core.
    let short = compile(&net(&text.replace("delay = 10", "delay = 0")), &chip).expect("fits");
    assert_eq!(short.program.cores.len(), 1);
}

#[test]
fn weight_bits_beyond_the_chip_are_refused() {
    let mut chip = small_chip(100, 8);
    chip.core.max_weight_bits = 4;
    let text = TWO_LAYER.replace("weight_exp = -2", "weight_exp = -2\nnum_weight_bits = 6");
    let err = compile(&net(&text), &chip).unwrap_err();
    assert_eq!(
        err.to_string(),
        "projection #0 'in->a': 8 weight bits exceed chip 'small' maximum of 4"
    );
}

#[test]
fn dropped_synapses_do_not_widen_the_delay_field() {
    // The delay-62 synapse quantizes to 0 (weight 1 in 1-bit excitatory).
    let text = r#"
[[populations]]
name = "in"
size = 2
model = "input"
[[populations]]
name = "n"
size = 1
model = "lif"
du = 0
dv = 0
vth = 1
[[projections]]
from = "in"
to = "n"
sparse = [[0, 0, 200, 1], [1, 0, 1, 62]]
num_weight_bits = 1
"#;
    let mut chip = small_chip(10, 4);
    chip.core.max_delay = 5;
    let compiled = compile(&net(text), &chip).expect("the long delay is dropped with its synapse");
    assert_eq!(compiled.program.cores[0].groups[0].max_delay, 1);
}

#[test]
fn the_verifier_catches_parameters_reports_and_orphans() {
    let network = net(TWO_LAYER);
    let chip = ChipProfile::loihi2();
    let program = compile(&network, &chip).expect("compiles").program;
    let check = |mutate: &dyn Fn(&mut neurite_program::Program), expected: &str| {
        let mut damaged = program.clone();
        mutate(&mut damaged);
        let err = crate::verify::verify(&network, &damaged, &chip).unwrap_err();
        assert!(err.contains(expected), "expected '{expected}' in '{err}'");
    };
    check(&|p| p.cores[0].profiles[0].vth += 1000, "neuron 'a'[0] has");
    check(
        &|p| p.cores[0].neurons.bias_mant[1] = 7,
        "neuron 'a'[1] has",
    );
    check(&|p| p.cores[0].neurons.v[0] = 3, "neuron 'a'[0] has");
    check(
        &|p| p.populations[1].report_spikes = false,
        "population 'b' does not report its spikes, but the description probes them",
    );
    check(
        &|p| {
            let core = &mut p.cores[0];
            let start = core.synapses.len() as u32;
            core.synapses.push(core.synapses[0]);
            core.axons.push(neurite_program::Run { start, len: 1 });
        },
        "core 0 axon 5 is reached by no source",
    );
}
