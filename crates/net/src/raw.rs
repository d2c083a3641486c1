//! The description as written: one serde schema for TOML and JSON. Numbers are
//! read wide (`i64`) so that range errors can quote the value the user wrote.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNetwork {
    pub(crate) name: Option<String>,
    pub(crate) steps: Option<i64>,
    pub(crate) dt_ms: Option<f64>,
    #[serde(default)]
    pub(crate) populations: Vec<RawPopulation>,
    #[serde(default)]
    pub(crate) projections: Vec<RawProjection>,
    #[serde(default)]
    pub(crate) inputs: Vec<RawInput>,
    #[serde(default)]
    pub(crate) probes: Vec<RawProbe>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPopulation {
    pub(crate) name: String,
    pub(crate) size: i64,
    pub(crate) model: String,
    pub(crate) du: Option<PerNeuron>,
    pub(crate) dv: Option<PerNeuron>,
    pub(crate) vth: Option<PerNeuron>,
    pub(crate) bias_mant: Option<PerNeuron>,
    pub(crate) bias_exp: Option<PerNeuron>,
    pub(crate) refractory: Option<PerNeuron>,
    pub(crate) u_init: Option<PerNeuron>,
    pub(crate) v_init: Option<PerNeuron>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProjection {
    pub(crate) name: Option<String>,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) dense: Option<DenseSource>,
    pub(crate) sparse: Option<Vec<Vec<i64>>>,
    pub(crate) one_to_one: Option<RawOneToOne>,
    pub(crate) fixed_probability: Option<RawFixedProbability>,
    pub(crate) weight_exp: Option<i64>,
    pub(crate) num_weight_bits: Option<i64>,
    pub(crate) sign_mode: Option<String>,
    pub(crate) delay: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOneToOne {
    pub(crate) weight: PerNeuron,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFixedProbability {
    pub(crate) p: f64,
    pub(crate) weight: i64,
    pub(crate) seed: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInput {
    pub(crate) population: String,
    pub(crate) spikes: Option<Vec<Vec<i64>>>,
    pub(crate) csv: Option<String>,
    pub(crate) poisson: Option<RawPoisson>,
    pub(crate) periodic: Option<RawPeriodic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPoisson {
    pub(crate) rate_hz: f64,
    pub(crate) seed: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPeriodic {
    pub(crate) period: i64,
    #[serde(default)]
    pub(crate) phase: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProbe {
    pub(crate) population: String,
    pub(crate) vars: Vec<String>,
}

/// A parameter given once for the whole population or once per neuron.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PerNeuron {
    Scalar(i64),
    Array(Vec<i64>),
}

impl<'de> Deserialize<'de> for PerNeuron {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PerNeuronVisitor;
        impl<'de> Visitor<'de> for PerNeuronVisitor {
            type Value = PerNeuron;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or an array of integers (one per neuron)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PerNeuron, E> {
                Ok(PerNeuron::Scalar(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PerNeuron, E> {
                i64::try_from(v)
                    .map(PerNeuron::Scalar)
                    .map_err(|_| E::custom(format!("integer {v} is too large")))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PerNeuron, A::Error> {
                let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
                while let Some(value) = seq.next_element::<i64>()? {
                    values.push(value);
                }
                Ok(PerNeuron::Array(values))
            }
        }
        deserializer.deserialize_any(PerNeuronVisitor)
    }
}

/// Dense weights: inline `[to][from]` rows, or a `.npy` path relative to the file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DenseSource {
    Inline(Vec<Vec<i64>>),
    File(String),
}

impl<'de> Deserialize<'de> for DenseSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DenseVisitor;
        impl<'de> Visitor<'de> for DenseVisitor {
            type Value = DenseSource;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a weight matrix [to][from] of integers, or a path to a .npy file")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DenseSource, E> {
                Ok(DenseSource::File(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<DenseSource, A::Error> {
                let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(row) = seq.next_element::<Vec<i64>>()? {
                    rows.push(row);
                }
                Ok(DenseSource::Inline(rows))
            }
        }
        deserializer.deserialize_any(DenseVisitor)
    }
}
