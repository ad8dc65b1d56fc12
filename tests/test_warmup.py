"""explorer/warmup.py: after a click, Streamlit's clean-up no longer walks every object of the process.

Streamlit calls ``keras.backend.clear_session()`` after every script run once Keras is imported; Keras' version
runs ``gc.collect()``, which walked TensorFlow's ~300,000 objects and every cached figure (0.3-0.6 s of every click,
docs/performance.md). Here Streamlit's own clean-up function is called as after a run, with ``gc.collect`` counted.
"""

from __future__ import annotations

import gc

import pytest

from explorer import warmup

pytestmark = pytest.mark.keras


def test_streamlits_keras_cleanup_no_longer_collects(monkeypatch):
    from streamlit.runtime.scriptrunner import script_runner

    from rnn_core import keras_bridge

    keras_bridge.versions()                              # Keras imported, as by a page or the background import
    assert warmup.quiet_keras_cleanup() and warmup.quiet_keras_cleanup()     # done once, then a no-op
    import keras

    collected = []
    monkeypatch.setattr(gc, "collect", lambda *args, **kwargs: collected.append(args) or 0)
    keras.layers.Dense(1)
    assert keras.layers.Dense(1).name != "dense"         # Keras numbers its layers: dense_1, dense_2, ...
    script_runner._clean_problem_modules()               # what Streamlit runs after every script run
    assert collected == []                               # no full collection
    assert keras.layers.Dense(1).name == "dense"         # but Keras' global state was reset as before
    keras.backend.clear_session(free_memory=True)        # a caller who asks for the collection still gets it
    assert len(collected) == 1


def test_the_app_turns_streamlits_collection_off():
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
