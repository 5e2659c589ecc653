"""The real entry point, spawned as an assistant would, spoken to over stdio."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import pytest

from server.bench.stdio_peer import BIN, StdioPeer

pytestmark = pytest.mark.slow


def assert_all_jsonrpc(lines: list[bytes]) -> None:
    assert lines, "no output at all"
    for raw in lines:
        message = json.loads(raw)  # anything that is not JSON (a print, a log line) fails here
        assert message.get("jsonrpc") == "2.0", raw
        assert "id" in message or "method" in message, raw


async def test_initialize_list_call_shutdown_over_stdio(tmp_path: Path) -> None:
    env = {"CDE_HOME": str(tmp_path / "home"), "CDE_LOG_LEVEL": "DEBUG", "CDE_ALLOWED_ROOTS": str(tmp_path)}
    peer = await StdioPeer.spawn(env=env, cwd=tmp_path)
    init = await peer.initialize()
    assert init["result"]["serverInfo"]["name"] == "cde-orchestrator"
    assert init["result"]["capabilities"]["tools"] is not None
    # The working loop and how to resume after a restart; no phase list (a project's workflow may differ).
    instructions = init["result"]["instructions"]
    for step in ("cde_startFeature(user_prompt)", "cde_submitWork(feature_id, phase_id", "include_prompt=true"):
        assert step in instructions
    assert "decompose" not in instructions and len(instructions) < 600

    listed = await peer.request("tools/list")
    names = {tool["name"] for tool in listed["result"]["tools"]}
    assert "cde_healthCheck" in names

    called = await peer.request("tools/call", {"name": "cde_healthCheck", "arguments": {}})
    result = called["result"]
    assert result["isError"] is False
    assert result["structuredContent"]["status"] == "ok"

    misspelled = await peer.request("tools/call", {"name": "cde_healthCheck", "arguments": {"unexpected": 1}})
    assert misspelled["result"]["isError"] is True
    text = misspelled["result"]["content"][0]["text"]
    assert "invalid_input: unknown argument(s) for cde_healthCheck: unexpected" in text

    unknown = await peer.request("tools/call", {"name": "does_not_exist", "arguments": {}})
    assert unknown["result"]["isError"] is True
    assert "does_not_exist" in unknown["result"]["content"][0]["text"]

    code, stderr = await peer.close()
    assert code == 0, stderr.decode(errors="replace")
    assert_all_jsonrpc(peer.lines)
    assert b"DEBUG" in stderr or b"INFO" in stderr  # logs went to stderr, not stdout


async def test_lean_profile_announces_the_tools_a_search_adds_to_the_list(tmp_path: Path) -> None:
    """Handshake-era clients (today's assistants) re-list tools on notifications/tools/list_changed, which the
    server may send only after advertising tools.listChanged."""
    env = {"CDE_HOME": str(tmp_path / "home"), "CDE_ALLOWED_ROOTS": str(tmp_path), "CDE_TOOLS": "core"}
    peer = await StdioPeer.spawn(env=env, cwd=tmp_path)
    init = await peer.initialize()
    first = await peer.request("tools/list")
    browsed = await peer.request("tools/call", {"name": "cde_searchTools", "arguments": {"query": "save skill"}})
    found = await peer.request(
        "tools/call",
        {"name": "cde_searchTools", "arguments": {"query": "save skill", "detail_level": "full_schema", "limit": 1}},
    )
    second = await peer.request("tools/list")
    code, stderr = await peer.close()
    methods = [json.loads(line).get("method") for line in peer.lines]
    answers = [json.loads(line).get("id") for line in peer.lines]
    assert init["result"]["capabilities"]["tools"]["listChanged"] is True
    assert "cde_saveSkill" not in {t["name"] for t in first["result"]["tools"]}
    assert "listed" not in browsed["result"]["structuredContent"]
    assert found["result"]["structuredContent"]["listed"] == ["cde_saveSkill"]
    assert methods.count("notifications/tools/list_changed") == 1  # for the full_schema search only
    assert methods.index("notifications/tools/list_changed") == answers.index(found["id"]) - 1  # just before it
    assert "cde_saveSkill" in {t["name"] for t in second["result"]["tools"]}
    assert code == 0, stderr.decode(errors="replace")
    assert_all_jsonrpc(peer.lines)

    full = await StdioPeer.spawn(env={**env, "CDE_TOOLS": "all"}, cwd=tmp_path)
    capabilities = (await full.initialize())["result"]["capabilities"]
    code, stderr = await full.close()
    assert not capabilities["tools"].get("listChanged")  # the full list never changes
    assert code == 0, stderr.decode(errors="replace")


async def test_a_request_the_sdk_cannot_decode_is_answered_not_dropped(tmp_path: Path) -> None:
    # The SDK's reader cannot decode such a line; without an answer the client would wait forever.
    env = {"CDE_HOME": str(tmp_path / "home"), "CDE_ALLOWED_ROOTS": str(tmp_path)}
    peer = await StdioPeer.spawn(env=env, cwd=tmp_path)
    await peer.initialize()
    tool = await peer.request(
        "tools/call", {"name": "cde_startFeature", "arguments": {"user_prompt": "cut \ud83d emoji"}}, timeout=20
    )
    prompt = await peer.request("prompts/get", {"name": "define", "arguments": {"x": "\udc00"}}, timeout=20)
    nested: object = "x"
    for _ in range(250):  # deeper than the SDK's JSON parser goes
        nested = [nested]
    deep = await peer.request("tools/call", {"name": "cde_healthCheck", "arguments": {"x": nested}}, timeout=20)
    await peer.send({"jsonrpc": "2.0", "id": "bad", "method": "tools/list", "params": []})
    malformed = await peer.read(timeout=20)
    await peer.send([{"jsonrpc": "2.0", "id": "b1", "method": "ping"}, {"jsonrpc": "2.0", "id": "b2", "method": "x"}])
    batch = [await peer.read(timeout=20), await peer.read(timeout=20)]
    after = await peer.request("tools/call", {"name": "cde_healthCheck", "arguments": {}}, timeout=20)
    code, stderr = await peer.close()
    assert tool["result"]["isError"] is True
    text = tool["result"]["content"][0]["text"]
    assert text.startswith("invalid_input: params.arguments.user_prompt of this tools/call request holds a lone")
    assert prompt["error"]["code"] == -32602 and "params.arguments.x" in prompt["error"]["message"]
    assert deep["result"]["isError"] is True
    assert "this tools/call request could not be decoded (recursion limit" in deep["result"]["content"][0]["text"]
    assert malformed["id"] == "bad" and malformed["error"]["code"] == -32602  # params must be an object
    assert [(m["id"], m["error"]["code"]) for m in batch] == [("b1", -32600), ("b2", -32600)]
    assert "batches" in batch[0]["error"]["message"]
    assert after["result"]["isError"] is False  # and the server goes on serving
    assert code == 0, stderr.decode(errors="replace")
    assert_all_jsonrpc(peer.lines)
    assert not (tmp_path / "specs").exists()


async def test_lines_the_sdk_drops_silently_are_read_or_answered(tmp_path: Path) -> None:
    """A byte order mark, members after deep nesting, a request that is not JSON, a huge unknown method:
    each got no answer (or a megabyte one), and the client waited forever."""
    env = {"CDE_HOME": str(tmp_path / "home"), "CDE_ALLOWED_ROOTS": str(tmp_path)}
    peer = await StdioPeer.spawn(env=env, cwd=tmp_path)
    await peer.initialize()
    assert peer.proc.stdin is not None

    async def raw(line: str) -> dict[str, object]:
        peer.proc.stdin.write(line.encode("utf-8") + b"\n")  # type: ignore[union-attr]
        return await peer.read(timeout=20)

    bom = await raw('\ufeff{"jsonrpc": "2.0", "id": "bom", "method": "ping"}')
    deep = '{"x": ' + "[" * 2000 + "]" * 2000 + "}"
    late = await raw(
        '{"method": "tools/call", "params": {"name": "cde_healthCheck", "arguments": '
        + deep
        + '}, "jsonrpc": "2.0", "id": "late"}'
    )
    broken = await raw('{"jsonrpc": "2.0", "id": "comma", "method": "ping",}')
    unknown = await raw(json.dumps({"jsonrpc": "2.0", "id": "big", "method": "m" * 100_000}))
    no_method = await raw('{"jsonrpc": "2.0", "id": 21}')
    code, stderr = await peer.close()
    assert bom == {"jsonrpc": "2.0", "id": "bom", "result": {}}
    assert late["id"] == "late" and late["result"]["isError"] is True  # type: ignore[index]
    assert broken["id"] == "comma" and broken["error"]["code"] == -32700  # type: ignore[index]
    assert unknown["id"] == "big" and unknown["error"]["code"] == -32601  # type: ignore[index]
    assert len(json.dumps(unknown)) < 1000
    assert no_method["id"] == 21 and no_method["error"]["code"] == -32600  # type: ignore[index]
    assert code == 0, stderr.decode(errors="replace")
    assert_all_jsonrpc(peer.lines)


async def test_invalid_setting_fails_at_start_with_one_line(tmp_path: Path) -> None:
    peer = await StdioPeer.spawn(env={"CDE_CACHE_TTL": "soon"}, cwd=tmp_path)
    code, stderr = await peer.close()
    assert code == 2
    assert stderr.decode().strip() == "cde-orchestrator: CDE_CACHE_TTL must be a number of seconds > 0; got 'soon'"
    assert peer.lines == []


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
async def test_signal_shuts_down_cleanly(tmp_path: Path, signal_name: str) -> None:
    import signal

    env = {"CDE_HOME": str(tmp_path / "home"), "CDE_LOG_LEVEL": "INFO", "CDE_ALLOWED_ROOTS": str(tmp_path)}
    peer = await StdioPeer.spawn(env=env, cwd=tmp_path)
    await peer.initialize()
    peer.proc.send_signal(getattr(signal, signal_name))
    # The client keeps stdin open: the server must still exit on its own.
    assert await asyncio.wait_for(peer.proc.wait(), 30) == 0
    code, stderr = await peer.close()
    assert code == 0, stderr.decode(errors="replace")
    assert f"received {signal_name}; shutting down".encode() in stderr
    assert b"Traceback" not in stderr
    assert_all_jsonrpc(peer.lines)


def test_requests_piped_in_are_all_answered_when_input_ends(tmp_path: Path) -> None:
    # A script writes its requests and closes stdin: every one still gets its answer, not "Connection closed".
    messages: list[dict[str, object]] = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
    ]  # fmt: skip
    messages += [
        {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": "cde_healthCheck", "arguments": {}}}
        for i in range(2, 62)
    ]
    env = {**os.environ, "CDE_HOME": str(tmp_path / "home"), "CDE_ALLOWED_ROOTS": str(tmp_path)}
    done = subprocess.run(
        [str(BIN), "serve"],
        input="".join(json.dumps(m) + "\n" for m in messages).encode(),
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(a["id"] for a in answers) == list(range(1, 62))
    assert all("result" in a and not a["result"].get("isError") for a in answers)
