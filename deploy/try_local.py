"""Try the replicated deployment on one machine: 2 replicas behind nginx, opened in Chromium.

    python deploy/try_local.py              # everything below (about 5-10 minutes)
    python deploy/try_local.py --csp-only   # only the security headers and the CSP checks (about 1-2 minutes)

Needs Debian's nginx (apt-get install nginx) and /usr/bin/chromium (installed with apt-get when missing).

Docker engines do not run on the development machine, so this runs what docker-compose.yml runs, without
containers: two ``streamlit run app.py`` on 127.0.0.1:8601 and :8602 (what each app container runs), and
Debian's nginx with deploy/nginx/rnn-explorer.conf and deploy/nginx/security-headers.conf, the very files
compose mounts, with deploy/nginx/upstreams-local.conf as its upstreams.conf, listening on 127.0.0.1:8080.
Then it checks, through nginx only:
  * the security headers of security-headers.conf (CSP, nosniff, X-Frame-Options), once each, on the page,
    its static assets (JS, CSS, font, favicon), /healthz, a 404 of the app and a 413 of nginx itself;
  * the CSP's sha256 matches the inline script of the index.html Streamlit serves (it changes with Streamlit);
  * every page of the app, opened in Chromium, finishes its script run with no CSP violation reported
    (securitypolicyviolation events and console messages); a plotly page draws its charts and plotly's
    "Download plot as a PNG" works; a screenshot goes to /tmp/csp_shot.png;
  * 6 browser sessions (own cookies each) open a Keras page and finish it (script state notRunning, charts drawn);
  * every request of a session, its websocket included, reached one replica (nginx's access log, $upstream_addr),
    and the sessions were spread over both replicas;
  * an upload (an HTTP POST to the replica that holds the session) and the rerun it triggers work through nginx;
  * /healthz answers.
Loopback only; every wait is bounded; everything started here is stopped at the end. Exits 1 with a message
on the first failed check.

Importable without Playwright or a server: ``security_headers()`` parses the nginx config and returns its
header lines as ``{name: value}``; ``csp_directives(value)`` splits a CSP into ``{directive: [sources]}``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NGINX_DIR = ROOT / "deploy" / "nginx"
HEADERS_CONF = NGINX_DIR / "security-headers.conf"

PORTS = (8601, 8602)
PROXY_PORT = 8080
PROXY = f"http://127.0.0.1:{PROXY_PORT}"
SCREENSHOT = Path("/tmp/csp_shot.png")
NGINX_MAIN = """worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 512; }}
http {{
    log_format upstream '$cookie_rnnx_affinity $upstream_addr $status "$request"';
    access_log {tmp}/access.log upstream;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    include rnn-explorer.conf;
}}
"""

_ADD_HEADER = re.compile(r'^\s*add_header\s+([A-Za-z0-9-]+)\s+"([^"]*)"\s*(always)?\s*;', re.M)


def security_headers(conf: Path = HEADERS_CONF) -> dict[str, str]:
    """The headers the nginx config adds to every response, ``{name: value}``, in file order.

    Parses the ``add_header Name "value" always;`` lines of deploy/nginx/security-headers.conf (comments
    skipped), and checks that each has ``always`` (so error responses carry it too) and that
    rnn-explorer.conf includes the file in every location.
    """
    headers: dict[str, str] = {}
    for name, value, always in _ADD_HEADER.findall(conf.read_text()):     # commented-out lines start with #
        if not always:
            raise ValueError(f"{conf.name}: add_header {name} lacks 'always' (error responses would not carry it)")
        headers[name] = value
    main = (conf.parent / "rnn-explorer.conf").read_text()
    locations = len(re.findall(r"^\s*location\b", main, re.M))
    includes = len(re.findall(rf"^\s*include\s+{re.escape(conf.name)}\s*;", main, re.M))
    if locations != includes:
        raise ValueError(f"rnn-explorer.conf has {locations} locations but includes {conf.name} {includes} times")
    return headers


def csp_directives(csp: str) -> dict[str, list[str]]:
    """``"default-src 'self'; img-src 'self' data:"`` -> ``{"default-src": ["'self'"], "img-src": [...]}``."""
    out: dict[str, list[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


def inline_script_hashes(html: str) -> list[str]:
    """The CSP hash source ('sha256-...') of each inline <script> of a page."""
    return ["'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
            for body in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S)]


def fail(message: str) -> None:
    raise SystemExit(f"try_local FAILED: {message}")


def wait_healthy(url: str, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    fail(f"{url} did not become healthy within {seconds:.0f} s")


def get(path: str) -> tuple[int, http.client.HTTPMessage, bytes]:
    try:
        with urllib.request.urlopen(PROXY + path, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def check_headers(what: str, status: int, headers: http.client.HTTPMessage, expected: dict[str, str]) -> None:
    for name, value in expected.items():
        got = headers.get_all(name) or []
        if got != [value]:
            fail(f"{what} (HTTP {status}): header {name} is {got!r}, expected once: {value!r}")
    print(f"  headers ok on {what} (HTTP {status})", flush=True)


def check_headers_through_nginx(expected: dict[str, str]) -> str:
    """Every kind of response nginx sends carries the headers once; returns the page's HTML."""
    status, headers, body = get("/")
    if status != 200:
        fail(f"GET / through nginx answered {status}")
    html = body.decode()
    check_headers("the page /", status, headers, expected)
    assets = re.findall(r'<(?:script|link)[^>]*(?:src|href)="\./([^"]+)"', html)
    kinds = {"JS": ".js", "CSS": ".css", "font": ".woff2", "favicon": ".png"}
    for kind, ext in kinds.items():
        path = next((a for a in assets if a.endswith(ext)), None)
        if path is None and kind == "CSS":
            continue                              # Streamlit may inline no stylesheet link in index.html
        if path is None:
            fail(f"index.html links no {kind} asset ({ext}) to check")
        status, headers, _ = get("/" + path)
        if status != 200:
            fail(f"static asset /{path} answered {status}")
        check_headers(f"{kind} asset /{path}", status, headers, expected)
    status, headers, _ = get("/hidden-states?keras=false")
    check_headers("a deep link /hidden-states", status, headers, expected)
    status, headers, _ = get("/healthz")
    if status != 200:
        fail(f"/healthz answered {status}")
    check_headers("/healthz", status, headers, expected)
    status, headers, _ = get("/media/no-such-file.png")
    if status != 404:
        fail(f"a missing media file answered {status}, not 404")
    check_headers("an app 404 (/media/no-such-file.png)", status, headers, expected)
    # An upload past client_max_body_size: nginx answers 413 itself, from the Content-Length alone.
    conn = http.client.HTTPConnection("127.0.0.1", PROXY_PORT, timeout=30)
    conn.putrequest("POST", "/_stcore/upload_file/x/y")
    conn.putheader("Content-Length", str(64 * 1024 * 1024))
    conn.endheaders()
    resp = conn.getresponse()
    resp.read()
    conn.close()
    if resp.status != 413:
        fail(f"a 64 MB upload answered {resp.status}, not nginx's 413")
    check_headers("nginx's own 413 (upload too large)", resp.status, resp.headers, expected)
    return html


def check_inline_script_hashes(html: str, csp: str) -> None:
    allowed = [s for s in csp_directives(csp).get("script-src", []) if s.startswith("'sha256-")]
    needed = inline_script_hashes(html)
    if sorted(allowed) != sorted(needed):
        fail(f"the CSP's script-src hashes {allowed} do not match the inline scripts of the index.html this "
             f"Streamlit serves, {needed}: put those in deploy/nginx/security-headers.conf")
    print(f"  script-src hashes match index.html's {len(needed)} inline script(s)", flush=True)


# Installed before any script of the page: every CSP violation is sent to Python (exposed binding) at once,
# so none is lost to a navigation.
_CSP_WATCH = """document.addEventListener('securitypolicyviolation', e => window.__cspViolation(
    `${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} in ${e.sourceFile || '?'}:${e.lineNumber}`
    + (e.sample ? ` sample: ${e.sample}` : '')));"""


class CspWatch:
    """Collects CSP violations of every page of a browser context (events and console messages)."""

    def __init__(self, context) -> None:
        self.violations: list[str] = []
        context.expose_binding("__cspViolation", lambda source, text: self.violations.append(f"event: {text}"))
        context.add_init_script(_CSP_WATCH)
        context.on("page", self.watch)

    def watch(self, page) -> None:
        page.on("console", lambda msg: self.violations.append(f"console: {msg.text}")
                if "Content Security Policy" in msg.text else None)
        page.on("pageerror", lambda err: self.violations.append(f"page error: {err}")
                if "Content Security Policy" in str(err) or "EvalError" in str(err) else None)

    def check(self, where: str) -> None:
        if self.violations:
            unique = list(dict.fromkeys(self.violations))
            fail(f"CSP violations on {where}:\n    " + "\n    ".join(unique))


def app_pages() -> list[str]:
    """The URL path of each page: '/' for home, else the file name (README: a page's URL is its file name)."""
    names = sorted(p.stem for p in (ROOT / "pages").glob("*.py"))
    return ["/"] + [f"/{n}" for n in names if n != "home"]


def check_csp_in_browser(browser, settle, watch_runs) -> None:
    """Every page runs to the end under the CSP, with no violation; plotly draws and downloads a PNG."""
    context = browser.new_context(viewport={"width": 1400, "height": 1600}, accept_downloads=True)
    csp = CspWatch(context)
    page = context.new_page()
    watch_runs(page)
    for path in app_pages():
        start = time.perf_counter()
        page.goto(f"{PROXY}{path}?keras=false")
        settle(page, timeout=180_000)
        if page.locator('[data-testid="stException"]').count():
            fail(f"{path} shows an exception behind nginx")
        # Charts (and other lazily loaded elements) show Streamlit's skeleton until their JS chunk has loaded.
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=120_000)
        charts = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')]"
                               ".filter(el => el.querySelector('.main-svg')).length")
        print(f"  {path}: script run finished in {time.perf_counter() - start:.1f} s, {charts} chart(s) drawn",
              flush=True)
        csp.check(path)

    page.goto(f"{PROXY}/hidden-states?keras=false")
    settle(page, timeout=180_000)
    page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')]"
                           ".filter(el => el.querySelector('.main-svg') && el.data).length >= 2", timeout=120_000)
    page.screenshot(path=str(SCREENSHOT))
    plot = page.locator(".js-plotly-plot").first
    plot.scroll_into_view_if_needed()
    plot.hover()
    button = page.locator('.js-plotly-plot .modebar-btn[data-title="Download plot as a PNG"]').first
    button.wait_for(state="attached", timeout=30_000)
    try:
        with page.expect_download(timeout=60_000) as download_info:
            button.click()
        download = download_info.value
    except Exception as err:                    # playwright's TimeoutError: say what the CSP blocked, if anything
        csp.check("/hidden-states, 'Download plot as a PNG'")
        fail(f"plotly's 'Download plot as a PNG' gave no download ({type(err).__name__})")
    png = Path(download.path()).read_bytes()
    if not png.startswith(b"\x89PNG"):
        fail(f"plotly's 'Download plot as a PNG' gave {download.suggested_filename}, not a PNG")
    print(f"  plotly drew its charts; 'Download plot as a PNG' gave {download.suggested_filename} "
          f"({len(png) // 1024} KiB PNG)", flush=True)
    csp.check("/hidden-states (charts drawn, PNG downloaded)")
    print(f"  no CSP violation on {len(app_pages())} pages; screenshot {SCREENSHOT}", flush=True)
    context.close()


def check_sessions(browser, settle, watch_runs, tmp: Path) -> None:
    """6 sessions on a Keras page, sticky to one replica each and spread over both; an upload works."""
    cookies = []
    for i in range(6):
        context = browser.new_context(viewport={"width": 1400, "height": 3000})
        csp = CspWatch(context)
        page = context.new_page()
        watch_runs(page)
        start = time.perf_counter()
        page.goto(f"{PROXY}/hidden-states?units={3 + i}&steps=20")
        settle(page, timeout=300_000)
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 3",
                               timeout=120_000)
        if page.locator('[data-testid="stException"]').count():
            fail(f"session {i}: the Keras page shows an exception")
        if i == 0:          # an upload goes to the replica holding this session's state
            page.locator('[data-testid="stSidebar"]').get_by_text("upload a file", exact=True).click()
            settle(page)
            page.locator('[data-testid="stFileUploaderDropzoneInput"][accept*=".csv"]').set_input_files(
                {"name": "mine.csv", "mimeType": "text/csv", "buffer": b"\n".join(b"%d" % k for k in range(30))})
            settle(page)
            page.wait_for_function("() => document.body.innerText.includes('mine.csv (csv, 30 steps')",
                                   timeout=60_000)
            print("upload through nginx: the page shows mine.csv (30 steps)", flush=True)
        csp.check(f"session {i}'s Keras page")
        cookie = [c["value"] for c in context.cookies() if c["name"] == "rnnx_affinity"]
        if not cookie:
            fail("nginx set no affinity cookie")
        cookies.append(cookie[0])
        print(f"session {i}: complete in {time.perf_counter() - start:.1f} s, affinity {cookie[0][:8]}…",
              flush=True)
        context.close()

    by_cookie = defaultdict(set)
    for line in (tmp / "access.log").read_text().splitlines():
        cookie, upstream = line.split()[:2]
        if cookie != "-" and upstream != "-":
            by_cookie[cookie].add(upstream)
    for cookie in cookies:
        ups = by_cookie[cookie]
        if len(ups) != 1:
            fail(f"session {cookie[:8]} reached {ups}")
    used = {next(iter(by_cookie[c])) for c in cookies}
    print(f"every session stayed on one replica (websocket, uploads, static files); replicas used: {sorted(used)}")
    if len(used) != 2:
        fail("the 6 sessions all went to one replica")


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csp-only", action="store_true",
                        help="only the security headers and CSP checks, not the 6 sticky sessions")
    args = parser.parse_args()

    expected = security_headers()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        fail("nginx is not installed: apt-get install -y nginx")
    busy = [p for p in (*PORTS, PROXY_PORT) if not port_free(p)]
    if busy:
        fail(f"ports {busy} on 127.0.0.1 are in use (another try_local.py or server?)")
    sys.path.insert(0, str(ROOT / "tests"))
    from browser_support import ARTIFACTS, CHROMIUM_ARGS, ensure_chromium, settle, watch_runs
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="rnnx-nginx-"))
    shutil.copy(NGINX_DIR / "rnn-explorer.conf", tmp / "rnn-explorer.conf")
    shutil.copy(HEADERS_CONF, tmp / HEADERS_CONF.name)
    shutil.copy(NGINX_DIR / "upstreams-local.conf", tmp / "upstreams.conf")
    (tmp / "nginx.conf").write_text(NGINX_MAIN.format(tmp=tmp))
    procs, logs = [], []
    try:
        for port in PORTS:
            logs.append(log := open(ARTIFACTS / f"replica-{port}.log", "w"))  # noqa: SIM115 (closed below)
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                 "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none",
                 "--browser.gatherUsageStats", "false"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        for port in PORTS:
            wait_healthy(f"http://127.0.0.1:{port}/_stcore/health")
        test = subprocess.run([nginx, "-t", "-p", str(tmp), "-c", str(tmp / "nginx.conf")],
                              capture_output=True, text=True, timeout=60)
        if test.returncode:
            fail(f"nginx -t rejected the config:\n{test.stderr}")
        procs.append(subprocess.Popen([nginx, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"]))
        wait_healthy(PROXY + "/healthz", 30)
        print("nginx -> 2 replicas up; /healthz 200", flush=True)

        print("security headers through nginx:", flush=True)
        html = check_headers_through_nginx(expected)
        check_inline_script_hashes(html, expected["Content-Security-Policy"])

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=ensure_chromium(), args=CHROMIUM_ARGS)
            print("every page in Chromium under the CSP:", flush=True)
            check_csp_in_browser(browser, settle, watch_runs)
            if not args.csp_only:
                check_sessions(browser, settle, watch_runs, tmp)
            browser.close()
        shutil.copy(tmp / "access.log", ARTIFACTS / "nginx-access.log")
        print("try_local: all checks passed")
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as err:                     # a Playwright timeout, a dead server...: one clear line, exit 1
        raise SystemExit(f"try_local FAILED: {type(err).__name__}: {err}") from err
