"""Figure builders, without Streamlit: data, scales and labels a user relies on."""

import numpy as np
import plotly.graph_objects as go

from explorer import figures


def test_states_heatmap_is_diverging_and_centred(rng):
    fig = figures.states_heatmap(rng.normal(size=(12, 4)), "h", highlight=3)
    heat = fig.data[0]
    assert isinstance(fig, go.Figure) and heat.zmid == 0 and heat.zmin == -heat.zmax
    assert np.asarray(heat.z).shape == (4, 12)
    assert fig.layout.xaxis.title.text == "time step t" and fig.layout.yaxis.title.text == "unit"
    assert len(fig.layout.shapes) == 1                     # the highlighted step


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
    assert "h<sub>0</sub> (B, 4)" in texts and "x<sub>0</sub> (B, 3)" in texts and "state<br>(B, 4)" in texts
    one = figures.unrolled_diagram(5, 3, 4, return_sequences=False, return_state=False, go_backwards=True)
    texts = [a.text for a in one.layout.annotations]
    assert "h<sub>0</sub> not returned" in texts and "h<sub>4</sub> (B, 4)" in texts
    assert "x<sub>4</sub> (B, 3)" in texts                 # go_backwards: cell 0 reads the last input


def test_gradient_norms_log_axis_and_overflow_markers():
    values = np.array([1e-3, 1e-2, np.inf, 1.0])
    fig = figures.gradient_norms({"NumPy": values, "Keras": values}, "norms")
    assert fig.layout.yaxis.type == "log"
    names = [t.name for t in fig.data]
    assert "NumPy: inf/nan" in names and "Keras" in names
    assert fig.data[0].line.color == figures.NUMPY_COLOR and fig.data[2].line.color == figures.KERAS_COLOR


def test_parity_bars_colour_by_tolerance():
    fig = figures.parity_bars([("a", 1e-8, 1e-5), ("b", 1e-3, 1e-5)])
    assert list(fig.data[0].marker.color) == ["#2e9d4f", "#d62728"]


def test_aggregated_lines_draw_the_min_max_band(rng):
    states = rng.normal(size=(10_000, 2))
    fig = figures.unit_lines({"NumPy": states}, [0], "lines")
    band_hi, band_lo, mean = fig.data
    assert band_lo.fill == "tonexty" and len(mean.x) <= figures.MAX_COLUMNS
    np.testing.assert_allclose(band_hi.y[0], states[:5, 0].max())
    np.testing.assert_allclose(band_lo.y[0], states[:5, 0].min())
    np.testing.assert_allclose(mean.y[0], states[:5, 0].mean())
    assert len(figures.unit_lines({"NumPy": states[:50]}, [0], "raw").data) == 1   # no band when not aggregated
