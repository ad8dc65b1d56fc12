"""Profiles of one row of bench/browser_timing.py: the server's script thread (cProfile) and the browser's main
thread (Chromium's sampling profiler over CDP), each redoing the row's action."""

from __future__ import annotations

import io
import pstats
from collections import Counter

from bench import browser_controls as controls
from bench.browser_session import Session

# The watcher's own functions (bench/browser_watcher.js): its share of the browser's time is this benchmark's cost.
WATCHER_FUNCTIONS = {"tick", "scan", "signature", "sampled", "replacer", "idOf", "received", "finishedStatus",
                     "onInput", "ready", "result", "changed"}


def _go_to_start(session: Session, row: dict) -> tuple[controls.Control | None, str] | None:
    """The row's control (None: navigate) and page; the session is left where the action starts.
    None: a navigate row when only its own page was measured (no page to come from)."""
    page_path = "" if row["page"] == "home" else row["page"]
    control = None if row["control"] == "navigate" else controls.control_named(row["control"])
    if control is None:                              # navigate from another page
        other = next((p for p in session.pages_learnt() if p != page_path), None)
        if other is None:
            return None
        if session.current != other:
            session.measure(None, 0, other, cold=False)
    elif session.current != page_path:
        session.measure(None, 0, page_path, cold=False)
    if control is not None and control.view:
        session.open_view(control.view)
    return control, page_path


def server_profile(session: Session, row: dict, top: int = 15) -> str:
    """Redo the row's first action with cProfile on in the server's script thread; the top cumulative entries."""
    if session.server is None:
        return "  (no server profile: --url server)"
    start = _go_to_start(session, row)
    if start is None:
        return "  (no server profile: no other page to navigate from)"
    control, page_path = start
    with session.server.profiling() as files:
        sample = session.measure(control, 0, page_path, cold=False)
    if control is not None:
        for step in range(1, len(control.cycle)):    # back to where the cycle started (not profiled)
            session.measure(control, step, page_path, cold=False)
    if not files:
        return "  (no profile written)"
    out = io.StringIO()
    pstats.Stats(*map(str, files), stream=out).sort_stats("cumulative").print_stats(top)
    text = [line for line in out.getvalue().splitlines() if line.strip() and "Ordered by" not in line
            and "function calls" not in line and ".prof" not in line]
    return (f"  one action under cProfile: {sample.seconds:.2f} s in the browser, server part "
            f"{sample.server_part_s or 0:.2f} s ({len(files)} run(s); cProfile slows the script)\n"
            + "\n".join("    " + line for line in text))


def cpu_profile(session: Session, row: dict, actions: int = 2) -> str:
    """Redo ``actions`` actions of the row (a control) under Chromium's sampling profiler: where the renderer's main
    thread spends each wait (the samples between the input and the end of the wait), by script and function.
    ``(program)`` is the browser's own work outside JavaScript (style, layout, paint)."""
    start = _go_to_start(session, row)
    if start is None or start[0] is None:
        return "  (no CPU profile for navigate rows)"
    control, page_path = start
    cdp = session.page.context.new_cdp_session(session.page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 500})
    by_file: Counter = Counter()
    by_function: Counter = Counter()
    waited = 0.0
    done = 0
    try:
        while done < actions:
            for step in range(len(control.cycle)):
                cdp.send("Profiler.start")
                started = session.page.evaluate("performance.now()")    # just after the profile's start
                sample = session.measure(control, step, page_path, cold=False)
                stopped = session.page.evaluate("performance.now()")    # just before its end
                profile = cdp.send("Profiler.stop")["profile"]
                if done >= actions:
                    continue                         # finish the cycle, unprofiled
                done += 1
                waited += sample.seconds
                # the profile's clock (microseconds) -> the page's (ms): the mean of the two bracketing offsets
                offset = (started - profile["startTime"] / 1e3 + stopped - profile["endTime"] / 1e3) / 2
                _attribute(profile, offset, sample, by_file, by_function)
    finally:
        cdp.send("Profiler.disable")
        cdp.detach()
    busy = sum(by_file.values()) - by_file.get("(idle)", 0.0)
    files = ", ".join(f"{k} {v / done:.0f}" for k, v in by_file.most_common(8))
    functions = ", ".join(f"{k} {v / done:.0f}" for k, v in by_function.most_common(10))
    return (f"  main thread per action ({done} actions, {waited / done:.2f} s wait): {busy / done:.0f} ms busy\n"
            f"  by file (ms): {files}\n  by function (ms): {functions}")


def _attribute(profile: dict, offset: float, sample, by_file: Counter, by_function: Counter) -> None:
    """Add the profile's samples inside the wait (the input -> ``sample.seconds`` later) to the counters, in ms.
    ``offset``: page time (ms) = profile time (us) / 1000 + offset."""
    nodes = {n["id"]: n["callFrame"] for n in profile["nodes"]}
    parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", ())}

    def file_of(node):
        """The script whose code is running: native calls (DOM, layout) count for their caller."""
        first = nodes[node]
        while node in nodes:
            frame = nodes[node]
            if frame["functionName"] in WATCHER_FUNCTIONS and not frame["url"]:
                return "(this benchmark's watcher)"
            if frame["url"]:
                return frame["url"].rsplit("/", 1)[-1].split("?")[0]
            node = parent.get(node)
        return first["functionName"] or "(native)"     # (program), (idle), (garbage collector)

    start, end = sample.timeline["input_page_ms"], sample.timeline["input_page_ms"] + sample.seconds * 1e3
    t = profile["startTime"] / 1e3 + offset
    for node, dt in zip(profile["samples"], profile["timeDeltas"]):
        t += dt / 1e3                                  # this sample's time; it stands for the interval before it
        ms = min(t, end) - max(t - dt / 1e3, start)    # that interval's part inside the wait
        if ms <= 0:
            continue
        where = file_of(node)
        by_file[where] += ms
        by_function[f"{nodes[node]['functionName'] or '(anonymous)'} [{where}]"] += ms
