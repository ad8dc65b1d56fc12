"""LSTM and GRU of the NumPy core against keras.layers.LSTM / GRU with the same weights.

Outputs and every gradient (weights, inputs, initial states, total dL/dh_t and
dL/dc_t), float32 on both sides; tolerance F32_TOL = 1e-5 relative to the scale
of Keras' value (see helpers.assert_close).
"""

import itertools

import numpy as np
import pytest
from helpers import as_tuple, assert_close, random_rnn

from rnn_core import keras_bridge as kb

pytestmark = pytest.mark.keras

B, T, D, H = 3, 6, 4, 5
VARIANTS = [("lstm", {}), ("gru", {}), ("gru", {"reset_after": False})]
IDS = ["lstm", "gru", "gru_reset_before"]
GRAD_NAMES = ("kernel", "recurrent_kernel", "bias", "inputs", "hidden", "cell", "cell_carried")


def compare(kind, layer, x, rng, mask=None, initial_state=None, training=False, keras_layer=None):
    """Run both sides on x, compare the returned structure, then every gradient."""
    mine = layer(x, mask=mask, initial_state=initial_state, training=training)
    k = keras_layer or kb.build_layer(kind, layer.config, x.shape, layer.get_weights())
    masks = layer.last_dropout_masks
    g = [rng.normal(size=r.shape).astype(np.float32) for r in as_tuple(mine)]
    grads = layer.backward(*g)
    theirs = kb.layer_gradients(k, x, g[0], g[1:] or None, mask=mask, initial_state=initial_state,
                                training=training, dropout_masks=masks)
    assert type(mine) is type(theirs["output"]), f"structure: mine {type(mine)} vs Keras {type(theirs['output'])}"
    for i, (a, b) in enumerate(zip(as_tuple(mine), as_tuple(theirs["output"]), strict=True)):
        assert_close(a, b, f"output[{i}]")
    for name in GRAD_NAMES:
        if theirs[name] is None:
            assert getattr(grads, name) is None, f"{name}: Keras has none"
            continue
        assert_close(getattr(grads, name), theirs[name], f"d {name}")
    for i, (a, b) in enumerate(zip(as_tuple(grads.initial_state), as_tuple(theirs["initial_state"]), strict=True)):
        assert_close(a, b, f"d initial_state[{i}]")
    return mine, theirs


def states(layer, rng):
    return [rng.normal(size=(B, H)).astype(np.float32) for _ in layer.cell.state_names]


@pytest.mark.parametrize("kind, kw", VARIANTS, ids=IDS)
@pytest.mark.parametrize("return_sequences, return_state, go_backwards, use_bias",
                         list(itertools.product([False, True], repeat=4)))
def test_every_flag_combination(kind, kw, return_sequences, return_state, go_backwards, use_bias, rng):
    layer = random_rnn(kind, H, D, rng, return_sequences=return_sequences, return_state=return_state,
                       go_backwards=go_backwards, use_bias=use_bias, **kw)
    compare(kind, layer, rng.normal(size=(B, T, D)).astype(np.float32), rng)


@pytest.mark.parametrize("kind, kw", VARIANTS, ids=IDS)
@pytest.mark.parametrize("recurrent_activation, activation", [("hard_sigmoid", "tanh"), ("sigmoid", "relu")])
def test_other_activations(kind, kw, recurrent_activation, activation, rng):
    layer = random_rnn(kind, H, D, rng, return_sequences=True, return_state=True,
                       recurrent_activation=recurrent_activation, activation=activation, **kw)
    compare(kind, layer, rng.normal(size=(B, T, D)).astype(np.float32), rng)


@pytest.mark.parametrize("kind, kw", VARIANTS, ids=IDS)
@pytest.mark.parametrize("zero_output_for_mask, go_backwards, return_sequences",
                         list(itertools.product([False, True], repeat=3)))
def test_masking(kind, kw, zero_output_for_mask, go_backwards, return_sequences, rng):
    layer = random_rnn(kind, H, D, rng, return_sequences=return_sequences, return_state=True,
                       go_backwards=go_backwards, zero_output_for_mask=zero_output_for_mask, **kw)
    mask = np.array([[False, True, True, False, True, False], [True] * 6, [True, False, False, True, True, True]])
    compare(kind, layer, rng.normal(size=(B, T, D)).astype(np.float32), rng, mask=mask,
            initial_state=states(layer, rng))


@pytest.mark.parametrize("kind, kw", VARIANTS, ids=IDS)
@pytest.mark.parametrize("dropout, recurrent_dropout", [(0.3, 0.0), (0.3, 0.4), (0.0, 0.4)])
def test_dropout_same_masks(kind, kw, dropout, recurrent_dropout, rng):
    layer = random_rnn(kind, H, D, rng, dropout=dropout, recurrent_dropout=recurrent_dropout,
                       return_sequences=True, return_state=True, seed=7, **kw)
    x = rng.normal(size=(B, T, D)).astype(np.float32)
    k = kb.build_layer(kind, layer.config, x.shape, layer.get_weights())
    compare(kind, layer, x, rng, training=True, keras_layer=k)
    assert any(m is not None and (m == 0).any() for m in layer.last_dropout_masks), "the masks must drop something"
    compare(kind, layer, x, rng, training=False, keras_layer=k)      # inference: no dropout on either side


@pytest.mark.parametrize("kind, kw", VARIANTS, ids=IDS)
def test_stateful_calls_and_reset(kind, kw, rng):
    layer = random_rnn(kind, H, D, rng, stateful=True, return_sequences=True, **kw)
    x1, x2 = (rng.normal(size=(B, T, D)).astype(np.float32) for _ in range(2))
    k = kb.build_layer(kind, layer.config, x1.shape, layer.get_weights())
    for x in (x1, x2):   # the second call starts from the states the first one left
        compare(kind, layer, x, rng, keras_layer=k)
        for i, s in enumerate(as_tuple(layer.states)):
            assert_close(s, np.asarray(k.states[i]), f"carried state {i}")
    layer.reset_state()
    k.reset_state()
    assert_close(layer(x1), kb.run_layer(k, x1), "output after reset_state")


@pytest.mark.parametrize("kind, kw", VARIANTS, ids=IDS)
def test_long_sequence_compiled_path(kind, kw, rng):
    """T >= COMPILE_MIN_STEPS: the bridge's tf.function path, called twice (the second reuses the trace)."""
    steps = kb.COMPILE_MIN_STEPS + 8
    layer = random_rnn(kind, H, D, rng, return_sequences=True, return_state=True, **kw)
    x = rng.normal(size=(2, steps, D)).astype(np.float32)
    k = kb.build_layer(kind, layer.config, x.shape, layer.get_weights())
    compare(kind, layer, x, rng, keras_layer=k)
    mask = np.ones((2, steps), bool)
    mask[0, ::3] = False
    compare(kind, layer, x, rng, mask=mask, keras_layer=k, initial_state=[s[:2] for s in states(layer, rng)])


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_weights_copy_both_ways(kind, rng):
    layer = random_rnn(kind, H, D, rng)
    k = kb.build_layer(kind, layer.config, (B, T, D), layer.get_weights())
    for mine, theirs in zip(layer.get_weights(), k.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    fresh = kb.build_layer(kind, layer.config, (B, T, D))
    layer.set_weights(fresh.get_weights())
    x = rng.normal(size=(B, T, D)).astype(np.float32)
    assert_close(layer(x), kb.run_layer(fresh, x), "output with Keras' own initial weights")


@pytest.mark.parametrize("many_to_many", [True, False])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_tutorial_model_with_gated_cell(cell, many_to_many, rng):
    """The tutorial model with an LSTM/GRU: the bridge's compiled model_gradients against the NumPy layer."""
    from rnn_core import CELLS
    from rnn_core.layers.dense import Dense
    from rnn_core.training.losses import LOSSES

    C = 3
    model = kb.build_tutorial_model(H, C, many_to_many, input_shape=(B, T, D), cell=cell)
    x = rng.normal(size=(B, T, D)).astype(np.float32)
    y = rng.integers(0, C, size=(B, T) if many_to_many else (B,))
    theirs = kb.model_gradients(model, x, y)
    rnn = CELLS[cell](H, return_sequences=many_to_many)
    rnn.build(x.shape)
    n = len(rnn.get_weights())
    weights = model.get_weights()
    rnn.set_weights(weights[:n])
    head = Dense(C, activation="softmax")
    head.build(H)
    head.set_weights(weights[n:])
    probs = head(rnn(x))                              # Dense on (B, T, H) is TimeDistributed(Dense)
    assert_close(probs, theirs["probs"], "probabilities")
    loss, d_probs = LOSSES["sparse_categorical_crossentropy"](probs, y)
    assert abs(loss - theirs["loss"]) <= 1e-5 * max(1.0, abs(theirs["loss"]))
    head_grads = head.backward(d_probs)
    grads = rnn.backward(head_grads.inputs)
    mine = grads.weights() + [head_grads.kernel, head_grads.bias]
    for i, (a, b) in enumerate(zip(mine, theirs["weights"], strict=True)):
        assert_close(a, b, f"d weight {i}")
    assert_close(grads.inputs, theirs["inputs"], "d inputs")
    assert_close(grads.hidden, theirs["hidden"], "total dL/dh_t")
    if cell == "lstm":
        assert_close(grads.cell, theirs["cell"], "total dL/dc_t")
    else:
        assert theirs["cell"] is None


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm"])
def test_compiled_forward_call_gives_keras_eager_numbers(cell):
    """Long inference calls go through a tf.function (keras_bridge.run_layer): the same numbers as the eager call."""
    from dataclasses import replace as _replace

    from rnn_core import CELLS
    from rnn_core import keras_bridge as kb

    T = kb.COMPILE_FORWARD_MIN_STEPS
    layer = CELLS[cell](5, return_sequences=True, return_state=True, seed=1)
    x = np.random.default_rng(2).standard_normal((2, T, 3)).astype(np.float32) * 0.3
    mask = np.ones((2, T), bool)
    mask[1, T // 2:] = False
    h0 = [np.full((2, 5), 0.1, np.float32) for _ in layer.cell.state_names]
    ours = layer(x, mask=mask, initial_state=h0)
    keras_layer = kb.build_layer(cell, _replace(layer.config, seed=None), x.shape, layer.get_weights())
    compiled = kb.run_layer(keras_layer, x, mask=mask, initial_state=h0)
    for name, a, b in zip(("output", "h", "c"), ours, compiled, strict=False):
        assert_close(a, b, f"{cell} compiled {name}")
