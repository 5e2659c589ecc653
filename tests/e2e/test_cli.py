"""The `cde-orchestrator` command line: version, tools, call, python -m server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.bench.stdio_peer import BIN

pytestmark = pytest.mark.slow


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), *args],
        cwd=cwd,
        env={
            **{k: v for k, v in os.environ.items() if k != "CDE_LOG_LEVEL"},
            "CDE_HOME": str(cwd / "home"),
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_version_and_help(tmp_path: Path) -> None:
    from server import __version__

    assert run("--version", cwd=tmp_path).stdout.strip() == f"cde-orchestrator {__version__}"
    helped = run("--help", cwd=tmp_path)
    assert helped.returncode == 0
    for command in ("serve", "tools", "call", "bench"):
        assert command in helped.stdout


def test_tools_lists_each_tool_and_the_listing_size(tmp_path: Path) -> None:
    done = run("tools", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "cde_healthCheck" in done.stdout
    assert "tools/list is" in done.stdout and "tokens" in done.stdout
    raw = run("tools", "--json", cwd=tmp_path)
    assert any(t["name"] == "cde_healthCheck" for t in json.loads(raw.stdout)["tools"])


def test_call_prints_json_and_exit_codes(tmp_path: Path) -> None:
    ok = run("call", "cde_healthCheck", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["status"] == "ok"

    missing = run("call", "no_such_tool", "{}", cwd=tmp_path)
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr == "not_found: no tool named 'no_such_tool'; find one with cde_searchTools\n"  # one line
    logged = run("call", "no_such_tool", "{}", cwd=tmp_path, env={"CDE_LOG_LEVEL": "INFO"})
    assert "no_such_tool" in logged.stderr.splitlines()[-1] and len(logged.stderr.splitlines()) > 1

    bad_json = run("call", "cde_healthCheck", "{nope", cwd=tmp_path)
    assert bad_json.returncode == 2 and "not valid JSON" in bad_json.stderr

    not_object = run("call", "cde_healthCheck", "[1]", cwd=tmp_path)
    assert not_object.returncode == 2 and "JSON object" in not_object.stderr

    surrogate = run("call", "cde_healthCheck", '{"details": "\\ud800"}', cwd=tmp_path)
    assert surrogate.returncode == 2 and surrogate.stderr.endswith("lone UTF-16 surrogate, which is not text\n")

    # These printed tracebacks: pydantic's serialisation depth, json's recursion, an undecodable argv byte.
    nested = "".join('{"a":' for _ in range(300)) + "1" + "}" * 300
    for arguments, ending in ((nested, "nest less deeply\n"), ("[" * 5000 + "]" * 5000, "nest less deeply\n")):
        refused = run("call", "cde_healthCheck", arguments, cwd=tmp_path)
        assert refused.returncode == 2 and refused.stderr.endswith(ending) and refused.stderr.count("\n") == 1
    undecodable = subprocess.run(
        [os.fsencode(BIN), b"call", b"cde_\xff", b"{}"], cwd=tmp_path, capture_output=True, timeout=120,
        env={**os.environ, "CDE_HOME": str(tmp_path / "home")}, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert undecodable.returncode == 2 and undecodable.stderr.count(b"\n") == 1, undecodable.stderr

    # The lean profile hides tools from tools/list, not from a human's call: no client warning either.
    unlisted = run("call", "cde_getWorkerStats", "{}", cwd=tmp_path, env={"CDE_TOOLS": "core"})
    assert unlisted.returncode == 0 and unlisted.stderr == "", unlisted.stderr
    assert isinstance(json.loads(unlisted.stdout), dict)


def test_bench_refuses_a_results_path_it_cannot_write_before_measuring(tmp_path: Path) -> None:
    """It ran every suite, then lost the results to a traceback."""
    for target, reason in ((tmp_path, "it is a directory"), (tmp_path / "no" / "x.json", "is not a directory")):
        refused = run("bench", "--quick", "--only", "cache", "--json", str(target), cwd=tmp_path)
        assert refused.returncode == 2 and refused.stdout == "" and reason in refused.stderr
        assert refused.stderr.startswith(f"cannot write the results to {target}: ") and "bench:" not in refused.stderr


def test_python_dash_m_server_behaves_like_the_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "server", "--version"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 0 and done.stdout.startswith("cde-orchestrator ")


def test_start_up_imports_only_what_the_handshake_needs(tmp_path: Path) -> None:
    """What `serve` imports before answering `initialize` is the cold start: the state models, PyYAML
    and the tool modules load after it (on first use), not before."""
    probe = (
        "import sys; from infrastructure.settings import Settings; from server.bootstrap import bootstrap; "
        f"bootstrap(Settings.from_env({{'CDE_HOME': {str(tmp_path / 'home')!r}}})); "
        "print(' '.join(sorted(m for m in sys.modules)))"
    )
    loaded = set(
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    )
    assert "server.bootstrap" in loaded
    early = {"yaml", "domain.project_state", "domain.feature", "adapters.fs_state_repository", "server.tools.workflow"}
    assert early & loaded == set()
