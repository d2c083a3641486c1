#!/usr/bin/env python3
"""Writes fixtures.json: what h5py reads from each NIR fixture, and the
forward-Euler spike steps of lif_norse.nir under a periodic input, computed
here with numpy alone, independently of Neurite.

Run from the repository root with numpy and h5py installed:
    python3 tests/golden/nir/summarize.py > tests/golden/nir/fixtures.json
"""
import json
import math
import pathlib

import h5py
import numpy as np

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "nir"


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def walk(group, prefix, nodes, edges):
    """Nodes by dotted path; edges with names as written, per graph."""
    for name in sorted(group["nodes"].keys()):
        node = group["nodes"][name]
        kind = text(node["type"][()])
        path = prefix + name
        if kind == "NIRGraph":
            walk(node, path + ".", nodes, edges)
            continue
        params = {}
        for field in sorted(node.keys()):
            if field == "type":
                continue
            data = node[field][()]
            if isinstance(data, (bytes, str)):
                params[field] = {"text": text(data)}
            else:
                array = np.asarray(data, dtype=np.float64)
                params[field] = {
                    "shape": list(array.shape),
                    "sum": float(array.sum()),
                    "abs_sum": float(np.abs(array).sum()),
                    "first": float(array.reshape(-1)[0]),
                }
        nodes[path] = {"kind": kind, "params": params}
    for source, target in group["edges"][()]:
        edges.append([prefix, text(source), text(target)])


def lif_norse_euler(steps=1000, period=10, dt=1e-4):
    """One LIF neuron (tau 2.5 ms, R 1, v_th 0.1, v_leak 0) behind an Affine
    of weight 1, an input spike at steps 1, 1 + period, …; each step
    v += dt/tau * (v_leak - v + R*I), spike when v > v_th, then v = 0. The
    input of a step reaches v in the same step (NIR's composition)."""
    with h5py.File(FIXTURES / "lif_norse.nir", "r") as f:
        nodes = f["node"]["nodes"]
        w = float(nodes["0"]["weight"][()].reshape(-1)[0])
        b = float(nodes["0"]["bias"][()].reshape(-1)[0])
        tau = float(nodes["1"]["tau"][()].reshape(-1)[0])
        r = float(nodes["1"]["r"][()].reshape(-1)[0])
        v_th = float(nodes["1"]["v_threshold"][()].reshape(-1)[0])
        v_leak = float(nodes["1"]["v_leak"][()].reshape(-1)[0])
    v = 0.0
    euler = []
    for t in range(1, steps + 1):
        s = 1.0 if (t - 1) % period == 0 else 0.0
        v = v + dt / tau * (v_leak - v + r * (w * s + b))
        if v > v_th:
            euler.append(t)
            v = 0.0
    # The continuous solution with each input spike a pulse of area dt
    # (one step of current 1): v jumps by R*w*dt/tau and decays as
    # exp(-t/tau) in between; it can cross the threshold only at a jump.
    v = 0.0
    exact = []
    for t in range(1, steps + 1):
        if t > 1:
            v = v_leak + (v - v_leak) * math.exp(-dt / tau)
        if (t - 1) % period == 0:
            v += r * w * dt / tau
        if v > v_th:
            exact.append(t)
            v = 0.0
    return {"steps": steps, "period": period, "dt_s": dt, "euler_spikes": euler,
            "continuous_spikes": exact}


def main():
    out = {}
    for path in sorted(FIXTURES.glob("*.nir")):
        with h5py.File(path, "r") as f:
            nodes, edges = {}, []
            walk(f["node"], "", nodes, edges)
            version = text(f["version"][()]) if "version" in f else ""
            dt = None
            if "metadata" in f["node"] and "dt" in f["node"]["metadata"]:
                dt = float(f["node"]["metadata"]["dt"][()])
        out[path.stem] = {"version": version, "dt": dt, "nodes": nodes, "edges": edges}
    out["lif_norse_periodic"] = lif_norse_euler()
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
