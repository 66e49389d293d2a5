"""Warm kernels: a fork server that has imported the study stack once forks one fresh kernel per study.

Importing pandas, matplotlib, seaborn, scipy, lifelines, statsmodels and cxlab
costs a cold kernel about 2.5 s of CPU. A run starts one *kernel server* (a
plain Python process, no kernel, no event loop, no zmq context) that imports all
of that once (:data:`WARM_MODULES`), then forks one child per study; the child
becomes an ``ipykernel`` on the connection file jupyter_client wrote, exactly as
``python -m ipykernel_launcher -f FILE`` would, but with its imports done.

Every study still runs in a new process that ran nothing before it: the server
never executes user code, so nothing (globals, rcParams, open figures, seaborn
theme, warnings filters, logging, cwd) can leak from one study into the next.
The child gets its own cwd, environment, log file, session and a reseeded
global NumPy random state (the stdlib's ``random`` reseeds itself after fork).
It starts in the state of a cold kernel (rcParams, ``sys.path``, logging,
figures: tests/test_kernels.py) except for what importing the libraries does
itself: scipy and statsmodels add warning filters for their own warning classes
(as they do in a cold kernel once the notebook imports them). Modules whose
import changes shared state (cxlab's figure modules set ``text.parse_math``)
are left for the notebook to import.

Process tree and signals: the server dies with the process that started it
(``PR_SET_PDEATHSIG``), each kernel dies with the server; the kernel manager
signals a kernel by pid and process group as it would a child of its own, and
the server reaps its children so that a dead kernel is seen as dead. Forked
pool workers share the server of the run (requests are serialised by a lock).
The server is only used by local runs; Dask workers keep cold kernels
(``CXLAB_WARM=0`` turns warm kernels off everywhere).
"""
from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1

#: What the server imports before it forks kernels: what the notebooks and cxlab import, lazily or not.
#: In order: what every kernel needs first (a kernel forked early gets a prefix of the list).
WARM_MODULES = (
    "ipykernel.kernelapp", "ipykernel.ipkernel", "IPython", "IPython.display", "numpy", "pandas", "matplotlib",
    "matplotlib.pyplot", "matplotlib.backends.backend_agg", "matplotlib_inline.backend_inline", "pydantic", "yaml",
    "cxlab", "cxlab.params", "cxlab.record", "cxlab.report", "cxlab.plots", "cxlab.exports", "cxlab.fmt",
    "cxlab.words", "cxlab.tiers", "cxlab.data", "cxlab.synth", "cxlab.synth.chunks", "cxlab.synth.customers",
    "cxlab.synth.survey", "cxlab.synth.panel", "scipy.stats", "scipy.special", "scipy.optimize",
    "seaborn", "statsmodels.regression.linear_model", "statsmodels.stats.proportion",
    "statsmodels.stats.multitest", "pingouin", "lifelines", "lifelines.statistics", "lifelines.exceptions", "pyarrow",
    "openpyxl", "cxlab.synth.drivers", "cxlab.synth.lifecycles", "ipykernel.debugger")
#: Not ``figures``: importing a figure module sets matplotlib's ``text.parse_math`` (:mod:`cxlab.plotting`),
#: which must stay a step of the notebooks that import one (it is cheap: the libraries are warm).
STUDY_PARTS = ("spec", "load", "analysis", "narrative")
INLINE = "module://matplotlib_inline.backend_inline"


def die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies; exit now if it already has."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # not glibc/musl: the lock is still not inherited
            log.debug("prctl unavailable; children will not follow their parent")
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def enabled() -> bool:
    """Warm kernels are on unless ``CXLAB_WARM=0`` (or the platform cannot fork)."""
    return os.environ.get("CXLAB_WARM", "1") != "0" and hasattr(os, "fork") and sys.platform.startswith("linux")


# -- the client side: the run and its workers ------------------------------------------------------------------

class KernelServer:
    """Handle on a running kernel server (a child of the process that created it)."""

    def __init__(self) -> None:
        import multiprocessing as mp

        self.owner = os.getpid()
        self.lock = mp.get_context("fork").Lock()  # forked workers inherit it
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from cxlab.batch.kernels import serve; serve()", str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True)
        self._broken = mp.get_context("fork").Value("b", 0)  # shared with the forked workers
        self.eager = True
        """Fork at once even while still importing (one study: it imports the rest itself). With more
        studies to run, kernels wait for the full warm-up: no two processes import the same modules."""

    def fork_kernel(self, argv: list[str], cwd: str, env: dict[str, str], log_path: str,
                    timeout: float = 120) -> int | None:
        """Fork a kernel running ``ipykernel_launcher`` ``argv``; its pid, or None (then start a cold one)."""
        if self._broken.value or not self.alive():
            return None
        request = json.dumps({"argv": argv, "cwd": cwd, "env": env, "log": log_path, "eager": self.eager}
                             ).encode() + b"\n"
        if not self.lock.acquire(timeout=timeout):
            return None
        try:
            os.write(self.proc.stdin.fileno(), request)  # type: ignore[union-attr]
            line = _read_line(self.proc.stdout.fileno(), timeout)  # type: ignore[union-attr]
        except OSError:
            line = b""
        finally:
            self.lock.release()
        try:
            pid = int(json.loads(line)["pid"]) if line else 0
        except (ValueError, KeyError, TypeError):
            pid = 0
        if pid <= 0:
            # A server that answers nothing in time or nonsense is stopped (it must not fork late, onto the
            # connection file of a kernel started cold instead) and not asked again by any process of the run.
            self._broken.value = 1
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return None
        return pid

    def alive(self) -> bool:
        """Whether the server runs (asked by pid: in a forked worker it is not a child, ``poll`` would lie)."""
        if os.getpid() == self.owner:
            return self.proc.poll() is None
        try:
            os.kill(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def close(self) -> None:
        """Stop the server (its kernels die with it). Only the process that started it does this."""
        if os.getpid() != self.owner:
            return
        self.proc.kill()  # at once, even mid-import; its kernels (shut down by their managers by now) follow it
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            pipe.close()  # type: ignore[union-attr]


def _read_line(fd: int, timeout: float) -> bytes:
    import select

    data, deadline = b"", time.monotonic() + timeout
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return b""
        chunk = os.read(fd, 4096)
        if not chunk:
            return b""
        data += chunk
    return data


_SERVER: KernelServer | None = None


def start() -> KernelServer | None:
    """Start this process's kernel server now (it imports in the background); None when warm kernels are off."""
    global _SERVER
    if _SERVER is None and enabled():
        _SERVER = KernelServer()
    return _SERVER


def current() -> KernelServer | None:
    """The kernel server of this process or of the run that forked it, if any."""
    return _SERVER


def stop() -> None:
    """Stop this process's kernel server, if it started one."""
    global _SERVER
    if _SERVER is not None and _SERVER.owner == os.getpid():
        _SERVER.close()
        _SERVER = None


class ForkedKernel:
    """The ``subprocess.Popen`` face of a kernel forked by the server (not a child of this process)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                state = "X"
            if state in ("Z", "X"):  # the server reaps its children: gone, or about to be
                self.returncode = -signal.SIGKILL if state == "X" else 1
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.02)
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


async def launch(manager: Any, kernel_cmd: list[str], kw: dict[str, Any], log_path: Path) -> bool:
    """Have the server fork the kernel of ``manager`` (a jupyter_client KernelManager); False: launch it cold."""
    server = current()
    if server is None or kernel_cmd[1:3] != ["-m", "ipykernel_launcher"]:
        return False
    if os.path.realpath(kernel_cmd[0]) != os.path.realpath(sys.executable):
        return False  # a kernel spec on another interpreter: the server's imports are not its own
    args = kernel_cmd[kernel_cmd.index("ipykernel_launcher") + 1:]
    env = dict(kw.get("env") or os.environ)
    cwd = str(kw.get("cwd") or os.getcwd())
    import asyncio

    pid = await asyncio.get_running_loop().run_in_executor(None, server.fork_kernel, args, cwd, env, str(log_path))
    if pid is None:
        log.debug("kernel server unavailable; starting a cold kernel")
        return False
    prov = manager.provisioner
    prov.process = ForkedKernel(pid)
    prov.pid = prov.pgid = pid  # the kernel leads its own session, as a launched one does
    prov.cwd = cwd
    manager._reconcile_connection_info(prov.connection_info)
    return True


# -- the server side ---------------------------------------------------------------------------------------------

def _warm_list() -> list[str]:
    from cxlab.registry import STUDIES
    return [*WARM_MODULES, *(f"{s.package}.{part}" for s in STUDIES.values() for part in STUDY_PARTS)]


def _reap(signum: int, frame: Any) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class _Requests:
    """Request lines on stdin, read without Python's buffering so that ``pending`` can ask select."""

    def __init__(self) -> None:
        self.buffer, self.eof = b"", False

    def _read(self, timeout: float | None) -> None:
        import select

        if select.select([0], [], [], timeout)[0]:
            chunk = os.read(0, 1 << 16)
            self.buffer += chunk
            self.eof = not chunk

    def pending(self) -> bool:
        if b"\n" not in self.buffer and not self.eof:
            self._read(0)
        return b"\n" in self.buffer or self.eof

    def eager(self) -> bool:
        """Whether the pending request may be served before the warm-up ends (and end of input is)."""
        if b"\n" not in self.buffer:
            return self.eof
        try:
            return bool(json.loads(self.buffer.split(b"\n", 1)[0]).get("eager", True))
        except ValueError:
            return True

    def next(self) -> bytes | None:
        """The next request line (waiting for it), or None at end of input."""
        while b"\n" not in self.buffer and not self.eof:
            self._read(None)
        if b"\n" not in self.buffer:
            return None
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line


def _serve_one(requests: _Requests, server: int) -> bool:
    """Fork a kernel for the next request; False at end of input."""
    line = requests.next()
    if line is None:
        return False
    try:
        request = json.loads(line)
    except ValueError:
        os.write(1, b'{"pid": 0}\n')
        return True
    signal.signal(signal.SIGCHLD, _reap)  # from the first fork on: a dead kernel must not linger as a zombie
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        _become_kernel(request, server)  # never returns
    os.write(1, json.dumps({"pid": pid}).encode() + b"\n")
    return True


def serve() -> None:
    """Main of the kernel server: import the stack, fork a kernel per request line on stdin.

    An eager request (a run of one study) that arrives while the server is still importing is
    served at once and ends the warm-up: its kernel gets what is imported so far and imports what
    its notebook needs itself, as a cold one would.
    """
    import importlib

    parent = int(sys.argv[1])
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's to handle; it stops us by closing stdin
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # as ipykernel_launcher does; the kernel's shell puts '' back
    if sys.modules.get("rfc3987_syntax", 0) is None:  # cxlab.batch's import-time shortcut is not the kernel's
        del sys.modules["rfc3987_syntax"]
    os.environ.setdefault("MPLBACKEND", INLINE)  # what ipykernel sets before a notebook imports matplotlib
    requests, me = _Requests(), os.getpid()
    for name in _warm_list():
        if requests.pending() and requests.eager():
            break  # one study, served now; importing more would only take the CPU its kernel needs
        try:
            importlib.import_module(name)
        except Exception:  # an optional dependency missing: the kernel imports it (or fails) itself
            continue
    while _serve_one(requests, me):
        pass
    os._exit(0)  # the kernels, if any are left, die with us (PR_SET_PDEATHSIG)


def _become_kernel(request: dict[str, Any], server: int) -> None:
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setsid()
        die_with_parent(server)
        out = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        for fd in map(int, os.listdir("/proc/self/fd")):
            if fd > 2:
                try:
                    os.close(fd)
                except OSError:
                    pass
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ["JPY_PARENT_PID"] = str(server)
        if "numpy" in sys.modules:  # a fresh global random state, as a new process would have
            sys.modules["numpy"].random.seed()
        import importlib.util
        sys.argv = [importlib.util.find_spec("ipykernel_launcher").origin or "ipykernel_launcher", *request["argv"]]
        from ipykernel import kernelapp
        kernelapp.launch_new_instance(argv=request["argv"])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001  the traceback goes to the kernel log
        import traceback
        traceback.print_exc()
    finally:
        try:
            import atexit
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
