"""Throughput of ``lib.sgd.sgd``: one SGD step on 10^5 chains of a d = 2 least-squares problem.

Budget (issue 8): one step with batch size B = 8 in well under 10 ms. The script prints the
best and the median wall time per step over repeated runs, the CPU time per step (less
sensitive to other processes on a shared machine) and the load average, for sampling with
and without replacement, and, as the floor, the time NumPy needs to draw the random
indices alone. Run: ``python benchmarks/bench_sgd.py``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")      # no BLAS threads: the arrays are small
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time  # noqa: E402

import numpy as np  # noqa: E402

import lib  # noqa: E402

N_CHAINS, DIM, BATCH, N_DATA = 100_000, 2, 8, 64
STEPS, REPEATS = 20, 7


def problem() -> lib.sgd.LeastSquares:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N_DATA, DIM)) * [1.0, 0.5]
    y = X @ np.array([1.0, -1.0]) + rng.standard_normal(N_DATA) * (1 + np.abs(X[:, 0]))
    return lib.sgd.LeastSquares(X, y)


def per_step(run) -> tuple[float, float, float]:
    """(best wall, median wall, best CPU) seconds per step of ``run(n_steps)``."""
    run(2)  # warm-up: tables, caches
    walls, cpus = [], []
    for _ in range(REPEATS):
        w0, c0 = time.perf_counter(), time.process_time()
        run(STEPS)
        walls.append((time.perf_counter() - w0) / STEPS)
        cpus.append((time.process_time() - c0) / STEPS)
    return min(walls), float(np.median(walls)), min(cpus)


def main() -> dict:
    prob = problem()
    theta0 = np.tile(prob.minimizer, (N_CHAINS, 1))
    results = {}
    for replace in (True, False):
        def run(n, replace=replace):
            lib.sgd.sgd(prob, theta0, lr=0.1, batch_size=BATCH, n_steps=n, rng=1, replace=replace,
                        burn_in=n - 1)
        results[f"sgd replace={replace}"] = per_step(run)
    gen = np.random.default_rng(2)
    results["floor: draw the indices"] = per_step(
        lambda n: [gen.integers(0, N_DATA, size=(BATCH, N_CHAINS)) for _ in range(n)])
    print(f"one SGD step, {N_CHAINS:,} chains, d = {DIM}, B = {BATCH}, N = {N_DATA} "
          f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
    for name, (best, median, cpu) in results.items():
        print(f"  {name:28s} best {best * 1e3:6.2f} ms   median {median * 1e3:6.2f} ms   "
              f"CPU {cpu * 1e3:6.2f} ms")
    return results


if __name__ == "__main__":
    main()
