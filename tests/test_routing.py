"""Page files are named like their URLs, and each page runs through app.py under the legacy router."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_page_is_declared_and_routes_through_app():
    app = (ROOT / "app.py").read_text()
    declared = re.findall(r'st\.Page\("(pages/[^"]+)"', app)
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))
    assert sorted(declared) == files
    assert "url_path" not in app, "URLs come from the file names, so both Streamlit routers agree"
    for path in files:
        source = (ROOT / path).read_text()
        if path != "pages/home.py":      # the default page is app.py's own under either router
            name = Path(path).stem
            assert f'= page_setup("{name}"' in source, f"{path} must call page_setup({name!r}) (routing, budget) first"
            assert source.index("page_setup(") < source.index("st.title("), path
