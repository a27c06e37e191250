"""``iub up``: the whole system locally, stopped cleanly with Ctrl-C or SIGTERM.

Redis (AOF), the four services, a local Kundcenter reply sink and a partsinsyn credential for
development. Each service's log lines are shown prefixed with its name (like honcho/foreman);
``iub up`` waits for every service to be ready and says what it is still waiting for.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path

import typer

from iub_cli.dev_sink import TelephonySink
from iub_cli.local_secrets import local_audit_keys
from iub_runtime.auth import hash_key, new_key
from iub_runtime.processes import SERVICES, RedisServer, ServiceProcess, System
from iub_runtime.signing import generate

SECRET_NAMES = ("IUB_SIGNING_SECRET", "IUB_DEV_WEBHOOK_SECRET")  # both named in the README
COLOURS = {"intake": "36", "eligibility": "33", "audit": "35", "notify": "32", "redis": "34", "sink": "31"}


class Printer:
    """Prefixed, coloured, whole lines from many threads (``name | line``)."""

    def __init__(self, colour: bool, width: int = 14) -> None:
        self.colour, self.width, self._lock = colour, width, threading.Lock()

    def line(self, name: str, text: str) -> None:
        head = f"{name:<{self.width}}|"
        if self.colour:
            head = f"\033[{COLOURS.get(name.split('.')[0], '37')}m{head}\033[0m"
        with self._lock:
            sys.stdout.write(f"{head} {text}\n")
            sys.stdout.flush()


def ready(url: str) -> bool:
    """An HTTP 200 from a health URL within a second."""
    try:
        with urllib.request.urlopen(url, timeout=1) as r:  # noqa: S310 - our own loopback URLs
            return r.status == 200
    except Exception:
        return False


def health_urls(system: System, port: int, audit_port: int, metrics: dict[str, int]) -> dict[str, str]:
    """Each process' readiness URL, by its label."""
    urls = {}
    for p in system.procs:
        i = int(p.label.rsplit(".", 1)[1]) - 1 if "." in p.label else 0
        base = {"intake": port, "audit": audit_port}.get(p.name, metrics.get(p.name, 0)) + i
        path = "/health/ready" if p.name in metrics else "/health"
        urls[p.label] = f"http://127.0.0.1:{base}{path}"
    return urls


def wait_ready(system: System, urls: dict[str, str], say, timeout_s: float, every_s: float = 3.0) -> None:
    """Poll every service until ready, saying what is still awaited; stop if one dies or time runs out."""
    started = time.monotonic()
    waiting = dict(urls)
    last_said = 0.0
    while waiting:
        for label in [k for k, u in waiting.items() if ready(u)]:
            del waiting[label]
            say(f"✓ {label} ready ({time.monotonic() - started:.1f} s)")
        dead = [p.label for p in system.procs if not p.alive()]
        if dead:
            raise RuntimeError(f"stopped while starting: {', '.join(dead)} (its log lines are above)")
        elapsed = time.monotonic() - started
        if not waiting:
            return
        if timeout_s and elapsed > timeout_s:
            raise TimeoutError(f"not ready after {timeout_s:.0f} s: {', '.join(waiting)}")
        if elapsed - last_said >= every_s:
            say(f"… waiting for {', '.join(waiting)} ({elapsed:.0f} s)")
            last_said = elapsed
        time.sleep(0.25)


def dev_insyn_client(var_dir: Path) -> tuple[Path, str]:
    """A clients file with one partsinsyn credential for development (a new key every run)."""
    key = new_key()
    path = var_dir / "dev-clients.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"clients": [{
        "id": "dev-handlaggare", "name": "Handläggare (iub up, development only)",
        "key_sha256": [hash_key(key)], "kommuner": ["*"], "operations": ["audit:insyn"]}]}, indent=2))
    path.chmod(0o600)
    key_file = var_dir / "dev-insyn-key.txt"
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    return path, key


def run_secrets(var_dir: Path) -> tuple[dict[str, str], Path, list[str]]:
    """Signing secrets for this run (never defaults): from the environment, else generated into a 0600 file."""
    out = {n: os.environ.get(n) or generate() for n in SECRET_NAMES}
    path = var_dir / "secrets" / "run.env"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("".join(f"{n}={v}\n" for n, v in out.items()))
    return out, path, [n for n in SECRET_NAMES if not os.environ.get(n)]


def up(
    port: int = typer.Option(8080, help="HTTP port of intake; the other services use the ports after it"),
    processes: int = typer.Option(1, min=1, help="Processes per service (same consumer group)"),
    var_dir: Path = typer.Option(Path("var"), help="Where Redis, the audit database and logs live"),
    logs_to_files: bool = typer.Option(False, "--log-files", help="Also write service logs to var/logs/"),
    show_logs: bool = typer.Option(True, "--logs/--no-logs", help="Show the services' log lines, prefixed"),
    ready_timeout: float = typer.Option(0, min=0, help="Give up when not ready after this many seconds (0: wait)"),
) -> None:
    """Run Redis (unless REDIS_URL is set) and the four services until interrupted."""
    var_dir = var_dir.resolve()
    printer = Printer(colour=sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    say = lambda text: printer.line("iub up", text)  # noqa: E731
    audit_port = port + processes + 1  # after intake's ports: 8082 with one process each
    metrics = {"eligibility": port + 2 * processes + 1, "notify": port + 3 * processes + 1}
    server: RedisServer | None = None
    sink: TelephonySink | None = None
    system: System | None = None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:  # whatever fails on the way, what was started is stopped
        env = {"IUB_VAR_DIR": str(var_dir), "IUB_LOG_JSON": os.environ.get("IUB_LOG_JSON", "false")}
        run_env, secrets_path, generated = run_secrets(var_dir)
        env.update(run_env)
        say(f"signing secrets of this run ({', '.join(generated) or 'from the environment'}) in {secrets_path}")
        audit_keys = local_audit_keys(var_dir)  # kept across runs: the local chain verifies only with its key
        env.update(audit_keys)
        if audit_keys:
            say(f"audit chain and link keys: {var_dir / 'secrets'} (also for `iub audit verify`)")
        service_env: dict[str, dict[str, str]] = {name: {} for name in SERVICES}
        insyn_key = None
        if not (os.environ.get("IUB_CLIENTS_FILE") or os.environ.get("IUB_CLIENTS_JSON")):
            # local development: no client credentials configured, so intake runs in its explicit dev mode
            env["IUB_AUTH_DISABLED"] = "true"
            say("no IUB_CLIENTS_FILE/IUB_CLIENTS_JSON: intake runs WITHOUT authentication (development only)")
            clients_file, insyn_key = dev_insyn_client(var_dir)
            service_env["audit"]["IUB_CLIENTS_FILE"] = str(clients_file)
        signing_secret = env["IUB_SIGNING_SECRET"]
        if not os.environ.get("IUB_TELEPHONY_REPLY_URL"):
            sink = TelephonySink(signing_secret, port + 4 * processes + 1,
                                 on_reply=lambda text: printer.line("kundcenter", text)).start()
            service_env["notify"]["IUB_TELEPHONY_REPLY_URL"] = sink.url

        redis_url = os.environ.get("REDIS_URL")
        if not redis_url:
            server = RedisServer(data_dir=var_dir / "redis",
                                 port=int(os.environ.get("IUB_REDIS_PORT", "6380"))).start()
            redis_url = server.url
            say(f"redis-server (AOF, appendfsync always) at {redis_url}, data in {var_dir / 'redis'}")
        else:
            say("using REDIS_URL from the environment")

        def on_line(proc: ServiceProcess, text: str) -> None:
            printer.line(proc.label, text)

        system = System(redis_url=redis_url, env=env, http_port=port, audit_port=audit_port,
                        processes_per_service=processes, log_dir=(var_dir / "logs") if logs_to_files else None,
                        service_env=service_env, metrics_ports=metrics, on_line=on_line if show_logs else None)
        system.start()
        say("started " + ", ".join(f"{p.label}[pid {p.pid}]" for p in system.procs) + "; waiting until ready")
        try:
            wait_ready(system, health_urls(system, port, audit_port, metrics), say, ready_timeout)
        except (RuntimeError, TimeoutError) as exc:
            say(f"✗ {exc}")
            raise typer.Exit(1) from None
        say(f"intake HTTP API: http://127.0.0.1:{port}  (docs: /docs, health: /health, operators: /ops)")
        say(f"audit partsinsyn: POST http://127.0.0.1:{audit_port}/v1/insyn"
            + (f"  (key: {insyn_key}, also in {var_dir / 'dev-insyn-key.txt'})" if insyn_key else ""))
        say(f"eligibility and notify: /health/live, /health/ready, /metrics on ports {metrics['eligibility']}"
            f" and {metrics['notify']}")
        if sink is not None:
            say(f"Kundcenter replies go to the local sink {sink.url} (GET http://127.0.0.1:{sink.port}/ lists them)")
        say(f"Kundcenter webhooks: POST /v1/telephony/events signed with IUB_DEV_WEBHOOK_SECRET (in {secrets_path})")
        say("Ctrl-C stops everything.")
        while not stop.wait(1):
            dead = [p for p in system.procs if not p.alive()]
            if dead:
                say("stopped unexpectedly: " + ", ".join(p.label for p in dead))
                break
    finally:
        say("stopping services…")
        if system is not None:
            system.stop()
        if sink is not None:
            sink.stop()
        if server is not None:
            server.stop()
        say("stopped.")
