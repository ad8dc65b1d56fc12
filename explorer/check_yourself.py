"""'Check it yourself': one gradient entry by backpropagation and by a finite difference, side by side.

A page passes the layer it ran and what it ran it on (input, dL/d(output), mask, initial state);
the visitor picks a weight, an input or a state entry and presses the button. The numbers come
from ``rnn_core.analysis.finite_differences.check_entry`` (the layer cloned into float64,
backward() against (L(+h) - L(-h)) / 2h). The panel is a fragment: picking reruns only it.

The pure part (which targets, which pickers and their bounds, the check and its error as a
Message) is plain Python, tested without Streamlit (tests/test_check_yourself.py).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import streamlit as st

from rnn_core.analysis.finite_differences import EntryCheck, check_entry, index_names, target_shape, targets_of
from rnn_core.messages import Message, UserError

from . import i18n
from .i18n import N_, _

TARGET_LABELS = {"kernel": N_("kernel W"), "recurrent_kernel": N_("recurrent kernel U"), "bias": N_("bias b"),
                 "inputs": N_("input x_t"), "hidden": N_("hidden state h_t"), "cell": N_("cell state c_t")}
INDEX_LABELS = {"row": N_("row"), "column": N_("column"), "entry": N_("entry"), "sequence": N_("sequence b"),
                "step": N_("step t"), "feature": N_("feature"), "unit": N_("unit")}


@dataclass(frozen=True)
class Picker:
    """One number of the index: what it is (a key of INDEX_LABELS) and its values 0..size-1."""

    name: str
    size: int


def available_targets(layer) -> list[str] | Message:
    """The targets the layer offers, or the reason it cannot be checked (a Message)."""
    try:
        return list(targets_of(layer))
    except UserError as err:
        return err.message


def pickers(layer, x_shape: tuple[int, int, int], target: str) -> list[Picker]:
    """One picker per number of ``target``'s index, bounded by its shape (see check_entry for the order)."""
    shape = target_shape(layer, target, tuple(x_shape))
    return [Picker(name, int(size)) for name, size in zip(index_names(target, shape), shape, strict=True)]


def shown(picks: list[Picker]) -> list[Picker]:
    """The pickers worth a widget: all but the sequence of a batch of one (it is 0)."""
    return [p for p in picks if not (p.name == "sequence" and p.size == 1)]


def run_check(layer, x, d_output, d_states=(), *, target: str, index, mask=None, initial_state=None
              ) -> EntryCheck | Message:
    """check_entry, with a visitor's mistake (or a check past the budget) returned as its Message."""
    try:
        return check_entry(layer, x, d_output, d_states, target=target, index=index, mask=mask,
                           initial_state=initial_state)
    except UserError as err:
        return err.message


def result_rows(check: EntryCheck) -> list[tuple[str, str]]:
    """(label, value) for the four numbers shown, labels in the visitor's language."""
    return [(_("backpropagation"), f"{check.analytic:.10g}"), (_("finite difference"), f"{check.numeric:.10g}"),
            (_("relative error"), f"{check.relative_error:.1e}"), (_("step size h"), f"{check.step_size:.1e}")]


def _columns(text: str) -> int:
    """Columns ``text`` takes in a monospaced font: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@st.fragment
def check_yourself_panel(layer, x, d_output, d_states=(), mask=None, initial_state=None, key_prefix: str = ""):
    """The panel: target and index pickers, a button, then both values, their relative error and why they agree.

    Arguments as rnn_core.analysis.finite_differences.check_entry; ``key_prefix`` keeps two panels on a page
    apart.
    """
    st.markdown("**" + _("Check it yourself") + "**")
    st.caption(_("Pick one number: its gradient by backpropagation, and by nudging it up and down by h and "
                 "measuring the loss (a central finite difference), both in float64."))
    targets = available_targets(layer)
    if isinstance(targets, Message):
        st.error(i18n.text(targets), icon=":material/error:")
        return
    target = st.selectbox(_("gradient of the loss with respect to"), targets, key=f"{key_prefix}check_target",
                          format_func=lambda t: _(TARGET_LABELS[t]))
    picks = pickers(layer, np.shape(x), target)
    values = dict.fromkeys((p.name for p in picks), 0)
    for col, p in zip(st.columns(len(shown(picks))), shown(picks), strict=True):
        values[p.name] = col.number_input(
            _(INDEX_LABELS[p.name]), min_value=0, max_value=p.size - 1, value=0, step=1,
            key=f"{key_prefix}check_{target}_{p.name}",
            help=_("Steps in processing order (reversed with `go_backwards`).")
            if p.name == "step" and target in ("hidden", "cell") else None)
    if not st.button(_("Check this entry"), key=f"{key_prefix}check_run", icon=":material/calculate:"):
        return
    index = tuple(int(values[p.name]) for p in picks)
    result = run_check(layer, x, d_output, d_states, target=target, index=index, mask=mask,
                       initial_state=initial_state)
    if isinstance(result, Message):
        st.error(i18n.text(result), icon=":material/error:")
        return
    (analytic, numeric, error, step) = result_rows(result)
    # The two values in full, one above the other in a monospaced box, so the digits they share line up
    # (a metric cuts a long number short); the relative error and the step size are short enough for metrics.
    width = max(_columns(analytic[0]), _columns(numeric[0]))
    values_col, error_col, step_col = st.columns([3, 1, 1], vertical_alignment="center")
    values_col.code("\n".join(label + " " * (width - _columns(label) + 2) + f"{float(value): .15e}"
                               for label, value in (analytic, numeric)), language=None)
    error_col.metric(*error)
    step_col.metric(*step)
    (st.success if result.agree else st.warning)(i18n.text(result.explanation))
