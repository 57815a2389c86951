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
