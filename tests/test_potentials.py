import numpy as np
import pytest
import sympy as sp

import lib


def finite_difference_grad(U, x, eps=1e-6):
    x = np.asarray(x, dtype=float)
    if U.dim == 1:
        return (U.energy(x + eps) - U.energy(x - eps)) / (2 * eps)
    g = np.empty_like(x)
    for i in range(U.dim):
        e = np.zeros(U.dim)
        e[i] = eps
        g[:, i] = (U.energy(x + e) - U.energy(x - e)) / (2 * eps)
    return g


def test_from_sympy_one_and_two_dimensions():
    x = sp.Symbol("x")
    U = lib.Potential.from_sympy(x**4 / 4 - x**2 / 2, x)
    assert U.dim == 1 and U.expr == x**4 / 4 - x**2 / 2
    np.testing.assert_allclose(U.grad(np.array([2.0, -1.0])), [6.0, 0.0])
    x1, x2 = sp.symbols("x1 x2")
    V = lib.Potential.from_sympy(x1**2 + x1 * x2 + x2**2, (x1, x2))
    pts = np.array([[1.0, 2.0], [0.5, -1.0]])
    assert V.dim == 2
    np.testing.assert_allclose(V.energy(pts), [7.0, 0.25 - 0.5 + 1.0])
    np.testing.assert_allclose(V.grad(pts), [[4.0, 5.0], [0.0, -1.5]])
    # constant gradient components broadcast to the batch
    W = lib.Potential.from_sympy(3 * x1 + x2**2, (x1, x2))
    np.testing.assert_allclose(W.grad(pts)[:, 0], [3.0, 3.0])


def test_from_sympy_rejects_parameters_and_bad_symbols():
    x, a = sp.symbols("x a")
    with pytest.raises(ValueError, match="not coordinates"):
        lib.Potential.from_sympy(a * x**2, x)
    with pytest.raises(ValueError, match="Symbol"):
        lib.Potential.from_sympy(x**2, "x")


@pytest.mark.parametrize(
    "U",
    [
        lib.potentials.double_well(),
        lib.potentials.double_well(barrier=1.5, minimum=2.0, tilt=0.3),
        lib.potentials.quadratic(2.0, center=0.5),
        lib.potentials.quadratic(np.array([[2.0, 0.5], [0.5, 1.0]]), center=[1.0, -1.0]),
        lib.potentials.gaussian_mixture([-1.0, 2.0], [0.5, 1.0], [0.3, 0.7]),
        lib.potentials.gaussian_mixture([[0.0, 0.0], [2.0, 1.0]], 0.7),
    ],
    ids=["dw", "dw-tilt", "quad1", "quad2", "gm1", "gm2"],
)
def test_gradients_kernels_and_expressions_agree(U):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1.5, (50,) if U.dim == 1 else (50, U.dim))
    np.testing.assert_allclose(U.grad(x), finite_difference_grad(U, x), rtol=1e-5, atol=1e-6)
    # the in-place kernel used by the samplers
    g, e, w = np.empty_like(x), np.empty(x.shape[: x.ndim - (U.dim > 1)]), np.empty_like(x)
    U.energy_and_grad_into(x, g, e, w)
    np.testing.assert_allclose(g, U.grad(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(e, U.energy(x), rtol=1e-12, atol=1e-12)
    # the SymPy expression is the same function
    f = sp.lambdify(U.symbols, U.expr, "numpy")
    vals = f(x) if U.dim == 1 else f(*x.T)
    np.testing.assert_allclose(vals, U.energy(x), rtol=1e-9, atol=1e-9)


def test_double_well_geometry():
    U = lib.potentials.double_well(barrier=2.0, minimum=1.5)
    np.testing.assert_allclose(U.energy(np.array([-1.5, 0.0, 1.5])), [0.0, 2.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(U.grad(np.array([-1.5, 0.0, 1.5])), 0.0, atol=1e-12)
    curvature = float(sp.diff(U.expr, U.symbols[0], 2).subs(U.symbols[0], 1.5))
    assert curvature == pytest.approx(8 * 2.0 / 1.5**2)


def test_gaussian_mixture_is_its_own_gibbs_density_and_stable_far_away():
    U = lib.potentials.gaussian_mixture([-1.0, 2.0], [0.5, 1.0], [0.3, 0.7])
    grid = np.linspace(-6, 8, 2001)
    mix = 0.3 * np.exp(-((grid + 1) ** 2) / 0.5) / np.sqrt(2 * np.pi * 0.25) + 0.7 * np.exp(
        -((grid - 2) ** 2) / 2
    ) / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(np.exp(-U.energy(grid)), mix, rtol=1e-10, atol=1e-300)
    far = U.grad(np.array([1e3, -1e3]))
    assert np.all(np.isfinite(far)) and far[0] > 0 > far[1]


@pytest.mark.parametrize(
    "factory,kwargs,match",
    [
        (lib.potentials.quadratic, dict(stiffness=0.0), "stiffness"),
        (lib.potentials.quadratic, dict(stiffness=np.array([[1.0, 2.0], [2.0, 1.0]])), "positive definite"),
        (lib.potentials.double_well, dict(barrier=-1.0), "barrier"),
        (lib.potentials.double_well, dict(minimum=0.0), "minimum"),
        (lib.potentials.gaussian_mixture, dict(means=[0.0, 1.0], stds=[1.0, -1.0]), "stds"),
        (lib.potentials.gaussian_mixture, dict(means=[0.0, 1.0], stds=1.0, weights=[1.0]), "weights"),
    ],
)
def test_factory_validation(factory, kwargs, match):
    with pytest.raises(ValueError, match=match):
        factory(**kwargs)


# --------------------------------------------------------------------------
# from_sympy's generated kernels (lib._kernels) against the lambdified expression
# --------------------------------------------------------------------------
from lib import potentials as _pot  # noqa: E402

x_, y_ = sp.symbols("x y")
SYMPY_CASES = {
    "double-well": (x_**4 / 4 - x_**2 / 2, x_),
    "exp-log-trig": (sp.exp(-(x_**2)) + sp.log(1 + x_**2) + sp.sin(2 * x_), x_),
    "rational": (x_**2 / 2 + 1 / (1 + x_**2), x_),
    "banana": ((1 - x_) ** 2 / 20 + (y_ - x_**2) ** 2 / 2, (x_, y_)),
    "quadratic-5d": (sum((i + 1) * s**2 for i, s in enumerate(sp.symbols("x1:6"))) / 2
                     + sp.Symbol("x1") * sp.Symbol("x5"), sp.symbols("x1:6")),
}


def lambdified_potential(expr, x):
    """The previous from_sympy: lambdified energy and gradient, no in-place kernel."""
    symbols = (x,) if isinstance(x, sp.Symbol) else tuple(x)
    real, coords = _pot._real_form(sp.sympify(expr), symbols)
    energy_fn, grad_fn = _pot._lambdified(real, coords)
    return lib.Potential(expr, symbols, energy_fn, grad_fn, "lambdified")


@pytest.mark.parametrize("case", sorted(SYMPY_CASES))
def test_from_sympy_kernel_agrees_with_lambdify(case):
    expr, x = SYMPY_CASES[case]
    U, V = lib.Potential.from_sympy(expr, x), lambdified_potential(expr, x)
    assert U.kernel is not None and V.kernel is None
    rng = np.random.default_rng(3)
    pts = rng.normal(0, 1.5, 200 if U.dim == 1 else (200, U.dim))
    for got, want in [(U.energy(pts), V.energy(pts)), (U.grad(pts), V.grad(pts))]:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    g, e = np.empty_like(pts), np.empty(200)
    U.energy_and_grad_into(pts, g, e, np.empty_like(pts))
    np.testing.assert_allclose(g, V.grad(pts), rtol=1e-12, atol=1e-12 * np.abs(g).max())
    # one state: scalar for d = 1, (d,) otherwise, with the shapes as before
    one = pts[0]
    assert U.energy(one).shape == V.energy(one).shape == ()
    assert U.grad(one).shape == V.grad(one).shape == np.shape(one)


@pytest.mark.parametrize("case", ["double-well", "banana"])
@pytest.mark.parametrize("sampler", ["langevin", "mala"])
def test_chains_reproduce_with_generated_kernels(case, sampler):
    """Reordered floating-point operations only: the chains agree to 1e-10 after 50 steps."""
    expr, x = SYMPY_CASES[case]
    U, V = lib.Potential.from_sympy(expr, x), lambdified_potential(expr, x)
    x0 = np.linspace(-2, 2, 101) if U.dim == 1 else np.random.default_rng(4).normal(size=(101, U.dim))
    run = getattr(lib, sampler)
    a = run(U, x0, step=0.02, n_steps=50, temperature=0.4, rng=5)
    b = run(V, x0, step=0.02, n_steps=50, temperature=0.4, rng=5)
    np.testing.assert_allclose(a.samples, b.samples, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(a.acceptance_rate, b.acceptance_rate)


@pytest.mark.parametrize("case", ["double-well", "exp-log-trig", "banana"])
def test_single_chain_reproduces(case):
    """One chain (Python floats in the kernel) against the lambdified functions."""
    expr, x = SYMPY_CASES[case]
    U, V = lib.Potential.from_sympy(expr, x), lambdified_potential(expr, x)
    x0 = 0.3 if U.dim == 1 else np.array([0.3, -0.2])
    for sampler in ("langevin", "mala"):
        a = getattr(lib, sampler)(U, x0, step=0.02, n_steps=300, temperature=0.4, rng=6)
        b = getattr(lib, sampler)(V, x0, step=0.02, n_steps=300, temperature=0.4, rng=6)
        np.testing.assert_allclose(a.samples, b.samples, rtol=1e-10, atol=1e-12)


def test_from_sympy_quadratic_matches_factory():
    A = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, -0.25], [0.0, -0.25, 3.0]])
    xs = sp.symbols("x1:4")
    expr = sum(sp.nsimplify(A[i, j]) * xs[i] * xs[j] for i in range(3) for j in range(3)) / 2 + xs[0] - 2
    U = lib.Potential.from_sympy(expr, xs)
    pts = np.random.default_rng(6).normal(size=(100, 3))
    np.testing.assert_allclose(U.grad(pts), pts @ A + [1.0, 0.0, 0.0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(U.energy(pts), 0.5 * np.einsum("ni,ij,nj->n", pts, A, pts) + pts[:, 0] - 2,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "expr,match",
    [
        (sp.sqrt(-1 - x_**2), "never real"),
        (sp.log(-1 - x_**2) + x_**2, "never real"),
        (x_**2 + sp.I * x_, "imaginary unit"),
        (sp.sqrt(-2) * x_, "imaginary unit"),
        (x_**2 + sp.log(-2), "imaginary unit"),
        (x_**2 + sp.oo, "finite"),
        (x_**2 + sp.zoo, "finite"),
    ],
)
def test_from_sympy_rejects_non_real_expressions(expr, match):
    with pytest.raises(ValueError, match=match):
        lib.Potential.from_sympy(expr, x_)


def test_from_sympy_rejects_non_expressions():
    with pytest.raises(ValueError, match="scalar SymPy expression"):
        lib.Potential.from_sympy(sp.Matrix([x_, x_**2]), x_)


def test_from_sympy_real_but_written_with_i_and_abs():
    U = lib.Potential.from_sympy((x_ + sp.I) * (x_ - sp.I), x_)  # = x^2 + 1
    np.testing.assert_allclose(U.energy(np.array([0.0, 2.0])), [1.0, 5.0])
    # Abs of a plain (not declared real) symbol: the gradient is sign(x)
    W = lib.Potential.from_sympy(sp.Abs(x_) + x_**2 / 2, x_)
    np.testing.assert_allclose(W.grad(np.array([-2.0, 3.0])), [-3.0, 4.0])


def test_from_sympy_falls_back_to_lambdify_for_unsupported_expressions():
    U = lib.Potential.from_sympy(sp.Piecewise((x_**2, x_ > 0), (x_**4, True)), x_)
    assert U.kernel is None
    np.testing.assert_allclose(U.grad(np.array([-1.0, 2.0])), [-4.0, 4.0])
    chain = lib.langevin(U, np.zeros(10), step=0.01, n_steps=5, rng=0)
    assert np.all(np.isfinite(chain.samples))


def test_from_sympy_constant_energy_and_constant_gradient():
    U = lib.Potential.from_sympy(sp.Integer(3), x_)
    np.testing.assert_array_equal(U.energy(np.zeros(4)), 3.0)
    np.testing.assert_array_equal(U.grad(np.zeros(4)), 0.0)
    V = lib.Potential.from_sympy(2 * x_ - 1, x_)
    np.testing.assert_array_equal(V.grad(np.arange(3.0)), 2.0)
