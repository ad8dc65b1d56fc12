"""Choice widgets whose URL value is the option itself, whatever language the label is shown in.

Streamlit's ``bind="query-params"`` writes a choice widget's *display label* into the URL
(``source=type+numbers``); with translated labels a link shared from the Korean UI would not open in
the English one. :func:`choice` keeps the binding by hand instead: the widget stores the option
(``"typed"``), shows ``format_func(option)`` (translated), is seeded from the URL once per session and
writes the option back into the URL (``?source=typed``), leaving the URL when it is the default, as
a bound widget does. Unbound parameters stay in the URL across page changes, so a page-level choice
is found again when the visitor comes back. Numbers, toggles and code names (cell=LSTM,
activation=tanh) keep Streamlit's own binding: their labels are their values.

An invalid URL value is removed and the default drawn, like Streamlit does for bound widgets, so
``controls.show_url_corrections`` names it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

# Session key: the keys of choice widgets whose option labels are translated. After a language switch
# controls.init_language gives each its value again, so the browser is sent the label in the new language.
TRANSLATED_CHOICES = "translated_choices"


def seed(key: str, options: Sequence[Any], default: Any) -> None:
    """Give ``key`` its value before the widget is drawn: the session's, else the URL's, else the default."""
    by_text = {str(o): o for o in options}
    state = st.session_state
    if key in state and state[key] in options:
        return
    raw = st.query_params.get(key)
    if key not in state and raw is not None and raw in by_text:
        state[key] = by_text[raw]
        return
    if raw is not None and raw not in by_text:
        del st.query_params[key]               # not a valid value: say so (show_url_corrections), use the default
    state[key] = default


def publish(key: str, value: Any, default: Any) -> None:
    """Write the widget's value into the URL (removed when it is the default)."""
    current = st.query_params.get(key)
    if value is None or value == default:
        if current is not None:
            del st.query_params[key]
    elif current != str(value):
        st.query_params[key] = str(value)


def choice(widget: Callable, label: str, options: Sequence[Any], *, key: str, default: Any,
           format_func: Callable[[Any], str] = str, **kwargs) -> Any:
    """Draw ``widget(label, options, key=key, format_func=format_func, **kwargs)`` bound to the URL by value.

    ``widget`` is a choice element such as ``st.sidebar.selectbox``, ``st.radio`` or ``segmented_control``
    (whose deselection counts as the default). Returns the chosen option.
    """
    options = list(options)
    st.session_state.setdefault(TRANSLATED_CHOICES, set()).add(key)
    seed(key, options, default)
    value = widget(label, options, key=key, format_func=_in_this_language(format_func), **kwargs)
    if value is None:
        value = default
    publish(key, value, default)
    return value


def _in_this_language(format_func: Callable[[Any], str]) -> Callable[[Any], str]:
    """``format_func`` fixed to this run's language: Streamlit's AppTest formats the value again after the run,
    outside it, where ``_()`` would fall back to English and miss the (translated) options."""
    from . import i18n

    lang = i18n.current_language()

    def shown(option: Any) -> str:
        with i18n.use_language(lang):
            return format_func(option)
    return shown
