from __future__ import annotations

import os
from pathlib import Path

import pytest

from infrastructure.settings import Settings, SettingsError


def test_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({}, cwd=tmp_path)
    assert settings.log_level == "INFO"
    assert settings.home == (Path.home() / ".cde").resolve()
    assert settings.project_root == tmp_path.resolve()
    assert settings.allowed_roots is not None and tmp_path.resolve() in settings.allowed_roots
    assert settings.tools == "all"
    assert settings.cache_maxsize is None


def test_values_are_parsed(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    env = {
        "CDE_LOG_LEVEL": "debug",
        "CDE_HOME": "home",
        "CDE_ALLOWED_ROOTS": os.pathsep.join(["/srv/a", "rel"]),
        "CDE_PROJECT_ROOT": "proj",
        "CDE_CACHE_MAXSIZE": "64",
        "CDE_CACHE_TTL": "2.5",
        "CDE_LOCK_TIMEOUT": "3",
        "CDE_TOOLS": "CORE",
    }
    settings = Settings.from_env(env, cwd=tmp_path)
    assert settings.log_level == "DEBUG"
    assert settings.home == (tmp_path / "home").resolve() or settings.home.name == "home"
    assert settings.allowed_roots == (Path("/srv/a"), (tmp_path / "rel").resolve())
    assert settings.project_root == (tmp_path / "proj").resolve()
    assert (settings.cache_maxsize, settings.cache_ttl, settings.lock_timeout) == (64, 2.5, 3.0)
    assert settings.tools == "core"


def test_a_server_started_in_the_filesystem_root_does_not_open_the_whole_disk(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    desktop = Settings.from_env({"CDE_PROJECT_ROOT": str(project)}, cwd=Path("/"))  # as Claude Desktop starts it
    assert desktop.allowed_roots is not None and Path("/") not in desktop.allowed_roots
    assert project.resolve() in desktop.allowed_roots
    bare = Settings.from_env({}, cwd=Path("/"))
    assert bare.allowed_roots is not None and Path("/") not in bare.allowed_roots
    # Asked for explicitly, the root is allowed.
    assert Settings.from_env({"CDE_ALLOWED_ROOTS": "/"}, cwd=Path("/")).allowed_roots == (Path("/"),)


def test_star_means_no_root_restriction(tmp_path: Path) -> None:
    assert Settings.from_env({"CDE_ALLOWED_ROOTS": "*"}, cwd=tmp_path).allowed_roots is None


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CDE_LOG_LEVEL", "loud", "CDE_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR; got 'loud'"),
        ("CDE_CACHE_MAXSIZE", "0", "CDE_CACHE_MAXSIZE must be an integer >= 1; got '0'"),
        ("CDE_CACHE_MAXSIZE", "lots", "CDE_CACHE_MAXSIZE must be an integer >= 1; got 'lots'"),
        ("CDE_CACHE_TTL", "-1", "CDE_CACHE_TTL must be a number of seconds > 0; got '-1'"),
        ("CDE_LOCK_TIMEOUT", "nan", "CDE_LOCK_TIMEOUT must be a number of seconds > 0 and <= 3600; got 'nan'"),
        ("CDE_TOOLS", "some", "CDE_TOOLS must be one of all, core; got 'some'"),
        ("CDE_SKILL_TTL_HOURS", "99999", "CDE_SKILL_TTL_HOURS must be a number of hours > 0 and <= 8760; got '99999'"),
        ("CDE_HOME", "/tmp/" + "p" * 256, "CDE_HOME is too long a path (over 4095 bytes, or a name in it over 255)"),
        (
            "CDE_PROJECT_ROOT",
            "/tmp" + "/abc" * 1100,
            "CDE_PROJECT_ROOT is too long a path (over 4095 bytes, or a name in it over 255)",
        ),
    ],
)
def test_invalid_values_fail_with_one_line(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({name: value}, cwd=tmp_path)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CDE_ALLOWED_ROOTS", os.pathsep, f"CDE_ALLOWED_ROOTS lists no directory; separate paths with {os.pathsep!r}"),
        ("CDE_ALLOWED_ROOTS", f"*{os.pathsep}/tmp", "CDE_ALLOWED_ROOTS is '*' (any directory) or a list of"),
        ("CDE_HOME", "file", "CDE_HOME {tmp}/file is a file, not a directory; point it at a directory"),
        ("CDE_PROJECT_ROOT", "missing", "CDE_PROJECT_ROOT {tmp}/missing is not a directory; set it to your project's"),
        ("CDE_PROJECT_ROOT", "${workspaceFolder}", "CDE_PROJECT_ROOT is '${workspaceFolder}': a variable your"),
    ],
)
def test_paths_the_server_could_not_use_fail_at_start(tmp_path: Path, name: str, value: str, message: str) -> None:
    """They were accepted, and every call failed later (or `*` was taken for a folder named `*`)."""
    (tmp_path / "file").write_text("x")
    with pytest.raises(SettingsError) as info:
        Settings.from_env({name: value}, cwd=tmp_path)
    assert str(info.value).startswith(message.replace("{tmp}", str(tmp_path.resolve())))
    assert "\n" not in str(info.value)


def test_a_home_that_does_not_exist_yet_is_made_on_first_use(tmp_path: Path) -> None:
    assert Settings.from_env({"CDE_HOME": "new-home"}, cwd=tmp_path).home == tmp_path.resolve() / "new-home"
