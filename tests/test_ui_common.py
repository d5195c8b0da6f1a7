"""The one error wrapper: our errors become their own message, anything else a generic one that
is re-raised under tests so a friendly message never hides a bug."""

from __future__ import annotations

import asyncio

import gradio as gr
import pytest

from kling_ui.core.errors import InputError, RateLimitError
from kling_ui.ui.common import GENERIC_ERROR, guarded
from kling_ui.ui.visitor import visitor_id


def _boom_sync() -> None:
    raise RateLimitError("Replicate is throttling requests (rate limit).", status=429)


async def _boom_async() -> None:
    raise InputError("prompt: The prompt is empty.")


async def _boom_gen():
    yield 1
    raise KeyError("a bug")


def test_our_errors_become_their_own_message():
    with pytest.raises(gr.Error, match="throttling"):
        guarded(_boom_sync)()
    with pytest.raises(gr.Error, match="prompt is empty"):
        asyncio.run(guarded(_boom_async)())


async def _drain(gen):
    return [x async for x in gen]


def test_a_bug_is_reraised_under_tests_and_hidden_for_users(monkeypatch, caplog):
    with pytest.raises(KeyError):
        asyncio.run(_drain(guarded(_boom_gen)()))
    monkeypatch.setenv("KLING_TESTING", "0")
    with pytest.raises(gr.Error) as err:
        asyncio.run(_drain(guarded(_boom_gen)()))
    assert GENERIC_ERROR in str(err.value) and "KeyError" not in str(err.value)
    assert "unexpected error" in caplog.text  # logged for the host, with its traceback


class _Req:
    def __init__(self, headers, host="10.0.0.9"):
        self.headers = headers
        self.username = None
        self.client = type("C", (), {"host": host})()


def test_visitor_is_the_proxys_own_forwarded_entry():
    # Behind one trusted proxy (KLING_TRUSTED_PROXIES=1) its entry; with none, the peer.
    assert visitor_id(_Req({"x-forwarded-for": "6.6.6.6, 203.0.113.7"}), 1) == "ip:203.0.113.7"
    assert visitor_id(_Req({"x-forwarded-for": "6.6.6.6, 203.0.113.7"}), 0) == "ip:10.0.0.9"
    assert visitor_id(_Req({}), 1) == "ip:10.0.0.9"


def test_the_checks_count_the_prompt_as_typed_and_as_sent():
    from kling_ui.runs.service import Preflight
    from kling_ui.ui.common import preflight_html

    pre = Preflight(problems=(), tokens=(), cost_usd=0.0, cost_text="", prompt="…",
                    chars_typed=2430, chars_sent=4050)
    text = preflight_html(pre, "@Image1 …")
    assert "2430 characters typed · 4050 as sent (limit 2500)" in text
    assert "kling-err" in text
