"""The backward loop's windows of steps (rnn_core/layers/recurrence.py): any window size gives the same gradients.

The parity and finite-difference tests run sequences short enough to fit one window, so here the window is
shrunk to 1 and 3 steps, with every path through the loop (masking, truncation, dropout, GRU's reset_before):
each gradient must equal, bit for bit, the one from a single window over the whole sequence.
"""

import numpy as np
import pytest
from helpers import random_rnn

from rnn_core.layers import recurrence

CASES = [
    ("simple_rnn", {}),
    ("lstm", {}),
    ("gru", {}),
    ("gru", {"reset_after": False}),
    ("lstm", {"recurrent_dropout": 0.3, "dropout": 0.2}),
    ("gru", {"reset_after": False, "recurrent_dropout": 0.3}),
]


def gradients(kind, kwargs, window_steps, B=3, T=11, D=2, H=4, truncate=None, masked=False, monkeypatch=None):
    rng = np.random.default_rng(7)
    layer = random_rnn(kind, H, D, rng, return_sequences=True, return_state=True, seed=3, **kwargs)
    x = rng.normal(size=(B, T, D)).astype(np.float32)
    mask = rng.random((B, T)) > 0.3 if masked else None
    width = {"simple_rnn": 1, "lstm": 4, "gru": 3}[kind] * H
    monkeypatch.setattr(recurrence, "CACHE_WINDOW_BYTES", window_steps * B * width * 4)
    out, *states = layer(x, mask=mask, training=True)
    g_out = rng.normal(size=out.shape).astype(np.float32)
    g_states = [rng.normal(size=s.shape).astype(np.float32) for s in states]
    return layer.backward(g_out, *g_states, truncate=truncate)


@pytest.mark.parametrize("kind, kwargs", CASES)
@pytest.mark.parametrize("truncate, masked", [(None, False), (None, True), (4, False), (4, True)])
def test_any_window_gives_the_same_gradients(kind, kwargs, truncate, masked, monkeypatch):
    whole = gradients(kind, kwargs, 10_000, truncate=truncate, masked=masked, monkeypatch=monkeypatch)
    for steps in (1, 3):
        windowed = gradients(kind, kwargs, steps, truncate=truncate, masked=masked, monkeypatch=monkeypatch)
        for name in ("kernel", "recurrent_kernel", "bias", "inputs", "hidden", "cell"):
            a, b = getattr(whole, name), getattr(windowed, name)
            if a is None:
                assert b is None
                continue
            np.testing.assert_array_equal(a, b, err_msg=f"{name}, windows of {steps} step(s)")
        for a, b in zip(np.atleast_1d(whole.initial_state) if kind != "lstm" else whole.initial_state,
                        np.atleast_1d(windowed.initial_state) if kind != "lstm" else windowed.initial_state,
                        strict=True):
            np.testing.assert_array_equal(a, b)


def test_the_window_holds_as_many_steps_as_fit(monkeypatch):
    monkeypatch.setattr(recurrence, "CACHE_WINDOW_BYTES", 512 * 1024)
    seen = []

    class Recording:
        def __init__(self, cell):
            self.cell = cell

        def backward_cache(self, tr, lo, hi):
            seen.append((lo, hi))
            return self.cell.backward_cache(tr, lo, hi)

    rng = np.random.default_rng(0)
    layer = random_rnn("lstm", 128, 16, rng, return_sequences=True)
    layer(rng.normal(size=(32, 40, 16)).astype(np.float32))
    cache = recurrence._WindowedCache(Recording(layer.cell), layer.last_trace)
    for t in range(39, -1, -1):
        cache.at(t)
    # 512 KiB / (32 x 512 floats x 4 bytes) = 8 steps a window, walked from the end
    assert seen == [(32, 40), (24, 32), (16, 24), (8, 16), (0, 8)]
