"""Who a visitor is, and whose library they see (issue #20): the library key in an HttpOnly
cookie the page script cannot read, no library for a session without one, `visitor` scope by
default, and APP_PASSWORD guesses throttled per address."""

from __future__ import annotations

import json
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from kling_ui.core.config import Secret, load_settings
from kling_ui.hosting.identity import LIBRARY_COOKIE, LoginThrottle, legacy_key, set_cookie_header
from kling_ui.library import store as lib
from kling_ui.library.store import Run, new_run_id
from kling_ui.ui.visitor import UNLISTED, owner_of
from tests.ui_fixtures import LaunchedApp, launched_app


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


# -- the library cookie, through the real app --------------------------------------------------

# A key as a page before the cookie kept it: Gradio 6.31's own frontend (gr.BrowserState) wrote
# this blob to localStorage in Chromium, with this secret, for this key.
OLD_SECRET = "legacy-secret-for-tests"
OLD_KEY = "Old-key_0123456789abcdefghijklmnopq"
OLD_BLOB = ("EG53NBpvF06qj/xN45KGUA==:U2FsdGVkX1/3zTPJyEIN2ai883La9XuwA51p7qTYFYJ3SbJ0tSXD6RExGM0p"
            "TyjPPIbUA6Z47BsqYhHF+oxSsQ==")


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    data = Path(tempfile.mkdtemp(prefix="kling-identity-"))
    # A data folder from before the cookie: it has the old browser secret.
    (data / lib.SECRET_NAME).write_text(OLD_SECRET, encoding="utf-8")
    with launched_app(data_dir=str(data), sim_seconds=0.3) as launched:
        yield launched


def page_cookie(response: httpx.Response) -> dict[str, str]:
    """The library cookie a response sets, as {"value": ..., attribute: value-or-""}."""
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name.strip() == LIBRARY_COOKIE:
            value, *attrs = [p.strip() for p in rest.split(";")]
            out = {"value": value}
            for attr in attrs:
                k, _, v = attr.partition("=")
                out[k.lower()] = v
            return out
    return {}


def test_the_page_sets_a_long_random_httponly_library_cookie(app: LaunchedApp) -> None:
    with httpx.Client(timeout=30) as http:
        first, second = page_cookie(http.get(app.url)), page_cookie(http.get(app.url))
        with httpx.Client(timeout=30) as other:
            third = page_cookie(other.get(app.url))
        # No trusted proxy in front of this app: a visitor's own X-Forwarded-Proto is not believed.
        forged = page_cookie(httpx.get(app.url, headers={"X-Forwarded-Proto": "https"}))
        api = http.get(app.url + "config")
    assert first, "the page sets no library cookie"
    # 256 random bits, its own per browser; the same browser keeps its key (renewed).
    assert len(first["value"]) >= 43 and first["value"] != third["value"]
    assert second["value"] == first["value"]
    assert "httponly" in first and first["samesite"] == "Lax" and first["path"] == "/"
    assert int(first["max-age"]) >= 365 * 86400 and "secure" not in first
    assert "secure" not in forged and forged["samesite"] == "Lax"
    assert not page_cookie(api)  # only the page: an API answer hands out no key


def test_a_space_frame_gets_a_partitioned_cookie() -> None:
    scope = {"type": "http", "scheme": "http", "headers": [
        (b"x-forwarded-proto", b"https"), (b"sec-fetch-site", b"cross-site"),
        (b"sec-fetch-dest", b"iframe")]}
    header = set_cookie_header("k" * 43, scope, trusted_hops=1)  # behind a Space's proxy
    assert "HttpOnly" in header and "Secure" in header and "Partitioned" in header
    assert "SameSite=None" in header
    # Over plain http a frame still gets Lax (None without Secure is refused by browsers).
    scope["headers"] = scope["headers"][1:]
    assert "SameSite=Lax" in set_cookie_header("k" * 43, scope, trusted_hops=1)


@pytest.mark.parametrize(("sent", "hops", "secure"), [
    ([b"https"], 1, True),  # the proxy says https
    ([b"https"], 0, False),  # no proxy trusted: the visitor's own header
    ([b"https, http"], 1, False),  # a visitor's "https" left of the proxy's own "http"
    ([b"http, https"], 1, True),
    ([b"https", b"http"], 1, False),  # sent twice: the proxy's is the last
    ([b"http, https"], 2, False),  # two proxies: the outermost wrote "http"
    ([b"javascript"], 1, False),
])
def test_secure_follows_the_trusted_proxys_forwarded_proto_only(
        sent: list[bytes], hops: int, secure: bool) -> None:
    scope = {"type": "http", "scheme": "http",
             "headers": [(b"x-forwarded-proto", value) for value in sent]}
    assert ("Secure" in set_cookie_header("k" * 43, scope, trusted_hops=hops)) is secure
    # With no proxy trusted, a request that came over https itself is Secure whatever it says.
    assert "Secure" in set_cookie_header("k" * 43, {**scope, "scheme": "https"}, trusted_hops=0)


def component_id(config: dict[str, Any], elem_id: str) -> int:
    return next(c["id"] for c in config["components"]
                if c.get("props", {}).get("elem_id") == elem_id)


def dependency(config: dict[str, Any], *, output: int, trigger: str | None = None,
               inputs: int | None = None) -> tuple[int, dict[str, Any]]:
    """The first event (fn_index, its config) writing `output`, fired by `trigger`."""
    for index, dep in enumerate(config["dependencies"]):
        if output not in dep["outputs"] or (inputs is not None and len(dep["inputs"]) != inputs):
            continue
        if trigger is None or any(t[1] == trigger for t in dep["targets"]):
            return index, dep
    raise AssertionError(f"no event writes {output}")


class RawSession:
    """A caller of the app's events over plain HTTP, as anyone may be: its own session hash,
    cookies only when given (a browser's), every byte it receives kept in `received`."""

    def __init__(self, app: LaunchedApp, cookies: dict[str, str] | None = None) -> None:
        self.app = app
        self.http = httpx.Client(timeout=60, cookies=cookies or {})
        self.session = secrets.token_hex(6)
        self.received: list[str] = []

    def get(self, path: str) -> httpx.Response:
        response = self.http.get(self.app.url + path)
        self.received += [response.text, *response.headers.get_list("set-cookie")]
        return response

    def call(self, fn_index: int, data: list[Any]) -> list[Any]:
        """Run one event to its end; its last output (raises on an error message)."""
        joined = self.http.post(self.app.url + "gradio_api/queue/join", json={
            "data": data, "fn_index": fn_index, "session_hash": self.session,
            "event_data": None, "trigger_id": None})
        self.received.append(joined.text)
        assert joined.status_code == 200, joined.text
        event_id = joined.json()["event_id"]
        with self.http.stream("GET", self.app.url + "gradio_api/queue/data",
                              params={"session_hash": self.session}) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                self.received.append(line)
                message = json.loads(line[5:])
                if message.get("event_id") == event_id and message["msg"] == "process_completed":
                    assert message.get("success"), message
                    return list(message["output"]["data"])
        raise AssertionError("the event never completed")

    def close(self) -> None:
        self.http.close()


def load_event(config: dict[str, Any]) -> tuple[int, list[Any]]:
    """The page's load event that reads the library (it writes the banner), and its inputs as a
    raw caller sends them (nothing)."""
    index, dep = dependency(config, output=component_id(config, "kling-banner-html"),
                            trigger="load")
    return index, [None] * len(dep["inputs"])


def test_nothing_sent_to_a_visitor_reveals_a_library_key(app: LaunchedApp) -> None:
    config = httpx.get(app.url + "config", timeout=30).json()
    visitors = []
    for _ in range(2):
        v = RawSession(app)
        v.get("")  # the page, which sets this browser's cookie
        for path in ("config", "gradio_api/info", "gradio_api/info?all_endpoints=true"):
            v.get(path)
        v.call(*load_event(config))
        visitors.append(v)
    alice, bob = visitors
    # Nothing sent holds a secret that decrypts a key (the old BrowserState sent its secret
    # in /config to everyone), and no component keeps a key in the browser's storage.
    assert not [r[:80] for r in alice.received + bob.received if OLD_SECRET in r]
    assert not [c for c in config["components"] if c.get("type") == "browserstate"
                or "secret" in c.get("props", {})]
    key = alice.http.cookies.get(LIBRARY_COOKIE)
    assert key and key != bob.http.cookies.get(LIBRARY_COOKIE)
    # The key is in Alice's own Set-Cookie header only (which her page script cannot read):
    # in no page, config, API description or event answer of hers, and nowhere in Bob's.
    alice_bodies = [r for r in alice.received if not r.startswith(LIBRARY_COOKIE + "=")]
    assert not [r[:80] for r in alice_bodies + bob.received if key in r]
    # The server keeps only a hash: the key is in no file of the data folder.
    assert not [p for p in Path(app.settings.data_dir).rglob("*")
                if p.is_file() and key.encode() in p.read_bytes()]
    for v in visitors:
        v.close()


def text_run_event(config: dict[str, Any]) -> tuple[int, list[Any]]:
    """The Text tab's run event (the one that starts the job) and its default inputs."""
    index, dep = dependency(config, output=component_id(config, "text-progress"),
                            trigger="click")
    # The click's `.then`: the event after the click that writes the progress too.
    for later in range(index + 1, len(config["dependencies"])):
        dep = config["dependencies"][later]
        if component_id(config, "text-progress") in dep["outputs"] and dep["trigger_after"] == index:
            values = {c["id"]: c.get("props", {}).get("value") for c in config["components"]}
            return later, [values.get(i) for i in dep["inputs"]]
    raise AssertionError("no run event after the Text tab's click")


def listing_event(config: dict[str, Any]) -> int:
    """An event of the Library that lists this session's runs (writes the totals)."""
    index, _ = dependency(config, output=component_id(config, "kling-library-totals"),
                          trigger="change", inputs=4)
    return index


def test_a_session_without_the_cookie_has_no_library(app: LaunchedApp) -> None:
    config = httpx.get(app.url + "config", timeout=30).json()
    run_index, data = text_run_event(config)
    prompt = "Raw caller's lantern, seen by nobody " + secrets.token_hex(3)
    prompt_id = component_id(config, "prompt-text")
    run_dep = config["dependencies"][run_index]
    data[run_dep["inputs"].index(prompt_id)] = prompt
    before = {r.id for r in app.studio.library.runs(owner=None)}
    raw = RawSession(app)  # no cookie, never loaded the page
    raw.call(run_index, data)
    made = [r for r in app.studio.library.runs(owner=None) if r.id not in before]
    assert [r.prompt for r in made] == [prompt]  # it ran (the library keeps it)...
    # ...but into no library: neither this session, another cookieless one, nor a browser
    # lists it, and no page load shows it again.
    other = RawSession(app)
    browser = RawSession(app)
    browser.get("")
    for caller in (raw, other, browser):
        seen = len(caller.received)
        totals = caller.call(listing_event(config), [None, "", "", ""])[0]
        caller.call(*load_event(config))
        answers = json.dumps(caller.received[seen:])
        assert "0 runs" in str(totals) and prompt not in answers and made[0].id not in answers
    assert made[0].owner.startswith(UNLISTED) and made[0].owner != UNLISTED
    for caller in (raw, other, browser):
        caller.close()


def test_an_old_page_key_moves_into_the_cookie_once(app: LaunchedApp) -> None:
    old_owner, run = owner_of(OLD_KEY), new_run_id()
    app.studio.library.create(Run(id=run, owner=old_owner, tab="text", status="succeeded",
                                  prompt="made before the cookie", created_at=0.0))
    with httpx.Client(timeout=30) as http:
        http.get(app.url)
        key = http.cookies[LIBRARY_COOKIE]
        adopt = app.url + "kling/adopt-library"
        assert http.post(adopt, json={"blob": OLD_BLOB}).json() == {"moved": 1}
        got = app.studio.library.get(run)
        assert got is not None and got.owner == owner_of(key)
        # The old key opens nothing now; a second try, a made-up blob, or a form post move none.
        assert http.post(adopt, json={"blob": OLD_BLOB}).json() == {"moved": 0}
        assert http.post(adopt, json={"blob": "x:U2FsdGVkX1+AAAA"}).json() == {"moved": 0}
        assert http.post(adopt, data={"blob": OLD_BLOB}).json() == {"moved": 0}
        assert http.post(adopt, content=b"x" * 10_000,
                         headers={"content-type": "application/json"}).status_code == 413
    assert app.studio.library.runs(owner=old_owner) == []


def test_the_old_localstorage_blob_decrypts_as_gradio_wrote_it() -> None:
    assert legacy_key(OLD_BLOB, OLD_SECRET) == OLD_KEY
    assert legacy_key(OLD_BLOB, "another secret") is None
    assert legacy_key("not a blob", OLD_SECRET) is None


# -- APP_PASSWORD guesses ------------------------------------------------------------------------

def guess(http: httpx.Client, url: str, password: str) -> httpx.Response:
    return http.post(url + "login", data={"username": "anyone", "password": password})


def test_wrong_passwords_are_throttled_per_address() -> None:
    with launched_app(app_password=Secret("open sesame")) as app:
        with httpx.Client(timeout=30) as http:
            wrong = [guess(http, app.url, f"guess {i}") for i in range(6)]
            right_too_soon = guess(http, app.url, "open sesame")
            in_chinese = http.post(app.url + "login", headers={"Accept-Language": "zh-CN"},
                                   data={"username": "anyone", "password": "guess"})
        # Five wrong guesses are answered as Gradio does; the sixth waits, with a plain message.
        assert [r.status_code for r in wrong[:5]] == [400] * 5
        assert wrong[5].status_code == 429, "a sixth guess in a minute was checked"
        assert 1 <= int(wrong[5].headers["retry-after"]) <= 60
        message = wrong[5].json()["detail"]
        assert "Too many wrong passwords" in message and "Wait" in message
        assert right_too_soon.status_code == 429  # while it waits, no guess is checked at all
        assert in_chinese.status_code == 429 and "错误密码" in in_chinese.json()["detail"]
        # Another address is not slowed: the right password logs in at once.
        other = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(timeout=30, transport=other) as http2:
            ok = guess(http2, app.url, "open sesame")
            assert ok.status_code == 200 and ok.json() == {"success": True}


def test_the_throttle_forgets_after_its_window_and_after_a_right_password() -> None:
    now = [1000.0]

    async def login(scope: Scope, receive: Receive, send: Send) -> None:
        body = (await receive()).get("body", b"")
        status = 200 if body == b"right" else 400
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    throttle = LoginThrottle(login, failures=2, window=60, clock=lambda: now[0])
    client = TestClient(throttle)  # no lifespan: the throttle is plain HTTP

    def post(body: bytes, path: str = "/login") -> int:
        return client.post(path, content=body).status_code

    # Only POST /login counts: other paths and methods pass untouched, however often.
    assert [post(b"w", "/other") for _ in range(3)] == [400] * 3
    assert [client.get("/login").status_code for _ in range(3)] == [400] * 3
    assert [post(b"w"), post(b"w"), post(b"w")] == [400, 400, 429]
    now[0] += 59
    assert post(b"right") == 429
    now[0] += 2  # the failures left the window
    assert post(b"right") == 200
    assert [post(b"w"), post(b"w")] == [400, 400]  # a right password cleared the count
