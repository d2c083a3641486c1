//! Golden traces made by Lava itself (`tests/golden/lava/generate.py`, with
//! lava-nc 0.10.0's bit-accurate CPU models): Neurite must reproduce every
//! spike, u and v at every step.

use neurite::chip::ChipProfile;
use serde_json::Value;

use crate::support::{emulate, root, shown, tiny_chip};

/// Cases outside what Neurite accepts, with the reason.
const REFUSED: &[(&str, &str)] = &[(
    "saturation_vth_over_17bit",
    "vth 131072 out of range 0..131071",
)];

fn cases() -> Vec<(String, Value)> {
    let dir = root().join("tests/golden/lava");
    let mut cases: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .expect("golden directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable");
            let doc: Value = serde_json::from_str(&text).expect("golden file is JSON");
            let name = p.file_stem().expect("stem").to_string_lossy().into_owned();
            (name, doc)
        })
        .collect();
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(cases.len() >= 10, "golden files missing in {}", shown(&dir));
    cases
}

fn rows<T: serde::de::DeserializeOwned>(value: &Value) -> Vec<Vec<T>> {
    serde_json::from_value(value.clone()).expect("a list of lists")
}

fn check_case(name: &str, doc: &Value, chip: &ChipProfile) {
    let network_text = doc["network"].to_string();
    let parsed = neurite::net::from_json_str(&network_text, &format!("{name}.json"), None);
    if let Some((_, reason)) = REFUSED.iter().find(|(case, _)| *case == name) {
        let err = parsed.expect_err("Neurite refuses this case");
        assert!(err.to_string().contains(reason), "{name}: {err}");
        return;
    }
    let network = parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
    let steps = doc["steps"].as_u64().expect("steps");
    let recording = emulate(&network, chip, steps);
    let expected = doc["expected"].as_object().expect("expected populations");
    assert!(!expected.is_empty());
    for (population, want) in expected {
        let got = recording
            .population(population)
            .unwrap_or_else(|| panic!("{name}: no population {population}"));
        for (var, got_rows) in [("u", got.u.as_ref()), ("v", got.v.as_ref())] {
            let got_rows =
                got_rows.unwrap_or_else(|| panic!("{name}/{population}: {var} not probed"));
            let want_rows: Vec<Vec<i32>> = rows(&want[var]);
            assert_eq!(got_rows.len(), want_rows.len());
            for (step, (g, w)) in got_rows.iter().zip(&want_rows).enumerate() {
                assert_eq!(
                    g,
                    w,
                    "{name} on {}: {population}.{var} at step {}",
                    chip.name,
                    step + 1
                );
            }
        }
        let got_spikes = got.spikes.as_ref().expect("spikes probed");
        let want_spikes: Vec<Vec<u32>> = rows(&want["spikes"]);
        assert_eq!(got_spikes.len(), want_spikes.len());
        for (step, (g, w)) in got_spikes.iter().zip(&want_spikes).enumerate() {
            assert_eq!(
                g,
                w,
                "{name} on {}: {population} spikes at step {}",
                chip.name,
                step + 1
            );
        }
    }
}

#[test]
fn emulator_matches_lava_on_every_golden_trace() {
    for (name, doc) in cases() {
        check_case(&name, &doc, &ChipProfile::loihi2());
    }
}

#[test]
fn golden_traces_hold_when_populations_span_many_cores() {
    for (name, doc) in cases() {
        check_case(&name, &doc, &tiny_chip(3));
    }
}

#[test]
fn reference_simulator_matches_lava_too() {
    for (name, doc) in cases() {
        if REFUSED.iter().any(|(case, _)| *case == name) {
            continue;
        }
        let network =
            neurite::net::from_json_str(&doc["network"].to_string(), &name, None).expect("valid");
        let steps = doc["steps"].as_u64().expect("steps");
        let trace =
            neurite_reference::simulate(&network, steps).expect("the reference simulates it");
        for (population, want) in doc["expected"].as_object().expect("expected") {
            let index = network.population(population).expect("population");
            let got = &trace.populations[index];
            assert_eq!(got.u, rows::<i32>(&want["u"]), "{name}/{population}.u");
            assert_eq!(got.v, rows::<i32>(&want["v"]), "{name}/{population}.v");
            assert_eq!(
                got.spikes,
                rows::<u32>(&want["spikes"]),
                "{name}/{population} spikes"
            );
        }
    }
}
