#!/usr/bin/env python3
"""Generate Lava golden traces for Neurite's bit-exactness tests.

Run with the Python of a venv that has lava-nc installed (see README.md):

    /work/lava-venv/bin/python tests/golden/lava/generate.py [case ...]

For every case below this script

  1. describes the network in Neurite's JSON network format (``network``),
  2. builds exactly that network out of Lava processes
     (source ``RingBuffer`` for input populations, ``LIF`` for LIF
     populations, ``Dense`` / ``DelayDense`` for projections),
  3. runs it with ``Loihi2SimCfg(select_tag="fixed_pt")``, which selects the
     bit-accurate CPU models ``PyLifModelBitAcc``, ``PyDenseModelBitAcc`` and
     ``PyDelayDenseModelBitAcc`` (the script asserts that these were chosen),
  4. records, for every LIF population and every step, the spike vector and
     u and v as they are after the step (after the spike reset),
  5. writes ``<case>.json`` next to this script.

Each network is simulated twice with two independent recording methods, and
the results must agree:

  * step by step: ``run(RunSteps(1))`` followed by ``u.get()`` / ``v.get()``;
    spikes go to a sink ``RingBuffer`` (``lava.proc.io.sink``) that stores
    the spikes sent at step t in column t-1;
  * one run of all steps with ``Monitor`` probes on u, v and s_out.

Lava is used only as a library: nothing in Lava is patched or subclassed.
"""

import argparse
import json
import os
import platform
import sys
from importlib.metadata import version

import numpy as np

from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import Dense, DelayDense
from lava.proc.io.sink import RingBuffer as SinkRingBuffer
from lava.proc.io.source import RingBuffer as SourceRingBuffer
from lava.proc.lif.process import LIF
from lava.proc.monitor.process import Monitor
from lava.utils.weightutils import SignMode

HERE = os.path.dirname(os.path.abspath(__file__))

SIGN_MODES = {
    "mixed": SignMode.MIXED,
    "excitatory": SignMode.EXCITATORY,
    "inhibitory": SignMode.INHIBITORY,
}

# The bit-accurate models every run must use (checked after each run).
EXPECTED_MODELS = {
    LIF: "PyLifModelBitAcc",
    Dense: "PyDenseModelBitAcc",
    DelayDense: "PyDelayDenseModelBitAcc",
    SourceRingBuffer: "PySendModelFixed",
}


def run_cfg():
    return Loihi2SimCfg(select_tag="fixed_pt")


# ---------------------------------------------------------------------------
# Neurite network description -> Lava processes
# ---------------------------------------------------------------------------

def as_array(value, size):
    """Scalar or per-neuron list -> int64 array of the population's size."""
    arr = np.asarray(value, dtype=np.int64)
    if arr.ndim == 0:
        arr = np.full(size, int(arr), dtype=np.int64)
    assert arr.shape == (size,), (value, size)
    return arr


def projection_matrices(proj, n_out, n_in):
    """Return (weights, delays or None) as (n_out, n_in) int64 matrices.

    ``dense`` is already [to][from].  ``sparse`` entries are
    [pre, post, weight] or [pre, post, weight, delay]; missing synapses are
    zero weights (their delay is irrelevant).  A projection has delays (-> DelayDense) if
    it has a scalar ``delay`` key or any sparse entry has a 4th element.
    """
    if "dense" in proj:
        weights = np.asarray(proj["dense"], dtype=np.int64)
        assert weights.shape == (n_out, n_in), (proj, weights.shape)
        delays = None
        if "delay" in proj:
            delays = np.full((n_out, n_in), int(proj["delay"]), dtype=np.int64)
        return weights, delays
    weights = np.zeros((n_out, n_in), dtype=np.int64)
    delays = np.zeros((n_out, n_in), dtype=np.int64)
    has_delay = "delay" in proj
    if has_delay:
        delays[:, :] = int(proj["delay"])
    seen = set()
    for entry in proj["sparse"]:
        pre, post, w = entry[:3]
        assert (pre, post) not in seen, f"duplicate synapse {entry}"
        seen.add((pre, post))
        weights[post, pre] = w
        if len(entry) == 4:
            delays[post, pre] = entry[3]
            has_delay = True
    return weights, (delays if has_delay else None)


class LavaNet:
    """The Lava processes built from one Neurite network description."""

    def __init__(self, net, steps):
        self.net = net
        self.steps = steps
        self.pops = {p["name"]: p for p in net["populations"]}
        self.procs = {}          # population name -> Lava process
        self.connections = []    # Dense / DelayDense processes

        # Input spikes: data[index, step - 1] = 1.  The buffer has one
        # column per step (plus one spare), so it never wraps within the run.
        spike_data = {name: np.zeros((p["size"], steps + 1), dtype=np.int64)
                      for name, p in self.pops.items() if p["model"] == "input"}
        for source in net.get("inputs", []):
            for step, index in source["spikes"]:
                assert 1 <= step <= steps, (step, steps)
                spike_data[source["population"]][index, step - 1] = 1

        for name, p in self.pops.items():
            if p["model"] == "input":
                self.procs[name] = SourceRingBuffer(data=spike_data[name])
            elif p["model"] == "lif":
                n = p["size"]
                self.procs[name] = LIF(
                    shape=(n,),
                    u=as_array(p["u_init"], n),
                    v=as_array(p["v_init"], n),
                    du=int(p["du"]),
                    dv=int(p["dv"]),
                    vth=int(p["vth"]),
                    bias_mant=as_array(p["bias_mant"], n),
                    bias_exp=as_array(p["bias_exp"], n),
                    name=name,
                )
            else:
                raise ValueError(f"unknown model {p['model']}")

        for proj in net["projections"]:
            src, dst = self.procs[proj["from"]], self.procs[proj["to"]]
            n_in = self.pops[proj["from"]]["size"]
            n_out = self.pops[proj["to"]]["size"]
            weights, delays = projection_matrices(proj, n_out, n_in)
            kwargs = dict(weight_exp=int(proj.get("weight_exp", 0)),
                          num_weight_bits=int(proj.get("num_weight_bits", 8)))
            if "sign_mode" in proj:
                kwargs["sign_mode"] = SIGN_MODES[proj["sign_mode"]]
            # else: no sign_mode -> Lava infers it from the weight matrix.
            if delays is None:
                conn = Dense(weights=weights, **kwargs)
            else:
                # max_delay is left at its default (inferred from delays);
                # see README about lava issue #766.
                conn = DelayDense(weights=weights, delays=delays, **kwargs)
            src.s_out.connect(conn.s_in)
            conn.a_out.connect(dst.a_in)
            self.connections.append(conn)

        self.lif_names = [n for n, p in self.pops.items() if p["model"] == "lif"]

        # Lava compiles and runs only the processes connected to the one
        # whose run() is called, so a network made of several unconnected
        # parts (e.g. two bias-only populations) is run part by part.  The
        # parts cannot influence each other, so this changes nothing.
        group = {name: name for name in self.pops}

        def find(x):
            while group[x] != x:
                x = group[x]
            return x

        for proj in net["projections"]:
            group[find(proj["from"])] = find(proj["to"])
        self.components = []    # lists of LIF population names
        for root in dict.fromkeys(find(n) for n in self.lif_names):
            self.components.append([n for n in self.lif_names
                                    if find(n) == root])
        self.conn_to = [proj["to"] for proj in net["projections"]]
        self.find = find

    def check_models(self, component):
        """Assert that Lava picked the bit-accurate process models."""
        root = self.find(component[0])
        procs = [p for n, p in self.procs.items() if self.find(n) == root]
        procs += [c for c, to in zip(self.connections, self.conn_to)
                  if self.find(to) == root]
        for proc in procs:
            want = EXPECTED_MODELS[type(proc)]
            got = proc.model_class.__name__
            assert got == want, f"{proc.name}: got model {got}, want {want}"


def to_int_lists(arr):
    """Var.get() returns floats; check they are integers and convert."""
    arr = np.asarray(arr)
    ints = np.rint(arr).astype(np.int64)
    assert np.array_equal(ints, arr), "non-integer value in a recorded trace"
    return ints


def result_dict(spikes, u, v):
    """spikes, u, v: (steps, n) int arrays -> the JSON 'expected' entry."""
    assert set(np.unique(spikes)) <= {0, 1}
    return {
        "spikes": [[int(i) for i in np.flatnonzero(row)] for row in spikes],
        "u": [[int(x) for x in row] for row in u],
        "v": [[int(x) for x in row] for row in v],
    }


def run_stepwise(net, steps):
    """Run one step at a time and read u, v after each step."""
    lava = LavaNet(net, steps)
    sinks = {}
    for name in lava.lif_names:
        sinks[name] = SinkRingBuffer(shape=(lava.pops[name]["size"],),
                                     buffer=steps)
        lava.procs[name].s_out.connect(sinks[name].a_in)
    result = {}
    for component in lava.components:
        runner = lava.procs[component[0]]
        u = {name: [] for name in component}
        v = {name: [] for name in component}
        try:
            for _ in range(steps):
                runner.run(condition=RunSteps(num_steps=1), run_cfg=run_cfg())
                for name in component:
                    u[name].append(lava.procs[name].u.get())
                    v[name].append(lava.procs[name].v.get())
            lava.check_models(component)
            # The sink stores the spikes of step t in column t-1: (n, steps).
            spikes = {name: to_int_lists(sinks[name].data.get()).T
                      for name in component}
        finally:
            runner.stop()
        for name in component:
            result[name] = result_dict(spikes[name], to_int_lists(u[name]),
                                       to_int_lists(v[name]))
    return {name: result[name] for name in lava.lif_names}


def run_monitored(net, steps):
    """Run all steps at once and record with Monitor probes."""
    lava = LavaNet(net, steps)
    monitors = {}
    for name in lava.lif_names:
        proc = lava.procs[name]
        monitors[name] = {}
        for key, target in (("u", proc.u), ("v", proc.v),
                            ("spikes", proc.s_out)):
            mon = Monitor()
            mon.probe(target=target, num_steps=steps)
            monitors[name][key] = (mon, target.name)
    result = {}
    for component in lava.components:
        runner = lava.procs[component[0]]
        try:
            runner.run(condition=RunSteps(num_steps=steps), run_cfg=run_cfg())
            lava.check_models(component)
            for name in component:
                d = {key: to_int_lists(mon.get_data()[name][tname])
                     for key, (mon, tname) in monitors[name].items()}
                result[name] = result_dict(d["spikes"], d["u"], d["v"])
        finally:
            runner.stop()
    return {name: result[name] for name in lava.lif_names}


# ---------------------------------------------------------------------------
# Helpers for writing the cases
# ---------------------------------------------------------------------------

def lif(name, size, du, dv, vth, bias_mant=0, bias_exp=0, u_init=0, v_init=0):
    return {"name": name, "size": size, "model": "lif", "du": du, "dv": dv,
            "vth": vth, "bias_mant": bias_mant, "bias_exp": bias_exp,
            "u_init": u_init, "v_init": v_init}


def inp(name, size):
    return {"name": name, "size": size, "model": "input"}


def dense(src, dst, matrix, weight_exp=0, num_weight_bits=8, sign_mode=None,
          delay=None):
    proj = {"from": src, "to": dst, "dense": matrix, "weight_exp": weight_exp,
            "num_weight_bits": num_weight_bits}
    if sign_mode is not None:
        proj["sign_mode"] = sign_mode
    if delay is not None:
        proj["delay"] = delay
    return proj


def one_row(n_out, row_index, row):
    """(n_out, len(row)) matrix that is zero except row ``row_index``."""
    m = [[0] * len(row) for _ in range(n_out)]
    m[row_index] = list(row)
    return m


def spikes_at(index, steps):
    return [[s, index] for s in steps]


def random_spikes(seed, n, first, last, p):
    """Deterministic pseudo-random [step, index] list (steps first..last)."""
    rng = np.random.default_rng(seed)
    return [[s, i] for s in range(first, last + 1) for i in range(n)
            if rng.random() < p]


def network(name, populations, projections, inputs):
    lif_pops = [p["name"] for p in populations if p["model"] == "lif"]
    return {
        "name": name,
        "populations": populations,
        "projections": projections,
        "inputs": [{"population": pop, "spikes": sorted(spk)}
                   for pop, spk in inputs],
        "probes": [{"population": p, "vars": ["spikes", "u", "v"]}
                   for p in lif_pops],
    }


# ---------------------------------------------------------------------------
# The cases.  Each returns (network, steps).
# ---------------------------------------------------------------------------

def case_alignment():
    """Hand-checkable case used to verify step alignment (see README)."""
    return network(
        "alignment",
        [inp("in", 1),
         # u stays 0; v = 1, 2, ..., 64, then v = 65 > 64 spikes at step 65.
         lif("bias", 1, du=0, dv=0, vth=1, bias_mant=1),
         # input spikes at steps 1, 3 reach u at steps 2, 4 (u = 1 << 6);
         # du = 4095 clears u each step; v = 64, 64, then 128 > 64 at step 4.
         lif("pulse", 1, du=4095, dv=0, vth=1)],
        [dense("in", "pulse", [[1]])],
        [("in", [[1, 0], [3, 0]])],
    ), 70


def check_alignment(expected):
    """Assert the hand-computed values of case_alignment."""
    b, p = expected["bias"], expected["pulse"]
    for t in range(1, 65):
        assert b["v"][t - 1] == [t] and b["spikes"][t - 1] == [], t
    assert b["spikes"][64] == [0] and b["v"][64] == [0]
    assert b["v"][65] == [1] and all(x == [0] for x in b["u"])
    assert p["u"][:5] == [[0], [64], [0], [64], [0]]
    assert p["v"][:5] == [[0], [64], [64], [0], [0]]
    assert p["spikes"][:5] == [[], [], [], [0], []]


def case_bias_only():
    return network(
        "bias_only",
        [lif("a", 6, du=1024, dv=256, vth=100,
             # effective bias: 100, 400, -800, 8190, 896, -524288
             bias_mant=[100, 50, -200, 4095, 7, -4096],
             bias_exp=[0, 3, 2, 1, 7, 7]),
         # effective bias: 1, -1, 11200, -24008
         lif("b", 4, du=2000, dv=1500, vth=200,
             bias_mant=[1, -1, 700, -3001], bias_exp=[0, 0, 4, 3])],
        [], [],
    ), 50


def case_decay_extremes():
    w = [[100, -60, 30], [-128, 77, 0], [50, 50, -90]]
    pops = [inp("in", 3),
            lif("u0_v0", 3, du=0, dv=0, vth=400),
            lif("u4095_v4095", 3, du=4095, dv=4095, vth=100),
            lif("u0_v4095", 3, du=0, dv=4095, vth=150),
            lif("u4095_v0", 3, du=4095, dv=0, vth=200, bias_mant=[0, 3, -5])]
    projs = [dense("in", p["name"], w) for p in pops[1:]]
    spikes = (spikes_at(0, [1, 2, 3, 10, 25]) + spikes_at(1, [5, 6, 30, 31])
              + spikes_at(2, [2, 15, 16, 17, 18, 40]))
    return network("decay_extremes", pops, projs, [("in", spikes)]), 50


def case_wrap_saturation():
    # One step of input with weight 255, weight_exp 7 adds 255*128 << 6 =
    # 2088960 to u; 128 * 128 << 6 = 2^20; -256 * 128 << 6 = -2^21.
    n_in = 12
    exc = [[255] * 5 + [0] * 7,     # 5 spikes -> 10444800 -> wraps
           [255] * 12,              # 12 spikes -> 25067520 (< 3*2^23)
           [128] * 8 + [0] * 4,     # 8 spikes -> exactly +2^23 (kept)
           [0] * 12]
    mixed = [[0] * 12, [0] * 12, [0] * 12,
             [-256] * 6 + [0] * 6]  # 4 spikes -> exactly -2^23 -> +2^23
    accum_exc = [[255, 255, 255] + [0] * 9, [0] * 12]
    accum_inh = [[0] * 12, [-255, -255, -255] + [0] * 9]
    pops = [
        inp("in", n_in),
        # du = 4095: u is exactly this step's input, wrapped.
        lif("wrap_step", 4, du=4095, dv=4095, vth=131071),
        # du = 0: u accumulates over steps and wraps (both directions).
        lif("wrap_accum", 2, du=0, dv=4095, vth=131071),
        # dv = 0, large negative bias: v saturates at -(2^23 - 1).
        lif("vsat_neg", 3, du=0, dv=0, vth=131071,
            bias_mant=[-4096, -3000, -1], bias_exp=[7, 7, 0]),
        # dv = 0, large positive bias: v saturates at 2^23 - 1 > vth << 6
        # and spikes; neuron 1 lands exactly on vth << 6 (no spike), then
        # saturates and spikes; neuron 2 starts at +(2^23 - 1).
        lif("vsat_pos", 3, du=0, dv=0, vth=131071,
            bias_mant=[4095, 544, 0], bias_exp=[7, 0, 0],
            v_init=[0, 8388000, 8388607]),
    ]
    projs = [
        dense("in", "wrap_step", exc, weight_exp=7, sign_mode="excitatory"),
        dense("in", "wrap_step", mixed, weight_exp=7, sign_mode="mixed"),
        dense("in", "wrap_accum", accum_exc, weight_exp=7,
              sign_mode="excitatory"),
        dense("in", "wrap_accum", accum_inh, weight_exp=7,
              sign_mode="inhibitory"),
    ]
    spikes = []
    for step, count in [(1, 4), (4, 5), (7, 8), (10, 12), (13, 6), (16, 1),
                        (19, 7), (22, 11)]:
        spikes += [[step, i] for i in range(count)]
    # A burst of 3 simultaneous spikes per step for the accumulating pop.
    for step in range(26, 40):
        spikes += [[step, i] for i in range(3)]
    return network("wrap_saturation", pops, projs, [("in", spikes)]), 50


def case_saturation_vth_over_17bit():
    """Positive v saturation made visible: vth = 2^17 (one above the 17-bit
    range Lava documents but does not enforce), so vth << 6 = 2^23 can never
    be exceeded by v <= 2^23 - 1."""
    return network(
        "saturation_vth_over_17bit",
        [inp("in", 4),
         lif("sat", 3, du=0, dv=0, vth=131072,
             bias_mant=[4095, 0, 1000], bias_exp=[7, 0, 6]),
         lif("sat_u", 2, du=4095, dv=0, vth=131072)],
        [dense("in", "sat_u", [[255, 255, 255, 255], [255, 255, 0, 0]],
               weight_exp=7)],
        [("in", [[s, i] for s in (2, 3, 10) for i in range(4)])],
    ), 30


def case_weight_exp_negative():
    n = 8
    inh_row, exc_row = [-255, -77, -33, -1], [255, 77, 33, 1]
    mixed_row = [-255, 77, -33, 1]   # mixed 8-bit truncation: -256 76 -34 0
    projs = []
    for k in range(1, 9):
        projs.append(dense("in", "neg", one_row(n, k - 1, inh_row),
                           weight_exp=-k, sign_mode="inhibitory"))
        projs.append(dense("in", "pos", one_row(n, k - 1, exc_row),
                           weight_exp=-k, sign_mode="excitatory"))
    for j, k in enumerate([1, 3, 5, 7]):
        projs.append(dense("in", "mixed", one_row(4, j, mixed_row),
                           weight_exp=-k, sign_mode="mixed"))
    # Hand-picked patterns first (single inputs, then odd sums), then random.
    patterns = [[3], [2], [1], [0], [2, 3], [0, 1, 2, 3], [1, 3], [0, 2],
                [0, 1], [0, 1, 3], [1, 2], [0, 3], [1, 2, 3]]
    spikes = [[s + 1, i] for s, pat in enumerate(patterns) for i in pat]
    spikes += random_spikes(4, 4, len(patterns) + 1, 38, 0.5)
    pops = [inp("in", 4),
            lif("neg", n, du=4095, dv=4095, vth=131071),
            lif("pos", n, du=4095, dv=4095, vth=131071),
            lif("mixed", 4, du=4095, dv=2048, vth=5)]
    return network("weight_exp_negative", pops, projs, [("in", spikes)]), 40


def case_weight_bits_sign_modes():
    rows = {"mixed": [300, -300, 173, -89],
            "excitatory": [300, 173, 89, -50],
            "inhibitory": [-300, -173, -89, 50]}
    pop_of = {"mixed": "mixed", "excitatory": "exc", "inhibitory": "inh"}
    projs = []
    for mode, row in rows.items():
        for nwb in range(1, 9):
            projs.append(dense("in", pop_of[mode], one_row(8, nwb - 1, row),
                               num_weight_bits=nwb, sign_mode=mode))
    # Sign mode inferred by Lava from the whole (n_out, n_in) matrix:
    # mixed, inhibitory (all <= 0), excitatory (all >= 0).
    projs.append(dense("in", "inferred", one_row(3, 0, [300, -7, 0, 5]),
                       num_weight_bits=5))
    projs.append(dense("in", "inferred", one_row(3, 1, [-300, -45, 0, -3]),
                       num_weight_bits=6))
    projs.append(dense("in", "inferred", one_row(3, 2, [255, 45, 0, 3]),
                       num_weight_bits=3))
    patterns = [[0], [1], [2], [3], [0, 1], [2, 3], [0, 2], [1, 3],
                [0, 1, 2, 3], [1, 2]]
    spikes = [[s + 1, i] for s, pat in enumerate(patterns) for i in pat]
    spikes += random_spikes(5, 4, len(patterns) + 1, 38, 0.5)
    pops = [inp("in", 4),
            lif("mixed", 8, du=4095, dv=4095, vth=131071),
            lif("exc", 8, du=4095, dv=4095, vth=131071),
            lif("inh", 8, du=4095, dv=4095, vth=131071),
            lif("inferred", 3, du=4095, dv=3000, vth=200)]
    return network("weight_bits_sign_modes", pops, projs,
                   [("in", spikes)]), 40


def case_delays():
    row = [100, -50, 70]
    projs = [dense("in", "d", one_row(5, 0, row))]           # plain Dense
    for j, delay in enumerate([0, 1, 2, 62]):
        projs.append(dense("in", "d", one_row(5, j + 1, row), delay=delay))
    # Sparse projection with per-synapse delays ([pre, post, weight, delay]).
    projs.append({"from": "in", "to": "sp", "weight_exp": 1, "sparse": [
        [0, 0, 100, 0], [1, 0, -60, 5], [2, 0, 45, 62],
        [0, 1, 120, 1], [1, 1, 80, 62],
        [2, 2, -100, 3],
        [0, 3, 90, 17], [1, 3, 90, 17], [2, 3, 90, 2]]})
    # Sparse projection without delays (3-element entries) -> plain Dense.
    projs.append({"from": "in", "to": "sp", "weight_exp": 0,
                  "sparse": [[0, 2, 30], [2, 1, -20]]})
    # Negative weight_exp with delays: DelayDense floors the sum of each
    # delay slot separately, when the spikes are received, so two -3 weights
    # arriving at the same step give (-3 >> 1) + (-3 >> 1) = -4 if they were
    # sent at different steps or with different delays (frac[0], step 4),
    # but -6 >> 1 = -3 if sent together with the same delay (frac[1], step 6).
    # (Inhibitory, because mixed mode would truncate the odd weights.)
    projs.append({"from": "in", "to": "frac", "weight_exp": -1,
                  "sign_mode": "inhibitory", "sparse": [
                      [0, 0, -3, 2], [1, 0, -3, 0], [2, 0, -5, 1],
                      [0, 1, -3, 1], [1, 1, -3, 1], [2, 1, -7, 4]]})
    spikes = (spikes_at(0, [1, 4, 10, 50]) + spikes_at(1, [2, 3, 4, 20])
              + spikes_at(2, [5, 6, 7, 30]))
    pops = [inp("in", 3),
            lif("d", 5, du=4095, dv=2048, vth=100),
            lif("sp", 4, du=3000, dv=1000, vth=300),
            lif("frac", 2, du=4095, dv=4095, vth=1000)]
    return network("delays", pops, projs, [("in", spikes)]), 90


def case_recurrent():
    w_in = [[200, 0], [0, 150], [100, 100], [60, -80], [-50, 120]]
    w_rec = [[0, 40, -30, 0, 20],
             [-60, 10, 0, 50, 0],
             [30, 30, 0, -90, 0],
             [0, -20, 70, 0, 45],
             [25, 0, -40, 35, -10]]
    w_rec_d3 = [[0, 0, 0, 60, 0],
                [0, 0, -40, 0, 0],
                [0, 0, 0, 0, 80],
                [-70, 0, 0, 0, 0],
                [0, 50, 0, 0, 0]]
    spikes = spikes_at(0, range(1, 31, 3)) + spikes_at(1, [5, 6, 7, 20, 21, 40])
    return network(
        "recurrent",
        [inp("in", 2),
         lif("r", 5, du=2048, dv=1024, vth=80,
             bias_mant=[0, 30, 0, -20, 10], bias_exp=[0, 3, 0, 2, 4])],
        [dense("in", "r", w_in, weight_exp=1),
         dense("r", "r", w_rec, weight_exp=1),            # plain Dense
         dense("r", "r", w_rec_d3, weight_exp=1, delay=3)],  # DelayDense
        [("in", spikes)],
    ), 60


def case_init_state():
    return network(
        "init_state",
        [inp("in", 2),
         lif("a", 4, du=100, dv=200, vth=100,
             u_init=[1000, -5000, 300000, 0],
             v_init=[0, 5000, -20000, 7000]),
         lif("b", 3, du=0, dv=4095, vth=300, bias_mant=[10, 0, -10],
             u_init=20000, v_init=[-100000, 0, 6000]),
         # u starts at the 24-bit extremes and decays slowly (du = 1).
         lif("c", 2, du=1, dv=0, vth=50, u_init=[-8388607, 8388607],
             v_init=-3000)],
        [dense("in", "a", [[50, 0], [0, 50], [-50, 50], [20, 20]]),
         dense("in", "b", [[-100, 0], [0, 100], [60, 60]])],
        [("in", spikes_at(0, [3, 8, 9]) + spikes_at(1, [12, 20]))],
    ), 40


def case_two_layer():
    w_ih = [[120, -40, 60, 0],
            [0, 90, -70, 50],
            [-30, 100, 80, 0],
            [70, 70, 0, -100],
            [0, 0, 150, 150],
            [255, -256, 10, 40]]
    w_ho = [[60, -40, 80, 0, 30, -20],
            [0, 90, -50, 60, 0, 40],
            [-30, 20, 40, 70, -90, 50]]
    w_io = [[0, 30, 0, -30], [20, 0, 0, 0], [0, 0, -40, 60]]
    spikes = random_spikes(9, 4, 1, 45, 0.3)
    return network(
        "two_layer",
        [inp("in", 4),
         lif("hidden", 6, du=1500, dv=700, vth=120,
             bias_mant=[0, 20, -10, 5, 0, 100], bias_exp=[0, 2, 1, 0, 0, 3]),
         lif("out", 3, du=300, dv=2500, vth=60, bias_mant=[3, 0, -2],
             bias_exp=1, v_init=[0, 1000, -1000])],
        [dense("in", "hidden", w_ih, weight_exp=1, num_weight_bits=7),
         dense("hidden", "out", w_ho, weight_exp=2, delay=2),
         dense("in", "out", w_io, weight_exp=-1, sign_mode="mixed")],
        [("in", spikes)],
    ), 60


CASES = {
    "alignment": case_alignment,
    "bias_only": case_bias_only,
    "decay_extremes": case_decay_extremes,
    "wrap_saturation": case_wrap_saturation,
    "saturation_vth_over_17bit": case_saturation_vth_over_17bit,
    "weight_exp_negative": case_weight_exp_negative,
    "weight_bits_sign_modes": case_weight_bits_sign_modes,
    "delays": case_delays,
    "recurrent": case_recurrent,
    "init_state": case_init_state,
    "two_layer": case_two_layer,
}


def to_json(obj, indent=0):
    """JSON with one line per innermost list (one step of a trace, one
    synapse, one weight row), so the files stay small and diffable."""
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {to_json(v, indent + 1)}"
                 for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(x, (list, dict)) for x in obj):
        items = [inner + to_json(x, indent + 1) for x in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cases", nargs="*", help="cases to run (default: all)")
    parser.add_argument("--out", default=HERE, help="output directory")
    args = parser.parse_args()
    names = args.cases or list(CASES)

    source = (f"lava-nc {version('lava-nc')}, "
              f"Python {platform.python_version()}, generate.py")
    for name in names:
        net, steps = CASES[name]()
        expected = run_stepwise(net, steps)
        monitored = run_monitored(net, steps)
        assert expected == monitored, f"{name}: step-wise and Monitor differ"
        if name == "alignment":
            check_alignment(expected)
        doc = {"source": source, "steps": steps, "network": net,
               "expected": expected}
        path = os.path.join(args.out, f"{name}.json")
        with open(path, "w") as f:
            f.write(to_json(doc) + "\n")
        n_spikes = {p: sum(len(s) for s in e["spikes"])
                    for p, e in expected.items()}
        print(f"{name}: {steps} steps, spikes per population {n_spikes}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
