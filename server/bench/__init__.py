"""The benchmark suite behind `cde-orchestrator bench` (kept import-light: see echo_server)."""
