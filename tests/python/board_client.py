#!/usr/bin/env python3
"""A client of Neurite's board daemon written from proto/neurite/v1 alone.

It drives a board the way a host application in another language would:
uploads a compiled Program in chunks, streams a description's input spikes
step-locked, decodes every output frame and checks the board against the
JSON document of `neurite run --json` for the same description, step by
step and spike by spike. It also checks GetInfo, GetState, GetEnergy,
Release, the health service, and that corrupt or truncated uploads are
refused without touching the board.

    board_client.py --stubs DIR ADDR PROGRAM.nprog NET.toml EXPECTED.json

DIR holds the stubs generated from the proto (`neurite/v1/board_pb2.py`
and `board_pb2_grpc.py`); it can also come from NEURITE_PY_STUBS. Needs
Python 3.11 or later (tomllib) and grpcio, nothing else.

Exit status: 0 when every check passed, 1 when one failed (or the board
could not be reached), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import time
import tomllib
import zlib
from collections import defaultdict
from typing import Any, Iterator

import grpc

CLIENT_NAME = "python-board-client"
METADATA = (("x-neurite-client", CLIENT_NAME),)
# Every call gets a deadline: a board that stops answering fails the run
# instead of hanging it.
CALL_TIMEOUT_S = 30.0
STREAM_TIMEOUT_S = 120.0

pb2: Any = None
pb2_grpc: Any = None


def load_stubs(directory: str) -> None:
    """Imports neurite.v1.board_pb2(_grpc) from `directory`."""
    global pb2, pb2_grpc
    sys.path.insert(0, os.path.abspath(directory))
    try:
        from neurite.v1 import board_pb2, board_pb2_grpc  # type: ignore
    except ImportError as e:
        sys.exit(f"error: no stubs for neurite.v1 under {directory}: {e}")
    pb2, pb2_grpc = board_pb2, board_pb2_grpc


# ---------------------------------------------------------------- checks


class Fatal(Exception):
    """A failure after which the remaining checks make no sense."""


class Checks:
    """Named checks; a failed one is reported and counted, and the run goes
    on where it can."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed: list[str] = []

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"  ok    {name}")
        else:
            self.failed.append(name)
            print(f"  FAIL  {name}" + (f": {detail}" if detail else ""), flush=True)
        return ok

    def equal(self, name: str, got: Any, expected: Any) -> bool:
        return self.check(name, got == expected, f"got {got!r}, expected {expected!r}")


def section(title: str) -> None:
    print(f"-- {title}", flush=True)


# ------------------------------------------------------------ spike sets


def varint_len(value: int) -> int:
    """Bytes of a protobuf varint holding `value`."""
    n = 1
    while value >= 0x80:
        value >>= 7
        n += 1
    return n


def to_gaps(indices: list[int]) -> list[int]:
    """Sorted, distinct indices as gaps: the first index itself, then each
    index minus the previous one, minus one."""
    gaps = []
    previous = -1
    for i in indices:
        gaps.append(i - previous - 1)
        previous = i
    return gaps


def encode_gaps(indices: list[int], size: int) -> Any:
    spikes = pb2.SpikeSet(size=size)
    # Set the oneof even for an empty list, so the encoding is explicit.
    spikes.gaps.SetInParent()
    spikes.gaps.gaps.extend(to_gaps(indices))
    return spikes


def encode_bitmap(indices: list[int], size: int) -> Any:
    bitmap = bytearray((size + 7) // 8)
    for i in indices:
        bitmap[i // 8] |= 1 << (i % 8)
    return pb2.SpikeSet(size=size, bitmap=bytes(bitmap))


def gaps_bytes(indices: list[int]) -> int:
    return sum(varint_len(g) for g in to_gaps(indices))


def bitmap_bytes(size: int) -> int:
    return (size + 7) // 8


def encode(indices: list[int], size: int, how: str) -> Any:
    """Encodes sorted, distinct indices out of `size`: `smaller` picks the
    encoding with fewer bytes (gaps on a tie), `gaps` and `bitmap` force one."""
    if how == "gaps" or (how == "smaller" and gaps_bytes(indices) <= bitmap_bytes(size)):
        return encode_gaps(indices, size)
    return encode_bitmap(indices, size)


def decode(spikes: Any, whose: str) -> list[int]:
    """Decodes a SpikeSet into sorted, distinct indices; raises ValueError
    when it breaks the protocol's rules."""
    size = spikes.size
    which = spikes.WhichOneof("encoding")
    if which is None:
        return []
    out: list[int] = []
    if which == "gaps":
        index = -1
        for gap in spikes.gaps.gaps:
            index = index + 1 + gap
            if index >= size:
                raise ValueError(f"{whose}: gap encoding reaches index {index} of {size}")
            out.append(index)
        return out
    bitmap = spikes.bitmap
    if len(bitmap) != bitmap_bytes(size):
        raise ValueError(f"{whose}: bitmap of {len(bitmap)} bytes for size {size}")
    for byte_index, byte in enumerate(bitmap):
        for bit in range(8):
            if byte >> bit & 1:
                index = byte_index * 8 + bit
                if index >= size:
                    raise ValueError(f"{whose}: bitmap bit {index} set beyond size {size}")
                out.append(index)
    return out


def self_test_codecs() -> None:
    """Both encoders against the decoder, and against the proto's worked
    rules, before any of them meets the board."""
    cases = [([], 10), ([0], 1), ([3, 900], 1000), (list(range(0, 1000, 2)), 1000),
             ([7, 8, 15, 16, 63], 64), (list(range(64)), 64), ([129], 130)]
    for indices, size in cases:
        for how in ("gaps", "bitmap", "smaller"):
            got = decode(encode(indices, size, how), "self-test")
            assert got == indices, (how, indices, size, got)
    assert to_gaps([3, 4, 10]) == [3, 0, 5]
    assert encode_bitmap([0, 9], 10).bitmap == bytes([0b1, 0b10])
    assert encode([3, 900], 1000, "smaller").WhichOneof("encoding") == "gaps"
    assert encode(list(range(0, 1000, 2)), 1000, "smaller").WhichOneof("encoding") == "bitmap"


# ------------------------------------------------------------ description


def read_description(path: str, steps: int) -> tuple[dict, dict[str, list[list[int]]]]:
    """The description's populations by name, and the spikes of each input
    population per step (index 0 is step 1) from its explicit lists."""
    with open(path, "rb") as f:
        net = tomllib.load(f)
    populations = {p["name"]: p for p in net.get("populations", [])}
    per_step: dict[str, list[set[int]]] = {}
    for number, entry in enumerate(net.get("inputs", []), start=1):
        name = entry.get("population")
        population = populations.get(name)
        if population is None or population.get("model") != "input":
            raise Fatal(f"{path}: [[inputs]] #{number} names '{name}', not an input population")
        if "spikes" not in entry:
            kind = next((k for k in ("csv", "poisson", "periodic") if k in entry), "?")
            raise Fatal(f"{path}: [[inputs]] #{number} for '{name}' is {kind}; "
                        "this client sends explicit `spikes` lists only")
        sets = per_step.setdefault(name, [set() for _ in range(steps)])
        for pair in entry["spikes"]:
            step, channel = pair
            if not 0 <= channel < population["size"]:
                raise Fatal(f"{path}: '{name}' has no channel {channel}")
            if 1 <= step <= steps:
                sets[step - 1].add(channel)
    # Input populations with no [[inputs]] entry stay silent.
    for name, population in populations.items():
        if population.get("model") == "input":
            per_step.setdefault(name, [set() for _ in range(steps)])
    inputs = {name: [sorted(s) for s in sets] for name, sets in per_step.items()}
    return populations, inputs


# ------------------------------------------------------------------ calls


def health_serving(channel: grpc.Channel, service: str) -> int:
    """grpc.health.v1.Health/Check without its generated stubs: the request
    is field 1 (service, a string), the reply field 1 (status, an enum)."""
    name = service.encode()
    request = b"\x0a" + bytes([len(name)]) + name
    check = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=lambda b: b,
        response_deserializer=lambda b: b,
    )
    reply = check(request, timeout=CALL_TIMEOUT_S)
    if len(reply) >= 2 and reply[0] == 0x08:
        return reply[1]
    return 0  # UNKNOWN: the field is absent


def program_chunks(data: bytes, chunk_size: int, corrupt_chunk: int | None = None,
                   drop_last: bool = False) -> Iterator[Any]:
    """ProgramChunks of `data`; the first carries the total size and the
    CRC-32 of the whole. `corrupt_chunk` flips one byte of that chunk after
    the checksum was taken; `drop_last` leaves the final chunk out."""
    crc = zlib.crc32(data) & 0xFFFFFFFF
    offsets = list(range(0, len(data), chunk_size)) or [0]
    if drop_last:
        offsets = offsets[:-1]
    for number, offset in enumerate(offsets):
        piece = data[offset:offset + chunk_size]
        if number == corrupt_chunk:
            flipped = bytearray(piece)
            flipped[len(flipped) // 2] ^= 0xFF
            piece = bytes(flipped)
        yield pb2.ProgramChunk(
            total_size=len(data) if number == 0 else 0,
            crc32=crc if number == 0 else 0,
            offset=offset,
            data=piece,
        )


def state_name(value: int) -> str:
    return pb2.BoardState.Name(value) if value in pb2.BoardState.values() else str(value)


def expect_status(call, code: grpc.StatusCode) -> tuple[bool, str]:
    """Runs `call`; whether it failed with `code`, and what happened."""
    try:
        call()
    except grpc.RpcError as e:
        return e.code() == code, f"{e.code().name}: {e.details()}"
    return False, "the call succeeded"


def energy_total(energy: Any) -> float:
    return (energy.neurons + energy.synapses + energy.messages + energy.mesh
            + energy.links + energy.barrier + energy.static_power)


def describe_difference(got: list[int], expected: list[int]) -> str:
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    short = lambda xs: (str(xs[:12])[:-1] + ", …]") if len(xs) > 12 else str(xs)
    return (f"{len(got)} spikes, expected {len(expected)}; "
            f"missing {short(missing)}, unexpected {short(extra)}")


class FrameQueue:
    """The request side of a bidirectional call, fed one frame at a time so
    the client can stay in lock-step with the board."""

    _END = object()

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue()

    def put(self, frame: Any) -> None:
        self._queue.put(frame)

    def close(self) -> None:
        self._queue.put(self._END)

    def __iter__(self) -> Iterator[Any]:
        while True:
            frame = self._queue.get()
            if frame is self._END:
                return
            yield frame


# ------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("address", help="the daemon, HOST:PORT")
    parser.add_argument("program", help="a Program written by `neurite compile`")
    parser.add_argument("description", help="the description it was compiled from (TOML)")
    parser.add_argument("expected", help="`neurite run DESCRIPTION --json --steps N` output")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--stubs", default=os.environ.get("NEURITE_PY_STUBS"),
                        help="directory of the generated stubs (default: $NEURITE_PY_STUBS)")
    parser.add_argument("--chunk-size", type=int, default=4096,
                        help="bytes per ProgramChunk (default: 4096)")
    parser.add_argument("--encoding", choices=("smaller", "gaps", "bitmap"), default="smaller",
                        help="how input spikes travel (default: whichever is smaller)")
    parser.add_argument("--require-both-encodings", action="store_true",
                        help="fail unless gaps and bitmaps both travel in each direction")
    args = parser.parse_args()
    if not args.stubs:
        parser.error("no stubs: give --stubs DIR or set NEURITE_PY_STUBS")
    if args.steps < 1 or args.chunk_size < 1:
        parser.error("--steps and --chunk-size must be positive")
    load_stubs(args.stubs)
    self_test_codecs()

    checks = Checks()
    try:
        run(args, checks)
    except Fatal as e:
        checks.failed.append("fatal")
        print(f"FAIL: {e}", file=sys.stderr)
    except grpc.RpcError as e:
        checks.failed.append("rpc")
        print(f"FAIL: unexpected gRPC error {e.code().name}: {e.details()}", file=sys.stderr)
    print(f"board-client: {checks.passed} passed, {len(checks.failed)} failed")
    if checks.failed:
        print(f"failed: {', '.join(checks.failed)}", file=sys.stderr)
        return 1
    return 0


def run(args: argparse.Namespace, checks: Checks) -> None:
    steps = args.steps
    with open(args.expected) as f:
        expected = json.load(f)
    with open(args.program, "rb") as f:
        program = f.read()
    populations, inputs = read_description(args.description, steps)
    if expected.get("steps") != steps:
        raise Fatal(f"{args.expected} has {expected.get('steps')} steps, not {steps}")
    probed = expected.get("populations", {})
    lif = [n for n, p in populations.items() if p.get("model") == "lif"]
    compared = [n for n in lif if "spikes" in probed.get(n, {})]
    if not compared:
        raise Fatal(f"{args.expected} probes the spikes of no LIF population")
    for name in compared:
        rows = probed[name]["spikes"]
        size = populations[name]["size"]
        if len(rows) != steps or any(not 0 <= i < size for row in rows for i in row):
            raise Fatal(f"{args.expected}: the spikes of '{name}' do not fit {steps} steps "
                        f"of {size} neurons; is it the output of {args.description}?")

    channel = grpc.insecure_channel(args.address)
    try:
        grpc.channel_ready_future(channel).result(timeout=CALL_TIMEOUT_S)
    except grpc.FutureTimeoutError:
        raise Fatal(f"no board answers at {args.address}")
    board = pb2_grpc.BoardStub(channel)
    call = dict(metadata=METADATA, timeout=CALL_TIMEOUT_S)

    section("health and info")
    checks.equal("health: neurite.v1.Board is SERVING", health_serving(channel, "neurite.v1.Board"), 1)
    info = board.GetInfo(pb2.GetInfoRequest(), **call)
    print(f"  board: chip {info.chip}, daemon {info.daemon_version}, {info.cores} cores, "
          f"state {state_name(info.state)}, capabilities {list(info.capabilities)}")
    checks.check("GetInfo names a chip and a daemon version", bool(info.chip and info.daemon_version))
    checks.check("GetInfo: step-locked streaming is a capability", "step-locked" in info.capabilities,
                 f"capabilities {list(info.capabilities)}")
    checks.check("GetInfo: a message limit above the chunk size",
                 info.max_message_bytes > args.chunk_size, f"{info.max_message_bytes} bytes")

    section(f"LoadProgram: {len(program)} bytes in chunks of {args.chunk_size}")
    chunk_count = max(1, -(-len(program) // args.chunk_size))
    loaded = board.LoadProgram(program_chunks(program, args.chunk_size), **call)
    print(f"  program {loaded.program_id}: {loaded.cores} cores, {loaded.neurons} neurons, "
          f"{loaded.synapses} synapses, {chunk_count} chunks")
    ports = {p.name: p.channels for p in loaded.inputs}
    pops = {p.name: p for p in loaded.populations}
    expected_ports = {n: p["size"] for n, p in populations.items() if p.get("model") == "input"}
    matches = checks.equal("LoadProgram: input ports and widths match the description",
                           ports, expected_ports)
    matches &= checks.equal("LoadProgram: LIF populations and sizes match the description",
                            {n: pops[n].neurons for n in lif if n in pops},
                            {n: populations[n]["size"] for n in lif})
    if not matches:
        raise Fatal(f"{args.program} is not compiled from {args.description}")
    checks.equal("LoadProgram: neurons add up",
                 loaded.neurons, sum(populations[n]["size"] for n in lif))
    checks.check("LoadProgram: the probed LIF populations report spikes",
                 all(n in pops and pops[n].reports_spikes for n in compared),
                 f"reporting: {[n for n, p in pops.items() if p.reports_spikes]}")
    info = board.GetInfo(pb2.GetInfoRequest(), **call)
    checks.equal("GetInfo after loading: state", state_name(info.state), "BOARD_STATE_LOADED")
    checks.equal("GetInfo after loading: program id", info.program_id, loaded.program_id)
    checks.equal("GetInfo after loading: step", info.step, 0)
    checks.equal("GetInfo after loading: lease holder", info.lease_holder, CLIENT_NAME)

    section("GetState before running")
    first = compared[0]
    v0 = board.GetState(pb2.GetStateRequest(target=pb2.StateTarget(
        population=first, variable=pb2.VARIABLE_V)), **call).values
    checks.equal(f"GetState {first}.v: one value per neuron", len(v0), populations[first]["size"])
    if "v_init" not in populations[first]:
        checks.check(f"GetState {first}.v: all zero before the first step",
                     not any(v0), f"nonzero values at {[i for i, v in enumerate(v0) if v][:10]}")
    start = min(1, len(v0) - 1)
    count = min(3, len(v0) - start)
    part = board.GetState(pb2.GetStateRequest(target=pb2.StateTarget(
        population=first, variable=pb2.VARIABLE_V, start=start, count=count)), **call).values
    checks.equal(f"GetState {first}.v[{start}..{start + count}]: a range",
                 list(part), list(v0[start:start + count]))
    ok, what = expect_status(lambda: board.GetState(pb2.GetStateRequest(target=pb2.StateTarget(
        population="no-such-population", variable=pb2.VARIABLE_V)), **call),
        grpc.StatusCode.INVALID_ARGUMENT)
    checks.check("GetState of an unknown population: INVALID_ARGUMENT", ok, what)

    section(f"StreamSpikes: {steps} steps, step-locked")
    reporting = sorted(n for n, p in pops.items() if p.reports_spikes)
    widths = {n: p.neurons for n, p in pops.items()}
    got, sent, received, mid = stream(board, args, steps, inputs, ports, widths, reporting, checks)
    print(f"  input frames by encoding: {dict(sent)}; output spike sets by encoding: {dict(received)}")
    if args.require_both_encodings:
        checks.check("input spikes travelled as gaps and as bitmaps",
                     sent["gaps"] > 0 and sent["bitmap"] > 0, str(dict(sent)))
        checks.check("output spikes came as gaps and as bitmaps",
                     received["gaps"] > 0 and received["bitmap"] > 0, str(dict(received)))
    for name, (state, holder, get_state) in mid.items():
        checks.equal(f"GetInfo while streaming (after step {name}): state", state, "BOARD_STATE_RUNNING")
        checks.equal(f"GetInfo while streaming (after step {name}): lease holder", holder, CLIENT_NAME)
        checks.check(f"GetState while streaming (after step {name}): FAILED_PRECONDITION",
                     get_state[0], get_state[1])

    section("spikes against `neurite run --json`")
    for name in compared:
        want = probed[name]["spikes"]
        have = got.get(name, [])
        first_bad = next((t for t in range(steps)
                          if t >= len(have) or t >= len(want) or have[t] != want[t]), None)
        total = sum(len(s) for s in want)
        if first_bad is None:
            checks.check(f"{name}: {total} spikes over {steps} steps, every step equal", True)
        else:
            have_t = have[first_bad] if first_bad < len(have) else []
            want_t = want[first_bad] if first_bad < len(want) else []
            checks.check(f"{name}: every step equal", False,
                         f"first difference at step {first_bad + 1}: "
                         f"{describe_difference(have_t, want_t)}")
    for name, rows in inputs.items():
        if "spikes" in probed.get(name, {}):
            checks.equal(f"{name}: the spikes sent are those `neurite run` fed",
                         rows, probed[name]["spikes"])

    section("after the stream")
    info = board.GetInfo(pb2.GetInfoRequest(), **call)
    checks.equal("GetInfo: step", info.step, steps)
    checks.equal("GetInfo: the lease ended with the stream", info.lease_holder, "")
    checks.check("GetInfo: not running", state_name(info.state) in
                 ("BOARD_STATE_PAUSED", "BOARD_STATE_LOADED"), state_name(info.state))
    for name in compared:
        counts = board.GetState(pb2.GetStateRequest(target=pb2.StateTarget(
            population=name, variable=pb2.VARIABLE_SPIKE_COUNT)), **call).values
        per_neuron = [0] * populations[name]["size"]
        for row in probed[name]["spikes"]:
            for i in row:
                per_neuron[i] += 1
        checks.check(f"GetState {name}.spike_count: per neuron, as in the JSON",
                     list(counts) == per_neuron,
                     f"{sum(counts)} spikes in all, expected {sum(per_neuron)}")
    for name in compared:
        rows = probed[name].get("v")
        if rows:
            v = board.GetState(pb2.GetStateRequest(target=pb2.StateTarget(
                population=name, variable=pb2.VARIABLE_V)), **call).values
            checks.equal(f"GetState {name}.v after step {steps}: as in the JSON", list(v), rows[-1])

    section("GetEnergy")
    energy = board.GetEnergy(pb2.GetEnergyRequest(), **call)
    totals = energy.totals
    print(f"  {energy.chip}: {totals.steps} steps, {totals.time_ns:.0f} ns, "
          f"{energy_total(totals.energy):.0f} pJ, {totals.counts.spikes} spikes "
          f"({'estimated' if energy.estimated else 'measured'} costs: {energy.costs})")
    checks.equal("GetEnergy: totals.steps", totals.steps, steps)
    checks.check("GetEnergy: energy > 0", energy_total(totals.energy) > 0)
    checks.check("GetEnergy: time > 0", totals.time_ns > 0)
    checks.equal("GetEnergy: one record per core", len(energy.cores), loaded.cores)
    if compared == lif:
        want_spikes = sum(len(s) for n in lif for s in probed[n]["spikes"])
        checks.equal("GetEnergy: totals.counts.spikes = every LIF spike", totals.counts.spikes,
                     want_spikes)
    records = []
    while len(records) < steps:
        page = board.GetEnergy(pb2.GetEnergyRequest(
            include_steps=True, first_step=(records[-1].step + 1) if records else 1,
            max_steps=40), **call)
        if not page.step_records:
            break
        records.extend(page.step_records)
    checks.equal("GetEnergy: step records, paged by 40", [r.step for r in records],
                 list(range(1, steps + 1)))
    if compared == lif and len(records) == steps:
        per_step = [sum(len(probed[n]["spikes"][t]) for n in lif) for t in range(steps)]
        bad = next((t for t in range(steps) if records[t].counts.spikes != per_step[t]), None)
        checks.check("GetEnergy: each step record counts that step's spikes", bad is None,
                     f"step {bad + 1 if bad is not None else 0}: "
                     f"{records[bad].counts.spikes if bad is not None else 0} "
                     f"against {per_step[bad] if bad is not None else 0}")

    section("refused uploads leave the board as it was")
    middle = chunk_count // 2
    ok, what = expect_status(lambda: board.LoadProgram(
        program_chunks(program, args.chunk_size, corrupt_chunk=middle), **call),
        grpc.StatusCode.INVALID_ARGUMENT)
    checks.check(f"a byte flipped in chunk {middle} of {chunk_count}: INVALID_ARGUMENT", ok, what)
    print(f"  board said: {what}")
    if chunk_count > 1:
        ok, what = expect_status(lambda: board.LoadProgram(
            program_chunks(program, args.chunk_size, drop_last=True), **call),
            grpc.StatusCode.INVALID_ARGUMENT)
        checks.check("the last chunk left out: INVALID_ARGUMENT", ok, what)
    info = board.GetInfo(pb2.GetInfoRequest(), **call)
    checks.equal("GetInfo: the same program", info.program_id, loaded.program_id)
    checks.equal("GetInfo: the same step", info.step, steps)
    after = board.GetState(pb2.GetStateRequest(target=pb2.StateTarget(
        population=first, variable=pb2.VARIABLE_SPIKE_COUNT)), **call).values
    checks.equal(f"GetState {first}.spike_count: unchanged",
                 sum(after), sum(len(s) for s in probed[first]["spikes"]))

    ok, what = expect_status(lambda: board.Reset(
        pb2.ResetRequest(), metadata=(("x-neurite-client", "someone-else"),), timeout=CALL_TIMEOUT_S),
        grpc.StatusCode.FAILED_PRECONDITION)
    checks.check("Reset by another client while this one holds the lease: FAILED_PRECONDITION "
                 "naming the holder", ok and CLIENT_NAME in what, what)
    info = board.GetInfo(pb2.GetInfoRequest(), **call)
    checks.equal("GetInfo: still at the same step", info.step, steps)

    section("Release")
    status = board.Release(pb2.ReleaseRequest(), **call)
    print(f"  board: {state_name(status.state)} at step {status.step}")
    checks.equal("Release: step", status.step, steps)
    info = board.GetInfo(pb2.GetInfoRequest(), **call)
    checks.equal("GetInfo after Release: no lease holder", info.lease_holder, "")
    channel.close()


def stream(board, args, steps, inputs, ports, widths, reporting, checks):
    """Streams `steps` frames step-locked, one frame and one answer at a
    time. Returns the spikes per population and step, the encodings seen
    both ways, and what the board said of itself in the middle."""
    sent: dict[str, int] = defaultdict(int)
    received: dict[str, int] = defaultdict(int)
    got: dict[str, list[list[int]]] = {name: [] for name in reporting}
    mid: dict[int, tuple] = {}
    frames = FrameQueue()
    config = pb2.StreamConfig(mode=pb2.STREAM_MODE_STEP_LOCKED, steps=steps)
    frames.put(pb2.InputFrame(config=config, step=0, sequence=0))
    answers = board.StreamSpikes(iter(frames), metadata=METADATA, timeout=STREAM_TIMEOUT_S)
    check_at = steps // 2
    started = time.monotonic()
    bad_frames: list[str] = []
    try:
        for t in range(1, steps + 1):
            frame = pb2.InputFrame(step=t, sequence=t)
            for port, rows in inputs.items():
                spikes = rows[t - 1]
                if not spikes:
                    continue
                encoded = encode(spikes, ports.get(port, 0), args.encoding)
                sent[encoded.WhichOneof("encoding")] += 1
                frame.inputs.append(pb2.PortSpikes(port=port, spikes=encoded))
            frames.put(frame)
            try:
                answer = next(answers)
            except StopIteration:
                raise Fatal(f"the board ended the stream after {t - 1} of {steps} steps")
            if answer.step != t or answer.last_sequence != t:
                bad_frames.append(f"step {t}: output frame for step {answer.step}, "
                                  f"last sequence {answer.last_sequence}")
            names = [p.population for p in answer.populations]
            if sorted(names) != reporting:
                bad_frames.append(f"step {t}: populations {names}, expected {reporting}")
            for population in answer.populations:
                if population.HasField("spikes"):
                    if population.spikes.size != widths.get(population.population):
                        bad_frames.append(f"step {t}: {population.population} spikes out of "
                                          f"{population.spikes.size}, not "
                                          f"{widths.get(population.population)}")
                    which = population.spikes.WhichOneof("encoding")
                    received[which or "none"] += 1
                    try:
                        indices = decode(population.spikes, f"step {t}, {population.population}")
                    except ValueError as e:
                        bad_frames.append(str(e))
                        indices = []
                else:
                    received["absent"] += 1
                    indices = []
                if population.population in got:
                    got[population.population].append(indices)
            if t == check_at:
                info = board.GetInfo(pb2.GetInfoRequest(), metadata=METADATA, timeout=CALL_TIMEOUT_S)
                refused = expect_status(lambda: board.GetState(pb2.GetStateRequest(
                    target=pb2.StateTarget(population=reporting[0], variable=pb2.VARIABLE_V)),
                    metadata=METADATA, timeout=CALL_TIMEOUT_S), grpc.StatusCode.FAILED_PRECONDITION)
                mid[t] = (state_name(info.state), info.lease_holder, refused)
        frames.close()  # the host's side ends: the board has all its frames
        extra = list(answers)
        checks.check("StreamSpikes: no frames after the last step", not extra,
                     f"{len(extra)} more, the first for step {extra[0].step if extra else 0}")
    except grpc.RpcError as e:
        raise Fatal(f"StreamSpikes failed: {e.code().name}: {e.details()}")
    finally:
        frames.close()
    elapsed = time.monotonic() - started
    print(f"  {steps} steps in {elapsed:.2f} s ({steps / elapsed:.0f} steps/s, lock-step)")
    checks.check("StreamSpikes: one output frame per step, in order, every reporting population "
                 "with its width",
                 not bad_frames, "; ".join(bad_frames[:5]))
    return got, sent, received, mid


if __name__ == "__main__":
    sys.exit(main())
