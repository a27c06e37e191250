"""`iub up` generates the run's signing secrets into a 0600 file and prints where (issue 13, point 7)."""

from __future__ import annotations

import stat

from iub_cli.up import run_secrets
from iub_runtime.signing import secret_problem


def test_iub_up_generates_fresh_secrets_per_run_into_a_private_file(tmp_path, monkeypatch):
    monkeypatch.delenv("IUB_SIGNING_SECRET", raising=False)
    monkeypatch.delenv("IUB_DEV_WEBHOOK_SECRET", raising=False)
    first, first_path, generated = run_secrets(tmp_path)
    second, path, _ = run_secrets(tmp_path)
    assert path == first_path == tmp_path / "secrets" / "run.env"
    assert set(first) == set(generated) == {"IUB_SIGNING_SECRET", "IUB_DEV_WEBHOOK_SECRET"}
    for name, value in first.items():
        assert secret_problem(value) is None and value != second[name]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "".join(f"{k}={v}\n" for k, v in second.items())


def test_a_secret_from_the_environment_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("IUB_SIGNING_SECRET", "whsec_c2FsYS10ZWxlZm9uaS1zZWNyZXQtMzItYnl0ZXMhIQ==")
    values, _, generated = run_secrets(tmp_path)
    assert values["IUB_SIGNING_SECRET"] == "whsec_c2FsYS10ZWxlZm9uaS1zZWNyZXQtMzItYnl0ZXMhIQ=="
    assert "IUB_SIGNING_SECRET" not in generated
