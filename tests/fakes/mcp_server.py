"""A real MCP server for tests, written with the ``mcp`` SDK.

Run it over stdio (what ``tui-chat mcp add NAME -- python -m tests.fakes.mcp_server``
starts) or over streamable HTTP::

    python -m tests.fakes.mcp_server                 # stdio
    python -m tests.fakes.mcp_server --http PORT     # http://127.0.0.1:PORT/mcp, prints READY URL

Tools: ``echo`` (text back), ``add`` (two integers), ``fail`` (an anticipated error),
``slow`` (sleeps), ``crash`` (ends the process), ``env`` (the value of an environment variable, to check what the
server was given) and ``write_marker`` (creates a file, to prove a call ran).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("fake-tools", instructions="Tools for tui-chat's tests.")


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def fail(message: str = "this tool always fails") -> str:
    """Fail with the given message."""
    raise ToolError(message)


@server.tool()
async def slow(seconds: float = 30.0) -> str:
    """Sleep for a number of seconds, then answer."""
    await asyncio.sleep(seconds)
    return f"slept {seconds:g} s"


@server.tool()
def env(name: str) -> str:
    """The value of an environment variable of the server, or <unset>."""
    return os.environ.get(name, "<unset>")


@server.tool()
def write_marker(path: str, text: str = "ran") -> str:
    """Write text to a file (tests check that a call really ran)."""
    Path(path).write_text(text, encoding="utf-8")
    return f"wrote {path}"


@server.tool()
def crash() -> str:
    """End the server process at once (tests check that the client recovers)."""
    os._exit(1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP on 127.0.0.1:PORT")
    args = parser.parse_args(argv)
    if args.http is None:
        server.run()
        return
    import socket

    port = args.http
    if port == 0:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    print(f"READY http://127.0.0.1:{port}/mcp", flush=True)
    sys.stdout.flush()
    server.run("streamable-http", host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
