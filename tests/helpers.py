"""Shared test helpers: random problems, tolerant comparison, centred finite differences."""

from __future__ import annotations

import numpy as np

from rnn_core import SimpleRNN

# float32 parity with Keras: max |mine - theirs| <= F32_TOL * max(1, max |theirs|).
F32_TOL = 1e-5
# float64 finite differences: relative error (max-norm) below this.
FD_TOL = 1e-6
FD_EPS = 1e-6


def assert_close(mine, theirs, name: str, tol: float = F32_TOL) -> float:
    """Compare two arrays relative to the reference's scale; say which tensor failed."""
    mine, theirs = np.asarray(mine, np.float64), np.asarray(theirs, np.float64)
    assert mine.shape == theirs.shape, f"{name}: shape mine {mine.shape} vs theirs {theirs.shape}"
    scale = max(1.0, float(np.abs(theirs).max(initial=0.0)))
    diff = float(np.abs(mine - theirs).max(initial=0.0))
    assert diff <= tol * scale, f"{name}: max |mine - theirs| = {diff:.3g} > {tol:g} x scale {scale:.3g}"
    return diff


def relative_error(analytic, numeric) -> float:
    a, n = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    denom = max(float(np.abs(a).max(initial=0.0)), float(np.abs(n).max(initial=0.0)), 1e-12)
    return float(np.abs(a - n).max(initial=0.0)) / denom


def numeric_gradient(f, array: np.ndarray, eps: float = FD_EPS) -> np.ndarray:
    """Centred differences (f(a + e) - f(a - e)) / 2e for every element of ``array`` (changed in place, restored)."""
    grad = np.zeros_like(array, dtype=np.float64)
    it = np.nditer(array, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = array[i]
        array[i] = old + eps
        plus = f()
        array[i] = old - eps
        minus = f()
        array[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def random_layer(units: int, input_dim: int, rng: np.random.Generator, dtype=np.float32,
                 scale: float = 0.6, **kwargs) -> SimpleRNN:
    """A built SimpleRNN with random weights of a moderate scale (so tanh is not saturated)."""
    layer = SimpleRNN(units, **kwargs)
    layer.build((1, 1, input_dim))
    weights = [rng.normal(0, scale, (input_dim, units)), rng.normal(0, scale / np.sqrt(units), (units, units))]
    if layer.use_bias:
        weights.append(rng.normal(0, 0.3, units))
    layer.set_weights([w.astype(dtype) for w in weights])
    return layer


def as_tuple(result):
    return result if isinstance(result, tuple) else (result,)


def random_rnn(kind: str, units: int, input_dim: int, rng: np.random.Generator, dtype=np.float32,
               scale: float = 0.6, **kwargs):
    """A built layer of any cell ("simple_rnn", "lstm", "gru") with random weights of a moderate scale."""
    from rnn_core import CELLS

    layer = CELLS[kind](units, **kwargs)
    layer.build((1, 1, input_dim))
    kernel, recurrent, *bias = layer.get_weights()
    weights = [rng.normal(0, scale, kernel.shape), rng.normal(0, scale / np.sqrt(units), recurrent.shape)]
    weights += [rng.normal(0, 0.3, b.shape) for b in bias]
    layer.set_weights([w.astype(dtype) for w in weights])
    return layer
