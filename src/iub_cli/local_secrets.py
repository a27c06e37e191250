"""Audit's secrets for `iub up`: generated once per var dir, kept in files only the user can read."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

# the history key is shared by audit and eligibility (history index of 14 kap 3 § ends)
AUDIT_KEYS = {"IUB_AUDIT_CHAIN_KEY": "audit-chain.key", "IUB_AUDIT_LINK_KEY": "audit-link.key",
              "IUB_HISTORY_KEY": "history.key"}


def local_audit_keys(var_dir: Path) -> dict[str, str]:
    """The chain and link keys from the environment, else from var/secrets/ (created on first use).

    Kept across runs: the chain of a local audit database only verifies with the key it was signed with.
    """
    out = {}
    folder = var_dir / "secrets"
    for name, file in AUDIT_KEYS.items():
        if os.environ.get(name):
            continue
        path = folder / file
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        out[name] = path.read_text(encoding="utf-8").strip()
    return out
