"""The charts of an AppTest run (explorer/plotly_view.py draws every chart as a Custom Component, which AppTest
lists as an unknown ``bidi_component`` element): each one's key and its figure's JSON as the browser gets it."""

from __future__ import annotations

import json

CHART_COMPONENT = "rnn_explorer_chart"    # explorer.plotly_view.NAME (tests/test_plotly_view.py checks)


class Chart:
    def __init__(self, element):
        self.element = element
        self.key = element.key
        self.spec = json.loads(element.proto.json)["spec"]

    def figure(self) -> dict:
        return json.loads(self.spec)


def is_chart(element) -> bool:
    return getattr(element, "type", None) == "bidi_component" and element.proto.component_name == CHART_COMPONENT


def plotly_charts(at) -> list[Chart]:
    """Every chart the run drew, in page order."""
    return [Chart(e) for e in at.get("bidi_component") if is_chart(e)]
