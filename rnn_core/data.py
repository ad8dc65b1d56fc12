"""Turn an uploaded file into a sequence for the RNN, or say clearly why not.

``load_sequence(filename, data)`` reads CSV/TSV, .npy, .npz, .json and .txt
from bytes (never from a path, never unpickling, never evaluating text) and
returns a float32 array, (T, D) or (B, T, D), with what it inferred. Every
problem raises :class:`SequenceError` with a message a user can act on.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field

import numpy as np

Array = np.ndarray

MAX_BYTES = 20 * 2**20        # 20 MiB, also server.maxUploadSize in .streamlit/config.toml
MAX_STEPS = 100_000
MAX_FEATURES = 512
MAX_BATCH = 64
FORMATS = (".csv", ".tsv", ".npy", ".npz", ".json", ".txt")
NAN_POLICIES = ("error", "drop", "fill")


class SequenceError(ValueError):
    """The input cannot be used as a sequence; the message says why and what to do."""


@dataclass
class SequenceInfo:
    format: str                                   # "csv", "tsv", "npy", "npz", "json", "txt" or "text"
    shape: tuple[int, ...] = ()
    header: list[str] | None = None               # CSV/TSV column names, when the first row was a header
    vocabulary: list[str] | None = None           # .txt: the characters, in one-hot order
    arrays: list[str] = field(default_factory=list)   # .npz: every array name; ``array`` is the one used
    array: str | None = None
    dropped_rows: list[int] = field(default_factory=list)   # time steps dropped for NaN/inf (0-based)
    filled_values: int = 0                        # NaN/inf values replaced by the previous finite value
    notes: list[str] = field(default_factory=list)


def limits_text() -> str:
    return (f"Up to {MAX_BYTES // 2**20} MB, {MAX_STEPS:,} time steps, {MAX_FEATURES} features and "
            f"{MAX_BATCH} sequences; formats {', '.join(FORMATS)}.")


def load_sequence(filename: str, data: bytes, *, nan_policy: str = "error", npz_key: str | None = None,
                  header: bool | None = None, max_bytes: int = MAX_BYTES) -> tuple[Array, SequenceInfo]:
    """Parse ``data`` by the extension of ``filename``.

    Returns (array, info): float32 (T, D) or (B, T, D). ``nan_policy``: "error"
    (default), "drop" (drop the time steps that contain NaN/inf) or "fill"
    (replace by the previous finite value of that feature, 0 at the start).
    ``header``: None detects a non-numeric first row; True/False forces it.
    """
    if nan_policy not in NAN_POLICIES:
        raise ValueError(f"nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}.")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SequenceError("Expected the file's bytes.")
    data = bytes(data)
    if len(data) > max_bytes:
        raise SequenceError(f"The file is {len(data) / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB. "
                            "Upload fewer steps, or downsample the sequence first.")
    if not data.strip():
        raise SequenceError("The file is empty. Upload a file with at least 2 time steps.")
    ext = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in FORMATS:
        raise SequenceError(f"Unsupported file type {ext or '(no extension)'!r}. Use one of: {', '.join(FORMATS)}.")
    fmt = ext[1:]
    if fmt in ("csv", "tsv"):
        array, info = _delimited(_text(data, fmt), fmt, header)
    elif fmt == "npy":
        array, info = _npy(data), SequenceInfo("npy")
    elif fmt == "npz":
        array, info = _npz(data, npz_key)
    elif fmt == "json":
        array, info = _json(_text(data, fmt)), SequenceInfo("json")
    else:
        array, info = _characters(_text(data, fmt))
    return _finish(array, info, nan_policy)


def parse_typed(text: str, nan_policy: str = "error") -> tuple[Array, SequenceInfo]:
    """Numbers typed in a text box: one time step per line (or ';'), features separated by ',' or spaces."""
    if not text.strip():
        raise SequenceError("Type at least 2 numbers, one time step per line (or separated by ';').")
    rows = [r for r in text.replace(";", "\n").splitlines() if r.strip()]
    if len(rows) == 1:
        rows = rows[0].replace(",", " ").split()       # a single line of numbers: one feature over time
    array, info = _delimited("\n".join(rows), "text", header=False)
    return _finish(array, info, nan_policy)


# -- formats -------------------------------------------------------------------------------


def _text(data: bytes, fmt: str) -> str:
    if b"\x00" in data[:4096]:
        raise SequenceError(f"This .{fmt} file contains binary data (NUL bytes), not text. "
                            "Is it really a text file? NumPy arrays go in .npy or .npz files.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SequenceError(f"This .{fmt} file is not UTF-8 text (invalid byte at position {err.start}). "
                            "Save it as UTF-8 and upload it again.") from None


def _number(cell: str, row: int, col: int) -> float:
    try:
        return float(cell)
    except ValueError:
        shown = cell if len(cell) <= 30 else cell[:27] + "..."
        raise SequenceError(f"Row {row}, column {col}: {shown!r} is not a number. Every cell must be numeric "
                            "(a header row is allowed).") from None


def _delimited(text: str, fmt: str, header: bool | None) -> tuple[Array, SequenceInfo]:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise SequenceError("The file has no rows.")
    if fmt == "tsv":
        delimiter = "\t"
    else:
        sample = "\n".join(lines[:20])
        delimiter = next((d for d in (",", ";", "\t") if d in sample), None)
    if delimiter is None:
        rows = [ln.split() for ln in lines]
    else:
        rows = [[c.strip() for c in r] for r in csv.reader(lines, delimiter=delimiter)]
    names = None
    first_is_text = any(_not_number(c) for c in rows[0])
    if header or (header is None and first_is_text):
        names, rows = rows[0], rows[1:]
        if not rows:
            raise SequenceError("The file has a header row but no data rows.")
    width = len(rows[0])
    values = np.empty((len(rows), width), dtype=np.float64)
    for i, row in enumerate(rows):
        if len(row) != width:
            line = i + 1 + (names is not None)
            raise SequenceError(f"Row {line} has {len(row)} values but the first data row has {width}. "
                                "Every row must have the same number of columns.")
        for j, cell in enumerate(row):
            values[i, j] = _number(cell, i + 1 + (names is not None), j + 1)
    return values, SequenceInfo(fmt, header=names)


def _not_number(cell: str) -> bool:
    try:
        float(cell)
        return False
    except ValueError:
        return True


def _npy(data: bytes) -> Array:
    if not data.startswith(b"\x93NUMPY"):
        raise SequenceError("This .npy file does not start with NumPy's header: is it really a .npy file? "
                            "Save arrays with numpy.save.")
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise SequenceError("This .npy file holds Python objects (a pickled array), which are never loaded "
                                "here. Save a numeric array instead.") from None
        raise SequenceError(f"This .npy file is damaged or truncated ({err}).") from None
    except Exception as err:  # a truncated or corrupted file raises OSError, EOFError, ...
        raise SequenceError(f"This .npy file is damaged or truncated ({type(err).__name__}).") from None
    return _numeric(array, "The .npy array")


def _npz(data: bytes, key: str | None) -> tuple[Array, SequenceInfo]:
    if not data.startswith(b"PK"):
        raise SequenceError("This .npz file is not a NumPy archive (a zip of .npy files). Save with numpy.savez.")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            names = list(archive.files)
            if not names:
                raise SequenceError("This .npz archive contains no arrays.")
            name = key if key is not None else names[0]
            if name not in names:
                raise SequenceError(f"No array named {name!r} in this .npz; it has: {', '.join(names)}.")
            array = archive[name]
    except SequenceError:
        raise
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise SequenceError("This .npz array holds Python objects (pickled), which are never loaded here. "
                                "Save numeric arrays instead.") from None
        raise SequenceError(f"This .npz file cannot be read: {err}.") from None
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as err:
        raise SequenceError(f"This .npz file is damaged or truncated ({type(err).__name__}).") from None
    info = SequenceInfo("npz", arrays=names, array=name)
    if len(names) > 1:
        info.notes.append(f"The archive has {len(names)} arrays; using {name!r}. Pick another in the list.")
    return _numeric(array, f"Array {name!r}"), info


def _numeric(array: Array, what: str) -> Array:
    if array.dtype.kind not in "biuf":
        raise SequenceError(f"{what} has dtype {array.dtype}; it must hold numbers (integers or floats).")
    return array.astype(np.float64)


def _json(text: str) -> Array:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise SequenceError(f"This is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}). "
                            "Expected a list of numbers or a list of lists.") from None
    except RecursionError:
        raise SequenceError("This JSON is nested too deeply. Expected a list of numbers or a list of lists.") from None
    if not isinstance(value, list) or not value:
        raise SequenceError("Expected a JSON list of numbers, [1, 2, 3], or a list of lists, [[1, 2], [3, 4]].")
    depth, node = 0, value
    while isinstance(node, list):
        if not node:
            raise SequenceError("The JSON contains an empty list; every time step needs values.")
        depth, node = depth + 1, node[0]
    if depth > 3:
        raise SequenceError(f"The JSON is nested {depth} lists deep; at most 3: batch, time, features.")
    return _json_array(value, depth)


def _json_array(value, depth: int) -> Array:
    flat: list[float] = []
    shape: list[int] = []

    def walk(node, level: int, path: str) -> None:
        if level == depth:
            if isinstance(node, bool) or not isinstance(node, (int, float)):
                raise SequenceError(f"JSON value at {path} is {json.dumps(node)[:30]}, not a number.")
            flat.append(float(node))
            return
        if not isinstance(node, list):
            raise SequenceError(f"JSON value at {path} should be a list like its neighbours (ragged nesting).")
        if len(shape) <= level:
            shape.append(len(node))
        elif shape[level] != len(node):
            raise SequenceError(f"JSON list at {path} has {len(node)} items but the first one at that level has "
                                f"{shape[level]}: rows must all have the same length (ragged rows).")
        for i, child in enumerate(node):
            walk(child, level + 1, f"{path}[{i}]")

    walk(value, 0, "")
    return np.array(flat, dtype=np.float64).reshape(shape)


def _characters(text: str) -> tuple[Array, SequenceInfo]:
    chars = list(text.rstrip("\n")) if text.strip() else []
    vocab = sorted(set(chars))
    if len(vocab) > MAX_FEATURES:
        raise SequenceError(f"The text uses {len(vocab)} different characters; one-hot vectors are limited to "
                            f"{MAX_FEATURES}. Use a shorter or simpler text.")
    index = {c: i for i, c in enumerate(vocab)}
    ids = np.fromiter((index[c] for c in chars), dtype=np.int64, count=len(chars))
    one_hot = np.zeros((len(chars), len(vocab)), dtype=np.float64)
    one_hot[np.arange(len(chars)), ids] = 1.0
    info = SequenceInfo("txt", vocabulary=vocab)
    info.notes.append(f"{len(chars):,} characters, one-hot over a vocabulary of {len(vocab)}.")
    return one_hot, info


# -- checks common to every format --------------------------------------------------------------


def _finish(array: Array, info: SequenceInfo, nan_policy: str) -> tuple[Array, SequenceInfo]:
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim not in (2, 3):
        raise SequenceError(f"Got an array of shape {array.shape}; expected (T,), (T, D) or (B, T, D).")
    if array.ndim == 3 and array.shape[0] > MAX_BATCH:
        raise SequenceError(f"{array.shape[0]} sequences in the batch; the limit is {MAX_BATCH}.")
    if array.shape[-1] > MAX_FEATURES:
        raise SequenceError(f"{array.shape[-1]} features per step; the limit is {MAX_FEATURES}.")
    if array.shape[-1] == 0:
        raise SequenceError("The sequence has no features (zero columns).")
    array = _handle_non_finite(array, info, nan_policy)
    steps = array.shape[-2]
    if steps < 2:
        raise SequenceError(f"The sequence has {steps} time step{'s' if steps != 1 else ''}; an RNN needs at "
                            "least 2. Rows are time steps.")
    if steps > MAX_STEPS:
        raise SequenceError(f"The sequence has {steps:,} time steps; the limit is {MAX_STEPS:,}. "
                            "Upload a shorter part, or downsample it.")
    too_big = np.abs(array) > np.finfo(np.float32).max
    if too_big.any():
        raise SequenceError(f"{int(too_big.sum())} values are too large for float32 (over 3.4e38).")
    info.shape = tuple(array.shape)
    return array.astype(np.float32), info


def _handle_non_finite(array: Array, info: SequenceInfo, nan_policy: str) -> Array:
    bad = ~np.isfinite(array)
    if not bad.any():
        return array
    where = np.argwhere(bad)[0]
    step, feature = int(where[-2]), int(where[-1])
    if nan_policy == "error":
        raise SequenceError(f"{int(bad.sum())} values are NaN or infinite (first at time step {step + 1}, "
                            f"feature {feature + 1}). Choose 'drop' to remove those time steps, or 'fill' to "
                            "carry the previous value forward.")
    if nan_policy == "drop":
        bad_steps = bad.any(axis=-1) if array.ndim == 2 else bad.any(axis=(0, 2))
        info.dropped_rows = [int(i) for i in np.flatnonzero(bad_steps)]
        info.notes.append(f"Dropped {len(info.dropped_rows)} time steps with NaN or infinite values.")
        return array[..., ~bad_steps, :]
    info.filled_values = int(bad.sum())
    info.notes.append(f"Filled {info.filled_values} NaN/infinite values with the previous finite value "
                      "(0 at the start).")
    out = array.copy()
    seq = out if out.ndim == 3 else out[None]
    mask = ~np.isfinite(seq)
    for t in range(seq.shape[1]):
        previous = seq[:, t - 1] if t else np.zeros_like(seq[:, 0])
        seq[:, t][mask[:, t]] = previous[mask[:, t]]
    return out


# -- normalisation --------------------------------------------------------------------------


NORMALIZATIONS = ("none", "z-score", "min-max")


def normalize(x: Array, method: str) -> tuple[Array, dict[str, Array]]:
    """Per-feature normalisation over all steps (and sequences). Returns (x, the statistics used).

    z-score: (x - mean) / std (std 0 -> 1). min-max: (x - min) / (max - min) into [0, 1] (range 0 -> 1).
    """
    if method not in NORMALIZATIONS:
        raise ValueError(f"method must be one of {NORMALIZATIONS}, got {method!r}.")
    axes = tuple(range(x.ndim - 1))
    if method == "none":
        return x, {}
    if method == "z-score":
        mean, std = x.mean(axis=axes, dtype=np.float64), x.std(axis=axes, dtype=np.float64)
        std = np.where(std > 0, std, 1.0)
        return ((x - mean) / std).astype(np.float32), {"mean": mean, "std": std}
    lo, hi = x.min(axis=axes).astype(np.float64), x.max(axis=axes).astype(np.float64)
    span = np.where(hi > lo, hi - lo, 1.0)
    return ((x - lo) / span).astype(np.float32), {"min": lo, "max": hi}
