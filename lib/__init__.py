"""lib: the NumPy/SymPy package behind the course module.

Langevin dynamics, stationary (Gibbs) distributions and diffusion models.
The public API (see ``COURSE.md``)::

    U = lib.Potential.from_sympy(expr, x)
    chain = lib.langevin(U, x0, step=h, n_steps=n, temperature=T, rng=seed)
    chain = lib.mala(...); chain = lib.metropolis(U, x0, scale=s, ...)
    p = lib.gibbs_density(U, grid, temperature=T)
    ps = lib.fokker_planck(U, grid, p0, temperature=T, times=[...])
    xs = lib.euler_maruyama(drift, diffusion, x0, dt=dt, n_steps=n, rng=seed)

Submodules:

* ``potentials``: :class:`Potential` and its factories (quadratic, double well, mixture);
* ``samplers``: langevin (ULA), mala, metropolis, euler_maruyama; :class:`Chain`;
* ``fokker_planck``: numerical Fokker-Planck tools on a 1-D grid (Gibbs density,
  generators, steady states, Ito SDEs with any drift and noise, Markov chains on grid
  cells, ULA's invariant law);
* ``stats``: histograms on grids, TV and energy two-sample tests, ESS, R-hat, standard errors;
* ``symbolic``: SymPy derivations (currents, Fokker-Planck operators, generators,
  stationary densities);
* ``sgd``: SGD on finite-sum least squares as a Markov chain (chapter 6);
* ``diffusion``: diffusion models in NumPy (chapter 7);
* ``discrete``: Ising-type models, Metropolis and Gibbs on binary strings (chapter 2);
* ``partition``: normalizing constants by quadrature and Monte Carlo (chapter 1);
* ``plotting``, ``widgets``: the figure style and slider helpers (loaded on first use);
* ``glue``: ``lib.glue.glue``, myst-nb's glue without importing Sphinx (numbers for the prose);
* ``checks``: exercise checkers, ``lib.checks.check(label, answer)``.

``lib.fokker_planck`` is the *function* :func:`fokker_planck.fokker_planck` (the course
API), which hides the submodule of the same name: import the module's other functions
from it, ``from lib.fokker_planck import steady_state, ito_stationary_density``
(``import lib.fokker_planck as fp`` also binds the function; the module itself is
``sys.modules["lib.fokker_planck"]``).
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
