"""Figure builders, without Streamlit: data, scales and labels a user relies on."""

import numpy as np
import plotly.graph_objects as go
import pytest

from explorer import figures


def test_states_heatmap_is_diverging_and_centred(rng):
    fig = figures.states_heatmap(rng.normal(size=(12, 4)), "h", highlight=3)
    heat = fig.data[0]
    assert isinstance(fig, go.Figure) and heat.zmid == 0 and heat.zmin == -heat.zmax
    assert np.asarray(heat.z).shape == (4, 12)
    assert fig.layout.xaxis.title.text == "time step t" and fig.layout.yaxis.title.text == "unit"
    assert len(fig.layout.shapes) == 1                     # the highlighted step


def test_long_titles_wrap_at_words_and_the_figure_grows_by_their_lines(rng):
    """Plotly wraps no title: at 390 px one longer than ~50 characters was cut at the figure's edge."""
    short = figures.states_heatmap(rng.normal(size=(12, 4)), "h_t of sequence 0 (NumPy)")
    long_title = "h_t of the first training sequence after epoch 30 (loss on 8 sequences 0.0008302)"
    long = figures.states_heatmap(rng.normal(size=(12, 4)), long_title)
    text = long.layout.title.text
    assert short.layout.title.text == "h_t of sequence 0 (NumPy)"
    assert text == "h_t of the first training sequence after epoch<br>30 (loss on 8 sequences 0.0008302)"
    assert text.replace("<br>", " ") == long_title and text.startswith("h_t of the first training sequence")
    assert long.layout.height == short.layout.height + figures.TITLE_LINE_PX
    assert long.layout.margin.t == short.layout.margin.t + figures.TITLE_LINE_PX
    # plotly.js centres a title's lines on its anchor: the padding gives back the half line the first one rises.
    assert long.layout.title.pad.t == short.layout.title.pad.t + figures.TITLE_LINE_PX // 2


@pytest.mark.parametrize("text, expected", [
    ("Per-step stretch: largest singular value of J_t = diag(f'(z_t)) Uᵀ",
     "Per-step stretch: largest singular value of J_t =<br>diag(f'(z_t)) Uᵀ"),    # no line starts with "="
    ("에포크별 ||dL/dh_t|| (log10): 기울기가 얼마나 먼 과거까지 닿는가",              # Hangul counts double
     "에포크별 ||dL/dh_t|| (log10): 기울기가 얼마나 먼<br>과거까지 닿는가"),
    ('a <span style="color: red">b c</span> ' + "word " * 9 + "&lt;tag&gt;",         # no break inside a tag
     'a <span style="color: red">b c</span> word word word word word word word word<br>word &lt;tag&gt;'),
    ("first<br>" + "x" * 60, "first<br>" + "x" * 60),                           # breaks kept, a long word whole
    ("Training accuracy per epoch (delayed recall, lag k=3)",                     # no "k=3)" alone on a line
     "Training accuracy per epoch (delayed recall, lag k=3)"),
])
def test_wrap_breaks_at_spaces_by_the_width_a_phone_shows(text, expected):
    assert figures.wrap(text) == expected


def test_probabilities_use_a_sequential_scale(rng):
    fig = figures.states_heatmap(rng.uniform(size=(5, 3)), "p", signed=False, rows="class", zmax=1.0)
    assert fig.data[0].zmin == 0 and fig.data[0].zmid is None and fig.layout.yaxis.title.text == "class"


def test_long_sequences_are_aggregated_and_say_so(rng):
    states = rng.normal(size=(100_000, 3))
    fig = figures.states_heatmap(states, "h")
    z = np.asarray(fig.data[0].z)
    assert z.shape[1] <= figures.MAX_COLUMNS
    assert any("aggregated" in a.text for a in fig.layout.annotations)
    np.testing.assert_allclose(z[:, 0], states[:50].mean(axis=0))


def test_unrolled_diagram_shows_shapes_and_greys_unreturned_outputs():
    many = figures.unrolled_diagram(5, 3, 4, return_sequences=True, return_state=True, go_backwards=False)
    texts = [a.text for a in many.layout.annotations]
    # Each shape on a line under its name, so neighbouring labels stay apart on a 390 px phone.
    assert "h<sub>0</sub><br>(B, 4)" in texts and "x<sub>0</sub><br>(B, 3)" in texts
    assert "state<br>h<sub>T</sub> (B, 4)" in texts
    assert "cell · output (B, 5, 4): every h<sub>t</sub>" in texts    # the cell's name once, not in every box
    one = figures.unrolled_diagram(5, 3, 4, return_sequences=False, return_state=False, go_backwards=True)
    texts = [a.text for a in one.layout.annotations]
    assert "h<sub>0</sub>" in texts and "h<sub>4</sub><br>(B, 4)" in texts
    assert "cell · output (B, 4): last h only<br>h<sub>0</sub> … h<sub>3</sub> not returned" in texts
    assert "x<sub>4</sub><br>(B, 3)" in texts              # go_backwards: cell 0 reads the last input


def test_unrolled_lstm_carries_two_states_and_lists_its_gates():
    fig = figures.unrolled_diagram(5, 3, 4, return_sequences=True, return_state=True, go_backwards=False,
                                   cell_name="LSTM", state_names=("h", "c"), gate_names=("i", "f", "g", "o"))
    texts = [a.text for a in fig.layout.annotations]
    assert "step 0<br><i>i f g o</i>" in texts and "LSTM · output (B, 5, 4): every h<sub>t</sub>" in texts
    assert "states<br>h<sub>T</sub> (B, 4)<br>c<sub>T</sub> (B, 4)" in texts
    assert "c<sub>t</sub>" in texts and "h<sub>t</sub>" in texts          # one lane per carried state
    lanes = {a.ay for a in fig.layout.annotations if a.showarrow and abs(a.x - a.ax - 0.4) < 1e-9}
    assert len(lanes) == 2


def test_carry_products_and_cell_colours():
    fig = figures.carry_products(np.arange(3), np.array([0.0, -0.1, -0.2]), np.array([0.0, -0.05, -0.1]),
                                 "forget gate f_t")
    assert [t.name for t in fig.data] == ["largest unit", "mean over units"]
    np.testing.assert_allclose(fig.data[1].y, [0.0, -0.1, -0.2])
    fit = type("Fit", (), {"factor": 0.5, "half_life": 1.0, "r2": 1.0})()
    norms = figures.gradient_norms({"LSTM": np.ones(3), "GRU": np.ones(3)}, "cells", rates={"LSTM": fit})
    assert [t.name for t in norms.data] == ["LSTM: x0.5 per step back", "GRU"]
    assert norms.data[0].line.color == figures.CELL_COLORS["LSTM"]


def test_reference_line_labels_stay_on_their_own_lines():
    """Each label sits on its line (plotly writes positions into the annotation dict it gets: never share one)."""
    carry = figures.carry_products(np.arange(5), -np.arange(5.0), -np.arange(5.0), "forget gate f_t")
    sigmas = figures.step_sigmas(np.full(5, 0.9), None, "Lanczos")
    bounded = figures.step_sigmas(np.full(5, 0.9), 1.7, "Lanczos")
    label_y = lambda fig, start: [a.y for a in fig.layout.annotations if a.text.startswith(start)]   # noqa: E731
    assert label_y(carry, "1: passed on") == [0.0]
    assert label_y(sigmas, "1: neither") == [1.0] and label_y(bounded, "1: neither") == [1.0]
    assert label_y(bounded, "bound") == [1.7]
    assert all(a.bgcolor for fig in (carry, sigmas, bounded) for a in fig.layout.annotations if a.yref == "y")


def test_gradient_norms_log_axis_and_overflow_markers():
    values = np.array([1e-3, 1e-2, np.inf, 1.0])
    fig = figures.gradient_norms({"NumPy": values, "Keras": values}, "norms")
    assert fig.layout.yaxis.type == "log"
    names = [t.name for t in fig.data]
    assert "NumPy: inf/nan" in names and "Keras" in names
    assert fig.data[0].line.color == figures.NUMPY_COLOR and fig.data[2].line.color == figures.KERAS_COLOR


def test_parity_bars_colour_by_tolerance():
    fig = figures.parity_bars([("a", 1e-8, 1e-5), ("b", 1e-3, 1e-5)])
    assert list(fig.data[0].marker.color) == [figures.P.WITHIN, figures.P.OVER]     # bluish green, vermillion


def test_aggregated_lines_draw_the_min_max_band(rng):
    states = rng.normal(size=(10_000, 2))
    fig = figures.unit_lines({"NumPy": states}, [0], "lines")
    band_hi, band_lo, mean = fig.data
    assert band_lo.fill == "tonexty" and len(mean.x) <= figures.MAX_COLUMNS
    np.testing.assert_allclose(band_hi.y[0], states[:5, 0].max())
    np.testing.assert_allclose(band_lo.y[0], states[:5, 0].min())
    np.testing.assert_allclose(mean.y[0], states[:5, 0].mean())
    assert len(figures.unit_lines({"NumPy": states[:50]}, [0], "raw").data) == 1   # no band when not aggregated


def test_time_values_put_dates_on_the_x_axis(rng):
    dates = np.arange("2024-01-01", "2024-01-13", dtype="datetime64[D]")
    fig = figures.states_heatmap(rng.normal(size=(12, 3)), "h", highlight=3, time_values=dates, time_label="date")
    assert [str(v)[:10] for v in fig.data[0].x[:2]] == ["2024-01-01", "2024-01-02"]
    assert fig.layout.xaxis.title.text == "date" and "date=%{x}" in fig.data[0].hovertemplate
    shape = fig.layout.shapes[0]                                   # step 3 spans half a day on each side
    assert str(shape.x0).startswith("2024-01-03T12") and str(shape.x1).startswith("2024-01-04T12")
    lines = figures.unit_lines({"NumPy": rng.normal(size=(12, 2))}, [0, 1], "l", highlight=2, time_values=dates)
    assert str(lines.data[0].x[0])[:10] == "2024-01-01" and str(lines.layout.shapes[0].x0).startswith("2024-01-03")
    with pytest.raises(ValueError, match="11 entries for 12 steps"):
        figures.states_heatmap(rng.normal(size=(12, 3)), "h", time_values=dates[:11])


def test_time_values_with_aggregation_and_a_zoom_offset(rng):
    years = np.arange(10_000) + 1000.0
    states = rng.normal(size=(10_000, 2))
    fig = figures.states_heatmap(states, "h", time_values=years, highlight=105, step_offset=100)
    assert len(fig.data[0].x) <= figures.MAX_COLUMNS and fig.data[0].x[1] == 1005.0   # bucket starts, 5 steps each
    assert any("aggregated" in a.text for a in fig.layout.annotations)
    assert (fig.layout.shapes[0].x0, fig.layout.shapes[0].x1) == (1004.5, 1005.5)      # step 105 is row 5
    lines = figures.unit_lines({"NumPy": states}, [0], "l", time_values=years)
    assert lines.data[-1].x[1] == 1005.0 and lines.data[0].fill is None and lines.data[1].fill == "tonexty"
