//! The benchmark networks of `networks.py`, generated in Rust: the same
//! SplitMix64 draws, so the same synapses, weights, initial voltages and
//! input spikes (the fingerprints match; see `benches/README.md`).

use std::fmt::Write;

use neurite::net::Network;

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

const CUBA_OUT_DEGREE: usize = 80;
const CUBA_DU: u32 = 741;
const CUBA_DV: u32 = 200;
const CUBA_VTH: u64 = 1000;
const CUBA_BIAS_MANT: i32 = 3437;
const CUBA_W_EXC: i32 = 8;
const CUBA_W_INH: i32 = -80;
const CUBA_SEED_CONN: u64 = 1;
const CUBA_SEED_V: u64 = 2;

const DENSE_N: u64 = 1000;
const DENSE_STEPS: u64 = 1000;
const DENSE_SEED: u64 = 3;
const DENSE_P_NUM: u64 = u64::MAX / 50; // = 2^64 / 50 rounded down, as in Python

/// SplitMix64's output function applied to x + gamma.
pub(crate) fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A draw in 0..n from a 64-bit hash.
fn below(h: u64, n: u64) -> u64 {
    ((h >> 32) * n) >> 32
}

/// Synapses (pre, post, weight) of a generated network, and its description.
pub(crate) struct Generated {
    pub(crate) network: Network,
    pub(crate) synapses: Vec<(u32, u32, i32)>,
}

impl Generated {
    /// Order-independent digest of the synapses, as `networks.py` computes it.
    pub(crate) fn fingerprint(&self) -> u64 {
        self.synapses.iter().fold(0u64, |acc, &(a, b, w)| {
            acc.wrapping_add(splitmix(
                (u64::from(a) << 40) ^ (u64::from(b) << 16) ^ u64::from(w as i16 as u16),
            ))
        })
    }
}

/// The CUBA network of `n` neurons (see `networks.py`).
pub(crate) fn cuba(n: u32) -> Generated {
    let n_exc = n * 4 / 5;
    let mut synapses = Vec::with_capacity(n as usize * CUBA_OUT_DEGREE);
    let mut seen = std::collections::HashSet::new();
    for i in 0..n {
        let w = if i < n_exc { CUBA_W_EXC } else { CUBA_W_INH };
        seen.clear();
        let mut j = 0u64;
        while seen.len() < CUBA_OUT_DEGREE {
            let t = below(
                splitmix((CUBA_SEED_CONN << 48) | (u64::from(i) << 20) | j),
                u64::from(n),
            ) as u32;
            j += 1;
            if t != i && seen.insert(t) {
                synapses.push((i, t, w));
            }
        }
    }
    let theta = CUBA_VTH << 6;
    let mut text = String::with_capacity(synapses.len() * 20);
    write!(
        text,
        r#"{{"name":"cuba-{n}","steps":1000,"populations":[{{"name":"cuba","size":{n},"model":"lif","du":{CUBA_DU},"dv":{CUBA_DV},"vth":{CUBA_VTH},"bias_mant":{CUBA_BIAS_MANT},"v_init":["#
    )
    .expect("writes to a string");
    for i in 0..u64::from(n) {
        let v = below(splitmix((CUBA_SEED_V << 48) | i), theta);
        write!(text, "{}{v}", if i > 0 { "," } else { "" }).expect("writes");
    }
    text.push_str(r#"]}],"projections":[{"from":"cuba","to":"cuba","weight_exp":0,"sparse":["#);
    for (k, (a, b, w)) in synapses.iter().enumerate() {
        write!(text, "{}[{a},{b},{w}]", if k > 0 { "," } else { "" }).expect("writes");
    }
    text.push_str("]}]}");
    let network = neurite::net::from_json_str(&text, "cuba.json", None).expect("valid");
    Generated { network, synapses }
}

/// The dense 1000 → 1000 layer with weight exponent −1, driven at 2 % input
/// spikes per step for 1000 steps (see `networks.py`).
pub(crate) fn dense() -> Generated {
    let n = DENSE_N;
    let mut synapses = Vec::new();
    let mut rows = String::new();
    for to in 0..n {
        rows.push_str(if to > 0 { ",[" } else { "[" });
        for from in 0..n {
            let w = (((to * n + from).wrapping_mul(GAMMA)) >> 56) as i32 - 128;
            if w != 0 {
                synapses.push((from as u32, to as u32, w));
            }
            write!(rows, "{}{w}", if from > 0 { "," } else { "" }).expect("writes");
        }
        rows.push(']');
    }
    let mut spikes = String::new();
    for t in 1..=DENSE_STEPS {
        for i in 0..n {
            if splitmix((DENSE_SEED << 48) | (t << 20) | i) < DENSE_P_NUM {
                write!(
                    spikes,
                    "{}[{t},{i}]",
                    if spikes.is_empty() { "" } else { "," }
                )
                .expect("writes");
            }
        }
    }
    let text = format!(
        r#"{{"name":"dense-1000","steps":{DENSE_STEPS},
        "populations":[{{"name":"in","size":{n},"model":"input"}},
            {{"name":"out","size":{n},"model":"lif","du":1000,"dv":500,"vth":300}}],
        "projections":[{{"from":"in","to":"out","dense":[{rows}],"weight_exp":-1}}],
        "inputs":[{{"population":"in","spikes":[{spikes}]}}]}}"#
    );
    let network = neurite::net::from_json_str(&text, "dense.json", None).expect("valid");
    Generated { network, synapses }
}
