"""PDFs of the reports, printed by headless Chromium when it is installed (skipped otherwise).

A run prints every PDF in one browser (:class:`Browser`): started when the run
starts executing, driven over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: no port, nothing to fetch), one tab for every report,
closed when the run ends. Launching Chromium costs about 0.7 s; a page printed in
the running browser's one tab about 0.25 s. The browser dies with the run
(``PR_SET_PDEATHSIG``). Should the browser fail, a page is printed by a
one-shot Chromium of its own (:func:`print_once`, printing as the run's browser does); failures are logged,
never raised.

The page reads nothing but itself: a report embeds its figures and styles, so every
request the page makes other than for the report's own file (an ``<img>`` or
``<iframe>`` on ``file:///etc/passwd`` that a label in the data might carry, a web
address) is failed by the browser (DevTools ``Fetch`` domain), and a Content
Security Policy in the page (:func:`confined`) refuses them too.
The browser's profile, page files and its own temporary files (``TMPDIR``) live in a
folder named with the run's process id (``cxlab-pdf-<pid>-*`` in the temporary folder),
removed when the browser closes;
a folder left by a run that was killed is removed by the next browser (:func:`sweep`).

What a printed page looks like (:func:`for_print`, :data:`FIT_TABLES`): every ``<details>`` is open (the
provenance box prints expanded); each page carries a header with the study's title and run date and a footer
"Page x of y" (Chromium's ``headerTemplate`` / ``footerTemplate``, filled from the report's ``cxlab-study``
and ``cxlab-run`` meta elements); before printing, the browser measures every table in print layout and one
wider than a portrait page gets a landscape page (``page: wide`` in ``report.css``), and smaller type when
even that is too narrow, so no column is cut off.
"""
from __future__ import annotations

import base64
import html
import json
import logging
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from . import tempdirs

log = logging.getLogger(__name__)

ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions")
PREFIX = "cxlab-pdf-"
#: What a printed report may load: its own inline styles and the data: URIs of its figures; nothing else
POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline' data:; font-src data:; "
          "frame-src 'none'; object-src 'none'; form-action 'none'")


#: Width of the printed text block in CSS pixels: US Letter (8.5 x 11 in, 96 px an inch) less the 12 mm side
#: margins of ``@page`` in ``report.css``, portrait and landscape.
PORTRAIT_PX, LANDSCAPE_PX = 816 - 2 * 12 * 96 / 25.4, 1056 - 2 * 12 * 96 / 25.4
#: Smallest type a table is shrunk to, in CSS px, when a landscape page is still too narrow at 10 px.
SMALLEST_TABLE_PX = 6.5

#: Run in the page (DevTools, print media emulated) before printing: each table's narrowest width in print
#: layout (a hidden copy laid out at ``min-content``); one wider than a portrait page is marked
#: ``cxlab-print-wide`` (a landscape page), and shrunk when it is wider than a landscape page too.
#: Returns how many tables it marked.
FIT_TABLES = """(() => {
  let marked = 0;
  for (const t of document.querySelectorAll('table')) {
    if (t.closest('.cxlab-provenance') || t.closest('table') !== t) continue;
    const copy = t.cloneNode(true);  // keeps its id: the table's own styles (nowrap figures) apply to it too
    copy.style.cssText = 'position:absolute;left:0;top:0;visibility:hidden;width:min-content;max-width:none;' +
                         'display:table;table-layout:auto';
    t.parentNode.insertBefore(copy, t);
    const width = copy.getBoundingClientRect().width;
    copy.remove();
    if (width <= %(portrait).1f) continue;
    t.classList.add('cxlab-print-wide');
    marked += 1;
    if (width > %(landscape).1f) {
      const size = parseFloat(getComputedStyle(t).fontSize);
      t.style.fontSize = Math.max(%(smallest).1f, Math.floor(10 * size * %(landscape).1f / width) / 10) + 'px';
    }
  }
  return marked;
})()""" % {"portrait": PORTRAIT_PX - 2, "landscape": LANDSCAPE_PX - 2, "smallest": SMALLEST_TABLE_PX}

_DETAILS = re.compile(r"<details\b(?![^>]*\bopen\b)", re.IGNORECASE)
_META = re.compile(r"<meta\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'\b(name|content)="([^"]*)"', re.IGNORECASE)


def for_print(page: str) -> str:
    """The page as it prints: every ``<details>`` open (the provenance box, a folded traceback)."""
    return _DETAILS.sub("<details open", page)


def header_footer(page: str) -> dict[str, Any]:
    """``Page.printToPDF`` options for the page's header (study title, run date) and footer (page x of y).

    The title and date come from the report's ``<meta name="cxlab-study">`` and ``<meta name="cxlab-run">``
    (escaped there; written into the templates as they are, so they stay escaped); the template's own
    ``pageNumber`` and ``totalPages`` classes number the pages.
    """
    found = {}
    for tag in _META.findall(page[:200_000]):  # in the head; the sanitiser may have reordered the attributes
        attrs = {k.lower(): v for k, v in _ATTR.findall(tag)}
        if attrs.get("name", "").startswith("cxlab-"):
            found[attrs["name"][len("cxlab-"):]] = attrs.get("content", "")
    title = found.get("study") or html.escape(_title(page))
    run = found.get("run", "")
    style = "font: 8px system-ui, sans-serif; color: #59636e; width: 100%; padding: 0 12mm; box-sizing: border-box; display: flex;"
    header = (f'<div style="{style}"><span style="flex: 1; overflow: hidden; white-space: nowrap; '
              f'text-overflow: ellipsis">{title}</span><span>{"Run " + run if run else ""}</span></div>')
    footer = (f'<div style="{style}"><span style="flex: 1">{title}</span>'
              '<span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>')
    return {"displayHeaderFooter": True, "headerTemplate": header, "footerTemplate": footer,
            "preferCSSPageSize": True, "printBackground": True}


def _title(page: str) -> str:
    match = re.search(r"<title>(.*?)</title>", page, re.IGNORECASE | re.DOTALL)
    return html.unescape(match.group(1)).strip() if match else ""


def confined(page: str) -> str:
    """The page with :data:`POLICY` as its first element: nothing it holds loads a file or an address."""
    meta = f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
    head = re.search(r"<head\b[^>]*>", page, re.IGNORECASE)
    if head is None:
        return meta + page
    return page[:head.end()] + meta + page[head.end():]


def sweep(tmp_root: str | None = None) -> None:
    """Remove the profile folders of runs that are gone (killed: their own cleanup never ran).

    A folder is ``cxlab-pdf-<pid>-*``; it is left alone while process ``<pid>`` lives, and when it
    is not a real folder of this user (a link, another user's) (:func:`.tempdirs.sweep`).
    """
    tempdirs.sweep(PREFIX, tmp_root)


def _folder() -> str:
    return str(tempdirs.owned_folder(PREFIX))


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


GONE = {"Inspector.detached", "Inspector.targetCrashed", "Target.detachedFromTarget", "Target.targetCrashed"}


class BrowserError(Exception):
    """The browser died, answered an error, or took too long."""


class Browser:
    """One headless Chromium driven over ``--remote-debugging-pipe`` (fd 3 commands, fd 4 replies, NUL-separated)."""

    def __init__(self, exe: str, timeout: float = 120) -> None:
        from .kernels import die_with_parent

        sweep()
        self.timeout, self.tmp = timeout, _folder()
        self.blocked: list[str] = []  # requests the pages made and the browser failed
        to_browser, self._cmd = os.pipe()
        self._reply, from_browser = os.pipe()
        parent = os.getpid()

        def child() -> None:  # in the forked child, before exec
            os.setpgid(0, 0)  # its own process group: it and every process it starts are stopped together
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)
            die_with_parent(parent)
            os.nice(10)  # it starts while kernels run: their CPU first, the browser's start in the slack

        try:
            self.proc = subprocess.Popen(
                [exe, *ARGS, f"--user-data-dir={self.tmp}/profile", "--remote-debugging-pipe", "about:blank"],
                pass_fds=(3, 4), preexec_fn=child, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, env=dict(os.environ, TMPDIR=self.tmp))  # its own temporary files inside
        except (OSError, subprocess.SubprocessError) as exc:   # not started: nothing of it may stay behind
            os.close(self._cmd)
            os.close(self._reply)
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise BrowserError(f"Chromium did not start: {exc}") from None
        finally:
            os.close(to_browser)     # the browser's ends: its own after the fork
            os.close(from_browser)
        self._buffer, self._id, self._events = b"", 0, []  # type: tuple[bytes, int, list[dict[str, Any]]]
        self._session: str | None = None
        self._pages = 0
        self._page_url = ""

    def _receive(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._reply], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise BrowserError("Chromium did not answer in time")
            chunk = os.read(self._reply, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium exited")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def _send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> int:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._cmd, json.dumps(message).encode() + b"\0")
        except OSError as exc:
            raise BrowserError(f"Chromium exited: {exc}") from None
        return self._id

    def _event(self, event: dict[str, Any]) -> None:
        """Keep an event; a paused request is answered at once: the report's own file goes on, all else fails."""
        if event.get("method") != "Fetch.requestPaused":
            self._events.append(event)
            return
        params = event.get("params", {})
        url = params.get("request", {}).get("url", "")
        if url == self._page_url:
            self._send("Fetch.continueRequest", {"requestId": params.get("requestId")}, event.get("sessionId"))
        else:
            self.blocked.append(url)
            log.info("PDF: the report asked for %s; blocked", url[:200])
            self._send("Fetch.failRequest", {"requestId": params.get("requestId"), "errorReason": "BlockedByClient"},
                       event.get("sessionId"))

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        """Send one command and return its result (events that arrive meanwhile are kept or answered)."""
        wanted = self._send(method, params, session)
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == wanted:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            if "method" in reply:
                self._event(reply)

    def _wait_event(self, name: str, session: str) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            for event in self._events:
                ours = event.get("sessionId") == session or event.get("params", {}).get("sessionId") == session
                if ours and event.get("method") in GONE:
                    self._events.clear()
                    raise BrowserError(f"the page's renderer is gone: {event.get('params')}")
                if event.get("method") == name and event.get("sessionId") == session:
                    self._events.clear()
                    return
            reply = self._receive(deadline)
            if "method" in reply:
                self._event(reply)

    def _tab(self) -> str:
        """The session of the one tab every page is printed in (opened on first use): a page loaded in a
        running renderer costs about half of one in a new tab."""
        if self._session is None:
            target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            self._session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            self.call("Page.enable", session=self._session)
            self.call("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, session=self._session)
        return self._session

    def print_page(self, page: str) -> bytes:
        """The PDF of one HTML page (written to a file in the browser's folder and opened from there)."""
        self._pages += 1
        src = Path(self.tmp) / f"report-{self._pages}.html"  # a new address: never a reload of the last page
        src.write_text(confined(for_print(page)), encoding="utf-8")
        self._page_url = src.as_uri()
        try:
            session = self._tab()
            self._events.clear()
            self.call("Emulation.setEmulatedMedia", {"media": "print"}, session=session)
            self.call("Page.navigate", {"url": src.as_uri()}, session=session)
            self._wait_event("Page.loadEventFired", session)
            fitted = self.call("Runtime.evaluate", {"expression": FIT_TABLES, "returnByValue": True},
                               session=session)
            log.debug("PDF: %s tables printed on landscape pages", fitted.get("result", {}).get("value"))
            data = self.call("Page.printToPDF", header_footer(page), session=session)["data"]
        finally:
            src.unlink(missing_ok=True)
        return base64.b64decode(data)

    def close(self) -> None:
        """Stop the browser: SIGKILL to its process group (a graceful ``Browser.close`` takes 0.6 s), then its
        folder, once no process of the group is left to write there (its network service saved its state into
        the profile after the folder was removed)."""
        import signal
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:  # the group is gone already
            self.proc.kill()
        self.proc.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except OSError:  # no process left in the group
                break
            time.sleep(0.01)
        for fd in (self._cmd, self._reply):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)


_BROWSER: Browser | None = None


def start_browser() -> None:
    """Launch this process's browser now (it starts while the studies run); nothing without Chromium."""
    global _BROWSER
    exe = chromium()
    if _BROWSER is None and exe is not None:
        try:
            _BROWSER = Browser(exe)
        except OSError as exc:
            log.warning("Chromium did not start: %s", exc)


def stop_browser() -> None:
    """Close this process's browser, if one was started."""
    global _BROWSER
    if _BROWSER is not None:
        _BROWSER.close()
        _BROWSER = None


def forget_inherited() -> None:
    """In a forked worker: close the descriptors of the run's browser (the run keeps using it)."""
    global _BROWSER
    if _BROWSER is not None:
        for fd in (_BROWSER._cmd, _BROWSER._reply):
            try:
                os.close(fd)
            except OSError:
                pass
        _BROWSER = None


def print_pdf(page: str, timeout: float = 120) -> bytes | None:
    """The PDF of an HTML page, or None when Chromium is missing or fails (logged, never raised)."""
    if _BROWSER is not None:
        try:
            return _BROWSER.print_page(page)
        except (BrowserError, OSError, KeyError, ValueError) as exc:
            log.warning("PDF browser failed (%s); printing with a new Chromium", exc)
            stop_browser()
    return print_once(page, timeout)


def print_once(page: str, timeout: float = 120) -> bytes | None:
    """The PDF of an HTML page printed by a Chromium of its own, started for this page and closed after it,
    or None (logged). It prints as the run's browser does (:meth:`Browser.print_page`: the same header and
    footer, landscape pages for wide tables, requests blocked)."""
    exe = chromium()
    if exe is None:
        return None
    try:
        browser = Browser(exe, timeout)
    except OSError as exc:
        log.warning("PDF not printed: Chromium did not start: %s", exc)
        return None
    try:
        return browser.print_page(page)
    except (BrowserError, OSError, KeyError, ValueError) as exc:
        log.warning("PDF not printed: %s", exc)
        return None
    finally:
        browser.close()
