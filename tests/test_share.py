"""Share links and the showcase (issue #26), called the way a stranger's phone and an unfurler do.

The app is launched for real (simulator backend); runs are made through the Studio; every page
and file is then fetched by a fresh HTTP client with no cookie, as a stakeholder who got the link
in a chat app would. The Open Graph tags are read by `metadata_parser` fetching the page itself,
as a link unfurler does.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import metadata_parser
import pytest

from kling_ui.core.config import Secret
from kling_ui.core.errors import InputError
from kling_ui.core.jobs import JobSpec
from kling_ui.core.models import Tab
from kling_ui.hosting.proxies import public_origin
from kling_ui.library.shares import Share
from kling_ui.media.probe import probe_video
from kling_ui.runs.service import Studio
from kling_ui.runs.shares import SHARE_BYTES, new_share_token
from kling_ui.ui.share_routes import ShareRoutes
from tests.ui_fixtures import LaunchedApp, launched_app, make_video, test_settings

pytestmark = pytest.mark.slow

ADMIN = "admin-key-for-the-tests-0123456789"
ME, OTHER = "lib:" + "a" * 32, "lib:" + "b" * 32
OTHER_PROMPT = "A secret lighthouse keeper's diary, never to be shared"


@dataclass
class World:
    app: LaunchedApp
    edit: str  # my edit run (original: a clip)
    text: str  # my text run (no original)
    other: str  # another visitor's run


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    clip = make_video(tmp_path_factory.mktemp("clips") / "walk.mp4", seconds=3,
                      size=(640, 360), fps=24)
    with launched_app(sim_seconds=0.2, admin_key=Secret(ADMIN)) as app:
        def run(spec: JobSpec, owner: str) -> str:
            result = asyncio.run(app.studio.run(spec, visitor_token=None, visitor_id=owner,
                                                owner=owner))
            return str(result.run_id)

        edit = run(JobSpec(Tab.EDIT, "<<<video_1>>> in fresh snow, keep the walk",
                           reference_video=str(clip)), ME)
        text = run(JobSpec(Tab.TEXT, "A paper boat sails across a puddle"), ME)
        other = run(JobSpec(Tab.TEXT, OTHER_PROMPT), OTHER)
        yield World(app, edit, text, other)


def fresh(app: LaunchedApp) -> httpx.Client:
    """A client that never loaded the Studio: no cookie, no key."""
    return httpx.Client(base_url=app.url.rstrip("/"), timeout=120, follow_redirects=False)


def test_a_share_token_carries_at_least_128_random_bits() -> None:
    tokens = [new_share_token() for _ in range(4000)]
    assert len(set(tokens)) == len(tokens)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", tok) for tok in tokens)
    # Each character of a URL-safe base64 token carries 6 bits: 22 characters are 132 bits.
    assert min(len(tok) for tok in tokens) * 6 >= 128
    assert SHARE_BYTES * 8 >= 128
    # ... and they are random: every one of the 64 characters turns up about equally often,
    # so the Shannon entropy per character is close to its 6-bit maximum.
    counts = Counter("".join(tok[:-1] for tok in tokens))  # the last one carries padding bits
    total = sum(counts.values())
    entropy = -sum(c / total * math.log2(c / total) for c in counts.values())
    assert len(counts) == 64 and entropy > 5.95, (len(counts), entropy)


def test_a_fresh_client_sees_the_output_and_original_and_nothing_else(world: World) -> None:
    app, studio = world.app, world.app.studio
    token = studio.sharing.share(world.edit, ME).token
    with fresh(app) as client:
        page = client.get(f"/share/{token}")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "set-cookie" not in page.headers  # no library is handed to a stranger
        html = page.text
        for name in ("output.mp4", "original.mp4", "poster.jpg", "original-poster.jpg"):
            assert f"/share/{token}/{name}" in html
            media = client.get(f"/share/{token}/{name}")
            assert media.status_code == 200, name
            assert media.headers["content-type"] == (
                "image/jpeg" if name.endswith(".jpg") else "video/mp4")
        run = studio.library.get(world.edit)
        assert client.get(f"/share/{token}/output.mp4").content == Path(run.output).read_bytes()
        # The prompt as typed, its token shown as the chip's name; model, mode, facts.
        assert '<span class="chip" title="&lt;&lt;&lt;video_1&gt;&gt;&gt;">video</span>' in html
        assert "in fresh snow, keep the walk" in html
        for text in ("Kling O1", "Edit video", "Motion kept", "Estimated cost", "Model time"):
            assert text in html
    # Nothing else of the library: no other run's prompt or id, no path, no key, no owner.
    secrets_ = [OTHER_PROMPT, "paper boat", world.other, world.text, world.edit,
                str(studio.data_dir), "/tmp/", ME, OTHER, ADMIN, "gradio_api", "kling_library"]
    leaked = [s for s in secrets_ if s in html]
    assert not leaked, leaked
    # Every link on the page stays inside this share.
    urls = re.findall(r'(?:src|href|content)="((?:https?:)?/[^"]*)"', html)
    assert urls and all(f"/share/{token}" in u for u in urls), urls


def test_files_are_found_by_token_only_never_by_a_path_the_caller_sends(world: World) -> None:
    token = world.app.studio.sharing.share(world.edit, ME).token
    with fresh(world.app) as client:
        for name in ("..%2F..%2Flibrary.sqlite3", "library.sqlite3", "inputs",
                     f"..%2F{world.other}", "original.png", "compare.mp4%00"):
            assert client.get(f"/share/{token}/{name}").status_code == 404, name
        for bad in ("x", "a" * 200, "..%2Fshowcase", "%2e%2e"):
            assert client.get(f"/share/{bad}").status_code == 404, bad


def test_revoked_and_expired_tokens_answer_404(world: World) -> None:
    studio = world.app.studio
    token = studio.sharing.share(world.text, ME).token
    with fresh(world.app) as client:
        assert client.get(f"/share/{token}").status_code == 200
        assert studio.sharing.revoke(world.text, ME)
        for path in ("", "/output.mp4", "/poster.jpg", "/compare.mp4"):
            gone = client.get(f"/share/{token}{path}")
            assert gone.status_code == 404, path
            assert "paper boat" not in gone.text
        # Sharing again makes a new link; the revoked one stays dead.
        again = studio.sharing.share(world.text, ME).token
        assert again != token and client.get(f"/share/{again}").status_code == 200
        studio.sharing.revoke(world.text, ME)
        # A share past its KLING_SHARE_DAYS answers as if it never existed.
        now = time.time()
        old = new_share_token()
        studio.library.add_share(Share(old, world.text, created_at=now - 40 * 86400,
                                       expires_at=now - 10 * 86400))
        assert client.get(f"/share/{old}").status_code == 404
        assert client.get(f"/share/{old}/output.mp4").status_code == 404
        assert studio.sharing.current(world.text, ME) is None


def test_a_share_lasts_kling_share_days(world: World) -> None:
    sharing = world.app.studio.sharing
    share = sharing.share(world.text, ME)
    assert share.expires_at == pytest.approx(share.created_at + 30 * 86400)
    sharing.revoke(world.text, ME)
    forever = replace(sharing.settings, share_days=0.0)
    keep = sharing.settings
    sharing.settings = forever
    try:
        assert sharing.share(world.text, ME).expires_at is None
    finally:
        sharing.settings = keep
        sharing.revoke(world.text, ME)


def test_only_the_runs_owner_can_share_revoke_or_pin(world: World) -> None:
    sharing = world.app.studio.sharing
    mine = sharing.share(world.edit, ME)
    for act in (lambda: sharing.share(world.edit, OTHER), lambda: sharing.revoke(world.edit, OTHER),
                lambda: sharing.pin(world.edit, OTHER, True), lambda: sharing.share(world.other, ME)):
        with pytest.raises(InputError):
            act()
    assert sharing.current(world.edit, OTHER) is None  # nor see its link
    assert sharing.resolve(mine.token) is not None  # still live: nobody else revoked it


def test_the_admin_key_is_checked_and_wrong_guesses_wait(world: World) -> None:
    sharing = world.app.studio.sharing
    assert sharing.admin_ok(ADMIN, "ip:1")
    assert not sharing.admin_ok(ADMIN[:-1] + "x", "ip:2")
    for _ in range(5):
        sharing.admin_ok("guess", "ip:3")
    assert not sharing.admin_ok(ADMIN, "ip:3")  # throttled: the right key waits too
    assert sharing.admin_ok(ADMIN, "ip:4")  # another visitor is not


def test_open_graph_tags_parse_and_the_video_is_reachable(world: World, tmp_path: Path) -> None:
    token = world.app.studio.sharing.share(world.edit, ME).token
    url = f"{world.app.url}share/{token}"
    # A real unfurler: metadata_parser fetches the page itself and reads its tags.
    parsed = metadata_parser.MetadataParser(url=url, search_head_only=True,
                                            allow_localhosts=True).parsed_result
    og, twitter = parsed.metadata["og"], parsed.metadata["twitter"]
    assert og["title"] == "video in fresh snow, keep the walk"
    assert og["url"] == url and og["type"] == "video.other"
    assert twitter["card"] == "player"
    origin = world.app.url.rstrip("/")
    for key in ("image", "video"):
        assert og[key].startswith(f"{origin}/share/{token}/"), og[key]
    assert og["video:type"] == "video/mp4"
    with fresh(world.app) as client:
        poster = client.get(og["image"])
        assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg"
        video = client.get(og["video"])
        assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
        assert video.headers.get("accept-ranges") == "bytes"  # phones play it by ranges
        download = client.get(og["video"] + "?download=1")
        assert "attachment" in download.headers["content-disposition"]
    clip = tmp_path / "compare.mp4"
    clip.write_bytes(video.content)
    info = probe_video(str(clip))  # the size the tags announce is the clip's own
    assert (int(og["video:width"]), int(og["video:height"])) == (info.width, info.height)
    # Made once, kept in the run's folder: it goes with the run and counts under KLING_MAX_GB.
    run = world.app.studio.library.get(world.edit)
    assert Path(world.app.studio.sharing.comparison_path(run)).parent == Path(run.output).parent


def test_absolute_urls_follow_trusted_proxies_or_kling_public_url() -> None:
    # No trusted proxy: the request's own Host; a forged X-Forwarded-Host changes nothing.
    assert public_origin("http", "studio.local:7860", "https", "evil.example", 0) == (
        "http://studio.local:7860")
    # Behind a Space's one proxy: what that proxy wrote.
    assert public_origin("http", "10.0.0.5:7860", "https", "me-studio.hf.space", 1) == (
        "https://me-studio.hf.space")
    assert public_origin("http", "10.0.0.5", ["https"], ["forged, real.example"], 1) == (
        "https://real.example")
    # A Host that is no host name is not echoed into the page.
    assert public_origin("http", 'x"><script>', "", "", 0, fallback="127.0.0.1:1") == (
        "http://127.0.0.1:1")


def test_the_showcase_lists_only_pinned_runs(world: World) -> None:
    sharing = world.app.studio.sharing
    edit = sharing.share(world.edit, ME).token
    text = sharing.share(world.text, ME).token
    with fresh(world.app) as client:
        page = client.get("/showcase")
        assert page.status_code == 200 and edit not in page.text and text not in page.text
        sharing.pin(world.edit, ME, True)
        page = client.get("/showcase").text
        assert f"/share/{edit}" in page and text not in page
        assert "paper boat" not in page and OTHER_PROMPT not in page
        sharing.pin(world.edit, ME, False)
        assert edit not in client.get("/showcase").text
        sharing.pin(world.edit, ME, True)
        sharing.revoke(world.edit, ME)  # a revoked share leaves the showcase with it
        assert edit not in client.get("/showcase").text
    sharing.revoke(world.text, ME)


def test_the_showcase_is_404_unless_the_host_set_an_admin_key() -> None:
    studio = Studio(test_settings())  # no KLING_ADMIN_KEY

    async def gradio(scope: object, receive: object, send: object) -> None:
        raise AssertionError("the showcase never reaches Gradio")

    routes = ShareRoutes(gradio, studio=studio, settings=studio.settings)  # type: ignore[arg-type]

    async def get(path: str) -> int:
        transport = httpx.ASGITransport(app=routes)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return (await client.get(path)).status_code

    assert asyncio.run(get("/showcase")) == 404
    assert asyncio.run(get("/showcase/")) == 404
    with pytest.raises(InputError):
        studio.sharing.pin("0" * 24, None, True)


def test_a_deleted_run_takes_its_share_with_it(world: World, tmp_path: Path) -> None:
    studio = world.app.studio
    spec = JobSpec(Tab.TEXT, "A kite over dunes")
    result = asyncio.run(studio.run(spec, visitor_token=None, visitor_id="v", owner=ME))
    token = studio.sharing.share(str(result.run_id), ME).token
    with fresh(world.app) as client:
        assert client.get(f"/share/{token}").status_code == 200
        assert studio.library.delete(str(result.run_id))
        assert studio.library.share_by_token(token) is None  # the row went with the run
        assert client.get(f"/share/{token}").status_code == 404
