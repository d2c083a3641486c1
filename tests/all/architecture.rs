//! The dependency arrows of ARCHITECTURE.md, checked against `cargo metadata`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

use crate::support::root;

/// Workspace crates each crate may depend on (any dependency kind).
const ALLOWED: &[(&str, &[&str])] = &[
    ("neurite-chip", &[]),
    ("neurite-net", &["neurite-learning"]),
    ("neurite-learning", &[]),
    ("neurite-program", &["neurite-chip", "neurite-learning"]),
    (
        "neurite-compiler",
        &[
            "neurite-chip",
            "neurite-learning",
            "neurite-net",
            "neurite-program",
        ],
    ),
    (
        "neurite-emulator",
        &["neurite-chip", "neurite-learning", "neurite-program"],
    ),
    ("neurite-reference", &["neurite-net"]),
    ("neurite-nir", &["neurite-net", "neurite-compiler"]),
    ("neurite-proto", &["neurite-chip", "neurite-program"]),
    (
        "neurite-host",
        &[
            "neurite-chip",
            "neurite-program",
            "neurite-emulator",
            "neurite-proto",
        ],
    ),
    (
        "neurite-firmware-sim",
        &[
            "neurite-chip",
            "neurite-program",
            "neurite-host",
            "neurite-proto",
        ],
    ),
    (
        "neurite",
        &[
            "neurite-chip",
            "neurite-net",
            "neurite-program",
            "neurite-compiler",
            "neurite-emulator",
            "neurite-reference",
            "neurite-proto",
            "neurite-host",
            "neurite-firmware-sim",
            "neurite-nir",
        ],
    ),
];

/// External crates that must never reach the emulator or the Program: the
/// core stays free of I/O runtimes and wire formats.
const KEPT_OUT_OF_THE_CORE: &[&str] = &["tokio", "tonic", "prost", "tracing"];

fn metadata(with_dependencies: bool) -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut args = vec!["metadata", "--format-version", "1", "--offline"];
    if with_dependencies {
        // Only what builds here: other platforms' crates may not be downloaded.
        args.extend(["--filter-platform", env!("NEURITE_HOST_TARGET")]);
    } else {
        args.push("--no-deps");
    }
    let output = Command::new(cargo)
        .args(args)
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
    metadata(false)["packages"]
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

/// Names of every package `package` builds on, directly or not, leaving out
/// dev-dependencies (which never reach the library).
fn transitive_dependencies(package: &str) -> BTreeSet<String> {
    let metadata = metadata(true);
    let name_of: BTreeMap<&str, &str> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id"),
                p["name"].as_str().expect("name"),
            )
        })
        .collect();
    let nodes: BTreeMap<&str, Vec<&str>> = metadata["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes")
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .expect("deps")
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .expect("dep kinds")
                        .iter()
                        .any(|k| k["kind"].as_str() != Some("dev"))
                })
                .map(|d| d["pkg"].as_str().expect("pkg"))
                .collect();
            (node["id"].as_str().expect("id"), deps)
        })
        .collect();
    let start = name_of
        .iter()
        .find(|(_, name)| **name == package)
        .map(|(id, _)| *id)
        .expect("package in the workspace");
    let mut seen = BTreeSet::new();
    let mut stack = vec![start];
    while let Some(id) = stack.pop() {
        for &dep in nodes.get(id).map(Vec::as_slice).unwrap_or(&[]) {
            if seen.insert(dep) {
                stack.push(dep);
            }
        }
    }
    seen.into_iter().map(|id| name_of[id].to_string()).collect()
}

#[test]
fn the_emulator_never_sees_the_description_the_compiler_or_a_runtime() {
    for name in ["neurite-emulator", "neurite-program", "neurite-chip"] {
        let reached = transitive_dependencies(name);
        for forbidden in ["neurite-net", "neurite-compiler", "neurite-reference"]
            .iter()
            .chain(KEPT_OUT_OF_THE_CORE)
        {
            assert!(
                !reached.contains(*forbidden),
                "{name} depends on {forbidden}, directly or through another crate"
            );
        }
    }
    // A board takes Programs: it never sees a description or the compiler.
    for name in ["neurite-proto", "neurite-host", "neurite-firmware-sim"] {
        let reached = transitive_dependencies(name);
        for forbidden in ["neurite-net", "neurite-compiler", "neurite-reference"] {
            assert!(
                !reached.contains(forbidden),
                "{name} depends on {forbidden}, directly or through another crate"
            );
        }
    }
    let compiler = transitive_dependencies("neurite-compiler");
    assert!(!compiler.contains("neurite-emulator"));
    assert!(
        compiler.contains("neurite-program"),
        "the walk reaches direct dependencies"
    );
}

#[test]
fn architecture_md_gives_every_crate_an_invariant() {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    // Code-map sections start with `### `; each crate's must state its invariant.
    let sections: Vec<&str> = text.split("\n### ").skip(1).collect();
    for (name, _) in ALLOWED {
        let section = sections
            .iter()
            .find(|s| {
                s.lines()
                    .next()
                    .is_some_and(|title| title.contains(&format!("`{name}`")))
            })
            .unwrap_or_else(|| panic!("ARCHITECTURE.md has no section for `{name}`"));
        assert!(
            section.contains("**Architecture Invariant:**"),
            "the section of `{name}` has no Architecture Invariant"
        );
    }
}
