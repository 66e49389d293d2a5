"""The published reports in a real browser (Debian's Chromium driven by Playwright)."""
from __future__ import annotations

import functools
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import PARAMS, ROOT, run_cli

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run installs it with apt-get install chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium); the browser test is skipped outside CI")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    _need_chromium()
    out = tmp_path_factory.mktemp("published")
    res = run_cli("run", "--out", str(out), "--params", str(PARAMS), timeout=1200)
    assert res.returncode == 0, res.stdout + res.stderr
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", out
    server.shutdown()


def test_index_links_images_and_console(served):
    from playwright.sync_api import sync_playwright

    base, out = served
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page()
        errors: list[str] = []
        foreign: list[str] = []
        page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
        page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith((base, "data:")) else None)
        page.goto(f"{base}/index.html")
        assert page.title() == "cxlab reports"
        page.screenshot(path=str(ARTIFACTS / "index.png"), full_page=True)
        studies = page.locator("section.study").count()
        assert studies == len(list(PARAMS.glob("*.yaml")))
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        assert len(hrefs) == 4 * studies
        reports = 0
        for href in hrefs:
            if href.endswith(".html"):
                resp = page.goto(href)
                assert resp is not None and resp.ok, href
                page.wait_for_load_state("load")
                images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
                assert images, f"{href} has no figures"
                assert all(done and width > 0 for done, width in images), (href, images)
                reports += 1
            else:
                resp = page.request.get(href)
                assert resp.ok, href
                assert len(resp.body()) > 100
        assert reports == 2 * studies
        browser.close()
    assert not errors, errors
    assert not foreign, f"pages fetched from the network: {foreign[:5]}"
