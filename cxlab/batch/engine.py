"""How a notebook is executed: papermill's nbclient engine, on a kernel manager and client tuned for runs.

Three adjustments to papermill, nbclient and jupyter_client, at the seams they offer (a
papermill engine, a kernel manager class, a kernel client class; the manager overrides two
private methods of jupyter_client 8, the client calls one and falls back without it); none
changes what a notebook computes or shows:

- the executed notebook is written once, when execution ends, not before and after every
  cell (:func:`engine`);
- the kernel is started on the ipc transport, forked warm by the run's kernel server when
  there is one (:mod:`.kernels`), its output going to ``kernel.log``;
- start-up and shut-down wait for the kernel, not for fixed delays: jupyter_client waits
  0.2 s of silence on IOPub after the kernel answered, and polls a dying kernel every
  0.1 s; a finished study's kernel is killed at once (its results and outputs are in by
  then), where a graceful shutdown waits for the kernel's own exit.
"""
from __future__ import annotations

import functools
import time
from pathlib import Path
from queue import Empty
from typing import Any, Callable

from jupyter_client.asynchronous import AsyncKernelClient

from . import kernels

KERNEL_LOG = "kernel.log"
ENGINE = "cxlab"
"""The papermill engine of a run: nbclient's, writing the executed notebook once (:func:`engine`)."""
QUIET = 0.01
"""Seconds of silence on IOPub that end the start-up flush (jupyter_client waits 0.2 s)."""


@functools.lru_cache(maxsize=1)
def engine() -> str:
    """Register, once per process, papermill's nbclient engine writing the notebook once, when it ends.

    papermill writes the whole notebook (serialised and validated) before and after every cell,
    about 8 ms each time: a third of a second per study that nobody reads, since the notebook is
    read only when it ends. This engine leaves the writing to papermill's own write when
    execution returns (after the last cell or a failing one) and writes the notebook itself only
    when execution is cut short (a timeout, a dead kernel): the notebook as far as it ran is kept.
    """
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
    from papermill.iorw import write_ipynb

    class SavedOnce(NotebookExecutionManager):
        def save(self, **kwargs: Any) -> None:
            pass  # not per cell: written once, by papermill when execution returns, else by Engine below

    class Engine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb: Any, kernel_name: str, output_path: str | None = None,
                             progress_bar: bool = False, log_output: bool = False, autosave_cell_every: int = 30,
                             **kwargs: Any) -> Any:
            manager = SavedOnce(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                                 autosave_cell_every=autosave_cell_every)
            manager.notebook_start()
            returned = False
            try:
                cls.execute_managed_notebook(manager, kernel_name, log_output=log_output, **kwargs)
                returned = True
            finally:
                manager.cleanup_pbar()
                manager.notebook_complete()
                if not returned and output_path:
                    write_ipynb(manager.nb, output_path)
            return manager.nb

    papermill_engines.register(ENGINE, Engine)
    return ENGINE


class QuickStartClient(AsyncKernelClient):
    """jupyter_client's asynchronous client, whose wait for a ready kernel ends when the kernel is ready.

    The protocol is jupyter_client's: ask ``kernel_info`` until the kernel replies on shell and a
    message arrives on IOPub (so IOPub is connected and no output can be lost), then drain IOPub;
    the drain ends after :data:`QUIET` seconds of silence instead of 0.2 s (nbclient ignores any
    message that is not about the cell it runs).
    """

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        if not hasattr(self, "_handle_kernel_info_reply"):  # a jupyter_client other than 8.x: its own wait
            return await super().wait_for_ready(timeout)
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass  # IOPub not connected yet: ask again
                else:
                    self._handle_kernel_info_reply(reply)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while True:
            try:
                await self.iopub_channel.get_msg(timeout=QUIET)
            except Empty:
                return


SOCKET_NAME = "k"
"""The kernel's ipc sockets are ``<sock_dir>/k-<n>``: a short name, for Unix's 107-byte socket paths."""


def ipc_kernel_manager(sock_dir: Path) -> type:
    """A kernel manager class on the ipc transport, its sockets in ``sock_dir``.

    ipc needs no TCP ports (parallel kernel starts cannot race for one) and
    spares the "running over TCP without encryption" warning. The connection file
    (``kernel.json``, the kernel's key) is in ``sock_dir`` too. The kernel's own
    stdout and stderr (its log lines, tracebacks on interrupt or timeout) go to
    ``sock_dir/kernel.log``, never to the terminal; a failed study keeps them.
    Its clients are :class:`QuickStartClient`; a dying kernel is polled every 10 ms.
    """
    from jupyter_client.manager import AsyncKernelManager

    class IpcKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("connection_file", str(sock_dir / "kernel.json"))  # not tmp*.json beside it: a killed
            # run's is removed with its work folder (:func:`.tempdirs.sweep`)
            kwargs.setdefault("client_class", f"{__name__}.QuickStartClient")
            super().__init__(**kwargs)
            self.ip = str(sock_dir / SOCKET_NAME)

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            if await kernels.launch(self, kernel_cmd, kw, sock_dir / KERNEL_LOG):
                return  # forked, imports done, by the run's kernel server
            with open(sock_dir / KERNEL_LOG, "ab") as log_file:  # the child keeps its own copy
                kw["stdout"] = kw["stderr"] = log_file
                await super()._async_launch_kernel(kernel_cmd, **kw)

        async def _async_wait(self, pollinterval: float = 0.01) -> None:
            await super()._async_wait(pollinterval=pollinterval)

    return IpcKernelManager


def execute_notebook(notebook: str, executed: Path, parameters: dict[str, Any], *, cwd: str,
                     timeout: float | None, work: Path, on_kernel_ready: Callable[[], None] | None = None) -> Any:
    """Run ``notebook`` with ``parameters`` into ``executed`` with papermill, in a kernel whose sockets and log
    are in ``work``, and return the executed notebook; raises what papermill raises for a failing notebook
    (``executed`` then holds the notebook as far as it ran).

    ``on_kernel_ready`` is called once the kernel answers, before the first cell (nbclient's
    ``on_notebook_start``): this thread's own imports for the run (papermill, the kernel spec,
    IPython) are done by then, so work started there in another thread never imports the same
    package at the same time (CPython can then fail an import with ``KeyError``).
    """
    import papermill as pm

    hook = None if on_kernel_ready is None else (lambda **_: on_kernel_ready())
    return pm.execute_notebook(notebook, str(executed), parameters=parameters, kernel_name="python3", cwd=cwd,
                               progress_bar=False, log_output=False, engine_name=engine(), execution_timeout=timeout,
                               kernel_manager_class=ipc_kernel_manager(work), shutdown_kernel="immediate",
                               on_notebook_start=hook)
