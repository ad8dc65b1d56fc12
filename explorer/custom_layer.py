"""A layer the visitor brought: trained on the Training page, or picked from an uploaded .keras model.

It lives in the visitor's session (``st.session_state["custom_layer"]``, never the URL) as a dict:
``{"label", "cell", "config", "weights", "head", "head_weights", "input_dim"}``. While it is set, every
page shows that layer: :func:`apply` replaces the sidebar's layer (cell, units, activations, ...) with
its configuration and gives the AppConfig a ``layer_id`` (a digest of the weights), and
explorer.runs.make_weights / make_head_weights return its weights for that id. The caches key on the
AppConfig, so two visitors with different layers never share a result, and the same layer is
computed once.

The registry below is plain Python (no Streamlit); the few Streamlit functions draw the badge and the
"stop using" button. It holds each layer only as long as a session uses it (weak references: the
session's dict keeps its entry alive), so it needs no bound of its own: a session's layer is bounded by
the upload limits and the training budget.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from dataclasses import replace

import numpy as np

from rnn_core.messages import Message

from . import i18n
from .i18n import N_, _, ngettext

KEY = "custom_layer"


class _Entry:
    """The weights of one layer in use (a class, so the registry can refer to it weakly)."""

    def __init__(self, weights, head_weights) -> None:
        self.weights = [np.array(w, np.float32) for w in weights]
        self.head_weights = None if head_weights is None else [np.array(w, np.float32) for w in head_weights]


_lock = threading.Lock()
_registry: weakref.WeakValueDictionary[str, _Entry] = weakref.WeakValueDictionary()


def layer_id(custom: dict) -> str:
    """A digest of the layer's configuration and weights: the same layer gets the same id for every visitor."""
    h = hashlib.blake2b(digest_size=12)
    h.update(repr((custom["cell"], sorted(custom["config"].items()), custom["head"])).encode())
    for w in list(custom["weights"]) + list(custom["head_weights"] or ()):
        a = np.ascontiguousarray(w, dtype=np.float32)
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


EXAMPLE_CHARS = 500      # the saved text the other pages run an uploaded character layer on (steps)


def with_text(custom: dict, record) -> dict:
    """``custom`` with the character task its .keras file recorded (rnn_core/saving/text_record.py) as its
    example, when the layer reads those characters (its input features are the vocabulary's one-hot rows):
    the Inside a trained network page then reads text with it, and the other pages run it on that text."""
    if record is None or custom["input_dim"] != len(record.vocabulary) or len(record.sample) < 2:
        return custom
    index = {ch: i for i, ch in enumerate(record.vocabulary)}
    codes = np.fromiter((index[ch] for ch in record.sample[:EXAMPLE_CHARS]), np.int64)
    x = np.eye(len(record.vocabulary), dtype=np.float32)[codes][None]
    description = Message(N_("the text saved with the model ({n} characters)"), {"n": x.shape[1]})
    return {**custom, "example": {"x": x, "labels": None, "description": description, "task": record.task,
                                  "vocabulary": record.vocabulary, "text": record.sample}}


def register(custom: dict) -> str:
    """Make the layer's weights findable by its id while ``custom`` (the session's dict) lives; return the id."""
    key = custom.get("_id") or layer_id(custom)
    with _lock:
        entry = _registry.get(key)
        if entry is None:
            entry = _registry[key] = _Entry(custom["weights"], custom["head_weights"])
    custom["_id"], custom["_entry"] = key, entry          # the session holds the entry: it stays registered
    return key


def weights(key: str) -> list[np.ndarray]:
    with _lock:
        return [w.copy() for w in _registry[key].weights]


def head_weights(key: str) -> list[np.ndarray] | None:
    with _lock:
        head = _registry[key].head_weights
    return None if head is None else [w.copy() for w in head]


def apply(cfg, custom: dict | None):
    """The configuration every page shows: the sidebar's, or with a custom layer its cell, size and weights.

    The flags that do not change the numbers of a step (return_sequences, return_state, stateful) stay the
    sidebar's, so the output-shapes page still answers "what would this layer return with these flags".
    """
    if not custom:
        return cfg
    config = custom["config"]
    fields = {k: config[k] for k in ("activation", "use_bias", "go_backwards", "recurrent_activation",
                                     "unit_forget_bias", "reset_after") if k in config}
    head = custom["head"]
    num_classes = cfg.num_classes if custom["head_weights"] is None else int(np.shape(custom["head_weights"][0])[1])
    return replace(cfg, cell=custom["cell"], units=int(config["units"]), recurrent_scale=1.0, head=head,
                   num_classes=num_classes, layer_id=register(custom), **fields)


def input_mismatch(custom: dict | None, features: int) -> str | None:
    """What to do when the sequence does not have the features the layer was built for (None when it has)."""
    if not custom or custom["input_dim"] == features:
        return None
    return _("The layer shown ({label}) reads {wanted} feature(s) per step, but the input sequence has {features}. "
             "Upload or type a sequence with {wanted} column(s) (sidebar: *Input sequence*), or press *Stop using "
             "this layer* to go back to the sidebar's layer.").format(label=label(custom), wanted=custom["input_dim"],
                                                                       features=features)


def label(custom: dict) -> str:
    """The layer's name for people ("LSTM layer 'encoder' of model.keras"), in the visitor's language."""
    return i18n.text(custom["label"])


# -- Streamlit -----------------------------------------------------------------------------------------------


def sidebar_notice(sb) -> None:
    """In the sidebar: which layer every page shows, and a button to go back to the sidebar's own."""
    import streamlit as st

    custom = st.session_state.get(KEY)
    if not custom:
        return
    box = sb.container(border=True)
    box.markdown(_("**Every page shows:** {label}").format(label=label(custom)))
    box.caption(ngettext("`{cell}({units})`, {n} input feature. The layer settings below (cell, units, activations, "
                         "weights) are replaced by this layer's; the flags `return_sequences`, `return_state` and "
                         "`stateful` still apply.",
                         "`{cell}({units})`, {n} input features. The layer settings below (cell, units, activations, "
                         "weights) are replaced by this layer's; the flags `return_sequences`, `return_state` and "
                         "`stateful` still apply.", custom["input_dim"]).format(
        cell=custom["cell"], units=custom["config"]["units"], n=custom["input_dim"]))
    if box.button(_("Stop using this layer"), key="custom_layer_stop", icon=":material/close:"):
        st.session_state.pop(KEY, None)
        st.rerun()


def badge() -> None:
    """At the top of every page while a custom layer is shown."""
    import streamlit as st

    custom = st.session_state.get(KEY)
    if custom:
        st.badge(_("Showing {label}").format(label=label(custom)), icon=":material/model_training:", color="violet")
