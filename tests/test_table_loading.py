"""Real-world tables: plotly's data sets, European CSVs, Parquet and Excel, long format, and hostile files.

The plotly data sets are read from the installed plotly package (nothing is
downloaded). Parquet and .xlsx files are written in the tests with pyarrow and
openpyxl. Hostile inputs must be refused with SequenceError before the memory
they claim is allocated: the tests bound the peak of Python allocations
(tracemalloc) and of pyarrow's own memory pool.
"""

import datetime
import gzip
import io
import re
import struct
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_core.inputs.loading import MAX_BATCH, SequenceError, load_sequence


def plotly_dataset(name: str) -> bytes:
    """A data set shipped inside the installed plotly package (plain or gzipped CSV)."""
    import plotly

    folder = Path(plotly.__file__).parent / "package_data" / "datasets"
    if (folder / f"{name}.csv").exists():
        return (folder / f"{name}.csv").read_bytes()
    return gzip.decompress((folder / f"{name}.csv.gz").read_bytes())


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def xlsx_bytes(sheets: dict[str, list[list]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def peak_memory(fn) -> int:
    """Peak bytes allocated through Python (tracemalloc) while fn() runs."""
    tracemalloc.start()
    try:
        fn()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


# -- plotly's data sets -------------------------------------------------------------------------


def test_stocks_dates_become_the_time_axis():
    data = plotly_dataset("stocks")
    x, info = load_sequence("stocks.csv", data)
    frame = pd.read_csv(io.BytesIO(data))
    assert x.shape == (len(frame), 6) and x.dtype == np.float32
    assert info.features == ["GOOG", "AAPL", "AMZN", "FB", "NFLX", "MSFT"] and info.time_column == "date"
    assert info.columns["date"] == "time" and info.columns["GOOG"] == "number"
    assert info.time_values.dtype.kind == "M" and str(info.time_values[0])[:10] == "2018-01-01"
    assert np.all(np.diff(info.time_values) > np.timedelta64(0))
    np.testing.assert_allclose(x, frame[info.features].to_numpy(np.float32), rtol=0)
    assert not any("Left out" in n for n in info.notes)


def test_stocks_shuffled_rows_are_sorted_by_date_with_a_note():
    frame = pd.read_csv(io.BytesIO(plotly_dataset("stocks")))
    shuffled = frame.sample(frac=1.0, random_state=0)
    x, info = load_sequence("stocks.csv", shuffled.to_csv(index=False).encode())
    np.testing.assert_allclose(x, frame[info.features].to_numpy(np.float32), rtol=1e-7)
    assert any("not in time order; sorted by 'date'" in n for n in info.notes)


def test_gapminder_long_format_one_sequence_per_country():
    data = plotly_dataset("gapminder")
    frame = pd.read_csv(io.BytesIO(data))
    features = ["lifeExp", "pop", "gdpPercap"]
    x, info = load_sequence("gapminder.csv", data, id_column="country", time_column="year", columns=features)
    assert len(info.all_ids) == 142 and info.all_ids[0] == "Afghanistan"
    assert x.shape == (MAX_BATCH, 12, 3) and info.ids == info.all_ids[:MAX_BATCH] and info.mask is None
    assert any("Using the first 64 of 142 sequences ('country')" in n for n in info.notes)
    np.testing.assert_array_equal(info.time_values, np.arange(1952, 2008, 5))
    albania = frame[frame.country == "Albania"].sort_values("year")[features].to_numpy(np.float32)
    np.testing.assert_array_equal(x[info.ids.index("Albania")], albania)
    # The caller picks the sequences; the order given is the batch order.
    x, info = load_sequence("gapminder.csv", data, id_column="country", time_column="year", columns=features,
                            ids=["Zimbabwe", "Albania"])
    assert x.shape == (2, 12, 3) and info.ids == ["Zimbabwe", "Albania"]
    np.testing.assert_array_equal(x[1], albania)
    with pytest.raises(SequenceError, match="No sequence 'Atlantis' in column 'country'"):
        load_sequence("gapminder.csv", data, id_column="country", time_column="year", ids=["Atlantis"])
    # Without an id column: one long sequence of every numeric column, text columns named in a note.
    x, info = load_sequence("gapminder.csv", data)
    assert x.shape == (1704, 7) and "year" in info.features
    assert any("'country', 'continent', 'iso_alpha'" in n for n in info.notes)
    _, info = load_sequence("gapminder.csv", data, time_column="year")
    assert info.suggested_id == "country" and any("long format" in n for n in info.notes)


def test_gapminder_batch_limit_given_by_the_caller():
    x, info = load_sequence("gapminder.csv", plotly_dataset("gapminder"), id_column="country", time_column="year",
                            max_batch=8)
    assert x.shape[0] == 8 and any("the batch limit is 8" in n for n in info.notes)


def test_iris_species_is_the_label():
    data = plotly_dataset("iris")
    frame = pd.read_csv(io.BytesIO(data))
    x, info = load_sequence("iris.csv", data, label_column="species")
    assert x.shape == (150, 5) and "species" not in info.features
    assert info.class_names == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(info.labels, frame["species_id"].to_numpy() - 1)
    x, info = load_sequence("iris.csv", data, label_column="species",
                            columns=["sepal_length", "sepal_width", "petal_length", "petal_width"])
    assert x.shape == (150, 4)
    with pytest.raises(SequenceError, match="'species' holds text .*label or the sequence id"):
        load_sequence("iris.csv", data, columns=["species"])


def test_wind_text_categories_are_left_out_or_a_label():
    data = plotly_dataset("wind")
    x, info = load_sequence("wind.csv", data)
    assert x.shape == (128, 1) and info.features == ["frequency"]
    assert info.columns == {"direction": "text", "strength": "text", "frequency": "number"}
    assert any("'direction', 'strength'" in n for n in info.notes)
    _, info = load_sequence("wind.csv", data, label_column="strength")
    assert info.labels.shape == (128,) and "6+" in info.class_names


# -- delimited text as people write it ----------------------------------------------------------


def test_european_csv_semicolons_and_decimal_commas():
    text = "zeit;wert;temp\n2024-01-01 00:00;1,5;20,1\n2024-01-01 01:00;2,25;19,8\n2024-01-01 02:00;-3,0;18\n"
    x, info = load_sequence("messung.csv", text.encode())
    np.testing.assert_array_equal(x, np.array([[1.5, 20.1], [2.25, 19.8], [-3.0, 18.0]], np.float32))
    assert info.features == ["wert", "temp"] and info.time_column == "zeit"
    assert str(info.time_values[1]) .startswith("2024-01-01T01:00")
    assert any("';' between columns and ',' as the decimal mark" in n for n in info.notes)


def test_european_thousands_and_day_first_dates():
    text = "Datum;Umsatz\n01.02.2024;1.234,5\n02.02.2024;2.000,25\n03.02.2024;17\n"
    x, info = load_sequence("umsatz.csv", text.encode("utf-8"))
    np.testing.assert_array_equal(x[:, 0], np.array([1234.5, 2000.25, 17], np.float32))
    assert [str(t)[:10] for t in info.time_values] == ["2024-02-01", "2024-02-02", "2024-02-03"]


def test_quotes_thousands_bom_comments_and_missing_values():
    text = ('\ufeff# exported 2024-05-01\n"name","value","count"\n"a, first",' + '"1,234.5",7\n'
            '"b",2.5,\n# a comment line\n"c",-3,9\n')
    with pytest.raises(SequenceError, match=r"missing, NaN or infinite \(first at row 3, column 'count'\)"):
        load_sequence("q.csv", text.encode())
    x, info = load_sequence("q.csv", text.encode(), nan_policy="fill")
    np.testing.assert_array_equal(x, np.array([[1234.5, 7], [2.5, 7], [-3, 9]], np.float32))
    assert info.header == ["name", "value", "count"] and info.columns["name"] == "text"
    x, info = load_sequence("q.csv", text.encode(), nan_policy="drop")
    assert x.shape == (2, 2) and info.dropped_rows == [1]


def test_tab_separated_and_spaces():
    assert load_sequence("t.csv", b"a\tb\n1.5\t2\n3\t4\n")[0].tolist() == [[1.5, 2], [3, 4]]
    assert load_sequence("t.tsv", b"1,5\t2\n3\t4,25\n")[0].tolist() == [[1.5, 2], [3, 4.25]]
    assert load_sequence("t.csv", b"1 2\n3 4\n")[0].tolist() == [[1, 2], [3, 4]]


def test_a_bad_cell_names_its_row_and_column():
    with pytest.raises(SequenceError, match=r"Row 4, column 2 \(b\): 'oops' is not a number"):
        load_sequence("a.csv", b"a,b\n1,2\n3,4\n5,oops\n7,8\n")


# -- Parquet ------------------------------------------------------------------------------------


def test_parquet_with_dates_text_and_chosen_columns():
    frame = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=5, freq="h")[::-1],
                          "city": ["a", "b", "a", "b", "a"], "t": np.arange(5.0), "n": np.arange(5, dtype=np.int32)})
    x, info = load_sequence("f.parquet", parquet_bytes(frame))
    assert info.format == "parquet" and info.time_column == "when" and info.features == ["t", "n"]
    np.testing.assert_array_equal(x[:, 0], [4, 3, 2, 1, 0])           # sorted by time
    assert any("not in time order" in n for n in info.notes)
    x, info = load_sequence("f.parquet", parquet_bytes(frame), columns=["n"], time_column=None, label_column="city")
    assert x[:, 0].tolist() == [0, 1, 2, 3, 4] and info.labels.tolist() == [0, 1, 0, 1, 0]


def _zigzag_varint(n: int) -> bytes:
    n, out = (n << 1) ^ (n >> 63), b""
    while True:
        byte, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([byte])
        out += bytes([byte | 0x80])


def parquet_claiming_rows(rows: int) -> bytes:
    """A valid 1,234-row Parquet file whose footer (FileMetaData.num_rows) is edited to claim ``rows``.

    The footer is Thrift compact: field 3 (num_rows, i64) follows field 2, so its
    header byte is 0x16, then the zigzag varint of the count.
    """
    data = parquet_bytes(pd.DataFrame({"x": np.zeros(1234, np.float32)}))
    length = struct.unpack("<I", data[-8:-4])[0]
    footer = data[-8 - length:-8]
    old = b"\x16" + _zigzag_varint(1234)
    assert old in footer
    footer = footer.replace(old, b"\x16" + _zigzag_varint(rows), 1)
    return data[:-8 - length] + footer + struct.pack("<I", len(footer)) + b"PAR1"


def test_parquet_claiming_a_billion_rows_is_refused_from_its_footer():
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = parquet_claiming_rows(10**9)
    assert pq.ParquetFile(pa.BufferReader(data)).metadata.num_rows == 10**9 and len(data) < 2000
    before = pa.total_allocated_bytes()

    def refuse():
        with pytest.raises(SequenceError, match="1,000,000,000 rows"):
            load_sequence("big.parquet", data)

    assert peak_memory(refuse) < 5 * 2**20
    assert pa.total_allocated_bytes() - before < 2**20            # no column data was read


def test_damaged_parquet():
    data = parquet_bytes(pd.DataFrame({"x": np.arange(10.0)}))
    with pytest.raises(SequenceError, match="Parquet"):
        load_sequence("a.parquet", data[:20] + data[-20:])
    with pytest.raises(SequenceError, match="'PAR1'"):
        load_sequence("a.parquet", b"x,y\n1,2\n")


# -- Excel --------------------------------------------------------------------------------------


def test_xlsx_first_sheet_or_a_chosen_one_with_dates():
    start = datetime.datetime(2024, 3, 1)
    data = xlsx_bytes({"readings": [["time", "v", "site"]] + [[start + datetime.timedelta(days=i), i * 0.5, "x"]
                                                                for i in range(6)],
                       "other": [["a", "b"], [1, 2], [3, 4], [5, 6]]})
    x, info = load_sequence("book.xlsx", data)
    assert info.format == "xlsx" and info.sheet == "readings" and info.sheets == ["readings", "other"]
    assert x[:, 0].tolist() == [0, 0.5, 1, 1.5, 2, 2.5] and info.time_column == "time"
    assert str(info.time_values[2])[:10] == "2024-03-03" and any("'site'" in n for n in info.notes)
    x, info = load_sequence("book.xlsx", data, sheet="other")
    assert x.tolist() == [[1, 2], [3, 4], [5, 6]] and info.sheet == "other"
    with pytest.raises(SequenceError, match="No sheet named 'nope'.*readings, other"):
        load_sequence("book.xlsx", data, sheet="nope")


def test_xlsx_formula_cells_are_data_never_evaluated():
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["a", "note"])
    for i in range(4):
        sheet.append([float(i), "plain"])
    sheet["B3"] = '=WEBSERVICE("http://127.0.0.1:9/steal")'      # would fetch a URL if anything evaluated it
    sheet["A4"] = "=1+1"
    buf = io.BytesIO()
    book.save(buf)
    # openpyxl stores no cached value for a formula: the cell is missing data, never a computed 2.
    with pytest.raises(SequenceError, match=r"missing, NaN or infinite \(first at row 4, column 'a'\)"):
        load_sequence("f.xlsx", buf.getvalue())
    x, info = load_sequence("f.xlsx", buf.getvalue(), nan_policy="fill")
    assert x[:, 0].tolist() == [0, 1, 1, 3]
    # A cached value (as Excel saves it) is what is read, not the formula.
    cached = _with_cached_value(buf.getvalue(), "A4", "42")
    x, _ = load_sequence("f.xlsx", cached)
    assert x[:, 0].tolist() == [0, 1, 42, 3]


def _with_cached_value(data: bytes, cell: str, value: str) -> bytes:
    """Add <v>value</v> after a formula cell, as Excel does when it saves a workbook."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            content = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = content.decode()
                start = text.index(f'<c r="{cell}"')
                empty = text.index("<v />", start)                 # openpyxl writes <f>1+1</f><v />
                content = (text[:empty] + f"<v>{value}</v>" + text[empty + len("<v />"):]).encode()
            dst.writestr(item, content)
    return out.getvalue()


def zip_bomb_xlsx(expanded: int = 300 * 2**20) -> bytes:
    """A real workbook plus one member of ``expanded`` zero bytes (deflate makes it ~1000x smaller)."""
    base = zipfile.ZipFile(io.BytesIO(xlsx_bytes({"s": [["a"], [1], [2]]})))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in base.infolist():
            z.writestr(item, base.read(item))
        with z.open("xl/media/bomb.bin", "w", force_zip64=expanded >= 2**32 - 1) as member:
            chunk = bytes(2**20)
            for _ in range(expanded // 2**20):
                member.write(chunk)
    return out.getvalue()


def test_zip_bomb_xlsx_is_refused_from_its_directory():
    data = zip_bomb_xlsx()
    assert len(data) < 2 * 2**20

    def refuse():
        with pytest.raises(SequenceError, match="zip bomb"):
            load_sequence("bomb.xlsx", data)

    assert peak_memory(refuse) < 8 * 2**20


def test_zip_bomb_that_lies_in_its_directory_stops_at_the_cap():
    data = bytearray(zip_bomb_xlsx(64 * 2**20))
    # Edit the central directory entry (signature PK\x01\x02): the bomb claims 1 KB uncompressed (offset 24).
    name = b"xl/media/bomb.bin"
    entry = next(i for i in range(len(data))
                 if data[i:i + 4] == b"PK\x01\x02" and data[i + 46:i + 46 + len(name)] == name)
    data[entry + 24:entry + 28] = struct.pack("<I", 1024)
    assert zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/media/bomb.bin").file_size == 1024

    def refuse():
        with pytest.raises(SequenceError, match="damaged"):
            load_sequence("bomb.xlsx", bytes(data))

    assert peak_memory(refuse) < 8 * 2**20


def test_not_an_xlsx():
    with pytest.raises(SequenceError, match="not an Excel workbook"):
        load_sequence("a.xlsx", b"1,2\n3,4\n")
    with pytest.raises(SequenceError, match="no workbook inside"):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("hello.txt", "hi")
        load_sequence("a.xlsx", buf.getvalue())


# -- long format: ragged groups and a mask ------------------------------------------------------


def test_ragged_long_format_is_padded_with_a_mask():
    rows = [("b", 3, 30.0, "up"), ("a", 1, 1.0, "x"), ("b", 1, 10.0, "up"), ("a", 2, 2.0, "y"), ("c", 5, 500.0, "z"),
            ("b", 2, 20.0, "up"), ("a", 3, 3.0, "x"), ("b", 4, 40.0, "up")]
    text = "id,t,v,tag\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n"
    x, info = load_sequence("long.csv", text.encode(), id_column="id", time_column="t", label_column="tag")
    assert info.ids == ["b", "a", "c"] and x.shape == (3, 4, 1)
    np.testing.assert_array_equal(x[..., 0], [[10, 20, 30, 40], [1, 2, 3, 0], [500, 0, 0, 0]])
    np.testing.assert_array_equal(info.mask, [[1, 1, 1, 1], [1, 1, 1, 0], [1, 0, 0, 0]])
    assert info.mask.dtype == bool and any("padded" in n and "mask" in n for n in info.notes)
    assert any("not in time order within each sequence" in n for n in info.notes)
    np.testing.assert_array_equal(info.time_values, [1, 2, 3, 4])
    assert info.class_names == ["up", "x", "y", "z"] and not info.label_per_sequence
    np.testing.assert_array_equal(info.labels, [[0, 0, 0, 0], [1, 2, 1, 0], [3, 0, 0, 0]])


def test_ragged_mask_runs_like_keras_masking_in_the_numpy_core():
    """The masked steps of a padded sequence change nothing: its final state equals the unpadded run's."""
    from rnn_core import SimpleRNN

    text = "id,t,v\n" + "\n".join(f"{k},{t},{np.sin(t + 3 * i):.5f}" for i, (k, n) in enumerate([("p", 6), ("q", 3)])
                                  for t in range(n)) + "\n"
    x, info = load_sequence("long.csv", text.encode(), id_column="id", time_column="t")
    layer = SimpleRNN(3, return_state=True, seed=0)
    _, state = layer(x, mask=info.mask)
    _, alone = layer(x[1:2, :3])
    np.testing.assert_allclose(state[1], alone[0], rtol=1e-6, atol=1e-7)


def test_label_per_sequence_when_constant_in_each():
    text = "id,t,v,kind\n" + "".join(f"{k},{t},{t},{c}\n" for k, c in [("a", "cat"), ("b", "dog")] for t in range(3))
    _, info = load_sequence("l.csv", text.encode(), id_column="id", time_column="t", label_column="kind")
    assert info.label_per_sequence and info.labels[:, 0].tolist() == [0, 1]


# -- .npy/.npz headers that lie -----------------------------------------------------------------


def npy_header(shape, dtype="<f4") -> bytes:
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape}, }}".encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def test_npz_whose_header_claims_16_gb_is_refused_before_reading():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.npy", npy_header((1_000_000_000, 4)) + bytes(1_500_000))
    data = buf.getvalue()
    assert len(data) < 2 * 2**20

    def refuse():
        with pytest.raises(SequenceError, match="1,000,000,000 time steps"):
            load_sequence("lying.npz", data)

    assert peak_memory(refuse) < 2 * 2**20


def test_npy_whose_header_claims_too_much_is_refused_before_reading():
    def refuse(data, message):
        with pytest.raises(SequenceError, match=message):
            load_sequence("lying.npy", data)

    assert peak_memory(lambda: refuse(npy_header((1_000_000_000, 4)) + bytes(1000), "time steps")) < 2**20
    assert peak_memory(lambda: refuse(npy_header((64, 100_000, 512), "<f8"), "would take 25,000 MB")) < 2**20
    refuse(npy_header((3, 2), "|O"), "Python objects")


def test_npz_member_larger_than_its_header_says():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.npy", npy_header((4, 2)) + bytes(10_000_000))
    with pytest.raises(SequenceError, match="larger than its header says"):
        load_sequence("a.npz", buf.getvalue())


# -- fuzzing the new formats: nothing but SequenceError or a valid result ----------------------


def _valid_or_sequence_error(name: str, data: bytes, **options) -> None:
    try:
        x, info = load_sequence(name, data, **options)
    except SequenceError:
        return
    assert x.dtype == np.float32 and x.ndim in (2, 3) and np.isfinite(x).all() and x.shape[-2] >= 2
    assert len(info.features) == x.shape[-1] or info.format not in ("csv", "tsv", "parquet", "xlsx")
    if info.mask is not None:
        assert info.mask.shape == x.shape[:2]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["a.parquet", "a.xlsx", "a.npz", "a.npy"]),
       st.sampled_from([b"", b"PAR1", b"PK\x03\x04", b"\x93NUMPY\x01\x00"]), st.binary(max_size=300))
def test_fuzz_binary_formats(name, prefix, data):
    _valid_or_sequence_error(name, prefix + data + (b"PAR1" if prefix == b"PAR1" else b""))


cell = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32), st.integers(-10**6, 10**6),
                 st.text(max_size=5), st.none(), st.sampled_from(["2024-01-02", "1,5", "1.234,5", "N/A", "=1+1"]))
columns = st.lists(st.sampled_from(["a", "b", "c", "id", "t", "date"]), min_size=1, max_size=4, unique=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(columns, st.data(), st.sampled_from(["csv", "parquet", "xlsx"]),
       st.fixed_dictionaries({}, optional={"id_column": st.sampled_from(["id", "a", "zz"]),
                                           "time_column": st.sampled_from([None, "t", "date", "b"]),
                                           "label_column": st.sampled_from(["c", "b"]),
                                           "columns": st.lists(st.sampled_from(["a", "b", "c"]), max_size=3),
                                           "nan_policy": st.sampled_from(["error", "drop", "fill"])}))
def test_fuzz_tables_with_options(names, data, fmt, options):
    rows = data.draw(st.lists(st.lists(cell, min_size=len(names), max_size=len(names)), max_size=8))
    frame = pd.DataFrame(rows, columns=names, dtype=object)
    if fmt == "csv":
        payload = frame.to_csv(index=False, sep=data.draw(st.sampled_from([",", ";", "\t"]))).encode()
    elif fmt == "parquet":
        payload = parquet_bytes(frame.astype(str))
    else:
        payload = xlsx_bytes({"s": [names] + [[_xlsx_value(v) for v in r] for r in rows]})
    _valid_or_sequence_error(f"f.{fmt}", payload, **options)


def _xlsx_value(v):
    if isinstance(v, str):
        return "".join(c for c in v if c.isprintable())          # XML cannot hold control characters
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def _edit_sheet(data: bytes, edit) -> bytes:
    """The workbook with xl/worksheets/sheet1.xml replaced by edit(its text)."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            content = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = edit(content.decode()).encode()
            dst.writestr(item, content)
    return out.getvalue()


def test_xlsx_whose_sheet_claims_a_huge_size_is_not_padded_out_to_it():
    data = xlsx_bytes({"s": [["a"], [1], [2], [3]]})
    claims = _edit_sheet(data, lambda t: re.sub(r'<dimension ref="[^"]*"\s*/>', '<dimension ref="A1:XFD1048576"/>', t))
    with pytest.raises(SequenceError, match="declares 1,048,576 rows x 16,384 columns"):
        load_sequence("claims.xlsx", claims)
    # No declared size, one far cell (XFD1048576) after the real rows: refused at that row, never padded out.
    far = _edit_sheet(data, lambda t: re.sub(r'<dimension ref="[^"]*"\s*/>', "", t).replace(
        "</sheetData>", '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'))
    with pytest.raises(SequenceError, match="1,000,001 rows|16,384 columns"):
        load_sequence("far.xlsx", far)


def test_a_long_table_whose_ids_are_all_missing_is_refused_with_a_message():
    """Found by test_fuzz_tables_with_options under load: every row dropped for a missing id gave a TypeError."""
    buf = io.BytesIO()
    pd.DataFrame({"a": [None, None], "b": [0.0, 1.0]}).to_parquet(buf)
    with pytest.raises(SequenceError, match="No rows are left to use"):
        load_sequence("t.parquet", buf.getvalue(), id_column="a")
