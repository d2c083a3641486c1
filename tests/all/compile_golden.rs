//! Golden compile outputs: small networks and the text form of the Program
//! they compile to (`tests/golden/compile/<name>.program.txt`).
//!
//! Each expectation was read and checked by hand against the description
//! (placement order, axons per source and core, quantized weights, routes)
//! before it was committed. When a change to the compiler changes them on
//! purpose, `NEURITE_BLESS=1 cargo test --test all compile_golden` rewrites
//! the files; review the diff like code, never accept it blindly.

use std::path::{Path, PathBuf};

use neurite::chip::ChipProfile;

use crate::support::root;

fn dir() -> PathBuf {
    root().join("tests/golden/compile")
}

/// The chip a golden network asks for in its first line (`# chip: NAME`,
/// a built-in name or a profile file next to it).
fn chip_of(text: &str, dir: &Path) -> ChipProfile {
    let spec = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# chip: "))
        .expect("golden networks start with '# chip: NAME'")
        .trim();
    if spec.ends_with(".toml") {
        ChipProfile::load(&dir.join(spec)).expect("chip profile loads")
    } else {
        ChipProfile::builtin(spec).expect("built-in chip")
    }
}

#[test]
fn compiled_programs_match_their_golden_text() {
    let dir = dir();
    let bless = std::env::var_os("NEURITE_BLESS").is_some();
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("golden directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "toml")
                && !p.to_string_lossy().ends_with(".chip.toml")
        })
        .collect();
    names.sort();
    assert!(names.len() >= 2, "golden networks missing");
    let mut stale = Vec::new();
    for path in names {
        let text = std::fs::read_to_string(&path).expect("readable");
        let chip = chip_of(&text, &dir);
        let network = neurite::net::load(&path).expect("golden network is valid");
        let compiled = neurite::compiler::compile(&network, &chip).expect("compiles");
        neurite::compiler::verify::verify(&network, &compiled.program, &chip).expect("verifies");
        let got = compiled.program.to_text();
        let expected_path = path.with_extension("program.txt");
        if bless {
            std::fs::write(&expected_path, &got).expect("write golden");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != got {
            stale.push(format!(
                "{}:\n--- expected\n{expected}\n--- got\n{got}",
                expected_path.display()
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "compiled programs differ from their golden text (NEURITE_BLESS=1 rewrites them; review the diff):\n{}",
        stale.join("\n")
    );
}

#[test]
fn the_example_system_profile_matches_the_builtin_loihi2() {
    let system = ChipProfile::load(&root().join("examples/chips/loihi2-32.toml")).expect("loads");
    let loihi2 = ChipProfile::loihi2();
    assert_eq!(system.core, loihi2.core);
    assert_eq!(system.mesh, loihi2.mesh);
    assert_eq!(system.costs, loihi2.costs);
    assert_eq!(system.total_cores(), 32 * 128);
}
