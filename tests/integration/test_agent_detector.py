"""Agent detection on a real PATH with fake CLIs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.agent_detector import PathAgentDetector, parse_version, probe_version


def script(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def agents_yml(project: Path, text: str) -> None:
    (project / ".cde").mkdir(exist_ok=True)
    (project / ".cde" / "agents.yml").write_text(text)


def test_parse_version_takes_the_number_from_the_first_line() -> None:
    assert parse_version("codex-cli 0.42.1\nmore") == "0.42.1"
    assert parse_version("\n  2.0.14 (Claude Code)\n") == "2.0.14"
    assert parse_version("aider v0.86.2.dev12+g1a2b") == "0.86.2.dev12+g1a2b"
    assert parse_version("nightly build") == "nightly build"
    assert parse_version("") is None


def test_parse_version_prefers_stdout_to_warnings_on_stderr() -> None:
    """A probe read stdout and stderr as one stream: a CLI whose runtime printed a warning first (an error
    line from a background job of its wrapper script) reported that line as its version."""
    warning = "(node:4242) Warning: Node.js v16.20.0 is no longer supported"
    assert parse_version("claude 2.0.14\n", warning) == "2.0.14"
    assert parse_version("nightly build", warning) == "nightly build"  # stdout's answer, not stderr's number
    assert parse_version("mycli (dev)\nCopyright 2025, https://x.io/v1.2/license\n") == "mycli (dev)"
    assert parse_version("", "tool 3.1\n") == "3.1"
    assert parse_version("\n", warning) == "16.20.0"
    assert parse_version("", "") is None


async def test_a_probe_reads_the_version_from_stdout_whatever_stderr_says_first(tmp_path: Path) -> None:
    noisy = "#!/bin/sh\necho 'wrapper: exec: -a: not found' >&2\nsleep 0.05\necho 'noisy 4.5.6'\n"
    cli = script(tmp_path / "noisy", noisy)
    assert await probe_version(str(cli), ("--version",), 5.0) == "4.5.6"


def user_agents_yml(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "agents.yml").write_text(text)


async def test_slow_version_probe_times_out_and_is_retried(tmp_path: Path, project: Path) -> None:
    marker = tmp_path / "probes"
    script(tmp_path / "bin" / "slowver", f'#!/bin/sh\necho x >> "{marker}"\nexec sleep 5\n')
    user_agents_yml(tmp_path / "home", "agents:\n  slow:\n    command: [slowver, '{prompt}']\n")
    detector = PathAgentDetector(
        tmp_path / "home", probe_timeout=1.0, environ={"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin"}
    )
    first = {a.name: a for a in await detector.agents(project, versions=True)}
    second = {a.name: a for a in await detector.agents(project, versions=True)}
    assert first["slow"].available and first["slow"].version is None
    assert second["slow"].version is None
    assert marker.read_text().count("x") == 2  # a failed probe is not cached


async def test_relative_commands_resolve_from_the_project_and_path_changes_show_at_once(
    tmp_path: Path, project: Path
) -> None:
    ran = tmp_path / "ran"
    script(project / "tools" / "agent", f"#!/bin/sh\ntouch '{ran}'\necho 'v 1.2.3'\n")
    agents_yml(project, "agents:\n  local:\n    command: [./tools/agent, '{prompt}']\n")
    environ = {"PATH": "/usr/bin:/bin"}
    detector = PathAgentDetector(tmp_path / "home", probe_timeout=5, environ=environ)
    before = {a.name: a for a in await detector.agents(project, versions=True)}
    script(tmp_path / "bin2" / "codex", "#!/bin/sh\necho 'codex-cli 9.9.9'\n")
    environ["PATH"] = f"{tmp_path / 'bin2'}{os.pathsep}/usr/bin:/bin"
    after = {a.name: a for a in await detector.agents(project, versions=True)}
    assert before["local"].path == str(project / "tools" / "agent") and before["local"].available
    assert not before["codex"].available
    assert after["codex"].available and after["codex"].version == "9.9.9"
    # Listing is read-only: the repository's own program is found but never run.
    assert before["local"].version is None and not ran.exists()


async def test_only_probes_the_project_did_not_choose(tmp_path: Path, project: Path) -> None:
    bin_dir = tmp_path / "bin"
    for name in ("codex", "gemini", "evil"):
        script(bin_dir / name, f"#!/bin/sh\necho \"$*\" >> '{tmp_path / name}.ran'\necho '{name} 1.0.0'\n")
    agents_yml(
        project,
        "agents:\n"
        "  codex:\n    priority: 9\n"  # the built-in program and version_args: still probed
        "  gemini:\n    version_args: ['--pwn']\n"
        "  claude:\n    command: [evil, '{prompt}']\n",
    )
    detector = PathAgentDetector(tmp_path / "home", probe_timeout=5, environ={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    found = {a.name: a for a in await detector.agents(project, versions=True)}
    assert found["codex"].version == "1.0.0" and (tmp_path / "codex.ran").read_text() == "--version\n"
    assert found["gemini"].available and found["gemini"].version is None
    assert found["claude"].available and found["claude"].version is None
    assert not (tmp_path / "gemini.ran").exists() and not (tmp_path / "evil.ran").exists()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- a\n- b\n", "expected a mapping with one key, 'agents'"),
        ("agents:\n  x: 3\n", "'agents' must map each agent name to its fields"),
        ("agents:\n  x:\n    command: [x]\n", "agents.x.command needs {prompt} or {prompt_file}, or set stdin: true"),
        (
            "agents:\n  x:\n    command: [x, '{prompt}']\n    strengths: [magic]\n",
            "agents.x.strengths: unknown strengths magic; use feature, bugfix",
        ),
    ],
)
async def test_invalid_agents_yml_is_reported_with_the_field(
    tmp_path: Path, project: Path, text: str, problem: str
) -> None:
    from domain.errors import CorruptDataError

    agents_yml(project, text)
    detector = PathAgentDetector(tmp_path / "home", probe_timeout=1, environ={"PATH": "/usr/bin:/bin"})
    with pytest.raises(CorruptDataError) as caught:
        await detector.agents(project)
    assert problem in caught.value.message
