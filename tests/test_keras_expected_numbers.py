"""Keras' own expected numbers for SimpleRNN (keras/src/layers/rnn/simple_rnn_test.py), NumPy only.

Constant weights (kernel 0.01, recurrent 0.02, bias 0.03) on np.arange(24) inputs.
"""

import numpy as np
import pytest

from rnn_core import SimpleRNN

TOL = 1e-6  # Keras' assertAllClose default tolerance


def constant_layer(units, input_dim, **kwargs):
    layer = SimpleRNN(units, **kwargs)
    layer.build((1, 1, input_dim))
    layer.set_weights([np.full((input_dim, units), 0.01, np.float32), np.full((units, units), 0.02, np.float32),
                       np.full(units, 0.03, np.float32)])
    return layer


@pytest.mark.parametrize("go_backwards, expected", [
    (False, [0.405432, 0.73605347]),
    (True, [0.11144729, 0.5528889]),
])
def test_correctness(go_backwards, expected):
    seq = np.arange(24).reshape((2, 3, 4)).astype("float32")
    out = constant_layer(4, 4, go_backwards=go_backwards)(seq)
    np.testing.assert_allclose(out, np.repeat(np.array(expected)[:, None], 4, axis=1), rtol=TOL, atol=TOL)


def test_statefulness_and_reset():
    seq = np.arange(24).reshape((2, 3, 4)).astype("float32")
    layer = constant_layer(4, 4, stateful=True)
    first = layer(seq)
    out = layer(seq)
    expected = np.repeat(np.array([0.40559256, 0.7361247])[:, None], 4, axis=1)
    np.testing.assert_allclose(out, expected, rtol=TOL, atol=TOL)
    assert not np.allclose(first, out), "the second call must start from the carried state"
    layer.reset_state()
    layer(seq)
    np.testing.assert_allclose(layer(seq), expected, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("go_backwards, expected", [
    (False, [0.33621645, 0.6262637]),
    (True, [0.07344437, 0.43043602]),
])
def test_pass_initial_state(go_backwards, expected):
    seq = np.arange(24).reshape((2, 4, 3)).astype("float32")
    h0 = np.arange(8).reshape((2, 4)).astype("float32")
    out = constant_layer(4, 3, go_backwards=go_backwards)(seq, initial_state=h0)
    np.testing.assert_allclose(out, np.repeat(np.array(expected)[:, None], 4, axis=1), rtol=TOL, atol=TOL)


def test_masking():
    seq = np.arange(24).reshape((2, 4, 3)).astype("float32")
    mask = np.array([[True, True, False, True], [True, False, False, True]])
    out = constant_layer(4, 3)(seq, mask=mask)
    np.testing.assert_allclose(out, np.repeat(np.array([0.32951632, 0.61799484])[:, None], 4, axis=1),
                               rtol=TOL, atol=TOL)
    seqs = constant_layer(2, 3, return_sequences=True)(seq, mask=mask)
    expected = [[0.0599281, 0.0599281], [0.15122814, 0.15122814], [0.15122814, 0.15122814],
                [0.32394567, 0.32394567]]
    np.testing.assert_allclose(seqs[0], expected, rtol=TOL, atol=TOL)
