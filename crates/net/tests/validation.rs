//! Loading and validating network descriptions: every error path names the
//! file, the item and the reason; valid descriptions produce the expected
//! `Network`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use neurite_net::{
    ErrorKind, FloatWeights, Input, InputSource, Item, Lif, Model, NetError, Network, PhysicalLif,
    Probe, Reset, SignMode, Synapse, from_json_str, from_toml_str, load,
};
use tempfile::TempDir;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// `in`: input, 3 neurons; `out`: lif, 2 neurons.
const BASE: &str = r#"
[[populations]]
name = "in"
size = 3
model = "input"

[[populations]]
name = "out"
size = 2
model = "lif"
du = 0
dv = 0
vth = 10
"#;

/// Top-level keys, then the two base populations, then `rest`.
fn net(top: &str, rest: &str) -> String {
    format!("{top}\n{BASE}\n{rest}\n")
}

/// The base populations plus one projection `from -> to` with the given body.
fn projection(from: &str, to: &str, body: &str) -> String {
    net(
        "",
        &format!("[[projections]]\nfrom = \"{from}\"\nto = \"{to}\"\n{body}"),
    )
}

/// The base populations plus one input on `population` with the given body.
fn input(population: &str, body: &str) -> String {
    net(
        "",
        &format!("[[inputs]]\npopulation = \"{population}\"\n{body}"),
    )
}

fn ok_toml(text: &str) -> Network {
    from_toml_str(text, "net.toml", None)
        .unwrap_or_else(|e| panic!("expected a valid description, got: {e}\n---\n{text}"))
}

fn ok_json(text: &str) -> Network {
    from_json_str(text, "net.json", None)
        .unwrap_or_else(|e| panic!("expected a valid description, got: {e}\n---\n{text}"))
}

fn err_toml(text: &str) -> NetError {
    match from_toml_str(text, "net.toml", None) {
        Ok(net) => panic!("expected an error, got {net:?}\n---\n{text}"),
        Err(e) => e,
    }
}

fn err_json(text: &str) -> NetError {
    match from_json_str(text, "net.json", None) {
        Ok(net) => panic!("expected an error, got {net:?}\n---\n{text}"),
        Err(e) => e,
    }
}

fn err_toml_in(dir: &Path, text: &str) -> NetError {
    match from_toml_str(text, "net.toml", Some(dir)) {
        Ok(net) => panic!("expected an error, got {net:?}\n---\n{text}"),
        Err(e) => e,
    }
}

fn ok_toml_in(dir: &Path, text: &str) -> Network {
    from_toml_str(text, "net.toml", Some(dir))
        .unwrap_or_else(|e| panic!("expected a valid description, got: {e}\n---\n{text}"))
}

/// The Display message of a TOML description's error.
fn msg(text: &str) -> String {
    err_toml(text).to_string()
}

/// Asserts that a validation error is about `item` with exactly `reason`, and
/// that the Display message is `net.toml: {item}: {reason}`.
#[track_caller]
fn assert_invalid(err: &NetError, item: &Item, reason: &str) {
    assert_eq!(err.file, "net.toml", "file of {err}");
    match &err.kind {
        ErrorKind::Invalid {
            item: got_item,
            reason: got_reason,
        } => {
            assert_eq!(got_item, item, "item of {err}");
            assert_eq!(got_reason, reason, "reason of {err}");
        }
        other => panic!("expected ErrorKind::Invalid, got {other:?}"),
    }
    assert_eq!(err.to_string(), format!("net.toml: {item}: {reason}"));
}

/// Asserts that `text` is a syntax/schema error whose message has every part.
#[track_caller]
fn assert_syntax(err: &NetError, file: &str, parts: &[&str]) {
    assert_eq!(err.file, file);
    assert!(
        matches!(err.kind, ErrorKind::Syntax(_)),
        "expected a syntax error, got {err:?}"
    );
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("{file}: ")),
        "message does not start with the file: {shown}"
    );
    for part in parts {
        assert!(shown.contains(part), "message lacks {part:?}:\n{shown}");
    }
}

#[track_caller]
fn assert_contains(shown: &str, parts: &[&str]) {
    for part in parts {
        assert!(shown.contains(part), "message lacks {part:?}:\n{shown}");
    }
}

fn pop(name: &str) -> Item {
    Item::Population(name.to_string())
}

fn proj(index: usize, from: &str, to: &str) -> Item {
    Item::Projection {
        index,
        from: from.to_string(),
        to: to.to_string(),
    }
}

fn inp(index: usize, population: &str) -> Item {
    Item::Input {
        index,
        population: population.to_string(),
    }
}

fn probe(index: usize, population: &str) -> Item {
    Item::Probe {
        index,
        population: population.to_string(),
    }
}

/// A description with `dt_ms = 1`, the input `in` (3 neurons) and `out`, a lif
/// population of 2 neurons in physical units, with `param` set to `value`
/// (or left out when `value` is empty) and `rest` appended.
fn physical_with(param: &str, value: &str, rest: &str) -> String {
    let mut lines = vec![
        "dt_ms = 1.0".to_string(),
        "[[populations]]\nname = \"in\"\nsize = 3\nmodel = \"input\"".to_string(),
        "[[populations]]\nname = \"out\"\nsize = 2\nmodel = \"lif\"".to_string(),
    ];
    for (name, default) in [
        ("tau_syn_ms", "5.0"),
        ("tau_mem_ms", "20.0"),
        ("threshold", "1.0"),
    ] {
        if name != param {
            lines.push(format!("{name} = {default}"));
        }
    }
    if !value.is_empty() {
        lines.push(format!("{param} = {value}"));
    }
    lines.push(rest.to_string());
    lines.join("\n") + "\n"
}

fn physical(param: &str, value: &str) -> String {
    physical_with(param, value, "")
}

/// The physical-unit population `out` with one projection `in -> out`.
fn physical_projection(body: &str) -> String {
    physical_with(
        "",
        "",
        &format!("[[projections]]\nfrom = \"in\"\nto = \"out\"\n{body}"),
    )
}

fn physical_of(net: &Network, name: &str) -> PhysicalLif {
    let index = net.population(name).expect("population exists");
    let population = &net.populations[index];
    assert_eq!(population.model, Model::Lif(Lif::default()), "{name}");
    population
        .physical
        .clone()
        .unwrap_or_else(|| panic!("{name} is not in physical units"))
}

fn lif_of(net: &Network, name: &str) -> Lif {
    let index = net.population(name).expect("population exists");
    match &net.populations[index].model {
        Model::Lif(lif) => lif.clone(),
        Model::Input => panic!("{name} is an input population"),
    }
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&path, bytes).unwrap();
    path
}

/// A version 1.0 `.npy` file: `descr` is the Python literal of the dtype
/// (quotes included), `data` the raw bytes after the header.
fn npy_bytes(descr: &str, fortran: bool, shape: &[u64], data: &[u8]) -> Vec<u8> {
    let shape = match shape {
        [one] => format!("({one},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let order = if fortran { "True" } else { "False" };
    let mut header = format!("{{'descr': {descr}, 'fortran_order': {order}, 'shape': {shape}, }}");
    // Magic (6) + version (2) + header length (2) + header + newline: a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&u16::try_from(header.len()).unwrap().to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Little-endian bytes of `values` in the dtype `descr` (e.g. `<i4`, `>i2`).
fn encode(descr: &str, values: &[i64]) -> Vec<u8> {
    let mut out = Vec::new();
    for &v in values {
        let bytes: Vec<u8> = match descr {
            "|i1" => (v as i8).to_le_bytes().to_vec(),
            "|u1" => (v as u8).to_le_bytes().to_vec(),
            "<i2" => (v as i16).to_le_bytes().to_vec(),
            ">i2" => (v as i16).to_be_bytes().to_vec(),
            "<u2" => (v as u16).to_le_bytes().to_vec(),
            "<i4" => (v as i32).to_le_bytes().to_vec(),
            ">i4" => (v as i32).to_be_bytes().to_vec(),
            "<u4" => (v as u32).to_le_bytes().to_vec(),
            "<i8" => v.to_le_bytes().to_vec(),
            "<u8" => (v as u64).to_le_bytes().to_vec(),
            "<f4" => (v as f32).to_le_bytes().to_vec(),
            "<f8" => (v as f64).to_le_bytes().to_vec(),
            other => panic!("no encoder for {other}"),
        };
        out.extend(bytes);
    }
    out
}

fn f64_bytes(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Writes `w.npy` (a `[rows, cols]` matrix given row-major) in the dtype and order asked.
fn write_matrix(
    dir: &Path,
    name: &str,
    descr: &str,
    fortran: bool,
    rows: usize,
    cols: usize,
    row_major: &[i64],
) -> PathBuf {
    write(
        dir,
        name,
        matrix_bytes(descr, fortran, rows, cols, row_major),
    )
}

/// A `[rows, cols]` matrix given row-major, as `.npy` bytes in the dtype and order asked.
fn matrix_bytes(
    descr: &str,
    fortran: bool,
    rows: usize,
    cols: usize,
    row_major: &[i64],
) -> Vec<u8> {
    assert_eq!(row_major.len(), rows * cols);
    let stored: Vec<i64> = if fortran {
        (0..cols)
            .flat_map(|c| (0..rows).map(move |r| row_major[r * cols + c]))
            .collect()
    } else {
        row_major.to_vec()
    };
    npy_bytes(
        &format!("'{descr}'"),
        fortran,
        &[rows as u64, cols as u64],
        &encode(descr, &stored),
    )
}

/// A projection `in -> out` whose weights are the `.npy` file at `path`.
fn npy_projection(path: &str) -> String {
    projection("in", "out", &format!("dense = {path:?}"))
}

fn syn(pre: u32, post: u32, weight: i32, delay: u8) -> Synapse {
    Synapse {
        pre,
        post,
        weight,
        delay,
    }
}

// ---------------------------------------------------------------------------
// Parsing: syntax, schema, unknown fields, types
// ---------------------------------------------------------------------------

#[test]
fn toml_syntax_error_names_file_and_line() {
    let text = "[[populations]]\nname = \"in\"\nsize = = 3\nmodel = \"input\"\n";
    let err = err_toml(text);
    assert_syntax(&err, "net.toml", &["line 3"]);
}

#[test]
fn json_syntax_error_names_file_line_and_column() {
    let text = "{\n  \"populations\": [\n    {\"name\": \"in\",, \"size\": 3}\n  ]\n}";
    let err = err_json(text);
    assert_syntax(&err, "net.json", &["line 3 column"]);
}

#[test]
fn json_trailing_garbage_is_a_syntax_error() {
    let err = err_json("{\"populations\": []} extra");
    assert_syntax(&err, "net.json", &["trailing characters", "line 1"]);
}

#[test]
fn toml_unknown_field_is_named_at_every_level() {
    let cases: Vec<(String, &str)> = vec![
        (net("colour = \"red\"", ""), "colour"),
        (
            "[[populations]]\nname = \"in\"\nsize = 3\nmodel = \"input\"\ntau = 3\n".to_string(),
            "tau",
        ),
        (
            projection("in", "out", "dense = [[1, 2, 3], [4, 5, 6]]\nweight = 3"),
            "weight",
        ),
        (
            projection("in", "out", "one_to_one = { weight = 1, delay = 2 }"),
            "delay",
        ),
        (
            projection(
                "in",
                "out",
                "fixed_probability = { p = 0.5, weight = 1, seed = 1, n = 3 }",
            ),
            "n",
        ),
        (input("in", "spikes = [[1, 0]]\nrate = 3"), "rate"),
        (
            input("in", "poisson = { rate_hz = 10.0, seed = 1, dt = 2 }"),
            "dt",
        ),
        (
            input("in", "periodic = { period = 3, offset = 1 }"),
            "offset",
        ),
        (
            net(
                "",
                "[[probes]]\npopulation = \"out\"\nvars = [\"v\"]\nevery = 2",
            ),
            "every",
        ),
    ];
    for (text, field) in cases {
        let err = err_toml(&text);
        assert_syntax(
            &err,
            "net.toml",
            &[&format!("unknown field `{field}`"), "line "],
        );
    }
}

#[test]
fn json_unknown_field_is_named_at_every_level() {
    let pops = r#""populations": [
        {"name": "in", "size": 3, "model": "input"},
        {"name": "out", "size": 2, "model": "lif", "du": 0, "dv": 0, "vth": 10}
    ]"#;
    let cases: Vec<(String, &str)> = vec![
        (format!("{{{pops}, \"colour\": 1}}"), "colour"),
        (
            r#"{"populations": [{"name": "in", "size": 3, "model": "input", "tau": 3}]}"#
                .to_string(),
            "tau",
        ),
        (
            format!(
                r#"{{{pops}, "projections": [{{"from": "in", "to": "out", "sparse": [], "weights": 1}}]}}"#
            ),
            "weights",
        ),
        (
            format!(
                r#"{{{pops}, "projections": [{{"from": "in", "to": "out", "one_to_one": {{"weight": 1, "w": 2}}}}]}}"#
            ),
            "w",
        ),
        (
            format!(
                r#"{{{pops}, "projections": [{{"from": "in", "to": "out", "fixed_probability": {{"p": 0.5, "weight": 1, "seed": 1, "q": 0}}}}]}}"#
            ),
            "q",
        ),
        (
            format!(r#"{{{pops}, "inputs": [{{"population": "in", "spikes": [], "file": "x"}}]}}"#),
            "file",
        ),
        (
            format!(
                r#"{{{pops}, "inputs": [{{"population": "in", "poisson": {{"rate_hz": 1.0, "seed": 1, "rate": 2}}}}]}}"#
            ),
            "rate",
        ),
        (
            format!(
                r#"{{{pops}, "inputs": [{{"population": "in", "periodic": {{"period": 2, "shift": 1}}}}]}}"#
            ),
            "shift",
        ),
        (
            format!(r#"{{{pops}, "probes": [{{"population": "out", "vars": ["v"], "dt": 1}}]}}"#),
            "dt",
        ),
    ];
    for (text, field) in cases {
        let err = err_json(&text);
        assert_syntax(
            &err,
            "net.json",
            &[&format!("unknown field `{field}`"), "line "],
        );
    }
}

#[test]
fn wrong_types_are_syntax_errors_with_line() {
    let text = "[[populations]]\nname = \"in\"\nsize = \"3\"\nmodel = \"input\"\n";
    let err = err_toml(text);
    assert_syntax(&err, "net.toml", &["line 3", "invalid type: string \"3\""]);

    let err = err_json(r#"{"populations": [{"name": "in", "size": "3", "model": "input"}]}"#);
    assert_syntax(&err, "net.json", &["invalid type: string \"3\"", "line 1"]);

    // Per-neuron parameters take an integer or an array of integers.
    let text = net("", "").replace("du = 0", "du = 1.5");
    let err = err_toml(&text);
    assert_syntax(
        &err,
        "net.toml",
        &[
            "an integer or an array of integers (one per neuron)",
            "line ",
        ],
    );
    let text = net("", "").replace("du = 0", "du = [1, \"x\"]");
    assert_syntax(
        &err_toml(&text),
        "net.toml",
        &["invalid type: string \"x\""],
    );

    // Dense weights take a matrix or a path.
    let err = err_toml(&projection("in", "out", "dense = 5"));
    assert_syntax(
        &err,
        "net.toml",
        &["a weight matrix [to][from] of numbers, or a path to a .npy file"],
    );
    let err = err_toml(&projection("in", "out", "dense = [[1, \"x\", 3]]"));
    assert_syntax(
        &err,
        "net.toml",
        &["invalid type: string \"x\"", "a number"],
    );
    // Physical-unit parameters take a number or an array of numbers.
    let err = err_toml(&physical("tau_syn_ms", "\"x\""));
    assert_syntax(
        &err,
        "net.toml",
        &["a number or an array of numbers (one per neuron)", "line "],
    );

    // Names are strings, seeds unsigned.
    assert_syntax(
        &err_toml(&net("name = 3", "")),
        "net.toml",
        &["invalid type: integer `3`"],
    );
    assert_syntax(
        &err_toml(&input("in", "poisson = { rate_hz = 1.0, seed = -1 }")),
        "net.toml",
        &["seed"],
    );
}

#[test]
fn json_integer_too_large_for_a_parameter() {
    let text = r#"{"populations": [{"name": "out", "size": 1, "model": "lif",
        "du": 18446744073709551615, "dv": 0, "vth": 1}]}"#;
    let err = err_json(text);
    assert_syntax(
        &err,
        "net.json",
        &["integer 18446744073709551615 is too large"],
    );

    let text =
        r#"{"populations": [{"name": "in", "size": 18446744073709551615, "model": "input"}]}"#;
    assert_syntax(&err_json(text), "net.json", &["18446744073709551615"]);
}

#[test]
fn missing_required_fields_are_named() {
    let err = err_toml("[[populations]]\nname = \"in\"\nmodel = \"input\"\n");
    assert_syntax(&err, "net.toml", &["missing field `size`"]);
    let err = err_toml("[[populations]]\nsize = 3\nmodel = \"input\"\n");
    assert_syntax(&err, "net.toml", &["missing field `name`"]);
    let err = err_toml("[[populations]]\nname = \"in\"\nsize = 3\n");
    assert_syntax(&err, "net.toml", &["missing field `model`"]);
    let err = err_toml(&net("", "[[projections]]\nfrom = \"in\"\nsparse = []"));
    assert_syntax(&err, "net.toml", &["missing field `to`"]);
    let err = err_toml(&net("", "[[probes]]\npopulation = \"out\""));
    assert_syntax(&err, "net.toml", &["missing field `vars`"]);
    let err = err_toml(&projection(
        "in",
        "out",
        "fixed_probability = { p = 0.5, weight = 1 }",
    ));
    assert_syntax(&err, "net.toml", &["missing field `seed`"]);
    let err = err_toml(&input("in", "poisson = { seed = 1 }"));
    assert_syntax(&err, "net.toml", &["missing field `rate_hz`"]);
}

// ---------------------------------------------------------------------------
// The network as a whole
// ---------------------------------------------------------------------------

#[test]
fn dt_ms_must_be_positive() {
    for (written, shown) in [
        ("0.0", "0"),
        ("-1.5", "-1.5"),
        ("nan", "NaN"),
        ("inf", "inf"),
        ("-inf", "-inf"),
    ] {
        let err = err_toml(&net(&format!("dt_ms = {written}"), ""));
        assert_invalid(
            &err,
            &Item::Network,
            &format!("dt_ms {shown} must be a positive number"),
        );
    }
    assert_eq!(ok_toml(&net("dt_ms = 0.25", "")).dt_ms, 0.25);
    // An integer is accepted where a float is expected.
    assert_eq!(ok_toml(&net("dt_ms = 2", "")).dt_ms, 2.0);
}

#[test]
fn steps_must_be_at_least_one() {
    for steps in [0, -3] {
        let err = err_toml(&net(&format!("steps = {steps}"), ""));
        assert_invalid(
            &err,
            &Item::Network,
            &format!("steps {steps} must be at least 1"),
        );
    }
    assert_eq!(ok_toml(&net("steps = 1", "")).steps, Some(1));
}

#[test]
fn json_validation_errors_name_the_item() {
    let text = r#"{"populations": [{"name": "hidden", "size": 1, "model": "lif", "du": 5000, "dv": 0, "vth": 10}]}"#;
    assert_eq!(
        err_json(text).to_string(),
        "net.json: population 'hidden': du 5000 out of range 0..4095"
    );
    let text = r#"{"populations": [{"name": "in", "size": 2, "model": "input"}],
        "projections": [{"from": "in", "to": "hidden", "dense": "w.npy"}]}"#;
    assert_eq!(
        err_json(text).to_string(),
        "net.json: projection #0 ('in' -> 'hidden'): unknown target population 'hidden'"
    );
}

#[test]
fn no_populations() {
    assert_invalid(&err_toml(""), &Item::Network, "has no populations");
    assert_invalid(
        &err_toml("name = \"x\"\nsteps = 3\n"),
        &Item::Network,
        "has no populations",
    );
    let err = err_json("{}");
    assert_eq!(err.to_string(), "net.json: network: has no populations");
    let err = err_json(r#"{"populations": []}"#);
    assert_eq!(err.to_string(), "net.json: network: has no populations");
}

// ---------------------------------------------------------------------------
// Populations
// ---------------------------------------------------------------------------

/// (name, lowest, highest, range as shown)
const LIF_PARAMS: &[(&str, i64, i64, &str)] = &[
    ("du", 0, 4095, "0..4095"),
    ("dv", 0, 4095, "0..4095"),
    ("vth", 0, 131_071, "0..131071"),
    ("bias_mant", -4096, 4095, "-4096..4095"),
    ("bias_exp", 0, 7, "0..7"),
    ("refractory", 0, 63, "0..63"),
    ("u_init", -8_388_607, 8_388_608, "-8388607..8388608"),
    ("v_init", -8_388_607, 8_388_607, "-8388607..8388607"),
];

/// A single lif population `hidden` of `size` neurons with du/dv/vth set to
/// valid values unless `param` overrides them.
fn hidden(size: i64, param: &str, value: &str) -> String {
    let mut lines = vec![
        "[[populations]]".to_string(),
        "name = \"hidden\"".to_string(),
        format!("size = {size}"),
        "model = \"lif\"".to_string(),
    ];
    for (name, default) in [("du", "0"), ("dv", "0"), ("vth", "10")] {
        if name != param {
            lines.push(format!("{name} = {default}"));
        }
    }
    if !value.is_empty() {
        lines.push(format!("{param} = {value}"));
    }
    lines.join("\n") + "\n"
}

fn lif_param(lif: &Lif, name: &str) -> Vec<i64> {
    match name {
        "du" => lif.du.iter().map(|&v| i64::from(v)).collect(),
        "dv" => lif.dv.iter().map(|&v| i64::from(v)).collect(),
        "vth" => lif.vth.iter().map(|&v| i64::from(v)).collect(),
        "bias_mant" => lif.bias_mant.iter().map(|&v| i64::from(v)).collect(),
        "bias_exp" => lif.bias_exp.iter().map(|&v| i64::from(v)).collect(),
        "refractory" => lif.refractory.iter().map(|&v| i64::from(v)).collect(),
        "u_init" => lif.u_init.iter().map(|&v| i64::from(v)).collect(),
        "v_init" => lif.v_init.iter().map(|&v| i64::from(v)).collect(),
        other => panic!("no parameter {other}"),
    }
}

#[test]
fn issue_example_du_out_of_range() {
    let text = "[[populations]]\nname = \"hidden\"\nsize = 1\nmodel = \"lif\"\ndu = 5000\ndv = 0\nvth = 10\n";
    assert_eq!(
        from_toml_str(text, "bad.toml", None)
            .unwrap_err()
            .to_string(),
        "bad.toml: population 'hidden': du 5000 out of range 0..4095"
    );
}

#[test]
fn every_lif_parameter_scalar_out_of_range() {
    for &(name, lo, hi, range) in LIF_PARAMS {
        for bad in [lo - 1, hi + 1, i64::MIN, i64::MAX] {
            let err = err_toml(&hidden(2, name, &bad.to_string()));
            assert_invalid(
                &err,
                &pop("hidden"),
                &format!("{name} {bad} out of range {range}"),
            );
        }
    }
}

#[test]
fn every_lif_parameter_array_element_out_of_range_shows_index() {
    for &(name, lo, hi, range) in LIF_PARAMS {
        let err = err_toml(&hidden(3, name, &format!("[{lo}, {hi}, {}]", hi + 1)));
        assert_invalid(
            &err,
            &pop("hidden"),
            &format!("{name}[2] {} out of range {range}", hi + 1),
        );
        let err = err_toml(&hidden(3, name, &format!("[{lo}, {}, {hi}]", lo - 1)));
        assert_invalid(
            &err,
            &pop("hidden"),
            &format!("{name}[1] {} out of range {range}", lo - 1),
        );
    }
}

#[test]
fn every_lif_parameter_accepts_its_bounds() {
    for &(name, lo, hi, _) in LIF_PARAMS {
        let net = ok_toml(&hidden(2, name, &format!("[{lo}, {hi}]")));
        assert_eq!(
            lif_param(&lif_of(&net, "hidden"), name),
            vec![lo, hi],
            "{name}"
        );
        let net = ok_toml(&hidden(3, name, &hi.to_string()));
        assert_eq!(
            lif_param(&lif_of(&net, "hidden"), name),
            vec![hi; 3],
            "{name}"
        );
        let net = ok_toml(&hidden(3, name, &lo.to_string()));
        assert_eq!(
            lif_param(&lif_of(&net, "hidden"), name),
            vec![lo; 3],
            "{name}"
        );
    }
}

#[test]
fn every_lif_parameter_array_of_wrong_length() {
    for &(name, lo, _, _) in LIF_PARAMS {
        let err = err_toml(&hidden(2, name, &format!("[{lo}, {lo}, {lo}]")));
        assert_invalid(
            &err,
            &pop("hidden"),
            &format!("{name} has 3 values for 2 neurons"),
        );
        let err = err_toml(&hidden(2, name, "[]"));
        assert_invalid(
            &err,
            &pop("hidden"),
            &format!("{name} has 0 values for 2 neurons"),
        );
    }
}

#[test]
fn lif_requires_du_dv_vth() {
    for name in ["du", "dv", "vth"] {
        let err = err_toml(&hidden(2, name, ""));
        assert_invalid(
            &err,
            &pop("hidden"),
            &format!("missing {name} (required for model lif)"),
        );
    }
}

#[test]
fn lif_parameters_are_rejected_on_an_input_population() {
    for &(name, lo, _, _) in LIF_PARAMS {
        let text =
            format!("[[populations]]\nname = \"in\"\nsize = 2\nmodel = \"input\"\n{name} = {lo}\n");
        let err = err_toml(&text);
        assert_invalid(
            &err,
            &pop("in"),
            &format!("{name} is not a parameter of model input"),
        );
    }
}

#[test]
fn reset_is_zero_or_subtract_in_either_unit() {
    let hardware = |reset: &str| {
        format!(
            "[[populations]]\nname = \"h\"\nsize = 2\nmodel = \"lif\"\ndu = 0\ndv = 0\nvth = 1\n{reset}\n"
        )
    };
    assert_eq!(lif_of(&ok_toml(&hardware("")), "h").reset, Reset::Zero);
    assert_eq!(
        lif_of(&ok_toml(&hardware("reset = \"zero\"")), "h").reset,
        Reset::Zero
    );
    assert_eq!(
        lif_of(&ok_toml(&hardware("reset = \"subtract\"")), "h").reset,
        Reset::Subtract
    );
    let net = ok_toml(&physical("reset", "\"subtract\""));
    assert_eq!(physical_of(&net, "out").reset, Reset::Subtract);
    assert_eq!(
        physical_of(&ok_toml(&physical("", "")), "out").reset,
        Reset::Zero
    );

    let err = err_toml(&hardware("reset = \"Subtract\""));
    assert_invalid(
        &err,
        &pop("h"),
        "unknown reset 'Subtract' (expected zero or subtract)",
    );
    let err = err_toml(&physical("reset", "\"hold\""));
    assert_invalid(
        &err,
        &pop("out"),
        "unknown reset 'hold' (expected zero or subtract)",
    );
    let err =
        err_toml("[[populations]]\nname = \"in\"\nsize = 2\nmodel = \"input\"\nreset = \"zero\"\n");
    assert_invalid(&err, &pop("in"), "reset is not a parameter of model input");
}

#[test]
fn unknown_model() {
    let err = err_toml("[[populations]]\nname = \"x\"\nsize = 2\nmodel = \"LIF\"\n");
    assert_invalid(
        &err,
        &pop("x"),
        "unknown model 'LIF' (expected input or lif)",
    );
    let err = err_toml("[[populations]]\nname = \"x\"\nsize = 2\nmodel = \"\"\n");
    assert_invalid(&err, &pop("x"), "unknown model '' (expected input or lif)");
}

#[test]
fn size_out_of_range() {
    for size in [0, -1, (1 << 24) + 1, i64::MAX] {
        let text = format!("[[populations]]\nname = \"x\"\nsize = {size}\nmodel = \"input\"\n");
        assert_invalid(
            &err_toml(&text),
            &pop("x"),
            &format!("size {size} out of range 1..16777216"),
        );
    }
    // Checked for lif populations too, before their parameters.
    let err = err_toml(&hidden(0, "du", "[]"));
    assert_invalid(&err, &pop("hidden"), "size 0 out of range 1..16777216");
    let net = ok_toml("[[populations]]\nname = \"x\"\nsize = 16777216\nmodel = \"input\"\n");
    assert_eq!(net.populations[0].size, 1 << 24);
}

#[test]
fn duplicate_population_name() {
    let text = format!("{BASE}\n[[populations]]\nname = \"out\"\nsize = 1\nmodel = \"input\"\n");
    assert_invalid(&err_toml(&text), &pop("out"), "name is used twice");
}

#[test]
fn empty_population_name() {
    let err = err_toml("[[populations]]\nname = \"\"\nsize = 1\nmodel = \"input\"\n");
    assert_invalid(&err, &pop(""), "name is empty");
}

#[test]
fn population_names_are_safe_as_file_names() {
    for (name, bad) in [("a b", ' '), ("x/y", '/'), ("v,1", ','), ("é", 'é')] {
        let err = err_toml(&format!(
            "[[populations]]\nname = \"{name}\"\nsize = 1\nmodel = \"input\"\n"
        ));
        assert_invalid(
            &err,
            &pop(name),
            &format!("name has '{bad}'; use letters, digits, '_', '-' and '.'"),
        );
    }
    let ok = "[[populations]]\nname = \"Layer_2.exc-A\"\nsize = 1\nmodel = \"input\"\n";
    neurite_net::from_toml_str(ok, "net.toml", None).expect("valid name");
}

#[test]
fn first_bad_population_is_reported() {
    // The second population is wrong: its name, not the first's, is in the error.
    let text = format!("{BASE}\n{}", hidden(2, "dv", "-1"));
    assert_invalid(
        &err_toml(&text),
        &pop("hidden"),
        "dv -1 out of range 0..4095",
    );
}

// ---------------------------------------------------------------------------
// Projections
// ---------------------------------------------------------------------------

#[test]
fn projection_from_unknown_population() {
    let err = err_toml(&projection("nowhere", "out", "sparse = []"));
    assert_invalid(
        &err,
        &proj(0, "nowhere", "out"),
        "unknown source population 'nowhere'",
    );
}

#[test]
fn projection_to_unknown_population() {
    let err = err_toml(&projection("in", "nowhere", "sparse = []"));
    assert_invalid(
        &err,
        &proj(0, "in", "nowhere"),
        "unknown target population 'nowhere'",
    );
}

#[test]
fn projection_onto_an_input_population() {
    let err = err_toml(&projection("out", "in", "sparse = []"));
    assert_invalid(
        &err,
        &proj(0, "out", "in"),
        "target 'in' is an input population; projections must end on a lif population",
    );
}

#[test]
fn projection_index_counts_from_zero() {
    let text = net(
        "",
        "[[projections]]\nfrom = \"in\"\nto = \"out\"\nsparse = []\n\
         [[projections]]\nfrom = \"in\"\nto = \"out\"\nsparse = [[0, 0, 1, 63]]\n",
    );
    assert_invalid(
        &err_toml(&text),
        &proj(1, "in", "out"),
        "sparse entry 0: delay 63 out of range 0..62",
    );
    assert_eq!(
        msg(&text),
        "net.toml: projection #1 ('in' -> 'out'): sparse entry 0: delay 63 out of range 0..62"
    );
}

#[test]
fn projection_needs_exactly_one_connectivity() {
    let err = err_toml(&projection("in", "out", ""));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "needs a connectivity: one of dense, sparse, one_to_one, fixed_probability",
    );
    let err = err_toml(&projection(
        "in",
        "out",
        "dense = [[1, 0, 0], [0, 1, 0]]\nsparse = []",
    ));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "has dense and sparse; give exactly one connectivity",
    );
    let err = err_toml(&projection(
        "in",
        "out",
        "one_to_one = { weight = 1 }\nfixed_probability = { p = 0.5, weight = 1, seed = 0 }\nsparse = []",
    ));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "has sparse and one_to_one and fixed_probability; give exactly one connectivity",
    );
}

#[test]
fn weight_exp_out_of_range() {
    for e in [-9, 8] {
        let err = err_toml(&projection(
            "in",
            "out",
            &format!("sparse = []\nweight_exp = {e}"),
        ));
        assert_invalid(
            &err,
            &proj(0, "in", "out"),
            &format!("weight_exp {e} out of range -8..7"),
        );
    }
    for e in [-8, 7] {
        let net = ok_toml(&projection(
            "in",
            "out",
            &format!("sparse = []\nweight_exp = {e}"),
        ));
        assert_eq!(i64::from(net.projections[0].weight_exp), e);
    }
}

#[test]
fn num_weight_bits_out_of_range() {
    for b in [0, 9, -1] {
        let err = err_toml(&projection(
            "in",
            "out",
            &format!("sparse = []\nnum_weight_bits = {b}"),
        ));
        assert_invalid(
            &err,
            &proj(0, "in", "out"),
            &format!("num_weight_bits {b} out of range 1..8"),
        );
    }
    for b in [1, 8] {
        let net = ok_toml(&projection(
            "in",
            "out",
            &format!("sparse = []\nnum_weight_bits = {b}"),
        ));
        assert_eq!(i64::from(net.projections[0].num_weight_bits), b);
    }
}

#[test]
fn sign_mode_unknown() {
    let err = err_toml(&projection(
        "in",
        "out",
        "sparse = []\nsign_mode = \"positive\"",
    ));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "unknown sign_mode 'positive' (expected mixed, excitatory or inhibitory)",
    );
    for (written, mode) in [
        ("mixed", SignMode::Mixed),
        ("excitatory", SignMode::Excitatory),
        ("inhibitory", SignMode::Inhibitory),
    ] {
        let net = ok_toml(&projection(
            "in",
            "out",
            &format!("sparse = []\nsign_mode = \"{written}\""),
        ));
        assert_eq!(net.projections[0].sign_mode, Some(mode));
    }
}

#[test]
fn projection_delay_out_of_range() {
    for d in [63, -1, 1000] {
        let err = err_toml(&projection(
            "in",
            "out",
            &format!("sparse = []\ndelay = {d}"),
        ));
        assert_invalid(
            &err,
            &proj(0, "in", "out"),
            &format!("delay {d} out of range 0..62"),
        );
    }
    let net = ok_toml(
        &projection("in", "out", "one_to_one = { weight = 1 }\ndelay = 62")
            .replace("size = 3", "size = 2"),
    );
    assert!(net.projections[0].synapses.iter().all(|s| s.delay == 62));
}

#[test]
fn dense_wrong_number_of_rows() {
    let err = err_toml(&projection("in", "out", "dense = [[1, 2, 3]]"));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "dense has 1 row, expected 2 (one per neuron of 'out'; weights are [to][from])",
    );
    let err = err_toml(&projection("in", "out", "dense = []"));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "dense has 0 rows, expected 2 (one per neuron of 'out'; weights are [to][from])",
    );
    // The transposed matrix ([from][to]) is caught.
    let err = err_toml(&projection("in", "out", "dense = [[1, 2], [3, 4], [5, 6]]"));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "dense has 3 rows, expected 2 (one per neuron of 'out'; weights are [to][from])",
    );
}

#[test]
fn dense_wrong_number_of_columns() {
    let err = err_toml(&projection("in", "out", "dense = [[1, 2, 3], [4, 5]]"));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "dense row 1 has 2 columns, expected 3 (one per neuron of 'in')",
    );
    let err = err_toml(&projection(
        "in",
        "out",
        "dense = [[1, 2, 3, 4], [4, 5, 6]]",
    ));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "dense row 0 has 4 columns, expected 3 (one per neuron of 'in')",
    );
}

#[test]
fn dense_weight_must_fit_32_bits() {
    let err = err_toml(&projection(
        "in",
        "out",
        "dense = [[0, 0, 0], [0, 0, 2147483648]]",
    ));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "dense[1][2]: weight 2147483648 does not fit 32 bits",
    );
    let err = err_toml(&projection(
        "in",
        "out",
        "dense = [[0, -2147483649, 0], [0, 0, 0]]",
    ));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "dense[0][1]: weight -2147483649 does not fit 32 bits",
    );
    let net = ok_toml(&projection(
        "in",
        "out",
        "dense = [[2147483647, 0, 0], [0, 0, -2147483648]]",
    ));
    assert_eq!(
        net.projections[0].synapses,
        vec![syn(0, 0, i32::MAX, 0), syn(2, 1, i32::MIN, 0)]
    );
}

#[test]
fn sparse_entry_of_wrong_length() {
    for (entry, n) in [("[0, 1]", 2), ("[0, 1, 2, 3, 4]", 5), ("[]", 0)] {
        let err = err_toml(&projection(
            "in",
            "out",
            &format!("sparse = [[0, 0, 1], {entry}]"),
        ));
        assert_invalid(
            &err,
            &proj(0, "in", "out"),
            &format!(
                "sparse entry 1 has {n} numbers, expected [pre, post, weight] or [pre, post, weight, delay]"
            ),
        );
    }
}

#[test]
fn sparse_pre_out_of_range() {
    for pre in [3, -1] {
        let err = err_toml(&projection(
            "in",
            "out",
            &format!("sparse = [[{pre}, 0, 1]]"),
        ));
        assert_invalid(
            &err,
            &proj(0, "in", "out"),
            &format!("sparse entry 0: pre {pre} out of range 0..2 ('in' has 3 neurons)"),
        );
    }
}

#[test]
fn sparse_post_out_of_range() {
    for post in [2, -1] {
        let err = err_toml(&projection(
            "in",
            "out",
            &format!("sparse = [[0, 1, 5], [0, {post}, 1]]"),
        ));
        assert_invalid(
            &err,
            &proj(0, "in", "out"),
            &format!("sparse entry 1: post {post} out of range 0..1 ('out' has 2 neurons)"),
        );
    }
}

#[test]
fn sparse_bad_delay() {
    for d in [63, -1] {
        let err = err_toml(&projection(
            "in",
            "out",
            &format!("sparse = [[0, 0, 1, {d}]]"),
        ));
        assert_invalid(
            &err,
            &proj(0, "in", "out"),
            &format!("sparse entry 0: delay {d} out of range 0..62"),
        );
    }
}

#[test]
fn sparse_weight_must_fit_32_bits() {
    let err = err_toml(&projection(
        "in",
        "out",
        "sparse = [[0, 0, 1], [1, 1, 4294967296]]",
    ));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "sparse entry 1: weight 4294967296 does not fit 32 bits",
    );
}

#[test]
fn sparse_repeated_synapse() {
    let err = err_toml(&projection(
        "in",
        "out",
        "sparse = [[0, 1, 5], [2, 0, 1], [0, 1, -3, 4]]",
    ));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "sparse entry 2: repeats the synapse pre 0 -> post 1 of entry 0",
    );
}

#[test]
fn one_to_one_needs_equal_sizes() {
    let err = err_toml(&projection("in", "out", "one_to_one = { weight = 1 }"));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "one_to_one needs equal sizes, 'in' has 3 and 'out' has 2",
    );
}

#[test]
fn one_to_one_weight_array_of_wrong_length() {
    let text = projection("out", "out", "one_to_one = { weight = [1, 2, 3] }");
    assert_invalid(
        &err_toml(&text),
        &proj(0, "out", "out"),
        "one_to_one weight has 3 values for 2 neurons",
    );
}

#[test]
fn one_to_one_weight_must_fit_32_bits() {
    let text = projection("out", "out", "one_to_one = { weight = [1, -2147483649] }");
    assert_invalid(
        &err_toml(&text),
        &proj(0, "out", "out"),
        "one_to_one[1]: weight -2147483649 does not fit 32 bits",
    );
    let text = projection("out", "out", "one_to_one = { weight = 2147483648 }");
    assert_invalid(
        &err_toml(&text),
        &proj(0, "out", "out"),
        "one_to_one weight 2147483648 does not fit 32 bits",
    );
}

#[test]
fn fixed_probability_p_out_of_range() {
    for (p, shown) in [
        ("-0.1", "-0.1"),
        ("1.5", "1.5"),
        ("nan", "NaN"),
        ("inf", "inf"),
    ] {
        let text = projection(
            "in",
            "out",
            &format!("fixed_probability = {{ p = {p}, weight = 1, seed = 0 }}"),
        );
        assert_invalid(
            &err_toml(&text),
            &proj(0, "in", "out"),
            &format!("fixed_probability p {shown} out of range 0..1"),
        );
    }
}

#[test]
fn fixed_probability_weight_must_fit_32_bits() {
    let text = projection(
        "in",
        "out",
        "fixed_probability = { p = 0.5, weight = 4294967296, seed = 0 }",
    );
    assert_invalid(
        &err_toml(&text),
        &proj(0, "in", "out"),
        "fixed_probability weight 4294967296 does not fit 32 bits",
    );
}

// ---------------------------------------------------------------------------
// Dense weights from .npy files
// ---------------------------------------------------------------------------

/// The matrix written by the dtype tests: 2 rows (`out`) × 3 columns (`in`).
const MATRIX: [i64; 6] = [1, 0, -3, 0, 5, 100];

fn matrix_synapses() -> Vec<Synapse> {
    vec![
        syn(0, 0, 1, 0),
        syn(2, 0, -3, 0),
        syn(1, 1, 5, 0),
        syn(2, 1, 100, 0),
    ]
}

#[test]
fn npy_every_integer_dtype_in_c_and_fortran_order() {
    let dir = TempDir::new().unwrap();
    for descr in ["|i1", "<i2", ">i2", "<i4", ">i4", "<i8", "<f4", "<f8"] {
        for fortran in [false, true] {
            write_matrix(dir.path(), "w.npy", descr, fortran, 2, 3, &MATRIX);
            let net = ok_toml_in(dir.path(), &npy_projection("w.npy"));
            assert_eq!(
                net.projections[0].synapses,
                matrix_synapses(),
                "{descr} fortran={fortran}"
            );
        }
    }
    // Unsigned types hold no negative weights.
    let unsigned = [1, 0, 3, 0, 5, 200];
    let expected = vec![
        syn(0, 0, 1, 0),
        syn(2, 0, 3, 0),
        syn(1, 1, 5, 0),
        syn(2, 1, 200, 0),
    ];
    for descr in ["|u1", "<u2", "<u4", "<u8"] {
        for fortran in [false, true] {
            write_matrix(dir.path(), "w.npy", descr, fortran, 2, 3, &unsigned);
            let net = ok_toml_in(dir.path(), &npy_projection("w.npy"));
            assert_eq!(
                net.projections[0].synapses, expected,
                "{descr} fortran={fortran}"
            );
        }
    }
}

#[test]
fn npy_fortran_order_is_not_confused_with_a_transpose() {
    // A square matrix: reading Fortran data as C order would transpose it.
    let dir = TempDir::new().unwrap();
    let text = net(
        "",
        "[[populations]]\nname = \"sq\"\nsize = 2\nmodel = \"input\"\n\
         [[projections]]\nfrom = \"sq\"\nto = \"out\"\ndense = \"sq.npy\"\n",
    );
    for fortran in [false, true] {
        write_matrix(dir.path(), "sq.npy", "<i4", fortran, 2, 2, &[0, 7, 0, 0]);
        let net = ok_toml_in(dir.path(), &text);
        // Row 0 (post 0), column 1 (pre 1).
        assert_eq!(
            net.projections[0].synapses,
            vec![syn(1, 0, 7, 0)],
            "fortran={fortran}"
        );
    }
}

#[test]
fn npy_path_resolves_against_base_and_absolute_paths_need_none() {
    let dir = TempDir::new().unwrap();
    let path = write_matrix(dir.path(), "weights/w.npy", "<i8", false, 2, 3, &MATRIX);
    let net = ok_toml_in(dir.path(), &npy_projection("weights/w.npy"));
    assert_eq!(net.projections[0].synapses, matrix_synapses());
    // An absolute path needs no base directory.
    let net = ok_toml(&npy_projection(path.to_str().unwrap()));
    assert_eq!(net.projections[0].synapses, matrix_synapses());
}

#[test]
fn npy_relative_path_without_base_directory() {
    let err = err_toml(&npy_projection("w.npy"));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "cannot resolve relative path 'w.npy' for a description not read from a file",
    );
}

#[test]
fn npy_missing_file() {
    let dir = TempDir::new().unwrap();
    let err = err_toml_in(dir.path(), &npy_projection("missing.npy"));
    let resolved = dir.path().join("missing.npy");
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!(
            "net.toml: projection #0 ('in' -> 'out'): cannot read {}: ",
            resolved.display()
        )),
        "{shown}"
    );
    assert!(matches!(
        err.kind,
        ErrorKind::Invalid {
            item: Item::Projection { index: 0, .. },
            ..
        }
    ));
}

#[test]
fn npy_not_an_npy_file() {
    let dir = TempDir::new().unwrap();
    let path = write(dir.path(), "w.npy", "1,2,3\n4,5,6\n");
    let err = err_toml_in(dir.path(), &npy_projection("w.npy"));
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!(
            "net.toml: projection #0 ('in' -> 'out'): {} is not a valid .npy file: ",
            path.display()
        )),
        "{shown}"
    );
    // An empty file and a header cut short are not .npy files either.
    write(dir.path(), "w.npy", "");
    assert_contains(
        &err_toml_in(dir.path(), &npy_projection("w.npy")).to_string(),
        &["is not a valid .npy file"],
    );
    let full = npy_bytes("'<i4'", false, &[2, 3], &encode("<i4", &MATRIX));
    write(dir.path(), "w.npy", &full[..40]);
    assert_contains(
        &err_toml_in(dir.path(), &npy_projection("w.npy")).to_string(),
        &["is not a valid .npy file"],
    );
}

#[test]
fn npy_array_of_three_or_one_dimensions() {
    let dir = TempDir::new().unwrap();
    let path = write(
        dir.path(),
        "w.npy",
        npy_bytes("'<i4'", false, &[2, 3, 1], &encode("<i4", &MATRIX)),
    );
    let err = err_toml_in(dir.path(), &npy_projection("w.npy"));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        &format!(
            "{} has shape [2, 3, 1]; a weight matrix needs two dimensions [to, from]",
            path.display()
        ),
    );
    write(
        dir.path(),
        "w.npy",
        npy_bytes("'<i4'", false, &[6], &encode("<i4", &MATRIX)),
    );
    let err = err_toml_in(dir.path(), &npy_projection("w.npy"));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        &format!(
            "{} has shape [6]; a weight matrix needs two dimensions [to, from]",
            path.display()
        ),
    );
}

#[test]
fn npy_non_integer_dtypes() {
    let dir = TempDir::new().unwrap();
    let path = write(
        dir.path(),
        "w.npy",
        npy_bytes("'|b1'", false, &[2, 3], &[1, 0, 1, 0, 1, 1]),
    );
    let err = err_toml_in(dir.path(), &npy_projection("w.npy"));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        &format!(
            "{} has dtype |b1; expected integers (or 32/64-bit floats holding whole numbers)",
            path.display()
        ),
    );
    write(
        dir.path(),
        "w.npy",
        npy_bytes("'<c16'", false, &[2, 3], &[0; 96]),
    );
    let err = err_toml_in(dir.path(), &npy_projection("w.npy"));
    assert_contains(&err.to_string(), &["has dtype <c16; expected integers"]);
    write(
        dir.path(),
        "w.npy",
        npy_bytes("[('a', '<i4'), ('b', '<i4')]", false, &[2, 3], &[0; 48]),
    );
    let err = err_toml_in(dir.path(), &npy_projection("w.npy"));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        &format!(
            "{} has a .npy header Neurite does not read: \
             {{'descr': [('a', '<i4'), ('b', '<i4')], 'fortran_order': False, 'shape': (2, 3), }}",
            path.display()
        ),
    );
}

#[test]
fn npy_float_that_is_not_a_whole_number() {
    let dir = TempDir::new().unwrap();
    let path = write(
        dir.path(),
        "w.npy",
        npy_bytes(
            "'<f4'",
            false,
            &[2, 3],
            &[1.0f32, 2.0, -0.25, 4.0, 5.0, 6.0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<_>>(),
        ),
    );
    let err = err_toml_in(dir.path(), &npy_projection("w.npy"));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        &format!(
            "{}: element 2 is -0.25; weights must be whole numbers on the 8-bit scale",
            path.display()
        ),
    );
    for (value, shown) in [
        (0.5, "0.5"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "inf"),
        (1e16, "10000000000000000"),
    ] {
        let path = write(
            dir.path(),
            "w.npy",
            npy_bytes(
                "'<f8'",
                false,
                &[2, 3],
                &f64_bytes(&[1.0, 2.0, 3.0, 4.0, value, 6.0]),
            ),
        );
        let err = err_toml_in(dir.path(), &npy_projection("w.npy"));
        assert_invalid(
            &err,
            &proj(0, "in", "out"),
            &format!(
                "{}: element 4 is {shown}; weights must be whole numbers on the 8-bit scale",
                path.display()
            ),
        );
    }
}

#[test]
fn npy_uint64_beyond_i64() {
    let dir = TempDir::new().unwrap();
    let mut data = encode("<u8", &[1, 2, 3, 4, 5]);
    data.extend_from_slice(&u64::MAX.to_le_bytes());
    let path = write(
        dir.path(),
        "w.npy",
        npy_bytes("'<u8'", false, &[2, 3], &data),
    );
    let err = err_toml_in(dir.path(), &npy_projection("w.npy"));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        &format!(
            "{}: value 18446744073709551615 does not fit 64-bit signed",
            path.display()
        ),
    );
}

#[test]
fn npy_weight_must_fit_32_bits() {
    let dir = TempDir::new().unwrap();
    write_matrix(
        dir.path(),
        "w.npy",
        "<i8",
        false,
        2,
        3,
        &[0, 0, 0, 0, 1 << 31, 0],
    );
    let err = err_toml_in(dir.path(), &npy_projection("w.npy"));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "w.npy[1][1]: weight 2147483648 does not fit 32 bits",
    );
}

#[test]
fn npy_data_cut_short() {
    let dir = TempDir::new().unwrap();
    let data = encode("<i4", &MATRIX);
    let path = write(
        dir.path(),
        "w.npy",
        npy_bytes("'<i4'", false, &[2, 3], &data[..10]),
    );
    let err = err_toml_in(dir.path(), &npy_projection("w.npy"));
    let shown = err.to_string();
    assert_eq!(
        shown,
        format!(
            "net.toml: projection #0 ('in' -> 'out'): {}: shape [2, 3] needs 6 values of 4 bytes, \
             the file holds 10 bytes of data",
            path.display()
        )
    );
}

#[test]
fn npy_ambiguous_or_decoy_headers_are_refused() {
    // npyz would take the last `shape` key and overflow multiplying it.
    let dir = TempDir::new().unwrap();
    for header in [
        "{'descr': '|i1', 'fortran_order': False, 'shape': (1, 1), 'shape': (4294967296, 4294967296), }",
        "{'x': \"'shape': (1, 1)\", 'descr': '|i1', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
        "{'descr': '|i1', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
    ] {
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        let mut text = header.to_string();
        while (10 + text.len() + 1) % 64 != 0 {
            text.push(' ');
        }
        text.push('\n');
        bytes.extend_from_slice(&(text.len() as u16).to_le_bytes());
        bytes.extend_from_slice(text.as_bytes());
        bytes.push(0);
        write(dir.path(), "w.npy", bytes);
        let err = err_toml_in(dir.path(), &npy_projection("w.npy")).to_string();
        assert!(
            err.contains("header Neurite does not read") || err.contains("too many elements"),
            "{err}"
        );
    }
}

#[test]
fn npy_shape_mismatch() {
    let dir = TempDir::new().unwrap();
    // Transposed: 3 rows of 2.
    write_matrix(dir.path(), "w.npy", "<i4", false, 3, 2, &MATRIX);
    let err = err_toml_in(dir.path(), &npy_projection("w.npy"));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "w.npy has 3 rows, expected 2 (one per neuron of 'out'; weights are [to][from])",
    );
    write_matrix(dir.path(), "w.npy", "<i4", true, 2, 2, &[1, 2, 3, 4]);
    let err = err_toml_in(dir.path(), &npy_projection("w.npy"));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "w.npy row 0 has 2 columns, expected 3 (one per neuron of 'in')",
    );
    // An empty matrix.
    write(dir.path(), "w.npy", npy_bytes("'<i4'", false, &[0, 3], &[]));
    let err = err_toml_in(dir.path(), &npy_projection("w.npy"));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "w.npy has 0 rows, expected 2 (one per neuron of 'out'; weights are [to][from])",
    );
}

#[test]
fn npy_huge_declared_shape_is_an_error_not_a_panic() {
    let dir = TempDir::new().unwrap();
    // The element count overflows 64 bits.
    let path = write(
        dir.path(),
        "w.npy",
        npy_bytes("'<i4'", false, &[1 << 32, 1 << 32], &encode("<i4", &MATRIX)),
    );
    let err = err_toml_in(dir.path(), &npy_projection("w.npy"));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        &format!(
            "{} has shape [4294967296, 4294967296]; too many elements for a weight matrix",
            path.display()
        ),
    );
    // A zero dimension does not hide an overflow of the others.
    write(
        dir.path(),
        "w.npy",
        npy_bytes("'<i4'", false, &[1 << 40, 1 << 40, 0], &[]),
    );
    let err = err_toml_in(dir.path(), &npy_projection("w.npy"));
    assert_contains(&err.to_string(), &["too many elements for a weight matrix"]);
    // Far more elements declared than the file holds.
    write(
        dir.path(),
        "w.npy",
        npy_bytes("'<i4'", false, &[1 << 31, 1 << 31], &encode("<i4", &MATRIX)),
    );
    let err = err_toml_in(dir.path(), &npy_projection("w.npy"));
    assert_contains(
        &err.to_string(),
        &[&path.display().to_string(), "projection #0 ('in' -> 'out')"],
    );
}

#[test]
fn npy_header_length_beyond_the_file() {
    let dir = TempDir::new().unwrap();
    // Version 2.0 declares a 4-byte header length: here nearly 4 GiB.
    let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    let header = b"{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }\n";
    bytes.extend_from_slice(header);
    let path = write(dir.path(), "w.npy", bytes);
    let err = err_toml_in(dir.path(), &npy_projection("w.npy"));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        &format!(
            "{} is not a valid .npy file: header of 4294967295 bytes, but only {} follow",
            path.display(),
            header.len()
        ),
    );
}

#[test]
fn npy_version_2_header_is_read() {
    let dir = TempDir::new().unwrap();
    let v1 = matrix_bytes("<i4", false, 2, 3, &MATRIX);
    // Same header text, with a 4-byte length: 12 + len stays a multiple of 16.
    let header_len = usize::from(u16::from_le_bytes([v1[8], v1[9]]));
    let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
    v2.extend_from_slice(&u32::try_from(header_len).unwrap().to_le_bytes());
    v2.extend_from_slice(&v1[10..]);
    write(dir.path(), "w.npy", v2);
    let net = ok_toml_in(dir.path(), &npy_projection("w.npy"));
    assert_eq!(net.projections[0].synapses, matrix_synapses());
}

#[test]
fn npy_truncated_at_every_length_never_panics() {
    let dir = TempDir::new().unwrap();
    let full = matrix_bytes("<i2", true, 2, 3, &MATRIX);
    for len in 0..full.len() {
        write(dir.path(), "w.npy", &full[..len]);
        let err = err_toml_in(dir.path(), &npy_projection("w.npy"));
        assert_contains(
            &err.to_string(),
            &["projection #0 ('in' -> 'out')", "w.npy"],
        );
    }
    write(dir.path(), "w.npy", &full);
    assert_eq!(
        ok_toml_in(dir.path(), &npy_projection("w.npy")).projections[0].synapses,
        matrix_synapses()
    );
}

// ---------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------

#[test]
fn input_on_unknown_population() {
    let err = err_toml(&input("nope", "spikes = []"));
    assert_invalid(&err, &inp(0, "nope"), "unknown input population 'nope'");
}

#[test]
fn input_on_a_lif_population() {
    let err = err_toml(&input("out", "spikes = []"));
    assert_invalid(
        &err,
        &inp(0, "out"),
        "'out' is a lif population; inputs drive input populations",
    );
}

#[test]
fn input_needs_exactly_one_source() {
    let err = err_toml(&input("in", ""));
    assert_invalid(
        &err,
        &inp(0, "in"),
        "needs a source: one of spikes, csv, poisson, periodic",
    );
    let err = err_toml(&input("in", "spikes = []\nperiodic = { period = 2 }"));
    assert_invalid(
        &err,
        &inp(0, "in"),
        "has spikes and periodic; give exactly one source",
    );
    let err = err_toml(&input(
        "in",
        "csv = \"a.csv\"\npoisson = { rate_hz = 1.0, seed = 0 }\nspikes = []",
    ));
    assert_invalid(
        &err,
        &inp(0, "in"),
        "has spikes and csv and poisson; give exactly one source",
    );
}

#[test]
fn input_index_counts_from_zero() {
    let text = net(
        "",
        "[[inputs]]\npopulation = \"in\"\nspikes = [[1, 0]]\n\
         [[inputs]]\npopulation = \"in\"\nspikes = [[0, 0]]\n",
    );
    assert_eq!(
        msg(&text),
        "net.toml: input #1 (population 'in'): spikes entry 0: step 0 out of range (steps are numbered from 1)"
    );
}

#[test]
fn spikes_entry_of_wrong_length() {
    for (entry, n) in [("[1]", 1), ("[1, 0, 0]", 3), ("[]", 0)] {
        let err = err_toml(&input("in", &format!("spikes = [[1, 0], {entry}]")));
        assert_invalid(
            &err,
            &inp(0, "in"),
            &format!("spikes entry 1 has {n} numbers, expected [step, index]"),
        );
    }
}

#[test]
fn spikes_step_must_be_at_least_one() {
    for step in [0, -4] {
        let err = err_toml(&input("in", &format!("spikes = [[{step}, 0]]")));
        assert_invalid(
            &err,
            &inp(0, "in"),
            &format!("spikes entry 0: step {step} out of range (steps are numbered from 1)"),
        );
    }
}

#[test]
fn spikes_index_out_of_range() {
    for index in [3, -1] {
        let err = err_toml(&input("in", &format!("spikes = [[1, 0], [2, {index}]]")));
        assert_invalid(
            &err,
            &inp(0, "in"),
            &format!("spikes entry 1: index {index} out of range 0..2"),
        );
    }
}

#[test]
fn csv_relative_path_without_base_directory() {
    let err = err_toml(&input("in", "csv = \"spikes.csv\""));
    assert_invalid(
        &err,
        &inp(0, "in"),
        "cannot resolve relative path 'spikes.csv' for a description not read from a file",
    );
}

#[test]
fn csv_file_missing() {
    let dir = TempDir::new().unwrap();
    let err = err_toml_in(dir.path(), &input("in", "csv = \"spikes.csv\""));
    let shown = err.to_string();
    assert!(
        shown.starts_with("net.toml: input #0 (population 'in'): cannot read spikes.csv: "),
        "{shown}"
    );
    assert!(matches!(
        err.kind,
        ErrorKind::Invalid {
            item: Item::Input { index: 0, .. },
            ..
        }
    ));
}

#[test]
fn csv_bad_lines_name_file_and_line() {
    let dir = TempDir::new().unwrap();
    let cases = [
        (
            "1,0\n2;1\n",
            "spikes.csv line 2: expected 'step,index', got '2;1'",
        ),
        (
            "step,index\n1,0\n\n1,2,3\n",
            "spikes.csv line 4: expected 'step,index', got '1,2,3'",
        ),
        (
            "1,0\nx,1\n",
            "spikes.csv line 2: expected two integers, got 'x,1'",
        ),
        (
            "1,x\n",
            "spikes.csv line 1: expected two integers, got '1,x'",
        ),
        (
            "step,index\nstep,index\n",
            "spikes.csv line 2: expected two integers, got 'step,index'",
        ),
        (
            "1.5,0\n",
            "spikes.csv line 1: expected two integers, got '1.5,0'",
        ),
        (
            "# c\n\n1,0\n0,1\n",
            "spikes.csv line 4: step 0 out of range (steps are numbered from 1)",
        ),
        (
            "1,0\n\n-2,1\n",
            "spikes.csv line 3: step -2 out of range (steps are numbered from 1)",
        ),
        (
            "step,index\n1,3\n",
            "spikes.csv line 2: index 3 out of range 0..2",
        ),
        ("1,-1\n", "spikes.csv line 1: index -1 out of range 0..2"),
    ];
    for (content, reason) in cases {
        write(dir.path(), "spikes.csv", content);
        let err = err_toml_in(dir.path(), &input("in", "csv = \"spikes.csv\""));
        assert_invalid(&err, &inp(0, "in"), reason);
    }
}

#[test]
fn poisson_rate_must_be_non_negative() {
    for (rate, shown) in [("-1.0", "-1"), ("nan", "NaN"), ("inf", "inf")] {
        let err = err_toml(&input(
            "in",
            &format!("poisson = {{ rate_hz = {rate}, seed = 0 }}"),
        ));
        assert_invalid(
            &err,
            &inp(0, "in"),
            &format!("poisson rate_hz {shown} must be a non-negative number"),
        );
    }
}

#[test]
fn poisson_probability_above_one() {
    let text = net(
        "dt_ms = 2.0",
        "[[inputs]]\npopulation = \"in\"\npoisson = { rate_hz = 600.0, seed = 0 }",
    );
    assert_invalid(
        &err_toml(&text),
        &inp(0, "in"),
        "poisson rate_hz 600 at dt_ms 2 gives 1.2 spikes per step; at most 1 is possible",
    );
    let text = input("in", "poisson = { rate_hz = 1001.0, seed = 0 }");
    assert_invalid(
        &err_toml(&text),
        &inp(0, "in"),
        "poisson rate_hz 1001 at dt_ms 1 gives 1.001 spikes per step; at most 1 is possible",
    );
    // Exactly one spike per step is allowed.
    let net = ok_toml(&net(
        "dt_ms = 2.0",
        "[[inputs]]\npopulation = \"in\"\npoisson = { rate_hz = 500.0, seed = 9 }",
    ));
    assert_eq!(
        net.inputs[0].source,
        InputSource::Poisson {
            probability: 1.0,
            seed: 9
        }
    );
}

#[test]
fn periodic_period_must_be_at_least_one() {
    for period in [0, -2] {
        let err = err_toml(&input("in", &format!("periodic = {{ period = {period} }}")));
        assert_invalid(
            &err,
            &inp(0, "in"),
            &format!("periodic period {period} must be at least 1"),
        );
    }
}

#[test]
fn periodic_phase_out_of_range() {
    for phase in [3, -1, 100] {
        let err = err_toml(&input(
            "in",
            &format!("periodic = {{ period = 3, phase = {phase} }}"),
        ));
        assert_invalid(
            &err,
            &inp(0, "in"),
            &format!("periodic phase {phase} out of range 0..2"),
        );
    }
    let net = ok_toml(&input("in", "periodic = { period = 3, phase = 2 }"));
    assert_eq!(
        net.inputs[0].source,
        InputSource::Periodic {
            period: 3,
            phase: 2
        }
    );
    let net = ok_toml(&input("in", "periodic = { period = 1 }"));
    assert_eq!(
        net.inputs[0].source,
        InputSource::Periodic {
            period: 1,
            phase: 0
        }
    );
}

// ---------------------------------------------------------------------------
// Probes
// ---------------------------------------------------------------------------

fn probes(body: &str) -> String {
    net("", body)
}

#[test]
fn probe_of_unknown_population() {
    let err = err_toml(&probes(
        "[[probes]]\npopulation = \"x\"\nvars = [\"spikes\"]",
    ));
    assert_invalid(&err, &probe(0, "x"), "unknown probed population 'x'");
}

#[test]
fn probe_of_unknown_variable() {
    let err = err_toml(&probes(
        "[[probes]]\npopulation = \"out\"\nvars = [\"v\"]\n\
         [[probes]]\npopulation = \"out\"\nvars = [\"spikes\", \"w\"]",
    ));
    assert_invalid(
        &err,
        &probe(1, "out"),
        "unknown variable 'w' (expected spikes, u or v)",
    );
    let err = err_toml(&probes(
        "[[probes]]\npopulation = \"in\"\nvars = [\"current\"]",
    ));
    assert_invalid(
        &err,
        &probe(0, "in"),
        "unknown variable 'current' (expected spikes, u or v)",
    );
}

#[test]
fn probe_with_empty_vars() {
    let err = err_toml(&probes("[[probes]]\npopulation = \"out\"\nvars = []"));
    assert_invalid(
        &err,
        &probe(0, "out"),
        "vars is empty (expected some of spikes, u, v)",
    );
}

#[test]
fn probe_of_u_or_v_on_an_input_population() {
    for var in ["u", "v"] {
        let err = err_toml(&probes(&format!(
            "[[probes]]\npopulation = \"in\"\nvars = [\"spikes\", \"{var}\"]"
        )));
        assert_invalid(
            &err,
            &probe(0, "in"),
            &format!("input populations have no {var}; only spikes can be probed"),
        );
    }
}

// ---------------------------------------------------------------------------
// Loading files
// ---------------------------------------------------------------------------

#[test]
fn load_missing_description_file() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("missing.toml");
    let err = load(&path).unwrap_err();
    let shown_path = path.display().to_string();
    assert_eq!(err.file, shown_path);
    match &err.kind {
        ErrorKind::Io { path, reason } => {
            assert_eq!(path, &shown_path);
            assert!(!reason.is_empty());
        }
        other => panic!("expected an Io error, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with(&format!("{shown_path}: cannot read {shown_path}: ")),
        "{err}"
    );
}

#[test]
fn load_unknown_extension() {
    let dir = TempDir::new().unwrap();
    let path = write(dir.path(), "net.yaml", BASE);
    let err = load(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: unknown description format 'yaml' (expected .toml or .json)",
            path.display()
        )
    );
    assert_eq!(
        err.kind,
        ErrorKind::UnknownFormat {
            extension: "yaml".to_string()
        }
    );
    let path = write(dir.path(), "net", BASE);
    let err = load(&path).unwrap_err();
    assert_eq!(
        err.kind,
        ErrorKind::UnknownFormat {
            extension: String::new()
        }
    );
}

#[test]
fn load_errors_name_the_file_path() {
    let dir = TempDir::new().unwrap();
    let path = write(dir.path(), "bad.toml", hidden(1, "du", "5000"));
    let err = load(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: population 'hidden': du 5000 out of range 0..4095",
            path.display()
        )
    );
    let path = write(dir.path(), "bad.json", "{\"populations\": [");
    let err = load(&path).unwrap_err();
    assert_syntax(&err, &path.display().to_string(), &["line 1"]);
}

#[test]
fn load_extension_is_case_insensitive() {
    let dir = TempDir::new().unwrap();
    let path = write(dir.path(), "Upper.TOML", BASE);
    let net = load(&path).unwrap();
    assert_eq!(net.name, "Upper");
    assert_eq!(net.populations.len(), 2);
}

// ---------------------------------------------------------------------------
// Never a panic
// ---------------------------------------------------------------------------

#[test]
fn truncated_descriptions_never_panic() {
    let toml = full_toml();
    for end in (0..=toml.len()).filter(|&i| toml.is_char_boundary(i)) {
        let _ = from_toml_str(&toml[..end], "net.toml", None);
    }
    let json = full_json();
    for end in (0..=json.len()).filter(|&i| json.is_char_boundary(i)) {
        let _ = from_json_str(&json[..end], "net.json", None);
    }
    let physical = physical_with(
        "bias",
        "[0.5, -1e-3]",
        "refractory_ms = 2.5\nu_init = [1, 2.5]\n[[projections]]\nfrom = \"in\"\nto = \"out\"\n\
         sparse = [[0, 1, 0.5, 2], [2, 0, -0.25]]\nnum_weight_bits = 4\n",
    );
    ok_toml(&physical);
    for end in (0..=physical.len()).filter(|&i| physical.is_char_boundary(i)) {
        let _ = from_toml_str(&physical[..end], "net.toml", None);
    }
}

// ---------------------------------------------------------------------------
// Positive behaviour
// ---------------------------------------------------------------------------

fn full_toml() -> String {
    r#"
name = "example"
steps = 100
dt_ms = 0.5

[[populations]]
name = "in"
size = 4
model = "input"

[[populations]]
name = "hidden"
size = 3
model = "lif"
du = 100
dv = [10, 20, 30]
vth = 200
bias_mant = [0, -5, 5]
bias_exp = 2
refractory = [0, 1, 2]
u_init = -10
v_init = [1, 2, 3]

[[populations]]
name = "out"
size = 2
model = "lif"
du = 4095
dv = 0
vth = 131071

[[projections]]
name = "in-hidden"
from = "in"
to = "hidden"
dense = [[1, 0, 0, 2], [0, 0, 0, 0], [-3, 0, 4, 0]]
delay = 5
weight_exp = -2
num_weight_bits = 6
sign_mode = "mixed"

[[projections]]
from = "hidden"
to = "out"
sparse = [[0, 0, 10], [2, 1, -20, 7], [1, 0, 30]]
delay = 3
sign_mode = "inhibitory"

[[projections]]
from = "hidden"
to = "hidden"
one_to_one = { weight = [1, 2, 3] }

[[projections]]
from = "in"
to = "out"
fixed_probability = { p = 0.5, weight = 9, seed = 42 }
sign_mode = "excitatory"

[[projections]]
from = "in"
to = "hidden"
dense = "w.npy"

[[inputs]]
population = "in"
spikes = [[3, 1], [1, 0], [3, 1], [2, 3]]

[[inputs]]
population = "in"
csv = "data/spikes.csv"

[[inputs]]
population = "in"
poisson = { rate_hz = 100.0, seed = 7 }

[[inputs]]
population = "in"
periodic = { period = 4, phase = 1 }

[[probes]]
population = "hidden"
vars = ["spikes", "v"]

[[probes]]
population = "in"
vars = ["spikes"]

[[probes]]
population = "hidden"
vars = ["u"]
"#
    .to_string()
}

fn full_json() -> String {
    r#"{
  "name": "example",
  "steps": 100,
  "dt_ms": 0.5,
  "populations": [
    {"name": "in", "size": 4, "model": "input"},
    {"name": "hidden", "size": 3, "model": "lif", "du": 100, "dv": [10, 20, 30], "vth": 200,
     "bias_mant": [0, -5, 5], "bias_exp": 2, "refractory": [0, 1, 2], "u_init": -10,
     "v_init": [1, 2, 3]},
    {"name": "out", "size": 2, "model": "lif", "du": 4095, "dv": 0, "vth": 131071}
  ],
  "projections": [
    {"name": "in-hidden", "from": "in", "to": "hidden",
     "dense": [[1, 0, 0, 2], [0, 0, 0, 0], [-3, 0, 4, 0]],
     "delay": 5, "weight_exp": -2, "num_weight_bits": 6, "sign_mode": "mixed"},
    {"from": "hidden", "to": "out", "sparse": [[0, 0, 10], [2, 1, -20, 7], [1, 0, 30]],
     "delay": 3, "sign_mode": "inhibitory"},
    {"from": "hidden", "to": "hidden", "one_to_one": {"weight": [1, 2, 3]}},
    {"from": "in", "to": "out", "fixed_probability": {"p": 0.5, "weight": 9, "seed": 42},
     "sign_mode": "excitatory"},
    {"from": "in", "to": "hidden", "dense": "w.npy"}
  ],
  "inputs": [
    {"population": "in", "spikes": [[3, 1], [1, 0], [3, 1], [2, 3]]},
    {"population": "in", "csv": "data/spikes.csv"},
    {"population": "in", "poisson": {"rate_hz": 100.0, "seed": 7}},
    {"population": "in", "periodic": {"period": 4, "phase": 1}}
  ],
  "probes": [
    {"population": "hidden", "vars": ["spikes", "v"]},
    {"population": "in", "vars": ["spikes"]},
    {"population": "hidden", "vars": ["u"]}
  ]
}"#
    .to_string()
}

/// A directory with `net.toml`, `net.json` and the files they refer to.
fn full_example_dir() -> TempDir {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "net.toml", full_toml());
    write(dir.path(), "net.json", full_json());
    // [to = hidden (3)][from = in (4)], Fortran order.
    write_matrix(
        dir.path(),
        "w.npy",
        "<i2",
        true,
        3,
        4,
        &[0, 0, 0, 7, 0, -8, 0, 0, 0, 0, 0, 0],
    );
    write(
        dir.path(),
        "data/spikes.csv",
        "step,index\n# comment\n\n5,2\n4,0\n5,2\n",
    );
    dir
}

#[test]
fn full_example_toml_and_json_are_equal() {
    let dir = full_example_dir();
    let from_toml = load(&dir.path().join("net.toml")).unwrap();
    let from_json = load(&dir.path().join("net.json")).unwrap();
    assert_eq!(from_toml, from_json);
    // And the same from memory, given the directory.
    let text = fs::read_to_string(dir.path().join("net.toml")).unwrap();
    assert_eq!(
        from_toml_str(&text, "net.toml", Some(dir.path())).unwrap(),
        from_toml
    );
    let text = fs::read_to_string(dir.path().join("net.json")).unwrap();
    assert_eq!(
        from_json_str(&text, "net.json", Some(dir.path())).unwrap(),
        from_toml
    );
}

#[test]
fn full_example_contents() {
    let dir = full_example_dir();
    let net = load(&dir.path().join("net.toml")).unwrap();
    assert_eq!(net.name, "example");
    assert_eq!(net.steps, Some(100));
    assert_eq!(net.dt_ms, 0.5);
    let names: Vec<_> = net.populations.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["in", "hidden", "out"]);
    assert_eq!(net.population("out"), Some(2));
    assert_eq!(net.population("nope"), None);
    assert_eq!(net.lif_neuron_count(), 5);
    assert_eq!(net.populations[0].model, Model::Input);
    assert_eq!(
        lif_of(&net, "hidden"),
        Lif {
            du: vec![100; 3],
            dv: vec![10, 20, 30],
            vth: vec![200; 3],
            bias_mant: vec![0, -5, 5],
            bias_exp: vec![2; 3],
            refractory: vec![0, 1, 2],
            u_init: vec![-10; 3],
            v_init: vec![1, 2, 3],
            reset: Reset::Zero,
        }
    );
    assert_eq!(
        lif_of(&net, "out"),
        Lif {
            du: vec![4095; 2],
            dv: vec![0; 2],
            vth: vec![131_071; 2],
            bias_mant: vec![0; 2],
            bias_exp: vec![0; 2],
            refractory: vec![0; 2],
            u_init: vec![0; 2],
            v_init: vec![0; 2],
            reset: Reset::Zero,
        }
    );

    let p = &net.projections;
    assert_eq!(p.len(), 5);
    assert_eq!(p[0].name, "in-hidden");
    assert_eq!((p[0].from, p[0].to), (0, 1));
    assert_eq!(
        p[0].synapses,
        vec![
            syn(0, 0, 1, 5),
            syn(3, 0, 2, 5),
            syn(0, 2, -3, 5),
            syn(2, 2, 4, 5)
        ]
    );
    assert_eq!((p[0].weight_exp, p[0].num_weight_bits), (-2, 6));
    assert_eq!(p[0].sign_mode, Some(SignMode::Mixed));

    assert_eq!(p[1].name, "hidden->out");
    assert_eq!(
        p[1].synapses,
        vec![syn(0, 0, 10, 3), syn(2, 1, -20, 7), syn(1, 0, 30, 3)]
    );
    assert_eq!(p[1].sign_mode, Some(SignMode::Inhibitory));

    assert_eq!(p[2].name, "hidden->hidden");
    assert_eq!(
        p[2].synapses,
        vec![syn(0, 0, 1, 0), syn(1, 1, 2, 0), syn(2, 2, 3, 0)]
    );
    assert_eq!(
        (p[2].weight_exp, p[2].num_weight_bits, p[2].sign_mode),
        (0, 8, None)
    );

    assert_eq!((p[3].from, p[3].to), (0, 2));
    assert!(
        p[3].synapses
            .iter()
            .all(|s| s.weight == 9 && s.delay == 0 && s.pre < 4 && s.post < 2)
    );
    assert_eq!(p[3].sign_mode, Some(SignMode::Excitatory));

    assert_eq!(p[4].name, "in->hidden");
    assert_eq!(p[4].synapses, vec![syn(3, 0, 7, 0), syn(1, 1, -8, 0)]);

    assert_eq!(
        net.inputs,
        vec![
            Input {
                population: 0,
                source: InputSource::Spikes(vec![(1, 0), (2, 3), (3, 1)]),
            },
            Input {
                population: 0,
                source: InputSource::Spikes(vec![(4, 0), (5, 2)]),
            },
            Input {
                population: 0,
                source: InputSource::Poisson {
                    probability: 0.05,
                    seed: 7
                },
            },
            Input {
                population: 0,
                source: InputSource::Periodic {
                    period: 4,
                    phase: 1
                },
            },
        ]
    );

    // The two probes of `hidden` merge into one, in first-seen order.
    assert_eq!(
        net.probes,
        vec![
            Probe {
                population: 1,
                spikes: true,
                u: true,
                v: true
            },
            Probe {
                population: 0,
                spikes: true,
                u: false,
                v: false
            },
        ]
    );
    assert_eq!(net.probe_of(1), Some(&net.probes[0]));
    assert_eq!(net.probe_of(2), None);
}

#[test]
fn scalars_broadcast_to_every_neuron() {
    let text = "[[populations]]\nname = \"h\"\nsize = 4\nmodel = \"lif\"\n\
                du = 1\ndv = 2\nvth = 3\nbias_mant = -4\nbias_exp = 5\nrefractory = 6\nu_init = 7\nv_init = -8\n";
    let lif = lif_of(&ok_toml(text), "h");
    assert_eq!(
        lif,
        Lif {
            du: vec![1; 4],
            dv: vec![2; 4],
            vth: vec![3; 4],
            bias_mant: vec![-4; 4],
            bias_exp: vec![5; 4],
            refractory: vec![6; 4],
            u_init: vec![7; 4],
            v_init: vec![-8; 4],
            reset: Reset::Zero,
        }
    );
    // A one_to_one scalar weight too.
    let net = ok_toml(&projection("out", "out", "one_to_one = { weight = -4 }"));
    assert_eq!(
        net.projections[0].synapses,
        vec![syn(0, 0, -4, 0), syn(1, 1, -4, 0)]
    );
}

#[test]
fn defaults() {
    let text = projection("in", "out", "sparse = [[0, 1, 5]]");
    let net = ok_toml(&text);
    assert_eq!(net.name, "network");
    assert_eq!(net.steps, None);
    assert_eq!(net.dt_ms, 1.0);
    assert!(net.inputs.is_empty());
    assert!(net.probes.is_empty());
    let lif = lif_of(&net, "out");
    assert_eq!(lif.bias_mant, vec![0; 2]);
    assert_eq!(lif.bias_exp, vec![0; 2]);
    assert_eq!(lif.refractory, vec![0; 2]);
    assert_eq!(lif.u_init, vec![0; 2]);
    assert_eq!(lif.v_init, vec![0; 2]);
    let p = &net.projections[0];
    assert_eq!(p.name, "in->out");
    assert_eq!(p.weight_exp, 0);
    assert_eq!(p.num_weight_bits, 8);
    assert_eq!(p.sign_mode, None);
    assert_eq!(p.synapses, vec![syn(0, 1, 5, 0)]);
    // JSON too.
    assert_eq!(
        ok_json(r#"{"populations": [{"name": "a", "size": 1, "model": "input"}]}"#).name,
        "network"
    );
}

#[test]
fn name_from_file_stem_when_loaded() {
    let dir = TempDir::new().unwrap();
    let path = write(dir.path(), "my_net.v2.toml", BASE);
    assert_eq!(load(&path).unwrap().name, "my_net.v2");
    let path = write(
        dir.path(),
        "other.json",
        r#"{"populations": [{"name": "a", "size": 1, "model": "input"}]}"#,
    );
    assert_eq!(load(&path).unwrap().name, "other");
    // A name given in the file wins.
    let path = write(dir.path(), "named.toml", net("name = \"given\"", ""));
    assert_eq!(load(&path).unwrap().name, "given");
}

#[test]
fn dense_zero_entries_are_no_synapse_and_pre_is_the_column() {
    let text = projection("in", "out", "dense = [[0, 0, 7], [-1, 0, 0]]\ndelay = 2");
    let net = ok_toml(&text);
    assert_eq!(
        net.projections[0].synapses,
        vec![syn(2, 0, 7, 2), syn(0, 1, -1, 2)]
    );
    let net = ok_toml(&projection("in", "out", "dense = [[0, 0, 0], [0, 0, 0]]"));
    assert!(net.projections[0].synapses.is_empty());
}

#[test]
fn sparse_delays_default_to_the_projection_delay() {
    let net = ok_toml(&projection(
        "in",
        "out",
        "sparse = [[2, 1, 3], [0, 0, -4, 0], [1, 1, 0, 62]]\ndelay = 9",
    ));
    assert_eq!(
        net.projections[0].synapses,
        vec![syn(2, 1, 3, 9), syn(0, 0, -4, 0), syn(1, 1, 0, 62)]
    );
    // Without a projection delay, 3-element entries get 0.
    let net = ok_toml(&projection(
        "in",
        "out",
        "sparse = [[2, 1, 3], [0, 0, -4, 5]]",
    ));
    assert_eq!(
        net.projections[0].synapses,
        vec![syn(2, 1, 3, 0), syn(0, 0, -4, 5)]
    );
}

#[test]
fn duplicate_probes_merge() {
    let net = ok_toml(&probes(
        "[[probes]]\npopulation = \"out\"\nvars = [\"v\"]\n\
         [[probes]]\npopulation = \"in\"\nvars = [\"spikes\", \"spikes\"]\n\
         [[probes]]\npopulation = \"out\"\nvars = [\"spikes\"]\n\
         [[probes]]\npopulation = \"out\"\nvars = [\"v\", \"u\"]",
    ));
    assert_eq!(
        net.probes,
        vec![
            Probe {
                population: 1,
                spikes: true,
                u: true,
                v: true
            },
            Probe {
                population: 0,
                spikes: true,
                u: false,
                v: false
            },
        ]
    );
}

fn fixed(p: &str, seed: u64) -> Vec<Synapse> {
    let text = format!(
        "[[populations]]\nname = \"a\"\nsize = 50\nmodel = \"input\"\n\
         [[populations]]\nname = \"b\"\nsize = 40\nmodel = \"lif\"\ndu = 0\ndv = 0\nvth = 1\n\
         [[projections]]\nfrom = \"a\"\nto = \"b\"\ndelay = 4\n\
         fixed_probability = {{ p = {p}, weight = -3, seed = {seed} }}\n"
    );
    ok_toml(&text).projections.remove(0).synapses
}

#[test]
fn fixed_probability_is_deterministic_per_seed() {
    let a = fixed("0.1", 7);
    assert_eq!(a, fixed("0.1", 7));
    assert_ne!(a, fixed("0.1", 8));
    // 2000 pairs at p = 0.1: mean 200, sd ≈ 13.
    assert!((100..300).contains(&a.len()), "{} synapses", a.len());
    assert!(
        a.iter()
            .all(|s| s.pre < 50 && s.post < 40 && s.weight == -3 && s.delay == 4)
    );
    let mut pairs: Vec<_> = a.iter().map(|s| (s.pre, s.post)).collect();
    pairs.dedup();
    assert_eq!(pairs.len(), a.len(), "no pair twice");
    assert!(fixed("0.0", 1).is_empty());
    assert_eq!(fixed("1.0", 1).len(), 2000);
    assert_eq!(fixed("1", 1).len(), 2000);
}

#[test]
fn explicit_spikes_are_sorted_without_repeats() {
    let net = ok_toml(&input(
        "in",
        "spikes = [[5, 2], [1, 1], [5, 0], [1, 1], [2, 2]]",
    ));
    assert_eq!(
        net.inputs[0].source,
        InputSource::Spikes(vec![(1, 1), (2, 2), (5, 0), (5, 2)])
    );
}

#[test]
fn csv_spikes_load_relative_to_the_description() {
    let dir = TempDir::new().unwrap();
    let sub = dir.path().join("nets");
    write(&sub, "data/in.csv", "# step,index\n3, 2\n1,0\r\n\n3,2\n");
    let text = input("in", "csv = \"data/in.csv\"");
    let path = write(&sub, "net.toml", &text);
    let expected = InputSource::Spikes(vec![(1, 0), (3, 2)]);
    assert_eq!(load(&path).unwrap().inputs[0].source, expected);
    assert_eq!(ok_toml_in(&sub, &text).inputs[0].source, expected);
    // Relative to the description, not to the working directory.
    let err = err_toml_in(dir.path(), &text);
    assert_contains(&err.to_string(), &["cannot read data/in.csv"]);
    // An absolute path needs no base directory.
    let absolute = sub.join("data/in.csv");
    let text = input("in", &format!("csv = {:?}", absolute.to_str().unwrap()));
    assert_eq!(ok_toml(&text).inputs[0].source, expected);
    // An empty file has no spikes.
    write(&sub, "data/in.csv", "step,index\n");
    assert_eq!(
        load(&path).unwrap().inputs[0].source,
        InputSource::Spikes(vec![])
    );
}

#[test]
fn poisson_probability_is_rate_times_dt() {
    let net = ok_toml(&net(
        "dt_ms = 0.1",
        "[[inputs]]\npopulation = \"in\"\npoisson = { rate_hz = 250.0, seed = 3 }",
    ));
    match net.inputs[0].source {
        InputSource::Poisson { probability, seed } => {
            assert!((probability - 0.025).abs() < 1e-15, "{probability}");
            assert_eq!(seed, 3);
        }
        ref other => panic!("expected poisson, got {other:?}"),
    }
    let net = ok_toml(&input("in", "poisson = { rate_hz = 0, seed = 0 }"));
    assert_eq!(
        net.inputs[0].source,
        InputSource::Poisson {
            probability: 0.0,
            seed: 0
        }
    );
}

#[test]
fn recurrent_projection_onto_itself_is_allowed() {
    let net = ok_toml(&projection(
        "out",
        "out",
        "sparse = [[0, 1, 3], [1, 0, 3], [0, 0, 1]]",
    ));
    assert_eq!((net.projections[0].from, net.projections[0].to), (1, 1));
    assert_eq!(net.projections[0].synapses.len(), 3);
}

#[test]
fn descriptions_too_large_to_hold_are_refused_before_expanding() {
    let pop = |name: &str, size: u64| {
        format!("[[populations]]\nname = \"{name}\"\nsize = {size}\nmodel = \"input\"\n")
    };
    let text: String = (0..5).map(|i| pop(&format!("p{i}"), 1 << 24)).collect();
    let err = err_toml(&text);
    assert_invalid(
        &err,
        &Item::Population("p4".to_string()),
        "brings the description to 83886080 neurons; at most 67108864 are allowed",
    );

    // 2^24 × 8192 pairs at p = 1 would be 1.4e11 synapses.
    let text = format!(
        "{}[[populations]]\nname = \"b\"\nsize = 8192\nmodel = \"lif\"\ndu = 0\ndv = 0\nvth = 1\n\
         [[projections]]\nfrom = \"a\"\nto = \"b\"\nfixed_probability = {{ p = 1.0, weight = 1, seed = 1 }}\n",
        pop("a", 1 << 24)
    );
    let err = err_toml(&text);
    assert_invalid(
        &err,
        &proj(0, "a", "b"),
        "makes about 137438953472 synapses, beyond the 268435456 a description may hold in all",
    );
}

#[test]
fn schema_errors_name_the_place_in_the_tree() {
    let toml = "[[populations]]\nname = \"a\"\nsize = 1\nmodel = \"input\"\n\
                [[populations]]\nname = \"b\"\nsize = 1\nmodel = \"lif\"\ndu = \"x\"\ndv = 0\nvth = 1\n";
    let err = err_toml(toml).to_string();
    assert!(err.starts_with("net.toml: populations[1].du: "), "{err}");
    assert!(err.contains("line 9"), "{err}");
    let json = r#"{"populations": [{"name": "a", "size": 1, "model": "input"}],
                   "projections": [{"from": "a", "to": "a", "dense": [[1]], "weigth_exp": 1}]}"#;
    let err = neurite_net::from_json_str(json, "net.json", None)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("net.json: projections[0].weigth_exp: unknown field `weigth_exp`"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// Populations in physical units
// ---------------------------------------------------------------------------

#[test]
fn physical_population_is_kept_as_written() {
    let net = ok_toml(&physical_with(
        "",
        "",
        "bias = [0.5, -0.25]\nrefractory_ms = 2.4\nu_init = 1\nv_init = [-0.5, 0.75]",
    ));
    assert!(net.has_physical_units());
    assert!(!net.populations[0].is_physical());
    assert!(net.populations[1].is_physical());
    assert_eq!(net.lif_neuron_count(), 2);
    assert_eq!(
        physical_of(&net, "out"),
        PhysicalLif {
            tau_syn_ms: vec![5.0; 2],
            tau_mem_ms: vec![20.0; 2],
            threshold: vec![1.0; 2],
            bias: vec![0.5, -0.25],
            // round(2.4 / 1.0) = 2 steps.
            refractory: vec![2; 2],
            u_init: vec![1.0; 2],
            v_init: vec![-0.5, 0.75],
            reset: Reset::Zero,
        }
    );
    // Defaults: no bias, no refractory period, rest at 0; integers are numbers.
    let net = ok_toml(&physical("threshold", "[2, 3]"));
    let p = physical_of(&net, "out");
    assert_eq!(p.threshold, vec![2.0, 3.0]);
    assert_eq!(p.bias, vec![0.0; 2]);
    assert_eq!(p.refractory, vec![0; 2]);
    assert_eq!(
        (p.u_init.clone(), p.v_init.clone()),
        (vec![0.0; 2], vec![0.0; 2])
    );
    // A hardware-unit description holds nothing of this.
    let net = ok_toml(&net_text_with_projection());
    assert!(!net.has_physical_units());
    assert!(net.populations.iter().all(|p| p.physical.is_none()));
    assert!(net.projections.iter().all(|p| p.float_weights.is_none()));
}

fn net_text_with_projection() -> String {
    projection("in", "out", "dense = [[1, 0, 2], [0, 3, 0]]")
}

#[test]
fn physical_refractory_is_rounded_to_steps_of_dt() {
    let with_dt = |dt: &str, ms: &str| physical("refractory_ms", ms).replace("dt_ms = 1.0", dt);
    // 1.25 / 0.5 = 2.5 → 3 (halves away from zero); 31.5 / 0.5 = 63 is the most.
    let net = ok_toml(&with_dt("dt_ms = 0.5", "[1.25, 31.5]"));
    assert_eq!(physical_of(&net, "out").refractory, vec![3, 63]);
    let err = err_toml(&with_dt("dt_ms = 0.5", "31.75"));
    assert_invalid(
        &err,
        &pop("out"),
        "refractory_ms 31.75 is 64 steps of dt_ms 0.5; at most 63 steps",
    );
    let err = err_toml(&with_dt("dt_ms = 1.0", "[0.0, 70.0]"));
    assert_invalid(
        &err,
        &pop("out"),
        "refractory_ms[1] 70 is 70 steps of dt_ms 1; at most 63 steps",
    );
}

#[test]
fn physical_population_requires_time_constants_and_threshold() {
    for name in ["tau_syn_ms", "tau_mem_ms", "threshold"] {
        let err = err_toml(&physical(name, ""));
        assert_invalid(
            &err,
            &pop("out"),
            &format!("missing {name} (required for a lif population in physical units)"),
        );
    }
    // One physical field is enough to make a population physical.
    let text =
        "dt_ms = 1.0\n[[populations]]\nname = \"out\"\nsize = 1\nmodel = \"lif\"\nbias = 0.5\n";
    assert_invalid(
        &err_toml(text),
        &pop("out"),
        "missing tau_syn_ms (required for a lif population in physical units)",
    );
}

/// (name, a bad value as written, as shown, what it must be)
const PHYSICAL_BAD: &[(&str, &str, &str, &str)] = &[
    ("tau_syn_ms", "0.0", "0", "a positive number"),
    ("tau_syn_ms", "-5.0", "-5", "a positive number"),
    ("tau_syn_ms", "inf", "inf", "a positive number"),
    ("tau_mem_ms", "-0.5", "-0.5", "a positive number"),
    ("tau_mem_ms", "nan", "NaN", "a positive number"),
    ("threshold", "0", "0", "a positive number"),
    ("threshold", "-inf", "-inf", "a positive number"),
    ("bias", "nan", "NaN", "a finite number"),
    ("bias", "inf", "inf", "a finite number"),
    ("refractory_ms", "-1.0", "-1", "a non-negative number"),
    ("refractory_ms", "inf", "inf", "a non-negative number"),
    ("u_init", "inf", "inf", "a finite number"),
    ("v_init", "nan", "NaN", "a finite number"),
];

#[test]
fn every_physical_parameter_out_of_range() {
    for &(name, written, shown, must) in PHYSICAL_BAD {
        let err = err_toml(&physical(name, written));
        assert_invalid(&err, &pop("out"), &format!("{name} {shown} must be {must}"));
        let err = err_toml(&physical(name, &format!("[1.0, {written}]")));
        assert_invalid(
            &err,
            &pop("out"),
            &format!("{name}[1] {shown} must be {must}"),
        );
    }
}

#[test]
fn every_physical_parameter_array_of_wrong_length() {
    for name in [
        "tau_syn_ms",
        "tau_mem_ms",
        "threshold",
        "bias",
        "refractory_ms",
        "u_init",
        "v_init",
    ] {
        let err = err_toml(&physical(name, "[1.0, 1.0, 1.0]"));
        assert_invalid(
            &err,
            &pop("out"),
            &format!("{name} has 3 values for 2 neurons"),
        );
    }
}

#[test]
fn hardware_and_physical_fields_do_not_mix() {
    let err = err_toml(&physical_with("", "", "du = 5\nvth = 10"));
    assert_invalid(
        &err,
        &pop("out"),
        "mixes hardware-unit fields (du, vth) with physical-unit fields (tau_syn_ms, tau_mem_ms, threshold); give one or the other",
    );
    for hardware in ["du", "dv", "vth", "bias_mant", "bias_exp", "refractory"] {
        let text = format!(
            "dt_ms = 1.0\n[[populations]]\nname = \"hidden\"\nsize = 1\nmodel = \"lif\"\n\
             {hardware} = 1\nbias = 0.5\n"
        );
        assert_invalid(
            &err_toml(&text),
            &pop("hidden"),
            &format!(
                "mixes hardware-unit fields ({hardware}) with physical-unit fields (bias); give one or the other"
            ),
        );
    }
}

#[test]
fn physical_units_need_an_explicit_dt_ms() {
    let text = physical("", "").replace("dt_ms = 1.0\n", "");
    assert_invalid(
        &err_toml(&text),
        &pop("out"),
        "is in physical units (tau_syn_ms, tau_mem_ms, threshold) but the description gives no dt_ms; give dt_ms, the duration of a step in ms",
    );
    // Hardware-only descriptions keep the default of 1 ms.
    assert_eq!(ok_toml(&net("", "")).dt_ms, 1.0);
}

#[test]
fn physical_parameters_are_rejected_on_an_input_population() {
    for name in [
        "tau_syn_ms",
        "tau_mem_ms",
        "threshold",
        "bias",
        "refractory_ms",
    ] {
        let text = format!(
            "dt_ms = 1.0\n[[populations]]\nname = \"in\"\nsize = 2\nmodel = \"input\"\n{name} = 1.0\n"
        );
        assert_invalid(
            &err_toml(&text),
            &pop("in"),
            &format!("{name} is not a parameter of model input"),
        );
    }
}

#[test]
fn hardware_initial_state_must_be_whole() {
    for name in ["u_init", "v_init"] {
        let err = err_toml(&hidden(2, name, "0.5"));
        assert_invalid(
            &err,
            &pop("hidden"),
            &format!("{name} 0.5 is not a whole number (the population is in hardware units)"),
        );
        let err = err_toml(&hidden(2, name, "[1, -2.5]"));
        assert_invalid(
            &err,
            &pop("hidden"),
            &format!("{name}[1] -2.5 is not a whole number (the population is in hardware units)"),
        );
        let err = err_toml(&hidden(2, name, "nan"));
        assert_invalid(
            &err,
            &pop("hidden"),
            &format!("{name} NaN is not a whole number (the population is in hardware units)"),
        );
        // A whole float is its integer; out of range, it is shown as written.
        let net = ok_toml(&hidden(2, name, "[3.0, -4]"));
        assert_eq!(lif_param(&lif_of(&net, "hidden"), name), vec![3, -4]);
        let err = err_toml(&hidden(2, name, "1e20"));
        let range = if name == "u_init" {
            "-8388607..8388608"
        } else {
            "-8388607..8388607"
        };
        assert_invalid(
            &err,
            &pop("hidden"),
            &format!("{name} 100000000000000000000 out of range {range}"),
        );
    }
}

// ---------------------------------------------------------------------------
// Float weights
// ---------------------------------------------------------------------------

#[test]
fn float_weights_of_every_connectivity() {
    // Dense: zeros are no synapse; the synapses hold 0, the floats the weights.
    let net = ok_toml(&physical_projection(
        "dense = [[0.5, 0.0, -0.25], [0, 1, 1e-3]]",
    ));
    let p = &net.projections[0];
    assert_eq!(
        p.synapses,
        vec![
            syn(0, 0, 0, 0),
            syn(2, 0, 0, 0),
            syn(1, 1, 0, 0),
            syn(2, 1, 0, 0)
        ]
    );
    assert_eq!(
        p.float_weights,
        Some(FloatWeights::PerSynapse(vec![0.5, -0.25, 1.0, 1e-3]))
    );
    assert_eq!(p.weight_exp, 0);

    // Sparse, with delays; indices may be whole floats.
    let net = ok_toml(&physical_projection(
        "sparse = [[0, 1, 0.5, 3], [2.0, 0, 0.0], [1, 0, -2]]\ndelay = 4",
    ));
    let p = &net.projections[0];
    assert_eq!(
        p.synapses,
        vec![syn(0, 1, 0, 3), syn(2, 0, 0, 4), syn(1, 0, 0, 4)]
    );
    assert_eq!(
        p.float_weights,
        Some(FloatWeights::PerSynapse(vec![0.5, 0.0, -2.0]))
    );
    assert_eq!(p.float_weights.as_ref().unwrap().get(2), -2.0);

    // One to one: a single weight is kept once.
    let text = physical_with(
        "",
        "",
        "[[projections]]\nfrom = \"out\"\nto = \"out\"\none_to_one = { weight = 0.25 }",
    );
    let p = &ok_toml(&text).projections[0];
    assert_eq!(p.synapses, vec![syn(0, 0, 0, 0), syn(1, 1, 0, 0)]);
    assert_eq!(p.float_weights, Some(FloatWeights::Uniform(0.25)));
    assert_eq!(p.float_weights.as_ref().unwrap().get(1), 0.25);
    let p = &ok_toml(&text.replace("0.25", "[0.25, -1]")).projections[0];
    assert_eq!(
        p.float_weights,
        Some(FloatWeights::PerSynapse(vec![0.25, -1.0]))
    );

    // Fixed probability: the same synapses as with an integer weight.
    let fp = |w: &str| format!("fixed_probability = {{ p = 0.5, weight = {w}, seed = 42 }}");
    let physical_net = ok_toml(&physical_projection(&fp("0.1")));
    let hardware_net = ok_toml(&projection("in", "out", &fp("9")));
    let p = &physical_net.projections[0];
    assert_eq!(p.float_weights, Some(FloatWeights::Uniform(0.1)));
    let pairs = |net: &Network| -> Vec<(u32, u32)> {
        net.projections[0]
            .synapses
            .iter()
            .map(|s| (s.pre, s.post))
            .collect()
    };
    assert_eq!(pairs(&physical_net), pairs(&hardware_net));
    assert!(p.synapses.iter().all(|s| s.weight == 0));
}

#[test]
fn float_weights_must_be_finite() {
    let cases = [
        (
            "dense = [[0.5, inf, 0], [0, 0, 0]]",
            "dense[0][1]: weight inf must be a finite number",
        ),
        (
            "sparse = [[0, 0, 1.0], [1, 1, nan]]",
            "sparse entry 1: weight NaN must be a finite number",
        ),
        (
            "fixed_probability = { p = 0.5, weight = -inf, seed = 1 }",
            "fixed_probability weight -inf must be a finite number",
        ),
    ];
    for (body, reason) in cases {
        let err = err_toml(&physical_projection(body));
        assert_invalid(&err, &proj(0, "in", "out"), reason);
    }
    let text = physical_with(
        "",
        "",
        "[[projections]]\nfrom = \"out\"\nto = \"out\"\none_to_one = { weight = [1.0, nan] }",
    );
    assert_invalid(
        &err_toml(&text),
        &proj(0, "out", "out"),
        "one_to_one[1]: weight NaN must be a finite number",
    );
    assert_invalid(
        &err_toml(&text.replace("[1.0, nan]", "inf")),
        &proj(0, "out", "out"),
        "one_to_one weight inf must be a finite number",
    );
}

#[test]
fn non_integral_weights_onto_a_hardware_population() {
    let hint = "'out' is in hardware units, so its weights are integers on the 8-bit scale";
    let cases = [
        (
            "dense = [[1, 0, 0], [0, 0, 0.5]]",
            "dense[1][2]: weight 0.5",
        ),
        (
            "sparse = [[0, 0, 1], [1, 1, -2.25]]",
            "sparse entry 1: weight -2.25",
        ),
        ("sparse = [[0, 0, nan]]", "sparse entry 0: weight NaN"),
        (
            "fixed_probability = { p = 0.5, weight = 1.5, seed = 1 }",
            "fixed_probability weight 1.5",
        ),
    ];
    for (body, at) in cases {
        let err = err_toml(&projection("in", "out", body));
        assert_invalid(
            &err,
            &proj(0, "in", "out"),
            &format!("{at} is not a whole number; {hint}"),
        );
    }
    let err = err_toml(&projection(
        "out",
        "out",
        "one_to_one = { weight = [1, 0.5] }",
    ));
    assert_invalid(
        &err,
        &proj(0, "out", "out"),
        &format!("one_to_one[1]: weight 0.5 is not a whole number; {hint}"),
    );
    let err = err_toml(&projection("out", "out", "one_to_one = { weight = 0.5 }"));
    assert_invalid(
        &err,
        &proj(0, "out", "out"),
        &format!("one_to_one weight 0.5 is not a whole number; {hint}"),
    );
    // Whole floats are integers; too large for 32 bits, they are shown as written.
    let net = ok_toml(&projection(
        "in",
        "out",
        "dense = [[2.0, 0, 0], [0, 0, -3.0]]",
    ));
    assert_eq!(
        net.projections[0].synapses,
        vec![syn(0, 0, 2, 0), syn(2, 1, -3, 0)]
    );
    assert!(net.projections[0].float_weights.is_none());
    let err = err_toml(&projection("in", "out", "sparse = [[0, 0, 1e10]]"));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "sparse entry 0: weight 10000000000 does not fit 32 bits",
    );
}

#[test]
fn sparse_indices_and_delays_must_be_whole() {
    for (entry, reason) in [
        (
            "[0.5, 0, 1]",
            "sparse entry 0: pre 0.5 is not a whole number",
        ),
        (
            "[0, 1.5, 1]",
            "sparse entry 0: post 1.5 is not a whole number",
        ),
        (
            "[0, 1, 1, 2.5]",
            "sparse entry 0: delay 2.5 is not a whole number",
        ),
        (
            "[0, 1, 1, 1e3]",
            "sparse entry 0: delay 1000 out of range 0..62",
        ),
        (
            "[3.0, 1, 1]",
            "sparse entry 0: pre 3 out of range 0..2 ('in' has 3 neurons)",
        ),
    ] {
        let err = err_toml(&projection("in", "out", &format!("sparse = [{entry}]")));
        assert_invalid(&err, &proj(0, "in", "out"), reason);
    }
}

#[test]
fn weight_exp_is_the_compilers_for_float_weights() {
    let err = err_toml(&physical_projection(
        "dense = [[0.5, 0, 0], [0, 0, 0]]\nweight_exp = 0",
    ));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        "gives weight_exp, but 'out' is in physical units: the compiler chooses the exponent of its float weights; remove weight_exp",
    );
    // num_weight_bits, sign_mode and delay are kept.
    let net = ok_toml(&physical_projection(
        "dense = [[0.5, 0, 0], [0, 0, 0]]\nnum_weight_bits = 4\nsign_mode = \"mixed\"\ndelay = 7",
    ));
    let p = &net.projections[0];
    assert_eq!(
        (p.num_weight_bits, p.sign_mode, p.synapses[0].delay),
        (4, Some(SignMode::Mixed), 7)
    );
}

#[test]
fn npy_float_weights_onto_a_physical_population() {
    let dir = TempDir::new().unwrap();
    let body = "dense = \"w.npy\"";
    let values = [0.5, 0.0, -0.25, 0.0, 1e-3, 2.0];
    write(
        dir.path(),
        "w.npy",
        npy_bytes("'<f8'", false, &[2, 3], &f64_bytes(&values)),
    );
    let net = ok_toml_in(dir.path(), &physical_projection(body));
    let p = &net.projections[0];
    assert_eq!(
        p.synapses,
        vec![
            syn(0, 0, 0, 0),
            syn(2, 0, 0, 0),
            syn(1, 1, 0, 0),
            syn(2, 1, 0, 0)
        ]
    );
    assert_eq!(
        p.float_weights,
        Some(FloatWeights::PerSynapse(vec![0.5, -0.25, 1e-3, 2.0]))
    );
    // Integer dtypes are numbers too.
    write_matrix(dir.path(), "w.npy", "<i2", true, 2, 3, &MATRIX);
    let net = ok_toml_in(dir.path(), &physical_projection(body));
    assert_eq!(
        net.projections[0].float_weights,
        Some(FloatWeights::PerSynapse(vec![1.0, -3.0, 5.0, 100.0]))
    );
    // Non-finite values are refused, naming the element.
    let path = write(
        dir.path(),
        "w.npy",
        npy_bytes(
            "'<f4'",
            false,
            &[2, 3],
            &[1.0f32, 2.0, 3.0, 4.0, f32::NAN, 6.0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<_>>(),
        ),
    );
    let err = err_toml_in(dir.path(), &physical_projection(body));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        &format!(
            "{}: element 4 is NaN; weights must be finite numbers",
            path.display()
        ),
    );
    // Other dtypes name what a physical projection takes.
    let path = write(
        dir.path(),
        "w.npy",
        npy_bytes("'|b1'", false, &[2, 3], &[1, 0, 1, 0, 1, 1]),
    );
    let err = err_toml_in(dir.path(), &physical_projection(body));
    assert_invalid(
        &err,
        &proj(0, "in", "out"),
        &format!(
            "{} has dtype |b1; expected integers or 32/64-bit floats",
            path.display()
        ),
    );
}

#[test]
fn physical_description_in_json() {
    let text = r#"{
        "dt_ms": 0.5,
        "populations": [
            {"name": "in", "size": 2, "model": "input"},
            {"name": "out", "size": 2, "model": "lif", "tau_syn_ms": [5, 6.5],
             "tau_mem_ms": 20.0, "threshold": 1, "bias": 0.1, "refractory_ms": 1.0,
             "u_init": 0.5}
        ],
        "projections": [
            {"from": "in", "to": "out", "dense": [[0.5, -1], [0, 2e-3]]}
        ]
    }"#;
    let net = ok_json(text);
    let p = physical_of(&net, "out");
    assert_eq!(p.tau_syn_ms, vec![5.0, 6.5]);
    assert_eq!(p.refractory, vec![2, 2]);
    assert_eq!(p.u_init, vec![0.5; 2]);
    assert_eq!(
        net.projections[0].float_weights,
        Some(FloatWeights::PerSynapse(vec![0.5, -1.0, 2e-3]))
    );
    let err = err_json(&text.replace("\"dt_ms\": 0.5,", ""));
    assert_eq!(
        err.to_string(),
        "net.json: population 'out': is in physical units (tau_syn_ms, tau_mem_ms, threshold, bias, refractory_ms) but the description gives no dt_ms; give dt_ms, the duration of a step in ms"
    );
}
