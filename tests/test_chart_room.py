"""explorer/chart_room.py: each figure's margins hold its axis titles, colour bars and legends, so plotly.js draws
it once. The browser check (plotly's own margins equal to the figure's) is tests/test_browser_chart_room.py."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from explorer import chart_room, figures, i18n, inside_figures
from explorer.chart_room import make_room, needed_margins, text_width


def margins(fig: go.Figure) -> dict[str, int]:
    m = fig.layout.margin
    return {"l": m.l, "r": m.r, "t": m.t, "b": m.b}


def test_a_colour_bar_gets_room_at_the_right_and_a_long_title_more():
    short = make_room(go.Figure(go.Heatmap(z=[[0, 1]], colorbar=dict(title=dict(text="h"))),
                                layout=dict(margin=dict(r=20))))
    long = make_room(go.Figure(go.Heatmap(z=[[0, 1]], colorbar=dict(title=dict(text="log10 ||dh_t/dh_k||")))))
    assert short.layout.margin.r == chart_room.COLORBAR_RIGHT
    assert long.layout.margin.r > short.layout.margin.r
    hidden = make_room(go.Figure(go.Heatmap(z=[[0, 1]], showscale=False), layout=dict(margin=dict(r=20))))
    assert hidden.layout.margin.r == 20                      # no colour bar shown: no room taken


def test_a_vertical_legend_takes_its_longest_name_and_hangul_counts_double():
    def legend(names):
        return go.Figure([go.Scatter(y=[0, 1], name=n) for n in names])

    latin, hangul = needed_margins(legend(["unit 0", "unit 10 (NumPy)"])), needed_margins(legend(["유닛 0", "유닛 10"]))
    assert latin["r"] == chart_room.LEGEND_RIGHT + np.ceil(chart_room.CHAR_PX * len("unit 10 (NumPy)"))
    assert hangul["r"] == chart_room.LEGEND_RIGHT + np.ceil(chart_room.CHAR_PX * text_width("유닛 10"))
    assert text_width("유닛 10") == 7
    assert needed_margins(legend(["only one"]))["r"] == 0     # one trace: plotly shows no legend


def test_a_legend_below_the_plot_takes_more_room_the_more_rows_it_wraps_into():
    def below(n):
        fig = go.Figure([go.Scatter(y=[0, 1], name=f"fixed point {i} (unstable)") for i in range(n)])
        return needed_margins(fig.update_layout(height=400, margin=dict(t=50), legend=dict(orientation="h", y=-0.2)))

    one, many = below(2), below(12)
    assert 0 < one["b"] < many["b"] and one["r"] == many["r"] == 0


def test_category_names_and_a_right_axis_take_their_room():
    bars = go.Figure(go.Bar(x=[1, 2], y=["kernel", "recurrent_kernel (U)"], orientation="h"))
    assert needed_margins(bars)["l"] == chart_room.CATEGORY_LEFT + np.ceil(chart_room.CHAR_PX * 20)
    twin = go.Figure(go.Scatter(y=[0, 1])).update_layout(yaxis2=dict(title=dict(text="depth"), side="right",
                                                                       overlaying="y"))
    assert needed_margins(twin)["r"] == chart_room.AXIS_LEFT


def test_make_room_only_raises_and_leaves_a_figure_with_room_untouched():
    wide = go.Figure(go.Heatmap(z=[[0, 1]]), layout=dict(margin=dict(l=300, r=300, t=10, b=300)))
    assert margins(make_room(wide)) == {"l": 300, "r": 300, "t": 10, "b": 300}
    fig = make_room(go.Figure(go.Heatmap(z=[[0, 1]]), layout=dict(xaxis_title="t", yaxis_title="unit")))
    before = fig.to_plotly_json()
    assert make_room(fig).to_plotly_json() == before           # idempotent
    assert all(margins(fig)[k] >= v for k, v in needed_margins(fig).items())


@pytest.mark.parametrize("language", ["en", "ko"])
def test_every_cached_figure_comes_with_its_room(language):
    rng = np.random.default_rng(0)
    states = np.tanh(rng.normal(size=(50, 128))).astype(np.float32)
    with i18n.use_language(language):
        built = [
            figures.states_heatmap(states, "h"),
            figures.unit_lines({"NumPy": states, "Keras": states}, [0, 1, 2, 3], "units"),
            figures.gradient_norms({"NumPy": np.abs(states[:, 0])}, "norms"),
            figures.jacobian_map(np.arange(50), states[:, :50], "exact"),
            figures.step_sigmas(np.abs(states[:, 0]), 1.0, "exact"),
            figures.parity_bars([("kernel", 1e-7, 1e-5), ("recurrent_kernel", 2e-7, 1e-5)]),
            inside_figures.correlation_bars(rng.normal(size=16), "depth"),
        ]
    for fig in built:
        assert all(margins(fig)[k] >= v for k, v in needed_margins(fig).items()), (fig.layout.title.text, margins(fig))
