"""Read the Dockerfile's final stage: its base image, environment, user and start command."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
DOCKERFILE = REPOSITORY / "Dockerfile"


@dataclass
class Stage:
    """One `FROM` stage: its base, `RUN` commands, `ENV` values, `USER`, exec-form start command."""

    base: str
    runs: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    user: str = "root"
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        result.append((keyword.upper(), arguments.strip()))
        pending = ""
    return result


def stages(path: Path = DOCKERFILE) -> list[Stage]:
    """Every stage, `ARG` defaults substituted into `FROM` (enough for this Dockerfile)."""
    args: dict[str, str] = {}
    result: list[Stage] = []
    for keyword, arguments in instructions(path.read_text()):
        if keyword == "ARG" and not result:
            name, _, default = arguments.partition("=")
            args[name] = default
        elif keyword == "FROM":
            image = arguments.split()[0]
            for name, value in args.items():
                image = image.replace("${" + name + "}", value)
            result.append(Stage(base=image))
        elif keyword == "RUN":
            result[-1].runs.append(arguments)
        elif keyword == "ENV":
            result[-1].env.update(dict(item.split("=", 1) for item in shlex.split(arguments)))
        elif keyword == "USER":
            result[-1].user = arguments
        elif keyword == "ENTRYPOINT":
            result[-1].entrypoint = json.loads(arguments)
        elif keyword == "CMD":
            result[-1].cmd = json.loads(arguments)
    return result
