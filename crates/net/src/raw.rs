//! The description as written: one serde schema for TOML and JSON. Numbers are
//! read wide (`i64`; `f64` or either, as [`Num`], where floats are allowed) so
//! that range errors can quote the value the user wrote.

use std::fmt;

use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Unexpected, Visitor};

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
    #[serde(default)]
    pub(crate) neuromodulators: Vec<crate::learning::RawNeuromodulator>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPopulation {
    pub(crate) name: String,
    pub(crate) size: i64,
    pub(crate) model: String,
    // Hardware units.
    pub(crate) du: Option<PerNeuron>,
    pub(crate) dv: Option<PerNeuron>,
    pub(crate) vth: Option<PerNeuron>,
    pub(crate) bias_mant: Option<PerNeuron>,
    pub(crate) bias_exp: Option<PerNeuron>,
    pub(crate) refractory: Option<PerNeuron>,
    // Physical units.
    pub(crate) tau_syn_ms: Option<PerNeuron<f64>>,
    pub(crate) tau_mem_ms: Option<PerNeuron<f64>>,
    pub(crate) threshold: Option<PerNeuron<f64>>,
    pub(crate) bias: Option<PerNeuron<f64>>,
    pub(crate) refractory_ms: Option<PerNeuron<f64>>,
    // Either: integers in hardware units, numbers in physical units.
    pub(crate) u_init: Option<PerNeuron<Num>>,
    pub(crate) v_init: Option<PerNeuron<Num>>,
    // Either.
    pub(crate) reset: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProjection {
    pub(crate) name: Option<String>,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) dense: Option<DenseSource>,
    pub(crate) sparse: Option<Vec<Vec<Num>>>,
    pub(crate) one_to_one: Option<RawOneToOne>,
    pub(crate) fixed_probability: Option<RawFixedProbability>,
    pub(crate) weight_exp: Option<i64>,
    pub(crate) num_weight_bits: Option<i64>,
    pub(crate) sign_mode: Option<String>,
    pub(crate) delay: Option<i64>,
    pub(crate) learning: Option<crate::learning::RawLearning>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOneToOne {
    pub(crate) weight: PerNeuron<Num>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFixedProbability {
    pub(crate) p: f64,
    pub(crate) weight: Num,
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

/// A number as written: an integer, or a float (TOML and JSON tell them
/// apart). Integers are kept exact so that range errors quote them as written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    /// The integer the number stands for, when it is whole: an integer, or a
    /// finite float without a fractional part (saturated to the `i64` range,
    /// which every range check then refuses). `None` for 0.5, NaN or ±inf.
    pub(crate) fn whole(self) -> Option<i64> {
        match self {
            Num::Int(v) => Some(v),
            Num::Float(v) if v.is_finite() && v.fract() == 0.0 => Some(v as i64),
            Num::Float(_) => None,
        }
    }

    /// The number as a float (integers beyond 2^53 round).
    pub(crate) fn float(self) -> f64 {
        match self {
            Num::Int(v) => v as f64,
            Num::Float(v) => v,
        }
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Num::Int(v) => write!(f, "{v}"),
            Num::Float(v) => write!(f, "{v}"),
        }
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumVisitor;
        impl Visitor<'_> for NumVisitor {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                i64::try_from(v)
                    .map(Num::Int)
                    .map_err(|_| E::custom(format!("integer {v} is too large")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num::Float(v))
            }
        }
        deserializer.deserialize_any(NumVisitor)
    }
}

/// A scalar a per-neuron parameter may hold.
pub(crate) trait Scalar: Sized + for<'de> Deserialize<'de> {
    /// What the parser expected, for its error messages.
    const EXPECTING: &'static str;
    fn from_i64(v: i64) -> Self;
    /// `None` when floats are not accepted.
    fn from_f64(v: f64) -> Option<Self>;
    /// `None` when `v` does not fit.
    fn from_u64(v: u64) -> Option<Self> {
        i64::try_from(v).ok().map(Self::from_i64)
    }
}

impl Scalar for i64 {
    const EXPECTING: &'static str = "an integer or an array of integers (one per neuron)";
    fn from_i64(v: i64) -> Self {
        v
    }
    fn from_f64(_: f64) -> Option<Self> {
        None
    }
}

impl Scalar for f64 {
    const EXPECTING: &'static str = "a number or an array of numbers (one per neuron)";
    fn from_i64(v: i64) -> Self {
        v as f64
    }
    fn from_f64(v: f64) -> Option<Self> {
        Some(v)
    }
    fn from_u64(v: u64) -> Option<Self> {
        Some(v as f64)
    }
}

impl Scalar for Num {
    const EXPECTING: &'static str = "a number or an array of numbers (one per neuron)";
    fn from_i64(v: i64) -> Self {
        Num::Int(v)
    }
    fn from_f64(v: f64) -> Option<Self> {
        Some(Num::Float(v))
    }
}

/// A parameter given once for the whole population or once per neuron:
/// integers (`T = i64`, hardware units), floats (`f64`, physical units) or
/// either (`Num`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PerNeuron<T = i64> {
    Scalar(T),
    Array(Vec<T>),
}

impl<'de, T: Scalar> Deserialize<'de> for PerNeuron<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PerNeuronVisitor<T>(PhantomData<T>);
        impl<'de, T: Scalar> Visitor<'de> for PerNeuronVisitor<T> {
            type Value = PerNeuron<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(T::EXPECTING)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PerNeuron<T>, E> {
                Ok(PerNeuron::Scalar(T::from_i64(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PerNeuron<T>, E> {
                T::from_u64(v)
                    .map(PerNeuron::Scalar)
                    .ok_or_else(|| E::custom(format!("integer {v} is too large")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<PerNeuron<T>, E> {
                T::from_f64(v)
                    .map(PerNeuron::Scalar)
                    .ok_or_else(|| E::invalid_type(Unexpected::Float(v), &self))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PerNeuron<T>, A::Error> {
                let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
                while let Some(value) = seq.next_element::<T>()? {
                    values.push(value);
                }
                Ok(PerNeuron::Array(values))
            }
        }
        deserializer.deserialize_any(PerNeuronVisitor(PhantomData))
    }
}

/// Dense weights: inline `[to][from]` rows, or a `.npy` path relative to the file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DenseSource {
    Inline(Vec<Vec<Num>>),
    File(String),
}

impl<'de> Deserialize<'de> for DenseSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DenseVisitor;
        impl<'de> Visitor<'de> for DenseVisitor {
            type Value = DenseSource;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a weight matrix [to][from] of numbers, or a path to a .npy file")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DenseSource, E> {
                Ok(DenseSource::File(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<DenseSource, A::Error> {
                let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(row) = seq.next_element::<Vec<Num>>()? {
                    rows.push(row);
                }
                Ok(DenseSource::Inline(rows))
            }
        }
        deserializer.deserialize_any(DenseVisitor)
    }
}
