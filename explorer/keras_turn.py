"""Keras work takes turns across visitors: one lock for every build, trace and call.

Two visitors building different configurations at the same time made one build fail inside Keras'
set_weights ('NoneType' object has no attribute 'assign': a variable whose creation was deferred was
never initialised), and so did one visitor's build while another's tf.function was being traced (both
seen by bench/load_test.py with 8 configurations at once). Compiled calls take tens of milliseconds, so
visitors hardly wait for each other; TensorFlow still uses both cores inside each call.

Never call a cached function while holding the lock (explorer/cache.py fetches the Keras twins first):
a visitor computing them may be waiting for it.
"""

from __future__ import annotations

import threading

KERAS_TURN = threading.Lock()
