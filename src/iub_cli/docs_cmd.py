"""``iub docs build [--check]``: the generated documents in docs/ — AsyncAPI, OpenAPI, JSON Schemas.

- docs/asyncapi/<service>.yaml: what ``faststream docs gen --yaml iub_<service>.app:create_app
  --factory`` writes, for every stream service, and for intake from its broker;
- docs/openapi/intake.json: the intake HTTP API (``app.openapi()``);
- docs/schemas/<module>/<Model>.json: ``model_json_schema()`` of every contract model.

The apps are built with fixed settings (a placeholder Redis URL, no environment) and the per-process
consumer names are replaced by ``<host>-<pid>``, so the output depends on the code only.
``--check`` writes nothing and exits 1 when a committed file differs, is missing or is stale.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
import yaml
from pydantic import BaseModel

STREAM_SERVICES = ("eligibility", "audit", "notify")
CONTRACT_MODULES = ("messages", "records", "api", "catalog", "decision", "facts")
GENERATED_DIRS = ("asyncapi", "openapi", "schemas")
DOC_REDIS_URL = "redis://redis:6379/0"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

docs_app = typer.Typer(help="Generated documentation: AsyncAPI, OpenAPI and contract JSON Schemas.",
                       no_args_is_help=True)


# ---------------------------------------------------------------- pure: rendering and comparing


def replace_strings(value: Any, old: str, new: str) -> Any:
    """A JSON value with ``old`` replaced by ``new`` in every string."""
    if isinstance(value, dict):
        return {k: replace_strings(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_strings(v, old, new) for v in value]
    return value.replace(old, new) if isinstance(value, str) else value


def dump_json(value: Any) -> str:
    """Stable JSON text (2-space indent, UTF-8, final newline)."""
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def dump_yaml(value: Any) -> str:
    """Stable YAML text (keys in document order, UTF-8)."""
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=100)


def compare(root: Path, generated: dict[str, str], existing: list[str]) -> list[str]:
    """Differences between the generated files and those under ``root`` (relative paths)."""
    problems = []
    for rel, text in sorted(generated.items()):
        path = root / rel
        if not path.exists():
            problems.append(f"missing  {rel}")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"differs  {rel}")
    problems += [f"stale    {rel}" for rel in sorted(set(existing) - set(generated))]
    return problems


def existing_files(root: Path) -> list[str]:
    """The files under the generated folders (relative paths)."""
    return sorted(str(p.relative_to(root)) for d in GENERATED_DIRS if (root / d).is_dir()
                  for p in (root / d).rglob("*") if p.is_file())


# ---------------------------------------------------------------- generating


def settings_for(cls: type, **overrides: Any) -> Any:
    """Settings with their defaults only (no environment), plus overrides."""
    return cls.model_construct(redis_url=DOC_REDIS_URL, **overrides)


def asyncapi_text(spec_factory: Any) -> str:
    """An AsyncAPI document as YAML, per-process consumer names made stable."""
    doc = spec_factory.to_specification().to_jsonable()
    # subscriber registration order can vary between runs: sort the named sections so the
    # generated file (and `iub docs build --check`) is stable
    for section in ("channels", "operations"):
        if isinstance(doc.get(section), dict):
            doc[section] = dict(sorted(doc[section].items()))
    for part, items in (doc.get("components") or {}).items():
        if isinstance(items, dict):
            doc["components"][part] = dict(sorted(items.items()))
    return dump_yaml(replace_strings(doc, f"{socket.gethostname()}-{os.getpid()}", "<host>-<pid>"))


def stream_service_docs() -> dict[str, str]:
    """docs/asyncapi/<service>.yaml of every FastStream service (its create_app factory)."""
    out = {}
    for service in STREAM_SERVICES:
        app_module = importlib.import_module(f"iub_{service}.app")
        settings_module = importlib.import_module(f"iub_{service}.settings")
        cls = getattr(settings_module, f"{service.capitalize()}Settings")
        app = app_module.create_app(settings_for(cls))
        out[f"asyncapi/{service}.yaml"] = asyncapi_text(app.schema)
    return out


def intake_docs() -> dict[str, str]:
    """docs/openapi/intake.json and, from its broker, docs/asyncapi/intake.yaml."""
    from faststream.specification import AsyncAPI

    from iub_intake.app import create_api
    from iub_intake.settings import IntakeSettings

    api = create_api(settings_for(IntakeSettings, auth_disabled=True))
    out = {"openapi/intake.json": dump_json(api.openapi())}
    broker = getattr(api.state, "broker", None)
    if broker is not None:
        out["asyncapi/intake.yaml"] = asyncapi_text(AsyncAPI(broker, title="iub intake", version=api.version))
    return out


def contract_models(module_name: str) -> list[type[BaseModel]]:
    """Public pydantic models defined in a contracts module."""
    module = importlib.import_module(f"iub_contracts.{module_name}")
    return [c for name, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, BaseModel) and c.__module__ == module.__name__ and not name.startswith("_")]


def schema_docs() -> dict[str, str]:
    """docs/schemas/<module>/<Model>.json of every contract model."""
    out = {}
    for module_name in CONTRACT_MODULES:
        for model in contract_models(module_name):
            schema = {"$schema": JSON_SCHEMA_DIALECT, **model.model_json_schema()}
            out[f"schemas/{module_name}/{model.__name__}.json"] = dump_json(schema)
    return out


GENERATORS: tuple[Callable[[], dict[str, str]], ...] = (stream_service_docs, intake_docs, schema_docs)


def generate() -> dict[str, str]:
    """Every generated document: relative path → text."""
    out: dict[str, str] = {}
    for gen in GENERATORS:
        out.update(gen())
    return out


@docs_app.command("build")
def build(
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 if docs/ is not what the code generates"),
    out: Path = typer.Option(Path("docs"), help="Where the documents go"),
) -> None:
    """Write the AsyncAPI of every service, intake's OpenAPI and the contracts' JSON Schemas."""
    generated = generate()
    problems = compare(out, generated, existing_files(out))
    if check:
        if problems:
            typer.echo("docs/ is not up to date with the code (run `iub docs build` or `make docs`):", err=True)
            for p in problems:
                typer.echo(f"  {p}", err=True)
            raise typer.Exit(1)
        typer.echo(f"docs up to date ({len(generated)} files)")
        return
    for rel in set(existing_files(out)) - set(generated):
        (out / rel).unlink()
    for rel, text in generated.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {len(generated)} files to {out}/" + (f" ({len(problems)} changed)" if problems else ""))
