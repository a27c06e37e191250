"""Client configuration: from a file or a variable, development mode only when asked, and the CLI helper."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from intake_support import CATALOG_DIR, clients_json, form_event, make_settings, signed, started
from typer.testing import CliRunner

from iub_cli.clients_cmd import clients_app
from iub_intake.app import create_api
from iub_intake.clients import ClientsConfigError, load_registry
from iub_runtime.auth import ClientRegistry, hash_key


def settings(**kw):
    return make_settings("redis://127.0.0.1:1/0", **kw)


def test_clients_are_read_from_a_variable():
    assert len(load_registry(settings(clients_json=clients_json())).clients) == 7


def test_clients_are_read_from_a_file(tmp_path):
    path = tmp_path / "clients.json"
    path.write_text(clients_json())
    assert load_registry(settings(clients_file=str(path))).by_id("phone-sala").webhook_secret


def test_development_mode_has_no_registry():
    assert load_registry(settings(auth_disabled=True)) is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({}, "no clients configured"),
     ({"clients_json": clients_json(), "auth_disabled": True}, "choose one"),
     ({"clients_json": '{"clients": []}'}, "lists no clients"),
     ({"clients_json": "{not json"}, "cannot be read"),
     ({"clients_json": json.dumps({"clients": [{"id": "x", "name": "x", "key_sha256": ["abc"], "kommuner": ["sala"],
                                                "operations": ["requests:create"]}]})}, "key_sha256"),
     ({"clients_json": json.dumps({"clients": [{"id": "t", "name": "t", "key_sha256": ["a" * 64],
                                                "kommuner": ["sala"], "operations": ["telephony:events"]}]})},
      "webhook_secret"),
     ({"clients_file": "/nonexistent/clients.json"}, "cannot be read")],
    ids=["nothing configured and no development mode", "clients and development mode at once",
         "an empty client list", "a variable that is not JSON", "a key hash that is not SHA-256 hex",
         "a telephony platform without a signing secret", "a file that does not exist"],
)
def test_intake_refuses_to_start_with_a_missing_or_contradictory_configuration(overrides, message):
    with pytest.raises(ClientsConfigError, match=message):
        create_api(settings(**overrides))


def test_a_configuration_error_never_prints_the_secrets():
    secret = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ=="
    bad = json.dumps({"clients": [{"id": "t", "name": "t", "key_sha256": ["a" * 64], "kommuner": [],
                                   "operations": ["telephony:events"], "webhook_secret": secret}]})
    with pytest.raises(ClientsConfigError) as info:
        load_registry(settings(clients_json=bad))
    assert secret not in str(info.value)


def test_python_m_iub_intake_without_clients_exits_with_the_reason(clean_redis):
    env = {"PATH": "/usr/bin:/bin", "REDIS_URL": clean_redis, "IUB_CATALOG_DIR": str(CATALOG_DIR)}
    done = subprocess.run([sys.executable, "-m", "iub_intake"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "IUB_AUTH_DISABLED=true" in done.stderr


async def test_development_mode_lets_every_caller_do_everything_but_unsigned_telephony(clean_redis):
    api = create_api(make_settings(clean_redis, auth_disabled=True))
    async with started(api) as http:
        body = {"kommun": "ostersund", "insats_id": "bra-samtal-vuxen", "facts": {"stated_age": 40}}
        assert (await http.post("/v1/requests", json=body)).status_code == 202
        assert (await http.get("/v1/kommuner")).status_code == 200
        assert (await http.post("/v1/telephony/events", content=b"{}")).status_code == 403


runner = CliRunner()


def test_the_cli_mints_a_key_whose_hash_is_in_the_printed_entry():
    result = runner.invoke(clients_app, ["new", "--id", "app-sala", "--kommun", "sala", "--op", "requests:create",
                                         "--op", "requests:read"])
    assert result.exit_code == 0, result.output
    key = result.stderr.split("): ")[1].split()[0]
    entry = json.loads(result.stdout)
    assert entry["key_sha256"] == [hash_key(key)]
    assert ClientRegistry.from_json(json.dumps({"clients": [entry]})).authenticate(key).id == "app-sala"


def test_the_cli_gives_a_telephony_platform_a_signing_secret():
    result = runner.invoke(clients_app, ["new", "--id", "kundcenter", "--kommun", "ostersund",
                                         "--op", "telephony:events"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["webhook_secret"].startswith("whsec_")


def test_the_cli_hashes_a_key_from_stdin():
    result = runner.invoke(clients_app, ["hash"], input="iub_example\n")
    assert result.stdout.strip() == hash_key("iub_example")


def test_the_cli_checks_a_clients_file_without_printing_secrets(tmp_path):
    path = tmp_path / "clients.json"
    path.write_text(clients_json())
    result = runner.invoke(clients_app, ["check", str(path)])
    assert result.exit_code == 0
    assert "phone-sala" in result.stdout
    assert "whsec_" not in result.stdout


async def test_development_mode_accepts_telephony_signed_with_the_dev_secret(clean_redis):
    secret = "dev-secret-at-least-16"
    api = create_api(make_settings(clean_redis, auth_disabled=True, dev_webhook_secret=secret))
    raw = form_event(stated_age=40, folkbokford_i_kommunen=True)
    headers = {k: v for k, v in signed("phone-sala", raw, secret=secret).items() if k != "Authorization"}
    async with started(api) as http:
        assert (await http.post("/v1/telephony/events", content=raw, headers=headers)).status_code == 202


@pytest.mark.parametrize("secret", ["dev-webhook-secret-change-me", "CHANGE-ME-long-random-signing-secret",
                                    "aaaaaaaaaaaaaaaaaaaa", "whsec_YWJjZGVmZ2hpams="])
def test_a_telephony_client_with_a_default_or_weak_webhook_secret_stops_intake(secret):
    data = json.loads(clients_json())
    next(c for c in data["clients"] if c["id"] == "phone-sala")["webhook_secret"] = secret
    with pytest.raises(ClientsConfigError, match="phone-sala: webhook_secret") as exc:
        load_registry(settings(clients_json=json.dumps(data)))
    assert secret not in str(exc.value)
    assert load_registry(settings(clients_json=json.dumps(data), dev_mode=True)) is not None
