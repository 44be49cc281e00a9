"""fetch_url against a local HTTP server on 127.0.0.1: text, HTML, limits, redirects."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tui_chat.tools.base import ToolEnv
from tui_chat.tools.net import pinned_request
from tui_chat.tools.runtime import Runtime


class Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, str]] = []  # (path, Host header) of every request

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, kind: str = "text/plain; charset=utf-8", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        Handler.seen.append((self.path, self.headers.get("Host", "")))
        if self.path == "/text":
            self._send(200, "plain text é".encode())
        elif self.path == "/page":
            self._send(200, b"<html><head><style>p{}</style><script>alert(1)</script></head><body><h1>Title</h1>"
                            b"<p>First &amp; second</p><ul><li>one</li></ul></body></html>", "text/html")
        elif self.path == "/big":
            self._send(200, b"x" * 500_000)
        elif self.path == "/slow":
            time.sleep(3)
            self._send(200, b"late")
        elif self.path == "/redirect":
            self._send(302, b"", Location="/text")
        elif self.path == "/to-file":
            self._send(302, b"", Location="file:///etc/passwd")
        elif self.path == "/binary":
            self._send(200, b"\x89PNG....", "image/png")
        else:
            self._send(404, b"not here")


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


async def fetch(store, user_id, context, url: str, **env):
    return await Runtime(store, user_id, env=env).execute("fetch_url", {"url": url}, context())


async def test_text(store, user_id, context, server: str) -> None:
    result = await fetch(store, user_id, context, f"{server}/text")
    assert not result.is_error and result.text.endswith("\n\nplain text é")
    assert result.data["status"] == 200 and result.data["body"] == "plain text é"


async def test_html_becomes_text(store, user_id, context, server: str) -> None:
    result = await fetch(store, user_id, context, f"{server}/page")
    body = result.text.split("\n\n", 1)[1]
    assert "Title" in body and "First & second" in body and "- one" in body
    assert "alert" not in body and "<p>" not in body and "<p>" in result.data["body"]


async def test_size_limit(store, user_id, context, server: str) -> None:
    result = await fetch(store, user_id, context, f"{server}/big", fetch_size_limit=100_000)
    assert result.data["bytes"] == 100_000 and result.data["capped"] and "cut at the size limit" in result.text


async def test_time_limit(store, user_id, context, server: str) -> None:
    started = time.monotonic()
    result = await fetch(store, user_id, context, f"{server}/slow", fetch_timeout=1.0)
    assert result.is_error and "did not answer within 1 s" in result.text and time.monotonic() - started < 2.5


async def test_redirects_are_followed_but_only_to_http(store, user_id, context, server: str) -> None:
    assert (await fetch(store, user_id, context, f"{server}/redirect")).data["url"] == f"{server}/text"
    refused = await fetch(store, user_id, context, f"{server}/to-file")
    assert refused.is_error and "not an http:// or https:// URL" in refused.text


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "javascript:alert(1)", "not a url"])
async def test_only_http_and_https(store, user_id, context, url: str) -> None:
    result = await fetch(store, user_id, context, url)
    assert result.is_error and "not an http:// or https:// URL" in result.text


async def test_binary_and_errors(store, user_id, context, server: str) -> None:
    binary = await fetch(store, user_id, context, f"{server}/binary")
    assert binary.is_error and "image/png" in binary.text
    missing = await fetch(store, user_id, context, f"{server}/nope")
    assert missing.is_error and "HTTP 404" in missing.text


def resolver(*addresses: str):
    """A DNS answer for every name (offline: the tests never ask a real server)."""

    async def resolve(host: str) -> list[str]:
        return list(addresses)

    return resolve


async def test_a_name_that_resolves_to_this_machine_is_not_fetched(store, user_id, context, server: str,
                                                                   tmp_path) -> None:
    """The policy judged the URL by its name (public); a connection to what it resolves to
    (127.0.0.1 here: DNS rebinding, or a name pointing home) is refused before any request."""
    port = server.rsplit(":", 1)[1]
    Handler.seen.clear()
    result = await fetch(store, user_id, context, f"http://innocent.example:{port}/text",
                         resolve=resolver("127.0.0.1"))
    assert result.is_error and "innocent.example resolves to 127.0.0.1" in result.text
    mapped = await fetch(store, user_id, context, f"http://innocent.example:{port}/text",
                         resolve=resolver("8.8.8.8", "::ffff:127.0.0.1"))
    assert mapped.is_error and "resolves to ::ffff:7f00:1" in mapped.text
    assert Handler.seen == []


async def test_a_url_that_names_this_machine_is_fetched_there(store, user_id, context, server: str) -> None:
    port = server.rsplit(":", 1)[1]
    Handler.seen.clear()
    result = await fetch(store, user_id, context, f"http://localhost:{port}/text", resolve=resolver("127.0.0.1"))
    assert not result.is_error and result.data["url"] == f"http://localhost:{port}/text"
    assert Handler.seen == [("/text", f"localhost:{port}")]  # the name still goes in the Host header


async def test_connections_go_to_the_checked_address(tmp_path) -> None:
    env = ToolEnv(workspace=tmp_path, resolve=resolver("93.184.216.34", "2606:2800:220:1::1"))
    target, headers, extensions = await pinned_request("https://example.com/a?b=1", allow_local=False, env=env)
    assert (target, headers, extensions) == ("https://93.184.216.34/a?b=1", {"Host": "example.com"},
                                             {"sni_hostname": "example.com"})
    env = ToolEnv(workspace=tmp_path, resolve=resolver("2606:2800:220:1::1"))
    target, headers, extensions = await pinned_request("http://example.com:8080/", allow_local=False, env=env)
    assert (target, headers, extensions) == ("http://[2606:2800:220:1::1]:8080/", {"Host": "example.com:8080"}, {})
