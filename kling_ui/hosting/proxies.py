"""Who is calling, by address: the socket peer, or the hop a trusted proxy wrote (issue #20).

The host's per-visitor limits key on an address, so that address must come from something the
caller cannot write. `X-Forwarded-For` is a list every proxy appends to: the client may send any
entries it likes, and each proxy in front of the app adds the address it saw. With `n` trusted
proxies (KLING_TRUSTED_PROXIES) the entry `n` from the right is the one the outermost trusted
proxy saw, and everything to its left was written by the caller:

    X-Forwarded-For: <whatever the caller wrote>, <client>, <proxy 1>, ..., <proxy n-1>
    socket peer:     <proxy n>

With no trusted proxy (n = 0) the header is ignored and the socket peer is the address.

Gradio's MCP server runs a queued tool call through its own HTTP client on 127.0.0.1, copying
the MCP request's headers (gradio/mcp.py, `call_tool`), so the handler's socket peer is the app
itself. `mcp_server.py` therefore adds the MCP request's real peer in `PEER_HEADER`, signed with
a secret that lives only in this process (`sign_peer`); `request_peer` believes that header only
with a valid signature and only from a loopback peer, so nobody else can write it.

Pure functions over strings: no gradio, no clock, no environment.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Iterable

PEER_HEADER = "x-kling-peer"  # the MCP request's socket peer, for its loopback tool call
PEER_SIG_HEADER = "x-kling-peer-sig"

_PEER_KEY = secrets.token_bytes(32)  # per process: the MCP server and the handlers share it


def _entries(forwarded_for: str | Iterable[str]) -> list[str]:
    """The header's entries in order, however many times it was sent."""
    values = [forwarded_for] if isinstance(forwarded_for, str) else list(forwarded_for)
    return [part.strip() for value in values for part in (value or "").split(",")]


def _host(entry: str) -> str:
    """An entry without a port or IPv6 brackets ("[::1]:80" -> "::1", "1.2.3.4:5" -> "1.2.3.4")."""
    entry = entry.strip().strip('"')
    if entry.startswith("["):
        return entry[1:entry.find("]")] if "]" in entry else entry[1:]
    if entry.count(":") == 1:
        return entry.split(":", 1)[0]
    return entry


def client_address(peer: str | None, forwarded_for: str | Iterable[str],
                   trusted_hops: int) -> str:
    """The address a request comes from, through `trusted_hops` trusted proxies.

    0 hops: the socket `peer`. n hops: the entry n from the right of X-Forwarded-For (what the
    outermost trusted proxy saw). A header shorter than n, or an empty entry there, means the
    request did not come through every trusted proxy: the peer then, never a caller's entry.
    """
    peer = (peer or "").strip() or "unknown"
    if trusted_hops <= 0:
        return peer
    entries = _entries(forwarded_for)
    if len(entries) < trusted_hops:
        return peer
    host = _host(entries[-trusted_hops])
    return host or peer


def is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(_host(address or "")).is_loopback
    except ValueError:
        return False


def sign_peer(peer: str) -> str:
    """The signature `request_peer` checks on a PEER_HEADER (made by our MCP server)."""
    return hmac.new(_PEER_KEY, peer.encode("utf-8", "replace"), hashlib.sha256).hexdigest()


def request_peer(socket_peer: str | None, signed_peer: str | None, signature: str | None) -> str:
    """The socket peer, or, for our own MCP server's loopback call, the MCP caller's peer."""
    peer = (socket_peer or "").strip()
    if signed_peer and signature and is_loopback(peer) and hmac.compare_digest(
            sign_peer(signed_peer), signature):
        return signed_peer
    return peer


_HOST_RE = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?")


def _hop(values: str | Iterable[str], trusted_hops: int) -> str:
    """The entry the outermost trusted proxy wrote (`trusted_hops` from the right; the leftmost
    when a proxy replaced the header rather than appended to it); "" with no trusted proxy."""
    entries = [e for e in _entries(values) if e]
    if trusted_hops <= 0 or not entries:
        return ""
    return entries[-min(trusted_hops, len(entries))]


def public_scheme(scheme: str, forwarded_proto: str | Iterable[str], trusted_hops: int) -> str:
    """"http" or "https": what the visitor used. The request's own scheme, or behind
    `trusted_hops` proxies the X-Forwarded-Proto the outermost trusted one wrote: a header a
    visitor sends past no proxy (or to the left of the proxies' own entries) is not believed."""
    proto = _hop(forwarded_proto, trusted_hops).lower() or (scheme or "http").lower()
    return proto if proto in ("http", "https") else "http"


def public_origin(scheme: str, host: str | None, forwarded_proto: str | Iterable[str],
                  forwarded_host: str | Iterable[str], trusted_hops: int, *,
                  fallback: str = "127.0.0.1") -> str:
    """`scheme://host` the visitor used, for absolute links (a share page's Open Graph URLs).

    With no trusted proxy: the request's own scheme and Host header. Behind `trusted_hops`
    proxies: X-Forwarded-Proto / X-Forwarded-Host as the outermost trusted proxy wrote them (the
    entry `trusted_hops` from the right; the leftmost when a proxy replaced the header rather
    than appended to it). A Host that is not a host name (or an IP, with a port) is replaced by
    `fallback`: a caller can only change the links in the answer to its own request.
    """
    proto = public_scheme(scheme, forwarded_proto, trusted_hops)
    name = _hop(forwarded_host, trusted_hops) or (host or "").strip()
    if not _HOST_RE.fullmatch(name):
        name = fallback
    return f"{proto}://{name}"
