"""``iub up``: the whole system locally, stopped cleanly with Ctrl-C or SIGTERM."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import typer

from iub_cli.local_secrets import local_audit_keys
from iub_runtime.processes import RedisServer, System, wait_until


def up(
    port: int = typer.Option(8080, help="HTTP port of intake"),
    processes: int = typer.Option(1, min=1, help="Processes per service (same consumer group)"),
    var_dir: Path = typer.Option(Path("var"), help="Where Redis, the audit database and logs live"),
    logs_to_files: bool = typer.Option(False, "--log-files", help="Write service logs to var/logs/"),
) -> None:
    """Run Redis (unless REDIS_URL is set) and the four services until interrupted."""
    var_dir = var_dir.resolve()
    server = None
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        server = RedisServer(data_dir=var_dir / "redis", port=int(os.environ.get("IUB_REDIS_PORT", "6380"))).start()
        redis_url = server.url
        typer.echo(f"redis-server (AOF, appendfsync always) at {redis_url}, data in {var_dir / 'redis'}")
    else:
        typer.echo("using REDIS_URL from the environment")
    env = {"IUB_VAR_DIR": str(var_dir), **local_audit_keys(var_dir)}
    if "IUB_AUDIT_CHAIN_KEY" in env:
        typer.echo(f"audit chain and link keys: {var_dir / 'secrets'} (also for `iub audit verify`)")
    if not (os.environ.get("IUB_CLIENTS_FILE") or os.environ.get("IUB_CLIENTS_JSON")):
        # local development: no client credentials configured, so intake runs in its explicit dev mode
        env["IUB_AUTH_DISABLED"] = "true"
        env["IUB_DEV_WEBHOOK_SECRET"] = os.environ.get("IUB_DEV_WEBHOOK_SECRET", "dev-webhook-secret-change-me")
        typer.echo("no IUB_CLIENTS_FILE/IUB_CLIENTS_JSON: intake runs WITHOUT authentication (development only)")
    system = System(
        redis_url=redis_url,
        env=env,
        http_port=port,
        audit_port=port + processes + 1,  # after intake's ports: 8082 with one process each
        processes_per_service=processes,
        log_dir=(var_dir / "logs") if logs_to_files else None,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        system.start()
        import httpx

        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200, 30,
                   what="intake /health")
        typer.echo(f"intake HTTP API: http://127.0.0.1:{port}  (docs: /docs, health: /health, operators: /ops)")
        typer.echo(f"audit partsinsyn: http://127.0.0.1:{port + processes + 1}/v1/insyn")
        typer.echo("services: " + ", ".join(f"{p.name}[pid {p.pid}]" for p in system.procs))
        typer.echo("Ctrl-C stops everything.")
        while not stop.wait(1):
            dead = [p for p in system.procs if not p.alive()]
            if dead:
                typer.echo("stopped unexpectedly: " + ", ".join(p.name for p in dead), err=True)
                break
    finally:
        typer.echo("stopping services…")
        system.stop()
        if server is not None:
            server.stop()
        typer.echo("stopped.")
