"""What one measured action records (bench/browser_session.py), and the websocket messages it caused, by kind."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class Sample:
    """One action: a control's step, a sidebar page link (control "navigate") or a first visit ("first page")."""

    config: str                    # "default" or "tutorial"
    page: str                      # URL path; "home" for the default page
    control: str
    step: int
    cold: bool                     # the learning round (first time for this configuration on this server)
    seconds: float                 # input -> run settled and every target chart drawn with its new data
    charts_changed: list[str]      # the target charts (learnt in the first round)
    chart_signal: bool             # every target chart reached its new data (False: see missing)
    server_s: float | None         # whole script runs in the window (bench/timed_server.py; None: no server log)
    page_run_s: float | None       # their page.run() part (explorer/run_log.py)
    runs: int                      # script runs in the window
    timeline: dict                 # ms from the input: browser and server events (browser_session.TIMELINE)
    msgs: int                      # websocket messages received in the wait
    bytes: int
    kinds: dict                    # {message kind: [count, bytes]} (Frames)
    longtask_ms: float             # the browser's long tasks inside the wait
    longtasks: int
    afterplot: int                 # plotly redraws finished inside the wait
    redrawn: list[str]             # the charts plotly redrew (afterplot) or drew as new plot elements
    charts_present: int
    finishes: list[int] = field(default_factory=list)      # script_finished statuses received in the wait
    mounted: list[str] = field(default_factory=list)       # charts drawn as new plot elements (React remounted them)
    missing: list[str] = field(default_factory=list)       # target charts that never changed (gave up)
    inexact: list[str] = field(default_factory=list)       # target charts that changed, but not to the learnt data
    late_draws: list = field(default_factory=list)         # [chart, ms] redraws of a target after the wait ended
    url: str = ""
    exception: bool = False
    exception_text: str = ""
    load: float = field(default_factory=lambda: os.getloadavg()[0])   # 1-minute load average when measured

    @property
    def server_part_s(self) -> float | None:
        """The server's part: the rerun request's arrival -> its script_finished handed to the websocket (the runs,
        and the post-run GC and Keras clean-up while the server sends nothing); the runs alone without events."""
        request, sent = self.timeline.get("server_request"), self.timeline.get("server_finished_sent")
        if request is not None and sent is not None:
            return max(sent - request, 0.0) / 1e3
        return self.server_s

    @property
    def after_run_s(self) -> float | None:
        """Streamlit's work after the runs, holding the GIL: gc.collect(2) and keras.backend.clear_session()."""
        gc_ms, keras_ms = self.timeline.get("post_run_gc_ms"), self.timeline.get("keras_clear_session_ms")
        return None if gc_ms is None else (gc_ms + (keras_ms or 0.0)) / 1e3


class Frames:
    """The websocket payloads a page receives while capturing, classified after the wait (so no CPU is spent on
    them in the page meanwhile) with Streamlit's own protobuf classes."""

    def __init__(self) -> None:
        self.capturing = False
        self.payloads: list[bytes] = []

    def attach(self, page) -> None:
        page.on("websocket", lambda ws: ws.on("framereceived", self._received))

    def _received(self, payload) -> None:
        if self.capturing and isinstance(payload, bytes):
            self.payloads.append(payload)

    def start(self) -> None:
        self.payloads = []
        self.capturing = True

    def stop(self) -> dict[str, list[int]]:
        """{message kind: [count, bytes]}: delta.<element> for new elements, else the ForwardMsg's type."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.capturing = False
        kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for payload in self.payloads:
            msg = ForwardMsg()
            try:
                msg.ParseFromString(payload)
            except Exception:                       # noqa: BLE001 - not a ForwardMsg: counted as such
                kind = "unparsed"
            else:
                kind = msg.WhichOneof("type") or ("ref_hash" if msg.ref_hash else "?")
                if kind == "delta":
                    d = msg.delta.WhichOneof("type")
                    kind = f"delta.{msg.delta.new_element.WhichOneof('type')}" if d == "new_element" else f"delta.{d}"
            kinds[kind][0] += 1
            kinds[kind][1] += len(payload)
        return dict(kinds)
