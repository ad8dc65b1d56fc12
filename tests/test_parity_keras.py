"""The NumPy core against keras.layers.SimpleRNN with the same weights: outputs and every gradient.

float32 on both sides; tolerance F32_TOL = 1e-5 relative to the scale of
Keras' value (see helpers.assert_close).
"""

import itertools

import numpy as np
import pytest
from helpers import as_tuple, assert_close, random_layer

from rnn_core import ACTIVATIONS
from rnn_core import keras_bridge as kb

pytestmark = pytest.mark.keras

B, T, D, H = 3, 6, 4, 5
GRAD_NAMES = ("kernel", "recurrent_kernel", "bias", "inputs", "initial_state", "hidden")


def compare(layer, x, rng, mask=None, h0=None, training=False, keras_layer=None):
    """Run both sides on x, compare the returned structure, then every gradient."""
    mine = layer(x, mask=mask, initial_state=h0, training=training)
    k = keras_layer or kb.build_simple_rnn(layer.config, x.shape, layer.get_weights())
    masks = layer.last_dropout_masks
    out, state = mine if layer.return_state else (mine, None)
    g_out = rng.normal(size=out.shape).astype(np.float32)
    g_state = rng.normal(size=state.shape).astype(np.float32) if state is not None else None
    grads = layer.backward(g_out, g_state)
    theirs = kb.layer_gradients(k, x, g_out, g_state, mask=mask, initial_state=h0, training=training,
                                dropout_masks=masks)
    assert type(mine) is type(theirs["output"]), f"structure: mine {type(mine)} vs Keras {type(theirs['output'])}"
    for i, (a, b) in enumerate(zip(as_tuple(mine), as_tuple(theirs["output"]), strict=True)):
        assert_close(a, b, f"output[{i}]")
    for name in GRAD_NAMES:
        if theirs[name] is None:
            assert getattr(grads, name) is None, f"{name}: Keras has none"
            continue
        assert_close(getattr(grads, name), theirs[name], f"d {name}")
    return mine, theirs


@pytest.mark.parametrize("return_sequences, return_state, go_backwards, use_bias",
                         list(itertools.product([False, True], repeat=4)))
def test_every_flag_combination(return_sequences, return_state, go_backwards, use_bias, rng):
    layer = random_layer(H, D, rng, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, use_bias=use_bias)
    compare(layer, rng.normal(size=(B, T, D)).astype(np.float32), rng)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation(activation, rng):
    scale = 0.2 if activation == "exponential" else 0.6
    layer = random_layer(H, D, rng, scale=scale, activation=activation, return_sequences=True, return_state=True)
    compare(layer, (rng.normal(size=(B, T, D)) * scale).astype(np.float32), rng)


@pytest.mark.parametrize("zero_output_for_mask", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_masking(zero_output_for_mask, return_sequences, go_backwards, rng):
    layer = random_layer(H, D, rng, return_sequences=return_sequences, return_state=True, go_backwards=go_backwards,
                         zero_output_for_mask=zero_output_for_mask)
    mask = np.array([[False, True, True, False, True, False], [True] * 6, [True, False, False, True, True, True]])
    compare(layer, rng.normal(size=(B, T, D)).astype(np.float32), rng, mask=mask,
            h0=rng.normal(size=(B, H)).astype(np.float32))


def test_initial_state(rng):
    layer = random_layer(H, D, rng, return_sequences=True, return_state=True)
    compare(layer, rng.normal(size=(B, T, D)).astype(np.float32), rng, h0=rng.normal(size=(B, H)).astype(np.float32))


def test_dropout_same_masks(rng):
    layer = random_layer(H, D, rng, dropout=0.3, recurrent_dropout=0.4, return_sequences=True, seed=7)
    compare(layer, rng.normal(size=(B, T, D)).astype(np.float32), rng, training=True)
    # In inference mode dropout does nothing on either side.
    compare(layer, rng.normal(size=(B, T, D)).astype(np.float32), rng, training=False)


def test_stateful_calls_and_reset(rng):
    layer = random_layer(H, D, rng, stateful=True, return_sequences=True)
    x1, x2 = (rng.normal(size=(B, T, D)).astype(np.float32) for _ in range(2))
    k = kb.build_simple_rnn(layer.config, x1.shape, layer.get_weights())
    for x in (x1, x2):   # the second call starts from the state the first one left
        compare(layer, x, rng, keras_layer=k)
        assert_close(layer.states, np.asarray(k.states[0]), "carried state")
    layer.reset_state()
    k.reset_state()
    assert_close(layer(x1), kb.run_layer(k, x1), "output after reset_state")
    assert_close(layer.states, np.asarray(k.states[0]), "state after reset_state")


def test_stateful_rejects_a_new_batch_size(rng):
    layer = random_layer(H, D, rng, stateful=True)
    layer(rng.normal(size=(B, T, D)).astype(np.float32))
    with pytest.raises(ValueError, match="batch size"):
        layer(rng.normal(size=(B + 1, T, D)).astype(np.float32))


def test_float64_layer(rng):
    layer = random_layer(H, D, rng, np.float64, return_sequences=True, return_state=True)
    x = rng.normal(size=(B, T, D))
    k = kb.build_simple_rnn(layer.config, x.shape, layer.get_weights(), dtype="float64")
    out, state = layer(x)
    assert out.dtype == np.float64
    ko, ks = kb.run_layer(k, x)
    assert_close(out, ko, "output float64", tol=1e-12)
    assert_close(state, ks, "state float64", tol=1e-12)
