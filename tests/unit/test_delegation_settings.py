from __future__ import annotations

from pathlib import Path

import pytest

from infrastructure.settings import Settings, SettingsError


def test_delegation_settings_come_from_the_environment(tmp_path: Path) -> None:
    env = {
        "CDE_HOME": str(tmp_path),
        "CDE_MAX_JOBS": "4",
        "CDE_JOB_QUEUE": "0",
        "CDE_JOB_KILL_GRACE": "0.5",
        "CDE_AGENT_PROBE_TIMEOUT": "10",
        "CDE_JOB_KEEP": "7",
        "CDE_JOB_KEEP_DAYS": "1.5",
    }
    settings = Settings.from_env(env, cwd=tmp_path)
    assert (settings.max_jobs, settings.job_queue, settings.job_kill_grace, settings.agent_probe_timeout) == (
        4,
        0,
        0.5,
        10.0,
    )
    assert (settings.job_keep, settings.job_keep_days) == (7, 1.5)
    defaults = Settings.from_env({"CDE_HOME": str(tmp_path)}, cwd=tmp_path)
    assert (defaults.max_jobs, defaults.job_queue, defaults.job_kill_grace) == (2, 32, 5.0)
    assert (defaults.job_keep, defaults.job_keep_days) == (100, 30.0)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CDE_MAX_JOBS", "0", "CDE_MAX_JOBS must be an integer >= 1 and <= 64; got '0'"),
        (
            "CDE_MAX_JOBS",
            "99999999999999999999",
            "CDE_MAX_JOBS must be an integer >= 1 and <= 64; got '99999999999999999999'",
        ),
        ("CDE_JOB_QUEUE", "-1", "CDE_JOB_QUEUE must be an integer >= 0 and <= 10000; got '-1'"),
        ("CDE_JOB_KILL_GRACE", "soon", "CDE_JOB_KILL_GRACE must be a number of seconds > 0 and <= 600; got 'soon'"),
        ("CDE_JOB_KILL_GRACE", "1e308", "CDE_JOB_KILL_GRACE must be a number of seconds > 0 and <= 600; got '1e308'"),
        ("CDE_JOB_KEEP", "0", "CDE_JOB_KEEP must be an integer >= 1 and <= 100000; got '0'"),
        ("CDE_JOB_KEEP_DAYS", "-3", "CDE_JOB_KEEP_DAYS must be a number of days > 0 and <= 36500; got '-3'"),
        ("CDE_JOB_KEEP_DAYS", "1e9", "CDE_JOB_KEEP_DAYS must be a number of days > 0 and <= 36500; got '1e9'"),
    ],
)
def test_bad_delegation_settings_fail_with_one_line(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"CDE_HOME": str(tmp_path), name: value}, cwd=tmp_path)
    assert str(caught.value) == message
