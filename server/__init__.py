"""cde-orchestrator's MCP layer: tool handlers, the composition root and the CLI."""

__version__ = "0.1.0"
