//! The delivery fabric against a plain interpreter of the Program's tables,
//! on random Programs the compiler would not write (axons reached by several
//! neurons and host channels, one neuron reaching an axon twice, groups of
//! every weight exponent and delays mixed in one axon's run), on 1, 2 and 3
//! threads, with the partitioning changed in the middle of a run.

use std::collections::HashMap;

use neurite_chip::ChipProfile;
use neurite_program::*;

use crate::neuron::{LifConstants, apply_weight_exp, lif_step};
use crate::{Emulator, Target, Var};

/// xorshift64*: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
}

fn random_program(rng: &mut Rng) -> Program {
    let cores = rng.range(1, 6) as usize;
    let sizes: Vec<usize> = (0..cores).map(|_| rng.range(1, 12) as usize).collect();
    let axons: Vec<usize> = (0..cores).map(|_| rng.range(1, 10) as usize).collect();
    let address = |rng: &mut Rng| {
        let core = rng.below(cores as u64) as usize;
        AxonAddress {
            core: CoreId(core as u32),
            axon: AxonId(rng.below(axons[core] as u64) as u32),
        }
    };
    let mut program = Program::empty("loihi2");
    for c in 0..cores {
        let n = sizes[c];
        let profiles: Vec<NeuronProfile> = (0..rng.range(1, 3))
            .map(|_| NeuronProfile {
                model: NeuronModel::Lif,
                du: rng.range(0, 4095) as u16,
                dv: [0, 400, 4095][rng.below(3) as usize],
                vth: rng.range(0, 300) as u32,
                refractory: [0, 0, 2, 5][rng.below(4) as usize],
                reset: [Reset::Zero, Reset::Subtract][rng.below(2) as usize],
            })
            .collect();
        let groups: Vec<SynapseGroup> = (0..rng.range(1, 3))
            .map(|_| SynapseGroup {
                weight_exp: rng.range(-4, 3) as i8,
                num_weight_bits: rng.range(1, 8) as u8,
                sign_mode: [SignMode::Mixed, SignMode::Excitatory, SignMode::Inhibitory]
                    [rng.below(3) as usize],
                kind: [SynapseKind::Dense, SynapseKind::Sparse][rng.below(2) as usize],
                max_delay: 62,
                learning: None,
            })
            .collect();
        let mut synapses = Vec::new();
        let mut runs = Vec::new();
        for _ in 0..axons[c] {
            let start = synapses.len() as u32;
            // Long runs, so that some spans turn contiguous.
            let len = if rng.below(4) == 0 {
                rng.range(8, 30)
            } else {
                rng.range(0, 6)
            };
            for _ in 0..len {
                let g = rng.below(groups.len() as u64) as usize;
                let (lo, hi) = groups[g]
                    .sign_mode
                    .mantissa_range(groups[g].num_weight_bits);
                synapses.push(Synapse {
                    target: NeuronId(rng.below(n as u64) as u32),
                    weight: rng.range(i64::from(lo), i64::from(hi)) as i16,
                    delay: if rng.below(5) == 0 {
                        rng.range(0, 62) as u8
                    } else {
                        rng.range(0, 3) as u8
                    },
                    group: GroupId(g as u16),
                });
            }
            runs.push(Run {
                start,
                len: synapses.len() as u32 - start,
            });
        }
        let mut destinations = Vec::new();
        let mut routes = Vec::new();
        for _ in 0..n {
            let start = destinations.len() as u32;
            for _ in 0..rng.range(0, 4) {
                destinations.push(address(rng));
            }
            routes.push(Run {
                start,
                len: destinations.len() as u32 - start,
            });
        }
        program.cores.push(Core {
            location: c as u32,
            neurons: Neurons {
                profile: (0..n)
                    .map(|_| ProfileId(rng.below(profiles.len() as u64) as u16))
                    .collect(),
                bias_mant: (0..n).map(|_| rng.range(-100, 100) as i16).collect(),
                bias_exp: (0..n).map(|_| rng.range(0, 3) as u8).collect(),
                u: vec![0; n],
                v: (0..n).map(|_| rng.range(-1000, 1000) as i32).collect(),
            },
            profiles,
            groups,
            axons: runs,
            synapses,
            routes,
            destinations,
            learning: Vec::new(),
        });
        program.populations.push(PopulationMap {
            name: format!("core{c}"),
            neurons: (0..n)
                .map(|i| NeuronAddress {
                    core: CoreId(c as u32),
                    neuron: NeuronId(i as u32),
                })
                .collect(),
            report_spikes: true,
        });
    }
    let channels = rng.range(1, 4) as usize;
    let mut port = InputPort {
        name: "in".to_string(),
        channels: Vec::new(),
        axons: Vec::new(),
    };
    for _ in 0..channels {
        let start = port.axons.len() as u32;
        for _ in 0..rng.range(0, 3) {
            port.axons.push(address(rng));
        }
        port.channels.push(Run {
            start,
            len: port.axons.len() as u32 - start,
        });
    }
    program.inputs.push(port);
    program
}

/// The Program's semantics spelled out: sums per (core, group, target,
/// delay) in wide integers, then the shift, then the ring, as a map.
struct Interpreter<'a> {
    program: &'a Program,
    bias_mant: Vec<Vec<i16>>,
    bias_exp: Vec<Vec<u8>>,
    u: Vec<Vec<i32>>,
    v: Vec<Vec<i32>>,
    refractory: Vec<Vec<u8>>,
    arriving: HashMap<(usize, u32, u64), i64>,
    spiked: Vec<Vec<bool>>,
}

impl<'a> Interpreter<'a> {
    fn new(program: &'a Program) -> Self {
        Self {
            program,
            bias_mant: program
                .cores
                .iter()
                .map(|c| c.neurons.bias_mant.clone())
                .collect(),
            bias_exp: program
                .cores
                .iter()
                .map(|c| c.neurons.bias_exp.clone())
                .collect(),
            u: program.cores.iter().map(|c| c.neurons.u.clone()).collect(),
            v: program.cores.iter().map(|c| c.neurons.v.clone()).collect(),
            refractory: program
                .cores
                .iter()
                .map(|c| vec![0; c.neurons.len()])
                .collect(),
            arriving: HashMap::new(),
            spiked: program
                .cores
                .iter()
                .map(|c| vec![false; c.neurons.len()])
                .collect(),
        }
    }

    fn step(&mut self, t: u64, host: &[u32]) {
        let mut sources: Vec<&[AxonAddress]> = Vec::new();
        for (c, core) in self.program.cores.iter().enumerate() {
            for i in 0..core.neurons.len() {
                let p = core.profiles[usize::from(core.neurons.profile[i].0)];
                let constants = LifConstants::new(
                    p.du,
                    p.dv,
                    p.vth,
                    self.bias_mant[c][i],
                    self.bias_exp[c][i],
                    p.refractory,
                )
                .with_reset(p.reset);
                let input = self.arriving.remove(&(c, i as u32, t)).unwrap_or(0) as i32;
                let spiked = lif_step(
                    &mut self.u[c][i],
                    &mut self.v[c][i],
                    &mut self.refractory[c][i],
                    input,
                    &constants,
                );
                self.spiked[c][i] = spiked;
                if spiked {
                    sources.push(&core.destinations[core.routes[i].range()]);
                }
            }
        }
        for &channel in host {
            sources.push(self.program.inputs[0].channel(channel as usize));
        }
        let mut sums: HashMap<(usize, u16, u32, u8), i64> = HashMap::new();
        for destinations in sources {
            for d in destinations {
                let core = &self.program.cores[d.core.0 as usize];
                for s in &core.synapses[core.axons[d.axon.0 as usize].range()] {
                    let group = &core.groups[usize::from(s.group.0)];
                    *sums
                        .entry((d.core.0 as usize, s.group.0, s.target.0, s.delay))
                        .or_default() += i64::from(group.weight_of(s.weight));
                }
            }
        }
        for ((c, g, target, delay), sum) in sums {
            let exp = self.program.cores[c].groups[usize::from(g)].weight_exp;
            *self
                .arriving
                .entry((c, target, t + 1 + u64::from(delay)))
                .or_default() += apply_weight_exp(sum, exp);
        }
        // The ring keeps input modulo 2^32.
        for value in self.arriving.values_mut() {
            *value = i64::from(*value as i32);
        }
    }
}

fn check(emulator: &Emulator, reference: &Interpreter, t: u64, label: &str) {
    let mut out = Vec::new();
    for c in 0..reference.program.cores.len() {
        emulator
            .read_range(Target::Core(c), Var::U, 0, None, &mut out)
            .expect("core");
        assert_eq!(out, reference.u[c], "{label}: u of core {c} at step {t}");
        emulator
            .read_range(Target::Core(c), Var::V, 0, None, &mut out)
            .expect("core");
        assert_eq!(out, reference.v[c], "{label}: v of core {c} at step {t}");
        let spiked: Vec<u32> = emulator.spiked(c).expect("reported").collect();
        let want: Vec<u32> = (0..reference.spiked[c].len() as u32)
            .filter(|&i| reference.spiked[c][i as usize])
            .collect();
        assert_eq!(spiked, want, "{label}: spikes of core {c} at step {t}");
    }
}

#[test]
fn the_fabric_follows_the_tables_on_any_number_of_threads() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let chip = ChipProfile::loihi2();
    let (mut shared, mut spikes, mut synaptic_ops) = (0, 0, 0);
    for case in 0..300 {
        let program = random_program(&mut rng);
        program
            .validate(&chip)
            .unwrap_or_else(|e| panic!("case {case}: {e}"));
        let mut reached = HashMap::new();
        for d in program
            .cores
            .iter()
            .flat_map(|c| &c.destinations)
            .chain(&program.inputs[0].axons)
        {
            *reached.entry(*d).or_insert(0) += 1;
        }
        shared += usize::from(reached.values().any(|&n| n > 1));

        let mut reference = Interpreter::new(&program);
        let mut emulators: Vec<Emulator> = (0..3)
            .map(|_| Emulator::new(&program, &chip).expect("valid"))
            .collect();
        emulators[1].set_threads(2);
        for t in 1..=60u64 {
            match t {
                20 => emulators[2].set_threads(3),
                40 => emulators[2].set_threads(1),
                _ => {}
            }
            if t % 15 == 0 {
                // The host writes state and biases between steps.
                let c = rng.below(program.cores.len() as u64) as usize;
                let i = rng.below(program.cores[c].neurons.len() as u64) as usize;
                let (u, v) = (rng.range(-5000, 5000) as i32, rng.range(-5000, 5000) as i32);
                let (mant, exp) = (rng.range(-300, 300) as i32, rng.range(0, 7) as i32);
                for emulator in &mut emulators {
                    for (var, value) in [
                        (Var::U, u),
                        (Var::V, v),
                        (Var::BiasMant, mant),
                        (Var::BiasExp, exp),
                    ] {
                        emulator
                            .write_range(Target::Core(c), var, i, &[value])
                            .expect("in range");
                    }
                }
                reference.u[c][i] = u;
                reference.v[c][i] = v;
                reference.bias_mant[c][i] = mant as i16;
                reference.bias_exp[c][i] = exp as u8;
            }
            let host: Vec<u32> = (0..program.inputs[0].channels.len() as u32)
                .filter(|_| rng.below(3) == 0)
                .collect();
            for emulator in &mut emulators {
                emulator.inject(0, &host).expect("channels");
                emulator.step();
            }
            reference.step(t, &host);
            for (k, emulator) in emulators.iter().enumerate() {
                check(
                    emulator,
                    &reference,
                    t,
                    &format!("case {case}, emulator {k}"),
                );
            }
        }
        for emulator in &emulators[1..] {
            assert_eq!(
                emulator.core_totals(),
                emulators[0].core_totals(),
                "case {case}"
            );
        }
        spikes += emulators[0].totals().spikes;
        synaptic_ops += emulators[0].totals().synaptic_ops;
    }
    assert!(shared > 200, "only {shared} programs with shared axons");
    assert!(
        spikes > 30_000 && synaptic_ops > 500_000,
        "{spikes} spikes, {synaptic_ops} synaptic ops"
    );
}

#[test]
fn threads_are_capped_by_the_cores() {
    let mut rng = Rng(7);
    let program = random_program(&mut rng);
    let mut emulator = Emulator::new(&program, &ChipProfile::loihi2()).expect("valid");
    assert_eq!(emulator.threads(), 1);
    emulator.set_threads(program.cores.len() + 5);
    assert_eq!(emulator.threads(), program.cores.len());
    emulator.set_threads(1);
    assert_eq!(emulator.threads(), 1);
}
