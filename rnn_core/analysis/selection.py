"""Select the units that are on over a span, and find where else they are on together (LSTMVis).

Strobelt, Gehrmann, Pfister & Rush 2017, "LSTMVis: A Tool for Visual Analysis of Hidden State Dynamics in
Recurrent Neural Networks" (IEEE TVCG 24(1)). A user marks a span of one sequence and a threshold l; the
*hypothesis* is the set of units that are on (value >= l) at every step of the span. The match search then
looks for the other spans, in any sequence, where those units are on together, and ranks them by how few
other units are on with them and how close their length is to the selection's.

States are (N, T, H): N sequences, T steps, H units (a single sequence may be given as (T, H)). Spans are
half-open, [start, stop), in steps of one sequence.

The search is vectorised for long inputs (100,000 steps x 256 units in well under a second): the states are
binarised once, then everything is per-step counts, run lengths and cumulative sums (see
:func:`match_pattern`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..messages import N_, UserError

Array = np.ndarray


def as_sequences(states) -> Array:
    """states (N, T, H), or one sequence (T, H) -> (N, T, H) (a view when possible)."""
    x = np.asarray(states)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or 0 in x.shape:
        raise UserError(N_("The states must be an array (sequences, steps, units) or (steps, units) with at least "
                           "one of each; got shape {shape}."), shape=tuple(np.shape(states)))
    return x


def check_span(x: Array, seq, start, stop) -> tuple[int, int, int]:
    """(seq, start, stop) as ints, after checking that [start, stop) is a non-empty span of sequence seq of x."""
    N, T, _ = x.shape
    if not _is_int(seq) or not 0 <= seq < N:
        raise UserError(N_("Sequence {seq} does not exist: the states hold {n} sequence(s), numbered 0 to {last}."),
                        seq=seq, n=N, last=N - 1)
    if not (_is_int(start) and _is_int(stop)):
        raise UserError(N_("The span [{start}, {stop}) must be given by whole step numbers."), start=start, stop=stop)
    if stop <= start:
        raise UserError(N_("The span [{start}, {stop}) is empty: its stop must be after its start."),
                        start=start, stop=stop)
    if start < 0 or stop > T:
        raise UserError(N_("The span [{start}, {stop}) is outside the sequence, whose steps are 0 to {last}: a span "
                           "must start at 0 or later and stop at {steps} or earlier."),
                        start=start, stop=stop, last=T - 1, steps=T)
    return int(seq), int(start), int(stop)


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _check_threshold(threshold) -> float:
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, (int, float, np.integer, np.floating)) \
            or not math.isfinite(threshold):
        raise UserError(N_("The threshold must be a finite number; got {threshold}."), threshold=repr(threshold))
    return float(threshold)


def selected_units(states, seq: int, start: int, stop: int, threshold: float) -> Array:
    """The units that are on at every step of [start, stop) of sequence ``seq``: LSTMVis' hypothesis.

        selected = { j : h_{seq, t, j} >= threshold  for every t in [start, stop) }

    states: (N, T, H) or (T, H) (then seq is 0). Returns the unit indices, ascending, int (empty when no unit
    stays at or above the threshold over the whole span).

    Example:
        >>> h = np.zeros((1, 6, 3)); h[0, 2:5, 1] = 0.8
        >>> selected_units(h, 0, 2, 5, 0.5)
        array([1])
    """
    x = as_sequences(states)
    seq, start, stop = check_span(x, seq, start, stop)
    threshold = _check_threshold(threshold)
    return np.flatnonzero((x[seq, start:stop] >= threshold).all(axis=0))


@dataclass(frozen=True)
class Match:
    """A span [start, stop) of sequence ``seq`` where every selected unit is on (see :func:`match_pattern`)."""

    seq: int
    start: int
    stop: int              # exclusive
    score: float           # in (0, 1]; 1 = same length as the selection and no other unit on
    others_on: float       # mean number of units outside the selection that are on, per step of the span

    @property
    def length(self) -> int:
        return self.stop - self.start


def match_pattern(states, seq: int, start: int, stop: int, threshold: float, top_k: int = 20,
                  min_length: int | None = None, max_length: int | None = None) -> list[Match]:
    """The spans of any sequence where the units selected on [start, stop) of ``seq`` are on together, best first.

    As LSTMVis: the states are binarised once, on = (h >= threshold); a *match* is a maximal run of steps of one
    sequence where every selected unit is on (it cannot be extended left or right). The run that contains the
    selection itself is left out. With S the k selected units, L = stop - start the selection's length, and for
    a run of length l:

        o     = mean over the run's steps of  #{ units j not in S : on_{t, j} }   (others on, per step)
        score = k / (k + o)  *  min(l, L) / max(l, L)

    The first factor is the Jaccard index |S| / |S u on_t| of the selection and the units on, averaged over the
    run (1 when no other unit is on: the match is specific to the selection); the second penalises a length
    different from the selection's (1 for the same length, 1/2 for half or twice as long). Only runs with
    ``min_length <= l <= max_length`` are candidates, by default ceil(L / 2) <= l <= 2 L (lengths within a
    factor of two of the selection's). Ties are broken by sequence, then start.

    LSTMVis ranks its candidate runs the same way in spirit (most selected units on, then fewest other units on,
    then longest); it counts the other units that are on over the *whole* run, where we count them per step,
    which also penalises units that flicker on inside the run and is one cumulative sum for all runs.

    Vectorised: one comparison of the (N, T, H) states, two per-step counts, the run boundaries from one
    ``np.diff`` and the per-run means from one cumulative sum. Returns at most ``top_k`` :class:`Match`.

    Raises a :class:`UserError` for a span outside the sequence, an empty span, or when no unit is on at every
    step of the selection (then there is nothing to match).
    """
    x = as_sequences(states)
    seq, start, stop = check_span(x, seq, start, stop)
    threshold = _check_threshold(threshold)
    if not _is_int(top_k) or top_k < 1:
        raise UserError(N_("`top_k` must be a positive whole number; got {top_k}."), top_k=repr(top_k))
    units = selected_units(x, seq, start, stop, threshold)
    if units.size == 0:
        raise UserError(N_("No unit reaches the threshold {threshold:g} at every step of [{start}, {stop}) of "
                           "sequence {seq}, so there is no pattern to match: lower the threshold or choose a "
                           "shorter span."), threshold=threshold, start=start, stop=stop, seq=seq)
    L, k = stop - start, units.size
    lo = max(1, math.ceil(L / 2)) if min_length is None else min_length
    hi = 2 * L if max_length is None else max_length
    if not (_is_int(lo) and _is_int(hi)) or not 1 <= lo <= hi:
        raise UserError(N_("The match lengths must satisfy 1 <= `min_length` <= `max_length`; got `min_length` = "
                           "{lo}, `max_length` = {hi}."), lo=repr(lo), hi=repr(hi))

    N, T, _ = x.shape
    on = x >= threshold                                        # (N, T, H) binarised once
    sel = on[..., units]                                       # (N, T, k) the selected units
    n_sel = np.count_nonzero(sel, axis=-1)                     # (N, T) selected units on at each step
    others = np.count_nonzero(on, axis=-1) - n_sel             # (N, T) other units on at each step
    del on

    # Maximal runs of "every selected unit on": +1 where a run starts, -1 just after it ends.
    edges = np.zeros((N, T + 2), np.int8)
    edges[:, 1:-1] = n_sel == k
    d = np.diff(edges, axis=1)                                 # (N, T + 1)
    run_seq, run_start = np.nonzero(d == 1)                    # row-major: the runs in order ...
    _, run_stop = np.nonzero(d == -1)                          # ... and their ends in the same order
    length = run_stop - run_start

    cum = np.zeros((N, T + 1), np.int64)                       # cum[n, t] = sum of others[n, :t]
    np.cumsum(others, axis=1, out=cum[:, 1:])
    own = (run_seq == seq) & (run_start <= start) & (run_stop >= stop)     # the run holding the selection
    keep = (length >= lo) & (length <= hi) & ~own
    run_seq, run_start, run_stop, length = run_seq[keep], run_start[keep], run_stop[keep], length[keep]
    if run_seq.size == 0:
        return []
    mean_others = (cum[run_seq, run_stop] - cum[run_seq, run_start]) / length       # o
    score = k / (k + mean_others) * np.minimum(length, L) / np.maximum(length, L)
    best = np.lexsort((run_start, run_seq, -score))[:top_k]
    return [Match(int(run_seq[i]), int(run_start[i]), int(run_stop[i]), float(score[i]), float(mean_others[i]))
            for i in best]
