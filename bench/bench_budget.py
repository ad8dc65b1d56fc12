"""How memory and time of each page's work scale with batch x steps x units (and features), Keras on/off.

    python -m bench.bench_budget            # measure (a few minutes), print a table, fit, compare with rnn_core.budget
    python -m bench.bench_budget --quick    # tiny sizes, to check the script runs

Each (page, Keras on/off) runs in a fresh interpreter: a tiny warm-up visit first (imports, and
TensorFlow when Keras is on), then every size in turn. Peak memory is the process's peak resident set
(VmHWM, reset through /proc/self/clear_refs before each size) minus its resident set before the visit:
what the server would see, TensorFlow's own allocator included. Time is wall-clock for the visit.
The fitted coefficients are what rnn_core/budget.py states; the last column compares with its estimate.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

SIZES = {   # (batch, steps, units, features)
    False: [(1, 1000, 128, 1), (1, 10000, 128, 1), (4, 10000, 64, 1), (2, 5000, 32, 64), (1, 20000, 256, 1),
            (1, 50000, 128, 1)],
    True: [(1, 200, 32, 1), (1, 1000, 128, 1), (4, 1000, 64, 1), (1, 2000, 128, 1), (2, 1000, 32, 64)],
}
QUICK = [(1, 20, 4, 1), (2, 30, 8, 3)]

CHILD = r"""
import json, sys, time, tracemalloc
sys.path.insert(0, {root!r})
from bench.page_work import config, inputs, run_page

page, keras, sizes = {page!r}, {keras!r}, {sizes!r}

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

cfg = config(1, 8, 4)
run_page(page, cfg, *inputs(cfg), keras=keras)          # warm-up: imports (TensorFlow when Keras is on)
for B, T, H, D in sizes:
    cfg = config(B, T, H, D)
    x, labels = inputs(cfg, D)
    open("/proc/self/clear_refs", "w").write("5")        # reset the peak resident set (Linux >= 4.0)
    before = status("VmRSS")
    start = time.perf_counter()
    run_page(page, cfg, x, labels, keras)
    seconds = time.perf_counter() - start
    rss_peak = status("VmHWM") - before
    traced = None
    if not keras:                                       # NumPy allocations, as tests/test_budget.py measures them
        tracemalloc.start()
        run_page(page, cfg, x, labels, keras)
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(json.dumps(dict(page=page, keras=keras, B=B, T=T, H=H, D=D, seconds=seconds, rss=rss_peak,
                          traced=traced)), flush=True)
"""


def measure(page: str, keras: bool, sizes) -> list[dict]:
    code = CHILD.format(root=str(ROOT), page=page, keras=keras, sizes=sizes)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=1800,
                         env={"TF_CPP_MIN_LOG_LEVEL": "3", **__import__("os").environ})
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    from bench.page_work import PAGES
    from rnn_core import budget

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pages", nargs="*", default=list(PAGES))
    parser.add_argument("--out", default=str(ROOT / "test-artifacts" / "budget.json"))
    args = parser.parse_args()
    rows = []
    for page in args.pages:
        for keras in (False, True):
            if page == "keras-vs-numpy" and not keras:
                continue                                  # with Keras off that page computes nothing
            rows += measure(page, keras, QUICK if args.quick else SIZES[keras])
    Path(args.out).parent.mkdir(exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=1))
    print("| page | Keras | (B, T, H, D) | time | peak RSS | tracemalloc | "
          "estimate: memory, time | measured / estimated |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        est = budget.estimate(r["page"], r["B"], r["T"], r["H"], r["D"], r["keras"])
        traced = f"{r['traced'] / 2**20:.1f} MiB" if r["traced"] is not None else "-"
        print(f"| {r['page']} | {'on' if r['keras'] else 'off'} | {(r['B'], r['T'], r['H'], r['D'])} | "
              f"{r['seconds']:.2f} s | {r['rss'] / 2**20:.1f} MiB | {traced} | "
              f"{est.bytes / 2**20:.1f} MiB, {est.seconds:.2f} s | "
              f"{r['rss'] / est.bytes:.2f}, {r['seconds'] / est.seconds:.2f} |")
    fit(rows)


def fit(rows: list[dict]) -> None:
    """Least-squares coefficients of the model rnn_core.budget uses, per (page, Keras), to update its table."""
    from rnn_core import budget

    for page in sorted({r["page"] for r in rows}):
        for keras in (False, True):
            sel = [r for r in rows if r["page"] == page and r["keras"] == keras]
            if len(sel) < 3:
                continue
            mem = np.array([budget.memory_terms(page, r["B"], r["T"], r["H"], r["D"], keras) for r in sel], float)
            sec = np.array([budget.time_terms(page, r["B"], r["T"], r["H"], r["D"], keras) for r in sel], float)
            m, *_ = np.linalg.lstsq(mem, [max(r["rss"], r["traced"] or 0) for r in sel], rcond=None)
            s, *_ = np.linalg.lstsq(sec, [r["seconds"] for r in sel], rcond=None)
            print(f"fit {page} keras={keras}: memory {np.round(m, 3).tolist()}  time {s.tolist()}")


if __name__ == "__main__":
    main()
