"""What a visitor does in bench/browser_timing.py: the app's pages, the controls on them, and how each is operated.

A control is a widget (found by its key: Streamlit puts ``st-key-<key>`` on its element container) and a cycle of
actions that brings it back to where it started, so the rounds repeat the same configurations.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ("return_sequences", "return_state", "go_backwards", "use_bias", "stateful")


@dataclass(frozen=True)
class Control:
    """One widget and the cycle of actions that brings it back to where it started."""

    name: str                      # the widget's key
    kind: str                      # "flag", "sidebar" or "picker": the target it is held to (browser_report.TARGETS)
    widget: str                    # "toggle", "segmented", "slider" or "selectbox"
    cycle: tuple                   # one action per step: None (toggle), an option label, a key, an option index
    pages: tuple = ()              # () = every page; else the pages (URL paths) that have it
    view: str = ""                 # the page's tab (a view drawn only while open) the control is in; "" = none


CONTROLS = [Control(f, "flag", "toggle", (None, None)) for f in FLAGS] + [
    Control("cell", "sidebar", "segmented", ("LSTM", "GRU", "SimpleRNN")),
    Control("recurrent_scale", "sidebar", "slider", ("ArrowRight", "ArrowLeft")),
    Control("t", "picker", "slider", ("ArrowRight", "ArrowLeft"), ("hidden-states",)),
    Control("inside_t", "picker", "slider", ("ArrowRight", "ArrowLeft"), ("trained-network",),
            "State space and fixed points"),
    Control("inside_unit", "picker", "selectbox", (1, 0), ("trained-network",), "Select and match"),
]
QUICK_CONTROLS = ("return_sequences", "go_backwards", "cell", "t")


def control_named(name: str) -> Control:
    return next(c for c in CONTROLS if c.name == name)


def kind_of(control: str) -> str:
    """The kind of a row's control; "navigate" (the sidebar's page links) and the first visits are their own."""
    if control in ("navigate", "first page", "first page (cached)"):
        return control
    return control_named(control).kind


def app_pages(app: Path = ROOT / "app.py") -> list[tuple[str, str]]:
    """(URL path, file) of each st.Page in app.py's PAGES, in order; the default page's path is ""."""
    tree = ast.parse(app.read_text(encoding="utf-8"))
    pages = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PAGES" for t in node.targets):
            for call in node.value.elts:
                file = call.args[0].value
                default = any(k.arg == "default" and getattr(k.value, "value", False) for k in call.keywords)
                pages.append(("" if default else Path(file).stem, file))
    if not pages:
        raise RuntimeError("no PAGES list found in app.py")
    return pages


def present(page, control: Control) -> bool:
    """Whether the page (a Playwright page) shows the control now."""
    return page.locator(f".st-key-{control.name}").count() > 0


def act(page, control: Control, step: int, arm) -> None:
    """Do step ``step`` of the control's cycle; ``arm()`` is called right before the input that starts the wait
    (after scrolling and opening menus, which a visitor does before the click that counts)."""
    action, box = control.cycle[step], page.locator(f".st-key-{control.name}").first
    if control.widget == "toggle":
        target = box.locator("label").first
        target.scroll_into_view_if_needed()
        arm()
        target.click()
    elif control.widget == "segmented":
        target = box.get_by_role("radio", name=action, exact=True)
        if not target.count():
            target = box.get_by_role("button", name=action, exact=True)
        target.scroll_into_view_if_needed()
        arm()
        target.click()
    elif control.widget == "slider":
        target = box.get_by_role("slider").first
        target.scroll_into_view_if_needed()
        target.focus()
        arm()
        target.press(action)
    elif control.widget == "selectbox":
        box.get_by_role("combobox").first.click()
        target = page.locator('[role="option"]').nth(action)
        target.wait_for()
        arm()
        target.click()
    else:
        raise ValueError(control.widget)


def navigate(page, path: str, arm) -> None:
    """Follow the sidebar's link to ``path`` ("" is the default page); ``arm()`` right before the click."""
    href = page.evaluate("""p => { for (const a of document.querySelectorAll('[data-testid="stSidebarNav"] a'))
                                      if (new URL(a.href).pathname.replace(/\\/$/, '') === '/' + p
                                          || (p === '' && new URL(a.href).pathname === '/')) return a.href;
                                   return null; }""", path)
    if href is None:
        raise RuntimeError(f"no sidebar link to /{path}")
    link = page.locator(f'[data-testid="stSidebarNav"] a[href="{href}"]').first
    link.scroll_into_view_if_needed()
    arm()
    link.click()
