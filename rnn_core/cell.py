"""Kept for old imports: the SimpleRNN step now lives in ``simple_rnn_cell.py``."""

from .simple_rnn_cell import SimpleRNNCell, step_backward, step_forward  # noqa: F401
