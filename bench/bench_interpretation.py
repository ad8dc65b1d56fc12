"""Benchmark: the interpretation tools at the sizes the app promises (NumPy only, one BLAS thread as the app).

    python -m bench.bench_interpretation            # match_pattern at (100,000 steps, 256 units); fixed_points at H=128
    python -m bench.bench_interpretation --quick    # a tiny size, to check the code runs

match_pattern: one sequence of tanh-like states with a pattern planted 50 times, selection of 10 steps.
fixed_points: each cell with Keras' default initializers (orthogonal U) and with U scaled by 1.5 (many fixed
points, where Newton works hardest), 256 starts from random states, x = 0; then with slow=True. Median of
``--repeats`` runs.
"""

from __future__ import annotations

import argparse

import numpy as np

from bench.timing import median_time
from rnn_core import GRU, LSTM, SimpleRNN
from rnn_core.analysis.fixed_points import fixed_points
from rnn_core.analysis.selection import match_pattern

CELLS = {"SimpleRNN": (SimpleRNN, {}), "LSTM": (LSTM, {}), "GRU": (GRU, {}),
         "GRU reset_after=False": (GRU, {"reset_after": False})}


def match_row(T: int, H: int, repeats: int) -> str:
    rng = np.random.default_rng(0)
    states = np.tanh(rng.normal(size=(1, T, H))).astype(np.float32)
    for start in np.linspace(0, T - 20, 50).astype(int):
        states[0, start:start + 10, :8] = 0.95
    seconds = median_time(lambda: match_pattern(states, 0, 0, 10, 0.9), repeats)
    found = len(match_pattern(states, 0, 0, 10, 0.9, top_k=1000))
    return f"| match_pattern | ({T:,} steps, {H} units) | {seconds * 1e3:.0f} ms | {found} matches |"


def fixed_point_rows(H: int, repeats: int) -> list[str]:
    rows = []
    for name, (cls, kw) in CELLS.items():
        for scale in (1.0, 1.5):
            layer = cls(H, seed=0, **kw)
            layer.build((1, 1, 8))
            weights = layer.get_weights()
            weights[1] = weights[1] * scale
            layer.set_weights(weights)
            for slow in (False, True):
                seconds = median_time(lambda layer=layer, slow=slow: fixed_points(layer, slow=slow), repeats)
                fp = fixed_points(layer, slow=slow)
                rows.append(f"| fixed_points {name} | H={H}, U x {scale}, slow={slow} | {seconds:.2f} s | "
                            f"{int((~fp.slow).sum())} fixed, {int(fp.slow.sum())} slow, "
                            f"{int(fp.stable.sum())} stable |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tiny size, to check the code runs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--blas-threads", type=int, default=1, help="NumPy's BLAS threads (the app uses 1)")
    args = parser.parse_args()
    T, Hm, H, repeats = (200, 16, 4, 1) if args.quick else (100_000, 256, 128, args.repeats)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(args.blas_threads, user_api="blas"):
        print("| what | size | median time | result |")
        print("| --- | --- | ---: | --- |")
        print(match_row(T, Hm, repeats))
        for row in fixed_point_rows(H, repeats):
            print(row)


if __name__ == "__main__":
    main()
