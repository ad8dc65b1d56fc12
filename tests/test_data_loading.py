"""rnn_core.inputs.loading.load_sequence: every format, every bad input, and fuzzing that only SequenceError escapes."""

import io
import json
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_core.inputs.loading import MAX_BYTES, MAX_STEPS, SequenceError, load_sequence, normalize, parse_typed


def npy_bytes(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


# -- formats ---------------------------------------------------------------------------------


def test_csv_with_header():
    x, info = load_sequence("s.csv", b"a,b\n1,2\n3,4\n5,6\n")
    assert x.dtype == np.float32 and x.shape == (3, 2) and info.header == ["a", "b"] and info.format == "csv"
    np.testing.assert_array_equal(x, [[1, 2], [3, 4], [5, 6]])


def test_csv_without_header_single_column_and_bom():
    x, info = load_sequence("s.csv", "\ufeff0.5\n-1e-3\n2\n".encode())
    assert x.shape == (3, 1) and info.header is None
    np.testing.assert_allclose(x[:, 0], [0.5, -1e-3, 2])


def test_tsv():
    x, _ = load_sequence("s.tsv", b"1\t2\t3\n4\t5\t6\n")
    assert x.shape == (2, 3)


def test_npy_2d_and_3d():
    assert load_sequence("a.npy", npy_bytes(np.arange(10.0).reshape(5, 2)))[0].shape == (5, 2)
    assert load_sequence("a.npy", npy_bytes(np.ones((3, 4, 2), np.int32)))[0].shape == (3, 4, 2)
    assert load_sequence("a.npy", npy_bytes(np.arange(4)))[0].shape == (4, 1)


def test_npz_picks_named_array_and_lists_all():
    data = npz_bytes(first=np.zeros((3, 1)), second=np.ones((4, 2)))
    x, info = load_sequence("a.npz", data)
    assert x.shape == (3, 1) and info.arrays == ["first", "second"] and info.array == "first"
    x, info = load_sequence("a.npz", data, npz_key="second")
    assert x.shape == (4, 2) and info.array == "second"
    with pytest.raises(SequenceError, match="No array named 'third'"):
        load_sequence("a.npz", data, npz_key="third")


def test_json_lists():
    assert load_sequence("a.json", b"[1, 2, 3]")[0].shape == (3, 1)
    assert load_sequence("a.json", b"[[1, 2], [3, 4], [5, 6]]")[0].shape == (3, 2)
    assert load_sequence("a.json", json.dumps(np.ones((2, 3, 4)).tolist()).encode())[0].shape == (2, 3, 4)


def test_txt_characters_one_hot_korean_and_emoji():
    text = "안녕 😀 안녕"
    x, info = load_sequence("t.txt", text.encode("utf-8"))
    assert info.vocabulary == sorted(set(text))
    assert x.shape == (len(text), len(set(text)))
    np.testing.assert_array_equal(x.sum(axis=1), 1)
    assert info.vocabulary[int(np.argmax(x[0]))] == "안"


def test_typed_numbers():
    assert parse_typed("1, 2, 3, 4")[0].shape == (4, 1)
    assert parse_typed("1 2\n3 4\n5 6")[0].shape == (3, 2)
    assert parse_typed("1,2; 3,4")[0].shape == (2, 2)


def test_normalisation_statistics():
    x = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]], np.float32)
    z, stats = normalize(x, "z-score")
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(z[:, 0].std(), 1, rtol=1e-6)
    np.testing.assert_array_equal(z[:, 1], 0)                      # constant feature: std taken as 1
    m, stats = normalize(x, "min-max")
    np.testing.assert_allclose(m[:, 0], [0, 0.5, 1]) and np.testing.assert_allclose(stats["max"], [5, 10])
    assert normalize(x, "none")[0] is x


# -- bad input: a clear SequenceError for each -------------------------------------------------


@pytest.mark.parametrize("name, data, message", [
    ("a.csv", b"", "The file is empty"),
    ("a.csv", b"   \n\n", "The file is empty"),
    ("a.xls", b"1,2", "Unsupported file type '.xls'"),
    ("noext", b"1,2", "no extension"),
    ("a.npy", b"1,2\n3,4", "does not start with NumPy's header"),
    ("a.npz", b"1,2\n3,4", "not a NumPy archive"),
    ("a.json", b"{1, 2", "not valid JSON"),
    ("a.json", b'{"a": 1}', "Expected a JSON list"),
    ("a.json", b"[[1, 2], [3]]", "ragged rows"),
    ("a.json", b'[1, "x", 3]', "not a number"),
    ("a.json", b"[true, false]", "not a number"),
    ("a.csv", b"1,2\n3,abc\n", "Row 2, column 2: 'abc' is not a number"),
    ("a.csv", b"1,2\n3,4,5\n", "Row 2 has 3 values"),
    ("a.csv", b"1,2\nnan,4\n", "NaN or infinite"),
    ("a.csv", b"1,2\ninf,4\n", "NaN or infinite"),
    ("a.csv", b"1,2\n", "has 1 time step"),
    ("a.csv", b"x\n", "header row but no data rows"),
    ("a.csv", b"\x00\x01\x02binary", "binary data"),
    ("a.txt", b"\xff\xfe\xfa not utf8", "not UTF-8"),
    ("a.csv", "é,1\n".encode("latin-1"), "not UTF-8"),
    ("a.npy", npy_bytes(np.array([{"a": 1}], dtype=object)), "Python objects"),
    ("a.npy", npy_bytes(np.array(["a", "b"])), "must hold numbers"),
    ("a.npy", npy_bytes(np.zeros((2, 2, 2, 2))), "expected (T,), (T, D) or (B, T, D)"),
    ("a.npy", npy_bytes(np.zeros((3, 1000))), "1000 features per step"),
    ("a.npy", npy_bytes(np.zeros((3, 4)))[:-8], "damaged or truncated"),
    ("a.npz", npz_bytes(a=np.array([None, 1], dtype=object)), "Python objects"),
    ("a.npz", b"PK\x03\x04garbage", "damaged or truncated"),
])
def test_bad_input_gets_a_clear_message(name, data, message):
    with pytest.raises(SequenceError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        load_sequence(name, data)


def test_size_limit_is_checked_from_the_bytes():
    with pytest.raises(SequenceError, match="the limit is 20 MB"):
        load_sequence("a.csv", b"1\n" * (MAX_BYTES // 2 + 1))


def test_too_many_steps():
    with pytest.raises(SequenceError, match="100,001 time steps"):
        load_sequence("a.npy", npy_bytes(np.zeros((MAX_STEPS + 1, 1))))


def test_pickle_is_never_loaded():
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    payload = pickle.dumps(Boom())
    with pytest.raises(SequenceError):
        load_sequence("a.npy", payload)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.npy", b"\x93NUMPY" + payload)          # a pickle behind a fake .npy header
    with pytest.raises(SequenceError):
        load_sequence("a.npz", buf.getvalue())


def test_nan_policies():
    data = b"1,2\nnan,4\n5,6\n7,inf\n"
    x, info = load_sequence("a.csv", data, nan_policy="drop")
    assert x.shape == (2, 2) and info.dropped_rows == [1, 3]
    x, info = load_sequence("a.csv", data, nan_policy="fill")
    np.testing.assert_array_equal(x, [[1, 2], [1, 4], [5, 6], [7, 6]])
    assert info.filled_values == 2
    with pytest.raises(SequenceError, match="has 0 time steps"):
        load_sequence("a.csv", b"nan,1\n1,inf\n", nan_policy="drop")


# -- fuzzing: nothing but SequenceError ever escapes --------------------------------------------


def _only_sequence_errors(name: str, data: bytes) -> None:
    try:
        x, _ = load_sequence(name, data)
    except SequenceError:
        return
    assert x.dtype == np.float32 and x.ndim in (2, 3) and np.isfinite(x).all() and x.shape[-2] >= 2


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["a.csv", "a.tsv", "a.npy", "a.npz", "a.json", "a.txt"]), st.binary(max_size=300))
def test_fuzz_random_bytes(name, data):
    _only_sequence_errors(name, data)


csv_cell = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=4),
                     st.integers().map(str), st.just(""))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(csv_cell, min_size=1, max_size=4), min_size=0, max_size=8),
       st.sampled_from([",", "\t", ";", " "]))
def test_fuzz_csv_like_text(rows, sep):
    _only_sequence_errors("a.csv", "\n".join(sep.join(r) for r in rows).encode("utf-8", "surrogatepass"))


json_value = st.recursive(st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), st.text(max_size=3)),
                          lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=2),
                                                                                              children, max_size=2),
                          max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(json_value)
def test_fuzz_random_json(value):
    _only_sequence_errors("a.json", json.dumps(value).encode())
