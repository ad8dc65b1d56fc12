"""Benchmark: gradient-flow analysis for each cell, and Bidirectional forward + BPTT (NumPy only).

    python -m bench.bench_analysis            # T=1000, H=128 (and T=10,000 for the bounded parts)
    python -m bench.bench_analysis --quick    # a tiny size, to check the code runs

For each cell: sigma_max of the whole state's step Jacobian for every step
(batched Lanczos, 40 steps), the ||d s_t/d s_k|| map with its work budget
(rnn_core.analysis.gradient_flow.state_flow), the carry-gate products, and
compare_cells on a 200-step impulse. Median of 3 runs.
"""

from __future__ import annotations

import argparse

import numpy as np

from bench.timing import median_time
from rnn_core import GRU, LSTM, Bidirectional, SimpleRNN
from rnn_core.analysis.gradient_flow import compare_cells, layer_step_jacobian, state_flow, state_jacobian_norms
from rnn_core.inputs.examples import make_example

CELLS = {"SimpleRNN": SimpleRNN, "LSTM": LSTM, "GRU": GRU}


def flow_rows(T: int, H: int, repeats: int) -> list[str]:
    rows = []
    x = np.random.default_rng(0).normal(size=(1, T, 8)).astype(np.float32)
    for name, cls in CELLS.items():
        layer = cls(H, return_sequences=True, seed=0)
        layer(x)
        jac = layer_step_jacobian(layer)
        t_sigma = median_time(lambda jac=jac: state_jacobian_norms(jac), repeats)
        t_flow = median_time(lambda layer=layer: state_flow(layer), repeats)
        flow = state_flow(layer)
        rows.append(f"| {name} | ({T}, {H}) | {jac.size} | {t_sigma * 1e3:.0f} ms | {t_flow * 1e3:.0f} ms | "
                    f"{len(flow.map.steps)} points over the last {T - flow.map_start:,} steps |")
    return rows


def bidirectional_row(B: int, T: int, D: int, H: int, repeats: int) -> str:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, T, D)).astype(np.float32)
    bi = Bidirectional(LSTM(H, return_sequences=True, seed=0))
    g = rng.normal(size=(B, T, 2 * H)).astype(np.float32)

    def step():
        bi(x)
        bi.backward(g)

    return f"| Bidirectional(LSTM) fwd+BPTT | ({B}, {T}, {D}, {H}) | {median_time(step, repeats) * 1e3:.1f} ms |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tiny size, to check the code runs")
    args = parser.parse_args()
    T, H, repeats, impulse = (12, 4, 1, 20) if args.quick else (1000, 128, 3, 200)
    print("| cell | (T, H) | S | sigma_max(J_t), every step | state_flow (sigma + map + carry) | map |")
    print("| --- | --- | ---: | ---: | ---: | --- |")
    for row in flow_rows(T, H, repeats):
        print(row)
    x = make_example("impulse", impulse).inputs
    t_cmp = median_time(lambda: compare_cells(x, units=H), repeats)
    print(f"\ncompare_cells on a {impulse}-step impulse, H={H}: {t_cmp * 1e3:.0f} ms")
    print(bidirectional_row(1, T, 8, H, repeats))
    for flow in compare_cells(x, units=H):
        fit = flow.fit
        print(f"{flow.cell}: per-step factor {fit.factor:.4f}, r2 {fit.r2:.3f}" if fit else f"{flow.cell}: no fit")


if __name__ == "__main__":
    main()
