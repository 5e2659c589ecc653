"""Runs the suites, prints one table, optionally writes JSON.

Targets are checked as numbers here, never in unit tests: timings on a shared
2-core machine are noisy, so comparisons that matter are ratios measured side by
side in the same run.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from server import __version__
from server.bench import SUITES
from server.bench.util import BenchContext, Row


def _load(spec: str) -> Callable[[BenchContext], Awaitable[list[Row]]]:
    module_name, func = spec.split(":")
    fn: Callable[[BenchContext], Awaitable[list[Row]]] = getattr(importlib.import_module(module_name), func)
    return fn


def format_table(rows: Sequence[Row]) -> str:
    header = ("suite", "metric", "value", "unit", "target", "ok", "note")
    body = [
        (r.suite, r.metric, f"{r.value:g}", r.unit, r.target, {True: "yes", False: "NO", None: "-"}[r.ok], r.note)
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body, strict=False)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


async def run_benchmarks(*, json_path: str | None, only: list[str] | None, quick: bool) -> int:
    unknown = [name for name in only or [] if name not in SUITES]
    if unknown:
        sys.stderr.write(f"unknown suite(s) {', '.join(unknown)}; available: {', '.join(SUITES)}\n")
        return 2
    problem = _unwritable(Path(json_path)) if json_path else None
    if problem:  # said now, not after minutes of measuring
        sys.stderr.write(f"cannot write the results to {json_path}: {problem}\n")
        return 2
    rows: list[Row] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cde-bench-") as tmp:
        for name, spec in SUITES.items():
            if only and name not in only:
                continue
            sys.stderr.write(f"bench: {name}...\n")
            workdir = Path(tmp) / name
            workdir.mkdir()
            rows.extend(await _load(spec)(BenchContext(quick=quick, workdir=workdir)))
    sys.stdout.write(format_table(rows) + "\n")
    failed = [r for r in rows if r.ok is False]
    sys.stdout.write(
        f"\n{len(rows)} measurements, {sum(r.ok is True for r in rows)} targets met, "
        f"{len(failed)} missed, in {time.perf_counter() - started:.1f}s\n"
    )
    if json_path:
        document = {
            "version": __version__,
            "created": datetime.now(UTC).isoformat(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "quick": quick,
            "rows": [r.as_dict() for r in rows],
        }
        try:
            Path(json_path).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:  # the table above has the results
            sys.stderr.write(f"cannot write the results to {json_path}: {exc.strerror or exc}\n")
            return 1
    return 0


def _unwritable(path: Path) -> str | None:
    """Why `path` cannot take the JSON results, or None."""
    if path.is_dir():
        return "it is a directory"
    if not path.parent.is_dir():
        return f"{path.parent} is not a directory"
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return "permission denied"
    return None
