"""Loading a large numeric CSV: pandas alone, load_sequence (pandas plus the checks), and the previous parser.

    python -m bench.bench_loading            # 100,000 rows x 20 columns (~19 MB), median of 5
    python -m bench.bench_loading --quick    # 2,000 rows, one repeat: checks the code still runs

The previous cell-by-cell parser is read from git (commit BEFORE) when git and
that commit are available, so "before" and "after" run on the same machine.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import types
from pathlib import Path

import numpy as np

from bench.timing import median_time
from rnn_core.inputs.loading import load_sequence

BEFORE = "3725cda"     # the last commit with the csv-module parser


def make_csv(rows: int, cols: int) -> bytes:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(rows, cols))
    buf = io.StringIO()
    buf.write(",".join(f"f{j}" for j in range(cols)) + "\n")
    np.savetxt(buf, values, delimiter=",", fmt="%.6f")
    return buf.getvalue().encode()


def previous_loader():
    root = Path(__file__).resolve().parents[1]
    try:
        source = subprocess.run(["git", "show", f"{BEFORE}:rnn_core/inputs/loading.py"], cwd=root, capture_output=True,
                                text=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    module = types.ModuleType("previous_data")
    sys.modules["previous_data"] = module      # dataclasses look their module up
    exec(compile(source, "previous_data.py", "exec"), module.__dict__)   # our own source from git, not user data
    return module.load_sequence


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rows, repeats = (2_000, 1) if args.quick else (100_000, 5)
    data = make_csv(rows, 20)
    import pandas as pd

    print(f"CSV: {rows:,} rows x 20 columns, {len(data) / 2**20:.1f} MB; median of {repeats}")
    x, _ = load_sequence("bench.csv", data)
    reference = pd.read_csv(io.BytesIO(data)).to_numpy(np.float32)
    assert x.shape == (rows, 20) and np.array_equal(x, reference)
    results = {"pandas.read_csv alone": median_time(lambda: pd.read_csv(io.BytesIO(data)), repeats),
               "load_sequence (pandas + checks)": median_time(lambda: load_sequence("bench.csv", data), repeats)}
    previous = previous_loader()
    if previous is not None:
        results[f"previous parser (csv module, commit {BEFORE})"] = median_time(
            lambda: previous("bench.csv", data), 1 if args.quick else 3)
    for name, seconds in results.items():
        print(f"| {name} | {seconds:.2f} s |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
