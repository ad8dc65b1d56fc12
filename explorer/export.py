"""Downloads: arrays as CSV and NPZ, and a short script that rebuilds the same Keras layer and checks the numbers."""

from __future__ import annotations

import io
import json
from dataclasses import asdict

import numpy as np

from .settings import AppConfig

Array = np.ndarray


def to_csv(array: Array, column_prefix: str = "unit") -> bytes:
    """A (T, H) array as CSV with a header row (step, unit_0, ...); a (B, T, H) array gets a sequence column."""
    a = np.asarray(array)
    lines = []
    if a.ndim == 2:
        lines.append(",".join(["step"] + [f"{column_prefix}_{j}" for j in range(a.shape[1])]))
        lines += [",".join([str(t)] + [repr(float(v)) for v in row]) for t, row in enumerate(a)]
    elif a.ndim == 3:
        lines.append(",".join(["sequence", "step"] + [f"{column_prefix}_{j}" for j in range(a.shape[2])]))
        lines += [",".join([str(b), str(t)] + [repr(float(v)) for v in a[b, t]])
                  for b in range(a.shape[0]) for t in range(a.shape[1])]
    else:
        raise ValueError(f"to_csv takes a 2-D or 3-D array, got shape {a.shape}.")
    return ("\n".join(lines) + "\n").encode()


def to_npz(arrays: dict[str, Array], config: AppConfig | None = None) -> bytes:
    """Arrays in an .npz (no pickles: plain numeric arrays, the config as a JSON string array)."""
    buf = io.BytesIO()
    payload = {k: np.asarray(v) for k, v in arrays.items() if v is not None}
    if config is not None:
        payload["config_json"] = np.array(json.dumps(asdict(config)))
    np.savez_compressed(buf, **payload)
    return buf.getvalue()


def forward_arrays(cfg: AppConfig, x: Array, weights: list[Array], initial_states: tuple | None, output,
                   states: Array) -> dict:
    """What the reproduce script needs: inputs, weights, initial state(s), and the outputs to compare with."""
    parts = output if isinstance(output, tuple) else (output,)
    names = cfg.state_names
    init = initial_states or tuple(np.zeros((x.shape[0], cfg.units), np.float32) for _ in names)
    arrays = {"inputs": x, "kernel": weights[0], "recurrent_kernel": weights[1], "states": states}
    arrays |= {f"initial_state_{name}": s for name, s in zip(names, init, strict=True)}
    if cfg.use_bias:
        arrays["bias"] = weights[2]
    for i, part in enumerate(parts):
        arrays[f"output_{i}"] = part
    return arrays


def reproduce_script(cfg: AppConfig, npz_name: str = "rnn_explorer.npz") -> str:
    """A runnable script: rebuild the Keras layer (SimpleRNN, LSTM or GRU) with these flags, load the weights,
    compare outputs."""
    weights = '[data["kernel"], data["recurrent_kernel"]' + (', data["bias"]]' if cfg.use_bias else "]")
    config = cfg.rnn_config()
    flags = "".join(f"    {name}={getattr(config, name)!r},\n" for name in
                    ("activation", "recurrent_activation", "use_bias", "unit_forget_bias", "reset_after",
                     "return_sequences", "return_state", "go_backwards") if hasattr(config, name))
    states = ", ".join(f'data["initial_state_{name}"]' for name in cfg.state_names)
    return f'''"""Rebuild the RNN Explorer view in Keras and check that it gives the same numbers.

Needs: pip install "keras>=3.15.1" tensorflow numpy ; the file {npz_name} next to this script.
"""
import numpy as np
import keras

data = np.load("{npz_name}", allow_pickle=False)
x = data["inputs"]                      # (batch, time, features) = {{x.shape}}
layer = keras.layers.{cfg.cell}(
    {cfg.units},
{flags})
layer.build(x.shape)
layer.set_weights({weights})   # Keras' own layout (kernel (D, gates*H), ...): no transposes
result = layer(x, initial_state=[{states}])
parts = result if isinstance(result, tuple) else (result,)
worst = 0.0
for i, part in enumerate(parts):
    diff = float(np.abs(np.asarray(part) - data[f"output_{{i}}"]).max())
    worst = max(worst, diff)
    print(f"output {{i}}: shape {{tuple(part.shape)}}, max |Keras - exported| = {{diff:.3g}}")
print("reproduced" if worst <= 1e-5 else "DIFFERENT")
'''
