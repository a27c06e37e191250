"""`iub clients new` for providers (issue 10): one kommun, catalogue units, provider operations."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from iub_cli.main import app
from iub_runtime.auth import ClientConfig, ClientRegistry, Operation

runner = CliRunner()
UNIT = "Social- och arbetsmarknadskontoret, Sala kommun"


def test_a_provider_key_is_scoped_to_a_kommun_its_units_and_provider_operations(tmp_path):
    r = runner.invoke(app, ["clients", "new", "--id", "sala-sak", "--kommun", "sala", "--unit", UNIT,
                            "--op", "provider:read", "--op", "provider:write"])
    assert r.exit_code == 0, r.output
    entry = ClientConfig.model_validate(json.loads(r.stdout[r.stdout.index("{"):]))
    assert entry.units == [UNIT] and set(entry.operations) == {Operation.PROVIDER_READ, Operation.PROVIDER_WRITE}
    assert entry.sees_unit("sala", UNIT) and not entry.sees_unit("sala", "Familjecentralen")
    assert not entry.sees_unit("mellerud", UNIT)
    path = tmp_path / "clients.json"
    path.write_text(json.dumps({"clients": [entry.model_dump(mode="json")]}))
    assert ClientRegistry.from_file(path).clients[0].units == [UNIT]
    checked = runner.invoke(app, ["clients", "check", str(path)])
    assert checked.exit_code == 0 and "sala-sak" in checked.output


def test_a_unit_the_kommun_does_not_have_and_a_provider_without_units_are_refused():
    typo = runner.invoke(app, ["clients", "new", "--id", "x", "--kommun", "sala", "--unit", "Familjestöd Brygan",
                               "--op", "provider:read"])
    assert typo.exit_code == 1 and "units not in the catalogue of sala" in typo.output
    none = runner.invoke(app, ["clients", "new", "--id", "x", "--kommun", "sala", "--op", "provider:read"])
    assert none.exit_code == 1 and "one kommun and at least one unit" in none.output
