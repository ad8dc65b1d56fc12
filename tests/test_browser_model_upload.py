"""In headless Chromium: upload a real .keras model through the sidebar, show its LSTM on every page; a hostile
file is refused with a message and the view stays.

Waits on Streamlit's own signals (script runs, the chart's data). Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import pytest
from browser_support import ARTIFACTS, open_view, plot_titled, settle, wait_until
from test_browser_e2e import PAGES, no_exception_box, open_app

pytestmark = [pytest.mark.browser, pytest.mark.keras]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((None, 1)), keras.layers.LSTM(6, return_sequences=True, name="encoder"),
                              keras.layers.TimeDistributed(keras.layers.Dense(3, activation="softmax"), name="head")])
    path = tmp_path_factory.mktemp("browser_model") / "my_lstm.keras"
    model.save(path)
    return path.read_bytes()


def upload_model(page, name: str, data: bytes) -> None:
    box = page.locator('[data-testid="stSidebar"] [data-testid="stExpander"]', has_text="Your own Keras model")
    if box.locator("details").get_attribute("open") is None:       # collapsed: its content is there but hidden
        box.locator("summary").click()
    box.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        {"name": name, "mimeType": "application/octet-stream", "buffer": data})
    settle(page)


def test_an_uploaded_model_is_shown_on_every_page(browser, server, model_file):
    context, page, console = open_app(browser, server, "/hidden-states", height=1800)
    upload_model(page, "my_lstm.keras", model_file)
    page.get_by_role("button", name="Show this layer on every page").click()
    settle(page)
    page.wait_for_function("() => document.body.innerText.includes(\"Showing LSTM layer 'encoder' of my\")")
    # The button's run ends in st.rerun(): poll until the chart holds the model's 6 units (the sidebar's
    # layer has 4), rather than reading it once right after the first run (a flake under load).
    wait_until(lambda: len(plot_titled(page, "h_t of sequence 0 (NumPy)")["z"]) == 6,
               message="the heatmap of the model's 6 units")
    open_view(page, "The Dense head on top")
    plot_titled(page, "class probabilities p_t (NumPy)")            # its TimeDistributed(Dense) head
    page.screenshot(path=str(ARTIFACTS / "model_hidden-states.png"), full_page=True)
    for label, heading in PAGES.items():
        if label in ("Home", "Unrolled hidden states", "Training"):
            continue
        page.locator('[data-testid="stSidebarNav"] a', has_text=label).first.click()
        settle(page)
        page.wait_for_function("h => document.querySelector('h1') && document.querySelector('h1').innerText"
                               ".includes(h)", arg=heading)
        page.wait_for_function("() => document.body.innerText.includes(\"Showing LSTM layer 'encoder'\")")
        no_exception_box(page)
        page.screenshot(path=str(ARTIFACTS / f"model_{label.split()[0].lower()}.png"), full_page=True)
    # A pickle renamed .keras: refused with a message, the model and the view stay.
    upload_model(page, "evil.keras", b"\x80\x04\x95" + bytes(200))
    page.wait_for_function("() => document.body.innerText.includes('evil.keras was not loaded')")
    assert "Showing LSTM layer 'encoder'" in page.locator("body").inner_text()
    no_exception_box(page)
    assert not console.errors, console.errors
    context.close()
