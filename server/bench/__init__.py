"""The benchmark suite behind `cde-orchestrator bench` (kept import-light: see echo_server; the CLI's
help imports the suite names from here)."""

from __future__ import annotations

# suite name → "module:function"; each function is `async (BenchContext) -> list[Row]`.
SUITES: dict[str, str] = {
    "cache": "server.bench.cache_bench:run",
    "files": "server.bench.files_bench:run",
    "rpc": "server.bench.rpc_bench:run",
    "workflow": "server.bench.workflow_bench:run",
    "skills": "server.bench.skills_bench:run",
    "tools": "server.bench.tools_bench:run",
    "delegation": "server.bench.delegation_bench:run",
    "docs": "server.bench.docs_bench:run",
    "scan": "server.bench.scan_bench:run",
}
