"""A user's .keras file: inspected without Keras, refused when hostile, loaded safely when real.

Hostile files are built inside the tests (no Keras needed for most of them) and
must each be refused by ``inspect_model_file`` with a ModelFileError whose
message names the problem, within 2 s, with a tracemalloc peak below
``PEAK_LIMIT`` and without writing a file. Real models are saved by Keras into
tmp_path (marked ``keras``), pass inspection with the right layer table, load,
and their NumPy twins give Keras' numbers within F32_TOL.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
import pickle
import stat
import struct
import sys
import tempfile
import time
import tracemalloc
import zipfile
import zlib

import h5py
import numpy as np
import pytest
from helpers import assert_close

import rnn_core
from rnn_core.saving import model_files
from rnn_core.saving.model_files import ModelFileError, inspect_model_file

PEAK_LIMIT = 4 * 2**20        # bytes traced by tracemalloc while refusing one hostile file
TIME_LIMIT = 2.0              # seconds to refuse one hostile file

# -- a Keras-like file built by hand (no Keras needed) -----------------------------------------


def _policy(name="float32"):
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name}, "registered_name": None}


def _init(cls, **config):
    return {"module": "keras.initializers", "class_name": cls, "config": config, "registered_name": None}


def _simple_rnn(units=4, name="simple_rnn", features=3, **over):
    config = {"name": name, "trainable": True, "dtype": _policy(), "return_sequences": True, "return_state": False,
              "go_backwards": False, "stateful": False, "unroll": False, "zero_output_for_mask": False,
              "units": units, "activation": "tanh", "use_bias": True,
              "kernel_initializer": _init("GlorotUniform", seed=None),
              "recurrent_initializer": _init("Orthogonal", seed=None, gain=1.0),
              "bias_initializer": _init("Zeros"), "kernel_regularizer": None, "recurrent_regularizer": None,
              "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
              "recurrent_constraint": None, "bias_constraint": None, "dropout": 0.0, "recurrent_dropout": 0.0}
    config.update(over)
    return {"module": "keras.layers", "class_name": "SimpleRNN", "config": config, "registered_name": None,
            "build_config": {"input_shape": [None, None, features]}}


def _sequential(*layers, features=3):
    inp = {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
           "config": {"batch_shape": [None, None, features], "dtype": "float32", "sparse": False, "ragged": False,
                      "name": "input_layer", "optional": False}}
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": "sequential", "trainable": True, "dtype": _policy(), "layers": [inp, *layers]},
            "build_config": {"input_shape": [None, None, features]}}


def _tensor(shape, source):
    return {"class_name": "__keras_tensor__", "config": {"shape": shape, "dtype": "float32",
                                                         "keras_history": [source, 0, 0]}}


def _functional(features=3, units=4):
    """keras.Model(inp, Dense(2)(SimpleRNN(units)(inp))) as Keras 3 writes it."""
    inp = {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None, "name": "inp",
           "config": {"batch_shape": [None, 5, features], "dtype": "float32", "sparse": False, "ragged": False,
                      "name": "inp", "optional": False}, "inbound_nodes": []}
    rnn = _simple_rnn(units, return_sequences=False) | {"name": "simple_rnn", "inbound_nodes": [
        {"args": [_tensor([None, 5, features], "inp")], "kwargs": {"training": False, "mask": None}}]}
    rnn["build_config"] = {"input_shape": [None, 5, features]}
    dense = {"module": "keras.layers", "class_name": "Dense", "registered_name": None, "name": "dense",
             "config": {"name": "dense", "units": 2, "activation": "linear", "use_bias": True,
                        "kernel_initializer": _init("GlorotUniform", seed=None), "bias_initializer": _init("Zeros")},
             "build_config": {"input_shape": [None, units]},
             "inbound_nodes": [{"args": [_tensor([None, units], "simple_rnn")], "kwargs": {}}]}
    return {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
            "config": {"name": "functional", "trainable": True, "layers": [inp, rnn, dense],
                       "input_layers": [["inp", 0, 0]], "output_layers": [["dense", 0, 0]]},
            "build_config": {"input_shape": None}, "compile_config": None}


def _functional_weights(features=3, units=4):
    weights = _rnn_weights(units, features)
    weights["layers/dense/vars/0"] = np.ones((units, 2), "float32")
    weights["layers/dense/vars/1"] = np.zeros(2, "float32")
    return weights


def _weights_h5(arrays: dict[str, np.ndarray], **dataset_kwargs) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for path, value in arrays.items():
            f.create_dataset(path, data=value, **dataset_kwargs)
    return buf.getvalue()


def _rnn_weights(units=4, features=3, prefix="layers/simple_rnn/cell/vars/"):
    rng = np.random.default_rng(0)
    return {prefix + "0": rng.normal(size=(features, units)).astype("float32"),
            prefix + "1": rng.normal(size=(units, units)).astype("float32"),
            prefix + "2": np.zeros(units, "float32")}


def _zip(members: dict[str, bytes], infos: dict[str, zipfile.ZipInfo] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, payload in members.items():
            zf.writestr((infos or {}).get(name, name), payload)
    return buf.getvalue()


def keras_file(config=None, weights=None, **extra) -> bytes:
    """A .keras archive: metadata.json, config.json, model.weights.h5 (+ extra members)."""
    members = {"metadata.json": json.dumps({"keras_version": "3.15.1", "date_saved": "2026-11-28@00:00:00"}).encode(),
               "config.json": json.dumps(_sequential(_simple_rnn()) if config is None else config).encode(),
               "model.weights.h5": _weights_h5(_rnn_weights()) if weights is None else weights}
    members.update(extra)
    return _zip(members)


def _raw_zip(name: str, stream: bytes, declared_size: int) -> bytes:
    """A zip whose member ``name`` holds the deflate ``stream`` with whatever size we declare (CRC left 0),
    followed by a genuine weights file, as an attacker would send it."""
    members = [(name, stream, declared_size, 8, 0)]
    weights = _weights_h5(_rnn_weights())
    members.append(("model.weights.h5", weights, len(weights), 0, zlib.crc32(weights)))
    local, central = b"", b""
    for n, payload, size, method, crc in members:
        n = n.encode()
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc, len(payload), size,
                               len(n), 0, 0, 0, 0, 0o600 << 16, len(local)) + n
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(payload), size, len(n), 0)
        local += n + payload
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(local), 0)
    return local + central + end


def _bomb_stream(gib: int = 2) -> tuple[bytes, bytes]:
    """A raw deflate stream of ``gib`` GiB of spaces, about 1 KB per MiB, built from one flushed segment."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = c.compress(b" " * 2**20) + c.flush(zlib.Z_FULL_FLUSH)   # byte-aligned, no back-references out
    return segment * (gib * 1024) + b"\x03\x00", segment                # + an empty final block


# -- refusing --------------------------------------------------------------------------------

_WRITES: list | None = None     # while a list, the audit hook below records every file opened for writing


def _audit(event, args):
    if _WRITES is None:
        return
    if (event == "open" and args[0] is not None and (any(c in str(args[1] or "") for c in "wax+")
                                                     or (args[2] or 0) & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            or event in ("os.mkdir", "os.rename", "os.symlink", "os.link", "os.truncate")):
        _WRITES.append(args[0])


sys.addaudithook(_audit)     # audit hooks cannot be removed; this one does nothing outside refused()


def refused(filename: str, data: bytes, *words: str) -> str:
    """inspect_model_file refuses ``data`` fast, with flat memory, writing nothing; the message has ``words``."""
    global _WRITES
    _WRITES = []
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ModelFileError) as err:
            inspect_model_file(filename, data)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        writes, _WRITES = _WRITES, None
    message = str(err.value)
    assert elapsed < TIME_LIMIT, f"took {elapsed:.2f} s: {message}"
    assert peak < PEAK_LIMIT, f"peak {peak / 2**20:.1f} MiB: {message}"
    assert writes == [], f"files written: {writes}"
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in: {message}"
    return message


def test_refused_itself_catches_writes_memory_and_missing_words(monkeypatch, tmp_path):
    """The checker above can fail: a refusal that writes a file, allocates 8 MiB or says the wrong thing."""
    def writes(filename, data):
        (tmp_path / "x").write_text("x")
        raise ModelFileError("no")

    def allocates(filename, data):
        _ = bytearray(8 * 2**20)
        raise ModelFileError("no")

    for fake in (writes, allocates):
        monkeypatch.setattr(sys.modules[__name__], "inspect_model_file", fake)
        with pytest.raises(AssertionError):
            refused("model.keras", b"junk")
        monkeypatch.undo()
    with pytest.raises(AssertionError, match="'absent' not in"):
        refused("model.keras", b"junk", "absent")


def test_hand_built_functional_file_passes():
    info = inspect_model_file("f.keras", keras_file(_functional(), _weights_h5(_functional_weights())))
    assert [(r.name, r.output_shape, r.params) for r in info.layers] == [("simple_rnn", "(None, 4)", 32),
                                                                          ("dense", "(None, 2)", 10)]
    assert (info.model_class, info.input_shape) == ("Functional", (None, 5, 3))


def test_hand_built_file_passes():
    """The base of the hostile files below is itself accepted, so each refusal is about its one change."""
    info = inspect_model_file("m.keras", keras_file())
    assert (info.model_class, info.input_shape, info.total_params) == ("Sequential", (None, None, 3), 3 * 4 + 16 + 4)
    assert [(r.name, r.class_name, r.output_shape, r.params) for r in info.layers] == [
        ("simple_rnn", "SimpleRNN", "(None, None, 4)", 32)]
    assert [(r.name, r.class_name, r.input_shape) for r in info.recurrent_layers] == [
        ("simple_rnn", "SimpleRNN", (None, None, 3))]
    assert info.keras_version == "3.15.1"


def _lambda_layer(function):
    return {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
            "config": {"name": "lambda", "function": function, "arguments": {}}}


HOSTILE = {
    "lambda bytecode": lambda: keras_file(_sequential(_simple_rnn(), _lambda_layer(
        {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None, "closure": None}}))),
    "lambda gadget (CVE-2025-9906)": lambda: keras_file(_sequential(_lambda_layer(
        {"module": "keras.config", "class_name": "function", "config": "enable_unsafe_deserialization",
         "registered_name": "function"}), _simple_rnn())),
    "os.system as activation": lambda: keras_file(_sequential(_simple_rnn(activation={
        "module": "os", "class_name": "function", "config": "system", "registered_name": "function"}))),
    "os.system as layer": lambda: keras_file(_sequential({
        "module": "os", "class_name": "system", "config": {"command": "touch /tmp/x"}, "registered_name": None})),
    "custom registered class": lambda: keras_file(_sequential({
        "module": "my_package.layers", "class_name": "MyRNN", "config": {"name": "my_rnn", "units": 4},
        "registered_name": "my_package>MyRNN"})),
    "built-in name registered elsewhere": lambda: keras_file(_sequential(dict(
        _simple_rnn(), registered_name="evil>SimpleRNN"))),
    "StringLookup file read (CVE-2025-12058)": lambda: keras_file(_sequential({
        "module": "keras.layers", "class_name": "StringLookup", "registered_name": None,
        "config": {"name": "lookup", "vocabulary": "/etc/passwd"}})),
}
HOSTILE_WORDS = {"lambda bytecode": ("Lambda",), "lambda gadget (CVE-2025-9906)": ("Lambda",),
                 "os.system as activation": ("os", "not part of Keras"), "os.system as layer": ("os.system",),
                 "custom registered class": ("my_package", "custom"),
                 "built-in name registered elsewhere": ("evil>SimpleRNN",),
                 "StringLookup file read (CVE-2025-12058)": ("StringLookup",)}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_objects_in_config_are_refused(case):
    refused("model.keras", HOSTILE[case](), *HOSTILE_WORDS[case])


def test_ten_million_units_refused_before_any_allocation():
    data = keras_file(_sequential(_simple_rnn(units=10_000_000)))
    refused("model.keras", data, "units", "4,096", "10,000,000")


def test_build_config_that_would_allocate_more_is_refused():
    """Keras builds each layer from its build_config before loading weights: 10^8 features x 4 units."""
    layer = _simple_rnn() | {"build_config": {"input_shape": [None, None, 100_000_000]}}
    refused("model.keras", keras_file(_sequential(layer)), "built for input shape", "100000000")


def test_fixed_batch_size_is_bounded():
    config = _sequential(_simple_rnn(stateful=True))
    config["config"]["layers"][0]["config"]["batch_shape"] = [5000, None, 3]
    refused("model.keras", keras_file(config), "batch size", "5,000")


def test_parameter_cap():
    """4096 units and a Dense with 100,000 outputs: each within its cap, together 400 M parameters."""
    dense = {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
             "config": {"name": "dense", "units": 100_000, "activation": "softmax", "use_bias": True}}
    refused("model.keras", keras_file(_sequential(_simple_rnn(units=4096), dense)), "parameters", "5,000,000")


def test_zip_bomb_declared_size_refused_before_unpacking():
    stream, segment = _bomb_stream(2)
    assert zlib.decompressobj(-15).decompress(segment * 2) == b" " * 2**21     # it really inflates
    assert len(stream) < 4 * 2**20                                             # 2 GiB from a few MB
    refused("model.keras", _raw_zip("config.json", stream, 2**31), "config.json", "2.0 GB", "zip bomb")


def test_zip_bomb_lying_header_stops_at_the_cap():
    """The header claims 500 KB; the stream inflates to 2 GiB. Reading stops at the cap (or at the CRC)."""
    stream, _ = _bomb_stream(2)
    refused("model.keras", _raw_zip("config.json", stream, 500_000), "config.json")


def test_member_read_counter_stops_at_the_cap(monkeypatch):
    """Even if zipfile trusted a lie, our counter stops at the member's cap."""
    monkeypatch.setitem(model_files._MEMBERS, "config.json", 1000)
    monkeypatch.setattr(model_files, "_check_members", lambda zf: {i.filename: i for i in zf.infolist()})
    refused("model.keras", keras_file(_sequential(_simple_rnn(), features=3) | {"pad": " " * 5000}),
            "config.json", "zip bomb")


@pytest.mark.parametrize("name, words", [
    ("../evil.py", ("'../evil.py'", "outside")),
    ("assets/../../evil.py", ("outside",)),
    ("/tmp/evil.py", ("absolute",)),
    ("..\\evil.py", ("backslash",)),
    ("C:/evil.py", ("drive",)),
    ("assets/evil.py", ("only config.json",)),
    ("data.pkl", ("PyTorch",)),
])
def test_member_names_refused(name, words):
    info = zipfile.ZipInfo("x")
    info.filename = name     # ZipInfo(name) would normalise some of these; an attacker's file need not
    data = keras_file()
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a") as zf:
        zf.writestr(info, b"print('pwned')")
    refused("model.keras", buf.getvalue(), *words)


def test_many_members_refused_before_zipfile_parses_them():
    """20,000 empty entries (1.4 MB): refused from the zip's end record, not after 20,000 ZipInfo objects."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(20_000):
            zf.writestr(f"f{i}", b"")
    refused("model.keras", buf.getvalue(), "20,000 files", "at most 8")


def test_shared_object_id_naming_two_classes_refused():
    layer = _simple_rnn()
    layer["config"]["kernel_initializer"]["shared_object_id"] = 7
    layer["config"]["dtype"]["shared_object_id"] = 7
    refused("model.keras", keras_file(_sequential(layer)), "shared object")


def test_weights_file_with_many_entries_stops_early():
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for path, value in _rnn_weights().items():
            f.create_dataset(path, data=value)
        for i in range(2000):
            f.create_group(f"layers/g{i}")
    refused("model.keras", keras_file(weights=buf.getvalue()), "far more entries")


def test_symlink_member_refused():
    info = zipfile.ZipInfo("model.weights.h5")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    data = _zip({"config.json": json.dumps(_sequential(_simple_rnn())).encode(), "model.weights.h5": b"/etc/passwd"},
                {"model.weights.h5": info})
    refused("model.keras", data, "link")


def test_random_bytes_refused():
    data = np.random.default_rng(0).bytes(4096)
    refused("model.keras", data, "not a Keras model", "random")


def test_truncated_file_refused():
    data = keras_file()
    refused("model.keras", data[: len(data) // 2], "truncated or damaged")


def test_pickle_renamed_keras_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (pathlib.Path.touch, (marker,))

    refused("model.keras", pickle.dumps(Payload(), protocol=4), "pickle")
    assert not marker.exists()


def test_legacy_h5_refused_with_how_to_resave():
    data = _weights_h5({"model_weights/x": np.zeros(3, "float32")})
    refused("model.h5", data, "legacy", 'model.save("model.keras")')
    refused("model.weights.h5", data, "weights-only")


def test_weights_shape_disagreeing_with_config_refused():
    weights = _rnn_weights()
    weights["layers/simple_rnn/cell/vars/1"] = np.zeros((4, 5), "float32")
    refused("model.keras", keras_file(weights=_weights_h5(weights)), "(4, 5)", "(4, 4)", "do not belong")


def test_weights_huge_logical_shape_refused_without_allocating():
    """An HDF5 dataset may declare 8192 x 8192 floats while storing nothing; its shape alone is refused."""
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for path, value in _rnn_weights().items():
            f.create_dataset(path, data=value)
        f.create_dataset("layers/simple_rnn/cell/vars/9", shape=(8192, 8192), dtype="float32")
    refused("model.keras", keras_file(weights=buf.getvalue()), "no layer", "(8192, 8192)")


def test_weights_missing_refused():
    weights = _rnn_weights()
    del weights["layers/simple_rnn/cell/vars/2"]
    refused("model.keras", keras_file(weights=_weights_h5(weights)), "lacks", "vars/2")


def test_weights_external_storage_refused(tmp_path):
    """HDF5 external storage reads another file on the server (CVE-2026-1669)."""
    secret = tmp_path / "secret"
    secret.write_bytes(b"\x00" * 64)
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for path, value in _rnn_weights().items():
            if path.endswith("/1"):
                f.create_dataset(path, shape=value.shape, dtype="float32", external=[(str(secret), 0, 64)])
            else:
                f.create_dataset(path, data=value)
    refused("model.keras", keras_file(weights=buf.getvalue()), "outside the file")


def test_weights_external_link_refused():
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for path, value in _rnn_weights().items():
            f.create_dataset(path, data=value)
        f["layers/extra"] = h5py.ExternalLink("/etc/passwd", "/x")
    refused("model.keras", keras_file(weights=buf.getvalue()), "ExternalLink")


@pytest.mark.parametrize("name", ["../../etc/cron.d/x", "a/b", "x" * 200])
def test_layer_names_refused(name):
    refused("model.keras", keras_file(_sequential(_simple_rnn(name=name))), "name")


def test_deeply_nested_json_refused():
    data = keras_file(config=None, **{"config.json": b"[" * 200_000})
    refused("model.keras", data, "config.json", "JSON")


def test_huge_json_number_refused():
    data = keras_file(**{"config.json": b'{"units": ' + b"9" * 5000 + b"}"})
    refused("model.keras", data, "config.json", "JSON")


def test_mixed_precision_policy_refused():
    layer = _simple_rnn(dtype=_policy("mixed_float16"))
    refused("model.keras", keras_file(_sequential(layer)), "mixed_float16", "float32")


def test_subclassed_model_refused_with_how_to_rebuild():
    config = _sequential(_simple_rnn()) | {"module": "__main__", "class_name": "RNNLayer"}
    refused("model.keras", keras_file(config), "RNNLayer", "Sequential")


def test_too_big_upload_refused():
    refused("model.keras", b"PK\x03\x04" + bytes(model_files.MAX_FILE_BYTES), "limit")


# -- real models saved by Keras ---------------------------------------------------------------

keras_only = pytest.mark.keras


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Four real models, saved by Keras once per module: name -> (bytes, the Keras model)."""
    from rnn_core import keras_bridge  # noqa: PLC0415

    _, keras = keras_bridge._tf()
    L = keras.layers
    folder = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    tutorial = keras.Sequential([keras.Input((None, 6)), L.SimpleRNN(16, return_sequences=True),
                                 L.TimeDistributed(L.Dense(5, activation="softmax"))], name="tutorial")
    tutorial.compile("adam", "sparse_categorical_crossentropy")
    tutorial.fit(rng.normal(size=(8, 7, 6)).astype("float32"), rng.integers(0, 5, (8, 7)), epochs=2, verbose=0)
    inp = keras.Input((9, 3), name="sequence")
    functional = keras.Model(inp, L.Dense(2)(L.LSTM(6, return_sequences=True)(inp)), name="functional_lstm")
    gru = keras.Sequential([keras.Input((None, 3)), L.Masking(0.0), L.GRU(5, reset_after=False)], name="masked_gru")
    bidi = keras.Sequential([keras.Input((8, 3)), L.Bidirectional(L.LSTM(4, return_sequences=True)),
                             L.Flatten(), L.Dense(1)], name="bidi")
    out = {}
    for name, model in [("tutorial", tutorial), ("functional", functional), ("gru", gru), ("bidi", bidi)]:
        path = folder / f"{name}.keras"
        model.save(path)
        out[name] = (path.read_bytes(), model)
    return out


EXPECTED_TABLES = {
    "tutorial": [("simple_rnn", "SimpleRNN", "(None, None, 16)", 6 * 16 + 16 * 16 + 16),
                 ("time_distributed", "TimeDistributed(Dense)", "(None, None, 5)", 16 * 5 + 5)],
    "functional": [("lstm", "LSTM", "(None, 9, 6)", 4 * (3 * 6 + 6 * 6 + 6)), ("dense", "Dense", "(None, 9, 2)", 14)],
    "gru": [("masking", "Masking", "(None, None, 3)", 0), ("gru", "GRU", "(None, 5)", 3 * (3 * 5 + 5 * 5 + 5))],
    "bidi": [("bidirectional", "Bidirectional(LSTM)", "(None, 8, 8)", 2 * 4 * (3 * 4 + 4 * 4 + 4)),
             ("flatten", "Flatten", "(None, 64)", 0), ("dense_1", "Dense", "(None, 1)", 65)],
}


@keras_only
@pytest.mark.parametrize("name", list(EXPECTED_TABLES))
def test_real_models_pass_inspection_with_their_layer_table(saved, name):
    data, model = saved[name]
    info = inspect_model_file(f"{name}.keras", data)
    rows = [(r.name, r.class_name, r.output_shape, r.params) for r in info.layers]
    # Layer names carry Keras' global counters; compare them with the model's own.
    expected = [(layer.name, *row[1:]) for layer, row in zip(
        [la for la in model.layers if type(la).__name__ != "InputLayer"], EXPECTED_TABLES[name], strict=True)]
    assert rows == expected
    assert info.total_params == model.count_params()
    for layer in model.layers:
        if type(layer).__name__ != "InputLayer":
            assert layer.count_params() == next(r.params for r in info.layers if r.name == layer.name)
    assert info.model_name == model.name
    assert info.keras_version == __import__("keras").__version__
    assert info.model_class == ("Functional" if name == "functional" else "Sequential")


@keras_only
def test_recurrent_layers_listed_with_their_configs(saved):
    info = inspect_model_file("bidi.keras", saved["bidi"][0])
    assert [(r.class_name, r.direction, r.input_shape, r.config["units"], r.config["go_backwards"])
            for r in info.recurrent_layers] == [("LSTM", "forward", (None, 8, 3), 4, False),
                                                ("LSTM", "backward", (None, 8, 3), 4, True)]
    gru = inspect_model_file("gru.keras", saved["gru"][0]).recurrent_layers[0]
    assert (gru.class_name, gru.config["reset_after"], gru.input_shape) == ("GRU", False, (None, None, 3))


@keras_only
@pytest.mark.parametrize("name", list(EXPECTED_TABLES))
def test_real_models_load_and_predict_like_the_original(saved, name, monkeypatch):
    from rnn_core.keras_bridge import load_model_file  # noqa: PLC0415

    data, original = saved[name]
    folders = []
    mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda *a, **k: folders.append(mkdtemp(*a, **k)) or folders[-1])
    model, info = load_model_file(f"{name}.keras", data)
    assert len(folders) == 1 and not os.path.exists(folders[0])      # the private folder is gone
    features = info.input_shape[-1]
    steps = info.input_shape[1] or 7
    x = np.random.default_rng(1).normal(size=(2, steps, features)).astype("float32")
    if name == "gru":
        x[:, -2:] = 0.0                                               # masked steps
    np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(original(x)))


@keras_only
def test_simple_rnn_twin_gives_keras_numbers(saved):
    from rnn_core.keras_bridge import load_model_file, twin_of  # noqa: PLC0415

    model, info = load_model_file("tutorial.keras", saved["tutorial"][0])
    layer = model.get_layer(info.recurrent_layers[0].name)
    twin = twin_of(layer)
    assert isinstance(twin, rnn_core.SimpleRNN)
    assert (twin.units, twin.return_sequences, twin.config.activation) == (16, True, "tanh")
    x = np.random.default_rng(2).normal(size=(3, 11, 6)).astype("float32")
    assert_close(twin(x), np.asarray(layer(x)), "SimpleRNN twin output")
    for mine, theirs, label in zip(twin.get_weights(), layer.get_weights(), ["kernel", "recurrent", "bias"],
                                   strict=True):
        np.testing.assert_array_equal(mine, theirs, err_msg=label)


def _needs(cls_name):
    return pytest.mark.skipif(not hasattr(rnn_core, cls_name), reason=f"rnn_core.{cls_name} does not exist yet")


@keras_only
@_needs("LSTM")
def test_lstm_twins_give_keras_numbers(saved):
    from rnn_core.keras_bridge import load_model_file, twin_of  # noqa: PLC0415

    model, info = load_model_file("functional.keras", saved["functional"][0])
    layer = model.get_layer(info.recurrent_layers[0].name)
    x = np.random.default_rng(3).normal(size=(2, 9, 3)).astype("float32")
    assert_close(twin_of(layer)(x), np.asarray(layer(x)), "LSTM twin output")
    model, info = load_model_file("bidi.keras", saved["bidi"][0])
    bidi = model.get_layer(info.recurrent_layers[0].name)
    x = np.random.default_rng(4).normal(size=(2, 8, 3)).astype("float32")
    for direction in (bidi.forward_layer, bidi.backward_layer):
        assert_close(twin_of(direction)(x), np.asarray(direction(x)), f"{direction.name} twin output")
    if hasattr(rnn_core, "Bidirectional"):
        assert_close(twin_of(bidi)(x), np.asarray(bidi(x)), "Bidirectional LSTM twin output")


@keras_only
@_needs("GRU")
def test_gru_twin_gives_keras_numbers_with_mask(saved):
    from rnn_core.keras_bridge import load_model_file, twin_of  # noqa: PLC0415

    model, info = load_model_file("gru.keras", saved["gru"][0])
    layer = model.get_layer(info.recurrent_layers[0].name)
    x = np.random.default_rng(5).normal(size=(2, 7, 3)).astype("float32")
    mask = np.ones((2, 7), bool)
    mask[1, 4:] = False
    assert_close(twin_of(layer)(x, mask=mask), np.asarray(layer(x, mask=mask)), "GRU twin output")


@keras_only
def test_hand_built_file_is_what_keras_writes():
    """Keras itself loads the hand-built base of the hostile files (so they differ from a real file by one thing)."""
    from rnn_core.keras_bridge import load_model_file  # noqa: PLC0415

    model, _ = load_model_file("m.keras", keras_file())
    np.testing.assert_array_equal(model.layers[0].get_weights()[0], _rnn_weights()["layers/simple_rnn/cell/vars/0"])
    model, _ = load_model_file("f.keras", keras_file(_functional(), _weights_h5(_functional_weights())))
    np.testing.assert_array_equal(model.get_layer("dense").get_weights()[0], np.ones((4, 2)))


@keras_only
def test_lambda_that_writes_a_file_is_refused(tmp_path):
    from rnn_core.keras_bridge import _tf, load_model_file  # noqa: PLC0415

    _, keras = _tf()
    marker = tmp_path / "pwned"

    def payload(x):
        marker.write_text("pwned")
        return x

    model = keras.Sequential([keras.Input((4, 3)), keras.layers.Lambda(payload), keras.layers.SimpleRNN(2)])
    model.save(tmp_path / "lambda.keras")
    marker.unlink()                               # written while Keras built the model above
    data = (tmp_path / "lambda.keras").read_bytes()
    refused("lambda.keras", data, "Lambda")
    with pytest.raises(ModelFileError, match="Lambda"):
        load_model_file("lambda.keras", data)
    assert not marker.exists()


HOSTILE_FILES = {
    **{k: v for k, v in HOSTILE.items()},
    "ten million units": lambda: keras_file(_sequential(_simple_rnn(units=10_000_000))),
    "zip bomb": lambda: _raw_zip("config.json", _bomb_stream(2)[0], 2**31),
    "random bytes": lambda: np.random.default_rng(0).bytes(4096),
    "truncated": lambda: keras_file()[:900],
    "pickle": lambda: pickle.dumps({"a": 1}, protocol=4),
    "dotdot member": lambda: keras_file(**{"../x.py": b"x"}),
}


@keras_only
@pytest.mark.parametrize("case", list(HOSTILE_FILES))
def test_keras_never_sees_a_hostile_file(case, monkeypatch):
    """load_model_file refuses before Keras' load_model is called or a temporary folder is made."""
    from rnn_core import keras_bridge  # noqa: PLC0415

    _, keras = keras_bridge._tf()
    calls = []
    monkeypatch.setattr(keras.saving, "load_model", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(tempfile, "mkdtemp", lambda *a, **k: calls.append("mkdtemp"))
    with pytest.raises(ModelFileError):
        keras_bridge.load_model_file("model.keras", HOSTILE_FILES[case]())
    assert calls == []


@keras_only
def test_keras_failure_becomes_model_file_error_and_folder_is_removed(monkeypatch):
    from rnn_core import keras_bridge  # noqa: PLC0415

    _, keras = keras_bridge._tf()
    seen = []

    def failing(path, **kwargs):
        seen.append((path, kwargs, stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)))
        raise RuntimeError("boom")

    monkeypatch.setattr(keras.saving, "load_model", failing)
    with pytest.raises(ModelFileError, match="Keras could not load the model: boom"):
        keras_bridge.load_model_file("m.keras", keras_file())
    (path, kwargs, mode), = seen
    assert kwargs == {"safe_mode": True, "compile": False} and mode == 0o700
    assert not os.path.exists(os.path.dirname(path))


def _variants(keras):
    """Everyday models that must not be refused: name -> built Keras model."""
    L = keras.layers
    out = {
        "L2 and dropout": keras.Sequential([keras.Input((None, 4)), L.LSTM(8, dropout=0.2, recurrent_dropout=0.1,
                                            kernel_regularizer=keras.regularizers.L2(1e-3)), L.Dense(3)]),
        "stateful": keras.Sequential([keras.Input(batch_shape=(2, 5, 3)), L.SimpleRNN(4, stateful=True)]),
        "embedding, int input": keras.Sequential([keras.Input((None,), dtype="int32"),
                                                  L.Embedding(50, 8, mask_zero=True), L.GRU(6)]),
        "no bias, relu": keras.Sequential([keras.Input((6, 2)), L.SimpleRNN(3, use_bias=False, activation="relu")]),
        "bidirectional sum": keras.Sequential([keras.Input((6, 2)), L.Bidirectional(L.GRU(3), merge_mode="sum")]),
        "built without Input": keras.Sequential([L.SimpleRNN(4, return_sequences=True), L.Reshape((-1,)),
                                                 L.Dense(1)]),
        "Korean names": keras.Sequential([keras.Input((None, 2), name="입력"), L.SimpleRNN(3, name="은닉층")],
                                         name="내_모델"),
        "float64": keras.Sequential([keras.Input((5, 2), dtype="float64"), L.GRU(3, dtype="float64")]),
    }
    out["built without Input"].build((None, 5, 3))
    inp = keras.Input((None, 3))
    _, h, c = L.LSTM(5, return_state=True)(inp)
    decoded = L.LSTM(5, return_sequences=True)(inp, initial_state=[h, c])
    out["encoder-decoder"] = keras.Model(inp, L.TimeDistributed(L.Dense(2))(decoded))
    a, b = L.Bidirectional(L.GRU(3), merge_mode=None)(inp)
    out["bidirectional, two outputs"] = keras.Model(inp, [a, b])
    compiled = keras.Sequential([keras.Input((5, 2)), L.GRU(3), L.Dense(2, activation="softmax")])
    compiled.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    compiled.fit(np.zeros((4, 5, 2)), np.zeros(4), verbose=0)
    out["trained with metrics"] = compiled
    return out


@keras_only
def test_everyday_models_are_not_refused(tmp_path):
    from rnn_core.keras_bridge import _tf, load_model_file  # noqa: PLC0415

    _, keras = _tf()
    for name, model in _variants(keras).items():
        path = tmp_path / "m.keras"
        model.save(path)
        loaded, info = load_model_file("m.keras", path.read_bytes())
        assert info.total_params == model.count_params() == loaded.count_params(), name
        assert [r.name for r in info.layers] == [la.name for la in model.layers
                                                 if type(la).__name__ != "InputLayer"], name


# -- any damage to a real config gives a message, never another exception ------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False) | st.text(max_size=12)
    | st.sampled_from(["__keras_tensor__", "keras.layers", "SimpleRNN", "Dense", "LSTM", "config", "units"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["module", "class_name", "config", "registered_name", "build_config", "input_shape",
                         "shared_object_id", "units", "layer", "name", "keras_history", "shape"]), inner, max_size=4),
    max_leaves=12)


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, path + (i,))


_BASES = (_sequential(_simple_rnn()), _functional())
_CHANGES = st.one_of(*(st.tuples(st.just(i), st.lists(st.tuples(st.sampled_from(list(_paths(base))[1:]), _json_values),
                                                      min_size=1, max_size=3))
                       for i, base in enumerate(_BASES)))


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(_CHANGES)
def test_damaged_configs_give_a_message_never_another_exception(case):
    """Up to three parts of a hand-built Sequential or functional config replaced by random JSON.

    Derandomized (the same examples every run, so it cannot flake); a wider search of 5,000 examples
    per base passed when this was written.
    """
    base, changes = case
    config = json.loads(json.dumps(_BASES[base]))
    for path, value in changes:
        node = config
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue                      # an earlier change removed this path
    with contextlib.suppress(ModelFileError):
        model_files.parse_model_config(config)


def test_damaged_weights_files_give_a_message_never_another_exception():
    """Bytes flipped inside model.weights.h5 (the zip's CRCs made right, so h5py parses the damage)."""
    h5 = _weights_h5(_rnn_weights())
    rng = np.random.default_rng(1)
    outcomes = set()
    for _ in range(300):
        damaged = bytearray(h5)
        for _ in range(rng.integers(1, 6)):
            damaged[rng.integers(0, len(damaged))] = rng.integers(0, 256)
        try:
            inspect_model_file("m.keras", keras_file(weights=bytes(damaged)))
            outcomes.add("accepted")
        except ModelFileError:
            outcomes.add("refused")
    assert outcomes == {"accepted", "refused"}      # flips in the weights' values are harmless


@keras_only
def test_benchmark_runs_at_a_tiny_size():
    """bench/bench_model_files.py is not a timed test; this runs it once at a tiny size so it cannot rot."""
    import subprocess  # noqa: PLC0415

    root = pathlib.Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "bench.bench_model_files", "--quick"], cwd=root,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "| tiny (H=4) |" in out.stdout and "zip bomb" in out.stdout and "refused in" in out.stdout


@keras_only
def test_twins_of_a_bidirectional_simple_rnn_give_keras_numbers(tmp_path):
    """Each direction of a Bidirectional has its own twin; the backward one reads the sequence reversed."""
    from rnn_core.keras_bridge import _tf, load_model_file, twin_of  # noqa: PLC0415

    _, keras = _tf()
    model = keras.Sequential([keras.Input((6, 2)), keras.layers.Bidirectional(
        keras.layers.SimpleRNN(3, return_sequences=True, activation="relu"), merge_mode="concat")])
    model.save(tmp_path / "b.keras")
    loaded, info = load_model_file("b.keras", (tmp_path / "b.keras").read_bytes())
    bidi = loaded.get_layer(info.recurrent_layers[0].name)
    x = np.random.default_rng(6).normal(size=(2, 6, 2)).astype("float32")
    forward, backward = twin_of(bidi.forward_layer), twin_of(bidi.backward_layer)
    assert (forward.go_backwards, backward.go_backwards, forward.config.activation) == (False, True, "relu")
    assert_close(forward(x), np.asarray(bidi.forward_layer(x)), "forward twin")
    assert_close(backward(x), np.asarray(bidi.backward_layer(x)), "backward twin")
    assert_close(np.concatenate([forward(x), backward(x)[:, ::-1]], axis=-1), np.asarray(bidi(x)), "merged")
    if hasattr(rnn_core, "Bidirectional"):
        assert_close(twin_of(bidi)(x), np.asarray(bidi(x)), "Bidirectional twin")
    else:
        with pytest.raises(ValueError, match="forward_layer"):
            twin_of(bidi)
    with pytest.raises(ValueError, match="no NumPy twin of a Keras Dense"):
        twin_of(keras.layers.Dense(2))
