"""Training speed: NumPy train_step vs Keras train_on_batch and a compiled Keras fit, per step.

    python -m bench.bench_training            # the numbers in docs/performance.md (a few minutes)
    python -m bench.bench_training --quick    # tiny sizes, one repeat: checks the code still runs
    OPENBLAS_NUM_THREADS=1 python -m bench.bench_training    # NumPy's BLAS on one thread

At the tutorial's shape (B=32, T=100, D=13, H=128, C=39), for each cell
rnn_core has: the median time of one training step (forward, loss, BPTT,
Adam update) in
  * NumPy:           rnn_core.training.trainer.train_step
  * Keras per batch: model.train_on_batch (the compiled train function, called from Python each step)
  * Keras fit:       model.fit over 10 batches (an epoch), traced beforehand, divided by 10
from the same initial weights; the first losses are compared, so both sides
train the same model. The three alternate in rounds (10 steps each), so a
machine busy with other work slows them alike; median and best round reported.

Then the training budget: NumPy step times over a grid of (B, T, H), fitted
by t = a T + b W, with a the Python/NumPy overhead per time step (a few
small calls per step forward and back) and W = B T H (H + D + C) the
multiply-adds of a forward pass (a step's work is a fixed multiple of it).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from bench.timing import median_time
from rnn_core.training.model import CELL_NAMES, RNNClassifier
from rnn_core.training.optimizers import Adam
from rnn_core.training.trainer import train_step

TUTORIAL = (32, 100, 13, 128, 39)
QUICK = (4, 6, 3, 8, 5)
BUDGET_GRID = [(B, T, H) for B in (8, 32) for T in (50, 100, 200) for H in (32, 128)]
KERAS_LAYERS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


def work(B: int, T: int, D: int, H: int, C: int) -> int:
    """Multiply-adds of a SimpleRNN + Dense forward: B T (H (H + D) + H C)."""
    return B * T * (H * (H + D) + H * C)


def data(B, T, D, C, batches, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batches * B, T, D)).astype(np.float32)
    y = rng.integers(0, C, (batches * B, T))
    return x, y


def numpy_step_time(cell, B, T, D, H, C, repeats) -> tuple[float, float]:
    x, y = data(B, T, D, C, 1)
    model = RNNClassifier(H, C, cell=cell, seed=0)
    model.build(x.shape)
    opt = Adam()
    first = train_step(model, opt, x, y)                       # warm-up (builds the slots)
    return median_time(lambda: train_step(model, opt, x, y), repeats), first


def contenders(cell, B, T, D, H, C, fit_batches):
    """Three callables that each run ``k`` training steps (NumPy, train_on_batch, fit), and both first losses."""
    from rnn_core import keras_bridge as kb

    _, keras = kb._tf()
    x, y = data(B, T, D, C, 1)
    numpy_model = RNNClassifier(H, C, cell=cell, seed=0)
    numpy_model.build(x.shape)
    weights = [w.copy() for w in numpy_model.get_weights()]
    opt = Adam()
    first_np = train_step(numpy_model, opt, x, y)              # warm-up (builds the slots)
    model = keras.Sequential([keras.Input((T, D)), getattr(keras.layers, KERAS_LAYERS[cell])(H, return_sequences=True),
                              keras.layers.TimeDistributed(keras.layers.Dense(C, activation="softmax"))])
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy")
    first_keras = float(model.train_on_batch(x, y))            # traces the train function
    xs, ys = data(B, T, D, C, fit_batches)
    model.fit(xs, ys, batch_size=B, epochs=1, shuffle=False, verbose=0)   # traces fit's function

    def numpy_steps():
        for _ in range(fit_batches):
            train_step(numpy_model, opt, x, y)

    def keras_batches():
        for _ in range(fit_batches):
            model.train_on_batch(x, y)

    def keras_fit():
        model.fit(xs, ys, batch_size=B, epochs=1, shuffle=False, verbose=0)

    return (numpy_steps, keras_batches, keras_fit), (first_np, first_keras)


def interleaved(functions, rounds: int, steps: int) -> list[tuple[float, float]]:
    """Per function, (median, min) over rounds of the time per step; the functions alternate within each
    round, so a busy machine slows all of them alike."""
    times = [[] for _ in functions]
    for _ in range(rounds):
        for i, fn in enumerate(functions):
            start = time.perf_counter()
            fn()
            times[i].append((time.perf_counter() - start) / steps)
    return [(statistics.median(t), min(t)) for t in times]


def budget(repeats: int, D: int = 13, C: int = 39) -> tuple[float, float, list]:
    rows = []
    for B, T, H in BUDGET_GRID:
        t, _ = numpy_step_time("simple_rnn", B, T, D, H, C, repeats)
        rows.append((B, T, H, work(B, T, D, H, C), t))
    T = np.array([r[1] for r in rows], float)
    W = np.array([r[3] for r in rows], float)
    t = np.array([r[4] for r in rows])
    (a, b), *_ = np.linalg.lstsq(np.stack([T, W], axis=1), t, rcond=None)
    return a, b, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (used by the test suite)")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--fit-batches", type=int, default=10)
    args = parser.parse_args()
    B, T, D, H, C = QUICK if args.quick else TUTORIAL
    rounds, fit_batches = (1, 2) if args.quick else (args.rounds, args.fit_batches)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, NumPy {np.__version__}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"\nper training step at (B, T, D, H, C) = {(B, T, D, H, C)}, Adam, many-to-many; "
          f"{rounds} interleaved rounds of {fit_batches} steps, median (best):\n")
    print("| cell | NumPy train_step | Keras train_on_batch | Keras fit (compiled), per step | fit / NumPy |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for cell in CELL_NAMES:
        functions, (first_np, first_keras) = contenders(cell, B, T, D, H, C, fit_batches)
        rel = abs(first_np - first_keras) / abs(first_keras)
        assert rel < 1e-4, f"{cell}: first loss NumPy {first_np} vs Keras {first_keras}"
        (t_np, b_np), (t_batch, b_batch), (t_fit, b_fit) = interleaved(functions, rounds, fit_batches)
        print(f"| {cell} | {t_np * 1e3:.1f} ms ({b_np * 1e3:.1f}) | {t_batch * 1e3:.1f} ms ({b_batch * 1e3:.1f}) | "
              f"{t_fit * 1e3:.1f} ms ({b_fit * 1e3:.1f}) | {t_fit / t_np:.2f}x |", flush=True)
    print(f"\nfirst-step losses agree (relative difference < 1e-4); load average now {os.getloadavg()[0]:.1f}")
    if args.quick:
        return
    a, b, rows = budget(7, D, C)
    print("\nNumPy SimpleRNN train_step over sizes (D=13, C=39, Adam):\n")
    print("| B | T | H | W = B T H (H + D + C) | step | W per second |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for Bb, Tt, Hh, W, t in rows:
        print(f"| {Bb} | {Tt} | {Hh} | {W / 1e6:.1f} M | {t * 1e3:.1f} ms | {W / t / 1e9:.2f} G |")
    print(f"\nleast-squares fit: step time = T x {a * 1e6:.0f} us + W / ({1 / b / 1e9:.2f} G per second)")


if __name__ == "__main__":
    main()
