#!/usr/bin/env python3
"""On-chip learning over Neurite's board protocol, from proto/neurite/v1 alone.

Loads a learning network on a board daemon, streams its explicit input
spikes with the host's neuromodulator values (InputFrame.neuromodulators),
probes the learning projection's weights and traces live (Probes with a
`projection`), reads the learned state back (GetLearned) and checks it
against the weights `neurite run --neuromodulator … --probe-weights …`
recorded in-process; then writes weights back with SetState and checks the
refusals of bad writes.

    learning_client.py --stubs DIR ADDR PROGRAM.nprog NET.toml VALUES.csv WEIGHTS.csv

VALUES.csv holds the neuromodulator's value per step (one integer per line,
# comments skipped), WEIGHTS.csv is `neurite run --out`'s <PROJ>_weights.csv.
Uses board_client.py's stubs loader, spike encoding and checks.

Exit status: 0 when every check passed, 1 when one failed, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading

import grpc

import board_client as bc

CALL_TIMEOUT_S = bc.CALL_TIMEOUT_S
METADATA = bc.METADATA
# Probed variables of the projection, as (name, enum value name).
PROBED = (("weight", "VARIABLE_WEIGHT"), ("x1", "VARIABLE_X1"), ("y1", "VARIABLE_Y1"))


def read_values(path: str) -> list[int]:
    with open(path) as f:
        return [int(line) for line in (l.strip() for l in f) if line and not line.startswith("#")]


def read_weights(path: str) -> tuple[list[tuple[int, int]], list[list[int]]]:
    """The synapses (pre, post) of a weights CSV and its rows of weights."""
    with open(path) as f:
        lines = [l.strip() for l in f if l.strip()]
    header = lines[0].split(",")
    synapses = [tuple(int(x) for x in column.split("->")) for column in header[1:]]
    rows = [[int(x) for x in line.split(",")[1:]] for line in lines[1:]]
    return synapses, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("address", help="the daemon, HOST:PORT")
    parser.add_argument("program", help="a Program written by `neurite compile`")
    parser.add_argument("description", help="the description it was compiled from (TOML)")
    parser.add_argument("values", help="the neuromodulator's value per step")
    parser.add_argument("weights", help="<PROJ>_weights.csv of `neurite run --out`")
    parser.add_argument("--projection", default="plastic")
    parser.add_argument("--neuromodulator", default="dopamine")
    parser.add_argument("--stubs", default=os.environ.get("NEURITE_PY_STUBS"))
    args = parser.parse_args()
    if not args.stubs:
        parser.error("no stubs: give --stubs DIR or set NEURITE_PY_STUBS")
    bc.load_stubs(args.stubs)
    checks = bc.Checks()
    try:
        run(args, checks)
    except bc.Fatal as e:
        checks.failed.append("fatal")
        print(f"FAIL: {e}", file=sys.stderr)
    except grpc.RpcError as e:
        checks.failed.append("rpc")
        print(f"FAIL: unexpected gRPC error {e.code().name}: {e.details()}", file=sys.stderr)
    print(f"learning-client: {checks.passed} passed, {len(checks.failed)} failed")
    if checks.failed:
        print(f"failed: {', '.join(checks.failed)}", file=sys.stderr)
        return 1
    return 0


def run(args: argparse.Namespace, checks: bc.Checks) -> None:
    pb2 = bc.pb2
    values = read_values(args.values)
    synapses, rows = read_weights(args.weights)
    steps = len(rows)
    if steps == 0:
        raise bc.Fatal(f"{args.weights} holds no step")
    populations, inputs = bc.read_description(args.description, steps)
    with open(args.program, "rb") as f:
        program = f.read()
    channel = grpc.insecure_channel(args.address)
    try:
        grpc.channel_ready_future(channel).result(timeout=CALL_TIMEOUT_S)
    except grpc.FutureTimeoutError:
        raise bc.Fatal(f"no board answers at {args.address}")
    board = bc.pb2_grpc.BoardStub(channel)
    call = dict(metadata=METADATA, timeout=CALL_TIMEOUT_S)
    projection = args.projection

    bc.section(f"learning: {steps} steps of '{projection}' with '{args.neuromodulator}' from the host")
    loaded = board.LoadProgram(bc.program_chunks(program, 4096), **call)
    ports = {p.name: p.channels for p in loaded.inputs}
    before = board.GetLearned(pb2.GetLearnedRequest(projection=projection), **call)
    checks.equal("GetLearned before running: the synapses of the weights CSV",
                 list(zip(before.pre, before.post)), synapses)
    initial = list(before.weights)

    # Probes of the weights and two traces, read on a thread as they come.
    probes = board.Probes(pb2.ProbesRequest(probes=[
        pb2.ProbeSpec(projection=projection, variable=getattr(pb2, enum)) for _, enum in PROBED
    ]), metadata=METADATA)
    probed: dict[str, list[tuple[int, list[int]]]] = {name: [] for name, _ in PROBED}
    names = {getattr(pb2, enum): name for name, enum in PROBED}
    wanted = steps * len(PROBED)
    bad_records: list[str] = []

    def read_probes() -> None:
        got = 0
        try:
            for record in probes:
                if record.projection != projection or record.population:
                    bad_records.append(f"step {record.step}: projection '{record.projection}', "
                                       f"population '{record.population}'")
                probed.setdefault(names.get(record.variable, "?"), []).append(
                    (record.step, list(record.values)))
                got += 1
                if got == wanted:
                    return
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                bad_records.append(f"Probes failed: {e.code().name}: {e.details()}")

    # The headers come once the board has subscribed: no step is missed.
    probes.initial_metadata()
    reader = threading.Thread(target=read_probes, daemon=True)
    reader.start()

    frames = bc.FrameQueue()
    frames.put(pb2.InputFrame(config=pb2.StreamConfig(mode=pb2.STREAM_MODE_STEP_LOCKED, steps=steps)))
    for t in range(1, steps + 1):
        frame = pb2.InputFrame(step=t, sequence=t)
        for port, per_step in inputs.items():
            if per_step[t - 1]:
                frame.inputs.append(pb2.PortSpikes(
                    port=port, spikes=bc.encode(per_step[t - 1], ports.get(port, 0), "smaller")))
        if t <= len(values) and values[t - 1]:
            frame.neuromodulators.append(
                pb2.Neuromodulation(name=args.neuromodulator, value=values[t - 1]))
        frames.put(frame)
    frames.close()
    outputs = list(board.StreamSpikes(iter(frames), metadata=METADATA, timeout=bc.STREAM_TIMEOUT_S))
    checks.equal("StreamSpikes: one output frame per step", [o.step for o in outputs],
                 list(range(1, steps + 1)))
    reader.join(timeout=CALL_TIMEOUT_S)
    probes.cancel()
    checks.check("Probes: every record names the projection", not bad_records, "; ".join(bad_records[:3]))

    weights = probed["weight"]
    checks.equal("Probes: a weight record per step", [s for s, _ in weights], list(range(1, steps + 1)))
    first_bad = next((t for t in range(min(len(weights), steps)) if weights[t][1] != rows[t]), None)
    checks.check("Probes: the weights of every step equal `neurite run --probe-weights`",
                 first_bad is None and len(weights) == steps,
                 "" if first_bad is None else
                 f"first difference at step {first_bad + 1}: {weights[first_bad][1]} against {rows[first_bad]}")
    n_pre = len({p for p, _ in synapses})
    n_post = len({q for _, q in synapses})
    checks.check("Probes: x1 has a value per pre neuron and moves",
                 all(len(v) == n_pre for _, v in probed["x1"]) and any(any(v) for _, v in probed["x1"]),
                 f"{probed['x1'][:2]}")
    checks.check("Probes: y1 has a value per post neuron",
                 len(probed["y1"]) == steps and all(len(v) == n_post for _, v in probed["y1"]))

    after = board.GetLearned(pb2.GetLearnedRequest(projection=projection), **call)
    learned = list(after.weights)
    checks.equal("GetLearned after the run: the weights `neurite run` recorded last", learned, rows[-1])
    half = len(values) // 2
    peak = rows[min(half, steps) - 1]
    checks.check("weights rose while dopamine was positive",
                 sum(peak) > sum(initial), f"sum {sum(peak)} after step {half}, {sum(initial)} before")
    checks.check("and fell once it turned negative",
                 sum(learned) < sum(peak), f"sum {sum(learned)} at the end, {sum(peak)} after step {half}")
    checks.equal("GetLearned: x1 per pre neuron, y1 per post neuron",
                 (len(after.x1), len(after.y1)), (n_pre, n_post))

    bc.section("SetState and GetState of a learning projection")
    target = lambda variable, start=0, count=0: pb2.StateTarget(
        projection=projection, variable=variable, start=start, count=count)
    board.SetState(pb2.SetStateRequest(target=target(pb2.VARIABLE_WEIGHT), values=initial), **call)
    restored = board.GetState(pb2.GetStateRequest(target=target(pb2.VARIABLE_WEIGHT)), **call).values
    checks.equal("SetState restores the initial weights; GetState reads them", list(restored), initial)
    checks.equal("GetLearned agrees", list(board.GetLearned(
        pb2.GetLearnedRequest(projection=projection), **call).weights), initial)
    bad = list(initial)
    bad[1] = 300
    ok, what = bc.expect_status(lambda: board.SetState(pb2.SetStateRequest(
        target=target(pb2.VARIABLE_WEIGHT), values=bad), **call), grpc.StatusCode.INVALID_ARGUMENT)
    checks.check("SetState of a weight out of range: INVALID_ARGUMENT naming projection and synapse",
                 ok and f"learning projection '{projection}', synapse 1" in what, what)
    print(f"  board said: {what}")
    ok, what = bc.expect_status(lambda: board.SetState(pb2.SetStateRequest(
        target=target(pb2.VARIABLE_X1), values=[0]), **call), grpc.StatusCode.INVALID_ARGUMENT)
    checks.check("SetState of a trace: INVALID_ARGUMENT, read-only", ok and "read-only" in what, what)
    ok, what = bc.expect_status(lambda: board.GetLearned(
        pb2.GetLearnedRequest(projection="no-such-projection"), **call), grpc.StatusCode.INVALID_ARGUMENT)
    checks.check("GetLearned of an unknown projection: INVALID_ARGUMENT", ok, what)
    checks.equal("the refused writes changed nothing", list(board.GetLearned(
        pb2.GetLearnedRequest(projection=projection), **call).weights), initial)
    board.Release(pb2.ReleaseRequest(), **call)
    channel.close()


if __name__ == "__main__":
    sys.exit(main())
