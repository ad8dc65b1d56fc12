"""Upload your own ``.keras`` model: inspected before Keras reads it, kept in the session, never in the URL.

Not wired into the app yet: a page or the sidebar calls :func:`model_upload_controls`
and uses what it returns (the Keras model, its ModelFileInfo and the chosen recurrent layer).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rnn_core.messages import Message
from rnn_core.saving.model_files import MAX_FILE_BYTES, MAX_PARAMS, MAX_UNITS, ModelFileError

from . import i18n
from .i18n import N_, _
from .inert import clean, inert
from .keras_turn import KERAS_TURN

STATE = "user_model"          # {"name", "model", "info"}: the last model that loaded
ERROR = "model_error"         # the last refused file: a Message, translated when shown
# The layer table's columns (rnn_core's ModelFileInfo.layer_table keys), shown translated.
COLUMNS = {"layer": N_("layer"), "class": N_("class"), "output shape": N_("output shape"),
           "parameters": N_("parameters")}
TOKEN = "model_token"         # the upload already handled (a rerun does not load it again)


def limits_text() -> str:
    return _("A Keras 3 `.keras` file up to {mb} MB: `Sequential` or functional, built-in layers only (`SimpleRNN`, "
             "`LSTM`, `GRU`, `Bidirectional`, `Dense`, `TimeDistributed`, ...), recurrent layers up to {units:,} "
             "units, at most {params:,} parameters. The file is checked before Keras opens it; it stays in your "
             "session and is not part of the URL.").format(mb=MAX_FILE_BYTES // 2**20, units=MAX_UNITS,
                                                           params=MAX_PARAMS)


def _load_new_upload(upload) -> None:
    """Load a file the first time it is seen; on refusal keep the previous model and remember the message."""
    if upload is None or st.session_state.get(TOKEN) == upload.file_id:
        return
    st.session_state[TOKEN] = upload.file_id
    from rnn_core.keras_bridge import load_model_file  # noqa: PLC0415 - imports TensorFlow on first use

    try:
        # KERAS_TURN: Keras work takes turns across visitors
        with st.spinner(_("Checking the file, then loading it with Keras...")), KERAS_TURN:
            model, info = load_model_file(upload.name, upload.getvalue())
    except ModelFileError as err:
        st.session_state[ERROR] = Message(N_("**{name}** was not loaded: {reason}"),
                                          {"name": upload.name, "reason": err.message})
        return
    st.session_state[STATE] = {"name": upload.name, "model": model, "info": info}
    st.session_state.pop(ERROR, None)
    st.session_state.pop("model_layer", None)


def model_upload_controls(container=None) -> dict | None:
    """Uploader, error, layer table and recurrent-layer picker.

    Returns None before a model has loaded, else ``{"name", "model", "info", "layer"}`` where
    ``layer`` is the chosen rnn_core.saving.model_files.RecurrentLayer (None if the model has none).
    """
    where = container if container is not None else st
    upload = where.file_uploader(_("your Keras model"), type=["keras", "h5", "hdf5"], key="model_file",
                                 help=limits_text())
    where.caption(limits_text())
    _load_new_upload(upload)
    if message := st.session_state.get(ERROR):
        where.error(i18n.text(message))          # the file's name and what it holds: escaped (explorer.inert)
    current = st.session_state.get(STATE)
    if current is None:
        where.info(_("No model loaded yet: upload a file saved with `model.save(\"model.keras\")`."))
        return None
    info = current["info"]
    version = _(", saved by Keras {version}").format(version=inert(info.keras_version)) if info.keras_version else ""
    # Names from the file are data: shown as their literal text (explorer.inert), in Markdown as in the table.
    where.markdown(_("**{name}**: {model_class} model *{model_name}*, input {input_shape}, {params:,} "
                     "parameters{version}.").format(name=inert(current["name"]), model_class=inert(info.model_class),
                                                    model_name=inert(info.model_name),
                                                    input_shape=inert(info.input_shape), params=info.total_params,
                                                    version=version))
    table = pd.DataFrame(info.layer_table())
    where.dataframe(table.rename(columns=lambda c: _(COLUMNS[c]) if c in COLUMNS else c), hide_index=True)
    labels = [r.label for r in info.recurrent_layers]
    if not labels:
        where.warning(_("This model has no `SimpleRNN`, `LSTM` or `GRU` layer to show."))
        return {**current, "layer": None}
    label = where.selectbox(_("recurrent layer to show"), labels, key="model_layer", format_func=clean)   # plain text
    return {**current, "layer": info.recurrent_layers[labels.index(label)]}
