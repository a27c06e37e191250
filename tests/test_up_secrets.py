"""`iub up` generates the run's signing secrets into a 0600 file and prints where (issue 13, point 7)."""

from __future__ import annotations

import stat

from iub_cli.up import run_secrets
from iub_runtime.signing import secret_problem


def test_iub_up_generates_fresh_secrets_per_run_and_prints_only_where_they_are(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("IUB_SIGNING_SECRET", raising=False)
    monkeypatch.delenv("IUB_DEV_WEBHOOK_SECRET", raising=False)
    first = run_secrets(tmp_path)
    printed = capsys.readouterr().out
    second = run_secrets(tmp_path)
    path = tmp_path / "secrets" / "run.env"
    assert str(path) in printed
    assert set(first) == {"IUB_SIGNING_SECRET", "IUB_DEV_WEBHOOK_SECRET"}
    for name, value in first.items():
        assert secret_problem(value) is None and value != second[name] and value not in printed
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "".join(f"{k}={v}\n" for k, v in second.items())


def test_a_secret_from_the_environment_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("IUB_SIGNING_SECRET", "whsec_c2FsYS10ZWxlZm9uaS1zZWNyZXQtMzItYnl0ZXMhIQ==")
    assert run_secrets(tmp_path)["IUB_SIGNING_SECRET"] == "whsec_c2FsYS10ZWxlZm9uaS1zZWNyZXQtMzItYnl0ZXMhIQ=="
