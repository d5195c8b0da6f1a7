"""ui/compress.py: Gradio's unchanging frontend files are compressed once, not on every page load;
everything else is still compressed per response, and nothing is served twice or changed."""

from __future__ import annotations

import gzip
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from kling_ui.ui import compress
from kling_ui.ui.compress import CompressOnce, KeptBodies

pytestmark = pytest.mark.anyio

JS = ("function klingTest(n) { return n * 2; }\n" * 4000).encode()  # ~160 KB of script


@pytest.fixture
def site(tmp_path: Path) -> tuple[CompressOnce, dict[str, int]]:
    (tmp_path / "app.js").write_bytes(JS)
    (tmp_path / "tiny.js").write_bytes(b"x=1")
    (tmp_path / "pic.png").write_bytes(b"\x89PNG" + bytes(5000))
    (tmp_path / "page.html").write_text("<p>" + "a page " * 2000 + "</p>")
    calls: dict[str, int] = {}

    def counted(fn):  # noqa: ANN001, ANN202 - a route that counts how often the app is asked
        async def route(request: Request) -> Response:
            calls[request.url.path] = calls.get(request.url.path, 0) + 1
            return await fn(request)
        return route

    async def asset(request: Request) -> Response:
        f = tmp_path / request.path_params["name"]
        if not f.is_file():
            return PlainTextResponse("not found", status_code=404)
        return FileResponse(f)

    async def page(_request: Request) -> Response:
        return HTMLResponse("<p>" + "the page and its config " * 2000 + "</p>")

    app = Starlette(routes=[Route("/assets/{name}", counted(asset)),
                            Route("/page", counted(page))])
    return CompressOnce(with_cookies(app), KeptBodies()), calls


def with_cookies(app):  # noqa: ANN001, ANN201 - as hosting.identity.LibraryCookie does
    """Every HTML answer carries the asking visitor's own cookie (the `visitor` header here)."""
    async def wrapped(scope, receive, send):  # noqa: ANN001, ANN202
        who = dict(scope.get("headers", [])).get(b"visitor", b"nobody")

        async def send_with_cookie(message):  # noqa: ANN001, ANN202
            if message["type"] == "http.response.start":
                headers = dict(message["headers"])
                if headers.get(b"content-type", b"").startswith(b"text/html"):
                    message["headers"] = [*message["headers"], (b"set-cookie", b"lib=" + who)]
            await send(message)
        await app(scope, receive, send_with_cookie)
    return wrapped


async def get(app: CompressOnce, path: str, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://studio") as client:
        return await client.get(path, headers={"accept-encoding": "gzip", **headers})


async def test_an_asset_is_compressed_once_and_served_from_memory_after(site) -> None:  # noqa: ANN001
    app, calls = site
    first = await get(app, "/assets/app.js")
    again = await get(app, "/assets/app.js?v=2")  # a query string is the same file
    for r in (first, again):
        assert r.status_code == 200
        assert r.headers["content-encoding"] == "gzip"
        assert r.content == JS  # httpx undoes the gzip: the very bytes of the file
        assert int(r.headers["content-length"]) < len(JS) / 10
        assert "accept-encoding" in r.headers["vary"].lower()
    assert app.kept.compressions == 1
    assert calls["/assets/app.js"] == 1  # the second answer never reached the app


async def test_a_browser_with_the_file_gets_304_and_one_without_gzip_gets_it_plain(site) -> None:  # noqa: ANN001
    app, _calls = site
    first = await get(app, "/assets/app.js")
    same = await get(app, "/assets/app.js", **{"if-none-match": first.headers["etag"]})
    assert same.status_code == 304 and same.content == b""
    plain = await get(app, "/assets/app.js", **{"accept-encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert plain.content == JS


async def test_what_cannot_be_kept_is_passed_on_once_as_the_app_gave_it(site) -> None:  # noqa: ANN001
    app, calls = site
    missing = await get(app, "/assets/nothing.js")
    assert missing.status_code == 404 and missing.text == "not found"
    picture = await get(app, "/assets/pic.png")
    assert "content-encoding" not in picture.headers and picture.content.startswith(b"\x89PNG")
    tiny = await get(app, "/assets/tiny.js")
    assert tiny.content == b"x=1" and "content-encoding" not in tiny.headers
    part = await get(app, "/assets/app.js", range="bytes=0-9")
    assert part.status_code == 206 and part.content == JS[:10]
    # Each was asked of the app exactly once, and none was kept.
    assert calls == {"/assets/nothing.js": 1, "/assets/pic.png": 1, "/assets/tiny.js": 1,
                     "/assets/app.js": 1}
    assert app.kept.compressions == 0 and app.kept.size == 0


async def test_a_file_too_big_to_keep_streams_through_whole(site, monkeypatch) -> None:  # noqa: ANN001
    app, calls = site
    monkeypatch.setattr(compress, "MAX_FILE_BYTES", 10_000)
    r = await get(app, "/assets/app.js")
    assert r.status_code == 200 and r.content == JS
    assert app.kept.compressions == 0 and calls["/assets/app.js"] == 1


async def test_the_page_is_still_compressed_per_response(site) -> None:  # noqa: ANN001
    app, calls = site
    for _ in range(2):
        r = await get(app, "/page")
        assert r.headers["content-encoding"] == "gzip" and r.text.startswith("<p>the page")
    assert calls["/page"] == 2 and app.kept.compressions == 0  # a page is never kept


def test_kept_bodies_stay_under_their_limit() -> None:
    kept = KeptBodies(limit=25)
    for name in "abc":
        kept.put(name, compress.Kept(200, [], b"x" * 10))
    assert kept.size == 20 and kept.get("a") is None and kept.get("c") is not None
    kept.put("c", compress.Kept(200, [], b"y" * 5))  # replaced, not counted twice
    assert kept.size == 15


async def test_gzip_bytes_are_what_the_browser_gets(site) -> None:  # noqa: ANN001
    """The kept body is a real gzip stream of the file (what a browser inflates)."""
    app, _calls = site
    await get(app, "/assets/app.js")
    (body,) = [k.body for k in app.kept._items.values()]  # noqa: SLF001 - the kept bytes
    assert gzip.decompress(body) == JS


async def test_a_page_with_a_visitors_cookie_is_never_kept_for_the_next(site) -> None:  # noqa: ANN001
    """An HTML answer carries the asking visitor's library cookie: kept, the next visitor would
    be handed the first one's library."""
    app, calls = site
    first = await get(app, "/assets/page.html", visitor="alice")
    second = await get(app, "/assets/page.html", visitor="mallory")
    assert first.headers["set-cookie"] == "lib=alice"
    assert second.headers["set-cookie"] == "lib=mallory"
    assert calls["/assets/page.html"] == 2 and app.kept.size == 0
    assert first.text.startswith("<p>a page")


async def test_odd_paths_are_never_kept(site) -> None:  # noqa: ANN001
    """A path as a raw caller sends it (no client tidies it): not a plain file name, not kept."""
    app, _calls = site
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    for path in ("/assets/x/../app.js", "/assets/%2e%2e/app.js"):
        scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
                 "query_string": b"", "headers": [(b"accept-encoding", b"gzip")],
                 "scheme": "http", "server": ("studio", 80), "root_path": "",
                 "http_version": "1.1"}
        await app(scope, receive, send)
    assert sent and app.kept.size == 0 and app.kept.compressions == 0
