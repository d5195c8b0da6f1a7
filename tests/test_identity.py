"""Who a visitor is, and whose library they see (issue #20): the library key in an HttpOnly
cookie the page script cannot read, no library for a session without one, `visitor` scope by
default, and APP_PASSWORD guesses throttled per address."""

from __future__ import annotations

import pytest

from kling_ui.config import load_settings


@pytest.mark.parametrize("env", [
    {},
    {"GRADIO_SERVER_NAME": "127.0.0.1"},
    {"GRADIO_SERVER_NAME": "localhost"},
    {"GRADIO_SERVER_NAME": "0.0.0.0", "APP_PASSWORD": "x"},
])
def test_every_library_is_private_unless_the_host_says_all(env: dict[str, str]) -> None:
    # A 127.0.0.1 app behind a same-host reverse proxy is public: binding says nothing.
    assert load_settings(env).library_scope == "visitor"
    assert load_settings({**env, "KLING_LIBRARY_SCOPE": "all"}).library_scope == "all"
    with pytest.raises(ValueError, match="KLING_LIBRARY_SCOPE"):
        load_settings({**env, "KLING_LIBRARY_SCOPE": "everyone"})
