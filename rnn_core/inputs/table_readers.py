"""Bytes -> a pandas DataFrame, for delimited text, Parquet and Excel; each checked against the limits first.

Delimited text: the delimiter and the decimal mark are sniffed together from
the first lines (``;`` with a decimal comma, ``,`` with a decimal point, tab,
``|`` or spaces); pandas' C parser then reads the whole file. Parquet: the
footer (row count, columns, uncompressed sizes) is checked before any column
is read. Excel (.xlsx): the zip directory is checked (uncompressed sizes, a zip
bomb is refused), every member is decompressed with a cap, and openpyxl reads
the sheet in read-only mode with cached values: formulas are never evaluated.
Every problem raises ``SequenceError`` with a message a user can act on.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field

import numpy as np

from ..errors import SequenceError
from ..messages import N_, Message

MAX_TABLE_ROWS = 1_000_000          # rows of a table (long format: all sequences together)
MAX_TABLE_COLUMNS = 2_048           # columns of a table (features are limited separately)
MAX_TABLE_CELLS = 10_000_000        # rows x columns: 80 MB as float64 (a 20 MB CSV holds at most this)
MAX_UNZIPPED = 100 * 2**20          # .xlsx: all members together, uncompressed
MAX_XLSX_CELLS = 1_000_000          # openpyxl reads cell by cell (~50,000 cells/s here): about 20 s at most
SAMPLE_LINES = 50                   # lines read to sniff the delimiter, the decimal mark and the header

# A number as people write it: thousands grouped by the other mark, an optional exponent.
_NUMBER = {
    ".": re.compile(r"[+-]?(\d+|\d{1,3}(,\d{3})+)?(\.\d*)?([eE][+-]?\d+)?"),
    ",": re.compile(r"[+-]?(\d+|\d{1,3}([.\u00a0\u202f ]\d{3})+)?(,\d*)?([eE][+-]?\d+)?"),
}
_SPECIAL = {"nan", "inf", "-inf", "+inf", "infinity", "-infinity", "na", "n/a", "null", "none", ""}
_DATE_LIKE = re.compile(r"\d{4}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,2}:\d{2}")
CANDIDATES = ((",", "."), (";", ","), (";", "."), ("\t", "."), ("\t", ","), ("|", "."), ("|", ","), (" ", "."))


@dataclass
class RawTable:
    """A table as read, before columns are given meanings."""

    frame: object                          # pandas.DataFrame, columns named (str)
    header: bool                           # the first row held the column names
    decimal: str = "."                     # the decimal mark the text used ("," in European CSVs)
    delimiter: str | None = None           # delimited text: the delimiter found
    sheet: str | None = None               # .xlsx: the sheet read
    sheets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def is_number(cell: str, decimal: str = ".") -> bool:
    cell = cell.strip()
    if cell.lower() in _SPECIAL:
        return False
    return bool(_NUMBER[decimal].fullmatch(cell)) and any(c.isdigit() for c in cell)


def check_shape(rows: int, columns: int, what: str) -> None:
    """Refuse a table too large to read, from its row and column counts."""
    if columns > MAX_TABLE_COLUMNS:
        raise SequenceError(N_("{what} has {columns:,} columns; at most {max_table_columns:,} can be read (and up to "
                               "512 of them used as features). Keep the columns you need."),
                            what=what, columns=columns, max_table_columns=MAX_TABLE_COLUMNS)
    if rows > MAX_TABLE_ROWS:
        raise SequenceError(N_("{what} has {rows:,} rows; at most {max_table_rows:,} can be read. Upload a shorter "
                               "part, or fewer sequences."),
                            what=what, rows=rows, max_table_rows=MAX_TABLE_ROWS)
    if rows * columns > MAX_TABLE_CELLS:
        raise SequenceError(N_("{what} has {rows:,} rows x {columns:,} columns = {cells:,} cells; at most "
                               "{max_table_cells:,} can be read. Keep the columns you need."),
                            what=what, rows=rows, columns=columns, cells=rows * columns,
                            max_table_cells=MAX_TABLE_CELLS)


# -- delimited text ------------------------------------------------------------------------------


def _sample_lines(text: str) -> tuple[list[str], bool]:
    """The first non-blank lines, comment lines ('#') left out; and whether there were comment lines."""
    lines, comments = [], False
    for line in text[:1 << 20].splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            comments = True
            continue
        lines.append(line.rstrip("\r\n"))
        if len(lines) >= SAMPLE_LINES:
            break
    return lines, comments


def _split(lines: list[str], delimiter: str) -> list[list[str]]:
    if delimiter == " ":
        return [ln.split() for ln in lines]
    try:
        return [[c.strip() for c in row] for row in csv.reader(lines, delimiter=delimiter)]
    except csv.Error:               # e.g. a stray carriage return: only the sample's shape matters here
        return [[c.strip() for c in ln.split(delimiter)] for ln in lines]


def sniff(lines: list[str], forced_delimiter: str | None = None) -> tuple[str, str, bool]:
    """(delimiter, decimal mark, header) that make the sample most regular and most numeric.

    A candidate is better when every line has the same number of fields, then
    when more cells read as numbers, then when it gives more columns.
    """
    best, best_score = (",", ".", False), None
    for delimiter, decimal in CANDIDATES:
        if forced_delimiter is not None and delimiter != forced_delimiter:
            continue
        if delimiter == " " and not any(len(ln.split()) > 1 for ln in lines):
            continue
        if delimiter not in (",", " ") and not any(delimiter in ln for ln in lines):
            continue
        rows = _split(lines, delimiter)
        widths = [len(r) for r in rows]
        mode = max(set(widths), key=widths.count)
        data = rows[1:] if len(rows) > 1 else rows
        numeric = sum(is_number(c, decimal) for r in data for c in r)
        score = (all(w == mode for w in widths), widths.count(mode) / len(widths), numeric, mode)
        if best_score is None or score > best_score:
            best, best_score = (delimiter, decimal, False), score
    delimiter, decimal, _ = best
    rows = _split(lines, delimiter)
    return delimiter, decimal, _has_header(rows, decimal)


def _has_header(rows: list[list[str]], decimal: str) -> bool:
    """The first row names the columns if none of it is a number and the rows below have numbers or
    it differs in kind from the row below (text over numbers in some column)."""
    first = rows[0]
    if any(is_number(c, decimal) for c in first):
        return False
    if len(rows) == 1:
        return True
    below = rows[1:]
    for j in range(len(first)):
        column = [r[j] for r in below if j < len(r) and r[j].strip()]
        if column and sum(is_number(c, decimal) for c in column) >= len(column) / 2:
            return True
    return all(c.strip() for c in first)   # only text: a header if every name is given


def read_delimited(text: str, fmt: str, header: bool | None = None, raw: bytes | None = None) -> RawTable:
    """Delimited text -> RawTable; ``fmt`` "tsv" forces tabs, "text" (typed numbers) has no header.

    ``raw``: the same text as UTF-8 bytes (an upload); pandas parses bytes faster than a str.
    """
    import pandas as pd

    lines, comments = _sample_lines(text)
    if not lines:
        raise SequenceError(N_("The file has no rows."))
    delimiter, decimal, sniffed_header = sniff(lines, "\t" if fmt == "tsv" else None)
    header = sniffed_header if header is None else header
    width = len(_split(lines[:1], delimiter)[0])
    check_shape(0, width, Message(N_("The file")))
    sep = r"\s+" if delimiter == " " else delimiter
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            source = io.StringIO(text) if raw is None else io.BytesIO(raw[3:] if raw[:3] == b"\xef\xbb\xbf" else raw)
            frame = pd.read_csv(source, sep=sep, decimal=decimal, header=0 if header else None, encoding="utf-8",
                                comment="#" if comments else None, skip_blank_lines=True, low_memory=False,
                                on_bad_lines="error", engine="c")
    except pd.errors.EmptyDataError:
        raise SequenceError(N_("The file has no rows.")) from None
    except pd.errors.ParserError as err:
        message = _parser_message(str(err), header)
        raise SequenceError(message) from None
    except (ValueError, UnicodeError, OverflowError) as err:
        raise SequenceError(N_("This file cannot be read as a table ({err})."),
                            err=str(err)[:200]) from None
    if frame.empty:
        empty = (N_("The file has a header row but no data rows.") if header and len(frame.columns)
                 else N_("The file has no rows."))
        raise SequenceError(empty)
    check_shape(len(frame), len(frame.columns), Message(N_("The file")))
    frame.columns = column_names(frame.columns, header)
    table = RawTable(frame, bool(header), decimal, delimiter)
    if decimal == "," or delimiter not in (",", "\t"):
        shown = {" ": Message(N_("spaces")), "\t": Message(N_("tabs"))}.get(delimiter, repr(delimiter))
        table.notes.append(Message(N_("Read with {shown} between columns and {decimal!r} as the decimal mark."),
                                   {"shown": shown, "decimal": decimal}))
    return table


def _parser_message(message: str, header: bool) -> Message:
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if found:
        expected, line, saw = (int(g) for g in found.groups())
        template = (N_("Row {line} has {saw} values but the first row has {expected}. Every row must have the same "
                       "number of columns (is a value with the delimiter in it unquoted?).") if header else
                    N_("Row {line} has {saw} values but the first data row has {expected}. Every row must have the "
                       "same number of columns (is a value with the delimiter in it unquoted?)."))
        return Message(template, {"line": line, "saw": saw, "expected": expected})
    return Message(N_("This file cannot be read as a table: {message}."), {"message": message.strip()[:200]})


def column_names(columns, header: bool) -> list[str]:
    """Column names as unique, non-empty strings ("column 3" where none was given)."""
    names, seen = [], set()
    for j, name in enumerate(columns):
        text = str(name).strip() if header and name is not None and str(name).strip() \
            and not str(name).startswith("Unnamed:") else f"column {j + 1}"
        base, k = text, 2
        while text in seen:
            text, k = f"{base} ({k})", k + 1
        seen.add(text)
        names.append(text)
    return names


# -- Parquet -------------------------------------------------------------------------------------


def read_parquet(data: bytes, max_unzipped: int = MAX_UNZIPPED) -> RawTable:
    """Parquet -> RawTable; the footer's row count, columns and sizes are checked before any data is read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not (data.startswith(b"PAR1") and data.endswith(b"PAR1")):
        raise SequenceError(N_("This .parquet file does not start and end with Parquet's 'PAR1' mark: is it really a "
                               "Parquet file? Save it with pandas.DataFrame.to_parquet or pyarrow."))
    try:
        parquet = pq.ParquetFile(pa.BufferReader(data))
        meta = parquet.metadata
        check_shape(meta.num_rows, meta.num_columns, Message(N_("This Parquet file")))
        unzipped = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if unzipped > max_unzipped:
            raise SequenceError(N_("This Parquet file holds {unzipped:,.0f} MB of data once decompressed; the limit "
                                   "is {max_unzipped} MB. Keep the columns and rows you need."),
                                unzipped=unzipped / 2**20, max_unzipped=max_unzipped // 2**20)
        table = parquet.read(use_threads=False)
        if table.num_rows != meta.num_rows:
            raise SequenceError(N_("This Parquet file's data does not match its footer (row counts differ): it is "
                                   "damaged."))
        frame = table.to_pandas()
    except SequenceError:
        raise
    except (pa.ArrowException, OSError, ValueError, TypeError, IndexError, KeyError) as err:
        raise SequenceError(N_("This .parquet file is damaged or cannot be read ({err})."),
                            err=str(err)[:200]) from None
    if frame.empty:
        raise SequenceError(N_("This Parquet file has no rows."))
    frame = frame.reset_index(drop=True)
    frame.columns = column_names(frame.columns, True)
    return RawTable(frame, True)


# -- Excel ---------------------------------------------------------------------------------------


def unzip_capped(data: bytes, what: str, max_unzipped: int = MAX_UNZIPPED) -> dict[str, bytes]:
    """Every member of a zip, decompressed with a cap: the directory's sizes are checked first, and
    decompression stops at the cap whatever the directory claims (a zip bomb is refused)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise SequenceError(N_("This {what} file is not a valid zip archive ({error}): is it damaged, or another "
                               "format?"), what=what, error=type(err).__name__) from None
    claimed = sum(m.file_size for m in members)
    if claimed > max_unzipped or len(members) > 10_000:
        raise SequenceError(N_("This {what} file would expand to {claimed:,.0f} MB when unzipped ({n_members:,} "
                               "parts); the limit is {max_unzipped} MB. It looks like a zip bomb, or the table is "
                               "too large: keep the rows and columns you need."),
                            what=what, claimed=claimed / 2**20, n_members=len(members),
                            max_unzipped=max_unzipped // 2**20)
    out, total = {}, 0
    try:
        for member in members:
            if member.is_dir():
                continue
            with archive.open(member) as stream:
                chunks = []
                while chunk := stream.read(1 << 20):
                    total += len(chunk)
                    if total > max_unzipped:
                        raise SequenceError(N_("This {what} file expands past {max_unzipped} MB when unzipped (more "
                                               "than its directory says): refused as a zip bomb."),
                                            what=what, max_unzipped=max_unzipped // 2**20)
                    chunks.append(chunk)
            out[member.filename] = b"".join(chunks)
    except SequenceError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as err:
        raise SequenceError(N_("This {what} file is damaged or encrypted ({error}: {err})."),
                            what=what, error=type(err).__name__, err=str(err)[:120]) from None
    return out


def read_xlsx(data: bytes, sheet: str | None = None, header: bool | None = None,
              max_unzipped: int = MAX_UNZIPPED) -> RawTable:
    """Excel .xlsx -> RawTable: the first sheet, or ``sheet``; cached values only, no formula is evaluated."""
    import openpyxl
    import pandas as pd

    if not data.startswith(b"PK"):
        raise SequenceError(N_("This .xlsx file is not an Excel workbook (a zip archive). Old .xls files: save as "
                               ".xlsx or .csv first."))
    members = unzip_capped(data, ".xlsx", max_unzipped)
    if "xl/workbook.xml" not in members:
        raise SequenceError(N_("This .xlsx file has no workbook inside (xl/workbook.xml): is it really an Excel file?"))
    # Hand openpyxl only the checked, already decompressed parts (stored, not compressed again).
    checked = io.BytesIO()
    with zipfile.ZipFile(checked, "w", zipfile.ZIP_STORED) as z:
        for name, content in members.items():
            if not name.lower().endswith(".bin"):        # VBA macros and other binary parts are never passed on
                z.writestr(name, content)
    members.clear()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(checked, read_only=True, data_only=True, keep_links=False)
        try:
            sheets = list(book.sheetnames)
            if not sheets:
                raise SequenceError(N_("This workbook has no sheets."))
            name = sheets[0] if sheet is None else sheet
            if name not in sheets:
                raise SequenceError(N_("No sheet named {name!r} in this workbook; it has: {sheets}."),
                                    name=name, sheets=', '.join(sheets))
            rows = _sheet_rows(book[name])
        finally:
            book.close()
    except SequenceError:
        raise
    except Exception as err:   # openpyxl raises many types on damaged XML (KeyError, TypeError, ParseError, ...)
        raise SequenceError(N_("This .xlsx file is damaged or cannot be read ({error}: {err})."),
                            error=type(err).__name__, err=str(err)[:160]) from None
    if not rows:
        raise SequenceError(N_("Sheet {name!r} is empty."), name=name)
    width = max(len(r) for r in rows)
    rows = [r + (None,) * (width - len(r)) for r in rows]
    first_text = all(isinstance(v, str) or v is None for v in rows[0]) and any(isinstance(v, str) for v in rows[0])
    header = first_text if header is None else header
    names = rows[0] if header else list(range(width))
    frame = pd.DataFrame(rows[1:] if header else rows, columns=range(width), dtype=object)
    if frame.empty:
        raise SequenceError(N_("Sheet {name!r} has a header row but no data rows."),
                            name=name)
    frame.columns = column_names(names, header)
    frame = frame.infer_objects()
    table = RawTable(frame, header, sheet=name, sheets=sheets)
    if len(sheets) > 1:
        table.notes.append(Message(N_("The workbook has {n_sheets} sheets; read {name!r}. Pick another in the list."),
                                   {"n_sheets": len(sheets), "name": name}))
    return table


def _sheet_rows(ws) -> list[tuple]:
    """All rows of a read-only worksheet as tuples of values, stopped at the limits.

    The sheet's declared size is checked first; then the declared size is dropped
    (reset_dimensions), so a sheet that claims column XFD or row 1,048,576 is not
    padded out to them, and the cells actually read are counted.
    """
    declared = (ws.max_row or 0) * (ws.max_column or 0)
    if declared > MAX_XLSX_CELLS:
        raise SequenceError(N_("This sheet declares {max_row:,} rows x {max_column:,} columns; Excel sheets are read "
                               "up to {max_xlsx_cells:,} cells here. Save the table as .csv or .parquet, or keep the "
                               "rows and columns you need."),
                            max_row=ws.max_row, max_column=ws.max_column, max_xlsx_cells=MAX_XLSX_CELLS)
    ws.reset_dimensions()
    rows, cells, seen = [], 0, 0
    for row in ws.iter_rows(values_only=True):
        seen += 1
        if len(row) > MAX_TABLE_COLUMNS or seen > MAX_TABLE_ROWS:
            check_shape(seen, len(row), Message(N_("This sheet")))
        end = len(row)
        while end and row[end - 1] is None:
            end -= 1
        if not end:
            continue                       # blank rows are skipped, as in CSV
        rows.append(tuple(_cell(v) for v in row[:end]))
        cells += end
        if cells > MAX_XLSX_CELLS:
            raise SequenceError(N_("This sheet has more than {max_xlsx_cells:,} cells; Excel sheets are read up to "
                                   "that many here. Save the table as .csv or .parquet, or keep the rows and columns "
                                   "you need."), max_xlsx_cells=MAX_XLSX_CELLS)
    return rows


def _cell(value):
    """A cell as data: numbers, text and dates as they are; anything else (errors, times) as text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    import datetime

    if isinstance(value, datetime.datetime | datetime.date):
        return value
    return str(value)
