"""Who a visitor is (issue #20, point 3): the address behind the host's per-visitor limits comes
from the socket peer, or from the X-Forwarded-For hop of a configured number of trusted proxies;
never from an entry the caller wrote. Checked as a rule (kling_ui.hosting.proxies), through gr.Request,
and against the running app: gradio_client, a raw queue/join and an MCP tool call each forge
the header, and the hourly limit holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr
import httpx
import pytest
from gradio_client import Client
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client
from starlette.requests import Request

from bench.visitors import app_on_simulator
from kling_ui.core.config import load_settings
from kling_ui.hosting.proxies import client_address, request_peer, sign_peer
from kling_ui.ui.page import MCP_PATH
from kling_ui.ui.visitor import caller_address, visitor_id
from tests.test_hardening_faults import outcome, text_job

HOST = "r8_" "HOSTKEYproxies0123456789abcdefghijklm"


@pytest.mark.parametrize(("peer", "forwarded", "hops", "expected"), [
    ("203.0.113.7", "", 0, "203.0.113.7"),
    ("203.0.113.7", "6.6.6.6", 0, "203.0.113.7"),  # no proxy: the header is the caller's
    ("203.0.113.7", "6.6.6.6, 7.7.7.7", 0, "203.0.113.7"),
    ("10.16.3.80", "6.6.6.6, 198.51.100.4", 1, "198.51.100.4"),  # the proxy appended the last
    ("10.16.3.80", "198.51.100.4", 1, "198.51.100.4"),
    ("10.0.0.2", "6.6.6.6, 198.51.100.4, 10.0.0.1", 2, "198.51.100.4"),  # two proxies
    ("10.16.3.80", "", 1, "10.16.3.80"),  # not through the proxy: its peer, never a guess
    ("10.0.0.2", "198.51.100.4", 2, "10.0.0.2"),  # shorter than the chain: the peer
    ("10.16.3.80", "6.6.6.6, [2001:db8::1]:4711", 1, "2001:db8::1"),
    ("10.16.3.80", "6.6.6.6, 198.51.100.4:4711", 1, "198.51.100.4"),
    ("", "", 0, "unknown"),
])
def test_the_address_is_the_peer_or_the_trusted_hop(peer: str, forwarded: str, hops: int,
                                                    expected: str) -> None:
    assert client_address(peer, forwarded, hops) == expected


def test_a_header_sent_twice_counts_as_one_list() -> None:
    assert client_address("10.16.3.80", ["6.6.6.6", "198.51.100.4"], 1) == "198.51.100.4"


def test_only_our_mcp_server_can_name_a_loopback_callers_peer() -> None:
    good = sign_peer("198.51.100.4")
    assert request_peer("127.0.0.1", "198.51.100.4", good) == "198.51.100.4"
    assert request_peer("127.0.0.1", "198.51.100.4", "0" * 64) == "127.0.0.1"  # forged
    assert request_peer("127.0.0.1", "6.6.6.6", good) == "127.0.0.1"  # replayed for another
    assert request_peer("203.0.113.7", "198.51.100.4", good) == "203.0.113.7"  # not loopback


@pytest.mark.parametrize(("env", "hops"), [
    ({}, 0),
    ({"SPACE_ID": "someone/studio"}, 1),  # the Space proxy's hop
    ({"SPACE_ID": "someone/studio", "KLING_TRUSTED_PROXIES": "0"}, 0),
    ({"KLING_TRUSTED_PROXIES": "2"}, 2),
])
def test_trusted_proxies_default_to_the_space_proxy_only_on_a_space(env: dict[str, str],
                                                                    hops: int) -> None:
    assert load_settings({"KLING_DATA_DIR": "/tmp/x", **env}).trusted_proxies == hops


def test_a_negative_proxy_count_is_refused() -> None:
    with pytest.raises(ValueError, match="KLING_TRUSTED_PROXIES"):
        load_settings({"KLING_DATA_DIR": "/tmp/x", "KLING_TRUSTED_PROXIES": "-1"})


def _request(peer: str, headers: dict[str, str]) -> gr.Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": raw,
             "client": (peer, 5000), "query_string": b""}
    return gr.Request(request=Request(scope))


def test_a_visitor_is_not_whoever_the_header_says() -> None:
    forged = _request("203.0.113.7", {"X-Forwarded-For": "6.6.6.6, 7.7.7.7"})
    assert visitor_id(forged, 0) == "ip:203.0.113.7"
    assert visitor_id(forged, 1) == "ip:7.7.7.7"
    assert visitor_id(forged, 2) == "ip:6.6.6.6"
    signed = _request("127.0.0.1", {"X-Kling-Peer": "198.51.100.4",
                                    "X-Kling-Peer-Sig": sign_peer("198.51.100.4")})
    assert caller_address(signed, 0) == "198.51.100.4"
    unsigned = _request("127.0.0.1", {"X-Kling-Peer": "198.51.100.4"})
    assert caller_address(unsigned, 0) == "127.0.0.1"


# -- against the running app ------------------------------------------------------------------

def _over_limit(message: str | None) -> bool:
    return message is not None and "per hour" in message


def _raw_text_job(base: str, headers: dict[str, str], *, local_address: str | None = None,
                  tag: str = "raw") -> str:
    """/text_to_video sent as the page's own protocol does (queue/join, then the event
    stream): "ok" when the job completed, else the error message it ended with."""
    config = httpx.get(base + "config", timeout=30).json()
    fn_index = next(i for i, d in enumerate(config["dependencies"])
                    if d.get("api_name") == "text_to_video")
    session = f"proxies{tag}"
    transport = httpx.HTTPTransport(local_address=local_address) if local_address else None
    with httpx.Client(timeout=120, headers=headers, transport=transport) as http:
        joined = http.post(base + "gradio_api/queue/join", json={
            "data": [f"{tag}: a calm sea at dawn", "1:1", 5, "std", True, "kling-o1", False, ""],
            "fn_index": fn_index, "session_hash": session, "event_data": None})
        assert joined.status_code == 200, joined.text
        with http.stream("GET", base + "gradio_api/queue/data",
                         params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed":
                    if msg.get("success"):
                        return "ok"
                    return str((msg.get("output") or {}).get("error") or msg)
    return "no answer"


@contextlib.asynccontextmanager
async def _mcp(url: str, headers: dict[str, str],
               local_address: str | None) -> AsyncIterator[ClientSession]:
    def factory(headers: dict[str, str] | None = None, timeout: httpx.Timeout | None = None,
                auth: httpx.Auth | None = None) -> httpx.AsyncClient:
        transport = (httpx.AsyncHTTPTransport(local_address=local_address)
                     if local_address else None)
        return httpx.AsyncClient(headers=headers, timeout=timeout or httpx.Timeout(120),
                                 auth=auth, transport=transport, follow_redirects=True)

    async with streamablehttp_client(url, headers=headers, httpx_client_factory=factory) as (
            read, write, _), ClientSession(read, write) as s:
        await s.initialize()
        yield s


def _mcp_text_job(base: str, headers: dict[str, str], local_address: str | None = None) -> str:
    async def go() -> Any:
        async with _mcp(base.rstrip("/") + MCP_PATH, headers, local_address) as s:
            return await s.call_tool("text_to_video", {
                "prompt": "mcp: a calm sea at dawn", "aspect_ratio": "1:1", "duration": 5,
                "mode": "std"})

    result = asyncio.run(go())
    text = " ".join(c.text for c in result.content if c.type == "text")
    return text if result.isError else "ok"


def test_a_forged_forwarded_for_does_not_reset_the_hourly_limit() -> None:
    with app_on_simulator(host_key=HOST, runs_per_hour=1) as app:
        assert app.settings.trusted_proxies == 0  # off a Space: no proxy is believed
        first = Client(app.url, verbose=False, headers={"X-Forwarded-For": "5.5.5.5"})
        assert outcome(lambda: text_job(first, "first"))[1] is None
        forged = Client(app.url, verbose=False, headers={"X-Forwarded-For": "6.6.6.6"})
        assert _over_limit(outcome(lambda: text_job(forged, "api"))[1])
        assert "per hour" in _raw_text_job(app.url, {"X-Forwarded-For": "7.7.7.7"})
        assert "per hour" in _mcp_text_job(app.url, {"X-Forwarded-For": "8.8.8.8"})
        # The MCP caller is told apart by the peer its connection came from (here another
        # loopback address), not by the 127.0.0.1 Gradio's MCP client calls the app from.
        assert _mcp_text_job(app.url, {"X-Forwarded-For": "8.8.8.8"},
                             local_address="127.0.0.2") == "ok"
        assert "per hour" in _mcp_text_job(app.url, {}, local_address="127.0.0.2")
        assert len(app.state.creates()) == 2


@pytest.mark.slow  # out of the inner loop (issue #21): 10-35 s
def test_behind_one_trusted_proxy_its_hop_is_the_visitor() -> None:
    with app_on_simulator(host_key=HOST, runs_per_hour=1, trusted_proxies=1) as app:
        alice = {"X-Forwarded-For": "1.1.1.1, 198.51.100.4"}
        assert outcome(lambda: text_job(Client(app.url, verbose=False, headers=alice),
                                        "alice"))[1] is None
        # Alice again, writing a new leftmost entry: the proxy's hop is still hers.
        again = {"X-Forwarded-For": "2.2.2.2, 198.51.100.4"}
        assert _over_limit(outcome(lambda: text_job(Client(app.url, verbose=False,
                                                           headers=again), "again"))[1])
        assert "per hour" in _raw_text_job(app.url, again)
        assert "per hour" in _mcp_text_job(app.url, again)
        # Bob, whom the proxy saw at another address, has his own hour.
        bob = {"X-Forwarded-For": "2.2.2.2, 198.51.100.9"}
        assert _raw_text_job(app.url, bob, tag="bob") == "ok"
        assert len(app.state.creates()) == 2
