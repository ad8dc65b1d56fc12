"""In headless Chromium: the sidebar's language switch on every page keeps the configuration and the URL.

Each page is opened with a configuration in its link, switched to 한국어 with the sidebar switch and back to
English. Waits on Streamlit's own signals (script runs) and polls what the page shows. A screenshot of each
page in Korean goes to test-artifacts/ (not committed); Hangul needs a font (browser_support.ensure_chromium
installs Debian's fonts-noto-cjk when missing).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from browser_support import ARTIFACTS, settle, wait_until
from test_browser_e2e import no_exception_box, open_app

from explorer import i18n

pytestmark = [pytest.mark.browser, pytest.mark.keras]   # keras-vs-numpy runs the Keras column

TITLES = ["Home", "Unrolled hidden states", "Output shapes", "Gradient flow (BPTT)", "Keras vs NumPy", "Training"]
with i18n.use_language("ko"):
    KOREAN_TITLES = [i18n._(t) for t in TITLES]

# The sidebar's select boxes: the chosen option's label follows the language (output-shapes opens on many-to-one).
HEAD_BOX = '[data-testid="stSidebar"] [data-testid="stSelectbox"]'
# Each page with a link that is not the default configuration (every value must survive both switches).
LINKS = {
    "": {"cell": "LSTM", "units": "6", "source": "typed", "keras": "false"},
    "hidden-states": {"cell": "LSTM", "units": "6", "example": "impulse", "keras": "false"},
    "output-shapes": {"return_state": "true", "units": "5", "head": "many-to-one", "keras": "false"},
    "gradient-flow": {"head": "none", "units": "8", "steps": "30", "example": "impulse", "keras": "false"},
    "keras-vs-numpy": {"cell": "GRU", "units": "3"},
    "training": {"cell": "GRU", "units": "5", "keras": "false"},
}


def url_values(page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(page.url).query).items()}


def navigation(page) -> str:
    nav = page.locator('[data-testid="stSidebarNav"]')
    return nav.inner_text() if nav.count() else ""


def switch_to(page, language: str) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_text(language, exact=True).click()
    settle(page)


def head_shown(page) -> str:
    """The options shown in the sidebar's select boxes (each box's text field holds its chosen option's label)."""
    fields = page.locator(f"{HEAD_BOX} input")
    return "\n".join(fields.nth(i).input_value() for i in range(fields.count()))


def wait_for_language(page, titles: list[str], query: dict[str, str]) -> None:
    """Poll until the navigation shows ``titles`` and the URL holds exactly ``query``."""
    wait_until(lambda: all(t in navigation(page) for t in titles),
               message=f"the navigation in {titles[0]!r}'s language: {navigation(page)!r}")
    wait_until(lambda: url_values(page) == query, message=f"the URL {query}, not {url_values(page)}")


@pytest.mark.parametrize("path", list(LINKS))
def test_the_language_switch_keeps_the_configuration(browser, server, path):
    query = LINKS[path]
    link = f"/{path}?" + "&".join(f"{k}={v}" for k, v in query.items())
    context, page, console = open_app(browser, server, link, height=1400)
    wait_for_language(page, TITLES, query)
    no_exception_box(page)

    switch_to(page, "한국어")
    wait_for_language(page, KOREAN_TITLES, {**query, "lang": "ko"})
    no_exception_box(page)
    if query.get("head") == "many-to-one":       # the box shows the chosen option's Korean label, not the English one
        wait_until(lambda: "다대일" in head_shown(page), message="the head box in Korean")
    assert "Input sequence" not in page.locator('[data-testid="stSidebar"]').inner_text()
    page.get_by_test_id("stMain").evaluate("el => el.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / f"i18n_ko_{path or 'home'}.png"), full_page=True)

    switch_to(page, "English")
    wait_for_language(page, TITLES, query)
    if query.get("head") == "many-to-one":
        wait_until(lambda: "many-to-one" in head_shown(page), message="the head box in English")
    assert not any(k in navigation(page) for k, t in zip(KOREAN_TITLES, TITLES) if k != t)
    assert "Input sequence" in page.locator('[data-testid="stSidebar"]').inner_text()
    no_exception_box(page)
    assert not console.errors, console.errors
    context.close()
