//! The `neurite` command: outputs, files and exit codes.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{examples, root, shown};

fn neurite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_neurite"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("neurite runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}

#[test]
fn every_example_runs_and_prints_its_summary() {
    let all = examples();
    assert!(
        all.len() >= 8,
        "examples/ should hold a network per feature"
    );
    for path in all {
        let shown_path = shown(&path);
        let output = neurite(&["run", &shown_path]);
        assert_exit(&output, 0);
        let text = stdout(&output);
        assert!(text.contains("ran "), "{shown_path}: no summary in\n{text}");
        assert!(
            text.contains("steps/s"),
            "{shown_path}: no speed in\n{text}"
        );
        let network = neurite::net::load(&path).expect("example is valid");
        for population in &network.populations {
            assert!(
                text.lines()
                    .any(|l| l.trim_start().starts_with(&population.name)),
                "{shown_path}: population {} missing from the summary",
                population.name
            );
        }
        let check = neurite(&["check", &shown_path]);
        assert_exit(&check, 0);
        assert!(stdout(&check).starts_with("ok: "));
    }
}

#[test]
fn run_prints_spikes_then_the_summary() {
    let output = neurite(&["run", "examples/delay-line.toml"]);
    assert_exit(&output, 0);
    let text = stdout(&output);
    // Delays 0, 5, 20, 62 from a spike at step 1: arrivals at 2, 7, 22, 64.
    for line in ["2: taps[0]", "7: taps[1]", "22: taps[2]", "64: taps[3]"] {
        assert!(text.contains(line), "missing '{line}' in\n{text}");
    }
    let summary = text.find("ran 70 steps").expect("summary");
    assert!(text.find("64: taps[3]").expect("spike line") < summary);
    assert!(text.contains("taps"));
}

fn run_json_text(args: &[&str]) -> (String, Value) {
    let output = neurite(args);
    assert_exit(&output, 0);
    let text = stdout(&output);
    assert_eq!(
        text.lines().count(),
        1,
        "--json prints one document and nothing else"
    );
    let doc = serde_json::from_str(&text).expect("stdout is JSON");
    (text, doc)
}

fn run_json(args: &[&str]) -> Value {
    run_json_text(args).1
}

#[test]
fn json_output_has_every_probed_variable_at_every_step() {
    let (text, doc) = run_json_text(&["run", "examples/two-layer.toml", "--json", "--steps", "25"]);
    assert_eq!(doc["steps"], 25);
    let populations = doc["populations"].as_object().expect("populations");
    assert_eq!(populations.len(), 2);
    // Probed populations appear in description order ("in" is declared first).
    let position = |key: &str| text.find(&format!("\"{key}\":{{")).expect(key);
    assert!(position("in") < position("hidden"));
    let hidden = &populations["hidden"];
    for var in ["spikes", "u", "v"] {
        assert_eq!(hidden[var].as_array().expect(var).len(), 25, "{var}");
    }
    assert_eq!(hidden["u"][0].as_array().expect("row").len(), 2);
    assert!(populations["in"].get("u").is_none(), "inputs have no u");

    // The same numbers as the reference simulator.
    let network = neurite::net::load(&root().join("examples/two-layer.toml")).expect("valid");
    let trace = neurite_reference::simulate(&network, 25).expect("the reference simulates it");
    let hidden_trace = &trace.populations[network.population("hidden").expect("hidden")];
    let as_rows = |v: &Value| -> Vec<Vec<i64>> { serde_json::from_value(v.clone()).expect("rows") };
    let widen = |rows: &[Vec<i32>]| -> Vec<Vec<i64>> {
        rows.iter()
            .map(|r| r.iter().map(|&x| i64::from(x)).collect())
            .collect()
    };
    assert_eq!(as_rows(&hidden["u"]), widen(&hidden_trace.u));
    assert_eq!(as_rows(&hidden["v"]), widen(&hidden_trace.v));
    let spikes: Vec<Vec<u32>> = serde_json::from_value(hidden["spikes"].clone()).expect("spikes");
    assert_eq!(spikes, hidden_trace.spikes);
    assert!(spikes.iter().any(|s| !s.is_empty()), "the example spikes");
}

fn read_npy(path: &Path) -> (Vec<u64>, Vec<i32>) {
    let bytes = std::fs::read(path).expect("npy written");
    let npy = npyz::NpyFile::new(&bytes[..]).expect("valid npy");
    let shape = npy.shape().to_vec();
    (shape, npy.into_vec::<i32>().expect("int32 data"))
}

#[test]
fn out_dir_holds_spikes_csv_and_state_arrays_matching_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("results");
    let out_arg = out.to_str().expect("utf-8 path");
    let output = neurite(&[
        "run",
        "examples/two-layer.toml",
        "--out",
        out_arg,
        "--steps",
        "30",
    ]);
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("wrote 3 files"));
    let doc = run_json(&["run", "examples/two-layer.toml", "--json", "--steps", "30"]);
    let hidden = &doc["populations"]["hidden"];

    let (shape, values) = read_npy(&out.join("hidden_u.npy"));
    assert_eq!(shape, vec![30, 2]);
    let json_u: Vec<i32> = serde_json::from_value::<Vec<Vec<i32>>>(hidden["u"].clone())
        .expect("u")
        .concat();
    assert_eq!(values, json_u);
    let (shape, values) = read_npy(&out.join("hidden_v.npy"));
    assert_eq!(shape, vec![30, 2]);
    let json_v: Vec<i32> = serde_json::from_value::<Vec<Vec<i32>>>(hidden["v"].clone())
        .expect("v")
        .concat();
    assert_eq!(values, json_v);

    let csv = std::fs::read_to_string(out.join("spikes.csv")).expect("spikes.csv");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("step,population,index"));
    let mut from_csv: Vec<(u64, String, u32)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].parse().expect("step"),
                f[1].to_string(),
                f[2].parse().expect("index"),
            )
        })
        .collect();
    let mut from_json = Vec::new();
    for (name, population) in doc["populations"].as_object().expect("populations") {
        let spikes: Vec<Vec<u32>> =
            serde_json::from_value(population["spikes"].clone()).expect("spikes");
        for (step, indices) in spikes.iter().enumerate() {
            for &i in indices {
                from_json.push((step as u64 + 1, name.clone(), i));
            }
        }
    }
    from_csv.sort();
    from_json.sort();
    assert_eq!(from_csv, from_json);
    assert!(!from_csv.is_empty());
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.to_str().expect("utf-8").to_string()
}

#[test]
fn invalid_input_exits_with_2_and_names_the_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = write(
        dir.path(),
        "bad.toml",
        "[[populations]]\nname = \"hidden\"\nsize = 2\nmodel = \"lif\"\ndu = 5000\ndv = 0\nvth = 1\n",
    );
    for command in ["run", "check"] {
        let output = neurite(&[command, &bad]);
        assert_exit(&output, 2);
        let err = stderr(&output);
        assert!(
            err.contains("bad.toml: population 'hidden': du 5000 out of range 0..4095"),
            "{err}"
        );
        assert!(stdout(&output).is_empty());
    }

    let missing = neurite(&["run", "no/such/net.toml"]);
    assert_exit(&missing, 2);
    assert!(stderr(&missing).contains("no/such/net.toml"));

    let chip = neurite(&["run", "examples/two-layer.toml", "--chip", "loihi9"]);
    assert_exit(&chip, 2);
    assert!(stderr(&chip).contains("unknown chip profile 'loihi9'"));

    let steps = neurite(&["run", "examples/two-layer.toml", "--steps", "0"]);
    assert_exit(&steps, 2);
    assert!(stderr(&steps).contains("--steps must be at least 1"));

    // 140,000 neurons need 137 loihi1 cores of 1,024; the chip has 128.
    let big = write(
        dir.path(),
        "big.toml",
        "[[populations]]\nname = \"p\"\nsize = 140000\nmodel = \"lif\"\ndu = 0\ndv = 0\nvth = 1\n",
    );
    let output = neurite(&["check", &big, "--chip", "loihi1"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("its 128 cores fill up after 131072 of 140000 neurons"),
        "{}",
        stderr(&output)
    );
    let output = neurite(&["check", &big]);
    assert_exit(&output, 0);
}

#[test]
fn failing_to_write_results_exits_with_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(dir.path(), "a-file", "");
    let target = format!("{file}/results");
    let output = neurite(&["run", "examples/two-layer.toml", "--out", &target]);
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("cannot write results to"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_full_stdout_exits_with_1_and_a_closed_pipe_quietly() {
    let full = Path::new("/dev/full");
    if full.exists() {
        for args in [
            &["run", "examples/two-layer.toml"][..],
            &["check", "examples/two-layer.toml"][..],
        ] {
            let output = Command::new(env!("CARGO_BIN_EXE_neurite"))
                .args(args)
                .current_dir(root())
                .stdout(std::fs::File::create(full).expect("open /dev/full"))
                .output()
                .expect("neurite runs");
            assert_exit(&output, 1);
            assert!(
                stderr(&output).contains("No space left"),
                "{}",
                stderr(&output)
            );
        }
    }
    // The reader goes away before the output is written.
    let mut child = Command::new(env!("CARGO_BIN_EXE_neurite"))
        .args(["run", "examples/balanced-poisson.toml"])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("neurite starts");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("neurite ends");
    assert_exit(&output, 0);
}

#[test]
fn compile_writes_a_program_that_run_check_and_inspect_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = dir.path().join("two-layer.nprog");
    let program_arg = program.to_str().expect("utf-8");
    let output = neurite(&["compile", "examples/two-layer.toml", "-o", program_arg]);
    assert_exit(&output, 0);
    let text = stdout(&output);
    assert!(
        text.starts_with("compiled network 'two-layer' for loihi2: 2 neurons"),
        "{text}"
    );
    assert!(text.contains("placement:"), "{text}");
    assert!(text.contains(&format!("wrote {program_arg}")), "{text}");
    let bytes = std::fs::read(&program).expect("program written");
    let decoded = neurite::program::Program::decode(&bytes).expect("decodes");
    assert_eq!(decoded.notes.network, "two-layer");

    let run = neurite(&["run", program_arg, "--steps", "30"]);
    assert_exit(&run, 0);
    assert!(
        stdout(&run).contains("without host input"),
        "{}",
        stdout(&run)
    );
    assert!(stdout(&run).contains("ran 30 steps"));

    let check = neurite(&["check", program_arg]);
    assert_exit(&check, 0);
    assert_eq!(
        stdout(&check).trim(),
        "ok: program of network 'two-layer' fits loihi2 (1 cores)"
    );

    let svg = dir.path().join("mesh.svg");
    let inspect = neurite(&[
        "inspect",
        program_arg,
        "--svg",
        svg.to_str().expect("utf-8"),
    ]);
    assert_exit(&inspect, 0);
    let text = stdout(&inspect);
    for part in [
        "program of network 'two-layer' for chip 'loihi2' (1 cores of 128)",
        "input axons",
        "2 (0%)",
        "population 'hidden': 2 neurons on 1 cores: core 0 (2)",
        "chip 0: cores in use per tile",
        "   1 . . . . . . .",
    ] {
        assert!(text.contains(part), "missing '{part}' in\n{text}");
    }
    let drawing = std::fs::read_to_string(&svg).expect("svg written");
    assert!(drawing.starts_with("<svg") && drawing.contains("neurons per core"));

    // A description is compiled on the fly.
    let inspect = neurite(&[
        "inspect",
        "examples/balanced-poisson.toml",
        "--chip",
        "loihi1",
    ]);
    assert_exit(&inspect, 0);
    assert!(stdout(&inspect).contains("population 'exc': 160 neurons"));

    // compile needs a description.
    let again = neurite(&["compile", program_arg]);
    assert_exit(&again, 2);
    assert!(
        stderr(&again).contains("is a compiled Program"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn chip_profiles_from_files_travel_with_the_program() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = dir.path().join("net.nprog");
    let program_arg = program.to_str().expect("utf-8");
    let chip = "examples/chips/loihi2-32.toml";
    let output = neurite(&[
        "compile",
        "examples/balanced-poisson.toml",
        "--chip",
        chip,
        "-o",
        program_arg,
    ]);
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("for loihi2-32"));
    // The Program names its chip; a file profile must be given again.
    let output = neurite(&["check", program_arg]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("unknown chip profile 'loihi2-32'"),
        "{}",
        stderr(&output)
    );
    let output = neurite(&["check", program_arg, "--chip", chip]);
    assert_exit(&output, 0);
    // Another chip is refused.
    let output = neurite(&["check", program_arg, "--chip", "loihi1"]);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("built for chip 'loihi2-32', this board is 'loihi1'"));
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "name = \"x\"\n").expect("write");
    let output = neurite(&[
        "check",
        "examples/two-layer.toml",
        "--chip",
        broken.to_str().expect("utf-8"),
    ]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("chip profile"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn damaged_program_files_are_invalid_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = dir.path().join("net.nprog");
    let program_arg = program.to_str().expect("utf-8");
    assert_exit(
        &neurite(&["compile", "examples/two-layer.toml", "-o", program_arg]),
        0,
    );
    let mut bytes = std::fs::read(&program).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&program, &bytes).expect("write");
    let output = neurite(&["run", program_arg]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("program is corrupt"),
        "{}",
        stderr(&output)
    );
    std::fs::write(&program, &bytes[..40]).expect("write");
    let output = neurite(&["inspect", program_arg]);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("truncated"), "{}", stderr(&output));
}

#[test]
fn physical_units_compile_report_their_quantization() {
    let output = neurite(&["compile", "examples/physical-units.toml", "-o", "/dev/null"]);
    assert_exit(&output, 0);
    let text = stdout(&output);
    assert!(text.contains("populations in physical units"), "{text}");
    assert!(text.contains("weight_exp"), "{text}");
}

/// Spike steps of neuron 0 of `population` in a `--json` document.
fn spike_steps(doc: &Value, population: &str) -> Vec<u64> {
    doc["populations"][population]["spikes"]
        .as_array()
        .expect("spikes")
        .iter()
        .enumerate()
        .filter(|(_, s)| s.as_array().is_some_and(|s| !s.is_empty()))
        .map(|(t, _)| t as u64 + 1)
        .collect()
}

#[test]
fn nir_graphs_run_with_dt_reset_and_input_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    // One input spike every 10th step from step 1 (see tests/all/nir.rs):
    // lif_norse spikes at 42, 92, … with either reset and either format.
    let mut csv = String::from("step,index\n");
    for k in 0..20 {
        csv.push_str(&format!("{},0\n", 1 + 10 * k));
    }
    let csv = write(dir.path(), "in.csv", &csv);
    let model = "tests/fixtures/nir/lif_norse.nir";
    let run_model = |reset: &str, input: &str| -> Value {
        run_json(&[
            "run", model, "--dt-ms", "0.1", "--reset", reset, "--input", input, "--steps", "200",
            "--json",
        ])
    };
    for reset in ["zero", "subtract"] {
        let doc = run_model(reset, &csv);
        assert_eq!(spike_steps(&doc, "1"), [42, 92, 142, 192], "{reset}");
        assert_eq!(spike_steps(&doc, "input").len(), 20);
    }
    // The same spikes as a .npy array [steps × 1], as bytes and as numpy
    // booleans.
    for descr in ["|u1", "|b1"] {
        let mut npy = Vec::new();
        let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (200, 1), }}");
        let pad = 64 - (10 + header.len() + 1) % 64;
        let header = format!("{header}{}\n", " ".repeat(pad));
        npy.extend_from_slice(b"\x93NUMPY\x01\x00");
        npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
        npy.extend_from_slice(header.as_bytes());
        npy.extend((0..200).map(|t| u8::from(t % 10 == 0)));
        let npy_path = dir.path().join("in.npy");
        std::fs::write(&npy_path, &npy).expect("write");
        let doc = run_model("zero", npy_path.to_str().expect("utf-8"));
        assert_eq!(spike_steps(&doc, "1"), [42, 92, 142, 192], "{descr}");
    }

    // The README's example, and the .npy example beside it.
    let doc = run_json(&[
        "run",
        "examples/nir/lif_norse.nir",
        "--dt-ms",
        "0.1",
        "--input",
        "examples/nir/every-10-steps.csv",
        "--steps",
        "1000",
        "--json",
    ]);
    let want: Vec<u64> = (0..20).map(|k| 42 + 50 * k).collect();
    assert_eq!(spike_steps(&doc, "1"), want);
    let out = neurite(&[
        "run",
        "examples/nir/ff_affine_lif.nir",
        "--input",
        "examples/nir/ff_affine_lif_input.npy",
        "--steps",
        "200",
    ]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("lif1[1]"), "{}", stdout(&out));

    // dt from the metadata, said on stderr; compile and inspect take NIR too.
    let out = neurite(&[
        "run",
        "tests/fixtures/nir/ff_affine_lif.nir",
        "--steps",
        "5",
    ]);
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("using dt = 1 ms from the file's metadata"));
    let program = dir.path().join("conv.nprog");
    let out = neurite(&[
        "compile",
        "tests/fixtures/nir/conv_if_sumpool.nir",
        "--dt-ms",
        "1",
        "-o",
        program.to_str().expect("utf-8"),
    ]);
    assert_exit(&out, 0);
    assert!(program.exists());
    let out = neurite(&[
        "inspect",
        "tests/fixtures/nir/rnn_cubalif.nir",
        "--dt-ms",
        "1",
    ]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("population 'rnn.lif'"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn nir_errors_exit_with_2_and_name_the_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    // No dt in the file and none given.
    let out = neurite(&["run", "tests/fixtures/nir/lif_norse.nir"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("give one with --dt-ms"),
        "{}",
        stderr(&out)
    );
    // dt not below τ = 2.5 ms.
    let out = neurite(&["run", "tests/fixtures/nir/lif_norse.nir", "--dt-ms", "3"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("node '1' (LIF) is not supported: tau"),
        "{}",
        stderr(&out)
    );
    // An input index outside the graph's input.
    let bad = write(dir.path(), "bad.csv", "3,1\n");
    let out = neurite(&[
        "run",
        "tests/fixtures/nir/lif_norse.nir",
        "--dt-ms",
        "0.1",
        "--input",
        &bad,
    ]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("index 1 outside the input's 1 neurons"));
    // A file that is not HDF5.
    let fake = write(dir.path(), "fake.nir", "hello");
    let out = neurite(&["run", &fake, "--dt-ms", "1"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("is not a NIR graph"),
        "{}",
        stderr(&out)
    );
    // --reset on a description.
    let out = neurite(&["run", "examples/two-layer.toml", "--reset", "subtract"]);
    assert_exit(&out, 2);
}

#[test]
fn input_files_drive_descriptions_with_one_input_population() {
    let dir = tempfile::tempdir().expect("temp dir");
    let net = write(
        dir.path(),
        "n.toml",
        "[[populations]]\nname = \"in\"\nsize = 2\nmodel = \"input\"\n\
         [[populations]]\nname = \"out\"\nsize = 1\nmodel = \"lif\"\ndu = 4095\ndv = 0\nvth = 0\n\
         [[projections]]\nfrom = \"in\"\nto = \"out\"\ndense = [[0, 1]]\n\
         [[probes]]\npopulation = \"out\"\nvars = [\"spikes\"]\n",
    );
    // Index 1 at steps 2 and 5: out (θ = 0) spikes one step later each.
    let input = write(dir.path(), "in.csv", "# spikes\n2,1\n5,1\n4,0\n");
    let doc = run_json(&["run", &net, "--input", &input, "--steps", "8", "--json"]);
    assert_eq!(spike_steps(&doc, "out"), [3, 6]);
}
#[test]
fn run_probes_and_plots_weights_of_a_learning_projection() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let report = dir.path().join("report");
    let output = neurite(&[
        "run",
        "examples/stdp.toml",
        "--steps",
        "50",
        "--probe-weights",
        "plastic",
        "--out",
        out.to_str().expect("utf-8"),
        "--report",
        report.to_str().expect("utf-8"),
    ]);
    assert_exit(&output, 0);
    assert!(
        stdout(&output).contains("weights of plastic: 4 synapses, mean 60.00 after step 1"),
        "{}",
        stdout(&output)
    );
    let csv = std::fs::read_to_string(out.join("plastic_weights.csv")).expect("weights CSV");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "step,0->0,1->0,2->0,3->0");
    assert_eq!(lines.len(), 51);
    assert!(lines[1].starts_with("1,60,60,60,60"), "{}", lines[1]);
    let svg = std::fs::read_to_string(report.join("plastic_weights.svg")).expect("plot");
    assert!(svg.starts_with("<svg") && svg.contains("weights of plastic over 50 steps"));

    let output = neurite(&["run", "examples/stdp.toml", "--probe-weights", "nope"]);
    assert_ne!(output.status.code(), Some(0));
    assert!(
        stderr(&output).contains("no learning projection 'nope'"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn neuromodulator_values_are_checked_before_the_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let net = "tests/python/reward.toml";
    let unknown = neurite(&[
        "run",
        net,
        "--neuromodulator",
        "serotonin=tests/python/reward.csv",
    ]);
    assert_exit(&unknown, 2);
    assert!(
        stderr(&unknown).contains("no neuromodulator 'serotonin' (it has: dopamine)"),
        "{}",
        stderr(&unknown)
    );
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "# reward\n5\n\n1.5\n").expect("written");
    let spec = format!("dopamine={}", bad.display());
    let not_integer = neurite(&["run", net, "--neuromodulator", &spec]);
    assert_exit(&not_integer, 2);
    assert!(
        stderr(&not_integer).contains("line 4: '1.5' is not an integer neuromodulator value"),
        "{}",
        stderr(&not_integer)
    );
    let missing = neurite(&["run", net, "--neuromodulator", "dopamine=no/such.csv"]);
    assert_ne!(missing.status.code(), Some(0));
    assert!(
        stderr(&missing).contains("no/such.csv"),
        "{}",
        stderr(&missing)
    );
    let malformed = neurite(&["run", net, "--neuromodulator", "dopamine"]);
    assert_exit(&malformed, 2);
    assert!(
        stderr(&malformed).contains("is not NAME=FILE"),
        "{}",
        stderr(&malformed)
    );
    let twice = neurite(&[
        "run",
        net,
        "--neuromodulator",
        "dopamine=tests/python/reward.csv",
        "--neuromodulator",
        "dopamine=tests/python/reward.csv",
    ]);
    assert_exit(&twice, 2);
    assert!(stderr(&twice).contains("given twice"), "{}", stderr(&twice));
    // A short file: later steps add nothing; the run goes on.
    let short = dir.path().join("short.csv");
    std::fs::write(&short, "40\n40\n").expect("written");
    let spec = format!("dopamine={}", short.display());
    let output = neurite(&["run", net, "--neuromodulator", &spec, "--steps", "10"]);
    assert_exit(&output, 0);
}
