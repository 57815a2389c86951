"""lib: the NumPy/SymPy package behind the course module.

Langevin dynamics, stationary (Gibbs) distributions and diffusion models.
The public API (see ``COURSE.md``)::

    U = lib.Potential.from_sympy(expr, x)
    chain = lib.langevin(U, x0, step=h, n_steps=n, temperature=T, rng=seed)
    chain = lib.mala(...); chain = lib.metropolis(U, x0, scale=s, ...)
    p = lib.gibbs_density(U, grid, temperature=T)
    ps = lib.fokker_planck(U, grid, p0, temperature=T, times=[...])
    xs = lib.euler_maruyama(drift, diffusion, x0, dt=dt, n_steps=n, rng=seed)

Submodules: potentials, samplers, fokker_planck, stats, symbolic, sgd,
diffusion, plotting, widgets, checks.
"""

from . import checks, diffusion, discrete, partition, potentials, sgd, stats, symbolic
from .fokker_planck import fokker_planck, generator_matrix, gibbs_density
from .potentials import Potential
from .samplers import Chain, DivergenceError, euler_maruyama, langevin, mala, metropolis

__all__ = [
    "Potential",
    "Chain",
    "DivergenceError",
    "langevin",
    "mala",
    "metropolis",
    "euler_maruyama",
    "gibbs_density",
    "fokker_planck",
    "generator_matrix",
    "potentials",
    "stats",
    "symbolic",
    "checks",
    "discrete",
    "partition",
    "sgd",
    "diffusion",
    "plotting",
    "widgets",
]


def __getattr__(name):
    # matplotlib and ipywidgets load on first use, so `import lib` stays light.
    if name in ("plotting", "widgets"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'lib' has no attribute {name!r}")
