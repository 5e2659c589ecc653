"""The `cde-orchestrator` command: serve on stdio, list or call tools, run the benchmarks."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from infrastructure.logging import configure_logging
from infrastructure.settings import Settings, SettingsError
from server import __version__
from server.bench import SUITES

logger = logging.getLogger("cde_orchestrator")

# Upper bound on the shutdown hooks after a signal (stopping agents takes their kill grace).
SHUTDOWN_GRACE_S = 30.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cde-orchestrator",
        description="MCP server for Context-Driven Engineering. With no command it serves MCP on stdio.",
    )
    parser.add_argument("--version", action="version", version=f"cde-orchestrator {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("serve", help="run the MCP server on stdio (what an assistant launches; the default)")
    tools = sub.add_parser("tools", help="list the tools, one line each, and the size of tools/list")
    tools.add_argument("--json", action="store_true", help="print the raw tools/list JSON instead")
    call = sub.add_parser("call", help="call a tool in-process and print its JSON result")
    call.add_argument("tool", help="tool name, e.g. cde_healthCheck")
    call.add_argument("arguments", nargs="?", default="{}", help="tool arguments as a JSON object")
    generate = sub.add_parser(
        "generate-tools", help="write the tools as a Python package of async functions (for code execution)"
    )
    generate.add_argument(
        "dir",
        nargs="?",
        default=".cde/servers/cde",
        help="package directory, relative to the project (default: .cde/servers/cde); the last part is its name",
    )
    bench = sub.add_parser("bench", help="run the benchmark suite and print a table")
    bench.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    bench.add_argument(
        "--only", action="append", metavar="SUITE", help=f"run only this suite (repeatable): {', '.join(SUITES)}"
    )
    bench.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        sys.stderr.write(f"cde-orchestrator: {exc}\n")
        return 2
    command = args.command or "serve"
    # One-shot commands answer on stdout/stderr themselves: their log shows warnings only, unless asked for.
    quiet = command != "serve" and not os.environ.get("CDE_LOG_LEVEL", "").strip()
    configure_logging("WARNING" if quiet else settings.log_level)
    try:
        if command == "serve":
            return _serve(settings)
        if command == "tools":
            return asyncio.run(_tools(settings, raw=args.json))
        if command == "call":
            return asyncio.run(_call(settings, args.tool, args.arguments))
        if command == "generate-tools":
            return asyncio.run(_generate_tools(settings, args.dir))
        if command == "bench":
            from server.bench.runner import run_benchmarks

            return asyncio.run(run_benchmarks(json_path=args.json, only=args.only, quick=args.quick))
    except KeyboardInterrupt:
        return 130
    raise AssertionError(command)  # pragma: no cover - argparse rejects unknown commands


def _serve(settings: Settings) -> int:
    import anyio

    from server.bootstrap import bootstrap

    app = bootstrap(settings)
    logger.info("cde-orchestrator %s serving on stdio (project root %s)", __version__, settings.project_root)
    anyio.run(_serve_until_signal, app)
    return 0


async def _serve_until_signal(app: Any) -> None:
    """Serve until stdin closes or SIGTERM/SIGHUP/SIGINT arrives; either way shutdown hooks run.

    After a signal the process exits (status 0) as soon as the lifespan has run its
    shutdown hooks: the SDK reads stdin in a worker thread that only returns when the
    client closes the pipe, so waiting for the transport to unwind could hang forever.
    """
    import os
    import signal

    import anyio

    from adapters.process_group import kill_helpers
    from server.stdio_transport import serve_stdio

    async with anyio.create_task_group() as group:

        async def watch() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGHUP, signal.SIGINT) as signals:
                async for received in signals:
                    logger.info("received %s; shutting down", signal.Signals(received).name)
                    group.cancel_scope.cancel()
                    with anyio.move_on_after(SHUTDOWN_GRACE_S, shield=True):
                        done = app.container.lifespan_done
                        if done is not None:
                            await done.wait()
                    # Git queries and version probes of calls still in flight: exiting does not unwind them.
                    if killed := kill_helpers():
                        logger.info("stopped %d helper process group(s) still running", killed)
                    logger.info("stopped")
                    sys.stdout.flush()
                    logging.shutdown()
                    os._exit(0)

        group.start_soon(watch)
        await serve_stdio(app.server)
        group.cancel_scope.cancel()
    logger.info("stopped")


async def _tools(settings: Settings, *, raw: bool) -> int:
    from server.bootstrap import bootstrap
    from server.introspection import estimate_tokens, tools_list_json

    app = bootstrap(settings)
    listing = await tools_list_json(app.server)
    if raw:
        sys.stdout.write(listing + "\n")
        return 0
    tools = await app.server.list_tools()
    width = max((len(t.name) for t in tools), default=0)
    for tool in sorted(tools, key=lambda t: t.name):
        summary = (tool.description or "").strip().split("\n")[0]
        sys.stdout.write(f"{tool.name:<{width}}  {summary}\n")
    size = len(listing.encode("utf-8"))
    sys.stdout.write(
        f"\n{len(tools)} tools (profile {settings.tools}); "
        f"tools/list is {size} bytes, ~{estimate_tokens(listing)} tokens\n"
    )
    return 0


async def _call(settings: Settings, tool: str, raw_arguments: str) -> int:
    from mcp.client import Client

    from server.bootstrap import bootstrap

    too_deep = False
    arguments: Any = None
    try:
        arguments = json.loads(raw_arguments)
    except json.JSONDecodeError as exc:
        sys.stderr.write(f"cde-orchestrator: arguments are not valid JSON ({exc.msg} at column {exc.colno})\n")
        return 2
    except RecursionError:
        too_deep = True
    if not too_deep and not isinstance(arguments, dict):
        sys.stderr.write('cde-orchestrator: arguments must be a JSON object, e.g. \'{"query": "x"}\'\n')
        return 2
    if too_deep or _too_deep(arguments):
        sys.stderr.write(f"cde-orchestrator: arguments nest over {MAX_ARGUMENT_DEPTH} levels deep; nest less deeply\n")
        return 2
    from server.app import unencodable

    bad = unencodable(arguments) or unencodable(tool, "the tool name")
    if bad:
        sys.stderr.write(f"cde-orchestrator: {bad} holds a lone UTF-16 surrogate, which is not text\n")
        return 2
    # Every registered tool listed: the lean profile is for an assistant's tools/list, and the client
    # warns about (and cannot validate) the result of a tool it was not shown.
    app = bootstrap(settings.model_copy(update={"tools": "all"}))
    async with Client(app.server) as client:
        result = await client.call_tool(tool, arguments)
    texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]  # type: ignore[union-attr]
    if result.is_error:
        sys.stderr.write(("\n".join(texts) or "tool error") + "\n")
        return 1
    payload: Any = result.structured_content
    if payload is None:
        payload = [json.loads(t) if _is_json(t) else t for t in texts]
        payload = payload[0] if len(payload) == 1 else payload
    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return 0


# What the MCP client serialises (pydantic stops at a few hundred levels); no tool takes more than a few.
MAX_ARGUMENT_DEPTH = 64


def _too_deep(value: Any) -> bool:
    """Whether `value` nests containers over MAX_ARGUMENT_DEPTH levels (checked without recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > MAX_ARGUMENT_DEPTH:
                    return True
                pending.append((child, depth + 1))
    return False


async def _generate_tools(settings: Settings, directory: str) -> int:
    from domain.errors import DomainError
    from infrastructure import paths
    from server.bootstrap import bootstrap

    app = bootstrap(settings)
    try:
        root = await app.container.project_root(".")
        target = await paths.resolve_output_dir(
            root, directory, also=(settings.home,), managed=app.container.managed_folders(root)
        )
        report = await app.container.discovery.generate_tool_filesystem()(target)
    except DomainError as exc:
        sys.stderr.write(f"cde-orchestrator: {exc.code}: {exc.message}\n")
        return 1
    sys.stdout.write(
        f"{report.path}: {report.tools} tools, {len(report.written)} file(s) written, "
        f"{report.unchanged} unchanged, {len(report.removed)} removed\nuse it with: {report.usage}\n"
    )
    return 0


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
