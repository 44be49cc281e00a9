"""MCP servers as tool sources: started lazily, listed from a cache, called with timeouts.

Each configured server (an ``integrations`` row of kind ``mcp-stdio`` or ``mcp-http``)
offers its tools as ``server.tool``. Their schemas are cached on disk after every
successful listing, so offering them to the model does not start anything; the server is
started on the first call (or by ``prepare()``/``discover()`` when there is no listing
yet). One task per server owns the connection, so it can be closed from anywhere; a
server that does not start, answer or list in time gives a clear error and its status
(``storage.integrations.set_status``) says what went wrong.

``mcp`` is imported only here, and only when a server is actually used.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engine.tooling import ToolOutput
from .base import Tool, ToolEnv, ToolError, clip, wire_name
from .mcpconfig import config_hash, load_credentials, server_environment

if TYPE_CHECKING:
    from storage import Storage

log = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT = 30.0
DEFAULT_CALL_TIMEOUT = 60.0
MCP_KINDS = ("mcp-stdio", "mcp-http")
MAX_STORED_BYTES = 8_000_000


def _one_line(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:500]


class McpConnection:
    """One running server, owned by one task (anyio scopes must exit where they entered)."""

    def __init__(self, server: "McpServer") -> None:
        self.server = server
        self.client: Any = None
        self.error: BaseException | None = None
        self._ready = asyncio.Event()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.loop = asyncio.get_running_loop()

    async def start(self, timeout: float) -> Any:
        self._task = asyncio.create_task(self._own(), name=f"mcp-{self.server.name}")
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except asyncio.TimeoutError:
            await self.close()
            raise ToolError(f"the MCP server {self.server.name} did not start within {timeout:g} s") from None
        if self.client is None:
            await self.close()
            raise ToolError(f"the MCP server {self.server.name} could not be started: "
                            f"{_one_line(self.error) if self.error else 'it stopped'}")
        return self.client

    async def _own(self) -> None:
        try:
            async with self.server.client() as client:
                self.client = client
                self._ready.set()
                await self._closing.wait()
        except BaseException as exc:  # noqa: BLE001 - reported through start() and alive
            self.error = exc
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self.client = None
            self._ready.set()

    @property
    def alive(self) -> bool:
        return self.client is not None and self._task is not None and not self._task.done()

    async def close(self) -> None:
        """Stop the server: politely when it is connected, by cancelling the start when it
        is not; either way wait (bounded) for the SDK to end the process."""
        self._closing.set()
        task = self._task
        if task is None or task.done():
            return
        if self.client is None:
            task.cancel()
        done, _ = await asyncio.wait({task}, timeout=8.0)
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=8.0)


class McpServer:
    def __init__(self, manager: "McpManager", record: Any) -> None:
        self.manager = manager
        self.record = record
        self.name: str = record.name
        self.connection: McpConnection | None = None
        self.listing: list[dict[str, Any]] | None = manager.read_cache(record)
        self._lock: asyncio.Lock | None = None
        self._lock_loop: Any = None

    @property
    def call_timeout(self) -> float:
        return float(self.record.config.get("timeout") or DEFAULT_CALL_TIMEOUT)

    @asynccontextmanager
    async def client(self):  # type: ignore[no-untyped-def]
        from mcp import Client, StdioServerParameters, stdio_client
        from mcp.types import Implementation

        secrets = await asyncio.to_thread(load_credentials, self.record.credentials_ref, self.manager.key_store)
        config = self.record.config
        info = Implementation(name="tui-chat", version="0")
        if self.record.kind == "mcp-stdio":
            params = StdioServerParameters(
                command=config["command"][0], args=list(config["command"][1:]),
                env=server_environment(dict(config.get("env") or {}), secrets.env), cwd=config.get("cwd") or None)
            errlog = self.manager.errlog(self.name)
            try:
                transport = stdio_client(params, errlog=errlog)
                async with Client(transport, read_timeout_seconds=self.call_timeout, client_info=info) as client:
                    yield client
            finally:
                errlog.close()
        else:
            transport = _http_transport(config["url"], {**(config.get("headers") or {}), **secrets.headers},
                                        self.call_timeout)
            async with Client(transport, read_timeout_seconds=self.call_timeout, client_info=info) as client:
                yield client

    async def connect(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        async with self._lock:
            connection = self.connection
            if connection is not None and connection.loop is asyncio.get_running_loop() and connection.alive:
                return connection.client
            self.connection = McpConnection(self)
            try:
                client = await self.connection.start(self.manager.connect_timeout)
            except ToolError as exc:
                self.connection = None
                await self.manager.set_status(self.name, "error", str(exc))
                raise
            await self.manager.set_status(self.name, "active")
            return client

    async def list_tools(self) -> list[dict[str, Any]]:
        client = await self.connect()
        tools: list[dict[str, Any]] = []
        cursor = None
        try:
            async with asyncio.timeout(self.manager.connect_timeout):
                while True:
                    page = await client.list_tools(cursor=cursor) if cursor else await client.list_tools()
                    for tool in page.tools:
                        tools.append({"name": tool.name, "description": tool.description or "",
                                      "input_schema": dict(tool.input_schema or {"type": "object"})})
                    cursor = getattr(page, "next_cursor", None)
                    if not cursor:
                        break
        except Exception as exc:
            message = f"the MCP server {self.name} could not list its tools: {_one_line(exc)}"
            await self.manager.set_status(self.name, "error", message)
            raise ToolError(message) from None
        self.listing = tools
        self.manager.write_cache(self.record, tools)
        return tools

    async def call(self, tool: str, arguments: dict[str, Any]) -> ToolOutput:
        client = await self.connect()
        timeout = self.call_timeout
        try:
            async with asyncio.timeout(timeout + 5):
                result = await client.call_tool(tool, arguments, read_timeout_seconds=timeout)
        except (TimeoutError, asyncio.TimeoutError):
            await self._drop()
            raise ToolError(f"{self.name}.{tool} did not answer within {timeout:g} s") from None
        except Exception as exc:
            text = _one_line(exc)
            if "timed out" in text:
                raise ToolError(f"{self.name}.{tool} did not answer within {timeout:g} s") from None
            from mcp import MCPError

            if not isinstance(exc, MCPError) or "closed" in text.lower():  # the connection is gone
                await self.manager.set_status(self.name, "error", f"the server stopped answering: {text}")
                await self._drop()  # the next call starts it again
                raise ToolError(f"{self.name}.{tool} failed: the MCP server stopped ({text}); it will be "
                                "started again on the next call") from None
            raise ToolError(f"{self.name}.{tool} failed: {text}") from None
        return _result(self.name, tool, result)

    async def _drop(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            await connection.close()

    def tools(self) -> list[Tool]:
        out = []
        for entry in self.listing or ():
            name = entry["name"]

            async def run(args: dict[str, Any], env: ToolEnv, _tool: str = name) -> ToolOutput:
                return await self.call(_tool, args)

            out.append(Tool(
                f"{self.name}.{name}", f"[MCP server {self.name}] {entry.get('description') or name}"[:4000],
                entry.get("input_schema") or {"type": "object"}, risk="medium", kind="mcp",
                source=f"mcp:{self.name}", run=run, wire_name=wire_name(self.name, name), cost=None,
                preview=lambda args, env, _n=f"{self.name}.{name}": f"{_n} {json.dumps(args, ensure_ascii=False)}",
            ))
        return out


@asynccontextmanager
async def _http_transport(url: str, headers: dict[str, str], timeout: float):  # type: ignore[no-untyped-def]
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(timeout, read=max(timeout, 300.0))) as http, \
            streamable_http_client(url, http_client=http) as streams:
        yield streams


def _result(server: str, tool: str, result: Any) -> ToolOutput:
    pieces: list[str] = []
    for block in result.content or ():
        kind = getattr(block, "type", "")
        if kind == "text":
            pieces.append(block.text)
        elif kind in ("image", "audio"):
            pieces.append(f"[{kind}: {block.mime_type}, {len(block.data) * 3 // 4:,} bytes]")
        elif kind == "resource":
            inner = block.resource
            pieces.append(getattr(inner, "text", None) or f"[resource {inner.uri}]")
        elif kind == "resource_link":
            pieces.append(f"[resource link: {block.uri}]")
    if not pieces and result.structured_content is not None:
        pieces.append(json.dumps(result.structured_content, ensure_ascii=False))
    text = "\n".join(pieces) or "(no content)"
    data: dict[str, Any] = {"server": server, "tool": tool, "is_error": bool(result.is_error),
                            "content": [b.model_dump(mode="json", by_alias=True, exclude_none=True)
                                        for b in result.content or ()],
                            "structured": result.structured_content}
    if len(json.dumps(data, default=str)) > MAX_STORED_BYTES:
        data = {"server": server, "tool": tool, "is_error": bool(result.is_error), "text": text[:MAX_STORED_BYTES]}
    return ToolOutput(clip(text), is_error=bool(result.is_error), data=data)


class McpManager:
    """Every MCP server of one user. ``tools()`` needs no server running."""

    def __init__(self, storage: "Storage", user_id: str, *, cache_dir: Path | None = None,
                 log_dir: Path | None = None, key_store: Any = None,
                 connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> None:
        from ..paths import app_paths

        paths = app_paths()
        self.storage = storage
        self.user_id = user_id
        self.cache_dir = cache_dir or paths.data_dir / "mcp-tools"
        self.log_dir = log_dir or paths.log_dir
        self.key_store = key_store
        self.connect_timeout = connect_timeout
        records = [r for r in storage.integrations.list(user_id) if r.kind in MCP_KINDS and r.status != "disabled"]
        self.servers = {r.name: McpServer(self, r) for r in records}

    def tools(self) -> list[Tool]:
        return [tool for server in self.servers.values() for tool in server.tools()]

    def unlisted(self) -> list[str]:
        return [name for name, server in self.servers.items() if server.listing is None]

    async def prepare(self) -> dict[str, str]:
        """List the tools of every server that has no cached listing; returns the errors."""
        errors: dict[str, str] = {}
        for name in self.unlisted():
            try:
                await self.servers[name].list_tools()
            except ToolError as exc:
                errors[name] = str(exc)
        return errors

    async def discover(self, name: str) -> list[dict[str, Any]]:
        return await self.servers[name].list_tools()

    async def aclose(self) -> None:
        for server in self.servers.values():
            await server._drop()

    async def set_status(self, name: str, status: str, error: str | None = None) -> None:
        try:
            await asyncio.to_thread(self.storage.integrations.set_status, self.user_id, name, status, error)
        except Exception:  # noqa: BLE001 - a status is not worth failing a call over
            log.warning("could not record the status of MCP server %s", name, exc_info=True)

    # --- cache and logs --------------------------------------------------------------

    def _cache_file(self, record: Any) -> Path:
        return self.cache_dir / f"{record.id}.json"

    def read_cache(self, record: Any) -> list[dict[str, Any]] | None:
        try:
            data = json.loads(self._cache_file(record).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if data.get("config") != config_hash(record.kind, record.config) or not isinstance(data.get("tools"), list):
            return None
        return data["tools"]

    def write_cache(self, record: Any, tools: list[dict[str, Any]]) -> None:
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            temp = self._cache_file(record).with_suffix(".tmp")
            temp.write_text(json.dumps({"server": record.name, "config": config_hash(record.kind, record.config),
                                        "tools": tools}), encoding="utf-8")
            temp.replace(self._cache_file(record))
        except OSError:
            log.warning("could not cache the tools of MCP server %s", record.name, exc_info=True)

    def errlog(self, name: str) -> Any:
        """Where a stdio server's stderr goes (never the terminal the TUI draws on)."""
        self.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return open(self.log_dir / f"mcp-{name}.log", "a", encoding="utf-8")

