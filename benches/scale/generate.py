#!/usr/bin/env python3
"""Writes a large network description for the compiler's scale figures.

The network is a ring of populations of 1,000 LIF neurons; each population
connects to itself and to the next one with fixed probability, so every
neuron has about `--synapses-per-neuron` targets and connectivity stays local
enough for real cores (few distinct sources per core).

    python3 benches/scale/generate.py --neurons 1000000 --synapses-per-neuron 100 > /tmp/net.toml
"""

import argparse
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=1_000_000)
    parser.add_argument("--synapses-per-neuron", type=int, default=100)
    parser.add_argument("--population-size", type=int, default=1000)
    args = parser.parse_args()

    size = args.population_size
    count = max(1, args.neurons // size)
    # Half the synapses inside the population, half to the next one.
    p = args.synapses_per_neuron / (2 * size)
    out = sys.stdout
    out.write(f'name = "ring-{count * size}-{args.synapses_per_neuron}"\n')
    out.write("steps = 10\n\n")
    for i in range(count):
        out.write(
            f'[[populations]]\nname = "p{i}"\nsize = {size}\nmodel = "lif"\n'
            f"du = 410\ndv = 205\nvth = 120\nbias_mant = {60 + i % 7}\n\n"
        )
    for i in range(count):
        nxt = (i + 1) % count
        for target, seed, weight in ((i, 2 * i, 40), (nxt, 2 * i + 1, -25)):
            out.write(
                f'[[projections]]\nfrom = "p{i}"\nto = "p{target}"\n'
                f"fixed_probability = {{ p = {p}, weight = {weight}, seed = {seed} }}\n\n"
            )


if __name__ == "__main__":
    main()
