"""Reviewed templates, loaded from a folder: ``<lang>.txt.j2``, overridden by ``<kommun>/<lang>.txt.j2``.

Adding a language is adding a generic file; a kommun overrides blocks (how to apply, how consent
is given, contact routes) in its own folder and inherits the rest. The template id recorded
with every text names the file used and a hash of the whole folder, so the proof says exactly
which reviewed wording a person got.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from iub_notify.domain.information import (
    DEFAULT_LANGUAGE,
    InformationContext,
    InformationText,
    and_list,
    choose_language,
    long_date,
)

DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
SUFFIX = ".txt.j2"


def _folder_hash(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob(f"*{SUFFIX}")):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def tidy(text: str) -> str:
    """Plain text for SMS, app and the agent's screen: no blank lines, no trailing spaces."""
    return "\n".join(line.rstrip() for line in text.strip().splitlines() if line.strip())


class Templates:
    """The information templates of one folder, rendered for one request at a time."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory else DEFAULT_TEMPLATES_DIR
        self.languages = tuple(sorted(p.name[: -len(SUFFIX)] for p in self.directory.glob(f"*{SUFFIX}")))
        if DEFAULT_LANGUAGE not in self.languages:
            raise FileNotFoundError(f"{self.directory}: no {DEFAULT_LANGUAGE}{SUFFIX}")
        self.version = _folder_hash(self.directory)
        self.env = Environment(
            loader=FileSystemLoader(str(self.directory)),
            undefined=StrictUndefined,
            autoescape=False,  # plain text, never HTML
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def kommun_overrides(self) -> dict[str, tuple[str, ...]]:
        """Kommuner with their own folder and the languages they override."""
        return {
            d.name: tuple(sorted(p.name[: -len(SUFFIX)] for p in d.glob(f"*{SUFFIX}")))
            for d in sorted(self.directory.iterdir())
            if d.is_dir()
        }

    def _pick(self, kommun_id: str | None, lang: str) -> str:
        candidates = [f"{kommun_id}/{lang}{SUFFIX}"] if kommun_id else []
        candidates.append(f"{lang}{SUFFIX}")
        return self.env.select_template(candidates).name

    def render(self, ctx: InformationContext, requested_language: str) -> InformationText:
        """Render the information in the requested language (Swedish when it is missing)."""
        lang, fallback = choose_language(requested_language, self.languages)
        name = self._pick(ctx.kommun_id, lang)
        fields = {f.name: getattr(ctx, f.name) for f in dataclasses.fields(ctx)}
        text = self.env.get_template(name).render(
            **fields,
            language=lang,
            long_date=lambda d: long_date(d, lang),
            and_list=lambda items: and_list(items, lang),
        )
        return InformationText(
            text=tidy(text),
            template=f"information/{name[: -len(SUFFIX)]}@{self.version}",
            language=lang,
            language_requested=requested_language,
            fallback=fallback,
        )
