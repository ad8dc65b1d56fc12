"""The app's own styles: one <style> block, written once per run by app.py (``styles.inject()``).

What Streamlit's theme options cannot reach (.streamlit/config.toml sets what they can): captions and detail lines,
inline code in captions, st.code's syntax colours, the selected option of a segmented control and a slider's value
(both in the primary colour on a tint of it), a visible keyboard focus, long code lines, and on a phone the Plotly
mode bar and the tables' toolbar. Each colour is a ``light-dark()`` pair from explorer/palette.py: Streamlit sets
``color-scheme`` on the app's containers to the theme it shows (from the settings menu or the system), so the
browser picks the pair's colour for that theme; tests/test_palette.py checks each pair's contrast,
tests/test_browser_a11y.py runs axe-core over every page in both themes. docs/accessibility.md tells why each rule
is here. Nothing is hidden.
"""

from __future__ import annotations

import streamlit as st

from . import palette

NARROW = "480px"        # a phone held upright: the Plotly mode bar moves above the chart


def _tokens() -> str:
    rules = []
    for token, role in palette.TOKEN_CLASSES.items():
        rules.append(f'[data-testid="stCode"] .token.{token} {{ color: {palette.CODE_TOKENS[role].css()}; }}')
    return "\n".join(rules)


def css() -> str:
    """The CSS text (no <style> tag)."""
    muted, accent, focus = palette.MUTED_TEXT.css(), palette.ACCENT_TEXT.css(), palette.FOCUS_RING.css()
    return f"""
/* Captions and quiet detail lines: Streamlit draws captions at 60 % opacity (3.9:1 on white); a muted colour of
   their own, fully opaque, instead. Inline code in a caption takes the caption's colour. */
[data-testid="stCaptionContainer"] {{ opacity: 1; }}
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] code, .rnn-muted {{ color: {muted}; }}
/* The selected option of a segmented control, and a slider's value: primary-coloured text (3.3-4.5:1). */
[data-testid="stButtonGroup"] button[aria-checked="true"],
[data-testid="stButtonGroup"] button[aria-checked="true"] *,
[data-testid="stButtonGroup"] button[aria-pressed="true"],
[data-testid="stButtonGroup"] button[aria-pressed="true"] *,
[data-testid="stSliderThumbValue"], [data-testid="stSliderThumbValue"] * {{ color: {accent}; }}
[data-testid="stButtonGroup"] button[aria-checked="true"] p {{ font-weight: 600; }}
/* st.code's syntax colours (Prism tokens), 4.5:1 on the code background in both themes. */
{_tokens()}
/* Long code lines wrap instead of scrolling sideways (a scroller a keyboard cannot reach, and a phone cannot
   show). */
[data-testid="stCode"] pre code {{ white-space: pre-wrap !important; overflow-wrap: anywhere; }}
/* A visible keyboard focus on everything that takes it. */
[data-testid="stApp"] :focus-visible, [data-testid="stSidebar"] :focus-visible {{
    outline: 2px solid {focus} !important; outline-offset: 2px;
}}
/* A phone: the Plotly mode bar moves above the chart instead of covering its title, and a table's toolbar (shown
   without hovering on a touch screen) gets room above the table instead of covering the text or formula before it. */
@media (max-width: {NARROW}) {{
    [data-testid="stElementContainer"]:has([data-testid="rnnChart"]) {{
        margin-top: 2rem; overflow: visible !important;
    }}
    [data-testid="stElementContainer"]:has([data-testid="stDataFrame"]) {{ margin-top: 2rem; }}
    [data-testid="rnnChart"] .js-plotly-plot {{ overflow: visible !important; }}
    [data-testid="rnnChart"] .modebar-container {{ top: -2rem !important; }}
}}
"""


def inject() -> None:
    """Write the app's styles into the page (call once per run, before the page draws)."""
    st.html(f"<style>{css()}</style>")
