use neurite_chip::ChipProfile;
use proptest::prelude::*;

use crate::*;

/// Two cores: core 0 holds neurons 0..2 whose spikes feed core 1's axon 0;
/// a host input port drives core 0's axon 0.
fn sample() -> Program {
    let profile = NeuronProfile {
        model: NeuronModel::Lif,
        du: 1024,
        dv: 512,
        vth: 200,
        refractory: 0,
        reset: Reset::Subtract,
    };
    let group = SynapseGroup {
        weight_exp: -1,
        num_weight_bits: 8,
        sign_mode: SignMode::Mixed,
        kind: SynapseKind::Dense,
        max_delay: 62,
        learning: None,
    };
    let core0 = Core {
        location: 0,
        profiles: vec![profile],
        neurons: Neurons {
            profile: vec![ProfileId(0); 2],
            bias_mant: vec![0, 50],
            bias_exp: vec![0, 3],
            u: vec![0, 0],
            v: vec![0, -5],
        },
        groups: vec![group],
        axons: vec![Run { start: 0, len: 2 }],
        synapses: vec![
            Synapse {
                target: NeuronId(0),
                weight: 50,
                delay: 0,
                group: GroupId(0),
            },
            Synapse {
                target: NeuronId(1),
                weight: -20,
                delay: 62,
                group: GroupId(0),
            },
        ],
        routes: vec![Run { start: 0, len: 1 }, Run { start: 1, len: 0 }],
        destinations: vec![AxonAddress {
            core: CoreId(1),
            axon: AxonId(0),
        }],
        learning: Vec::new(),
    };
    let core1 = Core {
        location: 5,
        profiles: vec![profile],
        neurons: Neurons {
            profile: vec![ProfileId(0)],
            bias_mant: vec![1],
            bias_exp: vec![0],
            u: vec![0],
            v: vec![0],
        },
        groups: vec![group],
        axons: vec![Run { start: 0, len: 1 }],
        synapses: vec![Synapse {
            target: NeuronId(0),
            weight: 127,
            delay: 3,
            group: GroupId(0),
        }],
        routes: vec![Run { start: 0, len: 0 }],
        destinations: vec![],
        learning: Vec::new(),
    };
    Program {
        chip: "loihi2".to_string(),
        cores: vec![core0, core1],
        inputs: vec![InputPort {
            name: "in".to_string(),
            channels: vec![Run { start: 0, len: 1 }],
            axons: vec![AxonAddress {
                core: CoreId(0),
                axon: AxonId(0),
            }],
        }],
        populations: vec![PopulationMap {
            name: "hidden".to_string(),
            neurons: vec![
                NeuronAddress {
                    core: CoreId(0),
                    neuron: NeuronId(0),
                },
                NeuronAddress {
                    core: CoreId(0),
                    neuron: NeuronId(1),
                },
            ],
            report_spikes: true,
        }],
        notes: Notes {
            network: "sample".to_string(),
            report: String::new(),
        },
        neuromodulators: Vec::new(),
    }
}

#[test]
fn sample_is_valid_for_loihi2() {
    sample().validate(&ChipProfile::loihi2()).expect("valid");
}

#[test]
fn encoding_round_trips() {
    let program = sample();
    let bytes = program.encode();
    assert_eq!(&bytes[..8], &MAGIC);
    assert_eq!(Program::decode(&bytes), Ok(program));
    let header = Program::peek_header(&bytes).expect("header");
    assert_eq!(header.version, FORMAT_VERSION);
    assert_eq!(header.chip, "loihi2");
}

#[test]
fn every_truncation_is_a_typed_error() {
    let bytes = sample().encode();
    for len in 0..bytes.len() {
        let err = Program::decode(&bytes[..len]).unwrap_err();
        match err {
            DecodeError::NotAProgram | DecodeError::Truncated { .. } => {}
            other => panic!("length {len}: unexpected {other:?}"),
        }
    }
    let err = Program::decode(&bytes[..bytes.len() - 3]).unwrap_err();
    assert!(err.to_string().contains("truncated: body needs"), "{err}");
}

#[test]
fn version_3_programs_decode_with_every_profile_resetting_to_zero() {
    // Written by the version-3 encoder (`neurite compile examples/two-layer.toml`
    // before profiles had a reset): one core, one profile.
    let bytes = include_bytes!("../../../tests/golden/program/two-layer.v3.nprog");
    assert_eq!(Program::peek_header(bytes).expect("header").version, 3);
    let program = Program::decode(bytes).expect("a version-3 Program decodes");
    assert_eq!(program.notes.network, "two-layer");
    assert_eq!(program.cores.len(), 1);
    let profiles = &program.cores[0].profiles;
    assert!(!profiles.is_empty());
    assert!(profiles.iter().all(|p| p.reset == Reset::Zero));
    program.validate(&ChipProfile::loihi2()).expect("valid");
    // Encoding it again writes the current version, which reads back equal.
    let again = program.encode();
    assert_eq!(
        Program::peek_header(&again).expect("header").version,
        FORMAT_VERSION
    );
    assert_eq!(Program::decode(&again), Ok(program));
}

#[test]
fn wrong_version_is_refused_before_the_body() {
    let mut bytes = sample().encode();
    bytes[8..12].copy_from_slice(&7u32.to_le_bytes());
    let err = Program::decode(&bytes).unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnsupportedVersion {
            found: 7,
            oldest: 3,
            newest: FORMAT_VERSION
        }
    );
    assert_eq!(
        err.to_string(),
        "program format version 7 is not supported (this build reads versions 3 to 5)"
    );
    bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
    assert!(matches!(
        Program::decode(&bytes),
        Err(DecodeError::UnsupportedVersion { found: 2, .. })
    ));
}

#[test]
fn flipped_body_byte_fails_the_checksum() {
    let mut bytes = sample().encode();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    assert!(matches!(
        Program::decode(&bytes),
        Err(DecodeError::ChecksumMismatch { .. })
    ));
}

#[test]
fn trailing_bytes_and_bad_magic_are_refused() {
    let mut bytes = sample().encode();
    bytes.push(0);
    assert_eq!(
        Program::decode(&bytes),
        Err(DecodeError::TrailingBytes { extra: 1 })
    );
    assert_eq!(
        Program::decode(b"PK\x03\x04zip!"),
        Err(DecodeError::NotAProgram)
    );
}

#[test]
fn inconsistent_tables_are_refused_on_decode() {
    let mut program = sample();
    program.cores[1].synapses[0].target = NeuronId(9);
    let err = Program::decode(&program.encode()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("core 1: synapses[0]: target neuron 9 does not exist"),
        "{msg}"
    );
}

#[test]
fn validation_names_the_core_table_and_entry() {
    let chip = ChipProfile::loihi2();
    type Mutation = Box<dyn Fn(&mut Program)>;
    let cases: Vec<(Mutation, &str)> = vec![
        (
            Box::new(|p| p.cores[0].axons[0].len = 5),
            "core 0: axons[0]: run 0..5 lies outside a table of 2 entries",
        ),
        (
            Box::new(|p| p.cores[0].destinations[0].axon = AxonId(4)),
            "core 0: destinations[0]: axon 4 does not exist on core 1",
        ),
        (
            Box::new(|p| p.cores[0].destinations[0].core = CoreId(2)),
            "core 0: destinations[0]: core 2 does not exist",
        ),
        (
            Box::new(|p| p.cores[0].neurons.u[1] = -(1 << 23)),
            "core 0: neurons[1]: u -8388608 outside",
        ),
        (
            Box::new(|p| p.cores[0].neurons.bias_exp[0] = 8),
            "core 0: neurons[0]: bias_exp 8 out of range",
        ),
        (
            Box::new(|p| p.cores[0].neurons.v.pop().map(drop).unwrap_or(())),
            "core 0: v has 1 entries for 2 neurons",
        ),
        (
            Box::new(|p| p.cores[0].synapses[0].weight = 128),
            "core 0: synapses[0]: weight mantissa 128 outside -128..=127",
        ),
        (
            Box::new(|p| p.cores[0].synapses[0].group = GroupId(3)),
            "core 0: synapses[0]: group 3 does not exist",
        ),
        (
            Box::new(|p| p.cores[0].profiles[0].du = 4096),
            "core 0: profiles[0]: du 4096",
        ),
        (
            Box::new(|p| p.cores[1].groups[0].weight_exp = 8),
            "core 1: groups[0]: weight_exp 8 out of range",
        ),
        (
            Box::new(|p| p.inputs[0].axons[0].axon = AxonId(1)),
            "input port 'in': axons[0]: axon 1 does not exist on core 0",
        ),
        (
            Box::new(|p| p.inputs[0].channels[0].len = 2),
            "input port 'in': channel 0: run 0..2 lies outside a table of 1 entries",
        ),
        (
            Box::new(|p| p.populations[0].neurons[1].neuron = NeuronId(7)),
            "population 'hidden': neuron 1: neuron 7 does not exist on core 0",
        ),
        (
            Box::new(|p| p.chip = "loihi1".to_string()),
            "built for chip 'loihi1', this board is 'loihi2'",
        ),
    ];
    for (mutate, expected) in cases {
        let mut program = sample();
        mutate(&mut program);
        let msg = program.validate(&chip).unwrap_err().to_string();
        assert!(msg.contains(expected), "expected '{expected}' in '{msg}'");
    }
}

#[test]
fn chip_limits_are_enforced() {
    let mut chip = ChipProfile::loihi2();
    chip.core.neurons = 1;
    let msg = sample().validate(&chip).unwrap_err().to_string();
    assert_eq!(msg, "core 0: 2 neurons exceed the chip's limit of 1");
    let mut chip = ChipProfile::loihi2();
    chip.mesh = neurite_chip::Mesh {
        tiles_x: 1,
        tiles_y: 1,
        cores_per_tile: 1,
    };
    let msg = sample().validate(&chip).unwrap_err().to_string();
    assert_eq!(msg, "program uses 2 cores, chip 'loihi2' has 1");
    let mut chip = ChipProfile::loihi2();
    chip.core.max_delay = 10;
    let msg = sample().validate(&chip).unwrap_err().to_string();
    assert!(
        msg.contains("delay 62 exceeds the chip's maximum of 10"),
        "{msg}"
    );
}

#[test]
fn mantissa_ranges_follow_sign_mode_and_width() {
    assert_eq!(SignMode::Mixed.mantissa_range(8), (-128, 127));
    assert_eq!(SignMode::Mixed.mantissa_range(1), (-1, 0));
    assert_eq!(SignMode::Excitatory.mantissa_range(8), (0, 255));
    assert_eq!(SignMode::Inhibitory.mantissa_range(3), (-7, 0));
    assert_eq!(SignMode::Mixed.weight_shift(8), 1);
    assert_eq!(SignMode::Excitatory.weight_shift(8), 0);
    assert_eq!(SignMode::Inhibitory.weight_shift(5), 3);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// Arbitrary damage to an encoded Program gives an error or a Program that
    /// passes the structural checks; never a panic.
    #[test]
    fn damaged_bytes_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        fix_checksum in any::<bool>(),
    ) {
        let mut bytes = sample().encode();
        let header_len = 8 + 4 + 2 + 6 + 8 + 4;
        for (index, value) in edits {
            let at = index.index(bytes.len());
            bytes[at] = value;
        }
        if fix_checksum && bytes.len() > header_len {
            let crc = crc32fast::hash(&bytes[header_len..]);
            bytes[header_len - 4..header_len].copy_from_slice(&crc.to_le_bytes());
        }
        if let Ok(program) = Program::decode(&bytes) {
            prop_assert!(program.check_structure().is_ok());
        }
    }
}

#[test]
fn locations_must_be_on_the_chip_and_distinct() {
    let chip = ChipProfile::loihi2();
    let mut program = sample();
    program.cores[1].location = 128;
    assert_eq!(
        program.validate(&chip).unwrap_err().to_string(),
        "core 1: location 128 is outside the chip's 128 cores"
    );
    program.cores[1].location = 0;
    assert_eq!(
        program.validate(&chip).unwrap_err().to_string(),
        "core 1: location 0 is already taken by core 0"
    );
}

#[test]
fn usage_counts_axons_destinations_and_memory() {
    let chip = ChipProfile::loihi1();
    let mut program = sample();
    program.chip = "loihi1".to_string();
    let usage = program.cores[0].usage(&chip);
    assert_eq!(
        (usage.neurons, usage.input_axons, usage.output_axons),
        (2, 1, 1)
    );
    // One run of 2 entries, group 0: 8 weight bits, delay up to 62 (6 bits),
    // 10 index bits (1024 neurons): 2 · 24 + 10 = 58 → one 64-bit word.
    assert_eq!(usage.memory.used_bits, 64);
    assert_eq!(usage.memory.capacity_bits, 1 << 20);
    program.validate(&chip).expect("fits loihi1");

    let mut small = chip.clone();
    small.core.memory = neurite_chip::CoreMemory::Synapses {
        bits: 32,
        block_synapses: 64,
        block_overhead_bits: 10,
        word_bits: 64,
    };
    assert_eq!(
        program.validate(&small).unwrap_err().to_string(),
        "core 0: 64 bits of memory exceed the chip's limit of 32"
    );
    let mut few_axons = chip.clone();
    few_axons.core.output_axons = 0;
    assert_eq!(
        program.validate(&few_axons).unwrap_err().to_string(),
        "core 0: 1 output axons exceed the chip's limit of 0"
    );
}

#[test]
fn text_form_lists_every_table() {
    let text = sample().to_text();
    for line in [
        "program for chip 'loihi2', network 'sample'",
        "core 0 at location 0: 2 neurons, 1 axons, 2 synapses, 1 destinations",
        "  neuron 1: profile 0 bias 50<<3 u 0 v -5",
        "  group 0: weight_exp -1 bits 8 mixed Dense max_delay 62",
        "  axon 0: n0 w50 d0 g0; n1 w-20 d62 g0;",
        "  route n0 -> c1.a0",
        "input 'in': 1 channels",
        "  channel 0 -> c0.a0",
        "population 'hidden' (reports spikes): c0.n0 c0.n1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing '{line}' in\n{text}"
        );
    }
}

/// A version-4 body: the tables of version 5 without learning groups or
/// neuromodulators, written field by field as the version-4 encoder did.
mod v4 {
    use serde::Serialize;

    use crate::{
        AxonAddress, InputPort, NeuronProfile, Neurons, Notes, PopulationMap, Run, SignMode,
        Synapse, SynapseKind,
    };

    #[derive(Serialize)]
    pub(super) struct Program<'a> {
        chip: &'a str,
        cores: Vec<Core<'a>>,
        inputs: &'a [InputPort],
        populations: &'a [PopulationMap],
        notes: &'a Notes,
    }

    #[derive(Serialize)]
    struct Core<'a> {
        location: u32,
        profiles: &'a [NeuronProfile],
        neurons: &'a Neurons,
        groups: Vec<SynapseGroup>,
        axons: &'a [Run],
        synapses: &'a [Synapse],
        routes: &'a [Run],
        destinations: &'a [AxonAddress],
    }

    #[derive(Serialize)]
    struct SynapseGroup {
        weight_exp: i8,
        num_weight_bits: u8,
        sign_mode: SignMode,
        kind: SynapseKind,
        max_delay: u8,
    }

    pub(super) fn of(p: &crate::Program) -> Program<'_> {
        Program {
            chip: &p.chip,
            cores: p
                .cores
                .iter()
                .map(|c| Core {
                    location: c.location,
                    profiles: &c.profiles,
                    neurons: &c.neurons,
                    groups: c
                        .groups
                        .iter()
                        .map(|g| SynapseGroup {
                            weight_exp: g.weight_exp,
                            num_weight_bits: g.num_weight_bits,
                            sign_mode: g.sign_mode,
                            kind: g.kind,
                            max_delay: g.max_delay,
                        })
                        .collect(),
                    axons: &c.axons,
                    synapses: &c.synapses,
                    routes: &c.routes,
                    destinations: &c.destinations,
                })
                .collect(),
            inputs: &p.inputs,
            populations: &p.populations,
            notes: &p.notes,
        }
    }
}

#[test]
fn version_4_programs_decode_without_learning() {
    let program = sample();
    let body = postcard::to_allocvec(&v4::of(&program)).expect("serialises");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&4u32.to_le_bytes());
    bytes.extend_from_slice(&(program.chip.len() as u16).to_le_bytes());
    bytes.extend_from_slice(program.chip.as_bytes());
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    bytes.extend_from_slice(&body);
    assert_eq!(Program::peek_header(&bytes).expect("header").version, 4);
    assert_eq!(Program::decode(&bytes), Ok(program));
}

#[test]
fn a_version_4_file_from_the_version_4_encoder_decodes() {
    // `neurite compile` of examples/two-layer.toml with reset = "subtract"
    // on the hidden population, by the last build that wrote version 4.
    let bytes = include_bytes!("../../../tests/golden/program/two-layer-subtract.v4.nprog");
    assert_eq!(Program::peek_header(bytes).expect("header").version, 4);
    let program = Program::decode(bytes).expect("a version-4 Program decodes");
    assert_eq!(program.notes.network, "two-layer-subtract");
    assert_eq!(program.cores.len(), 1);
    assert_eq!(program.synapse_count(), 6);
    assert!(
        program.cores[0]
            .profiles
            .iter()
            .any(|p| p.reset == Reset::Subtract)
    );
    assert!(program.cores[0].learning.is_empty() && program.neuromodulators.is_empty());
    assert!(program.cores[0].groups.iter().all(|g| g.learning.is_none()));
    program.validate(&ChipProfile::loihi2()).expect("valid");
    let again = program.encode();
    assert_eq!(Program::decode(&again), Ok(program));
}
