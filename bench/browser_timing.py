"""What a visitor waits for after each click, in headless Chromium (Debian's /usr/bin/chromium), and where it goes.

    python -m bench.browser_timing                       # every page, both configurations (20-40 min)
    python -m bench.browser_timing --quick               # 1 repeat, 4 controls, 1 first visit per page
    python -m bench.browser_timing --pages hidden-states gradient-flow --repeats 5 --preset tutorial
    python -m bench.browser_timing --json out.json --markdown out.md --profile 2

The app runs on a free loopback port through bench/timed_server.py (each script run, each rerun request and each
script_finished sent is logged on the server); ``--url`` uses a running app instead (the server columns are then
empty). One Chromium page (one Streamlit session, bench/browser_session.py) does, at the default configuration and
at the sidebar's preset "Tutorial RNNLayer" (128 units):

* for each page of app.py's ``PAGES``, reached through the sidebar's links (timed too: control ``navigate``), each
  control of bench/browser_controls.py that the page shows: the sidebar's flags, the cell switch, the recurrent
  weight scale, the pages' own pickers, each through a whole cycle (on, off) that brings it back;
* in rounds: round 0 learns which charts each action changes, and to what (its times are the ``cold`` column: the
  first time this server computes each configuration); rounds 1..repeats are measured, each visiting every page
  in turn, so repeated clicks of one control are interleaved with everything else;
* each page's first visit on the warm server, from navigation start until every chart is drawn: in a new browser
  context (a new session, an empty browser cache: "first page") and in a new page of the session's context (a new
  session, the app's files cached: "first page (cached)").

A wait runs from the input event to the run settled AND every chart the action changes holding its new data
(bench/browser_watcher.js). Per row: n, median, p95, the server's part (rerun request in -> script_finished out,
which includes Streamlit's post-run gc.collect(2) and keras.backend.clear_session()), the script runs and that
post-run work apart, the browser's share, messages, bytes, long tasks, plotly redraws, and the targets
(bench/browser_report.TARGETS) PASS/FAIL. Then the slowest rows broken down (timeline, messages by kind, what each
chart draws), and for the ``--profile N`` slowest rows the server's cProfile and the browser's CPU profile of one
more action. The load average is printed before and after: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from bench import browser_controls as controls
from bench import browser_profiles, browser_report
from bench.browser_sample import Sample
from bench.browser_session import VIEWPORT, Session, first_visit
from bench.timed_server import ROOT, TimedServer

TUTORIAL_PRESET = "Tutorial RNNLayer (128 units, 39 classes)"


def run_config(session: Session, pages: list[str], chosen: list[controls.Control], repeats: int,
               checkpoint=None) -> list[Sample]:
    """Rounds over the pages: the page's link, then each present control's whole cycle; round 0 learns (cold).
    ``checkpoint(samples)`` after each round (an interrupted run keeps its results)."""
    samples: list[Sample] = []
    for r in range(repeats + 1):
        for path in pages:
            samples.append(session.measure(None, 0, path, cold=r == 0))
            for control in chosen:
                if control.pages and path not in control.pages:
                    continue
                before = session.open_view(control.view) if control.view else None     # its tab, not timed
                if session.present(control):
                    for step in range(len(control.cycle)):
                        s = session.measure(control, step, path, cold=r == 0)
                        samples.append(s)
                        if s.exception:
                            print(f"  ! exception on {s.page} after {s.control}: {s.exception_text[:200]!r}",
                                  flush=True)
                if before is not None and before != control.view:
                    session.open_view(before)             # the page's view as the other controls find it
        done = [s.seconds for s in samples if not s.cold]
        print(f"[{session.config}] round {r}{' (learning, cold)' if r == 0 else ''} done: {len(samples)} actions, "
              f"load average {os.getloadavg()[0]:.2f}"
              + (f", median so far {statistics.median(done):.2f} s" if done else ""), flush=True)
        if checkpoint is not None:
            checkpoint(samples)
    return samples


def first_visits(session: Session, browser, pages: list[str], visits: int) -> tuple[list[Sample], dict]:
    """Each page's first visit, ``visits`` times, at the session's configuration (its URL's query): with an empty
    browser cache, and in a new page of the session's context (its cache holds the app's files); and what each page
    draws in it (chart stats, from the session)."""
    query = "?" + session.page.url.split("?", 1)[1] if "?" in session.page.url else ""
    stats = {}
    for path in pages:
        if session.current != path:
            session.measure(None, 0, path, cold=False)
        stats[path] = session.chart_stats()
    samples = [first_visit(browser, session.base_url, path, query, len(stats[path]), session.server, session.config,
                           cached_in=context)
               for _ in range(visits) for path in pages for context in (None, session.page.context)]
    return samples, {f"{session.config}/{path or 'home'}": s for path, s in stats.items()}


def report(samples: list[Sample], details: dict, session: Session, configs: list[str], profile: int) -> list[dict]:
    """Print the table, the slowest rows broken down, the doubtful samples; profile the slowest rows."""
    rows = browser_report.rows_of(samples)
    print("\n" + browser_report.table(rows) + "\n")
    for config in configs:
        print(f"### {config}\n\n" + browser_report.matrix(rows, config) + "\n")
    print("## The slowest rows\n" + browser_report.slowest(samples, rows, details["chart_stats"]))
    slowest = sorted((r for r in rows if not r["control"].startswith("first page")), key=lambda r: -r["median"])
    doubtful = browser_report.checks(samples)
    print(f"\n## Doubtful samples: {len(doubtful)}" + "".join(f"\n- {d}" for d in doubtful[:30]))
    mine = [r for r in slowest if r["config"] == session.config]        # the session's configuration
    for r in mine[:profile]:
        where = f"{r['config']}/{r['page']}/{r['control']}"
        details["profiles"][where] = browser_profiles.server_profile(session, r)
        print(f"## Server profile: {where}\n{details['profiles'][where]}")
    for r in [r for r in mine if r["control"] != "navigate"][:profile]:
        where = f"{r['config']}/{r['page']}/{r['control']}"
        details["cpu_profiles"][where] = browser_profiles.cpu_profile(session, r)
        print(f"## Browser CPU profile: {where}\n{details['cpu_profiles'][where]}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", nargs="*", help="URL paths (e.g. hidden-states; home for the default page); "
                                                   "default: every page of app.py")
    parser.add_argument("--controls", nargs="*", help="widget keys (default: every control that exists)")
    parser.add_argument("--repeats", type=int, default=3, help="measured cycles per control (after the learning one)")
    parser.add_argument("--preset", choices=["default", "tutorial", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="1 repeat, a few controls, 1 first visit per page")
    parser.add_argument("--url", help="a running app (no server-side timing)")
    parser.add_argument("--json", type=Path, help="write every sample and row here")
    parser.add_argument("--markdown", type=Path, help="write the docs' tables (one per configuration) here")
    parser.add_argument("--profile", type=int, default=1, help="profile the N slowest rows once (0: none)")
    parser.add_argument("--visits", type=int, default=None, help="first visits per page (default: max(repeats, 3))")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="a Streamlit option for the server, e.g. runner.postScriptGC=true (to compare)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "tests"))
    from browser_support import CHROMIUM_ARGS, ensure_chromium

    repeats = 1 if args.quick else args.repeats
    visits = args.visits if args.visits is not None else (1 if args.quick else max(repeats, 3))
    all_pages = [p for p, _file in controls.app_pages()]
    pages = all_pages if not args.pages else [("" if p in ("home", "/") else p.strip("/")) for p in args.pages]
    if set(pages) - set(all_pages):
        parser.error(f"unknown pages {sorted(set(pages) - set(all_pages))}; app.py has {all_pages}")
    names = args.controls or (controls.QUICK_CONTROLS if args.quick else [c.name for c in controls.CONTROLS])
    chosen = [c for c in controls.CONTROLS if c.name in names]
    configs = ["default", "tutorial"] if args.preset == "both" else [args.preset]

    load_before = os.getloadavg()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in load_before)} ({os.cpu_count()} CPUs)", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="browser-timing-"))
    server = None if args.url else TimedServer(workdir, args.option)
    if args.option:
        print(f"server options: {args.option}")
    samples: list[Sample] = []
    details: dict = {"chart_stats": {}, "profiles": {}, "cpu_profiles": {}, "load_before": load_before,
                     "command": " ".join(sys.argv[1:])}
    rows: list[dict] = []

    def save(done: list[Sample]) -> None:
        if args.json:
            records = [asdict(s) | {"server_part_s": s.server_part_s, "after_run_s": s.after_run_s} for s in done]
            args.json.write_text(json.dumps({"load_average": os.getloadavg(), "rows": browser_report.rows_of(done),
                                             "samples": records, **details}, indent=1, default=str))

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=ensure_chromium(), args=CHROMIUM_ARGS)
            context = browser.new_context(viewport=VIEWPORT)
            session = Session.open(context, args.url.rstrip("/") if args.url else server.url, server)
            for config in configs:
                session.config = config
                if config == "tutorial":
                    session.choose_preset(TUTORIAL_PRESET)
                start, before = time.perf_counter(), list(samples)
                samples += run_config(session, pages, chosen, repeats, checkpoint=lambda part: save(before + part))
                visited, stats = first_visits(session, browser, pages, visits)
                samples += visited
                details["chart_stats"].update(stats)
                save(samples)
                print(f"[{config}] measured in {time.perf_counter() - start:.0f} s; load average "
                      f"{os.getloadavg()[0]:.2f}", flush=True)
            rows = report(samples, details, session, configs, args.profile)
            context.close()
            browser.close()
    finally:
        if server is not None:
            server.stop()
    details["load_after"] = os.getloadavg()
    print(f"\nload average after: {' '.join(f'{v:.2f}' for v in details['load_after'])}")
    if args.json:
        save(samples)
        print(f"wrote {args.json}")
    if args.markdown and rows:
        args.markdown.write_text("\n\n".join(f"### {c}\n\n" + browser_report.matrix(rows, c) for c in configs) + "\n")
        print(f"wrote {args.markdown}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
