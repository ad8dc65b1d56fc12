"""The nginx config in deploy/ sends the security headers a deployed class relies on (issue #21).

``deploy/try_local.py`` checks them on live responses through nginx and the app under them in Chromium;
this test reads the config itself, so a change that drops or loosens a header fails here without nginx.
"""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def try_local():
    spec = importlib.util.spec_from_file_location("try_local", ROOT / "deploy" / "try_local.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_location_sends_the_headers(try_local):
    headers = try_local.security_headers()
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    conf = (ROOT / "deploy" / "nginx" / "rnn-explorer.conf").read_text()
    locations = re.findall(r"location [^{]+\{", conf)
    assert locations and conf.count("include") >= len(locations)


def test_the_policy_allows_only_the_app_itself(try_local):
    csp = try_local.csp_directives(try_local.security_headers()["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"], "the websocket and uploads go to the app only"
    assert set(csp["img-src"]) == {"'self'", "data:", "blob:"}, "no image from another address (tracking pixels)"
    assert csp["frame-ancestors"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"]
    scripts = csp["script-src"]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert "data:" not in scripts and "*" not in scripts and not any(s.startswith(("http", "'nonce")) for s in scripts)
    # blob: the charts' Custom Component code, which Streamlit imports from a blob: URL (explorer/plotly_view.js)
    assert all(s in ("'self'", "'wasm-unsafe-eval'", "blob:") or s.startswith("'sha256-") for s in scripts)


def test_the_parser_refuses_a_header_without_always(try_local, tmp_path):
    conf = tmp_path / "security-headers.conf"
    conf.write_text('add_header X-Content-Type-Options "nosniff";\n')
    with pytest.raises(Exception, match="always"):  # noqa: B017 - try_local raises its own failure type
        try_local.security_headers(conf)
