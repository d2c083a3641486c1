//! The time and energy model against counts, times and energies derived by
//! hand, with Loihi 1's cost table (Davies et al. 2018, Table 2):
//! neuron update 52 pJ / 5.3 ns (+29 pJ / +3.1 ns when active), synaptic op
//! 23.6 pJ / 3.5 ns, message out 1.7 pJ / 2.1 ns, message in free, hops
//! 3.0 pJ / 4.1 ns east–west and 4.0 pJ / 6.5 ns north–south, barrier
//! 113 ns over one tile, static power 104 mW per chip.

use neurite_chip::{ChipProfile, Costs};
use neurite_program::*;

use crate::Emulator;
use crate::model::Counters;

fn profile(vth: u32) -> NeuronProfile {
    NeuronProfile {
        model: NeuronModel::Lif,
        du: 4095,
        dv: 4095,
        vth,
        refractory: 0,
        reset: Reset::Zero,
    }
}

fn neurons(n: usize, bias: i16) -> Neurons {
    Neurons {
        profile: vec![ProfileId(0); n],
        bias_mant: vec![bias; n],
        bias_exp: vec![0; n],
        u: vec![0; n],
        v: vec![0; n],
    }
}

fn group() -> SynapseGroup {
    SynapseGroup {
        weight_exp: 0,
        num_weight_bits: 8,
        sign_mode: SignMode::Excitatory,
        kind: SynapseKind::Sparse,
        max_delay: 62,
        learning: None,
    }
}

fn synapse(target: u32) -> Synapse {
    Synapse {
        target: NeuronId(target),
        weight: 1,
        delay: 0,
        group: GroupId(0),
    }
}

/// Core 0 (at `from`): `n` neurons with bias 100 and threshold 1: they spike
/// every step (v = 100 > 64). Each sends one message to core 1 (at `to`),
/// whose axon k holds one synapse onto its only neuron (threshold high).
fn sender_receiver(n: usize, from: u32, to: u32) -> Program {
    let sender = Core {
        location: from,
        profiles: vec![profile(1)],
        neurons: neurons(n, 100),
        groups: vec![],
        axons: vec![],
        synapses: vec![],
        routes: (0..n as u32).map(|i| Run { start: i, len: 1 }).collect(),
        destinations: (0..n as u32)
            .map(|k| AxonAddress {
                core: CoreId(1),
                axon: AxonId(k),
            })
            .collect(),
        learning: Vec::new(),
    };
    let receiver = Core {
        location: to,
        profiles: vec![profile(131_071)],
        neurons: neurons(1, 0),
        groups: vec![group()],
        axons: (0..n as u32).map(|k| Run { start: k, len: 1 }).collect(),
        synapses: (0..n).map(|_| synapse(0)).collect(),
        routes: vec![Run::default()],
        destinations: vec![],
        learning: Vec::new(),
    };
    let mut program = Program::empty("loihi1");
    program.cores = vec![sender, receiver];
    program
}

fn run(program: &Program, steps: u64) -> Emulator {
    let chip = ChipProfile::loihi1();
    let mut emulator = Emulator::new(program, &chip).expect("valid");
    emulator.enable_model(Costs::loihi1());
    for _ in 0..steps {
        emulator.step();
    }
    emulator
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6 * b.abs().max(1.0)
}

#[test]
fn counts_hops_time_and_energy_of_one_message() {
    // Core 0 at tile (0,0), core 1 at location 3·4 = tile (3,0): three hops
    // east, one tile of four cores... two tiles in use.
    let emulator = run(&sender_receiver(1, 0, 12), 1);
    let model = emulator.model().expect("enabled");
    let step = model.steps()[0];
    assert_eq!(
        step.counts,
        Counters {
            neuron_updates: 2,
            active_updates: 1, // the biased sender; the receiver is at rest
            spikes: 1,
            synaptic_ops: 1,
            sparse_synaptic_ops: 1,
            convolutional_synaptic_ops: 0,
            messages_out: 1,
            messages_in: 1,
            hops_east_west: 3,
            hops_north_south: 0,
            chip_links: 0,
            synaptic_updates: 0,
            trace_updates: 0,
        }
    );
    // Time: sender update 5.3 + 3.1 = 8.4; the message leaves at 8.4 + 2.1 =
    // 10.5, crosses 3 hops: 10.5 + 12.3 = 22.8; the receiver (done updating
    // at 5.3) takes it: 22.8 + 3.5 = 26.3. Barrier over 2 tiles:
    // 113 + (1/31)·352 = 124.3548...
    let barrier = 113.0 + 352.0 / 31.0;
    assert!(close(step.time_ns, 26.3 + barrier), "{}", step.time_ns);
    // Energy: neurons 2·52 + 29 = 133; synapses 23.6; messages 1.7; mesh 9;
    // static 104 mW × t ns = 104·t pJ.
    let e = step.energy;
    assert!(close(e.neurons, 133.0) && close(e.synapses, 23.6) && close(e.messages, 1.7));
    assert!(close(e.mesh, 9.0) && e.links == 0.0 && e.barrier == 0.0);
    assert!(close(e.static_power, 104.0 * step.time_ns));
    assert!(close(
        e.total(),
        133.0 + 23.6 + 1.7 + 9.0 + 104.0 * step.time_ns
    ));
    // Per core: the sender pays its update, its message and the hops; the
    // receiver its update and the synaptic op.
    let cores = model.cores();
    assert!(close(cores[0].energy.total(), 81.0 + 1.7 + 9.0));
    assert!(close(cores[1].energy.total(), 52.0 + 23.6));
    assert_eq!(emulator.totals(), step.counts);
}

#[test]
fn north_south_hops_and_chip_links_are_counted() {
    // Two chips side by side: core 0 on chip 0 tile (7,0); core 1 on chip 1
    // tile (0,1): one east–west hop across the border, one north–south.
    let mut chip = ChipProfile::loihi1();
    chip.chips.x = 2;
    let from = 7 * 4;
    let to = 128 + 8 * 4;
    let mut program = sender_receiver(1, from, to);
    program.chip = chip.name.clone();
    let mut emulator = Emulator::new(&program, &chip).expect("valid");
    emulator.enable_model(Costs::loihi1());
    emulator.step();
    let step = emulator.model().expect("enabled").steps()[0];
    assert_eq!(
        (
            step.counts.hops_east_west,
            step.counts.hops_north_south,
            step.counts.chip_links
        ),
        (1, 1, 1)
    );
    // Time: 8.4 + 2.1 + (4.1 + 65 link) + 6.5 = 86.1, then the synaptic op:
    // 89.6; two chips in use: static power counts twice.
    let t = step.time_ns - (113.0 + 352.0 / 31.0);
    assert!(close(t, 89.6), "{t}");
    assert!(close(step.energy.links, 40.0));
    assert!(close(step.energy.static_power, 2.0 * 104.0 * step.time_ns));
}

#[test]
fn messages_sharing_a_link_queue() {
    // n messages leave 2.1 ns apart but a hop takes 4.1 ns: from the second
    // on, each waits for the link. Message k (1-based) leaves at
    // 8.4 + 2.1k; the first arrives at 10.5 + 4.1 = 14.6 and each next one
    // 4.1 ns later: the last at 14.6 + 4.1(n − 1). The receiver (3.5 ns per
    // message) keeps up, so it finishes at 18.1 + 4.1(n − 1).
    let time_of = |n: usize| {
        let emulator = run(&sender_receiver(n, 0, 4), 1);
        let step = emulator.model().expect("enabled").steps()[0];
        assert_eq!(step.counts.messages_out, n as u64);
        step.time_ns - (113.0 + 352.0 / 31.0)
    };
    for n in [1usize, 5, 20] {
        // The sender updates n neurons: 8.4n before the first message leaves.
        let expected = 8.4 * n as f64 + 2.1 + 4.1 * n as f64 + 3.5;
        assert!(
            close(time_of(n), expected),
            "n {n}: {} vs {expected}",
            time_of(n)
        );
    }
    // Without contention the same messages would take 8.4n + 2.1n + 4.1 + 3.5.
    let n = 20.0;
    assert!(time_of(20) > 8.4 * n + 2.1 * n + 4.1 + 3.5);
}

#[test]
fn cores_of_one_tile_exchange_messages_without_hops() {
    let emulator = run(&sender_receiver(3, 0, 1), 2);
    let model = emulator.model().expect("enabled");
    assert_eq!(model.tiles_in_use(), 1);
    for step in model.steps() {
        assert_eq!(step.counts.hops_east_west + step.counts.hops_north_south, 0);
        assert_eq!(step.counts.messages_out, 3);
    }
    // The senders update in 3 · 8.4 = 25.2 ns; messages leave at 27.3,
    // 29.4 and 31.5 and arrive at once; the receiver takes the first at
    // 27.3 and each needs 3.5 ns, so it is done at 27.3 + 3 · 3.5 = 37.8.
    // Barrier over one tile: 113 ns.
    let step = model.steps()[0];
    assert!(close(step.time_ns, 37.8 + 113.0), "{}", step.time_ns);
}

#[test]
fn synaptic_operations_are_priced_by_kind() {
    // SANA-FE prices a sparse synaptic operation at 33.6 pJ / 4.7 ns and a
    // dense one at 35.5 pJ / 3.8 ns. One message onto a sparse run, then the
    // same group marked dense.
    let chip = ChipProfile::loihi1();
    let costs = Costs::loihi1_sanafe();
    let energy_and_time = |kind: SynapseKind| {
        let mut program = sender_receiver(1, 0, 1);
        program.cores[1].groups[0].kind = kind;
        let mut emulator = Emulator::new(&program, &chip).expect("valid");
        emulator.enable_model(costs.clone());
        emulator.step();
        let step = emulator.model().expect("enabled").steps()[0];
        (
            step.energy.synapses,
            step.time_ns,
            step.counts.sparse_synaptic_ops,
        )
    };
    let (sparse_energy, sparse_time, sparse_ops) = energy_and_time(SynapseKind::Sparse);
    let (dense_energy, dense_time, dense_ops) = energy_and_time(SynapseKind::Dense);
    assert!(close(sparse_energy, 33.6) && close(dense_energy, 35.5));
    assert_eq!((sparse_ops, dense_ops), (1, 0));
    assert!(close(sparse_time - dense_time, 4.7 - 3.8));
}

#[test]
fn bounded_step_records_keep_the_recent_steps_and_every_total() {
    let program = sender_receiver(3, 0, 1);
    let all = run(&program, 50);
    let chip = ChipProfile::loihi1();
    let mut bounded = Emulator::new(&program, &chip).expect("valid");
    bounded.enable_model(Costs::loihi1());
    bounded.model_mut().expect("enabled").keep_steps(Some(8));
    for step in 1..=50u64 {
        bounded.step();
        let kept = bounded.model().expect("enabled").steps();
        // At least the 8 most recent (fewer only before step 8), at most 16.
        assert!(kept.len() >= 8.min(step as usize) && kept.len() <= 16);
        assert_eq!(kept.last().map(|s| s.step), Some(step));
    }
    let (all, bounded) = (
        all.model().expect("enabled"),
        bounded.model().expect("enabled"),
    );
    let kept = bounded.steps();
    assert_eq!(kept[..], all.steps()[50 - kept.len()..]);
    let mut sum = crate::ModelTotals::default();
    for step in all.steps() {
        sum.steps += 1;
        sum.time_ns += step.time_ns;
        sum.energy += step.energy;
        sum.counts += step.counts;
    }
    assert_eq!(bounded.totals(), sum);
    assert_eq!(all.totals(), sum);
    assert_eq!(sum.steps, 50);
}

#[test]
fn host_spikes_wait_for_the_update_and_do_not_delay_sending() {
    // The sender of `counts_hops_time_and_energy_of_one_message` also gets
    // two host spikes on an axon of one synapse onto itself. Its message
    // still leaves at 8.4 + 2.1 = 10.5 and reaches the receiver at 22.8 (a
    // core sends as it updates, whatever it receives); the sender itself
    // takes the host messages after its update: 8.4 + 2·3.5 = 15.4. The
    // slowest core is the receiver, done at 26.3, as before.
    let mut program = sender_receiver(1, 0, 12);
    let sender = &mut program.cores[0];
    sender.groups = vec![group()];
    sender.axons = vec![Run { start: 0, len: 1 }];
    sender.synapses = vec![synapse(0)];
    program.inputs = vec![InputPort {
        name: "host".to_string(),
        channels: vec![Run { start: 0, len: 2 }],
        axons: vec![
            AxonAddress {
                core: CoreId(0),
                axon: AxonId(0),
            };
            2
        ],
    }];
    let chip = ChipProfile::loihi1();
    let mut emulator = Emulator::new(&program, &chip).expect("valid");
    emulator.enable_model(Costs::loihi1());
    emulator.inject(0, &[0]).expect("channel 0");
    emulator.step();
    let model = emulator.model().expect("enabled");
    let step = model.steps()[0];
    assert_eq!(step.counts.messages_in, 3);
    assert_eq!(step.counts.synaptic_ops, 3);
    let barrier = 113.0 + 352.0 / 31.0;
    assert!(close(step.time_ns, 26.3 + barrier), "{}", step.time_ns);
    assert!(
        close(model.cores()[0].busy_ns, 15.4),
        "{}",
        model.cores()[0].busy_ns
    );
}
