"""Encoder-decoder training speed: NumPy ``seq2seq.train_step`` vs Keras' compiled ``train_on_batch``.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 python -m bench.bench_seq2seq
    python -m bench.bench_seq2seq --quick          # tiny sizes, few repeats: checks the code still runs

At (B, Ts, H) = (32, 20, 64) on the reverse task (20 digits in, 20 + </s> out, V = 13), for each cell with
Luong attention (and LSTM without attention, with additive attention and with a Bidirectional encoder): one
training step (forward, loss, BPTT, Adam update) of the NumPy model and of its Keras twin with the same
weights on the same batch, called in turn (bench.timing.interleaved_median_times), median of the repeats.
The first losses are compared, so both sides train the same model. Keras is traced before timing.

    OPENBLAS_NUM_THREADS=1 python -m bench.bench_seq2seq --train     # the training runs of issue 23 (~1.5 min)

trains the NumPy model alone (LSTM 64 units, Adam(DEFAULT_LEARNING_RATE), batches of 32, 2,000 pairs, held-out
sequence accuracy by greedy decoding every 50 steps): reverse 5-8 digits with dot attention until 95%, then
reverse 10-15 digits without attention (for --seconds) and with dot attention (until 95%), and their held-out
accuracy by source length.
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np

from bench.timing import interleaved_median_times
from rnn_core.training.optimizers import Adam
from rnn_core.training.seq2seq import Seq2Seq, default_optimizer, fit, sequence_accuracy, train_step
from rnn_core.training.seq2seq_tasks import reverse

CASES = [("lstm", "dot", False), ("gru", "dot", False), ("simple_rnn", "dot", False), ("lstm", None, False),
         ("lstm", "additive", False), ("lstm", "dot", True)]
FULL = (32, 20, 64)
QUICK = (4, 5, 8)


def batch(B: int, T: int):
    task = reverse(n=B, min_len=T, max_len=T, held_out=1, seed=0)
    b = task.arrays()
    return b.x, b.y_in, b.y_out, len(task.source_vocabulary), len(task.target_vocabulary)


def contenders(cell, attention, bidirectional, B, T, H):
    """Two callables (one NumPy step, one Keras train_on_batch) and both first losses."""
    from rnn_core import keras_bridge as ks

    x, y_in, y_out, Vi, Vo = batch(B, T)
    model = Seq2Seq(Vi, Vo, H, cell=cell, attention=attention, bidirectional=bidirectional, seed=0)
    theirs = ks.build_seq2seq_model(cell, H, Vi, Vo, attention, bidirectional, weights=model.get_weights())
    ks.compile_seq2seq(theirs, Adam().get_config())
    opt = Adam()
    first = train_step(model, opt, x, y_in, y_out)
    first_keras = ks.seq2seq_train_on_batch(theirs, x, y_in, y_out)       # traces the train function
    return ((lambda: train_step(model, opt, x, y_in, y_out)),
            (lambda: theirs.train_on_batch([x, y_in], y_out))), (first, first_keras)


def training_run(min_len: int, max_len: int, attention, seconds: float, target: float | None):
    """Train on reverse(min_len..max_len) for at most ``seconds`` (training time; stop at ``target``)."""
    task = reverse(n=2000, min_len=min_len, max_len=max_len, held_out=200, seed=0)
    train, held = task.arrays(), task.arrays(held_out=True)
    model = Seq2Seq(len(task.source_vocabulary), len(task.target_vocabulary), 64, cell="lstm", attention=attention,
                    seed=0)
    history = fit(model, default_optimizer(), train.x, train.y_in, train.y_out, epochs=10_000, batch_size=32,
                  seconds=seconds, validation=(held.x, held.y_out), validate_every=50, target_accuracy=target)
    curve = ", ".join(f"{acc:.0%} at {sec:.1f} s" for _, sec, acc in history.evaluations[::max(1, len(
        history.evaluations) // 8)])
    step, sec, acc = history.evaluations[-1]
    print(f"| reverse {min_len}-{max_len}, attention={attention} | {step} | {sec:.1f} s | {acc:.1%} | {curve} |",
          flush=True)
    return task, model, history


def train_report(seconds: float) -> None:
    print(f"\ntraining runs (NumPy, LSTM 64, Adam({default_optimizer().learning_rate}), batch 32, 2000 pairs, "
          f"held-out sequence accuracy on 200):\n")
    print("| run | steps | training time | held-out accuracy | on the way |")
    print("| --- | ---: | ---: | ---: | --- |")
    training_run(5, 8, "dot", seconds, 0.95)
    runs = [training_run(10, 15, attention, seconds, target) for attention, target in ((None, None), ("dot", 0.95))]
    reached = runs[1][2].evaluations[-1][1]
    before = [acc for _, sec, acc in runs[0][2].evaluations if sec <= reached]
    print(f"\nwithout attention after the {reached:.1f} s attention needed for 95%: "
          f"{before[-1] if before else 0.0:.0%}")
    print("\nheld-out sequence accuracy by source length (100 fresh sequences each):\n")
    print("| length | " + " | ".join(f"{L}" for L in range(10, 16)) + " |")
    print("| --- |" + " ---: |" * 6)
    for (task, model, _), name in zip(runs, ("no attention", "dot attention")):
        accs = [sequence_accuracy(model, b.x, b.y_out) for _, b in task.by_length(range(10, 16), n=100, seed=5)]
        print(f"| {name} | " + " | ".join(f"{a:.0%}" for a in accs) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few repeats (checks the code runs)")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--bidirectional-only", action="store_true", help="time only the Bidirectional case")
    parser.add_argument("--tf-threads", type=int, default=None,
                        help="TensorFlow's intra- and inter-op threads (default: TensorFlow's, all cores)")
    parser.add_argument("--train", action="store_true", help="the training runs instead of the step timing")
    parser.add_argument("--seconds", type=float, default=60.0, help="training time limit of each --train run")
    args = parser.parse_args()
    if args.train:
        print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
              f"load average {os.getloadavg()[0]:.1f}")
        train_report(args.seconds)
        return
    B, T, H = QUICK if args.quick else FULL
    repeats = 2 if args.quick else args.repeats
    cases = CASES[:1] if args.quick else [c for c in CASES if c[2]] if args.bidirectional_only else CASES
    if args.tf_threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.tf_threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.tf_threads)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, NumPy {np.__version__}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"TensorFlow threads {args.tf_threads or 'default'}, load average {os.getloadavg()[0]:.1f}")
    print(f"\none training step (Adam) at (B, Ts, Tt, H) = ({B}, {T}, {T + 1}, {H}), reverse task, "
          f"median of {repeats} interleaved repeats:\n")
    print("| encoder-decoder | NumPy train_step | Keras train_on_batch (compiled) | Keras / NumPy |")
    print("| --- | ---: | ---: | ---: |")
    for cell, attention, bidirectional in cases:
        (mine, theirs), (first, first_keras) = contenders(cell, attention, bidirectional, B, T, H)
        rel = abs(first - first_keras) / abs(first_keras)
        assert rel < 1e-4, f"{cell}: first loss NumPy {first} vs Keras {first_keras}"
        interleaved_median_times([mine, theirs], 3)                       # settle caches and thread pools
        t_np, t_keras = interleaved_median_times([mine, theirs], repeats)
        name = f"{'Bidirectional ' if bidirectional else ''}{cell}, attention={attention}"
        print(f"| {name} | {t_np * 1e3:.2f} ms | {t_keras * 1e3:.2f} ms | {t_keras / t_np:.2f}x |", flush=True)
    print(f"\nfirst-step losses agree (relative difference < 1e-4); load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
