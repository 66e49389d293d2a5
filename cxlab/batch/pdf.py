"""A PDF of a report, printed by headless Chromium when it is installed (skipped otherwise)."""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
        "--no-pdf-header-footer")


def chromium() -> str | None:
    """The Chromium executable, or None (``CXLAB_PDF=0`` turns PDF printing off)."""
    if os.environ.get("CXLAB_PDF", "1") == "0":
        return None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def skipped_line() -> str:
    """Why no PDF was printed, in one line (turned off, or Chromium missing)."""
    if os.environ.get("CXLAB_PDF", "1") == "0":
        return "PDF reports skipped: turned off by CXLAB_PDF=0."
    return "PDF reports skipped: Chromium is not installed (apt-get install chromium prints them)."


def print_pdf(page: str, timeout: float = 120) -> bytes | None:
    """The PDF of an HTML page, or None when Chromium is missing or fails (logged, never raised)."""
    exe = chromium()
    if exe is None:
        return None
    with tempfile.TemporaryDirectory(prefix="cxlab-pdf-") as tmp:
        src, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        src.write_text(page, encoding="utf-8")
        cmd = [exe, *ARGS, f"--user-data-dir={tmp}/profile", f"--print-to-pdf={out}", src.as_uri()]
        try:
            subprocess.run(cmd, capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("PDF not printed: %s", exc)
            return None
        if not out.is_file() or out.stat().st_size == 0:
            log.warning("PDF not printed: Chromium wrote nothing")
            return None
        return out.read_bytes()
