"""The baseline: a minimal MCPServer with one echo tool, measured exactly like ours.

Run as `python -m server.bench.echo_server` for the stdio and cold-start comparisons;
it imports nothing of this project beyond the two tiny package `__init__` modules.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer


def build() -> MCPServer:
    server: MCPServer = MCPServer(name="echo")

    @server.tool()
    async def echo(text: str = "") -> str:
        """Echo the text back."""
        return text

    return server


if __name__ == "__main__":
    build().run("stdio")
