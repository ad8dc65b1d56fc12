"""With Keras off, the pages render from the NumPy core alone: TensorFlow is never imported.

With Keras on (the default), the app imports TensorFlow once, in a background thread (explorer/warmup.py),
so the first Keras page does not wait for it. Each check runs in a fresh interpreter, since other tests in
this process import TensorFlow.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from chart_support import CHART_COMPONENT

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import sys
from streamlit.testing.v1 import AppTest

import rnn_core, rnn_core.keras_bridge, explorer.runs, explorer.figures   # importing the bridge is free
assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "import alone pulled in TensorFlow"
at = AppTest.from_file("app.py", default_timeout=60)
at.query_params["keras"] = "false"          # a link with Keras off: from the first run on
at.run()
assert at.toggle(key="keras").value is False
for page in ("pages/hidden-states.py", "pages/output-shapes.py", "pages/gradient-flow.py",
             "pages/keras-vs-numpy.py"):
    at.switch_page(page).run()
    assert not at.exception, (page, [e.message for e in at.exception])
    charts = [e for e in at.get("bidi_component") if e.proto.component_name == CHART_COMPONENT]
    assert len(charts) > 0 or page.endswith(("output-shapes.py", "keras-vs-numpy.py")), page
import threading
print("import thread:", [t.name for t in threading.enumerate() if t.name == "tensorflow-import"])
print("tensorflow imported:", "tensorflow" in sys.modules, "keras imported:", "keras" in sys.modules)
"""

BACKGROUND = r"""
import sys
from streamlit.testing.v1 import AppTest
from explorer import warmup

at = AppTest.from_file("app.py", default_timeout=60)
at.run()                                   # the home page, Keras on by default: starts the import, does not wait
assert not at.exception
thread = warmup.start_tensorflow_import()  # the same thread, not a second one
assert thread.name == "tensorflow-import" and thread.daemon
thread.join(300)
print("tensorflow imported:", "tensorflow" in sys.modules, "keras imported:", "keras" in sys.modules)
"""


def run(script: str) -> str:
    script = script.replace("CHART_COMPONENT", repr(CHART_COMPONENT))
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_numpy_pages_never_import_tensorflow():
    out = run(SCRIPT)
    assert "import thread: []" in out, out
    assert "tensorflow imported: False keras imported: False" in out, out


@pytest.mark.keras
def test_keras_on_imports_tensorflow_once_in_the_background():
    out = run(BACKGROUND)
    assert "tensorflow imported: True keras imported: True" in out, out
