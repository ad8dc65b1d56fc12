"""The SimpleRNN API: early, clear errors; weights in Keras' layout; initializer distributions."""

import numpy as np
import pytest

from rnn_core import SimpleRNN
from rnn_core.layers.initializers import initialize


@pytest.mark.parametrize("kwargs, message", [
    ({"units": 0}, "units must be a positive integer"),
    ({"units": 2.5}, "units must be a positive integer"),
    ({"units": 3, "activation": "tanhh"}, "Unknown activation 'tanhh'"),
    ({"units": 3, "dropout": 1.0}, r"dropout must be a float in \[0, 1\)"),
    ({"units": 3, "recurrent_dropout": -0.1}, "recurrent_dropout must be a float"),
    ({"units": 3, "kernel_initializer": "nope"}, "kernel_initializer must be one of"),
])
def test_bad_arguments_fail_early(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SimpleRNN(**kwargs)


def test_bad_calls_say_what_is_expected(rng):
    layer = SimpleRNN(3, return_sequences=True)
    with pytest.raises(ValueError, match="3-D"):
        layer(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="forward call first"):
        layer.backward(np.zeros((1, 2, 3)))
    layer(np.zeros((1, 2, 5), np.float32))
    with pytest.raises(ValueError, match="5"):
        layer(np.zeros((1, 2, 4), np.float32))
    with pytest.raises(ValueError, match=r"mask must have shape"):
        layer(np.zeros((1, 2, 5), np.float32), mask=np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"d_output must have shape \(1, 2, 3\)"):
        layer.backward(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="d_state is only meaningful"):
        layer.backward(np.zeros((1, 2, 3)), d_state=np.zeros((1, 3)))
    with pytest.raises(ValueError, match="truncate must be a positive integer"):
        layer.backward(np.zeros((1, 2, 3)), truncate=0)


def test_weights_in_keras_layout():
    layer = SimpleRNN(4, seed=0)
    layer.build((2, 3, 5))
    kernel, recurrent, bias = layer.get_weights()
    assert kernel.shape == (5, 4) and recurrent.shape == (4, 4) and bias.shape == (4,)
    assert kernel.dtype == np.float32
    no_bias = SimpleRNN(4, use_bias=False)
    no_bias.build((2, 3, 5))
    assert len(no_bias.get_weights()) == 2
    with pytest.raises(ValueError, match=r"Expected 2 arrays"):
        no_bias.set_weights([kernel, recurrent, bias])
    with pytest.raises(ValueError, match=r"recurrent_kernel must have shape \(4, 4\)"):
        layer.set_weights([kernel, recurrent.T[:3], bias])


def test_seed_makes_weights_reproducible():
    a, b = SimpleRNN(4, seed=1), SimpleRNN(4, seed=1)
    a.build((1, 2, 3))
    b.build((1, 2, 3))
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_initializer_distributions():
    rng = np.random.default_rng(0)
    q = initialize("orthogonal", (64, 64), rng)
    np.testing.assert_allclose(q.T @ q, np.eye(64), atol=1e-5)
    wide = initialize("orthogonal", (3, 8), rng)
    np.testing.assert_allclose(wide @ wide.T, np.eye(3), atol=1e-5)
    g = initialize("glorot_uniform", (200, 300), rng)
    limit = np.sqrt(6 / 500)
    assert np.abs(g).max() <= limit and np.abs(g).max() > 0.99 * limit
    assert g.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)
    h = initialize("he_normal", (400, 300), rng)
    assert h.std() == pytest.approx(np.sqrt(2 / 400), rel=0.03)
    np.testing.assert_array_equal(initialize("zeros", (5,), rng), np.zeros(5))


def test_integer_inputs_run_in_float32():
    layer = SimpleRNN(2, seed=0)
    assert layer(np.arange(12).reshape(1, 4, 3)).dtype == np.float32
