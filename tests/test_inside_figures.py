"""The "Inside a trained network" page without Streamlit: its figure builders (their data), its calls
(explorer/inside_view.py: input, signals, budget, the cached analyses) and the bracket task it is shown with."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from explorer import inside_figures as figs
from explorer import inside_view as view
from explorer.i18n import use_language
from explorer.settings import AppConfig
from rnn_core.messages import UserError
from rnn_core.training import tasks as task_lib
from rnn_core.training.model import RNNClassifier
from rnn_core.training.optimizers import get as get_optimizer
from rnn_core.training.trainer import Trainer

HANGUL = re.compile(r"[\uac00-\ud7a3]")
WHITE, BLACK = (255, 255, 255), (0, 0, 0)


# -- the text view ---------------------------------------------------------------------------------------------


def test_text_heat_puts_each_character_on_its_cell_with_readable_contrast():
    text = 'ab (cd [e<f>]) "x&y". ' * 4                      # 88 characters: two lines of 60
    values = np.linspace(-1, 1, len(text))
    fig = figs.text_heat(text, values, "title", span=(58, 63), matches=[(3, 5)])
    heat, chars = fig.data
    z = np.asarray(heat.z, np.float64)
    assert z.shape == (2, figs.LINE_CHARS)
    np.testing.assert_allclose(z.ravel()[:len(text)], values)
    assert np.isnan(z.ravel()[len(text):]).all()                         # the rest of the last line: no cell
    assert heat.zmid == 0 and heat.zmin == -heat.zmax                     # diverging, centred on 0
    assert list(chars.x) == [t % 60 for t in range(len(text))] and list(chars.y) == [t // 60 for t in range(len(text))]
    assert chars.text[2] == figs.SPACE and chars.text[9] == "&lt;" and chars.text[17] == "&amp;"   # inert for Plotly
    backgrounds = figs.cell_colors(values, figs.DIVERGING, heat.zmin, heat.zmax)
    for background, ink in zip(backgrounds, chars.textfont.color, strict=True):
        rgb = figs._rgb(background)
        assert figs.contrast_ratio(rgb, figs._rgb(ink)) >= 4.5           # WCAG AA for text
    # the span [58, 63) wraps onto the second line: two outlines; the match one, dotted
    solid = [s for s in fig.layout.shapes if s.line.dash == "solid"]
    assert [(s.x0, s.x1, s.y0) for s in solid] == [(57.5, 59.5, -0.5), (-0.5, 2.5, 0.5)]
    assert [(s.x0, s.x1) for s in fig.layout.shapes if s.line.dash == "dot"] == [(2.5, 4.5)]


def test_text_heat_of_a_gate_starts_at_zero_and_rejects_misaligned_values():
    fig = figs.text_heat("abcd", np.array([0.1, 0.5, 0.9, 0.2]), "gate", quantity="f", signed=False)
    assert fig.data[0].zmin == 0 and fig.data[0].zmax == 1.0
    with pytest.raises(ValueError, match="one per character"):
        figs.text_heat("abc", np.zeros(4), "x")


def test_contrast_and_text_colour():
    assert figs.contrast_ratio(WHITE, BLACK) == pytest.approx(21.0)
    assert figs.text_color_on("rgb(5,48,97)") == "#ffffff" and figs.text_color_on("rgb(247,247,247)") == "#000000"
    for grey in range(0, 256, 5):                                    # the better of black and white: always AA
        ink = figs.text_color_on(f"rgb({grey},{grey},{grey})")
        assert figs.contrast_ratio((grey,) * 3, figs._rgb(ink)) >= 4.5


def test_unit_and_signal_and_correlation_bars():
    r = np.array([0.1, -0.9, 0.3, 0.85, -0.2, 0.95])
    bars = figs.correlation_bars(r, "depth")
    rest, best = bars.data
    assert sorted(best.x) == [1, 3, 5] and best.marker.color == figs.OKABE_ITO[5]
    np.testing.assert_allclose(best.y, r[list(best.x)])
    depth = np.array([0, 1, 2, 2, 1, 0] * 50, float)
    fig = figs.unit_and_signal(depth * 0.3, depth, 5, "h", "depth", 0.99, text="ab(c)." * 50)
    assert len(fig.data[0].x) == 200 and fig.layout.yaxis2.dtick == 1 and tuple(fig.layout.yaxis2.range) == (-0.5, 2.5)
    assert "+0.99" in fig.layout.title.text


def test_selection_lines_show_a_window_around_the_selection():
    values = np.random.default_rng(0).normal(size=(300, 5))
    fig = figs.selection_lines(values, [1, 3], (150, 153), 0.5, "h", matches=[(10, 13), (170, 172)], window=30)
    assert [tr.name for tr in fig.data] == ["unit 1", "unit 3"]
    assert fig.data[0].x[0] == 120 and fig.data[0].x[-1] == 182
    np.testing.assert_allclose(fig.data[1].y, values[120:183, 3])
    rects = [(s.x0, s.x1, s.fillcolor) for s in fig.layout.shapes if s.type == "rect"]
    assert rects == [(149.5, 152.5, figs.SELECTION_COLOR), (169.5, 171.5, figs.MATCH_COLOR)]   # (10, 13) is outside


# -- state space -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 3])
def test_trajectories_draw_fixed_points_by_stability_and_the_step_marker(k):
    P = np.random.default_rng(1).normal(size=(2, 40, k))
    depth = np.tile(np.arange(40) % 3, (2, 1))
    fixed = np.array([[0.0] * k, [1.0] * k, [2.0] * k])
    fig = figs.trajectories(P, np.array([0.5, 0.3, 0.1][:k]), fixed, np.array([True, False, True]), marker=(1, 7),
                            color_by=depth, color_label="depth")
    by_name = {tr.name: tr for tr in fig.data}
    assert {"depth 0", "depth 1", "depth 2"} <= set(by_name)            # one legend entry per depth
    stable, unstable = by_name["stable fixed point"], by_name["unstable fixed point"]
    assert stable.marker.symbol == "circle" and unstable.marker.symbol == "circle-open"
    assert len(stable.x) == 2 and list(unstable.x) == [1.0]
    step = by_name["step t = 7"]
    np.testing.assert_allclose([step.x[0], step.y[0]], P[1, 7, :2])
    axis = fig.layout.scene.xaxis.title.text if k == 3 else fig.layout.xaxis.title.text
    assert axis == "PC1 (50.0 % of the variance)"
    assert f"first {k} principal components ({100 * (0.8 if k == 2 else 0.9):.0f} %" in fig.layout.title.text


def test_trajectories_of_a_continuous_signal_use_a_colour_scale():
    P = np.random.default_rng(2).normal(size=(1, 30, 2))
    fig = figs.trajectories(P, np.array([0.6, 0.2]), color_by=np.linspace(0, 1, 30)[None], color_label="x")
    states = [tr for tr in fig.data if tr.mode == "markers"][0]
    assert states.marker.showscale and states.marker.colorscale[-1][1] != "rgb(253, 231, 37)"   # no pale yellow


def test_eigenvalues_against_the_unit_circle():
    lam = np.array([[0.5 + 0.2j, 0.5 - 0.2j, 0.1], [1.3, 0.2, 0.1j]])
    fig = figs.eigenvalues(lam, np.array([True, False]), ["a", "b"])
    circle, a, b = fig.data
    np.testing.assert_allclose(np.hypot(circle.x, circle.y), 1.0)
    assert a.marker.symbol == "circle" and b.marker.symbol == "circle-open"
    np.testing.assert_allclose(b.x, [1.3, 0.2, 0.0]) and np.testing.assert_allclose(a.y, [0.2, -0.2, 0.0])
    many = figs.eigenvalues(np.ones((10, 2)), np.ones(10, bool))
    assert len(many.data) == 1 + figs.MAX_EIGEN_POINTS


def test_figures_on_their_own_white_keep_a_light_grid_and_a_white_legend_in_both_themes():
    """The dark theme's grid drew near-black lines across the white plot, and its legend hid the black fixed point."""
    from explorer import palette

    P = np.zeros((1, 5, 2))
    built = [figs.trajectories(P, np.array([0.6, 0.3]), np.zeros((1, 2)), np.array([True]), marker=(0, 1)),
             figs.eigenvalues(np.array([[0.5 + 0.2j]]), np.array([True])),
             figs.gate_saturation({"i": (np.array([0.1]), np.array([0.2]))}, {"i": "input gate i_t"})]
    for fig in built:
        assert fig.layout.plot_bgcolor == palette.WHITE
        assert fig.layout.xaxis.gridcolor == fig.layout.yaxis.gridcolor == palette.GRID_ON_WHITE
        assert fig.layout.legend.bgcolor == palette.WHITE
        assert fig.layout.legend.font.color == palette.INK_ON_LIGHT_FILL


def test_gate_saturation_one_colour_per_gate():
    fractions = {"i": (np.array([0.0, 0.5]), np.array([0.9, 0.1])), "f": (np.array([0.2, 0.1]), np.array([0.7, 0.0]))}
    fig = figs.gate_saturation(fractions, {"i": "input gate i_t", "f": "forget gate f_t"})
    traces = {tr.name: tr for tr in fig.data[1:]}
    assert traces["input gate i_t"].marker.color == figs.GATE_COLORS["i"] != traces["forget gate f_t"].marker.color
    np.testing.assert_allclose(traces["forget gate f_t"].x, [0.2, 0.1])
    assert set(figs.GATE_COLORS.values()) <= set(figs.OKABE_ITO)


def test_figures_in_korean():
    with use_language("ko"):
        figures = [figs.correlation_bars(np.array([0.5, -0.2]), "깊이"),
                   figs.trajectories(np.zeros((1, 5, 2)) + np.arange(5)[None, :, None], np.array([0.7, 0.2])),
                   figs.eigenvalues(np.array([[0.5]]), np.array([True])),
                   figs.gate_saturation({"z": (np.zeros(2), np.ones(2))}, {"z": "업데이트 게이트"}),
                   figs.selection_lines(np.zeros((10, 2)), [0], (2, 4), 0.1, "h")]
    for fig in figures:
        assert HANGUL.search(fig.layout.title.text), fig.layout.title.text


# -- the page's calls ------------------------------------------------------------------------------------------


def test_encode_decode_and_bad_text():
    vocab = task_lib.BRACKET_VOCABULARY
    x = view.encode("ab (c)", vocab)
    assert x.shape == (1, 6, len(vocab)) and x.dtype == np.float32 and (x.sum(-1) == 1).all()
    assert view.decode(x[0], vocab) == "ab (c)"
    with pytest.raises(UserError, match=r"never saw: 'X' 'z'. It reads only these 17"):
        view.encode("aXz", vocab)
    with pytest.raises(UserError, match="at least 2"):
        view.encode("a", vocab)


def test_text_signals():
    s = view.text_signals('ab ("cd" [e]) f')
    np.testing.assert_array_equal(s["depth"], [0, 0, 0, 1, 2, 2, 2, 1, 1, 2, 2, 1, 0, 0, 0])
    np.testing.assert_array_equal(s["word"], [1, 2, 0, 0, 0, 1, 2, 0, 0, 0, 1, 0, 0, 0, 1])
    np.testing.assert_array_equal(np.flatnonzero(s["space"]), [2, 8, 13])
    steps = view.step_signals(np.arange(24, dtype=float).reshape(2, 4, 3))
    np.testing.assert_array_equal(steps["step"][1], [0, 1, 2, 3])
    np.testing.assert_array_equal(steps["input"][0], [0, 3, 6, 9])


def test_held_input_and_default_selection():
    x = np.array([[[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]])
    np.testing.assert_array_equal(view.held_input("char:b", x, ("a", "b")), [0, 1])
    np.testing.assert_allclose(view.held_input(view.HELD_MEAN, x), [1 / 3, 2 / 3])
    np.testing.assert_array_equal(view.held_input(view.HELD_ZEROS, x), [0, 0])
    values = np.zeros((20, 3))
    values[8:11, 2] = [0.9, 0.95, 0.8]
    assert view.default_selection(values) == (8, 11, 0.7)                 # 0.9 x 0.8, down to a multiple of 0.05


def test_the_estimate_grows_with_the_work_and_the_nearest_view_fits():
    small = view.estimate("lstm", 1, 600, 48, 17, 17, 128)
    assert small.fits and small.page == view.PAGE
    assert view.estimate("lstm", 1, 600, 48, 17, 17, 512).seconds > small.seconds
    assert view.estimate("lstm", 1, 1200, 48, 17, 17, 128).bytes > small.bytes
    big = view.estimate("lstm", 1, 600, 256, 17, 17, 1024)
    assert not big.fits                                                   # 1024 Newton starts at 2H = 512
    fit = view.nearest_fitting("lstm", 1, 600, 256, 17, 17, 1024)
    assert fit.estimate.fits and fit.steps == 600 and fit.starts < 1024   # fewer starts before less data
    assert [str(c) for c in fit.changes] == [f"fixed-point starts 1024 → {fit.starts}"]
    data = view.nearest_fitting("simple_rnn", 64, 20_000, 256, 8, 5, 8)
    assert data.estimate.fits and (data.batch, data.steps) != (64, 20_000)
    assert view.nearest_fitting("lstm", 1, 10, 100_000, 1, 5, 8) is None


def test_trained_text_comes_from_the_layer_record_or_the_matching_run():
    vocab = task_lib.BRACKET_VOCABULARY
    weights = [np.ones((2, 2), np.float32)]
    custom = {"weights": weights, "input_dim": len(vocab), "example": {"x": np.eye(len(vocab))[None, :5]}}
    assert view.trained_text(None) is None and view.trained_text(custom) is None    # no vocabulary known

    class Run:           # what the page reads of the session's TrainingRun
        task = task_lib.brackets(n=4, steps=10)
        model = type("M", (), {"rnn": type("R", (), {"get_weights": staticmethod(lambda: weights)})})()

    found = view.trained_text(custom, Run())
    assert found.task == "brackets" and found.vocabulary == vocab and len(found.default_text) == view.DEFAULT_CHARS
    assert found.default_text == view.trained_text(custom, Run()).default_text       # the same text every rerun
    assert view.trained_text({**custom, "weights": [np.zeros((2, 2))]}, Run()) is None   # another layer
    recorded = {**custom, "example": {**custom["example"], "vocabulary": vocab, "task": "next_character"}}
    assert view.trained_text(recorded).default_text == "".join(vocab[:5])          # its first training sequence


@pytest.fixture(scope="module")
def lstm_cfg():
    """A small LSTM trained briefly on the bracket task, as the page gets it (explorer.custom_layer)."""
    from explorer import custom_layer
    from explorer.settings import DEFAULT

    task = task_lib.brackets(n=128, steps=40, seed=0)
    model = RNNClassifier(24, cell="lstm", seed=0, **task.model_kwargs())
    model.build(task.x.shape)
    Trainer(model, get_optimizer("adam", learning_rate=0.01), task.x, task.y, batch_size=32, shuffle=True,
            seed=0).run(epochs=6)
    custom = {"label": "test", "cell": "LSTM", "config": {"units": 24}, "weights": model.rnn.get_weights(),
              "head": "none", "head_weights": None, "input_dim": task.x.shape[-1]}
    return custom_layer.apply(DEFAULT, custom), custom


def test_the_analyses_of_a_trained_layer(lstm_cfg):
    cfg, _custom = lstm_cfg
    text = task_lib.bracket_text(300, seed=5)
    x = view.encode(text, task_lib.BRACKET_VOCABULARY)
    values = view.quantities(cfg, x)
    assert set(values) == {"h", "c", "i", "f", "g", "o"} and values["h"].shape == (1, 300, 24)
    corr = view.unit_correlations(cfg, x, "h", view.text_signals(text)["depth"][None])
    assert corr.all_r.shape == (24,) and abs(corr.r[0]) == np.abs(corr.all_r).max()
    pca = view.state_space(cfg, x, 3)
    assert pca.projections.shape == (1, 300, 3) and 0 < pca.explained_variance_ratio.sum() <= 1
    points = view.fixed_point_search(cfg, x, view.held_input("char:a", x, task_lib.BRACKET_VOCABULARY), 32)
    assert points.points.shape[1] == 48 and len(points) >= 1                       # [h, c]
    assert view.project(pca, points.points[:, :24]).shape == (len(points), 3)
    start, stop, threshold = view.default_selection(values["h"][0])
    sel = view.select_and_match(cfg, x, "h", 0, start, stop, threshold)
    assert sel.units.size >= 1 and all(m.stop - m.start <= 2 * (stop - start) for m in sel.matches)
    assert (values["h"][0, start:stop][:, sel.units] >= threshold).all()
    with pytest.raises(UserError, match="outside the sequence"):
        view.select_and_match(cfg, x, "h", 0, 290, 310, 0.1)
    with pytest.raises(UserError, match="No unit reaches the threshold"):
        view.select_and_match(cfg, x, "h", 0, 10, 40, 0.999)
    sat = view.saturation(cfg, x)
    assert set(sat) == {"i", "f", "o"} and all(((left >= 0) & (left + right <= 1)).all()
                                               for left, right in sat.values())
    assert view.saturation(replace(cfg, cell="SimpleRNN"), x) == {}


def test_go_backwards_states_are_turned_to_input_order():
    cfg = AppConfig(cell="GRU", units=3, go_backwards=True)
    x = np.random.default_rng(0).normal(size=(1, 6, 2)).astype(np.float32)
    values = view.quantities(cfg, x)["h"]
    from explorer import cache
    processed = cache.numpy_forward(cfg, x, None).sequences["h"]
    np.testing.assert_array_equal(values[0, 0], processed[0, -1])       # input step 0 is read last


# -- the bracket task ------------------------------------------------------------------------------------------


def test_nesting_depth_counts_brackets_and_quotes():
    np.testing.assert_array_equal(task_lib.nesting_depth("(a [b {c} d] e)"), [1, 1, 1, 2, 2, 2, 3, 3, 2, 2, 2, 1, 1, 1,
                                                                               0])
    np.testing.assert_array_equal(task_lib.nesting_depth('"a (b" c)'), [1, 1, 1, 1, 1, 0, 0, 0, 0])  # no brackets in
    np.testing.assert_array_equal(task_lib.nesting_depth(") a"), [0, 0, 0])                          # quotes


def test_bracket_text_follows_its_grammar():
    text = task_lib.bracket_text(5000, seed=3)
    assert len(text) == 5000 and set(text) <= set(task_lib.BRACKET_VOCABULARY)
    assert text == task_lib.bracket_text(5000, seed=3) != task_lib.bracket_text(5000, seed=4)
    depth = task_lib.nesting_depth(text)
    assert depth.min() == 0 and depth.max() == task_lib.BRACKET_MAX_DEPTH
    assert np.bincount(depth).min() > 0.05 * len(text)                  # every depth is common
    for match in re.finditer(r"[a-h]+", text):                            # a word at depth d has d + 2 letters
        if match.start() > 0 and match.end() < len(text):                 # (the first and last may be cut)
            assert len(match.group()) == depth[match.start()] + 2
    assert (depth[[m.start() for m in re.finditer(r"\.", text)]] == 0).all()   # sentences end at depth 0


def test_bracket_task_windows_start_at_sentences():
    task = task_lib.TASKS["brackets"](n=64, steps=30, seed=1)
    vocab = task.vocabulary
    assert task.name == "brackets" and vocab == task_lib.BRACKET_VOCABULARY and task.x.shape == (64, 30, 17)
    assert task.many_to_many and task.y.shape == (64, 30) and "nested brackets" in task.description
    for window, targets in zip(task.x[:10], task.y[:10], strict=True):
        chars = view.decode(window, vocab)
        assert task_lib.nesting_depth(chars).min() >= 0 and chars[0] not in " .)]}"
        assert chars[1:] == "".join(vocab[i] for i in targets[:-1])          # y is x shifted by one


def test_an_lstm_trained_on_brackets_grows_a_depth_unit():
    """The Training page's defaults at 32 units (30 epochs of 256 x 50, Adam 0.01; about 3 s on one core)."""
    task = task_lib.brackets(n=256, steps=50, seed=0)
    model = RNNClassifier(32, cell="lstm", seed=0, **task.model_kwargs())
    model.build(task.x.shape)
    Trainer(model, get_optimizer("adam", learning_rate=0.01), task.x, task.y, batch_size=32, shuffle=True,
            seed=0).run(epochs=30)
    text = task_lib.bracket_text(2000, seed=1234)
    model.rnn(view.encode(text, task.vocabulary))
    from rnn_core.analysis import correlated_units

    r = correlated_units(model.rnn.last_sequences()["h"][0], task_lib.nesting_depth(text), top_k=1).r[0]
    assert abs(r) >= 0.75, r
