"""Saving: a user's ``.keras`` file, inspected as data before Keras reads any of it.

``model_files.py`` opens the zip within byte limits and checks every member; ``model_config.py`` walks its
``config.json`` and refuses anything that is not a small, plain model of known layers (no Lambda, no custom
objects, no modules to import). Loading itself is in ``rnn_core.keras_bridge``, after these checks pass.
"""

from .model_config import ModelFileError
from .model_files import ModelFileInfo, inspect_model_file

__all__ = ["ModelFileError", "ModelFileInfo", "inspect_model_file"]
