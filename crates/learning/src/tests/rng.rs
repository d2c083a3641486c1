//! NumPy's `SeedSequence` and PCG64 streams, against values NumPy 1.26.4
//! produced (`numpy_streams.json`, written by `generate.py numpy`).

use crate::rng::{Pcg64, Stream, seed_sequence_state};

use super::golden;

#[test]
fn seed_sequence_and_streams_match_numpy() {
    let data = golden("numpy_streams.json");
    let streams = data["streams"].as_array().unwrap();
    assert!(streams.len() >= 9);
    for entry in streams {
        let seed: u128 = entry["seed"].as_str().unwrap().parse().unwrap();
        let state: Vec<u64> = entry["state"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(seed_sequence_state(seed).to_vec(), state, "seed {seed}");

        let doubles: Vec<u64> = entry["doubles_bits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        let mut stream = Stream::new(seed);
        for (k, &bits) in doubles.iter().enumerate() {
            assert_eq!(
                stream.double(k as u64).to_bits(),
                bits,
                "seed {seed} draw {k}"
            );
        }
        let ints: Vec<u32> = entry["below_128"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        let mut stream = Stream::new(seed);
        for (k, &value) in ints.iter().enumerate() {
            assert_eq!(stream.below_128(k as u64), value, "seed {seed} draw {k}");
        }
        // Random access: backwards, and with gaps long enough to jump.
        let mut stream = Stream::new(seed);
        for k in (0..ints.len()).rev().step_by(7) {
            assert_eq!(stream.below_128(k as u64), ints[k]);
        }
        let mut stream = Stream::new(seed);
        for k in (0..doubles.len()).step_by(97) {
            assert_eq!(stream.double(k as u64).to_bits(), doubles[k]);
        }
    }
}

#[test]
fn advancing_equals_stepping() {
    let mut stepped = Pcg64::numpy(42);
    for _ in 0..1000 {
        stepped.next_u64();
    }
    let mut jumped = Pcg64::numpy(42);
    jumped.advance(1000);
    assert_eq!(stepped, jumped);
    assert_eq!(stepped.next_u64(), jumped.next_u64());
    let mut none = Pcg64::numpy(42);
    none.advance(0);
    assert_eq!(none, Pcg64::numpy(42));
}
