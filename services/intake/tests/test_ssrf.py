"""No server-side request forgery through callback URLs (issue 13, point 5).

Every form that got through the attack (127.0.0.1, 2130706433, user:pw@, the Redis port, the
audit port, intake itself) and its relatives are refused with 422 before anything reaches the
stream, for a client with configured prefixes, a client without any, and a client whose prefix
was (mis)configured on loopback. Names are resolved by a fake resolver, so the tests need no DNS.
"""

from __future__ import annotations

import ipaddress

import pytest
from intake_support import KEYS, client_configs, make_settings, started, xlen

from iub_intake.app import create_api
from iub_runtime import urlpolicy
from iub_runtime.auth import ClientConfig, ClientRegistry, Operation, hash_key, new_key

APP = [Operation.CATALOG_READ, Operation.REQUESTS_CREATE, Operation.REQUESTS_READ, Operation.PREVIEW]
PREFIXED_KEY, LOOPBACK_KEY = new_key(), new_key()
PREFIX = "https://app.example.se/iub/callback/"
NAMES = {  # the fake DNS: app.example.se is public, the others point inwards
    "rebind.example.se": ["93.184.216.34", "127.0.0.1"],
    "metadata.example.se": ["169.254.169.254"],
    "v6.example.se": ["::ffff:10.0.0.1"],
}
PUBLIC = "93.184.216.34"


async def fake_resolver(host: str, _port: int) -> list[str]:
    return [PUBLIC] if host == "app.example.se" else NAMES.get(host, [])


def clients() -> ClientRegistry:
    prefixed = ClientConfig(id="app-prefixed", name="app", key_sha256=[hash_key(PREFIXED_KEY)], kommuner=["*"],
                            operations=APP, callback_url_prefixes=[PREFIX, "https://rebind.example.se/",
                                                                   "https://metadata.example.se/",
                                                                   "https://v6.example.se/"])
    loopback = ClientConfig(id="app-loopback", name="misconfigured", key_sha256=[hash_key(LOOPBACK_KEY)],
                            kommuner=["*"], operations=APP,
                            callback_url_prefixes=["http://127.0.0.1:6379/", "http://127.0.0.1:8082/",
                                                   "http://127.0.0.1:8080/", "http://localhost.example.se/"])
    return ClientRegistry([*client_configs(), prefixed, loopback])


@pytest.fixture
async def ssrf_http(clean_redis):
    async with started(create_api(make_settings(clean_redis), clients(), resolver=fake_resolver)) as client:
        yield client


def body(url: str) -> dict:
    return {"kommun": "sala", "insats_id": "budgetradgivning", "facts": {"stated_age": 40},
            "delivery": {"kind": "app_callback", "callback_url": url}}


ATTACKS = [
    "http://127.0.0.1/", "https://127.0.0.1/iub/callback/", "http://2130706433/", "https://2130706433/",
    "http://0x7f.1/", "http://0x7f000001/", "http://0177.0.0.1/", "http://127.1/", "http://127.0.1/",
    "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[0:0:0:0:0:ffff:127.0.0.1]/",
    "http://user:pw@app.example.se/iub/callback/", "https://user:pw@app.example.se/iub/callback/x",
    "https://app.example.se@127.0.0.1/iub/callback/", "https://:@app.example.se/iub/callback/",
    "http://127.0.0.1:6379/", "http://localhost:6379/", "http://127.0.0.1:8082/v1/insyn",
    "http://127.0.0.1:8080/v1/requests", "http://localhost:8080/ops", "http://0.0.0.0:8080/",
    "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/latest/meta-data/",
    "http://10.0.0.1/", "http://192.168.1.1/", "http://172.16.0.1/", "http://[fe80::1]/", "http://224.0.0.1/",
    "https://app.example.se.evil.example/iub/callback/", "https://app.example.se:8443/iub/callback/",
    "https://app.example.se/iub/callback/../../admin", "https://app.example.se/iub/callbackx",
    "http://app.example.se/iub/callback/",  # the prefix is https
    "https://rebind.example.se/x", "https://metadata.example.se/x", "https://v6.example.se/x",
    "https://unresolvable.example.se/x", "https://app.example.se%2e/iub/callback/", "gopher://127.0.0.1:6379/",
    "file:///etc/passwd", "https://app.example.se\\@127.0.0.1/iub/callback/",
]


@pytest.mark.parametrize("url", ATTACKS)
@pytest.mark.parametrize("key", ["app-sala", "prefixed", "loopback"])
async def test_a_callback_into_the_house_is_refused_before_anything_travels(ssrf_http, r, url, key):
    token = {"app-sala": KEYS["app-sala"], "prefixed": PREFIXED_KEY, "loopback": LOOPBACK_KEY}[key]
    resp = await ssrf_http.post("/v1/requests", json=body(url), headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 422, resp.text
    problem = resp.json()
    assert problem["errors"][0]["field"] == "delivery.callback_url"
    assert url not in resp.text and "127.0.0.1" not in resp.text
    assert xlen(r) == 0


async def test_a_callback_under_the_clients_prefix_to_a_public_address_is_accepted(ssrf_http, r):
    resp = await ssrf_http.post("/v1/requests", json=body(PREFIX + "abc?x=1"),
                                headers={"Authorization": f"Bearer {PREFIXED_KEY}"})
    assert resp.status_code == 202, resp.text
    assert xlen(r) == 1


async def test_a_client_without_prefixes_may_not_use_callbacks_at_all(ssrf_http, r):
    resp = await ssrf_http.post("/v1/requests", json=body(PREFIX),
                                headers={"Authorization": f"Bearer {KEYS['app-sala']}"})
    assert resp.status_code == 422
    assert xlen(r) == 0


async def test_loopback_callbacks_need_the_explicit_setting_which_is_off_by_default(clean_redis, r):
    assert make_settings(clean_redis).callback_allowed_networks == []
    settings = make_settings(clean_redis, callback_allowed_networks=["127.0.0.0/8"])
    async with started(create_api(settings, clients(), resolver=fake_resolver)) as http:
        ok = await http.post("/v1/requests", json=body("http://127.0.0.1:8080/v1/requests"),
                             headers={"Authorization": f"Bearer {LOOPBACK_KEY}"})
        assert ok.status_code == 202, ok.text
        # the explicit network never opens odd forms, credentials or metadata
        for url in ("http://2130706433:8080/v1/requests", "http://u:p@127.0.0.1:8080/v1/requests",
                    "http://127.1:8080/v1/requests"):
            resp = await http.post("/v1/requests", json=body(url), headers={"Authorization": f"Bearer {LOOPBACK_KEY}"})
            assert resp.status_code == 422, url
    assert urlpolicy.address_refusal(ipaddress.ip_address("169.254.169.254"),
                                     urlpolicy.networks(["169.254.0.0/16"])) == "metadataadress"


def test_a_prefix_with_credentials_or_an_odd_host_is_refused_when_clients_are_loaded():
    for bad in ("https://u:p@app.example.se/", "http://2130706433/", "ftp://app.example.se/", "https://127.1/"):
        with pytest.raises(ValueError, match="callback_url_prefixes"):
            ClientConfig(id="x", name="x", key_sha256=["0" * 64], kommuner=["*"], operations=APP,
                         callback_url_prefixes=[bad])
