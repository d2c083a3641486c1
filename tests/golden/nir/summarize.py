#!/usr/bin/env python3
"""Writes fixtures.json: what h5py reads from each NIR fixture, the
forward-Euler spike steps of lif_norse.nir under a periodic input, and
forward-Euler runs of three fixtures under random input, computed here with
numpy alone, independently of Neurite (the float reference of
tests/all/nir.rs must reproduce them).

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


MASK = (1 << 64) - 1


def input_spikes(size, steps, p, seed):
    """The input the end-to-end test draws with the same xorshift64*
    generator: rows of 0/1, row t-1 for step t, neuron by neuron."""
    state = seed
    out = np.zeros((steps, size))
    for t in range(steps):
        for i in range(size):
            state ^= state >> 12
            state ^= (state << 25) & MASK
            state ^= state >> 27
            draw = ((state * 0x2545F4914F6CDD1D) & MASK) >> 11
            out[t, i] = 1.0 if draw / float(1 << 53) < p else 0.0
    return out


def conv2d(x, w, b, stride, pad, dilation, groups):
    """Plain cross-correlation over (c, h, w), as PyTorch's conv2d."""
    c, h, wd = x.shape
    co, cig, kh, kw = w.shape
    xp = np.zeros((c, h + 2 * pad[0], wd + 2 * pad[1]))
    xp[:, pad[0]:pad[0] + h, pad[1]:pad[1] + wd] = x
    oh = (h + 2 * pad[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + 2 * pad[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((co, oh, ow))
    cog = co // groups
    for o in range(co):
        g = o // cog
        for y in range(oh):
            for xx in range(ow):
                patch = xp[g * cig:(g + 1) * cig,
                           y * stride[0]:y * stride[0] + dilation[0] * (kh - 1) + 1:dilation[0],
                           xx * stride[1]:xx * stride[1] + dilation[1] * (kw - 1) + 1:dilation[1]]
                out[o, y, xx] = (patch * w[o]).sum() + b[o]
    return out


def euler_runs(dt=1e-3, steps=300):
    """Forward Euler of three fixtures with the chip's timing (a spike at
    step t reaches the next neuron at step t + 1), reset to zero."""
    runs = {}

    def load(name):
        return h5py.File(FIXTURES / f"{name}.nir", "r")["node"]["nodes"]

    def lif(v, drive, tau, r, v_leak, v_th):
        v = v + dt / tau * (v_leak - v + r * drive)
        s = (v > v_th).astype(np.float64)
        return np.where(s > 0, 0.0, v), s

    # ff_affine_lif: Affine -> LIF -> Affine -> LIF.
    n = load("ff_affine_lif")
    x = input_spikes(4, steps, 0.8, 11)
    w1, b1 = n["fc1"]["weight"][()], n["fc1"]["bias"][()]
    w2, b2 = n["fc2"]["weight"][()], n["fc2"]["bias"][()]
    p1 = [n["lif1"][k][()].astype(np.float64) for k in ("tau", "r", "v_leak", "v_threshold")]
    p2 = [n["lif2"][k][()].astype(np.float64) for k in ("tau", "r", "v_leak", "v_threshold")]
    v1, v2 = np.zeros(3), np.zeros(2)
    s_in, s1 = np.zeros(4), np.zeros(3)
    spikes = {"lif1": [], "lif2": []}
    for t in range(1, steps + 1):
        v1, n1 = lif(v1, w1 @ s_in + b1, *p1)
        v2, n2 = lif(v2, w2 @ s1 + b2, *p2)
        spikes["lif1"] += [[t, int(i)] for i in np.flatnonzero(n1)]
        spikes["lif2"] += [[t, int(i)] for i in np.flatnonzero(n2)]
        s_in, s1 = x[t - 1], n1
    runs["ff_affine_lif"] = {"steps": steps, "p": 0.8, "seed": 11, "spikes": spikes}

    # rnn_cubalif: Affine -> CubaLIF with a recurrent Linear -> Linear -> LI.
    n = load("rnn_cubalif")
    x = input_spikes(3, steps, 0.2, 12)
    w_in, b_in = n["w_in"]["weight"][()], n["w_in"]["bias"][()]
    c = n["rnn"]["nodes"]["lif"]
    w_rec = n["rnn"]["nodes"]["w_rec"]["weight"][()]
    w_out = n["w_out"]["weight"][()]
    ts, tm, r, vl, vth, win = (c[k][()] for k in ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "w_in"))
    li = n["li"]
    l_tau, l_r, l_vl = (li[k][()] for k in ("tau", "r", "v_leak"))
    cur, v, lv = np.zeros(5), np.zeros(5), np.zeros(2)
    s_in, s_rnn = np.zeros(3), np.zeros(5)
    spikes, readout = {"rnn.lif": []}, []
    for t in range(1, steps + 1):
        drive = w_in @ s_in + b_in + w_rec @ s_rnn
        cur = cur + dt / ts * (win * drive - cur)
        v = v + dt / tm * (vl - v + r * cur)
        s = (v > vth).astype(np.float64)
        v = np.where(s > 0, 0.0, v)
        lv = lv + dt / l_tau * (l_vl - lv + l_r * (w_out @ s_rnn))
        spikes["rnn.lif"] += [[t, int(i)] for i in np.flatnonzero(s)]
        readout.append(lv.tolist())
        s_in, s_rnn = x[t - 1], s
    runs["rnn_cubalif"] = {"steps": steps, "p": 0.2, "seed": 12, "spikes": spikes,
                           "li_v": readout}

    # conv_if_sumpool: Conv2d -> IF -> SumPool2d -> Flatten -> Affine -> LIF.
    n = load("conv_if_sumpool")
    conv_steps = 1000
    x = input_spikes(128, conv_steps, 0.5, 13)
    cw, cb = n["conv"]["weight"][()].astype(np.float64), n["conv"]["bias"][()].astype(np.float64)
    r_if = n["if1"]["r"][()].astype(np.float64)
    th_if = n["if1"]["v_threshold"][()].astype(np.float64)
    fw, fb = n["fc"]["weight"][()].astype(np.float64), n["fc"]["bias"][()].astype(np.float64)
    pl = [n["lif"][k][()] for k in ("tau", "r", "v_leak", "v_threshold")]
    v_if, v_l = np.zeros((4, 8, 8)), np.zeros(10)
    s_in, s_if = np.zeros((2, 8, 8)), np.zeros((4, 8, 8))
    spikes = {"if1": [], "lif": []}
    for t in range(1, conv_steps + 1):
        drive = conv2d(s_in, cw, cb, (1, 1), (1, 1), (1, 1), 1)
        v_if = v_if + dt * r_if * drive
        n_if = (v_if > th_if).astype(np.float64)
        v_if = np.where(n_if > 0, 0.0, v_if)
        pooled = s_if.reshape(4, 4, 2, 4, 2).sum(axis=(2, 4)).reshape(-1)
        v_l, n_l = lif(v_l, fw @ pooled + fb, *pl)
        spikes["if1"] += [[t, int(i)] for i in np.flatnonzero(n_if.reshape(-1))]
        spikes["lif"] += [[t, int(i)] for i in np.flatnonzero(n_l)]
        s_in, s_if = x[t - 1].reshape(2, 8, 8), n_if
    runs["conv_if_sumpool"] = {"steps": conv_steps, "p": 0.5, "seed": 13, "spikes": spikes}
    return runs


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
    out["euler_runs"] = euler_runs()
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
