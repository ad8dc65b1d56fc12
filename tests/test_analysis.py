"""Gradient-flow analysis against direct computation (SVDs and explicit Jacobian products)."""

import numpy as np
import pytest

from rnn_core import ACTIVATIONS
from rnn_core.analysis.gradient_flow import (
    fit_decay,
    jacobian_norm_map,
    pascanu_report,
    recurrent_contributions,
    step_jacobian_norms,
)
from rnn_core.layers import activations


def jacobians(fprime, u):
    return [np.diag(fprime[t]) @ u.T for t in range(len(fprime))]


def test_step_sigma_matches_svd(rng):
    T, H = 30, 9
    fprime = rng.uniform(0, 1, size=(T, H))
    u = rng.normal(size=(H, H)) / np.sqrt(H)
    sigma, steps = step_jacobian_norms(fprime, u)
    exact = [np.linalg.norm(j, 2) for j in jacobians(fprime, u)]
    np.testing.assert_allclose(sigma, exact, rtol=1e-9)     # k >= H: Lanczos is exact up to rounding


def test_step_sigma_on_clustered_spectra_matches_svd(rng):
    """diag(f') times an orthogonal U has many close singular values: where the power iteration crawls."""
    T, H = 40, 128
    fprime = rng.uniform(0.9, 1.0, size=(T, H))
    u = np.linalg.qr(rng.normal(size=(H, H)))[0]
    sigma, steps = step_jacobian_norms(fprime, u)
    assert steps == 40
    exact = [np.linalg.norm(j, 2) for j in jacobians(fprime, u)]
    np.testing.assert_allclose(sigma, exact, rtol=1e-3)     # 40 Lanczos steps on H=128: within 0.1%


def test_jacobian_map_matches_products_exactly_on_short_sequences(rng):
    T, H = 10, 5
    fprime = rng.uniform(0.2, 1, size=(T, H))
    u = rng.normal(size=(H, H)) * 0.7
    m = jacobian_norm_map(fprime, u, max_points=32)
    assert m.exact_grid and list(m.steps) == list(range(T))
    js = jacobians(fprime, u)
    for t in range(T):
        for k in range(t + 1):
            p = np.eye(H)
            for j in range(k + 1, t + 1):
                p = js[j] @ p
            assert m.log10_norm[t, k] == pytest.approx(np.log10(np.linalg.norm(p, 2)), abs=1e-9)
        assert np.isnan(m.log10_norm[t, t + 1:]).all()


def test_jacobian_map_survives_explosion_over_long_sequences(rng):
    T, H = 600, 6
    u = np.linalg.qr(rng.normal(size=(H, H)))[0] * 3.0     # every step stretches by 3: 3^600 overflows float64
    m = jacobian_norm_map(np.ones((T, H)), u, max_points=16)
    assert not m.exact_grid and len(m.steps) == 16
    assert m.log10_norm[-1, 0] == pytest.approx((T - 1) * np.log10(3.0), rel=1e-6)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_max_slope_is_the_sup_of_the_derivative(name):
    act = activations.get(name)
    z = np.linspace(-12, 12, 240001)
    slope = np.abs(act.derivative(z, act.forward(z))).max()
    if np.isinf(act.max_slope):
        assert slope > 1e4
    else:
        assert slope <= act.max_slope + 1e-9 and slope >= 0.999 * act.max_slope


def test_pascanu_verdicts(rng):
    q = np.linalg.qr(rng.normal(size=(8, 8)))[0]
    tanh = activations.get("tanh")
    assert "vanish" in pascanu_report(0.5 * q, tanh).verdict
    assert "exploding gradients are possible" in pascanu_report(1.5 * q, tanh).verdict
    assert "on the edge" in pascanu_report(q, tanh).verdict
    assert "vanish" in pascanu_report(2.0 * q, activations.get("sigmoid")).verdict   # gamma = 1/4


def test_fit_decay_recovers_a_geometric_rate():
    norms = 0.8 ** np.arange(20)[::-1]          # loss at the end: norm shrinks by 0.8 per step back
    fit = fit_decay(norms)
    assert fit.factor == pytest.approx(0.8) and fit.r2 == pytest.approx(1.0)
    assert fit.half_life == pytest.approx(np.log(2) / -np.log(0.8))
    assert fit_decay(np.array([np.inf, 0.0, np.nan])) is None


def test_recurrent_contributions_equal_explicit_outer_products(rng):
    h, dz = rng.normal(size=(5, 3, 4)), rng.normal(size=(5, 3, 4))
    explicit = [np.linalg.norm(h[t].T @ dz[t]) for t in range(5)]
    np.testing.assert_allclose(recurrent_contributions(h, dz), explicit, rtol=1e-12)


def test_overflowed_jacobians_give_nan_not_an_exception(rng):
    fprime = rng.uniform(size=(6, 4))
    fprime[3, 1] = np.inf
    with np.errstate(invalid="ignore"):          # inf * 0 inside the products is the point of this test
        sigma, _ = step_jacobian_norms(fprime, np.eye(4))
        m = jacobian_norm_map(fprime, np.eye(4))
    assert np.isnan(sigma[3]) and np.isfinite(np.delete(sigma, 3)).all()
    assert np.isfinite(m.log10_norm[2, 0]) and not np.isfinite(m.log10_norm[5, 0])
