"""The plugin's options, read once per session, and which TOML files are scenarios."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest


def add_options(parser: pytest.Parser) -> None:
    """``--ringlab-*`` options and the ``ringlab_scenarios`` ini option."""
    group = parser.getgroup("ringlab", "ringlab scenario files")
    group.addoption("--ringlab-seed", type=int, metavar="N", help="Override every scenario's seed.")
    group.addoption(
        "--ringlab-out",
        default="reports/pytest",
        metavar="DIR",
        help="Where each run's report folder goes (default: reports/pytest).",
    )
    group.addoption(
        "--ringlab-clock", choices=("real", "virtual"), help="Override every scenario's clock."
    )
    group.addoption(
        "--ringlab-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Override a scenario key, as `ringlab run --set` (repeatable).",
    )
    parser.addini(
        "ringlab_scenarios",
        type="args",
        default=[],
        help="Globs (from the ini file's directory) of TOML files that are ringlab scenarios.",
    )


@dataclass(frozen=True)
class Settings:
    """The ``--ringlab-*`` options and the collection rule's inputs."""

    changes: dict[str, Any]  # dotted key -> value, as `ringlab run` builds them
    seed: int | None  # every scenario's seed, if given
    sets: tuple[str, ...]  # the same as `--set` texts, for replay commands
    out_root: Path
    explicit_files: frozenset[Path]
    explicit_dirs: tuple[Path, ...]
    globs: tuple[str, ...]
    glob_root: Path


_SETTINGS = pytest.StashKey[Settings]()


def settings(config: pytest.Config) -> Settings:
    """The options, parsed once per session (and only when a ``.toml`` file is met)."""
    if _SETTINGS in config.stash:
        return config.stash[_SETTINGS]
    base = config.invocation_params.dir
    sets = list(config.getoption("ringlab_set"))
    changes = dict(_override(text) for text in sets)
    if (clock := config.getoption("ringlab_clock")) is not None:
        changes["clock"] = clock
        sets.append(f"clock={clock}")
    files: set[Path] = set()
    dirs: list[Path] = []
    # only what the user named: testpaths and the bare invocation directory are not "named"
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        for arg in config.args:
            path = absolute(base / arg.split("::", 1)[0])
            if path.is_dir():
                dirs.append(path)
            else:
                files.add(path)
    result = Settings(
        changes=changes,
        seed=config.getoption("ringlab_seed"),
        sets=tuple(sets),
        out_root=absolute(base / config.getoption("ringlab_out")),
        explicit_files=frozenset(files),
        explicit_dirs=tuple(dirs),
        globs=tuple(config.getini("ringlab_scenarios")),
        glob_root=config.inipath.parent if config.inipath else config.rootpath,
    )
    config.stash[_SETTINGS] = result
    return result


def absolute(path: Path) -> Path:
    """``path`` made absolute and normalised."""
    # normalised but not resolved: pytest hands collect hooks unresolved paths too
    return Path(os.path.abspath(path))


def check_sets(config: pytest.Config) -> None:
    """Raise :class:`pytest.UsageError` for a ``--ringlab-set`` that is not key=value."""
    for text in config.getoption("ringlab_set"):
        _override(text)


def _override(text: str) -> tuple[str, Any]:
    """``key=value`` -> (key, value), the value read as TOML or else as a bare word."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise pytest.UsageError(f"--ringlab-set: expected key=value, got {text!r}")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.strip(), value


def matches(path: Path, settings: Settings) -> bool:
    """Whether ``path`` matches a glob of the ``ringlab_scenarios`` ini option."""
    if not settings.globs or not path.is_relative_to(settings.glob_root):
        return False
    relative = path.relative_to(settings.glob_root).as_posix()
    return any(fnmatch(relative, glob) for glob in settings.globs)


_TOP_KEY = re.compile(r"^\s*([A-Za-z_]+)\s*=", re.M)
_GROUP = re.compile(r"^\s*\[\[\s*(operators|visitors)\s*\]\]", re.M)


def looks_like_scenario(path: Path) -> bool:
    """Top-level ``name`` and ``duration``, and ``operators`` or ``visitors``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        # a scenario with a syntax error must fail, not vanish: judge by its lines instead
        top = re.split(r"^\s*\[", text, maxsplit=1, flags=re.M)[0]
        keys = set(_TOP_KEY.findall(top))
        grouped = _GROUP.search(text) is not None or bool(keys & {"operators", "visitors"})
        return {"name", "duration"} <= keys and grouped
    return {"name", "duration"} <= data.keys() and bool(data.keys() & {"operators", "visitors"})


def shown(path: Path, config: pytest.Config) -> str:
    """A path as the user would type it: relative to where pytest was started, if inside."""
    base = config.invocation_params.dir
    return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)


def explicit(path: Path, settings: Settings) -> bool:
    """Whether ``path`` is a scenario by the collection rule (see the package docstring)."""
    path = absolute(path)
    if path in settings.explicit_files or matches(path, settings):
        return True
    return any(path.is_relative_to(d) for d in settings.explicit_dirs) and looks_like_scenario(path)
