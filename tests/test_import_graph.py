"""The project's import graph, read from the source with ast: no circles, and rnn_core stays plain NumPy.

Every import counts, the ones inside functions too (a lazy import still ties two modules together). A module
importing a name from a package depends on that package's ``__init__``; ``from . import x`` on the module x.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = ("rnn_core", "explorer", "bench")
FORBIDDEN_IN_CORE = ("explorer", "pages", "streamlit", "plotly")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_modules() -> dict[str, Path]:
    files = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
    for package in FIRST_PARTY:
        files += sorted((ROOT / package).rglob("*.py"))
    return {module_name(p): p for p in files}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules ``name`` imports (first-party ones resolved to their module, others by their top name)."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base_name = ".".join(base + ([node.module] if node.module else []))
            else:
                base_name = node.module or ""
            submodules = {f"{base_name}.{a.name}" for a in node.names} & known
            found.update(submodules)
            if not submodules or node.module:
                found.add(base_name)
    return {m for m in found if m != name}


def graph() -> dict[str, set[str]]:
    modules = source_modules()
    known = set(modules)
    return {name: {m for m in imports_of(name, path, known) if m in known} for name, path in modules.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (the first repeated at the end), or None."""
    state: dict[str, int] = {}     # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_graph_is_read_from_every_package():
    edges = graph()
    assert {"rnn_core", "rnn_core.layers.rnn", "explorer.widgets", "explorer.cache", "app"} <= set(edges)
    assert "rnn_core.layers.recurrence" in edges["rnn_core.layers.rnn"]
    assert "explorer.parity" in edges["explorer.cache"]


def test_there_is_no_import_circle():
    assert find_cycle(graph()) is None, " -> ".join(find_cycle(graph()))


def test_the_cycle_finder_finds_a_planted_circle():
    edges = graph()
    edges["rnn_core.messages"] = edges["rnn_core.messages"] | {"rnn_core.layers.rnn"}
    cycle = find_cycle(edges)
    assert cycle is not None and cycle[0] == cycle[-1]
    assert "rnn_core.messages" in cycle and "rnn_core.layers.rnn" in cycle


def test_rnn_core_imports_no_ui_code():
    modules = source_modules()
    known = set(modules)
    bad = []
    for name, path in modules.items():
        if name.split(".")[0] != "rnn_core":
            continue
        for imported in imports_of(name, path, known):
            if imported.split(".")[0] in FORBIDDEN_IN_CORE:
                bad.append(f"{name} imports {imported}")
    assert not bad, bad


def test_only_the_keras_bridge_imports_tensorflow():
    """TensorFlow/Keras are imported in rnn_core.keras_bridge alone (lazily, inside its functions)."""
    modules = source_modules()
    known = set(modules)
    importers = sorted(name for name, path in modules.items()
                       if name.split(".")[0] != "bench"
                       and {m.split(".")[0] for m in imports_of(name, path, known)} & {"tensorflow", "keras"})
    assert importers == ["rnn_core.keras_bridge"], importers
