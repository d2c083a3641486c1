//! Neurite's board protocol: the code generated from `proto/neurite/v1`
//! (tonic and prost, compiled with protox), and the conversions between its
//! messages and Neurite's types — Programs in chunks, chip limits, spike sets.
//!
//! ```
//! use neurite_proto::{decode_spikes, encode_spikes};
//! // A sparse frame travels as index gaps, a dense one as a bitmap.
//! let sparse = encode_spikes(&[3, 900], 1000);
//! let dense: Vec<u32> = (0..1000).step_by(2).collect();
//! let bitmap = encode_spikes(&dense, 1000);
//! assert_eq!(decode_spikes(&sparse).unwrap(), vec![3, 900]);
//! assert_eq!(decode_spikes(&bitmap).unwrap(), dense);
//! ```

use neurite_chip::ChipProfile;
use neurite_program::{DecodeError, Program};

/// Generated messages, client and server of `neurite.v1`.
#[allow(
    missing_docs,
    unreachable_pub,
    clippy::all,
    missing_debug_implementations
)]
pub mod v1 {
    tonic::include_proto!("neurite.v1");
}

/// The encoded file descriptor set of the protocol, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/neurite_descriptor.bin"));

/// Metadata key naming the client that holds (or asks for) the control lease.
pub const CLIENT_KEY: &str = "x-neurite-client";

/// Chunk size hosts use to upload Programs.
pub const CHUNK_BYTES: usize = 1 << 20;

/// A message that does not hold what the protocol says it must.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtoError {
    /// A spike set is malformed.
    #[error("spike set: {0}")]
    Spikes(String),
    /// Program chunks do not assemble into the Program they announce.
    #[error("program upload: {0}")]
    Upload(String),
    /// A Program larger than the board accepts.
    #[error("program upload: {size} bytes exceed the board's limit of {limit}")]
    TooLarge { size: u64, limit: u64 },
    /// The assembled bytes are not a valid Program.
    #[error("program upload: {0}")]
    Program(#[from] DecodeError),
}

/// Bytes of a protobuf varint holding `v`.
fn varint_len(v: u32) -> usize {
    match v {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        0x4000..=0x1f_ffff => 3,
        0x20_0000..=0x0fff_ffff => 4,
        _ => 5,
    }
}

/// Encodes sorted, distinct spike indices out of `size` as whichever is
/// smaller on the wire: index gaps (varints) or a bitmap.
pub fn encode_spikes(indices: &[u32], size: u32) -> v1::SpikeSet {
    let mut previous: Option<u32> = None;
    let gaps: Vec<u32> = indices
        .iter()
        .map(|&i| {
            let gap = match previous {
                None => i,
                Some(p) => i.saturating_sub(p).saturating_sub(1),
            };
            previous = Some(i);
            gap
        })
        .collect();
    let gap_bytes: usize = gaps.iter().map(|&g| varint_len(g)).sum();
    let bitmap_bytes = size.div_ceil(8) as usize;
    let encoding = if gap_bytes <= bitmap_bytes {
        v1::spike_set::Encoding::Gaps(v1::IndexGaps { gaps })
    } else {
        let mut bitmap = vec![0u8; bitmap_bytes];
        for &i in indices {
            if let Some(byte) = bitmap.get_mut(i as usize / 8) {
                *byte |= 1 << (i % 8);
            }
        }
        v1::spike_set::Encoding::Bitmap(bitmap)
    };
    v1::SpikeSet {
        size,
        encoding: Some(encoding),
    }
}

/// Decodes a spike set into sorted, distinct indices, each below its size.
pub fn decode_spikes(set: &v1::SpikeSet) -> Result<Vec<u32>, ProtoError> {
    let bad = |reason: String| ProtoError::Spikes(reason);
    match &set.encoding {
        None => Ok(Vec::new()),
        Some(v1::spike_set::Encoding::Gaps(gaps)) => {
            let mut out = Vec::with_capacity(gaps.gaps.len());
            let mut next: u64 = 0;
            for &gap in &gaps.gaps {
                let index = next + u64::from(gap);
                if index >= u64::from(set.size) {
                    return Err(bad(format!(
                        "index {index} out of range for {} neurons",
                        set.size
                    )));
                }
                out.push(index as u32);
                next = index + 1;
            }
            Ok(out)
        }
        Some(v1::spike_set::Encoding::Bitmap(bitmap)) => {
            if bitmap.len() != set.size.div_ceil(8) as usize {
                return Err(bad(format!(
                    "bitmap of {} bytes for {} neurons",
                    bitmap.len(),
                    set.size
                )));
            }
            let mut out = Vec::new();
            for (b, &byte) in bitmap.iter().enumerate() {
                let mut bits = byte;
                while bits != 0 {
                    let i = b as u32 * 8 + bits.trailing_zeros();
                    if i >= set.size {
                        return Err(bad(format!("bit {i} set beyond {} neurons", set.size)));
                    }
                    out.push(i);
                    bits &= bits - 1;
                }
            }
            Ok(out)
        }
    }
}

/// Cuts a Program's encoding into upload chunks of `chunk` bytes; the first
/// carries the total size and the CRC-32 of the whole.
pub fn program_chunks(bytes: &[u8], chunk: usize) -> Vec<v1::ProgramChunk> {
    let crc = crc32(bytes);
    let mut out: Vec<v1::ProgramChunk> = bytes
        .chunks(chunk.max(1))
        .enumerate()
        .map(|(i, data)| v1::ProgramChunk {
            total_size: 0,
            crc32: 0,
            offset: (i * chunk.max(1)) as u64,
            data: data.to_vec(),
        })
        .collect();
    if out.is_empty() {
        out.push(v1::ProgramChunk::default());
    }
    out[0].total_size = bytes.len() as u64;
    out[0].crc32 = crc;
    out
}

/// CRC-32 (IEEE), as program chunks carry it.
pub fn crc32(bytes: &[u8]) -> u32 {
    // The same checksum the Program header uses for its body.
    neurite_program::crc32(bytes)
}

/// Puts program chunks back together, checking each step.
#[derive(Debug)]
pub struct ProgramAssembler {
    limit: u64,
    total: Option<u64>,
    crc: u32,
    bytes: Vec<u8>,
}

impl ProgramAssembler {
    /// An assembler refusing Programs larger than `limit` bytes.
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            total: None,
            crc: 0,
            bytes: Vec::new(),
        }
    }

    /// Takes the next chunk.
    pub fn push(&mut self, chunk: v1::ProgramChunk) -> Result<(), ProtoError> {
        let bad = |reason: String| ProtoError::Upload(reason);
        let total = match self.total {
            Some(total) => total,
            None => {
                if chunk.total_size == 0 {
                    return Err(bad("the first chunk must give the total size".to_string()));
                }
                if chunk.total_size > self.limit {
                    return Err(ProtoError::TooLarge {
                        size: chunk.total_size,
                        limit: self.limit,
                    });
                }
                self.total = Some(chunk.total_size);
                self.crc = chunk.crc32;
                self.bytes.reserve_exact(chunk.total_size as usize);
                chunk.total_size
            }
        };
        if chunk.offset != self.bytes.len() as u64 {
            return Err(bad(format!(
                "chunk at offset {} where {} was expected",
                chunk.offset,
                self.bytes.len()
            )));
        }
        if self.bytes.len() as u64 + chunk.data.len() as u64 > total {
            return Err(bad(format!("chunks run past the announced {total} bytes")));
        }
        self.bytes.extend_from_slice(&chunk.data);
        Ok(())
    }

    /// Checks size and checksum and decodes the Program.
    pub fn finish(self) -> Result<(Program, Vec<u8>), ProtoError> {
        let bad = |reason: String| ProtoError::Upload(reason);
        let total = self
            .total
            .ok_or_else(|| bad("no chunk was sent".to_string()))?;
        if self.bytes.len() as u64 != total {
            return Err(bad(format!(
                "truncated: {} of {total} bytes arrived",
                self.bytes.len()
            )));
        }
        let crc = crc32(&self.bytes);
        if crc != self.crc {
            return Err(bad(format!(
                "checksum {crc:#010x} does not match the announced {:#010x}",
                self.crc
            )));
        }
        let program = Program::decode(&self.bytes)?;
        Ok((program, self.bytes))
    }
}

/// A chip's per-core limits as the protocol carries them.
pub fn core_limits(chip: &ChipProfile) -> v1::CoreLimits {
    let c = &chip.core;
    v1::CoreLimits {
        neurons: c.neurons,
        input_axons: c.input_axons,
        output_axons: c.output_axons,
        memory_bits: c.memory.capacity_bits(),
        max_delay: u32::from(c.max_delay),
        neuron_profiles: c.neuron_profiles,
        synapse_groups: c.synapse_groups,
    }
}

#[cfg(test)]
mod tests;
