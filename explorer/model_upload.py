"""Upload your own ``.keras`` model: inspected before Keras reads it, kept in the session, never in the URL.

Not wired into the app yet: a page or the sidebar calls :func:`model_upload_controls`
and uses what it returns (the Keras model, its ModelFileInfo and the chosen recurrent layer).
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from rnn_core.model_files import MAX_FILE_BYTES, MAX_PARAMS, MAX_UNITS, ModelFileError

STATE = "user_model"          # {"name", "model", "info"}: the last model that loaded
ERROR = "model_error"         # the message of the last refused file
TOKEN = "model_token"         # the upload already handled (a rerun does not load it again)


def plain(text: str) -> str:
    """Text from the file (its name, member and layer names) shown literally, not as markdown or links."""
    return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~:])", r"\\\1", str(text))


def limits_text() -> str:
    return (f"A Keras 3 .keras file up to {MAX_FILE_BYTES // 2**20} MB: Sequential or functional, built-in layers "
            f"only (SimpleRNN, LSTM, GRU, Bidirectional, Dense, TimeDistributed, ...), recurrent layers up to "
            f"{MAX_UNITS:,} units, at most {MAX_PARAMS:,} parameters. The file is checked before Keras opens it; "
            "it stays in your session and is not part of the URL.")


def _load_new_upload(upload) -> None:
    """Load a file the first time it is seen; on refusal keep the previous model and remember the message."""
    if upload is None or st.session_state.get(TOKEN) == upload.file_id:
        return
    st.session_state[TOKEN] = upload.file_id
    from rnn_core.keras_bridge import load_model_file  # noqa: PLC0415 - imports TensorFlow on first use

    try:
        with st.spinner("Checking the file, then loading it with Keras..."):
            model, info = load_model_file(upload.name, upload.getvalue())
    except ModelFileError as err:
        st.session_state[ERROR] = f"**{plain(upload.name)}** was not loaded: {plain(err)}"
        return
    st.session_state[STATE] = {"name": upload.name, "model": model, "info": info}
    st.session_state.pop(ERROR, None)
    st.session_state.pop("model_layer", None)


def model_upload_controls(container=None) -> dict | None:
    """Uploader, error, layer table and recurrent-layer picker.

    Returns None before a model has loaded, else ``{"name", "model", "info", "layer"}`` where
    ``layer`` is the chosen rnn_core.model_files.RecurrentLayer (None if the model has none).
    """
    where = container if container is not None else st
    upload = where.file_uploader("your Keras model", type=["keras", "h5", "hdf5"], key="model_file",
                                 help=limits_text())
    where.caption(limits_text())
    _load_new_upload(upload)
    if message := st.session_state.get(ERROR):
        where.error(message)
    current = st.session_state.get(STATE)
    if current is None:
        where.info("No model loaded yet: upload a file saved with `model.save(\"model.keras\")`.")
        return None
    info = current["info"]
    version = f", saved by Keras {info.keras_version}" if info.keras_version else ""
    where.markdown(f"**{plain(current['name'])}**: {info.model_class} model *{plain(info.model_name)}*, input "
                   f"{info.input_shape}, {info.total_params:,} parameters{version}.")
    where.dataframe(pd.DataFrame(info.layer_table()), hide_index=True)
    labels = [r.label for r in info.recurrent_layers]
    if not labels:
        where.warning("This model has no SimpleRNN, LSTM or GRU layer to show.")
        return {**current, "layer": None}
    label = where.selectbox("recurrent layer to show", labels, key="model_layer")
    return {**current, "layer": info.recurrent_layers[labels.index(label)]}
