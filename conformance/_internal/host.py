"""The worker host: a process that has imported torch and the harness, and forks workers.

Internal. Starting a Python process and importing torch takes seconds; forking one
that already has takes milliseconds. So the judge starts one *host* process (its own
session, no controlling terminal, killed with the judge) that preloads torch, NumPy
and the property modules but never imports a target, and asks it for a fresh worker
(:mod:`conformance._internal.worker`) for each group of roles and after every crash or
timeout. The host forks the worker with the judge's socket as its channel and the
judge's files as its stdout and stderr; the judge kills a worker by its process
group and asks the host for its exit status.

The judge side is :class:`Host` and :class:`Worker`; :func:`host_main` runs in the host.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the wire format imports torch: loaded on first use, after the host starts
    from conformance._internal.wire import Channel

__all__ = ["Host", "HostError", "Worker", "WorkerCrashed", "WorkerTimeout", "host_main"]

_BOOT = (
    "import json, sys; c = json.loads(sys.argv[1]); sys.path[:] = c['sys_path']; "
    "from conformance._internal.host import host_main; host_main(c)"
)
_PRELOAD = ("numpy", "torch", "conformance.properties", "conformance._internal.worker")
_SEQPACKET = getattr(socket, "SOCK_SEQPACKET", socket.SOCK_DGRAM)
_TAIL = 4000


class HostError(RuntimeError):
    """The worker host could not be started or stopped answering."""


class WorkerCrashed(BaseException):
    """The worker ended (exit, signal, garbage on the channel) instead of answering.

    A BaseException, so that Hypothesis stops at once instead of shrinking on crashes.
    """

    def __init__(self, how: str, stderr: str = "", stdout: str = "") -> None:
        super().__init__(how)
        self.how, self.stderr, self.stdout = how, stderr, stdout


class WorkerTimeout(BaseException):
    """The worker did not answer within its time limit (it has been killed)."""


# -- host side --------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def host_main(config: dict[str, Any]) -> None:
    """Entry point of the host process (started by :class:`Host` through ``python -c``)."""
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:
        os._exit(0)
    control = socket.socket(fileno=int(config["fd"]))
    import importlib

    for name in _PRELOAD:
        importlib.import_module(name)
    control.send(json.dumps({"ready": os.getpid()}).encode())
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(control, 1 << 20, 4)
        except OSError:
            break
        if not data:
            break
        request = json.loads(data)
        if request["op"] == "spawn":
            reply = _spawn(request, fds, control, config)
        elif request["op"] == "reap":
            reply = _reap(int(request["pid"]), float(request["timeout"]))
        else:
            break
        control.send(json.dumps(reply).encode())
    os._exit(0)


def _spawn(
    request: dict[str, Any], fds: list[int], control: socket.socket, config: dict[str, Any]
) -> dict[str, Any]:
    pid = os.fork()
    if pid == 0:
        _child(request, fds, control, config)
    for fd in fds:
        os.close(fd)
    return {"pid": pid}


def _child(
    request: dict[str, Any], fds: list[int], control: socket.socket, config: dict[str, Any]
) -> None:
    code = 70
    try:
        control.close()
        os.setpgid(0, 0)
        _die_with_parent()
        channel_fd, out_fd, err_fd = fds
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        for fd in (devnull, out_fd, err_fd):
            os.close(fd)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        import torch

        # threads first: under an address-space cap OpenMP cannot map a new thread's stack
        # and waits for ever (seen with torch 2.4 / 2.14 CUDA builds)
        torch.set_num_threads(int(config.get("threads") or 1))
        _limit_memory(config.get("memory_limit"))
        cwd = os.getcwd()
        if cwd not in sys.path:
            sys.path.append(cwd)  # explicit module targets of the current folder, after ours
        sys.argv = ["conformance-worker"]
        from conformance._internal.worker import serve

        serve(channel_fd, dict(request["roles"]))
        code = 0
    except BaseException:
        with contextlib.suppress(BaseException):
            import traceback

            traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _limit_memory(megabytes: Any) -> None:
    """Cap the address space at what this worker has mapped now plus ``megabytes`` MiB.

    The worker starts with the host's preloaded torch mapped: ~0.6 GB for a CPU build,
    ~3.1 GB for a CUDA build (its libraries), so an absolute cap would mean something else
    on every build (and one below the baseline leaves the worker unable to do anything).
    """
    if not megabytes:
        return
    import resource

    limit = _mapped_bytes() + int(megabytes) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _mapped_bytes() -> int:
    """This process's virtual size (``VmSize``; 0 where /proc is missing: the cap is absolute)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _reap(pid: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return {"status": "unknown"}
        if done:
            return {"status": os.waitstatus_to_exitcode(status)}
        if time.monotonic() >= deadline:
            return {"status": None}
        time.sleep(0.005)


# -- judge side -------------------------------------------------------------------------------


def _tail(path: Path, start: int = 0) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            end = f.tell()
            f.seek(max(start, end - _TAIL))
            data = f.read()
    except OSError:
        return ""
    return data.decode("utf-8", errors="replace")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


_SIGNALS = {
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating-point exception",
    signal.SIGILL: "illegal instruction",
    signal.SIGKILL: "killed (by the system: out of memory?)",
    signal.SIGTERM: "terminated",
}


def describe_exit(status: Any) -> str:
    """A worker's exit status in words.

    >>> describe_exit(-11)
    'killed by signal SIGSEGV (segmentation fault)'
    >>> describe_exit(0)
    'exited with status 0 (the target ended its process: os._exit or sys.exit?)'
    """
    if status is None or status == "unknown":
        return "stopped answering"
    status = int(status)
    if status < 0:
        try:
            sig = signal.Signals(-status)
        except ValueError:
            return f"killed by signal {-status}"
        what = _SIGNALS.get(sig)
        return f"killed by signal {sig.name}" + (f" ({what})" if what else "")
    return f"exited with status {status} (the target ended its process: os._exit or sys.exit?)"


class Worker:
    """The judge's handle on one worker process (see :mod:`conformance._internal.worker`)."""

    def __init__(
        self, host: Host, pid: int, channel: Channel, out: Path, err: Path, roles: dict[str, str]
    ) -> None:
        self.host, self.pid, self.channel = host, pid, channel
        self.out, self.err, self.roles = out, err, roles
        self.alive = True
        self.meta: dict[str, dict[str, str]] = {}

    def marks(self) -> tuple[int, int]:
        """Current sizes of the captured stdout and stderr (to show what one call printed)."""
        return _size(self.out), _size(self.err)

    def output_since(self, marks: tuple[int, int]) -> tuple[str, str]:
        return _tail(self.out, marks[0]), _tail(self.err, marks[1])

    def _exchange(self, frame: bytes | None, timeout: float) -> Any:
        """Send ``frame`` (if any) and wait for the answer: WorkerTimeout (the worker is then
        killed) or WorkerCrashed when it does not come."""
        from conformance._internal.wire import ChannelClosed, ChannelTimeout, ProtocolError

        try:
            if frame is not None:
                self.channel.send_frame(frame)
            return self.channel.recv(timeout)
        except ChannelTimeout:
            self.kill()
            raise WorkerTimeout from None
        except (ChannelClosed, ProtocolError, OSError) as error:
            raise self._crashed(error) from None

    def wait_ready(self, timeout: float) -> dict[str, dict[str, str]]:
        """The loaded targets' descriptions; TargetError if one did not load."""
        from conformance.targets import TargetError

        message = self._exchange(None, timeout)
        if isinstance(message, dict) and "load_error" in message:
            target, reason, role = message["load_error"]
            self.finish()
            raise TargetError(str(target), str(reason), role if isinstance(role, str) else None)
        if not (isinstance(message, dict) and isinstance(message.get("ready"), dict)):
            self.kill()
            raise WorkerCrashed("sent something other than 'ready' after loading")
        self.meta = message["ready"].get("targets", {})
        return self.meta

    def act(self, module: str, pid: str, example: Any, timeout: float) -> dict[str, Any]:
        """Run property ``pid``'s act on ``example``; the worker's reply."""
        from conformance._internal.wire import pack

        frame = pack(
            {"op": "act", "module": module, "property": pid, "example": pickle.dumps(example)}
        )
        reply = self._exchange(frame, timeout)
        keys = set(reply) if isinstance(reply, dict) else set()
        if len(keys) != 1 or not keys <= {"ok", "raised", "harness_error"}:
            self.kill()
            raise WorkerCrashed(f"answered with something that is not a reply: {reply!r:.200}")
        return reply

    def _crashed(self, error: BaseException) -> WorkerCrashed:
        from conformance._internal.wire import ProtocolError

        garbage = isinstance(error, ProtocolError)
        status = self.finish(grace=0.0 if garbage else 2.0)
        how = f"sent data that is not the protocol ({error})" if garbage else describe_exit(status)
        out, err = _tail(self.out), _tail(self.err)
        return WorkerCrashed(how, err, out)

    def kill(self) -> None:
        """Kill the worker's whole process group (no-op once it is gone)."""
        if not self.alive:
            return
        for kill in (os.killpg, os.kill):
            with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
                kill(self.pid, signal.SIGKILL)
        self.finish(grace=5.0)

    def finish(self, grace: float = 2.0) -> Any:
        """Reap the worker (killing it if it is still there after ``grace`` s): its status."""
        if not self.alive:
            return None
        self.channel.close()
        status = self.host.reap(self.pid, grace)
        if status is None:
            for kill in (os.killpg, os.kill):
                with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
                    kill(self.pid, signal.SIGKILL)
            status = self.host.reap(self.pid, 5.0)
        self.alive = False
        return status

    def close(self) -> None:
        """Ask the worker to exit, then reap it."""
        if not self.alive:
            return
        with contextlib.suppress(OSError):
            self.channel.send({"op": "bye"})
        self.finish(grace=1.0)


class Host:
    """The judge's handle on the worker host process."""

    def __init__(
        self,
        sys_path: list[str],
        threads: int = 1,
        memory_limit: int | None = None,
        start_timeout: float = 180.0,
    ) -> None:
        self.key = (tuple(sys_path), threads, memory_limit)
        self.dir = Path(tempfile.mkdtemp(prefix="conformance-"))
        self._count = 0
        ours, theirs = socket.socketpair(socket.AF_UNIX, _SEQPACKET)
        config = {
            "fd": theirs.fileno(),
            "sys_path": sys_path,
            "threads": threads,
            "memory_limit": memory_limit,
        }
        env = dict(os.environ)
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[name] = str(threads)
        env["PYTHONUNBUFFERED"] = "1"
        self.log = self.dir / "host.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT, json.dumps(config)],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,
            )
        theirs.close()
        self.control = ours
        self._start_timeout = start_timeout
        self._started = False

    def _await_start(self) -> None:
        """Wait (once) for the host to finish preloading: the judge works meanwhile."""
        if self._started:
            return
        try:
            self._reply(self._start_timeout)
        except HostError:
            self.close()
            raise
        self._started = True

    def _reply(self, timeout: float) -> dict[str, Any]:
        self.control.settimeout(timeout)
        try:
            data = self.control.recv(1 << 16)
        except TimeoutError:
            data = None
        except OSError:
            data = b""
        if not data:
            why = "did not answer in time" if data is None else "exited"
            raise HostError(
                f"the worker host {why} (status {self.proc.poll()}); its log:\n{_tail(self.log)}"
            )
        return dict(json.loads(data))

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def spawn(self, roles: dict[str, str], label: str) -> Worker:
        """A fresh worker that loads ``roles`` (``{role: target}``); call its wait_ready."""
        self._await_start()
        self._count += 1
        stem = f"{self._count:03d}-{label}"
        out, err = self.dir / f"{stem}.out", self.dir / f"{stem}.err"
        ours, theirs = socket.socketpair()
        with open(out, "wb") as fo, open(err, "wb") as fe:
            request = json.dumps({"op": "spawn", "roles": roles}).encode()
            try:
                socket.send_fds(
                    self.control, [request], [theirs.fileno(), fo.fileno(), fe.fileno()]
                )
            except OSError as error:
                ours.close()
                theirs.close()
                raise HostError(f"the worker host is gone ({error})") from None
        theirs.close()
        reply = self._reply(60.0)
        from conformance._internal.wire import Channel

        return Worker(self, int(reply["pid"]), Channel(ours), out, err, roles)

    def reap(self, pid: int, timeout: float) -> Any:
        """The exit status of worker ``pid`` (None if it is still running after ``timeout``)."""
        try:
            self.control.send(json.dumps({"op": "reap", "pid": pid, "timeout": timeout}).encode())
            return self._reply(timeout + 30.0)["status"]
        except (OSError, HostError):
            return "unknown"

    def close(self) -> None:
        """Stop the host (its workers die with it) and remove its files."""
        with contextlib.suppress(OSError):
            self.control.close()
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)
