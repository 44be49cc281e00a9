"""A real local HTTP server that speaks the OpenAI and Anthropic streaming APIs.

In-process (tests)::

    with FakeProviderServer(api_key="sk-test") as server:
        server.queue(Scenario(text="Hello there", chunks=3))
        ... point a provider at server.base_url_openai or server.base_url_anthropic ...
        server.requests[-1].headers["authorization"]

As a separate process (benchmarks, tmux end-to-end tests)::

    python -m tests.fakes.provider_server --port 0 --script scenarios.json \
        [--api-key KEY] [--port-file FILE] [--log requests.jsonl]

prints ``READY http://127.0.0.1:PORT`` once listening. The script is a JSON list of
scenario objects, or ``{"default": {...}, "scenarios": [...]}``. A running server also
takes ``POST /_fake/scenarios`` (one scenario object or a list), ``GET /_fake/requests``
and ``POST /_fake/reset``.

Routes: ``POST /v1/chat/completions``, ``POST /v1/messages``, ``GET /v1/models`` (Anthropic
format when the request carries ``anthropic-version``). Every POST takes the next queued
scenario; with none queued the reply echoes the last user message.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.fakes.provider_wire import (
    CUT,
    Scenario,
    ToolCallScript,
    Write,
    anthropic_stream,
    error_body,
    last_user_text,
    masked_key,
    models_body,
    openai_stream,
)

__all__ = ["FakeProviderServer", "RecordedRequest", "Scenario", "ToolCallScript"]

DEFAULT_MODELS = ["fake-model-small", "fake-model-large"]


@dataclass
class RecordedRequest:
    """One request as the server received it. ``headers`` keys are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    disconnected: bool = False  # the client went away before the answer was complete
    completed: bool = False  # the whole answer was written
    chunks_sent: int = 0  # content chunks written before the end (or the disconnect)
    peer: str = ""  # the client's "host:port" (same peer = a reused connection)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class _ClientGone(Exception):
    pass


class FakeProviderServer:
    """Thread-backed fake of both APIs. Thread-safe; use as a context manager."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str | None = None,
        default: Scenario | None = None,
        models: list[str] | None = None,
        log_path: str | Path | None = None,
    ) -> None:
        self.api_key = api_key
        self.default = default
        self.models = list(models or DEFAULT_MODELS)
        self.requests: list[RecordedRequest] = []
        self._scenarios: deque[Scenario] = deque()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._log_path = Path(log_path) if log_path else None
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url_openai(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def base_url_anthropic(self) -> str:
        return self.base_url

    def start(self) -> FakeProviderServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-provider", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeProviderServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- scripting and inspection ------------------------------------------------------

    def queue(self, *scenarios: Scenario) -> None:
        """Queue scenarios; each POST to a chat endpoint takes the next one."""
        with self._lock:
            self._scenarios.extend(scenarios)

    def reset(self) -> None:
        with self._lock:
            self._scenarios.clear()
            self.requests.clear()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._scenarios)

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            return self.requests[-1]

    def chat_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and not r.path.startswith("/_fake")]

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> bool:
        """Wait until ``predicate(requests)`` is true; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.requests), timeout)

    def wait_for_disconnect(self, timeout: float = 5.0) -> bool:
        """Wait until the server has seen a client abandon a streaming answer."""
        return self.wait_for(lambda reqs: any(r.disconnected for r in reqs), timeout)

    def _take(self) -> Scenario | None:
        with self._lock:
            return self._scenarios.popleft() if self._scenarios else self.default

    def _record(self, request: RecordedRequest) -> None:
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()

    def _finished(self, request: RecordedRequest) -> None:
        with self._changed:
            self._changed.notify_all()
        if self._log_path:
            with self._lock, self._log_path.open("a", encoding="utf-8") as log:
                log.write(json.dumps(request.to_dict()) + "\n")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-provider/1.0"
    sys_version = ""

    @property
    def fake(self) -> FakeProviderServer:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    # --- routing ----------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        record = self._start_record(None)
        path = self.path.split("?")[0]
        if path == "/_fake/requests":
            self._send_json(200, json.dumps([r.to_dict() for r in self.fake.requests]).encode())
        elif path == "/v1/models":
            api = self._api()
            if self._authorised(api):
                self._send_json(200, models_body(api, self.fake.models))
        else:
            self._send_json(404, error_body("openai", 404, None, f"no route for GET {path}"))
        self._end_record(record, completed=True)

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        record = self._start_record(body)
        path = self.path.split("?")[0]
        if path.startswith("/_fake/"):
            self._control(path, body)
            self._end_record(record, completed=True)
            return
        api = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic"}.get(path)
        if api is None:
            self._send_json(404, error_body("openai", 404, None, f"no route for POST {path}"))
        elif self._authorised(api):
            self._end_record(record, completed=self._answer(api, body if isinstance(body, dict) else {}, record))
            return
        self._end_record(record, completed=True)

    def _control(self, path: str, body: Any) -> None:
        if path == "/_fake/scenarios":
            items = body if isinstance(body, list) else [body]
            self.fake.queue(*(Scenario.from_dict(item) for item in items))
        elif path == "/_fake/reset":
            self.fake.reset()
        self._send_json(200, b'{"ok": true}')

    # --- helpers ----------------------------------------------------------------------

    def _api(self) -> str:
        return "anthropic" if "anthropic-version" in self.headers else "openai"

    def _start_record(self, body: Any) -> RecordedRequest:
        headers = {k.lower(): v for k, v in self.headers.items()}
        record = RecordedRequest(self.command, self.path, headers, body, peer="%s:%s" % self.client_address[:2])
        if not self.path.startswith("/_fake/"):
            self.fake._record(record)
        return record

    def _end_record(self, record: RecordedRequest, *, completed: bool) -> None:
        record.completed = completed
        if not self.path.startswith("/_fake/"):
            self.fake._finished(record)

    def _authorised(self, api: str) -> bool:
        expected = self.fake.api_key
        if expected is None:
            return True
        bearer = self.headers.get("authorization", "").removeprefix("Bearer ").strip()
        given = self.headers.get("x-api-key") or bearer
        if given == expected:
            return True
        if api == "anthropic":
            message = "invalid x-api-key"
        else:
            message = (f"Incorrect API key provided: {masked_key(given)}. You can find your API key at "
                       "https://platform.openai.com/account/api-keys.")
        self._send_json(401, error_body(api, 401, None, message))
        return False

    def _send_json(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.send_header("request-id", "req_fake")
        self.send_header("x-request-id", "req_fake")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _answer(self, api: str, body: dict[str, Any], record: RecordedRequest) -> bool:
        """Send one scripted answer; False when it was cut short (by script or client)."""
        scenario = self.fake._take() or Scenario(text=f"You said: {last_user_text(body) or 'nothing'}")
        if scenario.status != 200:
            headers = dict(scenario.headers)
            if scenario.retry_after is not None:
                headers["retry-after"] = scenario.retry_after
            if scenario.retry_after_ms is not None:
                headers["retry-after-ms"] = scenario.retry_after_ms
            if scenario.status == 429 and api == "anthropic":
                headers.setdefault("anthropic-ratelimit-requests-remaining", "0")
            payload = error_body(api, scenario.status, scenario.error_type, scenario.error_message)
            self._send_json(scenario.status, payload, headers)
            return True
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", "req_fake")
        for name, value in scenario.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        events = (anthropic_stream if api == "anthropic" else openai_stream)(scenario, body)
        try:
            return self._stream(scenario, events, record)
        except _ClientGone:
            record.disconnected, record.completed = True, False
            self.close_connection = True
            return False

    def _stream(self, sc: Scenario, events: Iterator[Write | object], record: RecordedRequest) -> bool:
        delay = sc.chunk_delay()
        grouped: list[bytes] = []  # events held for one HTTP chunk (events_per_write)
        for item in events:
            if item is CUT:
                if grouped:
                    self._write_chunk(b"".join(grouped))
                self.close_connection = True  # no terminating chunk: the body is incomplete
                return False
            assert isinstance(item, Write)
            if item.content:
                self._pause(sc.first_token_delay if record.chunks_sent == 0 else 0.0, delay)
                record.chunks_sent += 1
            if sc.events_per_write > 1:
                grouped.append(item.data)
                if len(grouped) >= sc.events_per_write:
                    self._write_chunk(b"".join(grouped))
                    grouped.clear()
            elif sc.split_utf8 and item.content:
                cut = _split_point(item.data)
                self._write_chunk(item.data[:cut])
                self._pause(0.005, 0.0)
                self._write_chunk(item.data[cut:])
            else:
                self._write_chunk(item.data)
        if grouped:
            self._write_chunk(b"".join(grouped))
        record.completed = True  # before the last write, so a client that saw the end sees this too
        self._write(b"0\r\n\r\n")
        return True

    def _write_chunk(self, data: bytes) -> None:
        self._write(b"%x\r\n%s\r\n" % (len(data), data))

    def _write(self, data: bytes) -> None:
        if self.fake._stopping.is_set():
            raise _ClientGone
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise _ClientGone from exc

    def _pause(self, first: float, delay: float) -> None:
        """Wait, noticing at once if the client closes the connection meanwhile."""
        deadline = time.monotonic() + first + delay
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([self.connection], [], [], remaining)
            if readable:
                try:
                    peek = self.connection.recv(1, socket.MSG_PEEK)
                except OSError as exc:
                    raise _ClientGone from exc
                if not peek:
                    raise _ClientGone
                time.sleep(remaining)  # unexpected bytes (pipelining): just wait
            if self.fake._stopping.is_set():
                raise _ClientGone
            if time.monotonic() >= deadline:
                return


def _split_point(data: bytes) -> int:
    """Index inside the first multi-byte UTF-8 character, else the middle."""
    for i, byte in enumerate(data):
        if byte >= 0xC0:  # lead byte of a multi-byte sequence
            return i + 1
    return max(1, len(data) // 2)


def _load_script(path: str) -> tuple[Scenario | None, list[Scenario]]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, list):
        return None, [Scenario.from_dict(d) for d in data]
    default = Scenario.from_dict(data["default"]) if data.get("default") else None
    return default, [Scenario.from_dict(d) for d in data.get("scenarios", [])]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI/Anthropic streaming server for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--script", help="JSON file: a list of scenarios or {default, scenarios}")
    parser.add_argument("--api-key", help="require this key (401 otherwise)")
    parser.add_argument("--port-file", help="write the chosen port to this file once listening")
    parser.add_argument("--log", help="append every finished request as a JSON line to this file")
    args = parser.parse_args(argv)
    default, scenarios = _load_script(args.script) if args.script else (None, [])
    server = FakeProviderServer(args.host, args.port, api_key=args.api_key, default=default, log_path=args.log)
    server.queue(*scenarios)
    if args.port_file:
        Path(args.port_file).write_text(str(server.port), encoding="utf-8")
    print(f"READY {server.base_url}", flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()


if __name__ == "__main__":
    main()
