#!/usr/bin/env bash
# Drives a board daemon with the Python client generated from
# proto/neurite/v1/board.proto alone, and checks it against `neurite run`.
#
#   tests/python/run.sh
#
# Builds `neurite` and `neurite-board` (release; a no-op when they are up to
# date) under ${CARGO_TARGET_DIR:-target}, sets up a virtualenv with grpcio
# and grpcio-tools in ${NEURITE_PY_VENV:-target/python-venv} (once), generates
# the stubs, compiles and runs tests/python/fan-out.toml, serves it on a free
# port and runs tests/python/board_client.py against the daemon, then once
# more against a doctored expectation, which must fail; then the same for
# learning: tests/python/learning_client.py streams tests/python/reward.toml
# with dopamine from tests/python/reward.csv and checks the weights against
# `neurite run --neuromodulator ... --probe-weights ...`. Ends the daemon with
# SIGTERM and checks that it exits cleanly. Needs Python 3.11 or later
# (python3, or $PYTHON) and PyPI.
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON="${PYTHON:-python3}"
TARGET="${CARGO_TARGET_DIR:-target}"
BIN="$TARGET/release"
VENV="${NEURITE_PY_VENV:-target/python-venv}"
NET=tests/python/fan-out.toml
STEPS=100
started=$SECONDS

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "error: $PYTHON is $("$PYTHON" --version 2>&1); the client needs 3.11 or later (tomllib)" >&2
    exit 1
}

echo "building neurite and neurite-board (release)"
cargo build --release --quiet -p neurite -p neurite-firmware-sim --bins

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating a virtualenv in $VENV"
    "$PYTHON" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import grpc, grpc_tools' 2>/dev/null; then
    echo "installing grpcio and grpcio-tools"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        'grpcio>=1.60,<2' 'grpcio-tools>=1.60,<2'
fi
PY="$VENV/bin/python"

work=$(mktemp -d)
daemon=""
# Sends SIGTERM and waits up to 10 s; returns the daemon's exit status, or
# 124 when it had to be killed.
stop_daemon() {
    local pid=$daemon status=0
    daemon=""
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        return 124
    fi
    wait "$pid" || status=$?
    return "$status"
}
trap 'stop_daemon || true; rm -rf "$work"' EXIT

stubs="$work/stubs"
mkdir -p "$stubs"
"$PY" -m grpc_tools.protoc -I proto --python_out="$stubs" --grpc_python_out="$stubs" \
    proto/neurite/v1/board.proto
touch "$stubs/neurite/__init__.py" "$stubs/neurite/v1/__init__.py"

"$BIN/neurite" compile "$NET" -o "$work/net.nprog" >/dev/null
"$BIN/neurite" run "$NET" --json --steps "$STEPS" >"$work/expected.json"

"$BIN/neurite-board" --addr 127.0.0.1:0 >"$work/daemon.out" 2>"$work/daemon.err" &
daemon=$!
addr=""
for _ in $(seq 300); do
    addr=$(sed -n 's/^neurite-board listening on //p' "$work/daemon.out")
    [ -n "$addr" ] && break
    kill -0 "$daemon" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$addr" ]; then
    echo "error: neurite-board did not start listening" >&2
    cat "$work/daemon.err" >&2
    exit 1
fi
echo "neurite-board listening on $addr"

client() {
    "$PY" tests/python/board_client.py --stubs "$stubs" --steps "$STEPS" "$addr" \
        "$work/net.nprog" "$NET" "$@"
}

status=0
client "$work/expected.json" --require-both-encodings || status=$?
if [ "$status" -ne 0 ]; then
    echo "error: the client disagrees with the board (exit $status); daemon log:" >&2
    tail -n 40 "$work/daemon.err" >&2
    exit 1
fi

# The comparison must be able to fail: drop one spike from the expectation.
step=$("$PY" - "$NET" "$work/expected.json" "$work/doctored.json" <<'EOF'
import json, sys, tomllib
net = tomllib.load(open(sys.argv[1], "rb"))
doc = json.load(open(sys.argv[2]))
lif = [p["name"] for p in net["populations"] if p.get("model") == "lif"]
for name in lif:
    rows = doc["populations"].get(name, {}).get("spikes", [])
    for t, row in enumerate(rows):
        if row:
            row.pop()
            json.dump(doc, open(sys.argv[3], "w"))
            print(t + 1)
            sys.exit(0)
sys.exit("no spike to drop")
EOF
)
echo "a doctored expectation (one spike fewer at step $step) must fail"
status=0
client "$work/doctored.json" >"$work/doctored.log" 2>&1 || status=$?
if [ "$status" -ne 1 ] || ! grep -q "first difference at step $step:" "$work/doctored.log"; then
    echo "error: the client did not catch a missing spike at step $step (exit $status):" >&2
    cat "$work/doctored.log" >&2
    exit 1
fi
grep "first difference" "$work/doctored.log" | sed 's/^ *FAIL  /  caught as it should be: /'

# Learning: the host streams dopamine, probes weights and traces, reads the
# learned weights back and writes them; `neurite run` records the same
# run's weights in-process.
LNET=tests/python/reward.toml
LVALUES=tests/python/reward.csv
"$BIN/neurite" compile "$LNET" -o "$work/reward.nprog" >/dev/null
"$BIN/neurite" run "$LNET" --neuromodulator "dopamine=$LVALUES" --probe-weights plastic \
    --out "$work/reward" >/dev/null
learning_client() {
    "$PY" tests/python/learning_client.py --stubs "$stubs" "$addr" "$work/reward.nprog" \
        "$LNET" "$LVALUES" "$@"
}
status=0
learning_client "$work/reward/plastic_weights.csv" || status=$?
if [ "$status" -ne 0 ]; then
    echo "error: the learning client disagrees with the board (exit $status); daemon log:" >&2
    tail -n 40 "$work/daemon.err" >&2
    exit 1
fi
# This comparison must be able to fail too: one weight off at the last step.
"$PY" - "$work/reward/plastic_weights.csv" "$work/doctored_weights.csv" <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines()
cells = lines[-1].split(",")
cells[1] = str(int(cells[1]) + 1)
lines[-1] = ",".join(cells)
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
EOF
echo "a doctored weight record (one weight off at the last step) must fail"
status=0
learning_client "$work/doctored_weights.csv" >"$work/doctored_learning.log" 2>&1 || status=$?
if [ "$status" -ne 1 ] || ! grep -q "first difference at step" "$work/doctored_learning.log"; then
    echo "error: the learning client did not catch a wrong weight (exit $status):" >&2
    cat "$work/doctored_learning.log" >&2
    exit 1
fi
grep "first difference" "$work/doctored_learning.log" | sed 's/^ *FAIL  /  caught as it should be: /'

status=0
stop_daemon || status=$?
if [ "$status" -ne 0 ]; then
    echo "error: neurite-board did not exit cleanly on SIGTERM (status $status); its log:" >&2
    tail -n 20 "$work/daemon.err" >&2
    exit 1
fi
echo "neurite-board stopped cleanly on SIGTERM"
echo "python board client: passed in $((SECONDS - started)) s"
