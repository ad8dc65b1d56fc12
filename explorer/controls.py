"""The shared sidebar controls: every widget is bound to the URL, so a view can be shared exactly."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import streamlit as st

from rnn_core import ACTIVATIONS
from rnn_core.data import (
    FORMATS,
    MAX_STEPS,
    NAN_POLICIES,
    NORMALIZATIONS,
    SequenceError,
    limits_text,
    load_sequence,
    parse_typed,
)
from rnn_core.budget import budget_text
from rnn_core.examples import EXAMPLES
from rnn_core.initializers import INITIALIZERS

from .settings import DEFAULT, HEADS, PRESETS, SOURCES, AppConfig

URL = "query-params"
MAX_UNITS = 256


def _apply_preset() -> None:
    name = st.session_state.get("preset")
    if name is None:
        return
    preset = PRESETS[name]
    for f in fields(AppConfig):
        st.session_state[f.name] = getattr(preset, f.name)
    st.session_state.pop("carried_state", None)
    st.session_state["preset"] = None      # a preset is an action: the box goes back to its prompt


def sidebar() -> AppConfig:
    """Draw the shared controls and return the configuration they describe."""
    sb = st.sidebar
    sb.selectbox("Preset", list(PRESETS), index=None, key="preset", on_change=_apply_preset,
                 placeholder="Load a preset…",
                 help="Load a whole configuration; every control below stays editable.")
    sb.toggle("Keras side by side", True, key="keras", bind=URL,
              help="Run the real keras.layers.SimpleRNN with the same weights next to the NumPy core. "
                   "Off: NumPy only, TensorFlow is never imported.")
    sb.subheader("SimpleRNN layer")
    c1, c2 = sb.columns(2)
    units = c1.number_input("units (H)", 1, MAX_UNITS, DEFAULT.units, key="units", bind=URL)
    activation = c2.selectbox("activation", ACTIVATIONS, index=ACTIVATIONS.index(DEFAULT.activation),
                              key="activation", bind=URL)
    return_sequences = sb.toggle("return_sequences", DEFAULT.return_sequences, key="return_sequences", bind=URL,
                                 help="True: output every h_t, (B, T, H). False: only the last, (B, H).")
    return_state = sb.toggle("return_state", DEFAULT.return_state, key="return_state", bind=URL,
                             help="True: return the tuple (output, final_state).")
    go_backwards = sb.toggle("go_backwards", DEFAULT.go_backwards, key="go_backwards", bind=URL,
                             help="Read the input from its last step to its first.")
    use_bias = sb.toggle("use_bias", DEFAULT.use_bias, key="use_bias", bind=URL)
    stateful = sb.toggle("stateful", DEFAULT.stateful, key="stateful", bind=URL,
                         help="Start each call from the state the previous call ended in.")
    with sb.expander("Weights", expanded=False):
        kernel_initializer = st.selectbox("kernel initializer", INITIALIZERS,
                                          index=INITIALIZERS.index(DEFAULT.kernel_initializer), key="kernel_initializer",
                                          bind=URL)
        recurrent_initializer = st.selectbox("recurrent initializer", INITIALIZERS,
                                             index=INITIALIZERS.index(DEFAULT.recurrent_initializer),
                                             key="recurrent_initializer", bind=URL)
        seed = st.number_input("seed", 0, 1_000_000, DEFAULT.seed, key="seed", bind=URL)
    recurrent_scale = sb.slider("recurrent weight scale", 0.0, 3.0, DEFAULT.recurrent_scale, 0.05,
                                key="recurrent_scale", bind=URL,
                                help="U is multiplied by this: below 1 gradients vanish, above 1 they can explode.")
    sb.subheader("Dense head (the tutorial's classifier)")
    head = sb.selectbox("head", HEADS, index=HEADS.index(DEFAULT.head), key="head", bind=URL,
                        help="many-to-many: TimeDistributed(Dense softmax) on every h_t. many-to-one: Dense on the last h.")
    num_classes = sb.number_input("classes (C)", 2, 100, DEFAULT.num_classes, key="num_classes", bind=URL,
                                  disabled=head == "none")
    sb.subheader("Input sequence")
    source = sb.segmented_control("source", SOURCES, default=DEFAULT.source, key="source", bind=URL,
                                  format_func={"example": "example", "upload": "upload a file",
                                               "typed": "type numbers"}.get) or DEFAULT.source
    example, steps, batch = DEFAULT.example, DEFAULT.steps, DEFAULT.batch
    if source == "example":
        example = sb.selectbox("example", list(EXAMPLES), index=list(EXAMPLES).index(DEFAULT.example),
                               key="example", bind=URL)
        c1, c2 = sb.columns(2)
        steps = c1.number_input("steps (T)", 2, MAX_STEPS, DEFAULT.steps, key="steps", bind=URL)
        batch = c2.number_input("batch (B)", 1, 16, DEFAULT.batch, key="batch", bind=URL)
    elif source == "upload":
        _upload_controls(sb)
    else:
        _typed_controls(sb)
    normalization = sb.selectbox("normalise each feature", NORMALIZATIONS, key="normalization", bind=URL,
                                 help="Applied before the run; the statistics used are shown on the pages.")
    sb.caption(budget_text(), help="Estimated before anything runs, from batch × steps × units (and features), "
               "the page and Keras on or off; measured on this server (README: *Serving a class*).")
    cfg = AppConfig(int(units), activation, use_bias, return_sequences, return_state, go_backwards, stateful,
                    kernel_initializer, recurrent_initializer, int(seed), float(recurrent_scale), head,
                    int(num_classes), source, example, int(steps), int(batch), normalization)
    return cfg


def show_url_corrections(link: dict[str, str]) -> None:
    """Say which values of the opened link were not valid (Streamlit drew those widgets with their defaults)."""
    now = st.query_params.to_dict()
    fixed = [key for key, value in link.items() if key in st.session_state and now.get(key) != value
             and not _same(value, st.session_state[key])]     # a default value simply leaves the URL
    if fixed:
        parts = [f"`{key}={link[key][:40]}` (now {st.session_state[key]!r})" for key in fixed]
        st.warning("Some values in this link are out of range or not valid, so the default is used instead: "
                   + ", ".join(parts) + ". Limits: units 1–256, steps 2–100,000, batch 1–16.",
                   icon=":material/link_off:")


def _same(text: str, value) -> bool:
    """Whether the URL text ``text`` means ``value`` (true/True, 4/4.0)."""
    if isinstance(value, bool):
        return text.strip().lower() == str(value).lower()
    if isinstance(value, (int, float)):
        try:
            return float(text) == float(value)
        except ValueError:
            return False
    return text == str(value)


def _upload_controls(sb) -> None:
    """File upload: parse once per new file (or option), keep the last valid sequence on error."""
    upload = sb.file_uploader("sequence file", type=[f[1:] for f in FORMATS], key="upload_file",
                              help="Rows are time steps, columns features. .npy may also be (B, T, D).")
    sb.caption(limits_text() + " Uploads are not part of the URL.")
    nan_policy = sb.selectbox("NaN / inf values", NAN_POLICIES, key="nan_policy",
                              format_func={"error": "reject the file", "drop": "drop those steps",
                                           "fill": "fill with previous value"}.get)
    previous = st.session_state.get("user_sequence")
    npz_key = None
    if previous is not None and previous["name"] == getattr(upload, "name", None) and len(previous["info"].arrays) > 1:
        npz_key = sb.selectbox("array in the .npz", previous["info"].arrays, key="npz_key")
    if upload is None:
        return
    token = (upload.file_id, nan_policy, npz_key)
    if st.session_state.get("upload_token") == token:
        return
    st.session_state["upload_token"] = token
    try:
        x, info = load_sequence(upload.name, upload.getvalue(), nan_policy=nan_policy, npz_key=npz_key)
    except SequenceError as err:
        st.session_state["input_error"] = f"**{upload.name}** was not loaded: {err}"
        return
    st.session_state["user_sequence"] = {"name": upload.name, "x": x, "info": info}
    st.session_state.pop("input_error", None)


def _typed_controls(sb) -> None:
    text = sb.text_area("numbers", "0, 0.5, 1, 0.5, 0, -0.5, -1, -0.5, 0", key="typed", bind=URL,
                        help="One time step per line or separated by ';'; features separated by ',' or spaces. "
                             "A single line of numbers is one feature over time.")
    if st.session_state.get("typed_token") == text:
        return
    st.session_state["typed_token"] = text
    try:
        x, info = parse_typed(text)
    except SequenceError as err:
        st.session_state["typed_error"] = f"The typed sequence was not used: {err}"
        return
    st.session_state["typed_sequence"] = {"name": "typed", "x": x, "info": info}
    st.session_state.pop("typed_error", None)


def input_error(cfg: AppConfig) -> str | None:
    """The message of the last rejected input for the current source, if any."""
    key = {"upload": "input_error", "typed": "typed_error"}.get(cfg.source)
    return st.session_state.get(key) if key else None


def stateful_controls(cfg: AppConfig, final_state_of) -> np.ndarray | None:
    """For a stateful layer: the carried state (B, H) to start from, with buttons to advance and reset.

    ``final_state_of(h0)`` runs the layer from h0 and returns its final state.
    Returns None when the layer is not stateful (start from zeros).
    """
    if not cfg.stateful:
        st.session_state.pop("carried_state", None)
        return None
    carried = st.session_state.get("carried_state")
    shape = (cfg.batch, cfg.units)
    if carried is not None and carried["state"].shape != shape:
        st.warning(
            f"The carried state has shape {carried['state'].shape} but this configuration needs {shape} "
            "(batch or units changed). A stateful layer keeps its batch size, as in Keras. "
            "Press **Reset state** to start again from zeros with the new shape.")
        carried = None
    calls = 0 if carried is None else carried["calls"]
    h0 = np.zeros(shape, np.float32) if carried is None else carried["state"]
    c1, c2, c3 = st.columns([2, 1, 1])
    c1.markdown(f"**stateful**: call #{calls + 1}, starting from "
                + ("zeros." if calls == 0 else f"the state left by call #{calls}."))
    if c2.button("Call again", help="Feed the sequence once more, starting from this call's final state."):
        st.session_state["carried_state"] = {"state": final_state_of(h0), "calls": calls + 1}
        st.rerun()
    if c3.button("Reset state", help="reset_state(): back to zeros."):
        st.session_state.pop("carried_state", None)
        st.rerun()
    return h0
