"""Interpretation tools against independent computations.

* selection (LSTMVis): planted patterns, and a brute-force re-implementation of the ranking written with loops;
* state space: PCA against the covariance matrix's eigendecomposition and numpy's SVD, Pearson's r against
  np.corrcoef, gate saturation against gates recomputed step by step with each cell's explain_step;
* fixed points: layers built to have known fixed points (closed forms, a bisection, a winner-take-all network,
  a ghost found on a grid), every point stepped through the layer's own forward pass, Jacobians against
  centred finite differences and the cells' own StepJacobian, and (marked keras) every point stepped through
  the real keras.layers.*Cell with the same weights, its Jacobian and eigenvalues against TensorFlow's
  (tf.GradientTape.batch_jacobian).

Tolerances are written where they are used: float64 throughout, so 1e-9 unless a comment says otherwise.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import random_rnn

from rnn_core import CELLS, LSTM, SimpleRNN
from rnn_core.analysis.fixed_points import FixedPoints, fixed_points, step_and_jacobian, step_map
from rnn_core.analysis.selection import Match, match_pattern, selected_units
from rnn_core.analysis.state_space import correlated_units, gate_saturation, pca_trajectories, saturation_fractions
from rnn_core.messages import Message, UserError

ROOT = Path(__file__).resolve().parents[1]

# (cell name, layer arguments): every variant the fixed-point search writes its own step for.
VARIANTS = [
    ("simple_rnn", {}),
    ("simple_rnn", {"activation": "relu"}),
    ("simple_rnn", {"activation": "softsign", "use_bias": False}),
    ("lstm", {}),
    ("lstm", {"use_bias": False}),
    ("lstm", {"recurrent_activation": "hard_sigmoid", "activation": "relu"}),
    ("gru", {}),
    ("gru", {"reset_after": False}),
    ("gru", {"use_bias": False}),
    ("gru", {"reset_after": False, "use_bias": False, "activation": "elu"}),
]
IDS = ["simple_rnn", "simple_rnn-relu", "simple_rnn-softsign-nobias", "lstm", "lstm-nobias",
       "lstm-hard_sigmoid-relu", "gru", "gru-reset_before", "gru-nobias", "gru-reset_before-nobias-elu"]
H, D = 5, 3


def user_error(call) -> UserError:
    with pytest.raises(UserError) as err:
        call()
    assert isinstance(err.value.message, Message)
    return err.value


def variant_layer(kind: str, kw: dict, seed: int = 0):
    """A built float64 layer with random weights large enough to have several fixed points (a relu SimpleRNN
    that large has none: its states grow without bound)."""
    scale = 1.0 if kind == "simple_rnn" and kw.get("activation") == "relu" else 1.5
    return random_rnn(kind, H, D, np.random.default_rng(seed), dtype=np.float64, scale=scale, **kw)


# -- selection (LSTMVis) --------------------------------------------------------------------------------------


def planted_states(rng, N=3, T=120, units=12, threshold=0.5):
    """Background noise below the threshold, with a few random units switched on at random steps."""
    x = rng.uniform(-1.0, threshold - 0.05, (N, T, units))
    x[rng.random((N, T, units)) < 0.05] = 0.9
    return x


def brute_force_matches(states, units, seq, start, stop, threshold, lo, hi):
    """The ranking of match_pattern's docstring, written with loops over steps and units."""
    N, T, Hs = states.shape
    k, L = len(units), stop - start
    out = []
    for n in range(N):
        t = 0
        while t < T:
            if all(states[n, t, j] >= threshold for j in units):
                a = t
                while t < T and all(states[n, t, j] >= threshold for j in units):
                    t += 1
                b = t
                if n == seq and a <= start and b >= stop:
                    continue                                   # the selection's own run
                if lo <= b - a <= hi:
                    others = sum(sum(1 for j in range(Hs) if j not in units and states[n, s, j] >= threshold)
                                 for s in range(a, b)) / (b - a)
                    score = k / (k + others) * min(b - a, L) / max(b - a, L)
                    out.append((n, a, b, score))
            else:
                t += 1
    out.sort(key=lambda m: (-m[3], m[0], m[1]))
    return out


def test_selected_units_are_the_units_on_over_the_whole_span(rng):
    x = planted_states(rng)
    x[1, 40:46, [2, 7, 9]] = 0.8
    x[1, 43, 9] = 0.49                                         # 9 drops below the threshold once: not selected
    got = selected_units(x, 1, 40, 46, 0.5)
    expected = [j for j in range(x.shape[2]) if all(x[1, t, j] >= 0.5 for t in range(40, 46))]
    assert got.tolist() == expected
    assert {2, 7} <= set(got.tolist()) and 9 not in got
    assert selected_units(x[1], 0, 40, 46, 0.5).tolist() == expected          # one sequence as (T, H)
    assert selected_units(x, 1, 40, 46, 0.95).size == 0                         # nothing reaches it: empty


def test_match_pattern_finds_planted_spans_best_first(rng):
    x = planted_states(rng, N=3, T=200, units=12)
    sel = [1, 4, 6]
    others = [j for j in range(12) if j not in sel]
    for n, a, b in [(0, 20, 26), (2, 100, 106), (1, 50, 56), (1, 150, 157), (2, 10, 40)]:
        x[n, a:b] = -0.5                                       # a clean background: only what is planted is on
        x[n, a:b, sel] = 0.8
    x[1, 50:56, others[:3]] = 0.7                              # same length, three other units on: ranks lower
    x[2, 10:40, :] = -0.5                                      # 30 steps: longer than 2 L = 12, left out
    x[2, 10:40, sel] = 0.8
    matches = match_pattern(x, 0, 20, 26, 0.5)
    assert all(isinstance(m, Match) for m in matches)
    assert (matches[0].seq, matches[0].start, matches[0].stop) == (2, 100, 106)
    assert matches[0].score == pytest.approx(1.0) and matches[0].others_on == 0
    spans = [(m.seq, m.start, m.stop) for m in matches]
    assert (0, 20, 26) not in spans                            # the selection itself is left out
    assert (2, 10, 40) not in spans                            # outside the length range
    assert spans.index((1, 150, 157)) < spans.index((1, 50, 56))          # 7 clean steps beat 6 with 3 others on
    assert matches[spans.index((1, 150, 157))].score == pytest.approx(6 / 7)
    assert matches[spans.index((1, 50, 56))].score == pytest.approx(3 / 6)
    scores = [m.score for m in matches]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("threshold, span", [(0.5, (30, 33)), (0.3, (5, 9)), (0.85, (60, 61))])
def test_match_pattern_equals_a_brute_force_ranking(threshold, span, rng):
    x = np.tanh(rng.normal(0.0, 1.2, (3, 150, 10)))
    x[rng.random(x.shape) < 0.3] = 0.9                         # many short runs, with ties and overlaps
    units = selected_units(x, 1, *span, threshold)
    if units.size == 0:
        x[1, span[0]:span[1], 0] = 0.95
        units = selected_units(x, 1, *span, threshold)
    L = span[1] - span[0]
    expected = brute_force_matches(x, units.tolist(), 1, *span, threshold, max(1, -(-L // 2)), 2 * L)
    got = match_pattern(x, 1, *span, threshold, top_k=10_000)
    assert [(m.seq, m.start, m.stop) for m in got] == [e[:3] for e in expected]
    np.testing.assert_allclose([m.score for m in got], [e[3] for e in expected], rtol=1e-12)
    assert [(m.seq, m.start, m.stop) for m in match_pattern(x, 1, *span, threshold, top_k=3)] == \
        [e[:3] for e in expected[:3]]


def test_match_pattern_runs_stop_at_sequence_edges_and_honour_length_limits():
    x = np.zeros((2, 10, 3))
    x[0, 7:10, 0] = 1.0                                        # the end of sequence 0 ...
    x[1, 0:3, 0] = 1.0                                         # ... and the start of sequence 1 are two runs
    x[1, 5:6, 0] = 1.0
    spans = [(m.seq, m.start, m.stop) for m in match_pattern(x, 0, 7, 10, 0.5)]
    assert spans == [(1, 0, 3)]                                # length 1 < ceil(3 / 2): left out
    spans = [(m.seq, m.start, m.stop) for m in match_pattern(x, 0, 7, 10, 0.5, min_length=1)]
    assert spans == [(1, 0, 3), (1, 5, 6)]
    assert match_pattern(x, 0, 7, 10, 0.5, max_length=2) == []


def test_match_pattern_errors_say_what_is_wrong():
    x = np.zeros((2, 10, 3))
    x[0, 2:5, 1] = 1.0
    assert "outside the sequence" in str(user_error(lambda: match_pattern(x, 0, 5, 11, 0.5)))
    assert "outside the sequence" in str(user_error(lambda: match_pattern(x, 0, -1, 3, 0.5)))
    assert "is empty" in str(user_error(lambda: match_pattern(x, 0, 4, 4, 0.5)))
    assert "Sequence 2 does not exist" in str(user_error(lambda: match_pattern(x, 2, 0, 3, 0.5)))
    err = user_error(lambda: match_pattern(x, 0, 1, 5, 0.5))    # unit 1 is off at step 1
    assert "No unit reaches the threshold 0.5 at every step of [1, 5) of sequence 0" in str(err)
    assert "min_length" in str(user_error(lambda: match_pattern(x, 0, 2, 5, 0.5, min_length=4, max_length=3)))
    assert "top_k" in str(user_error(lambda: match_pattern(x, 0, 2, 5, 0.5, top_k=0)))
    assert "states must be" in str(user_error(lambda: selected_units(np.zeros(5), 0, 0, 1, 0.5)))
    assert "threshold" in str(user_error(lambda: selected_units(x, 0, 0, 1, float("nan"))))


# -- state space --------------------------------------------------------------------------------------------


def test_pca_matches_the_covariance_eigendecomposition(rng):
    mix = rng.normal(size=(6, 6)) * np.array([3.0, 2.0, 1.0, 0.5, 0.2, 0.1])[:, None]
    states = rng.normal(size=(4, 80, 6)) @ mix + 5.0
    pca = pca_trajectories(states, k=3)
    X = states.reshape(-1, 6)
    cov = np.cov(X, rowvar=False)                              # divisor M - 1
    values, vectors = np.linalg.eigh(cov)
    values, vectors = values[::-1], vectors[:, ::-1]
    np.testing.assert_allclose(pca.explained_variance, values[:3], rtol=1e-9)
    np.testing.assert_allclose(pca.explained_variance_ratio, values[:3] / values.sum(), rtol=1e-9)
    np.testing.assert_allclose(np.abs(np.sum(pca.components * vectors[:, :3].T, axis=1)), 1.0, atol=1e-9)
    np.testing.assert_allclose(pca.mean, X.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(pca.projections, ((X - X.mean(axis=0)) @ pca.components.T).reshape(4, 80, 3),
                               atol=1e-9)
    np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(3), atol=1e-12)
    _, sv, vt = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)        # and numpy's SVD of the centred states
    np.testing.assert_allclose(pca.explained_variance, sv[:3] ** 2 / (len(X) - 1), rtol=1e-9)
    np.testing.assert_allclose(np.abs(np.sum(pca.components * vt[:3], axis=1)), 1.0, atol=1e-9)
    biggest = pca.components[np.arange(3), np.abs(pca.components).argmax(axis=1)]
    assert (biggest > 0).all()                                 # the sign convention
    assert pca_trajectories(states[0], k=2).projections.shape == (80, 2)      # (T, H) in, (T, k) out


def test_pca_of_constant_states_and_bad_k():
    pca = pca_trajectories(np.full((10, 4), 0.3), k=2)
    assert np.array_equal(pca.explained_variance_ratio, [0.0, 0.0]) and np.isfinite(pca.projections).all()
    assert "from 1 to 4" in str(user_error(lambda: pca_trajectories(np.zeros((10, 4)), k=5)))
    assert "from 1 to 4" in str(user_error(lambda: pca_trajectories(np.zeros((10, 4)), k=0)))


def test_correlated_units_match_np_corrcoef(rng):
    signal = rng.normal(size=(3, 50))
    states = rng.normal(size=(3, 50, 6))
    states[..., 2] = 2.0 * signal + 0.1 * rng.normal(size=(3, 50))       # follows the signal
    states[..., 4] = -signal + 0.5 * rng.normal(size=(3, 50))             # against it
    states[..., 5] = 0.7                                                  # constant: r = 0, not NaN
    got = correlated_units(states, signal, top_k=3)
    expected = np.array([np.corrcoef(states[..., j].ravel(), signal.ravel())[0, 1] for j in range(5)] + [0.0])
    np.testing.assert_allclose(got.all_r, expected, atol=1e-12)
    assert got.units.tolist() == list(np.argsort(-np.abs(expected), kind="stable")[:3])
    assert got.units[:2].tolist() == [2, 4] and got.r[1] < 0
    assert np.isfinite(got.all_r).all() and got.all_r[5] == 0
    assert len(correlated_units(states, signal, top_k=100).units) == 6
    assert np.array_equal(correlated_units(states, np.ones((3, 50))).all_r, np.zeros(6))   # a constant signal
    assert "shape (3, 50)" in str(user_error(lambda: correlated_units(states, signal[0])))


def gates_by_explain_step(layer, x, mask=None):
    """Every gate, (B, T, H), recomputed step by step with the cell's explain_step (float64), carrying the
    state over masked steps as Keras does."""
    cell = layer.cell
    B, T, _ = x.shape
    out = {}
    for b in range(B):
        states = tuple(np.zeros(cell.units) for _ in cell.state_names)
        for t in range(T):
            step = cell.explain_step(x[b, t], states, layer.get_weights())
            for g in cell.gate_names:
                out.setdefault(g, np.zeros((B, T, cell.units)))[b, t] = step[g]
            if mask is None or mask[b, t]:
                states = tuple(step[s] for s in cell.state_names)
    return out


@pytest.mark.parametrize("kind, kw, gates", [("lstm", {}, ["i", "f", "o"]), ("gru", {}, ["z", "r"]),
                                             ("gru", {"recurrent_activation": "hard_sigmoid"}, ["z", "r"])])
def test_gate_saturation_counts_sigmoid_gates_below_and_above(kind, kw, gates, rng):
    layer = random_rnn(kind, 6, 3, rng, dtype=np.float64, scale=2.0, return_sequences=True, **kw)
    x = rng.normal(0, 2, (4, 30, 3))
    mask = rng.random((4, 30)) > 0.2
    mask[:, 0] = True
    layer(x, mask=mask)
    sat = gate_saturation(layer)
    assert sorted(sat) == sorted(gates)
    recomputed = gates_by_explain_step(layer, x, mask)
    for g in gates:
        values = recomputed[g][mask]                                    # (taken steps, H)
        np.testing.assert_allclose(sat[g].left, (values < 0.1).mean(axis=0), atol=1e-12)
        np.testing.assert_allclose(sat[g].right, (values > 0.9).mean(axis=0), atol=1e-12)
        assert sat[g].steps == mask.sum()
    assert (sat[gates[0]].left + sat[gates[0]].right).max() > 0      # the weights are large enough to saturate


def test_gate_saturation_needs_a_call_and_sigmoid_gates(rng):
    assert gate_saturation(_called(SimpleRNN(3), rng)) == {}
    assert gate_saturation(_called(LSTM(3, recurrent_activation="tanh"), rng)) == {}
    assert "has not been called" in str(user_error(lambda: gate_saturation(LSTM(3))))
    left, right, n = saturation_fractions(np.array([[0.05, 0.5], [0.95, 0.91], [0.5, 0.02]]))
    assert left.tolist() == [1 / 3, 1 / 3] and right.tolist() == [1 / 3, 1 / 3] and n == 3
    assert "low" in str(user_error(lambda: saturation_fractions(np.zeros((2, 2)), 0.9, 0.1)))


def _called(layer, rng):
    layer(rng.normal(size=(2, 5, 3)).astype(np.float32))
    return layer


# -- fixed points: known cases ----------------------------------------------------------------------------------


def one_unit(w: float, b: float | None = None, activation: str = "tanh") -> SimpleRNN:
    """h' = f(w h + b): a 1-unit SimpleRNN with no input weight."""
    layer = SimpleRNN(1, activation=activation, use_bias=b is not None)
    layer.build((1, 1, 1))
    layer.set_weights([np.zeros((1, 1)), np.array([[w]])] + ([np.array([b])] if b is not None else []))
    return layer


def bisect(f, lo: float, hi: float) -> float:
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.sign(f(mid)) == np.sign(f(lo)) else (lo, mid)
    return 0.5 * (lo + hi)


def test_one_tanh_unit_with_weight_above_one_has_three_fixed_points():
    """h = tanh(2 h): 0 (unstable, slope 2) and +-h* (stable, slope 2 (1 - h*^2) < 1)."""
    fp = fixed_points(one_unit(2.0))
    assert isinstance(fp, FixedPoints) and len(fp) == 3
    h_star = bisect(lambda h: np.tanh(2 * h) - h, 0.5, 1.0)
    order = np.argsort(fp.points[:, 0])
    np.testing.assert_allclose(fp.points[order, 0], [-h_star, 0.0, h_star], atol=1e-9)
    slope = 2 * (1 - h_star ** 2)
    np.testing.assert_allclose(fp.eigenvalues[order, 0].real, [slope, 2.0, slope], atol=1e-9)
    assert fp.stable[order].tolist() == [True, False, True]
    assert (fp.residual < 1e-6).all() and fp.hits.sum() <= fp.n_starts and not fp.slow.any()


def test_one_tanh_unit_with_weight_below_one_has_only_zero():
    fp = fixed_points(one_unit(0.5))
    assert len(fp) == 1
    np.testing.assert_allclose(fp.points, [[0.0]], atol=1e-12)
    np.testing.assert_allclose(fp.eigenvalues, [[0.5]], atol=1e-12)
    assert fp.stable.tolist() == [True]


def test_slow_point_is_the_ghost_of_a_vanished_pair():
    """h = tanh(2 h + 0.545): past the saddle-node at b = 0.5328 only the upper fixed point is left; where the
    lower pair vanished (h ~ -0.7) q has a small non-zero minimum, found on a fine grid here."""
    layer = one_unit(2.0, 0.545)
    grid = np.linspace(-1, 0, 2_000_001)
    q = 0.5 * (np.tanh(2 * grid + 0.545) - grid) ** 2
    ghost = grid[q.argmin()]
    assert 1e-6 < q.min() < 1e-4
    fast = fixed_points(layer)
    upper = bisect(lambda h: np.tanh(2 * h + 0.545) - h, 0.5, 1.0)
    np.testing.assert_allclose(fast.points, [[upper]], atol=1e-9)
    slow = fixed_points(layer, slow=True)
    assert slow.slow.tolist() == [False, True]
    np.testing.assert_allclose(slow.points[1], [ghost], atol=1e-5)
    assert slow.residual[1] == pytest.approx(np.sqrt(2 * q.min()), rel=1e-4)


def test_linear_rnn_has_the_one_fixed_point_of_a_linear_system(rng):
    """h = x W + h U + b  =>  h* = (x W + b) (I - U)^-1, eigenvalues those of U."""
    layer = SimpleRNN(4, activation="linear")
    layer.build((1, 1, 2))
    W, U, b = rng.normal(size=(2, 4)), 0.4 * rng.normal(size=(4, 4)), rng.normal(size=4)
    layer.set_weights([W, U, b])
    x = np.array([0.3, -1.2])
    fp = fixed_points(layer, x=x)
    expected = np.linalg.solve((np.eye(4) - U).T, x @ W + b)
    assert len(fp) == 1
    np.testing.assert_allclose(fp.points[0], expected, atol=1e-10)
    eig = np.linalg.eigvals(U)
    np.testing.assert_allclose(np.abs(fp.eigenvalues[0]), np.sort(np.abs(eig))[::-1], atol=1e-10)
    assert fp.stable[0] == (np.abs(eig).max() < 1)
    np.testing.assert_array_equal(fp.x, x)


def test_zero_is_a_fixed_point_without_bias_and_input(rng):
    """tanh(0 U) = 0: s* = 0, and J = diag(tanh'(0)) U^T = U^T, so its eigenvalues are those of U."""
    layer = random_rnn("simple_rnn", 6, 2, rng, dtype=np.float64, scale=1.0, use_bias=False)
    fp = fixed_points(layer)
    zero = np.flatnonzero(np.linalg.norm(fp.points, axis=1) < 1e-9)
    assert zero.size == 1
    eig = np.linalg.eigvals(layer.recurrent_kernel)
    np.testing.assert_allclose(np.abs(fp.eigenvalues[zero[0]]), np.sort(np.abs(eig))[::-1], atol=1e-10)


def test_winner_take_all_relu_network():
    """relu(h U + 1) with U = 0.5 I - (1 - I): for every non-empty set P of m active units, h_P = 1 / (m - 0.5)
    (the others are pushed below 0: 1 - m / (m - 0.5) < 0). J = diag(relu'(z)) U^T is U's block on P and 0
    elsewhere: a single winner has eigenvalues {0.5, 0, 0, 0} (stable); m >= 2 winners have 0.5 - (m - 1) and
    1.5 (m - 1 times): unstable. 15 fixed points, 4 of them attractors."""
    n = 4
    layer = SimpleRNN(n, activation="relu")
    layer.build((1, 1, 1))
    layer.set_weights([np.zeros((1, n)), 0.5 * np.eye(n) - (1 - np.eye(n)), np.ones(n)])
    fp = fixed_points(layer, n_starts=512)
    known = {}
    for m in range(1, n + 1):
        for P in itertools.combinations(range(n), m):
            h = np.zeros(n)
            h[list(P)] = 1 / (m - 0.5)
            known[tuple(h.round(9))] = m == 1
    found = {tuple(p.round(9)): bool(st) for p, st in zip(fp.points, fp.stable, strict=True)}
    assert set(found) <= set(known)                           # nothing but fixed points
    assert all(known[p] == st for p, st in found.items())     # with the right stability
    assert sum(found.values()) == n                           # every attractor (the single winners) is found
    assert len(found) >= 8


@pytest.mark.parametrize("kind, kw", [("lstm", {}), ("gru", {}), ("gru", {"reset_after": False})])
def test_without_recurrent_weights_the_fixed_point_is_the_steady_state(kind, kw, rng):
    """U = 0: the gates are constants. LSTM: c* = i g / (1 - f), h* = o tanh(c*), eigenvalues f (and H zeros);
    GRU: h* = hh, eigenvalues z. (reset_after's recurrent bias still enters: hh = tanh(x W_h + b_h + r b_rh).)"""
    layer = random_rnn(kind, H, D, rng, dtype=np.float64, **kw)
    weights = layer.get_weights()
    weights[1] = np.zeros_like(weights[1])
    layer.set_weights(weights)
    x = rng.normal(size=D)
    gates = layer.cell.explain_step(x, tuple(np.zeros(H) for _ in layer.cell.state_names), weights)
    if kind == "lstm":
        c = gates["i"] * gates["g"] / (1 - gates["f"])
        expected, eig = np.concatenate([gates["o"] * np.tanh(c), c]), np.concatenate([gates["f"], np.zeros(H)])
    else:
        expected, eig = gates["hh"], gates["z"]
    fp = fixed_points(layer, x=x, n_starts=32)
    assert len(fp) == 1 and fp.stable[0]
    np.testing.assert_allclose(fp.points[0], expected, atol=1e-10)
    np.testing.assert_allclose(fp.eigenvalues[0], np.sort(eig)[::-1], atol=1e-10)


def test_lstm_with_a_forget_gate_at_one_is_a_line_of_fixed_points():
    """f = sigmoid(60) = 1 and i = sigmoid(-60) ~ 0 in float64: c is kept as it is, so every c is a fixed point
    (with h = o tanh(c)): the Newton step falls back from the H x H elimination to the full solve."""
    layer = LSTM(2, use_bias=True)
    layer.build((1, 1, 1))
    bias = np.concatenate([[-60.0] * 2, [60.0] * 2, [0.0] * 2, [0.0] * 2])     # i, f, g, o blocks
    layer.set_weights([np.zeros((1, 8)), np.zeros((2, 8)), bias])
    fp = fixed_points(layer, n_starts=16, min_distance=0.0)
    assert len(fp) > 1
    F, _ = step_and_jacobian(layer, fp.points)
    np.testing.assert_allclose(F, fp.points, atol=1e-6)
    np.testing.assert_allclose(fp.eigenvalues[:, 0], 1.0, atol=1e-12)         # the c direction: |lambda| = 1
    assert not fp.stable.any()


# -- fixed points: every cell against its own forward pass and finite differences -----------------------------


@pytest.mark.parametrize("kind, kw", VARIANTS, ids=IDS)
def test_every_fixed_point_is_kept_by_the_layers_own_step(kind, kw, rng):
    layer = variant_layer(kind, kw)
    x = rng.normal(size=D)
    fp = fixed_points(layer, x=x, n_starts=64)
    assert len(fp) >= 1
    names = layer.cell.state_names
    initial = [fp.points[:, k * H:(k + 1) * H] for k in range(len(names))]
    layer(np.broadcast_to(x, (len(fp), 1, D)).copy(), initial_state=initial)
    stepped = np.concatenate([layer.last_trace.states[name][1] for name in names], axis=1)  # the layer's own step
    # the residual it reports is the layer's own ||F(s*) - s*||, and below tol
    np.testing.assert_allclose(np.linalg.norm(stepped - fp.points, axis=1), fp.residual, atol=1e-12)
    assert (fp.residual < 1e-6).all()
    # the dedup: no two points closer than min_distance
    if len(fp) > 1:
        d = np.linalg.norm(fp.points[:, None] - fp.points[None], axis=-1) + np.eye(len(fp))
        assert d.min() > 1e-4


@pytest.mark.parametrize("kind, kw", VARIANTS, ids=IDS)
def test_step_jacobian_against_finite_differences_and_the_cells_own(kind, kw, rng):
    layer = variant_layer(kind, kw)
    x = rng.normal(size=D)
    S = len(layer.cell.state_names) * H
    s = rng.normal(0, 0.7, (3, S))
    F, J = step_and_jacobian(layer, s, x)
    eps = 1e-6
    for n in range(3):
        numeric = np.empty((S, S))
        for j in range(S):
            e = np.zeros(S)
            e[j] = eps
            numeric[:, j] = (step_and_jacobian(layer, s[n] + e, x)[0][0] - step_and_jacobian(layer, s[n] - e, x)[0][0]
                             ) / (2 * eps)
        # centred differences in float64: O(eps^2) truncation + O(1e-16 / eps) rounding
        np.testing.assert_allclose(J[n], numeric, atol=1e-7)
    # the cell's own forward step and StepJacobian, from a one-step call of the layer from each state
    initial = [s[:, k * H:(k + 1) * H] for k in range(len(layer.cell.state_names))]
    layer(np.broadcast_to(x, (3, 1, D)).copy(), initial_state=initial)
    tr = layer.last_trace
    np.testing.assert_allclose(F, np.concatenate([tr.states[name][1] for name in layer.cell.state_names], axis=1),
                               atol=1e-12)
    for b in range(3):
        theirs = layer.cell.step_jacobian(tr, layer.recurrent_kernel, b).dense()[0]
        np.testing.assert_allclose(J[b], theirs, atol=1e-12)


def test_starts_come_from_the_last_call_or_the_given_states(rng):
    layer = variant_layer("gru", {})
    layer(rng.normal(size=(2, 20, D)))
    from_trace = fixed_points(layer, n_starts=8)
    visited = np.concatenate([layer.last_trace.states["h"][1:]], axis=-1).reshape(-1, H)
    given = fixed_points(layer, n_starts=8, states=visited)
    np.testing.assert_array_equal(from_trace.points, given.points)
    assert from_trace.n_starts == 8
    assert "5 values each" in str(user_error(lambda: fixed_points(layer, states=np.zeros((3, 4)))))


def test_fixed_point_errors(rng):
    assert "no weights yet" in str(user_error(lambda: fixed_points(LSTM(3))))
    layer = variant_layer("lstm", {})
    assert "3 finite number(s)" in str(user_error(lambda: fixed_points(layer, x=np.zeros(2))))
    assert "positive whole number" in str(user_error(lambda: fixed_points(layer, n_starts=0)))


def test_step_map_follows_the_layer_cell():
    layer = variant_layer("gru", {"reset_after": False})
    p = step_map(layer)
    assert (p.cell, p.size, p.reset_after, p.state_names) == ("gru", H, False, ("h",))


# -- fixed points against Keras' own cells -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_cells():
    """keras.layers.*Cell in float64, one per variant, built once for the module; weights are set per test."""
    from rnn_core import keras_bridge

    tf, keras = keras_bridge._tf()
    cells = {}
    for (kind, kw), name in zip(VARIANTS, IDS, strict=True):
        config = {k: v for k, v in CELLS[kind].config_class(H, **kw).__dict__.items()
                  if k in ("activation", "recurrent_activation", "use_bias", "reset_after")}
        cls = {"simple_rnn": keras.layers.SimpleRNNCell, "lstm": keras.layers.LSTMCell,
               "gru": keras.layers.GRUCell}[kind]
        cell = cls(H, dtype="float64", **config)
        cell.build((None, D))
        cells[name] = cell
    return tf, cells


def keras_step(tf, cell, x, s, n_states):
    """One step of the Keras cell from the states s (K, S): the new states (K, S) and dF/ds (K, S, S)."""
    K = len(s)
    s_t = tf.constant(s)
    with tf.GradientTape() as tape:
        tape.watch(s_t)
        parts = [s_t[:, k * H:(k + 1) * H] for k in range(n_states)]
        _, new = cell(tf.constant(np.broadcast_to(x, (K, D))), parts if n_states > 1 else parts[0])
        new = new if isinstance(new, (list, tuple)) else [new]
        out = tf.concat(list(new), axis=1)
    return np.asarray(out), np.asarray(tape.batch_jacobian(out, s_t))


@pytest.mark.keras
@pytest.mark.parametrize("variant", IDS)
def test_fixed_points_against_keras_cells_and_tf_jacobians(variant, keras_cells, rng):
    tf, cells = keras_cells
    kind, kw = VARIANTS[IDS.index(variant)]
    layer = variant_layer(kind, kw, seed=IDS.index(variant))
    cell = cells[variant]
    cell.set_weights(layer.get_weights())
    x = rng.normal(size=D)
    fp = fixed_points(layer, x=x, n_starts=64)
    assert len(fp) >= 1
    n = len(layer.cell.state_names)
    stepped, jac = keras_step(tf, cell, x, fp.points, n)
    np.testing.assert_allclose(stepped, fp.points, atol=1e-9)          # Keras' cell keeps each point
    _, J = step_and_jacobian(layer, fp.points, x)
    np.testing.assert_allclose(J, jac, atol=1e-9)
    for mine, k_jac in zip(fp.eigenvalues, jac, strict=True):
        theirs = np.linalg.eigvals(k_jac)
        # the same multiset: every eigenvalue has a partner on the other side (tolerance for near-ties: 1e-6)
        assert np.abs(mine[:, None] - theirs[None]).min(axis=1).max() < 1e-6
        assert np.abs(mine[:, None] - theirs[None]).min(axis=0).max() < 1e-6
        np.testing.assert_allclose(np.abs(mine), np.sort(np.abs(theirs))[::-1], atol=1e-6)
    np.testing.assert_array_equal(fp.stable, [np.abs(np.linalg.eigvals(j)).max() < 1 for j in jac])


@pytest.mark.keras
def test_one_unit_stability_against_keras(keras_cells):
    tf, _ = keras_cells
    from rnn_core import keras_bridge

    _, keras = keras_bridge._tf()
    cell = keras.layers.SimpleRNNCell(1, dtype="float64")
    cell.build((None, 1))
    layer = one_unit(2.0, 0.1)
    cell.set_weights(layer.get_weights())
    fp = fixed_points(layer, x=np.zeros(1))
    stepped, jac = _keras_one(tf, cell, fp.points)
    np.testing.assert_allclose(stepped, fp.points, atol=1e-12)
    np.testing.assert_allclose(fp.eigenvalues.real, jac, atol=1e-12)
    assert fp.stable.tolist() == (np.abs(jac[:, 0]) < 1).tolist() and fp.stable.sum() == 2


def _keras_one(tf, cell, points):
    s_t = tf.constant(points)
    with tf.GradientTape() as tape:
        tape.watch(s_t)
        _, new = cell(tf.zeros((len(points), 1), tf.float64), [s_t])
        out = new[0] if isinstance(new, (list, tuple)) else new
    return np.asarray(out), np.asarray(tape.batch_jacobian(out, s_t))[:, :, 0]


# -- the benchmark's code runs ------------------------------------------------------------------------------------


def test_benchmark_runs_at_a_tiny_size():
    out = subprocess.run([sys.executable, "-m", "bench.bench_interpretation", "--quick"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "match_pattern" in out.stdout and out.stdout.count("fixed_points") >= 3, out.stdout
