//! Damaged Programs reaching a board: whatever decodes must load and run
//! without a panic, or be refused with a typed error.

use neurite::chip::ChipProfile;
use neurite::emulator::{Emulator, Var};
use neurite::program::Program;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, RngAlgorithm, TestRng, TestRunner};

use crate::support::root;

/// Offset of the body in an encoded Program whose chip name has `name_len` bytes.
fn body_offset(name_len: usize) -> usize {
    8 + 4 + 2 + name_len + 8 + 4
}

#[test]
fn damaged_programs_never_panic_the_emulator() {
    let network =
        neurite::net::load(&root().join("examples/two-layer.toml")).expect("example loads");
    let chip = ChipProfile::loihi2();
    let program = neurite::compiler::compile(&network, &chip)
        .expect("compiles")
        .program;
    let bytes = program.encode();
    let start = body_offset(chip.name.len());
    let config = Config {
        cases: 4000,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[3; 32]));
    let edits = proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..3);
    let loaded = std::cell::Cell::new(0u32);
    runner
        .run(&edits, |edits| {
            let mut damaged = bytes.clone();
            for (index, value) in edits {
                let at = start + index.index(damaged.len() - start);
                damaged[at] = value;
            }
            // Re-seal the body so the damage gets past the checksum.
            let crc = crc32fast_hash(&damaged[start..]);
            damaged[start - 4..start].copy_from_slice(&crc.to_le_bytes());
            if let Ok(program) = Program::decode(&damaged)
                && let Ok(mut emulator) = Emulator::new(&program, &chip)
            {
                loaded.set(loaded.get() + 1);
                let mut out = Vec::new();
                for step in 0..20u32 {
                    for port in 0..emulator.input_ports() {
                        let _ = emulator.inject(port, &[step % 4, 0, 1]);
                    }
                    emulator.step();
                    for population in 0..emulator.populations().len() {
                        let _ = emulator.read(population, Var::U, &mut out);
                        let _ = emulator.spiked(population).map(|s| s.count());
                    }
                }
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let loaded = loaded.get();
    eprintln!("{loaded} damaged Programs loaded");
    assert!(
        loaded > 200,
        "only {loaded} damaged Programs reached the emulator"
    );
}

/// CRC-32 (IEEE), as the Program header stores it.
fn crc32fast_hash(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
