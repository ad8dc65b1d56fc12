"""Inputs: a visitor's file, table or typed text becomes a sequence (B, T, D), or a clear message says why not.

``loading.py`` holds ``load_sequence`` (every format, every limit checked before the bytes are parsed);
``table_readers.py`` reads delimited text, Parquet and Excel into pandas, and ``tables.py`` turns a table into
a sequence (features, time axis, ids, labels); ``examples.py`` builds the app's built-in sequences.
"""

from ..errors import SequenceError
from .loading import SequenceInfo, load_sequence

__all__ = ["SequenceError", "SequenceInfo", "load_sequence"]
