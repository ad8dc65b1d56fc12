"""Gradient-flow analysis for every cell: the whole state's step Jacobian, its sigma_max, the d s_t/d s_k map,
the carry-gate products and the compare-cells helper, against direct computation.

Jacobians: float64 centred finite differences of one step (the cell's own
explain_step, run from the perturbed previous state), relative error < FD_TOL
= 1e-6. sigma_max: numpy.linalg.svd of the dense Jacobians (Lanczos with k >= S
is exact up to rounding: rtol 1e-9). The map: explicit products of the dense
Jacobians (abs 1e-9 in log10).
"""

import numpy as np
import pytest
from helpers import FD_TOL, relative_error

from rnn_core import GRU, LSTM, SimpleRNN
from rnn_core.analysis.gradient_flow import (
    carry_products,
    compare_cells,
    fit_decay,
    flow_budget,
    layer_step_jacobian,
    state_flow,
    state_jacobian_map,
    state_jacobian_norms,
)

B, T, D, H = 2, 6, 3, 4
VARIANTS = {
    "SimpleRNN": (SimpleRNN, {}),
    "SimpleRNN-relu": (SimpleRNN, {"activation": "relu"}),
    "LSTM": (LSTM, {}),
    "LSTM-hard_sigmoid": (LSTM, {"recurrent_activation": "hard_sigmoid"}),
    "GRU": (GRU, {}),
    "GRU-reset_before": (GRU, {"reset_after": False}),
    "GRU-hard_sigmoid": (GRU, {"recurrent_activation": "hard_sigmoid"}),
}


def run_layer(variant, rng, T=T, scale=0.8, mask=None, **kwargs):
    """A float64 layer with random weights, called once on a random input."""
    cls, kw = VARIANTS[variant]
    layer = cls(H, return_sequences=True, **kw, **kwargs)
    layer.build((B, T, D))
    layer.set_weights([rng.normal(0, scale, w.shape) for w in layer.get_weights()])
    x = rng.normal(size=(B, T, D))
    layer(x, mask=mask, initial_state=[rng.normal(size=(B, H)) for _ in layer.cell.state_names])
    return layer


def step_state(layer, t, b, prev):
    """s_t = [h_t, (c_t)] from s_{t-1} = prev (S,) by one step of the cell (float64)."""
    names = layer.cell.state_names
    parts = tuple(prev[i * H:(i + 1) * H] for i in range(len(names)))
    out = layer.cell.explain_step(layer.last_trace.x[t, b], parts, layer.get_weights())
    return np.concatenate([out[s] for s in names])


def numeric_jacobian(layer, t, b, eps=1e-6):
    tr, names = layer.last_trace, layer.cell.state_names
    prev = np.concatenate([tr.states[s][t, b] for s in names]).astype(np.float64)
    S = len(prev)
    jac = np.empty((S, S))
    for j in range(S):
        e = np.zeros(S)
        e[j] = eps
        jac[:, j] = (step_state(layer, t, b, prev + e) - step_state(layer, t, b, prev - e)) / (2 * eps)
    return jac


@pytest.mark.parametrize("variant", VARIANTS)
def test_step_jacobian_matches_finite_differences(variant, rng):
    layer = run_layer(variant, rng)
    for b in range(B):
        jac = layer_step_jacobian(layer, b)
        assert len(jac) == T and jac.size == H * len(layer.cell.state_names)
        dense = jac.dense()
        # The step itself is the trace's: explain_step from the trace's s_{t-1} gives the trace's s_t.
        for t in range(T):
            tr = layer.last_trace
            prev = np.concatenate([tr.states[s][t, b] for s in layer.cell.state_names])
            np.testing.assert_allclose(step_state(layer, t, b, prev),
                                       np.concatenate([tr.states[s][t + 1, b] for s in layer.cell.state_names]),
                                       rtol=1e-12, atol=1e-12)
            err = relative_error(dense[t], numeric_jacobian(layer, t, b))
            assert err < FD_TOL, f"{variant} step {t} sequence {b}: relative error {err:.2e}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_transpose_product_is_the_transpose(variant, rng):
    layer = run_layer(variant, rng)
    jac = layer_step_jacobian(layer)
    S = jac.size
    w = rng.normal(size=(T, 3, S))
    dense = jac.dense()
    np.testing.assert_allclose(jac.rmatvec(w), np.einsum("tij,tmi->tmj", dense, w), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(jac.matvec(w), np.einsum("tij,tmj->tmi", dense, w), rtol=1e-12, atol=1e-12)


def test_masked_steps_are_the_identity(rng):
    mask = np.ones((B, T), bool)
    mask[0, [1, 4]] = False
    layer = run_layer("LSTM", rng, mask=mask)
    dense = layer_step_jacobian(layer, 0).dense()
    for t in (1, 4):
        np.testing.assert_array_equal(dense[t], np.eye(2 * H))
    assert not np.allclose(dense[2], np.eye(2 * H))
    err = relative_error(dense[2], numeric_jacobian(layer, 2, 0))
    assert err < FD_TOL


def test_lstm_cell_block_is_the_forget_gate(rng):
    layer = run_layer("LSTM", rng)
    dense = layer_step_jacobian(layer, 1).dense()
    f = layer.last_sequences()["f"][1]                         # (T, H)
    for t in range(T):
        np.testing.assert_allclose(dense[t][H:, H:], np.diag(f[t]), rtol=1e-12)


def test_recurrent_dropout_and_missing_call_are_refused(rng):
    with pytest.raises(ValueError, match="forward call"):
        layer_step_jacobian(LSTM(H))
    layer = LSTM(H, recurrent_dropout=0.5, seed=0)
    layer(rng.normal(size=(B, T, D)), training=True)
    with pytest.raises(ValueError, match="training=False"):
        layer_step_jacobian(layer)
    with pytest.raises(ValueError, match="Sequence 5"):
        layer(rng.normal(size=(B, T, D)))
        layer_step_jacobian(layer, 5)


@pytest.mark.parametrize("variant", VARIANTS)
def test_sigma_max_matches_svd(variant, rng):
    layer = run_layer(variant, rng, T=12)
    jac = layer_step_jacobian(layer)
    sigma, k = state_jacobian_norms(jac)
    assert k == jac.size                                        # k = min(40, S): exact Krylov space
    exact = np.linalg.svd(jac.dense(), compute_uv=False)[:, 0]
    np.testing.assert_allclose(sigma, exact, rtol=1e-9)
    # In chunks (a tiny byte budget) the numbers are the same.
    chunked, _ = state_jacobian_norms(jac, max_bytes=1)
    np.testing.assert_allclose(chunked, sigma, rtol=1e-12)


def test_sigma_max_on_a_wide_lstm_is_within_lanczos_accuracy(rng):
    layer = LSTM(64, return_sequences=True, seed=0)
    layer(rng.normal(size=(1, 30, 5)))
    jac = layer_step_jacobian(layer)
    sigma, k = state_jacobian_norms(jac)
    assert k == 40
    exact = np.linalg.svd(jac.dense(), compute_uv=False)[:, 0]
    np.testing.assert_allclose(sigma, exact, rtol=1e-6)


def explicit_products(dense, k, t):
    p = np.eye(dense.shape[1])
    for s in range(k + 1, t + 1):
        p = dense[s] @ p
    return p


@pytest.mark.parametrize("variant", ["SimpleRNN", "LSTM", "GRU", "GRU-reset_before"])
def test_map_matches_explicit_products(variant, rng):
    layer = run_layer(variant, rng, T=10)
    jac = layer_step_jacobian(layer)
    dense = jac.dense()
    m = state_jacobian_map(jac, max_points=32)
    assert m.exact_grid and list(m.steps) == list(range(10))
    for t in range(10):
        for k in range(t + 1):
            expected = np.log10(np.linalg.norm(explicit_products(dense, k, t), 2))
            assert m.log10_norm[t, k] == pytest.approx(expected, abs=1e-9), (t, k)
        assert np.isnan(m.log10_norm[t, t + 1:]).all()
    # On a grid (fewer points than steps) each entry is still the exact product between grid steps.
    g = state_jacobian_map(jac, max_points=4, max_bytes=1)
    assert not g.exact_grid and len(g.steps) == 4
    for i, t in enumerate(g.steps):
        for j, k in enumerate(g.steps[:i + 1]):
            expected = np.log10(np.linalg.norm(explicit_products(dense, k, t), 2))
            assert g.log10_norm[i, j] == pytest.approx(expected, abs=1e-9)


def test_carry_products_match_explicit_products(rng):
    gate = rng.uniform(0.05, 1.0, size=(50, 6))
    gate[10, 2] = 0.0                                           # hard_sigmoid can close a gate completely
    c = carry_products(gate, end=40, max_points=7)
    assert list(c.distance) == [0, 7, 13, 20, 27, 33, 40] and c.end == 40
    for i, d in enumerate(c.distance):
        p = np.prod(gate[41 - d:41], axis=0)                    # f_{k+1} ... f_end, k = 40 - d
        with np.errstate(divide="ignore"):
            np.testing.assert_allclose(c.log10_per_unit[i], np.log10(p), rtol=1e-10)
    for d in range(41):
        p = np.prod(gate[41 - d:41], axis=0)
        assert c.log10_mean[d] == pytest.approx(np.log10(p.mean()), rel=1e-10)
        assert c.log10_max[d] == pytest.approx(np.log10(p.max()), rel=1e-10)
    long = carry_products(np.full((2000, 3), 0.5))              # 0.5^1999 underflows float64: logs do not
    assert long.log10_mean[-1] == pytest.approx(1999 * np.log10(0.5))


@pytest.mark.parametrize("variant", ["SimpleRNN", "LSTM", "GRU"])
def test_state_flow(variant, rng):
    layer = run_layer(variant, rng, T=40)
    flow = state_flow(layer, b=1, max_sigma_steps=10, max_points=8)
    jac = layer_step_jacobian(layer, 1)
    assert flow.size == jac.size and flow.state_names == layer.cell.state_names
    assert len(flow.sigma_steps) == 10 and flow.sigma_steps[0] == 0 and flow.sigma_steps[-1] == 39
    np.testing.assert_allclose(flow.sigma, state_jacobian_norms(jac.take(flow.sigma_steps))[0], rtol=1e-12)
    assert flow.map_start == 0 and flow.map.steps[-1] == 39
    gate = {"SimpleRNN": None, "LSTM": "f", "GRU": "z"}[variant]
    if gate is None:
        assert flow.carry is None
    else:
        assert flow.carry.gate == gate
        np.testing.assert_allclose(flow.carry.log10_max[1], np.log10(layer.last_sequences()[gate][1, -1].max()))
    # A tiny budget: the map covers only the last window of steps, and says so.
    small = state_flow(layer, b=1, map_flops=2 * jac.size ** 3 * 12)
    points, window = flow_budget(40, jac.size, 32, 2 * jac.size ** 3 * 12)
    assert small.map_start == 40 - window and window == 12 and small.map.steps[0] == 28
    assert "the last 12 of 40 steps" in small.map.method


def test_flow_budget_matches_the_simple_rnn_analysis():
    """At S = H the budget is the one explorer.runs uses for SimpleRNN (1,192 steps at H=128)."""
    assert flow_budget(100_000, 128) == (32, 1192)
    assert flow_budget(100_000, 256) == (17, 149)               # an LSTM with H=128 has S = 256
    assert flow_budget(50, 8) == (32, 50)


@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
def test_compare_cells_norms_are_products_of_the_jacobians(cell, rng):
    """||dL/dh_k|| from the layer's BPTT equals the h part of (J_T ... J_{k+1})^T [g, 0] from the cell Jacobians."""
    x = rng.normal(size=(25, 2))
    (flow,) = compare_cells(x, units=5, seed=3, cells=(cell,))
    layer = {"SimpleRNN": SimpleRNN, "LSTM": LSTM, "GRU": GRU}[cell](5, seed=3)
    layer.build((1, 25, 2))
    layer.set_weights([w.astype(np.float64) for w in layer.get_weights()])
    layer(x[None])
    dense = layer_step_jacobian(layer).dense()
    g = np.random.default_rng(3).standard_normal(5)
    w = np.concatenate([g / np.linalg.norm(g), np.zeros(dense.shape[1] - 5)])
    expected = np.empty(25)
    for k in range(24, -1, -1):
        expected[k] = np.linalg.norm(w[:5])
        w = dense[k].T @ w
    np.testing.assert_allclose(flow.hidden_norms, expected, rtol=1e-10)
    assert flow.cell == cell and flow.fit == fit_decay(flow.hidden_norms)


def test_compare_cells_on_an_impulse():
    from rnn_core.inputs.examples import make_example

    x = make_example("impulse", 200).inputs
    flows = compare_cells(x, units=16)
    assert [f.cell for f in flows] == ["SimpleRNN", "LSTM", "GRU"]
    for f in flows:
        assert f.hidden_norms.shape == (200,) and f.hidden_norms[-1] == pytest.approx(1.0)
        assert f.fit is not None and 0 < f.fit.factor < 1.5
    with pytest.raises(ValueError, match="Unknown cell"):
        compare_cells(x, cells=("Dense",))
    with pytest.raises(ValueError, match="at least 2 steps"):
        compare_cells(np.zeros(1))


def test_benchmark_runs_at_a_tiny_size():
    """bench/bench_analysis.py is not a timed test; this runs it once, tiny, so it cannot rot."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "bench.bench_analysis", "--quick"], cwd=root, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    for name in ("| SimpleRNN | (12, 4) | 4 |", "| LSTM | (12, 4) | 8 |", "| GRU | (12, 4) | 4 |",
                 "| Bidirectional(LSTM) fwd+BPTT |"):
        assert name in out.stdout, out.stdout
