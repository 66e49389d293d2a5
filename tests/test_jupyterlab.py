"""JupyterLab serves the notebooks with the project's `cxlab` kernel (real server, REST API)."""
from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
import urllib.request

from conftest import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def test_jupyterlab_lists_notebooks_and_cxlab_kernel(tmp_path):
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
           "--ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT / 'notebooks'}",
           "--ServerApp.port_retries=0"]
    env_home = {"JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "HOME": str(tmp_path)}
    import os
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **env_home})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                _get(f"{base}/api/status?token={token}")
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise AssertionError("JupyterLab did not start: " + proc.stderr.read().decode()[-2000:])
                time.sleep(0.3)
        # without the token the API refuses
        try:
            urllib.request.urlopen(f"{base}/api/contents", timeout=5)
            raise AssertionError("API answered without a token")
        except urllib.error.HTTPError as err:
            assert err.code == 403
        contents = _get(f"{base}/api/contents?token={token}")
        names = {item["name"] for item in contents["content"]}
        assert {p.name for p in (ROOT / "notebooks").glob("*.ipynb")} <= names
        assert "loyalty.ipynb" in names
        specs = _get(f"{base}/api/kernelspecs?token={token}")
        assert "cxlab" in specs["kernelspecs"], "run `make setup` to register the cxlab kernel"
        argv = specs["kernelspecs"]["cxlab"]["spec"]["argv"]
        assert argv[0].startswith(str(ROOT / ".venv")) or argv[0] == sys.executable
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_make_lab_as_the_readme_says(tmp_path):
    """`make lab PORT=...` itself (as root too: the Makefile adds --allow-root), fetched at /lab, then stopped."""
    import os
    import shutil
    import signal
    if shutil.which("make") is None:
        import pytest
        pytest.skip("make is not installed")
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_TOKEN": token, "HOME": str(tmp_path), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")}
    proc = subprocess.Popen(["make", "lab", f"PORT={port}"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=5) as resp:
                    body = resp.read().decode()
                    assert resp.status == 200
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    out = proc.stdout.read().decode()[-3000:] if proc.poll() is not None else ""
                    raise AssertionError(f"make lab did not serve /lab: {out}")
                time.sleep(0.5)
        assert "JupyterLab" in body
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
