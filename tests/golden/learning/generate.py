#!/usr/bin/env python3
"""Generate Lava golden files for Neurite's learning engine (neurite-learning).

Run with the Python of a venv that has lava-nc 0.10.0 installed:

    /work/lava-venv/bin/python tests/golden/learning/generate.py [part ...]

Parts (all by default):

  parser    rule strings and what Lava's parser makes of them: the products
            (dependency, scale, factors) of LoihiLearningRule, or the
            exception it raises                       -> parser.json
  named     STDPLoihi and RewardModulatedSTDP with various parameters: the
            rule strings they write and their products -> named.json
  numpy     SeedSequence states and the first draws of default_rng streams,
            as Lava's TraceRandom / ConnVarRandom draw them
                                                      -> numpy_streams.json
  cases     LearningDense runs: every case builds a LearningDense (the
            fixed-point model PyLearningDenseModelBitApproximate, checked),
            drives its s_in and s_in_bap (and for three-factor rules
            s_in_y1..y3) from RingBuffers, or its s_in_bap from a LIF it
            feeds, runs one step at a time and reads weights, tags and
            traces after every step         -> cases/<name>.json

Lava is used only as a library: nothing is patched or subclassed.  The
random spike trains come from fixed NumPy seeds, so running the script again
gives identical files.
"""

import argparse
import json
import os
import struct
import sys
from importlib.metadata import version

import numpy as np

from lava.magma.core.learning.learning_rule import (
    Loihi2FLearningRule,
    Loihi3FLearningRule,
)
from lava.magma.core.learning.utils import float_to_literal
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import LearningDense
from lava.proc.io.sink import RingBuffer as SinkRingBuffer
from lava.proc.io.source import RingBuffer as SourceRingBuffer
from lava.proc.learning_rules.r_stdp_learning_rule import RewardModulatedSTDP
from lava.proc.learning_rules.stdp_learning_rule import STDPLoihi
from lava.proc.lif.process import LIF
from lava.utils.weightutils import SignMode

HERE = os.path.dirname(os.path.abspath(__file__))

SIGN_MODES = {
    "mixed": SignMode.MIXED,
    "excitatory": SignMode.EXCITATORY,
    "inhibitory": SignMode.INHIBITORY,
}


# Lava cannot build a LearningDense with an infinite tau (its Vars are
# integers); 2^62 decays by exp(-2^-62), which rounds to exactly 1.0.
NO_DECAY = 2**62


def f64_bits(x):
    return struct.unpack("<Q", struct.pack("<d", float(x)))[0]


def num(x):
    """A float for JSON, which has no infinity: "inf" stands for it."""
    x = float(x)
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def write(name, data):
    path = os.path.join(HERE, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True, allow_nan=False)
        f.write("\n")
    print("wrote", os.path.relpath(path, HERE), file=sys.stderr)


def meta():
    return {"lava-nc": version("lava-nc"), "numpy": np.__version__,
            "python": sys.version.split()[0]}


# ---------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------

def product_json(product):
    factors = []
    for f in product.factors:
        entry = {"var": f.state_var, "sgn": bool(f.is_sgn)}
        c = f.const
        if c is None:
            entry["const"] = None
        elif isinstance(c, float):
            entry["const_float_bits"] = f64_bits(c)
        else:
            entry["const"] = int(c)
        factors.append(entry)
    return {
        "dependency": product.dependency,
        "mantissa": int(product.s_mantissa),
        # Lava stores the exponent biased by 7.
        "exponent": int(product.s_exp) - 7,
        "factors": factors,
    }


def lava_parse(rules, cls=Loihi2FLearningRule):
    """Lava's reading of a dict of rule strings: products or the error."""
    try:
        rule = cls(**rules, rng_seed=0)
    except Exception as e:  # every exception is a rejection
        return {"error": f"{type(e).__name__}: {e}"}
    out = {"decimation": rule.decimate_exponent}
    for target in ("dw", "dd", "dt"):
        series = getattr(rule, target)
        if series is not None:
            out[target] = [product_json(p) for p in series.products]
    return {"ok": out}


# Rule strings, dw unless a dict names the targets.  Neurite's expectation
# for each (same reading, or which rejection) lives in the Rust test.
PARSER_CASES = [
    # the language
    "2^-2*x1*y0 - 2^-2*y1*x0",
    "x0*y1",
    "-x0*y1",
    "+x0*y1",
    "y0*x1 - x0*y1",
    "u0*t*y2",
    "u3*x1*y1 + u3*x2",
    "u0*w",
    "3*2^-3*x0*x2*y2*y3",
    "7*y0",
    "-8*x0",
    "8*x0",
    "16*x0",
    "24*x0",
    "-24*y0",
    "9*x0",
    "14*x0",
    "2^8*x0",
    "2^9*x0",
    "2^-7*x0",
    "2^-8*x0",
    "2*2^3*x0",
    "3*2^-1*x0",
    "x0*2^+3",
    "x0*2*3",
    "0*x0",
    "x0*00",
    "4*2^-9*x0",
    "x0*(x1+2)*(2+y1)*sgn(t)*sgn(d+3)",
    "x0*(x1 - 4)",
    "x0*(x1-2^2)",
    "x0*(3 - x1)",
    "x0*(-x1 + 3)",
    "x0*(-3 + x1)",
    "x0*(w + 1*2^1)",
    "y0*(t + 300)",
    "y0*(t - 2^60)",
    "x0*(2)",
    "x0*(-2)",
    "x0*(2^-3)",
    "x0*(1)*2^-2*(-1)",
    "x0*sgn(w)",
    "x0*sgn(w-1)",
    "x0*sgn(d+2^3)",
    "y0*x0",
    "y0*x0*y0",
    "u0*x0*y0",
    "u1*u1*x1",
    "y0*(x0 + 1)",
    "x0*(y0 - 1)",
    "x0*w*w*w*w",
    "x0*w*d*t*x1*x2*y1*y2*y3",
    "x0 * y1",
    "  x0*y1  ",
    "x0y1",
    "x0*y1*",
    "*x0*y1",
    "x0**y1",
    "2 ^ -2 * x0",
    "(1) * 2 ^ -2 * (-1) * x0 * y1",
    "u1 0*x1",
    "1152921504606846976*2^-60*x0",
    "1152921504606846978*2^-60*x0",
    "x0*(x1 + 2^-1)",
    "x0*(x1 - 2^-1)",
    "x0*(x1 + 3*2^-1)",
    "x0*(w - 5*2^-2)",
    "x0*sgn(w + 2^-1)",
    "x0*sgn(w - 2^-1)",
    "x0*(x1 + 2^-1100)",
    # errors Lava raises
    "",
    "   ",
    "x1*y1",
    "2^-2",
    "x0*u1",
    "u1*u2",
    "x0*-2",
    "x0 - - y0",
    "x0*y1 +",
    "x0*x3",
    "x0*z",
    "x0*\tx1",
    "x0*07",
    "x0*2^-03",
    "x0*()",
    "x0*sgn()",
    "x0*(+)",
    "x0*(x1",
    "x0*(x1))",
    "x0)",
    "x0*(x1+)",
    "x0*(2x1)",
    "x0*(x1 + y1)",
    "x0*(2 + 3)",
    "x0*(x1+-2)",
    "x0*(u1 + 1)",
    "x0*sgn(x1)",
    "x0*sgn(x1 + 1)",
    "x0*sgn(1 - w)",
    "x0*sgn(-w + 1)",
    "x0*sgn(2)",
    "x0*sgn((w))",
    "x0*sgn(x0)",
    "x0*2^3^4",
    "x0*22^3",
    "x0*((x1+1)+2)",
    "x0*99999999999999999999999999999999999999999",
    {"dw": "u1*x1", "dd": "u2*x1"},
    {"dw": "u1*x1", "dt": "u1*x0*t"},
    {},
    # quirks: Lava accepts these and reads them in a surprising way
    "x0*(-x1)",
    "x0*sgn(-w)",
    "x0*(x0)",
    "x0*(y0)",
    "x0*(u1)",
    "x0*((x1))",
    "x0*(sgn(w))",
    "x0*(x1*3)",
    "x0*(*x1)",
    "x0*(x1 x2 3)",
    "x0*(x1+3+x2)",
    "x0*(x1 + 1 - 2)",
    "u10*x1",
    "u 1*x1",
    "x 1*y0",
    "1 6*x0",
    "x0*2^1 0",
    "s gn(w)*x0",
    {"dw": "u1*x1", "dd": "u 2*x1"},
    {"dw": "u1 2*x1", "dd": "u1*y1"},
]


def parser_part():
    cases = []
    for case in PARSER_CASES:
        rules = case if isinstance(case, dict) else {"dw": case}
        cases.append({"rules": rules, "lava": lava_parse(rules)})
    # The rules of three-factor learning parse the same way.
    cases_3f = [{"rules": {"dw": r}, "lava": lava_parse({"dw": r},
                                                        Loihi3FLearningRule)}
                for r in ("u0*t*y2", "y0*x1*y2 - x0*y1")]
    return {"meta": meta(), "cases": cases, "three_factor": cases_3f}


# ---------------------------------------------------------------------------
# Named rules
# ---------------------------------------------------------------------------

FLOATS = [0.0, 1.0, -1.0, 2.0, -2.0, 0.5, 0.25, 0.3, 1.5, 2.5, 3.5, -3.5,
          0.75, 0.1, 0.01, 7.0, 8.0, 9.0, 100.0, 1e-5, 0.7071067811865476,
          1.4142135623730951, -0.2, 5.99]

STDP_PARAMS = [
    dict(learning_rate=1, A_plus=1, A_minus=-1, tau_plus=10, tau_minus=10),
    dict(learning_rate=0.25, A_plus=2, A_minus=-2, tau_plus=5, tau_minus=7,
         t_epoch=2),
    dict(learning_rate=0.5, A_plus=1.5, A_minus=-0.3, tau_plus=20,
         tau_minus=20, x1_impulse=30, y1_impulse=12.5),
    dict(learning_rate=1, A_plus=3, A_minus=-1, tau_plus=4, tau_minus=4,
         x2_impulse=5, x2_tau=3, y2_impulse=7, y2_tau=2, t_epoch=4),
    dict(learning_rate=0.125, A_plus=7, A_minus=-8, tau_plus=10,
         tau_minus=10),
    dict(learning_rate=2, A_plus=5, A_minus=-5, tau_plus=10, tau_minus=10),
]

RSTDP_PARAMS = [
    dict(learning_rate=1, A_plus=2, A_minus=-2, pre_trace_decay_tau=10,
         post_trace_decay_tau=10, pre_trace_kernel_magnitude=16,
         post_trace_kernel_magnitude=16, eligibility_trace_decay_tau=0.5),
    dict(learning_rate=0.5, A_plus=1, A_minus=-1, pre_trace_decay_tau=5,
         post_trace_decay_tau=8, pre_trace_kernel_magnitude=20.5,
         post_trace_kernel_magnitude=10, eligibility_trace_decay_tau=0.25,
         t_epoch=2),
    dict(learning_rate=1, A_plus=1, A_minus=-1, pre_trace_decay_tau=10,
         post_trace_decay_tau=10, pre_trace_kernel_magnitude=16,
         post_trace_kernel_magnitude=16, eligibility_trace_decay_tau=1),
]


def rule_json(rule):
    out = {"dw": rule.dw_str, "dd": rule.dd_str, "dt": rule.dt_str,
           "t_epoch": rule.t_epoch, "decimation": rule.decimate_exponent,
           "three_factor": isinstance(rule, Loihi3FLearningRule)}
    for trace in ("x1", "x2", "y1", "y2", "y3"):
        out[f"{trace}_impulse"] = num(getattr(rule, f"{trace}_impulse"))
        out[f"{trace}_tau"] = num(getattr(rule, f"{trace}_tau"))
    for target in ("dw", "dd", "dt"):
        series = getattr(rule, target)
        out[f"{target}_products"] = (None if series is None else
                                     [product_json(p) for p in series.products])
    return out


def named_part():
    literals = [{"x": x, "literal": float_to_literal(x)} for x in FLOATS]
    stdp = [{"params": p, "rule": rule_json(STDPLoihi(**p, rng_seed=0))}
            for p in STDP_PARAMS]
    rstdp = [{"params": p,
              "rule": rule_json(RewardModulatedSTDP(**p, rng_seed=0))}
             for p in RSTDP_PARAMS]
    return {"meta": meta(), "float_to_literal": literals, "stdp": stdp,
            "reward_stdp": rstdp}


# ---------------------------------------------------------------------------
# NumPy streams
# ---------------------------------------------------------------------------

def numpy_part():
    seeds = [0, 1, 2, 3, 7, 12345, 2**31 - 2, 2**32 + 5, 2**64 - 1]
    out = []
    for seed in seeds:
        state = np.random.SeedSequence(seed).generate_state(4, np.uint64)
        doubles = np.random.default_rng(seed)
        ints = np.random.default_rng(seed)
        out.append({
            "seed": str(seed),
            "state": [int(s) for s in state],
            # random(1)[0] as TraceRandom draws it, 300 times
            "doubles_bits": [f64_bits(doubles.random(1)[0])
                             for _ in range(300)],
            # integers(0, 128, size=1, dtype=int)[0], 300 times
            "below_128": [int(ints.integers(0, 128, size=1, dtype=int)[0])
                          for _ in range(300)],
        })
    return {"meta": meta(), "streams": out}


# ---------------------------------------------------------------------------
# LearningDense cases
# ---------------------------------------------------------------------------

def spike_matrix(n, steps, spikes):
    """spikes: list per step of indices -> (n, steps + 1) int array."""
    data = np.zeros((n, steps + 1), dtype=np.int64)
    for t, indices in enumerate(spikes):
        for i in indices:
            data[i, t] = 1
    return data


def random_trains(seed, n, steps, p):
    rng = np.random.default_rng(seed)
    return [[i for i in range(n) if rng.random() < p] for _ in range(steps)]


def as_ints(arr):
    arr = np.asarray(arr, dtype=np.float64)
    ints = np.rint(arr).astype(np.int64)
    assert np.array_equal(ints, arr), "non-integer value in a recorded var"
    return ints


def decay_factor_bits(taus):
    """exp(-1/tau) computed the way Lava computes it (np.exp on the array of
    the non-zero taus), per tau; None for tau 0."""
    taus = np.array(taus)
    nonzero = taus[taus != 0][:, np.newaxis]
    factors = list(np.exp(-1 / nonzero)[:, 0])
    out = []
    for tau in taus:
        out.append(f64_bits(factors.pop(0)) if tau != 0 else None)
    return out


def run_case(case):
    steps = case["steps"]
    n_pre, n_post = case["n_pre"], case["n_post"]
    r = case["rule"]
    three_factor = r.get("three_factor", False)
    args = {k: r[k] for k in ("dw", "dd", "dt") if r.get(k) is not None}
    for trace in ("x1", "x2") + (() if three_factor else ("y1", "y2", "y3")):
        for key in (f"{trace}_impulse", f"{trace}_tau"):
            if key in r:
                args[key] = r[key]
    cls = Loihi3FLearningRule if three_factor else Loihi2FLearningRule
    rule = cls(**args, t_epoch=r["t_epoch"], rng_seed=r["rng_seed"])
    # Record exactly what Lava's model uses.
    r_out = rule_json(rule)
    r_out["rng_seed"] = r["rng_seed"]
    x_bits = decay_factor_bits([rule.x1_tau, rule.x2_tau])
    y_bits = decay_factor_bits([rule.y1_tau, rule.y2_tau, rule.y3_tau])
    r_out["decay_factor_bits"] = dict(zip(("x1", "x2", "y1", "y2", "y3"),
                                          x_bits + y_bits))

    weights = np.array(case["weights"], dtype=np.int64)
    kwargs = {}
    if "sign_mode" in case:
        kwargs["sign_mode"] = SIGN_MODES[case["sign_mode"]]
    if "num_weight_bits" in case:
        kwargs["num_weight_bits"] = case["num_weight_bits"]
    tag_1 = np.array(case.get("tag_1", np.zeros_like(weights)), dtype=float)
    tag_2 = np.array(case.get("tag_2", np.zeros_like(weights)), dtype=float)
    dense = LearningDense(weights=weights, tag_1=tag_1, tag_2=tag_2,
                          learning_rule=rule, **kwargs)
    pre = SourceRingBuffer(data=spike_matrix(n_pre, steps, case["pre_spikes"]))
    pre.s_out.connect(dense.s_in)
    procs = [pre]
    lif = None
    if case.get("post") == "lif":
        p = case["lif"]
        lif = LIF(shape=(n_post,), du=p["du"], dv=p["dv"], vth=p["vth"],
                  bias_mant=np.array(p["bias_mant"]), bias_exp=0)
        dense.a_out.connect(lif.a_in)
        lif.s_out.connect(dense.s_in_bap)
        sink = SinkRingBuffer(shape=(n_post,), buffer=steps)
        lif.s_out.connect(sink.a_in)
    else:
        post = SourceRingBuffer(
            data=spike_matrix(n_post, steps, case["post_spikes"]))
        post.s_out.connect(dense.s_in_bap)
        procs.append(post)
    if three_factor:
        for k, port in enumerate((dense.s_in_y1, dense.s_in_y2,
                                  dense.s_in_y3)):
            data = np.zeros((n_post, steps + 1), dtype=np.int64)
            for t, values in enumerate(case["y_supplied"]):
                data[:, t] = values[k]
            src = SourceRingBuffer(data=data)
            src.s_out.connect(port)
            procs.append(src)

    cfg = Loihi2SimCfg(select_tag="fixed_pt")
    trace = []
    try:
        for _ in range(steps):
            dense.run(condition=RunSteps(num_steps=1), run_cfg=cfg)
            trace.append({
                "weights": as_ints(dense.weights.get()).tolist(),
                "tag_1": as_ints(dense.tag_1.get()).tolist(),
                "tag_2": as_ints(dense.tag_2.get()).tolist(),
                **{v: as_ints(getattr(dense, v).get()).tolist()
                   for v in ("x1", "x2", "y1", "y2", "y3", "tx", "ty")},
            })
        got = dense.model_class.__name__
        assert got == "PyLearningDenseModelBitApproximate", got
        if lif is not None:
            spikes = as_ints(sink.data.get()).T
            case["post_spikes"] = [[int(i) for i in np.flatnonzero(row)]
                                   for row in spikes]
    finally:
        dense.stop()
    out = dict(case)
    out["rule"] = r_out
    out["meta"] = meta()
    out["trace"] = trace
    return out


def base_case(name, description, n_pre, n_post, steps, weights, rule,
              pre_spikes, post_spikes=None, **extra):
    case = {"name": name, "description": description, "n_pre": n_pre,
            "n_post": n_post, "steps": steps, "weights": weights,
            "rule": rule, "pre_spikes": pre_spikes}
    if post_spikes is not None:
        case["post_spikes"] = post_spikes
    case.update(extra)
    return case


def trains(steps, events):
    """events: {step: [indices]} (steps from 1) -> list per step."""
    return [sorted(events.get(t, [])) for t in range(1, steps + 1)]


def cases():
    out = []
    # --- no stochastic rounding: integer impulses, tau 0 or infinite,
    # integer scales (every product a multiple of 128 in the accumulator).
    out.append(base_case(
        "pairs_no_memory",
        "tau 0: a trace is its impulse at its spike step only, so only pre "
        "and post spikes in the same step interact (both see each other's "
        "fresh impulse); epoch 1",
        2, 2, 12, [[10, 20], [30, -40]],
        dict(dw="x1*y0 - 2*y1*x0", x1_impulse=20, x1_tau=0, y1_impulse=10,
             y1_tau=0, t_epoch=1, rng_seed=1),
        trains(12, {1: [0], 3: [0, 1], 6: [1], 9: [0]}),
        trains(12, {3: [0], 4: [1], 6: [1], 9: [0, 1], 11: [0]})))
    out.append(base_case(
        "no_decay_epoch4",
        "tau 2^62 (no decay: exp(-1/tau) rounds to 1), epoch 4, several spikes per epoch "
        "(multi-spike impulses on the stored trace), traces clip at 127",
        3, 2, 24, [[0, 50, -50], [100, 0, 2]],
        dict(dw="x1*y0 - y1*x0 + 2^-1*2*x2*y0", x1_impulse=40,
             x1_tau=NO_DECAY, x2_impulse=3, x2_tau=0, y1_impulse=25,
             y1_tau=NO_DECAY, t_epoch=4, rng_seed=2),
        trains(24, {1: [0], 2: [0, 1], 3: [0], 4: [2], 6: [1], 7: [1],
                    9: [0, 2], 13: [2], 14: [2], 15: [2], 16: [2], 20: [1]}),
        trains(24, {2: [0], 3: [1], 4: [0], 8: [0, 1], 10: [1], 11: [1],
                    12: [1], 16: [0], 17: [0], 22: [1]})))
    out.append(base_case(
        "tags_delays_sgn",
        "dd and dt rules next to dw; factors w, d, t with constants and "
        "sgn; all three read the values before the epoch's update",
        2, 2, 16, [[40, -40], [0, 100]],
        dict(dw="x0*sgn(t) + y0*(d - 3)", dd="x0*y1 - u0*sgn(d - 10)",
             dt="y0*x1 - x0*(t + 2)*2^-1*2", x1_impulse=5, x1_tau=0,
             y1_impulse=3, y1_tau=NO_DECAY, t_epoch=2, rng_seed=3),
        trains(16, {1: [0], 2: [1], 5: [0, 1], 8: [0], 11: [1], 14: [0]}),
        trains(16, {2: [0], 3: [1], 6: [0, 1], 9: [1], 12: [0], 15: [0]}),
        tag_1=[[5, -3], [0, 20]], tag_2=[[12, 0], [9, 30]]))
    for mode, weights in (("mixed", [[250, -250], [0, 7]]),
                          ("excitatory", [[250, 3], [0, 7]]),
                          ("inhibitory", [[-250, -3], [0, -7]])):
        out.append(base_case(
            f"clip_{mode}",
            f"{mode} sign mode: large integer scales drive weights to the "
            "accumulator's bounds and the learned range; t to its range",
            2, 2, 10, weights,
            dict(dw="2^8*x0 - 2^8*y0*2", dt="2^8*y0 - 2^8*x0*2 + u0*(w+1)",
                 t_epoch=1, rng_seed=4),
            trains(10, {1: [0], 2: [0, 1], 4: [1], 7: [0]}),
            trains(10, {3: [0], 5: [0, 1], 6: [1], 8: [0]}),
            sign_mode=mode))
    out.append(base_case(
        "initial_truncation",
        "weights truncated at step 1 (mixed drops the LSB; 6-bit weights "
        "drop 3 bits) but not clipped until the first epoch",
        2, 2, 4, [[301, -3], [77, -300]],
        dict(dw="y0*x1", x1_impulse=4, x1_tau=0, t_epoch=2, rng_seed=5),
        trains(4, {2: [0, 1]}), trains(4, {2: [1]}),
        num_weight_bits=6))
    out.append(base_case(
        "uk_decimation",
        "u1 in dw and dt: u1 fires every 2nd epoch; products read the "
        "end-of-epoch traces",
        2, 2, 24, [[0, 0], [0, 0]],
        dict(dw="u1*x1 - u1*y1*2", dt="u1*x1*y1*2^3", x1_impulse=6,
             x1_tau=NO_DECAY, y1_impulse=2, y1_tau=NO_DECAY,
             t_epoch=3, rng_seed=6),
        trains(24, {1: [0], 4: [1], 8: [0], 13: [0, 1], 20: [1]}),
        trains(24, {2: [1], 7: [0], 11: [0, 1], 19: [0]})))
    out.append(base_case(
        "wide_products",
        "products of wide factors: int32 wrap-around and shifts of more "
        "than 32 bits",
        2, 1, 6, [[255, -200]],
        dict(dw="x0*w*w*w*w + y0*w*d*t*x1*x1*y1*y1*2^-7",
             dt="x0*w*w*t", x1_impulse=100, x1_tau=NO_DECAY,
             y1_impulse=90, y1_tau=NO_DECAY, t_epoch=1, rng_seed=7),
        trains(6, {1: [0, 1], 3: [0], 4: [1]}),
        trains(6, {2: [0], 4: [0]}),
        tag_1=[[200, -150]], tag_2=[[100, 50]]))
    out.append(base_case(
        "fractional_constants",
        "constants with a fraction: added in double precision, truncated "
        "toward zero (or their sign taken in sgn)",
        2, 2, 8, [[0, -5], [1, 3]],
        dict(dw="x0*(x1 - 3*2^-1) + y0*sgn(w + 2^-1) - x0*sgn(w - 2^-1)",
             dt="u0*(w - 5*2^-2)", x1_impulse=1, x1_tau=NO_DECAY,
             t_epoch=1, rng_seed=8),
        trains(8, {1: [0], 2: [1], 4: [0, 1], 6: [0]}),
        trains(8, {2: [0], 3: [1], 5: [0, 1], 7: [1]})))
    # --- with stochastic rounding everywhere: bit-exact only through the
    # same NumPy streams.
    steps = 60
    out.append(base_case(
        "stdp_stochastic",
        "STDPLoihi-like rule, taus 10 and 5, fractional scale, epoch 1, "
        "random trains",
        4, 3, steps, [[10, 20, 30, 40], [-10, 0, 60, 5], [100, 90, 80, 70]],
        dict(dw="2^-2*x1*y0 - 3*2^-3*y1*x0", x1_impulse=16, x1_tau=10,
             y1_impulse=16, y1_tau=5, t_epoch=1, rng_seed=11),
        random_trains(101, 4, steps, 0.25), random_trains(102, 3, steps, 0.2)))
    out.append(base_case(
        "stochastic_epoch4",
        "fractional impulses, decays, epoch 4 with several post spikes per "
        "epoch (the post multi-spike impulse draws its own random number), "
        "dd and dt",
        3, 3, steps, [[1, 2, 3], [50, 60, 70], [-100, 0, 100]],
        dict(dw="y0*x1*2^-3 - x0*y1*y2*2^-1 + u0*x2*2^-5",
             dd="y0*x2*2^-4", dt="x0*y3*2^-2 - u0*t*2^-3",
             x1_impulse=10.25, x1_tau=6, x2_impulse=5.75, x2_tau=3,
             y1_impulse=20.5, y1_tau=7, y2_impulse=7.125, y2_tau=12,
             y3_impulse=3.9, y3_tau=2.5, t_epoch=4, rng_seed=12),
        random_trains(201, 3, steps, 0.3), random_trains(202, 3, steps, 0.35),
        tag_1=[[10, -10, 50], [0, 0, 0], [-60, 30, 1]]))
    out.append(base_case(
        "large_seed",
        "a seed above 2^32 (two entropy words) and epoch 2",
        2, 2, 30, [[20, -20], [5, 60]],
        dict(dw="2^-1*x1*y0 - 2^-2*y1*x0", x1_impulse=12.3, x1_tau=8,
             y1_impulse=9.6, y1_tau=4, t_epoch=2, rng_seed=2**32 + 77),
        random_trains(301, 2, 30, 0.3), random_trains(302, 2, 30, 0.3)))
    # --- third factor: y traces supplied each step.
    steps = 40
    rng = np.random.default_rng(401)
    y_supplied = []
    for t in range(steps):
        y1 = [int(v) for v in rng.integers(0, 60, size=2)]
        y2 = [int(v) for v in rng.integers(-40, 90, size=2)]
        y3 = [int(v) for v in rng.integers(0, 5, size=2)]
        y_supplied.append([y1, y2, y3])
    out.append(base_case(
        "three_factor",
        "Loihi3FLearningRule: y1..y3 supplied each step (negative rewards "
        "too), an eligibility tag and a reward-gated weight",
        3, 2, steps, [[10, 20, 30], [-30, 0, 50]],
        dict(dw="u0*t*y2*2^-1", dt="2^-1*x0*y1 + y0*x1 - u0*t*2^-1",
             x1_impulse=16, x1_tau=10, t_epoch=1, rng_seed=13,
             three_factor=True),
        random_trains(402, 3, steps, 0.3), random_trains(403, 2, steps, 0.3),
        y_supplied=y_supplied))
    rng = np.random.default_rng(501)
    y_supplied = [[[int(v) for v in rng.integers(0, 127, size=2)],
                   [int(v) for v in rng.integers(-100, 127, size=2)],
                   [0, 0]] for _ in range(steps)]
    out.append(base_case(
        "three_factor_epoch2",
        "three-factor rule with epoch 2: supplied values decay within the "
        "epoch's history (tau 65535) and clip to 0..127 at spike steps",
        2, 2, steps, [[0, 10], [-10, 40]],
        dict(dw="y0*y2*2^-2 + x0*y2*2^-3 + u0*y1*2^-4",
             x1_impulse=8.5, x1_tau=3, t_epoch=2, rng_seed=14,
             three_factor=True),
        random_trains(502, 2, steps, 0.35), random_trains(503, 2, steps, 0.4),
        y_supplied=y_supplied))
    # --- a LIF fed by the learning Dense sends the back-propagating spikes.
    steps = 50
    out.append(base_case(
        "lif_in_the_loop",
        "STDP onto a LIF that the learning Dense drives; the LIF's spikes "
        "are the post spikes (recorded here for the replay)",
        3, 2, steps, [[60, 40, 20], [10, 50, 90]],
        dict(dw="2^-1*x1*y0 - 2^-2*y1*x0", x1_impulse=20, x1_tau=8,
             y1_impulse=20, y1_tau=8, t_epoch=1, rng_seed=15),
        random_trains(601, 3, steps, 0.4), post="lif",
        lif=dict(du=1000, dv=500, vth=40, bias_mant=[0, 5])))
    return out


def cases_part(names):
    for case in cases():
        if names and case["name"] not in names:
            continue
        write(os.path.join("cases", case["name"] + ".json"), run_case(case))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("parts", nargs="*",
                        help="parser, named, numpy, cases, or case names")
    args = parser.parse_args()
    parts = set(args.parts)
    everything = not parts
    if everything or "parser" in parts:
        write("parser.json", parser_part())
    if everything or "named" in parts:
        write("named.json", named_part())
    if everything or "numpy" in parts:
        write("numpy_streams.json", numpy_part())
    case_names = parts - {"parser", "named", "numpy"}
    if everything or "cases" in parts or case_names:
        cases_part(None if (everything or "cases" in parts) else case_names)


if __name__ == "__main__":
    main()
