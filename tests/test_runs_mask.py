"""Padded batches (long-format uploads): the runs pass the mask to both engines, and they agree.

Tolerance: F32_TOL x scale (tests/helpers.py), as every other Keras parity test.
"""

from dataclasses import replace

import numpy as np
import pytest
from helpers import assert_close

from explorer import runs
from explorer.settings import AppConfig

MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], bool)


def _problem(cfg: AppConfig):
    x = np.random.default_rng(3).normal(size=(2, 5, 3)).astype(np.float32)
    x[1, 3:] = 0.0                                     # padding, as load_sequence writes it
    return x, runs.make_weights(cfg, 3)


@pytest.mark.parametrize("head", ["none", "many-to-one", "many-to-many"])
def test_numpy_forward_carries_the_state_over_masked_steps(head):
    cfg = replace(AppConfig(), units=4, head=head)
    x, weights = _problem(cfg)
    run = runs.numpy_forward(cfg, weights, x, mask=MASK)
    alone = runs.numpy_forward(cfg, weights, x[1:, :3])
    np.testing.assert_array_equal(run.states[1, 3], run.states[1, 2])          # a masked step changes nothing
    np.testing.assert_allclose(run.final_state[1], alone.final_state[0], rtol=1e-6, atol=1e-7)
    if head == "many-to-one":
        np.testing.assert_allclose(run.probs[1], alone.probs[0], rtol=1e-6, atol=1e-7)


@pytest.mark.keras
@pytest.mark.parametrize("head", ["none", "many-to-one"])
def test_keras_forward_and_gradients_with_the_mask_match_numpy(head):
    cfg = replace(AppConfig(), units=4, head=head, return_state=True)
    x, weights = _problem(cfg)
    twins = runs.build_keras(cfg, weights, x.shape)
    mine, theirs = runs.numpy_forward(cfg, weights, x, mask=MASK), runs.keras_forward(cfg, twins, x, mask=MASK)
    assert_close(mine.states, theirs.states, "states (B, T, H), masked")
    assert_close(mine.final_state, theirs.final_state, "final state, masked")
    if head != "none":
        assert_close(mine.probs, theirs.probs, "head probabilities, masked")
        return
    labels = np.zeros((2, 5), np.int64)
    g_mine = runs.numpy_gradients(cfg, weights, x, labels, mask=MASK)
    g_theirs = runs.keras_gradients(cfg, twins, x, labels, mask=MASK)
    for name in g_theirs.weights:
        assert_close(g_mine.weights[name], g_theirs.weights[name], f"dL/d{name}, masked")
    assert_close(g_mine.hidden, g_theirs.hidden, "dL/dh_t, masked")
