"""explorer/chart_text.py: every figure builder's text alternative, checked against the data it was given.

Without Streamlit: the summary's numbers (the largest value and where, the last value, the builders' key numbers
such as the fitted decay rate) are recomputed here from the arrays passed in, and each table is compared with
them cell by cell. The page side (a caption under every chart, the *Show as table* toggle) is in
tests/test_app_charts.py.
"""

from __future__ import annotations

import inspect
import re

import numpy as np
import pandas as pd
import pytest
from i18n_support import english_words

from explorer import attention_figures as af
from explorer import chart_text, figures
from explorer import inside_figures as figs
from explorer import training_figures as tf
from explorer.chart_text import PHRASES, describe, num
from explorer.i18n import use_language
from explorer.inert import inert

HANGUL = re.compile("[가-힣]")


class Fit:
    factor, half_life, r2 = 0.8, 3.106, 0.98


def text(fig) -> tuple[str, pd.DataFrame]:
    described = describe(fig)
    return described.summary, described.table()


# -- explorer/figures.py -----------------------------------------------------------------------------------------

def test_states_heatmap_names_its_largest_and_smallest_value_by_step_and_unit(rng):
    states = rng.normal(size=(12, 4))
    summary, table = text(figures.states_heatmap(states, "h_t of sequence 0", step_offset=5))
    t, u = np.unravel_index(np.argmax(states), states.shape)
    lt, lu = np.unravel_index(np.argmin(states), states.shape)
    assert summary.startswith("Heatmap: h_t of sequence 0. Across: time step t; up: unit. 4 × 12 values;")
    assert f"largest {num(states[t, u])} at time step t = {t + 5}, unit = {u}" in summary
    assert f"smallest {num(states[lt, lu])} at time step t = {lt + 5}, unit = {lu}" in summary
    assert table.shape == (4, 12) and table.index.name == "unit" and table.columns.name == "time step t"
    assert list(table.columns) == [str(5 + i) for i in range(12)]
    np.testing.assert_array_equal(table.to_numpy(), states.T)


def test_an_aggregated_heatmap_says_so_and_its_table_is_what_is_drawn(rng):
    states = rng.normal(size=(5000, 3))
    fig = figures.states_heatmap(states, "long")
    summary, table = text(fig)
    assert "Aggregated: each value is the mean of 3 steps (5,000 in all)." in summary
    np.testing.assert_allclose(table.to_numpy(), np.asarray(fig.data[0].z))
    np.testing.assert_allclose(table.iloc[:, 0], states[:3].mean(axis=0))


def test_a_heatmap_over_dates_names_the_date(rng):
    states = rng.normal(size=(4, 2))
    states[2, 1] = 9.0
    dates = np.array(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"], dtype="datetime64[D]")
    summary, _table = text(figures.states_heatmap(states, "dates", time_values=dates, time_label="day"))
    assert "largest 9 at day = 2024-01-03 00:00:00, unit = 1" in summary


def test_unit_lines_give_each_line_its_points_largest_value_and_last_value(rng):
    runs = {"NumPy": rng.normal(size=(12, 4)), "Keras": rng.normal(size=(12, 4))}
    summary, table = text(figures.unit_lines(runs, [0, 2], "units"))
    for engine, states in runs.items():
        for u in (0, 2):
            y = states[:, u]
            assert (f"unit {u} ({engine}): 12 points, largest {num(y.max())} at time step t = {int(np.argmax(y))}, "
                    f"last {num(y[-1])}.") in summary
    assert list(table.columns) == ["unit 0 (NumPy)", "unit 2 (NumPy)", "unit 0 (Keras)", "unit 2 (Keras)"]
    np.testing.assert_array_equal(table["unit 2 (Keras)"], runs["Keras"][:, 2])
    assert table.index.name == "time step t" and list(table.index) == list(range(12))


def test_aggregated_lines_leave_the_bands_out(rng):
    summary, table = text(figures.unit_lines({"NumPy": rng.normal(size=(10_000, 2))}, [1], "lines"))
    assert "min-max" not in summary and list(table.columns) == ["unit 1 (NumPy)"]
    assert "Aggregated: each value is the mean of 5 steps (10,000 in all)." in summary


@pytest.mark.parametrize("sequences, state", [(True, True), (False, False)])
def test_the_unrolled_diagram_says_its_shapes(sequences, state):
    fig = figures.unrolled_diagram(5, 3, 4, sequences, state, False, state_names=("h", "c"))
    summary, table = text(fig)
    output = "(B, 5, 4)" if sequences else "(B, 4)"
    assert summary.startswith("Diagram: Unrolled in time. 5 steps: the input x (B, 5, 3) is read one step at a "
                              f"time; the layer returns {output}.")
    assert ("It also returns its final states h_T, c_T: (B, 4) each." in summary) == state
    expected = [["input x", "(B, 5, 3)"], ["output", output]] + ([["h_T", "(B, 4)"], ["c_T", "(B, 4)"]] if state
                                                               else [])
    assert table.to_numpy().tolist() == expected


def test_gradient_norms_lead_with_the_fitted_decay_rate():
    values = 0.8 ** np.arange(12)[::-1]
    values[3] = np.inf
    summary, table = text(figures.gradient_norms({"NumPy": values}, "norms", decay=Fit))
    assert "Fitted rate: ×0.8 per step back, halving every 3.11 steps (R² = 0.98)." in summary
    assert summary.index("Fitted rate") < summary.index("NumPy:")
    assert "NumPy: 12 points, largest 1 at time step t = 11, last 1." in summary
    assert "NumPy: inf/nan: at time step t = 3," in summary                 # one point: where it is
    assert list(table.columns) == ["NumPy", "NumPy: inf/nan"] and table["NumPy: inf/nan"].notna().sum() == 1
    assert np.isnan(table["NumPy"][3]) and table["NumPy"][0] == pytest.approx(0.8 ** 11)


def test_growing_gradients_say_doubling():
    grow = type("Fit", (), {"factor": 1.25, "half_life": 3.1, "r2": 0.9})
    summary, _t = text(figures.gradient_norms({"NumPy": 1.25 ** np.arange(5)[::-1]}, "norms", decay=grow))
    assert "Fitted rate: ×1.25 per step back, doubling every 3.1 steps (R² = 0.90)." in summary


def test_the_jacobian_map_skips_missing_cells(rng):
    z = np.tril(rng.normal(size=(6, 6)))
    z[np.triu_indices(6, 1)] = np.nan
    z[4, 1] = 7.5
    summary, table = text(figures.jacobian_map(np.arange(6), z, "exact"))
    assert "6 × 6 values; largest 7.5 at earlier state k = 1, later state t = 4" in summary
    low = np.unravel_index(np.nanargmin(z), z.shape)
    assert f"smallest {num(z[low])} at earlier state k = {low[1]}, later state t = {low[0]}." in summary
    np.testing.assert_array_equal(table.to_numpy(), z)


def test_step_sigmas_count_the_steps_that_stretch(rng):
    sigma = rng.uniform(0.5, 1.5, 20)
    summary, table = text(figures.step_sigmas(sigma, 1.3, "exact"))
    above = int(np.sum(sigma > 1))
    assert f"{above} of 20 steps stretch the gradient" in summary and "Bound γ·σ_max(U) = 1.3." in summary
    assert f"largest {num(sigma.max())} at time step t = {int(np.argmax(sigma))}" in summary
    np.testing.assert_array_equal(table["sigma_max(J_t)"], sigma)
    gated, _t = text(figures.step_sigmas(np.full(4, 0.9), None, "exact"))
    assert "0 of 4 steps stretch" in gated and "Bound" not in gated


def test_carry_products_give_the_product_at_the_farthest_distance():
    mean, top = np.array([0.0, -0.5, -1.0, -2.0]), np.array([0.0, -0.1, -0.2, -0.3])
    summary, table = text(figures.carry_products(np.arange(4), mean, top, "forget gate f_t"))
    assert ("After 3 steps back the gate's product is 0.01 on average and 0.501 in the largest unit."
            in summary)
    np.testing.assert_array_equal(table["mean over units"], mean)


def test_contributions_name_the_three_largest_bars(rng):
    values = rng.uniform(size=10)
    summary, table = text(figures.contributions(values))
    top = np.argsort(-values)[:3]
    expected = "; ".join(f"{num(values[i])} at time step t = {i}" for i in top)
    assert f"10 bars; the largest: {expected}." in summary
    assert list(table.columns) == ["Frobenius norm"]
    np.testing.assert_array_equal(table["Frobenius norm"], values)


def test_parity_bars_name_the_largest_difference_and_count_those_over():
    rows = [("h_t", 1e-7, 1e-5), ("dL/dU", 3e-5, 1e-5), ("c_t", 2e-6, 1e-6)]
    summary, table = text(figures.parity_bars(rows))
    assert "Largest difference: dL/dU, 3e-05 (tolerance 1e-05). 2 of 3 tensors are over their tolerance." in summary
    assert "3 bars; the largest: 3e-05 at dL/dU; 2e-06 at c_t; 1e-07 at h_t." in summary
    assert list(table.index) == ["h_t", "dL/dU", "c_t"]
    assert table.loc["dL/dU"].tolist() == [3e-5, 1e-5]
    one, _t = text(figures.parity_bars(rows[:1]))
    assert "0 of 1 tensors are over their tolerance." in one


# -- explorer/training_figures.py --------------------------------------------------------------------------------

def test_the_loss_curve_gives_the_last_loss_and_the_best_constant_guess():
    loss = np.linspace(3.0, 0.5, 5000)
    summary, table = text(tf.loss_curve(loss, loss[:100] * 1.01, chance=2.3))
    assert "Constant best guess: 2.3." in summary
    drawn = len(tf.thin(loss)[0])                                  # thinned to about MAX_POINTS, the last kept
    assert drawn < 5000 and f"NumPy: {drawn} points, largest 3 at training step = 1, last 0.5." in summary
    assert "Keras train_on_batch: 100 points" in summary
    assert table.index.name == "training step" and table.index[-1] == 5000          # the thinned steps, and the last
    assert table["NumPy"].iloc[-1] == 0.5 and table["Keras train_on_batch"].notna().sum() == 100


def test_the_accuracy_curve_gives_the_final_accuracy():
    summary, table = text(tf.accuracy_curve([0.25, None, 0.5, 0.75]))
    assert "Final accuracy: 75.0%." in summary
    assert "accuracy: 4 points, largest 0.75 at training step = 4, last 0.75." in summary
    assert table["accuracy"].isna().tolist() == [False, True, False, False]


def test_the_gradient_norm_curve_gives_the_clipping_threshold():
    summary, table = text(tf.grad_norm_curve([1.0, 4.0, 2.0], [1.0, 1.0, 1.0], clip=1.0))
    assert "Clipping threshold: norm 1 per weight." in summary
    assert "before clipping: 3 points, largest 4 at training step = 2, last 2." in summary
    assert table.to_numpy().tolist() == [[1, 1], [4, 1], [2, 1]]


def test_the_reach_heatmap_names_the_epoch():
    norms = [np.ones(4), np.array([1.0, 10.0, 100.0, 0.1])]
    summary, table = text(tf.reach_heatmap([1, 5], norms))
    assert "largest 2 at time step t = 2, after epoch = 5, smallest -1 at time step t = 3, after epoch = 5." in summary
    assert list(table.index) == ["1", "5"] and table.loc["5", "2"] == 2.0


def test_reach_lines_and_compare_curves():
    summary, _t = text(tf.reach_lines({"epoch 1": np.array([1.0, 0.5]), "epoch 9": np.array([2.0, 3.0])}))
    assert "epoch 9: 2 points, largest 3 at time step t = 2, last 3." in summary
    curves = {"SimpleRNN": [0.1, 0.3, 0.2], "LSTM": [0.2, 0.6, 0.9]}
    summary, table = text(tf.compare_curves(curves, "held-out accuracy", 2, 0.125))
    assert "Chance: 0.125." in summary and "LSTM: 3 points, largest 0.9 at epoch = 3, last 0.9." in summary
    assert "SimpleRNN: 3 points, largest 0.3 at epoch = 2, last 0.2." in summary
    assert table.to_numpy().tolist() == [[0.1, 0.2], [0.3, 0.6], [0.2, 0.9]]


# -- explorer/attention_figures.py -------------------------------------------------------------------------------

def test_the_alignment_heatmap_names_tokens_as_they_read():
    w = np.full((3, 4), 0.1)
    w[1, 3] = 0.7
    summary, table = text(af.alignment_heatmap(w, ["1", "2", "<b>x</b>", "</s>"], ["a", "%{z}", "c"], "Alignment"))
    assert ("largest 0.7 at input token (encoder step j) = </s> (3), output token (decoder step i) = %{z} (1)"
            in summary)
    assert list(table.columns) == ["1 (0)", "2 (1)", "<b>x</b> (2)", "</s> (3)"]
    assert list(table.index) == ["a (0)", "%{z} (1)", "c (2)"]
    np.testing.assert_array_equal(table.to_numpy(), w)


def test_repeated_tokens_keep_their_columns_apart():
    _s, table = text(af.alignment_heatmap(np.eye(2), ["7", "7"], ["7", "7"], "t"))
    assert table.columns.is_unique and table.shape == (2, 2)


def test_accuracy_by_length_gives_the_accuracy_at_the_longest_input():
    fig = af.length_curve([3, 4, 6], {"with": [1.0, 1.0, 0.95], "without": [0.9, 0.5, 0.25]}, "dot (Luong)", 40)
    summary, table = text(fig)
    assert "At the longest input (6 tokens): with attention: dot (Luong) 95%; without attention 25%." in summary
    assert table.loc[6].tolist() == [0.95, 0.25] and table.index.name == "input length (tokens)"


def test_held_out_curve_and_gradient_path():
    summary, _t = text(af.held_out_curve({"with": ([10, 20], [0.5, 0.9]), "without": ([10, 20], [0.4, 0.3])},
                                         "dot"))
    assert "without attention: 2 points, largest 0.4 at training step = 10, last 0.3." in summary
    path = np.array([1e-3, 0.0, 5e-2, 1e-2])
    summary, table = text(af.gradient_path({"with": path, "without": path[::-1]}, "dot", 2))
    assert "with attention: dot: 4 points, largest 0.05 at encoder input step t = 2, last 0.01." in summary
    assert np.isnan(table.iloc[1, 0])                           # a zero is not drawn on the log axis


def test_one_steps_weights_and_probabilities():
    summary, table = text(af.step_weights(["<pad>", "a", "b"], np.array([0.1, 2.0, 1.0]),
                                          np.array([0.1, 0.6, 0.3]), "t"))
    assert ("3 bars; the largest: 0.6 at input token (encoder step j) = a (1); 0.3 at input token (encoder step j) "
            "= b (2); 0.1 at input token (encoder step j) = <pad> (0).") in summary
    assert table.to_numpy().ravel().tolist() == [0.1, 0.6, 0.3]
    summary, _t = text(af.probabilities(["<pad>", "</s>", "b"], np.array([0.1, 0.2, 0.7]), 1, "probs"))
    assert "The correct token </s>: p = 0.200." in summary


# -- explorer/inside_figures.py ----------------------------------------------------------------------------------

def test_the_text_view_names_the_characters_where_the_unit_peaks():
    text_ = "ab <c> d"
    values = np.array([0.0, -2.0, 0.5, 3.0, 0.1, 0.2, 0.0, 1.0])
    summary, table = text(figs.text_heat(text_, values, "h of unit 3", quantity="h"))
    assert summary == ("Coloured text: h of unit 3. 8 characters. Largest 3 at character 3 («<»), smallest -2 at "
                       "character 1 («b»).")
    assert table.shape == (8, 3) and list(table.columns) == ["t", "character", "h"]
    assert "".join(table["character"]).replace("·", " ") == text_
    np.testing.assert_array_equal(table["h"], values)


def test_unit_and_signal_and_correlation_bars():
    depth = np.array([0, 1, 2, 2, 1, 0] * 5, float)
    summary, table = text(figs.unit_and_signal(depth * 0.3, depth, 5, "h", "depth", 0.99))
    assert "depth: 30 points, largest 2 at time step t = 2, last 0." in summary
    assert "unit 5: 30 points, largest 0.6 at time step t = 2" in summary
    assert list(table.columns) == ["depth", "unit 5"]
    r = np.array([0.1, -0.9, 0.3, 0.85, -0.2])
    summary, table = text(figs.correlation_bars(r, "depth"))
    assert "5 bars; the largest: -0.9 at unit = 1; 0.85 at unit = 3; 0.3 at unit = 2." in summary
    assert list(table.index) == [0, 1, 2, 3, 4]                             # the units in order, not by trace
    np.testing.assert_array_equal(table.max(axis=1, skipna=True).where(table.notna().any(axis=1)), r)


def test_selection_lines_give_the_threshold_the_selection_and_the_matches(rng):
    values = rng.normal(size=(300, 5))
    fig = figs.selection_lines(values, [1, 3], (150, 153), 0.5, "h", matches=[(10, 13), (170, 172)], window=30)
    summary, table = text(fig)
    assert "Threshold 0.5; the selection is steps 150 to 152. 1 match is marked." in summary
    y = values[120:183, 3]
    assert f"unit 3: 63 points, largest {num(y.max())} at time step t = {120 + int(np.argmax(y))}" in summary
    assert table.shape == (63, 2) and table.index[0] == 120


def test_trajectories_count_the_fixed_points_and_place_the_step():
    P = np.random.default_rng(1).normal(size=(2, 10, 2))
    fig = figs.trajectories(P, np.array([0.5, 0.3]), np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([True, False]),
                            marker=(1, 7))
    summary, table = text(fig)
    assert "1 stable and 1 unstable fixed points." in summary and "states h_t: 20 points." in summary
    assert (f"step t = 7: at PC1 (50.0 % of the variance) = {num(P[1, 7, 0])}, PC2 (30.0 % of the variance) = "
            f"{num(P[1, 7, 1])}.") in summary
    assert "trajectory" not in summary                                   # the faint path is not data
    assert len(table) == 20 + 2 + 1 and list(table.columns)[0] == "series"


def test_trajectories_in_three_components_name_their_axes():
    P = np.random.default_rng(2).normal(size=(1, 6, 3))
    summary, table = text(figs.trajectories(P, np.array([0.5, 0.3, 0.1])))
    assert "Axes: PC1 (50.0 % of the variance); PC2 (30.0 % of the variance); PC3 (10.0 % of the variance)." in summary
    np.testing.assert_allclose(table["z"], P[0, :, 2])


def test_eigenvalues_and_gate_saturation():
    lam = np.array([[0.5 + 0.2j, 0.1], [1.3, 0.2j]])
    summary, table = text(figs.eigenvalues(lam, np.array([True, False]), ["point 0 (stable)", "point 1 (unstable)"]))
    assert f"Largest |λ| at each fixed point: point 0 (stable) {num(abs(0.5 + 0.2j))}; point 1 (unstable) 1.3." \
        in summary
    assert len(table) == 4 and table["real part"].tolist() == [0.5, 0.1, 1.3, 0.0]
    fractions = {"i": (np.array([0.0, 0.5]), np.array([0.9, 0.1])), "f": (np.array([0.2, 0.1]), np.array([0.7, 0.0]))}
    summary, table = text(figs.gate_saturation(fractions, {"i": "input gate i_t", "f": "forget gate f_t"}))
    assert ("Mean fraction of steps saturated (closed, open): input gate i_t 0.25, 0.5; forget gate f_t 0.15, 0.35."
            in summary)
    assert len(table) == 4 and "diagonal" not in summary


# -- across builders ---------------------------------------------------------------------------------------------

def every_figure():
    rng = np.random.default_rng(3)
    return {
        "states_heatmap": figures.states_heatmap(rng.normal(size=(6, 3)), "h"),
        "unit_lines": figures.unit_lines({"NumPy": rng.normal(size=(6, 3))}, [0], "u"),
        "unrolled_diagram": figures.unrolled_diagram(4, 2, 3, True, True, True),
        "gradient_norms": figures.gradient_norms({"NumPy": 0.5 ** np.arange(6)}, "g", decay=Fit),
        "jacobian_map": figures.jacobian_map(np.arange(3), rng.normal(size=(3, 3)), "exact"),
        "step_sigmas": figures.step_sigmas(rng.uniform(size=5), 1.2, "exact"),
        "carry_products": figures.carry_products(np.arange(3), np.array([0, -1.0, -2]), np.array([0, -.5, -1]), "f"),
        "contributions": figures.contributions(rng.uniform(size=5)),
        "parity_bars": figures.parity_bars([("a", 1e-7, 1e-5)]),
        "loss_curve": tf.loss_curve([2.0, 1.0], chance=2.3),
        "accuracy_curve": tf.accuracy_curve([0.5]),
        "grad_norm_curve": tf.grad_norm_curve([1.0], [1.0], 1.0),
        "reach_heatmap": tf.reach_heatmap([1], [np.ones(3)]),
        "reach_lines": tf.reach_lines({"epoch 1": np.ones(3)}),
        "compare_curves": tf.compare_curves({"LSTM": [0.5]}, "accuracy", 2, 0.5),
        "alignment_heatmap": af.alignment_heatmap(np.eye(2), ["1", "2"], ["2", "1"], "a"),
        "held_out_curve": af.held_out_curve({"with": ([1], [0.5])}, "dot"),
        "length_curve": af.length_curve([3], {"with": [1.0], "without": [0.5]}, "dot", 5),
        "gradient_path": af.gradient_path({"with": np.ones(3)}, "dot", 0),
        "step_weights": af.step_weights(["1", "2"], np.zeros(2), np.array([0.5, 0.5]), "w"),
        "probabilities": af.probabilities(["a", "b"], np.array([0.4, 0.6]), 1, "p"),
        "text_heat": figs.text_heat("ab", np.array([0.1, 0.2]), "t"),
        "unit_and_signal": figs.unit_and_signal(np.ones(4), np.arange(4.0), 0, "h", "depth", 0.5),
        "correlation_bars": figs.correlation_bars(np.array([0.5, -0.2]), "depth"),
        "selection_lines": figs.selection_lines(np.zeros((10, 2)), [0], (2, 4), 0.1, "h"),
        "trajectories": figs.trajectories(np.zeros((1, 5, 2)) + np.arange(5)[None, :, None], np.array([0.7, 0.2]),
                                          np.zeros((1, 2)), np.array([True])),
        "eigenvalues": figs.eigenvalues(np.array([[0.5]]), np.array([True])),
        "gate_saturation": figs.gate_saturation({"z": (np.zeros(2), np.ones(2))}, {"z": "update gate"}),
    }


def test_every_builder_is_covered():
    """Every public function of the figure modules that returns a Figure is in every_figure() (a new builder too)."""
    builders = {name for module in (figures, tf, af, figs) for name, fn in vars(module).items()
                if callable(fn) and not isinstance(fn, type) and not name.startswith("_")
                and "Figure" in str(inspect.signature(fn).return_annotation)}
    assert len(builders) == 28 and builders == set(every_figure())


@pytest.mark.parametrize("name", list(every_figure()))
def test_every_builder_s_key_numbers_are_phrased_and_the_figure_is_left_as_it_was(name):
    fig = every_figure()[name]
    before = fig.to_json()
    described = describe(fig)
    assert fig.to_json() == before
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    assert set(meta) <= set(PHRASES), set(meta) - set(PHRASES)
    title = chart_text.plain(fig.layout.title.text, chart_text.TITLE_CHARS)
    assert described.summary.split(". ")[0].endswith(title.rstrip("."))
    table = described.table()
    assert isinstance(table, pd.DataFrame) and len(table) and table.columns.is_unique


def test_the_table_is_built_only_when_asked_for(monkeypatch):
    fig = figures.states_heatmap(np.ones((3, 2)), "h")
    calls = []
    original = pd.DataFrame
    monkeypatch.setattr(chart_text.pd, "DataFrame", lambda *a, **k: calls.append(1) or original(*a, **k))
    described = describe(fig)
    assert calls == []
    described.table()
    assert calls == [1]


def test_names_from_a_visitor_stay_text():
    """A column named like Markdown or HTML: the summary reads the text itself, and inert() keeps it from being
    Markdown on the page (the caption is shown through it)."""
    name = "![x](http://host/x.png) <b>bold</b> $x$ :smile:"
    fig = figures.states_heatmap(np.arange(6.0).reshape(3, 2), "h", time_values=np.arange(3.0), time_label=name)
    summary = describe(fig).summary
    assert f"Across: {name}; up: unit." in summary
    shown = inert(summary, 4000)
    assert re.search(r"(?<!\\)[\[\]<>$]", shown) is None          # every bracket, tag and dollar escaped
    assert "\\[x\\]" in shown and "\\<b\\>bold" in shown and "\\$x\\$" in shown


def test_long_names_are_cut():
    fig = figures.unit_lines({"N" * 500: np.ones((3, 1))}, [0], "t")
    summary = describe(fig).summary
    assert len(summary) < 400 and "…" in summary


def test_many_series_are_left_to_the_table(rng):
    fig = figures.unit_lines({"NumPy": rng.normal(size=(5, 10))}, list(range(10)), "ten")
    summary, table = text(fig)
    assert summary.count(" points, largest ") == chart_text.MAX_SERIES
    assert "4 more series in the table." in summary and table.shape == (5, 10)


def test_in_korean():
    with use_language("ko"):
        built = [figures.gradient_norms({"NumPy": 0.5 ** np.arange(6)}, "기울기", decay=Fit),
                 figures.parity_bars([("a", 1e-7, 1e-5), ("b", 1e-3, 1e-5)]),
                 figures.unrolled_diagram(4, 2, 3, True, True, False, state_names=("h", "c")),
                 tf.accuracy_curve([0.5, 0.75]), tf.grad_norm_curve([1.0], [1.0], 1.0),
                 af.length_curve([3], {"with": [1.0], "without": [0.5]}, "내적 (Luong)", 5),
                 figs.text_heat("ab", np.array([0.1, 0.2]), "유닛"),
                 figs.selection_lines(np.zeros((10, 2)), [0], (2, 4), 0.1, "h"),
                 figs.trajectories(np.zeros((1, 5, 2)) + np.arange(5)[None, :, None], np.array([0.7, 0.2]),
                                   np.zeros((1, 2)), np.array([True]))]
        summaries = [describe(fig).summary for fig in built]
    for summary in summaries:
        assert HANGUL.search(summary), summary
        assert english_words(summary, {"Luong", "inf"}) == [], summary
    assert "적합한 비율: 한 스텝 거슬러 갈 때마다 ×0.8" in summaries[0]
    assert "최종 정확도: 75.0%." in summaries[3]
