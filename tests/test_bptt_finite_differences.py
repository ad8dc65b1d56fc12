"""BPTT of the NumPy core against centred finite differences, in float64.

The loss is L = <G, output> + <S, final state> with fixed random G, S, so
its gradient with respect to the output is G: every path through time is
exercised. Tolerance: relative error (max-norm) below FD_TOL = 1e-6.
"""

import itertools

import numpy as np
import pytest
from helpers import FD_TOL, numeric_gradient, random_layer, relative_error

from rnn_core import ACTIVATIONS
from rnn_core.training.model import RNNClassifier

B, T, D, H = 2, 5, 3, 4


def check_layer_gradients(layer, x, rng, mask=None, training=False, h0=None, truncate=None):
    rng_state = layer._rng.bit_generator.state   # replayed below so every call draws the same dropout masks
    result = layer(x, mask=mask, training=training, initial_state=h0)
    out, state = result if layer.return_state else (result, None)
    g_out = rng.normal(size=out.shape)
    g_state = rng.normal(size=state.shape) if state is not None else None
    grads = layer.backward(g_out, g_state, truncate=truncate)
    masks = layer.last_dropout_masks
    h0 = np.zeros((B, H)) if h0 is None else h0

    def loss():
        # Re-run with the same dropout masks: the masks are part of the function being differentiated.
        r = (layer(x, mask=mask, training=False, initial_state=h0) if not training
             else _with_masks(layer, x, mask, h0, masks, rng_state))
        o, s = r if layer.return_state else (r, None)
        return float(np.sum(o * g_out) + (np.sum(s * g_state) if s is not None else 0.0))

    targets = {"kernel": layer.kernel, "recurrent_kernel": layer.recurrent_kernel, "inputs": x, "initial_state": h0}
    if layer.use_bias:
        targets["bias"] = layer.bias
    for name, array in targets.items():
        err = relative_error(getattr(grads, name), numeric_gradient(loss, array))
        assert err < FD_TOL, f"{name}: relative error {err:.2e} >= {FD_TOL:g}"
    return grads


def _with_masks(layer, x, mask, h0, masks, rng_state):
    """Call the layer in training mode with the dropout masks of the checked call."""
    layer._rng.bit_generator.state = rng_state
    out = layer(x, mask=mask, training=True, initial_state=h0)
    assert all((a is None and b is None) or np.array_equal(a, b)
               for a, b in zip(layer.last_dropout_masks, masks, strict=True))
    return out


FLAGS = list(itertools.product([False, True], repeat=4))


@pytest.mark.parametrize("return_sequences, return_state, go_backwards, use_bias", FLAGS)
def test_every_flag_combination(return_sequences, return_state, go_backwards, use_bias, rng):
    layer = random_layer(H, D, rng, np.float64, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, use_bias=use_bias)
    x = rng.normal(size=(B, T, D))
    check_layer_gradients(layer, x, rng, h0=rng.normal(size=(B, H)))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation(activation, rng):
    # exponential feeds e^h back into itself: keep the weights small so it stays finite over 5 steps.
    scale = 0.2 if activation == "exponential" else 0.6
    layer = random_layer(H, D, rng, np.float64, scale=scale, activation=activation, return_sequences=True,
                         return_state=True)
    check_layer_gradients(layer, rng.normal(size=(B, T, D)) * scale, rng)


@pytest.mark.parametrize("zero_output_for_mask", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_masking(zero_output_for_mask, return_sequences, go_backwards, rng):
    layer = random_layer(H, D, rng, np.float64, return_sequences=return_sequences, return_state=True,
                         go_backwards=go_backwards, zero_output_for_mask=zero_output_for_mask)
    # First step masked (output carried from zeros), a gap in the middle, last step masked.
    mask = np.array([[False, True, False, True, False], [True, True, True, False, True]])
    check_layer_gradients(layer, rng.normal(size=(B, T, D)), rng, mask=mask, h0=rng.normal(size=(B, H)))


def test_dropout_in_training(rng):
    layer = random_layer(H, D, rng, np.float64, dropout=0.3, recurrent_dropout=0.4, return_sequences=True, seed=3)
    grads = check_layer_gradients(layer, rng.normal(size=(B, T, D)), rng, training=True)
    in_mask, rec_mask = layer.last_dropout_masks
    assert in_mask.shape == (B, D) and rec_mask.shape == (B, H)
    # A dropped input feature gets exactly zero gradient at every step.
    dropped = in_mask == 0
    assert dropped.any(), "seed 3 must drop at least one input feature for this test to mean something"
    assert np.all(grads.inputs.transpose(0, 2, 1)[dropped] == 0)


def test_hidden_is_total_gradient(rng):
    """hidden[t] = dL/dh_t: perturb h_t through the initial state of a run that starts at t+1."""
    layer = random_layer(H, D, rng, np.float64, return_sequences=True)
    x = rng.normal(size=(B, T, D))
    out = layer(x)
    g_out = rng.normal(size=out.shape)
    hidden = layer.backward(g_out).hidden
    for t in range(T - 1):
        h_t = out[:, t].copy()
        tail = x[:, t + 1:]

        def loss():
            return float(np.sum(g_out[:, t] * h_t) + np.sum(layer(tail, initial_state=h_t) * g_out[:, t + 1:]))

        err = relative_error(hidden[:, t], numeric_gradient(loss, h_t))
        assert err < FD_TOL, f"hidden[{t}]: relative error {err:.2e}"
    np.testing.assert_array_equal(hidden[:, -1], g_out[:, -1])


@pytest.mark.parametrize("k", [1, 2, 3])
def test_truncated_bptt_matches_windowed_reference(k, rng):
    """truncate=k equals the sum over loss terms s of the gradient of a window of k steps ending at s.

    Each window starts from the actual state h_{s-k}, held constant: that is
    exactly "the gradient travels at most k steps back". The window gradients
    are finite differences, so this checks the definition, not the code.
    """
    layer = random_layer(H, D, rng, np.float64, return_sequences=True)
    x = rng.normal(size=(B, T, D))
    h0 = rng.normal(size=(B, H))
    out = layer(x, initial_state=h0)
    g_out = rng.normal(size=out.shape)
    grads = layer.backward(g_out, truncate=k)
    states = np.concatenate([h0[:, None], out], axis=1)        # states[:, t + 1] = h_t

    ref = {"kernel": 0.0, "recurrent_kernel": 0.0, "bias": 0.0}
    ref_inputs, ref_h0 = np.zeros_like(x), np.zeros_like(h0)
    ref_hidden = np.zeros_like(out)
    for s in range(T):
        w = max(0, s - k + 1)                                  # the window is steps w..s
        start = states[:, w].copy()
        window = x[:, w:s + 1].copy()

        def loss():
            return float(np.sum(layer(window, initial_state=start)[:, -1] * g_out[:, s]))

        for name in ref:
            ref[name] = ref[name] + numeric_gradient(loss, getattr(layer, name))
        ref_inputs[:, w:s + 1] += numeric_gradient(loss, window)
        d_start = numeric_gradient(loss, start)
        if w == 0:
            ref_h0 += d_start
        else:
            ref_hidden[:, w - 1] += d_start
        ref_hidden[:, s] += g_out[:, s]
        for t in range(w, s):                                  # gradient reaching h_t inside the window
            mid = out[:, t].copy()
            rest = x[:, t + 1:s + 1].copy()
            ref_hidden[:, t] += numeric_gradient(
                lambda: float(np.sum(layer(rest, initial_state=mid)[:, -1] * g_out[:, s])), mid)
    layer(x, initial_state=h0)   # the reference calls replaced the trace; not needed after this point
    for name in ref:
        err = relative_error(getattr(grads, name), ref[name])
        assert err < FD_TOL, f"{name}: relative error {err:.2e}"
    for name, mine, theirs in (("inputs", grads.inputs, ref_inputs), ("initial_state", grads.initial_state, ref_h0),
                               ("hidden", grads.hidden, ref_hidden)):
        err = relative_error(mine, theirs)
        assert err < FD_TOL, f"{name}: relative error {err:.2e}"


def test_truncate_at_least_length_is_full_bptt(rng):
    layer = random_layer(H, D, rng, np.float64, return_sequences=True, return_state=True)
    out, state = layer(rng.normal(size=(B, T, D)))
    g, s = rng.normal(size=out.shape), rng.normal(size=state.shape)
    full, trunc = layer.backward(g, s), layer.backward(g, s, truncate=T)
    for name in ("kernel", "recurrent_kernel", "bias", "inputs", "initial_state", "hidden"):
        np.testing.assert_array_equal(getattr(full, name), getattr(trunc, name))
    short = layer.backward(g, s, truncate=1)
    assert not np.allclose(short.recurrent_kernel, full.recurrent_kernel)


@pytest.mark.parametrize("many_to_many", [True, False])
def test_tutorial_model(many_to_many, rng):
    model = RNNClassifier(num_hidden=H, num_class=3, many_to_many=many_to_many, seed=0)
    model.build((B, T, D))
    model.set_weights([rng.normal(0, 0.5, w.shape) for w in model.get_weights()])
    x = rng.normal(size=(B, T, D))
    y = rng.integers(0, 3, size=(B, T) if many_to_many else (B,))
    model.loss(x, y)
    grads = model.backward()
    weights = model.get_weights()
    model.set_weights(weights)                    # keep references: the FD perturbs these very arrays
    live = model.rnn.get_weights() + model.fc.get_weights()
    for i, (analytic, array) in enumerate(zip(grads.weights(), live, strict=True)):
        err = relative_error(analytic, numeric_gradient(lambda: model.loss(x, y)[0], array))
        assert err < FD_TOL, f"weight {i}: relative error {err:.2e}"
    model.loss(x, y)
    err = relative_error(model.backward().rnn.inputs, numeric_gradient(lambda: model.loss(x, y)[0], x))
    assert err < FD_TOL, f"inputs: relative error {err:.2e}"


def test_tutorial_model_with_mse_loss(rng):
    model = RNNClassifier(num_hidden=H, num_class=3, many_to_many=True, head_activation="linear", seed=0)
    model.build((B, T, D))
    model.set_weights([rng.normal(0, 0.5, w.shape) for w in model.get_weights()])
    x, y = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, 3))
    model.loss(x, y, loss="mse")
    grads = model.backward()
    live = model.rnn.get_weights() + model.fc.get_weights()
    for i, (analytic, array) in enumerate(zip(grads.weights(), live, strict=True)):
        err = relative_error(analytic, numeric_gradient(lambda: model.loss(x, y, loss="mse")[0], array))
        assert err < FD_TOL, f"weight {i}: relative error {err:.2e}"
