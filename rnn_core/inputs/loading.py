"""Turn an uploaded file into a sequence for the RNN, or say clearly why not.

``load_sequence(filename, data, **options)`` reads CSV/TSV, Parquet, Excel
(.xlsx), .npy, .npz, .json and .txt from bytes (never from a path, never
unpickling, never evaluating text or formulas) and returns a float32 array,
(T, D) or (B, T, D), with what it inferred and what else the file offers
(columns and their kinds, time values, sequence ids, labels, a mask). Sizes
are checked before data is read: a table's row and column counts, a zip's
uncompressed sizes, an .npy header's shape. Every problem raises
:class:`SequenceError` with a message a user can act on. Tables are read by
pandas (``table_readers``) and given meaning column by column (``tables``).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field

import numpy as np

from ..errors import SequenceError
from ..messages import N_, Message

Array = np.ndarray

MAX_BYTES = 20 * 2**20        # 20 MiB, also server.maxUploadSize in .streamlit/config.toml
MAX_STEPS = 100_000
MAX_FEATURES = 512
MAX_BATCH = 64
MAX_ARRAY_BYTES = 256 * 2**20  # .npy/.npz: one array as stored (shape x itemsize), before it is read
FORMATS = (".csv", ".tsv", ".parquet", ".xlsx", ".npy", ".npz", ".json", ".txt")
TABLE_FORMATS = ("csv", "tsv", "parquet", "xlsx")
NAN_POLICIES = ("error", "drop", "fill")
__all__ = ["SequenceError", "SequenceInfo", "load_sequence", "parse_typed", "normalize", "limits_text"]


@dataclass
class SequenceInfo:
    format: str                                   # "csv", "tsv", "parquet", "xlsx", "npy", "npz", "json", "txt", "text"
    shape: tuple[int, ...] = ()
    header: list[str] | None = None               # table column names, when the first row was a header
    # Tables (csv, tsv, parquet, xlsx): what was chosen, and what is available for pickers.
    columns: dict[str, str] = field(default_factory=dict)   # every column name -> "number", "time", "text", "empty"
    features: list[str] = field(default_factory=list)       # the feature columns used, in order (D of them)
    time_column: str | None = None                # the column used as the time axis (rows sorted by it)
    time_values: Array | None = None              # (T,) datetime64 or numbers of that column, in step order
    id_column: str | None = None                  # long format: the column naming each sequence
    ids: list[str] = field(default_factory=list)  # the sequences used, in batch order (B of them)
    all_ids: list[str] = field(default_factory=list)   # every id in the file, in order of first appearance
    suggested_id: str | None = None               # a text column that may be the sequence id (times repeat)
    label_column: str | None = None
    labels: Array | None = None                   # int64 class per step, (T,) or (B, T); padded steps 0
    label_per_sequence: bool = False              # the label is constant within each sequence
    class_names: list[str] = field(default_factory=list)    # labels index this list
    mask: Array | None = None                     # (B, T) bool, True where a step is real (ragged long format)
    sheet: str | None = None                      # .xlsx: the sheet read, and all of them
    sheets: list[str] = field(default_factory=list)
    preview: object = None                        # pandas.DataFrame: the first rows as read
    vocabulary: list[str] | None = None           # .txt: the characters, in one-hot order
    arrays: list[str] = field(default_factory=list)   # .npz: every array name; ``array`` is the one used
    array: str | None = None
    dropped_rows: list[int] = field(default_factory=list)   # time steps dropped for NaN/inf (0-based)
    filled_values: int = 0                        # NaN/inf values replaced by the previous finite value
    notes: list[str] = field(default_factory=list)   # Messages: the app shows them translated


def limits_text() -> Message:
    """The upload limits in one sentence (a Message: the app shows it translated)."""
    return Message(N_("Up to {megabytes} MB, {steps:,} time steps, {features} features and {sequences} sequences; "
                      "formats {formats}."), {"megabytes": MAX_BYTES // 2**20, "steps": MAX_STEPS,
                                              "features": MAX_FEATURES, "sequences": MAX_BATCH,
                                              "formats": ", ".join(FORMATS)})


def load_sequence(filename: str, data: bytes, *, nan_policy: str = "error", npz_key: str | None = None,
                  header: bool | None = None, max_bytes: int = MAX_BYTES, columns: list[str] | None = None,
                  time_column: str | None = "auto", id_column: str | None = None, label_column: str | None = None,
                  sheet: str | None = None, ids: list[str] | None = None,
                  max_batch: int = MAX_BATCH) -> tuple[Array, SequenceInfo]:
    """Parse ``data`` by the extension of ``filename``.

    Returns (array, info): float32 (T, D) or (B, T, D). ``nan_policy``: "error"
    (default), "drop" (drop the time steps that contain NaN/inf) or "fill"
    (replace by the previous finite value of that feature, 0 at the start).
    ``header``: None detects a non-numeric first row; True/False forces it.

    Tables only (csv, tsv, parquet, xlsx): ``columns`` the feature columns
    (default: every numeric column); ``time_column`` the time axis ("auto":
    the first date/time column; None: rows in file order); ``id_column`` makes
    each id one sequence of a batch (long format), at most ``max_batch`` of
    them, or the ``ids`` given; ``label_column`` gives ``info.labels``;
    ``sheet`` the .xlsx sheet (default the first).
    """
    if nan_policy not in NAN_POLICIES:
        raise ValueError(f"nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}.")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SequenceError(N_("Expected the file's bytes."))
    data = bytes(data)
    if len(data) > max_bytes:
        raise SequenceError(N_("The file is {size:.1f} MB; the limit is {limit:.0f} MB. Upload fewer steps, or "
                               "downsample the sequence first."),
                            size=len(data) / 2**20, limit=max_bytes / 2**20)
    if not data or data.isspace():          # (no stripped copy of a 20 MB upload)
        raise SequenceError(N_("The file is empty. Upload a file with at least 2 time steps."))
    ext = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in FORMATS:
        raise SequenceError(N_("Unsupported file type {ext!r}. Use one of: {formats}."),
                            ext=ext or Message(N_("(no extension)")), formats=', '.join(FORMATS))
    fmt = ext[1:]
    if fmt in TABLE_FORMATS:
        array, info = _table(data, fmt, header, nan_policy, dict(
            columns=columns, time_column=time_column, id_column=id_column, label_column=label_column, ids=ids,
            max_batch=min(max_batch, MAX_BATCH)), sheet)
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
        raise SequenceError(N_("Type at least 2 numbers, one time step per line (or separated by ';')."))
    rows = [r for r in text.replace(";", "\n").splitlines() if r.strip()]
    if len(rows) == 1:
        rows = rows[0].replace(",", " ").split()       # a single line of numbers: one feature over time
    from . import table_readers, tables

    table = table_readers.read_delimited("\n".join(rows), "text", header=False)
    info = SequenceInfo("text")
    array = tables.to_sequence(table, info, max_batch=MAX_BATCH, max_features=MAX_FEATURES, nan_policy=nan_policy,
                               time_column=None)
    return _finish(array, info, nan_policy)


# -- formats -------------------------------------------------------------------------------


def _text(data: bytes, fmt: str) -> str:
    if b"\x00" in data[:4096]:
        raise SequenceError(N_("This .{fmt} file contains binary data (NUL bytes), not text. Is it really a text "
                               "file? NumPy arrays go in .npy or .npz files."),
                            fmt=fmt)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SequenceError(N_("This .{fmt} file is not UTF-8 text (invalid byte at position {start}). Save it as "
                               "UTF-8 and upload it again."),
                            fmt=fmt, start=err.start) from None


def _table(data: bytes, fmt: str, header: bool | None, nan_policy: str, options: dict,
           sheet: str | None) -> tuple[Array, SequenceInfo]:
    from . import table_readers, tables

    if fmt == "parquet":
        table = table_readers.read_parquet(data)
    elif fmt == "xlsx":
        table = table_readers.read_xlsx(data, sheet, header)
    else:
        table = table_readers.read_delimited(_text(data, fmt), fmt, header, raw=data)
    info = SequenceInfo(fmt, sheet=table.sheet, sheets=table.sheets)
    try:
        array = tables.to_sequence(table, info, max_features=MAX_FEATURES, nan_policy=nan_policy, **options)
    except SequenceError as err:
        err.info = info        # the table was read: its columns are known, so a caller can offer other choices
        raise
    return array, info


def _npy(data: bytes) -> Array:
    if not data.startswith(b"\x93NUMPY"):
        raise SequenceError(N_("This .npy file does not start with NumPy's header: is it really a .npy file? Save "
                               "arrays with numpy.save."))
    stream = io.BytesIO(data)
    _check_npy_header(stream, len(data), Message(N_("The .npy array")))
    stream.seek(0)
    return _numeric(_read_npy(stream, Message(N_("This .npy file"))), Message(N_("The .npy array")))


def _check_npy_header(stream, stored_size: int, what: str) -> None:
    """Read an .npy header (never the data) and refuse what the limits forbid before anything is allocated.

    The header states dtype and shape; shape x itemsize is what reading would
    allocate, so a small file that claims a billion rows is refused here.
    ``stored_size`` is the size of the whole .npy (header and data) as stored.
    """
    from numpy.lib import format as npformat

    try:
        version = npformat.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = npformat.read_array_header_1_0(stream, max_header_size=10_000)
        elif version == (2, 0):
            shape, _, dtype = npformat.read_array_header_2_0(stream, max_header_size=10_000)
        else:
            raise SequenceError(N_("{what} uses .npy format version {version}.{version2}; versions 1.0 and 2.0 "
                                   "(numpy.save) are read here."),
                                what=what, version=version[0], version2=version[1])
    except SequenceError:
        raise
    except Exception as err:   # a damaged header raises ValueError, SyntaxError, EOFError, ...
        raise SequenceError(N_("{what} has a damaged .npy header ({error}: {err})."),
                            what=what, error=type(err).__name__, err=str(err)[:120]) from None
    if dtype.hasobject:
        raise SequenceError(N_("{what} holds Python objects (a pickled array), which are never loaded here. Save a "
                               "numeric array instead."), what=what)
    if dtype.kind not in "biuf":
        raise SequenceError(N_("{what} has dtype {dtype}; it must hold numbers (integers or floats)."),
                            what=what, dtype=dtype)
    _check_shape(tuple(shape))
    claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if claimed > MAX_ARRAY_BYTES:
        raise SequenceError(N_("{what} would take {claimed:,.0f} MB ({shape}, {dtype}); the limit is "
                               "{max_array_bytes} MB. Upload fewer steps or features."),
                            what=what, claimed=claimed / 2**20, shape=shape, dtype=dtype,
                            max_array_bytes=MAX_ARRAY_BYTES // 2**20)
    if stored_size > claimed + stream.tell() + 64:
        raise SequenceError(N_("{what} is larger than its header says ({stored_size:,} bytes for {claimed:,} bytes "
                               "of data): the file is damaged."),
                            what=what, stored_size=stored_size, claimed=claimed)


def _read_npy(stream, what: str) -> Array:
    try:
        return np.load(stream, allow_pickle=False)
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise SequenceError(N_("{what} holds Python objects (a pickled array), which are never loaded here. Save "
                                   "a numeric array instead."), what=what) from None
        raise SequenceError(N_("{what} is damaged or truncated ({err})."),
                            what=what, err=err) from None
    except Exception as err:  # a truncated or corrupted file raises OSError, EOFError, ...
        raise SequenceError(N_("{what} is damaged or truncated ({error})."),
                            what=what, error=type(err).__name__) from None


def _npz(data: bytes, key: str | None) -> tuple[Array, SequenceInfo]:
    """An .npz: every member's directory entry and .npy header are checked before the chosen array is read."""
    if not data.startswith(b"PK"):
        raise SequenceError(N_("This .npz file is not a NumPy archive (a zip of .npy files). Save with numpy.savez."))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = {m.filename[:-4] if m.filename.endswith(".npy") else m.filename: m for m in archive.infolist()}
        if not members:
            raise SequenceError(N_("This .npz archive contains no arrays."))
        names = list(members)
        name = key if key is not None else names[0]
        if name not in members:
            raise SequenceError(N_("No array named {name!r} in this .npz; it has: {names}."),
                                name=name, names=', '.join(names))
        for member_name, member in members.items():
            what = Message(N_("Array {name!r}"), {"name": member_name})
            if member.file_size > MAX_ARRAY_BYTES + 65_536:
                raise SequenceError(N_("{what} is {file_size:,.0f} MB uncompressed; the limit is {max_array_bytes} "
                                       "MB. Upload fewer steps or features."),
                                    what=what, file_size=member.file_size / 2**20,
                                    max_array_bytes=MAX_ARRAY_BYTES // 2**20)
            with archive.open(member) as stream:
                head = stream.read(65_536 + 12)
            if not head.startswith(b"\x93NUMPY"):
                raise SequenceError(N_("{what} in this .npz is not an .npy array (no NumPy header). Save with "
                                       "numpy.savez."), what=what)
            _check_npy_header(io.BytesIO(head), member.file_size, what)
        with archive.open(members[name]) as stream:
            array = _read_npy(io.BytesIO(stream.read(members[name].file_size + 1)),
                              Message(N_("Array {name!r}"), {"name": name}))
    except SequenceError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, ValueError, NotImplementedError, RuntimeError) as err:
        raise SequenceError(N_("This .npz file is damaged or truncated ({error})."),
                            error=type(err).__name__) from None
    info = SequenceInfo("npz", arrays=names, array=name)
    if len(names) > 1:
        info.notes.append(Message(N_("The archive has {n_names} arrays; using {name!r}. Pick another in the list."),
                                  {"n_names": len(names), "name": name}))
    return _numeric(array, Message(N_("Array {name!r}"), {"name": name})), info


def _numeric(array: Array, what: str) -> Array:
    if array.dtype.kind not in "biuf":
        raise SequenceError(N_("{what} has dtype {dtype}; it must hold numbers (integers or floats)."),
                            what=what, dtype=array.dtype)
    return array.astype(np.float64)


def _json(text: str) -> Array:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise SequenceError(N_("This is not valid JSON (line {lineno}, column {colno}: {msg}). Expected a list of "
                               "numbers or a list of lists."),
                            lineno=err.lineno, colno=err.colno, msg=err.msg) from None
    except RecursionError:
        raise SequenceError(N_("This JSON is nested too deeply. "
                               "Expected a list of numbers or a list of lists.")) from None
    if not isinstance(value, list) or not value:
        raise SequenceError(N_("Expected a JSON list of numbers, [1, 2, 3], or a list of lists, [[1, 2], [3, 4]]."))
    depth, node = 0, value
    while isinstance(node, list):
        if not node:
            raise SequenceError(N_("The JSON contains an empty list; every time step needs values."))
        depth, node = depth + 1, node[0]
    if depth > 3:
        raise SequenceError(N_("The JSON is nested {depth} lists deep; at most 3: batch, time, features."),
                            depth=depth)
    return _json_array(value, depth)


def _json_array(value, depth: int) -> Array:
    flat: list[float] = []
    shape: list[int] = []

    def walk(node, level: int, path: str) -> None:
        if level == depth:
            if isinstance(node, bool) or not isinstance(node, (int, float)):
                raise SequenceError(N_("JSON value at {path} is {value}, not a number."),
                                    path=path, value=json.dumps(node)[:30])
            flat.append(float(node))
            return
        if not isinstance(node, list):
            raise SequenceError(N_("JSON value at {path} should be a list like its neighbours (ragged nesting)."),
                                path=path)
        if len(shape) <= level:
            shape.append(len(node))
        elif shape[level] != len(node):
            raise SequenceError(N_("JSON list at {path} has {n_node} items but the first one at that level has "
                                   "{shape}: rows must all have the same length (ragged rows)."),
                                path=path, n_node=len(node), shape=shape[level])
        for i, child in enumerate(node):
            walk(child, level + 1, f"{path}[{i}]")

    walk(value, 0, "")
    return np.array(flat, dtype=np.float64).reshape(shape)


def _characters(text: str) -> tuple[Array, SequenceInfo]:
    chars = list(text.rstrip("\n")) if text.strip() else []
    vocab = sorted(set(chars))
    if len(vocab) > MAX_FEATURES:
        raise SequenceError(N_("The text uses {n_vocab} different characters; one-hot vectors are limited to "
                               "{max_features}. Use a shorter or simpler text."),
                            n_vocab=len(vocab), max_features=MAX_FEATURES)
    index = {c: i for i, c in enumerate(vocab)}
    ids = np.fromiter((index[c] for c in chars), dtype=np.int64, count=len(chars))
    one_hot = np.zeros((len(chars), len(vocab)), dtype=np.float64)
    one_hot[np.arange(len(chars)), ids] = 1.0
    info = SequenceInfo("txt", vocabulary=vocab)
    info.notes.append(Message(N_("{n_chars:,} characters, one-hot over a vocabulary of {n_vocab}."),
                              {"n_chars": len(chars), "n_vocab": len(vocab)}))
    return one_hot, info


# -- checks common to every format --------------------------------------------------------------


def _check_shape(shape: tuple[int, ...]) -> None:
    """Limits that follow from the shape alone (checked on .npy headers before any data is read)."""
    if len(shape) == 1:
        shape = shape + (1,)
    if len(shape) not in (2, 3):
        raise SequenceError(N_("Got an array of shape {shape}; expected (T,), (T, D) or (B, T, D)."),
                            shape=shape)
    if len(shape) == 3 and shape[0] > MAX_BATCH:
        raise SequenceError(N_("{shape:,} sequences in the batch; the limit is {max_batch}."),
                            shape=shape[0], max_batch=MAX_BATCH)
    if shape[-1] > MAX_FEATURES:
        raise SequenceError(N_("{shape} features per step; the limit is {max_features}."),
                            shape=shape[-1], max_features=MAX_FEATURES)
    if shape[-1] == 0:
        raise SequenceError(N_("The sequence has no features (zero columns)."))
    if shape[-2] > MAX_STEPS:
        raise SequenceError(N_("The sequence has {shape:,} time steps; the limit is {max_steps:,}. Upload a shorter "
                               "part, or downsample it."),
                            shape=shape[-2], max_steps=MAX_STEPS)


def _finish(array: Array, info: SequenceInfo, nan_policy: str) -> tuple[Array, SequenceInfo]:
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim not in (2, 3):
        raise SequenceError(N_("Got an array of shape {shape}; expected (T,), (T, D) or (B, T, D)."),
                            shape=array.shape)
    _check_shape(array.shape)
    array = _handle_non_finite(array, info, nan_policy)
    steps = array.shape[-2]
    if steps < 2:
        template = (N_("The sequence has {steps} time step; an RNN needs at least 2. Rows are time steps.")
                    if steps == 1
                    else N_("The sequence has {steps} time steps; an RNN needs at least 2. Rows are time steps."))
        raise SequenceError(template, steps=steps)
    if steps > MAX_STEPS:
        raise SequenceError(N_("The sequence has {steps:,} time steps; the limit is {max_steps:,}. Upload a shorter "
                               "part, or downsample it."),
                            steps=steps, max_steps=MAX_STEPS)
    too_big = np.abs(array) > np.finfo(np.float32).max
    if too_big.any():
        raise SequenceError(N_("{count} values are too large for float32 (over 3.4e38)."),
                            count=int(too_big.sum()))
    info.shape = tuple(array.shape)
    return array.astype(np.float32), info


def _handle_non_finite(array: Array, info: SequenceInfo, nan_policy: str) -> Array:
    bad = ~np.isfinite(array)
    if not bad.any():
        return array
    where = np.argwhere(bad)[0]
    step, feature = int(where[-2]), int(where[-1])
    if nan_policy == "error":
        raise SequenceError(N_("{count} values are NaN or infinite (first at time step {step}, feature {feature}). "
                               "Choose 'drop' to remove those time steps, or 'fill' to carry the previous value "
                               "forward."),
                            count=int(bad.sum()), step=step + 1, feature=feature + 1)
    if nan_policy == "drop":
        bad_steps = bad.any(axis=-1) if array.ndim == 2 else bad.any(axis=(0, 2))
        info.dropped_rows = [int(i) for i in np.flatnonzero(bad_steps)]
        info.notes.append(Message(N_("Dropped {n_dropped_rows} time steps with NaN or infinite values."),
                                  {"n_dropped_rows": len(info.dropped_rows)}))
        return array[..., ~bad_steps, :]
    info.filled_values = int(bad.sum())
    info.notes.append(Message(N_("Filled {filled_values} NaN/infinite values with the previous finite value (0 at "
                                 "the start)."),
                              {"filled_values": info.filled_values}))
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
