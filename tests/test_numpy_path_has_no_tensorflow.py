"""With Keras off, the pages render from the NumPy core alone: TensorFlow is never imported.

Runs in a fresh interpreter, since other tests in this process import TensorFlow.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import sys
from streamlit.testing.v1 import AppTest

import rnn_core, rnn_core.keras_bridge, explorer.runs, explorer.figures   # importing the bridge is free
assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "import alone pulled in TensorFlow"
at = AppTest.from_file("app.py", default_timeout=60)
at.run()
at.toggle(key="keras").set_value(False).run()
for page in ("pages/hidden-states.py", "pages/output-shapes.py", "pages/gradient-flow.py",
             "pages/keras-vs-numpy.py"):
    at.switch_page(page).run()
    assert not at.exception, (page, [e.message for e in at.exception])
    assert len(at.get("plotly_chart")) > 0 or page.endswith(("output-shapes.py", "keras-vs-numpy.py")), page
print("tensorflow imported:", "tensorflow" in sys.modules, "keras imported:", "keras" in sys.modules)
"""


def test_numpy_pages_never_import_tensorflow():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "tensorflow imported: False keras imported: False" in out.stdout, out.stdout + out.stderr[-2000:]
