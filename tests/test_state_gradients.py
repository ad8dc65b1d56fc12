"""dL/dh_t and dL/dc_t against two references that share nothing with the code they check (issue #21).

RNNGradients.hidden is the total dL/dh_t; .cell the total dL/dc_t: the gradient with respect to c_t
with everything after c_t recomputed from it, the path c_t -> h_t = o_t act(c_t) of the same step
included; .cell_carried only what flows back from step t+1. Before issue #21 .cell held the carried
part, and the Keras bridge made the same mistake, so the parity tests agreed on a wrong number.

1. Finite differences, float64: the state is perturbed *inside* the forward pass at step t and the
   rest of the sequence is run from there by rnn_core.analysis.finite_differences.reference_run,
   the cells' explain_step stepped in a plain Python loop with Keras' masking rule (not
   recurrence.forward, not the backward loop). Relative error (max-norm) below FD_TOL.
2. TensorFlow: the real Keras cell stepped in an eager Python loop under a tape, float64;
   tape.gradient(loss, c_t) for the raw tensors the cell returned (Keras' LSTMCell computes
   h = o * activation(c) from that same c), combined with the masking rule as
   m * grad(raw) + (1 - m) * grad(carried). Relative error below TF_TOL, for the NumPy core and,
   separately, for keras_bridge.layer_gradients.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import random_rnn, relative_error

from rnn_core.analysis.finite_differences import reference_run, sequence_loss

FD_TOL = 1e-6        # float64 central differences, delta = FD_DELTA: relative error (max-norm) below this
FD_DELTA = 1e-6
TF_TOL = 1e-9        # float64 autodiff against float64 backprop: the same derivatives, summed in another order

B, T, D, H = 2, 5, 3, 3
VARIANTS = {"simple_rnn": ("simple_rnn", {}), "lstm": ("lstm", {}), "gru": ("gru", {}),
            "gru_reset_before": ("gru", {"reset_after": False})}
MASK = np.array([[False, True, False, True, False], [True, True, True, False, True]])   # first/middle/last masked
CASES = {
    "sequences": dict(return_sequences=True),
    "last_output_and_states": dict(return_sequences=False, return_state=True),
    "go_backwards_states": dict(return_sequences=True, return_state=True, go_backwards=True),
    "mask": dict(return_sequences=True, return_state=True, mask=True),
    "mask_zero_output_backwards": dict(return_sequences=True, return_state=True, go_backwards=True,
                                       zero_output_for_mask=True, mask=True),
    "mask_last_output": dict(return_sequences=False, return_state=True, mask=True),
}


def problem(kind: str, kw: dict, flags: dict, rng, steps: int = T):
    """A float64 layer, its input, mask, initial states and the loss' gradients, after one call and backward()."""
    flags = dict(flags)
    use_mask = flags.pop("mask", False)
    layer = random_rnn(kind, H, D, rng, np.float64, **flags, **kw)
    x = rng.normal(size=(B, steps, D))
    mask = MASK if use_mask else None
    s0 = [rng.normal(size=(B, H)) for _ in layer.cell.state_names]
    result = layer(x, mask=mask, initial_state=s0)
    outs = result if layer.return_state else (result,)
    d_out = rng.normal(size=outs[0].shape)
    d_states = [rng.normal(size=s.shape) for s in outs[1:]]
    return layer, x, mask, s0, d_out, d_states


def processing_order(layer, x, mask):
    if not layer.go_backwards:
        return x, mask
    return x[:, ::-1], None if mask is None else mask[:, ::-1]


def fd_state_gradients(layer, x, mask, s0, d_out, d_states, window: int | None = None) -> dict[str, np.ndarray]:
    """Numeric dL/ds_t for every sequence, step and unit, (B, T, H) per state name, processing order.

    window=k keeps only the loss terms a gradient reaches within k steps (truncated BPTT): a perturbation
    at step t counts for the outputs of steps t..t+k (and the final states if T-1 <= t+k).
    """
    cell, weights, c = layer.cell, layer.get_weights(), layer.config
    xs, ms = processing_order(layer, x, mask)
    steps = xs.shape[1]
    out = {n: np.zeros((B, steps, H)) for n in cell.state_names}
    for b in range(B):
        for name in cell.state_names:
            for t in range(steps):
                last = steps - 1 if window is None else min(steps - 1, t + window)
                d_seq = d_out[b].copy()
                if c.return_sequences:
                    d_seq[last + 1:] = 0.0                      # outputs beyond the window
                finals = d_states if last == steps - 1 else []
                if not c.return_sequences and last < steps - 1:
                    d_seq = np.zeros_like(d_seq)                 # the only output is beyond the window
                for u in range(H):
                    def loss(delta):
                        o, f = reference_run(cell, weights, xs[b], [s[b] for s in s0],
                                             None if ms is None else ms[b], c.zero_output_for_mask,
                                             (name, t, u, delta))
                        return sequence_loss(o, f, d_seq, [d[b] for d in finals])
                    out[name][b, t, u] = (loss(FD_DELTA) - loss(-FD_DELTA)) / (2 * FD_DELTA)
    return out


# -- 1. finite differences inside the forward pass ------------------------------------------------------------


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_state_gradients_match_finite_differences(variant, case, rng):
    kind, kw = VARIANTS[variant]
    layer, x, mask, s0, d_out, d_states = problem(kind, kw, CASES[case], rng)
    grads = layer.backward(d_out, *d_states)
    numeric = fd_state_gradients(layer, x, mask, s0, d_out, d_states)
    err = relative_error(grads.hidden, numeric["h"])
    assert err < FD_TOL, f"{variant}/{case}: total dL/dh_t relative error {err:.2e} >= {FD_TOL:g}"
    if "c" in numeric:
        err = relative_error(grads.cell, numeric["c"])
        assert err < FD_TOL, f"{variant}/{case}: total dL/dc_t relative error {err:.2e} >= {FD_TOL:g}"
    else:
        assert grads.cell is None and grads.cell_carried is None


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_truncated_state_gradients_match_windowed_finite_differences(variant, k, go_backwards, rng):
    """truncate=k: each loss term reaches the states of the k steps before it and of its own step.

    The same formula holds there: hidden/cell_carried hold every stream that reached s_t (the spent one too),
    and the total dL/dc_t adds dL/dh_t o_t act'(c_t) of step t.
    """
    kind, kw = VARIANTS[variant]
    flags = dict(return_sequences=True, return_state=True, go_backwards=go_backwards)
    layer, x, mask, s0, d_out, d_states = problem(kind, kw, flags, rng)
    grads = layer.backward(d_out, *d_states, truncate=k)
    numeric = fd_state_gradients(layer, x, mask, s0, d_out, d_states, window=k)
    err = relative_error(grads.hidden, numeric["h"])
    assert err < FD_TOL, f"{variant} truncate={k}: dL/dh_t relative error {err:.2e}"
    if "c" in numeric:
        err = relative_error(grads.cell, numeric["c"])
        assert err < FD_TOL, f"{variant} truncate={k}: total dL/dc_t relative error {err:.2e}"
        full = layer.backward(d_out, *d_states)
        assert not np.allclose(grads.cell, full.cell), "truncation must change dL/dc_t here"


def test_cell_carried_is_the_old_carried_part_and_differs_at_the_last_step(rng):
    """cell_carried[t]: perturb the carried c_t only (the run continues from (h_t, c_t + delta)); cell adds the
    path through h_t, so at the last step, with a loss on h_T and none on c_T, cell_carried is 0 and cell is not."""
    layer, x, _, s0, d_out, _ = problem("lstm", {}, dict(return_sequences=True), rng)
    grads = layer.backward(d_out)
    seq = layer.last_sequences()
    for t in range(T - 1):
        h_t, c_t = seq["h"][:, t].copy(), seq["c"][:, t].copy()
        numeric = np.zeros((B, H))
        for b in range(B):
            for u in range(H):
                def loss(delta):
                    c = c_t.copy()
                    c[b, u] += delta
                    rest = layer(x[:, t + 1:], initial_state=[h_t, c])
                    return float(np.sum(h_t * d_out[:, t]) + np.sum(rest * d_out[:, t + 1:]))
                numeric[b, u] = (loss(FD_DELTA) - loss(-FD_DELTA)) / (2 * FD_DELTA)
        err = relative_error(grads.cell_carried[:, t], numeric)
        assert err < FD_TOL, f"cell_carried[{t}]: relative error {err:.2e}"
    np.testing.assert_array_equal(grads.cell_carried[:, -1], 0.0)          # nothing after c_T, no loss on it
    o_T, c_T = seq["o"][:, -1], seq["c"][:, -1]
    through_h = d_out[:, -1] * o_T * (1 - np.tanh(c_T) ** 2)               # dL/dh_T * dh_T/dc_T
    np.testing.assert_allclose(grads.cell[:, -1], through_h, rtol=1e-12, atol=1e-15)
    assert np.abs(grads.cell[:, -1]).min() > 1e-3
    assert not np.allclose(grads.cell, grads.cell_carried)


def test_bidirectional_passes_both_parts_on(rng):
    from rnn_core import LSTM, Bidirectional

    bi = Bidirectional(LSTM(H, return_sequences=True, seed=0))
    x = rng.normal(size=(B, T, D))
    out = bi(x)
    grads = bi.backward(rng.normal(size=out.shape))
    np.testing.assert_array_equal(grads.cell[0], grads.forward.cell)
    np.testing.assert_array_equal(grads.cell_carried[1], grads.backward.cell_carried[:, ::-1])
    assert not np.allclose(grads.cell[0], grads.cell_carried[0])


# -- 2. TensorFlow's autodiff of the real Keras cell, stepped eagerly ------------------------------------------

KERAS_CONFIGS = {
    "plain": dict(return_sequences=True),
    "last_and_states": dict(return_sequences=False, return_state=True),
    "mask_states": dict(return_sequences=True, return_state=True, mask=True),
    "mask_backwards_zero_output": dict(return_sequences=True, return_state=True, go_backwards=True,
                                       zero_output_for_mask=True, mask=True),
    "mask_last_backwards": dict(return_sequences=False, return_state=True, go_backwards=True, mask=True),
}
KERAS_SEEDS = (11, 12)     # random weights, inputs, initial states and loss gradients for each configuration


@pytest.fixture(scope="module")
def keras_layers():
    """float64 Keras layers, one per (cell variant, configuration), built once for the module."""
    from dataclasses import replace

    from rnn_core import CELLS
    from rnn_core import keras_bridge as kb

    made = {}

    def get(variant: str, config: str, steps: int = T, dropout: tuple[float, float] = (0.0, 0.0)):
        key = (variant, config, steps, dropout)
        if key not in made:
            kind, kw = VARIANTS[variant]
            flags = {k: v for k, v in KERAS_CONFIGS[config].items() if k != "mask"}
            cfg = replace(CELLS[kind](H, **flags, **kw).config, dropout=dropout[0], recurrent_dropout=dropout[1])
            made[key] = kb.build_layer(kind, cfg, (B, steps, D), dtype="float64")
        return made[key]

    return get


def keras_stepped_totals(tf, keras_layer, x, mask, s0, d_out, d_states, training=False):
    """Total dL/ds_t (B, T, H) per state by TensorFlow: the Keras cell stepped eagerly under one tape.

    Keras' masking rule: s_t = raw_t where the step is taken, else s_{t-1}; the output is h_t there, else
    zeros (zero_output_for_mask) or the previous output. tape.gradient of the raw tensors the cell returned
    includes every path out of them (for c: into h = o * act(c) of the same step, then on).
    """
    cell = keras_layer.cell
    xs = x[:, ::-1] if keras_layer.go_backwards else x
    ms = None if mask is None else (mask[:, ::-1] if keras_layer.go_backwards else mask)
    steps = xs.shape[1]
    raw, carried = [], []
    with tf.GradientTape() as tape:
        states = [tf.constant(s) for s in s0]
        prev = tf.zeros_like(states[0])
        outputs = []
        for t in range(steps):
            _, new = cell(tf.constant(xs[:, t]), states, training=training)
            new = list(new) if isinstance(new, (list, tuple)) else [new]
            keep = tf.constant(np.ones((len(x), 1), bool) if ms is None else ms[:, t:t + 1])
            kept = [tf.where(keep, a, s) for a, s in zip(new, states, strict=True)]
            o = tf.where(keep, kept[0], tf.zeros_like(prev) if keras_layer.zero_output_for_mask else prev)
            raw.append(new)
            carried.append(kept)
            outputs.append(o)
            states, prev = kept, o
        seq = tf.stack(outputs, axis=1)
        loss = tf.reduce_sum((seq if keras_layer.return_sequences else seq[:, -1]) * d_out)
        for s, d in zip(states, d_states):
            loss += tf.reduce_sum(s * d)
    n = len(s0)
    flat = [r[i] for r in raw for i in range(n)] + [c[i] for c in carried for i in range(n)]
    g = tape.gradient(loss, flat, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    g_raw = np.asarray(g[:steps * n]).reshape(steps, n, len(x), -1)
    g_kept = np.asarray(g[steps * n:]).reshape(steps, n, len(x), -1)
    m = (np.ones((len(x), steps)) if ms is None else ms.astype(float)).T[:, None, :, None]   # (T, 1, B, 1)
    total = m * g_raw + (1 - m) * g_kept                                                    # (T, n, B, H)
    return [total[:, i].transpose(1, 0, 2) for i in range(n)]


def keras_problem(kind, kw, config, seed, keras_layer, steps=T):
    rng = np.random.default_rng(seed)
    flags = {k: v for k, v in KERAS_CONFIGS[config].items() if k != "mask"}
    layer = random_rnn(kind, H, D, rng, np.float64, **flags, **kw)
    layer.set_weights([w * rng.uniform(0.7, 1.5) for w in layer.get_weights()])     # a different scale each time
    keras_layer.set_weights(layer.get_weights())
    x = rng.normal(size=(B, steps, D))
    mask = None
    if KERAS_CONFIGS[config].get("mask"):
        mask = rng.random((B, steps)) > 0.35
    s0 = [rng.normal(size=(B, H)) for _ in layer.cell.state_names]
    result = layer(x, mask=mask, initial_state=s0)
    outs = result if layer.return_state else (result,)
    d_out = rng.normal(size=outs[0].shape)
    d_states = [rng.normal(size=s.shape) for s in outs[1:]]
    return layer, x, mask, s0, d_out, d_states


@pytest.mark.keras
@pytest.mark.parametrize("seed", KERAS_SEEDS)
@pytest.mark.parametrize("config", list(KERAS_CONFIGS))
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_state_gradients_match_keras_cell_autodiff(variant, config, seed, keras_layers):
    """The NumPy core and keras_bridge.layer_gradients, each against TF's autodiff of the Keras cell."""
    from rnn_core import keras_bridge as kb

    tf, _ = kb._tf()
    kind, kw = VARIANTS[variant]
    k = keras_layers(variant, config)
    layer, x, mask, s0, d_out, d_states = keras_problem(kind, kw, config, seed, k)
    reference = keras_stepped_totals(tf, k, x, mask, s0, d_out, d_states)
    mine = layer.backward(d_out, *d_states)
    bridge = kb.layer_gradients(k, x, d_out, d_states or None, mask=mask, initial_state=s0)
    for who, hidden, cell in (("NumPy", mine.hidden, mine.cell), ("keras_bridge", bridge["hidden"], bridge["cell"])):
        err = relative_error(hidden, reference[0])
        assert err < TF_TOL, f"{who} {variant}/{config}/{seed}: dL/dh_t vs TF, relative error {err:.2e}"
        if len(reference) > 1:
            err = relative_error(cell, reference[1])
            assert err < TF_TOL, f"{who} {variant}/{config}/{seed}: total dL/dc_t vs TF, relative error {err:.2e}"
    if len(reference) > 1:
        err = relative_error(bridge["cell_carried"], mine.cell_carried)
        assert err < TF_TOL, f"{variant}/{config}/{seed}: carried dL/dc_t, NumPy vs keras_bridge {err:.2e}"


@pytest.mark.keras
def test_keras_bridge_total_with_dropout_in_training(keras_layers):
    """Training with dropout: the Keras cell re-run on all steps at once must see the same (tiled) masks."""
    from rnn_core import keras_bridge as kb

    tf, _ = kb._tf()
    k = keras_layers("lstm", "mask_states", dropout=(0.3, 0.4))
    rng = np.random.default_rng(5)
    layer = random_rnn("lstm", H, D, rng, np.float64, return_sequences=True, return_state=True, dropout=0.3,
                       recurrent_dropout=0.4, seed=3)
    k.set_weights(layer.get_weights())
    x, mask = rng.normal(size=(B, T, D)), MASK
    s0 = [rng.normal(size=(B, H)) for _ in range(2)]
    out, h, c = layer(x, mask=mask, initial_state=s0, training=True)
    masks = layer.last_dropout_masks
    assert all(m is not None and (m == 0).any() for m in masks)
    d_out, d_states = rng.normal(size=out.shape), [rng.normal(size=h.shape), rng.normal(size=c.shape)]
    mine = layer.backward(d_out, *d_states)
    kb._use_dropout_masks(k, masks)
    try:
        reference = keras_stepped_totals(tf, k, x, mask, s0, d_out, d_states, training=True)
    finally:
        kb._set_dropout_masks(k.cell, None, None)
    bridge = kb.layer_gradients(k, x, d_out, d_states, mask=mask, initial_state=s0, training=True,
                                dropout_masks=masks)
    for who, cell in (("NumPy", mine.cell), ("keras_bridge", bridge["cell"])):
        err = relative_error(cell, reference[1])
        assert err < TF_TOL, f"{who}: total dL/dc_t in training vs TF, relative error {err:.2e}"


@pytest.mark.keras
@pytest.mark.parametrize("variant", ["lstm", "gru"])
def test_keras_bridge_compiled_totals_trace_once_for_any_length(variant, keras_layers):
    """From COMPILE_MIN_STEPS steps the bridge runs a tf.function: masks and go_backwards there too, and new
    lengths reuse the relaxed trace."""
    from rnn_core import keras_bridge as kb

    tf, _ = kb._tf()
    kind, kw = VARIANTS[variant]
    config = "mask_backwards_zero_output"
    lengths = (kb.COMPILE_MIN_STEPS + 3, kb.COMPILE_MIN_STEPS + 9, kb.COMPILE_MIN_STEPS + 20)
    k = keras_layers(variant, config, steps=lengths[0])
    for i, steps in enumerate(lengths):
        layer, x, mask, s0, d_out, d_states = keras_problem(kind, kw, config, 20 + i, k, steps)
        mine = layer.backward(d_out, *d_states)
        bridge = kb.layer_gradients(k, x, d_out, d_states, mask=mask, initial_state=s0)
        reference = keras_stepped_totals(tf, k, x, mask, s0, d_out, d_states)
        pairs = [("dL/dh_t", mine.hidden, bridge["hidden"], reference[0])]
        if len(reference) > 1:
            pairs.append(("total dL/dc_t", mine.cell, bridge["cell"], reference[1]))
        for name, a, b, want in pairs:
            for who, got in (("NumPy", a), ("compiled keras_bridge", b)):
                err = relative_error(got, want)
                assert err < TF_TOL, f"{who} {name} at T={steps}: relative error {err:.2e}"
    fn = k.__dict__[kb._COMPILED_ATTR + "_"]
    assert fn.experimental_get_tracing_count() <= 2, "new lengths must reuse the relaxed trace"
