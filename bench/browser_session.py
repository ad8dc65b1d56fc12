"""One visitor in headless Chromium: do an action, wait until every chart it changes holds its new data, time it.

A ``Session`` is one Playwright page (one Streamlit session) with bench/browser_watcher.js installed. Each action
(a control's step, or a sidebar page link) is timed in the page, from the input event to the later of: the run it
started has settled (script_finished, the app back to ``notRunning``, two frames later) and every *target* chart
holds its target data, dated by the frame that showed it. The targets are learnt the first time the action is done
(the learning round, ``cold``): the page is left to go quiet and each chart whose signature (its layout and traces,
arrays sampled) differs from before is a target, with its final signature. The server's part comes from
bench/timed_server.py's logs over the same wall-clock window.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import browser_controls as controls
from bench.browser_sample import Frames, Sample
from bench.st_signals import FINISHED_STATUS_JS
from bench.timed_server import TimedServer

WATCHER = (Path(__file__).with_name("browser_watcher.js")).read_text(encoding="utf-8").replace(
    "__FINISHED_STATUS__", FINISHED_STATUS_JS)
VIEWPORT = {"width": 1400, "height": 1000}
WAIT_S = 120.0                     # upper bound of one action (a cold Keras build is 5-15 s); never a pace
QUIET_S = 0.8                      # learning round: no chart changed for this long after the run = quiet
GRACE_S = 3.0                      # a chart that changed but not to its learnt data is accepted this long after
GIVE_UP_S = 5.0                    # a target chart still unchanged this long after the run: missing (reported)
TIMELINE = ("send", "firstMsg", "finish", "lastMsg", "settled", "chartsAt", "end")   # browser events, ms from input


def _server_part(server: TimedServer | None, since: float, until: float, epoch0: float) -> dict:
    """Sample fields from the server's logs over [since, until]; epoch0: the input on the wall clock."""
    if server is None:
        return {"server_s": None, "page_run_s": None, "runs": 0, "timeline": {}}
    runs = server.runs(since, until)
    return {"server_s": sum(r["end"] - r["start"] for r in runs),
            "page_run_s": sum(r["end"] - r["start"] for r in server.page_runs(since, until)), "runs": len(runs),
            "timeline": server.timeline(since, until, epoch0)}


@dataclass
class Session:
    """One page of the browser (one Streamlit session) and what has been learnt about the app's charts."""

    page: object
    base_url: str
    server: TimedServer | None = None
    frames: Frames = field(default_factory=Frames)
    targets: dict = field(default_factory=dict)     # (config, page, control, step) -> {chart id: signature}
    config: str = "default"
    current: str | None = None                      # the page shown (URL path)

    @classmethod
    def open(cls, context, base_url: str, server: TimedServer | None = None, path: str = "") -> Session:
        """A new page of ``context`` at ``base_url/path``, once its first run is done and every chart drawn."""
        page = context.new_page()
        page.set_default_timeout(WAIT_S * 1000)
        session = cls(page, base_url, server)
        session.frames.attach(page)
        page.add_init_script(WATCHER)
        page.goto(base_url + "/" + path)
        session.wait_quiet()
        session.current = path.split("?", 1)[0]
        return session

    def wait_quiet(self) -> None:
        self.page.wait_for_function("() => window.__bt.settledAt !== null", timeout=WAIT_S * 1000, polling=50)
        self.page.wait_for_function(f"() => window.__bt.quiet({QUIET_S * 1000})", timeout=WAIT_S * 1000, polling=100)
        self.page.evaluate("window.__bt.stop()")

    def wait_idle(self) -> None:
        """Before an action (not timed): the server done with the previous one's post-run work, and the browser's
        main thread idle, so no action pays for the one before."""
        if self.server is not None:
            self.server.wait_idle()
        self.page.evaluate("() => new Promise(done => requestIdleCallback(done, {timeout: 2000}))")

    def _arm(self) -> None:
        self.page.evaluate("window.__bt.arm()")

    def present(self, control: controls.Control) -> bool:
        return controls.present(self.page, control)

    def measure(self, control: controls.Control | None, step: int, page_path: str, cold: bool) -> Sample:
        """One action (``control`` None: the sidebar's link to ``page_path``), timed; the first time, its targets
        are learnt (the wait then lasts until the page is quiet: such a sample is only a cold time)."""
        name = control.name if control else "navigate"
        key = (self.config, page_path, name, step)
        targets = self.targets.get(key)
        self.wait_idle()
        since = time.time()
        self.frames.start()
        if control is None:
            controls.navigate(self.page, page_path, self._arm)
            self.current = page_path
        else:
            controls.act(self.page, control, step, self._arm)
        if targets is None:                          # learning: the page went quiet; what changed is the target
            self.wait_quiet()
            targets = self.targets[key] = self.page.evaluate("window.__bt.changed()")
            result = self.page.evaluate("t => window.__bt.result(t)", targets) | {"inexact": [], "missing": []}
        else:
            result = self.page.wait_for_function("([t, g, u]) => window.__bt.ready(t, g, u)",
                                                 arg=[targets, GRACE_S * 1000, GIVE_UP_S * 1000],
                                                 timeout=WAIT_S * 1000, polling=50).json_value()
            for chart in result["inexact"]:           # its data vary from run to run: from now on, any change
                targets[chart] = "*"
        kinds = self.frames.stop()
        drawn = [k for k in targets if targets[k] != "<absent>"]
        late = self.page.evaluate("([end, ids]) => window.__bt.drawsAfter(end, ids)", [result["end"], drawn])
        self.page.evaluate("window.__bt.stop()")
        t0 = result["input"]
        if t0 is None:
            raise RuntimeError(f"{key}: no input event was seen")
        if self.server is not None:                  # its post-run work may outlast the wait: logged once done
            self.server.wait_idle()
        server = _server_part(self.server, since - 0.01, time.time(), (result["origin"] + t0) / 1e3)
        timeline = {k: None if result[k] is None else round(result[k] - t0, 1) for k in TIMELINE}
        return Sample(
            config=self.config, page=page_path or "home", control=name, step=step, cold=cold,
            seconds=(result["end"] - t0) / 1e3, charts_changed=sorted(drawn), chart_signal=not result["missing"],
            server_s=server["server_s"], page_run_s=server["page_run_s"], runs=server["runs"],
            timeline=timeline | {"input_page_ms": t0} | server["timeline"], msgs=result["msgs"],
            bytes=result["bytes"], kinds=kinds,
            longtask_ms=round(result["longtaskMs"], 1), longtasks=result["longtasks"], afterplot=result["afterplot"],
            redrawn=result["redrawn"], mounted=result["mounted"], charts_present=result["present"],
            finishes=result["finishes"],
            missing=result["missing"],
            inexact=result["inexact"], late_draws=late, url=self.page.url, exception=result["exception"],
            exception_text=self.page.locator('[data-testid="stException"]').first.inner_text()[:300]
            if result["exception"] else "")

    def open_view(self, label: str) -> str | None:
        """Open the page's tab ``label`` (not timed: a view drawn only while open, so opening it reruns the page);
        returns the label of the tab that was open (None: the page has no tabs)."""
        before = self.page.evaluate("""() => { const t = document.querySelector('[role="tab"][aria-selected="true"]');
                                               return t ? t.innerText.trim() : null; }""")
        if before is not None and before != label:
            self.wait_idle()
            self._arm()
            self.page.get_by_role("tab", name=label, exact=True).click()
            self.wait_quiet()
        return before

    def pages_learnt(self) -> list[str]:
        """The pages (URL paths) this session has done actions on."""
        return sorted({key[1] for key in self.targets})

    def chart_stats(self) -> list[dict]:
        """Each chart's traces, points, annotations and shapes, as the page holds them now."""
        return self.page.evaluate("window.__bt.chartStats()")

    def choose_preset(self, name: str) -> None:
        """The sidebar's preset ``name`` (not timed); returns when the page is quiet again."""
        self.page.locator(".st-key-preset").first.get_by_role("combobox").first.click()
        self._arm()
        self.page.get_by_role("option", name=name, exact=True).click()
        self.wait_quiet()


def measure_control(session: Session, page_path: str, control_name: str, repeats: int = 1,
                    cold_round: bool = True, charts: tuple[str, ...] = ()) -> list[Sample]:
    """One control on one page: a learning round (when ``cold_round``; its samples have cold=True), then
    ``repeats`` cycles. The page is reached through the sidebar first if it is not shown.

    ``charts``: instead of learning, wait at every step for these charts (ids: widget keys) to change."""
    control = controls.control_named(control_name)
    if session.current != page_path:
        session.measure(None, 0, page_path, cold=True)
    if control.view:
        session.open_view(control.view)
    if charts:
        cold_round = False
        for step in range(len(control.cycle)):
            session.targets[(session.config, page_path, control.name, step)] = {c: "*" for c in charts}
    samples = []
    for r in range(repeats + (1 if cold_round else 0)):
        for step in range(len(control.cycle)):
            samples.append(session.measure(control, step, page_path, cold=cold_round and r == 0))
    return samples


def first_visit(browser, base_url: str, path: str, query: str, expected: int, server: TimedServer | None,
                config: str, cached_in=None) -> Sample:
    """``path`` opened in a new context (a new session, an empty browser cache; control "first page"), or with
    ``cached_in`` in a new page of that context (a new session, the app's files in the browser's cache: "first page
    (cached)"): navigation start -> the run settled and every chart drawn (at least ``expected`` of them)."""
    context = cached_in or browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        frames = Frames()
        frames.attach(page)
        page.add_init_script(WATCHER)
        since = time.time()
        frames.start()
        page.goto(base_url + "/" + path + query)
        result = page.wait_for_function("n => window.__bt.complete(n)", arg=expected, timeout=WAIT_S * 1000,
                                        polling=50).json_value()
        kinds = frames.stop()
        resources = page.evaluate("""() => performance.getEntriesByType('resource')
            .map(r => [r.name.split('/').pop().split('?')[0], Math.round(r.startTime), Math.round(r.duration),
                       r.encodedBodySize])
            .sort((a, b) => b[2] - a[2]).slice(0, 4)""")
        server = _server_part(server, since - 0.01, time.time(), result["origin"] / 1e3)
        timeline = {k: None if result[k] is None else round(result[k], 1) for k in ("firstMsg", "finish", "settled",
                                                                                    "end")}
        return Sample(
            config=config, page=path or "home", control="first page" + (" (cached)" if cached_in else ""), step=0,
            cold=False, seconds=result["end"] / 1e3,
            charts_changed=[], chart_signal=result["charts"] >= expected, server_s=server["server_s"],
            page_run_s=server["page_run_s"], runs=server["runs"],
            timeline=timeline | {"slowest_resources": resources} | server["timeline"], msgs=result["msgs"],
            bytes=result["bytes"], kinds=kinds, longtask_ms=round(result["longtaskMs"], 1),
            longtasks=result["longtasks"], afterplot=0, redrawn=[], charts_present=result["charts"],
            url=page.url, exception=result["exception"])
    finally:
        page.close()
        if cached_in is None:
            context.close()
