//! The dependency arrows of ARCHITECTURE.md, checked against `cargo metadata`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

use crate::support::root;

/// Workspace crates each crate may depend on (any dependency kind).
const ALLOWED: &[(&str, &[&str])] = &[
    ("neurite-chip", &[]),
    ("neurite-net", &[]),
    ("neurite-program", &["neurite-chip"]),
    (
        "neurite-compiler",
        &["neurite-chip", "neurite-net", "neurite-program"],
    ),
    ("neurite-emulator", &["neurite-chip", "neurite-program"]),
    ("neurite-reference", &["neurite-net"]),
    (
        "neurite",
        &[
            "neurite-chip",
            "neurite-net",
            "neurite-program",
            "neurite-compiler",
            "neurite-emulator",
            "neurite-reference",
        ],
    ),
];

/// External crates that must never reach the emulator or the Program: the
/// core stays free of I/O runtimes and wire formats.
const KEPT_OUT_OF_THE_CORE: &[&str] = &["tokio", "tonic", "prost", "rayon", "tracing"];

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("metadata is JSON")
}

/// Each workspace package and the names of everything it depends on.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    metadata()["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .map(|d| d["name"].as_str().expect("name").to_string())
                .collect();
            (p["name"].as_str().expect("name").to_string(), deps)
        })
        .collect()
}

#[test]
fn workspace_crates_depend_only_along_the_documented_arrows() {
    let deps = dependencies();
    let known: BTreeSet<&str> = ALLOWED.iter().map(|(name, _)| *name).collect();
    for name in deps.keys() {
        assert!(
            known.contains(name.as_str()),
            "crate {name} is not in ARCHITECTURE.md's table (and this test's)"
        );
    }
    for (name, allowed) in ALLOWED {
        let actual = deps
            .get(*name)
            .unwrap_or_else(|| panic!("{name} is missing"));
        for dep in actual.iter().filter(|d| d.starts_with("neurite")) {
            assert!(
                allowed.contains(&dep.as_str()),
                "{name} depends on {dep}, which its Architecture Invariant forbids"
            );
        }
    }
}

#[test]
fn the_emulator_never_sees_the_description_the_compiler_or_a_runtime() {
    let deps = dependencies();
    for name in ["neurite-emulator", "neurite-program", "neurite-chip"] {
        let actual = &deps[name];
        for forbidden in ["neurite-net", "neurite-compiler", "neurite-reference"]
            .iter()
            .chain(KEPT_OUT_OF_THE_CORE)
        {
            assert!(
                !actual.contains(*forbidden),
                "{name} depends on {forbidden}"
            );
        }
    }
    assert!(!deps["neurite-compiler"].contains("neurite-emulator"));
}

#[test]
fn architecture_md_names_every_crate_with_an_invariant() {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    for (name, _) in ALLOWED {
        assert!(
            text.contains(&format!("`{name}`")),
            "ARCHITECTURE.md does not mention `{name}`"
        );
    }
    let invariants = text.matches("**Architecture Invariant:**").count();
    assert!(
        invariants >= ALLOWED.len(),
        "{invariants} invariants for {} crates",
        ALLOWED.len()
    );
}
