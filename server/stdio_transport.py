"""Serving MCP on stdio, with an answer for the requests the SDK's reader cannot decode.

JSON may carry a lone UTF-16 surrogate escape (`"\\ud800"`, typically text cut in the
middle of an emoji), or values nested deeper than the SDK's parser allows; a request may be
malformed (params `[]`, a method that is not a string). The SDK's stdio reader refuses such a
line and drops it, so the client waits forever for an answer. Here such a request gets one,
when its id can be read: a tool error for `tools/call` (as in-process calls get from
`CdeServer.call_tool`), invalid params for other methods, invalid request for a malformed one,
a parse error for a line that is not JSON but shows a request's id and method. A line refused
only for a leading byte order mark is read without it. Error answers, the SDK's included, are
bounded to one short line. Everything else passes through untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import anyio
import mcp_types as types
from mcp.server.stdio import stdio_server
from mcp.shared.dispatcher import coerce_request_id
from mcp.shared.jsonrpc_dispatcher import cancelled_request_id_from_params
from mcp.shared.message import SessionMessage
from mcp_types import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    CallToolResult,
    ErrorData,
    JSONRPCError,
    JSONRPCNotification,
    JSONRPCRequest,
    JSONRPCResponse,
    TextContent,
)
from pydantic import ValidationError

from domain.errors import InvalidInputError, shown
from server.app import one_line, unencodable

if TYPE_CHECKING:
    from mcp.shared._stream_protocols import ReadStream, WriteStream

    from server.app import CdeServer

logger = logging.getLogger(__name__)

# At the end of input, how long the requests already read may take to be answered before the server stops.
DRAIN_S = 30.0


@dataclass(frozen=True)
class Undecodable:
    """A request the SDK's reader refused, which can still be answered: its id, method and the reason."""

    request_id: str | int
    method: str
    problem: str
    code: int = INVALID_PARAMS  # INVALID_REQUEST: not a valid JSON-RPC request at all
    # A tools/call gets its answer as a tool error, as an in-process call would; a malformed request does not.
    as_tool_error: bool = True


def _method_label(method: Any) -> str:
    """A request's method for a message or the log: as is when short and printable, else quoted and cut."""
    if not isinstance(method, str) or unencodable(method) is not None:
        return "?"
    return method if len(method) <= 60 and method.isprintable() else shown(method, 40)


def _id_to_answer(raw: dict[str, Any]) -> str | int | None:
    request_id = raw.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, str | int) or unencodable(request_id) is not None:
        return None
    return request_id


def invalid_request(errors: list[Any]) -> Undecodable | None:
    """A JSON object with an id and a method that is still not a valid request (params `[]`, a method
    that is not a string, jsonrpc "1.0"...): its id is in the errors about the whole object."""
    whole = next((e["input"] for e in errors if isinstance(e.get("input"), dict) and "method" in e["input"]), None)
    if whole is None:
        return _neither_request_nor_response(errors)
    request_id = _id_to_answer(whole)
    if request_id is None:
        return None
    method = _method_label(whole["method"])
    first = next((e for e in errors if e["loc"][:1] == ("JSONRPCRequest",)), errors[0])
    if first["loc"][1:] == ("params",):  # JSON-RPC allows positional params; MCP wants an object
        problem = f"the params of this request must be a JSON object ({first['msg']}); send them as {{...}}"
        return Undecodable(request_id, method, f"{InvalidInputError.code}: {problem}", as_tool_error=False)
    where = ".".join(str(part) for part in first["loc"][1:]) or "request"
    problem = f"this request is not valid JSON-RPC 2.0 ({where}: {first['msg']}); fix it and send it again"
    return Undecodable(request_id, method, f"{InvalidInputError.code}: {problem}", INVALID_REQUEST, False)


def _neither_request_nor_response(errors: list[Any]) -> Undecodable | None:
    """An object with an id but no method, result or error: whoever sent it may wait on that id."""
    whole = next((e["input"] for e in errors if isinstance(e.get("input"), dict)), None)
    if whole is None or any(key in whole for key in ("method", "result", "error")):
        return None  # a malformed response: nobody waits for an answer to it
    request_id = _id_to_answer(whole)
    if request_id is None:
        return None
    problem = 'this message has an id but no method; a request names the method to call, e.g. "ping"'
    return Undecodable(request_id, "?", f"{InvalidInputError.code}: {problem}", INVALID_REQUEST, False)


def undecodable_request(exc: Exception) -> Undecodable | None:
    """The request behind `exc` when it is the SDK refusing a line that is a JSON-RPC request after all.

    Python's decoder accepts what pydantic's refuses here: a lone surrogate escape, nesting
    deeper than ~190 levels. A line that is not JSON, a notification or a response (nobody
    waits for an answer), or an id that cannot be sent back is left to the SDK.
    """
    if not isinstance(exc, ValidationError):
        return None
    errors = exc.errors()
    if errors and errors[0]["type"] != "json_invalid":
        return invalid_request(errors)
    line = errors[0].get("input") if errors else None
    if not isinstance(line, str):
        return None
    raw = _decoded_member(line)
    if raw is None:  # not JSON: a request cut short, two on one line, a trailing comma...
        return _unparsable_request(line, str(errors[0].get("msg", "")))
    if not isinstance(raw, dict) or not isinstance(raw.get("method"), str):
        return None
    request_id = _id_to_answer(raw)
    if request_id is None:
        return None
    method: str = raw["method"]
    named = _method_label(method) if unencodable(method) is None else "(undecodable)"
    where = unencodable(raw.get("params"), "params") or unencodable(method, "method")
    if where is not None:
        problem = f"{where} of this {named} request holds a lone UTF-16 surrogate (\\udXXX without its pair), "
        problem += "which is not text; send valid Unicode"
    else:
        reason = str(errors[0].get("msg", "")).removeprefix("Invalid JSON: ")
        advice = "nest its values less deeply" if "recursion" in reason else "send it as standard JSON"
        problem = f"this {named} request could not be decoded ({reason}); {advice}"
    return Undecodable(request_id, named, f"{InvalidInputError.code}: {problem}")


def _unparsable_request(line: str, reason: str) -> Undecodable | None:
    """A parse error for a line that is not JSON, under its id when it reads as a request (an id and a
    method among its leading members); None otherwise (a response, a notification: nobody waits)."""
    members = _top_level_members(line)
    request_id = _id_to_answer(members)
    if request_id is None or not isinstance(members.get("method"), str):
        return None
    named = _method_label(members["method"])
    reason = reason.removeprefix("Invalid JSON: ")
    problem = f"this {named} request is not valid JSON ({reason}); send each request as one line of standard JSON"
    return Undecodable(request_id, named, f"{InvalidInputError.code}: {problem}", PARSE_ERROR, False)


BATCH_REFUSAL = (
    f"{InvalidInputError.code}: JSON-RPC batches (a JSON array of requests) are not supported; "
    "send each request on its own line"
)


# A string (skipped whole: a bracket inside one is text), a run of opening or of closing brackets, a comma.
_RUN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[{]+|[\]}]+|,')


def _array_items(line: str) -> list[str] | None:
    """The text of each element of the JSON array `line`, found without decoding (so at any depth)."""
    text = line.strip()
    if not text.startswith("["):
        return None
    items: list[str] = []
    depth, start = 0, 1
    for token in _RUN.finditer(text):  # strings are skipped whole (a bracket inside one is text)
        mark = token.group()
        if mark[0] in "[{":
            depth += len(mark)
        elif mark[0] in "]}":
            if depth <= len(mark):  # this run closes the array, at its `depth`-th bracket
                items.append(text[start : token.start() + depth - 1])
                return [item for item in items if item.strip()]
            depth -= len(mark)
        elif mark == "," and depth == 1:
            items.append(text[start : token.start()])
            start = token.end()
    return None  # never closed


def _decoded_member(text: str) -> Any:
    """`text` decoded as Python's json does (None if it is not JSON); deeper than that decodes, its
    `jsonrpc`, `id` and `method`."""
    try:
        return json.loads(text)
    except RecursionError:
        return _top_level_members(text)
    except ValueError:
        return None


def _batch_of(exc: ValidationError) -> list[Any] | None:
    """The decoded array when the refused line is a JSON-RPC batch, whether or not pydantic could decode it."""
    errors = exc.errors()
    if not errors or len(errors[0]["loc"]) > 1:  # about a member (params `[]`), not the whole line
        return None
    found = errors[0].get("input")
    if errors[0]["type"] == "json_invalid" and isinstance(found, str) and found.lstrip().startswith("["):
        try:
            found = json.loads(found)
        except ValueError:
            return None
        except RecursionError:
            items = _array_items(found)
            return None if items is None else [_decoded_member(item) for item in items]
    return found if isinstance(found, list) else None


def refused_requests(exc: Exception) -> list[Undecodable]:
    """Every request behind a line the SDK's reader refused that can be answered: one, or each one of a batch.

    The SDK drops a batch whole, so each of its requests with a usable id is refused on its own
    line (invalid request, as the SDK's HTTP transport answers a batch); its notifications get
    nothing. JSON-RPC would answer a batch with one array, which the SDK's writer cannot send.
    """
    if not isinstance(exc, ValidationError):
        return []
    batch = _batch_of(exc)
    if batch is None:
        found = undecodable_request(exc)
        return [] if found is None else [found]
    refused = []
    for item in batch:
        if isinstance(item, dict) and "method" in item:  # a request, even a malformed one
            request_id = _id_to_answer(item)
            if request_id is not None:
                refused.append(
                    Undecodable(request_id, _method_label(item["method"]), BATCH_REFUSAL, INVALID_REQUEST, False)
                )
    return refused


_VALUE = re.compile(r'\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?=\s*[,}]))')
_MEMBERS = ("jsonrpc", "id", "method")


def _top_level_members(line: str) -> dict[str, Any]:
    """`jsonrpc`, `id` and `method` of the JSON object on `line`, found without decoding it: in any order,
    however deep its other members nest, and in a line that is not valid JSON (a truncated request).

    Strings are skipped whole (a bracket or quote inside one is text) and runs of brackets are one
    step, so a request nested 10,000 levels deep takes a few thousand steps.
    """
    start = len(line) - len(line.lstrip())
    if not line.startswith("{", start):
        return {}
    members: dict[str, Any] = {}
    depth = 0
    key_next = False
    for token in _RUN.finditer(line, start):
        mark = token.group()
        if mark[0] in "[{":
            depth += len(mark)
            key_next = depth == 1
        elif mark[0] in "]}":
            depth -= len(mark)
            if depth <= 0:
                break
            key_next = False
        elif mark == ",":
            key_next = depth == 1
        elif key_next:  # a string where a member of the request's own object starts: its name
            key_next = False
            with contextlib.suppress(ValueError):
                name = json.loads(mark)
                found = _VALUE.match(line, token.end()) if name in _MEMBERS and name not in members else None
                if found is not None:
                    members[name] = json.loads(found.group(1))
            if len(members) == len(_MEMBERS):
                break
    return members


def without_bom(item: SessionMessage | Exception) -> SessionMessage | Exception:
    """A line the SDK refused only for a leading UTF-8 byte order mark (which JSON allows a reader to
    ignore), read again without it: a message to serve, or the refusal of the line without the mark."""
    errors = item.errors() if isinstance(item, ValidationError) else []
    line = errors[0].get("input") if errors and errors[0]["type"] == "json_invalid" else None
    if not isinstance(line, str) or not line.lstrip(" \t").startswith("\ufeff"):
        return item
    try:
        return SessionMessage(types.jsonrpc_message_adapter.validate_json(line.lstrip(" \t")[1:], by_name=False))
    except ValidationError as exc:
        return exc


def answer_for(request: Undecodable) -> SessionMessage:
    """A tool error for tools/call (what an in-process call would get); invalid params otherwise."""
    problem = one_line(request.problem)
    if request.method == "tools/call" and request.as_tool_error:
        result = CallToolResult(content=[TextContent(type="text", text=problem)], is_error=True)
        reply: JSONRPCResponse | JSONRPCError = JSONRPCResponse(
            jsonrpc="2.0", id=request.request_id, result=result.model_dump(by_alias=True, exclude_none=True)
        )
    else:
        error = ErrorData(code=request.code, message=problem)
        reply = JSONRPCError(jsonrpc="2.0", id=request.request_id, error=error)
    return SessionMessage(reply)


class InFlight:
    """Requests read and not answered yet, so the end of input can wait for their answers.

    A client that writes its requests and closes stdin (a script piping a file in) must still get
    every answer; the SDK would cancel them all at end of input and answer "Connection closed".
    """

    def __init__(self) -> None:
        self._pending: Counter[str | int] = Counter()
        self._drained = asyncio.Event()
        self._drained.set()

    def read(self, item: SessionMessage | Exception) -> None:
        if not isinstance(item, SessionMessage):
            return
        message = item.message
        if isinstance(message, JSONRPCRequest):
            self._pending[coerce_request_id(message.id)] += 1
            self._drained.clear()
        elif isinstance(message, JSONRPCNotification) and message.method == "notifications/cancelled":
            request_id = cancelled_request_id_from_params(message.params)  # a cancelled request gets no answer
            if request_id is not None:
                self._settle(request_id)

    def written(self, item: SessionMessage) -> None:
        if isinstance(item.message, JSONRPCResponse | JSONRPCError) and item.message.id is not None:
            self._settle(item.message.id)

    def _settle(self, request_id: str | int) -> None:
        request_id = coerce_request_id(request_id)  # "7" and 7 are one id to the SDK
        if self._pending[request_id] > 0:
            self._pending[request_id] -= 1
            if self._pending[request_id] == 0:
                del self._pending[request_id]
        if not self._pending:
            self._drained.set()

    async def drained(self, within: float) -> None:
        """Wait until every request read has been answered, or `within` seconds."""
        if not self._pending:
            return
        logger.info("input ended; waiting for %d request(s) in flight", sum(self._pending.values()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained.wait(), within)


class _Stream:
    """`async with` closes the stream, as the SDK's streams do."""

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc_val: BaseException | None, exc_tb: TracebackType | None
    ) -> bool | None:
        await self.aclose()
        return None


class AnsweringReader(_Stream):
    """The stdio read stream, minus the requests it answers itself (see the module docstring); at the
    end of input it waits for the requests in flight to be answered before reporting it."""

    def __init__(
        self, inner: ReadStream[SessionMessage | Exception], replies: WriteStream[SessionMessage], in_flight: InFlight
    ) -> None:
        self._inner = inner
        self._replies = replies
        self._in_flight = in_flight

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def _answered(self, item: SessionMessage | Exception) -> bool:
        if not isinstance(item, Exception):
            return False
        # Off the event loop: reading the ids out of a many-megabyte line is CPU work.
        refused = await anyio.to_thread.run_sync(refused_requests, item)
        for found in refused:
            logger.warning(
                "request %r (%s) could not be decoded; answered: %s", found.request_id, found.method, found.problem
            )
            await self._replies.send(answer_for(found))
        return bool(refused)

    async def _next(self, get: Callable[[], Awaitable[SessionMessage | Exception]]) -> SessionMessage | Exception:
        while True:
            try:
                item = await get()
            except (StopAsyncIteration, anyio.EndOfStream):
                await self._in_flight.drained(DRAIN_S)
                raise
            item = without_bom(item)
            if not await self._answered(item):
                self._in_flight.read(item)
                return item

    async def receive(self) -> SessionMessage | Exception:
        return await self._next(self._inner.receive)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> AnsweringReader:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        return await self._next(self._inner.__anext__)


def bounded(item: SessionMessage) -> SessionMessage:
    """An error answer whose message and text data are one short line: the SDK's own answers echo
    what they refuse (an unknown method of a megabyte comes back whole in `data`)."""
    message = item.message
    if not isinstance(message, JSONRPCError):
        return item
    error = message.error
    text = one_line(error.message)
    data = one_line(error.data, 300) if isinstance(error.data, str) else error.data
    if text is error.message and data is error.data:
        return item
    update = {"error": error.model_copy(update={"message": text, "data": data})}
    return SessionMessage(message.model_copy(update=update), metadata=item.metadata)


class TrackingWriter(_Stream):
    """The stdio write stream, telling `InFlight` which requests have been answered (and bounding errors)."""

    def __init__(self, inner: WriteStream[SessionMessage], in_flight: InFlight) -> None:
        self._inner = inner
        self._in_flight = in_flight

    async def send(self, item: SessionMessage, /) -> None:
        item = bounded(item)
        await self._inner.send(item)
        self._in_flight.written(item)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def serve_stdio(server: CdeServer) -> None:
    """What `MCPServer.run_stdio_async` does, through `AnsweringReader` and `TrackingWriter`."""
    lowlevel = server._lowlevel_server
    in_flight = InFlight()
    async with stdio_server() as (read_stream, write_stream):
        await lowlevel.run(
            AnsweringReader(read_stream, write_stream, in_flight),
            TrackingWriter(write_stream, in_flight),
            lowlevel.create_initialization_options(),
        )
