"""Throughput of lib.langevin and lib.mala against the random-number floor.

The floor is NumPy's own ``Generator.standard_normal`` filling a buffer of
``n_chains`` doubles, once per step: every Langevin step needs exactly those
draws, so no Langevin sampler in NumPy can beat it. The benchmark prints
``ratio = floor time / sampler time`` (1 would mean the sampler costs nothing
beyond its random numbers). Targets (COURSE.md / issue 2): langevin >= 0.5,
mala >= 0.25.

Usage: ``python benchmarks/bench_samplers.py [--chains 1000000] [--steps 20] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import lib

TARGETS = {"langevin": 0.5, "mala": 0.25}


def best_time(func, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chains", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n, steps = args.chains, args.steps
    potential = lib.potentials.double_well()
    x0 = np.random.default_rng(0).standard_normal(n)
    buffer = np.empty(n)

    def floor():
        gen = np.random.default_rng(1)
        for _ in range(steps):
            gen.standard_normal(out=buffer)

    # keep only the final state (burn_in = n_steps - 1): the samplers store one row
    common = dict(n_steps=steps, temperature=0.5, rng=1, burn_in=steps - 1)
    runs = {
        "langevin": lambda: lib.langevin(potential, x0, step=0.01, **common),
        "mala": lambda: lib.mala(potential, x0, step=0.05, **common),
    }
    floor_time = best_time(floor, args.repeats)
    draws_per_s = n * steps / floor_time
    print(f"double well, {n:,} chains x {steps} steps, best of {args.repeats}")
    print(f"{'floor (standard_normal)':<26s} {floor_time * 1e3 / steps:8.2f} ms/step  "
          f"{draws_per_s / 1e6:8.1f} M draws/s")
    ok = True
    for name, run in runs.items():
        t = best_time(run, args.repeats)
        ratio = floor_time / t
        met = ratio >= TARGETS[name]
        ok &= met
        print(f"{name:<26s} {t * 1e3 / steps:8.2f} ms/step  {n * steps / t / 1e6:8.1f} M chain-steps/s  "
              f"ratio {ratio:5.2f} (target >= {TARGETS[name]}) {'ok' if met else 'BELOW TARGET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
