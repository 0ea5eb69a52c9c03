"""Warm kernels: a fresh Jupyter kernel per job, forked from a pre-imported zygote.

Starting a Python kernel and importing pandas, scikit-learn, seaborn and this package takes
a few seconds per notebook, more than many of the report notebooks compute. Re-using one
kernel across jobs would save that, but lets state of one region's notebook (module globals,
caches, ``pd.set_option``, open files) reach the next one.

This module keeps the isolation of a fresh kernel and drops the start-up cost: each batch
worker owns a *zygote*, a Python process started once with the kernels' environment that
only imports the libraries (:data:`PRELOAD`) and then waits. For every job it ``fork()``-s a
child that becomes an ordinary IPython kernel (``IPKernelApp``, the code
``python -m ipykernel_launcher`` runs) on the job's connection file, working directory and
environment. The zygote never runs notebook code, so every kernel starts from the same
import-only state, as a new process would, only without paying for the imports; the kernel
exits when its job ends. Nothing of one job can reach another, because no two jobs ever share
a process. tests/test_kernels.py proves it: the same jobs give identical ``metrics.json`` and
cell outputs with warm and with fresh kernels, and a notebook that tampers with module state,
options and files in one job leaves no trace in the next job of the same worker. How each
kernel really started (``"warm"`` or ``"fresh"``) is recorded per job (:func:`pop_launch`).

The fork is used only where it is equivalent to a normal start: the kernel spec runs this
very interpreter with ``-m ipykernel_launcher`` and the job's environment equals the
zygote's (apart from the per-launch ``JPY_*`` variables). Anything else (another kernel, a
changed environment, no ``fork`` on this platform, a zygote that died) falls back to the
normal launch, so warm kernels can only be faster, never different.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import pkgutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Unicode

from bankanalysis.exceptions import KernelStartError
from bankanalysis.provenance import package_root, source_tree_hash

logger = logging.getLogger(__name__)

#: Libraries the zygote imports before it forks kernels: what the report notebooks import.
PRELOAD: tuple[str, ...] = (
    "numpy",
    "pandas",
    "pyarrow",
    "pyarrow.parquet",
    "pyarrow.dataset",
    "scipy.stats",
    "scipy.optimize",
    "matplotlib",
    "matplotlib.pyplot",
    "seaborn",
    "sklearn.linear_model",
    "sklearn.ensemble",
    "sklearn.cluster",
    "sklearn.preprocessing",
    "sklearn.metrics",
    "IPython",
    "IPython.display",
    "ipykernel.kernelapp",
)

#: Parts of this package the report notebooks use. A package is imported with every module
#: under it (walking the folder keeps the list right as modules move within it); an entry that
#: no longer exists is skipped. Only import-time state is shared, and the package does
#: nothing on import.
PRELOAD_PACKAGE: tuple[str, ...] = (
    "bankanalysis.data.load",
    "bankanalysis.rules",
    "bankanalysis.report",
    "bankanalysis.overview",
    "bankanalysis.segmentation",
    "bankanalysis.benchmarking",
    "bankanalysis.propensity",
)

#: Environment variables that differ per kernel launch and are safe to set after the fork.
_PER_LAUNCH_PREFIXES = ("JPY_",)

#: The matplotlib backend module must be imported by the kernel itself: importing it hooks
#: figures into the running IPython shell, and the zygote has none.
_KERNEL_ONLY_MODULES = ("matplotlib_inline.backend_inline",)

#: Working directory of the zygote (an empty folder; ``sys.path[0]`` under ``-m``).
_ZYGOTE_CWD = ""


def env_difference(a: dict[str, str], b: dict[str, str]) -> list[str]:
    """Names of the variables that differ between two environments, per-launch ones aside.

    Parameters
    ----------
    a, b : dict
        Environments.

    Returns
    -------
    list of str
        Sorted variable names set differently (or only) in one of them.
    """
    keys = set(a) | set(b)
    return sorted(
        k for k in keys if not k.startswith(_PER_LAUNCH_PREFIXES) and a.get(k) != b.get(k)
    )


# --------------------------------------------------------------------------- zygote side


def _send(sock: socket.socket, msg: dict[str, Any]) -> None:
    sock.sendall((json.dumps(msg) + "\n").encode())


def _recv(stream: Any) -> dict[str, Any] | None:
    line = stream.readline()
    return json.loads(line) if line else None


def _become_kernel(req: dict[str, Any], sock: socket.socket) -> None:
    """In the forked child: turn this process into an IPython kernel; never returns."""
    code = 1
    try:
        sock.close()
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setsid()  # own process group, as jupyter_client starts kernels
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.environ.clear()
        os.environ.update(req["env"])
        os.chdir(req["cwd"])
        # what a fresh `python -m ipykernel_launcher -f FILE ...` would have
        if sys.path and sys.path[0] == _ZYGOTE_CWD:
            sys.path[0] = os.getcwd()
        import ipykernel_launcher

        sys.argv = [
            ipykernel_launcher.__file__,
            "-f",
            req["connection_file"],
            *req.get("extra", []),
        ]
        from ipykernel.kernelapp import IPKernelApp

        # parent_handle's default was read from the zygote's environment at import: pass
        # it (the kernel exits when its parent, the zygote, goes away)
        argv = ["-f", req["connection_file"], *req.get("extra", [])]
        argv.append(f"--IPKernelApp.parent_handle={os.getppid()}")
        IPKernelApp.launch_instance(argv=argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    except BaseException:  # noqa: BLE001 - report and leave: this process must not go back
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _reap(signum: int, frame: Any) -> None:
    """SIGCHLD handler of the zygote: collect every finished kernel."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def preload() -> list[str]:
    """Import :data:`PRELOAD` and :data:`PRELOAD_PACKAGE`; return what failed, with why.

    A module that fails only costs its kernels the time to import it themselves.
    """
    failed: list[str] = []

    def load(name: str, optional: bool = False) -> Any:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if not (optional and exc.name == name):
                failed.append(f"{name}: {exc}")
        except Exception as exc:  # noqa: BLE001 - reported by the worker, never fatal
            failed.append(f"{name}: {exc}")
        return None

    for name in PRELOAD:
        load(name)
    for name in PRELOAD_PACKAGE:
        module = load(name, optional=True)
        for info in pkgutil.walk_packages(getattr(module, "__path__", []), prefix=f"{name}."):
            load(info.name)
    return failed


def zygote_main(fd: int) -> None:
    """Entry point of the zygote process (``python -m bankanalysis.batch.kernels FD``).

    Imports :data:`PRELOAD` and :data:`PRELOAD_PACKAGE` (:func:`preload`), then serves fork
    requests read as JSON lines from the socket
    ``fd``: ``{"connection_file", "cwd", "env"}`` -> ``{"pid"}`` or ``{"error"}``. Ends
    when the socket closes (its worker is gone).
    """
    global _ZYGOTE_CWD
    _ZYGOTE_CWD = os.getcwd()
    sock = socket.socket(fileno=fd)
    failed = preload()
    # a kernel-only module imported here would not hook into the kernels: do not serve
    early = [name for name in _KERNEL_ONLY_MODULES if name in sys.modules]
    failed += [f"{name} was imported; kernels would not show figures" for name in early]
    # Reap the kernels as they end (their CPU time then counts towards this process's
    # children, as a normal kernel's counts towards the worker's).
    signal.signal(signal.SIGCHLD, _reap)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides about interrupts
    _send(sock, {"ready": not early, "pid": os.getpid(), "failed": failed})
    stream = sock.makefile("r", encoding="utf-8")
    while True:
        req = _recv(stream)
        if req is None:
            return
        try:
            pid = os.fork()
        except OSError as exc:
            _send(sock, {"error": f"fork failed: {exc}"})
            continue
        if pid == 0:
            stream.close()
            _become_kernel(req, sock)
        _send(sock, {"pid": pid})


# --------------------------------------------------------------------------- worker side


class KernelZygote:
    """A zygote process owned by this (worker) process; see the module docstring.

    Parameters
    ----------
    env : dict, optional
        Environment of the zygote and of every kernel it forks (default: ``os.environ``).
    """

    def __init__(self, env: dict[str, str] | None = None) -> None:
        import tempfile

        self.env = dict(os.environ if env is None else env)
        self._lock = threading.Lock()
        # an empty working directory: nothing the zygote imports can come from a job's folder
        self._home = tempfile.mkdtemp(prefix="bankanalysis-zygote-")
        parent, child = socket.socketpair()
        self._sock = parent
        self._stream = parent.makefile("r", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bankanalysis.batch.kernels", str(child.fileno())],
            env=self.env,
            pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL,
            cwd=self._home,
        )
        child.close()
        self._ready: dict[str, Any] | None = None

    def wait_ready(self) -> bool:
        """Block until the zygote has imported :data:`PRELOAD`; ``False`` if it cannot serve."""
        if self._ready is None:
            self._ready = _recv(self._stream) or {"ready": False}
            for msg in self._ready.get("failed", []):
                logger.warning("warm kernels: %s", msg)
        return bool(self._ready.get("ready")) and self.proc.poll() is None

    def fork_kernel(
        self, connection_file: str, cwd: str, env: dict[str, str], extra: list[str] | None = None
    ) -> int:
        """Fork a kernel on ``connection_file``; return its pid.

        ``extra`` are further ``--Class.trait=value`` options of the kernel command.

        Raises
        ------
        KernelStartError
            When the environment differs from the zygote's or the zygote cannot fork.
        """
        diff = env_difference(self.env, env)
        if diff:
            raise KernelStartError(f"environment differs from the zygote's ({', '.join(diff[:5])})")
        with self._lock:
            if not self.wait_ready():
                raise KernelStartError("the zygote is not running")
            try:
                _send(
                    self._sock,
                    {
                        "connection_file": connection_file,
                        "cwd": cwd,
                        "env": env,
                        "extra": list(extra or []),
                    },
                )
                reply = _recv(self._stream)
            except OSError as exc:
                raise KernelStartError(f"the zygote is gone ({exc})") from exc
        if not reply or "pid" not in reply:
            raise KernelStartError((reply or {}).get("error", "the zygote is gone"))
        return int(reply["pid"])

    def close(self) -> None:
        """Stop the zygote (a kernel it forked that still runs exits too: its parent is gone)."""
        with contextlib.suppress(OSError):
            self._stream.close()  # the file object holds the socket open too
            self._sock.close()
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=5)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        import shutil

        shutil.rmtree(self._home, ignore_errors=True)


_ZYGOTE: KernelZygote | None = None
_ZYGOTE_PID: int | None = None
_ZYGOTE_SOURCE: str | None = None


def _package_source() -> str:
    """Hash of the package source as it is on disk now (not the per-process cached one)."""
    return source_tree_hash(package_root())


def process_zygote() -> KernelZygote:
    """The zygote of this process, started on first use (one per batch worker process).

    A new one replaces it when it died or when the package source changed since it
    imported it: a long-lived worker (a Dask worker serves many runs) must not fork
    kernels with an edited package's old code.
    """
    global _ZYGOTE, _ZYGOTE_PID, _ZYGOTE_SOURCE
    source = _package_source()
    mine = _ZYGOTE is not None and _ZYGOTE_PID == os.getpid()
    if mine and (_ZYGOTE.proc.poll() is not None or _ZYGOTE_SOURCE != source):
        logger.info("restarting the kernel zygote (package source changed or zygote gone)")
        _ZYGOTE.close()
        mine = False
    if not mine:
        _ZYGOTE = KernelZygote()
        _ZYGOTE_PID, _ZYGOTE_SOURCE = os.getpid(), source
        import atexit

        atexit.register(_ZYGOTE.close)
    return _ZYGOTE


def stop_process_zygote() -> None:
    """Stop this process's zygote if one runs."""
    global _ZYGOTE
    if _ZYGOTE is not None and _ZYGOTE_PID == os.getpid():
        _ZYGOTE.close()
    _ZYGOTE = None


class ForkedKernel:
    """``subprocess.Popen``-like handle on a kernel forked by the zygote (not our child).

    The zygote reaps its children as they end, so a finished kernel simply disappears; its
    exit code is not known here and reported as 0 (or ``-signal`` when this handle sent the
    kill).
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._signalled: int | None = None

    def poll(self) -> int | None:
        """Exit code, or ``None`` while the kernel runs."""
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = -self._signalled if self._signalled else 0
            except PermissionError:  # pragma: no cover - pid reused by another user
                self.returncode = 0
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait until the kernel has exited."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.02)
        return self.returncode or 0

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the kernel."""
        if self.poll() is None:
            if signum in (signal.SIGKILL, signal.SIGTERM):
                self._signalled = signum
            os.kill(self.pid, signum)

    def kill(self) -> None:
        """SIGKILL."""
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM."""
        self.send_signal(signal.SIGTERM)


def _forkable(cmd: list[str]) -> tuple[str, list[str]] | None:
    """``(connection file, extra --options)`` of a standard ipykernel command of this
    interpreter (``python -m ipykernel_launcher -f FILE [--Class.trait=value ...]``), else None.
    """
    if len(cmd) < 5 or cmd[1:3] != ["-m", "ipykernel_launcher"] or cmd[3] != "-f":
        return None
    extra = cmd[5:]
    if not all(a.startswith("--") and "=" in a for a in extra):
        return None
    try:
        same = Path(cmd[0]).resolve() == Path(sys.executable).resolve()
    except OSError:
        return None
    return (cmd[4], extra) if same else None


#: How each tagged kernel was started (tag -> ``"warm"``/``"fresh"``); see :func:`pop_launch`.
_LAUNCHES: dict[str, str] = {}


def pop_launch(tag: str) -> str | None:
    """How the kernel of the :class:`WarmKernelManager` with ``launch_tag`` ``tag`` was
    started: ``"warm"`` (forked from the zygote), ``"fresh"`` (the normal start it fell back
    to) or ``None`` (no kernel was launched). The record is removed."""
    return _LAUNCHES.pop(tag, None)


class ForkProvisioner(LocalProvisioner):
    """Launch the kernel by forking the process zygote; fall back to a normal start.

    Records how it started the kernel under its manager's ``launch_tag`` (:func:`pop_launch`).
    """

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        """Fork a kernel from the zygote when equivalent, else start it normally."""
        tag = str(getattr(self.parent, "launch_tag", "") or "")
        forkable = _forkable(cmd) if hasattr(os, "fork") else None
        if forkable is None:
            logger.debug("kernel command %s is not a standard ipykernel: not forked", cmd)
        else:
            conn, extra = forkable
            env = dict(kwargs.get("env") or os.environ)
            cwd = str(kwargs.get("cwd") or os.getcwd())
            try:
                pid = process_zygote().fork_kernel(conn, cwd, env, extra)
            except KernelStartError as exc:
                logger.info("warm kernel not used (%s); starting a fresh kernel", exc)
            else:
                self.process = ForkedKernel(pid)
                self.pid = pid
                self.pgid = pid  # the child called setsid()
                self.cwd = cwd
                logger.debug("forked kernel %s from the zygote", pid)
                if tag:
                    _LAUNCHES[tag] = "warm"
                return self.connection_info
        info = await super().launch_kernel(cmd, **kwargs)
        if tag:
            _LAUNCHES[tag] = "fresh"
        return info


class QuietKernelManager(AsyncKernelManager):
    """``AsyncKernelManager`` that does not interrupt a kernel it is shutting down.

    jupyter_client sends SIGINT before every shutdown request; a report kernel is idle by then
    (the notebook has finished), and a SIGINT that lands while it still handles a message is
    logged as "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel." in the log of a run
    that completed. The shutdown request (then a kill after its timeout) stops it anyway.
    """

    async def _async_interrupt_kernel(self) -> None:
        if self.shutting_down:
            return
        await super()._async_interrupt_kernel()


class WarmKernelManager(QuietKernelManager):
    """``AsyncKernelManager`` whose kernels come from :class:`ForkProvisioner`.

    A kernel spec that names its own provisioner keeps it. ``launch_tag`` (configurable, e.g.
    ``config.WarmKernelManager.launch_tag``) names the record of how the kernel was started.
    """

    launch_tag = Unicode("", help="Tag under which pop_launch() reports warm/fresh.").tag(
        config=True
    )

    async def _async_pre_start_kernel(self, **kw: Any) -> Any:
        spec = self.kernel_spec
        if self.provisioner is None and spec is not None:
            if not spec.metadata.get("kernel_provisioner"):
                import uuid

                self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
                self.provisioner = ForkProvisioner(
                    kernel_id=self.kernel_id, kernel_spec=spec, parent=self
                )
        return await super()._async_pre_start_kernel(**kw)


if __name__ == "__main__":  # the zygote process
    zygote_main(int(sys.argv[1]))
