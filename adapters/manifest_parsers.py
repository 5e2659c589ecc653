"""Parsers for dependency and build manifests: declared dependencies, scripts, targets, configured tools.

Each parser takes the manifest's text and returns a `Manifest`; a file that does
not parse becomes a Manifest with `error` set (one line, with the position when
the format reports one) rather than an exception, so one broken file never hides
the rest of the scan. Real parsers (tomllib, json, yaml, configparser), no
regexes over structured formats; the line formats (requirements, go.mod, Makefile,
Gemfile, justfile) are read line by line as their tools do.
"""

from __future__ import annotations

import configparser
import json
import posixpath
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import yaml
from pydantic_core import PydanticSerializationError

from domain.onboarding.classify import is_requirements_file
from domain.onboarding.facts import MAX_DEPENDENCIES, MAX_SCRIPTS, Manifest

_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_MAKE_TARGET = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.\-/ ]*?)\s*::?(?!=)")
_JUST_RECIPE = re.compile(r"^@?([A-Za-z0-9_][A-Za-z0-9_-]*)(?:\s+[^:=]*)?\s*:(?!=)")
_GEM = re.compile(r"""^\s*gem\s+['"]([^'"]+)['"]""")
_GO_REQUIRE = re.compile(r"^\s*(?:require\s+)?([\w.\-~/]+\.[\w.\-~/]+)\s+v[\w.\-+]+(\s*//\s*indirect)?")
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_LINE = 1000  # longer lines of line-based formats are skipped: no real declaration is that long


def _lines(text: str) -> list[str]:
    """The lines worth matching (bounded length keeps the regexes below linear on hostile input)."""
    return [line for line in text.splitlines() if len(line) <= MAX_LINE]


def _names(items: Iterable[Any]) -> list[str]:
    """Distinct requirement names (PEP 508 strings or plain keys), in declaration order, bounded."""
    found: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str):
            continue
        match = _REQUIREMENT_NAME.match(item)
        if match:
            found[match.group(1)] = None
        if len(found) >= MAX_DEPENDENCIES:
            break
    return list(found)


def _table(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _scripts(value: Any) -> dict[str, str]:
    return {str(k): str(v)[:200] for k, v in list(_table(value).items())[:MAX_SCRIPTS]}


def _pyproject(path: str, text: str) -> Manifest:
    data = tomllib.loads(text)
    project = _table(data.get("project"))
    poetry = _table(_table(data.get("tool")).get("poetry"))
    optional = _table(project.get("optional-dependencies"))
    groups = _table(data.get("dependency-groups"))
    dev: list[Any] = [d for deps in optional.values() for d in _list(deps)]
    dev += [d for deps in groups.values() for d in _list(deps)]
    dev += list(_table(poetry.get("dev-dependencies")))
    dev += [d for g in _table(poetry.get("group")).values() for d in _table(_table(g).get("dependencies"))]
    entry_points = list(_table(project.get("scripts"))) + list(_table(poetry.get("scripts")))
    return Manifest(
        path=path,
        kind="python",
        name=str(project.get("name") or poetry.get("name") or "") or None,
        # Poetry lists the Python version among the dependencies: it is no package.
        dependencies=_names(
            [*_list(project.get("dependencies")), *(d for d in _table(poetry.get("dependencies")) if d != "python")]
        ),
        dev_dependencies=_names(dev),
        entry_points=entry_points[:MAX_SCRIPTS],
        tools=list(_table(data.get("tool")))[:MAX_SCRIPTS],
        extras=list(optional)[:MAX_SCRIPTS],
        build_backend=str(_table(data.get("build-system")).get("build-backend") or "") or None,
    )


def _requirements(path: str, text: str) -> Manifest:
    lines = [line.split("#", 1)[0] for line in _lines(text) if not line.lstrip().startswith(("-", "#"))]
    return Manifest(path=path, kind="python", dependencies=_names(lines))


def _setup_cfg(path: str, text: str) -> Manifest:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    requires = parser.get("options", "install_requires", fallback="")
    name = parser.get("metadata", "name", fallback="") or None
    return Manifest(path=path, kind="python", name=name, dependencies=_names(requires.splitlines()))


def _pipfile(path: str, text: str) -> Manifest:
    data = tomllib.loads(text)
    return Manifest(
        path=path,
        kind="python",
        dependencies=_names(_table(data.get("packages"))),
        dev_dependencies=_names(_table(data.get("dev-packages"))),
    )


def _package_json(path: str, text: str) -> Manifest:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    binaries = data.get("bin")
    entry_points = [str(data.get("name", ""))] if isinstance(binaries, str) else list(_table(binaries))
    return Manifest(
        path=path,
        kind="node",
        name=str(data.get("name") or "") or None,
        dependencies=list(_table(data.get("dependencies")))[:MAX_DEPENDENCIES],
        dev_dependencies=list(_table(data.get("devDependencies")))[:MAX_DEPENDENCIES],
        scripts=_scripts(data.get("scripts")),
        entry_points=[e for e in entry_points if e][:MAX_SCRIPTS],
    )


def _cargo(path: str, text: str) -> Manifest:
    data = tomllib.loads(text)
    package = _table(data.get("package"))
    workspace = _table(data.get("workspace"))
    deps = list(_table(data.get("dependencies"))) + list(_table(workspace.get("dependencies")))
    bins = [str(_table(b).get("name")) for b in _list(data.get("bin")) if _table(b).get("name")]
    return Manifest(
        path=path,
        kind="rust",
        name=str(package.get("name") or "") or None,
        dependencies=deps[:MAX_DEPENDENCIES],
        dev_dependencies=list(_table(data.get("dev-dependencies")))[:MAX_DEPENDENCIES],
        entry_points=bins[:MAX_SCRIPTS],
    )


def _go_mod(path: str, text: str) -> Manifest:
    name = None
    deps: list[str] = []
    for line in _lines(text):
        stripped = line.strip()
        if stripped.startswith("module "):
            name = stripped.split(None, 1)[1].strip()
            continue
        match = _GO_REQUIRE.match(line)
        if match and not match.group(2) and not stripped.startswith(("module", "go ", "toolchain")):
            deps.append(match.group(1))
    return Manifest(path=path, kind="go", name=name, dependencies=list(dict.fromkeys(deps))[:MAX_DEPENDENCIES])


def _gemfile(path: str, text: str) -> Manifest:
    gems = [m.group(1) for m in map(_GEM.match, _lines(text)) if m]
    return Manifest(path=path, kind="ruby", dependencies=list(dict.fromkeys(gems))[:MAX_DEPENDENCIES])


def _composer(path: str, text: str) -> Manifest:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")

    def packages(key: str) -> list[str]:
        return [p for p in _table(data.get(key)) if p != "php" and not p.startswith("ext-")][:MAX_DEPENDENCIES]

    return Manifest(
        path=path,
        kind="php",
        name=str(data.get("name") or "") or None,
        dependencies=packages("require"),
        dev_dependencies=packages("require-dev"),
        scripts=_scripts(data.get("scripts")),
    )


def _pubspec(path: str, text: str) -> Manifest:
    data = yaml.load(text, Loader=_LOADER)  # a SafeLoader variant
    data = _table(data)
    return Manifest(
        path=path,
        kind="dart",
        name=str(data.get("name") or "") or None,
        dependencies=list(_table(data.get("dependencies")))[:MAX_DEPENDENCIES],
        dev_dependencies=list(_table(data.get("dev_dependencies")))[:MAX_DEPENDENCIES],
    )


def _makefile(path: str, text: str) -> Manifest:
    targets: dict[str, None] = {}
    for line in _lines(text):
        if not line or line[0] in "\t #.":
            continue
        match = _MAKE_TARGET.match(line)
        if match:
            for target in match.group(1).split():
                if "%" not in target and "$" not in target:
                    targets[target] = None
    return Manifest(path=path, kind="make", targets=list(targets)[:MAX_SCRIPTS])


def _justfile(path: str, text: str) -> Manifest:
    recipes = [m.group(1) for m in map(_JUST_RECIPE.match, _lines(text)) if m]
    return Manifest(path=path, kind="just", targets=list(dict.fromkeys(recipes))[:MAX_SCRIPTS])


_PARSERS: dict[str, Callable[[str, str], Manifest]] = {
    "pyproject.toml": _pyproject,
    "setup.cfg": _setup_cfg,
    "Pipfile": _pipfile,
    "package.json": _package_json,
    "Cargo.toml": _cargo,
    "go.mod": _go_mod,
    "Gemfile": _gemfile,
    "composer.json": _composer,
    "pubspec.yaml": _pubspec,
    "Makefile": _makefile,
    "justfile": _justfile,
    "Justfile": _justfile,
}


def parse_manifest(path: str, kind: str, text: str) -> Manifest:
    """The manifest at `path` (relative) of ecosystem `kind`; presence-only formats keep just the path."""
    name = posixpath.basename(path)
    parser = _PARSERS.get(name) or (_requirements if is_requirements_file(path) else None)
    if parser is None:
        return Manifest(path=path, kind=kind)
    try:
        manifest = parser(path, text)
        manifest.model_dump_json()  # JSON "\\ud800" escapes decode to lone surrogates, which nothing can store
        return manifest
    except RecursionError:  # tomllib and json recurse per nesting level
        return Manifest(path=path, kind=kind, error="nested too deeply to parse")
    except PydanticSerializationError:
        return Manifest(path=path, kind=kind, error="invalid Unicode escape (a lone surrogate)")
    except tomllib.TOMLDecodeError as exc:
        return Manifest(path=path, kind=kind, error=f"invalid TOML: {exc}")
    except json.JSONDecodeError as exc:
        return Manifest(path=path, kind=kind, error=f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return Manifest(path=path, kind=kind, error=f"invalid YAML{where}")
    except (configparser.Error, ValueError) as exc:
        return Manifest(path=path, kind=kind, error=" ".join(str(exc).split())[:200])
