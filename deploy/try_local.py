"""Try the replicated deployment on one machine: 2 replicas behind nginx, opened in Chromium.

    python deploy/try_local.py          # needs Debian's nginx (apt-get install nginx) and /usr/bin/chromium

Docker engines do not run on the development machine, so this runs what docker-compose.yml runs, without
containers: two ``streamlit run app.py`` on 127.0.0.1:8601 and :8602 (what each app container runs), and
Debian's nginx with deploy/nginx/rnn-explorer.conf, the very file compose mounts, with
deploy/nginx/upstreams-local.conf as its upstreams.conf, listening on 127.0.0.1:8080. Then it checks, through
nginx only:
  * 6 browser sessions (own cookies each) open a Keras page and finish it (script state notRunning, charts drawn);
  * every request of a session, its websocket included, reached one replica (nginx's access log, $upstream_addr),
    and the sessions were spread over both replicas;
  * an upload (an HTTP POST to the replica that holds the session) and the rerun it triggers work through nginx;
  * /healthz answers.
Loopback only; every wait is bounded; everything started here is stopped at the end.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser_support import ARTIFACTS, CHROMIUM_ARGS, ensure_chromium, settle, watch_runs  # noqa: E402

PORTS = (8601, 8602)
PROXY = "http://127.0.0.1:8080"
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


def wait_healthy(url: str, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not become healthy")


def main() -> None:
    from playwright.sync_api import sync_playwright

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    ARTIFACTS.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="rnnx-nginx-"))
    shutil.copy(ROOT / "deploy/nginx/rnn-explorer.conf", tmp / "rnn-explorer.conf")
    shutil.copy(ROOT / "deploy/nginx/upstreams-local.conf", tmp / "upstreams.conf")
    (tmp / "nginx.conf").write_text(NGINX_MAIN.format(tmp=tmp))
    procs = []
    try:
        for port in PORTS:
            log = open(ARTIFACTS / f"replica-{port}.log", "w")
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                 "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none",
                 "--browser.gatherUsageStats", "false"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        for port in PORTS:
            wait_healthy(f"http://127.0.0.1:{port}/_stcore/health")
        subprocess.run([nginx, "-t", "-p", str(tmp), "-c", str(tmp / "nginx.conf")], check=True)
        procs.append(subprocess.Popen([nginx, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"]))
        wait_healthy(PROXY + "/healthz", 30)
        print("nginx -> 2 replicas up; /healthz 200", flush=True)

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=ensure_chromium(), args=CHROMIUM_ARGS)
            cookies = []
            for i in range(6):
                context = browser.new_context(viewport={"width": 1400, "height": 3000})
                page = context.new_page()
                watch_runs(page)
                start = time.perf_counter()
                page.goto(f"{PROXY}/hidden-states?units={3 + i}&steps=20")
                settle(page, timeout=300_000)
                page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 3",
                                       timeout=120_000)
                assert page.locator('[data-testid="stException"]').count() == 0
                if i == 0:          # an upload goes to the replica holding this session's state
                    page.locator('[data-testid="stSidebar"]').get_by_text("upload a file", exact=True).click()
                    settle(page)
                    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
                        {"name": "mine.csv", "mimeType": "text/csv", "buffer": b"\n".join(b"%d" % k for k in range(30))})
                    settle(page)
                    page.wait_for_function("() => document.body.innerText.includes('mine.csv (csv, 30 steps')",
                                           timeout=60_000)
                    print("upload through nginx: the page shows mine.csv (30 steps)", flush=True)
                cookie = [c["value"] for c in context.cookies() if c["name"] == "rnnx_affinity"]
                assert cookie, "nginx set no affinity cookie"
                cookies.append(cookie[0])
                print(f"session {i}: complete in {time.perf_counter() - start:.1f} s, affinity {cookie[0][:8]}…",
                      flush=True)
                context.close()
            browser.close()

        by_cookie = defaultdict(set)
        for line in (tmp / "access.log").read_text().splitlines():
            cookie, upstream = line.split()[:2]
            if cookie != "-" and upstream != "-":
                by_cookie[cookie].add(upstream)
        for cookie in cookies:
            ups = by_cookie[cookie]
            assert len(ups) == 1, f"session {cookie[:8]} reached {ups}"
        used = {next(iter(by_cookie[c])) for c in cookies}
        print(f"every session stayed on one replica (websocket, uploads, static files); replicas used: {sorted(used)}")
        assert len(used) == 2, "the 6 sessions all went to one replica"
        shutil.copy(tmp / "access.log", ARTIFACTS / "nginx-access.log")
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
