"""NumPy core vs Keras: forward + full BPTT on the same weights and inputs, in one run, for each cell.

    python -m bench.bench_rnn            # the numbers in docs/performance.md (a few minutes)
    python -m bench.bench_rnn --quick    # tiny sizes, one repeat: checks the code still runs

For each (B, T, D, H) and cell (SimpleRNN at every size; LSTM and GRU at
(1, 1000, 8, 128) and (32, 200, 16, 128)): the median of several repeats of
  * NumPy:  layer(x) then layer.backward(g)                (rnn_core)
  * Keras tf.function: GradientTape around layer(x), gradients of kernel,
    recurrent_kernel, bias and x, compiled once (tracing not timed)
  * Keras eager: the same without tf.function
NumPy and Keras tf.function take turns (interleaved repeats), so a drift in the machine's speed hits both.
with the loss L = <g, output> for a fixed random g, so both compute the same
gradients (checked). Also: the gradient-flow analysis at T=1000, H=128, and
the peak memory of forward + BPTT at T=100,000, H=256.

NumPy runs with one BLAS thread, as the app's server runs it (explorer/warmup.py: on a shared 2-core
server OpenBLAS' threads collapse; at these sizes one thread is also faster alone, since each step's
matmul is small). TensorFlow keeps its own thread pools, as in the app. ``--blas-threads N`` changes it.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import tracemalloc

import numpy as np

from bench.timing import interleaved_median_times, median_time
from rnn_core import CELLS, SimpleRNN
from rnn_core.analysis.gradient_flow import jacobian_norm_map, step_jacobian_norms

SIZES = [(1, 100, 8, 32), (1, 1000, 8, 128), (32, 200, 16, 128), (1, 10000, 8, 256)]
GATED_SIZES = [(1, 1000, 8, 128), (32, 200, 16, 128)]
QUICK_SIZES = [(2, 6, 3, 4)]
CELL_NAMES = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


def problem(B: int, T: int, D: int, H: int, kind: str = "simple_rnn"):
    rng = np.random.default_rng(0)
    layer = CELLS[kind](H, return_sequences=True, seed=0)
    x = rng.standard_normal((B, T, D)).astype(np.float32)
    layer.build(x.shape)
    g = rng.standard_normal((B, T, H)).astype(np.float32)
    return layer, x, g


def numpy_step(layer: SimpleRNN, x, g):
    layer(x)
    return layer.backward(g)


def numpy_peak_bytes(layer, x, g) -> int:
    tracemalloc.start()
    numpy_step(layer, x, g)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def keras_functions(layer, x, kind: str = "simple_rnn"):
    from rnn_core import keras_bridge as kb

    tf, _ = kb._tf()
    k = kb.build_layer(kind, layer.config, x.shape, layer.get_weights())
    variables = [k.cell.kernel, k.cell.recurrent_kernel, k.cell.bias]

    def step(x_t, g_t):
        with tf.GradientTape() as tape:
            tape.watch(x_t)
            loss = tf.reduce_sum(k(x_t) * g_t)
        return tape.gradient(loss, variables + [x_t])

    return tf, step, tf.function(step)


def run(cases, repeats: int, eager_max_steps: int) -> list[dict]:
    rows = []
    for kind, (B, T, D, H) in cases:
        layer, x, g = problem(B, T, D, H, kind)
        n = repeats if T * B <= 10_000 else max(1, repeats // 2)
        numpy_step(layer, x, g)                                      # warm-up
        peak = numpy_peak_bytes(layer, x, g)
        tf, eager, compiled = keras_functions(layer, x, kind)
        x_t, g_t = tf.constant(x), tf.constant(g)
        ours = numpy_step(layer, x, g)
        theirs = compiled(x_t, g_t)                                  # traces once
        scale = max(1.0, float(np.abs(theirs[1]).max()))
        err = float(np.abs(ours.recurrent_kernel - theirs[1].numpy()).max()) / scale
        # NumPy and the compiled Keras function take turns, so both meet the machine in the same state.
        t_np, t_fn = interleaved_median_times([lambda: numpy_step(layer, x, g),
                                               lambda: [t.numpy() for t in compiled(x_t, g_t)]], n)
        eager_n = 1 if T > 1000 else (n if kind == "simple_rnn" else min(n, 3))
        t_eager = median_time(lambda: [t.numpy() for t in eager(x_t, g_t)], eager_n) \
            if eager_max_steps >= T else float("nan")
        rows.append(dict(cell=CELL_NAMES[kind], size=(B, T, D, H), numpy=t_np, keras_fn=t_fn, keras_eager=t_eager,
                         peak=peak, err=err))
        print(f"  {(B, T, D, H)} {CELL_NAMES[kind]}: NumPy {t_np * 1e3:.1f} ms, Keras tf.function {t_fn * 1e3:.1f} ms, "
              f"eager {t_eager * 1e3:.0f} ms, dU relative difference {err:.1e}", flush=True)
    return rows


def analysis_time(T: int = 1000, H: int = 128) -> tuple[float, float]:
    layer, x, g = problem(1, T, 8, H)
    layer(x)
    tr = layer.last_trace
    fprime = layer.activation.derivative(tr.z, tr.h[1:])[:, 0]
    t_sigma = median_time(lambda: step_jacobian_norms(fprime, layer.recurrent_kernel), 3)
    t_map = median_time(lambda: jacobian_norm_map(fprime, layer.recurrent_kernel, max_points=32), 3)
    return t_sigma, t_map


def long_sequence_peak(T: int = 100_000, H: int = 256, D: int = 8) -> tuple[float, int]:
    layer, x, g = problem(1, T, D, H)
    start = time.perf_counter()
    peak = numpy_peak_bytes(layer, x, g)
    return time.perf_counter() - start, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (used by the test suite)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--eager-max-steps", type=int, default=10_000)
    parser.add_argument("--blas-threads", type=int, default=1, help="NumPy's BLAS threads (the app uses 1)")
    args = parser.parse_args()
    if args.quick:
        cases, repeats = [(kind, size) for kind in CELL_NAMES for size in QUICK_SIZES], 1
    else:
        cases = [("simple_rnn", size) for size in SIZES] + [(k, size) for k in ("lstm", "gru") for size in GATED_SIZES]
        repeats = args.repeats
    from threadpoolctl import threadpool_info, threadpool_limits

    blas = next((i for i in threadpool_info() if i["user_api"] == "blas"), {})
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, NumPy {np.__version__} ({args.blas_threads} BLAS thread(s), "
          f"{blas.get('internal_api', '?')} {blas.get('version', '?')} kernels: {blas.get('architecture', '?')})")
    if os.environ.get("OPENBLAS_CORETYPE"):
        print(f"note: OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} is set, so OpenBLAS runs those kernels "
              "rather than the ones it detects for this CPU (see docs/performance.md)")
    with threadpool_limits(args.blas_threads, user_api="blas"):
        rows = run(cases, repeats, args.eager_max_steps)
    print()
    print("| (B, T, D, H) | cell | NumPy fwd+BPTT | Keras tf.function | Keras eager | tf.function / NumPy "
          "| eager / NumPy | NumPy peak memory |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['size']} | {r['cell']} | {r['numpy'] * 1e3:.1f} ms | {r['keras_fn'] * 1e3:.1f} ms | "
              f"{r['keras_eager'] * 1e3:.0f} ms | {r['keras_fn'] / r['numpy']:.1f}x | "
              f"{r['keras_eager'] / r['numpy']:.0f}x | {r['peak'] / 2**20:.1f} MiB |")
    if not args.quick:
        t_sigma, t_map = analysis_time()
        print(f"\ngradient-flow analysis at T=1000, H=128: sigma_max(J_t) for all steps {t_sigma * 1e3:.0f} ms "
              f"(batched Lanczos), ||dh_t/dh_k|| map on a 32-step grid {t_map * 1e3:.0f} ms")
        seconds, peak = long_sequence_peak()
        print(f"T=100,000, H=256, B=1: forward + BPTT in {seconds:.2f} s, peak memory {peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
