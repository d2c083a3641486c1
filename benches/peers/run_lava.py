#!/usr/bin/env python3
"""Runs a benchmark network in Lava's fixed-point CPU simulation and times it.

Needs lava-nc 0.10.0 (Python 3.10); see README.md. Prints one JSON line:

    /work/lava-venv/bin/python benches/peers/run_lava.py --dir /tmp/peers --net dense-1000

The network comes from the files `networks.py` wrote. Lava compiles and
starts its processes on a first `run(RunSteps(1))`; the timed part is the
following `run(RunSteps(steps))`.
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np
from scipy.sparse import csr_matrix

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import networks  # noqa: E402

from lava.magma.core.run_conditions import RunSteps  # noqa: E402
from lava.magma.core.run_configs import Loihi2SimCfg  # noqa: E402
from lava.proc.dense.process import Dense  # noqa: E402
from lava.proc.io.source import RingBuffer  # noqa: E402
from lava.proc.lif.process import LIF  # noqa: E402
from lava.proc.sparse.process import Sparse  # noqa: E402
from lava.utils.weightutils import SignMode  # noqa: E402

EXPECTED_MODELS = {
    LIF: "PyLifModelBitAcc",
    Dense: "PyDenseModelBitAcc",
    Sparse: "PySparseModelBitAcc",
}


def build(params, pre, post, weight):
    """The processes of the network; returns (a process to run, all processes)."""
    n = params["n"]
    if params["kind"] == "cuba":
        lif = LIF(
            shape=(n,),
            du=params["du"],
            dv=params["dv"],
            vth=params["vth"],
            bias_mant=params["bias_mant"],
            bias_exp=params["bias_exp"],
            v=np.array(params["v_init"], dtype=np.int32),
        )
        matrix = csr_matrix(
            (weight.astype(np.int32), (post, pre)), shape=(n, n), dtype=np.int32
        )
        syn = Sparse(
            weights=matrix,
            weight_exp=params["weight_exp"],
            num_weight_bits=8,
            sign_mode=SignMode.MIXED,
        )
        lif.s_out.connect(syn.s_in)
        syn.a_out.connect(lif.a_in)
        return lif, [lif, syn]
    raster = np.zeros((n, params["steps"]), dtype=np.int32)
    for t, i in params["spikes"]:
        raster[i, t - 1] = 1
    source = RingBuffer(data=raster)
    matrix = np.zeros((n, n), dtype=np.int32)
    matrix[post, pre] = weight
    syn = Dense(
        weights=matrix,
        weight_exp=params["weight_exp"],
        num_weight_bits=8,
        sign_mode=SignMode.MIXED,
    )
    lif = LIF(shape=(n,), du=params["du"], dv=params["dv"], vth=params["vth"])
    source.s_out.connect(syn.s_in)
    syn.a_out.connect(lif.a_in)
    return lif, [lif, syn]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="where networks.py wrote the files")
    parser.add_argument("--net", required=True)
    parser.add_argument("--steps", type=int, help="default: the network's steps")
    args = parser.parse_args()
    params, pre, post, weight = networks.read_arrays(args.dir, args.net)
    steps = args.steps or params["steps"]

    start = time.perf_counter()
    top, procs = build(params, pre, post, weight)
    cfg = Loihi2SimCfg(select_tag="fixed_pt")
    top.run(condition=RunSteps(num_steps=1), run_cfg=cfg)
    for proc in procs:
        want = EXPECTED_MODELS[type(proc)]
        got = proc.model_class.__name__
        assert got == want, f"{proc.name}: got model {got}, want {want}"
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    top.run(condition=RunSteps(num_steps=steps), run_cfg=cfg)
    run_s = time.perf_counter() - start
    top.stop()
    peak = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    print(
        json.dumps(
            {
                "simulator": "lava",
                "net": args.net,
                "steps": steps,
                "threads": 1,
                "run_s": run_s,
                "build_s": build_s,
                "peak_rss_kb": peak,
            }
        )
    )


if __name__ == "__main__":
    main()
