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
    extra: list[str] = field(default_factory=list)
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
        args += self.extra
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


    def kill(self) -> None:
        """SIGKILL (a crash: nothing flushed, no goodbye to replicas)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)


def online_replicas(replication: dict) -> int:
    """Replicas in sync (state online) in an INFO replication answer."""
    return sum(1 for k, v in replication.items() if k.startswith("slave") and isinstance(v, dict)
               and v.get("state") == "online")


@dataclass
class RedisClusterProcs:
    """A real Redis Cluster: ``primaries`` primaries with one replica each (``redis-cli --cluster create``)."""

    data_dir: Path
    primaries: int = 3
    node_timeout_ms: int = 1000
    nodes: list[RedisServer] = field(default_factory=list)

    @property
    def startup_nodes(self) -> str:
        return ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def start(self, timeout: float = 60) -> RedisClusterProcs:
        for i in range(self.primaries * 2):
            port = free_port()
            while port > 55535:  # Redis refuses higher ports with cluster mode on
                port = free_port()
            self.nodes.append(RedisServer(data_dir=self.data_dir / f"node{i}", port=port, durable=False, extra=[
                # the bus on its own free port (default: port + 10000, which may not exist)
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-port", str(free_port()),
                "--cluster-node-timeout", str(self.node_timeout_ms),
                # a replica whose primary died takes over at once, however long the link was down
                "--cluster-replica-validity-factor", "0"]).start())
        addrs = [f"127.0.0.1:{n.port}" for n in self.nodes]
        subprocess.run([shutil.which("redis-cli") or "redis-cli", "--cluster", "create", *addrs,
                        "--cluster-replicas", "1", "--cluster-yes"], check=True, capture_output=True,
                       timeout=timeout)
        wait_until(self.healthy, timeout, interval=0.2, what="cluster state ok with a replica per primary")
        return self

    def _info(self, node: RedisServer) -> dict:
        with node.client() as c:
            return c.info("replication")

    def healthy(self) -> bool:
        """Every live node says cluster_state:ok and every primary has a connected replica."""
        live = [n for n in self.nodes if n.proc and n.proc.poll() is None]
        for n in live:
            with n.client() as c:
                if c.cluster("info").get("cluster_state") != "ok":
                    return False
        primaries = [n for n in live if self._info(n)["role"] == "master"]
        return len(primaries) == self.primaries and all(online_replicas(self._info(p)) >= 1 for p in primaries)

    def covered(self) -> bool:
        """All slots served again (after a failover), whether or not the new primaries have replicas."""
        live = [n for n in self.nodes if n.proc and n.proc.poll() is None]
        for n in live:
            with n.client() as c:
                if c.cluster("info").get("cluster_state") != "ok":
                    return False
        return True

    def primary_for(self, key: str) -> RedisServer:
        """The node serving a key's slot now."""
        live = next(n for n in self.nodes if n.proc and n.proc.poll() is None)
        with live.client() as c:
            slot = c.cluster("keyslot", key)
            for start, end, primary, *_ in c.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    port = int(primary[1])
                    return next(n for n in self.nodes if n.port == port)
        raise LookupError(key)

    def stop(self) -> None:
        for n in self.nodes:
            n.stop()


@dataclass
class RedisSentinelProcs:
    """A real Sentinel setup: one primary, one replica, three sentinels (quorum 2)."""

    data_dir: Path
    master_name: str = "mymaster"
    down_after_ms: int = 1000
    failover_timeout_ms: int = 5000
    primary: RedisServer | None = None
    replica: RedisServer | None = None
    sentinels: list[subprocess.Popen] = field(default_factory=list)
    sentinel_ports: list[int] = field(default_factory=list)

    @property
    def sentinel_addrs(self) -> str:
        return ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)

    def start(self, timeout: float = 60) -> RedisSentinelProcs:
        self.primary = RedisServer(data_dir=self.data_dir / "primary", durable=False).start()
        self.replica = RedisServer(data_dir=self.data_dir / "replica", durable=False, extra=[
            "--replicaof", "127.0.0.1", str(self.primary.port)]).start()
        wait_until(lambda: online_replicas(self.primary.client().info("replication")) >= 1, timeout,
                   what="replica connected and in sync")
        binary = shutil.which("redis-server") or "redis-server"
        for i in range(3):
            port = free_port()
            folder = self.data_dir / f"sentinel{i}"
            folder.mkdir(parents=True, exist_ok=True)
            conf = folder / "sentinel.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {folder}\nlogfile {folder / 'sentinel.log'}\n"
                f"sentinel monitor {self.master_name} 127.0.0.1 {self.primary.port} 2\n"
                f"sentinel down-after-milliseconds {self.master_name} {self.down_after_ms}\n"
                f"sentinel failover-timeout {self.master_name} {self.failover_timeout_ms}\n"
                f"sentinel parallel-syncs {self.master_name} 1\n")
            self.sentinels.append(subprocess.Popen([binary, str(conf), "--sentinel"], stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.DEVNULL))
            self.sentinel_ports.append(port)
        wait_until(self._sentinels_agree, timeout, interval=0.2, what="sentinels see the primary and each other")
        return self

    def _sentinels_agree(self) -> bool:
        for port in self.sentinel_ports:
            with redis.Redis(port=port, socket_timeout=2) as c:
                m = c.sentinel_master(self.master_name)
                if int(m.get("num-other-sentinels", 0)) < 2 or int(m.get("num-slaves", 0)) < 1:
                    return False
        return True

    def current_primary_port(self) -> int:
        with redis.Redis(port=self.sentinel_ports[0], socket_timeout=2) as c:
            return int(c.sentinel_get_master_addr_by_name(self.master_name)[1])

    def stop(self) -> None:
        for p in self.sentinels:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        for n in (self.primary, self.replica):
            if n is not None:
                n.stop()


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
