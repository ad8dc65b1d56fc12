"""How long checking and loading a user's .keras file takes, and what the check costs in memory.

    python -m bench.bench_model_files            # the numbers in docs/performance.md
    python -m bench.bench_model_files --quick    # a tiny model, one repeat: checks the code still runs

For the tutorial's model (SimpleRNN(128, return_sequences=True) + TimeDistributed(Dense(39, softmax)),
trained for one epoch with Adam, so the file also holds optimizer slots) and for the largest model the
caps allow in one file: the median time of inspect_model_file (no Keras), of load_model_file (inspection,
private folder, keras.saving.load_model; TensorFlow already imported), the tracemalloc peak of the
inspection, and the time and peak of refusing a config.json that inflates to 2 GiB.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import tracemalloc
import zlib

import numpy as np

from bench.timing import median_time
from rnn_core import keras_bridge
from rnn_core.saving.model_files import ModelFileError, inspect_model_file


def peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def saved_model(units: int, classes: int, features: int, folder: str) -> bytes:
    _, keras = keras_bridge._tf()
    L = keras.layers
    model = keras.Sequential([keras.Input((None, features)), L.SimpleRNN(units, return_sequences=True),
                              L.TimeDistributed(L.Dense(classes, activation="softmax"))])
    model.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(4, 8, features)), rng.integers(0, classes, (4, 8)), epochs=1, verbose=0)
    path = os.path.join(folder, "model.keras")
    model.save(path)
    with open(path, "rb") as f:
        return f.read()


def zip_bomb() -> bytes:
    """config.json declaring 2 GiB; see tests/test_model_files.py for the same construction."""
    import struct  # noqa: PLC0415

    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = c.compress(b" " * 2**20) + c.flush(zlib.Z_FULL_FLUSH)
    stream = segment * 2048 + b"\x03\x00"
    name = b"config.json"
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, 0, len(stream), 2**31, len(name), 0) + name
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, 0, len(stream), 2**31,
                          len(name), 0, 0, 0, 0, 0o600 << 16, 0) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(stream), 0)
    return local + stream + central + end


def refuse(data: bytes) -> None:
    try:
        inspect_model_file("model.keras", data)
    except ModelFileError:
        return
    raise AssertionError("the zip bomb was accepted")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [("tiny", 4, 3, 2)] if args.quick else [("tutorial", 128, 39, 39), ("larger", 512, 512, 512)]
    repeats, loads = (1, 1) if args.quick else (20, 5)
    print("| model | file | parameters | inspect (no Keras) | inspect peak memory | load_model_file |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as folder:
        for label, units, classes, features in sizes:
            data = saved_model(units, classes, features, folder)
            info = inspect_model_file("model.keras", data)
            inspect = median_time(lambda d=data: inspect_model_file("model.keras", d), repeats)
            peak = peak_bytes(lambda d=data: inspect_model_file("model.keras", d))
            load = median_time(lambda d=data: keras_bridge.load_model_file("model.keras", d), loads)
            print(f"| {label} (H={units}) | {len(data) / 2**20:.2f} MiB | {info.total_params:,} | "
                  f"{inspect * 1e3:.1f} ms | {peak / 2**20:.1f} MiB | {load * 1e3:.0f} ms |")
    bomb = zip_bomb()
    took = median_time(lambda: refuse(bomb), repeats)
    peak = peak_bytes(lambda: refuse(bomb))
    print(f"\nzip bomb ({len(bomb) / 2**20:.1f} MiB declaring 2 GiB): refused in {took * 1e3:.2f} ms, "
          f"peak {peak / 2**10:.0f} KiB")


if __name__ == "__main__":
    main()
