"""Issue 14 (9): `iub docs build` writes identical files in any clone (sorted, no clone paths, no pids)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("src", "contracts/src", "libs/runtime/src", "services/intake/src", "services/eligibility/src",
           "services/audit/src", "services/notify/src")


def clone(to: Path) -> Path:
    """A copy of the tracked files, as a fresh clone has them."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        src = ROOT / rel
        if src.is_file():
            (to / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, to / rel)
    return to


def build(repo: Path, hash_seed: str) -> dict[str, bytes]:
    """Run that clone's own code (its sources first on the path) and read what it wrote."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(repo / s) for s in SOURCES),
           "PYTHONHASHSEED": hash_seed, "IUB_CATALOG_DIR": str(repo / "catalog")}
    out = repo / "generated"
    done = subprocess.run([sys.executable, "-c", "from iub_cli.main import app; app()", "docs", "build",
                           "--out", str(out)], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    used = subprocess.run([sys.executable, "-c", "import iub_cli.docs_cmd as m; print(m.__file__)"], cwd=repo,
                          env=env, capture_output=True, text=True).stdout.strip()
    assert used.startswith(str(repo)), used  # the clone's own code made these files
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_two_clones_build_byte_identical_docs(tmp_path):
    first = build(clone(tmp_path / "clone-one"), hash_seed="1")
    second = build(clone(tmp_path / "somewhere" / "else" / "clone-two"), hash_seed="2")
    assert len(first) > 50
    assert sorted(first) == sorted(second)
    differing = [rel for rel in first if first[rel] != second[rel]]
    assert differing == []
    assert not any(b"clone-one" in text or b"clone-two" in text for text in first.values())


def test_channels_operations_and_components_are_sorted():
    import yaml

    from iub_cli.docs_cmd import canonical

    doc = {"channels": {"b": 1, "a": 2}, "operations": {"z": 1, "y": 2},
           "components": {"schemas": {"Q": 1, "P": 2}, "messages": {"n": 1, "m": 2}}, "info": {"title": "t"}}
    out = canonical(doc)
    assert list(out["channels"]) == ["a", "b"] and list(out["operations"]) == ["y", "z"]
    assert list(out["components"]) == ["messages", "schemas"]
    assert list(out["components"]["schemas"]) == ["P", "Q"]
    for path in (ROOT / "docs" / "asyncapi").glob("*.yaml"):
        d = yaml.safe_load(path.read_text(encoding="utf-8"))
        for section in ("channels", "operations"):
            assert list(d.get(section, {})) == sorted(d.get(section, {})), f"{path.name}: {section}"
        for name, part in d.get("components", {}).items():
            assert list(part) == sorted(part), f"{path.name}: components.{name}"
