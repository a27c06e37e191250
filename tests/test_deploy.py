"""deploy/ offline: the files parse, and every setting the services read is named in compose and in the manifests.

The settings are read from the pydantic-settings classes at test time (RuntimeSettings and each
service's *Settings), so a new setting fails here until deploy/ names it. A setting left unset
on purpose is named in `x-iub-unset` (compose) or the `iub.kommun.se/unset-settings` annotation
(Kubernetes), with its reason in the file.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from iub_runtime.auth import ClientRegistry
from iub_runtime.settings import RuntimeSettings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
BASE = DEPLOY / "k8s" / "base"
OVERLAY = DEPLOY / "k8s" / "overlays" / "example-kommun"
SERVICES = ("intake", "eligibility", "audit", "notify")
UNSET_ANNOTATION = "iub.kommun.se/unset-settings"
# named in deploy/ ahead of the code reading them (the runtime owner adds them); see the report in issue 7
ANTICIPATED = {"IUB_METRICS_HOST": "RuntimeSettings.metrics_host: bind /health and /metrics on the pod IP"}


# ---------------------------------------------------------------- the settings the code reads


def env_names(cls: type[BaseSettings]) -> set[str]:
    """Environment variable names a settings class reads (validation_alias, else prefix + NAME)."""
    prefix = cls.model_config.get("env_prefix", "")
    names = set()
    for name, info in cls.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, str):
            names.add(alias.upper())
        elif isinstance(alias, AliasChoices):
            names.update(str(c).upper() for c in alias.choices if isinstance(c, str))
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def settings_class(service: str) -> type[BaseSettings]:
    """The service's settings class: the BaseSettings subclass defined in iub_<service>.settings."""
    module = importlib.import_module(f"iub_{service}.settings")
    found = [c for _, c in inspect.getmembers(module, inspect.isclass)
             if issubclass(c, BaseSettings) and c.__module__ == module.__name__]
    assert len(found) == 1, f"iub_{service}.settings should define one settings class, found {found}"
    return found[0]


def settings_of(service: str) -> set[str]:
    """Every env name a service reads (its class includes RuntimeSettings' fields)."""
    cls = settings_class(service)
    assert issubclass(cls, RuntimeSettings)
    return env_names(cls) | env_names(RuntimeSettings)


def is_setting_name(name: str) -> bool:
    """Whether an env name belongs to the services' settings namespace."""
    return name.startswith("IUB_") or name == "REDIS_URL"


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an env file (comments and blank lines skipped)."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path}: not KEY=VALUE: {key}"
            out[key.strip()] = value.strip()
    return out


def example_of(path: Path) -> Path:
    """The committed example of a secret file that is not committed."""
    return path.with_name(path.name + ".example")


COMPOSE_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}")


def interpolate(value: str) -> str:
    """Compose's ${VAR:-default} with the default (no environment)."""
    return COMPOSE_VAR.sub(lambda m: m.group(2) or "", value)


def validate_settings(service: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Build the service's settings from exactly this environment (raises when a value is invalid)."""
    import os

    for name in list(os.environ):
        if is_setting_name(name):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings_class(service)()


# ---------------------------------------------------------------- compose


@dataclass
class ComposeService:
    """What a compose service names: its environment (env files from their examples) and unset list."""

    env: dict[str, str]
    unset: dict[str, str]
    raw: dict[str, Any]


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def compose_service(name: str) -> ComposeService:
    svc = compose()["services"][name]
    env: dict[str, str] = {}
    for ref in svc.get("env_file", []):
        path = ref if isinstance(ref, str) else ref["path"]
        env.update(read_env_file(example_of(COMPOSE.parent / path)))
    raw_env = svc.get("environment", {})
    if isinstance(raw_env, list):
        raw_env = dict(item.partition("=")[::2] for item in raw_env)
    env.update({k: interpolate(str(v)) for k, v in raw_env.items() if v is not None})
    return ComposeService(env=env, unset=svc.get("x-iub-unset", {}) or {}, raw=svc)


# ---------------------------------------------------------------- kustomize (enough of it, offline)


def merge_patch(target: Any, patch: Any) -> Any:
    """A strategic-merge patch, simplified: maps deep-merged, lists of named maps merged by name."""
    if isinstance(target, dict) and isinstance(patch, dict):
        out = dict(target)
        for k, v in patch.items():
            out[k] = merge_patch(target[k], v) if k in target else v
        return out
    if isinstance(target, list) and isinstance(patch, list) and all(isinstance(p, dict) and "name" in p for p in patch):
        out = list(target)
        for p in patch:
            idx = next((i for i, t in enumerate(out) if isinstance(t, dict) and t.get("name") == p["name"]), None)
            if idx is None:
                out.append(p)
            else:
                out[idx] = merge_patch(out[idx], p)
        return out
    return patch


@dataclass
class Rendered:
    """Resources, ConfigMaps and Secrets (keys and example values) of a kustomization."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    configmaps: dict[str, dict[str, str]] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)

    def deployment(self, service: str) -> dict[str, Any]:
        (d,) = [r for r in self.resources if r["kind"] == "Deployment" and r["metadata"]["name"] == f"iub-{service}"]
        return d

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["kind"] == kind]


def _generated(directory: Path, gen: dict[str, Any], secret: bool) -> dict[str, str]:
    data: dict[str, str] = {}
    for literal in gen.get("literals", []):
        key, _, value = literal.partition("=")
        data[key] = value
    for env in gen.get("envs", []):
        path = directory / env
        data.update(read_env_file(example_of(path) if secret else path))
    for f in gen.get("files", []):
        key, _, src = f.rpartition("=")
        path = directory / src
        data[key or path.name] = (example_of(path) if secret else path).read_text(encoding="utf-8")
    return data


def render(directory: Path) -> Rendered:
    """Load a kustomization: resources (recursively), generators (create/merge) and patches."""
    kust = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    out = Rendered()
    for ref in kust.get("resources", []):
        path = directory / ref
        if path.is_dir():
            sub = render(path)
            out.resources += sub.resources
            out.configmaps.update(sub.configmaps)
            out.secrets.update(sub.secrets)
        else:
            out.resources += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    for key, target, secret in (("configMapGenerator", out.configmaps, False), ("secretGenerator", out.secrets, True)):
        for gen in kust.get(key, []):
            data = _generated(directory, gen, secret)
            if gen.get("behavior") == "merge":
                assert gen["name"] in target, f"{directory}: merge into unknown {gen['name']}"
                target[gen["name"]] = {**target[gen["name"]], **data}
            else:
                assert gen["name"] not in target, f"{directory}: {gen['name']} generated twice"
                target[gen["name"]] = data
    for p in kust.get("patches", []):
        patch = yaml.safe_load((directory / p["path"]).read_text(encoding="utf-8"))
        idx = next(i for i, r in enumerate(out.resources)
                   if r["kind"] == patch["kind"] and r["metadata"]["name"] == patch["metadata"]["name"])
        out.resources[idx] = merge_patch(out.resources[idx], patch)
    return out


def container_env(rendered: Rendered, service: str) -> tuple[dict[str, str | None], set[str]]:
    """The service container's environment (None: from a Secret not provided) and its unset names."""
    d = rendered.deployment(service)
    (c,) = [c for c in d["spec"]["template"]["spec"]["containers"] if c["name"] == service]
    env: dict[str, str | None] = {}
    for src in c.get("envFrom", []):
        if "configMapRef" in src:
            env.update(rendered.configmaps.get(src["configMapRef"]["name"], {}))
        if "secretRef" in src:
            env.update(rendered.secrets.get(src["secretRef"]["name"], {}))
    for e in c.get("env", []):
        ref = e.get("valueFrom", {}).get("secretKeyRef") or e.get("valueFrom", {}).get("configMapKeyRef")
        if ref is None:
            env[e["name"]] = e.get("value")
        else:
            store = rendered.secrets if "secretKeyRef" in e["valueFrom"] else rendered.configmaps
            env[e["name"]] = store.get(ref["name"], {}).get(ref["key"])
    unset = set((d["metadata"].get("annotations") or {}).get(UNSET_ANNOTATION, "").split())
    return env, unset


# ---------------------------------------------------------------- tests: files parse


YAML_FILES = sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yaml", ".yml"))


def test_deploy_has_compose_base_and_overlay() -> None:
    assert COMPOSE.exists() and (BASE / "kustomization.yaml").exists() and (OVERLAY / "kustomization.yaml").exists()


@pytest.mark.parametrize("path", YAML_FILES, ids=[str(p.relative_to(DEPLOY)) for p in YAML_FILES])
def test_every_yaml_file_in_deploy_parses(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    assert docs, f"{path} is empty"


@pytest.mark.parametrize("path", sorted(DEPLOY.rglob("clients.json.example")), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_the_example_client_files_load_as_client_registries(path: Path) -> None:
    assert ClientRegistry.from_json(path.read_text(encoding="utf-8")).clients


# ---------------------------------------------------------------- tests: compose


@pytest.mark.parametrize("service", SERVICES)
def test_every_setting_is_named_in_the_compose_file(service: str) -> None:
    svc = compose_service(service)
    missing = settings_of(service) - set(svc.env) - set(svc.unset)
    assert not missing, f"compose service {service} does not name {sorted(missing)}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_compose_file_names_only_settings_the_service_reads(service: str) -> None:
    svc = compose_service(service)
    named = {n for n in [*svc.env, *svc.unset] if is_setting_name(n)}
    unknown = named - settings_of(service) - set(ANTICIPATED)
    assert not unknown, f"compose service {service} names settings nobody reads: {sorted(unknown)}"
    assert not set(svc.env) & set(svc.unset), "a setting is both set and declared unset"


@pytest.mark.parametrize("service", SERVICES)
def test_the_compose_values_are_valid_settings(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    validate_settings(service, compose_service(service).env, monkeypatch)


@pytest.mark.parametrize("service", SERVICES)
def test_compose_runs_each_service_from_the_image_with_a_health_check_and_restart_policy(service: str) -> None:
    svc = compose_service(service).raw
    assert svc["command"] == ["python", "-m", f"iub_{service}"]
    assert svc["build"]["dockerfile"] == "deploy/Containerfile"
    assert svc["restart"] in ("always", "unless-stopped")
    assert "/health" in " ".join(svc["healthcheck"]["test"])
    assert svc["depends_on"]["redis"]["condition"] == "service_healthy"


def test_compose_redis_is_7_with_aof_and_appendfsync_always_and_postgres_is_15() -> None:
    services = compose()["services"]
    redis_cmd = " ".join(services["redis"]["command"])
    assert services["redis"]["image"].startswith("redis:7")
    assert "--appendonly yes" in redis_cmd and "--appendfsync always" in redis_cmd
    assert services["postgres"]["image"].startswith("postgres:15")
    assert compose_service("audit").env["IUB_DATABASE_URL"].startswith("postgresql")
    for name in ("redis", "postgres"):
        assert services[name]["healthcheck"] and services[name]["restart"] == "unless-stopped"


def test_every_compose_secret_file_has_a_committed_example_and_is_git_ignored() -> None:
    doc = compose()
    files = {ref if isinstance(ref, str) else ref["path"]
             for svc in doc["services"].values() for ref in svc.get("env_file", [])}
    files |= {s["file"] for s in doc.get("secrets", {}).values()}
    overlay = {src.rpartition("=")[2] for gen in yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())
               ["secretGenerator"] for src in [*gen.get("envs", []), *gen.get("files", [])]}
    paths = [COMPOSE.parent / f for f in files] + [OVERLAY / f for f in overlay]
    for path in paths:
        assert example_of(path).exists(), f"{example_of(path)} is missing"
    if shutil.which("git") and (ROOT / ".git").exists():
        args = [str(p.relative_to(ROOT)) for p in paths]
        ignored = subprocess.run(["git", "check-ignore", *args], cwd=ROOT, capture_output=True, text=True).stdout
        assert sorted(ignored.split()) == sorted(args), "secret files must be git-ignored"
        examples = [str(example_of(p).relative_to(ROOT)) for p in paths]
        leaked = subprocess.run(["git", "check-ignore", *examples], cwd=ROOT, capture_output=True, text=True).stdout
        assert not leaked.strip(), f"examples must be committed, not ignored: {leaked}"


# ---------------------------------------------------------------- tests: Kubernetes


@pytest.fixture(scope="module")
def base() -> Rendered:
    return render(BASE)


@pytest.fixture(scope="module")
def overlay() -> Rendered:
    return render(OVERLAY)


@pytest.mark.parametrize("service", SERVICES)
def test_every_setting_is_named_in_the_base_manifests(service: str, base: Rendered) -> None:
    env, unset = container_env(base, service)
    missing = settings_of(service) - set(env) - unset
    assert not missing, f"base Deployment iub-{service} does not name {sorted(missing)}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_setting_has_a_value_in_the_example_overlay(service: str, overlay: Rendered) -> None:
    env, unset = container_env(overlay, service)
    without = {n for n, v in env.items() if v is None}
    assert not without, f"overlay: {sorted(without)} of iub-{service} come from Secrets the overlay does not generate"
    missing = settings_of(service) - set(env) - unset
    assert not missing, f"overlay Deployment iub-{service} does not name {sorted(missing)}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_manifests_name_only_settings_the_service_reads(service: str, overlay: Rendered) -> None:
    env, unset = container_env(overlay, service)
    unknown = {n for n in [*env, *unset] if is_setting_name(n)} - settings_of(service) - set(ANTICIPATED)
    assert not unknown, f"iub-{service} names settings nobody reads: {sorted(unknown)}"
    assert not set(env) & unset, "a setting is both set and declared unset"


@pytest.mark.parametrize("service", SERVICES)
def test_the_overlay_values_are_valid_settings(service: str, overlay: Rendered, monkeypatch) -> None:
    env, _ = container_env(overlay, service)
    validate_settings(service, {k: v for k, v in env.items() if v is not None}, monkeypatch)


def test_every_secret_the_base_uses_is_generated_by_the_overlay(base: Rendered, overlay: Rendered) -> None:
    used = set()
    for d in base.of_kind("Deployment"):
        spec = d["spec"]["template"]["spec"]
        used |= {v["secret"]["secretName"] for v in spec.get("volumes", []) if "secret" in v}
        for c in spec["containers"]:
            used |= {e["valueFrom"]["secretKeyRef"]["name"] for e in c.get("env", [])
                     if "secretKeyRef" in e.get("valueFrom", {})}
    assert used and not base.secrets, "the base refers to Secrets and generates none (no secret is committed)"
    assert used <= set(overlay.secrets), f"not generated by the overlay: {sorted(used - set(overlay.secrets))}"


@pytest.mark.parametrize("service", SERVICES)
def test_each_deployment_has_health_probes_resources_and_a_disruption_budget(service: str, overlay: Rendered) -> None:
    d = overlay.deployment(service)
    spec = d["spec"]["template"]["spec"]
    (c,) = [c for c in spec["containers"] if c["name"] == service]
    assert c["command"] == ["python", "-m", f"iub_{service}"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    # the stream services' liveness does not depend on Redis (an outage must not restart every pod)
    separate = service in ("eligibility", "notify")
    for probe, path in (("readinessProbe", "/health/ready"), ("livenessProbe", "/health/live")):
        get = c[probe]["httpGet"]
        assert get["path"] == (path if separate else "/health") and get["port"] in ports
    env, _ = container_env(overlay, service)
    assert ports["metrics"] == int(env["IUB_METRICS_PORT"])
    if service == "intake":
        assert ports["http"] == int(env["IUB_PORT"]) == 8080
    assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    selector = d["spec"]["selector"]["matchLabels"]
    pdbs = [p for p in overlay.of_kind("PodDisruptionBudget") if p["spec"]["selector"]["matchLabels"] == selector]
    assert len(pdbs) == 1, f"iub-{service} needs exactly one PodDisruptionBudget"


def test_the_image_is_python_311_slim_synced_frozen_and_runs_as_a_non_root_user() -> None:
    text = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    assert "python:3.11-slim" in text
    assert "uv sync --frozen" in text
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert compose()["x-service"]["build"] == {"context": "..", "dockerfile": "deploy/Containerfile"}


# ---------------------------------------------------------------- alert rules and the Grafana dashboard (issue 14 (8))

PROMETHEUS = DEPLOY / "prometheus"
RULES = PROMETHEUS / "iub-alerts.yaml"
DASHBOARD = DEPLOY / "grafana" / "iub-dashboard.json"
METRIC_DEF = re.compile(r"""(Counter|Gauge|Histogram)\(\s*["'](iub_[a-z0-9_]+)["']""")
PROMQL_NAME = re.compile(r"\b(iub_[a-z0-9_]+|up)\b")
ALERTS = {"IubDeadLetters", "IubInformationFailing", "IubPendingTooOld", "IubLagHigh", "IubServiceDown"}


def promtool() -> str:
    """promtool (Debian package prometheus; .ci/install-system-deps.sh installs it), or skip — never in CI."""
    path = shutil.which("promtool")
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail("CI must validate the alert rules: install Debian's prometheus (bash .ci/install-system-deps.sh)")
    pytest.skip("promtool is missing: apt-get install prometheus")


def exported_metrics() -> set[str]:
    """Every series name the code exports (counters as _total, histograms with their _bucket, _sum, _count)."""
    names = set()
    for path in [*ROOT.glob("libs/*/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]:
        for kind, name in METRIC_DEF.findall(path.read_text(encoding="utf-8")):
            if kind == "Counter":
                names.add(name if name.endswith("_total") else f"{name}_total")
            elif kind == "Histogram":
                names.update(f"{name}{s}" for s in ("_bucket", "_sum", "_count"))
            else:
                names.add(name)
    return names


def dashboard_exprs() -> list[str]:
    doc = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]


def rule_exprs() -> dict[str, str]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return {r["alert"]: r["expr"] for g in groups for r in g["rules"]}


def test_promtool_checks_the_alert_rules_and_their_unit_tests() -> None:
    tool = promtool()
    for argv in ([tool, "check", "rules", str(RULES)],
                 [tool, "test", "rules", str(PROMETHEUS / "iub-alerts.test.yaml")],
                 [tool, "check", "config", "--syntax-only", str(PROMETHEUS / "prometheus.yml")]):
        done = subprocess.run(argv, capture_output=True, text=True, cwd=PROMETHEUS, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_alerts_cover_dead_letters_information_pending_age_lag_and_a_service_down() -> None:
    exprs = rule_exprs()
    assert set(exprs) >= ALERTS
    assert "iub_stream_dead_letters" in exprs["IubDeadLetters"] and "> 0" in exprs["IubDeadLetters"]
    assert 'status="failed"' in exprs["IubInformationFailing"]
    assert "iub_stream_oldest_pending_seconds" in exprs["IubPendingTooOld"]
    assert "iub_stream_lag" in exprs["IubLagHigh"]
    assert exprs["IubServiceDown"].startswith("up")


DASHBOARD_SCHEMA = {
    "type": "object",
    "required": ["uid", "title", "schemaVersion", "panels", "templating", "time"],
    "properties": {
        "uid": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,40}$"},
        "title": {"type": "string", "minLength": 1},
        "schemaVersion": {"type": "integer", "minimum": 30},
        "time": {"type": "object", "required": ["from", "to"]},
        "templating": {"type": "object", "required": ["list"]},
        "panels": {
            "type": "array", "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "type", "title", "gridPos"],
                "properties": {
                    "id": {"type": "integer"},
                    "type": {"enum": ["row", "stat", "timeseries", "gauge", "table", "text"]},
                    "title": {"type": "string", "minLength": 1},
                    "gridPos": {"type": "object", "required": ["x", "y", "w", "h"],
                                "properties": {"x": {"type": "integer", "minimum": 0, "maximum": 23},
                                               "w": {"type": "integer", "minimum": 1, "maximum": 24},
                                               "y": {"type": "integer", "minimum": 0},
                                               "h": {"type": "integer", "minimum": 1}}},
                    "targets": {"type": "array", "items": {
                        "type": "object", "required": ["refId", "expr", "datasource"],
                        "properties": {"expr": {"type": "string", "minLength": 1},
                                       "datasource": {"type": "object", "required": ["type", "uid"],
                                                      "properties": {"type": {"const": "prometheus"}}}}}},
                },
                "if": {"properties": {"type": {"not": {"const": "row"}}}},
                "then": {"required": ["targets", "datasource"], "properties": {"targets": {"minItems": 1}}},
            },
        },
    },
}


def test_the_grafana_dashboard_loads_and_is_well_formed() -> None:
    import jsonschema_rs  # JSON Schema 2020-12 validator (with schemathesis in the dev dependencies)

    doc = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    errors = [e.message for e in jsonschema_rs.validator_for(DASHBOARD_SCHEMA).iter_errors(doc)]
    assert errors == []
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    cells = set()
    for p in doc["panels"]:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
        mine = {(g["x"] + dx, g["y"] + dy) for dx in range(g["w"]) for dy in range(g["h"])}
        assert not cells & mine, f"panel {p['title']!r} overlaps another"
        cells |= mine


def test_every_dashboard_query_is_valid_promql_on_metrics_the_code_exports(tmp_path: Path) -> None:
    exprs = dashboard_exprs()
    known = exported_metrics() | {"up"}
    for expr in [*exprs, *rule_exprs().values()]:
        unknown = set(PROMQL_NAME.findall(expr)) - known
        assert not unknown, f"{expr!r} uses {sorted(unknown)}, which no service exports"
    # promtool parses each query as a recording rule: a syntax error fails here
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"iub:dashboard_query_{i}", "expr": e}
                                                        for i, e in enumerate(exprs)]}]}
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    done = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_dashboard_shows_every_figure_the_alerts_watch() -> None:
    shown = {n for e in dashboard_exprs() for n in PROMQL_NAME.findall(e)}
    watched = {n for e in rule_exprs().values() for n in PROMQL_NAME.findall(e)}
    assert watched <= shown


# ---------------------------------------------------------------- tests: HA (issue 12)

MANAGED = DEPLOY / "k8s" / "overlays" / "managed-redis"


@pytest.mark.parametrize("service", SERVICES)
def test_the_managed_redis_overlay_points_every_service_at_sentinels_and_waits_for_a_replica(
        service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rendered = render(MANAGED)
    env, unset = container_env(rendered, service)
    assert env["IUB_REDIS_MODE"] == "sentinel" and env["IUB_REDIS_SENTINELS"].count(":26379") == 3
    assert env["IUB_MIN_REPLICAS_ACK"] == "1" and env["IUB_REDIS_PASSWORD"]
    assert not settings_of(service) - set(env) - unset
    validate_settings(service, {k: v for k, v in env.items() if v is not None}, monkeypatch)
    assert not [r for r in rendered.resources if r["kind"] == "StatefulSet"], "no home-made Redis"
    if service == "audit":  # the audit store is PostgreSQL
        assert env["IUB_DATABASE_URL"].startswith("postgresql")


def test_the_compose_sentinel_profile_has_a_primary_a_replica_and_three_sentinels() -> None:
    doc = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    services = doc["services"]
    sentinels = [n for n, s in services.items() if "--sentinel" in " ".join(map(str, s.get("command", [])))]
    assert len(sentinels) == 3 and all(services[n]["profiles"] == ["sentinel"] for n in sentinels)
    assert services["redis-replica"]["profiles"] == ["sentinel"]
    assert "replicaof redis 6379" in " ".join(services["redis-replica"]["command"])
    assert all("sentinel monitor iub redis 6379 2" in " ".join(services[n]["command"]).replace("\n", " ")
               for n in sentinels)
    intake = compose_service("intake")
    assert intake.env["IUB_REDIS_SENTINELS"].split(",") == [f"{n}:26379" for n in sorted(sentinels)]
    assert services["postgres"]["image"].startswith("postgres:15")
