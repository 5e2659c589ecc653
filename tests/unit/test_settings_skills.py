from __future__ import annotations

from pathlib import Path

import pytest

from infrastructure.settings import Settings, SettingsError


def test_skill_settings_defaults_and_overrides(tmp_path: Path) -> None:
    default = Settings.from_env({}, cwd=tmp_path)
    assert (default.skill_ttl_hours, default.skill_sweep_interval) == (24.0, 600.0)
    custom = Settings.from_env({"CDE_SKILL_TTL_HOURS": "1.5", "CDE_SKILL_SWEEP_INTERVAL": "30"}, cwd=tmp_path)
    assert (custom.skill_ttl_hours, custom.skill_sweep_interval) == (1.5, 30.0)


@pytest.mark.parametrize(
    ("name", "raw", "fragment"),
    [
        ("CDE_SKILL_TTL_HOURS", "0", "number of hours > 0"),
        ("CDE_SKILL_TTL_HOURS", "soon", "number of hours > 0"),
        ("CDE_SKILL_SWEEP_INTERVAL", "-5", "number of seconds >= 1"),
        ("CDE_SKILL_SWEEP_INTERVAL", "0.000001", "number of seconds >= 1"),  # a sweep without pause: a busy CPU
        ("CDE_SKILL_SWEEP_INTERVAL", "nan", "number of seconds >= 1"),
    ],
)
def test_bad_skill_settings_fail_with_one_line(tmp_path: Path, name: str, raw: str, fragment: str) -> None:
    with pytest.raises(SettingsError, match=f"{name} must be a {fragment}"):
        Settings.from_env({name: raw}, cwd=tmp_path)
