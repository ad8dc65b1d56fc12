"""BPTT of LSTM and GRU against centred finite differences, in float64.

The loss is L = <G, output> + sum_k <S_k, final state k> with fixed random G,
S_k, so every path through time is exercised. Every gradient is checked:
weights, inputs, initial states, the total dL/dh_t, the carried part of
dL/dc_t (``cell_carried``: perturb the carried state after step t and run the
rest) and the total dL/dc_t (``cell``: perturb c_t, recompute h_t = o_t act(c_t)
and run the rest; tests/test_state_gradients.py checks these under masks and
against TensorFlow too). Tolerance: relative error (max-norm) below FD_TOL = 1e-6.
"""

import itertools

import numpy as np
import pytest
from helpers import FD_TOL, as_tuple, numeric_gradient, random_rnn, relative_error

B, T, D, H = 2, 5, 3, 3
VARIANTS = [("lstm", {}), ("gru", {}), ("gru", {"reset_after": False})]
IDS = ["lstm", "gru", "gru_reset_before"]


def check(layer, x, rng, mask=None, initial_state=None, training=False, truncate=None):
    """Analytic gradients of one call against finite differences of the same function."""
    rng_state = layer._rng.bit_generator.state        # replayed so every call draws the same dropout masks
    names = layer.cell.state_names
    if initial_state is None:
        initial_state = [rng.normal(size=(B, H)) for _ in names]

    def run(inputs, states):
        layer._rng.bit_generator.state = rng_state
        return as_tuple(layer(inputs, mask=mask, initial_state=list(states), training=training))

    result = run(x, initial_state)
    g_out = rng.normal(size=result[0].shape)
    g_states = [rng.normal(size=s.shape) for s in result[1:]]
    grads = layer.backward(g_out, *g_states, truncate=truncate)

    def loss():
        r = run(x, initial_state)
        return float(np.sum(r[0] * g_out) + sum(np.sum(s * g) for s, g in zip(r[1:], g_states)))

    targets = {"kernel": layer.kernel, "recurrent_kernel": layer.recurrent_kernel, "inputs": x}
    if layer.use_bias:
        targets["bias"] = layer.bias
    if truncate is None:
        for name, array in targets.items():
            err = relative_error(getattr(grads, name), numeric_gradient(loss, array))
            assert err < FD_TOL, f"{name}: relative error {err:.2e} >= {FD_TOL:g}"
        d0 = grads.initial_state if len(names) > 1 else (grads.initial_state,)
        for name, mine, s0 in zip(names, d0, initial_state):
            err = relative_error(mine, numeric_gradient(loss, s0))
            assert err < FD_TOL, f"initial_state {name}: relative error {err:.2e}"
        check_state_totals(layer, x, mask, initial_state, run, g_out, g_states, grads)
    return grads


def check_state_totals(layer, x, mask, initial_state, run, g_out, g_states, grads):
    """hidden[t] (cell_carried[t]) = dL/ds_t of the carried state: perturb the state after step t, run the rest.

    Without a mask and without go_backwards a call on x[:, t+1:] from (h_t, c_t)
    continues exactly the same computation, so L(s_t) can be evaluated directly.
    The total dL/dc_t (cell[t]) also moves h_t = o_t act(c_t) of step t itself.
    """
    if mask is not None or layer.go_backwards or layer.stateful or not layer.return_sequences:
        return
    names = layer.cell.state_names
    seq = layer.last_sequences()
    carried = {"h": grads.hidden, "c": grads.cell_carried}
    for t in range(T - 1):
        states = [seq[s][:, t].copy() for s in names]
        for j, name in enumerate(names):
            def loss(c_moves_h=False):
                if c_moves_h:                                    # h_t = o_t act(c_t) with the perturbed c_t
                    states[0] = seq["o"][:, t] * layer.cell.activation(states[1])
                r = run(x[:, t + 1:], states)
                own = np.sum(states[0] * g_out[:, t])            # output t is h_t itself
                return float(own + np.sum(r[0] * g_out[:, t + 1:])
                             + sum(np.sum(s * g) for s, g in zip(r[1:], g_states)))
            err = relative_error(carried[name][:, t], numeric_gradient(loss, states[j]))
            assert err < FD_TOL, f"carried dL/d{name}_{t}: relative error {err:.2e}"
        if "c" in names:
            err = relative_error(grads.cell[:, t], numeric_gradient(lambda: loss(c_moves_h=True), states[1]))
            assert err < FD_TOL, f"total dL/dc_{t}: relative error {err:.2e}"
    run(x, initial_state)


@pytest.mark.parametrize("kind, kw", VARIANTS, ids=IDS)
@pytest.mark.parametrize("return_sequences, return_state, go_backwards, use_bias",
                         list(itertools.product([False, True], repeat=4)))
def test_every_flag_combination(kind, kw, return_sequences, return_state, go_backwards, use_bias, rng):
    layer = random_rnn(kind, H, D, rng, np.float64, return_sequences=return_sequences, return_state=return_state,
                       go_backwards=go_backwards, use_bias=use_bias, **kw)
    check(layer, rng.normal(size=(B, T, D)), rng)


@pytest.mark.parametrize("kind, kw", VARIANTS, ids=IDS)
@pytest.mark.parametrize("recurrent_activation, activation", [("hard_sigmoid", "tanh"), ("sigmoid", "relu")])
def test_other_activations(kind, kw, recurrent_activation, activation, rng):
    layer = random_rnn(kind, H, D, rng, np.float64, return_sequences=True, return_state=True,
                       recurrent_activation=recurrent_activation, activation=activation, **kw)
    check(layer, rng.normal(size=(B, T, D)), rng)


@pytest.mark.parametrize("kind, kw", VARIANTS, ids=IDS)
@pytest.mark.parametrize("zero_output_for_mask, go_backwards", list(itertools.product([False, True], repeat=2)))
def test_masking(kind, kw, zero_output_for_mask, go_backwards, rng):
    layer = random_rnn(kind, H, D, rng, np.float64, return_sequences=True, return_state=True,
                       go_backwards=go_backwards, zero_output_for_mask=zero_output_for_mask, **kw)
    mask = np.array([[False, True, False, True, False], [True, True, True, False, True]])
    check(layer, rng.normal(size=(B, T, D)), rng, mask=mask)


@pytest.mark.parametrize("kind, kw", VARIANTS, ids=IDS)
@pytest.mark.parametrize("dropout, recurrent_dropout", [(0.3, 0.0), (0.3, 0.4), (0.0, 0.4)])
def test_dropout_in_training(kind, kw, dropout, recurrent_dropout, rng):
    layer = random_rnn(kind, H, D, rng, np.float64, return_sequences=True, return_state=True, dropout=dropout,
                       recurrent_dropout=recurrent_dropout, seed=5, **kw)
    check(layer, rng.normal(size=(B, T, D)), rng, training=True)
    in_mask, rec_mask = layer.last_dropout_masks
    per_gate = (layer.cell.n_blocks,) if recurrent_dropout > 0 else ()   # Keras' implementation=1
    assert in_mask is None if dropout == 0 else in_mask.shape == per_gate + (B, D)
    assert rec_mask is None if recurrent_dropout == 0 else rec_mask.shape == per_gate + (B, H)


@pytest.mark.parametrize("kind, kw", VARIANTS, ids=IDS)
@pytest.mark.parametrize("k", [1, 2])
def test_truncated_bptt_matches_windowed_reference(kind, kw, k, rng):
    """truncate=k equals the sum over loss terms s of the gradient of a window of k steps ending at s.

    Each window starts from the actual states after step s-k, held constant:
    exactly "the gradient travels at most k steps back". Finite differences.
    """
    layer = random_rnn(kind, H, D, rng, np.float64, return_sequences=True, **kw)
    names = layer.cell.state_names
    x = rng.normal(size=(B, T, D))
    s0 = [rng.normal(size=(B, H)) for _ in names]
    out = layer(x, initial_state=s0)
    seq = layer.last_sequences()
    g_out = rng.normal(size=out.shape)
    grads = layer.backward(g_out, truncate=k)
    states = {s: np.concatenate([s0[j][:, None], seq[s]], axis=1) for j, s in enumerate(names)}  # [:, t+1] = s_t

    ref = {"kernel": 0.0, "recurrent_kernel": 0.0, "bias": 0.0}
    ref_inputs = np.zeros_like(x)
    ref_s0 = [np.zeros((B, H)) for _ in names]
    ref_tot = {s: np.zeros((B, T, H)) for s in names}
    for s in range(T):
        w = max(0, s - k + 1)                                  # the window is steps w..s
        start = [states[n][:, w].copy() for n in names]
        window = x[:, w:s + 1].copy()

        def loss():
            return float(np.sum(layer(window, initial_state=start)[:, -1] * g_out[:, s]))

        for name in ref:
            ref[name] = ref[name] + numeric_gradient(loss, getattr(layer, name))
        ref_inputs[:, w:s + 1] += numeric_gradient(loss, window)
        for j, n in enumerate(names):
            d_start = numeric_gradient(loss, start[j])
            if w == 0:
                ref_s0[j] += d_start
            else:
                ref_tot[n][:, w - 1] += d_start
        ref_tot["h"][:, s] += g_out[:, s]
        for t in range(w, s):                                  # gradient reaching s_t inside the window
            mid = [seq[n][:, t].copy() for n in names]
            rest = x[:, t + 1:s + 1].copy()
            for j, n in enumerate(names):
                ref_tot[n][:, t] += numeric_gradient(
                    lambda: float(np.sum(layer(rest, initial_state=mid)[:, -1] * g_out[:, s])), mid[j])
    for name in ref:
        err = relative_error(getattr(grads, name), ref[name])
        assert err < FD_TOL, f"{name}: relative error {err:.2e}"
    d0 = grads.initial_state if len(names) > 1 else (grads.initial_state,)
    pairs = [("inputs", grads.inputs, ref_inputs), ("hidden", grads.hidden, ref_tot["h"])]
    pairs += [(f"initial_state {n}", d0[j], ref_s0[j]) for j, n in enumerate(names)]
    if "c" in names:      # the windows start from the carried states: the carried part of dL/dc_t
        pairs.append(("cell_carried", grads.cell_carried, ref_tot["c"]))
    for name, mine, theirs in pairs:
        err = relative_error(mine, theirs)
        assert err < FD_TOL, f"{name}: relative error {err:.2e}"


@pytest.mark.parametrize("kind, kw", VARIANTS, ids=IDS)
def test_truncate_at_least_length_is_full_bptt(kind, kw, rng):
    layer = random_rnn(kind, H, D, rng, np.float64, return_sequences=True, return_state=True, **kw)
    result = layer(rng.normal(size=(B, T, D)))
    g = [rng.normal(size=r.shape) for r in result]
    full, trunc = layer.backward(*g), layer.backward(*g, truncate=T)
    for name in ("kernel", "recurrent_kernel", "bias", "inputs", "hidden", "cell", "cell_carried"):
        a, b = getattr(full, name), getattr(trunc, name)
        assert (a is None and b is None) or np.allclose(a, b, rtol=1e-12, atol=1e-12), name
    assert not np.allclose(layer.backward(*g, truncate=1).recurrent_kernel, full.recurrent_kernel)
