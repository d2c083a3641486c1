#!/usr/bin/env python3
"""The benchmark networks, generated identically for Neurite, Brian2 and Lava.

Pure Python (no numpy), so that any Python 3 can write the files. The same
generator is written in Rust in `benches/networks.rs`; both draw from the
SplitMix64 hash below and produce the same synapses, weights, initial
voltages and input spikes (`fingerprint` checks it).

    python3 benches/peers/networks.py --out /tmp/peers cuba-4000 cuba-40000 dense-1000

writes, per network, `<name>.json` (a Neurite description) and
`<name>.arrays.json` + `<name>.syn.bin` (the same arrays for the peer
scripts: parameters, then int32 pre, int32 post, int16 weight, one after the
other).

Networks:

- `cuba-N`: after Vogels & Abbott (2005) / Brette et al. (2007), in Loihi
  LIF: N neurons, the first 80 % excitatory, each with 80 distinct random
  targets (no self-connection); constant weights (+8 excitatory, -80
  inhibitory, on the 8-bit scale, weight_exp 0); a bias that alone would hold
  v at 1.1 x threshold (as CUBA's rest potential -49 mV lies above its -50 mV
  threshold); u decays with tau 5 ms, v with tau 20 ms; initial v uniform in
  [0, threshold). It fires at about 10 Hz per neuron.
- `dense-1000`: a 1000 -> 1000 dense projection (weights in -128..127, weight
  exponent -1) onto LIF neurons, driven by 1000 inputs spiking with
  probability 2 % per step.
"""

import argparse
import array
import json
import os
import sys

MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15

# CUBA parameters (hardware units).
CUBA_OUT_DEGREE = 80
CUBA_DU = 741  # keep 3354/4096 = 0.819 of u per step: tau 5 ms
CUBA_DV = 200  # keep 3896/4096 = 0.951 of v: tau 20 ms
CUBA_VTH = 1000  # threshold 64000
CUBA_BIAS_MANT = 3437  # v alone settles at 3437 * 4096 / 200 = 70390 = 1.1 x threshold
CUBA_W_EXC = 8
CUBA_W_INH = -80
CUBA_SEED_CONN = 1
CUBA_SEED_V = 2

DENSE_N = 1000
DENSE_DU = 1000
DENSE_DV = 500
DENSE_VTH = 300
DENSE_WEIGHT_EXP = -1
DENSE_STEPS = 1000
DENSE_SEED = 3
# A spike when the hash is below 2^64 / 50: probability 2 %.
DENSE_P_NUM = (1 << 64) // 50


def splitmix(x):
    """SplitMix64's output function applied to x + gamma."""
    x = (x + GAMMA) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def below(h, n):
    """A draw in 0..n from a 64-bit hash (multiply-shift of its top half)."""
    return ((h >> 32) * n) >> 32


def cuba(n):
    """Synapses (pre, post, weight) and parameters of the CUBA network of n neurons."""
    n_exc = n * 4 // 5
    pre, post, weight = array.array("i"), array.array("i"), array.array("h")
    for i in range(n):
        w = CUBA_W_EXC if i < n_exc else CUBA_W_INH
        seen = set()
        j = 0
        while len(seen) < CUBA_OUT_DEGREE:
            t = below(splitmix((CUBA_SEED_CONN << 48) | (i << 20) | j), n)
            j += 1
            if t != i and t not in seen:
                seen.add(t)
                pre.append(i)
                post.append(t)
                weight.append(w)
    theta = CUBA_VTH << 6
    v_init = [below(splitmix((CUBA_SEED_V << 48) | i), theta) for i in range(n)]
    params = {
        "kind": "cuba",
        "n": n,
        "n_exc": n_exc,
        "du": CUBA_DU,
        "dv": CUBA_DV,
        "vth": CUBA_VTH,
        "bias_mant": CUBA_BIAS_MANT,
        "bias_exp": 0,
        "weight_exp": 0,
        "w_exc": CUBA_W_EXC,
        "w_inh": CUBA_W_INH,
        "v_init": v_init,
        "steps": 1000,
    }
    return params, pre, post, weight


def dense_weight(to, frm, n):
    """The existing benchmark's multiplicative hash: weights in -128..127."""
    h = (((to * n + frm) * GAMMA) & MASK) >> 56
    return h - 128


def dense():
    """A 1000 -> 1000 dense layer (as synapses, zeros left out) and its input spikes."""
    n = DENSE_N
    pre, post, weight = array.array("i"), array.array("i"), array.array("h")
    for to in range(n):
        for frm in range(n):
            w = dense_weight(to, frm, n)
            if w != 0:
                pre.append(frm)
                post.append(to)
                weight.append(w)
    spikes = [
        [t, i]
        for t in range(1, DENSE_STEPS + 1)
        for i in range(n)
        if splitmix((DENSE_SEED << 48) | (t << 20) | i) < DENSE_P_NUM
    ]
    params = {
        "kind": "dense",
        "n": n,
        "du": DENSE_DU,
        "dv": DENSE_DV,
        "vth": DENSE_VTH,
        "weight_exp": DENSE_WEIGHT_EXP,
        "spikes": spikes,
        "steps": DENSE_STEPS,
    }
    return params, pre, post, weight


def fingerprint(pre, post, weight):
    """An order-independent digest of the synapses: the sum of their hashes mod 2^64."""
    total = 0
    for a, b, w in zip(pre, post, weight):
        total = (total + splitmix((a << 40) ^ (b << 16) ^ (w & 0xFFFF))) & MASK
    return total


def description(name, params, pre, post, weight):
    """The Neurite description (a dict) of a generated network."""
    n = params["n"]
    if params["kind"] == "cuba":
        return {
            "name": name,
            "steps": params["steps"],
            "populations": [
                {
                    "name": "cuba",
                    "size": n,
                    "model": "lif",
                    "du": params["du"],
                    "dv": params["dv"],
                    "vth": params["vth"],
                    "bias_mant": params["bias_mant"],
                    "v_init": params["v_init"],
                }
            ],
            "projections": [
                {
                    "from": "cuba",
                    "to": "cuba",
                    "sparse": [[a, b, w] for a, b, w in zip(pre, post, weight)],
                    "weight_exp": params["weight_exp"],
                }
            ],
            "probes": [{"population": "cuba", "vars": ["spikes"]}],
        }
    rows = [[0] * n for _ in range(n)]
    for a, b, w in zip(pre, post, weight):
        rows[b][a] = w
    return {
        "name": name,
        "steps": params["steps"],
        "populations": [
            {"name": "in", "size": n, "model": "input"},
            {
                "name": "out",
                "size": n,
                "model": "lif",
                "du": params["du"],
                "dv": params["dv"],
                "vth": params["vth"],
            },
        ],
        "projections": [
            {"from": "in", "to": "out", "dense": rows, "weight_exp": params["weight_exp"]}
        ],
        "inputs": [{"population": "in", "spikes": params["spikes"]}],
        "probes": [{"population": "out", "vars": ["spikes"]}],
    }


def generate(name):
    if name.startswith("cuba-"):
        return cuba(int(name[len("cuba-"):]))
    if name == "dense-1000":
        return dense()
    raise SystemExit(f"unknown network {name!r}")


def write(out, name):
    """Writes the three files of one network; returns the path of the description."""
    params, pre, post, weight = generate(name)
    params["synapses"] = len(pre)
    params["fingerprint"] = fingerprint(pre, post, weight)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"{name}.json")
    with open(path, "w") as f:
        json.dump(description(name, params, pre, post, weight), f, separators=(",", ":"))
    with open(os.path.join(out, f"{name}.arrays.json"), "w") as f:
        json.dump(params, f)
    with open(os.path.join(out, f"{name}.syn.bin"), "wb") as f:
        for a in (pre, post, weight):
            if sys.byteorder != "little":
                a = array.array(a.typecode, a)
                a.byteswap()
            a.tofile(f)
    return path


def read_arrays(out, name):
    """Parameters and (pre, post, weight) as numpy arrays, for the peer scripts."""
    import numpy as np

    with open(os.path.join(out, f"{name}.arrays.json")) as f:
        params = json.load(f)
    m = params["synapses"]
    with open(os.path.join(out, f"{name}.syn.bin"), "rb") as f:
        pre = np.fromfile(f, dtype="<i4", count=m)
        post = np.fromfile(f, dtype="<i4", count=m)
        weight = np.fromfile(f, dtype="<i2", count=m)
    return params, pre, post, weight


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="directory for the files")
    parser.add_argument("networks", nargs="+", help="cuba-N or dense-1000")
    args = parser.parse_args()
    for name in args.networks:
        path = write(args.out, name)
        with open(os.path.join(args.out, f"{name}.arrays.json")) as f:
            params = json.load(f)
        print(f"{path}: {params['synapses']} synapses, fingerprint {params['fingerprint']:016x}")


if __name__ == "__main__":
    main()
