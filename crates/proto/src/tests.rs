use neurite_program::Program;
use proptest::prelude::*;

use super::*;

#[test]
fn the_smaller_encoding_is_chosen() {
    // Two spikes out of 1000: 2 varints against a 125-byte bitmap.
    assert!(matches!(
        encode_spikes(&[5, 700], 1000).encoding,
        Some(v1::spike_set::Encoding::Gaps(_))
    ));
    // Every neuron: 1000 one-byte gaps against 125 bytes.
    let all: Vec<u32> = (0..1000).collect();
    assert!(matches!(
        encode_spikes(&all, 1000).encoding,
        Some(v1::spike_set::Encoding::Bitmap(_))
    ));
    // Nothing: zero bytes either way.
    assert_eq!(decode_spikes(&encode_spikes(&[], 10)), Ok(vec![]));
}

#[test]
fn malformed_spike_sets_are_refused() {
    let gaps = v1::SpikeSet {
        size: 4,
        encoding: Some(v1::spike_set::Encoding::Gaps(v1::IndexGaps {
            gaps: vec![1, 2],
        })),
    };
    assert!(
        decode_spikes(&gaps)
            .unwrap_err()
            .to_string()
            .contains("index 4 out of range")
    );
    let short = v1::SpikeSet {
        size: 20,
        encoding: Some(v1::spike_set::Encoding::Bitmap(vec![0xff])),
    };
    assert!(decode_spikes(&short).is_err());
    let beyond = v1::SpikeSet {
        size: 3,
        encoding: Some(v1::spike_set::Encoding::Bitmap(vec![0b1000])),
    };
    assert!(
        decode_spikes(&beyond)
            .unwrap_err()
            .to_string()
            .contains("bit 3")
    );
}

proptest! {
    /// Whatever the density, the frame on the wire is the smaller encoding.
    #[test]
    fn the_chosen_encoding_is_never_larger(
        indices in proptest::collection::btree_set(0u32..2000, 0..2000),
    ) {
        use prost::Message as _;
        let indices: Vec<u32> = indices.into_iter().collect();
        let chosen = encode_spikes(&indices, 2000);
        let mut bitmap = vec![0u8; 250];
        for &i in &indices {
            bitmap[i as usize / 8] |= 1 << (i % 8);
        }
        let as_bitmap = v1::SpikeSet {
            size: 2000,
            encoding: Some(v1::spike_set::Encoding::Bitmap(bitmap)),
        };
        let mut previous: Option<u32> = None;
        let gaps = indices
            .iter()
            .map(|&i| {
                let gap = previous.map_or(i, |p| i - p - 1);
                previous = Some(i);
                gap
            })
            .collect();
        let as_gaps = v1::SpikeSet {
            size: 2000,
            encoding: Some(v1::spike_set::Encoding::Gaps(v1::IndexGaps { gaps })),
        };
        // Within the few bytes of field headers the two choices differ by.
        prop_assert!(
            chosen.encoded_len() <= as_bitmap.encoded_len().min(as_gaps.encoded_len()) + 3
        );
    }

    #[test]
    fn spike_sets_round_trip(indices in proptest::collection::btree_set(0u32..5000, 0..600)) {
        let indices: Vec<u32> = indices.into_iter().collect();
        let set = encode_spikes(&indices, 5000);
        prop_assert_eq!(decode_spikes(&set).unwrap(), indices);
    }
}

fn program_bytes() -> Vec<u8> {
    let mut program = Program::empty("loihi2");
    program.notes.network = "x".repeat(3000);
    program.encode()
}

#[test]
fn chunks_reassemble_into_the_program() {
    let bytes = program_bytes();
    let chunks = program_chunks(&bytes, 1000);
    assert_eq!(chunks.len(), bytes.len().div_ceil(1000));
    let mut assembler = ProgramAssembler::new(1 << 20);
    for chunk in chunks {
        assembler.push(chunk).expect("in order");
    }
    let (program, raw) = assembler.finish().expect("complete");
    assert_eq!(raw, bytes);
    assert_eq!(program.notes.network.len(), 3000);
}

#[test]
fn broken_uploads_are_refused() {
    let bytes = program_bytes();
    let chunks = program_chunks(&bytes, 1000);
    let assemble = |chunks: Vec<v1::ProgramChunk>, limit: u64| {
        let mut assembler = ProgramAssembler::new(limit);
        for chunk in chunks {
            assembler.push(chunk)?;
        }
        assembler.finish().map(|_| ())
    };
    // Truncated: the last chunk missing.
    let mut truncated = chunks.clone();
    truncated.pop();
    assert!(
        assemble(truncated, 1 << 20)
            .unwrap_err()
            .to_string()
            .contains("truncated")
    );
    // A flipped byte: the checksum catches it.
    let mut corrupt = chunks.clone();
    corrupt[1].data[10] ^= 1;
    assert!(
        assemble(corrupt, 1 << 20)
            .unwrap_err()
            .to_string()
            .contains("checksum")
    );
    // Out of order.
    let mut swapped = chunks.clone();
    swapped.swap(1, 2);
    assert!(
        assemble(swapped, 1 << 20)
            .unwrap_err()
            .to_string()
            .contains("offset")
    );
    // Over the board's limit, said at once.
    assert!(
        assemble(chunks.clone(), 100)
            .unwrap_err()
            .to_string()
            .contains("exceed")
    );
    // Bytes that are not a Program, with a right checksum.
    let garbage = program_chunks(b"not a program at all", 8);
    assert!(matches!(
        assemble(garbage, 1 << 20),
        Err(ProtoError::Program(_))
    ));
    assert!(ProgramAssembler::new(10).finish().is_err());
}
