"""Prompts: YAML files shipped as package data in ``prompts/``, rendered strictly.

Each file has ``system`` and ``user`` templates with ``{name}`` placeholders, and ``variables``,
the names it needs. Rendering with a missing or an unexpected variable is an error
(:class:`PromptError`), never a silently empty slot. Values are inserted as they are: braces in
article text are not read as placeholders.
"""

from __future__ import annotations

import logging
import string
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from index.errors import PromptError

log = logging.getLogger(__name__)

PACKAGE = "prompts"


@dataclass(frozen=True)
class Prompt:
    name: str
    system: str
    user: str
    variables: frozenset[str]
    description: str = ""

    def render(self, **values: Any) -> tuple[str, str]:
        """The (system, user) texts with every placeholder filled."""
        given = set(values)
        missing = self.variables - given
        if missing:
            raise PromptError(
                f"prompt {self.name!r} needs {', '.join(sorted(missing))}; "
                f"it was given {', '.join(sorted(given)) or 'nothing'}."
            )
        extra = given - self.variables
        if extra:
            raise PromptError(
                f"prompt {self.name!r} has no variable {', '.join(sorted(extra))} "
                f"(it uses {', '.join(sorted(self.variables))})."
            )
        texts = {key: str(value) for key, value in values.items()}
        return self.system.format_map(texts), self.user.format_map(texts)


def placeholders(template: str) -> set[str]:
    """The ``{name}`` placeholders of a template (``{{`` and ``}}`` are literal braces)."""
    names = set()
    for _, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise PromptError(f"unsupported placeholder {{{field}}} in a prompt; use {{name}}")
        names.add(field)
    return names


def parse_prompt(name: str, text: str) -> Prompt:
    """Build a :class:`Prompt` from a YAML document, checking that it declares what it uses."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PromptError(f"prompts/{name}.yaml is not valid YAML: {error}") from error
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), str) for k in ("system", "user")
    ):
        raise PromptError(f"prompts/{name}.yaml needs the text fields 'system' and 'user'.")
    declared = frozenset(str(v) for v in data.get("variables") or [])
    used = placeholders(data["system"]) | placeholders(data["user"])
    if used != declared:
        raise PromptError(
            f"prompts/{name}.yaml declares variables {sorted(declared)} but its templates use "
            f"{sorted(used)}; make the 'variables' list match."
        )
    return Prompt(name, data["system"], data["user"], declared, str(data.get("description", "")))


@lru_cache(maxsize=16)
def load_prompt(name: str) -> Prompt:
    """The prompt ``prompts/<name>.yaml`` from the installed package."""
    resource = resources.files(PACKAGE).joinpath(f"{name}.yaml")
    if not resource.is_file():
        raise PromptError(
            f"no prompt named {name!r} in the {PACKAGE} package; reinstall newsbot "
            "(`pip install -e .`) so the prompt files are installed."
        )
    log.debug("loading prompt %s", name)
    return parse_prompt(name, resource.read_text(encoding="utf-8"))
