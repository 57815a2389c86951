"""The generated in-place kernels (lib._kernels) against SymPy.

Reference values come from SymPy's own expression evaluated with mpmath at 50
digits, so they are exact to double precision; the kernels must agree to
1e-12 relative to the output's scale (the largest |value| over the test
points: near a root of a sum of terms only the absolute error is meaningful).
"""

import tracemalloc

import mpmath
import numpy as np
import pytest
import sympy as sp

from lib import _kernels

x, y = sp.symbols("x y", real=True)
X5 = sp.symbols("x1:6", real=True)
RTOL = 1e-12
HALF = sp.Rational(1, 2)

CASES = {
    # polynomials
    "double-well": ((x,), x**4 / 4 - x**2 / 2 + sp.Rational(1, 4)),
    "poly-deg7": ((x,), x**7 / 7 - 3 * x**5 + x**2 - x + 2),
    "poly-float": ((x,), 0.3 * x**6 - 1.7 * x**3 + 0.1 * x),
    "banana": ((x, y), (1 - x) ** 2 / 20 + (y - x**2) ** 2 / 2),
    "poly-5d": (X5, X5[0] * X5[1] * X5[2] - X5[3] ** 3 * X5[4] + sum(xi**4 for xi in X5) / 4),
    "quadratic-5d": (X5, sum((i + 1) * xi**2 for i, xi in enumerate(X5)) / 2 + X5[0] * X5[4] - X5[2] + 3),
    "quadratic-2d": ((x, y), x**2 + x * y + y**2 - x),
    # exp / log / trig
    "exp-trig": ((x,), sp.exp(-(x**2)) + sp.sin(3 * x) + sp.cos(x) * sp.tanh(x)),
    "log-atan": ((x,), sp.log(1 + x**2) + sp.atan(x) + sp.pi * x),
    "mueller-brown-like": ((x, y), -2 * sp.exp(-((x - 1) ** 2) - 10 * y**2)
                           - sp.exp(-6 * (x + HALF) ** 2 + 11 * (x + HALF) * (y - 1) - 6 * (y - 1) ** 2)),
    "exp-cos-2d": ((x, y), sp.exp(-(x**2 + y**2)) * sp.cos(x * y) + sp.log(1 + x**2 + 2 * y**2)),
    "logcosh-5d": (X5, sum(sp.log(sp.cosh(xi)) for xi in X5) + sp.exp(-sum(xi**2 for xi in X5))),
    # rational functions and fractional powers
    "rational-1d": ((x,), x / (1 + x**2) + 1 / (2 + x**4) - 3 / (5 + x**2) ** 2),
    "rational-2d": ((x, y), (x**2 + y) / (1 + x**2 + y**2)),
    "rational-5d": (X5, 1 / (1 + sum(xi**4 for xi in X5)) + X5[0] / (2 + X5[1] ** 2)),
    "half-powers": ((x,), sp.sqrt(1 + x**2) + (1 + x**2) ** sp.Rational(3, 2) + (2 + x**2) ** -HALF),
    "abs-erf-pow": ((x,), sp.Abs(x) + sp.erf(x) + 2**x + (1 + x**2) ** sp.Rational(1, 3)),
    "max-min": ((x, y), sp.Max(x, y) ** 2 + sp.Min(x, 0) ** 2 + sp.atan2(y, 2 + x**2)),
}


def points(d, n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 1.5, n) if d == 1 else rng.normal(0.0, 1.5, (n, d))


def exact(symbols, expr, pts):
    """Energy and gradient at pts from SymPy, evaluated with 50-digit mpmath."""
    mpmath.mp.dps = 50
    grads = [sp.diff(expr, s) for s in symbols]
    fe = sp.lambdify(symbols, expr, "mpmath")
    fg = [sp.lambdify(symbols, g, "mpmath") for g in grads]
    rows = pts.reshape(len(pts), len(symbols))
    e = np.array([float(fe(*map(mpmath.mpf, p))) for p in rows])
    g = np.array([[float(f(*map(mpmath.mpf, p))) for f in fg] for p in rows])
    return e, g.reshape(pts.shape)


def assert_close(got, want):
    scale = np.max(np.abs(want))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * scale)


@pytest.mark.parametrize("case", sorted(CASES))
def test_kernel_matches_sympy(case):
    symbols, expr = CASES[case]
    compiled = _kernels.compile_potential(expr, symbols)
    pts = points(len(symbols))
    e_want, g_want = exact(symbols, expr, pts)
    g, e = np.empty_like(pts), np.empty(len(pts))
    compiled.kernel(pts, g, e, None)
    assert_close(e, e_want)
    assert_close(g, g_want)
    # the gradient-only and energy-only code paths, and the allocating wrappers
    g_only = np.empty_like(pts)
    compiled.kernel(pts, g_only, None, None)
    assert_close(g_only, g_want)
    assert_close(compiled.energy(pts), e_want)
    assert_close(compiled.grad(pts), g_want)


@pytest.mark.parametrize("case", sorted(CASES))
def test_single_state_matches_sympy(case):
    """One state at a time (the Python-float path) against SymPy, state by state."""
    symbols, expr = CASES[case]
    compiled = _kernels.compile_potential(expr, symbols)
    pts = points(len(symbols), n=10, seed=7)
    e_want, g_want = exact(symbols, expr, pts)
    e, g = np.empty(len(pts)), np.empty_like(pts)
    for i in range(len(pts)):
        g_i = g[i] if len(symbols) > 1 else g[i:i + 1].reshape(())  # views into g and e
        compiled.kernel(np.array(pts[i]), g_i, e[i:i + 1].reshape(()), None)
    assert_close(e, e_want)
    assert_close(g, g_want)


@pytest.mark.parametrize("case", ["double-well", "banana", "logcosh-5d", "quadratic-5d"])
def test_blocks_views_and_single_states(case):
    """Long batches are cut into blocks, strided views and single states work, all equal."""
    symbols, expr = CASES[case]
    d = len(symbols)
    compiled = _kernels.compile_potential(expr, symbols)
    n = 3 * _kernels._BLOCK_ELEMENTS // d + 7  # several blocks plus a ragged one
    pts = points(d, n, seed=1)
    g, e = np.empty_like(pts), np.empty(n)
    compiled.kernel(pts, g, e, None)
    g_small, e_small = np.empty_like(pts[:50]), np.empty(50)
    compiled.kernel(pts[:50], g_small, e_small, None)
    np.testing.assert_array_equal(g[:50], g_small)
    np.testing.assert_array_equal(e[:50], e_small)
    # a strided view of the states, written into strided views of the outputs
    g_big, e_big = np.zeros((2,) + pts.shape), np.zeros((2, n))
    compiled.kernel(pts[::3], g_big[1, ::3], e_big[1, ::3], None)
    np.testing.assert_array_equal(g_big[1, ::3], g[::3])
    np.testing.assert_array_equal(e_big[1, ::3], e[::3])
    assert not np.any(g_big[0]) and not np.any(e_big[1, 1::3])
    # one state, shape () for d = 1 and (d,) otherwise: Python floats (math
    # functions, ** for powers) where the batch uses ufuncs, so equal to rounding
    one = pts[5]
    g_one, e_one, g_only = np.empty_like(one), np.empty(()), np.empty_like(one)
    compiled.kernel(np.array(one), g_one, e_one, None)
    compiled.kernel(np.array(one), g_only, None, None)
    np.testing.assert_allclose(g_one, g[5], rtol=1e-13, atol=1e-13 * np.abs(g).max())
    np.testing.assert_allclose(g_only, g[5], rtol=1e-13, atol=1e-13 * np.abs(g).max())
    np.testing.assert_allclose(e_one, e[5], rtol=1e-13, atol=1e-13 * np.abs(e).max())
    np.testing.assert_allclose(compiled.energy(one), e[5], rtol=1e-13, atol=1e-13 * np.abs(e).max())


@pytest.mark.parametrize("case", ["double-well", "banana", "logcosh-5d", "quadratic-5d", "rational-2d"])
def test_hot_loop_allocates_nothing(case):
    symbols, expr = CASES[case]
    d = len(symbols)
    compiled = _kernels.compile_potential(expr, symbols)
    rows = _kernels._BLOCK_ELEMENTS // d
    pts = points(d, rows, seed=2)
    g, e = np.empty_like(pts), np.empty(rows)
    compiled.kernel(pts, g, e, None)  # first call with this shape allocates the scratch
    compiled.kernel(pts, g, None, None)
    compiled.energy_into(pts, e)
    tracemalloc.start()
    try:
        for _ in range(5):
            compiled.kernel(pts, g, e, None)
            compiled.kernel(pts, g, None, None)
            compiled.energy_into(pts, e)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a block of scratch would be rows * 8 bytes = 128 kB; views cost ~100 bytes each
    assert peak < 16_000, f"kernel allocated {peak} bytes"


def test_scratch_pool_stays_bounded():
    compiled = _kernels.compile_potential(CASES["double-well"][1], (x,))
    for n in range(1, 40):
        compiled.energy(np.ones(n))
    pools = [c.cell_contents for c in compiled.energy_into.__globals__.get("scratch").__closure__
             if isinstance(c.cell_contents, dict)]
    assert pools and all(len(p) <= _kernels._POOL_SHAPES for p in pools)


def test_cse_and_integer_powers_keep_the_double_well_cheap():
    compiled = _kernels.compile_potential(CASES["double-well"][1], (x,))
    assert compiled.n_ops <= 8
    assert "power(" not in compiled.source  # x**4 and x**3 are products, not pow()
    # x**2, x**3 and x**4 together: one product each
    e = x**4 + x**3 + x**2
    c = _kernels.compile_potential(e, (x,))
    e_lines = c.source.split("def energy_into")[1]
    assert e_lines.count("multiply(") <= 4


def test_quadratic_energy_uses_one_matrix_product():
    symbols, expr = CASES["quadratic-5d"]
    compiled = _kernels.compile_potential(expr, symbols)
    assert "matmul(x, A" in compiled.source
    # 2-D quadratics stay elementwise (faster for two columns)
    compiled2 = _kernels.compile_potential(*reversed(CASES["quadratic-2d"]))
    assert "matmul" not in compiled2.source


def test_domain_errors_give_nan_or_inf_like_numpy():
    """Outside the expression's domain the kernel is non-finite where NumPy's evaluation is.

    The gradient-only code (ULA's) is also NaN wherever the energy is undefined,
    even if the gradient formula is finite there (d/dx (x - 2 log x) = 1 - 2/x at
    x < 0), so that a sampler leaving the domain is caught.
    """
    cases = [sp.log(x) + x, x - 2 * sp.log(x), 1 / x + x**2, sp.sqrt(x) + x, x * sp.log(x),
             sp.log(1 - x**2), sp.acos(x / 2) + x**2]
    pts = np.array([-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0])
    for expr in cases:
        compiled = _kernels.compile_potential(expr, (x,))
        with np.errstate(all="ignore"):
            e_np = sp.lambdify(x, expr, "numpy")(pts)
            g_np = np.broadcast_to(sp.lambdify(x, sp.diff(expr, x), "numpy")(pts), pts.shape)
            g, e = np.empty_like(pts), np.empty_like(pts)
            compiled.kernel(pts, g, e, None)
            g_only = compiled.grad(pts)
        np.testing.assert_array_equal(np.isfinite(e), np.isfinite(e_np), err_msg=str(expr))
        np.testing.assert_array_equal(np.isfinite(g), np.isfinite(g_np), err_msg=str(expr))
        np.testing.assert_array_equal(np.isfinite(g_only), np.isfinite(g_np) & np.isfinite(e_np),
                                      err_msg=str(expr))
        finite = np.isfinite(g_only)
        np.testing.assert_array_equal(g_only[finite], g[finite])
        # the same, one state at a time (Python floats, falling back to arrays)
        with np.errstate(all="ignore"):
            for i, p in enumerate(pts):
                g1, e1, g0 = np.empty(()), np.empty(()), np.empty(())
                compiled.kernel(np.array(p), g1, e1, None)
                compiled.kernel(np.array(p), g0, None, None)
                assert np.isfinite(e1) == np.isfinite(e_np[i]), (str(expr), p)
                assert np.isfinite(g1) == np.isfinite(g_np[i]), (str(expr), p)
                assert np.isfinite(g0) == (np.isfinite(g_np[i]) and np.isfinite(e_np[i])), (str(expr), p)


def test_unsupported_functions_raise_compile_error():
    with pytest.raises(_kernels.CompileError, match="no NumPy kernel"):
        _kernels.compile_potential(sp.Piecewise((x**2, x > 0), (0, True)), (x,))


def test_non_real_constant_is_a_value_error():
    with pytest.raises(ValueError, match="not a finite real number"):
        _kernels.compile_potential(x**2 + sp.log(-2) * x, (x,))
