"""The Training page's figure builders, without Streamlit: the data drawn is the data given."""

import numpy as np
import pytest

from explorer import palette as P
from explorer import training_figures as tf


def test_thin_keeps_short_series_and_the_last_point_of_long_ones():
    steps, values = tf.thin([3.0, 2.0, 1.0])
    assert steps.tolist() == [1, 2, 3] and values.tolist() == [3.0, 2.0, 1.0]
    steps, values = tf.thin(np.arange(5000.0), max_points=1000)
    assert len(steps) <= 1001
    assert steps[0] == 1 and steps[-1] == 5000 and values[-1] == 4999.0
    np.testing.assert_array_equal(values, steps - 1)          # each kept value stays at its own step


def test_loss_curve_numpy_and_keras_on_one_plot():
    fig = tf.loss_curve([2.0, 1.5, 1.0], [2.0, 1.5, 1.01], "mse", chance=2.2, total_steps=10)
    assert [t.name for t in fig.data] == ["NumPy", "Keras train_on_batch"]
    np.testing.assert_array_equal(fig.data[0].y, [2.0, 1.5, 1.0])
    np.testing.assert_array_equal(fig.data[1].y, [2.0, 1.5, 1.01])
    np.testing.assert_array_equal(fig.data[0].x, [1, 2, 3])
    assert fig.layout.title.text.startswith("Loss per step")
    assert fig.layout.shapes[0].y0 == 2.2                      # the constant-guess line
    assert tuple(fig.layout.xaxis.range) == (0, 10)            # the axis spans the whole run while it fills


def test_loss_curve_without_keras_has_one_trace():
    assert len(tf.loss_curve([1.0, 0.5]).data) == 1
    assert len(tf.loss_curve([1.0, 0.5], []).data) == 1        # Keras on but not compiled yet


def test_accuracy_curve_draws_missing_values_as_gaps():
    fig = tf.accuracy_curve([0.1, None, 0.9])
    y = np.asarray(fig.data[0].y, float)
    assert y[0] == 0.1 and np.isnan(y[1]) and y[2] == 0.9


def test_grad_norm_curve_before_and_after_clipping_on_a_log_axis():
    fig = tf.grad_norm_curve([5.0, 3.0], [1.0, 1.0], clip=1.0)
    assert [t.name for t in fig.data] == ["before clipping", "after clipping (used)"]
    np.testing.assert_array_equal(fig.data[0].y, [5.0, 3.0])
    np.testing.assert_array_equal(fig.data[1].y, [1.0, 1.0])
    assert fig.layout.yaxis.type == "log"


def test_reach_heatmap_rows_are_epochs_columns_are_steps_log10():
    norms = [np.array([1e-3, 1e-2, 1.0]), np.array([1e-1, 1.0, 10.0])]
    fig = tf.reach_heatmap([0, 5], norms)
    z = np.asarray(fig.data[0].z)
    np.testing.assert_allclose(z, [[-3, -2, 0], [-1, 0, 1]])
    assert list(fig.data[0].y) == ["0", "5"] and list(fig.data[0].x) == [0, 1, 2]     # steps from 0, as on every page


def test_reach_heatmap_survives_zero_gradients():
    z = np.asarray(tf.reach_heatmap([0], [np.zeros(4)]).data[0].z)
    assert np.all(np.isfinite(z))


@pytest.mark.parametrize("what", ["accuracy", "loss"])
def test_compare_curves_one_line_per_cell_in_the_cell_colours(what):
    curves = {"SimpleRNN": [0.1, 0.2], "LSTM": [0.1, 0.6], "GRU": [0.2, 0.7]}
    fig = tf.compare_curves(curves, what, lag=10, chance=0.125)
    assert [t.name for t in fig.data] == list(curves)
    assert [t.line.color for t in fig.data] == [P.CELL_COLORS[c] for c in ("SimpleRNN", "LSTM", "GRU")]
    np.testing.assert_array_equal(fig.data[1].y, [0.1, 0.6])
    assert "lag k=10" in fig.layout.title.text
