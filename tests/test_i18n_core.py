"""rnn_core's messages in Korean: real errors and texts from rnn_core, shown through ``explorer.i18n.text``.

rnn_core stays English and knows nothing of languages: every error a visitor can see is a template with
fields (``rnn_core.messages``), and every text it returns for display is a ``Message``. Here each one is
made the way a visitor would meet it (a bad upload, a hostile model file, a budget past its limit) and
checked three ways:

* ``str(x)`` is the English text as before (the other tests of rnn_core match on it);
* in Korean (``use_language("ko")``) it is translated: Hangul, no English words left beyond code names
  (``i18n_support.english_words``), and the same numbers as the English;
* rnn_core imports no Streamlit (nor the app's ``explorer`` package).
"""

from __future__ import annotations

import ast
import io
import json
import re
import string
import subprocess
import sys
import zipfile
from collections import Counter

import numpy as np
import pytest
from i18n_support import ROOT, catalog, code_messages, english_words
from test_model_files import _lambda_layer, _sequential, _simple_rnn, keras_file

from explorer import i18n
from rnn_core import budget, training_budget
from rnn_core.analysis.gradient_flow import pascanu_report, state_jacobian_map
from rnn_core.inputs import examples
from rnn_core.inputs import loading as data
from rnn_core.layers.activations import get as get_activation
from rnn_core.layers.jacobian import diagonal_times_matrix
from rnn_core.messages import Message, UserError
from rnn_core.saving.model_config import RESAVE, RecurrentLayer
from rnn_core.saving.model_files import ModelFileError, inspect_model_file
from rnn_core.training import tasks
from rnn_core.training.targets import TargetError, check_targets

HANGUL = re.compile("[가-힣]")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")

# Words a Korean message keeps as they are: option values and names shown in quotes or as file types.
KEPT = {
    "drop", "fill",              # nan_policy values, quoted: 'drop' / 'fill'
    "Python", "PyTorch", "Excel", "HDF5", "ZIP64", "LoRA", "MSE", "NUL", "PAR1",   # names of things
    "zip", "pickle",             # formats: .keras, .npz and .xlsx files are zip archives; a Python pickle
    "xls", "assets",             # a file type (.xls) and a folder of a .keras archive (assets/)
}


def korean(x) -> str:
    with i18n.use_language("ko"):
        return i18n.text(x, markdown=False)   # the translation as text (shown as Markdown, its fields are escaped)


def check_translated(x, allowed=frozenset()) -> str:
    """x (an error or a Message) shown in Korean: translated, nothing English left, the same numbers."""
    english = str(x)
    shown = korean(x)
    assert shown != english and HANGUL.search(shown), f"not translated: {english!r}"
    leftovers = english_words(shown, KEPT | set(allowed))
    assert not leftovers, f"English left in {shown!r}: {leftovers}"
    assert Counter(NUMBER.findall(shown)) == Counter(NUMBER.findall(english)), (english, shown)
    assert i18n.text(x, markdown=False) == english     # outside a Korean session: the English text
    return shown


def error(call, kind=UserError):
    with pytest.raises(kind) as err:
        call()
    assert isinstance(err.value.message, Message)
    return err.value


def load(name: str, content: bytes, **kw):
    return lambda: data.load_sequence(name, content, **kw)


# -- errors a visitor meets uploading a sequence --------------------------------------------------------------

def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


SEQUENCE_ERRORS = {
    "too large": (load("big.csv", b"1\n" * 1_500_000, max_bytes=2 * 2**20),
                  "The file is 2.9 MB; the limit is 2 MB. Upload fewer steps, or downsample the sequence first."),
    "empty": (load("empty.csv", b"  \n"), "The file is empty. Upload a file with at least 2 time steps."),
    "unsupported type": (load("notes.doc", b"1\n2\n"), None),
    "no extension": (load("README", b"1\n2\n"), None),
    "ragged CSV": (load("bad.csv", b"a,b\n1,2\n3,4,5\n"), None),
    "text column as time": (load("t.csv", b"name,x\nfoo,1\nbar,2\nbaz,3\n", time_column="name"), None),
    "text column as feature": (load("t.csv", b"name,x\nfoo,1\nbar,2\nbaz,3\n", columns=["name"]), None),
    "unknown column": (load("t.csv", b"name,x\nfoo,1\nbar,2\nbaz,3\n", label_column="y"), None),
    "no numeric column": (load("t.csv", b"name,when\nfoo,bar\nbaz,qux\n"), None),
    "bad cell": (load("t.csv", b"x,y\n1,2\n3,oops\n4,5\n", columns=["x", "y"]), None),
    "one step": (load("one.csv", b"1\n"), None),
    "NaN": (load("nan.csv", b"1\nnan\n3\n"), None),
    "ragged JSON": (load("r.json", b"[[1, 2], [3]]"), None),
    "too deep JSON": (load("d.json", b"[[[[1]]]]"), None),
    "pickled npz": (load("o.npz", _npz(a=np.array([{"x": 1}], dtype=object))), None),
    "npz without the array": (load("a.npz", _npz(a=np.zeros(3)), npz_key="b"), None),
    "binary text": (load("b.csv", b"1\x002\n"), None),
    "not UTF-8": (load("u.csv", b"1\n\xff\xfe2\n"), None),
    "not an xlsx": (load("w.xlsx", b"not a workbook"), None),
    "typed nothing": (lambda: data.parse_typed("  "), None),
}


# The visitor's own data quoted in a message (file type, column names, cell values) stays as it is.
DATA_WORDS = {"unsupported type": {"doc"}, "text column as time": {"name"},
              "text column as feature": {"name", "foo"}, "unknown column": {"name"},
              "no numeric column": {"name", "when"}, "bad cell": {"oops"}}


@pytest.mark.parametrize("case", list(SEQUENCE_ERRORS))
def test_upload_errors_are_shown_in_korean(case):
    call, english = SEQUENCE_ERRORS[case]
    err = error(call, data.SequenceError)
    if english is not None:
        assert str(err) == english                     # the English text is the one it always was
    check_translated(err, allowed=DATA_WORDS.get(case, set()))


def test_a_runtime_part_of_a_message_is_translated_too():
    """'(no extension)', 'Array ...', the role of a column: parts chosen at run time are Messages of their own."""
    err = error(load("README", b"1\n2\n"), data.SequenceError)
    assert str(err).startswith("Unsupported file type '(no extension)'.")
    assert "'(확장자 없음)'" in korean(err)
    err = error(load("t.csv", b"name,x\nfoo,1\nbar,2\n", id_column="nope"), data.SequenceError)
    assert "for the sequence id;" in str(err) and "시퀀스 ID" in korean(err)


def test_notes_about_a_table_are_messages():
    table = b"id,t,x\n" + b"".join(f"{i},{t},{t * 0.5}\n".encode() for i in "abc" for t in range(3 + (i == "a")))
    _, info = data.load_sequence("long.csv", table, id_column="id", time_column="t")
    assert info.notes and all(isinstance(note, Message) for note in info.notes)
    assert any("padded with zeros" in note for note in info.notes)
    for note in info.notes:
        check_translated(note)
    _, info = data.load_sequence("semi.csv", b"x;y\n1,5;2\n3,5;4\n")
    assert info.notes == ["Read with ';' between columns and ',' as the decimal mark."]
    check_translated(info.notes[0])


def test_limits_and_budget_texts_are_messages():
    texts = [data.limits_text(), budget.budget_text(), budget.estimate("hidden-states", 16, 100_000, 128).text()]
    suggestion = budget.nearest_fitting("hidden-states", 16, 100_000, 128)
    texts += list(suggestion.changes)
    texts += budget.estimate("gradient-flow", 16, 100_000, 256).over
    assert texts[0] == ("Up to 20 MB, 100,000 time steps, 512 features and 64 sequences; formats .csv, .tsv, "
                        ".parquet, .xlsx, .npy, .npz, .json, .txt.")
    assert suggestion.changes[0] == "batch 16 → 1"
    assert budget.estimate("gradient-flow", 16, 100_000, 256).over == ["memory", "time"]
    for text in texts:
        assert isinstance(text, Message)
        check_translated(text)


# -- a hostile or broken .keras file --------------------------------------------------------------------------

MODEL_ERRORS = {
    "pickle": lambda: inspect_model_file("model.keras", b"\x80\x04\x95" + b"\x00" * 40),
    "random bytes": lambda: inspect_model_file("model.keras", b"hello, this is not a model at all"),
    "wrong extension": lambda: inspect_model_file("model.pt", keras_file()),
    "lambda bytecode": lambda: inspect_model_file("model.keras", keras_file(_sequential(_simple_rnn(), _lambda_layer(
        {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None, "closure": None}})))),
    "os.system as activation": lambda: inspect_model_file("model.keras", keras_file(_sequential(_simple_rnn(
        activation={"module": "os", "class_name": "function", "config": "system", "registered_name": "function"})))),
    "ten million units": lambda: inspect_model_file("model.keras", keras_file(_sequential(_simple_rnn(
        units=10_000_000)))),
    "no weights": lambda: inspect_model_file("model.keras", _zip_without_weights()),
    "extra member": lambda: inspect_model_file("model.keras", keras_file(**{"data.pkl": b"x"})),
}


def _zip_without_weights() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        zf.writestr("config.json", json.dumps(_sequential(_simple_rnn())))
    return buf.getvalue()


@pytest.mark.parametrize("case", list(MODEL_ERRORS))
def test_model_file_refusals_are_shown_in_korean(case):
    err = error(MODEL_ERRORS[case], ModelFileError)
    # The allowlist is code: layer and module names, the class names of the refused objects.
    check_translated(err, allowed={"my_package", "SimpleRNN", "Embedding", "Flatten", "Reshape", "Activation",
                                   "Dropout", "Lambda", "InputLayer", "function", "system", "os"})


def test_the_resave_advice_is_one_translated_part():
    err = error(MODEL_ERRORS["no weights"], ModelFileError)
    assert str(err).endswith(' Re-save it with Keras 3 as `model.save("model.keras")` and upload that file.')
    assert korean(err).endswith(korean(RESAVE))
    err = error(MODEL_ERRORS["ten million units"], ModelFileError)
    assert str(err).startswith("Units of SimpleRNN layer 'simple_rnn' is 10,000,000;")
    assert "유닛 수" in korean(err) and "10,000,000" in korean(err)


def test_model_file_texts_for_display_are_messages():
    info = inspect_model_file("model.keras", keras_file())
    row = info.layer_table()[0]
    assert list(row) == ["layer", "class", "output shape", "parameters"]
    for header in row:
        check_translated(header)
    layer = RecurrentLayer("bidirectional", "LSTM", "backward", (None, 5, 3), {})
    assert layer.label == "bidirectional (backward)" and korean(layer.label) == "bidirectional (역방향)"


# -- training: targets, tasks and the budget ------------------------------------------------------------------

def test_training_errors_are_shown_in_korean():
    errors = [
        error(lambda: check_targets(np.zeros((2, 3)), batch=2, steps=5, many_to_many=True, num_class=3,
                                    loss="sparse_categorical_crossentropy"), TargetError),
        error(lambda: check_targets(np.array([0, 7]), batch=2, steps=5, many_to_many=False, num_class=3,
                                    loss="sparse_categorical_crossentropy"), TargetError),
        error(lambda: tasks.next_character("abc", steps=25), TargetError),
        error(lambda: tasks.label_column_task("t.csv", b"x,y\n1,0\n2,1\n", "z"), TargetError),
        error(lambda: tasks.label_column_task("t.csv", b"", "y"), TargetError),     # a SequenceError, passed on
        error(lambda: training_budget.check_budget(4000, "lstm", 64, 1000, 13, 256, 39), training_budget.BudgetError),
        error(lambda: training_budget.check_budget(6000, "simple_rnn", 1, 2, 1, 1, 1), training_budget.BudgetError),
    ]
    assert str(errors[0]).startswith("Labels must have shape (2, 5) (many-to-many: one per sequence and step)")
    for err in errors:
        check_translated(err)
    # numpy.savez(file, x=..., y=...) is code, though not a dotted name alone
    check_translated(error(lambda: tasks.load_npz_task(b"not an npz"), TargetError), allowed={"file"})


def test_task_descriptions_and_feature_names_are_messages():
    made = [tasks.frame_classification(n=4, steps=10), tasks.adding_problem(n=4, steps=10),
            tasks.delayed_recall(n=4, lag=3), tasks.sine_forecasting(n=4, steps=10),
            tasks.next_character("hello world", steps=4)]
    for task in made:
        assert isinstance(task.description, Message)
        check_translated(task.description)
    for name in made[1].feature_names + made[2].feature_names:
        check_translated(name)
    mine = tasks.user_task(np.zeros((2, 3, 1)), np.zeros(2, np.int64))
    assert mine.description == "your data: 2 sequence(s) of 3 steps, 2 classes per sequence (many-to-one)"
    check_translated(mine.description)


def test_examples_are_named_and_described_in_korean():
    for name in examples.EXAMPLES:
        check_translated(Message(name))           # the key is the id (URL) and the English name: N_-marked
        ex = examples.make_example(name, T=12)
        check_translated(ex.description, allowed={"hello", "world", "recurrent", "networks"})   # the text shown


def test_gate_labels_and_analysis_texts_are_messages():
    from rnn_core import GRU, LSTM, SimpleRNN

    for layer in (SimpleRNN(2), LSTM(2), GRU(2)):
        layer.build((1, 3, 1))
        for label in layer.cell.gate_labels.values():
            assert isinstance(label, Message)
            assert korean(label) != label and HANGUL.search(korean(label))
    rng = np.random.default_rng(0)
    for scale in (0.1, 1.0, 3.0):
        u = scale * np.linalg.qr(rng.normal(size=(4, 4)))[0]
        check_translated(pascanu_report(u, get_activation("tanh")).verdict)
    jac = diagonal_times_matrix(rng.uniform(0, 1, (40, 4)), rng.normal(size=(4, 4)))
    check_translated(state_jacobian_map(jac, max_points=8).method)


def test_the_stacking_error_is_a_translated_value_error():
    from rnn_core import SimpleRNN
    from rnn_core.layers.rnn import StackingError

    with pytest.raises(ValueError) as err:
        SimpleRNN(2, name="second")(np.ones((2, 4), np.float32))
    assert isinstance(err.value, StackingError)
    assert str(err.value).startswith("Input 0 with name 'None' of layer 'second' is incompatible with the layer: "
                                     "expected ndim=3, found ndim=2. Full shape received: (2, 4).")
    check_translated(err.value, allowed={"ndim", "second"})     # ndim=3 as Keras says it; the layer's name


# -- every template, and rnn_core without Streamlit -----------------------------------------------------------

def test_every_rnn_core_template_formats_in_both_languages():
    """Each template and its translation fill with the same fields (a number fits every format spec here)."""
    po = catalog("ko", files=[ROOT / "locales" / "ko" / "LC_MESSAGES" / "rnn_core.po"])
    for msgid in code_messages(["rnn_core"]):
        names = {name for _l, name, _s, _c in string.Formatter().parse(msgid) if name}
        values = {name: 1234.5 for name in names}
        (ko, _file, _fuzzy), = po[msgid]
        assert msgid.format(**values) and ko.format(**values), msgid
        assert HANGUL.search(ko) or not re.search("[A-Za-z]{3}", re.sub(r"\{[^}]*\}", "", msgid)), msgid


def test_rnn_core_imports_no_streamlit():
    for path in sorted((ROOT / "rnn_core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                assert name.split(".")[0] not in ("streamlit", "explorer"), f"{path.name} imports {name}"
    script = ("import sys, rnn_core, rnn_core.inputs.loading, rnn_core.inputs.tables, rnn_core.saving.model_files, "
              "rnn_core.budget, rnn_core.training.tasks, rnn_core.training.trainer, rnn_core.analysis.gradient_flow, "
              "rnn_core.inputs.examples, rnn_core.keras_bridge\n"
              "assert 'streamlit' not in sys.modules and 'explorer' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=120)
