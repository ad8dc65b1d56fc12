"""Inspect a user's ``.keras`` file before Keras reads any of it.

Opening a stranger's model file is the most dangerous thing the app does: Keras
model loading has had code execution (Lambda bytecode, configs that import any
module, safe_mode switched off from inside the config, legacy ``.h5`` ignoring
safe_mode), file reads (HDF5 external storage, StringLookup vocabulary paths),
path traversal and memory exhaustion (zip bombs, HDF5 datasets with huge
logical shapes) holes. So :func:`inspect_model_file` reads the archive itself,
with ``zipfile``, ``json`` and (for the weights' metadata only) ``h5py``, and
refuses with a :class:`ModelFileError` anything that is not a small, plain
Sequential or Functional model made of a few built-in layers. Keras sees the
file only after it passed (``rnn_core.keras_bridge.load_model_file``).

What a ``.keras`` file holds (keras/src/saving/saving_lib.py): a zip with
``metadata.json`` (``keras_version``, ``date_saved``), ``config.json`` (the
model's ``serialize_keras_object`` tree: every object is a dict with
``module``, ``class_name``, ``config``, ``registered_name`` and often
``build_config``) and ``model.weights.h5`` (one group per layer, named after
the snake-cased class, e.g. ``layers/simple_rnn/cell/vars/0``), optionally an
``assets/`` directory (no layer allowed here has assets).

The checks, in order (each refusal says what to do instead):

1. The bytes: at most ``MAX_FILE_BYTES``; a zip archive (a pickle, a legacy
   HDF5 model, a weights-only file, JSON or random bytes are named as such);
   the zip's end record is read first (at most ``MAX_MEMBERS`` entries in a
   directory of at most ``MAX_DIRECTORY_BYTES``, no ZIP64), then the directory
   must parse (truncated/damaged files are refused).
2. The members, from the zip's central directory, before anything is
   decompressed: only ``config.json``, ``metadata.json``, ``model.weights.h5``
   and an empty ``assets/`` entry; no absolute paths, ``..``, backslashes,
   drive letters, duplicates, symlinks or other special files, encryption or
   unusual compression; sizes within ``MAX_CONFIG_BYTES``,
   ``MAX_METADATA_BYTES``, ``MAX_WEIGHTS_BYTES`` and ``MAX_TOTAL_BYTES``.
   Each member is then read in chunks with a byte counter that stops at its
   cap whatever the headers claim.
3. The config (``rnn_core.saving.model_config``), walked recursively: every object (any dict with a
   ``class_name``) must be on an allowlist of (module, class_name,
   registered_name): the layers in ``LAYER_CLASSES``, Sequential/Functional,
   the initializers in ``INITIALIZER_CLASSES``, L1/L2 regularizers, float
   dtype policies, Keras' own functional-graph tensors; in ``compile_config``
   (never deserialized with ``compile=False``) only built-in optimizers,
   losses and metrics. So no Lambda, no ``__lambda__`` bytecode, no
   ``function`` objects, no custom or registered classes, no module outside
   Keras. Activations are names from ``ACTIVATIONS``, constraints must be
   None, layer names are plain (no ``/``, ``..``), dtype policies are float32
   or float64 (mixed precision would not give float32-exact twins).
4. Shapes and parameters computed from the config alone, with the stated caps
   (``MAX_UNITS``, ``MAX_DIM``, ``MAX_LAYERS``, ``MAX_PARAMS``), and every
   ``build_config`` equal to the computed input shape (Keras builds, so
   allocates, from it), before a single weight is allocated.
5. ``model.weights.h5`` (required): opened with h5py from memory, metadata
   only: hard links only (no external or soft links), every dataset plain
   (no external storage, no virtual dataset, no filters) with exactly the
   shape and dtype the config implies; optimizer slots only scalars or the
   model's own weight shapes; the total bytes within ``MAX_WEIGHTS_BYTES``.

Legacy ``.h5`` full models are refused with a message to re-save them as
``.keras``: Keras loads them through ``legacy_h5_format``, which ignored
safe_mode (CVE-2025-9905) and reads the config from HDF5 attributes with a
different schema; checking that schema too would double the attack surface
for a format Keras itself deprecates. ``model.weights.npz`` and the generic
``RNN(cell=...)`` layer are refused for the same reason (not needed here).
"""

from __future__ import annotations

import io
import json
import re
import stat
import struct
import zipfile
from dataclasses import dataclass
from math import prod
from typing import Any

from ..inputs.loading import MAX_BYTES
from ..messages import N_, Message
from .model_config import (  # noqa: F401 - the limits and classes are part of this module's API
    ACTIVATIONS,
    DTYPE_POLICIES,
    LAYER_CLASSES,
    MAX_DIM,
    MAX_LAYERS,
    MAX_PARAMS,
    MAX_UNITS,
    RESAVE,
    LayerRow,
    ModelFileError,
    RecurrentLayer,
    Shape,
    parse_model_config,
)
from .text_record import TextRecord, read_text_record

# -- caps (every one is checked before the resource is used) --------------------

MAX_FILE_BYTES = MAX_BYTES                # the upload limit, 20 MiB
MAX_CONFIG_BYTES = 2**20                  # config.json: 1 MiB (real ones are a few KiB)
MAX_METADATA_BYTES = 64 * 2**10           # metadata.json: 64 KiB
MAX_WEIGHTS_BYTES = MAX_BYTES             # model.weights.h5: 20 MiB
MAX_TOTAL_BYTES = MAX_CONFIG_BYTES + MAX_METADATA_BYTES + MAX_WEIGHTS_BYTES   # all members decompressed
MAX_MEMBERS = 8
MAX_DIRECTORY_BYTES = 64 * 2**10         # the zip's central directory, read before zipfile parses it
_MEMBERS = {"config.json": MAX_CONFIG_BYTES, "metadata.json": MAX_METADATA_BYTES,
            "model.weights.h5": MAX_WEIGHTS_BYTES}


@dataclass(frozen=True)
class ModelFileInfo:
    """What :func:`inspect_model_file` found; nothing here came from running Keras."""

    filename: str
    model_name: str
    model_class: str                       # Sequential or Functional
    keras_version: str | None              # from metadata.json
    input_shape: Shape                     # (batch, timesteps, features) as saved; None where free
    layers: tuple[LayerRow, ...]
    recurrent_layers: tuple[RecurrentLayer, ...]
    total_params: int
    weights_bytes: int
    text: TextRecord | None = None         # the character task it learned, when the app saved it (text_record.py)

    def layer_table(self) -> list[dict[str, Any]]:
        """The layer table as records (e.g. for pandas.DataFrame); the keys, its column headers, are Messages
        (equal to "layer", "class", "output shape", "parameters") that the app shows translated."""
        return [{_LAYER: r.name, _CLASS: r.class_name, _OUTPUT_SHAPE: r.output_shape, _PARAMETERS: r.params}
                for r in self.layers]


_LAYER, _CLASS, _OUTPUT_SHAPE, _PARAMETERS = (Message(N_("layer")), Message(N_("class")), Message(N_("output shape")),
                                              Message(N_("parameters")))


# -- entry point ----------------------------------------------------------------


def inspect_model_file(filename: str, data: bytes) -> ModelFileInfo:
    """Check a ``.keras`` file without Keras; raise ModelFileError with an actionable message.

    Args:
        filename: the uploaded file's name (only its extension is used, for messages).
        data: the file's bytes.

    Returns:
        ModelFileInfo: model name and class, layer table, recurrent layers, input shape, Keras version.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ModelFileError(N_("Expected the bytes of a .keras file."))
    data = bytes(data)
    if len(data) == 0:
        raise ModelFileError(N_("The file is empty. {resave}"), resave=RESAVE)
    if len(data) > MAX_FILE_BYTES:
        raise ModelFileError(N_("The file is {size}; the limit is {limit}. Upload a smaller model (the explorer "
                                "shows layers of up to {max_units} units)."),
                             size=_mb(len(data)), limit=_mb(MAX_FILE_BYTES), max_units=MAX_UNITS)
    _refuse_other_formats(str(filename), data)
    with _open_zip(data) as zf:
        infos = _check_members(zf)
        config = _read_json(zf, infos["config.json"], "config.json")
        metadata = _read_json(zf, infos["metadata.json"], "metadata.json") if "metadata.json" in infos else {}
        try:
            model = parse_model_config(config)
        except ModelFileError:
            raise
        except (TypeError, KeyError, AttributeError, IndexError, ValueError, RecursionError) as e:  # a safety net
            raise ModelFileError(N_("config.json is malformed ({error}). {resave}"),
                                 error=type(e).__name__, resave=RESAVE) from None
        weights = _read_member(zf, infos["model.weights.h5"])
    weights_bytes = _check_weights(weights, model.expected, model.weight_shapes)
    version = metadata.get("keras_version") if isinstance(metadata, dict) else None
    if version is not None and (not isinstance(version, str) or len(version) > 32):
        raise ModelFileError(N_("metadata.json has an invalid keras_version. {resave}"),
                             resave=RESAVE)
    if isinstance(version, str) and not version.startswith("3."):
        raise ModelFileError(N_("The file was saved by Keras {version}; only Keras 3 files are read. {resave}"),
                             version=version, resave=RESAVE)
    return ModelFileInfo(str(filename), model.name, model.class_name, version, model.input_shape,
                         tuple(model.rows), tuple(model.recurrent), model.params, weights_bytes,
                         read_text_record(metadata))


# -- 1. the bytes ------------------------------------------------------------------


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n < 2**30 else f"{n / 2**30:.1f} GB"


def _refuse_other_formats(filename: str, data: bytes) -> None:
    lower = filename.lower()
    if data[:8] == b"\x89HDF\r\n\x1a\n":
        if lower.endswith(".weights.h5"):
            raise ModelFileError(N_("This is a weights-only file (.weights.h5); the explorer needs the whole model. "
                                    "{resave}"), resave=RESAVE)
        raise ModelFileError(N_("This is a legacy HDF5 model (.h5). Keras loads that format without safe_mode's "
                                "protection, so the explorer does not open it. {resave}"),
                             resave=RESAVE)
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise ModelFileError(N_("This is a Python pickle, not a Keras model; pickles can run code when opened, so "
                                "the explorer never reads them. {resave}"),
                             resave=RESAVE)
    if data[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        if data.lstrip()[:1] in (b"{", b"["):
            raise ModelFileError(N_("This is a JSON file, not a whole .keras model (a .keras file is a zip holding "
                                    "config.json and model.weights.h5). {resave}"),
                                 resave=RESAVE)
        raise ModelFileError(N_("This is not a Keras model: a .keras file is a zip archive and this file is not one "
                                "(random or unknown bytes). {resave}"),
                             resave=RESAVE)
    if not lower.endswith(".keras"):
        raise ModelFileError(N_("Expected a .keras file, got {filename!r}. {resave}"),
                             filename=filename, resave=RESAVE)


def _open_zip(data: bytes) -> zipfile.ZipFile:
    _check_directory_record(data)
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError, NotImplementedError) as e:
        raise ModelFileError(N_("The file starts like a .keras archive but is truncated or damaged ({e}). Upload the "
                                "complete file again, or re-save it."), e=e) from None


def _check_directory_record(data: bytes) -> None:
    """Bound the zip's directory from its end record before zipfile builds an object per entry.

    zipfile parses the whole central directory (its size comes from this record) into
    ZipInfo objects; 20 MB of tiny entries would be hundreds of thousands of them.
    """
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65535))
    if end < 0 or len(data) - end < 22:
        raise ModelFileError(N_("The file starts like a .keras archive but is truncated or damaged (its directory at "
                                "the end is missing). Upload the complete file again, or re-save it."))
    entries, directory_bytes = struct.unpack("<HI", data[end + 10:end + 16])
    if data[max(0, end - 20):end - 16] == b"PK\x06\x07" or entries == 0xFFFF or directory_bytes == 0xFFFFFFFF:
        raise ModelFileError(N_("The archive uses the ZIP64 format, which Keras does not write for files this small. "
                                "{resave}"), resave=RESAVE)
    if entries > MAX_MEMBERS or directory_bytes > MAX_DIRECTORY_BYTES:
        raise ModelFileError(N_("The archive lists {entries:,} files in a {directory_bytes:,}-byte directory; a "
                                ".keras model holds at most {max_members}. {resave}"),
                             entries=entries, directory_bytes=directory_bytes, max_members=MAX_MEMBERS,
                             resave=RESAVE)


# -- 2. the members ------------------------------------------------------------------


def _check_members(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ModelFileError(N_("The archive holds {n_infos} files; a .keras model holds at most {max_members}. "
                                "{resave}"),
                             n_infos=len(infos), max_members=MAX_MEMBERS, resave=RESAVE)
    found: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        _check_member_name(name)
        if name in found:
            raise ModelFileError(N_("The archive holds {name!r} twice; refusing an ambiguous file. {resave}"),
                                 name=name, resave=RESAVE)
        if info.flag_bits & 0x1:
            raise ModelFileError(N_("{name!r} is encrypted; Keras never writes encrypted files. {resave}"),
                                 name=name, resave=RESAVE)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ModelFileError(N_("{name!r} uses an unusual compression; Keras stores files uncompressed. {resave}"),
                                 name=name, resave=RESAVE)
        mode = info.external_attr >> 16
        kind = stat.S_IFMT(mode)
        if name == "assets/":
            if info.file_size != 0 or kind not in (0, stat.S_IFDIR):
                raise ModelFileError(N_("'assets/' must be an empty directory (no layer allowed here has assets)."))
            continue
        if name not in _MEMBERS:
            if name.endswith(".pkl") or "data.pkl" in name:
                refusal = N_("The archive holds {name!r} (this looks like a PyTorch file); a .keras model holds only "
                             "config.json, metadata.json, model.weights.h5 and an empty assets/. {resave}")
            else:
                refusal = N_("The archive holds {name!r}; a .keras model holds only config.json, metadata.json, "
                             "model.weights.h5 and an empty assets/. {resave}")
            raise ModelFileError(refusal, name=name, resave=RESAVE)
        if kind not in (0, stat.S_IFREG):
            raise ModelFileError(N_("{name!r} is a link or special file, not a plain file; refusing it."),
                                 name=name)
        if info.file_size > _MEMBERS[name]:
            raise ModelFileError(N_("{name} is {size} once unpacked; the limit is {limit}. Refusing it before "
                                    "unpacking (a real model's config.json is a few KB; this may be a zip bomb)."),
                                 name=name, size=_mb(info.file_size), limit=_mb(_MEMBERS[name]))
        total += info.file_size
        found[name] = info
    if total > MAX_TOTAL_BYTES:
        raise ModelFileError(N_("The archive unpacks to {size}; the limit is {limit}."),
                             size=_mb(total), limit=_mb(MAX_TOTAL_BYTES))
    for required in ("config.json", "model.weights.h5"):
        if required not in found:
            raise ModelFileError(N_("The archive has no {required}, so it is not a complete Keras 3 model. {resave}"),
                                 required=required, resave=RESAVE)
    return found


def _check_member_name(name: str) -> None:
    parts = name.split("/")
    if (name.startswith("/") or "\\" in name or "\x00" in name or ":" in name or ".." in parts
            or any(p == "" for p in parts[:-1]) or len(name) > 255):
        raise ModelFileError(N_("The archive holds a file named {name!r}, a path that could point outside its folder "
                                "(absolute, '..', backslash or drive). Refusing it."),
                             name=name)


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytearray:
    """Decompress one member into one buffer of its declared size, stopping at its cap whatever it holds."""
    cap = _MEMBERS[info.filename]
    out = bytearray(min(info.file_size, cap))     # the declared size was checked against the cap
    size = 0
    try:
        with zf.open(info) as f:
            while chunk := f.read(min(64 * 2**10, cap + 1 - size)):
                if size + len(chunk) > cap:
                    raise ModelFileError(N_("{filename} unpacks to more than {limit} although its header says less; "
                                            "refusing it (this looks like a zip bomb)."),
                                         filename=info.filename, limit=_mb(cap))
                out[size:size + len(chunk)] = chunk
                size += len(chunk)
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, RuntimeError) as e:
        raise ModelFileError(N_("{filename} inside the archive is damaged ({e}). Upload the complete file again, or "
                                "re-save it."), filename=info.filename, e=e) from None
    del out[size:]
    return out


def _read_json(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> Any:
    raw = _read_member(zf, info)
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as e:   # bad UTF-8 or JSON, a 5,000-digit number, deep nesting
        raise ModelFileError(N_("{name} is not valid JSON ({error}). {resave}"),
                             name=name, error=type(e).__name__, resave=RESAVE) from None


# -- 5. the weights' metadata -----------------------------------------------------------


class _ReadOnlyBuffer(io.RawIOBase):
    """A read-only file over a bytearray, so h5py reads the weights without a second copy."""

    def __init__(self, data: bytearray) -> None:
        self._view, self._pos = memoryview(data), 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = max(0, min(len(buffer), len(self._view) - self._pos))
        buffer[:n] = self._view[self._pos:self._pos + n]
        self._pos += n
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos


def _check_weights(raw: bytearray, expected: dict[str, tuple[Shape, str]], shapes: set[Shape]) -> int:
    """Check model.weights.h5 without reading a weight: links, storage, shapes, dtypes, total bytes."""
    import h5py  # noqa: PLC0415 - comes with TensorFlow; only metadata is read

    try:
        f = h5py.File(_ReadOnlyBuffer(raw), "r")
    except Exception as e:  # noqa: BLE001 - h5py raises OSError/ValueError/KeyError for bad files
        raise ModelFileError(N_("model.weights.h5 inside the archive is not a readable HDF5 file ({error}). {resave}"),
                             error=type(e).__name__, resave=RESAVE) from None
    try:
        with f:
            total, seen = _check_h5_objects(h5py, f, expected, shapes)
    except ModelFileError:
        raise
    except Exception as e:  # noqa: BLE001 - a damaged file can make h5py raise almost anything
        raise ModelFileError(N_("model.weights.h5 inside the archive is damaged ({error}). {resave}"),
                             error=type(e).__name__, resave=RESAVE) from None
    missing = sorted(set(expected) - seen)
    if missing:
        raise ModelFileError(N_("model.weights.h5 lacks {n_missing} weight(s) the config needs, e.g. {missing!r}. "
                                "{resave}"),
                             n_missing=len(missing), missing=missing[0], resave=RESAVE)
    return total


def _check_h5_objects(h5py, f, expected: dict[str, tuple[Shape, str]], shapes: set[Shape]) -> tuple[int, set]:
    """Every link and dataset of the open file; returns (total bytes, the expected paths seen)."""
    import numpy as np  # noqa: PLC0415

    links: list[str] = []
    limit = 16 * len(expected) + 64                # groups and datasets of the layers, optimizer slots
    f.visit_links(lambda name: links.append(name) or (True if len(links) > limit else None))  # stops early
    if len(links) > limit:
        raise ModelFileError(N_("model.weights.h5 holds far more entries than the layers in config.json need. "
                                "{resave}"), resave=RESAVE)
    seen, total = set(), 0
    for path in links:
        link = f.get(path, getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise ModelFileError(N_("model.weights.h5 has a {error} at {path!r}; it could point at another file on "
                                    "the server. Refusing it."),
                                 error=type(link).__name__, path=path)
        obj = f[path]
        if isinstance(obj, h5py.Group):
            continue
        if not isinstance(obj, h5py.Dataset):
            raise ModelFileError(N_("model.weights.h5 holds an unexpected object at {path!r}."),
                                 path=path)
        plist = obj.id.get_create_plist()
        if obj.is_virtual or plist.get_external_count() or plist.get_nfilters():
            raise ModelFileError(N_("The weight {path!r} is stored outside the file, virtual or filtered; Keras "
                                    "writes plain datasets. Refusing it (it could read files on the server)."),
                                 path=path)
        dtype = obj.dtype
        if dtype.kind not in "fi" or dtype.itemsize > 8 or dtype.fields is not None:
            raise ModelFileError(N_("The weight {path!r} has dtype {dtype}; expected float32."),
                                 path=path, dtype=dtype)
        shape = tuple(obj.shape)
        if path in expected:
            want_shape, want_dtype = expected[path]
            if shape != want_shape or dtype != np.dtype(want_dtype):
                raise ModelFileError(N_("The weight {path!r} has shape {shape} and dtype {dtype}, but the config "
                                        "implies {want_shape} and {want_dtype}. The weights do not belong to this "
                                        "model. {resave}"),
                                     path=path, shape=shape, dtype=dtype, want_shape=want_shape, want_dtype=want_dtype,
                                     resave=RESAVE)
            seen.add(path)
        elif re.fullmatch(r"optimizer/vars/\d{1,4}", path) and (shape == () or shape in shapes):
            pass     # optimizer slots: never read with compile=False, still bounded
        else:
            raise ModelFileError(N_("model.weights.h5 holds {path!r} with shape {shape}, which no layer in "
                                    "config.json explains. {resave}"),
                                 path=path, shape=shape, resave=RESAVE)
        total += prod(shape) * dtype.itemsize
        if total > MAX_WEIGHTS_BYTES:
            raise ModelFileError(N_("The weights add up to more than {limit}."),
                                 limit=_mb(MAX_WEIGHTS_BYTES))
    return total, seen
