"""`python -m iub_audit`: serve the audit service (consumers + partsinsyn API) with uvicorn.

The documentation duty (14 kap SoL) does not wait for the insyn port: if IUB_AUDIT_PORT cannot
be bound (taken, e.g. by a second audit process on one host), the consumers run without HTTP
and an error line says so.
"""

import asyncio
import socket
import sys

import structlog
import uvicorn

from iub_audit.app import ClientsConfigError, create_api, create_app
from iub_audit.settings import AuditSettings, SecretMissing
from iub_runtime.signing import InsecureSecret


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def main() -> None:
    """Serve until SIGTERM/SIGINT."""
    settings = AuditSettings()
    try:  # the chain and link keys are secrets: never start on an empty or default one (IUB_DEV_MODE aside)
        settings.signer()
        settings.link_keys()
    except (SecretMissing, OSError) as exc:
        print(f"iub audit: {exc}", file=sys.stderr)
        sys.exit(2)
    try:
        api = create_api(settings)
    except (ClientsConfigError, InsecureSecret) as exc:
        print(f"iub audit: {exc}", file=sys.stderr)
        sys.exit(2)
    try:
        sock = _bind(settings.host, settings.port)
    except OSError as exc:
        structlog.get_logger("iub.audit").error("audit_http_unavailable", port=settings.port,
                                                error_type=type(exc).__name__, errno=exc.errno)
        asyncio.run(create_app(settings).run())
        return
    config = uvicorn.Config(api, log_config=None, access_log=False, timeout_graceful_shutdown=10)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
