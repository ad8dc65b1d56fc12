"""Deep links that work from the very first request after the server starts.

Streamlit decides at its first session whether the app uses the legacy
``pages/`` router (a ``pages/`` folder exists) or ``st.navigation``; until a
session has run app.py's ``st.navigation``, a link such as
``/output-shapes?units=6`` is served by the legacy router, which would run
the page file alone: no shared controls. Each page therefore calls
:func:`run_through_app` first: under the legacy router it runs app.py instead,
whose ``st.navigation`` then runs this very page with the shared controls.
The page files are named like their URLs, so both routers find them.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

APP = Path(__file__).resolve().parents[1] / "app.py"


def legacy_router_active() -> bool:
    # Streamlit keeps this flag on its PagesManager class; st.navigation sets it to False.
    from streamlit.runtime.pages_manager import PagesManager

    return bool(PagesManager.uses_pages_directory)


def run_through_app() -> None:
    """Call first in every page: under the legacy router, run app.py (which runs this page) and stop."""
    if not legacy_router_active():
        return
    code = compile(APP.read_text(encoding="utf-8"), str(APP), "exec")
    exec(code, {"__name__": "__main__", "__file__": str(APP)})  # noqa: S102 - our own entry point
    st.stop()
