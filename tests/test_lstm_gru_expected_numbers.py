"""Keras' own expected numbers for LSTM and GRU (keras/src/layers/rnn/lstm_test.py, gru_test.py), NumPy only.

Constant weights (kernel 0.01, recurrent 0.02, bias 0.03; an LSTM's forget block
is ones with unit_forget_bias, as Keras builds it) on np.arange inputs.
Tolerance 1e-5, as Keras' tests.
"""

import numpy as np
import pytest

from rnn_core import GRU, LSTM

TOL = 1e-5


def constant_layer(cls, units, input_dim, **kwargs):
    layer = cls(units, **kwargs)
    layer.build((1, 1, input_dim))
    kernel, recurrent, *bias = layer.get_weights()
    weights = [np.full(kernel.shape, 0.01, np.float32), np.full(recurrent.shape, 0.02, np.float32)]
    if bias:
        b = np.full(bias[0].shape, 0.03, np.float32)
        if cls is LSTM and layer.unit_forget_bias:
            b[units:2 * units] = 1.0                     # Keras: [init(H), ones(H), init(2H)]
        weights.append(b)
    layer.set_weights(weights)
    return layer


def expect(out, rows):
    rows = np.asarray(rows, np.float32)
    expected = rows if rows.ndim == out.ndim else np.repeat(rows[:, None], out.shape[-1], axis=1)
    np.testing.assert_allclose(out, expected, rtol=TOL, atol=TOL)


SEQ_72 = np.arange(72).reshape((3, 6, 4)).astype("float32")
SEQ_24 = np.arange(24).reshape((2, 4, 3)).astype("float32")


@pytest.mark.parametrize("cls, kwargs, expected", [
    (LSTM, {}, [0.6288687, 0.86899155, 0.9460773]),
    (LSTM, {"go_backwards": True}, [0.35622165, 0.74789524, 0.8872726]),
    (LSTM, {"unit_forget_bias": False}, [0.57019705, 0.8661914, 0.9459622]),
    (LSTM, {"use_bias": False}, [0.54986924, 0.86226785, 0.9443936]),
    (GRU, {}, [0.5217289, 0.6371659, 0.39384964]),
    (GRU, {"go_backwards": True}, [0.24406259, 0.611516, 0.3928808]),
    (GRU, {"reset_after": False}, [0.51447755, 0.6426879, 0.40208298]),
    (GRU, {"use_bias": False}, [0.49988455, 0.64701194, 0.4103359]),
])
def test_correctness(cls, kwargs, expected):
    expect(constant_layer(cls, 3, 4, **kwargs)(SEQ_72), expected)


@pytest.mark.parametrize("cls, expected", [
    (LSTM, [0.3124785, 0.6863672]),
    (GRU, [0.29542392, 0.5885018]),
])
def test_statefulness_and_reset(cls, expected):
    seq = np.arange(24).reshape((2, 3, 4)).astype("float32")
    layer = constant_layer(cls, 4, 4, stateful=True)
    first = layer(seq)
    second = layer(seq)
    expect(second, expected)
    assert not np.allclose(first, second), "the second call must start from the carried state"
    layer.reset_state()
    np.testing.assert_allclose(layer(seq), first, rtol=TOL, atol=TOL)
    expect(layer(seq), expected)


@pytest.mark.parametrize("cls, go_backwards, expected", [
    (LSTM, False, [[0.20574439, 0.3558822], [0.64930826, 0.66276]]),
    (LSTM, True, [[0.13281618, 0.2790356], [0.5839337, 0.5992567]]),
    (GRU, False, [[0.23774096, 0.33508456], [0.83659905, 1.0227708]]),
    (GRU, True, [[0.13486053, 0.23261218], [0.78257304, 0.9691353]]),
])
def test_pass_initial_state(cls, go_backwards, expected):
    s0 = np.arange(4).reshape((2, 2)).astype("float32")
    initial_state = [s0, s0] if cls is LSTM else s0
    layer = constant_layer(cls, 2, 3, go_backwards=go_backwards, return_state=True)
    output, *states = layer(SEQ_24, initial_state=initial_state)
    expect(output, expected)
    np.testing.assert_array_equal(output, states[0])   # the last output is the final h


LSTM_MASK = np.array([[True, True, True, False], [True, True, False, False]])
GRU_MASK = np.array([[True, True, False, True], [True, False, False, True]])


@pytest.mark.parametrize("cls, mask, last, seq0, seq1, zero0, zero1", [
    (LSTM, LSTM_MASK, [0.11755939, 0.28556206],
     [0.01588910, 0.05552048, 0.11755939, 0.11755939], [0.14185596, 0.28556206, 0.28556206, 0.28556206],
     [0.01588910, 0.05552048, 0.11755939, 0.0], [0.14185596, 0.28556206, 0.0, 0.0]),
    (GRU, GRU_MASK, [0.19393763, 0.30818558],
     [0.03606692, 0.09497581, 0.09497581, 0.19393763], [0.16051409, 0.16051409, 0.16051409, 0.30818558],
     [0.03606692, 0.09497581, 0.0, 0.19393763], [0.16051409, 0.0, 0.0, 0.30818558]),
])
def test_masking(cls, mask, last, seq0, seq1, zero0, zero1):
    expect(constant_layer(cls, 2, 3)(SEQ_24, mask=mask), last)
    out = constant_layer(cls, 2, 3, return_sequences=True)(SEQ_24, mask=mask)
    expect(out[0], seq0)
    expect(out[1], seq1)
    out = constant_layer(cls, 2, 3, return_sequences=True, zero_output_for_mask=True)(SEQ_24, mask=mask)
    expect(out[0], zero0)
    expect(out[1], zero1)


@pytest.mark.parametrize("cls, mask, expected", [
    (LSTM, np.array([[False, True, True, True], [False, False, True, True]]), [0.15341201, 0.3844719]),
    (GRU, GRU_MASK, [0.11669192, 0.28380975]),
])
def test_masking_backwards(cls, mask, expected):
    expect(constant_layer(cls, 2, 3, go_backwards=True)(SEQ_24, mask=mask), expected)
