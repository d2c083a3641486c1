#!/usr/bin/env python3
"""Times Neurite's emulator, Brian2 and Lava on the same networks, in turns.

Runs with any Python 3 (standard library only); Brian2 and Lava run in their
own virtual environments, given by path (see README.md for installing them).
Not run in CI.

    python3 benches/peers/compare.py --dir /tmp/peers \\
        --brian2 /work/brian2-venv/bin/python --lava /work/lava-venv/bin/python

For each network (`--nets`), the script

1. writes the network with `networks.py` (a Neurite description, and the
   same arrays for the peers) unless the files exist;
2. compiles it once for Neurite (the `emulator` bench binary with
   `NEURITE_PEER_PREPARE`, checking that the Rust generator made the same
   synapses as the Python one) and once for Brian2 (`run_brian2.py`, one C++
   project per thread count);
3. then, `--repeats` times, runs each simulator once in turn: Neurite on 1
   and 2 threads, Brian2's compiled binary, Lava (`run_lava.py`);
4. prints the median time of the simulation loop of each (loading and
   compilation left out), events and updates per second, peak memory, and
   the ratios the goals in `benches/README.md` are stated in.

Peak memory is the peak resident size of the process that runs the
simulation (`/usr/bin/time -f %M`); for Neurite it includes the Program it
loads, and `emulator MB` is the part the emulator adds.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import networks  # noqa: E402


def neurite_binary():
    """Builds the `emulator` bench binary (release) and returns its path."""
    out = subprocess.run(
        ["cargo", "bench", "--bench", "emulator", "--no-run", "--message-format=json"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in out.splitlines():
        message = json.loads(line)
        if message.get("reason") == "compiler-artifact" and message.get("target", {}).get(
            "name"
        ) == "emulator" and message.get("executable"):
            return message["executable"]
    raise SystemExit("cargo did not report the emulator bench binary")


def timed(command, env=None, cwd=None):
    """Runs a command under /usr/bin/time; returns (stdout, peak RSS in kB)."""
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%M"] + command,
        env=env,
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    peak = int(result.stderr.strip().splitlines()[-1])
    return result.stdout, peak


def last_json(text):
    return json.loads([line for line in text.splitlines() if line.startswith("{")][-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="working directory for the files")
    parser.add_argument("--nets", default="cuba-4000,cuba-40000,dense-1000")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--brian2", help="python of a venv with brian2 (skipped if absent)")
    parser.add_argument("--lava", help="python of a venv with lava-nc (skipped if absent)")
    parser.add_argument(
        "--lava-cuba",
        action="store_true",
        help="also run the CUBA networks in Lava (slow; no goal is stated for them)",
    )
    parser.add_argument("--neurite-bin", help="the emulator bench binary (default: build it)")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    nets = args.nets.split(",")
    binary = args.neurite_bin or neurite_binary()
    prepared = os.path.join(args.dir, "neurite")
    os.makedirs(prepared, exist_ok=True)

    # Files, compilation, projects.
    brian2_projects = {}
    for net in nets:
        if not os.path.exists(os.path.join(args.dir, f"{net}.arrays.json")):
            print(f"writing {net} ...", flush=True)
            networks.write(args.dir, net)
        with open(os.path.join(args.dir, f"{net}.arrays.json")) as f:
            params = json.load(f)
        env = dict(os.environ, NEURITE_PEER_NET=net, NEURITE_PEER_PREPARE=prepared)
        info = last_json(subprocess.run([binary], env=env, check=True, capture_output=True, text=True).stdout)
        fingerprint = f"{params['fingerprint']:016x}"
        if info["fingerprint"] != fingerprint:
            raise SystemExit(
                f"{net}: the Rust generator's synapses ({info['fingerprint']}) differ "
                f"from the Python generator's ({fingerprint})"
            )
        print(
            f"{net}: {info['neurons']} neurons, {info['synapses']} synapses on "
            f"{info['cores']} cores, fingerprint {fingerprint}",
            flush=True,
        )
        if args.brian2:
            for threads in (1, 2):
                out = subprocess.run(
                    [
                        args.brian2,
                        os.path.join(HERE, "run_brian2.py"),
                        "--dir",
                        args.dir,
                        "--net",
                        net,
                        "--threads",
                        str(threads),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                brian2_projects[(net, threads)] = last_json(out)
                print(f"  brian2 project ({threads} threads): {brian2_projects[(net, threads)]['spikes']} spikes", flush=True)

    # Runs, in turns.
    results = {}
    for rep in range(args.repeats):
        for net in nets:
            program = os.path.join(prepared, f"{net}.nprog")
            for threads in (1, 2):
                env = dict(os.environ, NEURITE_PEER_NET=program, NEURITE_PEER_THREADS=str(threads))
                out, peak = timed([binary], env=env)
                run = last_json(out)
                run["peak_rss_kb"] = peak
                results.setdefault(("neurite", net, threads), []).append(run)
            if args.brian2:
                for threads in (1, 2):
                    project = brian2_projects[(net, threads)]["project"]
                    results_dir = os.path.join(project, "results", "")
                    _, peak = timed(["./main", "--results_dir", results_dir], cwd=project)
                    with open(os.path.join(results_dir, "last_run_info.txt")) as f:
                        run_s = float(f.read().split()[0])
                    results.setdefault(("brian2", net, threads), []).append(
                        {"run_s": run_s, "peak_rss_kb": peak}
                    )
            if args.lava and (net.startswith("dense") or args.lava_cuba):
                out, peak = timed(
                    [args.lava, os.path.join(HERE, "run_lava.py"), "--dir", args.dir, "--net", net]
                )
                run = last_json(out)
                run["peak_rss_kb"] = peak
                results.setdefault(("lava", net, 1), []).append(run)
        print(f"round {rep + 1} of {args.repeats} done", flush=True)

    stream = last_json(
        subprocess.run(
            [binary], env=dict(os.environ, NEURITE_PEER_NET="stream"), check=True,
            capture_output=True, text=True,
        ).stdout
    )

    # Report.
    def median(key, field="run_s"):
        runs = results.get(key)
        return statistics.median(r[field] for r in runs) if runs else None

    print()
    print(
        f"{'network':<12} {'simulator':<9} {'threads':>7} {'s per sim. s':>12} "
        f"{'updates/s':>10} {'events/s':>10} {'peak MB':>8} {'emulator MB':>11}"
    )
    for net in nets:
        first = results[("neurite", net, 1)][0]
        for sim in ("neurite", "brian2", "lava"):
            for threads in (1, 2):
                key = (sim, net, threads)
                if key not in results:
                    continue
                run_s = median(key)
                steps = first["steps"]
                events = first["synaptic_ops"]
                if sim == "brian2" and net.startswith("cuba"):
                    # Its own spikes, 80 targets each.
                    events = brian2_projects[(net, threads)]["spikes"] * 80
                emulator_mb = (
                    f"{median(key, 'emulator_kb') / 1024:.1f}" if sim == "neurite" else ""
                )
                print(
                    f"{net:<12} {sim:<9} {threads:>7} {run_s * 1000 / steps:>12.4f} "
                    f"{first['neuron_updates'] / run_s:>10.3g} {events / run_s:>10.3g} "
                    f"{median(key, 'peak_rss_kb') / 1024:>8.1f} {emulator_mb:>11}"
                )
    print()
    print(
        f"memory-bound reference (one thread): {stream['sequential_per_s']:.3g} entries/s "
        f"streamed in order, {stream['rows_per_s']:.3g} in rows of 80 in random order"
    )
    print("ratios (median times; > 1: Neurite faster):")
    for net in nets:
        n1, n2 = median(("neurite", net, 1)), median(("neurite", net, 2))
        events = results[("neurite", net, 1)][0]["synaptic_ops"] / n1
        print(
            f"  {net}: Neurite 2 threads vs 1: {n1 / n2:.2f}x; events/s (1 thread) "
            f"{events:.3g}: the reference streams {stream['sequential_per_s'] / events:.1f}x that"
        )
        for sim, threads in (("brian2", 1), ("brian2", 2), ("lava", 1)):
            other = median((sim, net, threads))
            if other is not None:
                mine = n1 if threads == 1 else n2
                print(f"  {net}: {sim} ({threads} thread{'s' if threads > 1 else ''}) / Neurite: {other / mine:.1f}x")


if __name__ == "__main__":
    main()
