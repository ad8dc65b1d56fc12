"""bench/browser_timing.py's report: rows per (configuration, page, control), the targets, where the time goes."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict

from bench.browser_controls import CONTROLS, kind_of
from bench.browser_sample import Sample

# Issue #24's targets (seconds): (median, p95) per kind of control and configuration; None = no target.
TARGETS = {("flag", "default"): (0.5, 1.0), ("flag", "tutorial"): (0.5, 1.5),
           ("sidebar", "default"): (0.5, 1.0), ("sidebar", "tutorial"): (0.5, 1.5),
           ("picker", "default"): (0.2, None), ("picker", "tutorial"): (0.2, None),
           ("first page", "default"): (2.0, None), ("first page", "tutorial"): (2.0, None),
           ("first page (cached)", "default"): (2.0, None), ("first page (cached)", "tutorial"): (2.0, None)}


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank): with fewer than 20 values, the largest."""
    s = sorted(values)
    return s[min(len(s) - 1, math.ceil(0.95 * len(s)) - 1)]


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def rows_of(samples: list[Sample]) -> list[dict]:
    """One row per (config, page, control) of the measured (not cold) samples, sorted."""
    groups: dict[tuple, list[Sample]] = defaultdict(list)
    cold: dict[tuple, list[Sample]] = defaultdict(list)
    for s in samples:
        (cold if s.cold else groups)[(s.config, s.page, s.control)].append(s)
    rows = []
    for key, group in groups.items():
        config, page, control = key
        t = [s.seconds for s in group]
        med, high = statistics.median(t), p95(t)
        target = TARGETS.get((kind_of(control), config))
        verdict = "—"
        if target:
            verdict = "PASS" if med <= target[0] and (target[1] is None or high <= target[1]) else "FAIL"
        rows.append({
            "config": config, "page": page, "control": control, "kind": kind_of(control), "n": len(t),
            "median": med, "p95": high, "target": target, "verdict": verdict,
            "server_median": _median(s.server_part_s for s in group),
            "server_run_median": _median(s.server_s for s in group),
            "page_run_median": _median(s.page_run_s for s in group),
            "after_run_median": _median(s.after_run_s for s in group),
            "browser_share": _median(1 - min(s.server_part_s / s.seconds, 1.0) for s in group
                                     if s.server_part_s is not None and s.seconds > 0),
            "cold": _median(s.seconds for s in cold.get(key, [])),
            "signal_missed": sum(not s.chart_signal for s in group),
            "late_draws": sum(len(s.late_draws) for s in group),
            "msgs": statistics.median(s.msgs for s in group), "kbytes": statistics.median(s.bytes for s in group) / 1e3,
            "longtask_ms": statistics.median(s.longtask_ms for s in group),
            "charts_changed": max(len(s.charts_changed) for s in group),
            "afterplot": statistics.median(s.afterplot for s in group),
            "load": statistics.median(s.load for s in group)})
    rows.sort(key=lambda r: (r["config"], r["page"], r["control"]))
    return rows


def fmt(v, d: int = 2) -> str:
    """A number of seconds for a table; — for none."""
    return "—" if v is None else f"{v:.{d}f}"


def _target(row: dict) -> str:
    if not row["target"]:
        return "—"
    median, high = row["target"]
    return f"≤{median}" + (f"/{high}" if high else "")


def table(rows: list[dict]) -> str:
    """Every row, every column (the benchmark's own output)."""
    lines = ["| config | page | control | n | median s | p95 s | server part s | runs / after-run s | browser share "
             "| cold s | msgs | kB | long tasks ms | charts changed | plotly redraws | target | |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        missed = f" (missed {r['signal_missed']})" if r["signal_missed"] else ""
        share = "—" if r["browser_share"] is None else format(r["browser_share"], ".0%")
        lines.append(f"| {r['config']} | {r['page']} | {r['control']} | {r['n']} | {fmt(r['median'])} "
                     f"| {fmt(r['p95'])} | {fmt(r['server_median'])} | {fmt(r['server_run_median'])} / "
                     f"{fmt(r['after_run_median'])} "
                     f"| {share} | {fmt(r['cold'])} | {r['msgs']:.0f} | {r['kbytes']:.0f} | {r['longtask_ms']:.0f} "
                     f"| {r['charts_changed']}{missed} | {r['afterplot']:.0f} | {_target(r)} | {r['verdict']} |")
    return "\n".join(lines)


def matrix(rows: list[dict], config: str) -> str:
    """The docs' table for one configuration: a row per page, a column per control; each cell
    "median / p95 (server part)" in seconds, with ✗ where a target is missed."""
    rows = [r for r in rows if r["config"] == config]
    order = [c.name for c in CONTROLS] + ["navigate", "first page", "first page (cached)"]
    controls = sorted({r["control"] for r in rows}, key=order.index)
    pages = list(dict.fromkeys(r["page"] for r in rows))
    by = {(r["page"], r["control"]): r for r in rows}
    lines = ["| page | " + " | ".join(controls) + " |", "|---|" + "---|" * len(controls)]
    for page in pages:
        cells = []
        for c in controls:
            r = by.get((page, c))
            if r is None:
                cells.append("")
                continue
            mark = " ✗" if r["verdict"] == "FAIL" else ""
            cells.append(f"{r['median']:.2f} / {r['p95']:.2f} ({fmt(r['server_median'])}){mark}")
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def breakdown(samples: list[Sample], row: dict) -> str:
    """Where the time of one row goes: the median timeline, the messages by kind, long tasks, redraws."""
    group = [s for s in samples if not s.cold and (s.config, s.page, s.control) == (row["config"], row["page"],
                                                                                     row["control"])]
    if not group:
        return "  (no samples)"
    n = len(group)
    kinds: Counter = Counter()
    sizes: Counter = Counter()
    for s in group:
        for k, (count, size) in s.kinds.items():
            kinds[k] += count
            sizes[k] += size
    top = ", ".join(f"{k} {kinds[k] / n:.0f}×/{sizes[k] / n / 1e3:.0f} kB" for k, _size in sizes.most_common(6))
    events = ("send", "server_request", "server_run_start", "firstMsg", "server_run_end", "server_finished_queued",
              "server_finished_sent",
              "finish", "lastMsg", "settled", "chartsAt", "end", "post_run_gc_ms", "keras_clear_session_ms")
    timeline = ", ".join(f"{k} {_median(s.timeline.get(k) for s in group):.0f}" for k in events
                         if _median(s.timeline.get(k) for s in group) is not None)
    return (f"  timeline (ms after the input, medians): {timeline}\n"
            f"  messages per action: {statistics.median(s.msgs for s in group):.0f}, "
            f"{statistics.median(s.bytes for s in group) / 1e3:.0f} kB: {top}\n"
            f"  long tasks in the wait: {statistics.median(s.longtasks for s in group):.0f}, "
            f"{statistics.median(s.longtask_ms for s in group):.0f} ms; plotly redraws: "
            f"{statistics.median(s.afterplot for s in group):.0f} of {group[0].charts_present} charts "
            f"({', '.join(sorted(set().union(*(s.redrawn for s in group))))}); charts with new data: "
            f"{max(len(s.charts_changed) for s in group)}")


def chart_summary(stats: list[dict]) -> str:
    return "; ".join(f"{c['id']}: {c['type']}, {c['traces']} traces, {c['points']} points, "
                     f"{c['annotations']} annotations, {c['shapes']} shapes" for c in stats)


def checks(samples: list[Sample]) -> list[str]:
    """What makes a measurement doubtful: charts that never reached their data, redraws after a wait ended,
    exceptions on the page."""
    out = []
    for s in samples:
        where = f"{s.config} / {s.page} / {s.control} step {s.step}{' (cold)' if s.cold else ''}"
        if s.missing:
            out.append(f"{where}: charts that never changed: {s.missing}")
        if s.inexact:
            out.append(f"{where}: charts whose data differ from the learnt ones (any change accepted): {s.inexact}")
        if s.late_draws:
            out.append(f"{where}: target charts redrawn after the wait ended [chart, ms]: {s.late_draws}")
        if s.exception:
            out.append(f"{where}: exception: {s.exception_text[:200]!r}")
    return out


def slowest(samples: list[Sample], rows: list[dict], chart_stats: dict, actions: int = 6, firsts: int = 3) -> str:
    """The slowest action rows and first visits, each broken down, with what the page's charts draw."""
    first = [r for r in rows if r["control"].startswith("first page")]
    out = []
    for r in (sorted((r for r in rows if r not in first), key=lambda r: -r["median"])[:actions]
              + sorted(first, key=lambda r: -r["median"])[:firsts]):
        out.append(f"- {r['config']} / {r['page']} / {r['control']}: median {r['median']:.2f} s, server part "
                   f"{fmt(r['server_median'])} s (runs {fmt(r['server_run_median'])}, after-run "
                   f"{fmt(r['after_run_median'])})\n" + breakdown(samples, r))
        if chart_stats.get(f"{r['config']}/{r['page']}"):
            out.append("  charts: " + chart_summary(chart_stats[f"{r['config']}/{r['page']}"]))
        if r["control"] == "first page":
            group = [s for s in samples if (s.config, s.page, s.control) == (r["config"], r["page"], r["control"])]
            out.append(f"  slowest resources [file, start ms, ms, bytes]: {group[0].timeline.get('slowest_resources')}")
    return "\n".join(out)
