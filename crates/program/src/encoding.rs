//! The binary form of a Program.
//!
//! Layout, little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `NRTPROG\0` |
//! | 4 | format version |
//! | 2 + n | chip profile name: length, then UTF-8 |
//! | 8 | body length |
//! | 4 | CRC-32 of the body |
//! | … | body: the Program in postcard encoding |
//!
//! The header alone tells a board whether the file is a Program, whether it
//! can read this version, and which chip it targets, before the body is read.
//!
//! Versions: 3 is the first released form; 4 adds the reset of each neuron
//! profile; 5 adds learning groups and neuromodulators. Version-3 and -4
//! bodies are still read (version-3 profiles resetting to zero, the only
//! reset version 3 had), with no learning.

use serde::Deserialize;

use crate::{Program, ValidationError};

/// First eight bytes of every encoded Program.
pub const MAGIC: [u8; 8] = *b"NRTPROG\0";

/// Version of the encoding written by this crate.
pub const FORMAT_VERSION: u32 = 5;

/// Oldest version this crate reads.
pub const OLDEST_READABLE_VERSION: u32 = 3;

/// Why bytes could not be read as a Program.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes do not start with the Program magic.
    #[error("not a Neurite program (bad magic number)")]
    NotAProgram,
    /// Written by a format version this build cannot read.
    #[error(
        "program format version {found} is not supported (this build reads versions {oldest} to {newest})"
    )]
    UnsupportedVersion {
        found: u32,
        oldest: u32,
        newest: u32,
    },
    /// The bytes end before the named part is complete.
    #[error("program is truncated: {part} needs {needed} bytes, {available} remain")]
    Truncated {
        part: &'static str,
        needed: u64,
        available: u64,
    },
    /// Bytes follow the end of the body.
    #[error("program has {extra} unexpected bytes after its body")]
    TrailingBytes { extra: u64 },
    /// The body does not match its checksum.
    #[error("program is corrupt: body checksum {actual:#010x} does not match {expected:#010x}")]
    ChecksumMismatch { expected: u32, actual: u32 },
    /// The header or the body is malformed.
    #[error("program is corrupt: {0}")]
    Malformed(String),
    /// The body decoded, but its tables are inconsistent.
    #[error("program is invalid: {0}")]
    Invalid(#[from] ValidationError),
}

/// CRC-32 (IEEE) of `bytes`, the checksum of a Program's body.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// What the header says, readable without decoding the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Format version.
    pub version: u32,
    /// Chip profile name.
    pub chip: String,
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: u64, part: &'static str) -> Result<&'a [u8], DecodeError> {
        let available = (self.bytes.len() - self.pos) as u64;
        if n > available {
            return Err(DecodeError::Truncated {
                part,
                needed: n,
                available,
            });
        }
        let n = n as usize;
        let slice = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, part: &'static str) -> Result<[u8; N], DecodeError> {
        let slice = self.take(N as u64, part)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }
}

fn read_header<'a>(bytes: &'a [u8]) -> Result<(Header, Reader<'a>), DecodeError> {
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        return Err(DecodeError::NotAProgram);
    }
    let mut reader = Reader {
        bytes,
        pos: MAGIC.len(),
    };
    let version = u32::from_le_bytes(reader.array("format version")?);
    if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(DecodeError::UnsupportedVersion {
            found: version,
            oldest: OLDEST_READABLE_VERSION,
            newest: FORMAT_VERSION,
        });
    }
    let name_len = u16::from_le_bytes(reader.array("chip name length")?);
    let name = reader.take(u64::from(name_len), "chip name")?;
    let chip = std::str::from_utf8(name)
        .map_err(|_| DecodeError::Malformed("chip name is not UTF-8".to_string()))?
        .to_string();
    Ok((Header { version, chip }, reader))
}

impl Program {
    /// Encodes the Program with its header.
    pub fn encode(&self) -> Vec<u8> {
        let name = self.chip.as_bytes();
        let name_len = u16::try_from(name.len()).unwrap_or(u16::MAX);
        // Most of a large Program is synapse entries of about six bytes.
        let estimate = 64 + name.len() + self.synapse_count() * 6 + self.neuron_count() * 16;
        let mut out = Vec::with_capacity(estimate);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&name[..usize::from(name_len)]);
        // Length and checksum are written once the body, serialised in place
        // after them, is known.
        let fields = out.len();
        out.extend_from_slice(&[0; 12]);
        let start = out.len();
        // Postcard fails only on serde features (unknown lengths, non-string
        // map keys) that these plain types never use.
        #[allow(clippy::expect_used)]
        let mut out = postcard::to_extend(self, out).expect("a Program always serialises");
        let body_len = (out.len() - start) as u64;
        let crc = crc32fast::hash(&out[start..]);
        out[fields..fields + 8].copy_from_slice(&body_len.to_le_bytes());
        out[fields + 8..start].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads the header only: format version and chip profile name.
    pub fn peek_header(bytes: &[u8]) -> Result<Header, DecodeError> {
        read_header(bytes).map(|(header, _)| header)
    }

    /// Decodes a Program and checks that its tables are consistent with one
    /// another (see [`Program::check_structure`]). Limits of a particular chip
    /// are checked by [`Program::validate`].
    pub fn decode(bytes: &[u8]) -> Result<Program, DecodeError> {
        let (header, mut reader) = read_header(bytes)?;
        let body_len = u64::from_le_bytes(reader.array("body length")?);
        let expected = u32::from_le_bytes(reader.array("body checksum")?);
        let body = reader.take(body_len, "body")?;
        let extra = (bytes.len() - reader.pos) as u64;
        if extra > 0 {
            return Err(DecodeError::TrailingBytes { extra });
        }
        let actual = crc32fast::hash(body);
        if actual != expected {
            return Err(DecodeError::ChecksumMismatch { expected, actual });
        }
        let malformed = |e: postcard::Error| DecodeError::Malformed(e.to_string());
        let program: Program = match header.version {
            3 => postcard::from_bytes::<old::Program<old::ProfileV3>>(body)
                .map_err(malformed)?
                .into(),
            4 => postcard::from_bytes::<old::Program<crate::NeuronProfile>>(body)
                .map_err(malformed)?
                .into(),
            _ => postcard::from_bytes(body).map_err(malformed)?,
        };
        if program.chip != header.chip {
            return Err(DecodeError::Malformed(format!(
                "header names chip '{}' but the body names '{}'",
                header.chip, program.chip
            )));
        }
        program.check_structure()?;
        Ok(program)
    }
}

/// The bodies of versions 3 and 4: the same tables without learning groups
/// or neuromodulators, and for version 3 neuron profiles without a reset.
/// Read only; version-3 profiles reset to zero, the only reset it had.
mod old {
    use super::Deserialize;
    use crate::{
        AxonAddress, InputPort, NeuronModel, Neurons, Notes, PopulationMap, Reset, Run, SignMode,
        Synapse, SynapseKind,
    };

    #[derive(Deserialize)]
    pub(super) struct Program<P> {
        chip: String,
        cores: Vec<Core<P>>,
        inputs: Vec<InputPort>,
        populations: Vec<PopulationMap>,
        notes: Notes,
    }

    #[derive(Deserialize)]
    struct Core<P> {
        location: u32,
        profiles: Vec<P>,
        neurons: Neurons,
        groups: Vec<SynapseGroup>,
        axons: Vec<Run>,
        synapses: Vec<Synapse>,
        routes: Vec<Run>,
        destinations: Vec<AxonAddress>,
    }

    #[derive(Deserialize)]
    struct SynapseGroup {
        weight_exp: i8,
        num_weight_bits: u8,
        sign_mode: SignMode,
        kind: SynapseKind,
        max_delay: u8,
    }

    /// A version-3 neuron profile.
    #[derive(Deserialize)]
    pub(super) struct ProfileV3 {
        model: NeuronModel,
        du: u16,
        dv: u16,
        vth: u32,
        refractory: u8,
    }

    pub(super) trait Profile {
        fn current(self) -> crate::NeuronProfile;
    }

    impl Profile for ProfileV3 {
        fn current(self) -> crate::NeuronProfile {
            crate::NeuronProfile {
                model: self.model,
                du: self.du,
                dv: self.dv,
                vth: self.vth,
                refractory: self.refractory,
                reset: Reset::Zero,
            }
        }
    }

    impl Profile for crate::NeuronProfile {
        fn current(self) -> crate::NeuronProfile {
            self
        }
    }

    impl<P: Profile> From<Program<P>> for crate::Program {
        fn from(p: Program<P>) -> Self {
            crate::Program {
                chip: p.chip,
                cores: p
                    .cores
                    .into_iter()
                    .map(|c| crate::Core {
                        location: c.location,
                        profiles: c.profiles.into_iter().map(Profile::current).collect(),
                        neurons: c.neurons,
                        groups: c
                            .groups
                            .into_iter()
                            .map(|g| crate::SynapseGroup {
                                weight_exp: g.weight_exp,
                                num_weight_bits: g.num_weight_bits,
                                sign_mode: g.sign_mode,
                                kind: g.kind,
                                max_delay: g.max_delay,
                                learning: None,
                            })
                            .collect(),
                        axons: c.axons,
                        synapses: c.synapses,
                        routes: c.routes,
                        destinations: c.destinations,
                        learning: Vec::new(),
                    })
                    .collect(),
                inputs: p.inputs,
                populations: p.populations,
                neuromodulators: Vec::new(),
                notes: p.notes,
            }
        }
    }
}
