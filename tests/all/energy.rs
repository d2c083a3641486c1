//! The time and energy model end to end: counts against counts derived
//! independently (spike trains from the reference simulator, fan-outs from
//! the description, routes from the placement), energies against the cost
//! table, and the reports the CLI writes.

use std::process::Command;

use neurite::chip::ChipProfile;
use neurite::emulator::{Counters, Emulator};
use neurite::session::RunOptions;

use crate::support::{root, tiny_chip};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn counts_match_spike_trains_fan_outs_and_routes() {
    let network =
        neurite::net::load(&root().join("examples/balanced-poisson.toml")).expect("example loads");
    let steps = 120;
    let trace = neurite_reference::simulate(&network, steps).expect("the reference simulates it");
    for chip in [ChipProfile::loihi2(), tiny_chip(40)] {
        let compiled = neurite::compiler::compile(&network, &chip).expect("compiles");
        assert!(compiled.report.projections.iter().all(|p| p.zeroed == 0));
        let program = &compiled.program;
        let recording = neurite::session::run_program_with(
            &network,
            program,
            &chip,
            steps,
            &RunOptions::modelled(),
        )
        .expect("runs");
        let energy = recording.energy.as_ref().expect("modelled");
        let totals = energy.totals(None);

        // Fan-out of every source neuron, from the description.
        let mut fan_out: Vec<Vec<u64>> = network
            .populations
            .iter()
            .map(|p| vec![0; p.size as usize])
            .collect();
        for projection in &network.projections {
            for s in &projection.synapses {
                fan_out[projection.from][s.pre as usize] += 1;
            }
        }
        // Messages and hops of every LIF neuron, from the Program's routes
        // and the cores' places.
        let lif: Vec<usize> = (0..network.populations.len())
            .filter(|&p| program.population(&network.populations[p].name).is_some())
            .collect();
        let mut expected_ops = 0u64;
        let mut expected_spikes = 0u64;
        let mut expected_messages = 0u64;
        let mut expected_hops = 0u64;
        for t in 0..steps as usize {
            for (p, population) in trace.populations.iter().enumerate() {
                for &i in &population.spikes[t] {
                    expected_ops += fan_out[p][i as usize];
                    if let Some(map) = lif
                        .contains(&p)
                        .then(|| program.population(&network.populations[p].name))
                        .flatten()
                    {
                        expected_spikes += 1;
                        let at = program.populations[map].neurons[i as usize];
                        let core = &program.cores[at.core.0 as usize];
                        let run = core.routes[at.neuron.0 as usize];
                        for d in &core.destinations[run.range()] {
                            expected_messages += 1;
                            let to = program.cores[d.core.0 as usize].location;
                            expected_hops += u64::from(chip.route(core.location, to).hops());
                        }
                    }
                }
            }
        }
        let neurons = network.lif_neuron_count();
        let c = totals.counts;
        assert_eq!(c.synaptic_ops, expected_ops, "{}", chip.name);
        assert_eq!(c.spikes, expected_spikes, "{}", chip.name);
        assert_eq!(c.messages_out, expected_messages, "{}", chip.name);
        assert_eq!(
            c.hops_east_west + c.hops_north_south,
            expected_hops,
            "{}",
            chip.name
        );
        assert_eq!(c.neuron_updates, neurons * steps, "{}", chip.name);
        assert!(c.active_updates <= c.neuron_updates);
        assert!(expected_ops > 1000 && expected_spikes > 100);
        if chip.name != "loihi2" {
            assert!(expected_hops > 0, "several cores exchange spikes");
        }

        // Energy by class is the counts times the table.
        let k = &chip.costs;
        let e = totals.energy;
        let n = |x: u64| x as f64;
        assert!(close(
            e.neurons,
            n(c.neuron_updates) * k.neuron_update.energy_pj
                + n(c.active_updates) * k.neuron_active.energy_pj
                + n(c.spikes) * k.neuron_spike.energy_pj
        ));
        assert!(close(
            e.synapses,
            n(c.synaptic_ops) * k.synaptic_op.energy_pj
        ));
        assert!(close(
            e.messages,
            n(c.messages_out) * k.message_out.energy_pj + n(c.messages_in) * k.message_in.energy_pj
        ));
        assert!(close(
            e.mesh,
            n(c.hops_east_west) * k.hop_east_west.energy_pj
                + n(c.hops_north_south) * k.hop_north_south.energy_pj
        ));
        let chips = f64::from(energy.chips_in_use);
        assert!(close(
            e.static_power,
            k.static_power_mw * chips * totals.time_ns
        ));
        // The per-core records add up to the run's dynamic energy.
        let per_core: f64 = energy.cores.iter().map(|core| core.energy.total()).sum();
        assert!(close(per_core, e.total() - e.static_power - e.barrier));
    }
}

#[test]
fn the_model_does_not_change_the_run() {
    let network = neurite::net::load(&root().join("examples/two-layer.toml")).expect("loads");
    let chip = tiny_chip(1);
    let program = neurite::compiler::compile(&network, &chip)
        .expect("compiles")
        .program;
    let plain = neurite::session::run_program(&network, &program, &chip, 40).expect("runs");
    let modelled =
        neurite::session::run_program_with(&network, &program, &chip, 40, &RunOptions::modelled())
            .expect("runs");
    assert_eq!(plain.populations, modelled.populations);
    assert!(plain.energy.is_none() && modelled.energy.is_some());
}

fn neurite(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_neurite"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("neurite runs")
}

#[test]
fn run_prints_and_writes_the_energy_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = dir.path().join("report");
    let report_arg = report.to_str().expect("utf-8");
    let output = neurite(&[
        "run",
        "examples/balanced-poisson.toml",
        "--steps",
        "60",
        "--window",
        "11:20",
        "--report",
        report_arg,
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    for part in [
        "time and energy on loihi2",
        "contains estimates",
        "chip time",
        "per spike",
        "per synaptic op",
        "inference     steps 11–20:",
        "wrote 6 report files",
    ] {
        assert!(text.contains(part), "missing '{part}' in\n{text}");
    }
    let steps = std::fs::read_to_string(report.join("steps.csv")).expect("steps.csv");
    assert_eq!(steps.lines().count(), 61);
    assert!(steps.starts_with("step,time_ns,neurons_pj,synapses_pj"));
    let cores = std::fs::read_to_string(report.join("cores.csv")).expect("cores.csv");
    assert_eq!(cores.lines().count(), 2);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("summary.json")).expect("json"))
            .expect("summary is JSON");
    assert_eq!(summary["run"]["steps"], 60);
    assert_eq!(summary["inference"]["totals"]["steps"], 10);
    assert_eq!(summary["estimated"], true);
    // The per-step CSV adds up to the summary.
    let total: f64 = steps
        .lines()
        .skip(1)
        .map(|l| {
            l.rsplit(',')
                .next()
                .expect("total")
                .parse::<f64>()
                .expect("number")
        })
        .sum();
    let summary_total = summary["run"]["energy_pj"].as_f64().expect("total");
    assert!(
        (total - summary_total).abs() < 1e-3 * 60.0,
        "{total} vs {summary_total}"
    );
    for plot in ["energy-per-step.svg", "core-energy.svg", "raster.svg"] {
        let svg = std::fs::read_to_string(report.join(plot)).expect("plot");
        assert!(svg.starts_with("<svg"), "{plot}");
    }
}

#[test]
fn energy_prints_the_report_only_and_takes_another_cost_table() {
    let output = neurite(&[
        "energy",
        "examples/balanced-poisson.toml",
        "--chip",
        "loihi1",
        "--profile",
        "loihi1-sanafe",
        "--steps",
        "30",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.starts_with("time and energy on loihi1 (costs: SANA-FE"),
        "{text}"
    );
    assert!(!text.contains("spikes (step"), "{text}");
    let json = neurite(&["energy", "examples/two-layer.toml", "--json"]);
    assert!(json.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(doc["run"]["steps"], 40);
    assert!(doc["run"]["energy_pj"].as_f64().expect("energy") > 0.0);

    let bad = neurite(&["energy", "examples/two-layer.toml", "--window", "5:2"]);
    assert_eq!(bad.status.code(), Some(2));
    let late = neurite(&["energy", "examples/two-layer.toml", "--window", "5:41"]);
    assert_eq!(late.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&late.stderr).contains("after the run's last step 40"));
}

/// With the model on, each step is counted in one pass over the model's own
/// table of destinations; the counts must be those the emulator derives
/// without the model (hops and chip links aside, which only the model
/// counts), step by step and in total.
#[test]
fn modelled_counts_equal_the_counts_derived_without_the_model() {
    let network =
        neurite::net::load(&root().join("examples/balanced-poisson.toml")).expect("example loads");
    let chip = tiny_chip(40);
    let program = neurite::compiler::compile(&network, &chip)
        .expect("compiles")
        .program;
    let ports: Vec<(usize, usize)> = network
        .populations
        .iter()
        .enumerate()
        .filter_map(|(p, pop)| program.input_port(&pop.name).map(|port| (p, port)))
        .collect();
    assert!(!ports.is_empty(), "the example has host input");
    let mut plain = Emulator::new(&program, &chip).expect("loads");
    let mut modelled = Emulator::new(&program, &chip).expect("loads");
    modelled.enable_model(chip.costs.clone());
    let without_routes = |c: &Counters| Counters {
        hops_east_west: 0,
        hops_north_south: 0,
        chip_links: 0,
        ..*c
    };
    let mut stream = neurite::net::InputStream::new(&network);
    let (mut messages, mut hops) = (0, 0);
    for _ in 0..200 {
        let mut spikes = Vec::new();
        stream.advance(&mut spikes);
        for &(p, port) in &ports {
            plain.inject(port, &spikes[p]).expect("valid channels");
            modelled.inject(port, &spikes[p]).expect("valid channels");
        }
        plain.step();
        modelled.step();
        let expected = plain.step_counts();
        let counted: Vec<Counters> = modelled.step_counts().iter().map(without_routes).collect();
        assert_eq!(counted, expected, "step {}", plain.current_step());
        messages += expected.iter().map(|c| c.messages_out).sum::<u64>();
        hops += modelled
            .step_counts()
            .iter()
            .map(|c| c.hops_east_west + c.hops_north_south)
            .sum::<u64>();
    }
    let totals: Vec<Counters> = modelled.core_totals().iter().map(without_routes).collect();
    assert_eq!(totals, plain.core_totals());
    assert!(program.cores.len() > 4 && messages > 100 && hops > 0);
}
