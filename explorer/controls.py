"""The shared sidebar controls: every widget is bound to the URL, so a view can be shared exactly."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import streamlit as st

from rnn_core import ACTIVATIONS
from rnn_core.budget import budget_text
from rnn_core.inputs.examples import EXAMPLES
from rnn_core.inputs.loading import (
    FORMATS,
    MAX_BATCH,
    MAX_FEATURES,
    MAX_STEPS,
    NAN_POLICIES,
    NORMALIZATIONS,
    SequenceError,
    limits_text,
    load_sequence,
    parse_typed,
)
from rnn_core.layers.initializers import INITIALIZERS
from rnn_core.messages import Message

from . import i18n, url_params
from .i18n import N_, _, ngettext
from .inert import Inert, clean, inert, inert_code
from .keras_turn import KERAS_TURN
from .settings import CELL_TYPES, DEFAULT, HEADS, LAYER_CLASSES, PRESET_EXTRAS, PRESETS, SOURCES, AppConfig

URL = "query-params"       # numbers, toggles and code names; choices with translated labels use url_params.choice
MAX_UNITS = 256
SOURCE_LABELS = {"example": N_("example"), "upload": N_("upload a file"), "typed": N_("type numbers")}
HEAD_LABELS = {"none": N_("none"), "many-to-many": N_("many-to-many"), "many-to-one": N_("many-to-one")}
NAN_LABELS = {"error": N_("reject the file"), "drop": N_("drop those steps"), "fill": N_("fill with previous value")}


def head_label(head: str) -> str:
    return _(HEAD_LABELS[head])


def _apply_preset() -> None:
    name = st.session_state.get("preset")
    if name is None:
        return
    preset = PRESETS[name]
    for f in fields(AppConfig):
        if f.name != "layer_id":
            st.session_state[f.name] = getattr(preset, f.name)
    st.session_state.update(PRESET_EXTRAS.get(name, {}))      # page-level choices a preset opens
    st.session_state.pop("carried_state", None)
    st.session_state["preset"] = None      # a preset is an action: the box goes back to its prompt


TRANSLATED_CHOICES = url_params.TRANSLATED_CHOICES   # the keys of choice widgets whose option labels are translated
LANGUAGE_DRAWN = "lang_drawn"               # session key: the language the previous run drew


def translated_choice(key: str) -> str:
    """Record that the choice widget ``key`` shows translated option labels (see init_language); returns ``key``."""
    st.session_state.setdefault(TRANSLATED_CHOICES, set()).add(key)
    return key


def init_language() -> None:
    """The session's language before anything is drawn: the link's ``?lang=``, else the browser's, else English.

    After a switch, each choice widget with translated option labels is given its own value again: Streamlit then
    sends the browser the option's label in the new language. Otherwise the browser would keep showing (and send
    back) the old language's label, since the value itself did not change.
    """
    url_params.seed(i18n.SESSION_KEY, list(i18n.LANGUAGES), i18n.browser_language(st.context.locale))
    state = st.session_state
    lang = state[i18n.SESSION_KEY]
    if state.get(LANGUAGE_DRAWN, lang) != lang:
        for key in state.get(TRANSLATED_CHOICES, ()):
            if key in state and state[key] is not None:
                state[key] = state[key]
    state[LANGUAGE_DRAWN] = lang


def language_switch(sb) -> str:
    """English / 한국어, bound to the URL as ``lang=ko``; switching keeps every other setting."""
    return url_params.choice(sb.segmented_control, "Language · 언어", list(i18n.LANGUAGES), key=i18n.SESSION_KEY,
                             default=i18n.DEFAULT_LANGUAGE, format_func=i18n.LANGUAGES.get, required=True,
                             label_visibility="collapsed")


def sidebar() -> AppConfig:
    """Draw the shared controls and return the configuration they describe."""
    sb = st.sidebar
    language_switch(sb)
    sb.selectbox(_("Preset"), list(PRESETS), index=None, key="preset", on_change=_apply_preset, format_func=_,
                 placeholder=_("Load a preset…"),
                 help=_("Load a whole configuration; every control below stays editable."))
    sb.toggle(_("Keras side by side"), True, key="keras", bind=URL,
              help=_("Run the real `keras.layers.SimpleRNN` with the same weights next to the NumPy core. "
                     "Off: NumPy only, TensorFlow is never imported."))
    cell = sb.segmented_control(_("recurrent layer"), CELL_TYPES, default=DEFAULT.cell, key="cell", bind=URL,
                                help=_("`keras.layers.SimpleRNN`, `LSTM` or `GRU`: every page shows the one chosen "
                                       "here."))
    cell = cell or DEFAULT.cell
    config_fields = LAYER_CLASSES[cell].config_class.__dataclass_fields__
    sb.subheader(_("{cell} layer").format(cell=cell))
    c1, c2 = sb.columns(2)
    units = c1.number_input(_("units (H)"), 1, MAX_UNITS, DEFAULT.units, key="units", bind=URL)
    activation = c2.selectbox(_("activation"), ACTIVATIONS, index=ACTIVATIONS.index(DEFAULT.activation),
                              key="activation", bind=URL)
    # The cell brings its own flags: each is drawn when this cell's Keras layer takes it. Their labels are
    # Keras' argument names, the same in every language; their help is translated.
    recurrent_activation, unit_forget_bias, reset_after = (DEFAULT.recurrent_activation, DEFAULT.unit_forget_bias,
                                                           DEFAULT.reset_after)
    if "recurrent_activation" in config_fields:
        recurrent_activation = sb.selectbox(
            "recurrent_activation", ACTIVATIONS, index=ACTIVATIONS.index(DEFAULT.recurrent_activation),
            key="recurrent_activation", bind=URL,
            help=_("The gates' squashing function (`sigmoid`; `hard_sigmoid` is cheaper)."))
    if "unit_forget_bias" in config_fields:
        unit_forget_bias = sb.toggle("unit_forget_bias", DEFAULT.unit_forget_bias, key="unit_forget_bias", bind=URL,
                                     help=_("Start the forget gate's bias at 1, so f_t ≈ 0.73 and c_t is kept at "
                                            "first."))
    if "reset_after" in config_fields:
        reset_after = sb.toggle("reset_after", DEFAULT.reset_after, key="reset_after", bind=URL,
                                help=_("True (Keras 3, cuDNN): r_t multiplies h_{{t-1}} U_h + b after the matmul; "
                                       "False: (r_t * h_{{t-1}}) U_h, the original GRU.").format())
    return_sequences = sb.toggle("return_sequences", DEFAULT.return_sequences, key="return_sequences", bind=URL,
                                 help=_("True: output every h_t, (B, T, H). False: only the last, (B, H)."))
    return_state = sb.toggle("return_state", DEFAULT.return_state, key="return_state", bind=URL,
                             help=_("True: return the tuple (output, *final states): `(output, h)` or, for LSTM, "
                                    "`(output, h, c)`."))
    go_backwards = sb.toggle("go_backwards", DEFAULT.go_backwards, key="go_backwards", bind=URL,
                             help=_("Read the input from its last step to its first."))
    use_bias = sb.toggle("use_bias", DEFAULT.use_bias, key="use_bias", bind=URL)
    stateful = sb.toggle("stateful", DEFAULT.stateful, key="stateful", bind=URL,
                         help=_("Start each call from the state the previous call ended in."))
    with sb.expander(_("Weights"), expanded=False):
        kernel_initializer = st.selectbox(_("kernel initializer"), INITIALIZERS,
                                          index=INITIALIZERS.index(DEFAULT.kernel_initializer),
                                          key="kernel_initializer", bind=URL)
        recurrent_initializer = st.selectbox(_("recurrent initializer"), INITIALIZERS,
                                             index=INITIALIZERS.index(DEFAULT.recurrent_initializer),
                                             key="recurrent_initializer", bind=URL)
        seed = st.number_input(_("seed"), 0, 1_000_000, DEFAULT.seed, key="seed", bind=URL)
    recurrent_scale = sb.slider(_("recurrent weight scale"), 0.0, 3.0, DEFAULT.recurrent_scale, 0.05,
                                key="recurrent_scale", bind=URL,
                                help=_("U is multiplied by this: below 1 gradients vanish, above 1 they can explode."))
    sb.subheader(_("Dense head (the tutorial's classifier)"))
    head = url_params.choice(sb.selectbox, _("head"), HEADS, key=translated_choice("head"), default=DEFAULT.head,
                             format_func=head_label,
                             help=_("many-to-many: `TimeDistributed(Dense softmax)` on every h_t. "
                                    "many-to-one: `Dense` on the last h."))
    num_classes = sb.number_input(_("classes (C)"), 2, 100, DEFAULT.num_classes, key="num_classes", bind=URL,
                                  disabled=head == "none")
    sb.subheader(_("Input sequence"))
    source = url_params.choice(sb.segmented_control, _("source"), SOURCES, key=translated_choice("source"),
                               default=DEFAULT.source, format_func=lambda v: _(SOURCE_LABELS[v]), required=True)
    example, steps, batch = DEFAULT.example, DEFAULT.steps, DEFAULT.batch
    if source == "example":
        example = url_params.choice(sb.selectbox, _("example"), list(EXAMPLES), key=translated_choice("example"),
                                    default=DEFAULT.example, format_func=_)
        c1, c2 = sb.columns(2)
        steps = c1.number_input(_("steps (T)"), 2, MAX_STEPS, DEFAULT.steps, key="steps", bind=URL)
        batch = c2.number_input(_("batch (B)"), 1, 16, DEFAULT.batch, key="batch", bind=URL)
    elif source == "upload":
        _upload_controls(sb)
    else:
        _typed_controls(sb)
    normalization = url_params.choice(sb.selectbox, _("normalise each feature"), NORMALIZATIONS,
                                      key=translated_choice("normalization"),
                                      default=DEFAULT.normalization, format_func=_,
                                      help=_("Applied before the run; the statistics used are shown on the pages."))
    _model_controls(sb)
    sb.caption(i18n.text(budget_text()),
               help=_("Estimated before anything runs, from batch × steps × units (and features), the page and "
                      "Keras on or off; measured on this server (README: *Serving a class*)."))
    cfg = AppConfig(
        cell=cell, units=int(units), activation=activation, use_bias=use_bias, return_sequences=return_sequences,
        return_state=return_state, go_backwards=go_backwards, stateful=stateful,
        kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer, seed=int(seed),
        recurrent_scale=float(recurrent_scale), head=head, num_classes=int(num_classes), source=source,
        example=example, steps=int(steps), batch=int(batch), normalization=normalization,
        recurrent_activation=recurrent_activation, unit_forget_bias=unit_forget_bias, reset_after=reset_after)
    return cfg


def _model_controls(sb) -> None:
    """Your own .keras model: checked before Keras reads it; a chosen recurrent layer can replace the sidebar's."""
    from . import custom_layer
    from .model_upload import STATE, model_upload_controls

    custom_layer.sidebar_notice(sb)
    with sb.expander(_("Your own Keras model (.keras)"), expanded=st.session_state.get(STATE) is not None):
        chosen = model_upload_controls(st)
        if chosen is None or chosen["layer"] is None:
            return
        layer = chosen["layer"]
        if st.button(_("Show this layer on every page"), key="use_model_layer", icon=":material/visibility:"):
            from rnn_core.keras_bridge import app_layer

            try:
                with KERAS_TURN:
                    chosen_layer = app_layer(chosen["model"], layer.name, layer.direction,
                                             chosen["name"])   # escaped when shown (i18n.text)
                st.session_state[custom_layer.KEY] = custom_layer.with_text(chosen_layer, chosen["info"].text)
            except ValueError as err:      # a layer without a NumPy twin: say so, keep what is shown
                st.error(i18n.text(err))   # the layer's and the file's names: escaped (explorer.inert)
                return
            st.rerun()


LINK_SEEN = "url_seen"     # the URL as the previous run of this session left it


def show_url_corrections(link: dict[str, str]) -> None:
    """Say which values of the opened link were not valid (Streamlit drew those widgets with their defaults).

    ``link`` is the URL as this run started. A value the session itself wrote there (the previous run's URL)
    is not the visitor's link: changing a choice back to its default removes it from the URL, which is no
    correction. Only values that came from outside (the first run, a link followed) are checked.
    """
    now = st.query_params.to_dict()
    seen = st.session_state.get(LINK_SEEN, {})
    fixed = [key for key, value in link.items() if key in st.session_state and seen.get(key) != value
             and now.get(key) != value and not _same(value, st.session_state[key])]  # a default simply leaves the URL
    st.session_state[LINK_SEEN] = now
    if fixed:
        # The link's value is the visitor's: in a code span no backtick of it can close (explorer.inert).
        parts = [_("{setting} (now {now})").format(setting=inert_code(f"{key}={link[key][:40]}"),
                                                    now=inert(repr(st.session_state[key])))
                 for key in fixed]
        st.warning(_("Some values in this link are out of range or not valid, so the default is used instead: "
                     "{values}. Limits: units 1–256, steps 2–100,000, batch 1–16.").format(
                         values=", ".join(parts)), icon=":material/link_off:")


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
    """File upload: parse once per new file (or option), keep the last valid sequence on error.

    A table (csv, tsv, parquet, xlsx) offers its options after the first read: the feature columns, the
    time column, a sequence id column (long format) with the ids, a label column, the sheet, and a
    preview of the first rows. Like the upload itself, these are not part of the URL.
    """
    upload = sb.file_uploader(_("sequence file"), type=[f[1:] for f in FORMATS], key="upload_file",
                              help=_("Rows are time steps, columns features (tables: pick the columns below). "
                                     "`.npy` may also be (B, T, D)."))
    sb.caption(_("{limits} Uploads are not part of the URL.").format(limits=i18n.text(limits_text())))
    nan_policy = sb.selectbox(_("NaN / inf values"), NAN_POLICIES, key=translated_choice("nan_policy"),
                              format_func=lambda v: _(NAN_LABELS[v]))
    previous = st.session_state.get("user_sequence")
    npz_key = None
    if previous is not None and previous["name"] == getattr(upload, "name", None) and len(previous["info"].arrays) > 1:
        npz_key = sb.selectbox(_("array in the `.npz`"), previous["info"].arrays, key="npz_key", format_func=clean)
    if upload is None:
        return
    if st.session_state.get("upload_options_for") != upload.file_id:      # a new file: its own columns
        for key in TABLE_KEYS:
            st.session_state.pop(key, None)
        st.session_state["upload_options_for"] = upload.file_id
    last = previous["info"] if previous is not None and previous.get("file_id") == upload.file_id else None
    options = _table_options(last)
    token = (upload.file_id, nan_policy, npz_key, repr(options))
    if st.session_state.get("upload_token") != token:
        st.session_state["upload_token"] = token
        try:
            x, info = load_sequence(upload.name, upload.getvalue(), nan_policy=nan_policy, npz_key=npz_key, **options)
        except SequenceError as err:      # shown in the visitor's language of the moment (input_error)
            st.session_state["input_error"] = Message(N_("**{name}** was not loaded: {reason}"),
                                                      {"name": upload.name, "reason": err.message})
            st.session_state["upload_failed"] = (upload.file_id, getattr(err, "info", None))
        else:
            st.session_state["user_sequence"] = {"name": upload.name, "file_id": upload.file_id, "x": x, "info": info}
            st.session_state["upload_token"] = (upload.file_id, nan_policy, npz_key, repr(_chosen(info)))
            st.session_state.pop("input_error", None)
            st.session_state.pop("upload_failed", None)
    loaded = st.session_state.get("user_sequence")
    failed = st.session_state.get("upload_failed")
    if loaded is not None and loaded.get("file_id") == upload.file_id and loaded["info"].columns:
        _table_widgets(sb, loaded["info"])
    elif failed is not None and failed[0] == upload.file_id and failed[1] is not None and failed[1].columns:
        _table_widgets(sb, failed[1])          # the table was read but the choice failed: offer other choices


TABLE_KEYS = ("upload_sheet", "upload_columns", "upload_time", "upload_id", "upload_ids", "upload_label")
NONE = "(none)"   # a picker's "no column" (Streamlit shows a selectbox holding None as empty)


def _table_options(last) -> dict:
    """load_sequence's table options from the pickers' current values ({} before the first read).

    ``last``: the SequenceInfo of this file's last read. Another sheet starts from its own defaults;
    another id column from its first ids.
    """
    ss = st.session_state
    if not any(k in ss for k in TABLE_KEYS):
        return {}
    if last is not None and ss.get("upload_sheet") is not None and ss.get("upload_sheet") != last.sheet:
        for key in TABLE_KEYS[1:]:
            ss.pop(key, None)
        return {"sheet": ss["upload_sheet"]}

    def column(key):
        return None if ss.get(key) in (None, NONE) else ss[key]

    if last is not None and column("upload_id") != last.id_column:
        ss.pop("upload_ids", None)
    options = {"sheet": ss.get("upload_sheet"), "time_column": column("upload_time"),
               "id_column": column("upload_id"), "label_column": column("upload_label")}
    roles = {options["time_column"], options["id_column"], options["label_column"]}
    options["columns"] = [c for c in ss.get("upload_columns", []) if c not in roles] if "upload_columns" in ss else None
    options["ids"] = list(ss["upload_ids"]) if options["id_column"] and ss.get("upload_ids") else None
    return options


def _chosen(info) -> dict:
    """The options a read chose, in _table_options' form (so the same choice does not read the file again)."""
    if not info.columns:
        return {}
    ids = info.ids if info.id_column and len(info.all_ids) > MAX_BATCH else None
    return {"sheet": info.sheet if len(info.sheets) > 1 else None, "time_column": info.time_column,
            "id_column": info.id_column,
            "label_column": info.label_column, "columns": list(info.features), "ids": ids}


def _init(key: str, value, options: list) -> None:
    """Give a picker the value the last read chose, unless the user's value is still valid."""
    current = st.session_state.get(key, value)
    valid = all(v in options for v in current) if isinstance(current, list) else current in options
    if key not in st.session_state or not valid:
        st.session_state[key] = value


def _table_widgets(sb, info) -> None:
    """The pickers for a table (values not bound to the URL) and a preview of its first rows."""
    numbers = [n for n, kind in info.columns.items() if kind == "number"]
    texts = [n for n, kind in info.columns.items() if kind == "text"]
    times = [n for n, kind in info.columns.items() if kind == "time"] + numbers
    roles = {info.time_column, info.id_column, info.label_column} - {None}
    # Column, sheet and id names come from the file: options are plain text (explorer.inert.clean: one line, bounded
    # length, no invisible characters); in Markdown (captions, labels) they are escaped (inert). The pickers' own
    # words are translated.
    with sb.expander(_("Table columns"), expanded=True, icon=":material/table:"):
        if len(info.sheets) > 1:
            _init("upload_sheet", info.sheet, info.sheets)
            st.selectbox(_("sheet"), info.sheets, key="upload_sheet", format_func=clean)
        features = [n for n in numbers if n not in roles]
        _init("upload_columns", list(info.features), features)
        st.multiselect(_("features (numeric columns)"), features, key="upload_columns", max_selections=MAX_FEATURES,
                       format_func=clean,
                       help=_("Each chosen column is one feature of x_t. Default: every numeric column."))
        _init("upload_time", info.time_column or NONE, [NONE] + times)
        st.selectbox(_("time column"), [NONE] + times, key=translated_choice("upload_time"),
                     format_func=lambda v: _("none: rows in file order") if v == NONE else clean(v),
                     help=_("Rows are sorted by it and the charts show its values on the time axis."))
        _init("upload_id", info.id_column or NONE, [NONE] + texts + numbers)
        st.selectbox(_("sequence id (long format)"), [NONE] + texts + numbers, key=translated_choice("upload_id"),
                     format_func=lambda v: _("none: one sequence") if v == NONE else clean(v),
                     help=_("Each id becomes one sequence of the batch (e.g. country), sorted by the time column; "
                            "shorter sequences are padded and masked."))
        _init("upload_label", info.label_column or NONE, [NONE] + texts + numbers)
        st.selectbox(_("label column (targets)"), [NONE] + texts + numbers, key=translated_choice("upload_label"),
                     format_func=lambda v: _("none") if v == NONE else clean(v),
                     help=_("Classes for the Dense head: one per step, or one per sequence when constant in each."))
        if info.suggested_id and not info.id_column:
            st.caption(_("Times repeat: try **{column}** as the sequence id.").format(column=inert(info.suggested_id)))
    if info.id_column and len(info.all_ids) > MAX_BATCH:
        with sb.expander(_("Sequences: {shown} of {total} {column!r} values").format(
                shown=len(info.ids), total=len(info.all_ids), column=Inert(info.id_column)), icon=":material/stacks:"):
            _init("upload_ids", list(info.ids), info.all_ids)
            st.multiselect(_("sequence ids"), info.all_ids, key="upload_ids", max_selections=MAX_BATCH,
                           format_func=clean, help=_("At most {n} sequences in a batch.").format(n=MAX_BATCH))
    if info.preview is not None:
        with sb.expander(_("Preview: first rows"), icon=":material/visibility:"):
            st.dataframe(info.preview, height=240, hide_index=True)


def _typed_controls(sb) -> None:
    text = sb.text_area(_("numbers"), "0, 0.5, 1, 0.5, 0, -0.5, -1, -0.5, 0", key="typed", bind=URL,
                        help=_("One time step per line or separated by ';'; features separated by ',' or spaces. "
                               "A single line of numbers is one feature over time."))
    if st.session_state.get("typed_token") == text:
        return
    st.session_state["typed_token"] = text
    try:
        x, info = parse_typed(text)
    except SequenceError as err:
        st.session_state["typed_error"] = Message(N_("The typed sequence was not used: {reason}"),
                                                  {"reason": err.message})
        return
    st.session_state["typed_sequence"] = {"name": "typed", "x": x, "info": info}
    st.session_state.pop("typed_error", None)


def input_error(cfg: AppConfig) -> str | None:
    """The message of the last rejected input for the current source, if any, in the visitor's language.

    Kept in the session as a Message (template and fields), so switching the language translates it too.
    """
    key = {"upload": "input_error", "typed": "typed_error"}.get(cfg.source)
    message = st.session_state.get(key) if key else None
    return i18n.text(message) if message else None


def stateful_controls(cfg: AppConfig, final_states_of) -> tuple[np.ndarray, ...] | None:
    """For a stateful layer: the carried states to start from ((h,) or (h, c), each (B, H)), with buttons to
    advance and reset.

    ``final_states_of(initial_states)`` runs the layer from them and returns its final states.
    Returns None when the layer is not stateful (start from zeros).
    """
    if not cfg.stateful:
        st.session_state.pop("carried_state", None)
        return None
    carried = st.session_state.get("carried_state")
    names = cfg.state_names
    shape = (cfg.batch, cfg.units)
    if carried is not None and (len(carried["states"]) != len(names)
                                or any(s.shape != shape for s in carried["states"])):
        st.warning(
            ngettext("The carried state does not fit this configuration, which needs {n} state of shape {shape} "
                     "(cell, batch or units changed). A stateful layer keeps its batch size, as in Keras. "
                     "Press **Reset state** to start again from zeros with the new shape.",
                     "The carried state does not fit this configuration, which needs {n} states of shape {shape} "
                     "(cell, batch or units changed). A stateful layer keeps its batch size, as in Keras. "
                     "Press **Reset state** to start again from zeros with the new shape.",
                     len(names)).format(n=len(names), shape=shape))
        carried = None
    calls = 0 if carried is None else carried["calls"]
    states = tuple(np.zeros(shape, np.float32) for _s in names) if carried is None else carried["states"]
    c1, c2, c3 = st.columns([2, 1, 1])
    if calls == 0:
        c1.markdown(_("**stateful**: call #{call}, starting from zeros.").format(call=calls + 1))
    else:
        c1.markdown(ngettext("**stateful**: call #{call}, starting from the state left by call #{previous}.",
                             "**stateful**: call #{call}, starting from the states left by call #{previous}.",
                             len(names)).format(call=calls + 1, previous=calls))
    if c2.button(_("Call again"), help=_("Feed the sequence once more, starting from this call's final state.")):
        st.session_state["carried_state"] = {"states": tuple(final_states_of(states)), "calls": calls + 1}
        st.rerun()
    if c3.button(_("Reset state"), help=_("`reset_state()`: back to zeros.")):
        st.session_state.pop("carried_state", None)
        st.rerun()
    return states
