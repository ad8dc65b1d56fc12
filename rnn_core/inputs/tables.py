"""A table becomes a sequence: which columns are the features, the time axis, the sequence id, the label.

Every column gets a kind: "number", "time" (dates or times), "text" or
"empty". By default every numeric column is a feature and the first date/time
column is the time axis (rows sorted by it). A text column can be the label
(one class per frame, or per sequence when it is constant within each one) or
the sequence id: with an id column the table is in *long format* and each id
becomes one sequence of the batch, (B, T, D); sequences of different lengths
are padded at the end and a mask (B, T) marks the real steps, which is how
Keras' masking treats padded batches (a masked step carries the state on).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import SequenceError
from ..messages import N_, Message
from ..phrases import KIND_WORDS, join
from .table_readers import _DATE_LIKE, RawTable

KINDS = ("number", "time", "text", "empty")
AUTO = "auto"
_THOUSANDS = {".": re.compile(r"(?<=\d)[,'\u00a0\u202f ](?=\d{3}(?!\d))"),
              ",": re.compile(r"(?<=\d)[.'\u00a0\u202f ](?=\d{3}(?!\d))")}


@dataclass
class Column:
    name: str
    position: int                  # 0-based position in the file
    kind: str                      # one of KINDS
    values: object                 # pandas Series: float64 for numbers, datetime64 for times, str for text
    bad_row: int | None = None     # numbers: first data row (0-based) whose cell is not a number
    bad_value: str | None = None


def _shown(value) -> str:
    text = str(value)
    return text if len(text) <= 30 else text[:27] + "..."


def classify(table: RawTable) -> dict[str, Column]:
    """Every column of the table with its kind and its values converted to that kind."""
    import pandas as pd

    columns = {}
    for j, name in enumerate(table.frame.columns):
        s = table.frame[name]
        if pd.api.types.is_bool_dtype(s) or (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_complex_dtype(s)):
            values = s.astype(np.float64)
            columns[name] = Column(name, j, "empty" if values.isna().all() else "number", values)
        elif pd.api.types.is_datetime64_any_dtype(s):
            columns[name] = Column(name, j, "time", _naive(s))
        else:
            columns[name] = _classify_text(name, j, s, table.decimal)
    return columns


def _naive(times):
    """Datetimes without a time zone (UTC when they had one), so every column compares with every other."""
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    return times


def _classify_text(name: str, position: int, s, decimal: str) -> Column:
    import pandas as pd

    text = s.astype(object).where(s.notna(), None).astype("string").str.strip()
    present = text.notna() & (text != "")
    n_present = int(present.sum())
    if n_present == 0:
        return Column(name, position, "empty", pd.Series(np.full(len(s), np.nan), index=s.index))
    cleaned = text.str.replace(_THOUSANDS[decimal], "", regex=True)
    if decimal == ",":
        cleaned = cleaned.str.replace(",", ".", regex=False)
    numbers = pd.to_numeric(cleaned.where(present, None), errors="coerce").astype(np.float64)
    is_number = numbers.notna() & present
    n_numbers = int(is_number.sum())
    if n_numbers == n_present:
        return Column(name, position, "number", numbers)
    dates = _dates(text, present, decimal)
    if dates is not None:
        return Column(name, position, "time", dates)
    if n_numbers >= n_present / 2:             # mostly numbers: a few bad cells are errors to report
        bad = np.flatnonzero((present & ~is_number).to_numpy())[0]
        return Column(name, position, "number", numbers, int(bad), str(text.iloc[bad]))
    return Column(name, position, "text", text.where(present, None))


def _dates(text, present, decimal: str):
    """The column as datetimes if every present cell is a date or time, else None."""
    import pandas as pd

    sample = text[present]
    if not sample.head(1000).str.contains(_DATE_LIKE).all() or not sample.str.contains(_DATE_LIKE).all():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dates = pd.to_datetime(text.where(present, None), errors="coerce", dayfirst=decimal == ",", utc=True)
    except (ValueError, TypeError, OverflowError):
        return None
    if dates[present].isna().any():
        return None
    return dates.dt.tz_localize(None)


# -- choosing --------------------------------------------------------------------------------------


def to_sequence(table: RawTable, info, *, columns=None, time_column=AUTO, id_column=None, label_column=None,
                ids=None, max_batch: int, max_features: int, nan_policy: str = "error") -> np.ndarray:
    """The chosen features as float64 (T, D), or (B, T, D) with an id column; fills ``info`` with what
    was chosen and what is available. See the module docstring for the defaults."""
    import pandas as pd

    kinds = classify(table)
    row_offset = 1 + table.header                    # data row i is row i + row_offset of the file
    info.columns = {c.name: c.kind for c in kinds.values()}
    info.header = list(kinds) if table.header else None
    info.preview = table.frame.head(20)
    info.notes.extend(table.notes)

    def column(name, role):
        if name not in kinds:
            raise SequenceError(N_("No column named {name!r} for the {role}; the columns are: {columns}."),
                                name=name, role=role, columns=', '.join(map(repr, kinds)))
        return kinds[name]

    if time_column == AUTO:
        time_column = next((c.name for c in kinds.values() if c.kind == "time"), None)
    time = column(time_column, Message(N_("time axis"))) if time_column is not None else None
    if time is not None and time.kind not in ("time", "number"):
        raise SequenceError(N_("Column {name!r} cannot be the time axis: it holds text, not dates, times or numbers. "
                               "Choose another time column, or none (rows in file order)."),
                            name=time.name)
    ident = column(id_column, Message(N_("sequence id"))) if id_column is not None else None
    label = column(label_column, Message(N_("label"))) if label_column is not None else None
    roles = {c.name for c in (time, ident, label) if c is not None}
    if len(roles) < sum(c is not None for c in (time, ident, label)):
        raise SequenceError(N_("The time, id and label columns must be different columns."))

    if columns is None:
        features = [c.name for c in kinds.values() if c.kind == "number" and c.name not in roles]
        if len(features) > max_features:
            info.notes.append(Message(N_("The table has {n_features} numeric columns; using the first "
                                         "{max_features}. Pick the features you need."),
                                      {"n_features": len(features), "max_features": max_features}))
            features = features[:max_features]
    else:
        features = list(dict.fromkeys(columns))
        if not features:
            raise SequenceError(N_("Choose at least one feature column."))
        for name in features:
            c = column(name, Message(N_("features")))
            if name in roles:
                raise SequenceError(N_("Column {name!r} is already the time, id or label column; it cannot also be a "
                                       "feature."), name=name)
            if c.kind == "text":
                raise SequenceError(N_("Column {name!r} holds text (e.g. {example!r}), not numbers: choose it as the "
                                       "label or the sequence id, not as a feature."),
                                    name=name, example=_shown(c.values.dropna().iloc[0]))
            if c.kind == "time":
                raise SequenceError(N_("Column {name!r} holds dates or times: choose it as the time axis, not as a "
                                       "feature."), name=name)
        if len(features) > max_features:
            raise SequenceError(N_("{n_features} feature columns chosen; the limit is {max_features}."),
                                n_features=len(features), max_features=max_features)
    if not features:
        kinds_shown = join(Message(N_("{name!r} ({kind})"), {"name": n, "kind": Message(KIND_WORDS[k])})
                           for n, k in info.columns.items())
        raise SequenceError(N_("No numeric columns to use as features. The columns are: {columns}. Every feature "
                               "must be a column of numbers."), columns=kinds_shown)
    for name in features:
        c = kinds[name]
        if c.bad_row is not None:
            where = (Message(N_("column {position} ({name})"), {"position": c.position + 1, "name": name})
                     if table.header else Message(N_("column {position}"), {"position": c.position + 1}))
            raise SequenceError(N_("Row {bad_row}, {where}: {value!r} is not a number. Every cell of a feature "
                                   "column must be numeric: fix the cell, or leave the column out of the features."),
                                bad_row=c.bad_row + row_offset, where=where, value=_shown(c.bad_value))
    left_out = [c.name for c in kinds.values() if c.kind in ("text", "time") and c.name not in roles]
    if left_out:
        info.notes.append(Message(N_("Left out (not numbers): {columns}. A text column can be the label or the "
                                     "sequence id."), {"columns": ", ".join(map(repr, left_out))}))
    info.features, info.time_column = features, time_column
    info.id_column, info.label_column = id_column, label_column

    values = np.column_stack([kinds[n].values.to_numpy(np.float64, na_value=np.nan) for n in features])
    n = len(values)
    keep = np.ones(n, bool)
    for c, role in ((time, Message(N_("time"))), (ident, Message(N_("sequence id")))):
        if c is not None and c.values.isna().any():
            missing = c.values.isna().to_numpy()
            keep &= ~missing
            info.notes.append(Message(N_("Left out {count} rows without a {role} ({name!r}; first at row {row})."),
                                      {"count": int(missing.sum()), "role": role, "name": c.name,
                                       "row": int(np.flatnonzero(missing)[0]) + row_offset}))
    bad = ~np.isfinite(values)
    bad_rows = bad.any(axis=1) & keep
    if bad_rows.any():
        if nan_policy == "error":
            i, j = np.argwhere(bad & keep[:, None])[0]
            raise SequenceError(N_("{count} values are missing, NaN or infinite (first at row {row}, column "
                                   "{column!r}). Choose 'drop' to remove those time steps, or 'fill' to carry the "
                                   "previous value forward."),
                                count=int((bad & keep[:, None]).sum()), row=i + row_offset, column=features[j])
        if nan_policy == "drop":
            info.dropped_rows = [int(i) for i in np.flatnonzero(bad_rows)]
            info.notes.append(Message(N_("Dropped {n_dropped_rows} time steps with missing, NaN or infinite values."),
                                      {"n_dropped_rows": len(info.dropped_rows)}))
            keep &= ~bad_rows
        else:
            info.filled_values = int((bad & keep[:, None]).sum())
            info.notes.append(Message(N_("Filled {filled_values} missing, NaN or infinite values with the previous "
                                         "value of that feature (0 at the start)."),
                                      {"filled_values": info.filled_values}))
    rows = np.flatnonzero(keep)

    # Order of the steps: by time (stable: rows with equal times keep the file's order), else the file's order.
    time_key = None
    if time is not None:
        t = time.values.to_numpy()[rows]
        time_key = t.astype("datetime64[ns]").astype(np.int64) if time.kind == "time" else t.astype(np.float64)

    if ident is None:
        order = np.argsort(time_key, kind="stable") if time_key is not None else np.arange(len(rows))
        if time_key is not None and not np.all(order == np.arange(len(rows))):
            info.notes.append(Message(N_("Rows were not in time order; sorted by {name!r}."),
                                      {"name": time.name}))
        rows = rows[order]
        x = values[rows]
        if nan_policy == "fill":
            x = pd.DataFrame(x).replace([np.inf, -np.inf], np.nan).ffill().fillna(0.0).to_numpy()
        if time is not None:
            info.time_values = time.values.to_numpy()[rows]
            _repeated_times(info, info.time_values, time.name, kinds, roles)
        if label is not None:
            codes, info.class_names = _label_codes(_as_text(label).iloc[rows])
            info.labels, info.label_per_sequence = codes, False
        return x

    # Long format: one sequence per id, each sorted by time.
    if rows.size == 0:                                            # found by the fuzz test: every id missing
        raise SequenceError(N_("No rows are left to use: every row lacks a time or a sequence id, or was dropped for "
                               "missing values."))
    id_text = _as_text(ident).to_numpy(dtype=object, na_value=None)[rows]
    group, uniques = pd.factorize(id_text, sort=False)           # ids in order of first appearance
    info.all_ids = [str(u) for u in uniques]
    if ids is None:
        chosen = info.all_ids[:max_batch]
    else:
        chosen = list(dict.fromkeys(str(i) for i in ids))
        unknown = [i for i in chosen if i not in set(info.all_ids)]
        if unknown:
            raise SequenceError(N_("No sequence {unknown!r} in column {name!r}; it has {n_all_ids}, e.g. {examples}."),
                                unknown=unknown[0], name=ident.name, n_all_ids=len(info.all_ids),
                                examples=", ".join(map(repr, info.all_ids[:5])))
        if not chosen:
            raise SequenceError(N_("Choose at least one sequence id."))
        if len(chosen) > max_batch:
            raise SequenceError(N_("{n_chosen} sequences chosen; the batch limit is {max_batch}."),
                                n_chosen=len(chosen), max_batch=max_batch)
    if len(chosen) < len(info.all_ids):
        if ids is None and len(info.all_ids) > max_batch:
            template = N_("Using the first {n_chosen} of {n_all_ids} sequences ({name!r}); the batch limit is "
                          "{max_batch}. Pick the ones you want.")
        elif ids is None:
            template = N_("Using the first {n_chosen} of {n_all_ids} sequences ({name!r}). Pick the ones you want.")
        elif len(info.all_ids) > max_batch:
            template = N_("Using {n_chosen} of {n_all_ids} sequences ({name!r}); the batch limit is {max_batch}. "
                          "Pick the ones you want.")
        else:
            template = N_("Using {n_chosen} of {n_all_ids} sequences ({name!r}). Pick the ones you want.")
        info.notes.append(Message(template, {"n_chosen": len(chosen), "n_all_ids": len(info.all_ids),
                                             "name": ident.name, "max_batch": max_batch}))
    position_of = {name: b for b, name in enumerate(chosen)}
    batch_of_group = np.array([position_of.get(u, -1) for u in info.all_ids], dtype=np.int64)
    b = batch_of_group[group]
    inside = b >= 0
    rows, b = rows[inside], b[inside]
    key = time_key[inside] if time_key is not None else rows
    if time_key is not None:
        by_id = np.argsort(b, kind="stable")                     # file order within each sequence
        same_id = np.diff(b[by_id]) == 0
        if (np.diff(key[by_id])[same_id] < 0).any():
            info.notes.append(Message(N_("Rows were not in time order within each sequence; sorted by {name!r}."),
                                      {"name": time.name}))
    order = np.lexsort((key, b))
    rows, b = rows[order], b[order]
    B = len(chosen)
    lengths = np.bincount(b, minlength=B)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    step = np.arange(len(rows)) - starts[b]
    T, D = int(lengths.max(initial=0)), len(features)
    if T > 100_000_000:   # unreachable with the table limits; keeps the allocation below obviously bounded
        raise SequenceError(N_("A sequence is too long."))
    x = np.zeros((B, T, D))
    x[b, step] = values[rows]
    if nan_policy == "fill":
        for i in range(B):
            x[i, :lengths[i]] = pd.DataFrame(x[i, :lengths[i]]).replace([np.inf, -np.inf], np.nan).ffill() \
                .fillna(0.0).to_numpy()
    info.ids = chosen
    if lengths.min() < T:
        info.mask = step_mask = np.arange(T)[None, :] < lengths[:, None]     # (B, T) True where the step is real
        info.notes.append(Message(N_("The sequences have different lengths ({shortest} to {longest} steps): "
                                     "the shorter ones "
                                     "are padded with zeros at the end, and a mask marks the {real:,} real steps "
                                     "(masked steps carry the state on, as with Keras' masking)."),
                                  {"shortest": lengths.min(), "longest": T, "real": int(step_mask.sum())}))
    if time is not None:
        t_all = time.values.to_numpy()
        longest = int(np.argmax(lengths))
        info.time_values = t_all[rows[b == longest]]
        same = all(np.array_equal(t_all[rows[b == i]], info.time_values[:lengths[i]]) for i in range(B))
        if not same:
            info.notes.append(Message(N_("The sequences have different {name!r} values; steps are aligned by "
                                         "position and the time axis shows those of {chosen!r}."),
                                      {"name": time.name, "chosen": chosen[longest]}))
    if label is not None:
        codes, info.class_names = _label_codes(_as_text(label).iloc[rows])
        frame_labels = np.zeros((B, T), np.int64)
        frame_labels[b, step] = codes
        info.labels = frame_labels
        info.label_per_sequence = all(len(np.unique(codes[b == i])) <= 1 for i in range(B))
        if info.label_per_sequence:
            info.notes.append(Message(N_("The label {name!r} is the same at every step of each sequence: one class "
                                         "per sequence (many-to-one)."),
                                      {"name": label.name}))
    return x


def _as_text(column: Column):
    """A column's values as text; whole numbers without a decimal point (an id 4, not 4.0)."""
    values = column.values
    if column.kind == "number" and bool((values.dropna() % 1 == 0).all()) and values.abs().max() < 2**53:
        values = values.astype("Int64")
    return values.astype("string")


def _label_codes(values) -> tuple[np.ndarray, list[str]]:
    """Class index per row (classes sorted by name; a missing label is the class '(missing)')."""
    import pandas as pd

    text = values.astype("string").fillna("(missing)").to_numpy(dtype=object)
    codes, classes = pd.factorize(text, sort=True)
    return codes.astype(np.int64), [str(c) for c in classes]


def _repeated_times(info, times, name: str, kinds: dict[str, Column], roles: set[str]) -> None:
    """Say when a time repeats: the table is probably in long format (one row per id and time)."""
    import pandas as pd

    repeats = pd.Series(times).duplicated()
    if not repeats.any():
        return
    hint = next((c.name for c in kinds.values() if c.kind == "text" and c.name not in roles), None)
    info.suggested_id = hint
    if hint:
        info.notes.append(Message(N_("{count:,} rows repeat a {name!r} value: is this long format (one row per "
                                     "sequence and time)? Choose a sequence id column, e.g. {hint!r}."),
                                  {"count": int(repeats.sum()), "name": name, "hint": hint}))
    else:
        info.notes.append(Message(N_("{count:,} rows repeat a {name!r} value: is this long format (one row per "
                                     "sequence and time)? Choose a sequence id column."),
                                  {"count": int(repeats.sum()), "name": name}))
