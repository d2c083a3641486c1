use neurite_chip::ChipProfile;
use neurite_program::*;

use crate::{Emulator, EmulatorError, Var};

/// One core, two neurons (du = 4095, so u shows exactly one step's input),
/// one axon whose run has two groups: weight 3 and 5 to neuron 0 with
/// weight_exp −1, and 100 to neuron 1 with weight_exp 2 and delay 1. A host
/// port with two channels drives the axon (channel 0) and nothing (channel 1).
fn program() -> Program {
    let core = Core {
        location: 0,
        profiles: vec![NeuronProfile {
            model: NeuronModel::Lif,
            du: 4095,
            dv: 0,
            vth: 131_071,
            refractory: 0,
            reset: Reset::Zero,
        }],
        neurons: Neurons {
            profile: vec![ProfileId(0); 2],
            bias_mant: vec![0; 2],
            bias_exp: vec![0; 2],
            u: vec![0; 2],
            v: vec![0; 2],
        },
        groups: vec![
            SynapseGroup {
                weight_exp: -1,
                num_weight_bits: 8,
                sign_mode: SignMode::Excitatory,
                kind: SynapseKind::Sparse,
                max_delay: 62,
                learning: None,
            },
            SynapseGroup {
                weight_exp: 2,
                num_weight_bits: 8,
                sign_mode: SignMode::Excitatory,
                kind: SynapseKind::Sparse,
                max_delay: 62,
                learning: None,
            },
        ],
        axons: vec![Run { start: 0, len: 3 }],
        synapses: vec![
            Synapse {
                target: NeuronId(0),
                weight: 3,
                delay: 0,
                group: GroupId(0),
            },
            Synapse {
                target: NeuronId(1),
                weight: 100,
                delay: 1,
                group: GroupId(1),
            },
            Synapse {
                target: NeuronId(0),
                weight: 5,
                delay: 0,
                group: GroupId(0),
            },
        ],
        routes: vec![Run::default(); 2],
        destinations: vec![],
        learning: Vec::new(),
    };
    let address = |neuron| NeuronAddress {
        core: CoreId(0),
        neuron: NeuronId(neuron),
    };
    Program {
        chip: "loihi2".to_string(),
        cores: vec![core],
        inputs: vec![InputPort {
            name: "in".to_string(),
            channels: vec![Run { start: 0, len: 1 }, Run { start: 1, len: 0 }],
            axons: vec![AxonAddress {
                core: CoreId(0),
                axon: AxonId(0),
            }],
        }],
        populations: vec![
            PopulationMap {
                name: "both".to_string(),
                neurons: vec![address(0), address(1)],
                report_spikes: true,
            },
            PopulationMap {
                name: "quiet".to_string(),
                neurons: vec![address(1)],
                report_spikes: false,
            },
        ],
        notes: Notes::default(),
        neuromodulators: Vec::new(),
    }
}

fn u_after(emulator: &Emulator) -> Vec<i32> {
    let mut u = Vec::new();
    emulator.read(0, Var::U, &mut u).expect("population 0");
    u
}

#[test]
fn segments_of_one_axon_use_their_own_group() {
    let mut emulator = Emulator::new(&program(), &ChipProfile::loihi2()).expect("valid");
    emulator.inject(0, &[0]).expect("channel 0");
    emulator.step();
    assert_eq!(u_after(&emulator), vec![0, 0]);
    emulator.step();
    // Group 0 sums 3 + 5 = 8 before its shift: 8 >> 1 = 4, << 6 = 256.
    // Neuron 1's synapse has delay 1: nothing yet.
    assert_eq!(u_after(&emulator), vec![256, 0]);
    emulator.step();
    // 100 << 2 = 400, << 6 = 25600, one step later.
    assert_eq!(u_after(&emulator), vec![0, 25_600]);
    assert_eq!(emulator.current_step(), 3);
    assert_eq!(emulator.totals().synaptic_ops, 3);
}

#[test]
fn a_channel_injected_twice_spikes_once() {
    let mut emulator = Emulator::new(&program(), &ChipProfile::loihi2()).expect("valid");
    emulator.inject(0, &[0, 0]).expect("channel 0");
    emulator.inject(0, &[0, 1]).expect("channels 0 and 1");
    emulator.step();
    emulator.step();
    assert_eq!(u_after(&emulator), vec![256, 0]);
}

#[test]
fn bad_requests_are_typed_errors() {
    let mut emulator = Emulator::new(&program(), &ChipProfile::loihi2()).expect("valid");
    assert_eq!(
        emulator.inject(1, &[0]),
        Err(EmulatorError::UnknownInputPort { port: 1, ports: 1 })
    );
    let err = emulator.inject(0, &[0, 2]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "input port 'in' has 2 channels, got channel 2"
    );
    let mut out = Vec::new();
    assert_eq!(
        emulator.read(2, Var::V, &mut out),
        Err(EmulatorError::UnknownPopulation {
            population: 2,
            populations: 2
        })
    );
    assert!(emulator.spike_counts(5).is_err());
    let err = emulator.spiked(1).err().expect("not reported");
    assert_eq!(
        err.to_string(),
        "population 'quiet' does not report its spikes to the host"
    );
    // A rejected injection queues nothing.
    emulator.step();
    emulator.step();
    assert_eq!(u_after(&emulator), vec![0, 0]);
}

#[test]
fn an_invalid_program_is_refused() {
    let mut program = program();
    program.cores[0].synapses[1].target = NeuronId(7);
    let err = Emulator::new(&program, &ChipProfile::loihi2()).unwrap_err();
    assert!(
        err.to_string()
            .contains("core 0: synapses[1]: target neuron 7 does not exist"),
        "{err}"
    );
    let err = Emulator::new(&self::program(), &ChipProfile::loihi1()).unwrap_err();
    assert!(matches!(
        err,
        EmulatorError::InvalidProgram(ValidationError::ChipMismatch { .. })
    ));
}

#[test]
fn state_reads_and_writes_by_population_and_core() {
    use crate::Target;
    let mut emulator = Emulator::new(&program(), &ChipProfile::loihi2()).expect("valid");
    let mut out = Vec::new();
    emulator
        .write_range(Target::Population(0), Var::V, 1, &[-42])
        .expect("in range");
    emulator
        .read_range(Target::Core(0), Var::V, 0, None, &mut out)
        .expect("core 0");
    assert_eq!(out, vec![0, -42]);
    // A bias set on neuron 0 drives it: bias 3 << 2 = 12 per step, no leak.
    emulator
        .write_range(Target::Core(0), Var::BiasMant, 0, &[3])
        .expect("in range");
    emulator
        .write_range(Target::Core(0), Var::BiasExp, 0, &[2])
        .expect("in range");
    emulator.step();
    emulator
        .read_range(Target::Population(0), Var::V, 0, Some(1), &mut out)
        .expect("population 0");
    assert_eq!(out, vec![12]);
    emulator
        .read_range(Target::Population(0), Var::BiasMant, 0, None, &mut out)
        .expect("population 0");
    assert_eq!(out, vec![3, 0]);

    let err = emulator
        .write_range(Target::Core(0), Var::BiasExp, 0, &[8])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "value 8 for neuron 0 is out of range 0..=7"
    );
    let err = emulator
        .write_range(Target::Core(0), Var::U, 1, &[0, 0])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "neurons 1..3 are out of range: the target has 2"
    );
    assert!(
        emulator
            .read_range(Target::Core(3), Var::U, 0, None, &mut out)
            .is_err()
    );
    // A refused write changes nothing.
    emulator
        .read_range(Target::Core(0), Var::U, 0, None, &mut out)
        .expect("core 0");
    assert_eq!(out, vec![0, 0]);
    // Spike counts read like any variable and refuse writes.
    emulator
        .read_range(Target::Population(0), Var::SpikeCount, 0, None, &mut out)
        .expect("population 0");
    assert_eq!(
        out,
        emulator
            .spike_counts(0)
            .expect("population 0")
            .iter()
            .map(|&c| c as i32)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        emulator.write_range(Target::Core(0), Var::SpikeCount, 0, &[1]),
        Err(EmulatorError::ReadOnly {
            var: Var::SpikeCount
        })
    );
}
