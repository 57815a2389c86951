"""lib.sgd: closed forms, brute-force enumeration of minibatches, simulation z-tests with negative
controls, hypothesis tests of shapes and validation.

Statistical tests use |z| <= 4.5 (false-alarm rate 7e-6 per test) with fixed seeds; each has a
negative control (a wrong answer that must be rejected) so that a test that cannot fail is noticed.
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lib
from lib import sgd
from lib.fokker_planck import kernel_first_passage, kernel_relaxation, kernel_stationary_density

Z = 4.5


def hetero_problem(N=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, 2)) * [1.0, 0.5]
    y = X @ [1.0, -1.0] + rng.standard_normal(N) * (1 + np.abs(X[:, 0]))
    return sgd.LeastSquares(X, y)


def small_problem(N=5, d=2, seed=1):
    rng = np.random.default_rng(seed)
    return sgd.LeastSquares(rng.standard_normal((N, d)), rng.standard_normal(N))


def brute_moments(prob, B, replace):
    """All ordered minibatches: their Hessians A_B and additive noises b_B."""
    tuples = (itertools.product(range(prob.n), repeat=B) if replace
              else itertools.permutations(range(prob.n), B))
    A, b = [], []
    for t in tuples:
        idx = list(t)
        A.append(prob.X[idx].T @ prob.X[idx] / B)
        b.append(prob.X[idx].T @ prob.residuals[idx] / B)
    return np.array(A), np.array(b)


def brute_stationary(prob, lr, B, replace, temperature=0.0):
    """Fixed point of S -> E[(I - lr A) S (I - lr A)] + lr^2 E[b b^T] + 2 T lr I, by iteration."""
    A, b = brute_moments(prob, B, replace)
    d = prob.dim
    M = np.eye(d) - lr * A
    Q = lr**2 * np.einsum("ka,kb->ab", b, b) / len(b) + 2 * temperature * lr * np.eye(d)
    S = np.zeros((d, d))
    for _ in range(100_000):
        new = np.einsum("kab,bc,kdc->ad", M, S, M) / len(M) + Q
        if np.abs(new - S).max() < 1e-17:
            break
        S = new
    return S


# ---------------------------------------------------------------------------- LeastSquares


def test_least_squares_basics():
    prob = hetero_problem()
    X, y = prob.X, prob.y
    theta = np.array([0.3, -0.7])
    assert prob.n == 40 and prob.dim == 2
    assert np.isclose(prob.loss(theta), np.sum((X @ theta - y) ** 2) / (2 * 40))
    eps = 1e-6
    fd = [(prob.loss(theta + eps * e) - prob.loss(theta - eps * e)) / (2 * eps) for e in np.eye(2)]
    assert np.allclose(prob.grad(theta), fd, atol=1e-7)
    assert np.allclose(prob.per_sample_grads(theta).mean(axis=0), prob.grad(theta))
    assert np.allclose(prob.hessian, X.T @ X / 40)
    assert np.allclose(prob.grad(prob.minimizer), 0, atol=1e-12)
    assert np.allclose(prob.minimizer, np.linalg.lstsq(X, y, rcond=None)[0])
    # C: population covariance (divide by N) of one per-sample gradient, at the minimizer by default
    G = prob.per_sample_grads(prob.minimizer)
    assert np.allclose(prob.noise_covariance(), np.cov(G.T, bias=True))
    assert np.allclose(prob.noise_covariance(), (G * prob.residuals[:, None] ** 0).T @ G / 40)
    G2 = prob.per_sample_grads(theta)
    assert np.allclose(prob.noise_covariance(theta), np.cov(G2.T, bias=True))
    assert not np.allclose(prob.noise_covariance(theta), prob.noise_covariance())   # state-dependent
    assert np.allclose(prob.X.T @ prob.residuals, 0, atol=1e-10)


def test_least_squares_batches_and_one_dimension():
    prob = hetero_problem()
    thetas = np.random.default_rng(3).standard_normal((7, 2))
    assert prob.loss(thetas).shape == (7,)
    assert prob.grad(thetas).shape == (7, 2)
    assert prob.per_sample_grads(thetas).shape == (7, 40, 2)
    assert np.allclose(prob.grad(thetas)[2], prob.grad(thetas[2]))
    p1 = sgd.LeastSquares(np.arange(1.0, 6.0), np.array([1.0, 0.0, 2.0, 1.0, 3.0]))
    assert p1.dim == 1 and p1.minimizer.shape == (1,)
    assert p1.loss(np.zeros(4)).shape == (4,)
    assert np.isscalar(p1.loss(0.5)) and np.isscalar(p1.grad(0.5))
    assert p1.grad(np.zeros(4)).shape == (4,)
    assert p1.noise_covariance().shape == (1, 1)


@pytest.mark.parametrize("X, y, message", [
    (np.ones((5, 2)), np.ones(5), "full column rank"),
    (np.ones((5, 2)) + np.eye(5, 2), np.ones(4), "shape"),
    (np.array([[1.0, np.nan], [0.0, 1.0], [1.0, 1.0]]), np.ones(3), "finite"),
    (np.ones((1, 1)), np.ones(1), "N = 2"),
    (np.ones((2, 2, 2)), np.ones(2), "shape"),
])
def test_least_squares_validation(X, y, message):
    with pytest.raises(ValueError, match=message):
        sgd.LeastSquares(X, y)


# ---------------------------------------------------------------------------- exact covariance


@pytest.mark.parametrize("replace", [True, False])
@pytest.mark.parametrize("B", [1, 2, 3])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_stationary_covariance_matches_enumeration(replace, B, d):
    prob = small_problem(N=5, d=d, seed=d + 10 * B)
    lr = 0.5 * sgd.max_stable_lr(prob, batch_size=B, replace=replace)
    exact = sgd.stationary_covariance(prob, lr=lr, batch_size=B, replace=replace)
    brute = brute_stationary(prob, lr, B, replace)
    assert np.allclose(exact, brute, rtol=1e-9, atol=1e-14)
    # negative control: the Lyapunov approximation is not the exact answer
    lyap = sgd.lyapunov_covariance(prob, lr=lr, batch_size=B, replace=replace)
    if not (not replace and B == prob.n):
        assert not np.allclose(lyap, brute, rtol=1e-3)


def test_sgld_covariance_matches_enumeration():
    prob = small_problem(N=4, d=2, seed=5)
    exact = sgd.stationary_covariance(prob, lr=0.2, batch_size=2, temperature=0.3)
    assert np.allclose(exact, brute_stationary(prob, 0.2, 2, True, temperature=0.3), rtol=1e-9)


def test_minibatch_noise_covariance_conventions():
    prob = small_problem(N=6, d=2, seed=7)
    C = prob.noise_covariance()
    for replace, B in [(True, 2), (False, 2), (False, 4)]:
        _, b = brute_moments(prob, B, replace)
        cov = np.einsum("ka,kb->ab", b, b) / len(b)
        f = 1.0 if replace else (prob.n - B) / (prob.n - 1)
        assert np.allclose(cov, C / B * f)


def test_closed_forms():
    # additive noise (all x_i equal): v = lr C / (a (2 - lr a))
    y = np.array([1.0, -2.0, 0.5, 3.0, -1.0])
    a = 1.7
    prob = sgd.LeastSquares(np.full(5, math.sqrt(a)), y)
    C = prob.noise_covariance()[0, 0]
    for lr in (0.1, 0.7, 1.1):
        v = sgd.stationary_covariance(prob, lr=lr, batch_size=1)[0, 0]
        assert np.isclose(v, lr * C / (a * (2 - lr * a)), rtol=1e-12)
        assert np.isclose(sgd.lyapunov_covariance(prob, lr=lr, batch_size=1)[0, 0], lr * C / (2 * a))
    # 1-D with varying x, with replacement: v = lr c / B / (2 m2 - lr (m2^2 + (m4 - m2^2) / B))
    rng = np.random.default_rng(2)
    x = rng.uniform(0.5, 1.5, 9)
    p1 = sgd.LeastSquares(x, x + rng.standard_normal(9))
    m2, m4, c = np.mean(x**2), np.mean(x**4), np.mean(x**2 * p1.residuals**2)
    for lr, B in ((0.3, 1), (0.6, 4)):
        v = lr * c / B / (2 * m2 - lr * (m2**2 + (m4 - m2**2) / B))
        assert np.isclose(sgd.stationary_covariance(p1, lr=lr, batch_size=B)[0, 0], v, rtol=1e-12)
    # full batch without replacement: gradient descent, no fluctuations
    assert np.allclose(sgd.stationary_covariance(p1, lr=0.3, batch_size=9, replace=False), 0)
    # SGLD in 1-D with constant x: (2 T h + h^2 C/B) / (h a (2 - h a))
    T, h = 0.2, 0.4
    v = sgd.stationary_covariance(prob, lr=h, batch_size=2, temperature=T)[0, 0]
    assert np.isclose(v, (2 * T * h + h**2 * C / 2) / (h * a * (2 - h * a)), rtol=1e-12)


def test_lyapunov_error_is_first_order():
    prob = hetero_problem()
    H = prob.hessian
    errs = []
    for lr in (0.1, 0.05, 0.025):
        S_l = sgd.lyapunov_covariance(prob, lr=lr, batch_size=4)
        assert np.allclose(H @ S_l + S_l @ H, lr * prob.noise_covariance() / 4)
        S_e = sgd.stationary_covariance(prob, lr=lr, batch_size=4)
        errs.append(np.linalg.norm(S_l - S_e) / np.linalg.norm(S_e))
    assert abs(errs[1] / errs[2] - 2) < 0.05 and abs(errs[0] / errs[1] - 2) < 0.1


def test_lag_covariance_identity():
    prob = hetero_problem()
    S = sgd.stationary_covariance(prob, lr=0.3, batch_size=4)
    G = sgd.lag_covariance(prob, lr=0.3, batch_size=4)
    assert np.allclose(G, (np.eye(2) - 0.3 * prob.hessian) @ S)
    assert np.allclose(G - G.T, -0.3 * (prob.hessian @ S - S @ prob.hessian))


# ---------------------------------------------------------------------------- stability bounds


def test_max_stable_lr_is_where_the_radius_crosses_one():
    prob = hetero_problem()
    for replace in (True, False):
        bound = sgd.max_stable_lr(prob, batch_size=4, replace=replace)
        below = sgd.moment_radius(prob, lr=0.999 * bound, batch_size=4, replace=replace)
        above = sgd.moment_radius(prob, lr=1.001 * bound, batch_size=4, replace=replace)
        assert below < 1 < above
        assert bound < 2 / np.linalg.eigvalsh(prob.hessian)[-1]
    # 1-D closed form: lr < 2 H / E[A_B^2]
    x = np.array([0.5, 1.0, 2.0, 0.7])
    p1 = sgd.LeastSquares(x, np.array([1.0, 0.0, 1.0, 2.0]))
    for B in (1, 3):
        EA2 = np.mean(x**2) ** 2 + (np.mean(x**4) - np.mean(x**2) ** 2) / B
        assert np.isclose(sgd.max_stable_lr(p1, batch_size=B), 2 * np.mean(x**2) / EA2, rtol=1e-10)


def test_stationary_covariance_refuses_above_the_bound():
    prob = hetero_problem()
    bound = sgd.max_stable_lr(prob, batch_size=2)
    with pytest.raises(ValueError, match=rf"lr < {bound:.6g}"):
        sgd.stationary_covariance(prob, lr=1.01 * bound, batch_size=2)


@pytest.mark.parametrize("B", [1, 2, 3])
def test_fourth_moment_radius_matches_enumeration(B):
    prob = small_problem(N=5, d=2, seed=3)
    lr = 0.3
    op = 0
    tuples = list(itertools.product(range(prob.n), repeat=B))
    for t in tuples:
        Nm = np.eye(2) - lr * prob.X[list(t)].T @ prob.X[list(t)] / B
        op = op + np.einsum("ae,bf,cg,dh->abcdefgh", Nm, Nm, Nm, Nm)
    radius = np.max(np.abs(np.linalg.eigvals((op / len(tuples)).reshape(16, 16))))
    assert np.isclose(sgd.moment_radius(prob, lr=lr, batch_size=B, order=4), radius, rtol=1e-10)
    # order 2 through the same enumeration equals the second-moment operator's radius
    op2 = sum(np.kron(*(2 * [np.eye(2) - lr * prob.X[list(t)].T @ prob.X[list(t)] / B])) for t in tuples)
    r2 = np.max(np.abs(np.linalg.eigvals(op2 / len(tuples))))
    assert np.isclose(sgd.moment_radius(prob, lr=lr, batch_size=B, order=2), r2, rtol=1e-10)


def test_moment_radius_one_dimension_and_validation():
    x = np.array([0.7, 0.7, 0.7, 2.6])
    p1 = sgd.LeastSquares(x, np.array([1.0, 0.0, 1.0, 2.0]))
    for p in (2, 4, 6):
        assert np.isclose(sgd.moment_radius(p1, lr=0.4, batch_size=1, order=p),
                          np.mean((1 - 0.4 * x**2) ** p), rtol=1e-12)
    with pytest.raises(ValueError, match="replace=True"):
        sgd.moment_radius(p1, lr=0.4, batch_size=1, order=4, replace=False)
    with pytest.raises(ValueError, match="order"):
        sgd.moment_radius(p1, lr=0.4, batch_size=1, order=3)
    b4 = sgd.max_stable_lr(p1, batch_size=1, order=4)
    assert np.isclose(np.mean((1 - b4 * x**2) ** 4), 1, atol=1e-9)
    assert b4 < sgd.max_stable_lr(p1, batch_size=1)


def test_tail_index():
    x = np.where(np.arange(50) < 45, 0.7, 2.6)
    p1 = sgd.LeastSquares(x, x + np.linspace(-1, 1, 50))
    for lr in (0.42, 0.5):
        alpha = sgd.tail_index(p1, lr=lr)
        assert np.isclose(np.mean(np.abs(1 - lr * x**2) ** alpha), 1, atol=1e-10)
    assert 2 < sgd.tail_index(p1, lr=0.42) < 4 < sgd.tail_index(p1, lr=0.35)
    assert sgd.tail_index(p1, lr=0.25) == math.inf
    with pytest.raises(ValueError, match="no stationary law"):
        sgd.tail_index(p1, lr=10.0)
    with pytest.raises(ValueError, match="1-D"):
        sgd.tail_index(hetero_problem(), lr=0.1)
    # B = 2: the distribution of A_B is enumerated
    a2 = (x[:, None] ** 2 + x[None, :] ** 2).ravel() / 2
    alpha2 = sgd.tail_index(p1, lr=0.5, batch_size=2)
    assert np.isclose(np.mean(np.abs(1 - 0.5 * a2) ** alpha2), 1, atol=1e-10)


# ---------------------------------------------------------------------------- the sampler


@pytest.mark.parametrize("replace", [True, False])
def test_sgd_matches_exact_covariance(replace):
    """40,000 chains against the exact covariance (three z-tests), and the Lyapunov control."""
    prob = hetero_problem()
    lr, B, n = 0.5, 4, 40_000
    S = sgd.stationary_covariance(prob, lr=lr, batch_size=B, replace=replace)
    S_l = sgd.lyapunov_covariance(prob, lr=lr, batch_size=B, replace=replace)
    ch = sgd.sgd(prob, np.tile(prob.minimizer, (n, 1)), lr=lr, batch_size=B, n_steps=200, rng=11,
                 replace=replace, burn_in=199)
    u = ch.final - prob.minimizer
    w = np.stack([u[:, 0] ** 2, u[:, 0] * u[:, 1], u[:, 1] ** 2], axis=1)
    se = w.std(axis=0, ddof=1) / math.sqrt(n)
    z = (w.mean(axis=0) - [S[0, 0], S[0, 1], S[1, 1]]) / se
    z_l = (w.mean(axis=0) - [S_l[0, 0], S_l[0, 1], S_l[1, 1]]) / se
    assert np.all(np.abs(z) <= Z), z
    assert np.max(np.abs(z_l)) > Z, z_l
    assert np.allclose(u.mean(axis=0), 0, atol=Z * np.sqrt(np.diag(S) / n).max())


def test_sgd_without_replacement_uses_distinct_points():
    # x_i = i: a batch's gradient at theta = 0 is -(1/B) sum x_i y_i; with y = 1 and distinct points
    # the step from 0 reveals the sum of B distinct x_i, which is at most the sum of the B largest
    N, B = 6, 5
    prob = sgd.LeastSquares(np.arange(1.0, N + 1), np.ones(N))
    ch = sgd.sgd(prob, np.zeros(5_000), lr=1.0, batch_size=B, n_steps=1, rng=3, replace=False)
    sums = np.round(ch.final * B).astype(int)           # sum of the chosen x_i
    total = N * (N + 1) // 2
    assert set(np.unique(sums)) == {total - k for k in range(1, N + 1)}
    ch_r = sgd.sgd(prob, np.zeros(5_000), lr=1.0, batch_size=B, n_steps=1, rng=3, replace=True)
    assert np.round(ch_r.final * B).max() > total - 1                  # repeats happen


def test_sgd_chain_bookkeeping_and_reproducibility():
    prob = hetero_problem()
    theta0 = np.zeros((6, 2))
    full = sgd.sgd(prob, theta0, lr=0.2, batch_size=3, n_steps=20, rng=5)
    part = sgd.sgd(prob, theta0, lr=0.2, batch_size=3, n_steps=20, rng=5, burn_in=4, thin=3)
    assert full.samples.shape == (20, 6, 2) and part.samples.shape == (len(range(4, 20, 3)), 6, 2)
    assert np.array_equal(part.samples, full.samples[4::3])
    assert np.array_equal(full.final, full.samples[-1]) and np.array_equal(full.final, part.final)
    assert np.all(full.acceptance_rate == 1) and full.acceptance_rate.shape == (6,)
    again = sgd.sgd(prob, theta0, lr=0.2, batch_size=3, n_steps=20, rng=np.random.default_rng(5))
    assert np.array_equal(again.samples, full.samples)
    other = sgd.sgd(prob, theta0, lr=0.2, batch_size=3, n_steps=20, rng=6)
    assert not np.array_equal(other.samples, full.samples)
    assert np.all(theta0 == 0)                                          # the input is not moved


def test_sgd_one_dimensional_shapes():
    p1 = sgd.LeastSquares(np.array([1.0, 2.0, 0.5]), np.array([1.0, 0.0, 2.0]))
    ch = sgd.sgd(p1, np.zeros(10), lr=0.1, batch_size=2, n_steps=5, rng=1)
    assert ch.samples.shape == (5, 10) and ch.final.shape == (10,)
    ch2 = sgd.sgd(p1, np.zeros((10, 1)), lr=0.1, batch_size=2, n_steps=5, rng=1)
    assert ch2.samples.shape == (5, 10, 1)
    assert np.allclose(ch2.samples[..., 0], ch.samples)


def test_large_dimension_path_matches_exact():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((30, 6))
    prob = sgd.LeastSquares(X, X @ rng.standard_normal(6) + rng.standard_normal(30))
    S = sgd.stationary_covariance(prob, lr=0.1, batch_size=5)
    ch = sgd.sgd(prob, np.tile(prob.minimizer, (20_000, 1)), lr=0.1, batch_size=5, n_steps=400, rng=2,
                 burn_in=399)
    u = ch.final - prob.minimizer
    sq = u[:, 0] ** 2
    assert abs(sq.mean() - S[0, 0]) <= Z * sq.std(ddof=1) / math.sqrt(sq.size)


def test_sgld_noise():
    prob = hetero_problem()
    T = 0.05
    S = sgd.stationary_covariance(prob, lr=0.2, batch_size=8, temperature=T)
    ch = sgd.sgd(prob, np.tile(prob.minimizer, (30_000, 1)), lr=0.2, batch_size=8, n_steps=300,
                 rng=9, burn_in=299, temperature=T)
    sq = (ch.final[:, 1] - prob.minimizer[1]) ** 2
    se = sq.std(ddof=1) / math.sqrt(sq.size)
    assert abs(sq.mean() - S[1, 1]) <= Z * se
    S0 = sgd.stationary_covariance(prob, lr=0.2, batch_size=8)
    assert abs(sq.mean() - S0[1, 1]) > Z * se                          # without the injected noise


def test_divergence_is_reported():
    prob = hetero_problem()
    with pytest.raises(lib.DivergenceError, match="lr"):
        sgd.sgd(prob, np.zeros((10, 2)), lr=50.0, batch_size=2, n_steps=2_000, rng=0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=0.0), "lr"), (dict(lr=-1.0), "lr"), (dict(lr=float("nan")), "lr"), (dict(lr="a"), "lr"),
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=2.5), "batch_size"), (dict(batch_size=True), "batch_size"),
    (dict(batch_size=41, replace=False), "without"), (dict(replace="yes"), "replace"),
    (dict(n_steps=-1), "n_steps"), (dict(burn_in=11), "burn_in"), (dict(thin=0), "thin"),
    (dict(temperature=-0.1), "temperature"), (dict(rng="seed"), "rng"),
])
def test_sgd_validation(kwargs, message):
    prob = hetero_problem()
    args = dict(lr=0.1, batch_size=2, n_steps=10, rng=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        sgd.sgd(prob, np.zeros((3, 2)), **args)


@pytest.mark.parametrize("theta0", [np.zeros(3), np.zeros((3, 3)), np.zeros((3, 2, 1)),
                                    np.array([[0.0, np.inf]]), np.zeros((0, 2))])
def test_sgd_theta0_validation(theta0):
    with pytest.raises(ValueError, match="theta0"):
        sgd.sgd(hetero_problem(), theta0, lr=0.1, batch_size=2, n_steps=1, rng=0)


def test_other_validation():
    prob = hetero_problem()
    with pytest.raises(ValueError, match="LeastSquares"):
        sgd.sgd(np.eye(2), np.zeros((3, 2)), lr=0.1, batch_size=2, n_steps=1)
    for f in (sgd.stationary_covariance, sgd.lyapunov_covariance, sgd.lag_covariance):
        with pytest.raises(ValueError, match="lr"):
            f(prob, lr=0.0, batch_size=2)
        with pytest.raises(ValueError, match="batch_size"):
            f(prob, lr=0.1, batch_size=41, replace=False)
        with pytest.raises(ValueError, match="batch_size"):
            f(prob, lr=0.1, batch_size=0)
    with pytest.raises(ValueError, match="noise_covariance|theta"):
        prob.noise_covariance(np.zeros(3))
    with pytest.raises(ValueError, match="theta"):
        prob.loss(np.zeros((2, 3)))


@settings(max_examples=25, deadline=None)
@given(n_chains=st.integers(1, 7), d=st.integers(1, 5), extra=st.integers(0, 6),
       B=st.integers(1, 6), replace=st.booleans(), n_steps=st.integers(0, 6),
       burn=st.integers(0, 6), thin=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_sgd_shapes_property(n_chains, d, extra, B, replace, n_steps, burn, thin, seed):
    N = d + 1 + extra
    rng = np.random.default_rng(seed)
    prob = sgd.LeastSquares(rng.standard_normal((N, d)) + np.eye(N, d), rng.standard_normal(N))
    burn = min(burn, n_steps)
    theta0 = rng.standard_normal((n_chains, d))
    if B > N and not replace:
        with pytest.raises(ValueError, match="batch_size"):
            sgd.sgd(prob, theta0, lr=0.01, batch_size=B, n_steps=n_steps, rng=seed, replace=replace)
        return
    ch = sgd.sgd(prob, theta0, lr=0.01, batch_size=B, n_steps=n_steps, rng=seed, replace=replace,
                 burn_in=burn, thin=thin)
    assert ch.samples.shape == (len(range(burn, n_steps, thin)), n_chains, d)
    assert ch.final.shape == theta0.shape and np.all(np.isfinite(ch.final))
    S = sgd.stationary_covariance(prob, lr=0.01, batch_size=B, replace=replace)
    assert S.shape == (d, d) and np.allclose(S, S.T) and np.all(np.linalg.eigvalsh(S) >= -1e-15)


@settings(max_examples=25, deadline=None)
@given(lr=st.one_of(st.floats(max_value=0.0), st.just(float("inf")), st.just(float("nan"))),
       B=st.integers(-3, 60))
def test_validation_property(lr, B):
    prob = hetero_problem()
    with pytest.raises(ValueError):
        sgd.stationary_covariance(prob, lr=lr, batch_size=B)
    if B < 1:
        with pytest.raises(ValueError, match="batch_size"):
            sgd.lyapunov_covariance(prob, lr=0.1, batch_size=B)
    if not 1 <= B <= prob.n:
        with pytest.raises(ValueError, match="batch_size"):
            sgd.lyapunov_covariance(prob, lr=0.1, batch_size=B, replace=False)


# ---------------------------------------------------------------------------- reshuffling


def test_reshuffling():
    prob = hetero_problem()
    ch = sgd.sgd_reshuffled(prob, np.zeros((3, 2)), lr=0.1, batch_size=40, n_epochs=4, rng=1)
    theta = np.zeros(2)
    for _ in range(4):
        theta = theta - 0.1 * prob.grad(theta)
    assert np.allclose(ch.final, theta)                                 # B = N: gradient descent
    # two data points, B = 1: epoch-end variance eta^4 s^2 / (1 - (1 - eta)^4)
    p2 = sgd.LeastSquares(np.ones(2), np.array([1.0, -1.0]))
    lr = 0.3
    ch2 = sgd.sgd_reshuffled(p2, np.zeros(20_000), lr=lr, batch_size=1, n_epochs=50, rng=2, burn_in=49)
    sq = ch2.final**2
    v = lr**4 / (1 - (1 - lr) ** 4)
    se = sq.std(ddof=1) / math.sqrt(sq.size)
    assert abs(sq.mean() - v) <= Z * se
    assert abs(sq.mean() - lr / (2 - lr)) > Z * se                   # with-replacement value rejected
    every = sgd.sgd_reshuffled(p2, np.zeros(4), lr=lr, batch_size=1, n_epochs=3, rng=2, every_step=True)
    assert every.samples.shape == (6, 4)
    with pytest.raises(ValueError, match="divide"):
        sgd.sgd_reshuffled(prob, np.zeros((2, 2)), lr=0.1, batch_size=7, n_epochs=1)


# ---------------------------------------------------------------------------- 1-D Gaussian-noise tools


def quad_grad(t):
    return 1.5 * t


def const_var(t):
    return np.full_like(np.asarray(t, dtype=float), 0.8)


def test_noisy_gd_quadratic_closed_form():
    lr, n = 0.4, 40_000
    ch = sgd.noisy_gd(quad_grad, const_var, np.zeros(n), lr=lr, n_steps=60, rng=3, burn_in=59)
    v = lr**2 * 0.8 / (1 - (1 - 1.5 * lr) ** 2)
    sq = ch.final**2
    se = sq.std(ddof=1) / math.sqrt(n)
    assert abs(sq.mean() - v) <= Z * se and abs(sq.mean() - lr * 0.8 / 3) > Z * se
    sched = sgd.noisy_gd(quad_grad, const_var, np.zeros(5), lr=np.full(7, 0.1), n_steps=7, rng=1)
    assert sched.samples.shape == (7, 5)
    with pytest.raises(ValueError, match="schedule"):
        sgd.noisy_gd(quad_grad, const_var, np.zeros(5), lr=np.full(6, 0.1), n_steps=7)
    with pytest.raises(lib.DivergenceError):
        sgd.noisy_gd(lambda t: t**3, const_var, np.full(4, 30.0), lr=0.5, n_steps=50, rng=0)


def test_transition_matrix_against_closed_forms_and_simulation():
    """SGD's step on the grid (lib.sgd.transition_matrix) with lib.fokker_planck's chain tools."""
    grid = np.linspace(-4, 4, 801)
    lr = 0.3
    P = sgd.transition_matrix(quad_grad, const_var, grid, lr=lr)
    assert np.allclose(P.sum(axis=1), 1)
    p = kernel_stationary_density(P, grid)
    dx = grid[1] - grid[0]
    v = lr**2 * 0.8 / (1 - (1 - 1.5 * lr) ** 2)
    assert np.isclose(np.sum(grid**2 * p) * dx, v, rtol=2e-3)
    assert np.isclose(kernel_relaxation(P), 1 - 1.5 * lr, rtol=1e-3)
    # mean first passage from 0 to 1: grid solve against simulation
    tau = kernel_first_passage(P, grid, start=0.0, target=1.0)
    steps = sgd.first_passage_steps(quad_grad, const_var, np.zeros(4_000), lr=lr, target=1.0, rng=5)
    se = steps.std(ddof=1) / math.sqrt(steps.size)
    assert abs(steps.mean() - tau) <= Z * se
    assert abs(steps.mean() - 1.15 * tau) > Z * se                      # a 15% error is detected
    with pytest.raises(ValueError, match="same side"):
        sgd.first_passage_steps(quad_grad, const_var, np.array([0.0, 2.0]), lr=lr, target=1.0)
    with pytest.raises(ValueError, match="noise_var must be positive"):
        sgd.transition_matrix(quad_grad, lambda t: np.zeros_like(t), grid, lr=lr)
    with pytest.raises(ValueError, match="grad must be a callable"):
        sgd.transition_matrix(1.5, const_var, grid, lr=lr)


# ---------------------------------------------------------------------------- batches above N


def test_batch_size_above_n_with_replacement():
    """B > N with replacement: an average of B draws, exactly the formulas with f = 1."""
    prob = small_problem(N=3, d=2, seed=4)
    B = 5
    lr = 0.5 * sgd.max_stable_lr(prob, batch_size=B)
    exact = sgd.stationary_covariance(prob, lr=lr, batch_size=B)
    assert np.allclose(exact, brute_stationary(prob, lr, B, True), rtol=1e-9, atol=1e-14)
    # the noise of a batch mean of B iid per-sample gradients is C / B, for any B
    _, b = brute_moments(prob, B, True)
    assert np.allclose(np.einsum("ka,kb->ab", b, b) / len(b), prob.noise_covariance() / B)
    ch = sgd.sgd(prob, np.tile(prob.minimizer, (4, 1)), lr=lr, batch_size=B, n_steps=3, rng=0)
    assert ch.samples.shape == (3, 4, 2) and np.all(np.isfinite(ch.samples))
    with pytest.raises(ValueError, match="without replacement"):
        sgd.sgd(prob, np.zeros((2, 2)), lr=0.1, batch_size=4, n_steps=1, replace=False)


def test_sgd_above_n_matches_exact_covariance():
    prob = hetero_problem(N=6, seed=3)
    lr, B, n = 0.3, 9, 20_000
    S = sgd.stationary_covariance(prob, lr=lr, batch_size=B)
    ch = sgd.sgd(prob, np.tile(prob.minimizer, (n, 1)), lr=lr, batch_size=B, n_steps=150, rng=4,
                 burn_in=149)
    res = lib.stats.covariance_wald_test(ch.final - prob.minimizer, S, level=1e-5)
    assert res.passed                                                     # false alarm 1e-5
    S_small = sgd.stationary_covariance(prob, lr=lr, batch_size=B - 3)    # negative control
    assert res.power(S, S_small) > 0.99
    assert not lib.stats.covariance_wald_test(ch.final - prob.minimizer, S_small, level=1e-5).passed


# ---------------------------------------------------------------------------- without replacement


@pytest.mark.parametrize("N, B", [(8, 3), (6, 3), (16, 8), (64, 8)])
def test_distinct_batches_are_uniform(N, B):
    """Every ordered tuple of B distinct points equally likely (chi-square over all of them, or over
    the unordered sets when there are too many); both the raw-bit path (N a power of two) and the
    gen.integers path (N = 6), with and without leftover single points (N = 16: k = 3, B % k = 2)."""
    k = 1
    while k < B and N ** (k + 1) <= sgd._TABLE_ENTRIES:
        k += 1
    batches = sgd._DistinctBatches(N, B, k)
    gen = np.random.default_rng(N + B)
    m = 60_000
    ii, jj = batches.draw(gen, m)
    assert ii.shape == (B // k, m) and jj.shape == (B % k, m)
    # decode the indices: a k-tuple index is i_1 N^(k-1) + ... + i_k
    points = []
    for g in range(B // k):
        v = ii[g].copy()
        digits = []
        for _ in range(k):
            digits.append(v % N)
            v //= N
        points += digits[::-1]
    points += list(jj)
    pts = np.array(points)                                                  # (B, m)
    assert np.all(np.sort(pts, axis=0)[1:] != np.sort(pts, axis=0)[:-1])    # all distinct
    # the first point uniform, and the unordered pair of the first two uniform
    counts = np.bincount(pts[0], minlength=N)
    chi2 = np.sum((counts - m / N) ** 2 / (m / N))
    import scipy.stats
    assert scipy.stats.chi2.sf(chi2, N - 1) > 1e-5
    pair = np.minimum(pts[0], pts[1]) * N + np.maximum(pts[0], pts[1])
    cells = np.bincount(pair, minlength=N * N).reshape(N, N)[np.triu_indices(N, 1)]
    e = m / len(cells)
    assert scipy.stats.chi2.sf(np.sum((cells - e) ** 2 / e), len(cells) - 1) > 1e-5


def test_sgd_without_replacement_fast_path_matches_exact():
    """N = 64 (a power of two: the raw-bit path), B = 8, against the exact covariance."""
    rng = np.random.default_rng(8)
    X = rng.standard_normal((64, 2)) * [1.0, 0.6]
    prob = sgd.LeastSquares(X, X @ [1.0, -0.5] + rng.standard_normal(64) * (1 + np.abs(X[:, 1])))
    lr, B, n = 0.3, 8, 30_000
    S = sgd.stationary_covariance(prob, lr=lr, batch_size=B, replace=False)
    burn = sgd.burn_in_steps(prob, lr=lr, batch_size=B, replace=False, tol=1e-3 * np.diag(S).min())
    ch = sgd.sgd(prob, np.tile(prob.minimizer, (n, 1)), lr=lr, batch_size=B, n_steps=burn + 1, rng=9,
                 replace=False, burn_in=burn)
    u = ch.final - prob.minimizer
    assert lib.stats.covariance_wald_test(u, S, level=1e-5).passed
    S_with = sgd.stationary_covariance(prob, lr=lr, batch_size=B)            # negative control
    res = lib.stats.covariance_wald_test(u, S_with, level=1e-5)
    assert res.power(S, S_with) > 0.99 and not res.passed


# ---------------------------------------------------------------------------- helpers


def test_lyapunov_warns_above_the_stability_bound():
    prob = hetero_problem()
    bound = sgd.max_stable_lr(prob, batch_size=2)
    with pytest.warns(RuntimeWarning, match="max_stable_lr"):
        S = sgd.lyapunov_covariance(prob, lr=1.01 * bound, batch_size=2)
    assert np.allclose(prob.hessian @ S + S @ prob.hessian,
                       1.01 * bound * prob.noise_covariance() / 2)            # still the SDE's
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sgd.lyapunov_covariance(prob, lr=0.99 * bound, batch_size=2)


def test_burn_in_steps():
    prob = hetero_problem()
    lr, B, tol = 0.3, 4, 1e-6
    k = sgd.burn_in_steps(prob, lr=lr, batch_size=B, tol=tol)
    S = sgd.stationary_covariance(prob, lr=lr, batch_size=B)
    op = sgd.second_moment_operator(prob, lr=lr, batch_size=B)
    # the covariance after k steps from theta*, by iterating the exact second-moment recursion
    A, b = brute_moments(hetero_problem(N=40), 1, True)
    S_k = np.zeros((2, 2))
    for _ in range(k):
        S_k = (op @ S_k.reshape(-1)).reshape(2, 2) + lr**2 * prob.noise_covariance() / B
    assert np.abs(S_k - S).max() <= tol * (1 + 1e-9)
    S_k1 = np.zeros((2, 2))
    for _ in range(k - 1):
        S_k1 = (op @ S_k1.reshape(-1)).reshape(2, 2) + lr**2 * prob.noise_covariance() / B
    assert np.abs(S_k1 - S).max() > tol
    with pytest.raises(ValueError, match="tol"):
        sgd.burn_in_steps(prob, lr=lr, batch_size=B, tol=0.0)
    with pytest.raises(ValueError, match="max_steps"):
        sgd.burn_in_steps(prob, lr=lr, batch_size=B, tol=1e-12, max_steps=3)


def exact_epoch_mean(prob, lr, B):
    """Exact stationary mean of reshuffled SGD at epoch ends, by enumerating every permutation:
    u -> Phi u + psi, mean = (I - E Phi)^{-1} E psi."""
    N, d = prob.n, prob.dim
    EPhi, Epsi, count = np.zeros((d, d)), np.zeros(d), 0
    for perm in itertools.permutations(range(N)):
        Phi, psi = np.eye(d), np.zeros(d)
        for s in range(N // B):
            idx = list(perm[s * B:(s + 1) * B])
            A = prob.X[idx].T @ prob.X[idx] / B
            b = prob.X[idx].T @ prob.residuals[idx] / B
            Phi, psi = (np.eye(d) - lr * A) @ Phi, (np.eye(d) - lr * A) @ psi - lr * b
        EPhi, Epsi, count = EPhi + Phi, Epsi + psi, count + 1
    return np.linalg.solve(np.eye(d) - EPhi / count, Epsi / count)


def test_reshuffling_mean_is_the_leading_order_of_the_exact_mean():
    prob = small_problem(N=6, d=2, seed=12)
    errors = []
    for lr in (0.02, 0.01):
        exact = exact_epoch_mean(prob, lr, 2)
        lead = sgd.reshuffling_mean(prob, lr=lr, batch_size=2)
        errors.append(np.linalg.norm(exact - lead) / np.linalg.norm(lead))
    assert errors[1] < 0.05 and abs(errors[0] / errors[1] - 2) < 0.2        # O(eta) relative error
    # zero for B = N (gradient descent) and for data with sum |x|^2 r x = 0
    assert np.allclose(sgd.reshuffling_mean(prob, lr=0.1, batch_size=6), 0)
    p2 = sgd.LeastSquares(np.ones(2), np.array([1.0, -1.0]))
    assert np.allclose(sgd.reshuffling_mean(p2, lr=0.1, batch_size=1), 0)
    with pytest.raises(ValueError, match="divide"):
        sgd.reshuffling_mean(prob, lr=0.1, batch_size=4)


def test_nystrom_kernel_sparse_solves_match_dense():
    """lib.fokker_planck's sparse solves give the dense answers for the same matrix, and the Nystrom
    chain agrees with the cell quadrature on a fine grid."""
    from lib import fokker_planck as _  # noqa: F401  (the function shadows the module)
    import sys
    fpm = sys.modules["lib.fokker_planck"]

    def dL(t):
        return t**3 - t + 0.05

    def V(t):
        return 1.0 - 0.9 * t + 0.25 * t**2

    grid = sgd.nystrom_grid(V, -3.0, 3.0, lr=0.2, cells_per_sd=5)
    dx = grid[1] - grid[0]
    assert dx <= 0.2 * math.sqrt(V(np.linspace(-3.0, 3.0, 2001)).min()) / 5 + 1e-12
    P = sgd.transition_matrix(dL, V, grid, lr=0.2, quadrature="nystrom")
    assert hasattr(P, "toarray")                                            # sparse
    p_sparse = fpm.kernel_stationary_density(P, grid)
    p_dense = fpm.kernel_stationary_density(P.toarray(), grid)
    assert np.allclose(p_sparse, p_dense, rtol=1e-8, atol=1e-12)
    t_sparse = fpm.kernel_first_passage(P, grid, start=-1.0, target=0.97)
    t_dense = fpm.kernel_first_passage(P.toarray(), grid, start=-1.0, target=0.97)
    assert math.isclose(t_sparse, t_dense, rel_tol=1e-8)
    # the mass of the left well against the cell quadrature (error O(dx^2): Richardson-extrapolated
    # from two grids) and against the Nystrom grid twice as fine
    left_n = fpm.grid_cdf(p_sparse, grid, 0.05)
    cells = []
    for m in (1001, 2001):
        fine = np.linspace(-3.0, 3.0, m)
        Pc = sgd.transition_matrix(dL, V, fine, lr=0.2)
        cells.append(fpm.grid_cdf(fpm.kernel_stationary_density(Pc, fine), fine, 0.05))
    assert abs(left_n / ((4 * cells[1] - cells[0]) / 3) - 1) < 1e-4
    g2 = sgd.nystrom_grid(V, -3.0, 3.0, lr=0.2, cells_per_sd=10)
    P2 = sgd.transition_matrix(dL, V, g2, lr=0.2, quadrature="nystrom")
    assert abs(fpm.grid_cdf(fpm.kernel_stationary_density(P2, g2), g2, 0.05) / left_n - 1) < 1e-4
    with pytest.raises(ValueError, match="cells_per_sd"):
        sgd.nystrom_grid(V, -1, 1, lr=0.2, cells_per_sd=0)


def test_grid_cdf_is_second_order():
    import sys
    import lib.fokker_planck  # noqa: F401
    fpm = sys.modules["lib.fokker_planck"]
    x, exact = 0.3137, 0.5 * (1 + math.erf(0.3137 / math.sqrt(2)))
    for m in (101, 201, 401, 801):
        g = np.linspace(-5, 5, m)
        dx = g[1] - g[0]
        p = np.exp(-0.5 * g**2)
        # O(dx^2) (the constant depends on where x falls between grid points) ...
        assert abs(fpm.grid_cdf(p, g, x) - exact) <= 0.05 * dx**2
        # ... where the sum over the grid points below x is first order
        naive = p[g < x].sum() / p.sum()
        assert abs(naive - exact) > 10 * abs(fpm.grid_cdf(p, g, x) - exact)
    assert fpm.grid_cdf(p, g, -10) == 0 and fpm.grid_cdf(p, g, 10) == 1
    with pytest.raises(ValueError, match="density"):
        fpm.grid_cdf(-p, g, 0.0)
