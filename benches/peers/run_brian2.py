#!/usr/bin/env python3
"""Builds a benchmark network in Brian2 (cpp_standalone, dt = 1 ms).

Needs brian2 2.11.0 (Python >= 3.13) and g++; see README.md.

    /work/brian2-venv/bin/python benches/peers/run_brian2.py --dir /tmp/peers --net cuba-40000 --threads 1

generates and compiles the C++ project into `<dir>/brian2-<net>-t<threads>`,
runs it once (printing the spike count) and prints one JSON line with the
project directory. `compare.py` then runs the compiled binary itself,
alternating with the other simulators, and reads Brian2's own measure of
the simulation loop (`results/last_run_info.txt`, which leaves out loading
the arrays).

The model is the float counterpart of Loihi's LIF with the same decay
factors, threshold, reset and weights, integrated with forward Euler so that
one step is Loihi's map:

    u <- u * keep_u                     (+ w on each incoming spike)
    v <- v * keep_v + keep_u * u + bias
    spike when v > theta, then v <- 0

where keep_u = (4096 - (du + 1)) / 4096, keep_v = (4096 - dv) / 4096, and
the weights are the 8-bit-scale weights times 2^(6 + weight_exp), as Loihi
adds them to u. The v update uses the decayed u as Loihi does; Brian2 adds a
step's synaptic input to u after the update (Loihi before it), so weights
are divided by keep_u to give the same v. Activity is comparable, not equal.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import networks  # noqa: E402

import brian2 as b2  # noqa: E402


def build(params, pre, post, weight, threads, directory):
    b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    if threads > 1:
        b2.prefs.devices.cpp_standalone.openmp_threads = threads
    b2.defaultclock.dt = 1 * b2.ms
    n = params["n"]
    keep_u = (4096 - (params["du"] + 1)) / 4096
    keep_v = (4096 - params["dv"]) / 4096
    scale = 2.0 ** (6 + params["weight_exp"])
    if params["kind"] == "cuba":
        # Loihi's mixed sign mode drops the weight's lowest bit; the
        # generator's weights are even, so nothing is lost.
        bias = params["bias_mant"] * 2 ** params["bias_exp"]
    else:
        bias = 0.0
    namespace = {
        "keep_u": keep_u,
        "keep_v": keep_v,
        "bias": bias,
        "theta": float(params["vth"] * 64),
        "step": 1 * b2.ms,
    }
    eqs = """
    du/dt = -(1 - keep_u) * u / step : 1
    dv/dt = (-(1 - keep_v) * v + keep_u * u + bias) / step : 1
    """
    group = b2.NeuronGroup(
        n, eqs, threshold="v > theta", reset="v = 0", method="euler", namespace=namespace
    )
    objects = [group]
    if params["kind"] == "cuba":
        group.v = np.array(params["v_init"], dtype=float)
        source = group
    else:
        spikes = np.array(params["spikes"])
        source = b2.SpikeGeneratorGroup(
            n, spikes[:, 1], (spikes[:, 0] - 1) * b2.ms
        )
        objects.append(source)
    if params["kind"] == "dense":
        # Loihi sums a step's weights per target, then shifts right by
        # 1 (rounding down); the float model just scales.
        pass
    syn = b2.Synapses(source, group, "w : 1", on_pre="u_post += w")
    syn.connect(i=pre, j=post)
    syn.w = weight.astype(float) * scale / keep_u
    monitor = b2.SpikeMonitor(group, record=False)
    objects += [syn, monitor]
    net = b2.Network(objects)
    net.run(params["steps"] * b2.ms)
    start = time.perf_counter()
    b2.device.build(directory=directory, compile=True, run=False, clean=True)
    compile_s = time.perf_counter() - start
    b2.device.run(directory=directory, with_output=False)
    return monitor, compile_s


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="where networks.py wrote the files")
    parser.add_argument("--net", required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    params, pre, post, weight = networks.read_arrays(args.dir, args.net)
    directory = os.path.abspath(os.path.join(args.dir, f"brian2-{args.net}-t{args.threads}"))
    monitor, compile_s = build(params, pre, post, weight, args.threads, directory)
    print(
        json.dumps(
            {
                "simulator": "brian2",
                "net": args.net,
                "threads": args.threads,
                "project": directory,
                "compile_s": compile_s,
                "spikes": int(monitor.num_spikes),
                "run_s": b2.device._last_run_time,
                "steps": params["steps"],
            }
        )
    )


if __name__ == "__main__":
    main()
