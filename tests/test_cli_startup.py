"""Issue 14 (9): `iub --help` and `iub eligibility check` start in under 0.5 s (lazy imports per command)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("redis", "sqlalchemy", "fastapi", "faststream", "httpx", "iub_audit", "iub_intake", "iub_notify",
         "rich.markdown")


def loaded_after(argv: list[str]) -> set[str]:
    """Top modules imported by running `iub <argv>` in a fresh interpreter."""
    code = ("import sys, json\nsys.argv = ['iub', *json.loads(sys.argv[1])]\nfrom iub_cli.main import app\n"
            "try:\n    app()\nexcept SystemExit:\n    pass\n"
            "print('\\nMODULES ' + json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(argv)], capture_output=True, text=True,
                         cwd=ROOT, timeout=60).stdout
    return set(json.loads(out.rsplit("MODULES ", 1)[1]))


def check_argv(tmp_path: Path) -> list[str]:
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"stated_age": 40, "folkbokford_i_kommunen": False}))
    return ["eligibility", "check", "--kommun", "ostersund", "--insats", "akutboendet", "--facts", str(facts),
            "--at", "2025-09-05", "--catalog", str(ROOT / "catalog")]


@pytest.mark.parametrize("which", ["help", "check"])
def test_a_command_imports_only_what_it_needs(which, tmp_path):
    modules = loaded_after(["--help"] if which == "help" else check_argv(tmp_path))
    assert "iub_cli.main" in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)
    assert heavy == []
    if which == "help":
        assert not any(m.startswith("iub_cli.") and m != "iub_cli.main" for m in modules)
        assert "pydantic" not in modules


@pytest.mark.parametrize("which", ["help", "check"])
def test_the_cli_starts_in_under_half_a_second(which, tmp_path):
    import resource

    iub = Path(sys.executable).with_name("iub")
    argv = [str(iub), "--help"] if which == "help" else [str(iub), *check_argv(tmp_path)]
    walls, cpus = [], []
    for _ in range(5):  # the fastest of five: other work on a shared machine only ever adds time
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        assert done.returncode == 0, done.stderr
    load = os.getloadavg()[0]
    print(f"iub {which}: fastest {min(walls):.2f} s wall, {min(cpus):.2f} s CPU (load {load:.1f}; "
          f"walls {', '.join(f'{w:.2f}' for w in walls)})")
    assert min(cpus) < 0.5
    # wall time measures the machine as much as the command: held to 0.5 s while the machine is not
    # oversubscribed (more runnable processes than cores); the CPU time above holds either way
    if load <= (os.cpu_count() or 1):
        assert min(walls) < 0.5


@pytest.mark.parametrize("name", ["up", "catalog", "eligibility", "notify", "audit", "clients", "ops", "docs"])
def test_every_subcommand_loads_with_its_own_help(name):
    from typer.testing import CliRunner

    from iub_cli.main import COMMANDS, app

    result = CliRunner().invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert COMMANDS[name][2].split()[0] in result.output
    if name == "docs":
        assert "build" in result.output  # a one-command group stays a group: `iub docs build`
