import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# -- browser tests: one app server and one Chromium for every browser test file -----------------


@pytest.fixture(scope="session")
def server():
    """``streamlit run app.py`` on a free loopback port, shared by all browser tests, stopped at the end."""
    from browser_support import ARTIFACTS, AppServer

    ARTIFACTS.mkdir(exist_ok=True)
    app = AppServer(ARTIFACTS / "streamlit.log")
    yield app
    app.stop()


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright (no browser download), shared by all browser tests."""
    from browser_support import CHROMIUM_ARGS, ensure_chromium
    from playwright.sync_api import sync_playwright

    executable = ensure_chromium()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()
