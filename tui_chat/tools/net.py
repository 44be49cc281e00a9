"""fetch_url: one HTTP(S) GET, with a time limit and a size limit.

Only http and https are fetched, redirects included (at most five, each checked). HTML is
turned into readable text for the model; the body as received is stored. Addresses on
this machine or a private network are judged riskier by the policy (see ``url_risk``),
from the URL as the approval shows it; so every connection (each redirect too) goes to
an address the name was resolved to and checked against that judgement: a URL judged
public never reaches this machine or a private network, whatever its name resolves to
(a DNS rebinding, a name pointing at 127.0.0.1, a redirect to an internal host).
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import re
import socket
import time
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from ..engine.tooling import ToolOutput
from .base import Tool, ToolEnv, ToolError, output

MAX_REDIRECTS = 5
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/xhtml", "application/javascript",
               "application/ld+json", "application/rss", "application/atom", "+json", "+xml")


def check_url(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ToolError(f"{url!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ToolError(f"{url!r} is not an http:// or https:// URL")
    return url.strip()


def url_risk(url: str) -> tuple[str, str | None]:
    """("low", None), or ("medium", why) for this machine and private networks."""
    try:
        host = (urlsplit(url).hostname or "").strip("[]").lower()
    except ValueError:
        return "medium", "the URL cannot be parsed"
    if host == "localhost" or host.endswith(".localhost") or host.endswith(".local") or host.endswith(".internal"):
        return "medium", f"{host} is on this machine or a local network"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "low", None
    if _is_local(address):
        return "medium", f"{host} is on this machine or a private network"
    return "low", None


def _is_local(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return bool(address.is_loopback or address.is_private or address.is_link_local or address.is_reserved
                or address.is_unspecified or address.is_multicast)


async def _system_resolve(host: str) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


async def pinned_request(url: str, *, allow_local: bool, env: ToolEnv) -> tuple[str, dict[str, str], dict[str, Any]]:
    """Where to connect for ``url``: the URL with its host replaced by a checked address,
    the ``Host`` header and the request extensions (the TLS server name stays the host's).
    Raises ToolError when the name resolves to this machine or a private network and
    ``allow_local`` is false (the approved URL did not name such a host)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        addresses = [ipaddress.ip_address(host)]
        literal = True
    except ValueError:
        literal = False
        try:
            found = await (env.resolve or _system_resolve)(host)
        except (OSError, UnicodeError) as exc:
            raise ToolError(f"cannot resolve {host}: {exc}") from None
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
        if not addresses:
            raise ToolError(f"cannot resolve {host}: no address")
    local = [a for a in addresses if _is_local(a)]
    if local and not allow_local:
        raise ToolError(f"{host} resolves to {local[0]}, on this machine or a private network; fetch_url goes "
                        "there only for a URL that names such a host itself (so that the approval shows it)")
    address = addresses[0]
    netloc = f"[{address}]" if address.version == 6 else str(address)
    if parts.port is not None:
        netloc += f":{parts.port}"
    headers = {"Host": parts.netloc.rsplit("@", 1)[-1]}
    extensions = {"sni_hostname": host} if parts.scheme == "https" and not literal else {}
    return urlunsplit(parts._replace(netloc=netloc)), headers, extensions


def html_to_text(markup: str) -> str:
    markup = re.sub(r"(?is)<(script|style|noscript|template|svg)\b.*?</\1\s*>", " ", markup)
    markup = re.sub(r"(?is)<!--.*?-->", " ", markup)
    markup = re.sub(r"(?i)<\s*(br|/p|/div|/li|/h[1-6]|/tr|/section|/article|/header|/footer)\b[^>]*>", "\n", markup)
    markup = re.sub(r"(?i)<\s*li\b[^>]*>", "\n- ", markup)
    text = html.unescape(re.sub(r"(?s)<[^>]+>", " ", markup))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


async def fetch_url(args: dict[str, Any], env: ToolEnv) -> ToolOutput:
    import httpx

    url = check_url(args["url"])
    allow_local = url_risk(url)[0] != "low"  # the approval showed a local or private host
    limit = min(int(args.get("max_bytes") or env.fetch_size_limit), env.fetch_size_limit)
    started = time.monotonic()
    deadline = started + env.fetch_timeout
    timeout = httpx.Timeout(env.fetch_timeout, connect=min(10.0, env.fetch_timeout))
    headers = {"User-Agent": "tui-chat fetch_url", "Accept": "text/html,application/json,text/*;q=0.9,*/*;q=0.5"}
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, headers=headers, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            target, host, extensions = await pinned_request(url, allow_local=allow_local, env=env)
            try:
                body, response, capped = await _get(client, target, host, extensions, limit, deadline)
            except httpx.TimeoutException:
                raise ToolError(f"{url} did not answer within {env.fetch_timeout:g} s") from None
            except httpx.HTTPError as exc:
                raise ToolError(f"could not fetch {url}: {type(exc).__name__}: {exc}") from None
            if response.is_redirect and "location" in response.headers:
                url = check_url(urljoin(url, response.headers["location"]))
                continue
            break
        else:
            raise ToolError(f"more than {MAX_REDIRECTS} redirects")
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and not any(t in kind for t in _TEXT_TYPES):
        raise ToolError(f"{url} is {kind} ({len(body):,} bytes so far), not text; it is not shown")
    charset = response.charset_encoding or "utf-8"
    try:
        raw = body.decode(charset, errors="replace")
    except LookupError:
        raw = body.decode("utf-8", errors="replace")
    text = html_to_text(raw) if "html" in kind or (not kind and raw.lstrip().lower().startswith("<!doctype html")) \
        else raw
    status = f"HTTP {response.status_code} {response.reason_phrase} from {url} ({kind or 'unknown type'}, " \
             f"{len(body):,} bytes{', cut at the size limit' if capped else ''})"
    data = {"url": url, "status": response.status_code, "content_type": kind, "bytes": len(body),
            "capped": capped, "body": raw, "elapsed_ms": int((time.monotonic() - started) * 1000)}
    return output(f"{status}\n\n{text}", data=data, is_error=response.status_code >= 400, what="page")


async def _get(client: Any, url: str, headers: dict[str, str], extensions: dict[str, Any], limit: int,
               deadline: float) -> tuple[bytes, Any, bool]:
    async def read() -> tuple[bytes, Any, bool]:
        async with client.stream("GET", url, headers=headers, extensions=extensions) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= limit:
                    return b"".join(chunks)[:limit], response, True
            return b"".join(chunks), response, False

    import httpx

    remaining = deadline - time.monotonic()
    try:
        return await asyncio.wait_for(read(), max(0.1, remaining))
    except asyncio.TimeoutError:
        raise httpx.ReadTimeout("the whole answer took too long") from None


def fetch_tool() -> Tool:
    return Tool(
        "fetch_url",
        "Fetch a web page or document over HTTP(S) (GET). HTML is returned as text.",
        {"type": "object", "additionalProperties": False, "required": ["url"], "properties": {
            "url": {"type": "string", "minLength": 1, "maxLength": 4096},
            "max_bytes": {"type": "integer", "minimum": 1, "description": "Stop reading after this many bytes."}}},
        risk="low", kind="net", subject="url", run=fetch_url,
        preview=lambda args, env: f"GET {check_url(args['url'])}",
    )
