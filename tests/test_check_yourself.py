"""'Check it yourself': rnn_core.analysis.finite_differences.check_entry and the pure part of its panel.

check_entry's analytic value is an entry of backward() of a float64 clone; its numeric value a central
difference (the layer's forward pass for weights and inputs, the explain_step reference loop for states).
Both must agree to AGREE_BELOW = 1e-6 relative for every target, cell and flag, and every refusal is a
translated UserError. The panel's pickers, targets and error path are plain functions, tested without
Streamlit (no AppTest).
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest
from helpers import random_rnn
from i18n_support import english_words

from explorer import check_yourself as panel
from explorer import i18n
from rnn_core import GRU, LSTM, SimpleRNN
from rnn_core.analysis import finite_differences as fd
from rnn_core.messages import Message, UserError

B, T, D, H = 2, 6, 3, 4
KINDS = [("simple_rnn", {}), ("lstm", {}), ("gru", {}), ("gru", {"reset_after": False})]
IDS = ["simple_rnn", "lstm", "gru", "gru_reset_before"]
MASK = np.array([[True, False, True, True, False, True], [False, True, True, False, True, True]])


def called(kind, kw, rng, dtype=np.float32, mask=None, **flags):
    """A layer after one call, with what check_entry needs: x, d_output, d_states, initial states."""
    layer = random_rnn(kind, H, D, rng, dtype, **flags, **kw)
    x = rng.normal(size=(B, T, D)).astype(dtype)
    s0 = [rng.normal(size=(B, H)).astype(dtype) for _ in layer.cell.state_names]
    result = layer(x, mask=mask, initial_state=s0)
    outs = result if layer.return_state else (result,)
    d_out = rng.normal(size=outs[0].shape)
    d_states = tuple(rng.normal(size=s.shape) for s in outs[1:])
    return layer, x, d_out, d_states, s0


def some_entries(layer, x_shape, rng, n=3):
    """(target, index) pairs: n random entries of every target the layer has."""
    for target in fd.targets_of(layer):
        shape = fd.target_shape(layer, target, x_shape)
        for _ in range(n):
            yield target, tuple(int(rng.integers(0, s)) for s in shape)


@pytest.mark.parametrize("kind, kw", KINDS, ids=IDS)
@pytest.mark.parametrize("flags", [dict(return_sequences=True),
                                   dict(return_sequences=False, return_state=True, go_backwards=True),
                                   dict(return_sequences=True, return_state=True, go_backwards=True, mask=True),
                                   dict(return_sequences=False, return_state=True, zero_output_for_mask=True,
                                        mask=True)],
                         ids=["sequences", "last_states_backwards", "mask_backwards", "mask_last_zero_output"])
def test_every_target_agrees(kind, kw, flags, rng):
    flags = dict(flags)
    mask = MASK if flags.pop("mask", False) else None
    layer, x, d_out, d_states, s0 = called(kind, kw, rng, mask=mask, **flags)
    twin = fd.float64_twin(layer)
    twin(x.astype(np.float64), mask=mask, initial_state=s0)
    grads = twin.backward(d_out, *d_states)
    for target, index in some_entries(layer, x.shape, rng):
        check = fd.check_entry(layer, x, d_out, d_states, target=target, index=index, mask=mask, initial_state=s0)
        assert check.agree, f"{target}{index}: analytic {check.analytic} vs numeric {check.numeric}"
        assert check.relative_error < fd.AGREE_BELOW
        full = {"hidden": grads.hidden, "cell": grads.cell}.get(target, getattr(grads, target))
        assert check.analytic == pytest.approx(float(full[index]), rel=1e-12, abs=1e-14), f"{target}{index}"
        assert isinstance(check.explanation, Message) and check.step_size > 0


def test_the_state_checks_see_the_path_through_h(rng):
    """c_t's check recomputes h_t = o_t act(c_t): it matches the total dL/dc_t, not its carried part."""
    layer, x, d_out, _, s0 = called("lstm", {}, rng, np.float64, return_sequences=True)
    grads = layer.backward(d_out)
    check = fd.check_entry(layer, x, d_out, target="cell", index=(1, T - 1, 2), initial_state=s0)
    assert check.agree and check.analytic == pytest.approx(grads.cell[1, T - 1, 2], rel=1e-12)
    assert grads.cell_carried[1, T - 1, 2] == 0.0 and abs(check.numeric) > 1e-3


def test_a_trained_layer_and_its_explanations(rng):
    from rnn_core.training.model import RNNClassifier
    from rnn_core.training.optimizers import Adam
    from rnn_core.training.trainer import train_step

    model = RNNClassifier(num_hidden=H, num_class=3, cell="lstm", seed=0)
    x = rng.normal(size=(B, T, D)).astype(np.float32)
    y = rng.integers(0, 3, size=(B, T))
    for _ in range(5):
        train_step(model, Adam(learning_rate=0.05), x, y)
    model.loss(x, y)
    d_rnn = model.backward().head.inputs                     # dL/d(the RNN's outputs) through the head
    check = fd.check_entry(model.rnn, x, d_rnn, target="recurrent_kernel", index=(1, 7))
    assert check.agree
    english = str(check.explanation)
    assert english.startswith("They agree to ") and "significant digits" in english


def test_a_vanished_gradient_is_said_to_be_below_resolution(rng):
    """Far back along a long sequence the gradient is smaller than what round-off lets a difference see."""
    layer = SimpleRNN(4, return_sequences=False, seed=0)
    layer.build((1, 1, 1))
    kernel, recurrent, bias = layer.get_weights()
    layer.set_weights([kernel, 0.05 * recurrent / np.abs(recurrent).max(), bias])
    x = rng.normal(size=(1, 400, 1))
    layer(x)
    check = fd.check_entry(layer, x, np.ones((1, 4)), target="hidden", index=(0, 0, 0))
    assert abs(check.analytic) < 1e-100
    assert str(check.explanation).startswith("This gradient")


def test_a_wrong_analytic_gradient_is_caught(rng, monkeypatch):
    """With the old carried-only dL/dc_t, the check says they differ (a shared mistake would not fool it)."""
    from rnn_core.layers.cell_base import Cell
    from rnn_core.layers.lstm_cell import LSTMCell

    layer, x, d_out, _, s0 = called("lstm", {}, rng, return_sequences=True)
    monkeypatch.setattr(LSTMCell, "total_state_gradients", Cell.total_state_gradients)
    check = fd.check_entry(layer, x, d_out, target="cell", index=(0, 2, 1), initial_state=s0)
    assert not check.agree and str(check.explanation).startswith("They differ by")


@pytest.mark.keras
def test_a_keras_layer_is_cloned_from_its_config_and_weights(rng):
    """An uploaded model's layer: only get_config() and get_weights() are used."""
    from rnn_core import keras_bridge as kb

    layer, x, d_out, d_states, s0 = called("gru", {}, rng, return_sequences=True, return_state=True)
    k = kb.build_layer("gru", layer.config, x.shape, layer.get_weights())
    assert fd.targets_of(k) == ("kernel", "recurrent_kernel", "bias", "inputs", "hidden")
    for target, index in (("bias", (1, 5)), ("hidden", (1, 3, 2)), ("inputs", (0, 4, 1))):
        mine = fd.check_entry(layer, x, d_out, d_states, target=target, index=index, initial_state=s0)
        theirs = fd.check_entry(k, x, d_out, d_states, target=target, index=index, initial_state=s0)
        assert theirs.agree and theirs.analytic == mine.analytic and theirs.numeric == mine.numeric


# -- refusals, in both languages -----------------------------------------------------------------------------


def refusals(rng):
    layer, x, d_out, d_states, _ = called("gru", {}, rng, return_sequences=True)
    big = LSTM(128, return_sequences=True, seed=0)
    big_x = np.zeros((64, 2000, 8), np.float32)
    big.build(big_x.shape)
    big_d = np.broadcast_to(np.float32(0), (64, 2000, 128))
    return {
        "never called": lambda: fd.check_entry(GRU(3), x, d_out, target="kernel", index=(0, 0)),
        "no cell state": lambda: fd.check_entry(layer, x, d_out, target="cell", index=(0, 0, 0)),
        "unknown target": lambda: fd.check_entry(layer, x, d_out, target="weights", index=(0, 0)),
        "index outside": lambda: fd.check_entry(layer, x, d_out, target="hidden", index=(0, T, 0)),
        "index length": lambda: fd.check_entry(layer, x, d_out, target="kernel", index=(1,)),
        "d_output shape": lambda: fd.check_entry(layer, x, d_out[:, -1], target="kernel", index=(0, 0)),
        "d_states without return_state": lambda: fd.check_entry(layer, x, d_out, (d_out[:, -1],),
                                                                target="kernel", index=(0, 0)),
        "mask shape": lambda: fd.check_entry(layer, x, d_out, target="kernel", index=(0, 0), mask=MASK[:1]),
        "x shape": lambda: fd.check_entry(layer, x[..., :2], d_out, target="kernel", index=(0, 0)),
        "initial state": lambda: fd.check_entry(layer, x, d_out, target="kernel", index=(0, 0),
                                                initial_state=[np.zeros((B, H + 1))]),
        "not a recurrent layer": lambda: fd.check_entry(object(), x, d_out, target="kernel", index=(0, 0)),
        "past the budget": lambda: fd.check_entry(big, big_x, big_d, target="kernel", index=(0, 0)),
    }


# Names a Korean message keeps: code, the layer's class, the target names and what a field holds.
KEPT = {"weights", "kernel", "recurrent_kernel", "bias", "inputs", "hidden", "cell", "object", "row", "column",
        "sequence", "step", "unit"}


def test_every_refusal_is_a_translated_user_error(rng):
    for case, call in refusals(rng).items():
        with pytest.raises(UserError) as err:
            call()
        english = str(err.value)
        with i18n.use_language("ko"):
            shown = i18n.text(err.value, markdown=False)
        assert shown != english and re.search("[가-힣]", shown), f"{case}: not translated: {english!r}"
        assert not english_words(shown, KEPT), f"{case}: English left in {shown!r}"
        numbers = re.compile(r"\d+(?:[.,]\d+)*")
        assert Counter(numbers.findall(shown)) == Counter(numbers.findall(english)), (case, english, shown)


def test_every_explanation_is_translated(rng):
    layer, x, d_out, _, s0 = called("lstm", {}, rng, return_sequences=True)
    messages = [fd.check_entry(layer, x, d_out, target="hidden", index=(0, 1, 1), initial_state=s0).explanation,
                fd._explain(0.3, 6e-6, 1.0, 1e-11), fd._explain(1e-9, 6e-6, 1e-12, 1e-11)]
    assert [str(m).split()[0] for m in messages] == ["They", "They", "This"]
    for m in messages:
        with i18n.use_language("ko"):
            shown = i18n.text(m)
        assert re.search("[가-힣]", shown) and not english_words(shown, {"float"}), shown     # float64


# -- the panel's pure part -------------------------------------------------------------------------------------


def test_panel_targets_and_pickers(rng):
    lstm, x, *_ = called("lstm", {}, rng, return_sequences=True)
    assert panel.available_targets(lstm) == ["kernel", "recurrent_kernel", "bias", "inputs", "hidden", "cell"]
    gru = random_rnn("gru", H, D, rng, use_bias=False)
    assert panel.available_targets(gru) == ["kernel", "recurrent_kernel", "inputs", "hidden"]
    assert isinstance(panel.available_targets(GRU(3)), Message)           # never called: no weights, a reason
    assert panel.pickers(lstm, x.shape, "kernel") == [panel.Picker("row", D), panel.Picker("column", 4 * H)]
    assert panel.pickers(lstm, x.shape, "bias") == [panel.Picker("entry", 4 * H)]
    assert panel.pickers(random_rnn("gru", H, D, rng), x.shape, "bias") == [panel.Picker("row", 2),
                                                                            panel.Picker("column", 3 * H)]
    states = panel.pickers(lstm, x.shape, "cell")
    assert states == [panel.Picker("sequence", B), panel.Picker("step", T), panel.Picker("unit", H)]
    assert panel.shown(states) == states
    one = panel.pickers(lstm, (1, T, D), "inputs")
    assert [p.name for p in panel.shown(one)] == ["step", "feature"]      # a batch of one: no sequence picker
    for p in states + one:
        assert p.name in panel.INDEX_LABELS
    assert set(panel.TARGET_LABELS) == set(fd.TARGETS)


def test_panel_check_and_its_error(rng):
    layer, x, d_out, _, s0 = called("lstm", {}, rng, return_sequences=True)
    check = panel.run_check(layer, x, d_out, target="cell", index=(1, 2, 3), initial_state=s0)
    assert isinstance(check, fd.EntryCheck) and check.agree
    rows = panel.result_rows(check)
    assert [label for label, _ in rows] == ["backpropagation", "finite difference", "relative error", "step size h"]
    assert float(rows[0][1]) == pytest.approx(check.analytic, rel=1e-9)
    with i18n.use_language("ko"):
        assert [label for label, _ in panel.result_rows(check)][0] == "역전파"
    error = panel.run_check(layer, x, d_out, target="cell", index=(1, T, 3))
    assert isinstance(error, Message) and str(error).startswith("Index (1, 6, 3) is outside cell")
