"""rnn_core.Bidirectional against keras.layers.Bidirectional and against float64 finite differences.

Keras parity (float32, F32_TOL = 1e-5 x scale, helpers.assert_close): the
returned structure (tuple vs array, every shape), outputs, states, and every
gradient by tf.GradientTape: both directions' weights, the input, the initial
states, and each direction's total dL/dh_t (dL/dc_t for LSTM), for every
merge_mode x return_sequences x return_state, once plain and once with a
mask and a random initial state. Finite differences (float64, centred,
relative error < FD_TOL = 1e-6) of every gradient for the same grid.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import FD_TOL, assert_close, numeric_gradient, relative_error

import rnn_core
from rnn_core import Bidirectional

B, T, D, H = 2, 5, 3, 4
CELLS = ("SimpleRNN", "LSTM", "GRU")
MERGE_MODES = ("concat", "sum", "mul", "ave", None)
GRID = list(itertools.product(CELLS, MERGE_MODES, [False, True], [False, True]))
MASK = np.array([[True, False, True, True, False], [True, True, True, False, True]])


def cell_class(cell: str):
    cls = getattr(rnn_core, cell, None)
    if cls is None:
        pytest.skip(f"rnn_core.{cell} does not exist yet (it comes with the branch `gated`)")
    return cls


def random_bidirectional(cell: str, rng, merge_mode="concat", dtype=np.float32, **kwargs) -> Bidirectional:
    """A built Bidirectional with random weights of a moderate scale in both directions."""
    bi = Bidirectional(cell_class(cell)(H, **kwargs), merge_mode=merge_mode)
    bi.build((B, T, D))
    scales = (0.6, 0.6 / np.sqrt(H), 0.3)                    # kernel, recurrent_kernel, bias
    n = len(bi.forward_layer.get_weights())
    bi.set_weights([rng.normal(0, scales[i % n], w.shape).astype(dtype) for i, w in enumerate(bi.get_weights())])
    return bi


def flat(result) -> list:
    """Every array in a returned structure, in order."""
    return [a for item in (result if isinstance(result, tuple) else (result,))
            for a in (item if isinstance(item, tuple) else (item,))]


def n_states(cell: str) -> int:
    return 2 if cell == "LSTM" else 1


def expected_structure(cell: str, merge_mode, return_sequences: bool, return_state: bool):
    """What Keras 3 returns, as nested (type, shape): tuples everywhere, never lists."""
    h = 2 * H if merge_mode == "concat" else H
    out = (B, T, h) if return_sequences else (B, h)
    one = (B, T, H) if return_sequences else (B, H)
    output = ("tuple", [one, one]) if merge_mode is None else out
    if not return_state:
        return output
    states = [(B, H)] * (2 * n_states(cell))
    if merge_mode is None:
        return ("tuple", [one, one] + states)
    return ("tuple", [out] + states)


def structure(result):
    if isinstance(result, (list, tuple)):
        return (type(result).__name__, [structure(r) for r in result])
    return tuple(np.shape(result))


def d_output_like(result, merge_mode, return_state: bool, rng):
    """Random upstream gradients (d_output, d_states) shaped like a result."""
    items = list(result) if isinstance(result, tuple) else [result]
    if merge_mode is None:
        out, states = (items[0], items[1]), items[2:]
        d_out = tuple(rng.normal(size=o.shape).astype(o.dtype) for o in out)
    else:
        out, states = items[0], items[1:]
        d_out = rng.normal(size=out.shape).astype(out.dtype)
    d_states = [rng.normal(size=s.shape).astype(s.dtype) for s in states] if return_state else []
    return d_out, d_states


def loss_of(result, d_out, d_states) -> float:
    grads = flat(d_out) + list(d_states)
    return float(sum(np.sum(np.asarray(r, np.float64) * g) for r, g in zip(flat(result), grads, strict=True)))


# -- structure, errors -----------------------------------------------------------------


@pytest.mark.parametrize("cell, merge_mode, return_sequences, return_state", GRID)
def test_structure(cell, merge_mode, return_sequences, return_state, rng):
    bi = random_bidirectional(cell, rng, merge_mode, return_sequences=return_sequences, return_state=return_state)
    result = bi(rng.normal(size=(B, T, D)).astype(np.float32))
    assert structure(result) == expected_structure(cell, merge_mode, return_sequences, return_state)
    d_out, d_states = d_output_like(result, merge_mode, return_state, rng)
    grads = bi.backward(d_out, *d_states)
    assert grads.inputs.shape == (B, T, D)
    assert [g.shape for g in grads.weights()] == [w.shape for w in bi.get_weights()]
    assert [g.shape for g in grads.initial_state] == [(B, H)] * (2 * n_states(cell))
    assert [g.shape for g in grads.hidden] == [(B, T, H)] * 2
    assert (grads.cell is not None) == (cell == "LSTM")


def test_backward_layer_is_a_copy_with_go_backwards(rng):
    layer = rnn_core.SimpleRNN(H, return_sequences=True, activation="relu", seed=3)
    bi = Bidirectional(layer)
    assert bi.forward_layer is not layer and bi.backward_layer is not layer
    assert not bi.forward_layer.go_backwards and bi.backward_layer.go_backwards
    assert bi.backward_layer.activation is bi.forward_layer.activation
    # Keras forces zero_output_for_mask = return_sequences on both directions.
    assert bi.forward_layer.zero_output_for_mask and bi.backward_layer.zero_output_for_mask
    bi.build((B, T, D))
    fwd, bwd = bi.forward_layer.get_weights(), bi.backward_layer.get_weights()
    assert not np.allclose(fwd[0], bwd[0]), "the two directions must not start from the same weights"


def test_bad_arguments_fail_clearly(rng):
    with pytest.raises(ValueError, match="Invalid merge mode"):
        Bidirectional(rnn_core.SimpleRNN(H), merge_mode="max")
    with pytest.raises(ValueError, match="different `go_backwards`"):
        Bidirectional(rnn_core.SimpleRNN(H, go_backwards=True))
    with pytest.raises(ValueError, match="return_sequences"):
        Bidirectional(rnn_core.SimpleRNN(H), backward_layer=rnn_core.SimpleRNN(H, go_backwards=True,
                                                                               return_sequences=True))
    with pytest.raises(ValueError, match="recurrent layer"):
        Bidirectional("SimpleRNN")
    bi = random_bidirectional("SimpleRNN", rng, return_sequences=True)
    x = rng.normal(size=(B, T, D)).astype(np.float32)
    with pytest.raises(ValueError, match="backward\\(\\) needs a forward call"):
        bi.backward(np.zeros((B, T, 2 * H)))
    with pytest.raises(ValueError, match="even number"):
        bi(x, initial_state=[np.zeros((B, H))])
    with pytest.raises(ValueError, match="even number"):
        bi.set_weights(bi.get_weights()[:-1])
    out = bi(x)
    with pytest.raises(ValueError, match="shape"):
        bi.backward(np.zeros((B, T, H)))
    with pytest.raises(ValueError, match="return_state"):
        bi.backward(np.zeros_like(out), np.zeros((B, H)), np.zeros((B, H)))
    with pytest.raises(AttributeError, match="stateful"):
        bi.reset_state()


def test_custom_backward_layer_is_used(rng):
    fwd = rnn_core.SimpleRNN(H, return_sequences=True, seed=0)
    bwd = rnn_core.SimpleRNN(H, return_sequences=True, go_backwards=True, activation="relu", seed=1)
    bi = Bidirectional(fwd, merge_mode="sum", backward_layer=bwd)
    assert bi.backward_layer is bwd and bi.backward_layer.config.activation == "relu"
    x = rng.normal(size=(B, T, D)).astype(np.float32)
    out = bi(x)
    y, y_rev = bi.forward_layer(x), bwd(x)
    np.testing.assert_allclose(out, y + y_rev[:, ::-1], rtol=1e-6)


def test_stateful_carries_both_directions(rng):
    bi = random_bidirectional("SimpleRNN", rng, stateful=True, return_state=True)
    x = rng.normal(size=(B, T, D)).astype(np.float32)
    _, h_f, h_b = bi(x)
    assert all(np.array_equal(a, b) for a, b in zip(bi.states, (h_f, h_b), strict=True))
    second = bi(x)
    bi.reset_state()
    assert all(not s.any() for s in bi.states)
    fresh = bi(x)
    assert not np.allclose(second[0], fresh[0]), "the second call must start from the carried states"


# -- float64 finite differences -----------------------------------------------------------


@pytest.mark.parametrize("masked", [False, True], ids=["plain", "mask+initial_state"])
@pytest.mark.parametrize("cell, merge_mode, return_sequences, return_state", GRID)
def test_finite_differences(cell, merge_mode, return_sequences, return_state, masked, rng):
    bi = random_bidirectional(cell, rng, merge_mode, dtype=np.float64,
                              return_sequences=return_sequences, return_state=return_state)
    x = rng.normal(size=(B, T, D))
    mask = MASK if masked else None
    h0 = [rng.normal(size=(B, H)) for _ in range(2 * n_states(cell))]
    weights = [w.copy() for w in bi.get_weights()]
    result = bi(x, mask=mask, initial_state=h0)
    d_out, d_states = d_output_like(result, merge_mode, return_state, rng)
    grads = bi.backward(d_out, *d_states)

    def loss() -> float:
        bi.set_weights(weights)
        return loss_of(bi(x, mask=mask, initial_state=h0), d_out, d_states)

    checks = [(f"weight {i}", g, w) for i, (g, w) in enumerate(zip(grads.weights(), weights, strict=True))]
    checks += [("inputs", grads.inputs, x)]
    checks += [(f"initial_state[{i}]", g, s) for i, (g, s) in enumerate(zip(grads.initial_state, h0, strict=True))]
    for name, analytic, array in checks:
        err = relative_error(analytic, numeric_gradient(loss, array))
        assert err < FD_TOL, f"{name}: relative error {err:.2e} >= {FD_TOL}"


def test_truncate_reaches_both_directions(rng):
    bi = random_bidirectional("SimpleRNN", rng, "sum", dtype=np.float64, return_sequences=True)
    x = rng.normal(size=(B, T, D))
    out = bi(x)
    d = rng.normal(size=out.shape)
    full, cut = bi.backward(d), bi.backward(d, truncate=1)
    # truncate=1: the gradient on each output reaches only its own step's input, in each direction.
    expected = bi.forward_layer.backward(d, truncate=1).inputs
    bi.backward_layer(x)
    expected = expected + bi.backward_layer.backward(d[:, ::-1], truncate=1).inputs
    np.testing.assert_allclose(cut.inputs, expected, rtol=1e-12)
    assert not np.allclose(cut.inputs, full.inputs)


# -- Keras parity ---------------------------------------------------------------------------


def keras_stepped(tf, kbi, x, init, mask, d_out, d_states, merge_mode):
    """dL/dh_t (and dL/dc_t) of each direction by stepping the Keras cells under the tape.

    As rnn_core.RNNGradients: the gradient on each part of the carried state
    s_t = (h_t, c_t), through the outputs and all later steps.

    Repeats keras.layers.Bidirectional's merge and Keras' masking rule
    (state carried, output zero or carried); also returns the output so the
    caller can check this loop against the real Keras layer.
    """
    n = len(init) // 2
    directions = []
    with tf.GradientTape() as tape:
        for layer, states0 in ((kbi.forward_layer, init[:n]), (kbi.backward_layer, init[n:])):
            xs, m = (x[:, ::-1], None if mask is None else mask[:, ::-1]) if layer.go_backwards else (x, mask)
            states = [tf.constant(s) for s in states0]
            prev_out = tf.zeros_like(states[0])
            seq, watched = [], []
            for t in range(x.shape[1]):
                out, new = layer.cell(tf.constant(xs[:, t]), states, training=False)
                if m is not None:                   # a masked step carries the states
                    keep = tf.constant(m[:, t:t + 1])
                    new = [tf.where(keep, a, b) for a, b in zip(new, states, strict=True)]
                # dL/ds_t for the carried state s_t = (h_t, c_t): a zero added to each part after the step
                # (so dL/dc_t does not include the path c_t -> h_t inside the same step).
                zeros = [tf.zeros_like(a) for a in new]
                tape.watch(zeros)
                states = [a + z for a, z in zip(new, zeros, strict=True)]
                o = states[0] if m is None else tf.where(
                    keep, states[0], tf.zeros_like(out) if layer.zero_output_for_mask else prev_out)
                seq.append(o)
                watched.append(zeros)
                prev_out = o
            seq = tf.stack(seq, axis=1)
            directions.append((seq if layer.return_sequences else seq[:, -1], states, watched))
        (y, s_f, w_f), (y_rev, s_b, w_b) = directions
        if kbi.return_sequences:
            y_rev = tf.reverse(y_rev, axis=[1])
        merged = {"concat": lambda: tf.concat([y, y_rev], -1), "sum": lambda: y + y_rev, "ave": lambda: (y + y_rev) / 2,
                  "mul": lambda: y * y_rev, None: lambda: (y, y_rev)}[merge_mode]()
        returned = flat(merged) + (list(s_f) + list(s_b) if kbi.return_state else [])
        grads = flat(d_out) + list(d_states)
        loss = sum(tf.reduce_sum(r * g) for r, g in zip(returned, grads, strict=True))
    targets = [[s[i] for s in w] for w in (w_f, w_b) for i in range(n)]
    got = tape.gradient(loss, targets, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    # -> per direction, per state kind: (B, T, H) in processing order
    per = [np.stack([np.asarray(g) for g in gs], axis=1) for gs in got]
    return [np.asarray(r) for r in returned], per[:n], per[n:]


@pytest.mark.keras
@pytest.mark.parametrize("cell, merge_mode, return_sequences, return_state", GRID)
def test_keras_parity(cell, merge_mode, return_sequences, return_state, rng):
    cell_class(cell)
    import keras  # noqa: PLC0415 - tests may import keras; slow, so only here
    import tensorflow as tf  # noqa: PLC0415

    bi = random_bidirectional(cell, rng, merge_mode, return_sequences=return_sequences, return_state=return_state)
    kbi = keras.layers.Bidirectional(
        getattr(keras.layers, cell)(H, return_sequences=return_sequences, return_state=return_state),
        merge_mode=merge_mode)
    kbi.build((B, T, D))                                       # built once, called for both cases below
    assert [w.shape for w in kbi.get_weights()] == [w.shape for w in bi.get_weights()]
    kbi.set_weights(bi.get_weights())
    k = n_states(cell)

    for masked in (False, True):
        x = rng.normal(size=(B, T, D)).astype(np.float32)
        mask = MASK if masked else None
        init = [rng.normal(size=(B, H)).astype(np.float32) if masked else np.zeros((B, H), np.float32)
                for _ in range(2 * k)]
        mine = bi(x, mask=mask, initial_state=init if masked else None)
        d_out, d_states = d_output_like(mine, merge_mode, return_state, rng)
        grads = bi.backward(d_out, *d_states)

        x_t, init_t = tf.constant(x), [tf.constant(s) for s in init]
        with tf.GradientTape() as tape:
            tape.watch([x_t, *init_t])
            theirs = kbi(x_t, initial_state=init_t, mask=None if mask is None else tf.constant(mask))
            loss = sum(tf.reduce_sum(r * g) for r, g in zip(flat(theirs), flat(d_out) + d_states, strict=True))
        case = "mask+initial_state" if masked else "plain"
        assert structure(mine) == structure(theirs), f"{case}: structure mine {structure(mine)} vs Keras"
        for i, (a, b) in enumerate(zip(flat(mine), flat(theirs), strict=True)):
            assert_close(a, b, f"{case}: returned[{i}]")
        tape_grads = tape.gradient(loss, kbi.trainable_weights + [x_t, *init_t])
        names = [w.path for w in kbi.trainable_weights]
        for name, a, b in zip(names, grads.weights(), tape_grads, strict=False):
            assert_close(a, b, f"{case}: d {name}")
        assert_close(grads.inputs, tape_grads[len(names)], f"{case}: d inputs")
        for i, (a, b) in enumerate(zip(grads.initial_state, tape_grads[len(names) + 1:], strict=True)):
            assert_close(a, b, f"{case}: d initial_state[{i}]")

        returned, per_fwd, per_bwd = keras_stepped(tf, kbi, x, init, mask, d_out, d_states, merge_mode)
        for i, (a, b) in enumerate(zip(returned, flat(theirs), strict=True)):
            assert_close(a, b, f"{case}: the test's stepped Keras loop, returned[{i}]")
        assert_close(grads.forward.hidden, per_fwd[0], f"{case}: forward dL/dh_t")
        assert_close(grads.backward.hidden, per_bwd[0], f"{case}: backward dL/dh_t (processing order)")
        assert_close(grads.hidden[1], per_bwd[0][:, ::-1], f"{case}: backward dL/dh_t (input order)")
        if cell == "LSTM":   # the stepped loop perturbs the carried c_t: the carried part of dL/dc_t
            assert_close(grads.cell_carried[0], per_fwd[1], f"{case}: forward carried dL/dc_t")
            assert_close(grads.cell_carried[1], per_bwd[1][:, ::-1], f"{case}: backward carried dL/dc_t (input order)")


@pytest.mark.keras
@pytest.mark.parametrize("cell", CELLS)
def test_keras_parity_stateful(cell, rng):
    """Two calls carry both directions' states, reset_state zeroes them: the same numbers as Keras.

    Without return_state: Keras 3.15's Bidirectional raises a TypeError in compute_mask for
    stateful=True with return_state=True (``state_mask * 2`` on a generator), so it cannot be compared there.
    """
    cell_class(cell)
    import keras  # noqa: PLC0415

    bi = random_bidirectional(cell, rng, "sum", stateful=True, return_sequences=True)
    kbi = keras.layers.Bidirectional(getattr(keras.layers, cell)(H, stateful=True, return_sequences=True),
                                     merge_mode="sum")
    kbi.build((B, T, D))
    kbi.set_weights(bi.get_weights())
    for call in ("first", "second (carried states)", "reset", "after reset"):
        if call == "reset":
            bi.reset_state()
            kbi.reset_state()
            continue
        x = rng.normal(size=(B, T, D)).astype(np.float32)
        mine, theirs = bi(x), kbi(x)
        for i, (a, b) in enumerate(zip(flat(mine), flat(theirs), strict=True)):
            assert_close(a, b, f"{call} call: returned[{i}]")
        for i, (a, b) in enumerate(zip(bi.states, kbi.states, strict=True)):
            assert_close(a, b, f"{call} call: states[{i}]")
