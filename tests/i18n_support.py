"""What the translation tests share: the messages in the code, the Korean catalogs, and English left in a page.

* :func:`code_messages` extracts every message id the code marks (``_()``, ``N_()``, ``ngettext()``) with
  Babel's own extractor, with the files and lines it comes from;
* :func:`catalog` reads the ``.po`` files of a language;
* :func:`english_leftovers` lists the English words an AppTest run still shows, once code names,
  inline code, math and numbers are set aside.
"""

from __future__ import annotations

import json
import re
import string
from collections import defaultdict
from pathlib import Path

from chart_support import plotly_charts

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "locales"
SOURCES = ["app.py", "explorer", "pages", "rnn_core"]
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def source_files(paths=SOURCES) -> list[Path]:
    files = []
    for p in paths:
        path = ROOT / p
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def code_messages(paths=SOURCES) -> dict[str, list[str]]:
    """msgid -> ["file:line", ...] for every marked message in ``paths`` (plural forms give both ids)."""
    from babel.messages.extract import extract_from_file

    found: dict[str, list[str]] = defaultdict(list)
    for path in source_files(paths):
        for lineno, message, _comments, _context in extract_from_file("python", str(path), keywords=KEYWORDS):
            ids = message if isinstance(message, tuple) else (message,)
            for msgid in ids:
                if msgid:
                    found[msgid].append(f"{path.relative_to(ROOT)}:{lineno}")
    return dict(found)


def catalog_files(lang: str = "ko") -> list[Path]:
    return sorted((LOCALES / lang / "LC_MESSAGES").glob("*.po"))


def catalog(lang: str = "ko", files: list[Path] | None = None) -> dict[str, list[tuple[str, str, bool]]]:
    """msgid -> [(msgstr, file name, fuzzy), ...] over the language's .po files (one entry per file)."""
    from babel.messages.pofile import read_po

    out: dict[str, list[tuple[str, str, bool]]] = defaultdict(list)
    for po in files if files is not None else catalog_files(lang):
        with po.open("rb") as f:
            for m in read_po(f, locale=lang):
                if not m.id:
                    continue
                ids = m.id if isinstance(m.id, tuple) else (m.id,)
                strings = m.string if isinstance(m.string, tuple) else (m.string,)
                for i, msgid in enumerate(ids):
                    out[msgid].append((strings[min(i, len(strings) - 1)] or "", po.name, m.fuzzy))
    return dict(out)


def fields(text: str) -> list[str]:
    """The {fields} of a format string, with their format specs: what a translation must keep."""
    return sorted(f"{name}:{spec}" for _lit, name, spec, _conv in string.Formatter().parse(text) if name is not None)


def code_spans(text: str) -> list[str]:
    """`inline code` in a message: names that stay as they are."""
    return sorted(re.findall(r"`[^`]+`", text))


# -- English left on a page ------------------------------------------------------------------------------

# Names that stay as code in every language (API, libraries, math and units).
CODE_WORDS = {
    "SimpleRNN", "LSTM", "GRU", "RNN", "Keras", "NumPy", "TensorFlow", "Streamlit", "Dense", "TimeDistributed",
    "Bidirectional", "Sequential", "Model", "RNNLayer", "Input", "Embedding", "Masking", "BPTT", "SGD", "Adam",
    "RMSprop", "tanh", "sigmoid", "relu", "softmax", "linear", "elu", "selu", "gelu", "softplus", "softsign",
    "hard_sigmoid", "hard_tanh", "swish", "silu", "leaky_relu", "exponential", "mse", "concat", "sum", "mul",
    "ave", "None", "True", "False", "CSV", "TSV", "JSON", "NPZ", "NPY", "Parquet", "Excel", "xlsx", "csv", "tsv",
    "npz", "npy", "json", "txt", "parquet", "keras", "h5", "layers", "tf", "np", "ms", "s", "MB", "MiB", "GiB",
    "KiB", "GB", "URL", "ID", "id", "max", "min", "log", "exp", "sigma", "Lanczos", "Pascanu", "Hochreiter",
    "Schmidhuber", "Bengio", "Mikolov", "Glorot", "Saxe", "CS231n", "ML", "UTF", "NaN", "inf", "nan", "float32",
    "float64", "dtype", "dL",
    "dh", "dc", "dW", "dU", "db", "dx", "OK", "vs", "x", "e", "glorot_uniform", "glorot_normal", "orthogonal",
    "he_uniform", "he_normal", "lecun_uniform", "lecun_normal", "zeros", "ones", "random_normal", "random_uniform",
    "truncated_normal", "identity", "fit", "GradientTape", "tf.function", "Plotly", "plotly", "pandas",
    "English", "Language", "stateful", "mish", "gamma", "diag", "z-score", "min-max", "Hz", "cuDNN", "step_forward",
    "step_backward",
}


def visible_texts(at) -> list[str]:
    """Every string an AppTest run shows: text elements, widget labels and help, options, tables' headers, charts."""
    texts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "latex", "error", "warning", "info",
                 "success", "exception", "metric", "badge"):
        for el in at.get(kind):
            proto = el.proto
            for attr in ("body", "label", "help", "value"):
                value = getattr(proto, attr, None)
                if isinstance(value, str) and value:
                    texts.append(value)
    for kind in ("selectbox", "multiselect", "radio", "slider", "select_slider", "number_input", "text_input",
                 "text_area", "checkbox", "toggle", "button", "button_group", "file_uploader", "download_button",
                 "expander", "tab", "popover", "segmented_control", "pills", "date_input"):
        for el in at.get(kind):
            proto = getattr(el, "proto", None)
            for attr in ("label", "help", "placeholder"):
                value = getattr(proto, attr, None) if proto is not None else None
                if isinstance(value, str) and value:
                    texts.append(value)
            for option in getattr(proto, "options", []) or []:
                texts.append(option if isinstance(option, str) else getattr(option, "content", "") or "")
    for el in at.get("arrow_data_frame") + at.get("arrow_table"):
        try:
            frame = el.value
            texts += [str(c) for c in frame.columns]
            texts += [str(i) for i in frame.index if isinstance(i, str)]
        except Exception:                                   # noqa: BLE001 - a table we cannot read is skipped
            pass
    for el in plotly_charts(at):
        spec = json.loads(el.spec)
        texts += list(_figure_texts(spec))
    return texts


def _figure_texts(spec: dict):
    """Titles, axis titles, trace names, annotations and hover templates of a plotly figure's JSON."""
    layout = spec.get("layout", {})
    title = layout.get("title")
    if isinstance(title, dict) and title.get("text"):
        yield title["text"]
    elif isinstance(title, str) and title:
        yield title
    for _key, value in layout.items():
        if isinstance(value, dict):
            title = value.get("title")
            if isinstance(title, dict) and title.get("text"):
                yield title["text"]
            elif isinstance(title, str):
                yield title
    for annotation in layout.get("annotations", []):
        if annotation.get("text"):
            yield annotation["text"]
    for trace in spec.get("data", []):
        if isinstance(trace.get("name"), str):
            yield trace["name"]
        for key in ("hovertemplate", "text"):
            if isinstance(trace.get(key), str):
                yield trace[key]
        colorbar = (trace.get("colorbar") or (trace.get("marker") or {}).get("colorbar") or {})
        title = colorbar.get("title")
        if isinstance(title, dict) and title.get("text"):
            yield title["text"]


_STRIP = [
    re.compile(r"```.*?```", re.S),              # code blocks
    re.compile(r"`[^`]*`"),                       # inline code
    re.compile(r"\$\$.*?\$\$", re.S),             # display math
    re.compile(r"\$[^$]*\$"),                     # inline math
    re.compile(r"\\\(.*?\\\)|\\\[.*?\\\]", re.S),
    re.compile(r"<[^>]+>"),                       # html tags and plotly's <br>, <b>
    re.compile(r"%\{[^}]*\}"),                    # plotly hover fields
    re.compile(r"https?://\S+"),
    re.compile(r"\]\([^)\s]*\)"),                 # markdown link targets: ](gradient-flow?head=none...)
    re.compile(r":material/[a-z_]+:"),
    re.compile(r":[a-z]+(-[a-z]+)*\["),          # Streamlit's colour and badge markers :green[...], :blue-badge[...]
    re.compile(r"&[a-z]+;|&#\d+;"),              # html entities (&nbsp;)
    re.compile(r"\b\w+\.\w+(\.\w+)*\b"),          # dotted names: keras.layers.LSTM, model.keras, file.csv
    re.compile(r"\b\w*_\w*\b"),                   # snake_case names and subscripts (h_t, return_sequences)
    re.compile(r"\b\w+\([^()]*\)"),               # calls: LSTM(4), f(z)
]


# explorer.inert's escapes (``h\\_t`` shows as ``h_t``) and word joiners: read the text as a visitor sees it.
_ESCAPED = re.compile(r"\\([\\`*_\[\]<>$|~:&#])")


def english_words(text: str, allowed: set[str] = frozenset()) -> list[str]:
    """Latin words of two or more letters left in ``text`` once code, math and code names are removed."""
    text = _ESCAPED.sub(r"\1", text).replace("\u2060", "")
    for pattern in _STRIP:
        text = pattern.sub(" ", text)
    words = re.findall(r"[A-Za-z][A-Za-z'-]*[A-Za-z]", text)
    return [w for w in words if w not in CODE_WORDS and w not in allowed and w.strip("-") not in CODE_WORDS]


def english_leftovers(at, allowed: set[str] = frozenset()) -> dict[str, list[str]]:
    """text -> its English words, for every visible text of an AppTest run that still has some."""
    out = {}
    for text in visible_texts(at):
        words = english_words(text, allowed)
        if words:
            out[text[:120]] = words
    return out
