"""Running the system as real processes: a private redis-server and the four services.

Used by ``iub up`` and by the end-to-end tests, so both start the system the same way.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis

SERVICES = ("intake", "eligibility", "audit", "notify")


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition") -> None:
    """Poll a predicate until it is true or the deadline passes (then TimeoutError)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception:
            pass
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class RedisServer:
    """A private redis-server process (durable: AOF with appendfsync always)."""

    data_dir: Path
    port: int = 0
    durable: bool = True
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found on PATH (Debian: apt-get install redis-server)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir),
                "--save", "", "--daemonize", "no", "--protected-mode", "yes",
                "--logfile", str(self.data_dir / "redis.log")]
        args += ["--appendonly", "yes", "--appendfsync", "always"] if self.durable else ["--appendonly", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        wait_until(client.ping, timeout, what=f"redis-server on port {self.port}")
        client.close()
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class ServiceProcess:
    """One service process: its name, command and environment.

    With ``on_line`` every line the process writes (stdout and stderr) is handed to it, e.g. to
    print it prefixed with the service's name (``iub up``), and also appended to ``log_path``.
    """

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path | None = None
    on_line: Callable[[ServiceProcess, str], None] | None = None
    label: str = ""
    proc: subprocess.Popen | None = None
    _log: object = None
    _reader: threading.Thread | None = None

    def start(self) -> ServiceProcess:
        out = subprocess.DEVNULL
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
            out = self._log
        if self.on_line is None:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=out)
            return self
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._reader = threading.Thread(target=self._pump, name=f"log-{self.label or self.name}", daemon=True)
        self._reader.start()
        return self

    def _pump(self) -> None:
        """Hand every output line to ``on_line`` (and the log file) until the process ends."""
        assert self.proc is not None and self.proc.stdout is not None and self.on_line is not None
        for raw in iter(self.proc.stdout.readline, b""):
            if self._log is not None:
                self._log.write(raw)
                self._log.flush()
            self.on_line(self, raw.decode("utf-8", "replace").rstrip("\n"))

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.alive():
            self.proc.send_signal(sig)
            self.proc.wait(15)

    def stop(self, timeout: float = 15) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._reader is not None:
            self._reader.join(5)
            self._reader = None
        if self._log is not None:
            self._log.close()
            self._log = None


def service_argv(name: str) -> list[str]:
    """How a service is started: ``python -m iub_<name>``."""
    return [sys.executable, "-m", f"iub_{name}"]


@dataclass
class System:
    """The four services (N processes each) against one Redis."""

    redis_url: str
    env: dict[str, str] = field(default_factory=dict)
    http_port: int = 8080
    audit_port: int | None = None
    processes_per_service: int = 1
    log_dir: Path | None = None
    # per service: more environment (e.g. audit's clients file) and the first /health + /metrics port
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    metrics_ports: dict[str, int] = field(default_factory=dict)
    on_line: Callable[[ServiceProcess, str], None] | None = None
    procs: list[ServiceProcess] = field(default_factory=list)

    def _env(self, name: str, index: int) -> dict[str, str]:
        env = {**os.environ, **self.env, **self.service_env.get(name, {}), "REDIS_URL": self.redis_url}
        if name == "intake":
            env["IUB_PORT"] = str(self.http_port + index)
        if name == "audit":  # the partsinsyn endpoint: one port per process
            env["IUB_AUDIT_PORT"] = str(self.audit_port + index if self.audit_port else free_port())
        if name in self.metrics_ports:
            env["IUB_METRICS_PORT"] = str(self.metrics_ports[name] + index)
        return env

    def make(self, name: str, index: int = 0) -> ServiceProcess:
        log = self.log_dir / f"{name}-{index}.log" if self.log_dir else None
        label = name if self.processes_per_service == 1 else f"{name}.{index + 1}"
        return ServiceProcess(name=name, argv=service_argv(name), env=self._env(name, index), log_path=log,
                              on_line=self.on_line, label=label)

    def start(self) -> System:
        for name in SERVICES:
            for i in range(self.processes_per_service):
                self.procs.append(self.make(name, i).start())
        return self

    def by_name(self, name: str) -> list[ServiceProcess]:
        return [p for p in self.procs if p.name == name]

    def restart(self, proc: ServiceProcess) -> ServiceProcess:
        """Start a fresh process in place of one (after a kill)."""
        idx = self.procs.index(proc)
        proc.stop()
        fresh = ServiceProcess(name=proc.name, argv=proc.argv, env=proc.env, log_path=proc.log_path,
                               on_line=proc.on_line, label=proc.label).start()
        self.procs[idx] = fresh
        return fresh

    def stop(self) -> None:
        for p in self.procs:
            if p.alive():
                p.proc.send_signal(signal.SIGTERM)
        for p in self.procs:
            p.stop()
