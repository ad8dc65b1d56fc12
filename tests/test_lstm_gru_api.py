"""The LSTM/GRU API: Keras' weight layout, return structure, clear errors, and what the pages read."""

import numpy as np
import pytest
from helpers import as_tuple, random_rnn

from rnn_core import CELLS, GRU, LSTM, GRUConfig, LSTMConfig, SimpleRNN

KINDS = ["simple_rnn", "lstm", "gru"]


@pytest.mark.parametrize("cls, kwargs, shapes", [
    (LSTM, {}, [(5, 16), (4, 16), (16,)]),
    (GRU, {}, [(5, 12), (4, 12), (2, 12)]),
    (GRU, {"reset_after": False}, [(5, 12), (4, 12), (12,)]),
    (LSTM, {"use_bias": False}, [(5, 16), (4, 16)]),
])
def test_weights_in_keras_layout(cls, kwargs, shapes):
    layer = cls(4, seed=0, **kwargs)
    layer.build((2, 3, 5))
    assert [w.shape for w in layer.get_weights()] == shapes
    assert all(w.dtype == np.float32 for w in layer.get_weights())
    bad = [np.zeros(s, np.float32) for s in shapes]
    bad[1] = bad[1][:, :-1]
    with pytest.raises(ValueError, match=rf"recurrent_kernel must have shape \(4, {shapes[1][1]}\)"):
        layer.set_weights(bad)
    if len(shapes) == 3:
        with pytest.raises(ValueError, match="bias must have shape"):
            layer.set_weights([np.zeros(shapes[0]), np.zeros(shapes[1]), np.zeros(7)])


def test_unit_forget_bias_initialises_the_forget_block_to_ones():
    layer = LSTM(3, seed=0)
    layer.build((1, 2, 2))
    np.testing.assert_array_equal(layer.bias, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    plain = LSTM(3, seed=0, unit_forget_bias=False)
    plain.build((1, 2, 2))
    np.testing.assert_array_equal(plain.bias, np.zeros(12))


@pytest.mark.parametrize("kwargs, message", [
    ({"recurrent_activation": "sigmoidd"}, "Unknown activation 'sigmoidd'"),
    ({"unit_forget_bias": "yes"}, "unit_forget_bias must be True or False"),
    ({"dropout": 1.0}, r"dropout must be a float in \[0, 1\)"),
])
def test_bad_arguments_fail_early(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LSTM(3, **kwargs)
    with pytest.raises(ValueError, match="reset_after must be True or False"):
        GRU(3, reset_after=None)


@pytest.mark.parametrize("kind, n_states", [("simple_rnn", 1), ("lstm", 2), ("gru", 1)])
def test_return_structure_and_state_gradients(kind, n_states, rng):
    layer = random_rnn(kind, 4, 3, rng, return_sequences=True, return_state=True)
    result = layer(rng.normal(size=(2, 5, 3)).astype(np.float32))
    assert type(result) is tuple and len(result) == 1 + n_states
    np.testing.assert_array_equal(result[0][:, -1], result[1])      # the last output is the final h
    grads = layer.backward(*[np.ones_like(r) for r in result])
    assert (grads.cell is not None) == (kind == "lstm")
    assert len(as_tuple(grads.initial_state)) == n_states
    with pytest.raises(ValueError, match="state gradients"):
        layer.backward(result[0], *[np.ones((2, 4))] * (n_states + 1))
    layer = random_rnn(kind, 4, 3, rng)
    out = layer(rng.normal(size=(2, 5, 3)).astype(np.float32))
    with pytest.raises(ValueError, match="only meaningful with return_state"):
        layer.backward(out, np.ones((2, 4)))


def test_initial_state_count_is_checked(rng):
    layer = random_rnn("lstm", 4, 3, rng)
    x = rng.normal(size=(2, 5, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=r"LSTM has 2 states \(h, c\); got 1 initial states"):
        layer(x, initial_state=np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"initial_state c must have shape \(batch, units\) = \(2, 4\)"):
        layer(x, initial_state=[np.zeros((2, 4)), np.zeros((2, 3))])
    gru = random_rnn("gru", 4, 3, rng)
    np.testing.assert_array_equal(gru(x, initial_state=np.ones((2, 4))), gru(x, initial_state=[np.ones((2, 4))]))


@pytest.mark.parametrize("kind", KINDS)
def test_stacking_a_2d_output_says_what_keras_says_and_what_to_change(kind, rng):
    first = random_rnn(kind, 4, 3, rng)                      # return_sequences=False: (B, H)
    second = CELLS[kind](2)
    with pytest.raises(ValueError) as err:
        second(first(rng.normal(size=(2, 5, 3)).astype(np.float32)))
    text = str(err.value)
    assert f"Input 0 with name 'None' of layer '{second.name}' is incompatible with the layer: expected ndim=3, " \
           "found ndim=2. Full shape received: (2, 4)" in text
    assert "set return_sequences=True on the layer before it" in text
    stacked = CELLS[kind](2)(random_rnn(kind, 4, 3, rng, return_sequences=True)(np.ones((2, 5, 3), np.float32)))
    assert stacked.shape == (2, 2)


@pytest.mark.keras
def test_stacking_error_text_is_keras_own(rng):
    from rnn_core import keras_bridge as kb

    _, keras = kb._tf()
    layer = keras.layers.LSTM(2)
    with pytest.raises(ValueError) as err:
        layer(np.ones((2, 4), np.float32))
    mine = LSTM(2, name=layer.name)
    with pytest.raises(ValueError) as my_err:
        mine(np.ones((2, 4), np.float32))
    keras_line = next(line for line in str(err.value).splitlines() if "is incompatible" in line).strip()
    assert keras_line in str(my_err.value), f"Keras: {keras_line!r}\nmine: {my_err.value}"


def test_layer_names_count_like_keras():
    a, b = GRU(2), GRU(2)
    assert a.name.startswith("gru") and b.name != a.name


@pytest.mark.parametrize("kind, names", [
    ("simple_rnn", ["h", "z"]),
    ("lstm", ["h", "c", "i", "f", "g", "o"]),
    ("gru", ["h", "z", "r", "hh"]),
])
def test_last_sequences_and_explain_step_agree_with_the_call(kind, names, rng):
    layer = random_rnn(kind, 4, 3, rng, np.float64, return_sequences=True, go_backwards=True)
    x = rng.normal(size=(2, 5, 3))
    out = layer(x)
    seq = layer.last_sequences()
    assert list(seq) == names and all(v.shape == (2, 5, 4) for v in seq.values())
    np.testing.assert_array_equal(seq["h"], out)                       # processing order, as returned
    assert list(layer.cell.gate_labels) == list(layer.cell.gate_names)
    assert layer.cell.step_latex and all(isinstance(line, str) for line in layer.cell.step_latex)
    b, t = 1, 3
    prev = tuple(seq[s][b, t - 1] for s in layer.cell.state_names)
    x_t = x[b, ::-1][t]                                                # go_backwards: step t reads x[T-1-t]
    step = layer.cell.explain_step(x_t, prev, layer.get_weights())
    for s in layer.cell.state_names:
        np.testing.assert_allclose(step[s], seq[s][b, t], rtol=1e-12, atol=1e-12)
    for g in layer.cell.gate_names:
        if g in step:
            np.testing.assert_allclose(step[g], seq[g][b, t], rtol=1e-12, atol=1e-12)
    assert all(v.shape == (4,) for v in step.values())


def test_configs_are_frozen_and_named_like_keras():
    cfg = LSTMConfig(3)
    with pytest.raises(AttributeError):        # dataclasses.FrozenInstanceError
        cfg.units = 4
    assert GRUConfig(3).reset_after is True and LSTMConfig(3).unit_forget_bias is True
    assert set(CELLS) == set(KINDS) and CELLS["simple_rnn"] is SimpleRNN
    assert LSTM(3).cell.state_names == ("h", "c") and GRU(3).cell.n_blocks == 3
